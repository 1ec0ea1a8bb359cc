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

struct serve {
	struct metrics_registry *reg;
	struct vfio_metrics vm;
	struct http_server *http;
	/* SIMULATOR source (--simulate): synthetic containers, not a real source. */
	int sim_containers;
	unsigned int sim_interval_ms;
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
		"  --list-metrics          print every metric family (name type labels) and exit\n",
		HTTP_DEFAULT_LISTEN);
}

static int health(void *ctx, char *msg, size_t len)
{
	/* Serving at all is the health of the exporter; sources report through metrics. */
	return 0;
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

static int simulate_step(struct serve *s)
{
	return vfio_metrics__simulate(&s->vm, s->sim_containers, s->sim_step++);
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
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct http_server_opts hopts = {};
	struct serve s = { .sim_interval_ms = 1000 };
	const char *port_file = NULL, *keep_caps = NULL;
	double duration = 0, deadline;
	bool list = false;
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
			s.sim_interval_ms = atoi(optarg);
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
	if (optind < argc || s.sim_containers < 0 || s.sim_interval_ms < 10 || duration < 0) {
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
	 * Privileged steps. The tracer (CAP_BPF + CAP_PERFMON: load, attach; CAP_SYS_ADMIN only
	 * for module BTF by id) and the tracker (opens /dev/vfio or /dev/iommu, pins memory)
	 * plug in here and add their collectors:
	 *   metrics_registry__add_collector(s.reg, "tracer", tracer_collect, tracer);
	 */
	if (s.sim_containers)
		pr_warn("SIMULATOR: serving %d synthetic containers (synthetic-0..), not real data",
			s.sim_containers);

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

	if (s.sim_containers && (err = simulate_step(&s)))
		goto out;
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
	for (;;) {
		long ms = s.sim_containers ? s.sim_interval_ms : 1000;

		if (deadline) {
			double left = deadline - mono_s();

			if (left <= 0)
				break;
			if (left * 1000 < ms)
				ms = (long)(left * 1000) + 1;
		}
		if (wait_signal(&sigs, ms))
			break;
		if (s.sim_containers && (err = simulate_step(&s)))
			goto out;
	}
	ret = 0;
out:
	if (err)
		ret = 1;
	http_server__free(s.http);
	metrics_registry__free(s.reg);
	return ret;
}
