/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * stress_dirty.c - concurrent writers against a concurrent dirty-bitmap
 * harvester: no dirty bit may be lost, none may appear early, none may be
 * spurious.
 *
 * Guest memory: NPAGES dirty pages of 64 bytes (so 64 pages share one
 * bitmap word and writers constantly race each other and the harvester on
 * the same words) in two adjacent USER regions whose boundary lies in the
 * middle of dirty page SPLIT_PAGE, which therefore has a bit in both
 * regions' bitmaps.
 *
 * Page classes (p % 16):
 *   15       quiet: nobody writes it; writers only read it and run
 *            compare-exchanges on its first word that must fail (and must
 *            not mark); plain (memcpy) reads stay clear of that word, as
 *            TSan treats a failed compare-exchange as an atomic write;
 *   14       shared: every writer does atomic fetch_add on its first word;
 *   0..13    owned by writer (p / 4) % NWRITERS; only the owner writes its
 *            bytes (so plain memcpy/memset writes never race), with every
 *            write path: typed, bulk, fill, atomics, read_fd, raw pointer +
 *            gmem_map_mark_dirty.  Writes may straddle into the next page
 *            of the same 4-page block (one of them crosses the regions).
 *
 * Epoch protocol.  The harvester numbers its harvests h = 1, 2, ...; after
 * harvest h it publishes, with release stores, last_rep[p] = h for every
 * page p it reported, fulldone (count of harvests that covered every page)
 * and hdone = h.  A writer reads s = hdone (acquire) right before a write,
 * so harvest s was complete before the write began, and f = fulldone right
 * after the write's mark.
 *
 * Per-write check (no masking): a writer writes an owned page again only
 * after its previous write was reported by a harvest h > s that is also
 * newer than the report that confirmed the write before.  If instead the
 * second full harvest after f completes without such a report, the mark
 * was lost (gmem.h: no mark is lost; with a fence after the write, as
 * here, the mark is visible to every harvest that starts later).  Because
 * writes to a page never overlap their reporting windows, an owned page
 * must be reported exactly once per write: fewer is a lost bit, more is a
 * bit a harvest failed to clear.
 *
 * Whole-run checks, for every page p:
 *   - no lost bit:  some harvest h > max(s over p's writes) reports p
 *                   (the final harvest, after the writers are joined,
 *                   counts);
 *   - no early bit: no harvest h <= min(s over p's writes) reports p;
 *   - no spurious:  a page nobody wrote is never reported.
 *
 * The harvester rotates through map-level harvests of the whole range, of
 * random sub-ranges (partial words), through a second map sharing the
 * regions (bitmaps survive map swaps), and region-level harvests.  Only the
 * main thread emits TAP.  Duration: GMEM_STRESS_SECONDS (default 1).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gmem.h"
#include "tap.h"

#define NWRITERS 3
#define DPS 64u
#define SHIFT 6u
#define NPAGES 16384u
#define NWORDS (NPAGES / 64u)
#define BASE 0x100000u
#define SPLIT_PAGE 8194u
#define SPLIT_OFF (SPLIT_PAGE * DPS + 16u) /* R0's length */
#define UNSET UINT64_MAX

enum pclass { QUIET, SHARED, OWNED };

static enum pclass page_class(uint64_t p)
{
	unsigned c = (unsigned)(p % 16);

	return c == 15 ? QUIET : c == 14 ? SHARED : OWNED;
}

static unsigned owner(uint64_t p)
{
	return (unsigned)((p / 4) % NWRITERS);
}

/* Whether an owned page p may be written together with p + 1. */
static int may_straddle(uint64_t p)
{
	return (p + 1) % 4 != 0 && page_class(p + 1) == OWNED && p + 1 < NPAGES;
}

static uint64_t gpa_of(uint64_t p)
{
	return BASE + p * DPS;
}

/* ------------------------------------------------------------------------ */

static gmem_map *M1, *M2;
static gmem_region *R[2], *X;
static uint8_t *block, *xblock;

/* Published by the harvester, read by the writers. */
static atomic_uint_least64_t hdone;		/* harvests completed */
static atomic_uint_least64_t fulldone;		/* full-range harvests completed */
static atomic_uint_least64_t last_rep[NPAGES];	/* last harvest reporting p */
static atomic_int stop_writers, stop_harvester;

struct writer {
	unsigned id;
	pthread_t th;
	uint64_t rng;
	int pfd[2];
	/* Per page, for the pages this writer writes. */
	uint64_t smax[NPAGES];	 /* hdone before the latest write */
	uint64_t sfirst[NPAGES]; /* hdone before the first write */
	uint64_t writes[NPAGES];
	uint8_t pending[NPAGES]; /* written, not yet seen reported */
	uint64_t pend_s[NPAGES]; /* hdone before that write */
	uint64_t pend_f[NPAGES]; /* fulldone after that write's mark */
	uint64_t conf[NPAGES];	 /* the report that confirmed the previous one */
	uint64_t ops, busy, confirmed, lost, unexpected;
	uint64_t shared_adds[NPAGES / 16];
	int last_bad;
	char last_what[64];
	char lost_what[96];
};

struct harvester {
	pthread_t th;
	uint64_t rng;
	uint64_t first_seen[NPAGES]; /* 0 = never */
	uint64_t last_seen[NPAGES];
	uint64_t reports[NPAGES];
	uint64_t harvests, full, seen_mid, errors;
	int last_err;
};

static struct writer W[NWRITERS];
static struct harvester H;

static uint64_t xs(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

static uint64_t rnd(uint64_t *s, uint64_t n)
{
	return xs(s) % n;
}

/* ------------------------------------------------------------------------ */
/* Writers                                                                   */
/* ------------------------------------------------------------------------ */

static void bad(struct writer *w, const char *what, int rc)
{
	w->unexpected++;
	w->last_bad = rc;
	snprintf(w->last_what, sizeof(w->last_what), "%s", what);
}

/* A random owned page of writer w. */
static uint64_t own_page(struct writer *w)
{
	for (;;) {
		uint64_t p = rnd(&w->rng, NPAGES);

		if (page_class(p) == OWNED && owner(p) == w->id)
			return p;
	}
}

/*
 * Per-write check without masking: a writer writes an owned page again only
 * once its previous write has been seen in a harvest that began after it
 * (last_rep > pend_s, and newer than the report that confirmed the write
 * before).  If the second full-range harvest after the write's mark has
 * completed and the page still was not reported, the mark was lost: gmem.h
 * promises a racing mark shows up in the harvest it raced or the next one.
 */
static int available(struct writer *w, uint64_t q)
{
	uint64_t fd, r;

	if (!w->pending[q])
		return 1;
	fd = atomic_load_explicit(&fulldone, memory_order_acquire);
	r = atomic_load_explicit(&last_rep[q], memory_order_acquire);
	if (r > w->pend_s[q] && r > w->conf[q]) {
		w->pending[q] = 0;
		w->conf[q] = r;
		w->confirmed++;
		return 1;
	}
	if (fd >= w->pend_f[q] + 2) {
		if (w->lost++ == 0)
			snprintf(w->lost_what, sizeof(w->lost_what),
				 "page %" PRIu64 ": written after harvest %"
				 PRIu64 ", last reported %" PRIu64,
				 q, w->pend_s[q], r);
		w->pending[q] = 0;
		w->conf[q] = r;
		return 1;
	}
	return 0;
}

static void wrote(struct writer *w, uint64_t q, uint64_t s, uint64_t f)
{
	if (w->sfirst[q] == UNSET)
		w->sfirst[q] = s;
	w->smax[q] = s; /* s never decreases */
	w->writes[q]++;
	w->pending[q] = 1;
	w->pend_s[q] = s;
	w->pend_f[q] = f;
}

/* Atomic fetch_add on a shared page's first word (every writer). */
static void shared_op(struct writer *w)
{
	uint64_t sp = rnd(&w->rng, NPAGES / 16) * 16 + 14;
	uint64_t s = atomic_load_explicit(&hdone, memory_order_acquire);
	int rc = gmem_atomic_fetch_add_u64(M1, gpa_of(sp), 1, NULL);

	if (rc != 0) {
		bad(w, "shared fetch_add", rc);
		return;
	}
	w->shared_adds[sp / 16]++;
	if (w->sfirst[sp] == UNSET)
		w->sfirst[sp] = s;
	w->smax[sp] = s;
	w->writes[sp]++;
	w->ops++;
}

/* Reads and failing compare-exchanges on a quiet page. */
static void quiet_op(struct writer *w)
{
	uint64_t qp = rnd(&w->rng, NPAGES / 16) * 16 + 15, e = 1, x = 0;
	uint32_t x32 = 0;
	uint8_t rb[DPS - 24];
	int rc = gmem_atomic_cmpxchg_u64(M1, gpa_of(qp), &e, 2);

	if (rc != -EAGAIN || e != 0)
		bad(w, "quiet cmpxchg", rc);
	if (gmem_read_u64(M1, gpa_of(qp) + 8, &x) != 0 ||
	    gmem_atomic_load_u32(M1, gpa_of(qp) + 16, &x32) != 0 ||
	    gmem_read(M1, gpa_of(qp) + 24, rb, sizeof(rb)) != 0)
		bad(w, "quiet read", -1);
	w->ops++;
}

static void write_once(struct writer *w)
{
	uint64_t p = 0, g, v = xs(&w->rng), off, len, s, f, q;
	int straddle = 0, tries, rc = 0;
	uint8_t buf[2 * DPS];
	unsigned op = (unsigned)rnd(&w->rng, 12);

	if (op == 10) {
		shared_op(w);
		return;
	}
	if (op == 11) {
		quiet_op(w);
		return;
	}
	for (tries = 0; tries < 16; tries++) {
		p = own_page(w);
		straddle = may_straddle(p) && rnd(&w->rng, 2);
		if (available(w, p) && (!straddle || available(w, p + 1)))
			break;
	}
	if (tries == 16) {
		w->busy++;
		return;
	}
	g = gpa_of(p);
	memset(buf, (int)(v & 0xff), sizeof(buf));
	/* Byte range [off, off + len) relative to page p's start. */
	off = rnd(&w->rng, DPS);
	len = 1 + rnd(&w->rng, (straddle ? 2 * DPS : DPS) - off);
	s = atomic_load_explicit(&hdone, memory_order_acquire);
	switch (op) {
	case 0:
		off = 8 * rnd(&w->rng, DPS / 8);
		len = 8;
		rc = gmem_write_u64(M1, g + off, v);
		break;
	case 1:
		rc = gmem_write(M1, g + off, buf, (size_t)len);
		break;
	case 2:
		rc = gmem_fill(M1, g + off, len, (uint8_t)v);
		break;
	case 3:
		off = 4 * rnd(&w->rng, DPS / 4);
		len = 4;
		rc = gmem_atomic_store_u32(M1, g + off, (uint32_t)v);
		break;
	case 4:
		off = 8 * rnd(&w->rng, DPS / 8);
		len = 8;
		rc = gmem_atomic_fetch_add_u64(M1, g + off, v, NULL);
		break;
	case 5:
		off = 2 * rnd(&w->rng, DPS / 2);
		len = 2;
		rc = gmem_atomic_fetch_or_u16(M1, g + off, (uint16_t)v, NULL);
		break;
	case 6: {
		uint64_t cur = 0;

		off = 8 * rnd(&w->rng, DPS / 8);
		len = 8;
		rc = gmem_atomic_load_u64(M1, g + off, &cur);
		if (rc == 0)
			rc = gmem_atomic_cmpxchg_u64(M1, g + off, &cur, cur + 1);
		break;
	}
	case 7:
		/* Unaligned typed write, possibly straddling pages/regions. */
		off = straddle ? DPS - 1 - rnd(&w->rng, 3) : rnd(&w->rng, DPS - 3);
		len = 4;
		rc = gmem_write_be32(M1, g + off, (uint32_t)v);
		break;
	case 8: {
		/* From a pipe: only the bytes read count. */
		size_t done = 0;

		if (write(w->pfd[1], buf, (size_t)len) != (ssize_t)len) {
			bad(w, "pipe write", -errno);
			return;
		}
		rc = gmem_read_fd(M1, g + off, (size_t)len, w->pfd[0], &done);
		if (rc == 0 && done != len) {
			bad(w, "read_fd short", (int)done);
			return;
		}
		break;
	}
	default: {
		/* Raw pointer, then an explicit mark. */
		void *h = NULL;
		uint64_t avail = 0;

		rc = gmem_translate(M1, g + off, len, GMEM_ACCESS_WRITE, &h,
				    &avail);
		if (rc == 0) {
			memset(h, (int)(v & 0xff), (size_t)avail);
			if (avail < len) {
				void *h2 = NULL;
				uint64_t a2 = 0;

				rc = gmem_translate(M1, g + off + avail,
						    len - avail,
						    GMEM_ACCESS_WRITE, &h2, &a2);
				if (rc == 0)
					memset(h2, 1, (size_t)a2);
			}
		}
		if (rc == 0)
			rc = gmem_map_mark_dirty(M1, g + off, len);
		break;
	}
	}
	if (rc != 0) {
		bad(w, "write", rc);
		return;
	}
	/* Marks are release stores (gmem.h): without this fence x86 may read
	 * fulldone while the mark still sits in the store buffer behind the
	 * write's data, and two fast harvests can pass before it drains.  The
	 * fence makes "two full harvests after f" a sound deadline. */
	atomic_thread_fence(memory_order_seq_cst);
	f = atomic_load_explicit(&fulldone, memory_order_acquire);
	w->ops++;
	for (q = off / DPS; q <= (off + len - 1) / DPS; q++)
		wrote(w, p + q, s, f);
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;

	do
		write_once(w);
	while (!atomic_load_explicit(&stop_writers, memory_order_relaxed));
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* Harvester                                                                 */
/* ------------------------------------------------------------------------ */

/* Report the set bits of bm (nbits bits) as pages first_page + i. */
static uint64_t report(struct harvester *hv, const uint64_t *bm, uint64_t nbits,
		       uint64_t first_page, uint64_t h)
{
	uint64_t n = 0;

	for (uint64_t wi = 0; wi < (nbits + 63) / 64; wi++) {
		uint64_t word = bm[wi];

		while (word) {
			uint64_t i = wi * 64 + (uint64_t)__builtin_ctzll(word);
			uint64_t p = first_page + i;

			word &= word - 1;
			if (i >= nbits)
				break;
			if (hv->first_seen[p] == 0)
				hv->first_seen[p] = h;
			hv->last_seen[p] = h;
			hv->reports[p]++;
			atomic_store_explicit(&last_rep[p], h,
					      memory_order_release);
			n++;
		}
	}
	return n;
}

/* One harvest, numbered h, of the kind chosen by mode; 1 if it covered
 * every page. */
static int harvest(struct harvester *hv, uint64_t h, unsigned mode,
		   uint64_t *n)
{
	static uint64_t bm[NWORDS + 1];
	uint64_t a, b;
	size_t nbits;
	int rc, full = 1;

	*n = 0;
	switch (mode) {
	case 0:
	case 3:
		rc = gmem_map_dirty_harvest(mode ? M2 : M1, BASE,
					    (uint64_t)NPAGES * DPS, DPS, bm,
					    NWORDS);
		if (rc == 0)
			*n = report(hv, bm, NPAGES, 0, h);
		break;
	case 1:
		full = 0;
		a = rnd(&hv->rng, NPAGES);
		b = a + 1 + rnd(&hv->rng, NPAGES - a);
		rc = gmem_map_dirty_harvest(M2, gpa_of(a), (b - a) * DPS, DPS,
					    bm, NWORDS);
		if (rc == 0)
			*n = report(hv, bm, b - a, a, h);
		break;
	default:
		rc = gmem_region_dirty_harvest(R[0], bm, NWORDS + 1, &nbits);
		if (rc == 0)
			*n = report(hv, bm, nbits, 0, h);
		if (rc == 0) {
			rc = gmem_region_dirty_harvest(R[1], bm, NWORDS + 1,
						       &nbits);
			if (rc == 0)
				*n += report(hv, bm, nbits, SPLIT_PAGE, h);
		}
		break;
	}
	if (rc != 0) {
		hv->errors++;
		hv->last_err = rc;
		full = 0;
	}
	return full;
}

static void *harvester_main(void *arg)
{
	struct harvester *hv = arg;
	uint64_t h = 0, n;

	do {
		h++;
		if (harvest(hv, h, (unsigned)(h % 4), &n))
			atomic_store_explicit(&fulldone, ++hv->full,
					      memory_order_release);
		hv->seen_mid += n;
		atomic_store_explicit(&hdone, h, memory_order_release);
	} while (!atomic_load_explicit(&stop_harvester, memory_order_relaxed));
	hv->harvests = h;
	return NULL;
}

/* ------------------------------------------------------------------------ */

static void setup(void)
{
	struct gmem_region_config cfg = GMEM_REGION_CONFIG_INIT;
	uint64_t total = (uint64_t)NPAGES * DPS;

	block = calloc(1, (size_t)total);
	xblock = calloc(1, 4096);
	if (!block || !xblock)
		tap_bail("calloc");
	cfg.backing = GMEM_BACKING_USER;
	cfg.flags = GMEM_REGION_DIRTY_LOG;
	cfg.dirty_page_size = DPS;
	cfg.gpa = BASE;
	cfg.len = SPLIT_OFF;
	cfg.host = block;
	if (gmem_region_new(&R[0], &cfg) != 0)
		tap_bail("R0");
	cfg.gpa = BASE + SPLIT_OFF;
	cfg.len = total - SPLIT_OFF;
	cfg.host = block + SPLIT_OFF;
	if (gmem_region_new(&R[1], &cfg) != 0)
		tap_bail("R1");
	cfg = (struct gmem_region_config)GMEM_REGION_CONFIG_INIT;
	cfg.backing = GMEM_BACKING_USER;
	cfg.gpa = 0x10000;
	cfg.len = 4096;
	cfg.host = xblock;
	if (gmem_region_new(&X, &cfg) != 0)
		tap_bail("X");
	if (gmem_map_new(&M1, R, 2, 0) != 0 || gmem_map_insert(&M2, M1, X) != 0)
		tap_bail("maps");
}

static void teardown(void)
{
	gmem_map_free(M1);
	gmem_map_free(M2);
	gmem_region_free(R[0]);
	gmem_region_free(R[1]);
	gmem_region_free(X);
	free(block);
	free(xblock);
}

static double stress_seconds(void)
{
	const char *e = getenv("GMEM_STRESS_SECONDS");
	double d = 1.0;

	if (e && *e) {
		char *end = NULL;
		double v = strtod(e, &end);

		if (end != e && v > 0 && v < 86400)
			d = v;
	}
	return d;
}

int main(void)
{
	double secs = stress_seconds();
	struct timespec ts;
	uint64_t lost = 0, late = 0, early = 0, spurious = 0, quiet_seen = 0, unseen = 0;
	uint64_t unexpected = 0, written = 0, final_n, miscount = 0;
	uint64_t confirmed = 0, busy = 0, final_lost = 0, shared_over = 0;
	uint64_t bm[NWORDS];
	int ok_final = 1;

	setup();
	diag("%d writers, %u pages of %u bytes, %.2f s", NWRITERS, NPAGES, DPS,
	     secs);
	atomic_init(&hdone, 0);
	atomic_init(&fulldone, 0);
	for (unsigned p = 0; p < NPAGES; p++)
		atomic_init(&last_rep[p], 0);
	atomic_init(&stop_writers, 0);
	atomic_init(&stop_harvester, 0);
	H.rng = 0x9e3779b97f4a7c15ULL;
	for (unsigned i = 0; i < NWRITERS; i++) {
		struct writer *w = &W[i];

		w->id = i;
		w->rng = 0x1234567ULL * (i + 1) + 1;
		for (unsigned p = 0; p < NPAGES; p++) {
			w->sfirst[p] = UNSET;
			w->smax[p] = UNSET;
		}
		if (pipe2(w->pfd, O_CLOEXEC) != 0)
			tap_bail("pipe");
	}
	if (pthread_create(&H.th, NULL, harvester_main, &H) != 0)
		tap_bail("pthread_create");
	for (unsigned i = 0; i < NWRITERS; i++)
		if (pthread_create(&W[i].th, NULL, writer_main, &W[i]) != 0)
			tap_bail("pthread_create");
	ts.tv_sec = (time_t)secs;
	ts.tv_nsec = (long)((secs - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	atomic_store(&stop_writers, 1);
	for (unsigned i = 0; i < NWRITERS; i++)
		pthread_join(W[i].th, NULL);
	atomic_store(&stop_harvester, 1);
	pthread_join(H.th, NULL);

	/* The final harvest, after every writer stopped. */
	(void)harvest(&H, H.harvests + 1, 0, &final_n);
	diag("harvests %" PRIu64 " (%" PRIu64 " full), pages reported mid-run %"
	     PRIu64 ", at the end %" PRIu64,
	     H.harvests, H.full, H.seen_mid, final_n);

	for (unsigned i = 0; i < NWRITERS; i++) {
		struct writer *w = &W[i];

		ok(w->ops > 0, "writer %u made progress (%" PRIu64 " writes, %"
		   PRIu64 " confirmed, %" PRIu64 " busy)", i, w->ops,
		   w->confirmed, w->busy);
		unexpected += w->unexpected;
		if (w->unexpected)
			diag("writer %u: %" PRIu64 " unexpected results, last %s: %d",
			     i, w->unexpected, w->last_what, w->last_bad);
		lost += w->lost;
		if (w->lost)
			diag("writer %u: %" PRIu64 " lost marks, first: %s", i,
			     w->lost, w->lost_what);
		confirmed += w->confirmed;
		busy += w->busy;
		/* Writes still pending at the end: the final harvest (or an
		 * earlier one) must have reported them. */
		for (unsigned p = 0; p < NPAGES; p++)
			if (w->pending[p] && (H.last_seen[p] <= w->pend_s[p] ||
					      H.last_seen[p] <= w->conf[p])) {
				if (final_lost++ < 5)
					diag("page %u: last write never reported", p);
			}
	}
	is_u64(unexpected, 0, "every call returned what the header documents");
	is_u64(H.errors, 0, "every harvest succeeded");
	if (H.errors)
		diag("last harvest error %d", H.last_err);
	ok(H.harvests >= 2, "the harvester ran concurrently (%" PRIu64 " harvests)",
	   H.harvests);
	ok(H.seen_mid > 0, "mid-run harvests reported dirty pages");
	ok(confirmed > 0, "writes were confirmed by concurrent harvests (%" PRIu64
	   ")", confirmed);
	is_u64(lost, 0, "no lost mark: every write reported within two full "
	       "harvests after it");
	is_u64(final_lost, 0, "no lost mark among the last writes");

	for (unsigned p = 0; p < NPAGES; p++) {
		uint64_t smax = UNSET, sfirst = UNSET, nw = 0;

		for (unsigned i = 0; i < NWRITERS; i++) {
			nw += W[i].writes[p];
			if (W[i].smax[p] == UNSET)
				continue;
			if (smax == UNSET || W[i].smax[p] > smax)
				smax = W[i].smax[p];
			if (sfirst == UNSET || W[i].sfirst[p] < sfirst)
				sfirst = W[i].sfirst[p];
		}
		if (smax == UNSET) {
			if (H.first_seen[p] != 0) {
				if (spurious++ < 5)
					diag("page %u reported, never written", p);
				if (page_class(p) == QUIET)
					quiet_seen++;
			}
			continue;
		}
		written++;
		if (H.first_seen[p] == 0 && unseen++ < 5)
			diag("page %u written, never reported", p);
		if (H.last_seen[p] <= smax && late++ < 5)
			diag("page %u: last write after harvest %" PRIu64
			     ", last reported by harvest %" PRIu64,
			     p, smax, H.last_seen[p]);
		if (H.first_seen[p] != 0 && H.first_seen[p] <= sfirst &&
		    early++ < 5)
			diag("page %u: first written after harvest %" PRIu64
			     ", already reported by harvest %" PRIu64,
			     p, sfirst, H.first_seen[p]);
		if (page_class(p) == SHARED) {
			/* Concurrent adds may share one report, never more
			 * reports than adds. */
			if (H.reports[p] > nw && shared_over++ < 5)
				diag("shared page %u: %" PRIu64 " reports for %"
				     PRIu64 " writes", p, H.reports[p], nw);
		} else if (p != SPLIT_PAGE && H.reports[p] != nw) {
			/* One owner, each write confirmed before the next:
			 * exactly one report per write. */
			if (miscount++ < 5)
				diag("page %u: %" PRIu64 " reports for %" PRIu64
				     " writes", p, H.reports[p], nw);
		}
	}
	diag("%" PRIu64 " pages written", written);
	ok(written > NPAGES / 4, "writers covered many pages");
	is_u64(unseen, 0, "every written page was reported (union covers all)");
	is_u64(late, 0, "every page reported after its last write");
	is_u64(early, 0, "no dirty bit before the page's first write");
	is_u64(spurious, 0, "no page reported that nobody wrote");
	is_u64(quiet_seen, 0, "quiet pages (reads, failed cmpxchg) never reported");
	is_u64(miscount, 0, "owned pages: exactly one report per write");
	is_u64(shared_over, 0, "shared pages: no more reports than writes");

	/* The shared atomic words hold the sum of every writer's adds. */
	for (unsigned k = 0; k < NPAGES / 16; k++) {
		uint64_t sum = 0, val = 1;

		for (unsigned i = 0; i < NWRITERS; i++)
			sum += W[i].shared_adds[k];
		if (gmem_atomic_load_u64(M1, gpa_of((uint64_t)k * 16 + 14),
					 &val) != 0 ||
		    val != sum)
			ok_final = 0;
	}
	ok(ok_final, "shared atomic counters equal the sum of all adds");
	memset(bm, 0xff, sizeof(bm));
	{
		int clean = gmem_map_dirty_query(M1, BASE, (uint64_t)NPAGES * DPS,
						 DPS, bm, NWORDS) == 0;

		for (unsigned i = 0; i < NWORDS; i++)
			clean &= bm[i] == 0;
		ok(clean, "after the final harvest every bit is clear");
	}
	diag("%" PRIu64 " writes confirmed online, %" PRIu64
	     " picks skipped while a page waited for its report",
	     confirmed, busy);
	for (unsigned i = 0; i < NWRITERS; i++) {
		close(W[i].pfd[0]);
		close(W[i].pfd[1]);
	}
	teardown();
	return tap_done();
}
