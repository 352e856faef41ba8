/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * rwlock_space.c - a caller-provided address space: a memory map guarded by
 * a pthread read-write lock.
 *
 * libgmem ships three address spaces (fixed, shared, atomic), and
 * gmem_space_new_custom() lets a VMM plug in its own, for instance to reuse
 * a locking scheme it already has.  Device code does not change: it keeps
 * calling gmem_reader_enter()/gmem_reader_exit() and never learns which
 * implementation is behind the gmem_space pointer.
 *
 * This implementation:
 *   - enter takes the read lock and hands out the current map.  The map is
 *     borrowed: the space holds a reference to it, and that reference can
 *     only be dropped by a writer, which cannot get the write lock while the
 *     section holds the read lock.  That satisfies gmem_space_ops' rule that
 *     the map stays valid, with a reference count of at least one, until
 *     exit.
 *   - exit releases the read lock.
 *   - rwlock_space_replace() takes the write lock (so it waits for every
 *     open section to end), swaps the map, releases the lock and only then
 *     drops the old map's reference.  References readers took with
 *     gmem_reader_ref() keep the old map alive beyond that by ordinary
 *     reference counting.
 *   - destroy, called once when the space's last reference goes, frees it.
 *
 * Compared with libgmem's atomic space: readers here write the lock's
 * shared cache line, and a replacement blocks new readers while it waits.
 * In exchange the code is short and the writer never keeps retired maps.
 *
 * Rules that follow from using a lock (documented for the VMM's threads):
 *   - The lock is writer-preferring so a steady stream of readers cannot
 *     starve replacements.  Such a lock is not recursive: a thread must not
 *     take the read lock twice.  gmem_reader takes care of that for nested
 *     sections (enter is called only for the outermost one), so use ONE
 *     gmem_reader per thread and space.
 *   - Never call rwlock_space_replace() from inside a section of the same
 *     space: the thread would wait for its own read lock.
 *
 * main() below exercises the space as a TAP test: one piece of device code
 * reads a descriptor and the buffer it points to, and the memory behind
 * the buffer is replaced between (and, in threads, during) requests.
 *
 * Build against an installed libgmem (tap.h is in the source tree's tests/):
 *   cc -std=gnu11 -Itests examples/rwlock_space.c -o rwlock_space \
 *      $(pkg-config --cflags --libs gmem) -pthread && ./rwlock_space
 * or compile it together with the library's sources (the src directory's
 * .c files, with -Iinclude -Isrc -DGMEM_BUILDING_LIBRARY).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gmem.h"
#include "tap.h"

/* ------------------------------------------------------------------------ */
/* The address space implementation                                         */
/* ------------------------------------------------------------------------ */

struct rwlock_space {
	pthread_rwlock_t lock;
	gmem_map *map;		  /* one reference, owned; protected by lock */
	unsigned long generation; /* bumped by every replacement; protected */
};

/* Counters for the test; a real implementation would not need them. */
static atomic_int enters, exits, destroyed;

static int rw_enter(void *ctx, void **token, const gmem_map **map)
{
	struct rwlock_space *rs = ctx;
	int err = pthread_rwlock_rdlock(&rs->lock);

	if (err)
		return -err; /* gmem_reader_enter() passes it on */
	atomic_fetch_add(&enters, 1);
	/* The token is per-section state handed back to exit.  This space
	 * needs none; it records the generation, for diagnostics. */
	*token = (void *)(uintptr_t)rs->generation;
	*map = rs->map; /* borrowed: safe while we hold the read lock */
	return 0;
}

static void rw_exit(void *ctx, void *token, const gmem_map *map)
{
	struct rwlock_space *rs = ctx;

	(void)token;
	(void)map;
	atomic_fetch_add(&exits, 1);
	pthread_rwlock_unlock(&rs->lock);
}

static void rw_destroy(void *ctx)
{
	struct rwlock_space *rs = ctx;

	/* No reader exists any more (each held a reference to the space). */
	gmem_map_free(rs->map);
	pthread_rwlock_destroy(&rs->lock);
	free(rs);
	atomic_fetch_add(&destroyed, 1);
}

/*
 * rwlock_space_new() - create the space.
 * @out: receives the gmem_space (one reference).
 * @map: the initial map; the space takes its own reference.
 * @handle: receives the implementation's state, for rwlock_space_replace();
 *          valid while the caller holds a reference to *@out.
 */
static int rwlock_space_new(gmem_space **out, gmem_map *map,
			    struct rwlock_space **handle)
{
	static const struct gmem_space_ops ops = {
		.size = (uint32_t)sizeof(struct gmem_space_ops),
		.enter = rw_enter,
		.exit = rw_exit,
		.destroy = rw_destroy,
	};
	pthread_rwlockattr_t attr;
	struct rwlock_space *rs;
	int err;

	if (!out || !map || !handle)
		return -EINVAL;
	rs = calloc(1, sizeof(*rs));
	if (!rs)
		return -ENOMEM;
	err = pthread_rwlockattr_init(&attr);
	if (err) {
		free(rs);
		return -err;
	}
	/* Writer-preferring (a GNU extension; see the rules above). */
	pthread_rwlockattr_setkind_np(&attr,
				      PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	err = pthread_rwlock_init(&rs->lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	if (err) {
		free(rs);
		return -err;
	}
	rs->map = gmem_map_ref(map);
	err = gmem_space_new_custom(out, &ops, rs);
	if (err) {
		/* destroy is only called for a space that was created. */
		gmem_map_free(rs->map);
		pthread_rwlock_destroy(&rs->lock);
		free(rs);
		return err;
	}
	*handle = rs;
	return 0;
}

/*
 * rwlock_space_replace() - publish a new map.
 * @rs: the space's state, from rwlock_space_new().
 * @map: the new map; the space takes its own reference.
 *
 * Waits until no section is open, so when it returns no reader can still
 * use the old map except through gmem_reader_ref() references.
 */
static int rwlock_space_replace(struct rwlock_space *rs, gmem_map *map)
{
	gmem_map *old;
	int err;

	if (!rs || !map)
		return -EINVAL;
	err = pthread_rwlock_wrlock(&rs->lock);
	if (err)
		return -err;
	old = rs->map;
	rs->map = gmem_map_ref(map);
	rs->generation++;
	pthread_rwlock_unlock(&rs->lock);
	/* Outside the lock: freeing may unmap regions, which takes time. */
	gmem_map_free(old);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Device code: knows gmem_space and gmem_reader, nothing else               */
/* ------------------------------------------------------------------------ */

#define RING_GPA UINT64_C(0x1000)
#define BUF_GPA UINT64_C(0x100000)
#define BUF_LEN 0x1000u

/*
 * Handle one request: the little-endian descriptor at RING_GPA is
 * { u64 addr; u32 len; }.  Copies the buffer out and returns its first and
 * last 64-bit words.  Every guest field is read once, then validated.
 */
static int device_request(gmem_reader *r, uint64_t *first, uint64_t *last)
{
	uint64_t buf[BUF_LEN / 8], addr;
	const gmem_map *m;
	uint32_t len;
	int err = gmem_reader_enter(r, &m);

	if (err)
		return err;
	err = gmem_read_le64(m, RING_GPA, &addr);
	if (!err)
		err = gmem_read_le32(m, RING_GPA + 8, &len);
	if (!err && (len < 8 || len > sizeof(buf) || len % 8))
		err = -EINVAL;
	if (!err)
		err = gmem_read(m, addr, buf, len);
	gmem_reader_exit(r); /* m and anything derived from it: gone */
	if (err)
		return err;
	*first = buf[0];
	*last = buf[len / 8 - 1];
	return 0;
}

/* ------------------------------------------------------------------------ */
/* The test                                                                  */
/* ------------------------------------------------------------------------ */

static gmem_region *region(uint64_t gpa, uint64_t len, uint64_t fill)
{
	gmem_region *reg = NULL;
	uint64_t *w, i;

	if (gmem_region_new_anon(&reg, gpa, len, 0) != 0)
		tap_bail("gmem_region_new_anon");
	w = gmem_region_host(reg);
	for (i = 0; i < len / 8; i++)
		w[i] = fill;
	return reg;
}

static gmem_map *map_of(gmem_region *a, gmem_region *b)
{
	gmem_region *rs[2] = { a, b };
	gmem_map *m = NULL;

	if (gmem_map_new(&m, rs, 2, 0) != 0)
		tap_bail("gmem_map_new");
	return m;
}

/* Device threads: every request must see one map, all A or all B. */
#define FILL_A UINT64_C(0xaaaaaaaaaaaaaaaa)
#define FILL_B UINT64_C(0xbbbbbbbbbbbbbbbb)

struct device_thread {
	pthread_t th;
	gmem_space *space;
	atomic_int *stop;
	unsigned long requests, errors;
	atomic_ulong saw_a, saw_b; /* read by the control thread meanwhile */
};

static void *device_thread_main(void *arg)
{
	struct device_thread *d = arg;
	gmem_reader *r = NULL;

	if (gmem_reader_new(&r, d->space) != 0) {
		d->errors++;
		return NULL;
	}
	while (!atomic_load(d->stop) || d->requests < 100) {
		uint64_t first = 0, last = 0;

		if (device_request(r, &first, &last) != 0 || first != last ||
		    (first != FILL_A && first != FILL_B))
			d->errors++;
		if (first == FILL_A)
			atomic_fetch_add(&d->saw_a, 1);
		if (first == FILL_B)
			atomic_fetch_add(&d->saw_b, 1);
		d->requests++;
	}
	if (gmem_reader_free(r) != 0)
		d->errors++;
	return NULL;
}

int main(void)
{
	gmem_region *ring = region(RING_GPA, 0x1000, 0);
	gmem_region *buf_a = region(BUF_GPA, BUF_LEN, FILL_A);
	gmem_region *buf_b = region(BUF_GPA, BUF_LEN, FILL_B);
	gmem_map *map_a = map_of(ring, buf_a), *map_b = map_of(ring, buf_b);
	struct rwlock_space *rs = NULL;
	gmem_space *space = NULL;
	gmem_reader *r = NULL;
	const gmem_map *m = NULL, *m2 = NULL;
	gmem_map *ref = NULL, *cur = NULL;
	uint64_t first = 0, last = 0, w = 0;
	int i, all;

	/* The descriptor lives in the ring region, shared by both maps. */
	if (gmem_write_le64(map_a, RING_GPA, BUF_GPA) != 0 ||
	    gmem_write_le32(map_a, RING_GPA + 8, BUF_LEN) != 0)
		tap_bail("descriptor");

	is_int(rwlock_space_new(&space, map_a, &rs), 0, "create the space");
	is_int(gmem_reader_new(&r, space), 0, "create a reader");

	/* Device code against the custom space. */
	is_int(device_request(r, &first, &last), 0, "request on map A");
	ok(first == FILL_A && last == FILL_A, "the device read buffer A");
	is_int(rwlock_space_replace(rs, map_b), 0,
	       "replace the map between requests");
	is_int(device_request(r, &first, &last), 0, "request on map B");
	ok(first == FILL_B && last == FILL_B, "the device read buffer B");

	/* Nested sections take the read lock once. */
	atomic_store(&enters, 0);
	atomic_store(&exits, 0);
	is_int(gmem_reader_enter(r, &m), 0, "enter");
	is_int(gmem_reader_enter(r, &m2), 0, "nested enter");
	ok(m == m2 && m == map_b, "nested sections share the snapshot");
	is_int(atomic_load(&enters), 1, "one rdlock for two sections");
	is_int(pthread_rwlock_trywrlock(&rs->lock), EBUSY,
	       "a writer cannot get in while a section is open");
	is_int(gmem_reader_exit(r), 0, "inner exit");
	is_int(atomic_load(&exits), 0, "the inner exit kept the lock");

	/* A reference outlives the section and the next replacement. */
	is_int(gmem_reader_ref(r, &ref), 0, "gmem_reader_ref");
	is_int(gmem_reader_exit(r), 0, "outer exit");
	is_int(atomic_load(&exits), 1, "the outer exit released the lock");
	is_int(pthread_rwlock_trywrlock(&rs->lock), 0,
	       "a writer can get in after the outer exit");
	pthread_rwlock_unlock(&rs->lock);
	is_int(rwlock_space_replace(rs, map_a), 0, "replace back to A");
	ok(gmem_read_u64(ref, BUF_GPA + 8, &w) == 0 && w == FILL_B,
	   "the reference still reads B after the replacement");
	gmem_map_free(ref);

	/* The control thread's view, and what the space does not do. */
	is_int(gmem_space_current(space, &cur), 0, "gmem_space_current");
	ok(cur == map_a, "current is map A");
	gmem_map_free(cur);
	is_int(gmem_space_replace(space, map_b, GMEM_PUBLISH_WAIT), -EOPNOTSUPP,
	       "libgmem's update functions are for atomic spaces only");

	/* Device threads while the control thread keeps replacing. */
	{
		struct device_thread d[2];
		atomic_int stop;
		unsigned long a = 0, b = 0;

		struct timespec t0, t;
		unsigned long n = 0;
		bool both = false;

		atomic_init(&stop, 0);
		memset(d, 0, sizeof(d));
		for (i = 0; i < 2; i++) {
			atomic_init(&d[i].saw_a, 0);
			atomic_init(&d[i].saw_b, 0);
			d[i].space = space;
			d[i].stop = &stop;
			if (pthread_create(&d[i].th, NULL, device_thread_main,
					   &d[i]) != 0)
				tap_bail("pthread_create");
		}
		/* Replace until every device has handled requests on both
		 * maps at least 50 times each (at most 10 s). */
		all = 1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		do {
			if (rwlock_space_replace(rs, (n++ & 1) ? map_a
							       : map_b) != 0)
				all = 0;
			both = true;
			for (i = 0; i < 2; i++)
				if (atomic_load(&d[i].saw_a) < 50 ||
				    atomic_load(&d[i].saw_b) < 50)
					both = false;
			clock_gettime(CLOCK_MONOTONIC, &t);
		} while (!both && t.tv_sec - t0.tv_sec < 10);
		ok(all, "%lu replacements while the devices run", n);
		ok(both, "every device handled requests on both maps");
		atomic_store(&stop, 1);
		for (i = 0; i < 2; i++) {
			pthread_join(d[i].th, NULL);
			is_int(d[i].errors, 0,
			       "device thread %d: every request saw one whole "
			       "map",
			       i);
			a += atomic_load(&d[i].saw_a);
			b += atomic_load(&d[i].saw_b);
		}
		diag("device requests: %lu on map A, %lu on map B", a, b);
		ok(a + b >= 200, "the devices made progress");
	}

	/* Teardown: the space lives until its last reference goes. */
	gmem_space_free(space);
	is_int(atomic_load(&destroyed), 0, "the reader keeps the space alive");
	is_int(device_request(r, &first, &last), 0,
	       "requests still work after the creator's free");
	is_int(gmem_reader_free(r), 0, "free the last reader");
	is_int(atomic_load(&destroyed), 1, "destroy ran once");

	gmem_map_free(map_a);
	gmem_map_free(map_b);
	gmem_region_free(ring);
	gmem_region_free(buf_a);
	gmem_region_free(buf_b);
	return tap_done();
}
