/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * seedgen.h - shared by the seed generators (fuzz/gen_*seeds.c): SHA-1
 * (FIPS 180-4) of a seed's content, which is its file name in corpus/<t>/,
 * the way libFuzzer names the inputs it writes.
 */
#ifndef GMEM_FUZZ_SEEDGEN_H
#define GMEM_FUZZ_SEEDGEN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static inline uint32_t seedgen_rol32(uint32_t v, unsigned n)
{
	return (v << n) | (v >> (32 - n));
}

static inline void seedgen_sha1_block(uint32_t st[5], const uint8_t *p)
{
	uint32_t w[80], a = st[0], b = st[1], c = st[2], d = st[3], e = st[4];
	unsigned i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
	for (i = 16; i < 80; i++)
		w[i] = seedgen_rol32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	for (i = 0; i < 80; i++) {
		uint32_t f, k, t;

		if (i < 20) {
			f = (b & c) | (~b & d);
			k = 0x5a827999;
		} else if (i < 40) {
			f = b ^ c ^ d;
			k = 0x6ed9eba1;
		} else if (i < 60) {
			f = (b & c) | (b & d) | (c & d);
			k = 0x8f1bbcdc;
		} else {
			f = b ^ c ^ d;
			k = 0xca62c1d6;
		}
		t = seedgen_rol32(a, 5) + f + e + k + w[i];
		e = d;
		d = c;
		c = seedgen_rol32(b, 30);
		b = a;
		a = t;
	}
	st[0] += a;
	st[1] += b;
	st[2] += c;
	st[3] += d;
	st[4] += e;
}

static inline void seedgen_sha1_hex(const uint8_t *data, size_t len, char out[41])
{
	uint32_t st[5] = { 0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476,
			   0xc3d2e1f0 };
	uint8_t blk[64];
	uint64_t bits = (uint64_t)len * 8;
	size_t i = 0, r;

	for (; i + 64 <= len; i += 64)
		seedgen_sha1_block(st, data + i);
	r = len - i;
	memset(blk, 0, sizeof(blk));
	memcpy(blk, data + i, r);
	blk[r] = 0x80;
	if (r >= 56) {
		seedgen_sha1_block(st, blk);
		memset(blk, 0, sizeof(blk));
	}
	for (i = 0; i < 8; i++)
		blk[63 - i] = (uint8_t)(bits >> (8 * i));
	seedgen_sha1_block(st, blk);
	for (i = 0; i < 20; i++)
		snprintf(out + 2 * i, 3, "%02x",
			 (unsigned)(uint8_t)(st[i / 4] >> (24 - 8 * (i % 4))));
}

#endif /* GMEM_FUZZ_SEEDGEN_H */
