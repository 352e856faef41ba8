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
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"

/* The host page size. */
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

#endif /* GMEM_TESTS_TESTUTIL_H */
