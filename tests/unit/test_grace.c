/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * test_grace.c - grace periods of atomic spaces, white-box (src/grace.c).
 *
 * The space sources (grace.c, space.c, space_atomic.c) and map.c (whose
 * hidden recycling hooks space_atomic.c calls) are compiled into this
 * program, as the library compiles them, so the test can reach hidden
 * internals: the fence mode, the test hook that switches a new space to
 * the fallback protocol, slot words, the retired ring and its coverage.
 * Everything else (regions) comes from libgmem as usual; the space and map
 * functions used here are this program's copies.
 *
 *   modes        membarrier(2) (asymmetric) mode where the kernel has it
 *                and this is no ThreadSanitizer build; the forced fallback;
 *                readers copy the mode; enter/exit work in both.
 *   fast path    gmem__reader_enter_fast()/exit_fast() on a bare
 *                struct gmem__reader_hot (as the public header will use
 *                them): slot words, epochs, the "slow" cases.
 *   nesting      inner sections move the reader's words to its library
 *                word and back; depth, ref, free and -EOVERFLOW there.
 *   owner        the section owner is the thread pointer (pthread_self() on
 *                x86-64), per thread, follows a reader moved to another
 *                thread; -EDEADLK for WAIT and synchronize from inside.
 *   deferred     DEFER publications take no barrier; one reclaim covers
 *                several retired maps at once (fallback: each publication
 *                decides at once).
 *   exact        a section keeps exactly the maps retired while it is
 *                open, never those retired before it began or after it
 *                ended; several readers; ring growth and wrap-around.
 *   waiters      a WAIT writer and synchronize wait for the sections begun
 *                before their publication, not for later ones.
 *   spares       dropped maps' memory stays in the ring after the retired
 *                maps (never more than max_retired in all) and insert and
 *                remove build in it; a map someone else still holds is not
 *                recycled; spares hold no region reference.
 * Every case runs in both modes (the asymmetric one is skipped where the
 * build or kernel cannot use it).  Threads are sequenced with flags.
 */
#define _GNU_SOURCE
#define GMEM_BUILDING_LIBRARY 1 /* compile the sources below as libgmem */
#include "grace.c"
#include "map.c"
#include "space.c"
#include "space_atomic.c"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "tap.h"
#include "testutil.h"

#define GPA_A UINT64_C(0x10000)
#define GPA_B UINT64_C(0x20000)
#define LEN UINT64_C(0x1000)
#define TIMEOUT_S 10.0
#define NMAPS 6

static gmem_map *maps[NMAPS]; /* distinct maps to publish */
static gmem_region *reg_a, *reg_b;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

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

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { 0, (long)ms * 1000000L };

	nanosleep(&ts, NULL);
}

static size_t refs_of(const gmem_map *m)
{
	return atomic_load(&((const struct gmem_map *)m)->refs);
}

static gmem_region *mk_region(uint64_t gpa)
{
	gmem_region *r;

	if (gmem_region_new_anon(&r, gpa, LEN, 0) != 0)
		tap_bail("gmem_region_new_anon");
	return r;
}

static void fixture_setup(void)
{
	reg_a = mk_region(GPA_A);
	reg_b = mk_region(GPA_B);
	for (int i = 0; i < NMAPS; i++) {
		gmem_region *rs[2] = { reg_a, reg_b };

		/* Maps of one or two regions: all distinct objects. */
		if (gmem_map_new(&maps[i], rs, (size_t)(1 + i % 2), 0) != 0)
			tap_bail("gmem_map_new");
	}
}

static void fixture_teardown(void)
{
	for (int i = 0; i < NMAPS; i++)
		gmem_map_free(maps[i]);
	gmem_region_free(reg_a);
	gmem_region_free(reg_b);
}

/* Whether this build and kernel give the asymmetric protocol. */
static bool asym_expected(void)
{
#ifdef GMEM_TSAN
	return false;
#else
	long q = gmem__sys_membarrier(MEMBARRIER_CMD_QUERY);

	return q > 0 && (q & MEMBARRIER_CMD_PRIVATE_EXPEDITED);
#endif
}

static gmem_space *new_space(bool fallback, gmem_map *m, size_t max_retired)
{
	gmem_space *s;

	if (gmem_space_new_atomic(&s, m, max_retired) != 0)
		tap_bail("gmem_space_new_atomic");
	if (fallback && gmem__grace_use_fallback(&s->atomic->grace) != 0)
		tap_bail("gmem__grace_use_fallback");
	return s;
}

static gmem_reader *new_reader(gmem_space *s)
{
	gmem_reader *r;

	if (gmem_reader_new(&r, s) != 0)
		tap_bail("gmem_reader_new");
	return r;
}

static const char *mode_name(bool fallback)
{
	return fallback ? "fallback" : "asym";
}

static size_t pending_of(gmem_space *s)
{
	size_t p = 999;

	if (gmem_space_reclaim(s, &p) != 0)
		return 998;
	return p;
}

/* r's seq as it is, and as a scan reads it (GMEM__SEQ_LIB masked off). */
static uint64_t raw_word(const gmem_reader *r)
{
	return __atomic_load_n(&r->hot.w.seq, __ATOMIC_ACQUIRE);
}

static uint64_t slot_word(const gmem_reader *r)
{
	return raw_word(r) & ~GMEM__SEQ_LIB;
}

/* Whether the library must see r's enters and exits. */
static int lib_bit(const gmem_reader *r)
{
	return (raw_word(r) & GMEM__SEQ_LIB) != 0;
}

/* ------------------------------------------------------------------------ */
/* Modes                                                                     */
/* ------------------------------------------------------------------------ */

static void test_modes(void)
{
	bool want = asym_expected();
	gmem_space *s, *f, *fx;
	gmem_reader *r, *rf, *rx;
	const gmem_map *m = NULL;

	diag("fence modes (asymmetric expected: %s)", want ? "yes" : "no");
	s = new_space(false, maps[0], 0);
	f = new_space(true, maps[0], 0);
	is_int(s->atomic->grace.asym, want, "default space: mode as expected");
	is_int(f->atomic->grace.asym, 0, "forced fallback: seq_cst protocol");
	r = new_reader(s);
	is_int(gmem__grace_use_fallback(&s->atomic->grace), -EBUSY,
	       "no switch once a reader exists");
	is_int(s->atomic->grace.asym, want, "  and the mode stays");
	rf = new_reader(f);
	is_int(lib_bit(r), !want,
	       "reader copies the space's mode (GMEM__SEQ_LIB %s)",
	       want ? "clear" : "set");
	is_u64(raw_word(rf), GMEM__SEQ_LIB,
	       "fallback reader: seq is GMEM__SEQ_LIB, no fast path");
	is_int(s->atomic->grace.nslots, 1, "one slot registered per space");
	tu_is_ptr(r->hot.pub, &s->pub, "hot: the space's publication words");
	tu_is_ptr((void *)&r->hot, (void *)r, "hot fields lead the reader");
	ok(((uintptr_t)r & (GMEM_CACHE_LINE - 1)) == 0,
	   "the reader (and so its hot fields) is cache-line aligned");
	is_int(gmem__reader_enter_fast(&rf->hot, &m), GMEM__READER_SLOW,
	       "fallback: the fast path declines");
	is_u64(slot_word(rf), 0, "  and changes nothing");
	is_int(gmem_reader_enter(rf, &m), 0, "fallback: enter");
	tu_is_ptr(m, maps[0], "fallback: snapshot");
	is_u64(slot_word(rf), 1, "fallback: slot word 2*0+1 inside");
	is_int(lib_bit(rf), 1, "  GMEM__SEQ_LIB kept");
	is_int(gmem_reader_exit(rf), 0, "fallback: exit");
	is_u64(raw_word(rf), GMEM__SEQ_LIB | 2,
	       "fallback: slot word even after, GMEM__SEQ_LIB kept");
	is_int(gmem_reader_enter(r, &m), 0, "default: enter");
	tu_is_ptr(m, maps[0], "default: snapshot");
	is_int(gmem_reader_exit(r), 0, "default: exit");
	is_int(gmem_reader_free(r), 0, "free reader");
	is_int(s->atomic->grace.nslots, 0, "  its slot unregistered");
	is_int(gmem__grace_use_fallback(&s->atomic->grace), -EBUSY,
	       "no switch after the last reader is gone either");
	is_int(s->atomic->grace.asym, want, "  and the mode stays");
	is_int(gmem_reader_free(rf), 0, "free fallback reader");
	gmem_space_free(s);
	gmem_space_free(f);

	/* The other kinds never take the fast path. */
	if (gmem_space_new_fixed(&fx, maps[1]) != 0)
		tap_bail("gmem_space_new_fixed");
	rx = new_reader(fx);
	is_u64(raw_word(rx), GMEM__SEQ_LIB,
	       "fixed space: seq is GMEM__SEQ_LIB, no fast path");
	is_int(gmem__reader_enter_fast(&rx->hot, &m), GMEM__READER_SLOW,
	       "fixed space: the fast path declines");
	is_int(gmem_reader_enter(rx, &m), 0, "fixed space: enter");
	tu_is_ptr(m, maps[1], "fixed space: snapshot");
	is_int(gmem_reader_exit(rx), 0, "fixed space: exit");
	is_int(gmem_reader_free(rx), 0, "free fixed reader");
	gmem_space_free(fx);
}

/* ------------------------------------------------------------------------ */
/* The inline fast path on a bare struct gmem__reader_hot                    */
/* ------------------------------------------------------------------------ */

static void test_fast_path(void)
{
	struct gmem__pub p = { maps[2], 41 };
	struct gmem__reader_hot h = { .w = { 6, 0 }, .pub = &p };
	struct gmem__slot_words *w = &h.w;
	const gmem_map *m = NULL;

	diag("inline fast path on a bare struct gmem__reader_hot");
	is_int(gmem__reader_exit_fast(&h), GMEM__READER_SLOW,
	       "exit outside a section: slow (the general path says -EINVAL)");
	is_u64(w->seq, 6, "  and the slot is untouched");
	is_int(gmem__reader_enter_fast(&h, &m), 0, "enter: handled");
	tu_is_ptr(m, maps[2], "enter: *map is current");
	tu_is_ptr(h.map, maps[2], "enter: the section's map recorded");
	is_u64(w->seq, 2 * 41 + 1, "enter: slot word 2 * epoch + 1");
	is_u64(w->owner, gmem__thread_ptr(),
	       "enter: owner is the thread pointer");
	/* A publication meanwhile changes nothing for this section. */
	p.current = maps[3];
	p.epoch = 42;
	m = NULL;
	is_int(gmem__reader_enter_fast(&h, &m), GMEM__READER_SLOW,
	       "nested enter (odd slot word): slow");
	ok(m == NULL && w->seq == 2 * 41 + 1 && h.map == maps[2],
	   "  and changes nothing");
	w->seq |= GMEM__SEQ_LIB; /* what the library does for a nested section */
	is_int(gmem__reader_exit_fast(&h), GMEM__READER_SLOW,
	       "inner exit (GMEM__SEQ_LIB set): slow");
	is_u64(w->seq, GMEM__SEQ_LIB | (2 * 41 + 1), "  and seq is untouched");
	w->seq &= ~GMEM__SEQ_LIB;
	is_int(gmem__reader_exit_fast(&h), 0, "exit: handled");
	is_u64(w->seq, 2 * 41 + 2, "exit: slot word even, one past");
	is_int(gmem__reader_enter_fast(&h, &m), 0, "enter after a publication");
	tu_is_ptr(m, maps[3], "  sees the new map");
	is_u64(w->seq, 2 * 42 + 1, "  and the new epoch");
	is_int(gmem__reader_exit_fast(&h), 0, "exit");
	w->seq |= GMEM__SEQ_LIB; /* a reader the library handles */
	m = NULL;
	is_int(gmem__reader_enter_fast(&h, &m), GMEM__READER_SLOW,
	       "GMEM__SEQ_LIB set: enter slow");
	ok(m == NULL && w->seq == (GMEM__SEQ_LIB | (2 * 42 + 2)),
	   "  and nothing changed");
	is_int(gmem__reader_exit_fast(&h), GMEM__READER_SLOW,
	       "GMEM__SEQ_LIB set: exit slow too");
	is_u64(w->seq, GMEM__SEQ_LIB | (2 * 42 + 2), "  and nothing changed");
	w->seq = GMEM__SEQ_LIB | 1; /* inside, library: exit still slow */
	is_int(gmem__reader_exit_fast(&h), GMEM__READER_SLOW,
	       "GMEM__SEQ_LIB set, odd: exit slow");
	is_u64(w->seq, GMEM__SEQ_LIB | 1, "  and nothing changed");
}

/* ------------------------------------------------------------------------ */
/* Nested sections: where the reader's words point, depth, ref, free        */
/* ------------------------------------------------------------------------ */

static void test_nesting(bool fallback)
{
	const char *mn = mode_name(fallback);
	gmem_space *s = new_space(fallback, maps[0], 0);
	gmem_reader *r = new_reader(s);
	const gmem_map *m = NULL, *m2 = NULL;
	gmem_map *ref = NULL;
	uint64_t v;
	int i, bad = 0;

	diag("%s: nested sections", mn);
	is_int(lib_bit(r), fallback, "%s: outside, GMEM__SEQ_LIB %s", mn,
	       fallback ? "set" : "clear");
	is_int(gmem_reader_ref(r, &ref), -EINVAL, "%s: ref outside: -EINVAL",
	       mn);
	is_int(gmem_reader_exit(r), -EINVAL, "%s: exit outside: -EINVAL", mn);
	is_int(gmem_reader_enter(r, &m), 0, "%s: enter", mn);
	v = slot_word(r);
	ok(v & 1, "%s: slot word odd inside", mn);
	is_int(lib_bit(r), fallback, "%s: depth 1, GMEM__SEQ_LIB unchanged",
	       mn);
	is_int(gmem_reader_free(r), -EBUSY, "%s: free inside: -EBUSY", mn);
	is_int(gmem_space_replace(s, maps[1], GMEM_PUBLISH_DEFER), 0,
	       "%s: publish maps[1] meanwhile", mn);
	is_int(gmem_reader_enter(r, &m2), 0, "%s: nested enter", mn);
	tu_is_ptr(m2, m, "%s: nested enter sees the outer snapshot", mn);
	is_int(lib_bit(r), 1, "%s: depth 2, GMEM__SEQ_LIB set", mn);
	is_int(r->depth, 2, "%s: depth 2 counted", mn);
	is_u64(gmem__grace_scan(&s->atomic->grace), v >> 1,
	       "%s: the scan finds the section's epoch at depth 2", mn);
	is_u64(slot_word(r), v, "%s: slot word unchanged by nesting", mn);
	is_int(gmem_reader_ref(r, &ref), 0, "%s: ref at depth 2", mn);
	tu_is_ptr(ref, m, "%s:   the outer snapshot", mn);
	gmem_map_free(ref);
	for (i = 2; i < (int)GMEM_READER_MAX_DEPTH; i++)
		bad += gmem_reader_enter(r, &m2) != 0 || m2 != m;
	is_int(bad, 0, "%s: nest up to GMEM_READER_MAX_DEPTH", mn);
	is_int(gmem_reader_enter(r, &m2), -EOVERFLOW,
	       "%s: one more: -EOVERFLOW", mn);
	is_int(r->depth, (int)GMEM_READER_MAX_DEPTH, "%s:   depth unchanged",
	       mn);
	for (i = (int)GMEM_READER_MAX_DEPTH; i > 2; i--)
		bad += gmem_reader_exit(r) != 0;
	is_int(bad, 0, "%s: inner exits back to depth 2", mn);
	is_int(gmem_reader_exit(r), 0, "%s: exit to depth 1", mn);
	is_int(lib_bit(r), fallback, "%s: depth 1, GMEM__SEQ_LIB %s again", mn,
	       fallback ? "set" : "clear");
	is_u64(slot_word(r), v, "%s: slot word still odd", mn);
	is_int(gmem_reader_ref(r, &ref), 0, "%s: ref at depth 1", mn);
	tu_is_ptr(ref, m, "%s:   the outer snapshot", mn);
	gmem_map_free(ref);
	is_int(pending_of(s), 1, "%s: the outer section holds maps[0]", mn);
	is_int(gmem_reader_exit(r), 0, "%s: outermost exit", mn);
	is_u64(slot_word(r), v + 1, "%s: slot word even, one past", mn);
	is_int(pending_of(s), 0, "%s: maps[0] reclaimed", mn);
	is_int(gmem_reader_exit(r), -EINVAL, "%s: exit again: -EINVAL", mn);
	is_int(gmem_reader_enter(r, &m), 0, "%s: enter again", mn);
	tu_is_ptr(m, maps[1], "%s:   sees maps[1]", mn);
	is_int(gmem_reader_exit(r), 0, "%s: exit", mn);
	is_int(gmem_reader_free(r), 0, "%s: free outside", mn);
	gmem_space_free(s);
}

/* ------------------------------------------------------------------------ */
/* Owner identity and -EDEADLK                                               */
/* ------------------------------------------------------------------------ */

struct peer {
	gmem_reader *r;
	gmem_space *s;
	uintptr_t tp, self;
	int err;
	bool self_inside; /* gmem__grace_self_inside() while inside */
	atomic_int inside, release, done;
};

static void *peer_main(void *arg)
{
	struct peer *p = arg;
	const gmem_map *m;

	p->tp = gmem__thread_ptr();
	p->self = (uintptr_t)pthread_self();
	p->err = gmem_reader_enter(p->r, &m);
	p->self_inside = gmem__grace_self_inside(&p->s->atomic->grace);
	atomic_store(&p->inside, 1);
	if (!wait_flag(&p->release, 1) && !p->err)
		p->err = -ETIMEDOUT;
	if (gmem_reader_exit(p->r) != 0 && !p->err)
		p->err = -EINVAL;
	atomic_store(&p->done, 1);
	return NULL;
}

static void test_owner(bool fallback)
{
	const char *mn = mode_name(fallback);
	gmem_space *s = new_space(fallback, maps[0], 0);
	gmem_reader *r = new_reader(s), *r2 = new_reader(s);
	struct peer p;
	const gmem_map *m;
	pthread_t th;

	diag("%s: section owner and -EDEADLK", mn);
#if defined(__x86_64__)
	is_u64(gmem__thread_ptr(), (uintptr_t)pthread_self(),
	       "%s: %%fs:0 is pthread_self()", mn);
#else
	skip("%s: %%fs:0 is x86-64 only", mn);
#endif
	ok(!gmem__grace_self_inside(&s->atomic->grace),
	   "%s: outside: not inside", mn);
	is_int(gmem_reader_enter(r, &m), 0, "%s: enter", mn);
	is_u64(__atomic_load_n(&r->hot.w.owner, __ATOMIC_RELAXED),
	       gmem__thread_ptr(), "%s: owner word is our thread pointer", mn);
	ok(gmem__grace_self_inside(&s->atomic->grace), "%s: inside", mn);
	is_int(gmem_space_replace(s, maps[1], GMEM_PUBLISH_WAIT), -EDEADLK,
	       "%s: WAIT from inside: -EDEADLK", mn);
	is_int(gmem_space_synchronize(s), -EDEADLK,
	       "%s: synchronize from inside: -EDEADLK", mn);
	tu_is_ptr(__atomic_load_n(&s->pub.current, __ATOMIC_RELAXED), maps[0],
		  "%s: nothing published", mn);
	is_int(gmem_reader_exit(r), 0, "%s: exit", mn);
	ok(!gmem__grace_self_inside(&s->atomic->grace),
	   "%s: after the exit: not inside", mn);

	/* Another thread inside, on another reader, and on our reader. */
	for (int round = 0; round < 2; round++) {
		const char *whose = round ? "our reader" : "its own reader";

		memset(&p, 0, sizeof(p));
		p.r = round ? r : r2;
		p.s = s;
		if (pthread_create(&th, NULL, peer_main, &p) != 0)
			tap_bail("pthread_create");
		ok(wait_flag(&p.inside, 1), "%s: peer inside on %s", mn,
		   whose);
		ok(p.self_inside, "%s: the peer sees itself inside", mn);
		ok(!gmem__grace_self_inside(&s->atomic->grace),
		   "%s: we are not inside", mn);
		is_u64(__atomic_load_n(&p.r->hot.w.owner, __ATOMIC_RELAXED),
		       p.tp, "%s: owner word is the peer's thread pointer",
		       mn);
		ok(p.tp != gmem__thread_ptr(), "%s: threads differ", mn);
		is_int(gmem_space_replace(s, maps[1], GMEM_PUBLISH_DEFER), 0,
		       "%s: DEFER while the peer is inside", mn);
		is_u64(pending_of(s), 1, "%s: its old map waits for the peer",
		       mn);
		atomic_store(&p.release, 1);
		pthread_join(th, NULL);
		is_int(p.err, 0, "%s: peer ran cleanly", mn);
#if defined(__x86_64__)
		is_u64(p.tp, p.self, "%s: peer's %%fs:0 is its pthread_self()",
		       mn);
#endif
		is_u64(pending_of(s), 0, "%s: reclaimed after its exit", mn);
		is_int(gmem_space_replace(s, maps[0], GMEM_PUBLISH_WAIT), 0,
		       "%s: WAIT with nobody inside", mn);
	}
	/* The reader came back to this thread: the owner follows it. */
	is_int(gmem_reader_enter(r, &m), 0, "%s: enter again here", mn);
	is_u64(__atomic_load_n(&r->hot.w.owner, __ATOMIC_RELAXED),
	       gmem__thread_ptr(), "%s: owner follows the reader", mn);
	is_int(gmem_space_synchronize(s), -EDEADLK, "%s: -EDEADLK again", mn);
	is_int(gmem_reader_exit(r), 0, "%s: exit", mn);
	is_int(gmem_space_synchronize(s), 0, "%s: synchronize outside", mn);
	gmem_reader_free(r);
	gmem_reader_free(r2);
	gmem_space_free(s);
}

/* ------------------------------------------------------------------------ */
/* Deferred snapshots                                                        */
/* ------------------------------------------------------------------------ */

static void test_deferred(bool fallback)
{
	const char *mn = mode_name(fallback);
	size_t before[NMAPS];
	gmem_space *s;
	gmem_reader *r;
	struct gmem_atomic_state *a;
	const gmem_map *m;
	int i;

	diag("%s: deferred snapshots", mn);
	for (i = 0; i < NMAPS; i++)
		before[i] = refs_of(maps[i]);
	s = new_space(fallback, maps[0], 0);
	r = new_reader(s);
	a = s->atomic;
	/* Nobody inside: five DEFER publications of five distinct maps. */
	for (i = 1; i < NMAPS; i++)
		is_int(gmem_space_replace(s, maps[i], GMEM_PUBLISH_DEFER), 0,
		       "%s: DEFER publication %d", mn, i);
	is_u64(s->pub.epoch, NMAPS - 1, "%s: epoch counts publications", mn);
	if (!fallback) {
		/* No barrier yet: all five retired maps stay, uncovered. */
		is_u64(a->nretired, NMAPS - 1, "%s: five retired, kept", mn);
		is_u64(a->covered, 0, "%s: none covered (no barrier)", mn);
		ok(refs_of(maps[1]) == before[1] + 1,
		   "%s: map 1 still held by the ring", mn);
	} else {
		/* The seq_cst protocol needs no barrier: each publication
		 * dropped its predecessor's map at once. */
		is_u64(a->nretired, 0, "%s: none retired (decided at once)",
		       mn);
		is_u64(a->covered, NMAPS - 1, "%s: all covered", mn);
	}
	/* One reclaim: one barrier and one scan for all of them. */
	is_u64(pending_of(s), 0, "%s: one reclaim frees them all", mn);
	is_u64(a->covered, NMAPS - 1, "%s: covered up to the last", mn);
	for (i = 1; i < NMAPS - 1; i++)
		ok(refs_of(maps[i]) == before[i],
		   "%s: map %d's retired reference dropped", mn, i);

	/* A reader inside: the maps wait, even across a barrier. */
	is_int(gmem_reader_enter(r, &m), 0, "%s: enter", mn);
	tu_is_ptr(m, maps[NMAPS - 1], "%s: sees the last map", mn);
	for (i = 0; i < 3; i++)
		is_int(gmem_space_replace(s, maps[i], GMEM_PUBLISH_DEFER), 0,
		       "%s: DEFER %d with the reader inside", mn, i);
	is_u64(pending_of(s), 3, "%s: three pending after a reclaim", mn);
	is_u64(a->covered, s->pub.epoch, "%s: all covered", mn);
	is_int(gmem_space_replace(s, maps[3], GMEM_PUBLISH_DEFER), 0,
	       "%s: one more DEFER", mn);
	is_u64(a->nretired, 4, "%s: four retired", mn);
	ok(fallback ? a->covered == s->pub.epoch
		    : a->covered == s->pub.epoch - 1,
	   "%s: the last one covered %s", mn,
	   fallback ? "at once" : "only at the next barrier");
	ok(refs_of(m) >= 2, "%s: the snapshot is alive", mn);
	is_int(gmem_reader_exit(r), 0, "%s: exit", mn);
	is_u64(pending_of(s), 0, "%s: all four freed by one reclaim", mn);
	for (i = 0; i < NMAPS; i++)
		ok(refs_of(maps[i]) == before[i] + (i == 3),
		   "%s: map %d back to its references", mn, i);
	gmem_reader_free(r);
	gmem_space_free(s);
	for (i = 0; i < NMAPS; i++)
		ok(refs_of(maps[i]) == before[i], "%s: map %d: space gone", mn,
		   i);
}

/* ------------------------------------------------------------------------ */
/* Exactly the maps retired during a section                                 */
/* ------------------------------------------------------------------------ */

static void test_exact(bool fallback)
{
	const char *mn = mode_name(fallback);
	gmem_space *s = new_space(fallback, maps[0], 0);
	gmem_reader *ra = new_reader(s), *rb = new_reader(s),
		    *rc = new_reader(s);
	const gmem_map *ma, *mb, *mc;
	size_t base1 = refs_of(maps[1]);

	diag("%s: a section keeps exactly the maps retired while it is open",
	     mn);
	/* C inside; 2 retirements; A enters; 2 more; B enters; 1 more. */
	is_int(gmem_reader_enter(rc, &mc), 0, "%s: C enters", mn);
	is_int(gmem_space_replace(s, maps[1], GMEM_PUBLISH_DEFER), 0,
	       "%s: pub 1 (retires map 0)", mn);
	is_int(gmem_space_replace(s, maps[2], GMEM_PUBLISH_DEFER), 0,
	       "%s: pub 2 (retires map 1)", mn);
	is_int(gmem_reader_enter(ra, &ma), 0, "%s: A enters", mn);
	tu_is_ptr(ma, maps[2], "%s: A sees map 2", mn);
	is_int(gmem_space_replace(s, maps[3], GMEM_PUBLISH_DEFER), 0,
	       "%s: pub 3 (retires map 2)", mn);
	is_int(gmem_space_replace(s, maps[4], GMEM_PUBLISH_DEFER), 0,
	       "%s: pub 4 (retires map 3)", mn);
	is_int(gmem_reader_enter(rb, &mb), 0, "%s: B enters", mn);
	is_int(gmem_space_replace(s, maps[5], GMEM_PUBLISH_DEFER), 0,
	       "%s: pub 5 (retires map 4)", mn);
	is_u64(pending_of(s), 5, "%s: C keeps all five", mn);
	is_u64(slot_word(ra), 2 * 2 + 1, "%s: A's word says epoch 2", mn);
	is_u64(slot_word(rb), 2 * 4 + 1, "%s: B's word says epoch 4", mn);
	is_int(gmem_reader_exit(rc), 0, "%s: C exits", mn);
	is_u64(pending_of(s), 3, "%s: A keeps those retired since it entered",
	       mn);
	ok(refs_of(maps[1]) == base1, "%s: map 1 (retired before A) freed",
	   mn);
	is_int(gmem_reader_exit(ra), 0, "%s: A exits", mn);
	is_u64(pending_of(s), 1, "%s: B keeps the one retired since it entered",
	       mn);
	is_int(gmem_reader_enter(ra, &ma), 0, "%s: A enters again", mn);
	is_u64(pending_of(s), 1, "%s: ... which keeps nothing more", mn);
	is_int(gmem_reader_exit(rb), 0, "%s: B exits", mn);
	is_u64(pending_of(s), 0, "%s: nothing pending with A inside", mn);
	is_int(gmem_reader_exit(ra), 0, "%s: A exits", mn);

	/* Nested sections keep the outermost snapshot and its maps. */
	is_int(gmem_reader_enter(ra, &ma), 0, "%s: A enters (outer)", mn);
	is_int(gmem_space_replace(s, maps[0], GMEM_PUBLISH_DEFER), 0,
	       "%s: pub while A is inside", mn);
	is_int(gmem_reader_enter(ra, &mb), 0, "%s: A enters (inner)", mn);
	tu_is_ptr(mb, ma, "%s: inner snapshot is the outer one", mn);
	is_int(gmem_reader_exit(ra), 0, "%s: inner exit", mn);
	is_u64(pending_of(s), 1, "%s: still kept after the inner exit", mn);
	is_int(gmem_reader_exit(ra), 0, "%s: outer exit", mn);
	is_u64(pending_of(s), 0, "%s: freed after the outer exit", mn);
	gmem_reader_free(ra);
	gmem_reader_free(rb);
	gmem_reader_free(rc);
	gmem_space_free(s);
}

/* The ring grows (keeping order) while it wraps around. */
static void test_ring(bool fallback)
{
	const char *mn = mode_name(fallback);
	gmem_space *s = new_space(fallback, maps[0], 40);
	gmem_reader *r = new_reader(s), *r2 = new_reader(s);
	struct gmem_atomic_state *a = s->atomic;
	const gmem_map *m, *m2;
	unsigned i, n = 0;
	bool all = true;

	diag("%s: retired ring growth and wrap-around", mn);
	is_int(gmem_reader_enter(r, &m), 0, "%s: enter", mn);
	for (i = 0; i < RING_MIN - 2; i++)
		all = all && gmem_space_replace(s, maps[1 + i % 2],
						GMEM_PUBLISH_DEFER) == 0;
	is_int(gmem_reader_exit(r), 0, "%s: exit", mn);
	is_u64(pending_of(s), 0, "%s: ring emptied", mn);
	is_u64(a->cap, RING_MIN, "%s: ring of %u", mn, RING_MIN);
	ok(a->head == RING_MIN - 2, "%s: head moved on", mn);
	/* Now wrap: the second reader enters at each step, the oldest first,
	 * so the maps must leave in retirement order. */
	is_int(gmem_reader_enter(r, &m), 0, "%s: enter", mn);
	for (i = 0; i < 3 * RING_MIN; i++)
		all = all && gmem_space_replace(s, maps[i % NMAPS],
						GMEM_PUBLISH_DEFER) == 0;
	ok(all, "%s: every DEFER publication succeeded", mn);
	is_u64(a->cap, 4 * RING_MIN, "%s: grew twice (to %u)", mn,
	       4 * RING_MIN);
	is_u64(pending_of(s), 3 * RING_MIN, "%s: all pending", mn);
	for (i = 0; i < 3 * RING_MIN; i++)
		if (a->ring[(a->head + i) & (a->cap - 1)].epoch !=
		    RING_MIN - 2 + 1 + i)
			all = false;
	ok(all, "%s: in retirement order", mn);
	/* r2 enters in the middle of the retirements. */
	for (i = 0; i < 4; i++)
		all = all && gmem_space_replace(s, maps[i % NMAPS],
						GMEM_PUBLISH_DEFER) == 0;
	is_int(gmem_reader_enter(r2, &m2), 0, "%s: second reader enters", mn);
	for (i = 0; i < 5; i++)
		all = all && gmem_space_replace(s, maps[i % NMAPS],
						GMEM_PUBLISH_DEFER) == 0;
	ok(all, "%s: nine more", mn);
	is_int(gmem_reader_exit(r), 0, "%s: first reader exits", mn);
	n = (unsigned)pending_of(s);
	is_int(n, 5, "%s: the five retired during the second section stay",
	       mn);
	is_int(gmem_reader_exit(r2), 0, "%s: second exits", mn);
	is_u64(pending_of(s), 0, "%s: empty", mn);
	gmem_reader_free(r);
	gmem_reader_free(r2);
	gmem_space_free(s);
}

/* ------------------------------------------------------------------------ */
/* WAIT and synchronize wait for earlier sections only                       */
/* ------------------------------------------------------------------------ */

struct waiter {
	gmem_space *s;
	gmem_map *next; /* NULL: synchronize */
	int ret;
	atomic_int started, done;
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;

	atomic_store(&w->started, 1);
	w->ret = w->next ? gmem_space_replace(w->s, w->next, GMEM_PUBLISH_WAIT)
			 : gmem_space_synchronize(w->s);
	atomic_store(&w->done, 1);
	return NULL;
}

static void test_waiters(bool fallback)
{
	const char *mn = mode_name(fallback);

	for (int sync = 0; sync < 2; sync++) {
		const char *what = sync ? "synchronize" : "WAIT";
		gmem_space *s = new_space(fallback, maps[0], 0);
		gmem_reader *early = new_reader(s), *late = new_reader(s);
		const gmem_map *me, *ml;
		struct waiter w;
		pthread_t th;
		double end;

		diag("%s: %s waits only for sections begun before it", mn,
		     what);
		memset(&w, 0, sizeof(w));
		w.s = s;
		is_int(gmem_reader_enter(early, &me), 0, "%s: early enters",
		       mn);
		if (sync) {
			is_int(gmem_space_replace(s, maps[1],
						  GMEM_PUBLISH_DEFER),
			       0, "%s: DEFER while early is inside", mn);
		} else {
			w.next = maps[1];
		}
		if (pthread_create(&th, NULL, waiter_main, &w) != 0)
			tap_bail("pthread_create");
		/* "late" must begin after the publication: after the epoch
		 * moved (the map pointer moves one store earlier).  For
		 * synchronize, our own DEFER publication is that point. */
		end = now_s() + TIMEOUT_S;
		while (now_s() < end &&
		       __atomic_load_n(&s->pub.epoch, __ATOMIC_ACQUIRE) < 1)
			sched_yield();
		ok(wait_flag(&w.started, 1), "%s: %s started", mn, what);
		is_int(gmem_reader_enter(late, &ml), 0, "%s: late enters", mn);
		tu_is_ptr(ml, maps[1], "%s: late sees the new map", mn);
		sleep_ms(20);
		is_int(atomic_load(&w.done), 0, "%s: %s still waits for early",
		       mn, what);
		is_int(gmem_reader_exit(early), 0, "%s: early exits", mn);
		ok(wait_flag(&w.done, 1),
		   "%s: %s returns while late is still inside", mn, what);
		pthread_join(th, NULL);
		is_int(w.ret, 0, "%s: %s succeeded", mn, what);
		tu_is_ptr(me, maps[0], "%s: early had the old map", mn);
		is_int(gmem_reader_exit(late), 0, "%s: late exits", mn);
		is_u64(pending_of(s), 0, "%s: nothing pending", mn);
		gmem_reader_free(early);
		gmem_reader_free(late);
		gmem_space_free(s);
	}
}

/* More readers than the registry's first arrays held (8, 16, 32): the
 * scan takes the minimum over all. */
static void test_registry(bool fallback)
{
	const char *mn = mode_name(fallback);
	enum { N = 32 + 3 };
	gmem_space *s = new_space(fallback, maps[0], 0);
	gmem_reader *rs[N];
	const gmem_map *m;
	int i;

	diag("%s: scans cover every registered slot", mn);
	for (i = 0; i < N; i++)
		rs[i] = new_reader(s);
	is_u64(gmem__grace_scan(&s->atomic->grace), UINT64_MAX,
	       "%s: nobody inside: UINT64_MAX", mn);
	is_int(gmem_space_replace(s, maps[1], GMEM_PUBLISH_DEFER), 0,
	       "%s: pub 1", mn);
	is_int(gmem_reader_enter(rs[N - 1], &m), 0, "%s: last reader enters",
	       mn);
	is_int(gmem_space_replace(s, maps[2], GMEM_PUBLISH_DEFER), 0,
	       "%s: pub 2", mn);
	is_int(gmem_reader_enter(rs[0], &m), 0, "%s: first reader enters", mn);
	is_u64(gmem__grace_scan(&s->atomic->grace), 1,
	       "%s: the scan finds epoch 1 on the last slot", mn);
	is_u64(pending_of(s), 1, "%s: map 1 kept for it", mn);
	is_int(gmem_reader_exit(rs[N - 1]), 0, "%s: it exits", mn);
	is_u64(gmem__grace_scan(&s->atomic->grace), 2,
	       "%s: now epoch 2 on the first", mn);
	is_u64(pending_of(s), 0, "%s: freed", mn);
	is_int(gmem_reader_exit(rs[0]), 0, "%s: exit", mn);
	for (i = 0; i < N; i++)
		gmem_reader_free(rs[i]);
	gmem_space_free(s);
}

/* ------------------------------------------------------------------------ */
/* Spares: dropped maps' memory reused by insert and remove                  */
/* ------------------------------------------------------------------------ */

static size_t region_refs(const gmem_region *r)
{
	return atomic_load(&((const struct gmem_region *)r)->refs);
}

/* The ring's layout: retired maps, spares ({memory, 0}), empty entries;
 * no more than max_retired maps and spares together. */
static bool ring_ok(struct gmem_atomic_state *a)
{
	size_t i, ns = spare_count(a);

	if (a->nretired + ns > a->max_retired || a->nretired + ns > a->cap)
		return false;
	for (i = 0; i < a->cap; i++) {
		struct gmem_retired *e = ring_at(a, i);

		if (i < a->nretired && (!e->map || e->epoch == 0))
			return false;
		if (i >= a->nretired && i < a->nretired + ns && e->epoch != 0)
			return false;
		if (i >= a->nretired + ns && (e->map || e->epoch))
			return false;
	}
	return true;
}

static const gmem_map *cur_of_space(gmem_space *s)
{
	return __atomic_load_n(&s->pub.current, __ATOMIC_RELAXED);
}

static bool is_spare(struct gmem_atomic_state *a, const gmem_map *m)
{
	size_t i, ns = spare_count(a);

	for (i = a->nretired; i < a->nretired + ns; i++)
		if (ring_at(a, i)->map == m)
			return true;
	return false;
}

/* Insert or remove region c, reclaiming and retrying while the ring is
 * full. */
static int toggle(gmem_space *s, gmem_region *c, bool insert)
{
	for (int tries = 0; tries < 4; tries++) {
		int err = insert ? gmem_space_insert(s, c, GMEM_PUBLISH_DEFER)
				 : gmem_space_remove(s, gmem_region_start(c),
						     LEN, NULL,
						     GMEM_PUBLISH_DEFER);

		if (err != -EBUSY)
			return err;
		if (gmem_space_reclaim(s, NULL) != 0)
			return -EIO;
	}
	return -EBUSY;
}

static void test_spares(bool fallback)
{
	const char *mn = mode_name(fallback);
	gmem_region *rc = mk_region(GPA_B + 0x10000), *rs[2] = { reg_a, reg_b };
	struct gmem_atomic_state *a;
	gmem_map *m0, *held, *spares[4];
	const gmem_map *m;
	gmem_region *found;
	gmem_reader *r;
	gmem_space *s;
	size_t ns, i;
	bool all = true, reused = false;

	diag("%s: spares", mn);
	if (gmem_map_new(&m0, rs, 2, 0) != 0)
		tap_bail("gmem_map_new");
	s = new_space(fallback, m0, 3);
	gmem_map_free(m0); /* the space holds the only reference */
	a = s->atomic;
	r = new_reader(s);
	for (i = 0; i < 12; i++) {
		all = all && toggle(s, rc, (i & 1) == 0) == 0 && ring_ok(a);
		is_int(gmem_reader_enter(r, &m), 0, "%s: enter", mn);
		all = all && gmem_map_count(m) == 2 + ((i & 1) == 0) &&
		      gmem_map_find(m, GPA_A, &found) == 0 && found == reg_a &&
		      gmem_map_find(m, GPA_B, &found) == 0 && found == reg_b &&
		      (gmem_map_find(m, gmem_region_start(rc), &found) == 0) ==
			      ((i & 1) == 0);
		is_int(gmem_reader_exit(r), 0, "%s: exit", mn);
	}
	ok(all, "%s: 12 insert/remove publications, maps right, ring laid "
		"out right",
	   mn);
	is_int(gmem_space_reclaim(s, NULL), 0, "%s: reclaim", mn);
	is_u64(a->nretired, 0, "%s: nothing retired", mn);
	ns = spare_count(a);
	ok(ns >= 1 && ns <= 3, "%s: 1 to max_retired spares (%zu)", mn, ns);
	ok(ring_ok(a), "%s: ring laid out right", mn);
	for (i = 0; i < ns; i++)
		spares[i] = ring_at(a, i)->map;
	is_int(toggle(s, rc, true), 0, "%s: insert", mn);
	for (i = 0; i < ns; i++)
		reused = reused || cur_of_space(s) == spares[i];
	ok(reused, "%s: the new map is built in a spare", mn);
	ok(!is_spare(a, cur_of_space(s)), "%s: which left the spares", mn);
	ok(ring_ok(a), "%s: ring laid out right", mn);

	/* A map someone else holds stays theirs, untouched. */
	is_int(gmem_reader_enter(r, &m), 0, "%s: enter", mn);
	is_int(gmem_reader_ref(r, &held), 0, "%s: hold the snapshot", mn);
	is_int(gmem_reader_exit(r), 0, "%s: exit", mn);
	for (i = 0; i < 8; i++)
		all = all && toggle(s, rc, (i & 1) != 0) == 0 &&
		      gmem_space_reclaim(s, NULL) == 0 && ring_ok(a) &&
		      !is_spare(a, held) && cur_of_space(s) != held;
	ok(all, "%s: 8 more publications, the held map never recycled", mn);
	is_u64(refs_of(held), 1, "%s: the holder's reference is the last",
	       mn);
	ok(gmem_map_count(held) == 3 &&
		   gmem_map_find(held, GPA_B, &found) == 0 && found == reg_b &&
		   gmem_map_find(held, gmem_region_start(rc), &found) == 0 &&
		   found == rc,
	   "%s: and intact", mn);
	gmem_map_free(held);

	/* Spares hold no region reference: only the current map does. */
	is_int(gmem_space_synchronize(s), 0, "%s: synchronize", mn);
	ok(spare_count(a) >= 1, "%s: spares left", mn);
	is_u64(region_refs(rc), 2, "%s: region: ours and the current map's",
	       mn);
	is_int(toggle(s, rc, false), 0, "%s: remove", mn);
	is_int(gmem_space_synchronize(s), 0, "%s: synchronize", mn);
	is_u64(region_refs(rc), 1, "%s: region: ours alone", mn);
	gmem_reader_free(r);
	gmem_space_free(s); /* frees the spares (ASan, valgrind: no leak) */
	is_u64(region_refs(reg_a), 1 + NMAPS, "%s: fixture region refs back",
	       mn);

	/* max_retired 1: one map in the ring at most, retired or spare. */
	if (gmem_map_new(&m0, rs, 2, 0) != 0)
		tap_bail("gmem_map_new");
	s = new_space(fallback, m0, 1);
	gmem_map_free(m0);
	a = s->atomic;
	for (i = 0; i < 6; i++)
		all = all && toggle(s, rc, (i & 1) == 0) == 0 && ring_ok(a) &&
		      a->nretired + spare_count(a) <= 1;
	ok(all, "%s: max_retired 1: at most one map in the ring", mn);
	gmem_space_free(s);
	gmem_region_free(rc);
}

int main(void)
{
	fixture_setup();
	test_modes();
	test_fast_path();
	for (int fb = 0; fb < 2; fb++) {
		bool fallback = fb != 0;

		if (!fallback && !asym_expected()) {
			skip("asymmetric mode unavailable here (TSan build or "
			     "no membarrier): its cases run in fallback only");
			continue;
		}
		test_nesting(fallback);
		test_owner(fallback);
		test_deferred(fallback);
		test_exact(fallback);
		test_ring(fallback);
		test_waiters(fallback);
		test_registry(fallback);
		test_spares(fallback);
	}
	fixture_teardown();
	return tap_done();
}
