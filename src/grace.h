/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * grace.h - grace periods for atomic spaces: per-reader sequence counters.
 *
 * Each reader owns one cache line (a slot) holding a counter that is odd
 * while the reader is inside a read section.  A writer that has just
 * unpublished a map takes a "grace snapshot": the slots whose counter was
 * odd.  The old map is unreachable once each of those counters has moved
 * on.  The memory-ordering argument is in grace.c.
 */
#ifndef GMEM_GRACE_H
#define GMEM_GRACE_H

#include <pthread.h>

#include "internal.h"

#define GMEM_CACHE_LINE 64
#define GMEM_SLOTS_PER_CHUNK 32

struct gmem_rslot {
	atomic_uint_fast64_t seq; /* odd: inside a section */
	atomic_uintptr_t owner;	  /* pthread_self() of the thread inside */
	atomic_int in_use;	  /* handed to a live gmem_reader */
} __attribute__((aligned(GMEM_CACHE_LINE)));

struct gmem_rslot_chunk {
	struct gmem_rslot slots[GMEM_SLOTS_PER_CHUNK];
	struct gmem_rslot_chunk *_Atomic next;
};

/* Slots are never freed before the registry, only reused. */
struct gmem_grace {
	pthread_mutex_t lock; /* slot allocation and snapshots */
	struct gmem_rslot_chunk *_Atomic head;
	size_t nslots;
};

struct gmem_grace_pair {
	struct gmem_rslot *slot;
	uint_fast64_t seq;
};

/* The readers a retired map still waits for. */
struct gmem_grace_wait {
	size_t n;
	struct gmem_grace_pair *pairs;
};

GMEM_INTERNAL int gmem__grace_init(struct gmem_grace *g);
GMEM_INTERNAL void gmem__grace_destroy(struct gmem_grace *g);
GMEM_INTERNAL int gmem__grace_slot_get(struct gmem_grace *g,
				       struct gmem_rslot **out);
GMEM_INTERNAL void gmem__grace_slot_put(struct gmem_rslot *slot);

/*
 * Unpublish and snapshot in one step: *cur is exchanged for next (seq_cst)
 * and the readers that may still see the old value are recorded in *w.
 * Fails with -ENOMEM before anything is exchanged.
 */
GMEM_INTERNAL int gmem__grace_swap(struct gmem_grace *g, gmem_map *_Atomic *cur,
				   gmem_map *next, gmem_map **old,
				   struct gmem_grace_wait *w);

/* True once every recorded reader has left its section; never blocks. */
GMEM_INTERNAL bool gmem__grace_poll(struct gmem_grace_wait *w);
/* Spin (then yield) until gmem__grace_poll() would be true. */
GMEM_INTERNAL void gmem__grace_wait(struct gmem_grace_wait *w);
GMEM_INTERNAL void gmem__grace_wait_free(struct gmem_grace_wait *w);

/* True if the calling thread is inside a section on a slot of g. */
GMEM_INTERNAL bool gmem__grace_self_inside(struct gmem_grace *g);

static inline uintptr_t gmem__self(void)
{
	return (uintptr_t)pthread_self();
}

/* Reader side, inlined into gmem_reader_enter/exit. */
static inline gmem_map *gmem__grace_enter(struct gmem_rslot *slot,
					  uint_fast64_t *seq,
					  gmem_map *_Atomic *cur)
{
	atomic_store_explicit(&slot->owner, gmem__self(), memory_order_relaxed);
	*seq += 1;
	atomic_store_explicit(&slot->seq, *seq, memory_order_seq_cst);
	return atomic_load_explicit(cur, memory_order_seq_cst);
}

static inline void gmem__grace_exit(struct gmem_rslot *slot,
				    uint_fast64_t *seq)
{
	*seq += 1;
	atomic_store_explicit(&slot->seq, *seq, memory_order_release);
}

#endif /* GMEM_GRACE_H */
