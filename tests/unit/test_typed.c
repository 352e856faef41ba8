/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * test_typed.c - gmem_read_{u8,u16,u32,u64,le*,be*}() and the matching
 * gmem_write_*(): values, byte order, unaligned and region-straddling
 * values, holes, read-only regions, the top of the address space, and
 * tear-freedom of naturally aligned accesses under a concurrent writer
 * (vm-memory's CVE-2020-13759 and test_non_atomic_access).
 *
 * Layout (H = hole; USER regions point into malloc'd buffers of exactly the
 * region's size, so a one-byte overrun by the library is an ASan report):
 *   A [0x1000,0x2000) B [0x2000,0x3000)   adjacent
 *   H [0x3000,0x4000)
 *   C [0x4000,0x5000) READONLY (USER: writable host memory, so a wrong
 *                     write shows up as changed bytes, not as a crash)
 *   N [0x5000,0x6000) READONLY ANON (PROT_READ)
 *   H [0x6000,0x7000)
 *   R [0x7000,0x7001) one byte, S [0x7001,0x7010) adjacent: every aligned
 *                     word at 0x7000 straddles two regions
 *   H up to 2^64 - 0x1000
 *   T [2^64 - 0x1000, 2^64)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gmem.h"
#include "testutil.h"
#include "tap.h"

#define TOP (UINT64_MAX - 0xfffu) /* 2^64 - 0x1000 */
#define RO GMEM_REGION_READONLY

static struct fx_reg regs[] = {
	{ "A", 0x1000, 0x1000, 0, GMEM_BACKING_USER, NULL, NULL, NULL, NULL },
	{ "B", 0x2000, 0x1000, 0, GMEM_BACKING_USER, NULL, NULL, NULL, NULL },
	{ "C", 0x4000, 0x1000, RO, GMEM_BACKING_USER, NULL, NULL, NULL, NULL },
	{ "N", 0x5000, 0x1000, RO, GMEM_BACKING_ANON, NULL, NULL, NULL, NULL },
	{ "R", 0x7000, 0x1, 0, GMEM_BACKING_USER, NULL, NULL, NULL, NULL },
	{ "S", 0x7001, 0xf, 0, GMEM_BACKING_USER, NULL, NULL, NULL, NULL },
	{ "T", TOP, 0x1000, 0, GMEM_BACKING_USER, NULL, NULL, NULL, NULL },
};
#define NREGS (sizeof(regs) / sizeof(regs[0]))

static gmem_map *M;

static uint8_t pattern(uint64_t gpa)
{
	return (uint8_t)((gpa * 167u) ^ (gpa >> 8) ^ 0x3cu);
}

static uint8_t *hp(uint64_t gpa)
{
	uint8_t *h = fx_host(regs, NREGS, gpa);

	if (!h)
		tap_bail("hp(%#" PRIx64 "): address outside the fixture", gpa);
	return h;
}

static void setup(void)
{
	M = fx_setup(regs, NREGS, 0);
}

static void teardown(void)
{
	fx_teardown(regs, NREGS, M);
}

static void reset_all(void)
{
	fx_reset(regs, NREGS, pattern, 0);
}

static void snapshot(void)
{
	fx_snapshot(regs, NREGS);
}

static int unchanged(void)
{
	return fx_unchanged(regs, NREGS);
}

static int changed_only(uint64_t gpa, uint64_t len)
{
	return fx_changed_only(regs, NREGS, gpa, len);
}

static int guest_is(uint64_t gpa, const uint8_t *b, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		uint8_t *p = hp(gpa + i);

		if (!p || *p != b[i]) {
			diag("  guest byte %#" PRIx64 " is %#x, expected %#x", gpa + i,
			     p ? *p : 0u, b[i]);
			return 0;
		}
	}
	return 1;
}

static void peek(uint64_t gpa, uint8_t *b, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		uint8_t *p = hp(gpa + i);

		if (!p)
			tap_bail("peek in a hole");
		b[i] = *p;
	}
}

/* ------------------------------------------------------------------------ */
/* Variants                                                                  */
/* ------------------------------------------------------------------------ */

enum order { HOST, LE, BE };

typedef int (*rd_fn)(const gmem_map *, uint64_t, uint64_t *);
typedef int (*wr_fn)(const gmem_map *, uint64_t, uint64_t);

/*
 * Adapters to a common uint64_t signature.  The read adapter seeds the
 * typed output with the caller's *o (truncated), so an untouched output
 * comes back as the truncated sentinel; a NULL o passes NULL through.
 */
#define ADAPT(name, T)                                                         \
	static int rd_##name(const gmem_map *m, uint64_t g, uint64_t *o)       \
	{                                                                      \
		T x = o ? (T)*o : (T)0;                                        \
		int r = gmem_read_##name(m, g, o ? &x : NULL);                 \
		if (o)                                                         \
			*o = x;                                                \
		return r;                                                      \
	}                                                                      \
	static int wr_##name(const gmem_map *m, uint64_t g, uint64_t v)        \
	{                                                                      \
		return gmem_write_##name(m, g, (T)v);                          \
	}

ADAPT(u8, uint8_t)
ADAPT(u16, uint16_t)
ADAPT(u32, uint32_t)
ADAPT(u64, uint64_t)
ADAPT(le16, uint16_t)
ADAPT(le32, uint32_t)
ADAPT(le64, uint64_t)
ADAPT(be16, uint16_t)
ADAPT(be32, uint32_t)
ADAPT(be64, uint64_t)

struct variant {
	const char *name;
	unsigned size;
	enum order order;
	rd_fn rd;
	wr_fn wr;
};

static const struct variant variants[] = {
	{ "u8", 1, HOST, rd_u8, wr_u8 },	 { "u16", 2, HOST, rd_u16, wr_u16 },
	{ "u32", 4, HOST, rd_u32, wr_u32 },	 { "u64", 8, HOST, rd_u64, wr_u64 },
	{ "le16", 2, LE, rd_le16, wr_le16 }, { "le32", 4, LE, rd_le32, wr_le32 },
	{ "le64", 8, LE, rd_le64, wr_le64 }, { "be16", 2, BE, rd_be16, wr_be16 },
	{ "be32", 4, BE, rd_be32, wr_be32 }, { "be64", 8, BE, rd_be64, wr_be64 },
};
#define NVARIANTS (sizeof(variants) / sizeof(variants[0]))

static uint64_t mask_of(unsigned size)
{
	return size == 8 ? UINT64_MAX : (UINT64_C(1) << (8 * size)) - 1;
}

/* The guest bytes a value must become. */
static void encode(const struct variant *v, uint64_t val, uint8_t *b)
{
	if (v->order == HOST) {
		uint8_t u8 = (uint8_t)val;
		uint16_t u16 = (uint16_t)val;
		uint32_t u32 = (uint32_t)val;

		switch (v->size) {
		case 1: memcpy(b, &u8, 1); break;
		case 2: memcpy(b, &u16, 2); break;
		case 4: memcpy(b, &u32, 4); break;
		default: memcpy(b, &val, 8); break;
		}
		return;
	}
	for (unsigned i = 0; i < v->size; i++) {
		uint8_t byte = (uint8_t)(val >> (8 * i));

		b[v->order == LE ? i : v->size - 1 - i] = byte;
	}
}

/* The value guest bytes must read as. */
static uint64_t decode(const struct variant *v, const uint8_t *b)
{
	uint64_t r = 0;

	if (v->order == HOST) {
		uint16_t u16;
		uint32_t u32;

		switch (v->size) {
		case 1: return b[0];
		case 2: memcpy(&u16, b, 2); return u16;
		case 4: memcpy(&u32, b, 4); return u32;
		default: memcpy(&r, b, 8); return r;
		}
	}
	for (unsigned i = 0; i < v->size; i++)
		r |= (uint64_t)b[v->order == LE ? i : v->size - 1 - i] << (8 * i);
	return r;
}

#define SENT64 0xa5a5a5a5a5a5a5a5ull

static void test_variant(const struct variant *v)
{
	const char *n = v->name;
	unsigned s = v->size;
	uint64_t mask = mask_of(s);
	uint64_t val = UINT64_C(0x0123456789abcdef) & mask;
	uint64_t val2 = UINT64_C(0xfedcba9876543210) & mask;
	uint64_t sent = SENT64 & mask;
	uint64_t out, g;
	uint8_t b[8], b2[8];
	unsigned back = s > 3 ? 3 : s - 1; /* bytes before a boundary */

	reset_all();
	encode(v, val, b);
	encode(v, val2, b2);

	/* aligned, inside a region */
	snapshot();
	is_int(v->wr(M, 0x1100, val), 0, "%s: write aligned", n);
	ok(guest_is(0x1100, b, s), "%s: write aligned: guest bytes in %s byte order", n,
	   v->order == HOST ? "host" : v->order == LE ? "little-endian" : "big-endian");
	ok(changed_only(0x1100, s), "%s: write aligned: no other byte changed", n);
	out = 0;
	is_int(v->rd(M, 0x1100, &out), 0, "%s: read aligned", n);
	is_u64(out, val, "%s: round trip", n);
	/* decoding bytes put there by gmem_write() */
	if (gmem_write(M, 0x1200, b2, s) != 0)
		tap_bail("gmem_write");
	out = 0;
	is_int(v->rd(M, 0x1200, &out), 0, "%s: read bytes written by gmem_write", n);
	is_u64(out, val2, "%s: decodes guest byte order", n);

	/* unaligned inside a region */
	if (s > 1) {
		g = 0x1301;
		snapshot();
		is_int(v->wr(M, g, val), 0, "%s: write unaligned", n);
		ok(guest_is(g, b, s) && changed_only(g, s), "%s: write unaligned: bytes", n);
		out = 0;
		is_int(v->rd(M, g, &out), 0, "%s: read unaligned", n);
		is_u64(out, val, "%s: unaligned round trip", n);
		g = 0x7001; /* S starts at an odd address, host % 8 == 1 */
		snapshot();
		is_int(v->wr(M, g, val2), 0, "%s: write at the start of an odd region", n);
		ok(guest_is(g, b2, s) && changed_only(g, s), "%s: odd region: bytes", n);
		out = 0;
		is_int(v->rd(M, g, &out), 0, "%s: read at the start of an odd region", n);
		is_u64(out, val2, "%s: odd region round trip", n);
	}

	/* straddling two adjacent regions (unaligned) */
	if (s > 1) {
		g = 0x2000 - back;
		snapshot();
		is_int(v->wr(M, g, val), 0, "%s: write straddling adjacent regions at %#" PRIx64, n, g);
		ok(guest_is(g, b, s), "%s: straddling write: bytes on both sides", n);
		ok(changed_only(g, s), "%s: straddling write: no other byte changed", n);
		out = 0;
		is_int(v->rd(M, g, &out), 0, "%s: read straddling adjacent regions", n);
		is_u64(out, val, "%s: straddling round trip", n);
		if (gmem_write(M, g, b2, s) != 0)
			tap_bail("gmem_write");
		out = 0;
		is_int(v->rd(M, g, &out), 0, "%s: read straddling bytes from gmem_write", n);
		is_u64(out, val2, "%s: straddling decode", n);
	}

	/* naturally aligned but straddling (R is one byte, S follows): the
	 * header says such a value still transfers correctly, only without
	 * the single-instruction guarantee */
	if (s > 1) {
		snapshot();
		is_int(v->wr(M, 0x7000, val), 0,
		       "%s: aligned write straddling adjacent regions works", n);
		ok(guest_is(0x7000, b, s), "%s: aligned straddling write: bytes on both sides", n);
		ok(changed_only(0x7000, s), "%s: aligned straddling write: no other byte changed", n);
		out = SENT64;
		is_int(v->rd(M, 0x7000, &out), 0,
		       "%s: aligned read straddling adjacent regions works", n);
		is_u64(out, val, "%s: aligned straddling round trip", n);
	} else {
		uint8_t one = *hp(0x7000);

		out = 0;
		is_int(v->rd(M, 0x7000, &out), 0, "%s: read the 1-byte region", n);
		is_u64(out, one, "%s: 1-byte region value", n);
	}

	/* straddling into a hole: nothing transferred */
	g = 0x3000 - back;
	snapshot();
	is_int(v->wr(M, g, val), -EFAULT, "%s: write running into a hole -> -EFAULT", n);
	ok(unchanged(), "%s: write running into a hole: first bytes unchanged", n);
	out = SENT64;
	is_int(v->rd(M, g, &out), -EFAULT, "%s: read running into a hole -> -EFAULT", n);
	is_u64(out, sent, "%s: read running into a hole: out untouched", n);
	out = SENT64;
	is_int(v->rd(M, 0x3800, &out), -EFAULT, "%s: read in a hole -> -EFAULT", n);
	is_u64(out, sent, "%s: read in a hole: out untouched", n);
	is_int(v->wr(M, 0x3800, val), -EFAULT, "%s: write in a hole -> -EFAULT", n);
	if (s > 1) {
		is_int(v->rd(M, 0x4000 - 1, &out), -EFAULT, "%s: read from a hole into a region -> -EFAULT", n);
		is_int(v->wr(M, 0x4000 - 1, val), -EFAULT,
		       "%s: write from a hole into an RO region -> -EFAULT (hole first)", n);
		is_int(v->wr(M, 0x7010 - 1, val), -EFAULT, "%s: write past the end of S -> -EFAULT", n);
	}
	ok(unchanged(), "%s: hole failures: nothing written", n);

	/* read-only regions */
	snapshot();
	is_int(v->wr(M, 0x4000, val), -EACCES, "%s: write to RO region -> -EACCES", n);
	is_int(v->wr(M, 0x5000 - s, val), -EACCES, "%s: write to RO region's last bytes -> -EACCES", n);
	ok(unchanged(), "%s: RO write: nothing written", n);
	peek(0x4008, b2, s);
	out = 0;
	is_int(v->rd(M, 0x4008, &out), 0, "%s: read from RO region", n);
	is_u64(out, decode(v, b2), "%s: read from RO region: value", n);
	out = SENT64;
	is_int(v->rd(M, 0x5000, &out), 0, "%s: read from a PROT_READ ANON region", n);
	is_u64(out, 0, "%s: PROT_READ ANON region reads zero", n);
	is_int(v->wr(M, 0x5000, val), -EACCES, "%s: write to PROT_READ ANON region -> -EACCES", n);

	/* top of the address space */
	g = UINT64_MAX - (s - 1);
	snapshot();
	is_int(v->wr(M, g, val), 0, "%s: write the last %u byte(s) of the address space", n, s);
	ok(guest_is(g, b, s) && changed_only(g, s), "%s: top write: bytes", n);
	out = 0;
	is_int(v->rd(M, g, &out), 0, "%s: read the last %u byte(s) of the address space", n, s);
	is_u64(out, val, "%s: top round trip", n);
	if (s > 1) {
		snapshot();
		out = SENT64;
		is_int(v->rd(M, g + 1, &out), -EOVERFLOW, "%s: read running past 2^64 -> -EOVERFLOW", n);
		is_u64(out, sent, "%s: overflowing read: out untouched", n);
		is_int(v->wr(M, g + 1, val), -EOVERFLOW, "%s: write running past 2^64 -> -EOVERFLOW", n);
		is_int(v->rd(M, UINT64_MAX, &out), -EOVERFLOW, "%s: read at UINT64_MAX -> -EOVERFLOW", n);
		is_int(v->wr(M, UINT64_MAX, val), -EOVERFLOW, "%s: write at UINT64_MAX -> -EOVERFLOW", n);
		is_int(v->rd(M, UINT64_MAX - 0x2000, &out), -EFAULT, "%s: read in the hole below the top -> -EFAULT", n);
		ok(unchanged(), "%s: overflow: nothing written", n);
	}

	/* -EINVAL */
	is_int(v->rd(NULL, 0x1100, &out), -EINVAL, "%s: read, NULL map -> -EINVAL", n);
	is_int(v->wr(NULL, 0x1100, val), -EINVAL, "%s: write, NULL map -> -EINVAL", n);
	is_int(v->rd(M, 0x1100, NULL), -EINVAL, "%s: read, NULL out -> -EINVAL", n);
	is_int(v->rd(M, 0x3800, NULL), -EINVAL, "%s: read, NULL out in a hole -> -EINVAL first", n);
	if (s > 1)
		is_int(v->rd(M, UINT64_MAX, NULL), -EINVAL, "%s: read, NULL out beats -EOVERFLOW", n);
	is_int(v->rd(NULL, 0x3800, &out), -EINVAL, "%s: read, NULL map in a hole -> -EINVAL", n);
}

/* Literal byte-order checks, independent of the encode() helper. */
static void test_byte_order_literals(void)
{
	static const uint8_t le16[] = { 0x22, 0x11 };
	static const uint8_t be16[] = { 0x11, 0x22 };
	static const uint8_t le32[] = { 0x44, 0x33, 0x22, 0x11 };
	static const uint8_t be32[] = { 0x11, 0x22, 0x33, 0x44 };
	static const uint8_t le64[] = { 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11 };
	static const uint8_t be64[] = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88 };
	uint16_t v16 = 0;
	uint32_t v32 = 0;
	uint64_t v64 = 0;

	is_int(gmem_write_le16(M, 0x1800, 0x1122), 0, "write_le16 0x1122");
	ok(guest_is(0x1800, le16, 2), "write_le16 0x1122 gives 22 11");
	is_int(gmem_write_be16(M, 0x1800, 0x1122), 0, "write_be16 0x1122");
	ok(guest_is(0x1800, be16, 2), "write_be16 0x1122 gives 11 22");
	is_int(gmem_write_le32(M, 0x1800, 0x11223344), 0, "write_le32 0x11223344");
	ok(guest_is(0x1800, le32, 4), "write_le32 0x11223344 gives 44 33 22 11");
	is_int(gmem_write_be32(M, 0x1800, 0x11223344), 0, "write_be32 0x11223344");
	ok(guest_is(0x1800, be32, 4), "write_be32 0x11223344 gives 11 22 33 44");
	is_int(gmem_write_le64(M, 0x1800, 0x1122334455667788ull), 0, "write_le64");
	ok(guest_is(0x1800, le64, 8), "write_le64 gives 88 77 .. 11");
	is_int(gmem_write_be64(M, 0x1800, 0x1122334455667788ull), 0, "write_be64");
	ok(guest_is(0x1800, be64, 8), "write_be64 gives 11 22 .. 88");

	if (gmem_write(M, 0x1810, le32, 4) != 0 || gmem_write(M, 0x1818, le64, 8) != 0 ||
	    gmem_write(M, 0x1820, le16, 2) != 0)
		tap_bail("gmem_write");
	is_int(gmem_read_le32(M, 0x1810, &v32), 0, "read_le32");
	is_u64(v32, 0x11223344, "read_le32 of 44 33 22 11 is 0x11223344");
	is_int(gmem_read_be32(M, 0x1810, &v32), 0, "read_be32");
	is_u64(v32, 0x44332211, "read_be32 of 44 33 22 11 is 0x44332211");
	is_int(gmem_read_le64(M, 0x1818, &v64), 0, "read_le64");
	is_u64(v64, 0x1122334455667788ull, "read_le64 of 88 .. 11");
	is_int(gmem_read_be64(M, 0x1818, &v64), 0, "read_be64");
	is_u64(v64, 0x8877665544332211ull, "read_be64 of 88 .. 11");
	is_int(gmem_read_le16(M, 0x1820, &v16), 0, "read_le16");
	is_u64(v16, 0x1122, "read_le16 of 22 11 is 0x1122");
	is_int(gmem_read_be16(M, 0x1820, &v16), 0, "read_be16");
	is_u64(v16, 0x2211, "read_be16 of 22 11 is 0x2211");
	{
		uint32_t host = 0;

		is_int(gmem_read_u32(M, 0x1810, &v32), 0, "read_u32");
		memcpy(&host, le32, 4);
		is_u64(v32, host, "read_u32 is host byte order");
	}
	/* u64 at boundary - 3, read back with the other byte orders */
	is_int(gmem_write_be64(M, 0x1ffd, 0x0102030405060708ull), 0, "write_be64 straddling A/B");
	is_int(gmem_read_le64(M, 0x1ffd, &v64), 0, "read_le64 straddling A/B");
	is_u64(v64, 0x0807060504030201ull, "be64 written, le64 read: byte-reversed");
	is_u64(*hp(0x1fff), 0x03, "byte 3 of the value is the last byte of A");
	is_u64(*hp(0x2000), 0x04, "byte 4 of the value is the first byte of B");
}

/* ------------------------------------------------------------------------ */
/* Tear-freedom                                                              */
/* ------------------------------------------------------------------------ */

struct tear {
	const struct variant *v;
	uint64_t gpa;
	atomic_int stop;
	atomic_int started;
	unsigned long writes; /* read by main only after join */
	unsigned long errors;
};

static void *tear_writer(void *arg)
{
	struct tear *t = arg;
	uint64_t ones = mask_of(t->v->size);

	while (!atomic_load_explicit(&t->stop, memory_order_relaxed)) {
		if (t->v->wr(M, t->gpa, 0) != 0)
			t->errors++;
		if (t->v->wr(M, t->gpa, ones) != 0)
			t->errors++;
		t->writes += 2;
		atomic_store_explicit(&t->started, 1, memory_order_release);
	}
	return NULL;
}

static void tear_test(const struct variant *v, uint64_t gpa, unsigned long reads,
		      const char *where)
{
	struct tear t;
	pthread_t th;
	uint64_t ones = mask_of(v->size), out;
	unsigned long torn = 0, errs = 0, zeros = 0, full = 0;
	uint64_t bad = 0;

	memset(&t, 0, sizeof(t));
	t.v = v;
	t.gpa = gpa;
	atomic_init(&t.stop, 0);
	atomic_init(&t.started, 0);
	if (v->wr(M, gpa, 0) != 0) {
		ok(0, "tear %s %s: initial write", v->name, where);
		return;
	}
	if (pthread_create(&th, NULL, tear_writer, &t) != 0) {
		skip("tear %s %s: pthread_create failed", v->name, where);
		return;
	}
	while (!atomic_load_explicit(&t.started, memory_order_acquire))
		;
	for (unsigned long i = 0; i < reads; i++) {
		out = 0x5a5a5a5a5a5a5a5aull & ones;
		if (v->rd(M, gpa, &out) != 0) {
			errs++;
			continue;
		}
		if (out == 0)
			zeros++;
		else if (out == ones)
			full++;
		else {
			if (!torn)
				bad = out;
			torn++;
		}
	}
	atomic_store_explicit(&t.stop, 1, memory_order_relaxed);
	pthread_join(th, NULL);

	diag("tear %s %s: %lu reads (%lu zero, %lu all-ones), %lu writes", v->name,
	     where, reads, zeros, full, t.writes);
	is_int(errs, 0, "tear %s %s: every read succeeded", v->name, where);
	is_int(t.errors, 0, "tear %s %s: every concurrent write succeeded", v->name, where);
	if (!ok(torn == 0, "tear %s %s: never saw a half-written value", v->name, where))
		diag("  %lu torn reads, first %#" PRIx64, torn, bad);
}

static const struct variant *find_variant(const char *name)
{
	for (size_t i = 0; i < NVARIANTS; i++)
		if (strcmp(variants[i].name, name) == 0)
			return &variants[i];
	tap_bail("no variant %s", name);
}

static void test_tearing(void)
{
	/* The last aligned word of A, with B adjacent after it: the value is
	 * in one region, the object around it would straddle (vm-memory's
	 * test_non_atomic_access). */
	tear_test(find_variant("u16"), 0x1ffe, 200000, "at the last 2 bytes of a region");
	tear_test(find_variant("u32"), 0x1ffc, 200000, "at the last 4 bytes of a region");
	tear_test(find_variant("u64"), 0x1ff8, 200000, "at the last 8 bytes of a region");
	tear_test(find_variant("u64"), 0x1100, 100000, "inside a region");
	tear_test(find_variant("be32"), 0x2000, 50000, "at the first word of a region");
	tear_test(find_variant("le64"), UINT64_MAX - 7, 50000, "at the last word of the address space");
}

int main(void)
{
	setup();
	for (size_t i = 0; i < NVARIANTS; i++)
		test_variant(&variants[i]);
	reset_all();
	test_byte_order_literals();
	test_tearing();
	teardown();
	return tap_done();
}
