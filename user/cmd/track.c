// SPDX-License-Identifier: GPL-2.0
/*
 * vfioscope track: the controller. Takes VFIO devices into one container, maps memory laid
 * out like a VM's RAM, runs dirty tracking (device -> IOMMU -> perpetual) and syncs on an
 * interval, printing one line per sync and a summary.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "cmd.h"
#include "vfioscope/common/bitmap.h"
#include "vfioscope/common/json.h"
#include "vfioscope/common/log.h"
#include "vfioscope/common/ranges.h"
#include "vfioscope/tracker/tracker.h"
#include "vfioscope/tracker/vfio.h"

#define MAX_DEVICES	 16
#define MAX_TARGETS	 64
#define MAX_LISTED_IOVAS 64

/* edu (QEMU hw/misc/edu.c): DMA registers in BAR0; the buffer sits at 0x40000 in edu space */
#define EDU_ID	       0x11e81234u
#define EDU_REG_SRC    0x80
#define EDU_REG_DST    0x88
#define EDU_REG_CNT    0x90
#define EDU_REG_CMD    0x98
#define EDU_CMD_RUN    0x1
#define EDU_CMD_TO_RAM 0x2
#define EDU_BUF	       0x40000
#define EDU_BUF_SIZE   0x1000

static volatile sig_atomic_t stop_requested, sync_requested;

struct edu_target {
	uint64_t iova;
	uint32_t len;
};

struct track_args {
	const char *devices[MAX_DEVICES];
	size_t nr_devices;
	enum vfio_backend backend;
	struct layout layout;
	uint64_t interval_ns;
	uint64_t count;
	uint64_t duration_ns;
	enum tracker_method method;
	enum tracker_range_mode ranges;
	struct edu_target targets[MAX_TARGETS];
	size_t nr_targets;
	bool json;
	bool fault_set;
	struct tracker_fault fault;
};

struct track_out {
	struct json_writer *jw;
	struct tracker *t;
};

static void track_usage(FILE *out)
{
	fprintf(out,
		"usage: vfioscope track --device BDF [--device BDF ...] [options]\n\n"
		"Runs real dirty tracking against VFIO devices, the way QEMU does for live\n"
		"migration: one container, memory mapped like a VM's RAM, device DMA logging when\n"
		"every device supports it, else the IOMMU's dirty tracking, else every page dirty.\n\n"
		"  -d, --device BDF        PCI device bound to vfio-pci (or a variant); repeatable\n"
		"  -l, --layout SPEC       guest RAM layout (default 64M): SIZE, or a list\n"
		"                          SIZE[@ADDR][:ram|:bar|:other],... plus 'viommu'\n"
		"                          e.g. 256M, 3G@0,1G@4G, 64M@0,32M@4G,viommu\n"
		"  -i, --interval TIME     time between syncs (default 1s; 500ms, 2s, 100us)\n"
		"  -c, --count N           stop after N syncs (default 5 unless --duration)\n"
		"  -D, --duration TIME     stop after this long\n"
		"  -m, --method M          auto (default), device, iommu or perpetual\n"
		"  -r, --ranges MODE       seed (default: <= 3 ranges, as QEMU) or exact\n"
		"  -b, --backend B         type1 (default) or iommufd\n"
		"  -w, --workload W        edu:IOVA[+LEN],... : before each sync, make the edu\n"
		"                          device DMA LEN bytes (default 64, at most 4095) to each\n"
		"                          IOVA (< 4 GiB; < 256 MiB with edu's default dma_mask)\n"
		"  -j, --json              JSON lines: start, one per sync, summary\n"
		"      --inject-fault F    testing: make the Nth call of a step fail, F =\n"
		"                          STEP:N[:ERRNO], STEP one of dev_probe dev_start dev_stop\n"
		"                          dev_report iommu_probe iommu_start iommu_stop iommu_report\n\n"
		"SIGUSR1 makes a sync at once (on demand); SIGINT/SIGTERM stop tracking and exit.\n"
		"Exit status: 0 when tracking started, every sync worked and tracking stopped\n"
		"cleanly (also after SIGINT/SIGTERM); 1 on any failure, named by step and device;\n"
		"2 on a usage error.\n");
}

static int parse_time(const char *s, uint64_t *ns)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || v < 0)
		return -EINVAL;
	if (!*end || !strcmp(end, "s"))
		v *= 1e9;
	else if (!strcmp(end, "ms"))
		v *= 1e6;
	else if (!strcmp(end, "us"))
		v *= 1e3;
	else if (!strcmp(end, "m"))
		v *= 60e9;
	else
		return -EINVAL;
	*ns = (uint64_t)v;
	return 0;
}

static int parse_workload(const char *s, struct track_args *a)
{
	char *copy, *tok, *save = NULL;
	int err = 0;

	if (strncmp(s, "edu:", 4))
		return -EINVAL;
	copy = strdup(s + 4);
	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct edu_target *t = &a->targets[a->nr_targets];
		unsigned long long v, len = 64;
		char *end;

		if (a->nr_targets >= MAX_TARGETS) {
			err = -E2BIG;
			break;
		}
		v = strtoull(tok, &end, 0);
		if (end == tok || (*end && *end != '+')) {
			err = -EINVAL;
			break;
		}
		if (*end == '+') {
			char *e2;

			len = strtoull(end + 1, &e2, 0);
			if (*e2 || !len || len >= EDU_BUF_SIZE) {
				err = -EINVAL;
				break;
			}
		}
		/* through pwrite an 8-byte register write becomes two 4-byte ones and edu ignores
		 * the high half (test-device.md §2.6): only 32-bit addresses can be programmed */
		if (v + len > (1ULL << 32)) {
			err = -ERANGE;
			break;
		}
		t->iova = v;
		t->len = len;
		a->nr_targets++;
	}
	free(copy);
	return err;
}

/* ---- the edu workload ---- */

static int edu_reg_write(struct vfio_dev *d, uint64_t reg, uint32_t v)
{
	return vfio_dev__write(d, VFIO_PCI_BAR0_REGION_INDEX, reg, &v, sizeof(v));
}

static int edu_prepare(struct vfio_dev *d)
{
	uint32_t id;
	uint16_t cmd;
	int err;

	err = vfio_dev__read(d, VFIO_PCI_CONFIG_REGION_INDEX, 0, &id, sizeof(id));
	if (err)
		return err;
	if (id != EDU_ID) {
		pr_err("failed to use %s for the edu workload: PCI ID %04x:%04x is not edu "
		       "(1234:11e8)",
		       vfio_dev__name(d), id & 0xffff, id >> 16);
		return -ENODEV;
	}
	/* bus master + memory space, or edu's DMA goes nowhere */
	err = vfio_dev__read(d, VFIO_PCI_CONFIG_REGION_INDEX, 4, &cmd, sizeof(cmd));
	if (err)
		return err;
	cmd |= 0x6;
	return vfio_dev__write(d, VFIO_PCI_CONFIG_REGION_INDEX, 4, &cmd, sizeof(cmd));
}

static int edu_dma_to_ram(struct vfio_dev *d, const struct edu_target *t)
{
	uint32_t cmd = 0;
	int err;

	err = edu_reg_write(d, EDU_REG_SRC, EDU_BUF);
	if (!err)
		err = edu_reg_write(d, EDU_REG_DST, (uint32_t)t->iova);
	if (!err)
		err = edu_reg_write(d, EDU_REG_CNT, t->len);
	if (!err)
		err = edu_reg_write(d, EDU_REG_CMD, EDU_CMD_RUN | EDU_CMD_TO_RAM);
	if (err)
		return err;
	/* the transfer lands about 100 ms of virtual time after the command */
	for (int i = 0; i < 500; i++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		err = vfio_dev__read(d, VFIO_PCI_BAR0_REGION_INDEX, EDU_REG_CMD, &cmd, sizeof(cmd));
		if (err)
			return err;
		if (!(cmd & EDU_CMD_RUN))
			return 0;
		nanosleep(&ts, NULL);
	}
	pr_err("failed to complete edu DMA to IOVA 0x%llx on %s: still running after 5 s",
	       (unsigned long long)t->iova, vfio_dev__name(d));
	return -ETIMEDOUT;
}

/* ---- output ---- */

static void print_start(struct track_out *o, const struct track_args *a)
{
	const struct iova_range *r;
	size_t n = tracker__ranges(o->t, &r);
	enum tracker_method m = tracker__method(o->t);
	const char *why = tracker__fallback_reason(o->t);

	if (o->jw) {
		json_start_object(o->jw);
		json_kv_string(o->jw, "event", "start");
		json_kv_string(o->jw, "backend", vfio_backend_name(a->backend));
		json_kv_string(o->jw, "method", tracker_method_name(m));
		json_kv_bool(o->jw, "perpetual_fallback",
			     m == TRACKER_METHOD_PERPETUAL && a->method != m);
		if (why[0])
			json_kv_string(o->jw, "fallback_reason", why);
		json_kv_u64(o->jw, "page_size", tracker__page_size(o->t));
		json_kv_u64(o->jw, "tracked_bytes", tracker__tracked_bytes(o->t));
		json_name(o->jw, "devices");
		json_start_array(o->jw);
		for (size_t i = 0; i < a->nr_devices; i++)
			json_string(o->jw, a->devices[i]);
		json_end_array(o->jw);
		json_name(o->jw, "ranges");
		json_start_array(o->jw);
		for (size_t i = 0; m == TRACKER_METHOD_DEVICE && i < n; i++) {
			json_start_object(o->jw);
			json_kv_hex(o->jw, "iova", r[i].iova);
			json_kv_hex(o->jw, "length", r[i].length);
			json_end_object(o->jw);
		}
		json_end_array(o->jw);
		json_end_object(o->jw);
		return;
	}
	printf("tracking %llu MiB on %zu device(s) with %s dirty tracking (%s backend, %llu-byte "
	       "pages)\n",
	       (unsigned long long)(tracker__tracked_bytes(o->t) >> 20), a->nr_devices,
	       tracker_method_name(m), vfio_backend_name(a->backend),
	       (unsigned long long)tracker__page_size(o->t));
	if (m == TRACKER_METHOD_PERPETUAL)
		printf("  PERPETUAL DIRTY: no tracker available, every page is reported dirty on "
		       "every sync\n");
	if (why[0])
		printf("  not %s: %s\n", m == TRACKER_METHOD_IOMMU ? "device" : "better", why);
	for (size_t i = 0; m == TRACKER_METHOD_DEVICE && i < n; i++)
		printf("  range %zu: iova 0x%llx length 0x%llx\n", i, (unsigned long long)r[i].iova,
		       (unsigned long long)r[i].length);
	fflush(stdout);
}

static void on_sync(const struct tracker_sync_stats *s, void *ctx)
{
	struct track_out *o = ctx;
	const struct bitmap *b = tracker__bitmap(o->t);
	uint64_t page, iova, listed = 0;

	if (o->jw) {
		json_start_object(o->jw);
		json_kv_string(o->jw, "event", "sync");
		json_kv_u64(o->jw, "seq", s->seq);
		json_kv_string(o->jw, "method", tracker_method_name(s->method));
		json_kv_u64(o->jw, "duration_ns", s->duration_ns);
		json_kv_u64(o->jw, "bitmap_bytes", s->bitmap_bytes);
		json_kv_u64(o->jw, "queries", s->queries);
		json_kv_u64(o->jw, "dirty_pages", s->dirty_pages);
		json_kv_u64(o->jw, "tracked_pages", s->tracked_pages);
		json_name(o->jw, "dirty_iovas");
		json_start_array(o->jw);
		for (page = bitmap__next_set(b, 0);
		     page < bitmap__pages(b) && listed < MAX_LISTED_IOVAS;
		     page = bitmap__next_set(b, page + 1), listed++)
			if (!tracker__page_iova(o->t, page, &iova)) {
				char hex[24];

				/* hex strings: IOVAs exceed the 2^53 a JSON number holds */
				snprintf(hex, sizeof(hex), "0x%llx", (unsigned long long)iova);
				json_string(o->jw, hex);
			}
		json_end_array(o->jw);
		json_kv_bool(o->jw, "dirty_iovas_truncated", s->dirty_pages > listed);
		json_end_object(o->jw);
		return;
	}
	printf("sync %llu: %s, %llu dirty pages of %llu, bitmap %llu bytes in %llu queries, "
	       "%.3f ms\n",
	       (unsigned long long)s->seq, tracker_method_name(s->method),
	       (unsigned long long)s->dirty_pages, (unsigned long long)s->tracked_pages,
	       (unsigned long long)s->bitmap_bytes, (unsigned long long)s->queries,
	       s->duration_ns / 1e6);
	if (s->dirty_pages && s->dirty_pages <= 16) {
		printf("  dirty:");
		for (page = bitmap__next_set(b, 0); page < bitmap__pages(b);
		     page = bitmap__next_set(b, page + 1))
			if (!tracker__page_iova(o->t, page, &iova))
				printf(" 0x%llx", (unsigned long long)iova);
		printf("\n");
	}
	fflush(stdout);
}

static void print_summary(struct track_out *o, int err, bool interrupted)
{
	const struct tracker_totals *tt = tracker__totals(o->t);
	uint64_t mean = tt->syncs ? tt->duration_ns / tt->syncs : 0;

	if (o->jw) {
		json_start_object(o->jw);
		json_kv_string(o->jw, "event", "summary");
		json_kv_string(o->jw, "result", err ? "error" : "ok");
		if (err)
			json_kv_string(o->jw, "error", tracker__error(o->t));
		json_kv_bool(o->jw, "interrupted", interrupted);
		json_kv_string(o->jw, "method", tracker_method_name(tracker__method(o->t)));
		json_kv_u64(o->jw, "syncs", tt->syncs);
		json_kv_u64(o->jw, "dirty_pages_total", tt->dirty_pages);
		json_kv_u64(o->jw, "bitmap_bytes_total", tt->bitmap_bytes);
		json_kv_u64(o->jw, "queries_total", tt->queries);
		json_kv_u64(o->jw, "duration_ns_total", tt->duration_ns);
		json_kv_u64(o->jw, "duration_ns_min", tt->min_duration_ns);
		json_kv_u64(o->jw, "duration_ns_mean", mean);
		json_kv_u64(o->jw, "duration_ns_max", tt->max_duration_ns);
		json_kv_u64(o->jw, "errors", tt->errors);
		json_kv_bool(o->jw, "tracking_active", tracker__active(o->t));
		json_end_object(o->jw);
		return;
	}
	printf("summary: %s%s, %llu syncs with %s tracking, %llu dirty pages, %llu bitmap bytes, "
	       "sync min/mean/max %.3f/%.3f/%.3f ms\n",
	       err ? "FAILED" : "ok", interrupted ? " (interrupted)" : "",
	       (unsigned long long)tt->syncs, tracker_method_name(tracker__method(o->t)),
	       (unsigned long long)tt->dirty_pages, (unsigned long long)tt->bitmap_bytes,
	       tt->min_duration_ns / 1e6, mean / 1e6, tt->max_duration_ns / 1e6);
	if (err)
		printf("  error: %s\n", tracker__error(o->t));
}

/* ---- main loop ---- */

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		sync_requested = 1;
	else
		stop_requested = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* Sleeps until deadline, a stop or an on-demand sync. */
static void sleep_until(uint64_t deadline)
{
	while (!stop_requested && !sync_requested) {
		uint64_t now = now_ns();
		struct timespec ts;

		if (now >= deadline)
			return;
		ts.tv_sec = (deadline - now) / 1000000000ULL;
		ts.tv_nsec = (deadline - now) % 1000000000ULL;
		if (nanosleep(&ts, NULL) && errno != EINTR)
			return;
	}
}

/* Every DMA target must land in mapped RAM, or the IOMMU faults the transfer. */
static int check_targets(const struct track_args *a, const struct guest_ram *ram)
{
	for (size_t i = 0; i < a->nr_targets; i++) {
		const struct edu_target *t = &a->targets[i];

		if (!guest_ram__host(ram, t->iova) || !guest_ram__host(ram, t->iova + t->len - 1)) {
			pr_err("failed to use workload target 0x%llx+%u: not inside one mapped RAM "
			       "section of the layout",
			       (unsigned long long)t->iova, t->len);
			return -EINVAL;
		}
		if (t->iova + t->len > (1ULL << 28))
			pr_warn("workload target 0x%llx is above 256 MiB: edu's default dma_mask "
				"clips it unless the VM sets edu,dma_mask=...",
				(unsigned long long)t->iova);
	}
	return 0;
}

static int run_workload(struct vfio_dev *edu, const struct track_args *a)
{
	for (size_t i = 0; i < a->nr_targets && !stop_requested; i++) {
		int err = edu_dma_to_ram(edu, &a->targets[i]);

		if (err)
			return err;
	}
	return 0;
}

static int track_run(struct track_args *a)
{
	struct tracker_device tdevs[MAX_DEVICES];
	struct vfio_container *c = NULL;
	struct tracker_opts topts = { .sz = sizeof(topts) };
	struct track_out out = {};
	struct sigaction sa = {};
	struct guest_ram ram = {};
	bool mapped = false, interrupted = false;
	struct vfio_dev *edu = NULL;
	uint64_t start, next;
	int err;

	sa.sa_handler = on_signal; /* no SA_RESTART: a signal ends the sleep at once */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);

	if (a->json) {
		out.jw = json_writer__new(stdout);
		if (!out.jw)
			return 1;
	}
	err = vfio_container__open(a->backend, &c);
	if (err)
		goto out;
	for (size_t i = 0; i < a->nr_devices; i++) {
		struct vfio_dev *d;

		err = vfio_container__add_device(c, a->devices[i], &d);
		if (err)
			goto out;
		tdevs[i] = (struct tracker_device){ d, vfio_dev__name(d) };
	}
	if (a->nr_targets) {
		edu = tdevs[0].dev;
		err = edu_prepare(edu);
		if (err)
			goto out;
	}
	err = guest_ram__map(c, &a->layout, (uint64_t)sysconf(_SC_PAGESIZE), &ram);
	if (err)
		goto out;
	mapped = true;
	err = check_targets(a, &ram);
	if (err)
		goto out;

	topts.container = c;
	topts.devices = tdevs;
	topts.nr_devices = a->nr_devices;
	topts.sections = a->layout.sections;
	topts.nr_sections = a->layout.nr;
	topts.viommu = a->layout.viommu;
	topts.method = a->method;
	topts.range_mode = a->ranges;
	topts.on_sync = on_sync;
	topts.on_sync_ctx = &out;
	if (a->fault_set) {
		a->fault.inner = &tracker_vfio_ops;
		topts.ops = &tracker_fault_ops;
		topts.ops_ctx = &a->fault;
	}
	err = tracker__new(&topts, &out.t);
	if (err) {
		pr_err("failed to set up dirty tracking: %s", strerror(-err));
		goto out;
	}
	err = tracker__start(out.t);
	if (err)
		goto summary;
	print_start(&out, a);

	start = now_ns();
	next = start;
	for (uint64_t n = 0; !stop_requested; n++) {
		if (a->count && n >= a->count)
			break;
		next += a->interval_ns;
		if (a->duration_ns && next - start > a->duration_ns)
			break;
		if (edu) {
			err = run_workload(edu, a);
			if (err) {
				tracker__stop(out.t);
				goto summary;
			}
		}
		sleep_until(next);
		if (stop_requested)
			break;
		if (sync_requested) {
			/* on demand: sync now, the next one an interval from now */
			sync_requested = 0;
			next = now_ns();
		}
		err = tracker__sync(out.t, NULL);
		if (err)
			goto summary; /* the tracker has stopped itself */
	}
	interrupted = stop_requested;
	err = tracker__stop(out.t);
summary:
	print_summary(&out, err, interrupted);
out:
	tracker__free(out.t);
	if (mapped)
		guest_ram__unmap(c, &ram);
	vfio_container__free(c);
	json_writer__free(out.jw);
	return err ? 1 : 0;
}

int cmd_track(int argc, char **argv)
{
	enum {
		OPT_FAULT = 1000
	};
	static const struct option opts[] = {
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
	static struct track_args a;
	const char *layout = "64M";
	char err[160];
	int c;

	memset(&a, 0, sizeof(a));
	a.interval_ns = 1000000000ULL;
	optind = 1;
	while ((c = getopt_long(argc, argv, "d:l:i:c:D:m:r:b:w:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (a.nr_devices >= MAX_DEVICES) {
				fprintf(stderr, "vfioscope track: at most %d devices\n",
					MAX_DEVICES);
				return 2;
			}
			a.devices[a.nr_devices++] = optarg;
			break;
		case 'l':
			layout = optarg;
			break;
		case 'i':
			if (parse_time(optarg, &a.interval_ns) || !a.interval_ns)
				goto bad;
			break;
		case 'c':
			a.count = strtoull(optarg, NULL, 0);
			if (!a.count)
				goto bad;
			break;
		case 'D':
			if (parse_time(optarg, &a.duration_ns) || !a.duration_ns)
				goto bad;
			break;
		case 'm':
			if (tracker_method_parse(optarg, &a.method))
				goto bad;
			break;
		case 'r':
			if (!strcmp(optarg, "seed"))
				a.ranges = TRACKER_RANGES_SEED;
			else if (!strcmp(optarg, "exact"))
				a.ranges = TRACKER_RANGES_EXACT;
			else
				goto bad;
			break;
		case 'b':
			if (!strcmp(optarg, "type1"))
				a.backend = VFIO_BACKEND_TYPE1;
			else if (!strcmp(optarg, "iommufd"))
				a.backend = VFIO_BACKEND_IOMMUFD;
			else
				goto bad;
			break;
		case 'w':
			if (parse_workload(optarg, &a))
				goto bad;
			break;
		case 'j':
			a.json = true;
			break;
		case OPT_FAULT:
			if (tracker_fault_parse(optarg, &a.fault))
				goto bad;
			a.fault_set = true;
			break;
		case 'h':
			track_usage(stdout);
			return 0;
		default:
			track_usage(stderr);
			return 2;
		}
	}
	if (optind < argc || !a.nr_devices) {
		fprintf(stderr, "vfioscope track: %s\n",
			optind < argc ? "unexpected argument" : "at least one --device is needed");
		track_usage(stderr);
		return 2;
	}
	if (layout_parse(layout, &a.layout, err, sizeof(err))) {
		fprintf(stderr, "vfioscope track: bad --layout: %s\n", err);
		return 2;
	}
	if (!a.count && !a.duration_ns)
		a.count = 5;
	return track_run(&a);
bad:
	fprintf(stderr, "vfioscope track: bad value '%s' for %s\n", optarg, argv[optind - 1]);
	return 2;
}
