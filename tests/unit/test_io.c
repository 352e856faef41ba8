/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * test_io.c - file-descriptor I/O into and out of guest memory:
 * gmem_read_fd(), gmem_write_fd(), gmem_pread_fd(), gmem_pwrite_fd(),
 * gmem_read_fd_exact() and gmem_write_fd_exact() on regular files, memfds,
 * pipes and socketpairs.
 *
 * The rules under test (gmem.h, "File-descriptor I/O"): the whole range is
 * validated before any I/O (a hole or a read into read-only memory moves
 * no byte and consumes nothing from the descriptor); *done is always set;
 * transfers fill the range from its start with no gap, so a short read
 * from a pipe or a datagram socket never continues at the next region's
 * start (vm-memory's E-U7); EOF stops a plain transfer and is -ENODATA for
 * an exact read; a descriptor that would block gives -EAGAIN with the
 * bytes done so far; EINTR is retried.
 *
 * Map layout (USER regions over calloc'd blocks of exactly their size, so
 * an overrun is an ASan report; H = hole):
 *   A [0x1000,0x2000)  B [0x2000,0x3000)   adjacent
 *   H [0x3000,0x4000)
 *   R [0x4000,0x5000)  READONLY
 *   H [0x5000,0x6000)
 *   D [0x6000,0x7000)  E [0x7000,0x8000) READONLY, adjacent
 *   H
 *   F0..F99 [0x10000,0x10640)  100 adjacent 16-byte regions
 *   H
 *   T [2^64 - 0x1000, 2^64)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "gmem.h"
#include "tap.h"
#include "unit/testutil.h"

#define RO GMEM_REGION_READONLY
#define TOP (UINT64_MAX - 0xfffu) /* 2^64 - 0x1000 */
#define NFRAG 100u
#define FRAG_LEN 16u
#define FRAG_BASE 0x10000u
#define FRAG_TOTAL (NFRAG * FRAG_LEN)
#define FILL 0xee

struct reg {
	uint64_t gpa;
	uint64_t len;
	uint32_t flags;
	uint8_t *host;
	gmem_region *r;
};

#define NFIXED 6u
static struct reg regs[NFIXED + NFRAG] = {
	{ 0x1000, 0x1000, 0, NULL, NULL },  /* A */
	{ 0x2000, 0x1000, 0, NULL, NULL },  /* B */
	{ 0x4000, 0x1000, RO, NULL, NULL }, /* R */
	{ 0x6000, 0x1000, 0, NULL, NULL },  /* D */
	{ 0x7000, 0x1000, RO, NULL, NULL }, /* E */
	{ TOP, 0x1000, 0, NULL, NULL },	    /* T */
};
#define NREGS (NFIXED + NFRAG)

static gmem_map *M;

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

static int user_region(gmem_region **out, uint64_t gpa, uint64_t len,
		       uint32_t flags, uint8_t **alloc)
{
	struct gmem_region_config cfg = GMEM_REGION_CONFIG_INIT;

	*alloc = calloc(1, (size_t)len);
	if (!*alloc)
		tap_bail("calloc");
	cfg.backing = GMEM_BACKING_USER;
	cfg.flags = flags;
	cfg.gpa = gpa;
	cfg.len = len;
	cfg.host = *alloc; /* gpa % 8 == 0 everywhere here */
	return gmem_region_new(out, &cfg);
}

static void setup(void)
{
	gmem_region *rs[NREGS];

	for (unsigned i = 0; i < NFRAG; i++) {
		regs[NFIXED + i].gpa = FRAG_BASE + (uint64_t)i * FRAG_LEN;
		regs[NFIXED + i].len = FRAG_LEN;
	}
	for (size_t i = 0; i < NREGS; i++) {
		if (user_region(&regs[i].r, regs[i].gpa, regs[i].len,
				regs[i].flags, &regs[i].host) != 0)
			tap_bail("region %zu", i);
		rs[i] = regs[i].r;
	}
	if (gmem_map_new(&M, rs, NREGS, 0) != 0)
		tap_bail("gmem_map_new");
}

static void teardown(void)
{
	gmem_map_free(M);
	for (size_t i = 0; i < NREGS; i++) {
		gmem_region_free(regs[i].r);
		free(regs[i].host);
	}
}

/* Host address of a mapped guest byte (our own bookkeeping, not libgmem). */
static uint8_t *hp(uint64_t gpa)
{
	for (size_t i = 0; i < NREGS; i++)
		if (gpa >= regs[i].gpa && gpa - regs[i].gpa < regs[i].len)
			return regs[i].host + (gpa - regs[i].gpa);
	tap_bail("hp(%#" PRIx64 "): hole", gpa);
}

static uint8_t pat(size_t i, unsigned seed)
{
	return (uint8_t)((i * 7u + seed * 31u + (i >> 8)) ^ 0x5au);
}

static void fill_buf(uint8_t *b, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = pat(i, seed);
}

/* Set guest bytes directly through the host blocks (read-only included). */
static void gset(uint64_t gpa, size_t n, int value)
{
	for (size_t i = 0; i < n; i++)
		*hp(gpa + i) = (uint8_t)value;
}

static void gset_pat(uint64_t gpa, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		*hp(gpa + i) = pat(i, seed);
}

/* Whether guest [gpa, gpa + n) equals buf. */
static int geq(uint64_t gpa, const uint8_t *buf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (*hp(gpa + i) != buf[i]) {
			diag("  guest byte %#" PRIx64 " is %#x, expected %#x",
			     gpa + i, *hp(gpa + i), buf[i]);
			return 0;
		}
	return 1;
}

/* Whether guest [gpa, gpa + n) is all value. */
static int gis(uint64_t gpa, size_t n, int value)
{
	for (size_t i = 0; i < n; i++)
		if (*hp(gpa + i) != (uint8_t)value) {
			diag("  guest byte %#" PRIx64 " is %#x, expected %#x",
			     gpa + i, *hp(gpa + i), (unsigned)(uint8_t)value);
			return 0;
		}
	return 1;
}

/* Whether guest [gpa, gpa + n) follows pattern seed. */
static int gpat(uint64_t gpa, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		if (*hp(gpa + i) != pat(i, seed)) {
			diag("  guest byte %#" PRIx64 " is %#x, expected %#x",
			     gpa + i, *hp(gpa + i), pat(i, seed));
			return 0;
		}
	return 1;
}

/* A regular temporary file (already unlinked). */
static int tmpfile_fd(void)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	int fd;

	if (!dir || !*dir)
		dir = "/tmp";
	snprintf(path, sizeof(path), "%s/test_io.XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0) {
		snprintf(path, sizeof(path), "/tmp/test_io.XXXXXX");
		fd = mkstemp(path);
	}
	if (fd < 0)
		tap_bail("mkstemp: %s", strerror(errno));
	unlink(path);
	return fd;
}

static void xwrite(int fd, const void *b, size_t n)
{
	if (write(fd, b, n) != (ssize_t)n)
		tap_bail("write(%d, %zu): %s", fd, n, strerror(errno));
}

static void xpwrite(int fd, const void *b, size_t n, off_t off)
{
	if (pwrite(fd, b, n, off) != (ssize_t)n)
		tap_bail("pwrite: %s", strerror(errno));
}

/* Bytes waiting in a pipe or socket. */
static long pending(int fd)
{
	int n = -1;

	if (ioctl(fd, FIONREAD, &n) != 0)
		return -1;
	return n;
}

static void set_nonblock(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK))
		tap_bail("fcntl O_NONBLOCK");
}

static void xpipe(int p[2])
{
	if (pipe2(p, O_CLOEXEC) != 0)
		tap_bail("pipe: %s", strerror(errno));
}

static off_t fpos(int fd)
{
	return lseek(fd, 0, SEEK_CUR);
}

/* Read exactly n bytes (blocking) from fd. */
static void xread(int fd, void *b, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, (uint8_t *)b + got, n - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			tap_bail("read: %zd %s", r, strerror(errno));
		got += (size_t)r;
	}
}

enum iofn { F_READ, F_WRITE, F_PREAD, F_PWRITE, F_READX, F_WRITEX, F_N };
static const char *const fname[F_N] = { "read_fd",  "write_fd",
					"pread_fd", "pwrite_fd",
					"read_fd_exact", "write_fd_exact" };

static int is_read(enum iofn f)
{
	return f == F_READ || f == F_PREAD || f == F_READX;
}

static int io(enum iofn f, const gmem_map *m, uint64_t gpa, size_t len, int fd,
	      int64_t off, size_t *done)
{
	switch (f) {
	case F_READ: return gmem_read_fd(m, gpa, len, fd, done);
	case F_WRITE: return gmem_write_fd(m, gpa, len, fd, done);
	case F_PREAD: return gmem_pread_fd(m, gpa, len, fd, off, done);
	case F_PWRITE: return gmem_pwrite_fd(m, gpa, len, fd, off, done);
	case F_READX: return gmem_read_fd_exact(m, gpa, len, fd, done);
	case F_WRITEX: return gmem_write_fd_exact(m, gpa, len, fd, done);
	case F_N: break;
	}
	return -999;
}

/* ------------------------------------------------------------------------ */
/* Argument checks, for all six functions                                    */
/* ------------------------------------------------------------------------ */

static void test_args(void)
{
	int fd = tmpfile_fd(), closed, p[2];
	uint8_t buf[0x100];

	fill_buf(buf, sizeof(buf), 1);
	xwrite(fd, buf, sizeof(buf));
	xpipe(p);
	/* Non-blocking: a library that wrongly did I/O fails, never hangs. */
	set_nonblock(p[0], 1);
	set_nonblock(p[1], 1);
	closed = fcntl(fd, F_DUPFD_CLOEXEC, 500);
	if (closed < 0)
		tap_bail("dup");
	close(closed);

	for (int fi = 0; fi < F_N; fi++) {
		enum iofn f = (enum iofn)fi;
		const char *n = fname[f];
		int pfd = is_read(f) ? p[0] : p[1];
		size_t done;

		done = 777;
		is_int(io(f, M, 0x1000, 0x10, -1, 0, &done), -EINVAL,
		       "%s: fd -1 -> -EINVAL", n);
		is_u64(done, 0, "%s: fd -1: *done 0", n);
		done = 777;
		is_int(io(f, M, 0x1000, 0x10, INT32_MIN, 0, &done), -EINVAL,
		       "%s: fd INT_MIN -> -EINVAL", n);
		is_u64(done, 0, "%s: fd INT_MIN: *done 0", n);
		done = 777;
		is_int(io(f, M, 0x1000, 0x10, closed, 0, &done), -EBADF,
		       "%s: closed fd -> -EBADF", n);
		is_u64(done, 0, "%s: closed fd: *done 0", n);
		is_int(io(f, M, 0x1000, 0x10, pfd, 0, NULL), -EINVAL,
		       "%s: NULL done -> -EINVAL", n);
		done = 777;
		is_int(io(f, NULL, 0x1000, 0x10, pfd, 0, &done), -EINVAL,
		       "%s: NULL map -> -EINVAL", n);
		is_u64(done, 0, "%s: NULL map: *done 0", n);
		done = 777;
		is_int(io(f, M, 0x1000, 0, pfd, 0, &done), 0, "%s: len 0 -> 0", n);
		is_u64(done, 0, "%s: len 0: *done 0", n);
		done = 777;
		is_int(io(f, M, 0x3000, 0, pfd, 0, &done), 0,
		       "%s: len 0 in a hole -> 0", n);
		is_u64(done, 0, "%s: len 0 in a hole: *done 0", n);
		done = 777;
		is_int(io(f, M, UINT64_MAX - 0xf, 0x20, pfd, 0, &done),
		       -EOVERFLOW, "%s: gpa + len past 2^64 -> -EOVERFLOW", n);
		is_u64(done, 0, "%s: -EOVERFLOW: *done 0", n);
		done = 777;
		is_int(io(f, M, 2, SIZE_MAX, pfd, 0, &done), -EOVERFLOW,
		       "%s: len SIZE_MAX at 2 -> -EOVERFLOW", n);
		is_u64(done, 0, "%s: len SIZE_MAX: *done 0", n);
		done = 777;
		is_int(io(f, M, 0x2f00, 0x200, pfd, 0, &done), -EFAULT,
		       "%s: B into a hole -> -EFAULT", n);
		is_u64(done, 0, "%s: -EFAULT: *done 0", n);
		done = 777;
		is_int(io(f, M, 0x3800, 0x10, pfd, 0, &done), -EFAULT,
		       "%s: in a hole -> -EFAULT", n);
		is_u64(done, 0, "%s: hole: *done 0", n);
		done = 777;
		is_int(io(f, M, FRAG_BASE, FRAG_TOTAL + 1, pfd, 0, &done),
		       -EFAULT, "%s: 100 fragments then a hole -> -EFAULT", n);
		is_u64(done, 0, "%s: 100 fragments then a hole: *done 0", n);
		if (is_read(f)) {
			done = 777;
			is_int(io(f, M, 0x4000, 0x10, pfd, 0, &done), -EACCES,
			       "%s: into read-only R -> -EACCES", n);
			is_u64(done, 0, "%s: -EACCES: *done 0", n);
			done = 777;
			is_int(io(f, M, 0x6ff0, 0x20, pfd, 0, &done), -EACCES,
			       "%s: D -> read-only E -> -EACCES", n);
			is_u64(done, 0, "%s: D/E -EACCES: *done 0", n);
		}
	}
	is_int(pending(p[0]), 0, "args: nothing reached the pipe");
	close(fd);
	close(p[0]);
	close(p[1]);
}

/* Positional variants: offsets. */
static void test_offsets(void)
{
	int fd = tmpfile_fd();
	size_t done;

	for (int fi = F_PREAD; fi <= F_PWRITE; fi++) {
		enum iofn f = (enum iofn)fi;
		const char *n = fname[f];

		done = 777;
		is_int(io(f, M, 0x1000, 0x10, fd, -1, &done), -EINVAL,
		       "%s: offset -1 -> -EINVAL", n);
		is_u64(done, 0, "%s: offset -1: *done 0", n);
		done = 777;
		is_int(io(f, M, 0x1000, 0x10, fd, INT64_MIN, &done), -EINVAL,
		       "%s: offset INT64_MIN -> -EINVAL", n);
		is_u64(done, 0, "%s: offset INT64_MIN: *done 0", n);
		done = 777;
		is_int(io(f, M, 0x1000, 0x10, fd, INT64_MAX - 0xf, &done),
		       -EOVERFLOW, "%s: offset + len past INT64_MAX -> -EOVERFLOW",
		       n);
		is_u64(done, 0, "%s: offset overflow: *done 0", n);
		done = 777;
		is_int(io(f, M, 0x1000, 0x10, fd, INT64_MAX, &done), -EOVERFLOW,
		       "%s: offset INT64_MAX, len 16 -> -EOVERFLOW", n);
		done = 777;
		is_int(io(f, M, 0x1000, 0, fd, INT64_MAX, &done), 0,
		       "%s: offset INT64_MAX, len 0 -> 0", n);
		is_u64(done, 0, "%s: offset INT64_MAX, len 0: *done 0", n);
		done = 777;
		is_int(io(f, NULL, 0x1000, 0x10, fd, -1, &done), -EINVAL,
		       "%s: NULL map and offset -1 -> -EINVAL", n);
		is_u64(done, 0, "%s: NULL map, offset -1: *done 0", n);
	}
	{
		off_t before = fpos(fd);

		is_int((int)before, 0, "offsets: file position still 0");
	}
	close(fd);
}

/* ------------------------------------------------------------------------ */
/* Regular files                                                             */
/* ------------------------------------------------------------------------ */

static void test_file(void)
{
	int fd = tmpfile_fd(), ro;
	uint8_t buf[0x2000], want[0x2000];
	size_t done;

	/* Round trip across A/B. */
	gset_pat(0x1800, 0x1000, 2);
	done = 0;
	is_int(gmem_write_fd(M, 0x1800, 0x1000, fd, &done), 0,
	       "file: write_fd across A/B");
	is_u64(done, 0x1000, "file: write_fd: all 0x1000 bytes");
	is_int((int)fpos(fd), 0x1000, "file: write_fd moved the position");
	memset(buf, 0, sizeof(buf));
	if (pread(fd, buf, 0x1000, 0) != 0x1000)
		tap_bail("pread");
	fill_buf(want, 0x1000, 2);
	is_mem(buf, want, 0x1000, "file: file holds the guest bytes in order");
	gset(0x1000, 0x2000, FILL);
	lseek(fd, 0, SEEK_SET);
	done = 0;
	is_int(gmem_read_fd(M, 0x1800, 0x1000, fd, &done), 0,
	       "file: read_fd across A/B");
	is_u64(done, 0x1000, "file: read_fd: all 0x1000 bytes");
	ok(gpat(0x1800, 0x1000, 2), "file: read_fd: data lands exactly");
	ok(gis(0x1000, 0x800, FILL) && gis(0x2800, 0x800, FILL),
	   "file: read_fd: nothing outside the range");
	is_int((int)fpos(fd), 0x1000, "file: read_fd moved the position");

	/* EOF. */
	done = 777;
	is_int(gmem_read_fd(M, 0x1000, 0x100, fd, &done), 0,
	       "file: read_fd at EOF -> 0");
	is_u64(done, 0, "file: read_fd at EOF: done 0");
	done = 777;
	is_int(gmem_read_fd_exact(M, 0x1000, 0x100, fd, &done), -ENODATA,
	       "file: read_fd_exact at EOF -> -ENODATA");
	is_u64(done, 0, "file: read_fd_exact at EOF: done 0");
	lseek(fd, 0x800, SEEK_SET);
	gset(0x1000, 0x2000, FILL);
	done = 0;
	is_int(gmem_read_fd(M, 0x1f00, 0x1000, fd, &done), 0,
	       "file: read_fd past EOF -> 0 (stops at EOF)");
	is_u64(done, 0x800, "file: read_fd: done == bytes left in the file");
	fill_buf(want, 0x1000, 2);
	ok(geq(0x1f00, want + 0x800, 0x800), "file: read_fd: the file's tail");
	ok(gis(0x2700, 0x800, FILL), "file: read_fd: the rest untouched");
	lseek(fd, 0x800, SEEK_SET);
	gset(0x1000, 0x2000, FILL);
	done = 0;
	is_int(gmem_read_fd_exact(M, 0x1f00, 0x1000, fd, &done), -ENODATA,
	       "file: read_fd_exact past EOF -> -ENODATA");
	is_u64(done, 0x800, "file: read_fd_exact: done == bytes read");
	ok(geq(0x1f00, want + 0x800, 0x800) && gis(0x2700, 0x800, FILL),
	   "file: read_fd_exact: bytes read landed, rest untouched");
	lseek(fd, 0, SEEK_SET);
	done = 0;
	is_int(gmem_read_fd_exact(M, 0x1400, 0x1000, fd, &done), 0,
	       "file: read_fd_exact complete");
	is_u64(done, 0x1000, "file: read_fd_exact: done");
	ok(gpat(0x1400, 0x1000, 2), "file: read_fd_exact: data");

	/* pread/pwrite: right bytes, file position unchanged. */
	fill_buf(buf, 0x2000, 3);
	xpwrite(fd, buf, 0x2000, 0);
	lseek(fd, 0x123, SEEK_SET);
	gset(0x1000, 0x2000, FILL);
	done = 0;
	is_int(gmem_pread_fd(M, 0x1f80, 0x100, fd, 0x37, &done), 0,
	       "pread_fd: at offset 0x37 across A/B");
	is_u64(done, 0x100, "pread_fd: done 0x100");
	ok(geq(0x1f80, buf + 0x37, 0x100), "pread_fd: the bytes at 0x37");
	ok(gis(0x1000, 0xf80, FILL) && gis(0x2080, 0xf80, FILL),
	   "pread_fd: nothing outside the range");
	is_int((int)fpos(fd), 0x123, "pread_fd: file position unchanged");
	gset(0x1000, 0x2000, FILL);
	done = 0;
	is_int(gmem_pread_fd(M, 0x1000, 0x2000, fd, 0x1f00, &done), 0,
	       "pread_fd: near EOF");
	is_u64(done, 0x100, "pread_fd: near EOF reads what is there");
	ok(geq(0x1000, buf + 0x1f00, 0x100) && gis(0x1100, 0xf00, FILL),
	   "pread_fd: near EOF: data, rest untouched");
	done = 777;
	is_int(gmem_pread_fd(M, 0x1000, 0x100, fd, 0x10000, &done), 0,
	       "pread_fd: past EOF -> 0");
	is_u64(done, 0, "pread_fd: past EOF: done 0");
	gset_pat(0x2f00, 0x100, 4);
	done = 0;
	is_int(gmem_pwrite_fd(M, 0x2f00, 0x100, fd, 0x3000, &done), 0,
	       "pwrite_fd: beyond EOF extends the file");
	is_u64(done, 0x100, "pwrite_fd: done");
	is_int((int)fpos(fd), 0x123, "pwrite_fd: file position unchanged");
	memset(buf, 0, 0x100);
	if (pread(fd, buf, 0x100, 0x3000) != 0x100)
		tap_bail("pread");
	fill_buf(want, 0x100, 4);
	is_mem(buf, want, 0x100, "pwrite_fd: the bytes at 0x3000");
	done = 0;
	is_int(gmem_pwrite_fd(M, 0x1ff0, 0x20, fd, 0x10, &done), 0,
	       "pwrite_fd: across A/B at offset 0x10");
	memset(buf, 0, 0x20);
	if (pread(fd, buf, 0x20, 0x10) != 0x20)
		tap_bail("pread");
	ok(geq(0x1ff0, buf, 0x20), "pwrite_fd: across A/B: data");
	done = 777;
	is_int(gmem_pread_fd(M, 0x1000, 0x100, fd, 0, &done), 0,
	       "pread_fd: offset 0 (not the file position)");
	if (pread(fd, buf, 0x100, 0) != 0x100)
		tap_bail("pread");
	ok(geq(0x1000, buf, 0x100), "pread_fd: offset 0 means offset 0");

	/* Read-only memory: a source is fine, a destination is -EACCES. */
	gset_pat(0x4000, 0x1000, 5);
	lseek(fd, 0, SEEK_SET);
	done = 0;
	is_int(gmem_write_fd(M, 0x4000, 0x1000, fd, &done), 0,
	       "file: write_fd from read-only R");
	is_u64(done, 0x1000, "file: write_fd from R: all");
	memset(buf, 0, 0x1000);
	if (pread(fd, buf, 0x1000, 0) != 0x1000)
		tap_bail("pread");
	fill_buf(want, 0x1000, 5);
	is_mem(buf, want, 0x1000, "file: write_fd from R: data");
	lseek(fd, 0, SEEK_SET);
	gset(0x4000, 0x1000, FILL);
	done = 777;
	is_int(gmem_read_fd(M, 0x4000, 0x100, fd, &done), -EACCES,
	       "file: read_fd into read-only R -> -EACCES");
	is_u64(done, 0, "file: -EACCES: done 0");
	is_int((int)fpos(fd), 0, "file: -EACCES: nothing consumed");
	ok(gis(0x4000, 0x1000, FILL), "file: -EACCES: R unchanged");
	gset(0x6000, 0x1000, FILL);
	is_int(gmem_read_fd(M, 0x6f00, 0x200, fd, &done), -EACCES,
	       "file: read_fd D -> read-only E -> -EACCES");
	is_int((int)fpos(fd), 0, "file: D/E: nothing consumed");
	ok(gis(0x6000, 0x1000, FILL), "file: D/E: D unchanged");
	is_int(gmem_pread_fd(M, 0x6f00, 0x200, fd, 0, &done), -EACCES,
	       "file: pread_fd D -> read-only E -> -EACCES");
	ok(gis(0x6000, 0x1000, FILL), "file: pread D/E: D unchanged");
	is_int(gmem_read_fd_exact(M, 0x6f00, 0x200, fd, &done), -EACCES,
	       "file: read_fd_exact D/E -> -EACCES");
	done = 0;
	is_int(gmem_write_fd(M, 0x6f00, 0x200, fd, &done), 0,
	       "file: write_fd from D and read-only E");
	is_u64(done, 0x200, "file: write_fd D/E: all");

	/* Hole: nothing consumed from the file. */
	lseek(fd, 0, SEEK_SET);
	gset(0x1000, 0x2000, FILL);
	is_int(gmem_read_fd(M, 0x2f00, 0x200, fd, &done), -EFAULT,
	       "file: read_fd into B -> hole -> -EFAULT");
	is_int((int)fpos(fd), 0, "file: -EFAULT: position unchanged");
	ok(gis(0x1000, 0x2000, FILL), "file: -EFAULT: guest unchanged");
	is_int(gmem_write_fd(M, 0x2f00, 0x200, fd, &done), -EFAULT,
	       "file: write_fd from B -> hole -> -EFAULT");
	is_int((int)fpos(fd), 0, "file: write -EFAULT: position unchanged");

	/* Wrong access mode: the errno of readv/writev. */
	ro = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (ro >= 0) {
		done = 777;
		is_int(gmem_write_fd(M, 0x1000, 0x10, ro, &done), -EBADF,
		       "file: write_fd to an O_RDONLY fd -> -EBADF");
		is_u64(done, 0, "file: -EBADF: done 0");
		close(ro);
	} else {
		skip("file: write_fd to an O_RDONLY fd (no /proc/self/exe)");
		skip("file: -EBADF: done 0");
	}
	ro = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ro >= 0) {
		done = 777;
		is_int(gmem_read_fd(M, 0x1000, 0x10, ro, &done), -EISDIR,
		       "file: read_fd from a directory -> -EISDIR");
		is_u64(done, 0, "file: -EISDIR: done 0");
		close(ro);
	}
	ro = open("/dev/full", O_WRONLY | O_CLOEXEC);
	if (ro >= 0) {
		done = 777;
		is_int(gmem_write_fd(M, 0x1000, 0x10, ro, &done), -ENOSPC,
		       "file: write_fd to /dev/full -> -ENOSPC");
		is_u64(done, 0, "file: -ENOSPC: done 0");
		is_int(gmem_write_fd_exact(M, 0x1000, 0x10, ro, &done), -ENOSPC,
		       "file: write_fd_exact to /dev/full -> -ENOSPC");
		close(ro);
	} else {
		skip("file: /dev/full unavailable");
	}
	close(fd);

	/* memfd round trip with the exact variants. */
	fd = memfd_create("test_io", MFD_CLOEXEC);
	if (fd < 0) {
		skip("memfd_create unavailable: %s", strerror(errno));
		return;
	}
	gset_pat(0x1000, 0x2000, 6);
	done = 0;
	is_int(gmem_write_fd_exact(M, 0x1000, 0x2000, fd, &done), 0,
	       "memfd: write_fd_exact A+B");
	is_u64(done, 0x2000, "memfd: write_fd_exact: done");
	gset(0x1000, 0x2000, FILL);
	lseek(fd, 0, SEEK_SET);
	is_int(gmem_read_fd_exact(M, 0x1000, 0x2000, fd, &done), 0,
	       "memfd: read_fd_exact A+B");
	ok(gpat(0x1000, 0x2000, 6), "memfd: round trip");
	close(fd);
}

/* ------------------------------------------------------------------------ */
/* Pipes and sockets                                                         */
/* ------------------------------------------------------------------------ */

static void test_pipe_short(void)
{
	int p[2];
	uint8_t data[0x200];
	size_t done;

	fill_buf(data, sizeof(data), 7);
	xpipe(p);

	/* 0x180 bytes waiting, 0x200 asked across A/B. */
	gset(0x1000, 0x2000, FILL);
	xwrite(p[1], data, 0x180);
	done = 0;
	is_int(gmem_read_fd(M, 0x1f00, 0x200, p[0], &done), 0,
	       "pipe: short read -> 0");
	is_u64(done, 0x180, "pipe: done == bytes available");
	ok(geq(0x1f00, data, 0x180), "pipe: data contiguous across A/B");
	ok(gis(0x2080, 0x80, FILL), "pipe: the rest of the range untouched");
	ok(gis(0x1000, 0xf00, FILL) && gis(0x2100, 0xf00, FILL),
	   "pipe: nothing outside the range");
	is_int(pending(p[0]), 0, "pipe: everything consumed");

	/* E-U7: fewer bytes than the first fragment. */
	gset(0x1000, 0x2000, FILL);
	xwrite(p[1], data, 100);
	done = 0;
	is_int(gmem_read_fd(M, 0x1f00, 0x200, p[0], &done), 0,
	       "E-U7: 100 bytes for a 0x100 + 0x100 range");
	is_u64(done, 100, "E-U7: done == 100");
	ok(geq(0x1f00, data, 100), "E-U7: the 100 bytes at the range start");
	ok(gis(0x2000, 0x100, FILL),
	   "E-U7: the second region is NOT filled from its start");
	ok(gis(0x1f64, 0x9c, FILL), "E-U7: the rest of A untouched");

	/* The same with the exact variant: more data arrives in two writes
	 * before the call; readv may return the first only. */
	gset(0x1000, 0x2000, FILL);
	xwrite(p[1], data, 100);
	xwrite(p[1], data + 100, 0x200 - 100);
	done = 0;
	is_int(gmem_read_fd_exact(M, 0x1f00, 0x200, p[0], &done), 0,
	       "pipe: read_fd_exact with two writes queued");
	is_u64(done, 0x200, "pipe: read_fd_exact: done");
	ok(geq(0x1f00, data, 0x200), "pipe: read_fd_exact: no gap");

	/* Hole: -EFAULT before any I/O, the pipe keeps its data. */
	gset(0x1000, 0x2000, FILL);
	xwrite(p[1], data, 100);
	done = 777;
	is_int(gmem_read_fd(M, 0x2f00, 0x200, p[0], &done), -EFAULT,
	       "pipe: read_fd B -> hole -> -EFAULT");
	is_u64(done, 0, "pipe: -EFAULT: done 0");
	is_int(pending(p[0]), 100, "pipe: -EFAULT: the pipe still holds 100");
	ok(gis(0x1000, 0x2000, FILL), "pipe: -EFAULT: guest untouched");
	is_int(gmem_read_fd_exact(M, 0x2f00, 0x200, p[0], &done), -EFAULT,
	       "pipe: read_fd_exact B -> hole -> -EFAULT");
	is_int(gmem_read_fd(M, FRAG_BASE, FRAG_TOTAL + 16, p[0], &done),
	       -EFAULT, "pipe: 100 fragments then a hole -> -EFAULT");
	is_int(gmem_read_fd(M, 0x4000, 0x10, p[0], &done), -EACCES,
	       "pipe: read_fd into read-only -> -EACCES");
	is_int(gmem_read_fd(M, 0x6ff0, 0x20, p[0], &done), -EACCES,
	       "pipe: read_fd D -> read-only E -> -EACCES");
	is_int(pending(p[0]), 100, "pipe: still 100 after all failures");
	is_int(gmem_write_fd(M, 0x2f00, 0x200, p[1], &done), -EFAULT,
	       "pipe: write_fd B -> hole -> -EFAULT");
	is_int(gmem_write_fd_exact(M, 0x2f00, 0x200, p[1], &done), -EFAULT,
	       "pipe: write_fd_exact B -> hole -> -EFAULT");
	is_int(pending(p[0]), 100, "pipe: write -EFAULT wrote nothing");
	done = 0;
	is_int(gmem_read_fd(M, 0x1000, 0x1000, p[0], &done), 0,
	       "pipe: drain");
	is_u64(done, 100, "pipe: drained 100");

	/* EOF. */
	xwrite(p[1], data, 50);
	close(p[1]);
	gset(0x1000, 0x2000, FILL);
	done = 0;
	is_int(gmem_read_fd(M, 0x1fe0, 0x100, p[0], &done), 0,
	       "pipe EOF: 50 bytes then EOF -> 0");
	is_u64(done, 50, "pipe EOF: done 50");
	ok(geq(0x1fe0, data, 50) && gis(0x2012, 0xce, FILL),
	   "pipe EOF: data, rest untouched");
	done = 777;
	is_int(gmem_read_fd(M, 0x1000, 0x100, p[0], &done), 0,
	       "pipe EOF: at EOF -> 0");
	is_u64(done, 0, "pipe EOF: done 0 < len");
	done = 777;
	is_int(gmem_read_fd_exact(M, 0x1000, 0x100, p[0], &done), -ENODATA,
	       "pipe EOF: exact at EOF -> -ENODATA");
	is_u64(done, 0, "pipe EOF: exact: done 0");
	close(p[0]);
	xpipe(p);
	xwrite(p[1], data, 50);
	close(p[1]);
	done = 0;
	is_int(gmem_read_fd_exact(M, 0x1fe0, 0x100, p[0], &done), -ENODATA,
	       "pipe EOF: exact, 50 bytes then EOF -> -ENODATA");
	is_u64(done, 50, "pipe EOF: exact: done 50");
	ok(geq(0x1fe0, data, 50), "pipe EOF: exact: the 50 bytes landed");
	close(p[0]);

	/* Non-blocking. */
	xpipe(p);
	set_nonblock(p[0], 1);
	done = 777;
	is_int(gmem_read_fd(M, 0x1000, 0x100, p[0], &done), -EAGAIN,
	       "nonblock: empty pipe -> -EAGAIN");
	is_u64(done, 0, "nonblock: empty: done 0");
	done = 777;
	is_int(gmem_read_fd_exact(M, 0x1000, 0x100, p[0], &done), -EAGAIN,
	       "nonblock: exact, empty pipe -> -EAGAIN");
	is_u64(done, 0, "nonblock: exact empty: done 0");
	gset(0x1000, 0x2000, FILL);
	xwrite(p[1], data, 100);
	done = 0;
	is_int(gmem_read_fd(M, 0x1f80, 0x200, p[0], &done), 0,
	       "nonblock: partial data -> 0 (short read stops)");
	is_u64(done, 100, "nonblock: partial: done 100");
	ok(geq(0x1f80, data, 100) && gis(0x1fe4, 0x11c, FILL),
	   "nonblock: partial: data, rest untouched");
	xwrite(p[1], data, 0x1c0);
	done = 0;
	is_int(gmem_read_fd_exact(M, 0x1f80, 0x200, p[0], &done), -EAGAIN,
	       "nonblock: exact, partial data -> -EAGAIN");
	is_u64(done, 0x1c0, "nonblock: exact: done == the partial count");
	ok(geq(0x1f80, data, 0x1c0) && gis(0x2140, 0x40, FILL),
	   "nonblock: exact: partial data landed, rest untouched");
	close(p[0]);
	close(p[1]);
}

static void test_sockets(void)
{
	int s[2];
	uint8_t data[0x200];
	size_t done;

	fill_buf(data, sizeof(data), 8);
	/* Stream socketpair round trip A/B -> D. */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s) != 0)
		tap_bail("socketpair");
	gset_pat(0x1800, 0x1000, 9);
	gset(0x6000, 0x1000, FILL);
	done = 0;
	is_int(gmem_write_fd(M, 0x1800, 0x1000, s[0], &done), 0,
	       "socket: write_fd across A/B");
	is_u64(done, 0x1000, "socket: write_fd: done");
	done = 0;
	is_int(gmem_read_fd_exact(M, 0x6000, 0x1000, s[1], &done), 0,
	       "socket: read_fd_exact into D");
	ok(gpat(0x6000, 0x1000, 9), "socket: round trip");
	close(s[0]);
	close(s[1]);

	/* Datagram boundaries make readv return short: E-U7 in its purest
	 * form.  Two messages, 100 and 412 bytes, for a 0x100 + 0x100 range. */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, s) != 0) {
		skip("SOCK_SEQPACKET unavailable");
		return;
	}
	gset(0x1000, 0x2000, FILL);
	xwrite(s[0], data, 100);
	xwrite(s[0], data + 100, 412);
	done = 0;
	is_int(gmem_read_fd(M, 0x1f00, 0x200, s[1], &done), 0,
	       "seqpacket: read_fd gets the first message");
	is_u64(done, 100, "seqpacket: done 100");
	ok(gis(0x2000, 0x100, FILL),
	   "seqpacket: the second region is NOT filled from its start");
	done = 0;
	is_int(gmem_read_fd(M, 0x1f00 + 100, 412, s[1], &done), 0,
	       "seqpacket: read_fd gets the second message");
	is_u64(done, 412, "seqpacket: done 412");
	ok(geq(0x1f00, data, 0x200), "seqpacket: both messages contiguous");
	gset(0x1000, 0x2000, FILL);
	xwrite(s[0], data, 100);
	xwrite(s[0], data + 100, 412);
	done = 0;
	is_int(gmem_read_fd_exact(M, 0x1f00, 0x200, s[1], &done), 0,
	       "seqpacket: read_fd_exact over two messages");
	is_u64(done, 0x200, "seqpacket: exact: done");
	ok(geq(0x1f00, data, 0x200),
	   "seqpacket: exact: second message continues at byte 100, no gap");
	ok(gis(0x1000, 0xf00, FILL) && gis(0x2100, 0xf00, FILL),
	   "seqpacket: exact: nothing outside the range");
	close(s[0]);
	close(s[1]);
}

/* Writes to a full non-blocking pipe; writes to a pipe without reader. */
static void test_pipe_write(void)
{
	int p[2];
	long cap;
	gmem_region *r[2] = { NULL, NULL };
	uint8_t *blk[2] = { NULL, NULL }, *got;
	gmem_map *m = NULL;
	size_t done;

	xpipe(p);
	(void)fcntl(p[1], F_SETPIPE_SZ, 4096);
	cap = fcntl(p[1], F_GETPIPE_SZ);
	if (cap <= 0)
		tap_bail("F_GETPIPE_SZ");
	diag("pipe capacity %ld", cap);
	if (user_region(&r[0], 0x100000, (uint64_t)cap, 0, &blk[0]) ||
	    user_region(&r[1], 0x100000 + (uint64_t)cap, (uint64_t)cap, 0,
			&blk[1]) ||
	    gmem_map_new(&m, r, 2, 0))
		tap_bail("pipe-write map");
	fill_buf(blk[0], (size_t)cap, 10);
	fill_buf(blk[1], (size_t)cap, 11);
	got = malloc((size_t)cap);
	if (!got)
		tap_bail("malloc");
	set_nonblock(p[1], 1);
	done = 0;
	is_int(gmem_write_fd(m, 0x100000, 2 * (size_t)cap, p[1], &done), 0,
	       "nonblock write: 2x capacity -> 0 (short write stops)");
	is_u64(done, (uint64_t)cap, "nonblock write: done == capacity");
	done = 777;
	is_int(gmem_write_fd(m, 0x100000, 0x10, p[1], &done), -EAGAIN,
	       "nonblock write: full pipe -> -EAGAIN");
	is_u64(done, 0, "nonblock write: full: done 0");
	done = 777;
	is_int(gmem_write_fd_exact(m, 0x100000, 0x10, p[1], &done), -EAGAIN,
	       "nonblock write: exact, full pipe -> -EAGAIN");
	is_u64(done, 0, "nonblock write: exact full: done 0");
	xread(p[0], got, (size_t)cap);
	is_mem(got, blk[0], (size_t)cap, "nonblock write: pipe got region 0");
	done = 0;
	is_int(gmem_write_fd_exact(m, 0x100000 + (uint64_t)cap / 2,
				   (size_t)cap + 0x10, p[1], &done),
	       -EAGAIN, "nonblock write: exact, more than fits -> -EAGAIN");
	is_u64(done, (uint64_t)cap, "nonblock write: exact: done == partial count");
	xread(p[0], got, (size_t)cap);
	ok(memcmp(got, blk[0] + cap / 2, (size_t)cap / 2) == 0 &&
		   memcmp(got + cap / 2, blk[1], (size_t)cap / 2) == 0,
	   "nonblock write: exact: the partial data is the range's start");
	is_int(pending(p[0]), 0, "nonblock write: nothing more in the pipe");

	/* Reader gone: -EPIPE (SIGPIPE ignored). */
	close(p[0]);
	done = 777;
	is_int(gmem_write_fd(m, 0x100000, 0x10, p[1], &done), -EPIPE,
	       "write_fd: reader closed -> -EPIPE");
	is_u64(done, 0, "write_fd: -EPIPE: done 0");
	is_int(gmem_write_fd_exact(m, 0x100000, 2 * (size_t)cap, p[1], &done),
	       -EPIPE, "write_fd_exact: reader closed -> -EPIPE");
	close(p[1]);
	free(got);
	gmem_map_free(m);
	for (int i = 0; i < 2; i++) {
		gmem_region_free(r[i]);
		free(blk[i]);
	}
}

/* ------------------------------------------------------------------------ */
/* EINTR                                                                     */
/* ------------------------------------------------------------------------ */

static volatile sig_atomic_t got_sig;

static void on_sig(int sig)
{
	(void)sig;
	got_sig = 1;
}

struct intr {
	pthread_t target;
	pid_t tid;
	int fd;		/* pipe end the helper uses */
	int reading;	/* helper reads (1) or writes (0) */
	uint8_t *buf;
	size_t len;
	int blocked;	/* the target was seen sleeping */
	int signalled;	/* the handler ran before the helper went on */
	size_t got;	/* bytes the helper moved */
};

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Whether thread tid is in state S (interruptible sleep). */
static int thread_sleeping(pid_t tid)
{
	char path[64], line[512], *p;
	FILE *f;
	int st = 0;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fgets(line, sizeof(line), f) && (p = strrchr(line, ')')) &&
	    p[1] == ' ')
		st = p[2] == 'S';
	fclose(f);
	return st;
}

static void *intr_helper(void *arg)
{
	struct intr *c = arg;
	int i;

	/* Wait (at most 2 s) until the target sleeps in the system call. */
	for (i = 0; i < 400; i++) {
		int s = thread_sleeping(c->tid);

		if (s < 0) {
			sleep_ms(100);
			break;
		}
		if (s == 1) {
			c->blocked = 1;
			break;
		}
		sleep_ms(5);
	}
	sleep_ms(20);
	pthread_kill(c->target, SIGUSR1);
	for (i = 0; i < 400 && !got_sig; i++)
		sleep_ms(5);
	c->signalled = got_sig;
	sleep_ms(20);
	if (c->reading) {
		/* Stops at EOF: main closes the write end if the library gave
		 * up early, so the helper never blocks forever. */
		while (c->got < c->len) {
			ssize_t r = read(c->fd, c->buf + c->got, c->len - c->got);

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			c->got += (size_t)r;
		}
	} else if (write(c->fd, c->buf, c->len) == (ssize_t)c->len) {
		c->got = c->len;
	}
	return NULL;
}

static void test_eintr(void)
{
	struct sigaction sa, old;
	struct intr c;
	pthread_t th;
	int p[2];
	uint8_t data[0x100], *sink;
	size_t done, prefill = 0;
	long cap;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sig;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: the blocked call fails with EINTR */
	if (sigaction(SIGUSR1, &sa, &old) != 0)
		tap_bail("sigaction");
	fill_buf(data, sizeof(data), 12);

	/* Blocking read interrupted, data arrives afterwards. */
	xpipe(p);
	memset(&c, 0, sizeof(c));
	c.target = pthread_self();
	c.tid = (pid_t)syscall(SYS_gettid);
	c.fd = p[1];
	c.reading = 0;
	c.buf = data;
	c.len = sizeof(data);
	got_sig = 0;
	gset(0x1000, 0x2000, FILL);
	if (pthread_create(&th, NULL, intr_helper, &c) != 0)
		tap_bail("pthread_create");
	done = 777;
	is_int(gmem_read_fd(M, 0x1f80, 0x100, p[0], &done), 0,
	       "EINTR: interrupted blocking read is retried");
	pthread_join(th, NULL);
	is_u64(done, 0x100, "EINTR: read: all data after the signal");
	ok(geq(0x1f80, data, 0x100), "EINTR: read: data");
	ok(c.signalled, "EINTR: read: the handler ran");
	if (!c.blocked)
		diag("the reader was not seen sleeping; EINTR may not have hit");
	close(p[0]);
	close(p[1]);

	/* Blocking write to a full pipe interrupted, then drained. */
	xpipe(p);
	(void)fcntl(p[1], F_SETPIPE_SZ, 4096);
	cap = fcntl(p[1], F_GETPIPE_SZ);
	set_nonblock(p[1], 1);
	for (;;) {
		ssize_t w = write(p[1], data, sizeof(data));

		if (w <= 0)
			break;
		prefill += (size_t)w;
	}
	set_nonblock(p[1], 0);
	diag("write EINTR: pipe capacity %ld, prefilled %zu", cap, prefill);
	sink = malloc(prefill + 0x100);
	if (!sink)
		tap_bail("malloc");
	gset_pat(0x1f80, 0x100, 13);
	memset(&c, 0, sizeof(c));
	c.target = pthread_self();
	c.tid = (pid_t)syscall(SYS_gettid);
	c.fd = p[0];
	c.reading = 1;
	c.buf = sink;
	c.len = prefill + 0x100;
	got_sig = 0;
	if (pthread_create(&th, NULL, intr_helper, &c) != 0)
		tap_bail("pthread_create");
	done = 777;
	is_int(gmem_write_fd_exact(M, 0x1f80, 0x100, p[1], &done), 0,
	       "EINTR: interrupted blocking write is retried");
	close(p[1]); /* EOF for the helper, whatever happened */
	p[1] = -1;
	pthread_join(th, NULL);
	is_u64(c.got, prefill + 0x100, "EINTR: write: the reader got everything");
	is_u64(done, 0x100, "EINTR: write: all bytes");
	{
		uint8_t want[0x100];

		fill_buf(want, 0x100, 13);
		is_mem(sink + prefill, want, 0x100, "EINTR: write: data");
	}
	ok(c.signalled, "EINTR: write: the handler ran");
	if (!c.blocked)
		diag("the writer was not seen sleeping; EINTR may not have hit");
	free(sink);
	close(p[0]);
	sigaction(SIGUSR1, &old, NULL);
}

/* ------------------------------------------------------------------------ */
/* More than one batch of fragments; the top of the address space            */
/* ------------------------------------------------------------------------ */

static void test_fragments(void)
{
	int fd = tmpfile_fd(), p[2];
	uint8_t data[FRAG_TOTAL], buf[FRAG_TOTAL];
	size_t done;

	fill_buf(data, FRAG_TOTAL, 14);
	xwrite(fd, data, FRAG_TOTAL);
	lseek(fd, 0, SEEK_SET);
	gset(FRAG_BASE, FRAG_TOTAL, FILL);
	done = 0;
	is_int(gmem_read_fd(M, FRAG_BASE, FRAG_TOTAL, fd, &done), 0,
	       "fragments: read_fd over 100 regions");
	is_u64(done, FRAG_TOTAL, "fragments: read_fd: all 1600 bytes");
	ok(geq(FRAG_BASE, data, FRAG_TOTAL), "fragments: read_fd: data");
	gset(FRAG_BASE, FRAG_TOTAL, FILL);
	done = 0;
	is_int(gmem_pread_fd(M, FRAG_BASE + 8, FRAG_TOTAL - 8, fd, 3, &done), 0,
	       "fragments: pread_fd at offset 3");
	is_u64(done, FRAG_TOTAL - 8, "fragments: pread_fd: all");
	ok(geq(FRAG_BASE + 8, data + 3, FRAG_TOTAL - 8) && gis(FRAG_BASE, 8, FILL),
	   "fragments: pread_fd: data");
	gset_pat(FRAG_BASE, FRAG_TOTAL, 15);
	done = 0;
	is_int(gmem_pwrite_fd(M, FRAG_BASE, FRAG_TOTAL, fd, 0x1000, &done), 0,
	       "fragments: pwrite_fd over 100 regions");
	is_u64(done, FRAG_TOTAL, "fragments: pwrite_fd: all");
	if (pread(fd, buf, FRAG_TOTAL, 0x1000) != (ssize_t)FRAG_TOTAL)
		tap_bail("pread");
	fill_buf(data, FRAG_TOTAL, 15);
	is_mem(buf, data, FRAG_TOTAL, "fragments: pwrite_fd: data");
	close(fd);

	xpipe(p);
	done = 0;
	is_int(gmem_write_fd(M, FRAG_BASE, FRAG_TOTAL, p[1], &done), 0,
	       "fragments: write_fd to a pipe");
	is_u64(done, FRAG_TOTAL, "fragments: write_fd: all");
	xread(p[0], buf, FRAG_TOTAL);
	is_mem(buf, data, FRAG_TOTAL, "fragments: write_fd: data");
	/* 1100 bytes for 100 fragments (one readv: fewer than IOV_MAX), a
	 * short read that ends inside fragment 68.  Ranges of more than
	 * IOV_MAX fragments are test_iov_max()'s. */
	fill_buf(data, FRAG_TOTAL, 16);
	xwrite(p[1], data, 1100);
	gset(FRAG_BASE, FRAG_TOTAL, FILL);
	done = 0;
	is_int(gmem_read_fd(M, FRAG_BASE, FRAG_TOTAL, p[0], &done), 0,
	       "fragments: read_fd, 1100 bytes in the pipe");
	is_u64(done, 1100, "fragments: read_fd: done 1100");
	ok(geq(FRAG_BASE, data, 1100) &&
		   gis(FRAG_BASE + 1100, FRAG_TOTAL - 1100, FILL),
	   "fragments: read_fd: data, rest untouched");
	xwrite(p[1], data, FRAG_TOTAL);
	gset(FRAG_BASE, FRAG_TOTAL, FILL);
	done = 0;
	is_int(gmem_read_fd_exact(M, FRAG_BASE, FRAG_TOTAL, p[0], &done), 0,
	       "fragments: read_fd_exact from a pipe");
	ok(geq(FRAG_BASE, data, FRAG_TOTAL), "fragments: read_fd_exact: data");
	close(p[0]);
	close(p[1]);
}

/* ------------------------------------------------------------------------ */
/* More than IOV_MAX fragments: a plain transfer takes several system calls  */
/* ------------------------------------------------------------------------ */

/*
 * io.c hands readv/writev at most IOV_MAX fragments, so only a range of more
 * than IOV_MAX fragments needs a second system call in a plain (non-exact)
 * transfer, and only then can a non-blocking descriptor "would block after
 * progress": the first call moved a whole batch, the next one fails with
 * EAGAIN.  That is a short transfer (return 0, *done = the bytes moved),
 * not -EAGAIN, which is kept for a descriptor that moved nothing.
 *
 * The map: BIG_N adjacent dirty-logged USER regions of big_l bytes each,
 * over one calloc'd buffer of exactly BIG_N * big_l bytes (an overrun is an
 * ASan report), dirty page size big_l, so dirty bit i is region i.  big_l
 * is the capacity of a one-page pipe divided by IOV_MAX, so one batch
 * (IOV_MAX whole regions) is exactly one pipe full: 4 bytes per region and
 * 4096 bytes per batch with 4 KiB pages.  BIG_N > 2 * IOV_MAX: three
 * batches.
 */
#ifndef IOV_MAX
#define IOV_MAX 1024
#endif
#define BIG_N 2100u
#define BIG_BASE UINT64_C(0x1000000)
#define BIG_WORDS ((BIG_N + 63u) / 64u)

static uint64_t big_l;	 /* bytes per region */
static uint8_t *big;	 /* host bytes of the BIG_N regions, in order */
static gmem_map *big_map;

/* Whether big bytes [off, off + n) equal buf / are all value. */
static int big_eq(size_t off, const uint8_t *buf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (big[off + i] != buf[i]) {
			diag("  guest byte BIG_BASE + %#zx is %#x, "
			     "expected %#x", off + i, big[off + i], buf[i]);
			return 0;
		}
	return 1;
}

static int big_is(size_t off, size_t n, int value)
{
	for (size_t i = 0; i < n; i++)
		if (big[off + i] != (uint8_t)value) {
			diag("  guest byte BIG_BASE + %#zx is %#x, "
			     "expected %#x", off + i, big[off + i],
			     (unsigned)(uint8_t)value);
			return 0;
		}
	return 1;
}

/* Harvest the dirty bits of the whole big range; whether exactly the
 * regions [lo, hi) are dirty. */
static int big_dirty_exactly(size_t lo, size_t hi)
{
	uint64_t w[BIG_WORDS];
	int rc;

	memset(w, 0xa5, sizeof(w));
	rc = gmem_map_dirty_harvest(big_map, BIG_BASE, BIG_N * big_l, big_l, w,
				    BIG_WORDS);
	if (rc != 0) {
		diag("  gmem_map_dirty_harvest: %d", rc);
		return 0;
	}
	for (size_t i = 0; i < BIG_N; i++) {
		int set = (int)((w[i / 64] >> (i % 64)) & 1);

		if (set != (i >= lo && i < hi)) {
			diag("  dirty bit %zu is %d, expected dirty [%zu, %zu)",
			     i, set, lo, hi);
			return 0;
		}
	}
	return 1;
}

static void test_iov_max(void)
{
	gmem_region **rs;
	const size_t total_n = BIG_N;
	size_t total, batch, done, got;
	uint8_t *data, *sink;
	long wcap, rcap;
	int rp[2], wp[2], fd;
	const uint64_t ps = tu_page_size();

	diag("more than IOV_MAX (%d) fragments", IOV_MAX);
	/* The write pipe: one page, the smallest a pipe can be. */
	xpipe(wp);
	(void)fcntl(wp[1], F_SETPIPE_SZ, (int)ps);
	wcap = fcntl(wp[1], F_GETPIPE_SZ);
	big_l = wcap > 0 ? (uint64_t)wcap / IOV_MAX : 0;
	if (wcap <= 0 || wcap % IOV_MAX != 0 || (big_l & (big_l - 1)) != 0) {
		skip("IOV_MAX: pipe capacity %ld is no power-of-two multiple "
		     "of IOV_MAX", wcap);
		close(wp[0]);
		close(wp[1]);
		return;
	}
	batch = (size_t)wcap; /* IOV_MAX whole regions */
	total = (size_t)(total_n * big_l);
	diag("region length %" PRIu64 ", batch %zu bytes, range %zu bytes",
	     big_l, batch, total);

	/* The read pipe holds the whole range and more. */
	xpipe(rp);
	(void)fcntl(rp[1], F_SETPIPE_SZ, (int)(4 * total));
	rcap = fcntl(rp[1], F_GETPIPE_SZ);
	if (rcap < (long)(2 * total))
		tap_bail("IOV_MAX: read pipe capacity %ld < %zu", rcap,
			 2 * total);

	big = calloc(1, total);
	rs = calloc(total_n, sizeof(*rs));
	data = malloc(2 * total);
	sink = malloc(2 * total);
	if (!big || !rs || !data || !sink)
		tap_bail("calloc");
	for (size_t i = 0; i < total_n; i++) {
		struct gmem_region_config cfg = GMEM_REGION_CONFIG_INIT;

		cfg.backing = GMEM_BACKING_USER;
		cfg.flags = GMEM_REGION_DIRTY_LOG;
		cfg.dirty_page_size = big_l;
		cfg.gpa = BIG_BASE + i * big_l;
		cfg.len = big_l;
		cfg.host = big + i * big_l; /* calloc: host % 8 == gpa % 8 */
		if (gmem_region_new(&rs[i], &cfg) != 0)
			tap_bail("IOV_MAX: region %zu", i);
	}
	if (gmem_map_new(&big_map, rs, total_n, 0) != 0)
		tap_bail("IOV_MAX: gmem_map_new");
	fill_buf(data, 2 * total, 20);
	set_nonblock(rp[0], 1);
	set_nonblock(wp[1], 1);

	/* Exactly one batch waiting: readv 1 takes all of it, readv 2
	 * would block. */
	memset(big, FILL, total);
	xwrite(rp[1], data, batch);
	done = 777;
	is_int(gmem_read_fd(big_map, BIG_BASE, total, rp[0], &done), 0,
	       "IOV_MAX read_fd: one batch, then would block -> 0 (short)");
	is_u64(done, batch, "IOV_MAX read_fd: done == one batch");
	ok(big_eq(0, data, batch),
	   "IOV_MAX read_fd: the batch landed in order");
	ok(big_is(batch, total - batch, FILL),
	   "IOV_MAX read_fd: the rest of the range untouched");
	is_int(pending(rp[0]), 0, "IOV_MAX read_fd: the pipe is empty");
	ok(big_dirty_exactly(0, IOV_MAX),
	   "IOV_MAX read_fd: exactly the first IOV_MAX regions dirty");

	/* Two batches waiting: would block after the second. */
	memset(big, FILL, total);
	xwrite(rp[1], data, 2 * batch);
	done = 777;
	is_int(gmem_read_fd(big_map, BIG_BASE, total, rp[0], &done), 0,
	       "IOV_MAX read_fd: two batches, then would block -> 0");
	is_u64(done, 2 * batch, "IOV_MAX read_fd: done == two batches");
	ok(big_eq(0, data, 2 * batch) &&
		   big_is(2 * batch, total - 2 * batch, FILL),
	   "IOV_MAX read_fd: two batches landed, the rest untouched");
	is_int(pending(rp[0]), 0, "IOV_MAX read_fd: two batches: pipe empty");
	ok(big_dirty_exactly(0, 2 * IOV_MAX),
	   "IOV_MAX read_fd: two batches: exactly their regions dirty");

	/* A range starting 1 byte into a region: the first batch is one byte
	 * shorter, and done counts exactly that. */
	memset(big, FILL, total);
	xwrite(rp[1], data, batch - 1);
	done = 777;
	is_int(gmem_read_fd(big_map, BIG_BASE + 1, total - 1, rp[0], &done), 0,
	       "IOV_MAX read_fd at +1: a batch of batch - 1 bytes, then would "
	       "block -> 0");
	is_u64(done, batch - 1, "IOV_MAX read_fd at +1: done == batch - 1");
	ok(big_is(0, 1, FILL) && big_eq(1, data, batch - 1) &&
		   big_is(batch, total - batch, FILL),
	   "IOV_MAX read_fd at +1: data, nothing outside");
	ok(big_dirty_exactly(0, IOV_MAX),
	   "IOV_MAX read_fd at +1: the regions of the batch dirty");

	/* The second readv short (fewer bytes than its batch): 0 as well. */
	memset(big, FILL, total);
	xwrite(rp[1], data, batch + 5 * big_l + 1);
	done = 777;
	is_int(gmem_read_fd(big_map, BIG_BASE, total, rp[0], &done), 0,
	       "IOV_MAX read_fd: second readv short -> 0");
	is_u64(done, batch + 5 * big_l + 1,
	       "IOV_MAX read_fd: second readv short: done");
	ok(big_eq(0, data, batch + 5 * big_l + 1) &&
		   big_is(batch + 5 * big_l + 1, total - batch - 5 * big_l - 1,
			  FILL),
	   "IOV_MAX read_fd: second readv short: data, rest untouched");
	ok(big_dirty_exactly(0, IOV_MAX + 6),
	   "IOV_MAX read_fd: second readv short: dirty up to the last "
	   "region read");

	/* The exact variant insists: -EAGAIN after the progress, *done set. */
	memset(big, FILL, total);
	xwrite(rp[1], data, batch);
	done = 777;
	is_int(gmem_read_fd_exact(big_map, BIG_BASE, total, rp[0], &done),
	       -EAGAIN, "IOV_MAX read_fd_exact: one batch then would block -> "
	       "-EAGAIN");
	is_u64(done, batch, "IOV_MAX read_fd_exact: done == one batch");
	ok(big_eq(0, data, batch) && big_is(batch, total - batch, FILL),
	   "IOV_MAX read_fd_exact: the batch landed, the rest untouched");
	ok(big_dirty_exactly(0, IOV_MAX),
	   "IOV_MAX read_fd_exact: the batch's regions dirty");
	/* Nothing waiting at all: -EAGAIN with done 0, for both. */
	done = 777;
	is_int(gmem_read_fd(big_map, BIG_BASE, total, rp[0], &done), -EAGAIN,
	       "IOV_MAX read_fd: empty pipe -> -EAGAIN");
	is_u64(done, 0, "IOV_MAX read_fd: empty pipe: done 0");
	ok(big_dirty_exactly(0, 0),
	   "IOV_MAX read_fd: empty pipe: nothing dirty");

	/* Writes: the one-page pipe takes exactly one batch. */
	for (size_t i = 0; i < total; i++)
		big[i] = data[i];
	done = 777;
	is_int(gmem_write_fd(big_map, BIG_BASE, total, wp[1], &done), 0,
	       "IOV_MAX write_fd: one batch fills the pipe, then would block "
	       "-> 0");
	is_u64(done, batch, "IOV_MAX write_fd: done == one batch");
	is_int(pending(wp[0]), (long)batch,
	       "IOV_MAX write_fd: the pipe holds it");
	got = 0;
	xread(wp[0], sink, batch);
	got += batch;
	/* Continue from done, as a caller would: the rest is 1076 regions,
	 * still more than IOV_MAX, so again one batch then would block. */
	done = 777;
	is_int(gmem_write_fd(big_map, BIG_BASE + batch, total - batch, wp[1],
			     &done), 0,
	       "IOV_MAX write_fd: continued, again a full pipe -> 0");
	is_u64(done, batch, "IOV_MAX write_fd: continued: done == one batch");
	xread(wp[0], sink + got, batch);
	got += batch;
	done = 777;
	is_int(gmem_write_fd(big_map, BIG_BASE + got, total - got, wp[1],
			     &done), 0, "IOV_MAX write_fd: the tail fits");
	is_u64(done, total - got, "IOV_MAX write_fd: the tail: done");
	xread(wp[0], sink + got, total - got);
	is_mem(sink, data, total,
	       "IOV_MAX write_fd: the stream is the range, no gap, no repeat");
	ok(big_dirty_exactly(0, 0), "IOV_MAX write_fd: writes mark nothing");
	/* Exact: -EAGAIN after the progress. */
	done = 777;
	is_int(gmem_write_fd_exact(big_map, BIG_BASE, total, wp[1], &done),
	       -EAGAIN, "IOV_MAX write_fd_exact: one batch then would block "
	       "-> -EAGAIN");
	is_u64(done, batch, "IOV_MAX write_fd_exact: done == one batch");
	xread(wp[0], sink, batch);
	is_mem(sink, data, batch, "IOV_MAX write_fd_exact: the batch's bytes");
	is_int(pending(wp[0]), 0, "IOV_MAX write_fd_exact: nothing more");
	done = 777;
	xwrite(wp[1], data, batch); /* a full pipe */
	is_int(gmem_write_fd(big_map, BIG_BASE, total, wp[1], &done), -EAGAIN,
	       "IOV_MAX write_fd: full pipe -> -EAGAIN");
	is_u64(done, 0, "IOV_MAX write_fd: full pipe: done 0");
	xread(wp[0], sink, batch);

	/*
	 * Positional variants share the loop, but a pipe has no position
	 * (ESPIPE) and a regular file never would block, so their
	 * multi-batch paths are EOF and short reads, at offset + done.
	 */
	fd = tmpfile_fd();
	memset(big, FILL, total);
	for (size_t i = 0; i < total; i++)
		big[i] = data[total - 1 - i];
	done = 777;
	is_int(gmem_pwrite_fd(big_map, BIG_BASE, total, fd, 7, &done), 0,
	       "IOV_MAX pwrite_fd: three batches");
	is_u64(done, total, "IOV_MAX pwrite_fd: done == the range");
	memset(sink, 0, total);
	is_int(pread(fd, sink, total, 7), (long long)total,
	       "IOV_MAX pwrite_fd: the file ends at 7 + the range");
	is_mem(sink, big, total,
	       "IOV_MAX pwrite_fd: file bytes at 7.. == guest");
	is_int((int)fpos(fd), 0, "IOV_MAX pwrite_fd: file position unchanged");
	/* The file ends 10 bytes into the second batch. */
	xpwrite(fd, data, total + 7, 0);
	if (ftruncate(fd, (off_t)(7 + batch + 10)) != 0)
		tap_bail("ftruncate");
	memset(big, FILL, total);
	done = 777;
	is_int(gmem_pread_fd(big_map, BIG_BASE, total, fd, 7, &done), 0,
	       "IOV_MAX pread_fd: EOF 10 bytes into batch 2 -> 0");
	is_u64(done, batch + 10, "IOV_MAX pread_fd: done == what the file had");
	ok(big_eq(0, data + 7, batch + 10) &&
		   big_is(batch + 10, total - batch - 10, FILL),
	   "IOV_MAX pread_fd: batch 2 read at offset + done");
	ok(big_dirty_exactly(0, IOV_MAX + (size_t)((10 + big_l - 1) / big_l)),
	   "IOV_MAX pread_fd: dirty up to the last byte read");
	/* The file ends exactly at the end of batch 1: readv 2 sees EOF. */
	if (ftruncate(fd, (off_t)(7 + batch)) != 0)
		tap_bail("ftruncate");
	memset(big, FILL, total);
	done = 777;
	is_int(gmem_pread_fd(big_map, BIG_BASE, total, fd, 7, &done), 0,
	       "IOV_MAX pread_fd: EOF at the end of batch 1 -> 0");
	is_u64(done, batch, "IOV_MAX pread_fd: EOF after batch 1: done");
	ok(big_eq(0, data + 7, batch) && big_is(batch, total - batch, FILL),
	   "IOV_MAX pread_fd: EOF after batch 1: data, rest untouched");
	ok(big_dirty_exactly(0, IOV_MAX),
	   "IOV_MAX pread_fd: EOF after batch 1: the batch's regions dirty");
	close(fd);

	gmem_map_free(big_map);
	big_map = NULL;
	for (size_t i = 0; i < total_n; i++)
		gmem_region_free(rs[i]);
	free(rs);
	free(big);
	big = NULL;
	free(data);
	free(sink);
	close(rp[0]);
	close(rp[1]);
	close(wp[0]);
	close(wp[1]);
}

static void test_top(void)
{
	int fd = tmpfile_fd();
	uint8_t data[0x100], buf[0x100];
	size_t done;

	fill_buf(data, sizeof(data), 17);
	xwrite(fd, data, sizeof(data));
	lseek(fd, 0, SEEK_SET);
	gset(TOP, 0x1000, FILL);
	done = 0;
	is_int(gmem_read_fd(M, UINT64_MAX - 0xff, 0x100, fd, &done), 0,
	       "top: read_fd into the last 0x100 bytes");
	is_u64(done, 0x100, "top: read_fd: all");
	ok(geq(UINT64_MAX - 0xff, data, 0x100), "top: read_fd: data");
	done = 777;
	is_int(gmem_read_fd(M, UINT64_MAX - 0xff, 0x101, fd, &done),
	       -EOVERFLOW, "top: one byte past 2^64 -> -EOVERFLOW");
	is_u64(done, 0, "top: -EOVERFLOW: done 0");
	gset_pat(TOP, 0x1000, 18);
	done = 0;
	is_int(gmem_pwrite_fd(M, UINT64_MAX, 1, fd, 0, &done), 0,
	       "top: pwrite_fd of the byte at UINT64_MAX");
	if (pread(fd, buf, 1, 0) != 1)
		tap_bail("pread");
	is_u64(buf[0], *hp(UINT64_MAX), "top: the byte at UINT64_MAX");
	done = 0;
	is_int(gmem_write_fd(M, TOP, 0x1000, fd, &done), 0,
	       "top: write_fd of the whole top region");
	is_u64(done, 0x1000, "top: write_fd: all");
	gset(TOP, 0x1000, FILL);
	done = 0;
	is_int(gmem_pread_fd(M, TOP, 0x1000, fd, 0x100, &done), 0,
	       "top: pread_fd up to 2^64");
	is_u64(done, 0x1000, "top: pread_fd: all");
	ok(gpat(TOP, 0x1000, 18), "top: pread_fd: data");
	close(fd);
}

/* A library that keeps reading after a short read blocks on a pipe whose
 * writer is still open: fail loudly instead of hanging. */
static void watchdog(int sig)
{
	static const char msg[] =
		"Bail out! watchdog: an I/O call blocked for 10 s\n";

	(void)sig;
	if (write(STDOUT_FILENO, msg, sizeof(msg) - 1) < 0) {
		/* nothing more to do */
	}
	_exit(1);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, watchdog);
	alarm(10);
	setup();
	test_args();
	test_offsets();
	test_file();
	test_pipe_short();
	test_sockets();
	test_pipe_write();
	test_eintr();
	test_fragments();
	test_iov_max();
	test_top();
	teardown();
	return tap_done();
}
