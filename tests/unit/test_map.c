/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * test_map.c - building maps (any order, overlap, adjacency, caps), the
 * persistent insert/remove operations, reference counting, iteration, lookup
 * and the last address, at both ends of the 64-bit guest address space.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "gmem.h"
#include "tap.h"
#include "testutil.h"

#define TOP UINT64_MAX

static char sentinel_r, sentinel_m;
#define SENTINEL_REGION ((gmem_region *)(void *)&sentinel_r)
#define SENTINEL_MAP ((gmem_map *)(void *)&sentinel_m)
#define SENTINEL_U64 UINT64_C(0x5a5a5a5a5a5a5a5a)

/*
 * USER-backed regions are cheap and may sit anywhere in the guest address
 * space: their host memory comes from one arena, placed so that
 * host % 8 == gpa % 8.
 */
#define ARENA_SIZE (1u << 20)
static unsigned char *arena;
static size_t arena_used;

static gmem_region *mk(uint64_t gpa, uint64_t len)
{
	struct gmem_region_config c = GMEM_REGION_CONFIG_INIT;
	gmem_region *r = NULL;
	size_t at = (arena_used + 7) & ~(size_t)7;
	int rc;

	at += (size_t)(gpa & 7);
	if (len > ARENA_SIZE || at + len > ARENA_SIZE)
		tap_bail("test arena exhausted");
	arena_used = at + (size_t)len;
	c.backing = GMEM_BACKING_USER;
	c.gpa = gpa;
	c.len = len;
	c.host = arena + at;
	rc = gmem_region_new(&r, &c);
	if (rc != 0 || !r)
		tap_bail("USER region [%#" PRIx64 ", +%#" PRIx64 "): %s", gpa, len,
			 gmem_strerror(rc));
	return r;
}

static gmem_region *mk_anon(uint64_t gpa, uint64_t len)
{
	gmem_region *r = NULL;
	int rc = gmem_region_new_anon(&r, gpa, len, 0);

	if (rc != 0 || !r)
		tap_bail("ANON region: %s", gmem_strerror(rc));
	return r;
}

static void free_all(gmem_region **rs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		gmem_region_free(rs[i]);
}

/*
 * One test point: the map holds exactly @n regions whose starts, in
 * iteration order, are @starts; index @n gives -ENOENT.
 */
static int check_starts(const gmem_map *m, const uint64_t *starts, size_t n,
			const char *what)
{
	size_t i;
	gmem_region *r;
	int good = gmem_map_count(m) == n;

	if (!good)
		diag("%s: count %zu, expected %zu", what, gmem_map_count(m), n);
	for (i = 0; good && i < n; i++) {
		r = NULL;
		if (gmem_map_region(m, i, &r) != 0 || !r ||
		    gmem_region_start(r) != starts[i]) {
			diag("%s: index %zu: start %#" PRIx64 ", expected %#" PRIx64,
			     what, i, r ? gmem_region_start(r) : 0, starts[i]);
			good = 0;
		}
	}
	if (good && gmem_map_region(m, n, &r) != -ENOENT) {
		diag("%s: index %zu (past the end) is not -ENOENT", what, n);
		good = 0;
	}
	return ok(good, "%s", what);
}

/* One test point: gmem_map_find(@gpa) gives region @want (NULL: -EFAULT). */
static void check_find(const gmem_map *m, uint64_t gpa, const gmem_region *want,
		       const char *what)
{
	gmem_region *got = SENTINEL_REGION;
	int rc = gmem_map_find(m, gpa, &got);

	if (want) {
		if (!ok(rc == 0 && got == want, "find %#" PRIx64 " (%s): found",
			gpa, what))
			diag("  rc %d, region start %#" PRIx64, rc,
			     rc == 0 ? gmem_region_start(got) : 0);
	} else {
		if (!ok(rc == -EFAULT && got == SENTINEL_REGION,
			"find %#" PRIx64 " (%s): -EFAULT, out untouched", gpa,
			what))
			diag("  rc %d", rc);
	}
}

/* ------------------------------------------------------------------------ */

static void test_empty(void)
{
	gmem_map *m = SENTINEL_MAP;
	gmem_region *r = mk(0, 8), *out = SENTINEL_REGION;
	uint64_t last = SENTINEL_U64;

	if (!tu_is_int(gmem_map_new(&m, NULL, 0, 0), 0,
		       "empty: gmem_map_new(NULL, 0) succeeds"))
		return;
	ok(m != NULL && m != SENTINEL_MAP, "empty: out set");
	is_int(gmem_map_count(m), 0, "empty: count 0");
	is_int(gmem_map_max_regions(m), GMEM_MAP_DEFAULT_MAX_REGIONS,
	       "empty: max_regions 0 means GMEM_MAP_DEFAULT_MAX_REGIONS");
	is_int(gmem_map_last_addr(m, &last), -ENOENT, "empty: last_addr -> -ENOENT");
	is_u64(last, SENTINEL_U64, "empty: last_addr output untouched");
	check_find(m, 0, NULL, "empty map");
	check_find(m, TOP, NULL, "empty map");
	is_int(gmem_map_region(m, 0, &out), -ENOENT, "empty: region(0) -> -ENOENT");
	tu_is_ptr(out, SENTINEL_REGION, "empty: region output untouched");
	{
		gmem_map *m2 = SENTINEL_MAP;

		is_int(gmem_map_remove(&m2, m, 0, 8, NULL), -ENOENT,
		       "empty: remove -> -ENOENT");
		tu_is_ptr(m2, SENTINEL_MAP, "empty: remove output untouched");
		m2 = NULL;
		if (tu_is_int(gmem_map_insert(&m2, m, r), 0,
			      "empty: insert into the empty map succeeds")) {
			is_int(gmem_map_count(m2), 1, "empty+1: count 1");
			is_int(gmem_map_count(m), 0, "empty: original still empty");
			gmem_map_free(m2);
		}
	}
	gmem_map_free(m);

	m = NULL;
	is_int(gmem_map_new(&m, &r, 0, 0), 0,
	       "empty: non-NULL regions with count 0 succeeds");
	is_int(gmem_map_count(m), 0, "empty: count 0 (non-NULL regions)");
	gmem_map_free(m);

	m = NULL;
	is_int(gmem_map_new(&m, NULL, 0, 5), 0, "empty: max_regions 5 accepted");
	is_int(gmem_map_max_regions(m), 5, "empty: max_regions reported as 5");
	gmem_map_free(m);

	m = NULL;
	is_int(gmem_map_new(&m, NULL, 0, GMEM_MAP_LIMIT_MAX_REGIONS), 0,
	       "max_regions == GMEM_MAP_LIMIT_MAX_REGIONS accepted");
	is_int(gmem_map_max_regions(m), GMEM_MAP_LIMIT_MAX_REGIONS,
	       "max_regions GMEM_MAP_LIMIT_MAX_REGIONS reported");
	gmem_map_free(m);
	gmem_region_free(r);
}

static void test_null_args(void)
{
	gmem_region *r = mk(0x1000, 0x100), *r2 = mk(0x2000, 0x100);
	gmem_region *with_null[2] = { r, NULL }, *only_null[1] = { NULL };
	gmem_region *out = SENTINEL_REGION;
	gmem_map *m = SENTINEL_MAP, *good = NULL;
	uint64_t last = SENTINEL_U64;

	is_int(gmem_map_new(NULL, &r, 1, 0), -EINVAL, "new: NULL out -> -EINVAL");
	is_int(gmem_map_new(&m, NULL, 1, 0), -EINVAL,
	       "new: NULL regions with count 1 -> -EINVAL");
	is_int(gmem_map_new(&m, with_null, 2, 0), -EINVAL,
	       "new: a NULL entry -> -EINVAL");
	is_int(gmem_map_new(&m, only_null, 1, 0), -EINVAL,
	       "new: the only entry NULL -> -EINVAL");
	is_int(gmem_map_new(&m, &r, 1, (size_t)GMEM_MAP_LIMIT_MAX_REGIONS + 1),
	       -EINVAL, "new: max_regions LIMIT+1 -> -EINVAL");
	is_int(gmem_map_new(&m, NULL, 0, SIZE_MAX), -EINVAL,
	       "new: max_regions SIZE_MAX -> -EINVAL");
	tu_is_ptr(m, SENTINEL_MAP, "new: out untouched on -EINVAL");

	if (!tu_is_int(gmem_map_new(&good, &r, 1, 0), 0, "null-args: map built"))
		goto out;
	is_int(gmem_map_count(NULL), 0, "count(NULL) is 0");
	is_int(gmem_map_max_regions(NULL), 0, "max_regions(NULL) is 0");
	is_int(gmem_map_region(NULL, 0, &out), -EINVAL, "region: NULL map -> -EINVAL");
	is_int(gmem_map_region(good, 0, NULL), -EINVAL, "region: NULL out -> -EINVAL");
	is_int(gmem_map_find(NULL, 0x1000, &out), -EINVAL, "find: NULL map -> -EINVAL");
	is_int(gmem_map_find(good, 0x1000, NULL), -EINVAL, "find: NULL out -> -EINVAL");
	tu_is_ptr(out, SENTINEL_REGION, "region/find: out untouched on -EINVAL");
	is_int(gmem_map_last_addr(NULL, &last), -EINVAL,
	       "last_addr: NULL map -> -EINVAL");
	is_int(gmem_map_last_addr(good, NULL), -EINVAL,
	       "last_addr: NULL out -> -EINVAL");
	is_u64(last, SENTINEL_U64, "last_addr: out untouched on -EINVAL");
	is_int(gmem_map_insert(NULL, good, r2), -EINVAL, "insert: NULL out -> -EINVAL");
	is_int(gmem_map_insert(&m, NULL, r2), -EINVAL, "insert: NULL map -> -EINVAL");
	is_int(gmem_map_insert(&m, good, NULL), -EINVAL,
	       "insert: NULL region -> -EINVAL");
	is_int(gmem_map_remove(NULL, good, 0x1000, 0x100, &out), -EINVAL,
	       "remove: NULL out -> -EINVAL");
	is_int(gmem_map_remove(&m, NULL, 0x1000, 0x100, &out), -EINVAL,
	       "remove: NULL map -> -EINVAL");
	tu_is_ptr(m, SENTINEL_MAP, "insert/remove: out untouched on -EINVAL");
	tu_is_ptr(out, SENTINEL_REGION, "remove: removed untouched on -EINVAL");
	tu_is_ptr(gmem_map_ref(NULL), NULL, "gmem_map_ref(NULL) is NULL");
	gmem_map_free(NULL);
	ok(1, "gmem_map_free(NULL) is a no-op");
	is_int(gmem_map_count(good), 1, "null-args: map unchanged");
	gmem_map_free(good);
out:
	gmem_region_free(r);
	gmem_region_free(r2);
}

/* Regions at both ends of the address space, given in scrambled order. */
static void test_sorted_find(void)
{
	gmem_region *a = mk(0, 0x100), *b = mk(0x100, 0x100),
		    *c = mk(0x1000, 0x100), *d = mk(TOP - 7, 8);
	gmem_region *all[4] = { a, b, c, d };
	const uint64_t starts[4] = { 0, 0x100, 0x1000, TOP - 7 };
	gmem_region *in[4], *got;
	gmem_map *m = NULL;
	uint64_t last = 0;
	size_t perm[4], i, n_perm = 0, n_good = 0;

	/* Every permutation of the four regions builds the same sorted map. */
	for (perm[0] = 0; perm[0] < 4; perm[0]++)
		for (perm[1] = 0; perm[1] < 4; perm[1]++)
			for (perm[2] = 0; perm[2] < 4; perm[2]++)
				for (perm[3] = 0; perm[3] < 4; perm[3]++) {
					gmem_map *pm = NULL;
					int good = 1;

					if (perm[0] == perm[1] || perm[0] == perm[2] ||
					    perm[0] == perm[3] || perm[1] == perm[2] ||
					    perm[1] == perm[3] || perm[2] == perm[3])
						continue;
					n_perm++;
					for (i = 0; i < 4; i++)
						in[i] = all[perm[i]];
					if (gmem_map_new(&pm, in, 4, 0) != 0)
						continue;
					for (i = 0; i < 4; i++) {
						got = NULL;
						if (gmem_map_region(pm, i, &got) != 0 ||
						    got != all[i])
							good = 0;
					}
					n_good += (size_t)good;
					gmem_map_free(pm);
				}
	ok(n_perm == 24 && n_good == 24,
	   "sorted: all 24 input orders iterate in ascending address order");

	in[0] = d;
	in[1] = b;
	in[2] = c;
	in[3] = a;
	if (!tu_is_int(gmem_map_new(&m, in, 4, 0), 0, "sorted: map {d,b,c,a} built"))
		goto out;
	check_starts(m, starts, 4, "sorted: iteration gives 0, 0x100, 0x1000, 2^64-8");
	got = NULL;
	ok(gmem_map_region(m, 3, &got) == 0 && got == d,
	   "sorted: index 3 is the top region itself (borrowed pointer)");
	is_int(gmem_map_region(m, 4, &got), -ENOENT, "region: index 4 -> -ENOENT");
	is_int(gmem_map_region(m, SIZE_MAX, &got), -ENOENT,
	       "region: index SIZE_MAX -> -ENOENT");
	is_int(gmem_map_last_addr(m, &last), 0, "last_addr: succeeds");
	is_u64(last, TOP, "last_addr: UINT64_MAX with a region at the top");

	check_find(m, 0, a, "address 0, region at 0");
	check_find(m, 0xff, a, "last byte of first region");
	check_find(m, 0x100, b, "first byte of adjacent region");
	check_find(m, 0x1ff, b, "last byte before the hole");
	check_find(m, 0x200, NULL, "one after, first byte of a hole");
	check_find(m, 0xfff, NULL, "one before, last byte of a hole");
	check_find(m, 0x1000, c, "first byte after a hole");
	check_find(m, 0x10ff, c, "last byte of a region");
	check_find(m, 0x1100, NULL, "one past a region");
	check_find(m, UINT64_C(1) << 63, NULL, "middle of the big hole");
	check_find(m, TOP - 8, NULL, "one before the top region");
	check_find(m, TOP - 7, d, "first byte of the top region");
	check_find(m, TOP - 1, d, "inside the top region");
	check_find(m, TOP, d, "UINT64_MAX in a region ending at 2^64");
	gmem_map_free(m);
out:
	free_all(all, 4);
}

static void test_overlap_adjacent(void)
{
	gmem_region *a = mk(0, 100), *b = mk(99, 100), *c = mk(100, 100);
	gmem_region *same = mk(0, 50), *inner = mk(10, 10), *far = mk(1000, 10);
	gmem_region *top = mk(TOP - 7, 8), *topb = mk(TOP, 1);
	gmem_region *all[8] = { a, b, c, same, inner, far, top, topb };
	gmem_region *in[3], *got = NULL;
	gmem_map *m = SENTINEL_MAP;
	uint64_t last = 0;

	in[0] = a;
	in[1] = b;
	is_int(gmem_map_new(&m, in, 2, 0), -EEXIST,
	       "overlap: (0,100) and (99,100) -> -EEXIST");
	in[0] = b;
	in[1] = a;
	is_int(gmem_map_new(&m, in, 2, 0), -EEXIST,
	       "overlap: (99,100) and (0,100), reversed -> -EEXIST");
	in[0] = a;
	in[1] = a;
	is_int(gmem_map_new(&m, in, 2, 0), -EEXIST,
	       "overlap: the same region twice -> -EEXIST");
	in[0] = a;
	in[1] = same;
	is_int(gmem_map_new(&m, in, 2, 0), -EEXIST,
	       "overlap: two regions with the same start -> -EEXIST");
	in[0] = inner;
	in[1] = a;
	is_int(gmem_map_new(&m, in, 2, 0), -EEXIST,
	       "overlap: a region inside another -> -EEXIST");
	in[0] = a;
	in[1] = far;
	in[2] = inner;
	is_int(gmem_map_new(&m, in, 3, 0), -EEXIST,
	       "overlap: overlapping pair not neighbours in input -> -EEXIST");
	in[0] = topb;
	in[1] = top;
	is_int(gmem_map_new(&m, in, 2, 0), -EEXIST,
	       "overlap: at UINT64_MAX -> -EEXIST");
	tu_is_ptr(m, SENTINEL_MAP, "overlap: out untouched on -EEXIST");

	in[0] = c;
	in[1] = a;
	m = NULL;
	if (tu_is_int(gmem_map_new(&m, in, 2, 0), 0,
		      "adjacent: (0,100) and (100,100) accepted")) {
		is_int(gmem_map_count(m), 2, "adjacent: count 2");
		is_int(gmem_map_last_addr(m, &last), 0, "adjacent: last_addr succeeds");
		is_u64(last, 199, "adjacent: last_addr 199");
		check_find(m, 99, a, "adjacent boundary, last byte of lower");
		check_find(m, 100, c, "adjacent boundary, first byte of upper");
		check_find(m, 199, c, "adjacent, last byte");
		check_find(m, 200, NULL, "adjacent, one past the end");
		gmem_map_free(m);
	}

	/* Single byte regions: [0,1) alone; last_addr 0 is not "empty". */
	{
		gmem_region *one = mk(0, 1);

		m = NULL;
		if (tu_is_int(gmem_map_new(&m, &one, 1, 0), 0,
			      "single byte at 0: map built")) {
			last = SENTINEL_U64;
			is_int(gmem_map_last_addr(m, &last), 0,
			       "single byte at 0: last_addr succeeds");
			is_u64(last, 0, "single byte at 0: last_addr 0");
			check_find(m, 0, one, "single byte at 0");
			check_find(m, 1, NULL, "single byte at 0, one after");
			check_find(m, TOP, NULL, "single byte at 0, UINT64_MAX");
			gmem_map_free(m);
		}
		gmem_region_free(one);
	}
	(void)got;
	free_all(all, 8);
}

static void test_caps(void)
{
	gmem_region *rs[6], *extra;
	gmem_map *m = SENTINEL_MAP, *m2 = NULL, *m3 = SENTINEL_MAP;
	size_t i;

	for (i = 0; i < 6; i++)
		rs[i] = mk(0x1000 * i, 0x10);
	extra = mk(0x100000, 0x10);

	is_int(gmem_map_new(&m, rs, 5, 4), -E2BIG, "cap 4: 5 regions -> -E2BIG");
	is_int(gmem_map_new(&m, rs, 6, 4), -E2BIG, "cap 4: 6 regions -> -E2BIG");
	is_int(gmem_map_new(&m, rs, 2, 1), -E2BIG, "cap 1: 2 regions -> -E2BIG");
	tu_is_ptr(m, SENTINEL_MAP, "cap: out untouched on -E2BIG");
	m = NULL;
	if (tu_is_int(gmem_map_new(&m, rs, 4, 4), 0, "cap 4: 4 regions accepted")) {
		is_int(gmem_map_max_regions(m), 4, "cap 4: max_regions 4");
		is_int(gmem_map_insert(&m3, m, extra), -E2BIG,
		       "cap 4: inserting a 5th region -> -E2BIG");
		tu_is_ptr(m3, SENTINEL_MAP, "cap 4: insert output untouched");
		is_int(gmem_map_count(m), 4, "cap 4: original unchanged after -E2BIG");
		gmem_map_free(m);
	}
	m = NULL;
	if (tu_is_int(gmem_map_new(&m, rs, 3, 4), 0, "cap 4: 3 regions accepted")) {
		if (tu_is_int(gmem_map_insert(&m2, m, rs[3]), 0,
			      "cap 4: inserting a 4th region succeeds")) {
			is_int(gmem_map_max_regions(m2), 4,
			       "cap 4: derived map inherits the cap");
			m3 = SENTINEL_MAP;
			is_int(gmem_map_insert(&m3, m2, extra), -E2BIG,
			       "cap 4: derived map refuses a 5th region -> -E2BIG");
			gmem_map_free(m2);
		}
		gmem_map_free(m);
	}
	m = NULL;
	if (tu_is_int(gmem_map_new(&m, NULL, 0, 1), 0, "cap 1: empty map")) {
		m2 = NULL;
		if (tu_is_int(gmem_map_insert(&m2, m, rs[0]), 0,
			      "cap 1: first insert succeeds")) {
			m3 = SENTINEL_MAP;
			is_int(gmem_map_insert(&m3, m2, rs[1]), -E2BIG,
			       "cap 1: second insert -> -E2BIG");
			gmem_map_free(m2);
		}
		gmem_map_free(m);
	}
	free_all(rs, 6);
	gmem_region_free(extra);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * The default cap: GMEM_MAP_DEFAULT_MAX_REGIONS 8-byte USER regions, each
 * followed by an 8-byte hole, over one buffer, given in a scrambled order.
 */
static void test_default_cap(void)
{
	const size_t n = GMEM_MAP_DEFAULT_MAX_REGIONS;
	gmem_region **rs, **in, *got;
	unsigned char *buf;
	gmem_map *m = NULL, *m2 = SENTINEL_MAP;
	size_t i, bad;
	double t0 = now();

	buf = mmap(NULL, (n + 1) * 8, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	rs = calloc(n + 1, sizeof(*rs));
	in = calloc(n + 1, sizeof(*in));
	if (buf == MAP_FAILED || !rs || !in)
		tap_bail("default cap: out of memory");
	for (i = 0; i <= n; i++) {
		struct gmem_region_config c = GMEM_REGION_CONFIG_INIT;

		c.backing = GMEM_BACKING_USER;
		c.gpa = 16 * (uint64_t)i;
		c.len = 8;
		c.host = buf + 8 * i;
		if (gmem_region_new(&rs[i], &c) != 0)
			tap_bail("default cap: region %zu", i);
	}
	/* n is a power of two and 12345 is odd: i -> i*12345 mod n permutes. */
	for (i = 0; i < n; i++)
		in[i] = rs[(i * 12345) & (n - 1)];
	in[n] = rs[n];

	is_int(gmem_map_new(&m, in, n + 1, 0), -E2BIG,
	       "default cap: 32769 regions -> -E2BIG");
	m = NULL;
	if (tu_is_int(gmem_map_new(&m, in, n, 0), 0,
		      "default cap: 32768 regions accepted")) {
		is_int(gmem_map_count(m), n, "default cap: count 32768");
		is_int(gmem_map_max_regions(m), GMEM_MAP_DEFAULT_MAX_REGIONS,
		       "default cap: max_regions is the default");
		for (i = 0, bad = 0; i < n; i++) {
			got = NULL;
			if (gmem_map_region(m, i, &got) != 0 || got != rs[i])
				bad++;
		}
		is_int(bad, 0, "default cap: all 32768 regions iterate in order");
		for (i = 0, bad = 0; i < n; i++) {
			got = NULL;
			if (gmem_map_find(m, 16 * (uint64_t)i + (i & 7), &got) != 0 ||
			    got != rs[i])
				bad++;
			if (gmem_map_find(m, 16 * (uint64_t)i + 8 + (i & 7), &got) !=
			    -EFAULT)
				bad++;
		}
		is_int(bad, 0, "default cap: every region found, every hole -EFAULT");
		is_int(gmem_map_insert(&m2, m, rs[n]), -E2BIG,
		       "default cap: inserting into a full map -> -E2BIG");
		tu_is_ptr(m2, SENTINEL_MAP, "default cap: insert output untouched");
		m2 = NULL;
		if (tu_is_int(gmem_map_remove(&m2, m, 0, 8, NULL), 0,
			      "default cap: removing one region succeeds")) {
			gmem_map *m3 = NULL;

			is_int(gmem_map_count(m2), n - 1, "default cap: count 32767");
			if (tu_is_int(gmem_map_insert(&m3, m2, rs[n]), 0,
				      "default cap: inserting into 32767 succeeds")) {
				is_int(gmem_map_count(m3), n,
				       "default cap: count back to 32768");
				gmem_map_free(m3);
			}
			gmem_map_free(m2);
		}
		gmem_map_free(m);
	}
	free_all(rs, n + 1);
	free(rs);
	free(in);
	munmap(buf, (n + 1) * 8);
	diag("default cap tests took %.3f s", now() - t0);
}

static void test_insert(void)
{
	gmem_region *a = mk(0x1000, 0x100), *b = mk(0x3000, 0x100);
	gmem_region *front = mk(0, 0x100), *mid = mk(0x2000, 0x100),
		    *end = mk(0x5000, 0x100), *adj_hi = mk(0x1100, 0x100),
		    *adj_lo = mk(0xf00, 0x100), *ov_last = mk(0x10ff, 1),
		    *ov_first = mk(0xfff, 2), *ov_all = mk(0, 0x10000),
		    *ov_in = mk(0x1010, 0x10), *top = mk(TOP - 7, 8);
	gmem_region *all[12] = { a,	 b,	  front,   mid,
				 end,	 adj_hi,  adj_lo,  ov_last,
				 ov_first, ov_all, ov_in,  top };
	gmem_region *in[2] = { b, a };
	gmem_map *m = NULL, *n = NULL;
	const uint64_t s_orig[2] = { 0x1000, 0x3000 };
	const uint64_t s_front[3] = { 0, 0x1000, 0x3000 };
	const uint64_t s_mid[3] = { 0x1000, 0x2000, 0x3000 };
	const uint64_t s_end[3] = { 0x1000, 0x3000, 0x5000 };
	const uint64_t s_top[3] = { 0x1000, 0x3000, TOP - 7 };
	const uint64_t s_hi[3] = { 0x1000, 0x1100, 0x3000 };
	const uint64_t s_lo[3] = { 0xf00, 0x1000, 0x3000 };

	if (!tu_is_int(gmem_map_new(&m, in, 2, 0), 0, "insert: base map {a, b}"))
		goto out;

#define INSERT_OK(reg, starts, what)                                          \
	do {                                                                  \
		n = NULL;                                                     \
		if (tu_is_int(gmem_map_insert(&n, m, reg), 0,                 \
			      "insert %s: succeeds", what)) {                 \
			ok(n != m, "insert %s: returns a new map", what);     \
			check_starts(n, starts, 3,                            \
				     "insert " what ": order of the new map"); \
			gmem_map_free(n);                                     \
		}                                                             \
		check_starts(m, s_orig, 2,                                    \
			     "insert " what ": original map unchanged");      \
	} while (0)

	INSERT_OK(front, s_front, "at the front");
	INSERT_OK(mid, s_mid, "in the middle");
	INSERT_OK(end, s_end, "at the end");
	INSERT_OK(top, s_top, "at the top of the address space");
	INSERT_OK(adj_hi, s_hi, "adjacent above a");
	INSERT_OK(adj_lo, s_lo, "adjacent below a");
#undef INSERT_OK

#define INSERT_EEXIST(reg, what)                                              \
	do {                                                                  \
		n = SENTINEL_MAP;                                             \
		is_int(gmem_map_insert(&n, m, reg), -EEXIST,                  \
		       "insert %s -> -EEXIST", what);                         \
		tu_is_ptr(n, SENTINEL_MAP, "insert %s: output untouched",     \
			  what);                                              \
	} while (0)

	INSERT_EEXIST(ov_last, "overlapping a's last byte");
	INSERT_EEXIST(ov_first, "overlapping a's first byte");
	INSERT_EEXIST(ov_all, "covering a and b");
	INSERT_EEXIST(ov_in, "inside a");
	INSERT_EEXIST(a, "of a region already in the map");
#undef INSERT_EEXIST
	check_starts(m, s_orig, 2, "insert: original unchanged after failures");

	/* Chained inserts at both ends of the address space. */
	{
		gmem_map *n1 = NULL, *n2 = NULL;
		uint64_t last = 0;
		const uint64_t s4[4] = { 0, 0x1000, 0x3000, TOP - 7 };

		if (tu_is_int(gmem_map_insert(&n1, m, top), 0, "chain: insert top") &&
		    tu_is_int(gmem_map_insert(&n2, n1, front), 0,
			      "chain: insert at 0")) {
			check_starts(n2, s4, 4, "chain: order 0, 0x1000, 0x3000, 2^64-8");
			is_int(gmem_map_last_addr(n2, &last), 0, "chain: last_addr succeeds");
			is_u64(last, TOP, "chain: last_addr UINT64_MAX");
			check_find(n2, 0, front, "chain");
			check_find(n2, TOP, top, "chain");
			check_find(n2, 0x100, NULL, "chain, hole");
		}
		gmem_map_free(n1);
		gmem_map_free(n2);
	}
	gmem_map_free(m);
out:
	free_all(all, 12);
}

/* Regions are shared between maps by reference, never copied. */
static void test_sharing(void)
{
	gmem_region *a = mk_anon(0x10000, 0x2000), *b = mk_anon(0x20000, 0x1000);
	gmem_region *ra = NULL, *rb = NULL;
	gmem_map *m = NULL, *n = NULL;
	unsigned char *ha, *hb;

	if (!tu_is_int(gmem_map_new(&m, &a, 1, 0), 0, "sharing: map {a}"))
		goto out;
	if (!tu_is_int(gmem_map_insert(&n, m, b), 0, "sharing: insert b")) {
		gmem_map_free(m);
		goto out;
	}
	ok(gmem_map_find(m, 0x10000, &ra) == 0 && gmem_map_find(n, 0x10000, &rb) == 0,
	   "sharing: a found in both maps");
	tu_is_ptr(ra, rb, "sharing: both maps hold the same region object");
	ha = gmem_region_host(ra);
	hb = gmem_region_host(rb);
	tu_is_ptr(ha, hb, "sharing: same host pointer in both maps");
	if (ha && hb) {
		ha[0x1fff] = 0xab;
		is_int(hb[0x1fff], 0xab,
		       "sharing: a write via one map's host pointer is visible via the other");
	}
	/* Both maps and the creator hold references: drop in any order. */
	gmem_region_free(a);
	a = NULL;
	gmem_map_free(m);
	ha = NULL;
	ra = NULL;
	ok(gmem_map_find(n, 0x10000, &ra) == 0 && gmem_region_host(ra) == hb,
	   "sharing: region survives in the derived map after the original is freed");
	if (hb) {
		hb[0] = 0xcd;
		is_int(hb[0], 0xcd, "sharing: memory still usable through the derived map");
	}
	ok(tu_page_mapped(hb) == 1, "sharing: still mapped while the derived map lives");
	gmem_map_free(n);
	is_int(tu_page_mapped(hb), 0,
	       "sharing: unmapped once the last map holding it is freed");
out:
	gmem_region_free(a);
	gmem_region_free(b);
}

static void test_remove(void)
{
	gmem_region *a = mk(0x1000, 0x100), *b = mk(0x2000, 0x100),
		    *c = mk(0x3000, 0x100), *top = mk(TOP - 7, 8);
	gmem_region *in[4] = { c, top, a, b }, *removed;
	gmem_map *m = NULL, *n;
	const uint64_t s_all[4] = { 0x1000, 0x2000, 0x3000, TOP - 7 };
	const uint64_t s_no_b[3] = { 0x1000, 0x3000, TOP - 7 };
	const uint64_t s_no_top[3] = { 0x1000, 0x2000, 0x3000 };
	uint64_t last;

	if (!tu_is_int(gmem_map_new(&m, in, 4, 0), 0, "remove: map {a, b, c, top}"))
		goto out;

	n = NULL;
	removed = NULL;
	if (tu_is_int(gmem_map_remove(&n, m, 0x2000, 0x100, &removed), 0,
		      "remove: exact match of b succeeds")) {
		tu_is_ptr(removed, b, "remove: removed region is b");
		check_starts(n, s_no_b, 3, "remove b: new map order");
		check_find(n, 0x2000, NULL, "after removing b");
		check_starts(m, s_all, 4, "remove b: original unchanged");
		check_find(m, 0x2000, b, "original after removing b");
		gmem_map_free(n);
		/* The reference returned in removed is the caller's. */
		is_u64(gmem_region_start(removed), 0x2000,
		       "remove: removed reference usable after the new map is freed");
		gmem_region_free(removed);
	}
	n = NULL;
	if (tu_is_int(gmem_map_remove(&n, m, 0x2000, 0x100, NULL), 0,
		      "remove: with removed == NULL succeeds")) {
		is_int(gmem_map_count(n), 3, "remove (removed NULL): count 3");
		gmem_map_free(n);
	}
	n = NULL;
	removed = NULL;
	if (tu_is_int(gmem_map_remove(&n, m, TOP - 7, 8, &removed), 0,
		      "remove: the top region succeeds")) {
		tu_is_ptr(removed, top, "remove top: removed region is top");
		check_starts(n, s_no_top, 3, "remove top: new map order");
		last = 0;
		is_int(gmem_map_last_addr(n, &last), 0, "remove top: last_addr succeeds");
		is_u64(last, 0x30ff, "remove top: last_addr drops to 0x30ff");
		gmem_map_free(n);
		gmem_region_free(removed);
	}

#define REMOVE_ENOENT(gpa, len, what)                                         \
	do {                                                                  \
		n = SENTINEL_MAP;                                             \
		removed = SENTINEL_REGION;                                    \
		is_int(gmem_map_remove(&n, m, gpa, len, &removed), -ENOENT,   \
		       "remove %s -> -ENOENT", what);                         \
		ok(n == SENTINEL_MAP && removed == SENTINEL_REGION,           \
		   "remove %s: outputs untouched", what);                     \
	} while (0)

	REMOVE_ENOENT(0x2000, 0xff, "with a length one short");
	REMOVE_ENOENT(0x2000, 0x101, "with a length one long");
	REMOVE_ENOENT(0x2000, 0, "with length 0");
	REMOVE_ENOENT(0x2001, 0xff, "at a non-start address (same end)");
	REMOVE_ENOENT(0x1fff, 0x101, "starting one byte early");
	REMOVE_ENOENT(0x5000, 0x100, "in a hole");
	REMOVE_ENOENT(0, 0x1000, "below every region");
	REMOVE_ENOENT(TOP, 1, "the top byte only");
	REMOVE_ENOENT(0x1000, 0x200, "spanning a and the hole");
#undef REMOVE_ENOENT
	check_starts(m, s_all, 4, "remove: original unchanged after failures");

	/* Remove everything, one by one, down to the empty map. */
	{
		gmem_map *cur = gmem_map_ref(m), *next;
		size_t k;
		int good = 1;

		for (k = 0; k < 4; k++) {
			gmem_region *first = NULL;

			next = NULL;
			if (gmem_map_region(cur, 0, &first) != 0 ||
			    gmem_map_remove(&next, cur, gmem_region_start(first),
					    gmem_region_len(first), NULL) != 0) {
				good = 0;
				break;
			}
			gmem_map_free(cur);
			cur = next;
		}
		ok(good && gmem_map_count(cur) == 0,
		   "remove: removing every region gives the empty map");
		last = SENTINEL_U64;
		is_int(gmem_map_last_addr(cur, &last), -ENOENT,
		       "remove all: last_addr -> -ENOENT");
		check_find(cur, 0x1000, NULL, "after removing everything");
		gmem_map_free(cur);
	}
	is_int(gmem_map_count(m), 4, "remove: original still has 4 regions");
	gmem_map_free(m);
out:
	gmem_region_free(a);
	gmem_region_free(b);
	gmem_region_free(c);
	gmem_region_free(top);
}

/* The reference gmem_map_remove() hands back keeps the region alive alone. */
static void test_remove_ref(void)
{
	gmem_region *r = mk_anon(0x7000, 0x1000), *removed = NULL;
	gmem_map *m = NULL, *n = NULL;
	unsigned char *h = gmem_region_host(r);

	if (!tu_is_int(gmem_map_new(&m, &r, 1, 0), 0, "remove ref: map built")) {
		gmem_region_free(r);
		return;
	}
	gmem_region_free(r);
	if (tu_is_int(gmem_map_remove(&n, m, 0x7000, 0x1000, &removed), 0,
		      "remove ref: remove succeeds")) {
		tu_is_ptr(removed, r, "remove ref: removed is the region");
		is_int(gmem_map_count(n), 0, "remove ref: new map empty");
		gmem_map_free(n);
		gmem_map_free(m);
		m = NULL;
		ok(tu_page_mapped(h) == 1,
		   "remove ref: region alive on the removed reference alone");
		h[0] = 0x10;
		is_int(((unsigned char *)gmem_region_host(removed))[0], 0x10,
		       "remove ref: memory usable via the removed reference");
		gmem_region_free(removed);
		is_int(tu_page_mapped(h), 0,
		       "remove ref: unmapped once the removed reference is dropped");
	}
	gmem_map_free(m);
}

/* Re-basing: remove a region, wrap the same memory at a new gpa, insert. */
static void test_rebase(void)
{
	struct gmem_region_config cfg = GMEM_REGION_CONFIG_INIT;
	gmem_region *a = mk(0x1000, 0x100), *b = mk(0x2000, 0x100), *removed = NULL,
		    *moved = NULL, *got = NULL;
	gmem_region *in[2] = { a, b };
	gmem_map *m = NULL, *without = NULL, *with = NULL;
	unsigned char *h = gmem_region_host(b);

	if (!tu_is_int(gmem_map_new(&m, in, 2, 0), 0, "rebase: map {a, b}"))
		goto out;
	if (!tu_is_int(gmem_map_remove(&without, m, 0x2000, 0x100, &removed), 0,
		       "rebase: remove b"))
		goto out_m;
	cfg.backing = GMEM_BACKING_USER;
	cfg.gpa = 0x8000;
	cfg.len = gmem_region_len(removed);
	cfg.host = gmem_region_host(removed);
	if (!tu_is_int(gmem_region_new(&moved, &cfg), 0,
		       "rebase: same memory wrapped at 0x8000"))
		goto out_w;
	if (tu_is_int(gmem_map_insert(&with, without, moved), 0,
		      "rebase: insert at the new base")) {
		check_find(with, 0x2000, NULL, "rebase: old address");
		check_find(with, 0x8000, moved, "rebase: new address");
		h[5] = 0x42;
		ok(gmem_map_find(with, 0x8005, &got) == 0 &&
			   ((unsigned char *)gmem_region_host(got))[5] == 0x42,
		   "rebase: the new address reaches the same bytes");
		check_find(m, 0x2000, b, "rebase: the original map still has b");
		gmem_map_free(with);
	}
	gmem_region_free(moved);
out_w:
	gmem_map_free(without);
	gmem_region_free(removed);
out_m:
	gmem_map_free(m);
out:
	gmem_region_free(a);
	gmem_region_free(b);
}

static void test_refs(void)
{
	gmem_region *r = mk_anon(0x4000, 0x1000), *got = NULL;
	gmem_map *m = NULL, *m2;
	unsigned char *h = gmem_region_host(r);

	if (!tu_is_int(gmem_map_new(&m, &r, 1, 0), 0, "refs: map built")) {
		gmem_region_free(r);
		return;
	}
	m2 = gmem_map_ref(m);
	tu_is_ptr(m2, m, "gmem_map_ref returns its argument");
	gmem_map_free(m);
	is_int(gmem_map_count(m2), 1, "refs: map usable after dropping one of two references");
	check_find(m2, 0x4000, r, "refs: after one map free");

	/* The map outlives the creator's region reference. */
	gmem_region_free(r);
	ok(gmem_map_find(m2, 0x4fff, &got) == 0 && got == r,
	   "refs: region still in the map after the creator's free");
	if (h) {
		h[0xfff] = 0x99;
		is_int(((unsigned char *)gmem_region_host(got))[0xfff], 0x99,
		       "refs: region memory usable through the map");
	}
	is_u64(gmem_region_last(got), 0x4fff, "refs: region getters work via the map");
	gmem_map_free(m2);
	is_int(tu_page_mapped(h), 0, "refs: region unmapped with the last map reference");
}

int main(void)
{
	arena = mmap(NULL, ARENA_SIZE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (arena == MAP_FAILED)
		tap_bail("mmap arena: %s", strerror(errno));
	test_empty();
	test_null_args();
	test_sorted_find();
	test_overlap_adjacent();
	test_caps();
	test_default_cap();
	test_insert();
	test_sharing();
	test_remove();
	test_remove_ref();
	test_rebase();
	test_refs();
	munmap(arena, ARENA_SIZE);
	return tap_done();
}
