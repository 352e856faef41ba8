/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * replay_main.c - run a libFuzzer harness over stored inputs without
 * libFuzzer (gcc builds, make check).
 *
 *   fuzz_<target> [PATH...]
 *
 * Every PATH is a file or a directory (whose regular, non-hidden files are
 * replayed in strcmp order); with no PATH, the directory named by
 * $GMEM_CORPUS_DIR.  Arguments starting with '-' (libFuzzer options) are
 * ignored.  Each input is copied into a heap buffer of exactly its size, so
 * AddressSanitizer catches a 1-byte over-read, and handed to
 * LLVMFuzzerTestOneInput() (after LLVMFuzzerInitialize(), if the harness
 * defines it).  Output is TAP: one "ok N - <path>" line per input, then the
 * plan and a "# passed N, failed M" line.  A harness that finds a bug aborts,
 * which kills the run: the TAP driver reports that as an error.  Nothing is
 * ever written to disk.  No input at all (missing or empty directory) is a
 * failure, never a silent pass.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

static unsigned n_run, n_failed;

/* The last three components of a path ("corpus/fuzz_map/<name>"). */
static const char *short_name(const char *path)
{
	const char *p = path + strlen(path);
	int slashes = 0;

	while (p > path) {
		if (p[-1] == '/' && ++slashes == 3)
			break;
		p--;
	}
	return p;
}

static void report(int pass, const char *path, const char *why)
{
	n_run++;
	if (!pass)
		n_failed++;
	printf("%s %u - %s%s%s\n", pass ? "ok" : "not ok", n_run,
	       short_name(path), why ? " # " : "", why ? why : "");
	fflush(stdout);
}

static void run_file(const char *path)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *buf = NULL;
	struct stat st;
	size_t size;

	if (!fp || fstat(fileno(fp), &st) != 0 || st.st_size < 0) {
		report(0, path, strerror(errno));
		if (fp)
			fclose(fp);
		return;
	}
	size = (size_t)st.st_size;
	buf = malloc(size ? size : 1);
	if (!buf || (size && fread(buf, 1, size, fp) != size)) {
		report(0, path, "cannot read");
		free(buf);
		fclose(fp);
		return;
	}
	fclose(fp);
	if (size == 0) {
		/* Exactly zero accessible bytes. */
		free(buf);
		buf = malloc(0);
	}
	fprintf(stderr, "replay: %s (%zu bytes)\n", path, size);
	LLVMFuzzerTestOneInput(buf, size);
	free(buf);
	report(1, path, NULL);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_dir(const char *dir)
{
	size_t n = 0, cap = 0, i, before = n_run;
	char **names = NULL;
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d) {
		report(0, dir, "cannot open directory");
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			names = realloc(names, cap * sizeof(*names));
			if (!names)
				abort();
		}
		names[n] = strdup(de->d_name);
		if (!names[n])
			abort();
		n++;
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_names);
	for (i = 0; i < n; i++) {
		size_t len = strlen(dir) + strlen(names[i]) + 2;
		char *path = malloc(len);
		struct stat st;

		if (!path)
			abort();
		snprintf(path, len, "%s/%s", dir, names[i]);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
			run_file(path);
		free(path);
		free(names[i]);
	}
	free(names);
	if (n_run == before)
		report(0, dir, "no inputs in directory");
}

static void run_path(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		report(0, path, strerror(errno));
		return;
	}
	if (S_ISDIR(st.st_mode))
		run_dir(path);
	else
		run_file(path);
}

int main(int argc, char **argv)
{
	int i, paths = 0;

	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (i = 1; i < argc; i++) {
		if (argv[i][0] == '-')
			continue;
		run_path(argv[i]);
		paths++;
	}
	if (paths == 0) {
		const char *dir = getenv("GMEM_CORPUS_DIR");

		if (dir && *dir)
			run_path(dir);
		else
			report(0, "(none)",
			       "no input given and GMEM_CORPUS_DIR not set");
	}
	printf("1..%u\n", n_run);
	printf("# passed %u, failed %u\n", n_run - n_failed, n_failed);
	fflush(stdout);
	return n_failed ? 1 : 0;
}
