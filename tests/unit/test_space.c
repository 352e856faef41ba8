/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * test_space.c - address spaces (include/gmem.h, "Address spaces"):
 *
 *   constructors    gmem_space_new_{fixed,shared,atomic,custom}() with every
 *                   argument error;
 *   lifetime        gmem_space_ref/free (NULL-safe; readers keep a space
 *                   alive after its creator's free; a custom space's
 *                   destroy runs once, at the last free);
 *   readers         gmem_reader_new/free/enter/exit/ref on all four kinds:
 *                   NULL arguments, exit without enter, nesting (same map,
 *                   matching exits), GMEM_READER_MAX_DEPTH (-EOVERFLOW),
 *                   free inside a section (-EBUSY, reader still usable),
 *                   references that outlive the section and a later
 *                   replace and are dropped by another thread;
 *   snapshots       what each kind hands out (fixed: always the same map;
 *                   shared: a snapshot holds a reference; custom: callbacks
 *                   once per OUTERMOST section, token round-trip, enter
 *                   errors, NULL map; atomic: a snapshot taken before an
 *                   update keeps the old map - vm-memory's
 *                   test_atomic_hotplug - while a new section sees the new
 *                   one);
 *   updates         gmem_space_update/replace/insert/remove with WAIT and
 *                   DEFER; -EOPNOTSUPP on the other kinds; unknown flags;
 *                   callback errors and NULL results publish nothing;
 *                   -EEXIST, -E2BIG, -ENOENT; the removed region comes back
 *                   with a reference; sequential updates compose;
 *   deadlocks       -EDEADLK from inside a section (WAIT, synchronize) and
 *                   from inside an update callback (update, current,
 *                   synchronize; reclaim -EBUSY), a callback that leaves a
 *                   section open;
 *   retired bound   max_retired (explicit and default) with a reader parked
 *                   in a section: -EBUSY, pending counts, reclaim after the
 *                   reader leaves; reclaim -EBUSY while a WAIT writer is
 *                   blocked; synchronize waiting for a reader thread;
 *   recycled        insert/remove maps built in dropped maps' memory: a
 *                   random walk (front, hole, end, same address other
 *                   region) checked against a shadow; region references.
 *   many readers    more than one chunk of 32 grace slots: 70 readers of
 *                   one atomic space; DEFER, reclaim, WAIT (from a writer
 *                   thread), -EDEADLK and synchronize while readers in the
 *                   second and third chunks are inside; freed slots are
 *                   reused, counters keep counting; frees in mixed orders;
 *   current         gmem_space_current() on every kind;
 *   VirtioDevice    one piece of device code, run unchanged against all
 *                   four kinds (the header's "a device stores a gmem_space
 *                   pointer and never cares which implementation is behind
 *                   it"), including a hot-plug on the atomic space.
 *
 * Every multithreaded check is sequenced with flags and spin-waits, never
 * with timing alone, so outcomes are deterministic; every wait is bounded.
 * Only the main thread emits TAP points.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gmem.h"
#include "tap.h"
#include "testutil.h"
/* White-box: a map's reference count, to show who holds references. */
#include "internal.h"
/* White-box: a reader's grace slot and a space's slot count. */
#include "space.h"

#define PAGE 0x1000u
#define GPA_A UINT64_C(0x10000)
#define GPA_B UINT64_C(0x20000)
#define GPA_C UINT64_C(0x30000)
#define LEN_A UINT64_C(0x1000)
#define LEN_B UINT64_C(0x2000)
#define LEN_C UINT64_C(0x1000)
#define TIMEOUT_S 10.0

static char sentinel_m, sentinel_r, sentinel_s;
#define SENTINEL_MAP ((gmem_map *)(void *)&sentinel_m)
#define SENTINEL_CMAP ((const gmem_map *)(const void *)&sentinel_m)
#define SENTINEL_REGION ((gmem_region *)(void *)&sentinel_r)
#define SENTINEL_SPACE ((gmem_space *)(void *)&sentinel_s)
#define SENTINEL_READER ((gmem_reader *)(void *)&sentinel_s)

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { (time_t)(ms / 1000u),
			       (long)(ms % 1000u) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Spin (yielding) until *f == want; false after TIMEOUT_S seconds. */
static bool wait_flag(atomic_int *f, int want)
{
	double end = now_s() + TIMEOUT_S;

	while (atomic_load(f) != want) {
		if (now_s() > end)
			return false;
		sched_yield();
	}
	return true;
}

static size_t map_refs(const gmem_map *m)
{
	return atomic_load(&((struct gmem_map *)(uintptr_t)m)->refs);
}

/* An anonymous region whose every byte is (gpa of the byte) & 0xff ^ seed. */
static gmem_region *mk_region(uint64_t gpa, uint64_t len, uint8_t seed)
{
	gmem_region *r = NULL;
	uint8_t *h;
	uint64_t i;
	int rc = gmem_region_new_anon(&r, gpa, len, 0);

	if (rc != 0 || !r)
		tap_bail("gmem_region_new_anon: %s", gmem_strerror(rc));
	h = gmem_region_host(r);
	for (i = 0; i < len; i++)
		h[i] = (uint8_t)((gpa + i) ^ seed);
	return r;
}

static gmem_map *mk_map(gmem_region *const *rs, size_t n, size_t cap)
{
	gmem_map *m = NULL;
	int rc = gmem_map_new(&m, rs, n, cap);

	if (rc != 0 || !m)
		tap_bail("gmem_map_new: %s", gmem_strerror(rc));
	return m;
}

/* The byte the guest sees at gpa in a region made by mk_region(). */
static uint8_t pat(uint64_t gpa, uint8_t seed)
{
	return (uint8_t)(gpa ^ seed);
}

/* Whether map m reads the mk_region() pattern at gpa. */
static bool reads_pattern(const gmem_map *m, uint64_t gpa, uint8_t seed)
{
	uint8_t b = 0;

	return gmem_read_u8(m, gpa, &b) == 0 && b == pat(gpa, seed);
}

/* The fixture every section uses: A at 0x10000 (seed 0xa0), B at 0x20000
 * (seed 0xb0), C at 0x30000 (seed 0xc0); map1 = {A}, map2 = {A, B}. */
static gmem_region *reg_a, *reg_b, *reg_c;
static gmem_map *map1, *map2;

static void fixture_init(void)
{
	gmem_region *ab[2];

	reg_a = mk_region(GPA_A, LEN_A, 0xa0);
	reg_b = mk_region(GPA_B, LEN_B, 0xb0);
	reg_c = mk_region(GPA_C, LEN_C, 0xc0);
	ab[0] = reg_a;
	ab[1] = reg_b;
	map1 = mk_map(ab, 1, 0);
	map2 = mk_map(ab, 2, 0);
}

static void fixture_fini(void)
{
	gmem_map_free(map1);
	gmem_map_free(map2);
	gmem_region_free(reg_a);
	gmem_region_free(reg_b);
	gmem_region_free(reg_c);
}

/* The map an atomic space publishes right now (a borrowed pointer: the
 * comparison is all the callers need; the reference is dropped). */
static const gmem_map *cur_of(gmem_space *s)
{
	gmem_map *m = NULL;

	if (gmem_space_current(s, &m) != 0)
		return NULL;
	gmem_map_free(m);
	return m;
}

/* ------------------------------------------------------------------------ */
/* A caller-provided space for the tests: one map, counting callbacks.       */
/* ------------------------------------------------------------------------ */

#define CS_MAGIC 0x70c3e11u

struct cs_token {
	uint32_t magic;
	const gmem_map *map;
};

struct cspace {
	gmem_map *map;
	atomic_int enters, exits, destroys;
	atomic_int bad_token; /* exit got a token enter did not hand out */
	atomic_int bad_map;   /* exit got another map than the section's */
	int enter_err;	      /* when non-zero, enter returns it */
	int null_map;	      /* when set, enter succeeds with *map = NULL */
	struct cs_token null_tok;
};

static int cs_enter(void *ctx, void **token, const gmem_map **map)
{
	struct cspace *c = ctx;
	struct cs_token *t;

	atomic_fetch_add(&c->enters, 1);
	if (c->enter_err)
		return c->enter_err;
	if (c->null_map) {
		c->null_tok.magic = CS_MAGIC;
		c->null_tok.map = NULL;
		*token = &c->null_tok;
		*map = NULL;
		return 0;
	}
	t = malloc(sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->magic = CS_MAGIC;
	t->map = c->map;
	*token = t;
	*map = c->map;
	return 0;
}

static void cs_exit(void *ctx, void *token, const gmem_map *map)
{
	struct cspace *c = ctx;
	struct cs_token *t = token;

	atomic_fetch_add(&c->exits, 1);
	if (!t || t->magic != CS_MAGIC) {
		atomic_fetch_add(&c->bad_token, 1);
		return;
	}
	if (t->map != map)
		atomic_fetch_add(&c->bad_map, 1);
	if (t != &c->null_tok) {
		t->magic = 0;
		free(t);
	}
}

static void cs_destroy(void *ctx)
{
	struct cspace *c = ctx;

	atomic_fetch_add(&c->destroys, 1);
}

static const struct gmem_space_ops cs_ops = {
	.size = (uint32_t)sizeof(struct gmem_space_ops),
	.enter = cs_enter,
	.exit = cs_exit,
	.destroy = cs_destroy,
};

static void cs_init(struct cspace *c, gmem_map *map)
{
	memset(c, 0, sizeof(*c));
	c->map = map;
	atomic_init(&c->enters, 0);
	atomic_init(&c->exits, 0);
	atomic_init(&c->destroys, 0);
	atomic_init(&c->bad_token, 0);
	atomic_init(&c->bad_map, 0);
}

/* ------------------------------------------------------------------------ */
/* The four kinds behind one factory                                         */
/* ------------------------------------------------------------------------ */

enum kind { K_FIXED, K_SHARED, K_ATOMIC, K_CUSTOM, K_COUNT };
static const char *const kind_name[K_COUNT] = { "fixed", "shared", "atomic",
						 "custom" };

/* Custom spaces made by new_space() use these contexts, one per call site
 * at a time (the caller checks and resets them). */
static struct cspace kcs;

static gmem_space *new_space(enum kind k, gmem_map *m)
{
	gmem_space *s = NULL;
	int rc;

	switch (k) {
	case K_FIXED:
		rc = gmem_space_new_fixed(&s, m);
		break;
	case K_SHARED:
		rc = gmem_space_new_shared(&s, m);
		break;
	case K_ATOMIC:
		rc = gmem_space_new_atomic(&s, m, 0);
		break;
	default:
		cs_init(&kcs, m);
		rc = gmem_space_new_custom(&s, &cs_ops, &kcs);
		break;
	}
	if (rc != 0 || !s)
		tap_bail("new %s space: %s", kind_name[k], gmem_strerror(rc));
	return s;
}

static gmem_reader *new_reader(gmem_space *s)
{
	gmem_reader *r = NULL;
	int rc = gmem_reader_new(&r, s);

	if (rc != 0 || !r)
		tap_bail("gmem_reader_new: %s", gmem_strerror(rc));
	return r;
}

/* ------------------------------------------------------------------------ */
/* Constructors                                                              */
/* ------------------------------------------------------------------------ */

static void test_constructors(void)
{
	struct gmem_space_ops ops = cs_ops;
	struct cspace c;
	gmem_space *s;

	diag("constructors");
	cs_init(&c, map1);

	s = SENTINEL_SPACE;
	is_int(gmem_space_new_fixed(NULL, map1), -EINVAL, "fixed: NULL out");
	is_int(gmem_space_new_fixed(&s, NULL), -EINVAL, "fixed: NULL map");
	tu_is_ptr(s, SENTINEL_SPACE, "fixed: out untouched on error");
	is_int(gmem_space_new_fixed(&s, map1), 0, "fixed: created");
	ok(s && s != SENTINEL_SPACE, "fixed: out set");
	gmem_space_free(s);

	s = SENTINEL_SPACE;
	is_int(gmem_space_new_shared(NULL, map1), -EINVAL, "shared: NULL out");
	is_int(gmem_space_new_shared(&s, NULL), -EINVAL, "shared: NULL map");
	tu_is_ptr(s, SENTINEL_SPACE, "shared: out untouched on error");
	is_int(gmem_space_new_shared(&s, map1), 0, "shared: created");
	ok(s && s != SENTINEL_SPACE, "shared: out set");
	gmem_space_free(s);

	s = SENTINEL_SPACE;
	is_int(gmem_space_new_atomic(NULL, map1, 0), -EINVAL,
	       "atomic: NULL out");
	is_int(gmem_space_new_atomic(&s, NULL, 0), -EINVAL, "atomic: NULL map");
	is_int(gmem_space_new_atomic(&s, map1,
				     (size_t)GMEM_SPACE_LIMIT_MAX_RETIRED + 1),
	       -EINVAL, "atomic: max_retired = LIMIT + 1");
	is_int(gmem_space_new_atomic(&s, map1, SIZE_MAX), -EINVAL,
	       "atomic: max_retired = SIZE_MAX");
	tu_is_ptr(s, SENTINEL_SPACE, "atomic: out untouched on error");
	is_int(gmem_space_new_atomic(&s, map1, GMEM_SPACE_LIMIT_MAX_RETIRED), 0,
	       "atomic: max_retired = LIMIT accepted");
	gmem_space_free(s);
	is_int(gmem_space_new_atomic(&s, map1, 1), 0,
	       "atomic: max_retired = 1 accepted");
	gmem_space_free(s);
	is_int(gmem_space_new_atomic(&s, map1, 0), 0,
	       "atomic: max_retired = 0 (default) accepted");
	gmem_space_free(s);

	s = SENTINEL_SPACE;
	is_int(gmem_space_new_custom(NULL, &ops, &c), -EINVAL,
	       "custom: NULL out");
	is_int(gmem_space_new_custom(&s, NULL, &c), -EINVAL, "custom: NULL ops");
	ops.size = 0;
	is_int(gmem_space_new_custom(&s, &ops, &c), -EINVAL, "custom: size 0");
	ops.size = (uint32_t)sizeof(ops) - 1;
	is_int(gmem_space_new_custom(&s, &ops, &c), -EINVAL,
	       "custom: size too small (sizeof - 1)");
	ops.size = (uint32_t)offsetof(struct gmem_space_ops, destroy);
	is_int(gmem_space_new_custom(&s, &ops, &c), -EINVAL,
	       "custom: size too small (no destroy member)");
	ops.size = (uint32_t)sizeof(ops) + 1;
	is_int(gmem_space_new_custom(&s, &ops, &c), -EINVAL,
	       "custom: size too large (sizeof + 1)");
	ops.size = (uint32_t)sizeof(ops) * 2;
	is_int(gmem_space_new_custom(&s, &ops, &c), -EINVAL,
	       "custom: size too large (2 * sizeof)");
	ops.size = UINT32_MAX;
	is_int(gmem_space_new_custom(&s, &ops, &c), -EINVAL,
	       "custom: size UINT32_MAX");
	ops = cs_ops;
	ops.enter = NULL;
	is_int(gmem_space_new_custom(&s, &ops, &c), -EINVAL,
	       "custom: NULL enter");
	ops = cs_ops;
	ops.exit = NULL;
	is_int(gmem_space_new_custom(&s, &ops, &c), -EINVAL, "custom: NULL exit");
	tu_is_ptr(s, SENTINEL_SPACE, "custom: out untouched on error");
	is_int(atomic_load(&c.enters) + atomic_load(&c.destroys), 0,
	       "custom: no callback called by failed constructors");

	/* destroy is optional; ops is copied, so it may die right after. */
	ops = cs_ops;
	ops.destroy = NULL;
	is_int(gmem_space_new_custom(&s, &ops, &c), 0,
	       "custom: NULL destroy accepted");
	memset(&ops, 0, sizeof(ops));
	{
		gmem_reader *r = new_reader(s);
		const gmem_map *m = NULL;

		is_int(gmem_reader_enter(r, &m), 0,
		       "custom: ops copied (enter works after the caller's "
		       "ops are wiped)");
		tu_is_ptr(m, map1, "custom: enter returned the callback's map");
		is_int(gmem_reader_exit(r), 0, "custom: exit");
		is_int(gmem_reader_free(r), 0, "custom: reader freed");
	}
	gmem_space_free(s);
	is_int(atomic_load(&c.destroys), 0,
	       "custom: NULL destroy: nothing called at free");
	is_int(atomic_load(&c.bad_token) + atomic_load(&c.bad_map), 0,
	       "custom: token and map round-tripped");
}

/* ------------------------------------------------------------------------ */
/* gmem_space_ref / gmem_space_free                                          */
/* ------------------------------------------------------------------------ */

static void test_ref_free(void)
{
	enum kind k;

	diag("space references");
	tu_is_ptr(gmem_space_ref(NULL), NULL, "gmem_space_ref(NULL) is NULL");
	gmem_space_free(NULL);
	ok(1, "gmem_space_free(NULL) is a no-op");

	for (k = 0; k < K_COUNT; k++) {
		gmem_space *s = new_space(k, map1);
		gmem_reader *r;
		const gmem_map *m = NULL;
		size_t before = map_refs(map1);

		tu_is_ptr(gmem_space_ref(s), s, "%s: ref returns the space",
			  kind_name[k]);
		gmem_space_free(s); /* the extra reference */
		r = new_reader(s);
		gmem_space_free(s); /* the creator's */
		is_int(gmem_reader_enter(r, &m), 0,
		       "%s: reader enters after the creator's free",
		       kind_name[k]);
		ok(m && reads_pattern(m, GPA_A + 5, 0xa0),
		   "%s: the snapshot reads guest memory", kind_name[k]);
		is_int(gmem_reader_exit(r), 0, "%s: exit", kind_name[k]);
		if (k == K_CUSTOM)
			is_int(atomic_load(&kcs.destroys), 0,
			       "custom: destroy not called while a reader "
			       "holds the space");
		is_int(gmem_reader_free(r), 0,
		       "%s: last reader freed (frees the space)",
		       kind_name[k]);
		if (k == K_CUSTOM) {
			is_int(atomic_load(&kcs.destroys), 1,
			       "custom: destroy called exactly once at the "
			       "last free");
			is_int(atomic_load(&kcs.enters),
			       atomic_load(&kcs.exits),
			       "custom: enters and exits balance");
		} else {
			is_int(map_refs(map1), before - 1,
			       "%s: the space's map reference dropped at the "
			       "last free",
			       kind_name[k]);
		}
	}
}

/* ------------------------------------------------------------------------ */
/* Readers                                                                   */
/* ------------------------------------------------------------------------ */

struct ref_thread {
	gmem_map *ref;
	int read_ok;
};

static void *ref_thread_main(void *arg)
{
	struct ref_thread *t = arg;

	t->read_ok = reads_pattern(t->ref, GPA_A + 7, 0xa0);
	gmem_map_free(t->ref); /* dropped by a thread that never entered */
	return NULL;
}

static void test_readers_kind(enum kind k)
{
	const char *kn = kind_name[k];
	gmem_space *s = new_space(k, map1);
	gmem_reader *r = SENTINEL_READER, *r2;
	const gmem_map *m = SENTINEL_CMAP, *m2 = NULL, *first = NULL;
	gmem_map *ref = SENTINEL_MAP;
	unsigned i, entered;
	int rc, all;

	is_int(gmem_reader_new(NULL, s), -EINVAL, "%s: reader_new NULL out",
	       kn);
	is_int(gmem_reader_new(&r, NULL), -EINVAL, "%s: reader_new NULL space",
	       kn);
	tu_is_ptr(r, SENTINEL_READER, "%s: reader out untouched on error", kn);
	is_int(gmem_reader_new(&r, s), 0, "%s: reader_new", kn);

	is_int(gmem_reader_enter(NULL, &m), -EINVAL, "%s: enter NULL reader",
	       kn);
	is_int(gmem_reader_enter(r, NULL), -EINVAL, "%s: enter NULL map", kn);
	tu_is_ptr(m, SENTINEL_CMAP, "%s: map untouched on error", kn);
	is_int(gmem_reader_exit(NULL), -EINVAL, "%s: exit NULL reader", kn);
	is_int(gmem_reader_exit(r), -EINVAL, "%s: exit without enter", kn);
	is_int(gmem_reader_ref(r, &ref), -EINVAL,
	       "%s: reader_ref outside a section", kn);
	tu_is_ptr(ref, SENTINEL_MAP, "%s: ref untouched on error", kn);

	/* Nesting. */
	is_int(gmem_reader_enter(r, &m), 0, "%s: enter", kn);
	tu_is_ptr(m, map1, "%s: the snapshot is the space's map", kn);
	is_int(gmem_reader_enter(r, &m2), 0, "%s: nested enter", kn);
	tu_is_ptr(m2, m, "%s: nested enter returns the same map", kn);
	is_int(gmem_reader_exit(r), 0, "%s: inner exit", kn);
	is_int(gmem_reader_ref(r, NULL), -EINVAL,
	       "%s: reader_ref NULL out", kn);
	is_int(gmem_reader_ref(NULL, &ref), -EINVAL,
	       "%s: reader_ref NULL reader", kn);
	is_int(gmem_reader_ref(r, &ref), 0,
	       "%s: still inside after the inner exit (reader_ref works)", kn);
	tu_is_ptr(ref, m, "%s: reader_ref returns the snapshot", kn);
	gmem_map_free(ref);
	is_int(gmem_reader_free(r), -EBUSY,
	       "%s: reader_free inside a section", kn);
	ok(reads_pattern(m, GPA_A, 0xa0),
	   "%s: snapshot still usable after the refused free", kn);
	is_int(gmem_reader_enter(r, &m2), 0,
	       "%s: reader still enters after the refused free", kn);
	is_int(gmem_reader_exit(r), 0, "%s: ... and exits", kn);
	is_int(gmem_reader_exit(r), 0, "%s: outer exit", kn);
	is_int(gmem_reader_exit(r), -EINVAL, "%s: one exit too many", kn);

	/* Depth limit: GMEM_READER_MAX_DEPTH nested sections, not one more. */
	all = 1;
	entered = 0;
	for (i = 0; i < GMEM_READER_MAX_DEPTH; i++) {
		rc = gmem_reader_enter(r, &m2);
		if (rc != 0) {
			all = 0;
			break;
		}
		entered++;
		if (i == 0)
			first = m2;
		else if (m2 != first)
			all = 0;
	}
	ok(all && entered == GMEM_READER_MAX_DEPTH,
	   "%s: %u nested enters succeed with one map", kn,
	   GMEM_READER_MAX_DEPTH);
	m2 = SENTINEL_CMAP;
	is_int(gmem_reader_enter(r, &m2), -EOVERFLOW,
	       "%s: enter at depth GMEM_READER_MAX_DEPTH", kn);
	tu_is_ptr(m2, SENTINEL_CMAP, "%s: map untouched on -EOVERFLOW", kn);
	all = 1;
	for (i = 0; i < entered; i++)
		if (gmem_reader_exit(r) != 0)
			all = 0;
	ok(all, "%s: %u matching exits succeed", kn, entered);
	is_int(gmem_reader_exit(r), -EINVAL,
	       "%s: the refused enter did not count", kn);

	/* A reference outlives the section (and, atomic, a replace) and is
	 * dropped by another thread. */
	is_int(gmem_reader_enter(r, &m), 0, "%s: enter for reader_ref", kn);
	ref = NULL;
	is_int(gmem_reader_ref(r, &ref), 0, "%s: reader_ref", kn);
	is_int(gmem_reader_exit(r), 0, "%s: exit", kn);
	if (k == K_ATOMIC) {
		is_int(gmem_space_replace(s, map2, GMEM_PUBLISH_WAIT), 0,
		       "atomic: replace after the section");
		r2 = new_reader(s);
		is_int(gmem_reader_enter(r2, &m2), 0, "atomic: new section");
		tu_is_ptr(m2, map2, "atomic: new section sees the new map");
		is_int(gmem_reader_exit(r2), 0, "atomic: exit");
		is_int(gmem_reader_free(r2), 0, "atomic: reader freed");
	}
	ok(ref == map1 && reads_pattern(ref, GPA_A + 3, 0xa0),
	   "%s: the reference still reads the old snapshot", kn);
	{
		struct ref_thread t = { ref, 0 };
		pthread_t th;

		if (pthread_create(&th, NULL, ref_thread_main, &t) != 0)
			tap_bail("pthread_create");
		pthread_join(th, NULL);
		ok(t.read_ok,
		   "%s: another thread reads through the reference and "
		   "drops it",
		   kn);
	}

	is_int(gmem_reader_free(NULL), 0, "%s: reader_free(NULL)", kn);
	is_int(gmem_reader_free(r), 0, "%s: reader_free", kn);
	gmem_space_free(s);
	if (k == K_CUSTOM) {
		is_int(atomic_load(&kcs.destroys), 1, "custom: destroyed once");
		is_int(atomic_load(&kcs.bad_token) + atomic_load(&kcs.bad_map),
		       0, "custom: tokens and maps round-tripped");
	}
}

static void test_readers(void)
{
	enum kind k;

	for (k = 0; k < K_COUNT; k++) {
		diag("readers on a %s space", kind_name[k]);
		test_readers_kind(k);
	}
}

/* ------------------------------------------------------------------------ */
/* Snapshots of each kind                                                    */
/* ------------------------------------------------------------------------ */

static void test_snapshot_fixed(void)
{
	gmem_space *s = new_space(K_FIXED, map1);
	gmem_reader *r = new_reader(s), *r2 = new_reader(s);
	const gmem_map *m = NULL, *m2 = NULL;
	size_t refs = map_refs(map1);

	diag("fixed space snapshots");
	is_int(gmem_reader_enter(r, &m), 0, "fixed: enter");
	is_int(gmem_reader_enter(r2, &m2), 0, "fixed: second reader enters");
	ok(m == map1 && m2 == map1, "fixed: both see the one map");
	is_int(map_refs(map1), refs,
	       "fixed: a snapshot takes no reference (costs nothing)");
	is_int(gmem_reader_exit(r2), 0, "fixed: exit");
	is_int(gmem_reader_exit(r), 0, "fixed: exit");
	is_int(gmem_reader_enter(r, &m), 0, "fixed: enter again");
	tu_is_ptr(m, map1, "fixed: always the same map");
	is_int(gmem_reader_exit(r), 0, "fixed: exit");
	gmem_reader_free(r2);
	gmem_reader_free(r);
	gmem_space_free(s);
}

static void test_snapshot_shared(void)
{
	gmem_region *ra = mk_region(GPA_A, LEN_A, 0x11);
	gmem_map *m0 = mk_map(&ra, 1, 0);
	gmem_space *s = new_space(K_SHARED, m0);
	gmem_reader *r = new_reader(s);
	const gmem_map *m = NULL;

	diag("shared space snapshots");
	gmem_region_free(ra);
	is_int(map_refs(m0), 2, "shared: creator + space hold the map");
	is_int(gmem_reader_enter(r, &m), 0, "shared: enter");
	tu_is_ptr(m, m0, "shared: the snapshot is the map");
	is_int(map_refs(m0), 3, "shared: the snapshot holds a reference");
	/* Drop every other reference we have: the map's and the space's. */
	gmem_map_free(m0);
	gmem_space_free(s);
	is_int(map_refs(m), 2,
	       "shared: after dropping the creator's references only the "
	       "space and the snapshot hold it");
	ok(reads_pattern(m, GPA_A + 0x123, 0x11),
	   "shared: the snapshot is still usable");
	is_int(gmem_write_u8(m, GPA_A + 1, 0x5a), 0,
	   "shared: and writable");
	is_int(gmem_reader_exit(r), 0, "shared: exit");
	is_int(map_refs(m), 1, "shared: exit dropped the snapshot's reference");
	is_int(gmem_reader_free(r), 0,
	       "shared: last reader freed (space and map go; LSan checks)");
}

static void test_snapshot_custom(void)
{
	struct cspace c;
	gmem_space *s = NULL;
	gmem_reader *r, *r2;
	const gmem_map *m = SENTINEL_CMAP, *m2 = NULL;
	gmem_map *cm = NULL;

	diag("custom space snapshots");
	cs_init(&c, map1);
	if (gmem_space_new_custom(&s, &cs_ops, &c) != 0)
		tap_bail("gmem_space_new_custom");
	r = new_reader(s);
	r2 = new_reader(s);
	is_int(atomic_load(&c.enters), 0, "custom: reader_new calls nothing");
	is_int(gmem_reader_enter(r, &m), 0, "custom: enter");
	tu_is_ptr(m, map1, "custom: the snapshot is the callback's map");
	is_int(gmem_reader_enter(r, &m2), 0, "custom: nested enter");
	is_int(gmem_reader_enter(r, &m2), 0, "custom: nested enter (depth 3)");
	is_int(atomic_load(&c.enters), 1,
	       "custom: enter called once for the outermost section");
	is_int(gmem_reader_exit(r), 0, "custom: inner exit");
	is_int(gmem_reader_exit(r), 0, "custom: inner exit");
	is_int(atomic_load(&c.exits), 0, "custom: inner exits call nothing");
	is_int(gmem_reader_enter(r2, &m2), 0,
	       "custom: second reader enters concurrently");
	is_int(atomic_load(&c.enters), 2,
	       "custom: one enter per reader's outermost section");
	is_int(gmem_reader_exit(r), 0, "custom: outermost exit");
	is_int(atomic_load(&c.exits), 1,
	       "custom: exit called once for the outermost section");
	is_int(gmem_reader_exit(r2), 0, "custom: second reader exits");
	is_int(atomic_load(&c.exits), 2, "custom: its exit called");
	is_int(atomic_load(&c.bad_token), 0,
	       "custom: exit received the token its enter stored");
	is_int(atomic_load(&c.bad_map), 0,
	       "custom: exit received the section's map");

	/* An enter error is passed on; the reader stays outside. */
	c.enter_err = -EIO;
	m = SENTINEL_CMAP;
	is_int(gmem_reader_enter(r, &m), -EIO,
	       "custom: enter error propagated");
	tu_is_ptr(m, SENTINEL_CMAP, "custom: map untouched on enter error");
	is_int(gmem_reader_exit(r), -EINVAL,
	       "custom: the failed enter opened no section");
	is_int(gmem_reader_free(r2), 0,
	       "custom: reader_free works after a failed enter elsewhere");
	c.enter_err = -ENOSPC;
	is_int(gmem_reader_enter(r, &m), -ENOSPC,
	       "custom: another enter error propagated unchanged");
	c.enter_err = 0;

	/* A callback that "succeeds" without a map. */
	c.null_map = 1;
	is_int(gmem_reader_enter(r, &m), -EINVAL,
	       "custom: enter returning map NULL gives -EINVAL");
	tu_is_ptr(m, SENTINEL_CMAP, "custom: map untouched");
	is_int(gmem_reader_exit(r), -EINVAL,
	       "custom: ... and opened no section");
	diag("custom: after the NULL map: %d enters, %d exits",
	     atomic_load(&c.enters), atomic_load(&c.exits));
	is_int(gmem_space_current(s, &cm), -EINVAL,
	       "custom: gmem_space_current with a NULL map gives -EINVAL");
	c.null_map = 0;
	c.enter_err = -EIO;
	is_int(gmem_space_current(s, &cm), -EIO,
	       "custom: gmem_space_current passes on the enter error");
	c.enter_err = 0;
	{
		int e0 = atomic_load(&c.enters), x0 = atomic_load(&c.exits);

		cm = NULL;
		is_int(gmem_space_current(s, &cm), 0,
		       "custom: gmem_space_current");
		tu_is_ptr(cm, map1, "custom: current is the callback's map");
		ok(atomic_load(&c.enters) == e0 + 1 &&
			   atomic_load(&c.exits) == x0 + 1,
		   "custom: current entered and exited once internally");
		gmem_map_free(cm);
	}
	is_int(gmem_reader_enter(r, &m), 0, "custom: enter works again");
	is_int(gmem_reader_exit(r), 0, "custom: exit");
	is_int(atomic_load(&c.bad_token) + atomic_load(&c.bad_map), 0,
	       "custom: every token and map round-tripped");
	gmem_space_free(s);
	is_int(atomic_load(&c.destroys), 0,
	       "custom: destroy waits for the last reader");
	is_int(gmem_reader_free(r), 0, "custom: last reader freed");
	is_int(atomic_load(&c.destroys), 1, "custom: destroy called once");
}

/* vm-memory's test_atomic_hotplug: a snapshot taken before an update keeps
 * the old map while a new section sees the new one. */
static void test_snapshot_atomic(void)
{
	gmem_space *s = NULL;
	gmem_reader *r, *r2;
	const gmem_map *old = NULL, *nm = NULL;
	size_t pending = 99;
	uint8_t b;

	diag("atomic space snapshots (hot-plug)");
	if (gmem_space_new_atomic(&s, map1, 0) != 0)
		tap_bail("gmem_space_new_atomic");
	r = new_reader(s);
	r2 = new_reader(s);
	is_int(gmem_reader_enter(r, &old), 0, "atomic: enter");
	tu_is_ptr(old, map1, "atomic: snapshot is the initial map");
	is_int(gmem_space_insert(s, reg_b, GMEM_PUBLISH_DEFER), 0,
	       "atomic: hot-plug B (DEFER) while a reader is inside");
	is_int(gmem_map_count(old), 1, "atomic: the old snapshot still has 1 region");
	is_int(gmem_read_u8(old, GPA_B, &b), -EFAULT,
	       "atomic: the old snapshot does not see B");
	ok(reads_pattern(old, GPA_A + 9, 0xa0),
	   "atomic: the old snapshot still reads A");
	is_int(gmem_reader_enter(r2, &nm), 0, "atomic: a new section");
	is_int(gmem_map_count(nm), 2, "atomic: the new section sees 2 regions");
	ok(reads_pattern(nm, GPA_B + 0x1fff, 0xb0),
	   "atomic: the new section reads B");
	ok(reads_pattern(nm, GPA_A, 0xa0), "atomic: and A");
	is_int(gmem_reader_exit(r2), 0, "atomic: exit the new section");
	is_int(gmem_space_reclaim(s, &pending), 0, "atomic: reclaim");
	is_int(pending, 1, "atomic: the old map waits for the old reader");
	ok(reads_pattern(old, GPA_A + 0xfff, 0xa0),
	   "atomic: the old snapshot survives the reclaim");
	is_int(gmem_reader_exit(r), 0, "atomic: old reader exits");
	is_int(gmem_space_reclaim(s, &pending), 0, "atomic: reclaim");
	is_int(pending, 0, "atomic: the old map is dropped");
	is_int(gmem_reader_enter(r, &old), 0, "atomic: the old reader re-enters");
	is_int(gmem_map_count(old), 2, "atomic: ... and sees the new map");
	is_int(gmem_reader_exit(r), 0, "atomic: exit");
	gmem_reader_free(r);
	gmem_reader_free(r2);
	gmem_space_free(s);
}

/* ------------------------------------------------------------------------ */
/* Updates                                                                   */
/* ------------------------------------------------------------------------ */

struct upd {
	int calls;
	int ret;		 /* returned by the callback */
	gmem_map *give;		 /* *next (a reference is taken) or NULL */
	const gmem_map *seen;	 /* the current map the callback got */
	gmem_region *add;	 /* when set: next = current + add */
};

static int upd_fn(const gmem_map *cur, gmem_map **next, void *opaque)
{
	struct upd *u = opaque;

	u->calls++;
	u->seen = cur;
	if (u->ret)
		return u->ret;
	if (u->add)
		return gmem_map_insert(next, cur, u->add);
	*next = gmem_map_ref(u->give);
	return 0;
}

/* "No change": publish the current map itself. */
static int same_fn(const gmem_map *cur, gmem_map **next, void *opaque)
{
	(void)opaque;
	*next = gmem_map_ref((gmem_map *)(uintptr_t)cur);
	return 0;
}

static void test_updates_unsupported(void)
{
	enum kind k;

	for (k = 0; k < K_COUNT; k++) {
		gmem_space *s;
		gmem_region *rm = SENTINEL_REGION;
		struct upd u = { 0, 0, map2, NULL, NULL };
		size_t pending = 7;
		gmem_map *cm = NULL;

		if (k == K_ATOMIC)
			continue;
		s = new_space(k, map1);
		is_int(gmem_space_update(s, upd_fn, &u, GMEM_PUBLISH_WAIT),
		       -EOPNOTSUPP, "%s: update", kind_name[k]);
		is_int(gmem_space_update(s, upd_fn, &u, GMEM_PUBLISH_DEFER),
		       -EOPNOTSUPP, "%s: update DEFER", kind_name[k]);
		is_int(u.calls, 0, "%s: callback not called", kind_name[k]);
		is_int(gmem_space_replace(s, map2, GMEM_PUBLISH_WAIT),
		       -EOPNOTSUPP, "%s: replace", kind_name[k]);
		is_int(gmem_space_replace(s, map2, GMEM_PUBLISH_DEFER),
		       -EOPNOTSUPP, "%s: replace DEFER", kind_name[k]);
		is_int(gmem_space_insert(s, reg_b, GMEM_PUBLISH_WAIT),
		       -EOPNOTSUPP, "%s: insert", kind_name[k]);
		is_int(gmem_space_insert(s, reg_b, GMEM_PUBLISH_DEFER),
		       -EOPNOTSUPP, "%s: insert DEFER", kind_name[k]);
		is_int(gmem_space_remove(s, GPA_A, LEN_A, &rm,
					 GMEM_PUBLISH_WAIT),
		       -EOPNOTSUPP, "%s: remove", kind_name[k]);
		is_int(gmem_space_remove(s, GPA_A, LEN_A, &rm,
					 GMEM_PUBLISH_DEFER),
		       -EOPNOTSUPP, "%s: remove DEFER", kind_name[k]);
		tu_is_ptr(rm, SENTINEL_REGION, "%s: removed untouched",
			  kind_name[k]);
		is_int(gmem_space_reclaim(s, &pending), -EOPNOTSUPP,
		       "%s: reclaim", kind_name[k]);
		is_int(pending, 7, "%s: pending untouched", kind_name[k]);
		is_int(gmem_space_synchronize(s), -EOPNOTSUPP,
		       "%s: synchronize", kind_name[k]);
		is_int(gmem_space_current(s, &cm), 0,
		       "%s: current still works", kind_name[k]);
		tu_is_ptr(cm, map1, "%s: nothing changed", kind_name[k]);
		gmem_map_free(cm);
		gmem_space_free(s);
	}
}

static void test_updates_args(gmem_space *s)
{
	struct upd u = { 0, 0, map2, NULL, NULL };
	gmem_region *rm = SENTINEL_REGION;
	static const unsigned bad[] = { 2u, 4u, 3u, 0x80000000u, ~0u };
	size_t i;

	diag("atomic: argument errors");
	is_int(gmem_space_update(NULL, upd_fn, &u, 0), -EINVAL,
	       "update NULL space");
	is_int(gmem_space_update(s, NULL, &u, 0), -EINVAL, "update NULL fn");
	is_int(gmem_space_replace(NULL, map2, 0), -EINVAL, "replace NULL space");
	is_int(gmem_space_replace(s, NULL, 0), -EINVAL, "replace NULL map");
	is_int(gmem_space_insert(NULL, reg_b, 0), -EINVAL, "insert NULL space");
	is_int(gmem_space_insert(s, NULL, 0), -EINVAL, "insert NULL region");
	is_int(gmem_space_remove(NULL, GPA_A, LEN_A, &rm, 0), -EINVAL,
	       "remove NULL space");
	is_int(gmem_space_reclaim(NULL, NULL), -EINVAL, "reclaim NULL space");
	is_int(gmem_space_synchronize(NULL), -EINVAL, "synchronize NULL space");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		is_int(gmem_space_update(s, upd_fn, &u, bad[i]), -EINVAL,
		       "update flags %#x", bad[i]);
		is_int(gmem_space_replace(s, map2, bad[i]), -EINVAL,
		       "replace flags %#x", bad[i]);
		is_int(gmem_space_insert(s, reg_b, bad[i]), -EINVAL,
		       "insert flags %#x", bad[i]);
		is_int(gmem_space_remove(s, GPA_A, LEN_A, &rm, bad[i]), -EINVAL,
		       "remove flags %#x", bad[i]);
	}
	is_int(u.calls, 0, "callback never called for bad arguments");
	tu_is_ptr(rm, SENTINEL_REGION, "removed untouched");
	tu_is_ptr(cur_of(s), map1, "nothing published");
}

static void test_updates(void)
{
	static const unsigned fl[2] = { GMEM_PUBLISH_WAIT, GMEM_PUBLISH_DEFER };
	static const char *const fn[2] = { "WAIT", "DEFER" };
	gmem_space *s = NULL;
	int f;

	diag("atomic space updates");
	test_updates_unsupported();
	if (gmem_space_new_atomic(&s, map1, 0) != 0)
		tap_bail("gmem_space_new_atomic");
	test_updates_args(s);

	for (f = 0; f < 2; f++) {
		struct upd u = { 0, 0, NULL, NULL, NULL };
		gmem_region *rm = SENTINEL_REGION, *rx, *ry;
		gmem_map *cm = NULL;
		size_t pending = 9;
		const gmem_map *before;

		/* Start each round from map1. */
		if (gmem_space_replace(s, map1, GMEM_PUBLISH_WAIT) != 0)
			tap_bail("replace");

		/* Callback errors publish nothing. */
		u.ret = -EIO;
		is_int(gmem_space_update(s, upd_fn, &u, fl[f]), -EIO,
		       "%s: callback error returned", fn[f]);
		is_int(u.calls, 1, "%s: callback called once", fn[f]);
		tu_is_ptr(u.seen, map1, "%s: callback got the current map",
			  fn[f]);
		tu_is_ptr(cur_of(s), map1, "%s: nothing published", fn[f]);
		u.ret = 0;
		u.give = NULL;
		is_int(gmem_space_update(s, upd_fn, &u, fl[f]), -EINVAL,
		       "%s: callback returning 0 with next NULL", fn[f]);
		tu_is_ptr(cur_of(s), map1, "%s: nothing published", fn[f]);

		/* Success: update to map2, then "no change". */
		u.give = map2;
		is_int(gmem_space_update(s, upd_fn, &u, fl[f]), 0,
		       "%s: update", fn[f]);
		tu_is_ptr(cur_of(s), map2, "%s: update published", fn[f]);
		is_int(gmem_space_update(s, same_fn, NULL, fl[f]), 0,
		       "%s: update with the current map itself", fn[f]);
		tu_is_ptr(cur_of(s), map2, "%s: no change", fn[f]);

		/* replace */
		is_int(gmem_space_replace(s, map1, fl[f]), 0, "%s: replace",
		       fn[f]);
		tu_is_ptr(cur_of(s), map1, "%s: replace published", fn[f]);

		/* insert, with its map errors */
		is_int(gmem_space_insert(s, reg_a, fl[f]), -EEXIST,
		       "%s: insert a region already present", fn[f]);
		rx = mk_region(GPA_A + LEN_A - 8, 0x100, 0);
		is_int(gmem_space_insert(s, rx, fl[f]), -EEXIST,
		       "%s: insert overlapping region", fn[f]);
		gmem_region_free(rx);
		tu_is_ptr(cur_of(s), map1, "%s: nothing published", fn[f]);
		is_int(gmem_space_insert(s, reg_c, fl[f]), 0, "%s: insert C",
		       fn[f]);
		cm = NULL;
		if (gmem_space_current(s, &cm) != 0)
			tap_bail("current");
		ok(gmem_map_count(cm) == 2 && reads_pattern(cm, GPA_C, 0xc0) &&
			   reads_pattern(cm, GPA_A, 0xa0),
		   "%s: insert published map1 + C", fn[f]);
		gmem_map_free(cm);

		/* remove */
		rm = SENTINEL_REGION;
		is_int(gmem_space_remove(s, GPA_C, LEN_C + 1, &rm, fl[f]),
		       -ENOENT, "%s: remove with the wrong length", fn[f]);
		is_int(gmem_space_remove(s, GPA_C + 1, LEN_C - 1, &rm, fl[f]),
		       -ENOENT, "%s: remove with the wrong start", fn[f]);
		is_int(gmem_space_remove(s, GPA_B, LEN_B, &rm, fl[f]), -ENOENT,
		       "%s: remove an absent region", fn[f]);
		tu_is_ptr(rm, SENTINEL_REGION, "%s: removed untouched", fn[f]);
		before = cur_of(s);
		is_int(gmem_map_count(before), 2, "%s: nothing removed", fn[f]);
		is_int(gmem_space_remove(s, GPA_C, LEN_C, &rm, fl[f]), 0,
		       "%s: remove C", fn[f]);
		tu_is_ptr(rm, reg_c, "%s: the removed region is returned",
			  fn[f]);
		is_int(gmem_map_count(cur_of(s)), 1, "%s: C is gone", fn[f]);
		gmem_region_free(rm);
		is_int(gmem_space_remove(s, GPA_A, LEN_A, NULL, fl[f]), 0,
		       "%s: remove A without asking for it", fn[f]);
		is_int(gmem_map_count(cur_of(s)), 0, "%s: empty map", fn[f]);

		/* Two sequential updates both take effect. */
		u = (struct upd){ 0, 0, NULL, NULL, reg_a };
		is_int(gmem_space_update(s, upd_fn, &u, fl[f]), 0,
		       "%s: update 1 (+A)", fn[f]);
		before = cur_of(s);
		u.add = reg_b;
		is_int(gmem_space_update(s, upd_fn, &u, fl[f]), 0,
		       "%s: update 2 (+B)", fn[f]);
		tu_is_ptr(u.seen, before,
			  "%s: update 2 derived from update 1's map", fn[f]);
		cm = NULL;
		if (gmem_space_current(s, &cm) != 0)
			tap_bail("current");
		ok(gmem_map_count(cm) == 2 && reads_pattern(cm, GPA_A, 0xa0) &&
			   reads_pattern(cm, GPA_B, 0xb0),
		   "%s: both updates took effect", fn[f]);
		gmem_map_free(cm);

		/* The removed region comes back with its own reference: it
		 * stays mapped with every other reference gone. */
		rx = mk_region(GPA_C, LEN_C, 0x3c);
		{
			uint8_t *h = gmem_region_host(rx);

			is_int(gmem_space_insert(s, rx, fl[f]), 0,
			       "%s: insert a fresh region", fn[f]);
			gmem_region_free(rx); /* the space's map holds it */
			ry = NULL;
			is_int(gmem_space_remove(s, GPA_C, LEN_C, &ry, fl[f]),
			       0, "%s: remove it", fn[f]);
			tu_is_ptr(ry, rx, "%s: same region", fn[f]);
			is_int(gmem_space_synchronize(s), 0,
			       "%s: synchronize", fn[f]);
			is_int(gmem_space_reclaim(s, &pending), 0,
			       "%s: reclaim", fn[f]);
			is_int(pending, 0, "%s: no retired map left", fn[f]);
			ok(tu_page_mapped(h) == 1 && h[5] == pat(GPA_C + 5, 0x3c),
			   "%s: the returned reference keeps it mapped",
			   fn[f]);
			gmem_region_free(ry);
			is_int(tu_page_mapped(h), 0,
			       "%s: dropping it unmaps the region", fn[f]);
		}
	}
	gmem_space_free(s);

	/* -E2BIG from the map's cap propagates. */
	{
		gmem_map *capped = mk_map(&reg_a, 1, 1);

		if (gmem_space_new_atomic(&s, capped, 0) != 0)
			tap_bail("gmem_space_new_atomic");
		is_int(gmem_space_insert(s, reg_b, GMEM_PUBLISH_WAIT), -E2BIG,
		       "insert beyond the map cap (WAIT)");
		is_int(gmem_space_insert(s, reg_b, GMEM_PUBLISH_DEFER), -E2BIG,
		       "insert beyond the map cap (DEFER)");
		tu_is_ptr(cur_of(s), capped, "nothing published");
		gmem_space_free(s);
		gmem_map_free(capped);
	}
}

/* ------------------------------------------------------------------------ */
/* -EDEADLK                                                                  */
/* ------------------------------------------------------------------------ */

struct reent {
	gmem_space *s;		/* the space being updated */
	gmem_space *other;	/* another atomic space */
	gmem_reader *leave_open; /* when set: enter it and leave it open */
	const gmem_map *opened;
	int calls, inner_calls;
	int r_update_wait, r_update_defer, r_replace, r_insert, r_remove;
	int r_current, r_reclaim, r_sync, r_other;
	gmem_map *cur_out;
	size_t pending;
};

static int inner_fn(const gmem_map *cur, gmem_map **next, void *opaque)
{
	struct reent *e = opaque;

	e->inner_calls++;
	*next = gmem_map_ref((gmem_map *)(uintptr_t)cur);
	return 0;
}

static int reent_fn(const gmem_map *cur, gmem_map **next, void *opaque)
{
	struct reent *e = opaque;
	gmem_region *rm = SENTINEL_REGION;

	e->calls++;
	if (e->leave_open) {
		if (gmem_reader_enter(e->leave_open, &e->opened) != 0)
			e->opened = NULL;
	} else {
		e->r_update_wait = gmem_space_update(e->s, inner_fn, e,
						     GMEM_PUBLISH_WAIT);
		e->r_update_defer = gmem_space_update(e->s, inner_fn, e,
						      GMEM_PUBLISH_DEFER);
		e->r_replace = gmem_space_replace(e->s, map2,
						  GMEM_PUBLISH_DEFER);
		e->r_insert = gmem_space_insert(e->s, reg_c,
						GMEM_PUBLISH_DEFER);
		e->r_remove = gmem_space_remove(e->s, GPA_A, LEN_A, &rm,
						GMEM_PUBLISH_DEFER);
		if (rm != SENTINEL_REGION)
			e->r_remove = 1000; /* output written on error */
		e->cur_out = SENTINEL_MAP;
		e->r_current = gmem_space_current(e->s, &e->cur_out);
		e->pending = 77;
		e->r_reclaim = gmem_space_reclaim(e->s, &e->pending);
		e->r_sync = gmem_space_synchronize(e->s);
		if (e->other)
			e->r_other = gmem_space_replace(e->other, map2,
							GMEM_PUBLISH_WAIT);
	}
	return gmem_map_insert(next, cur, reg_b);
}

static void test_edeadlk(void)
{
	gmem_space *s = NULL, *other = NULL;
	gmem_reader *r, *ro;
	const gmem_map *m = NULL, *mo = NULL;
	gmem_region *rm = SENTINEL_REGION;
	struct upd u = { 0, 0, map2, NULL, NULL };
	struct reent e;
	size_t pending = 5;

	diag("-EDEADLK");
	if (gmem_space_new_atomic(&s, map1, 0) != 0 ||
	    gmem_space_new_atomic(&other, map1, 0) != 0)
		tap_bail("gmem_space_new_atomic");
	r = new_reader(s);
	ro = new_reader(other);

	/* Inside a section: WAIT would wait for ourselves. */
	is_int(gmem_reader_enter(r, &m), 0, "enter");
	is_int(gmem_space_update(s, upd_fn, &u, GMEM_PUBLISH_WAIT), -EDEADLK,
	       "in section: update WAIT");
	is_int(u.calls, 0, "in section: callback not called");
	is_int(gmem_space_replace(s, map2, GMEM_PUBLISH_WAIT), -EDEADLK,
	       "in section: replace WAIT");
	is_int(gmem_space_insert(s, reg_b, GMEM_PUBLISH_WAIT), -EDEADLK,
	       "in section: insert WAIT");
	is_int(gmem_space_remove(s, GPA_A, LEN_A, &rm, GMEM_PUBLISH_WAIT),
	       -EDEADLK, "in section: remove WAIT");
	tu_is_ptr(rm, SENTINEL_REGION, "in section: removed untouched");
	is_int(gmem_space_synchronize(s), -EDEADLK, "in section: synchronize");
	tu_is_ptr(cur_of(s), map1,
		  "in section: nothing changed (current works inside)");
	ok(reads_pattern(m, GPA_A, 0xa0), "in section: snapshot intact");
	/* A section of another space does not matter. */
	is_int(gmem_reader_enter(ro, &mo), 0, "enter another space");
	is_int(gmem_reader_exit(ro), 0, "exit it");
	is_int(gmem_space_replace(other, map2, GMEM_PUBLISH_WAIT), 0,
	       "in a section of s: WAIT replace on another space works");
	is_int(gmem_space_synchronize(other), 0,
	       "in a section of s: synchronize another space works");
	/* DEFER never waits. */
	is_int(gmem_space_replace(s, map2, GMEM_PUBLISH_DEFER), 0,
	       "in section: replace DEFER");
	is_int(gmem_space_insert(s, reg_c, GMEM_PUBLISH_DEFER), 0,
	       "in section: insert DEFER");
	is_int(gmem_space_remove(s, GPA_C, LEN_C, &rm, GMEM_PUBLISH_DEFER), 0,
	       "in section: remove DEFER");
	tu_is_ptr(rm, reg_c, "in section: removed C");
	gmem_region_free(rm);
	u.give = map1;
	is_int(gmem_space_update(s, upd_fn, &u, GMEM_PUBLISH_DEFER), 0,
	       "in section: update DEFER");
	tu_is_ptr(cur_of(s), map1, "in section: DEFER updates published");
	tu_is_ptr(m, map1, "in section: the snapshot is unchanged");
	is_int(gmem_space_reclaim(s, &pending), 0, "in section: reclaim");
	is_int(pending, 4, "in section: 4 retired maps wait for us");
	is_int(gmem_reader_exit(r), 0, "exit");
	is_int(gmem_space_synchronize(s), 0, "outside: synchronize");
	is_int(gmem_space_reclaim(s, &pending), 0, "reclaim");
	is_int(pending, 0, "nothing pending");

	/* Calls from inside the update callback. */
	memset(&e, 0, sizeof(e));
	e.s = s;
	e.other = other;
	is_int(gmem_space_update(s, reent_fn, &e, GMEM_PUBLISH_WAIT), 0,
	       "callback: outer update (WAIT) succeeds");
	is_int(e.calls, 1, "callback: called once");
	is_int(e.inner_calls, 0, "callback: no inner callback ran");
	is_int(e.r_update_wait, -EDEADLK, "callback: update WAIT");
	is_int(e.r_update_defer, -EDEADLK, "callback: update DEFER");
	is_int(e.r_replace, -EDEADLK, "callback: replace");
	is_int(e.r_insert, -EDEADLK, "callback: insert");
	is_int(e.r_remove, -EDEADLK, "callback: remove (removed untouched)");
	is_int(e.r_current, -EDEADLK, "callback: current");
	tu_is_ptr(e.cur_out, SENTINEL_MAP, "callback: current's out untouched");
	is_int(e.r_reclaim, -EBUSY, "callback: reclaim");
	is_int(e.pending, 77, "callback: reclaim's pending untouched");
	is_int(e.r_sync, -EDEADLK, "callback: synchronize");
	is_int(e.r_other, 0, "callback: WAIT replace of another space works");
	{
		gmem_map *cm = NULL;

		if (gmem_space_current(s, &cm) != 0)
			tap_bail("current");
		ok(gmem_map_count(cm) == 2 && reads_pattern(cm, GPA_B, 0xb0),
		   "callback: only the outer update was published");
		gmem_map_free(cm);
	}
	memset(&e, 0, sizeof(e));
	e.s = s;
	is_int(gmem_space_update(s, reent_fn, &e, GMEM_PUBLISH_DEFER), -EEXIST,
	       "callback (DEFER): outer error is the callback's own");
	is_int(e.r_update_wait, -EDEADLK, "callback (DEFER): update WAIT");
	is_int(e.r_update_defer, -EDEADLK, "callback (DEFER): update DEFER");
	is_int(e.r_current, -EDEADLK, "callback (DEFER): current");
	is_int(e.r_reclaim, -EBUSY, "callback (DEFER): reclaim");
	is_int(e.r_sync, -EDEADLK, "callback (DEFER): synchronize");

	/* A callback that opens a section and leaves it open. */
	if (gmem_space_replace(s, map1, GMEM_PUBLISH_WAIT) != 0)
		tap_bail("replace");
	memset(&e, 0, sizeof(e));
	e.s = s;
	e.leave_open = r;
	is_int(gmem_space_update(s, reent_fn, &e, GMEM_PUBLISH_WAIT), -EDEADLK,
	       "open section in callback: WAIT gives -EDEADLK");
	tu_is_ptr(e.opened, map1, "open section in callback: it saw map1");
	tu_is_ptr(cur_of(s), map1, "open section in callback: nothing "
				    "published");
	is_int(gmem_reader_exit(r), 0,
	       "open section in callback: exit it afterwards");
	is_int(gmem_reader_exit(r), -EINVAL, "... only one section was open");
	memset(&e, 0, sizeof(e));
	e.s = s;
	e.leave_open = r;
	is_int(gmem_space_update(s, reent_fn, &e, GMEM_PUBLISH_DEFER), 0,
	       "open section in callback: DEFER succeeds");
	tu_is_ptr(e.opened, map1, "open section in callback: it saw map1");
	is_int(gmem_map_count(cur_of(s)), 2,
	       "open section in callback: map1 + B published");
	ok(reads_pattern(e.opened, GPA_A, 0xa0),
	   "open section in callback: its snapshot is still valid");
	is_int(gmem_space_reclaim(s, &pending), 0, "reclaim");
	is_int(pending, 1, "the old map waits for the open section");
	is_int(gmem_reader_exit(r), 0, "exit the callback's section");
	is_int(gmem_space_reclaim(s, &pending), 0, "reclaim");
	is_int(pending, 0, "old map dropped");

	gmem_reader_free(r);
	gmem_reader_free(ro);
	gmem_space_free(s);
	gmem_space_free(other);
}

/* ------------------------------------------------------------------------ */
/* The retired bound, reclaim and synchronize                                */
/* ------------------------------------------------------------------------ */

/* A helper thread that sits in a section until released. */
struct holder {
	gmem_space *s;
	atomic_int inside, release, exiting, done;
	const gmem_map *seen;
	unsigned delay_ms; /* sleep this long after the release */
	int err;
};

static void *holder_main(void *arg)
{
	struct holder *h = arg;
	gmem_reader *r = NULL;

	h->err = gmem_reader_new(&r, h->s);
	if (h->err == 0)
		h->err = gmem_reader_enter(r, &h->seen);
	atomic_store(&h->inside, 1);
	if (h->err == 0) {
		if (!wait_flag(&h->release, 1))
			h->err = -ETIMEDOUT;
		if (h->delay_ms)
			sleep_ms(h->delay_ms);
		atomic_store(&h->exiting, 1);
		if (gmem_reader_exit(r) != 0 && h->err == 0)
			h->err = -EINVAL;
	}
	if (r && gmem_reader_free(r) != 0 && h->err == 0)
		h->err = -EBUSY;
	atomic_store(&h->done, 1);
	return NULL;
}

static void holder_init(struct holder *h, gmem_space *s)
{
	memset(h, 0, sizeof(*h));
	h->s = s;
	atomic_init(&h->inside, 0);
	atomic_init(&h->release, 0);
	atomic_init(&h->exiting, 0);
	atomic_init(&h->done, 0);
}

/* A writer thread doing one WAIT update. */
struct wwriter {
	gmem_space *s;
	gmem_map *next;
	struct holder *h;
	atomic_int in_cb, done;
	int ret, holder_exited_first;
};

static int wwriter_fn(const gmem_map *cur, gmem_map **next, void *opaque)
{
	struct wwriter *w = opaque;

	(void)cur;
	atomic_store(&w->in_cb, 1);
	*next = gmem_map_ref(w->next);
	return 0;
}

static void *wwriter_main(void *arg)
{
	struct wwriter *w = arg;

	w->ret = gmem_space_update(w->s, wwriter_fn, w, GMEM_PUBLISH_WAIT);
	w->holder_exited_first = atomic_load(&w->h->exiting);
	atomic_store(&w->done, 1);
	return NULL;
}

static void test_retired(void)
{
	gmem_space *s = NULL;
	gmem_reader *r;
	const gmem_map *m = NULL;
	size_t pending = 99;
	unsigned i;
	int all;

	diag("retired bound: max_retired = 2");
	if (gmem_space_new_atomic(&s, map1, 2) != 0)
		tap_bail("gmem_space_new_atomic");
	r = new_reader(s); /* held by the main thread */
	is_int(gmem_reader_enter(r, &m), 0, "enter and stay inside");
	is_int(gmem_space_replace(s, map2, GMEM_PUBLISH_DEFER), 0,
	       "DEFER publication 1");
	is_int(gmem_space_replace(s, map1, GMEM_PUBLISH_DEFER), 0,
	       "DEFER publication 2");
	is_int(gmem_space_replace(s, map2, GMEM_PUBLISH_DEFER), -EBUSY,
	       "DEFER publication 3: retired list full");
	is_int(gmem_space_insert(s, reg_c, GMEM_PUBLISH_DEFER), -EBUSY,
	       "DEFER insert: retired list full");
	tu_is_ptr(cur_of(s), map1, "the refused publication published nothing");
	is_int(gmem_space_reclaim(s, &pending), 0, "reclaim");
	is_int(pending, 2, "reclaim reports 2 pending");
	is_int(gmem_space_reclaim(s, NULL), 0, "reclaim with NULL pending");
	ok(reads_pattern(m, GPA_A, 0xa0), "the reader's snapshot is intact");
	is_int(gmem_reader_exit(r), 0, "the reader exits");
	pending = 99;
	is_int(gmem_space_reclaim(s, &pending), 0, "reclaim");
	is_int(pending, 0, "both retired maps freed");
	is_int(gmem_space_replace(s, map2, GMEM_PUBLISH_DEFER), 0,
	       "DEFER publication 3 now succeeds");
	is_int(gmem_space_reclaim(s, &pending), 0, "reclaim");
	is_int(pending, 0, "with no reader inside, nothing stays pending");
	gmem_reader_free(r);
	gmem_space_free(s);

	diag("retired bound: default (max_retired = 0)");
	if (gmem_space_new_atomic(&s, map1, 0) != 0)
		tap_bail("gmem_space_new_atomic");
	r = new_reader(s);
	is_int(gmem_reader_enter(r, &m), 0, "enter and stay inside");
	all = 1;
	for (i = 0; i < GMEM_SPACE_DEFAULT_MAX_RETIRED; i++)
		if (gmem_space_replace(s, (i & 1) ? map1 : map2,
				       GMEM_PUBLISH_DEFER) != 0)
			all = 0;
	ok(all, "%u DEFER publications succeed",
	   GMEM_SPACE_DEFAULT_MAX_RETIRED);
	is_int(gmem_space_replace(s, map2, GMEM_PUBLISH_DEFER), -EBUSY,
	       "publication %u: -EBUSY", GMEM_SPACE_DEFAULT_MAX_RETIRED + 1);
	is_int(gmem_space_reclaim(s, &pending), 0, "reclaim");
	is_int(pending, GMEM_SPACE_DEFAULT_MAX_RETIRED,
	       "GMEM_SPACE_DEFAULT_MAX_RETIRED pending");
	is_int(gmem_reader_exit(r), 0, "exit");
	is_int(gmem_space_replace(s, map2, GMEM_PUBLISH_DEFER), 0,
	       "DEFER publication after the exit reclaims first");
	is_int(gmem_space_reclaim(s, &pending), 0, "reclaim");
	is_int(pending, 0, "all freed");
	gmem_reader_free(r);
	gmem_space_free(s);

	diag("reclaim while a WAIT writer is blocked");
	{
		struct holder h;
		struct wwriter w;
		pthread_t th, tw;
		gmem_reader *mr;
		const gmem_map *mm = NULL;
		bool published = false;
		double end;

		if (gmem_space_new_atomic(&s, map1, 0) != 0)
			tap_bail("gmem_space_new_atomic");
		holder_init(&h, s);
		memset(&w, 0, sizeof(w));
		w.s = s;
		w.next = map2;
		w.h = &h;
		atomic_init(&w.in_cb, 0);
		atomic_init(&w.done, 0);
		if (pthread_create(&th, NULL, holder_main, &h) != 0)
			tap_bail("pthread_create");
		ok(wait_flag(&h.inside, 1) && h.err == 0,
		   "helper thread is inside a section");
		if (pthread_create(&tw, NULL, wwriter_main, &w) != 0)
			tap_bail("pthread_create");
		ok(wait_flag(&w.in_cb, 1), "writer is in its callback");
		/* Wait until the writer has published: it is then blocked
		 * in its grace wait, holding the write side. */
		mr = new_reader(s);
		end = now_s() + TIMEOUT_S;
		while (!published && now_s() < end) {
			if (gmem_reader_enter(mr, &mm) != 0)
				break;
			published = mm == map2;
			(void)gmem_reader_exit(mr);
			if (!published)
				sched_yield();
		}
		ok(published, "the writer published the new map");
		pending = 55;
		is_int(gmem_space_reclaim(s, &pending), 0,
		       "reclaim while the WAIT writer waits (unlocked) works");
		is_int(pending, 0, "the waiting writer's map is its own, not pending");
		is_int(atomic_load(&w.done), 0,
		       "the writer is still waiting for the helper");
		atomic_store(&h.release, 1);
		pthread_join(tw, NULL);
		pthread_join(th, NULL);
		is_int(w.ret, 0, "the WAIT writer succeeded");
		is_int(w.holder_exited_first, 1,
		       "the writer returned after the helper's exit");
		is_int(h.err, 0, "helper thread ran cleanly");
		tu_is_ptr(h.seen, map1, "the helper saw the old map");
		is_int(gmem_space_reclaim(s, &pending), 0,
		       "reclaim after the writer returned");
		is_int(pending, 0, "nothing pending");
		gmem_reader_free(mr);
		gmem_space_free(s);
	}

	diag("synchronize waits for a reader thread");
	{
		struct holder h;
		pthread_t th;
		double t0, t1;

		if (gmem_space_new_atomic(&s, map1, 0) != 0)
			tap_bail("gmem_space_new_atomic");
		holder_init(&h, s);
		h.delay_ms = 50;
		if (pthread_create(&th, NULL, holder_main, &h) != 0)
			tap_bail("pthread_create");
		ok(wait_flag(&h.inside, 1) && h.err == 0,
		   "reader thread is inside a section");
		is_int(gmem_space_replace(s, map2, GMEM_PUBLISH_DEFER), 0,
		       "DEFER replace");
		is_int(gmem_space_reclaim(s, &pending), 0, "reclaim");
		is_int(pending, 1, "one retired map pending");
		/* Released now, the reader sleeps 50 ms before it leaves;
		 * synchronize must not return before it has left. */
		t0 = now_s();
		atomic_store(&h.release, 1);
		is_int(gmem_space_synchronize(s), 0, "synchronize");
		t1 = now_s();
		is_int(atomic_load(&h.exiting), 1,
		       "synchronize returned after the reader's exit");
		is_int(gmem_space_reclaim(s, &pending), 0, "reclaim");
		is_int(pending, 0, "nothing pending after synchronize");
		pthread_join(th, NULL);
		is_int(h.err, 0, "reader thread ran cleanly");
		diag("synchronize waited %.1f ms", (t1 - t0) * 1e3);
		gmem_space_free(s);
	}
}

/* ------------------------------------------------------------------------ */
/* Many readers: the grace registry grows and shrinks                       */
/* ------------------------------------------------------------------------ */

/*
 * An atomic space registers each reader's slot (in the reader) in an
 * array that doubles as readers appear (8, 16, 32, 64, 128) and loses an
 * entry, swapped with the last, as a reader goes.  NREADERS readers come
 * in three groups of CHUNK: group 2 registered after the array outgrew 32
 * entries, group 3 after it outgrew 64.  The checks below hold a section
 * open only on a reader of a later group, so a writer that scanned only
 * the first entries, or an array from before it grew, would free a map a
 * reader still uses, or wait for itself forever (the SIGALRM watchdog
 * turns that into a failure).
 */
#define CHUNK 32
#define NREADERS (2 * CHUNK + 6)
#define IN_CHUNK2 (CHUNK + 8)	  /* a reader of group 2 */
#define IN_CHUNK3 (2 * CHUNK + 2) /* a reader of group 3 */

/* White-box views of the grace registry. */
static const void *slot_of(const gmem_reader *r)
{
	return &r->hot.w;
}

static size_t nslots_of(gmem_space *s)
{
	return s->atomic->grace.nslots;
}

static uint64_t seq_of(const gmem_reader *r)
{
	return __atomic_load_n(&r->hot.w.seq, __ATOMIC_ACQUIRE);
}

/* A thread that enters a section on a reader it is given. */
struct rholder {
	struct holder h; /* inside, release, exiting, seen, err */
	gmem_reader *r;
};

static void *rholder_main(void *arg)
{
	struct rholder *rh = arg;
	struct holder *h = &rh->h;

	h->err = gmem_reader_enter(rh->r, &h->seen);
	atomic_store(&h->inside, 1);
	if (h->err == 0) {
		if (!wait_flag(&h->release, 1))
			h->err = -ETIMEDOUT;
		atomic_store(&h->exiting, 1);
		if (gmem_reader_exit(rh->r) != 0 && h->err == 0)
			h->err = -EINVAL;
	}
	atomic_store(&h->done, 1);
	return NULL;
}

/* Whether every reader of rs[0..n) can enter and exit and sees want. */
static bool all_see(gmem_reader **rs, size_t n, const gmem_map *want)
{
	for (size_t i = 0; i < n; i++) {
		const gmem_map *m = NULL;

		if (gmem_reader_enter(rs[i], &m) != 0)
			return false;
		if (m != want || !reads_pattern(m, GPA_A, 0xa0)) {
			diag("  reader %zu saw %p, expected %p", i,
			     (const void *)m, (const void *)want);
			(void)gmem_reader_exit(rs[i]);
			return false;
		}
		if (gmem_reader_exit(rs[i]) != 0)
			return false;
	}
	return true;
}

static size_t pending_of(gmem_space *s)
{
	size_t p = 999;

	if (gmem_space_reclaim(s, &p) != 0)
		return 998;
	return p;
}

static void test_many_readers(void)
{
	gmem_reader *rs[NREADERS];
	const void *slots[NREADERS];
	gmem_space *s = NULL;
	const gmem_map *m = NULL, *m2 = NULL;
	size_t i, j, nfreed = 0;
	bool all;

	diag("%d readers: three groups of %d grace slots", NREADERS, CHUNK);
	alarm(30); /* a writer waiting for itself must not hang the run */
	if (gmem_space_new_atomic(&s, map1, 0) != 0)
		tap_bail("gmem_space_new_atomic");
	all = true;
	for (i = 0; i < NREADERS; i++) {
		rs[i] = NULL;
		if (gmem_reader_new(&rs[i], s) != 0 || !rs[i])
			tap_bail("gmem_reader_new %zu", i);
		slots[i] = slot_of(rs[i]);
		for (j = 0; j < i; j++)
			if (slots[j] == slots[i])
				all = false;
	}
	ok(all, "%d readers, %d distinct slots", NREADERS, NREADERS);
	is_int(nslots_of(s), NREADERS, "every slot registered");
	ok(all_see(rs, NREADERS, map1), "every reader enters and sees map1");

	/* A reader in the second group, alone inside. */
	is_int(gmem_reader_enter(rs[IN_CHUNK2], &m), 0,
	       "reader %d (group 2) enters", IN_CHUNK2);
	tu_is_ptr(m, map1, "reader %d sees map1", IN_CHUNK2);
	is_int(map_refs(map1), 2, "map1: the fixture's and the space's refs");
	is_int(gmem_space_replace(s, map2, GMEM_PUBLISH_DEFER), 0,
	       "DEFER replace by map2 while reader %d is inside", IN_CHUNK2);
	is_int(pending_of(s), 1, "reclaim: map1 pending for reader %d",
	       IN_CHUNK2);
	is_int(map_refs(map1), 2, "map1 still referenced (retired list)");
	ok(reads_pattern(m, GPA_A, 0xa0), "reader %d's snapshot intact",
	   IN_CHUNK2);
	ok(all_see(rs, IN_CHUNK2, map2) &&
		   all_see(rs + IN_CHUNK2 + 1, NREADERS - IN_CHUNK2 - 1, map2),
	   "every other reader sees map2");
	is_int(pending_of(s), 1, "map1 still pending after their sections");
	is_int(gmem_space_replace(s, map1, GMEM_PUBLISH_WAIT), -EDEADLK,
	       "WAIT while our group-2 reader is inside -> -EDEADLK");
	is_int(gmem_space_synchronize(s), -EDEADLK,
	       "synchronize while our group-2 reader is inside -> -EDEADLK");
	tu_is_ptr(cur_of(s), map2, "-EDEADLK published nothing");
	is_int(gmem_reader_free(rs[IN_CHUNK2]), -EBUSY,
	       "free reader %d inside its section -> -EBUSY", IN_CHUNK2);
	is_int(gmem_reader_exit(rs[IN_CHUNK2]), 0, "reader %d exits",
	       IN_CHUNK2);
	is_int(pending_of(s), 0, "reclaim after the exit: nothing pending");
	is_int(map_refs(map1), 1, "map1's retired reference dropped");

	/* A reader in the third group; two retired maps. */
	is_int(gmem_reader_enter(rs[IN_CHUNK3], &m), 0,
	       "reader %d (group 3) enters", IN_CHUNK3);
	tu_is_ptr(m, map2, "reader %d sees map2", IN_CHUNK3);
	is_int(gmem_space_replace(s, map1, GMEM_PUBLISH_DEFER), 0,
	       "DEFER replace by map1");
	is_int(gmem_reader_enter(rs[IN_CHUNK2], &m2), 0,
	       "reader %d enters, sees map1", IN_CHUNK2);
	tu_is_ptr(m2, map1, "reader %d's snapshot is map1", IN_CHUNK2);
	is_int(gmem_space_replace(s, map2, GMEM_PUBLISH_DEFER), 0,
	       "DEFER replace by map2");
	is_int(pending_of(s), 2, "two retired maps pending");
	is_int(map_refs(map2), 3, "map2: fixture, current and retired refs");
	is_int(map_refs(map1), 2, "map1: fixture and retired refs");
	is_int(gmem_reader_exit(rs[IN_CHUNK3]), 0, "reader %d exits",
	       IN_CHUNK3);
	is_int(pending_of(s), 1, "the map only reader %d saw is dropped",
	       IN_CHUNK3);
	is_int(map_refs(map2), 2, "map2's retired reference dropped");
	is_int(map_refs(map1), 2, "map1 still retired, for reader %d",
	       IN_CHUNK2);
	ok(reads_pattern(m2, GPA_A, 0xa0), "reader %d's snapshot intact",
	   IN_CHUNK2);
	is_int(gmem_reader_exit(rs[IN_CHUNK2]), 0, "reader %d exits",
	       IN_CHUNK2);
	is_int(pending_of(s), 0, "nothing pending");

	/* Every reader inside: the last one to leave frees the old map. */
	all = true;
	for (i = 0; i < NREADERS; i++)
		if (gmem_reader_enter(rs[i], &m) != 0 || m != map2)
			all = false;
	ok(all, "all %d readers inside at once, on map2", NREADERS);
	is_int(gmem_space_replace(s, map1, GMEM_PUBLISH_DEFER), 0,
	       "DEFER replace by map1 with all inside");
	/* Leave in a mixed order: group 1, group 3, group 2 but IN_CHUNK2. */
	all = true;
	for (i = 0; i < CHUNK; i++)
		all = all && gmem_reader_exit(rs[i]) == 0;
	for (i = 2 * CHUNK; i < NREADERS; i++)
		all = all && gmem_reader_exit(rs[i]) == 0;
	ok(all, "groups 1 and 3 exit");
	is_int(pending_of(s), 1, "map2 pending for group 2");
	all = true;
	for (i = 2 * CHUNK - 1; i >= CHUNK; i--)
		if (i != IN_CHUNK2)
			all = all && gmem_reader_exit(rs[i]) == 0;
	ok(all, "group 2 exits, all but reader %d", IN_CHUNK2);
	is_int(pending_of(s), 1, "map2 pending for reader %d alone", IN_CHUNK2);
	is_int(gmem_reader_exit(rs[IN_CHUNK2]), 0, "reader %d exits",
	       IN_CHUNK2);
	is_int(pending_of(s), 0, "map2 dropped");
	tu_is_ptr(cur_of(s), map1, "map1 is current");

	/* A WAIT writer thread waits for a section in the second group. */
	{
		struct rholder rh;
		struct wwriter w;
		pthread_t th, tw;
		bool published = false;
		double end;

		holder_init(&rh.h, s);
		rh.r = rs[IN_CHUNK2];
		memset(&w, 0, sizeof(w));
		w.s = s;
		w.next = map2;
		w.h = &rh.h;
		atomic_init(&w.in_cb, 0);
		atomic_init(&w.done, 0);
		if (pthread_create(&th, NULL, rholder_main, &rh) != 0)
			tap_bail("pthread_create");
		ok(wait_flag(&rh.h.inside, 1) && rh.h.err == 0,
		   "thread inside a section on reader %d", IN_CHUNK2);
		if (pthread_create(&tw, NULL, wwriter_main, &w) != 0)
			tap_bail("pthread_create");
		end = now_s() + TIMEOUT_S;
		while (!published && now_s() < end) {
			published = cur_of(s) == map2;
			if (!published)
				sched_yield();
		}
		ok(published, "the WAIT writer published map2");
		sleep_ms(20);
		is_int(atomic_load(&w.done), 0,
		       "the WAIT writer still waits for reader %d", IN_CHUNK2);
		is_int(pending_of(s), 0, "reclaim meanwhile: nothing pending");
		atomic_store(&rh.h.release, 1);
		pthread_join(tw, NULL);
		pthread_join(th, NULL);
		is_int(w.ret, 0, "the WAIT writer succeeded");
		is_int(w.holder_exited_first, 1,
		       "it returned after reader %d's exit", IN_CHUNK2);
		is_int(rh.h.err, 0, "the reader thread ran cleanly");
		tu_is_ptr(rh.h.seen, map1, "the reader thread saw map1");
		is_int(map_refs(map1), 1, "map1 dropped by the WAIT writer");
	}

	/* Free the odd readers, highest first, while the last even reader
	 * is inside: freeing reader NREADERS - 3 moves its entry into that
	 * slot's place, and it must still hold its map back. */
	is_int(gmem_reader_enter(rs[NREADERS - 2], &m), 0,
	       "reader %d (registered last but one) enters", NREADERS - 2);
	all = true;
	for (i = NREADERS; i-- > 0;)
		if (i & 1) {
			nfreed++;
			all = all && gmem_reader_free(rs[i]) == 0;
			rs[i] = NULL;
		}
	ok(all, "%zu odd readers freed", nfreed);
	is_int(nslots_of(s), NREADERS - nfreed, "their slots unregistered");
	tu_is_ptr(m, map2, "  on map2");
	is_int(gmem_space_replace(s, map1, GMEM_PUBLISH_DEFER), 0,
	       "DEFER replace by map1");
	is_int(pending_of(s), 1, "map2 pending for the moved entry's reader");
	is_int(gmem_space_synchronize(s), -EDEADLK,
	       "synchronize sees the moved entry is ours -> -EDEADLK");
	is_int(gmem_reader_exit(rs[NREADERS - 2]), 0, "it exits");
	is_int(pending_of(s), 0, "map2's retired reference dropped");
	is_int(gmem_space_replace(s, map2, GMEM_PUBLISH_DEFER), 0,
	       "DEFER replace by map2 again");
	is_int(pending_of(s), 0, "nobody inside: map1 dropped at once");
	all = true;
	for (i = 1; i < NREADERS; i += 2) {
		if (gmem_reader_new(&rs[i], s) != 0)
			tap_bail("gmem_reader_new");
		slots[i] = slot_of(rs[i]);
		/* A new reader starts outside a section. */
		all = all && (seq_of(rs[i]) & 1) == 0;
		for (j = 0; j < NREADERS; j++)
			if (j != i && rs[j] && slot_of(rs[j]) == slots[i])
				all = false;
	}
	ok(all, "new readers start outside, on slots of their own");
	is_int(nslots_of(s), NREADERS, "every slot registered again");
	ok(all_see(rs, NREADERS, map2), "old and new readers see map2");
	is_int(gmem_reader_enter(rs[IN_CHUNK2 + 1], &m), 0,
	       "new reader %d (registered last) enters", IN_CHUNK2 + 1);
	is_int(gmem_space_replace(s, map1, GMEM_PUBLISH_DEFER), 0,
	       "DEFER replace by map1");
	is_int(pending_of(s), 1, "map2 pending for the new reader");
	is_int(gmem_reader_exit(rs[IN_CHUNK2 + 1]), 0, "it exits");
	is_int(pending_of(s), 0, "map2 dropped");

	/* A group freed entirely, then made again. */
	all = true;
	for (i = CHUNK; i < 2 * CHUNK; i++) {
		all = all && gmem_reader_free(rs[i]) == 0;
		rs[i] = NULL;
	}
	ok(all, "every reader of group 2 freed");
	is_int(nslots_of(s), NREADERS - CHUNK, "their slots unregistered");
	all = true;
	for (i = CHUNK; i < 2 * CHUNK; i++)
		all = all && gmem_reader_new(&rs[i], s) == 0;
	ok(all && all_see(rs, NREADERS, map1),
	   "group 2 made again, every reader sees map1");
	is_int(nslots_of(s), NREADERS, "every slot registered");
	alarm(0);

	/* The space lives until its last reader goes; free in a mixed
	 * order: the creator's reference, group 2, group 3, group 1. */
	is_int(map_refs(map1), 2, "map1: the fixture's and the space's refs");
	gmem_space_free(s);
	all = true;
	for (i = CHUNK; i < 2 * CHUNK; i++)
		all = all && gmem_reader_free(rs[i]) == 0;
	for (i = NREADERS; i-- > 2 * CHUNK;)
		all = all && gmem_reader_free(rs[i]) == 0;
	ok(all && all_see(rs, CHUNK, map1),
	   "groups 2 and 3 freed, group 1 still works");
	is_int(map_refs(map1), 2, "the space still holds map1");
	for (i = 0; i < CHUNK; i++)
		all = all && gmem_reader_free(rs[i]) == 0;
	ok(all, "group 1 freed");
	is_int(map_refs(map1), 1, "the last reader destroyed the space");
}

/* ------------------------------------------------------------------------ */
/* Cross-thread: a section's own calls while a WAIT writer waits for it      */
/* ------------------------------------------------------------------------ */

/*
 * Thread T is inside a section; writer thread W has published with
 * GMEM_PUBLISH_WAIT and waits for T's section to end.  T, still inside, now
 * calls a function the header allows from a section and says returns
 * without waiting: a DEFER publication ("retire the old map and return at
 * once"; -EDEADLK is documented for WAIT only) or gmem_space_current().
 * If the call waited for W, T and W would wait for each other forever.
 *
 * Each case runs in a forked child (so a hang can be killed) under a
 * CROSS_TIMEOUT_MS deadline; both children run at the same time.
 */
#define CROSS_TIMEOUT_MS 1000

enum xop { XOP_DEFER_REPLACE, XOP_CURRENT, XOP_COUNT };
static const char *const xop_name[XOP_COUNT] = {
	"gmem_space_replace(DEFER)", "gmem_space_current()"
};

struct xwriter {
	gmem_space *s;
	int ret;
};

static void *xwriter_main(void *arg)
{
	struct xwriter *w = arg;

	w->ret = gmem_space_replace(w->s, map2, GMEM_PUBLISH_WAIT);
	return NULL;
}

static void write_all(int fd, const void *p, size_t n)
{
	while (n) {
		ssize_t k = write(fd, p, n);

		if (k <= 0)
			_exit(3);
		p = (const char *)p + k;
		n -= (size_t)k;
	}
}

/* In the child: results go to fd as two ints (op's result, W's result). */
static void cross_child(enum xop op, int fd)
{
	gmem_space *s = NULL;
	gmem_reader *r = NULL, *probe = NULL;
	const gmem_map *m = NULL, *pm = NULL;
	struct xwriter w;
	pthread_t tw;
	gmem_map *cm = NULL;
	bool published = false;
	double end;
	int res[2];

	if (gmem_space_new_atomic(&s, map1, 0) != 0 ||
	    gmem_reader_new(&r, s) != 0 || gmem_reader_new(&probe, s) != 0 ||
	    gmem_reader_enter(r, &m) != 0)
		_exit(2);
	w.s = s;
	w.ret = 1;
	if (pthread_create(&tw, NULL, xwriter_main, &w) != 0)
		_exit(2);
	/* Wait until W has published map2: it now waits for our section. */
	end = now_s() + TIMEOUT_S;
	while (!published && now_s() < end) {
		if (gmem_reader_enter(probe, &pm) != 0)
			_exit(2);
		published = pm == map2;
		(void)gmem_reader_exit(probe);
		if (!published)
			sched_yield();
	}
	if (!published)
		_exit(2);
	if (op == XOP_DEFER_REPLACE) {
		res[0] = gmem_space_replace(s, map1, GMEM_PUBLISH_DEFER);
	} else {
		res[0] = gmem_space_current(s, &cm);
		if (res[0] == 0 && cm != map2)
			res[0] = 1000; /* not the published map */
		gmem_map_free(cm);
	}
	write_all(fd, &res[0], sizeof(res[0]));
	(void)gmem_reader_exit(r);
	pthread_join(tw, NULL);
	res[1] = w.ret;
	write_all(fd, &res[1], sizeof(res[1]));
	_exit(0);
}

static void test_cross_thread(void)
{
	pid_t pid[XOP_COUNT];
	int fds[XOP_COUNT][2], res[XOP_COUNT][2], got[XOP_COUNT];
	double end;
	int i, status;

	diag("cross-thread: calls from a section a WAIT writer waits for");
	fflush(stdout);
	fflush(stderr);
	for (i = 0; i < XOP_COUNT; i++) {
		got[i] = 0;
		res[i][0] = res[i][1] = -1;
		if (pipe(fds[i]) != 0)
			tap_bail("pipe");
		pid[i] = fork();
		if (pid[i] < 0)
			tap_bail("fork");
		if (pid[i] == 0) {
			close(fds[i][0]);
			cross_child((enum xop)i, fds[i][1]);
		}
		close(fds[i][1]);
	}
	/* Collect up to two ints per child until the shared deadline. */
	end = now_s() + CROSS_TIMEOUT_MS / 1e3;
	for (;;) {
		struct pollfd pfd[XOP_COUNT];
		int n = 0, left = (int)((end - now_s()) * 1e3);

		for (i = 0; i < XOP_COUNT; i++) {
			pfd[i].fd = got[i] < 2 ? fds[i][0] : -1;
			pfd[i].events = POLLIN;
			pfd[i].revents = 0;
			n += got[i] < 2;
		}
		if (n == 0 || left <= 0)
			break;
		if (poll(pfd, XOP_COUNT, left) < 0 && errno != EINTR)
			break;
		for (i = 0; i < XOP_COUNT; i++) {
			if (!(pfd[i].revents & (POLLIN | POLLHUP)))
				continue;
			if (read(fds[i][0], &res[i][got[i]], sizeof(int)) !=
			    (ssize_t)sizeof(int)) {
				got[i] = 2 + (got[i] == 0); /* EOF: give up */
				continue;
			}
			got[i]++;
		}
	}
	for (i = 0; i < XOP_COUNT; i++) {
		bool returned = got[i] >= 1 && got[i] <= 2;

		if (got[i] < 2)
			kill(pid[i], SIGKILL);
		while (waitpid(pid[i], &status, 0) < 0 && errno == EINTR)
			;
		close(fds[i][0]);
		if (!ok(returned,
			"cross-thread: %s from inside a section returns while "
			"another thread's WAIT publication waits for that "
			"section (no deadlock)",
			xop_name[i])) {
			diag("  no result within %d ms: the call waits for the "
			     "WAIT writer, which waits for the caller's section",
			     CROSS_TIMEOUT_MS);
			skip("cross-thread: %s result (it hung)", xop_name[i]);
			skip("cross-thread: WAIT writer result (%s hung)",
			     xop_name[i]);
			continue;
		}
		is_int(res[i][0], 0, "cross-thread: %s returns 0", xop_name[i]);
		is_int(got[i] == 2 ? res[i][1] : -1, 0,
		       "cross-thread: the WAIT writer then completes (after %s)",
		       xop_name[i]);
	}
}

/* ------------------------------------------------------------------------ */
/* gmem_space_current                                                        */
/* ------------------------------------------------------------------------ */

static void test_current(void)
{
	enum kind k;

	diag("gmem_space_current");
	for (k = 0; k < K_COUNT; k++) {
		gmem_space *s = new_space(k, map1);
		gmem_map *cm = SENTINEL_MAP;
		size_t refs;

		is_int(gmem_space_current(NULL, &cm), -EINVAL,
		       "%s: NULL space", kind_name[k]);
		is_int(gmem_space_current(s, NULL), -EINVAL, "%s: NULL out",
		       kind_name[k]);
		tu_is_ptr(cm, SENTINEL_MAP, "%s: out untouched", kind_name[k]);
		refs = map_refs(map1);
		is_int(gmem_space_current(s, &cm), 0, "%s: current",
		       kind_name[k]);
		tu_is_ptr(cm, map1, "%s: the space's map", kind_name[k]);
		is_int(map_refs(map1), refs + 1,
		       "%s: returned with a new reference", kind_name[k]);
		gmem_map_free(cm);
		is_int(map_refs(map1), refs, "%s: freed by the caller",
		       kind_name[k]);
		if (k == K_ATOMIC) {
			is_int(gmem_space_replace(s, map2, GMEM_PUBLISH_WAIT),
			       0, "atomic: replace");
			is_int(gmem_space_current(s, &cm), 0,
			       "atomic: current");
			tu_is_ptr(cm, map2, "atomic: the new map");
			gmem_map_free(cm);
		}
		gmem_space_free(s);
	}
}

/* ------------------------------------------------------------------------ */
/* The VirtioDevice example                                                  */
/* ------------------------------------------------------------------------ */

/*
 * A device written once against gmem_space.  The "queue" at queue_gpa holds
 * one little-endian descriptor { u64 addr; u32 len; u32 used; }: process()
 * sums the bytes of the buffer it points to and writes the sum's low 32
 * bits into "used".  It neither knows nor cares what kind of space it got.
 */
struct virtio_device {
	gmem_space *mem;
	gmem_reader *reader;
	uint64_t queue_gpa;
};

static int vdev_activate(struct virtio_device *d, gmem_space *mem,
			 uint64_t queue_gpa)
{
	int err = gmem_reader_new(&d->reader, mem);

	if (err)
		return err;
	d->mem = gmem_space_ref(mem);
	d->queue_gpa = queue_gpa;
	return 0;
}

static void vdev_reset(struct virtio_device *d)
{
	(void)gmem_reader_free(d->reader);
	gmem_space_free(d->mem);
	d->reader = NULL;
	d->mem = NULL;
}

static int vdev_process(struct virtio_device *d, uint32_t *sum_out)
{
	const gmem_map *m;
	uint64_t addr;
	uint32_t len, sum = 0, i;
	uint8_t buf[256];
	int err = gmem_reader_enter(d->reader, &m);

	if (err)
		return err;
	/* Copy each guest field out once, then validate the copy. */
	err = gmem_read_le64(m, d->queue_gpa, &addr);
	if (!err)
		err = gmem_read_le32(m, d->queue_gpa + 8, &len);
	if (!err && len > sizeof(buf))
		err = -EINVAL;
	if (!err)
		err = gmem_read(m, addr, buf, len);
	if (!err) {
		for (i = 0; i < len; i++)
			sum += buf[i];
		err = gmem_write_le32(m, d->queue_gpa + 12, sum);
	}
	(void)gmem_reader_exit(d->reader);
	if (!err)
		*sum_out = sum;
	return err;
}

static void test_virtio_device(void)
{
	gmem_region *q = mk_region(0x1000, 0x1000, 0), *buf;
	gmem_region *both[2];
	gmem_map *m;
	uint32_t want = 0, got, used, i;
	enum kind k;

	diag("VirtioDevice: one device, four kinds of space");
	buf = mk_region(0x8000, 0x1000, 0x33);
	for (i = 0; i < 200; i++)
		want += pat(0x8000 + 0x10 + i, 0x33);
	both[0] = q;
	both[1] = buf;
	m = mk_map(both, 2, 0);
	if (gmem_write_le64(m, 0x1000, 0x8010) != 0 ||
	    gmem_write_le32(m, 0x1008, 200) != 0)
		tap_bail("descriptor");

	for (k = 0; k < K_COUNT; k++) {
		struct virtio_device dev;
		gmem_space *s = new_space(k, m);

		is_int(vdev_activate(&dev, s, 0x1000), 0, "%s: activate",
		       kind_name[k]);
		gmem_space_free(s); /* the device holds its own reference */
		if (gmem_write_le32(m, 0x100c, 0) != 0)
			tap_bail("clear used");
		got = 0;
		is_int(vdev_process(&dev, &got), 0, "%s: process",
		       kind_name[k]);
		is_int(got, want, "%s: the device read the buffer",
		       kind_name[k]);
		used = 0;
		ok(gmem_read_le32(m, 0x100c, &used) == 0 && used == want,
		   "%s: the device wrote the used field", kind_name[k]);
		vdev_reset(&dev);
		if (k == K_CUSTOM)
			ok(atomic_load(&kcs.destroys) == 1 &&
				   atomic_load(&kcs.enters) == 1,
			   "custom: one section, destroyed at reset");
	}

	/* Hot-plug on the atomic space: the descriptor points at memory that
	 * is not there yet; plug it in between two requests. */
	{
		struct virtio_device dev;
		gmem_map *qonly = mk_map(&q, 1, 0);
		gmem_space *s = NULL;
		size_t pending = 1;

		if (gmem_space_new_atomic(&s, qonly, 0) != 0)
			tap_bail("gmem_space_new_atomic");
		is_int(vdev_activate(&dev, s, 0x1000), 0, "atomic: activate");
		is_int(vdev_process(&dev, &got), -EFAULT,
		       "atomic: buffer not plugged in yet: -EFAULT");
		is_int(gmem_space_insert(s, buf, GMEM_PUBLISH_WAIT), 0,
		       "atomic: hot-plug the buffer region");
		got = 0;
		is_int(vdev_process(&dev, &got), 0,
		       "atomic: the same device code now succeeds");
		is_int(got, want, "atomic: and reads the buffer");
		is_int(gmem_space_remove(s, 0x8000, 0x1000, NULL,
					 GMEM_PUBLISH_DEFER),
		       0, "atomic: hot-unplug it (DEFER)");
		is_int(vdev_process(&dev, &got), -EFAULT,
		       "atomic: the next request sees it gone");
		is_int(gmem_space_reclaim(s, &pending), 0, "atomic: reclaim");
		is_int(pending, 0, "atomic: nothing pending");
		vdev_reset(&dev);
		gmem_space_free(s);
		gmem_map_free(qonly);
	}
	gmem_map_free(m);
	gmem_region_free(q);
	gmem_region_free(buf);
}

/* ------------------------------------------------------------------------ */
/* Maps built in recycled memory                                             */
/* ------------------------------------------------------------------------ */

/*
 * An atomic space builds gmem_space_insert()/remove()'s maps in the memory
 * of maps it dropped, writing only what differs.  A random walk over base
 * regions plus optional ones at the front, in a hole, at the end and two
 * distinct regions at one address (same keys, other contents) checks every
 * published snapshot against a shadow, and the region references after.
 */
/* DEFER-insert r (add) or DEFER-remove [gpa, gpa + len), reclaiming and
 * retrying while the retired list is full. */
static int toggle_defer(gmem_space *s, bool add, gmem_region *r, uint64_t gpa,
			uint64_t len)
{
	int err;

	do {
		err = add ? gmem_space_insert(s, r, GMEM_PUBLISH_DEFER)
			  : gmem_space_remove(s, gpa, len, NULL,
					      GMEM_PUBLISH_DEFER);
		if (err == -EBUSY && gmem_space_reclaim(s, NULL) != 0)
			break;
	} while (err == -EBUSY);
	return err;
}

#define RC_BASE 6
#define RC_OPT 5
#define RC_GPA(i) (UINT64_C(0x100000) + (uint64_t)(i) * 0x10000)

static void test_recycled(void)
{
	gmem_region *base[RC_BASE], *opt[RC_OPT];
	/* Optional regions' slots: below the base, in a hole, past it
	 * twice (the 2 MiB slot taken by opt[2] or opt[3]), and further. */
	const uint64_t opt_gpa[RC_OPT] = { RC_GPA(0) - 0x10000, RC_GPA(2) + 0x8000,
					   RC_GPA(RC_BASE + 1),
					   RC_GPA(RC_BASE + 1),
					   RC_GPA(RC_BASE + 3) };
	bool in[RC_OPT] = { false };
	uint64_t rng = 0x9e3779b97f4a7c15u;
	gmem_space *s = NULL;
	gmem_map *m0;
	gmem_reader *r;
	const gmem_map *m;
	unsigned i, j, pubs = 0, bad = 0;

	diag("maps built in recycled memory");
	for (i = 0; i < RC_BASE; i++)
		base[i] = mk_region(RC_GPA(i), PAGE, (uint8_t)i);
	for (i = 0; i < RC_OPT; i++)
		opt[i] = mk_region(opt_gpa[i], PAGE, (uint8_t)(0x40 + i));
	m0 = mk_map(base, RC_BASE, 16);
	if (gmem_space_new_atomic(&s, m0, 4) != 0)
		tap_bail("gmem_space_new_atomic");
	gmem_map_free(m0);
	r = new_reader(s);
	for (i = 0; i < 400; i++) {
		unsigned k, n = RC_BASE;
		int err;

		rng = rng * 6364136223846793005u + 1442695040888963407u;
		k = (unsigned)(rng >> 33) % RC_OPT;
		/* opt[2] and opt[3] share an address: one at a time. */
		if (!in[k] && ((k == 2 && in[3]) || (k == 3 && in[2])))
			k = 5 - k;
		if (!in[k] && ((k == 2 && in[3]) || (k == 3 && in[2])))
			continue;
		err = toggle_defer(s, !in[k], opt[k], opt_gpa[k], PAGE);
		if (err) {
			bad++;
			continue;
		}
		in[k] = !in[k];
		pubs++;
		if (gmem_reader_enter(r, &m) != 0) {
			bad++;
			continue;
		}
		for (j = 0; j < RC_BASE; j++)
			bad += !reads_pattern(m, RC_GPA(j), (uint8_t)j) ||
			       !reads_pattern(m, RC_GPA(j) + PAGE - 1,
					      (uint8_t)j);
		for (j = 0; j < RC_OPT; j++) {
			uint8_t b;

			if (in[j]) {
				n++;
				bad += !reads_pattern(m, opt_gpa[j],
						      (uint8_t)(0x40 + j)) ||
				       !reads_pattern(m, opt_gpa[j] + PAGE - 1,
						      (uint8_t)(0x40 + j));
			} else if (!(j == 2 && in[3]) && !(j == 3 && in[2])) {
				bad += gmem_read_u8(m, opt_gpa[j], &b) !=
				       -EFAULT;
			}
		}
		bad += gmem_map_count(m) != n;
		bad += gmem_reader_exit(r) != 0;
	}
	ok(pubs > 300, "%u publications", pubs);
	is_int((int)bad, 0, "every snapshot matches the shadow");
	for (i = 0; i < RC_OPT; i++)
		if (in[i] && gmem_space_remove(s, opt_gpa[i], PAGE, NULL,
					       GMEM_PUBLISH_WAIT) != 0)
			bad++;
	is_int(gmem_space_synchronize(s), 0, "synchronize");
	for (i = 0; i < RC_OPT; i++)
		bad += atomic_load(&opt[i]->refs) != 1;
	for (i = 0; i < RC_BASE; i++)
		bad += atomic_load(&base[i]->refs) != 2;
	is_int((int)bad, 0,
	       "region references: ours, and the current map's (base)");
	gmem_reader_free(r);
	gmem_space_free(s);
	for (i = 0; i < RC_BASE; i++) {
		bad += atomic_load(&base[i]->refs) != 1;
		gmem_region_free(base[i]);
	}
	for (i = 0; i < RC_OPT; i++)
		gmem_region_free(opt[i]);
	is_int((int)bad, 0, "and ours alone once the space is gone");
}

/*
 * Two-region maps in recycled memory: the space holds {A} and the writer
 * adds and removes B (above A) or Z (below A) in turn, so a spare that held
 * {A, B} is rebuilt as {Z, A} and back, with the same count and another
 * second key (the lookup reads it from the map's first cache line).  Every
 * snapshot must find each region at its first and last byte, and nothing
 * in the holes around them.
 */
static void test_recycled_two(void)
{
	const uint64_t gpa_z = GPA_A - 0x8000, len_z = 0x1000;
	gmem_region *z = mk_region(gpa_z, len_z, 0x5a);
	gmem_space *s = NULL;
	gmem_reader *r;
	const gmem_map *m;
	const void *two_at[64] = { NULL }; /* two-region snapshots' memory */
	bool two_upper[64] = { false };
	unsigned i, j, bad = 0, twos = 0, crossed = 0;

	diag("two-region maps rebuilt in recycled memory");
	if (gmem_space_new_atomic(&s, map1, 2) != 0)
		tap_bail("gmem_space_new_atomic");
	r = new_reader(s);
	for (i = 0; i < 64; i++) {
		bool upper = (i / 2) % 2 == 0, add = i % 2 == 0;
		uint64_t gpa = upper ? GPA_B : gpa_z;
		uint64_t len = upper ? LEN_B : len_z;
		uint8_t seed = upper ? 0xb0 : 0x5a, v = 0;
		int err;

		err = toggle_defer(s, add, upper ? reg_b : z, gpa, len);
		if (err || gmem_reader_enter(r, &m) != 0) {
			bad++;
			continue;
		}
		if (gmem_map_count(m) == 2) {
			const struct gmem__map_hot *h =
				&((const struct gmem_map *)m)->hot;

			bad += h->key1 != h->starts[1];
			/* The same memory held the other layout before. */
			for (j = 0; j < twos; j++)
				if (two_at[j] == (const void *)m &&
				    two_upper[j] != upper) {
					crossed++;
					break;
				}
			two_at[twos] = m;
			two_upper[twos++] = upper;
		}
		bad += !reads_pattern(m, GPA_A, 0xa0) ||
		       !reads_pattern(m, GPA_A + LEN_A - 1, 0xa0);
		bad += add != (reads_pattern(m, gpa, seed) &&
			       reads_pattern(m, gpa + len - 1, seed));
		bad += gmem_read_u8(m, GPA_A + LEN_A, &v) != -EFAULT ||
		       gmem_read_u8(m, GPA_A - 1, &v) != -EFAULT ||
		       gmem_read_u8(m, gpa + len, &v) != -EFAULT ||
		       gmem_read_u8(m, gpa_z - 1, &v) != -EFAULT;
		bad += gmem_reader_exit(r) != 0;
	}
	is_int((int)twos, 32, "32 snapshots of two regions");
	ok(crossed > 0, "%u of them in memory that held the other layout",
	   crossed);
	is_int((int)bad, 0, "each finds both regions, and nothing in holes");
	gmem_reader_free(r);
	gmem_space_free(s);
	gmem_region_free(z);
}

int main(void)
{
	double t0 = now_s();

	fixture_init();
	test_constructors();
	test_ref_free();
	test_readers();
	test_snapshot_fixed();
	test_snapshot_shared();
	test_snapshot_custom();
	test_snapshot_atomic();
	test_updates();
	test_edeadlk();
	test_retired();
	test_recycled();
	test_recycled_two();
	test_many_readers();
	test_cross_thread();
	test_current();
	test_virtio_device();
	fixture_fini();
	diag("elapsed %.3f s", now_s() - t0);
	return tap_done();
}
