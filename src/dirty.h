/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * dirty.h - per-region dirty logs (one flag byte per page) and the marks.
 *
 * Lost-mark argument (for gmem__dirty_set() in gmem.h).  A writer stores
 * guest data D, then marks its page:
 *   - with a release store of 1 to the page's flag: the harvester's
 *     clearing exchange (acq_rel) is ordered with it in the flag's
 *     modification order: either the harvest reads the 1 and, by
 *     release/acquire, D; or the store comes after the clear and the next
 *     harvest gets it.
 *   - skipping the store when a relaxed load already shows the flag set is
 *     only safe if D is visible before the harvester reads the page; x86
 *     may still hold D in its store buffer.  The harvester therefore calls
 *     membarrier(PRIVATE_EXPEDITED) after clearing: every writer thread then
 *     either had D globally visible, or executes its check after the
 *     barrier and sees the cleared flag, so it stores.  Without membarrier
 *     (seccomp, old kernels) or under TSan (which cannot see it) writers
 *     always store.
 */
#ifndef GMEM_DIRTY_H
#define GMEM_DIRTY_H

#include "internal.h"

/* What the harvest side reads of a log. */
struct gmem__dirty {
	uint64_t first_frame; /* region start >> shift */
	uint8_t *flags;	      /* flags[i]: frame first_frame + i; __atomic */
	uint32_t shift;	      /* log2 of the dirty page size */
	uint32_t skip_if_set; /* writers may skip set flags: we membarrier */
};

/* The write paths (gmem.h's gmem__slot_mark(), inlined into callers too)
 * see only slot_bits, copied into the slots of every map holding the
 * region; the flags follow the header in the same mapping. */
struct gmem_dirty {
	struct gmem__dirty hot;
	uintptr_t slot_bits; /* GMEM__SLOT_BASE | GMEM__SLOT_STORE | shift */
	size_t bytes;	     /* size of this mapping */
	uint64_t nbits;	     /* pages, and bits of a whole-region harvest */
	size_t nwords;	     /* 64-bit words of a whole-region harvest */
	uint64_t storage[];  /* hot.flags points into it; padded */
};

/* The flags' base (GMEM__SLOT_BASE) must have no bits below it, and must
 * not be 0, which means "no log". */
#define SLOT_BASE_ALIGN ((size_t)(~GMEM__SLOT_BASE + 1))

/*
 * Where in storage (2 * SLOT_BASE_ALIGN bytes longer than the flags) the
 * flags go: flags - first_frame, computed modulo 2^64 as the write paths
 * do, must be a non-zero multiple of SLOT_BASE_ALIGN.  Pure arithmetic
 * (storage is not dereferenced), so tests check it on any address.
 */
static inline uint8_t *gmem__flags_placed(uint8_t *storage,
					  uint64_t first_frame)
{
	uintptr_t at = (uintptr_t)storage;
	uintptr_t skew = ((uintptr_t)first_frame - at) & (SLOT_BASE_ALIGN - 1);

	if (at + skew - (uintptr_t)first_frame == 0)
		skew += SLOT_BASE_ALIGN;
	return storage + skew;
}

GMEM_INTERNAL int gmem__dirty_new(struct gmem_dirty **out, uint64_t gpa,
				  uint64_t last, uint64_t page_size);

GMEM_INTERNAL void gmem__dirty_free(struct gmem_dirty *d);

/* Mark a validated range of a map, fragment by fragment. */
GMEM_INTERNAL void gmem__dirty_mark_range(const struct gmem_map *m,
					  size_t first, uint64_t gpa,
					  uint64_t len);

#endif /* GMEM_DIRTY_H */
