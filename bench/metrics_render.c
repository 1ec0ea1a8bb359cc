// SPDX-License-Identifier: GPL-2.0
/*
 * Render time of /metrics with N synthetic containers (SIMULATOR data), against a baseline of
 * one container measured in the same run. Also the render time while two writer threads update
 * every container (a scrape must not wait for writers, nor writers for it).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../user/cmd/testaid.h"
#include "vfioscope/common/clock.h"
#include "vfioscope/exporter/vfio_metrics.h"

struct setup {
	struct metrics_registry *reg;
	struct vfio_metrics vm;
	int n;
	atomic_bool stop;
	atomic_ulong updates;
};

static void setup_init(struct setup *s, int n)
{
	s->reg = metrics_registry__new();
	vfio_metrics__register(s->reg, &s->vm);
	s->n = n;
	for (int step = 0; step < 10; step++)
		testaid_simulate(&s->vm, n, step);
}

/* Median of @reps renders, in seconds; *bytes gets the size. */
static double render_time(struct setup *s, int reps, size_t *bytes)
{
	double *t = calloc(reps, sizeof(double)), med;

	for (int i = 0; i < reps; i++) {
		char *out;
		double t0 = clock_mono_s();

		metrics_registry__render(s->reg, METRICS_FORMAT_TEXT, &out, bytes);
		t[i] = clock_mono_s() - t0;
		free(out);
	}
	for (int i = 1; i < reps; i++)
		for (int j = i; j > 0 && t[j] < t[j - 1]; j--) {
			double x = t[j];

			t[j] = t[j - 1];
			t[j - 1] = x;
		}
	med = t[reps / 2];
	free(t);
	return med;
}

static void *writer(void *p)
{
	struct setup *s = p;

	for (uint64_t step = 10; !atomic_load(&s->stop); step++) {
		testaid_simulate(&s->vm, s->n, step);
		atomic_fetch_add(&s->updates, s->n);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 100;
	struct setup base = {}, big = {};
	size_t b1, bn;
	double t1, tn, tw, t0;
	pthread_t th[2];

	setup_init(&base, 1);
	setup_init(&big, n);
	t1 = render_time(&base, 200, &b1);
	tn = render_time(&big, 200, &bn);
	printf("metrics_render: 1 container: %.1f us (%zu bytes)\n", t1 * 1e6, b1);
	printf("metrics_render: %d containers: %.1f us (%zu bytes), %.1fx the baseline\n", n,
	       tn * 1e6, bn, tn / t1);
	t0 = clock_mono_s();
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, writer, &big);
	tw = render_time(&big, 200, &bn);
	atomic_store(&big.stop, true);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	printf("metrics_render: %d containers with 2 writers: %.1f us, %.1fx without; writers "
	       "made %.0f container updates/s meanwhile\n",
	       n, tw * 1e6, tw / tn, atomic_load(&big.updates) / (clock_mono_s() - t0));
	metrics_registry__free(base.reg);
	metrics_registry__free(big.reg);
	return 0;
}
