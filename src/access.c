/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * access.c - bounds-checked bulk access to guest memory through a map.
 *
 * Every function first validates the whole range with gmem__span() (holes,
 * permissions, 2^64 wrap), then moves bytes fragment by fragment.  Maps are
 * immutable, so what was validated is exactly what is accessed.
 */
#include "dirty.h"

#include <string.h>

GMEM_INTERNAL int gmem__span(const struct gmem_map *m, uint64_t gpa,
			     uint64_t len, unsigned access, uint64_t *ok,
			     size_t *first)
{
	uint64_t done = 0;
	size_t i = gmem__lookup(m, gpa);

	*ok = 0;
	if (i == GMEM_NO_SLOT)
		return -EFAULT;
	*first = i;
	for (;;) {
		const struct gmem_slot *s = &m->hot.slots[i];
		uint64_t cur = gpa + done, tail_m1 = gmem__slot_tail_m1(s, cur);

		if ((access & GMEM_ACCESS_WRITE) && !gmem__slot_writable(s)) {
			*ok = done;
			return -EACCES;
		}
		if (len - done - 1 <= tail_m1) {
			*ok = len;
			return 0;
		}
		/* The range goes on past this region (so s->last < 2^64-1). */
		done += tail_m1 + 1;
		if (i + 1 >= m->hot.count || m->hot.starts[i + 1] != s->last + 1) {
			*ok = done;
			return -EFAULT;
		}
		i++;
	}
}

/* Shared argument checks and whole-range validation. */
static int span_all(const struct gmem_map *m, uint64_t gpa, uint64_t len,
		    unsigned access, size_t *first)
{
	uint64_t ok;

	if (gmem_range_check(gpa, len))
		return -EOVERFLOW;
	return gmem__span(m, gpa, len, access, &ok, first);
}

/* Checks shared by the translations; *slot is gpa's region. */
static inline int translate_start(const struct gmem_map *m, uint64_t gpa,
				  uint64_t len, unsigned access, void **host,
				  const struct gmem_slot **slot)
{
	size_t i;

	if (unlikely(!m || !host || len == 0 || !gmem__access_valid(access)))
		return -EINVAL;
	if (unlikely(gmem_range_check(gpa, len)))
		return -EOVERFLOW;
	i = gmem__lookup(m, gpa);
	if (unlikely(i == GMEM_NO_SLOT))
		return -EFAULT;
	*slot = &m->hot.slots[i];
	return 0;
}

GMEM_EXPORT int gmem_translate(const gmem_map *map, uint64_t gpa, uint64_t len,
			       unsigned access, void **host, uint64_t *avail)
{
	const struct gmem_slot *s;
	uint64_t tail_m1;
	int err;

	if (!avail)
		return -EINVAL;
	err = translate_start(map, gpa, len, access, host, &s);
	if (err)
		return err;
	if ((access & GMEM_ACCESS_WRITE) && !gmem__slot_writable(s))
		return -EACCES;
	tail_m1 = gmem__slot_tail_m1(s, gpa);
	*host = gmem__slot_host(s, gpa);
	*avail = len - 1 <= tail_m1 ? len : tail_m1 + 1;
	return 0;
}

GMEM_EXPORT int gmem_translate_exact(const gmem_map *map, uint64_t gpa,
				     uint64_t len, unsigned access, void **host)
{
	const struct gmem_slot *s;
	size_t first;
	int err;

	err = translate_start(map, gpa, len, access, host, &s);
	if (err)
		return err;
	if (likely(len - 1 <= gmem__slot_tail_m1(s, gpa))) {
		if ((access & GMEM_ACCESS_WRITE) && !gmem__slot_writable(s))
			return -EACCES;
		*host = gmem__slot_host(s, gpa);
		return 0;
	}
	/* Holes and permissions anywhere in the range come before -EXDEV. */
	err = span_all(map, gpa, len, access, &first);
	return err ? err : -EXDEV;
}

GMEM_EXPORT int gmem_check_range(const gmem_map *map, uint64_t gpa,
				 uint64_t len, unsigned access)
{
	size_t first;

	if (!map || !gmem__access_valid(access))
		return -EINVAL;
	if (len == 0)
		return 0;
	return span_all(map, gpa, len, access, &first);
}

/* Copy a validated range out of (to_guest == 0) or into guest memory. */
static void transfer(const struct gmem_map *m, size_t first, uint64_t gpa,
		     uint8_t *buf, uint64_t len, int to_guest)
{
	struct gmem_frag f;
	uint8_t *host;
	uint64_t n;

	gmem__frag_init(&f, m, first, gpa, len);
	while ((n = gmem__frag_next(&f, &host)) != 0) {
		if (to_guest) {
			memmove(host, buf, n);
			gmem__slot_mark(f.cur, f.cur_gpa, n);
		} else {
			memmove(buf, host, n);
		}
		buf += n;
	}
}

static int rw_all(const struct gmem_map *m, uint64_t gpa, uint8_t *buf,
		  size_t len, unsigned access)
{
	size_t first;
	int err;

	if (!m || (!buf && len))
		return -EINVAL;
	if (len == 0)
		return 0;
	err = span_all(m, gpa, len, access, &first);
	if (err)
		return err;
	transfer(m, first, gpa, buf, len, access == GMEM_ACCESS_WRITE);
	return 0;
}

GMEM_EXPORT int gmem_read(const gmem_map *map, uint64_t gpa, void *buf,
			  size_t len)
{
	return rw_all(map, gpa, buf, len, GMEM_ACCESS_READ);
}

GMEM_EXPORT int gmem_write(const gmem_map *map, uint64_t gpa, const void *buf,
			   size_t len)
{
	/* transfer() only reads buf when writing to the guest. */
	return rw_all(map, gpa, (uint8_t *)(uintptr_t)buf, len,
		      GMEM_ACCESS_WRITE);
}

static int rw_partial(const struct gmem_map *m, uint64_t gpa, uint8_t *buf,
		      size_t len, size_t *done, unsigned access)
{
	uint64_t ok;
	size_t first;
	int err;

	if (!m || !done || (!buf && len))
		return -EINVAL;
	if (gmem_range_check(gpa, len))
		return -EOVERFLOW;
	if (len == 0) {
		*done = 0;
		return 0;
	}
	err = gmem__span(m, gpa, len, access, &ok, &first);
	if (ok == 0)
		return err;
	transfer(m, first, gpa, buf, ok, access == GMEM_ACCESS_WRITE);
	*done = ok;
	return 0;
}

GMEM_EXPORT int gmem_read_partial(const gmem_map *map, uint64_t gpa, void *buf,
				  size_t len, size_t *done)
{
	return rw_partial(map, gpa, buf, len, done, GMEM_ACCESS_READ);
}

GMEM_EXPORT int gmem_write_partial(const gmem_map *map, uint64_t gpa,
				   const void *buf, size_t len, size_t *done)
{
	return rw_partial(map, gpa, (uint8_t *)(uintptr_t)buf, len, done,
			  GMEM_ACCESS_WRITE);
}

/*
 * Host pointer for gpa and how many bytes are contiguous from it forwards
 * (fwd) or backwards including it (back), both minus one.  gpa was
 * validated as mapped.
 */
static uint8_t *host_at(const struct gmem_map *m, uint64_t gpa, uint64_t *fwd,
			uint64_t *back, const struct gmem_slot **slot)
{
	const struct gmem_slot *s = &m->hot.slots[gmem__lookup(m, gpa)];

	*fwd = gmem__slot_tail_m1(s, gpa);
	*back = gpa - s->start;
	*slot = s;
	return gmem__slot_host(s, gpa);
}

static uint64_t min3(uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t m = a < b ? a : b;

	return m < c ? m : c;
}

GMEM_EXPORT int gmem_copy(const gmem_map *map, uint64_t dst, uint64_t src,
			  uint64_t len)
{
	const struct gmem_slot *ss, *ds;
	uint64_t fs, bs, fd, bd, n;
	uint8_t *hs, *hd;
	size_t first;
	int err;

	if (!map)
		return -EINVAL;
	if (len == 0)
		return 0;
	if (gmem_range_check(src, len) || gmem_range_check(dst, len))
		return -EOVERFLOW;
	err = span_all(map, src, len, GMEM_ACCESS_READ, &first);
	if (!err)
		err = span_all(map, dst, len, GMEM_ACCESS_WRITE, &first);
	if (err)
		return err;
	/*
	 * memmove across fragments: when dst is above src the ranges may
	 * overlap with dst ahead, so copy from the top down; otherwise bottom
	 * up.  Each chunk lies in one source and one destination region, and
	 * memmove handles overlap inside a chunk.  Counts are kept "minus one"
	 * so a chunk ending at 2^64 never needs the value 2^64.
	 */
	if (dst <= src) {
		while (len) {
			hs = host_at(map, src, &fs, &bs, &ss);
			hd = host_at(map, dst, &fd, &bd, &ds);
			n = min3(len - 1, fs, fd) + 1;
			memmove(hd, hs, n);
			gmem__slot_mark(ds, dst, n);
			len -= n;
			if (len) {
				src += n;
				dst += n;
			}
		}
	} else {
		while (len) {
			uint64_t s_last = src + (len - 1), d_last = dst + (len - 1);

			hs = host_at(map, s_last, &fs, &bs, &ss);
			hd = host_at(map, d_last, &fd, &bd, &ds);
			n = min3(len - 1, bs, bd) + 1;
			memmove(hd - (n - 1), hs - (n - 1), n);
			gmem__slot_mark(ds, d_last - (n - 1), n);
			len -= n;
		}
	}
	return 0;
}

GMEM_EXPORT int gmem_fill(const gmem_map *map, uint64_t gpa, uint64_t len,
			  uint8_t value)
{
	struct gmem_frag f;
	uint8_t *host;
	size_t first;
	uint64_t n;
	int err;

	if (!map)
		return -EINVAL;
	if (len == 0)
		return 0;
	err = span_all(map, gpa, len, GMEM_ACCESS_WRITE, &first);
	if (err)
		return err;
	gmem__frag_init(&f, map, first, gpa, len);
	while ((n = gmem__frag_next(&f, &host)) != 0) {
		memset(host, value, n);
		gmem__slot_mark(f.cur, f.cur_gpa, n);
	}
	return 0;
}

GMEM_EXPORT int gmem_zero(const gmem_map *map, uint64_t gpa, uint64_t len)
{
	return gmem_fill(map, gpa, len, 0);
}

GMEM_EXPORT int gmem_iovec(const gmem_map *map, uint64_t gpa, uint64_t len,
			   unsigned access, struct iovec *iov, size_t iov_cap,
			   size_t *iov_count)
{
	struct gmem_frag f;
	uint8_t *host;
	size_t first, need = 0, i = 0;
	uint64_t n;
	int err;

	if (!map || !iov_count || (!iov && iov_cap) ||
	    !gmem__access_valid(access))
		return -EINVAL;
	if (gmem_range_check(gpa, len))
		return -EOVERFLOW;
	if (len == 0) {
		*iov_count = 0;
		return 0;
	}
	err = span_all(map, gpa, len, access, &first);
	if (err)
		return err;
	gmem__frag_init(&f, map, first, gpa, len);
	while (gmem__frag_next(&f, &host) != 0)
		need++;
	if (need > iov_cap) {
		*iov_count = need;
		return -ENOBUFS;
	}
	gmem__frag_init(&f, map, first, gpa, len);
	while ((n = gmem__frag_next(&f, &host)) != 0) {
		iov[i].iov_base = host;
		iov[i].iov_len = n;
		i++;
	}
	*iov_count = need;
	return 0;
}
