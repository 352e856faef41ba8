/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * test_region.c - region creation (every backing), validation, getters,
 * reference counting, guard pages and unmapping.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gmem.h"
#include "tap.h"
#include "testutil.h"

#define TOP UINT64_MAX

/* The lowest flag bit libgmem does not know. */
#define UNKNOWN_FLAG                                                          \
	(~(uint32_t)GMEM_REGION_FLAGS_ALL & (uint32_t)(0u - ~(uint32_t)GMEM_REGION_FLAGS_ALL))

static uint64_t PS;

/* A pointer that gmem_region_new() must leave alone when it fails. */
static char sentinel_obj;
#define SENTINEL_REGION ((gmem_region *)(void *)&sentinel_obj)

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static int fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1;
}

/* A memfd of @size bytes, or bail out. */
static int make_memfd(uint64_t size)
{
	int fd = memfd_create("gmem-test", MFD_CLOEXEC);

	if (fd < 0)
		tap_bail("memfd_create: %s", strerror(errno));
	if (ftruncate(fd, (off_t)size) != 0)
		tap_bail("ftruncate: %s", strerror(errno));
	return fd;
}

/* A temporary regular file of @size bytes, reopened with @oflags. */
static int make_tmpfile(uint64_t size, int oflags)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	int fd, fd2;

	if (!dir || !*dir)
		dir = "/tmp";
	snprintf(path, sizeof(path), "%s/gmem-test-region-XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0)
		tap_bail("mkstemp(%s): %s", path, strerror(errno));
	if (ftruncate(fd, (off_t)size) != 0)
		tap_bail("ftruncate: %s", strerror(errno));
	if (pwrite(fd, "file", 4, 0) != 4)
		tap_bail("pwrite: %s", strerror(errno));
	fd2 = open(path, oflags | O_CLOEXEC);
	if (fd2 < 0)
		tap_bail("open(%s): %s", path, strerror(errno));
	unlink(path);
	close(fd);
	return fd2;
}

static int all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

static int is_aligned_ptr(const void *p, uint64_t gpa)
{
	return ((uintptr_t)p & 7) == (gpa & 7);
}

/* ------------------------------------------------------------------------ */

static void test_null_getters(void)
{
	is_u64(gmem_region_start(NULL), 0, "NULL region: start is 0");
	is_u64(gmem_region_len(NULL), 0, "NULL region: len is 0");
	is_u64(gmem_region_last(NULL), 0, "NULL region: last is 0");
	tu_is_ptr(gmem_region_host(NULL), NULL, "NULL region: host is NULL");
	is_int(gmem_region_backing(NULL), -EINVAL, "NULL region: backing is -EINVAL");
	is_int(gmem_region_flags(NULL), 0, "NULL region: flags is 0");
	ok(!gmem_region_writable(NULL), "NULL region: not writable");
	is_int(gmem_region_fd(NULL), -1, "NULL region: fd is -1");
	is_u64(gmem_region_file_offset(NULL), 0, "NULL region: file offset is 0");
	is_u64(gmem_region_page_size(NULL), 0, "NULL region: page size is 0");
	tu_is_ptr(gmem_region_ref(NULL), NULL, "gmem_region_ref(NULL) is NULL");
	gmem_region_free(NULL);
	ok(1, "gmem_region_free(NULL) is a no-op");
}

static void test_validation(void)
{
	struct gmem_region_config c = GMEM_REGION_CONFIG_INIT;
	struct {
		struct gmem_region_config c;
		unsigned char pad[64];
	} big;
	gmem_region *r;
	int fds = count_fds();

	ok(sizeof(struct gmem_region_config) == GMEM_REGION_CONFIG_SIZE_V1,
	   "sizeof(struct gmem_region_config) == GMEM_REGION_CONFIG_SIZE_V1");
	is_int(c.size, sizeof(struct gmem_region_config),
	       "GMEM_REGION_CONFIG_INIT sets size");
	is_int(c.backing, GMEM_BACKING_ANON, "GMEM_REGION_CONFIG_INIT is ANON");
	is_int(c.fd, -1, "GMEM_REGION_CONFIG_INIT sets fd -1");
	is_int(c.flags, 0, "GMEM_REGION_CONFIG_INIT has no flags");

	c.gpa = 0x1000;
	c.len = PS;
	is_int(gmem_region_new(NULL, &c), -EINVAL, "new: NULL out -> -EINVAL");
	r = SENTINEL_REGION;
	is_int(gmem_region_new(&r, NULL), -EINVAL, "new: NULL cfg -> -EINVAL");
	tu_is_ptr(r, SENTINEL_REGION, "new: out untouched after NULL cfg");

	c.size = 0;
	is_int(gmem_region_new(&r, &c), -EINVAL, "new: cfg->size 0 -> -EINVAL");
	c.size = 8;
	is_int(gmem_region_new(&r, &c), -EINVAL, "new: cfg->size 8 -> -EINVAL");
	c.size = GMEM_REGION_CONFIG_SIZE_V1 - 1;
	is_int(gmem_region_new(&r, &c), -EINVAL,
	       "new: cfg->size GMEM_REGION_CONFIG_SIZE_V1 - 1 -> -EINVAL");
	tu_is_ptr(r, SENTINEL_REGION, "new: out untouched after bad size");

	memset(&big, 0, sizeof(big));
	big.c = c;
	big.c.size = (uint32_t)sizeof(big.c) + 8;
	is_int(gmem_region_new(&r, &big.c), -EINVAL,
	       "new: cfg->size sizeof + 8 (unknown, larger) -> -EINVAL");
	big.c.size = (uint32_t)sizeof(big);
	is_int(gmem_region_new(&r, &big.c), -EINVAL,
	       "new: cfg->size sizeof + 64 (unknown, larger) -> -EINVAL");
	big.c.size = UINT32_MAX;
	is_int(gmem_region_new(&r, &big.c), -EINVAL,
	       "new: cfg->size UINT32_MAX -> -EINVAL");
	tu_is_ptr(r, SENTINEL_REGION, "new: out untouched after unknown size");

	c.size = GMEM_REGION_CONFIG_SIZE_V1;
	r = NULL;
	is_int(gmem_region_new(&r, &c), 0,
	       "new: cfg->size GMEM_REGION_CONFIG_SIZE_V1 accepted");
	ok(r != NULL, "new: out set on success");
	gmem_region_free(r);

	r = SENTINEL_REGION;
	c.backing = 4;
	is_int(gmem_region_new(&r, &c), -EINVAL, "new: backing 4 -> -EINVAL");
	c.backing = UINT32_MAX;
	is_int(gmem_region_new(&r, &c), -EINVAL, "new: backing UINT32_MAX -> -EINVAL");
	c.backing = (uint32_t)-1 - 1;
	is_int(gmem_region_new(&r, &c), -EINVAL, "new: backing 0xfffffffe -> -EINVAL");
	tu_is_ptr(r, SENTINEL_REGION, "new: out untouched after bad backing");
	c.backing = GMEM_BACKING_ANON;

	c.flags = UNKNOWN_FLAG;
	is_int(gmem_region_new(&r, &c), -EINVAL,
	       "new: lowest unknown flag bit (%#x) -> -EINVAL", UNKNOWN_FLAG);
	c.flags = 1u << 31;
	is_int(gmem_region_new(&r, &c), -EINVAL, "new: flag bit 31 -> -EINVAL");
	c.flags = GMEM_REGION_FLAGS_ALL | UNKNOWN_FLAG;
	is_int(gmem_region_new(&r, &c), -EINVAL,
	       "new: all known flags plus an unknown bit -> -EINVAL");
	c.flags = ~(uint32_t)GMEM_REGION_FLAGS_ALL;
	is_int(gmem_region_new(&r, &c), -EINVAL, "new: every unknown bit -> -EINVAL");
	tu_is_ptr(r, SENTINEL_REGION, "new: out untouched after bad flags");
	c.flags = GMEM_REGION_FLAGS_ALL;
	r = NULL;
	is_int(gmem_region_new(&r, &c), 0, "new: GMEM_REGION_FLAGS_ALL accepted");
	is_int(gmem_region_flags(r), GMEM_REGION_FLAGS_ALL,
	       "new: all flags reported back");
	ok(!gmem_region_writable(r), "new: all flags -> not writable");
	gmem_region_free(r);
	c.flags = 0;

	r = SENTINEL_REGION;
	c.len = 0;
	is_int(gmem_region_new(&r, &c), -EINVAL, "new: ANON len 0 -> -EINVAL");
	c.gpa = 0;
	is_int(gmem_region_new(&r, &c), -EINVAL, "new: ANON len 0 at gpa 0 -> -EINVAL");
	c.gpa = TOP;
	is_int(gmem_region_new(&r, &c), -EINVAL,
	       "new: ANON len 0 at UINT64_MAX -> -EINVAL");
	tu_is_ptr(r, SENTINEL_REGION, "new: out untouched after len 0");

	c.gpa = TOP - PS + 1;
	c.len = 2 * PS;
	is_int(gmem_region_new(&r, &c), -EOVERFLOW,
	       "new: ANON [2^64-page, +2 pages) -> -EOVERFLOW");
	c.gpa = TOP;
	c.len = 2;
	is_int(gmem_region_new(&r, &c), -EOVERFLOW,
	       "new: ANON [UINT64_MAX, +2) -> -EOVERFLOW");
	c.gpa = TOP - PS + 2;
	c.len = PS;
	is_int(gmem_region_new(&r, &c), -EOVERFLOW,
	       "new: ANON one byte past 2^64 -> -EOVERFLOW");
	c.gpa = TOP;
	c.len = TOP;
	is_int(gmem_region_new(&r, &c), -EOVERFLOW,
	       "new: ANON [UINT64_MAX, +UINT64_MAX) -> -EOVERFLOW");
	tu_is_ptr(r, SENTINEL_REGION, "new: out untouched after -EOVERFLOW");

	/* A region may end exactly at 2^64. */
	c.gpa = TOP - PS + 1;
	c.len = PS;
	r = NULL;
	if (tu_is_int(gmem_region_new(&r, &c), 0,
		      "new: ANON region ending exactly at 2^64 accepted")) {
		unsigned char *h = gmem_region_host(r);

		is_u64(gmem_region_start(r), TOP - PS + 1, "top region: start");
		is_u64(gmem_region_len(r), PS, "top region: len");
		is_u64(gmem_region_last(r), TOP, "top region: last == UINT64_MAX");
		ok(h != NULL, "top region: host non-NULL");
		if (h) {
			h[PS - 1] = 0xa5;
			is_int(h[PS - 1], 0xa5,
			       "top region: byte at UINT64_MAX writable via host");
		}
		gmem_region_free(r);
	}
	c.gpa = TOP;
	c.len = 1;
	r = NULL;
	is_int(gmem_region_new(&r, &c), 0, "new: ANON single byte at UINT64_MAX accepted");
	is_u64(gmem_region_last(r), TOP, "single top byte: last == UINT64_MAX");
	is_u64(gmem_region_len(r), 1, "single top byte: len 1");
	ok(is_aligned_ptr(gmem_region_host(r), TOP),
	   "single top byte: host %% 8 == 7");
	gmem_region_free(r);
	c.gpa = 0;
	c.len = 1;
	r = NULL;
	is_int(gmem_region_new(&r, &c), 0, "new: ANON single byte at 0 accepted");
	is_u64(gmem_region_start(r), 0, "byte at 0: start 0");
	is_u64(gmem_region_last(r), 0, "byte at 0: last 0");
	gmem_region_free(r);

	/* ANON satisfies host % 8 == gpa % 8 itself. */
	{
		static const uint64_t gpas[] = { 1, 3, 5, 7, 0x1003, 0x10006 };
		size_t i;

		for (i = 0; i < sizeof(gpas) / sizeof(gpas[0]); i++) {
			r = NULL;
			c.gpa = gpas[i];
			c.len = 100;
			if (!tu_is_int(gmem_region_new(&r, &c), 0,
				    "new: ANON at misaligned gpa %#" PRIx64
				    " accepted",
				    gpas[i]))
				continue;
			ok(is_aligned_ptr(gmem_region_host(r), gpas[i]),
			   "ANON gpa %#" PRIx64 ": host %% 8 == gpa %% 8",
			   gpas[i]);
			is_u64(gmem_region_start(r), gpas[i],
			       "ANON gpa %#" PRIx64 ": start", gpas[i]);
			gmem_region_free(r);
		}
	}
	is_int(count_fds(), fds, "validation: no fd leaked");
}

static void check_anon_getters(gmem_region *r, uint64_t gpa, uint64_t len,
			       uint32_t flags, const char *what)
{
	is_u64(gmem_region_start(r), gpa, "%s: start", what);
	is_u64(gmem_region_len(r), len, "%s: len", what);
	is_u64(gmem_region_last(r), gpa + len - 1, "%s: last", what);
	ok(gmem_region_host(r) != NULL, "%s: host non-NULL", what);
	ok(is_aligned_ptr(gmem_region_host(r), gpa), "%s: host %% 8 == gpa %% 8",
	   what);
	is_int(gmem_region_backing(r), GMEM_BACKING_ANON, "%s: backing ANON", what);
	is_int(gmem_region_flags(r), flags, "%s: flags", what);
	ok(gmem_region_writable(r) == !(flags & GMEM_REGION_READONLY),
	   "%s: writable %s", what,
	   (flags & GMEM_REGION_READONLY) ? "false" : "true");
	is_int(gmem_region_fd(r), -1, "%s: fd -1", what);
	is_u64(gmem_region_file_offset(r), 0, "%s: file offset 0", what);
	is_u64(gmem_region_page_size(r), PS, "%s: page size is the host page size",
	       what);
}

static void rw_pattern(gmem_region *r, uint64_t len, const char *what)
{
	unsigned char *h = gmem_region_host(r);
	size_t n = (size_t)len, i;
	int good = 1;

	if (!h) {
		ok(0, "%s: read/write through host", what);
		return;
	}
	for (i = 0; i < n; i++)
		h[i] = (unsigned char)(i * 7 + 1);
	for (i = 0; i < n; i++)
		if (h[i] != (unsigned char)(i * 7 + 1))
			good = 0;
	ok(good, "%s: every byte writable and readable through host", what);
}

static void test_anon(void)
{
	struct gmem_region_config c = GMEM_REGION_CONFIG_INIT;
	gmem_region *r = NULL, *r2 = NULL;
	unsigned char vec[4];
	int fds = count_fds();

	is_int(gmem_region_new_anon(&r, 0x10000, 3 * PS, 0), 0,
	       "anon rw: created");
	check_anon_getters(r, 0x10000, 3 * PS, 0, "anon rw");
	ok(gmem_region_host(r) && all_zero(gmem_region_host(r), (size_t)(3 * PS)),
	   "anon rw: zero-filled");
	rw_pattern(r, 3 * PS, "anon rw");

	c.gpa = 0x10000;
	c.len = 3 * PS;
	is_int(gmem_region_new(&r2, &c), 0,
	       "anon via gmem_region_new with the same cfg: created");
	ok(gmem_region_start(r2) == gmem_region_start(r) &&
		   gmem_region_len(r2) == gmem_region_len(r) &&
		   gmem_region_flags(r2) == gmem_region_flags(r) &&
		   gmem_region_backing(r2) == gmem_region_backing(r) &&
		   gmem_region_page_size(r2) == gmem_region_page_size(r),
	   "gmem_region_new_anon is equivalent to gmem_region_new");
	ok(gmem_region_host(r2) != gmem_region_host(r),
	   "two regions over the same gpa get distinct host memory");
	gmem_region_free(r2);
	gmem_region_free(r);

	r = NULL;
	is_int(gmem_region_new_anon(&r, 0x20000, 2 * PS, GMEM_REGION_READONLY), 0,
	       "anon readonly: created");
	check_anon_getters(r, 0x20000, 2 * PS, GMEM_REGION_READONLY, "anon readonly");
	ok(gmem_region_host(r) && all_zero(gmem_region_host(r), (size_t)(2 * PS)),
	   "anon readonly: readable and zero-filled");
	gmem_region_free(r);

	r = NULL;
	is_int(gmem_region_new_anon(&r, 0, 2 * PS, GMEM_REGION_NORESERVE), 0,
	       "anon noreserve: created");
	check_anon_getters(r, 0, 2 * PS, GMEM_REGION_NORESERVE, "anon noreserve");
	rw_pattern(r, 2 * PS, "anon noreserve");
	gmem_region_free(r);

	r = NULL;
	is_int(gmem_region_new_anon(&r, 0x4000, 4 * PS, GMEM_REGION_POPULATE), 0,
	       "anon populate: created");
	check_anon_getters(r, 0x4000, 4 * PS, GMEM_REGION_POPULATE, "anon populate");
	if (gmem_region_host(r)) {
		memset(vec, 0, sizeof(vec));
		is_int(mincore(tu_page_down(gmem_region_host(r)), (size_t)(4 * PS),
			       vec),
		       0, "anon populate: mincore succeeds on the mapping");
		ok((vec[0] & 1) && (vec[1] & 1) && (vec[2] & 1) && (vec[3] & 1),
		   "anon populate: every page resident after creation");
	}
	rw_pattern(r, 4 * PS, "anon populate");
	gmem_region_free(r);

	r = NULL;
	is_int(gmem_region_new_anon(&r, 0x8000, PS + 17, GMEM_REGION_NO_GUARD), 0,
	       "anon no-guard: created (length not a page multiple)");
	check_anon_getters(r, 0x8000, PS + 17, GMEM_REGION_NO_GUARD, "anon no-guard");
	rw_pattern(r, PS + 17, "anon no-guard");
	gmem_region_free(r);

	r = NULL;
	is_int(gmem_region_new_anon(&r, 0x8000, 1, 0), 0, "anon 1 byte: created");
	check_anon_getters(r, 0x8000, 1, 0, "anon 1 byte");
	rw_pattern(r, 1, "anon 1 byte");
	gmem_region_free(r);

	r = SENTINEL_REGION;
	is_int(gmem_region_new_anon(NULL, 0, PS, 0), -EINVAL,
	       "new_anon: NULL out -> -EINVAL");
	is_int(gmem_region_new_anon(&r, 0, 0, 0), -EINVAL,
	       "new_anon: len 0 -> -EINVAL");
	is_int(gmem_region_new_anon(&r, TOP - PS + 2, PS, 0), -EOVERFLOW,
	       "new_anon: one byte past 2^64 -> -EOVERFLOW");
	is_int(gmem_region_new_anon(&r, 0, PS, UNKNOWN_FLAG), -EINVAL,
	       "new_anon: unknown flag -> -EINVAL");
	tu_is_ptr(r, SENTINEL_REGION, "new_anon: out untouched on failure");
	r = NULL;
	is_int(gmem_region_new_anon(&r, TOP - PS + 1, PS, 0), 0,
	       "new_anon: region ending at 2^64 accepted");
	is_u64(gmem_region_last(r), TOP, "new_anon: top region last == UINT64_MAX");
	gmem_region_free(r);
	is_int(count_fds(), fds, "anon: no fd opened or leaked");
}

/* Guard pages: a byte just outside the mapping must fault in a child. */
static void check_guards(gmem_region *r, const char *what)
{
	unsigned char *h = gmem_region_host(r);
	uint64_t len = gmem_region_len(r);
	unsigned char *before, *after;

	if (!h) {
		ok(0, "%s: has a host mapping", what);
		return;
	}
	before = (unsigned char *)tu_page_down(h) - 1;
	after = tu_page_up(h + len);
	ok(tu_page_mapped(h) == 1, "%s: first page mapped", what);
	is_int(tu_child_faults(tu_touch_read, h, NULL), TU_FAULT_NONE,
	       "%s: reading the first byte does not fault (control)", what);
	is_int(tu_child_faults(tu_touch_read, h + len - 1, NULL), TU_FAULT_NONE,
	       "%s: reading the last byte does not fault (control)", what);
	tu_expect_fault(tu_touch_read, before,
			"%s: reading the byte before the mapping faults (guard)",
			what);
	tu_expect_fault(tu_touch_read, after,
			"%s: reading the byte after the mapping faults (guard)",
			what);
	ok(tu_page_mapped(before) == 1 && tu_page_mapped(after) == 1,
	   "%s: guard pages are reserved (mapped, inaccessible)", what);
}

static void test_guards_and_unmap(void)
{
	gmem_region *r = NULL;
	unsigned char *h, *before, *after;
	int fd, rfd;

	/* ANON, length not a multiple of the page size. */
	if (tu_is_int(gmem_region_new_anon(&r, 0x100000, 2 * PS + 100, 0), 0,
		   "guard anon: created")) {
		check_guards(r, "guard anon");
		h = gmem_region_host(r);
		before = (unsigned char *)tu_page_down(h) - 1;
		after = tu_page_up(h + 2 * PS + 100);
		gmem_region_free(r);
		is_int(tu_page_mapped(h), 0,
		       "anon: mapping gone after the last reference (mincore ENOMEM)");
		is_int(tu_page_mapped(h + 2 * PS), 0,
		       "anon: last page gone after the last reference");
		is_int(tu_page_mapped(before), 0, "anon: leading guard page released");
		is_int(tu_page_mapped(after), 0, "anon: trailing guard page released");
	}

	/* ANON at a gpa that is not 8-aligned: host starts inside a page. */
	r = NULL;
	if (tu_is_int(gmem_region_new_anon(&r, 0x200005, PS, 0), 0,
		   "guard anon gpa%%8=5: created")) {
		check_guards(r, "guard anon gpa%8=5");
		gmem_region_free(r);
	}

	/* Read-only ANON: the host mapping is PROT_READ. */
	r = NULL;
	if (tu_is_int(gmem_region_new_anon(&r, 0x300000, PS, GMEM_REGION_READONLY), 0,
		   "readonly anon: created")) {
		h = gmem_region_host(r);
		is_int(tu_child_faults(tu_touch_read, h, NULL), TU_FAULT_NONE,
		       "readonly anon: reading through host works (control)");
		tu_expect_fault(tu_touch_write, h,
				"readonly anon: writing through host faults");
		tu_expect_fault(tu_touch_write, h + PS - 1,
				"readonly anon: writing the last byte faults");
		check_guards(r, "readonly anon");
		gmem_region_free(r);
		is_int(tu_page_mapped(h), 0, "readonly anon: unmapped after free");
	}

	/* NO_GUARD: no fault is defined, only that the mapping goes away. */
	r = NULL;
	if (tu_is_int(gmem_region_new_anon(&r, 0x400000, 2 * PS, GMEM_REGION_NO_GUARD),
		   0, "no-guard anon: created")) {
		h = gmem_region_host(r);
		is_int(tu_child_faults(tu_touch_write, h + 2 * PS - 1, NULL),
		       TU_FAULT_NONE, "no-guard anon: last byte writable (control)");
		gmem_region_free(r);
		is_int(tu_page_mapped(h), 0, "no-guard anon: unmapped after free");
	}

	/* FD: guards, read-only protection, unmapping and fd closing. */
	fd = make_memfd(4 * PS);
	{
		struct gmem_region_config c = GMEM_REGION_CONFIG_INIT;

		c.backing = GMEM_BACKING_FD;
		c.fd = fd;
		c.gpa = 0x500000;
		c.len = 2 * PS;
		c.offset = PS;
		r = NULL;
		if (tu_is_int(gmem_region_new(&r, &c), 0, "guard fd: created")) {
			check_guards(r, "guard fd");
			h = gmem_region_host(r);
			rfd = gmem_region_fd(r);
			gmem_region_free(r);
			is_int(tu_page_mapped(h), 0, "fd: mapping gone after free");
			ok(!fd_is_open(rfd), "fd: region's fd closed after free");
			ok(fd_is_open(fd), "fd: caller's fd still open after free");
		}
		c.flags = GMEM_REGION_READONLY;
		r = NULL;
		if (tu_is_int(gmem_region_new(&r, &c), 0, "readonly fd: created")) {
			h = gmem_region_host(r);
			is_int(tu_child_faults(tu_touch_read, h, NULL),
			       TU_FAULT_NONE, "readonly fd: reading works (control)");
			tu_expect_fault(tu_touch_write, h,
					"readonly fd: writing through host faults");
			gmem_region_free(r);
		}
	}
	close(fd);
}

static void test_refcount(void)
{
	gmem_region *r = NULL, *r2;
	gmem_map *m = NULL;
	unsigned char *h;

	if (!tu_is_int(gmem_region_new_anon(&r, 0x1000, PS, 0), 0, "refcount: created"))
		return;
	h = gmem_region_host(r);
	r2 = gmem_region_ref(r);
	tu_is_ptr(r2, r, "gmem_region_ref returns its argument");
	gmem_region_free(r);
	h[0] = 0x11;
	h[PS - 1] = 0x22;
	ok(h[0] == 0x11 && h[PS - 1] == 0x22,
	   "refcount: host memory usable after dropping one of two references");
	is_u64(gmem_region_start(r2), 0x1000, "refcount: getters work after one free");
	ok(tu_page_mapped(h) == 1, "refcount: still mapped with one reference left");
	gmem_region_free(r2);
	is_int(tu_page_mapped(h), 0, "refcount: unmapped after the last reference");

	/* A region held by a map outlives its creator's reference. */
	r = NULL;
	if (!tu_is_int(gmem_region_new_anon(&r, 0x2000, 2 * PS, 0), 0,
		    "map-held: region created"))
		return;
	h = gmem_region_host(r);
	if (!tu_is_int(gmem_map_new(&m, &r, 1, 0), 0, "map-held: map created")) {
		gmem_region_free(r);
		return;
	}
	gmem_region_free(r);
	h[0] = 0x33;
	h[2 * PS - 1] = 0x44;
	ok(h[0] == 0x33 && h[2 * PS - 1] == 0x44,
	   "map-held: host memory usable after the creator's free");
	ok(tu_page_mapped(h) == 1, "map-held: still mapped while the map lives");
	{
		gmem_region *f = NULL;

		is_int(gmem_map_find(m, 0x2000, &f), 0, "map-held: region found in map");
		tu_is_ptr(gmem_region_host(f), h, "map-held: same host pointer");
		is_u64(gmem_region_len(f), 2 * PS, "map-held: getters work");
	}
	gmem_map_free(m);
	is_int(tu_page_mapped(h), 0, "map-held: unmapped when the map is freed");
}

static void test_fd(void)
{
	struct gmem_region_config c = GMEM_REGION_CONFIG_INIT;
	gmem_region *r = NULL;
	unsigned char *h;
	char buf[16];
	struct stat st1, st2;
	int fd, rfd, fds;

	fds = count_fds();
	fd = make_memfd(4 * PS);
	c.backing = GMEM_BACKING_FD;
	c.fd = fd;
	c.gpa = 0x100000;
	c.len = 2 * PS;
	c.offset = 0;
	if (tu_is_int(gmem_region_new(&r, &c), 0, "fd offset 0: created")) {
		h = gmem_region_host(r);
		rfd = gmem_region_fd(r);
		is_int(gmem_region_backing(r), GMEM_BACKING_FD, "fd offset 0: backing FD");
		is_u64(gmem_region_start(r), 0x100000, "fd offset 0: start");
		is_u64(gmem_region_len(r), 2 * PS, "fd offset 0: len");
		is_u64(gmem_region_last(r), 0x100000 + 2 * PS - 1, "fd offset 0: last");
		is_u64(gmem_region_file_offset(r), 0, "fd offset 0: file offset 0");
		is_u64(gmem_region_page_size(r), PS, "fd offset 0: host page size");
		is_int(gmem_region_flags(r), 0, "fd offset 0: flags 0");
		ok(gmem_region_writable(r), "fd offset 0: writable");
		ok(h != NULL, "fd offset 0: host non-NULL");
		ok(rfd >= 0, "fd offset 0: region fd valid");
		ok(rfd != fd, "fd offset 0: region fd is a duplicate, not the caller's");
		ok(rfd >= 0 && (fcntl(rfd, F_GETFD) & FD_CLOEXEC),
		   "fd offset 0: region fd is close-on-exec");
		ok(rfd >= 0 && fstat(rfd, &st1) == 0 && fstat(fd, &st2) == 0 &&
			   st1.st_ino == st2.st_ino && st1.st_dev == st2.st_dev,
		   "fd offset 0: region fd refers to the same file");
		if (h) {
			memcpy(h + 100, "hello", 5);
			memset(buf, 0, sizeof(buf));
			ok(pread(fd, buf, 5, 100) == 5 && memcmp(buf, "hello", 5) == 0,
			   "fd offset 0: host write visible through the fd (shared)");
			ok(pwrite(fd, "world", 5, (off_t)(PS + 7)) == 5 &&
				   memcmp(h + PS + 7, "world", 5) == 0,
			   "fd offset 0: fd write visible through host");
		}
		gmem_region_free(r);
	}

	r = NULL;
	c.offset = PS;
	if (tu_is_int(gmem_region_new(&r, &c), 0, "fd offset page: created")) {
		h = gmem_region_host(r);
		is_u64(gmem_region_file_offset(r), PS, "fd offset page: file offset");
		ok(pwrite(fd, "xyz", 3, (off_t)PS) == 3 && h &&
			   memcmp(h, "xyz", 3) == 0,
		   "fd offset page: host byte 0 is file byte <page size>");
		ok(h && pwrite(fd, "end", 3, (off_t)(3 * PS - 3)) == 3 &&
			   memcmp(h + 2 * PS - 3, "end", 3) == 0,
		   "fd offset page: host's last bytes are the file's at offset+len");
		if (h) {
			memcpy(h + PS, "mid", 3);
			memset(buf, 0, sizeof(buf));
			ok(pread(fd, buf, 3, (off_t)(2 * PS)) == 3 &&
				   memcmp(buf, "mid", 3) == 0,
			   "fd offset page: host write lands at file offset+pos");
		}
		/* The region keeps its own duplicate: the caller may close. */
		close(fd);
		fd = -1;
		rfd = gmem_region_fd(r);
		ok(rfd >= 0 && fd_is_open(rfd),
		   "fd: region fd still open after the caller closed its fd");
		if (h) {
			memcpy(h + 10, "after", 5);
			memset(buf, 0, sizeof(buf));
			ok(rfd >= 0 && pread(rfd, buf, 5, (off_t)(PS + 10)) == 5 &&
				   memcmp(buf, "after", 5) == 0,
			   "fd: region usable after the caller closed its fd");
		}
		gmem_region_free(r);
	}
	if (fd >= 0)
		close(fd);

	/* Error paths. */
	fd = make_memfd(4 * PS);
	c.fd = fd;
	c.len = PS;
	r = SENTINEL_REGION;
	c.offset = 100;
	is_int(gmem_region_new(&r, &c), -EINVAL, "fd: offset 100 -> -EINVAL");
	c.offset = PS / 2;
	is_int(gmem_region_new(&r, &c), -EINVAL, "fd: offset half a page -> -EINVAL");
	c.offset = PS + 1;
	is_int(gmem_region_new(&r, &c), -EINVAL, "fd: offset page+1 -> -EINVAL");
	c.offset = TOP & ~(PS - 1);
	c.len = 2 * PS;
	is_int(gmem_region_new(&r, &c), -EOVERFLOW,
	       "fd: offset + len past 2^64 -> -EOVERFLOW");
	c.offset = 0;
	c.len = 0;
	is_int(gmem_region_new(&r, &c), -EINVAL, "fd: len 0 -> -EINVAL");
	c.len = PS;
	c.fd = -1;
	is_int(gmem_region_new(&r, &c), -EINVAL, "fd: fd -1 -> -EINVAL");
	c.fd = -5;
	is_int(gmem_region_new(&r, &c), -EINVAL, "fd: fd -5 -> -EINVAL");
	c.fd = fd;
	c.gpa = 0x100004;
	is_int(gmem_region_new(&r, &c), -EINVAL, "fd: gpa %% 8 == 4 -> -EINVAL");
	c.gpa = 0x1001;
	is_int(gmem_region_new(&r, &c), -EINVAL, "fd: gpa %% 8 == 1 -> -EINVAL");
	c.gpa = TOP - PS + 2;
	is_int(gmem_region_new(&r, &c), -EOVERFLOW,
	       "fd: gpa + len one past 2^64 -> -EOVERFLOW");
	c.gpa = 0x100000;
	tu_is_ptr(r, SENTINEL_REGION, "fd: out untouched on failure");
	close(fd);

	{
		int closed = make_memfd(PS);

		close(closed);
		c.fd = closed;
		is_int(gmem_region_new(&r, &c), -EBADF, "fd: closed fd -> -EBADF");
	}
	{
		int p[2];

		int nul;

		if (pipe(p) == 0) {
			/* Read-only, so mmap gets past its fd-mode checks. */
			c.fd = p[0];
			c.flags = GMEM_REGION_READONLY;
			is_int(gmem_region_new(&r, &c), -ENODEV,
			       "fd: a pipe (cannot be mapped) -> -ENODEV");
			c.flags = 0;
			close(p[0]);
			close(p[1]);
		} else {
			skip("fd: pipe() unavailable");
		}
		nul = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (nul >= 0) {
			c.fd = nul;
			is_int(gmem_region_new(&r, &c), -ENODEV,
			       "fd: /dev/null (cannot be mapped) -> -ENODEV");
			close(nul);
		} else {
			skip("fd: /dev/null unavailable");
		}
	}

	fd = make_tmpfile(2 * PS, O_WRONLY);
	c.fd = fd;
	c.len = PS;
	is_int(gmem_region_new(&r, &c), -EACCES, "fd: O_WRONLY file -> -EACCES");
	c.flags = GMEM_REGION_READONLY;
	is_int(gmem_region_new(&r, &c), -EACCES,
	       "fd: O_WRONLY file, read-only region -> -EACCES");
	c.flags = 0;
	close(fd);

	fd = make_tmpfile(2 * PS, O_RDONLY);
	c.fd = fd;
	is_int(gmem_region_new(&r, &c), -EACCES,
	       "fd: O_RDONLY file, writable region -> -EACCES");
	tu_is_ptr(r, SENTINEL_REGION, "fd: out untouched on -EACCES");
	c.flags = GMEM_REGION_READONLY;
	r = NULL;
	if (tu_is_int(gmem_region_new(&r, &c), 0,
		   "fd: O_RDONLY file, read-only region accepted")) {
		ok(!gmem_region_writable(r), "fd read-only: not writable");
		is_int(gmem_region_flags(r), GMEM_REGION_READONLY, "fd read-only: flags");
		h = gmem_region_host(r);
		ok(h && memcmp(h, "file", 4) == 0, "fd read-only: file contents visible");
		gmem_region_free(r);
	}
	c.flags = 0;
	close(fd);

	/* A file-backed region may also end at 2^64. */
	fd = make_memfd(2 * PS);
	c.fd = fd;
	c.gpa = TOP - 2 * PS + 1;
	c.len = 2 * PS;
	c.flags = GMEM_REGION_NO_GUARD | GMEM_REGION_NORESERVE;
	r = NULL;
	if (tu_is_int(gmem_region_new(&r, &c), 0, "fd: region ending at 2^64 accepted")) {
		is_u64(gmem_region_last(r), TOP, "fd top: last == UINT64_MAX");
		is_int(gmem_region_flags(r), GMEM_REGION_NO_GUARD | GMEM_REGION_NORESERVE,
		       "fd top: flags");
		gmem_region_free(r);
	}
	close(fd);
	is_int(count_fds(), fds, "fd: no fd leaked (success and failure paths)");
}

/*
 * A file mapping must not reach past end of file: a guest access to a page
 * wholly past EOF raises SIGBUS in the VMM.  gmem_region_new() refuses a
 * regular file (a memfd is one) shorter than offset + len with -EINVAL,
 * leaves *out alone and closes its duplicate of the fd.  A region ending
 * exactly at EOF, page-aligned or not, is accepted.
 */
enum { ACCEPTED = 0, REFUSED = 1 };

static void fd_eof_case(int fd, uint64_t offset, uint64_t len, uint32_t flags,
			int refused, const char *what)
{
	struct gmem_region_config c = GMEM_REGION_CONFIG_INIT;
	gmem_region *r = SENTINEL_REGION;
	int fds = count_fds();

	c.backing = GMEM_BACKING_FD;
	c.fd = fd;
	c.gpa = 0x200000;
	c.len = len;
	c.offset = offset;
	c.flags = flags;
	if (refused) {
		is_int(gmem_region_new(&r, &c), -EINVAL,
		       "fd EOF: %s -> -EINVAL", what);
		tu_is_ptr(r, SENTINEL_REGION, "fd EOF: %s: out untouched",
			  what);
		is_int(count_fds(), fds, "fd EOF: %s: no fd leaked", what);
		return;
	}
	r = NULL;
	if (tu_is_int(gmem_region_new(&r, &c), 0, "fd EOF: %s -> 0", what)) {
		unsigned char *h = gmem_region_host(r);
		unsigned char fb = 0;

		is_u64(gmem_region_len(r), len, "fd EOF: %s: len", what);
		is_u64(gmem_region_file_offset(r), offset, "fd EOF: %s: offset",
		       what);
		/* The region's last byte is the file's byte at offset+len-1. */
		ok(h && pwrite(fd, "Z", 1, (off_t)(offset + len - 1)) == 1 &&
			   h[len - 1] == 'Z',
		   "fd EOF: %s: the last byte is the file's", what);
		if (!(flags & GMEM_REGION_READONLY) && h) {
			h[len - 1] = 'y';
			ok(pread(fd, &fb, 1, (off_t)(offset + len - 1)) == 1 &&
				   fb == 'y',
			   "fd EOF: %s: a write to it reaches the file", what);
		}
		gmem_region_free(r);
	}
}

static void test_fd_eof(void)
{
	int fd, fds = count_fds();

	/* A memfd of three pages. */
	fd = make_memfd(3 * PS);
	fd_eof_case(fd, 4 * PS, PS, 0, REFUSED, "offset a page past EOF");
	fd_eof_case(fd, UINT64_C(1) << 40, PS, 0, REFUSED,
		    "offset 1 TiB, far past EOF");
	fd_eof_case(fd, 3 * PS, 1, 0, REFUSED, "offset == EOF, len 1");
	fd_eof_case(fd, 3 * PS, PS, GMEM_REGION_READONLY, REFUSED,
		    "offset == EOF, read-only");
	fd_eof_case(fd, 0, 3 * PS + 1, 0, REFUSED,
		    "offset 0, len one byte past EOF");
	fd_eof_case(fd, PS, 2 * PS + 1, 0, REFUSED,
		    "offset + len one byte past EOF");
	fd_eof_case(fd, 2 * PS, PS + 1, GMEM_REGION_NO_GUARD, REFUSED,
		    "last page + 1 byte, no guard");
	fd_eof_case(fd, PS, 4 * PS, 0, REFUSED, "len past EOF by pages");
	fd_eof_case(fd, 0, 3 * PS, 0, ACCEPTED, "the whole file");
	fd_eof_case(fd, 2 * PS, PS, 0, ACCEPTED,
		    "the last page, ending at EOF");
	fd_eof_case(fd, PS, 2 * PS - 1, 0, ACCEPTED,
		    "ending one byte before EOF");
	fd_eof_case(fd, 2 * PS, PS, GMEM_REGION_READONLY, ACCEPTED,
		    "read-only, ending at EOF");
	close(fd);

	/* An empty memfd: nothing fits. */
	fd = make_memfd(0);
	fd_eof_case(fd, 0, 1, 0, REFUSED, "empty file, len 1");
	fd_eof_case(fd, 0, PS, 0, REFUSED, "empty file, len one page");
	close(fd);

	/* A regular file whose size is not a multiple of the page size. */
	fd = make_tmpfile(2 * PS + 100, O_RDWR);
	fd_eof_case(fd, PS, PS + 101, 0, REFUSED,
		    "unaligned EOF: one byte past it");
	fd_eof_case(fd, 2 * PS, 101, 0, REFUSED,
		    "unaligned EOF: in the last page, one byte past it");
	fd_eof_case(fd, 3 * PS, 1, 0, REFUSED,
		    "unaligned EOF: offset past it");
	fd_eof_case(fd, PS, PS + 100, 0, ACCEPTED,
		    "unaligned EOF: ending at it");
	fd_eof_case(fd, 2 * PS, 100, 0, ACCEPTED,
		    "unaligned EOF: the partial last page, ending at it");
	/* The size that counts is the file's now, not when it was opened. */
	if (ftruncate(fd, (off_t)(3 * PS)) != 0)
		tap_bail("ftruncate: %s", strerror(errno));
	fd_eof_case(fd, PS, PS + 101, 0, ACCEPTED,
		    "file grown: accepted now");
	if (ftruncate(fd, (off_t)PS) != 0)
		tap_bail("ftruncate: %s", strerror(errno));
	fd_eof_case(fd, PS, 1, 0, REFUSED, "file shrunk: refused now");
	close(fd);
	is_int(count_fds(), fds, "fd EOF: no fd leaked overall");
}

/* Default huge page size from /proc/meminfo, 0 if unknown. */
static uint64_t default_huge_page_size(void)
{
	FILE *f = fopen("/proc/meminfo", "re");
	char line[256];
	unsigned long long kb = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Hugepagesize: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return (uint64_t)kb * 1024;
}

static void test_hugetlb(void)
{
	struct gmem_region_config c = GMEM_REGION_CONFIG_INIT;
	uint64_t hps = default_huge_page_size();
	gmem_region *r = SENTINEL_REGION;
	int rc, fds = count_fds();
	uint64_t ps_try[2];
	size_t i;

	c.backing = GMEM_BACKING_HUGETLB;
	c.gpa = 0x40000000;
	c.len = hps ? hps : UINT64_C(2) << 20;
	c.page_size = 3 * PS;
	is_int(gmem_region_new(&r, &c), -EINVAL,
	       "hugetlb: page_size 3 pages (not a power of two) -> -EINVAL");
	c.page_size = (UINT64_C(2) << 20) + PS;
	is_int(gmem_region_new(&r, &c), -EINVAL,
	       "hugetlb: page_size 2M+4K (not a power of two) -> -EINVAL");
	c.page_size = UINT64_C(2) << 20;
	c.len = UINT64_C(1) << 20;
	is_int(gmem_region_new(&r, &c), -EINVAL,
	       "hugetlb: page_size 2M not dividing len 1M -> -EINVAL");
	c.len = (UINT64_C(2) << 20) + PS;
	is_int(gmem_region_new(&r, &c), -EINVAL,
	       "hugetlb: page_size 2M not dividing len 2M+4K -> -EINVAL");
	c.len = 0;
	is_int(gmem_region_new(&r, &c), -EINVAL, "hugetlb: len 0 -> -EINVAL");
	c.len = UINT64_C(2) << 20;
	c.gpa = 0x40000004;
	is_int(gmem_region_new(&r, &c), -EINVAL, "hugetlb: gpa %% 8 == 4 -> -EINVAL");
	c.gpa = 0x40000000;
	c.page_size = 1;
	is_int(gmem_region_new(&r, &c), -EINVAL,
	       "hugetlb: page_size 1 (unsupported) -> -EINVAL");
	c.page_size = UINT64_C(1) << 63;
	is_int(gmem_region_new(&r, &c), -EINVAL,
	       "hugetlb: page_size 2^63 (unsupported, does not divide len) -> -EINVAL");
	c.page_size = PS;
	c.len = 2 * PS;
	is_int(gmem_region_new(&r, &c), -EINVAL,
	       "hugetlb: page_size = host page size (not a huge page) -> -EINVAL");
	/* A power of two no x86-64/arm64 kernel offers as a huge page size. */
	c.page_size = UINT64_C(1) << 27;
	c.len = UINT64_C(1) << 27;
	is_int(gmem_region_new(&r, &c), -EINVAL,
	       "hugetlb: page_size 128M (unsupported power of two) -> -EINVAL");
	c.len = UINT64_C(2) << 20;
	if (hps > PS) {
		c.page_size = 0;
		c.len = PS;
		is_int(gmem_region_new(&r, &c), -EINVAL,
		       "hugetlb: default page size not dividing len (one small page) -> -EINVAL");
	} else {
		skip("hugetlb: default huge page size unknown");
	}
	tu_is_ptr(r, SENTINEL_REGION, "hugetlb: out untouched on failure");

	/* Creation proper needs reserved huge pages: skip when there are none. */
	ps_try[0] = 0;
	ps_try[1] = hps;
	for (i = 0; i < 2; i++) {
		const char *what = i == 0 ? "hugetlb default size" : "hugetlb explicit size";

		if (!hps) {
			skip("%s: huge page size unknown", what);
			continue;
		}
		c.page_size = ps_try[i];
		c.len = hps;
		c.gpa = 0x40000000;
		r = NULL;
		rc = gmem_region_new(&r, &c);
		if (rc != 0) {
			diag("%s: gmem_region_new gave %d (%s); no huge pages?",
			     what, rc, gmem_strerror(rc));
			skip("%s: creation (no huge pages available)", what);
			continue;
		}
		ok(1, "%s: created", what);
		is_int(gmem_region_backing(r), GMEM_BACKING_HUGETLB, "%s: backing", what);
		is_u64(gmem_region_page_size(r), hps, "%s: page size", what);
		ok(gmem_region_fd(r) >= 0, "%s: has an fd", what);
		is_u64(gmem_region_file_offset(r), 0, "%s: file offset 0", what);
		ok(((uintptr_t)gmem_region_host(r) & (hps - 1)) == 0,
		   "%s: host aligned to the huge page size", what);
		rw_pattern(r, 4096, what);
		check_guards(r, what);
		gmem_region_free(r);
	}
	is_int(count_fds(), fds, "hugetlb: no fd leaked");
}

static void test_user(void)
{
	struct gmem_region_config c = GMEM_REGION_CONFIG_INIT;
	gmem_region *r = NULL;
	unsigned char *buf;
	int fds = count_fds();

	buf = mmap(NULL, (size_t)(2 * PS), PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		tap_bail("mmap: %s", strerror(errno));

	c.backing = GMEM_BACKING_USER;
	c.gpa = 0x2000;
	c.len = 2 * PS;
	c.host = buf;
	if (tu_is_int(gmem_region_new(&r, &c), 0, "user: created")) {
		tu_is_ptr(gmem_region_host(r), buf, "user: host is the caller's pointer");
		is_int(gmem_region_backing(r), GMEM_BACKING_USER, "user: backing USER");
		is_u64(gmem_region_start(r), 0x2000, "user: start");
		is_u64(gmem_region_len(r), 2 * PS, "user: len");
		is_u64(gmem_region_last(r), 0x2000 + 2 * PS - 1, "user: last");
		is_int(gmem_region_fd(r), -1, "user: fd -1");
		is_u64(gmem_region_file_offset(r), 0, "user: file offset 0");
		is_u64(gmem_region_page_size(r), PS, "user: page size is the host page size");
		ok(gmem_region_writable(r), "user: writable");
		is_int(gmem_region_flags(r), 0, "user: flags 0");
		buf[5] = 0x77;
		is_int(((unsigned char *)gmem_region_host(r))[5], 0x77,
		       "user: caller's writes visible through host");
		gmem_region_free(r);
		ok(tu_page_mapped(buf) == 1 && tu_page_mapped(buf + PS) == 1,
		   "user: caller's buffer still mapped after the region is freed");
		buf[0] = 1;
		buf[2 * PS - 1] = 2;
		ok(buf[0] == 1 && buf[2 * PS - 1] == 2 && buf[5] == 0x77,
		   "user: caller's buffer still usable after the region is freed");
	}

	r = SENTINEL_REGION;
	c.host = NULL;
	is_int(gmem_region_new(&r, &c), -EINVAL, "user: NULL host -> -EINVAL");
	c.host = buf + 1;
	c.gpa = 0;
	c.len = 16;
	is_int(gmem_region_new(&r, &c), -EINVAL,
	       "user: host %% 8 == 1, gpa %% 8 == 0 -> -EINVAL");
	c.host = buf + 8;
	c.gpa = 4;
	is_int(gmem_region_new(&r, &c), -EINVAL,
	       "user: host %% 8 == 0, gpa %% 8 == 4 -> -EINVAL");
	c.host = buf + 3;
	c.gpa = 0x1005;
	is_int(gmem_region_new(&r, &c), -EINVAL,
	       "user: host %% 8 == 3, gpa %% 8 == 5 -> -EINVAL");
	c.host = buf;
	c.gpa = 0;
	c.len = 0;
	is_int(gmem_region_new(&r, &c), -EINVAL, "user: len 0 -> -EINVAL");
	c.gpa = TOP - 7;
	c.len = 9;
	is_int(gmem_region_new(&r, &c), -EOVERFLOW,
	       "user: [2^64-8, +9) -> -EOVERFLOW");
	tu_is_ptr(r, SENTINEL_REGION, "user: out untouched on failure");

	{
		static const uint64_t gpas[] = { 3, 0x1003, 11 };
		size_t i;

		for (i = 0; i < sizeof(gpas) / sizeof(gpas[0]); i++) {
			r = NULL;
			c.host = buf + 3;
			c.gpa = gpas[i];
			c.len = 64;
			if (tu_is_int(gmem_region_new(&r, &c), 0,
				   "user: congruent misaligned host buf+3, gpa %#" PRIx64
				   " accepted",
				   gpas[i])) {
				tu_is_ptr(gmem_region_host(r), buf + 3,
				       "user: host buf+3 reported back (gpa %#" PRIx64 ")",
				       gpas[i]);
				gmem_region_free(r);
			}
		}
	}

	r = NULL;
	c.host = buf + 8;
	c.gpa = TOP - 7;
	c.len = 8;
	if (tu_is_int(gmem_region_new(&r, &c), 0, "user: [2^64-8, +8) accepted")) {
		is_u64(gmem_region_last(r), TOP, "user top: last == UINT64_MAX");
		is_u64(gmem_region_start(r), TOP - 7, "user top: start");
		gmem_region_free(r);
	}
	r = NULL;
	c.host = buf + 7;
	c.gpa = TOP;
	c.len = 1;
	if (tu_is_int(gmem_region_new(&r, &c), 0,
		   "user: single byte at UINT64_MAX (host %% 8 == 7) accepted")) {
		is_u64(gmem_region_last(r), TOP, "user top byte: last == UINT64_MAX");
		gmem_region_free(r);
	}

	r = NULL;
	c.host = buf;
	c.gpa = 0;
	c.len = PS;
	c.flags = GMEM_REGION_READONLY;
	if (tu_is_int(gmem_region_new(&r, &c), 0, "user readonly: created")) {
		ok(!gmem_region_writable(r), "user readonly: not writable");
		is_int(gmem_region_flags(r), GMEM_REGION_READONLY, "user readonly: flags");
		gmem_region_free(r);
	}
	/* No guard pages for USER and the library never unmaps it. */
	c.flags = 0;
	r = NULL;
	if (tu_is_int(gmem_region_new(&r, &c), 0, "user refcount: created")) {
		gmem_region *r2 = gmem_region_ref(r);

		tu_is_ptr(r2, r, "user refcount: ref returns its argument");
		gmem_region_free(r);
		gmem_region_free(r2);
		ok(tu_page_mapped(buf) == 1,
		   "user: buffer still mapped after the last reference");
		buf[PS - 1] = 9;
		is_int(buf[PS - 1], 9, "user: buffer still writable after the last reference");
	}
	is_int(count_fds(), fds, "user: no fd opened or leaked");
	munmap(buf, (size_t)(2 * PS));
}

int main(void)
{
	PS = tu_page_size();
	test_null_getters();
	test_validation();
	test_anon();
	test_guards_and_unmap();
	test_refcount();
	test_fd();
	test_fd_eof();
	test_hugetlb();
	test_user();
	return tap_done();
}
