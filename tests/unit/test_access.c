/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * test_access.c - bounds-checked bulk access over a map: gmem_translate(),
 * gmem_translate_exact(), gmem_check_range(), gmem_read()/gmem_write(), the
 * _partial variants, gmem_copy(), gmem_fill()/gmem_zero() and gmem_iovec().
 *
 * Every caller-visible rule of the "Access" block in gmem.h is checked:
 * error order (-EINVAL, -EOVERFLOW, -EFAULT, -EACCES; first problem in
 * address order decides), all-or-nothing transfers, zero length anywhere,
 * ranges ending exactly at 2^64, and transparent crossing of adjacent
 * regions.  These are the checks that make start-only translation
 * (CVE-2018-1059, CVE-2019-18960), wrapping range arithmetic (libvfio-user
 * 2021) and partial writes on failure impossible.
 *
 * USER-backed regions point into malloc'd buffers of exactly the region's
 * size, so a library overrun of even one byte is an ASan report.  A
 * READONLY USER region is writable host memory: a library that wrongly
 * writes to it is caught by a content check instead of a crash.
 *
 * Layout of the main map (H = hole):
 *   Z [0x0000,0x1000) A [0x1000,0x2000) B [0x2000,0x3000)   three adjacent
 *   H [0x3000,0x4000)
 *   C [0x4000,0x5000) READONLY
 *   H [0x5000,0x6000)
 *   D [0x6000,0x7000) ANON   E [0x7000,0x8000) READONLY   F [0x8000,0x9000)
 *   H [0x9000,0xa000)
 *   G [0xa000,0xa001) one byte
 *   H [0xa001,0xb003)
 *   K [0xb003,0xb020) host % 8 == 3
 *   H up to 2^64 - 0x1000
 *   T [2^64 - 0x1000, 2^64)  the byte UINT64_MAX is mapped
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "gmem.h"
#include "testutil.h"
#include "tap.h"

#define TOP (UINT64_MAX - 0xfffu) /* 2^64 - 0x1000 */
#define RO GMEM_REGION_READONLY
#define RD GMEM_ACCESS_READ
#define WR GMEM_ACCESS_WRITE
#define RW GMEM_ACCESS_RW

static struct fx_reg regs[] = {
	{ "Z", 0x0000, 0x1000, 0, GMEM_BACKING_USER, NULL, NULL, NULL, NULL },
	{ "A", 0x1000, 0x1000, 0, GMEM_BACKING_USER, NULL, NULL, NULL, NULL },
	{ "B", 0x2000, 0x1000, 0, GMEM_BACKING_USER, NULL, NULL, NULL, NULL },
	{ "C", 0x4000, 0x1000, RO, GMEM_BACKING_USER, NULL, NULL, NULL, NULL },
	{ "D", 0x6000, 0x1000, 0, GMEM_BACKING_ANON, NULL, NULL, NULL, NULL },
	{ "E", 0x7000, 0x1000, RO, GMEM_BACKING_USER, NULL, NULL, NULL, NULL },
	{ "F", 0x8000, 0x1000, 0, GMEM_BACKING_USER, NULL, NULL, NULL, NULL },
	{ "G", 0xa000, 0x1, 0, GMEM_BACKING_USER, NULL, NULL, NULL, NULL },
	{ "K", 0xb003, 0x1d, 0, GMEM_BACKING_USER, NULL, NULL, NULL, NULL },
	{ "T", TOP, 0x1000, 0, GMEM_BACKING_USER, NULL, NULL, NULL, NULL },
};
#define NREGS (sizeof(regs) / sizeof(regs[0]))

static gmem_map *M;	/* the map above */
static gmem_map *EMPTY; /* the empty map */

/* ------------------------------------------------------------------------ */
/* Fixture helpers                                                           */
/* ------------------------------------------------------------------------ */

static uint8_t pattern(uint64_t gpa)
{
	return (uint8_t)((gpa * 131u) ^ (gpa >> 8) ^ 0x5au);
}

/* Expected host address of a mapped guest byte (NULL for a hole). */
static uint8_t *hp(uint64_t gpa)
{
	return fx_host(regs, NREGS, gpa);
}

static void setup(void)
{
	/* Regions handed over in reverse order: any order works. */
	M = fx_setup(regs, NREGS, 1);
	if (gmem_map_new(&EMPTY, NULL, 0, 0) != 0)
		tap_bail("gmem_map_new(empty)");
}

static void teardown(void)
{
	gmem_map_free(EMPTY);
	fx_teardown(regs, NREGS, M);
}

static void reset_all(void)
{
	fx_reset(regs, NREGS, pattern, 1);
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

/* Copy guest bytes [gpa, gpa + len) (all mapped) out via host pointers. */
static void peek(uint64_t gpa, void *buf, size_t len)
{
	uint8_t *b = buf;

	for (size_t i = 0; i < len; i++) {
		uint8_t *p = hp(gpa + i);

		if (!p)
			tap_bail("peek in a hole at %#" PRIx64, gpa + i);
		b[i] = *p;
	}
}

/* Whether guest bytes [gpa, gpa + len) equal buf, read via host pointers. */
static int guest_is(uint64_t gpa, const void *buf, size_t len)
{
	const uint8_t *b = buf;

	for (size_t i = 0; i < len; i++) {
		uint8_t *p = hp(gpa + i);

		if (!p || *p != b[i]) {
			diag("  guest byte %#" PRIx64 " differs", gpa + i);
			return 0;
		}
	}
	return 1;
}

static int all_bytes(const void *buf, uint8_t v, size_t len)
{
	const uint8_t *b = buf;

	for (size_t i = 0; i < len; i++)
		if (b[i] != v)
			return 0;
	return 1;
}

static void fill_random(uint8_t *buf, size_t len, uint32_t seed)
{
	for (size_t i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		buf[i] = (uint8_t)(seed >> 16);
	}
}

static int sentinel_obj;
#define SENT ((void *)&sentinel_obj)
#define SENT_U64 0xdeadbeefcafef00dull

/* ------------------------------------------------------------------------ */
/* gmem_translate                                                            */
/* ------------------------------------------------------------------------ */

#define TR_OK(gpa, len, acc, want_avail, msg)                                  \
	do {                                                                   \
		void *h_ = SENT;                                               \
		uint64_t av_ = SENT_U64;                                       \
		is_int(gmem_translate(M, gpa, len, acc, &h_, &av_), 0,         \
		       "translate: %s: succeeds", msg);                        \
		is_ptr(h_, hp(gpa), "translate: %s: host = region host + offset", \
		       msg);                                                   \
		is_u64(av_, want_avail, "translate: %s: avail", msg);          \
	} while (0)

#define TR_ERR(map, gpa, len, acc, want, msg)                                  \
	do {                                                                   \
		void *h_ = SENT;                                               \
		uint64_t av_ = SENT_U64;                                       \
		is_int(gmem_translate(map, gpa, len, acc, &h_, &av_), want,    \
		       "translate: %s", msg);                                  \
		ok(h_ == SENT && av_ == SENT_U64,                              \
		   "translate: %s: outputs untouched", msg);                   \
	} while (0)

static void test_translate(void)
{
	void *h = SENT;
	uint64_t av = SENT_U64;

	reset_all();
	TR_OK(0x1000, 0x10, RD, 0x10, "region start");
	TR_OK(0x1000, 0x1000, RD, 0x1000, "whole region");
	TR_OK(0x1800, 0x800, RW, 0x800, "to region end exactly, RW");
	TR_OK(0x1fff, 1, WR, 1, "last byte of a region");
	TR_OK(0x0, 1, RD, 1, "address 0");
	TR_OK(0x0, 0x1000, RD, 0x1000, "region at address 0, whole");
	TR_OK(0xa000, 1, RW, 1, "1-byte region");
	TR_OK(0xa000, 5, RD, 1, "1-byte region, len 5: avail 1");
	TR_OK(0xb003, 0x1d, RW, 0x1d, "odd-aligned region, whole");
	TR_OK(0xb010, 0x100, RD, 0x10, "odd-aligned region, len past its end");
	TR_OK(0x6000, 0x10, RW, 0x10, "ANON region");

	/* crossing into the adjacent region: first fragment only */
	TR_OK(0x1ff0, 0x20, RD, 0x10, "len crossing into adjacent region");
	TR_OK(0x2000, 0x10, RD, 0x10, "second fragment at gpa + avail");
	ok(hp(0x2000) == regs[2].host, "second fragment is region B's host");
	TR_OK(0x0800, 0x2000, RD, 0x800, "three adjacent regions: first");
	TR_OK(0x1000, 0x1800, RD, 0x1000, "three adjacent regions: second");
	TR_OK(0x2000, 0x800, RD, 0x800, "three adjacent regions: third");
	/* the fragment walk, as the header describes it */
	{
		uint64_t gpa = 0x0800, left = 0x2000, frags = 0, total = 0;
		int bad = 0;

		while (left > 0 && frags < 10) {
			h = SENT;
			if (gmem_translate(M, gpa, left, RD, &h, &av) != 0 ||
			    h != hp(gpa) || av == 0 || av > left) {
				bad = 1;
				break;
			}
			gpa += av;
			left -= av;
			total += av;
			frags++;
		}
		ok(!bad && frags == 3 && total == 0x2000,
		   "translate: walking gpa + avail visits 3 fragments totalling len");
	}
	/* first fragment followed by a hole still translates */
	TR_OK(0x2ff0, 0x100, RD, 0x10, "range running into a hole: first fragment");
	TR_ERR(M, 0x3000, 0x10, RD, -EFAULT, "continuing at gpa + avail hits the hole");
	TR_OK(0x8ff0, 0x10000, RW, 0x10, "huge len clipped to region end");

	/* holes */
	TR_ERR(M, 0x3000, 1, RD, -EFAULT, "hole start -> -EFAULT");
	TR_ERR(M, 0x3fff, 2, RD, -EFAULT, "last hole byte before a region -> -EFAULT");
	TR_ERR(M, 0x9fff, 1, RD, -EFAULT, "byte before 1-byte region -> -EFAULT");
	TR_ERR(M, 0xa001, 1, RD, -EFAULT, "byte after 1-byte region -> -EFAULT");
	TR_ERR(M, 0xb002, 1, RD, -EFAULT, "byte before odd region -> -EFAULT");
	TR_ERR(M, 0xb020, 1, RD, -EFAULT, "byte after odd region -> -EFAULT");
	TR_ERR(M, TOP - 1, 1, RD, -EFAULT, "byte before top region -> -EFAULT");
	TR_ERR(M, 0x100000, 1, WR, -EFAULT, "hole, write -> -EFAULT not -EACCES");
	TR_ERR(EMPTY, 0, 1, RD, -EFAULT, "empty map -> -EFAULT");
	TR_ERR(EMPTY, UINT64_MAX, 1, RD, -EFAULT, "empty map at UINT64_MAX -> -EFAULT");

	/* -EINVAL */
	TR_ERR(M, 0x1000, 0, RD, -EINVAL, "len 0 -> -EINVAL");
	TR_ERR(M, 0x3000, 0, RD, -EINVAL, "len 0 in a hole -> -EINVAL");
	TR_ERR(NULL, 0x1000, 1, RD, -EINVAL, "NULL map -> -EINVAL");
	TR_ERR(M, 0x1000, 1, 0, -EINVAL, "access 0 -> -EINVAL");
	TR_ERR(M, 0x1000, 1, 4, -EINVAL, "access bit 4 -> -EINVAL");
	TR_ERR(M, 0x1000, 1, RD | 4u, -EINVAL, "READ plus unknown bit -> -EINVAL");
	TR_ERR(M, 0x1000, 1, 0x80000000u, -EINVAL, "access high bit -> -EINVAL");
	is_int(gmem_translate(M, 0x1000, 1, RD, NULL, &av), -EINVAL,
	       "translate: NULL host -> -EINVAL");
	h = SENT;
	is_int(gmem_translate(M, 0x1000, 1, RD, &h, NULL), -EINVAL,
	       "translate: NULL avail -> -EINVAL");
	ok(h == SENT, "translate: NULL avail: host untouched");
	TR_ERR(M, UINT64_MAX, 2, 0, -EINVAL, "bad access beats -EOVERFLOW");
	TR_ERR(M, 0x3000, 1, 4, -EINVAL, "bad access beats -EFAULT");
	TR_ERR(M, 0x4000, 1, WR | 4u, -EINVAL, "bad access beats -EACCES");

	/* read-only */
	TR_OK(0x4000, 0x1000, RD, 0x1000, "read-only region, read");
	TR_ERR(M, 0x4000, 1, WR, -EACCES, "read-only region, write -> -EACCES");
	TR_ERR(M, 0x4fff, 1, RW, -EACCES, "read-only region, RW -> -EACCES");
	TR_OK(0x6ff0, 0x20, WR, 0x10, "write: RW region then adjacent RO one (first fragment only)");
	TR_ERR(M, 0x7000, 0x10, WR, -EACCES, "write continuing into the RO region -> -EACCES");
	TR_OK(0x7ff0, 0x20, RD, 0x10, "read: RO region then RW one");

	/* top of the address space */
	TR_OK(TOP, 0x1000, RW, 0x1000, "region ending at 2^64, whole");
	TR_OK(UINT64_MAX, 1, RW, 1, "last byte UINT64_MAX, len 1");
	TR_OK(UINT64_MAX - 1, 2, RD, 2, "last 2 bytes");
	TR_ERR(M, UINT64_MAX, 2, RD, -EOVERFLOW, "len 2 at UINT64_MAX -> -EOVERFLOW");
	TR_ERR(M, TOP + 0x10, 0x1000, RD, -EOVERFLOW, "past 2^64 -> -EOVERFLOW");
	TR_ERR(M, TOP, UINT64_MAX, RD, -EOVERFLOW, "len UINT64_MAX from top region -> -EOVERFLOW");
	TR_ERR(M, UINT64_MAX, UINT64_MAX, RD, -EOVERFLOW, "UINT64_MAX + UINT64_MAX -> -EOVERFLOW");
	TR_ERR(M, TOP - 0x1000, 0x2001, RD, -EOVERFLOW, "gpa in a hole, range past 2^64 -> -EOVERFLOW first");
	TR_ERR(M, 0x4000, UINT64_MAX, WR, -EOVERFLOW, "-EOVERFLOW beats -EACCES");
	TR_OK(0, UINT64_MAX, RD, 0x1000, "gpa 0, len UINT64_MAX (ends at 2^64 - 1)");
	TR_OK(1, UINT64_MAX, RD, 0xfff, "gpa 1, len UINT64_MAX (ends exactly at 2^64)");
	TR_ERR(M, 2, UINT64_MAX, RD, -EOVERFLOW, "gpa 2, len UINT64_MAX -> -EOVERFLOW");
	TR_ERR(EMPTY, UINT64_MAX, 2, RD, -EOVERFLOW, "empty map: overflow -> -EOVERFLOW");
}

/* ------------------------------------------------------------------------ */
/* gmem_translate_exact                                                      */
/* ------------------------------------------------------------------------ */

#define TX_OK(gpa, len, acc, msg)                                              \
	do {                                                                   \
		void *h_ = SENT;                                               \
		is_int(gmem_translate_exact(M, gpa, len, acc, &h_), 0,         \
		       "translate_exact: %s: succeeds", msg);                  \
		is_ptr(h_, hp(gpa), "translate_exact: %s: host", msg);         \
	} while (0)

#define TX_ERR(map, gpa, len, acc, want, msg)                                  \
	do {                                                                   \
		void *h_ = SENT;                                               \
		is_int(gmem_translate_exact(map, gpa, len, acc, &h_), want,    \
		       "translate_exact: %s", msg);                            \
		ok(h_ == SENT, "translate_exact: %s: host untouched", msg);    \
	} while (0)

static void test_translate_exact(void)
{
	void *h = SENT;
	int rc;

	TX_OK(0x1000, 0x1000, RW, "whole region");
	TX_OK(0x1100, 0x10, RD, "inside a region");
	TX_OK(0x1fff, 1, WR, "last byte of a region");
	TX_OK(0x0, 0x1000, RD, "region at address 0");
	TX_OK(0xa000, 1, RW, "1-byte region");
	TX_OK(0xb003, 0x1d, RW, "odd-aligned region, whole");
	TX_OK(0x4000, 0x1000, RD, "read-only region, read");
	TX_OK(TOP, 0x1000, RW, "region ending at 2^64");
	TX_OK(UINT64_MAX, 1, RD, "byte UINT64_MAX");

	TX_ERR(M, 0x1ff0, 0x20, RD, -EXDEV, "spanning two adjacent regions -> -EXDEV");
	TX_ERR(M, 0x1fff, 2, RW, -EXDEV, "2 bytes across the boundary -> -EXDEV");
	TX_ERR(M, 0x0, 0x3000, RD, -EXDEV, "three adjacent regions -> -EXDEV");
	TX_ERR(M, 0x7ff0, 0x20, RD, -EXDEV, "RO then RW region, read -> -EXDEV");
	TX_ERR(M, 0x2ff0, 0x20, RD, -EFAULT, "running into a hole -> -EFAULT");
	TX_ERR(M, 0x1ff0, 0x1020, RD, -EFAULT, "adjacent then hole -> -EFAULT, not -EXDEV");
	TX_ERR(M, 0x3000, 1, RD, -EFAULT, "in a hole -> -EFAULT");
	TX_ERR(M, 0xa000, 2, RD, -EFAULT, "1-byte region, len 2 -> -EFAULT");
	TX_ERR(M, 0xb002, 2, RD, -EFAULT, "hole then odd region -> -EFAULT");
	TX_ERR(M, 0x4000, 1, WR, -EACCES, "read-only region, write -> -EACCES");
	TX_ERR(M, 0x4ff0, 0x20, WR, -EACCES, "RO region then hole, write: RO first -> -EACCES");
	TX_ERR(M, 0x4ff0, 0x20, RD, -EFAULT, "RO region then hole, read -> -EFAULT");
	TX_ERR(M, 0x3ff0, 0x20, WR, -EFAULT, "hole then RO region, write: hole first -> -EFAULT");
	TX_ERR(EMPTY, 0x1000, 1, RD, -EFAULT, "empty map -> -EFAULT");

	/* RW then adjacent RO, write: fully mapped, spans two regions, and a
	 * write touches the RO one.  The header lists both -EACCES and -EXDEV
	 * without ordering them; either is an error, success is not. */
	rc = gmem_translate_exact(M, 0x6ff0, 0x20, WR, &h);
	ok(rc == -EACCES || rc == -EXDEV,
	   "translate_exact: RW then RO region, write -> -EACCES or -EXDEV (got %d)", rc);
	ok(h == SENT, "translate_exact: RW then RO region, write: host untouched");

	TX_ERR(M, 0x1000, 0, RD, -EINVAL, "len 0 -> -EINVAL");
	TX_ERR(NULL, 0x1000, 1, RD, -EINVAL, "NULL map -> -EINVAL");
	TX_ERR(M, 0x1000, 1, 0, -EINVAL, "access 0 -> -EINVAL");
	TX_ERR(M, 0x1000, 1, 4, -EINVAL, "access bit 4 -> -EINVAL");
	TX_ERR(M, 0x3000, 1, 8, -EINVAL, "bad access in a hole -> -EINVAL first");
	is_int(gmem_translate_exact(M, 0x1000, 1, RD, NULL), -EINVAL,
	       "translate_exact: NULL host -> -EINVAL");
	TX_ERR(M, UINT64_MAX, 2, RD, -EOVERFLOW, "len 2 at UINT64_MAX -> -EOVERFLOW");
	TX_ERR(M, TOP, 0x1001, RD, -EOVERFLOW, "top region + 1 byte -> -EOVERFLOW");
	TX_ERR(M, 0x10000, UINT64_MAX, RD, -EOVERFLOW, "hole + huge len -> -EOVERFLOW first");
	TX_ERR(M, 1, UINT64_MAX, RD, -EFAULT, "gpa 1, len UINT64_MAX (ends at 2^64) -> -EFAULT");
}

/* ------------------------------------------------------------------------ */
/* gmem_check_range                                                          */
/* ------------------------------------------------------------------------ */

static void test_check_range(void)
{
	is_int(gmem_check_range(M, 0x3000, 0, RD), 0, "check_range: len 0 in a hole");
	is_int(gmem_check_range(M, 0x4000, 0, WR), 0, "check_range: len 0 write in RO region");
	is_int(gmem_check_range(M, UINT64_MAX, 0, RW), 0, "check_range: len 0 at UINT64_MAX");
	is_int(gmem_check_range(EMPTY, 0, 0, RD), 0, "check_range: len 0 on the empty map");

	is_int(gmem_check_range(M, 0x1000, 0x1000, RW), 0, "check_range: whole region");
	is_int(gmem_check_range(M, 0x1000, 0x2000, RW), 0, "check_range: two adjacent regions exactly");
	is_int(gmem_check_range(M, 0x0, 0x3000, RW), 0, "check_range: three adjacent regions exactly");
	is_int(gmem_check_range(M, 0x0, 0x3001, RD), -EFAULT, "check_range: one more byte -> -EFAULT");
	is_int(gmem_check_range(M, 0x1000, 0x2001, RD), -EFAULT, "check_range: A+B plus one byte -> -EFAULT");
	is_int(gmem_check_range(M, 0x2fff, 1, RD), 0, "check_range: last byte before the hole");
	is_int(gmem_check_range(M, 0x3000, 1, RD), -EFAULT, "check_range: first hole byte -> -EFAULT");
	is_int(gmem_check_range(M, 0x3fff, 2, RD), -EFAULT, "check_range: hole then region -> -EFAULT");
	is_int(gmem_check_range(M, 0x2ff0, 0x1020, RD), -EFAULT, "check_range: crossing a hole -> -EFAULT");
	is_int(gmem_check_range(M, 0xa000, 1, RW), 0, "check_range: 1-byte region");
	is_int(gmem_check_range(M, 0xa000, 2, RD), -EFAULT, "check_range: 1-byte region + 1 -> -EFAULT");
	is_int(gmem_check_range(M, 0x9fff, 2, RD), -EFAULT, "check_range: byte before 1-byte region -> -EFAULT");
	is_int(gmem_check_range(M, 0xb003, 0x1d, RW), 0, "check_range: odd region whole");
	is_int(gmem_check_range(M, 0xb003, 0x1e, RW), -EFAULT, "check_range: odd region + 1 -> -EFAULT");

	is_int(gmem_check_range(M, 0x4000, 0x1000, RD), 0, "check_range: RO region, read");
	is_int(gmem_check_range(M, 0x4000, 0x1000, WR), -EACCES, "check_range: RO region, write -> -EACCES");
	is_int(gmem_check_range(M, 0x4fff, 1, RW), -EACCES, "check_range: RO last byte, RW -> -EACCES");
	is_int(gmem_check_range(M, 0x6000, 0x3000, RD), 0, "check_range: D,E,F read");
	is_int(gmem_check_range(M, 0x6000, 0x3000, WR), -EACCES, "check_range: D,E,F write -> -EACCES");
	is_int(gmem_check_range(M, 0x6ff0, 0x20, WR), -EACCES, "check_range: RW then RO, write -> -EACCES");
	is_int(gmem_check_range(M, 0x6000, 0x3001, RD), -EFAULT, "check_range: D,E,F + 1 read -> -EFAULT");
	/* order: first problem in address order decides */
	is_int(gmem_check_range(M, 0x2ff0, 0x1020, WR), -EFAULT,
	       "check_range: hole before RO region, write -> -EFAULT");
	is_int(gmem_check_range(M, 0x4ff0, 0x1020, WR), -EACCES,
	       "check_range: RO region before hole, write -> -EACCES");
	is_int(gmem_check_range(M, 0x3000, 0x6001, WR), -EFAULT,
	       "check_range: hole, RO, hole, RW, RO, write -> -EFAULT");
	is_int(gmem_check_range(M, 0x7000, 0x3000, WR), -EACCES,
	       "check_range: RO, RW, hole, write -> -EACCES");

	is_int(gmem_check_range(M, TOP, 0x1000, RW), 0, "check_range: region ending at 2^64");
	is_int(gmem_check_range(M, UINT64_MAX, 1, RW), 0, "check_range: byte UINT64_MAX");
	is_int(gmem_check_range(M, TOP, 0x1001, RD), -EOVERFLOW, "check_range: top region + 1 -> -EOVERFLOW");
	is_int(gmem_check_range(M, UINT64_MAX, 2, RD), -EOVERFLOW, "check_range: len 2 at UINT64_MAX -> -EOVERFLOW");
	is_int(gmem_check_range(M, TOP - 0x1000, 0x2000, RD), -EFAULT,
	       "check_range: hole up to 2^64 -> -EFAULT");
	is_int(gmem_check_range(M, TOP - 0x1000, 0x2001, RD), -EOVERFLOW,
	       "check_range: hole and past 2^64 -> -EOVERFLOW first");
	is_int(gmem_check_range(M, 0, UINT64_MAX, RD), -EFAULT, "check_range: 0, UINT64_MAX -> -EFAULT");
	is_int(gmem_check_range(M, 1, UINT64_MAX, RD), -EFAULT, "check_range: 1, UINT64_MAX -> -EFAULT");
	is_int(gmem_check_range(M, 2, UINT64_MAX, RD), -EOVERFLOW, "check_range: 2, UINT64_MAX -> -EOVERFLOW");
	is_int(gmem_check_range(M, 0x4000, UINT64_MAX, WR), -EOVERFLOW, "check_range: -EOVERFLOW beats -EACCES");

	is_int(gmem_check_range(NULL, 0x1000, 1, RD), -EINVAL, "check_range: NULL map -> -EINVAL");
	is_int(gmem_check_range(M, 0x1000, 1, 0), -EINVAL, "check_range: access 0 -> -EINVAL");
	is_int(gmem_check_range(M, 0x1000, 1, 4), -EINVAL, "check_range: access bit 4 -> -EINVAL");
	is_int(gmem_check_range(M, UINT64_MAX, 2, 4), -EINVAL, "check_range: -EINVAL beats -EOVERFLOW");
	is_int(gmem_check_range(EMPTY, 0, 1, RD), -EFAULT, "check_range: empty map -> -EFAULT");
}

/* ------------------------------------------------------------------------ */
/* gmem_read / gmem_write                                                    */
/* ------------------------------------------------------------------------ */

static uint8_t big[0x3100], wantbuf[0x3100];

static void test_read(void)
{
	uint8_t b[16];

	reset_all();
	snapshot();

	memset(big, 0xaa, sizeof(big));
	peek(0x1100, wantbuf, 0x40);
	is_int(gmem_read(M, 0x1100, big, 0x40), 0, "read: inside a region");
	is_mem(big, wantbuf, 0x40, "read: inside a region: data");
	ok(all_bytes(big + 0x40, 0xaa, 0x10), "read: nothing written past len");

	memset(big, 0xaa, sizeof(big));
	peek(0x1ff0, wantbuf, 0x20);
	is_int(gmem_read(M, 0x1ff0, big, 0x20), 0, "read: across adjacent regions");
	is_mem(big, wantbuf, 0x20, "read: across adjacent regions: data");

	peek(0x1ffd, wantbuf, 5);
	is_int(gmem_read(M, 0x1ffd, big, 5), 0, "read: 5 bytes straddling A/B");
	is_mem(big, wantbuf, 5, "read: 5 bytes straddling A/B: data");

	peek(0x0, wantbuf, 0x3000);
	is_int(gmem_read(M, 0x0, big, 0x3000), 0, "read: three adjacent regions from address 0");
	is_mem(big, wantbuf, 0x3000, "read: three adjacent regions: data");

	peek(0x6000, wantbuf, 0x3000);
	is_int(gmem_read(M, 0x6000, big, 0x3000), 0, "read: ANON, RO, USER adjacent regions");
	is_mem(big, wantbuf, 0x3000, "read: ANON, RO, USER adjacent regions: data");

	peek(0x4000, wantbuf, 0x1000);
	is_int(gmem_read(M, 0x4000, big, 0x1000), 0, "read: RO region is readable");
	is_mem(big, wantbuf, 0x1000, "read: RO region: data");

	peek(0xa000, wantbuf, 1);
	is_int(gmem_read(M, 0xa000, big, 1), 0, "read: 1-byte region");
	is_mem(big, wantbuf, 1, "read: 1-byte region: data");
	peek(0xb003, wantbuf, 0x1d);
	is_int(gmem_read(M, 0xb003, big, 0x1d), 0, "read: odd-aligned region");
	is_mem(big, wantbuf, 0x1d, "read: odd-aligned region: data");

	/* failures leave the host buffer untouched */
	memset(big, 0xaa, sizeof(big));
	is_int(gmem_read(M, 0x2ff0, big, 0x20), -EFAULT, "read: running into a hole -> -EFAULT");
	ok(all_bytes(big, 0xaa, 0x20), "read: running into a hole: buffer untouched");
	is_int(gmem_read(M, 0x0, big, 0x3001), -EFAULT, "read: 3 adjacent regions + 1 -> -EFAULT");
	ok(all_bytes(big, 0xaa, 0x3001), "read: 3 adjacent + 1: buffer untouched");
	is_int(gmem_read(M, 0x8fff, big, 5), -EFAULT, "read: 5 bytes at last byte of a region then hole -> -EFAULT");
	ok(all_bytes(big, 0xaa, 5), "read: 5 bytes at region end: buffer untouched");
	is_int(gmem_read(M, 0x3000, big, 1), -EFAULT, "read: in a hole -> -EFAULT");
	is_int(gmem_read(M, 0x3fff, big, 2), -EFAULT, "read: hole then region -> -EFAULT");
	ok(all_bytes(big, 0xaa, 2), "read: hole then region: buffer untouched");
	is_int(gmem_read(M, 0xa000, big, 2), -EFAULT, "read: 1-byte region, len 2 -> -EFAULT");
	ok(all_bytes(big, 0xaa, 2), "read: 1-byte region, len 2: buffer untouched");
	is_int(gmem_read(M, 0xb010, big, 0x11), -EFAULT, "read: odd region + 1 -> -EFAULT");
	ok(all_bytes(big, 0xaa, 0x11), "read: odd region + 1: buffer untouched");
	is_int(gmem_read(EMPTY, 0, big, 1), -EFAULT, "read: empty map -> -EFAULT");
	/* A huge length is rejected before anything is copied: the buffer is
	 * only 16 bytes, so a library that copied region by region before
	 * finding the hole would overrun it (ASan). */
	memset(b, 0xaa, sizeof(b));
	is_int(gmem_read(M, 0, b, SIZE_MAX), -EFAULT, "read: gpa 0, len SIZE_MAX -> -EFAULT, nothing copied");
	is_int(gmem_read(M, 1, b, SIZE_MAX), -EFAULT, "read: gpa 1, len SIZE_MAX (ends at 2^64) -> -EFAULT");
	is_int(gmem_read(M, 2, b, SIZE_MAX), -EOVERFLOW, "read: gpa 2, len SIZE_MAX -> -EOVERFLOW");
	ok(all_bytes(b, 0xaa, sizeof(b)), "read: huge lengths: buffer untouched");

	/* top of the address space */
	peek(UINT64_MAX, wantbuf, 1);
	is_int(gmem_read(M, UINT64_MAX, big, 1), 0, "read: byte UINT64_MAX");
	is_mem(big, wantbuf, 1, "read: byte UINT64_MAX: data");
	peek(TOP, wantbuf, 0x1000);
	is_int(gmem_read(M, TOP, big, 0x1000), 0, "read: region ending at 2^64");
	is_mem(big, wantbuf, 0x1000, "read: region ending at 2^64: data");
	memset(big, 0xaa, sizeof(big));
	is_int(gmem_read(M, UINT64_MAX, big, 2), -EOVERFLOW, "read: len 2 at UINT64_MAX -> -EOVERFLOW");
	is_int(gmem_read(M, TOP + 1, big, 0x1000), -EOVERFLOW, "read: past 2^64 -> -EOVERFLOW");
	is_int(gmem_read(M, TOP - 0x1000, big, 0x2001), -EOVERFLOW,
	       "read: hole then past 2^64 -> -EOVERFLOW first");
	ok(all_bytes(big, 0xaa, 0x2001), "read: overflow: buffer untouched");

	/* zero length and -EINVAL */
	is_int(gmem_read(M, 0x3000, NULL, 0), 0, "read: len 0 in a hole, NULL buf");
	is_int(gmem_read(M, UINT64_MAX, NULL, 0), 0, "read: len 0 at UINT64_MAX");
	is_int(gmem_read(M, 0x1000, big, 0), 0, "read: len 0 in a region");
	is_int(gmem_read(EMPTY, 0x1000, NULL, 0), 0, "read: len 0 on the empty map");
	is_int(gmem_read(M, 0x1000, NULL, 1), -EINVAL, "read: NULL buf, len 1 -> -EINVAL");
	is_int(gmem_read(M, 0x3000, NULL, 1), -EINVAL, "read: NULL buf in a hole -> -EINVAL first");
	is_int(gmem_read(M, UINT64_MAX, NULL, 2), -EINVAL, "read: NULL buf beats -EOVERFLOW");
	is_int(gmem_read(NULL, 0x1000, big, 1), -EINVAL, "read: NULL map -> -EINVAL");
	is_int(gmem_read(NULL, 0x1000, big, 0), -EINVAL, "read: NULL map, len 0 -> -EINVAL");
	ok(unchanged(), "read: guest memory never changed by reads");
}

static void test_write(void)
{
	uint8_t src[0x3100];

	fill_random(src, sizeof(src), 1);

	reset_all();
	snapshot();
	is_int(gmem_write(M, 0x1100, src, 0x40), 0, "write: inside a region");
	ok(guest_is(0x1100, src, 0x40), "write: inside a region: data");
	ok(changed_only(0x1100, 0x40), "write: inside a region: nothing else changed");

	snapshot();
	is_int(gmem_write(M, 0x1ffd, src, 5), 0, "write: 5 bytes straddling A/B");
	ok(guest_is(0x1ffd, src, 5), "write: straddling A/B: data");
	ok(changed_only(0x1ffd, 5), "write: straddling A/B: nothing else changed");

	snapshot();
	is_int(gmem_write(M, 0x0, src, 0x3000), 0, "write: three adjacent regions from address 0");
	ok(guest_is(0x0, src, 0x3000), "write: three adjacent regions: data");
	ok(changed_only(0x0, 0x3000), "write: three adjacent regions: nothing else changed");

	snapshot();
	is_int(gmem_write(M, 0x8000, src, 0x1000), 0, "write: whole region after an RO one");
	ok(changed_only(0x8000, 0x1000), "write: F: nothing else changed");

	snapshot();
	is_int(gmem_write(M, 0xa000, src + 7, 1), 0, "write: 1-byte region");
	ok(guest_is(0xa000, src + 7, 1), "write: 1-byte region: data");
	is_int(gmem_write(M, 0xb003, src, 0x1d), 0, "write: odd region whole");
	ok(guest_is(0xb003, src, 0x1d), "write: odd region: data");

	/* all or nothing: failures at the END of the range write no byte */
	reset_all();
	snapshot();
	is_int(gmem_write(M, 0x2f00, src, 0x101), -EFAULT, "write: last byte in a hole -> -EFAULT");
	ok(unchanged(), "write: last byte in a hole: nothing written");
	is_int(gmem_write(M, 0x0, src, 0x3001), -EFAULT, "write: 3 adjacent regions + 1 -> -EFAULT");
	ok(unchanged(), "write: 3 adjacent regions + 1: nothing written");
	is_int(gmem_write(M, 0x6f00, src, 0x101), -EACCES, "write: last byte in RO region -> -EACCES");
	ok(unchanged(), "write: last byte RO: nothing written");
	is_int(gmem_write(M, 0x6000, src, 0x3000), -EACCES, "write: RW, RO, RW -> -EACCES");
	ok(unchanged(), "write: RW, RO, RW: nothing written");
	is_int(gmem_write(M, 0x8fff, src, 5), -EFAULT, "write: 5 bytes at the last byte of a region then hole -> -EFAULT");
	ok(unchanged(), "write: 5 bytes at region end: nothing written");
	is_int(gmem_write(M, 0x4000, src, 1), -EACCES, "write: RO region -> -EACCES");
	is_int(gmem_write(M, 0x4000, src, 0x1000), -EACCES, "write: whole RO region -> -EACCES");
	ok(unchanged(), "write: RO region: nothing written");
	is_int(gmem_write(M, 0x2ff0, src, 0x1020), -EFAULT, "write: hole before RO region -> -EFAULT");
	is_int(gmem_write(M, 0x4ff0, src, 0x1020), -EACCES, "write: RO region before hole -> -EACCES");
	is_int(gmem_write(M, 0x3000, src, 1), -EFAULT, "write: in a hole -> -EFAULT");
	is_int(gmem_write(M, 0xa000, src, 2), -EFAULT, "write: 1-byte region, len 2 -> -EFAULT");
	is_int(gmem_write(M, 0xb002, src, 2), -EFAULT, "write: hole then odd region -> -EFAULT");
	is_int(gmem_write(M, 0xb010, src, 0x11), -EFAULT, "write: odd region + 1 -> -EFAULT");
	is_int(gmem_write(M, 0, src, SIZE_MAX), -EFAULT, "write: gpa 0, len SIZE_MAX -> -EFAULT");
	is_int(gmem_write(M, 0x1000, src, SIZE_MAX), -EOVERFLOW, "write: gpa 0x1000, len SIZE_MAX -> -EOVERFLOW");
	is_int(gmem_write(EMPTY, 0, src, 1), -EFAULT, "write: empty map -> -EFAULT");
	ok(unchanged(), "write: failures: nothing written anywhere");

	/* top of the address space */
	snapshot();
	is_int(gmem_write(M, UINT64_MAX, src + 3, 1), 0, "write: byte UINT64_MAX");
	ok(guest_is(UINT64_MAX, src + 3, 1), "write: byte UINT64_MAX: data");
	ok(changed_only(UINT64_MAX, 1), "write: byte UINT64_MAX: nothing else changed");
	is_int(gmem_write(M, TOP, src, 0x1000), 0, "write: region ending at 2^64");
	ok(guest_is(TOP, src, 0x1000), "write: region ending at 2^64: data");
	snapshot();
	is_int(gmem_write(M, UINT64_MAX, src, 2), -EOVERFLOW, "write: len 2 at UINT64_MAX -> -EOVERFLOW");
	is_int(gmem_write(M, TOP + 0x800, src, 0x801), -EOVERFLOW, "write: past 2^64 -> -EOVERFLOW");
	is_int(gmem_write(M, TOP - 0x10, src, 0x1011), -EOVERFLOW, "write: hole then past 2^64 -> -EOVERFLOW");
	ok(unchanged(), "write: overflow: nothing written");

	/* zero length and -EINVAL */
	is_int(gmem_write(M, 0x3000, NULL, 0), 0, "write: len 0 in a hole, NULL buf");
	is_int(gmem_write(M, 0x4000, NULL, 0), 0, "write: len 0 in an RO region");
	is_int(gmem_write(M, UINT64_MAX, src, 0), 0, "write: len 0 at UINT64_MAX");
	is_int(gmem_write(M, 0x1000, NULL, 1), -EINVAL, "write: NULL buf, len 1 -> -EINVAL");
	is_int(gmem_write(M, 0x4000, NULL, 1), -EINVAL, "write: NULL buf in RO region -> -EINVAL first");
	is_int(gmem_write(M, UINT64_MAX, NULL, 2), -EINVAL, "write: NULL buf beats -EOVERFLOW");
	is_int(gmem_write(NULL, 0x1000, src, 1), -EINVAL, "write: NULL map -> -EINVAL");
	is_int(gmem_write(NULL, 0x1000, src, 0), -EINVAL, "write: NULL map, len 0 -> -EINVAL");
	ok(unchanged(), "write: zero length and -EINVAL: nothing written");

	/* round trip through read */
	fill_random(src, 0x20, 99);
	memset(big, 0, 0x20);
	ok(gmem_write(M, 0x7ff0 + 0x10, src, 0x10) == 0 &&
		   gmem_read(M, 0x8000, big, 0x10) == 0 &&
		   memcmp(big, src, 0x10) == 0,
	   "write then read: round trip");
}

/* ------------------------------------------------------------------------ */
/* gmem_read_partial / gmem_write_partial                                    */
/* ------------------------------------------------------------------------ */

#define SENT_SZ ((size_t)0x5eed5eedu)

static void test_partial(void)
{
	uint8_t src[0x3100];
	size_t done;

	fill_random(src, sizeof(src), 7);
	reset_all();
	snapshot();

	/* read_partial */
	done = SENT_SZ;
	peek(0x2ff0, wantbuf, 0x10);
	is_int(gmem_read_partial(M, 0x2ff0, big, 0x20, &done), 0, "read_partial: running into a hole");
	is_u64(done, 0x10, "read_partial: stops at the hole with the exact count");
	is_mem(big, wantbuf, 0x10, "read_partial: data up to the hole");
	done = SENT_SZ;
	peek(0x1ff0, wantbuf, 0x20);
	is_int(gmem_read_partial(M, 0x1ff0, big, 0x20, &done), 0, "read_partial: adjacent regions");
	is_u64(done, 0x20, "read_partial: adjacent regions: done == len");
	is_mem(big, wantbuf, 0x20, "read_partial: adjacent regions: data");
	done = SENT_SZ;
	peek(0x0, wantbuf, 0x3000);
	is_int(gmem_read_partial(M, 0x0, big, 0x3100, &done), 0, "read_partial: 3 adjacent regions then hole");
	is_u64(done, 0x3000, "read_partial: 3 adjacent regions then hole: done");
	is_mem(big, wantbuf, 0x3000, "read_partial: 3 adjacent regions: data");
	done = SENT_SZ;
	is_int(gmem_read_partial(M, 0x6ff0, big, 0x2020, &done), 0, "read_partial: RW, RO, RW then hole");
	is_u64(done, 0x2010, "read_partial: RO regions are readable; stops at the hole");
	done = SENT_SZ;
	is_int(gmem_read_partial(M, 0x8fff, big, 5, &done), 0, "read_partial: 5 bytes at a region's last byte");
	is_u64(done, 1, "read_partial: 5 bytes at a region's last byte: done 1");
	done = SENT_SZ;
	is_int(gmem_read_partial(M, 0xa000, big, 5, &done), 0, "read_partial: 1-byte region");
	is_u64(done, 1, "read_partial: 1-byte region: done 1");
	done = SENT_SZ;
	is_int(gmem_read_partial(M, 0, big, SIZE_MAX, &done), 0, "read_partial: len SIZE_MAX from 0");
	is_u64(done, 0x3000, "read_partial: len SIZE_MAX: stops at the first hole");
	done = SENT_SZ;
	is_int(gmem_read_partial(M, UINT64_MAX, big, 1, &done), 0, "read_partial: byte UINT64_MAX");
	is_u64(done, 1, "read_partial: byte UINT64_MAX: done 1");
	done = SENT_SZ;
	is_int(gmem_read_partial(M, TOP, big, 0x1000, &done), 0, "read_partial: region ending at 2^64");
	is_u64(done, 0x1000, "read_partial: region ending at 2^64: done");

	memset(big, 0xaa, 0x20);
	done = SENT_SZ;
	is_int(gmem_read_partial(M, 0x3000, big, 0x20, &done), -EFAULT, "read_partial: first byte in a hole -> -EFAULT");
	ok(done == SENT_SZ, "read_partial: -EFAULT: done untouched");
	ok(all_bytes(big, 0xaa, 0x20), "read_partial: -EFAULT: buffer untouched");
	is_int(gmem_read_partial(M, 0x3fff, big, 2, &done), -EFAULT, "read_partial: hole then region -> -EFAULT");
	is_int(gmem_read_partial(EMPTY, 0, big, 1, &done), -EFAULT, "read_partial: empty map -> -EFAULT");
	is_int(gmem_read_partial(M, UINT64_MAX, big, 2, &done), -EOVERFLOW, "read_partial: len 2 at UINT64_MAX -> -EOVERFLOW");
	is_int(gmem_read_partial(M, TOP, big, 0x1001, &done), -EOVERFLOW, "read_partial: top region + 1 -> -EOVERFLOW");
	is_int(gmem_read_partial(M, 0x3000, big, SIZE_MAX, &done), -EOVERFLOW,
	       "read_partial: hole and past 2^64 -> -EOVERFLOW first");
	ok(done == SENT_SZ && all_bytes(big, 0xaa, 0x20), "read_partial: failures: done and buffer untouched");

	done = SENT_SZ;
	is_int(gmem_read_partial(M, 0x3000, NULL, 0, &done), 0, "read_partial: len 0 in a hole");
	is_u64(done, 0, "read_partial: len 0: done 0");
	done = SENT_SZ;
	is_int(gmem_read_partial(M, 0x1000, big, 0, &done), 0, "read_partial: len 0 in a region");
	is_u64(done, 0, "read_partial: len 0 in a region: done 0");
	is_int(gmem_read_partial(M, 0x1000, big, 1, NULL), -EINVAL, "read_partial: NULL done -> -EINVAL");
	is_int(gmem_read_partial(M, 0x1000, NULL, 1, &done), -EINVAL, "read_partial: NULL buf -> -EINVAL");
	is_int(gmem_read_partial(NULL, 0x1000, big, 1, &done), -EINVAL, "read_partial: NULL map -> -EINVAL");
	is_int(gmem_read_partial(M, UINT64_MAX, NULL, 2, &done), -EINVAL, "read_partial: -EINVAL beats -EOVERFLOW");
	ok(unchanged(), "read_partial: guest memory never changed");

	/* write_partial */
	reset_all();
	snapshot();
	done = SENT_SZ;
	is_int(gmem_write_partial(M, 0x2ff0, src, 0x20, &done), 0, "write_partial: running into a hole");
	is_u64(done, 0x10, "write_partial: stops at the hole with the exact count");
	ok(guest_is(0x2ff0, src, 0x10), "write_partial: bytes before the hole written");
	ok(changed_only(0x2ff0, 0x10), "write_partial: nothing else changed");
	snapshot();
	done = SENT_SZ;
	is_int(gmem_write_partial(M, 0x6ff0, src, 0x20, &done), 0, "write_partial: RW then RO region");
	is_u64(done, 0x10, "write_partial: stops at the RO region");
	ok(guest_is(0x6ff0, src, 0x10), "write_partial: bytes before the RO region written");
	ok(changed_only(0x6ff0, 0x10), "write_partial: RO region unchanged");
	snapshot();
	done = SENT_SZ;
	is_int(gmem_write_partial(M, 0x1ff0, src, 0x20, &done), 0, "write_partial: adjacent regions");
	is_u64(done, 0x20, "write_partial: adjacent regions: done == len");
	ok(guest_is(0x1ff0, src, 0x20), "write_partial: adjacent regions: data");
	snapshot();
	done = SENT_SZ;
	is_int(gmem_write_partial(M, 0x0, src, 0x3100, &done), 0, "write_partial: 3 adjacent then hole");
	is_u64(done, 0x3000, "write_partial: 3 adjacent then hole: done");
	ok(guest_is(0x0, src, 0x3000) && changed_only(0, 0x3000), "write_partial: 3 adjacent: data");
	snapshot();
	done = SENT_SZ;
	is_int(gmem_write_partial(M, 0x8fff, src, 5, &done), 0, "write_partial: 5 bytes at a region's last byte");
	is_u64(done, 1, "write_partial: 5 bytes at region end: done 1");
	ok(changed_only(0x8fff, 1), "write_partial: 5 bytes at region end: only 1 byte changed");
	done = SENT_SZ;
	is_int(gmem_write_partial(M, UINT64_MAX, src, 1, &done), 0, "write_partial: byte UINT64_MAX");
	is_u64(done, 1, "write_partial: byte UINT64_MAX: done 1");
	ok(guest_is(UINT64_MAX, src, 1), "write_partial: byte UINT64_MAX: data");

	snapshot();
	done = SENT_SZ;
	is_int(gmem_write_partial(M, 0x3000, src, 0x20, &done), -EFAULT, "write_partial: first byte in a hole -> -EFAULT");
	ok(done == SENT_SZ, "write_partial: -EFAULT: done untouched");
	is_int(gmem_write_partial(M, 0x4000, src, 0x20, &done), -EACCES, "write_partial: first byte RO -> -EACCES");
	is_int(gmem_write_partial(M, 0x7ff0, src, 0x20, &done), -EACCES, "write_partial: RO then RW -> -EACCES");
	is_int(gmem_write_partial(M, 0x4fff, src, 2, &done), -EACCES, "write_partial: RO then hole -> -EACCES");
	is_int(gmem_write_partial(M, 0x3fff, src, 2, &done), -EFAULT, "write_partial: hole then RO -> -EFAULT");
	ok(done == SENT_SZ, "write_partial: -EACCES: done untouched");
	is_int(gmem_write_partial(M, UINT64_MAX, src, 2, &done), -EOVERFLOW, "write_partial: len 2 at UINT64_MAX -> -EOVERFLOW");
	is_int(gmem_write_partial(M, TOP, src, 0x1001, &done), -EOVERFLOW, "write_partial: top region + 1 -> -EOVERFLOW");
	ok(unchanged(), "write_partial: failures: nothing written");
	done = SENT_SZ;
	is_int(gmem_write_partial(M, 0x3000, NULL, 0, &done), 0, "write_partial: len 0 in a hole");
	is_u64(done, 0, "write_partial: len 0: done 0");
	done = SENT_SZ;
	is_int(gmem_write_partial(M, 0x4000, src, 0, &done), 0, "write_partial: len 0 in an RO region");
	is_u64(done, 0, "write_partial: len 0 in RO: done 0");
	is_int(gmem_write_partial(M, 0x1000, src, 1, NULL), -EINVAL, "write_partial: NULL done -> -EINVAL");
	is_int(gmem_write_partial(M, 0x1000, NULL, 1, &done), -EINVAL, "write_partial: NULL buf -> -EINVAL");
	is_int(gmem_write_partial(NULL, 0x1000, src, 1, &done), -EINVAL, "write_partial: NULL map -> -EINVAL");
	ok(unchanged(), "write_partial: -EINVAL: nothing written");
}

/* ------------------------------------------------------------------------ */
/* gmem_copy                                                                 */
/* ------------------------------------------------------------------------ */

/* Flat model of the contiguous space [0, 0x3000) = Z, A, B. */
static uint8_t flat[0x3000];

static void flat_load(void)
{
	peek(0, flat, sizeof(flat));
}

static void copy_case(uint64_t dst, uint64_t src, uint64_t len, const char *msg)
{
	flat_load();
	snapshot();
	memmove(flat + dst, flat + src, (size_t)len);
	is_int(gmem_copy(M, dst, src, len), 0, "copy: %s", msg);
	ok(guest_is(0, flat, sizeof(flat)), "copy: %s: matches memmove", msg);
	ok(changed_only(dst, len), "copy: %s: nothing outside dst changed", msg);
}

static void test_copy(void)
{
	reset_all();
	copy_case(0x1800, 0x1100, 0x100, "within a region, non-overlapping");
	copy_case(0x1110, 0x1100, 0x100, "overlapping forward (dst > src)");
	copy_case(0x1100, 0x1110, 0x100, "overlapping backward (dst < src)");
	copy_case(0x1101, 0x1100, 0x7ff, "overlapping forward by one byte");
	copy_case(0x1100, 0x1101, 0x7ff, "overlapping backward by one byte");
	copy_case(0x1200, 0x1200, 0x100, "dst == src");
	copy_case(0x0ff8, 0x1ff0, 0x20, "src and dst both straddle boundaries");
	copy_case(0x1ff0, 0x0ff0, 0x20, "src straddles Z/A, dst straddles A/B");
	copy_case(0x0100, 0x1ff0, 0x20, "src straddles A/B, dst inside Z");
	copy_case(0x1ffc, 0x1ff0, 0x20, "overlapping forward, straddling A/B");
	copy_case(0x1ff0, 0x1ffc, 0x20, "overlapping backward, straddling A/B");
	copy_case(0x0801, 0x0800, 0x27ff, "overlapping forward over three regions");
	copy_case(0x0800, 0x0801, 0x27ff, "overlapping backward over three regions");
	copy_case(0x0, 0x1000, 0x2000, "overlapping, src A+B to dst Z+A");
	copy_case(0x1000, 0x0, 0x2000, "overlapping, src Z+A to dst A+B");

	/* other regions */
	snapshot();
	{
		uint8_t s[0x20];

		peek(0x4ff0, s, 0x10);
		is_int(gmem_copy(M, 0x1000, 0x4ff0, 0x10), 0, "copy: src in an RO region is fine");
		ok(guest_is(0x1000, s, 0x10) && changed_only(0x1000, 0x10), "copy: from RO: data");
		snapshot();
		peek(0x6ff0, s, 0x20);
		is_int(gmem_copy(M, 0x8000, 0x6ff0, 0x20), 0, "copy: src straddles ANON/RO, dst in F");
		ok(guest_is(0x8000, s, 0x20) && changed_only(0x8000, 0x20), "copy: ANON/RO -> F: data");
		snapshot();
		peek(0x1000, s, 1);
		is_int(gmem_copy(M, UINT64_MAX, 0x1000, 1), 0, "copy: to byte UINT64_MAX");
		ok(guest_is(UINT64_MAX, s, 1) && changed_only(UINT64_MAX, 1), "copy: to UINT64_MAX: data");
		snapshot();
		peek(UINT64_MAX - 0xf, s, 0x10);
		is_int(gmem_copy(M, 0xb003, UINT64_MAX - 0xf, 0x10), 0, "copy: from the last 16 bytes to the odd region");
		ok(guest_is(0xb003, s, 0x10) && changed_only(0xb003, 0x10), "copy: from top: data");
		snapshot();
		peek(0xa000, s, 1);
		is_int(gmem_copy(M, 0xb01f, 0xa000, 1), 0, "copy: 1-byte region to last byte of odd region");
		ok(guest_is(0xb01f, s, 1) && changed_only(0xb01f, 1), "copy: 1-byte: data");
	}

	/* failures: nothing copied */
	reset_all();
	snapshot();
	is_int(gmem_copy(M, 0x1000, 0x2ff0, 0x20), -EFAULT, "copy: src runs into a hole -> -EFAULT");
	ok(unchanged(), "copy: src hole: dst unchanged");
	is_int(gmem_copy(M, 0x1000, 0x3000, 0x10), -EFAULT, "copy: src in a hole -> -EFAULT");
	is_int(gmem_copy(M, 0x2ff0, 0x1000, 0x20), -EFAULT, "copy: dst runs into a hole -> -EFAULT");
	ok(unchanged(), "copy: dst hole: nothing copied");
	is_int(gmem_copy(M, 0x4000, 0x1000, 0x10), -EACCES, "copy: dst RO -> -EACCES");
	is_int(gmem_copy(M, 0x6ff0, 0x1000, 0x20), -EACCES, "copy: dst RW then RO -> -EACCES");
	ok(unchanged(), "copy: dst RO: nothing copied");
	is_int(gmem_copy(M, 0x4ff0, 0x1000, 0x20), -EACCES, "copy: dst RO then hole -> -EACCES (address order)");
	is_int(gmem_copy(M, 0x3ff0, 0x1000, 0x20), -EFAULT, "copy: dst hole then RO -> -EFAULT (address order)");
	is_int(gmem_copy(M, 0x4000, 0x3000, 0x10), -EFAULT, "copy: src hole and dst RO -> -EFAULT (src first)");
	is_int(gmem_copy(M, 0x1000, 0x8ff8, 0x10), -EFAULT, "copy: src past the region end -> -EFAULT");
	is_int(gmem_copy(M, 0x0ff0, 0x0, 0x3001), -EFAULT, "copy: src 3 adjacent + 1 -> -EFAULT");
	is_int(gmem_copy(M, 0x1, 0x0, 0x3000), -EFAULT, "copy: dst 3 adjacent + 1 (overlapping) -> -EFAULT");
	ok(unchanged(), "copy: failures so far: nothing copied");
	is_int(gmem_copy(M, 0x1000, UINT64_MAX, 2), -EOVERFLOW, "copy: src past 2^64 -> -EOVERFLOW");
	is_int(gmem_copy(M, UINT64_MAX, 0x1000, 2), -EOVERFLOW, "copy: dst past 2^64 -> -EOVERFLOW");
	is_int(gmem_copy(M, UINT64_MAX, UINT64_MAX, 2), -EOVERFLOW, "copy: both past 2^64 -> -EOVERFLOW");
	is_int(gmem_copy(M, 0x4000, TOP + 1, 0x1000), -EOVERFLOW, "copy: src overflow beats dst RO");
	is_int(gmem_copy(M, 1, 0, UINT64_MAX), -EFAULT, "copy: len UINT64_MAX, both ranges representable -> -EFAULT");
	is_int(gmem_copy(M, 0, 1, UINT64_MAX), -EFAULT, "copy: len UINT64_MAX, reversed -> -EFAULT");
	{
		/* src [0, 2^64 - 1) has a hole, dst [2, ...) runs past 2^64:
		 * "-EOVERFLOW first" and "source before destination" disagree,
		 * so accept either; it must fail. */
		int rc = gmem_copy(M, 2, 0, UINT64_MAX);

		ok(rc == -EOVERFLOW || rc == -EFAULT,
		   "copy: src hole, dst past 2^64 -> -EOVERFLOW or -EFAULT (got %d)", rc);
	}
	is_int(gmem_copy(NULL, 0x1000, 0x1100, 0x10), -EINVAL, "copy: NULL map -> -EINVAL");
	is_int(gmem_copy(NULL, 0x1000, 0x1100, 0), -EINVAL, "copy: NULL map, len 0 -> -EINVAL");
	ok(unchanged(), "copy: all failures: nothing copied");

	/* zero length anywhere */
	is_int(gmem_copy(M, 0x3000, 0x5000, 0), 0, "copy: len 0, both in holes");
	is_int(gmem_copy(M, 0x4000, 0x1000, 0), 0, "copy: len 0 into an RO region");
	is_int(gmem_copy(M, UINT64_MAX, UINT64_MAX, 0), 0, "copy: len 0 at UINT64_MAX");
	is_int(gmem_copy(EMPTY, 0, 0x1000, 0), 0, "copy: len 0 on the empty map");
	is_int(gmem_copy(EMPTY, 0, 0x1000, 1), -EFAULT, "copy: empty map -> -EFAULT");
	ok(unchanged(), "copy: len 0: nothing changed");
}

/* ------------------------------------------------------------------------ */
/* gmem_fill / gmem_zero                                                     */
/* ------------------------------------------------------------------------ */

static int guest_all(uint64_t gpa, uint64_t len, uint8_t v)
{
	for (uint64_t i = 0; i < len; i++) {
		uint8_t *p = hp(gpa + i);

		if (!p || *p != v)
			return 0;
	}
	return 1;
}

static void test_fill(void)
{
	reset_all();
	snapshot();
	is_int(gmem_fill(M, 0x1ff0, 0x20, 0x5a), 0, "fill: across adjacent regions");
	ok(guest_all(0x1ff0, 0x20, 0x5a), "fill: across adjacent regions: data");
	ok(changed_only(0x1ff0, 0x20), "fill: across adjacent regions: nothing else changed");
	snapshot();
	is_int(gmem_fill(M, 0x0, 0x3000, 0xa5), 0, "fill: three adjacent regions");
	ok(guest_all(0x0, 0x3000, 0xa5), "fill: three adjacent regions: data");
	snapshot();
	is_int(gmem_zero(M, 0x0ffd, 0x1006), 0, "zero: across three regions");
	ok(guest_all(0x0ffd, 0x1006, 0), "zero: across three regions: data");
	ok(changed_only(0x0ffd, 0x1006), "zero: nothing else changed");
	snapshot();
	is_int(gmem_fill(M, 0xa000, 1, 0x11), 0, "fill: 1-byte region");
	ok(guest_all(0xa000, 1, 0x11) && changed_only(0xa000, 1), "fill: 1-byte region: data");
	snapshot();
	is_int(gmem_fill(M, TOP, 0x1000, 0x22), 0, "fill: region ending at 2^64");
	ok(guest_all(TOP, 0x1000, 0x22), "fill: region ending at 2^64: data");
	is_int(gmem_zero(M, UINT64_MAX, 1), 0, "zero: byte UINT64_MAX");
	ok(guest_all(UINT64_MAX, 1, 0) && guest_all(UINT64_MAX - 1, 1, 0x22), "zero: byte UINT64_MAX: data");

	reset_all();
	snapshot();
	is_int(gmem_fill(M, 0x2ff0, 0x20, 0x77), -EFAULT, "fill: running into a hole -> -EFAULT");
	is_int(gmem_zero(M, 0x2ff0, 0x20), -EFAULT, "zero: running into a hole -> -EFAULT");
	is_int(gmem_fill(M, 0x0, 0x3001, 0x77), -EFAULT, "fill: 3 adjacent regions + 1 -> -EFAULT");
	is_int(gmem_zero(M, 0, UINT64_MAX), -EFAULT, "zero: 0, UINT64_MAX -> -EFAULT");
	is_int(gmem_fill(M, 1, UINT64_MAX, 0x77), -EFAULT, "fill: 1, UINT64_MAX (ends at 2^64) -> -EFAULT");
	ok(unchanged(), "fill/zero: hole: nothing written");
	is_int(gmem_fill(M, 0x4000, 0x10, 0x77), -EACCES, "fill: RO region -> -EACCES");
	is_int(gmem_zero(M, 0x4000, 0x1000), -EACCES, "zero: RO region -> -EACCES");
	is_int(gmem_fill(M, 0x6000, 0x3000, 0x77), -EACCES, "fill: RW, RO, RW -> -EACCES");
	is_int(gmem_zero(M, 0x6ff0, 0x20), -EACCES, "zero: RW then RO -> -EACCES");
	is_int(gmem_fill(M, 0x4ff0, 0x20, 0x77), -EACCES, "fill: RO then hole -> -EACCES");
	is_int(gmem_fill(M, 0x3ff0, 0x20, 0x77), -EFAULT, "fill: hole then RO -> -EFAULT");
	ok(unchanged(), "fill/zero: RO: nothing written");
	is_int(gmem_fill(M, UINT64_MAX, 2, 0x77), -EOVERFLOW, "fill: len 2 at UINT64_MAX -> -EOVERFLOW");
	is_int(gmem_zero(M, TOP, 0x1001), -EOVERFLOW, "zero: top region + 1 -> -EOVERFLOW");
	is_int(gmem_zero(M, 2, UINT64_MAX), -EOVERFLOW, "zero: 2, UINT64_MAX -> -EOVERFLOW");
	is_int(gmem_fill(NULL, 0x1000, 1, 0x77), -EINVAL, "fill: NULL map -> -EINVAL");
	is_int(gmem_zero(NULL, 0x1000, 1), -EINVAL, "zero: NULL map -> -EINVAL");
	is_int(gmem_fill(EMPTY, 0, 1, 0x77), -EFAULT, "fill: empty map -> -EFAULT");
	ok(unchanged(), "fill/zero: overflow and -EINVAL: nothing written");
	is_int(gmem_fill(M, 0x3000, 0, 0x77), 0, "fill: len 0 in a hole");
	is_int(gmem_zero(M, 0x4000, 0), 0, "zero: len 0 in an RO region");
	is_int(gmem_zero(M, UINT64_MAX, 0), 0, "zero: len 0 at UINT64_MAX");
	ok(unchanged(), "fill/zero: len 0: nothing written");
}

/* ------------------------------------------------------------------------ */
/* gmem_iovec                                                                */
/* ------------------------------------------------------------------------ */

static void iov_poison(struct iovec *iov, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		iov[i].iov_base = SENT;
		iov[i].iov_len = SENT_SZ;
	}
}

static int iov_poisoned(const struct iovec *iov, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (iov[i].iov_base != SENT || iov[i].iov_len != SENT_SZ)
			return 0;
	return 1;
}

static void test_iovec(void)
{
	struct iovec iov[8];
	size_t cnt;
	int rc;

	iov_poison(iov, 8);
	cnt = SENT_SZ;
	is_int(gmem_iovec(M, 0x1100, 0x100, RD, iov, 8, &cnt), 0, "iovec: one region");
	is_u64(cnt, 1, "iovec: one region: one entry");
	ok(iov[0].iov_base == hp(0x1100) && iov[0].iov_len == 0x100, "iovec: one region: base and length");

	iov_poison(iov, 8);
	cnt = SENT_SZ;
	is_int(gmem_iovec(M, 0x0800, 0x2000, RW, iov, 8, &cnt), 0, "iovec: three adjacent regions");
	is_u64(cnt, 3, "iovec: three adjacent regions: three entries");
	ok(iov[0].iov_base == hp(0x0800) && iov[0].iov_len == 0x800, "iovec: entry 0 (Z tail)");
	ok(iov[1].iov_base == regs[1].host && iov[1].iov_len == 0x1000, "iovec: entry 1 (all of A)");
	ok(iov[2].iov_base == regs[2].host && iov[2].iov_len == 0x800, "iovec: entry 2 (B head)");
	is_u64(iov[0].iov_len + iov[1].iov_len + iov[2].iov_len, 0x2000, "iovec: lengths sum to len");

	iov_poison(iov, 8);
	cnt = SENT_SZ;
	is_int(gmem_iovec(M, 0x6ff0, 0x1020, RD, iov, 3, &cnt), 0, "iovec: ANON, RO, USER, read, exact capacity");
	is_u64(cnt, 3, "iovec: ANON, RO, USER: three entries");
	ok(iov[0].iov_base == hp(0x6ff0) && iov[0].iov_len == 0x10 &&
		   iov[1].iov_base == regs[5].host && iov[1].iov_len == 0x1000 &&
		   iov[2].iov_base == regs[6].host && iov[2].iov_len == 0x10,
	   "iovec: ANON, RO, USER: bases and lengths");

	iov_poison(iov, 8);
	cnt = SENT_SZ;
	is_int(gmem_iovec(M, TOP, 0x1000, RW, iov, 1, &cnt), 0, "iovec: region ending at 2^64");
	ok(cnt == 1 && iov[0].iov_base == regs[9].host && iov[0].iov_len == 0x1000,
	   "iovec: region ending at 2^64: entry");
	iov_poison(iov, 8);
	cnt = SENT_SZ;
	is_int(gmem_iovec(M, UINT64_MAX, 1, RD, iov, 1, &cnt), 0, "iovec: byte UINT64_MAX");
	ok(cnt == 1 && iov[0].iov_base == hp(UINT64_MAX) && iov[0].iov_len == 1, "iovec: byte UINT64_MAX: entry");
	iov_poison(iov, 8);
	cnt = SENT_SZ;
	is_int(gmem_iovec(M, 0xa000, 1, RW, iov, 8, &cnt), 0, "iovec: 1-byte region");
	ok(cnt == 1 && iov[0].iov_base == regs[7].host && iov[0].iov_len == 1, "iovec: 1-byte region: entry");

	/* -ENOBUFS */
	iov_poison(iov, 8);
	cnt = SENT_SZ;
	is_int(gmem_iovec(M, 0x0800, 0x2000, RD, iov, 2, &cnt), -ENOBUFS, "iovec: capacity 2 for 3 -> -ENOBUFS");
	is_u64(cnt, 3, "iovec: -ENOBUFS: iov_count = needed");
	ok(iov_poisoned(iov, 8), "iovec: -ENOBUFS: iov untouched");
	cnt = SENT_SZ;
	is_int(gmem_iovec(M, 0x0800, 0x2000, RD, NULL, 0, &cnt), -ENOBUFS, "iovec: NULL iov, capacity 0 -> -ENOBUFS");
	is_u64(cnt, 3, "iovec: NULL iov, capacity 0: needed count");
	cnt = SENT_SZ;
	is_int(gmem_iovec(M, 0x1100, 0x10, WR, NULL, 0, &cnt), -ENOBUFS, "iovec: one fragment, capacity 0 -> -ENOBUFS");
	is_u64(cnt, 1, "iovec: one fragment, capacity 0: needed 1");
	cnt = SENT_SZ;
	is_int(gmem_iovec(M, 0x6000, 0x3000, RD, iov, 1, &cnt), -ENOBUFS, "iovec: capacity 1 for 3 -> -ENOBUFS");
	is_u64(cnt, 3, "iovec: capacity 1 for 3: needed 3");
	ok(iov_poisoned(iov, 8), "iovec: capacity 1: iov untouched");

	/* zero length */
	cnt = SENT_SZ;
	is_int(gmem_iovec(M, 0x1000, 0, RD, NULL, 0, &cnt), 0, "iovec: len 0, NULL iov");
	is_u64(cnt, 0, "iovec: len 0: zero entries");
	cnt = SENT_SZ;
	is_int(gmem_iovec(M, 0x3000, 0, WR, iov, 8, &cnt), 0, "iovec: len 0 in a hole");
	is_u64(cnt, 0, "iovec: len 0 in a hole: zero entries");
	ok(iov_poisoned(iov, 8), "iovec: len 0: iov untouched");

	/* errors */
	cnt = SENT_SZ;
	is_int(gmem_iovec(M, 0x2ff0, 0x20, RD, iov, 8, &cnt), -EFAULT, "iovec: running into a hole -> -EFAULT");
	is_int(gmem_iovec(M, 0x3000, 0x10, RD, iov, 8, &cnt), -EFAULT, "iovec: in a hole -> -EFAULT");
	is_int(gmem_iovec(M, 0x0, 0x3001, RD, iov, 8, &cnt), -EFAULT, "iovec: 3 adjacent + 1 -> -EFAULT");
	is_int(gmem_iovec(EMPTY, 0, 1, RD, iov, 8, &cnt), -EFAULT, "iovec: empty map -> -EFAULT");
	is_int(gmem_iovec(M, 0x4000, 0x10, WR, iov, 8, &cnt), -EACCES, "iovec: RO region, write -> -EACCES");
	is_int(gmem_iovec(M, 0x4000, 0x10, RW, iov, 8, &cnt), -EACCES, "iovec: RO region, RW -> -EACCES");
	is_int(gmem_iovec(M, 0x6ff0, 0x20, WR, iov, 8, &cnt), -EACCES, "iovec: RW then RO, write -> -EACCES");
	is_int(gmem_iovec(M, 0x4ff0, 0x20, WR, iov, 8, &cnt), -EACCES, "iovec: RO then hole, write -> -EACCES");
	is_int(gmem_iovec(M, 0x3ff0, 0x20, WR, iov, 8, &cnt), -EFAULT, "iovec: hole then RO, write -> -EFAULT");
	is_int(gmem_iovec(M, UINT64_MAX, 2, RD, iov, 8, &cnt), -EOVERFLOW, "iovec: len 2 at UINT64_MAX -> -EOVERFLOW");
	is_int(gmem_iovec(M, 2, UINT64_MAX, RD, iov, 8, &cnt), -EOVERFLOW, "iovec: 2, UINT64_MAX -> -EOVERFLOW");
	is_int(gmem_iovec(M, 0x1000, 0x10, RD, NULL, 1, &cnt), -EINVAL, "iovec: NULL iov with capacity > 0 -> -EINVAL");
	is_int(gmem_iovec(NULL, 0x1000, 0x10, RD, iov, 8, &cnt), -EINVAL, "iovec: NULL map -> -EINVAL");
	is_int(gmem_iovec(M, 0x1000, 0x10, RD, iov, 8, NULL), -EINVAL, "iovec: NULL iov_count -> -EINVAL");
	is_int(gmem_iovec(M, 0x1000, 0x10, 0, iov, 8, &cnt), -EINVAL, "iovec: access 0 -> -EINVAL");
	is_int(gmem_iovec(M, 0x1000, 0x10, 4, iov, 8, &cnt), -EINVAL, "iovec: access bit 4 -> -EINVAL");
	is_int(gmem_iovec(M, UINT64_MAX, 2, 4, iov, 8, &cnt), -EINVAL, "iovec: -EINVAL beats -EOVERFLOW");
	ok(cnt == SENT_SZ, "iovec: errors other than -ENOBUFS leave iov_count untouched");
	ok(iov_poisoned(iov, 8), "iovec: errors leave iov untouched");

	/* the fragments really are the guest bytes */
	reset_all();
	cnt = 0;
	rc = gmem_iovec(M, 0x0ffe, 0x1004, RD, iov, 8, &cnt);
	{
		uint8_t got[0x1004], exp[0x1004];
		size_t o = 0;

		if (rc == 0)
			for (size_t i = 0; i < cnt && i < 8; i++) {
				if (o + iov[i].iov_len > sizeof(got))
					break;
				memcpy(got + o, iov[i].iov_base, iov[i].iov_len);
				o += iov[i].iov_len;
			}
		peek(0x0ffe, exp, sizeof(exp));
		ok(rc == 0 && cnt == 3 && o == sizeof(got) && memcmp(got, exp, sizeof(got)) == 0,
		   "iovec: gathering the fragments yields the guest bytes");
	}
}

/* ------------------------------------------------------------------------ */
/* Randomized comparison against a byte-array model                          */
/* ------------------------------------------------------------------------ */

#define LOW_SIZE 0x10000u
#define TOP_WIN 0x2000u
#define TOPW (UINT64_MAX - (TOP_WIN - 1u)) /* 2^64 - TOP_WIN */

static uint8_t model[LOW_SIZE + TOP_WIN];
static uint8_t mmapped[LOW_SIZE + TOP_WIN];
static uint8_t mro[LOW_SIZE + TOP_WIN];

static uint64_t rnd_below(uint64_t n)
{
	return n ? tu_rnd() % n : 0;
}

/* Model index of a guest byte inside one of the two windows. */
static size_t midx(uint64_t gpa)
{
	if (gpa < LOW_SIZE)
		return (size_t)gpa;
	if (gpa >= TOPW)
		return (size_t)(LOW_SIZE + (gpa - TOPW));
	tap_bail("model address %#" PRIx64 " outside both windows", gpa);
}

static int model_check(uint64_t gpa, uint64_t len, int write)
{
	if (len == 0)
		return 0;
	if (len - 1 > UINT64_MAX - gpa)
		return -EOVERFLOW;
	for (uint64_t i = 0; i < len; i++) {
		size_t k = midx(gpa + i);

		if (!mmapped[k])
			return -EFAULT;
		if (write && mro[k])
			return -EACCES;
	}
	return 0;
}

/* Partial access: 0 and *done, or the error for the first byte. */
static int model_partial(uint64_t gpa, uint64_t len, int write, size_t *done)
{
	uint64_t n = 0;

	if (len == 0) {
		*done = 0;
		return 0;
	}
	if (len - 1 > UINT64_MAX - gpa)
		return -EOVERFLOW;
	while (n < len) {
		size_t k = midx(gpa + n);

		if (!mmapped[k] || (write && mro[k]))
			break;
		n++;
	}
	if (n == 0)
		return mmapped[midx(gpa)] ? -EACCES : -EFAULT;
	*done = (size_t)n;
	return 0;
}

static int model_matches_memory(void)
{
	for (size_t i = 0; i < NREGS; i++) {
		struct fx_reg *g = &regs[i];

		if (memcmp(g->host, model + midx(g->gpa), g->len) != 0) {
			diag("  region %s differs from the model", g->name);
			return 0;
		}
	}
	return 1;
}

static uint64_t rnd_gpa(void)
{
	static const uint64_t edges[] = { 0x0,    0x1000, 0x2000, 0x3000, 0x4000,
					  0x5000, 0x6000, 0x7000, 0x8000, 0x9000,
					  0xa000, 0xa001, 0xb003, 0xb020 };
	uint64_t r = rnd_below(16);

	if (r < 2) /* the top window */
		return TOPW + rnd_below(TOP_WIN);
	if (r < 8) { /* near a boundary */
		uint64_t e = edges[rnd_below(sizeof(edges) / sizeof(edges[0]))];
		uint64_t d = rnd_below(0x40);

		return rnd_below(2) ? e + d : (e >= d ? e - d : e);
	}
	return rnd_below(0xc000);
}

static uint64_t rnd_len(void)
{
	uint64_t r = rnd_below(16);

	if (r == 0)
		return 0;
	if (r < 10)
		return 1 + rnd_below(0x40);
	return 1 + rnd_below(0x1800);
}

static uint8_t rbuf[0x1800], rexp[0x1800], wbuf[0x1800];

static void test_random(void)
{
	unsigned mismatches = 0, ops = 0, nok = 0, nerr = 0;
	const unsigned N = 4000;

	/* model = actual memory, mapped/ro from the layout */
	memset(mmapped, 0, sizeof(mmapped));
	memset(mro, 0, sizeof(mro));
	reset_all();
	for (size_t i = 0; i < NREGS; i++) {
		struct fx_reg *g = &regs[i];
		size_t k = midx(g->gpa);

		memcpy(model + k, g->host, g->len);
		memset(mmapped + k, 1, g->len);
		if (g->flags & RO)
			memset(mro + k, 1, g->len);
	}

	for (unsigned it = 0; it < N; it++) {
		unsigned op = (unsigned)rnd_below(6);
		uint64_t gpa = rnd_gpa(), len = rnd_len();
		int want, got, good = 1;
		size_t done = SENT_SZ, wdone = 0;

		ops++;
		switch (op) {
		case 0: /* read */
			memset(rbuf, 0xcc, (size_t)len);
			want = model_check(gpa, len, 0);
			got = gmem_read(M, gpa, rbuf, (size_t)len);
			if (want == 0) {
				for (uint64_t i = 0; i < len; i++)
					rexp[i] = model[midx(gpa + i)];
				good = memcmp(rbuf, rexp, (size_t)len) == 0;
			} else {
				good = all_bytes(rbuf, 0xcc, (size_t)len);
			}
			break;
		case 1: /* write */
			fill_random(wbuf, (size_t)len, (uint32_t)it);
			want = model_check(gpa, len, 1);
			got = gmem_write(M, gpa, wbuf, (size_t)len);
			if (want == 0)
				for (uint64_t i = 0; i < len; i++)
					model[midx(gpa + i)] = wbuf[i];
			break;
		case 2: { /* copy */
			uint64_t src = rnd_below(4) ? rnd_gpa() : gpa + rnd_below(0x20) - 0x10;

			if (src >= LOW_SIZE && src < TOPW)
				src = gpa; /* keep src inside the model windows */
			int ws = model_check(src, len, 0), wd = model_check(gpa, len, 1);

			got = gmem_copy(M, gpa, src, len);
			want = ws ? ws : wd;
			/* "source checked before destination" vs. the global
			 * order: a src hole with a dst overflow is ambiguous. */
			if (ws == -EFAULT && wd == -EOVERFLOW && got == wd)
				want = wd;
			if (want == 0) {
				for (uint64_t i = 0; i < len; i++)
					rexp[i] = model[midx(src + i)];
				for (uint64_t i = 0; i < len; i++)
					model[midx(gpa + i)] = rexp[i];
			}
			break;
		}
		case 3: { /* fill */
			uint8_t v = (uint8_t)tu_rnd();

			want = model_check(gpa, len, 1);
			got = gmem_fill(M, gpa, len, v);
			if (want == 0)
				for (uint64_t i = 0; i < len; i++)
					model[midx(gpa + i)] = v;
			break;
		}
		case 4: /* read_partial */
			memset(rbuf, 0xcc, (size_t)len);
			want = model_partial(gpa, len, 0, &wdone);
			got = gmem_read_partial(M, gpa, rbuf, (size_t)len, &done);
			if (want == 0 && got == 0) {
				good = done == wdone;
				for (uint64_t i = 0; good && i < wdone; i++)
					good = rbuf[i] == model[midx(gpa + i)];
			} else if (want != 0) {
				good = done == SENT_SZ;
			}
			break;
		default: /* write_partial */
			fill_random(wbuf, (size_t)len, (uint32_t)it);
			want = model_partial(gpa, len, 1, &wdone);
			got = gmem_write_partial(M, gpa, wbuf, (size_t)len, &done);
			if (want == 0) {
				good = got != 0 || done == wdone;
				for (uint64_t i = 0; i < wdone; i++)
					model[midx(gpa + i)] = wbuf[i];
			} else {
				good = done == SENT_SZ;
			}
			break;
		}
		if (want == 0)
			nok++;
		else
			nerr++;
		if (got != want || !good || !model_matches_memory()) {
			if (mismatches < 5)
				diag("  op %u #%u gpa %#" PRIx64 " len %#" PRIx64
				     ": got %d want %d good %d",
				     op, it, gpa, len, got, want, good);
			mismatches++;
			/* resynchronise so one bug is not reported N times */
			for (size_t i = 0; i < NREGS; i++)
				memcpy(model + midx(regs[i].gpa), regs[i].host, regs[i].len);
		}
	}
	diag("random: %u ops, %u expected to succeed, %u expected to fail", ops, nok, nerr);
	is_int(mismatches, 0, "random: %u read/write/copy/fill/partial ops agree with a byte-array model", N);
	ok(nok > N / 4 && nerr > N / 10, "random: the mix exercised both successes and failures");
}

int main(void)
{
	setup();
	test_translate();
	test_translate_exact();
	test_check_range();
	test_read();
	test_write();
	test_partial();
	test_copy();
	test_fill();
	test_iovec();
	test_random();
	teardown();
	return tap_done();
}
