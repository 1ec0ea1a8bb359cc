// SPDX-License-Identifier: GPL-2.0
/*
 * vfioscope serve: the exporter. Privileged steps first (load and attach the tracer, open
 * devices for a tracker, bind the socket), then every capability not asked for is dropped,
 * then the threads start (capabilities are per thread) and metrics are served until a signal
 * or --duration.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "serve.h"
#include "serve_migrations.h"
#include "testaid.h"
#include "track_session.h"
#include "vfioscope/common/clock.h"
#include "vfioscope/common/log.h"
#include "vfioscope/exporter/http.h"
#include "vfioscope/exporter/metrics.h"
#include "vfioscope/exporter/privs.h"
#include "vfioscope/exporter/vfio_metrics.h"

/* The landing page, embedded by user/lib/landing_page.c from web/landing.html. */
extern const char vfioscope_landing_html[];
extern const unsigned int vfioscope_landing_html_len;

static void serve_usage(FILE *out)
{
	fprintf(out,
		"usage: vfioscope serve [options] [--track -- TRACK OPTIONS]\n\n"
		"Serves vfioscope's metrics over HTTP: /metrics (Prometheus text, or OpenMetrics\n"
		"when the scraper asks for it), /healthz and a live landing page at /.\n\n"
		"  --listen ADDR:PORT      address to listen on (default %s); loopback only\n"
		"                          unless --allow-remote\n"
		"  --allow-remote          permit a non-loopback address (put TLS/auth in front)\n"
		"  --port-file FILE        write the bound port to FILE (with port 0)\n"
		"  --duration TIME         stop after TIME (seconds, or 500ms, 2m; default: until\n"
		"                          SIGINT/SIGTERM)\n"
		"  --keep-caps LIST        capabilities kept after setup (default none)\n"
		"  --max-conns N           concurrent connections (default 64, 1..4096)\n"
		"  --max-conns-per-ip N    concurrent connections from one address (default 16,\n"
		"                          1..4096): slow or abusive clients cannot take every\n"
		"                          connection from the scraper\n"
		"  --http-timeout SECONDS  idle connection timeout (default 10)\n"
		"  --no-tracer             do not load the BPF tracer (builds with one load it)\n"
		"  --tracer-mode MODE      force the tracer's way in: fentry, kprobe, tp_btf, raw_tp\n"
		"  --ringbuf-size SIZE     the tracer's ring buffer (a power of two from the page\n"
		"                          size to 1G; default 1M); a full one loses records,\n"
		"                          counted in vfioscope_events_lost_total\n"
		"  --max-mappings N        DMA mappings the tracer's state holds (default 16384,\n"
		"                          at most 4194304); a container with more is incomplete\n"
		"  --simulate N            TEST AID: feed N synthetic containers (synthetic-0..),\n"
		"                          made up, not observed (1..1024)\n"
		"  --simulate-interval MS  test aid simulator step (default 1000, at least 10)\n"
		"  --strict                fail when a source fails to start (default: report it\n"
		"                          in /healthz and keep serving the others)\n"
		"  --track                 also track dirty pages in-process, as `vfioscope track`\n"
		"                          does with the TRACK OPTIONS after --, and export its\n"
		"                          syncs as container \"track\"; serve exits 1 if it fails\n"
		"  --summary               print a summary of what was observed at exit\n"
		"  --list-metrics          print every metric family (name type labels) and exit\n"
		"\nTRACK OPTIONS:\n",
		HTTP_DEFAULT_LISTEN);
	track_options_usage(out);
}

static int write_port_file(const char *path, int port)
{
	char tmp[PATH_MAX];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fprintf(f, "%d\n", port);
	if (fclose(f) || rename(tmp, path))
		return -errno;
	return 0;
}

static int sim_setup(struct serve *s, struct serve_source *src)
{
	pr_warn("SIMULATOR: serving %d synthetic containers (synthetic-0..), not real data",
		s->sim_containers);
	return testaid_simulate(&s->vm, s->sim_containers, s->sim_step++);
}

static int sim_step(struct serve *s, struct serve_source *src)
{
	return testaid_simulate(&s->vm, s->sim_containers, s->sim_step++);
}

/*
 * The sources, in setup order: the BPF tracer (serve_tracer.c: loaded and attached in setup, a
 * collector reads its maps per scrape, the main loop drains its ring buffer), the simulator,
 * the tracker (serve_track.c: track's session in-process, one sync per step).
 */
static struct serve_source sources[] = {
	{ "tracer", serve_tracer_setup, NULL, serve_tracer_step, serve_tracer_stop,
	  .step_ms = 100 },
	{ "simulator", sim_setup, NULL, sim_step, NULL, .step_ms = 1000 },
	{ "tracker", serve_track_setup, NULL, serve_track_step, serve_track_stop, .step_ms = 100 },
};
#define NSOURCES (sizeof(sources) / sizeof(sources[0]))

static struct serve_source *source(const char *name)
{
	for (size_t i = 0; i < NSOURCES; i++)
		if (!strcmp(sources[i].name, name))
			return &sources[i];
	return NULL;
}

static int health(void *ctx, char *msg, size_t len)
{
	for (size_t i = 0; i < NSOURCES; i++) {
		if (sources[i].enabled && sources[i].failed) {
			snprintf(msg, len, "source %s failed", sources[i].name);
			return -EIO;
		}
	}
	return 0;
}

/* Waits for SIGINT/SIGTERM (blocked in every thread) for up to @ms. Returns true on a signal. */
static bool wait_signal(const sigset_t *set, long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	return sigtimedwait(set, NULL, &ts) > 0;
}

static void print_bytes(FILE *out, double v)
{
	const char *unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int i = 0;

	while (v >= 1024 && i < 4) {
		v /= 1024;
		i++;
	}
	fprintf(out, i ? "%.1f %s" : "%.0f %s", v, unit[i]);
}

static void print_secs(FILE *out, double v)
{
	if (isnan(v))
		fprintf(out, "-");
	else if (v < 1e-3)
		fprintf(out, "%.0f us", v * 1e6);
	else if (v < 1)
		fprintf(out, "%.2f ms", v * 1e3);
	else
		fprintf(out, "%.2f s", v);
}

struct summary_ctx {
	struct serve *s;
	FILE *out;
	int lost_said; /* reasons with a loss printed so far */
};

static int summary_sync(void *ctx, const char *const *v, struct metric_series *hist)
{
	struct summary_ctx *c = ctx;
	struct vfio_metrics *vm = &c->s->vm;
	struct metric_hist_snapshot snap;
	const char *ranges[] = { "32bit", "64bit" };

	metric_series__hist_snapshot(hist, &snap);
	fprintf(c->out, "container %s: method %s, %llu syncs, %.0f dirty pages\n", v[0], v[1],
		(unsigned long long)snap.count,
		metric_series__value(metric_family__with(vm->dirty_pages, v[0], v[1])));
	fprintf(c->out, "  sync latency: p50 ");
	print_secs(c->out, metric_series__quantile(hist, 0.5));
	fprintf(c->out, ", p90 ");
	print_secs(c->out, metric_series__quantile(hist, 0.9));
	fprintf(c->out, ", p99 ");
	print_secs(c->out, metric_series__quantile(hist, 0.99));
	fprintf(c->out, ", mean ");
	print_secs(c->out, snap.count ? snap.sum / snap.count : NAN);
	fprintf(c->out, " (bucket estimates, like histogram_quantile)\n  tracked: ");
	print_bytes(c->out, metric_series__value(metric_family__with(vm->tracked_bytes, v[0])));
	for (int i = 0; i < 2; i++) {
		const char *key[] = { v[0], ranges[i] };
		struct metric_series *a, *b;

		if (!metric_family__nseries(vm->range_start))
			break;
		a = metric_family__series(vm->range_start, key);
		b = metric_family__series(vm->range_end, key);
		if (metric_series__value(b) > metric_series__value(a))
			fprintf(c->out, ", %s 0x%llx-0x%llx", ranges[i],
				(unsigned long long)metric_series__value(a),
				(unsigned long long)metric_series__value(b));
		else /* it was created by this lookup: forget it again */
			metric_family__remove(vm->range_start, key),
				metric_family__remove(vm->range_end, key);
	}
	fprintf(c->out, "\n");
	return 0;
}

static int summary_bitmap(void *ctx, const char *const *v, struct metric_series *hist)
{
	struct summary_ctx *c = ctx;
	struct metric_hist_snapshot snap;

	metric_series__hist_snapshot(hist, &snap);
	if (!snap.count)
		return 0;
	fprintf(c->out, "bitmaps (%s): %llu handed to the kernel, mean ", v[0],
		(unsigned long long)snap.count);
	print_bytes(c->out, snap.sum / snap.count);
	fprintf(c->out, ", p50 ");
	print_bytes(c->out, metric_series__quantile(hist, 0.5));
	fprintf(c->out, ", p99 ");
	print_bytes(c->out, metric_series__quantile(hist, 0.99));
	fprintf(c->out, "\n");
	return 0;
}

static int summary_mapped(void *ctx, const char *const *v, struct metric_series *g)
{
	struct summary_ctx *c = ctx;

	fprintf(c->out, "container %s: ", v[0]);
	print_bytes(c->out, metric_series__value(g));
	fprintf(c->out, " DMA-mapped\n");
	return 0;
}

/* Each reason with a loss, as " 3 (ring_buffer_full)"; returns 0 so every series is seen. */
static int summary_lost(void *ctx, const char *const *v, struct metric_series *ser)
{
	struct summary_ctx *c = ctx;
	double n = metric_series__value(ser);

	if (n > 0)
		fprintf(c->out, "%s %.0f (%s)", c->lost_said++ ? "," : "", n, v[0]);
	return 0;
}

/* What the sources observed, for a person at the end of a run (make demo). */
static void print_summary(struct serve *s, FILE *out)
{
	struct summary_ctx c = { s, out, 0 };

	fprintf(out, "== vfioscope serve summary ==\n");
	metric_family__each(s->vm.mapped_bytes, summary_mapped, &c);
	metric_family__each(s->vm.sync_duration, summary_sync, &c);
	metric_family__each(s->vm.bitmap_bytes, summary_bitmap, &c);
	if (!metric_family__nseries(s->vm.sync_duration))
		fprintf(out, "no dirty sync observed\n");
	fprintf(out, "events lost:");
	metric_family__each(s->vm.events_lost, summary_lost, &c);
	if (!c.lost_said)
		fprintf(out, " none");
	fprintf(out, "\n");
}

struct serve_opts {
	struct http_server_opts hopts;
	const char *port_file;
	uint64_t duration_ns; /* 0: until a signal */
	uint64_t keep_caps;
	bool list, strict, track, summary, no_tracer;
};

static const struct option serve_opts[] = {
	{ "listen", required_argument, NULL, 'l' },
	{ "allow-remote", no_argument, NULL, 'R' },
	{ "port-file", required_argument, NULL, 'p' },
	{ "duration", required_argument, NULL, 'd' },
	{ "keep-caps", required_argument, NULL, 'k' },
	{ "max-conns", required_argument, NULL, 'c' },
	{ "max-conns-per-ip", required_argument, NULL, 'I' },
	{ "http-timeout", required_argument, NULL, 't' },
	{ "simulate", required_argument, NULL, 's' },
	{ "simulate-interval", required_argument, NULL, 'i' },
	{ "list-metrics", no_argument, NULL, 'L' },
	{ "strict", no_argument, NULL, 'S' },
	{ "track", no_argument, NULL, 'T' },
	{ "no-tracer", no_argument, NULL, 'N' },
	{ "tracer-mode", required_argument, NULL, 'M' },
	{ "ringbuf-size", required_argument, NULL, 'B' },
	{ "max-mappings", required_argument, NULL, 'X' },
	{ "summary", no_argument, NULL, 'U' },
	{ "help", no_argument, NULL, 'h' },
	{},
};

static int parse_tracer_mode(struct serve *s, const char *v)
{
	static const char *const modes[] = { "fentry", "kprobe", "tp_btf", "raw_tp" };

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (!strcmp(v, modes[i])) {
			s->tracer_mode = modes[i];
			return 0;
		}
	}
	return bad_option("serve", "--tracer-mode", v, "not fentry, kprobe, tp_btf or raw_tp");
}

/* One option with a value: 0, or 2 after its one-line message. */
static int parse_value(struct serve *s, struct serve_opts *o, int c, const char *v)
{
	const uint64_t week_ns = 7 * 24 * 3600ULL * 1000000000ULL;
	unsigned int *sim_ms = &source("simulator")->step_ms;
	int n = 0, err;

	switch (c) {
	case 'l':
		o->hopts.listen = v;
		return 0;
	case 'p':
		o->port_file = v;
		return 0;
	case 'd':
		return opt_duration_ns("serve", "--duration", v, 1000000, week_ns, &o->duration_ns);
	case 'k':
		if (privs_parse(v, &o->keep_caps))
			return bad_option("serve", "--keep-caps", v, "unknown capability");
		return 0;
	case 'c':
		err = opt_int("serve", "--max-conns", v, 1, 4096, &n);
		o->hopts.max_conns = n;
		return err;
	case 'I':
		err = opt_int("serve", "--max-conns-per-ip", v, 1, 4096, &n);
		o->hopts.max_conns_per_ip = n;
		return err;
	case 't':
		err = opt_int("serve", "--http-timeout", v, 1, 3600, &n);
		o->hopts.timeout_s = n;
		return err;
	case 's':
		return opt_int("serve", "--simulate", v, 1, 1024, &s->sim_containers);
	case 'i':
		err = opt_int("serve", "--simulate-interval", v, 10, 3600 * 1000, &n);
		*sim_ms = n;
		return err;
	case 'M':
		return parse_tracer_mode(s, v);
	case 'B':
		return opt_ringbuf_size("serve", v, &s->ringbuf_size);
	case 'X':
		return opt_max_mappings("serve", v, &s->max_mappings);
	}
	return 2;
}

static int parse_flag(struct serve_opts *o, int c)
{
	switch (c) {
	case 'R':
		o->hopts.allow_remote = true;
		return 0;
	case 'S':
		o->strict = true;
		return 0;
	case 'T':
		o->track = true;
		return 0;
	case 'N':
		o->no_tracer = true;
		return 0;
	case 'U':
		o->summary = true;
		return 0;
	case 'L':
		o->list = true;
		return 0;
	}
	return 1;
}

/* Returns 0, 2 after one line about a usage error, or -1 for --help. */
static int serve_parse(struct serve *s, struct serve_opts *o, int argc, char **argv)
{
	int c;

	optind = 1;
	opterr = 0; /* one line per mistake, ours */
	while ((c = getopt_long(argc, argv, ":h", serve_opts, NULL)) != -1) {
		if (c == 'h')
			return -1;
		if (c == '?' || c == ':')
			return bad_option("serve", "option", argv[optind - 1],
					  c == ':' ? "needs a value" : "unknown option");
		if (parse_flag(o, c) && parse_value(s, o, c, optarg))
			return 2;
	}
	if (!o->track) {
		if (optind < argc)
			return bad_option("serve", "argument", argv[optind],
					  "unexpected (track options go after --track --)");
		return 0;
	}
	/* The track options after --: argv[optind - 1] stands in for argv[0]. */
	return serve_track_parse(argc - optind + 1, argv + optind - 1);
}

static int list_metrics(struct serve *s)
{
	char *text;
	int err;

	err = metrics_registry__list(s->reg, &text, NULL);
	if (err)
		return err;
	fputs(text, stdout);
	free(text);
	return 0;
}

/*
 * Privileged steps: the tracer (CAP_BPF + CAP_PERFMON to load and attach; CAP_SYS_ADMIN only
 * for module BTF by id), the tracker (opens /dev/vfio or /dev/iommu, pins memory, starts
 * tracking). A source that fails is marked and the rest go on, unless --strict.
 */
static int setup_sources(struct serve *s, const struct serve_opts *o)
{
	struct serve_source *track = source("tracker");
	int err;

	source("simulator")->enabled = s->sim_containers > 0;
	track->enabled = o->track;
	if (o->track)
		track->step_ms = serve_track_step_ms();
	source("tracer")->enabled = serve_have_tracer && !o->no_tracer;
	for (size_t i = 0; i < NSOURCES; i++) {
		struct serve_source *src = &sources[i];

		if (!src->enabled || !src->setup)
			continue;
		err = src->setup(s, src);
		if (err) {
			pr_err("failed to start source %s: %s", src->name, strerror(-err));
			src->failed = true;
			if (o->strict)
				return err;
		}
	}
	return 0;
}

/* Binds, drops every capability not asked for, then starts the sources and the server. */
static int start_serving(struct serve *s, struct serve_opts *o, sigset_t *sigs)
{
	int err;

	o->hopts.reg = s->reg;
	o->hopts.vm = &s->vm;
	o->hopts.health = health;
	o->hopts.health_ctx = s;
	o->hopts.landing = vfioscope_landing_html;
	o->hopts.landing_len = vfioscope_landing_html_len;
	o->hopts.migrations = serve_migrations_doc();
	err = http_server__new(&o->hopts, &s->http);
	if (err)
		return err;
	err = privs_drop(o->keep_caps);
	if (err)
		return err;
	/* Signals are taken synchronously by this thread; the server threads inherit the mask. */
	sigemptyset(sigs);
	sigaddset(sigs, SIGINT);
	sigaddset(sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < NSOURCES; i++) {
		struct serve_source *src = &sources[i];

		if (src->enabled && !src->failed && src->start && (err = src->start(s, src))) {
			pr_err("failed to start source %s: %s", src->name, strerror(-err));
			return err;
		}
	}
	err = http_server__start(s->http);
	if (err)
		return err;
	if (o->port_file && (err = write_port_file(o->port_file, http_server__port(s->http)))) {
		pr_err("failed to write %s: %s", o->port_file, strerror(-err));
		return err;
	}
	fprintf(stderr,
		"vfioscope: serving /metrics, /healthz and a landing page at / on port %d\n",
		http_server__port(s->http));
	return 0;
}

/* Steps every source that is due; *wake becomes the earliest next step. */
static int step_sources(struct serve *s, double now, double *wake)
{
	for (size_t i = 0; i < NSOURCES; i++) {
		struct serve_source *src = &sources[i];
		int err;

		if (!src->enabled || src->failed || !src->step)
			continue;
		if (now >= src->next) {
			err = src->step(s, src);
			if (err) {
				pr_err("failed to run source %s: %s", src->name, strerror(-err));
				return err;
			}
			src->next += src->step_ms / 1000.0;
			if (src->next < now)
				src->next = now + src->step_ms / 1000.0;
		}
		if (src->next < *wake)
			*wake = src->next;
	}
	return 0;
}

/* Until SIGINT/SIGTERM or --duration. */
static int run_loop(struct serve *s, const struct serve_opts *o, const sigset_t *sigs)
{
	double deadline = o->duration_ns ? clock_mono_s() + o->duration_ns / 1e9 : 0;
	int err;

	for (size_t i = 0; i < NSOURCES; i++)
		sources[i].next = clock_mono_s() + sources[i].step_ms / 1000.0;
	for (;;) {
		double now = clock_mono_s(), wake = now + 1;

		if (deadline && now >= deadline)
			return 0;
		err = step_sources(s, now, &wake);
		if (err)
			return err;
		if (deadline && deadline < wake)
			wake = deadline;
		if (wait_signal(sigs, (long)((wake - clock_mono_s()) * 1000) + 1))
			return 0;
	}
}

/* Stops serving, then the sources; returns the exit status. */
static int teardown(struct serve *s, const struct serve_opts *o, int err)
{
	bool summary = o->summary && !o->list;
	int ret = err ? 1 : 0;

	http_server__free(s->http); /* stop serving before the sources' last words */
	s->http = NULL;
	/* The collectors' last reading, while their sources still exist. */
	if (summary)
		metrics_registry__collect(s->reg);
	for (size_t i = 0; i < NSOURCES; i++)
		if (sources[i].enabled && !sources[i].failed && sources[i].stop)
			sources[i].stop(s, &sources[i]);
	for (size_t i = 0; i < NSOURCES; i++) {
		if (sources[i].enabled && sources[i].failed) {
			fprintf(stderr, "vfioscope: source %s failed\n", sources[i].name);
			ret = 1;
		}
	}
	if (summary)
		print_summary(s, stdout);
	metrics_registry__free(s->reg);
	return ret;
}

int cmd_serve(int argc, char **argv)
{
	struct serve_opts o = {};
	struct serve s = {};
	sigset_t sigs;
	int err;

	err = serve_parse(&s, &o, argc, argv);
	if (err < 0) {
		serve_usage(stdout);
		return 0;
	}
	if (err)
		return err;
	s.reg = metrics_registry__new();
	if (!s.reg) {
		fprintf(stderr, "vfioscope: failed to allocate the metrics registry\n");
		return 1;
	}
	err = vfio_metrics__register(s.reg, &s.vm);
	if (!err)
		err = serve_migrations_register(s.reg);
	if (!err && o.list)
		err = list_metrics(&s);
	else if (!err)
		err = setup_sources(&s, &o);
	if (!err && !o.list)
		err = start_serving(&s, &o, &sigs);
	if (!err && !o.list)
		err = run_loop(&s, &o, &sigs);
	return teardown(&s, &o, err);
}
