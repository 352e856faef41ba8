/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * dirty.h - per-region dirty bitmaps and the write-path mark.
 *
 * Lost-bit argument.  A writer stores guest data D, then marks its page:
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

struct gmem_dirty {
	size_t bytes;	      /* size of this mapping */
	unsigned shift;	      /* log2 of the dirty page size */
	bool skip_if_set;     /* the harvester issues membarrier */
	uint64_t first_frame; /* region start >> shift */
	uint64_t nbits;
	size_t nwords;
	atomic_uint_least64_t words[];
};

GMEM_INTERNAL int gmem__dirty_new(struct gmem_dirty **out, uint64_t gpa,
				  uint64_t last, uint64_t page_size);

GMEM_INTERNAL void gmem__dirty_free(struct gmem_dirty *d);

/* Set mask in one bitmap word, skipping the RMW when already set (and the
 * harvester's membarrier makes the skip safe: see above). */
static inline void gmem__dirty_set(const struct gmem_dirty *d,
				   atomic_uint_least64_t *w, uint64_t mask)
{
	if (!d->skip_if_set ||
	    (atomic_load_explicit(w, memory_order_relaxed) & mask) != mask)
		atomic_fetch_or_explicit(w, mask, memory_order_release);
}

/* Mark [gpa, gpa + len) dirty; the range lies inside the region. */
static inline void gmem__dirty_mark(struct gmem_dirty *d, uint64_t gpa,
				    uint64_t len)
{
	uint64_t f = (gpa >> d->shift) - d->first_frame;
	uint64_t l = ((gpa + (len - 1)) >> d->shift) - d->first_frame;

	if (likely(f == l)) { /* typed writes and atomics: one page */
		gmem__dirty_set(d, &d->words[f / 64], 1ULL << (f % 64));
		return;
	}
	while (f <= l) {
		unsigned bit = (unsigned)(f % 64);
		uint64_t n = 64 - bit, mask;
		atomic_uint_least64_t *w = &d->words[f / 64];

		if (n > l - f + 1)
			n = l - f + 1;
		mask = (n == 64 ? ~0ULL : ((1ULL << n) - 1)) << bit;
		gmem__dirty_set(d, w, mask);
		if (n > l - f)
			break;
		f += n;
	}
}

/* Mark a validated range of a map, fragment by fragment. */
GMEM_INTERNAL void gmem__dirty_mark_range(const struct gmem_map *m,
					  size_t first, uint64_t gpa,
					  uint64_t len);

#endif /* GMEM_DIRTY_H */
