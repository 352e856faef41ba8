/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * grace.h - grace periods for atomic spaces: a registry of reader slots.
 *
 * Each reader's first cache line holds its slot (struct gmem__slot_words,
 * gmem.h), registered with the space's registry while the reader lives.
 * Its sequence word (the GMEM__SEQ_LIB bit aside) is even outside a
 * section and 2e+1 inside one, where e is the space's publication count
 * (epoch) the reader loaded as it entered: a lower bound on the epoch of
 * the map the section uses.  A retired map carries the number of the
 * publication that retired it, j; it is freed once a scan of the slots
 * (after a barrier that follows that publication) finds no odd word 2e+1
 * with e < j.  The memory-ordering argument is in grace.c.
 */
#ifndef GMEM_GRACE_H
#define GMEM_GRACE_H

#include <pthread.h>
#include <stdbool.h>

#include "internal.h"

#define GMEM_CACHE_LINE 64

/*
 * The slots live in their readers, each written only by its reader's
 * thread, so entering and exiting touch no shared cache line.  A reader
 * leaves the registry (under the lock) before its memory is freed, and
 * only with no section open; every walk of the registry holds the lock.
 */
struct gmem_grace {
	pthread_mutex_t lock;		   /* the registry and scans */
	struct gmem__slot_words **slots;   /* [nslots], in no order */
	size_t nslots, cap;
	/*
	 * true: readers order their enter with a compiler barrier only and
	 * the writer issues membarrier(2) before it scans (asymmetric);
	 * false: readers use seq_cst and the writer nothing (fallback, when
	 * membarrier is unavailable or under ThreadSanitizer).  Fixed once
	 * the first reader registers (sealed); each reader copies it, and
	 * writers read it without the lock.
	 */
	bool asym;
	bool sealed; /* a reader has registered: asym never changes again */
};

GMEM_INTERNAL int gmem__grace_init(struct gmem_grace *g);
GMEM_INTERNAL void gmem__grace_destroy(struct gmem_grace *g);
/* Register a reader's slot (its seq even, no section open); -ENOMEM. */
GMEM_INTERNAL int gmem__grace_add(struct gmem_grace *g,
				  struct gmem__slot_words *w);
/* Unregister a slot that gmem__grace_add() registered, with no section
 * open on it; after this no scan reads it. */
GMEM_INTERNAL void gmem__grace_remove(struct gmem_grace *g,
				      struct gmem__slot_words *w);

/*
 * The writer's side of the asymmetric fence: after it returns, every scan
 * sees the slot stores of every section that could have loaded a map
 * unpublished before the call.  membarrier(2) in asymmetric mode; nothing
 * in fallback mode, where the seq_cst operations order everything.
 */
GMEM_INTERNAL int gmem__grace_barrier(struct gmem_grace *g);

/*
 * One pass over every slot, each read once: the smallest epoch an open
 * section may have begun in, UINT64_MAX if no section is open.  A map
 * retired by publication j (j publications have been made when it is
 * unpublished) with a barrier since is unreachable once this is >= j.
 */
GMEM_INTERNAL uint64_t gmem__grace_scan(struct gmem_grace *g);

/* Spin (then yield) until gmem__grace_scan() >= epoch.  Call after a
 * barrier that follows publication number epoch. */
GMEM_INTERNAL void gmem__grace_wait(struct gmem_grace *g, uint64_t epoch);

/* True if the calling thread is inside a section on a slot of g. */
GMEM_INTERNAL bool gmem__grace_self_inside(struct gmem_grace *g);

/*
 * Test hook: switch a registry that never had a slot to the fallback
 * (seq_cst) protocol, even where membarrier works; -EBUSY once any reader
 * has registered (readers copied the mode, writers read it unlocked), even
 * after every reader is gone.  Only reachable by tests that compile the
 * library sources in (the symbol is hidden otherwise).
 */
GMEM_INTERNAL int gmem__grace_use_fallback(struct gmem_grace *g);

/* Identity of the calling thread for the writer lock (not for sections). */
static inline uintptr_t gmem__self(void)
{
	return (uintptr_t)pthread_self();
}

#endif /* GMEM_GRACE_H */
