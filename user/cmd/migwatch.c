// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migwatch.h"
#include "cmd.h"
#include "vfioscope/common/clock.h"
#include "vfioscope/tracer/tracer.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static int on_mig(void *ctx, const struct vfs_mig_event *ev)
{
	struct migwatch *w = ctx;

	return migrations__add(w->ms, ev);
}

static int on_call(void *ctx, const struct vfs_event *ev)
{
	struct migwatch *w = ctx;
	struct migwatch_call *c;

	if (!w->keep_calls)
		return 0;
	if (w->ncalls == w->calls_cap) {
		size_t cap = w->calls_cap * 2 + 1024;
		struct migwatch_call *n = realloc(w->calls, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		w->calls = n;
		w->calls_cap = cap;
	}
	c = &w->calls[w->ncalls++];
	c->ts_ns = ev->ts_ns;
	c->latency_ns = ev->latency_ns;
	c->ret = ev->ret;
	c->pid = ev->pid;
	c->tid = ev->tid;
	c->op = ev->op;
	memcpy(c->comm, ev->comm, sizeof(c->comm));
	c->comm[sizeof(c->comm) - 1] = '\0';
	memcpy(c->device, ev->device, sizeof(c->device));
	c->device[sizeof(c->device) - 1] = '\0';
	return 0;
}

static void report_start(const struct tracer *t, const char *cmd)
{
	const struct tracer_prog_status *p;
	int n = tracer__programs(t, &p);

	for (int i = 0; i < n; i++)
		if (!p[i].attached && p[i].role != TRACER_ROLE_MIGRATION)
			fprintf(stderr, "vfioscope %s: note: %s on %s: %s\n", cmd, p[i].name,
				p[i].target, p[i].why);
	fprintf(stderr, "vfioscope %s: tracing with %s (%s)\n", cmd, tracer__mode(t),
		tracer__reason(t));
	fflush(stderr);
}

int migwatch_run(struct migwatch *w)
{
	struct tracer_opts opts = { .sz = sizeof(opts),
				    .mode = w->mode,
				    .no_events = !w->keep_calls };
	struct tracer *t = NULL;
	uint64_t start;
	int err;

	err = tracer__new(&opts, &t);
	if (err)
		return err;
	err = migrations__new(&w->ms);
	if (err) {
		tracer__free(t);
		return err;
	}
	snprintf(w->tracer_mode, sizeof(w->tracer_mode), "%s", tracer__mode(t));
	tracer__on_migration(t, on_mig, w);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	report_start(t, w->cmd);
	start = clock_mono_ns();
	while (!stop) {
		err = tracer__poll(t, 50, on_call, w);
		if (err < 0) {
			fprintf(stderr, "vfioscope %s: failed to poll the tracer: %s\n", w->cmd,
				strerror(-err));
			break;
		}
		err = 0;
		if (w->count && migrations__finished(w->ms) >= w->count)
			break;
		if (w->duration_ns && clock_mono_ns() - start >= w->duration_ns)
			break;
	}
	/* what is still in the rings */
	if (!err)
		err = tracer__poll(t, 0, on_call, w) < 0 ? -EIO : 0;
	w->lost = tracer__lost_total(t);
	w->hook_err = tracer__migration_hooks_status(t, &w->hook_attaches);
	tracer__free(t);
	return err;
}

void migwatch_free(struct migwatch *w)
{
	migrations__free(w->ms);
	free(w->calls);
	w->ms = NULL;
	w->calls = NULL;
}

int migwatch_option(const char *cmd, int c, const char *arg, struct migwatch *w)
{
	int n, err;

	switch (c) {
	case 'd':
		return opt_duration_ns(cmd, "--duration", arg, 1,
				       7 * 24 * 3600ULL * 1000000000ULL, /* a week */
				       &w->duration_ns);
	case 'n':
		err = opt_int(cmd, "--count", arg, 1, 1000000, &n);
		w->count = n;
		return err;
	case 'm':
		if (strcmp(arg, "fentry") && strcmp(arg, "kprobe") && strcmp(arg, "tp_btf") &&
		    strcmp(arg, "raw_tp"))
			return bad_option(cmd, "--mode", arg,
					  "not one of fentry, kprobe, tp_btf, raw_tp");
		w->mode = arg;
		return 0;
	}
	return -1;
}
