/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * shadow.h - a trivially correct reference model of a libgmem map, for
 * differential fuzzing (fuzz/fuzz_map.c) and random testing
 * (tests/random_diff.c).
 *
 * The model is deliberately naive: a sorted array of regions, each owning a
 * plain byte array with its expected contents, and every access implemented
 * byte by byte ("which region holds this byte?").  It shares no code with
 * the library.  Every function returns exactly what include/gmem.h says the
 * library must return, including the error code:
 *
 *   -EINVAL, then -EOVERFLOW, then -EFAULT / -EACCES, where the first
 *   offending byte in address order decides between a hole (-EFAULT) and a
 *   read-only region (-EACCES); all-or-nothing operations change nothing
 *   when they fail.
 *
 * The model does not see NULL handles or NULL buffers: the caller checks
 * those itself (they always give -EINVAL first).
 *
 * Regions are shared between model maps exactly like libgmem shares regions
 * between maps: a model map holds pointers, the caller owns the regions.
 */
#ifndef GMEM_FUZZ_SHADOW_H
#define GMEM_FUZZ_SHADOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct shadow_region {
	uint64_t start;
	uint64_t len;		/* >= 1, start + len <= 2^64 */
	bool ro;
	uint8_t *bytes;		/* the expected contents, len bytes, owned */
	void *tag;		/* the caller's handle (a gmem_region *) */
	/* Dirty tracking (GMEM_REGION_DIRTY_LOG); dps == 0: not tracked. */
	uint64_t dps;		/* bytes per dirty bit, a power of two */
	uint64_t first_frame;	/* start / dps */
	uint64_t nframes;	/* last / dps - start / dps + 1 */
	uint8_t *dirty;		/* one flag per frame, owned */
};

struct shadow_map {
	size_t n;
	size_t cap;			/* effective max_regions */
	struct shadow_region **r;	/* n entries sorted by start */
};

/* A fragment of a guest range: @len bytes at offset @off of region @r. */
struct shadow_frag {
	struct shadow_region *r;
	uint64_t off;
	uint64_t len;
};

enum shadow_endian { SHADOW_HOST, SHADOW_LE, SHADOW_BE };

enum shadow_atomic_op {
	SHADOW_ATOMIC_LOAD,
	SHADOW_ATOMIC_STORE,
	SHADOW_ATOMIC_CMPXCHG,
	SHADOW_ATOMIC_ADD,
	SHADOW_ATOMIC_OR,
	SHADOW_ATOMIC_AND,
	SHADOW_ATOMIC_COUNT
};

/* -------- regions -------- */

/*
 * Expected result of gmem_region_new() for a configuration, as far as it is
 * decided by the arguments alone (argument checks and overflow): -EINVAL,
 * -EOVERFLOW, or 0 meaning "the library must accept it unless the system
 * runs out of something".  @host_null / @host_mod8 describe cfg.host;
 * @pagesize is the host page size.
 */
int shadow_region_config_check(uint32_t size, uint32_t backing,
			       uint32_t flags, int32_t fd, uint64_t gpa,
			       uint64_t len, uint64_t offset, bool host_null,
			       unsigned host_mod8, uint64_t page_size,
			       uint64_t pagesize);

/*
 * The GMEM_REGION_DIRTY_LOG part of the same check: -EINVAL for a
 * @dirty_page_size that is neither 0 nor a power of two, else 0.
 */
int shadow_region_dirty_config_check(uint32_t flags, uint64_t dirty_page_size);

/* A model region; @init gives the initial contents (NULL: zeros).  Returns
 * NULL only when out of memory. */
struct shadow_region *shadow_region_new(uint64_t start, uint64_t len, bool ro,
					const uint8_t *init, void *tag);
void shadow_region_free(struct shadow_region *r);
/* Start tracking dirty pages of @dps bytes (a power of two); 0 or -ENOMEM. */
int shadow_region_track(struct shadow_region *r, uint64_t dps);

/* Last byte of a region (start + len - 1). */
uint64_t shadow_region_last(const struct shadow_region *r);

/* -------- maps -------- */

/* As gmem_map_new(); @regions entries may be NULL (-EINVAL). */
int shadow_map_new(struct shadow_map **out,
		   struct shadow_region *const *regions, size_t count,
		   size_t max_regions);
/* As gmem_map_insert(). */
int shadow_map_insert(struct shadow_map **out, const struct shadow_map *m,
		      struct shadow_region *r);
/* As gmem_map_remove(); @removed may be NULL. */
int shadow_map_remove(struct shadow_map **out, const struct shadow_map *m,
		      uint64_t gpa, uint64_t len,
		      struct shadow_region **removed);
struct shadow_map *shadow_map_clone(const struct shadow_map *m);
void shadow_map_free(struct shadow_map *m);
bool shadow_map_contains(const struct shadow_map *m,
			 const struct shadow_region *r);
/* The region holding byte @addr, or NULL for a hole. */
struct shadow_region *shadow_find(const struct shadow_map *m, uint64_t addr);
/* As gmem_map_last_addr(): -ENOENT for the empty map. */
int shadow_last_addr(const struct shadow_map *m, uint64_t *out);
/* Sum of the region lengths. */
uint64_t shadow_mapped_bytes(const struct shadow_map *m);

/* -------- accesses (as the gmem_* function of the same name) -------- */

/* -EOVERFLOW if [gpa, gpa + len) runs past 2^64, else 0. */
int shadow_range_check(uint64_t gpa, uint64_t len);
bool shadow_access_valid(unsigned access);

int shadow_check_range(const struct shadow_map *m, uint64_t gpa, uint64_t len,
		       unsigned access);
int shadow_read(const struct shadow_map *m, uint64_t gpa, uint8_t *buf,
		uint64_t len);
int shadow_write(const struct shadow_map *m, uint64_t gpa, const uint8_t *buf,
		 uint64_t len);
int shadow_read_partial(const struct shadow_map *m, uint64_t gpa, uint8_t *buf,
			uint64_t len, uint64_t *done);
int shadow_write_partial(const struct shadow_map *m, uint64_t gpa,
			 const uint8_t *buf, uint64_t len, uint64_t *done);
int shadow_copy(const struct shadow_map *m, uint64_t dst, uint64_t src,
		uint64_t len);
int shadow_fill(const struct shadow_map *m, uint64_t gpa, uint64_t len,
		uint8_t value);
/*
 * As gmem_iovec(): fills at most @cap entries of @frags; *@count receives
 * the number of fragments on success and on -ENOBUFS.
 */
int shadow_iovec(const struct shadow_map *m, uint64_t gpa, uint64_t len,
		 unsigned access, struct shadow_frag *frags, size_t cap,
		 size_t *count);
/* As gmem_translate(): the host address is @(*r)->... + *off. */
int shadow_translate(const struct shadow_map *m, uint64_t gpa, uint64_t len,
		     unsigned access, struct shadow_region **r, uint64_t *off,
		     uint64_t *avail);
int shadow_translate_exact(const struct shadow_map *m, uint64_t gpa,
			   uint64_t len, unsigned access,
			   struct shadow_region **r, uint64_t *off);
/* Typed accessors; @size is 1, 2, 4 or 8. */
int shadow_typed_read(const struct shadow_map *m, uint64_t gpa, unsigned size,
		      enum shadow_endian e, uint64_t *val);
int shadow_typed_write(const struct shadow_map *m, uint64_t gpa, unsigned size,
		       enum shadow_endian e, uint64_t val);
/*
 * Atomics; @size is 2, 4 or 8.  LOAD and the fetch operations store the
 * prior value in *@old; CMPXCHG compares with *@expected and on -EAGAIN
 * stores the value found there.
 */
int shadow_atomic(const struct shadow_map *m, enum shadow_atomic_op op,
		  unsigned size, uint64_t gpa, uint64_t val,
		  uint64_t *expected, uint64_t *old);

/* -------- dirty tracking -------- */

/*
 * Every model write marks the frame of each byte it stores in a tracked
 * region (gmem.h: "Every library write path marks exactly the pages it
 * wrote"); reads never mark.
 */

/* As gmem_map_mark_dirty(). */
int shadow_mark_dirty(const struct shadow_map *m, uint64_t gpa, uint64_t len);

enum shadow_dirty_op { SHADOW_DIRTY_QUERY, SHADOW_DIRTY_HARVEST,
		       SHADOW_DIRTY_RESET };

/*
 * As gmem_map_dirty_query() / _harvest() / _reset() with a non-NULL
 * @bitmap (ignored for reset).  On success fills the first
 * ceil(len / page_size / 64) words of @bitmap.  gmem.h does not rank
 * -ENOBUFS against -EINVAL for a tracked region with another page size;
 * when both apply, *@alt receives the other acceptable code (else 0).
 */
int shadow_map_dirty(const struct shadow_map *m, enum shadow_dirty_op op,
		     uint64_t gpa, uint64_t len, uint64_t page_size,
		     uint64_t *bitmap, size_t nwords, int *alt);

/* As gmem_region_dirty_harvest(); *@nbits is set on success and -ENOBUFS. */
int shadow_region_dirty_harvest(struct shadow_region *r, uint64_t *bitmap,
				size_t nwords, size_t *nbits);

#endif /* GMEM_FUZZ_SHADOW_H */
