/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * space.h - address space internals shared by space.c and space_atomic.c.
 */
#ifndef GMEM_SPACE_H
#define GMEM_SPACE_H

#include "grace.h"

/* The reader fast path (struct gmem__reader_hot, gmem__reader_enter_fast()
 * and gmem__reader_exit_fast()) is in gmem.h, inlined into callers too. */

/* ------------------------------------------------------------------------ */
/* Spaces and readers                                                        */
/* ------------------------------------------------------------------------ */

enum gmem_space_kind {
	GMEM_SPACE_FIXED,
	GMEM_SPACE_SHARED,
	GMEM_SPACE_ATOMIC,
	GMEM_SPACE_CUSTOM,
};

/* A map an atomic space unpublished and still owns a reference to. */
struct gmem_retired {
	gmem_map *map;
	uint64_t epoch; /* number of the publication that retired it */
};

struct gmem_atomic_state {
	pthread_mutex_t write_lock; /* serializes updates, the retired ring */
	atomic_uintptr_t writer;    /* thread holding write_lock, or 0 */
	struct gmem_grace grace;
	/* Retired maps, oldest first: a ring of cap entries from head. */
	struct gmem_retired *ring;
	size_t cap, head, nretired;
	size_t max_retired;
	/*
	 * Retired maps numbered up to covered have had a barrier since their
	 * publication: a scan decides whether they can go.  Later ones wait
	 * for the next barrier (reclaim, a full ring, WAIT, synchronize), so
	 * that a DEFER publication costs no system call.
	 */
	uint64_t covered;
};

struct gmem_space {
	/*
	 * Read by every reader on every enter, written by each publication:
	 * off the refs line.  __atomic only.
	 */
	struct gmem__pub pub __attribute__((aligned(GMEM_CACHE_LINE)));
	enum gmem_space_kind kind;
	struct gmem_space_ops ops;
	void *ctx;
	atomic_size_t refs __attribute__((aligned(GMEM_CACHE_LINE)));
	struct gmem_atomic_state *atomic; /* GMEM_SPACE_ATOMIC only */
};

/* The hot fields come first: gmem.h's inline enter/exit reach them
 * through an opaque gmem_reader pointer. */
struct gmem_reader {
	/*
	 * hot.w is the reader's slot.  Its seq has GMEM__SEQ_LIB set while
	 * the library must see every enter and exit: always unless fast (an
	 * atomic space on the asymmetric protocol), and while a fast reader
	 * has nested sections open.  depth counts sections while the bit is
	 * set; without it the open section (0 or 1) is the parity of seq.
	 */
	struct gmem__reader_hot hot;
	uint32_t depth;
	bool fast;
	gmem_space *space;
	void *token; /* custom spaces' per-section state */
} __attribute__((aligned(GMEM_CACHE_LINE)));

_Static_assert(offsetof(struct gmem_reader, hot) == 0 &&
		       sizeof(struct gmem__reader_hot) <= GMEM_CACHE_LINE,
	       "struct gmem__reader_hot leads struct gmem_reader, in one line");

GMEM_INTERNAL int gmem__atomic_init(gmem_space *s, size_t max_retired);
GMEM_INTERNAL void gmem__atomic_destroy(gmem_space *s);
/* gmem_space_current() for atomic spaces: takes the writer lock so no
 * writer can drop the current map's reference meanwhile. */
GMEM_INTERNAL int gmem__atomic_current(gmem_space *s, gmem_map **out);
/* Tests and fuzzing: use the seq_cst protocol (before any reader). */
GMEM_INTERNAL int gmem__space_use_fallback(gmem_space *s);

#endif /* GMEM_SPACE_H */
