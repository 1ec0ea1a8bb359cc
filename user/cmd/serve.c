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
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "vfioscope/http.h"
#include "vfioscope/log.h"
#include "vfioscope/metrics.h"
#include "vfioscope/privs.h"
#include "vfioscope/vfio_metrics.h"

/* The landing page, embedded by user/lib/landing_page.c from web/landing.html. */
extern const char vfioscope_landing_html[];
extern const unsigned int vfioscope_landing_html_len;

struct serve;

/*
 * A data source serve runs: the tracer, the tracker (--track), the simulator. setup() runs
 * privileged (load and attach BPF, open devices, pin memory) and may add collectors to the
 * registry (read once per scrape); start() runs after every capability is dropped; step() runs
 * from the main loop every step_ms (a sync, a simulator step); stop() at exit. A source whose
 * setup fails is reported (and /healthz says so) while the others keep running, unless
 * --strict.
 */
struct serve_source {
	const char *name;
	int (*setup)(struct serve *s, struct serve_source *src);
	int (*start)(struct serve *s, struct serve_source *src);
	int (*step)(struct serve *s, struct serve_source *src);
	void (*stop)(struct serve *s, struct serve_source *src);
	unsigned int step_ms;
	bool enabled, failed;
	double next;
};

struct serve {
	struct metrics_registry *reg;
	struct vfio_metrics vm;
	struct http_server *http;
	/* SIMULATOR source (--simulate): synthetic containers, not a real source. */
	int sim_containers;
	uint64_t sim_step;
};

static void serve_usage(FILE *out)
{
	fprintf(out,
		"usage: vfioscope serve [options]\n\n"
		"Serves vfioscope's metrics over HTTP: /metrics (Prometheus text, or OpenMetrics\n"
		"when the scraper asks for it), /healthz and a live landing page at /.\n\n"
		"  --listen ADDR:PORT      address to listen on (default %s); loopback only\n"
		"                          unless --allow-remote\n"
		"  --allow-remote          permit a non-loopback address (put TLS/auth in front)\n"
		"  --port-file FILE        write the bound port to FILE (with port 0)\n"
		"  --duration SECONDS      stop after SECONDS (default: until SIGINT/SIGTERM)\n"
		"  --keep-caps LIST        capabilities kept after setup (default none)\n"
		"  --max-conns N           concurrent connections (default 64)\n"
		"  --http-timeout SECONDS  idle connection timeout (default 10)\n"
		"  --simulate N            SIMULATOR: feed N synthetic containers (synthetic-0..)\n"
		"  --simulate-interval MS  simulator step (default 1000)\n"
		"  --strict                fail when a source fails to start (default: report it\n"
		"                          in /healthz and keep serving the others)\n"
		"  --list-metrics          print every metric family (name type labels) and exit\n",
		HTTP_DEFAULT_LISTEN);
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
	return vfio_metrics__simulate(&s->vm, s->sim_containers, s->sim_step++);
}

static int sim_step(struct serve *s, struct serve_source *src)
{
	return vfio_metrics__simulate(&s->vm, s->sim_containers, s->sim_step++);
}

/*
 * The sources, in setup order. The tracer and the tracker plug in here, e.g.
 *   { "tracer", tracer_setup, NULL, NULL, tracer_stop },   (loader: open, load, attach; then
 *       vfio_metrics__program() per program and a "tracer" collector reading the BPF maps)
 *   { "tracker", tracker_setup, NULL, tracker_sync, tracker_stop, .step_ms = 1000 },
 */
static struct serve_source sources[] = {
	{ "simulator", sim_setup, NULL, sim_step, NULL, .step_ms = 1000 },
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
			snprintf(msg, len, "source %s failed to start", sources[i].name);
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

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "allow-remote", no_argument, NULL, 'R' },
		{ "port-file", required_argument, NULL, 'p' },
		{ "duration", required_argument, NULL, 'd' },
		{ "keep-caps", required_argument, NULL, 'k' },
		{ "max-conns", required_argument, NULL, 'c' },
		{ "http-timeout", required_argument, NULL, 't' },
		{ "simulate", required_argument, NULL, 's' },
		{ "simulate-interval", required_argument, NULL, 'i' },
		{ "list-metrics", no_argument, NULL, 'L' },
		{ "strict", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct http_server_opts hopts = {};
	struct serve s = {};
	struct serve_source *sim = source("simulator");
	const char *port_file = NULL, *keep_caps = NULL;
	double duration = 0, deadline;
	bool list = false, strict = false;
	uint64_t keep = 0;
	sigset_t sigs;
	int c, err, ret = 1;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			hopts.listen = optarg;
			break;
		case 'R':
			hopts.allow_remote = true;
			break;
		case 'p':
			port_file = optarg;
			break;
		case 'd':
			duration = atof(optarg);
			break;
		case 'k':
			keep_caps = optarg;
			break;
		case 'c':
			hopts.max_conns = atoi(optarg);
			break;
		case 't':
			hopts.timeout_s = atoi(optarg);
			break;
		case 's':
			s.sim_containers = atoi(optarg);
			break;
		case 'i':
			sim->step_ms = atoi(optarg);
			break;
		case 'S':
			strict = true;
			break;
		case 'L':
			list = true;
			break;
		case 'h':
			serve_usage(stdout);
			return 0;
		default:
			serve_usage(stderr);
			return 2;
		}
	}
	if (optind < argc || s.sim_containers < 0 || sim->step_ms < 10 || duration < 0) {
		serve_usage(stderr);
		return 2;
	}
	if (privs_parse(keep_caps, &keep)) {
		fprintf(stderr, "vfioscope: unknown capability in --keep-caps %s\n", keep_caps);
		return 2;
	}

	s.reg = metrics_registry__new();
	if (!s.reg) {
		fprintf(stderr, "vfioscope: failed to allocate the metrics registry\n");
		return 1;
	}
	err = vfio_metrics__register(s.reg, &s.vm);
	if (err)
		goto out;
	if (list) {
		char *text;

		err = metrics_registry__list(s.reg, &text, NULL);
		if (!err) {
			fputs(text, stdout);
			free(text);
			ret = 0;
		}
		goto out;
	}

	/*
	 * Privileged steps: the tracer (CAP_BPF + CAP_PERFMON to load and attach; CAP_SYS_ADMIN
	 * only for module BTF by id), the tracker (opens /dev/vfio or /dev/iommu, pins memory).
	 */
	sim->enabled = s.sim_containers > 0;
	for (size_t i = 0; i < NSOURCES; i++) {
		struct serve_source *src = &sources[i];

		if (!src->enabled || !src->setup)
			continue;
		err = src->setup(&s, src);
		if (err) {
			pr_err("failed to start source %s: %s", src->name, strerror(-err));
			src->failed = true;
			if (strict)
				goto out;
			err = 0;
		}
	}

	hopts.reg = s.reg;
	hopts.vm = &s.vm;
	hopts.health = health;
	hopts.health_ctx = &s;
	hopts.landing = vfioscope_landing_html;
	hopts.landing_len = vfioscope_landing_html_len;
	err = http_server__new(&hopts, &s.http);
	if (err)
		goto out;

	/* Everything privileged is done: keep only what was asked for (default nothing). */
	err = privs_drop(keep);
	if (err)
		goto out;

	/* Signals are taken synchronously by this thread; the server threads inherit the mask. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	for (size_t i = 0; i < NSOURCES; i++) {
		struct serve_source *src = &sources[i];

		if (src->enabled && !src->failed && src->start && (err = src->start(&s, src))) {
			pr_err("failed to start source %s: %s", src->name, strerror(-err));
			goto out;
		}
	}
	err = http_server__start(s.http);
	if (err)
		goto out;
	if (port_file && (err = write_port_file(port_file, http_server__port(s.http)))) {
		pr_err("failed to write %s: %s", port_file, strerror(-err));
		goto out;
	}
	fprintf(stderr,
		"vfioscope: serving /metrics, /healthz and a landing page at / on port %d\n",
		http_server__port(s.http));

	deadline = duration ? mono_s() + duration : 0;
	for (size_t i = 0; i < NSOURCES; i++)
		sources[i].next = mono_s() + sources[i].step_ms / 1000.0;
	for (;;) {
		double now = mono_s(), wake = now + 1;

		if (deadline && now >= deadline)
			break;
		for (size_t i = 0; i < NSOURCES; i++) {
			struct serve_source *src = &sources[i];

			if (!src->enabled || src->failed || !src->step)
				continue;
			if (now >= src->next) {
				err = src->step(&s, src);
				if (err) {
					pr_err("failed to run source %s: %s", src->name,
					       strerror(-err));
					goto out;
				}
				src->next += src->step_ms / 1000.0;
				if (src->next < now)
					src->next = now + src->step_ms / 1000.0;
			}
			if (src->next < wake)
				wake = src->next;
		}
		if (deadline && deadline < wake)
			wake = deadline;
		if (wait_signal(&sigs, (long)((wake - mono_s()) * 1000) + 1))
			break;
	}
	ret = 0;
out:
	if (err)
		ret = 1;
	http_server__free(s.http);
	for (size_t i = 0; i < NSOURCES; i++)
		if (sources[i].enabled && !sources[i].failed && sources[i].stop)
			sources[i].stop(&s, &sources[i]);
	metrics_registry__free(s.reg);
	return ret;
}
