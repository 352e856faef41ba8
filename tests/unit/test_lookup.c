/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * test_lookup.c - the map's bucket index against a linear scan, and
 * gmem.h's inline fast paths against the library's exported functions.
 *
 * Layouts: evenly spaced (one start per bucket), clustered (hundreds of
 * starts in one bucket), random gaps and sizes, adjacent runs, regions at
 * address 0 and ending at UINT64_MAX, built at once and by insert/remove
 * (which recompute the index from the derived key range).  Probes: both
 * ends of every region and their neighbours, 0, UINT64_MAX and random
 * addresses.  Each check is one test point that counts mismatches.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gmem.h"
#include "tap.h"
#include "testutil.h"

#define MAXR 1100
#define ARENA_SIZE (8u << 20)

static unsigned char *arena;
static size_t arena_used;

struct lay {
	size_t n;
	uint64_t gpa[MAXR], len[MAXR];
	int ro[MAXR];
	gmem_region *r[MAXR];
};

static void add(struct lay *l, uint64_t gpa, uint64_t len)
{
	if (l->n >= MAXR)
		tap_bail("layout too large");
	l->gpa[l->n] = gpa;
	l->len[l->n] = len;
	l->ro[l->n] = (tu_rnd() % 5) == 0;
	l->n++;
}

static void make_regions(struct lay *l)
{
	size_t i;

	arena_used = 0;
	for (i = 0; i < l->n; i++) {
		struct gmem_region_config c = GMEM_REGION_CONFIG_INIT;
		size_t at = ((arena_used + 7) & ~(size_t)7) + (size_t)(l->gpa[i] & 7);
		int rc;

		if (at + l->len[i] > ARENA_SIZE)
			tap_bail("test arena exhausted");
		arena_used = at + (size_t)l->len[i];
		c.backing = GMEM_BACKING_USER;
		c.gpa = l->gpa[i];
		c.len = l->len[i];
		c.host = arena + at;
		c.flags = l->ro[i] ? GMEM_REGION_READONLY : 0;
		rc = gmem_region_new(&l->r[i], &c);
		if (rc)
			tap_bail("region %#llx+%#llx: %s",
				 (unsigned long long)c.gpa,
				 (unsigned long long)c.len, gmem_strerror(rc));
	}
}

static void free_regions(struct lay *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		gmem_region_free(l->r[i]);
}

/* Index of the region containing a, or -1: the oracle. */
static long oracle(const struct lay *l, uint64_t a)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (a >= l->gpa[i] && a - l->gpa[i] <= l->len[i] - 1)
			return (long)i;
	return -1;
}

struct tally {
	unsigned find, inl, typed, write;
	unsigned probes;
};

static void probe(const struct lay *l, gmem_map *m, uint64_t a,
		  struct tally *t, const char *name)
{
	long want = oracle(l, a);
	gmem_region *got = NULL;
	void *p1 = NULL, *p2 = NULL;
	uint64_t v1 = 0, v2 = 0;
	int rc, rc1, rc2;

	t->probes++;
	rc = gmem_map_find(m, a, &got);
	if (want < 0 ? rc != -EFAULT : (rc != 0 || got != l->r[want])) {
		if (!t->find++)
			diag("%s: find(%#llx) = %d, want region %ld", name,
			     (unsigned long long)a, rc, want);
	}
	/* Inline (macro) against out-of-line (parenthesised name). */
	for (uint64_t len = 1; len <= 16; len *= 2) {
		unsigned acc = (len == 4) ? GMEM_ACCESS_WRITE : GMEM_ACCESS_READ;

		p1 = p2 = NULL;
		rc1 = gmem_translate_exact(m, a, len, acc, &p1);
		rc2 = (gmem_translate_exact)(m, a, len, acc, &p2);
		if (rc1 != rc2 || p1 != p2) {
			if (!t->inl++)
				diag("%s: translate_exact(%#llx, %llu) inline %d/%p, "
				     "library %d/%p",
				     name, (unsigned long long)a,
				     (unsigned long long)len, rc1, p1, rc2, p2);
		}
	}
	rc1 = gmem_read_u64(m, a, &v1);
	rc2 = (gmem_read_u64)(m, a, &v2);
	if (rc1 != rc2 || v1 != v2) {
		if (!t->typed++)
			diag("%s: read_u64(%#llx) inline %d/%llx, library %d/%llx",
			     name, (unsigned long long)a, rc1,
			     (unsigned long long)v1, rc2, (unsigned long long)v2);
	}
	rc1 = gmem_read_be32(m, a, (uint32_t *)(void *)&v1);
	rc2 = (gmem_read_be32)(m, a, (uint32_t *)(void *)&v2);
	if (rc1 != rc2 || v1 != v2) {
		if (!t->typed++)
			diag("%s: read_be32(%#llx) inline %d, library %d", name,
			     (unsigned long long)a, rc1, rc2);
	}
	/* Writes: the same value twice, so the order of the two calls
	 * cannot matter; only the return codes are compared. */
	if (gmem_read_u16(m, a, (uint16_t *)(void *)&v1) == 0) {
		uint16_t w = (uint16_t)v1;

		rc1 = gmem_write_u16(m, a, w);
		rc2 = (gmem_write_u16)(m, a, w);
	} else {
		rc1 = gmem_write_u16(m, a, 0);
		rc2 = (gmem_write_u16)(m, a, 0);
	}
	if (rc1 != rc2) {
		if (!t->write++)
			diag("%s: write_u16(%#llx) inline %d, library %d", name,
			     (unsigned long long)a, rc1, rc2);
	}
}

static void probe_all(const struct lay *l, gmem_map *m, const char *name)
{
	struct tally t = { 0 };
	size_t i;
	int k;

	probe(l, m, 0, &t, name);
	probe(l, m, 1, &t, name);
	probe(l, m, UINT64_MAX, &t, name);
	probe(l, m, UINT64_MAX - 7, &t, name);
	for (i = 0; i < l->n; i++) {
		uint64_t s = l->gpa[i], e = s + (l->len[i] - 1);

		probe(l, m, s - 1, &t, name);
		probe(l, m, s, &t, name);
		probe(l, m, s + 1, &t, name);
		probe(l, m, e - 1, &t, name);
		probe(l, m, e, &t, name);
		probe(l, m, e + 1, &t, name);
		probe(l, m, s + (tu_rnd() % l->len[i]), &t, name);
	}
	for (k = 0; k < 2000; k++)
		probe(l, m, tu_rnd(), &t, name);
	/* Random addresses near the regions: inside the index's range. */
	for (k = 0; l->n && k < 2000; k++) {
		size_t j = (size_t)(tu_rnd() % l->n);

		probe(l, m, l->gpa[j] + (tu_rnd() % (2 * l->len[j] + 64)) - 32,
		      &t, name);
	}
	is_int(t.find, 0, "%s: gmem_map_find agrees with a linear scan (%u probes)",
	       name, t.probes);
	is_int(t.inl, 0, "%s: inline gmem_translate_exact == library", name);
	is_int(t.typed, 0, "%s: inline typed reads == library", name);
	is_int(t.write, 0, "%s: inline typed writes == library", name);
}

/* Build the map at once, probe; then rebuild by inserts, probe; remove. */
static void run(struct lay *l, const char *name)
{
	gmem_map *m = NULL, *n = NULL;
	size_t order[MAXR], i;
	char buf[128];
	int rc, bad = 0;

	make_regions(l);
	rc = gmem_map_new(&m, l->r, l->n, 0);
	is_int(rc, 0, "%s: gmem_map_new with %zu regions", name, l->n);
	if (rc) {
		free_regions(l);
		return;
	}
	probe_all(l, m, name);
	gmem_map_free(m);

	/* Insert in random order: the first, last and middle positions all
	 * change the key range the index is built for. */
	for (i = 0; i < l->n; i++)
		order[i] = i;
	for (i = l->n; i > 1; i--) {
		size_t j = (size_t)(tu_rnd() % i), t = order[i - 1];

		order[i - 1] = order[j];
		order[j] = t;
	}
	if (gmem_map_new(&m, NULL, 0, 0))
		tap_bail("empty map");
	for (i = 0; i < l->n; i++) {
		rc = gmem_map_insert(&n, m, l->r[order[i]]);
		bad += rc != 0;
		if (rc == 0) {
			gmem_map_free(m);
			m = n;
		}
	}
	is_int(bad, 0, "%s: built again by %zu inserts in random order", name,
	       l->n);
	snprintf(buf, sizeof(buf), "%s (inserted)", name);
	probe_all(l, m, buf);

	/* Remove every other region (odd positions), then probe what is left. */
	bad = 0;
	{
		struct lay rest = { 0 };

		for (i = 0; i < l->n; i++) {
			if (i % 2) {
				rc = gmem_map_remove(&n, m, l->gpa[i], l->len[i],
						     NULL);
				bad += rc != 0;
				if (rc == 0) {
					gmem_map_free(m);
					m = n;
				}
			} else {
				rest.gpa[rest.n] = l->gpa[i];
				rest.len[rest.n] = l->len[i];
				rest.ro[rest.n] = l->ro[i];
				rest.r[rest.n] = l->r[i];
				rest.n++;
			}
		}
		is_int(bad, 0, "%s: removed every other region", name);
		snprintf(buf, sizeof(buf), "%s (half removed)", name);
		probe_all(&rest, m, buf);
	}
	gmem_map_free(m);
	free_regions(l);
}

static struct lay L;

static void reset(void)
{
	memset(&L, 0, sizeof(L));
}

int main(void)
{
	static const size_t even[] = { 1, 2, 3, 4, 5, 8, 64, 1024 };
	size_t i, k;

	arena = malloc(ARENA_SIZE);
	if (!arena)
		tap_bail("no memory");
	memset(arena, 0xa5, ARENA_SIZE);

	/* The benchmark's layout: 1 MiB regions 1 MiB + 64 KiB apart (here
	 * shortened to 4 KiB so the arena holds them; spacing kept). */
	for (k = 0; k < sizeof(even) / sizeof(even[0]); k++) {
		char name[64];

		reset();
		for (i = 0; i < even[k]; i++)
			add(&L, 0x100000 + i * 0x110000, 4096);
		snprintf(name, sizeof(name), "even R=%zu", even[k]);
		run(&L, name);
	}

	reset(); /* empty map */
	run(&L, "empty");

	/* A cluster of 300 tiny regions in one bucket, then sparse ones up to
	 * the top of the address space. */
	reset();
	for (i = 0; i < 300; i++)
		add(&L, 0x1000 + i * 32, 16);
	add(&L, 1ULL << 40, 4096);
	add(&L, 1ULL << 52, 4096);
	add(&L, UINT64_MAX - 4095, 4096);
	run(&L, "clustered");

	/* Region at 0 and region ending at UINT64_MAX only. */
	reset();
	add(&L, 0, 64);
	add(&L, UINT64_MAX - 63, 64);
	run(&L, "both ends");

	/* Small maps (GMEM__SMALL_MAP: every key compared) reaching the top
	 * of the address space, where UINT64_MAX is also a padding key. */
	for (k = 2; k <= 4; k++) {
		char name[64];

		reset();
		for (i = 0; i + 1 < k; i++)
			add(&L, i * 0x1000, 0x800);
		add(&L, UINT64_MAX - 0x7ff, 0x800);
		snprintf(name, sizeof(name), "small R=%zu to the top", k);
		run(&L, name);
	}

	/* Adjacent runs (no holes) of odd sizes: straddling accesses go to
	 * the library, which must agree with the inline path's refusal. */
	reset();
	{
		uint64_t a = 0x7fff;

		for (i = 0; i < 200; i++) {
			uint64_t len = 1 + tu_rnd() % 300;

			add(&L, a, len);
			a += len + ((i % 17) == 16 ? 1 + tu_rnd() % 5000 : 0);
		}
	}
	run(&L, "adjacent runs");

	/* Random gaps spanning many orders of magnitude. */
	for (k = 0; k < 4; k++) {
		uint64_t a = tu_rnd() % 100000;
		char name[64];

		reset();
		for (i = 0; i < 500; i++) {
			uint64_t len = 1 + tu_rnd() % 2000;
			uint64_t gap = tu_rnd() >> (tu_rnd() % 64);

			if (gap > (UINT64_MAX - a) / 4)
				gap = tu_rnd() % 100000;
			add(&L, a, len);
			if (UINT64_MAX - a < len + gap + 4096)
				break;
			a += len + gap;
		}
		snprintf(name, sizeof(name), "random gaps #%zu", k);
		run(&L, name);
	}

	free(arena);
	return tap_done();
}
