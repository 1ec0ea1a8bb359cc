// SPDX-License-Identifier: GPL-2.0
/*
 * `vfioscope record -o FILE`: the session as a Chrome trace-event JSON file (the "JSON Object
 * Format": {"traceEvents": [...]}), which Perfetto's UI and chrome://tracing open. Per process:
 * one track per thread with its VFIO calls as complete ("X") slices; per device: a track with
 * its migration phases, a track with its data-fd calls, and counters ("C") for dirty pages per
 * sync, precopy initial/dirty bytes and data-fd bytes and throughput. Timestamps are
 * microseconds of the monotonic clock from the first record.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "migwatch.h"
#include "vfioscope/common/json.h"
#include "vfioscope/tracer/decode.h"

#define CMD "record"
#define RUN -1
/* device tracks: synthetic thread ids above any real one (pid_max <= 2^22) */
#define DEV_TID_BASE	     (1u << 24)
#define THROUGHPUT_WINDOW_NS 100000000ULL

static void usage(FILE *out)
{
	fprintf(out,
		"usage: vfioscope record -o FILE [--duration TIME] [--count N] [--mode MODE]\n"
		"\n"
		"Record VFIO calls and device migrations of every process on this host until\n"
		"Ctrl-C, --duration, or --count migrations finished, and write them as a Chrome\n"
		"trace-event JSON file for Perfetto's UI or chrome://tracing.\n"
		"\n"
		"  -o, --output FILE    where to write the trace ('-' for standard output)\n"
		"  -d, --duration TIME  stop after TIME (e.g. 30s, 5m)\n"
		"  -n, --count N        stop when N migrations have finished\n"
		"  -m, --mode MODE      the tracer's way in: fentry, kprobe, tp_btf, raw_tp\n");
}

struct rec_args {
	const char *out;
	struct migwatch w;
};

static int parse_args(int argc, char **argv, struct rec_args *a)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "duration", required_argument, NULL, 'd' },
		{ "count", required_argument, NULL, 'n' },
		{ "mode", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	int c, err = 0;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:d:n:m:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			a->out = optarg;
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
	if (!a->out || !a->out[0]) {
		fprintf(stderr, "vfioscope %s: no output file given (-o FILE)\n", CMD);
		return 2;
	}
	return RUN;
}

struct rec {
	struct json_writer *jw;
	uint64_t origin;
};

static double us(const struct rec *r, uint64_t ns)
{
	return ns > r->origin ? (double)(ns - r->origin) / 1e3 : 0;
}

static void ev_head(struct rec *r, const char *name, const char *ph, uint32_t pid, uint32_t tid,
		    uint64_t ts_ns)
{
	json_start_object(r->jw);
	json_kv_string(r->jw, "name", name);
	json_kv_string(r->jw, "ph", ph);
	json_name(r->jw, "ts");
	json_fixed(r->jw, us(r, ts_ns), 3); /* microseconds, to the nanosecond */
	json_kv_u64(r->jw, "pid", pid);
	json_kv_u64(r->jw, "tid", tid);
}

static void meta(struct rec *r, const char *what, uint32_t pid, uint32_t tid, const char *name)
{
	json_start_object(r->jw);
	json_kv_string(r->jw, "name", what);
	json_kv_string(r->jw, "ph", "M");
	json_kv_u64(r->jw, "pid", pid);
	json_kv_u64(r->jw, "tid", tid);
	json_name(r->jw, "args");
	json_start_object(r->jw);
	json_kv_string(r->jw, "name", name);
	json_end_object(r->jw);
	json_end_object(r->jw);
}

static void slice(struct rec *r, const char *name, uint32_t pid, uint32_t tid, uint64_t start_ns,
		  uint64_t dur_ns)
{
	ev_head(r, name, "X", pid, tid, start_ns);
	json_name(r->jw, "dur");
	json_fixed(r->jw, (double)dur_ns / 1e3, 3);
}

static void counter1(struct rec *r, const char *name, uint32_t pid, uint64_t ts, const char *k,
		     double v)
{
	ev_head(r, name, "C", pid, 0, ts);
	json_name(r->jw, "args");
	json_start_object(r->jw);
	json_name(r->jw, k);
	json_fixed(r->jw, v, 3);
	json_end_object(r->jw);
	json_end_object(r->jw);
}

/* Process and thread names, once each, for the calls' threads. */
static void name_threads(struct rec *r, const struct migwatch *w)
{
	for (size_t i = 0; i < w->ncalls; i++) {
		const struct migwatch_call *c = &w->calls[i];
		bool pid_seen = false, tid_seen = false;
		char name[64];

		for (size_t j = 0; j < i && !(pid_seen && tid_seen); j++) {
			pid_seen |= w->calls[j].pid == c->pid;
			tid_seen |= w->calls[j].tid == c->tid;
		}
		if (!pid_seen) {
			snprintf(name, sizeof(name), "%s (pid %u)", c->comm, c->pid);
			meta(r, "process_name", c->pid, 0, name);
		}
		if (!tid_seen) {
			snprintf(name, sizeof(name), "thread %u (VFIO calls)", c->tid);
			meta(r, "thread_name", c->pid, c->tid, name);
		}
	}
}

static void write_calls(struct rec *r, const struct migwatch *w)
{
	for (size_t i = 0; i < w->ncalls; i++) {
		const struct migwatch_call *c = &w->calls[i];

		slice(r, decode_op_name(c->op), c->pid, c->tid, c->ts_ns - c->latency_ns,
		      c->latency_ns);
		json_name(r->jw, "args");
		json_start_object(r->jw);
		json_kv_s64(r->jw, "ret", c->ret);
		if (c->device[0])
			json_kv_string(r->jw, "device", c->device);
		json_end_object(r->jw);
		json_end_object(r->jw);
	}
}

static void write_phases(struct rec *r, const struct migration *m, uint32_t tid, uint64_t last)
{
	for (unsigned int i = 0; i < m->nphases; i++) {
		const struct migration_phase *p = &m->phases[i];
		uint64_t end = p->end_ns ? p->end_ns : m->end_ns ? m->end_ns : last;

		if (p->ret || end < p->start_ns)
			continue;
		slice(r, migration_state_name(p->state), m->pid, tid, p->start_ns,
		      end - p->start_ns);
		json_name(r->jw, "args");
		json_start_object(r->jw);
		json_kv_u64(r->jw, "bytes", p->bytes);
		json_kv_u64(r->jw, "calls", p->calls);
		json_kv_string(r->jw, "role", migration_role_name(m->role));
		json_end_object(r->jw);
		json_end_object(r->jw);
	}
}

/* The data-fd calls of migration @m (records between its start and end, of its device). */
static void write_data(struct rec *r, const struct migrations *ms, const struct migration *m,
		       uint32_t tid)
{
	uint64_t end = m->end_ns ? m->end_ns : UINT64_MAX, total = 0, win_start = 0, win_bytes = 0,
		 last = 0;
	char cname[96], tname[96];
	size_t n;
	const struct vfs_mig_event *ev = migrations__events(ms, &n);

	snprintf(cname, sizeof(cname), "data-fd bytes %s", m->device);
	snprintf(tname, sizeof(tname), "data-fd MiB/s %s", m->device);
	for (size_t i = 0; i < n; i++) {
		const struct vfs_mig_event *e = &ev[i];

		if (e->device != m->device_file || e->ts_ns < m->start_ns || e->ts_ns > end)
			continue;
		if (e->type != VFS_MIG_READ && e->type != VFS_MIG_WRITE &&
		    e->type != VFS_MIG_PRECOPY_INFO)
			continue;
		slice(r,
		      e->type == VFS_MIG_READ  ? "read" :
		      e->type == VFS_MIG_WRITE ? "write" :
						 "PRECOPY_INFO",
		      m->pid, tid, e->ts_ns - e->latency_ns, e->latency_ns);
		json_name(r->jw, "args");
		json_start_object(r->jw);
		json_kv_s64(r->jw, "ret", e->ret);
		json_kv_string(r->jw, "state", migration_state_name(e->state));
		if (e->type == VFS_MIG_PRECOPY_INFO) {
			json_kv_u64(r->jw, "initial_bytes", e->a);
			json_kv_u64(r->jw, "dirty_bytes", e->b);
		}
		json_end_object(r->jw);
		json_end_object(r->jw);
		if (e->type == VFS_MIG_PRECOPY_INFO || e->ret <= 0)
			continue;
		total += e->ret;
		last = e->ts_ns;
		counter1(r, cname, m->pid, e->ts_ns, "bytes", (double)total);
		if (!win_start)
			win_start = e->ts_ns - e->latency_ns;
		win_bytes += e->ret;
		if (e->ts_ns - win_start >= THROUGHPUT_WINDOW_NS) {
			counter1(r, tname, m->pid, e->ts_ns, "MiB/s",
				 (double)win_bytes / (1 << 20) / ((e->ts_ns - win_start) / 1e9));
			win_start = e->ts_ns;
			win_bytes = 0;
		}
	}
	if (win_bytes) { /* the last window, however short */
		uint64_t t = last > win_start ? last : win_start + 1;

		counter1(r, tname, m->pid, t, "MiB/s",
			 (double)win_bytes / (1 << 20) / ((t - win_start) / 1e9));
	}
}

static void write_counters(struct rec *r, const struct migration *m)
{
	char name[96];

	snprintf(name, sizeof(name), "dirty pages %s", m->device);
	for (unsigned int i = 0; i < m->nsyncs; i++)
		if (m->syncs[i].pages_known && m->syncs[i].ret == 0)
			counter1(r, name, m->pid, m->syncs[i].ts_ns, "pages",
				 (double)m->syncs[i].pages);
	snprintf(name, sizeof(name), "precopy bytes %s", m->device);
	for (unsigned int i = 0; i < m->nprecopy; i++) {
		ev_head(r, name, "C", m->pid, 0, m->precopy[i].ts_ns);
		json_name(r->jw, "args");
		json_start_object(r->jw);
		json_kv_u64(r->jw, "initial", m->precopy[i].initial_bytes);
		json_kv_u64(r->jw, "dirty", m->precopy[i].dirty_bytes);
		json_end_object(r->jw);
		json_end_object(r->jw);
	}
}

static void write_migrations(struct rec *r, const struct migwatch *w, uint64_t last)
{
	for (size_t i = 0; i < migrations__count(w->ms); i++) {
		const struct migration *m = migrations__get(w->ms, i);
		uint32_t tid = DEV_TID_BASE + 2 * i;
		char name[96];

		snprintf(name, sizeof(name), "%s (pid %u)", m->comm, m->pid);
		meta(r, "process_name", m->pid, 0, name);
		snprintf(name, sizeof(name), "device %s: %s phases", m->device,
			 migration_role_name(m->role));
		meta(r, "thread_name", m->pid, tid, name);
		snprintf(name, sizeof(name), "device %s: data fd", m->device);
		meta(r, "thread_name", m->pid, tid + 1, name);
		write_phases(r, m, tid, last);
		write_data(r, w->ms, m, tid + 1);
		write_counters(r, m);
	}
}

static int write_trace(const struct migwatch *w, FILE *f)
{
	struct rec r = { .jw = json_writer__new(f) };
	uint64_t last = 0;
	size_t n;
	const struct vfs_mig_event *ev = migrations__events(w->ms, &n);

	if (!r.jw)
		return -ENOMEM;
	r.origin = migrations__origin_ns(w->ms);
	for (size_t i = 0; i < w->ncalls; i++) {
		uint64_t s = w->calls[i].ts_ns - w->calls[i].latency_ns;

		if (!r.origin || s < r.origin)
			r.origin = s;
	}
	if (n)
		last = ev[n - 1].ts_ns;
	if (w->ncalls && w->calls[w->ncalls - 1].ts_ns > last)
		last = w->calls[w->ncalls - 1].ts_ns;
	json_start_object(r.jw);
	json_kv_string(r.jw, "displayTimeUnit", "ms");
	json_name(r.jw, "otherData");
	json_start_object(r.jw);
	json_kv_string(r.jw, "producer", "vfioscope record " VFIOSCOPE_VERSION);
	json_kv_string(r.jw, "tracer", w->tracer_mode);
	json_kv_u64(r.jw, "origin_mono_ns", r.origin);
	json_kv_u64(r.jw, "lost", w->lost);
	json_end_object(r.jw);
	json_name(r.jw, "traceEvents");
	json_start_array(r.jw);
	name_threads(&r, w);
	write_calls(&r, w);
	write_migrations(&r, w, last);
	json_end_array(r.jw);
	json_end_object(r.jw);
	fputc('\n', f);
	json_writer__free(r.jw);
	return 0;
}

int cmd_record(int argc, char **argv)
{
	struct rec_args a = { .w = { .cmd = CMD, .keep_calls = true } };
	FILE *f;
	int err = parse_args(argc, argv, &a);

	if (err != RUN)
		return err;
	f = strcmp(a.out, "-") ? fopen(a.out, "w") : stdout;
	if (!f) {
		fprintf(stderr, "vfioscope %s: failed to open %s: %s\n", CMD, a.out,
			strerror(errno));
		return 1;
	}
	err = migwatch_run(&a.w);
	if (a.w.ms) {
		int werr = write_trace(&a.w, f);

		if (!err)
			err = werr;
		fprintf(stderr,
			"vfioscope %s: wrote %zu VFIO calls and %zu device migrations to %s\n", CMD,
			a.w.ncalls, migrations__count(a.w.ms), a.out);
	}
	if (f != stdout && fclose(f) && !err) {
		fprintf(stderr, "vfioscope %s: failed to write %s: %s\n", CMD, a.out,
			strerror(errno));
		err = -EIO;
	}
	migwatch_free(&a.w);
	return err ? 1 : 0;
}
