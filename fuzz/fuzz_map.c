/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * fuzz_map.c - structure-aware differential fuzzer for libgmem's map and
 * access layers.
 *
 * The input is a stream of operations (see fuzz/fuzz_input.h for the
 * encoding): create regions, insert them into the current map, remove
 * them, rebuild the map from a shuffled subset, keep old maps alive, and
 * access the current map through every public accessor.  Every operation is
 * performed on the library and on the reference model (fuzz/shadow.c); the
 * return codes, every output and the guest memory contents must agree, and
 * outputs must be left untouched on failure.  Any disagreement prints one
 * line to stderr and calls abort(), which is how libFuzzer reports a finding.
 *
 * Input layout (fuzz/fuzz_input.h: little-endian, missing bytes read as 0):
 *   byte 0        initial map cap: value % 8 (0 means the default cap)
 *   then          operations, each an opcode byte (% FM_OP_COUNT) followed
 *                 by its arguments, until the input ends or FM_MAX_OPS.
 *
 * Operations and their arguments (A = address selector, L = length
 * selector, P = placement selector, R = region length selector; see
 * fuzz_input.h; "slot" bytes pick a created region modulo their number):
 *   0 region_new     u8 kind, R, P, u8 content seed, u8 dirty
 *                    kind: bits 0-2 == 0 anonymous else user memory,
 *                    bit 3 read-only, bit 4 insert into the current map,
 *                    bit 5 then drop the pool's reference, bits 6-7 extra
 *                    anonymous flags; dirty: bit 0 GMEM_REGION_DIRTY_LOG,
 *                    bits 1-3 index into FM_DPS_TABLE
 *   1 insert         u8 slot
 *   2 remove         u8 mode % 3: 0 exact (u8 index), 1 inexact (u8 index,
 *                    s8 start delta, s8 len delta), 2 raw (A, L); u8 opts
 *                    (bit 0: NULL @removed)
 *   3 rebuild        u32 slot mask, u8 opts (bit 0 duplicate, bit 1 NULL
 *                    entry, bit 2 NULL array when empty, bits 4-5 cap mode),
 *                    one shuffle byte per entry after the first, the
 *                    duplicate / NULL positions, a cap byte
 *   4 maps           u8 mode % 4 (snapshot, swap, drop, verify), u8 index
 *   5/6 translate[_exact], 7 check_range   A, L, u8 access
 *   8/10 read[_partial]                    A, L, u8 opts (bit 0 NULL buffer
 *                                          when the length is 0)
 *   9/11 write[_partial]                   A, L, u8 data seed, u8 opts
 *   12 copy          A dst, A src, L
 *   13 fill          A, L, u8 value;  14 zero: A, L
 *   15 iovec         A, L, u8 access, u8 cap mode, u8 cap
 *   16 typed_read    u8 variant % 10, A, u8 opts (bit 0 align down,
 *                    bit 7 NULL out)
 *   17 typed_write   u8 variant % 10, A, u8 opts, u64 value
 *   18 atomic        u8 op * 3 + size, A, u8 opts (bit 0 align down,
 *                    bit 1 NULL pointer, bit 2 NULL old, bit 3 expect the
 *                    current value), u64 value, u64 expected
 *   19 verify        compare all contents, maps and dirty bitmaps
 *   20 query         u8 mode % 3: find (A), region (u8 index), verify
 *   21 region_ref    u8 slot, u8 mode % 3 (ref+free, drop, retake)
 *   22 bad_region    u8 case % 14, u8 parameter, u8 length, P
 *   23 null_args     A
 *   24 dirty         u8 mode % 6: query / harvest / reset (page size
 *                    selector, A, L, u8 opts, [u8 nwords]), mark (A, L),
 *                    region harvest (u8 slot, u8 opts, [u8 nwords]),
 *                    dirty page size (u8 slot)
 *
 * The seed generator fuzz/gen_seeds.c writes this encoding from readable
 * descriptions; regenerate the corpus with it after changing the format.
 *
 * Regions are GMEM_BACKING_USER on a malloc'd block whose end is exactly the
 * region's end (so ASan catches a 1-byte overrun), with host % 8 ==
 * gpa % 8; or, for one kind value in eight, GMEM_BACKING_ANON.  No state
 * survives between inputs.  Set GMEM_FUZZ_TRACE=1 to log every operation.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "gmem.h"
#include "fuzz_input.h"
#include "fuzz_util.h"
#include "shadow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * libgmem's hidden map builders for atomic spaces (src/internal.h): build
 * in the memory of a dead map, writing only what differs.  Only static
 * builds (the libFuzzer ones) can link them; elsewhere the weak references
 * are NULL and insert/remove use the public functions only.
 */
extern gmem_map *gmem__map_recycle(gmem_map *map) __attribute__((weak));
extern int gmem__map_insert(gmem_map **out, const gmem_map *map,
			    gmem_region *region, gmem_map **spare)
	__attribute__((weak));
extern int gmem__map_remove(gmem_map **out, const gmem_map *map,
			    uint64_t gpa, uint64_t len, gmem_region **removed,
			    gmem_map **spare) __attribute__((weak));

#define FM_MAX_OPS 256
#define FM_MAX_SLOTS 24		  /* regions created per input */
#define FM_MAX_LIVE 16		  /* regions alive at once */
#define FM_MAX_BYTES (1u << 20)	  /* total bytes of live regions */
#define FM_MAX_OLD 4		  /* old maps kept alive */
#define FM_BIG_BUF (64u << 10)	  /* larger host buffers sized by the model */
#define FM_IOV_MAX 32
#define FM_VERIFY_EVERY 16

#define SENT_PTR ((void *)(uintptr_t)0x5e57e1f00dULL)
#define SENT_U64 0xa5a5a5a5a5a5a5a5ULL
#define CANARY 0xa5

struct slot {
	gmem_region *r;		  /* library handle, valid while !dead */
	struct shadow_region *sr; /* model; kept until the end of the input */
	uint8_t *alloc;		  /* USER backing: the malloc'd block */
	uint8_t *host;		  /* host address of the region's first byte */
	bool anon;
	bool own_ref;		  /* the pool holds a reference */
	bool dead;		  /* every reference has been dropped */
};

struct mpair {
	gmem_map *m;
	struct shadow_map *s;
};

struct fm {
	struct fdp in;
	struct slot slots[FM_MAX_SLOTS];
	unsigned nslots;
	struct mpair cur;
	struct mpair old[FM_MAX_OLD];
	unsigned nold;
	gmem_map *spare; /* memory of a dead map (gmem__map_recycle()), or NULL */
	unsigned opno;
	const char *opname;
	uint64_t prev_addr;
	uint64_t pagesize;
	bool trace;
};

static const char *const op_names[FM_OP_COUNT] = {
	"region_new", "insert",	      "remove",	       "rebuild",
	"maps",	      "translate",    "translate_exact", "check_range",
	"read",	      "write",	      "read_partial",  "write_partial",
	"copy",	      "fill",	      "zero",	       "iovec",
	"typed_read", "typed_write",  "atomic",	       "verify",
	"query",      "region_ref",   "bad_region",    "null_args",
	"dirty",
};

/* ------------------------------------------------------------------------ */
/* Reporting                                                                 */
/* ------------------------------------------------------------------------ */

__attribute__((noreturn, format(printf, 2, 3))) static void
fm_fail(const struct fm *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fuzz_vdiverge("fuzz_map", f->opno, f->opname, NULL, fmt, ap);
}

__attribute__((format(printf, 2, 3))) static void trace(const struct fm *f,
							const char *fmt, ...)
{
	va_list ap;

	if (!f->trace)
		return;
	va_start(ap, fmt);
	fuzz_vtrace(f->opno, f->opname, fmt, ap);
	va_end(ap);
}

#define EXPECT_RC(f, got, want, ...)                                           \
	do {                                                                   \
		int got_ = (got), want_ = (want);                              \
		if ((f)->trace)                                                \
			fprintf(stderr, "      -> %d %s\n", got_,             \
				got_ ? gmem_strerror(got_) : "");              \
		if (got_ != want_) {                                           \
			char what_[192];                                       \
			snprintf(what_, sizeof(what_), __VA_ARGS__);           \
			fm_fail(f, "%s: library returned %d (%s), model %d (%s)", \
				what_, got_, gmem_strerror(got_), want_,       \
				gmem_strerror(want_));                         \
		}                                                              \
	} while (0)

#define EXPECT(f, cond, ...)                                                   \
	do {                                                                   \
		if (!(cond))                                                   \
			fm_fail(f, __VA_ARGS__);                               \
	} while (0)

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

/*
 * Pseudo-random bytes with a period of 61 (prime, so no power-of-two
 * misplacement can go unnoticed), extended by doubling copies for speed.
 */
static void fill_pattern(uint8_t *p, uint64_t n, uint64_t seed)
{
	uint64_t s = seed, i, k;

	for (i = 0; i < n && i < 61; i++)
		p[i] = (uint8_t)splitmix64(&s);
	for (k = i; k < n; k *= 2)
		memcpy(p + k, p, k < n - k ? k : n - k);
}

static struct slot *slot_of(const struct shadow_region *sr)
{
	return (struct slot *)sr->tag;
}

static unsigned live_slots(const struct fm *f)
{
	unsigned i, n = 0;

	for (i = 0; i < f->nslots; i++)
		n += !f->slots[i].dead;
	return n;
}

static uint64_t live_bytes(const struct fm *f)
{
	uint64_t sum = 0;
	unsigned i;

	for (i = 0; i < f->nslots; i++)
		if (!f->slots[i].dead)
			sum += f->slots[i].sr->len;
	return sum;
}

static bool in_some_map(const struct fm *f, const struct shadow_region *sr)
{
	unsigned i;

	if (shadow_map_contains(f->cur.s, sr))
		return true;
	for (i = 0; i < f->nold; i++)
		if (shadow_map_contains(f->old[i].s, sr))
			return true;
	return false;
}

/*
 * Regions the pool no longer references and no live map holds are gone in
 * the library too; free the caller's memory behind them.
 */
static void reap(struct fm *f)
{
	unsigned i;

	for (i = 0; i < f->nslots; i++) {
		struct slot *s = &f->slots[i];

		if (s->dead || s->own_ref || in_some_map(f, s->sr))
			continue;
		s->dead = true;
		s->r = NULL;
		free(s->alloc);
		s->alloc = NULL;
		s->host = NULL;
	}
}

/* Start and length of a slot chosen by one byte (0x1000/0x1000 if none). */
static void pick_slot(struct fm *f, uint64_t *start, uint64_t *len)
{
	uint8_t k = fdp_u8(&f->in);

	if (f->nslots == 0) {
		*start = 0x1000;
		*len = 0x1000;
		return;
	}
	*start = f->slots[k % f->nslots].sr->start;
	*len = f->slots[k % f->nslots].sr->len;
}

/* ------------------------------------------------------------------------ */
/* Selectors                                                                 */
/* ------------------------------------------------------------------------ */

static uint64_t sel_addr(struct fm *f)
{
	uint64_t a, start, len;

	switch (fdp_u8(&f->in) % FM_ADDR_COUNT) {
	case FM_ADDR_RAW:
		a = fdp_u64(&f->in);
		break;
	case FM_ADDR_START:
		pick_slot(f, &start, &len);
		a = start + (uint64_t)fdp_s8(&f->in);
		break;
	case FM_ADDR_END:
		pick_slot(f, &start, &len);
		a = start + len + (uint64_t)fdp_s8(&f->in);
		break;
	case FM_ADDR_INSIDE:
		pick_slot(f, &start, &len);
		a = start + fdp_u32(&f->in) % len;
		break;
	case FM_ADDR_LOW:
		a = fdp_u8(&f->in);
		break;
	case FM_ADDR_TOP:
		a = UINT64_MAX - fdp_u8(&f->in);
		break;
	case FM_ADDR_PAGE:
		a = (uint64_t)fdp_u16(&f->in) * 4096;
		a += (uint64_t)fdp_s8(&f->in);
		break;
	case FM_ADDR_4G:
		a = (1ULL << 32) + (uint64_t)fdp_s8(&f->in);
		break;
	case FM_ADDR_PREV:
	default:
		a = f->prev_addr + (uint64_t)fdp_s8(&f->in);
		break;
	}
	f->prev_addr = a;
	return a;
}

static uint64_t sel_len(struct fm *f, uint64_t gpa)
{
	uint64_t start, len;

	switch (fdp_u8(&f->in) % FM_LEN_COUNT) {
	case FM_LEN_SMALL:
		return fdp_u8(&f->in) % 17;
	case FM_LEN_U16:
		return fdp_u16(&f->in);
	case FM_LEN_TO_END:
		pick_slot(f, &start, &len);
		return start + len - gpa + (uint64_t)fdp_s8(&f->in);
	case FM_LEN_TO_TOP:
		return (0 - gpa) + (uint64_t)fdp_s8(&f->in);
	case FM_LEN_RAW:
		return fdp_u64(&f->in);
	case FM_LEN_BYTE:
		return (uint64_t)fdp_u8(&f->in) + 1;
	case FM_LEN_POW2:
		return 1ULL << (fdp_u8(&f->in) % 4);
	case FM_LEN_SPAN:
	default:
		return fdp_u32(&f->in) % (1u << 21);
	}
}

static uint64_t sel_rlen(struct fm *f)
{
	switch (fdp_u8(&f->in) % FM_RLEN_COUNT) {
	case FM_RLEN_TINY:
		return fdp_u8(&f->in) % 64 + 1;
	case FM_RLEN_SMALL:
		return fdp_u16(&f->in) % 4096 + 1;
	case FM_RLEN_BIG:
		return (uint64_t)fdp_u16(&f->in) + 1;
	case FM_RLEN_PAGES:
	default:
		return (uint64_t)(fdp_u8(&f->in) % 16 + 1) * 4096;
	}
}

static uint64_t sel_place(struct fm *f, uint64_t rlen)
{
	uint64_t start, len;

	switch (fdp_u8(&f->in) % FM_PLACE_COUNT) {
	case FM_PLACE_RAW:
		return fdp_u64(&f->in);
	case FM_PLACE_LOW:
		return fdp_u16(&f->in);
	case FM_PLACE_TOP:
		return 0 - rlen - fdp_u8(&f->in);
	case FM_PLACE_AFTER:
		pick_slot(f, &start, &len);
		return start + len + (uint64_t)fdp_s8(&f->in);
	case FM_PLACE_BEFORE:
		pick_slot(f, &start, &len);
		return start - rlen + (uint64_t)fdp_s8(&f->in);
	case FM_PLACE_OVERLAP:
		pick_slot(f, &start, &len);
		return start + fdp_u16(&f->in) % len;
	case FM_PLACE_PAGE:
		return (uint64_t)fdp_u16(&f->in) * 4096 +
		       (uint64_t)fdp_s8(&f->in);
	case FM_PLACE_HIGH:
	default:
		return UINT64_MAX - fdp_u32(&f->in);
	}
}

/* Access bits: mostly valid, sometimes 0 or unknown bits. */
static unsigned sel_access(struct fm *f)
{
	static const unsigned table[8] = {
		GMEM_ACCESS_READ, GMEM_ACCESS_WRITE, GMEM_ACCESS_RW,
		GMEM_ACCESS_READ, GMEM_ACCESS_WRITE, 0,
		4,		  GMEM_ACCESS_RW | 8,
	};

	return table[fdp_u8(&f->in) % 8];
}

/* ------------------------------------------------------------------------ */
/* Verification                                                              */
/* ------------------------------------------------------------------------ */

static void verify_map(const struct fm *f, const struct mpair *p,
		       const char *which)
{
	size_t n = gmem_map_count(p->m), i;
	gmem_region *r;
	uint64_t last, mlast;
	int rc, mrc;

	EXPECT(f, n == p->s->n, "%s map: gmem_map_count %zu, model %zu", which,
	       n, p->s->n);
	EXPECT(f, gmem_map_max_regions(p->m) == p->s->cap,
	       "%s map: gmem_map_max_regions %zu, model %zu", which,
	       gmem_map_max_regions(p->m), p->s->cap);
	for (i = 0; i < n; i++) {
		const struct shadow_region *sr = p->s->r[i];

		r = SENT_PTR;
		rc = gmem_map_region(p->m, i, &r);
		EXPECT_RC(f, rc, 0, "%s map: gmem_map_region(%zu)", which, i);
		EXPECT(f, r == slot_of(sr)->r,
		       "%s map: region %zu is %p, model [%#llx +%#llx] %p",
		       which, i, (void *)r, (unsigned long long)sr->start,
		       (unsigned long long)sr->len, (void *)slot_of(sr)->r);
		EXPECT(f,
		       gmem_region_start(r) == sr->start &&
			       gmem_region_len(r) == sr->len &&
			       gmem_region_last(r) == shadow_region_last(sr),
		       "%s map: region %zu geometry changed", which, i);
	}
	r = SENT_PTR;
	rc = gmem_map_region(p->m, n, &r);
	EXPECT_RC(f, rc, -ENOENT, "%s map: gmem_map_region(count)", which);
	EXPECT(f, r == SENT_PTR, "%s map: gmem_map_region(count) wrote *out",
	       which);
	last = mlast = SENT_U64;
	rc = gmem_map_last_addr(p->m, &last);
	mrc = shadow_last_addr(p->s, &mlast);
	EXPECT_RC(f, rc, mrc, "%s map: gmem_map_last_addr", which);
	EXPECT(f, last == mlast, "%s map: last_addr %#llx, model %#llx", which,
	       (unsigned long long)last, (unsigned long long)mlast);
}

static void verify_maps(const struct fm *f)
{
	unsigned i;

	verify_map(f, &f->cur, "current");
	for (i = 0; i < f->nold; i++)
		verify_map(f, &f->old[i], "old");
}

static void verify_slot_range(const struct fm *f, const struct slot *s,
			      uint64_t off, uint64_t n)
{
	uint64_t i;

	if (memcmp(s->host + off, s->sr->bytes + off, n) == 0)
		return;
	for (i = off; i < off + n; i++)
		if (s->host[i] != s->sr->bytes[i])
			fm_fail(f,
				"guest byte %#llx (region [%#llx +%#llx]) is "
				"%#x, model %#x",
				(unsigned long long)(s->sr->start + i),
				(unsigned long long)s->sr->start,
				(unsigned long long)s->sr->len, s->host[i],
				s->sr->bytes[i]);
}

static void verify_contents(const struct fm *f)
{
	unsigned i;

	for (i = 0; i < f->nslots; i++)
		if (!f->slots[i].dead)
			verify_slot_range(f, &f->slots[i], 0,
					  f->slots[i].sr->len);
}

/* Compare the bytes of [gpa, gpa + len) that lie in live regions. */
static void verify_range(const struct fm *f, uint64_t gpa, uint64_t len)
{
	typedef unsigned __int128 u128;
	u128 lo = gpa, hi = (u128)gpa + len;
	unsigned i;

	for (i = 0; i < f->nslots; i++) {
		const struct slot *s = &f->slots[i];
		u128 rs, re, a, b;

		if (s->dead)
			continue;
		rs = s->sr->start;
		re = rs + s->sr->len;
		a = lo > rs ? lo : rs;
		b = hi < re ? hi : re;
		if (a < b)
			verify_slot_range(f, s, (uint64_t)(a - rs),
					  (uint64_t)(b - a));
	}
}

static void check_canary(const struct fm *f, const uint8_t *buf, size_t from,
			 size_t to, const char *what)
{
	static const uint8_t canary[256] = { [0 ... 255] = CANARY };
	size_t i;

	for (i = from; i + sizeof(canary) <= to; i += sizeof(canary))
		if (memcmp(buf + i, canary, sizeof(canary)) != 0)
			break;
	for (; i < to; i++)
		EXPECT(f, buf[i] == CANARY,
		       "%s: host buffer byte %zu changed (%#x) but must not be",
		       what, i, buf[i]);
}

/* ------------------------------------------------------------------------ */
/* Map changes                                                               */
/* ------------------------------------------------------------------------ */

static void mpair_free(struct mpair *p)
{
	gmem_map_free(p->m);
	shadow_map_free(p->s);
	p->m = NULL;
	p->s = NULL;
}

/* Drop the current map; keep its memory for the next build if it was the
 * last reference and the hidden builders are linked. */
static void drop_cur(struct fm *f)
{
	gmem_map *mem;

	if (!gmem__map_recycle || !gmem__map_insert || !gmem__map_remove) {
		mpair_free(&f->cur);
		return;
	}
	mem = gmem__map_recycle(f->cur.m);
	if (mem) {
		free(f->spare);
		f->spare = mem;
	}
	shadow_map_free(f->cur.s);
	f->cur.m = NULL;
	f->cur.s = NULL;
}

/* Every other op builds in the spare, if there is one. */
static gmem_map **spare_for(struct fm *f)
{
	return gmem__map_insert && gmem__map_remove && (f->opno & 1)
		       ? &f->spare
		       : NULL;
}

/* Replace the current map by a new one derived from it. */
static void set_cur(struct fm *f, gmem_map *m, struct shadow_map *s)
{
	/* The source must be unchanged by the derivation. */
	verify_map(f, &f->cur, "source");
	drop_cur(f);
	f->cur.m = m;
	f->cur.s = s;
	verify_map(f, &f->cur, "new");
	reap(f);
}

static void do_insert(struct fm *f, struct slot *s)
{
	struct shadow_map *ms = NULL;
	gmem_map *m = SENT_PTR, **spare;
	int rc, mrc;

	if (s->dead)
		return;
	trace(f, "insert [%#llx +%#llx]%s", (unsigned long long)s->sr->start,
	      (unsigned long long)s->sr->len, s->sr->ro ? " ro" : "");
	mrc = shadow_map_insert(&ms, f->cur.s, s->sr);
	spare = spare_for(f);
	rc = spare ? gmem__map_insert(&m, f->cur.m, s->r, spare)
		   : gmem_map_insert(&m, f->cur.m, s->r);
	EXPECT_RC(f, rc, mrc, "gmem_map_insert([%#llx +%#llx]) into %zu regions",
		  (unsigned long long)s->sr->start,
		  (unsigned long long)s->sr->len, f->cur.s->n);
	if (rc) {
		EXPECT(f, m == SENT_PTR, "gmem_map_insert failed but wrote *out");
		verify_map(f, &f->cur, "source");
		return;
	}
	set_cur(f, m, ms);
}

static void op_region_new(struct fm *f)
{
	uint8_t kind = fdp_u8(&f->in);
	uint64_t len = sel_rlen(f);
	uint64_t gpa = sel_place(f, len);
	uint8_t seed = fdp_u8(&f->in), dirty = fdp_u8(&f->in);
	bool anon = (kind & 7) == 0, ro = kind & 8, insert = kind & 16;
	bool drop = kind & 32, track = dirty & 1;
	static const uint64_t dps_table[8] = FM_DPS_TABLE;
	uint64_t dps = 0;
	struct gmem_region_config cfg = GMEM_REGION_CONFIG_INIT;
	struct slot *s;
	gmem_region *r = SENT_PTR;
	uint8_t *alloc = NULL;
	int rc, mrc;

	if (f->nslots >= FM_MAX_SLOTS || live_slots(f) >= FM_MAX_LIVE ||
	    live_bytes(f) + len > FM_MAX_BYTES)
		return;
	trace(f, "%s [%#llx +%#llx]%s%s%s%s", anon ? "anon" : "user",
	      (unsigned long long)gpa, (unsigned long long)len,
	      ro ? " ro" : "", insert ? " insert" : "", drop ? " drop" : "",
	      track ? " dirty-log" : "");
	cfg.gpa = gpa;
	cfg.len = len;
	cfg.flags = ro ? GMEM_REGION_READONLY : 0;
	if (track) {
		cfg.flags |= GMEM_REGION_DIRTY_LOG;
		cfg.dirty_page_size = dps_table[(dirty >> 1) % 8];
		dps = cfg.dirty_page_size ? cfg.dirty_page_size : f->pagesize;
	}
	if (anon) {
		static const uint32_t extra[4] = {
			0, GMEM_REGION_NO_GUARD, GMEM_REGION_NORESERVE,
			GMEM_REGION_POPULATE | GMEM_REGION_NO_GUARD,
		};

		cfg.backing = GMEM_BACKING_ANON;
		cfg.flags |= extra[kind >> 6];
	} else {
		cfg.backing = GMEM_BACKING_USER;
		/* The block ends exactly where the region ends. */
		alloc = xmalloc(gpa % 8 + len);
		cfg.host = alloc + gpa % 8;
		fill_pattern(cfg.host, len, seed * 0x100000001ULL + len);
	}
	mrc = shadow_region_config_check(cfg.size, cfg.backing, cfg.flags,
					 cfg.fd, gpa, len, 0, false,
					 (unsigned)((uintptr_t)cfg.host % 8),
					 0, f->pagesize);
	if (!mrc)
		mrc = shadow_region_dirty_config_check(cfg.flags,
						       cfg.dirty_page_size);
	rc = gmem_region_new(&r, &cfg);
	EXPECT_RC(f, rc, mrc, "gmem_region_new(%s [%#llx +%#llx])",
		  anon ? "anon" : "user", (unsigned long long)gpa,
		  (unsigned long long)len);
	if (rc) {
		EXPECT(f, r == SENT_PTR, "gmem_region_new failed but wrote *out");
		free(alloc);
		return;
	}
	s = &f->slots[f->nslots++];
	s->r = r;
	s->alloc = alloc;
	s->anon = anon;
	s->own_ref = true;
	s->host = anon ? gmem_region_host(r) : (uint8_t *)cfg.host;
	s->sr = shadow_region_new(gpa, len, ro, anon ? NULL : s->host, s);
	if (!s->sr || (track && shadow_region_track(s->sr, dps) != 0))
		abort();
	EXPECT(f, gmem_region_start(r) == gpa, "gmem_region_start");
	EXPECT(f, gmem_region_len(r) == len, "gmem_region_len");
	EXPECT(f, gmem_region_last(r) == gpa + (len - 1), "gmem_region_last");
	EXPECT(f, gmem_region_host(r) == s->host && s->host != NULL &&
			  (uintptr_t)s->host % 8 == gpa % 8,
	       "gmem_region_host %p (expected %p, host %% 8 == gpa %% 8)",
	       gmem_region_host(r), (void *)s->host);
	EXPECT(f, gmem_region_backing(r) == (int)cfg.backing,
	       "gmem_region_backing");
	EXPECT(f, gmem_region_flags(r) == cfg.flags, "gmem_region_flags %#x",
	       gmem_region_flags(r));
	EXPECT(f, gmem_region_writable(r) == !ro, "gmem_region_writable");
	EXPECT(f, gmem_region_fd(r) == -1, "gmem_region_fd");
	EXPECT(f, gmem_region_file_offset(r) == 0, "gmem_region_file_offset");
	EXPECT(f, gmem_region_page_size(r) == f->pagesize,
	       "gmem_region_page_size %llu",
	       (unsigned long long)gmem_region_page_size(r));
	{
		uint64_t got = SENT_U64;

		rc = gmem_region_dirty_page_size(r, &got);
		EXPECT_RC(f, rc, track ? 0 : -ENOENT,
			  "gmem_region_dirty_page_size");
		EXPECT(f, got == (track ? dps : SENT_U64),
		       "gmem_region_dirty_page_size: %#llx, expected %#llx",
		       (unsigned long long)got,
		       (unsigned long long)(track ? dps : SENT_U64));
	}
	if (anon)
		verify_slot_range(f, s, 0, len); /* fresh anonymous: zeros */
	if (insert)
		do_insert(f, s);
	if (drop && shadow_map_contains(f->cur.s, s->sr)) {
		/* The map's reference must keep the region mapped. */
		gmem_region_free(s->r);
		s->own_ref = false;
	}
}

static void op_insert(struct fm *f)
{
	uint8_t k = fdp_u8(&f->in);

	if (f->nslots == 0)
		return;
	do_insert(f, &f->slots[k % f->nslots]);
}

static void op_remove(struct fm *f)
{
	uint8_t mode = fdp_u8(&f->in) % 3, opts;
	struct shadow_region *mremoved = NULL;
	struct shadow_map *ms = NULL;
	gmem_region *removed = SENT_PTR;
	gmem_map *m = SENT_PTR, **spare;
	uint64_t gpa, len;
	int rc, mrc;

	if (mode == 2) {
		gpa = sel_addr(f);
		len = sel_len(f, gpa);
	} else {
		uint8_t k = fdp_u8(&f->in);
		const struct shadow_region *sr =
			f->cur.s->n ? f->cur.s->r[k % f->cur.s->n] : NULL;

		gpa = sr ? sr->start : 0;
		len = sr ? sr->len : 1;
		if (mode == 1) {
			gpa += (uint64_t)fdp_s8(&f->in);
			len += (uint64_t)fdp_s8(&f->in);
		}
	}
	opts = fdp_u8(&f->in);
	trace(f, "remove [%#llx +%#llx]", (unsigned long long)gpa,
	      (unsigned long long)len);
	mrc = shadow_map_remove(&ms, f->cur.s, gpa, len,
				(opts & 1) ? NULL : &mremoved);
	spare = spare_for(f);
	rc = spare ? gmem__map_remove(&m, f->cur.m, gpa, len,
				      (opts & 1) ? NULL : &removed, spare)
		   : gmem_map_remove(&m, f->cur.m, gpa, len,
				     (opts & 1) ? NULL : &removed);
	EXPECT_RC(f, rc, mrc, "gmem_map_remove(%#llx, %#llx)",
		  (unsigned long long)gpa, (unsigned long long)len);
	if (rc) {
		EXPECT(f, m == SENT_PTR && removed == SENT_PTR,
		       "gmem_map_remove failed but wrote outputs");
		verify_map(f, &f->cur, "source");
		return;
	}
	if (!(opts & 1)) {
		EXPECT(f, removed == slot_of(mremoved)->r,
		       "gmem_map_remove: *removed %p, expected %p",
		       (void *)removed, (void *)slot_of(mremoved)->r);
		gmem_region_free(removed);
	}
	set_cur(f, m, ms);
}

static void op_rebuild(struct fm *f)
{
	uint32_t mask = fdp_u32(&f->in);
	uint8_t opts = fdp_u8(&f->in);
	gmem_region *arr[FM_MAX_SLOTS + 2];
	struct shadow_region *marr[FM_MAX_SLOTS + 2];
	struct shadow_map *ms = NULL;
	gmem_map *m = SENT_PTR;
	size_t count = 0, cap, i;
	int rc, mrc;

	for (i = 0; i < f->nslots; i++)
		if ((mask >> i) & 1 && !f->slots[i].dead) {
			arr[count] = f->slots[i].r;
			marr[count++] = f->slots[i].sr;
		}
	/* Fisher-Yates with input bytes. */
	for (i = count; i > 1; i--) {
		size_t j = fdp_u8(&f->in) % i;
		gmem_region *t = arr[i - 1];
		struct shadow_region *mt = marr[i - 1];

		arr[i - 1] = arr[j];
		marr[i - 1] = marr[j];
		arr[j] = t;
		marr[j] = mt;
	}
	if ((opts & 1) && count > 0) { /* the same region twice */
		size_t j = fdp_u8(&f->in) % count;

		arr[count] = arr[j];
		marr[count++] = marr[j];
	}
	if (opts & 2) { /* a NULL entry */
		size_t j = fdp_u8(&f->in) % (count + 1);

		arr[count] = arr[j];
		marr[count] = marr[j];
		arr[j] = NULL;
		marr[j] = NULL;
		count++;
	}
	switch ((opts >> 4) & 3) {
	case 0:
		cap = 0;
		break;
	case 1: {
		int64_t c = (int64_t)count + (int64_t)(fdp_u8(&f->in) % 5) - 2;

		cap = c < 0 ? 0 : (size_t)c;
		break;
	}
	case 2:
		cap = fdp_u8(&f->in) % 8;
		break;
	default:
		cap = GMEM_MAP_LIMIT_MAX_REGIONS + (fdp_u8(&f->in) & 1);
		break;
	}
	trace(f, "rebuild count %zu cap %zu%s%s", count, cap,
	      (opts & 1) ? " dup" : "", (opts & 2) ? " null" : "");
	mrc = shadow_map_new(&ms, count ? marr : NULL, count, cap);
	rc = gmem_map_new(&m, (count || !(opts & 4)) ? arr : NULL, count, cap);
	EXPECT_RC(f, rc, mrc, "gmem_map_new(count %zu, cap %zu)", count, cap);
	if (rc) {
		EXPECT(f, m == SENT_PTR, "gmem_map_new failed but wrote *out");
		return;
	}
	set_cur(f, m, ms);
}

static void op_maps(struct fm *f)
{
	uint8_t mode = fdp_u8(&f->in) % 4, k = fdp_u8(&f->in);
	struct mpair t;

	switch (mode) {
	case 0: /* snapshot the current map */
		trace(f, "snapshot (%u old)", f->nold);
		if (f->nold == FM_MAX_OLD) {
			verify_map(f, &f->old[0], "old");
			mpair_free(&f->old[0]);
			memmove(&f->old[0], &f->old[1],
				(FM_MAX_OLD - 1) * sizeof(f->old[0]));
			f->nold--;
		}
		t.m = gmem_map_ref(f->cur.m);
		EXPECT(f, t.m == f->cur.m, "gmem_map_ref returned another map");
		t.s = shadow_map_clone(f->cur.s);
		f->old[f->nold++] = t;
		reap(f);
		break;
	case 1: /* make an old map current */
		if (!f->nold)
			return;
		trace(f, "swap with old %u", k % f->nold);
		t = f->cur;
		f->cur = f->old[k % f->nold];
		f->old[k % f->nold] = t;
		break;
	case 2: /* drop an old map */
		if (!f->nold)
			return;
		trace(f, "drop old %u", k % f->nold);
		verify_map(f, &f->old[k % f->nold], "old");
		mpair_free(&f->old[k % f->nold]);
		memmove(&f->old[k % f->nold], &f->old[k % f->nold + 1],
			(f->nold - k % f->nold - 1) * sizeof(f->old[0]));
		f->nold--;
		reap(f);
		break;
	default:
		trace(f, "verify maps");
		verify_maps(f);
		break;
	}
}

/* ------------------------------------------------------------------------ */
/* Accesses                                                                  */
/* ------------------------------------------------------------------------ */

static uint8_t *host_of(const struct shadow_region *sr, uint64_t off)
{
	return slot_of(sr)->host + off;
}

static void op_translate(struct fm *f, bool exact)
{
	uint64_t gpa = sel_addr(f), len = sel_len(f, gpa);
	unsigned access = sel_access(f);
	struct shadow_region *mr = NULL;
	uint64_t moff = 0, mavail = 0, avail = SENT_U64;
	void *host = SENT_PTR;
	int rc, mrc;

	trace(f, "[%#llx +%#llx] access %u", (unsigned long long)gpa,
	      (unsigned long long)len, access);
	if (exact) {
		mrc = shadow_translate_exact(f->cur.s, gpa, len, access, &mr,
					     &moff);
		rc = gmem_translate_exact(f->cur.m, gpa, len, access, &host);
	} else {
		mrc = shadow_translate(f->cur.s, gpa, len, access, &mr, &moff,
				       &mavail);
		rc = gmem_translate(f->cur.m, gpa, len, access, &host, &avail);
	}
	EXPECT_RC(f, rc, mrc, "%s(%#llx, %#llx, access %u)",
		  exact ? "gmem_translate_exact" : "gmem_translate",
		  (unsigned long long)gpa, (unsigned long long)len, access);
	if (rc) {
		EXPECT(f, host == SENT_PTR && avail == SENT_U64,
		       "translate failed but wrote outputs");
		return;
	}
	EXPECT(f, host == host_of(mr, moff),
	       "translate(%#llx): host %p, expected %p",
	       (unsigned long long)gpa, host, (void *)host_of(mr, moff));
	if (!exact)
		EXPECT(f, avail == mavail,
		       "gmem_translate(%#llx, %#llx): avail %#llx, model %#llx",
		       (unsigned long long)gpa, (unsigned long long)len,
		       (unsigned long long)avail, (unsigned long long)mavail);
}

static void op_check_range(struct fm *f)
{
	uint64_t gpa = sel_addr(f), len = sel_len(f, gpa);
	unsigned access = sel_access(f);
	int rc, mrc;

	trace(f, "[%#llx +%#llx] access %u", (unsigned long long)gpa,
	      (unsigned long long)len, access);
	mrc = shadow_check_range(f->cur.s, gpa, len, access);
	rc = gmem_check_range(f->cur.m, gpa, len, access);
	EXPECT_RC(f, rc, mrc, "gmem_check_range(%#llx, %#llx, access %u)",
		  (unsigned long long)gpa, (unsigned long long)len, access);
}

static void op_read(struct fm *f, bool partial)
{
	uint64_t gpa = sel_addr(f), len = sel_len(f, gpa);
	uint8_t opts = fdp_u8(&f->in);
	uint64_t mdone = 0, mbytes = shadow_mapped_bytes(f->cur.s);
	size_t done = (size_t)SENT_U64, alloc, touched;
	uint8_t *mbuf, *buf;
	int rc, mrc;

	trace(f, "[%#llx +%#llx]", (unsigned long long)gpa,
	      (unsigned long long)len);
	/* The model never produces more than the mapped bytes. */
	mbuf = xmalloc(len < mbytes ? len : mbytes);
	if (partial) {
		mrc = shadow_read_partial(f->cur.s, gpa, mbuf, len, &mdone);
		touched = mrc ? 0 : mdone;
	} else {
		mrc = shadow_check_range(f->cur.s, gpa, len, GMEM_ACCESS_READ);
		if (!mrc)
			mrc = shadow_read(f->cur.s, gpa, mbuf, len);
		touched = mrc ? 0 : len;
	}
	/* Exact-size buffer; huge lengths get only what the model touches. */
	alloc = len <= FM_BIG_BUF ? len : touched;
	buf = (len == 0 && (opts & 1)) ? NULL : xmalloc(alloc);
	if (buf)
		memset(buf, CANARY, alloc);
	if (partial)
		rc = gmem_read_partial(f->cur.m, gpa, buf, len, &done);
	else
		rc = gmem_read(f->cur.m, gpa, buf, len);
	EXPECT_RC(f, rc, mrc, "%s(%#llx, %#llx)",
		  partial ? "gmem_read_partial" : "gmem_read",
		  (unsigned long long)gpa, (unsigned long long)len);
	if (partial && rc == 0)
		EXPECT(f, done == mdone,
		       "gmem_read_partial(%#llx, %#llx): done %zu, model %llu",
		       (unsigned long long)gpa, (unsigned long long)len, done,
		       (unsigned long long)mdone);
	if (partial && rc != 0)
		EXPECT(f, done == (size_t)SENT_U64,
		       "gmem_read_partial failed but wrote *done");
	if (buf) {
		EXPECT(f, touched == 0 || memcmp(buf, mbuf, touched) == 0,
		       "%s(%#llx, %#llx): data differs from the model",
		       partial ? "gmem_read_partial" : "gmem_read",
		       (unsigned long long)gpa, (unsigned long long)len);
		check_canary(f, buf, touched, alloc, "read");
	}
	free(buf);
	free(mbuf);
}

static void op_write(struct fm *f, bool partial)
{
	uint64_t gpa = sel_addr(f), len = sel_len(f, gpa);
	uint8_t seed = fdp_u8(&f->in), opts = fdp_u8(&f->in);
	uint64_t mdone = 0, mbytes = shadow_mapped_bytes(f->cur.s);
	size_t done = (size_t)SENT_U64, alloc, mlen;
	uint8_t *msrc, *src;
	int rc, mrc;

	trace(f, "[%#llx +%#llx]", (unsigned long long)gpa,
	      (unsigned long long)len);
	/* Model source: the model never consumes more than the mapped bytes. */
	mlen = len < mbytes ? len : mbytes;
	if (len <= FM_BIG_BUF)
		mlen = len;
	msrc = xmalloc(mlen);
	fill_pattern(msrc, mlen, seed * 0x9e37ULL + len);
	if (partial) {
		mrc = shadow_write_partial(f->cur.s, gpa, msrc, len, &mdone);
		alloc = len <= FM_BIG_BUF ? len : (mrc ? 0 : mdone);
	} else {
		mrc = shadow_check_range(f->cur.s, gpa, len, GMEM_ACCESS_WRITE);
		if (!mrc)
			mrc = shadow_write(f->cur.s, gpa, msrc, len);
		alloc = len <= FM_BIG_BUF ? len : (mrc ? 0 : len);
	}
	src = (len == 0 && (opts & 1)) ? NULL : xmalloc(alloc);
	if (src)
		memcpy(src, msrc, alloc);
	if (partial)
		rc = gmem_write_partial(f->cur.m, gpa, src, len, &done);
	else
		rc = gmem_write(f->cur.m, gpa, src, len);
	EXPECT_RC(f, rc, mrc, "%s(%#llx, %#llx)",
		  partial ? "gmem_write_partial" : "gmem_write",
		  (unsigned long long)gpa, (unsigned long long)len);
	if (partial && rc == 0)
		EXPECT(f, done == mdone,
		       "gmem_write_partial(%#llx, %#llx): done %zu, model %llu",
		       (unsigned long long)gpa, (unsigned long long)len, done,
		       (unsigned long long)mdone);
	if (partial && rc != 0)
		EXPECT(f, done == (size_t)SENT_U64,
		       "gmem_write_partial failed but wrote *done");
	verify_range(f, gpa, len);
	free(src);
	free(msrc);
}

static void op_copy(struct fm *f)
{
	uint64_t dst = sel_addr(f), src = sel_addr(f), len = sel_len(f, src);
	int rc, mrc;

	trace(f, "dst %#llx src %#llx len %#llx", (unsigned long long)dst,
	      (unsigned long long)src, (unsigned long long)len);
	mrc = shadow_copy(f->cur.s, dst, src, len);
	rc = gmem_copy(f->cur.m, dst, src, len);
	EXPECT_RC(f, rc, mrc, "gmem_copy(dst %#llx, src %#llx, len %#llx)",
		  (unsigned long long)dst, (unsigned long long)src,
		  (unsigned long long)len);
	verify_range(f, dst, len);
	verify_range(f, src, len);
}

static void op_fill(struct fm *f, bool zero)
{
	uint64_t gpa = sel_addr(f), len = sel_len(f, gpa);
	uint8_t value = zero ? 0 : fdp_u8(&f->in);
	int rc, mrc;

	trace(f, "[%#llx +%#llx] = %#x", (unsigned long long)gpa,
	      (unsigned long long)len, value);
	mrc = shadow_fill(f->cur.s, gpa, len, value);
	rc = zero ? gmem_zero(f->cur.m, gpa, len)
		  : gmem_fill(f->cur.m, gpa, len, value);
	EXPECT_RC(f, rc, mrc, "%s(%#llx, %#llx)",
		  zero ? "gmem_zero" : "gmem_fill", (unsigned long long)gpa,
		  (unsigned long long)len);
	verify_range(f, gpa, len);
}

static void op_iovec(struct fm *f)
{
	uint64_t gpa = sel_addr(f), len = sel_len(f, gpa);
	unsigned access = sel_access(f);
	uint8_t capmode = fdp_u8(&f->in), capbyte = fdp_u8(&f->in);
	struct shadow_frag frags[FM_IOV_MAX];
	size_t cap, mcount = 0, count = (size_t)SENT_U64, i, alloc;
	struct iovec *iov;
	bool null_iov = false, null_count = false;
	int rc, mrc;

	switch (capmode % 6) {
	case 0: cap = 0; null_iov = true; break;
	case 1: cap = 0; break;
	case 2: cap = capbyte % 4; break;
	case 3: cap = FM_IOV_MAX; break;
	case 4: cap = capbyte % 4 + 1; null_iov = true; break; /* -EINVAL */
	default: cap = capbyte % FM_IOV_MAX; null_count = (capbyte & 0x80) != 0;
		break;
	}
	trace(f, "[%#llx +%#llx] access %u cap %zu%s%s",
	      (unsigned long long)gpa, (unsigned long long)len, access, cap,
	      null_iov ? " null-iov" : "", null_count ? " null-count" : "");
	if ((null_iov && cap > 0) || null_count)
		mrc = -EINVAL;
	else
		mrc = shadow_iovec(f->cur.s, gpa, len, access, frags, cap,
				   &mcount);
	alloc = null_iov ? 0 : cap;
	iov = null_iov ? NULL : xmalloc(alloc * sizeof(*iov));
	for (i = 0; i < alloc; i++) {
		iov[i].iov_base = SENT_PTR;
		iov[i].iov_len = (size_t)SENT_U64;
	}
	rc = gmem_iovec(f->cur.m, gpa, len, access, iov, cap,
			null_count ? NULL : &count);
	EXPECT_RC(f, rc, mrc, "gmem_iovec(%#llx, %#llx, access %u, cap %zu)",
		  (unsigned long long)gpa, (unsigned long long)len, access,
		  cap);
	if (rc == 0 || rc == -ENOBUFS)
		EXPECT(f, count == mcount,
		       "gmem_iovec(%#llx, %#llx): count %zu, model %zu",
		       (unsigned long long)gpa, (unsigned long long)len, count,
		       mcount);
	else
		EXPECT(f, count == (size_t)SENT_U64,
		       "gmem_iovec failed (%d) but wrote *iov_count", rc);
	for (i = 0; i < alloc; i++) {
		if (rc == 0 && i < mcount) {
			EXPECT(f,
			       iov[i].iov_base ==
					       host_of(frags[i].r, frags[i].off) &&
				       iov[i].iov_len == frags[i].len,
			       "gmem_iovec(%#llx, %#llx): entry %zu {%p, %zu}, "
			       "model {%p, %llu}",
			       (unsigned long long)gpa, (unsigned long long)len,
			       i, iov[i].iov_base, iov[i].iov_len,
			       (void *)host_of(frags[i].r, frags[i].off),
			       (unsigned long long)frags[i].len);
		} else {
			EXPECT(f,
			       iov[i].iov_base == SENT_PTR &&
				       iov[i].iov_len == (size_t)SENT_U64,
			       "gmem_iovec (rc %d): entry %zu of %zu written "
			       "but must not be",
			       rc, i, alloc);
		}
	}
	free(iov);
}

struct typed_variant {
	unsigned size;
	enum shadow_endian e;
	const char *name;
};

static const struct typed_variant typed_variants[10] = {
	{ 1, SHADOW_HOST, "u8" },   { 2, SHADOW_HOST, "u16" },
	{ 4, SHADOW_HOST, "u32" },  { 8, SHADOW_HOST, "u64" },
	{ 2, SHADOW_LE, "le16" },   { 4, SHADOW_LE, "le32" },
	{ 8, SHADOW_LE, "le64" },   { 2, SHADOW_BE, "be16" },
	{ 4, SHADOW_BE, "be32" },   { 8, SHADOW_BE, "be64" },
};

/* Read with the library; *val is only written on success. */
static int lib_typed_read(const gmem_map *m, unsigned v, uint64_t gpa,
			  uint64_t *val, bool null_out, bool *touched)
{
	int rc;

#define TREAD(fn, type, sent)                                                  \
	do {                                                                   \
		type x_ = (type)(sent);                                        \
		rc = fn(m, gpa, null_out ? NULL : &x_);                        \
		*touched = x_ != (type)(sent);                                 \
		if (rc == 0)                                                   \
			*val = x_;                                             \
	} while (0)

	switch (v) {
	case 0: TREAD(gmem_read_u8, uint8_t, SENT_U64); break;
	case 1: TREAD(gmem_read_u16, uint16_t, SENT_U64); break;
	case 2: TREAD(gmem_read_u32, uint32_t, SENT_U64); break;
	case 3: TREAD(gmem_read_u64, uint64_t, SENT_U64); break;
	case 4: TREAD(gmem_read_le16, uint16_t, SENT_U64); break;
	case 5: TREAD(gmem_read_le32, uint32_t, SENT_U64); break;
	case 6: TREAD(gmem_read_le64, uint64_t, SENT_U64); break;
	case 7: TREAD(gmem_read_be16, uint16_t, SENT_U64); break;
	case 8: TREAD(gmem_read_be32, uint32_t, SENT_U64); break;
	default: TREAD(gmem_read_be64, uint64_t, SENT_U64); break;
	}
#undef TREAD
	return rc;
}

static int lib_typed_write(const gmem_map *m, unsigned v, uint64_t gpa,
			   uint64_t val)
{
	switch (v) {
	case 0: return gmem_write_u8(m, gpa, (uint8_t)val);
	case 1: return gmem_write_u16(m, gpa, (uint16_t)val);
	case 2: return gmem_write_u32(m, gpa, (uint32_t)val);
	case 3: return gmem_write_u64(m, gpa, val);
	case 4: return gmem_write_le16(m, gpa, (uint16_t)val);
	case 5: return gmem_write_le32(m, gpa, (uint32_t)val);
	case 6: return gmem_write_le64(m, gpa, val);
	case 7: return gmem_write_be16(m, gpa, (uint16_t)val);
	case 8: return gmem_write_be32(m, gpa, (uint32_t)val);
	default: return gmem_write_be64(m, gpa, val);
	}
}

static void op_typed(struct fm *f, bool write)
{
	unsigned v = fdp_u8(&f->in) % 10;
	const struct typed_variant *tv = &typed_variants[v];
	uint64_t gpa = sel_addr(f);
	uint8_t opts = fdp_u8(&f->in);
	uint64_t val = write ? fdp_u64(&f->in) : 0, mval = 0, got = SENT_U64;
	bool null_out = !write && (opts & 0x80), touched = false;
	int rc, mrc;

	if (opts & 1)
		gpa &= ~(uint64_t)(tv->size - 1);
	trace(f, "%s %s %#llx", write ? "write" : "read", tv->name,
	      (unsigned long long)gpa);
	if (write) {
		mrc = shadow_typed_write(f->cur.s, gpa, tv->size, tv->e, val);
		rc = lib_typed_write(f->cur.m, v, gpa, val);
	} else {
		mrc = null_out ? -EINVAL
			       : shadow_typed_read(f->cur.s, gpa, tv->size,
						   tv->e, &mval);
		rc = lib_typed_read(f->cur.m, v, gpa, &got, null_out,
				    &touched);
	}
	EXPECT_RC(f, rc, mrc, "gmem_%s_%s(%#llx)", write ? "write" : "read",
		  tv->name, (unsigned long long)gpa);
	if (write) {
		verify_range(f, gpa, tv->size);
	} else if (rc == 0) {
		EXPECT(f, got == mval, "gmem_read_%s(%#llx): %#llx, model %#llx",
		       tv->name, (unsigned long long)gpa,
		       (unsigned long long)got, (unsigned long long)mval);
	} else {
		EXPECT(f, !touched, "gmem_read_%s failed but wrote *out",
		       tv->name);
	}
}

static const char *const atomic_names[SHADOW_ATOMIC_COUNT] = {
	"load", "store", "cmpxchg", "fetch_add", "fetch_or", "fetch_and",
};

/*
 * One atomic through the library.  *expected and *old are in/out as in the
 * API; null_ptr passes NULL for the mandatory pointer (load's out,
 * cmpxchg's expected), null_old passes NULL for the optional fetch result.
 */
static int lib_atomic(const gmem_map *m, enum shadow_atomic_op op,
		      unsigned size, uint64_t gpa, uint64_t val,
		      uint64_t *expected, uint64_t *old, bool null_ptr,
		      bool null_old)
{
	int rc = -EINVAL;

#define ATOMIC_CASES(bits, type)                                               \
	do {                                                                   \
		type o_ = (type)*old, e_ = (type)*expected;                    \
		switch (op) {                                                  \
		case SHADOW_ATOMIC_LOAD:                                       \
			rc = gmem_atomic_load_u##bits(m, gpa,                  \
						      null_ptr ? NULL : &o_);  \
			break;                                                 \
		case SHADOW_ATOMIC_STORE:                                      \
			rc = gmem_atomic_store_u##bits(m, gpa, (type)val);     \
			break;                                                 \
		case SHADOW_ATOMIC_CMPXCHG:                                    \
			rc = gmem_atomic_cmpxchg_u##bits(                      \
				m, gpa, null_ptr ? NULL : &e_, (type)val);     \
			break;                                                 \
		case SHADOW_ATOMIC_ADD:                                        \
			rc = gmem_atomic_fetch_add_u##bits(                    \
				m, gpa, (type)val, null_old ? NULL : &o_);     \
			break;                                                 \
		case SHADOW_ATOMIC_OR:                                         \
			rc = gmem_atomic_fetch_or_u##bits(                     \
				m, gpa, (type)val, null_old ? NULL : &o_);     \
			break;                                                 \
		case SHADOW_ATOMIC_AND:                                        \
		default:                                                       \
			rc = gmem_atomic_fetch_and_u##bits(                    \
				m, gpa, (type)val, null_old ? NULL : &o_);     \
			break;                                                 \
		}                                                              \
		*old = o_;                                                     \
		*expected = e_;                                                \
	} while (0)

	switch (size) {
	case 2: ATOMIC_CASES(16, uint16_t); break;
	case 4: ATOMIC_CASES(32, uint32_t); break;
	default: ATOMIC_CASES(64, uint64_t); break;
	}
#undef ATOMIC_CASES
	return rc;
}

static void op_atomic(struct fm *f)
{
	uint8_t kind = fdp_u8(&f->in) % (SHADOW_ATOMIC_COUNT * 3);
	enum shadow_atomic_op op = (enum shadow_atomic_op)(kind / 3);
	unsigned size = 2u << (kind % 3);
	uint64_t gpa = sel_addr(f);
	uint8_t opts = fdp_u8(&f->in);
	uint64_t val = fdp_u64(&f->in), expected = fdp_u64(&f->in);
	uint64_t mask = size == 8 ? UINT64_MAX : (1ULL << (8 * size)) - 1;
	uint64_t sent = SENT_U64 & mask, old, mold = sent, mexp, cur;
	bool null_ptr = (opts & 2) && (op == SHADOW_ATOMIC_LOAD ||
				       op == SHADOW_ATOMIC_CMPXCHG);
	bool null_old = (opts & 4) != 0;
	int rc, mrc;

	if (opts & 1)
		gpa &= ~(uint64_t)(size - 1);
	/* Let compare-exchange succeed when asked to. */
	if ((opts & 8) && op == SHADOW_ATOMIC_CMPXCHG &&
	    shadow_atomic(f->cur.s, SHADOW_ATOMIC_LOAD, size, gpa, 0, NULL,
			  &cur) == 0)
		expected = cur;
	expected &= mask;
	if (expected == sent)
		expected ^= 1; /* keep the sentinel distinguishable */
	mexp = expected;
	trace(f, "%s u%u %#llx val %#llx exp %#llx", atomic_names[op],
	      size * 8, (unsigned long long)gpa, (unsigned long long)val,
	      (unsigned long long)expected);
	mrc = null_ptr ? -EINVAL
		       : shadow_atomic(f->cur.s, op, size, gpa, val, &mexp,
				       &mold);
	old = sent;
	rc = lib_atomic(f->cur.m, op, size, gpa, val, &expected, &old,
			null_ptr, null_old);
	EXPECT_RC(f, rc, mrc, "gmem_atomic_%s_u%u(%#llx)", atomic_names[op],
		  size * 8, (unsigned long long)gpa);
	EXPECT(f, expected == mexp,
	       "gmem_atomic_%s_u%u(%#llx): *expected %#llx, model %#llx",
	       atomic_names[op], size * 8, (unsigned long long)gpa,
	       (unsigned long long)expected, (unsigned long long)mexp);
	if (rc == 0 && op != SHADOW_ATOMIC_STORE &&
	    op != SHADOW_ATOMIC_CMPXCHG && !(null_old && op != SHADOW_ATOMIC_LOAD))
		EXPECT(f, old == mold,
		       "gmem_atomic_%s_u%u(%#llx): old %#llx, model %#llx",
		       atomic_names[op], size * 8, (unsigned long long)gpa,
		       (unsigned long long)old, (unsigned long long)mold);
	else
		EXPECT(f, old == sent,
		       "gmem_atomic_%s_u%u(%#llx) (rc %d) wrote the old value",
		       atomic_names[op], size * 8, (unsigned long long)gpa,
		       rc);
	verify_range(f, gpa, size);
}

static void op_query(struct fm *f)
{
	uint8_t mode = fdp_u8(&f->in) % 3;
	gmem_region *r = SENT_PTR;
	int rc;

	if (mode == 0) {
		uint64_t gpa = sel_addr(f);
		struct shadow_region *sr = shadow_find(f->cur.s, gpa);

		trace(f, "find %#llx", (unsigned long long)gpa);
		rc = gmem_map_find(f->cur.m, gpa, &r);
		EXPECT_RC(f, rc, sr ? 0 : -EFAULT, "gmem_map_find(%#llx)",
			  (unsigned long long)gpa);
		EXPECT(f, r == (sr ? slot_of(sr)->r : SENT_PTR),
		       "gmem_map_find(%#llx): region %p, model %p",
		       (unsigned long long)gpa, (void *)r,
		       sr ? (void *)slot_of(sr)->r : SENT_PTR);
	} else if (mode == 1) {
		size_t idx = fdp_u8(&f->in) % (f->cur.s->n + 2);
		bool hit = idx < f->cur.s->n;

		trace(f, "region %zu", idx);
		rc = gmem_map_region(f->cur.m, idx, &r);
		EXPECT_RC(f, rc, hit ? 0 : -ENOENT, "gmem_map_region(%zu)", idx);
		EXPECT(f, r == (hit ? slot_of(f->cur.s->r[idx])->r : SENT_PTR),
		       "gmem_map_region(%zu): wrong region", idx);
	} else {
		trace(f, "verify current map");
		verify_map(f, &f->cur, "current");
	}
}

static void op_region_ref(struct fm *f)
{
	uint8_t k = fdp_u8(&f->in), mode = fdp_u8(&f->in) % 3;
	struct slot *s;

	if (f->nslots == 0)
		return;
	s = &f->slots[k % f->nslots];
	if (s->dead)
		return;
	switch (mode) {
	case 0: /* a ref/free pair changes nothing */
		trace(f, "ref+free [%#llx]", (unsigned long long)s->sr->start);
		EXPECT(f, gmem_region_ref(s->r) == s->r,
		       "gmem_region_ref returned another region");
		gmem_region_free(s->r);
		break;
	case 1: /* the pool lets go; maps keep the region alive */
		if (!s->own_ref)
			return;
		trace(f, "drop [%#llx]", (unsigned long long)s->sr->start);
		gmem_region_free(s->r);
		s->own_ref = false;
		reap(f);
		break;
	default: /* take the pool's reference back */
		if (s->own_ref)
			return;
		trace(f, "retake [%#llx]", (unsigned long long)s->sr->start);
		EXPECT(f, gmem_region_ref(s->r) == s->r,
		       "gmem_region_ref returned another region");
		s->own_ref = true;
		break;
	}
}

/* Configurations gmem_region_new() must refuse. */
static void op_bad_region(struct fm *f)
{
	uint8_t which = fdp_u8(&f->in) % 14, b = fdp_u8(&f->in);
	uint64_t len = (uint64_t)(fdp_u8(&f->in) % 64) + 1;
	uint64_t gpa = sel_place(f, len);
	struct gmem_region_config cfg = GMEM_REGION_CONFIG_INIT;
	uint8_t *block = xmalloc(len + 16), *host;
	gmem_region *r = SENT_PTR;
	int rc, mrc;

	/*
	 * One fault per configuration: gmem.h does not rank -EINVAL against
	 * -EOVERFLOW for gmem_region_new(), so only the overflow cases may
	 * run past 2^64.
	 */
	if (gpa + (len - 1) < gpa)
		gpa = 0 - len;
	host = block + 8 + gpa % 8;
	cfg.backing = GMEM_BACKING_USER;
	cfg.gpa = gpa;
	cfg.len = len;
	cfg.host = host;
	switch (which) {
	case 0:
		cfg.size = b == GMEM_REGION_CONFIG_SIZE_V1 ? 0 : b;
		break;
	case 1:
		cfg.backing = 4 + b;
		break;
	case 2:
		cfg.flags = 1u << (4 + b % 28);
		break;
	case 3:
		cfg.len = 0;
		break;
	case 4:
		cfg.host = NULL;
		break;
	case 5:
		host += 1 + b % 7;
		if (host >= block + 16)
			host -= 8;
		cfg.host = host;
		break;
	case 6: /* runs past 2^64 */
		cfg.gpa = gpa = UINT64_MAX - b % len;
		cfg.host = block + 8 + gpa % 8;
		break;
	case 7: /* anonymous, runs past 2^64 */
		cfg.backing = GMEM_BACKING_ANON;
		cfg.gpa = UINT64_MAX - b % len;
		cfg.host = NULL;
		break;
	case 8:
		cfg.backing = GMEM_BACKING_FD;
		cfg.fd = -1 - (int)(b % 4);
		cfg.gpa &= ~7ULL;
		cfg.host = NULL;
		break;
	case 9: /* anonymous, unknown flag */
		cfg.backing = GMEM_BACKING_ANON;
		cfg.flags = GMEM_REGION_READONLY | (0x100u << (b % 20));
		cfg.host = NULL;
		break;
	case 10:
		cfg.backing = GMEM_BACKING_HUGETLB;
		cfg.gpa &= ~7ULL;
		cfg.page_size = 3 + 2 * (uint64_t)b;
		cfg.host = NULL;
		break;
	case 11:
		cfg.backing = GMEM_BACKING_FD;
		cfg.fd = 0;
		cfg.gpa &= ~7ULL;
		cfg.offset = 1 + b;
		cfg.host = NULL;
		break;
	case 12: /* dirty page size not a power of two */
		cfg.flags = GMEM_REGION_DIRTY_LOG;
		cfg.dirty_page_size = 3 + 2 * (uint64_t)b;
		if (b & 1) {
			cfg.backing = GMEM_BACKING_ANON;
			cfg.host = NULL;
		}
		break;
	default: /* gmem_region_new_anon() past 2^64 */
		rc = gmem_region_new_anon(&r, UINT64_MAX - b % len, len + 1, 0);
		trace(f, "new_anon past 2^64");
		EXPECT_RC(f, rc, -EOVERFLOW, "gmem_region_new_anon past 2^64");
		EXPECT(f, r == SENT_PTR, "gmem_region_new_anon wrote *out");
		free(block);
		return;
	}
	mrc = shadow_region_config_check(cfg.size, cfg.backing, cfg.flags,
					 cfg.fd, cfg.gpa, cfg.len, cfg.offset,
					 cfg.host == NULL,
					 (unsigned)((uintptr_t)cfg.host % 8),
					 cfg.page_size, f->pagesize);
	if (!mrc)
		mrc = shadow_region_dirty_config_check(cfg.flags,
						       cfg.dirty_page_size);
	if (mrc == 0) { /* not a bad configuration after all: skip */
		free(block);
		return;
	}
	trace(f, "case %u gpa %#llx len %#llx", which,
	      (unsigned long long)cfg.gpa, (unsigned long long)cfg.len);
	rc = gmem_region_new(&r, &cfg);
	if (rc == 0)
		gmem_region_free(r);
	EXPECT_RC(f, rc, mrc, "gmem_region_new(bad config case %u)", which);
	EXPECT(f, r == SENT_PTR, "gmem_region_new failed but wrote *out");
	free(block);
}

/* NULL handles and NULL required pointers give -EINVAL everywhere. */
static void op_null_args(struct fm *f)
{
	uint64_t gpa = sel_addr(f), u = 0;
	gmem_map *m = f->cur.m, *mo = SENT_PTR;
	gmem_region *r = SENT_PTR;
	uint8_t b[8] = { 0 };
	struct iovec iov[1];
	size_t n = 0;
	void *h = NULL;
	uint16_t u16 = 0;
	uint32_t u32 = 0;
	unsigned i;
	gmem_region *any = NULL;

	trace(f, "gpa %#llx", (unsigned long long)gpa);
	for (i = 0; i < f->nslots; i++)
		if (!f->slots[i].dead)
			any = f->slots[i].r;

#define NULL_CASE(call) EXPECT_RC(f, (call), -EINVAL, "%s", #call)
	NULL_CASE(gmem_translate(NULL, gpa, 1, GMEM_ACCESS_READ, &h, &u));
	NULL_CASE(gmem_translate(m, gpa, 1, GMEM_ACCESS_READ, NULL, &u));
	NULL_CASE(gmem_translate(m, gpa, 1, GMEM_ACCESS_READ, &h, NULL));
	NULL_CASE(gmem_translate_exact(NULL, gpa, 1, GMEM_ACCESS_READ, &h));
	NULL_CASE(gmem_translate_exact(m, gpa, 1, GMEM_ACCESS_READ, NULL));
	NULL_CASE(gmem_check_range(NULL, gpa, 1, GMEM_ACCESS_READ));
	NULL_CASE(gmem_read(NULL, gpa, b, 1));
	NULL_CASE(gmem_read(m, gpa, NULL, 1));
	NULL_CASE(gmem_write(NULL, gpa, b, 1));
	NULL_CASE(gmem_write(m, gpa, NULL, 1));
	NULL_CASE(gmem_read_partial(NULL, gpa, b, 1, &n));
	NULL_CASE(gmem_read_partial(m, gpa, NULL, 1, &n));
	NULL_CASE(gmem_read_partial(m, gpa, b, 1, NULL));
	NULL_CASE(gmem_write_partial(NULL, gpa, b, 1, &n));
	NULL_CASE(gmem_write_partial(m, gpa, NULL, 1, &n));
	NULL_CASE(gmem_write_partial(m, gpa, b, 1, NULL));
	NULL_CASE(gmem_copy(NULL, gpa, gpa, 1));
	NULL_CASE(gmem_fill(NULL, gpa, 1, 0));
	NULL_CASE(gmem_zero(NULL, gpa, 1));
	NULL_CASE(gmem_iovec(NULL, gpa, 1, GMEM_ACCESS_READ, iov, 1, &n));
	NULL_CASE(gmem_iovec(m, gpa, 1, GMEM_ACCESS_READ, iov, 1, NULL));
	NULL_CASE(gmem_iovec(m, gpa, 1, GMEM_ACCESS_READ, NULL, 1, &n));
	NULL_CASE(gmem_read_u8(NULL, gpa, b));
	NULL_CASE(gmem_read_u8(m, gpa, NULL));
	NULL_CASE(gmem_read_u16(NULL, gpa, &u16));
	NULL_CASE(gmem_read_u32(NULL, gpa, &u32));
	NULL_CASE(gmem_read_u64(NULL, gpa, &u));
	NULL_CASE(gmem_read_le16(NULL, gpa, &u16));
	NULL_CASE(gmem_read_be64(NULL, gpa, &u));
	NULL_CASE(gmem_read_u64(m, gpa, NULL));
	NULL_CASE(gmem_read_be32(m, gpa, NULL));
	NULL_CASE(gmem_write_u8(NULL, gpa, 0));
	NULL_CASE(gmem_write_u16(NULL, gpa, 0));
	NULL_CASE(gmem_write_le32(NULL, gpa, 0));
	NULL_CASE(gmem_write_be64(NULL, gpa, 0));
	NULL_CASE(gmem_atomic_load_u16(NULL, gpa & ~1ULL, &u16));
	NULL_CASE(gmem_atomic_load_u32(m, gpa & ~3ULL, NULL));
	NULL_CASE(gmem_atomic_store_u64(NULL, gpa & ~7ULL, 0));
	NULL_CASE(gmem_atomic_cmpxchg_u32(NULL, gpa & ~3ULL, &u32, 0));
	NULL_CASE(gmem_atomic_cmpxchg_u64(m, gpa & ~7ULL, NULL, 0));
	NULL_CASE(gmem_atomic_fetch_add_u16(NULL, gpa & ~1ULL, 1, NULL));
	NULL_CASE(gmem_atomic_fetch_or_u32(NULL, gpa & ~3ULL, 1, &u32));
	NULL_CASE(gmem_atomic_fetch_and_u64(NULL, gpa & ~7ULL, 1, &u));
	NULL_CASE(gmem_map_new(NULL, NULL, 0, 0));
	NULL_CASE(gmem_map_new(&mo, NULL, 1, 0));
	NULL_CASE(gmem_map_insert(&mo, NULL, any));
	NULL_CASE(gmem_map_insert(&mo, m, NULL));
	if (any)
		NULL_CASE(gmem_map_insert(NULL, m, any));
	NULL_CASE(gmem_map_remove(NULL, m, gpa, 1, NULL));
	NULL_CASE(gmem_map_remove(&mo, NULL, gpa, 1, NULL));
	NULL_CASE(gmem_map_region(NULL, 0, &r));
	NULL_CASE(gmem_map_region(m, 0, NULL));
	NULL_CASE(gmem_map_find(NULL, gpa, &r));
	NULL_CASE(gmem_map_find(m, gpa, NULL));
	NULL_CASE(gmem_map_last_addr(NULL, &u));
	NULL_CASE(gmem_map_last_addr(m, NULL));
	NULL_CASE(gmem_region_new(NULL, &(struct gmem_region_config)
					       GMEM_REGION_CONFIG_INIT));
	NULL_CASE(gmem_region_new(&r, NULL));
	NULL_CASE(gmem_region_new_anon(NULL, 0, 4096, 0));
	NULL_CASE(gmem_region_backing(NULL));
	NULL_CASE(gmem_region_dirty_page_size(NULL, &u));
	if (any)
		NULL_CASE(gmem_region_dirty_page_size(any, NULL));
	NULL_CASE(gmem_region_dirty_harvest(NULL, &u, 1, &n));
	if (any) {
		NULL_CASE(gmem_region_dirty_harvest(any, NULL, 1, &n));
		NULL_CASE(gmem_region_dirty_harvest(any, &u, 1, NULL));
	}
	NULL_CASE(gmem_map_dirty_query(NULL, 0, 4096, 4096, &u, 1));
	NULL_CASE(gmem_map_dirty_query(m, 0, 4096, 4096, NULL, 1));
	NULL_CASE(gmem_map_dirty_harvest(NULL, 0, 4096, 4096, &u, 1));
	NULL_CASE(gmem_map_dirty_harvest(m, 0, 4096, 4096, NULL, 1));
	NULL_CASE(gmem_map_dirty_reset(NULL, 0, 4096, 4096));
	NULL_CASE(gmem_map_mark_dirty(NULL, gpa, 1));
#undef NULL_CASE
	EXPECT(f, mo == SENT_PTR && r == SENT_PTR,
	       "a failing call wrote its output");
	EXPECT(f, gmem_map_count(NULL) == 0 && gmem_map_max_regions(NULL) == 0,
	       "NULL map queries");
	EXPECT(f, gmem_map_ref(NULL) == NULL && gmem_region_ref(NULL) == NULL,
	       "NULL refs");
	gmem_map_free(NULL);
	gmem_region_free(NULL);
	EXPECT(f,
	       gmem_region_start(NULL) == 0 && gmem_region_len(NULL) == 0 &&
		       gmem_region_last(NULL) == 0 &&
		       gmem_region_host(NULL) == NULL &&
		       gmem_region_flags(NULL) == 0 &&
		       !gmem_region_writable(NULL) && gmem_region_fd(NULL) == -1 &&
		       gmem_region_file_offset(NULL) == 0 &&
		       gmem_region_page_size(NULL) == 0,
	       "NULL region queries");
	EXPECT(f, gmem_strerror((int)gpa) != NULL && gmem_version() != NULL,
	       "gmem_strerror / gmem_version returned NULL");
}

/* ------------------------------------------------------------------------ */
/* Dirty tracking                                                            */
/* ------------------------------------------------------------------------ */

#define FM_DIRTY_MAX_WORDS 1024

static uint64_t sel_page_size(struct fm *f)
{
	uint8_t k;

	switch (fdp_u8(&f->in) % 4) {
	case 0: /* the dirty page size of a slot */
		k = fdp_u8(&f->in);
		if (f->nslots && f->slots[k % f->nslots].sr->dps)
			return f->slots[k % f->nslots].sr->dps;
		return f->pagesize;
	case 1:
		return 1ULL << (fdp_u8(&f->in) % 20);
	case 2:
		return fdp_u64(&f->in);
	default:
		return f->pagesize;
	}
}

/* Words a bitmap of len / ps bits needs (ps a power of two, len aligned). */
static uint64_t dirty_words(uint64_t len, uint64_t ps)
{
	uint64_t nbits;

	if (ps == 0 || (ps & (ps - 1)) != 0)
		return 1;
	nbits = len / ps;
	return nbits / 64 + (nbits % 64 != 0);
}

/* nwords for a bitmap that needs @need words, chosen by opts bits 4-5. */
static size_t sel_nwords(struct fm *f, uint8_t opts, uint64_t need)
{
	switch ((opts >> 4) & 3) {
	case 0:
		return need < FM_DIRTY_MAX_WORDS ? (size_t)need
						 : FM_DIRTY_MAX_WORDS;
	case 1:
		return need == 0 ? 0
		       : need - 1 < FM_DIRTY_MAX_WORDS ? (size_t)(need - 1)
						       : FM_DIRTY_MAX_WORDS;
	case 2:
		return fdp_u8(&f->in) % 4;
	default:
		return FM_DIRTY_MAX_WORDS;
	}
}

static void check_bitmap(const struct fm *f, const char *what,
			 const uint64_t *got, const uint64_t *want, size_t nwords,
			 size_t valid)
{
	size_t i;

	for (i = 0; i < nwords; i++) {
		if (i < valid)
			EXPECT(f, got[i] == want[i],
			       "%s: bitmap word %zu is %#llx, model %#llx", what,
			       i, (unsigned long long)got[i],
			       (unsigned long long)want[i]);
		else
			EXPECT(f, got[i] == SENT_U64,
			       "%s: bitmap word %zu of %zu written but must not "
			       "be",
			       what, i, nwords);
	}
}

static void op_dirty_map(struct fm *f, enum shadow_dirty_op op)
{
	static const char *const names[3] = { "gmem_map_dirty_query",
					      "gmem_map_dirty_harvest",
					      "gmem_map_dirty_reset" };
	uint64_t ps = sel_page_size(f), gpa = sel_addr(f);
	uint64_t len = sel_len(f, gpa);
	uint8_t opts = fdp_u8(&f->in);
	bool pow2 = ps && (ps & (ps - 1)) == 0;
	bool null_bitmap = op != SHADOW_DIRTY_RESET && (opts & 8);
	uint64_t *bitmap, *mbitmap, need;
	size_t nwords, i;
	int rc, mrc, alt = 0;

	if (pow2 && (opts & 1))
		gpa &= ~(ps - 1);
	if (pow2 && (opts & 2))
		len &= ~(ps - 1);
	need = dirty_words(len, ps);
	nwords = sel_nwords(f, opts, need);
	if (null_bitmap && len == 0)
		null_bitmap = false; /* NULL with nothing to write: unspecified */
	trace(f, "%s [%#llx +%#llx] ps %#llx nwords %zu%s", names[op],
	      (unsigned long long)gpa, (unsigned long long)len,
	      (unsigned long long)ps, nwords, null_bitmap ? " null" : "");
	bitmap = null_bitmap ? NULL : xmalloc(nwords * sizeof(*bitmap));
	mbitmap = xmalloc(nwords * sizeof(*mbitmap));
	for (i = 0; i < nwords; i++) {
		if (bitmap)
			bitmap[i] = SENT_U64;
		mbitmap[i] = SENT_U64;
	}
	if (null_bitmap)
		mrc = -EINVAL;
	else
		mrc = shadow_map_dirty(f->cur.s, op, gpa, len, ps, mbitmap,
				       nwords, &alt);
	switch (op) {
	case SHADOW_DIRTY_QUERY:
		rc = gmem_map_dirty_query(f->cur.m, gpa, len, ps, bitmap,
					  nwords);
		break;
	case SHADOW_DIRTY_HARVEST:
		rc = gmem_map_dirty_harvest(f->cur.m, gpa, len, ps, bitmap,
					    nwords);
		break;
	default:
		rc = gmem_map_dirty_reset(f->cur.m, gpa, len, ps);
		break;
	}
	if (alt && rc == alt) {
		/* Both errors apply and gmem.h does not rank them. */
		trace(f, "accepting %d for %d", rc, mrc);
		mrc = rc;
	}
	EXPECT_RC(f, rc, mrc, "%s(%#llx, %#llx, page size %#llx, nwords %zu)",
		  names[op], (unsigned long long)gpa, (unsigned long long)len,
		  (unsigned long long)ps, nwords);
	if (bitmap)
		check_bitmap(f, names[op], bitmap, mbitmap, nwords,
			     rc == 0 && op != SHADOW_DIRTY_RESET && len
				     ? (size_t)need
				     : 0);
	free(bitmap);
	free(mbitmap);
}

static void op_dirty_region(struct fm *f)
{
	uint8_t k = fdp_u8(&f->in), opts = fdp_u8(&f->in);
	struct slot *s;
	uint64_t *bitmap, *mbitmap, need;
	size_t nwords, nbits = (size_t)SENT_U64, mnbits = (size_t)SENT_U64, i;
	bool null_bitmap = (opts & 0xc0) == 0x40;
	bool null_nbits = (opts & 0xc0) == 0x80;
	int rc, mrc;

	if (f->nslots == 0)
		return;
	s = &f->slots[k % f->nslots];
	if (s->dead)
		return;
	need = s->sr->dps ? s->sr->nframes / 64 + (s->sr->nframes % 64 != 0)
			  : 1;
	nwords = sel_nwords(f, opts, need);
	trace(f, "region harvest [%#llx +%#llx] nwords %zu%s%s",
	      (unsigned long long)s->sr->start, (unsigned long long)s->sr->len,
	      nwords, null_bitmap ? " null-bitmap" : "",
	      null_nbits ? " null-nbits" : "");
	bitmap = null_bitmap ? NULL : xmalloc(nwords * sizeof(*bitmap));
	mbitmap = xmalloc(nwords * sizeof(*mbitmap));
	for (i = 0; i < nwords; i++) {
		if (bitmap)
			bitmap[i] = SENT_U64;
		mbitmap[i] = SENT_U64;
	}
	if (null_bitmap || null_nbits)
		mrc = -EINVAL;
	else
		mrc = shadow_region_dirty_harvest(s->sr, mbitmap, nwords,
						  &mnbits);
	rc = gmem_region_dirty_harvest(s->r, bitmap, nwords,
				       null_nbits ? NULL : &nbits);
	EXPECT_RC(f, rc, mrc, "gmem_region_dirty_harvest([%#llx +%#llx], %zu)",
		  (unsigned long long)s->sr->start,
		  (unsigned long long)s->sr->len, nwords);
	if (!null_nbits)
		EXPECT(f, nbits == mnbits,
		       "gmem_region_dirty_harvest: nbits %zu, model %zu", nbits,
		       mnbits);
	if (bitmap)
		check_bitmap(f, "gmem_region_dirty_harvest", bitmap, mbitmap,
			     nwords, rc == 0 ? (size_t)need : 0);
	free(bitmap);
	free(mbitmap);
}

static void op_dirty(struct fm *f)
{
	uint8_t mode = fdp_u8(&f->in) % FM_DIRTY_COUNT;

	switch (mode) {
	case FM_DIRTY_QUERY:
		op_dirty_map(f, SHADOW_DIRTY_QUERY);
		break;
	case FM_DIRTY_HARVEST:
		op_dirty_map(f, SHADOW_DIRTY_HARVEST);
		break;
	case FM_DIRTY_RESET:
		op_dirty_map(f, SHADOW_DIRTY_RESET);
		break;
	case FM_DIRTY_MARK: {
		uint64_t gpa = sel_addr(f), len = sel_len(f, gpa);
		int rc, mrc;

		trace(f, "mark [%#llx +%#llx]", (unsigned long long)gpa,
		      (unsigned long long)len);
		mrc = shadow_mark_dirty(f->cur.s, gpa, len);
		rc = gmem_map_mark_dirty(f->cur.m, gpa, len);
		EXPECT_RC(f, rc, mrc, "gmem_map_mark_dirty(%#llx, %#llx)",
			  (unsigned long long)gpa, (unsigned long long)len);
		break;
	}
	case FM_DIRTY_REGION_HARVEST:
		op_dirty_region(f);
		break;
	default: {
		uint8_t k = fdp_u8(&f->in);
		const struct slot *s;
		uint64_t got = SENT_U64;
		int rc;

		if (f->nslots == 0 || f->slots[k % f->nslots].dead)
			return;
		s = &f->slots[k % f->nslots];
		rc = gmem_region_dirty_page_size(s->r, &got);
		EXPECT_RC(f, rc, s->sr->dps ? 0 : -ENOENT,
			  "gmem_region_dirty_page_size");
		EXPECT(f, got == (s->sr->dps ? s->sr->dps : SENT_U64),
		       "gmem_region_dirty_page_size: %#llx",
		       (unsigned long long)got);
		break;
	}
	}
}

/*
 * Compare the bitmap of every tracked region of the current map with the
 * model, through gmem_map_dirty_query() over the region's frames.
 */
static void verify_dirty(const struct fm *f)
{
	size_t i;

	for (i = 0; i < f->cur.s->n; i++) {
		const struct shadow_region *sr = f->cur.s->r[i];
		uint64_t gpa, len, *bitmap, *mbitmap;
		size_t need, k;
		int rc, mrc, alt;

		if (!sr->dps)
			continue;
		gpa = sr->first_frame * sr->dps;
		len = sr->nframes * sr->dps; /* ends at 2^64 at most */
		need = (size_t)(sr->nframes / 64 + (sr->nframes % 64 != 0));
		bitmap = xmalloc(need * sizeof(*bitmap));
		mbitmap = xmalloc(need * sizeof(*mbitmap));
		for (k = 0; k < need; k++)
			bitmap[k] = mbitmap[k] = SENT_U64;
		mrc = shadow_map_dirty(f->cur.s, SHADOW_DIRTY_QUERY, gpa, len,
				       sr->dps, mbitmap, need, &alt);
		rc = gmem_map_dirty_query(f->cur.m, gpa, len, sr->dps, bitmap,
					  need);
		EXPECT_RC(f, rc, mrc,
			  "verify: gmem_map_dirty_query(%#llx, %#llx, %#llx)",
			  (unsigned long long)gpa, (unsigned long long)len,
			  (unsigned long long)sr->dps);
		check_bitmap(f, "verify: gmem_map_dirty_query", bitmap,
			     mbitmap, need, rc == 0 ? need : 0);
		free(bitmap);
		free(mbitmap);
	}
}

/* ------------------------------------------------------------------------ */
/* Entry point                                                               */
/* ------------------------------------------------------------------------ */

static void run_op(struct fm *f, unsigned op)
{
	switch (op) {
	case FM_OP_REGION_NEW: op_region_new(f); break;
	case FM_OP_INSERT: op_insert(f); break;
	case FM_OP_REMOVE: op_remove(f); break;
	case FM_OP_REBUILD: op_rebuild(f); break;
	case FM_OP_MAPS: op_maps(f); break;
	case FM_OP_TRANSLATE: op_translate(f, false); break;
	case FM_OP_TRANSLATE_EXACT: op_translate(f, true); break;
	case FM_OP_CHECK_RANGE: op_check_range(f); break;
	case FM_OP_READ: op_read(f, false); break;
	case FM_OP_WRITE: op_write(f, false); break;
	case FM_OP_READ_PARTIAL: op_read(f, true); break;
	case FM_OP_WRITE_PARTIAL: op_write(f, true); break;
	case FM_OP_COPY: op_copy(f); break;
	case FM_OP_FILL: op_fill(f, false); break;
	case FM_OP_ZERO: op_fill(f, true); break;
	case FM_OP_IOVEC: op_iovec(f); break;
	case FM_OP_TYPED_READ: op_typed(f, false); break;
	case FM_OP_TYPED_WRITE: op_typed(f, true); break;
	case FM_OP_ATOMIC: op_atomic(f); break;
	case FM_OP_VERIFY:
		verify_contents(f);
		verify_maps(f);
		verify_dirty(f);
		break;
	case FM_OP_QUERY: op_query(f); break;
	case FM_OP_REGION_REF: op_region_ref(f); break;
	case FM_OP_BAD_REGION: op_bad_region(f); break;
	case FM_OP_NULL_ARGS: op_null_args(f); break;
	default: op_dirty(f); break;
	}
}

static void teardown(struct fm *f)
{
	unsigned i;

	for (i = 0; i < f->nold; i++)
		mpair_free(&f->old[i]);
	f->nold = 0;
	mpair_free(&f->cur);
	free(f->spare);
	f->spare = NULL;
	for (i = 0; i < f->nslots; i++) {
		struct slot *s = &f->slots[i];

		if (!s->dead && s->own_ref)
			gmem_region_free(s->r);
		/* Every reference is gone: the library must be done with it. */
		free(s->alloc);
		shadow_region_free(s->sr);
	}
	f->nslots = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fm *f = calloc(1, sizeof(*f));
	long ps = sysconf(_SC_PAGESIZE);
	const char *t = getenv("GMEM_FUZZ_TRACE");
	size_t cap;
	int rc, mrc;

	if (!f)
		abort();
	f->trace = t && *t && *t != '0';
	f->pagesize = ps > 0 ? (uint64_t)ps : 4096;
	fdp_init(&f->in, data, size);
	cap = fdp_u8(&f->in) % 8;
	f->cur.m = SENT_PTR;
	mrc = shadow_map_new(&f->cur.s, NULL, 0, cap);
	rc = gmem_map_new(&f->cur.m, NULL, 0, cap);
	EXPECT_RC(f, rc, mrc, "gmem_map_new(empty, cap %zu)", cap);
	if (f->trace)
		fprintf(stderr, "fuzz_map: %zu bytes, cap %zu\n", size, cap);
	verify_map(f, &f->cur, "initial");
	while (!fdp_empty(&f->in) && f->opno < FM_MAX_OPS) {
		unsigned op = fdp_u8(&f->in) % FM_OP_COUNT;

		f->opname = op_names[op];
		run_op(f, op);
		f->opno++;
		if (f->opno % FM_VERIFY_EVERY == 0) {
			f->opname = "periodic verify";
			verify_contents(f);
			verify_maps(f);
			verify_dirty(f);
		}
	}
	f->opname = "final verify";
	verify_contents(f);
	verify_maps(f);
	verify_dirty(f);
	teardown(f);
	free(f);
	return 0;
}
