/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * fuzz_util.h - small helpers shared by the fuzz harnesses.
 *
 * range_check() deliberately restates the 2^64 rule instead of calling
 * gmem_range_check(): the models must not borrow the library's logic.
 */
#ifndef GMEM_FUZZ_UTIL_H
#define GMEM_FUZZ_UTIL_H

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/*
 * A divergence from the model: report it, naming the operation (and the
 * harness's context, or NULL), and abort so that libFuzzer keeps the
 * input.
 */
__attribute__((noreturn, format(printf, 5, 0))) static inline void
fuzz_vdiverge(const char *harness, unsigned opno, const char *opname,
	      const char *context, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: DIVERGENCE at op #%u (%s%s%s): ", harness, opno,
		opname ? opname : "setup", context ? ", " : "",
		context ? context : "");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	fflush(stderr);
	abort();
}

/* One line of an operation's trace (the harnesses' trace mode). */
__attribute__((format(printf, 3, 0))) static inline void
fuzz_vtrace(unsigned opno, const char *opname, const char *fmt, va_list ap)
{
	fprintf(stderr, "  #%u %s: ", opno, opname ? opname : "setup");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

/* malloc that never returns NULL (a harness cannot go on without memory). */
static inline void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		abort();
	return p;
}

static inline uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* n bytes from a splitmix64 stream seeded with seed. */
static inline void fill_splitmix(uint8_t *p, uint64_t n, uint64_t seed)
{
	uint64_t s = seed, i, v = 0;

	for (i = 0; i < n; i++) {
		if (i % 8 == 0)
			v = splitmix64(&s);
		p[i] = (uint8_t)(v >> (8 * (i % 8)));
	}
}

/* 0, or -EOVERFLOW when [gpa, gpa + len) runs past 2^64. */
static inline int range_check(uint64_t gpa, uint64_t len)
{
	return (len != 0 && len - 1 > UINT64_MAX - gpa) ? -EOVERFLOW : 0;
}

#endif /* GMEM_FUZZ_UTIL_H */
