/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * internal.h - data structures shared by libgmem's source files.
 *
 * Nothing here is part of the ABI.  Tests may include it to check
 * invariants, but callers of the library never see these layouts.
 */
#ifndef GMEM_INTERNAL_H
#define GMEM_INTERNAL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "gmem.h"

/* Host pointers and guest lengths are used interchangeably below. */
_Static_assert(sizeof(void *) == 8 && sizeof(size_t) == 8 &&
		       sizeof(uintptr_t) == 8,
	       "libgmem supports 64-bit hosts only");

#define GMEM_INTERNAL __attribute__((visibility("hidden")))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

struct gmem_dirty; /* dirty.h */

struct gmem_region {
	atomic_size_t refs;
	uint64_t gpa;
	uint64_t len;
	uint64_t last; /* gpa + len - 1: representable even at 2^64 */
	uint8_t *host;
	uint32_t backing;
	uint32_t flags;
	int fd;	       /* owned duplicate, or -1 */
	uint64_t offset;
	uint64_t page_size;
	void *unmap_base; /* whole reservation, guard pages included; NULL if
			   * the caller owns the mapping */
	size_t unmap_len;
	struct gmem_dirty *dirty; /* NULL unless GMEM_REGION_DIRTY_LOG */
};

/*
 * Everything an access needs about one region, copied out of the region so
 * the hot path never chases the region pointer.  Slots sit in their own
 * array parallel to the key array: the binary search touches only keys.
 */
struct gmem_slot {
	uint64_t start;
	uint64_t last;
	uint8_t *host;
	struct gmem_dirty *dirty; /* region's bitmap, NULL when untracked */
	uint32_t writable;
	gmem_region *region;
};

struct gmem_map {
	atomic_size_t refs;
	size_t count;
	size_t max_regions;
	uint64_t *starts;	 /* sorted region start addresses */
	struct gmem_slot *slots; /* same order as starts */
};

#define GMEM_NO_SLOT SIZE_MAX

/*
 * (*probe <= gpa) ? probe : base, without a branch.  On a random address
 * stream a branch here mispredicts half the time per search level; clang 14
 * turns every C spelling of this select (ternary, masks,
 * __builtin_unpredictable) back into a branch, hence the conditional move
 * in asm on x86-64.
 */
static inline const uint64_t *gmem__select_le(const uint64_t *base,
					      const uint64_t *probe,
					      uint64_t gpa)
{
#if defined(__x86_64__)
	__asm__("cmpq %[gpa], %[key]\n\tcmovbeq %[probe], %[base]"
		: [base] "+r"(base)
		: [key] "m"(*probe), [gpa] "r"(gpa), [probe] "r"(probe)
		: "cc");
	return base;
#else
	return *probe <= gpa ? probe : base;
#endif
}

/*
 * Index of the region containing gpa, or GMEM_NO_SLOT.  Branch-free lower
 * bound: always log2(count) iterations over the key array alone, then one
 * check against the candidate slot.
 */
static inline size_t gmem__lookup(const struct gmem_map *m, uint64_t gpa)
{
	const uint64_t *key = m->starts, *base = key;
	size_t n = m->count, i;

	if (unlikely(n == 0))
		return GMEM_NO_SLOT;
	while (n > 1) {
		size_t half = n / 2;

		base = gmem__select_le(base, base + half, gpa);
		n -= half;
	}
	i = (size_t)(base - key);
	if (*base > gpa || gpa > m->slots[i].last)
		return GMEM_NO_SLOT;
	return i;
}

/* Bytes from gpa to the end of slot s, minus one (so 2^64 cannot occur). */
static inline uint64_t gmem__slot_tail_m1(const struct gmem_slot *s,
					  uint64_t gpa)
{
	return s->last - gpa;
}

static inline uint8_t *gmem__slot_host(const struct gmem_slot *s, uint64_t gpa)
{
	return s->host + (gpa - s->start);
}

static inline int gmem__access_valid(unsigned access)
{
	return access != 0 && (access & ~(unsigned)GMEM_ACCESS_RW) == 0;
}

/*
 * Walk [gpa, gpa + len) region by region.  len >= 1 and the range must not
 * run past 2^64 (callers check with gmem_range_check first).
 *
 * Returns 0 when every byte is mapped with the needed access, otherwise the
 * error for the first offending byte in address order (-EFAULT for a hole,
 * -EACCES for a write to a read-only region).  *ok receives the number of
 * leading bytes that are accessible either way; *first the slot of gpa when
 * *ok > 0.
 */
GMEM_INTERNAL int gmem__span(const struct gmem_map *m, uint64_t gpa,
			     uint64_t len, unsigned access, uint64_t *ok,
			     size_t *first);

/*
 * Fragment cursor over a range already validated by gmem__span(): each call
 * yields the host pointer and length of the next piece, in one region.
 */
struct gmem_frag {
	const struct gmem_map *m;
	size_t slot;
	uint64_t gpa;
	uint64_t left;
	const struct gmem_slot *cur; /* slot of the fragment last returned */
	uint64_t cur_gpa;	     /* guest address of that fragment */
};

static inline void gmem__frag_init(struct gmem_frag *f,
				   const struct gmem_map *m, size_t slot,
				   uint64_t gpa, uint64_t len)
{
	f->m = m;
	f->slot = slot;
	f->gpa = gpa;
	f->left = len;
}

/* Next fragment; returns 0 once the range is exhausted. */
static inline uint64_t gmem__frag_next(struct gmem_frag *f, uint8_t **host)
{
	const struct gmem_slot *s;
	uint64_t tail_m1, n;

	if (f->left == 0)
		return 0;
	s = &f->m->slots[f->slot];
	tail_m1 = gmem__slot_tail_m1(s, f->gpa);
	n = f->left - 1 <= tail_m1 ? f->left : tail_m1 + 1;
	*host = gmem__slot_host(s, f->gpa);
	f->cur = s;
	f->cur_gpa = f->gpa;
	f->left -= n;
	if (f->left) {
		/* Validated: the next byte starts the adjacent region. */
		f->gpa += n;
		f->slot++;
	}
	return n;
}

/* Host page size, read once per call site that needs it. */
GMEM_INTERNAL uint64_t gmem__host_page_size(void);

#endif /* GMEM_INTERNAL_H */
