// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "vfioscope/common/clock.h"
#include "vfioscope/common/json.h"
#include "vfioscope/tracer/decode.h"
#include "vfioscope/tracer/mirror.h"
#include "vfioscope/tracer/tracer.h"

#define CMD "trace"
/* parse_args: go on and trace (any other value is the exit status) */
#define RUN -1
/* the largest pid a 64-bit kernel hands out (PID_MAX_LIMIT) */
#define PID_MAX 4194304
/* a thread's comm is TASK_COMM_LEN (16) bytes with its NUL */
#define COMM_MAX	15
#define DURATION_MAX_NS (366ULL * 24 * 3600 * 1000000000ULL)

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

struct trace_args {
	struct tracer_opts topts; /* pid and comm are filtered in BPF */
	bool json;
	bool kernel_addresses; /* --json: the kernel's struct file addresses too */
	bool pin;
	uint64_t duration_ns; /* 0: until interrupted */
	uint64_t max_events; /* 0: no limit */
};

struct trace_ctx {
	bool json;
	bool kernel_addresses;
	uint64_t max_events;
	uint64_t printed;
	uint64_t seen; /* events received */
	int64_t mono_to_real;
	struct json_writer *jw;
};

/* The ring the calls travel in: 16 MiB holds about 120,000 calls, 60 ms of a flood of two
 * million a second, so a reader the scheduler leaves aside for a while loses none (docs/tracer.md,
 * "A flood"). `state` and `serve` stream no calls and keep the library's 1 MiB. */
#define TRACE_RINGBUF_DEFAULT (16u << 20)

/* The lines go out in large writes when nobody watches them scroll: a 1 MiB stdio buffer
 * (glibc picks 4 KiB for a pipe: a write, and a wakeup of the reading side, every 30 lines),
 * and a pipe that holds 1 MiB, so the reader of the pipe is not woken for each buffer. A
 * terminal keeps line buffering. */
static void output_setup(void)
{
	struct stat st;

	if (isatty(STDOUT_FILENO))
		return;
	setvbuf(stdout, NULL, _IOFBF, 1u << 20);
	/* best effort: a pipe that keeps its size still works */
	if (fstat(STDOUT_FILENO, &st) == 0 && S_ISFIFO(st.st_mode))
		fcntl(STDOUT_FILENO, F_SETPIPE_SZ, 1u << 20);
}

static void trace_usage(FILE *out)
{
	fprintf(out,
		"usage: vfioscope trace [--json] [--pid PID] [--comm COMM] [--duration TIME]\n"
		"                       [--count N] [--mode fentry|kprobe|tp_btf|raw_tp] [--no-pin]\n"
		"                       [--kernel-addresses] [--ringbuf-size SIZE]\n"
		"                       [--max-mappings N]\n\n"
		"Prints one line per VFIO/iommufd ioctl of any process: time, pid, comm, fd kind,\n"
		"op, decoded arguments (=> results), return value and latency. --json prints JSON\n"
		"lines. --pid and --comm (at most 15 characters, exact) keep one process's or\n"
		"thread name's calls, in the kernel. --duration is in seconds, or with a unit\n"
		"(500ms, 2m); --count stops after N lines. Files are named by vfioscope's ids, as\n"
		"in `vfioscope state`; --kernel-addresses also prints the kernel's struct file\n"
		"addresses in --json (for kernel debugging: they leak the kernel's memory\n"
		"layout). While it runs, the mirror maps are pinned in " TRACER_PIN_DIR "\n"
		"so that `vfioscope state` shows the state it tracks. When it stops it says on\n"
		"stderr how many calls it traced, printed and lost. --ringbuf-size sets the\n"
		"ring buffer the calls travel in (a power of two from the page size to 1G;\n"
		"default 16M): a call that finds it full is counted as lost, the state stays\n"
		"exact. --max-mappings\n"
		"sets how many DMA mappings the state holds (default 16384, at most 4194304): a\n"
		"container with more is marked incomplete. Needs CAP_BPF and CAP_PERFMON (or\n"
		"root).\n");
}

static int parse_mode(const char *s, struct tracer_opts *topts)
{
	static const char *const modes[] = { "fentry", "kprobe", "tp_btf", "raw_tp" };

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (!strcmp(s, modes[i])) {
			topts->mode = modes[i];
			return 0;
		}
	return bad_option(CMD, "--mode", s, "not one of fentry, kprobe, tp_btf, raw_tp");
}

static int parse_comm(const char *s, struct tracer_opts *topts)
{
	if (!*s)
		return bad_option(CMD, "--comm", s, "empty");
	/* the kernel keeps 15 characters: a longer name would never match */
	if (strlen(s) > COMM_MAX)
		return bad_option(CMD, "--comm", s, "longer than 15 characters");
	topts->comm = s;
	return 0;
}

static int parse_opt(int c, const char *arg, struct trace_args *a)
{
	switch (c) {
	case 'j':
		a->json = true;
		return 0;
	case 'p':
		return opt_int(CMD, "--pid", arg, 1, PID_MAX, &a->topts.pid);
	case 'c':
		return parse_comm(arg, &a->topts);
	case 'd':
		return opt_duration_ns(CMD, "--duration", arg, 1, DURATION_MAX_NS, &a->duration_ns);
	case 'n':
		return opt_u64(CMD, "--count", arg, 1, UINT64_MAX, &a->max_events);
	case 'm':
		return parse_mode(arg, &a->topts);
	case 'P':
		a->pin = false;
		return 0;
	case 'K':
		a->kernel_addresses = true;
		return 0;
	case 'T':
		a->topts.test_hook = true;
		return 0;
	case 'r':
		return opt_ringbuf_size(CMD, arg, &a->topts.ringbuf_size);
	case 'M':
		return opt_max_mappings(CMD, arg, &a->topts.max_mappings);
	}
	return 2;
}

/* Returns RUN, or the exit status. */
static int parse_args(int argc, char **argv, struct trace_args *a)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pid", required_argument, NULL, 'p' },
		{ "comm", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 'd' },
		{ "count", required_argument, NULL, 'n' },
		{ "mode", required_argument, NULL, 'm' },
		{ "no-pin", no_argument, NULL, 'P' },
		{ "kernel-addresses", no_argument, NULL, 'K' },
		{ "test-hook", no_argument, NULL, 'T' },
		{ "ringbuf-size", required_argument, NULL, 'r' },
		{ "max-mappings", required_argument, NULL, 'M' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	int c, err;

	*a = (struct trace_args){ .topts = { .sz = sizeof(a->topts),
					     .ringbuf_size = TRACE_RINGBUF_DEFAULT },
				  .pin = true };
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":jp:c:d:n:m:h", opts, NULL)) != -1) {
		if (c == '?' || c == ':')
			return bad_usage(CMD, c, argv);
		if (c == 'h') {
			trace_usage(stdout);
			return 0;
		}
		err = parse_opt(c, optarg, a);
		if (err)
			return err;
	}
	if (optind < argc)
		return stray_argument(CMD, argv[optind]);
	return RUN;
}

static int on_event(void *ctx, const struct vfs_event *ev)
{
	struct trace_ctx *tc = ctx;
	char line[1024];

	tc->seen++;
	if (tc->json) {
		decode_event_json(ev, tc->mono_to_real, tc->kernel_addresses, tc->jw);
	} else {
		int n = decode_event_text(ev, tc->mono_to_real, line, sizeof(line));

		/* the line as it is, without printf's parsing */
		fwrite(line, 1, n < (int)sizeof(line) ? n : (int)sizeof(line) - 1, stdout);
		putchar_unlocked('\n');
	}
	tc->printed++;
	if (tc->max_events && tc->printed >= tc->max_events)
		stop = 1;
	return 0;
}

static void report_lost(struct trace_ctx *tc, uint64_t lost)
{
	if (tc->json) {
		json_start_object(tc->jw);
		json_kv_u64(tc->jw, "lost_events", lost);
		json_kv_string(tc->jw, "note", "mirror possibly stale, rebuilt from the maps");
		json_end_object(tc->jw);
	} else {
		printf("*** %" PRIu64
		       " event(s) lost; mirror possibly stale, rebuilt from the maps\n",
		       lost);
	}
	fflush(stdout);
}

/* A hook that did not attach is said, and the rest keeps running. */
static void report_programs(const struct tracer *t)
{
	const struct tracer_prog_status *p;
	int n = tracer__programs(t, &p);

	for (int i = 0; i < n; i++)
		if (!p[i].attached)
			fprintf(stderr, "vfioscope: note: %s on %s: %s\n", p[i].name, p[i].target,
				p[i].why);
	fprintf(stderr, "vfioscope: tracing with %s (%s)\n", tracer__mode(t), tracer__reason(t));
	fflush(stderr);
}

/* Start the tracer and the mirror; on failure, what was set up is left for teardown(). */
static int setup(const struct trace_args *a, struct tracer **t, struct mirror **m,
		 struct trace_ctx *tc)
{
	int err;

	/* tracer__new says itself why no way in attached; only its first allocation is silent */
	err = tracer__new(&a->topts, t);
	if (err == -ENOMEM)
		fprintf(stderr, "vfioscope: failed to start the tracer: %s\n", strerror(-err));
	if (err)
		return err;
	if (a->pin) {
		err = tracer__pin(*t, TRACER_PIN_DIR);
		if (err)
			fprintf(stderr, "vfioscope: warning: failed to pin the mirror in %s: %s\n",
				TRACER_PIN_DIR, strerror(-err));
	}
	tc->json = a->json;
	tc->kernel_addresses = a->kernel_addresses;
	tc->max_events = a->max_events;
	tc->mono_to_real = (int64_t)(clock_real_ns() - clock_mono_ns());
	tc->jw = json_writer__new(stdout);
	err = tc->jw ? mirror__new(m) : -ENOMEM;
	if (err) {
		fprintf(stderr, "vfioscope: failed to set up the trace output: %s\n",
			strerror(-err));
		return err;
	}
	/* a failed load was logged; the mirror is rebuilt at the next lost event */
	mirror__load(*m, *t);
	return 0;
}

/* Poll until interrupted, --duration or --count; then drain what is left. */
static int run(const struct trace_args *a, struct tracer *t, struct mirror *m, struct trace_ctx *tc)
{
	uint64_t start = clock_mono_ns(), last_gc = clock_mono_s();
	int err = 0;

	while (!stop) {
		uint64_t before = tracer__lost_total(t);

		err = tracer__poll(t, 100, on_event, tc);
		if (err < 0) {
			fprintf(stderr, "vfioscope: failed to poll the ring buffer: %s\n",
				strerror(-err));
			break;
		}
		err = 0;
		fflush(stdout);
		if (tracer__lost_total(t) != before) {
			report_lost(tc, tracer__lost_total(t) - before);
			mirror__refresh(m, t);
		}
		/* exited processes leave their files in the maps: once a second */
		if ((uint64_t)clock_mono_s() != last_gc) {
			last_gc = clock_mono_s();
			mirror_gc(t);
		}
		if (a->duration_ns && clock_mono_ns() - start >= a->duration_ns)
			break;
	}
	tracer__poll(t, 0, on_event, tc);
	fflush(stdout);
	fprintf(stderr,
		"vfioscope: %" PRIu64 " calls traced, %" PRIu64 " printed, %" PRIu64 " lost\n",
		tc->seen, tc->printed, tracer__lost_total(t));
	return err;
}

static void teardown(struct tracer *t, struct mirror *m, struct trace_ctx *tc)
{
	mirror__free(m);
	json_writer__free(tc->jw);
	tracer__free(t);
}

int cmd_trace(int argc, char **argv)
{
	struct trace_ctx tc = { 0 };
	struct trace_args a;
	struct mirror *m = NULL;
	struct tracer *t = NULL;
	int err;

	err = parse_args(argc, argv, &a);
	if (err != RUN)
		return err;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	output_setup();
	err = setup(&a, &t, &m, &tc);
	if (!err) {
		report_programs(t);
		err = run(&a, t, m, &tc);
	}
	teardown(t, m, &tc);
	return err < 0 ? 1 : 0;
}
