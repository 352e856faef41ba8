/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * fuzz_io.c - differential fuzzer for libgmem's file-descriptor I/O
 * (gmem_read_fd, gmem_write_fd, gmem_pread_fd, gmem_pwrite_fd and the
 * _exact variants).
 *
 * Guest memory is a map of a few general regions (read-write or read-only,
 * tracked or not, adjacent or with holes, possibly ending at 2^64) and,
 * optionally, a run of up to 96 tiny adjacent regions so that one range has
 * more host fragments than the library passes to one readv/writev.  The
 * library reads from and writes to one "channel" at a time, which the
 * harness drives from the same thread:
 *
 *   pipe       one O_NONBLOCK pipe: the harness feeds the write end and the
 *              library reads the read end; the library writes the write end
 *              and the harness drains the read end (one shared queue);
 *   stream     an AF_UNIX SOCK_STREAM socketpair (both ends O_NONBLOCK);
 *   seqpacket  an AF_UNIX SOCK_SEQPACKET socketpair: every feed is one
 *              message, a read consumes (part of) one message;
 *   file       a memfd: read_fd/write_fd use and advance the file position,
 *              pread_fd/pwrite_fd use offsets.
 *
 * The model knows every byte queued in each direction (and the message
 * boundaries), the file contents and position, whether the writer has
 * closed (EOF) or the reader has gone (EPIPE), and the guest bytes and dirty
 * bits.  Oracle, per call:
 *   - argument errors (-EINVAL, -EOVERFLOW) and validation errors (-EFAULT
 *     for a hole, -EACCES for reading into a read-only region) come before
 *     any I/O: *done is 0 and neither stream nor guest changes;
 *   - a read consumes exactly *done bytes from the head of the stream into
 *     guest[gpa, gpa + done), leaves the rest of the range untouched and
 *     marks dirty exactly the pages of the bytes read;
 *   - *done and the return code are predicted exactly: short reads return 0;
 *     -EAGAIN only when nothing could be read and the writer is still open;
 *     the _exact variants give -EAGAIN / -ENODATA with *done set;
 *   - a write appends exactly guest[gpa, gpa + done) to the stream (checked
 *     by draining); into an empty channel the whole range fits, into a full
 *     one nothing does (-EAGAIN), into a closed one -EPIPE;
 *   - the queue lengths (FIONREAD), the file size and position agree with
 *     the model after every operation.
 * Any disagreement prints one line to stderr and abort()s.
 *
 * Two library bugs this harness found, both fixed in 1694df2; their
 * reproducers stay in corpus/fuzz_io/crash-* and are replayed strictly:
 *   K1  a non-exact transfer that filled a whole 64-iovec batch and then
 *       found the descriptor empty (full) returned -EAGAIN with *done > 0
 *       instead of 0 (a short transfer);
 *   K2  on a SOCK_SEQPACKET socket a range of more than 64 fragments was
 *       moved with several readv/writev calls, splitting messages.
 * GMEM_FUZZ_ALLOW_KNOWN=<bitmask> (bit 0: K1, bit 1: K2) still tolerates
 * them, for bisecting old library versions.
 *
 * Input layout (little-endian, missing bytes read as 0):
 *   u8 g                 general regions: g % 6
 *   g region descriptors (see region_new())
 *   u8 t                 t & 1: a run of tiny regions follows (tiny_run())
 *   u8 kind              the first channel (enum io_chan_kind, % 4)
 *   operations           opcode byte % IO_OP_COUNT and its arguments, until
 *                        the input ends or IO_MAX_OPS operations ran
 *
 * Set GMEM_FUZZ_TRACE=1 to log every operation to stderr.
 */
#ifndef FUZZ_IO_ENCODING_H
#define FUZZ_IO_ENCODING_H

enum io_op {
	IO_OP_OPEN = 0,	      /* u8 kind: a fresh channel */
	IO_OP_FEED = 1,	      /* u8 mode, size, u8 seed: toward the library */
	IO_OP_EOF = 2,	      /* the harness stops writing (EOF) */
	IO_OP_PEER_CLOSE = 3, /* the harness stops reading (EPIPE) */
	IO_OP_READ = 4,	      /* u8 variant, addr, len [, offset] */
	IO_OP_WRITE = 5,      /* u8 variant, addr, len [, offset] */
	IO_OP_DRAIN = 6,      /* read and compare what the library wrote */
	IO_OP_FILL_SINK = 7,  /* fill the library's outgoing direction */
	IO_OP_BADFD = 8,      /* u8 sub, addr, len: wrong descriptors */
	IO_OP_SEEK = 9,	      /* u16 pos: file position */
	IO_OP_GUEST_FILL = 10, /* addr, len, u8 value: gmem_fill */
	IO_OP_VERIFY = 11,    /* guest bytes and dirty bits */
	IO_OP_COUNT = 12
};

enum io_chan_kind {
	IO_CH_PIPE = 0,
	IO_CH_STREAM = 1,
	IO_CH_SEQPACKET = 2,
	IO_CH_FILE = 3,
	IO_CH_COUNT = 4
};

/*
 * IO_OP_FEED size: mode & 1 == 0: u16 len % 4097; mode & 1: u8 region k,
 * u8 n: the bytes regions k .. k + n % 128 hold (at most 4096), so that a
 * stream can end exactly on a fragment (and iovec batch) boundary.
 */

/* IO_OP_READ variant % 3: read_fd, read_fd_exact, pread_fd (+ offset). */
/* IO_OP_WRITE variant % 3: write_fd, write_fd_exact, pwrite_fd (+ offset). */
enum io_variant { IO_V_PLAIN = 0, IO_V_EXACT = 1, IO_V_POS = 2, IO_V_COUNT = 3 };

/* Offset selector: mode byte % 4, then the parameters shown. */
enum io_off_mode {
	IO_OFF_SMALL = 0, /* u16 % (file size + 64) */
	IO_OFF_NEG = 1,	  /* u8 d: -1 - d */
	IO_OFF_HUGE = 2,  /* u8 d: INT64_MAX - d */
	IO_OFF_RAW = 3,	  /* u64 as int64 */
	IO_OFF_COUNT = 4
};

/* IO_OP_BADFD sub: (sub & 7) % 5 picks the case, bit 3 reads (else writes). */
enum io_badfd {
	IO_BAD_NEG = 0,	      /* fd -1 */
	IO_BAD_WRONG_DIR = 1, /* pipe: read the write end / write the read end */
	IO_BAD_SPIPE = 2,     /* pread/pwrite on a pipe or socket */
	IO_BAD_CLOSED = 3,    /* a descriptor number that is not open */
	IO_BAD_NULL = 4,      /* NULL map / NULL done */
	IO_BAD_COUNT = 5
};

/* Region descriptor (as fuzz_dirty): u8 kind, length, placement. */
#define IO_KIND_PS_MASK 0x07u
#define IO_KIND_TRACK_MASK 0x18u
#define IO_KIND_RO_MASK 0x60u
#define IO_KIND_ANON 0x80u
#define IO_PS_TABLE { 0, 1, 8, 64, 512, 4096, 2, 16 }

enum io_rlen_mode {
	IO_RLEN_TINY = 0,  /* u8 % 64 + 1 */
	IO_RLEN_SMALL = 1, /* u16 % 4096 + 1 */
	IO_RLEN_ANY = 2,   /* u16 % 8192 + 1 */
	IO_RLEN_COUNT = 3
};

enum io_place_mode {
	IO_PLACE_AFTER = 0, /* s8 d: end of the previous region + d */
	IO_PLACE_LOW = 1,   /* u16 v: v * 8 */
	IO_PLACE_TOP = 2,   /* u8 d: 2^64 - len - d */
	IO_PLACE_PAGE = 3,  /* u8 p, s8 d: p * 4096 + d */
	IO_PLACE_RAW = 4,   /* u64 */
	IO_PLACE_COUNT = 5
};

/*
 * Tiny run: u8 count % 96 + 1, u8 size % 16 + 1, u8 kind (bits 0-2 dirty
 * page size index, bit 3 tracked), u8 ro_index (that region is read-only),
 * u8 hole_index (that region is left out), u8 base: first address
 * (base % 64 + 1) * 1 MiB.
 */
#define IO_TINY_MAX 96

/* Address selector: mode byte % IO_ADDR_COUNT. */
enum io_addr_mode {
	IO_ADDR_START = 0,  /* u8 region, s8 d */
	IO_ADDR_END = 1,    /* u8 region, s8 d: start + len + d */
	IO_ADDR_INSIDE = 2, /* u8 region, u16 off % len */
	IO_ADDR_TOP = 3,    /* u8 d: UINT64_MAX - d */
	IO_ADDR_LOW = 4,    /* u16 */
	IO_ADDR_RAW = 5,    /* u64 */
	IO_ADDR_PREV = 6,   /* s8 d: previous address + d */
	IO_ADDR_COUNT = 7
};

/* Length selector: mode byte % IO_LEN_COUNT. */
enum io_len_mode {
	IO_LEN_SMALL = 0,  /* u8 % 17 */
	IO_LEN_BYTE = 1,   /* u8 + 1 */
	IO_LEN_U16 = 2,	   /* u16 */
	IO_LEN_TO_END = 3, /* u8 region, s8 d: its end - addr + d */
	IO_LEN_TO_TOP = 4, /* s8 d: 2^64 - addr + d */
	IO_LEN_RAW = 5,	   /* u64 */
	IO_LEN_POW2 = 6,   /* u8: 1 << (u8 % 16) */
	IO_LEN_FRAGS = 7,  /* u8 region k, u8 n: bytes of regions k .. k + n % 128 */
	IO_LEN_COUNT = 8
};

#define IO_MAX_OPS 200

#endif /* FUZZ_IO_ENCODING_H */

#ifndef FUZZ_IO_ENCODING_ONLY

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gmem.h"
#include "fuzz_input.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define IO_MAX_GENERAL 6
#define IO_MAX_REGIONS (IO_MAX_GENERAL + IO_TINY_MAX)
#define IO_MAX_TOTAL (32u << 10)  /* guest bytes of all regions */
#define IO_BUF (40u << 10)	  /* > IO_MAX_TOTAL */
#define IO_BATCH 64		  /* the library's iovecs per call (K1, K2) */
#define IO_Q_CAP (512u << 10)	  /* model queue capacity */
#define IO_FEED_MAX (48u << 10)	  /* bytes queued toward the library */
#define IO_FILE_CAP (256u << 10)  /* model file capacity */
#define IO_MAX_MSGS 4096
#define IO_MAX_FILLS 4
#define IO_VERIFY_EVERY 16
#define IO_PIPE_SIZE (64 << 10)
#define IO_SNDBUF (64 << 10)

#define SENT_SIZE ((size_t)0x5e57e1f00dULL)
#define SENT_U64 0xa5a5a5a5a5a5a5a5ULL

struct reg {
	gmem_region *r;
	uint64_t start, len, last;
	bool ro, tracked;
	unsigned shift;
	uint64_t first_frame, nbits;
	uint8_t *bits;
	uint8_t *data;
	uint8_t *alloc;
	uint8_t *host;
};

/* Bytes queued in one direction; for SOCK_SEQPACKET also the messages. */
struct q {
	uint8_t *b;
	size_t len;
	size_t msg[IO_MAX_MSGS];
	size_t nmsg;
};

struct chan {
	int kind;
	int lib_rd, lib_wr; /* what the library uses; -1 when gone */
	int h_rd, h_wr;	    /* the harness's ends; -1 when gone */
	int fds[2];	    /* what to close */
	struct q rx;	    /* toward the library */
	struct q txq;	    /* from the library (sockets) */
	struct q *tx;	    /* &rx for a pipe, &txq otherwise */
	bool rx_eof;	    /* the writer toward the library has gone */
	bool tx_broken;	    /* the reader of the library's writes has gone */
	bool tx_full;	    /* filled to capacity by IO_OP_FILL_SINK */
	/* file */
	uint8_t *file;
	size_t fsize;
	uint64_t pos;
};

struct h {
	struct fdp in;
	struct reg regs[IO_MAX_REGIONS];
	unsigned nregs;
	uint64_t total;
	gmem_map *m;
	struct chan ch;
	unsigned opno;
	const char *opname;
	uint64_t prev_addr;
	uint64_t hostpage;
	unsigned fills;
	bool trace;
	bool allow_k1, allow_k2;
};

static const uint64_t io_ps_table[8] = IO_PS_TABLE;

/* Scratch and model buffers, reused by every input (contents are reset). */
static uint8_t g_rx[IO_Q_CAP], g_tx[IO_Q_CAP], g_file[IO_FILE_CAP];
static uint8_t g_drain[IO_Q_CAP];
static struct h g_h;

static const char *const op_names[IO_OP_COUNT] = {
	"open", "feed",	 "eof",	 "peer_close", "read",	     "write",
	"drain", "fill_sink", "badfd", "seek",	       "guest_fill", "verify",
};

static const char *const chan_names[IO_CH_COUNT] = { "pipe", "stream",
						     "seqpacket", "file" };

/* ------------------------------------------------------------------------ */
/* Reporting                                                                 */
/* ------------------------------------------------------------------------ */

__attribute__((noreturn, format(printf, 2, 3))) static void
fail(const struct h *h, const char *fmt, ...)
{
	char context[32];
	va_list ap;

	snprintf(context, sizeof(context), "%s channel",
		 chan_names[h->ch.kind]);
	va_start(ap, fmt);
	fuzz_vdiverge("fuzz_io", h->opno, h->opname, context, fmt, ap);
}

__attribute__((format(printf, 2, 3))) static void trace(const struct h *h,
							const char *fmt, ...)
{
	va_list ap;

	if (!h->trace)
		return;
	va_start(ap, fmt);
	fuzz_vtrace(h->opno, h->opname, fmt, ap);
	va_end(ap);
}

#define EXPECT(h, cond, ...)                                                   \
	do {                                                                   \
		if (!(cond))                                                   \
			fail(h, __VA_ARGS__);                                  \
	} while (0)

#define X64(v) ((unsigned long long)(v))

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

static const char *err_name(int rc)
{
	return rc == 0 ? "0" : gmem_strerror(rc);
}

/* ------------------------------------------------------------------------ */
/* Guest model                                                               */
/* ------------------------------------------------------------------------ */

static int m_find(const struct h *h, uint64_t a)
{
	unsigned i;

	for (i = 0; i < h->nregs; i++)
		if (h->regs[i].r && h->regs[i].start <= a && a <= h->regs[i].last)
			return (int)i;
	return -1;
}

/* 0 or the first -EFAULT / -EACCES; *frags: regions the range touches. */
static int m_span(const struct h *h, uint64_t gpa, uint64_t len, bool write,
		  unsigned *frags)
{
	uint64_t done = 0;

	*frags = 0;
	for (;;) {
		uint64_t cur = gpa + done, tail_m1;
		int i = m_find(h, cur);

		if (i < 0)
			return -EFAULT;
		if (write && h->regs[i].ro)
			return -EACCES;
		++*frags;
		tail_m1 = h->regs[i].last - cur;
		if (len - done - 1 <= tail_m1)
			return 0;
		done += tail_m1 + 1;
	}
}

static void m_access(struct h *h, uint64_t gpa, uint8_t *buf, uint64_t len,
		     bool to_guest, bool mark)
{
	uint64_t done = 0;

	while (done < len) {
		uint64_t cur = gpa + done, n, f, l;
		int i = m_find(h, cur);
		struct reg *r;

		if (i < 0)
			fail(h, "model: hole at %#llx", X64(cur));
		r = &h->regs[i];
		n = r->last - cur;
		n = (len - done - 1 < n ? len - done - 1 : n) + 1;
		if (to_guest) {
			memcpy(r->data + (cur - r->start), buf + done, n);
			if (mark && r->tracked) {
				f = (cur >> r->shift) - r->first_frame;
				l = ((cur + n - 1) >> r->shift) - r->first_frame;
				memset(r->bits + f, 1, (size_t)(l - f + 1));
			}
		} else {
			memcpy(buf + done, r->data + (cur - r->start), n);
		}
		done += n;
	}
}

static void verify_data(const struct h *h)
{
	unsigned i;
	uint64_t j;

	for (i = 0; i < h->nregs; i++) {
		const struct reg *r = &h->regs[i];

		if (!r->r || memcmp(r->host, r->data, r->len) == 0)
			continue;
		for (j = 0; j < r->len; j++)
			EXPECT(h, r->host[j] == r->data[j],
			       "guest byte %#llx (region %u [%#llx +%#llx]) is "
			       "%#x, model %#x",
			       X64(r->start + j), i, X64(r->start), X64(r->len),
			       r->host[j], r->data[j]);
	}
}

/* Harvest every tracked region and compare with the model (then clear). */
static void verify_bits(struct h *h)
{
	unsigned i;
	uint64_t j;

	for (i = 0; i < h->nregs; i++) {
		struct reg *r = &h->regs[i];
		size_t nwords, nbits = 0;
		uint64_t *bm;
		int rc;

		if (!r->r || !r->tracked)
			continue;
		nwords = (size_t)(r->nbits / 64 + 1);
		bm = xmalloc(nwords * sizeof(*bm));
		rc = gmem_region_dirty_harvest(r->r, bm, nwords, &nbits);
		EXPECT(h, rc == 0 && nbits == r->nbits,
		       "gmem_region_dirty_harvest(region %u): %d, nbits %zu "
		       "(model %llu)",
		       i, rc, nbits, X64(r->nbits));
		for (j = 0; j < r->nbits; j++)
			EXPECT(h, (unsigned)(bm[j / 64] >> (j % 64) & 1) == r->bits[j],
			       "dirty bit %llu of region %u [%#llx +%#llx] (page "
			       "[%#llx, +%#llx)) is %u, model %u",
			       X64(j), i, X64(r->start), X64(r->len),
			       X64((r->first_frame + j) << r->shift),
			       X64(1ULL << r->shift),
			       (unsigned)(bm[j / 64] >> (j % 64) & 1), r->bits[j]);
		memset(r->bits, 0, (size_t)r->nbits);
		free(bm);
	}
}

/* ------------------------------------------------------------------------ */
/* Regions                                                                   */
/* ------------------------------------------------------------------------ */

static bool overlaps_existing(const struct h *h, uint64_t gpa, uint64_t last)
{
	unsigned i;

	for (i = 0; i < h->nregs; i++)
		if (h->regs[i].r && h->regs[i].start <= last &&
		    gpa <= h->regs[i].last)
			return true;
	return false;
}

/* Create a region and insert it into the map, unless it overlaps one. */
static void add_region(struct h *h, uint64_t gpa, uint64_t len, bool ro,
		       bool tracked, uint64_t dps, bool anon, uint64_t seed)
{
	struct gmem_region_config cfg = GMEM_REGION_CONFIG_INIT;
	struct reg *r;
	uint8_t *alloc = NULL;
	int rc;

	if (h->nregs >= IO_MAX_REGIONS || len == 0 || range_check(gpa, len) ||
	    h->total + len > IO_MAX_TOTAL ||
	    overlaps_existing(h, gpa, gpa + (len - 1)))
		return;
	cfg.gpa = gpa;
	cfg.len = len;
	cfg.flags = (ro ? GMEM_REGION_READONLY : 0u) |
		    (tracked ? GMEM_REGION_DIRTY_LOG : 0u);
	cfg.dirty_page_size = dps;
	if (anon) {
		cfg.backing = GMEM_BACKING_ANON;
	} else {
		cfg.backing = GMEM_BACKING_USER;
		alloc = xmalloc(gpa % 8 + len); /* ends with the region */
		cfg.host = alloc + gpa % 8;
		fill_splitmix(cfg.host, len, seed);
	}
	r = &h->regs[h->nregs];
	memset(r, 0, sizeof(*r));
	rc = gmem_region_new(&r->r, &cfg);
	EXPECT(h, rc == 0, "gmem_region_new([%#llx +%#llx]): %d", X64(gpa),
	       X64(len), rc);
	r->start = gpa;
	r->len = len;
	r->last = gpa + (len - 1);
	r->ro = ro;
	r->tracked = tracked;
	r->alloc = alloc;
	r->host = anon ? gmem_region_host(r->r) : (uint8_t *)cfg.host;
	r->data = xmalloc(len);
	if (anon)
		memset(r->data, 0, len);
	else
		memcpy(r->data, r->host, len);
	if (tracked) {
		uint64_t ps = dps ? dps : h->hostpage;

		r->shift = (unsigned)__builtin_ctzll(ps);
		r->first_frame = gpa >> r->shift;
		r->nbits = (r->last >> r->shift) - r->first_frame + 1;
		r->bits = xmalloc((size_t)r->nbits);
		memset(r->bits, 0, (size_t)r->nbits);
	}
	trace(h, "region %u: [%#llx +%#llx]%s%s", h->nregs, X64(gpa), X64(len),
	      ro ? " ro" : "", tracked ? " tracked" : "");
	h->total += len;
	h->nregs++;
}

/* Region descriptor: u8 kind, length (enum io_rlen_mode), placement. */
static void region_new(struct h *h)
{
	uint8_t kind = fdp_u8(&h->in);
	uint64_t len, gpa;
	const struct reg *o;

	switch (fdp_u8(&h->in) % IO_RLEN_COUNT) {
	case IO_RLEN_TINY:
		len = fdp_u8(&h->in) % 64 + 1;
		break;
	case IO_RLEN_SMALL:
		len = fdp_u16(&h->in) % 4096 + 1;
		break;
	case IO_RLEN_ANY:
	default:
		len = fdp_u16(&h->in) % 8192 + 1;
		break;
	}
	switch (fdp_u8(&h->in) % IO_PLACE_COUNT) {
	case IO_PLACE_AFTER:
		o = h->nregs ? &h->regs[h->nregs - 1] : NULL;
		gpa = (o ? o->last + 1 : 0x10000) + (uint64_t)fdp_s8(&h->in);
		break;
	case IO_PLACE_LOW:
		gpa = (uint64_t)fdp_u16(&h->in) * 8;
		break;
	case IO_PLACE_TOP:
		gpa = 0 - len - fdp_u8(&h->in);
		break;
	case IO_PLACE_PAGE:
		gpa = (uint64_t)fdp_u8(&h->in) * 4096;
		gpa += (uint64_t)fdp_s8(&h->in);
		break;
	case IO_PLACE_RAW:
	default:
		gpa = fdp_u64(&h->in);
		break;
	}
	add_region(h, gpa, len, (kind & IO_KIND_RO_MASK) == IO_KIND_RO_MASK,
		   (kind & IO_KIND_TRACK_MASK) != 0,
		   io_ps_table[kind & IO_KIND_PS_MASK], (kind & IO_KIND_ANON) != 0,
		   gpa ^ len ^ kind);
}

static void tiny_run(struct h *h)
{
	unsigned count = fdp_u8(&h->in) % IO_TINY_MAX + 1, i;
	uint64_t size = fdp_u8(&h->in) % 16 + 1;
	uint8_t kind = fdp_u8(&h->in), ro_idx = fdp_u8(&h->in);
	uint8_t hole_idx = fdp_u8(&h->in);
	uint64_t base = (uint64_t)(fdp_u8(&h->in) % 64 + 1) << 20;

	for (i = 0; i < count; i++) {
		if (i == hole_idx)
			continue;
		add_region(h, base + i * size, size, i == ro_idx,
			   (kind & 8) != 0, io_ps_table[kind & 7], false,
			   base + i);
	}
}

/* ------------------------------------------------------------------------ */
/* Selectors                                                                 */
/* ------------------------------------------------------------------------ */

static const struct reg *pick_reg(struct h *h)
{
	uint8_t k = fdp_u8(&h->in);

	return h->nregs ? &h->regs[k % h->nregs] : NULL;
}

static uint64_t sel_addr(struct h *h)
{
	const struct reg *r;
	uint64_t a;

	switch (fdp_u8(&h->in) % IO_ADDR_COUNT) {
	case IO_ADDR_START:
		r = pick_reg(h);
		a = (r ? r->start : 0x10000) + (uint64_t)fdp_s8(&h->in);
		break;
	case IO_ADDR_END:
		r = pick_reg(h);
		a = (r ? r->last + 1 : 0x10000) + (uint64_t)fdp_s8(&h->in);
		break;
	case IO_ADDR_INSIDE:
		r = pick_reg(h);
		a = r ? r->start + fdp_u16(&h->in) % r->len : fdp_u16(&h->in);
		break;
	case IO_ADDR_TOP:
		a = UINT64_MAX - fdp_u8(&h->in);
		break;
	case IO_ADDR_LOW:
		a = fdp_u16(&h->in);
		break;
	case IO_ADDR_RAW:
		a = fdp_u64(&h->in);
		break;
	case IO_ADDR_PREV:
	default:
		a = h->prev_addr + (uint64_t)fdp_s8(&h->in);
		break;
	}
	h->prev_addr = a;
	return a;
}

/* u8 k, u8 n: the bytes regions k .. k + n % 128 hold (creation order). */
static uint64_t frag_bytes(struct h *h)
{
	unsigned k = fdp_u8(&h->in), n = fdp_u8(&h->in) % 128 + 1, i;
	uint64_t sum = 0;

	if (!h->nregs)
		return n;
	k %= h->nregs;
	for (i = k; i < h->nregs && i < k + n; i++)
		sum += h->regs[i].len;
	return sum;
}

static uint64_t sel_len(struct h *h, uint64_t gpa)
{
	const struct reg *r;

	switch (fdp_u8(&h->in) % IO_LEN_COUNT) {
	case IO_LEN_SMALL:
		return fdp_u8(&h->in) % 17;
	case IO_LEN_BYTE:
		return (uint64_t)fdp_u8(&h->in) + 1;
	case IO_LEN_U16:
		return fdp_u16(&h->in);
	case IO_LEN_TO_END:
		r = pick_reg(h);
		return (r ? r->last + 1 : 0x11000) - gpa +
		       (uint64_t)fdp_s8(&h->in);
	case IO_LEN_TO_TOP:
		return (0 - gpa) + (uint64_t)fdp_s8(&h->in);
	case IO_LEN_RAW:
		return fdp_u64(&h->in);
	case IO_LEN_POW2:
		return 1ULL << (fdp_u8(&h->in) % 16);
	case IO_LEN_FRAGS:
	default:
		return frag_bytes(h);
	}
}

static int64_t sel_off(struct h *h)
{
	switch (fdp_u8(&h->in) % IO_OFF_COUNT) {
	case IO_OFF_SMALL:
		return (int64_t)(fdp_u16(&h->in) % (h->ch.fsize + 64));
	case IO_OFF_NEG:
		return -1 - (int64_t)fdp_u8(&h->in);
	case IO_OFF_HUGE:
		return INT64_MAX - (int64_t)fdp_u8(&h->in);
	case IO_OFF_RAW:
	default:
		return (int64_t)fdp_u64(&h->in);
	}
}

/* ------------------------------------------------------------------------ */
/* Channels                                                                  */
/* ------------------------------------------------------------------------ */

static void q_push(struct h *h, struct q *q, const uint8_t *b, size_t n,
		   bool message)
{
	EXPECT(h, q->len + n <= IO_Q_CAP, "model: queue overflow");
	memcpy(q->b + q->len, b, n);
	q->len += n;
	if (message) {
		EXPECT(h, q->nmsg < IO_MAX_MSGS, "model: too many messages");
		q->msg[q->nmsg++] = n;
	}
}

/* Drop n bytes from the head (whole messages are handled by the caller). */
static void q_pop(struct q *q, size_t n)
{
	memmove(q->b, q->b + n, q->len - n);
	q->len -= n;
}

static void q_pop_msg(struct q *q)
{
	q_pop(q, q->msg[0]);
	memmove(q->msg, q->msg + 1, (q->nmsg - 1) * sizeof(q->msg[0]));
	q->nmsg--;
}

static void chan_close(struct h *h)
{
	struct chan *c = &h->ch;

	if (c->fds[0] >= 0)
		close(c->fds[0]);
	if (c->fds[1] >= 0)
		close(c->fds[1]);
	c->fds[0] = c->fds[1] = -1;
	c->lib_rd = c->lib_wr = c->h_rd = c->h_wr = -1;
	c->rx.len = c->rx.nmsg = 0;
	c->txq.len = c->txq.nmsg = 0;
	c->rx_eof = c->tx_broken = c->tx_full = false;
	c->fsize = 0;
	c->pos = 0;
}

static void chan_open(struct h *h, int kind)
{
	struct chan *c = &h->ch;
	int p[2], sb = IO_SNDBUF;

	chan_close(h);
	c->kind = kind;
	c->tx = kind == IO_CH_PIPE ? &c->rx : &c->txq;
	switch (kind) {
	case IO_CH_PIPE:
		if (pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0)
			abort();
		if (fcntl(p[1], F_SETPIPE_SZ, IO_PIPE_SIZE) != IO_PIPE_SIZE)
			abort();
		c->fds[0] = c->lib_rd = c->h_rd = p[0];
		c->fds[1] = c->lib_wr = c->h_wr = p[1];
		break;
	case IO_CH_STREAM:
	case IO_CH_SEQPACKET:
		if (socketpair(AF_UNIX,
			       (kind == IO_CH_STREAM ? SOCK_STREAM : SOCK_SEQPACKET) |
				       SOCK_NONBLOCK | SOCK_CLOEXEC,
			       0, p) != 0)
			abort();
		if (setsockopt(p[1], SOL_SOCKET, SO_SNDBUF, &sb, sizeof(sb)) != 0 ||
		    setsockopt(p[0], SOL_SOCKET, SO_SNDBUF, &sb, sizeof(sb)) != 0)
			abort();
		c->fds[0] = c->h_rd = c->h_wr = p[0];
		c->fds[1] = c->lib_rd = c->lib_wr = p[1];
		break;
	case IO_CH_FILE:
	default:
		c->kind = IO_CH_FILE;
		c->fds[0] = memfd_create("fuzz_io", MFD_CLOEXEC);
		if (c->fds[0] < 0)
			abort();
		c->lib_rd = c->lib_wr = c->h_rd = c->h_wr = c->fds[0];
		break;
	}
	trace(h, "channel: %s", chan_names[c->kind]);
}

static int fionread(int fd)
{
	int n = -1;

	if (ioctl(fd, FIONREAD, &n) != 0)
		return -1;
	return n;
}

/* The kernel's view of the queues and the file must match the model. */
static void chan_check(const struct h *h)
{
	const struct chan *c = &h->ch;

	if (c->kind == IO_CH_FILE) {
		struct stat st;
		off_t pos = lseek(c->fds[0], 0, SEEK_CUR);

		EXPECT(h, fstat(c->fds[0], &st) == 0 && (uint64_t)st.st_size == c->fsize,
		       "file size %lld, model %zu", (long long)st.st_size, c->fsize);
		EXPECT(h, pos >= 0 && (uint64_t)pos == c->pos,
		       "file position %lld, model %llu", (long long)pos, X64(c->pos));
		return;
	}
	if (c->lib_rd >= 0) {
		int n = fionread(c->lib_rd);

		EXPECT(h, n >= 0 && (size_t)n == c->rx.len,
		       "%d bytes queued toward the library, model %zu", n,
		       c->rx.len);
	}
	if (c->kind != IO_CH_PIPE && c->h_rd >= 0) {
		int n = fionread(c->h_rd);

		EXPECT(h, n >= 0 && (size_t)n == c->txq.len,
		       "%d bytes queued from the library, model %zu", n,
		       c->txq.len);
	}
}

/* Read what the library wrote (the harness's read end) and compare. */
static void chan_drain(struct h *h, const char *what)
{
	struct chan *c = &h->ch;
	uint8_t *buf;
	size_t got = 0, i;

	if (c->kind == IO_CH_FILE) {
		buf = g_drain;
		EXPECT(h, pread(c->fds[0], buf, c->fsize, 0) == (ssize_t)c->fsize,
		       "%s: cannot read the file back", what);
		for (i = 0; memcmp(buf, c->file, c->fsize) != 0 && i < c->fsize;
		     i++)
			EXPECT(h, buf[i] == c->file[i],
			       "%s: file byte %zu is %#x, model %#x", what, i,
			       buf[i], c->file[i]);
		return;
	}
	if (c->h_rd < 0)
		return;
	buf = g_drain;
	if (c->kind == IO_CH_SEQPACKET) {
		size_t k = 0;

		for (;;) {
			ssize_t n = recv(c->h_rd, buf, IO_Q_CAP, MSG_DONTWAIT);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				break;
			EXPECT(h, k < c->tx->nmsg,
			       "%s: message %zu of %zd bytes, model has %zu messages",
			       what, k, n, c->tx->nmsg);
			EXPECT(h, (size_t)n == c->tx->msg[k],
			       "%s: message %zu has %zd bytes, model %zu", what, k,
			       n, c->tx->msg[k]);
			for (i = 0; memcmp(buf, c->tx->b + got, (size_t)n) != 0 &&
				    i < (size_t)n;
			     i++)
				EXPECT(h, buf[i] == c->tx->b[got + i],
				       "%s: message %zu byte %zu is %#x, model %#x",
				       what, k, i, buf[i], c->tx->b[got + i]);
			got += (size_t)n;
			k++;
		}
		EXPECT(h, k == c->tx->nmsg, "%s: %zu messages, model %zu", what, k,
		       c->tx->nmsg);
		c->tx->nmsg = 0;
	} else {
		for (;;) {
			ssize_t n = read(c->h_rd, buf + got, IO_Q_CAP - got);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			got += (size_t)n;
		}
		EXPECT(h, got == c->tx->len, "%s: drained %zu bytes, model %zu",
		       what, got, c->tx->len);
		for (i = 0; memcmp(buf, c->tx->b, got) != 0 && i < got; i++)
			EXPECT(h, buf[i] == c->tx->b[i],
			       "%s: stream byte %zu is %#x, model %#x", what, i,
			       buf[i], c->tx->b[i]);
	}
	c->tx->len = 0;
	c->tx_full = false;
}

static void op_open(struct h *h)
{
	chan_open(h, fdp_u8(&h->in) % IO_CH_COUNT);
}

static void op_feed(struct h *h)
{
	struct chan *c = &h->ch;
	uint8_t mode = fdp_u8(&h->in);
	size_t n = (mode & 1) ? (size_t)frag_bytes(h) : fdp_u16(&h->in) % 4097u;
	uint8_t seed = fdp_u8(&h->in), *b;
	ssize_t w;

	if (n > 4096)
		n = 4096;
	if (c->h_wr < 0 || c->rx_eof)
		return;
	b = xmalloc(n);
	fill_splitmix(b, n, seed + 0x10000ULL * h->opno);
	if (c->kind == IO_CH_FILE) {
		if (c->fsize + n <= IO_FILE_CAP) {
			w = pwrite(c->fds[0], b, n, (off_t)c->fsize);
			EXPECT(h, w == (ssize_t)n, "pwrite to the memfd: %zd", w);
			memcpy(c->file + c->fsize, b, n);
			c->fsize += n;
		}
	} else if (c->rx.len + n <= IO_FEED_MAX) {
		w = write(c->h_wr, b, n);
		trace(h, "feed %zu: %zd", n, w);
		if (w > 0 || (w == 0 && c->kind == IO_CH_SEQPACKET))
			q_push(h, &c->rx, b, (size_t)w, c->kind == IO_CH_SEQPACKET);
	}
	free(b);
}

static void op_eof(struct h *h)
{
	struct chan *c = &h->ch;

	if (c->kind == IO_CH_FILE || c->rx_eof)
		return;
	trace(h, "eof");
	if (c->kind == IO_CH_PIPE) {
		/* The write end is also where the library writes. */
		close(c->fds[1]);
		c->fds[1] = c->h_wr = c->lib_wr = -1;
	} else {
		EXPECT(h, shutdown(c->h_wr, SHUT_WR) == 0, "shutdown");
	}
	c->rx_eof = true;
}

static void op_peer_close(struct h *h)
{
	struct chan *c = &h->ch;

	if (c->kind == IO_CH_FILE || c->tx_broken)
		return;
	/* Unread data would turn into ECONNRESET for a socket: drain it. */
	chan_drain(h, "before closing the reader");
	trace(h, "peer close");
	if (c->kind == IO_CH_PIPE) {
		close(c->fds[0]);
		c->fds[0] = c->h_rd = c->lib_rd = -1;
		c->rx.len = 0;
	} else {
		close(c->fds[0]);
		c->fds[0] = c->h_rd = c->h_wr = -1;
		c->rx_eof = true; /* what is queued stays readable */
	}
	c->tx_broken = true;
}

static void op_fill_sink(struct h *h)
{
	struct chan *c = &h->ch;
	int fd = c->kind == IO_CH_PIPE ? c->h_wr : c->lib_wr;
	uint8_t *b;
	size_t chunk;

	if (c->kind == IO_CH_FILE || c->tx_broken || fd < 0 || c->tx_full ||
	    h->fills >= IO_MAX_FILLS)
		return;
	h->fills++;
	b = xmalloc(4096);
	fill_splitmix(b, 4096, 0xf111 + h->opno);
	for (chunk = 4096; chunk; chunk = chunk == 4096 ? 1 : 0) {
		for (;;) {
			ssize_t w = write(fd, b, chunk);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				break;
			q_push(h, c->tx, b, (size_t)w, c->kind == IO_CH_SEQPACKET);
		}
	}
	trace(h, "filled: %zu bytes queued", c->tx->len);
	c->tx_full = true;
	free(b);
}

static void op_seek(struct h *h)
{
	struct chan *c = &h->ch;
	uint64_t p = fdp_u16(&h->in) % (c->fsize + 64);

	if (c->kind != IO_CH_FILE)
		return;
	EXPECT(h, lseek(c->fds[0], (off_t)p, SEEK_SET) == (off_t)p, "lseek");
	c->pos = p;
}

/* ------------------------------------------------------------------------ */
/* The library calls                                                         */
/* ------------------------------------------------------------------------ */

static const char *const read_names[IO_V_COUNT] = {
	"gmem_read_fd", "gmem_read_fd_exact", "gmem_pread_fd" };
static const char *const write_names[IO_V_COUNT] = {
	"gmem_write_fd", "gmem_write_fd_exact", "gmem_pwrite_fd" };

/*
 * Argument and validation errors, in the documented order, or 0 when the
 * call reaches the descriptor.  *frags: fragments of the range.
 */
static int pre_io(struct h *h, uint64_t gpa, uint64_t len, int fd, int v,
		  int64_t off, bool to_guest, unsigned *frags)
{
	*frags = 0;
	if (v == IO_V_POS && off < 0)
		return -EINVAL;
	if (fd < 0)
		return -EINVAL;
	if (range_check(gpa, len))
		return -EOVERFLOW;
	if (v == IO_V_POS && len > (uint64_t)(INT64_MAX - off))
		return -EOVERFLOW;
	if (len == 0)
		return 0;
	return m_span(h, gpa, len, to_guest, frags);
}

static void op_read(struct h *h)
{
	struct chan *c = &h->ch;
	int v = fdp_u8(&h->in) % IO_V_COUNT;
	uint64_t gpa = sel_addr(h), len = sel_len(h, gpa);
	int64_t off = v == IO_V_POS ? sel_off(h) : -1;
	size_t done = SENT_SIZE, exp_done = 0, queued;
	unsigned frags;
	bool k1 = false;
	uint8_t *b = NULL;
	int rc, want;

	if (c->lib_rd < 0)
		return;
	queued = c->kind == IO_CH_FILE ? c->fsize : c->rx.len;
	want = pre_io(h, gpa, len, c->lib_rd, v, off, true, &frags);
	if (want == 0 && len > 0) {
		if (v == IO_V_POS && c->kind != IO_CH_FILE) {
			want = -ESPIPE;
		} else if (v == IO_V_POS) {
			if ((uint64_t)off < c->fsize) {
				uint64_t a = c->fsize - (uint64_t)off;

				exp_done = (size_t)(len < a ? len : a);
				b = c->file + off;
			}
		} else if (c->kind == IO_CH_FILE) {
			if (c->pos < c->fsize) {
				uint64_t a = c->fsize - c->pos;

				exp_done = (size_t)(len < a ? len : a);
				b = c->file + c->pos;
			}
			if (v == IO_V_EXACT && exp_done < len)
				want = -ENODATA;
		} else if (c->kind == IO_CH_SEQPACKET) {
			if (frags > IO_BATCH && h->allow_k2)
				return; /* K2 */
			b = xmalloc((size_t)len);
			/* One message per readv; the excess is discarded. */
			for (;;) {
				size_t n;

				if (c->rx.nmsg == 0) {
					if (v == IO_V_PLAIN && exp_done)
						break;
					want = v == IO_V_PLAIN && c->rx_eof ? 0
					       : c->rx_eof		  ? -ENODATA
									  : -EAGAIN;
					break;
				}
				n = c->rx.msg[0] < len - exp_done ? c->rx.msg[0]
								  : (size_t)len - exp_done;
				memcpy(b + exp_done, c->rx.b, n);
				exp_done += n;
				if (c->rx.msg[0] == 0) {
					q_pop_msg(&c->rx);
					if (v == IO_V_EXACT)
						want = -ENODATA;
					break;
				}
				q_pop_msg(&c->rx);
				if (v == IO_V_PLAIN || exp_done == len)
					break;
			}
		} else {
			exp_done = len < c->rx.len ? (size_t)len : c->rx.len;
			b = c->rx.b;
			if (v == IO_V_EXACT)
				want = exp_done == len ? 0
				       : c->rx_eof   ? -ENODATA
						     : -EAGAIN;
			else
				want = exp_done || c->rx_eof ? 0 : -EAGAIN;
			/* K1: the 64-fragment batch ended exactly where the
			 * data did. */
			k1 = v == IO_V_PLAIN && exp_done && exp_done < len &&
			     !c->rx_eof && frags > IO_BATCH;
		}
	}
	trace(h, "%s(%#llx, %#llx, off %lld) frags %u, %zu queued%s", read_names[v],
	      X64(gpa), X64(len), (long long)off, frags, queued,
	      c->rx_eof ? " eof" : "");
	if (v == IO_V_PLAIN)
		rc = gmem_read_fd(h->m, gpa, (size_t)len, c->lib_rd, &done);
	else if (v == IO_V_EXACT)
		rc = gmem_read_fd_exact(h->m, gpa, (size_t)len, c->lib_rd, &done);
	else
		rc = gmem_pread_fd(h->m, gpa, (size_t)len, c->lib_rd, off, &done);
	trace(h, "  -> %d %s, done %zu (model %d, %zu)", rc, err_name(rc), done,
	      want, exp_done);
	if (rc != want && !(k1 && h->allow_k1 && rc == -EAGAIN))
		fail(h,
		     "%s(%#llx, %#llx, off %lld) over %u fragments with %zu bytes "
		     "queued%s: returned %d (%s), done %zu; model %d (%s), done %zu",
		     read_names[v], X64(gpa), X64(len), (long long)off, frags,
		     queued, c->rx_eof ? " and EOF" : "", rc, err_name(rc), done, want,
		     err_name(want), exp_done);
	EXPECT(h, done == exp_done, "%s(%#llx, %#llx): done %zu, model %zu (rc %d)",
	       read_names[v], X64(gpa), X64(len), done, exp_done, rc);
	if (exp_done) {
		m_access(h, gpa, b, exp_done, true, true);
		if (c->kind == IO_CH_FILE && v != IO_V_POS)
			c->pos += exp_done;
		else if (c->kind == IO_CH_PIPE || c->kind == IO_CH_STREAM)
			q_pop(&c->rx, exp_done);
		if (c->kind == IO_CH_PIPE)
			c->tx_full = false;
	}
	if (c->kind == IO_CH_SEQPACKET)
		free(b);
	/* The guest range beyond done is untouched, the rest of the stream
	 * still queued. */
	verify_data(h);
	chan_check(h);
}

static void op_write(struct h *h)
{
	struct chan *c = &h->ch;
	int v = fdp_u8(&h->in) % IO_V_COUNT;
	uint64_t gpa = sel_addr(h), len = sel_len(h, gpa);
	int64_t off = v == IO_V_POS ? sel_off(h) : -1;
	size_t done = SENT_SIZE, exp_done = 0;
	unsigned frags;
	bool any_done = false; /* done is not predicted exactly */
	uint8_t *b;
	int rc, want, fd = c->lib_wr;

	if (fd < 0)
		return;
	want = pre_io(h, gpa, len, fd, v, off, false, &frags);
	if (want == 0 && len > 0) {
		if (v == IO_V_POS && c->kind != IO_CH_FILE) {
			want = -ESPIPE;
		} else if (c->kind == IO_CH_FILE) {
			uint64_t at = v == IO_V_POS ? (uint64_t)off : c->pos;

			if (at + len > IO_FILE_CAP)
				return; /* keep the model file small */
			exp_done = (size_t)len;
		} else if (c->tx_broken) {
			want = -EPIPE;
		} else if (c->tx_full) {
			want = -EAGAIN;
		} else if (c->kind == IO_CH_SEQPACKET && frags > IO_BATCH &&
			   h->allow_k2) {
			return; /* K2 */
		} else if (c->tx->len == 0) {
			exp_done = (size_t)len; /* an empty channel takes it all */
		} else {
			any_done = true;
		}
	}
	trace(h, "%s(%#llx, %#llx, off %lld) frags %u, %zu queued%s%s",
	      write_names[v], X64(gpa), X64(len), (long long)off, frags,
	      c->tx->len, c->tx_full ? " full" : "",
	      c->tx_broken ? " broken" : "");
	if (v == IO_V_PLAIN)
		rc = gmem_write_fd(h->m, gpa, (size_t)len, fd, &done);
	else if (v == IO_V_EXACT)
		rc = gmem_write_fd_exact(h->m, gpa, (size_t)len, fd, &done);
	else
		rc = gmem_pwrite_fd(h->m, gpa, (size_t)len, fd, off, &done);
	trace(h, "  -> %d %s, done %zu (model %d, %zu%s)", rc, err_name(rc), done,
	      want, exp_done, any_done ? " or anything" : "");
	if (any_done) {
		/* Partly full: anything from nothing to everything may fit. */
		EXPECT(h, done <= len, "%s: done %zu > len %llu", write_names[v],
		       done, X64(len));
		if (rc == 0)
			EXPECT(h, (v == IO_V_PLAIN && done > 0) || done == len,
			       "%s(%#llx, %#llx) into a partly full channel: "
			       "returned 0 with done %zu",
			       write_names[v], X64(gpa), X64(len), done);
		else if (rc == -EAGAIN)
			EXPECT(h, done < len &&
					  (v == IO_V_EXACT || done == 0 ||
					   (h->allow_k1 && frags > IO_BATCH)),
			       "%s(%#llx, %#llx) over %u fragments into a partly "
			       "full channel: -EAGAIN with done %zu",
			       write_names[v], X64(gpa), X64(len), frags, done);
		else
			fail(h, "%s(%#llx, %#llx) into a partly full channel: "
				"returned %d (%s)",
			     write_names[v], X64(gpa), X64(len), rc, err_name(rc));
		if (c->kind == IO_CH_SEQPACKET)
			EXPECT(h, done == 0 || done == len,
			       "%s: a message of %zu of %llu bytes",
			       write_names[v], done, X64(len));
		exp_done = done;
	} else {
		if (rc != want)
			fail(h,
			     "%s(%#llx, %#llx, off %lld) over %u fragments, %zu "
			     "queued: returned %d (%s), done %zu; model %d (%s), "
			     "done %zu",
			     write_names[v], X64(gpa), X64(len), (long long)off,
			     frags, c->tx->len, rc, err_name(rc), done, want,
			     err_name(want), exp_done);
		EXPECT(h, done == exp_done, "%s(%#llx, %#llx): done %zu, model %zu",
		       write_names[v], X64(gpa), X64(len), done, exp_done);
	}
	if (exp_done) {
		b = xmalloc(exp_done);
		m_access(h, gpa, b, exp_done, false, false);
		if (c->kind == IO_CH_FILE) {
			uint64_t at = v == IO_V_POS ? (uint64_t)off : c->pos;

			if (at > c->fsize)
				memset(c->file + c->fsize, 0, (size_t)(at - c->fsize));
			memcpy(c->file + at, b, exp_done);
			if (at + exp_done > c->fsize)
				c->fsize = (size_t)(at + exp_done);
			if (v != IO_V_POS)
				c->pos += exp_done;
		} else {
			q_push(h, c->tx, b, exp_done, c->kind == IO_CH_SEQPACKET);
		}
		free(b);
	}
	chan_check(h);
	/* Compare what was written right away, unless the input keeps it
	 * queued for the library to read back (pipe) or for later. */
	if (exp_done && (h->opno & 1))
		chan_drain(h, write_names[v]);
}

static void op_badfd(struct h *h)
{
	struct chan *c = &h->ch;
	uint8_t sub = fdp_u8(&h->in);
	uint64_t gpa = sel_addr(h), len = sel_len(h, gpa);
	bool rd = (sub & 8) != 0;
	size_t done = SENT_SIZE;
	unsigned frags;
	int fd, want, rc;

	switch ((sub & 7) % IO_BAD_COUNT) {
	case IO_BAD_NEG:
		fd = -1;
		want = pre_io(h, gpa, len, fd, IO_V_PLAIN, -1, rd, &frags);
		rc = rd ? gmem_read_fd(h->m, gpa, (size_t)len, fd, &done)
			: gmem_write_fd(h->m, gpa, (size_t)len, fd, &done);
		break;
	case IO_BAD_WRONG_DIR:
		if (c->kind != IO_CH_PIPE || c->h_rd < 0 || c->h_wr < 0)
			return;
		fd = rd ? c->fds[1] : c->fds[0];
		want = pre_io(h, gpa, len, fd, IO_V_PLAIN, -1, rd, &frags);
		if (want == 0 && len)
			want = -EBADF;
		rc = rd ? gmem_read_fd(h->m, gpa, (size_t)len, fd, &done)
			: gmem_write_fd(h->m, gpa, (size_t)len, fd, &done);
		break;
	case IO_BAD_SPIPE:
		fd = rd ? c->lib_rd : c->lib_wr;
		if (c->kind == IO_CH_FILE || fd < 0)
			return;
		want = pre_io(h, gpa, len, fd, IO_V_POS, 0, rd, &frags);
		if (want == 0 && len)
			want = -ESPIPE;
		rc = rd ? gmem_pread_fd(h->m, gpa, (size_t)len, fd, 0, &done)
			: gmem_pwrite_fd(h->m, gpa, (size_t)len, fd, 0, &done);
		break;
	case IO_BAD_CLOSED:
		fd = 1 << 20; /* above RLIMIT_NOFILE: never open */
		want = pre_io(h, gpa, len, fd, IO_V_PLAIN, -1, rd, &frags);
		if (want == 0 && len)
			want = -EBADF;
		rc = rd ? gmem_read_fd_exact(h->m, gpa, (size_t)len, fd, &done)
			: gmem_write_fd_exact(h->m, gpa, (size_t)len, fd, &done);
		break;
	case IO_BAD_NULL:
	default:
		fd = c->lib_rd >= 0 ? c->lib_rd : 0;
		rc = gmem_read_fd(NULL, gpa, (size_t)len, fd, &done);
		EXPECT(h, rc == -EINVAL && done == 0,
		       "gmem_read_fd(NULL map): %d, done %zu", rc, done);
		rc = gmem_write_fd(h->m, gpa, (size_t)len, fd, NULL);
		EXPECT(h, rc == -EINVAL, "gmem_write_fd(NULL done): %d", rc);
		rc = gmem_pread_fd(h->m, gpa, (size_t)len, fd, -1, NULL);
		EXPECT(h, rc == -EINVAL, "gmem_pread_fd(NULL done, off -1): %d", rc);
		chan_check(h);
		return;
	}
	trace(h, "%s fd %d (%#llx, %#llx): %d", rd ? "read" : "write", fd,
	      X64(gpa), X64(len), rc);
	EXPECT(h, rc == want && done == 0,
	       "bad descriptor %d (%s, %#llx, %#llx): returned %d (%s), done %zu; "
	       "model %d (%s), done 0",
	       fd, rd ? "read" : "write", X64(gpa), X64(len), rc, err_name(rc),
	       done, want, err_name(want));
	chan_check(h);
}

static void op_guest_fill(struct h *h)
{
	uint64_t gpa = sel_addr(h), len = sel_len(h, gpa);
	uint8_t v = fdp_u8(&h->in), *b;
	unsigned frags;
	int rc, want;

	want = range_check(gpa, len) ? -EOVERFLOW
	       : len == 0	      ? 0
				      : m_span(h, gpa, len, true, &frags);
	rc = gmem_fill(h->m, gpa, len, v);
	EXPECT(h, rc == want, "gmem_fill(%#llx, %#llx): %d, model %d", X64(gpa),
	       X64(len), rc, want);
	if (rc == 0 && len) {
		b = xmalloc((size_t)len);
		memset(b, v, (size_t)len);
		m_access(h, gpa, b, len, true, true);
		free(b);
	}
}

/* ------------------------------------------------------------------------ */
/* Driver                                                                    */
/* ------------------------------------------------------------------------ */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static void teardown(struct h *h)
{
	unsigned i;

	chan_close(h);
	gmem_map_free(h->m);
	for (i = 0; i < h->nregs; i++) {
		gmem_region_free(h->regs[i].r);
		free(h->regs[i].alloc);
		free(h->regs[i].data);
		free(h->regs[i].bits);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int env = -1;
	struct h *h = &g_h;
	unsigned g, i;
	int rc;

	memset(h, 0, sizeof(*h));
	if (env < 0) {
		const char *t = getenv("GMEM_FUZZ_TRACE");
		const char *k = getenv("GMEM_FUZZ_ALLOW_KNOWN");

		env = (t && *t && *t != '0') | (k ? (int)(strtol(k, NULL, 0) & 3) : 0) << 1;
		signal(SIGPIPE, SIG_IGN);
	}
	h->trace = (env & 1) != 0;
	h->allow_k1 = (env & 2) != 0;
	h->allow_k2 = (env & 4) != 0;
	h->hostpage = (uint64_t)sysconf(_SC_PAGESIZE);
	h->ch.fds[0] = h->ch.fds[1] = -1;
	h->ch.rx.b = g_rx;
	h->ch.txq.b = g_tx;
	h->ch.file = g_file;
	fdp_init(&h->in, data, size);

	g = fdp_u8(&h->in) % IO_MAX_GENERAL;
	for (i = 0; i < g; i++)
		region_new(h);
	if (fdp_u8(&h->in) & 1)
		tiny_run(h);
	if (h->nregs == 0)
		add_region(h, 0x10000, 0x3000, false, true, 0, false, 1);
	{
		gmem_region *arr[IO_MAX_REGIONS];

		for (i = 0; i < h->nregs; i++)
			arr[i] = h->regs[i].r;
		rc = gmem_map_new(&h->m, arr, h->nregs, 0);
		EXPECT(h, rc == 0, "gmem_map_new(%u regions): %d", h->nregs, rc);
	}
	chan_open(h, fdp_u8(&h->in) % IO_CH_COUNT);

	while (!fdp_empty(&h->in) && h->opno < IO_MAX_OPS) {
		unsigned op = fdp_u8(&h->in) % IO_OP_COUNT;

		h->opno++;
		h->opname = op_names[op];
		switch (op) {
		case IO_OP_OPEN: op_open(h); break;
		case IO_OP_FEED: op_feed(h); break;
		case IO_OP_EOF: op_eof(h); break;
		case IO_OP_PEER_CLOSE: op_peer_close(h); break;
		case IO_OP_READ: op_read(h); break;
		case IO_OP_WRITE: op_write(h); break;
		case IO_OP_DRAIN: chan_drain(h, "drain"); break;
		case IO_OP_FILL_SINK: op_fill_sink(h); break;
		case IO_OP_BADFD: op_badfd(h); break;
		case IO_OP_SEEK: op_seek(h); break;
		case IO_OP_GUEST_FILL: op_guest_fill(h); break;
		case IO_OP_VERIFY:
			verify_data(h);
			verify_bits(h);
			chan_check(h);
			break;
		default: break;
		}
		if (h->opno % IO_VERIFY_EVERY == 0)
			verify_bits(h);
	}
	h->opname = "final";
	verify_data(h);
	verify_bits(h);
	chan_check(h);
	chan_drain(h, "final");
	teardown(h);
	return 0;
}

#endif /* FUZZ_IO_ENCODING_ONLY */
