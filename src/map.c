/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * map.c - immutable, sorted, overlap-free sets of regions.
 *
 * A map is one allocation: the header, the sorted key array (region starts)
 * and the slot array.  Every "change" builds a new map that takes its own
 * references to the regions it shares with the old one.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static struct gmem_map *map_alloc(size_t count, size_t max_regions)
{
	struct gmem_map *m;
	size_t bytes = sizeof(*m) + count * (sizeof(uint64_t) +
					     sizeof(struct gmem_slot));

	/* count <= GMEM_MAP_LIMIT_MAX_REGIONS, so bytes cannot overflow.  No
	 * zeroing: every key and slot is written before the map is used. */
	m = malloc(bytes);
	if (!m)
		return NULL;
	atomic_init(&m->refs, 1);
	m->count = count;
	m->max_regions = max_regions;
	/* The slots (8-aligned members) follow the keys (8-byte aligned). */
	m->starts = (uint64_t *)(m + 1);
	m->slots = (struct gmem_slot *)(m->starts + count);
	return m;
}

static void slot_set(struct gmem_map *m, size_t i, gmem_region *r)
{
	struct gmem_slot *s = &m->slots[i];

	m->starts[i] = r->gpa;
	s->start = r->gpa;
	s->last = r->last;
	s->host = r->host;
	s->dirty = r->dirty;
	s->writable = !(r->flags & GMEM_REGION_READONLY);
	s->region = gmem_region_ref(r);
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
	m = map_alloc(count, max_regions);
	if (!m) {
		free(sorted);
		return -ENOMEM;
	}
	for (i = 0; i < count; i++)
		slot_set(m, i, sorted[i]);
	free(sorted);
	*out = m;
	return 0;
}

/* Number of regions whose start is below gpa (the insertion point). */
static size_t lower_bound(const struct gmem_map *m, uint64_t gpa)
{
	size_t lo = 0, hi = m->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->starts[mid] < gpa)
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
	size_t i;

	for (i = from; i < to; i++)
		slot_set(dst, at + (i - from), src->slots[i].region);
}

GMEM_EXPORT int gmem_map_insert(gmem_map **out, const gmem_map *map,
				gmem_region *region)
{
	struct gmem_map *m;
	size_t pos;

	if (!out || !map || !region)
		return -EINVAL;
	if (map->count >= map->max_regions)
		return -E2BIG;
	pos = lower_bound(map, region->gpa);
	if (pos > 0 && map->slots[pos - 1].last >= region->gpa)
		return -EEXIST;
	if (pos < map->count && region->last >= map->starts[pos])
		return -EEXIST;
	m = map_alloc(map->count + 1, map->max_regions);
	if (!m)
		return -ENOMEM;
	copy_slots(m, 0, map, 0, pos);
	slot_set(m, pos, region);
	copy_slots(m, pos + 1, map, pos, map->count);
	*out = m;
	return 0;
}

GMEM_EXPORT int gmem_map_remove(gmem_map **out, const gmem_map *map,
				uint64_t gpa, uint64_t len,
				gmem_region **removed)
{
	struct gmem_map *m;
	size_t pos;

	if (!out || !map)
		return -EINVAL;
	pos = lower_bound(map, gpa);
	if (pos >= map->count || map->starts[pos] != gpa ||
	    map->slots[pos].region->len != len)
		return -ENOENT;
	m = map_alloc(map->count - 1, map->max_regions);
	if (!m)
		return -ENOMEM;
	copy_slots(m, 0, map, 0, pos);
	copy_slots(m, pos, map, pos + 1, map->count);
	if (removed)
		*removed = gmem_region_ref(map->slots[pos].region);
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
	for (i = 0; i < map->count; i++)
		gmem_region_free(map->slots[i].region);
	free(map);
}

GMEM_EXPORT size_t gmem_map_count(const gmem_map *map)
{
	return map ? map->count : 0;
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
	if (index >= map->count)
		return -ENOENT;
	*out = map->slots[index].region;
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
	*out = map->slots[i].region;
	return 0;
}

GMEM_EXPORT int gmem_map_last_addr(const gmem_map *map, uint64_t *out)
{
	if (!map || !out)
		return -EINVAL;
	if (map->count == 0)
		return -ENOENT;
	*out = map->slots[map->count - 1].last;
	return 0;
}
