/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * region.c - one contiguous guest range backed by a host mapping.
 *
 * Library-created mappings are placed inside a PROT_NONE reservation so
 * that a guard page sits directly before and after them: an access that
 * escapes the region faults instead of landing in a neighbouring mapping.
 */
#include "dirty.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef MFD_HUGETLB
#define MFD_HUGETLB 0x0004U
#endif
#ifndef MFD_HUGE_SHIFT
#define MFD_HUGE_SHIFT 26
#endif
#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x0001U
#endif

GMEM_INTERNAL uint64_t gmem__host_page_size(void)
{
	long ps = sysconf(_SC_PAGESIZE);

	return ps > 0 ? (uint64_t)ps : 4096;
}

static int is_pow2(uint64_t v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

/* Validated copy of the caller's configuration (ABI-size aware). */
static int config_load(struct gmem_region_config *c,
		       const struct gmem_region_config *user)
{
	if (user->size < GMEM_REGION_CONFIG_SIZE_V1 || user->size > sizeof(*c))
		return -EINVAL;
	memset(c, 0, sizeof(*c));
	memcpy(c, user, user->size);
	if (c->backing > GMEM_BACKING_USER)
		return -EINVAL;
	if (c->flags & ~(uint32_t)GMEM_REGION_FLAGS_ALL)
		return -EINVAL;
	if (c->len == 0)
		return -EINVAL;
	return gmem_range_check(c->gpa, c->len);
}

/* A file mapping must not reach past EOF: the guest would SIGBUS us. */
static int check_file_size(int fd, uint64_t offset, uint64_t len)
{
	struct stat st;
	uint64_t end;

	if (fstat(fd, &st) != 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return 0;
	if (__builtin_add_overflow(offset, len, &end) || st.st_size < 0 ||
	    end > (uint64_t)st.st_size)
		return -EINVAL;
	return 0;
}

static int open_fd_backing(struct gmem_region *r,
			   const struct gmem_region_config *c, uint64_t page)
{
	int err;

	if (c->fd < 0 || c->offset % page != 0 || c->gpa % 8 != 0)
		return -EINVAL;
	if (c->offset > (uint64_t)INT64_MAX ||
	    c->len > (uint64_t)INT64_MAX - c->offset)
		return -EOVERFLOW;
	r->fd = fcntl(c->fd, F_DUPFD_CLOEXEC, 0);
	if (r->fd < 0)
		return -errno;
	err = check_file_size(r->fd, c->offset, c->len);
	if (err)
		return err;
	r->offset = c->offset;
	return 0;
}

static int log2_u64(uint64_t v)
{
	return 63 - __builtin_clzll(v);
}

static int open_hugetlb_backing(struct gmem_region *r,
				const struct gmem_region_config *c)
{
	unsigned int mfd_flags = MFD_CLOEXEC | MFD_HUGETLB;
	struct stat st;

	if (c->gpa % 8 != 0)
		return -EINVAL;
	if (c->page_size) {
		int shift;

		if (!is_pow2(c->page_size) ||
		    c->page_size <= gmem__host_page_size() ||
		    c->len % c->page_size != 0)
			return -EINVAL;
		shift = log2_u64(c->page_size);
		mfd_flags |= (unsigned int)shift << MFD_HUGE_SHIFT;
	}
	r->fd = memfd_create("gmem-hugetlb", mfd_flags);
	if (r->fd < 0) {
		/* A size the kernel has no hugetlbfs instance for is an
		 * unsupported page size; with the default size, ENODEV means
		 * no huge page support at all and is passed on. */
		if (c->page_size && (errno == ENODEV || errno == EINVAL))
			return -EINVAL;
		return -errno;
	}
	/* hugetlbfs reports its page size as the block size. */
	if (fstat(r->fd, &st) != 0)
		return -errno;
	if (st.st_blksize <= 0 || !is_pow2((uint64_t)st.st_blksize))
		return -EINVAL;
	r->page_size = (uint64_t)st.st_blksize;
	if (c->len % r->page_size != 0 || c->len > (uint64_t)INT64_MAX)
		return -EINVAL;
	if (ftruncate(r->fd, (off_t)c->len) != 0)
		return -errno;
	return 0;
}

/*
 * Map `maplen` bytes (a multiple of the page size) with guard pages of one
 * page on each side, aligned to the page size.  Sets r->unmap_* and returns
 * the start of the accessible part.
 */
static int map_with_guards(struct gmem_region *r, uint64_t maplen, int prot,
			   int flags, uint64_t page, int guard, uint8_t **out)
{
	uint64_t g = guard ? page : 0, slack, total;
	uint8_t *res, *base;
	void *p;

	if (!guard) {
		p = mmap(NULL, maplen, prot, flags, r->fd, (off_t)r->offset);
		if (p == MAP_FAILED)
			return -errno;
		r->unmap_base = p;
		r->unmap_len = maplen;
		*out = p;
		return 0;
	}
	/* Extra slack so the huge-page aligned start can be chosen inside. */
	slack = page > gmem__host_page_size() ? page : 0;
	if (__builtin_add_overflow(maplen, 2 * g + slack, &total))
		return -ENOMEM;
	p = mmap(NULL, total, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	res = p;
	base = (uint8_t *)(((uintptr_t)res + g + page - 1) & ~(uintptr_t)(page - 1));
	p = mmap(base, maplen, prot, flags | MAP_FIXED, r->fd, (off_t)r->offset);
	if (p == MAP_FAILED) {
		int err = -errno;

		munmap(res, total);
		return err;
	}
	/* Trim the alignment slack, keep exactly one guard page each side. */
	if (base - g > res)
		munmap(res, (size_t)(base - g - res));
	if (base + maplen + g < res + total)
		munmap(base + maplen + g,
		       (size_t)(res + total - (base + maplen + g)));
	r->unmap_base = base - g;
	r->unmap_len = maplen + 2 * g;
	*out = base;
	return 0;
}

static int create_mapping(struct gmem_region *r,
			  const struct gmem_region_config *c)
{
	uint64_t page = gmem__host_page_size(), lead = 0, maplen;
	int prot = PROT_READ, flags, err;
	uint8_t *base = NULL;

	r->page_size = page;
	switch (c->backing) {
	case GMEM_BACKING_USER:
		if (!c->host || (((uintptr_t)c->host ^ c->gpa) & 7) != 0)
			return -EINVAL;
		r->host = c->host;
		return 0;
	case GMEM_BACKING_ANON:
		/* Keep host % 8 == gpa % 8 by starting gpa % 8 bytes in. */
		lead = c->gpa & 7;
		flags = MAP_PRIVATE | MAP_ANONYMOUS;
		break;
	case GMEM_BACKING_FD:
		err = open_fd_backing(r, c, page);
		if (err)
			return err;
		flags = MAP_SHARED;
		break;
	default: /* GMEM_BACKING_HUGETLB, checked by config_load() */
		err = open_hugetlb_backing(r, c);
		if (err)
			return err;
		page = r->page_size;
		flags = MAP_SHARED;
		break;
	}
	if (!(c->flags & GMEM_REGION_READONLY))
		prot |= PROT_WRITE;
	if (c->flags & GMEM_REGION_NORESERVE)
		flags |= MAP_NORESERVE;
	if (c->flags & GMEM_REGION_POPULATE)
		flags |= MAP_POPULATE;
	if (gmem_addr_align_up(c->len + lead, page, &maplen) != 0 ||
	    c->len + lead < c->len)
		return -ENOMEM;
	err = map_with_guards(r, maplen, prot, flags, page,
			      !(c->flags & GMEM_REGION_NO_GUARD), &base);
	if (err)
		return err;
	r->host = base + lead;
	return 0;
}

static void region_destroy(struct gmem_region *r)
{
	gmem__dirty_free(r->dirty);
	if (r->unmap_base)
		munmap(r->unmap_base, r->unmap_len);
	if (r->fd >= 0)
		close(r->fd);
	free(r);
}

GMEM_EXPORT int gmem_region_new(gmem_region **out,
				const struct gmem_region_config *cfg)
{
	struct gmem_region_config c;
	struct gmem_region *r;
	int err;

	if (!out || !cfg)
		return -EINVAL;
	err = config_load(&c, cfg);
	if (err)
		return err;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->fd = -1;
	err = create_mapping(r, &c);
	if (!err && (c.flags & GMEM_REGION_DIRTY_LOG))
		err = gmem__dirty_new(&r->dirty, c.gpa, c.gpa + (c.len - 1),
				      c.dirty_page_size ? c.dirty_page_size
							: r->page_size);
	if (err) {
		region_destroy(r);
		return err;
	}
	atomic_init(&r->refs, 1);
	r->gpa = c.gpa;
	r->len = c.len;
	r->last = c.gpa + (c.len - 1);
	r->backing = c.backing;
	r->flags = c.flags;
	*out = r;
	return 0;
}

GMEM_EXPORT int gmem_region_new_anon(gmem_region **out, uint64_t gpa,
				     uint64_t len, uint32_t flags)
{
	struct gmem_region_config c = GMEM_REGION_CONFIG_INIT;

	c.gpa = gpa;
	c.len = len;
	c.flags = flags;
	return gmem_region_new(out, &c);
}

GMEM_EXPORT gmem_region *gmem_region_ref(gmem_region *r)
{
	if (r)
		atomic_fetch_add_explicit(&r->refs, 1, memory_order_relaxed);
	return r;
}

GMEM_EXPORT void gmem_region_free(gmem_region *r)
{
	if (!r)
		return;
	/* acq_rel: release our accesses; the last dropper acquires all of
	 * them (a fence would do, but TSan does not model fences). */
	if (atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) != 1)
		return;
	region_destroy(r);
}

GMEM_EXPORT uint64_t gmem_region_start(const gmem_region *r)
{
	return r ? r->gpa : 0;
}

GMEM_EXPORT uint64_t gmem_region_len(const gmem_region *r)
{
	return r ? r->len : 0;
}

GMEM_EXPORT uint64_t gmem_region_last(const gmem_region *r)
{
	return r ? r->last : 0;
}

GMEM_EXPORT void *gmem_region_host(const gmem_region *r)
{
	return r ? r->host : NULL;
}

GMEM_EXPORT int gmem_region_backing(const gmem_region *r)
{
	return r ? (int)r->backing : -EINVAL;
}

GMEM_EXPORT uint32_t gmem_region_flags(const gmem_region *r)
{
	return r ? r->flags : 0;
}

GMEM_EXPORT bool gmem_region_writable(const gmem_region *r)
{
	return r && !(r->flags & GMEM_REGION_READONLY);
}

GMEM_EXPORT int gmem_region_fd(const gmem_region *r)
{
	return r ? r->fd : -1;
}

GMEM_EXPORT uint64_t gmem_region_file_offset(const gmem_region *r)
{
	return r ? r->offset : 0;
}

GMEM_EXPORT uint64_t gmem_region_page_size(const gmem_region *r)
{
	return r ? r->page_size : 0;
}
