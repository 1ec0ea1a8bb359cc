/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Each device migration the tracer saw, rebuilt from the migration records of the BPF side
 * (events.h: struct vfs_mig_event): its state transitions and the phases they make, the bytes
 * read from (source) or written to (destination) the data fd per phase, the precopy answers,
 * the dirty syncs, and what follows from them: the device's part of the downtime, its dirty
 * rate, the data-fd throughput and a convergence estimate. Printers (`vfioscope migrations`,
 * `record`) and the exporter only read it.
 *
 * The migration records are kept as they came (migrations__events) for the timeline file.
 */
#ifndef VFIOSCOPE_TRACER_MIGRATION_H
#define VFIOSCOPE_TRACER_MIGRATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vfioscope/tracer/events.h"

#define MIGRATION_MAX_TRANSITIONS 32
#define MIGRATION_MAX_PRECOPY	  1024
#define MIGRATION_MAX_SYNCS	  4096

enum migration_role {
	MIGRATION_ROLE_UNKNOWN = 0,
	MIGRATION_SOURCE,
	MIGRATION_DESTINATION,
};

enum migration_outcome {
	MIGRATION_UNDER_WAY = 0,
	MIGRATION_COMPLETED, /* source: STOP_COPY -> STOP; destination: RESUMING -> RUNNING */
	MIGRATION_CANCELLED, /* source back to RUNNING before STOP_COPY ended */
	MIGRATION_FAILED, /* a state change failed, or the device went to ERROR */
};

/* One MIG_DEVICE_STATE SET, and the phase it begins when it succeeded. */
struct migration_phase {
	uint64_t start_ns; /* the SET's exit */
	uint64_t end_ns; /* the next successful SET's exit; 0 while current */
	uint64_t set_latency_ns;
	int64_t ret; /* the SET's result */
	uint32_t state; /* asked */
	uint32_t prev_state; /* VFS_MIG_STATE_UNKNOWN when not seen */
	int32_t data_fd; /* returned, -1 none */
	/* data fd calls while the device was in this state */
	uint64_t bytes;
	uint64_t calls; /* reads or writes */
	uint64_t call_ns; /* time inside them */
	uint64_t first_data_ns, last_data_ns; /* exits of the first and last call moving bytes */
	/* part of bytes moved in calls no hook saw: counted from the data fd's position at the
	 * SET that ended the phase (VFS_MIG_F_DATA_POS) */
	uint64_t bytes_unseen;
};

struct migration_precopy {
	uint64_t ts_ns;
	uint64_t initial_bytes, dirty_bytes;
	uint64_t bytes_before; /* data-fd bytes moved before this answer */
};

struct migration_sync {
	uint64_t ts_ns, latency_ns;
	uint64_t pages; /* dirty pages the kernel set (known only with the iova_bitmap_set hook) */
	uint64_t page_size, length;
	int64_t ret;
	bool pages_known;
};

struct migration {
	uint64_t device_file; /* the device's struct file *: one migration per device file */
	char device[VFS_DEV_NAME]; /* its name (PCI address) */
	char comm[16];
	uint32_t pid;
	enum migration_role role;
	enum migration_outcome outcome;
	uint64_t start_ns, end_ns; /* first record; the record that ended it (0 under way) */

	struct migration_phase phases[MIGRATION_MAX_TRANSITIONS];
	unsigned int nphases; /* SETs seen, failed ones included */
	unsigned int transitions_lost; /* beyond MIGRATION_MAX_TRANSITIONS */

	struct migration_precopy precopy[MIGRATION_MAX_PRECOPY];
	unsigned int nprecopy;

	struct migration_sync *syncs; /* MIGRATION_MAX_SYNCS */
	unsigned int nsyncs;
	uint64_t log_start_ns, log_stop_ns, log_page_size;

	uint64_t data_size; /* last MIG_DATA_SIZE answer: the device's stop-copy estimate */
	uint64_t data_size_ns;
	unsigned int data_size_queries;

	uint64_t bytes; /* data-fd bytes moved, all phases (bytes_unseen included) */
	uint64_t bytes_unseen; /* moved in calls no hook saw, counted from the fd's position */
	uint64_t file_bytes; /* bytes counted on the current data fd (its position, as known) */
	unsigned int pos_checks; /* SETs that carried the data fd's position */
	unsigned int pos_behind; /* ... a position behind the bytes seen: the driver keeps none */
	uint64_t data_calls, data_ns, data_errors;
	uint64_t downtime_start_ns; /* source: left RUNNING/PRE_COPY (the SET's entry) */
	uint64_t last_stop_copy_byte_ns; /* source: exit of the last read returning data */
	uint64_t resuming_ns, running_ns; /* destination: RESUMING's entry, RUNNING's exit */
};

/* What follows from one migration's records. */
struct migration_summary {
	uint64_t duration_ns; /* start to end (or to the last record while under way) */
	bool downtime_known;
	uint64_t downtime_ns; /* the device's part of the pause (see docs/runbook.md) */
	uint64_t syncs, sync_errors;
	bool pages_known;
	uint64_t dirty_pages; /* all syncs */
	uint64_t sync_ns_total, sync_ns_max;
	double dirty_pages_per_s; /* pages the device dirtied per second between syncs */
	double dirty_bytes_per_s;
	double data_bytes_per_s; /* data-fd throughput: bytes / time inside the calls */
	bool growth_known;
	double state_growth_bytes_per_s; /* device state re-dirtied during precopy */
	int converges; /* 1 yes, 0 no, -1 cannot tell */
	uint64_t stop_copy_bytes; /* what stop-copy moves (seen) or would move (estimated) */
	bool stop_copy_estimated;
	double stop_copy_s; /* stop_copy_bytes at the observed throughput */
};

struct migrations;

int migrations__new(struct migrations **out);
void migrations__free(struct migrations *ms);
/* Take one record in. Returns 0, or -ENOMEM. */
int migrations__add(struct migrations *ms, const struct vfs_mig_event *ev);
size_t migrations__count(const struct migrations *ms);
const struct migration *migrations__get(const struct migrations *ms, size_t i);
/* Migrations that ended (completed, cancelled or failed). */
size_t migrations__finished(const struct migrations *ms);
/* Every record taken in, in order. */
const struct vfs_mig_event *migrations__events(const struct migrations *ms, size_t *n);
/* The first record's timestamp (0 none): timelines start there. */
uint64_t migrations__origin_ns(const struct migrations *ms);

void migration__summary(const struct migration *m, struct migration_summary *s);
/* The source/destination pair seen on this host: index of the destination joined to source
 * @i (its time span follows the source's start), or -1. */
int migrations__peer(const struct migrations *ms, size_t i);

/* "RUNNING", "STOP_COPY", ... ("?" for an unknown number) */
const char *migration_state_name(uint32_t state);
const char *migration_role_name(enum migration_role r);
const char *migration_outcome_name(enum migration_outcome o);

#endif
