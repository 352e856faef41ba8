/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * space.h - address space internals shared by space.c and space_atomic.c.
 */
#ifndef GMEM_SPACE_H
#define GMEM_SPACE_H

#include "grace.h"

enum gmem_space_kind {
	GMEM_SPACE_FIXED,
	GMEM_SPACE_SHARED,
	GMEM_SPACE_ATOMIC,
	GMEM_SPACE_CUSTOM,
};

struct gmem_retired {
	struct gmem_retired *next;
	gmem_map *map;
	struct gmem_grace_wait wait;
};

struct gmem_atomic_state {
	pthread_mutex_t write_lock; /* serializes updates and the retired list */
	atomic_uintptr_t writer;    /* thread holding write_lock, or 0 */
	struct gmem_grace grace;
	struct gmem_retired *retired;
	size_t nretired;
	size_t max_retired;
};

struct gmem_space {
	/* Read by every reader on every enter: keep it off the refs line. */
	gmem_map *_Atomic current __attribute__((aligned(GMEM_CACHE_LINE)));
	enum gmem_space_kind kind;
	struct gmem_space_ops ops;
	void *ctx;
	atomic_size_t refs __attribute__((aligned(GMEM_CACHE_LINE)));
	struct gmem_atomic_state *atomic; /* GMEM_SPACE_ATOMIC only */
};

struct gmem_reader {
	gmem_space *space;
	struct gmem_rslot *slot; /* GMEM_SPACE_ATOMIC only */
	uint_fast64_t seq;	 /* this reader's copy of slot->seq */
	uint32_t depth;
	const gmem_map *map; /* snapshot of the current section */
	void *token;	     /* custom spaces' per-section state */
};

GMEM_INTERNAL int gmem__atomic_init(gmem_space *s, size_t max_retired);
GMEM_INTERNAL void gmem__atomic_destroy(gmem_space *s);
/* gmem_space_current() for atomic spaces: takes the writer lock so no
 * writer can drop the current map's reference meanwhile. */
GMEM_INTERNAL int gmem__atomic_current(gmem_space *s, gmem_map **out);

#endif /* GMEM_SPACE_H */
