/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * grace.c - grace-period detection for atomic spaces.
 *
 * Ordering argument (C11 memory model).
 *
 * Reader R, entering:   E1  store(slot.seq, odd)       seq_cst
 *                       E2  m = load(space.current)    seq_cst
 *           ... uses m and the regions it references ...
 *           exiting:    X   store(slot.seq, even)      release
 * Writer W, publishing: P   old = exchange(space.current, new)  seq_cst
 *                       S   v = load(slot.seq)         seq_cst, every slot
 *           later:      C   load(slot.seq) != v        acquire
 *                       then frees old (and unmaps regions only old held).
 *
 * Claim: if R's section uses old, W does not free old before X.
 *
 * All of E1, E2, P and S are seq_cst, so they sit in one total order that
 * agrees with each thread's program order (E1 before E2, P before S).
 *  (a) If S precedes E1 in that order, then P < S < E1 < E2, and a seq_cst
 *      load (E2) cannot read a value older than the last seq_cst store to
 *      the same object before it (P): R gets new (or later), not old.
 *  (b) Otherwise E1 precedes S, so S reads E1's odd value or a later one in
 *      slot.seq's modification order.  If S reads an even value, R already
 *      executed X for that section (only R writes its slot: after E1 the
 *      next write is X), and S (seq_cst, hence acquire) reading X or a
 *      later store by R, all of which continue X's release sequence,
 *      synchronizes with X: R's section happens-before the free.  If S
 *      reads odd v, W records (slot, v) and waits in C until it reads a
 *      different value; that value is X or later in R's release sequence,
 *      so again the section happens-before the free.
 * A reader that uses a map it did not load inside the section is outside
 * this argument; the API makes the map's lifetime the section's.
 *
 * Publication of the new map's contents: P is a release (seq_cst RMW) of a
 * map fully initialised before it, and E2 an acquire, so R sees the map as
 * built.
 *
 * Progress: readers never wait.  W waits only for sections that had begun
 * before S, so a stream of new sections cannot starve it.
 *
 * Slots are cache-line aligned and written only by their reader (and by
 * allocation, under g->lock, when no reader owns them), so entering and
 * exiting touch no shared cache line.  The owner field is written before E1
 * and read by W after S reads odd, so a writer that sees its own thread id
 * there is in a section itself and would wait for itself: -EDEADLK.
 */
#include "grace.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>

GMEM_INTERNAL int gmem__grace_init(struct gmem_grace *g)
{
	int err = pthread_mutex_init(&g->lock, NULL);

	if (err)
		return -err;
	atomic_init(&g->head, NULL);
	g->nslots = 0;
	return 0;
}

GMEM_INTERNAL void gmem__grace_destroy(struct gmem_grace *g)
{
	struct gmem_rslot_chunk *c = atomic_load(&g->head), *next;

	for (; c; c = next) {
		next = atomic_load(&c->next);
		free(c);
	}
	pthread_mutex_destroy(&g->lock);
}

static struct gmem_rslot_chunk *chunk_new(void)
{
	struct gmem_rslot_chunk *c;
	size_t i;

	c = aligned_alloc(GMEM_CACHE_LINE,
			  (sizeof(*c) + GMEM_CACHE_LINE - 1) &
				  ~(size_t)(GMEM_CACHE_LINE - 1));
	if (!c)
		return NULL;
	for (i = 0; i < GMEM_SLOTS_PER_CHUNK; i++) {
		atomic_init(&c->slots[i].seq, 0);
		atomic_init(&c->slots[i].owner, 0);
		atomic_init(&c->slots[i].in_use, 0);
	}
	atomic_init(&c->next, NULL);
	return c;
}

GMEM_INTERNAL int gmem__grace_slot_get(struct gmem_grace *g,
				       struct gmem_rslot **out)
{
	struct gmem_rslot_chunk *c, *last = NULL;
	size_t i;

	pthread_mutex_lock(&g->lock);
	for (c = atomic_load(&g->head); c; c = atomic_load(&c->next)) {
		for (i = 0; i < GMEM_SLOTS_PER_CHUNK; i++) {
			if (!atomic_load_explicit(&c->slots[i].in_use,
						  memory_order_acquire)) {
				atomic_store(&c->slots[i].in_use, 1);
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
	atomic_store(&c->slots[0].in_use, 1);
	/* Writers walk the list without the lock: publish a complete chunk. */
	if (last)
		atomic_store_explicit(&last->next, c, memory_order_release);
	else
		atomic_store_explicit(&g->head, c, memory_order_release);
	g->nslots += GMEM_SLOTS_PER_CHUNK;
	pthread_mutex_unlock(&g->lock);
	*out = &c->slots[0];
	return 0;
}

GMEM_INTERNAL void gmem__grace_slot_put(struct gmem_rslot *slot)
{
	/* The counter keeps counting: a later owner continues from here, so
	 * an old snapshot of this slot can never be confused with it. */
	atomic_store_explicit(&slot->in_use, 0, memory_order_release);
}

GMEM_INTERNAL int gmem__grace_swap(struct gmem_grace *g, gmem_map *_Atomic *cur,
				   gmem_map *next, gmem_map **old,
				   struct gmem_grace_wait *w)
{
	struct gmem_rslot_chunk *c;
	size_t i, n = 0;

	/* Holding the lock keeps the slot count fixed between the allocation
	 * and the scan, so every reader that could load the old map is seen. */
	pthread_mutex_lock(&g->lock);
	w->pairs = NULL;
	if (g->nslots) {
		w->pairs = malloc(g->nslots * sizeof(*w->pairs));
		if (!w->pairs) {
			pthread_mutex_unlock(&g->lock);
			return -ENOMEM;
		}
	}
	*old = atomic_exchange_explicit(cur, next, memory_order_seq_cst);
	for (c = atomic_load(&g->head); c; c = atomic_load(&c->next)) {
		for (i = 0; i < GMEM_SLOTS_PER_CHUNK; i++) {
			uint_fast64_t v = atomic_load_explicit(
				&c->slots[i].seq, memory_order_seq_cst);

			if (v & 1) {
				w->pairs[n].slot = &c->slots[i];
				w->pairs[n].seq = v;
				n++;
			}
		}
	}
	pthread_mutex_unlock(&g->lock);
	w->n = n;
	return 0;
}

GMEM_INTERNAL bool gmem__grace_poll(struct gmem_grace_wait *w)
{
	size_t i = 0;

	/* Drop the pairs that are done, so later polls look at fewer. */
	while (i < w->n) {
		if (atomic_load_explicit(&w->pairs[i].slot->seq,
					 memory_order_acquire) != w->pairs[i].seq)
			w->pairs[i] = w->pairs[--w->n];
		else
			i++;
	}
	return w->n == 0;
}

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

GMEM_INTERNAL void gmem__grace_wait(struct gmem_grace_wait *w)
{
	unsigned spins = 0;

	while (!gmem__grace_poll(w)) {
		if (++spins < 256)
			cpu_relax();
		else
			sched_yield();
	}
}

GMEM_INTERNAL void gmem__grace_wait_free(struct gmem_grace_wait *w)
{
	free(w->pairs);
	w->pairs = NULL;
	w->n = 0;
}

GMEM_INTERNAL bool gmem__grace_self_inside(struct gmem_grace *g)
{
	uintptr_t self = gmem__self();
	struct gmem_rslot_chunk *c;
	size_t i;

	for (c = atomic_load_explicit(&g->head, memory_order_acquire); c;
	     c = atomic_load_explicit(&c->next, memory_order_acquire)) {
		for (i = 0; i < GMEM_SLOTS_PER_CHUNK; i++) {
			struct gmem_rslot *s = &c->slots[i];

			if ((atomic_load(&s->seq) & 1) &&
			    atomic_load_explicit(&s->owner,
						 memory_order_relaxed) == self)
				return true;
		}
	}
	return false;
}
