/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * testutil.h - small helpers shared by libgmem's unit tests.
 *
 * Header-only.  Include it after tap.h and gmem.h; the including file must
 * define _GNU_SOURCE before its first #include.  Only ever ADD helpers here
 * (several test files use it); every name starts with tu_.
 */
#ifndef GMEM_TESTS_TESTUTIL_H
#define GMEM_TESTS_TESTUTIL_H

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gmem.h"
#include "tap.h"

/* The host page size. */
/* xorshift64* (the benchmark stream's generator): a fixed sequence per
 * process, so a failing random test fails the same way every run. */
static inline uint64_t tu_rnd(void)
{
	static uint64_t state = 0x9e3779b97f4a7c15ull;
	uint64_t x = state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	state = x;
	return x * 0x2545f4914f6cdd1dull;
}

static inline uint64_t tu_page_size(void)
{
	long ps = sysconf(_SC_PAGESIZE);

	if (ps <= 0)
		tap_bail("sysconf(_SC_PAGESIZE) failed");
	return (uint64_t)ps;
}

/* Round a host pointer down / up to a multiple of the host page size. */
static inline void *tu_page_down(const void *p)
{
	return (void *)((uintptr_t)p & ~(uintptr_t)(tu_page_size() - 1));
}

static inline void *tu_page_up(const void *p)
{
	uintptr_t ps = (uintptr_t)tu_page_size();

	return (void *)(((uintptr_t)p + ps - 1) & ~(ps - 1));
}

/*
 * Whether the host page containing @p is mapped in this process: mincore(2)
 * fails with ENOMEM for an unmapped page.  Returns 1 mapped, 0 unmapped,
 * -1 for any other mincore failure.
 */
static inline int tu_page_mapped(const void *p)
{
	unsigned char vec = 0;

	if (mincore(tu_page_down(p), (size_t)tu_page_size(), &vec) == 0)
		return 1;
	return errno == ENOMEM ? 0 : -1;
}

/* Outcome of tu_child_faults(). */
enum tu_fault {
	TU_FAULT_NO_FORK = -1,	/* could not fork: the caller should skip() */
	TU_FAULT_NONE = 0,	/* the child completed the access */
	TU_FAULT_SEGV = 1,	/* the child was killed by SIGSEGV */
	TU_FAULT_OTHER = 2,	/* the child died another way before finishing
				 * the access (e.g. a sanitizer's SEGV report) */
};

/*
 * Run fn(arg) in a forked child with core dumps off and the default SIGSEGV
 * and SIGBUS dispositions (sanitizers install their own handlers).  The
 * child _exit(0)s right after fn returns, so TU_FAULT_NONE means the access
 * did not fault.  @sig, if not NULL, receives the terminating signal (0 if
 * the child exited).
 */
static inline enum tu_fault tu_child_faults(void (*fn)(void *), void *arg,
					    int *sig)
{
	pid_t pid, w;
	int status = 0;

	if (sig)
		*sig = 0;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return TU_FAULT_NO_FORK;
	if (pid == 0) {
		struct rlimit rl = { 0, 0 };
		struct sigaction sa;

		(void)setrlimit(RLIMIT_CORE, &rl);
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		sigemptyset(&sa.sa_mask);
		(void)signal(SIGSEGV, SIG_DFL);
		(void)sigaction(SIGSEGV, &sa, NULL);
		(void)sigaction(SIGBUS, &sa, NULL);
		fn(arg);
		_exit(0);
	}
	do
		w = waitpid(pid, &status, 0);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return TU_FAULT_NO_FORK;
	if (WIFSIGNALED(status)) {
		if (sig)
			*sig = WTERMSIG(status);
		return WTERMSIG(status) == SIGSEGV ? TU_FAULT_SEGV
						   : TU_FAULT_OTHER;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return TU_FAULT_NONE;
	return TU_FAULT_OTHER;
}

/* fn for tu_child_faults(): read one byte at arg. */
static inline void tu_touch_read(void *arg)
{
	volatile const unsigned char *p = arg;

	(void)*p;
}

/* fn for tu_child_faults(): write one byte at arg. */
static inline void tu_touch_write(void *arg)
{
	volatile unsigned char *p = arg;

	*p = 0x5a;
}

/*
 * One test point: fn(arg) in a child must fault.  Passes on death by
 * SIGSEGV, or by any other abnormal end that happened before the child got
 * past the access; skips when fork() is unavailable.  Returns 1 on pass.
 */
__attribute__((format(printf, 3, 4))) static inline int
tu_expect_fault(void (*fn)(void *), void *arg, const char *fmt, ...)
{
	char what[256];
	va_list ap;
	int sig = 0;
	enum tu_fault f;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	f = tu_child_faults(fn, arg, &sig);
	switch (f) {
	case TU_FAULT_NO_FORK:
		skip("%s (fork unavailable)", what);
		return 1;
	case TU_FAULT_SEGV:
		return ok(1, "%s", what);
	case TU_FAULT_OTHER:
		diag("child ended abnormally (signal %d), not by SIGSEGV", sig);
		return ok(1, "%s", what);
	case TU_FAULT_NONE:
	default:
		ok(0, "%s", what);
		diag("  the access completed without a fault");
		return 0;
	}
}

/*
 * is_int() as an expression: one test point comparing two integers,
 * returning 1 when they are equal (so it can guard dependent checks).
 */
__attribute__((format(printf, 3, 4))) static inline int
tu_is_int(long long got, long long want, const char *fmt, ...)
{
	va_list ap;
	int pass = got == want;

	va_start(ap, fmt);
	tap_vline_(pass, NULL, fmt, ap);
	va_end(ap);
	if (!pass)
		diag("  got: %lld, expected: %lld", got, want);
	return pass;
}

/*
 * Pointer comparison as one test point, returning 1 on pass.  (tap.h's
 * is_ptr() declares its second temporary as "const void", so it does not
 * compile; use this instead.)
 */
__attribute__((format(printf, 3, 4))) static inline int
tu_is_ptr(const void *got, const void *want, const char *fmt, ...)
{
	va_list ap;
	int pass = got == want;

	va_start(ap, fmt);
	tap_vline_(pass, NULL, fmt, ap);
	va_end(ap);
	if (!pass)
		diag("  got: %p, expected: %p", got, want);
	return pass;
}

/* ------------------------------------------------------------------------ */
/* Region-table fixture (access, typed and atomic tests): a table of regions */
/* mapped into one map, with host-side views for checking what an access    */
/* did.  USER regions live in malloc'd blocks that end exactly where the     */
/* region ends, so ASan reports a one-byte overrun by the library; malloc's  */
/* 16-byte alignment plus an offset of gpa % 8 keeps host % 8 == gpa % 8.    */
/* ------------------------------------------------------------------------ */

struct fx_reg {
	const char *name;
	uint64_t gpa;
	uint64_t len;
	uint32_t flags;
	uint32_t backing;
	uint8_t *alloc; /* malloc'd block (USER) */
	uint8_t *host;	/* host address of the region's first byte */
	uint8_t *snap;	/* snapshot of the contents */
	gmem_region *r;
};

/* The region holding gpa, or NULL for a hole. */
static inline struct fx_reg *fx_reg_of(struct fx_reg *regs, size_t n, uint64_t gpa)
{
	for (size_t i = 0; i < n; i++)
		if (gpa >= regs[i].gpa && gpa - regs[i].gpa < regs[i].len)
			return &regs[i];
	return NULL;
}

/* Expected host address of a mapped guest byte, or NULL for a hole. */
static inline uint8_t *fx_host(struct fx_reg *regs, size_t n, uint64_t gpa)
{
	struct fx_reg *r = fx_reg_of(regs, n, gpa);

	return r ? r->host + (gpa - r->gpa) : NULL;
}

/* Create every region and a map of all of them (handed over in reverse
 * order when asked: the map must sort them). */
static inline gmem_map *fx_setup(struct fx_reg *regs, size_t n, int reverse)
{
	gmem_region **rs = calloc(n, sizeof(*rs));
	gmem_map *map;

	if (!rs)
		tap_bail("calloc");
	for (size_t i = 0; i < n; i++) {
		struct fx_reg *g = &regs[i];
		struct gmem_region_config cfg = GMEM_REGION_CONFIG_INIT;
		int rc;

		cfg.backing = g->backing;
		cfg.flags = g->flags;
		cfg.gpa = g->gpa;
		cfg.len = g->len;
		if (g->backing == GMEM_BACKING_USER) {
			size_t off = (size_t)(g->gpa % 8);

			g->alloc = malloc(off + g->len);
			if (!g->alloc)
				tap_bail("malloc");
			g->host = g->alloc + off;
			cfg.host = g->host;
		}
		rc = gmem_region_new(&g->r, &cfg);
		if (rc != 0)
			tap_bail("gmem_region_new(%s): %d", g->name, rc);
		if (g->backing != GMEM_BACKING_USER)
			g->host = gmem_region_host(g->r);
		if (!g->host)
			tap_bail("no host address for %s", g->name);
		g->snap = malloc(g->len);
		if (!g->snap)
			tap_bail("malloc");
		rs[reverse ? n - 1 - i : i] = g->r;
	}
	if (gmem_map_new(&map, rs, n, 0) != 0)
		tap_bail("gmem_map_new");
	free(rs);
	return map;
}

static inline void fx_teardown(struct fx_reg *regs, size_t n, gmem_map *map)
{
	gmem_map_free(map);
	for (size_t i = 0; i < n; i++) {
		gmem_region_free(regs[i].r);
		free(regs[i].alloc);
		free(regs[i].snap);
	}
}

/* Fill regions with pattern(gpa): the USER ones, and the library-mapped
 * ones too when asked (they must not be read-only: PROT_READ faults). */
static inline void fx_reset(struct fx_reg *regs, size_t n,
			    uint8_t (*pattern)(uint64_t gpa), int mapped_too)
{
	for (size_t i = 0; i < n; i++) {
		if (regs[i].backing != GMEM_BACKING_USER && !mapped_too)
			continue;
		for (uint64_t o = 0; o < regs[i].len; o++)
			regs[i].host[o] = pattern(regs[i].gpa + o);
	}
}

static inline void fx_snapshot(struct fx_reg *regs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		memcpy(regs[i].snap, regs[i].host, regs[i].len);
}

/* Whether every region still matches its snapshot. */
static inline int fx_unchanged(const struct fx_reg *regs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (memcmp(regs[i].snap, regs[i].host, regs[i].len) != 0) {
			diag("  region %s changed", regs[i].name);
			return 0;
		}
	return 1;
}

/* Whether memory differs from the snapshot only inside [gpa, gpa + len). */
static inline int fx_changed_only(const struct fx_reg *regs, size_t n,
				  uint64_t gpa, uint64_t len)
{
	for (size_t i = 0; i < n; i++) {
		const struct fx_reg *g = &regs[i];

		for (uint64_t o = 0; o < g->len; o++) {
			uint64_t a = g->gpa + o;

			if (!(a >= gpa && a - gpa < len) && g->snap[o] != g->host[o]) {
				diag("  byte %#" PRIx64 " outside the range changed", a);
				return 0;
			}
		}
	}
	return 1;
}

#endif /* GMEM_TESTS_TESTUTIL_H */
