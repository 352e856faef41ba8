/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * io.c - readv/writev between file descriptors and guest memory.
 *
 * Each system call gets the host fragments of the part of the range not yet
 * transferred, so a short transfer leaves no gap: the next byte to move is
 * always the first byte not yet moved (vm-memory 0.17+ restarts at the next
 * region's start after a short read instead).
 */
#include "dirty.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <unistd.h>

/*
 * Fragments per system call: up to IOV_MAX, so a datagram or seqpacket
 * message that fits in IOV_MAX fragments moves in one call, boundaries
 * intact.  Small ranges use an on-stack array (VMM coroutine stacks can be
 * tiny); larger ones allocate.
 */
#define GMEM_IO_STACK_IOV 16
#ifndef IOV_MAX
#define IOV_MAX 1024
#endif

enum io_mode {
	IO_STOP_SHORT = 0, /* return after EOF or a short transfer */
	IO_EXACT = 1,	   /* keep going until len, EOF is an error */
};

struct io_req {
	const struct gmem_map *m;
	uint64_t gpa;
	uint64_t len;
	int fd;
	int64_t offset; /* -1: use the file position */
	bool to_guest;
	enum io_mode mode;
};

/* Number of fragments of a validated range, capped at IOV_MAX. */
static int count_frags(const struct gmem_map *m, size_t first, uint64_t gpa,
		       uint64_t len)
{
	struct gmem_frag f;
	uint8_t *host;
	int cnt = 0;

	gmem__frag_init(&f, m, first, gpa, len);
	while (cnt < IOV_MAX && gmem__frag_next(&f, &host) != 0)
		cnt++;
	return cnt;
}

/* Host fragments of [gpa, gpa + len), at most max of them. */
static int fill_iov(const struct gmem_map *m, uint64_t gpa, uint64_t len,
		    struct iovec *iov, int max, uint64_t *batch)
{
	struct gmem_frag f;
	uint8_t *host;
	uint64_t n;
	int cnt = 0;

	gmem__frag_init(&f, m, gmem__lookup(m, gpa), gpa, len);
	*batch = 0;
	while (cnt < max && (n = gmem__frag_next(&f, &host)) != 0) {
		/* A single iovec must fit ssize_t. */
		if (n > (uint64_t)SSIZE_MAX - *batch)
			n = (uint64_t)SSIZE_MAX - *batch;
		iov[cnt].iov_base = host;
		iov[cnt].iov_len = n;
		*batch += n;
		cnt++;
		if (*batch == (uint64_t)SSIZE_MAX)
			break;
	}
	return cnt;
}

static ssize_t io_call(const struct io_req *rq, const struct iovec *iov,
		       int cnt, uint64_t done)
{
	if (rq->offset < 0)
		return rq->to_guest ? readv(rq->fd, iov, cnt)
				    : writev(rq->fd, iov, cnt);
	/* offset + len was checked against INT64_MAX up front. */
	return rq->to_guest
		       ? preadv(rq->fd, iov, cnt, (off_t)(rq->offset + (int64_t)done))
		       : pwritev(rq->fd, iov, cnt,
				 (off_t)(rq->offset + (int64_t)done));
}

static int io_loop(const struct io_req *rq, struct iovec *iov, int max,
		   size_t *done_out)
{
	uint64_t done = 0;

	while (done < rq->len) {
		uint64_t pos = rq->gpa + done, batch;
		int cnt = fill_iov(rq->m, pos, rq->len - done, iov, max, &batch);
		ssize_t n = io_call(rq, iov, cnt, done);

		if (n < 0) {
			int e = errno == EWOULDBLOCK ? EAGAIN : errno;

			if (e == EINTR)
				continue;
			/* Would block after progress: that is a short
			 * transfer, unless the caller insists on all. */
			if (e == EAGAIN && done > 0 && rq->mode != IO_EXACT)
				return 0;
			return -e;
		}
		if (rq->to_guest && n > 0)
			gmem__dirty_mark_range(rq->m, gmem__lookup(rq->m, pos),
					       pos, (uint64_t)n);
		done += (uint64_t)n;
		*done_out = (size_t)done;
		if (n == 0) {
			if (rq->mode != IO_EXACT)
				return 0;
			return rq->to_guest ? -ENODATA : -EIO;
		}
		if ((uint64_t)n < batch && rq->mode != IO_EXACT)
			return 0;
	}
	return 0;
}

static int io_run(const struct io_req *rq, size_t *done_out)
{
	struct iovec stack_iov[GMEM_IO_STACK_IOV], *iov = stack_iov;
	uint64_t ok;
	size_t first;
	int err, max;

	err = gmem__span(rq->m, rq->gpa, rq->len,
			 rq->to_guest ? GMEM_ACCESS_WRITE : GMEM_ACCESS_READ,
			 &ok, &first);
	if (err)
		return err;
	max = count_frags(rq->m, first, rq->gpa, rq->len);
	if (max > GMEM_IO_STACK_IOV) {
		iov = malloc((size_t)max * sizeof(*iov));
		if (!iov)
			return -ENOMEM;
	}
	err = io_loop(rq, iov, max, done_out);
	if (iov != stack_iov)
		free(iov);
	return err;
}

static int io_start(const struct gmem_map *m, uint64_t gpa, size_t len, int fd,
		    int64_t offset, bool to_guest, enum io_mode mode,
		    size_t *done)
{
	struct io_req rq = { m, gpa, len, fd, offset, to_guest, mode };

	if (!done)
		return -EINVAL;
	*done = 0;
	if (!m || fd < 0 || offset < -1)
		return -EINVAL;
	if (gmem_range_check(gpa, len))
		return -EOVERFLOW;
	if (offset >= 0 && len > (uint64_t)(INT64_MAX - offset))
		return -EOVERFLOW;
	if (len == 0)
		return 0;
	return io_run(&rq, done);
}

GMEM_EXPORT int gmem_read_fd(const gmem_map *map, uint64_t gpa, size_t len,
			     int fd, size_t *done)
{
	return io_start(map, gpa, len, fd, -1, true, IO_STOP_SHORT, done);
}

GMEM_EXPORT int gmem_write_fd(const gmem_map *map, uint64_t gpa, size_t len,
			      int fd, size_t *done)
{
	return io_start(map, gpa, len, fd, -1, false, IO_STOP_SHORT, done);
}

GMEM_EXPORT int gmem_pread_fd(const gmem_map *map, uint64_t gpa, size_t len,
			      int fd, int64_t offset, size_t *done)
{
	if (offset < 0) {
		if (done)
			*done = 0;
		return -EINVAL;
	}
	return io_start(map, gpa, len, fd, offset, true, IO_STOP_SHORT, done);
}

GMEM_EXPORT int gmem_pwrite_fd(const gmem_map *map, uint64_t gpa, size_t len,
			       int fd, int64_t offset, size_t *done)
{
	if (offset < 0) {
		if (done)
			*done = 0;
		return -EINVAL;
	}
	return io_start(map, gpa, len, fd, offset, false, IO_STOP_SHORT, done);
}

GMEM_EXPORT int gmem_read_fd_exact(const gmem_map *map, uint64_t gpa,
				   size_t len, int fd, size_t *done)
{
	return io_start(map, gpa, len, fd, -1, true, IO_EXACT, done);
}

GMEM_EXPORT int gmem_write_fd_exact(const gmem_map *map, uint64_t gpa,
				    size_t len, int fd, size_t *done)
{
	return io_start(map, gpa, len, fd, -1, false, IO_EXACT, done);
}
