/* SPDX-License-Identifier: GPL-2.0 */
/* vfioscope serve's data sources (serve.c runs them; one file per source). */
#ifndef VFIOSCOPE_SERVE_H
#define VFIOSCOPE_SERVE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "vfioscope/exporter/metrics.h"
#include "vfioscope/exporter/vfio_metrics.h"

struct http_server;

struct serve {
	struct metrics_registry *reg;
	struct vfio_metrics vm;
	struct http_server *http;
	/* SIMULATOR source (--simulate, a test aid): synthetic containers, not real data. */
	int sim_containers;
	uint64_t sim_step;
	const char *tracer_mode; /* --tracer-mode: fentry, kprobe, tp_btf, raw_tp; NULL: best */
	unsigned int ringbuf_size; /* --ringbuf-size; 0: the tracer's default */
	unsigned int max_mappings; /* --max-mappings; 0: the tracer's default */
};

/*
 * A data source serve runs: the tracer, the tracker (--track), the simulator. setup() runs
 * privileged (load and attach BPF, open devices, pin memory) and may add collectors to the
 * registry (read once per scrape); start() runs after every capability is dropped; step() runs
 * from the main loop every step_ms (a sync, a simulator step); stop() at exit. A source whose
 * setup fails is reported (and /healthz says so) while the others keep running, unless
 * --strict.
 */
struct serve_source {
	const char *name;
	int (*setup)(struct serve *s, struct serve_source *src);
	int (*start)(struct serve *s, struct serve_source *src);
	int (*step)(struct serve *s, struct serve_source *src);
	void (*stop)(struct serve *s, struct serve_source *src);
	unsigned int step_ms;
	bool enabled, failed;
	double next;
};

/* serve_tracer.c: the BPF tracer, built when the tracer's headers are in the tree. */
extern const bool serve_have_tracer;
int serve_tracer_setup(struct serve *s, struct serve_source *src);
int serve_tracer_step(struct serve *s, struct serve_source *src);
void serve_tracer_stop(struct serve *s, struct serve_source *src);

/*
 * serve_track.c: the tracker, in-process (the session `vfioscope track` runs), as container
 * SERVE_TRACK_CONTAINER. serve_track_parse takes the track options after --track -- (argv[0]
 * is skipped) and returns like track_args_parse(); the source steps every --interval.
 */
#define SERVE_TRACK_CONTAINER "track"
int serve_track_parse(int argc, char **argv);
unsigned int serve_track_step_ms(void);
int serve_track_setup(struct serve *s, struct serve_source *src);
int serve_track_step(struct serve *s, struct serve_source *src);
void serve_track_stop(struct serve *s, struct serve_source *src);
/*
 * The fd of the container the in-process tracker drives, or -1: the tracer exports that
 * container once, as SERVE_TRACK_CONTAINER, and leaves its dirty pages to the tracker.
 */
int serve_track_container_fd(void);

#endif
