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
 *
 * Cost model (grace.c has the protocol).  A publication is an exchange and
 * a store; a DEFER publication adds a ring entry and, only when maps
 * covered by an earlier barrier are still waiting, one scan.  The barrier
 * (membarrier(2), microseconds, and an interrupt on every CPU running one
 * of our threads) is paid once per reclaim, full ring, WAIT publication or
 * synchronize, and covers every map retired before it.
 *
 * Recycling.  A retired map's memory, once it is dropped, is kept (as a
 * spare) to build a later map of this space in: gmem_space_insert() and
 * gmem_space_remove() then write only the words that differ from the map
 * that memory last held.  Spaces often switch between the same few maps
 * (a region mapped and unmapped again), so most cache lines of the new
 * map stay unchanged: readers keep them cached, and the writer neither
 * waits to own them nor pays for malloc and free.  Spares sit in the ring
 * after the retired maps, and retired maps plus spares never exceed
 * max_retired: the space holds no more map memory than a full ring.
 */
#include "space.h"

#include <stdlib.h>

#define RING_MIN 8u

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

/* Entry i from the oldest; cap is a power of two. */
static struct gmem_retired *ring_at(struct gmem_atomic_state *a, size_t i)
{
	return &a->ring[(a->head + i) & (a->cap - 1)];
}

GMEM_INTERNAL void gmem__atomic_destroy(gmem_space *s)
{
	struct gmem_atomic_state *a = s->atomic;
	size_t i;

	for (i = 0; i < a->nretired; i++)
		gmem_map_free(ring_at(a, i)->map);
	for (; i < a->cap && ring_at(a, i)->map; i++)
		free(ring_at(a, i)->map); /* spares */
	free(a->ring);
	gmem__grace_destroy(&a->grace);
	pthread_mutex_destroy(&a->write_lock);
	free(a);
}

/*
 * Ring entries from the oldest: nretired retired maps, then the spares
 * ({memory, 0}), then empty entries ({NULL, 0}).  The spares' count is
 * found by looking (they are few, and found at most once per call).
 */
static size_t spare_count(struct gmem_atomic_state *a)
{
	size_t i = a->nretired;

	while (i < a->cap && ring_at(a, i)->map)
		i++;
	return i - a->nretired;
}

/* Most retired maps plus spares. */
static size_t ring_keep(const struct gmem_atomic_state *a)
{
	return a->max_retired < a->cap ? a->max_retired : a->cap;
}

/* Room for one more retired map; grows (rarely: at most up to max_retired
 * entries over the space's life) instead of allocating per publication. */
static int ring_reserve(struct gmem_atomic_state *a)
{
	struct gmem_retired *ring;
	size_t cap, i;

	if (a->nretired < a->cap)
		return 0;
	/* Full of retired maps: no spare to carry over. */
	cap = a->cap ? 2 * a->cap : RING_MIN;
	ring = malloc(cap * sizeof(*ring));
	if (!ring)
		return -ENOMEM;
	for (i = 0; i < a->nretired; i++)
		ring[i] = *ring_at(a, i);
	for (; i < cap; i++)
		ring[i] = (struct gmem_retired){ NULL, 0 };
	free(a->ring);
	a->ring = ring;
	a->cap = cap;
	a->head = 0;
	return 0;
}

/* Empty the entry after the retired maps (ring_reserve() made sure there
 * is one) for the next one: its spare, if any, moves after the other ns - 1
 * spares, or is freed if the ring would hold more than it keeps. */
static void spare_make_room(struct gmem_atomic_state *a, size_t ns)
{
	struct gmem_retired *e = ring_at(a, a->nretired);

	if (!e->map)
		return;
	if (a->nretired + 1 + ns <= ring_keep(a))
		*ring_at(a, a->nretired + ns) = *e;
	else
		free(e->map);
	*e = (struct gmem_retired){ NULL, 0 };
}

/*
 * A spare to build a map of want regions in: the first of the oldest few
 * that held as many (the likeliest to hold the same map), else the
 * oldest.  NULL if there is none.
 */
static struct gmem_retired *spare_pick(struct gmem_atomic_state *a,
				       size_t want)
{
	size_t i;

	for (i = a->nretired; i < a->nretired + 4 && i < a->cap; i++) {
		struct gmem_retired *e = ring_at(a, i);

		if (!e->map)
			break;
		if (e->map->hot.count == want)
			return e;
	}
	return a->nretired < a->cap ? ring_at(a, a->nretired) : NULL;
}

/* Remove spare e (its memory was taken): the last spare fills the gap. */
static void spare_taken(struct gmem_atomic_state *a, struct gmem_retired *e)
{
	struct gmem_retired *last =
		ring_at(a, a->nretired + spare_count(a) - 1);

	*e = *last;
	*last = (struct gmem_retired){ NULL, 0 };
}

/* Drop the oldest retired maps, those numbered up to limit, keeping their
 * memory as spares while there is room. */
static void drop_upto(struct gmem_atomic_state *a, uint64_t limit)
{
	size_t ns = 0;
	bool counted = false;

	while (a->nretired && a->ring[a->head].epoch <= limit) {
		gmem_map *m = a->ring[a->head].map;

		a->ring[a->head] = (struct gmem_retired){ NULL, 0 };
		a->head = (a->head + 1) & (a->cap - 1);
		a->nretired--;
		m = gmem__map_recycle(m);
		if (!m)
			continue;
		if (!counted) {
			ns = spare_count(a);
			counted = true;
		}
		/* The entry after the spares is empty: the one just
		 * unhooked, if no other. */
		if (a->nretired + ns < ring_keep(a)) {
			*ring_at(a, a->nretired + ns) =
				(struct gmem_retired){ m, 0 };
			ns++;
		} else {
			free(m);
		}
	}
}

/* Cover every map retired so far: one barrier for all of them. */
static void cover_locked(gmem_space *s, struct gmem_atomic_state *a)
{
	uint64_t last = __atomic_load_n(&s->pub.epoch, __ATOMIC_RELAXED);

	if (a->covered == last)
		return;
	/* No barrier, no cover: the maps stay retired (see the barrier). */
	if (gmem__grace_barrier(&a->grace) == 0)
		a->covered = last;
}

/*
 * Drop every retired map whose readers have all moved on.  Never blocks
 * (the barrier waits for CPUs, not for readers).  With cover, maps retired
 * since the last barrier are decided too; without, one scan at most, and
 * none while nothing covered waits.  The fallback protocol needs no
 * barrier, so there every call covers.
 */
static void reclaim_locked(gmem_space *s, struct gmem_atomic_state *a,
			   bool cover)
{
	uint64_t open;

	if (!a->nretired)
		return;
	if (cover || !a->grace.asym)
		cover_locked(s, a);
	if (a->ring[a->head].epoch > a->covered)
		return;
	open = gmem__grace_scan(&a->grace);
	drop_upto(a, open < a->covered ? open : a->covered);
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

/* A WAIT publication's old map, waited for outside the lock. */
struct wait_map {
	gmem_map *map;
	uint64_t epoch; /* its retirement number */
};

/*
 * Publish next (whose reference we take over) and retire the old map.  A
 * DEFER retirement joins the ring; a WAIT retirement is returned in *mine
 * for the caller to wait on AFTER dropping the lock: a reader that the
 * wait is for may itself call into the space (a DEFER update, current())
 * before it leaves its section, and must not find the lock held.
 */
static int publish_locked(gmem_space *s, struct gmem_atomic_state *a,
			  gmem_map *next, unsigned flags,
			  struct wait_map *mine)
{
	uint64_t j = __atomic_load_n(&s->pub.epoch, __ATOMIC_RELAXED) + 1;
	gmem_map *old;

	if (flags & GMEM_PUBLISH_DEFER) {
		int err = ring_reserve(a);

		if (err)
			return err;
		spare_make_room(a, spare_count(a));
	}
	/* P, then N (grace.c): a reader that sees epoch j sees next. */
	old = __atomic_exchange_n(&s->pub.current, next, __ATOMIC_SEQ_CST);
	__atomic_store_n(&s->pub.epoch, j, __ATOMIC_RELEASE);
	if (flags & GMEM_PUBLISH_DEFER) {
		*ring_at(a, a->nretired) = (struct gmem_retired){ old, j };
		a->nretired++;
		reclaim_locked(s, a, false);
		return 0;
	}
	mine->map = old;
	mine->epoch = j;
	return 0;
}

/* Retired maps numbered up to epoch had a barrier since (taken unlocked). */
static void credit_cover_locked(struct gmem_atomic_state *a, uint64_t epoch)
{
	if (a->covered < epoch)
		a->covered = epoch;
}

/*
 * Wait for one's own retired map outside the lock, then tidy up if free.
 * The barrier is taken unlocked too (it costs microseconds): it covers the
 * DEFER maps retired before it as well, which the final reclaim credits.
 */
static int finish_wait(gmem_space *s, struct gmem_atomic_state *a,
		       struct wait_map *w)
{
	int err = gmem__grace_barrier(&a->grace);

	if (err)
		return err; /* w->map is kept: it cannot be proven unused */
	gmem__grace_wait(&a->grace, w->epoch);
	gmem_map_free(w->map);
	if (pthread_mutex_trylock(&a->write_lock) == 0) {
		credit_cover_locked(a, w->epoch);
		reclaim_locked(s, a, false);
		pthread_mutex_unlock(&a->write_lock);
	}
	return 0;
}

GMEM_EXPORT int gmem_space_update(gmem_space *s, gmem_update_fn fn,
				  void *opaque, unsigned flags)
{
	struct gmem_atomic_state *a;
	struct wait_map mine = { NULL, 0 };
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
			reclaim_locked(s, a, true);
		if (a->nretired >= a->max_retired) {
			unlock_writer(a);
			return -EBUSY;
		}
	}
	err = fn(__atomic_load_n(&s->pub.current, __ATOMIC_RELAXED), &next,
		 opaque);
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
	if (mine.map)
		err = finish_wait(s, a, &mine);
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

/* Callbacks run under the write lock of an atomic space (checked before
 * they are called), which owns the spares. */
struct insert_args {
	gmem_space *s;
	gmem_region *region;
};

static int update_insert(const gmem_map *cur, gmem_map **next, void *opaque)
{
	struct insert_args *ia = opaque;
	struct gmem_atomic_state *a = ia->s->atomic;
	struct gmem_retired *e = spare_pick(a, cur->hot.count + 1);
	gmem_map *spare = e ? e->map : NULL;
	int err = gmem__map_insert(next, cur, ia->region, &spare);

	if (e && e->map && !spare)
		spare_taken(a, e);
	return err;
}

GMEM_EXPORT int gmem_space_insert(gmem_space *s, gmem_region *region,
				  unsigned flags)
{
	struct insert_args ia = { s, region };

	if (!region)
		return -EINVAL;
	return gmem_space_update(s, update_insert, &ia, flags);
}

struct remove_args {
	gmem_space *s;
	uint64_t gpa, len;
	gmem_region *removed;
};

static int update_remove(const gmem_map *cur, gmem_map **next, void *opaque)
{
	struct remove_args *ra = opaque;
	struct gmem_atomic_state *a = ra->s->atomic;
	struct gmem_retired *e =
		spare_pick(a, cur->hot.count ? cur->hot.count - 1 : 0);
	gmem_map *spare = e ? e->map : NULL;
	int err = gmem__map_remove(next, cur, ra->gpa, ra->len, &ra->removed,
				   &spare);

	if (e && e->map && !spare)
		spare_taken(a, e);
	return err;
}

GMEM_EXPORT int gmem_space_remove(gmem_space *s, uint64_t gpa, uint64_t len,
				  gmem_region **removed, unsigned flags)
{
	struct remove_args ra = { s, gpa, len, NULL };
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
	reclaim_locked(s, a, true);
	if (pending)
		*pending = a->nretired;
	pthread_mutex_unlock(&a->write_lock);
	return 0;
}

GMEM_EXPORT int gmem_space_synchronize(gmem_space *s)
{
	struct gmem_atomic_state *a;
	uint64_t target;
	int err = atomic_state(s, &a);

	if (err)
		return err;
	if (gmem__grace_self_inside(&a->grace))
		return -EDEADLK;
	err = lock_writer(a);
	if (err)
		return err;
	if (!a->nretired) {
		unlock_writer(a);
		return 0;
	}
	/* Everything retired so far, numbered up to target, stays on the
	 * ring (and counts against max_retired) until freed below; the
	 * barrier and the wait hold no lock (see publish_locked()). */
	target = ring_at(a, a->nretired - 1)->epoch;
	unlock_writer(a);
	err = gmem__grace_barrier(&a->grace);
	if (err)
		return err;
	gmem__grace_wait(&a->grace, target);
	/* That last scan saw no section that began before publication
	 * target: none can reach those maps (another thread may have freed
	 * some of them meanwhile). */
	pthread_mutex_lock(&a->write_lock);
	credit_cover_locked(a, target);
	drop_upto(a, target);
	pthread_mutex_unlock(&a->write_lock);
	return 0;
}

GMEM_INTERNAL int gmem__atomic_current(gmem_space *s, gmem_map **out)
{
	struct gmem_atomic_state *a = s->atomic;
	int err = lock_writer(a);

	if (err)
		return err;
	*out = gmem_map_ref(__atomic_load_n(&s->pub.current, __ATOMIC_RELAXED));
	unlock_writer(a);
	return 0;
}

/* Test and fuzz hook: a new atomic space (no readers yet) switches to the
 * seq_cst read-section protocol that TSan builds and kernels without
 * membarrier use, so that both protocols run everywhere. */
GMEM_INTERNAL int gmem__space_use_fallback(gmem_space *s)
{
	if (!s || s->kind != GMEM_SPACE_ATOMIC)
		return -EINVAL;
	return gmem__grace_use_fallback(&s->atomic->grace);
}
