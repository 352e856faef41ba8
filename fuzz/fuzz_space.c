/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * fuzz_space.c - schedule fuzzer for address spaces (gmem_space).
 *
 * The input is a SCHEDULE: writer operations on a space (hot-plug insert,
 * remove, whole-map replace, update callbacks, synchronize) run by the main
 * thread, interleaved with reader operations (enter, exit, accesses through
 * the snapshot, long-lived references, reclaim, ...) run by 2-4 reader
 * threads and by the main thread's own reader.
 *
 * Space kinds.  A header field picks the kind of the space under test:
 * atomic (the default, and what most of this comment is about), fixed,
 * shared or custom.  A fixed or shared space never changes: every update
 * function (insert, remove, replace, update, reclaim, synchronize) must
 * fail with -EOPNOTSUPP without calling anything or writing any output,
 * and every snapshot is the one initial map.  A custom space is a small
 * rwlock space implemented here (struct fs_custom, as in
 * examples/rwlock_space.c): enter takes the read lock and hands out the
 * current map with a malloc'd token, exit checks the token and map and
 * releases the lock.  Its owner (the writer operations) derives the next
 * map with gmem_map_insert()/gmem_map_remove() or takes a built one, and
 * publishes it with a TRY-write-lock, so the model knows the outcome
 * exactly: -EBUSY while any section is open, else the swap.  The model
 * counts the callbacks (enter once per outermost section and per
 * gmem_space_current(), exit likewise, destroy exactly once at the last
 * space reference) and FAULT makes the next enter fail, return a positive
 * value or succeed with a NULL map.
 *
 * Determinism.  Reader threads never run freely: the main thread hands a
 * thread one operation at a time through a mailbox (mutex + condvar) and
 * waits for it to finish, so every schedule has exactly one outcome, which
 * a model computes.  The only real concurrency is a publication that must
 * block: a GMEM_PUBLISH_WAIT publication (or gmem_space_synchronize()) while
 * some reader is inside a section that the writer has to wait for.  That
 * call runs in a helper thread; for a publication the main thread waits
 * until the new map is visible to a probe reader (and checks it there),
 * then carries on with the schedule.  After every operation it checks that
 * the helper has NOT returned while a reader it waits for is still inside
 * its section, and as soon as the last such reader leaves, it joins the
 * helper.  While a helper is in flight, writer operations that would take
 * the writer lock are replaced by a gmem_space_reclaim() check (whether the
 * blocked writer holds the lock while it waits is left open by gmem.h, so
 * either answer is accepted, see window_reclaim()).
 *
 * Oracle.  Every published map is a model VERSION (a shadow_map from
 * fuzz/shadow.c plus the library's map pointer).  Regions are shared by
 * versions exactly as the library shares them, and each region has one
 * model byte array, so a write through any snapshot updates the one model.
 * Each reader records the version it entered; every observation through
 * that snapshot (the map pointer itself, map count, the region list,
 * gmem_map_find, reads, writes, translations, typed and atomic accesses,
 * error codes) must match THAT version.  The model also tracks which
 * versions the library must keep alive: the current map, DEFER-retired maps
 * until every reader inside at retirement has left (exactly as the grace
 * period works: the readers inside at the swap, per section), a WAIT
 * publication's old map until it returns, and long-lived references.  From
 * that it knows the exact gmem_space_reclaim() pending count, -EBUSY on a
 * full retired list, and when every region's last reference goes.  USER
 * regions live on exact-size malloc blocks that the harness frees the moment
 * the model says the library dropped the region: any library access after
 * that is a heap-use-after-free for ASan; ANON regions are really unmapped.
 * A region removed from the current map stays readable through an older
 * snapshot or a long-lived reference, and must be.
 *
 * Any disagreement prints one line to stderr and calls abort().
 * Set GMEM_FUZZ_TRACE=1 to log every operation to stderr.
 *
 * ---------------------------------------------------------------------
 * Input format (all integers little-endian, consumed with fuzz_input.h;
 * missing bytes read as 0):
 *
 *   header   u8 readers      2 + v % 3 reader threads (N); the main
 *                            thread's reader is number N
 *            u8 max_retired  v % 9 (0: GMEM_SPACE_DEFAULT_MAX_RETIRED)
 *            u8 map_cap      v % 16: max_regions of the initial map (0: default)
 *            u8 init         bits 0-1: regions created and put in the initial
 *                            map, each described by a REGION SPEC;
 *                            bit 2: at the end, free the space while retired
 *                            maps are still pending and long-lived references
 *                            still exist (they must outlive it);
 *                            bit 3: argument checks (NULL handles, unknown
 *                            flags, bad constructor arguments of every kind,
 *                            -EOPNOTSUPP on fixed and shared spaces, and
 *                            FS_CROWD readers on a throwaway atomic space);
 *                            bits 4-5: space kind: 0 atomic, 1 fixed,
 *                            2 shared, 3 custom (max_retired only matters
 *                            for atomic);
 *                            bit 6: custom: no destroy callback (the harness
 *                            frees its state after the last reference);
 *                            atomic: the seq_cst read-section protocol
 *                            (TSan builds, kernels without membarrier),
 *                            where the library's internal hook can be
 *                            linked (static builds, so the libFuzzer one);
 *                            bit 7: at the end, drop the harness's space
 *                            reference BEFORE freeing the readers, which
 *                            must keep the space alive until the last one
 *                            goes
 *   then up to FS_MAX_OPS operations: u8 opcode % FS_OP_COUNT, arguments:
 *
 *   writer operations (main thread):
 *    0 NEW_REGION   SPEC, u8 flags: bit0 also insert it, bit1 DEFER,
 *                   bit2 drop the harness reference after a good insert
 *    1 INSERT       u8 slot, u8 mode: bit0 DEFER, bit1 drop harness ref
 *    2 REMOVE       u8 slot, u8 mode: bit0 DEFER, bit1 want *removed,
 *                   bits2-4: 0-3 exact, 4 len+1, 5 len-1, 6 gpa+1, 7 gpa-1
 *    3 REPLACE      u16 slot mask, u8 max_regions % 16, u8 mode: bit0
 *                   DEFER, bit1 keep the builder's map reference as a
 *                   long-lived reference
 *    4 REPLACE_REF  u8 ref index, u8 mode (bit0 DEFER): republish the map
 *                   of a long-lived reference (roll back); republishing
 *                   the current map with WAIT while a reader is inside is
 *                   done with DEFER (the probe could not see it)
 *    5 UPDATE       u8 kind % 6 (0 no change, 1 callback error, 2 nested
 *                   calls from the callback, 3 callback enters the main
 *                   reader, 4 callback returns NULL, 5 unknown flags),
 *                   u8 mode (bit0 DEFER, bits1-2 the callback's error);
 *                   a WAIT kind 0/2 that would block is done with DEFER
 *    6 SYNC         gmem_space_synchronize()
 *    7 REGION_DROP  u8 slot: drop the harness's region reference
 *    8 REGION_GRAB  u8 index: take a region reference from the current map
 *   thread operations: u8 opcode, u8 who (% (N + 1); N is the main thread),
 *   then:
 *    9 ENTER        -
 *   10 EXIT         -                   (-EINVAL when not inside)
 *   11 EXIT_ALL     -
 *   12 READ         ADDR, LEN
 *   13 WRITE        u8 sub (bit0 fill), ADDR, LEN, u8 seed
 *   14 TRANSLATE    u8 sub (access = v % 4, bit2 exact), ADDR, LEN, u8 byte
 *   15 TYPED        u8 sub (bits0-1 size 1/2/4/8, bits2-3 host/le/be/host,
 *                   bit4 write), ADDR, u64 value
 *   16 ATOMIC       u8 sub (bits0-1 size 2/4/8/8, bits2-4 op % 6), ADDR,
 *                   u64 value, u64 expected
 *   17 QUERY        ADDR
 *   18 VERIFY       -                   whole snapshot vs model
 *   19 PROMOTE      -                   gmem_reader_ref() into the ref table
 *   20 DROP_REF     u8 index            gmem_map_free() of a table entry
 *   21 USE_REF      u8 index, u8 sub % 4 (read, verify, write, query),
 *                   ADDR, LEN, u8 seed
 *   22 RECREATE     -                   gmem_reader_free() + gmem_reader_new()
 *   23 DEEP         -                   nest to GMEM_READER_MAX_DEPTH, expect
 *                                       -EOVERFLOW, unwind
 *   24 RECLAIM      -                   pending must equal the model's
 *                                       (window_reclaim() while a helper
 *                                       is blocked)
 *   25 CURRENT      -                   gmem_space_current() into the table
 *                                       (skipped while a helper is blocked)
 *   26 FAULT        u8 sub: bits0-1 what the custom space's next enter
 *                   callback does (0 return a negative errno, bits2-3
 *                   -EIO/-EAGAIN/-ENOMEM/-EPERM, which must come back;
 *                   1 return 1 and 2 succeed with a NULL map, both -EINVAL;
 *                   3 nothing), bit4 through gmem_space_current() instead
 *                   of gmem_reader_enter().  A nested enter calls no
 *                   callback (and succeeds).  On the other kinds: ENTER or
 *                   CURRENT.
 *   Reader-section operations (READ .. VERIFY) do nothing outside a section.
 *   On a fixed or shared space, INSERT .. SYNC and RECLAIM only check
 *   -EOPNOTSUPP (UPDATE kind 5: -EINVAL, the flags are checked first); on a
 *   custom space INSERT, REMOVE, REPLACE and REPLACE_REF check -EOPNOTSUPP
 *   and then publish through the custom space (DEFER/WAIT do not matter).
 *
 *   SPEC   u8 kind (bit0 USER else ANON, bit1 READONLY, bit2 NO_GUARD),
 *          u16 len (1 + v % 16384), PLACE, u8 content seed
 *   PLACE  u8 mode % 6: 0 u8 page, s8 d: page * 4096 + d;
 *          1 u8 slot, s8 d: slot end + d; 2 u8 slot, s8 d: slot start -
 *          len + d; 3 u8 slot, u16 off: slot start + off % slot len;
 *          4 u8 d: 2^64 - len - d; 5 u64 raw
 *   ADDR   u8 mode % 6: 0 u8 slot, u16 off: inside the slot; 1 u8 slot,
 *          s8 d: slot start + d; 2 u8 slot, s8 d: slot end + d;
 *          3 u16 v: v * 8; 4 u8 d: UINT64_MAX - d; 5 u64 raw
 *   LEN    u8 mode % 4: 0 u8: v % 17; 1 u8 slot, s8 d: slot end - gpa + d;
 *          2 u16: v % 20000; 3 u8: 1 << (v % 4)
 *   Slots are the harness's region pool (FS_MAX_REGIONS, taken modulo); a new
 *   region takes the lowest slot that is free or whose region is gone (none
 *   free: nothing is created).  An unused slot reads as start 0, length 1.
 *   Operations on a slot whose region is gone do nothing (REMOVE still runs:
 *   it only needs the numbers).  Reference indexes are taken modulo
 *   FS_MAX_REFS; a full table drops entry 0 to make room.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>

/* The encoding (shared with fuzz/gen_space_seeds.c). */
#define FS_MAX_OPS 200
#define FS_MAX_REGIONS 12
#define FS_MAX_THREADS 4
#define FS_MAX_REFS 16
#define FS_MAX_REGION_LEN 16384u

enum fs_op {
	FS_OP_NEW_REGION = 0,
	FS_OP_INSERT = 1,
	FS_OP_REMOVE = 2,
	FS_OP_REPLACE = 3,
	FS_OP_REPLACE_REF = 4,
	FS_OP_UPDATE = 5,
	FS_OP_SYNC = 6,
	FS_OP_REGION_DROP = 7,
	FS_OP_REGION_GRAB = 8,
	FS_OP_ENTER = 9,
	FS_OP_EXIT = 10,
	FS_OP_EXIT_ALL = 11,
	FS_OP_READ = 12,
	FS_OP_WRITE = 13,
	FS_OP_TRANSLATE = 14,
	FS_OP_TYPED = 15,
	FS_OP_ATOMIC = 16,
	FS_OP_QUERY = 17,
	FS_OP_VERIFY = 18,
	FS_OP_PROMOTE = 19,
	FS_OP_DROP_REF = 20,
	FS_OP_USE_REF = 21,
	FS_OP_RECREATE = 22,
	FS_OP_DEEP = 23,
	FS_OP_RECLAIM = 24,
	FS_OP_CURRENT = 25,
	FS_OP_FAULT = 26,
	FS_OP_COUNT = 27
};

#define FS_FIRST_THREAD_OP FS_OP_ENTER

enum fs_place { FS_PL_PAGE, FS_PL_AFTER, FS_PL_BEFORE, FS_PL_OVERLAP,
		FS_PL_TOP, FS_PL_RAW, FS_PL_COUNT };
enum fs_addr { FS_AD_INSIDE, FS_AD_START, FS_AD_END, FS_AD_LOW, FS_AD_TOP,
	       FS_AD_RAW, FS_AD_COUNT };
enum fs_len { FS_LN_SMALL, FS_LN_TO_END, FS_LN_MED, FS_LN_POW2, FS_LN_COUNT };
enum fs_update { FS_UP_NOCHANGE, FS_UP_ERROR, FS_UP_NESTED, FS_UP_ENTER,
		 FS_UP_NULL, FS_UP_BADFLAGS, FS_UP_COUNT };

#define FS_SPEC_USER 1u
#define FS_SPEC_RO 2u
#define FS_SPEC_NOGUARD 4u

#define FS_INIT_COUNT 3u
#define FS_INIT_LATE_FREE 4u
#define FS_INIT_ARGCHECK 8u
#define FS_INIT_KIND_SHIFT 4
#define FS_INIT_NO_DESTROY 0x40u
#define FS_INIT_FALLBACK 0x40u /* same bit, atomic kind */
#define FS_INIT_SPACE_FIRST 0x80u

/* Space kinds (init bits 4-5); 0 keeps the original atomic-only format. */
enum fs_kind { FS_KIND_ATOMIC, FS_KIND_FIXED, FS_KIND_SHARED, FS_KIND_CUSTOM,
	       FS_KIND_COUNT };
#define FS_INIT_KIND(k) ((unsigned)(k) << FS_INIT_KIND_SHIFT)

/* FAULT sub-operation. */
enum fs_fault { FS_FAULT_ERRNO, FS_FAULT_POSITIVE, FS_FAULT_NULL,
		FS_FAULT_NONE };
#define FS_FAULT_ERR(i) ((unsigned)(i) << 2)
#define FS_FAULT_CURRENT 16u

#define FS_MODE_DEFER 1u
#define FS_MODE_OPT 2u /* drop ref / want removed / keep ref */

#ifndef FS_ENCODING_ONLY

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gmem.h"

/*
 * libgmem's internal test hook (src/space_atomic.c): switch a new atomic
 * space to the seq_cst read-section protocol.  Hidden, so only static
 * builds (the libFuzzer ones) can link it; elsewhere the weak reference
 * is NULL and init bit 6 does nothing on atomic spaces.
 */
extern int gmem__space_use_fallback(gmem_space *space) __attribute__((weak));
#include "fuzz_input.h"
#include "shadow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FS_MAX_READERS (FS_MAX_THREADS + 1) /* + the main thread's */
#define FS_MAX_VERSIONS (2 * FS_MAX_OPS + 8)
#define FS_MAX_ACCESS 20000u
#define FS_HELPER_TIMEOUT_S 20
#define FS_CROWD 40 /* readers of crowd_checks(): past three registry sizes */

#define SENTINEL_REGION ((gmem_region *)(uintptr_t)0x5e57e1f00dULL)
#define SENTINEL_MAP ((gmem_map *)(uintptr_t)0x5e57e1f00dULL)
#define SENTINEL_CMAP ((const gmem_map *)(uintptr_t)0x5e57e1f00dULL)
#define SENTINEL_SPACE ((gmem_space *)(uintptr_t)0x5e57e1f00dULL)

static bool fs_trace;

#define FAIL(...)                                                             \
	do {                                                                  \
		fprintf(stderr, "fuzz_space: op %u: ", fs_opno);              \
		fprintf(stderr, __VA_ARGS__);                                 \
		fputc('\n', stderr);                                          \
		abort();                                                      \
	} while (0)
#define CHECK(cond, ...)                                                      \
	do {                                                                  \
		if (!(cond))                                                  \
			FAIL(__VA_ARGS__);                                    \
	} while (0)
#define TRACE(...)                                                            \
	do {                                                                  \
		if (fs_trace)                                                 \
			fprintf(stderr, __VA_ARGS__);                         \
	} while (0)

/* Operation number, for messages (written by main between operations). */
static _Atomic unsigned fs_opno_a;
#define fs_opno (atomic_load_explicit(&fs_opno_a, memory_order_relaxed))

/* ------------------------------------------------------------------------ */
/* Model state                                                               */
/* ------------------------------------------------------------------------ */

struct fs_region {
	bool used;		  /* slot holds a region (maybe gone) */
	bool alive;		  /* the library still has it */
	struct shadow_region *sh; /* model bytes; tag = gmem_region * */
	gmem_region *g;		  /* valid while alive */
	unsigned held;		  /* references the harness owns */
	unsigned nver;		  /* live versions containing it */
	uint8_t *buf;		  /* USER backing block, or NULL */
	bool free_pending;	  /* buf to free at the end of the op */
};

struct fs_wait {
	unsigned reader;
	unsigned sec;
};

struct fs_version {
	struct shadow_map *m;  /* NULL once dead */
	const gmem_map *map;   /* the library's map */
	bool alive;
	bool current;	       /* the space's current reference */
	bool retired;	       /* on the space's retired list (DEFER) */
	bool wait_held;	       /* old map of an in-flight WAIT publication */
	unsigned longrefs;     /* long-lived references in the table */
	unsigned nw;	       /* readers a retired version waits for */
	struct fs_wait w[FS_MAX_READERS];
};

struct fs_reader {
	gmem_reader *r;
	unsigned depth;
	unsigned sec;	       /* outermost sections begun so far */
	int ver;	       /* version of the current section */
	const gmem_map *map;   /* snapshot of the current section */
};

struct fs_ref {
	bool used;
	gmem_map *map;
	int ver;
};

/* An operation handed to a reader thread (decoded by the main thread). */
struct fs_rop {
	int code;
	unsigned a, b;
	uint64_t gpa, len, val, val2;
};

enum { FS_INT_INIT = 100, FS_INT_FINI = 101 };
enum { W_IDLE, W_REQ, W_DONE, W_QUIT };

struct fs_ctx;

struct fs_worker {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int state;
	struct fs_rop op;
	struct fs_ctx *c;
	unsigned idx;
	bool started;
};

enum fs_hwhat { H_INSERT, H_REMOVE, H_REPLACE, H_SYNC };

struct fs_helper {
	bool active;
	enum fs_hwhat what;
	pthread_t th;
	atomic_int done;
	int rc;
	gmem_space *space;
	gmem_region *region;
	uint64_t gpa, len;
	bool want_removed;
	gmem_region *removed;
	gmem_map *map;
	/* model */
	int oldver;
	unsigned nb;
	struct fs_wait b[FS_MAX_READERS];
	int removed_slot;	/* REMOVE: slot of the expected region */
};

/*
 * The custom space: a map behind a pthread rwlock (examples/rwlock_space.c).
 * Writers only ever TRY the write lock (custom_replace()), so no thread of
 * the lockstep schedule can block, and -EBUSY says exactly "some section
 * is open", which the model knows.
 */
struct fs_custom {
	pthread_rwlock_t lock;
	gmem_map *map;		/* one reference, owned; swapped under the lock */
	struct fs_ctx *c;	/* for the counters, which outlive this */
	_Atomic int fault;	/* FS_FAULT_* for the next enter callback */
	_Atomic int fault_err;	/* its errno for FS_FAULT_ERRNO */
};

/* Per-section state handed from the enter callback to exit. */
struct fs_token {
	uint32_t magic;
	const gmem_map *map;
};

#define FS_TOKEN_MAGIC 0x70cea11u

struct fs_ctx {
	struct fdp in;
	gmem_space *space;
	enum fs_kind kind;
	size_t max_retired;
	struct fs_custom *custom; /* FS_KIND_CUSTOM until its state is freed */
	bool no_destroy;	  /* custom ops without destroy */
	bool space_first;	  /* teardown drops the space before readers */
	/* Custom callbacks: counted by the callbacks, predicted by the model. */
	atomic_uint cb_enters, cb_exits, cb_destroys;
	unsigned want_enters, want_exits;
	unsigned nthreads;	/* reader threads; the main reader is this index */
	struct fs_reader rd[FS_MAX_READERS];
	gmem_reader *probe;
	bool late_free;		/* teardown frees the space before the refs */
	struct fs_region reg[FS_MAX_REGIONS];
	struct fs_version ver[FS_MAX_VERSIONS];
	unsigned nver;
	int cur;
	size_t nretired;
	struct fs_ref refs[FS_MAX_REFS];
	struct fs_worker w[FS_MAX_THREADS];
	struct fs_helper h;
	uint64_t pagesize;
};

/* ------------------------------------------------------------------------ */
/* Model bookkeeping                                                         */
/* ------------------------------------------------------------------------ */

static int slot_of(const struct fs_ctx *c, const struct shadow_region *sh)
{
	int i;

	for (i = 0; i < FS_MAX_REGIONS; i++)
		if (c->reg[i].used && c->reg[i].sh == sh)
			return i;
	FAIL("model: region %p not in the pool", (const void *)sh);
}

static void region_check_death(struct fs_ctx *c, int i)
{
	struct fs_region *r = &c->reg[i];

	if (!r->alive || r->held || r->nver)
		return;
	TRACE("  region slot %d gone\n", i);
	r->alive = false;
	r->g = NULL;
	if (r->buf)
		r->free_pending = true;
}

static void flush_frees(struct fs_ctx *c)
{
	int i;

	for (i = 0; i < FS_MAX_REGIONS; i++) {
		if (c->reg[i].free_pending) {
			free(c->reg[i].buf);
			c->reg[i].buf = NULL;
			c->reg[i].free_pending = false;
		}
	}
}

static int version_new(struct fs_ctx *c, struct shadow_map *m,
		       const gmem_map *map)
{
	struct fs_version *v;
	size_t i;

	CHECK(c->nver < FS_MAX_VERSIONS, "model: too many versions");
	v = &c->ver[c->nver];
	memset(v, 0, sizeof(*v));
	v->m = m;
	v->map = map;
	v->alive = true;
	for (i = 0; i < m->n; i++)
		c->reg[slot_of(c, m->r[i])].nver++;
	return (int)c->nver++;
}

static void version_check_death(struct fs_ctx *c, int vi)
{
	struct fs_version *v = &c->ver[vi];
	size_t i;

	if (!v->alive || v->current || v->retired || v->wait_held ||
	    v->longrefs)
		return;
	TRACE("  version %d gone\n", vi);
	v->alive = false;
	for (i = 0; i < v->m->n; i++) {
		int s = slot_of(c, v->m->r[i]);

		c->reg[s].nver--;
		region_check_death(c, s);
	}
	shadow_map_free(v->m);
	v->m = NULL;
}

static bool wait_done(const struct fs_ctx *c, const struct fs_wait *w)
{
	const struct fs_reader *r = &c->rd[w->reader];

	return r->depth == 0 || r->sec != w->sec;
}

static unsigned inside_readers(const struct fs_ctx *c, struct fs_wait *out)
{
	unsigned i, n = 0;

	for (i = 0; i <= c->nthreads; i++) {
		if (c->rd[i].depth) {
			out[n].reader = i;
			out[n].sec = c->rd[i].sec;
			n++;
		}
	}
	return n;
}

static bool version_reclaimable(const struct fs_ctx *c,
				const struct fs_version *v)
{
	unsigned i;

	for (i = 0; i < v->nw; i++)
		if (!wait_done(c, &v->w[i]))
			return false;
	return true;
}

/* What the library's reclaim_locked() does. */
static void model_reclaim(struct fs_ctx *c)
{
	unsigned i;

	for (i = 0; i < c->nver; i++) {
		struct fs_version *v = &c->ver[i];

		if (v->retired && version_reclaimable(c, v)) {
			v->retired = false;
			c->nretired--;
			version_check_death(c, (int)i);
		}
	}
}

static void model_drop_all_retired(struct fs_ctx *c)
{
	unsigned i;

	for (i = 0; i < c->nver; i++) {
		if (c->ver[i].retired) {
			c->ver[i].retired = false;
			c->nretired--;
			version_check_death(c, (int)i);
		}
	}
	CHECK(c->nretired == 0, "model: retired count %zu", c->nretired);
}

/* A clone of version vi's region list as a new (role-less) version. */
static int version_clone(struct fs_ctx *c, int vi)
{
	return version_new(c, shadow_map_clone(c->ver[vi].m), c->ver[vi].map);
}

/* ------------------------------------------------------------------------ */
/* Checks of one map against one model version                               */
/* ------------------------------------------------------------------------ */

static void pattern(uint8_t *b, size_t n, unsigned seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = (uint8_t)(seed * 131u + i * 7u + (i >> 8) + 1u);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		FAIL("out of memory");
	return p;
}

static void verify_list(const gmem_map *m, const struct shadow_map *v,
			const char *what)
{
	size_t i, n = gmem_map_count(m);
	gmem_region *r = NULL;
	uint64_t last = 0, mlast = 0;
	int rc, mrc;

	CHECK(n == v->n, "%s: map count %zu, model %zu", what, n, v->n);
	for (i = 0; i < n; i++) {
		const struct shadow_region *s = v->r[i];

		rc = gmem_map_region(m, i, &r);
		CHECK(rc == 0 && (void *)r == s->tag,
		      "%s: region %zu: rc %d, %p, model %p", what, i, rc,
		      (void *)r, s->tag);
		CHECK(gmem_region_start(r) == s->start &&
			      gmem_region_len(r) == s->len &&
			      gmem_region_writable(r) == !s->ro,
		      "%s: region %zu: start/len/writable differ", what, i);
	}
	r = SENTINEL_REGION;
	rc = gmem_map_region(m, n, &r);
	CHECK(rc == -ENOENT && r == SENTINEL_REGION,
	      "%s: gmem_map_region(count) gave %d", what, rc);
	rc = gmem_map_last_addr(m, &last);
	mrc = shadow_last_addr(v, &mlast);
	CHECK(rc == mrc && (rc || last == mlast),
	      "%s: last_addr %d/%#llx, model %d/%#llx", what, rc,
	      (unsigned long long)last, mrc, (unsigned long long)mlast);
}

static void verify_contents(const gmem_map *m, const struct shadow_map *v,
			    const char *what)
{
	size_t i;

	for (i = 0; i < v->n; i++) {
		const struct shadow_region *s = v->r[i];
		uint8_t *b = xmalloc(s->len);
		int rc = gmem_read(m, s->start, b, s->len);

		CHECK(rc == 0, "%s: read of region %zu gave %d", what, i, rc);
		if (memcmp(b, s->bytes, s->len) != 0) {
			size_t k = 0;

			while (b[k] == s->bytes[k])
				k++;
			FAIL("%s: region %zu [%#llx+%#llx) byte %zu is %#x, "
			     "model %#x",
			     what, i, (unsigned long long)s->start,
			     (unsigned long long)s->len, k, b[k],
			     s->bytes[k]);
		}
		free(b);
	}
}

static void check_read(const gmem_map *m, const struct shadow_map *v,
		       uint64_t gpa, uint64_t len, const char *what)
{
	uint8_t *a = xmalloc(len), *b = xmalloc(len);
	int rc = gmem_read(m, gpa, a, len);
	int mrc = shadow_read(v, gpa, b, len);

	CHECK(rc == mrc, "%s: read [%#llx+%#llx) gave %d, model %d", what,
	      (unsigned long long)gpa, (unsigned long long)len, rc, mrc);
	CHECK(rc || len == 0 || memcmp(a, b, len) == 0,
	      "%s: read [%#llx+%#llx) returned other bytes than the model",
	      what, (unsigned long long)gpa, (unsigned long long)len);
	free(a);
	free(b);
}

static void check_write(const gmem_map *m, const struct shadow_map *v,
			uint64_t gpa, uint64_t len, unsigned seed, bool fill,
			const char *what)
{
	uint8_t *a = xmalloc(len);
	int rc, mrc;

	pattern(a, len, seed);
	if (fill) {
		rc = gmem_fill(m, gpa, len, (uint8_t)seed);
		mrc = shadow_fill(v, gpa, len, (uint8_t)seed);
	} else {
		rc = gmem_write(m, gpa, a, len);
		mrc = shadow_write(v, gpa, a, len);
	}
	CHECK(rc == mrc, "%s: %s [%#llx+%#llx) gave %d, model %d", what,
	      fill ? "fill" : "write", (unsigned long long)gpa,
	      (unsigned long long)len, rc, mrc);
	free(a);
}

static void check_translate(const gmem_map *m, const struct shadow_map *v,
			    uint64_t gpa, uint64_t len, unsigned sub,
			    unsigned byte, const char *what)
{
	unsigned access = sub % 4;
	bool exact = (sub & 4) != 0;
	struct shadow_region *sr = NULL;
	void *host = NULL;
	uint64_t avail = 0, off = 0, mavail = 0;
	uint8_t *p;
	int rc, mrc;

	if (exact) {
		rc = gmem_translate_exact(m, gpa, len, access, &host);
		mrc = shadow_translate_exact(v, gpa, len, access, &sr, &off);
		mavail = avail = len;
	} else {
		rc = gmem_translate(m, gpa, len, access, &host, &avail);
		mrc = shadow_translate(v, gpa, len, access, &sr, &off,
				       &mavail);
	}
	CHECK(rc == mrc, "%s: translate%s [%#llx+%#llx) access %u gave %d, "
	      "model %d", what, exact ? "_exact" : "",
	      (unsigned long long)gpa, (unsigned long long)len, access, rc,
	      mrc);
	if (rc)
		return;
	p = (uint8_t *)gmem_region_host(sr->tag) + off;
	CHECK(host == p && avail == mavail,
	      "%s: translate gave %p/%llu, model %p/%llu", what, host,
	      (unsigned long long)avail, (void *)p,
	      (unsigned long long)mavail);
	/* The pointer must be usable for the whole section. */
	CHECK(p[0] == sr->bytes[off] && p[avail - 1] == sr->bytes[off + avail - 1],
	      "%s: bytes through the translated pointer differ", what);
	if ((access & GMEM_ACCESS_WRITE) && !sr->ro) {
		p[avail - 1] = (uint8_t)byte;
		sr->bytes[off + avail - 1] = (uint8_t)byte;
	}
}

static int lib_typed_read(const gmem_map *m, uint64_t gpa, unsigned size,
			  enum shadow_endian e, uint64_t *out)
{
	uint8_t v8 = 0;
	uint16_t v16 = 0;
	uint32_t v32 = 0;
	uint64_t v64 = 0;
	int rc;

	switch (size) {
	case 1:
		rc = gmem_read_u8(m, gpa, &v8);
		*out = v8;
		return rc;
	case 2:
		rc = e == SHADOW_LE   ? gmem_read_le16(m, gpa, &v16)
		     : e == SHADOW_BE ? gmem_read_be16(m, gpa, &v16)
				      : gmem_read_u16(m, gpa, &v16);
		*out = v16;
		return rc;
	case 4:
		rc = e == SHADOW_LE   ? gmem_read_le32(m, gpa, &v32)
		     : e == SHADOW_BE ? gmem_read_be32(m, gpa, &v32)
				      : gmem_read_u32(m, gpa, &v32);
		*out = v32;
		return rc;
	default:
		rc = e == SHADOW_LE   ? gmem_read_le64(m, gpa, &v64)
		     : e == SHADOW_BE ? gmem_read_be64(m, gpa, &v64)
				      : gmem_read_u64(m, gpa, &v64);
		*out = v64;
		return rc;
	}
}

static int lib_typed_write(const gmem_map *m, uint64_t gpa, unsigned size,
			   enum shadow_endian e, uint64_t val)
{
	switch (size) {
	case 1:
		return gmem_write_u8(m, gpa, (uint8_t)val);
	case 2:
		return e == SHADOW_LE	? gmem_write_le16(m, gpa, (uint16_t)val)
		       : e == SHADOW_BE ? gmem_write_be16(m, gpa, (uint16_t)val)
					: gmem_write_u16(m, gpa, (uint16_t)val);
	case 4:
		return e == SHADOW_LE	? gmem_write_le32(m, gpa, (uint32_t)val)
		       : e == SHADOW_BE ? gmem_write_be32(m, gpa, (uint32_t)val)
					: gmem_write_u32(m, gpa, (uint32_t)val);
	default:
		return e == SHADOW_LE	? gmem_write_le64(m, gpa, val)
		       : e == SHADOW_BE ? gmem_write_be64(m, gpa, val)
					: gmem_write_u64(m, gpa, val);
	}
}

static void check_typed(const gmem_map *m, const struct shadow_map *v,
			uint64_t gpa, unsigned sub, uint64_t val,
			const char *what)
{
	static const unsigned sizes[4] = { 1, 2, 4, 8 };
	static const enum shadow_endian ends[4] = { SHADOW_HOST, SHADOW_LE,
						    SHADOW_BE, SHADOW_HOST };
	unsigned size = sizes[sub & 3];
	enum shadow_endian e = ends[(sub >> 2) & 3];
	uint64_t got = 0, want = 0;
	int rc, mrc;

	if (sub & 16) {
		rc = lib_typed_write(m, gpa, size, e, val);
		mrc = shadow_typed_write(v, gpa, size, e, val);
		CHECK(rc == mrc, "%s: typed write%u/%d at %#llx gave %d, model %d",
		      what, size * 8, (int)e, (unsigned long long)gpa, rc, mrc);
		return;
	}
	rc = lib_typed_read(m, gpa, size, e, &got);
	mrc = shadow_typed_read(v, gpa, size, e, &want);
	CHECK(rc == mrc && (rc || got == want),
	      "%s: typed read%u/%d at %#llx gave %d/%#llx, model %d/%#llx",
	      what, size * 8, (int)e, (unsigned long long)gpa, rc,
	      (unsigned long long)got, mrc, (unsigned long long)want);
}

static int lib_atomic(const gmem_map *m, enum shadow_atomic_op op,
		      unsigned size, uint64_t gpa, uint64_t val,
		      uint64_t *expected, uint64_t *old)
{
	uint16_t o16 = 0, e16 = (uint16_t)*expected;
	uint32_t o32 = 0, e32 = (uint32_t)*expected;
	uint64_t o64 = 0, e64 = *expected;
	int rc = -EINVAL;

#define FS_ATOMIC_CASE(bits, o, e)                                             \
	switch (op) {                                                          \
	case SHADOW_ATOMIC_LOAD:                                               \
		rc = gmem_atomic_load_u##bits(m, gpa, &o);                     \
		break;                                                         \
	case SHADOW_ATOMIC_STORE:                                              \
		rc = gmem_atomic_store_u##bits(m, gpa, (uint##bits##_t)val);   \
		break;                                                         \
	case SHADOW_ATOMIC_CMPXCHG:                                            \
		rc = gmem_atomic_cmpxchg_u##bits(m, gpa, &e,                   \
						 (uint##bits##_t)val);         \
		break;                                                         \
	case SHADOW_ATOMIC_ADD:                                                \
		rc = gmem_atomic_fetch_add_u##bits(m, gpa,                     \
						   (uint##bits##_t)val, &o);   \
		break;                                                         \
	case SHADOW_ATOMIC_OR:                                                 \
		rc = gmem_atomic_fetch_or_u##bits(m, gpa, (uint##bits##_t)val, \
						  &o);                         \
		break;                                                         \
	default:                                                               \
		rc = gmem_atomic_fetch_and_u##bits(m, gpa,                     \
						   (uint##bits##_t)val, &o);   \
		break;                                                         \
	}                                                                      \
	*old = o;                                                              \
	*expected = e;

	switch (size) {
	case 2:
		FS_ATOMIC_CASE(16, o16, e16)
		break;
	case 4:
		FS_ATOMIC_CASE(32, o32, e32)
		break;
	default:
		FS_ATOMIC_CASE(64, o64, e64)
		break;
	}
#undef FS_ATOMIC_CASE
	return rc;
}

static void check_atomic(const gmem_map *m, const struct shadow_map *v,
			 uint64_t gpa, unsigned sub, uint64_t val,
			 uint64_t expected, const char *what)
{
	static const unsigned sizes[4] = { 2, 4, 8, 8 };
	unsigned size = sizes[sub & 3];
	enum shadow_atomic_op op = (enum shadow_atomic_op)((sub >> 2) % 6);
	uint64_t mask = size == 8 ? UINT64_MAX : (1ull << (8 * size)) - 1;
	uint64_t e1 = expected & mask, e2 = expected & mask, o1 = 0, o2 = 0;
	int rc, mrc;

	rc = lib_atomic(m, op, size, gpa, val, &e1, &o1);
	mrc = shadow_atomic(v, op, size, gpa, val, &e2, &o2);
	CHECK(rc == mrc, "%s: atomic op %d/%u at %#llx gave %d, model %d",
	      what, (int)op, size * 8, (unsigned long long)gpa, rc, mrc);
	if (op == SHADOW_ATOMIC_CMPXCHG)
		CHECK(rc != -EAGAIN || e1 == e2,
		      "%s: cmpxchg found %#llx, model %#llx", what,
		      (unsigned long long)e1, (unsigned long long)e2);
	else if (op != SHADOW_ATOMIC_STORE && rc == 0)
		CHECK(o1 == o2, "%s: atomic op %d old %#llx, model %#llx", what,
		      (int)op, (unsigned long long)o1, (unsigned long long)o2);
}

static void check_query(const gmem_map *m, const struct shadow_map *v,
			uint64_t gpa, const char *what)
{
	gmem_region *r = SENTINEL_REGION;
	struct shadow_region *s = shadow_find(v, gpa);
	int rc = gmem_map_find(m, gpa, &r);

	CHECK(gmem_map_count(m) == v->n, "%s: count %zu, model %zu", what,
	      gmem_map_count(m), v->n);
	if (s)
		CHECK(rc == 0 && (void *)r == s->tag,
		      "%s: find(%#llx) gave %d/%p, model %p", what,
		      (unsigned long long)gpa, rc, (void *)r, s->tag);
	else
		CHECK(rc == -EFAULT && r == SENTINEL_REGION,
		      "%s: find(%#llx) gave %d in a hole", what,
		      (unsigned long long)gpa, rc);
}

/* ------------------------------------------------------------------------ */
/* Long-lived reference table                                                */
/* ------------------------------------------------------------------------ */

static void ref_drop(struct fs_ctx *c, unsigned i)
{
	struct fs_ref *f = &c->refs[i];

	if (!f->used)
		return;
	gmem_map_free(f->map);
	f->used = false;
	c->ver[f->ver].longrefs--;
	version_check_death(c, f->ver);
}

/* Store a reference; drops entry 0 first if the table is full. */
static void ref_add(struct fs_ctx *c, gmem_map *map, int vi)
{
	unsigned i;

	for (i = 0; i < FS_MAX_REFS && c->refs[i].used; i++)
		;
	if (i == FS_MAX_REFS) {
		i = 0;
		ref_drop(c, 0);
	}
	c->refs[i].used = true;
	c->refs[i].map = map;
	c->refs[i].ver = vi;
	c->ver[vi].longrefs++;
	TRACE("  ref[%u] = version %d\n", i, vi);
}

static void window_reclaim(struct fs_ctx *c, const char *what);

/* ------------------------------------------------------------------------ */
/* The custom space (struct gmem_space_ops implemented by the harness)       */
/* ------------------------------------------------------------------------ */

static const char *const kind_names[FS_KIND_COUNT] = { "atomic", "fixed",
						       "shared", "custom" };

static int custom_enter(void *ctx, void **token, const gmem_map **map)
{
	struct fs_custom *cs = ctx;
	int fault = atomic_exchange(&cs->fault, FS_FAULT_NONE), err;
	struct fs_token *t;

	atomic_fetch_add(&cs->c->cb_enters, 1);
	if (fault == FS_FAULT_ERRNO)
		return atomic_load(&cs->fault_err);
	/* Breaks the contract ("0 or a negative errno") on purpose. */
	if (fault == FS_FAULT_POSITIVE)
		return 1;
	err = pthread_rwlock_rdlock(&cs->lock);
	CHECK(err == 0, "custom enter: rdlock gave %d", err);
	/* A malloc'd token: an exit without enter, or a second exit, is a
	 * heap error under ASan; an enter without exit is a leak. */
	t = xmalloc(sizeof(*t));
	t->magic = FS_TOKEN_MAGIC;
	/* Borrowed: no writer can drop the space's reference to the map
	 * while this section holds the read lock. */
	t->map = fault == FS_FAULT_NULL ? NULL : cs->map;
	*token = t;
	*map = t->map;
	return 0;
}

static void custom_exit(void *ctx, void *token, const gmem_map *map)
{
	struct fs_custom *cs = ctx;
	struct fs_token *t = token;

	atomic_fetch_add(&cs->c->cb_exits, 1);
	CHECK(t && t->magic == FS_TOKEN_MAGIC,
	      "custom exit: token %p was not handed out by enter", token);
	CHECK(t->map == map, "custom exit: map %p, the section's is %p",
	      (const void *)map, (const void *)t->map);
	t->magic = 0;
	free(t);
	pthread_rwlock_unlock(&cs->lock);
}

/* The owner's teardown of its state, by destroy or by the harness. */
static void custom_free(struct fs_custom *cs)
{
	int err = pthread_rwlock_trywrlock(&cs->lock);

	CHECK(err == 0, "custom space destroyed with a section open (%d)", err);
	pthread_rwlock_unlock(&cs->lock);
	pthread_rwlock_destroy(&cs->lock);
	gmem_map_free(cs->map);
	free(cs);
}

static void custom_destroy(void *ctx)
{
	struct fs_custom *cs = ctx;

	atomic_fetch_add(&cs->c->cb_destroys, 1);
	custom_free(cs);
}

static int custom_new(struct fs_ctx *c, gmem_map *map)
{
	/* On the stack: the library must copy it. */
	struct gmem_space_ops ops = {
		.size = (uint32_t)sizeof(ops),
		.enter = custom_enter,
		.exit = custom_exit,
		.destroy = c->no_destroy ? NULL : custom_destroy,
	};
	struct fs_custom *cs = xmalloc(sizeof(*cs));
	int rc;

	memset(cs, 0, sizeof(*cs));
	if (pthread_rwlock_init(&cs->lock, NULL))
		FAIL("cannot create the custom space's lock");
	cs->map = gmem_map_ref(map);
	cs->c = c;
	atomic_init(&cs->fault, FS_FAULT_NONE);
	atomic_init(&cs->fault_err, 0);
	rc = gmem_space_new_custom(&c->space, &ops, cs);
	if (rc) {
		custom_free(cs);
		return rc;
	}
	c->custom = cs;
	return 0;
}

/*
 * The owner publishes @map (the space takes its own reference).  A real
 * owner would wait for the write lock; trying it keeps the schedule
 * deterministic: -EBUSY exactly when some section is open.
 */
static int custom_replace(struct fs_custom *cs, gmem_map *map)
{
	gmem_map *old;
	int err = pthread_rwlock_trywrlock(&cs->lock);

	if (err)
		return -err;
	old = cs->map;
	cs->map = gmem_map_ref(map);
	pthread_rwlock_unlock(&cs->lock);
	/* Outside the lock: the last reference may unmap regions. */
	gmem_map_free(old);
	return 0;
}

static bool any_reader_inside(const struct fs_ctx *c)
{
	unsigned i;

	for (i = 0; i <= c->nthreads; i++)
		if (c->rd[i].depth)
			return true;
	return false;
}

/* The callbacks must have run exactly as often as the model says. */
static void custom_check(struct fs_ctx *c, const char *what)
{
	unsigned e, x;

	if (c->kind != FS_KIND_CUSTOM)
		return;
	e = atomic_load(&c->cb_enters);
	x = atomic_load(&c->cb_exits);
	CHECK(e == c->want_enters && x == c->want_exits,
	      "%s: custom callbacks ran %u enters, %u exits; model %u, %u",
	      what, e, x, c->want_enters, c->want_exits);
	if (c->space)
		CHECK(atomic_load(&c->cb_destroys) == 0,
		      "%s: custom destroy while the space is referenced", what);
}

/*
 * gmem_space_current() on the space under test.  With valid arguments a
 * custom space runs one enter/exit pair for it (no fault is armed here).
 */
static int space_current(struct fs_ctx *c, gmem_map **out)
{
	if (c->kind == FS_KIND_CUSTOM && out) {
		c->want_enters++;
		c->want_exits++;
	}
	return gmem_space_current(c->space, out);
}

/* ------------------------------------------------------------------------ */
/* Thread operations (run by a reader thread or by main, one at a time)      */
/* ------------------------------------------------------------------------ */

static void reader_enter(struct fs_ctx *c, unsigned who, const char *what)
{
	struct fs_reader *r = &c->rd[who];
	const gmem_map *m = NULL;
	int rc = gmem_reader_enter(r->r, &m);

	CHECK(rc == 0, "%s: enter gave %d", what, rc);
	if (r->depth == 0) {
		if (c->kind == FS_KIND_CUSTOM)
			c->want_enters++;
		CHECK(m == c->ver[c->cur].map,
		      "%s: enter gave map %p, current is %p (version %d)", what,
		      (const void *)m, (const void *)c->ver[c->cur].map, c->cur);
		r->sec++;
		r->ver = c->cur;
		r->map = m;
	} else {
		CHECK(m == r->map, "%s: nested enter gave another map", what);
	}
	r->depth++;
}

static void reader_exit(struct fs_ctx *c, unsigned who, const char *what)
{
	struct fs_reader *r = &c->rd[who];
	int rc = gmem_reader_exit(r->r);

	if (r->depth == 0) {
		CHECK(rc == -EINVAL, "%s: exit outside a section gave %d", what,
		      rc);
		return;
	}
	CHECK(rc == 0, "%s: exit gave %d", what, rc);
	if (--r->depth == 0) {
		if (c->kind == FS_KIND_CUSTOM)
			c->want_exits++;
		r->map = NULL;
		r->ver = -1;
	}
}

static void map_op(struct fs_ctx *c, const gmem_map *m,
		   const struct shadow_map *v, int code, const struct fs_rop *op,
		   const char *what)
{
	(void)c;
	switch (code) {
	case FS_OP_READ:
		check_read(m, v, op->gpa, op->len, what);
		break;
	case FS_OP_WRITE:
		check_write(m, v, op->gpa, op->len, op->b, op->a & 1, what);
		break;
	case FS_OP_TRANSLATE:
		check_translate(m, v, op->gpa, op->len, op->a, op->b, what);
		break;
	case FS_OP_TYPED:
		check_typed(m, v, op->gpa, op->a, op->val, what);
		break;
	case FS_OP_ATOMIC:
		check_atomic(m, v, op->gpa, op->a, op->val, op->val2, what);
		break;
	case FS_OP_QUERY:
		check_query(m, v, op->gpa, what);
		break;
	case FS_OP_VERIFY:
		verify_list(m, v, what);
		verify_contents(m, v, what);
		break;
	default:
		break;
	}
}

/* CURRENT: a reference to the published map, into the table. */
static void thread_current(struct fs_ctx *c, const char *what)
{
	gmem_map *m = SENTINEL_MAP;
	int rc;

	if (c->h.active)
		return; /* would wait for the writer lock */
	rc = space_current(c, &m);
	CHECK(rc == 0 && m == c->ver[c->cur].map,
	      "%s: gmem_space_current gave %d/%p, model %p", what, rc,
	      (void *)m, (const void *)c->ver[c->cur].map);
	ref_add(c, m, c->cur);
}

/*
 * FAULT: arm the custom space's next enter callback, then enter (or call
 * gmem_space_current()).  A negative errno comes back unchanged; a
 * positive return or a NULL map is refused with -EINVAL (and the NULL
 * map's section is ended through exit); either way no section is open
 * and no output is written.  A nested enter calls no callback at all.
 */
static void thread_fault(struct fs_ctx *c, unsigned who, unsigned sub,
			 const char *what)
{
	static const int errs[4] = { -EIO, -EAGAIN, -ENOMEM, -EPERM };
	struct fs_reader *r = &c->rd[who];
	int fault = (int)(sub & 3), err = errs[(sub >> 2) & 3], want, rc;
	bool via_current = (sub & FS_FAULT_CURRENT) != 0;

	if (c->kind != FS_KIND_CUSTOM || fault == FS_FAULT_NONE) {
		if (via_current)
			thread_current(c, what);
		else
			reader_enter(c, who, what);
		return;
	}
	atomic_store(&c->custom->fault_err, err);
	atomic_store(&c->custom->fault, fault);
	want = fault == FS_FAULT_ERRNO ? err : -EINVAL;
	if (via_current) {
		gmem_map *m = SENTINEL_MAP;

		rc = gmem_space_current(c->space, &m);
		CHECK(rc == want && m == SENTINEL_MAP,
		      "%s: gmem_space_current with fault %d gave %d/%p, "
		      "want %d", what, fault, rc, (void *)m, want);
	} else if (r->depth) {
		reader_enter(c, who, what);
		CHECK(atomic_exchange(&c->custom->fault, FS_FAULT_NONE) ==
			      fault,
		      "%s: a nested enter called the enter callback", what);
		return;
	} else {
		const gmem_map *m = SENTINEL_CMAP;

		rc = gmem_reader_enter(r->r, &m);
		CHECK(rc == want && m == SENTINEL_CMAP,
		      "%s: enter with fault %d gave %d/%p, want %d", what,
		      fault, rc, (const void *)m, want);
		rc = gmem_reader_exit(r->r);
		CHECK(rc == -EINVAL, "%s: a failed enter left a section open "
		      "(exit gave %d)", what, rc);
	}
	c->want_enters++;
	if (fault == FS_FAULT_NULL)
		c->want_exits++;
	CHECK(atomic_load(&c->custom->fault) == FS_FAULT_NONE,
	      "%s: the enter callback was not called", what);
}

static void thread_op(struct fs_ctx *c, unsigned who, const struct fs_rop *op)
{
	struct fs_reader *r = &c->rd[who];
	char what[48];
	int rc;

	snprintf(what, sizeof(what), "reader %u", who);
	if (r->depth)
		CHECK(c->ver[r->ver].alive,
		      "model: reader %u inside on dead version %d", who, r->ver);
	switch (op->code) {
	case FS_INT_INIT:
		rc = gmem_reader_new(&r->r, c->space);
		CHECK(rc == 0, "%s: gmem_reader_new gave %d", what, rc);
		break;
	case FS_INT_FINI:
		rc = gmem_reader_free(r->r);
		CHECK(rc == 0, "%s: gmem_reader_free gave %d", what, rc);
		r->r = NULL;
		break;
	case FS_OP_ENTER:
		reader_enter(c, who, what);
		break;
	case FS_OP_EXIT:
		reader_exit(c, who, what);
		break;
	case FS_OP_EXIT_ALL:
		while (r->depth)
			reader_exit(c, who, what);
		break;
	case FS_OP_READ:
	case FS_OP_WRITE:
	case FS_OP_TRANSLATE:
	case FS_OP_TYPED:
	case FS_OP_ATOMIC:
	case FS_OP_QUERY:
	case FS_OP_VERIFY:
		if (r->depth)
			map_op(c, r->map, c->ver[r->ver].m, op->code, op, what);
		break;
	case FS_OP_PROMOTE: {
		gmem_map *m = SENTINEL_MAP;

		rc = gmem_reader_ref(r->r, &m);
		if (r->depth == 0) {
			CHECK(rc == -EINVAL && m == SENTINEL_MAP,
			      "%s: gmem_reader_ref outside gave %d", what, rc);
			break;
		}
		CHECK(rc == 0 && m == r->map,
		      "%s: gmem_reader_ref gave %d/%p, snapshot %p", what, rc,
		      (void *)m, (const void *)r->map);
		ref_add(c, m, r->ver);
		break;
	}
	case FS_OP_DROP_REF:
		ref_drop(c, op->a % FS_MAX_REFS);
		break;
	case FS_OP_USE_REF: {
		const struct fs_ref *f = &c->refs[op->a % FS_MAX_REFS];
		static const int codes[4] = { FS_OP_READ, FS_OP_VERIFY,
					      FS_OP_WRITE, FS_OP_QUERY };
		struct fs_rop o2 = *op;

		if (!f->used)
			break;
		CHECK(c->ver[f->ver].alive, "model: ref on dead version");
		o2.a = 0; /* write, not fill */
		snprintf(what, sizeof(what), "reader %u ref %u", who,
			 op->a % FS_MAX_REFS);
		map_op(c, f->map, c->ver[f->ver].m, codes[op->b % 4], &o2,
		       what);
		break;
	}
	case FS_OP_RECREATE:
		rc = gmem_reader_free(r->r);
		if (r->depth) {
			CHECK(rc == -EBUSY,
			      "%s: gmem_reader_free inside gave %d", what, rc);
			break;
		}
		CHECK(rc == 0, "%s: gmem_reader_free gave %d", what, rc);
		r->r = NULL;
		rc = gmem_reader_new(&r->r, c->space);
		CHECK(rc == 0, "%s: gmem_reader_new gave %d", what, rc);
		break;
	case FS_OP_DEEP: {
		unsigned d0 = r->depth;
		const gmem_map *m = NULL;

		while (r->depth < GMEM_READER_MAX_DEPTH)
			reader_enter(c, who, what);
		rc = gmem_reader_enter(r->r, &m);
		CHECK(rc == -EOVERFLOW, "%s: enter beyond max depth gave %d",
		      what, rc);
		while (r->depth > d0)
			reader_exit(c, who, what);
		break;
	}
	case FS_OP_RECLAIM: {
		size_t pending = 12345;

		if (c->h.active) {
			window_reclaim(c, what);
			break;
		}
		rc = gmem_space_reclaim(c->space, &pending);
		if (c->kind != FS_KIND_ATOMIC) {
			CHECK(rc == -EOPNOTSUPP && pending == 12345,
			      "%s: reclaim on a %s space gave %d", what,
			      kind_names[c->kind], rc);
			break;
		}
		CHECK(rc == 0, "%s: reclaim gave %d", what, rc);
		model_reclaim(c);
		CHECK(pending == c->nretired && pending <= c->max_retired,
		      "%s: reclaim pending %zu, model %zu (max %zu)", what,
		      pending, c->nretired, c->max_retired);
		break;
	}
	case FS_OP_CURRENT:
		thread_current(c, what);
		break;
	case FS_OP_FAULT:
		thread_fault(c, who, op->a, what);
		break;
	default:
		FAIL("bad thread op %d", op->code);
	}
}

/* ------------------------------------------------------------------------ */
/* Reader threads in lockstep                                                */
/* ------------------------------------------------------------------------ */

static void *worker_main(void *arg)
{
	struct fs_worker *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (w->state != W_REQ && w->state != W_QUIT)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->state == W_QUIT)
			break;
		pthread_mutex_unlock(&w->mu);
		thread_op(w->c, w->idx, &w->op);
		pthread_mutex_lock(&w->mu);
		w->state = W_DONE;
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

static void run_on(struct fs_ctx *c, unsigned who, const struct fs_rop *op)
{
	struct fs_worker *w;

	if (who == c->nthreads) {
		thread_op(c, who, op);
		return;
	}
	w = &c->w[who];
	pthread_mutex_lock(&w->mu);
	w->op = *op;
	w->state = W_REQ;
	pthread_cond_broadcast(&w->cv);
	while (w->state != W_DONE)
		pthread_cond_wait(&w->cv, &w->mu);
	w->state = W_IDLE;
	pthread_mutex_unlock(&w->mu);
}

static void workers_start(struct fs_ctx *c)
{
	struct fs_rop init = { .code = FS_INT_INIT };
	unsigned i;

	for (i = 0; i < c->nthreads; i++) {
		struct fs_worker *w = &c->w[i];

		w->c = c;
		w->idx = i;
		w->state = W_IDLE;
		if (pthread_mutex_init(&w->mu, NULL) ||
		    pthread_cond_init(&w->cv, NULL) ||
		    pthread_create(&w->th, NULL, worker_main, w))
			FAIL("cannot start reader thread %u", i);
		w->started = true;
		run_on(c, i, &init);
	}
}

static void workers_stop(struct fs_ctx *c)
{
	struct fs_rop fini = { .code = FS_INT_FINI };
	unsigned i;

	for (i = 0; i < c->nthreads; i++) {
		struct fs_worker *w = &c->w[i];

		if (!w->started)
			continue;
		run_on(c, i, &fini);
		pthread_mutex_lock(&w->mu);
		w->state = W_QUIT;
		pthread_cond_broadcast(&w->cv);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->th, NULL);
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		w->started = false;
	}
}

/* ------------------------------------------------------------------------ */
/* Blocking writer calls in a helper thread                                  */
/* ------------------------------------------------------------------------ */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *helper_main(void *arg)
{
	struct fs_helper *h = arg;
	int rc;

	switch (h->what) {
	case H_INSERT:
		rc = gmem_space_insert(h->space, h->region, GMEM_PUBLISH_WAIT);
		break;
	case H_REMOVE:
		rc = gmem_space_remove(h->space, h->gpa, h->len,
				       h->want_removed ? &h->removed : NULL,
				       GMEM_PUBLISH_WAIT);
		break;
	case H_REPLACE:
		rc = gmem_space_replace(h->space, h->map, GMEM_PUBLISH_WAIT);
		break;
	default:
		rc = gmem_space_synchronize(h->space);
		break;
	}
	h->rc = rc;
	atomic_store_explicit(&h->done, 1, memory_order_release);
	return NULL;
}

static const char *helper_name(const struct fs_helper *h)
{
	static const char *const names[] = { "WAIT insert", "WAIT remove",
					     "WAIT replace", "synchronize" };

	return names[h->what];
}

static void helper_spawn(struct fs_ctx *c)
{
	struct fs_helper *h = &c->h;

	h->space = c->space;
	h->rc = 1;
	h->removed = SENTINEL_REGION;
	atomic_store(&h->done, 0);
	if (pthread_create(&h->th, NULL, helper_main, h))
		FAIL("cannot start helper thread");
	h->active = true;
}

/* The helper returned early: join it and report. */
static void helper_early(struct fs_ctx *c, const char *why)
{
	pthread_join(c->h.th, NULL);
	c->h.active = false;
	FAIL("%s returned %d %s", helper_name(&c->h), c->h.rc, why);
}

/*
 * Start a WAIT publication in the helper and wait until the new map is
 * visible to a probe reader; check it against @expect inside the probe's
 * section and return its pointer.
 */
static const gmem_map *helper_publish(struct fs_ctx *c,
				      const struct shadow_map *expect)
{
	const gmem_map *old = c->ver[c->cur].map, *m = NULL;
	double deadline = now_s() + FS_HELPER_TIMEOUT_S;

	helper_spawn(c);
	for (;;) {
		int rc = gmem_reader_enter(c->probe, &m);

		CHECK(rc == 0, "probe enter gave %d", rc);
		if (m != old)
			verify_list(m, expect, "WAIT-published map");
		rc = gmem_reader_exit(c->probe);
		CHECK(rc == 0, "probe exit gave %d", rc);
		if (m != old)
			return m;
		if (atomic_load_explicit(&c->h.done, memory_order_acquire))
			helper_early(c, "without publishing, readers inside");
		CHECK(now_s() < deadline, "%s never published",
		      helper_name(&c->h));
		sched_yield();
	}
}

/*
 * Start gmem_space_synchronize() in the helper.  Nothing observable tells
 * when it has taken the retired list, and nothing in the window depends on
 * it: the schedule goes on at once.
 */
static void helper_sync(struct fs_ctx *c)
{
	helper_spawn(c);
}

static void helper_join(struct fs_ctx *c)
{
	struct fs_helper *h = &c->h;
	double deadline = now_s() + FS_HELPER_TIMEOUT_S;

	while (!atomic_load_explicit(&h->done, memory_order_acquire)) {
		CHECK(now_s() < deadline,
		      "%s still blocked after every reader it waits for left",
		      helper_name(h));
		sched_yield();
	}
	pthread_join(h->th, NULL);
	h->active = false;
	CHECK(h->rc == 0, "%s gave %d", helper_name(h), h->rc);
	TRACE("  %s returned\n", helper_name(h));
	/* The removed region's reference first: it keeps the region alive. */
	if (h->what == H_REMOVE) {
		if (h->want_removed) {
			struct fs_region *r = &c->reg[h->removed_slot];

			CHECK(h->removed == r->g,
			      "WAIT remove: *removed %p, model %p",
			      (void *)h->removed, (void *)r->g);
			r->held++;
		} else {
			CHECK(h->removed == SENTINEL_REGION,
			      "WAIT remove wrote *removed");
		}
	}
	if (h->what == H_SYNC) {
		size_t pending = 99;
		int rc;

		model_drop_all_retired(c);
		rc = gmem_space_reclaim(c->space, &pending);
		CHECK(rc == 0 && pending == 0,
		      "reclaim after a blocked synchronize gave %d, pending %zu",
		      rc, pending);
	} else {
		c->ver[h->oldver].wait_held = false;
		version_check_death(c, h->oldver);
		model_reclaim(c);
	}
}

/* After every operation: has the helper been released, or returned early? */
static void helper_check(struct fs_ctx *c)
{
	struct fs_helper *h = &c->h;
	unsigned i;

	if (!h->active)
		return;
	for (i = 0; i < h->nb; i++) {
		if (!wait_done(c, &h->b[i])) {
			sched_yield();
			if (atomic_load_explicit(&h->done,
						 memory_order_acquire))
				helper_early(c, "while a reader it waits for "
						"is still inside");
			return;
		}
	}
	helper_join(c);
}

/* ------------------------------------------------------------------------ */
/* Writer operations                                                         */
/* ------------------------------------------------------------------------ */

/* The pointer of a newly published map, and a check of its region list. */
static void learn_current(struct fs_ctx *c, int vi)
{
	gmem_map *m = SENTINEL_MAP;
	int rc = space_current(c, &m);

	CHECK(rc == 0, "gmem_space_current gave %d", rc);
	if (c->ver[vi].map)
		CHECK(m == c->ver[vi].map,
		      "gmem_space_current gave %p, published %p", (void *)m,
		      (const void *)c->ver[vi].map);
	c->ver[vi].map = m;
	verify_list(m, c->ver[vi].m, "current map");
	gmem_map_free(m);
}

/* The model side of a successful publication of version nv. */
static void model_publish(struct fs_ctx *c, int nv, bool defer)
{
	int old = c->cur;
	struct fs_version *o = &c->ver[old];

	TRACE("  publish version %d (%zu regions) %s, old %d\n", nv,
	      c->ver[nv].m->n, defer ? "DEFER" : "WAIT", old);
	c->ver[nv].current = true;
	c->cur = nv;
	o->current = false;
	if (defer) {
		o->retired = true;
		o->nw = inside_readers(c, o->w);
		c->nretired++;
		model_reclaim(c);
	} else {
		version_check_death(c, old);
		model_reclaim(c);
	}
}

/* The -EBUSY pre-check of a DEFER update (after the library call). */
static bool model_defer_full(struct fs_ctx *c)
{
	if (c->nretired >= c->max_retired)
		model_reclaim(c);
	return c->nretired >= c->max_retired;
}

/*
 * gmem_space_reclaim() while a helper is blocked in a WAIT publication or
 * gmem_space_synchronize().  Whether the blocked writer keeps the writer
 * lock while it waits is not specified, so -EBUSY ("another thread is
 * updating the space right now") and 0 are both accepted.  On 0: during a
 * WAIT publication the retired list is not touched by the waiting writer,
 * so the count is exact; during synchronize the writer may or may not have
 * taken the list yet, so only the upper bound holds (the model drops those
 * maps when synchronize returns).  Writer operations that would take the
 * writer lock are replaced by this check while a helper is blocked.
 */
static void window_reclaim(struct fs_ctx *c, const char *what)
{
	size_t pending = 777;
	int rc = gmem_space_reclaim(c->space, &pending);

	if (rc == -EBUSY) {
		CHECK(pending == 777, "%s: reclaim -EBUSY wrote *pending", what);
		return;
	}
	CHECK(rc == 0, "%s: reclaim during a blocked %s gave %d", what,
	      helper_name(&c->h), rc);
	if (c->h.what == H_SYNC) {
		CHECK(pending <= c->nretired,
		      "%s: reclaim during synchronize: pending %zu > %zu", what,
		      pending, c->nretired);
		return;
	}
	model_reclaim(c);
	CHECK(pending == c->nretired,
	      "%s: reclaim during a blocked %s: pending %zu, model %zu", what,
	      helper_name(&c->h), pending, c->nretired);
}

enum fs_pub { P_INSERT, P_REMOVE, P_REPLACE };

struct fs_pubreq {
	enum fs_pub kind;
	bool defer;
	/* INSERT */
	int slot;
	bool drop_after;
	/* REMOVE */
	uint64_t gpa, len;
	bool want_removed;
	/* REPLACE */
	gmem_map *map;
	int builder;	  /* version holding the caller's map reference */
	bool keep_ref;	  /* builder reference goes to the ref table */
	bool borrowed;	  /* REPLACE_REF: the map belongs to the ref table */
};

/* Expected result of the update callback, and the next version's model. */
static int model_next(struct fs_ctx *c, const struct fs_pubreq *q,
		      struct shadow_map **next, int *removed_slot)
{
	const struct shadow_map *cur = c->ver[c->cur].m;
	struct shadow_region *rem = NULL;
	int rc;

	switch (q->kind) {
	case P_INSERT:
		if (cur->n >= cur->cap)
			return -E2BIG;
		return shadow_map_insert(next, cur, c->reg[q->slot].sh);
	case P_REMOVE:
		rc = shadow_map_remove(next, cur, q->gpa, q->len, &rem);
		if (rc == 0)
			*removed_slot = slot_of(c, rem);
		return rc;
	default:
		*next = shadow_map_clone(c->ver[q->builder].m);
		return 0;
	}
}

/* After a successful publication: the caller's references. */
static void publish_after(struct fs_ctx *c, struct fs_pubreq *q, bool ok)
{
	if (q->kind == P_INSERT && q->drop_after && ok) {
		struct fs_region *ins = &c->reg[q->slot];

		gmem_region_free(ins->g);
		ins->held--;
		region_check_death(c, q->slot);
	}
	if (q->kind == P_REPLACE && !q->borrowed) {
		/* The builder version holds the caller's map reference. */
		if (q->keep_ref && ok)
			ref_add(c, q->map, q->builder);
		else
			gmem_map_free(q->map);
		c->ver[q->builder].longrefs--;
		version_check_death(c, q->builder);
	}
}

static const char *const pub_names[] = { "insert", "remove", "replace" };

/*
 * The owner of a custom space publishes what the request describes: the
 * next map derived the same way the library's update functions would
 * (gmem_map_insert()/gmem_map_remove(), or the built map), then
 * custom_replace().  Returns true when it was published.
 */
static bool custom_publish(struct fs_ctx *c, struct fs_pubreq *q)
{
	const gmem_map *cur = c->ver[c->cur].map;
	struct shadow_map *next = NULL;
	gmem_region *removed = NULL;
	gmem_map *nm = NULL;
	int removed_slot = -1, rc, want, nv;

	want = model_next(c, q, &next, &removed_slot);
	switch (q->kind) {
	case P_INSERT:
		rc = gmem_map_insert(&nm, cur, c->reg[q->slot].g);
		break;
	case P_REMOVE:
		rc = gmem_map_remove(&nm, cur, q->gpa, q->len,
				     q->want_removed ? &removed : NULL);
		break;
	default:
		nm = gmem_map_ref(q->map);
		rc = 0;
		break;
	}
	CHECK(rc == want, "custom %s: deriving the map gave %d, model %d",
	      pub_names[q->kind], rc, want);
	if (rc) {
		TRACE("  custom %s: deriving gave %d\n", pub_names[q->kind],
		      rc);
		shadow_map_free(next);
		return false;
	}
	if (q->kind == P_REMOVE && q->want_removed)
		CHECK(removed == c->reg[removed_slot].g,
		      "gmem_map_remove: *removed %p, model %p", (void *)removed,
		      (void *)c->reg[removed_slot].g);
	rc = custom_replace(c->custom, nm);
	want = any_reader_inside(c) ? -EBUSY : 0;
	CHECK(rc == want, "custom %s: publication gave %d, model %d",
	      pub_names[q->kind], rc, want);
	TRACE("  custom %s -> %d\n", pub_names[q->kind], rc);
	if (rc == 0) {
		if (q->kind == P_REPLACE) {
			shadow_map_free(next);
			nv = version_clone(c, q->builder);
		} else {
			nv = version_new(c, next, nm);
		}
		/* The reference handed back keeps the region alive. */
		if (removed) {
			c->reg[removed_slot].held++;
			removed = NULL;
		}
		/* No section is open: nothing can still see the old map. */
		model_publish(c, nv, false);
		learn_current(c, nv);
	} else {
		shadow_map_free(next);
	}
	gmem_region_free(removed);
	gmem_map_free(nm);
	return rc == 0;
}

/*
 * INSERT, REMOVE, REPLACE on a fixed, shared or custom space: the library's
 * update functions are for atomic spaces only and must refuse before they
 * call or write anything.  A custom space is then updated by its owner.
 */
static void publish_other(struct fs_ctx *c, struct fs_pubreq *q)
{
	gmem_region *removed = SENTINEL_REGION;
	unsigned flags = q->defer ? GMEM_PUBLISH_DEFER : GMEM_PUBLISH_WAIT;
	bool ok = false;
	int rc;

	switch (q->kind) {
	case P_INSERT:
		rc = gmem_space_insert(c->space, c->reg[q->slot].g, flags);
		break;
	case P_REMOVE:
		rc = gmem_space_remove(c->space, q->gpa, q->len,
				       q->want_removed ? &removed : NULL,
				       flags);
		break;
	default:
		rc = gmem_space_replace(c->space, q->map, flags);
		break;
	}
	CHECK(rc == -EOPNOTSUPP && removed == SENTINEL_REGION,
	      "%s on a %s space gave %d (*removed %p)", pub_names[q->kind],
	      kind_names[c->kind], rc, (void *)removed);
	if (c->kind == FS_KIND_CUSTOM)
		ok = custom_publish(c, q);
	publish_after(c, q, ok);
}

static void publish(struct fs_ctx *c, struct fs_pubreq *q)
{
	const char *name = pub_names[q->kind];
	struct fs_region *ins = q->kind == P_INSERT ? &c->reg[q->slot] : NULL;
	struct fs_reader *mr = &c->rd[c->nthreads];
	struct shadow_map *next = NULL;
	gmem_region *removed = SENTINEL_REGION;
	unsigned flags = q->defer ? GMEM_PUBLISH_DEFER : GMEM_PUBLISH_WAIT;
	int rc, want, removed_slot = -1, nv;
	bool deadlock;
	struct fs_wait b[FS_MAX_READERS];
	unsigned nb;

	TRACE("  %s %s\n", name, q->defer ? "DEFER" : "WAIT");
	if (c->kind != FS_KIND_ATOMIC) {
		publish_other(c, q);
		return;
	}
	want = model_next(c, q, &next, &removed_slot);
	deadlock = !q->defer && mr->depth > 0;
	nb = inside_readers(c, b);
	/* Republishing the current map cannot be observed by the probe: a
	 * blocking one is done with DEFER instead. */
	if (!q->defer && !deadlock && nb > 0 && q->kind == P_REPLACE &&
	    q->map == c->ver[c->cur].map) {
		q->defer = true;
		flags = GMEM_PUBLISH_DEFER;
	}
	/* A publication that must block runs in the helper. */
	if (!q->defer && !deadlock && want == 0 && nb > 0) {
		struct fs_helper *h = &c->h;
		const gmem_map *m;

		memset(h, 0, sizeof(*h));
		h->what = q->kind == P_INSERT	? H_INSERT
			  : q->kind == P_REMOVE ? H_REMOVE
						: H_REPLACE;
		h->region = ins ? ins->g : NULL;
		h->gpa = q->gpa;
		h->len = q->len;
		h->want_removed = q->want_removed;
		h->map = q->map;
		h->oldver = c->cur;
		h->nb = nb;
		memcpy(h->b, b, sizeof(b));
		h->removed_slot = removed_slot;
		m = helper_publish(c, q->kind == P_REPLACE
					      ? c->ver[q->builder].m
					      : next);
		if (q->kind == P_REPLACE) {
			shadow_map_free(next);
			CHECK(m == q->map, "WAIT replace published %p, not %p",
			      (const void *)m, (void *)q->map);
			nv = version_clone(c, q->builder);
		} else {
			nv = version_new(c, next, m);
		}
		c->ver[nv].current = true;
		c->ver[c->cur].current = false;
		c->ver[c->cur].wait_held = true;
		c->cur = nv;
		TRACE("  blocked: version %d published, %u readers to leave\n",
		      nv, nb);
		/* The callback has run: the caller's references are free. */
		publish_after(c, q, true);
		return;
	}
	switch (q->kind) {
	case P_INSERT:
		rc = gmem_space_insert(c->space, ins->g, flags);
		break;
	case P_REMOVE:
		rc = gmem_space_remove(c->space, q->gpa, q->len,
				       q->want_removed ? &removed : NULL,
				       flags);
		break;
	default:
		rc = gmem_space_replace(c->space, q->map, flags);
		break;
	}
	if (deadlock)
		want = -EDEADLK;
	else if (q->defer && model_defer_full(c))
		want = -EBUSY;
	CHECK(rc == want, "%s %s gave %d, model %d", name,
	      q->defer ? "DEFER" : "WAIT", rc, want);
	TRACE("  -> %d\n", rc);
	if (rc) {
		shadow_map_free(next);
		CHECK(removed == SENTINEL_REGION,
		      "failed remove wrote *removed");
	} else {
		if (q->kind == P_REMOVE && q->want_removed) {
			CHECK(removed == c->reg[removed_slot].g,
			      "remove: *removed %p, model %p", (void *)removed,
			      (void *)c->reg[removed_slot].g);
			c->reg[removed_slot].held++;
		} else {
			CHECK(removed == SENTINEL_REGION,
			      "remove wrote *removed");
		}
		if (q->kind == P_REPLACE) {
			shadow_map_free(next);
			nv = version_clone(c, q->builder);
		} else {
			nv = version_new(c, next, NULL);
		}
		model_publish(c, nv, q->defer);
		learn_current(c, nv);
	}
	publish_after(c, q, rc == 0);
}

/* ------------------------------------------------------------------------ */
/* Update callbacks                                                          */
/* ------------------------------------------------------------------------ */

struct fs_upd {
	struct fs_ctx *c;
	int kind;
	int err;
	bool called;
	const gmem_map *seen;
	int enter_rc;
	const gmem_map *entered;
};

static int update_never(const gmem_map *cur, gmem_map **next, void *opaque)
{
	(void)cur;
	(void)next;
	(void)opaque;
	FAIL("a refused update ran its callback");
}

static int update_fn(const gmem_map *cur, gmem_map **next, void *opaque)
{
	struct fs_upd *u = opaque;
	struct fs_ctx *c = u->c;
	gmem_map *m = SENTINEL_MAP;
	size_t pending = 99;
	int rc;

	CHECK(!u->called, "update callback called twice");
	u->called = true;
	u->seen = cur;
	switch (u->kind) {
	case FS_UP_ERROR:
		return u->err;
	case FS_UP_NULL:
		return 0;
	case FS_UP_NESTED:
		rc = gmem_space_current(c->space, &m);
		CHECK(rc == -EDEADLK && m == SENTINEL_MAP,
		      "gmem_space_current from the callback gave %d", rc);
		rc = gmem_space_reclaim(c->space, &pending);
		CHECK(rc == -EBUSY && pending == 99,
		      "gmem_space_reclaim from the callback gave %d", rc);
		rc = gmem_space_synchronize(c->space);
		CHECK(rc == -EDEADLK,
		      "gmem_space_synchronize from the callback gave %d", rc);
		rc = gmem_space_update(c->space, update_never, NULL,
				       GMEM_PUBLISH_DEFER);
		CHECK(rc == -EDEADLK, "nested DEFER update gave %d", rc);
		rc = gmem_space_update(c->space, update_never, NULL,
				       GMEM_PUBLISH_WAIT);
		CHECK(rc == -EDEADLK, "nested WAIT update gave %d", rc);
		break;
	case FS_UP_ENTER:
		u->enter_rc = gmem_reader_enter(c->rd[c->nthreads].r,
						&u->entered);
		break;
	default:
		break;
	}
	*next = gmem_map_ref((gmem_map *)(uintptr_t)cur);
	return 0;
}

static void op_update(struct fs_ctx *c, unsigned kind, unsigned mode)
{
	static const int errs[4] = { -ENOSPC, -EIO, -EPERM, -EEXIST };
	struct fs_reader *mr = &c->rd[c->nthreads];
	struct fs_upd u = { .c = c, .kind = (int)kind,
			    .err = errs[(mode >> 1) & 3], .enter_rc = 1 };
	bool defer = (mode & FS_MODE_DEFER) != 0;
	struct fs_wait b[FS_MAX_READERS];
	int rc, want = 0;

	TRACE("  update kind %u %s\n", kind, defer ? "DEFER" : "WAIT");
	if (kind == FS_UP_BADFLAGS) {
		rc = gmem_space_update(c->space, update_never, NULL,
				       (defer ? GMEM_PUBLISH_DEFER : 0) | 2u);
		CHECK(rc == -EINVAL, "update with unknown flags gave %d", rc);
		return;
	}
	if (c->kind != FS_KIND_ATOMIC) {
		rc = gmem_space_update(c->space, update_never, NULL,
				       defer ? GMEM_PUBLISH_DEFER
					     : GMEM_PUBLISH_WAIT);
		CHECK(rc == -EOPNOTSUPP, "update on a %s space gave %d",
		      kind_names[c->kind], rc);
		return;
	}
	if (c->h.active) {
		window_reclaim(c, "update");
		return;
	}
	/* A "no change" that would block is not observable: use DEFER. */
	if (!defer && mr->depth == 0 && inside_readers(c, b) > 0 &&
	    (kind == FS_UP_NOCHANGE || kind == FS_UP_NESTED))
		defer = true;
	rc = gmem_space_update(c->space, update_fn, &u,
			       defer ? GMEM_PUBLISH_DEFER : GMEM_PUBLISH_WAIT);
	if (!defer && mr->depth > 0) {
		CHECK(!u.called, "WAIT update inside a section ran callback");
		want = -EDEADLK;
	} else if (defer && model_defer_full(c)) {
		CHECK(!u.called, "update on a full retired list ran callback");
		want = -EBUSY;
	} else {
		CHECK(u.called && u.seen == c->ver[c->cur].map,
		      "update callback: called %d, saw %p, current %p",
		      u.called, (const void *)u.seen,
		      (const void *)c->ver[c->cur].map);
		switch (kind) {
		case FS_UP_ERROR:
			want = u.err;
			break;
		case FS_UP_NULL:
			want = -EINVAL;
			break;
		case FS_UP_ENTER:
			CHECK(u.enter_rc == 0, "enter in callback gave %d",
			      u.enter_rc);
			if (mr->depth == 0) {
				CHECK(u.entered == c->ver[c->cur].map,
				      "enter in callback: other map");
				mr->sec++;
				mr->ver = c->cur;
				mr->map = u.entered;
			} else {
				CHECK(u.entered == mr->map,
				      "nested enter in callback: other map");
			}
			mr->depth++;
			want = defer ? 0 : -EDEADLK;
			break;
		default:
			want = 0;
			break;
		}
	}
	CHECK(rc == want, "update kind %u %s gave %d, model %d", kind,
	      defer ? "DEFER" : "WAIT", rc, want);
	TRACE("  -> %d\n", rc);
	if (rc == 0) {
		int nv = version_clone(c, c->cur);

		model_publish(c, nv, defer);
		learn_current(c, nv);
	}
}

/* ------------------------------------------------------------------------ */
/* Decoding                                                                  */
/* ------------------------------------------------------------------------ */

static uint64_t slot_start(const struct fs_ctx *c, unsigned s)
{
	s %= FS_MAX_REGIONS;
	return c->reg[s].used ? c->reg[s].sh->start : 0;
}

static uint64_t slot_len(const struct fs_ctx *c, unsigned s)
{
	s %= FS_MAX_REGIONS;
	return c->reg[s].used ? c->reg[s].sh->len : 1;
}

static uint64_t decode_addr(struct fs_ctx *c)
{
	unsigned mode = fdp_u8(&c->in) % FS_AD_COUNT, s;
	uint64_t v;

	switch (mode) {
	case FS_AD_INSIDE:
		s = fdp_u8(&c->in);
		v = fdp_u16(&c->in);
		return slot_start(c, s) + v % slot_len(c, s);
	case FS_AD_START:
		s = fdp_u8(&c->in);
		return slot_start(c, s) + (uint64_t)fdp_s8(&c->in);
	case FS_AD_END:
		s = fdp_u8(&c->in);
		return slot_start(c, s) + slot_len(c, s) +
		       (uint64_t)fdp_s8(&c->in);
	case FS_AD_LOW:
		return (uint64_t)fdp_u16(&c->in) * 8;
	case FS_AD_TOP:
		return UINT64_MAX - fdp_u8(&c->in);
	default:
		return fdp_u64(&c->in);
	}
}

static uint64_t decode_len(struct fs_ctx *c, uint64_t gpa)
{
	unsigned mode = fdp_u8(&c->in) % FS_LN_COUNT, s;
	uint64_t v;

	switch (mode) {
	case FS_LN_SMALL:
		return fdp_u8(&c->in) % 17u;
	case FS_LN_TO_END:
		s = fdp_u8(&c->in);
		v = slot_start(c, s) + slot_len(c, s) - gpa +
		    (uint64_t)fdp_s8(&c->in);
		return v <= FS_MAX_ACCESS ? v : v % (FS_MAX_ACCESS + 1);
	case FS_LN_MED:
		return fdp_u16(&c->in) % FS_MAX_ACCESS;
	default:
		return 1u << (fdp_u8(&c->in) % 4);
	}
}

/* ------------------------------------------------------------------------ */
/* Writer operations                                                         */
/* ------------------------------------------------------------------------ */

/* NEW_REGION: returns the slot, or -1. */
static int op_new_region(struct fs_ctx *c)
{
	unsigned kind = fdp_u8(&c->in), mode, seed;
	uint64_t len = 1 + fdp_u16(&c->in) % FS_MAX_REGION_LEN, gpa;
	struct gmem_region_config cfg = GMEM_REGION_CONFIG_INIT;
	struct fs_region *r;
	uint8_t *buf = NULL, *init;
	gmem_region *g = NULL;
	int i, slot = -1, rc, want;
	unsigned s;

	mode = fdp_u8(&c->in) % FS_PL_COUNT;
	switch (mode) {
	case FS_PL_PAGE:
		gpa = (uint64_t)fdp_u8(&c->in) * 4096;
		gpa += (uint64_t)fdp_s8(&c->in);
		break;
	case FS_PL_AFTER:
		s = fdp_u8(&c->in);
		gpa = slot_start(c, s) + slot_len(c, s) +
		      (uint64_t)fdp_s8(&c->in);
		break;
	case FS_PL_BEFORE:
		s = fdp_u8(&c->in);
		gpa = slot_start(c, s) - len + (uint64_t)fdp_s8(&c->in);
		break;
	case FS_PL_OVERLAP:
		s = fdp_u8(&c->in);
		gpa = slot_start(c, s) + fdp_u16(&c->in) % slot_len(c, s);
		break;
	case FS_PL_TOP:
		gpa = 0 - len - fdp_u8(&c->in);
		break;
	default:
		gpa = fdp_u64(&c->in);
		break;
	}
	seed = fdp_u8(&c->in);
	for (i = 0; i < FS_MAX_REGIONS; i++) {
		if (!c->reg[i].used || !c->reg[i].alive) {
			slot = i;
			break;
		}
	}
	TRACE("  new region %s%s [%#llx+%#llx) -> slot %d\n",
	      kind & FS_SPEC_USER ? "USER" : "ANON",
	      kind & FS_SPEC_RO ? " RO" : "", (unsigned long long)gpa,
	      (unsigned long long)len, slot);
	if (slot < 0)
		return -1;
	r = &c->reg[slot];
	cfg.gpa = gpa;
	cfg.len = len;
	if (kind & FS_SPEC_RO)
		cfg.flags |= GMEM_REGION_READONLY;
	if (kind & FS_SPEC_NOGUARD)
		cfg.flags |= GMEM_REGION_NO_GUARD;
	if (kind & FS_SPEC_USER) {
		size_t pad = gpa % 8;

		/* Exactly len bytes after host: ASan sees any overrun. */
		buf = xmalloc(pad + len);
		memset(buf, 0, pad);
		pattern(buf + pad, len, seed);
		cfg.backing = GMEM_BACKING_USER;
		cfg.host = buf + pad;
	}
	want = shadow_region_config_check(
		cfg.size, cfg.backing, cfg.flags, cfg.fd, cfg.gpa, cfg.len,
		cfg.offset, false, (unsigned)((uintptr_t)cfg.host % 8),
		cfg.page_size, c->pagesize);
	rc = gmem_region_new(&g, &cfg);
	CHECK(rc == want || (want == 0 && rc == -ENOMEM),
	      "gmem_region_new [%#llx+%#llx) gave %d, model %d",
	      (unsigned long long)gpa, (unsigned long long)len, rc, want);
	if (rc) {
		free(buf);
		return -1;
	}
	if (kind & FS_SPEC_USER) {
		init = (uint8_t *)cfg.host;
	} else {
		init = gmem_region_host(g);
		if (!(kind & FS_SPEC_RO))
			pattern(init, len, seed);
	}
	/* Reusing a slot whose region is gone. */
	if (r->used) {
		if (r->free_pending)
			free(r->buf);
		shadow_region_free(r->sh);
	}
	memset(r, 0, sizeof(*r));
	r->sh = shadow_region_new(gpa, len, (kind & FS_SPEC_RO) != 0, init, g);
	CHECK(r->sh, "out of memory");
	r->used = true;
	r->alive = true;
	r->g = g;
	r->held = 1;
	r->buf = buf;
	return slot;
}

/*
 * May the writer pass this region to the library?  The caller must keep
 * the region valid for the whole call, and a publication may reclaim
 * retired maps before it uses the region: a region kept alive only by a
 * retired map that could be reclaimed is not the caller's to use (passing
 * it would be a harness bug, a use after free in the library).  Safe are:
 * the harness's own references, and maps that cannot go away during the
 * call (current, long-lived references, a blocked WAIT's old map, a retired
 * map some reader still uses).
 */
static bool region_safe(const struct fs_ctx *c, int slot)
{
	const struct fs_region *r = &c->reg[slot];
	unsigned i;

	if (!r->used || !r->alive)
		return false;
	if (r->held)
		return true;
	for (i = 0; i < c->nver; i++) {
		const struct fs_version *v = &c->ver[i];

		if (!v->alive || !shadow_map_contains(v->m, r->sh))
			continue;
		if (v->current || v->longrefs || v->wait_held ||
		    (v->retired && !version_reclaimable(c, v)))
			return true;
	}
	return false;
}

static void op_insert(struct fs_ctx *c, int slot, unsigned mode)
{
	struct fs_pubreq q = { .kind = P_INSERT };
	struct fs_region *r = &c->reg[slot];

	if (c->h.active) {
		window_reclaim(c, "insert");
		return;
	}
	if (!region_safe(c, slot))
		return;
	q.slot = slot;
	q.defer = (mode & FS_MODE_DEFER) != 0;
	q.drop_after = (mode & FS_MODE_OPT) && r->held > 0;
	publish(c, &q);
}

static void op_remove(struct fs_ctx *c, unsigned s, unsigned mode)
{
	struct fs_pubreq q = { .kind = P_REMOVE };

	if (c->h.active) {
		window_reclaim(c, "remove");
		return;
	}
	q.gpa = slot_start(c, s);
	q.len = slot_len(c, s);
	switch ((mode >> 2) & 7) {
	case 4:
		q.len++;
		break;
	case 5:
		q.len--;
		break;
	case 6:
		q.gpa++;
		break;
	case 7:
		q.gpa--;
		break;
	default:
		break;
	}
	q.defer = (mode & FS_MODE_DEFER) != 0;
	q.want_removed = (mode & FS_MODE_OPT) != 0;
	publish(c, &q);
}

static void op_replace(struct fs_ctx *c, unsigned mask, unsigned maxsel,
		       unsigned mode)
{
	struct fs_pubreq q = { .kind = P_REPLACE };
	gmem_region *regs[FS_MAX_REGIONS];
	struct shadow_region *shs[FS_MAX_REGIONS];
	struct shadow_map *sm = NULL;
	gmem_map *map = NULL;
	size_t n = 0;
	int i, rc, want;

	if (c->h.active) {
		window_reclaim(c, "replace");
		return;
	}
	for (i = 0; i < FS_MAX_REGIONS; i++) {
		if ((mask >> i) & 1 && c->reg[i].used && c->reg[i].alive) {
			regs[n] = c->reg[i].g;
			shs[n] = c->reg[i].sh;
			n++;
		}
	}
	rc = gmem_map_new(&map, regs, n, maxsel);
	want = shadow_map_new(&sm, shs, n, maxsel);
	CHECK(rc == want, "gmem_map_new of %zu regions (cap %u) gave %d, "
	      "model %d", n, maxsel, rc, want);
	TRACE("  replace with %zu regions, cap %u: %d\n", n, maxsel, rc);
	if (rc)
		return;
	q.builder = version_new(c, sm, map);
	c->ver[q.builder].longrefs = 1;
	q.map = map;
	q.defer = (mode & FS_MODE_DEFER) != 0;
	q.keep_ref = (mode & FS_MODE_OPT) != 0;
	publish(c, &q);
}

static void op_replace_ref(struct fs_ctx *c, unsigned idx, unsigned mode)
{
	struct fs_pubreq q = { .kind = P_REPLACE, .borrowed = true };
	const struct fs_ref *f = &c->refs[idx % FS_MAX_REFS];

	if (c->h.active) {
		window_reclaim(c, "replace_ref");
		return;
	}
	if (!f->used)
		return;
	q.map = f->map;
	q.builder = f->ver;
	q.defer = (mode & FS_MODE_DEFER) != 0;
	publish(c, &q);
}

static void op_sync(struct fs_ctx *c)
{
	struct fs_helper *h = &c->h;
	size_t pending = 99;
	unsigned i, j, k;
	int rc;

	if (h->active) {
		window_reclaim(c, "synchronize");
		return;
	}
	/* Nothing to wait for on the other kinds, inside a section or not. */
	if (c->kind != FS_KIND_ATOMIC) {
		rc = gmem_space_synchronize(c->space);
		CHECK(rc == -EOPNOTSUPP, "synchronize on a %s space gave %d",
		      kind_names[c->kind], rc);
		return;
	}
	if (c->rd[c->nthreads].depth) {
		rc = gmem_space_synchronize(c->space);
		CHECK(rc == -EDEADLK, "synchronize inside a section gave %d",
		      rc);
		return;
	}
	memset(h, 0, sizeof(*h));
	h->what = H_SYNC;
	for (i = 0; i < c->nver; i++) {
		const struct fs_version *v = &c->ver[i];

		if (!v->retired)
			continue;
		for (j = 0; j < v->nw; j++) {
			if (wait_done(c, &v->w[j]))
				continue;
			for (k = 0; k < h->nb; k++)
				if (h->b[k].reader == v->w[j].reader)
					break;
			if (k == h->nb)
				h->b[h->nb++] = v->w[j];
		}
	}
	if (h->nb) {
		TRACE("  synchronize blocks on %u readers\n", h->nb);
		helper_sync(c);
		return;
	}
	rc = gmem_space_synchronize(c->space);
	CHECK(rc == 0, "synchronize gave %d", rc);
	model_drop_all_retired(c);
	rc = gmem_space_reclaim(c->space, &pending);
	CHECK(rc == 0 && pending == 0,
	      "reclaim after synchronize gave %d, pending %zu", rc, pending);
}

static void op_region_drop(struct fs_ctx *c, unsigned s)
{
	struct fs_region *r = &c->reg[s % FS_MAX_REGIONS];

	if (!r->used || !r->alive || !r->held)
		return;
	gmem_region_free(r->g);
	r->held--;
	region_check_death(c, (int)(s % FS_MAX_REGIONS));
}

static void op_region_grab(struct fs_ctx *c, unsigned idx)
{
	const struct shadow_map *v = c->ver[c->cur].m;
	struct shadow_region *sh;
	gmem_region *g;
	int s;

	if (v->n == 0)
		return;
	sh = v->r[idx % v->n];
	s = slot_of(c, sh);
	g = gmem_region_ref(sh->tag);
	CHECK(g == c->reg[s].g && gmem_region_start(g) == sh->start,
	      "gmem_region_ref gave another region");
	c->reg[s].held++;
}

/* ------------------------------------------------------------------------ */
/* Driver                                                                    */
/* ------------------------------------------------------------------------ */

static const char *const op_names[FS_OP_COUNT] = {
	"NEW_REGION", "INSERT",	   "REMOVE",   "REPLACE", "REPLACE_REF",
	"UPDATE",     "SYNC",	   "REGION_DROP", "REGION_GRAB", "ENTER",
	"EXIT",	      "EXIT_ALL",  "READ",     "WRITE",	  "TRANSLATE",
	"TYPED",      "ATOMIC",	   "QUERY",    "VERIFY",  "PROMOTE",
	"DROP_REF",   "USE_REF",   "RECREATE", "DEEP",	  "RECLAIM",
	"CURRENT",    "FAULT",
};

static void thread_op_decode(struct fs_ctx *c, int code)
{
	struct fs_rop op = { .code = code };
	unsigned who = fdp_u8(&c->in) % (c->nthreads + 1);

	switch (code) {
	case FS_OP_READ:
		op.gpa = decode_addr(c);
		op.len = decode_len(c, op.gpa);
		break;
	case FS_OP_WRITE:
	case FS_OP_TRANSLATE:
		op.a = fdp_u8(&c->in);
		op.gpa = decode_addr(c);
		op.len = decode_len(c, op.gpa);
		op.b = fdp_u8(&c->in);
		break;
	case FS_OP_TYPED:
		op.a = fdp_u8(&c->in);
		op.gpa = decode_addr(c);
		op.val = fdp_u64(&c->in);
		break;
	case FS_OP_ATOMIC:
		op.a = fdp_u8(&c->in);
		op.gpa = decode_addr(c);
		op.val = fdp_u64(&c->in);
		op.val2 = fdp_u64(&c->in);
		break;
	case FS_OP_QUERY:
		op.gpa = decode_addr(c);
		break;
	case FS_OP_DROP_REF:
	case FS_OP_FAULT:
		op.a = fdp_u8(&c->in);
		break;
	case FS_OP_USE_REF:
		op.a = fdp_u8(&c->in);
		op.b = fdp_u8(&c->in);
		op.gpa = decode_addr(c);
		op.len = decode_len(c, op.gpa);
		op.b |= (unsigned)fdp_u8(&c->in) << 8; /* seed */
		break;
	default:
		break;
	}
	TRACE("op %u: %s who %u a %#x b %#x gpa %#llx len %#llx\n", fs_opno,
	      op_names[code], who, op.a, op.b, (unsigned long long)op.gpa,
	      (unsigned long long)op.len);
	run_on(c, who, &op);
}

static void one_op(struct fs_ctx *c)
{
	int code = fdp_u8(&c->in) % FS_OP_COUNT, slot;
	unsigned a, b, d;

	if (code >= FS_FIRST_THREAD_OP) {
		thread_op_decode(c, code);
		return;
	}
	TRACE("op %u: %s\n", fs_opno, op_names[code]);
	switch (code) {
	case FS_OP_NEW_REGION:
		slot = op_new_region(c);
		a = fdp_u8(&c->in);
		if (slot >= 0 && (a & 1))
			op_insert(c, slot, a >> 1);
		break;
	case FS_OP_INSERT:
		a = fdp_u8(&c->in) % FS_MAX_REGIONS;
		b = fdp_u8(&c->in);
		op_insert(c, (int)a, b);
		break;
	case FS_OP_REMOVE:
		a = fdp_u8(&c->in);
		b = fdp_u8(&c->in);
		op_remove(c, a, b);
		break;
	case FS_OP_REPLACE:
		a = fdp_u16(&c->in);
		b = fdp_u8(&c->in) % 16u;
		d = fdp_u8(&c->in);
		op_replace(c, a, b, d);
		break;
	case FS_OP_REPLACE_REF:
		a = fdp_u8(&c->in);
		b = fdp_u8(&c->in);
		op_replace_ref(c, a, b);
		break;
	case FS_OP_UPDATE:
		a = fdp_u8(&c->in) % FS_UP_COUNT;
		b = fdp_u8(&c->in);
		op_update(c, a, b);
		break;
	case FS_OP_SYNC:
		op_sync(c);
		break;
	case FS_OP_REGION_DROP:
		op_region_drop(c, fdp_u8(&c->in));
		break;
	default:
		op_region_grab(c, fdp_u8(&c->in));
		break;
	}
}

#define EXPECT(call, want)                                                    \
	do {                                                                  \
		rc = (call);                                                  \
		CHECK(rc == (want), "%s gave %d, want %d", #call, rc, (want)); \
	} while (0)

static int never_enter(void *ctx, void **token, const gmem_map **map)
{
	(void)ctx;
	(void)token;
	(void)map;
	FAIL("a custom space without readers called enter");
}

static void never_exit(void *ctx, void *token, const gmem_map *map)
{
	(void)ctx;
	(void)token;
	(void)map;
	FAIL("a custom space without readers called exit");
}

static void count_destroy(void *ctx)
{
	(*(unsigned *)ctx)++;
}

/*
 * The constructors' argument errors (nothing written, nothing called),
 * reference counting of a space, and the update functions on a shared
 * space, whatever kind is under test.
 */
static void arg_checks_kinds(struct fs_ctx *c, gmem_map *cur)
{
	static const struct gmem_space_ops good = {
		.size = (uint32_t)sizeof(struct gmem_space_ops),
		.enter = never_enter,
		.exit = never_exit,
		.destroy = count_destroy,
	};
	struct gmem_space_ops bad;
	gmem_space *sp = SENTINEL_SPACE, *sh = NULL;
	size_t pending = 5;
	unsigned destroyed = 0, i;
	int rc;

	EXPECT(gmem_space_new_fixed(NULL, cur), -EINVAL);
	EXPECT(gmem_space_new_fixed(&sp, NULL), -EINVAL);
	EXPECT(gmem_space_new_shared(NULL, cur), -EINVAL);
	EXPECT(gmem_space_new_shared(&sp, NULL), -EINVAL);
	EXPECT(gmem_space_new_custom(NULL, &good, &destroyed), -EINVAL);
	EXPECT(gmem_space_new_custom(&sp, NULL, &destroyed), -EINVAL);
	/* Sizes outside [first published size, this header's size], and
	 * the mandatory callbacks missing. */
	for (i = 0; i < 6; i++) {
		bad = good;
		switch (i) {
		case 0:
			bad.size = 0;
			break;
		case 1:
			bad.size = (uint32_t)offsetof(struct gmem_space_ops,
						      destroy);
			break;
		case 2:
			bad.size = (uint32_t)sizeof(bad) + 1;
			break;
		case 3:
			bad.size = UINT32_MAX;
			break;
		case 4:
			bad.enter = NULL;
			break;
		default:
			bad.exit = NULL;
			break;
		}
		EXPECT(gmem_space_new_custom(&sp, &bad, &destroyed), -EINVAL);
	}
	CHECK(sp == SENTINEL_SPACE && destroyed == 0,
	      "a failed constructor wrote *out or called destroy");
	/* Without readers a custom space calls only destroy, once, at the
	 * last reference; a NULL destroy is allowed. */
	EXPECT(gmem_space_new_custom(&sp, &good, &destroyed), 0);
	CHECK(gmem_space_ref(sp) == sp, "gmem_space_ref gave another space");
	gmem_space_free(sp);
	CHECK(destroyed == 0, "destroy ran with a reference left");
	gmem_space_free(sp);
	CHECK(destroyed == 1, "destroy ran %u times", destroyed);
	bad = good;
	bad.destroy = NULL;
	EXPECT(gmem_space_new_custom(&sp, &bad, NULL), 0);
	gmem_space_free(sp);
	CHECK(gmem_space_ref(NULL) == NULL, "gmem_space_ref(NULL) not NULL");
	gmem_space_free(NULL);
	CHECK(gmem_space_ref(c->space) == c->space,
	      "gmem_space_ref gave another space");
	gmem_space_free(c->space);
	/* A shared space never changes either. */
	EXPECT(gmem_space_new_shared(&sh, cur), 0);
	EXPECT(gmem_space_insert(sh, NULL, GMEM_PUBLISH_DEFER), -EINVAL);
	EXPECT(gmem_space_update(sh, update_never, NULL, GMEM_PUBLISH_WAIT),
	       -EOPNOTSUPP);
	EXPECT(gmem_space_update(sh, update_never, NULL, 2u), -EINVAL);
	EXPECT(gmem_space_replace(sh, cur, GMEM_PUBLISH_DEFER), -EOPNOTSUPP);
	EXPECT(gmem_space_remove(sh, 0, 1, NULL, GMEM_PUBLISH_WAIT),
	       -EOPNOTSUPP);
	EXPECT(gmem_space_reclaim(sh, &pending), -EOPNOTSUPP);
	EXPECT(gmem_space_synchronize(sh), -EOPNOTSUPP);
	CHECK(pending == 5, "reclaim wrote *pending on -EOPNOTSUPP");
	gmem_space_free(sh);
}

/*
 * More readers on one atomic space than the grace registry's first arrays
 * hold (8, 16, 32; src/grace.c): the one inside a section was registered
 * after the array last grew, and a DEFER publication must still wait for
 * it.
 */
static void crowd_checks(gmem_map *cur)
{
	gmem_reader *rd[FS_CROWD];
	gmem_space *sp = NULL;
	const gmem_map *m = NULL;
	size_t pending = 99;
	unsigned i;
	int rc;

	EXPECT(gmem_space_new_atomic(&sp, cur, 1), 0);
	for (i = 0; i < FS_CROWD; i++)
		EXPECT(gmem_reader_new(&rd[i], sp), 0);
	EXPECT(gmem_reader_enter(rd[FS_CROWD - 1], &m), 0);
	CHECK(m == cur, "crowd: enter gave another map");
	EXPECT(gmem_space_replace(sp, cur, GMEM_PUBLISH_DEFER), 0);
	EXPECT(gmem_space_reclaim(sp, &pending), 0);
	CHECK(pending == 1, "crowd: the last registered reader was not "
	      "waited for (pending %zu)", pending);
	EXPECT(gmem_space_replace(sp, cur, GMEM_PUBLISH_DEFER), -EBUSY);
	EXPECT(gmem_reader_exit(rd[FS_CROWD - 1]), 0);
	EXPECT(gmem_space_reclaim(sp, &pending), 0);
	CHECK(pending == 0, "crowd: pending %zu after the reader left",
	      pending);
	for (i = 0; i < FS_CROWD; i++)
		EXPECT(gmem_reader_free(rd[i]), 0);
	gmem_space_free(sp);
}

/* NULL handles, bad arguments and non-atomic spaces (header bit 3). */
static void arg_checks(struct fs_ctx *c)
{
	gmem_reader *mr = c->rd[c->nthreads].r, *rnew = NULL;
	const gmem_map *cm = NULL;
	gmem_map *m = SENTINEL_MAP, *cur = NULL;
	gmem_space *fixed = NULL, *sp = NULL;
	gmem_region *removed = SENTINEL_REGION;
	size_t pending = 5;
	int rc;

	EXPECT(gmem_space_insert(c->space, NULL, GMEM_PUBLISH_DEFER), -EINVAL);
	EXPECT(gmem_space_insert(NULL, c->reg[0].g, GMEM_PUBLISH_DEFER),
	       -EINVAL);
	EXPECT(gmem_space_replace(c->space, NULL, GMEM_PUBLISH_WAIT), -EINVAL);
	EXPECT(gmem_space_update(c->space, NULL, NULL, GMEM_PUBLISH_DEFER),
	       -EINVAL);
	EXPECT(gmem_space_update(NULL, update_never, NULL, GMEM_PUBLISH_DEFER),
	       -EINVAL);
	EXPECT(gmem_space_update(c->space, update_never, NULL, ~0u), -EINVAL);
	EXPECT(gmem_space_remove(NULL, 0, 1, NULL, GMEM_PUBLISH_DEFER),
	       -EINVAL);
	EXPECT(gmem_space_reclaim(NULL, &pending), -EINVAL);
	EXPECT(gmem_space_synchronize(NULL), -EINVAL);
	EXPECT(gmem_space_current(NULL, &m), -EINVAL);
	EXPECT(gmem_space_current(c->space, NULL), -EINVAL);
	EXPECT(gmem_reader_new(NULL, c->space), -EINVAL);
	EXPECT(gmem_reader_new(&rnew, NULL), -EINVAL);
	EXPECT(gmem_reader_free(NULL), 0);
	EXPECT(gmem_reader_enter(NULL, &cm), -EINVAL);
	EXPECT(gmem_reader_enter(mr, NULL), -EINVAL);
	EXPECT(gmem_reader_exit(NULL), -EINVAL);
	EXPECT(gmem_reader_ref(NULL, &m), -EINVAL);
	EXPECT(gmem_reader_ref(mr, NULL), -EINVAL);
	CHECK(m == SENTINEL_MAP && pending == 5 && rnew == NULL,
	      "an output was written on failure");
	EXPECT(space_current(c, &cur), 0);
	CHECK(cur == c->ver[c->cur].map, "gmem_space_current gave another map");
	EXPECT(gmem_space_new_atomic(&sp, NULL, 0), -EINVAL);
	EXPECT(gmem_space_new_atomic(&sp, cur,
				     GMEM_SPACE_LIMIT_MAX_RETIRED + 1), -EINVAL);
	EXPECT(gmem_space_new_atomic(NULL, cur, 0), -EINVAL);
	CHECK(sp == NULL, "gmem_space_new_atomic wrote *out on failure");
	EXPECT(gmem_space_new_fixed(&fixed, cur), 0);
	EXPECT(gmem_space_update(fixed, update_never, NULL, GMEM_PUBLISH_DEFER),
	       -EOPNOTSUPP);
	EXPECT(gmem_space_replace(fixed, cur, GMEM_PUBLISH_WAIT), -EOPNOTSUPP);
	EXPECT(gmem_space_reclaim(fixed, &pending), -EOPNOTSUPP);
	EXPECT(gmem_space_synchronize(fixed), -EOPNOTSUPP);
	EXPECT(gmem_space_remove(fixed, 0, 1, &removed, GMEM_PUBLISH_DEFER),
	       -EOPNOTSUPP);
	CHECK(pending == 5 && removed == SENTINEL_REGION,
	      "an output was written on -EOPNOTSUPP");
	gmem_space_free(fixed);
	arg_checks_kinds(c, cur);
	crowd_checks(cur);
	gmem_map_free(cur);
}

#undef EXPECT

static void setup(struct fs_ctx *c)
{
	unsigned ninit, cap, i;
	bool argcheck, fallback;
	gmem_region *regs[FS_MAX_REGIONS];
	struct shadow_region *shs[FS_MAX_REGIONS];
	struct shadow_map *sm = NULL;
	gmem_map *map = NULL;
	size_t n = 0, mr;
	int rc, want;
	long ps = sysconf(_SC_PAGESIZE);

	c->pagesize = ps > 0 ? (uint64_t)ps : 4096;
	c->nthreads = 2 + fdp_u8(&c->in) % 3u;
	mr = fdp_u8(&c->in) % 9u;
	cap = fdp_u8(&c->in) % 16u;
	ninit = fdp_u8(&c->in);
	c->late_free = (ninit & FS_INIT_LATE_FREE) != 0;
	argcheck = (ninit & FS_INIT_ARGCHECK) != 0;
	c->kind = (enum fs_kind)((ninit >> FS_INIT_KIND_SHIFT) % FS_KIND_COUNT);
	c->no_destroy = (ninit & FS_INIT_NO_DESTROY) != 0;
	c->space_first = (ninit & FS_INIT_SPACE_FIRST) != 0;
	fallback = (ninit & FS_INIT_FALLBACK) != 0;
	ninit &= FS_INIT_COUNT;
	c->max_retired = mr ? mr : GMEM_SPACE_DEFAULT_MAX_RETIRED;
	for (i = 0; i < ninit; i++)
		op_new_region(c);
	for (i = 0; i < FS_MAX_REGIONS; i++) {
		if (c->reg[i].used && c->reg[i].alive) {
			regs[n] = c->reg[i].g;
			shs[n] = c->reg[i].sh;
			n++;
		}
	}
	rc = gmem_map_new(&map, regs, n, cap);
	want = shadow_map_new(&sm, shs, n, cap);
	CHECK(rc == want, "initial gmem_map_new gave %d, model %d", rc, want);
	if (rc) {
		rc = gmem_map_new(&map, NULL, 0, cap);
		want = shadow_map_new(&sm, NULL, 0, cap);
		CHECK(rc == 0 && want == 0, "empty gmem_map_new gave %d", rc);
	}
	switch (c->kind) {
	case FS_KIND_ATOMIC:
		rc = gmem_space_new_atomic(&c->space, map, mr);
		if (rc == 0 && fallback && gmem__space_use_fallback)
			CHECK(gmem__space_use_fallback(c->space) == 0,
			      "gmem__space_use_fallback failed");
		break;
	case FS_KIND_FIXED:
		rc = gmem_space_new_fixed(&c->space, map);
		break;
	case FS_KIND_SHARED:
		rc = gmem_space_new_shared(&c->space, map);
		break;
	default:
		rc = custom_new(c, map);
		break;
	}
	CHECK(rc == 0, "creating the %s space gave %d", kind_names[c->kind],
	      rc);
	c->cur = version_new(c, sm, map);
	c->ver[c->cur].current = true;
	gmem_map_free(map);
	for (i = 0; i < FS_MAX_READERS; i++)
		c->rd[i].ver = -1;
	rc = gmem_reader_new(&c->rd[c->nthreads].r, c->space);
	CHECK(rc == 0, "gmem_reader_new gave %d", rc);
	rc = gmem_reader_new(&c->probe, c->space);
	CHECK(rc == 0, "gmem_reader_new gave %d", rc);
	TRACE("setup: %s space, %u reader threads, max_retired %zu, cap %u, "
	      "%zu initial regions\n", kind_names[c->kind], c->nthreads,
	      c->max_retired, cap, sm->n);
	workers_start(c);
	if (argcheck)
		arg_checks(c);
}

/* Drop the long-lived references and the harness's region references. */
static void drop_everything(struct fs_ctx *c)
{
	unsigned i;

	for (i = 0; i < FS_MAX_REFS; i++)
		ref_drop(c, i);
	for (i = 0; i < FS_MAX_REGIONS; i++) {
		struct fs_region *r = &c->reg[i];

		while (r->used && r->alive && r->held) {
			gmem_region_free(r->g);
			r->held--;
		}
		region_check_death(c, (int)i);
	}
	flush_frees(c);
}

static void teardown(struct fs_ctx *c)
{
	struct fs_rop exit_op = { .code = FS_OP_EXIT };
	gmem_map *m = NULL;
	size_t pending = 99;
	unsigned i;
	int rc;

	atomic_store_explicit(&fs_opno_a, FS_MAX_OPS + 1, memory_order_relaxed);
	TRACE("teardown\n");
	for (i = 0; i <= c->nthreads; i++) {
		while (c->rd[i].depth) {
			run_on(c, i, &exit_op);
			helper_check(c);
		}
	}
	CHECK(!c->h.active, "%s still blocked with no reader inside",
	      helper_name(&c->h));
	flush_frees(c);
	if (!c->late_free && c->kind == FS_KIND_ATOMIC) {
		rc = gmem_space_synchronize(c->space);
		CHECK(rc == 0, "final synchronize gave %d", rc);
		model_drop_all_retired(c);
		rc = gmem_space_reclaim(c->space, &pending);
		CHECK(rc == 0 && pending == 0,
		      "final reclaim gave %d, pending %zu", rc, pending);
	}
	rc = space_current(c, &m);
	CHECK(rc == 0 && m == c->ver[c->cur].map,
	      "final gmem_space_current gave %d", rc);
	verify_list(m, c->ver[c->cur].m, "final map");
	verify_contents(m, c->ver[c->cur].m, "final map");
	gmem_map_free(m);
	if (!c->late_free)
		drop_everything(c);
	custom_check(c, "teardown");
	/* Readers hold references: the space must outlive the harness's. */
	if (c->space_first) {
		gmem_space_free(c->space);
		custom_check(c, "after the harness's gmem_space_free");
	}
	workers_stop(c);
	rc = gmem_reader_free(c->rd[c->nthreads].r);
	CHECK(rc == 0, "gmem_reader_free(main) gave %d", rc);
	custom_check(c, "readers freed");
	/* The last reference: the space drops its current and retired maps
	 * (and a custom space calls destroy). */
	rc = gmem_reader_free(c->probe);
	CHECK(rc == 0, "gmem_reader_free(probe) gave %d", rc);
	if (!c->space_first)
		gmem_space_free(c->space);
	c->space = NULL;
	if (c->kind == FS_KIND_CUSTOM) {
		unsigned d = atomic_load(&c->cb_destroys);

		CHECK(d == (c->no_destroy ? 0u : 1u),
		      "custom destroy ran %u times at the last reference", d);
		if (c->no_destroy)
			custom_free(c->custom);
		c->custom = NULL;
		custom_check(c, "space gone");
	}
	TRACE("  space freed with %zu retired maps\n", c->nretired);
	model_drop_all_retired(c);
	c->ver[c->cur].current = false;
	version_check_death(c, c->cur);
	flush_frees(c);
	if (c->late_free) {
		/* Long-lived references outlive the space. */
		for (i = 0; i < FS_MAX_REFS; i++) {
			const struct fs_ref *f = &c->refs[i];

			if (!f->used)
				continue;
			verify_list(f->map, c->ver[f->ver].m, "ref after space");
			verify_contents(f->map, c->ver[f->ver].m,
					"ref after space");
		}
		drop_everything(c);
	}
	for (i = 0; i < c->nver; i++)
		CHECK(!c->ver[i].alive, "model: version %u still alive", i);
	for (i = 0; i < FS_MAX_REGIONS; i++) {
		struct fs_region *r = &c->reg[i];

		CHECK(!r->alive, "model: region %u still alive", i);
		if (r->free_pending)
			free(r->buf);
		shadow_region_free(r->sh);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *t = getenv("GMEM_FUZZ_TRACE");

	(void)argc;
	(void)argv;
	fs_trace = t && *t && strcmp(t, "0") != 0;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fs_ctx *c = calloc(1, sizeof(*c));
	unsigned n;

	if (!c)
		abort();
	fdp_init(&c->in, data, size);
	atomic_store_explicit(&fs_opno_a, 0, memory_order_relaxed);
	setup(c);
	for (n = 0; n < FS_MAX_OPS && !fdp_empty(&c->in); n++) {
		atomic_store_explicit(&fs_opno_a, n, memory_order_relaxed);
		one_op(c);
		helper_check(c);
		flush_frees(c);
		custom_check(c, "after the operation");
	}
	teardown(c);
	free(c);
	return 0;
}

#endif /* FS_ENCODING_ONLY */
