// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "vfioscope/tracer/decode.h"
#include "vfioscope/common/json.h"
#include "vfioscope/tracer/tracer.h"
#include "vfioscope/tracer/mirror.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

struct trace_ctx {
	bool json;
	int pid;
	const char *comm;
	long max_events;
	long printed;
	uint64_t seen; /* events received, before the filters */
	int64_t mono_to_real;
	struct json_writer *jw;
};

static void trace_usage(FILE *out)
{
	fprintf(out,
		"usage: vfioscope trace [--json] [--pid PID] [--comm COMM] [--duration SEC]\n"
		"                       [--count N] [--mode fentry|kprobe|tp_btf|raw_tp] [--no-pin]\n\n"
		"Prints one line per VFIO/iommufd ioctl of any process: time, pid, comm, fd kind,\n"
		"op, decoded arguments (=> results), return value and latency. --json prints JSON\n"
		"lines. While it runs, the mirror maps are pinned in " TRACER_PIN_DIR "\n"
		"so that `vfioscope state` shows the state it tracks. When it stops it says on\n"
		"stderr how many calls it traced, printed and lost. Needs CAP_BPF and\n"
		"CAP_PERFMON (or root).\n");
}

static int64_t mono_to_real_ns(void)
{
	struct timespec r, m;

	clock_gettime(CLOCK_REALTIME, &r);
	clock_gettime(CLOCK_MONOTONIC, &m);
	return (r.tv_sec - m.tv_sec) * 1000000000LL + (r.tv_nsec - m.tv_nsec);
}

static int on_event(void *ctx, const struct vfs_event *ev)
{
	struct trace_ctx *tc = ctx;
	char line[1024];

	tc->seen++;
	if (tc->pid && (int)ev->pid != tc->pid)
		return 0;
	if (tc->comm && strncmp(ev->comm, tc->comm, sizeof(ev->comm)))
		return 0;
	if (tc->json) {
		decode_event_json(ev, tc->mono_to_real, tc->jw);
	} else {
		int n = decode_event_text(ev, tc->mono_to_real, line, sizeof(line));

		/* the line as it is, without printf's parsing */
		fwrite(line, 1, n < (int)sizeof(line) ? n : (int)sizeof(line) - 1, stdout);
		putchar_unlocked('\n');
	}
	tc->printed++;
	if (tc->max_events && tc->printed >= tc->max_events)
		stop = 1;
	return 0;
}

static void report_lost(struct trace_ctx *tc, uint64_t lost)
{
	if (tc->json) {
		json_start_object(tc->jw);
		json_kv_u64(tc->jw, "lost_events", lost);
		json_kv_string(tc->jw, "note", "mirror possibly stale, rebuilt from the maps");
		json_end_object(tc->jw);
	} else {
		printf("*** %llu event(s) lost; mirror possibly stale, rebuilt from the maps\n",
		       (unsigned long long)lost);
	}
	fflush(stdout);
}

int cmd_trace(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pid", required_argument, NULL, 'p' },
		{ "comm", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 'd' },
		{ "count", required_argument, NULL, 'n' },
		{ "mode", required_argument, NULL, 'm' },
		{ "no-pin", no_argument, NULL, 'P' },
		{ "test-hook", no_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct tracer_opts topts = { .sz = sizeof(topts) };
	struct trace_ctx tc = { 0 };
	struct mirror *m = NULL;
	struct tracer *t;
	double duration = 0;
	bool pin = true;
	time_t start, last_gc;
	int c, err;

	optind = 1;
	while ((c = getopt_long(argc, argv, "jp:c:d:n:m:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			tc.json = true;
			break;
		case 'p':
			tc.pid = atoi(optarg);
			break;
		case 'c':
			tc.comm = optarg;
			break;
		case 'd':
			duration = atof(optarg);
			break;
		case 'n':
			tc.max_events = atol(optarg);
			break;
		case 'm':
			topts.mode = optarg;
			break;
		case 'P':
			pin = false;
			break;
		case 'T':
			topts.test_hook = true;
			break;
		case 'h':
			trace_usage(stdout);
			return 0;
		default:
			trace_usage(stderr);
			return 2;
		}
	}
	err = tracer__new(&topts, &t);
	if (err) {
		fprintf(stderr, "vfioscope: failed to start the tracer: %s\n", strerror(-err));
		return 1;
	}
	if (pin) {
		err = tracer__pin(t, TRACER_PIN_DIR);
		if (err)
			fprintf(stderr, "vfioscope: warning: failed to pin the mirror in %s: %s\n",
				TRACER_PIN_DIR, strerror(-err));
	}
	tc.jw = json_writer__new(stdout);
	if (!tc.jw || mirror__new(&m)) {
		tracer__free(t);
		return 1;
	}
	tc.mono_to_real = mono_to_real_ns();
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	mirror__load(m, t);
	{
		const struct tracer_prog_status *p;
		int n = tracer__programs(t, &p);

		/* a hook that did not attach is said, and the rest keeps running */
		for (int i = 0; i < n; i++)
			if (!p[i].attached)
				fprintf(stderr, "vfioscope: note: %s on %s: %s\n", p[i].name,
					p[i].target, p[i].why);
	}
	fprintf(stderr, "vfioscope: tracing with %s (%s)\n", tracer__mode(t), tracer__reason(t));
	fflush(stderr);
	start = last_gc = time(NULL);
	while (!stop) {
		uint64_t before = tracer__lost_total(t);

		err = tracer__poll(t, 100, on_event, &tc);
		if (err < 0) {
			fprintf(stderr, "vfioscope: failed to poll the ring buffer: %s\n",
				strerror(-err));
			break;
		}
		fflush(stdout);
		if (tracer__lost_total(t) != before) {
			report_lost(&tc, tracer__lost_total(t) - before);
			mirror__refresh(m, t);
		}
		if (time(NULL) != last_gc) {
			last_gc = time(NULL);
			mirror_gc(t);
		}
		if (duration > 0 && difftime(time(NULL), start) >= duration)
			break;
	}
	/* drain what is left */
	tracer__poll(t, 0, on_event, &tc);
	fflush(stdout);
	fprintf(stderr, "vfioscope: %" PRIu64 " calls traced, %ld printed, %" PRIu64 " lost\n",
		tc.seen, tc.printed, tracer__lost_total(t));
	mirror__free(m);
	json_writer__free(tc.jw);
	tracer__free(t);
	return err < 0 ? 1 : 0;
}
