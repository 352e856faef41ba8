/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * gen_space_seeds.c - write the seed corpus of fuzz/fuzz_space.c.
 *
 *   gen_space_seeds DIR
 *
 * Each seed is a readable schedule below, encoded with the fdp_put_*()
 * helpers of fuzz/fuzz_input.h and the opcodes of fuzz/fuzz_space.c (which
 * is included with FS_ENCODING_ONLY, so the two cannot drift apart), and
 * written to DIR/<sha1 of the content>.  Prints "<sha1> <name>" per seed.
 *
 * Build: cc -Iinclude -Ifuzz fuzz/gen_space_seeds.c -o gen_space_seeds
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FS_ENCODING_ONLY
#include "fuzz_space.c"
#include "fuzz_input.h"
#include "seedgen.h"
#include "gmem.h"
#include "shadow.h"

/* ---------------------------------------------------------------- SHA-1 */

/* ------------------------------------------------------------ encoding */

static uint8_t buf[2048];
static struct fdp_out o;
static const char *outdir;

static void begin(unsigned readers, unsigned max_retired, unsigned cap,
		  unsigned ninit)
{
	o.buf = buf;
	o.len = 0;
	o.cap = sizeof(buf);
	o.overflow = false;
	fdp_put_u8(&o, (uint8_t)(readers - 2));
	fdp_put_u8(&o, (uint8_t)max_retired);
	fdp_put_u8(&o, (uint8_t)cap);
	fdp_put_u8(&o, (uint8_t)ninit);
}

static void finish(const char *name)
{
	char hex[41], *path;
	size_t n;
	FILE *f;

	if (o.overflow) {
		fprintf(stderr, "seed %s too long\n", name);
		exit(1);
	}
	seedgen_sha1_hex(o.buf, o.len, hex);
	n = strlen(outdir) + 42;
	path = malloc(n + 1);
	if (!path)
		abort();
	snprintf(path, n + 1, "%s/%s", outdir, hex);
	f = fopen(path, "wb");
	if (!f || fwrite(o.buf, 1, o.len, f) != o.len || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
	printf("%s %s (%zu bytes)\n", hex, name, o.len);
	free(path);
}

static void u8(unsigned v)
{
	fdp_put_u8(&o, (uint8_t)v);
}

/* Region specs: kind, len, placement, content seed. */
enum { ANON = 0, USER = FS_SPEC_USER, RO = FS_SPEC_RO,
       NOGUARD = FS_SPEC_NOGUARD };

static void spec_head(unsigned kind, unsigned len)
{
	u8(kind);
	fdp_put_u16(&o, (uint16_t)(len - 1));
}

static void at_page(unsigned kind, unsigned len, unsigned page, int d,
		    unsigned seed)
{
	spec_head(kind, len);
	u8(FS_PL_PAGE);
	u8(page);
	fdp_put_s8(&o, d);
	u8(seed);
}

static void after_slot(unsigned kind, unsigned len, unsigned slot, int d,
		       unsigned seed)
{
	spec_head(kind, len);
	u8(FS_PL_AFTER);
	u8(slot);
	fdp_put_s8(&o, d);
	u8(seed);
}

static void overlapping(unsigned kind, unsigned len, unsigned slot,
			unsigned off, unsigned seed)
{
	spec_head(kind, len);
	u8(FS_PL_OVERLAP);
	u8(slot);
	fdp_put_u16(&o, (uint16_t)off);
	u8(seed);
}

static void at_top(unsigned kind, unsigned len, unsigned d, unsigned seed)
{
	spec_head(kind, len);
	u8(FS_PL_TOP);
	u8(d);
	u8(seed);
}

/* NEW_REGION flags. */
#define NR_KEEP 0u
#define NR_INSERT_WAIT 1u
#define NR_INSERT_DEFER 3u
#define NR_DROP_AFTER 4u

/* Publication modes. */
#define WAIT 0u
#define DEFER FS_MODE_DEFER
#define OPT FS_MODE_OPT
#define MIS_LEN_PLUS (4u << 2)
#define MIS_LEN_MINUS (5u << 2)
#define MIS_GPA_PLUS (6u << 2)
#define MIS_GPA_MINUS (7u << 2)

static void new_region(void)
{
	u8(FS_OP_NEW_REGION);
}

static void nr_flags(unsigned f)
{
	u8(f);
}

static void insert(unsigned slot, unsigned mode)
{
	u8(FS_OP_INSERT);
	u8(slot);
	u8(mode);
}

static void remove_(unsigned slot, unsigned mode)
{
	u8(FS_OP_REMOVE);
	u8(slot);
	u8(mode);
}

static void replace(unsigned mask, unsigned cap, unsigned mode)
{
	u8(FS_OP_REPLACE);
	fdp_put_u16(&o, (uint16_t)mask);
	u8(cap);
	u8(mode);
}

static void replace_ref(unsigned idx, unsigned mode)
{
	u8(FS_OP_REPLACE_REF);
	u8(idx);
	u8(mode);
}

static void update(unsigned kind, unsigned mode)
{
	u8(FS_OP_UPDATE);
	u8(kind);
	u8(mode);
}

static void sync_(void)
{
	u8(FS_OP_SYNC);
}

static void region_drop(unsigned slot)
{
	u8(FS_OP_REGION_DROP);
	u8(slot);
}

static void region_grab(unsigned idx)
{
	u8(FS_OP_REGION_GRAB);
	u8(idx);
}

static void top(unsigned code, unsigned who)
{
	u8(code);
	u8(who);
}

#define enter(w) top(FS_OP_ENTER, (w))
#define exit_(w) top(FS_OP_EXIT, (w))
#define exit_all(w) top(FS_OP_EXIT_ALL, (w))
#define verify(w) top(FS_OP_VERIFY, (w))
#define promote(w) top(FS_OP_PROMOTE, (w))
#define recreate(w) top(FS_OP_RECREATE, (w))
#define deep(w) top(FS_OP_DEEP, (w))
#define reclaim(w) top(FS_OP_RECLAIM, (w))
#define current(w) top(FS_OP_CURRENT, (w))

/* ADDR selectors. */
static void a_inside(unsigned slot, unsigned off)
{
	u8(FS_AD_INSIDE);
	u8(slot);
	fdp_put_u16(&o, (uint16_t)off);
}

static void a_start(unsigned slot, int d)
{
	u8(FS_AD_START);
	u8(slot);
	fdp_put_s8(&o, d);
}

static void a_end(unsigned slot, int d)
{
	u8(FS_AD_END);
	u8(slot);
	fdp_put_s8(&o, d);
}

static void a_top(unsigned d)
{
	u8(FS_AD_TOP);
	u8(d);
}

/* LEN selectors. */
static void l_small(unsigned n)
{
	u8(FS_LN_SMALL);
	u8(n);
}

static void l_to_end(unsigned slot, int d)
{
	u8(FS_LN_TO_END);
	u8(slot);
	fdp_put_s8(&o, d);
}

static void l_pow2(unsigned k)
{
	u8(FS_LN_POW2);
	u8(k);
}

static void read_(unsigned who)
{
	top(FS_OP_READ, who);
}

/* Whole-region read through reader who. */
static void read_region(unsigned who, unsigned slot)
{
	read_(who);
	a_start(slot, 0);
	l_to_end(slot, 0);
}

static void write_(unsigned who, unsigned fill)
{
	top(FS_OP_WRITE, who);
	u8(fill);
}

static void write_region(unsigned who, unsigned slot, unsigned off,
			 unsigned n, unsigned seed)
{
	write_(who, 0);
	a_inside(slot, off);
	l_small(n);
	u8(seed);
}

static void query(unsigned who)
{
	top(FS_OP_QUERY, who);
}

static void typed(unsigned who, unsigned sub)
{
	top(FS_OP_TYPED, who);
	u8(sub);
}

static void atomic_(unsigned who, unsigned sub)
{
	top(FS_OP_ATOMIC, who);
	u8(sub);
}

static void translate(unsigned who, unsigned sub)
{
	top(FS_OP_TRANSLATE, who);
	u8(sub);
}

static void drop_ref(unsigned who, unsigned idx)
{
	top(FS_OP_DROP_REF, who);
	u8(idx);
}

/* FAULT sub: FS_FAULT_* | FS_FAULT_ERR(i) | FS_FAULT_CURRENT. */
static void fault(unsigned who, unsigned sub)
{
	top(FS_OP_FAULT, who);
	u8(sub);
}

/* USE_REF sub: 0 read, 1 verify, 2 write, 3 query. */
static void use_ref(unsigned who, unsigned idx, unsigned sub)
{
	top(FS_OP_USE_REF, who);
	u8(idx);
	u8(sub);
}

/* ---------------------------------------------------------------- seeds */

/* Typed sub: bits0-1 size index, bits2-3 endian, bit4 write. */
#define T_U8 0u
#define T_16 1u
#define T_32 2u
#define T_64 3u
#define T_LE (1u << 2)
#define T_BE (2u << 2)
#define T_W 16u
/* Atomic sub: bits0-1 size index (2/4/8), op << 2. */
#define A_16 0u
#define A_32 1u
#define A_64 2u
#define A_OP(op) ((unsigned)(op) << 2)

static void seed_hotplug_insert_inside(void)
{
	/* Reader 0 is inside when a region is hot-plugged: its snapshot
	 * has a hole there, a new section sees the region. */
	begin(2, 0, 0, 1);
	at_page(ANON, 8192, 1, 0, 11);
	enter(0);
	new_region();
	after_slot(USER, 4096, 0, 0, 22);
	nr_flags(NR_KEEP);
	insert(1, DEFER | OPT);
	read_(0);
	a_start(1, 0);
	l_small(8);
	query(0);
	a_inside(1, 100);
	enter(1);
	read_region(1, 1);
	read_(1); /* crosses from slot 0 into slot 1 */
	a_end(0, -4);
	l_small(8);
	write_region(1, 1, 17, 9, 5);
	verify(1);
	exit_(0);
	reclaim(2);
	/* WAIT hot-plug while reader 1 is inside: blocks until it leaves. */
	new_region();
	after_slot(ANON, 100, 1, 8, 33);
	nr_flags(NR_INSERT_WAIT | NR_DROP_AFTER);
	enter(0);
	read_(0);
	a_start(2, 0);
	l_small(4);
	read_(1);
	a_start(2, 0);
	l_small(4);
	exit_(1);
	verify(0);
	exit_(0);
	reclaim(2);
	finish("hotplug insert while a reader is inside (DEFER, then WAIT)");
}

static void seed_remove_inside(void)
{
	/* A region removed from the current map stays readable through the
	 * snapshot of a reader that was inside; then it is really unmapped. */
	begin(3, 0, 0, 2);
	at_page(ANON, 8192, 1, 0, 1);
	at_page(USER, 4096, 4, 3, 2);
	enter(0);
	remove_(0, DEFER);
	region_drop(0);
	read_region(0, 0);
	write_region(0, 0, 4000, 16, 77);
	verify(0);
	enter(1);
	read_region(1, 0); /* -EFAULT: gone from the new map */
	remove_(1, DEFER);
	region_drop(1);
	read_region(1, 1);
	typed(1, T_32 | T_LE);
	a_inside(1, 8);
	fdp_put_u64(&o, 0);
	reclaim(3);
	exit_(0);
	reclaim(3); /* region 0 unmapped here */
	read_region(1, 1);
	exit_(1);
	reclaim(2);
	read_region(2, 1);
	finish("remove while readers are inside, read the removed region");
}

/* extra: 0, or FS_INIT_FALLBACK for the seq_cst read-section protocol. */
static void seed_wait_blocks(unsigned extra)
{
	begin(3, 0, 0, 1 | extra);
	at_page(ANON, 12288, 2, 0, 3);
	enter(0);
	enter(1);
	enter(1);
	remove_(0, WAIT | OPT); /* helper: blocks on readers 0 and 1 */
	read_region(0, 0);
	read_region(1, 0);
	enter(2); /* new section: sees the new map */
	read_region(2, 0);
	insert(0, DEFER);	/* writer op while blocked: reclaim check */
	reclaim(2);		/* from a reader thread too */
	exit_(1);		/* still inside (nested) */
	write_region(1, 0, 5, 3, 9);
	exit_(0);
	exit_(2);
	exit_(1);		/* last one: the WAIT returns */
	insert(0, WAIT);	/* reinsert the removed region */
	enter(2);
	verify(2);
	exit_(2);
	finish("WAIT publication blocks until the last reader exits");
}

static void seed_defer_reclaim(unsigned extra)
{
	begin(3, 8, 0, 1 | extra);
	at_page(ANON, 4096, 0, 0, 4);
	enter(0);
	new_region();
	after_slot(USER, 2048, 0, 64, 5);
	nr_flags(NR_INSERT_DEFER | NR_DROP_AFTER);
	enter(1);
	new_region();
	after_slot(ANON, 512, 1, 0, 6);
	nr_flags(NR_INSERT_DEFER);
	reclaim(3); /* pending 2 */
	enter(2);
	remove_(1, DEFER);
	reclaim(2); /* pending 3 */
	exit_(1);
	reclaim(0); /* pending 3: reader 0 still holds the oldest */
	exit_(0);
	reclaim(3); /* pending 1 */
	read_region(2, 1);
	exit_(2);
	reclaim(1); /* pending 0 */
	finish("DEFER publications and reclaim with exact pending counts");
}

static void seed_ebusy(void)
{
	begin(2, 2, 0, 1);
	at_page(USER, 256, 0, 8, 7);
	enter(0);
	new_region();
	after_slot(USER, 256, 0, 0, 8);
	nr_flags(NR_INSERT_DEFER);
	new_region();
	after_slot(USER, 256, 1, 0, 9);
	nr_flags(NR_INSERT_DEFER);
	new_region();
	after_slot(USER, 256, 2, 0, 10);
	nr_flags(NR_INSERT_DEFER); /* -EBUSY: two retired, reader 0 inside */
	update(FS_UP_NOCHANGE, DEFER); /* -EBUSY too */
	reclaim(2);
	exit_(0);
	insert(3, DEFER); /* reclaims first, then succeeds */
	reclaim(2);
	finish("-EBUSY on a full retired list");
}

static void seed_edeadlk(void)
{
	begin(2, 0, 0, 1);
	at_page(ANON, 4096, 1, 0, 12);
	enter(2);
	new_region();
	after_slot(ANON, 4096, 0, 0, 13);
	nr_flags(NR_INSERT_WAIT); /* -EDEADLK */
	sync_();		  /* -EDEADLK */
	update(FS_UP_NOCHANGE, WAIT); /* -EDEADLK */
	insert(1, DEFER);	      /* fine: DEFER never waits */
	exit_(2);
	update(FS_UP_ENTER, WAIT); /* callback enters: -EDEADLK */
	verify(2);
	exit_(2);
	update(FS_UP_ENTER, DEFER); /* published, main reader inside */
	exit_(2);
	sync_();
	insert(1, WAIT); /* -EEXIST */
	finish("-EDEADLK: WAIT publish and synchronize from inside a section");
}

static void seed_longref(void)
{
	begin(3, 0, 0, 2);
	at_page(ANON, 8192, 1, 0, 14);
	at_page(USER, 1000, 5, 1, 15);
	enter(0);
	promote(0);
	exit_(0);
	remove_(0, WAIT);
	region_drop(0);
	remove_(1, DEFER);
	region_drop(1);
	use_ref(1, 0, 0);
	a_start(0, 0);
	l_to_end(0, 0);
	u8(1);
	use_ref(2, 0, 1); /* verify every region through the reference */
	use_ref(3, 0, 2); /* write through it */
	a_inside(1, 10);
	l_small(16);
	u8(3);
	sync_();
	use_ref(1, 0, 1);
	drop_ref(1, 0); /* last reference: regions unmapped / freed */
	finish("long-lived ref used and dropped by another thread");
}

static void seed_replace(void)
{
	begin(2, 0, 0, 2);
	at_page(ANON, 4096, 0, 0, 16);
	at_page(USER, 4096, 2, 0, 17);
	new_region();
	overlapping(USER, 6000, 0, 100, 18); /* overlaps slot 0 */
	nr_flags(NR_KEEP);
	new_region();
	at_page(ANON | RO, 4096, 8, 0, 19);
	nr_flags(NR_KEEP);
	enter(0);
	promote(0); /* ref 0: the initial map */
	replace(0xc, 0, DEFER | OPT); /* ref 1: the builder's reference */
	read_region(0, 0);
	enter(1);
	read_region(1, 2);
	verify(0);
	verify(1);
	replace(0x5, 0, DEFER); /* -EEXIST: slots 0 and 2 overlap */
	replace(0xf, 2, DEFER); /* -E2BIG */
	replace_ref(0, WAIT);	 /* roll back while readers are inside */
	verify(0);
	exit_(0);
	exit_(1);
	enter(2);
	verify(2);
	exit_(2);
	finish("replace whole map, then roll back with WAIT");
}

static void seed_nesting(void)
{
	begin(2, 0, 0, 1);
	at_page(USER, 64, 0, 0, 20);
	exit_(0);    /* -EINVAL */
	promote(0);  /* -EINVAL */
	enter(0);
	enter(0);
	enter(0);
	remove_(0, DEFER);
	enter(0); /* nested: still the old snapshot */
	read_region(0, 0);
	deep(0);
	recreate(0); /* -EBUSY */
	exit_(0);
	exit_(0);
	exit_(0);
	reclaim(1);
	exit_(0);
	reclaim(1);
	recreate(0);
	deep(1);
	enter(0);
	read_region(0, 0);
	exit_all(0);
	finish("nested sections, max depth, reader re-creation");
}

static void seed_sync_blocks(void)
{
	begin(3, 0, 0, 2);
	at_page(ANON, 4096, 0, 0, 21);
	at_page(ANON, 4096, 4, 0, 22);
	enter(0);
	remove_(0, DEFER | OPT);
	enter(1);
	remove_(1, DEFER | OPT);
	enter(2);
	sync_(); /* blocks on readers 0 and 1 (not 2) */
	remove_(0, DEFER); /* reclaim check instead */
	reclaim(3);
	read_region(0, 0);
	read_region(1, 1);
	exit_(1);
	exit_(0); /* synchronize returns */
	reclaim(3);
	exit_(2);
	insert(0, DEFER);
	insert(1, DEFER);
	verify(3);
	finish("synchronize blocks until the readers it waits for exit");
}

static void seed_updates(void)
{
	begin(2, 3, 0, 1);
	at_page(ANON, 4096, 3, 0, 23);
	update(FS_UP_NOCHANGE, WAIT);
	update(FS_UP_ERROR, WAIT | (1u << 1));
	update(FS_UP_NESTED, DEFER);
	update(FS_UP_NULL, DEFER);
	update(FS_UP_BADFLAGS, 0);
	enter(0);
	update(FS_UP_NOCHANGE, WAIT); /* would block: done as DEFER */
	update(FS_UP_NESTED, WAIT);
	update(FS_UP_ERROR, DEFER);
	update(FS_UP_NOCHANGE, DEFER); /* third retired map */
	update(FS_UP_NOCHANGE, DEFER); /* -EBUSY: 3 retired, reader inside */
	exit_(0);
	reclaim(2);
	finish("update callbacks: no change, errors, nested calls, NULL");
}

static void seed_access(void)
{
	begin(2, 0, 0, 3);
	at_page(USER, 4096, 0, 5, 24);
	at_page(USER | RO, 512, 2, 0, 25);
	at_page(ANON | RO | NOGUARD, 4096, 3, 0, 26);
	enter(1);
	typed(1, T_64 | T_W);
	a_inside(0, 3);
	fdp_put_u64(&o, 0x1122334455667788ull);
	typed(1, T_64 | T_BE);
	a_inside(0, 3);
	fdp_put_u64(&o, 0);
	typed(1, T_16 | T_W);
	a_start(1, 0);
	fdp_put_u64(&o, 7); /* -EACCES */
	atomic_(1, A_32 | A_OP(SHADOW_ATOMIC_ADD));
	a_inside(0, 11);
	fdp_put_u64(&o, 5);
	fdp_put_u64(&o, 0);
	atomic_(1, A_64 | A_OP(SHADOW_ATOMIC_CMPXCHG));
	a_inside(0, 59);
	fdp_put_u64(&o, 5);
	fdp_put_u64(&o, 1);
	atomic_(1, A_16 | A_OP(SHADOW_ATOMIC_OR));
	a_start(2, 0);
	fdp_put_u64(&o, 1); /* -EACCES */
	atomic_(1, A_16 | A_OP(SHADOW_ATOMIC_LOAD));
	a_start(2, 0);
	fdp_put_u64(&o, 0);
	fdp_put_u64(&o, 0);
	translate(1, GMEM_ACCESS_RW);
	a_inside(0, 100);
	l_small(16);
	u8(0x5a);
	translate(1, GMEM_ACCESS_WRITE);
	a_start(1, 0);
	l_small(1);
	u8(1); /* -EACCES */
	translate(1, 4 | GMEM_ACCESS_READ);
	a_end(0, -2);
	l_small(4); /* -EFAULT or -EXDEV */
	u8(0);
	write_(1, 1);
	a_start(0, 0);
	l_to_end(0, 0);
	u8(0xee);
	verify(1);
	exit_(1);
	finish("typed, atomic, translate and fill on USER/ANON/read-only");
}

static void seed_removed_ref(void)
{
	begin(2, 0, 0, 2);
	at_page(USER, 3000, 0, 1, 27);
	at_page(ANON, 5000, 3, 0, 28);
	remove_(0, WAIT | OPT); /* *removed: the harness holds it */
	region_drop(0);		/* drop the pool's original reference */
	enter(0);
	read_region(0, 0); /* -EFAULT */
	exit_(0);
	insert(0, DEFER); /* reinsert the same region */
	enter(1);
	write_region(1, 0, 2990, 10, 44);
	verify(1);
	exit_(1);
	region_grab(1);
	remove_(1, DEFER | MIS_LEN_PLUS); /* -ENOENT */
	remove_(1, DEFER | MIS_GPA_MINUS);
	remove_(1, DEFER | MIS_LEN_MINUS);
	remove_(1, DEFER | MIS_GPA_PLUS);
	remove_(1, DEFER);
	insert(1, WAIT);
	current(0);
	remove_(1, WAIT);
	use_ref(1, 0, 1);
	drop_ref(0, 0);
	finish("removed region handed back, reinserted; mismatched removes");
}

static void seed_top(void)
{
	begin(2, 0, 2, 1);
	at_top(USER, 4096, 0, 29); /* ends exactly at 2^64 */
	new_region();
	at_page(ANON, 4096, 0, 0, 30);
	nr_flags(NR_INSERT_DEFER);
	new_region();
	at_page(ANON, 4096, 1, 0, 31);
	nr_flags(NR_INSERT_DEFER); /* -E2BIG: cap 2 */
	new_region();
	at_top(ANON, 4096, 255, 0);
	nr_flags(NR_KEEP);
	enter(0);
	read_(0);
	a_top(7);
	l_small(8);
	read_(0);
	a_top(7);
	l_small(9); /* -EOVERFLOW */
	typed(0, T_64);
	a_top(7);
	fdp_put_u64(&o, 0);
	read_(0);
	a_top(0);
	l_pow2(0); /* the byte at UINT64_MAX */
	verify(0);
	exit_(0);
	finish("region at the top of the address space, map cap -E2BIG");
}

static void seed_current_refs(void)
{
	begin(4, 0, 0, 2);
	at_page(USER, 700, 0, 0, 32);
	at_page(USER, 900, 1, 0, 33);
	current(0);
	current(1);
	enter(3);
	remove_(0, DEFER);
	region_drop(0);
	current(2);
	remove_(1, DEFER);
	region_drop(1);
	use_ref(3, 0, 1);
	use_ref(0, 1, 0);
	a_start(0, 0);
	l_to_end(0, 0);
	u8(0);
	drop_ref(2, 0);
	drop_ref(3, 2);
	exit_(3);
	reclaim(4);
	use_ref(2, 1, 1);
	drop_ref(0, 1);
	finish("gmem_space_current refs dropped by other threads");
}

static void seed_late_free(void)
{
	/* The space is freed while retired maps are pending and long-lived
	 * references exist; plus the argument checks. */
	begin(3, 0, 0, 2 | FS_INIT_LATE_FREE | FS_INIT_ARGCHECK);
	at_page(ANON, 4096, 1, 0, 34);
	at_page(USER, 3000, 3, 5, 35);
	enter(0);
	promote(0);
	remove_(0, DEFER);
	region_drop(0);
	enter(1);
	remove_(1, DEFER | OPT);
	current(2);
	enter(3);
	insert(1, DEFER);
	write_region(1, 1, 7, 16, 99);
	/* teardown: readers leave, nothing reclaims, the space goes first */
	finish("space freed with pending retired maps, refs outlive it");
}

static void seed_precheck_reclaim(void)
{
	/* A DEFER publication on a full retired list reclaims first: the
	 * retired map holding the last reference to region 0 goes, so the
	 * writer (which owns no reference to it) must not pass region 0. */
	begin(2, 1, 0, 0);
	new_region();
	at_page(ANON, 64, 0, 0, 36);
	nr_flags(NR_INSERT_DEFER | NR_DROP_AFTER);
	enter(2);
	remove_(0, DEFER); /* region 0 now only in the retired map */
	read_region(2, 0);
	exit_(2);
	new_region();
	at_page(USER, 128, 1, 0, 37);
	nr_flags(NR_KEEP);
	insert(0, DEFER); /* skipped: not the writer's to pass */
	insert(1, DEFER); /* pre-check reclaim frees region 0, then publishes */
	reclaim(0);
	finish("DEFER pre-check reclaim frees the only holder of a region");
}

/*
 * USE_REF verify (sub 1) or query (3) that ignores its ADDR/LEN/seed: the
 * harness decodes them for every sub, so they must be there for the next
 * operation to start where it should.
 */
static void use_ref_verify(unsigned who, unsigned idx)
{
	use_ref(who, idx, 1);
	a_start(0, 0);
	l_small(0);
	u8(0);
}

/* Header init bits for the other kinds. */
#define FIXED FS_INIT_KIND(FS_KIND_FIXED)
#define SHARED FS_INIT_KIND(FS_KIND_SHARED)
#define CUSTOM FS_INIT_KIND(FS_KIND_CUSTOM)

static void seed_fixed(void)
{
	/* A fixed space never changes: every update function refuses with
	 * -EOPNOTSUPP (inside a section too), readers always see the one
	 * map; plus the argument checks of every kind. */
	begin(3, 0, 0, 2 | FIXED | FS_INIT_ARGCHECK);
	at_page(ANON, 8192, 1, 0, 40);
	at_page(USER, 3000, 4, 1, 41);
	enter(0);
	read_region(0, 0);
	enter(1);
	write_region(1, 1, 5, 16, 3);
	verify(0);
	new_region();
	after_slot(USER, 4096, 1, 0, 42);
	nr_flags(NR_INSERT_WAIT | NR_DROP_AFTER); /* -EOPNOTSUPP, still held */
	insert(2, DEFER | OPT);
	remove_(0, WAIT | OPT);
	remove_(1, DEFER);
	replace(0x7, 0, DEFER | OPT);
	promote(0);
	replace_ref(0, WAIT);
	update(FS_UP_NOCHANGE, WAIT);
	update(FS_UP_NESTED, DEFER);
	update(FS_UP_BADFLAGS, 0); /* -EINVAL: flags are checked first */
	sync_();
	reclaim(1);
	current(2);
	enter(3);
	sync_(); /* -EOPNOTSUPP, not -EDEADLK */
	update(FS_UP_ENTER, WAIT);
	exit_(3);
	deep(1);
	recreate(1); /* -EBUSY */
	exit_all(1);
	recreate(1);
	fault(0, FS_FAULT_ERRNO); /* a plain (nested) enter here */
	fault(2, FS_FAULT_ERRNO | FS_FAULT_CURRENT);
	use_ref_verify(2, 1);
	drop_ref(1, 0);
	exit_all(0);
	enter(2);
	verify(2);
	finish("fixed space: updates refused, one map for every reader");
}

static void seed_shared(void)
{
	/* Each snapshot of a shared space holds a map reference; the space
	 * is dropped before its readers and references (late free). */
	begin(2, 0, 0, 2 | SHARED | FS_INIT_LATE_FREE | FS_INIT_SPACE_FIRST);
	at_page(ANON, 4096, 0, 0, 43);
	at_page(USER, 5000, 2, 7, 44);
	enter(0);
	promote(0);
	exit_(0);
	remove_(0, DEFER | OPT);
	region_drop(0);
	insert(0, WAIT);
	enter(1);
	enter(1);
	read_region(1, 0);
	typed(1, T_32 | T_W);
	a_inside(1, 12);
	fdp_put_u64(&o, 0xdeadbeef);
	atomic_(1, A_64 | A_OP(SHADOW_ATOMIC_ADD));
	a_inside(1, 16);
	fdp_put_u64(&o, 3);
	fdp_put_u64(&o, 0);
	translate(1, GMEM_ACCESS_RW);
	a_inside(1, 100);
	l_small(8);
	u8(0x77);
	exit_all(1);
	current(0);
	use_ref_verify(2, 1);
	drop_ref(0, 0);
	update(FS_UP_ERROR, DEFER);
	reclaim(2);
	enter(2);
	query(2);
	a_inside(1, 0);
	deep(2);
	promote(2);
	/* teardown: the harness's space reference goes first */
	finish("shared space: snapshots hold references, space freed first");
}

static void seed_custom_publish(void)
{
	/* The owner of a custom (rwlock) space publishes only while no
	 * section is open; references keep old maps readable. */
	begin(3, 0, 0, 1 | CUSTOM);
	at_page(ANON, 4096, 1, 0, 50);
	new_region();
	after_slot(USER, 4096, 0, 0, 51);
	nr_flags(NR_INSERT_DEFER); /* -EOPNOTSUPP, then the owner: done */
	enter(0);
	read_region(0, 1);
	promote(0); /* ref 0: slots 0 and 1 */
	new_region();
	after_slot(ANON, 2048, 1, 16, 52);
	nr_flags(NR_INSERT_WAIT | NR_DROP_AFTER); /* -EBUSY: reader 0 */
	remove_(1, DEFER | OPT);		  /* -EBUSY */
	exit_(0);
	insert(2, WAIT | OPT); /* published; the harness drops its ref */
	remove_(1, WAIT | OPT); /* published; *removed kept */
	use_ref_verify(1, 0);	/* the old map still has slot 1 */
	replace(0x7, 0, DEFER | OPT); /* ref 1: slots 0, 1, 2 */
	enter(1);
	verify(1);
	enter(3);
	replace_ref(0, WAIT); /* -EBUSY: readers 1 and 3 */
	exit_(1);
	replace_ref(0, WAIT); /* -EBUSY: the main thread's own section */
	exit_(3);
	replace_ref(0, WAIT); /* roll back to ref 0 */
	remove_(0, DEFER | MIS_LEN_PLUS); /* -ENOENT */
	insert(0, DEFER);		  /* -EEXIST */
	replace(0xf, 2, DEFER);		  /* -E2BIG building it */
	update(FS_UP_NOCHANGE, DEFER);
	sync_();
	reclaim(2);
	current(2);
	enter(2);
	read_region(2, 1);
	write_region(2, 2, 10, 16, 8); /* slot 2 is not in this map */
	deep(2);
	exit_(2);
	use_ref_verify(0, 2);
	region_drop(1);
	drop_ref(1, 0); /* slot 1: the last reference goes */
	enter(0);
	verify(0);
	finish("custom rwlock space: owner publishes when no section is open");
}

static void seed_custom_faults(void)
{
	/* The custom space's enter callback fails, returns a positive value
	 * or a NULL map, through enter and through gmem_space_current();
	 * ops without destroy; the space freed before its readers. */
	begin(2, 0, 0,
	      1 | CUSTOM | FS_INIT_NO_DESTROY | FS_INIT_ARGCHECK |
		      FS_INIT_SPACE_FIRST);
	at_page(USER, 512, 0, 0, 60);
	fault(0, FS_FAULT_ERRNO | FS_FAULT_ERR(0));
	fault(0, FS_FAULT_ERRNO | FS_FAULT_ERR(1));
	fault(1, FS_FAULT_ERRNO | FS_FAULT_ERR(2));
	fault(2, FS_FAULT_ERRNO | FS_FAULT_ERR(3));
	fault(0, FS_FAULT_POSITIVE);
	fault(0, FS_FAULT_NULL);
	fault(1, FS_FAULT_NONE); /* an ordinary enter */
	read_region(1, 0);
	fault(1, FS_FAULT_NULL); /* nested: no callback */
	fault(1, FS_FAULT_NULL | FS_FAULT_CURRENT); /* inside its section */
	fault(0, FS_FAULT_ERRNO | FS_FAULT_CURRENT);
	fault(0, FS_FAULT_POSITIVE | FS_FAULT_CURRENT);
	fault(2, FS_FAULT_NONE | FS_FAULT_CURRENT);
	exit_(1);
	exit_(1);
	exit_(1); /* -EINVAL */
	reclaim(0);
	update(FS_UP_BADFLAGS, 1);
	deep(0);
	promote(0);
	enter(2);
	promote(2);
	exit_(2);
	use_ref(0, 1, 2);
	a_inside(0, 40);
	l_small(16);
	u8(5);
	enter(0); /* left open: teardown exits it */
	finish("custom space: enter errors, positive return, NULL map");
}

static void seed_atomic_space_first(void)
{
	/* The atomic space freed before its readers, with a retired map
	 * pending; FAULT on an atomic space is a plain enter/current. */
	begin(2, 0, 0, 2 | FS_INIT_SPACE_FIRST | FS_INIT_LATE_FREE);
	at_page(ANON, 4096, 0, 0, 61);
	at_page(USER, 4096, 1, 0, 62);
	fault(0, FS_FAULT_NULL);
	remove_(0, DEFER);
	region_drop(0);
	fault(1, FS_FAULT_NULL | FS_FAULT_CURRENT);
	fault(1, FS_FAULT_ERRNO);
	read_region(1, 0); /* -EFAULT: gone from the new map */
	read_region(0, 0);
	exit_(0);
	reclaim(1);
	finish("atomic space freed before its readers; FAULT as enter");
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	outdir = argv[1];
	seed_hotplug_insert_inside();
	seed_remove_inside();
	seed_wait_blocks(0);
	seed_defer_reclaim(0);
	seed_ebusy();
	seed_edeadlk();
	seed_longref();
	seed_replace();
	seed_nesting();
	seed_sync_blocks();
	seed_updates();
	seed_access();
	seed_removed_ref();
	seed_top();
	seed_current_refs();
	seed_late_free();
	seed_precheck_reclaim();
	seed_fixed();
	seed_shared();
	seed_custom_publish();
	seed_custom_faults();
	seed_atomic_space_first();
	seed_wait_blocks(FS_INIT_FALLBACK);
	seed_defer_reclaim(FS_INIT_FALLBACK);
	return 0;
}
