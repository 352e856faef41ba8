/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * dirty.c - dirty bitmaps: creation, harvest, query, reset, explicit marks.
 *
 * See dirty.h for why no dirty bit can be lost between a write and a
 * harvest.
 */
#include "dirty.h"
#include "membarrier.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void harvest_barrier(const struct gmem__dirty *d)
{
	/* Registered at creation; if it fails now the writers of this region
	 * still mark with RMWs only when skip_if_set is false, so there is
	 * nothing better to do than report nothing. */
	if (d->skip_if_set)
		(void)gmem__sys_membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED);
}

/*
 * The flags of frames [i, i + n) of a log (relative; n <= 64) as bits,
 * cleared if clear.  A clean flag is skipped without a write, so a
 * harvest leaves the cache lines of clean memory shared with writers; a
 * mark that lands after the look stays for the next harvest.
 */
static uint64_t take_flags(const struct gmem__dirty *d, uint64_t i, unsigned n,
			   bool clear)
{
	uint64_t bits = 0;
	unsigned k = 0;

	while (k < n) {
		uint8_t *p = &d->flags[i + k], v;

#ifndef GMEM_TSAN
		/* Eight clean pages in one load: the common case of a sparse
		 * log.  (Mixed-size access to the flags: coherent on every
		 * target, but TSan takes byte-by-byte.) */
		if ((uintptr_t)p % 8 == 0 && n - k >= 8) {
			uint64_t v8 = __atomic_load_n((uint64_t *)(void *)p,
						      __ATOMIC_RELAXED);

			if (v8 == 0) {
				k += 8;
				continue;
			}
		}
#endif
		if (clear)
			v = __atomic_load_n(p, __ATOMIC_RELAXED)
				    ? __atomic_exchange_n(p, 0, __ATOMIC_ACQ_REL)
				    : 0;
		else
			v = __atomic_load_n(p, __ATOMIC_ACQUIRE);
		bits |= (uint64_t)(v != 0) << k;
		k++;
	}
	return bits;
}

GMEM_INTERNAL int gmem__dirty_new(struct gmem_dirty **out, uint64_t gpa,
				  uint64_t last, uint64_t page_size)
{
	struct gmem_dirty *d;
	uint64_t nbits, nwords;
	unsigned shift;
	size_t bytes;
	void *p;

	if (page_size == 0 || (page_size & (page_size - 1)) != 0)
		return -EINVAL;
	shift = (unsigned)__builtin_ctzll(page_size);
	nbits = (last >> shift) - (gpa >> shift);
	if (nbits == UINT64_MAX)
		return -ENOMEM; /* 2^64 bits: byte pages over the whole space */
	nbits++;
	nwords = nbits / 64 + (nbits % 64 != 0);
	/* One flag byte per page, padded to whole 64-page groups (one
	 * harvest word each). */
	if (nwords > (SIZE_MAX - sizeof(*d) - 2 * SLOT_BASE_ALIGN) / 64)
		return -ENOMEM;
	bytes = sizeof(*d) + 2 * SLOT_BASE_ALIGN + (size_t)nwords * 64;
	/* mmap, not malloc: the zero pages come lazily (a 1 TiB guest's
	 * log costs nothing until written), and an absurd size fails with
	 * ENOMEM from the kernel instead of tripping an allocator abort. */
	p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -ENOMEM;
	d = p;
	d->bytes = bytes;
	d->hot.shift = shift;
	d->hot.first_frame = gpa >> shift;
	d->hot.flags = gmem__flags_placed((uint8_t *)d->storage, gpa >> shift);
	d->nbits = nbits;
	d->nwords = (size_t)nwords;
	/* The flags are zero-filled by mmap, which is their initial value. */
	d->hot.skip_if_set = gmem__membarrier_usable();
	d->slot_bits = ((uintptr_t)d->hot.flags - (uintptr_t)d->hot.first_frame) |
		       shift;
	if (!d->hot.skip_if_set || shift < 3)
		d->slot_bits |= GMEM__SLOT_STORE;
	*out = d;
	return 0;
}

GMEM_INTERNAL void gmem__dirty_free(struct gmem_dirty *d)
{
	if (d)
		munmap(d, d->bytes);
}

GMEM_INTERNAL void gmem__dirty_mark_range(const struct gmem_map *m,
					  size_t first, uint64_t gpa,
					  uint64_t len)
{
	struct gmem_frag f;
	uint8_t *host;
	uint64_t n;

	gmem__frag_init(&f, m, first, gpa, len);
	while ((n = gmem__frag_next(&f, &host)) != 0)
		gmem__slot_mark(f.cur, f.cur_gpa, n);
}

GMEM_EXPORT int gmem_region_dirty_page_size(const gmem_region *r, uint64_t *out)
{
	if (!r || !out)
		return -EINVAL;
	if (!r->dirty)
		return -ENOENT;
	*out = 1ULL << r->dirty->hot.shift;
	return 0;
}

GMEM_EXPORT int gmem_region_dirty_harvest(gmem_region *r, uint64_t *bitmap,
					  size_t nwords, size_t *nbits)
{
	struct gmem_dirty *d;
	size_t i;

	if (!r || !bitmap || !nbits)
		return -EINVAL;
	d = r->dirty;
	if (!d)
		return -ENOENT;
	*nbits = d->nbits;
	if (nwords < d->nwords)
		return -ENOBUFS;
	for (i = 0; i < d->nwords; i++)
		bitmap[i] = take_flags(&d->hot, (uint64_t)i * 64, 64, true);
	harvest_barrier(&d->hot);
	return 0;
}

enum dirty_op { DIRTY_QUERY, DIRTY_HARVEST, DIRTY_RESET };

/* Index of the first slot whose region ends at or after gpa. */
static size_t first_ending_at_or_after(const struct gmem_map *m, uint64_t gpa)
{
	size_t lo = 0, hi = m->hot.count;

	/* Regions do not overlap, so their last addresses are sorted too. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->hot.slots[mid].last < gpa)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* OR n (<= 64) bits into out at bit position j. */
static void put_bits(uint64_t *out, uint64_t j, uint64_t bits, uint64_t n)
{
	unsigned o = (unsigned)(j % 64);

	out[j / 64] |= bits << o;
	if (o && o + n > 64)
		out[j / 64 + 1] |= bits >> (64 - o);
}

/* Frames [f, l] (absolute) of one region, to out bit (f - out_first). */
static void region_frames(const struct gmem__dirty *d, uint64_t f, uint64_t l,
			  uint64_t out_first, uint64_t *out, enum dirty_op op)
{
	while (f <= l) {
		uint64_t n = l - f < 63 ? l - f + 1 : 64, bits;

		bits = take_flags(d, f - d->first_frame, (unsigned)n,
				  op != DIRTY_QUERY);
		if (out)
			put_bits(out, f - out_first, bits, n);
		if (n > l - f)
			break; /* done; f + n could wrap at the top frame */
		f += n;
	}
}

static int map_dirty(const struct gmem_map *m, uint64_t gpa, uint64_t len,
		     uint64_t ps, uint64_t *bitmap, size_t nwords,
		     enum dirty_op op)
{
	uint64_t last, first_frame, last_frame, nbits;
	size_t i, start;
	unsigned shift;
	bool barrier = false;

	if (!m || (op != DIRTY_RESET && !bitmap) || ps == 0 ||
	    (ps & (ps - 1)) != 0 || gpa % ps != 0 || len % ps != 0)
		return -EINVAL;
	if (gmem_range_check(gpa, len))
		return -EOVERFLOW;
	if (len == 0)
		return 0;
	shift = (unsigned)__builtin_ctzll(ps);
	last = gpa + (len - 1);
	first_frame = gpa >> shift;
	last_frame = last >> shift;
	nbits = last_frame - first_frame + 1;
	if (op != DIRTY_RESET && nwords < nbits / 64 + (nbits % 64 != 0))
		return -ENOBUFS;
	start = first_ending_at_or_after(m, gpa);
	/* Refuse mismatched page sizes before clearing anything. */
	for (i = start; i < m->hot.count && m->hot.slots[i].start <= last; i++) {
		const struct gmem_dirty *d = m->regions[i]->dirty;

		if (d && d->hot.shift != shift)
			return -EINVAL;
	}
	if (bitmap)
		memset(bitmap, 0,
		       (size_t)(nbits / 64 + (nbits % 64 != 0)) * sizeof(*bitmap));
	for (i = start; i < m->hot.count && m->hot.slots[i].start <= last; i++) {
		const struct gmem_slot *s = &m->hot.slots[i];
		const struct gmem__dirty *d;
		uint64_t f, l;

		if (!m->regions[i]->dirty)
			continue;
		d = &m->regions[i]->dirty->hot;
		f = (s->start > gpa ? s->start : gpa) >> shift;
		l = (s->last < last ? s->last : last) >> shift;
		region_frames(d, f, l, first_frame,
			      op == DIRTY_RESET ? NULL : bitmap, op);
		barrier |= op == DIRTY_HARVEST && d->skip_if_set;
	}
	if (barrier)
		(void)gmem__sys_membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED);
	return 0;
}

GMEM_EXPORT int gmem_map_dirty_harvest(const gmem_map *map, uint64_t gpa,
				       uint64_t len, uint64_t page_size,
				       uint64_t *bitmap, size_t nwords)
{
	return map_dirty(map, gpa, len, page_size, bitmap, nwords,
			 DIRTY_HARVEST);
}

GMEM_EXPORT int gmem_map_dirty_query(const gmem_map *map, uint64_t gpa,
				     uint64_t len, uint64_t page_size,
				     uint64_t *bitmap, size_t nwords)
{
	return map_dirty(map, gpa, len, page_size, bitmap, nwords, DIRTY_QUERY);
}

GMEM_EXPORT int gmem_map_dirty_reset(const gmem_map *map, uint64_t gpa,
				     uint64_t len, uint64_t page_size)
{
	return map_dirty(map, gpa, len, page_size, NULL, 0, DIRTY_RESET);
}

GMEM_EXPORT int gmem_map_mark_dirty(const gmem_map *map, uint64_t gpa,
				    uint64_t len)
{
	uint64_t ok;
	size_t first;
	int err;

	if (!map)
		return -EINVAL;
	if (gmem_range_check(gpa, len))
		return -EOVERFLOW;
	if (len == 0)
		return 0;
	err = gmem__span(map, gpa, len, GMEM_ACCESS_READ, &ok, &first);
	if (err)
		return err;
	gmem__dirty_mark_range(map, first, gpa, len);
	return 0;
}
