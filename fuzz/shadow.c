/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * shadow.c - the naive reference model of a libgmem map; see shadow.h.
 *
 * Written for obviousness, not speed: every access looks up the region of
 * each byte in turn (with a one-entry cache), and range ends are computed in
 * 128-bit arithmetic so that 2^64 is an ordinary number.
 */
#include "shadow.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gmem.h"

typedef unsigned __int128 u128;

#define TOP ((u128)1 << 64) /* 2^64: one past the last guest address */

/* Exclusive end of a region as a 128-bit number (may be 2^64). */
static u128 region_end(const struct shadow_region *r)
{
	return (u128)r->start + r->len;
}

static bool region_holds(const struct shadow_region *r, uint64_t addr)
{
	return addr >= r->start && (u128)addr < region_end(r);
}

/* -------- regions -------- */

int shadow_region_config_check(uint32_t size, uint32_t backing,
			       uint32_t flags, int32_t fd, uint64_t gpa,
			       uint64_t len, uint64_t offset, bool host_null,
			       unsigned host_mod8, uint64_t page_size,
			       uint64_t pagesize)
{
	if (size != GMEM_REGION_CONFIG_SIZE_V1)
		return -EINVAL;
	if (backing > GMEM_BACKING_USER)
		return -EINVAL;
	if (flags & ~(uint32_t)GMEM_REGION_FLAGS_ALL)
		return -EINVAL;
	if (len == 0)
		return -EINVAL;
	switch (backing) {
	case GMEM_BACKING_USER:
		if (host_null || host_mod8 != gpa % 8)
			return -EINVAL;
		break;
	case GMEM_BACKING_FD:
		if (fd < 0 || offset % pagesize != 0 || gpa % 8 != 0)
			return -EINVAL;
		break;
	case GMEM_BACKING_HUGETLB:
		if (gpa % 8 != 0)
			return -EINVAL;
		if (page_size != 0 &&
		    ((page_size & (page_size - 1)) != 0 || len % page_size != 0))
			return -EINVAL;
		break;
	default:
		break;
	}
	if ((u128)gpa + len > TOP)
		return -EOVERFLOW;
	if (backing == GMEM_BACKING_FD && (u128)offset + len > UINT64_MAX)
		return -EOVERFLOW;
	return 0;
}

int shadow_region_dirty_config_check(uint32_t flags, uint64_t dirty_page_size)
{
	if ((flags & GMEM_REGION_DIRTY_LOG) && dirty_page_size != 0 &&
	    (dirty_page_size & (dirty_page_size - 1)) != 0)
		return -EINVAL;
	return 0;
}

struct shadow_region *shadow_region_new(uint64_t start, uint64_t len, bool ro,
					const uint8_t *init, void *tag)
{
	struct shadow_region *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->bytes = calloc(len ? len : 1, 1);
	if (!r->bytes) {
		free(r);
		return NULL;
	}
	if (init)
		memcpy(r->bytes, init, len);
	r->start = start;
	r->len = len;
	r->ro = ro;
	r->tag = tag;
	return r;
}

void shadow_region_free(struct shadow_region *r)
{
	if (!r)
		return;
	free(r->dirty);
	free(r->bytes);
	free(r);
}

int shadow_region_track(struct shadow_region *r, uint64_t dps)
{
	if (dps == 0 || (dps & (dps - 1)) != 0)
		return -EINVAL;
	r->dps = dps;
	r->first_frame = r->start / dps;
	r->nframes = shadow_region_last(r) / dps - r->first_frame + 1;
	free(r->dirty);
	r->dirty = calloc(r->nframes, 1);
	return r->dirty ? 0 : -ENOMEM;
}

uint64_t shadow_region_last(const struct shadow_region *r)
{
	return (uint64_t)(region_end(r) - 1);
}

/* -------- maps -------- */

static bool overlap(const struct shadow_region *a,
		    const struct shadow_region *b)
{
	/* Same region twice overlaps; otherwise compare the intervals. */
	if (a == b)
		return true;
	return (u128)a->start < region_end(b) && (u128)b->start < region_end(a);
}

static struct shadow_map *map_alloc(size_t n, size_t cap)
{
	struct shadow_map *m = calloc(1, sizeof(*m));

	if (!m)
		abort();
	m->r = calloc(n ? n : 1, sizeof(*m->r));
	if (!m->r)
		abort();
	m->n = n;
	m->cap = cap;
	return m;
}

/* Insertion sort by start (n is small). */
static void sort_regions(struct shadow_region **r, size_t n)
{
	size_t i, j;

	for (i = 1; i < n; i++)
		for (j = i; j > 0 && r[j - 1]->start > r[j]->start; j--) {
			struct shadow_region *t = r[j];

			r[j] = r[j - 1];
			r[j - 1] = t;
		}
}

int shadow_map_new(struct shadow_map **out,
		   struct shadow_region *const *regions, size_t count,
		   size_t max_regions)
{
	struct shadow_map *m;
	size_t cap, i, j;

	if (count > 0 && !regions)
		return -EINVAL;
	for (i = 0; i < count; i++)
		if (!regions[i])
			return -EINVAL;
	if (max_regions > GMEM_MAP_LIMIT_MAX_REGIONS)
		return -EINVAL;
	cap = max_regions ? max_regions : GMEM_MAP_DEFAULT_MAX_REGIONS;
	if (count > cap)
		return -E2BIG;
	for (i = 0; i < count; i++)
		for (j = i + 1; j < count; j++)
			if (overlap(regions[i], regions[j]))
				return -EEXIST;
	m = map_alloc(count, cap);
	for (i = 0; i < count; i++)
		m->r[i] = regions[i];
	sort_regions(m->r, count);
	*out = m;
	return 0;
}

int shadow_map_insert(struct shadow_map **out, const struct shadow_map *m,
		      struct shadow_region *r)
{
	struct shadow_map *n;
	size_t i;

	/*
	 * gmem.h does not say which of -E2BIG and -EEXIST wins when both
	 * apply; like gmem_map_new() (whose comment lists -E2BIG first), the
	 * cap is checked first.
	 */
	if (m->n + 1 > m->cap)
		return -E2BIG;
	for (i = 0; i < m->n; i++)
		if (overlap(m->r[i], r))
			return -EEXIST;
	n = map_alloc(m->n + 1, m->cap);
	for (i = 0; i < m->n; i++)
		n->r[i] = m->r[i];
	n->r[m->n] = r;
	sort_regions(n->r, n->n);
	*out = n;
	return 0;
}

int shadow_map_remove(struct shadow_map **out, const struct shadow_map *m,
		      uint64_t gpa, uint64_t len,
		      struct shadow_region **removed)
{
	struct shadow_map *n;
	size_t i, j, k;

	for (i = 0; i < m->n; i++)
		if (m->r[i]->start == gpa && m->r[i]->len == len)
			break;
	if (i == m->n)
		return -ENOENT;
	n = map_alloc(m->n - 1, m->cap);
	for (j = 0, k = 0; j < m->n; j++)
		if (j != i)
			n->r[k++] = m->r[j];
	if (removed)
		*removed = m->r[i];
	*out = n;
	return 0;
}

struct shadow_map *shadow_map_clone(const struct shadow_map *m)
{
	struct shadow_map *n = map_alloc(m->n, m->cap);

	if (m->n)
		memcpy(n->r, m->r, m->n * sizeof(*m->r));
	return n;
}

void shadow_map_free(struct shadow_map *m)
{
	if (!m)
		return;
	free(m->r);
	free(m);
}

bool shadow_map_contains(const struct shadow_map *m,
			 const struct shadow_region *r)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (m->r[i] == r)
			return true;
	return false;
}

struct shadow_region *shadow_find(const struct shadow_map *m, uint64_t addr)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (region_holds(m->r[i], addr))
			return m->r[i];
	return NULL;
}

int shadow_last_addr(const struct shadow_map *m, uint64_t *out)
{
	uint64_t last = 0;
	size_t i;

	if (m->n == 0)
		return -ENOENT;
	for (i = 0; i < m->n; i++)
		if (shadow_region_last(m->r[i]) > last)
			last = shadow_region_last(m->r[i]);
	*out = last;
	return 0;
}

uint64_t shadow_mapped_bytes(const struct shadow_map *m)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < m->n; i++)
		sum += m->r[i]->len;
	return sum;
}

/* -------- byte-level helpers -------- */

/* Region of byte @addr, trying the last answer first; NULL for a hole. */
static struct shadow_region *find_cached(const struct shadow_map *m,
					 uint64_t addr,
					 struct shadow_region **cache)
{
	if (*cache && region_holds(*cache, addr))
		return *cache;
	*cache = shadow_find(m, addr);
	return *cache;
}

/* The model byte at @addr of @r; @r was found by a lookup that succeeded. */
static uint8_t *byte_at(struct shadow_region *r, uint64_t addr)
{
	if (!r)
		abort(); /* model bug: the range was checked first */
	return &r->bytes[addr - r->start];
}

/* Record a write of the byte at @addr of @r. */
static void mark(struct shadow_region *r, uint64_t addr)
{
	if (!r)
		abort(); /* model bug: the range was checked first */
	if (r->dps)
		r->dirty[addr / r->dps - r->first_frame] = 1;
}

/* Every byte the model writes goes through here. */
static void set_byte(struct shadow_region *r, uint64_t addr, uint8_t v)
{
	*byte_at(r, addr) = v;
	mark(r, addr);
}

/* -------- accesses -------- */

int shadow_range_check(uint64_t gpa, uint64_t len)
{
	return (u128)gpa + len > TOP ? -EOVERFLOW : 0;
}

bool shadow_access_valid(unsigned access)
{
	return access == GMEM_ACCESS_READ || access == GMEM_ACCESS_WRITE ||
	       access == GMEM_ACCESS_RW;
}

/*
 * The first problem in address order: -EFAULT for a byte in a hole,
 * -EACCES for a byte of a read-only region when @write.  The loop ends at
 * the first hole at the latest, i.e. within mapped_bytes + 1 iterations.
 */
static int scan(const struct shadow_map *m, uint64_t gpa, uint64_t len,
		bool write)
{
	struct shadow_region *cache = NULL, *r;
	uint64_t i;

	for (i = 0; i < len; i++) {
		r = find_cached(m, gpa + i, &cache);
		if (!r)
			return -EFAULT;
		if (write && r->ro)
			return -EACCES;
	}
	return 0;
}

int shadow_check_range(const struct shadow_map *m, uint64_t gpa, uint64_t len,
		       unsigned access)
{
	if (!shadow_access_valid(access))
		return -EINVAL;
	if (shadow_range_check(gpa, len))
		return -EOVERFLOW;
	return scan(m, gpa, len, (access & GMEM_ACCESS_WRITE) != 0);
}

int shadow_read(const struct shadow_map *m, uint64_t gpa, uint8_t *buf,
		uint64_t len)
{
	struct shadow_region *cache = NULL;
	uint64_t i;
	int err = shadow_check_range(m, gpa, len, GMEM_ACCESS_READ);

	if (err)
		return err;
	for (i = 0; i < len; i++)
		buf[i] = *byte_at(find_cached(m, gpa + i, &cache), gpa + i);
	return 0;
}

int shadow_write(const struct shadow_map *m, uint64_t gpa, const uint8_t *buf,
		 uint64_t len)
{
	struct shadow_region *cache = NULL;
	uint64_t i;
	int err = shadow_check_range(m, gpa, len, GMEM_ACCESS_WRITE);

	if (err)
		return err;
	for (i = 0; i < len; i++)
		set_byte(find_cached(m, gpa + i, &cache), gpa + i, buf[i]);
	return 0;
}

int shadow_read_partial(const struct shadow_map *m, uint64_t gpa, uint8_t *buf,
			uint64_t len, uint64_t *done)
{
	struct shadow_region *cache = NULL, *r;
	uint64_t n;

	if (shadow_range_check(gpa, len))
		return -EOVERFLOW;
	if (len == 0) {
		*done = 0;
		return 0;
	}
	if (!shadow_find(m, gpa))
		return -EFAULT;
	for (n = 0; n < len; n++) {
		r = find_cached(m, gpa + n, &cache);
		if (!r)
			break;
		buf[n] = *byte_at(r, gpa + n);
	}
	*done = n;
	return 0;
}

int shadow_write_partial(const struct shadow_map *m, uint64_t gpa,
			 const uint8_t *buf, uint64_t len, uint64_t *done)
{
	struct shadow_region *cache = NULL, *r;
	uint64_t n;

	if (shadow_range_check(gpa, len))
		return -EOVERFLOW;
	if (len == 0) {
		*done = 0;
		return 0;
	}
	r = shadow_find(m, gpa);
	if (!r)
		return -EFAULT;
	if (r->ro)
		return -EACCES;
	for (n = 0; n < len; n++) {
		r = find_cached(m, gpa + n, &cache);
		if (!r || r->ro)
			break;
		set_byte(r, gpa + n, buf[n]);
	}
	*done = n;
	return 0;
}

int shadow_copy(const struct shadow_map *m, uint64_t dst, uint64_t src,
		uint64_t len)
{
	uint8_t *tmp;
	int err;

	if (shadow_range_check(src, len) || shadow_range_check(dst, len))
		return -EOVERFLOW;
	err = scan(m, src, len, false);
	if (!err)
		err = scan(m, dst, len, true);
	if (err)
		return err;
	if (len == 0)
		return 0;
	/* Both ranges are fully mapped, so len <= mapped bytes: small. */
	tmp = malloc(len);
	if (!tmp)
		abort();
	if (shadow_read(m, src, tmp, len) || shadow_write(m, dst, tmp, len))
		abort();
	free(tmp);
	return 0;
}

int shadow_fill(const struct shadow_map *m, uint64_t gpa, uint64_t len,
		uint8_t value)
{
	struct shadow_region *cache = NULL;
	uint64_t i;
	int err = shadow_check_range(m, gpa, len, GMEM_ACCESS_WRITE);

	if (err)
		return err;
	for (i = 0; i < len; i++)
		set_byte(find_cached(m, gpa + i, &cache), gpa + i, value);
	return 0;
}

int shadow_iovec(const struct shadow_map *m, uint64_t gpa, uint64_t len,
		 unsigned access, struct shadow_frag *frags, size_t cap,
		 size_t *count)
{
	struct shadow_region *cache = NULL, *r, *prev = NULL;
	size_t n = 0;
	uint64_t i;
	int err;

	err = shadow_check_range(m, gpa, len, access);
	if (err)
		return err;
	for (i = 0; i < len; i++) {
		r = find_cached(m, gpa + i, &cache);
		if (r != prev) {
			n++;
			if (n <= cap) {
				frags[n - 1].r = r;
				frags[n - 1].off = gpa + i - r->start;
				frags[n - 1].len = 0;
			}
			prev = r;
		}
		if (n <= cap)
			frags[n - 1].len++;
	}
	*count = n;
	return n > cap ? -ENOBUFS : 0;
}

int shadow_translate(const struct shadow_map *m, uint64_t gpa, uint64_t len,
		     unsigned access, struct shadow_region **r, uint64_t *off,
		     uint64_t *avail)
{
	struct shadow_region *h;
	u128 to_end;

	if (!shadow_access_valid(access) || len == 0)
		return -EINVAL;
	if (shadow_range_check(gpa, len))
		return -EOVERFLOW;
	h = shadow_find(m, gpa);
	if (!h)
		return -EFAULT;
	if ((access & GMEM_ACCESS_WRITE) && h->ro)
		return -EACCES;
	to_end = region_end(h) - gpa;
	*r = h;
	*off = gpa - h->start;
	*avail = (u128)len < to_end ? len : (uint64_t)to_end;
	return 0;
}

int shadow_translate_exact(const struct shadow_map *m, uint64_t gpa,
			   uint64_t len, unsigned access,
			   struct shadow_region **r, uint64_t *off)
{
	struct shadow_region *h;
	uint64_t i;
	int err;

	if (!shadow_access_valid(access) || len == 0)
		return -EINVAL;
	err = shadow_check_range(m, gpa, len, access);
	if (err)
		return err;
	/* Fully mapped: every byte must be in gpa's region. */
	h = shadow_find(m, gpa);
	for (i = 0; i < len; i++)
		if (!region_holds(h, gpa + i))
			return -EXDEV;
	*r = h;
	*off = gpa - h->start;
	return 0;
}

/*
 * Typed accessors follow the bulk rules (holes and read-only bytes in
 * address order, all or nothing).  A value may straddle two adjacent
 * regions, aligned or not (gmem.h: "A value that straddles two adjacent
 * regions ... is still read or written correctly, all or nothing").
 */
static int typed_check(const struct shadow_map *m, uint64_t gpa, unsigned size,
		       bool write)
{
	if (shadow_range_check(gpa, size))
		return -EOVERFLOW;
	return scan(m, gpa, size, write);
}

static uint64_t compose(const uint8_t *b, unsigned size, enum shadow_endian e)
{
	uint64_t v = 0;
	unsigned i;

	switch (e) {
	case SHADOW_LE:
		for (i = 0; i < size; i++)
			v |= (uint64_t)b[i] << (8 * i);
		return v;
	case SHADOW_BE:
		for (i = 0; i < size; i++)
			v |= (uint64_t)b[i] << (8 * (size - 1 - i));
		return v;
	case SHADOW_HOST:
	default:
		switch (size) {
		case 1: return b[0];
		case 2: { uint16_t x; memcpy(&x, b, 2); return x; }
		case 4: { uint32_t x; memcpy(&x, b, 4); return x; }
		default: { uint64_t x; memcpy(&x, b, 8); return x; }
		}
	}
}

static void decompose(uint8_t *b, unsigned size, enum shadow_endian e,
		      uint64_t v)
{
	unsigned i;

	switch (e) {
	case SHADOW_LE:
		for (i = 0; i < size; i++)
			b[i] = (uint8_t)(v >> (8 * i));
		return;
	case SHADOW_BE:
		for (i = 0; i < size; i++)
			b[i] = (uint8_t)(v >> (8 * (size - 1 - i)));
		return;
	case SHADOW_HOST:
	default:
		switch (size) {
		case 1: b[0] = (uint8_t)v; return;
		case 2: { uint16_t x = (uint16_t)v; memcpy(b, &x, 2); return; }
		case 4: { uint32_t x = (uint32_t)v; memcpy(b, &x, 4); return; }
		default: memcpy(b, &v, 8); return;
		}
	}
}

int shadow_typed_read(const struct shadow_map *m, uint64_t gpa, unsigned size,
		      enum shadow_endian e, uint64_t *val)
{
	uint8_t b[8];
	int err = typed_check(m, gpa, size, false);

	if (err)
		return err;
	if (shadow_read(m, gpa, b, size))
		abort();
	*val = compose(b, size, e);
	return 0;
}

int shadow_typed_write(const struct shadow_map *m, uint64_t gpa, unsigned size,
		       enum shadow_endian e, uint64_t val)
{
	uint8_t b[8];
	int err = typed_check(m, gpa, size, true);

	if (err)
		return err;
	decompose(b, size, e, val);
	if (shadow_write(m, gpa, b, size))
		abort();
	return 0;
}

int shadow_atomic(const struct shadow_map *m, enum shadow_atomic_op op,
		  unsigned size, uint64_t gpa, uint64_t val,
		  uint64_t *expected, uint64_t *old)
{
	uint64_t mask = size == 8 ? UINT64_MAX : ((uint64_t)1 << (8 * size)) - 1;
	struct shadow_region *r;
	uint8_t *b;
	uint64_t cur, nv;
	unsigned i;

	if (gpa % size != 0)
		return -EINVAL;
	r = shadow_find(m, gpa);
	if (!r)
		return -EFAULT;
	for (i = 0; i < size; i++)
		if (!region_holds(r, gpa + i))
			return -EFAULT;
	if (op != SHADOW_ATOMIC_LOAD && r->ro)
		return -EACCES;
	b = byte_at(r, gpa);
	cur = compose(b, size, SHADOW_HOST);
	val &= mask;
	switch (op) {
	case SHADOW_ATOMIC_LOAD:
		*old = cur;
		return 0;
	case SHADOW_ATOMIC_STORE:
		nv = val;
		break;
	case SHADOW_ATOMIC_CMPXCHG:
		if (cur != (*expected & mask)) {
			*expected = cur;
			return -EAGAIN;
		}
		nv = val;
		break;
	case SHADOW_ATOMIC_ADD:
		*old = cur;
		nv = (cur + val) & mask;
		break;
	case SHADOW_ATOMIC_OR:
		*old = cur;
		nv = cur | val;
		break;
	case SHADOW_ATOMIC_AND:
		*old = cur;
		nv = cur & val;
		break;
	default:
		abort();
	}
	decompose(b, size, SHADOW_HOST, nv);
	for (i = 0; i < size; i++)
		mark(r, gpa + i); /* modified, even if to the same value */
	return 0;
}

/* -------- dirty tracking -------- */

int shadow_mark_dirty(const struct shadow_map *m, uint64_t gpa, uint64_t len)
{
	struct shadow_region *cache = NULL;
	uint64_t i;
	int err;

	if (shadow_range_check(gpa, len))
		return -EOVERFLOW;
	err = scan(m, gpa, len, false);
	if (err)
		return err;
	for (i = 0; i < len; i++)
		mark(find_cached(m, gpa + i, &cache), gpa + i);
	return 0;
}

int shadow_map_dirty(const struct shadow_map *m, enum shadow_dirty_op op,
		     uint64_t gpa, uint64_t len, uint64_t page_size,
		     uint64_t *bitmap, size_t nwords, int *alt)
{
	u128 end = (u128)gpa + len;
	uint64_t nbits, need, j, first, last;
	bool nobufs, mismatch = false;
	size_t i;

	*alt = 0;
	if (page_size == 0 || (page_size & (page_size - 1)) != 0 ||
	    gpa % page_size != 0 || len % page_size != 0)
		return -EINVAL;
	if (shadow_range_check(gpa, len))
		return -EOVERFLOW;
	if (len == 0)
		return 0;
	last = (uint64_t)(end - 1);
	nbits = len / page_size;
	need = nbits / 64 + (nbits % 64 != 0);
	nobufs = op != SHADOW_DIRTY_RESET && nwords < need;
	for (i = 0; i < m->n; i++) {
		const struct shadow_region *r = m->r[i];

		if (r->dps && r->dps != page_size && r->start <= last &&
		    shadow_region_last(r) >= gpa)
			mismatch = true;
	}
	if (nobufs && mismatch)
		*alt = -EINVAL;
	if (nobufs)
		return -ENOBUFS;
	if (mismatch)
		return -EINVAL;
	if (op != SHADOW_DIRTY_RESET)
		memset(bitmap, 0, need * sizeof(*bitmap));
	first = gpa / page_size;
	/*
	 * Region by region, frame by frame: every frame of a tracked region
	 * that lies in [first, first + nbits) is reported in bit
	 * frame - first (ORed with other regions sharing the frame) and, for
	 * harvest and reset, cleared.  (All tracked regions in the range use
	 * page_size, checked above.)
	 */
	for (i = 0; i < m->n; i++) {
		struct shadow_region *r = m->r[i];
		uint64_t k, k0, k1;

		/* Regions with another page size lie outside the range. */
		if (r->dps != page_size)
			continue;
		/* Its frames k0 <= k < k1 are those in [first, first + nbits). */
		k0 = first > r->first_frame ? first - r->first_frame : 0;
		k1 = r->nframes;
		if ((u128)r->first_frame + k1 > (u128)first + nbits)
			k1 = first + nbits > r->first_frame
				     ? first + nbits - r->first_frame
				     : 0;
		for (k = k0; k < k1; k++) {
			uint64_t frame = r->first_frame + k;

			if (frame < first || frame - first >= nbits)
				abort(); /* model bug */
			j = frame - first;
			if (r->dirty[k] && op != SHADOW_DIRTY_RESET)
				bitmap[j / 64] |= 1ULL << (j % 64);
			if (op != SHADOW_DIRTY_QUERY)
				r->dirty[k] = 0;
		}
	}
	return 0;
}

int shadow_region_dirty_harvest(struct shadow_region *r, uint64_t *bitmap,
				size_t nwords, size_t *nbits)
{
	uint64_t need, k;

	if (!r->dps)
		return -ENOENT;
	*nbits = r->nframes;
	need = r->nframes / 64 + (r->nframes % 64 != 0);
	if (nwords < need)
		return -ENOBUFS;
	memset(bitmap, 0, need * sizeof(*bitmap));
	for (k = 0; k < r->nframes; k++) {
		if (r->dirty[k])
			bitmap[k / 64] |= 1ULL << (k % 64);
		r->dirty[k] = 0;
	}
	return 0;
}
