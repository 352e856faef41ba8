/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * grace.c - grace-period detection for atomic spaces.
 *
 * Protocol.  A space holds current (the published map) and epoch (the
 * number of publications so far).  Each reader owns a slot whose sequence
 * word is even outside a section.
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
 *       F = min over odd v of (v - 1) / 2 (UINT64_MAX if none is odd)
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
 * If it reads a later store, that is X or a store sequenced after X (by R,
 * or by the slot's next owner, which got the slot through
 * gmem__grace_slot_put()'s release and the allocator's lock, after R's
 * last X); every such store is a release and S an acquire, so X
 * happens-before S, which is sequenced before the free.  Every scan that
 * can free the map re-reads the slot and decides again in the same way.
 * A slot must of course be scanned: a scan holds the registry lock, so a
 * chunk linked after it unlocked gives readers whose E2 happens after the
 * scan, hence after P: they read new.
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
#include <string.h>
#include <unistd.h>

#include "space.h"

GMEM_INTERNAL int gmem__grace_init(struct gmem_grace *g)
{
	int err = pthread_mutex_init(&g->lock, NULL);

	if (err)
		return -err;
	g->head = NULL;
	g->nslots = 0;
	g->asym = gmem__membarrier_usable();
	return 0;
}

GMEM_INTERNAL int gmem__grace_use_fallback(struct gmem_grace *g)
{
	int err = 0;

	pthread_mutex_lock(&g->lock);
	if (g->nslots)
		err = -EBUSY;
	else
		g->asym = false;
	pthread_mutex_unlock(&g->lock);
	return err;
}

GMEM_INTERNAL void gmem__grace_destroy(struct gmem_grace *g)
{
	struct gmem_rslot_chunk *c, *next;

	c = __atomic_load_n(&g->head, __ATOMIC_RELAXED);
	for (; c; c = next) {
		next = __atomic_load_n(&c->next, __ATOMIC_RELAXED);
		free(c);
	}
	pthread_mutex_destroy(&g->lock);
}

static struct gmem_rslot_chunk *chunk_new(void)
{
	struct gmem_rslot_chunk *c;

	c = aligned_alloc(GMEM_CACHE_LINE,
			  (sizeof(*c) + GMEM_CACHE_LINE - 1) &
				  ~(size_t)(GMEM_CACHE_LINE - 1));
	if (c)
		memset(c, 0, sizeof(*c));
	return c;
}

GMEM_INTERNAL int gmem__grace_slot_get(struct gmem_grace *g,
				       struct gmem_rslot **out)
{
	struct gmem_rslot_chunk *c, *last = NULL;
	size_t i;

	/* The list only grows, under the lock: relaxed loads suffice here. */
	pthread_mutex_lock(&g->lock);
	for (c = __atomic_load_n(&g->head, __ATOMIC_RELAXED); c;
	     c = __atomic_load_n(&c->next, __ATOMIC_RELAXED)) {
		for (i = 0; i < GMEM_SLOTS_PER_CHUNK; i++) {
			/* Acquire: the last owner's stores come first. */
			if (!__atomic_load_n(&c->slots[i].in_use,
					     __ATOMIC_ACQUIRE)) {
				__atomic_store_n(&c->slots[i].in_use, 1,
						 __ATOMIC_RELAXED);
				pthread_mutex_unlock(&g->lock);
				*out = &c->slots[i];
				return 0;
			}
		}
		last = c;
	}
	c = chunk_new();
	if (!c) {
		pthread_mutex_unlock(&g->lock);
		return -ENOMEM;
	}
	__atomic_store_n(&c->slots[0].in_use, 1, __ATOMIC_RELAXED);
	/* gmem__grace_self_inside() walks the list without the lock:
	 * publish a complete chunk. */
	__atomic_store_n(last ? &last->next : &g->head, c, __ATOMIC_RELEASE);
	g->nslots += GMEM_SLOTS_PER_CHUNK;
	pthread_mutex_unlock(&g->lock);
	*out = &c->slots[0];
	return 0;
}

GMEM_INTERNAL void gmem__grace_slot_put(struct gmem_rslot *slot)
{
	/* The word keeps its (even) value: a later owner starts from there. */
	__atomic_store_n(&slot->in_use, 0, __ATOMIC_RELEASE);
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
				 const struct gmem_rslot *s)
{
	if (g->asym)
		return __atomic_load_n(&s->w.seq, __ATOMIC_ACQUIRE);
	return __atomic_load_n(&s->w.seq, __ATOMIC_SEQ_CST);
}

GMEM_INTERNAL uint64_t gmem__grace_scan(struct gmem_grace *g)
{
	uint64_t min = UINT64_MAX;
	struct gmem_rslot_chunk *c;
	size_t i;

	/* The lock orders the scan against chunks being linked (the
	 * argument above, "a slot must be scanned"). */
	pthread_mutex_lock(&g->lock);
	for (c = __atomic_load_n(&g->head, __ATOMIC_RELAXED); c;
	     c = __atomic_load_n(&c->next, __ATOMIC_RELAXED)) {
		for (i = 0; i < GMEM_SLOTS_PER_CHUNK; i++) {
			uint64_t v = scan_load(g, &c->slots[i]);

			if ((v & 1) && (v >> 1) < min)
				min = v >> 1;
		}
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
	struct gmem_rslot_chunk *c;
	size_t i;

	for (c = __atomic_load_n(&g->head, __ATOMIC_ACQUIRE); c;
	     c = __atomic_load_n(&c->next, __ATOMIC_ACQUIRE)) {
		for (i = 0; i < GMEM_SLOTS_PER_CHUNK; i++) {
			struct gmem__slot_words *w = &c->slots[i].w;

			uintptr_t owner;

			if (!(__atomic_load_n(&w->seq, __ATOMIC_ACQUIRE) & 1))
				continue;
			owner = __atomic_load_n(&w->owner, __ATOMIC_RELAXED);
			if (owner == self)
				return true;
		}
	}
	return false;
}
