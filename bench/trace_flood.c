// SPDX-License-Identifier: GPL-2.0
/*
 * Does `vfioscope trace` keep up with a flood? (not a test: `make bench`)
 *
 * Generator threads issue VFIO-typed ioctls (VFIO_GET_API_VERSION) on a container, paced to a
 * total rate, for a fixed time, while `vfioscope trace` runs with its output going to a pipe
 * that a reader thread of this program drains (the way `trace | grep …` or a log shipper
 * reads it). Where /dev/vfio/vfio exists it is a real container; on a host without VFIO a
 * regular file stands in through the tracer's test hook. Each run prints the rate offered,
 * the rate the generators reached, and trace's own summary ("N calls traced, N printed, N
 * lost"); the baseline is the same flood at a quarter of the rate, in the same invocation.
 *
 * usage: trace_flood [path/to/vfioscope [RATE [SECONDS [fentry|kprobe|tp_btf|raw_tp]]]]   (root)
 * RATE in calls per second (default 2000000), SECONDS per run (default 10).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/vfio.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vfioscope/common/clock.h"
#include "standin.h"

#define THREADS 2
#define BATCH	256

static int vfio_fd;

struct gen {
	pthread_t th;
	double rate; /* calls per second, this thread */
	uint64_t ns;
	uint64_t calls;
};

/* Issue calls at @rate for @ns: a batch, then wait until the schedule catches up. A thread
 * that cannot reach its rate runs flat out; the rate reached is reported. */
static void *generate(void *arg)
{
	struct gen *g = arg;
	uint64_t t0 = clock_mono_ns(), t;

	while ((t = clock_mono_ns()) - t0 < g->ns) {
		uint64_t due = (uint64_t)((double)(t - t0) * g->rate / 1e9);

		if (g->calls > due + BATCH) {
			struct timespec ts = { 0, 20000 };

			nanosleep(&ts, NULL);
			continue;
		}
		for (int i = 0; i < BATCH; i++)
			ioctl(vfio_fd, VFIO_GET_API_VERSION);
		g->calls += BATCH;
	}
	g->ns = clock_mono_ns() - t0;
	return NULL;
}

/* Run the generators at @rate for @secs; returns the calls made, *@reached the rate. */
static uint64_t flood(double rate, double secs, double *reached)
{
	struct gen g[THREADS];
	uint64_t calls = 0, ns = 0;

	for (int i = 0; i < THREADS; i++) {
		g[i] = (struct gen){ .rate = rate / THREADS, .ns = (uint64_t)(secs * 1e9) };
		pthread_create(&g[i].th, NULL, generate, &g[i]);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(g[i].th, NULL);
		calls += g[i].calls;
		ns = g[i].ns > ns ? g[i].ns : ns;
	}
	*reached = (double)calls / ((double)ns / 1e9);
	return calls;
}

struct drain {
	pthread_t th;
	int fd;
	uint64_t bytes, lines;
};

static void *drain_pipe(void *arg)
{
	struct drain *d = arg;
	static char buf[1 << 16];
	ssize_t n;

	while ((n = read(d->fd, buf, sizeof(buf))) > 0) {
		uint64_t lines = 0;

		for (const char *p = buf, *end = buf + n; (p = memchr(p, '\n', end - p)); p++)
			lines++;
		d->bytes += n;
		__atomic_add_fetch(&d->lines, lines, __ATOMIC_RELAXED);
	}
	return NULL;
}

struct run {
	double offered, reached;
	uint64_t calls;
	uint64_t traced, printed, lost;
	double read_cpu; /* seconds of CPU `trace` used from the flood's start to its exit */
	double drain_s; /* burst: from SIGCONT until every line reached the pipe */
	bool ok;
};

/* user + system CPU seconds of @pid so far */
static double cpu_of(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
	fclose(f);
	/* after the comm: state ppid pgrp session tty tpgid flags minflt cminflt majflt
	 * cmajflt utime stime */
	if (!p ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/*
 * Start `vfioscope trace`, wait until it traces, flood at @rate for @secs, stop it, read its
 * summary. With @ring set (a burst), `trace` runs with that ring and is stopped (SIGSTOP)
 * while the generators run flat out, then let go: the time it takes to print every call is
 * the rate at which it empties its ring, whatever rate the generators could reach.
 */
static void one_run(const char *vs, const char *mode, bool test_hook, double rate, double secs,
		    const char *ring, struct run *r)
{
	char *argv[10] = { (char *)vs, "trace", "--no-pin" };
	int out[2], err[2], n = 3;
	static char buf[1 << 20]; /* trace's stderr: a line per loss, then its summary */
	size_t used = 0;
	struct drain d = { 0 };
	double cpu0;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	r->offered = rate;
	if (mode) {
		argv[n++] = "--mode";
		argv[n++] = (char *)mode;
	}
	if (ring) {
		argv[n++] = "--ringbuf-size";
		argv[n++] = (char *)ring;
	}
	if (test_hook)
		argv[n++] = "--test-hook";
	if (pipe(out) || pipe(err))
		return;
	pid = fork();
	if (pid == 0) {
		dup2(out[1], 1);
		dup2(err[1], 2);
		close(out[0]);
		close(err[0]);
		execv(vs, argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	d.fd = out[0];
	pthread_create(&d.th, NULL, drain_pipe, &d);
	/* "tracing with MODE (why)" once it is attached */
	while (used < sizeof(buf) - 1) {
		ssize_t k = read(err[0], buf + used, sizeof(buf) - 1 - used);

		if (k <= 0)
			break;
		used += k;
		buf[used] = '\0';
		if (strstr(buf, "tracing with"))
			break;
	}
	if (!strstr(buf, "tracing with")) {
		fprintf(stderr, "trace_flood: %s trace did not start: %s\n", vs, buf);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		pthread_join(d.th, NULL);
		close(out[0]);
		close(err[0]);
		return;
	}
	cpu0 = cpu_of(pid);
	if (ring)
		kill(pid, SIGSTOP);
	r->calls = flood(rate, secs, &r->reached);
	if (ring) {
		uint64_t t0 = clock_mono_ns();

		kill(pid, SIGCONT);
		while (__atomic_load_n(&d.lines, __ATOMIC_RELAXED) < r->calls &&
		       clock_mono_ns() - t0 < 120000000000ULL)
			usleep(1000);
		r->drain_s = (double)(clock_mono_ns() - t0) / 1e9;
	}
	kill(pid, SIGINT);
	used = 0;
	buf[0] = '\0';
	for (ssize_t k; used < sizeof(buf) - 1 &&
			(k = read(err[0], buf + used, sizeof(buf) - 1 - used)) > 0;) {
		used += k;
		buf[used] = '\0';
	}
	{
		struct rusage ru;

		wait4(pid, NULL, 0, &ru);
		r->read_cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
			      ru.ru_stime.tv_usec / 1e6 - cpu0;
	}
	pthread_join(d.th, NULL);
	close(out[0]);
	close(err[0]);
	{
		const char *s = strstr(buf, "calls traced");

		while (s && s > buf && s[-1] != '\n' && s[-1] != ':')
			s--;
		r->ok = s &&
			sscanf(s,
			       " %" SCNu64 " calls traced, %" SCNu64 " printed, %" SCNu64 " lost",
			       &r->traced, &r->printed, &r->lost) == 3;
	}
	if (!r->ok)
		fprintf(stderr, "trace_flood: no summary from trace: %s\n", buf);
}

static void print_run(const char *name, const struct run *r)
{
	if (!r->ok) {
		printf("  %-10s (did not run)\n", name);
		return;
	}
	if (r->offered > 1e11)
		printf("  %-10s %11s", name, "flat out");
	else
		printf("  %-10s %11.0f", name, r->offered);
	printf(" %11.0f %11" PRIu64 " %11" PRIu64 " %11" PRIu64 " %9" PRIu64 " %8.3f%% %11.0f",
	       r->reached, r->calls, r->traced, r->printed, r->lost,
	       r->calls ? 100.0 * (double)r->lost / (double)r->calls : 0.0,
	       r->read_cpu > 0 ? (double)r->printed / r->read_cpu : 0.0);
	if (r->drain_s > 0)
		printf(" %11.0f", (double)r->printed / r->drain_s);
	printf("\n");
}

int main(int argc, char **argv)
{
	const char *vs = argc > 1 ? argv[1] : "build/vfioscope";
	double rate = argc > 2 ? atof(argv[2]) : 2e6;
	double secs = argc > 3 ? atof(argv[3]) : 10;
	const char *mode = argc > 4 ? argv[4] : NULL;
	struct standin sc;
	struct run base, full, burst;
	double bare;
	bool real_vfio;

	if (geteuid()) {
		fprintf(stderr, "trace_flood: needs root\n");
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	vfio_fd = standin_open(&sc, "vfsf");
	real_vfio = sc.real;
	if (vfio_fd < 0) {
		perror("trace_flood: open the stand-in container");
		return 1;
	}
	flood(1e12, 1, &bare); /* the generators flat out, untraced */
	one_run(vs, mode, !real_vfio, rate / 4, secs, NULL, &base);
	one_run(vs, mode, !real_vfio, rate, secs, NULL, &full);
	/* 512 MiB hold 3.7 million calls: the generators' 3 s flat out fit */
	one_run(vs, mode, !real_vfio, 1e12, 3, "512M", &burst);
	close(vfio_fd);
	standin_remove(&sc);

	printf("trace_flood: VFIO ioctls on %s from %d threads for %.0f s each run, `vfioscope "
	       "trace` writing to a pipe this program drains\n",
	       real_vfio ? "/dev/vfio/vfio" : "a stand-in container (test hook)", THREADS, secs);
	printf("  untraced, flat out: %.0f calls/s\n", bare);
	printf("  %-10s %11s %11s %11s %11s %11s %9s %9s %11s %11s\n", "run", "offered/s",
	       "reached/s", "calls", "traced", "printed", "lost", "lost", "lines/CPU-s",
	       "drained/s");
	print_run("baseline", &base);
	print_run("flood", &full);
	print_run("burst", &burst);
	printf("  (lines/CPU-s: lines `trace` printed per second of CPU it used while it read: the\n"
	       "   rate one core of reader keeps up with. burst: `trace` held with SIGSTOP while the\n"
	       "   generators ran flat out into a 512M ring, then let go; drained/s: the lines it\n"
	       "   printed per second of wall time until the last one: the rate it empties a ring)\n");
	printf("ratios:\n");
	if (base.ok && full.ok) {
		printf("  %-60s %8.3f\n", "rate reached, flood / baseline",
		       full.reached / base.reached);
		printf("  %-60s %8.3f\n", "rate reached under trace / untraced flat out",
		       full.reached / bare);
		printf("  %-60s %8.5f\n", "calls lost / calls made, flood",
		       full.calls ? (double)full.lost / (double)full.calls : 0.0);
		printf("  %-60s %8.5f\n", "calls lost / calls made, baseline",
		       base.calls ? (double)base.lost / (double)base.calls : 0.0);
	}
	if (burst.ok && burst.drain_s > 0)
		printf("  %-60s %8.3f\n",
		       "rate the reader empties its ring / rate asked of the flood",
		       (double)burst.printed / burst.drain_s / rate);
	return 0;
}
