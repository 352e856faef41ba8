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

/*
 * The sorted region starts of a map being built, read before the map
 * exists: the bucket table's size depends on them.  Either the sorted
 * regions of gmem_map_new(), or an existing map's keys with one inserted
 * at or removed from pos.
 */
enum keys_op { KEYS_REGIONS, KEYS_INSERT, KEYS_REMOVE };

struct keys {
	enum keys_op op;
	size_t n; /* keys of the new map */
	gmem_region *const *regs;
	const uint64_t *old;
	size_t pos;
	uint64_t ins;
};

static uint64_t key_at(const struct keys *k, size_t i)
{
	switch (k->op) {
	case KEYS_REGIONS:
		return k->regs[i]->gpa;
	case KEYS_INSERT:
		return i < k->pos ? k->old[i] : i == k->pos ? k->ins : k->old[i - 1];
	default:
		return i < k->pos ? k->old[i] : k->old[i + 1];
	}
}

/* Bucket table and search window of a map (see struct gmem__map_hot). */
struct geo {
	uint32_t shift, nbuckets, step;
	size_t pad; /* padding keys and empty slots after the last region */
};

/*
 * Walk the buckets over the keys: bucket[b] is the last key at or below
 * the bucket's first address.  Writes the table when bucket is not NULL;
 * returns the window, the most regions a lookup may have to step over.
 */
static uint32_t bucket_walk(const struct keys *k, const struct geo *g,
			    uint32_t *bucket)
{
	uint64_t first = key_at(k, 0), b;
	size_t j = 0, prev = 0, window = 0;

	for (b = 0; b < g->nbuckets; b++) {
		uint64_t addr = first + (b << g->shift);

		while (j + 1 < k->n && key_at(k, j + 1) <= addr)
			j++;
		if (j - prev > window)
			window = j - prev;
		prev = j;
		if (bucket)
			bucket[b] = (uint32_t)j;
	}
	/* Addresses past the last bucket's start search up to the last key. */
	if (k->n - 1 - prev > window)
		window = k->n - 1 - prev;
	return (uint32_t)window;
}

/*
 * The narrowest power-of-two bucket width giving at most 2n buckets over
 * the keys' span: with regions spread evenly every bucket then holds at
 * most one start and a lookup takes one step.
 */
static void plan(const struct keys *k, struct geo *g)
{
	uint64_t span, want = 2 * (uint64_t)k->n;
	uint32_t window;

	g->shift = 63;
	g->nbuckets = 1;
	g->step = 0;
	g->pad = 1;
	if (k->n < 2)
		return;
	span = key_at(k, k->n - 1) - key_at(k, 0);
	g->shift = 0;
	while ((span >> g->shift) >= want)
		g->shift++;
	g->nbuckets = (uint32_t)((span >> g->shift) + 1);
	window = bucket_walk(k, g, NULL);
	if (window) {
		g->step = 1u << (31 - __builtin_clz(window));
		/* A search reaches up to 2 * step - 1 keys past its bucket's. */
		g->pad = 2 * (size_t)g->step;
	}
}

/*
 * Allocate a map for the keys' regions.  n <= GMEM_MAP_LIMIT_MAX_REGIONS
 * (2^24), nbuckets <= 2n and pad <= 2n, so no size below can overflow.
 */
static struct gmem_map *map_alloc(const struct keys *k, size_t max_regions,
				  struct geo *g)
{
	size_t n = k->n, slots_b, starts_b, regions_b, bytes;
	struct gmem_map *m;
	char *p;

	plan(k, g);
	slots_b = (n + g->pad) * sizeof(struct gmem_slot);
	starts_b = (n + g->pad) * sizeof(uint64_t);
	regions_b = n * sizeof(gmem_region *);
	bytes = sizeof(*m) + slots_b + starts_b + regions_b +
		(size_t)g->nbuckets * sizeof(uint32_t);
	bytes = (bytes + 63) & ~(size_t)63;
	/* No zeroing: every field is written before the map is used. */
	m = aligned_alloc(64, bytes);
	if (!m)
		return NULL;
	atomic_init(&m->refs, 1);
	m->max_regions = max_regions;
	m->hot.count = n;
	p = (char *)(m + 1);
	m->hot.slots = (struct gmem_slot *)(void *)p;
	m->hot.starts = (uint64_t *)(void *)(p += slots_b);
	m->regions = (gmem_region **)(void *)(p += starts_b);
	m->hot.bucket = (uint32_t *)(void *)(p + regions_b);
	m->hot.shift = g->shift;
	m->hot.nbuckets = g->nbuckets;
	m->hot.step = g->step;
	m->hot.reserved = 0;
	m->hot.base = n ? key_at(k, 0) : 0;
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
	s->dirty_ro = r->dirty ? (uintptr_t)&r->dirty->hot : 0;
	if (r->flags & GMEM_REGION_READONLY)
		s->dirty_ro |= GMEM__SLOT_RO;
	m->regions[i] = gmem_region_ref(r);
}

/* Bucket table and padding, once the regions' slots are in place. */
static void map_finish(struct gmem_map *m, const struct keys *k,
		       const struct geo *g)
{
	size_t i;

	for (i = k->n; i < k->n + g->pad; i++) {
		/* Keys no address is below (but UINT64_MAX itself: lookups
		 * that land here fall back to an exact search), and slots
		 * that contain no address. */
		starts_w(m)[i] = UINT64_MAX;
		slots_w(m)[i] = (struct gmem_slot){ .start = 1, .last = 0 };
	}
	if (k->n >= 2)
		bucket_walk(k, g, (uint32_t *)(uintptr_t)m->hot.bucket);
	else
		*(uint32_t *)(uintptr_t)m->hot.bucket = 0;
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
	struct keys k;
	struct geo g;
	size_t i;

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
	k = (struct keys){ .op = KEYS_REGIONS, .n = count, .regs = sorted };
	m = map_alloc(&k, max_regions, &g);
	if (!m) {
		free(sorted);
		return -ENOMEM;
	}
	for (i = 0; i < count; i++)
		slot_set(m, i, sorted[i]);
	map_finish(m, &k, &g);
	free(sorted);
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
		gmem_region_ref(dst->regions[i]);
}

GMEM_EXPORT int gmem_map_insert(gmem_map **out, const gmem_map *map,
				gmem_region *region)
{
	const uint64_t *starts;
	struct gmem_map *m;
	struct keys k;
	struct geo g;
	size_t pos, n;

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
	k = (struct keys){ .op = KEYS_INSERT, .n = n + 1, .old = starts,
			   .pos = pos, .ins = region->gpa };
	m = map_alloc(&k, map->max_regions, &g);
	if (!m)
		return -ENOMEM;
	copy_slots(m, 0, map, 0, pos);
	slot_set(m, pos, region);
	copy_slots(m, pos + 1, map, pos, n);
	map_finish(m, &k, &g);
	*out = m;
	return 0;
}

GMEM_EXPORT int gmem_map_remove(gmem_map **out, const gmem_map *map,
				uint64_t gpa, uint64_t len,
				gmem_region **removed)
{
	const uint64_t *starts;
	struct gmem_map *m;
	struct keys k;
	struct geo g;
	size_t pos, n;

	if (!out || !map)
		return -EINVAL;
	n = map->hot.count;
	starts = map->hot.starts;
	pos = lower_bound(map, gpa);
	if (pos >= n || starts[pos] != gpa || map->regions[pos]->len != len)
		return -ENOENT;
	k = (struct keys){ .op = KEYS_REMOVE, .n = n - 1, .old = starts,
			   .pos = pos };
	m = map_alloc(&k, map->max_regions, &g);
	if (!m)
		return -ENOMEM;
	copy_slots(m, 0, map, 0, pos);
	copy_slots(m, pos, map, pos + 1, n);
	map_finish(m, &k, &g);
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
