/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * membarrier.h - membarrier(2), for the two asymmetric protocols: dirty
 * marks that skip their store (dirty.h) and read sections without a
 * store-load fence (grace.c).  Both make the rare side (harvest, grace
 * period) pay for the fence the frequent side leaves out.
 */
#ifndef GMEM_MEMBARRIER_H
#define GMEM_MEMBARRIER_H

#include <errno.h>
#include <linux/membarrier.h>
#include <stdbool.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ThreadSanitizer cannot see the ordering membarrier(2) provides: TSan
 * builds always take the symmetric protocols, which it models. */
#if defined(__SANITIZE_THREAD__)
#define GMEM_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GMEM_TSAN 1
#endif
#endif

static inline long gmem__sys_membarrier(int cmd)
{
#ifdef __NR_membarrier
	return syscall(__NR_membarrier, cmd, 0, 0);
#else
	(void)cmd;
	errno = ENOSYS;
	return -1;
#endif
}

/*
 * Whether the asymmetric protocols may be used.  Registration is
 * process-wide and idempotent; doing it when an object that needs it is
 * created (not in a constructor) keeps library load side-effect free.
 */
static inline bool gmem__membarrier_usable(void)
{
#ifdef GMEM_TSAN
	return false;
#else
	return gmem__sys_membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) ==
	       0;
#endif
}

#endif /* GMEM_MEMBARRIER_H */
