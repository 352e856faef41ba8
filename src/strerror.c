/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * strerror.c - error descriptions and version string.
 *
 * Own texts rather than strerror(3): they say what the code means for a
 * libgmem call, and a static table is thread-safe without strerror_r.
 */
#include "internal.h"

#include <limits.h>
#include <string.h>

#define GMEM_STR_(x) #x
#define GMEM_STR(x) GMEM_STR_(x)

GMEM_EXPORT const char *gmem_version(void)
{
	return GMEM_STR(GMEM_VERSION_MAJOR) "." GMEM_STR(
		GMEM_VERSION_MINOR) "." GMEM_STR(GMEM_VERSION_PATCH);
}

GMEM_EXPORT const char *gmem_strerror(int err)
{
	int code;

	/* -INT_MIN does not exist; keep the negation defined. */
	if (err == INT_MIN)
		return "unknown error";
	code = err < 0 ? -err : err;
	switch (code) {
	case 0:
		return "success";
	case EINVAL:
		return "invalid argument";
	case EOVERFLOW:
		return "guest range runs past the end of the address space";
	case EFAULT:
		return "guest range not fully mapped (hole)";
	case EACCES:
		return "permission denied (write to a read-only region, or file access mode)";
	case EEXIST:
		return "region overlaps an existing region";
	case ENOENT:
		return "no such region or entry";
	case E2BIG:
		return "too many regions for this map";
	case ENOMEM:
		return "out of memory";
	case ENOBUFS:
		return "output buffer too small (iovec entries or bitmap words)";
	case EXDEV:
		return "guest range spans more than one region";
	case EAGAIN:
		return "value changed (compare-exchange failed) or operation would block";
	case EBADF:
		return "bad file descriptor";
	case ENODEV:
		return "file cannot be memory-mapped";
	case EBUSY:
		return "resource busy";
	case EDEADLK:
		return "operation would wait for the calling thread itself";
	case EOPNOTSUPP:
		return "operation not supported by this kind of address space";
	case EIO:
		return "input/output error (the descriptor accepted no data)";
	case ENODATA:
		return "end of file before the requested length";
	case ENOSYS:
		return "operation not supported by this kernel";
	default:
		break;
	}
	/* Errors passed through from the kernel (readv, mmap, ...):
	 * glibc's description table, which is static and thread-safe. */
#if defined(__GLIBC__) && defined(__GLIBC_PREREQ)
#if __GLIBC_PREREQ(2, 32)
	{
		const char *d = strerrordesc_np(code);

		if (d)
			return d;
	}
#endif
#endif
	return "unknown error";
}
