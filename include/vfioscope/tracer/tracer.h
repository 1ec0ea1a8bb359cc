/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The tracer's BPF lifecycle: open the skeleton, find out which way in this kernel allows
 * (file-handler hooks with fentry, else kprobe; else syscall-level tp_btf, else raw_tp), switch
 * every other program off before load, load, attach, and report what attached and why. Also
 * the read side of the in-kernel aggregation (histograms, error counters, lost events, kernel
 * hook counters) for the printers and the metrics exporter.
 */
#ifndef VFIOSCOPE_TRACER_TRACER_H
#define VFIOSCOPE_TRACER_TRACER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vfioscope/tracer/events.h"

struct tracer;

struct tracer_opts {
	size_t sz; /* sizeof(struct tracer_opts) */
	/* "fentry", "kprobe", "tp_btf" or "raw_tp" to force a way in; NULL: the best that works */
	const char *mode;
	/* fail when any program (kernel hooks included) does not attach */
	bool strict;
	/* skip the kernel-side hooks (iova_bitmap_set, type1 pin/unpin) */
	bool no_kernel_hooks;
	/* tests only: let regular files stand in for VFIO device nodes (see tracer.bpf.c) */
	bool test_hook;
	/* no per-call events (tracer__poll delivers nothing): the mirror and the in-kernel
	 * aggregates only, for readers that need no trace lines */
	bool no_events;
	/* no migration data-fd hooks (they are attached only while a data fd is live) */
	bool no_migration;
	/* mappings map size (0: 16384). A MAP_DMA that finds it full is counted
	 * (VFS_LOST_MAPPING) and marks its container incomplete. */
	unsigned int max_mappings;
	/* only calls of this process (tgid; 0: every process). Checked in BPF first thing at
	 * entry: an excluded call reaches neither the maps nor the ring buffer, so the mirror and
	 * the aggregates then hold the selected processes only. */
	int pid;
	/* only calls of threads with this exact comm, as the kernel keeps it (the first 15
	 * bytes; NULL or "": any). Checked in BPF after the pid. */
	const char *comm;
	/* size of the events ring buffer in bytes: a power of two, at least the page size (0: 1
	 * MiB); tracer__new refuses others with -EINVAL. A record that does not fit is counted
	 * (VFS_LOST_RINGBUF); the mirror in the maps stays exact. */
	unsigned int ringbuf_size;
};

#define TRACER_RINGBUF_MAX	(1u << 30)
#define TRACER_MAX_MAPPINGS_MAX (1u << 22)

/* Is @size one the events ring buffer can have (a power of two, page size to 1 GiB)? */
bool tracer_ringbuf_size_valid(uint64_t size);

enum tracer_prog_role {
	TRACER_ROLE_WAY_IN, /* required: the ioctl hooks */
	TRACER_ROLE_RELEASE, /* file release hooks (handler modes) */
	TRACER_ROLE_KERNEL_HOOK, /* optional: iova_bitmap_set, type1 pin/unpin */
	/* optional: the migration data-fd hooks, loaded at start and attached only while a
	 * device's migration data fd is live (tracer__poll does it) */
	TRACER_ROLE_MIGRATION,
};

struct tracer_prog_status {
	char name[64]; /* BPF program name */
	char target[64]; /* kernel function or tracepoint */
	enum tracer_prog_role role;
	bool attached;
	int err; /* 0 or -errno of the failed step */
	char why[96];
};

enum tracer_map {
	TRACER_MAP_FILES,
	TRACER_MAP_CONTAINERS,
	TRACER_MAP_MAPPINGS,
	TRACER_MAP_SESSIONS,
	TRACER_MAP_HISTS,
	TRACER_MAP_ERRORS,
	TRACER_MAP_LOST,
	TRACER_MAP_KSTATS,
	TRACER_MAP_INFLIGHT, /* struct vfs_inflight_slot by tid modulo VFS_INFLIGHT_SLOTS */
	TRACER_MAP_HWPTS, /* struct vfs_hwpt by struct vfs_hwpt_key */
	TRACER_MAPS,
};

#define TRACER_PIN_DIR "/sys/fs/bpf/vfioscope"

typedef int (*tracer_event_fn)(void *ctx, const struct vfs_event *ev);
typedef int (*tracer_mig_fn)(void *ctx, const struct vfs_mig_event *ev);

/* Open, choose the way in, load and attach. Returns 0 or -errno (no way in attached). */
int tracer__new(const struct tracer_opts *opts, struct tracer **out);
/* Map-only access to the state of a running tracer that pinned its maps in @dir. */
int tracer__open_pinned(const char *dir, struct tracer **out);
void tracer__free(struct tracer *t);

/* The way in tracer__new takes on this kernel with default options, and why: it loads and
 * attaches, then lets go (`vfioscope info`). @mode: "fentry", "kprobe", "tp_btf", "raw_tp", or
 * "none" when nothing attaches (then the -errno of the last attempt is returned). */
int tracer__way_in(const char **mode, char *reason, size_t len);

/* "fentry", "kprobe", "tp_btf", "raw_tp" or "pinned" */
const char *tracer__mode(const struct tracer *t);
/* one sentence: why this way in */
const char *tracer__reason(const struct tracer *t);
/* programs this tracer wanted, with their attach result */
int tracer__programs(const struct tracer *t, const struct tracer_prog_status **progs);

/* VFIO device files found open when the tracer started (entered into the mirror, named,
 * flagged VFS_FILE_FOUND_AT_START), or -errno when they could not be looked for (*@why says
 * why: the kernel refused the task_file iterator, ...). 0 for a pinned tracer. */
int tracer__found_at_start(const struct tracer *t, const char **why);

/* Pin the mirror and aggregation maps in @dir (created 0700) so `vfioscope state` can read
 * them while this tracer runs; unpinned by tracer__free. -EEXIST if another tracer pinned. */
int tracer__pin(struct tracer *t, const char *dir);

/* Deliver events to @fn for up to @timeout_ms. Returns events handled or -errno. */
int tracer__poll(struct tracer *t, int timeout_ms, tracer_event_fn fn, void *ctx);

/*
 * Device migration records (events.h: struct vfs_mig_event) go to @fn during tracer__poll,
 * whether or not per-call events are on. tracer__poll also attaches the data-fd hooks while a
 * migration data fd is live and detaches them when none is.
 */
void tracer__on_migration(struct tracer *t, tracer_mig_fn fn, void *ctx);
/* Are the data-fd hooks attached now? (false also where they could not be loaded) */
bool tracer__migration_hooks_attached(const struct tracer *t);
/* How many times the data-fd hooks were attached, and the last attach's error (0 none). */
int tracer__migration_hooks_status(const struct tracer *t, unsigned int *attaches);

int tracer__map_fd(const struct tracer *t, enum tracer_map m);
/* One op's latency histogram, summed over CPUs. */
int tracer__hist(const struct tracer *t, unsigned int op, struct vfs_hist *out);
/* Calls @fn for each (op, errno) with a count; stops early if @fn returns non-zero. */
int tracer__errors(const struct tracer *t,
		   int (*fn)(void *ctx, unsigned int op, unsigned int err, uint64_t count),
		   void *ctx);
/* Lost events and state by reason (enum vfs_lost_reason), summed over CPUs. */
int tracer__lost(const struct tracer *t, uint64_t out[VFS_LOST_REASONS]);
uint64_t tracer__lost_total(const struct tracer *t);
/* Kernel-side hook counters (enum vfs_kstat). */
int tracer__kstats(const struct tracer *t, uint64_t out[VFS_KSTATS]);

/* Upper bound of histogram slot @k in ns (Prometheus `le`); UINT64_MAX for the +Inf slot. */
uint64_t tracer_hist_slot_upper_ns(unsigned int k);

#endif
