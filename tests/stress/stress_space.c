/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * stress_space.c - device threads read and write guest memory through an
 * atomic space while a control thread hot-plugs regions and publishes
 * thousands of maps.
 *
 * Environment:
 *   GMEM_STRESS_SECONDS      run time (default 2; `make stress` uses 30)
 *   GMEM_STRESS_READERS      reader threads, 1..16 (default 3)
 *   GMEM_STRESS_MAX_MAPS     cap on publications (default 10,000,000)
 *   GMEM_STRESS_MAX_RETIRED  the space's max_retired (default 4: small, so
 *                            DEFER publications also hit -EBUSY)
 *   GMEM_STRESS_SEED         seed of the writer's and readers' PRNGs
 *
 * Guest layout.  The data zone is NSLOTS slots of SLOT_SPAN bytes; a slot
 * holds at most one region, of 1-4 pages, starting 0-3 pages into the slot,
 * so every region is surrounded by holes.  Each region gets a generation id
 * (gen, unique for the whole run) and its 8-byte words hold:
 *   word 0                   counter: only ever touched atomically (readers
 *                            fetch_add; the writer loads after a grace
 *                            period);
 *   words 1, 2, 3            gen, gpa, len (immutable);
 *   words 8 .. 8+16          one scratch word per reader, written and read
 *                            only by that reader;
 *   words ID_WORD ..         gen << 32 | word index (immutable).
 * Far above, a one-word "version marker" region at VBASE + 8 * version is
 * moved by every update/replace publication, so a reader can tell which
 * publication its snapshot came from.
 *
 * Each reader section (gmem_reader_enter .. exit) records the snapshot at
 * entry - gmem_map_count() and every region via gmem_map_region() - and
 * then checks that everything it does agrees with that one snapshot:
 *   - the snapshot is at least as new as the last publication that
 *     completed before the enter, and never older than the reader's
 *     previous one;
 *   - every read of an address covered by a recorded region returns that
 *     region's identity; every address in a hole of the snapshot gives
 *     -EFAULT (gmem_read_u64, gmem_translate, gmem_check_range), including
 *     the words just outside each region and reads running off its end;
 *   - translations and gmem_map_find() agree with the recorded regions;
 *   - the map is unchanged at exit;
 *   - a reader's scratch word still holds what it last wrote there.
 * Some sections nest, some take a gmem_reader_ref() and keep reading after
 * the exit; readers are periodically freed and recreated.
 *
 * The writer inserts and removes regions (gmem_space_insert/remove), bumps
 * the version with gmem_space_update (sometimes plugging a region in the
 * same publication) and builds whole maps for gmem_space_replace, in WAIT
 * and DEFER mode, with periodic gmem_space_reclaim and synchronize.  The
 * main thread reclaims concurrently and watches the pending count.
 * Removed regions go to a graveyard; after a synchronize no section can
 * still reach them, so their counters are final and are added up.  At the
 * end, counters (graveyard + final map) must equal the readers' increments.
 *
 * Only the main thread emits TAP points.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "gmem.h"
#include "tap.h"

#define NSLOTS 8u
#define SLOT_SPAN UINT64_C(0x100000)
#define ZONE_END (NSLOTS * SLOT_SPAN)
#define VBASE (UINT64_C(1) << 40)
#define MAX_READERS 16u
#define SCRATCH_WORD 8u
#define ID_WORD 32u
#define PROBES 16u
#define MIN_PUBLISHED 1000u
#define MIN_SECTIONS 1000u
#define SYNC_EVERY 64u
#define REOPEN_EVERY 1000u
/* Idle readers made and freed at each reopen: with the default three
 * readers the grace registry grows past 16 entries and shrinks while the
 * writer scans it. */
#define IDLE_READERS 6u
#define YIELD_MASK 63u

static uint64_t page;

/* ------------------------------------------------------------------------ */
/* Shared state                                                              */
/* ------------------------------------------------------------------------ */

static gmem_space *space;
static atomic_int stop;
/* Version of the last update/replace publication that has returned. */
static atomic_uint_fast64_t completed_version;
static atomic_size_t max_pending;
static atomic_uint_fast64_t published;

static void note_pending(size_t p)
{
	size_t cur = atomic_load(&max_pending);

	while (p > cur && !atomic_compare_exchange_weak(&max_pending, &cur, p))
		;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * UINT64_C(0x2545F4914F6CDD1D);
}

/* A first error message, kept by whoever hit it. */
struct failure {
	unsigned long count;
	char msg[256];
};

__attribute__((format(printf, 2, 3))) static void fail(struct failure *f,
						       const char *fmt, ...)
{
	va_list ap;

	if (f->count++)
		return;
	va_start(ap, fmt);
	vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
	va_end(ap);
}

static uint64_t env_u64(const char *name, uint64_t dflt, uint64_t lo,
			uint64_t hi)
{
	const char *v = getenv(name);
	char *end;
	unsigned long long x;

	if (!v || !*v)
		return dflt;
	errno = 0;
	x = strtoull(v, &end, 0);
	if (errno || *end || x < lo || x > hi)
		tap_bail("%s=%s: expected an integer in [%" PRIu64 ", %" PRIu64
			 "]",
			 name, v, lo, hi);
	return (uint64_t)x;
}

static double env_seconds(void)
{
	const char *v = getenv("GMEM_STRESS_SECONDS");
	char *end;
	double x;

	if (!v || !*v)
		return 2.0;
	x = strtod(v, &end);
	if (*end || !(x > 0.0) || x > 86400.0)
		tap_bail("GMEM_STRESS_SECONDS=%s: expected seconds > 0", v);
	return x;
}

/* ------------------------------------------------------------------------ */
/* Regions                                                                   */
/* ------------------------------------------------------------------------ */

static uint64_t id_word(uint64_t gen, uint64_t k)
{
	return gen << 32 | k;
}

static uint64_t slot_gpa(unsigned slot, uint64_t gen)
{
	return slot * SLOT_SPAN + (gen % 4) * page;
}

static uint64_t gen_len(uint64_t gen)
{
	return (1 + (gen / 4) % 4) * page;
}

/* A data region for slot with generation gen, filled before anyone can
 * see it (publication orders these plain stores before readers' loads). */
static int data_region(gmem_region **out, unsigned slot, uint64_t gen)
{
	uint64_t gpa = slot_gpa(slot, gen), len = gen_len(gen), k;
	uint64_t *w;
	int err = gmem_region_new_anon(out, gpa, len, 0);

	if (err)
		return err;
	w = gmem_region_host(*out);
	for (k = 0; k < len / 8; k++)
		w[k] = k >= ID_WORD ? id_word(gen, k) : 0;
	w[1] = gen;
	w[2] = gpa;
	w[3] = len;
	return 0;
}

/* The version marker's host word (never accessed through the maps). */
static uint64_t marker_word __attribute__((aligned(8)));

static int marker_region(gmem_region **out, uint64_t version)
{
	struct gmem_region_config c = GMEM_REGION_CONFIG_INIT;

	c.backing = GMEM_BACKING_USER;
	c.gpa = VBASE + 8 * version;
	c.len = 8;
	c.host = &marker_word;
	return gmem_region_new(out, &c);
}

/* ------------------------------------------------------------------------ */
/* Readers                                                                   */
/* ------------------------------------------------------------------------ */

struct seen {
	gmem_region *reg;
	uint64_t start, last, gen;
	uint8_t *host;
};

struct reader {
	unsigned id;
	pthread_t th;
	uint64_t rng;
	/* results, read by main after the join */
	struct failure f;
	uint64_t sections, nested, refs, probes, holes, increments;
	uint64_t versions_seen, reopened;
	atomic_uint_fast64_t progress; /* sections so far, for main */
	/* scratch bookkeeping: what this reader last wrote per slot */
	uint64_t scratch_gen[NSLOTS], scratch_val[NSLOTS];
	uint64_t last_version;
};

/* Index in rs[] of the region covering gpa, or -1. */
static int covering(const struct seen *rs, unsigned n, uint64_t gpa)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (gpa >= rs[i].start && gpa <= rs[i].last)
			return (int)i;
	return -1;
}

/* A hole of the snapshot: everything must say -EFAULT. */
static void check_hole(struct reader *rd, const gmem_map *m, uint64_t gpa)
{
	uint64_t v = 0, avail = 0;
	void *h = NULL;
	gmem_region *fr = NULL;
	int e1 = gmem_read_u64(m, gpa, &v);
	int e2 = gmem_translate(m, gpa, 1, GMEM_ACCESS_READ, &h, &avail);
	int e3 = gmem_check_range(m, gpa, 1, GMEM_ACCESS_RW);
	int e4 = gmem_map_find(m, gpa, &fr);

	rd->holes++;
	if (e1 != -EFAULT || e2 != -EFAULT || e3 != -EFAULT || e4 != -EFAULT)
		fail(&rd->f,
		     "hole %#" PRIx64 ": read %d translate %d check %d find %d",
		     gpa, e1, e2, e3, e4);
}

/* An address inside recorded region s. */
static void check_covered(struct reader *rd, const gmem_map *m,
			  const struct seen *s, uint64_t gpa)
{
	uint64_t k = (gpa - s->start) / 8, v = 0, avail = 0;
	uint64_t want;
	void *h = NULL;
	gmem_region *fr = NULL;
	int e;

	e = gmem_translate(m, gpa, 8, GMEM_ACCESS_READ, &h, &avail);
	if (e || h != s->host + (gpa - s->start) || avail != 8)
		fail(&rd->f, "translate %#" PRIx64 ": %d %p (want %p) avail %" PRIu64,
		     gpa, e, h, (void *)(s->host + (gpa - s->start)), avail);
	e = gmem_map_find(m, gpa, &fr);
	if (e || fr != s->reg)
		fail(&rd->f, "find %#" PRIx64 ": %d", gpa, e);
	if (k >= ID_WORD) {
		want = id_word(s->gen, k);
		e = gmem_read_u64(m, gpa, &v);
		if (e || v != want)
			fail(&rd->f,
			     "read %#" PRIx64 ": %d %#" PRIx64 " want %#" PRIx64,
			     gpa, e, v, want);
		/* The same word through the translated host pointer. */
		if (h && *(const uint64_t *)h != want)
			fail(&rd->f, "host %#" PRIx64 ": %#" PRIx64, gpa,
			     *(const uint64_t *)h);
	} else if (k >= 1 && k <= 3) {
		want = k == 1 ? s->gen : k == 2 ? s->start : s->last - s->start + 1;
		e = gmem_read_u64(m, gpa, &v);
		if (e || v != want)
			fail(&rd->f, "header %#" PRIx64 ": %d %#" PRIx64, gpa,
			     e, v);
	}
	/* Counter and other readers' scratch words: translation only. */
}

/* Bulk reads of region s: the tail of its identity area, and one running
 * past its end into the hole (all or nothing: -EFAULT). */
static void check_bulk(struct reader *rd, const gmem_map *m,
		       const struct seen *s)
{
	uint64_t buf[16], len = s->last - s->start + 1;
	uint64_t gpa = s->start + len - sizeof(buf), k;
	struct iovec iov[2];
	size_t cnt = 0;
	int e = gmem_read(m, gpa, buf, sizeof(buf));

	if (e)
		fail(&rd->f, "bulk read %#" PRIx64 ": %d", gpa, e);
	for (k = 0; !e && k < 16; k++)
		if (buf[k] != id_word(s->gen, (gpa - s->start) / 8 + k)) {
			fail(&rd->f, "bulk word %" PRIu64 " at %#" PRIx64, k,
			     gpa);
			break;
		}
	e = gmem_read(m, gpa + 8, buf, sizeof(buf));
	if (e != -EFAULT)
		fail(&rd->f, "read off the end of %#" PRIx64 ": %d", s->start,
		     e);
	e = gmem_iovec(m, gpa, sizeof(buf), GMEM_ACCESS_READ, iov, 2, &cnt);
	if (e || cnt != 1 || iov[0].iov_base != s->host + (gpa - s->start) ||
	    iov[0].iov_len != sizeof(buf))
		fail(&rd->f, "iovec %#" PRIx64 ": %d cnt %zu", gpa, e, cnt);
	check_hole(rd, m, s->start - 8);
	check_hole(rd, m, s->last + 1);
}

/* This reader's own scratch word in region s (slot idx). */
static void check_scratch(struct reader *rd, const gmem_map *m,
			  const struct seen *s)
{
	unsigned slot = (unsigned)(s->start / SLOT_SPAN);
	uint64_t gpa = s->start + 8 * (SCRATCH_WORD + rd->id), v = 0;
	uint64_t mine = (uint64_t)rd->id << 56 | (rd->sections & 0xffffffffu);
	uint64_t exp;
	int e;

	e = gmem_read_u64(m, gpa, &v);
	exp = rd->scratch_gen[slot] == s->gen ? rd->scratch_val[slot] : 0;
	if (e || v != exp)
		fail(&rd->f,
		     "scratch %#" PRIx64 " (gen %" PRIu64 "): %d %#" PRIx64
		     " want %#" PRIx64,
		     gpa, s->gen, e, v, exp);
	e = gmem_write_u64(m, gpa, mine);
	if (!e)
		e = gmem_read_u64(m, gpa, &v);
	if (e || v != mine)
		fail(&rd->f, "scratch write %#" PRIx64 ": %d", gpa, e);
	exp = mine;
	mine ^= UINT64_C(0x00ff00ff00000000);
	e = gmem_atomic_cmpxchg_u64(m, gpa, &exp, mine);
	if (e)
		fail(&rd->f, "scratch cmpxchg %#" PRIx64 ": %d", gpa, e);
	rd->scratch_gen[slot] = s->gen;
	rd->scratch_val[slot] = mine;
}

static void reader_section(struct reader *rd, gmem_reader *r)
{
	struct seen rs[NSLOTS];
	const gmem_map *m = NULL, *m2 = NULL;
	gmem_map *ref = NULL;
	gmem_region *reg;
	uint64_t cv, version = UINT64_MAX, old;
	unsigned n = 0, markers = 0, i, p;
	size_t count;
	int e;

	cv = atomic_load(&completed_version);
	e = gmem_reader_enter(r, &m);
	if (e) {
		fail(&rd->f, "enter: %d", e);
		return;
	}
	rd->sections++;
	count = gmem_map_count(m);
	if (count < 1 || count > NSLOTS + 1)
		fail(&rd->f, "map count %zu", count);
	for (i = 0; i < count && i <= NSLOTS; i++) {
		uint64_t hdr[4];

		if (gmem_map_region(m, i, &reg) != 0) {
			fail(&rd->f, "map_region %u of %zu", i, count);
			break;
		}
		if (gmem_region_start(reg) >= VBASE) {
			markers++;
			version = (gmem_region_start(reg) - VBASE) / 8;
			continue;
		}
		if (n == NSLOTS) {
			fail(&rd->f, "more than %u data regions", NSLOTS);
			break;
		}
		rs[n].reg = reg;
		rs[n].start = gmem_region_start(reg);
		rs[n].last = gmem_region_last(reg);
		rs[n].host = gmem_region_host(reg);
		/* Identity from guest memory: header words 1..3 (2 and 3 must
		 * agree with the region, 1 names its generation). */
		if (gmem_read(m, rs[n].start + 8, hdr + 1, 24) != 0 ||
		    hdr[2] != rs[n].start ||
		    hdr[3] != rs[n].last - rs[n].start + 1 ||
		    rs[n].start != slot_gpa((unsigned)(rs[n].start / SLOT_SPAN),
					    hdr[1]) ||
		    hdr[3] != gen_len(hdr[1]))
			fail(&rd->f, "region %#" PRIx64 ": bad identity",
			     rs[n].start);
		rs[n].gen = hdr[1];
		n++;
	}
	if (gmem_map_region(m, count, &reg) != -ENOENT)
		fail(&rd->f, "map_region past the end");
	if (markers != 1) {
		fail(&rd->f, "%u version markers", markers);
	} else {
		if (version < cv)
			fail(&rd->f,
			     "stale snapshot: version %" PRIu64
			     " but %" PRIu64 " had completed before the enter",
			     version, cv);
		if (version < rd->last_version)
			fail(&rd->f,
			     "snapshot went back: version %" PRIu64
			     " after %" PRIu64,
			     version, rd->last_version);
		if (version != rd->last_version)
			rd->versions_seen++;
		rd->last_version = version;
	}

	/* Nested section: same snapshot. */
	if ((rng_next(&rd->rng) & 7) == 0) {
		rd->nested++;
		if (gmem_reader_enter(r, &m2) != 0 || m2 != m)
			fail(&rd->f, "nested enter gave another map");
		else if (gmem_reader_exit(r) != 0)
			fail(&rd->f, "nested exit");
	}

	/* Random probes across the data zone. */
	for (p = 0; p < PROBES; p++) {
		uint64_t x = rng_next(&rd->rng), gpa;
		int c;

		gpa = (x % NSLOTS) * SLOT_SPAN + ((x >> 8) % (8 * page / 8)) * 8;
		c = covering(rs, n, gpa);
		rd->probes++;
		if (c < 0)
			check_hole(rd, m, gpa);
		else
			check_covered(rd, m, &rs[c], gpa);
	}
	if (n) {
		const struct seen *s = &rs[rng_next(&rd->rng) % n];

		check_bulk(rd, m, s);
		check_scratch(rd, m, s);
		old = 0;
		e = gmem_atomic_fetch_add_u64(m, s->start, 1, &old);
		if (e)
			fail(&rd->f, "fetch_add %#" PRIx64 ": %d", s->start, e);
		else
			rd->increments++;
	}

	/* The map must be exactly what it was at entry. */
	if (gmem_map_count(m) != count)
		fail(&rd->f, "map count changed inside the section");
	for (i = 0; i < n; i++)
		if (gmem_map_find(m, rs[i].start, &reg) != 0 || reg != rs[i].reg)
			fail(&rd->f, "region %#" PRIx64 " changed",
			     rs[i].start);

	if ((rng_next(&rd->rng) & 15) == 0) {
		e = gmem_reader_ref(r, &ref);
		if (e)
			fail(&rd->f, "reader_ref: %d", e);
	}
	e = gmem_reader_exit(r);
	if (e)
		fail(&rd->f, "exit: %d", e);
	atomic_store_explicit(&rd->progress, rd->sections,
			      memory_order_relaxed);
	if (!ref)
		return;
	/* After the section, through the reference: identity words only. */
	rd->refs++;
	if (ref != m)
		fail(&rd->f, "reader_ref returned another map");
	for (i = 0; i < n; i++) {
		uint64_t v = 0, k = ID_WORD + i;
		int e1 = gmem_read_u64(ref, rs[i].start + 8 * k, &v);

		if (e1 || v != id_word(rs[i].gen, k))
			fail(&rd->f, "via reference %#" PRIx64 ": %d",
			     rs[i].start, e1);
	}
	gmem_map_free(ref);
}

/* Register IDLE_READERS readers, then free them oldest first, so the
 * registry's swap-with-last removal moves live entries. */
static int idle_readers(void)
{
	gmem_reader *idle[IDLE_READERS];
	unsigned k, n;
	int e = 0;

	for (n = 0; n < IDLE_READERS && !e; n++)
		e = gmem_reader_new(&idle[n], space);
	if (e)
		n--;
	for (k = 0; k < n; k++)
		if (gmem_reader_free(idle[k]) != 0 && !e)
			e = -EBUSY;
	return e;
}

static void *reader_main(void *arg)
{
	struct reader *rd = arg;
	gmem_reader *r = NULL;
	int e = gmem_reader_new(&r, space);

	if (e) {
		fail(&rd->f, "reader_new: %d", e);
		return NULL;
	}
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		reader_section(rd, r);
		/* Like a device thread between requests: give the CPU away
		 * outside a section now and then, so that with more threads
		 * than CPUs a reader is rarely preempted inside one (which
		 * would only slow the writer, not test anything more). */
		if ((rd->sections & YIELD_MASK) == 0)
			sched_yield();
		if (rd->sections % REOPEN_EVERY == 0) {
			/* Give the slot back and take one again. */
			e = gmem_reader_free(r);
			r = NULL;
			if (!e)
				e = gmem_reader_new(&r, space);
			if (!e)
				e = idle_readers();
			if (e) {
				fail(&rd->f, "reopen: %d", e);
				return NULL;
			}
			rd->reopened++;
		}
		if (rd->f.count)
			break; /* one failure is enough to report */
	}
	if (gmem_reader_free(r) != 0)
		fail(&rd->f, "reader_free at the end");
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* Writer                                                                    */
/* ------------------------------------------------------------------------ */

enum op {
	OP_INSERT,
	OP_REMOVE,
	OP_UPDATE,
	OP_REPLACE,
	OP_FAIL,
	OP_COUNT
};
static const char *const op_name[OP_COUNT] = { "insert", "remove", "update",
						"replace", "failing update" };

struct writer {
	pthread_t th;
	uint64_t rng, cap;
	struct failure f;
	/* model of the published map */
	bool present[NSLOTS];
	uint64_t gen_of[NSLOTS];
	uint64_t next_gen, version;
	/* removed regions, waiting for a synchronize */
	gmem_region **grave;
	size_t ngrave, grave_cap;
	uint64_t removed_total;
	/* stats */
	uint64_t ops[OP_COUNT][2]; /* [op][deferred] successful publications */
	uint64_t busy, syncs, reclaims, graved;
	atomic_int done;
};

static void grave_add(struct writer *w, gmem_region *reg)
{
	if (w->ngrave == w->grave_cap) {
		size_t nc = w->grave_cap ? 2 * w->grave_cap : 64;
		gmem_region **g = realloc(w->grave, nc * sizeof(*g));

		if (!g)
			tap_bail("realloc");
		w->grave = g;
		w->grave_cap = nc;
	}
	w->grave[w->ngrave++] = reg;
	w->graved++;
}

/* After a synchronize no section can reach a graveyard region: its
 * counter is final. */
static void grave_flush(struct writer *w)
{
	size_t i;

	for (i = 0; i < w->ngrave; i++) {
		uint64_t *c = gmem_region_host(w->grave[i]);

		w->removed_total += __atomic_load_n(c, __ATOMIC_SEQ_CST);
		gmem_region_free(w->grave[i]);
	}
	w->ngrave = 0;
}

static void writer_sync(struct writer *w)
{
	size_t pending = 1;
	int e = gmem_space_synchronize(space);

	if (e)
		fail(&w->f, "synchronize: %d", e);
	w->syncs++;
	e = gmem_space_reclaim(space, &pending);
	if (e == 0 && pending != 0)
		fail(&w->f, "%zu pending right after synchronize", pending);
	grave_flush(w);
}

struct bump {
	uint64_t version;   /* the marker to move from */
	gmem_region *mark;  /* the new marker */
	gmem_region *plug;  /* a data region to add too, or NULL */
};

/* update: move the marker (and maybe plug a region) in one publication. */
static int bump_fn(const gmem_map *cur, gmem_map **next, void *opaque)
{
	struct bump *b = opaque;
	gmem_map *t1 = NULL, *t2 = NULL;
	int e = gmem_map_remove(&t1, cur, VBASE + 8 * b->version, 8, NULL);

	if (e)
		return e;
	e = gmem_map_insert(&t2, t1, b->mark);
	gmem_map_free(t1);
	if (e)
		return e;
	if (b->plug) {
		e = gmem_map_insert(next, t2, b->plug);
		gmem_map_free(t2);
		return e;
	}
	*next = t2;
	return 0;
}

static int fail_fn(const gmem_map *cur, gmem_map **next, void *opaque)
{
	(void)cur;
	(void)next;
	(void)opaque;
	return -EAGAIN;
}

static int pick_slot(struct writer *w, bool want_present)
{
	unsigned start = (unsigned)(rng_next(&w->rng) % NSLOTS), i;

	for (i = 0; i < NSLOTS; i++) {
		unsigned s = (start + i) % NSLOTS;

		if (w->present[s] == want_present)
			return (int)s;
	}
	return -1;
}

/* One publication attempt; returns its error. */
static int writer_op(struct writer *w, enum op op, unsigned flags,
		     bool *bumped)
{
	gmem_region *reg = NULL, *removed = NULL;
	int slot, e = 0;

	*bumped = false;
	switch (op) {
	case OP_INSERT:
		slot = pick_slot(w, false);
		if (slot < 0)
			return -EAGAIN;
		e = data_region(&reg, (unsigned)slot, w->next_gen);
		if (e)
			return e;
		e = gmem_space_insert(space, reg, flags);
		gmem_region_free(reg);
		if (!e) {
			w->present[slot] = true;
			w->gen_of[slot] = w->next_gen++;
		}
		return e;
	case OP_REMOVE:
		slot = pick_slot(w, true);
		if (slot < 0)
			return -EAGAIN;
		e = gmem_space_remove(space,
				      slot_gpa((unsigned)slot, w->gen_of[slot]),
				      gen_len(w->gen_of[slot]), &removed,
				      flags);
		if (!e) {
			if (*(uint64_t *)((uint8_t *)gmem_region_host(removed) +
					  8) != w->gen_of[slot])
				fail(&w->f, "removed the wrong region");
			grave_add(w, removed);
			w->present[slot] = false;
		}
		return e;
	case OP_UPDATE: {
		struct bump b = { w->version, NULL, NULL };

		slot = (rng_next(&w->rng) & 1) ? pick_slot(w, false) : -1;
		e = marker_region(&b.mark, w->version + 1);
		if (!e && slot >= 0)
			e = data_region(&b.plug, (unsigned)slot, w->next_gen);
		if (!e)
			e = gmem_space_update(space, bump_fn, &b, flags);
		gmem_region_free(b.mark);
		gmem_region_free(b.plug);
		if (!e) {
			w->version++;
			*bumped = true;
			if (slot >= 0) {
				w->present[slot] = true;
				w->gen_of[slot] = w->next_gen++;
			}
		}
		return e;
	}
	case OP_REPLACE: {
		gmem_map *cur = NULL, *nm = NULL;
		gmem_region *arr[NSLOTS + 1], *drop = NULL;
		size_t i, n = 0, count;
		int dslot = -1;

		e = gmem_space_current(space, &cur);
		if (e)
			return e;
		count = gmem_map_count(cur);
		if ((rng_next(&w->rng) & 1))
			dslot = pick_slot(w, true);
		for (i = 0; i < count && !e; i++) {
			gmem_region *r;

			e = gmem_map_region(cur, i, &r);
			if (e)
				break;
			if (gmem_region_start(r) >= VBASE)
				continue; /* the old marker */
			if (dslot >= 0 &&
			    gmem_region_start(r) / SLOT_SPAN == (unsigned)dslot) {
				drop = r;
				continue;
			}
			if (n == NSLOTS) {
				e = -E2BIG;
				break;
			}
			arr[n++] = r;
		}
		if (!e)
			e = marker_region(&arr[n], w->version + 1);
		if (!e) {
			e = gmem_map_new(&nm, arr, n + 1, 0);
			gmem_region_free(arr[n]);
		}
		if (!e) {
			if (drop)
				drop = gmem_region_ref(drop);
			e = gmem_space_replace(space, nm, flags);
			gmem_map_free(nm);
			if (!e && drop) {
				grave_add(w, drop);
				w->present[dslot] = false;
			} else {
				gmem_region_free(drop);
			}
		}
		gmem_map_free(cur);
		if (!e) {
			w->version++;
			*bumped = true;
		}
		return e;
	}
	default: {
		gmem_map *before = NULL, *after = NULL;

		e = gmem_space_current(space, &before);
		if (e)
			return e;
		e = gmem_space_update(space, fail_fn, NULL, flags);
		if (e != -EAGAIN && e != -EBUSY)
			fail(&w->f, "failing update returned %d", e);
		if (gmem_space_current(space, &after) != 0 || after != before)
			fail(&w->f, "failing update published something");
		gmem_map_free(before);
		gmem_map_free(after);
		return e == -EAGAIN ? 0 : e;
	}
	}
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	uint64_t n = 0;

	while (!atomic_load(&stop) && n < w->cap && !w->f.count) {
		uint64_t x = rng_next(&w->rng);
		unsigned flags = (x & 3) == 0 ? GMEM_PUBLISH_WAIT
					      : GMEM_PUBLISH_DEFER;
		unsigned r = (unsigned)((x >> 8) % 16);
		enum op op = r < 5 ? OP_INSERT : r < 10 ? OP_REMOVE
				: r < 13 ? OP_UPDATE : r < 15 ? OP_REPLACE
				: OP_FAIL;
		bool bumped = false;
		int e;

		/* Every slot full (or empty): do the other one. */
		if (op == OP_INSERT && pick_slot(w, false) < 0)
			op = OP_REMOVE;
		else if (op == OP_REMOVE && pick_slot(w, true) < 0)
			op = OP_INSERT;
		e = writer_op(w, op, flags, &bumped);
		if (e == -EBUSY && (flags & GMEM_PUBLISH_DEFER)) {
			/* The retired list is full: wait for the readers
			 * once, then the same publication must succeed. */
			w->busy++;
			writer_sync(w);
			e = writer_op(w, op, flags, &bumped);
		}
		if (e) {
			fail(&w->f, "%s (%s): %d %s", op_name[op],
			     flags ? "DEFER" : "WAIT", e, gmem_strerror(e));
			break;
		}
		if (op != OP_FAIL) {
			w->ops[op][flags ? 1 : 0]++;
			n++;
			atomic_store(&published, n);
		}
		if (bumped)
			atomic_store(&completed_version, w->version);
		if (n % 16 == 0) {
			size_t pending = 0;

			e = gmem_space_reclaim(space, &pending);
			if (e == 0) {
				note_pending(pending);
				w->reclaims++;
			} else if (e != -EBUSY) {
				fail(&w->f, "reclaim: %d", e);
			}
		}
		if (n % SYNC_EVERY == 0)
			writer_sync(w);
	}
	atomic_store(&w->done, 1);
	return NULL;
}

/* ------------------------------------------------------------------------ */

int main(void)
{
	double secs = env_seconds(), t0, el, hard;
	unsigned nreaders = (unsigned)env_u64("GMEM_STRESS_READERS", 3, 1,
					      MAX_READERS);
	uint64_t cap = env_u64("GMEM_STRESS_MAX_MAPS", 10000000u, 1,
			       UINT64_MAX);
	size_t max_retired = (size_t)env_u64("GMEM_STRESS_MAX_RETIRED", 4, 1,
					     GMEM_SPACE_LIMIT_MAX_RETIRED);
	uint64_t seed = env_u64("GMEM_STRESS_SEED", 0x5eed5eedu, 1, UINT64_MAX);
	uint64_t min_pub = cap < MIN_PUBLISHED ? cap : MIN_PUBLISHED;
	static struct reader rd[MAX_READERS];
	static struct writer w;
	gmem_region *mark = NULL;
	gmem_map *m0 = NULL, *fin = NULL;
	uint64_t incs = 0, sections = 0, counted, main_reclaims = 0, busy = 0;
	unsigned i;
	int e, bad_reclaim = 0, progressed;
	size_t k;

	page = (uint64_t)sysconf(_SC_PAGESIZE);
	diag("stress_space: %u readers, %.1f s, cap %" PRIu64
	     " maps, max_retired %zu, seed %#" PRIx64,
	     nreaders, secs, cap, max_retired, seed);

	/* Initial map: the version-0 marker and regions in half the slots. */
	atomic_init(&stop, 0);
	atomic_init(&completed_version, 0);
	atomic_init(&max_pending, 0);
	atomic_init(&published, 0);
	memset(&w, 0, sizeof(w));
	w.rng = seed ^ UINT64_C(0x9e3779b97f4a7c15);
	w.cap = cap;
	atomic_init(&w.done, 0);
	if (marker_region(&mark, 0) != 0 || gmem_map_new(&m0, &mark, 1, 0) != 0)
		tap_bail("initial map");
	gmem_region_free(mark);
	for (i = 0; i < NSLOTS; i += 2) {
		gmem_region *reg = NULL;
		gmem_map *t = NULL;

		if (data_region(&reg, i, w.next_gen) != 0 ||
		    gmem_map_insert(&t, m0, reg) != 0)
			tap_bail("initial region");
		gmem_region_free(reg);
		gmem_map_free(m0);
		m0 = t;
		w.present[i] = true;
		w.gen_of[i] = w.next_gen++;
	}
	e = gmem_space_new_atomic(&space, m0, max_retired);
	gmem_map_free(m0);
	if (e)
		tap_bail("gmem_space_new_atomic: %d", e);

	for (i = 0; i < nreaders; i++) {
		rd[i].id = i;
		rd[i].rng = seed + 0x1000193u * (i + 1);
		atomic_init(&rd[i].progress, 0);
		if (pthread_create(&rd[i].th, NULL, reader_main, &rd[i]) != 0)
			tap_bail("pthread_create");
	}
	if (pthread_create(&w.th, NULL, writer_main, &w) != 0)
		tap_bail("pthread_create");

	/* Reclaim concurrently; stop once the time is up and every thread
	 * made its minimum progress (or something failed). */
	t0 = now_s();
	hard = secs + 60.0;
	progressed = 0;
	for (;;) {
		struct timespec ts = { 0, 2000000L };
		size_t pending = 0;
		bool enough = true, writer_done = atomic_load(&w.done) != 0;

		nanosleep(&ts, NULL);
		e = gmem_space_reclaim(space, &pending);
		if (e == 0) {
			main_reclaims++;
			note_pending(pending);
		} else if (e == -EBUSY) {
			busy++;
		} else {
			bad_reclaim = e;
		}
		for (i = 0; i < nreaders; i++)
			if (atomic_load_explicit(&rd[i].progress,
						 memory_order_relaxed) <
			    MIN_SECTIONS)
				enough = false;
		if (atomic_load(&published) < min_pub && !writer_done)
			enough = false;
		el = now_s() - t0;
		if (enough && (el >= secs || writer_done)) {
			progressed = 1;
			break;
		}
		if (el >= hard)
			break;
	}
	atomic_store(&stop, 1);
	/* A writer stuck in the library (say, a grace period that never
	 * ends) must not hang the test run. */
	{
		double end = now_s() + 30.0;

		while (!atomic_load(&w.done) && now_s() < end) {
			struct timespec ts = { 0, 1000000L };

			nanosleep(&ts, NULL);
		}
		if (!atomic_load(&w.done))
			tap_bail("the writer did not return within 30 s of the "
				 "stop request (last publication count %" PRIu64
				 ")",
				 (uint64_t)atomic_load(&published));
	}
	pthread_join(w.th, NULL);
	for (i = 0; i < nreaders; i++)
		pthread_join(rd[i].th, NULL);
	el = now_s() - t0;

	/* Final accounting: nobody is inside a section any more. */
	writer_sync(&w);
	counted = w.removed_total;
	if (gmem_space_current(space, &fin) != 0)
		tap_bail("gmem_space_current");
	for (k = 0; k < gmem_map_count(fin); k++) {
		gmem_region *reg;
		uint64_t v = 0;

		if (gmem_map_region(fin, k, &reg) != 0)
			tap_bail("gmem_map_region");
		if (gmem_region_start(reg) >= VBASE)
			continue;
		if (gmem_atomic_load_u64(fin, gmem_region_start(reg), &v) != 0)
			tap_bail("gmem_atomic_load_u64");
		counted += v;
	}
	gmem_map_free(fin);

	for (i = 0; i < nreaders; i++) {
		incs += rd[i].increments;
		sections += rd[i].sections;
		diag("reader %u: %" PRIu64 " sections (%" PRIu64 " nested, %" PRIu64
		     " refs), %" PRIu64 " probes (%" PRIu64 " holes), %" PRIu64
		     " increments, %" PRIu64 " versions, %" PRIu64 " reopens",
		     i, rd[i].sections, rd[i].nested, rd[i].refs,
		     rd[i].probes, rd[i].holes, rd[i].increments,
		     rd[i].versions_seen, rd[i].reopened);
	}
	diag("writer: %" PRIu64 " maps published in %.2f s (%.0f/s)",
	     atomic_load(&published), el,
	     (double)atomic_load(&published) / (el > 0 ? el : 1));
	for (i = 0; i < OP_COUNT - 1; i++)
		diag("  %-8s WAIT %" PRIu64 ", DEFER %" PRIu64, op_name[i],
		     w.ops[i][0], w.ops[i][1]);
	diag("  regions created %" PRIu64 ", removed and counted %" PRIu64
	     ", version %" PRIu64,
	     w.next_gen, w.graved, w.version);
	diag("  DEFER -EBUSY (retired list full) %" PRIu64
	     ", synchronize %" PRIu64 ", writer reclaims %" PRIu64,
	     w.busy, w.syncs, w.reclaims);
	diag("main: reclaims %" PRIu64 " (-EBUSY %" PRIu64
	     "), max pending retired %zu",
	     main_reclaims, busy, atomic_load(&max_pending));
	diag("sections entered %" PRIu64 ", increments %" PRIu64, sections,
	     incs);

	ok(progressed, "every thread made its minimum progress in time");
	for (i = 0; i < nreaders; i++) {
		if (!ok(rd[i].f.count == 0,
			"reader %u: every section saw one consistent snapshot",
			i))
			diag("  %lu failures; first: %s", rd[i].f.count,
			     rd[i].f.msg);
		ok(rd[i].sections >= MIN_SECTIONS,
		   "reader %u: at least %u sections", i, MIN_SECTIONS);
	}
	if (!ok(w.f.count == 0, "writer: every publication behaved"))
		diag("  %lu failures; first: %s", w.f.count, w.f.msg);
	ok(atomic_load(&published) >= min_pub, "at least %" PRIu64 " maps published",
	   min_pub);
	{
		bool all = true;

		for (i = 0; i < OP_COUNT - 1; i++)
			if (!w.ops[i][0] || !w.ops[i][1])
				all = false;
		ok(all || atomic_load(&published) < 1000,
		   "every publication kind ran in WAIT and DEFER mode");
	}
	is_int(bad_reclaim, 0, "concurrent reclaim only ever gave 0 or -EBUSY");
	ok(atomic_load(&max_pending) <= max_retired,
	   "pending retired maps never exceeded max_retired (%zu <= %zu)",
	   atomic_load(&max_pending), max_retired);
	is_u64(counted, incs,
	       "counters of live and removed regions add up to the readers' "
	       "increments");

	gmem_space_free(space);
	free(w.grave);
	return tap_done();
}
