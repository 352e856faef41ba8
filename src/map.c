/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * map.c - immutable, sorted, overlap-free sets of regions.
 *
 * A map is one allocation: the header (whose first part, struct
 * gmem__map_hot, the inline fast paths in gmem.h read), the slots, the
 * sorted key array (region starts), the region pointers and the bucket
 * table that narrows a lookup to one or a few keys.  Every "change" builds
 * a new map that takes its own references to the regions it shares with
 * the old one.
 */
#include "dirty.h"

#include <stdlib.h>
#include <string.h>

/* Bucket table size (see struct gmem__map_hot). */
struct geo {
	uint32_t shift, nbuckets;
};

/*
 * The narrowest power-of-two bucket width giving at most 2n buckets over
 * the span of n sorted starts from first to last: with regions spread
 * evenly every bucket then holds at most one start and a lookup takes one
 * step.
 */
static struct geo geometry(uint64_t first, uint64_t last, size_t n)
{
	uint64_t span = last - first, want = 2 * (uint64_t)n;
	struct geo g = { .shift = 63, .nbuckets = 1 };

	if (n < 2)
		return g;
	g.shift = 0;
	while ((span >> g.shift) >= want)
		g.shift++;
	g.nbuckets = (uint32_t)((span >> g.shift) + 1);
	return g;
}

/*
 * Allocate a map for n regions with room for pad padding keys and slots
 * (struct gmem__map_hot).  n <= GMEM_MAP_LIMIT_MAX_REGIONS (2^24),
 * nbuckets <= 2n and pad <= 4n + 4, so no size below can overflow.
 */
static struct gmem_map *map_alloc(size_t n, size_t max_regions,
				  struct geo g, size_t pad)
{
	size_t slots_b, starts_b, regions_b, bytes;
	struct gmem_map *m;
	char *p;

	slots_b = (n + pad) * sizeof(struct gmem_slot);
	starts_b = (n + pad) * sizeof(uint64_t);
	regions_b = n * sizeof(gmem_region *);
	bytes = GMEM__MAP_SLOTS + slots_b + starts_b + regions_b +
		(size_t)g.nbuckets * sizeof(uint32_t);
	bytes = (bytes + 63) & ~(size_t)63;
	/* No zeroing: every field is written before the map is used. */
	m = aligned_alloc(64, bytes);
	if (!m)
		return NULL;
	atomic_init(&m->refs, 1);
	m->max_regions = max_regions;
	m->pad = pad;
	m->hot.count = n;
	p = (char *)m + GMEM__MAP_SLOTS;
	m->hot.slots = (struct gmem_slot *)(void *)p;
	m->hot.starts = (uint64_t *)(void *)(p += slots_b);
	m->regions = (gmem_region **)(void *)(p += starts_b);
	m->hot.bucket = (uint32_t *)(void *)(p + regions_b);
	m->hot.shift = g.shift;
	m->hot.nbuckets = g.nbuckets;
	m->hot.step = 0;
	m->hot.reserved = 0;
	m->hot.base = 0;
	return m;
}

/* Writable views of the arrays map_alloc() laid out. */
static struct gmem_slot *slots_w(struct gmem_map *m)
{
	return (struct gmem_slot *)(uintptr_t)m->hot.slots;
}

static uint64_t *starts_w(struct gmem_map *m)
{
	return (uint64_t *)(uintptr_t)m->hot.starts;
}

static void slot_set(struct gmem_map *m, size_t i, gmem_region *r)
{
	struct gmem_slot *s = &slots_w(m)[i];

	starts_w(m)[i] = r->gpa;
	s->start = r->gpa;
	s->last = r->last;
	s->host = r->host;
	s->dirty_ro = r->dirty ? r->dirty->slot_bits : 0;
	if (r->flags & GMEM_REGION_READONLY)
		s->dirty_ro |= GMEM__SLOT_RO;
	m->regions[i] = gmem_region_ref(r);
}

/*
 * Fill the bucket table from the keys: bucket[b] is the last key at or
 * below the bucket's first address.  Returns the window, the most keys a
 * lookup may have to step over.
 */
static uint32_t index_build(struct gmem_map *m)
{
	uint32_t *bucket = (uint32_t *)(uintptr_t)m->hot.bucket;
	const uint64_t *k = m->hot.starts;
	size_t n = m->hot.count, j = 0, prev = 0, window = 0;
	uint64_t b;

	m->hot.base = n ? k[0] : 0;
	bucket[0] = 0;
	if (n < 2)
		return 0;
	for (b = 0; b < m->hot.nbuckets; b++) {
		uint64_t addr = k[0] + (b << m->hot.shift);

		while (j + 1 < n && k[j + 1] <= addr)
			j++;
		if (j - prev > window)
			window = j - prev;
		prev = j;
		bucket[b] = (uint32_t)j;
	}
	/* Addresses past the last bucket's start search up to the last key. */
	if (n - 1 - prev > window)
		window = n - 1 - prev;
	return (uint32_t)window;
}

/*
 * Complete a map whose slots, keys and regions are in place: bucket
 * table, step and padding.  Callers guess the padding (derived maps need
 * about what their parent had); a guess that is too small, which only a
 * very uneven layout causes, costs a second allocation and copy here.
 * On -ENOMEM *mp is freed (dropping its region references).
 */
static int map_finish(struct gmem_map **mp)
{
	struct gmem_map *m = *mp, *big;
	uint32_t window = index_build(m);
	uint32_t step = window ? 1u << (31 - __builtin_clz(window)) : 0;
	size_t need = step ? 2 * (size_t)step : 1, i, n = m->hot.count;

	/* A search reaches up to 2 * step - 1 keys past its bucket's; a
	 * small map's lookup reads keys 1 to GMEM__SMALL_MAP - 1. */
	if (n < GMEM__SMALL_MAP && need < GMEM__SMALL_MAP - n)
		need = GMEM__SMALL_MAP - n;
	if (need > m->pad) {
		big = map_alloc(n, m->max_regions,
				(struct geo){ m->hot.shift, m->hot.nbuckets },
				need);
		if (!big) {
			gmem_map_free(m);
			return -ENOMEM;
		}
		memcpy(slots_w(big), m->hot.slots, n * sizeof(struct gmem_slot));
		memcpy(starts_w(big), m->hot.starts, n * sizeof(uint64_t));
		memcpy(big->regions, m->regions, n * sizeof(gmem_region *));
		memcpy((uint32_t *)(uintptr_t)big->hot.bucket, m->hot.bucket,
		       m->hot.nbuckets * sizeof(uint32_t));
		big->hot.base = m->hot.base;
		free(m); /* the region references moved to big */
		*mp = m = big;
	}
	m->hot.step = step;
	for (i = n; i < n + m->pad; i++) {
		/* Keys no address is below (but UINT64_MAX itself: lookups
		 * that land here fall back to an exact search), and slots
		 * that contain no address. */
		starts_w(m)[i] = UINT64_MAX;
		slots_w(m)[i] = (struct gmem_slot){ .start = 1, .last = 0 };
	}
	return 0;
}

/* Padding to allocate for a map derived from parent by one region. */
static size_t pad_guess(const struct gmem_map *parent)
{
	/* One region more or less moves the window by about one, which may
	 * double the step. */
	return parent->hot.step ? 4 * (size_t)parent->hot.step
				: GMEM__SMALL_MAP;
}

static int cmp_region_start(const void *a, const void *b)
{
	const gmem_region *ra = *(gmem_region *const *)a;
	const gmem_region *rb = *(gmem_region *const *)b;

	return (ra->gpa > rb->gpa) - (ra->gpa < rb->gpa);
}

GMEM_EXPORT int gmem_map_new(gmem_map **out, gmem_region *const *regions,
			     size_t count, size_t max_regions)
{
	gmem_region **sorted = NULL;
	struct gmem_map *m;
	size_t i;
	int err;

	if (!out || (count && !regions) ||
	    max_regions > GMEM_MAP_LIMIT_MAX_REGIONS)
		return -EINVAL;
	for (i = 0; i < count; i++)
		if (!regions[i])
			return -EINVAL;
	if (max_regions == 0)
		max_regions = GMEM_MAP_DEFAULT_MAX_REGIONS;
	if (count > max_regions)
		return -E2BIG;
	if (count) {
		sorted = malloc(count * sizeof(*sorted));
		if (!sorted)
			return -ENOMEM;
		memcpy(sorted, regions, count * sizeof(*sorted));
		/* VMMs usually pass regions in order already. */
		for (i = 1; i < count && sorted[i - 1]->gpa < sorted[i]->gpa; i++)
			;
		if (i < count)
			qsort(sorted, count, sizeof(*sorted), cmp_region_start);
		/* Sorted by start: overlap can only be with the predecessor. */
		for (i = 1; i < count; i++) {
			if (sorted[i - 1]->last >= sorted[i]->gpa) {
				free(sorted);
				return -EEXIST;
			}
		}
	}
	m = map_alloc(count, max_regions,
		      count ? geometry(sorted[0]->gpa, sorted[count - 1]->gpa,
				       count)
			    : geometry(0, 0, 0),
		      GMEM__SMALL_MAP);
	if (!m) {
		free(sorted);
		return -ENOMEM;
	}
	for (i = 0; i < count; i++)
		slot_set(m, i, sorted[i]);
	free(sorted);
	err = map_finish(&m);
	if (err)
		return err;
	*out = m;
	return 0;
}

/* Number of regions whose start is below gpa (the insertion point). */
static size_t lower_bound(const struct gmem_map *m, uint64_t gpa)
{
	size_t lo = 0, hi = m->hot.count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->hot.starts[mid] < gpa)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Copy slots [from, to) of src into dst starting at index at, with refs. */
static void copy_slots(struct gmem_map *dst, size_t at,
		       const struct gmem_map *src, size_t from, size_t to)
{
	size_t n = to - from, i;

	memcpy(&slots_w(dst)[at], &src->hot.slots[from],
	       n * sizeof(struct gmem_slot));
	memcpy(&starts_w(dst)[at], &src->hot.starts[from], n * sizeof(uint64_t));
	memcpy(&dst->regions[at], &src->regions[from], n * sizeof(gmem_region *));
	for (i = at; i < at + n; i++)
		atomic_fetch_add_explicit(&dst->regions[i]->refs, 1,
					  memory_order_relaxed);
}

GMEM_EXPORT int gmem_map_insert(gmem_map **out, const gmem_map *map,
				gmem_region *region)
{
	const uint64_t *starts;
	struct gmem_map *m;
	size_t pos, n;
	int err;

	if (!out || !map || !region)
		return -EINVAL;
	n = map->hot.count;
	starts = map->hot.starts;
	if (n >= map->max_regions)
		return -E2BIG;
	pos = lower_bound(map, region->gpa);
	if (pos > 0 && map->hot.slots[pos - 1].last >= region->gpa)
		return -EEXIST;
	if (pos < n && region->last >= starts[pos])
		return -EEXIST;
	m = map_alloc(n + 1, map->max_regions,
		      geometry(pos == 0 ? region->gpa : starts[0],
			       pos == n ? region->gpa : starts[n - 1], n + 1),
		      pad_guess(map));
	if (!m)
		return -ENOMEM;
	copy_slots(m, 0, map, 0, pos);
	slot_set(m, pos, region);
	copy_slots(m, pos + 1, map, pos, n);
	err = map_finish(&m);
	if (err)
		return err;
	*out = m;
	return 0;
}

GMEM_EXPORT int gmem_map_remove(gmem_map **out, const gmem_map *map,
				uint64_t gpa, uint64_t len,
				gmem_region **removed)
{
	const uint64_t *starts;
	struct gmem_map *m;
	struct geo g;
	size_t pos, n;
	int err;

	if (!out || !map)
		return -EINVAL;
	n = map->hot.count;
	starts = map->hot.starts;
	pos = lower_bound(map, gpa);
	if (pos >= n || starts[pos] != gpa || map->regions[pos]->len != len)
		return -ENOENT;
	if (n == 1)
		g = geometry(0, 0, 0);
	else
		g = geometry(starts[pos == 0 ? 1 : 0],
			     starts[pos == n - 1 ? n - 2 : n - 1], n - 1);
	m = map_alloc(n - 1, map->max_regions, g, pad_guess(map));
	if (!m)
		return -ENOMEM;
	copy_slots(m, 0, map, 0, pos);
	copy_slots(m, pos, map, pos + 1, n);
	err = map_finish(&m);
	if (err)
		return err;
	if (removed)
		*removed = gmem_region_ref(map->regions[pos]);
	*out = m;
	return 0;
}

GMEM_EXPORT gmem_map *gmem_map_ref(gmem_map *map)
{
	if (map)
		atomic_fetch_add_explicit(&map->refs, 1, memory_order_relaxed);
	return map;
}

GMEM_EXPORT void gmem_map_free(gmem_map *map)
{
	size_t i;

	if (!map)
		return;
	if (atomic_fetch_sub_explicit(&map->refs, 1, memory_order_acq_rel) != 1)
		return;
	for (i = 0; i < map->hot.count; i++)
		gmem_region_free(map->regions[i]);
	free(map);
}

GMEM_EXPORT size_t gmem_map_count(const gmem_map *map)
{
	return map ? map->hot.count : 0;
}

GMEM_EXPORT size_t gmem_map_max_regions(const gmem_map *map)
{
	return map ? map->max_regions : 0;
}

GMEM_EXPORT int gmem_map_region(const gmem_map *map, size_t index,
				gmem_region **out)
{
	if (!map || !out)
		return -EINVAL;
	if (index >= map->hot.count)
		return -ENOENT;
	*out = map->regions[index];
	return 0;
}

GMEM_EXPORT int gmem_map_find(const gmem_map *map, uint64_t gpa,
			      gmem_region **out)
{
	size_t i;

	if (!map || !out)
		return -EINVAL;
	i = gmem__lookup(map, gpa);
	if (i == GMEM_NO_SLOT)
		return -EFAULT;
	*out = map->regions[i];
	return 0;
}

GMEM_EXPORT int gmem_map_last_addr(const gmem_map *map, uint64_t *out)
{
	if (!map || !out)
		return -EINVAL;
	if (map->hot.count == 0)
		return -ENOENT;
	*out = map->hot.slots[map->hot.count - 1].last;
	return 0;
}
