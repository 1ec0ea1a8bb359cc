// SPDX-License-Identifier: GPL-2.0
/*
 * Overhead of the tracer (not a test: `make bench`). Two tight loops, each bare and then under
 * each tracer in turn, in one run:
 *   - VFIO-typed ioctls (VFIO_GET_API_VERSION) on a container, so every call is traced,
 *     decoded, mirrored (and streamed, under `trace`). Where /dev/vfio/vfio exists (a guest
 *     with vfio loaded) it is a real container; on a host without VFIO a regular file stands
 *     in through the tracer's test hook;
 *   - an unrelated syscall (getppid), which the handler hooks never see and the syscall-level
 *     way in must drop cheaply.
 * Tracers: `vfioscope trace`; "maps only", the same BPF programs loaded without per-call
 * events (what `state` and `serve` run: the mirror and the in-kernel aggregates); three bpftrace
 * one-liners (the counting one on the syscall tracepoint, and the two that do what vfioscope
 * does, a latency histogram per command and a line per call, on the same hooks vfioscope
 * uses); strace. Every output goes to /dev/null. Prints ns per call (best of several rounds),
 * the cost added per call, and the ratios.
 * The process filter (tracer_opts.pid): the cost of a traced ioctl from a process the filter
 * excludes, with the filter in BPF (the call leaves at entry) and, for comparison, in user
 * space after the ring buffer (every call streamed, dropped by the reader: what `trace --pid`
 * did before the filter moved into BPF). Both run this library's tracer in this process with
 * a reader thread, so they differ in the filter's place only.
 *
 * usage: trace_overhead [path/to/vfioscope [fentry|kprobe|tp_btf|raw_tp]]   (root)
 * TRACE_BENCH_DIV=N divides the loop counts (for a TCG guest).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <pthread.h>
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

#include "vfioscope/tracer/tracer.h"
#include "standin.h"

#define ROUNDS	      5
#define N_VFIO	      200000
#define N_OTHER	      2000000
#define TRACEFS	      "/sys/kernel/tracing"
#define TRACEFS_MAGIC 0x74726163

static int vfio_fd;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* CPU time of this thread: what the traced caller itself pays, in the kernel included (the BPF
 * programs run in its context), without a reader process's work */
static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static double vfio_cpu; /* per call, of the last loop_vfio() */

static double loop_vfio(long n)
{
	uint64_t t0 = now_ns(), c0 = thread_cpu_ns();

	for (long i = 0; i < n; i++)
		ioctl(vfio_fd, VFIO_GET_API_VERSION);
	vfio_cpu = (double)(thread_cpu_ns() - c0) / n;
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

/* Wait until @pid holds @links attachments: bpf_link fds (fentry) and perf_event fds beyond
 * the one per online CPU that bpftrace opens for its output buffer (tracepoints). It prints
 * "Attaching" before it attaches, so that line cannot tell. */
static bool wait_attached(pid_t pid, int links)
{
	int cpus = sysconf(_SC_NPROCESSORS_ONLN);

	for (int tries = 0; tries < 3000; tries++) {
		char dir[64], path[320], target[64];
		struct dirent *de;
		int n = 0, perf = 0;
		DIR *d;

		snprintf(dir, sizeof(dir), "/proc/%d/fd", pid);
		d = opendir(dir);
		if (!d)
			return false;
		while ((de = readdir(d))) {
			ssize_t len;

			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			len = readlink(path, target, sizeof(target) - 1);
			if (len <= 0)
				continue;
			target[len] = '\0';
			n += !strcmp(target, "anon_inode:bpf_link");
			perf += !strcmp(target, "anon_inode:[perf_event]");
		}
		closedir(d);
		if (n + (perf > cpus ? perf - cpus : 0) >= links) {
			usleep(200000); /* the perf fd exists just before its program is set */
			return true;
		}
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return false;
		usleep(10000);
	}
	return false;
}

/* Start @argv with its output to /dev/null and wait until @links probes are attached; or, when
 * @ready is set, until a line on stderr contains it; then the rest of stderr is left to read
 * from *@err_fd. */
static pid_t spawn(char *const argv[], int links, const char *ready, int *err_fd)
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

		dup2(null, 1);
		dup2(ready ? p[1] : null, 2);
		close(p[0]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	while (ready && used < sizeof(buf) - 1) {
		ssize_t n = read(p[0], buf + used, sizeof(buf) - 1 - used);

		if (n <= 0)
			break;
		used += n;
		buf[used] = '\0';
		if (strstr(buf, ready))
			break;
	}
	if (ready && strstr(buf, ready)) {
		*err_fd = p[0];
		return pid;
	}
	close(p[0]);
	if (ready || !wait_attached(pid, links)) {
		fprintf(stderr, "trace_overhead: %s did not get ready%s%s\n", argv[0],
			ready ? ": " : "", ready ? buf : "");
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
	double vfio_cpu; /* the caller's own CPU time per VFIO ioctl */
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
	r->vfio = r->vfio_cpu = 1e30;
	for (int i = 0; i < ROUNDS; i++) {
		double v = loop_vfio(scale(n_vfio));

		r->vfio = v < r->vfio ? v : r->vfio;
		r->vfio_cpu = vfio_cpu < r->vfio_cpu ? vfio_cpu : r->vfio_cpu;
	}
	r->unrelated = best(loop_unrelated, scale(n_other));
	r->ok = true;
}

/* Run a bpftrace program with @links probes and measure under it. */
static void under_bpftrace(struct result *r, const char *prog, int links)
{
	char *a[] = { "bpftrace", "-e", (char *)prog, NULL };
	pid_t pid = spawn(a, links, NULL, NULL);

	if (pid > 0) {
		measure(r, N_VFIO, N_OTHER);
		stop(pid);
	}
}

/* A reader thread on the library's ring buffer, keeping only @keep's events (as `trace --pid`
 * did in user space) and counting them. */
struct reader {
	struct tracer *t;
	volatile bool stop;
	pid_t keep;
	uint64_t kept, dropped;
};

static int keep_one_pid(void *ctx, const struct vfs_event *ev)
{
	struct reader *r = ctx;

	if ((pid_t)ev->pid == r->keep)
		r->kept++;
	else
		r->dropped++;
	return 0;
}

static void *read_loop(void *arg)
{
	struct reader *r = arg;

	while (!r->stop)
		tracer__poll(r->t, 100, keep_one_pid, r);
	return NULL;
}

/* Measure under this library's tracer with @o, its events read and filtered for @keep. */
static void under_library(struct result *res, const struct tracer_opts *o, pid_t keep,
			  struct reader *r)
{
	pthread_t th;

	memset(r, 0, sizeof(*r));
	r->keep = keep;
	if (tracer__new(o, &r->t))
		return;
	if (pthread_create(&th, NULL, read_loop, r) == 0) {
		measure(res, N_VFIO, N_OTHER);
		r->stop = true;
		pthread_join(th, NULL);
	}
	tracer__free(r->t);
}

/* A process that makes no call: the one the filter selects, so this one is excluded. */
static pid_t idle_child(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		pause();
		_exit(0);
	}
	return pid;
}

/* The filter every syscall-level program shares: ioctl (16) of type ';' */
#define TP_FILTER "/args->id == 16 && (args->args[1] & 0xffffff00) == 0x3b00/"
/* the container handler: the only handler the VFIO loop reaches */
#define HANDLER "vfio:vfio_fops_unl_ioctl"

enum row {
	BARE,
	TRACE,
	FILTER_BPF,
	FILTER_USER,
	MAPS,
	BT_COUNT,
	BT_HIST,
	BT_PRINTF,
	STRACE,
	ROWS
};

enum col {
	WALL_VFIO,
	CPU_VFIO,
	WALL_UNRELATED
};

static double col(const struct result *r, enum col c)
{
	return c == WALL_VFIO ? r->vfio : c == CPU_VFIO ? r->vfio_cpu : r->unrelated;
}

/* (cost row @a added) / (cost row @b added), in column @c */
static void print_ratio(const char *what, const struct result *r, enum row a, enum row b,
			enum col c)
{
	double x = col(&r[a], c) - col(&r[BARE], c), y = col(&r[b], c) - col(&r[BARE], c);

	if (r[a].ok && r[b].ok)
		printf("  %-70s %8.2f\n", what, x / y);
}

int main(int argc, char **argv)
{
	const char *vs = argc > 1 ? argv[1] : "build/vfioscope";
	const char *want_mode = argc > 2 ? argv[2] : NULL;
	struct standin sc;
	struct result res[ROWS] = {
		[BARE] = { "bare" },
		[TRACE] = { "vfioscope trace" },
		[FILTER_BPF] = { "excluded by pid, BPF filter" },
		[FILTER_USER] = { "excluded by pid, user filter" },
		[MAPS] = { "vfioscope maps only" },
		[BT_COUNT] = { "bpftrace count (syscall tp)" },
		[BT_HIST] = { "bpftrace latency hist" },
		[BT_PRINTF] = { "bpftrace printf per call" },
		[STRACE] = { "strace" },
	};
	struct tracer_opts topts = { .sz = sizeof(topts), .no_events = true, .mode = want_mode };
	struct tracer_opts fopts = { .sz = sizeof(fopts), .mode = want_mode };
	struct reader rd_bpf, rd_user;
	struct tracer *t;
	pid_t other;
	bool mounted_tracefs = false, real_vfio, handler;
	char mode[16] = "?", trace_summary[256] = "";
	struct statfs st;
	pid_t pid;

	if (geteuid()) {
		fprintf(stderr, "trace_overhead: needs root\n");
		return 77;
	}
	vfio_fd = standin_open(&sc, "vfsb");
	real_vfio = sc.real;
	topts.test_hook = !real_vfio;
	if (vfio_fd < 0) {
		perror("trace_overhead: open the stand-in container");
		return 1;
	}
	/* bpftrace's tracepoints need tracefs */
	if (statfs(TRACEFS, &st) || st.f_type != TRACEFS_MAGIC)
		mounted_tracefs = mount("tracefs", TRACEFS, "tracefs", 0, NULL) == 0;

	loop_unrelated(200000); /* warm up */
	measure(&res[BARE], N_VFIO, N_OTHER);

	/* the mode the tracer picks (or is told) decides which one-liners are equivalent */
	if (tracer__new(&topts, &t) == 0) {
		snprintf(mode, sizeof(mode), "%s", tracer__mode(t));
		measure(&res[MAPS], N_VFIO, N_OTHER);
		tracer__free(t);
	}
	handler = real_vfio && (!strcmp(mode, "fentry") || !strcmp(mode, "kprobe"));
	/* the filter selects another process; every call here is excluded */
	other = idle_child();
	fopts.test_hook = !real_vfio;
	fopts.pid = other;
	under_library(&res[FILTER_BPF], &fopts, other, &rd_bpf);
	fopts.pid = 0;
	under_library(&res[FILTER_USER], &fopts, other, &rd_user);
	kill(other, SIGKILL);
	waitpid(other, NULL, 0);
	{
		char *a[] = { (char *)vs, "trace", "--no-pin",
			      "--mode",	  mode,	   real_vfio ? NULL : "--test-hook",
			      NULL };

		int err_fd = -1;
		ssize_t n;

		pid = spawn(a, 0, "tracing with", &err_fd);
		if (pid > 0) {
			measure(&res[TRACE], N_VFIO, N_OTHER);
			stop(pid);
			/* its summary: did it keep up? */
			n = read(err_fd, trace_summary, sizeof(trace_summary) - 1);
			trace_summary[n > 0 ? n : 0] = '\0';
			trace_summary[strcspn(trace_summary, "\n")] = '\0';
			close(err_fd);
		}
	}
	under_bpftrace(&res[BT_COUNT],
		       "tracepoint:raw_syscalls:sys_enter " TP_FILTER
		       " { @[args->args[1]] = count(); }",
		       1);
	if (handler) {
		under_bpftrace(
			&res[BT_HIST],
			"kfunc:" HANDLER " { @s[tid] = nsecs; } kretfunc:" HANDLER
			" /@s[tid]/ { @h[args->cmd] = hist(nsecs - @s[tid]); delete(@s[tid]); }",
			2);
		under_bpftrace(&res[BT_PRINTF],
			       "kfunc:" HANDLER " { @s[tid] = nsecs; } kretfunc:" HANDLER
			       " /@s[tid]/ { printf(\"%lu %d %s %x %d %lu\\n\", nsecs, pid, comm, "
			       "args->cmd, retval, nsecs - @s[tid]); delete(@s[tid]); }",
			       2);
	} else {
		under_bpftrace(
			&res[BT_HIST],
			"tracepoint:raw_syscalls:sys_enter " TP_FILTER
			" { @c[tid] = args->args[1]; @s[tid] = nsecs; } "
			"tracepoint:raw_syscalls:sys_exit /@s[tid]/ { "
			"@h[@c[tid]] = hist(nsecs - @s[tid]); delete(@s[tid]); delete(@c[tid]); }",
			2);
		under_bpftrace(&res[BT_PRINTF],
			       "tracepoint:raw_syscalls:sys_enter " TP_FILTER
			       " { @c[tid] = args->args[1]; @s[tid] = nsecs; } "
			       "tracepoint:raw_syscalls:sys_exit /@s[tid]/ { "
			       "printf(\"%lu %d %s %x %d %lu\\n\", nsecs, pid, comm, @c[tid], "
			       "args->ret, nsecs - @s[tid]); delete(@s[tid]); delete(@c[tid]); }",
			       2);
	}
	pid = spawn_strace();
	if (pid > 0) {
		measure(&res[STRACE], N_VFIO / 40, N_OTHER / 40);
		stop(pid);
	}
	if (mounted_tracefs)
		umount(TRACEFS);
	close(vfio_fd);
	standin_remove(&sc);

	printf("trace_overhead: ns per call (best of %d rounds), VFIO ioctls on %s, tracer mode %s\n",
	       ROUNDS, real_vfio ? "/dev/vfio/vfio" : "a stand-in container (test hook)", mode);
	printf("  bpftrace one-liners on the %s; every output goes to /dev/null\n",
	       handler ? "container ioctl handler (kfunc/kretfunc)" :
			 "syscall tracepoints (raw_syscalls)");
	printf("  %-28s %11s %11s %11s %11s %11s %11s\n", "", "VFIO ioctl", "its CPU", "getppid",
	       "added", "added CPU", "added");
	for (int i = 0; i < ROWS; i++) {
		if (!res[i].ok) {
			printf("  %-28s (did not run)\n", res[i].name);
			continue;
		}
		printf("  %-28s %11.1f %11.1f %11.1f %11.1f %11.1f %11.1f\n", res[i].name,
		       res[i].vfio, res[i].vfio_cpu, res[i].unrelated, res[i].vfio - res[BARE].vfio,
		       res[i].vfio_cpu - res[BARE].vfio_cpu,
		       res[i].unrelated - res[BARE].unrelated);
	}
	printf("  (\"its CPU\": the calling thread's own CPU time, without the readers' work)\n");
	if (trace_summary[0])
		printf("  (vfioscope trace said: %s)\n", trace_summary);
	if (res[FILTER_BPF].ok && res[FILTER_USER].ok)
		printf("  (filtered readers: BPF filter got %llu events, user filter dropped %llu)\n",
		       (unsigned long long)(rd_bpf.kept + rd_bpf.dropped),
		       (unsigned long long)rd_user.dropped);
	printf("ratios:\n");
	if (res[FILTER_BPF].ok)
		printf("  %-70s %8.3f\n", "VFIO ioctl excluded by the BPF filter / bare",
		       res[FILTER_BPF].vfio / res[BARE].vfio);
	print_ratio("added per excluded VFIO ioctl, BPF filter / unfiltered vfioscope trace", res,
		    FILTER_BPF, TRACE, WALL_VFIO);
	print_ratio("  the same in the caller's CPU time", res, FILTER_BPF, TRACE, CPU_VFIO);
	print_ratio("added per excluded VFIO ioctl, user filter (before) / unfiltered trace", res,
		    FILTER_USER, TRACE, WALL_VFIO);
	print_ratio("added per excluded VFIO ioctl, BPF filter / user filter (before)", res,
		    FILTER_BPF, FILTER_USER, WALL_VFIO);
	print_ratio("  the same in the caller's CPU time", res, FILTER_BPF, FILTER_USER, CPU_VFIO);
	if (res[TRACE].ok)
		printf("  %-70s %8.3f\n", "unrelated syscall under vfioscope trace / bare",
		       res[TRACE].unrelated / res[BARE].unrelated);
	print_ratio("added per unrelated syscall, vfioscope trace / bpftrace count", res, TRACE,
		    BT_COUNT, WALL_UNRELATED);
	print_ratio("added per VFIO ioctl, vfioscope trace / bpftrace count", res, TRACE, BT_COUNT,
		    WALL_VFIO);
	print_ratio("  the same in the caller's CPU time (the reader's work left out)", res, TRACE,
		    BT_COUNT, CPU_VFIO);
	print_ratio("added per VFIO ioctl, vfioscope maps only / bpftrace count", res, MAPS,
		    BT_COUNT, WALL_VFIO);
	print_ratio("added per VFIO ioctl, vfioscope maps only / bpftrace latency hist", res, MAPS,
		    BT_HIST, WALL_VFIO);
	print_ratio("added per VFIO ioctl, vfioscope trace / bpftrace printf per call", res, TRACE,
		    BT_PRINTF, WALL_VFIO);
	print_ratio("added per VFIO ioctl, strace / vfioscope trace", res, STRACE, TRACE,
		    WALL_VFIO);
	print_ratio("added per VFIO ioctl, strace / vfioscope maps only", res, STRACE, MAPS,
		    WALL_VFIO);
	return 0;
}
