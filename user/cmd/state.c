// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "vfioscope/common/json.h"
#include "vfioscope/common/parse.h"
#include "vfioscope/tracer/mirror.h"
#include "vfioscope/tracer/tracer.h"

#define CMD "state"
/* parse_args: go on and show the state (any other value is the exit status) */
#define RUN	    -1
#define WAIT_MAX_NS (3600ULL * 1000000000ULL)

struct state_args {
	bool json;
	bool kernel_addresses; /* show struct file addresses next to the ids */
	uint64_t wait_ns; /* how long a tracer of our own watches before we read */
	const char *dir;
	unsigned int max_mappings; /* a tracer of our own: its mappings map (0: default) */
};

static void state_usage(FILE *out)
{
	fprintf(out,
		"usage: vfioscope state [--json] [--wait TIME] [--pin-dir DIR] [--kernel-addresses]\n"
		"                       [--max-mappings N]\n\n"
		"Shows what each VFIO container holds: processes with VFIO files (found in /proc,\n"
		"also those started before tracing), containers, their groups and devices, DMA\n"
		"mappings, the 32/64-bit tracking ranges QEMU's range algorithm would compute\n"
		"(QEMU's ranges), and dirty tracking sessions. Reads the maps of a running\n"
		"`vfioscope trace`; without one it starts its own tracer, waits --wait (in\n"
		"milliseconds, or with a unit: 2s; default 0) and shows what it saw, so containers\n"
		"set up before are shown as partially known. Devices are named by their PCI address\n"
		"(or device name), driver, IOMMU group and how they were opened. Files and\n"
		"containers are numbered by vfioscope; --kernel-addresses also shows the kernel's\n"
		"struct file addresses in --json (for kernel debugging: they leak the kernel's\n"
		"memory layout). --max-mappings sizes a tracer of its own like `trace\n"
		"--max-mappings` (default 16384); a container with more is marked incomplete.\n");
}

/* Returns RUN, or the exit status. */
static int parse_args(int argc, char **argv, struct state_args *a)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "wait", required_argument, NULL, 'w' },
		{ "pin-dir", required_argument, NULL, 'D' },
		{ "kernel-addresses", no_argument, NULL, 'K' },
		{ "max-mappings", required_argument, NULL, 'M' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *why;
	int c;

	*a = (struct state_args){ .dir = TRACER_PIN_DIR };
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":jw:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			a->json = true;
			break;
		case 'w':
			/* a bare number is in milliseconds, as --wait has always been */
			if (parse_duration_ns(optarg, 1000000ULL, 1, WAIT_MAX_NS, &a->wait_ns,
					      &why))
				return bad_option(CMD, "--wait", optarg, why);
			break;
		case 'K':
			a->kernel_addresses = true;
			break;
		case 'D':
			if (!*optarg)
				return bad_option(CMD, "--pin-dir", optarg, "empty");
			a->dir = optarg;
			break;
		case 'M':
			if (opt_max_mappings(CMD, optarg, &a->max_mappings))
				return 2;
			break;
		case 'h':
			state_usage(stdout);
			return 0;
		default:
			return bad_usage(CMD, c, argv);
		}
	}
	if (optind < argc)
		return stray_argument(CMD, argv[optind]);
	return RUN;
}

/* The maps of a running `trace`, else a tracer of our own that watches for --wait. */
static int open_tracer(const struct state_args *a, struct tracer **t)
{
	struct tracer_opts topts = { .sz = sizeof(topts),
				     .no_events = true,
				     .max_mappings = a->max_mappings };
	struct timespec ts = { a->wait_ns / 1000000000ULL, a->wait_ns % 1000000000ULL };
	int err;

	if (!tracer__open_pinned(a->dir, t))
		return 0;
	/* tracer__new says itself why no way in attached; only its first allocation is silent */
	err = tracer__new(&topts, t);
	if (err == -ENOMEM)
		fprintf(stderr, "vfioscope: failed to start the tracer: %s\n", strerror(-err));
	if (err)
		return err;
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
	return 0;
}

static int read_state(struct tracer *t, struct mirror *m)
{
	int err;

	mirror_gc(t);
	mirror_reclaim(t);
	/* a failed load says itself what it could not read */
	err = mirror__load(m, t);
	if (err)
		return err;
	err = mirror__scan_proc(m);
	if (err)
		fprintf(stderr, "vfioscope: failed to scan processes in /proc: %s\n",
			strerror(-err));
	return err;
}

static void print_tracer(const struct tracer *t)
{
	printf("tracer: %s (%s)\n", tracer__mode(t), tracer__reason(t));
}

static void tracer_json(struct json_writer *jw, const struct tracer *t)
{
	uint64_t lost[VFS_LOST_REASONS];

	json_name(jw, "tracer");
	json_start_object(jw);
	json_kv_string(jw, "mode", tracer__mode(t));
	json_kv_string(jw, "reason", tracer__reason(t));
	if (!tracer__lost(t, lost)) {
		json_kv_u64(jw, "lost_ringbuf", lost[VFS_LOST_RINGBUF]);
		json_kv_u64(jw, "lost_mapping", lost[VFS_LOST_MAPPING]);
		json_kv_u64(jw, "lost_inflight", lost[VFS_LOST_INFLIGHT]);
		json_kv_u64(jw, "lost_state", lost[VFS_LOST_STATE]);
	}
	json_end_object(jw);
}

static int show_state(const struct state_args *a, const struct tracer *t, const struct mirror *m)
{
	struct json_writer *jw;

	if (!a->json) {
		print_tracer(t);
		mirror__print(m, stdout);
		return 0;
	}
	jw = json_writer__new(stdout);
	if (!jw) {
		fprintf(stderr, "vfioscope: failed to print the state: %s\n", strerror(ENOMEM));
		return -ENOMEM;
	}
	json_start_object(jw);
	tracer_json(jw, t);
	mirror__json(m, jw);
	json_end_object(jw);
	json_writer__free(jw);
	return 0;
}

int cmd_state(int argc, char **argv)
{
	struct mirror *m = NULL;
	struct tracer *t = NULL;
	struct state_args a;
	int err;

	err = parse_args(argc, argv, &a);
	if (err != RUN)
		return err;
	err = open_tracer(&a, &t);
	if (err)
		return 1;
	err = mirror__new(&m);
	if (err)
		fprintf(stderr, "vfioscope: failed to read the state: %s\n", strerror(-err));
	else
		err = read_state(t, m);
	if (m)
		mirror__kernel_addresses(m, a.kernel_addresses);
	if (!err)
		err = show_state(&a, t, m);
	mirror__free(m);
	tracer__free(t);
	return err ? 1 : 0;
}
