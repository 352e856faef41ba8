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
 * A slot (struct gmem__slot in gmem.h) holds everything an access needs
 * about one region, copied out of the region so the hot path never chases
 * the region pointer; the region pointers sit in a cold parallel array.
 */
#define gmem_slot gmem__slot

static inline bool gmem__slot_writable(const struct gmem_slot *s)
{
	return !(s->dirty_ro & GMEM__SLOT_RO);
}

/*
 * One allocation (map.c): this header, slots[] and starts[] (count + pad
 * entries, see struct gmem__map_hot), regions[count], bucket[nbuckets].
 * The inline fast paths in gmem.h read hot, so it comes first.
 */
struct gmem_map {
	struct gmem__map_hot hot;
	atomic_size_t refs;
	size_t max_regions;
	size_t pad;	       /* padding keys and slots allocated */
	gmem_region **regions; /* same order as hot.slots */
} __attribute__((aligned(64)));

/* gmem.h's lookup finds slots[] at a fixed offset; map_alloc() puts it
 * there. */
/* The two-region lookup reads count and key1 from one line. */
_Static_assert(offsetof(struct gmem_map, hot.key1) + 8 <= 64 &&
		       offsetof(struct gmem_map, hot.count) < 64,
	       "count and key1 share the map's first cache line");
_Static_assert(sizeof(struct gmem_map) <= GMEM__MAP_SLOTS &&
		       GMEM__MAP_SLOTS % 64 == 0,
	       "struct gmem_map fits below GMEM__MAP_SLOTS");

#define GMEM_NO_SLOT SIZE_MAX

/* Index of the region containing gpa, or GMEM_NO_SLOT. */
static inline size_t gmem__lookup(const struct gmem_map *m, uint64_t gpa)
{
	size_t i = (size_t)(gmem__map_slot(&m->hot, gpa) - m->hot.slots);
	const struct gmem_slot *s;

	/* Past the last region only when gpa is UINT64_MAX (the padding
	 * keys are UINT64_MAX): its region can only be the last one. */
	if (unlikely(i >= m->hot.count)) {
		if (m->hot.count == 0)
			return GMEM_NO_SLOT;
		i = m->hot.count - 1;
	}
	s = &m->hot.slots[i];
	if (s->start > gpa || gpa > s->last)
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
	s = &f->m->hot.slots[f->slot];
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

/*
 * For the atomic space's writer (space_atomic.c), which builds new maps in
 * the memory of dead retired ones.  gmem__map_recycle() drops the
 * caller's reference to map (one that no reader can reach any more): if
 * it was the last, it drops the map's region references and returns its
 * memory (free() it or pass it as a spare), else NULL.  The builders are
 * gmem_map_insert() and gmem_map_remove() with a spare in *spare (may be
 * NULL): when it is big enough they build in it and set *spare to NULL.
 */
GMEM_INTERNAL gmem_map *gmem__map_recycle(gmem_map *map);
GMEM_INTERNAL int gmem__map_insert(gmem_map **out, const gmem_map *map,
				   gmem_region *region, gmem_map **spare);
GMEM_INTERNAL int gmem__map_remove(gmem_map **out, const gmem_map *map,
				   uint64_t gpa, uint64_t len,
				   gmem_region **removed, gmem_map **spare);

/* Host page size, read once per call site that needs it. */
GMEM_INTERNAL uint64_t gmem__host_page_size(void);

#endif /* GMEM_INTERNAL_H */
