/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * test_address.c - checked guest-address arithmetic, gmem_strerror() and
 * gmem_version().
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "gmem.h"
#include "tap.h"

#define SENTINEL UINT64_C(0xdeadbeefcafef00d)
#define TOP UINT64_MAX

static void test_add(void)
{
	uint64_t r;

	r = SENTINEL;
	is_int(gmem_addr_add(0, 0, &r), 0, "add: 0 + 0 succeeds");
	is_u64(r, 0, "add: 0 + 0 = 0");
	is_int(gmem_addr_add(0x1000, 0x234, &r), 0, "add: 0x1000 + 0x234 succeeds");
	is_u64(r, 0x1234, "add: 0x1000 + 0x234 = 0x1234");
	is_int(gmem_addr_add(TOP - 1, 1, &r), 0, "add: (2^64-2) + 1 succeeds");
	is_u64(r, TOP, "add: (2^64-2) + 1 = UINT64_MAX");
	is_int(gmem_addr_add(TOP, 0, &r), 0, "add: UINT64_MAX + 0 succeeds");
	is_u64(r, TOP, "add: UINT64_MAX + 0 = UINT64_MAX");
	is_int(gmem_addr_add(0, TOP, &r), 0, "add: 0 + UINT64_MAX succeeds");
	is_u64(r, TOP, "add: 0 + UINT64_MAX = UINT64_MAX");

	r = SENTINEL;
	is_int(gmem_addr_add(TOP, 1, &r), -EOVERFLOW,
	       "add: UINT64_MAX + 1 -> -EOVERFLOW (no wrap to 0)");
	is_u64(r, SENTINEL, "add: output untouched on -EOVERFLOW");
	is_int(gmem_addr_add(1, TOP, &r), -EOVERFLOW,
	       "add: 1 + UINT64_MAX -> -EOVERFLOW");
	is_int(gmem_addr_add(TOP, TOP, &r), -EOVERFLOW,
	       "add: UINT64_MAX + UINT64_MAX -> -EOVERFLOW");
	is_int(gmem_addr_add(UINT64_C(1) << 63, UINT64_C(1) << 63, &r),
	       -EOVERFLOW, "add: 2^63 + 2^63 -> -EOVERFLOW");
	is_u64(r, SENTINEL, "add: output still untouched after failures");
	is_int(gmem_addr_add(0, 0, NULL), -EINVAL, "add: NULL out -> -EINVAL");
	is_int(gmem_addr_add(TOP, 1, NULL), -EINVAL,
	       "add: NULL out with overflowing sum -> -EINVAL");
}

static void test_sub(void)
{
	uint64_t r;

	r = SENTINEL;
	is_int(gmem_addr_sub(0, 0, &r), 0, "sub: 0 - 0 succeeds");
	is_u64(r, 0, "sub: 0 - 0 = 0");
	is_int(gmem_addr_sub(0x1234, 0x1000, &r), 0, "sub: 0x1234 - 0x1000 succeeds");
	is_u64(r, 0x234, "sub: 0x1234 - 0x1000 = 0x234");
	is_int(gmem_addr_sub(TOP, 0, &r), 0, "sub: UINT64_MAX - 0 succeeds");
	is_u64(r, TOP, "sub: UINT64_MAX - 0 = UINT64_MAX");
	is_int(gmem_addr_sub(TOP, TOP, &r), 0, "sub: UINT64_MAX - UINT64_MAX succeeds");
	is_u64(r, 0, "sub: UINT64_MAX - UINT64_MAX = 0");
	is_int(gmem_addr_sub(5, 5, &r), 0, "sub: equal addresses succeed");
	is_u64(r, 0, "sub: equal addresses give 0");

	r = SENTINEL;
	is_int(gmem_addr_sub(0, 1, &r), -EOVERFLOW, "sub: 0 - 1 -> -EOVERFLOW");
	is_u64(r, SENTINEL, "sub: output untouched on -EOVERFLOW");
	is_int(gmem_addr_sub(0x1000, 0x1001, &r), -EOVERFLOW,
	       "sub: base one above addr -> -EOVERFLOW");
	is_int(gmem_addr_sub(0, TOP, &r), -EOVERFLOW,
	       "sub: 0 - UINT64_MAX -> -EOVERFLOW");
	is_u64(r, SENTINEL, "sub: output still untouched after failures");
	is_int(gmem_addr_sub(1, 0, NULL), -EINVAL, "sub: NULL out -> -EINVAL");
	is_int(gmem_addr_sub(0, 1, NULL), -EINVAL,
	       "sub: NULL out with underflow -> -EINVAL");
}

static void test_align_up(void)
{
	uint64_t r;

	is_int(gmem_addr_align_up(0x128, 8, &r), 0, "align_up: 0x128 @8 succeeds");
	is_u64(r, 0x128, "align_up: already aligned 0x128 @8 unchanged");
	is_int(gmem_addr_align_up(0x128, 16, &r), 0, "align_up: 0x128 @16 succeeds");
	is_u64(r, 0x130, "align_up: 0x128 @16 = 0x130");
	is_int(gmem_addr_align_up(0, 4096, &r), 0, "align_up: 0 @4096 succeeds");
	is_u64(r, 0, "align_up: 0 @4096 = 0");
	is_int(gmem_addr_align_up(1, 4096, &r), 0, "align_up: 1 @4096 succeeds");
	is_u64(r, 4096, "align_up: 1 @4096 = 4096");
	is_int(gmem_addr_align_up(4097, 4096, &r), 0, "align_up: 4097 @4096 succeeds");
	is_u64(r, 8192, "align_up: 4097 @4096 = 8192");
	is_int(gmem_addr_align_up(TOP, 1, &r), 0, "align_up: UINT64_MAX @1 succeeds");
	is_u64(r, TOP, "align_up: UINT64_MAX @1 unchanged");
	is_int(gmem_addr_align_up(0x1235, 1, &r), 0, "align_up: @1 succeeds");
	is_u64(r, 0x1235, "align_up: @1 leaves the address unchanged");
	is_int(gmem_addr_align_up(TOP - 4095, 4096, &r), 0,
	       "align_up: 2^64-4096 @4096 succeeds (already aligned)");
	is_u64(r, TOP - 4095, "align_up: 2^64-4096 @4096 unchanged");
	is_int(gmem_addr_align_up(UINT64_C(1) << 63, UINT64_C(1) << 63, &r), 0,
	       "align_up: 2^63 @2^63 succeeds");
	is_u64(r, UINT64_C(1) << 63, "align_up: 2^63 @2^63 unchanged");
	is_int(gmem_addr_align_up(1, UINT64_C(1) << 63, &r), 0,
	       "align_up: 1 @2^63 succeeds");
	is_u64(r, UINT64_C(1) << 63, "align_up: 1 @2^63 = 2^63");

	r = SENTINEL;
	is_int(gmem_addr_align_up(TOP - 4095 + 1, 4096, &r), -EOVERFLOW,
	       "align_up: 2^64-4095 @4096 -> -EOVERFLOW");
	is_int(gmem_addr_align_up(TOP, 2, &r), -EOVERFLOW,
	       "align_up: UINT64_MAX @2 -> -EOVERFLOW");
	is_int(gmem_addr_align_up(TOP - 6, 8, &r), -EOVERFLOW,
	       "align_up: near 2^64 @8 -> -EOVERFLOW");
	is_int(gmem_addr_align_up((UINT64_C(1) << 63) + 1, UINT64_C(1) << 63, &r),
	       -EOVERFLOW, "align_up: 2^63+1 @2^63 -> -EOVERFLOW");
	is_u64(r, SENTINEL, "align_up: output untouched on -EOVERFLOW");
	is_int(gmem_addr_align_up(0x128, 0, &r), -EINVAL,
	       "align_up: alignment 0 -> -EINVAL");
	is_int(gmem_addr_align_up(0x128, 12, &r), -EINVAL,
	       "align_up: alignment 12 (not a power of two) -> -EINVAL");
	is_int(gmem_addr_align_up(0x120, 12, &r), -EINVAL,
	       "align_up: alignment 12 with a multiple of 12 -> -EINVAL");
	is_int(gmem_addr_align_up(0, 3, &r), -EINVAL,
	       "align_up: alignment 3 -> -EINVAL");
	is_int(gmem_addr_align_up(0, TOP, &r), -EINVAL,
	       "align_up: alignment UINT64_MAX -> -EINVAL");
	is_u64(r, SENTINEL, "align_up: output untouched on -EINVAL");
	is_int(gmem_addr_align_up(0x128, 8, NULL), -EINVAL,
	       "align_up: NULL out -> -EINVAL");
}

static void test_align_down(void)
{
	uint64_t r;

	is_int(gmem_addr_align_down(0x128, 8, &r), 0, "align_down: 0x128 @8 succeeds");
	is_u64(r, 0x128, "align_down: already aligned 0x128 @8 unchanged");
	is_int(gmem_addr_align_down(0x128, 16, &r), 0, "align_down: 0x128 @16 succeeds");
	is_u64(r, 0x120, "align_down: 0x128 @16 = 0x120");
	is_int(gmem_addr_align_down(0, 4096, &r), 0, "align_down: 0 @4096 succeeds");
	is_u64(r, 0, "align_down: 0 @4096 = 0");
	is_int(gmem_addr_align_down(4095, 4096, &r), 0, "align_down: 4095 @4096 succeeds");
	is_u64(r, 0, "align_down: 4095 @4096 = 0");
	is_int(gmem_addr_align_down(TOP, 4096, &r), 0,
	       "align_down: UINT64_MAX @4096 succeeds (never overflows)");
	is_u64(r, TOP - 4095, "align_down: UINT64_MAX @4096 = 2^64-4096");
	is_int(gmem_addr_align_down(TOP, 1, &r), 0, "align_down: UINT64_MAX @1 succeeds");
	is_u64(r, TOP, "align_down: UINT64_MAX @1 unchanged");
	is_int(gmem_addr_align_down(TOP, UINT64_C(1) << 63, &r), 0,
	       "align_down: UINT64_MAX @2^63 succeeds");
	is_u64(r, UINT64_C(1) << 63, "align_down: UINT64_MAX @2^63 = 2^63");

	r = SENTINEL;
	is_int(gmem_addr_align_down(0x128, 0, &r), -EINVAL,
	       "align_down: alignment 0 -> -EINVAL");
	is_int(gmem_addr_align_down(0x128, 12, &r), -EINVAL,
	       "align_down: alignment 12 (not a power of two) -> -EINVAL");
	is_int(gmem_addr_align_down(0x128, 6, &r), -EINVAL,
	       "align_down: alignment 6 -> -EINVAL");
	is_int(gmem_addr_align_down(0x128, TOP, &r), -EINVAL,
	       "align_down: alignment UINT64_MAX -> -EINVAL");
	is_u64(r, SENTINEL, "align_down: output untouched on -EINVAL");
	is_int(gmem_addr_align_down(0x128, 8, NULL), -EINVAL,
	       "align_down: NULL out -> -EINVAL");
}

static void test_range_last(void)
{
	uint64_t r;

	is_int(gmem_range_last(0, 1, &r), 0, "range_last: [0, 1) succeeds");
	is_u64(r, 0, "range_last: [0, 1) last = 0");
	is_int(gmem_range_last(0x1000, 0x1000, &r), 0, "range_last: [0x1000, +0x1000) succeeds");
	is_u64(r, 0x1fff, "range_last: [0x1000, +0x1000) last = 0x1fff");
	is_int(gmem_range_last(0, TOP, &r), 0, "range_last: [0, UINT64_MAX) succeeds");
	is_u64(r, TOP - 1, "range_last: [0, UINT64_MAX) last = 2^64-2");
	is_int(gmem_range_last(1, TOP, &r), 0,
	       "range_last: [1, 1+UINT64_MAX) ends exactly at 2^64");
	is_u64(r, TOP, "range_last: [1, 1+UINT64_MAX) last = UINT64_MAX");
	is_int(gmem_range_last(TOP, 1, &r), 0,
	       "range_last: the single byte UINT64_MAX succeeds");
	is_u64(r, TOP, "range_last: [UINT64_MAX, +1) last = UINT64_MAX");
	is_int(gmem_range_last(TOP - 4095, 4096, &r), 0,
	       "range_last: last page of the address space succeeds");
	is_u64(r, TOP, "range_last: last page ends at UINT64_MAX");

	r = SENTINEL;
	is_int(gmem_range_last(TOP, 2, &r), -EOVERFLOW,
	       "range_last: [UINT64_MAX, +2) -> -EOVERFLOW");
	is_int(gmem_range_last(TOP - 4095, 4097, &r), -EOVERFLOW,
	       "range_last: one byte past 2^64 -> -EOVERFLOW");
	is_int(gmem_range_last(2, TOP, &r), -EOVERFLOW,
	       "range_last: [2, +UINT64_MAX) -> -EOVERFLOW");
	is_int(gmem_range_last(TOP, TOP, &r), -EOVERFLOW,
	       "range_last: [UINT64_MAX, +UINT64_MAX) -> -EOVERFLOW");
	is_u64(r, SENTINEL, "range_last: output untouched on -EOVERFLOW");
	is_int(gmem_range_last(0x1000, 0, &r), -EINVAL, "range_last: len 0 -> -EINVAL");
	is_int(gmem_range_last(TOP, 0, &r), -EINVAL,
	       "range_last: len 0 at UINT64_MAX -> -EINVAL");
	is_u64(r, SENTINEL, "range_last: output untouched on -EINVAL");
	is_int(gmem_range_last(0, 1, NULL), -EINVAL, "range_last: NULL last -> -EINVAL");
}

static void test_range_check(void)
{
	is_int(gmem_range_check(0, 0), 0, "range_check: [0, +0) valid");
	is_int(gmem_range_check(0, 1), 0, "range_check: [0, +1) valid");
	is_int(gmem_range_check(1, 0), 0, "range_check: [1, +0) valid");
	is_int(gmem_range_check(0, TOP), 0, "range_check: [0, +UINT64_MAX) valid");
	is_int(gmem_range_check(1, TOP), 0,
	       "range_check: [1, +UINT64_MAX) ends exactly at 2^64, valid");
	is_int(gmem_range_check(TOP, 0), 0, "range_check: len 0 at UINT64_MAX valid");
	is_int(gmem_range_check(TOP, 1), 0,
	       "range_check: the byte UINT64_MAX is addressable");
	is_int(gmem_range_check(TOP - 4095, 4096), 0,
	       "range_check: range ending exactly at 2^64 valid");
	is_int(gmem_range_check(UINT64_C(1) << 63, UINT64_C(1) << 63), 0,
	       "range_check: [2^63, +2^63) valid");

	is_int(gmem_range_check(TOP - 4095, 4097), -EOVERFLOW,
	       "range_check: one byte past 2^64 -> -EOVERFLOW");
	is_int(gmem_range_check(TOP, 2), -EOVERFLOW,
	       "range_check: [UINT64_MAX, +2) (UINT64_MAX+1 wraps) -> -EOVERFLOW");
	is_int(gmem_range_check(2, TOP), -EOVERFLOW,
	       "range_check: [2, +UINT64_MAX) -> -EOVERFLOW");
	is_int(gmem_range_check(TOP, TOP), -EOVERFLOW,
	       "range_check: [UINT64_MAX, +UINT64_MAX) -> -EOVERFLOW");
	is_int(gmem_range_check(UINT64_C(1) << 63, (UINT64_C(1) << 63) + 1),
	       -EOVERFLOW, "range_check: [2^63, +2^63+1) -> -EOVERFLOW");
	is_int(gmem_range_check(0x1000, TOP), -EOVERFLOW,
	       "range_check: [0x1000, +UINT64_MAX) -> -EOVERFLOW");
}

/* Every error code the header says a libgmem function can return. */
static const struct {
	int err;
	const char *name;
} known_errs[] = {
	{ EINVAL, "EINVAL" },	{ EOVERFLOW, "EOVERFLOW" },
	{ EFAULT, "EFAULT" },	{ EACCES, "EACCES" },
	{ ENOMEM, "ENOMEM" },	{ EEXIST, "EEXIST" },
	{ E2BIG, "E2BIG" },	{ ENOENT, "ENOENT" },
	{ EXDEV, "EXDEV" },	{ ENOBUFS, "ENOBUFS" },
	{ EAGAIN, "EAGAIN" },	{ EBADF, "EBADF" },
	{ ENODEV, "ENODEV" },	{ EBUSY, "EBUSY" },
	{ EDEADLK, "EDEADLK" },	{ EIO, "EIO" },
	{ ENODATA, "ENODATA" }, { EOPNOTSUPP, "EOPNOTSUPP" },
};

static int nonempty(const char *s)
{
	return s != NULL && s[0] != '\0';
}

static int same_text(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static void test_strerror(void)
{
	const char *unknown, *s, *p, *zero;
	size_t i;

	unknown = gmem_strerror(-9999);
	ok(unknown != NULL, "strerror: unknown code gives non-NULL");
	ok(same_text(unknown, "unknown error"),
	   "strerror: unknown code -9999 gives \"unknown error\"");
	ok(same_text(gmem_strerror(9999), "unknown error"),
	   "strerror: unknown code +9999 gives \"unknown error\"");
	/* Errnos passed through from the kernel get the C library's text. */
	ok(!same_text(gmem_strerror(-EPIPE), "unknown error") &&
		   strlen(gmem_strerror(-EPIPE)) > 0,
	   "strerror: -EPIPE (passed through from writev) has a description");
	ok(same_text(gmem_strerror(-EPIPE), gmem_strerror(EPIPE)),
	   "strerror: -EPIPE and EPIPE give the same text");

	for (i = 0; i < sizeof(known_errs) / sizeof(known_errs[0]); i++) {
		int e = known_errs[i].err;
		const char *name = known_errs[i].name;

		s = gmem_strerror(-e);
		p = gmem_strerror(e);
		ok(nonempty(s), "strerror: -%s gives a non-empty string", name);
		ok(s != NULL && !same_text(s, "unknown error"),
		   "strerror: -%s is not \"unknown error\"", name);
		ok(same_text(s, p), "strerror: %s and -%s give the same text",
		   name, name);
	}

	s = gmem_strerror(-EFAULT);
	ok(s != NULL && strstr(s, "guest range not fully mapped") != NULL,
	   "strerror: -EFAULT says \"guest range not fully mapped\" (header example)");
	ok(!same_text(gmem_strerror(-EINVAL), gmem_strerror(-EFAULT)),
	   "strerror: -EINVAL and -EFAULT have different texts");

	zero = gmem_strerror(0);
	ok(nonempty(zero), "strerror: 0 gives a non-empty string");
	ok(zero != NULL && !same_text(zero, "unknown error"),
	   "strerror: 0 gives a success text, not \"unknown error\"");

	s = gmem_strerror(INT_MIN);
	ok(s != NULL, "strerror: INT_MIN does not crash and gives non-NULL");
	ok(same_text(s, "unknown error"), "strerror: INT_MIN gives \"unknown error\"");
	s = gmem_strerror(INT_MIN + 1);
	ok(same_text(s, "unknown error"), "strerror: INT_MIN+1 gives \"unknown error\"");
	s = gmem_strerror(INT_MAX);
	ok(same_text(s, "unknown error"), "strerror: INT_MAX gives \"unknown error\"");
}

static void test_version(void)
{
	const char *v = gmem_version();
	char want[64];

	ok(v != NULL, "version: non-NULL");
	ok(same_text(v, "0.1.0"), "version: is \"0.1.0\"");
	snprintf(want, sizeof(want), "%d.%d.%d", GMEM_VERSION_MAJOR,
		 GMEM_VERSION_MINOR, GMEM_VERSION_PATCH);
	ok(same_text(v, want), "version: matches GMEM_VERSION_* macros (%s)", want);
	ok(same_text(gmem_version(), v), "version: stable across calls");
}

int main(void)
{
	test_add();
	test_sub();
	test_align_up();
	test_align_down();
	test_range_last();
	test_range_check();
	test_strerror();
	test_version();
	return tap_done();
}
