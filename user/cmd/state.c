// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "vfioscope/common/json.h"
#include "vfioscope/tracer/tracer.h"
#include "vfioscope/tracer/mirror.h"

static void state_usage(FILE *out)
{
	fprintf(out,
		"usage: vfioscope state [--json] [--wait MS] [--pin-dir DIR]\n\n"
		"Shows what each VFIO container holds: processes with VFIO files (found in /proc,\n"
		"also those started before tracing), containers, their groups and devices, DMA\n"
		"mappings, the 32/64-bit tracking ranges the seed's algorithm would compute, and\n"
		"dirty tracking sessions. Reads the maps of a running `vfioscope trace`; without one\n"
		"it starts its own tracer, waits --wait MS (default 0) and shows what it saw, so\n"
		"containers set up before are shown as partially known.\n");
}

static void print_tracer_json(struct json_writer *jw, const struct tracer *t)
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

int cmd_state(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "wait", required_argument, NULL, 'w' },
		{ "pin-dir", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *dir = TRACER_PIN_DIR;
	struct tracer_opts topts = { .sz = sizeof(topts), .no_events = true };
	struct mirror *m;
	struct tracer *t;
	bool json = false;
	int wait_ms = 0, c, err;

	optind = 1;
	while ((c = getopt_long(argc, argv, "jw:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'w':
			wait_ms = atoi(optarg);
			break;
		case 'D':
			dir = optarg;
			break;
		case 'h':
			state_usage(stdout);
			return 0;
		default:
			state_usage(stderr);
			return 2;
		}
	}
	err = tracer__open_pinned(dir, &t);
	if (err) {
		err = tracer__new(&topts, &t);
		if (err) {
			fprintf(stderr, "vfioscope: failed to start the tracer: %s\n",
				strerror(-err));
			return 1;
		}
		if (wait_ms > 0)
			usleep(wait_ms * 1000);
	}
	mirror_gc(t);
	if (mirror__new(&m)) {
		tracer__free(t);
		return 1;
	}
	err = mirror__load(m, t);
	if (!err)
		err = mirror__scan_proc(m);
	if (err) {
		fprintf(stderr, "vfioscope: failed to read the state: %s\n", strerror(-err));
	} else if (json) {
		struct json_writer *jw = json_writer__new(stdout);

		if (jw) {
			json_start_object(jw);
			print_tracer_json(jw, t);
			mirror__json(m, jw);
			json_end_object(jw);
			json_writer__free(jw);
		}
	} else {
		printf("tracer: %s (%s)\n", tracer__mode(t), tracer__reason(t));
		mirror__print(m, stdout);
	}
	mirror__free(m);
	tracer__free(t);
	return err ? 1 : 0;
}
