// SPDX-License-Identifier: GPL-2.0
/*
 * The dirty tracking session `track` and `serve --track` share: option parsing, then the
 * privileged setup (container, devices, guest RAM, tracker started), syncs and teardown.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "track_session.h"
#include "vfioscope/common/log.h"

void track_options_usage(FILE *out)
{
	fprintf(out,
		"  -d, --device BDF        PCI device bound to vfio-pci (or a variant); repeatable\n"
		"  -l, --layout SPEC       guest RAM layout (default 64M): SIZE, or a list\n"
		"                          SIZE[@ADDR][:ram|:bar|:other],... plus 'viommu'\n"
		"                          e.g. 256M, 3G@0,1G@4G, 64M@0,32M@4G,viommu\n"
		"  -i, --interval TIME     time between syncs (default 1s; 500ms, 2s, 100us)\n"
		"  -c, --count N           stop after N syncs (default 5 unless --duration)\n"
		"  -D, --duration TIME     stop after this long\n"
		"  -m, --method M          auto (default), device, iommu or perpetual\n"
		"  -r, --ranges MODE       qemu (default: QEMU's range algorithm, <= 3 ranges)\n"
		"                          or exact (every mapped interval)\n"
		"  -b, --backend B         type1 (default) or iommufd\n"
		"  -w, --workload W        TEST AID: edu:IOVA[+LEN],... : before each sync, make\n"
		"                          QEMU's edu test device DMA LEN bytes (default 64, at most\n"
		"                          4095) to each IOVA (< 4 GiB; < 256 MiB with edu's default\n"
		"                          dma_mask)\n"
		"  -j, --json              JSON lines: start, one per sync, summary\n"
		"      --inject-fault F    TEST AID: make the Nth call of a step fail, F =\n"
		"                          STEP:N[:ERRNO], STEP one of dev_probe dev_start dev_stop\n"
		"                          dev_report iommu_probe iommu_start iommu_stop iommu_report\n");
}

enum {
	OPT_FAULT = 1000
};

static const struct option track_opts[] = {
	{ "device", required_argument, NULL, 'd' },
	{ "layout", required_argument, NULL, 'l' },
	{ "interval", required_argument, NULL, 'i' },
	{ "count", required_argument, NULL, 'c' },
	{ "duration", required_argument, NULL, 'D' },
	{ "method", required_argument, NULL, 'm' },
	{ "ranges", required_argument, NULL, 'r' },
	{ "backend", required_argument, NULL, 'b' },
	{ "workload", required_argument, NULL, 'w' },
	{ "json", no_argument, NULL, 'j' },
	{ "inject-fault", required_argument, NULL, OPT_FAULT },
	{ "help", no_argument, NULL, 'h' },
	{},
};

/* The long name of option @c, as the user knows it, for the one-line message. */
static const char *opt_name(int c)
{
	static char name[32];

	for (const struct option *o = track_opts; o->name; o++) {
		if (o->val == c) {
			snprintf(name, sizeof(name), "--%s", o->name);
			return name;
		}
	}
	return "option";
}

static int parse_word(const char *cmd, int c, const char *v, const char *const *words, int n,
		      int *out)
{
	for (int i = 0; i < n; i++) {
		if (!strcmp(v, words[i])) {
			*out = i;
			return 0;
		}
	}
	return bad_option(cmd, opt_name(c), v, "unknown value");
}

/* One option's value into @a: 0, or 2 after the one-line message. */
static int parse_one(struct track_args *a, const char *cmd, int c, const char *v)
{
	static const char *const ranges[] = { "qemu", "exact" };
	static const char *const backends[] = { "type1", "iommufd" };
	const uint64_t hour_ns = 3600ULL * 1000000000ULL;
	char err[160];
	const char *why;
	int i;

	switch (c) {
	case 'd':
		if (a->nr_devices >= TRACK_MAX_DEVICES)
			return bad_option(cmd, "--device", v, "at most 16 devices");
		a->devices[a->nr_devices++] = v;
		return 0;
	case 'l':
		if (layout_parse(v, &a->layout, err, sizeof(err)))
			return bad_option(cmd, "--layout", v, err);
		return 0;
	case 'i':
		return opt_duration_ns(cmd, "--interval", v, 1000, hour_ns, &a->interval_ns);
	case 'c':
		return opt_u64(cmd, "--count", v, 1, UINT32_MAX, &a->count);
	case 'D':
		return opt_duration_ns(cmd, "--duration", v, 1000, 7 * 24 * hour_ns,
				       &a->duration_ns);
	case 'm':
		if (tracker_method_parse(v, &a->method))
			return bad_option(cmd, "--method", v,
					  "not auto, device, iommu or perpetual");
		return 0;
	case 'r':
		if (parse_word(cmd, c, v, ranges, 2, &i))
			return 2;
		a->ranges = i ? TRACKER_RANGES_EXACT : TRACKER_RANGES_QEMU;
		return 0;
	case 'b':
		if (parse_word(cmd, c, v, backends, 2, &i))
			return 2;
		a->backend = i ? VFIO_BACKEND_IOMMUFD : VFIO_BACKEND_TYPE1;
		return 0;
	case 'w':
		if (edu_workload_parse(v, &a->workload, &why))
			return bad_option(cmd, "--workload", v, why);
		return 0;
	case 'j':
		a->json = true;
		return 0;
	case OPT_FAULT:
		if (tracker_fault_parse(v, &a->fault))
			return bad_option(cmd, "--inject-fault", v, "not STEP:N[:ERRNO]");
		a->fault_set = true;
		return 0;
	}
	return 2;
}

int track_args_parse(struct track_args *a, const char *cmd, int argc, char **argv)
{
	char err[160];
	int c;

	memset(a, 0, sizeof(*a));
	a->interval_ns = 1000000000ULL;
	if (layout_parse("64M", &a->layout, err, sizeof(err)))
		return 2;
	optind = 1;
	opterr = 0; /* one line per mistake, ours */
	while ((c = getopt_long(argc, argv, ":d:l:i:c:D:m:r:b:w:jh", track_opts, NULL)) != -1) {
		if (c == 'h')
			return -1;
		if (c == '?' || c == ':')
			return bad_option(cmd, "option", argv[optind - 1],
					  c == ':' ? "needs a value" : "unknown option");
		if (parse_one(a, cmd, c, optarg))
			return 2;
	}
	if (optind < argc)
		return bad_option(cmd, "argument", argv[optind], "unexpected");
	if (!a->nr_devices) {
		fprintf(stderr, "vfioscope %s: at least one --device is needed\n", cmd);
		return 2;
	}
	if (!a->count && !a->duration_ns)
		a->count = 5;
	return 0;
}

static int open_devices(struct track_session *ts)
{
	struct track_args *a = ts->a;
	int err;

	err = vfio_container__open(a->backend, &ts->c);
	if (err)
		return err;
	for (size_t i = 0; i < a->nr_devices; i++) {
		struct vfio_dev *d;

		err = vfio_container__add_device(ts->c, a->devices[i], &d);
		if (err)
			return err;
		ts->tdevs[i] = (struct tracker_device){ d, vfio_dev__name(d) };
		/* without it a removal of the device would wait until we exit */
		err = vfio_dev__watch_request(d);
		if (err >= 0)
			ts->req_fds[ts->nr_req_fds++] = err;
	}
	if (a->workload.nr) {
		ts->edu = ts->tdevs[0].dev;
		return edu_prepare(ts->edu);
	}
	return 0;
}

static int map_ram(struct track_session *ts)
{
	int err;

	err = guest_ram__map(ts->c, &ts->a->layout, (uint64_t)sysconf(_SC_PAGESIZE), &ts->ram);
	if (err)
		return err;
	ts->mapped = true;
	return edu_check_targets(&ts->a->workload, &ts->ram);
}

int track_session_setup(struct track_session *ts, struct track_args *a, tracker_sync_fn on_sync,
			void *ctx)
{
	struct tracker_opts topts = {
		.sz = sizeof(topts),
		.devices = ts->tdevs,
		.nr_devices = a->nr_devices,
		.sections = a->layout.sections,
		.nr_sections = a->layout.nr,
		.viommu = a->layout.viommu,
		.method = a->method,
		.range_mode = a->ranges,
		.on_sync = on_sync,
		.on_sync_ctx = ctx,
	};
	int err;

	ts->a = a;
	err = open_devices(ts);
	if (!err)
		err = map_ram(ts);
	if (err)
		return err;
	topts.container = ts->c;
	if (a->fault_set) {
		a->fault.inner = &tracker_vfio_ops;
		topts.ops = &tracker_fault_ops;
		topts.ops_ctx = &a->fault;
	}
	err = tracker__new(&topts, &ts->t);
	if (err) {
		pr_err("failed to set up dirty tracking: %s", strerror(-err));
		return err;
	}
	return tracker__start(ts->t);
}

int track_session_sync(struct track_session *ts)
{
	int err;

	if (ts->edu) {
		err = edu_run(ts->edu, &ts->a->workload, ts->stop);
		if (err) {
			tracker__stop(ts->t);
			return err;
		}
		if (ts->stop && *ts->stop)
			return 0; /* stopping: a sync after a cut-short workload tells nothing */
	}
	return tracker__sync(ts->t, NULL); /* on failure the tracker has stopped itself */
}

int track_session_check_requests(struct track_session *ts)
{
	char why[160];

	for (size_t i = 0; ts->t && i < ts->a->nr_devices; i++) {
		if (!vfio_dev__requested(ts->tdevs[i].dev))
			continue;
		snprintf(why, sizeof(why),
			 "%s is being removed (the kernel asked for the device back): dirty "
			 "tracking stopped and the device released",
			 ts->tdevs[i].name);
		pr_err("%s", why);
		tracker__abort(ts->t, why);
		return -ENODEV;
	}
	return 0;
}

void track_session_teardown(struct track_session *ts)
{
	tracker__free(ts->t);
	ts->t = NULL;
	if (ts->mapped)
		guest_ram__unmap(ts->c, &ts->ram);
	ts->mapped = false;
	vfio_container__free(ts->c); /* closes the request eventfds */
	ts->c = NULL;
	ts->nr_req_fds = 0;
}

const char *track_session_backend(const struct track_session *ts)
{
	return vfio_container__backend_name(ts->c);
}

const char *track_session_method(const struct track_session *ts, enum tracker_method m)
{
	return dirty_method_name(tracker_dirty_method(m, ts->a->backend == VFIO_BACKEND_IOMMUFD));
}
