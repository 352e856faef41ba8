/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * space_atomic.c - the atomic space's write side: serialized updates,
 * publication, and reclamation of retired maps after their grace period.
 *
 * The space owns one reference to the current map and one to each retired
 * map.  A retired map's reference is dropped only once every reader that
 * could have loaded it has left its section; long-lived references taken
 * with gmem_reader_ref() keep it (and its regions' mappings) alive beyond
 * that, by ordinary reference counting.
 */
#include "space.h"

#include <stdlib.h>

GMEM_INTERNAL int gmem__atomic_init(gmem_space *s, size_t max_retired)
{
	struct gmem_atomic_state *a = calloc(1, sizeof(*a));
	int err;

	if (!a)
		return -ENOMEM;
	err = pthread_mutex_init(&a->write_lock, NULL);
	if (err) {
		free(a);
		return -err;
	}
	err = gmem__grace_init(&a->grace);
	if (err) {
		pthread_mutex_destroy(&a->write_lock);
		free(a);
		return err;
	}
	atomic_init(&a->writer, 0);
	a->max_retired = max_retired;
	s->atomic = a;
	return 0;
}

static void retired_free(struct gmem_retired *r)
{
	gmem_map_free(r->map);
	gmem__grace_wait_free(&r->wait);
	free(r);
}

GMEM_INTERNAL void gmem__atomic_destroy(gmem_space *s)
{
	struct gmem_atomic_state *a = s->atomic;
	struct gmem_retired *r, *next;

	for (r = a->retired; r; r = next) {
		next = r->next;
		retired_free(r);
	}
	gmem__grace_destroy(&a->grace);
	pthread_mutex_destroy(&a->write_lock);
	free(a);
}

/* Drop every retired map whose readers have all moved on.  Never blocks. */
static void reclaim_locked(struct gmem_atomic_state *a)
{
	struct gmem_retired **pp = &a->retired, *r;

	while ((r = *pp) != NULL) {
		if (gmem__grace_poll(&r->wait)) {
			*pp = r->next;
			retired_free(r);
			a->nretired--;
		} else {
			pp = &r->next;
		}
	}
}

static int lock_writer(struct gmem_atomic_state *a)
{
	/* An update callback that calls back into its own space would wait
	 * on the lock it already holds. */
	if (atomic_load_explicit(&a->writer, memory_order_relaxed) ==
	    gmem__self())
		return -EDEADLK;
	pthread_mutex_lock(&a->write_lock);
	atomic_store_explicit(&a->writer, gmem__self(), memory_order_relaxed);
	return 0;
}

static void unlock_writer(struct gmem_atomic_state *a)
{
	atomic_store_explicit(&a->writer, 0, memory_order_relaxed);
	pthread_mutex_unlock(&a->write_lock);
}

static int atomic_state(gmem_space *s, struct gmem_atomic_state **a)
{
	if (!s)
		return -EINVAL;
	if (s->kind != GMEM_SPACE_ATOMIC)
		return -EOPNOTSUPP;
	*a = s->atomic;
	return 0;
}

/*
 * Publish next (whose reference we take over) and retire the old map.  A
 * DEFER retirement joins the list; a WAIT retirement is returned in *mine
 * for the caller to wait on AFTER dropping the lock: a reader that the
 * wait is for may itself call into the space (a DEFER update, current())
 * before it leaves its section, and must not find the lock held.
 */
static int publish_locked(gmem_space *s, struct gmem_atomic_state *a,
			  gmem_map *next, unsigned flags,
			  struct gmem_retired **mine)
{
	struct gmem_retired *r = calloc(1, sizeof(*r));
	int err;

	if (!r)
		return -ENOMEM;
	err = gmem__grace_swap(&a->grace, &s->current, next, &r->map, &r->wait);
	if (err) {
		free(r);
		return err;
	}
	if (flags & GMEM_PUBLISH_DEFER) {
		r->next = a->retired;
		a->retired = r;
		a->nretired++;
		reclaim_locked(a);
		return 0;
	}
	*mine = r;
	return 0;
}

/* Wait for one's own retired map outside the lock, then tidy up if free. */
static void finish_wait(struct gmem_atomic_state *a, struct gmem_retired *r)
{
	gmem__grace_wait(&r->wait);
	retired_free(r);
	if (pthread_mutex_trylock(&a->write_lock) == 0) {
		reclaim_locked(a);
		pthread_mutex_unlock(&a->write_lock);
	}
}

GMEM_EXPORT int gmem_space_update(gmem_space *s, gmem_update_fn fn,
				  void *opaque, unsigned flags)
{
	struct gmem_atomic_state *a;
	struct gmem_retired *mine = NULL;
	gmem_map *next = NULL;
	int err;

	if (!s || !fn || (flags & ~(unsigned)GMEM_PUBLISH_DEFER))
		return -EINVAL;
	err = atomic_state(s, &a);
	if (err)
		return err;
	if (!(flags & GMEM_PUBLISH_DEFER) && gmem__grace_self_inside(&a->grace))
		return -EDEADLK;
	err = lock_writer(a);
	if (err)
		return err;
	if (flags & GMEM_PUBLISH_DEFER) {
		if (a->nretired >= a->max_retired)
			reclaim_locked(a);
		if (a->nretired >= a->max_retired) {
			unlock_writer(a);
			return -EBUSY;
		}
	}
	err = fn(atomic_load_explicit(&s->current, memory_order_relaxed),
		 &next, opaque);
	if (!err && !next)
		err = -EINVAL;
	/* The callback may have opened a section itself; waiting would hang. */
	if (!err && !(flags & GMEM_PUBLISH_DEFER) &&
	    gmem__grace_self_inside(&a->grace))
		err = -EDEADLK;
	if (!err) {
		err = publish_locked(s, a, next, flags, &mine);
		if (err)
			gmem_map_free(next);
	} else {
		gmem_map_free(next);
	}
	unlock_writer(a);
	if (mine)
		finish_wait(a, mine);
	return err;
}

static int update_replace(const gmem_map *cur, gmem_map **next, void *opaque)
{
	(void)cur;
	*next = gmem_map_ref(opaque);
	return 0;
}

GMEM_EXPORT int gmem_space_replace(gmem_space *s, gmem_map *map,
				   unsigned flags)
{
	if (!map)
		return -EINVAL;
	return gmem_space_update(s, update_replace, map, flags);
}

static int update_insert(const gmem_map *cur, gmem_map **next, void *opaque)
{
	return gmem_map_insert(next, cur, opaque);
}

GMEM_EXPORT int gmem_space_insert(gmem_space *s, gmem_region *region,
				  unsigned flags)
{
	if (!region)
		return -EINVAL;
	return gmem_space_update(s, update_insert, region, flags);
}

struct remove_args {
	uint64_t gpa, len;
	gmem_region *removed;
};

static int update_remove(const gmem_map *cur, gmem_map **next, void *opaque)
{
	struct remove_args *ra = opaque;

	return gmem_map_remove(next, cur, ra->gpa, ra->len, &ra->removed);
}

GMEM_EXPORT int gmem_space_remove(gmem_space *s, uint64_t gpa, uint64_t len,
				  gmem_region **removed, unsigned flags)
{
	struct remove_args ra = { gpa, len, NULL };
	int err = gmem_space_update(s, update_remove, &ra, flags);

	/* The callback may have run and then publication failed: the region
	 * reference it took is ours to hand over or drop either way. */
	if (!err && removed)
		*removed = ra.removed;
	else
		gmem_region_free(ra.removed);
	return err;
}

GMEM_EXPORT int gmem_space_reclaim(gmem_space *s, size_t *pending)
{
	struct gmem_atomic_state *a;
	int err = atomic_state(s, &a);

	if (err)
		return err;
	if (atomic_load_explicit(&a->writer, memory_order_relaxed) ==
	    gmem__self())
		return -EBUSY;
	if (pthread_mutex_trylock(&a->write_lock) != 0)
		return -EBUSY;
	reclaim_locked(a);
	if (pending)
		*pending = a->nretired;
	pthread_mutex_unlock(&a->write_lock);
	return 0;
}

GMEM_EXPORT int gmem_space_synchronize(gmem_space *s)
{
	struct gmem_retired *list, *r, *next;
	struct gmem_atomic_state *a;
	int err = atomic_state(s, &a);

	if (err)
		return err;
	size_t n = 0;

	if (gmem__grace_self_inside(&a->grace))
		return -EDEADLK;
	err = lock_writer(a);
	if (err)
		return err;
	/* Wait unlocked (see publish_locked()); the detached maps still
	 * count against max_retired until they are freed. */
	list = a->retired;
	a->retired = NULL;
	unlock_writer(a);
	for (r = list; r; r = next) {
		next = r->next;
		gmem__grace_wait(&r->wait);
		retired_free(r);
		n++;
	}
	pthread_mutex_lock(&a->write_lock);
	a->nretired -= n;
	pthread_mutex_unlock(&a->write_lock);
	return 0;
}

GMEM_INTERNAL int gmem__atomic_current(gmem_space *s, gmem_map **out)
{
	struct gmem_atomic_state *a = s->atomic;
	int err = lock_writer(a);

	if (err)
		return err;
	*out = gmem_map_ref(atomic_load_explicit(&s->current,
						 memory_order_relaxed));
	unlock_writer(a);
	return 0;
}
