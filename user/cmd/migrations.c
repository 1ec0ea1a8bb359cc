// SPDX-License-Identifier: GPL-2.0
/*
 * `vfioscope migrations`: watch device migrations (until Ctrl-C, --duration or --count
 * finished) and print each one seen, source or destination, as a table or JSON: phases with
 * start, duration and bytes, precopy answers, dirty syncs and the device's dirty rate, the
 * device's part of the downtime and a convergence estimate; a source and a destination seen on
 * this host are joined into one end-to-end line. Plain and JSON printers side by side.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "migwatch.h"
#include "vfioscope/common/json.h"

#define CMD "migrations"
#define RUN -1

static void usage(FILE *out)
{
	fprintf(out,
		"usage: vfioscope migrations [--json] [--duration TIME] [--count N] [--mode MODE]\n"
		"\n"
		"Watch VFIO device migrations of every process on this host and, when done (Ctrl-C,\n"
		"--duration, or --count migrations finished), print each device migration seen:\n"
		"its phases (device states) with start, duration and data-fd bytes, the precopy\n"
		"answers, the dirty syncs and the device's dirty rate, the device's part of the\n"
		"downtime and whether precopy can converge. A source and a destination on this host\n"
		"are joined into one end-to-end view.\n"
		"\n"
		"  -j, --json           one JSON document\n"
		"  -d, --duration TIME  stop after TIME (e.g. 30s, 5m)\n"
		"  -n, --count N        stop when N migrations have finished (source and destination\n"
		"                       each count)\n"
		"  -m, --mode MODE      the tracer's way in: fentry, kprobe, tp_btf, raw_tp\n");
}

struct mig_args {
	bool json;
	struct migwatch w;
};

static int parse_args(int argc, char **argv, struct mig_args *a)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "duration", required_argument, NULL, 'd' },
		{ "count", required_argument, NULL, 'n' },
		{ "mode", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	int c, err = 0;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":jd:n:m:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			a->json = true;
			break;
		case 'd':
		case 'n':
		case 'm':
			err = migwatch_option(CMD, c, optarg, &a->w);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return bad_usage(CMD, c, argv);
		}
		if (err)
			return err;
	}
	if (optind < argc)
		return stray_argument(CMD, argv[optind]);
	return RUN;
}

static double msec(uint64_t ns)
{
	return (double)ns / 1e6;
}

static const char *converges_word(int c)
{
	return c > 0 ? "yes" : c == 0 ? "no" : "cannot tell";
}

/* ---- plain ---- */

static void print_phases(const struct migration *m, uint64_t origin)
{
	printf("  %-13s %11s %12s %12s %7s %9s %s\n", "phase", "start ms", "duration ms", "bytes",
	       "calls", "SET us", "result");
	for (unsigned int i = 0; i < m->nphases; i++) {
		const struct migration_phase *p = &m->phases[i];
		uint64_t end = p->end_ns ? p->end_ns : m->end_ns;
		char dur[32] = "-";

		if (p->ret == 0 && end >= p->start_ns)
			snprintf(dur, sizeof(dur), "%.3f", msec(end - p->start_ns));
		printf("  %-13s %11.3f %12s %12" PRIu64 " %7" PRIu64 " %9.1f %s\n",
		       migration_state_name(p->state), msec(p->start_ns - origin), dur, p->bytes,
		       p->calls, (double)p->set_latency_ns / 1e3,
		       p->ret	       ? strerror((int)-p->ret) :
		       p->data_fd >= 0 ? "ok, data fd" :
					 "ok");
	}
}

static void print_one(const struct migration *m, uint64_t origin)
{
	struct migration_summary s;

	migration__summary(m, &s);
	printf("device %s  %s  %s pid %u  %s  %.3f ms\n", m->device[0] ? m->device : "?",
	       migration_role_name(m->role), m->comm, m->pid, migration_outcome_name(m->outcome),
	       msec(s.duration_ns));
	print_phases(m, origin);
	printf("  data fd: %" PRIu64 " bytes in %" PRIu64 " calls (%" PRIu64
	       " failed), %.1f MiB/s\n",
	       m->bytes, m->data_calls, m->data_errors, s.data_bytes_per_s / (1 << 20));
	if (m->bytes_unseen)
		printf("  data fd: %" PRIu64 " of those bytes moved in calls not seen (counted from"
		       " the data fd's position)\n",
		       m->bytes_unseen);
	if (m->pos_behind)
		printf("  data fd: the driver keeps no stream position: bytes moved in calls not seen"
		       " are not counted\n");
	if (m->nprecopy) {
		const struct migration_precopy *a = &m->precopy[0],
					       *b = &m->precopy[m->nprecopy - 1];

		printf("  precopy: %u answers; initial %" PRIu64 " -> %" PRIu64
		       " bytes, dirty %" PRIu64 " -> %" PRIu64 " bytes\n",
		       m->nprecopy, a->initial_bytes, b->initial_bytes, a->dirty_bytes,
		       b->dirty_bytes);
	}
	if (m->data_size_queries)
		printf("  stop-copy size (MIG_DATA_SIZE): %" PRIu64 " bytes, %u queries\n",
		       m->data_size, m->data_size_queries);
	if (s.syncs || s.sync_errors) {
		printf("  dirty syncs: %" PRIu64 " (%" PRIu64 " failed), ", s.syncs, s.sync_errors);
		if (s.pages_known)
			printf("%" PRIu64 " pages, ", s.dirty_pages);
		else
			printf("pages unknown (no iova_bitmap_set hook), ");
		printf("%.3f ms total, %.3f ms max\n", msec(s.sync_ns_total), msec(s.sync_ns_max));
		if (s.pages_known)
			printf("  device dirty rate: %.1f pages/s (%.1f KiB/s)\n",
			       s.dirty_pages_per_s, s.dirty_bytes_per_s / 1024);
	}
	if (s.downtime_known)
		printf("  downtime part: %.3f ms (%s)\n", msec(s.downtime_ns),
		       m->role == MIGRATION_SOURCE ?
			       "left RUNNING/PRE_COPY -> last STOP_COPY byte" :
			       "RESUMING -> RUNNING");
	else
		printf("  downtime part: not seen\n");
	printf("  convergence: %s", converges_word(s.converges));
	if (s.growth_known)
		printf(" (state grows %.1f KiB/s, data fd moves %.1f KiB/s)",
		       s.state_growth_bytes_per_s / 1024, s.data_bytes_per_s / 1024);
	printf("; stop-copy %s %" PRIu64 " bytes", s.stop_copy_estimated ? "would move" : "moved",
	       s.stop_copy_bytes);
	if (s.stop_copy_s > 0)
		printf(" (%.3f ms at the observed throughput)", s.stop_copy_s * 1e3);
	printf("\n");
}

static void print_end_to_end(const struct migrations *ms)
{
	for (size_t i = 0; i < migrations__count(ms); i++) {
		int j = migrations__peer(ms, i);
		const struct migration *src = migrations__get(ms, i), *dst;
		struct migration_summary ss, ds;

		if (j < 0)
			continue;
		dst = migrations__get(ms, j);
		migration__summary(src, &ss);
		migration__summary(dst, &ds);
		printf("end to end: %s (pid %u) -> %s (pid %u): %" PRIu64 " bytes read, %" PRIu64
		       " written%s",
		       src->device, src->pid, dst->device, dst->pid, src->bytes, dst->bytes,
		       src->bytes == dst->bytes ? " (equal)" : " (DIFFER)");
		if (src->downtime_start_ns && dst->running_ns > src->downtime_start_ns)
			printf("; device pause %.3f ms from the source leaving RUNNING to the "
			       "destination RUNNING",
			       msec(dst->running_ns - src->downtime_start_ns));
		printf("\n");
	}
}

static void print_plain(const struct migwatch *w)
{
	uint64_t origin = migrations__origin_ns(w->ms);

	if (!migrations__count(w->ms)) {
		printf("no device migration seen\n");
		return;
	}
	for (size_t i = 0; i < migrations__count(w->ms); i++) {
		print_one(migrations__get(w->ms, i), origin);
		printf("\n");
	}
	print_end_to_end(w->ms);
}

/* ---- JSON ---- */

static void json_phases(struct json_writer *jw, const struct migration *m, uint64_t origin)
{
	json_name(jw, "phases");
	json_start_array(jw);
	for (unsigned int i = 0; i < m->nphases; i++) {
		const struct migration_phase *p = &m->phases[i];
		uint64_t end = p->end_ns ? p->end_ns : m->end_ns;

		json_start_object(jw);
		json_kv_string(jw, "state", migration_state_name(p->state));
		json_kv_string(jw, "from",
			       p->prev_state == VFS_MIG_STATE_UNKNOWN ?
				       "?" :
				       migration_state_name(p->prev_state));
		json_kv_u64(jw, "start_ns", p->start_ns - origin);
		json_name(jw, "duration_ns");
		if (p->ret == 0 && end >= p->start_ns)
			json_u64(jw, end - p->start_ns);
		else
			json_null(jw);
		json_kv_s64(jw, "ret", p->ret);
		json_kv_u64(jw, "set_latency_ns", p->set_latency_ns);
		json_kv_s64(jw, "data_fd", p->data_fd);
		json_kv_u64(jw, "bytes", p->bytes);
		json_kv_u64(jw, "bytes_unseen", p->bytes_unseen);
		json_kv_u64(jw, "calls", p->calls);
		json_kv_u64(jw, "call_ns", p->call_ns);
		json_end_object(jw);
	}
	json_end_array(jw);
}

static void json_precopy_syncs(struct json_writer *jw, const struct migration *m,
			       const struct migration_summary *s, uint64_t origin)
{
	json_name(jw, "precopy");
	json_start_array(jw);
	for (unsigned int i = 0; i < m->nprecopy; i++) {
		json_start_object(jw);
		json_kv_u64(jw, "t_ns", m->precopy[i].ts_ns - origin);
		json_kv_u64(jw, "initial_bytes", m->precopy[i].initial_bytes);
		json_kv_u64(jw, "dirty_bytes", m->precopy[i].dirty_bytes);
		json_kv_u64(jw, "bytes_before", m->precopy[i].bytes_before);
		json_end_object(jw);
	}
	json_end_array(jw);
	json_name(jw, "syncs");
	json_start_object(jw);
	json_kv_u64(jw, "count", s->syncs);
	json_kv_u64(jw, "errors", s->sync_errors);
	json_kv_bool(jw, "pages_known", s->pages_known);
	json_kv_u64(jw, "pages", s->dirty_pages);
	json_kv_u64(jw, "total_ns", s->sync_ns_total);
	json_kv_u64(jw, "max_ns", s->sync_ns_max);
	json_kv_u64(jw, "page_size", m->log_page_size);
	json_name(jw, "list");
	json_start_array(jw);
	for (unsigned int i = 0; i < m->nsyncs; i++) {
		json_start_object(jw);
		json_kv_u64(jw, "t_ns", m->syncs[i].ts_ns - origin);
		json_kv_u64(jw, "latency_ns", m->syncs[i].latency_ns);
		json_kv_s64(jw, "ret", m->syncs[i].ret);
		json_name(jw, "pages");
		if (m->syncs[i].pages_known)
			json_u64(jw, m->syncs[i].pages);
		else
			json_null(jw);
		json_end_object(jw);
	}
	json_end_array(jw);
	json_end_object(jw);
	json_kv_double(jw, "dirty_pages_per_s", s->dirty_pages_per_s);
	json_kv_double(jw, "dirty_bytes_per_s", s->dirty_bytes_per_s);
}

static void json_one(struct json_writer *jw, const struct migration *m, uint64_t origin)
{
	struct migration_summary s;

	migration__summary(m, &s);
	json_start_object(jw);
	json_kv_string(jw, "device", m->device);
	json_kv_string(jw, "role", migration_role_name(m->role));
	json_kv_string(jw, "outcome", migration_outcome_name(m->outcome));
	json_kv_u64(jw, "pid", m->pid);
	json_kv_string(jw, "comm", m->comm);
	json_kv_u64(jw, "start_ns", m->start_ns - origin);
	json_kv_u64(jw, "duration_ns", s.duration_ns);
	json_kv_u64(jw, "bytes", m->bytes);
	json_phases(jw, m, origin);
	json_precopy_syncs(jw, m, &s, origin);
	json_name(jw, "data_size");
	json_start_object(jw);
	json_kv_u64(jw, "queries", m->data_size_queries);
	json_kv_u64(jw, "last_bytes", m->data_size);
	json_end_object(jw);
	json_name(jw, "data_fd");
	json_start_object(jw);
	json_kv_u64(jw, "bytes", m->bytes);
	json_kv_u64(jw, "bytes_unseen", m->bytes_unseen);
	json_kv_u64(jw, "position_checks", m->pos_checks);
	json_kv_u64(jw, "position_behind", m->pos_behind);
	json_kv_u64(jw, "calls", m->data_calls);
	json_kv_u64(jw, "errors", m->data_errors);
	json_kv_u64(jw, "call_ns", m->data_ns);
	json_kv_double(jw, "bytes_per_s", s.data_bytes_per_s);
	json_end_object(jw);
	json_name(jw, "downtime_ns");
	if (s.downtime_known)
		json_u64(jw, s.downtime_ns);
	else
		json_null(jw);
	json_name(jw, "convergence");
	json_start_object(jw);
	json_name(jw, "converges");
	if (s.converges < 0)
		json_null(jw);
	else
		json_bool(jw, s.converges);
	json_name(jw, "state_growth_bytes_per_s");
	if (s.growth_known)
		json_double(jw, s.state_growth_bytes_per_s);
	else
		json_null(jw);
	json_kv_u64(jw, "stop_copy_bytes", s.stop_copy_bytes);
	json_kv_bool(jw, "stop_copy_estimated", s.stop_copy_estimated);
	json_kv_double(jw, "stop_copy_s", s.stop_copy_s);
	json_end_object(jw);
	json_end_object(jw);
}

static void print_json(const struct migwatch *w)
{
	struct json_writer *jw = json_writer__new(stdout);
	uint64_t origin = migrations__origin_ns(w->ms);

	if (!jw)
		return;
	json_start_object(jw);
	json_kv_string(jw, "tracer", w->tracer_mode);
	json_kv_u64(jw, "origin_mono_ns", origin);
	json_kv_u64(jw, "lost", w->lost);
	json_kv_u64(jw, "data_fd_hook_attaches", w->hook_attaches);
	json_name(jw, "migrations");
	json_start_array(jw);
	for (size_t i = 0; i < migrations__count(w->ms); i++)
		json_one(jw, migrations__get(w->ms, i), origin);
	json_end_array(jw);
	json_name(jw, "end_to_end");
	json_start_array(jw);
	for (size_t i = 0; i < migrations__count(w->ms); i++) {
		int j = migrations__peer(w->ms, i);
		const struct migration *src = migrations__get(w->ms, i), *dst;

		if (j < 0)
			continue;
		dst = migrations__get(w->ms, j);
		json_start_object(jw);
		json_kv_u64(jw, "source", i);
		json_kv_u64(jw, "destination", j);
		json_kv_u64(jw, "bytes_read", src->bytes);
		json_kv_u64(jw, "bytes_written", dst->bytes);
		json_name(jw, "pause_ns");
		if (src->downtime_start_ns && dst->running_ns > src->downtime_start_ns)
			json_u64(jw, dst->running_ns - src->downtime_start_ns);
		else
			json_null(jw);
		json_end_object(jw);
	}
	json_end_array(jw);
	json_end_object(jw);
	fputc('\n', stdout);
	json_writer__free(jw);
}

int cmd_migrations(int argc, char **argv)
{
	struct mig_args a = { .w = { .cmd = CMD } };
	int err = parse_args(argc, argv, &a);

	if (err != RUN)
		return err;
	err = migwatch_run(&a.w);
	if (a.w.ms) {
		if (a.json)
			print_json(&a.w);
		else
			print_plain(&a.w);
	}
	if (a.w.lost)
		fprintf(stderr, "vfioscope %s: %" PRIu64 " records lost: the view is incomplete\n",
			CMD, a.w.lost);
	migwatch_free(&a.w);
	return err ? 1 : 0;
}
