/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * gen_seeds.c - write the fuzz_map seed corpus from readable descriptions.
 *
 *   cc -std=gnu11 -Ifuzz -Iinclude fuzz/gen_seeds.c -o gen_seeds
 *   ./gen_seeds corpus/fuzz_map        # writes <sha1> files, lists them
 *
 * Each seed below is a short program in the fuzz_map operation language
 * (fuzz/fuzz_input.h, fuzz/fuzz_map.c); the encoder mirrors the harness's
 * decoder, so the seeds keep their meaning when the format changes: edit
 * the format, re-run the generator, replace the corpus.  Files are named by
 * the SHA-1 of their content, as libFuzzer names corpus files; seeds whose
 * name starts with "crash-" are reproducers of library bugs and are written
 * as crash-<sha1>.  Slot numbers refer to successfully created regions in
 * creation order (the harness's pool).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "seedgen.h"

/* ------------------------------------------------------------------------ */
/* SHA-1 (FIPS 180-1), for libFuzzer-style file names                        */
/* ------------------------------------------------------------------------ */

/* ------------------------------------------------------------------------ */
/* Encoder                                                                   */
/* ------------------------------------------------------------------------ */

static uint8_t g_buf[4096];
static struct fdp_out g_out;
#define O (&g_out)

/* Selectors: mode plus up to two parameters, encoded as the harness reads. */
struct sel {
	int mode;
	uint64_t a;
	int64_t b;
};

#define A_RAW(v) ((struct sel){ FM_ADDR_RAW, (v), 0 })
#define A_START(slot, d) ((struct sel){ FM_ADDR_START, (slot), (d) })
#define A_END(slot, d) ((struct sel){ FM_ADDR_END, (slot), (d) })
#define A_INSIDE(slot, off) ((struct sel){ FM_ADDR_INSIDE, (slot), (off) })
#define A_LOW(v) ((struct sel){ FM_ADDR_LOW, (v), 0 })
#define A_TOP(d) ((struct sel){ FM_ADDR_TOP, (d), 0 }) /* UINT64_MAX - d */
#define A_PAGE(p, d) ((struct sel){ FM_ADDR_PAGE, (p), (d) })
#define A_4G(d) ((struct sel){ FM_ADDR_4G, 0, (d) })
#define A_PREV(d) ((struct sel){ FM_ADDR_PREV, 0, (d) })

#define L_SMALL(n) ((struct sel){ FM_LEN_SMALL, (n), 0 }) /* 0..16 */
#define L_U16(n) ((struct sel){ FM_LEN_U16, (n), 0 })
#define L_TO_END(slot, d) ((struct sel){ FM_LEN_TO_END, (slot), (d) })
#define L_TO_TOP(d) ((struct sel){ FM_LEN_TO_TOP, 0, (d) })
#define L_RAW(n) ((struct sel){ FM_LEN_RAW, (n), 0 })
#define L_BYTE(n) ((struct sel){ FM_LEN_BYTE, (n), 0 }) /* 1..256 */
#define L_POW2(n) ((struct sel){ FM_LEN_POW2, (n), 0 }) /* 1,2,4,8 */
#define L_SPAN(n) ((struct sel){ FM_LEN_SPAN, (n), 0 })

#define P_RAW(v) ((struct sel){ FM_PLACE_RAW, (v), 0 })
#define P_LOW(v) ((struct sel){ FM_PLACE_LOW, (v), 0 })
#define P_TOP(d) ((struct sel){ FM_PLACE_TOP, (d), 0 }) /* 2^64 - len - d */
#define P_AFTER(slot, d) ((struct sel){ FM_PLACE_AFTER, (slot), (d) })
#define P_BEFORE(slot, d) ((struct sel){ FM_PLACE_BEFORE, (slot), (d) })
#define P_OVERLAP(slot, off) ((struct sel){ FM_PLACE_OVERLAP, (slot), (off) })
#define P_PAGE(p, d) ((struct sel){ FM_PLACE_PAGE, (p), (d) })
#define P_HIGH(d) ((struct sel){ FM_PLACE_HIGH, (d), 0 }) /* UINT64_MAX - d */

static void put_addr(struct sel s)
{
	fdp_put_u8(O, (uint8_t)s.mode);
	switch (s.mode) {
	case FM_ADDR_RAW: fdp_put_u64(O, s.a); break;
	case FM_ADDR_START:
	case FM_ADDR_END: fdp_put_u8(O, (uint8_t)s.a); fdp_put_s8(O, (int)s.b); break;
	case FM_ADDR_INSIDE: fdp_put_u8(O, (uint8_t)s.a); fdp_put_u32(O, (uint32_t)s.b); break;
	case FM_ADDR_LOW:
	case FM_ADDR_TOP: fdp_put_u8(O, (uint8_t)s.a); break;
	case FM_ADDR_PAGE: fdp_put_u16(O, (uint16_t)s.a); fdp_put_s8(O, (int)s.b); break;
	default: fdp_put_s8(O, (int)s.b); break;
	}
}

static void put_len(struct sel s)
{
	fdp_put_u8(O, (uint8_t)s.mode);
	switch (s.mode) {
	case FM_LEN_SMALL: fdp_put_u8(O, (uint8_t)s.a); break;
	case FM_LEN_U16: fdp_put_u16(O, (uint16_t)s.a); break;
	case FM_LEN_TO_END: fdp_put_u8(O, (uint8_t)s.a); fdp_put_s8(O, (int)s.b); break;
	case FM_LEN_TO_TOP: fdp_put_s8(O, (int)s.b); break;
	case FM_LEN_RAW: fdp_put_u64(O, s.a); break;
	case FM_LEN_BYTE: fdp_put_u8(O, (uint8_t)(s.a - 1)); break;
	case FM_LEN_POW2: fdp_put_u8(O, (uint8_t)(s.a == 8 ? 3 : s.a == 4 ? 2 : s.a == 2 ? 1 : 0)); break;
	default: fdp_put_u32(O, (uint32_t)s.a); break;
	}
}

static void put_place(struct sel s)
{
	fdp_put_u8(O, (uint8_t)s.mode);
	switch (s.mode) {
	case FM_PLACE_RAW: fdp_put_u64(O, s.a); break;
	case FM_PLACE_LOW: fdp_put_u16(O, (uint16_t)s.a); break;
	case FM_PLACE_TOP: fdp_put_u8(O, (uint8_t)s.a); break;
	case FM_PLACE_AFTER:
	case FM_PLACE_BEFORE: fdp_put_u8(O, (uint8_t)s.a); fdp_put_s8(O, (int)s.b); break;
	case FM_PLACE_OVERLAP: fdp_put_u8(O, (uint8_t)s.a); fdp_put_u16(O, (uint16_t)s.b); break;
	case FM_PLACE_PAGE: fdp_put_u16(O, (uint16_t)s.a); fdp_put_s8(O, (int)s.b); break;
	default: fdp_put_u32(O, (uint32_t)s.a); break;
	}
}

/* Region length: the smallest encoding that holds @len. */
static void put_rlen(uint64_t len)
{
	if (len >= 1 && len <= 64) {
		fdp_put_u8(O, FM_RLEN_TINY);
		fdp_put_u8(O, (uint8_t)(len - 1));
	} else if (len <= 4096) {
		fdp_put_u8(O, FM_RLEN_SMALL);
		fdp_put_u16(O, (uint16_t)(len - 1));
	} else if (len <= 65536) {
		fdp_put_u8(O, FM_RLEN_BIG);
		fdp_put_u16(O, (uint16_t)(len - 1));
	} else {
		fdp_put_u8(O, FM_RLEN_PAGES);
		fdp_put_u8(O, (uint8_t)(len / 4096 - 1));
	}
}

/* Region kinds (op_region_new's kind byte). */
#define USER 0x01
#define ANON 0x00
#define RO 0x08
#define INS 0x10	/* insert into the current map */
#define DROP 0x20	/* drop the pool's reference once inserted */
#define NOGUARD 0x40	/* ANON: GMEM_REGION_NO_GUARD */
#define NORESERVE 0x80	/* ANON: GMEM_REGION_NORESERVE */

/* Access selector indexes. */
#define ACC_R 0
#define ACC_W 1
#define ACC_RW 2
#define ACC_NONE 5	/* 0: invalid */
#define ACC_BAD 6	/* unknown bit: invalid */

static void begin(unsigned cap)
{
	g_out.buf = g_buf;
	g_out.len = 0;
	g_out.cap = sizeof(g_buf);
	g_out.overflow = false;
	fdp_put_u8(O, (uint8_t)cap);
}

static void op(enum fm_op o)
{
	fdp_put_u8(O, (uint8_t)o);
}

/* Dirty-log byte of region_new: untracked, or tracked with a page size. */
#define UNTRACKED 0x00
#define DIRTY(dps) ((uint8_t)(1 | (dps_index(dps) << 1)))

static unsigned dps_index(uint64_t dps)
{
	static const uint64_t table[8] = FM_DPS_TABLE;
	unsigned i;

	for (i = 0; i < 8; i++)
		if (table[i] == dps)
			return i;
	abort();
}

static void region_dirty(uint8_t kind, uint64_t len, struct sel place,
			 uint8_t seed, uint8_t dirty)
{
	op(FM_OP_REGION_NEW);
	fdp_put_u8(O, kind);
	put_rlen(len);
	put_place(place);
	fdp_put_u8(O, seed);
	fdp_put_u8(O, dirty);
}

static void region(uint8_t kind, uint64_t len, struct sel place, uint8_t seed)
{
	region_dirty(kind, len, place, seed, UNTRACKED);
}

static void insert(unsigned slot)
{
	op(FM_OP_INSERT);
	fdp_put_u8(O, (uint8_t)slot);
}

/* Remove map entry @idx exactly, or with start/len deltas. */
static void remove_idx(unsigned idx, int dstart, int dlen, bool want_removed)
{
	op(FM_OP_REMOVE);
	fdp_put_u8(O, dstart || dlen ? 1 : 0);
	fdp_put_u8(O, (uint8_t)idx);
	if (dstart || dlen) {
		fdp_put_s8(O, dstart);
		fdp_put_s8(O, dlen);
	}
	fdp_put_u8(O, want_removed ? 0 : 1);
}

static void remove_raw(struct sel addr, struct sel len)
{
	op(FM_OP_REMOVE);
	fdp_put_u8(O, 2);
	put_addr(addr);
	put_len(len);
	fdp_put_u8(O, 0);
}

/*
 * Rebuild from the live slots in @mask (@nlive of them), shuffled by
 * @shuffle; @dup / @null_at >= 0 add a duplicate / NULL entry; @capmode
 * 0: default cap, 1: count + capb - 2, 2: capb % 8, 3: limit + (capb & 1).
 */
static void rebuild(uint32_t mask, unsigned nlive, uint8_t shuffle, int dup,
		    int null_at, unsigned capmode, uint8_t capb)
{
	unsigned i;

	op(FM_OP_REBUILD);
	fdp_put_u32(O, mask);
	fdp_put_u8(O, (uint8_t)((dup >= 0 ? 1 : 0) | (null_at >= 0 ? 2 : 0) |
				(capmode << 4)));
	for (i = nlive; i > 1; i--)
		fdp_put_u8(O, (uint8_t)(shuffle + i));
	if (dup >= 0 && nlive > 0)
		fdp_put_u8(O, (uint8_t)dup);
	if (null_at >= 0)
		fdp_put_u8(O, (uint8_t)null_at);
	if (capmode)
		fdp_put_u8(O, capb);
}

enum { SNAPSHOT, SWAP, DROP_OLD, VERIFY_MAPS };

static void maps(int mode, unsigned k)
{
	op(FM_OP_MAPS);
	fdp_put_u8(O, (uint8_t)mode);
	fdp_put_u8(O, (uint8_t)k);
}

static void acc3(enum fm_op o, struct sel addr, struct sel len, int access)
{
	op(o);
	put_addr(addr);
	put_len(len);
	fdp_put_u8(O, (uint8_t)access);
}

static void translate(struct sel a, struct sel l, int acc)
{
	acc3(FM_OP_TRANSLATE, a, l, acc);
}

static void translate_exact(struct sel a, struct sel l, int acc)
{
	acc3(FM_OP_TRANSLATE_EXACT, a, l, acc);
}

static void check_range(struct sel a, struct sel l, int acc)
{
	acc3(FM_OP_CHECK_RANGE, a, l, acc);
}

/* @null_buf: pass a NULL buffer (only when the length is 0). */
static void read_(struct sel a, struct sel l, bool null_buf)
{
	op(FM_OP_READ);
	put_addr(a);
	put_len(l);
	fdp_put_u8(O, null_buf);
}

static void read_partial(struct sel a, struct sel l)
{
	op(FM_OP_READ_PARTIAL);
	put_addr(a);
	put_len(l);
	fdp_put_u8(O, 0);
}

static void write_(struct sel a, struct sel l, uint8_t seed, bool null_buf)
{
	op(FM_OP_WRITE);
	put_addr(a);
	put_len(l);
	fdp_put_u8(O, seed);
	fdp_put_u8(O, null_buf);
}

static void write_partial(struct sel a, struct sel l, uint8_t seed)
{
	op(FM_OP_WRITE_PARTIAL);
	put_addr(a);
	put_len(l);
	fdp_put_u8(O, seed);
	fdp_put_u8(O, 0);
}

static void copy(struct sel dst, struct sel src, struct sel len)
{
	op(FM_OP_COPY);
	put_addr(dst);
	put_addr(src);
	put_len(len);
}

static void fill(struct sel a, struct sel l, uint8_t v)
{
	op(FM_OP_FILL);
	put_addr(a);
	put_len(l);
	fdp_put_u8(O, v);
}

static void zero(struct sel a, struct sel l)
{
	op(FM_OP_ZERO);
	put_addr(a);
	put_len(l);
}

/* capmode: 0 NULL/0, 1 non-NULL/0, 2 capb % 4, 3 cap 32, 4 NULL with cap
 * capb % 4 + 1 (-EINVAL), 5 capb % 32 (bit 7: NULL count). */
static void iovec(struct sel a, struct sel l, int acc, int capmode,
		  uint8_t capb)
{
	acc3(FM_OP_IOVEC, a, l, acc);
	fdp_put_u8(O, (uint8_t)capmode);
	fdp_put_u8(O, capb);
}

/* Typed variants. */
enum { T_U8, T_U16, T_U32, T_U64, T_LE16, T_LE32, T_LE64, T_BE16, T_BE32,
       T_BE64 };
#define ALIGN_DOWN 0x01
#define NULL_OUT 0x80

static void typed_read(int v, struct sel a, uint8_t opts)
{
	op(FM_OP_TYPED_READ);
	fdp_put_u8(O, (uint8_t)v);
	put_addr(a);
	fdp_put_u8(O, opts);
}

static void typed_write(int v, struct sel a, uint8_t opts, uint64_t val)
{
	op(FM_OP_TYPED_WRITE);
	fdp_put_u8(O, (uint8_t)v);
	put_addr(a);
	fdp_put_u8(O, opts);
	fdp_put_u64(O, val);
}

/* Atomics: op index (load, store, cmpxchg, add, or, and) and size. */
enum { AT_LOAD, AT_STORE, AT_CMPXCHG, AT_ADD, AT_OR, AT_AND };
#define AT_ALIGN 0x01
#define AT_NULL 0x02	 /* NULL out (load) / expected (cmpxchg) */
#define AT_NULL_OLD 0x04 /* NULL old for fetch ops (allowed) */
#define AT_MATCH 0x08	 /* cmpxchg: expect the current value */

static void atomic(int aop, unsigned size, struct sel a, uint8_t opts,
		   uint64_t val, uint64_t expected)
{
	op(FM_OP_ATOMIC);
	fdp_put_u8(O, (uint8_t)(aop * 3 + (size == 2 ? 0 : size == 4 ? 1 : 2)));
	put_addr(a);
	fdp_put_u8(O, opts);
	fdp_put_u64(O, val);
	fdp_put_u64(O, expected);
}

static void verify(void)
{
	op(FM_OP_VERIFY);
}

static void query_find(struct sel a)
{
	op(FM_OP_QUERY);
	fdp_put_u8(O, 0);
	put_addr(a);
}

static void query_region(unsigned idx)
{
	op(FM_OP_QUERY);
	fdp_put_u8(O, 1);
	fdp_put_u8(O, (uint8_t)idx);
}

enum { REF_PAIR, REF_DROP, REF_RETAKE };

static void region_ref(unsigned slot, int mode)
{
	op(FM_OP_REGION_REF);
	fdp_put_u8(O, (uint8_t)slot);
	fdp_put_u8(O, (uint8_t)mode);
}

static void bad_region(unsigned which, uint8_t b, unsigned len,
		       struct sel place)
{
	op(FM_OP_BAD_REGION);
	fdp_put_u8(O, (uint8_t)which);
	fdp_put_u8(O, b);
	fdp_put_u8(O, (uint8_t)(len - 1));
	put_place(place);
}

static void null_args(struct sel a)
{
	op(FM_OP_NULL_ARGS);
	put_addr(a);
}

/* Map-level dirty operation; page size: 0 = the host page size. */
#define DA_ALIGN_GPA 0x01
#define DA_ALIGN_LEN 0x02
#define DA_NULL_BITMAP 0x08
#define DA_NWORDS_EXACT 0x00
#define DA_NWORDS_SHORT 0x10	/* one word too few: -ENOBUFS */
#define DA_NWORDS_MAX 0x30

static void dirty_map(int mode, uint64_t ps, struct sel a, struct sel l,
		      uint8_t opts)
{
	op(FM_OP_DIRTY);
	fdp_put_u8(O, (uint8_t)mode);
	if (ps == 0) {
		fdp_put_u8(O, 3);
	} else {
		fdp_put_u8(O, 2);
		fdp_put_u64(O, ps);
	}
	put_addr(a);
	put_len(l);
	fdp_put_u8(O, opts);
}

static void dirty_mark(struct sel a, struct sel l)
{
	op(FM_OP_DIRTY);
	fdp_put_u8(O, FM_DIRTY_MARK);
	put_addr(a);
	put_len(l);
}

static void dirty_region_harvest(unsigned slot, uint8_t opts)
{
	op(FM_OP_DIRTY);
	fdp_put_u8(O, FM_DIRTY_REGION_HARVEST);
	fdp_put_u8(O, (uint8_t)slot);
	fdp_put_u8(O, opts);
}

static void dirty_page_size(unsigned slot)
{
	op(FM_OP_DIRTY);
	fdp_put_u8(O, FM_DIRTY_PAGE_SIZE);
	fdp_put_u8(O, (uint8_t)slot);
}

/* ------------------------------------------------------------------------ */
/* The seeds                                                                 */
/* ------------------------------------------------------------------------ */

static void s_empty_map(void)
{
	begin(0);
	read_(A_LOW(0), L_SMALL(1), false);
	read_(A_TOP(0), L_SMALL(0), true);
	write_(A_TOP(0), L_SMALL(1), 1, false);
	translate(A_LOW(0), L_SMALL(1), ACC_R);
	translate(A_LOW(0), L_SMALL(0), ACC_R);
	translate_exact(A_TOP(0), L_SMALL(1), ACC_W);
	check_range(A_TOP(0), L_SMALL(0), ACC_RW);
	check_range(A_TOP(0), L_SMALL(2), ACC_R);
	iovec(A_LOW(0), L_SMALL(0), ACC_R, 0, 0);
	iovec(A_LOW(0), L_SMALL(1), ACC_R, 3, 0);
	read_partial(A_LOW(0), L_SMALL(4));
	copy(A_LOW(0), A_LOW(16), L_SMALL(0));
	fill(A_TOP(0), L_SMALL(0), 0xff);
	typed_read(T_U8, A_LOW(0), 0);
	atomic(AT_LOAD, 8, A_LOW(0), 0, 0, 0);
	query_find(A_LOW(0));
	query_region(0);
	verify();
}

static void s_top_of_space(void)
{
	begin(0);
	region(USER | INS, 16, P_TOP(0), 1); /* [2^64-16, 2^64) */
	read_(A_TOP(0), L_SMALL(1), false);
	read_(A_TOP(15), L_SMALL(16), false);
	read_(A_TOP(15), L_SMALL(16), false);
	read_(A_TOP(0), L_SMALL(2), false);		/* -EOVERFLOW */
	read_(A_TOP(0), L_TO_TOP(0), true);		/* len 1 */
	read_(A_TOP(15), L_TO_TOP(1), false);		/* -EOVERFLOW */
	write_(A_TOP(3), L_TO_TOP(0), 2, false);
	write_partial(A_TOP(7), L_SMALL(9), 3);	/* -EOVERFLOW */
	write_partial(A_TOP(7), L_SMALL(8), 3);
	translate(A_TOP(0), L_SMALL(1), ACC_RW);
	translate(A_TOP(0), L_SMALL(2), ACC_R);	/* -EOVERFLOW */
	translate(A_TOP(15), L_RAW(UINT64_MAX), ACC_R);
	translate(A_TOP(15), L_TO_TOP(0), ACC_W);
	translate_exact(A_TOP(15), L_SMALL(16), ACC_RW);
	check_range(A_TOP(16), L_TO_TOP(0), ACC_R);	/* hole first */
	iovec(A_TOP(15), L_TO_TOP(0), ACC_RW, 3, 0);
	fill(A_TOP(8), L_TO_TOP(0), 0x5a);
	zero(A_TOP(1), L_SMALL(2));
	copy(A_TOP(15), A_TOP(7), L_SMALL(8));
	copy(A_TOP(7), A_TOP(15), L_SMALL(8));
	typed_read(T_U8, A_TOP(0), 0);
	typed_read(T_U64, A_TOP(7), 0);
	typed_read(T_BE64, A_TOP(6), 0);		/* -EOVERFLOW */
	typed_write(T_LE16, A_TOP(1), 0, 0xbeef);
	typed_write(T_U32, A_TOP(0), 0, 1);		/* -EOVERFLOW */
	atomic(AT_ADD, 8, A_TOP(7), 0, 5, 0);
	atomic(AT_CMPXCHG, 2, A_TOP(1), AT_MATCH, 7, 0);
	atomic(AT_LOAD, 4, A_TOP(3), 0, 0, 0);
	atomic(AT_LOAD, 4, A_TOP(2), 0, 0, 0);		/* misaligned */
	query_find(A_TOP(0));
	verify();
}

static void s_top_page_anon(void)
{
	begin(0);
	region(ANON | INS, 4096, P_TOP(0), 0);	/* anonymous, ends at 2^64 */
	region(USER | INS, 64, P_BEFORE(0, 0), 9);	/* adjacent below it */
	read_(A_START(0, -8), L_SMALL(16), false);
	write_(A_START(0, -3), L_SMALL(6), 4, false);
	typed_read(T_U64, A_START(0, -8), 0);
	typed_write(T_BE32, A_START(0, -2), 0, 0x01020304);
	iovec(A_START(1, 0), L_TO_TOP(0), ACC_W, 3, 0);
	translate(A_START(1, 60), L_TO_TOP(0), ACC_R);
	atomic(AT_OR, 8, A_TOP(7), 0, 0x8000000000000001ULL, 0);
	copy(A_START(1, 0), A_TOP(63), L_SMALL(16));
	verify();
}

static void s_adjacent(void)
{
	begin(0);
	region(USER | INS, 0x1000, P_PAGE(1, 0), 1);	   /* [0x1000,0x2000) */
	region(USER | INS, 0x1000, P_AFTER(0, 0), 2);	   /* [0x2000,0x3000) */
	read_(A_END(0, -4), L_SMALL(8), false);
	read_partial(A_END(0, -4), L_U16(0x3000));
	write_(A_END(0, -2), L_SMALL(4), 3, false);
	translate(A_END(0, -1), L_SMALL(4), ACC_R);	   /* avail 1 */
	translate(A_END(0, 0), L_SMALL(4), ACC_W);
	translate_exact(A_END(0, -1), L_SMALL(2), ACC_R); /* -EXDEV */
	translate_exact(A_END(0, -2), L_SMALL(2), ACC_R);
	iovec(A_START(0, 0), L_U16(0x2000), ACC_RW, 3, 0);
	iovec(A_START(0, 0), L_U16(0x2000), ACC_RW, 2, 1); /* -ENOBUFS */
	check_range(A_START(0, 0), L_U16(0x2000), ACC_RW);
	check_range(A_START(0, 0), L_U16(0x2001), ACC_RW); /* -EFAULT */
	typed_read(T_U32, A_END(0, -2), 0);		   /* unaligned straddle */
	typed_write(T_BE64, A_END(0, -3), 0, 0x1122334455667788ULL);
	typed_read(T_LE64, A_END(0, -8), 0);
	copy(A_END(0, -8), A_END(0, -16), L_SMALL(16));
	fill(A_END(0, -100), L_BYTE(200), 0x77);
	atomic(AT_LOAD, 8, A_END(0, -8), 0, 0, 0);
	atomic(AT_STORE, 8, A_END(0, 0), 0, 0x42, 0);
	verify();
}

static void s_unaligned_boundary(void)
{
	begin(0);
	region(USER | INS, 6, P_RAW(0x1000), 1);	/* [0x1000,0x1006) */
	region(USER | INS, 16, P_AFTER(0, 0), 2);	/* [0x1006,0x1016) */
	typed_read(T_U32, A_RAW(0x1005), 0);		/* unaligned straddle */
	typed_write(T_LE32, A_RAW(0x1003), 0, 0xcafef00d);
	typed_read(T_U16, A_RAW(0x1005), 0);
	typed_read(T_U32, A_RAW(0x1004), 0);		/* aligned straddle */
	typed_write(T_BE64, A_RAW(0x1000), 0, 0x0123456789abcdefULL);
	typed_read(T_U64, A_RAW(0x1000), 0);
	atomic(AT_LOAD, 4, A_RAW(0x1004), 0, 0, 0);	/* word leaves region */
	atomic(AT_LOAD, 8, A_RAW(0x1008), 0, 0, 0);
	atomic(AT_ADD, 2, A_RAW(0x1004), 0, 1, 0);
	read_(A_RAW(0x1000), L_SMALL(16), false);
	verify();
}

static void s_holes(void)
{
	begin(0);
	region(USER | INS, 0x100, P_PAGE(1, 0), 1);	   /* [0x1000,0x1100) */
	region(USER | INS, 0x100, P_AFTER(0, 0x10), 2);   /* hole of 0x10 */
	read_(A_END(0, -4), L_SMALL(8), false);		   /* -EFAULT */
	read_partial(A_END(0, -4), L_SMALL(8));		   /* done 4 */
	read_partial(A_END(0, 0), L_SMALL(8));		   /* -EFAULT */
	write_partial(A_END(0, -2), L_U16(0x200), 3);
	check_range(A_START(0, 0), L_TO_END(1, 0), ACC_R);
	iovec(A_START(0, 0), L_TO_END(1, 0), ACC_R, 3, 0);
	copy(A_START(1, 0), A_END(0, -8), L_SMALL(16));	   /* src hole */
	copy(A_END(0, -8), A_START(1, 0), L_SMALL(16));	   /* dst hole */
	copy(A_START(1, 0), A_START(0, 0), L_BYTE(0x100));
	fill(A_START(0, 0), L_TO_END(1, 0), 1);
	translate(A_END(0, 1), L_SMALL(1), ACC_R);
	translate_exact(A_END(0, -1), L_SMALL(2), ACC_R);
	typed_read(T_U16, A_END(0, -1), 0);
	query_find(A_END(0, 4));
	verify();
}

static void s_read_only(void)
{
	begin(0);
	region(USER | RO | INS, 0x80, P_PAGE(2, 0), 1);
	read_(A_START(0, 0), L_BYTE(0x80), false);
	write_(A_START(0, 0), L_SMALL(1), 2, false);		/* -EACCES */
	write_partial(A_START(0, 4), L_SMALL(4), 2);		/* -EACCES */
	fill(A_START(0, 0), L_SMALL(0), 3);			/* len 0: ok */
	fill(A_START(0, 0), L_SMALL(1), 3);
	zero(A_START(0, -1), L_SMALL(2));			/* hole first */
	typed_write(T_U8, A_START(0, 0), 0, 1);
	translate(A_START(0, 0), L_SMALL(1), ACC_W);
	translate(A_START(0, 0), L_SMALL(1), ACC_R);
	translate_exact(A_START(0, 0), L_SMALL(8), ACC_RW);
	iovec(A_START(0, 0), L_SMALL(8), ACC_W, 3, 0);
	check_range(A_START(0, 0), L_SMALL(8), ACC_R);
	atomic(AT_LOAD, 8, A_START(0, 0), 0, 0, 0);
	atomic(AT_STORE, 8, A_START(0, 0), 0, 1, 0);
	atomic(AT_CMPXCHG, 4, A_START(0, 0), AT_MATCH, 1, 0);
	atomic(AT_AND, 2, A_START(0, 0), 0, 0, 0);
	copy(A_START(0, 0), A_START(0, 8), L_SMALL(8));
	verify();
}

static void s_ro_order(void)
{
	begin(0);
	region(USER | INS, 0x40, P_PAGE(1, 0), 1);		/* RW */
	region(USER | RO | INS, 0x40, P_AFTER(0, 0), 2);	/* RO, adjacent */
	region(USER | INS, 0x40, P_AFTER(1, 8), 3);		/* RW after a hole */
	region(USER | RO | INS, 0x40, P_AFTER(2, 0), 4);	/* RO */
	write_(A_START(0, 0), L_TO_END(2, 0), 5, false);	/* RO first: -EACCES */
	write_(A_START(2, -4), L_TO_END(3, 0), 5, false);	/* hole first: -EFAULT */
	write_partial(A_START(0, 0x30), L_SMALL(16), 6);	/* stops at RO */
	write_partial(A_START(2, 0), L_U16(0x100), 6);
	fill(A_END(1, -1), L_SMALL(10), 7);
	check_range(A_START(0, 0), L_U16(0x100), ACC_W);
	check_range(A_START(0, 0), L_U16(0x100), ACC_R);
	iovec(A_START(2, 0), L_U16(0x80), ACC_RW, 3, 0);
	iovec(A_START(2, 0), L_U16(0x80), ACC_R, 3, 0);
	copy(A_START(1, 0), A_START(0, 0), L_SMALL(8));		/* dst RO */
	copy(A_START(0, 0), A_START(1, 0), L_BYTE(0x40));
	translate_exact(A_END(0, -4), L_SMALL(8), ACC_W);	/* -EACCES */
	translate_exact(A_END(0, -4), L_SMALL(8), ACC_R);	/* -EXDEV */
	typed_write(T_U32, A_END(0, -2), 0, 1);			/* -EACCES */
	verify();
}

static void s_cap(void)
{
	begin(2);
	region(USER | INS, 16, P_PAGE(1, 0), 1);
	region(USER | INS, 16, P_PAGE(2, 0), 2);
	region(USER | INS, 16, P_PAGE(3, 0), 3);		/* -E2BIG */
	region(USER | INS, 16, P_PAGE(1, 8), 4);		/* -E2BIG/-EEXIST */
	rebuild(0x7, 3, 0, -1, -1, 1, 1);			/* cap 2: -E2BIG */
	rebuild(0x7, 3, 0, -1, -1, 1, 2);			/* cap 3 */
	insert(3);						/* -E2BIG */
	rebuild(0x7, 3, 0, -1, -1, 3, 1);			/* limit + 1: -EINVAL */
	rebuild(0x7, 3, 0, -1, -1, 3, 0);			/* limit */
	rebuild(0x0, 0, 0, -1, -1, 2, 0);			/* empty, default cap */
	read_(A_PAGE(1, 0), L_SMALL(1), false);
	verify();
}

static void s_overlap(void)
{
	begin(0);
	region(USER | INS, 0x100, P_PAGE(4, 0), 1);
	region(USER | INS, 0x10, P_OVERLAP(0, 0x80), 2);	/* -EEXIST */
	region(USER | INS, 0x10, P_BEFORE(0, 1), 3);		/* last byte overlaps */
	region(USER | INS, 0x10, P_BEFORE(0, 0), 4);		/* adjacent: ok */
	region(USER | INS, 0x10, P_AFTER(0, -1), 5);		/* -EEXIST */
	insert(0);						/* same region twice */
	rebuild(0x1f, 5, 3, -1, -1, 0, 0);			/* overlaps: -EEXIST */
	rebuild(0x09, 2, 0, 0, -1, 0, 0);			/* duplicate: -EEXIST */
	rebuild(0x09, 2, 0, -1, 1, 0, 0);			/* NULL entry: -EINVAL */
	rebuild(0x09, 2, 1, -1, -1, 0, 0);
	verify();
}

static void s_insert_remove(void)
{
	begin(0);
	region(USER | INS, 0x20, P_PAGE(1, 0), 1);
	region(USER | INS, 0x20, P_PAGE(2, 0), 2);
	region(USER | INS, 0x20, P_PAGE(3, 0), 3);
	remove_idx(1, 1, 0, true);	/* inexact start: -ENOENT */
	remove_idx(1, 0, 1, true);	/* inexact len: -ENOENT */
	remove_idx(1, 0, -1, true);
	remove_idx(1, 0, 0, true);
	read_(A_PAGE(2, 0), L_SMALL(1), false);	/* now a hole */
	remove_idx(0, 0, 0, false);
	remove_raw(A_PAGE(3, 0), L_SMALL(0x10));
	remove_raw(A_TOP(0), L_SMALL(1));
	insert(1);
	remove_idx(5, 0, 0, true);
	remove_idx(0, 0, 0, true);
	remove_idx(0, 0, 0, true);	/* empty map: -ENOENT */
	verify();
}

static void s_snapshots(void)
{
	begin(0);
	region(USER | INS, 0x40, P_PAGE(1, 0), 1);
	maps(SNAPSHOT, 0);
	region(USER | INS | DROP, 0x40, P_AFTER(0, 0), 2);
	maps(SNAPSHOT, 0);
	remove_idx(0, 0, 0, true);
	read_(A_START(0, 0), L_SMALL(8), false);		/* hole now */
	maps(SWAP, 0);						/* first snapshot */
	write_(A_START(0, 0), L_SMALL(8), 3, false);		/* shared bytes */
	read_(A_START(1, 0), L_SMALL(8), false);		/* not in it */
	maps(SWAP, 1);
	read_(A_START(1, 0), L_SMALL(8), false);
	maps(VERIFY_MAPS, 0);
	maps(DROP_OLD, 0);
	maps(DROP_OLD, 0);
	maps(SNAPSHOT, 0);
	maps(SNAPSHOT, 0);
	maps(SNAPSHOT, 0);
	maps(SNAPSHOT, 0);
	maps(SNAPSHOT, 0);	/* rotates out the oldest */
	verify();
}

static void s_refcounts(void)
{
	begin(0);
	region(ANON | INS | DROP, 0x2000, P_PAGE(16, 0), 0);	/* map holds it */
	write_(A_START(0, 0), L_U16(0x2000), 1, false);
	maps(SNAPSHOT, 0);
	remove_idx(0, 0, 0, true);				/* old map holds it */
	maps(SWAP, 0);
	read_(A_START(0, 0), L_U16(0x2000), false);
	region_ref(0, REF_PAIR);
	region_ref(0, REF_RETAKE);
	region_ref(0, REF_DROP);
	maps(SWAP, 0);
	maps(DROP_OLD, 0);	/* last reference: unmapped */
	region(USER, 0x10, P_PAGE(1, 0), 2);
	region_ref(1, REF_PAIR);
	region_ref(1, REF_DROP);	/* gone */
	insert(1);			/* skipped: dead */
	verify();
}

static void s_anon_flags(void)
{
	begin(0);
	region(ANON | INS, 1, P_LOW(0), 0);
	region(ANON | NOGUARD | INS, 4097, P_PAGE(2, 3), 0);
	region(ANON | NORESERVE | RO | INS, 0x3000, P_PAGE(8, 0), 0);
	region(ANON | NOGUARD | NORESERVE | INS, 100, P_AFTER(1, 0), 0);
	read_(A_LOW(0), L_SMALL(1), false);
	read_(A_LOW(0), L_SMALL(2), false);
	write_(A_START(1, 0), L_U16(4097 + 100), 2, false);
	read_(A_START(2, 0), L_U16(0x3000), false);
	write_(A_START(2, 0), L_SMALL(1), 2, false);
	atomic(AT_LOAD, 8, A_START(2, 0), 0, 0, 0);
	typed_read(T_U64, A_END(1, -8), 0);
	verify();
}

static void s_copy_overlap(void)
{
	begin(0);
	region(USER | INS, 0x100, P_PAGE(1, 5), 1);
	region(USER | INS, 0x100, P_AFTER(0, 0), 2);
	copy(A_START(0, 1), A_START(0, 0), L_BYTE(0x80));	/* forward overlap */
	copy(A_START(0, 0), A_START(0, 1), L_BYTE(0x80));	/* backward */
	copy(A_END(0, -0x40), A_END(0, -0x80), L_BYTE(0x100));	/* across */
	copy(A_END(0, -0x80), A_END(0, -0x40), L_BYTE(0x100));
	copy(A_START(0, 0), A_START(0, 0), L_U16(0x200));	/* dst == src */
	copy(A_START(0, 0), A_START(1, 0), L_U16(0x201));	/* -EFAULT */
	copy(A_TOP(0), A_START(0, 0), L_SMALL(2));		/* -EOVERFLOW */
	copy(A_START(0, 0), A_TOP(0), L_SMALL(2));
	copy(A_START(0, 0), A_TOP(0), L_RAW(UINT64_MAX));
	verify();
}

static void s_iovec_caps(void)
{
	begin(0);
	region(USER | INS, 0x10, P_PAGE(1, 0), 1);
	region(USER | INS, 0x10, P_AFTER(0, 0), 2);
	region(USER | RO | INS, 0x10, P_AFTER(1, 0), 3);
	iovec(A_START(0, 0), L_SMALL(0), ACC_R, 0, 0);		/* 0 fragments */
	iovec(A_START(0, 0), L_BYTE(0x30), ACC_R, 0, 0);	/* -ENOBUFS, 3 */
	iovec(A_START(0, 0), L_BYTE(0x30), ACC_R, 1, 0);
	iovec(A_START(0, 0), L_BYTE(0x30), ACC_R, 2, 2);
	iovec(A_START(0, 0), L_BYTE(0x30), ACC_R, 2, 3);
	iovec(A_START(0, 0), L_BYTE(0x30), ACC_R, 4, 0);	/* NULL, cap 1 */
	iovec(A_START(0, 0), L_BYTE(0x30), ACC_R, 5, 0x80);	/* NULL count */
	iovec(A_START(0, 0), L_BYTE(0x30), ACC_W, 3, 0);	/* -EACCES */
	iovec(A_START(0, 0), L_BYTE(0x30), ACC_NONE, 3, 0);
	iovec(A_START(0, 0), L_BYTE(0x30), ACC_BAD, 3, 0);
	iovec(A_START(0, 8), L_BYTE(0x20), ACC_RW, 3, 0);
	iovec(A_START(0, 8), L_BYTE(0x29), ACC_R, 3, 0);	/* -EFAULT */
	iovec(A_TOP(0), L_SMALL(2), ACC_R, 3, 0);		/* -EOVERFLOW */
	verify();
}

static void s_typed_all(void)
{
	int v;

	begin(0);
	region(USER | INS, 0x40, P_PAGE(3, 0), 7);
	for (v = T_U8; v <= T_BE64; v++) {
		typed_write(v, A_INSIDE(0, 8 * (unsigned)v), ALIGN_DOWN,
			    0x0102030405060708ULL * (uint64_t)(unsigned)(v + 1));
		typed_read(v, A_INSIDE(0, 8 * (unsigned)v), ALIGN_DOWN);
		typed_read(v, A_INSIDE(0, 8 * (unsigned)v + 1), 0);
		typed_write(v, A_INSIDE(0, 8 * (unsigned)v + 3), 0, ~0ULL);
	}
	typed_read(T_U64, A_END(0, -7), 0);	/* -EFAULT */
	typed_read(T_U32, A_START(0, 0), NULL_OUT);
	typed_write(T_BE16, A_END(0, -1), 0, 0xffff);
	verify();
}

static void s_atomics_all(void)
{
	int aop;
	unsigned size;

	begin(0);
	region(USER | INS, 0x100, P_PAGE(5, 0), 3);
	for (aop = AT_LOAD; aop <= AT_AND; aop++)
		for (size = 2; size <= 8; size *= 2) {
			atomic(aop, size,
			       A_INSIDE(0, 0x10 * (unsigned)aop + size),
			       AT_ALIGN, 0x8899aabbccddeeffULL, 0);
			atomic(aop, size, A_INSIDE(0, 0x10 * (unsigned)aop + 1), 0,
			       1, 0);					/* misaligned */
		}
	atomic(AT_CMPXCHG, 8, A_START(0, 0), AT_MATCH, 0x1234, 0);
	atomic(AT_CMPXCHG, 8, A_START(0, 0), 0, 0x1234, 0x1234);
	atomic(AT_CMPXCHG, 4, A_START(0, 0), AT_NULL, 0, 0);
	atomic(AT_LOAD, 2, A_START(0, 0), AT_NULL, 0, 0);
	atomic(AT_ADD, 8, A_START(0, 8), AT_NULL_OLD, 1, 0);
	atomic(AT_ADD, 2, A_START(0, 0x20), 0, 0xffff, 0);	/* wraps */
	atomic(AT_LOAD, 8, A_END(0, -4), AT_ALIGN, 0, 0);
	atomic(AT_LOAD, 8, A_END(0, 0), 0, 0, 0);		/* hole */
	verify();
}

static void s_bad_regions(void)
{
	unsigned i;

	begin(0);
	for (i = 0; i < 13; i++)
		bad_region(i, (uint8_t)(i * 37), 16 + i, P_PAGE(i, (int)i));
	bad_region(0, 57, 8, P_LOW(0));
	bad_region(5, 0, 8, P_LOW(3));
	bad_region(6, 0, 64, P_LOW(0));
	region(USER | INS, 4096, P_HIGH(0), 1);		/* -EOVERFLOW */
	region(USER | INS, 1, P_HIGH(0), 1);		/* the last byte */
	read_(A_TOP(0), L_SMALL(1), false);
	verify();
}

static void s_null_args(void)
{
	begin(0);
	null_args(A_LOW(0));
	region(USER | INS, 0x10, P_PAGE(1, 0), 1);
	null_args(A_START(0, 0));
	null_args(A_TOP(0));
	verify();
}

static void s_wraparound(void)
{
	begin(0);
	region(USER | INS, 0x100, P_LOW(0), 1);	/* [0, 0x100) */
	region(USER | INS, 0x100, P_TOP(0), 2);	/* [2^64-0x100, 2^64) */
	read_(A_TOP(0), L_SMALL(2), false);		/* does not wrap to 0 */
	read_(A_TOP(0x7f), L_RAW(UINT64_MAX), false);
	read_partial(A_TOP(0xff), L_RAW(UINT64_MAX));	/* -EOVERFLOW */
	read_partial(A_TOP(0xff), L_TO_TOP(0));		/* done 0x100 */
	write_partial(A_TOP(0xff), L_TO_TOP(1), 1);
	check_range(A_LOW(0), L_RAW(UINT64_MAX), ACC_R);	/* -EFAULT */
	check_range(A_LOW(2), L_RAW(UINT64_MAX), ACC_R);	/* -EOVERFLOW */
	check_range(A_TOP(0), L_SMALL(0), ACC_R);
	check_range(A_TOP(0), L_SMALL(0), ACC_NONE);
	translate(A_TOP(0), L_RAW(0), ACC_R);			/* -EINVAL */
	translate(A_LOW(0), L_RAW(UINT64_MAX), ACC_R);		/* avail 0x100 */
	translate(A_LOW(0), L_RAW(0), ACC_R);
	fill(A_TOP(0), L_RAW(UINT64_MAX), 1);			/* -EOVERFLOW */
	fill(A_LOW(0), L_RAW(UINT64_MAX), 1);			/* -EFAULT */
	copy(A_LOW(0), A_TOP(0xff), L_BYTE(0x100));
	copy(A_TOP(0xff), A_LOW(0), L_BYTE(0x100));
	iovec(A_LOW(0), L_RAW(UINT64_MAX), ACC_R, 3, 0);
	typed_read(T_U16, A_TOP(0), 0);
	read_(A_4G(-1), L_SMALL(2), false);
	verify();
}

static void s_page_boundaries(void)
{
	begin(0);
	region(USER | INS, 0x2000, P_PAGE(0x10, 0), 1);
	region(USER | INS, 0x1000, P_PAGE(0x12, 0), 2);
	region(USER | INS, 0x1000, P_PAGE(0x14, -1), 3);
	read_(A_PAGE(0x11, -4), L_SMALL(8), false);
	write_(A_PAGE(0x12, -4), L_SMALL(8), 1, false);
	read_(A_PAGE(0x13, -4), L_SMALL(8), false);	/* hole at 0x13000 */
	read_partial(A_PAGE(0x13, -4), L_SMALL(8));
	iovec(A_PAGE(0x10, 0), L_U16(0x3000), ACC_RW, 3, 0);
	translate(A_PAGE(0x14, -1), L_U16(0x1000), ACC_R);
	typed_read(T_U64, A_PAGE(0x14, -1), 0);
	verify();
}

static void s_big_region(void)
{
	begin(0);
	region(USER | INS, 0x10000, P_PAGE(0x100, 0), 1);
	region(ANON | INS, 0x10000, P_AFTER(0, 0), 0);
	fill(A_START(0, 0), L_SPAN(0x20000), 0xee);
	read_(A_START(0, 0), L_SPAN(0x20000), false);
	copy(A_START(0, 0x100), A_START(1, 0), L_U16(0x8000));
	write_(A_START(0, 0x7fff), L_U16(0xffff), 2, false);
	iovec(A_START(0, 0), L_SPAN(0x20000), ACC_RW, 2, 2);
	zero(A_START(0, 1), L_SPAN(0x1fffe));
	verify();
}

static void s_queries(void)
{
	begin(0);
	query_region(0);
	region(USER | INS, 0x10, P_PAGE(3, 0), 1);
	region(USER | INS, 0x10, P_PAGE(1, 0), 2);
	region(USER | INS, 0x10, P_TOP(0), 3);
	query_region(0);
	query_region(2);
	query_region(3);	/* -ENOENT */
	query_find(A_START(1, 0));
	query_find(A_END(1, -1));
	query_find(A_END(1, 0));
	query_find(A_TOP(0));
	query_find(A_LOW(0));
	verify();
}

static void s_rebuild_shuffle(void)
{
	unsigned i;

	begin(0);
	for (i = 0; i < 6; i++)
		region(USER, 0x20 + i, P_PAGE(6 - i, (int)i), (uint8_t)i);
	rebuild(0x3f, 6, 0x17, -1, -1, 0, 0);
	write_(A_START(5, 0), L_U16(0x6000), 1, false);		/* -EFAULT */
	write_partial(A_START(5, 0), L_U16(0x6000), 1);
	rebuild(0x2a, 3, 0x41, -1, -1, 1, 2);
	rebuild(0x3f, 6, 0x03, -1, -1, 2, 5);			/* -E2BIG */
	rebuild(0x00, 0, 0, -1, -1, 0, 0);
	region(USER | INS, 0x10, P_LOW(0), 7);
	verify();
}

static void s_many_regions(void)
{
	unsigned i;

	begin(0);
	region(USER | INS, 8, P_RAW(0x10000), 1);
	for (i = 1; i < 16; i++)
		region(USER | INS | (i % 3 == 0 ? RO : 0), 1 + i,
		       P_AFTER(i - 1, (int)(i % 4 == 0)), (uint8_t)i);
	read_(A_START(0, 0), L_U16(0x100), false);
	read_partial(A_START(0, 0), L_U16(0x100));
	write_partial(A_START(0, 0), L_U16(0x100), 2);
	iovec(A_START(0, 0), L_TO_END(3, 0), ACC_R, 3, 0);
	iovec(A_START(4, 0), L_TO_END(7, 0), ACC_R, 3, 0);
	copy(A_START(4, 0), A_START(0, 0), L_TO_END(1, 0));
	verify();
}

static void s_dirty(void)
{
	begin(0);
	/* page-size tracked, 64-byte tracked adjacent, untracked, RO tracked */
	region_dirty(USER | INS, 0x3000, P_PAGE(0x10, 0), 1, DIRTY(0));
	region_dirty(USER | INS, 0x100, P_AFTER(0, 0), 2, DIRTY(64));
	region(USER | INS, 0x100, P_AFTER(1, 0), 3);
	region_dirty(USER | RO | INS, 0x80, P_AFTER(2, 0x40), 4, DIRTY(64));
	region_dirty(USER | INS, 0x40, P_TOP(0), 5, DIRTY(1));
	dirty_page_size(0);
	dirty_page_size(2);
	write_(A_INSIDE(0, 0x0ff0), L_SMALL(16), 1, false);	/* 2 pages */
	fill(A_END(0, -8), L_SMALL(16), 0xaa);		/* both regions */
	typed_write(T_U64, A_START(1, 0x40), 0, 1);
	atomic(AT_CMPXCHG, 8, A_START(1, 0x80), 0, 1, 0x1234); /* fails */
	atomic(AT_OR, 4, A_START(1, 0xc0), 0, 0, 0);	/* marks anyway */
	write_(A_START(3, 0), L_SMALL(4), 1, false);	/* -EACCES */
	copy(A_START(2, 0), A_START(0, 0), L_SMALL(16));
	read_(A_START(0, 0x2000), L_SMALL(16), false);	/* never marks */
	write_partial(A_TOP(3), L_TO_TOP(0), 6);
	dirty_map(FM_DIRTY_QUERY, 0, A_START(0, 0), L_U16(0x3000), 0);
	dirty_map(FM_DIRTY_QUERY, 0, A_START(0, 0), L_U16(0x4000), 0);
	dirty_map(FM_DIRTY_QUERY, 64, A_START(1, 0), L_BYTE(0x100), 0);
	dirty_map(FM_DIRTY_QUERY, 64, A_START(1, 0), L_BYTE(0x100),
		  DA_NWORDS_SHORT);
	dirty_map(FM_DIRTY_QUERY, 64, A_START(1, 1), L_BYTE(0x100), 0);
	dirty_map(FM_DIRTY_QUERY, 64, A_START(1, 0), L_BYTE(0x100),
		  DA_NULL_BITMAP);
	dirty_map(FM_DIRTY_HARVEST, 64, A_START(0, 0), L_U16(0x3100), 0);
	dirty_map(FM_DIRTY_HARVEST, 64, A_START(1, 0), L_BYTE(0x100), 0);
	dirty_map(FM_DIRTY_HARVEST, 64, A_START(1, 0), L_BYTE(0x100), 0);
	dirty_map(FM_DIRTY_QUERY, 1, A_TOP(0x3f), L_TO_TOP(0), 0);
	dirty_map(FM_DIRTY_RESET, 1, A_TOP(0x3f), L_TO_TOP(0), 0);
	dirty_map(FM_DIRTY_RESET, 3, A_LOW(0), L_SMALL(3), 0);
	dirty_mark(A_START(3, 0), L_SMALL(1));		/* RO: marks */
	dirty_mark(A_END(2, 0), L_SMALL(2));		/* hole: -EFAULT */
	dirty_mark(A_END(0, -1), L_SMALL(2));
	dirty_region_harvest(0, DA_NWORDS_EXACT);
	dirty_region_harvest(1, DA_NWORDS_SHORT);
	dirty_region_harvest(1, DA_NWORDS_MAX);
	dirty_region_harvest(2, 0);			/* -ENOENT */
	dirty_region_harvest(3, 0x40);			/* NULL bitmap */
	dirty_region_harvest(4, 0);
	maps(SNAPSHOT, 0);
	remove_idx(0, 0, 0, true);
	fill(A_START(1, 0), L_SMALL(1), 1);
	maps(SWAP, 0);					/* bits follow regions */
	dirty_map(FM_DIRTY_QUERY, 64, A_START(1, 0), L_BYTE(0x100), 0);
	verify();
}

struct seed {
	const char *name;
	void (*fn)(void);
};

static const struct seed seeds[] = {
	{ "empty_map", s_empty_map },
	{ "top_of_space", s_top_of_space },
	{ "top_page_anon", s_top_page_anon },
	{ "adjacent", s_adjacent },
	{ "unaligned_boundary", s_unaligned_boundary },
	{ "holes", s_holes },
	{ "read_only", s_read_only },
	{ "ro_order", s_ro_order },
	{ "cap", s_cap },
	{ "overlap", s_overlap },
	{ "insert_remove", s_insert_remove },
	{ "snapshots", s_snapshots },
	{ "refcounts", s_refcounts },
	{ "anon_flags", s_anon_flags },
	{ "copy_overlap", s_copy_overlap },
	{ "iovec_caps", s_iovec_caps },
	{ "typed_all", s_typed_all },
	{ "atomics_all", s_atomics_all },
	{ "bad_regions", s_bad_regions },
	{ "null_args", s_null_args },
	{ "wraparound", s_wraparound },
	{ "page_boundaries", s_page_boundaries },
	{ "big_region", s_big_region },
	{ "queries", s_queries },
	{ "rebuild_shuffle", s_rebuild_shuffle },
	{ "many_regions", s_many_regions },
	{ "dirty", s_dirty },
};

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : ".";
	bool with_crashes = argc > 2 && strcmp(argv[2], "--with-crashes") == 0;
	size_t i;

	for (i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		bool crash = strncmp(seeds[i].name, "crash-", 6) == 0;
		char hex[41], path[4096];
		FILE *fp;

		if (crash && !with_crashes)
			continue;
		seeds[i].fn();
		if (g_out.overflow) {
			fprintf(stderr, "%s: seed too long\n", seeds[i].name);
			return 1;
		}
		seedgen_sha1_hex(g_out.buf, g_out.len, hex);
		snprintf(path, sizeof(path), "%s/%s%s", dir,
			 crash ? "crash-" : "", hex);
		fp = fopen(path, "wb");
		if (!fp || fwrite(g_out.buf, 1, g_out.len, fp) != g_out.len ||
		    fclose(fp) != 0) {
			fprintf(stderr, "%s: %s\n", path, strerror(errno));
			return 1;
		}
		printf("%s%s  %4zu bytes  %s\n", crash ? "crash-" : "", hex,
		       g_out.len, seeds[i].name);
	}
	return 0;
}
