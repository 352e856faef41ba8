/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * space.c - address spaces (fixed, shared, custom) and read sections.
 *
 * The atomic space's write side lives in space_atomic.c; its read side is
 * here, inlined from grace.h, so that all four kinds share one reader API.
 */
#include "space.h"

#include <stdlib.h>
#include <string.h>

/* Size of the first published struct gmem_space_ops. */
#define GMEM_SPACE_OPS_SIZE_V1 32u

static int space_alloc(gmem_space **out, enum gmem_space_kind kind,
		       gmem_map *map)
{
	gmem_space *s;

	s = aligned_alloc(GMEM_CACHE_LINE, (sizeof(*s) + GMEM_CACHE_LINE - 1) &
						   ~(size_t)(GMEM_CACHE_LINE - 1));
	if (!s)
		return -ENOMEM;
	memset(s, 0, sizeof(*s));
	atomic_init(&s->refs, 1);
	atomic_init(&s->current, gmem_map_ref(map));
	s->kind = kind;
	*out = s;
	return 0;
}

GMEM_EXPORT int gmem_space_new_fixed(gmem_space **out, gmem_map *map)
{
	if (!out || !map)
		return -EINVAL;
	return space_alloc(out, GMEM_SPACE_FIXED, map);
}

GMEM_EXPORT int gmem_space_new_shared(gmem_space **out, gmem_map *map)
{
	if (!out || !map)
		return -EINVAL;
	return space_alloc(out, GMEM_SPACE_SHARED, map);
}

GMEM_EXPORT int gmem_space_new_atomic(gmem_space **out, gmem_map *map,
				      size_t max_retired)
{
	gmem_space *s;
	int err;

	if (!out || !map || max_retired > GMEM_SPACE_LIMIT_MAX_RETIRED)
		return -EINVAL;
	err = space_alloc(&s, GMEM_SPACE_ATOMIC, map);
	if (err)
		return err;
	err = gmem__atomic_init(s, max_retired ? max_retired
					       : GMEM_SPACE_DEFAULT_MAX_RETIRED);
	if (err) {
		gmem_map_free(atomic_load(&s->current));
		free(s);
		return err;
	}
	*out = s;
	return 0;
}

GMEM_EXPORT int gmem_space_new_custom(gmem_space **out,
				      const struct gmem_space_ops *ops,
				      void *ctx)
{
	gmem_space *s;
	int err;

	if (!out || !ops || ops->size < GMEM_SPACE_OPS_SIZE_V1 ||
	    ops->size > sizeof(*ops) || !ops->enter || !ops->exit)
		return -EINVAL;
	err = space_alloc(&s, GMEM_SPACE_CUSTOM, NULL);
	if (err)
		return err;
	memcpy(&s->ops, ops, ops->size);
	s->ctx = ctx;
	*out = s;
	return 0;
}

GMEM_EXPORT gmem_space *gmem_space_ref(gmem_space *s)
{
	if (s)
		atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
	return s;
}

GMEM_EXPORT void gmem_space_free(gmem_space *s)
{
	if (!s)
		return;
	if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
		return;
	/* No reader is left (each held a reference), so nothing can be
	 * inside a section: drop every map at once. */
	if (s->kind == GMEM_SPACE_ATOMIC)
		gmem__atomic_destroy(s);
	if (s->kind == GMEM_SPACE_CUSTOM && s->ops.destroy)
		s->ops.destroy(s->ctx);
	gmem_map_free(atomic_load(&s->current));
	free(s);
}

GMEM_EXPORT int gmem_reader_new(gmem_reader **out, gmem_space *space)
{
	gmem_reader *r;
	int err;

	if (!out || !space)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	if (space->kind == GMEM_SPACE_ATOMIC) {
		err = gmem__grace_slot_get(&space->atomic->grace, &r->slot);
		if (err) {
			free(r);
			return err;
		}
		r->seq = atomic_load_explicit(&r->slot->seq,
					      memory_order_relaxed);
	}
	r->space = gmem_space_ref(space);
	*out = r;
	return 0;
}

GMEM_EXPORT int gmem_reader_free(gmem_reader *r)
{
	if (!r)
		return 0;
	if (r->depth)
		return -EBUSY;
	if (r->slot)
		gmem__grace_slot_put(r->slot);
	gmem_space_free(r->space);
	free(r);
	return 0;
}

GMEM_EXPORT int gmem_reader_enter(gmem_reader *r, const gmem_map **map)
{
	gmem_space *s;
	const gmem_map *m;
	int err;

	if (unlikely(!r || !map))
		return -EINVAL;
	if (r->depth) {
		if (unlikely(r->depth >= GMEM_READER_MAX_DEPTH))
			return -EOVERFLOW;
		r->depth++;
		*map = r->map;
		return 0;
	}
	s = r->space;
	switch (s->kind) {
	case GMEM_SPACE_ATOMIC:
		m = gmem__grace_enter(r->slot, &r->seq, &s->current);
		break;
	case GMEM_SPACE_FIXED:
		m = atomic_load_explicit(&s->current, memory_order_relaxed);
		break;
	case GMEM_SPACE_SHARED:
		m = gmem_map_ref(
			atomic_load_explicit(&s->current, memory_order_relaxed));
		break;
	default:
		m = NULL;
		err = s->ops.enter(s->ctx, &r->token, &m);
		if (err)
			return err < 0 ? err : -EINVAL;
		if (!m) {
			s->ops.exit(s->ctx, r->token, NULL);
			return -EINVAL;
		}
		break;
	}
	r->depth = 1;
	r->map = m;
	*map = m;
	return 0;
}

GMEM_EXPORT int gmem_reader_exit(gmem_reader *r)
{
	gmem_space *s;

	if (unlikely(!r || r->depth == 0))
		return -EINVAL;
	if (--r->depth)
		return 0;
	s = r->space;
	switch (s->kind) {
	case GMEM_SPACE_ATOMIC:
		gmem__grace_exit(r->slot, &r->seq);
		break;
	case GMEM_SPACE_FIXED:
		break;
	case GMEM_SPACE_SHARED:
		gmem_map_free((gmem_map *)(uintptr_t)r->map);
		break;
	default:
		s->ops.exit(s->ctx, r->token, r->map);
		break;
	}
	r->map = NULL;
	r->token = NULL;
	return 0;
}

GMEM_EXPORT int gmem_reader_ref(gmem_reader *r, gmem_map **out)
{
	if (!r || !out || r->depth == 0)
		return -EINVAL;
	/* Inside the section the map cannot drop to zero references: the
	 * space (or the section itself) holds one until the section ends. */
	*out = gmem_map_ref((gmem_map *)(uintptr_t)r->map);
	return 0;
}

GMEM_EXPORT int gmem_space_current(gmem_space *s, gmem_map **out)
{
	const gmem_map *m = NULL;
	void *token = NULL;
	int err;

	if (!s || !out)
		return -EINVAL;
	switch (s->kind) {
	case GMEM_SPACE_ATOMIC:
		return gmem__atomic_current(s, out);
	case GMEM_SPACE_FIXED:
	case GMEM_SPACE_SHARED:
		*out = gmem_map_ref(atomic_load(&s->current));
		return 0;
	default:
		err = s->ops.enter(s->ctx, &token, &m);
		if (err)
			return err < 0 ? err : -EINVAL;
		if (!m) {
			s->ops.exit(s->ctx, token, NULL);
			return -EINVAL;
		}
		*out = gmem_map_ref((gmem_map *)(uintptr_t)m);
		s->ops.exit(s->ctx, token, m);
		return 0;
	}
}
