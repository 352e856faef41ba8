/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * test_atomic.c - gmem_atomic_{load,store,cmpxchg,fetch_add,fetch_or,
 * fetch_and}_{u16,u32,u64}(): values and returned old values, compare-
 * exchange success and -EAGAIN, alignment (-EINVAL), holes and regions that
 * end inside a word (-EFAULT), read-only regions (-EACCES for everything
 * but load), NULL arguments, wrap-around, the last word of the address
 * space, and exact counts under multithreaded contention.
 *
 * Layout (H = hole; USER regions point into malloc'd buffers of exactly the
 * region's size, so any access past a region's end is an ASan report):
 *   Z [0x0000,0x1000)
 *   W [0x1000,0x100c)  12 bytes: the aligned u64 at 0x1008 runs into a hole
 *   H [0x100c,0x2000)
 *   V [0x2000,0x200c) X [0x200c,0x2010)  adjacent: the aligned u64 at
 *                      0x2008 is fully mapped but straddles two regions
 *   H
 *   Y [0x3000,0x3002)  2 bytes
 *   C [0x4000,0x5000)  READONLY USER (writable host memory: a wrong write
 *                      is caught as changed bytes rather than a crash)
 *   N [0x5000,0x6000)  READONLY ANON (PROT_READ)
 *   D [0x6000,0x7000)  ANON, used by the threads
 *   H up to 2^64 - 0x1000
 *   T [2^64 - 0x1000, 2^64)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gmem.h"
#include "testutil.h"
#include "tap.h"

#define TOP (UINT64_MAX - 0xfffu)
#define RO GMEM_REGION_READONLY

static struct fx_reg regs[] = {
	{ "Z", 0x0000, 0x1000, 0, GMEM_BACKING_USER, NULL, NULL, NULL, NULL },
	{ "W", 0x1000, 12, 0, GMEM_BACKING_USER, NULL, NULL, NULL, NULL },
	{ "V", 0x2000, 12, 0, GMEM_BACKING_USER, NULL, NULL, NULL, NULL },
	{ "X", 0x200c, 4, 0, GMEM_BACKING_USER, NULL, NULL, NULL, NULL },
	{ "Y", 0x3000, 2, 0, GMEM_BACKING_USER, NULL, NULL, NULL, NULL },
	{ "C", 0x4000, 0x1000, RO, GMEM_BACKING_USER, NULL, NULL, NULL, NULL },
	{ "N", 0x5000, 0x1000, RO, GMEM_BACKING_ANON, NULL, NULL, NULL, NULL },
	{ "D", 0x6000, 0x1000, 0, GMEM_BACKING_ANON, NULL, NULL, NULL, NULL },
	{ "T", TOP, 0x1000, 0, GMEM_BACKING_USER, NULL, NULL, NULL, NULL },
};
#define NREGS (sizeof(regs) / sizeof(regs[0]))

static gmem_map *M;

static uint8_t pattern(uint64_t gpa)
{
	return (uint8_t)((gpa * 151u) ^ (gpa >> 8) ^ 0x69u);
}

static uint8_t *hp(uint64_t gpa)
{
	return fx_host(regs, NREGS, gpa);
}

static void setup(void)
{
	M = fx_setup(regs, NREGS, 0);
}

static void teardown(void)
{
	fx_teardown(regs, NREGS, M);
}

static void reset_all(void)
{
	fx_reset(regs, NREGS, pattern, 0);
}

static void snapshot(void)
{
	fx_snapshot(regs, NREGS);
}

static int unchanged(void)
{
	return fx_unchanged(regs, NREGS);
}

static int changed_only(uint64_t gpa, uint64_t len)
{
	return fx_changed_only(regs, NREGS, gpa, len);
}

/* ------------------------------------------------------------------------ */
/* Width adapters                                                            */
/* ------------------------------------------------------------------------ */

typedef int (*load_fn)(const gmem_map *, uint64_t, uint64_t *);
typedef int (*store_fn)(const gmem_map *, uint64_t, uint64_t);
typedef int (*cmpxchg_fn)(const gmem_map *, uint64_t, uint64_t *, uint64_t);
typedef int (*fetch_fn)(const gmem_map *, uint64_t, uint64_t, uint64_t *);

/*
 * Outputs are seeded from the caller's value (truncated), so an untouched
 * output comes back as the truncated sentinel; NULL is passed through.
 */
#define ADAPT(N, T)                                                            \
	static int load_##N(const gmem_map *m, uint64_t g, uint64_t *o)        \
	{                                                                      \
		T x = o ? (T)*o : (T)0;                                        \
		int r = gmem_atomic_load_##N(m, g, o ? &x : NULL);             \
		if (o)                                                         \
			*o = x;                                                \
		return r;                                                      \
	}                                                                      \
	static int store_##N(const gmem_map *m, uint64_t g, uint64_t v)        \
	{                                                                      \
		return gmem_atomic_store_##N(m, g, (T)v);                      \
	}                                                                      \
	static int cmpxchg_##N(const gmem_map *m, uint64_t g, uint64_t *e,     \
			       uint64_t d)                                     \
	{                                                                      \
		T x = e ? (T)*e : (T)0;                                        \
		int r = gmem_atomic_cmpxchg_##N(m, g, e ? &x : NULL, (T)d);    \
		if (e)                                                         \
			*e = x;                                                \
		return r;                                                      \
	}                                                                      \
	static int add_##N(const gmem_map *m, uint64_t g, uint64_t v,          \
			   uint64_t *o)                                        \
	{                                                                      \
		T x = o ? (T)*o : (T)0;                                        \
		int r = gmem_atomic_fetch_add_##N(m, g, (T)v, o ? &x : NULL);  \
		if (o)                                                         \
			*o = x;                                                \
		return r;                                                      \
	}                                                                      \
	static int or_##N(const gmem_map *m, uint64_t g, uint64_t v,           \
			  uint64_t *o)                                         \
	{                                                                      \
		T x = o ? (T)*o : (T)0;                                        \
		int r = gmem_atomic_fetch_or_##N(m, g, (T)v, o ? &x : NULL);   \
		if (o)                                                         \
			*o = x;                                                \
		return r;                                                      \
	}                                                                      \
	static int and_##N(const gmem_map *m, uint64_t g, uint64_t v,          \
			   uint64_t *o)                                        \
	{                                                                      \
		T x = o ? (T)*o : (T)0;                                        \
		int r = gmem_atomic_fetch_and_##N(m, g, (T)v, o ? &x : NULL);  \
		if (o)                                                         \
			*o = x;                                                \
		return r;                                                      \
	}

ADAPT(u16, uint16_t)
ADAPT(u32, uint32_t)
ADAPT(u64, uint64_t)

struct width {
	const char *name;
	unsigned size;
	load_fn load;
	store_fn store;
	cmpxchg_fn cmpxchg;
	fetch_fn add, or, and;
};

static const struct width widths[] = {
	{ "u16", 2, load_u16, store_u16, cmpxchg_u16, add_u16, or_u16, and_u16 },
	{ "u32", 4, load_u32, store_u32, cmpxchg_u32, add_u32, or_u32, and_u32 },
	{ "u64", 8, load_u64, store_u64, cmpxchg_u64, add_u64, or_u64, and_u64 },
};

static uint64_t mask_of(unsigned size)
{
	return size == 8 ? UINT64_MAX : (UINT64_C(1) << (8 * size)) - 1;
}

/* The word at gpa as host memory holds it (host byte order). */
static uint64_t peek_word(unsigned size, uint64_t gpa)
{
	uint8_t *p = hp(gpa);
	uint16_t a;
	uint32_t b;
	uint64_t c;

	if (!p || !hp(gpa + size - 1))
		tap_bail("peek_word in a hole");
	switch (size) {
	case 2: memcpy(&a, p, 2); return a;
	case 4: memcpy(&b, p, 4); return b;
	default: memcpy(&c, p, 8); return c;
	}
}

#define SENT64 0xa5a5a5a5a5a5a5a5ull

/*
 * Every operation at gpa must fail with want, change no guest byte and
 * leave every output untouched.  Modifying ops expect want_mod (which
 * differs from want only for read-only regions).
 */
static void all_ops_fail(const struct width *w, uint64_t gpa, int want_load,
			 int want_mod, const char *what)
{
	const char *n = w->name;
	uint64_t sent = SENT64 & mask_of(w->size), o, e;

	snapshot();
	o = SENT64;
	is_int(w->load(M, gpa, &o), want_load, "%s: load %s", n, what);
	is_u64(o, sent, "%s: load %s: out untouched", n, what);
	is_int(w->store(M, gpa, 0x1234), want_mod, "%s: store %s", n, what);
	e = SENT64;
	is_int(w->cmpxchg(M, gpa, &e, 0x1234), want_mod, "%s: cmpxchg %s", n, what);
	is_u64(e, sent, "%s: cmpxchg %s: expected untouched", n, what);
	o = SENT64;
	is_int(w->add(M, gpa, 1, &o), want_mod, "%s: fetch_add %s", n, what);
	is_u64(o, sent, "%s: fetch_add %s: old untouched", n, what);
	o = SENT64;
	is_int(w->or(M, gpa, 0x101, &o), want_mod, "%s: fetch_or %s", n, what);
	is_u64(o, sent, "%s: fetch_or %s: old untouched", n, what);
	o = SENT64;
	is_int(w->and(M, gpa, 0, &o), want_mod, "%s: fetch_and %s", n, what);
	is_u64(o, sent, "%s: fetch_and %s: old untouched", n, what);
	is_int(w->add(M, gpa, 1, NULL), want_mod, "%s: fetch_add, NULL old, %s", n, what);
	ok(unchanged(), "%s: %s: no guest byte changed", n, what);
}

/* The full set of operations at one good address. */
static void ops_at(const struct width *w, uint64_t gpa, const char *what)
{
	const char *n = w->name;
	uint64_t mask = mask_of(w->size);
	uint64_t v = UINT64_C(0x8877665544332211) & mask;
	uint64_t u = UINT64_C(0x0123456789abcdef) & mask;
	uint64_t o, e;

	snapshot();
	is_int(w->store(M, gpa, v), 0, "%s: store %s", n, what);
	is_u64(peek_word(w->size, gpa), v, "%s: store %s: host memory holds the value", n, what);
	ok(changed_only(gpa, w->size), "%s: store %s: neighbouring bytes unchanged", n, what);
	o = 0;
	is_int(w->load(M, gpa, &o), 0, "%s: load %s", n, what);
	is_u64(o, v, "%s: load %s: value", n, what);

	o = 0;
	is_int(w->add(M, gpa, 0x10, &o), 0, "%s: fetch_add %s", n, what);
	is_u64(o, v, "%s: fetch_add %s: old value", n, what);
	is_u64(peek_word(w->size, gpa), (v + 0x10) & mask, "%s: fetch_add %s: new value", n, what);
	is_int(w->add(M, gpa, 0x10, NULL), 0, "%s: fetch_add %s: NULL old allowed", n, what);
	is_u64(peek_word(w->size, gpa), (v + 0x20) & mask, "%s: fetch_add NULL old %s: new value", n, what);

	e = v; /* memory holds v + 0x20 */
	is_int(w->cmpxchg(M, gpa, &e, u), -EAGAIN, "%s: cmpxchg mismatch %s -> -EAGAIN", n, what);
	is_u64(e, (v + 0x20) & mask, "%s: cmpxchg mismatch %s: *expected = current", n, what);
	is_u64(peek_word(w->size, gpa), (v + 0x20) & mask, "%s: cmpxchg mismatch %s: memory unchanged", n, what);
	is_int(w->cmpxchg(M, gpa, &e, u), 0, "%s: cmpxchg with the updated expected %s", n, what);
	is_u64(e, (v + 0x20) & mask, "%s: cmpxchg success %s: *expected still the old value", n, what);
	is_u64(peek_word(w->size, gpa), u, "%s: cmpxchg success %s: desired stored", n, what);
	ok(changed_only(gpa, w->size), "%s: ops %s: neighbouring bytes unchanged", n, what);
}

static void test_width(const struct width *w)
{
	const char *n = w->name;
	unsigned s = w->size;
	uint64_t mask = mask_of(s);
	uint64_t o, e;

	reset_all();

	ops_at(w, 0x100, "in a USER region");
	ops_at(w, 0x0, "at address 0");
	ops_at(w, 0x6100, "in an ANON region");
	ops_at(w, UINT64_MAX - (s - 1), "at the last word of the address space");
	ops_at(w, (0x100c - s) & ~(uint64_t)(s - 1), "at the last whole word of a 12-byte region");
	if (s <= 4)
		ops_at(w, 0x2010 - s, "at the last word of a 4-byte region");

	/* wrap and bit operations */
	if (w->store(M, 0x200, mask) != 0)
		tap_bail("store");
	o = 0;
	is_int(w->add(M, 0x200, 2, &o), 0, "%s: fetch_add wraps", n);
	is_u64(o, mask, "%s: fetch_add wrap: old = max", n);
	is_u64(peek_word(s, 0x200), 1, "%s: max + 2 = 1 (mod 2^%u)", n, 8 * s);
	is_int(w->add(M, 0x200, mask, &o), 0, "%s: fetch_add max", n);
	is_u64(peek_word(s, 0x200), 0, "%s: 1 + max = 0 (mod 2^%u)", n, 8 * s);

	if (w->store(M, 0x200, UINT64_C(0x0f0f0f0f0f0f0f0f) & mask) != 0)
		tap_bail("store");
	o = 0;
	is_int(w->or(M, 0x200, UINT64_C(0x3030303030303030) & mask, &o), 0, "%s: fetch_or", n);
	is_u64(o, UINT64_C(0x0f0f0f0f0f0f0f0f) & mask, "%s: fetch_or: old", n);
	is_u64(peek_word(s, 0x200), UINT64_C(0x3f3f3f3f3f3f3f3f) & mask, "%s: fetch_or: new", n);
	is_int(w->or(M, 0x200, UINT64_C(0x8000000000000000) >> (64 - 8 * s), NULL), 0,
	       "%s: fetch_or, NULL old", n);
	is_u64(peek_word(s, 0x200), (UINT64_C(0xbf3f3f3f3f3f3f3f) >> (64 - 8 * s)) & mask,
	       "%s: fetch_or sets the top bit", n);
	o = 0;
	is_int(w->and(M, 0x200, UINT64_C(0x00ff00ff00ff00ff) & mask, &o), 0, "%s: fetch_and", n);
	is_u64(o, (UINT64_C(0xbf3f3f3f3f3f3f3f) >> (64 - 8 * s)) & mask, "%s: fetch_and: old", n);
	is_u64(peek_word(s, 0x200), UINT64_C(0x003f003f003f003f) & mask, "%s: fetch_and: new", n);
	is_int(w->and(M, 0x200, 0, NULL), 0, "%s: fetch_and 0, NULL old", n);
	is_u64(peek_word(s, 0x200), 0, "%s: fetch_and 0 clears", n);

	/* compare-exchange no-op and full-width values */
	if (w->store(M, 0x200, mask) != 0)
		tap_bail("store");
	e = mask;
	is_int(w->cmpxchg(M, 0x200, &e, mask), 0, "%s: cmpxchg storing the same value", n);
	e = mask;
	is_int(w->cmpxchg(M, 0x200, &e, 0), 0, "%s: cmpxchg all-ones -> 0", n);
	is_u64(peek_word(s, 0x200), 0, "%s: cmpxchg all-ones -> 0: stored", n);
	e = mask;
	is_int(w->cmpxchg(M, 0x200, &e, 5), -EAGAIN, "%s: cmpxchg expecting all-ones on 0 -> -EAGAIN", n);
	is_u64(e, 0, "%s: cmpxchg -EAGAIN: *expected = 0", n);

	/* alignment: -EINVAL before anything else */
	for (unsigned off = 1; off < s; off++) {
		char what[64];

		snprintf(what, sizeof(what), "misaligned by %u", off);
		all_ops_fail(w, 0x300 + off, -EINVAL, -EINVAL, what);
	}
	all_ops_fail(w, 0x1800 + 1, -EINVAL, -EINVAL, "misaligned in a hole (-EINVAL first)");
	all_ops_fail(w, 0x4000 + s / 2, -EINVAL, -EINVAL, "misaligned in an RO region (-EINVAL first)");
	all_ops_fail(w, UINT64_MAX, -EINVAL, -EINVAL, "at UINT64_MAX (misaligned)");
	all_ops_fail(w, UINT64_MAX - s + 2, -EINVAL, -EINVAL, "misaligned, running past 2^64");

	/* holes and regions ending inside a word */
	all_ops_fail(w, 0x1800, -EFAULT, -EFAULT, "in a hole");
	all_ops_fail(w, TOP - s, -EFAULT, -EFAULT, "just below the top region");
	all_ops_fail(w, (0x100c + s - 1) & ~(uint64_t)(s - 1), -EFAULT, -EFAULT,
		     "first aligned word past a 12-byte region");
	all_ops_fail(w, 0x3000 + 0x8, -EFAULT, -EFAULT, "past a 2-byte region");
	if (s == 8) {
		all_ops_fail(w, 0x1008, -EFAULT, -EFAULT,
			     "u64 at 0x1008: 12-byte region ends inside the word");
		all_ops_fail(w, 0x2008, -EFAULT, -EFAULT,
			     "u64 at 0x2008: word straddles two adjacent regions");
	} else {
		ops_at(w, 0x1008, "at 0x1008 inside a 12-byte region");
		ops_at(w, 0x2008, "at 0x2008 (the end of V)");
		ops_at(w, 0x200c, "at 0x200c (the start of X)");
	}
	if (s == 2)
		ops_at(w, 0x3000, "in a 2-byte region");
	else
		all_ops_fail(w, 0x3000, -EFAULT, -EFAULT, "word larger than a 2-byte region");

	/* read-only regions: load works, every modification -> -EACCES */
	reset_all();
	o = 0;
	is_int(w->load(M, 0x4008, &o), 0, "%s: load from RO region", n);
	is_u64(o, peek_word(s, 0x4008), "%s: load from RO region: value", n);
	o = SENT64;
	is_int(w->load(M, 0x5000, &o), 0, "%s: load from a PROT_READ ANON region", n);
	is_u64(o, 0, "%s: PROT_READ ANON region loads zero", n);
	{
		uint64_t cur = peek_word(s, 0x4008);

		snapshot();
		e = cur; /* matching: would succeed on a writable word */
		is_int(w->cmpxchg(M, 0x4008, &e, ~cur & mask), -EACCES, "%s: cmpxchg (matching) on RO -> -EACCES", n);
		is_u64(e, cur, "%s: cmpxchg on RO: expected untouched", n);
		ok(unchanged(), "%s: cmpxchg on RO: memory unchanged", n);
	}
	{
		/* all_ops_fail() would expect the load to fail too, so the
		 * modifying ops are checked one by one */
		uint64_t sent = SENT64 & mask;

		snapshot();
		is_int(w->store(M, 0x4010, 0x1234), -EACCES, "%s: store to RO -> -EACCES", n);
		e = SENT64;
		is_int(w->cmpxchg(M, 0x4010, &e, 0x1234), -EACCES, "%s: cmpxchg (mismatching) on RO -> -EACCES", n);
		is_u64(e, sent, "%s: cmpxchg mismatching on RO: expected untouched", n);
		o = SENT64;
		is_int(w->add(M, 0x4010, 1, &o), -EACCES, "%s: fetch_add on RO -> -EACCES", n);
		is_u64(o, sent, "%s: fetch_add on RO: old untouched", n);
		o = SENT64;
		is_int(w->or(M, 0x4010, 1, &o), -EACCES, "%s: fetch_or on RO -> -EACCES", n);
		is_u64(o, sent, "%s: fetch_or on RO: old untouched", n);
		o = SENT64;
		is_int(w->and(M, 0x4010, 0, &o), -EACCES, "%s: fetch_and on RO -> -EACCES", n);
		is_u64(o, sent, "%s: fetch_and on RO: old untouched", n);
		is_int(w->add(M, 0x4010, 1, NULL), -EACCES, "%s: fetch_add, NULL old, on RO -> -EACCES", n);
		is_int(w->store(M, 0x5ff8, 1), -EACCES, "%s: store to PROT_READ ANON -> -EACCES", n);
		is_int(w->or(M, 0x5000, 1, NULL), -EACCES, "%s: fetch_or on PROT_READ ANON -> -EACCES", n);
		ok(unchanged(), "%s: RO: no guest byte changed", n);
	}

	/* NULL arguments */
	o = SENT64;
	e = SENT64;
	is_int(w->load(NULL, 0x100, &o), -EINVAL, "%s: load, NULL map -> -EINVAL", n);
	is_int(w->store(NULL, 0x100, 1), -EINVAL, "%s: store, NULL map -> -EINVAL", n);
	is_int(w->cmpxchg(NULL, 0x100, &e, 1), -EINVAL, "%s: cmpxchg, NULL map -> -EINVAL", n);
	is_int(w->add(NULL, 0x100, 1, &o), -EINVAL, "%s: fetch_add, NULL map -> -EINVAL", n);
	is_int(w->or(NULL, 0x100, 1, &o), -EINVAL, "%s: fetch_or, NULL map -> -EINVAL", n);
	is_int(w->and(NULL, 0x100, 1, &o), -EINVAL, "%s: fetch_and, NULL map -> -EINVAL", n);
	is_int(w->add(NULL, 0x100, 1, NULL), -EINVAL, "%s: fetch_add, NULL map and old -> -EINVAL", n);
	is_int(w->load(M, 0x100, NULL), -EINVAL, "%s: load, NULL out -> -EINVAL", n);
	is_int(w->cmpxchg(M, 0x100, NULL, 1), -EINVAL, "%s: cmpxchg, NULL expected -> -EINVAL", n);
	is_int(w->load(M, 0x1800, NULL), -EINVAL, "%s: load, NULL out in a hole -> -EINVAL first", n);
	is_int(w->cmpxchg(M, 0x4000, NULL, 1), -EINVAL, "%s: cmpxchg, NULL expected on RO -> -EINVAL first", n);
	ok(o == (SENT64 & mask) && e == (SENT64 & mask), "%s: NULL map: outputs untouched", n);
}

/* ------------------------------------------------------------------------ */
/* Threads                                                                   */
/* ------------------------------------------------------------------------ */

#define NTHREADS 4
#define N_ADD 100000u
#define N_CAS 20000u
#define N_OWN 30000u
#define N_BITS 20000u

enum job { J_ADD64, J_ADD32, J_CAS64, J_CAS32, J_CAS16, J_OWN16, J_BITS };

struct worker {
	enum job job;
	unsigned id;
	unsigned long errors;	/* unexpected return codes */
	unsigned long bad;	/* wrong old values */
	unsigned long retries;	/* -EAGAIN loops */
	pthread_barrier_t *bar;
};

#define G_ADD64 0x6800u
#define G_ADD32 0x6808u
#define G_CAS64 0x6810u
#define G_CAS32 0x6818u
#define G_CAS16 0x681cu
#define G_OWN16 0x6820u /* 4 u16, one per thread, in one u64 */
#define G_BITS 0x6828u

static void *worker_main(void *arg)
{
	struct worker *wk = arg;

	pthread_barrier_wait(wk->bar);
	switch (wk->job) {
	case J_ADD64:
		for (unsigned i = 0; i < N_ADD; i++)
			if (gmem_atomic_fetch_add_u64(M, G_ADD64, 1, NULL) != 0)
				wk->errors++;
		break;
	case J_ADD32:
		for (unsigned i = 0; i < N_ADD; i++) {
			uint32_t old;

			if (gmem_atomic_fetch_add_u32(M, G_ADD32, 1, &old) != 0)
				wk->errors++;
		}
		break;
	case J_CAS64:
		for (unsigned i = 0; i < N_CAS; i++) {
			uint64_t e;
			int r;

			if (gmem_atomic_load_u64(M, G_CAS64, &e) != 0) {
				wk->errors++;
				continue;
			}
			while ((r = gmem_atomic_cmpxchg_u64(M, G_CAS64, &e, e + 1)) == -EAGAIN)
				wk->retries++;
			if (r != 0)
				wk->errors++;
		}
		break;
	case J_CAS32: {
		/* carry the expected value over: retries only on contention */
		uint32_t e = 0;

		for (unsigned i = 0; i < N_CAS; i++) {
			int r;

			while ((r = gmem_atomic_cmpxchg_u32(M, G_CAS32, &e, e + 1u)) == -EAGAIN)
				wk->retries++;
			if (r != 0)
				wk->errors++;
			else
				e++;
		}
		break;
	}
	case J_CAS16:
		/* always start from a stale 0: every increment goes through
		 * -EAGAIN and the *expected update at least once */
		for (unsigned i = 0; i < N_CAS / 4; i++) {
			uint16_t e = 0;
			int r;

			while ((r = gmem_atomic_cmpxchg_u16(M, G_CAS16, &e, (uint16_t)(e + 1u))) == -EAGAIN)
				wk->retries++;
			if (r != 0)
				wk->errors++;
		}
		break;
	case J_OWN16: {
		/* Each thread owns one u16 of a shared u64: the old value it
		 * sees must always be exactly its own running count. */
		uint64_t g = G_OWN16 + 2u * wk->id;

		for (unsigned i = 0; i < N_OWN; i++) {
			uint16_t old = 0;

			if (gmem_atomic_fetch_add_u16(M, g, 1, &old) != 0)
				wk->errors++;
			else if (old != (uint16_t)i)
				wk->bad++;
		}
		break;
	}
	case J_BITS: {
		/* Each thread sets and clears its own bits of one shared u64;
		 * nobody else touches them, so the old values must show them
		 * clear before the OR and set before the AND. */
		uint64_t mine = UINT64_C(0x1111111111111111) << wk->id;

		for (unsigned i = 0; i < N_BITS; i++) {
			uint64_t old = 0;

			if (gmem_atomic_fetch_or_u64(M, G_BITS, mine, &old) != 0)
				wk->errors++;
			else if (old & mine)
				wk->bad++;
			if (gmem_atomic_fetch_and_u64(M, G_BITS, ~mine, &old) != 0)
				wk->errors++;
			else if ((old & mine) != mine)
				wk->bad++;
		}
		break;
	}
	}
	return NULL;
}

static void run_threads(enum job job, const char *what, unsigned long *bad_out,
			unsigned long *retries_out)
{
	pthread_t th[NTHREADS];
	struct worker wk[NTHREADS];
	pthread_barrier_t bar;
	unsigned started = 0;
	unsigned long errors = 0, bad = 0, retries = 0;

	pthread_barrier_init(&bar, NULL, NTHREADS);
	for (unsigned i = 0; i < NTHREADS; i++) {
		memset(&wk[i], 0, sizeof(wk[i]));
		wk[i].job = job;
		wk[i].id = i;
		wk[i].bar = &bar;
		if (pthread_create(&th[i], NULL, worker_main, &wk[i]) != 0)
			tap_bail("pthread_create"); /* barrier needs all threads */
		started++;
	}
	for (unsigned i = 0; i < started; i++) {
		pthread_join(th[i], NULL);
		errors += wk[i].errors;
		bad += wk[i].bad;
		retries += wk[i].retries;
	}
	pthread_barrier_destroy(&bar);
	is_int(errors, 0, "threads: %s: every call succeeded", what);
	*bad_out = bad;
	*retries_out = retries;
}

static void test_threads(void)
{
	unsigned long bad, retries;
	uint64_t v64 = 0;
	uint32_t v32 = 0;
	uint16_t v16 = 0;

	if (gmem_zero(M, 0x6800, 0x40) != 0)
		tap_bail("gmem_zero");

	run_threads(J_ADD64, "fetch_add_u64", &bad, &retries);
	is_int(gmem_atomic_load_u64(M, G_ADD64, &v64), 0, "threads: load the u64 counter");
	is_u64(v64, (uint64_t)NTHREADS * N_ADD, "threads: %d x %u fetch_add_u64(1) = exact total", NTHREADS, N_ADD);

	run_threads(J_ADD32, "fetch_add_u32", &bad, &retries);
	is_int(gmem_atomic_load_u32(M, G_ADD32, &v32), 0, "threads: load the u32 counter");
	is_u64(v32, (uint64_t)NTHREADS * N_ADD, "threads: %d x %u fetch_add_u32(1) = exact total", NTHREADS, N_ADD);
	is_u64(peek_word(8, G_ADD64), (uint64_t)NTHREADS * N_ADD, "threads: the neighbouring u64 counter is intact");

	run_threads(J_CAS64, "cmpxchg_u64 increment loop", &bad, &retries);
	diag("cmpxchg_u64: %lu -EAGAIN retries", retries);
	is_int(gmem_atomic_load_u64(M, G_CAS64, &v64), 0, "threads: load the cmpxchg u64 counter");
	is_u64(v64, (uint64_t)NTHREADS * N_CAS, "threads: %d x %u cmpxchg_u64 increments = exact total", NTHREADS, N_CAS);

	run_threads(J_CAS32, "cmpxchg_u32 increment loop", &bad, &retries);
	diag("cmpxchg_u32: %lu -EAGAIN retries", retries);
	is_int(gmem_atomic_load_u32(M, G_CAS32, &v32), 0, "threads: load the cmpxchg u32 counter");
	is_u64(v32, (uint64_t)NTHREADS * N_CAS, "threads: %d x %u cmpxchg_u32 increments = exact total", NTHREADS, N_CAS);

	run_threads(J_CAS16, "cmpxchg_u16 increment loop", &bad, &retries);
	diag("cmpxchg_u16: %lu -EAGAIN retries", retries);
	is_int(gmem_atomic_load_u16(M, G_CAS16, &v16), 0, "threads: load the cmpxchg u16 counter");
	is_u64(v16, (uint64_t)NTHREADS * (N_CAS / 4), "threads: cmpxchg_u16 increments = exact total");
	is_u64(peek_word(4, G_CAS32), (uint64_t)NTHREADS * N_CAS, "threads: the neighbouring u32 counter is intact");

	run_threads(J_OWN16, "fetch_add_u16 on 4 neighbouring u16", &bad, &retries);
	is_int(bad, 0, "threads: each u16 only ever held its owner's count");
	for (unsigned i = 0; i < NTHREADS; i++) {
		is_int(gmem_atomic_load_u16(M, G_OWN16 + 2u * i, &v16), 0, "threads: load u16 #%u", i);
		is_u64(v16, N_OWN, "threads: u16 #%u = %u (no lost updates to neighbours)", i, N_OWN);
	}

	run_threads(J_BITS, "fetch_or/fetch_and on private bits", &bad, &retries);
	is_int(bad, 0, "threads: fetch_or/fetch_and old values always consistent");
	is_int(gmem_atomic_load_u64(M, G_BITS, &v64), 0, "threads: load the bit word");
	is_u64(v64, 0, "threads: every bit cleared again");
}

int main(void)
{
	setup();
	for (size_t i = 0; i < sizeof(widths) / sizeof(widths[0]); i++)
		test_width(&widths[i]);
	test_threads();
	teardown();
	return tap_done();
}
