/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * dirty.h - per-region dirty bitmaps and the write-path mark.
 *
 * Lost-bit argument (for gmem__dirty_set() in gmem.h).  A writer stores
 * guest data D, then marks its page:
 *   - with an atomic fetch_or (release): the harvester's clearing RMW
 *     (acq_rel) is ordered with it in the word's modification order: either
 *     the harvest reads the bit and, through the release sequence, D; or
 *     the bit is set after the clear and the next harvest gets it.
 *   - skipping the RMW when a relaxed load already shows the bit set is
 *     only safe if D is visible before the harvester reads the page; x86
 *     may still hold D in its store buffer.  The harvester therefore calls
 *     membarrier(PRIVATE_EXPEDITED) after clearing: every writer thread then
 *     either had D globally visible, or executes its check after the
 *     barrier and sees the cleared bit, so it takes the RMW path.  Without
 *     membarrier (seccomp, old kernels) or under TSan (which cannot see it)
 *     writers always take the RMW path.
 */
#ifndef GMEM_DIRTY_H
#define GMEM_DIRTY_H

#include "internal.h"

/* The write paths (gmem.h's gmem__dirty_mark(), inlined into callers too)
 * see only hot; the words follow the header in the same mapping. */
struct gmem_dirty {
	struct gmem__dirty hot;
	size_t bytes; /* size of this mapping */
	uint64_t nbits;
	size_t nwords;
	uint64_t storage[]; /* hot.words points here */
};

GMEM_INTERNAL int gmem__dirty_new(struct gmem_dirty **out, uint64_t gpa,
				  uint64_t last, uint64_t page_size);

GMEM_INTERNAL void gmem__dirty_free(struct gmem_dirty *d);

/* Mark a validated range of a map, fragment by fragment. */
GMEM_INTERNAL void gmem__dirty_mark_range(const struct gmem_map *m,
					  size_t first, uint64_t gpa,
					  uint64_t len);

#endif /* GMEM_DIRTY_H */
