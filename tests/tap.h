/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * tap.h - a tiny Test Anything Protocol emitter for libgmem's tests.
 *
 * Header-only and dependency-free so it works unchanged under ASan, UBSan,
 * TSan and MSan builds.  Every check is one TAP test point; automake's
 * tap-driver.sh turns each into a PASS/FAIL line and counts it.
 *
 *   int main(void) {
 *           ok(1 + 1 == 2, "arithmetic");
 *           is_int(gmem_map_new(NULL, NULL, 0, 0), -EINVAL, "NULL out");
 *           return tap_done();
 *   }
 *
 * The plan is printed at the end ("1..N"), so tests need not count points.
 * Assertions are only made from the main thread; worker threads collect
 * results for it to check.
 */
#ifndef GMEM_TESTS_TAP_H
#define GMEM_TESTS_TAP_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned tap_run_, tap_failed_, tap_skipped_;

__attribute__((format(printf, 3, 0))) static inline void
tap_vline_(int pass, const char *directive, const char *fmt, va_list ap)
{
	tap_run_++;
	if (!pass)
		tap_failed_++;
	printf("%s %u - ", pass ? "ok" : "not ok", tap_run_);
	vprintf(fmt, ap);
	if (directive)
		printf(" # %s", directive);
	putchar('\n');
	fflush(stdout);
}

/* Print a diagnostic line ("# ...") that tap-driver shows with --comments. */
__attribute__((format(printf, 1, 2))) static inline void diag(const char *fmt,
							       ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("# ", stdout);
	vprintf(fmt, ap);
	putchar('\n');
	fflush(stdout);
	va_end(ap);
}

/* One test point: passes when cond is non-zero.  Returns cond as 0/1. */
__attribute__((format(printf, 2, 3))) static inline int ok(int cond,
							   const char *fmt,
							   ...)
{
	va_list ap;

	va_start(ap, fmt);
	tap_vline_(cond != 0, NULL, fmt, ap);
	va_end(ap);
	return cond != 0;
}

/* One skipped test point (counts as passed for TAP, reported as SKIP). */
__attribute__((format(printf, 1, 2))) static inline void skip(const char *fmt,
							       ...)
{
	va_list ap;

	va_start(ap, fmt);
	tap_skipped_++;
	tap_vline_(1, "SKIP", fmt, ap);
	va_end(ap);
}

#define TAP_CMP_(type, pfmt, got, want, ...)                                   \
	do {                                                                   \
		type tap_g_ = (type)(got);                                     \
		type tap_w_ = (type)(want);                                    \
		if (!ok(tap_g_ == tap_w_, __VA_ARGS__))                        \
			diag("  got: %" pfmt ", expected: %" pfmt, tap_g_,     \
			     tap_w_);                                          \
	} while (0)

/* Compare two ints (e.g. a return code against -EFAULT). */
#define is_int(got, want, ...) TAP_CMP_(long long, "lld", got, want, __VA_ARGS__)
/* Compare two unsigned 64-bit values, printed in hex. */
#define is_u64(got, want, ...) TAP_CMP_(uint64_t, "#" PRIx64, got, want, __VA_ARGS__)
/* Compare two pointers. */
#define is_ptr(got, want, ...) TAP_CMP_(const void *, "p", got, want, __VA_ARGS__)
/* Compare two byte buffers of length n. */
#define is_mem(got, want, n, ...) ok(memcmp((got), (want), (n)) == 0, __VA_ARGS__)

/*
 * Print the plan and a summary, return the process exit status (0 when every
 * point passed).  Call once, at the end of main().
 */
static inline int tap_done(void)
{
	printf("1..%u\n", tap_run_);
	printf("# passed %u, failed %u, skipped %u\n", tap_run_ - tap_failed_,
	       tap_failed_, tap_skipped_);
	fflush(stdout);
	return tap_failed_ ? 1 : 0;
}

/*
 * Bail out: a fatal setup failure that makes the rest meaningless.  Prints
 * the TAP "Bail out!" line and exits non-zero.
 */
__attribute__((format(printf, 1, 2), noreturn)) static inline void
tap_bail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("Bail out! ", stdout);
	vprintf(fmt, ap);
	putchar('\n');
	fflush(stdout);
	va_end(ap);
	exit(1);
}

#endif /* GMEM_TESTS_TAP_H */
