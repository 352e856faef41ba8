/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * space.c - address spaces (fixed, shared, custom) and read sections.
 *
 * The atomic space's write side lives in space_atomic.c; its read side is
 * here (the asymmetric fast path inlined from space.h, the fallback
 * protocol below), so that all four kinds share one reader API.
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
	s->pub.current = gmem_map_ref(map);
	s->pub.epoch = 0;
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
		gmem_map_free(s->pub.current);
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
	gmem_map_free(__atomic_load_n(&s->pub.current, __ATOMIC_ACQUIRE));
	free(s);
}

GMEM_EXPORT int gmem_reader_new(gmem_reader **out, gmem_space *space)
{
	gmem_reader *r;
	int err;

	if (!out || !space)
		return -EINVAL;
	/* Aligned: the hot fields share one cache line. */
	r = aligned_alloc(GMEM_CACHE_LINE, sizeof(*r));
	if (!r)
		return -ENOMEM;
	memset(r, 0, sizeof(*r));
	r->hot.w.seq = GMEM__SEQ_LIB;
	r->hot.pub = &space->pub;
	if (space->kind == GMEM_SPACE_ATOMIC) {
		struct gmem_grace *g = &space->atomic->grace;

		err = gmem__grace_add(g, &r->hot.w);
		if (err) {
			free(r);
			return err;
		}
		/*
		 * Only the asymmetric protocol is inline.  Read once the slot
		 * is registered: the test hook that switches protocols
		 * refuses from then on.  Scans may read seq already; both
		 * values are even.
		 */
		r->fast = g->asym;
		if (r->fast)
			__atomic_store_n(&r->hot.w.seq, 0, __ATOMIC_RELEASE);
	}
	r->space = gmem_space_ref(space);
	*out = r;
	return 0;
}

/* r's seq; only r's thread writes it, so reading needs no ordering. */
static uint64_t reader_seq(const gmem_reader *r)
{
	return __atomic_load_n(&r->hot.w.seq, __ATOMIC_RELAXED);
}

/* Sections open on r: the parity of seq while the fast path runs them
 * (GMEM__SEQ_LIB clear), otherwise the count. */
static uint32_t reader_depth(const gmem_reader *r)
{
	uint64_t v = reader_seq(r);

	if (!(v & GMEM__SEQ_LIB))
		return (uint32_t)(v & 1);
	return r->depth;
}

/* Set or clear GMEM__SEQ_LIB in r's seq, leaving the section state. */
static void reader_set_lib(gmem_reader *r, bool lib)
{
	uint64_t v = reader_seq(r);

	__atomic_store_n(&r->hot.w.seq,
			 lib ? v | GMEM__SEQ_LIB : v & ~GMEM__SEQ_LIB,
			 __ATOMIC_RELEASE);
}

GMEM_EXPORT int gmem_reader_free(gmem_reader *r)
{
	if (!r)
		return 0;
	if (reader_depth(r))
		return -EBUSY;
	if (r->space->kind == GMEM_SPACE_ATOMIC)
		gmem__grace_remove(&r->space->atomic->grace, &r->hot.w);
	gmem_space_free(r->space);
	free(r);
	return 0;
}

/*
 * Fallback protocol (grace.c): E1 and E2 seq_cst, so the writer needs no
 * barrier.  Same words and values as gmem__reader_enter_fast().
 */
static const gmem_map *grace_enter_sc(gmem_reader *r)
{
	struct gmem__slot_words *w = &r->hot.w;
	struct gmem__pub *p = r->hot.pub;
	uint64_t v;

	__atomic_store_n(&w->owner, gmem__thread_ptr(), __ATOMIC_RELAXED);
	v = 2 * __atomic_load_n(&p->epoch, __ATOMIC_ACQUIRE) + 1;
	__atomic_store_n(&w->seq, v | GMEM__SEQ_LIB, __ATOMIC_SEQ_CST);
	return __atomic_load_n(&p->current, __ATOMIC_SEQ_CST);
}

/* Everything but an outermost section of a fast reader. */
static int reader_enter_slow(gmem_reader *r, const gmem_map **map)
{
	uint32_t depth = reader_depth(r);
	gmem_space *s;
	const gmem_map *m;
	int err;

	if (depth) {
		if (unlikely(depth >= GMEM_READER_MAX_DEPTH))
			return -EOVERFLOW;
		/* Inner exits must come here too. */
		if (depth == 1 && r->fast)
			reader_set_lib(r, true);
		r->depth = depth + 1;
		*map = r->hot.map;
		return 0;
	}
	s = r->space;
	switch (s->kind) {
	case GMEM_SPACE_ATOMIC:
		m = grace_enter_sc(r);
		break;
	case GMEM_SPACE_FIXED:
		m = __atomic_load_n(&s->pub.current, __ATOMIC_RELAXED);
		break;
	case GMEM_SPACE_SHARED:
		m = gmem_map_ref(
			__atomic_load_n(&s->pub.current, __ATOMIC_RELAXED));
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
	/* (A fast reader's depth is its slot's parity: this is unused.) */
	r->depth = 1;
	r->hot.map = m;
	*map = m;
	return 0;
}

GMEM_EXPORT int gmem_reader_enter(gmem_reader *r, const gmem_map **map)
{
	if (unlikely(!r || !map))
		return -EINVAL;
	if (likely(gmem__reader_enter_fast(&r->hot, map) == 0))
		return 0;
	return reader_enter_slow(r, map);
}

static int reader_exit_slow(gmem_reader *r)
{
	uint32_t depth = reader_depth(r);
	gmem_space *s;

	if (unlikely(depth == 0))
		return -EINVAL;
	if (depth > 1) {
		r->depth = depth - 1;
		/* Back to the outermost section: a fast reader's exit of it
		 * is inline again. */
		if (r->depth == 1 && r->fast)
			reader_set_lib(r, false);
		return 0;
	}
	r->depth = 0;
	s = r->space;
	switch (s->kind) {
	case GMEM_SPACE_ATOMIC:
		/* X (grace.c) of a fallback reader */
		__atomic_store_n(&r->hot.w.seq, reader_seq(r) + 1,
				 __ATOMIC_RELEASE);
		break;
	case GMEM_SPACE_FIXED:
		break;
	case GMEM_SPACE_SHARED:
		gmem_map_free((gmem_map *)(uintptr_t)r->hot.map);
		break;
	default:
		s->ops.exit(s->ctx, r->token, r->hot.map);
		break;
	}
	r->hot.map = NULL;
	r->token = NULL;
	return 0;
}

GMEM_EXPORT int gmem_reader_exit(gmem_reader *r)
{
	if (unlikely(!r))
		return -EINVAL;
	if (likely(gmem__reader_exit_fast(&r->hot) == 0))
		return 0;
	return reader_exit_slow(r);
}

GMEM_EXPORT int gmem_reader_ref(gmem_reader *r, gmem_map **out)
{
	if (!r || !out || reader_depth(r) == 0)
		return -EINVAL;
	/* Inside the section the map cannot drop to zero references: the
	 * space (or the section itself) holds one until the section ends. */
	*out = gmem_map_ref((gmem_map *)(uintptr_t)r->hot.map);
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
		*out = gmem_map_ref(__atomic_load_n(&s->pub.current,
						    __ATOMIC_RELAXED));
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
