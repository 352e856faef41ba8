/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * test_space_unmap.c - when a hot-unplugged region's host mapping goes away.
 *
 * gmem.h promises (gmem_space_remove): "The region's host mapping stays
 * valid until no snapshot or reference can reach it; then (unless @removed
 * or another map keeps it) it is unmapped."  Each case removes an ANON
 * region of 4 pages filled with a pattern, drops every reference the test
 * itself holds, and watches the saved host address with mincore(2): 0 while
 * mapped, -1/ENOMEM once unmapped.
 *
 *   defer      the main thread's reader is inside a section; the (same)
 *              control thread removes with GMEM_PUBLISH_DEFER, so nobody
 *              waits.  The snapshot still reads the pattern (gmem_read and
 *              the host pointer); a new section does not see the region;
 *              after the exit, gmem_space_reclaim() unmaps it.
 *   wait       a reader thread is inside a section; the control thread
 *              removes with GMEM_PUBLISH_WAIT and blocks.  The reader sees
 *              the removal published and still reads the pattern, then
 *              raises a flag and exits; the writer returns only after that
 *              flag, and the mapping is gone the moment it returns.
 *   ref        gmem_reader_ref() keeps the region mapped past the section,
 *              the WAIT removal and a reclaim, until the reference drops.
 *   spacefree  retired maps pending when the space's last reference goes
 *              (a reader outlives the creator) are dropped with it.
 *   user       a GMEM_BACKING_USER region is never unmapped by libgmem.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "gmem.h"
#include "tap.h"
#include "testutil.h"

#define GPA UINT64_C(0x40000)
#define NPAGES 4u
#define TIMEOUT_S 10.0

static uint64_t page, len;

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

/* The 8-byte word at byte offset off of a test region. */
static uint64_t pattern(uint64_t off, unsigned seed)
{
	return UINT64_C(0x5eed000000000000) | ((uint64_t)seed << 32) |
	       (off / 8);
}

/* A 4-page ANON region at GPA filled with pattern(., seed). */
static gmem_region *mk_region(unsigned seed)
{
	gmem_region *r = NULL;
	uint64_t *h, i;
	int rc = gmem_region_new_anon(&r, GPA, len, 0);

	if (rc != 0 || !r)
		tap_bail("gmem_region_new_anon: %s", gmem_strerror(rc));
	h = gmem_region_host(r);
	for (i = 0; i < len / 8; i++)
		h[i] = pattern(i * 8, seed);
	return r;
}

/* An atomic space whose only reference to r is through its map. */
static gmem_space *mk_space(gmem_region *r, size_t max_retired)
{
	gmem_map *m = NULL;
	gmem_space *s = NULL;

	if (gmem_map_new(&m, &r, 1, 0) != 0 ||
	    gmem_space_new_atomic(&s, m, max_retired) != 0)
		tap_bail("map/space");
	gmem_map_free(m);
	return s;
}

/* How many of the region's NPAGES pages are mapped; -1 on a mincore error
 * other than ENOMEM. */
static int pages_mapped(const void *host)
{
	unsigned i;
	int n = 0;

	for (i = 0; i < NPAGES; i++) {
		int m = tu_page_mapped((const char *)host + i * page);

		if (m < 0)
			return -1;
		n += m;
	}
	return n;
}

/* Whether the host memory at h holds pattern(., seed) throughout. */
static bool host_holds(const void *h, unsigned seed)
{
	const uint64_t *w = h;
	uint64_t i;

	for (i = 0; i < len / 8; i++)
		if (w[i] != pattern(i * 8, seed))
			return false;
	return true;
}

/* Whether gmem_read of the whole region through m gives the pattern. */
static bool map_holds(const gmem_map *m, unsigned seed)
{
	uint64_t *buf = malloc((size_t)len), i;
	bool good;

	if (!buf)
		tap_bail("malloc");
	good = gmem_read(m, GPA, buf, (size_t)len) == 0;
	for (i = 0; good && i < len / 8; i++)
		good = buf[i] == pattern(i * 8, seed);
	free(buf);
	return good;
}

static gmem_reader *new_reader(gmem_space *s)
{
	gmem_reader *r = NULL;

	if (gmem_reader_new(&r, s) != 0 || !r)
		tap_bail("gmem_reader_new");
	return r;
}

/* ------------------------------------------------------------------------ */

static void test_defer(void)
{
	gmem_region *reg = mk_region(1);
	void *host = gmem_region_host(reg);
	gmem_space *s = mk_space(reg, 0);
	gmem_reader *r = new_reader(s), *r2 = new_reader(s);
	const gmem_map *snap = NULL, *now = NULL;
	size_t pending = 99;
	uint64_t w = 0;

	diag("DEFER: the main thread's own section keeps a removed region");
	is_int(pages_mapped(host), NPAGES, "defer: region mapped");
	is_int(gmem_reader_enter(r, &snap), 0, "defer: reader enters");
	ok(map_holds(snap, 1), "defer: snapshot reads the pattern");
	is_int(gmem_space_remove(s, GPA, len, NULL, GMEM_PUBLISH_DEFER), 0,
	       "defer: control thread removes the region (DEFER)");
	gmem_region_free(reg); /* the control thread's own reference */
	reg = NULL;
	is_int(pages_mapped(host), NPAGES,
	       "defer: still mapped (the retired map holds it)");
	ok(map_holds(snap, 1),
	   "defer: the snapshot still reads the pattern (gmem_read)");
	ok(host_holds(host, 1),
	   "defer: ... and through the host pointer");
	is_int(gmem_read_u64(snap, GPA + len - 8, &w), 0,
	       "defer: last word through the snapshot");
	is_u64(w, pattern(len - 8, 1), "defer: last word value");
	is_int(gmem_reader_enter(r2, &now), 0, "defer: a new section");
	is_int(gmem_map_count(now), 0, "defer: the new section has no region");
	is_int(gmem_read_u64(now, GPA, &w), -EFAULT,
	       "defer: the new section gets -EFAULT");
	is_int(gmem_reader_exit(r2), 0, "defer: exit the new section");
	is_int(gmem_space_reclaim(s, &pending), 0, "defer: reclaim");
	is_int(pending, 1, "defer: the old map waits for the open section");
	is_int(pages_mapped(host), NPAGES, "defer: still mapped after reclaim");
	ok(host_holds(host, 1), "defer: and still intact");
	is_int(gmem_reader_exit(r), 0, "defer: the reader exits");
	is_int(pages_mapped(host), NPAGES,
	       "defer: mapped until somebody reclaims");
	is_int(gmem_space_reclaim(s, &pending), 0, "defer: reclaim");
	is_int(pending, 0, "defer: the old map is dropped");
	is_int(pages_mapped(host), 0,
	       "defer: the region is unmapped (mincore: ENOMEM)");
	gmem_reader_free(r);
	gmem_reader_free(r2);
	gmem_space_free(s);
}

/* ------------------------------------------------------------------------ */

struct wreader {
	gmem_space *s;
	const void *host;
	atomic_int entered, exiting, checked;
	int err;		/* setup failure */
	int read_before;	/* pattern read before the removal */
	int saw_publish;	/* a fresh section saw the region gone */
	int read_after;		/* snapshot read after the publication */
	int host_after;		/* host pointer read after the publication */
	int mapped_after;	/* pages_mapped() after the publication */
};

static void *wreader_main(void *arg)
{
	struct wreader *t = arg;
	gmem_reader *r = NULL, *probe = NULL;
	const gmem_map *snap = NULL, *pm = NULL;
	double end;

	if (gmem_reader_new(&r, t->s) != 0 ||
	    gmem_reader_new(&probe, t->s) != 0 ||
	    gmem_reader_enter(r, &snap) != 0) {
		t->err = 1;
		atomic_store(&t->entered, 1);
		atomic_store(&t->exiting, 1);
		goto out;
	}
	t->read_before = map_holds(snap, 2);
	atomic_store(&t->entered, 1);
	/* Wait until the writer's removal is published (it is then waiting
	 * for this section). */
	end = now_s() + TIMEOUT_S;
	while (!t->saw_publish && now_s() < end) {
		if (gmem_reader_enter(probe, &pm) != 0)
			break;
		t->saw_publish = gmem_map_count(pm) == 0;
		(void)gmem_reader_exit(probe);
		if (!t->saw_publish)
			sched_yield();
	}
	t->read_after = map_holds(snap, 2);
	t->host_after = host_holds(t->host, 2);
	t->mapped_after = pages_mapped(t->host);
	atomic_store(&t->exiting, 1);
	(void)gmem_reader_exit(r);
out:
	/* Free nothing until the main thread has looked at the mappings. */
	(void)wait_flag(&t->checked, 1);
	(void)gmem_reader_free(r);
	(void)gmem_reader_free(probe);
	return NULL;
}

static void test_wait(void)
{
	gmem_region *reg = mk_region(2);
	struct wreader t;
	pthread_t th;
	int rc, exited_first, mapped;

	diag("WAIT: the writer blocks until the reader thread exits");
	memset(&t, 0, sizeof(t));
	t.host = gmem_region_host(reg);
	t.s = mk_space(reg, 0);
	gmem_region_free(reg); /* only the space's map holds it now */
	atomic_init(&t.entered, 0);
	atomic_init(&t.exiting, 0);
	atomic_init(&t.checked, 0);
	if (pthread_create(&th, NULL, wreader_main, &t) != 0)
		tap_bail("pthread_create");
	ok(wait_flag(&t.entered, 1), "wait: reader thread entered");
	is_int(t.err, 0, "wait: reader set up");
	is_int(gmem_space_remove(t.s, GPA, len, NULL, GMEM_PUBLISH_WAIT), 0,
	       "wait: remove (WAIT) returned 0");
	exited_first = atomic_load(&t.exiting);
	mapped = pages_mapped(t.host);
	atomic_store(&t.checked, 1);
	rc = pthread_join(th, NULL);
	is_int(rc, 0, "wait: reader thread joined");
	is_int(exited_first, 1,
	       "wait: the writer returned after the reader's exit flag");
	is_int(mapped, 0,
	       "wait: the mapping is gone as soon as the writer returns");
	ok(t.read_before, "wait: reader read the pattern before the removal");
	ok(t.saw_publish,
	   "wait: reader saw the removal published while still inside");
	ok(t.read_after,
	   "wait: after the publication the snapshot still reads the pattern");
	ok(t.host_after, "wait: ... and so does the host pointer");
	is_int(t.mapped_after, NPAGES,
	       "wait: the region was mapped while the reader was inside");
	gmem_space_free(t.s);
}

/* ------------------------------------------------------------------------ */

struct refreader {
	gmem_map *ref;
	int good;
};

static void *refreader_main(void *arg)
{
	struct refreader *t = arg;

	t->good = map_holds(t->ref, 3);
	return NULL;
}

static void test_ref(void)
{
	gmem_region *reg = mk_region(3);
	void *host = gmem_region_host(reg);
	gmem_space *s = mk_space(reg, 0);
	gmem_reader *r = new_reader(s);
	const gmem_map *snap = NULL;
	gmem_map *ref = NULL;
	size_t pending = 99;

	diag("gmem_reader_ref keeps a removed region mapped");
	gmem_region_free(reg);
	is_int(gmem_reader_enter(r, &snap), 0, "ref: enter");
	is_int(gmem_reader_ref(r, &ref), 0, "ref: gmem_reader_ref");
	is_int(gmem_reader_exit(r), 0, "ref: exit");
	is_int(gmem_space_remove(s, GPA, len, NULL, GMEM_PUBLISH_WAIT), 0,
	       "ref: remove (WAIT)");
	is_int(pages_mapped(host), NPAGES,
	       "ref: mapped after the section and the removal");
	is_int(gmem_space_reclaim(s, &pending), 0, "ref: reclaim");
	is_int(pending, 0, "ref: no retired map left");
	is_int(gmem_space_synchronize(s), 0, "ref: synchronize");
	is_int(pages_mapped(host), NPAGES, "ref: still mapped after reclaim");
	ok(map_holds(ref, 3), "ref: the reference reads the pattern");
	{
		struct refreader t = { ref, 0 };
		pthread_t th;

		if (pthread_create(&th, NULL, refreader_main, &t) != 0)
			tap_bail("pthread_create");
		pthread_join(th, NULL);
		ok(t.good, "ref: ... from another thread too");
	}
	ok(host_holds(host, 3), "ref: the host memory is intact");
	gmem_map_free(ref);
	is_int(pages_mapped(host), 0,
	       "ref: dropping the reference unmaps the region");
	gmem_reader_free(r);
	gmem_space_free(s);
}

/* ------------------------------------------------------------------------ */

static void test_space_free(void)
{
	gmem_region *reg = mk_region(4);
	void *host = gmem_region_host(reg);
	gmem_space *s = mk_space(reg, 0);
	gmem_reader *r = new_reader(s);
	const gmem_map *snap = NULL;
	size_t pending = 99;

	diag("retired maps are dropped with the space");
	gmem_region_free(reg);
	is_int(gmem_reader_enter(r, &snap), 0, "spacefree: enter");
	is_int(gmem_space_remove(s, GPA, len, NULL, GMEM_PUBLISH_DEFER), 0,
	       "spacefree: remove (DEFER)");
	gmem_space_free(s); /* the creator's reference; the reader keeps it */
	ok(map_holds(snap, 4), "spacefree: the snapshot still reads");
	is_int(gmem_reader_exit(r), 0, "spacefree: exit");
	is_int(pages_mapped(host), NPAGES,
	       "spacefree: still mapped: the retired map is pending");
	/* The reader's reference keeps the space, so s is still usable. */
	is_int(gmem_space_reclaim(s, &pending), 0, "spacefree: reclaim");
	is_int(pending, 0, "spacefree: reclaim dropped the retired map");
	is_int(pages_mapped(host), 0, "spacefree: unmapped");

	/* Same again, but never reclaim: the last free must drop it. */
	reg = mk_region(5);
	host = gmem_region_host(reg);
	s = mk_space(reg, 0);
	gmem_region_free(reg);
	gmem_reader_free(r);
	r = new_reader(s);
	is_int(gmem_reader_enter(r, &snap), 0, "spacefree: enter");
	is_int(gmem_space_remove(s, GPA, len, NULL, GMEM_PUBLISH_DEFER), 0,
	       "spacefree: remove (DEFER)");
	gmem_space_free(s);
	is_int(gmem_reader_exit(r), 0, "spacefree: exit");
	is_int(pages_mapped(host), NPAGES,
	       "spacefree: mapped while the space (via the reader) lives");
	is_int(gmem_reader_free(r), 0,
	       "spacefree: the last reader frees the space");
	is_int(pages_mapped(host), 0,
	       "spacefree: the pending retired map went with the space");
}

/* ------------------------------------------------------------------------ */

static void test_user(void)
{
	void *mem = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct gmem_region_config c = GMEM_REGION_CONFIG_INIT;
	gmem_region *reg = NULL;
	gmem_space *s;
	size_t pending = 9;

	diag("USER backing: libgmem never unmaps the caller's memory");
	if (mem == MAP_FAILED)
		tap_bail("mmap");
	c.backing = GMEM_BACKING_USER;
	c.gpa = GPA;
	c.len = len;
	c.host = mem;
	if (gmem_region_new(&reg, &c) != 0)
		tap_bail("USER region");
	s = mk_space(reg, 0);
	gmem_region_free(reg);
	is_int(gmem_space_remove(s, GPA, len, NULL, GMEM_PUBLISH_DEFER), 0,
	       "user: remove (DEFER)");
	is_int(gmem_space_reclaim(s, &pending), 0, "user: reclaim");
	is_int(pending, 0, "user: nothing pending");
	gmem_space_free(s);
	is_int(pages_mapped(mem), NPAGES, "user: the caller's memory is mapped");
	munmap(mem, (size_t)len);
}

int main(void)
{
	double t0 = now_s();

	page = tu_page_size();
	len = NPAGES * page;
	test_defer();
	test_wait();
	test_ref();
	test_space_free();
	test_user();
	diag("elapsed %.3f s", now_s() - t0);
	return tap_done();
}
