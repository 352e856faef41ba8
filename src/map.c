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

/* Bytes of a map of n regions with pad padding entries and nbuckets
 * buckets (also what a recycled map's memory holds at least). */
static size_t map_bytes(size_t n, size_t pad, size_t nbuckets)
{
	size_t bytes = GMEM__MAP_SLOTS +
		       (n + pad) * (sizeof(struct gmem_slot) + sizeof(uint64_t)) +
		       n * sizeof(gmem_region *) + nbuckets * sizeof(uint32_t);

	return (bytes + 63) & ~(size_t)63;
}

/*
 * Writes into a map under construction.  A map built in recycled memory
 * (*spare, see gmem__map_recycle()) holds an older map of the same space,
 * usually nearly the same one: only the words that differ are stored, so
 * every unchanged cache line stays valid in the readers' caches (and the
 * writer needs no ownership of it).  diff is false for fresh memory,
 * which must not be read.
 */
#define SET(diff, lv, v)                                \
	do {                                            \
		__typeof__(lv) set_v_ = (v);            \
		if (!(diff) || (lv) != set_v_)          \
			(lv) = set_v_;                  \
	} while (0)

/* How a map is being built. */
struct build {
	bool diff;  /* in recycled memory: store only what differs */
	bool moved; /* a key, the count or the geometry differs from the
		     * map that memory held (diff only) */
};

static bool same_bytes(const unsigned char *a, const unsigned char *b,
		       size_t n)
{
	uint64_t acc = 0, x, y;
	size_t i;

	if (n == 64) {
		/* A whole line: branch-free, vectorized. */
		for (i = 0; i < 64; i += 8) {
			memcpy(&x, a + i, 8);
			memcpy(&y, b + i, 8);
			acc |= x ^ y;
		}
		return acc == 0;
	}
	for (i = 0; i < n; i++)
		acc |= (uint64_t)(a[i] ^ b[i]);
	return acc == 0;
}

/* Returns whether anything was stored. */
static bool put(void *dst, const void *src, size_t bytes, bool diff)
{
	unsigned char *d = dst;
	const unsigned char *sp = src;
	bool stored = false;

	if (!diff) {
		memcpy(d, sp, bytes);
		return true;
	}
	/* Line by line of the destination: a line is written whole or not
	 * at all. */
	while (bytes) {
		size_t n = 64 - ((uintptr_t)d & 63);

		if (n > bytes)
			n = bytes;
		if (!same_bytes(d, sp, n)) {
			memcpy(d, sp, n);
			stored = true;
		}
		d += n;
		sp += n;
		bytes -= n;
	}
	return stored;
}

/*
 * Allocate a map for n regions with room for pad padding keys and slots
 * (struct gmem__map_hot), in *spare's memory if it is large enough (then
 * *spare becomes NULL and b->diff true).  n <= GMEM_MAP_LIMIT_MAX_REGIONS
 * (2^24), nbuckets <= 2n and pad <= 4n + 4, so no size below can
 * overflow.
 */
static struct gmem_map *map_alloc(size_t n, size_t max_regions,
				  struct geo g, size_t pad,
				  struct gmem_map **spare, struct build *b)
{
	size_t slots_b = (n + pad) * sizeof(struct gmem_slot);
	size_t starts_b = (n + pad) * sizeof(uint64_t);
	size_t regions_b = n * sizeof(gmem_region *);
	size_t bytes = map_bytes(n, pad, g.nbuckets);
	struct gmem_map *m = spare ? *spare : NULL;
	bool d = false;
	char *p;

	b->moved = false;
	if (m && map_bytes(m->hot.count, m->pad, m->hot.nbuckets) >= bytes) {
		*spare = NULL;
		d = true;
		b->moved = m->hot.count != n || m->pad != pad ||
			   m->hot.shift != g.shift ||
			   m->hot.nbuckets != g.nbuckets;
		/* gmem__map_recycle() left refs at 1. */
	} else {
		/* No zeroing: every field is written before the map is
		 * used. */
		m = aligned_alloc(64, bytes);
		if (!m)
			return NULL;
		atomic_init(&m->refs, 1);
	}
	b->diff = d;
	SET(d, m->max_regions, max_regions);
	SET(d, m->pad, pad);
	SET(d, m->hot.count, n);
	p = (char *)m + GMEM__MAP_SLOTS;
	SET(d, m->hot.slots, (const struct gmem_slot *)(void *)p);
	SET(d, m->hot.starts, (const uint64_t *)(void *)(p += slots_b));
	SET(d, m->regions, (gmem_region **)(void *)(p += starts_b));
	SET(d, m->hot.bucket, (const uint32_t *)(void *)(p + regions_b));
	SET(d, m->hot.shift, g.shift);
	SET(d, m->hot.nbuckets, g.nbuckets);
	/* step and base: set by map_finish() and index_build(). */
	SET(d, m->hot.reserved, 0);
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

/* Inline: called once per region of every gmem_map_new(). */
static inline __attribute__((always_inline)) void
slot_set(struct gmem_map *m, size_t i, gmem_region *r,
			    struct build *b)
{
	struct gmem_slot sl = {
		.start = r->gpa,
		.last = r->last,
		.host = r->host,
		.dirty_ro = r->dirty ? r->dirty->slot_bits : 0,
	};

	if (r->flags & GMEM_REGION_READONLY)
		sl.dirty_ro |= GMEM__SLOT_RO;
	if (!b->diff) {
		/* Field by field: copying sl whole makes the compiler load
		 * it with 16-byte moves that straddle its 8-byte stores, a
		 * store-forwarding stall per region. */
		struct gmem_slot *d = &slots_w(m)[i];

		starts_w(m)[i] = r->gpa;
		d->start = sl.start;
		d->last = sl.last;
		d->host = sl.host;
		d->dirty_ro = sl.dirty_ro;
		m->regions[i] = gmem_region_ref(r);
		return;
	}
	if (starts_w(m)[i] != r->gpa) {
		starts_w(m)[i] = r->gpa;
		b->moved = true;
	}
	put(&slots_w(m)[i], &sl, sizeof(sl), true);
	r = gmem_region_ref(r);
	if (m->regions[i] != r)
		m->regions[i] = r;
}

/*
 * Fill the bucket table from the keys: bucket[b] is the last key at or
 * below the bucket's first address.  Returns the window, the most keys a
 * lookup may have to step over.
 */
static uint32_t index_build(struct gmem_map *m, bool diff)
{
	uint32_t *bucket = (uint32_t *)(uintptr_t)m->hot.bucket;
	const uint64_t *k = m->hot.starts;
	size_t n = m->hot.count, j = 0, prev = 0, window = 0;
	/* In locals: the bucket stores (uint32_t) may alias the header's
	 * uint32_t fields, which would then be reloaded every iteration. */
	uint64_t b, nb = m->hot.nbuckets, sh = m->hot.shift;

	SET(diff, m->hot.base, n ? k[0] : 0);
	SET(diff, m->hot.key1, n >= 2 ? k[1] : UINT64_MAX);
	SET(diff, bucket[0], 0);
	if (n < 2)
		return 0;
	for (b = 0; b < nb; b++) {
		uint64_t addr = k[0] + (b << sh);

		while (j + 1 < n && k[j + 1] <= addr)
			j++;
		if (j - prev > window)
			window = j - prev;
		prev = j;
		SET(diff, bucket[b], (uint32_t)j);
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
static int map_finish(struct gmem_map **mp, struct build *b)
{
	static const struct gmem_slot none = { .start = 1, .last = 0 };
	struct gmem_map *m = *mp, *big;
	uint32_t window, step;
	size_t need, i, n = m->hot.count;
	bool diff = b->diff;

	/* Same keys, count and geometry as the finished map this memory
	 * held: its bucket table, step and padding are what we would
	 * compute. */
	if (diff && !b->moved)
		return 0;
	window = index_build(m, diff);
	step = window ? 1u << (31 - __builtin_clz(window)) : 0;
	need = step ? 2 * (size_t)step : 1;

	/* A search reaches up to 2 * step - 1 keys past its bucket's; a
	 * small map's lookup reads keys 1 to GMEM__SMALL_MAP - 1. */
	if (n < GMEM__SMALL_MAP && need < GMEM__SMALL_MAP - n)
		need = GMEM__SMALL_MAP - n;
	if (need > m->pad) {
		big = map_alloc(n, m->max_regions,
				(struct geo){ m->hot.shift, m->hot.nbuckets },
				need, NULL, b);
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
		big->hot.key1 = m->hot.key1;
		free(m); /* the region references moved to big */
		*mp = m = big;
		diff = false;
	}
	SET(diff, m->hot.step, step);
	for (i = n; i < n + m->pad; i++) {
		/* Keys no address is below (but UINT64_MAX itself: lookups
		 * that land here fall back to an exact search), and slots
		 * that contain no address. */
		SET(diff, starts_w(m)[i], UINT64_MAX);
		if (diff)
			put(&slots_w(m)[i], &none, sizeof(none), true);
		else
			slots_w(m)[i] = none;
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
	struct build b;
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
		      GMEM__SMALL_MAP, NULL, &b);
	if (!m) {
		free(sorted);
		return -ENOMEM;
	}
	for (i = 0; i < count; i++)
		slot_set(m, i, sorted[i], &b);
	free(sorted);
	err = map_finish(&m, &b);
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
		       const struct gmem_map *src, size_t from, size_t to,
		       struct build *b)
{
	size_t n = to - from, i;

	put(&slots_w(dst)[at], &src->hot.slots[from],
	    n * sizeof(struct gmem_slot), b->diff);
	if (put(&starts_w(dst)[at], &src->hot.starts[from],
		n * sizeof(uint64_t), b->diff))
		b->moved = true;
	put(&dst->regions[at], &src->regions[from], n * sizeof(gmem_region *),
	    b->diff);
	for (i = from; i < to; i++)
		atomic_fetch_add_explicit(&src->regions[i]->refs, 1,
					  memory_order_relaxed);
}

GMEM_INTERNAL int gmem__map_insert(gmem_map **out, const gmem_map *map,
				   gmem_region *region, gmem_map **spare)
{
	const uint64_t *starts;
	struct gmem_map *m;
	size_t pos, n;
	struct build b;
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
		      pad_guess(map), spare, &b);
	if (!m)
		return -ENOMEM;
	copy_slots(m, 0, map, 0, pos, &b);
	slot_set(m, pos, region, &b);
	copy_slots(m, pos + 1, map, pos, n, &b);
	err = map_finish(&m, &b);
	if (err)
		return err;
	*out = m;
	return 0;
}

GMEM_EXPORT int gmem_map_insert(gmem_map **out, const gmem_map *map,
				gmem_region *region)
{
	return gmem__map_insert(out, map, region, NULL);
}

GMEM_INTERNAL int gmem__map_remove(gmem_map **out, const gmem_map *map,
				   uint64_t gpa, uint64_t len,
				   gmem_region **removed, gmem_map **spare)
{
	const uint64_t *starts;
	struct gmem_map *m;
	struct geo g;
	size_t pos, n;
	struct build b;
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
	m = map_alloc(n - 1, map->max_regions, g, pad_guess(map), spare,
		      &b);
	if (!m)
		return -ENOMEM;
	copy_slots(m, 0, map, 0, pos, &b);
	copy_slots(m, pos, map, pos + 1, n, &b);
	err = map_finish(&m, &b);
	if (err)
		return err;
	if (removed)
		*removed = gmem_region_ref(map->regions[pos]);
	*out = m;
	return 0;
}

GMEM_EXPORT int gmem_map_remove(gmem_map **out, const gmem_map *map,
				uint64_t gpa, uint64_t len,
				gmem_region **removed)
{
	return gmem__map_remove(out, map, gpa, len, removed, NULL);
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

GMEM_INTERNAL gmem_map *gmem__map_recycle(gmem_map *map)
{
	size_t i;

	/* Only the caller's reference left: nobody else holds one or can
	 * take one (the caller makes sure no reader can reach the map).
	 * Acquire: other holders' accesses, released by their
	 * gmem_map_free(), come before our reuse.  refs stays 1 for the
	 * map that will be built in this memory. */
	if (atomic_load_explicit(&map->refs, memory_order_acquire) != 1) {
		gmem_map_free(map);
		return NULL;
	}
	for (i = 0; i < map->hot.count; i++)
		gmem_region_free(map->regions[i]);
	return map;
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
