// SPDX-License-Identifier: GPL-2.0
/*
 * Merge + count of a 32 MiB dirty bitmap (1 TiB of 4 KiB pages) into the global bitmap,
 * against a memcpy of the same size measured in the same run. Target: ratio <= 2.
 * Prints one line per case and whether the target is met; speed never fails the run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vfioscope/common/bitmap.h"

#define BYTES  (32ULL << 20)
#define PAGES  (BYTES * 8)
#define REPS   15
#define TARGET 2.0

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp);
	return v[n / 2];
}

int main(int argc, char **argv)
{
	struct bitmap *global = bitmap__new(PAGES + 64);
	uint64_t *src = aligned_alloc(64, BYTES), *copy = aligned_alloc(64, BYTES);
	uint64_t x = 0x9e3779b97f4a7c15ULL, sink = 0;
	double tm[REPS], tc[REPS], ts[REPS], tu[REPS];
	double mcpy, merge, sparse, unal, worst;
	int fails = 0;

	if (!global || !src || !copy) {
		fprintf(stderr, "bitmap_bench: out of memory\n");
		return 1;
	}
	/* a half-dense bitmap: every word non-zero, the worst case for the merge */
	for (uint64_t i = 0; i < BYTES / 8; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		src[i] = x | 1;
	}
	memset(copy, 0, BYTES);
	for (int r = 0; r < REPS; r++) {
		double t0 = now();

		memcpy(copy, src, BYTES);
		__asm__ volatile("" ::"r"(copy) : "memory");
		tc[r] = now() - t0;
		t0 = now();
		sink += bitmap__merge(global, 0, src, PAGES);
		tm[r] = now() - t0;
		t0 = now();
		sink += bitmap__merge(global, 7, src, PAGES);
		tu[r] = now() - t0;
	}
	/* a 1%-dirty bitmap, the usual case in a migration's later rounds */
	memset(src, 0, BYTES);
	for (uint64_t i = 0; i < BYTES / 8; i += 100)
		src[i] = 0xff;
	for (int r = 0; r < REPS; r++) {
		double t0 = now();

		sink += bitmap__merge(global, 0, src, PAGES);
		ts[r] = now() - t0;
	}
	mcpy = median(tc, REPS);
	merge = median(tm, REPS);
	unal = median(tu, REPS);
	sparse = median(ts, REPS);
	printf("bitmap_bench: memcpy 32 MiB                  %8.3f ms (baseline)\n", mcpy * 1e3);
	printf("bitmap_bench: merge+count 32 MiB, dense      %8.3f ms  ratio %.2f\n", merge * 1e3,
	       merge / mcpy);
	printf("bitmap_bench: merge+count 32 MiB, unaligned  %8.3f ms  ratio %.2f\n", unal * 1e3,
	       unal / mcpy);
	printf("bitmap_bench: merge+count 32 MiB, 1%% dirty   %8.3f ms  ratio %.2f\n", sparse * 1e3,
	       sparse / mcpy);
	worst = merge > unal ? merge : unal;
	if (worst / mcpy > TARGET)
		fails++;
	printf("bitmap_bench: %s (target: merge+count <= %.1fx memcpy; checksum %llu)\n",
	       fails ? "TARGET MISSED" : "target met", TARGET, (unsigned long long)(sink & 0xff));
	bitmap__free(global);
	free(src);
	free(copy);
	return 0;
}
