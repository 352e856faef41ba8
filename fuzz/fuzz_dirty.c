/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * fuzz_dirty.c - differential fuzzer for libgmem's dirty-page tracking.
 *
 * A handful of regions (tracked with dirty page sizes from 1 byte to 64 KiB
 * or the host page size, or untracked; read-write or read-only; adjacent,
 * with holes, one possibly ending at 2^64) are written through every library
 * write path and read through the read paths, while the bitmaps are
 * harvested, queried and reset at region and map level, and the map is
 * swapped under them.  A reference model keeps, per region, the expected
 * guest bytes and one bit per dirty page:
 *
 *   - every successful write sets exactly the bits of the pages it wrote
 *     (write_partial: the bytes written; read_fd: the bytes read; copy: the
 *     destination; a failed compare-exchange: nothing);
 *   - a failed all-or-nothing write changes no byte and no bit;
 *   - reads, translations and raw host-pointer writes mark nothing;
 *     gmem_map_mark_dirty() marks the tracked pages of its range;
 *   - bitmaps belong to regions: a region keeps its bits across
 *     gmem_map_insert()/remove()/new(), and a write through an old map marks
 *     the same bitmap as a write through the current one.
 *
 * Every return code, output and sentinel is compared with the model, the
 * bitmaps after every harvest/query and (through a one-region map) every
 * FD_VERIFY_EVERY operations and at the end, the guest bytes every
 * FD_VERIFY_EVERY / 2 operations and at the end.  Any disagreement prints one
 * line to stderr and abort()s.
 *
 * Input layout (all integers little-endian, missing bytes read as 0):
 *   u8                 number of initial regions: % 6 + 1
 *   region descriptor  (that many times), see op_region_new()
 *   operations         opcode byte % FD_OP_COUNT and its arguments, until
 *                      the input ends or FD_MAX_OPS operations ran
 *
 * Argument selectors (map, address, length, ...) are documented at their
 * functions below; the seed generator fuzz/gen_dirty_seeds.c writes the
 * same encoding from readable descriptions (it includes this file with
 * FUZZ_DIRTY_ENCODING_ONLY to share the constants).
 *
 * Set GMEM_FUZZ_TRACE=1 to log every operation to stderr.
 */
#ifndef FUZZ_DIRTY_ENCODING_H
#define FUZZ_DIRTY_ENCODING_H

/* Opcodes (byte % FD_OP_COUNT). */
enum fd_op {
	FD_OP_WRITE = 0,	  /* map, addr, len, u8 seed */
	FD_OP_WRITE_PARTIAL = 1,  /* map, addr, len, u8 seed */
	FD_OP_COPY = 2,		  /* map, dst addr, src addr, len */
	FD_OP_FILL = 3,		  /* map, addr, len, u8 value */
	FD_OP_ZERO = 4,		  /* map, addr, len */
	FD_OP_TYPED_WRITE = 5,	  /* map, u8 kind, u8 align, addr, u64 value */
	FD_OP_ATOMIC = 6,	  /* map, u8 op, u8 align, addr, u64 val, u8 flags */
	FD_OP_PIPE_READ = 7,	  /* map, u8 exact, addr, len */
	FD_OP_PIPE_FEED = 8,	  /* u8 sub, [u16 len, u8 seed] */
	FD_OP_PREAD = 9,	  /* map, addr, len, u8 offmode, offset */
	FD_OP_MARK = 10,	  /* map, addr, len */
	FD_OP_RAW_WRITE = 11,	  /* map, u8 flags, addr, len, u8 seed */
	FD_OP_READ = 12,	  /* map, u8 kind, addr, len */
	FD_OP_REGION_HARVEST = 13, /* u8 region, u8 nwords mode, u8 param */
	FD_OP_MAP_DIRTY = 14,	  /* u8 sub, map, ps, gpa, len, nwords */
	FD_OP_SWAP = 15,	  /* u8 sub, arguments of the sub-operation */
	FD_OP_VERIFY = 16,	  /* (none) */
	FD_OP_MISC = 17,	  /* u8 sub, u8 region, u64 value */
	FD_OP_REGION_NEW = 18,	  /* region descriptor, u8 insert */
	FD_OP_COUNT = 19
};

/* Region descriptor: u8 kind, length selector, placement selector. */
#define FD_KIND_PS_MASK 0x07u	 /* index into fd_ps_table */
#define FD_KIND_TRACK_MASK 0x18u /* any bit set: GMEM_REGION_DIRTY_LOG */
#define FD_KIND_RO_MASK 0x60u	 /* both bits set: GMEM_REGION_READONLY */
#define FD_KIND_ANON 0x80u	 /* GMEM_BACKING_ANON, else GMEM_BACKING_USER */

/* Dirty page sizes by kind & FD_KIND_PS_MASK; 0 is the region's page size. */
#define FD_PS_TABLE { 0, 1, 8, 64, 512, 4096, 2, 65536 }

/* Region length: mode byte % FD_RLEN_COUNT, then the parameters shown. */
enum fd_rlen_mode {
	FD_RLEN_TINY = 0,  /* u8 % 64 + 1 */
	FD_RLEN_SMALL = 1, /* u16 % 4096 + 1 */
	FD_RLEN_PAGES = 2, /* (u8 % 3 + 1) * 4096 + s8 */
	FD_RLEN_ANY = 3,   /* u16 % 12288 + 1 */
	FD_RLEN_COUNT = 4
};

/* Region placement: mode byte % FD_PLACE_COUNT, then the parameters shown. */
enum fd_place_mode {
	FD_PLACE_AFTER = 0,  /* s8 d: end of the previous region + d */
	FD_PLACE_LOW = 1,    /* u16 v: v * 8 */
	FD_PLACE_TOP = 2,    /* u8 d: 2^64 - len - d (d = 0: ends at 2^64) */
	FD_PLACE_PAGE = 3,   /* u8 p, s8 d: p * 4096 + d */
	FD_PLACE_RAW = 4,    /* u64 */
	FD_PLACE_BEFORE = 5, /* u8 region, s8 d: its start - len + d */
	FD_PLACE_COUNT = 6
};

/*
 * Map selector: one byte b; b % 4 == 3 with old maps alive picks old map
 * (b / 4) % nold, anything else the current map.
 */

/* Address selector: mode byte % FD_ADDR_COUNT, then the parameters shown. */
enum fd_addr_mode {
	FD_ADDR_START = 0,  /* u8 region, s8 d: start + d */
	FD_ADDR_END = 1,    /* u8 region, s8 d: start + len + d (mod 2^64) */
	FD_ADDR_INSIDE = 2, /* u8 region, u16 off: start + off % len */
	FD_ADDR_FRAME = 3,  /* u8 region, u8 f: frame boundary f of the region */
	FD_ADDR_TOP = 4,    /* u8 d: UINT64_MAX - d */
	FD_ADDR_LOW = 5,    /* u16 */
	FD_ADDR_RAW = 6,    /* u64 */
	FD_ADDR_PREV = 7,   /* s8 d: previous address + d */
	FD_ADDR_COUNT = 8
};

/* Length selector: mode byte % FD_LEN_COUNT, then the parameters shown. */
enum fd_len_mode {
	FD_LEN_SMALL = 0,  /* u8 % 17 */
	FD_LEN_BYTE = 1,   /* u8 + 1 */
	FD_LEN_U16 = 2,	   /* u16 */
	FD_LEN_TO_END = 3, /* u8 region, s8 d: region end - addr + d */
	FD_LEN_TO_TOP = 4, /* s8 d: 2^64 - addr + d */
	FD_LEN_RAW = 5,	   /* u64 */
	FD_LEN_POW2 = 6,   /* u8: 1 << (u8 % 16) */
	FD_LEN_FRAMES = 7, /* u8 region, u8 n: (n % 4 + 1) dirty pages of it */
	FD_LEN_COUNT = 8
};

/* FD_OP_PIPE_FEED sub-operations (byte % 4). */
enum fd_feed_sub {
	FD_FEED_DATA = 0,  /* u16 len % 4097, u8 seed */
	FD_FEED_DATA2 = 1, /* same */
	FD_FEED_EOF = 2,   /* close the write end */
	FD_FEED_REOPEN = 3 /* a fresh pipe */
};

/* FD_OP_READ kinds (byte % FD_READ_COUNT). */
enum fd_read_kind {
	FD_READ_BULK = 0,     /* gmem_read */
	FD_READ_PARTIAL = 1,  /* gmem_read_partial */
	FD_READ_TYPED = 2,    /* 2..11: gmem_read_{u8..be64}, typed kind k - 2 */
	FD_READ_ATOMIC = 12,  /* 12..14: gmem_atomic_load_u16/32/64 */
	FD_READ_WRITE_FD = 15, /* gmem_write_fd into the pipe, drained */
	FD_READ_TRANSLATE = 16, /* gmem_translate + gmem_iovec (read access) */
	FD_READ_COUNT = 17
};

/* Typed kinds (byte % 10): u8 u16 u32 u64 le16 le32 le64 be16 be32 be64. */
#define FD_TYPED_COUNT 10

/* FD_OP_ATOMIC op byte: op % 6 (store, cmpxchg, add, or, and, load), width
 * (op / 6) % 3 (u16, u32, u64).  flags: bit 0 expected := current value,
 * bit 1 pass NULL for @old. */
#define FD_ATOMIC_OPS 6

/* FD_OP_MAP_DIRTY sub (byte % 3). */
enum fd_map_dirty_sub { FD_MD_QUERY = 0, FD_MD_HARVEST = 1, FD_MD_RESET = 2 };

/* Page size selector for FD_OP_MAP_DIRTY: mode byte % 5. */
enum fd_ps_mode {
	FD_PSEL_REGION = 0, /* u8 region: its dirty page size */
	FD_PSEL_TABLE = 1,  /* u8 i: fd_ps_table[i % 8] (0 -> host page) */
	FD_PSEL_POW2 = 2,   /* u8 s: 1 << (s % 64) */
	FD_PSEL_RAW = 3,    /* u64 */
	FD_PSEL_REGION2 = 4, /* u8 region: as FD_PSEL_REGION */
	FD_PSEL_COUNT = 5
};

/* Range start for FD_OP_MAP_DIRTY: mode byte % 5. */
enum fd_mgpa_mode {
	FD_MGPA_REGION = 0, /* u8 region: its start rounded down to ps */
	FD_MGPA_SHIFT = 1,  /* u8 region, s8 d: that + d * ps */
	FD_MGPA_ADDR = 2,   /* address selector (may be misaligned) */
	FD_MGPA_ZERO = 3,   /* 0 */
	FD_MGPA_TOP = 4,    /* u8 n: 2^64 - (n + 1) * ps */
	FD_MGPA_COUNT = 5
};

/* Range length for FD_OP_MAP_DIRTY: mode byte % 5. */
enum fd_mlen_mode {
	FD_MLEN_FRAMES = 0, /* u8 n: n * ps */
	FD_MLEN_COVER = 1,  /* u8 region: up to its end rounded up to ps */
	FD_MLEN_TO_TOP = 2, /* 2^64 - gpa */
	FD_MLEN_ANY = 3,    /* length selector */
	FD_MLEN_MANY = 4,   /* u16 n: n * ps */
	FD_MLEN_COUNT = 5
};

/* Bitmap size (words) for harvests and queries: mode byte % 4. */
enum fd_nwords_mode {
	FD_NW_EXACT = 0, /* what the call needs */
	FD_NW_SHORT = 1, /* one word less (-ENOBUFS when it needs any) */
	FD_NW_MORE = 2,	 /* u8 k: needed + k % 4 */
	FD_NW_SMALL = 3, /* u8 k: k % 4 */
	FD_NW_COUNT = 4
};

/* FD_OP_SWAP sub (byte % 8). */
enum fd_swap_sub {
	FD_SWAP_INSERT = 0,   /* u8 region: gmem_map_insert */
	FD_SWAP_REMOVE = 1,   /* u8 region, u8 keep: exact gmem_map_remove */
	FD_SWAP_REMOVE_BAD = 2, /* u8 region, s8 dg, s8 dl: inexact remove */
	FD_SWAP_REBUILD = 3,  /* u8 mask, u8 rot: gmem_map_new from a subset */
	FD_SWAP_SNAPSHOT = 4, /* keep the current map as an old map */
	FD_SWAP_DROP = 5,     /* u8 k: drop old map k */
	FD_SWAP_EXCHANGE = 6, /* u8 k: current <-> old map k */
	FD_SWAP_EMPTY = 7,    /* the empty map (regions keep their bits) */
	FD_SWAP_COUNT = 8
};

/* FD_OP_MISC sub (byte % 4). */
enum fd_misc_sub {
	FD_MISC_PAGE_SIZE = 0, /* u8 region: gmem_region_dirty_page_size */
	FD_MISC_NULL = 1,      /* u8 region: NULL arguments everywhere */
	FD_MISC_BAD_PS = 2,    /* u8 r, u64 v: DIRTY_LOG with a bad page size */
	FD_MISC_UNTRACKED_PS = 3, /* u8 r, u64 v: no DIRTY_LOG, any page size */
	FD_MISC_COUNT = 4
};

#define FD_MAX_OPS 200
#define FD_MAX_REGIONS 8

#endif /* FUZZ_DIRTY_ENCODING_H */

#ifndef FUZZ_DIRTY_ENCODING_ONLY

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "gmem.h"
#include "fuzz_input.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FD_MAX_REGION_LEN (12u << 10)
#define FD_MAX_TOTAL (64u << 10)  /* bytes of all regions of one input */
#define FD_BUF (80u << 10)	  /* >= FD_MAX_TOTAL: any success fits */
#define FD_MAX_OLD 2
#define FD_VERIFY_EVERY 16
#define FD_MAX_WORDS 4096u	  /* largest bitmap handed to the library */
#define FD_PIPE_CAP (128u << 10)  /* model queue capacity */
#define FD_PIPE_FILL (40u << 10)  /* never queue more than this */
#define FD_FILE_MAX 4096u

#define SENT_U64 0xa5a5a5a5a5a5a5a5ULL
#define SENT_SIZE ((size_t)0x5e57e1f00dULL)
#define CANARY 0xa5

struct reg {
	gmem_region *r;
	uint64_t start, len, last;
	bool ro, tracked, anon;
	uint64_t ps;		/* dirty page size (tracked regions) */
	unsigned shift;
	uint64_t first_frame;
	uint64_t nbits;
	uint8_t *bits;		/* model: one byte per dirty page */
	uint8_t *data;		/* model: expected contents */
	uint8_t *alloc;		/* USER backing: the malloc'd block */
	uint8_t *host;		/* host address of the first byte */
};

struct mp {
	gmem_map *m;
	unsigned members; /* bit i: regs[i] is in the map */
};

struct h {
	struct fdp in;
	struct reg regs[FD_MAX_REGIONS];
	unsigned nregs;
	uint64_t total;
	struct mp cur;
	struct mp old[FD_MAX_OLD];
	unsigned nold;
	unsigned opno;
	const char *opname;
	uint64_t prev_addr;
	uint64_t hostpage;
	/* the pipe and its model */
	int prd, pwr;
	uint8_t *pq;
	size_t pq_len;
	/* the memfd and its model */
	int mfd;
	uint8_t fdata[FD_FILE_MAX];
	size_t fsize;
	bool trace;
};

static const uint64_t fd_ps_table[8] = FD_PS_TABLE;

/* Model queue and drain buffer, reused by every input. */
static uint8_t g_pq[FD_PIPE_CAP], g_drain[FD_PIPE_CAP];

static const char *const op_names[FD_OP_COUNT] = {
	"write",      "write_partial", "copy",	    "fill",
	"zero",	      "typed_write",   "atomic",    "pipe_read",
	"pipe_feed",  "pread",	       "mark",	    "raw_write",
	"read",	      "region_harvest", "map_dirty", "swap",
	"verify",     "misc",	       "region_new",
};

/* ------------------------------------------------------------------------ */
/* Reporting                                                                 */
/* ------------------------------------------------------------------------ */

__attribute__((noreturn, format(printf, 2, 3))) static void
fail(const struct h *h, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fuzz_vdiverge("fuzz_dirty", h->opno, h->opname, NULL, fmt, ap);
}

__attribute__((format(printf, 2, 3))) static void trace(const struct h *h,
							const char *fmt, ...)
{
	va_list ap;

	if (!h->trace)
		return;
	va_start(ap, fmt);
	fuzz_vtrace(h->opno, h->opname, fmt, ap);
	va_end(ap);
}

#define EXPECT(h, cond, ...)                                                   \
	do {                                                                   \
		if (!(cond))                                                   \
			fail(h, __VA_ARGS__);                                  \
	} while (0)

#define EXPECT_RC(h, got, want, ...)                                           \
	do {                                                                   \
		int got_ = (got), want_ = (want);                              \
		if (got_ != want_ || (h)->trace) {                             \
			char what_[224];                                       \
			snprintf(what_, sizeof(what_), __VA_ARGS__);           \
			if (got_ != want_)                                     \
				fail(h, "%s: library returned %d (%s), model " \
					"%d (%s)",                             \
				     what_, got_, gmem_strerror(got_), want_,  \
				     gmem_strerror(want_));                    \
			trace(h, "  %s -> %d%s%s", what_, got_,                \
			      got_ ? " " : "", got_ ? gmem_strerror(got_) : ""); \
		}                                                              \
	} while (0)

#define X64(v) ((unsigned long long)(v))

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

static bool is_pow2(uint64_t v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

static unsigned ctz64(uint64_t v)
{
	return (unsigned)__builtin_ctzll(v);
}

static bool regions_overlap(const struct reg *a, const struct reg *b)
{
	return a->start <= b->last && b->start <= a->last;
}

static unsigned popcount(unsigned v)
{
	return (unsigned)__builtin_popcount(v);
}

/* ------------------------------------------------------------------------ */
/* Model of guest memory through one map                                     */
/* ------------------------------------------------------------------------ */

/* The region of @members holding @a, or -1 for a hole. */
static int m_find(const struct h *h, unsigned members, uint64_t a)
{
	unsigned i;

	for (i = 0; i < h->nregs; i++)
		if ((members >> i & 1) && h->regs[i].start <= a &&
		    a <= h->regs[i].last)
			return (int)i;
	return -1;
}

/*
 * Walk [gpa, gpa + len), len >= 1 and representable: 0 if every byte is
 * mapped (and writable when @write), else -EFAULT / -EACCES for the first
 * offending byte; *ok receives the accessible prefix.
 */
static int m_span(const struct h *h, unsigned members, uint64_t gpa,
		  uint64_t len, bool write, uint64_t *ok)
{
	uint64_t done = 0;

	for (;;) {
		uint64_t cur = gpa + done, tail_m1;
		int i = m_find(h, members, cur);

		if (i < 0) {
			*ok = done;
			return -EFAULT;
		}
		if (write && h->regs[i].ro) {
			*ok = done;
			return -EACCES;
		}
		tail_m1 = h->regs[i].last - cur;
		if (len - done - 1 <= tail_m1) {
			*ok = len;
			return 0;
		}
		done += tail_m1 + 1;
	}
}

/* Full all-or-nothing check: -EOVERFLOW, then m_span; len 0 is fine. */
static int m_check(const struct h *h, unsigned members, uint64_t gpa,
		   uint64_t len, bool write)
{
	uint64_t ok;

	if (range_check(gpa, len))
		return -EOVERFLOW;
	if (len == 0)
		return 0;
	return m_span(h, members, gpa, len, write, &ok);
}

static void m_mark(struct reg *r, uint64_t gpa, uint64_t n)
{
	uint64_t f, l;

	if (!r->tracked || n == 0)
		return;
	f = (gpa >> r->shift) - r->first_frame;
	l = ((gpa + (n - 1)) >> r->shift) - r->first_frame;
	memset(r->bits + f, 1, (size_t)(l - f + 1));
}

/*
 * Apply a validated write of [gpa, gpa + len) (src NULL: value @fill) to
 * the model; @mark: set the dirty bits (every library write path does; raw
 * host-pointer writes do not).
 */
static void m_write(struct h *h, unsigned members, uint64_t gpa,
		    const uint8_t *src, int fill, uint64_t len, bool mark)
{
	uint64_t done = 0;

	while (done < len) {
		uint64_t cur = gpa + done, n;
		int i = m_find(h, members, cur);
		struct reg *r;

		if (i < 0)
			fail(h, "model: write into a hole at %#llx", X64(cur));
		r = &h->regs[i];
		n = r->last - cur;
		n = (len - done - 1 < n ? len - done - 1 : n) + 1;
		if (src)
			memcpy(r->data + (cur - r->start), src + done, n);
		else
			memset(r->data + (cur - r->start), fill, n);
		if (mark)
			m_mark(r, cur, n);
		done += n;
		if (done < len && cur + n == 0)
			fail(h, "model: write wraps");
	}
}

static void m_read(const struct h *h, unsigned members, uint64_t gpa,
		   uint8_t *dst, uint64_t len)
{
	uint64_t done = 0;

	while (done < len) {
		uint64_t cur = gpa + done, n;
		int i = m_find(h, members, cur);
		const struct reg *r;

		if (i < 0)
			fail(h, "model: read from a hole at %#llx", X64(cur));
		r = &h->regs[i];
		n = r->last - cur;
		n = (len - done - 1 < n ? len - done - 1 : n) + 1;
		memcpy(dst + done, r->data + (cur - r->start), n);
		done += n;
	}
}

/* Mark every tracked page of a validated range (gmem_map_mark_dirty). */
static void m_mark_range(struct h *h, unsigned members, uint64_t gpa,
			 uint64_t len)
{
	uint64_t done = 0;

	while (done < len) {
		uint64_t cur = gpa + done, n;
		int i = m_find(h, members, cur);
		struct reg *r;

		if (i < 0)
			fail(h, "model: mark in a hole at %#llx", X64(cur));
		r = &h->regs[i];
		n = r->last - cur;
		n = (len - done - 1 < n ? len - done - 1 : n) + 1;
		m_mark(r, cur, n);
		done += n;
	}
}

/* ------------------------------------------------------------------------ */
/* Verification                                                              */
/* ------------------------------------------------------------------------ */

static void verify_data(const struct h *h)
{
	unsigned i;
	uint64_t j;

	for (i = 0; i < h->nregs; i++) {
		const struct reg *r = &h->regs[i];

		if (memcmp(r->host, r->data, r->len) == 0)
			continue;
		for (j = 0; j < r->len; j++)
			if (r->host[j] != r->data[j])
				fail(h,
				     "guest byte %#llx (region %u [%#llx +%#llx]) "
				     "is %#x, model %#x",
				     X64(r->start + j), i, X64(r->start),
				     X64(r->len), r->host[j], r->data[j]);
	}
}

/* Compare a library bitmap of @nbits bits with the model bits @exp. */
static void compare_bits(const struct h *h, const uint64_t *bm,
			 const uint8_t *exp, uint64_t nbits, const char *what)
{
	uint64_t j;

	for (j = 0; j < nbits; j++) {
		unsigned got = (unsigned)(bm[j / 64] >> (j % 64) & 1);

		if (got != exp[j])
			fail(h, "%s: bit %llu is %u, model %u", what, X64(j),
			     got, exp[j]);
	}
	/* The rest of the last word is not a page: it must read as clean. */
	if (nbits % 64 != 0 && (bm[nbits / 64] >> (nbits % 64)) != 0)
		fail(h, "%s: bits past the last page (%llu) are set: %#llx",
		     what, X64(nbits), X64(bm[nbits / 64]));
}

/* Query one region's bitmap through a one-region map; must match. */
static void verify_region_bits(const struct h *h, unsigned i)
{
	const struct reg *r = &h->regs[i];
	gmem_region *arr[1] = { r->r };
	gmem_map *m = NULL;
	uint64_t *bm, gpa, len;
	size_t nwords = (size_t)(r->nbits / 64 + (r->nbits % 64 != 0));
	char what[96];
	int rc;

	if (!r->tracked)
		return;
	rc = gmem_map_new(&m, arr, 1, 0);
	EXPECT_RC(h, rc, 0, "verify: gmem_map_new(region %u)", i);
	gpa = r->first_frame << r->shift;
	len = r->nbits << r->shift;
	bm = xmalloc(nwords * sizeof(*bm));
	memset(bm, CANARY, nwords * sizeof(*bm));
	rc = gmem_map_dirty_query(m, gpa, len, r->ps, bm, nwords);
	EXPECT_RC(h, rc, 0,
		  "verify: gmem_map_dirty_query(region %u [%#llx +%#llx], ps "
		  "%#llx)",
		  i, X64(gpa), X64(len), X64(r->ps));
	snprintf(what, sizeof(what), "verify: region %u [%#llx +%#llx] ps %#llx",
		 i, X64(r->start), X64(r->len), X64(r->ps));
	compare_bits(h, bm, r->bits, r->nbits, what);
	free(bm);
	gmem_map_free(m);
}

static void verify_all_bits(const struct h *h)
{
	unsigned i;

	for (i = 0; i < h->nregs; i++)
		verify_region_bits(h, i);
}

static void verify_count(const struct h *h, const struct mp *p)
{
	size_t n = gmem_map_count(p->m);

	EXPECT(h, n == popcount(p->members),
	       "gmem_map_count %zu, model %u (members %#x)", n,
	       popcount(p->members), p->members);
}

/* ------------------------------------------------------------------------ */
/* Selectors                                                                 */
/* ------------------------------------------------------------------------ */

static const struct reg *pick_reg(struct h *h)
{
	uint8_t k = fdp_u8(&h->in);

	return h->nregs ? &h->regs[k % h->nregs] : NULL;
}

static uint64_t reg_start(const struct reg *r)
{
	return r ? r->start : 0x1000;
}

static uint64_t reg_len(const struct reg *r)
{
	return r ? r->len : 0x1000;
}

/* A region's dirty page size, or the host page size when untracked. */
static uint64_t reg_ps(const struct h *h, const struct reg *r)
{
	return r && r->tracked ? r->ps : h->hostpage;
}

static struct mp *sel_map(struct h *h)
{
	uint8_t b = fdp_u8(&h->in);

	if (b % 4 == 3 && h->nold)
		return &h->old[(b / 4) % h->nold];
	return &h->cur;
}

static uint64_t sel_addr(struct h *h)
{
	const struct reg *r;
	uint64_t a, ps;

	switch (fdp_u8(&h->in) % FD_ADDR_COUNT) {
	case FD_ADDR_START:
		r = pick_reg(h);
		a = reg_start(r) + (uint64_t)fdp_s8(&h->in);
		break;
	case FD_ADDR_END:
		r = pick_reg(h);
		a = reg_start(r) + reg_len(r) + (uint64_t)fdp_s8(&h->in);
		break;
	case FD_ADDR_INSIDE:
		r = pick_reg(h);
		a = reg_start(r) + fdp_u16(&h->in) % reg_len(r);
		break;
	case FD_ADDR_FRAME:
		r = pick_reg(h);
		ps = reg_ps(h, r);
		a = (reg_start(r) & ~(ps - 1)) + (uint64_t)fdp_u8(&h->in) * ps;
		break;
	case FD_ADDR_TOP:
		a = UINT64_MAX - fdp_u8(&h->in);
		break;
	case FD_ADDR_LOW:
		a = fdp_u16(&h->in);
		break;
	case FD_ADDR_RAW:
		a = fdp_u64(&h->in);
		break;
	case FD_ADDR_PREV:
	default:
		a = h->prev_addr + (uint64_t)fdp_s8(&h->in);
		break;
	}
	h->prev_addr = a;
	return a;
}

static uint64_t sel_len(struct h *h, uint64_t gpa)
{
	const struct reg *r;

	switch (fdp_u8(&h->in) % FD_LEN_COUNT) {
	case FD_LEN_SMALL:
		return fdp_u8(&h->in) % 17;
	case FD_LEN_BYTE:
		return (uint64_t)fdp_u8(&h->in) + 1;
	case FD_LEN_U16:
		return fdp_u16(&h->in);
	case FD_LEN_TO_END:
		r = pick_reg(h);
		return reg_start(r) + reg_len(r) - gpa +
		       (uint64_t)fdp_s8(&h->in);
	case FD_LEN_TO_TOP:
		return (0 - gpa) + (uint64_t)fdp_s8(&h->in);
	case FD_LEN_RAW:
		return fdp_u64(&h->in);
	case FD_LEN_POW2:
		return 1ULL << (fdp_u8(&h->in) % 16);
	case FD_LEN_FRAMES:
	default:
		r = pick_reg(h);
		return reg_ps(h, r) * (uint64_t)(fdp_u8(&h->in) % 4 + 1);
	}
}

/* ------------------------------------------------------------------------ */
/* Regions and maps                                                          */
/* ------------------------------------------------------------------------ */

static void map_replace(struct mp *p, gmem_map *m, unsigned members)
{
	gmem_map_free(p->m);
	p->m = m;
	p->members = members;
}

/* gmem_map_insert() of region k into the current map. */
static void do_insert(struct h *h, unsigned k)
{
	const struct reg *r = &h->regs[k];
	gmem_map *m = (gmem_map *)(uintptr_t)SENT_U64;
	int rc, want = 0;
	unsigned i;

	for (i = 0; i < h->nregs; i++)
		if ((h->cur.members >> i & 1) && regions_overlap(&h->regs[i], r))
			want = -EEXIST;
	trace(h, "insert region %u [%#llx +%#llx]", k, X64(r->start),
	      X64(r->len));
	rc = gmem_map_insert(&m, h->cur.m, r->r);
	EXPECT_RC(h, rc, want, "gmem_map_insert(region %u [%#llx +%#llx])", k,
		  X64(r->start), X64(r->len));
	if (rc) {
		EXPECT(h, m == (gmem_map *)(uintptr_t)SENT_U64,
		       "gmem_map_insert failed but wrote *out");
		return;
	}
	map_replace(&h->cur, m, h->cur.members | 1u << k);
	verify_count(h, &h->cur);
}

/*
 * Region descriptor: u8 kind (FD_KIND_*), length selector (enum
 * fd_rlen_mode), placement selector (enum fd_place_mode).  Returns the new
 * region's index, or -1 when none was created (pool full, size budget
 * exhausted, or the placement runs past 2^64, which gmem_region_new() must
 * refuse with -EOVERFLOW).
 */
static int region_new(struct h *h)
{
	uint8_t kind = fdp_u8(&h->in);
	uint64_t len, gpa;
	int64_t d;
	struct gmem_region_config cfg = GMEM_REGION_CONFIG_INIT;
	gmem_region *gr = (gmem_region *)(uintptr_t)SENT_U64;
	struct reg *r;
	const struct reg *o;
	uint8_t *alloc = NULL;
	uint64_t ps, got;
	int rc;

	switch (fdp_u8(&h->in) % FD_RLEN_COUNT) {
	case FD_RLEN_TINY:
		len = fdp_u8(&h->in) % 64 + 1;
		break;
	case FD_RLEN_SMALL:
		len = fdp_u16(&h->in) % 4096 + 1;
		break;
	case FD_RLEN_PAGES:
		len = (uint64_t)(fdp_u8(&h->in) % 3 + 1) * 4096;
		d = fdp_s8(&h->in);
		len = d < 0 ? len - (uint64_t)(-d) : len + (uint64_t)d;
		break;
	case FD_RLEN_ANY:
	default:
		len = fdp_u16(&h->in) % FD_MAX_REGION_LEN + 1;
		break;
	}
	if (len > FD_MAX_REGION_LEN)
		len = FD_MAX_REGION_LEN;
	switch (fdp_u8(&h->in) % FD_PLACE_COUNT) {
	case FD_PLACE_AFTER:
		o = h->nregs ? &h->regs[h->nregs - 1] : NULL;
		gpa = (o ? o->last + 1 : 0x10000) + (uint64_t)fdp_s8(&h->in);
		break;
	case FD_PLACE_LOW:
		gpa = (uint64_t)fdp_u16(&h->in) * 8;
		break;
	case FD_PLACE_TOP:
		gpa = 0 - len - fdp_u8(&h->in);
		break;
	case FD_PLACE_PAGE:
		gpa = (uint64_t)fdp_u8(&h->in) * 4096;
		gpa += (uint64_t)fdp_s8(&h->in);
		break;
	case FD_PLACE_RAW:
		gpa = fdp_u64(&h->in);
		break;
	case FD_PLACE_BEFORE:
	default:
		o = pick_reg(h);
		gpa = reg_start(o) - len + (uint64_t)fdp_s8(&h->in);
		break;
	}
	if (h->nregs >= FD_MAX_REGIONS || h->total + len > FD_MAX_TOTAL)
		return -1;

	cfg.gpa = gpa;
	cfg.len = len;
	cfg.flags = 0;
	if (kind & FD_KIND_TRACK_MASK)
		cfg.flags |= GMEM_REGION_DIRTY_LOG;
	if ((kind & FD_KIND_RO_MASK) == FD_KIND_RO_MASK)
		cfg.flags |= GMEM_REGION_READONLY;
	cfg.dirty_page_size = fd_ps_table[kind & FD_KIND_PS_MASK];
	if (kind & FD_KIND_ANON) {
		cfg.backing = GMEM_BACKING_ANON;
	} else {
		cfg.backing = GMEM_BACKING_USER;
		/* The block ends exactly where the region ends (ASan). */
		alloc = xmalloc(gpa % 8 + len);
		cfg.host = alloc + gpa % 8;
		fill_splitmix(cfg.host, len, gpa ^ len ^ kind);
	}
	trace(h, "region %u: %s [%#llx +%#llx]%s%s dirty_page_size %#llx",
	      h->nregs, (kind & FD_KIND_ANON) ? "anon" : "user", X64(gpa),
	      X64(len), (cfg.flags & GMEM_REGION_READONLY) ? " ro" : "",
	      (cfg.flags & GMEM_REGION_DIRTY_LOG) ? " tracked" : "",
	      X64(cfg.dirty_page_size));
	rc = gmem_region_new(&gr, &cfg);
	if (range_check(gpa, len)) {
		EXPECT_RC(h, rc, -EOVERFLOW,
			  "gmem_region_new([%#llx +%#llx]) past 2^64", X64(gpa),
			  X64(len));
		EXPECT(h, gr == (gmem_region *)(uintptr_t)SENT_U64,
		       "gmem_region_new failed but wrote *out");
		free(alloc);
		return -1;
	}
	EXPECT_RC(h, rc, 0, "gmem_region_new(%s [%#llx +%#llx], flags %#x)",
		  (kind & FD_KIND_ANON) ? "anon" : "user", X64(gpa), X64(len),
		  cfg.flags);
	r = &h->regs[h->nregs];
	memset(r, 0, sizeof(*r));
	r->r = gr;
	r->start = gpa;
	r->len = len;
	r->last = gpa + (len - 1);
	r->ro = (cfg.flags & GMEM_REGION_READONLY) != 0;
	r->tracked = (cfg.flags & GMEM_REGION_DIRTY_LOG) != 0;
	r->anon = (kind & FD_KIND_ANON) != 0;
	r->alloc = alloc;
	r->host = r->anon ? gmem_region_host(gr) : (uint8_t *)cfg.host;
	EXPECT(h, r->host && gmem_region_host(gr) == r->host,
	       "gmem_region_host %p, expected %p", gmem_region_host(gr),
	       (void *)r->host);
	r->data = xmalloc(len);
	if (r->anon)
		memset(r->data, 0, len);
	else
		memcpy(r->data, r->host, len);
	ps = cfg.dirty_page_size ? cfg.dirty_page_size : h->hostpage;
	got = SENT_U64;
	rc = gmem_region_dirty_page_size(gr, &got);
	if (r->tracked) {
		EXPECT_RC(h, rc, 0, "gmem_region_dirty_page_size");
		EXPECT(h, got == ps,
		       "gmem_region_dirty_page_size %#llx, expected %#llx",
		       X64(got), X64(ps));
		r->ps = ps;
		r->shift = ctz64(ps);
		r->first_frame = gpa >> r->shift;
		r->nbits = (r->last >> r->shift) - r->first_frame + 1;
		r->bits = xmalloc((size_t)r->nbits);
		memset(r->bits, 0, (size_t)r->nbits);
	} else {
		EXPECT_RC(h, rc, -ENOENT, "gmem_region_dirty_page_size (untracked)");
		EXPECT(h, got == SENT_U64,
		       "gmem_region_dirty_page_size failed but wrote *out");
	}
	h->total += len;
	return (int)h->nregs++;
}

/* ------------------------------------------------------------------------ */
/* The pipe                                                                  */
/* ------------------------------------------------------------------------ */

static void pipe_open(struct h *h)
{
	int p[2];

	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0)
		abort();
	/* Room for every byte of guest memory plus what is queued. */
	(void)fcntl(p[1], F_SETPIPE_SZ, 256 << 10);
	if (fcntl(p[1], F_GETPIPE_SZ) < (int)(FD_MAX_TOTAL + FD_PIPE_FILL))
		abort();
	h->prd = p[0];
	h->pwr = p[1];
	h->pq_len = 0;
}

static void pipe_close(struct h *h)
{
	if (h->prd >= 0)
		close(h->prd);
	if (h->pwr >= 0)
		close(h->pwr);
	h->prd = h->pwr = -1;
	h->pq_len = 0;
}

/* Read everything the pipe holds and compare it with the model queue. */
static void pipe_drain_check(struct h *h, const char *what)
{
	uint8_t *buf = g_drain;
	size_t got = 0, i;

	for (;;) {
		ssize_t n = read(h->prd, buf + got, FD_PIPE_CAP - got);

		if (n > 0) {
			got += (size_t)n;
			if (got == FD_PIPE_CAP)
				break;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		break;
	}
	EXPECT(h, got == h->pq_len, "%s: the pipe held %zu bytes, model %zu",
	       what, got, h->pq_len);
	for (i = 0; memcmp(buf, h->pq, got) != 0 && i < got; i++)
		EXPECT(h, buf[i] == h->pq[i],
		       "%s: pipe byte %zu is %#x, model %#x", what, i, buf[i],
		       h->pq[i]);
	h->pq_len = 0;
}

/* ------------------------------------------------------------------------ */
/* Write operations                                                          */
/* ------------------------------------------------------------------------ */

/* A source buffer for @len bytes: exactly sized (ASan) when it may be read. */
static uint8_t *src_buf(uint64_t len, uint64_t seed)
{
	uint64_t n = len <= FD_BUF ? len : FD_BUF;
	uint8_t *b = xmalloc((size_t)n);

	fill_splitmix(b, n, seed);
	return b;
}

static void op_write(struct h *h, bool partial)
{
	struct mp *p = sel_map(h);
	uint64_t gpa = sel_addr(h), len = sel_len(h, gpa), ok = 0;
	uint8_t seed = fdp_u8(&h->in);
	uint8_t *b = src_buf(len, seed + h->opno * 0x100ULL);
	size_t done = SENT_SIZE;
	int rc, want, err = 0;

	trace(h, "[%#llx +%#llx]", X64(gpa), X64(len));
	if (range_check(gpa, len))
		want = -EOVERFLOW;
	else if (len == 0)
		want = 0;
	else
		want = err = m_span(h, p->members, gpa, len, true, &ok);
	if (!partial) {
		rc = gmem_write(p->m, gpa, b, (size_t)len);
		EXPECT_RC(h, rc, want, "gmem_write(%#llx, %#llx)", X64(gpa),
			  X64(len));
		if (rc == 0)
			m_write(h, p->members, gpa, b, 0, len, true);
	} else {
		if (want != -EOVERFLOW && len != 0 && ok > 0)
			want = 0;
		rc = gmem_write_partial(p->m, gpa, b, (size_t)len, &done);
		EXPECT_RC(h, rc, want, "gmem_write_partial(%#llx, %#llx)",
			  X64(gpa), X64(len));
		if (rc == 0) {
			uint64_t exp = len == 0 ? 0 : ok;

			EXPECT(h, done == exp,
			       "gmem_write_partial(%#llx, %#llx): done %zu, "
			       "model %llu (first error %d)",
			       X64(gpa), X64(len), done, X64(exp), err);
			m_write(h, p->members, gpa, b, 0, exp, true);
		} else {
			EXPECT(h, done == SENT_SIZE,
			       "gmem_write_partial failed but wrote *done");
		}
	}
	free(b);
}

static void op_copy(struct h *h)
{
	struct mp *p = sel_map(h);
	uint64_t dst = sel_addr(h), src = sel_addr(h), len = sel_len(h, src);
	int rc, want;

	trace(h, "dst %#llx src %#llx len %#llx", X64(dst), X64(src), X64(len));
	if (len == 0)
		want = 0;
	else if (range_check(src, len) || range_check(dst, len))
		want = -EOVERFLOW;
	else {
		want = m_check(h, p->members, src, len, false);
		if (!want)
			want = m_check(h, p->members, dst, len, true);
	}
	rc = gmem_copy(p->m, dst, src, len);
	EXPECT_RC(h, rc, want, "gmem_copy(%#llx, %#llx, %#llx)", X64(dst),
		  X64(src), X64(len));
	if (rc == 0 && len) {
		uint8_t *t = xmalloc((size_t)len);

		m_read(h, p->members, src, t, len);
		m_write(h, p->members, dst, t, 0, len, true);
		free(t);
	}
}

static void op_fill(struct h *h, bool zero)
{
	struct mp *p = sel_map(h);
	uint64_t gpa = sel_addr(h), len = sel_len(h, gpa);
	uint8_t v = zero ? 0 : fdp_u8(&h->in);
	int rc, want;

	trace(h, "[%#llx +%#llx] = %#x", X64(gpa), X64(len), v);
	want = len == 0 ? 0 : m_check(h, p->members, gpa, len, true);
	rc = zero ? gmem_zero(p->m, gpa, len) : gmem_fill(p->m, gpa, len, v);
	EXPECT_RC(h, rc, want, "gmem_%s(%#llx, %#llx)", zero ? "zero" : "fill",
		  X64(gpa), X64(len));
	if (rc == 0)
		m_write(h, p->members, gpa, NULL, v, len, true);
}

/* Typed kinds: size and byte order. */
static const unsigned typed_size[FD_TYPED_COUNT] = { 1, 2, 4, 8, 2, 4, 8, 2, 4, 8 };
/* 0: host order, 1: little endian, 2: big endian */
static const unsigned typed_order[FD_TYPED_COUNT] = { 0, 0, 0, 0, 1, 1, 1, 2, 2, 2 };
static const char *const typed_name[FD_TYPED_COUNT] = {
	"u8", "u16", "u32", "u64", "le16", "le32", "le64", "be16", "be32", "be64",
};

static bool order_is_big(unsigned order)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return order != 1;
#else
	return order == 2;
#endif
}

static void to_bytes(uint8_t *b, uint64_t v, unsigned size, bool big)
{
	unsigned i;

	for (i = 0; i < size; i++)
		b[big ? size - 1 - i : i] = (uint8_t)(v >> (8 * i));
}

static uint64_t from_bytes(const uint8_t *b, unsigned size, bool big)
{
	uint64_t v = 0;
	unsigned i;

	for (i = 0; i < size; i++)
		v |= (uint64_t)b[big ? size - 1 - i : i] << (8 * i);
	return v;
}

static uint64_t width_mask(unsigned size)
{
	return size == 8 ? UINT64_MAX : (1ULL << (8 * size)) - 1;
}

static int lib_typed_write(const gmem_map *m, unsigned k, uint64_t gpa,
			   uint64_t v)
{
	switch (k) {
	case 0: return gmem_write_u8(m, gpa, (uint8_t)v);
	case 1: return gmem_write_u16(m, gpa, (uint16_t)v);
	case 2: return gmem_write_u32(m, gpa, (uint32_t)v);
	case 3: return gmem_write_u64(m, gpa, v);
	case 4: return gmem_write_le16(m, gpa, (uint16_t)v);
	case 5: return gmem_write_le32(m, gpa, (uint32_t)v);
	case 6: return gmem_write_le64(m, gpa, v);
	case 7: return gmem_write_be16(m, gpa, (uint16_t)v);
	case 8: return gmem_write_be32(m, gpa, (uint32_t)v);
	default: return gmem_write_be64(m, gpa, v);
	}
}

/* Typed read; *out receives the value widened (untouched on failure). */
static int lib_typed_read(const gmem_map *m, unsigned k, uint64_t gpa,
			  uint64_t *out)
{
	uint8_t v8 = CANARY;
	uint16_t v16 = (uint16_t)SENT_U64;
	uint32_t v32 = (uint32_t)SENT_U64;
	uint64_t v64 = SENT_U64;
	int rc;

	switch (k) {
	case 0: rc = gmem_read_u8(m, gpa, &v8); break;
	case 1: rc = gmem_read_u16(m, gpa, &v16); break;
	case 2: rc = gmem_read_u32(m, gpa, &v32); break;
	case 3: rc = gmem_read_u64(m, gpa, &v64); break;
	case 4: rc = gmem_read_le16(m, gpa, &v16); break;
	case 5: rc = gmem_read_le32(m, gpa, &v32); break;
	case 6: rc = gmem_read_le64(m, gpa, &v64); break;
	case 7: rc = gmem_read_be16(m, gpa, &v16); break;
	case 8: rc = gmem_read_be32(m, gpa, &v32); break;
	default: rc = gmem_read_be64(m, gpa, &v64); break;
	}
	switch (typed_size[k]) {
	case 1: *out = v8; break;
	case 2: *out = v16; break;
	case 4: *out = v32; break;
	default: *out = v64; break;
	}
	return rc;
}

static uint64_t sentinel_of(unsigned size)
{
	return size == 1 ? CANARY : SENT_U64 & width_mask(size);
}

/* u8 align: bit 0 rounds the address down to the access size. */
static uint64_t maybe_align(uint64_t gpa, uint8_t align, unsigned size)
{
	return (align & 1) ? gpa & ~(uint64_t)(size - 1) : gpa;
}

static void op_typed_write(struct h *h)
{
	struct mp *p = sel_map(h);
	unsigned k = fdp_u8(&h->in) % FD_TYPED_COUNT, size = typed_size[k];
	uint8_t align = fdp_u8(&h->in);
	uint64_t gpa = maybe_align(sel_addr(h), align, size);
	uint64_t v = fdp_u64(&h->in) & width_mask(size);
	uint8_t b[8];
	int rc, want;

	trace(h, "write_%s(%#llx, %#llx)", typed_name[k], X64(gpa), X64(v));
	want = m_check(h, p->members, gpa, size, true);
	rc = lib_typed_write(p->m, k, gpa, v);
	EXPECT_RC(h, rc, want, "gmem_write_%s(%#llx)", typed_name[k], X64(gpa));
	if (rc == 0) {
		to_bytes(b, v, size, order_is_big(typed_order[k]));
		m_write(h, p->members, gpa, b, 0, size, true);
	}
}

static const char *const atomic_name[FD_ATOMIC_OPS] = {
	"store", "cmpxchg", "fetch_add", "fetch_or", "fetch_and", "load",
};

static int lib_atomic(const gmem_map *m, unsigned op, unsigned size,
		      uint64_t gpa, uint64_t val, uint64_t *expected,
		      uint64_t *old, bool old_null)
{
	uint16_t e16 = (uint16_t)*expected, o16 = (uint16_t)*old;
	uint32_t e32 = (uint32_t)*expected, o32 = (uint32_t)*old;
	uint64_t e64 = *expected, o64 = *old;
	int rc;

#define ATOMIC_CASES(bits, e, o)                                               \
	switch (op) {                                                          \
	case 0:                                                                \
		rc = gmem_atomic_store_u##bits(m, gpa, (uint##bits##_t)val);   \
		break;                                                         \
	case 1:                                                                \
		rc = gmem_atomic_cmpxchg_u##bits(m, gpa, &e,                   \
						 (uint##bits##_t)val);         \
		break;                                                         \
	case 2:                                                                \
		rc = gmem_atomic_fetch_add_u##bits(m, gpa, (uint##bits##_t)val, \
						   old_null ? NULL : &o);      \
		break;                                                         \
	case 3:                                                                \
		rc = gmem_atomic_fetch_or_u##bits(m, gpa, (uint##bits##_t)val, \
						  old_null ? NULL : &o);       \
		break;                                                         \
	case 4:                                                                \
		rc = gmem_atomic_fetch_and_u##bits(m, gpa, (uint##bits##_t)val, \
						   old_null ? NULL : &o);      \
		break;                                                         \
	default:                                                               \
		rc = gmem_atomic_load_u##bits(m, gpa, &o);                     \
		break;                                                         \
	}
	if (size == 2) {
		ATOMIC_CASES(16, e16, o16)
		*expected = e16;
		*old = o16;
	} else if (size == 4) {
		ATOMIC_CASES(32, e32, o32)
		*expected = e32;
		*old = o32;
	} else {
		ATOMIC_CASES(64, e64, o64)
		*expected = e64;
		*old = o64;
	}
#undef ATOMIC_CASES
	return rc;
}

static void op_atomic(struct h *h)
{
	static const unsigned sizes[3] = { 2, 4, 8 };
	struct mp *p = sel_map(h);
	uint8_t opb = fdp_u8(&h->in), align = fdp_u8(&h->in);
	unsigned op = opb % FD_ATOMIC_OPS, size = sizes[(opb / FD_ATOMIC_OPS) % 3];
	uint64_t gpa = maybe_align(sel_addr(h), align, size);
	uint64_t mask = width_mask(size), val = fdp_u64(&h->in) & mask;
	uint8_t flags = fdp_u8(&h->in);
	bool old_null = (flags & 2) && op >= 2 && op <= 4;
	uint64_t expected = (val * 0x9e3779b97f4a7c15ULL) & mask;
	uint64_t sent = SENT_U64 & mask, old = sent, cur = 0, nv = 0;
	uint8_t b[8];
	int rc, want, want2 = 1, i;
	bool modifies = op != 5;

	/* Expected result. */
	if (gpa % size != 0) {
		want = -EINVAL;
	} else if ((i = m_find(h, p->members, gpa)) < 0) {
		want = -EFAULT;
	} else if (gpa + (size - 1) > h->regs[i].last) {
		/* The word leaves its region: -EFAULT; a read-only region
		 * might reasonably be reported first. */
		want = -EFAULT;
		if (modifies && h->regs[i].ro)
			want2 = -EACCES;
	} else if (modifies && h->regs[i].ro) {
		want = -EACCES;
	} else {
		want = 0;
		m_read(h, p->members, gpa, b, size);
		cur = from_bytes(b, size, order_is_big(0));
		if ((flags & 1) && op == 1)
			expected = cur;
		switch (op) {
		case 0: nv = val; break;
		case 1:
			if (cur == expected)
				nv = val;
			else
				want = -EAGAIN;
			break;
		case 2: nv = (cur + val) & mask; break;
		case 3: nv = cur | val; break;
		case 4: nv = cur & val; break;
		default: nv = cur; break;
		}
	}
	trace(h, "%s_u%u(%#llx, val %#llx, expected %#llx) cur %#llx",
	      atomic_name[op], size * 8, X64(gpa), X64(val), X64(expected),
	      X64(cur));
	{
		uint64_t exp_in = expected;

		rc = lib_atomic(p->m, op, size, gpa, val, &expected, &old,
				old_null);
		if (rc != want && rc == want2)
			want = want2;
		EXPECT_RC(h, rc, want, "gmem_atomic_%s_u%u(%#llx)",
			  atomic_name[op], size * 8, X64(gpa));
		if (op == 1) {
			uint64_t e = rc == -EAGAIN ? cur : exp_in;

			EXPECT(h, expected == e,
			       "gmem_atomic_cmpxchg_u%u: *expected %#llx, model "
			       "%#llx (rc %d)",
			       size * 8, X64(expected), X64(e), rc);
		}
	}
	if (rc == 0) {
		if (op >= 2 && !old_null)
			EXPECT(h, old == cur,
			       "gmem_atomic_%s_u%u: old %#llx, model %#llx",
			       atomic_name[op], size * 8, X64(old), X64(cur));
		if (modifies) {
			to_bytes(b, nv, size, order_is_big(0));
			m_write(h, p->members, gpa, b, 0, size, true);
		}
	} else if (op >= 2) {
		EXPECT(h, old == sent,
		       "gmem_atomic_%s_u%u failed but wrote the output",
		       atomic_name[op], size * 8);
	}
}

/* ------------------------------------------------------------------------ */
/* File descriptors                                                          */
/* ------------------------------------------------------------------------ */

static void op_pipe_feed(struct h *h)
{
	uint8_t sub = fdp_u8(&h->in) % 4;

	if (sub == FD_FEED_EOF) {
		trace(h, "close the write end");
		if (h->pwr >= 0)
			close(h->pwr);
		h->pwr = -1;
		return;
	}
	if (sub == FD_FEED_REOPEN) {
		trace(h, "reopen");
		pipe_close(h);
		pipe_open(h);
		return;
	}
	{
		size_t n = fdp_u16(&h->in) % 4097;
		uint8_t seed = fdp_u8(&h->in);
		ssize_t w;

		if (h->pwr < 0 || h->pq_len + n > FD_PIPE_FILL)
			return;
		fill_splitmix(h->pq + h->pq_len, n, seed + 0x1000ULL * h->opno);
		w = n ? write(h->pwr, h->pq + h->pq_len, n) : 0;
		trace(h, "feed %zu bytes: %zd", n, w);
		if (w > 0)
			h->pq_len += (size_t)w;
	}
}

static void op_pipe_read(struct h *h)
{
	struct mp *p = sel_map(h);
	bool exact = fdp_u8(&h->in) & 1;
	uint64_t gpa = sel_addr(h), len = sel_len(h, gpa);
	size_t done = SENT_SIZE, avail = h->pq_len, exp_done = 0;
	bool eof = h->pwr < 0;
	int rc, want;

	if (h->prd < 0)
		return;
	trace(h, "%s(%#llx, %#llx) queued %zu%s",
	      exact ? "gmem_read_fd_exact" : "gmem_read_fd", X64(gpa), X64(len),
	      avail, eof ? " eof" : "");
	want = m_check(h, p->members, gpa, len, true);
	if (want == 0 && len > 0) {
		exp_done = len < avail ? (size_t)len : avail;
		if (exact)
			want = exp_done == len ? 0 : eof ? -ENODATA : -EAGAIN;
		else
			want = (exp_done > 0 || eof) ? 0 : -EAGAIN;
	}
	rc = exact ? gmem_read_fd_exact(p->m, gpa, (size_t)len, h->prd, &done)
		   : gmem_read_fd(p->m, gpa, (size_t)len, h->prd, &done);
	EXPECT_RC(h, rc, want, "%s(%#llx, %#llx) with %zu queued%s",
		  exact ? "gmem_read_fd_exact" : "gmem_read_fd", X64(gpa),
		  X64(len), avail, eof ? " and eof" : "");
	EXPECT(h, done == exp_done, "gmem_read_fd%s: done %zu, model %zu (rc %d)",
	       exact ? "_exact" : "", done, exp_done, rc);
	if (exp_done) {
		m_write(h, p->members, gpa, h->pq, 0, exp_done, true);
		memmove(h->pq, h->pq + exp_done, h->pq_len - exp_done);
		h->pq_len -= exp_done;
	}
}

/* u8 offmode % 3: 0: u16 % (file size + 8); 1: raw u64; 2: INT64_MAX - u8. */
static void op_pread(struct h *h)
{
	struct mp *p = sel_map(h);
	uint64_t gpa = sel_addr(h), len = sel_len(h, gpa);
	uint8_t mode = fdp_u8(&h->in) % 3;
	int64_t off;
	size_t done = SENT_SIZE, exp_done = 0;
	int rc, want;

	if (mode == 0)
		off = (int64_t)(fdp_u16(&h->in) % (h->fsize + 8));
	else if (mode == 1)
		off = (int64_t)fdp_u64(&h->in);
	else
		off = INT64_MAX - (int64_t)fdp_u8(&h->in);
	trace(h, "gmem_pread_fd(%#llx, %#llx, off %lld) file %zu", X64(gpa),
	      X64(len), (long long)off, h->fsize);
	if (off < 0)
		want = -EINVAL;
	else if (range_check(gpa, len))
		want = -EOVERFLOW;
	else if (len > (uint64_t)(INT64_MAX - off))
		want = -EOVERFLOW;
	else {
		want = m_check(h, p->members, gpa, len, true);
		if (want == 0 && len > 0 && (uint64_t)off < h->fsize) {
			uint64_t a = h->fsize - (uint64_t)off;

			exp_done = (size_t)(len < a ? len : a);
		}
	}
	rc = gmem_pread_fd(p->m, gpa, (size_t)len, h->mfd, off, &done);
	EXPECT_RC(h, rc, want, "gmem_pread_fd(%#llx, %#llx, off %lld)", X64(gpa),
		  X64(len), (long long)off);
	EXPECT(h, done == exp_done, "gmem_pread_fd: done %zu, model %zu", done,
	       exp_done);
	if (exp_done)
		m_write(h, p->members, gpa, h->fdata + off, 0, exp_done, true);
}

/* ------------------------------------------------------------------------ */
/* Marks, raw writes, reads                                                  */
/* ------------------------------------------------------------------------ */

static void do_mark(struct h *h, struct mp *p, uint64_t gpa, uint64_t len)
{
	int rc, want;

	want = len == 0 ? (range_check(gpa, len) ? -EOVERFLOW : 0)
			: m_check(h, p->members, gpa, len, false);
	trace(h, "gmem_map_mark_dirty(%#llx, %#llx)", X64(gpa), X64(len));
	rc = gmem_map_mark_dirty(p->m, gpa, len);
	EXPECT_RC(h, rc, want, "gmem_map_mark_dirty(%#llx, %#llx)", X64(gpa),
		  X64(len));
	if (rc == 0)
		m_mark_range(h, p->members, gpa, len);
}

static void op_mark(struct h *h)
{
	struct mp *p = sel_map(h);
	uint64_t gpa = sel_addr(h), len = sel_len(h, gpa);

	do_mark(h, p, gpa, len);
}

/*
 * flags: bit 0: gmem_iovec (else gmem_translate); bit 1: mark the range
 * written afterwards; bit 2: mark only its first half.
 */
static void op_raw_write(struct h *h)
{
	struct mp *p = sel_map(h);
	uint8_t flags = fdp_u8(&h->in);
	uint64_t gpa = sel_addr(h), len = sel_len(h, gpa), written = 0;
	uint8_t seed = fdp_u8(&h->in);
	int rc, want;

	if (!(flags & 1)) {
		void *host = NULL;
		uint64_t avail = 0, exp_avail = 0;
		int i;

		if (len == 0)
			want = -EINVAL;
		else if (range_check(gpa, len))
			want = -EOVERFLOW;
		else if ((i = m_find(h, p->members, gpa)) < 0)
			want = -EFAULT;
		else if (h->regs[i].ro)
			want = -EACCES;
		else {
			want = 0;
			exp_avail = h->regs[i].last - gpa;
			exp_avail = (len - 1 < exp_avail ? len - 1 : exp_avail) + 1;
		}
		rc = gmem_translate(p->m, gpa, len, GMEM_ACCESS_WRITE, &host,
				    &avail);
		EXPECT_RC(h, rc, want, "gmem_translate(%#llx, %#llx, WRITE)",
			  X64(gpa), X64(len));
		if (rc == 0) {
			const struct reg *r = &h->regs[m_find(h, p->members, gpa)];
			uint8_t *b;

			EXPECT(h, avail == exp_avail &&
					  host == r->host + (gpa - r->start),
			       "gmem_translate: host %p avail %#llx, model %p %#llx",
			       host, X64(avail), (void *)(r->host + (gpa - r->start)),
			       X64(exp_avail));
			b = src_buf(avail, seed);
			memcpy(host, b, (size_t)avail);
			m_write(h, p->members, gpa, b, 0, avail, false);
			free(b);
			written = avail;
		}
	} else {
		struct iovec iov[FD_MAX_REGIONS];
		size_t cnt = SENT_SIZE, j;

		want = m_check(h, p->members, gpa, len, true);
		rc = gmem_iovec(p->m, gpa, len, GMEM_ACCESS_WRITE, iov,
				FD_MAX_REGIONS, &cnt);
		EXPECT_RC(h, rc, want, "gmem_iovec(%#llx, %#llx, WRITE)",
			  X64(gpa), X64(len));
		if (rc == 0) {
			uint8_t *b = src_buf(len, seed);
			uint64_t off = 0;

			for (j = 0; j < cnt; j++) {
				memcpy(iov[j].iov_base, b + off, iov[j].iov_len);
				off += iov[j].iov_len;
			}
			EXPECT(h, off == len, "gmem_iovec: lengths add up to %#llx, not %#llx",
			       X64(off), X64(len));
			m_write(h, p->members, gpa, b, 0, len, false);
			free(b);
			written = len;
		}
	}
	trace(h, "raw write [%#llx +%#llx] (flags %#x)", X64(gpa), X64(written),
	      flags);
	if ((flags & 2) && written)
		do_mark(h, p, gpa, (flags & 4) ? (written + 1) / 2 : written);
}

static void op_read(struct h *h)
{
	struct mp *p = sel_map(h);
	unsigned k = fdp_u8(&h->in) % FD_READ_COUNT;
	uint64_t gpa = sel_addr(h), len = sel_len(h, gpa);
	int rc, want;

	if (k == FD_READ_BULK || k == FD_READ_PARTIAL) {
		uint64_t n = len <= FD_BUF ? len : FD_BUF, ok = 0, i;
		uint8_t *b = xmalloc((size_t)n), *e = NULL;
		size_t done = SENT_SIZE;

		memset(b, CANARY, (size_t)n);
		if (range_check(gpa, len))
			want = -EOVERFLOW;
		else if (len == 0)
			want = 0;
		else
			want = m_span(h, p->members, gpa, len, false, &ok);
		if (k == FD_READ_BULK) {
			rc = gmem_read(p->m, gpa, b, (size_t)len);
			ok = rc == 0 ? len : 0;
		} else {
			if (want != -EOVERFLOW && ok > 0)
				want = 0;
			rc = gmem_read_partial(p->m, gpa, b, (size_t)len, &done);
			if (rc == 0)
				EXPECT(h, done == ok,
				       "gmem_read_partial: done %zu, model %llu",
				       done, X64(ok));
			else
				ok = 0;
		}
		trace(h, "%s(%#llx, %#llx) = %d", k ? "gmem_read_partial" : "gmem_read",
		      X64(gpa), X64(len), rc);
		EXPECT_RC(h, rc, want, "%s(%#llx, %#llx)",
			  k ? "gmem_read_partial" : "gmem_read", X64(gpa), X64(len));
		if (ok) {
			e = xmalloc((size_t)ok);
			m_read(h, p->members, gpa, e, ok);
			for (i = 0; i < ok; i++)
				EXPECT(h, b[i] == e[i],
				       "read: byte %llu is %#x, model %#x", X64(i),
				       b[i], e[i]);
			free(e);
		}
		for (i = ok; i < n; i++)
			EXPECT(h, b[i] == CANARY,
			       "read: buffer byte %llu beyond the bytes read changed",
			       X64(i));
		free(b);
	} else if (k < FD_READ_ATOMIC) {
		unsigned t = k - FD_READ_TYPED, size = typed_size[t];
		uint64_t v = 0, ev = 0;
		uint8_t b[8];

		want = m_check(h, p->members, gpa, size, false);
		rc = lib_typed_read(p->m, t, gpa, &v);
		trace(h, "gmem_read_%s(%#llx) = %d", typed_name[t], X64(gpa), rc);
		EXPECT_RC(h, rc, want, "gmem_read_%s(%#llx)", typed_name[t],
			  X64(gpa));
		if (rc == 0) {
			m_read(h, p->members, gpa, b, size);
			ev = from_bytes(b, size, order_is_big(typed_order[t]));
			EXPECT(h, v == ev, "gmem_read_%s(%#llx) = %#llx, model %#llx",
			       typed_name[t], X64(gpa), X64(v), X64(ev));
		} else {
			EXPECT(h, v == sentinel_of(size),
			       "gmem_read_%s failed but wrote *out", typed_name[t]);
		}
	} else if (k < FD_READ_WRITE_FD) {
		static const unsigned sizes[3] = { 2, 4, 8 };
		unsigned size = sizes[k - FD_READ_ATOMIC];
		uint64_t e = 0, old = SENT_U64 & width_mask(size), ev;
		uint8_t b[8];
		int i;

		gpa &= ~(uint64_t)(size - 1) | (len & 1); /* mostly aligned */
		if (gpa % size)
			want = -EINVAL;
		else if ((i = m_find(h, p->members, gpa)) < 0 ||
			 gpa + (size - 1) > h->regs[i].last)
			want = -EFAULT;
		else
			want = 0;
		rc = lib_atomic(p->m, 5, size, gpa, 0, &e, &old, false);
		trace(h, "gmem_atomic_load_u%u(%#llx) = %d", size * 8, X64(gpa), rc);
		EXPECT_RC(h, rc, want, "gmem_atomic_load_u%u(%#llx)", size * 8,
			  X64(gpa));
		if (rc == 0) {
			m_read(h, p->members, gpa, b, size);
			ev = from_bytes(b, size, order_is_big(0));
			EXPECT(h, old == ev, "gmem_atomic_load_u%u = %#llx, model %#llx",
			       size * 8, X64(old), X64(ev));
		}
	} else if (k == FD_READ_WRITE_FD) {
		size_t done = SENT_SIZE;

		if (h->prd < 0 || h->pwr < 0)
			return;
		/* Start from an empty pipe so all of a valid range fits. */
		pipe_drain_check(h, "before gmem_write_fd");
		want = m_check(h, p->members, gpa, len, false);
		rc = gmem_write_fd(p->m, gpa, (size_t)len, h->pwr, &done);
		trace(h, "gmem_write_fd(%#llx, %#llx) = %d, done %zu", X64(gpa),
		      X64(len), rc, done);
		EXPECT_RC(h, rc, want, "gmem_write_fd(%#llx, %#llx) into an empty pipe",
			  X64(gpa), X64(len));
		EXPECT(h, done == (rc == 0 ? len : 0),
		       "gmem_write_fd: done %zu, model %llu", done,
		       X64(rc == 0 ? len : 0));
		if (rc == 0 && len) {
			m_read(h, p->members, gpa, h->pq, len);
			h->pq_len = (size_t)len;
		}
		pipe_drain_check(h, "gmem_write_fd");
	} else {
		/* Read-access translations: no side effect on the bitmaps. */
		void *host = NULL;
		uint64_t avail = 0;
		struct iovec iov[FD_MAX_REGIONS];
		size_t cnt = 0;
		uint64_t tl = len ? len : 1;
		int i = -1;

		/* gmem_translate checks only the first fragment. */
		if (range_check(gpa, tl))
			want = -EOVERFLOW;
		else if ((i = m_find(h, p->members, gpa)) < 0)
			want = -EFAULT;
		else
			want = 0;
		rc = gmem_translate(p->m, gpa, tl, GMEM_ACCESS_READ, &host,
				    &avail);
		EXPECT_RC(h, rc, want, "gmem_translate(%#llx, %#llx, READ)",
			  X64(gpa), X64(tl));
		if (rc == 0) {
			const struct reg *r = &h->regs[i];
			uint64_t ea = r->last - gpa;

			ea = (tl - 1 < ea ? tl - 1 : ea) + 1;
			EXPECT(h, avail == ea && host == r->host + (gpa - r->start),
			       "gmem_translate(READ): host %p avail %#llx, model "
			       "%p %#llx",
			       host, X64(avail), (void *)(r->host + (gpa - r->start)),
			       X64(ea));
		}
		want = m_check(h, p->members, gpa, len, false);
		rc = gmem_iovec(p->m, gpa, len, GMEM_ACCESS_READ, iov,
				FD_MAX_REGIONS, &cnt);
		EXPECT_RC(h, rc, want, "gmem_iovec(%#llx, %#llx, READ)", X64(gpa),
			  X64(len));
	}
}

/* ------------------------------------------------------------------------ */
/* Harvest, query, reset                                                     */
/* ------------------------------------------------------------------------ */

static size_t words_for(uint64_t nbits)
{
	return (size_t)(nbits / 64 + (nbits % 64 != 0));
}

static size_t sel_nwords(struct h *h, size_t need)
{
	size_t n;

	switch (fdp_u8(&h->in) % FD_NW_COUNT) {
	case FD_NW_EXACT:
		n = need;
		break;
	case FD_NW_SHORT:
		n = need ? need - 1 : 0;
		break;
	case FD_NW_MORE:
		n = need + fdp_u8(&h->in) % 4;
		break;
	case FD_NW_SMALL:
	default:
		n = fdp_u8(&h->in) % 4;
		break;
	}
	return n > FD_MAX_WORDS ? FD_MAX_WORDS : n;
}

static void op_region_harvest(struct h *h)
{
	uint8_t k = fdp_u8(&h->in);
	struct reg *r;
	size_t need, nwords, nbits = SENT_SIZE, j;
	uint64_t *bm;
	int rc;

	if (!h->nregs)
		return;
	r = &h->regs[k % h->nregs];
	need = r->tracked ? words_for(r->nbits) : 1;
	nwords = sel_nwords(h, need);
	bm = xmalloc((nwords ? nwords : 1) * sizeof(*bm));
	memset(bm, CANARY, (nwords ? nwords : 1) * sizeof(*bm));
	rc = gmem_region_dirty_harvest(r->r, bm, nwords, &nbits);
	trace(h, "region %u (%s, %llu bits) nwords %zu: %d", k % h->nregs,
	      r->tracked ? "tracked" : "untracked", X64(r->nbits), nwords, rc);
	if (!r->tracked) {
		EXPECT_RC(h, rc, -ENOENT, "gmem_region_dirty_harvest(untracked)");
		EXPECT(h, nbits == SENT_SIZE,
		       "gmem_region_dirty_harvest(untracked) wrote *nbits");
	} else if (nwords < need) {
		EXPECT_RC(h, rc, -ENOBUFS,
			  "gmem_region_dirty_harvest(%llu bits, %zu words)",
			  X64(r->nbits), nwords);
		EXPECT(h, nbits == r->nbits,
		       "gmem_region_dirty_harvest -ENOBUFS: *nbits %zu, model %llu",
		       nbits, X64(r->nbits));
	} else {
		EXPECT_RC(h, rc, 0, "gmem_region_dirty_harvest(%llu bits, %zu words)",
			  X64(r->nbits), nwords);
		EXPECT(h, nbits == r->nbits,
		       "gmem_region_dirty_harvest: *nbits %zu, model %llu", nbits,
		       X64(r->nbits));
		compare_bits(h, bm, r->bits, r->nbits, "gmem_region_dirty_harvest");
		memset(r->bits, 0, (size_t)r->nbits);
	}
	if (rc != 0) {
		const uint8_t *c = (const uint8_t *)bm;

		for (j = 0; j < (nwords ? nwords : 1) * sizeof(*bm); j++)
			EXPECT(h, c[j] == CANARY,
			       "gmem_region_dirty_harvest failed (%d) but wrote "
			       "bitmap byte %zu",
			       rc, j);
	}
	free(bm);
}

static uint64_t sel_ps(struct h *h)
{
	uint64_t v;

	switch (fdp_u8(&h->in) % FD_PSEL_COUNT) {
	case FD_PSEL_TABLE:
		v = fd_ps_table[fdp_u8(&h->in) % 8];
		return v ? v : h->hostpage;
	case FD_PSEL_POW2:
		return 1ULL << (fdp_u8(&h->in) % 64);
	case FD_PSEL_RAW:
		return fdp_u64(&h->in);
	case FD_PSEL_REGION:
	case FD_PSEL_REGION2:
	default:
		return reg_ps(h, pick_reg(h));
	}
}

static uint64_t align_down(uint64_t v, uint64_t ps)
{
	return is_pow2(ps) ? v & ~(ps - 1) : v;
}

static uint64_t sel_mgpa(struct h *h, uint64_t ps)
{
	const struct reg *r;

	switch (fdp_u8(&h->in) % FD_MGPA_COUNT) {
	case FD_MGPA_REGION:
		return align_down(reg_start(pick_reg(h)), ps);
	case FD_MGPA_SHIFT:
		r = pick_reg(h);
		return align_down(reg_start(r), ps) +
		       (uint64_t)fdp_s8(&h->in) * ps;
	case FD_MGPA_ADDR:
		return sel_addr(h);
	case FD_MGPA_ZERO:
		return 0;
	case FD_MGPA_TOP:
	default:
		return 0 - ((uint64_t)fdp_u8(&h->in) + 1) * ps;
	}
}

static uint64_t sel_mlen(struct h *h, uint64_t gpa, uint64_t ps)
{
	const struct reg *r;
	unsigned __int128 end;

	switch (fdp_u8(&h->in) % FD_MLEN_COUNT) {
	case FD_MLEN_FRAMES:
		return (uint64_t)fdp_u8(&h->in) * ps;
	case FD_MLEN_COVER:
		r = pick_reg(h);
		end = (unsigned __int128)reg_start(r) + reg_len(r);
		if (is_pow2(ps))
			end = (end + ps - 1) & ~(unsigned __int128)(ps - 1);
		return (uint64_t)(end - gpa);
	case FD_MLEN_TO_TOP:
		return 0 - gpa;
	case FD_MLEN_ANY:
		return sel_len(h, gpa);
	case FD_MLEN_MANY:
	default:
		return (uint64_t)fdp_u16(&h->in) * ps;
	}
}

static void op_map_dirty(struct h *h)
{
	static const char *const names[3] = { "gmem_map_dirty_query",
					      "gmem_map_dirty_harvest",
					      "gmem_map_dirty_reset" };
	unsigned sub = fdp_u8(&h->in) % 3;
	struct mp *p = sel_map(h);
	uint64_t ps = sel_ps(h), gpa = sel_mgpa(h, ps), len = sel_mlen(h, gpa, ps);
	uint64_t nbits = 0, last = 0, first_frame = 0;
	size_t need = 0, nwords, j, alloc_words;
	bool mismatch = false, enobufs = false;
	uint64_t *bm;
	unsigned shift = 0, i;
	int rc, want, want2;

	if (!is_pow2(ps) || gpa % ps || len % ps) {
		want = -EINVAL;
	} else if (range_check(gpa, len)) {
		want = -EOVERFLOW;
	} else if (len == 0) {
		want = 0;
	} else {
		shift = ctz64(ps);
		last = gpa + (len - 1);
		first_frame = gpa >> shift;
		nbits = (last >> shift) - first_frame + 1;
		need = nbits / 64 >= FD_MAX_WORDS ? FD_MAX_WORDS + 1
						  : words_for(nbits);
		want = 0;
	}
	nwords = sel_nwords(h, need);
	if (want == 0 && len) {
		for (i = 0; i < h->nregs; i++) {
			const struct reg *r = &h->regs[i];

			if ((p->members >> i & 1) && r->tracked && r->ps != ps &&
			    r->start <= last && gpa <= r->last)
				mismatch = true;
		}
		enobufs = sub != FD_MD_RESET && nwords < need;
	}
	want2 = want;
	if (enobufs && mismatch) {
		want = -ENOBUFS;
		want2 = -EINVAL; /* the documentation orders neither first */
	} else if (enobufs) {
		want = want2 = -ENOBUFS;
	} else if (mismatch) {
		want = want2 = -EINVAL;
	}
	alloc_words = nwords ? nwords : 1;
	bm = xmalloc(alloc_words * sizeof(*bm));
	memset(bm, CANARY, alloc_words * sizeof(*bm));
	trace(h, "%s(%#llx, %#llx, ps %#llx, nwords %zu need %zu)", names[sub],
	      X64(gpa), X64(len), X64(ps), nwords, need);
	if (sub == FD_MD_QUERY)
		rc = gmem_map_dirty_query(p->m, gpa, len, ps, bm, nwords);
	else if (sub == FD_MD_HARVEST)
		rc = gmem_map_dirty_harvest(p->m, gpa, len, ps, bm, nwords);
	else
		rc = gmem_map_dirty_reset(p->m, gpa, len, ps);
	if (rc == want2)
		want = want2;
	EXPECT_RC(h, rc, want, "%s(%#llx, %#llx, ps %#llx, nwords %zu)",
		  names[sub], X64(gpa), X64(len), X64(ps), nwords);
	if (rc == 0 && len) {
		uint8_t *e = sub != FD_MD_RESET ? xmalloc((size_t)nbits) : NULL;

		if (e)
			memset(e, 0, (size_t)nbits);
		for (i = 0; i < h->nregs; i++) {
			struct reg *r = &h->regs[i];
			uint64_t f, l, fr;

			if (!(p->members >> i & 1) || !r->tracked ||
			    r->start > last || gpa > r->last)
				continue;
			f = (r->start > gpa ? r->start : gpa) >> shift;
			l = (r->last < last ? r->last : last) >> shift;
			for (fr = f;; fr++) {
				uint8_t *bit = &r->bits[fr - r->first_frame];

				if (e && *bit)
					e[fr - first_frame] = 1;
				if (sub != FD_MD_QUERY)
					*bit = 0;
				if (fr == l)
					break;
			}
		}
		if (e) {
			char what[160];

			snprintf(what, sizeof(what), "%s(%#llx, %#llx, ps %#llx)",
				 names[sub], X64(gpa), X64(len), X64(ps));
			compare_bits(h, bm, e, nbits, what);
			free(e);
		}
	} else if (sub != FD_MD_RESET) {
		const uint8_t *c = (const uint8_t *)bm;

		/* Failure, or len 0: "0 harvests nothing". */
		for (j = 0; j < alloc_words * sizeof(*bm); j++)
			EXPECT(h, c[j] == CANARY,
			       "%s (rc %d, len %#llx) wrote bitmap byte %zu",
			       names[sub], rc, X64(len), j);
	}
	free(bm);
}

/* ------------------------------------------------------------------------ */
/* Map swaps                                                                 */
/* ------------------------------------------------------------------------ */

static void op_swap(struct h *h)
{
	unsigned sub = fdp_u8(&h->in) % FD_SWAP_COUNT, k, i;
	gmem_map *m = (gmem_map *)(uintptr_t)SENT_U64;
	gmem_region *removed = (gmem_region *)(uintptr_t)SENT_U64;
	int rc, want;

	switch (sub) {
	case FD_SWAP_INSERT:
		k = fdp_u8(&h->in);
		if (h->nregs)
			do_insert(h, k % h->nregs);
		break;
	case FD_SWAP_REMOVE:
	case FD_SWAP_REMOVE_BAD: {
		uint64_t gpa, len;
		bool keep;
		int found = -1;

		k = fdp_u8(&h->in);
		if (!h->nregs)
			break;
		k %= h->nregs;
		gpa = h->regs[k].start;
		len = h->regs[k].len;
		if (sub == FD_SWAP_REMOVE_BAD) {
			gpa += (uint64_t)fdp_s8(&h->in);
			len += (uint64_t)fdp_s8(&h->in);
		}
		keep = fdp_u8(&h->in) & 1;
		for (i = 0; i < h->nregs; i++)
			if ((h->cur.members >> i & 1) && h->regs[i].start == gpa &&
			    h->regs[i].len == len)
				found = (int)i;
		want = found < 0 ? -ENOENT : 0;
		trace(h, "remove [%#llx +%#llx]", X64(gpa), X64(len));
		rc = gmem_map_remove(&m, h->cur.m, gpa, len, keep ? &removed : NULL);
		EXPECT_RC(h, rc, want, "gmem_map_remove(%#llx, %#llx)", X64(gpa),
			  X64(len));
		if (rc) {
			EXPECT(h, m == (gmem_map *)(uintptr_t)SENT_U64 &&
					  removed == (gmem_region *)(uintptr_t)SENT_U64,
			       "gmem_map_remove failed but wrote outputs");
			break;
		}
		if (keep) {
			EXPECT(h, removed == h->regs[found].r,
			       "gmem_map_remove: *removed is %p, expected %p",
			       (void *)removed, (void *)h->regs[found].r);
			gmem_region_free(removed);
		}
		map_replace(&h->cur, m, h->cur.members & ~(1u << found));
		verify_count(h, &h->cur);
		break;
	}
	case FD_SWAP_REBUILD: {
		unsigned mask = fdp_u8(&h->in), rot = fdp_u8(&h->in), n = 0, members = 0;
		gmem_region *arr[FD_MAX_REGIONS];

		want = 0;
		for (i = 0; i < h->nregs; i++) {
			unsigned j = (i + rot) % h->nregs;

			if (!(mask >> j & 1))
				continue;
			for (k = 0; k < h->nregs; k++)
				if ((members >> k & 1) &&
				    regions_overlap(&h->regs[k], &h->regs[j]))
					want = -EEXIST;
			members |= 1u << j;
			arr[n++] = h->regs[j].r;
		}
		trace(h, "rebuild members %#x", members);
		rc = gmem_map_new(&m, n ? arr : NULL, n, 0);
		EXPECT_RC(h, rc, want, "gmem_map_new(members %#x)", members);
		if (rc) {
			EXPECT(h, m == (gmem_map *)(uintptr_t)SENT_U64,
			       "gmem_map_new failed but wrote *out");
			break;
		}
		map_replace(&h->cur, m, members);
		verify_count(h, &h->cur);
		break;
	}
	case FD_SWAP_SNAPSHOT:
		if (h->nold == FD_MAX_OLD) {
			gmem_map_free(h->old[0].m);
			h->old[0] = h->old[1];
			h->nold--;
		}
		h->old[h->nold].m = gmem_map_ref(h->cur.m);
		h->old[h->nold].members = h->cur.members;
		h->nold++;
		trace(h, "snapshot: %u old maps", h->nold);
		break;
	case FD_SWAP_DROP:
		k = fdp_u8(&h->in);
		if (!h->nold)
			break;
		k %= h->nold;
		gmem_map_free(h->old[k].m);
		for (i = k; i + 1 < h->nold; i++)
			h->old[i] = h->old[i + 1];
		h->nold--;
		trace(h, "drop old map %u", k);
		break;
	case FD_SWAP_EXCHANGE: {
		struct mp t;

		k = fdp_u8(&h->in);
		if (!h->nold)
			break;
		k %= h->nold;
		t = h->cur;
		h->cur = h->old[k];
		h->old[k] = t;
		trace(h, "exchange with old map %u", k);
		break;
	}
	case FD_SWAP_EMPTY:
	default:
		rc = gmem_map_new(&m, NULL, 0, 0);
		EXPECT_RC(h, rc, 0, "gmem_map_new(empty)");
		map_replace(&h->cur, m, 0);
		trace(h, "empty map");
		break;
	}
}

/* ------------------------------------------------------------------------ */
/* Miscellaneous argument checks                                             */
/* ------------------------------------------------------------------------ */

static void op_misc(struct h *h)
{
	unsigned sub = fdp_u8(&h->in) % FD_MISC_COUNT;
	const struct reg *r = pick_reg(h);
	uint64_t v = fdp_u64(&h->in), got = SENT_U64, bm[2] = { SENT_U64, SENT_U64 };
	size_t nbits = SENT_SIZE;
	int rc;

	switch (sub) {
	case FD_MISC_PAGE_SIZE:
		if (!r)
			break;
		rc = gmem_region_dirty_page_size(r->r, &got);
		EXPECT_RC(h, rc, r->tracked ? 0 : -ENOENT,
			  "gmem_region_dirty_page_size");
		EXPECT(h, got == (r->tracked ? r->ps : SENT_U64),
		       "gmem_region_dirty_page_size: %#llx", X64(got));
		break;
	case FD_MISC_NULL:
		EXPECT_RC(h, gmem_region_dirty_page_size(NULL, &got), -EINVAL,
			  "gmem_region_dirty_page_size(NULL)");
		EXPECT_RC(h, gmem_map_mark_dirty(NULL, 0, 1), -EINVAL,
			  "gmem_map_mark_dirty(NULL)");
		rc = gmem_region_dirty_harvest(NULL, bm, 2, &nbits);
		EXPECT_RC(h, rc, -EINVAL, "gmem_region_dirty_harvest(NULL)");
		rc = gmem_map_dirty_harvest(NULL, 0, 4096, 4096, bm, 2);
		EXPECT_RC(h, rc, -EINVAL, "gmem_map_dirty_harvest(NULL map)");
		rc = gmem_map_dirty_query(NULL, 0, 4096, 4096, bm, 2);
		EXPECT_RC(h, rc, -EINVAL, "gmem_map_dirty_query(NULL map)");
		rc = gmem_map_dirty_reset(NULL, 0, 4096, 4096);
		EXPECT_RC(h, rc, -EINVAL, "gmem_map_dirty_reset(NULL map)");
		rc = gmem_map_dirty_harvest(h->cur.m, 0, 4096, 4096, NULL, 2);
		EXPECT_RC(h, rc, -EINVAL, "gmem_map_dirty_harvest(NULL bitmap)");
		rc = gmem_map_dirty_query(h->cur.m, 0, 4096, 4096, NULL, 2);
		EXPECT_RC(h, rc, -EINVAL, "gmem_map_dirty_query(NULL bitmap)");
		if (r) {
			EXPECT_RC(h, gmem_region_dirty_page_size(r->r, NULL),
				  -EINVAL, "gmem_region_dirty_page_size(NULL out)");
			rc = gmem_region_dirty_harvest(r->r, NULL, 2, &nbits);
			EXPECT_RC(h, rc, -EINVAL,
				  "gmem_region_dirty_harvest(NULL bitmap)");
			rc = gmem_region_dirty_harvest(r->r, bm, 2, NULL);
			EXPECT_RC(h, rc, -EINVAL,
				  "gmem_region_dirty_harvest(NULL nbits)");
		}
		EXPECT(h, nbits == SENT_SIZE && bm[0] == SENT_U64 &&
				  bm[1] == SENT_U64,
		       "a dirty call with a NULL argument wrote an output");
		break;
	case FD_MISC_BAD_PS:
	case FD_MISC_UNTRACKED_PS: {
		struct gmem_region_config cfg = GMEM_REGION_CONFIG_INIT;
		gmem_region *gr = (gmem_region *)(uintptr_t)SENT_U64;
		bool tracked = sub == FD_MISC_BAD_PS;

		if (tracked && is_pow2(v))
			v |= v == 1 ? 2 : 1; /* never a power of two */
		cfg.gpa = 0x100000;
		cfg.len = 4096;
		cfg.flags = tracked ? GMEM_REGION_DIRTY_LOG : 0;
		cfg.dirty_page_size = v;
		rc = gmem_region_new(&gr, &cfg);
		trace(h, "region_new(%s, dirty_page_size %#llx) = %d",
		      tracked ? "tracked" : "untracked", X64(v), rc);
		if (tracked) {
			if (v != 0) {
				EXPECT_RC(h, rc, -EINVAL,
					  "gmem_region_new(DIRTY_LOG, "
					  "dirty_page_size %#llx)",
					  X64(v));
				EXPECT(h, gr == (gmem_region *)(uintptr_t)SENT_U64,
				       "gmem_region_new failed but wrote *out");
			} else {
				EXPECT_RC(h, rc, 0, "gmem_region_new(DIRTY_LOG, 0)");
			}
		} else {
			/* Only checked with GMEM_REGION_DIRTY_LOG. */
			EXPECT_RC(h, rc, 0,
				  "gmem_region_new(untracked, dirty_page_size %#llx)",
				  X64(v));
		}
		if (rc == 0) {
			got = SENT_U64;
			rc = gmem_region_dirty_page_size(gr, &got);
			EXPECT_RC(h, rc, tracked ? 0 : -ENOENT,
				  "gmem_region_dirty_page_size of a %s region",
				  tracked ? "tracked" : "untracked");
			gmem_region_free(gr);
		}
		break;
	}
	default:
		break;
	}
}

static void op_region_new(struct h *h)
{
	int k = region_new(h);
	uint8_t ins = fdp_u8(&h->in);

	if (k >= 0 && (ins & 1))
		do_insert(h, (unsigned)k);
}

/* ------------------------------------------------------------------------ */
/* Driver                                                                    */
/* ------------------------------------------------------------------------ */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static void setup(struct h *h)
{
	unsigned n = fdp_u8(&h->in) % 6 + 1, i;
	gmem_map *m = NULL;
	int rc;

	rc = gmem_map_new(&m, NULL, 0, 0);
	EXPECT_RC(h, rc, 0, "gmem_map_new(empty)");
	h->cur.m = m;
	h->cur.members = 0;
	for (i = 0; i < n; i++) {
		int k = region_new(h);

		if (k >= 0)
			do_insert(h, (unsigned)k);
	}
	pipe_open(h);
	h->mfd = memfd_create("fuzz_dirty", MFD_CLOEXEC);
	if (h->mfd < 0)
		abort();
	h->fsize = (size_t)(h->nregs * 613u) % FD_FILE_MAX;
	fill_splitmix(h->fdata, h->fsize, 0xf11e + h->nregs);
	if (h->fsize &&
	    pwrite(h->mfd, h->fdata, h->fsize, 0) != (ssize_t)h->fsize)
		abort();
}

static void teardown(struct h *h)
{
	unsigned i;

	gmem_map_free(h->cur.m);
	for (i = 0; i < h->nold; i++)
		gmem_map_free(h->old[i].m);
	for (i = 0; i < h->nregs; i++) {
		struct reg *r = &h->regs[i];

		gmem_region_free(r->r);
		free(r->alloc);
		free(r->data);
		free(r->bits);
	}
	pipe_close(h);
	if (h->mfd >= 0)
		close(h->mfd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int trace_env = -1;
	struct h *h = calloc(1, sizeof(*h));

	if (!h)
		abort();
	if (trace_env < 0) {
		const char *t = getenv("GMEM_FUZZ_TRACE");

		trace_env = t && *t && *t != '0';
		signal(SIGPIPE, SIG_IGN);
	}
	h->trace = trace_env != 0;
	h->prd = h->pwr = h->mfd = -1;
	h->hostpage = (uint64_t)sysconf(_SC_PAGESIZE);
	h->pq = g_pq;
	fdp_init(&h->in, data, size);
	setup(h);

	while (!fdp_empty(&h->in) && h->opno < FD_MAX_OPS) {
		unsigned op = fdp_u8(&h->in) % FD_OP_COUNT;

		h->opno++;
		h->opname = op_names[op];
		switch (op) {
		case FD_OP_WRITE: op_write(h, false); break;
		case FD_OP_WRITE_PARTIAL: op_write(h, true); break;
		case FD_OP_COPY: op_copy(h); break;
		case FD_OP_FILL: op_fill(h, false); break;
		case FD_OP_ZERO: op_fill(h, true); break;
		case FD_OP_TYPED_WRITE: op_typed_write(h); break;
		case FD_OP_ATOMIC: op_atomic(h); break;
		case FD_OP_PIPE_READ: op_pipe_read(h); break;
		case FD_OP_PIPE_FEED: op_pipe_feed(h); break;
		case FD_OP_PREAD: op_pread(h); break;
		case FD_OP_MARK: op_mark(h); break;
		case FD_OP_RAW_WRITE: op_raw_write(h); break;
		case FD_OP_READ: op_read(h); break;
		case FD_OP_REGION_HARVEST: op_region_harvest(h); break;
		case FD_OP_MAP_DIRTY: op_map_dirty(h); break;
		case FD_OP_SWAP: op_swap(h); break;
		case FD_OP_VERIFY:
			verify_data(h);
			verify_all_bits(h);
			break;
		case FD_OP_MISC: op_misc(h); break;
		case FD_OP_REGION_NEW: op_region_new(h); break;
		default: break;
		}
		if (h->opno % (FD_VERIFY_EVERY / 2) == 0)
			verify_data(h);
		if (h->opno % FD_VERIFY_EVERY == 0)
			verify_all_bits(h);
	}
	h->opname = "final";
	verify_data(h);
	verify_all_bits(h);
	teardown(h);
	free(h);
	return 0;
}

#endif /* FUZZ_DIRTY_ENCODING_ONLY */
