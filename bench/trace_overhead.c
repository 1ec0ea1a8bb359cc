// SPDX-License-Identifier: GPL-2.0
/*
 * Overhead of `vfioscope trace` (not a test: `make bench`). Two tight loops, each bare, under
 * `vfioscope trace`, under the equivalent bpftrace one-liner and under strace, in one run:
 *   - VFIO-typed ioctls (VFIO_GET_API_VERSION) on a file the tracer takes for a container
 *     (a regular file through the tracer's test hook: this host has no VFIO), so every call
 *     is traced, decoded, mirrored and streamed;
 *   - an unrelated syscall (getppid), which the syscall-level way in must drop cheaply.
 * Where /dev/vfio/vfio exists (a guest with vfio loaded), the VFIO loop uses a real container
 * and the tracer runs its file-handler way in (fentry), no test hook.
 * "vfioscope maps only" is the same BPF programs loaded without per-call events (what
 * `vfioscope state` and an exporter need: the mirror and the in-kernel aggregates).
 * Prints ns per call, the added cost per call and the ratios. Each number is the best of
 * several rounds (the machine is shared).
 *
 * usage: trace_overhead [path/to/vfioscope]   (root)
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vfioscope/loader.h"

#define ROUNDS	      5
#define TRACEFS	      "/sys/kernel/tracing"
#define TRACEFS_MAGIC 0x74726163

static int vfio_fd;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static double loop_vfio(long n)
{
	uint64_t t0 = now_ns();

	for (long i = 0; i < n; i++)
		ioctl(vfio_fd, VFIO_GET_API_VERSION);
	return (double)(now_ns() - t0) / n;
}

static double loop_unrelated(long n)
{
	uint64_t t0 = now_ns();

	for (long i = 0; i < n; i++)
		syscall(SYS_getppid);
	return (double)(now_ns() - t0) / n;
}

static double best(double (*fn)(long), long n)
{
	double b = 1e30;

	for (int r = 0; r < ROUNDS; r++) {
		double v = fn(n);

		b = v < b ? v : b;
	}
	return b;
}

/* Start @argv with stdout (or stderr) on a pipe; wait until a line contains @ready. */
static pid_t spawn_until(char *const argv[], bool ready_on_stderr, const char *ready)
{
	char buf[4096];
	size_t used = 0;
	int p[2];
	pid_t pid;

	if (pipe(p))
		return -1;
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(p[1], ready_on_stderr ? 2 : 1);
		dup2(null, ready_on_stderr ? 1 : 2);
		close(p[0]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	while (used < sizeof(buf) - 1) {
		ssize_t n = read(p[0], buf + used, sizeof(buf) - 1 - used);

		if (n <= 0)
			break;
		used += n;
		buf[used] = '\0';
		if (strstr(buf, ready))
			break;
	}
	/* keep draining so the child never blocks on a full pipe */
	if (fork() == 0) {
		while (read(p[0], buf, sizeof(buf)) > 0)
			;
		_exit(0);
	}
	close(p[0]);
	if (!strstr(buf, ready)) {
		fprintf(stderr, "trace_overhead: %s did not get ready: %s\n", argv[0], buf);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	return pid;
}

static void stop(pid_t pid)
{
	kill(pid, SIGINT);
	waitpid(pid, NULL, 0);
}

static bool traced_by_someone(void)
{
	char line[256];
	bool traced = false;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "TracerPid:", 10))
			traced = atoi(line + 10) != 0;
	if (f)
		fclose(f);
	return traced;
}

static pid_t spawn_strace(void)
{
	char pidstr[16];
	pid_t pid;

	snprintf(pidstr, sizeof(pidstr), "%d", getpid());
	pid = fork();
	if (pid == 0) {
		execlp("strace", "strace", "-q", "-e", "trace=ioctl", "-o", "/dev/null", "-p",
		       pidstr, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500 && !traced_by_someone(); i++)
		usleep(10000);
	return traced_by_someone() ? pid : -1;
}

struct result {
	const char *name;
	double vfio, unrelated;
	bool ok;
};

/* TRACE_BENCH_DIV=N divides every loop count (a TCG guest is ~50x slower) */
static long scale(long n)
{
	const char *d = getenv("TRACE_BENCH_DIV");
	long div = d ? atol(d) : 1;

	return div > 1 ? n / div : n;
}

static void measure(struct result *r, long n_vfio, long n_other)
{
	r->vfio = best(loop_vfio, scale(n_vfio));
	r->unrelated = best(loop_unrelated, scale(n_other));
	r->ok = true;
}

int main(int argc, char **argv)
{
	const char *vs = argc > 1 ? argv[1] : "build/vfioscope";
	char dir[64], path[96];
	struct result res[5] = { { "bare" },
				 { "vfioscope trace" },
				 { "bpftrace one-liner" },
				 { "strace" },
				 { "vfioscope maps only" } };
	struct tracer_opts topts = { .sz = sizeof(topts), .test_hook = true, .no_events = true };
	struct tracer *t;
	bool mounted_tracefs = false, real_vfio;
	char mode[16] = "?";
	struct statfs st;
	pid_t pid;

	if (geteuid()) {
		fprintf(stderr, "trace_overhead: needs root\n");
		return 77;
	}
	snprintf(dir, sizeof(dir), "/dev/shm/vfsb-%d", getpid());
	snprintf(path, sizeof(path), "%s/vfio", dir);
	mkdir(dir, 0700);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/vfio/vfio", dir);
	vfio_fd = open("/dev/vfio/vfio", O_RDWR);
	real_vfio = vfio_fd >= 0;
	if (!real_vfio)
		vfio_fd = open(path, O_RDWR | O_CREAT, 0600);
	topts.test_hook = !real_vfio;
	if (vfio_fd < 0) {
		perror("trace_overhead: open the stand-in container");
		return 1;
	}
	/* bpftrace's tracepoints need tracefs */
	if (statfs(TRACEFS, &st) || st.f_type != TRACEFS_MAGIC)
		mounted_tracefs = mount("tracefs", TRACEFS, "tracefs", 0, NULL) == 0;

	loop_unrelated(200000); /* warm up */
	measure(&res[0], 200000, 2000000);

	{
		char *a[] = { (char *)vs, "trace", "--no-pin", real_vfio ? NULL : "--test-hook",
			      NULL };

		pid = spawn_until(a, true, "tracing with");
		if (pid > 0) {
			measure(&res[1], 200000, 2000000);
			stop(pid);
		}
	}
	{
		char *a[] = {
			"bpftrace", "-e",
			"tracepoint:raw_syscalls:sys_enter /args->id == 16 && "
			"(args->args[1] & 0xffffff00) == 0x3b00/ { @[args->args[1]] = count(); }",
			NULL
		};

		pid = spawn_until(a, false, "Attaching");
		if (pid > 0) {
			measure(&res[2], 200000, 2000000);
			stop(pid);
		}
	}
	if (tracer__new(&topts, &t) == 0) {
		snprintf(mode, sizeof(mode), "%s", tracer__mode(t));
		measure(&res[4], 200000, 2000000);
		tracer__free(t);
	}
	pid = spawn_strace();
	if (pid > 0) {
		measure(&res[3], 5000, 50000);
		stop(pid);
	}
	if (mounted_tracefs)
		umount(TRACEFS);
	close(vfio_fd);
	unlink(path);
	snprintf(path, sizeof(path), "%s/vfio", dir);
	rmdir(path);
	rmdir(dir);

	printf("trace_overhead: ns per call (best of %d rounds), VFIO ioctls on %s, tracer mode %s\n",
	       ROUNDS, real_vfio ? "/dev/vfio/vfio" : "a stand-in container (test hook)", mode);
	printf("  %-20s %14s %14s %16s %16s\n", "", "VFIO ioctl", "getppid", "added/ioctl",
	       "added/getppid");
	for (int i = 0; i < 5; i++) {
		if (!res[i].ok) {
			printf("  %-20s (did not run)\n", res[i].name);
			continue;
		}
		printf("  %-20s %14.1f %14.1f %16.1f %16.1f\n", res[i].name, res[i].vfio,
		       res[i].unrelated, res[i].vfio - res[0].vfio,
		       res[i].unrelated - res[0].unrelated);
	}
	if (res[1].ok) {
		double add_v = res[1].vfio - res[0].vfio,
		       add_u = res[1].unrelated - res[0].unrelated;

		printf("ratios:\n");
		printf("  unrelated syscall under vfioscope / bare: %.3f\n",
		       res[1].unrelated / res[0].unrelated);
		if (res[2].ok) {
			printf("  added per unrelated syscall, vfioscope / bpftrace: %.2f\n",
			       add_u / (res[2].unrelated - res[0].unrelated));
			printf("  added per traced VFIO ioctl, vfioscope / bpftrace: %.2f\n",
			       add_v / (res[2].vfio - res[0].vfio));
		}
		if (res[3].ok)
			printf("  added per traced VFIO ioctl, strace / vfioscope: %.1f\n",
			       (res[3].vfio - res[0].vfio) / add_v);
		if (res[2].ok && res[4].ok)
			printf("  added per traced VFIO ioctl, vfioscope maps only / bpftrace: %.2f\n",
			       (res[4].vfio - res[0].vfio) / (res[2].vfio - res[0].vfio));
		if (res[3].ok && res[4].ok)
			printf("  added per traced VFIO ioctl, strace / vfioscope maps only: %.1f\n",
			       (res[3].vfio - res[0].vfio) / (res[4].vfio - res[0].vfio));
	}
	return 0;
}
