/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * fuzz_input.h - a tiny data provider for libgmem's fuzz harnesses, and the
 * byte encoding of the fuzz_map operation stream.
 *
 * The provider consumes the input from the front, in order: every helper
 * takes the next bytes, little-endian.  When the input runs out every helper
 * returns 0 (false), so any byte string is a valid input and its meaning
 * never depends on bytes that are not there.
 *
 * Header-only (static inline), dependency-free; shared by the harness
 * (fuzz/fuzz_map.c) and the seed generator (fuzz/gen_seeds.c), which writes
 * the same encoding with the fdp_put_*() helpers at the bottom.
 */
#ifndef GMEM_FUZZ_INPUT_H
#define GMEM_FUZZ_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct fdp {
	const uint8_t *data;
	size_t size;
	size_t pos;
};

static inline void fdp_init(struct fdp *p, const uint8_t *data, size_t size)
{
	p->data = data;
	p->size = size;
	p->pos = 0;
}

/* Bytes not consumed yet. */
static inline size_t fdp_remaining(const struct fdp *p)
{
	return p->size - p->pos;
}

static inline bool fdp_empty(const struct fdp *p)
{
	return p->pos >= p->size;
}

/* Next @n bytes (n <= 8) as a little-endian integer; missing bytes are 0. */
static inline uint64_t fdp_uint(struct fdp *p, unsigned n)
{
	uint64_t v = 0;
	unsigned i;

	for (i = 0; i < n; i++) {
		uint64_t b = 0;

		if (p->pos < p->size)
			b = p->data[p->pos++];
		v |= b << (8 * i);
	}
	return v;
}

static inline uint8_t fdp_u8(struct fdp *p)
{
	return (uint8_t)fdp_uint(p, 1);
}

static inline uint16_t fdp_u16(struct fdp *p)
{
	return (uint16_t)fdp_uint(p, 2);
}

static inline uint32_t fdp_u32(struct fdp *p)
{
	return (uint32_t)fdp_uint(p, 4);
}

static inline uint64_t fdp_u64(struct fdp *p)
{
	return fdp_uint(p, 8);
}

/* One byte; true when its low bit is set. */
static inline bool fdp_bool(struct fdp *p)
{
	return (fdp_u8(p) & 1) != 0;
}

/* One byte as a signed delta in [-128, 127]. */
static inline int64_t fdp_s8(struct fdp *p)
{
	return (int64_t)(int8_t)fdp_u8(p);
}

/* How many bytes fdp_range() consumes for a span of hi - lo. */
static inline unsigned fdp_range_bytes(uint64_t span)
{
	unsigned n = 0;

	while (span) {
		n++;
		span >>= 8;
	}
	return n;
}

/*
 * A value in [lo, hi] (lo <= hi, otherwise lo is returned).  Consumes just
 * enough bytes to cover hi - lo (none when lo == hi); the raw value is
 * reduced modulo hi - lo + 1, so the raw encoding of v is v - lo.
 */
static inline uint64_t fdp_range(struct fdp *p, uint64_t lo, uint64_t hi)
{
	uint64_t span, raw;

	if (hi <= lo)
		return lo;
	span = hi - lo;
	raw = fdp_uint(p, fdp_range_bytes(span));
	if (span == UINT64_MAX)
		return lo + raw;
	return lo + raw % (span + 1);
}

/* Copy up to @n bytes into @dst, zero-filling what is missing. */
static inline void fdp_bytes(struct fdp *p, void *dst, size_t n)
{
	size_t avail = fdp_remaining(p);
	size_t take = n < avail ? n : avail;

	memcpy(dst, p->data + p->pos, take);
	memset((uint8_t *)dst + take, 0, n - take);
	p->pos += take;
}

/* ------------------------------------------------------------------------ */
/* Writer side (seed generator)                                              */
/* ------------------------------------------------------------------------ */

struct fdp_out {
	uint8_t *buf;
	size_t len;
	size_t cap;
	bool overflow;
};

static inline void fdp_put_uint(struct fdp_out *o, uint64_t v, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		if (o->len < o->cap)
			o->buf[o->len++] = (uint8_t)(v >> (8 * i));
		else
			o->overflow = true;
	}
}

static inline void fdp_put_u8(struct fdp_out *o, uint8_t v)
{
	fdp_put_uint(o, v, 1);
}

static inline void fdp_put_u16(struct fdp_out *o, uint16_t v)
{
	fdp_put_uint(o, v, 2);
}

static inline void fdp_put_u32(struct fdp_out *o, uint32_t v)
{
	fdp_put_uint(o, v, 4);
}

static inline void fdp_put_u64(struct fdp_out *o, uint64_t v)
{
	fdp_put_uint(o, v, 8);
}

static inline void fdp_put_s8(struct fdp_out *o, int v)
{
	fdp_put_u8(o, (uint8_t)(int8_t)v);
}

static inline void fdp_put_range(struct fdp_out *o, uint64_t lo, uint64_t hi,
				 uint64_t v)
{
	if (hi <= lo)
		return;
	fdp_put_uint(o, v - lo, fdp_range_bytes(hi - lo));
}

/* ------------------------------------------------------------------------ */
/* fuzz_map operation stream                                                 */
/* ------------------------------------------------------------------------ */

/*
 * An input is a sequence of operations, each an opcode byte (taken modulo
 * FM_OP_COUNT) followed by its arguments; see fuzz/fuzz_map.c for each
 * operation's argument list.  Addresses, lengths and region placements are
 * "selectors": a mode byte (modulo the mode count) followed by the mode's
 * parameters, so that most inputs hit region boundaries, holes and the top
 * of the address space rather than random 64-bit values.
 */
enum fm_op {
	FM_OP_REGION_NEW = 0,	/* create a region, maybe insert it */
	FM_OP_INSERT = 1,	/* gmem_map_insert() a pooled region */
	FM_OP_REMOVE = 2,	/* gmem_map_remove() exact / inexact / raw */
	FM_OP_REBUILD = 3,	/* gmem_map_new() from a shuffled subset */
	FM_OP_MAPS = 4,		/* snapshot / swap / drop / verify old maps */
	FM_OP_TRANSLATE = 5,
	FM_OP_TRANSLATE_EXACT = 6,
	FM_OP_CHECK_RANGE = 7,
	FM_OP_READ = 8,
	FM_OP_WRITE = 9,
	FM_OP_READ_PARTIAL = 10,
	FM_OP_WRITE_PARTIAL = 11,
	FM_OP_COPY = 12,
	FM_OP_FILL = 13,
	FM_OP_ZERO = 14,
	FM_OP_IOVEC = 15,
	FM_OP_TYPED_READ = 16,
	FM_OP_TYPED_WRITE = 17,
	FM_OP_ATOMIC = 18,
	FM_OP_VERIFY = 19,	/* compare every region's contents */
	FM_OP_QUERY = 20,	/* gmem_map_find / region / last_addr */
	FM_OP_REGION_REF = 21,	/* ref/free pairs, drop the pool's reference */
	FM_OP_BAD_REGION = 22,	/* invalid gmem_region_new() configs */
	FM_OP_NULL_ARGS = 23,	/* NULL handles and pointers */
	FM_OP_DIRTY = 24,	/* dirty bitmaps: query/harvest/reset/mark */
	FM_OP_COUNT = 25
};

/* Address selector: mode byte % FM_ADDR_COUNT, then the parameters shown. */
enum fm_addr_mode {
	FM_ADDR_RAW = 0,	 /* u64 */
	FM_ADDR_START = 1,	 /* u8 slot, s8 delta: slot start + delta */
	FM_ADDR_END = 2,	 /* u8 slot, s8 delta: slot start+len + delta (mod 2^64) */
	FM_ADDR_INSIDE = 3,	 /* u8 slot, u32 off: start + off % len */
	FM_ADDR_LOW = 4,	 /* u8: that value */
	FM_ADDR_TOP = 5,	 /* u8 d: UINT64_MAX - d */
	FM_ADDR_PAGE = 6,	 /* u16 page, s8 delta: page * 4096 + delta */
	FM_ADDR_4G = 7,		 /* s8 delta: 2^32 + delta */
	FM_ADDR_PREV = 8,	 /* s8 delta: previous address + delta */
	FM_ADDR_COUNT = 9
};

/* Length selector: mode byte % FM_LEN_COUNT, then the parameters shown. */
enum fm_len_mode {
	FM_LEN_SMALL = 0,	/* u8 % 17: 0..16 */
	FM_LEN_U16 = 1,		/* u16 */
	FM_LEN_TO_END = 2,	/* u8 slot, s8 d: slot end - gpa + d */
	FM_LEN_TO_TOP = 3,	/* s8 d: 2^64 - gpa + d (mod 2^64) */
	FM_LEN_RAW = 4,		/* u64 */
	FM_LEN_BYTE = 5,	/* u8: 1..256 */
	FM_LEN_POW2 = 6,	/* u8 % 4: 1, 2, 4, 8 */
	FM_LEN_SPAN = 7,	/* u32 % 2^21 */
	FM_LEN_COUNT = 8
};

/* Region placement: mode byte % FM_PLACE_COUNT, then the parameters shown. */
enum fm_place_mode {
	FM_PLACE_RAW = 0,	/* u64 */
	FM_PLACE_LOW = 1,	/* u16 */
	FM_PLACE_TOP = 2,	/* u8 d: 2^64 - len - d (ends exactly at 2^64 when d = 0) */
	FM_PLACE_AFTER = 3,	/* u8 slot, s8 d: slot end + d */
	FM_PLACE_BEFORE = 4,	/* u8 slot, s8 d: slot start - len + d */
	FM_PLACE_OVERLAP = 5,	/* u8 slot, u16 off: slot start + off % slot len */
	FM_PLACE_PAGE = 6,	/* u16 page, s8 d: page * 4096 + d */
	FM_PLACE_HIGH = 7,	/* u32 d: UINT64_MAX - d (usually overflows) */
	FM_PLACE_COUNT = 8
};

/* Region length: mode byte % FM_RLEN_COUNT, then the parameters shown. */
enum fm_rlen_mode {
	FM_RLEN_TINY = 0,	/* u8 % 64 + 1 */
	FM_RLEN_SMALL = 1,	/* u16 % 4096 + 1 */
	FM_RLEN_BIG = 2,	/* u16 + 1 (up to 64 KiB) */
	FM_RLEN_PAGES = 3,	/* u8 % 16 + 1 pages of 4096 */
	FM_RLEN_COUNT = 4
};

/* FM_OP_DIRTY sub-operations (byte % FM_DIRTY_COUNT). */
enum fm_dirty_mode {
	FM_DIRTY_QUERY = 0,	 /* page size, addr, len, u8 opts [, u8 nwords] */
	FM_DIRTY_HARVEST = 1,	 /* same */
	FM_DIRTY_RESET = 2,	 /* same */
	FM_DIRTY_MARK = 3,	 /* addr, len */
	FM_DIRTY_REGION_HARVEST = 4, /* u8 slot, u8 opts [, u8 nwords] */
	FM_DIRTY_PAGE_SIZE = 5,	 /* u8 slot */
	FM_DIRTY_COUNT = 6
};

/* Dirty page sizes chosen by region_new's dirty byte: (v >> 1) % 8. */
#define FM_DPS_TABLE { 0, 0, 4096, 64, 512, 8, 1, 65536 }

#endif /* GMEM_FUZZ_INPUT_H */
