/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * gmem.h - libgmem: hardened access to virtual machine guest memory.
 *
 * Layers, bottom up:
 *   address  checked arithmetic on 64-bit guest addresses (inline below);
 *   region   one contiguous guest range backed by a host mapping;
 *   map      an immutable, sorted, overlap-free set of regions;
 *   access   bounds-checked reads, writes, copies, translations, typed and
 *            atomic accessors over a map.
 *
 * Conventions that hold for every function unless its comment says otherwise:
 *   - Fallible calls return 0 on success or a negative errno value.  Outputs
 *     are written only on success.  gmem_strerror() describes an error.
 *   - A NULL handle or NULL required pointer gives -EINVAL; the library never
 *     asserts or aborts on caller or guest input.
 *   - A guest range [gpa, gpa + len) is valid when gpa + len <= 2^64: a
 *     range may end exactly at the top of the address space, so the byte at
 *     UINT64_MAX is addressable.  A range that would run past 2^64 gives
 *     -EOVERFLOW.  Ranges are described by their last byte (inclusive) where
 *     an exclusive end could not be represented.
 *   - Zero-length accesses succeed anywhere, even in a hole, and touch
 *     nothing (translation is the exception: it needs len >= 1).
 *   - Maps are immutable and may be used by any number of threads at once.
 *     Regions and maps are reference counted; the counts are atomic, so
 *     references may be taken and dropped from any thread.
 *   - Guest memory is shared with the guest and may change at any time.
 *     Copy a structure out once (gmem_read()), then validate and use the
 *     copy; never read the same guest field twice.
 *   - The library creates no threads, uses no thread-local storage, installs
 *     no signal handlers and runs no constructors.
 */
#ifndef GMEM_H
#define GMEM_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#if !defined(__x86_64__)
#include <pthread.h> /* gmem__thread_ptr() */
#endif

#ifdef __cplusplus
extern "C" {
#endif

#if defined(GMEM_BUILDING_LIBRARY) && defined(__GNUC__)
#define GMEM_EXPORT __attribute__((visibility("default")))
#else
#define GMEM_EXPORT
#endif

#if defined(__GNUC__)
#define GMEM_WARN_UNUSED __attribute__((warn_unused_result))
#else
#define GMEM_WARN_UNUSED
#endif

#define GMEM_VERSION_MAJOR 0
#define GMEM_VERSION_MINOR 1
#define GMEM_VERSION_PATCH 0

/**
 * gmem_version() - version of the library actually linked.
 *
 * Return: a static string "MAJOR.MINOR.PATCH"; never NULL.  Thread-safe.
 */
GMEM_EXPORT const char *gmem_version(void);

/**
 * gmem_strerror() - describe an error code returned by libgmem.
 * @err: a negative errno value as returned by a libgmem function (a positive
 *       value is treated like its negation).
 *
 * Unlike strerror(3) the text explains what the error means for libgmem
 * (for example -EFAULT: "guest range not fully mapped").
 *
 * Return: a static string, never NULL; "unknown error" for codes libgmem
 * does not produce.  Thread-safe.
 */
GMEM_EXPORT const char *gmem_strerror(int err);

/* ------------------------------------------------------------------------ */
/* Address arithmetic                                                        */
/* ------------------------------------------------------------------------ */

/**
 * gmem_addr_add() - add an offset to a guest address, checking overflow.
 * @addr: guest address.
 * @off: offset to add.
 * @out: receives addr + off.
 *
 * Return: 0; -EOVERFLOW if the sum exceeds UINT64_MAX; -EINVAL if @out is
 * NULL.  Thread-safe.
 */
static inline int gmem_addr_add(uint64_t addr, uint64_t off, uint64_t *out)
{
	uint64_t r;

	if (!out)
		return -EINVAL;
	if (__builtin_add_overflow(addr, off, &r))
		return -EOVERFLOW;
	*out = r;
	return 0;
}

/**
 * gmem_addr_sub() - distance from @base up to @addr, checking underflow.
 * @addr: guest address.
 * @base: guest address that must not be above @addr.
 * @out: receives addr - base.
 *
 * Return: 0; -EOVERFLOW if @base > @addr; -EINVAL if @out is NULL.
 * Thread-safe.
 */
static inline int gmem_addr_sub(uint64_t addr, uint64_t base, uint64_t *out)
{
	uint64_t r;

	if (!out)
		return -EINVAL;
	if (__builtin_sub_overflow(addr, base, &r))
		return -EOVERFLOW;
	*out = r;
	return 0;
}

/**
 * gmem_addr_align_up() - round a guest address up to a power of two.
 * @addr: guest address.
 * @align: alignment, a power of two (1 leaves @addr unchanged).
 * @out: receives the smallest multiple of @align that is >= @addr.
 *
 * Return: 0; -EINVAL if @align is 0 or not a power of two, or @out is NULL;
 * -EOVERFLOW if the result would exceed UINT64_MAX.  Thread-safe.
 */
static inline int gmem_addr_align_up(uint64_t addr, uint64_t align,
				     uint64_t *out)
{
	uint64_t r;

	if (!out || align == 0 || (align & (align - 1)) != 0)
		return -EINVAL;
	if (__builtin_add_overflow(addr, align - 1, &r))
		return -EOVERFLOW;
	*out = r & ~(align - 1);
	return 0;
}

/**
 * gmem_addr_align_down() - round a guest address down to a power of two.
 * @addr: guest address.
 * @align: alignment, a power of two.
 * @out: receives the largest multiple of @align that is <= @addr.
 *
 * Return: 0; -EINVAL if @align is 0 or not a power of two, or @out is NULL.
 * Thread-safe.
 */
static inline int gmem_addr_align_down(uint64_t addr, uint64_t align,
				       uint64_t *out)
{
	if (!out || align == 0 || (align & (align - 1)) != 0)
		return -EINVAL;
	*out = addr & ~(align - 1);
	return 0;
}

/**
 * gmem_range_last() - last byte of the guest range [@addr, @addr + @len).
 * @addr: first byte of the range.
 * @len: length in bytes, at least 1.
 * @last: receives addr + len - 1.
 *
 * The exclusive end of a range that touches the top of the address space is
 * 2^64 and cannot be stored in a uint64_t; the inclusive last byte always
 * can, which is why libgmem describes ranges by it.
 *
 * Return: 0; -EINVAL if @len is 0 or @last is NULL; -EOVERFLOW if the range
 * runs past 2^64.  Thread-safe.
 */
static inline int gmem_range_last(uint64_t addr, uint64_t len, uint64_t *last)
{
	if (!last || len == 0)
		return -EINVAL;
	if (len - 1 > UINT64_MAX - addr)
		return -EOVERFLOW;
	*last = addr + (len - 1);
	return 0;
}

/**
 * gmem_range_check() - whether [@addr, @addr + @len) fits below 2^64.
 * @addr: first byte of the range.
 * @len: length in bytes; 0 is always valid.
 *
 * Return: 0 if the range is representable; -EOVERFLOW otherwise.
 * Thread-safe.
 */
static inline int gmem_range_check(uint64_t addr, uint64_t len)
{
	if (len != 0 && len - 1 > UINT64_MAX - addr)
		return -EOVERFLOW;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Regions                                                                   */
/* ------------------------------------------------------------------------ */

/**
 * typedef gmem_region - one contiguous guest range backed by host memory.
 *
 * Opaque and reference counted.  A region is immutable once created.  The
 * host mapping it owns (if any) is unmapped when the last reference is
 * dropped, and not before: a map holding the region keeps it mapped.
 */
typedef struct gmem_region gmem_region;

/** enum gmem_backing - where a region's host memory comes from. */
enum gmem_backing {
	/** @GMEM_BACKING_ANON: private anonymous memory mapped by libgmem. */
	GMEM_BACKING_ANON = 0,
	/** @GMEM_BACKING_FD: a shared mapping of a file or memfd at an offset. */
	GMEM_BACKING_FD = 1,
	/** @GMEM_BACKING_HUGETLB: a hugetlbfs memfd created and mapped by libgmem. */
	GMEM_BACKING_HUGETLB = 2,
	/** @GMEM_BACKING_USER: memory the caller mapped; libgmem never unmaps it. */
	GMEM_BACKING_USER = 3,
};

/** Region flags (struct gmem_region_config.flags). */
enum gmem_region_flags {
	/** Guest writes through libgmem fail with -EACCES; the mapping is PROT_READ
	 *  when libgmem creates it. */
	GMEM_REGION_READONLY = 1u << 0,
	/** Map with MAP_NORESERVE (no swap reservation). */
	GMEM_REGION_NORESERVE = 1u << 1,
	/** Pre-fault the mapping at creation (MAP_POPULATE). */
	GMEM_REGION_POPULATE = 1u << 2,
	/** Do not surround the mapping with PROT_NONE guard pages.  By default
	 *  every mapping libgmem creates has one guard page (of the mapping's
	 *  page size) immediately before and after it. */
	GMEM_REGION_NO_GUARD = 1u << 3,
	/** Track guest writes in a dirty log (one byte of memory per dirty
	 *  page, see struct gmem_region_config.dirty_page_size). */
	GMEM_REGION_DIRTY_LOG = 1u << 4,
};

/** Every flag libgmem knows; any other bit gives -EINVAL. */
#define GMEM_REGION_FLAGS_ALL                                                 \
	(GMEM_REGION_READONLY | GMEM_REGION_NORESERVE | GMEM_REGION_POPULATE |  \
	 GMEM_REGION_NO_GUARD | GMEM_REGION_DIRTY_LOG)

/** Size of version 1 of struct gmem_region_config. */
#define GMEM_REGION_CONFIG_SIZE_V1 64u

/**
 * struct gmem_region_config - how to create a region.
 * @size: sizeof(struct gmem_region_config) as compiled by the caller; lets
 *        the structure grow without breaking the ABI.  Use
 *        GMEM_REGION_CONFIG_INIT.
 * @backing: one of enum gmem_backing.
 * @flags: bitwise OR of enum gmem_region_flags.
 * @gpa: first guest address of the region.
 * @len: length in bytes, at least 1; @gpa + @len <= 2^64.
 * @fd: GMEM_BACKING_FD only: the file to map.  libgmem keeps its own
 *      duplicate (close-on-exec); the caller may close @fd afterwards.
 * @offset: GMEM_BACKING_FD only: file offset of the first byte, a multiple
 *          of the host page size.
 * @host: GMEM_BACKING_USER only: the caller's memory holding the region's
 *        bytes.  It must stay mapped and accessible (readable, and writable
 *        unless GMEM_REGION_READONLY) while any reference to the region
 *        exists.
 * @page_size: GMEM_BACKING_HUGETLB only: huge page size in bytes, or 0 for
 *             the system default; @len must be a multiple of it.
 * @dirty_page_size: with GMEM_REGION_DIRTY_LOG: bytes per dirty bit, a power
 *             of two, or 0 for the region's page size (gmem_region_page_size(),
 *             so 2 MiB for a 2 MiB hugetlbfs region).  Bit i of the region's
 *             bitmap covers guest page frame (gpa / dirty_page_size) + i.
 *
 * Alignment rule: a region's host address and guest address must agree
 * modulo 8 (host % 8 == gpa % 8).  This is what makes every naturally
 * aligned guest access of up to 8 bytes naturally aligned on the host, and
 * hence a single, tear-free load or store.  libgmem satisfies the rule itself
 * for GMEM_BACKING_ANON; for GMEM_BACKING_FD and GMEM_BACKING_HUGETLB it
 * requires @gpa % 8 == 0; for GMEM_BACKING_USER it checks @host.
 */
struct gmem_region_config {
	uint32_t size;
	uint32_t backing;
	uint32_t flags;
	int32_t fd;
	uint64_t gpa;
	uint64_t len;
	uint64_t offset;
	void *host;
	uint64_t page_size;
	uint64_t dirty_page_size;
};

/** Initializer for struct gmem_region_config: anonymous, no flags, fd -1. */
#define GMEM_REGION_CONFIG_INIT                                               \
	{ .size = (uint32_t)sizeof(struct gmem_region_config),                 \
	  .backing = GMEM_BACKING_ANON, .fd = -1 }

/**
 * gmem_region_new() - create a region.
 * @out: receives the new region, holding one reference.
 * @cfg: what to create; see struct gmem_region_config.
 *
 * Library-created mappings (every backing except GMEM_BACKING_USER) get a
 * PROT_NONE guard page before and after unless GMEM_REGION_NO_GUARD is set,
 * so a stray access just outside the region faults instead of touching
 * another mapping.
 *
 * Return: 0 on success; -EINVAL for NULL arguments, an unknown @cfg->size,
 * backing or flag, @cfg->len == 0, a misaligned @cfg->offset, a NULL or
 * misaligned @cfg->host (see the alignment rule), @cfg->fd < 0 for
 * GMEM_BACKING_FD, a regular file shorter than @cfg->offset + @cfg->len
 * (the guest touching the missing part would raise SIGBUS in the VMM), or
 * a @cfg->page_size that is not a supported power of two or does not divide
 * @cfg->len, or, with GMEM_REGION_DIRTY_LOG, a @cfg->dirty_page_size
 * that is neither 0 nor a power of two; -EOVERFLOW if @cfg->gpa + @cfg->len
 * exceeds 2^64 or @cfg->offset + @cfg->len overflows; -ENOMEM if memory
 * runs out; otherwise the errno of the failing fcntl(2), memfd_create(2) or
 * mmap(2) (for example -EBADF for a closed fd, -EACCES for a file opened
 * without the needed access, -ENODEV for a file that cannot be mapped).
 * The checks common to every backing (size, backing, flags, length, range)
 * come first, in that order, then the backing's own.  Nothing is leaked on
 * failure.  Thread-safe.
 */
GMEM_EXPORT GMEM_WARN_UNUSED int
gmem_region_new(gmem_region **out, const struct gmem_region_config *cfg);

/**
 * gmem_region_new_anon() - shorthand for an anonymous read-write region.
 * @out: receives the new region, holding one reference.
 * @gpa: first guest address.
 * @len: length in bytes.
 * @flags: bitwise OR of enum gmem_region_flags.
 *
 * Return: as gmem_region_new().  Thread-safe.
 */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_region_new_anon(gmem_region **out,
						      uint64_t gpa,
						      uint64_t len,
						      uint32_t flags);

/**
 * gmem_region_ref() - take another reference to a region.
 * @region: region, or NULL.
 *
 * Return: @region (NULL if @region is NULL).  Thread-safe.
 */
GMEM_EXPORT gmem_region *gmem_region_ref(gmem_region *region);

/**
 * gmem_region_free() - drop one reference to a region.
 * @region: region, or NULL (no-op).
 *
 * When the last reference goes, the mapping libgmem created is unmapped and
 * its fd closed; a GMEM_BACKING_USER mapping is left alone.  Thread-safe;
 * dropping more references than were taken is undefined behaviour, as for
 * free(3).
 */
GMEM_EXPORT void gmem_region_free(gmem_region *region);

/**
 * gmem_region_start() - first guest address of a region.
 * @region: region.
 *
 * Return: the guest address; 0 if @region is NULL.  Thread-safe.
 */
GMEM_EXPORT uint64_t gmem_region_start(const gmem_region *region);

/**
 * gmem_region_len() - length of a region in bytes.
 * @region: region.
 *
 * Return: the length (always >= 1); 0 if @region is NULL.  Thread-safe.
 */
GMEM_EXPORT uint64_t gmem_region_len(const gmem_region *region);

/**
 * gmem_region_last() - last guest address of a region (inclusive).
 * @region: region.
 *
 * Return: start + len - 1, which is UINT64_MAX for a region that ends at the
 * top of the address space; 0 if @region is NULL.  Thread-safe.
 */
GMEM_EXPORT uint64_t gmem_region_last(const gmem_region *region);

/**
 * gmem_region_host() - host address of a region's first byte.
 * @region: region.
 *
 * The pointer stays valid while the caller holds a reference to @region (or
 * to a map containing it).  Accesses through it bypass every check libgmem
 * makes; prefer the access functions.
 *
 * Return: the host address; NULL only if @region is NULL.  Thread-safe.
 */
GMEM_EXPORT void *gmem_region_host(const gmem_region *region);

/**
 * gmem_region_backing() - how a region's memory was provided.
 * @region: region.
 *
 * Return: an enum gmem_backing value; -EINVAL if @region is NULL.
 * Thread-safe.
 */
GMEM_EXPORT int gmem_region_backing(const gmem_region *region);

/**
 * gmem_region_flags() - the flags a region was created with.
 * @region: region.
 *
 * Return: bitwise OR of enum gmem_region_flags; 0 if @region is NULL.
 * Thread-safe.
 */
GMEM_EXPORT uint32_t gmem_region_flags(const gmem_region *region);

/**
 * gmem_region_writable() - whether guest writes through libgmem may target
 * the region.
 * @region: region.
 *
 * Return: true unless the region is GMEM_REGION_READONLY; false if @region
 * is NULL.  Thread-safe.
 */
GMEM_EXPORT bool gmem_region_writable(const gmem_region *region);

/**
 * gmem_region_fd() - file descriptor backing a region.
 * @region: region.
 *
 * The descriptor belongs to the region and is closed when its last
 * reference is dropped; dup(2) it to keep it longer (e.g. to send it to a
 * vhost-user back end).
 *
 * Return: the fd for GMEM_BACKING_FD and GMEM_BACKING_HUGETLB regions; -1
 * for other backings or a NULL @region.  Thread-safe.
 */
GMEM_EXPORT int gmem_region_fd(const gmem_region *region);

/**
 * gmem_region_file_offset() - file offset of a region's first byte.
 * @region: region.
 *
 * Return: the offset for fd-backed regions, 0 otherwise.  Thread-safe.
 */
GMEM_EXPORT uint64_t gmem_region_file_offset(const gmem_region *region);

/**
 * gmem_region_page_size() - page size of a region's host mapping.
 * @region: region.
 *
 * Return: the huge page size for GMEM_BACKING_HUGETLB, the host page size
 * otherwise; 0 if @region is NULL.  Thread-safe.
 */
GMEM_EXPORT uint64_t gmem_region_page_size(const gmem_region *region);

/* ------------------------------------------------------------------------ */
/* Maps                                                                      */
/* ------------------------------------------------------------------------ */

/**
 * typedef gmem_map - an immutable, sorted, overlap-free set of regions.
 *
 * vm-memory's GuestMemory.  Opaque and reference counted; once built it never
 * changes, so any number of threads may use it without locking.  A map holds
 * a reference to each of its regions.  Adjacent regions (one ends where the
 * next begins) are allowed and accesses cross them transparently; every byte
 * not covered by a region is a hole.
 */
typedef struct gmem_map gmem_map;

/** Default and upper limits for the number of regions in one map. */
#define GMEM_MAP_DEFAULT_MAX_REGIONS 32768u
#define GMEM_MAP_LIMIT_MAX_REGIONS (1u << 24)

/**
 * gmem_map_new() - build a map from regions given in any order.
 * @out: receives the map, holding one reference.
 * @regions: @count regions (may be NULL when @count is 0); the map takes its
 *           own reference to each, the caller keeps its references.
 * @count: number of regions; 0 builds the valid empty map.
 * @max_regions: cap on the number of regions this map and every map derived
 *               from it by gmem_map_insert() may hold; 0 means
 *               GMEM_MAP_DEFAULT_MAX_REGIONS.
 *
 * Return: 0; -EINVAL for a NULL @out, NULL @regions with @count > 0, a NULL
 * entry, or @max_regions > GMEM_MAP_LIMIT_MAX_REGIONS; -E2BIG if @count
 * exceeds the cap; -EEXIST if two regions overlap (including the same region
 * given twice); -ENOMEM.  Errors are checked in that order.  Thread-safe.
 */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_map_new(gmem_map **out,
					      gmem_region *const *regions,
					      size_t count, size_t max_regions);

/**
 * gmem_map_insert() - a new map equal to @map plus @region.
 * @out: receives the new map, holding one reference.
 * @map: the original, which is not changed.
 * @region: region to add; the new map takes its own reference.
 *
 * Regions of @map are shared by reference, not copied or remapped.
 *
 * Return: 0; -EINVAL for NULL arguments; -E2BIG if the result would exceed
 * the map's cap; -EEXIST if @region overlaps a region of @map (including
 * @region itself already being in @map); -ENOMEM.  Errors are checked in
 * that order.  Thread-safe.
 */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_map_insert(gmem_map **out,
						 const gmem_map *map,
						 gmem_region *region);

/**
 * gmem_map_remove() - a new map equal to @map minus one region.
 * @out: receives the new map, holding one reference.
 * @map: the original, which is not changed.
 * @gpa: exact start of the region to remove.
 * @len: exact length of the region to remove.
 * @removed: if not NULL, receives the removed region with a new reference
 *           the caller must drop with gmem_region_free().
 *
 * Return: 0; -EINVAL for NULL @out or @map; -ENOENT if no region starts at
 * @gpa with length @len; -ENOMEM.  Thread-safe.
 */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_map_remove(gmem_map **out,
						 const gmem_map *map,
						 uint64_t gpa, uint64_t len,
						 gmem_region **removed);

/**
 * gmem_map_ref() - take another reference to a map.
 * @map: map, or NULL.
 *
 * Return: @map.  Thread-safe.
 */
GMEM_EXPORT gmem_map *gmem_map_ref(gmem_map *map);

/**
 * gmem_map_free() - drop one reference to a map.
 * @map: map, or NULL (no-op).
 *
 * The last reference frees the map and drops its references to its regions.
 * Thread-safe.
 */
GMEM_EXPORT void gmem_map_free(gmem_map *map);

/**
 * gmem_map_count() - number of regions in a map.
 * @map: map.
 *
 * Return: the count; 0 for the empty map or a NULL @map.  Thread-safe.
 */
GMEM_EXPORT size_t gmem_map_count(const gmem_map *map);

/**
 * gmem_map_max_regions() - the map's cap on region count.
 * @map: map.
 *
 * Return: the cap; 0 if @map is NULL.  Thread-safe.
 */
GMEM_EXPORT size_t gmem_map_max_regions(const gmem_map *map);

/**
 * gmem_map_region() - iterate: the region at a position in address order.
 * @map: map.
 * @index: 0 for the lowest region, up to gmem_map_count() - 1.
 * @out: receives the region, borrowed: valid while the caller holds its
 *       reference to @map; take gmem_region_ref() to keep it longer.
 *
 * Return: 0; -EINVAL for NULL arguments; -ENOENT if @index is past the last
 * region.  Thread-safe.
 */
GMEM_EXPORT int gmem_map_region(const gmem_map *map, size_t index,
				gmem_region **out);

/**
 * gmem_map_find() - the region containing a guest address.
 * @map: map.
 * @gpa: guest address.
 * @out: receives the region, borrowed as for gmem_map_region().
 *
 * Return: 0; -EINVAL for NULL arguments; -EFAULT if @gpa is in a hole.
 * Thread-safe.
 */
GMEM_EXPORT int gmem_map_find(const gmem_map *map, uint64_t gpa,
			      gmem_region **out);

/**
 * gmem_map_last_addr() - highest guest address covered by any region.
 * @map: map.
 * @out: receives the address.
 *
 * Return: 0; -EINVAL for NULL arguments; -ENOENT for the empty map (which
 * has no last address: vm-memory's answer of 0 is ambiguous).  Thread-safe.
 */
GMEM_EXPORT int gmem_map_last_addr(const gmem_map *map, uint64_t *out);

/* ------------------------------------------------------------------------ */
/* Access                                                                    */
/* ------------------------------------------------------------------------ */

/*
 * Every access checks the whole range [gpa, gpa + len) against every region
 * it touches.  Ranges may cross from one region into an adjacent one.
 * Errors, checked in this order:
 *   -EINVAL     NULL map or buffer (a NULL buffer is fine when len is 0),
 *               unknown access bits;
 *   -EOVERFLOW  gpa + len exceeds 2^64;
 *   -EFAULT     some byte of the range is in a hole;
 *   -EACCES     a write would touch a GMEM_REGION_READONLY region.
 * When a range has both a hole and a read-only region, whichever comes first
 * in address order decides.  Functions that are all-or-nothing transfer no
 * byte at all when they fail.
 *
 * Guest memory may be written concurrently by the guest or other threads;
 * bulk copies give no atomicity beyond what the typed and atomic accessors
 * document.
 */

/** enum gmem_access - what an access intends to do (bit flags). */
enum gmem_access {
	GMEM_ACCESS_READ = 1u << 0,
	GMEM_ACCESS_WRITE = 1u << 1,
	GMEM_ACCESS_RW = GMEM_ACCESS_READ | GMEM_ACCESS_WRITE,
};

/**
 * gmem_translate() - host address of a guest range's first fragment.
 * @map: map.
 * @gpa: first guest address.
 * @len: length of the intended access, at least 1.
 * @access: GMEM_ACCESS_READ, GMEM_ACCESS_WRITE or both.
 * @host: receives the host address of @gpa.
 * @avail: receives how many bytes from @gpa on are contiguous in @gpa's
 *         region: min(@len, bytes to the end of that region).  Mandatory:
 *         there is no start-only translation.
 *
 * Only the first fragment is translated; when *@avail < @len the rest of the
 * range lies in the next region(s), which may or may not exist: translate
 * again at @gpa + *@avail.  gmem_iovec() returns every fragment at once.
 * The pointer is valid while the caller holds its reference to @map.
 *
 * Return: 0; -EINVAL for NULL arguments, @len == 0 or bad @access;
 * -EOVERFLOW if @gpa + @len exceeds 2^64; -EFAULT if @gpa is in a hole;
 * -EACCES if @access includes writing and @gpa's region is read-only.
 * Thread-safe.
 */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_translate(const gmem_map *map,
						uint64_t gpa, uint64_t len,
						unsigned access, void **host,
						uint64_t *avail);

/**
 * gmem_translate_exact() - host address of a range that lies in one region.
 * @map: map.
 * @gpa: first guest address.
 * @len: length, at least 1.
 * @access: GMEM_ACCESS_READ, GMEM_ACCESS_WRITE or both.
 * @host: receives the host address of @gpa; all @len bytes from it are
 *        valid host memory.
 *
 * Return: 0; -EINVAL for NULL arguments, @len == 0 or bad @access;
 * -EOVERFLOW; -EFAULT if any byte of the range is in a hole; -EACCES for a
 * write to a read-only region; -EXDEV if the range is fully mapped but
 * spans more than one region (use gmem_iovec() or the copy functions).
 * Thread-safe.
 */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_translate_exact(const gmem_map *map,
						      uint64_t gpa,
						      uint64_t len,
						      unsigned access,
						      void **host);

/**
 * gmem_check_range() - whether a whole range is accessible.
 * @map: map.
 * @gpa: first guest address.
 * @len: length; 0 succeeds at any address (given a valid @map and @access).
 * @access: GMEM_ACCESS_READ, GMEM_ACCESS_WRITE or both.
 *
 * Return: 0 if every byte is mapped with the needed permission; otherwise
 * the error an all-or-nothing access would give (-EINVAL, -EOVERFLOW,
 * -EFAULT, -EACCES).  Thread-safe.
 */
GMEM_EXPORT int gmem_check_range(const gmem_map *map, uint64_t gpa,
				 uint64_t len, unsigned access);

/**
 * gmem_read() - copy a guest range into a host buffer, all or nothing.
 * @map: map.
 * @gpa: first guest address.
 * @buf: destination of @len bytes.
 * @len: number of bytes.
 *
 * Return: 0 when all @len bytes were copied; -EINVAL, -EOVERFLOW, -EFAULT
 * (nothing copied).  Thread-safe.
 */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_read(const gmem_map *map, uint64_t gpa,
					   void *buf, size_t len);

/**
 * gmem_write() - copy a host buffer into a guest range, all or nothing.
 * @map: map.
 * @gpa: first guest address.
 * @buf: source of @len bytes.
 * @len: number of bytes.
 *
 * Return: 0 when all @len bytes were written; -EINVAL, -EOVERFLOW, -EFAULT,
 * -EACCES (nothing written).  Thread-safe.
 */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_write(const gmem_map *map, uint64_t gpa,
					    const void *buf, size_t len);

/**
 * gmem_read_partial() - copy from guest memory up to the first hole.
 * @map: map.
 * @gpa: first guest address.
 * @buf: destination of up to @len bytes.
 * @len: number of bytes wanted.
 * @done: receives the number of bytes copied: @len, or fewer when the range
 *        reaches a hole; at least 1 on success when @len > 0.
 *
 * Return: 0; -EINVAL for NULL arguments; -EOVERFLOW if @gpa + @len exceeds
 * 2^64; -EFAULT if @len > 0 and @gpa itself is in a hole.  Thread-safe.
 */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_read_partial(const gmem_map *map,
						   uint64_t gpa, void *buf,
						   size_t len, size_t *done);

/**
 * gmem_write_partial() - copy into guest memory up to the first hole or
 * read-only region.
 * @map: map.
 * @gpa: first guest address.
 * @buf: source of up to @len bytes.
 * @len: number of bytes offered.
 * @done: receives the number of bytes written, as for gmem_read_partial().
 *
 * Return: 0; -EINVAL; -EOVERFLOW; -EFAULT if @len > 0 and @gpa is in a
 * hole; -EACCES if @len > 0 and @gpa's region is read-only.  Thread-safe.
 */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_write_partial(const gmem_map *map,
						    uint64_t gpa,
						    const void *buf, size_t len,
						    size_t *done);

/**
 * gmem_copy() - copy guest memory to guest memory, all or nothing.
 * @map: map.
 * @dst: first guest address written.
 * @src: first guest address read.
 * @len: number of bytes.
 *
 * Overlapping ranges are handled like memmove(3).  (Two different guest
 * ranges that alias the same host memory, e.g. two regions mapping one
 * file, are not detected.)
 *
 * Return: 0; -EINVAL for a NULL @map; -EOVERFLOW if either range runs past
 * 2^64; -EFAULT if either range has a hole; -EACCES if the destination
 * touches a read-only region.  The source is checked before the
 * destination.  Nothing is copied on failure.  Thread-safe.
 */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_copy(const gmem_map *map, uint64_t dst,
					   uint64_t src, uint64_t len);

/**
 * gmem_fill() - set every byte of a guest range, all or nothing.
 * @map: map.
 * @gpa: first guest address.
 * @len: number of bytes.
 * @value: byte value to store.
 *
 * Return: 0; -EINVAL, -EOVERFLOW, -EFAULT, -EACCES (nothing written).
 * Thread-safe.
 */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_fill(const gmem_map *map, uint64_t gpa,
					   uint64_t len, uint8_t value);

/**
 * gmem_zero() - zero a guest range; gmem_fill() with 0.
 * @map: map.
 * @gpa: first guest address.
 * @len: number of bytes.
 *
 * Return: as gmem_fill().  Thread-safe.
 */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_zero(const gmem_map *map, uint64_t gpa,
					   uint64_t len);

/**
 * gmem_iovec() - host fragments of a guest range, for readv/writev and DMA.
 * @map: map.
 * @gpa: first guest address.
 * @len: length of the range; 0 gives zero fragments.
 * @access: GMEM_ACCESS_READ, GMEM_ACCESS_WRITE or both.
 * @iov: array of @iov_cap entries to fill (may be NULL if @iov_cap is 0).
 * @iov_cap: number of entries available.
 * @iov_count: receives the number of fragments used; with -ENOBUFS, the
 *             number of entries the range needs.
 *
 * One entry per region the range touches, in address order; the lengths add
 * up to @len.  The pointers are valid while the caller holds its reference to
 * @map.  Writes through them bypass dirty tracking.
 *
 * Return: 0; -EINVAL for NULL @map or @iov_count, NULL @iov with
 * @iov_cap > 0, or bad @access; -EOVERFLOW; -EFAULT if the range has a hole;
 * -EACCES for write access to a read-only region; -ENOBUFS if @iov_cap is
 * too small (@iov is left untouched).  Thread-safe.
 */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_iovec(const gmem_map *map, uint64_t gpa,
					    uint64_t len, unsigned access,
					    struct iovec *iov, size_t iov_cap,
					    size_t *iov_count);

/* ------------------------------------------------------------------------ */
/* Typed accessors                                                           */
/* ------------------------------------------------------------------------ */

/*
 * gmem_read_{u8,u16,u32,u64}() and gmem_write_{u8,u16,u32,u64}() move one
 * integer in host byte order; the _le and _be variants convert from/to
 * little- and big-endian guest byte order.
 *
 * Tear-freedom: a naturally aligned access (gpa a multiple of the size)
 * that lies inside one region is performed as one single load or store
 * instruction, so a concurrent writer is never seen half-done (vm-memory's
 * CVE-2020-13759).  A value that straddles two adjacent regions (possible
 * for an aligned value only where a region boundary is not aligned) or that
 * is unaligned is still read or written correctly, all or nothing, but
 * without that guarantee; use the atomics below when it matters, they
 * refuse such words.  These accessors order nothing
 * (like relaxed atomics): use the atomics below or explicit fences for
 * virtio-style publish/consume protocols.
 *
 * Return: 0; -EINVAL for a NULL @map or @out; -EOVERFLOW if the value would
 * run past 2^64; -EFAULT if any byte is in a hole; -EACCES for a write to a
 * read-only region.  Nothing is transferred on failure.  Thread-safe.
 */

/** gmem_read_u8() - read one byte. @map: map. @gpa: address. @out: value. */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_read_u8(const gmem_map *map,
					      uint64_t gpa, uint8_t *out);
/** gmem_read_u16() - read a host-order u16. @map: map. @gpa: address. @out: value. */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_read_u16(const gmem_map *map,
					       uint64_t gpa, uint16_t *out);
/** gmem_read_u32() - read a host-order u32. @map: map. @gpa: address. @out: value. */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_read_u32(const gmem_map *map,
					       uint64_t gpa, uint32_t *out);
/** gmem_read_u64() - read a host-order u64. @map: map. @gpa: address. @out: value. */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_read_u64(const gmem_map *map,
					       uint64_t gpa, uint64_t *out);
/** gmem_read_le16() - read a little-endian u16. @map: map. @gpa: address. @out: value. */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_read_le16(const gmem_map *map,
						uint64_t gpa, uint16_t *out);
/** gmem_read_le32() - read a little-endian u32. @map: map. @gpa: address. @out: value. */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_read_le32(const gmem_map *map,
						uint64_t gpa, uint32_t *out);
/** gmem_read_le64() - read a little-endian u64. @map: map. @gpa: address. @out: value. */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_read_le64(const gmem_map *map,
						uint64_t gpa, uint64_t *out);
/** gmem_read_be16() - read a big-endian u16. @map: map. @gpa: address. @out: value. */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_read_be16(const gmem_map *map,
						uint64_t gpa, uint16_t *out);
/** gmem_read_be32() - read a big-endian u32. @map: map. @gpa: address. @out: value. */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_read_be32(const gmem_map *map,
						uint64_t gpa, uint32_t *out);
/** gmem_read_be64() - read a big-endian u64. @map: map. @gpa: address. @out: value. */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_read_be64(const gmem_map *map,
						uint64_t gpa, uint64_t *out);

/** gmem_write_u8() - write one byte. @map: map. @gpa: address. @val: value. */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_write_u8(const gmem_map *map,
					       uint64_t gpa, uint8_t val);
/** gmem_write_u16() - write a host-order u16. @map: map. @gpa: address. @val: value. */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_write_u16(const gmem_map *map,
						uint64_t gpa, uint16_t val);
/** gmem_write_u32() - write a host-order u32. @map: map. @gpa: address. @val: value. */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_write_u32(const gmem_map *map,
						uint64_t gpa, uint32_t val);
/** gmem_write_u64() - write a host-order u64. @map: map. @gpa: address. @val: value. */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_write_u64(const gmem_map *map,
						uint64_t gpa, uint64_t val);
/** gmem_write_le16() - write a little-endian u16. @map: map. @gpa: address. @val: value. */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_write_le16(const gmem_map *map,
						 uint64_t gpa, uint16_t val);
/** gmem_write_le32() - write a little-endian u32. @map: map. @gpa: address. @val: value. */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_write_le32(const gmem_map *map,
						 uint64_t gpa, uint32_t val);
/** gmem_write_le64() - write a little-endian u64. @map: map. @gpa: address. @val: value. */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_write_le64(const gmem_map *map,
						 uint64_t gpa, uint64_t val);
/** gmem_write_be16() - write a big-endian u16. @map: map. @gpa: address. @val: value. */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_write_be16(const gmem_map *map,
						 uint64_t gpa, uint16_t val);
/** gmem_write_be32() - write a big-endian u32. @map: map. @gpa: address. @val: value. */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_write_be32(const gmem_map *map,
						 uint64_t gpa, uint32_t val);
/** gmem_write_be64() - write a big-endian u64. @map: map. @gpa: address. @val: value. */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_write_be64(const gmem_map *map,
						 uint64_t gpa, uint64_t val);

/* ------------------------------------------------------------------------ */
/* Atomics                                                                   */
/* ------------------------------------------------------------------------ */

/*
 * Atomic operations on naturally aligned guest words of 16, 32 or 64 bits in
 * host byte order, sequentially consistent, safe against concurrent guest
 * and host access to the same word.
 *
 * Return: 0; -EINVAL for a NULL @map or pointer argument, or a @gpa that is
 * not a multiple of the word size; -EFAULT if the word is not mapped (an
 * aligned word never straddles regions: a region that ends inside it gives
 * -EFAULT); -EACCES if the operation modifies (everything but load) and the
 * region is read-only.  Compare-exchange additionally returns -EAGAIN when
 * the word did not hold *@expected; *@expected then holds the value found.
 * Thread-safe.
 */

/** gmem_atomic_load_u16() - atomic load. @map: map. @gpa: address. @out: value read. */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_atomic_load_u16(const gmem_map *map,
						      uint64_t gpa,
						      uint16_t *out);
/** gmem_atomic_load_u32() - atomic load. @map: map. @gpa: address. @out: value read. */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_atomic_load_u32(const gmem_map *map,
						      uint64_t gpa,
						      uint32_t *out);
/** gmem_atomic_load_u64() - atomic load. @map: map. @gpa: address. @out: value read. */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_atomic_load_u64(const gmem_map *map,
						      uint64_t gpa,
						      uint64_t *out);
/** gmem_atomic_store_u16() - atomic store. @map: map. @gpa: address. @val: value. */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_atomic_store_u16(const gmem_map *map,
						       uint64_t gpa,
						       uint16_t val);
/** gmem_atomic_store_u32() - atomic store. @map: map. @gpa: address. @val: value. */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_atomic_store_u32(const gmem_map *map,
						       uint64_t gpa,
						       uint32_t val);
/** gmem_atomic_store_u64() - atomic store. @map: map. @gpa: address. @val: value. */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_atomic_store_u64(const gmem_map *map,
						       uint64_t gpa,
						       uint64_t val);
/**
 * gmem_atomic_cmpxchg_u16() - atomic compare-exchange.
 * @map: map. @gpa: address. @expected: value expected; updated on -EAGAIN.
 * @desired: value stored if the word held *@expected.
 */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_atomic_cmpxchg_u16(const gmem_map *map,
							 uint64_t gpa,
							 uint16_t *expected,
							 uint16_t desired);
/**
 * gmem_atomic_cmpxchg_u32() - atomic compare-exchange.
 * @map: map. @gpa: address. @expected: value expected; updated on -EAGAIN.
 * @desired: value stored if the word held *@expected.
 */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_atomic_cmpxchg_u32(const gmem_map *map,
							 uint64_t gpa,
							 uint32_t *expected,
							 uint32_t desired);
/**
 * gmem_atomic_cmpxchg_u64() - atomic compare-exchange.
 * @map: map. @gpa: address. @expected: value expected; updated on -EAGAIN.
 * @desired: value stored if the word held *@expected.
 */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_atomic_cmpxchg_u64(const gmem_map *map,
							 uint64_t gpa,
							 uint64_t *expected,
							 uint64_t desired);
/**
 * gmem_atomic_fetch_add_u16() - atomic add, wrapping.
 * @map: map. @gpa: address. @val: addend. @old: if not NULL, the prior value.
 */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_atomic_fetch_add_u16(const gmem_map *map,
							   uint64_t gpa,
							   uint16_t val,
							   uint16_t *old);
/**
 * gmem_atomic_fetch_add_u32() - atomic add, wrapping.
 * @map: map. @gpa: address. @val: addend. @old: if not NULL, the prior value.
 */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_atomic_fetch_add_u32(const gmem_map *map,
							   uint64_t gpa,
							   uint32_t val,
							   uint32_t *old);
/**
 * gmem_atomic_fetch_add_u64() - atomic add, wrapping.
 * @map: map. @gpa: address. @val: addend. @old: if not NULL, the prior value.
 */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_atomic_fetch_add_u64(const gmem_map *map,
							   uint64_t gpa,
							   uint64_t val,
							   uint64_t *old);
/**
 * gmem_atomic_fetch_or_u16() - atomic bitwise OR.
 * @map: map. @gpa: address. @val: bits to set. @old: if not NULL, the prior value.
 */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_atomic_fetch_or_u16(const gmem_map *map,
							  uint64_t gpa,
							  uint16_t val,
							  uint16_t *old);
/**
 * gmem_atomic_fetch_or_u32() - atomic bitwise OR.
 * @map: map. @gpa: address. @val: bits to set. @old: if not NULL, the prior value.
 */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_atomic_fetch_or_u32(const gmem_map *map,
							  uint64_t gpa,
							  uint32_t val,
							  uint32_t *old);
/**
 * gmem_atomic_fetch_or_u64() - atomic bitwise OR.
 * @map: map. @gpa: address. @val: bits to set. @old: if not NULL, the prior value.
 */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_atomic_fetch_or_u64(const gmem_map *map,
							  uint64_t gpa,
							  uint64_t val,
							  uint64_t *old);
/**
 * gmem_atomic_fetch_and_u16() - atomic bitwise AND.
 * @map: map. @gpa: address. @val: mask to keep. @old: if not NULL, the prior value.
 */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_atomic_fetch_and_u16(const gmem_map *map,
							   uint64_t gpa,
							   uint16_t val,
							   uint16_t *old);
/**
 * gmem_atomic_fetch_and_u32() - atomic bitwise AND.
 * @map: map. @gpa: address. @val: mask to keep. @old: if not NULL, the prior value.
 */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_atomic_fetch_and_u32(const gmem_map *map,
							   uint64_t gpa,
							   uint32_t val,
							   uint32_t *old);
/**
 * gmem_atomic_fetch_and_u64() - atomic bitwise AND.
 * @map: map. @gpa: address. @val: mask to keep. @old: if not NULL, the prior value.
 */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_atomic_fetch_and_u64(const gmem_map *map,
							   uint64_t gpa,
							   uint64_t val,
							   uint64_t *old);

/* ------------------------------------------------------------------------ */
/* Dirty-page tracking                                                       */
/* ------------------------------------------------------------------------ */

/*
 * A region created with GMEM_REGION_DIRTY_LOG owns a dirty log with one flag
 * per dirty page, read out as bitmaps.  The log costs one byte per page
 * (256 MiB per TiB of guest memory at 4 KiB pages), allocated lazily:
 * only the parts covering written memory are ever backed.  A byte, unlike
 * a bit, is set without a locked instruction on the write path.  Logs
 * belong to regions, so they survive map swaps: every map sharing a
 * region shares its log.
 *
 * Every library write path marks exactly the pages it wrote: gmem_write(),
 * gmem_write_partial() (the bytes written), gmem_copy() (destination),
 * gmem_fill(), gmem_zero(), the typed writes, atomics that modify (a failed
 * compare-exchange does not), and gmem_read_fd()/gmem_pread_fd() (the bytes
 * actually read).  Reads never mark.  Host pointers from gmem_translate(),
 * gmem_translate_exact(), gmem_iovec() and gmem_region_host() are NOT
 * tracked: after writing through them call gmem_map_mark_dirty().
 *
 * Harvesting fetches and clears each page's flag atomically, so no mark is
 * ever lost: a mark that a harvest does not report stays for a later one.
 * A write marks with a release store, without a fence, so a harvest that
 * merely runs at the same time as the write may miss the mark and leave it
 * for a later harvest.  A harvest that happens after the write (ordered by
 * a lock, a thread join or any release/acquire chain, as when a VMM stops
 * its vCPU threads before the final round of a migration) always reports
 * it.  The page data written before a mark is visible to the harvester once
 * it sees the mark.
 *
 * Map-level bitmaps are in guest page-frame order (like KVM's dirty log):
 * bit j covers guest bytes [gpa + j * page_size, gpa + (j + 1) * page_size);
 * holes and regions without tracking read as clean.  @page_size must equal
 * the dirty page size of every tracked region the range touches.
 */

/**
 * gmem_region_dirty_page_size() - bytes per dirty bit of a region.
 * @region: region.
 * @out: receives the dirty page size.
 *
 * Return: 0; -EINVAL for NULL arguments; -ENOENT if the region does not
 * track dirty pages.  Thread-safe.
 */
GMEM_EXPORT int gmem_region_dirty_page_size(const gmem_region *region,
					    uint64_t *out);

/**
 * gmem_region_dirty_harvest() - fetch and clear a region's whole bitmap.
 * @region: a region created with GMEM_REGION_DIRTY_LOG.
 * @bitmap: receives the bits, bit i (word i / 64, bit i % 64) for page frame
 *          (start / dirty_page_size) + i.
 * @nwords: number of 64-bit words at @bitmap.
 * @nbits: receives the number of bits in the region's bitmap.
 *
 * Return: 0; -EINVAL for NULL arguments; -ENOENT if the region does not
 * track dirty pages; -ENOBUFS if @nwords is too small (nothing cleared;
 * *@nbits tells the size needed).  Thread-safe.
 */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_region_dirty_harvest(gmem_region *region,
							   uint64_t *bitmap,
							   size_t nwords,
							   size_t *nbits);

/**
 * gmem_map_dirty_harvest() - fetch and clear the dirty bits of a guest range.
 * @map: map.
 * @gpa: first guest address, a multiple of @page_size.
 * @len: length, a multiple of @page_size (0 harvests nothing).
 * @page_size: the dirty page size of the tracked regions in the range.
 *
 * On any error nothing is cleared.
 * @bitmap: receives len / page_size bits in guest page-frame order.
 * @nwords: number of 64-bit words at @bitmap; at least
 *          ceil(len / page_size / 64).
 *
 * Return: 0; -EINVAL for NULL arguments, a @page_size that is not a power
 * of two, or an unaligned @gpa or @len; -EOVERFLOW if the range runs past
 * 2^64; -ENOBUFS if @nwords is too small; -EINVAL if a tracked region in
 * the range has a different dirty page size.  Errors are checked in that
 * order; nothing is cleared on any error.  Thread-safe.
 */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_map_dirty_harvest(const gmem_map *map,
							uint64_t gpa,
							uint64_t len,
							uint64_t page_size,
							uint64_t *bitmap,
							size_t nwords);

/**
 * gmem_map_dirty_query() - read the dirty bits of a guest range, keeping them.
 * @map: map. @gpa: first address. @len: length. @page_size: page size.
 * @bitmap: receives the bits. @nwords: words at @bitmap.
 *
 * Return: as gmem_map_dirty_harvest().  Thread-safe.
 */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_map_dirty_query(const gmem_map *map,
						      uint64_t gpa,
						      uint64_t len,
						      uint64_t page_size,
						      uint64_t *bitmap,
						      size_t nwords);

/**
 * gmem_map_dirty_reset() - clear the dirty bits of a guest range.
 * @map: map. @gpa: first address. @len: length. @page_size: page size.
 *
 * Return: as gmem_map_dirty_harvest(), without the bitmap errors.
 * Thread-safe.
 */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_map_dirty_reset(const gmem_map *map,
						      uint64_t gpa,
						      uint64_t len,
						      uint64_t page_size);

/**
 * gmem_map_mark_dirty() - record writes made through raw host pointers.
 * @map: map.
 * @gpa: first guest address written.
 * @len: number of bytes written (0 marks nothing).
 *
 * Marks every page of [@gpa, @gpa + @len) in the tracked regions it covers
 * (QEMU marks at address_space_unmap(); call this at the equivalent point).
 *
 * Read-only regions are marked too (their memory may have been written
 * through another mapping of the same file).
 *
 * Return: 0; -EINVAL for a NULL @map; -EOVERFLOW; -EFAULT if the range has
 * a hole (nothing marked).  Thread-safe.
 */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_map_mark_dirty(const gmem_map *map,
						     uint64_t gpa,
						     uint64_t len);

/* ------------------------------------------------------------------------ */
/* File-descriptor I/O into and out of guest memory                          */
/* ------------------------------------------------------------------------ */

/*
 * These move bytes between a file descriptor and a guest range with
 * readv(2)/writev(2) (or preadv/pwritev) straight on the range's host
 * fragments, crossing adjacent regions, with no bounce buffer.
 *
 * The whole range is validated before any I/O: a hole gives -EFAULT and a
 * read into a read-only region -EACCES, with nothing transferred.
 *
 * *@done always receives the number of bytes transferred, also when an
 * error is returned.  Transfers fill the range from its start with no gap:
 * they stop at end of file, after a short transfer (the descriptor had no
 * more to give or take right now, including a non-blocking descriptor that
 * would block after some bytes moved), or when the range is complete.
 * EINTR is retried.  A descriptor that would block before any byte moved
 * gives -EAGAIN.  Other errors give their negative errno.
 *
 * A range of up to IOV_MAX (1024) fragments moves in one system call per
 * transfer, so datagram and seqpacket message boundaries are kept; longer
 * ranges take several calls.
 *
 * The _exact variants insist on all @len bytes: they keep going after short
 * transfers and return -ENODATA on end of file (read), -EIO when write
 * accepts nothing (write), or -EAGAIN when the descriptor would block, with
 * *@done set.
 *
 * -ENOMEM if a range of more than 16 fragments needs an iovec array and
 * memory runs out (nothing transferred).
 *
 * Guest pages filled from the descriptor are marked dirty (only the bytes
 * actually read).  Thread-safe: concurrent calls on one descriptor
 * interleave as the descriptor allows.
 */

/**
 * gmem_read_fd() - read from @fd into guest memory.
 * @map: map. @gpa: first guest address. @len: bytes wanted.
 * @fd: file descriptor to read. @done: receives the bytes read.
 *
 * Return: 0 (stopped at EOF, after a short read, or complete); -EINVAL for
 * NULL arguments or @fd < 0; -EOVERFLOW; -EFAULT; -EACCES; -EAGAIN; the
 * errno of readv(2).
 */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_read_fd(const gmem_map *map, uint64_t gpa,
					      size_t len, int fd, size_t *done);

/**
 * gmem_write_fd() - write guest memory to @fd.
 * @map: map. @gpa: first guest address. @len: bytes to write.
 * @fd: file descriptor to write. @done: receives the bytes written.
 *
 * Return: as gmem_read_fd() (no -EACCES: reading read-only memory is fine),
 * with the errno of writev(2).
 */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_write_fd(const gmem_map *map,
					       uint64_t gpa, size_t len, int fd,
					       size_t *done);

/**
 * gmem_pread_fd() - gmem_read_fd() at a file offset (preadv(2)).
 * @map: map. @gpa: first guest address. @len: bytes wanted. @fd: file.
 * @offset: file offset, >= 0. @done: receives the bytes read.
 *
 * Return: as gmem_read_fd(); -EINVAL for @offset < 0; -EOVERFLOW if
 * @offset + @len overflows off_t.
 */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_pread_fd(const gmem_map *map,
					       uint64_t gpa, size_t len, int fd,
					       int64_t offset, size_t *done);

/**
 * gmem_pwrite_fd() - gmem_write_fd() at a file offset (pwritev(2)).
 * @map: map. @gpa: first guest address. @len: bytes to write. @fd: file.
 * @offset: file offset, >= 0. @done: receives the bytes written.
 *
 * Return: as gmem_pread_fd(), with the errno of pwritev(2).
 */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_pwrite_fd(const gmem_map *map,
						uint64_t gpa, size_t len,
						int fd, int64_t offset,
						size_t *done);

/**
 * gmem_read_fd_exact() - read exactly @len bytes from @fd into guest memory.
 * @map: map. @gpa: first guest address. @len: bytes to read. @fd: file.
 * @done: receives the bytes read.
 *
 * Return: 0 when all @len bytes were read; -ENODATA at end of file; and
 * the errors of gmem_read_fd().
 */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_read_fd_exact(const gmem_map *map,
						    uint64_t gpa, size_t len,
						    int fd, size_t *done);

/**
 * gmem_write_fd_exact() - write exactly @len bytes of guest memory to @fd.
 * @map: map. @gpa: first guest address. @len: bytes to write. @fd: file.
 * @done: receives the bytes written.
 *
 * Return: 0 when all @len bytes were written; -EIO if the descriptor
 * accepts nothing; and the errors of gmem_write_fd().
 */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_write_fd_exact(const gmem_map *map,
						     uint64_t gpa, size_t len,
						     int fd, size_t *done);

/* ------------------------------------------------------------------------ */
/* Address spaces                                                            */
/* ------------------------------------------------------------------------ */

/*
 * A gmem_space hands out consistent snapshots of a memory map
 * (vm-memory's GuestAddressSpace).  A device stores a gmem_space pointer and
 * never cares which implementation is behind it:
 *
 *   fixed    one map for the space's whole life; a snapshot costs nothing
 *            (vm-memory's &M).
 *   shared   one reference-counted map; each snapshot holds a reference
 *            (vm-memory's Arc<M>).
 *   atomic   the map can be replaced at any time while readers keep going
 *            (vm-memory's GuestMemoryAtomic).  Readers never block and never
 *            write shared memory; an old map is freed, and the regions only
 *            it held are unmapped, once no reader can still see it.
 *   custom   any implementation of struct gmem_space_ops.
 *
 * Every thread that reads through a space creates its own gmem_reader and
 * brackets each use of a snapshot with gmem_reader_enter() and
 * gmem_reader_exit().  The map returned by enter is valid until the matching
 * exit; pointers obtained through it (gmem_translate(), gmem_iovec(), region
 * host addresses) are valid for exactly as long.  Caching them past the exit
 * is the use-after-unmap bug this API exists to prevent; take
 * gmem_reader_ref() for a reference that outlives the section.
 *
 * Read sections must be short and must not block: an atomic space's writer
 * waits (GMEM_PUBLISH_WAIT) or keeps the old map (GMEM_PUBLISH_DEFER) until
 * every section that began before a publication has ended.
 */

/** typedef gmem_space - a source of memory-map snapshots (opaque, refcounted). */
typedef struct gmem_space gmem_space;

/** typedef gmem_reader - one thread's handle for read sections on a space. */
typedef struct gmem_reader gmem_reader;

/**
 * struct gmem_space_ops - a caller-provided address space implementation.
 * @size: sizeof(struct gmem_space_ops) as compiled by the caller.
 * @enter: begin a read section: store a snapshot in *@map that stays valid,
 *         with a reference count of at least one, until @exit is called with
 *         the same @token.  May store per-section state in *@token.  Return
 *         0 or a negative errno, which gmem_reader_enter() passes on; a
 *         positive return is taken as -EINVAL, and so is success with a
 *         NULL *@map (after calling @exit with that NULL map).  Called once
 *         per outermost section of each reader, and by
 *         gmem_space_current().
 * @exit: end the section begun by @enter.
 * @destroy: called once when the space's last reference goes; may be NULL.
 *
 * All three receive the @ctx given to gmem_space_new_custom().  @enter and
 * @exit are called concurrently from every reader thread.
 */
struct gmem_space_ops {
	uint32_t size;
	int (*enter)(void *ctx, void **token, const gmem_map **map);
	void (*exit)(void *ctx, void *token, const gmem_map *map);
	void (*destroy)(void *ctx);
};

/** Default and upper limits for an atomic space's pending retired maps. */
#define GMEM_SPACE_DEFAULT_MAX_RETIRED 64u
#define GMEM_SPACE_LIMIT_MAX_RETIRED 65536u

/** Maximum nesting depth of read sections on one reader. */
#define GMEM_READER_MAX_DEPTH 1024u

/**
 * gmem_space_new_fixed() - a space that always returns one map.
 * @out: receives the space, holding one reference.
 * @map: the map; the space takes its own reference.
 *
 * Return: 0; -EINVAL for NULL arguments; -ENOMEM.  Thread-safe.
 */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_space_new_fixed(gmem_space **out,
						      gmem_map *map);

/**
 * gmem_space_new_shared() - a space whose snapshots each hold a reference.
 * @out: receives the space, holding one reference.
 * @map: the map; the space takes its own reference.
 *
 * Entering a section takes a map reference (one atomic increment) and
 * exiting drops it, so a snapshot never depends on the space.
 *
 * Return: 0; -EINVAL for NULL arguments; -ENOMEM.  Thread-safe.
 */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_space_new_shared(gmem_space **out,
						       gmem_map *map);

/**
 * gmem_space_new_atomic() - a space whose map can be replaced at any time.
 * @out: receives the space, holding one reference.
 * @map: the initial map; the space takes its own reference.
 * @max_retired: cap on replaced maps still waiting for readers to leave
 *               (GMEM_PUBLISH_DEFER); 0 means GMEM_SPACE_DEFAULT_MAX_RETIRED.
 *
 * Memory bound: besides the current map, at most @max_retired maps stay
 * allocated: those retired by GMEM_PUBLISH_DEFER (with the regions only
 * they hold) and dropped ones whose memory the space keeps to build later
 * maps of gmem_space_insert()/gmem_space_remove() in (holding no region
 * references); plus one per GMEM_PUBLISH_WAIT publication still waiting.
 * A deferred publication that would exceed the cap fails with -EBUSY
 * instead.  Reused memory is written only where the new map differs, so
 * a space switching between a few maps leaves the readers' cached copies
 * of the unchanged parts valid.
 *
 * Writers hold the space's update lock only to derive and swap a map, never
 * while waiting for readers, so a reader can always reach its exit.
 *
 * Read sections cost a few plain loads and stores: when membarrier(2)
 * (MEMBARRIER_CMD_PRIVATE_EXPEDITED) is available at creation, writers use
 * it to order the readers' stores (one call covers every map retired
 * before it).  Otherwise, and in ThreadSanitizer builds, sections use
 * sequentially consistent stores instead.  A process that later forbids
 * membarrier(2) (a seccomp filter installed after creating the space)
 * keeps every map retired from then on rather than risk freeing one still
 * in use; the calls that would free them return the error (see
 * gmem_space_update()).
 *
 * Return: 0; -EINVAL for NULL arguments or @max_retired above
 * GMEM_SPACE_LIMIT_MAX_RETIRED; -ENOMEM; or the errno of
 * pthread_mutex_init().  Thread-safe.
 */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_space_new_atomic(gmem_space **out,
						       gmem_map *map,
						       size_t max_retired);

/**
 * gmem_space_new_custom() - wrap a caller's implementation.
 * @out: receives the space, holding one reference.
 * @ops: the implementation; copied, so it need not outlive the call.
 * @ctx: passed to every callback.
 *
 * Return: 0; -EINVAL for NULL @out or @ops, an unknown @ops->size, or a
 * NULL @enter or @exit; -ENOMEM.  Thread-safe.
 */
GMEM_EXPORT GMEM_WARN_UNUSED int
gmem_space_new_custom(gmem_space **out, const struct gmem_space_ops *ops,
		      void *ctx);

/**
 * gmem_space_ref() - take another reference to a space.
 * @space: space, or NULL.
 *
 * Return: @space.  Thread-safe.
 */
GMEM_EXPORT gmem_space *gmem_space_ref(gmem_space *space);

/**
 * gmem_space_free() - drop one reference to a space.
 * @space: space, or NULL (no-op).
 *
 * Readers hold references, so a space lives until its last reader is freed.
 * When the last reference goes, the space drops its maps (current and
 * retired; no reader can exist any more) and calls a custom space's
 * @destroy.  Thread-safe.
 */
GMEM_EXPORT void gmem_space_free(gmem_space *space);

/**
 * gmem_reader_new() - create a read handle for the calling thread.
 * @out: receives the reader.
 * @space: the space to read; the reader takes a reference to it.
 *
 * A reader belongs to one thread at a time: its sections must be entered
 * and exited by the same thread.  Create one per vCPU or I/O thread.
 *
 * Return: 0; -EINVAL for NULL arguments; -ENOMEM.  Thread-safe.
 */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_reader_new(gmem_reader **out,
						 gmem_space *space);

/**
 * gmem_reader_free() - destroy a read handle.
 * @reader: reader, or NULL (returns 0).
 *
 * Return: 0; -EBUSY if @reader is inside a section (nothing is freed: exit
 * first).  Not thread-safe with respect to other calls on @reader.
 */
GMEM_EXPORT int gmem_reader_free(gmem_reader *reader);

/**
 * gmem_reader_enter() - begin a read section and get the snapshot.
 * @reader: the calling thread's reader.
 * @map: receives the snapshot, valid until the matching gmem_reader_exit().
 *
 * Sections nest: an inner enter returns the same snapshot as the outermost
 * one, and only the outermost exit ends the section.  On an atomic space
 * this is lock-free and writes only @reader's own cache line.
 *
 * Return: 0; -EINVAL for NULL arguments; -EOVERFLOW if nesting would exceed
 * GMEM_READER_MAX_DEPTH; for a custom space, the error of its @enter.
 */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_reader_enter(gmem_reader *reader,
						   const gmem_map **map);

/**
 * gmem_reader_exit() - end the innermost read section.
 * @reader: the calling thread's reader.
 *
 * After the outermost exit, the snapshot and every pointer obtained through
 * it must no longer be used.
 *
 * Return: 0; -EINVAL if @reader is NULL or not inside a section (nothing
 * changes).
 */
GMEM_EXPORT int gmem_reader_exit(gmem_reader *reader);

/**
 * gmem_reader_ref() - promote the current snapshot to a long-lived reference.
 * @reader: a reader inside a section.
 * @out: receives the snapshot's map with a new reference, which the caller
 *       drops with gmem_map_free(), from any thread, at any time (vm-memory's
 *       into_inner(), QEMU's flatview_ref()).
 *
 * Return: 0; -EINVAL for NULL arguments or a reader outside any section.
 */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_reader_ref(gmem_reader *reader,
						 gmem_map **out);

/** Publication modes for the atomic space's update functions. */
enum gmem_publish_flags {
	/** Wait until no reader can see the old map, then drop it. */
	GMEM_PUBLISH_WAIT = 0,
	/** Retire the old map and return at once; gmem_space_reclaim() (or a
	 *  later publication) drops it once readers have moved on. */
	GMEM_PUBLISH_DEFER = 1u << 0,
};

/**
 * typedef gmem_update_fn - derive the next map from the current one.
 * @current: the map now published (borrowed).
 * @next: receives the map to publish, with a reference the space takes
 *        over; may be @current itself after gmem_map_ref() for "no change".
 * @opaque: the caller's argument.
 *
 * Return: 0 to publish *@next; a negative errno to abandon the update,
 * which the update function returns.
 */
typedef int (*gmem_update_fn)(const gmem_map *current, gmem_map **next,
			      void *opaque);

/**
 * gmem_space_update() - atomically replace an atomic space's map with one
 * derived from the current map.
 * @space: an atomic space.
 * @fn: computes the next map; called once, with updates serialized, so two
 *      updaters never lose each other's changes.  Calls from @fn into the
 *      same space's update, reclaim, synchronize or current functions fail
 *      with -EDEADLK or -EBUSY instead of hanging.
 * @opaque: passed to @fn.
 * @flags: GMEM_PUBLISH_WAIT or GMEM_PUBLISH_DEFER.
 *
 * Return: 0; -EINVAL for NULL arguments or unknown @flags (checked before
 * the kind of space); -EOPNOTSUPP if @space is not an atomic space;
 * -EDEADLK with GMEM_PUBLISH_WAIT when the
 * calling thread is inside a read section of @space (it would wait for
 * itself), checked before anything changes; -EBUSY with GMEM_PUBLISH_DEFER
 * when the retired list is full even after reclaiming (nothing published);
 * the error of @fn; -ENOMEM; with GMEM_PUBLISH_WAIT, the negative errno of
 * membarrier(2) (e.g. -EPERM) if that call became impossible after the
 * space was created: the new map IS published, but the old one is kept,
 * never freed (see gmem_space_new_atomic()).  Thread-safe.
 */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_space_update(gmem_space *space,
						   gmem_update_fn fn,
						   void *opaque,
						   unsigned flags);

/**
 * gmem_space_replace() - publish a whole new map on an atomic space.
 * @space: an atomic space.
 * @map: the new map; the space takes its own reference.
 * @flags: GMEM_PUBLISH_WAIT or GMEM_PUBLISH_DEFER.
 *
 * Return: as gmem_space_update().  Thread-safe.
 */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_space_replace(gmem_space *space,
						    gmem_map *map,
						    unsigned flags);

/**
 * gmem_space_insert() - hot-plug: publish the current map plus a region.
 * @space: an atomic space.
 * @region: region to add; the new map takes its own reference.
 * @flags: GMEM_PUBLISH_WAIT or GMEM_PUBLISH_DEFER.
 *
 * Return: as gmem_space_update(), plus the errors of gmem_map_insert()
 * (-EEXIST, -E2BIG).  Thread-safe.
 */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_space_insert(gmem_space *space,
						   gmem_region *region,
						   unsigned flags);

/**
 * gmem_space_remove() - hot-unplug: publish the current map minus a region.
 * @space: an atomic space.
 * @gpa: exact start of the region.
 * @len: exact length of the region.
 * @removed: if not NULL, receives the removed region with a reference.
 * @flags: GMEM_PUBLISH_WAIT or GMEM_PUBLISH_DEFER.
 *
 * The region's host mapping stays valid until no snapshot or reference can
 * reach it; then (unless @removed or another map keeps it) it is unmapped.
 *
 * Return: as gmem_space_update(), plus -ENOENT from gmem_map_remove().
 * Thread-safe.
 */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_space_remove(gmem_space *space,
						   uint64_t gpa, uint64_t len,
						   gmem_region **removed,
						   unsigned flags);

/**
 * gmem_space_reclaim() - drop retired maps no reader can see any more.
 * @space: an atomic space.
 * @pending: if not NULL, receives the number of retired maps still waiting.
 *
 * Never blocks: it checks each reader once and returns.
 *
 * Return: 0; -EINVAL for a NULL @space; -EOPNOTSUPP if @space is not an
 * atomic space; -EBUSY if another thread is deriving or swapping a map
 * right now, or when called from an update callback (nothing done; try
 * again later).  Thread-safe.
 */
GMEM_EXPORT int gmem_space_reclaim(gmem_space *space, size_t *pending);

/**
 * gmem_space_synchronize() - wait until every map retired by earlier
 * GMEM_PUBLISH_DEFER publications has been dropped.
 * @space: an atomic space.
 *
 * Return: 0; -EINVAL; -EOPNOTSUPP for other spaces; -EDEADLK if the calling
 * thread is inside a read section of @space; the negative errno of
 * membarrier(2) if it became impossible (the maps stay retired, see
 * gmem_space_new_atomic()).  Thread-safe.
 */
GMEM_EXPORT int gmem_space_synchronize(gmem_space *space);

/**
 * gmem_space_current() - writer-side: a reference to the map now published.
 * @space: any space.
 * @out: receives the map with a new reference (drop with gmem_map_free()).
 *
 * For inspection by the control thread; readers use gmem_reader_enter().
 * On a custom space this enters and exits a section internally.
 *
 * Return: 0; -EINVAL for NULL arguments; -EDEADLK if called from an update
 * callback of the same atomic space; a custom space's @enter error.
 * Thread-safe.
 */
GMEM_EXPORT GMEM_WARN_UNUSED int gmem_space_current(gmem_space *space,
						    gmem_map **out);

/* ------------------------------------------------------------------------ */
/* Inline fast paths (implementation detail: not API)                        */
/* ------------------------------------------------------------------------ */

/*
 * The hottest calls are also compiled into the caller: the translations,
 * the typed accessors and gmem_read()/gmem_write().  The inline version
 * handles only the common success case (the access lies inside one region
 * and is allowed there), with the same checks the library makes, and calls
 * the exported function for everything else.  So every error, hole,
 * straddle and corner case is still decided in one place, the library.
 *
 * Define GMEM_NO_INLINE before including this header to always call the
 * library (for example from an FFI binding).  The structures below are read
 * by the inline code, so their layout is part of the ABI (a change bumps
 * the soname), but they are not API: never use them directly.
 */
#if !defined(GMEM_NO_INLINE) && !defined(GMEM_BUILDING_LIBRARY) &&          \
	defined(__GNUC__) && UINTPTR_MAX == UINT64_MAX
#define GMEM_INLINE_FAST_PATHS 1
#endif

/*
 * Inline means inline here: a compiler that outlines a fast path (clang 14
 * did for gmem_read_u64() once the small-map lookup was added) turns it
 * into a call with the caller's output in memory, slower than calling the
 * library (W2 at R=1: 2.3 ns against 1.5 ns, measured).
 */
#if defined(__GNUC__)
#define GMEM__INLINE static inline __attribute__((always_inline))
#else
#define GMEM__INLINE static inline
#endif

/* One region as the access paths see it; 32 bytes, two per cache line. */
struct gmem__slot {
	uint64_t start;
	uint64_t last; /* inclusive */
	uint8_t *host; /* host address of start */
	uintptr_t dirty_ro; /* the GMEM__SLOT_* bits below */
};

/*
 * A region's dirty log, as the write paths see it: one flag byte per dirty
 * page, not one bit (a byte can be set with a plain store, a bit only with
 * a locked read-modify-write, which on x86 also drains the store buffer of
 * the guest data written just before it: 2.3x on a random u64 write
 * stream, measured).  The harvest functions still return bitmaps.
 *
 * Everything a mark needs is packed into the slot's dirty_ro word, which
 * the write's bounds check has loaded already, so a mark costs no load but
 * the flag's (W3 with dirty tracking: 19.6-23.5 -> 17.5-19.2 ns at
 * R=1024, 2.2 -> 2.0 ns at R=1, against a pointer to a log header):
 *   GMEM__SLOT_BASE   the flag of the page holding gpa is the byte at
 *                     base + (gpa >> shift) (the library aligns the flags
 *                     so that base has these bits only); 0: no dirty log
 *   GMEM__SLOT_SHIFT  shift, log2 of the dirty page size
 *   GMEM__SLOT_STORE  always store the flag, without looking at it first:
 *                     the harvesters cannot issue membarrier (see the
 *                     library's dirty.h), or pages are smaller than 8
 *                     bytes (an aligned value may span two)
 *   GMEM__SLOT_RO     the region is read-only
 */
#define GMEM__SLOT_SHIFT ((uintptr_t)63)
#define GMEM__SLOT_RO ((uintptr_t)64)
#define GMEM__SLOT_STORE ((uintptr_t)128)
#define GMEM__SLOT_BASE (~(uintptr_t)255)

/*
 * A map as lookups see it (the library's struct gmem_map starts with
 * this).  slots[] and starts[] are sorted by address; slots[] begins
 * GMEM__MAP_SLOTS bytes into the map, so the inline lookup computes its
 * address instead of loading it (one load less on the path every access
 * waits for).  Lookup of gpa: with count <= 1 the slot is slots[0]; with
 * count == 2, slots[starts[1] <= gpa]; with
 * count <= GMEM__SMALL_MAP it is slots[i], i the number of starts[1..3]
 * at or below gpa (starts[] is padded to GMEM__SMALL_MAP keys); otherwise
 * bucket b = min((gpa - base) >> shift, nbuckets - 1);
 * bucket[b] is the last region starting at or below the bucket's first
 * address, and the answer is at most `window` regions further on.  The
 * buckets are sized so that window is 1 for evenly spread regions; step
 * is the largest power of two <= window (0 if window is 0), so a search
 * takes log2(window) + 1 branch-free steps whose count is the same for
 * every address.  After the last region, starts[] has padding keys of
 * UINT64_MAX (2 * step of them, at least one, and at least enough to
 * make GMEM__SMALL_MAP keys) and slots[] as many slots that contain no
 * address, so an empty map needs no special case.
 */
struct gmem__map_hot {
	const struct gmem__slot *slots;
	const uint64_t *starts;
	const uint32_t *bucket;
	uint64_t base;
	uint32_t shift;
	uint32_t nbuckets;
	uint32_t step;
	uint32_t reserved;
	size_t count;
	uint64_t key1; /* starts[1] (UINT64_MAX below two regions), in line 0 */
};
#define GMEM__MAP_SLOTS 128 /* offset of slots[] in a map */
#define GMEM__SMALL_MAP 4   /* most regions searched by comparing all keys */

/* *key <= gpa ? cand : lo, as a conditional move: clang turns every C
 * spelling of this select into a branch, which on random addresses
 * mispredicts half the time. */
GMEM__INLINE uint32_t gmem__select_le(uint32_t lo, uint32_t cand,
				       const uint64_t *key, uint64_t gpa)
{
#if defined(__x86_64__)
	__asm__("cmpq %[gpa], %[key]\n\tcmovbel %[cand], %[lo]"
		: [lo] "+r"(lo)
		: [key] "m"(*key), [gpa] "r"(gpa), [cand] "r"(cand)
		: "cc");
	return lo;
#else
	return *key <= gpa ? cand : lo;
#endif
}

/*
 * The slot that contains gpa if any region does; otherwise some slot that
 * contains no address or does not contain gpa (callers check
 * start <= gpa <= last).  The only data-dependent branch is the caller's
 * final check: the branches on count go the same way for every address of
 * a map, and the step loop runs the same number of times (once for evenly
 * spread regions).
 */
GMEM__INLINE const struct gmem__slot *
gmem__map_slot(const struct gmem__map_hot *h, uint64_t gpa)
{
	const struct gmem__slot *slots =
		(const struct gmem__slot *)(const void *)((const char *)h +
							  GMEM__MAP_SLOTS);
	const uint64_t *k;
	uint64_t b, sh;
	uint32_t lo, step;

	if (h->count <= 1)
		return slots;
	/* Two regions, RAM below and above a PCI hole, are the common
	 * case: one compare (W1 at R=2 1.6 -> 1.3 ns, W6c at R=1, whose
	 * writer alternates one and two regions, 1.21x -> 1.09x W6a), with
	 * the key in the line that holds count (W6c 1.13x -> 1.09x). */
	if (h->count == 2)
		return &slots[(uint32_t)(h->key1 <= gpa)];
	if (h->count <= GMEM__SMALL_MAP) {
		/* Three or four regions: three compares, no dependent
		 * loads. */
		k = h->starts;
		return &slots[(uint32_t)(k[1] <= gpa) + (uint32_t)(k[2] <= gpa) +
			      (uint32_t)(k[3] <= gpa)];
	}
	sh = h->shift;
#if defined(__x86_64__)
	/* Keep sh in a full register: clang loads a shift count from memory
	 * with movb into %cl, which on AMD merges with the old %rcx and makes
	 * every lookup wait for the previous one (3x slower, measured). */
	__asm__("" : "+r"(sh));
#endif
	b = (gpa - h->base) >> sh; /* below base wraps: clamped */
	b = b < h->nbuckets - 1 ? b : h->nbuckets - 1;
	lo = h->bucket[b];
	for (step = h->step; step; step >>= 1)
		lo = gmem__select_le(lo, lo + step, &h->starts[lo + step], gpa);
	return &slots[lo];
}

/*
 * Whether [gpa, gpa + len) lies in one region that allows the access
 * (write: not read-only); if so *host and *slot are set.  len >= 1.
 * gpa <= last and len - 1 <= last - gpa also rule out running past 2^64.
 */
GMEM__INLINE int gmem__fast_host(const void *map, uint64_t gpa, uint64_t len,
				  int write, uint8_t **host,
				  const struct gmem__slot **slot)
{
	const struct gmem__slot *s;

	s = gmem__map_slot((const struct gmem__map_hot *)map, gpa);
	if (__builtin_expect(s->start <= gpa && gpa <= s->last &&
				     len - 1 <= s->last - gpa &&
				     !(write && (s->dirty_ro & GMEM__SLOT_RO)),
			     1)) {
		*host = s->host + (gpa - s->start);
		*slot = s;
		return 1;
	}
	return 0;
}

/*
 * Mark one page, whose flag is the byte at address flag (see
 * GMEM__SLOT_BASE), for a slot whose dirty_ro word is dr.  The release
 * store orders the guest data written before it.  Skipping the store when
 * the flag is already set keeps the flag's cache line shared between
 * writers, and is safe only because harvesters issue membarrier (the
 * argument is in the library's dirty.h).
 */
GMEM__INLINE void gmem__dirty_set(uintptr_t dr, uintptr_t flag)
{
	uint8_t *p = (uint8_t *)flag;

	if ((dr & GMEM__SLOT_STORE) || __atomic_load_n(p, __ATOMIC_RELAXED) == 0)
		__atomic_store_n(p, 1, __ATOMIC_RELEASE);
}

/* Mark [gpa, gpa + len) dirty if s's region has a log; len >= 1 and the
 * range is in the region. */
GMEM__INLINE void gmem__slot_mark(const struct gmem__slot *s, uint64_t gpa,
				  uint64_t len)
{
	uintptr_t dr = s->dirty_ro, base = dr & GMEM__SLOT_BASE;
	unsigned sh = (unsigned)(dr & GMEM__SLOT_SHIFT);
	uint64_t f, l;

	if (__builtin_expect(base != 0, 0)) {
		f = gpa >> sh;
		l = (gpa + (len - 1)) >> sh;
		do
			gmem__dirty_set(dr, base + (uintptr_t)f);
		while (f++ < l);
	}
}

/* The mark for a naturally aligned value of at most 8 bytes: one page
 * (GMEM__SLOT_STORE is set where pages are smaller).  No branch hint on
 * the log's presence: hinting it unlikely moved the mark out of line, two
 * taken jumps per tracked write (W3 with tracking at R=1: 2.6 -> 1.95 ns
 * without the hint; untracked writes unchanged). */
GMEM__INLINE void gmem__slot_mark_small(const struct gmem__slot *s,
					uint64_t gpa, uint64_t size)
{
	uintptr_t dr = s->dirty_ro, base = dr & GMEM__SLOT_BASE;

	if (base != 0) {
		if (__builtin_expect(!(dr & GMEM__SLOT_STORE), 1))
			gmem__dirty_set(dr, base + (uintptr_t)(gpa >>
							       (dr & GMEM__SLOT_SHIFT)));
		else
			gmem__slot_mark(s, gpa, size);
	}
}

/* A reader's slot: the words writers scan (grace.c in the library);
 * __atomic only. */
struct gmem__slot_words {
	uint64_t seq;	 /* 2e+2 outside a section, 2e+1 inside; below */
	uintptr_t owner; /* gmem__thread_ptr() of the thread inside */
};

/*
 * seq & GMEM__SEQ_BUSY: 0 when an outermost section may begin inline, 1
 * when an outermost section may end inline.  A reader that the library
 * must handle (nested sections, other kinds of space, the fallback
 * protocol) has GMEM__SEQ_LIB set in its seq, which fails both tests;
 * scans ignore that bit.  Epochs would reach it after 2^62 publications:
 * centuries at any rate a writer can publish.
 */
#define GMEM__SEQ_BUSY (((uint64_t)1 << 63) | 1)
#define GMEM__SEQ_LIB ((uint64_t)1 << 63)

/*
 * The calling thread's identity, for the owner of a section (-EDEADLK
 * detection).  On x86-64 the ELF TLS ABI makes the first word of the
 * thread control block point to itself, so %fs:0 is the thread pointer,
 * which is also what glibc's (and musl's) pthread_self() returns, without
 * the call through the PLT.  Any value unique among live threads will do:
 * it is only ever compared with itself.
 */
GMEM__INLINE uintptr_t gmem__thread_ptr(void)
{
#if defined(__x86_64__)
	uintptr_t tp;

	__asm__("movq %%fs:0, %0" : "=r"(tp));
	return tp;
#else
	return (uintptr_t)pthread_self();
#endif
}

/* What a space publishes to readers: kept together in one cache line. */
struct gmem__pub {
	gmem_map *current; /* the published map */
	uint64_t epoch;	   /* publications so far (atomic spaces) */
};

/*
 * The first bytes of every gmem_reader: all an enter/exit of an atomic
 * space needs.  Shared words (w, *pub) are plain integers and pointers
 * that every party accesses with __atomic builtins only.
 *
 * Why so few fields: in a loop bound by memory latency or by the memory
 * operations it issues, every load and store of the fast path costs.
 * Reaching the space's two words through one pointer took gmem-bench W6a
 * from 58 to 45 ns at R=64; letting the slot word's parity say whether a
 * section is open, instead of a depth field stored on every enter and
 * exit (and a copy of seq), took W6a at R=1 from 3.5 to 3.2 ns; the slot
 * inside the reader, rather than reached through a pointer, from 2.95 to
 * 2.75 ns.
 */
struct gmem__reader_hot {
	struct gmem__slot_words w; /* the slot writers scan */
	struct gmem__pub *pub;	   /* the space's current map and epoch */
	const gmem_map *map;	   /* the current section's snapshot */
};

/* gmem__reader_*_fast(): the general path must handle this call. */
#define GMEM__READER_SLOW 1

/*
 * Begin an outermost section on an atomic space that uses the asymmetric
 * protocol (grace.c has it, and its proof):
 *   E0  e = epoch (acquire)       lower bound of the map's epoch
 *   E1  seq = 2e + 1 (release)    release: a writer reading it sees owner
 *       compiler barrier          E1 stays before E2 in the instructions;
 *                                 the writer's membarrier() supplies the
 *                                 store-load fence when it needs one
 *   E2  map = current (acquire)
 * Returns 0 with *map set, or GMEM__READER_SLOW (nothing done) when a
 * section is open (nesting) and for readers whose seq has GMEM__SEQ_LIB.
 * Only the reader's thread writes seq, so reading it needs no ordering.
 */
GMEM__INLINE int gmem__reader_enter_fast(struct gmem__reader_hot *h,
					 const gmem_map **map)
{
	struct gmem__slot_words *w = &h->w;
	struct gmem__pub *p;
	const gmem_map *m;
	uint64_t v;

	if (__builtin_expect(
		    (__atomic_load_n(&w->seq, __ATOMIC_RELAXED) &
		     GMEM__SEQ_BUSY) != 0,
		    0))
		return GMEM__READER_SLOW;
	p = h->pub;
	__atomic_store_n(&w->owner, gmem__thread_ptr(), __ATOMIC_RELAXED);
	v = 2 * __atomic_load_n(&p->epoch, __ATOMIC_ACQUIRE) + 1;
	__atomic_store_n(&w->seq, v, __ATOMIC_RELEASE);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	m = __atomic_load_n(&p->current, __ATOMIC_ACQUIRE);
	h->map = m;
	*map = m;
	return 0;
}

/*
 * End an outermost section begun by gmem__reader_enter_fast():
 *   X   seq = 2e + 2 (release)    the section's accesses come before it
 * Returns 0, or GMEM__READER_SLOW (nothing done) outside a section and
 * when seq has GMEM__SEQ_LIB (nested sections set it).  h->map keeps the
 * dead snapshot: it is only read inside a section.
 */
GMEM__INLINE int gmem__reader_exit_fast(struct gmem__reader_hot *h)
{
	struct gmem__slot_words *w = &h->w;
	/* v & GMEM__SEQ_BUSY == 1 (odd, no LIB bit), in one test */
	uint64_t v = __atomic_load_n(&w->seq, __ATOMIC_RELAXED) - 1;

	if (__builtin_expect((v & GMEM__SEQ_BUSY) != 0, 0))
		return GMEM__READER_SLOW;
	__atomic_store_n(&w->seq, v + 2, __ATOMIC_RELEASE);
	return 0;
}

#ifdef GMEM_INLINE_FAST_PATHS

/*
 * The calls into the library from the inline paths go through a local
 * copy of the output, so the caller's variable can stay in a register:
 * passing its address to an out-of-line call makes the compiler keep it
 * in memory on the fast path too, and that store then stalls the loads of
 * the next lookup (measured: up to 3x on a translate loop).
 */
GMEM__INLINE int gmem__outline_translate_exact(const gmem_map *map,
						uint64_t gpa, uint64_t len,
						unsigned access, void **host)
{
	void *t = 0;
	int rc = (gmem_translate_exact)(map, gpa, len, access,
					host ? &t : (void **)0);

	if (rc == 0 && host)
		*host = t;
	return rc;
}

GMEM__INLINE int gmem__inline_translate_exact(const gmem_map *map,
					       uint64_t gpa, uint64_t len,
					       unsigned access, void **host)
{
	const struct gmem__slot *s;
	uint8_t *h;

	if (map && host && len &&
	    (access == GMEM_ACCESS_READ || access == GMEM_ACCESS_WRITE ||
	     access == GMEM_ACCESS_RW) &&
	    gmem__fast_host(map, gpa, len, access & GMEM_ACCESS_WRITE, &h,
			    &s)) {
		*host = h;
		return 0;
	}
	return gmem__outline_translate_exact(map, gpa, len, access, host);
}
#define gmem_translate_exact(map, gpa, len, access, host)                     \
	gmem__inline_translate_exact(map, gpa, len, access, host)

/* Left to the compiler's judgement: forcing these inline into a call
 * with a constant huge len (a test of the error path) makes gcc warn
 * about the memmove it can never reach. */
static inline int gmem__inline_read(const gmem_map *map, uint64_t gpa,
				    void *buf, size_t len)
{
	const struct gmem__slot *s;
	uint8_t *h;

	if (map && buf && len && gmem__fast_host(map, gpa, len, 0, &h, &s)) {
		__builtin_memmove(buf, h, len);
		return 0;
	}
	return (gmem_read)(map, gpa, buf, len);
}
#define gmem_read(map, gpa, buf, len) gmem__inline_read(map, gpa, buf, len)

static inline int gmem__inline_write(const gmem_map *map, uint64_t gpa,
				     const void *buf, size_t len)
{
	const struct gmem__slot *s;
	uint8_t *h;

	if (map && buf && len && gmem__fast_host(map, gpa, len, 1, &h, &s)) {
		__builtin_memmove(h, buf, len);
		gmem__slot_mark(s, gpa, len);
		return 0;
	}
	return (gmem_write)(map, gpa, buf, len);
}
#define gmem_write(map, gpa, buf, len) gmem__inline_write(map, gpa, buf, len)

/*
 * Typed accessors: aligned and inside one region is one relaxed __atomic
 * load or store (tear-free, like the library); the rest goes to the
 * library.  Regions keep host % 8 == gpa % 8, so gpa alignment is host
 * alignment.
 */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define GMEM__LE(bits, x) (x)
#define GMEM__BE(bits, x) __builtin_bswap##bits(x)
#else
#define GMEM__LE(bits, x) __builtin_bswap##bits(x)
#define GMEM__BE(bits, x) (x)
#endif
#define GMEM__ID(bits, x) (x)

/*
 * The library writes a local (see gmem__outline_translate_exact()), with
 * clang only: gcc then loses track of which caller variables are set when
 * the call succeeds and warns (-Wmaybe-uninitialized) about code like
 * examples/rwlock_space.c, so it gets the plain call.
 */
#if defined(__clang__)
#define GMEM__DEFINE_OUTLINE_READ(name, type)                                  \
	GMEM__INLINE int gmem__outline_read_##name(const gmem_map *map,        \
						   uint64_t gpa, type *out)    \
	{                                                                      \
		type t; /* set when rc == 0; no store on the fast path */      \
		int rc = (gmem_read_##name)(map, gpa, out ? &t : (type *)0);   \
                                                                               \
		if (rc == 0 && out)                                            \
			*out = t;                                              \
		return rc;                                                     \
	}
#else
#define GMEM__DEFINE_OUTLINE_READ(name, type)                                  \
	GMEM__INLINE int gmem__outline_read_##name(const gmem_map *map,        \
						   uint64_t gpa, type *out)    \
	{                                                                      \
		return (gmem_read_##name)(map, gpa, out);                      \
	}
#endif

/*
 * Misaligned typed accesses go to the library.  Tested on its own, before
 * the other conditions: folded into one __builtin_expect() with them,
 * clang 14 spends three instructions on it instead of one test.
 */
#define GMEM__MISALIGNED(gpa, type) (((gpa) & (sizeof(type) - 1)) != 0)

#define GMEM__DEFINE_TYPED(name, type, bits, conv)                             \
	GMEM__DEFINE_OUTLINE_READ(name, type)                                  \
	GMEM__INLINE int gmem__inline_read_##name(const gmem_map *map,         \
						  uint64_t gpa, type *out)     \
	{                                                                      \
		const struct gmem__slot *s;                                    \
		uint8_t *h;                                                    \
                                                                               \
		if (__builtin_expect(GMEM__MISALIGNED(gpa, type), 0))         \
			return gmem__outline_read_##name(map, gpa, out);       \
		if (__builtin_expect(                                          \
			    map && out &&                                      \
				    gmem__fast_host(map, gpa, sizeof(type), 0, \
						    &h, &s),                   \
			    1)) {                                              \
			type v = __atomic_load_n((type *)(void *)h,            \
						 __ATOMIC_RELAXED);            \
			*out = (type)conv(bits, v);                            \
			return 0;                                              \
		}                                                              \
		return gmem__outline_read_##name(map, gpa, out);               \
	}                                                                      \
	GMEM__INLINE int gmem__inline_write_##name(const gmem_map *map,       \
						    uint64_t gpa, type val)    \
	{                                                                      \
		const struct gmem__slot *s;                                    \
		uint8_t *h;                                                    \
                                                                               \
		if (__builtin_expect(GMEM__MISALIGNED(gpa, type), 0))         \
			return (gmem_write_##name)(map, gpa, val);             \
		if (__builtin_expect(                                          \
			    map &&                                             \
				    gmem__fast_host(map, gpa, sizeof(type), 1, \
						    &h, &s),                   \
			    1)) {                                              \
			__atomic_store_n((type *)(void *)h,                    \
					 (type)conv(bits, val),                \
					 __ATOMIC_RELAXED);                    \
			gmem__slot_mark_small(s, gpa, sizeof(type));           \
			return 0;                                              \
		}                                                              \
		return (gmem_write_##name)(map, gpa, val);                     \
	}

GMEM__DEFINE_TYPED(u8, uint8_t, 8, GMEM__ID)
GMEM__DEFINE_TYPED(u16, uint16_t, 16, GMEM__ID)
GMEM__DEFINE_TYPED(u32, uint32_t, 32, GMEM__ID)
GMEM__DEFINE_TYPED(u64, uint64_t, 64, GMEM__ID)
GMEM__DEFINE_TYPED(le16, uint16_t, 16, GMEM__LE)
GMEM__DEFINE_TYPED(le32, uint32_t, 32, GMEM__LE)
GMEM__DEFINE_TYPED(le64, uint64_t, 64, GMEM__LE)
GMEM__DEFINE_TYPED(be16, uint16_t, 16, GMEM__BE)
GMEM__DEFINE_TYPED(be32, uint32_t, 32, GMEM__BE)
GMEM__DEFINE_TYPED(be64, uint64_t, 64, GMEM__BE)

#define gmem_read_u8(m, g, o) gmem__inline_read_u8(m, g, o)
#define gmem_read_u16(m, g, o) gmem__inline_read_u16(m, g, o)
#define gmem_read_u32(m, g, o) gmem__inline_read_u32(m, g, o)
#define gmem_read_u64(m, g, o) gmem__inline_read_u64(m, g, o)
#define gmem_read_le16(m, g, o) gmem__inline_read_le16(m, g, o)
#define gmem_read_le32(m, g, o) gmem__inline_read_le32(m, g, o)
#define gmem_read_le64(m, g, o) gmem__inline_read_le64(m, g, o)
#define gmem_read_be16(m, g, o) gmem__inline_read_be16(m, g, o)
#define gmem_read_be32(m, g, o) gmem__inline_read_be32(m, g, o)
#define gmem_read_be64(m, g, o) gmem__inline_read_be64(m, g, o)
#define gmem_write_u8(m, g, v) gmem__inline_write_u8(m, g, v)
#define gmem_write_u16(m, g, v) gmem__inline_write_u16(m, g, v)
#define gmem_write_u32(m, g, v) gmem__inline_write_u32(m, g, v)
#define gmem_write_u64(m, g, v) gmem__inline_write_u64(m, g, v)
#define gmem_write_le16(m, g, v) gmem__inline_write_le16(m, g, v)
#define gmem_write_le32(m, g, v) gmem__inline_write_le32(m, g, v)
#define gmem_write_le64(m, g, v) gmem__inline_write_le64(m, g, v)
#define gmem_write_be16(m, g, v) gmem__inline_write_be16(m, g, v)
#define gmem_write_be32(m, g, v) gmem__inline_write_be32(m, g, v)
#define gmem_write_be64(m, g, v) gmem__inline_write_be64(m, g, v)

/*
 * Read sections: the outermost enter of an atomic space is four loads and
 * three stores, all but two in the reader's own cache line, and its exit
 * one load and one store (see gmem__reader_enter_fast()); nesting, the
 * other kinds of space and every error go to the library.
 */
GMEM__INLINE int gmem__inline_reader_enter(gmem_reader *reader,
					   const gmem_map **map)
{
	const gmem_map *t; /* set when rc == 0; no store on the fast path */
	int rc;

	if (__builtin_expect(reader && map &&
				     gmem__reader_enter_fast(
					     (struct gmem__reader_hot *)(void *)
						     reader,
					     map) == 0,
			     1))
		return 0;
	/* The library writes a local (see gmem__outline_translate_exact()) */
	rc = (gmem_reader_enter)(reader, map ? &t : (const gmem_map **)0);
	if (rc == 0 && map)
		*map = t;
	return rc;
}
#define gmem_reader_enter(r, m) gmem__inline_reader_enter(r, m)

GMEM__INLINE int gmem__inline_reader_exit(gmem_reader *reader)
{
	if (__builtin_expect(reader && gmem__reader_exit_fast(
					       (struct gmem__reader_hot *)(void *)
						       reader) == 0,
			     1))
		return 0;
	return (gmem_reader_exit)(reader);
}
#define gmem_reader_exit(r) gmem__inline_reader_exit(r)

#endif /* GMEM_INLINE_FAST_PATHS */

#ifdef __cplusplus
}
#endif

#endif /* GMEM_H */
