/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * gen_io_seeds.c - write the seed corpus of fuzz/fuzz_io.c.
 *
 *   gen_io_seeds OUTDIR
 *
 * Every seed below is built from a readable description with helpers that
 * emit exactly the encoding fuzz_io.c decodes (the constants come from
 * fuzz_io.c itself, included with FUZZ_IO_ENCODING_ONLY).  Each file is
 * named by the SHA-1 of its content; the generator prints
 * "sha1  name: description" for every seed.
 *
 * Build: cc -Ifuzz fuzz/gen_io_seeds.c -o gen_io_seeds
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "seedgen.h"
#define FUZZ_IO_ENCODING_ONLY
#include "fuzz_io.c"

/* ------------------------------------------------------------------------ */
/* Encoding helpers                                                          */
/* ------------------------------------------------------------------------ */

static void u8(struct fdp_out *o, unsigned v) { fdp_put_u8(o, (uint8_t)v); }
static void u16(struct fdp_out *o, unsigned v) { fdp_put_u16(o, (uint16_t)v); }
static void u64(struct fdp_out *o, uint64_t v) { fdp_put_u64(o, v); }
static void s8(struct fdp_out *o, int v) { fdp_put_s8(o, v); }

/* Dirty page size indexes into IO_PS_TABLE. */
enum { PS_HOST = 0, PS_1 = 1, PS_8 = 2, PS_64 = 3, PS_512 = 4, PS_4096 = 5,
       PS_2 = 6, PS_16 = 7 };

#define TRACKED 0x08u
#define RO IO_KIND_RO_MASK
#define ANON IO_KIND_ANON

/* Header: general regions, then an optional tiny run, then the channel. */
static void general(struct fdp_out *o, unsigned n) { u8(o, n); }
static void region(struct fdp_out *o, unsigned kind, unsigned len)
{
	u8(o, kind);
	u8(o, IO_RLEN_ANY);
	u16(o, len - 1);
}
static void at_after(struct fdp_out *o, int d) { u8(o, IO_PLACE_AFTER); s8(o, d); }
static void at_low(struct fdp_out *o, unsigned gpa) { u8(o, IO_PLACE_LOW); u16(o, gpa / 8); }
static void at_top(struct fdp_out *o, unsigned d) { u8(o, IO_PLACE_TOP); u8(o, d); }
static void no_tiny(struct fdp_out *o) { u8(o, 0); }
/* count regions of size bytes at (mib) MiB; ro/hole: index or 255. */
static void tiny(struct fdp_out *o, unsigned count, unsigned size,
		 unsigned kind, unsigned ro, unsigned hole, unsigned mib)
{
	u8(o, 1);
	u8(o, count - 1);
	u8(o, size - 1);
	u8(o, kind);
	u8(o, ro);
	u8(o, hole);
	u8(o, mib - 1);
}
static void chan(struct fdp_out *o, unsigned kind) { u8(o, kind); }

/* Addresses and lengths. */
static void a_start(struct fdp_out *o, unsigned k, int d) { u8(o, IO_ADDR_START); u8(o, k); s8(o, d); }
static void a_end(struct fdp_out *o, unsigned k, int d) { u8(o, IO_ADDR_END); u8(o, k); s8(o, d); }
static void a_in(struct fdp_out *o, unsigned k, unsigned off) { u8(o, IO_ADDR_INSIDE); u8(o, k); u16(o, off); }
static void a_top(struct fdp_out *o, unsigned d) { u8(o, IO_ADDR_TOP); u8(o, d); }
static void a_low(struct fdp_out *o, unsigned v) { u8(o, IO_ADDR_LOW); u16(o, v); }
static void l_small(struct fdp_out *o, unsigned n) { u8(o, IO_LEN_SMALL); u8(o, n); }
static void l_n(struct fdp_out *o, unsigned n) { u8(o, IO_LEN_BYTE); u8(o, n - 1); }
static void l_u16(struct fdp_out *o, unsigned n) { u8(o, IO_LEN_U16); u16(o, n); }
static void l_to_end(struct fdp_out *o, unsigned k, int d) { u8(o, IO_LEN_TO_END); u8(o, k); s8(o, d); }
static void l_to_top(struct fdp_out *o, int d) { u8(o, IO_LEN_TO_TOP); s8(o, d); }
static void l_raw(struct fdp_out *o, uint64_t v) { u8(o, IO_LEN_RAW); u64(o, v); }
static void l_frags(struct fdp_out *o, unsigned k, unsigned n) { u8(o, IO_LEN_FRAGS); u8(o, k); u8(o, n - 1); }

/* Offsets (pread/pwrite). */
static void off_small(struct fdp_out *o, unsigned v) { u8(o, IO_OFF_SMALL); u16(o, v); }
static void off_neg(struct fdp_out *o, unsigned d) { u8(o, IO_OFF_NEG); u8(o, d); }
static void off_huge(struct fdp_out *o, unsigned d) { u8(o, IO_OFF_HUGE); u8(o, d); }

/* Operations. */
static void op(struct fdp_out *o, unsigned code) { u8(o, code); }
static void feed(struct fdp_out *o, unsigned n, unsigned seed) { op(o, IO_OP_FEED); u8(o, 0); u16(o, n); u8(o, seed); }
/* Exactly the bytes regions k .. k + n - 1 hold. */
static void feed_frags(struct fdp_out *o, unsigned k, unsigned n, unsigned seed)
{
	op(o, IO_OP_FEED);
	u8(o, 1);
	u8(o, k);
	u8(o, n - 1);
	u8(o, seed);
}
static void rd(struct fdp_out *o, unsigned v) { op(o, IO_OP_READ); u8(o, v); }
static void wr(struct fdp_out *o, unsigned v) { op(o, IO_OP_WRITE); u8(o, v); }
static void eof(struct fdp_out *o) { op(o, IO_OP_EOF); }
static void peer_close(struct fdp_out *o) { op(o, IO_OP_PEER_CLOSE); }
static void drain(struct fdp_out *o) { op(o, IO_OP_DRAIN); }
static void fill_sink(struct fdp_out *o) { op(o, IO_OP_FILL_SINK); }
static void verify(struct fdp_out *o) { op(o, IO_OP_VERIFY); }
static void seek(struct fdp_out *o, unsigned pos) { op(o, IO_OP_SEEK); u16(o, pos); }
static void open_chan(struct fdp_out *o, unsigned kind) { op(o, IO_OP_OPEN); u8(o, kind); }
static void gfill(struct fdp_out *o) { op(o, IO_OP_GUEST_FILL); }

/* ------------------------------------------------------------------------ */
/* Seeds                                                                     */
/* ------------------------------------------------------------------------ */

/* Pipe reads: short, -EAGAIN, _exact, EOF. */
static void seed_pipe_read(struct fdp_out *o)
{
	general(o, 2);
	region(o, TRACKED | PS_8, 0x800); at_low(o, 0x10000);
	region(o, ANON | RO, 0x100); at_after(o, 0);
	no_tiny(o);
	chan(o, IO_CH_PIPE);
	feed(o, 100, 1);
	rd(o, IO_V_PLAIN); a_in(o, 0, 3); l_n(o, 50);          /* 50 */
	rd(o, IO_V_PLAIN); a_in(o, 0, 60); l_n(o, 100);        /* short: 50 */
	rd(o, IO_V_PLAIN); a_in(o, 0, 200); l_n(o, 10);        /* -EAGAIN */
	feed(o, 30, 2);
	rd(o, IO_V_EXACT); a_in(o, 0, 300); l_n(o, 100);       /* -EAGAIN, 30 */
	verify(o);
	feed(o, 20, 3);
	eof(o);
	rd(o, IO_V_EXACT); a_in(o, 0, 400); l_n(o, 100);       /* -ENODATA, 20 */
	rd(o, IO_V_PLAIN); a_in(o, 0, 500); l_n(o, 10);        /* EOF: 0 */
	verify(o);
}

/* Pipe writes: into an empty, a full, a partly full and a broken pipe. */
static void seed_pipe_write(struct fdp_out *o)
{
	general(o, 1);
	region(o, TRACKED | PS_64, 0x1800); at_low(o, 0x20000);
	no_tiny(o);
	chan(o, IO_CH_PIPE);
	gfill(o); a_in(o, 0, 0x100); l_n(o, 200); u8(o, 0x3c);
	wr(o, IO_V_PLAIN); a_start(o, 0, 0); l_to_end(o, 0, 0);  /* all of it */
	wr(o, IO_V_EXACT); a_in(o, 0, 0x10); l_n(o, 100);
	drain(o);
	fill_sink(o);
	wr(o, IO_V_PLAIN); a_in(o, 0, 0); l_n(o, 10);            /* -EAGAIN, 0 */
	wr(o, IO_V_EXACT); a_in(o, 0, 0); l_n(o, 10);            /* -EAGAIN, 0 */
	rd(o, IO_V_PLAIN); a_in(o, 0, 0x200); l_u16(o, 5000);    /* reads the fill */
	wr(o, IO_V_PLAIN); a_in(o, 0, 0); l_u16(o, 0x1000);      /* partly full */
	drain(o);
	peer_close(o);
	wr(o, IO_V_PLAIN); a_in(o, 0, 0); l_n(o, 10);            /* -EPIPE */
	verify(o);
}

/* Validation before any I/O: holes, read-only, 2^64, length 0. */
static void seed_validation(struct fdp_out *o)
{
	general(o, 3);
	region(o, TRACKED | PS_1, 0x100); at_low(o, 0x30000);
	region(o, RO | TRACKED | PS_1, 0x100); at_after(o, 0);
	region(o, ANON | TRACKED | PS_16, 0x100); at_top(o, 0);
	no_tiny(o);
	chan(o, IO_CH_PIPE);
	feed(o, 50, 1);
	rd(o, IO_V_PLAIN); a_end(o, 0, -4); l_n(o, 8);           /* -EACCES */
	rd(o, IO_V_EXACT); a_end(o, 1, -4); l_n(o, 8);           /* -EACCES (RO first) */
	rd(o, IO_V_PLAIN); a_end(o, 1, 0); l_n(o, 8);            /* -EFAULT */
	rd(o, IO_V_PLAIN); a_low(o, 8); l_small(o, 0);           /* len 0: 0 */
	rd(o, IO_V_PLAIN); a_top(o, 3); l_n(o, 5);               /* -EOVERFLOW */
	rd(o, IO_V_PLAIN); a_top(o, 15); l_to_top(o, 0);         /* 16 bytes */
	wr(o, IO_V_PLAIN); a_end(o, 1, -4); l_n(o, 8);           /* -EFAULT */
	wr(o, IO_V_PLAIN); a_start(o, 1, 0); l_n(o, 16);         /* RO source fine */
	wr(o, IO_V_PLAIN); a_top(o, 0); l_to_top(o, 1);          /* -EOVERFLOW */
	rd(o, IO_V_PLAIN); a_start(o, 0, 0); l_raw(o, UINT64_MAX); /* -EOVERFLOW */
	verify(o);
	drain(o);
}

/* AF_UNIX stream socket: both directions, EOF, full, peer gone. */
static void seed_stream(struct fdp_out *o)
{
	general(o, 2);
	region(o, TRACKED | PS_512, 0x1000); at_low(o, 0x40000);
	region(o, ANON | TRACKED | PS_512, 0x1000); at_after(o, 0);
	no_tiny(o);
	chan(o, IO_CH_STREAM);
	feed(o, 300, 1);
	feed(o, 200, 2);
	rd(o, IO_V_PLAIN); a_end(o, 0, -100); l_n(o, 250);       /* crosses, 250 */
	rd(o, IO_V_EXACT); a_in(o, 1, 0); l_u16(o, 1000);        /* -EAGAIN, 250 */
	wr(o, IO_V_PLAIN); a_start(o, 0, 0); l_to_end(o, 1, 0);  /* 8 KiB */
	wr(o, IO_V_EXACT); a_in(o, 0, 7); l_n(o, 77);
	drain(o);
	fill_sink(o);
	wr(o, IO_V_PLAIN); a_in(o, 0, 0); l_n(o, 1);             /* -EAGAIN */
	drain(o);
	feed(o, 40, 3);
	eof(o);
	rd(o, IO_V_EXACT); a_in(o, 0, 0); l_n(o, 100);           /* -ENODATA, 40 */
	rd(o, IO_V_PLAIN); a_in(o, 0, 0); l_n(o, 100);           /* 0 */
	peer_close(o);
	wr(o, IO_V_EXACT); a_in(o, 0, 0); l_n(o, 10);            /* -EPIPE */
	verify(o);
}

/* SOCK_SEQPACKET: messages, truncation, empty messages. */
static void seed_seqpacket(struct fdp_out *o)
{
	general(o, 1);
	region(o, TRACKED | PS_8, 0x400); at_low(o, 0x50000);
	no_tiny(o);
	chan(o, IO_CH_SEQPACKET);
	feed(o, 100, 1);
	feed(o, 0, 2);
	feed(o, 50, 3);
	rd(o, IO_V_PLAIN); a_in(o, 0, 0); l_n(o, 30);            /* 30, 70 dropped */
	rd(o, IO_V_PLAIN); a_in(o, 0, 40); l_n(o, 30);           /* empty message: 0 */
	rd(o, IO_V_EXACT); a_in(o, 0, 80); l_n(o, 80);           /* -EAGAIN, 50 */
	feed(o, 10, 4);
	feed(o, 10, 5);
	rd(o, IO_V_EXACT); a_in(o, 0, 200); l_n(o, 15);          /* 10 + 5 */
	wr(o, IO_V_PLAIN); a_in(o, 0, 0); l_n(o, 40);            /* one message */
	wr(o, IO_V_EXACT); a_in(o, 0, 100); l_u16(o, 0x300);
	drain(o);
	feed(o, 0, 6);
	rd(o, IO_V_EXACT); a_in(o, 0, 0); l_n(o, 4);             /* -ENODATA, 0 */
	eof(o);
	rd(o, IO_V_PLAIN); a_in(o, 0, 0); l_n(o, 4);             /* EOF */
	verify(o);
}

/* memfd: file position, offsets, EOF, writes past the end. */
static void seed_file(struct fdp_out *o)
{
	general(o, 2);
	region(o, TRACKED | PS_64, 0x800); at_low(o, 0x60000);
	region(o, RO, 0x80); at_after(o, 0);
	no_tiny(o);
	chan(o, IO_CH_FILE);
	feed(o, 500, 1);
	rd(o, IO_V_PLAIN); a_in(o, 0, 0); l_n(o, 100);           /* pos 0 -> 100 */
	seek(o, 450);
	rd(o, IO_V_EXACT); a_in(o, 0, 200); l_n(o, 100);         /* -ENODATA, 50 */
	rd(o, IO_V_PLAIN); a_in(o, 0, 300); l_n(o, 100);         /* EOF: 0 */
	rd(o, IO_V_POS); a_in(o, 0, 400); l_n(o, 200); off_small(o, 10);
	rd(o, IO_V_POS); a_in(o, 0, 400); l_n(o, 20); off_small(o, 540); /* EOF */
	rd(o, IO_V_POS); a_in(o, 0, 400); l_n(o, 20); off_neg(o, 0);     /* -EINVAL */
	rd(o, IO_V_POS); a_in(o, 0, 400); l_n(o, 20); off_huge(o, 3);    /* -EOVERFLOW */
	rd(o, IO_V_POS); a_in(o, 1, 0); l_n(o, 20); off_small(o, 0);     /* -EACCES */
	wr(o, IO_V_PLAIN); a_in(o, 0, 0); l_n(o, 200);           /* at pos 500 */
	wr(o, IO_V_POS); a_start(o, 1, 0); l_n(o, 100); off_small(o, 1000); /* gap */
	wr(o, IO_V_POS); a_in(o, 0, 0); l_n(o, 10); off_huge(o, 3);      /* -EOVERFLOW */
	drain(o);
	seek(o, 0);
	rd(o, IO_V_PLAIN); a_start(o, 0, 0); l_to_end(o, 0, 0);
	verify(o);
}

/* 80 tiny regions: more fragments than one readv/writev takes. */
static void seed_tiny_pipe(struct fdp_out *o)
{
	general(o, 0);
	tiny(o, 80, 8, TRACKED | PS_8, 255, 255, 1);
	chan(o, IO_CH_PIPE);
	feed_frags(o, 0, 65, 1);                                 /* 520 bytes */
	rd(o, IO_V_PLAIN); a_start(o, 0, 0); l_frags(o, 0, 80);  /* short: 520 */
	feed(o, 600, 2);
	rd(o, IO_V_EXACT); a_start(o, 0, 0); l_u16(o, 640);      /* -EAGAIN, 600 */
	wr(o, IO_V_PLAIN); a_start(o, 0, 0); l_u16(o, 640);      /* all 80 */
	drain(o);
	wr(o, IO_V_EXACT); a_start(o, 3, 1); l_u16(o, 600);
	verify(o);
}

/* 40 tiny regions (one batch) on a seqpacket socket. */
static void seed_tiny_seqpacket(struct fdp_out *o)
{
	general(o, 0);
	tiny(o, 40, 4, TRACKED | PS_2, 255, 255, 2);
	chan(o, IO_CH_SEQPACKET);
	feed(o, 100, 1);
	feed(o, 200, 2);
	rd(o, IO_V_PLAIN); a_start(o, 0, 0); l_u16(o, 160);      /* 100 */
	rd(o, IO_V_PLAIN); a_start(o, 1, 0); l_u16(o, 156);      /* 156, 44 dropped */
	wr(o, IO_V_PLAIN); a_start(o, 0, 0); l_u16(o, 160);      /* one message */
	drain(o);
	verify(o);
}

/* Wrong descriptors: -1, wrong direction, ESPIPE, not open, NULL. */
static void seed_badfd(struct fdp_out *o)
{
	unsigned sub;

	general(o, 2);
	region(o, TRACKED | PS_8, 0x100); at_low(o, 0x70000);
	region(o, RO, 0x100); at_after(o, 0x10);
	no_tiny(o);
	chan(o, IO_CH_PIPE);
	feed(o, 64, 1);
	for (sub = 0; sub < IO_BAD_COUNT; sub++) {
		op(o, IO_OP_BADFD); u8(o, sub); a_in(o, 0, 0); l_n(o, 8);
		op(o, IO_OP_BADFD); u8(o, sub | 8); a_in(o, 0, 0); l_n(o, 8);
		op(o, IO_OP_BADFD); u8(o, sub | 8); a_in(o, 1, 0); l_n(o, 8);  /* -EACCES first */
		op(o, IO_OP_BADFD); u8(o, sub); a_end(o, 0, 0); l_n(o, 8);     /* -EFAULT first */
	}
	open_chan(o, IO_CH_STREAM);
	op(o, IO_OP_BADFD); u8(o, IO_BAD_SPIPE); a_in(o, 0, 0); l_n(o, 8);
	op(o, IO_OP_BADFD); u8(o, IO_BAD_SPIPE | 8); a_in(o, 0, 0); l_n(o, 8);
	verify(o);
}

/* Dirty marks cover exactly the bytes read. */
static void seed_dirty(struct fdp_out *o)
{
	general(o, 2);
	region(o, TRACKED | PS_1, 0x100); at_low(o, 0x80000);
	region(o, ANON | TRACKED | PS_64, 0x400); at_after(o, 0);
	no_tiny(o);
	chan(o, IO_CH_PIPE);
	feed(o, 10, 1);
	rd(o, IO_V_PLAIN); a_in(o, 0, 5); l_n(o, 100);           /* marks 10 bytes */
	verify(o);
	feed(o, 3, 2);
	rd(o, IO_V_EXACT); a_end(o, 0, -1); l_n(o, 64);          /* crosses, 3 bytes */
	verify(o);
	open_chan(o, IO_CH_FILE);
	feed(o, 1000, 3);
	rd(o, IO_V_POS); a_end(o, 0, -16); l_u16(o, 0x200); off_small(o, 900);
	verify(o);
}

/* A region ending at 2^64 on a stream socket. */
static void seed_top(struct fdp_out *o)
{
	general(o, 1);
	region(o, TRACKED | PS_16, 0x200); at_top(o, 0);
	no_tiny(o);
	chan(o, IO_CH_STREAM);
	feed(o, 64, 1);
	rd(o, IO_V_PLAIN); a_top(o, 31); l_to_top(o, 0);         /* 32 */
	rd(o, IO_V_EXACT); a_top(o, 31); l_to_top(o, 1);         /* -EOVERFLOW */
	rd(o, IO_V_EXACT); a_top(o, 31); l_to_top(o, 0);         /* 32 */
	wr(o, IO_V_PLAIN); a_top(o, 255); l_to_top(o, 0);
	drain(o);
	verify(o);
}

/* A file read and written across 90 tiny regions, with a hole and RO. */
static void seed_tiny_file(struct fdp_out *o)
{
	general(o, 0);
	tiny(o, 90, 3, TRACKED | PS_1, 70, 85, 3);
	chan(o, IO_CH_FILE);
	feed(o, 1000, 1);
	rd(o, IO_V_PLAIN); a_start(o, 0, 0); l_frags(o, 0, 70);  /* 70 regions */
	rd(o, IO_V_POS); a_start(o, 0, 0); l_u16(o, 213); off_small(o, 7); /* -EACCES */
	wr(o, IO_V_POS); a_start(o, 0, 0); l_u16(o, 255); off_small(o, 300);
	wr(o, IO_V_PLAIN); a_start(o, 0, 0); l_u16(o, 256);      /* -EFAULT */
	drain(o);
	verify(o);
}

/* pread/pwrite offsets: negative ones fail with -EINVAL and *done 0 before
 * the range is even looked at; huge ones with -EOVERFLOW. */
static void seed_offsets(struct fdp_out *o)
{
	general(o, 1);
	region(o, TRACKED | PS_64, 0x400); at_low(o, 0x9000);
	no_tiny(o);
	chan(o, IO_CH_FILE);
	feed(o, 300, 1);
	wr(o, IO_V_POS); a_in(o, 0, 0); l_n(o, 16); off_neg(o, 0);      /* -EINVAL */
	wr(o, IO_V_POS); a_in(o, 0, 0); l_n(o, 16); off_neg(o, 200);    /* -EINVAL */
	wr(o, IO_V_POS); a_end(o, 0, 0); l_n(o, 16); off_neg(o, 1);     /* -EINVAL, hole */
	rd(o, IO_V_POS); a_in(o, 0, 0); l_n(o, 16); off_neg(o, 200);    /* -EINVAL */
	wr(o, IO_V_POS); a_in(o, 0, 0); l_small(o, 0); off_neg(o, 0);   /* -EINVAL */
	wr(o, IO_V_POS); a_in(o, 0, 0); l_n(o, 16); off_huge(o, 0);     /* -EOVERFLOW */
	wr(o, IO_V_POS); a_in(o, 0, 0x20); l_n(o, 16); off_small(o, 20);
	rd(o, IO_V_POS); a_in(o, 0, 0x40); l_n(o, 40); off_small(o, 10);
	drain(o);
	verify(o);
}

struct seed {
	const char *name;
	const char *desc;
	void (*build)(struct fdp_out *o);
};

static const struct seed seeds[] = {
	{ "pipe_read", "pipe: short reads, -EAGAIN, _exact, EOF", seed_pipe_read },
	{ "pipe_write", "pipe: writes into empty, full, partly full, broken", seed_pipe_write },
	{ "validation", "holes, read-only, 2^64, length 0 before any I/O", seed_validation },
	{ "stream", "AF_UNIX stream socket both ways, EOF, EPIPE", seed_stream },
	{ "seqpacket", "SOCK_SEQPACKET messages, truncation, empty messages", seed_seqpacket },
	{ "file", "memfd: position, offsets, EOF, gaps", seed_file },
	{ "tiny_pipe", "80 tiny regions: more than one iovec batch", seed_tiny_pipe },
	{ "tiny_seqpacket", "40 tiny regions on a seqpacket socket", seed_tiny_seqpacket },
	{ "badfd", "fd -1, wrong direction, ESPIPE, EBADF, NULL", seed_badfd },
	{ "dirty", "dirty marks cover exactly the bytes read", seed_dirty },
	{ "top", "a region ending at 2^64", seed_top },
	{ "tiny_file", "a file across 90 tiny regions, hole, read-only", seed_tiny_file },
	{ "offsets", "pread/pwrite: negative and huge offsets", seed_offsets },
};

int main(int argc, char **argv)
{
	static uint8_t buf[4096];
	size_t i;

	if (argc != 2) {
		fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
		return 2;
	}
	for (i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		struct fdp_out o = { buf, 0, sizeof(buf), false };
		char hex[41], path[4096];
		FILE *fp;

		seeds[i].build(&o);
		if (o.overflow) {
			fprintf(stderr, "seed %s: too long\n", seeds[i].name);
			return 1;
		}
		seedgen_sha1_hex(buf, o.len, hex);
		snprintf(path, sizeof(path), "%s/%s", argv[1], hex);
		fp = fopen(path, "wb");
		if (!fp || fwrite(buf, 1, o.len, fp) != o.len || fclose(fp) != 0) {
			fprintf(stderr, "%s: %s\n", path, strerror(errno));
			return 1;
		}
		printf("%s  %s: %s (%zu bytes)\n", hex, seeds[i].name,
		       seeds[i].desc, o.len);
	}
	return 0;
}
