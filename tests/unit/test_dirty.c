/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * test_dirty.c - dirty-page tracking: GMEM_REGION_DIRTY_LOG and
 * dirty_page_size at region creation, gmem_region_dirty_page_size(),
 * gmem_region_dirty_harvest(), gmem_map_dirty_harvest()/_query()/_reset()
 * and gmem_map_mark_dirty(), plus the marks made by every write path.
 *
 * The rule under test (gmem.h, "Dirty-page tracking"): every library write
 * path marks exactly the pages it wrote, reads never mark, failed writes
 * mark nothing, raw host pointers are not tracked until
 * gmem_map_mark_dirty().  Each write-path check harvests the whole window
 * AND the other tracked regions of the map (E, T), so a stray mark anywhere
 * fails the check (see dirty_all()).
 *
 * Main map M (all USER regions over malloc'd blocks of exactly their size,
 * dirty page 4096 unless noted); the window WIN = [0x10000, 0x20000) is 16
 * dirty pages, bit j = frame 0x10 + j:
 *   A [0x10000,0x14000) tracked    bits 0-3
 *   B [0x14000,0x18000) tracked    bits 4-7   (adjacent to A)
 *   H [0x18000,0x19000) hole       bit 8
 *   D [0x19000,0x1a000) tracked    bit 9
 *   C [0x1a000,0x1b000) tracked, READONLY  bit 10  (adjacent to D)
 *   U [0x1b000,0x1c000) NOT tracked        bit 11  (adjacent to C)
 *   W [0x1c000,0x1d000) tracked    bit 12     (adjacent to U)
 *   H [0x1d000,0x20000) hole       bits 13-15
 *   E [0x100000,0x110000) tracked with 512-byte dirty pages (128 bits)
 *   T [2^64 - 0x2000, 2^64) tracked, ends at the top of the address space
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "gmem.h"
#include "dirty.h"
#include "tap.h"
#include "unit/testutil.h"

/*
 * The byte-granular whole-space checks make the library ask malloc for
 * 2^61 bytes, which it must survive (-ENOMEM).  ASan aborts on such a
 * request by default instead of returning NULL like the real malloc does.
 */
#define BIT(n) (1ULL << (n))
/* Bits a..b inclusive (b < 64). */
#define BITS(a, b) ((((b) == 63 ? ~0ULL : (BIT((b) + 1) - 1))) & ~(BIT(a) - 1))

#define DL GMEM_REGION_DIRTY_LOG
#define RO GMEM_REGION_READONLY
#define PS 4096u
#define WIN 0x10000u
#define WIN_LEN 0x10000u
#define TOP2 (UINT64_MAX - 0x1fffu) /* 2^64 - 0x2000 */

/* Markers dirty_all() sets for stray bits outside the window. */
#define STRAY_E BIT(62)
#define STRAY_T BIT(63)

struct reg {
	const char *name;
	uint64_t gpa;
	uint64_t len;
	uint32_t flags;
	uint64_t dps;
	uint8_t *host;
	gmem_region *r;
};

static struct reg regs[] = {
	{ "A", 0x10000, 0x4000, DL, PS, NULL, NULL },
	{ "B", 0x14000, 0x4000, DL, PS, NULL, NULL },
	{ "D", 0x19000, 0x1000, DL, PS, NULL, NULL },
	{ "C", 0x1a000, 0x1000, DL | RO, PS, NULL, NULL },
	{ "U", 0x1b000, 0x1000, 0, 0, NULL, NULL },
	{ "W", 0x1c000, 0x1000, DL, PS, NULL, NULL },
	{ "E", 0x100000, 0x10000, DL, 512, NULL, NULL },
	{ "T", TOP2, 0x2000, DL, PS, NULL, NULL },
};
#define NREGS (sizeof(regs) / sizeof(regs[0]))
enum { RA, RB, RD, RC, RU, RW, RE, RT };

static gmem_map *M;

/* ------------------------------------------------------------------------ */
/* Fixture helpers                                                           */
/* ------------------------------------------------------------------------ */

/* A USER region over a malloc'd block of exactly len bytes (gpa % 8 == 0
 * or handled by the lead). */
static int user_region(gmem_region **out, uint64_t gpa, uint64_t len,
		       uint32_t flags, uint64_t dps, uint8_t **alloc)
{
	struct gmem_region_config cfg = GMEM_REGION_CONFIG_INIT;
	size_t lead = (size_t)(gpa % 8);
	int rc;

	*alloc = calloc(1, lead + (size_t)len);
	if (!*alloc)
		tap_bail("calloc");
	cfg.backing = GMEM_BACKING_USER;
	cfg.flags = flags;
	cfg.gpa = gpa;
	cfg.len = len;
	cfg.host = *alloc + lead;
	cfg.dirty_page_size = dps;
	rc = gmem_region_new(out, &cfg);
	if (rc != 0) {
		free(*alloc);
		*alloc = NULL;
	}
	return rc;
}

static void setup(void)
{
	gmem_region *rs[NREGS];

	for (size_t i = 0; i < NREGS; i++) {
		int rc = user_region(&regs[i].r, regs[i].gpa, regs[i].len,
				     regs[i].flags, regs[i].dps, &regs[i].host);

		if (rc != 0)
			tap_bail("region %s: %d", regs[i].name, rc);
		rs[i] = regs[i].r;
	}
	if (gmem_map_new(&M, rs, NREGS, 0) != 0)
		tap_bail("gmem_map_new");
}

static void teardown(void)
{
	gmem_map_free(M);
	for (size_t i = 0; i < NREGS; i++) {
		gmem_region_free(regs[i].r);
		free(regs[i].host);
	}
}

/* Whether any bit of the region's bitmap is set (harvests it). */
static int region_any(gmem_region *r)
{
	uint64_t bm[4];
	size_t nbits = 0;
	int any = 0;

	if (gmem_region_dirty_harvest(r, bm, 4, &nbits) != 0)
		tap_bail("region harvest");
	for (size_t i = 0; i < (nbits + 63) / 64; i++)
		any |= bm[i] != 0;
	return any;
}

/*
 * Harvest everything: the 16 window bits, plus STRAY_E / STRAY_T when E or
 * T had any bit set.  Returns ~0 (never a valid answer) on error.
 */
static uint64_t dirty_all(void)
{
	uint64_t bm[2] = { ~0ULL, ~0ULL }, v;
	int rc = gmem_map_dirty_harvest(M, WIN, WIN_LEN, PS, bm, 1);

	if (rc != 0) {
		diag("  window harvest failed: %d", rc);
		return ~0ULL;
	}
	v = bm[0];
	if (v & ~BITS(0, 15)) {
		diag("  bits beyond the 16-bit window were set: %#" PRIx64, v);
		return ~0ULL;
	}
	if (region_any(regs[RE].r))
		v |= STRAY_E;
	if (region_any(regs[RT].r))
		v |= STRAY_T;
	return v;
}

static void clean(void)
{
	(void)dirty_all();
}

#define expect_dirty(want, ...) is_u64(dirty_all(), (want), __VA_ARGS__)

/* ------------------------------------------------------------------------ */
/* Region creation and gmem_region_dirty_page_size()                        */
/* ------------------------------------------------------------------------ */

static void test_creation(void)
{
	gmem_region *r = NULL;
	uint64_t ps = 0, hostps = tu_page_size();
	uint8_t *blk = NULL;
	struct gmem_region_config cfg = GMEM_REGION_CONFIG_INIT;
	static const uint64_t sizes[] = { 512, 4096, 2u << 20, 1, 64 };
	static const uint64_t bad[] = { 3, 4095, 0x3000, 0x1001, UINT64_MAX };

	/* Default dirty page size: the region's page size. */
	if (tu_is_int(gmem_region_new_anon(&r, 0x100000, 0x10000, DL), 0,
		      "create: ANON with DIRTY_LOG, default dirty page size")) {
		is_int(gmem_region_dirty_page_size(r, &ps), 0,
		       "create: default: dirty_page_size ok");
		is_u64(ps, gmem_region_page_size(r),
		       "create: default dirty page size == region page size");
		is_u64(ps, hostps, "create: ANON: == host page size");
		ok((gmem_region_flags(r) & DL) != 0, "create: flag kept");
		gmem_region_free(r);
		r = NULL;
	}
	if (tu_is_int(user_region(&r, 0x3000, 0x3000, DL, 0, &blk), 0,
		      "create: USER with DIRTY_LOG, dirty_page_size 0")) {
		ps = 0;
		is_int(gmem_region_dirty_page_size(r, &ps), 0,
		       "create: USER default: ok");
		is_u64(ps, gmem_region_page_size(r),
		       "create: USER default == region page size");
		gmem_region_free(r);
		free(blk);
		r = NULL;
	}

	/* Explicit power-of-two sizes. */
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		cfg = (struct gmem_region_config)GMEM_REGION_CONFIG_INIT;
		cfg.flags = DL | GMEM_REGION_NORESERVE;
		cfg.gpa = 0x40000000;
		cfg.len = 4u << 20;
		cfg.dirty_page_size = sizes[i];
		if (!tu_is_int(gmem_region_new(&r, &cfg), 0,
			       "create: dirty_page_size %" PRIu64, sizes[i]))
			continue;
		ps = 0;
		is_int(gmem_region_dirty_page_size(r, &ps), 0,
		       "create: dirty_page_size %" PRIu64 ": query",
		       sizes[i]);
		is_u64(ps, sizes[i], "create: dirty_page_size %" PRIu64
		       " reported", sizes[i]);
		gmem_region_free(r);
		r = NULL;
	}

	/* 2 MiB pages: a write in the second 2 MiB sets bit 1 only. */
	cfg = (struct gmem_region_config)GMEM_REGION_CONFIG_INIT;
	cfg.flags = DL | GMEM_REGION_NORESERVE;
	cfg.gpa = 0x40000000;
	cfg.len = 4u << 20;
	cfg.dirty_page_size = 2u << 20;
	if (tu_is_int(gmem_region_new(&r, &cfg), 0, "create: 2 MiB pages")) {
		gmem_map *m = NULL;
		uint64_t bm[1] = { 0 };
		size_t nbits = 0;

		if (gmem_map_new(&m, &r, 1, 0) != 0)
			tap_bail("gmem_map_new");
		is_int(gmem_write_u8(m, 0x40000000 + (2u << 20) + 5, 1), 0,
		       "2 MiB pages: write in the second page");
		is_int(gmem_region_dirty_harvest(r, bm, 1, &nbits), 0,
		       "2 MiB pages: harvest");
		is_u64(nbits, 2, "2 MiB pages: 2 bits for 4 MiB");
		is_u64(bm[0], BIT(1), "2 MiB pages: bit 1 only");
		gmem_map_free(m);
		gmem_region_free(r);
		r = NULL;
	}

	/* hugetlbfs: the default dirty page is the huge page. */
	cfg = (struct gmem_region_config)GMEM_REGION_CONFIG_INIT;
	cfg.backing = GMEM_BACKING_HUGETLB;
	cfg.flags = DL;
	cfg.len = 4u << 20;
	r = NULL;
	if (gmem_region_new(&r, &cfg) == 0) {
		ps = 0;
		is_int(gmem_region_dirty_page_size(r, &ps), 0,
		       "create: hugetlb default dirty page size");
		is_u64(ps, gmem_region_page_size(r),
		       "create: hugetlb: dirty page == huge page size");
		ok(ps > hostps, "create: hugetlb: larger than the host page");
		gmem_region_free(r);
	} else {
		skip("create: hugetlb default dirty page size (no huge pages)");
	}
	r = NULL;

	/* Not a power of two. */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cfg = (struct gmem_region_config)GMEM_REGION_CONFIG_INIT;
		cfg.flags = DL;
		cfg.gpa = 0x100000;
		cfg.len = 0x4000;
		cfg.dirty_page_size = bad[i];
		r = NULL;
		is_int(gmem_region_new(&r, &cfg), -EINVAL,
		       "create: dirty_page_size %#" PRIx64 " -> -EINVAL",
		       bad[i]);
		ok(r == NULL, "create: dirty_page_size %#" PRIx64
		   ": *out untouched", bad[i]);
		if (r)
			gmem_region_free(r);
		r = NULL;
	}

	/* gmem_region_dirty_page_size() errors. */
	if (gmem_region_new_anon(&r, 0x100000, 0x1000, 0) != 0)
		tap_bail("anon");
	ps = 0x1234;
	is_int(gmem_region_dirty_page_size(r, &ps), -ENOENT,
	       "dirty_page_size: untracked region -> -ENOENT");
	is_u64(ps, 0x1234, "dirty_page_size: -ENOENT leaves *out alone");
	is_int(gmem_region_dirty_page_size(r, NULL), -EINVAL,
	       "dirty_page_size: NULL out -> -EINVAL");
	is_int(gmem_region_dirty_page_size(NULL, &ps), -EINVAL,
	       "dirty_page_size: NULL region -> -EINVAL");
	is_int(gmem_region_dirty_page_size(regs[RA].r, NULL), -EINVAL,
	       "dirty_page_size: tracked region, NULL out -> -EINVAL");
	gmem_region_free(r);
	r = NULL;

	/*
	 * A region not aligned to its dirty page size: [0x30100, 0x32100) at
	 * 4096 covers frames 0x30, 0x31, 0x32; bit 0 is frame gpa / ps.
	 */
	if (tu_is_int(user_region(&r, 0x30100, 0x2000, DL, PS, &blk), 0,
		      "unaligned region: create")) {
		gmem_map *m = NULL;
		uint64_t bm[1] = { 0 };
		size_t nbits = 0;

		if (gmem_map_new(&m, &r, 1, 0) != 0)
			tap_bail("gmem_map_new");
		is_int(gmem_write_u8(m, 0x30100, 1), 0,
		       "unaligned region: write first byte");
		is_int(gmem_region_dirty_harvest(r, bm, 1, &nbits), 0,
		       "unaligned region: harvest");
		is_u64(nbits, 3, "unaligned region: 3 bits (frames 0x30-0x32)");
		is_u64(bm[0], BIT(0), "unaligned region: first byte -> bit 0");
		is_int(gmem_write_u8(m, 0x320ff, 1), 0,
		       "unaligned region: write last byte");
		is_int(gmem_write_u8(m, 0x31000, 1), 0,
		       "unaligned region: write frame 0x31");
		is_int(gmem_map_dirty_query(m, 0x30000, 0x3000, PS, bm, 1), 0,
		       "unaligned region: map query over its frames");
		is_u64(bm[0], BIT(1) | BIT(2),
		       "unaligned region: map bits match frames");
		is_int(gmem_region_dirty_harvest(r, bm, 1, &nbits), 0,
		       "unaligned region: harvest again");
		is_u64(bm[0], BIT(1) | BIT(2),
		       "unaligned region: last byte -> bit 2, frame 0x31 -> bit 1");
		gmem_map_free(m);
		gmem_region_free(r);
		free(blk);
		r = NULL;
	}
}

/* ------------------------------------------------------------------------ */
/* gmem_region_dirty_harvest()                                               */
/* ------------------------------------------------------------------------ */

static void test_region_harvest(void)
{
	gmem_region *r = NULL, *u = NULL;
	gmem_map *m = NULL;
	uint8_t *blk = NULL, buf[200];
	uint64_t bm[3];
	size_t nbits;

	/* vm-memory test_bitmap_basic: 1025 bytes at 128-byte pages. */
	if (user_region(&r, 0, 1025, DL, 128, &blk) != 0)
		tap_bail("1025-byte region");
	if (gmem_map_new(&m, &r, 1, 0) != 0)
		tap_bail("gmem_map_new");
	memset(buf, 0xab, sizeof(buf));
	nbits = 0;
	bm[0] = ~0ULL;
	is_int(gmem_region_dirty_harvest(r, bm, 1, &nbits), 0,
	       "region harvest: fresh region");
	is_u64(nbits, 9, "region harvest: 1025 bytes at 128 -> 9 bits");
	is_u64(bm[0], 0, "region harvest: fresh region is clean");
	/* Bytes [128, 257): pages 1 and 2 only. */
	is_int(gmem_write(m, 128, buf, 129), 0, "region harvest: write [128,257)");
	is_int(gmem_region_dirty_harvest(r, bm, 1, &nbits), 0,
	       "region harvest: harvest");
	is_u64(bm[0], 0x6, "region harvest: returns 0b110");
	is_int(gmem_region_dirty_harvest(r, bm, 1, &nbits), 0,
	       "region harvest: second harvest");
	is_u64(bm[0], 0, "region harvest: second harvest is empty");
	/* The last byte (1024) is alone in page 8. */
	is_int(gmem_write_u8(m, 1024, 7), 0, "region harvest: write byte 1024");
	bm[1] = 0x5555;
	is_int(gmem_region_dirty_harvest(r, bm, 2, &nbits), 0,
	       "region harvest: nwords larger than needed");
	is_u64(bm[0], BIT(8), "region harvest: byte 1024 -> bit 8");
	is_u64(bm[1], 0x5555, "region harvest: words past nbits untouched");

	/* NULL arguments. */
	is_int(gmem_region_dirty_harvest(NULL, bm, 1, &nbits), -EINVAL,
	       "region harvest: NULL region -> -EINVAL");
	is_int(gmem_region_dirty_harvest(r, NULL, 1, &nbits), -EINVAL,
	       "region harvest: NULL bitmap -> -EINVAL");
	is_int(gmem_region_dirty_harvest(r, bm, 1, NULL), -EINVAL,
	       "region harvest: NULL nbits -> -EINVAL");
	gmem_map_free(m);
	gmem_region_free(r);
	free(blk);

	/* -ENOENT for an untracked region. */
	if (gmem_region_new_anon(&u, 0x100000, 0x1000, 0) != 0)
		tap_bail("anon");
	is_int(gmem_region_dirty_harvest(u, bm, 1, &nbits), -ENOENT,
	       "region harvest: untracked -> -ENOENT");
	gmem_region_free(u);

	/* -ENOBUFS: 65 pages need 2 words; nothing is cleared. */
	if (user_region(&r, 0x200000, 65 * PS, DL, PS, &blk) != 0)
		tap_bail("65-page region");
	if (gmem_map_new(&m, &r, 1, 0) != 0)
		tap_bail("gmem_map_new");
	is_int(gmem_write_u8(m, 0x200000, 1), 0, "ENOBUFS: write page 0");
	is_int(gmem_write_u8(m, 0x200000 + 64 * PS, 1), 0,
	       "ENOBUFS: write page 64");
	nbits = 0;
	bm[0] = 0x77;
	is_int(gmem_region_dirty_harvest(r, bm, 1, &nbits), -ENOBUFS,
	       "ENOBUFS: 1 word for 65 bits -> -ENOBUFS");
	is_u64(nbits, 65, "ENOBUFS: *nbits tells the size needed");
	is_u64(bm[0], 0x77, "ENOBUFS: bitmap untouched");
	nbits = 0;
	is_int(gmem_region_dirty_harvest(r, bm, 0, &nbits), -ENOBUFS,
	       "ENOBUFS: 0 words -> -ENOBUFS");
	is_u64(nbits, 65, "ENOBUFS: 0 words: *nbits");
	bm[0] = bm[1] = 0;
	is_int(gmem_region_dirty_harvest(r, bm, 2, &nbits), 0,
	       "ENOBUFS: then harvest with 2 words");
	is_u64(bm[0], BIT(0), "ENOBUFS: nothing was cleared (word 0)");
	is_u64(bm[1], BIT(0), "ENOBUFS: nothing was cleared (word 1)");
	gmem_map_free(m);
	gmem_region_free(r);
	free(blk);
}

/* ------------------------------------------------------------------------ */
/* Write paths over M                                                        */
/* ------------------------------------------------------------------------ */

static uint8_t big[0x10000];

static void test_write_bulk(void)
{
	size_t done;

	memset(big, 0x3c, sizeof(big));
	clean();
	expect_dirty(0, "fresh map: everything clean");

	/* gmem_write */
	is_int(gmem_write(M, 0x10ff8, big, 16), 0, "write: cross-page in A");
	expect_dirty(BIT(0) | BIT(1), "write: cross-page -> bits 0,1");
	is_int(gmem_write(M, 0x12000, big, 1), 0, "write: one byte");
	expect_dirty(BIT(2), "write: one byte -> its page only");
	is_int(gmem_write(M, 0x12fff, big, 1), 0, "write: last byte of a page");
	expect_dirty(BIT(2), "write: last byte of page 2 -> bit 2");
	is_int(gmem_write(M, 0x13ff0, big, 0x20), 0, "write: A -> B");
	expect_dirty(BIT(3) | BIT(4), "write: across A/B -> bits 3,4");
	is_int(gmem_write(M, 0x10000, big, 0x8000), 0, "write: all of A and B");
	expect_dirty(BITS(0, 7), "write: A and B whole -> bits 0-7");
	is_int(gmem_write(M, 0x19ff0, big, 0x10), 0, "write: end of D");
	expect_dirty(BIT(9), "write: D -> bit 9");
	is_int(gmem_write(M, 0x1bff0, big, 0x20), 0, "write: U -> W");
	expect_dirty(BIT(12), "write: untracked U not marked, W bit 12");
	is_int(gmem_write(M, 0x1b000, big, 0x1000), 0, "write: U only");
	expect_dirty(0, "write: untracked region marks nothing");
	is_int(gmem_write(M, 0x12345, big, 0), 0, "write: len 0");
	expect_dirty(0, "write: len 0 marks nothing");
	is_int(gmem_write(M, 0x18000, NULL, 0), 0, "write: len 0 in a hole");
	expect_dirty(0, "write: len 0 in a hole marks nothing");
	is_int(gmem_write(M, 0x100000 + 511, big, 2), 0,
	       "write: E, across a 512-byte page");
	is_u64(dirty_all(), STRAY_E, "write: E marked, window clean");
	{
		uint64_t bm[2] = { 0, 0 };

		is_int(gmem_write(M, 0x100000 + 511, big, 2), 0,
		       "write: E again");
		is_int(gmem_map_dirty_harvest(M, 0x100000, 0x10000, 512, bm, 2),
		       0, "write: E: harvest at 512");
		is_u64(bm[0], BIT(0) | BIT(1), "write: E: bits 0,1");
		is_u64(bm[1], 0, "write: E: word 1 clean");
	}

	/* gmem_write_partial: only the bytes written. */
	done = 0;
	is_int(gmem_write_partial(M, 0x17ff0, big, 0x100, &done), 0,
	       "write_partial: B up to the hole");
	is_u64(done, 0x10, "write_partial: 0x10 bytes written");
	expect_dirty(BIT(7), "write_partial: only bit 7 (not past the hole)");
	done = 0;
	is_int(gmem_write_partial(M, 0x16ff0, big, 0x2000, &done), 0,
	       "write_partial: B pages 6,7 up to the hole");
	is_u64(done, 0x1010, "write_partial: 0x1010 bytes");
	expect_dirty(BIT(6) | BIT(7), "write_partial: bits 6,7");
	done = 0;
	is_int(gmem_write_partial(M, 0x19ff0, big, 0x100, &done), 0,
	       "write_partial: D up to read-only C");
	is_u64(done, 0x10, "write_partial: stops at C");
	expect_dirty(BIT(9), "write_partial: bit 9 only, C (tracked) not marked");
	done = 0;
	is_int(gmem_write_partial(M, 0x1bff0, big, 0x20, &done), 0,
	       "write_partial: U -> W");
	is_u64(done, 0x20, "write_partial: U -> W complete");
	expect_dirty(BIT(12), "write_partial: U -> W: bit 12 only");
	done = 0;
	is_int(gmem_write_partial(M, 0x13000, big, 0x800, &done), 0,
	       "write_partial: complete inside A");
	expect_dirty(BIT(3), "write_partial: complete: bit 3");
	done = 77;
	is_int(gmem_write_partial(M, 0x1a010, big, 0x10, &done), -EACCES,
	       "write_partial: starts in read-only C -> -EACCES");
	expect_dirty(0, "write_partial: -EACCES marks nothing");
	is_int(gmem_write_partial(M, 0x18010, big, 0x10, &done), -EFAULT,
	       "write_partial: starts in a hole -> -EFAULT");
	expect_dirty(0, "write_partial: -EFAULT marks nothing");
	is_int(gmem_write_partial(M, 0x12000, big, 0, &done), 0,
	       "write_partial: len 0");
	expect_dirty(0, "write_partial: len 0 marks nothing");

	/* gmem_copy: destination only. */
	is_int(gmem_copy(M, 0x15000, 0x10000, 0x1000), 0, "copy: A page 0 -> B page 5");
	expect_dirty(BIT(5), "copy: destination page 5 only, source clean");
	is_int(gmem_copy(M, 0x10800, 0x11000, 0x1000), 0,
	       "copy: forward overlapping (dst < src)");
	expect_dirty(BIT(0) | BIT(1), "copy: forward overlap -> bits 0,1");
	is_int(gmem_copy(M, 0x11800, 0x11000, 0x2000), 0,
	       "copy: backward overlapping (dst > src)");
	expect_dirty(BITS(1, 3), "copy: backward overlap -> bits 1-3");
	is_int(gmem_copy(M, 0x13800, 0x10000, 0x1000), 0,
	       "copy: destination across A/B");
	expect_dirty(BIT(3) | BIT(4), "copy: dst across A/B -> bits 3,4");
	is_int(gmem_copy(M, 0x13f00, 0x13e00, 0x300), 0,
	       "copy: backward overlap across A/B");
	expect_dirty(BIT(3) | BIT(4), "copy: backward across A/B -> bits 3,4");
	is_int(gmem_copy(M, 0x10000, 0x13f00, 0x300), 0,
	       "copy: source across A/B, destination page 0");
	expect_dirty(BIT(0), "copy: source across A/B stays clean");
	is_int(gmem_copy(M, 0x1b000, 0x10000, 0x100), 0,
	       "copy: tracked A -> untracked U");
	expect_dirty(0, "copy: into untracked marks nothing (source clean)");
	is_int(gmem_copy(M, 0x1c000, 0x1b000, 0x100), 0, "copy: U -> W");
	expect_dirty(BIT(12), "copy: U -> W -> bit 12");
	is_int(gmem_copy(M, 0x1bf80, 0x10000, 0x100), 0,
	       "copy: destination across U/W");
	expect_dirty(BIT(12), "copy: dst across U/W -> bit 12");
	is_int(gmem_copy(M, 0x10000, 0x10000, 0x10), 0, "copy: dst == src");
	expect_dirty(BIT(0), "copy: dst == src still a write -> bit 0");
	is_int(gmem_copy(M, 0x1a000, 0x10000, 0x10), -EACCES,
	       "copy: into read-only C -> -EACCES");
	expect_dirty(0, "copy: -EACCES marks nothing");
	is_int(gmem_copy(M, 0x17f00, 0x10000, 0x200), -EFAULT,
	       "copy: destination B -> hole -> -EFAULT");
	expect_dirty(0, "copy: destination hole marks nothing");
	is_int(gmem_copy(M, 0x10000, 0x17f00, 0x200), -EFAULT,
	       "copy: source B -> hole -> -EFAULT");
	expect_dirty(0, "copy: source hole marks nothing");
	is_int(gmem_copy(M, 0x10000, 0x11000, 0), 0, "copy: len 0");
	expect_dirty(0, "copy: len 0 marks nothing");

	/* gmem_fill / gmem_zero */
	is_int(gmem_fill(M, 0x12fff, 2, 0xee), 0, "fill: 2 bytes across a page");
	expect_dirty(BIT(2) | BIT(3), "fill: bits 2,3");
	is_int(gmem_fill(M, 0x13000, 0x1001, 0xee), 0, "fill: A page 3 + 1 byte of B");
	expect_dirty(BIT(3) | BIT(4), "fill: across A/B -> bits 3,4");
	is_int(gmem_fill(M, 0x19000, 0x3000, 0xee), -EACCES,
	       "fill: D, C(read-only), U -> -EACCES");
	expect_dirty(0, "fill: -EACCES marks nothing (not even D)");
	is_int(gmem_fill(M, 0x17000, 0x2000, 0xee), -EFAULT,
	       "fill: B -> hole -> -EFAULT");
	expect_dirty(0, "fill: -EFAULT marks nothing");
	is_int(gmem_fill(M, 0x12000, 0, 0xee), 0, "fill: len 0");
	expect_dirty(0, "fill: len 0 marks nothing");
	is_int(gmem_zero(M, 0x16000, 0x1001), 0, "zero: page 6 + 1 byte");
	expect_dirty(BIT(6) | BIT(7), "zero: bits 6,7");
	is_int(gmem_zero(M, 0x1bfff, 2), 0, "zero: across U/W");
	expect_dirty(BIT(12), "zero: U/W -> bit 12");
	is_int(gmem_zero(M, 0x1a000, 1), -EACCES, "zero: read-only -> -EACCES");
	expect_dirty(0, "zero: -EACCES marks nothing");
}

/* Typed writes, one enum per public function. */
enum tkind { K_U8, K_U16, K_U32, K_U64, K_LE16, K_LE32, K_LE64, K_BE16, K_BE32,
	     K_BE64, K_N };
static const char *const tname[K_N] = { "u8",	"u16",	"u32",	"u64",	"le16",
					"le32", "le64", "be16", "be32", "be64" };
static const unsigned tsize[K_N] = { 1, 2, 4, 8, 2, 4, 8, 2, 4, 8 };

static int twrite(enum tkind k, uint64_t gpa, uint64_t v)
{
	switch (k) {
	case K_U8: return gmem_write_u8(M, gpa, (uint8_t)v);
	case K_U16: return gmem_write_u16(M, gpa, (uint16_t)v);
	case K_U32: return gmem_write_u32(M, gpa, (uint32_t)v);
	case K_U64: return gmem_write_u64(M, gpa, v);
	case K_LE16: return gmem_write_le16(M, gpa, (uint16_t)v);
	case K_LE32: return gmem_write_le32(M, gpa, (uint32_t)v);
	case K_LE64: return gmem_write_le64(M, gpa, v);
	case K_BE16: return gmem_write_be16(M, gpa, (uint16_t)v);
	case K_BE32: return gmem_write_be32(M, gpa, (uint32_t)v);
	case K_BE64: return gmem_write_be64(M, gpa, v);
	case K_N: break;
	}
	return -999;
}

static int tread(enum tkind k, uint64_t gpa, uint64_t *v)
{
	uint8_t b8 = 0;
	uint16_t b16 = 0;
	uint32_t b32 = 0;
	int rc;

	switch (k) {
	case K_U8: rc = gmem_read_u8(M, gpa, &b8); *v = b8; return rc;
	case K_U16: rc = gmem_read_u16(M, gpa, &b16); *v = b16; return rc;
	case K_U32: rc = gmem_read_u32(M, gpa, &b32); *v = b32; return rc;
	case K_U64: return gmem_read_u64(M, gpa, v);
	case K_LE16: rc = gmem_read_le16(M, gpa, &b16); *v = b16; return rc;
	case K_LE32: rc = gmem_read_le32(M, gpa, &b32); *v = b32; return rc;
	case K_LE64: return gmem_read_le64(M, gpa, v);
	case K_BE16: rc = gmem_read_be16(M, gpa, &b16); *v = b16; return rc;
	case K_BE32: rc = gmem_read_be32(M, gpa, &b32); *v = b32; return rc;
	case K_BE64: return gmem_read_be64(M, gpa, v);
	case K_N: break;
	}
	return -999;
}

static void test_write_typed(void)
{
	clean();
	for (int ki = 0; ki < K_N; ki++) {
		enum tkind k = (enum tkind)ki;
		const char *n = tname[k];
		uint64_t sz = tsize[k], v = 0;

		is_int(twrite(k, 0x12000, 0x1122334455667788ULL), 0,
		       "typed %s: aligned at a page start", n);
		expect_dirty(BIT(2), "typed %s: aligned -> bit 2 only", n);
		is_int(twrite(k, 0x12000 - sz, 0x1122334455667788ULL), 0,
		       "typed %s: aligned, last bytes of a page", n);
		expect_dirty(BIT(1), "typed %s: end of page 1 -> bit 1 only", n);
		is_int(twrite(k, 0x1bff8, 1), 0, "typed %s: untracked U", n);
		expect_dirty(0, "typed %s: untracked marks nothing", n);
		is_int(twrite(k, 0x1a000, 1), -EACCES,
		       "typed %s: read-only C -> -EACCES", n);
		expect_dirty(0, "typed %s: -EACCES marks nothing", n);
		is_int(twrite(k, 0x18000, 1), -EFAULT,
		       "typed %s: hole -> -EFAULT", n);
		expect_dirty(0, "typed %s: -EFAULT marks nothing", n);
		is_int(twrite(k, UINT64_MAX - sz + 1, 1), 0,
		       "typed %s: last bytes of the address space", n);
		expect_dirty(STRAY_T, "typed %s: top -> T marked only", n);
		if (sz == 1)
			continue;
		is_int(twrite(k, 0x12001, 0xa5a5a5a5a5a5a5a5ULL), 0,
		       "typed %s: unaligned inside a page", n);
		expect_dirty(BIT(2), "typed %s: unaligned in page -> bit 2", n);
		is_int(twrite(k, 0x12fff, 0xa5a5a5a5a5a5a5a5ULL), 0,
		       "typed %s: unaligned across a page boundary", n);
		expect_dirty(BIT(2) | BIT(3), "typed %s: across pages -> bits 2,3",
			     n);
		is_int(twrite(k, 0x14000 - sz / 2, 0x0102030405060708ULL), 0,
		       "typed %s: straddling regions A/B", n);
		expect_dirty(BIT(3) | BIT(4),
			     "typed %s: straddling A/B -> bits 3,4", n);
		is_int(tread(k, 0x14000 - sz / 2, &v), 0,
		       "typed %s: straddling read back", n);
		is_u64(v, 0x0102030405060708ULL & (sz == 8 ? ~0ULL : BIT(sz * 8) - 1),
		       "typed %s: straddling value round trip", n);
		is_int(twrite(k, 0x1c000 - sz / 2, 1), 0,
		       "typed %s: straddling U/W", n);
		expect_dirty(BIT(12), "typed %s: U/W -> bit 12 only", n);
		is_int(twrite(k, 0x1a000 - sz / 2, 1), -EACCES,
		       "typed %s: straddling D/C(read-only) -> -EACCES", n);
		expect_dirty(0, "typed %s: D/C -EACCES marks nothing", n);
		is_int(twrite(k, 0x18000 - sz / 2, 1), -EFAULT,
		       "typed %s: straddling B/hole -> -EFAULT", n);
		expect_dirty(0, "typed %s: B/hole -EFAULT marks nothing", n);
		is_int(twrite(k, UINT64_MAX - sz + 2, 1), -EOVERFLOW,
		       "typed %s: past 2^64 -> -EOVERFLOW", n);
		expect_dirty(0, "typed %s: -EOVERFLOW marks nothing", n);
	}
}

static void test_write_atomic(void)
{
	uint16_t e16, o16;
	uint32_t e32, o32;
	uint64_t e64, o64;

	clean();
	/* 16 bits */
	is_int(gmem_atomic_store_u16(M, 0x12000, 5), 0, "atomic16: store");
	expect_dirty(BIT(2), "atomic16: store marks bit 2");
	is_int(gmem_atomic_fetch_add_u16(M, 0x12ffe, 1, &o16), 0, "atomic16: fetch_add");
	expect_dirty(BIT(2), "atomic16: fetch_add at end of page -> bit 2 only");
	is_int(gmem_atomic_fetch_or_u16(M, 0x13000, 1, NULL), 0, "atomic16: fetch_or");
	expect_dirty(BIT(3), "atomic16: fetch_or -> bit 3");
	is_int(gmem_atomic_fetch_and_u16(M, 0x14000, 0, &o16), 0, "atomic16: fetch_and");
	expect_dirty(BIT(4), "atomic16: fetch_and -> bit 4");
	e16 = 0;
	is_int(gmem_atomic_cmpxchg_u16(M, 0x14000, &e16, 9), 0,
	       "atomic16: cmpxchg succeeds");
	expect_dirty(BIT(4), "atomic16: successful cmpxchg marks");
	e16 = 1;
	is_int(gmem_atomic_cmpxchg_u16(M, 0x14000, &e16, 3), -EAGAIN,
	       "atomic16: cmpxchg fails");
	is_u64(e16, 9, "atomic16: failed cmpxchg reports the value found");
	expect_dirty(0, "atomic16: failed cmpxchg does not mark");
	is_int(gmem_atomic_load_u16(M, 0x14000, &o16), 0, "atomic16: load");
	expect_dirty(0, "atomic16: load does not mark");

	/* 32 bits */
	is_int(gmem_atomic_store_u32(M, 0x15ffc, 5), 0, "atomic32: store");
	expect_dirty(BIT(5), "atomic32: store at end of page 5 -> bit 5 only");
	is_int(gmem_atomic_fetch_add_u32(M, 0x16000, 1, &o32), 0, "atomic32: fetch_add");
	expect_dirty(BIT(6), "atomic32: fetch_add -> bit 6");
	is_int(gmem_atomic_fetch_or_u32(M, 0x16004, 1, &o32), 0, "atomic32: fetch_or");
	expect_dirty(BIT(6), "atomic32: fetch_or -> bit 6");
	is_int(gmem_atomic_fetch_and_u32(M, 0x1c000, 0, NULL), 0, "atomic32: fetch_and in W");
	expect_dirty(BIT(12), "atomic32: fetch_and -> bit 12");
	e32 = 0;
	is_int(gmem_atomic_cmpxchg_u32(M, 0x1c000, &e32, 9), 0,
	       "atomic32: cmpxchg succeeds");
	expect_dirty(BIT(12), "atomic32: successful cmpxchg marks");
	e32 = 1;
	is_int(gmem_atomic_cmpxchg_u32(M, 0x1c000, &e32, 3), -EAGAIN,
	       "atomic32: cmpxchg fails");
	expect_dirty(0, "atomic32: failed cmpxchg does not mark");
	is_int(gmem_atomic_load_u32(M, 0x1c000, &o32), 0, "atomic32: load");
	expect_dirty(0, "atomic32: load does not mark");

	/* 64 bits */
	is_int(gmem_atomic_store_u64(M, 0x19ff8, 5), 0, "atomic64: store in D");
	expect_dirty(BIT(9), "atomic64: store -> bit 9");
	is_int(gmem_atomic_fetch_add_u64(M, 0x10000, 1, &o64), 0, "atomic64: fetch_add");
	expect_dirty(BIT(0), "atomic64: fetch_add -> bit 0");
	is_int(gmem_atomic_fetch_or_u64(M, 0x17ff8, 1, NULL), 0, "atomic64: fetch_or");
	expect_dirty(BIT(7), "atomic64: fetch_or -> bit 7");
	is_int(gmem_atomic_fetch_and_u64(M, 0x11008, 0, &o64), 0, "atomic64: fetch_and");
	expect_dirty(BIT(1), "atomic64: fetch_and -> bit 1");
	e64 = 0;
	is_int(gmem_atomic_cmpxchg_u64(M, 0x11008, &e64, 9), 0,
	       "atomic64: cmpxchg succeeds");
	expect_dirty(BIT(1), "atomic64: successful cmpxchg marks");
	e64 = 1;
	is_int(gmem_atomic_cmpxchg_u64(M, 0x11008, &e64, 3), -EAGAIN,
	       "atomic64: cmpxchg fails");
	expect_dirty(0, "atomic64: failed cmpxchg does not mark");
	is_int(gmem_atomic_load_u64(M, 0x11008, &o64), 0, "atomic64: load");
	expect_dirty(0, "atomic64: load does not mark");
	is_int(gmem_atomic_fetch_add_u64(M, UINT64_MAX - 7, 1, NULL), 0,
	       "atomic64: last word of the address space");
	expect_dirty(STRAY_T, "atomic64: top word -> T marked");

	/* Failed atomics mark nothing. */
	is_int(gmem_atomic_store_u64(M, 0x1a000, 1), -EACCES,
	       "atomic: store to read-only -> -EACCES");
	is_int(gmem_atomic_fetch_add_u32(M, 0x1a000, 1, NULL), -EACCES,
	       "atomic: fetch_add on read-only -> -EACCES");
	e64 = 0;
	is_int(gmem_atomic_cmpxchg_u64(M, 0x1a000, &e64, 1), -EACCES,
	       "atomic: cmpxchg on read-only -> -EACCES");
	is_int(gmem_atomic_store_u32(M, 0x12002, 1), -EINVAL,
	       "atomic: misaligned -> -EINVAL");
	is_int(gmem_atomic_store_u64(M, 0x18000, 1), -EFAULT,
	       "atomic: hole -> -EFAULT");
	expect_dirty(0, "atomic: failed atomics marked nothing");
	is_int(gmem_atomic_store_u64(M, 0x1b000, 1), 0, "atomic: untracked U");
	expect_dirty(0, "atomic: untracked marks nothing");
}

static void test_reads_never_mark(void)
{
	uint8_t buf[0x100];
	size_t done = 0, cnt = 0;
	void *h = NULL;
	uint64_t avail = 0, v = 0;
	uint16_t v16 = 0;
	uint32_t v32 = 0;
	struct iovec iov[4];
	int rc = 0;

	clean();
	is_int(gmem_read(M, 0x13f80, buf, 0x100), 0, "read: across A/B");
	expect_dirty(0, "read: does not mark");
	is_int(gmem_read_partial(M, 0x17f80, buf, 0x100, &done), 0,
	       "read_partial: up to a hole");
	expect_dirty(0, "read_partial: does not mark");
	for (int ki = 0; ki < K_N; ki++) {
		rc |= tread((enum tkind)ki, 0x12000, &v);
		rc |= tread((enum tkind)ki, 0x13fff, &v);
	}
	is_int(rc, 0, "typed reads: aligned and straddling");
	expect_dirty(0, "typed reads: do not mark");
	is_int(gmem_atomic_load_u16(M, 0x12000, &v16), 0,
	       "atomic_load_u16");
	is_int(gmem_atomic_load_u32(M, 0x12000, &v32), 0,
	       "atomic_load_u32");
	is_int(gmem_atomic_load_u64(M, 0x12000, &v), 0, "atomic_load_u64");
	expect_dirty(0, "atomic loads: do not mark");
	is_int(gmem_translate(M, 0x13f80, 0x100, GMEM_ACCESS_RW, &h, &avail), 0,
	       "translate: RW access");
	is_int(gmem_translate_exact(M, 0x12000, 0x100, GMEM_ACCESS_WRITE, &h), 0,
	       "translate_exact: write access");
	is_int(gmem_iovec(M, 0x13f80, 0x100, GMEM_ACCESS_WRITE, iov, 4, &cnt), 0,
	       "iovec: write access");
	is_int(gmem_check_range(M, 0x10000, 0x8000, GMEM_ACCESS_WRITE), 0,
	       "check_range: write access");
	expect_dirty(0, "translate/translate_exact/iovec/check_range do not mark");
}

static void test_failed_writes(void)
{
	uint8_t buf[0x40] = { 0 };
	size_t done = 0;

	clean();
	is_int(gmem_write(M, 0x17000, big, 0x2000), -EFAULT,
	       "failed write: B into a hole -> -EFAULT");
	expect_dirty(0, "failed write: hole: nothing marked");
	is_int(gmem_write(M, 0x19f00, big, 0x200), -EACCES,
	       "failed write: D into read-only C -> -EACCES");
	expect_dirty(0, "failed write: read-only: nothing marked (not D)");
	is_int(gmem_write(M, UINT64_MAX - 0xf, buf, 0x20), -EOVERFLOW,
	       "failed write: past 2^64 -> -EOVERFLOW");
	expect_dirty(0, "failed write: overflow: nothing marked (T clean)");
	is_int(gmem_write_partial(M, UINT64_MAX - 0xf, buf, 0x20, &done),
	       -EOVERFLOW, "failed write_partial: past 2^64 -> -EOVERFLOW");
	is_int(gmem_fill(M, UINT64_MAX - 0xf, 0x20, 1), -EOVERFLOW,
	       "failed fill: past 2^64 -> -EOVERFLOW");
	is_int(gmem_copy(M, UINT64_MAX - 0xf, 0x10000, 0x20), -EOVERFLOW,
	       "failed copy: destination past 2^64 -> -EOVERFLOW");
	is_int(gmem_copy(M, UINT64_MAX - 0x1f, UINT64_MAX - 0xf, 0x20),
	       -EOVERFLOW, "failed copy: source past 2^64 -> -EOVERFLOW");
	expect_dirty(0, "failed overflowing writes: nothing marked");
	is_int(gmem_write(NULL, 0x10000, buf, 1), -EINVAL,
	       "failed write: NULL map");
	is_int(gmem_write(M, 0x10000, NULL, 1), -EINVAL,
	       "failed write: NULL buffer");
	expect_dirty(0, "failed write: -EINVAL: nothing marked");
}

/* gmem_read_fd()/gmem_pread_fd(): only the bytes actually read. */
static void test_read_fd_marks(void)
{
	int p[2], fd;
	size_t done = 0;
	uint8_t buf[0x200];

	memset(buf, 0x42, sizeof(buf));
	clean();
	if (pipe(p) != 0)
		tap_bail("pipe");
	if (write(p[1], buf, 100) != 100)
		tap_bail("write pipe");
	is_int(gmem_read_fd(M, 0x12f80, 0x2000, p[0], &done), 0,
	       "read_fd: pipe with 100 bytes, asked 0x2000");
	is_u64(done, 100, "read_fd: done == 100");
	expect_dirty(BIT(2), "read_fd: only bytes read marked (bit 2)");
	if (write(p[1], buf, 0x100) != 0x100)
		tap_bail("write pipe");
	is_int(gmem_read_fd(M, 0x13f80, 0x2000, p[0], &done), 0,
	       "read_fd: pipe with 0x100 bytes at A/B");
	is_u64(done, 0x100, "read_fd: done == 0x100");
	expect_dirty(BIT(3) | BIT(4), "read_fd: bits 3,4 only (not 5)");
	if (write(p[1], buf, 0x10) != 0x10)
		tap_bail("write pipe");
	is_int(gmem_read_fd(M, 0x1bff8, 0x10, p[0], &done), 0,
	       "read_fd: U -> W");
	expect_dirty(BIT(12), "read_fd: U/W -> bit 12 only");
	is_int(gmem_read_fd(M, 0x17f00, 0x200, p[0], &done), -EFAULT,
	       "read_fd: range with a hole -> -EFAULT");
	is_int(gmem_read_fd(M, 0x1a000, 0x10, p[0], &done), -EACCES,
	       "read_fd: read-only -> -EACCES");
	expect_dirty(0, "read_fd: failed reads mark nothing");
	is_int(gmem_write_fd(M, 0x10000, 0x100, p[1], &done), 0,
	       "write_fd: from A");
	expect_dirty(0, "write_fd: does not mark the source");
	is_int(gmem_read_fd_exact(M, 0x11000, 0x100, p[0], &done), 0,
	       "read_fd_exact: 0x100 bytes");
	expect_dirty(BIT(1), "read_fd_exact: marks bit 1");
	close(p[1]);
	is_int(gmem_read_fd(M, 0x11000, 0x100, p[0], &done), 0,
	       "read_fd: EOF");
	is_u64(done, 0, "read_fd: EOF: done 0");
	expect_dirty(0, "read_fd: EOF marks nothing");
	close(p[0]);

	fd = memfd_create("test_dirty", MFD_CLOEXEC);
	if (fd < 0) {
		char path[] = "/tmp/test_dirty.XXXXXX";

		fd = mkstemp(path);
		if (fd < 0)
			tap_bail("mkstemp");
		unlink(path);
	}
	if (pwrite(fd, buf, 0x80, 0) != 0x80)
		tap_bail("pwrite");
	is_int(gmem_pread_fd(M, 0x15fc0, 0x1000, fd, 0, &done), 0,
	       "pread_fd: file with 0x80 bytes");
	is_u64(done, 0x80, "pread_fd: done 0x80");
	expect_dirty(BIT(5) | BIT(6), "pread_fd: bits 5,6 only");
	is_int(gmem_pwrite_fd(M, 0x10000, 0x1000, fd, 0, &done), 0,
	       "pwrite_fd");
	expect_dirty(0, "pwrite_fd: does not mark");
	close(fd);
}

/* gmem_map_mark_dirty() */
static void test_mark_dirty(void)
{
	void *h = NULL;
	uint64_t avail = 0;

	clean();
	if (tu_is_int(gmem_translate(M, 0x12100, 0x10, GMEM_ACCESS_WRITE, &h,
				     &avail), 0, "mark: translate for writing"))
		memset(h, 0x99, 0x10);
	expect_dirty(0, "mark: raw pointer writes are not tracked");
	is_int(gmem_map_mark_dirty(M, 0x12100, 0x10), 0, "mark: 16 bytes");
	expect_dirty(BIT(2), "mark: bit 2");
	is_int(gmem_map_mark_dirty(M, 0x13f00, 0x200), 0, "mark: across A/B");
	expect_dirty(BIT(3) | BIT(4), "mark: bits 3,4");
	is_int(gmem_map_mark_dirty(M, 0x10000, 0x8000), 0, "mark: A and B");
	expect_dirty(BITS(0, 7), "mark: bits 0-7");
	is_int(gmem_map_mark_dirty(M, 0x1bf00, 0x200), 0, "mark: across U/W");
	expect_dirty(BIT(12), "mark: U/W -> bit 12");
	is_int(gmem_map_mark_dirty(M, 0x1a000, 0x10), 0,
	       "mark: read-only tracked region (no -EACCES documented)");
	expect_dirty(BIT(10), "mark: read-only C -> bit 10");
	is_int(gmem_map_mark_dirty(M, 0x17000, 0x2000), -EFAULT,
	       "mark: B into a hole -> -EFAULT");
	expect_dirty(0, "mark: -EFAULT marks nothing");
	is_int(gmem_map_mark_dirty(M, 0x18000, 0x10), -EFAULT,
	       "mark: in a hole -> -EFAULT");
	is_int(gmem_map_mark_dirty(M, 0x12000, 0), 0, "mark: len 0");
	is_int(gmem_map_mark_dirty(M, 0x18000, 0), 0, "mark: len 0 in a hole");
	expect_dirty(0, "mark: len 0 marks nothing");
	is_int(gmem_map_mark_dirty(M, UINT64_MAX - 0xf, 0x20), -EOVERFLOW,
	       "mark: past 2^64 -> -EOVERFLOW");
	is_int(gmem_map_mark_dirty(M, UINT64_MAX, UINT64_MAX), -EOVERFLOW,
	       "mark: huge len -> -EOVERFLOW");
	expect_dirty(0, "mark: -EOVERFLOW marks nothing");
	is_int(gmem_map_mark_dirty(NULL, 0x10000, 1), -EINVAL,
	       "mark: NULL map -> -EINVAL");
	is_int(gmem_map_mark_dirty(M, UINT64_MAX, 1), 0,
	       "mark: the last byte of the address space");
	expect_dirty(STRAY_T, "mark: last byte -> T marked");
}

/* ------------------------------------------------------------------------ */
/* Map-level harvest / query / reset                                         */
/* ------------------------------------------------------------------------ */

static void test_map_level(void)
{
	uint64_t bm[4];
	uint8_t b = 1;
	gmem_region *e2 = NULL;
	gmem_map *m2 = NULL;
	uint8_t *blk = NULL;

	clean();
	/* Frame order, holes and untracked as zero. */
	is_int(gmem_write(M, 0x10000, &b, 1) | gmem_write(M, 0x17fff, &b, 1) |
		       gmem_write(M, 0x19800, &b, 1) |
		       gmem_write(M, 0x1b000, &b, 1) |
		       gmem_write(M, 0x1c000, &b, 1),
	       0, "map: writes to A, B, D, U, W");
	bm[0] = ~0ULL;
	is_int(gmem_map_dirty_query(M, WIN, WIN_LEN, PS, bm, 1), 0,
	       "map query: window");
	is_u64(bm[0], BIT(0) | BIT(7) | BIT(9) | BIT(12),
	       "map query: frame order, holes and untracked U read as clean");
	bm[0] = 0;
	is_int(gmem_map_dirty_query(M, WIN, WIN_LEN, PS, bm, 1), 0,
	       "map query: again");
	is_u64(bm[0], BIT(0) | BIT(7) | BIT(9) | BIT(12),
	       "map query: does not clear");
	/* Two tracked regions and a hole: [0x17000, 0x1a000). */
	bm[0] = ~0ULL;
	is_int(gmem_map_dirty_harvest(M, 0x17000, 0x3000, PS, bm, 1), 0,
	       "map harvest: B page 7, hole, D");
	is_u64(bm[0], BIT(0) | BIT(2), "map harvest: bits B(0) hole(1) D(2)");
	is_int(gmem_map_dirty_query(M, WIN, WIN_LEN, PS, bm, 1), 0,
	       "map query: after sub-range harvest");
	is_u64(bm[0], BIT(0) | BIT(12),
	       "map harvest: cleared only its range (bits 0, 12 stay)");
	/* A range entirely in a hole. */
	bm[0] = ~0ULL;
	is_int(gmem_map_dirty_harvest(M, 0x30000, 0x10000, PS, bm, 1), 0,
	       "map harvest: range entirely in a hole");
	is_u64(bm[0], 0, "map harvest: hole -> all clean");
	/* A range in the untracked region only. */
	bm[0] = ~0ULL;
	is_int(gmem_map_dirty_harvest(M, 0x1b000, 0x1000, 512, bm, 1), 0,
	       "map harvest: untracked U only, any page size is fine");
	is_u64(bm[0], 0, "map harvest: untracked -> clean");
	/* Reset clears only the range. */
	is_int(gmem_write(M, 0x10000, big, 0x8000), 0, "map reset: dirty A and B");
	is_int(gmem_map_dirty_reset(M, 0x11000, 0x2000, PS), 0,
	       "map reset: [0x11000, 0x13000)");
	is_int(gmem_map_dirty_query(M, WIN, WIN_LEN, PS, bm, 1), 0,
	       "map reset: query");
	is_u64(bm[0], BIT(0) | BITS(3, 7) | BIT(12),
	       "map reset: only bits 1,2 cleared");
	is_int(gmem_map_dirty_reset(M, WIN, WIN_LEN, PS), 0,
	       "map reset: whole window");
	expect_dirty(0, "map reset: everything clean");

	/* Argument errors. */
	is_int(gmem_write(M, 0x10000, &b, 1), 0, "map errors: dirty bit 0");
	is_int(gmem_map_dirty_harvest(M, WIN + 0x800, WIN_LEN, PS, bm, 1),
	       -EINVAL, "map harvest: unaligned gpa -> -EINVAL");
	is_int(gmem_map_dirty_harvest(M, WIN, WIN_LEN - 0x800, PS, bm, 1),
	       -EINVAL, "map harvest: unaligned len -> -EINVAL");
	is_int(gmem_map_dirty_harvest(M, WIN, WIN_LEN, 3000, bm, 1), -EINVAL,
	       "map harvest: page_size not a power of two -> -EINVAL");
	is_int(gmem_map_dirty_harvest(M, WIN, WIN_LEN, 0, bm, 1), -EINVAL,
	       "map harvest: page_size 0 -> -EINVAL");
	is_int(gmem_map_dirty_harvest(NULL, WIN, WIN_LEN, PS, bm, 1), -EINVAL,
	       "map harvest: NULL map -> -EINVAL");
	is_int(gmem_map_dirty_harvest(M, WIN, WIN_LEN, PS, NULL, 1), -EINVAL,
	       "map harvest: NULL bitmap -> -EINVAL");
	is_int(gmem_map_dirty_query(M, WIN, WIN_LEN, PS, NULL, 1), -EINVAL,
	       "map query: NULL bitmap -> -EINVAL");
	is_int(gmem_map_dirty_query(NULL, WIN, WIN_LEN, PS, bm, 1), -EINVAL,
	       "map query: NULL map -> -EINVAL");
	is_int(gmem_map_dirty_reset(NULL, WIN, WIN_LEN, PS), -EINVAL,
	       "map reset: NULL map -> -EINVAL");
	is_int(gmem_map_dirty_reset(M, WIN + 1, WIN_LEN, PS), -EINVAL,
	       "map reset: unaligned gpa -> -EINVAL");
	is_int(gmem_map_dirty_reset(M, WIN, WIN_LEN, 6), -EINVAL,
	       "map reset: page_size 6 -> -EINVAL");
	is_int(gmem_map_dirty_query(M, WIN, 1, PS, bm, 1), -EINVAL,
	       "map query: unaligned len -> -EINVAL");
	/* A tracked region in range with another dirty page size. */
	is_int(gmem_write(M, 0x100000, &b, 1), 0, "mismatch: dirty E page 0");
	is_int(gmem_map_dirty_harvest(M, 0xf0000, 0x20000, PS, bm, 1), -EINVAL,
	       "mismatch: harvest over E at 4096 -> -EINVAL");
	is_int(gmem_map_dirty_harvest(M, 0x10000, 0x100000, PS, bm, 4), -EINVAL,
	       "mismatch: harvest over A..E at 4096 -> -EINVAL");
	is_int(gmem_map_dirty_reset(M, 0x10000, 0x100000, PS), -EINVAL,
	       "mismatch: reset over A..E at 4096 -> -EINVAL");
	is_int(gmem_map_dirty_query(M, 0x10000, 0x100000, PS, bm, 4), -EINVAL,
	       "mismatch: query over A..E at 4096 -> -EINVAL");
	is_int(gmem_map_dirty_harvest(M, 0x10000, 0x1000, 512, bm, 1), -EINVAL,
	       "mismatch: harvest of A at 512 -> -EINVAL");
	{
		uint64_t e[2] = { 0, 0 };

		is_int(gmem_map_dirty_harvest(M, 0x100000, 0x10000, 512, e, 2),
		       0, "mismatch: E at its own size still has its bit");
		is_u64(e[0], BIT(0), "mismatch: nothing was cleared in E");
	}
	expect_dirty(BIT(0), "mismatch: nothing was cleared in A");
	/* -ENOBUFS: 65 pages need 2 words; nothing cleared. */
	is_int(gmem_write(M, 0x10000, &b, 1), 0, "ENOBUFS: dirty bit 0");
	bm[0] = 0x1234;
	is_int(gmem_map_dirty_harvest(M, WIN, 65 * PS, PS, bm, 1), -ENOBUFS,
	       "map harvest: 65 pages, 1 word -> -ENOBUFS");
	is_u64(bm[0], 0x1234, "map harvest: -ENOBUFS leaves the bitmap alone");
	is_int(gmem_map_dirty_query(M, WIN, 65 * PS, PS, bm, 1), -ENOBUFS,
	       "map query: 65 pages, 1 word -> -ENOBUFS");
	is_int(gmem_map_dirty_harvest(M, WIN, PS, PS, bm, 0), -ENOBUFS,
	       "map harvest: 1 page, 0 words -> -ENOBUFS");
	is_int(gmem_map_dirty_reset(M, WIN, 65 * PS, PS), 0,
	       "map reset: no bitmap, no -ENOBUFS");
	expect_dirty(0, "map reset over 65 pages cleared bit 0");
	is_int(gmem_write(M, 0x10000, &b, 1), 0, "ENOBUFS2: dirty bit 0");
	is_int(gmem_map_dirty_harvest(M, WIN, 65 * PS, PS, bm, 1), -ENOBUFS,
	       "ENOBUFS2: harvest fails");
	expect_dirty(BIT(0), "map harvest: -ENOBUFS cleared nothing");
	bm[0] = bm[1] = ~0ULL;
	is_int(gmem_map_dirty_harvest(M, WIN, 65 * PS, PS, bm, 2), 0,
	       "map harvest: 65 pages, 2 words");
	is_u64(bm[1], 0, "map harvest: bit 64 (a hole) is clean");
	/* -EOVERFLOW */
	is_int(gmem_map_dirty_harvest(M, UINT64_MAX - 0xfff, 0x2000, PS, bm, 1),
	       -EOVERFLOW, "map harvest: past 2^64 -> -EOVERFLOW");
	is_int(gmem_map_dirty_query(M, UINT64_MAX - 0xfff, 0x2000, PS, bm, 1),
	       -EOVERFLOW, "map query: past 2^64 -> -EOVERFLOW");
	is_int(gmem_map_dirty_reset(M, UINT64_MAX - 0xfff, 0x2000, PS),
	       -EOVERFLOW, "map reset: past 2^64 -> -EOVERFLOW");
	/* len 0 */
	bm[0] = 0x99;
	is_int(gmem_map_dirty_harvest(M, WIN, 0, PS, bm, 0), 0,
	       "map harvest: len 0 -> 0");
	is_u64(bm[0], 0x99, "map harvest: len 0 writes nothing");
	is_int(gmem_map_dirty_query(M, WIN, 0, PS, bm, 1), 0,
	       "map query: len 0 -> 0");
	is_int(gmem_map_dirty_reset(M, WIN, 0, PS), 0, "map reset: len 0 -> 0");
	is_int(gmem_write(M, 0x10000, &b, 1), 0, "len 0: dirty bit 0");
	is_int(gmem_map_dirty_harvest(M, 0x10000, 0, PS, bm, 1), 0,
	       "map harvest: len 0 at a dirty page");
	expect_dirty(BIT(0), "map harvest: len 0 cleared nothing");

	/* Partial words: E has 128 bits in 2 words at 512-byte pages. */
	is_int(gmem_fill(M, 0x100000, 0x10000, 1), 0, "partial: dirty all of E");
	bm[0] = ~0ULL;
	is_int(gmem_map_dirty_harvest(M, 0x100000 + 60 * 512, 10 * 512, 512,
				      bm, 1),
	       0, "partial: harvest frames 60-69 of E (crosses a word)");
	is_u64(bm[0], BITS(0, 9), "partial: 10 bits returned");
	{
		uint64_t e[2] = { 0, 0 };
		size_t nbits = 0;

		is_int(gmem_region_dirty_harvest(regs[RE].r, e, 2, &nbits), 0,
		       "partial: region harvest of E");
		is_u64(nbits, 128, "partial: E has 128 bits");
		is_u64(e[0], BITS(0, 59), "partial: word 0 lost only bits 60-63");
		is_u64(e[1], BITS(6, 63), "partial: word 1 lost only bits 0-5");
	}
	/* A range starting in the hole before E: bit 2 = E's frame 0. */
	is_int(gmem_fill(M, 0x100000, 0x10000, 1), 0, "offset: dirty all of E");
	memset(bm, 0xff, sizeof(bm));
	is_int(gmem_map_dirty_query(M, 0x100000 - 0x400, 130 * 512, 512, bm, 3),
	       0, "offset: query from 2 frames before E");
	is_u64(bm[0], BITS(2, 63), "offset: word 0 = hole, hole, E frames 0-61");
	is_u64(bm[1], ~0ULL, "offset: word 1 = E frames 62-125");
	is_u64(bm[2], BITS(0, 1), "offset: word 2 = E frames 126,127 only");
	bm[0] = bm[1] = bm[2] = ~0ULL;
	is_int(gmem_map_dirty_harvest(M, 0x100000 + 3 * 512, 125 * 512 + 512,
				      512, bm, 2),
	       0, "offset: harvest E frames 3-127 and one hole frame");
	is_u64(bm[0], ~0ULL, "offset: harvest word 0");
	is_u64(bm[1], BITS(0, 60), "offset: harvest word 1 (61 bits + hole clean)");
	{
		uint64_t e[2] = { 0, 0 };

		is_int(gmem_map_dirty_query(M, 0x100000, 0x10000, 512, e, 2), 0,
		       "offset: what is left of E");
		is_u64(e[0], BITS(0, 2), "offset: frames 0-2 kept");
		is_u64(e[1], 0, "offset: word 1 cleared");
	}
	is_int(gmem_map_dirty_reset(M, 0x100000, 0x10000, 512), 0,
	       "offset: reset E");

	/* A second region at another dirty page size adjacent to nothing in
	 * the window: a new map with E2 (1024) next to A. */
	if (user_region(&e2, 0xf000, 0x1000, DL, 1024, &blk) != 0)
		tap_bail("E2");
	if (tu_is_int(gmem_map_insert(&m2, M, e2), 0, "mismatch2: insert E2")) {
		is_int(gmem_write(m2, 0x10000, &b, 1), 0, "mismatch2: dirty A");
		is_int(gmem_map_dirty_harvest(m2, 0xf000, 0x2000, PS, bm, 1),
		       -EINVAL, "mismatch2: E2 (1024) next to A (4096) -> -EINVAL");
		is_int(gmem_map_dirty_harvest(m2, 0x10000, 0x1000, PS, bm, 1), 0,
		       "mismatch2: A alone is fine");
		is_u64(bm[0], BIT(0), "mismatch2: A's bit survived the failure");
		gmem_map_free(m2);
	}
	gmem_region_free(e2);
	free(blk);
	clean();
}

/* Bitmaps belong to regions: a map swap keeps them. */
static void test_map_swap(void)
{
	gmem_region *x = NULL;
	gmem_map *m2 = NULL, *m3 = NULL;
	uint8_t *blk = NULL, b = 1;
	uint64_t bm[1];

	clean();
	if (user_region(&x, 0x40000, 0x2000, DL, PS, &blk) != 0)
		tap_bail("X");
	if (gmem_map_insert(&m2, M, x) != 0)
		tap_bail("insert");
	is_int(gmem_write(M, 0x12000, &b, 1), 0, "swap: write through map A");
	bm[0] = 0;
	is_int(gmem_map_dirty_harvest(m2, WIN, WIN_LEN, PS, bm, 1), 0,
	       "swap: harvest through map B");
	is_u64(bm[0], BIT(2), "swap: B sees A's write (shared bitmap)");
	expect_dirty(0, "swap: and the harvest through B cleared it for A");
	is_int(gmem_write(m2, 0x41000, &b, 1), 0, "swap: write X through B");
	if (gmem_map_remove(&m3, m2, 0x40000, 0x2000, NULL) != 0)
		tap_bail("remove");
	bm[0] = ~0ULL;
	is_int(gmem_map_dirty_harvest(m3, 0x40000, 0x2000, PS, bm, 1), 0,
	       "swap: after removal X is a hole");
	is_u64(bm[0], 0, "swap: hole reads clean");
	gmem_map_free(m2);
	gmem_map_free(m3);
	{
		size_t nbits = 0;

		bm[0] = 0;
		is_int(gmem_region_dirty_harvest(x, bm, 1, &nbits), 0,
		       "swap: X's bitmap survives both maps");
		is_u64(bm[0], BIT(1), "swap: X still has bit 1");
	}
	gmem_region_free(x);
	free(blk);
}

/* ------------------------------------------------------------------------ */
/* The top of the address space                                              */
/* ------------------------------------------------------------------------ */

static void test_top(void)
{
	uint64_t bm[128];
	size_t nbits = 0;
	gmem_region *r = NULL;
	gmem_map *m = NULL;
	uint8_t *blk = NULL;

	clean();
	is_int(gmem_write_u8(M, UINT64_MAX, 9), 0, "top: write the last byte");
	bm[0] = 0;
	is_int(gmem_map_dirty_harvest(M, TOP2, 0x2000, PS, bm, 1), 0,
	       "top: map harvest ending at 2^64");
	is_u64(bm[0], BIT(1), "top: last bit set");
	is_int(gmem_write_u8(M, TOP2, 9), 0, "top: write the first byte of T");
	is_int(gmem_region_dirty_harvest(regs[RT].r, bm, 1, &nbits), 0,
	       "top: region harvest");
	is_u64(nbits, 2, "top: 2 bits");
	is_u64(bm[0], BIT(0), "top: bit 0");

	/* A dirty page larger than the region, at the top: one bit for
	 * frame (2^64 - 2 MiB) / 2 MiB. */
	if (tu_is_int(user_region(&r, UINT64_MAX - 0xfff, 0x1000, DL, 2u << 20,
				  &blk), 0, "top2M: create, 2 MiB dirty page")) {
		if (gmem_map_new(&m, &r, 1, 0) != 0)
			tap_bail("gmem_map_new");
		is_int(gmem_write_u8(m, UINT64_MAX, 1), 0,
		       "top2M: write the last byte");
		bm[0] = 0;
		is_int(gmem_map_dirty_harvest(m, UINT64_MAX - (2u << 20) + 1,
					      2u << 20, 2u << 20, bm, 1),
		       0, "top2M: map harvest of the last 2 MiB frame");
		is_u64(bm[0], BIT(0), "top2M: bit 0");
		is_int(gmem_write_u8(m, UINT64_MAX - 0xfff, 1), 0,
		       "top2M: write the first byte");
		nbits = 0;
		bm[0] = 0;
		is_int(gmem_region_dirty_harvest(r, bm, 1, &nbits), 0,
		       "top2M: region harvest");
		is_u64(nbits, 1, "top2M: one bit");
		is_u64(bm[0], BIT(0), "top2M: bit 0 set");
		gmem_map_free(m);
		gmem_region_free(r);
		free(blk);
		m = NULL;
		r = NULL;
	}

	/* One-byte dirty pages over the last 0x2000 bytes: 8192 bits. */
	if (!tu_is_int(user_region(&r, TOP2, 0x2000, DL, 1, &blk), 0,
		       "top1: create with 1-byte dirty pages"))
		return;
	if (gmem_map_new(&m, &r, 1, 0) != 0)
		tap_bail("gmem_map_new");
	is_int(gmem_write_u8(m, UINT64_MAX, 1), 0, "top1: write the last byte");
	memset(bm, 0xff, sizeof(bm));
	is_int(gmem_map_dirty_query(m, TOP2, 0x2000, 1, bm, 128), 0,
	       "top1: map query, page size 1");
	{
		int others = 0;

		for (int i = 0; i < 127; i++)
			others |= bm[i] != 0;
		ok(!others, "top1: words 0-126 clean");
		is_u64(bm[127], BIT(63), "top1: only bit 8191");
	}
	is_int(gmem_fill(m, UINT64_MAX - 2, 3, 7), 0, "top1: fill the last 3 bytes");
	is_int(gmem_map_mark_dirty(m, TOP2, 1), 0, "top1: mark the first byte");
	memset(bm, 0, sizeof(bm));
	is_int(gmem_map_dirty_harvest(m, UINT64_MAX - 63, 64, 1, bm, 1), 0,
	       "top1: harvest the last 64 bytes");
	is_u64(bm[0], BITS(61, 63), "top1: last 3 bits");
	nbits = 0;
	is_int(gmem_region_dirty_harvest(r, bm, 128, &nbits), 0,
	       "top1: region harvest");
	is_u64(nbits, 0x2000, "top1: 8192 bits");
	is_u64(bm[0], BIT(0), "top1: first byte bit 0");
	is_u64(bm[127], 0, "top1: the top bits were already harvested");
	is_int(gmem_write(m, UINT64_MAX - 0x7f, big, 0x80), 0,
	       "top1: write the last 128 bytes");
	nbits = 0;
	is_int(gmem_region_dirty_harvest(r, bm, 127, &nbits), -ENOBUFS,
	       "top1: 127 words -> -ENOBUFS");
	is_u64(nbits, 0x2000, "top1: -ENOBUFS reports 8192 bits");
	is_int(gmem_region_dirty_harvest(r, bm, 128, &nbits), 0,
	       "top1: region harvest after ENOBUFS");
	ok(bm[126] == ~0ULL && bm[127] == ~0ULL, "top1: last 128 bits set");
	gmem_map_free(m);
	gmem_region_free(r);
	free(blk);
}

/* Byte-granular dirty pages over (nearly) the whole 2^64 space. */
static void test_huge(void)
{
	static uint64_t hostbuf[2];
	struct {
		uint64_t gpa, len, dps;
	} cases[] = {
		{ 0, UINT64_MAX, 1 },
		{ 1, UINT64_MAX, 1 },
		{ 8, UINT64_MAX - 7, 1 },
		{ 0, UINT64_MAX, 2 },
		{ 0, UINT64_MAX, 8 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct gmem_region_config cfg = GMEM_REGION_CONFIG_INIT;
		gmem_region *r = NULL;

		cfg.backing = GMEM_BACKING_USER;
		cfg.flags = DL;
		cfg.gpa = cases[i].gpa;
		cfg.len = cases[i].len;
		cfg.host = (uint8_t *)hostbuf + (cases[i].gpa % 8);
		cfg.dirty_page_size = cases[i].dps;
		is_int(gmem_region_new(&r, &cfg), -ENOMEM,
		       "huge: gpa %#" PRIx64 " len %#" PRIx64 " dirty page %"
		       PRIu64 " -> -ENOMEM", cases[i].gpa, cases[i].len,
		       cases[i].dps);
		ok(r == NULL, "huge: case %zu: *out untouched", i);
		if (r)
			gmem_region_free(r);
	}
}

/*
 * Dirty pages of 1, 2 and 4 bytes (an aligned u64 then spans 8, 4 and 2 of
 * them) and 8, at region starts of every residue mod 256: the library
 * places each log's flags so that flags - first_frame is aligned, and the
 * write paths find a page's flag from that base and the address alone.
 */
static void test_small_pages(void)
{
	static const uint64_t dps[] = { 1, 2, 4, 8 };
	uint64_t bm[4];
	size_t nbits;
	int bad = 0, runs = 0;

	for (size_t i = 0; i < sizeof(dps) / sizeof(dps[0]); i++) {
		for (uint64_t skew = 0; skew < 256; skew += 8 * dps[i]) {
			uint64_t gpa = 0x100000 + skew, p = dps[i];
			gmem_region *r = NULL;
			gmem_map *m = NULL;
			uint8_t *blk = NULL;

			if (user_region(&r, gpa, 64, DL, p, &blk) != 0 ||
			    gmem_map_new(&m, &r, 1, 0) != 0)
				tap_bail("small pages: region or map");
			runs++;
			/* u64 at offset 16, u32 at 40, u16 at 50, u8 at 63. */
			bad += gmem_write_u64(m, gpa + 16, 1) != 0;
			bad += gmem_write_u32(m, gpa + 40, 1) != 0;
			bad += gmem_write_u16(m, gpa + 50, 1) != 0;
			bad += gmem_write_u8(m, gpa + 63, 1) != 0;
			memset(bm, 0, sizeof(bm));
			nbits = 0;
			bad += gmem_region_dirty_harvest(r, bm, 4, &nbits) != 0;
			bad += nbits != 64 / p;
			for (uint64_t b = 0; b < 64 / p; b++) {
				uint64_t lo = b * p, hi = lo + p - 1;
				bool want = (lo <= 23 && hi >= 16) ||
					    (lo <= 43 && hi >= 40) ||
					    (lo <= 51 && hi >= 50) || hi >= 63;
				bool got = (bm[b / 64] >> (b % 64)) & 1;

				bad += want != got;
			}
			gmem_map_free(m);
			gmem_region_free(r);
			free(blk);
		}
	}
	ok(runs == 32 + 16 + 8 + 4 && bad == 0,
	   "small pages: typed writes mark exactly their pages (%d logs, "
	   "%d mismatches)", runs, bad);
}

/*
 * Where a log's flags go (src/dirty.h): flags - first_frame must be a
 * non-zero multiple of SLOT_BASE_ALIGN (0 would read as "no log" and every
 * mark would be lost), and the flags must stay within the 2 *
 * SLOT_BASE_ALIGN bytes of slack after the storage's start.  Pure
 * arithmetic, so any address will do; first_frame equal to the storage
 * address is the one case that needs the second step.
 */
static void test_flags_placed(void)
{
	const uint64_t a = SLOT_BASE_ALIGN;
	const uintptr_t at[] = { 0x1000, 0x7f12345678c8, 0x10, 0x7ffffffff000 };
	size_t i, j, bad = 0, n = 0;

	diag("placement of the flags in a log's storage");
	for (i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		const uint64_t frames[] = { 0, 1, at[i], at[i] + 1, at[i] - 1,
					    at[i] + a, at[i] - a, at[i] + a - 1,
					    UINT64_MAX, UINT64_MAX - a + 1,
					    0x123456789abcdef1u };

		for (j = 0; j < sizeof(frames) / sizeof(frames[0]); j++) {
			uint8_t *s = (uint8_t *)at[i];
			uintptr_t p = (uintptr_t)gmem__flags_placed(s, frames[j]);
			uintptr_t base = p - (uintptr_t)frames[j];

			n++;
			if (p - at[i] >= 2 * a || base == 0 ||
			    (base & (a - 1)) != 0) {
				diag("  storage %#" PRIxPTR " frame %#" PRIx64
				     ": flags at %#" PRIxPTR, at[i], frames[j],
				     p);
				bad++;
			}
		}
		tu_is_ptr(gmem__flags_placed((uint8_t *)at[i], at[i]),
			  (uint8_t *)at[i] + a,
			  "frame == storage %#" PRIxPTR ": flags one step on",
			  at[i]);
	}
	is_int((int)bad, 0, "%zu placements: base non-zero, aligned, in the "
	       "slack", n);
}

int main(void)
{
	setup();
	test_creation();
	test_region_harvest();
	test_write_bulk();
	test_write_typed();
	test_write_atomic();
	test_reads_never_mark();
	test_failed_writes();
	test_read_fd_marks();
	test_mark_dirty();
	test_map_level();
	test_map_swap();
	test_top();
	test_huge();
	test_small_pages();
	test_flags_placed();
	teardown();
	return tap_done();
}
