/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * gen_dirty_seeds.c - write the seed corpus of fuzz/fuzz_dirty.c.
 *
 *   gen_dirty_seeds OUTDIR
 *
 * Every seed below is built from a readable description with helpers that
 * emit exactly the encoding fuzz_dirty.c decodes (the constants come from
 * fuzz_dirty.c itself, included with FUZZ_DIRTY_ENCODING_ONLY).  Each file
 * is named by the SHA-1 of its content, as libFuzzer names corpus entries;
 * the generator prints "sha1  name: description" for every seed.
 *
 * Build: cc -Ifuzz fuzz/gen_dirty_seeds.c -o gen_dirty_seeds
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "seedgen.h"
#define FUZZ_DIRTY_ENCODING_ONLY
#include "fuzz_dirty.c"

/* ------------------------------------------------------------------------ */
/* Encoding helpers                                                          */
/* ------------------------------------------------------------------------ */

static void u8(struct fdp_out *o, unsigned v) { fdp_put_u8(o, (uint8_t)v); }
static void u16(struct fdp_out *o, unsigned v) { fdp_put_u16(o, (uint16_t)v); }
static void u64(struct fdp_out *o, uint64_t v) { fdp_put_u64(o, v); }
static void s8(struct fdp_out *o, int v) { fdp_put_s8(o, v); }

/* Dirty page size indexes into FD_PS_TABLE. */
enum { PS_HOST = 0, PS_1 = 1, PS_8 = 2, PS_64 = 3, PS_512 = 4, PS_4096 = 5,
       PS_2 = 6, PS_64K = 7 };

/* Region kinds. */
#define TRACKED 0x08u
#define RO FD_KIND_RO_MASK
#define ANON FD_KIND_ANON

/* Region descriptor: kind, a length (1..12288), then a placement. */
static void region(struct fdp_out *o, unsigned kind, unsigned len)
{
	u8(o, kind);
	u8(o, FD_RLEN_ANY);
	u16(o, len - 1);
}
static void at_after(struct fdp_out *o, int d) { u8(o, FD_PLACE_AFTER); s8(o, d); }
static void at_low(struct fdp_out *o, unsigned gpa) { u8(o, FD_PLACE_LOW); u16(o, gpa / 8); }
static void at_top(struct fdp_out *o, unsigned d) { u8(o, FD_PLACE_TOP); u8(o, d); }
static void at_raw(struct fdp_out *o, uint64_t gpa) { u8(o, FD_PLACE_RAW); u64(o, gpa); }
static void at_before(struct fdp_out *o, unsigned k, int d)
{
	u8(o, FD_PLACE_BEFORE);
	u8(o, k);
	s8(o, d);
}

static void op(struct fdp_out *o, unsigned code) { u8(o, code); }
static void cur(struct fdp_out *o) { u8(o, 0); }
static void old(struct fdp_out *o, unsigned k) { u8(o, k * 4 + 3); }

/* Addresses. */
static void a_start(struct fdp_out *o, unsigned k, int d) { u8(o, FD_ADDR_START); u8(o, k); s8(o, d); }
static void a_end(struct fdp_out *o, unsigned k, int d) { u8(o, FD_ADDR_END); u8(o, k); s8(o, d); }
static void a_in(struct fdp_out *o, unsigned k, unsigned off) { u8(o, FD_ADDR_INSIDE); u8(o, k); u16(o, off); }
static void a_frame(struct fdp_out *o, unsigned k, unsigned f) { u8(o, FD_ADDR_FRAME); u8(o, k); u8(o, f); }
static void a_top(struct fdp_out *o, unsigned d) { u8(o, FD_ADDR_TOP); u8(o, d); }
static void a_low(struct fdp_out *o, unsigned v) { u8(o, FD_ADDR_LOW); u16(o, v); }

/* Lengths. */
static void l_small(struct fdp_out *o, unsigned n) { u8(o, FD_LEN_SMALL); u8(o, n); }
static void l_n(struct fdp_out *o, unsigned n) { u8(o, FD_LEN_BYTE); u8(o, n - 1); } /* 1..256 */
static void l_u16(struct fdp_out *o, unsigned n) { u8(o, FD_LEN_U16); u16(o, n); }
static void l_to_end(struct fdp_out *o, unsigned k, int d) { u8(o, FD_LEN_TO_END); u8(o, k); s8(o, d); }
static void l_to_top(struct fdp_out *o, int d) { u8(o, FD_LEN_TO_TOP); s8(o, d); }
static void l_raw(struct fdp_out *o, uint64_t v) { u8(o, FD_LEN_RAW); u64(o, v); }
static void l_frames(struct fdp_out *o, unsigned k, unsigned n) { u8(o, FD_LEN_FRAMES); u8(o, k); u8(o, n - 1); }

/* Map-level dirty calls: sub, map, page size, start, length, bitmap. */
static void ps_of(struct fdp_out *o, unsigned k) { u8(o, FD_PSEL_REGION); u8(o, k); }
static void ps_pow2(struct fdp_out *o, unsigned s) { u8(o, FD_PSEL_POW2); u8(o, s); }
static void ps_raw(struct fdp_out *o, uint64_t v) { u8(o, FD_PSEL_RAW); u64(o, v); }
static void g_region(struct fdp_out *o, unsigned k) { u8(o, FD_MGPA_REGION); u8(o, k); }
static void g_shift(struct fdp_out *o, unsigned k, int d) { u8(o, FD_MGPA_SHIFT); u8(o, k); s8(o, d); }
static void g_addr_top(struct fdp_out *o, unsigned d) { u8(o, FD_MGPA_ADDR); a_top(o, d); }
static void g_top(struct fdp_out *o, unsigned n) { u8(o, FD_MGPA_TOP); u8(o, n); }
static void n_frames(struct fdp_out *o, unsigned n) { u8(o, FD_MLEN_FRAMES); u8(o, n); }
static void n_cover(struct fdp_out *o, unsigned k) { u8(o, FD_MLEN_COVER); u8(o, k); }
static void n_to_top(struct fdp_out *o) { u8(o, FD_MLEN_TO_TOP); }
static void n_many(struct fdp_out *o, unsigned n) { u8(o, FD_MLEN_MANY); u16(o, n); }
static void w_exact(struct fdp_out *o) { u8(o, FD_NW_EXACT); }
static void w_short(struct fdp_out *o) { u8(o, FD_NW_SHORT); }
static void w_more(struct fdp_out *o, unsigned k) { u8(o, FD_NW_MORE); u8(o, k); }
static void w_small(struct fdp_out *o, unsigned k) { u8(o, FD_NW_SMALL); u8(o, k); }

static void md(struct fdp_out *o, unsigned sub) { op(o, FD_OP_MAP_DIRTY); u8(o, sub); cur(o); }

/* Common operations. */
static void w_write(struct fdp_out *o) { op(o, FD_OP_WRITE); cur(o); }
static void harvest_region(struct fdp_out *o, unsigned k)
{
	op(o, FD_OP_REGION_HARVEST);
	u8(o, k);
	w_exact(o);
}
static void verify(struct fdp_out *o) { op(o, FD_OP_VERIFY); }

/* ------------------------------------------------------------------------ */
/* Seeds                                                                     */
/* ------------------------------------------------------------------------ */

/* Three regions: two adjacent tracked (4 KiB pages), a hole, one untracked. */
static void seed_basic(struct fdp_out *o)
{
	u8(o, 3 - 1);
	region(o, TRACKED | PS_4096, 0x3000); at_low(o, 0x10000);
	region(o, ANON | TRACKED | PS_4096, 0x2000); at_after(o, 0);
	region(o, 0, 0x100); at_after(o, 16);
	w_write(o); a_end(o, 0, -10); l_n(o, 20); u8(o, 1);   /* crosses 0 -> 1 */
	md(o, FD_MD_QUERY); ps_of(o, 0); g_region(o, 0); n_cover(o, 1); w_exact(o);
	md(o, FD_MD_HARVEST); ps_of(o, 0); g_region(o, 0); n_cover(o, 1); w_exact(o);
	w_write(o); a_in(o, 2, 5); l_n(o, 30); u8(o, 2);     /* untracked */
	w_write(o); a_end(o, 1, -5); l_n(o, 30); u8(o, 3);   /* into the hole */
	harvest_region(o, 0);
	harvest_region(o, 1);
	harvest_region(o, 2);                                 /* -ENOENT */
	verify(o);
}

/* One-byte dirty pages: every byte its own bit. */
static void seed_byte_pages(struct fdp_out *o)
{
	u8(o, 1 - 1);
	region(o, TRACKED | PS_1, 200); at_low(o, 0x1000);
	op(o, FD_OP_TYPED_WRITE); cur(o); u8(o, 0); u8(o, 0); a_in(o, 0, 3); u64(o, 0xab);
	op(o, FD_OP_TYPED_WRITE); cur(o); u8(o, 4); u8(o, 0); a_in(o, 0, 9); u64(o, 0x1234);
	op(o, FD_OP_TYPED_WRITE); cur(o); u8(o, 8); u8(o, 0); a_in(o, 0, 21); u64(o, 0xdeadbeef);
	op(o, FD_OP_TYPED_WRITE); cur(o); u8(o, 3); u8(o, 1); a_in(o, 0, 40); u64(o, 0x0102030405060708ULL);
	md(o, FD_MD_QUERY); ps_of(o, 0); g_region(o, 0); n_cover(o, 0); w_exact(o);
	md(o, FD_MD_HARVEST); ps_of(o, 0); g_shift(o, 0, 8); n_frames(o, 64); w_exact(o);
	op(o, FD_OP_FILL); cur(o); a_in(o, 0, 100); l_n(o, 70); u8(o, 0x5a);
	md(o, FD_MD_RESET); ps_of(o, 0); g_shift(o, 0, 120); n_frames(o, 10); w_exact(o);
	md(o, FD_MD_QUERY); ps_of(o, 0); g_region(o, 0); n_cover(o, 0); w_more(o, 2);
	harvest_region(o, 0);
	verify(o);
}

/* Adjacent regions with different page sizes; small bitmaps. */
static void seed_mismatch(struct fdp_out *o)
{
	u8(o, 2 - 1);
	region(o, TRACKED | PS_8, 256); at_low(o, 0x2000);
	region(o, TRACKED | PS_64, 256); at_after(o, 0);
	w_write(o); a_start(o, 0, 0); l_u16(o, 512); u8(o, 7);
	md(o, FD_MD_HARVEST); ps_of(o, 0); g_region(o, 0); n_cover(o, 1); w_exact(o); /* -EINVAL */
	md(o, FD_MD_QUERY); ps_of(o, 1); g_region(o, 1); n_cover(o, 1); w_exact(o);
	md(o, FD_MD_QUERY); ps_of(o, 0); g_region(o, 0); n_cover(o, 0); w_short(o);  /* -ENOBUFS */
	md(o, FD_MD_QUERY); ps_of(o, 0); g_region(o, 0); n_cover(o, 0); w_small(o, 0);
	md(o, FD_MD_RESET); ps_of(o, 1); g_region(o, 0); n_cover(o, 1); w_exact(o);   /* -EINVAL */
	md(o, FD_MD_QUERY); ps_raw(o, 24); g_region(o, 0); n_frames(o, 2); w_exact(o);/* not 2^n */
	md(o, FD_MD_QUERY); ps_of(o, 0); g_shift(o, 0, 0); u8(o, FD_MLEN_ANY); l_small(o, 5); w_exact(o);
	op(o, FD_OP_REGION_HARVEST); u8(o, 0); w_short(o);                             /* -ENOBUFS */
	op(o, FD_OP_REGION_HARVEST); u8(o, 1); w_small(o, 0);
	harvest_region(o, 0);
	harvest_region(o, 1);
	verify(o);
}

/* A region ending at 2^64 and its neighbour just below. */
static void seed_top(struct fdp_out *o)
{
	u8(o, 2 - 1);
	region(o, ANON | TRACKED | PS_512, 0x1000); at_top(o, 0);
	region(o, TRACKED | PS_512, 0x800); at_before(o, 0, 0);
	op(o, FD_OP_TYPED_WRITE); cur(o); u8(o, 3); u8(o, 0); a_top(o, 7); u64(o, 0x1122334455667788ULL);
	op(o, FD_OP_TYPED_WRITE); cur(o); u8(o, 9); u8(o, 0); a_top(o, 3); u64(o, 1);  /* -EOVERFLOW */
	op(o, FD_OP_FILL); cur(o); a_top(o, 100); l_to_top(o, 0); u8(o, 0xee);
	op(o, FD_OP_FILL); cur(o); a_top(o, 100); l_to_top(o, 1); u8(o, 0xee);     /* -EOVERFLOW */
	w_write(o); a_end(o, 1, -4); l_n(o, 8); u8(o, 9);
	md(o, FD_MD_QUERY); ps_of(o, 0); g_top(o, 15); n_to_top(o); w_exact(o);
	md(o, FD_MD_HARVEST); ps_of(o, 0); g_top(o, 0); n_to_top(o); w_exact(o);
	md(o, FD_MD_QUERY); ps_of(o, 0); g_top(o, 0); n_frames(o, 2); w_exact(o);  /* -EOVERFLOW */
	op(o, FD_OP_MARK); cur(o); a_top(o, 0); l_small(o, 1);
	op(o, FD_OP_MARK); cur(o); a_top(o, 0); l_small(o, 2);                     /* -EOVERFLOW */
	op(o, FD_OP_ATOMIC); cur(o); u8(o, 2 + 12); u8(o, 1); a_top(o, 7); u64(o, 5); u8(o, 0);
	md(o, FD_MD_HARVEST); ps_of(o, 1); g_region(o, 1); n_to_top(o); w_exact(o);
	md(o, FD_MD_QUERY); ps_of(o, 1); g_addr_top(o, 0xff); n_frames(o, 1); w_exact(o); /* misaligned */
	harvest_region(o, 0);
	harvest_region(o, 1);
	verify(o);
}

/* Atomics: every operation, failing compare-exchange, read-only, alignment. */
static void seed_atomics(struct fdp_out *o)
{
	unsigned w;

	u8(o, 2 - 1);
	region(o, TRACKED | PS_64, 512); at_low(o, 0x4000);
	region(o, ANON | RO | TRACKED | PS_64, 256); at_after(o, 0);
	for (w = 0; w < 3; w++) {
		unsigned base = w * FD_ATOMIC_OPS;

		op(o, FD_OP_ATOMIC); cur(o); u8(o, base + 0); u8(o, 1); a_in(o, 0, 64 + w * 64); u64(o, 0x1111 * (w + 1)); u8(o, 0);
		op(o, FD_OP_ATOMIC); cur(o); u8(o, base + 1); u8(o, 1); a_in(o, 0, 128 + w * 64); u64(o, 7); u8(o, 0); /* fails */
		md(o, FD_MD_HARVEST); ps_of(o, 0); g_region(o, 0); n_cover(o, 0); w_exact(o);
		op(o, FD_OP_ATOMIC); cur(o); u8(o, base + 1); u8(o, 1); a_in(o, 0, 192 + w * 64); u64(o, 8); u8(o, 1); /* succeeds */
		op(o, FD_OP_ATOMIC); cur(o); u8(o, base + 2); u8(o, 1); a_in(o, 0, 256 + w * 8); u64(o, 3); u8(o, 0);
		op(o, FD_OP_ATOMIC); cur(o); u8(o, base + 3); u8(o, 1); a_in(o, 0, 320 + w * 8); u64(o, 0x80); u8(o, 2);
		op(o, FD_OP_ATOMIC); cur(o); u8(o, base + 4); u8(o, 1); a_in(o, 0, 384 + w * 8); u64(o, 0xf0f0); u8(o, 0);
		op(o, FD_OP_ATOMIC); cur(o); u8(o, base + 5); u8(o, 1); a_in(o, 0, 448 + w * 8); u64(o, 0); u8(o, 0);
		op(o, FD_OP_ATOMIC); cur(o); u8(o, base + 2); u8(o, 1); a_in(o, 1, 16); u64(o, 1); u8(o, 0);   /* -EACCES */
		op(o, FD_OP_ATOMIC); cur(o); u8(o, base + 5); u8(o, 1); a_in(o, 1, 16); u64(o, 0); u8(o, 0);   /* load ok */
		op(o, FD_OP_ATOMIC); cur(o); u8(o, base + 0); u8(o, 0); a_in(o, 0, 1); u64(o, 1); u8(o, 0);    /* -EINVAL */
		op(o, FD_OP_ATOMIC); cur(o); u8(o, base + 0); u8(o, 1); a_end(o, 1, 0); u64(o, 1); u8(o, 0);   /* hole */
	}
	md(o, FD_MD_QUERY); ps_of(o, 0); g_region(o, 0); n_cover(o, 1); w_exact(o);
	harvest_region(o, 0);
	harvest_region(o, 1);
	verify(o);
}

/* gmem_read_fd / _exact from a non-blocking pipe: short, EAGAIN, EOF. */
static void seed_pipe(struct fdp_out *o)
{
	u8(o, 3 - 1);
	region(o, TRACKED | PS_8, 1024); at_low(o, 0x8000);
	region(o, RO | TRACKED | PS_8, 64); at_after(o, 0);
	region(o, ANON | TRACKED | PS_1, 300); at_after(o, 8);
	op(o, FD_OP_PIPE_FEED); u8(o, FD_FEED_DATA); u16(o, 100); u8(o, 1);
	op(o, FD_OP_PIPE_READ); cur(o); u8(o, 0); a_in(o, 0, 3); l_n(o, 50);
	op(o, FD_OP_PIPE_READ); cur(o); u8(o, 1); a_in(o, 0, 500); l_n(o, 100);  /* EAGAIN, 50 */
	op(o, FD_OP_PIPE_READ); cur(o); u8(o, 0); a_in(o, 0, 0); l_n(o, 10);     /* EAGAIN, 0 */
	op(o, FD_OP_PIPE_FEED); u8(o, FD_FEED_DATA); u16(o, 40); u8(o, 2);
	op(o, FD_OP_PIPE_READ); cur(o); u8(o, 0); a_in(o, 1, 0); l_n(o, 10);     /* -EACCES */
	op(o, FD_OP_PIPE_READ); cur(o); u8(o, 0); a_end(o, 1, 0); l_n(o, 4);     /* -EFAULT */
	op(o, FD_OP_PIPE_READ); cur(o); u8(o, 0); a_start(o, 2, 0); l_small(o, 0); /* len 0 */
	md(o, FD_MD_QUERY); ps_of(o, 0); g_region(o, 0); n_cover(o, 1); w_exact(o);
	op(o, FD_OP_PIPE_READ); cur(o); u8(o, 0); a_end(o, 0, -20); l_n(o, 20);
	op(o, FD_OP_PIPE_FEED); u8(o, FD_FEED_DATA); u16(o, 30); u8(o, 3);
	op(o, FD_OP_PIPE_FEED); u8(o, FD_FEED_EOF);
	op(o, FD_OP_PIPE_READ); cur(o); u8(o, 1); a_in(o, 2, 10); l_n(o, 200);   /* -ENODATA, 30 */
	op(o, FD_OP_PIPE_READ); cur(o); u8(o, 0); a_in(o, 2, 10); l_n(o, 10);    /* EOF: 0, 0 */
	op(o, FD_OP_PIPE_FEED); u8(o, FD_FEED_REOPEN);
	op(o, FD_OP_PIPE_FEED); u8(o, FD_FEED_DATA); u16(o, 4096); u8(o, 4);
	op(o, FD_OP_PIPE_READ); cur(o); u8(o, 1); a_start(o, 0, 0); l_to_end(o, 0, 0);
	op(o, FD_OP_READ); cur(o); u8(o, FD_READ_WRITE_FD); a_start(o, 0, 0); l_to_end(o, 1, 0);
	harvest_region(o, 0);
	harvest_region(o, 2);
	verify(o);
}

/* gmem_pread_fd from a memfd: offsets, EOF, negative and huge offsets. */
static void seed_pread(struct fdp_out *o)
{
	u8(o, 2 - 1);	/* the file holds 2 * 613 bytes */
	region(o, TRACKED | PS_64, 2048); at_low(o, 0x20000);
	region(o, ANON | TRACKED | PS_4096, 0x2000); at_after(o, 0);
	op(o, FD_OP_PREAD); cur(o); a_in(o, 0, 7); l_n(o, 100); u8(o, 0); u16(o, 0);
	op(o, FD_OP_PREAD); cur(o); a_end(o, 0, -50); l_n(o, 200); u8(o, 0); u16(o, 1200); /* short */
	op(o, FD_OP_PREAD); cur(o); a_in(o, 1, 0); l_n(o, 10); u8(o, 0); u16(o, 1230);     /* EOF */
	op(o, FD_OP_PREAD); cur(o); a_in(o, 1, 0); l_n(o, 10); u8(o, 1); u64(o, (uint64_t)-5);
	op(o, FD_OP_PREAD); cur(o); a_in(o, 1, 0); l_n(o, 10); u8(o, 2); u8(o, 3);        /* overflow */
	op(o, FD_OP_PREAD); cur(o); a_in(o, 1, 0); l_n(o, 2); u8(o, 2); u8(o, 3);         /* EOF */
	op(o, FD_OP_PREAD); cur(o); a_end(o, 1, -2); l_n(o, 10); u8(o, 0); u16(o, 0);     /* -EFAULT */
	md(o, FD_MD_HARVEST); ps_of(o, 0); g_region(o, 0); n_cover(o, 0); w_exact(o);
	harvest_region(o, 1);
	verify(o);
}

/* Map swaps: the bitmap belongs to the region. */
static void seed_swap(struct fdp_out *o)
{
	u8(o, 3 - 1);
	region(o, TRACKED | PS_512, 0x1000); at_low(o, 0x40000);
	region(o, TRACKED | PS_512, 0x1000); at_after(o, 0);
	region(o, ANON | TRACKED | PS_512, 0x800); at_after(o, 0);
	w_write(o); a_in(o, 1, 100); l_n(o, 50); u8(o, 1);
	op(o, FD_OP_SWAP); u8(o, FD_SWAP_SNAPSHOT);
	op(o, FD_OP_SWAP); u8(o, FD_SWAP_REMOVE); u8(o, 1); u8(o, 1);
	op(o, FD_OP_WRITE); old(o, 0); a_in(o, 1, 1000); l_n(o, 60); u8(o, 2);
	op(o, FD_OP_WRITE); cur(o); a_in(o, 1, 1000); l_n(o, 60); u8(o, 3);      /* hole now */
	md(o, FD_MD_QUERY); ps_of(o, 0); g_region(o, 0); n_cover(o, 2); w_exact(o);
	op(o, FD_OP_MAP_DIRTY); u8(o, FD_MD_HARVEST); old(o, 0); ps_of(o, 0); g_region(o, 1); n_cover(o, 1); w_exact(o);
	op(o, FD_OP_SWAP); u8(o, FD_SWAP_INSERT); u8(o, 1);
	op(o, FD_OP_SWAP); u8(o, FD_SWAP_INSERT); u8(o, 1);                       /* -EEXIST */
	w_write(o); a_in(o, 1, 10); l_n(o, 10); u8(o, 4);
	op(o, FD_OP_SWAP); u8(o, FD_SWAP_REMOVE_BAD); u8(o, 2); s8(o, 1); s8(o, 0); u8(o, 0);
	op(o, FD_OP_SWAP); u8(o, FD_SWAP_REBUILD); u8(o, 5); u8(o, 1);
	op(o, FD_OP_SWAP); u8(o, FD_SWAP_EXCHANGE); u8(o, 0);
	w_write(o); a_in(o, 2, 10); l_n(o, 10); u8(o, 5);
	op(o, FD_OP_SWAP); u8(o, FD_SWAP_EMPTY);
	op(o, FD_OP_REGION_HARVEST); u8(o, 1); w_exact(o);
	op(o, FD_OP_SWAP); u8(o, FD_SWAP_DROP); u8(o, 0);
	op(o, FD_OP_SWAP); u8(o, FD_SWAP_REBUILD); u8(o, 7); u8(o, 2);
	md(o, FD_MD_QUERY); ps_of(o, 0); g_region(o, 0); n_cover(o, 2); w_exact(o);
	verify(o);
}

/* Raw host-pointer writes are not tracked; gmem_map_mark_dirty is. */
static void seed_raw_mark(struct fdp_out *o)
{
	u8(o, 3 - 1);
	region(o, TRACKED | PS_64, 0x400); at_low(o, 0x6000);
	region(o, TRACKED | PS_64, 0x400); at_after(o, 0);
	region(o, RO | TRACKED | PS_64, 0x100); at_after(o, 0x40);
	op(o, FD_OP_RAW_WRITE); cur(o); u8(o, 0); a_in(o, 0, 10); l_n(o, 100); u8(o, 1);
	md(o, FD_MD_QUERY); ps_of(o, 0); g_region(o, 0); n_cover(o, 1); w_exact(o);
	op(o, FD_OP_RAW_WRITE); cur(o); u8(o, 2 | 4); a_in(o, 0, 500); l_n(o, 200); u8(o, 2);
	op(o, FD_OP_RAW_WRITE); cur(o); u8(o, 1 | 2); a_end(o, 0, -30); l_n(o, 100); u8(o, 3);
	op(o, FD_OP_RAW_WRITE); cur(o); u8(o, 0); a_in(o, 2, 0); l_n(o, 4); u8(o, 4);   /* -EACCES */
	op(o, FD_OP_MARK); cur(o); a_in(o, 2, 0); l_n(o, 200);                        /* RO: marks */
	op(o, FD_OP_MARK); cur(o); a_end(o, 1, -1); l_n(o, 2);                         /* -EFAULT */
	op(o, FD_OP_MARK); cur(o); a_end(o, 1, 8); l_small(o, 0);                      /* len 0 */
	md(o, FD_MD_HARVEST); ps_of(o, 0); g_region(o, 0); n_cover(o, 2); w_exact(o);
	verify(o);
}

/* gmem_copy, gmem_fill, gmem_zero across regions and into read-only ones. */
static void seed_copy_fill(struct fdp_out *o)
{
	u8(o, 3 - 1);
	region(o, TRACKED | PS_8, 0x200); at_low(o, 0x3000);
	region(o, ANON | TRACKED | PS_64, 0x200); at_after(o, 0);
	region(o, RO | TRACKED | PS_8, 0x80); at_after(o, 0);
	op(o, FD_OP_COPY); cur(o); a_in(o, 0, 20); a_in(o, 0, 0); l_n(o, 100);      /* overlap up */
	md(o, FD_MD_HARVEST); ps_of(o, 0); g_region(o, 0); n_cover(o, 0); w_exact(o);
	op(o, FD_OP_COPY); cur(o); a_in(o, 0, 0); a_in(o, 0, 20); l_n(o, 100);      /* overlap down */
	op(o, FD_OP_COPY); cur(o); a_end(o, 0, -16); a_in(o, 2, 0); l_n(o, 64);     /* RO -> both */
	op(o, FD_OP_COPY); cur(o); a_in(o, 2, 0); a_in(o, 0, 0); l_n(o, 8);         /* -EACCES */
	op(o, FD_OP_COPY); cur(o); a_in(o, 0, 0); a_end(o, 2, -4); l_n(o, 8);       /* -EFAULT */
	op(o, FD_OP_FILL); cur(o); a_end(o, 0, -3); l_n(o, 70); u8(o, 0x77);
	op(o, FD_OP_FILL); cur(o); a_end(o, 1, -3); l_n(o, 6); u8(o, 0x77);         /* -EACCES */
	op(o, FD_OP_ZERO); cur(o); a_start(o, 0, 0); l_to_end(o, 1, 0);
	op(o, FD_OP_ZERO); cur(o); a_start(o, 0, 0); l_raw(o, UINT64_MAX);          /* -EOVERFLOW */
	op(o, FD_OP_WRITE_PARTIAL); cur(o); a_end(o, 1, -10); l_n(o, 30); u8(o, 9);
	op(o, FD_OP_WRITE_PARTIAL); cur(o); a_in(o, 2, 0); l_n(o, 30); u8(o, 9);    /* -EACCES */
	op(o, FD_OP_WRITE_PARTIAL); cur(o); a_end(o, 2, 0); l_n(o, 3); u8(o, 9);    /* -EFAULT */
	harvest_region(o, 0);
	harvest_region(o, 1);
	harvest_region(o, 2);
	verify(o);
}

/* Every read path; none may mark. */
static void seed_reads(struct fdp_out *o)
{
	unsigned k;

	u8(o, 2 - 1);
	region(o, TRACKED | PS_1, 0x100); at_low(o, 0x5000);
	region(o, ANON | RO | TRACKED | PS_1, 0x100); at_after(o, 0);
	for (k = 0; k < FD_READ_COUNT; k++) {
		op(o, FD_OP_READ); cur(o); u8(o, k); a_end(o, 0, -(int)(k % 5) - 1); l_n(o, 16 + k);
	}
	op(o, FD_OP_READ); cur(o); u8(o, FD_READ_PARTIAL); a_end(o, 1, -5); l_n(o, 20);
	op(o, FD_OP_READ); cur(o); u8(o, FD_READ_BULK); a_end(o, 1, -5); l_n(o, 20);   /* -EFAULT */
	md(o, FD_MD_QUERY); ps_of(o, 0); g_region(o, 0); n_cover(o, 1); w_exact(o);
	verify(o);
}

/* NULL arguments, bad dirty page sizes, gmem_region_dirty_page_size. */
static void seed_misc(struct fdp_out *o)
{
	u8(o, 2 - 1);
	region(o, TRACKED | PS_HOST, 0x100); at_low(o, 0x7000);
	region(o, ANON, 0x100); at_after(o, 0);
	op(o, FD_OP_MISC); u8(o, FD_MISC_PAGE_SIZE); u8(o, 0); u64(o, 0);
	op(o, FD_OP_MISC); u8(o, FD_MISC_PAGE_SIZE); u8(o, 1); u64(o, 0);
	op(o, FD_OP_MISC); u8(o, FD_MISC_NULL); u8(o, 0); u64(o, 0);
	op(o, FD_OP_MISC); u8(o, FD_MISC_BAD_PS); u8(o, 0); u64(o, 3);
	op(o, FD_OP_MISC); u8(o, FD_MISC_BAD_PS); u8(o, 0); u64(o, 0);
	op(o, FD_OP_MISC); u8(o, FD_MISC_BAD_PS); u8(o, 0); u64(o, UINT64_MAX);
	op(o, FD_OP_MISC); u8(o, FD_MISC_UNTRACKED_PS); u8(o, 0); u64(o, 12345);
	w_write(o); a_low(o, 0x10); l_n(o, 4); u8(o, 0);                               /* -EFAULT */
	md(o, FD_MD_QUERY); ps_pow2(o, 12); g_region(o, 0); n_cover(o, 1); w_exact(o);
	md(o, FD_MD_QUERY); ps_raw(o, 0); g_region(o, 0); n_frames(o, 1); w_exact(o);
	md(o, FD_MD_QUERY); ps_pow2(o, 63); g_top(o, 0); n_to_top(o); w_exact(o);
	md(o, FD_MD_RESET); ps_pow2(o, 0); u8(o, FD_MGPA_ZERO); n_to_top(o); w_exact(o); /* len 0 */
	md(o, FD_MD_QUERY); ps_pow2(o, 0); u8(o, FD_MGPA_ZERO); n_many(o, 0x7000); w_exact(o); /* 448 words */
	verify(o);
}

/* Two regions sharing one 64-byte dirty page: the map-level bit is an OR. */
static void seed_shared_frame(struct fdp_out *o)
{
	u8(o, 2 - 1);
	region(o, TRACKED | PS_64, 0x28); at_low(o, 0x1000);
	region(o, ANON | TRACKED | PS_64, 0x58); at_after(o, 0);
	w_write(o); a_start(o, 1, 0); l_n(o, 4); u8(o, 1);
	md(o, FD_MD_QUERY); ps_of(o, 0); g_region(o, 0); n_frames(o, 2); w_exact(o);
	harvest_region(o, 0);
	md(o, FD_MD_HARVEST); ps_of(o, 0); g_region(o, 0); n_frames(o, 2); w_exact(o);
	harvest_region(o, 1);
	op(o, FD_OP_TYPED_WRITE); cur(o); u8(o, 6); u8(o, 0); a_end(o, 0, -4); u64(o, 0x0123456789abcdefULL);
	md(o, FD_MD_RESET); ps_of(o, 1); g_region(o, 1); n_frames(o, 1); w_exact(o);
	harvest_region(o, 0);
	harvest_region(o, 1);
	verify(o);
}

/* 64 KiB dirty pages larger than the region; host-page default size. */
static void seed_big_pages(struct fdp_out *o)
{
	u8(o, 2 - 1);
	region(o, TRACKED | PS_64K, 0x3000); at_raw(o, 0xf000);
	region(o, ANON | TRACKED | PS_HOST, 0x2000); at_raw(o, 0x30000);
	w_write(o); a_start(o, 0, 0); l_n(o, 1); u8(o, 1);
	w_write(o); a_end(o, 0, -1); l_n(o, 1); u8(o, 2);
	md(o, FD_MD_QUERY); ps_of(o, 0); g_region(o, 0); n_frames(o, 2); w_exact(o);
	op(o, FD_OP_WRITE); cur(o); a_frame(o, 1, 1); l_frames(o, 1, 1); u8(o, 3);
	md(o, FD_MD_HARVEST); ps_of(o, 1); g_region(o, 1); n_cover(o, 1); w_exact(o);
	md(o, FD_MD_HARVEST); ps_of(o, 0); g_region(o, 0); n_cover(o, 1); w_exact(o); /* -EINVAL */
	harvest_region(o, 0);
	verify(o);
}

/* Regions created later; overlapping and 2^64-crossing placements. */
static void seed_region_new(struct fdp_out *o)
{
	u8(o, 1 - 1);
	region(o, TRACKED | PS_8, 0x100); at_low(o, 0x9000);
	op(o, FD_OP_REGION_NEW); region(o, ANON | TRACKED | PS_2, 0x40); at_after(o, 0); u8(o, 1);
	op(o, FD_OP_REGION_NEW); region(o, TRACKED | PS_8, 0x40); at_after(o, -8); u8(o, 1); /* -EEXIST */
	op(o, FD_OP_REGION_NEW); region(o, TRACKED | PS_8, 0x40); at_top(o, 0); u8(o, 1);
	op(o, FD_OP_REGION_NEW); region(o, 0, 0x40); at_raw(o, UINT64_MAX - 8); u8(o, 1);   /* -EOVERFLOW */
	w_write(o); a_end(o, 0, -2); l_n(o, 10); u8(o, 1);
	op(o, FD_OP_SWAP); u8(o, FD_SWAP_REBUILD); u8(o, 0xff); u8(o, 0);                  /* -EEXIST */
	op(o, FD_OP_SWAP); u8(o, FD_SWAP_REBUILD); u8(o, 0x0b); u8(o, 3);
	w_write(o); a_top(o, 0x3f); l_to_top(o, 0); u8(o, 2);
	md(o, FD_MD_QUERY); ps_of(o, 3); g_top(o, 7); n_to_top(o); w_exact(o);
	harvest_region(o, 1);
	verify(o);
}

/* Partial writes stop at read-only regions and holes; marks follow. */
static void seed_partial(struct fdp_out *o)
{
	u8(o, 3 - 1);
	region(o, TRACKED | PS_2, 0x40); at_low(o, 0xa000);
	region(o, RO | TRACKED | PS_2, 0x40); at_after(o, 0);
	region(o, TRACKED | PS_2, 0x40); at_after(o, 4);
	op(o, FD_OP_WRITE_PARTIAL); cur(o); a_end(o, 0, -5); l_n(o, 20); u8(o, 1);   /* 5 bytes */
	op(o, FD_OP_WRITE_PARTIAL); cur(o); a_end(o, 2, -3); l_n(o, 9); u8(o, 2);    /* 3 bytes */
	op(o, FD_OP_WRITE); cur(o); a_end(o, 0, -5); l_n(o, 20); u8(o, 3);           /* -EACCES */
	md(o, FD_MD_QUERY); ps_of(o, 0); g_region(o, 0); n_cover(o, 2); w_exact(o);
	op(o, FD_OP_PIPE_FEED); u8(o, FD_FEED_DATA); u16(o, 7); u8(o, 5);
	op(o, FD_OP_PIPE_READ); cur(o); u8(o, 0); a_in(o, 2, 1); l_n(o, 60);          /* 7 bytes */
	md(o, FD_MD_HARVEST); ps_of(o, 0); g_region(o, 0); n_cover(o, 2); w_more(o, 3);
	verify(o);
}

struct seed {
	const char *name;
	const char *desc;
	void (*build)(struct fdp_out *o);
};

static const struct seed seeds[] = {
	{ "basic", "adjacent tracked regions, a hole, an untracked region", seed_basic },
	{ "byte_pages", "1-byte dirty pages, typed writes of every width", seed_byte_pages },
	{ "mismatch", "page-size mismatch, -ENOBUFS, bad page sizes", seed_mismatch },
	{ "top", "a tracked region ending at 2^64", seed_top },
	{ "atomics", "all atomics, failing cmpxchg, read-only, misaligned", seed_atomics },
	{ "pipe", "gmem_read_fd(_exact) from a pipe: short, EAGAIN, EOF", seed_pipe },
	{ "pread", "gmem_pread_fd from a memfd at offsets", seed_pread },
	{ "swap", "bitmaps survive map insert/remove/new and old maps", seed_swap },
	{ "raw_mark", "raw host writes, gmem_map_mark_dirty", seed_raw_mark },
	{ "copy_fill", "copy/fill/zero/write_partial across regions", seed_copy_fill },
	{ "reads", "every read path marks nothing", seed_reads },
	{ "misc", "NULL arguments, bad dirty page sizes", seed_misc },
	{ "shared_frame", "two regions sharing one dirty page", seed_shared_frame },
	{ "big_pages", "64 KiB and host-size dirty pages", seed_big_pages },
	{ "region_new", "regions created mid-stream, overlap, 2^64", seed_region_new },
	{ "partial", "partial writes and fd reads mark only bytes moved", seed_partial },
};

int main(int argc, char **argv)
{
	static uint8_t buf[4096];
	size_t i;

	if (argc != 2) {
		fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
		return 2;
	}
	for (i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		struct fdp_out o = { buf, 0, sizeof(buf), false };
		char hex[41], path[4096];
		FILE *fp;

		seeds[i].build(&o);
		if (o.overflow) {
			fprintf(stderr, "seed %s: too long\n", seeds[i].name);
			return 1;
		}
		seedgen_sha1_hex(buf, o.len, hex);
		snprintf(path, sizeof(path), "%s/%s", argv[1], hex);
		fp = fopen(path, "wb");
		if (!fp || fwrite(buf, 1, o.len, fp) != o.len || fclose(fp) != 0) {
			fprintf(stderr, "%s: %s\n", path, strerror(errno));
			return 1;
		}
		printf("%s  %s: %s (%zu bytes)\n", hex, seeds[i].name,
		       seeds[i].desc, o.len);
	}
	return 0;
}
