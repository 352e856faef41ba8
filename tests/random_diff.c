/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * random_diff.c - differential test of libgmem against the reference model
 * on pseudo-random operation streams, without libFuzzer.
 *
 * Feeds the fuzz_map harness (fuzz/fuzz_map.c, which compares every result
 * with fuzz/shadow.c and aborts on any disagreement) with inputs from a
 * fixed-seed xorshift generator.  When the seed corpus is found, every
 * other input is a seed with a few random mutations (bit flips, random and
 * opcode-sized bytes, insertions, deletions, duplicated chunks, splices
 * with another seed, boundary u64 values); the rest are random byte
 * streams, half of them behind a prefix that builds regions near 0 and at
 * the top of the address space.  One TAP point per block of 1000 inputs;
 * a divergence or sanitizer report kills the program, which the TAP driver
 * reports as an error (the input's number is printed to stderr).
 *
 * Environment:
 *   GMEM_RANDOM_SEED=N    generator seed (default 0x5eed0f9e3e3779b9)
 *   GMEM_RANDOM_COUNT=N   number of inputs (default 20000)
 *   GMEM_RANDOM_ONLY=N    run only input N (to reproduce a failure)
 *   GMEM_RANDOM_DUMP=F    with GMEM_RANDOM_ONLY: also write input N to F,
 *                         e.g. to add it to corpus/fuzz_map/
 *   GMEM_CORPUS_DIR=D     seed corpus (default: $srcdir/corpus/fuzz_map,
 *                         srcdir as exported by automake's test harness,
 *                         else ./corpus/fuzz_map); none found: random only
 */
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
void __sanitizer_set_death_callback(void (*callback)(void))
	__attribute__((weak));

#define DEFAULT_SEED 0x5eed0f9e3e3779b9ULL
#define DEFAULT_COUNT 20000u
#define BLOCK 1000u
#define MIN_LEN 16u
#define MAX_LEN 2048u
#define BUF_LEN 4096u	    /* mutated seeds may grow up to this */
#define MAX_SEEDS 256u

static uint64_t g_seed;
static volatile unsigned long g_current = (unsigned long)-1;

struct seed_file {
	uint8_t *data;
	size_t len;
};

static struct seed_file g_seeds[MAX_SEEDS];
static size_t g_nseeds;

struct xorshift {
	uint64_t s;
};

static uint64_t xs_next(struct xorshift *x)
{
	uint64_t s = x->s;

	s ^= s << 13;
	s ^= s >> 7;
	s ^= s << 17;
	x->s = s;
	return s * 0x2545f4914f6cdd1dULL;
}

/* Independent stream per input, so any input can be regenerated alone. */
static void xs_init(struct xorshift *x, uint64_t seed, uint64_t index)
{
	uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (index + 1);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	x->s = z ? z : 1;
}

/*
 * A prefix of region creations that lands regions where the address
 * selectors look and bugs live: one near 0 (hit by small addresses), one
 * ending at 2^64 or just below (hit by UINT64_MAX - d), the others adjacent
 * to those (or a few bytes away); some anonymous, some read-only, some with
 * dirty logging.
 */
static void structured_prefix(struct xorshift *x, struct fdp_out *o)
{
	unsigned n = 2 + (unsigned)(xs_next(x) % 6), i;

	fdp_put_u8(o, (uint8_t)(xs_next(x) % 8)); /* initial cap */
	for (i = 0; i < n; i++) {
		uint64_t r = xs_next(x);
		uint8_t kind = 0x10; /* inserted */

		kind |= (r & 7) ? 1 : 0;	    /* 1 in 8 anonymous */
		kind |= (r & 0x18) == 0 ? 0x08 : 0; /* 1 in 4 read-only */
		fdp_put_u8(o, FM_OP_REGION_NEW);
		fdp_put_u8(o, kind);
		if ((r >> 8) & 3) {
			fdp_put_u8(o, FM_RLEN_TINY);
			fdp_put_u8(o, (uint8_t)(r >> 10));
		} else {
			fdp_put_u8(o, FM_RLEN_SMALL);
			fdp_put_u16(o, (uint16_t)(r >> 10));
		}
		switch (i < 2 ? i : 2 + (r >> 26) % 3) {
		case 0:
			fdp_put_u8(o, FM_PLACE_LOW);
			fdp_put_u16(o, (uint16_t)((r >> 26) % 128));
			break;
		case 1:
			fdp_put_u8(o, FM_PLACE_TOP);
			fdp_put_u8(o, (uint8_t)((r >> 26) % 4 ? 0 : (r >> 28) % 8));
			break;
		case 2:
		case 3:
			fdp_put_u8(o, FM_PLACE_AFTER);
			fdp_put_u8(o, (uint8_t)(i - 1));
			fdp_put_s8(o, (r >> 30) % 4 ? 0 : (int)((r >> 32) % 5));
			break;
		default:
			fdp_put_u8(o, FM_PLACE_BEFORE);
			fdp_put_u8(o, (uint8_t)((r >> 30) % 2)); /* low or top */
			fdp_put_s8(o, 0);
			break;
		}
		fdp_put_u8(o, (uint8_t)(r >> 40)); /* content seed */
		fdp_put_u8(o, (uint8_t)((r >> 48) % 4 ? 0 : r >> 50)); /* dirty */
	}
}

/* One random edit of buf[0..*len) (capacity cap). */
static void mutate(struct xorshift *x, uint8_t *buf, size_t *len, size_t cap)
{
	static const uint64_t interesting[] = {
		0, 1, UINT64_MAX, UINT64_MAX - 7, 1ULL << 63, 1ULL << 32,
		0xfffffffffffff000ULL, 4096, 65536, 1ULL << 24,
	};
	uint64_t r = xs_next(x);
	size_t n = *len, pos = n ? (size_t)(xs_next(x) % n) : 0, k, i;

	switch (r % 8) {
	case 0: /* flip a bit */
		if (n)
			buf[pos] ^= (uint8_t)(1u << ((r >> 8) % 8));
		break;
	case 1: /* random byte */
		if (n)
			buf[pos] = (uint8_t)(r >> 8);
		break;
	case 2: /* opcode-sized byte */
		if (n)
			buf[pos] = (uint8_t)((r >> 8) % 25);
		break;
	case 3: /* insert random bytes */
		k = 1 + (size_t)((r >> 8) % 8);
		if (n + k > cap)
			break;
		memmove(buf + pos + k, buf + pos, n - pos);
		for (i = 0; i < k; i++)
			buf[pos + i] = (uint8_t)xs_next(x);
		*len = n + k;
		break;
	case 4: /* delete bytes */
		k = 1 + (size_t)((r >> 8) % 8);
		if (pos + k > n)
			k = n - pos;
		memmove(buf + pos, buf + pos + k, n - pos - k);
		*len = n - k;
		break;
	case 5: { /* duplicate a chunk (repeats operations) */
		size_t from = n ? (size_t)(xs_next(x) % n) : 0;

		k = 1 + (size_t)((r >> 8) % 32);
		if (from + k > n)
			k = n - from;
		if (n + k > cap || k == 0)
			break;
		memmove(buf + pos + k, buf + pos, n - pos);
		memmove(buf + pos, from < pos ? buf + from : buf + from + k, k);
		*len = n + k;
		break;
	}
	case 6: { /* splice: our head, another seed's tail */
		const struct seed_file *o;
		size_t from;

		if (!g_nseeds)
			break;
		o = &g_seeds[(r >> 8) % g_nseeds];
		from = o->len ? (size_t)(xs_next(x) % o->len) : 0;
		k = o->len - from;
		if (pos + k > cap)
			k = cap - pos;
		memcpy(buf + pos, o->data + from, k);
		*len = pos + k;
		break;
	}
	default: { /* a boundary u64 */
		uint64_t v = interesting[(r >> 8) % (sizeof(interesting) /
						      sizeof(interesting[0]))];

		for (i = 0; i < 8 && pos + i < n; i++)
			buf[pos + i] = (uint8_t)(v >> (8 * i));
		break;
	}
	}
}

static size_t make_input(uint64_t index, uint8_t *buf, size_t cap)
{
	struct xorshift x;
	struct fdp_out o = { buf, 0, cap, false };
	size_t len, i;

	xs_init(&x, g_seed, index);
	if (g_nseeds && index % 2 == 0) {
		const struct seed_file *sf = &g_seeds[(index / 2) % g_nseeds];
		unsigned k = 1 + (unsigned)(xs_next(&x) % 6);

		len = sf->len < cap ? sf->len : cap;
		memcpy(buf, sf->data, len);
		while (k--)
			mutate(&x, buf, &len, cap);
		return len;
	}
	len = MIN_LEN + (size_t)(xs_next(&x) % (MAX_LEN - MIN_LEN + 1));
	if (index & 1)
		structured_prefix(&x, &o);
	for (i = o.len; i < len; i++) {
		uint64_t r = xs_next(&x);

		/* Random bytes, with op-sized runs of small values. */
		buf[i] = (r & 0x300) ? (uint8_t)r : (uint8_t)(r % 24);
	}
	return len > o.len ? len : o.len;
}

static void report_current(void)
{
	char msg[256];
	int n;

	if (g_current == (unsigned long)-1)
		return;
	n = snprintf(msg, sizeof(msg),
		     "random_diff: input #%lu failed; reproduce with "
		     "GMEM_RANDOM_SEED=%#llx GMEM_RANDOM_ONLY=%lu "
		     "GMEM_RANDOM_DUMP=<file>\n",
		     g_current, (unsigned long long)g_seed, g_current);
	if (n > 0)
		(void)!write(2, msg, (size_t)n);
}

static void on_abort(int sig)
{
	report_current();
	signal(sig, SIG_DFL);
	raise(sig);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Load the seed corpus (sorted, so inputs do not depend on readdir). */
static const char *load_seeds(void)
{
	static char path[4096];
	const char *dir = getenv("GMEM_CORPUS_DIR"), *srcdir = getenv("srcdir");
	char *names[MAX_SEEDS];
	size_t n = 0, i;
	struct dirent *de;
	DIR *d;

	if (dir && *dir)
		snprintf(path, sizeof(path), "%s", dir);
	else
		snprintf(path, sizeof(path), "%s/corpus/fuzz_map",
			 srcdir && *srcdir ? srcdir : ".");
	d = opendir(path);
	if (!d)
		return NULL;
	while ((de = readdir(d)) != NULL && n < MAX_SEEDS) {
		if (de->d_name[0] == '.')
			continue;
		names[n] = strdup(de->d_name);
		if (!names[n])
			tap_bail("out of memory");
		n++;
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof(names[0]), cmp_names);
	for (i = 0; i < n; i++) {
		char file[4352];
		FILE *fp;
		uint8_t *data = malloc(BUF_LEN);
		size_t len;

		snprintf(file, sizeof(file), "%s/%s", path, names[i]);
		free(names[i]);
		fp = fopen(file, "rb");
		if (!data || !fp) {
			free(data);
			if (fp)
				fclose(fp);
			continue;
		}
		len = fread(data, 1, BUF_LEN, fp);
		fclose(fp);
		g_seeds[g_nseeds].data = data;
		g_seeds[g_nseeds].len = len;
		g_nseeds++;
	}
	return g_nseeds ? path : NULL;
}

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 0) : def;
}

int main(void)
{
	static uint8_t buf[BUF_LEN];
	uint64_t count, only, i;
	const char *dump = getenv("GMEM_RANDOM_DUMP"), *corpus;

	g_seed = env_u64("GMEM_RANDOM_SEED", DEFAULT_SEED);
	count = env_u64("GMEM_RANDOM_COUNT", DEFAULT_COUNT);
	only = env_u64("GMEM_RANDOM_ONLY", UINT64_MAX);
	diag("seed %#llx (override with GMEM_RANDOM_SEED)",
	     (unsigned long long)g_seed);
	corpus = load_seeds();
	if (corpus)
		diag("mutating %zu seeds from %s", g_nseeds, corpus);
	else
		diag("no seed corpus found (set GMEM_CORPUS_DIR): random "
		     "inputs only");
	signal(SIGABRT, on_abort);
	if (__sanitizer_set_death_callback)
		__sanitizer_set_death_callback(report_current);

	if (only != UINT64_MAX) {
		size_t len = make_input(only, buf, sizeof(buf));
		uint8_t *input = malloc(len ? len : 1);

		if (!input)
			tap_bail("out of memory");
		memcpy(input, buf, len);
		if (dump) {
			FILE *fp = fopen(dump, "wb");

			if (!fp || fwrite(input, 1, len, fp) != len ||
			    fclose(fp) != 0)
				tap_bail("cannot write %s", dump);
			diag("input #%llu (%zu bytes) written to %s",
			     (unsigned long long)only, len, dump);
		}
		g_current = (unsigned long)only;
		LLVMFuzzerTestOneInput(input, len);
		free(input);
		ok(1, "input %llu agrees with the model",
		   (unsigned long long)only);
		return tap_done();
	}

	for (i = 0; i < count; i += BLOCK) {
		uint64_t end = i + BLOCK < count ? i + BLOCK : count, j;

		for (j = i; j < end; j++) {
			size_t len = make_input(j, buf, sizeof(buf));
			/* Exact-size heap copy: ASan sees 1-byte over-reads. */
			uint8_t *input = malloc(len ? len : 1);

			if (!input)
				tap_bail("out of memory");
			memcpy(input, buf, len);
			g_current = (unsigned long)j;
			LLVMFuzzerTestOneInput(input, len);
			free(input);
		}
		ok(1, "inputs %llu..%llu agree with the model",
		   (unsigned long long)i, (unsigned long long)end - 1);
	}
	g_current = (unsigned long)-1;
	for (i = 0; i < g_nseeds; i++)
		free(g_seeds[i].data);
	return tap_done();
}
