/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One dirty tracking session, shared by `vfioscope track` and `vfioscope serve --track`: the
 * options, then setup (container, devices, guest RAM, the tracker started), syncs, teardown.
 * The commands differ only in what they do with each sync (print it, or export it).
 */
#ifndef VFIOSCOPE_CMD_TRACK_SESSION_H
#define VFIOSCOPE_CMD_TRACK_SESSION_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "testaid.h"
#include "vfioscope/common/ranges.h"
#include "vfioscope/tracker/tracker.h"
#include "vfioscope/tracker/vfio.h"

#define TRACK_MAX_DEVICES 16

struct track_args {
	const char *devices[TRACK_MAX_DEVICES];
	size_t nr_devices;
	enum vfio_backend backend;
	struct layout layout;
	uint64_t interval_ns;
	uint64_t count; /* syncs; 0: until duration_ns or a signal */
	uint64_t duration_ns;
	enum tracker_method method;
	enum tracker_range_mode ranges;
	struct edu_workload workload; /* test aid */
	bool json;
	bool fault_set;
	struct tracker_fault fault;
};

/* The track options' help lines, for track's and serve's usage. */
void track_options_usage(FILE *out);

/*
 * Parses track's options from argv[0..argc) (argv[0] is skipped, as getopt does) for the
 * command @cmd ("track", "serve"). Returns 0, 2 after printing one line about a bad value (or
 * the usage), or -1 after printing the help on -h.
 */
int track_args_parse(struct track_args *a, const char *cmd, int argc, char **argv);

struct track_session {
	struct track_args *a;
	struct vfio_container *c;
	struct tracker_device tdevs[TRACK_MAX_DEVICES];
	struct guest_ram ram;
	bool mapped;
	struct vfio_dev *edu; /* the workload's device, when there is a workload */
	struct tracker *t;
	const volatile sig_atomic_t *stop; /* cuts a workload short; may be NULL */
	int req_fds[TRACK_MAX_DEVICES]; /* the devices' request interrupts (vfio_dev__watch_request) */
	size_t nr_req_fds;
};

/*
 * Opens the container, adds the devices, maps the guest RAM, creates the tracker (reporting
 * each sync to @on_sync) and starts it. Privileged: do it before dropping capabilities; the
 * fds and the pinned memory stay usable afterwards. On failure, what was set up stays for
 * track_session_teardown() (tracker__error() names a failed start).
 */
int track_session_setup(struct track_session *ts, struct track_args *a, tracker_sync_fn on_sync,
			void *ctx);
/* The test aid's DMA (if any), then one sync. On failure tracking has stopped. */
int track_session_sync(struct track_session *ts);
void track_session_teardown(struct track_session *ts);
/*
 * When the kernel has asked for a device back (it is being removed or unbound: the request
 * interrupt, watched in setup): stops tracking, keeps the reason as the tracker's error and
 * returns -ENODEV; the caller then tears the session down so the removal can go on. 0 otherwise.
 * ts->req_fds become readable at such a request (for poll).
 */
int track_session_check_requests(struct track_session *ts);

/* The labels this session goes by: backend_name() and dirty_method_name(). */
const char *track_session_backend(const struct track_session *ts);
const char *track_session_method(const struct track_session *ts, enum tracker_method m);

#endif
