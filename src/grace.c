/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * grace.c - grace-period detection for atomic spaces.
 *
 * Protocol.  A space holds current (the published map) and epoch (the
 * number of publications so far).  Each reader owns a slot whose sequence
 * word is even outside a section.  Bit 63 of that word (GMEM__SEQ_LIB)
 * only tells the reader's own fast path to call the library; everything
 * below is about the other bits, and scans mask it off.
 *
 * Reader R, entering (outermost section):
 *   E0  e = load(space.epoch)                 acquire
 *   E1  store(slot.seq, 2e+1)                 asym: release; fallback: seq_cst
 *       (asym: compiler barrier)
 *   E2  m = load(space.current)               asym: acquire; fallback: seq_cst
 *       ... uses m and the regions it references ...
 *   X   store(slot.seq, 2e+2)                 release
 *   (the owner word is stored, relaxed, before E1)
 * Writer W, publication number j (under the space's write lock):
 *   P   old = exchange(space.current, new)    seq_cst
 *   N   store(space.epoch, j)                 release
 *       old is retired with number j.
 * Later, before anything retired with number j may be freed:
 *   B   barrier after P: asym: membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED);
 *       fallback: none
 *   S   v = load(slot.seq) for every slot     asym: acquire; fallback: seq_cst
 *       F = min over odd v of (v - 1) / 2 (UINT64_MAX if none is odd),
 *       GMEM__SEQ_LIB masked off
 *   W frees the maps retired with numbers j <= F (WAIT and synchronize
 *   repeat S until F reaches their number).
 * One B covers every map retired before it and one S, reading each slot
 * once, decides for all of them; a DEFER publication does neither (see
 * space_atomic.c for who does, and when).
 *
 * Claim: if a section of R uses the map retired by publication j, W frees
 * that map only after the section's X, which happens-before the free.
 *
 * Lemma 1 (E0 is a lower bound).  If E0 reads i, it read N_i's value or a
 * later one; P_i is sequenced before N_i (release), which E0 (acquire)
 * synchronizes with, so E2, sequenced after E0, reads P_i's value or a
 * later one in current's modification order.  A section that uses the map
 * retired by publication j has E2 reading a value older than P_j's; with
 * e >= j it would read P_e's value or a later one, hence P_j's or later
 * (publications are serialized).  So e < j: its odd value 2e+1 keeps
 * F < j for as long as a scan reads it.
 *
 * Lemma 2 (S sees E1).  Every scan S after B reads, for a section that
 * uses a map retired by a publication P before B, E1 or a later store to
 * R's slot.
 *   Asym: model membarrier(2) as two seq_cst fences F1, F2 in W, with, in
 *   every other thread, a seq_cst fence Q somewhere in its program order
 *   and F1 < Q < F2 in the total order of seq_cst operations (the kernel
 *   makes each running thread execute a full barrier in between, and a
 *   thread switched out passes through one).  The compiler barrier keeps
 *   E1 before E2 in the instruction stream, so Q lies before E1, between
 *   E1 and E2, or after E2:
 *     (a) before E1: P is sequenced before F1 < Q, which is sequenced
 *         before E2, so E2 reads P's value or a later one: R got new, not
 *         old; this section does not use old (nor any map retired before
 *         B).
 *     (b) between E1 and E2, or (c) after E2: E1 is sequenced before
 *         Q < F2, which is sequenced before S, so S reads E1 or a later
 *         store in slot.seq's modification order.
 *   Fallback: E1, E2, P and S are seq_cst, so they sit in one total order
 *   consistent with program order (E1 before E2, P before S).
 *     (a) S precedes E1: P < S < E1 < E2, and a seq_cst load cannot read a
 *         value older than the last seq_cst store before it to the same
 *         object (P): R gets new.
 *     (b) E1 precedes S: S reads E1 or a later store.
 * Proof of the claim.  By Lemma 2, S reads E1 or later.  If it reads E1,
 * its value is 2e+1 with e < j (Lemma 1), so F < j and the map is kept.
 * The only stores between E1 and X are nested sections setting and
 * clearing GMEM__SEQ_LIB: masked, they read as E1 does.  Any other later
 * store is X or a store that X happens-before (by the same thread, or by
 * the reader's next thread after the hand-off the API requires); every
 * such store is a release and S an acquire, so X happens-before S, which
 * is sequenced before the free.  Every scan that
 * can free the map re-reads the slot and decides again in the same way.
 * A slot must of course be scanned while it can hold such an E1.  A scan
 * holds the registry lock.  A reader registered after the scan unlocked
 * has its E2 after the scan, hence after P: it reads new.  A reader
 * removed before the scan locked had no section open (gmem_reader_free()
 * refuses otherwise), so its last X precedes its unlock, which precedes
 * the scan: X happens-before the free.
 * A reader that uses a map it did not load inside the section is outside
 * this argument; the API makes the map's lifetime the section's.
 *
 * Exactness.  A retired map waits only for the sections that began before
 * its publication (in the lock-step schedules that tests and the fuzzer
 * use, exactly those; in a race, Q between E0 and E1 can make a section
 * that got the new map carry an older e, which only keeps maps a little
 * longer).  So a late scan holds no map longer than an immediate one
 * would, and WAIT or synchronize never wait for sections that began after
 * their publication.  Two sections of one slot begun in the same epoch
 * store the same odd value; a scan cannot tell them apart and need not:
 * they keep the same maps.
 *
 * Publication of the new map's contents: P is a release (seq_cst RMW) of a
 * map fully initialised before it, and E2 an acquire, so R sees the map as
 * built.
 *
 * Progress: readers never wait, and neither does B (membarrier(2) returns
 * once every CPU has run its barrier, whatever readers are doing).  A
 * writer waiting for number j waits only for sections with e < j; once N_j
 * is visible to a reader its sections have e >= j, so a stream of new
 * sections cannot starve it.
 *
 * Owner: stored before E1, which is a release; a scan that reads E1's odd
 * value (acquire) sees it.  -EDEADLK only asks whether the calling thread
 * itself is inside, and a thread always sees its own stores.
 */
#include "grace.h"
#include "membarrier.h"

#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

#include "space.h"

GMEM_INTERNAL int gmem__grace_init(struct gmem_grace *g)
{
	int err = pthread_mutex_init(&g->lock, NULL);

	if (err)
		return -err;
	g->slots = NULL;
	g->nslots = 0;
	g->cap = 0;
	g->sealed = false;
	g->asym = gmem__membarrier_usable();
	return 0;
}

GMEM_INTERNAL int gmem__grace_use_fallback(struct gmem_grace *g)
{
	int err = 0;

	pthread_mutex_lock(&g->lock);
	if (g->sealed)
		err = -EBUSY;
	else
		g->asym = false;
	pthread_mutex_unlock(&g->lock);
	return err;
}

GMEM_INTERNAL void gmem__grace_destroy(struct gmem_grace *g)
{
	free(g->slots);
	pthread_mutex_destroy(&g->lock);
}

GMEM_INTERNAL int gmem__grace_add(struct gmem_grace *g,
				  struct gmem__slot_words *w)
{
	pthread_mutex_lock(&g->lock);
	if (g->nslots == g->cap) {
		size_t cap = g->cap ? 2 * g->cap : 8;
		struct gmem__slot_words **n = NULL;

		if (cap <= SIZE_MAX / sizeof(*n))
			n = realloc(g->slots, cap * sizeof(*n));
		if (!n) {
			pthread_mutex_unlock(&g->lock);
			return -ENOMEM;
		}
		g->slots = n;
		g->cap = cap;
	}
	g->slots[g->nslots++] = w;
	g->sealed = true;
	pthread_mutex_unlock(&g->lock);
	return 0;
}

GMEM_INTERNAL void gmem__grace_remove(struct gmem_grace *g,
				      struct gmem__slot_words *w)
{
	size_t i;

	pthread_mutex_lock(&g->lock);
	for (i = 0; i < g->nslots; i++) {
		if (g->slots[i] == w) {
			g->slots[i] = g->slots[--g->nslots];
			break;
		}
	}
	pthread_mutex_unlock(&g->lock);
}

GMEM_INTERNAL int gmem__grace_barrier(struct gmem_grace *g)
{
	if (!g->asym)
		return 0;
	if (gmem__sys_membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0)
		return 0;
	/*
	 * Registration succeeded when the space was made, and Linux carries
	 * it across fork(); a kernel that did not would refuse with EPERM,
	 * so register again once.  If the barrier still cannot run (say a
	 * seccomp filter installed since forbids membarrier(2)), nothing that
	 * was retired can be proven unreachable any more: callers keep those
	 * maps (a leak) rather than risk unmapping memory a reader uses.
	 */
	if (gmem__sys_membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) ==
		    0 &&
	    gmem__sys_membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0)
		return 0;
	return errno ? -errno : -EPERM;
}

/* S: acquire after a membarrier(2), seq_cst in the fallback protocol. */
static inline uint64_t scan_load(const struct gmem_grace *g,
				 const struct gmem__slot_words *w)
{
	if (g->asym)
		return __atomic_load_n(&w->seq, __ATOMIC_ACQUIRE);
	return __atomic_load_n(&w->seq, __ATOMIC_SEQ_CST);
}

GMEM_INTERNAL uint64_t gmem__grace_scan(struct gmem_grace *g)
{
	uint64_t min = UINT64_MAX;
	size_t i;

	/* The lock orders the scan against readers coming and going (the
	 * argument above, "a slot must be scanned"). */
	pthread_mutex_lock(&g->lock);
	for (i = 0; i < g->nslots; i++) {
		uint64_t v = scan_load(g, g->slots[i]) & ~GMEM__SEQ_LIB;

		if ((v & 1) && (v >> 1) < min)
			min = v >> 1;
	}
	pthread_mutex_unlock(&g->lock);
	return min;
}

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

GMEM_INTERNAL void gmem__grace_wait(struct gmem_grace *g, uint64_t epoch)
{
	unsigned spins = 0;

	while (gmem__grace_scan(g) < epoch) {
		if (++spins < 256)
			cpu_relax();
		else
			sched_yield();
	}
}

GMEM_INTERNAL bool gmem__grace_self_inside(struct gmem_grace *g)
{
	uintptr_t self = gmem__thread_ptr();
	bool inside = false;
	size_t i;

	pthread_mutex_lock(&g->lock);
	for (i = 0; i < g->nslots && !inside; i++) {
		struct gmem__slot_words *w = g->slots[i];

		inside = (__atomic_load_n(&w->seq, __ATOMIC_ACQUIRE) & 1) &&
			 __atomic_load_n(&w->owner, __ATOMIC_RELAXED) == self;
	}
	pthread_mutex_unlock(&g->lock);
	return inside;
}
