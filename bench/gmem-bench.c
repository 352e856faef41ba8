/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * gmem-bench.c - libgmem on the shared guest-memory benchmark workloads.
 *
 * Implements the contract of the project's WORKLOADS.md (layout, address
 * stream, W1-W6, output format) so that the peers' run.sh can put libgmem
 * next to vm-memory, the C floor, DPDK vhost and liburcu:
 *
 *     GMEM_BENCH=/path/to/gmem-bench ./run.sh
 *
 * Output (identical format to the peers' harness):
 *     STREAM <R> <sum hex16> <mix hex16>
 *     RES gmem <workload> <R> <ns_per_op> <GB/s or -> <swaps/s or -> <chk hex16>
 *     INFO <free text>
 *
 * Usage:
 *     gmem-bench [R ...] [w5]     none means "1 8 64 1024 w5"
 *     gmem-bench --micro [R ...]  extra micro-benchmarks (map build, insert,
 *                                 remove, publication, snapshot enter/exit,
 *                                 dirty tracking, fd I/O); with no R or w5
 *                                 argument only the micro-benchmarks run
 *     gmem-bench --smoke          R=8 and w5 on a 4096-address stream, 1 timed
 *                                 pass, plus a short micro run: a self-test
 *                                 for `make check` (no timing assertions)
 *     --only W1[,W2,...]          run only the named workloads (for profiling,
 *                                 e.g. `valgrind --tool=callgrind gmem-bench
 *                                 --only W1 1024`)
 *     --micro-rs R[,R...]         restrict the micro-benchmarks that depend
 *                                 on R (map_*, space_swap_*, W3_dirty_*) to
 *                                 these region counts (default 1,8,64,1024,
 *                                 32768; W3_dirty_* at most 1024)
 *     --w6 wait|defer             W6b/W6c writer publication mode (default
 *                                 defer, the faster one here, see INFO)
 *
 * Every checksum is verified here (not only by run.sh): any mismatch or any
 * failed library call exits with status 1.
 *
 * The harness logic (stream, timing, output) follows the peers' common.h but
 * is written out here so the program has no dependency outside libgmem.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "gmem.h"

/* ---- constants (WORKLOADS.md) ------------------------------------------- */

#define REGION_SIZE 0x100000ULL /* 1 MiB */
#define HOLE 0x10000ULL		/* 64 KiB */
#define BASE_GPA 0x100000ULL
#define STRIDE (REGION_SIZE + HOLE)
#define SEED 0x9E3779B97F4A7C15ULL
#define W4_SIZE 4096u
#define W5_SIZE (64u * 1024u)
#define W6C_PERIOD_S 100e-6 /* W6c: writer paced at 10,000 swaps/s */
#define FD_SIZE (64u * 1024u)
#define PAGE 4096u

#define IMPL "gmem"

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define ESCAPE(p) __asm__ volatile("" : : "r"(p) : "memory")

#ifndef CFLAGS_STR
#define CFLAGS_STR "(not recorded: build with -DCFLAGS_STR='\"...\"')"
#endif
#ifdef GMEM_BUILDING_LIBRARY
#define LINK_STR "library sources compiled into the program"
#else
#define LINK_STR "linked against libgmem"
#endif

/* Sizes: the full contract, or tiny ones for --smoke. */
static unsigned g_nops = 1u << 20;    /* address stream length */
static unsigned g_nops_w5 = 1u << 16; /* W5 copies per pass */
static unsigned g_nops_fd = 1u << 14; /* fd micro: reads per pass */
static int g_reps = 5;
static bool g_smoke;
static unsigned g_w6_flags = GMEM_PUBLISH_DEFER;

static uint64_t *g_a8, *g_a4k;
static uint64_t g_buf[W5_SIZE / 8] __attribute__((aligned(4096)));

/* ---- failure reporting -------------------------------------------------- */

static void die(const char *what, int err)
{
	if (err < 0)
		fprintf(stderr, "gmem-bench: %s: %s (%d)\n", what,
			gmem_strerror(err), err);
	else
		fprintf(stderr, "gmem-bench: %s\n", what);
	exit(1);
}

static void check(int err, const char *what)
{
	if (err)
		die(what, err);
}

static void expect_eq(const char *wl, unsigned r, uint64_t got, uint64_t want)
{
	if (got != want) {
		fprintf(stderr,
			"gmem-bench: %s R=%u: checksum %016" PRIx64
			" != expected %016" PRIx64 "\n",
			wl, r, got, want);
		exit(1);
	}
}

static void check_errs(const char *wl, unsigned r, uint64_t err)
{
	if (err) {
		fprintf(stderr, "gmem-bench: %s R=%u: %" PRIu64
			" failed library calls\n", wl, r, err);
		exit(1);
	}
}

/* ---- workload filter (--only) ------------------------------------------- */

static char *g_only; /* comma-separated list, or NULL for everything */

static bool want(const char *wl)
{
	const char *p = g_only;
	size_t n = strlen(wl);

	if (!p)
		return true;
	while (*p) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);

		if (len == n && strncmp(p, wl, n) == 0)
			return true;
		if (!e)
			break;
		p = e + 1;
	}
	return false;
}

/* ---- stream, timing, output (same logic as the peers' harness) ---------- */

static uint64_t xorshift64s(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static void make_streams(unsigned r, uint64_t *a8, uint64_t *a4k)
{
	uint64_t s = SEED;

	for (unsigned i = 0; i < g_nops; i++) {
		uint64_t rnd = xorshift64s(&s);
		uint64_t region = rnd % r;
		uint64_t off = ((rnd >> 20) % (REGION_SIZE - 8)) & ~7ULL;
		uint64_t off4k = off & ~4095ULL;

		if (off4k > REGION_SIZE - W4_SIZE)
			off4k = REGION_SIZE - W4_SIZE;
		a8[i] = BASE_GPA + region * STRIDE + off;
		a4k[i] = BASE_GPA + region * STRIDE + off4k;
	}
}

static uint64_t stream_sum(const uint64_t *a, unsigned n)
{
	uint64_t s = 0;

	for (unsigned i = 0; i < n; i++)
		s += a[i];
	return s;
}

static void print_stream(unsigned r, const uint64_t *a8)
{
	uint64_t s = 0, x = 0;

	for (unsigned i = 0; i < g_nops; i++) {
		uint64_t a = a8[i];
		unsigned k = (unsigned)(a >> 3) & 63;

		s += a;
		x ^= k ? (a << k) | (a >> (64 - k)) : a;
	}
	printf("STREAM %u %016" PRIx64 " %016" PRIx64 "\n", r, s, x);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(double), cmp_dbl);
	return v[n / 2];
}

static void res(const char *wl, const char *r, double ns, double gbps,
		double swaps, uint64_t chk)
{
	char g[32] = "-", s[32] = "-";

	if (gbps >= 0)
		snprintf(g, sizeof g, "%.2f", gbps);
	if (swaps >= 0)
		snprintf(s, sizeof s, "%.0f", swaps);
	printf("RES %s %s %s %.2f %s %s %016" PRIx64 "\n", IMPL, wl, r, ns, g,
	       s, chk);
	fflush(stdout);
}

static void res_u(const char *wl, unsigned r, double ns, double gbps,
		  double swaps, uint64_t chk)
{
	char rs[16];

	snprintf(rs, sizeof rs, "%u", r);
	res(wl, rs, ns, gbps, swaps, chk);
}

/* mmap exactly like the peers' map_region (vm-memory's MmapRegion::new). */
static uint8_t *map_region(uint64_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_ANONYMOUS | MAP_PRIVATE | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED) {
		perror("gmem-bench: mmap");
		exit(1);
	}
	return p;
}

/* Pre-fault and fill: every u64 slot holds its own guest address. */
static void prefault(uint8_t *host, uint64_t gpa, uint64_t size)
{
	volatile uint64_t *p = (volatile uint64_t *)(void *)host;

	for (uint64_t j = 0; j < size / 8; j++)
		p[j] = gpa + j * 8;
}

static void pin_to_cpu(size_t cpu)
{
	cpu_set_t set;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof set, &set);
}

static void pace(double *next, double period_s, const atomic_int *stop)
{
	if (period_s <= 0)
		return;
	*next += period_s;
	while (now_s() < *next &&
	       !atomic_load_explicit(stop, memory_order_relaxed))
		;
}

/*
 * One untimed warm-up pass, then g_reps timed passes; returns the median
 * seconds per pass and the checksum of the last pass.  A pass returns its
 * checksum and adds failed calls to *err; any failure exits.
 */
typedef uint64_t (*pass_fn)(void *ctx, uint64_t *err);
typedef void (*prep_fn)(void *ctx); /* untimed, before every pass */

static double bench(const char *wl, unsigned r, pass_fn fn, prep_fn prep,
		    void *ctx, uint64_t *chk)
{
	double times[16];

	for (int rep = -1; rep < g_reps; rep++) {
		uint64_t err = 0, c;
		double t0, dt;

		if (prep)
			prep(ctx);
		t0 = now_s();
		c = fn(ctx, &err);
		dt = now_s() - t0;
		check_errs(wl, r, err);
		if (rep >= 0)
			times[rep] = dt;
		*chk = c;
	}
	return median(times, g_reps);
}

/* ---- layout ------------------------------------------------------------- */

struct layout {
	unsigned r;
	uint8_t **host;	     /* one peer-style mapping per region */
	gmem_region **regs;  /* USER regions over host[] */
	gmem_map *map;
};

static gmem_region *user_region(uint64_t gpa, uint8_t *host, uint32_t flags)
{
	struct gmem_region_config cfg = GMEM_REGION_CONFIG_INIT;
	gmem_region *reg;

	cfg.backing = GMEM_BACKING_USER;
	cfg.flags = flags;
	cfg.gpa = gpa;
	cfg.len = REGION_SIZE;
	cfg.host = host;
	check(gmem_region_new(&reg, &cfg), "gmem_region_new(USER)");
	return reg;
}

static gmem_map *build_map(gmem_region **regs, unsigned n)
{
	gmem_map *m;

	check(gmem_map_new(&m, regs, n, 0), "gmem_map_new");
	if (gmem_map_count(m) != n)
		die("gmem_map_count differs from the region count", 0);
	return m;
}

static void layout_init(struct layout *l, unsigned r, uint64_t stride)
{
	l->r = r;
	l->host = calloc(r, sizeof *l->host);
	l->regs = calloc(r, sizeof *l->regs);
	if (!l->host || !l->regs)
		die("out of memory", 0);
	for (unsigned i = 0; i < r; i++) {
		uint64_t gpa = BASE_GPA + (uint64_t)i * stride;

		l->host[i] = map_region(REGION_SIZE);
		prefault(l->host[i], gpa, REGION_SIZE);
		l->regs[i] = user_region(gpa, l->host[i], 0);
	}
	l->map = build_map(l->regs, r);
}

static void layout_fini(struct layout *l)
{
	gmem_map_free(l->map);
	for (unsigned i = 0; i < l->r; i++) {
		gmem_region_free(l->regs[i]);
		munmap(l->host[i], REGION_SIZE);
	}
	free(l->regs);
	free(l->host);
}

/* Host pointer the floor would compute for gpa (W1 reference checksum). */
static uint64_t ref_host(const struct layout *l, uint64_t gpa)
{
	uint64_t rel = gpa - BASE_GPA;

	return (uint64_t)(uintptr_t)l->host[rel / STRIDE] + rel % STRIDE;
}

/* ---- W1-W4 -------------------------------------------------------------- */

struct wctx_rw {
	const gmem_map *map;
};

static uint64_t pass_w1(void *ctx, uint64_t *errp)
{
	const gmem_map *m = ((struct wctx_rw *)ctx)->map;
	const uint64_t *a = g_a8;
	const unsigned n = g_nops;
	uint64_t chk = 0, err = 0;

	for (unsigned i = 0; i < n; i++) {
		void *p = NULL;

		err += gmem_translate_exact(m, a[i], 8, GMEM_ACCESS_READ,
					    &p) != 0;
		chk += (uintptr_t)p;
	}
	*errp = err;
	return chk;
}

static uint64_t pass_w2(void *ctx, uint64_t *errp)
{
	const gmem_map *m = ((struct wctx_rw *)ctx)->map;
	const uint64_t *a = g_a8;
	const unsigned n = g_nops;
	uint64_t chk = 0, err = 0;

	for (unsigned i = 0; i < n; i++) {
		uint64_t v;

		if (unlikely(gmem_read_u64(m, a[i], &v) != 0)) {
			err++;
			continue;
		}
		chk += v;
	}
	*errp = err;
	return chk;
}

static uint64_t pass_w3(void *ctx, uint64_t *errp)
{
	const gmem_map *m = ((struct wctx_rw *)ctx)->map;
	const uint64_t *a = g_a8;
	const unsigned n = g_nops;
	uint64_t err = 0;

	for (unsigned i = 0; i < n; i++) {
		uint64_t v = a[i];

		err += gmem_write_u64(m, v, v) != 0;
	}
	*errp = err;
	return n;
}

static uint64_t pass_w4(void *ctx, uint64_t *errp)
{
	const gmem_map *m = ((struct wctx_rw *)ctx)->map;
	const uint64_t *a = g_a4k;
	const unsigned n = g_nops;
	uint64_t *buf = g_buf;
	uint64_t chk = 0, err = 0;

	for (unsigned i = 0; i < n; i++) {
		if (unlikely(gmem_read(m, a[i], buf, W4_SIZE) != 0))
			err++;
		ESCAPE(buf);
		chk += buf[0] + buf[W4_SIZE / 8 - 1];
	}
	*errp = err;
	return chk;
}

/* Untimed: every slot of guest memory still holds its own address. */
static void verify_contents(const struct layout *l, const char *after)
{
	for (unsigned i = 0; i < l->r; i++) {
		const uint64_t *p = (const uint64_t *)(void *)l->host[i];
		uint64_t gpa = BASE_GPA + (uint64_t)i * STRIDE;

		for (uint64_t j = 0; j < REGION_SIZE / 8; j++) {
			if (p[j] != gpa + j * 8) {
				fprintf(stderr, "gmem-bench: guest memory at "
					"%#" PRIx64 " changed after %s\n",
					gpa + j * 8, after);
				exit(1);
			}
		}
	}
}

static void run_w1_to_w4(struct layout *l, const char *rs)
{
	struct wctx_rw ctx = { l->map };
	const unsigned r = l->r, n = g_nops;
	uint64_t c, want_c;
	double t;

	if (want("W1")) {
		want_c = 0;
		for (unsigned i = 0; i < n; i++)
			want_c += ref_host(l, g_a8[i]);
		t = bench("W1", r, pass_w1, NULL, &ctx, &c);
		expect_eq("W1", r, c, want_c);
		res("W1", rs, t * 1e9 / n, -1, -1, c);
	}
	if (want("W2")) {
		t = bench("W2", r, pass_w2, NULL, &ctx, &c);
		expect_eq("W2", r, c, stream_sum(g_a8, n));
		res("W2", rs, t * 1e9 / n, -1, -1, c);
	}
	if (want("W3")) {
		t = bench("W3", r, pass_w3, NULL, &ctx, &c);
		expect_eq("W3", r, c, n);
		verify_contents(l, "W3");
		res("W3", rs, t * 1e9 / n, -1, -1, c);
	}
	if (want("W4")) {
		/* buf[0] holds a, buf[511] holds a + 4088 */
		want_c = 2 * stream_sum(g_a4k, n) + (uint64_t)n * (W4_SIZE - 8);
		t = bench("W4", r, pass_w4, NULL, &ctx, &c);
		expect_eq("W4", r, c, want_c);
		res("W4", rs, t * 1e9 / n,
		    (double)n * W4_SIZE / t / 1e9, -1, c);
	}
}

/* ---- W6: atomic address space ------------------------------------------ */

struct w6 {
	unsigned r;
	gmem_space *space;
	gmem_reader *reader;
	gmem_region *extra;
	uint64_t extra_gpa;
	double period_s;
	unsigned flags;
	atomic_int stop;
	_Atomic uint64_t swaps;
	atomic_int werr; /* first error of the writer, 0 if none */
};

static uint64_t w6_pass(gmem_reader *rd, uint64_t *errp)
{
	const uint64_t *a = g_a8;
	const unsigned n = g_nops;
	uint64_t chk = 0, err = 0;

	for (unsigned i = 0; i < n; i++) {
		const gmem_map *m;
		uint64_t v = 0;

		if (unlikely(gmem_reader_enter(rd, &m) != 0)) {
			err++;
			continue;
		}
		if (unlikely(gmem_read_u64(m, a[i], &v) != 0))
			err++;
		if (unlikely(gmem_reader_exit(rd) != 0))
			err++;
		chk += v;
	}
	*errp = err;
	return chk;
}

static uint64_t pass_w6a(void *ctx, uint64_t *errp)
{
	return w6_pass(((struct w6 *)ctx)->reader, errp);
}

/* One publication: insert or remove the extra region.  DEFER retries after
 * an explicit reclaim when the retired list is full. */
static int w6_swap(struct w6 *w, bool insert)
{
	for (;;) {
		int err = insert ? gmem_space_insert(w->space, w->extra,
						     w->flags)
				 : gmem_space_remove(w->space, w->extra_gpa,
						     REGION_SIZE, NULL,
						     w->flags);

		if (err != -EBUSY || !(w->flags & GMEM_PUBLISH_DEFER))
			return err;
		err = gmem_space_reclaim(w->space, NULL);
		if (err && err != -EBUSY)
			return err;
	}
}

static void *w6_writer(void *arg)
{
	struct w6 *w = arg;
	bool inserted = false;
	uint64_t n = 0;
	double next;
	int err = 0;

	pin_to_cpu(1);
	next = now_s();
	while (!atomic_load_explicit(&w->stop, memory_order_relaxed)) {
		pace(&next, w->period_s, &w->stop);
		err = w6_swap(w, !inserted);
		if (err)
			break;
		inserted = !inserted;
		atomic_store_explicit(&w->swaps, ++n, memory_order_relaxed);
	}
	/* Leave the space as it was: R regions. */
	if (!err && inserted)
		err = w6_swap(w, false);
	if (err)
		atomic_store(&w->werr, err);
	atomic_store(&w->swaps, UINT64_MAX); /* unblocks a waiting reader */
	return NULL;
}

static void w6_with_writer(struct w6 *w, const char *wl, const char *rs,
			   uint64_t want_c)
{
	double times[16], rates[16];
	uint64_t err = 0, c;
	pthread_t th;
	int e;

	atomic_store(&w->stop, 0);
	atomic_store(&w->swaps, 0);
	atomic_store(&w->werr, 0);
	e = pthread_create(&th, NULL, w6_writer, w);
	if (e)
		die("pthread_create", -e);
	while (atomic_load(&w->swaps) < 4)
		;
	c = w6_pass(w->reader, &err); /* warm-up */
	check_errs(wl, w->r, err);
	for (int rep = 0; rep < g_reps; rep++) {
		uint64_t s0 = atomic_load(&w->swaps), s1;
		double t0 = now_s(), dt;

		c = w6_pass(w->reader, &err);
		dt = now_s() - t0;
		s1 = atomic_load(&w->swaps);
		check_errs(wl, w->r, err);
		times[rep] = dt;
		rates[rep] = (double)(s1 - s0) / dt;
	}
	atomic_store(&w->stop, 1);
	pthread_join(th, NULL);
	e = atomic_load(&w->werr);
	if (e)
		die("W6 writer: gmem_space_insert/remove", e);
	expect_eq(wl, w->r, c, want_c);
	res(wl, rs, median(times, g_reps) * 1e9 / g_nops, -1,
	    median(rates, g_reps), c);
}

static void run_w6(struct layout *l, const char *rs)
{
	struct w6 w = { .r = l->r, .flags = g_w6_flags };
	uint64_t want_c = stream_sum(g_a8, g_nops), c;
	uint8_t *extra_host = NULL;
	gmem_map *cur;
	double t;

	if (!want("W6a") && !want("W6b") && !want("W6c"))
		return;
	check(gmem_space_new_atomic(&w.space, l->map, 0),
	      "gmem_space_new_atomic");
	check(gmem_reader_new(&w.reader, w.space), "gmem_reader_new");

	if (want("W6a")) {
		t = bench("W6a", l->r, pass_w6a, NULL, &w, &c);
		expect_eq("W6a", l->r, c, want_c);
		res("W6a", rs, t * 1e9 / g_nops, -1, -1, c);
	}
	if (want("W6b") || want("W6c")) {
		w.extra_gpa = BASE_GPA + (uint64_t)l->r * STRIDE;
		extra_host = map_region(REGION_SIZE);
		prefault(extra_host, w.extra_gpa, REGION_SIZE);
		w.extra = user_region(w.extra_gpa, extra_host, 0);
		if (want("W6b")) {
			w.period_s = 0;
			w6_with_writer(&w, "W6b", rs, want_c);
		}
		if (want("W6c")) {
			w.period_s = W6C_PERIOD_S;
			w6_with_writer(&w, "W6c", rs, want_c);
		}
	}
	/* The space is back at the R-region map, nothing left retired. */
	check(gmem_space_synchronize(w.space), "gmem_space_synchronize");
	check(gmem_space_current(w.space, &cur), "gmem_space_current");
	if (gmem_map_count(cur) != l->r)
		die("W6: the space does not hold R regions at the end", 0);
	gmem_map_free(cur);
	check(gmem_reader_free(w.reader), "gmem_reader_free");
	gmem_space_free(w.space);
	if (w.extra) {
		gmem_region_free(w.extra);
		munmap(extra_host, REGION_SIZE);
	}
}

/* ---- per-R driver and W5 ------------------------------------------------ */

static void run_r(unsigned r)
{
	struct layout l;
	char rs[16];

	if (r == 0 || r > 65536)
		die("R must be between 1 and 65536", 0);
	snprintf(rs, sizeof rs, "%u", r);
	make_streams(r, g_a8, g_a4k);
	print_stream(r, g_a8);
	layout_init(&l, r, STRIDE);
	run_w1_to_w4(&l, rs);
	run_w6(&l, rs);
	layout_fini(&l);
}

struct w5ctx {
	const gmem_map *map;
	volatile uint64_t start;
};

static uint64_t pass_w5(void *ctx, uint64_t *errp)
{
	struct w5ctx *w = ctx;
	const gmem_map *m = w->map;
	const unsigned n = g_nops_w5, last = W5_SIZE / 8 - 1;
	uint64_t *buf = g_buf;
	uint64_t chk = 0, err = 0;

	for (unsigned i = 0; i < n; i++) {
		if (unlikely(gmem_read(m, w->start, buf, W5_SIZE) != 0))
			err++;
		ESCAPE(buf);
		chk += buf[0] + buf[last];
	}
	*errp = err;
	return chk;
}

static void run_w5(void)
{
	struct layout l;
	struct w5ctx ctx;
	uint64_t c, start = BASE_GPA + REGION_SIZE - W5_SIZE / 2;
	double t;

	if (!want("W5"))
		return;
	layout_init(&l, 2, REGION_SIZE); /* adjacent, no hole */
	ctx.map = l.map;
	ctx.start = start;
	t = bench("W5", 2, pass_w5, NULL, &ctx, &c);
	expect_eq("W5", 2, c,
		  (uint64_t)g_nops_w5 * (2 * start + W5_SIZE - 8));
	res("W5", "2", t * 1e9 / g_nops_w5,
	    (double)g_nops_w5 * W5_SIZE / t / 1e9, -1, c);
	layout_fini(&l);
}

/* ---- micro-benchmarks (--micro) ----------------------------------------- */

/*
 * Map operations on R = 1 .. 32768 regions.  The regions are USER regions
 * over one big MAP_NORESERVE mapping that is never touched (the map code
 * never dereferences host memory), so even 32768 regions cost only address
 * space.  Each pass performs `iters` operations in batches of `k` (the maps
 * a batch builds are freed untimed, or timed as map_free).
 */
struct mapbench {
	unsigned r;
	gmem_region **regs;
	gmem_region *extra;
	gmem_map *base; /* the R-region map */
	gmem_map *plus; /* base + extra */
	gmem_map **out;
	unsigned k, batches;
	double t_free;	/* accumulated by pass_map_new */
};

static uint64_t pass_map_new(void *ctx, uint64_t *errp)
{
	struct mapbench *b = ctx;
	double t = 0, tf = 0;

	for (unsigned j = 0; j < b->batches; j++) {
		double t0 = now_s(), t1;

		for (unsigned i = 0; i < b->k; i++)
			*errp += gmem_map_new(&b->out[i], b->regs, b->r,
					      (size_t)b->r + 1) != 0;
		t1 = now_s();
		t += t1 - t0;
		if (*errp)
			return 0;
		for (unsigned i = 0; i < b->k; i++)
			gmem_map_free(b->out[i]);
		tf += now_s() - t1;
	}
	b->t_free = tf;
	/* The timed part only, in picoseconds: see bench_self_timed(). */
	return (uint64_t)(t * 1e12);
}

static uint64_t pass_map_insert(void *ctx, uint64_t *errp)
{
	struct mapbench *b = ctx;
	double t = 0;

	for (unsigned j = 0; j < b->batches; j++) {
		double t0 = now_s();

		for (unsigned i = 0; i < b->k; i++)
			*errp += gmem_map_insert(&b->out[i], b->base,
						 b->extra) != 0;
		t += now_s() - t0;
		if (*errp)
			return 0;
		for (unsigned i = 0; i < b->k; i++)
			gmem_map_free(b->out[i]);
	}
	return (uint64_t)(t * 1e12);
}

static uint64_t pass_map_remove(void *ctx, uint64_t *errp)
{
	struct mapbench *b = ctx;
	uint64_t gpa = gmem_region_start(b->extra);
	double t = 0;

	for (unsigned j = 0; j < b->batches; j++) {
		double t0 = now_s();

		for (unsigned i = 0; i < b->k; i++)
			*errp += gmem_map_remove(&b->out[i], b->plus, gpa,
						 REGION_SIZE, NULL) != 0;
		t += now_s() - t0;
		if (*errp)
			return 0;
		for (unsigned i = 0; i < b->k; i++)
			gmem_map_free(b->out[i]);
	}
	return (uint64_t)(t * 1e12);
}

/*
 * Like bench(), but the pass returns its own timed part in picoseconds (so
 * untimed frees inside a pass are excluded); returns the median seconds.
 */
static double bench_self_timed(const char *wl, unsigned r, pass_fn fn,
			       void *ctx, double *t_free)
{
	double times[16], frees[16];

	for (int rep = -1; rep < g_reps; rep++) {
		uint64_t err = 0, ps = fn(ctx, &err);

		check_errs(wl, r, err);
		if (rep >= 0) {
			times[rep] = (double)ps * 1e-12;
			if (t_free)
				frees[rep] = ((struct mapbench *)ctx)->t_free;
		}
	}
	if (t_free)
		*t_free = median(frees, g_reps);
	return median(times, g_reps);
}

/* W6b's writer without any reader: one publication (insert or remove). */
struct swapbench {
	struct w6 w;
	unsigned iters;
};

static uint64_t pass_space_swap(void *ctx, uint64_t *errp)
{
	struct swapbench *s = ctx;

	for (unsigned i = 0; i < s->iters; i++) {
		int err = w6_swap(&s->w, (i & 1) == 0);

		if (err) {
			*errp += 1;
			return 0;
		}
	}
	return s->iters;
}

static void run_map_micro(unsigned r)
{
	struct mapbench b = { .r = r };
	struct swapbench sb;
	uint8_t *big;
	uint64_t ops;
	double t, tf;
	uint64_t big_len = ((uint64_t)r + 1) * REGION_SIZE;

	/* One untouched NORESERVE mapping, region i at big + i MiB. */
	big = map_region(big_len);
	b.regs = calloc(r, sizeof *b.regs);
	if (!b.regs)
		die("out of memory", 0);
	for (unsigned i = 0; i < r; i++)
		b.regs[i] = user_region(BASE_GPA + (uint64_t)i * STRIDE,
					big + (uint64_t)i * REGION_SIZE, 0);
	b.extra = user_region(BASE_GPA + (uint64_t)r * STRIDE,
			      big + (uint64_t)r * REGION_SIZE, 0);
	check(gmem_map_new(&b.base, b.regs, r, (size_t)r + 1), "gmem_map_new");
	check(gmem_map_insert(&b.plus, b.base, b.extra), "gmem_map_insert");

	/* Small batches (the maps of one batch stay cache-resident) and about
	 * 4M region entries per pass.  run_micro() stops malloc from trimming,
	 * so a freed batch's memory is reused without page faults. */
	b.k = r <= 64 ? 64 : 16;
	b.batches = (1u << 22) / (r * b.k);
	b.batches = b.batches < 2 ? 2 : b.batches > 4096 ? 4096 : b.batches;
	if (g_smoke) {
		b.k = 4;
		b.batches = 1;
	}
	b.out = calloc(b.k, sizeof *b.out);
	if (!b.out)
		die("out of memory", 0);
	ops = (uint64_t)b.k * b.batches;

	if (want("map_new")) {
		t = bench_self_timed("map_new", r, pass_map_new, &b, &tf);
		res_u("map_new", r, t * 1e9 / (double)ops, -1, -1, ops);
		res_u("map_free", r, tf * 1e9 / (double)ops, -1, -1, ops);
	}
	if (want("map_insert")) {
		t = bench_self_timed("map_insert", r, pass_map_insert, &b,
				     NULL);
		res_u("map_insert", r, t * 1e9 / (double)ops, -1, -1, ops);
	}
	if (want("map_remove")) {
		t = bench_self_timed("map_remove", r, pass_map_remove, &b,
				     NULL);
		res_u("map_remove", r, t * 1e9 / (double)ops, -1, -1, ops);
	}

	/* Publication on an atomic space with one registered, idle reader. */
	for (int mode = 0; mode < 2; mode++) {
		const char *wl = mode ? "space_swap_defer" : "space_swap_wait";
		uint64_t c;

		if (!want(wl))
			continue;
		memset(&sb, 0, sizeof sb);
		sb.w.r = r;
		sb.w.flags = mode ? GMEM_PUBLISH_DEFER : GMEM_PUBLISH_WAIT;
		sb.w.extra = b.extra;
		sb.w.extra_gpa = gmem_region_start(b.extra);
		sb.iters = (unsigned)(ops < 2 ? 2 : ops & ~(uint64_t)1);
		check(gmem_space_new_atomic(&sb.w.space, b.base, 0),
		      "gmem_space_new_atomic");
		check(gmem_reader_new(&sb.w.reader, sb.w.space),
		      "gmem_reader_new");
		t = bench(wl, r, pass_space_swap, NULL, &sb, &c);
		res_u(wl, r, t * 1e9 / sb.iters, -1, sb.iters / t, c);
		check(gmem_space_synchronize(sb.w.space),
		      "gmem_space_synchronize");
		check(gmem_reader_free(sb.w.reader), "gmem_reader_free");
		gmem_space_free(sb.w.space);
	}

	free(b.out);
	gmem_map_free(b.plus);
	gmem_map_free(b.base);
	gmem_region_free(b.extra);
	for (unsigned i = 0; i < r; i++)
		gmem_region_free(b.regs[i]);
	free(b.regs);
	munmap(big, big_len);
}

/* Snapshot enter/exit alone, on 1 and 2 threads (one reader each). */
struct snapctx {
	gmem_space *space;
	gmem_reader *reader;
	atomic_int stop;
	atomic_int ready;
	atomic_int err;
};

static uint64_t snap_pass(gmem_reader *rd, unsigned n, uint64_t *errp)
{
	uint64_t chk = 0, err = 0;

	for (unsigned i = 0; i < n; i++) {
		const gmem_map *m = NULL;

		err += gmem_reader_enter(rd, &m) != 0;
		chk += (uintptr_t)m;
		err += gmem_reader_exit(rd) != 0;
	}
	*errp += err;
	return chk;
}

static uint64_t pass_snap(void *ctx, uint64_t *errp)
{
	return snap_pass(((struct snapctx *)ctx)->reader, g_nops, errp);
}

static void *snap_thread(void *arg)
{
	struct snapctx *s = arg;
	gmem_reader *rd;
	uint64_t err = 0;
	int e;

	pin_to_cpu(1);
	e = gmem_reader_new(&rd, s->space);
	if (e) {
		atomic_store(&s->err, e);
		atomic_store(&s->ready, 1);
		return NULL;
	}
	atomic_store(&s->ready, 1);
	while (!atomic_load_explicit(&s->stop, memory_order_relaxed))
		(void)snap_pass(rd, 1024, &err);
	if (err)
		atomic_store(&s->err, -EIO);
	e = gmem_reader_free(rd);
	if (e)
		atomic_store(&s->err, e);
	return NULL;
}

static void run_snap_micro(void)
{
	struct layout l;
	struct snapctx s;
	pthread_t th;
	uint64_t c, want_c;
	double t;
	int e;

	if (!want("snap_1t") && !want("snap_2t"))
		return;
	memset(&s, 0, sizeof s);
	layout_init(&l, 1, STRIDE);
	check(gmem_space_new_atomic(&s.space, l.map, 0),
	      "gmem_space_new_atomic");
	check(gmem_reader_new(&s.reader, s.space), "gmem_reader_new");
	want_c = (uint64_t)g_nops * (uint64_t)(uintptr_t)l.map;
	if (want("snap_1t")) {
		t = bench("snap_1t", 1, pass_snap, NULL, &s, &c);
		expect_eq("snap_1t", 1, c, want_c);
		res("snap_1t", "1", t * 1e9 / g_nops, -1, -1, c);
	}
	if (want("snap_2t")) {
		e = pthread_create(&th, NULL, snap_thread, &s);
		if (e)
			die("pthread_create", -e);
		while (!atomic_load(&s.ready))
			;
		t = bench("snap_2t", 1, pass_snap, NULL, &s, &c);
		atomic_store(&s.stop, 1);
		pthread_join(th, NULL);
		e = atomic_load(&s.err);
		if (e)
			die("snap_2t: second reader", e);
		expect_eq("snap_2t", 1, c, want_c);
		res("snap_2t", "1", t * 1e9 / g_nops, -1, -1, c);
	}
	check(gmem_reader_free(s.reader), "gmem_reader_free");
	gmem_space_free(s.space);
	layout_fini(&l);
}

/* W3 with dirty tracking off and on, over the same host memory. */
struct dirtyctx {
	struct wctx_rw rw; /* first: pass_w3 takes the same context */
	unsigned r;
};

static void prep_dirty_reset(void *ctx)
{
	struct dirtyctx *d = ctx;

	check(gmem_map_dirty_reset(d->rw.map, BASE_GPA, (uint64_t)d->r * STRIDE,
				   PAGE),
	      "gmem_map_dirty_reset");
}

static void run_dirty_micro(unsigned r)
{
	struct layout l;
	struct dirtyctx d;
	struct wctx_rw ctx;
	gmem_region **dregs;
	gmem_map *dmap;
	uint64_t c, *bits, *want_bits, npages, nwords, got = 0, exp = 0;
	double t;
	char rs[16];

	if (!want("W3_dirty_off") && !want("W3_dirty_on"))
		return;
	snprintf(rs, sizeof rs, "%u", r);
	make_streams(r, g_a8, g_a4k);
	layout_init(&l, r, STRIDE);
	dregs = calloc(r, sizeof *dregs);
	if (!dregs)
		die("out of memory", 0);
	for (unsigned i = 0; i < r; i++)
		dregs[i] = user_region(BASE_GPA + (uint64_t)i * STRIDE,
				       l.host[i], GMEM_REGION_DIRTY_LOG);
	dmap = build_map(dregs, r);

	if (want("W3_dirty_off")) {
		ctx.map = l.map;
		t = bench("W3_dirty_off", r, pass_w3, NULL, &ctx, &c);
		res("W3_dirty_off", rs, t * 1e9 / g_nops, -1, -1, c);
	}
	if (want("W3_dirty_on")) {
		d.rw.map = dmap;
		d.r = r;
		t = bench("W3_dirty_on", r, pass_w3, prep_dirty_reset, &d, &c);
		/* The last pass must have marked exactly the pages it wrote. */
		npages = (uint64_t)r * STRIDE / PAGE;
		nwords = (npages + 63) / 64;
		bits = calloc(nwords, 8);
		want_bits = calloc(nwords, 8);
		if (!bits || !want_bits)
			die("out of memory", 0);
		for (unsigned i = 0; i < g_nops; i++) {
			uint64_t pg = (g_a8[i] - BASE_GPA) / PAGE;

			want_bits[pg / 64] |= 1ULL << (pg % 64);
		}
		check(gmem_map_dirty_harvest(dmap, BASE_GPA, npages * PAGE,
					     PAGE, bits, nwords),
		      "gmem_map_dirty_harvest");
		for (uint64_t i = 0; i < nwords; i++) {
			if (bits[i] != want_bits[i])
				die("W3_dirty_on: dirty bitmap differs from the "
				    "pages written", 0);
			got += (uint64_t)__builtin_popcountll(bits[i]);
			exp += (uint64_t)__builtin_popcountll(want_bits[i]);
		}
		if (got != exp)
			die("W3_dirty_on: dirty page count", 0);
		free(bits);
		free(want_bits);
		res("W3_dirty_on", rs, t * 1e9 / g_nops, -1, -1, c);
	}
	verify_contents(&l, "W3_dirty");
	gmem_map_free(dmap);
	for (unsigned i = 0; i < r; i++)
		gmem_region_free(dregs[i]);
	free(dregs);
	layout_fini(&l);
}

/* 64 KiB from a memfd at offset 0: into guest memory vs into a buffer. */
struct fdctx {
	const gmem_map *map;
	int fd;
};

static uint64_t pass_fd_gmem(void *ctx, uint64_t *errp)
{
	struct fdctx *f = ctx;
	const unsigned n = g_nops_fd;
	uint64_t chk = 0, err = 0;

	for (unsigned i = 0; i < n; i++) {
		size_t done = 0;

		err += gmem_pread_fd(f->map, BASE_GPA, FD_SIZE, f->fd, 0,
				     &done) != 0;
		err += done != FD_SIZE;
		chk += done;
	}
	*errp = err;
	return chk;
}

static uint64_t pass_fd_pread(void *ctx, uint64_t *errp)
{
	struct fdctx *f = ctx;
	const unsigned n = g_nops_fd, last = FD_SIZE / 8 - 1;
	uint64_t *buf = g_buf;
	uint64_t chk = 0, err = 0;

	for (unsigned i = 0; i < n; i++) {
		ssize_t got = pread(f->fd, buf, FD_SIZE, 0);

		err += got != (ssize_t)FD_SIZE;
		ESCAPE(buf);
		chk += buf[0] + buf[last];
	}
	*errp = err;
	return chk;
}

static void run_fd_micro(void)
{
	struct layout l;
	struct fdctx f;
	uint64_t c, v0, v1;
	double t;

	if (!want("fd_gmem_pread") && !want("fd_pread"))
		return;
	layout_init(&l, 1, STRIDE);
	/* The file holds exactly what guest memory holds at BASE_GPA, so the
	 * reads leave the contents invariant. */
	f.map = l.map;
	f.fd = memfd_create("gmem-bench", MFD_CLOEXEC);
	if (f.fd < 0) {
		perror("gmem-bench: memfd_create");
		exit(1);
	}
	if (pwrite(f.fd, l.host[0], FD_SIZE, 0) != (ssize_t)FD_SIZE) {
		perror("gmem-bench: pwrite");
		exit(1);
	}
	if (want("fd_gmem_pread")) {
		t = bench("fd_gmem_pread", 1, pass_fd_gmem, NULL, &f, &c);
		expect_eq("fd_gmem_pread", 1, c, (uint64_t)g_nops_fd * FD_SIZE);
		check(gmem_read_u64(l.map, BASE_GPA, &v0), "gmem_read_u64");
		check(gmem_read_u64(l.map, BASE_GPA + FD_SIZE - 8, &v1),
		      "gmem_read_u64");
		expect_eq("fd_gmem_pread", 1, v0 + v1,
			  2 * BASE_GPA + FD_SIZE - 8);
		res("fd_gmem_pread", "1", t * 1e9 / g_nops_fd,
		    (double)g_nops_fd * FD_SIZE / t / 1e9, -1, c);
	}
	if (want("fd_pread")) {
		t = bench("fd_pread", 1, pass_fd_pread, NULL, &f, &c);
		expect_eq("fd_pread", 1, c,
			  (uint64_t)g_nops_fd * (2 * BASE_GPA + FD_SIZE - 8));
		res("fd_pread", "1", t * 1e9 / g_nops_fd,
		    (double)g_nops_fd * FD_SIZE / t / 1e9, -1, c);
	}
	verify_contents(&l, "fd reads");
	close(f.fd);
	layout_fini(&l);
}

static const char *g_micro_rs; /* --micro-rs: comma-separated R list */

/* Whether the micro-benchmarks run at region count r. */
static bool micro_r(unsigned r)
{
	const char *p = g_micro_rs;

	if (!p)
		return true;
	while (*p) {
		char *end;
		unsigned long v = strtoul(p, &end, 0);

		if (end == p)
			die("--micro-rs: expected a comma-separated list of R", 0);
		if (v == r)
			return true;
		p = *end == ',' ? end + 1 : end;
	}
	return false;
}

static void run_micro(void)
{
	static const unsigned map_rs[] = { 1, 8, 64, 1024, 32768 };
	static const unsigned dirty_rs[] = { 1, 8, 64, 1024 };
	size_t nmap = g_smoke ? 3 : sizeof map_rs / sizeof map_rs[0];
	size_t ndirty = g_smoke ? 2 : sizeof dirty_rs / sizeof dirty_rs[0];

	/* Map builds allocate and free up to a few MiB at a time: keep that
	 * memory in the process so the timings measure libgmem, not page
	 * faults after glibc returned the heap top or an mmap chunk. */
	mallopt(M_TRIM_THRESHOLD, 1 << 30);
	mallopt(M_MMAP_THRESHOLD, 1 << 30);
	for (size_t i = 0; i < nmap; i++)
		if (micro_r(map_rs[i]))
			run_map_micro(map_rs[i]);
	run_snap_micro();
	for (size_t i = 0; i < ndirty; i++)
		if (micro_r(dirty_rs[i]))
			run_dirty_micro(dirty_rs[i]);
	run_fd_micro();
}

/* ---- main --------------------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr,
		"usage: gmem-bench [--smoke] [--micro] [--micro-rs R[,R...]] "
		"[--only WL[,WL...]] [--w6 wait|defer] [R ...] [w5]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const char *const def[] = { "1", "8", "64", "1024", "w5" };
	static const char *const smoke[] = { "8", "w5" };
	const char **args = calloc((size_t)argc + 6, sizeof *args); /* + defaults */
	int nargs = 0;
	bool micro = false;

	if (!args)
		die("out of memory", 0);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--smoke")) {
			g_smoke = true;
		} else if (!strcmp(a, "--micro")) {
			micro = true;
		} else if (!strcmp(a, "--only") && i + 1 < argc) {
			g_only = argv[++i];
		} else if (!strcmp(a, "--micro-rs") && i + 1 < argc) {
			g_micro_rs = argv[++i];
		} else if (!strcmp(a, "--w6") && i + 1 < argc) {
			const char *m = argv[++i];

			if (!strcmp(m, "wait"))
				g_w6_flags = GMEM_PUBLISH_WAIT;
			else if (!strcmp(m, "defer"))
				g_w6_flags = GMEM_PUBLISH_DEFER;
			else
				usage();
		} else if (!strcmp(a, "w5") ||
			   (a[0] >= '0' && a[0] <= '9')) {
			args[nargs++] = argv[i];
		} else {
			usage();
		}
	}
	if (g_smoke) {
		g_nops = 4096;
		g_nops_w5 = 64;
		g_nops_fd = 16;
		g_reps = 1;
		micro = true;
		if (nargs == 0) {
			args[0] = smoke[0];
			args[1] = smoke[1];
			nargs = 2;
		}
	} else if (nargs == 0 && !micro) {
		for (int i = 0; i < 5; i++)
			args[i] = def[i];
		nargs = 5;
	}

	pin_to_cpu(0);
	printf("INFO %s: libgmem %s (%s); regions GMEM_BACKING_USER over one "
	       "mmap(MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE) per region, "
	       "pre-faulted and filled like the peers; W6 atomic space, one "
	       "gmem_reader, writer gmem_space_insert/remove with "
	       "GMEM_PUBLISH_%s; %s; flags: %s\n",
	       IMPL, gmem_version(), LINK_STR,
	       g_w6_flags & GMEM_PUBLISH_DEFER ? "DEFER (+ gmem_space_reclaim "
						 "when the retired list is full)"
					       : "WAIT",
	       __VERSION__, CFLAGS_STR);
	fflush(stdout);

	g_a8 = malloc((size_t)g_nops * sizeof *g_a8);
	g_a4k = malloc((size_t)g_nops * sizeof *g_a4k);
	if (!g_a8 || !g_a4k)
		die("out of memory", 0);
	for (int i = 0; i < nargs; i++) {
		if (!strcmp(args[i], "w5"))
			run_w5();
		else
			run_r((unsigned)strtoul(args[i], NULL, 0));
	}
	if (micro)
		run_micro();
	free(g_a8);
	free(g_a4k);
	free((void *)args);
	return 0;
}
