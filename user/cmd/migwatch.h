/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The watch `migrations` and `record` share: a tracer with the migration records on, run until
 * interrupted, --duration, or --count migrations finished; every record goes to a
 * struct migrations, and (for `record`) every traced VFIO call is kept for the timeline.
 */
#ifndef VFIOSCOPE_CMD_MIGWATCH_H
#define VFIOSCOPE_CMD_MIGWATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "vfioscope/tracer/events.h"
#include "vfioscope/tracer/migration.h"

struct migwatch_call { /* a traced VFIO call, for the timeline */
	uint64_t ts_ns, latency_ns;
	int64_t ret;
	uint32_t pid, tid;
	uint16_t op;
	char comm[16];
	char device[VFS_DEV_NAME];
};

struct migwatch {
	const char *cmd; /* for messages */
	uint64_t duration_ns; /* 0: until interrupted (or --count) */
	unsigned int count; /* stop after this many migrations finished (0: no limit) */
	bool keep_calls; /* keep every traced call (record) */
	const char *mode; /* the tracer's way in (NULL: the best) */
	/* results */
	struct migrations *ms;
	struct migwatch_call *calls;
	size_t ncalls, calls_cap;
	uint64_t lost;
	unsigned int hook_attaches;
	int hook_err;
	char tracer_mode[16];
};

/*
 * The options both commands take: -d/--duration, -n/--count, -m/--mode (getopt's @c with
 * @arg). Returns 0 when taken, the command's exit status (2, with one line) when the value is
 * bad, or -1 when @c is not one of them.
 */
int migwatch_option(const char *cmd, int c, const char *arg, struct migwatch *w);

/* Run the watch; prints the tracer's start line on stderr. Returns 0 or -errno. */
int migwatch_run(struct migwatch *w);
void migwatch_free(struct migwatch *w);

#endif
