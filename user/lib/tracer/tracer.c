// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "vfioscope/tracer/decode.h"
#include "vfioscope/tracer/tracer.h"
#include "vfioscope/common/clock.h"
#include "vfioscope/common/log.h"
/* after events.h (through tracer.h): the skeleton names its types */
#include "tracer.skel.h"

#define BPF_FS_MAGIC 0xcafe4a11

enum flavor {
	FL_FENTRY, /* fentry/fexit */
	FL_KPROBE, /* kprobe/kretprobe */
	FL_TP_BTF,
	FL_RAW_TP,
};

enum mode_id {
	MODE_FENTRY,
	MODE_KPROBE,
	MODE_TP_BTF,
	MODE_RAW_TP,
	MODES
};

static const char *const mode_names[MODES] = { "fentry", "kprobe", "tp_btf", "raw_tp" };

struct prog_def {
	const char *name;
	/* where the skeleton keeps the program: a renamed program fails to compile here */
	size_t skel_off;
	const char *target;
	enum tracer_prog_role role;
	enum flavor flavor;
	bool required; /* the way in fails without it */
};

/* name and skeleton member from one token */
#define PROG(p) #p, offsetof(struct tracer_bpf, progs.p)

#define HANDLER(fn, req)                                                        \
	{ PROG(fentry_##fn), #fn, TRACER_ROLE_WAY_IN, FL_FENTRY, req },         \
		{ PROG(fexit_##fn), #fn, TRACER_ROLE_WAY_IN, FL_FENTRY, req },  \
		{ PROG(kprobe_##fn), #fn, TRACER_ROLE_WAY_IN, FL_KPROBE, req }, \
	{                                                                       \
		PROG(kretprobe_##fn), #fn, TRACER_ROLE_WAY_IN, FL_KPROBE, req   \
	}
#define RELEASE(fn)                                                           \
	{ PROG(fentry_##fn), #fn, TRACER_ROLE_RELEASE, FL_FENTRY, false },    \
	{                                                                     \
		PROG(kprobe_##fn), #fn, TRACER_ROLE_RELEASE, FL_KPROBE, false \
	}

static const struct prog_def prog_defs[] = {
	{ PROG(tp_sys_enter), "sys_enter", TRACER_ROLE_WAY_IN, FL_TP_BTF, true },
	{ PROG(tp_sys_exit), "sys_exit", TRACER_ROLE_WAY_IN, FL_TP_BTF, true },
	{ PROG(raw_sys_enter), "sys_enter", TRACER_ROLE_WAY_IN, FL_RAW_TP, true },
	{ PROG(raw_sys_exit), "sys_exit", TRACER_ROLE_WAY_IN, FL_RAW_TP, true },
	HANDLER(vfio_fops_unl_ioctl, true),
	HANDLER(vfio_group_fops_unl_ioctl, true),
	HANDLER(vfio_device_fops_unl_ioctl, true),
	HANDLER(iommufd_fops_ioctl, false),
	RELEASE(vfio_fops_release),
	RELEASE(vfio_group_fops_release),
	RELEASE(vfio_device_fops_release),
	RELEASE(iommufd_fops_release),
	{ PROG(mig_sys_enter), "sys_enter", TRACER_ROLE_MIGRATION, FL_TP_BTF },
	{ PROG(mig_sys_exit), "sys_exit", TRACER_ROLE_MIGRATION, FL_TP_BTF },
	{ PROG(fentry_iova_bitmap_set), "iova_bitmap_set", TRACER_ROLE_KERNEL_HOOK, FL_FENTRY },
	{ PROG(kprobe_iova_bitmap_set), "iova_bitmap_set", TRACER_ROLE_KERNEL_HOOK, FL_KPROBE },
	{ PROG(fexit_vfio_pin_pages_remote), "vfio_pin_pages_remote", TRACER_ROLE_KERNEL_HOOK,
	  FL_FENTRY },
	{ PROG(kretprobe_vfio_pin_pages_remote), "vfio_pin_pages_remote", TRACER_ROLE_KERNEL_HOOK,
	  FL_KPROBE },
	{ PROG(fexit_vfio_unpin_pages_remote), "vfio_unpin_pages_remote", TRACER_ROLE_KERNEL_HOOK,
	  FL_FENTRY },
	{ PROG(kretprobe_vfio_unpin_pages_remote), "vfio_unpin_pages_remote",
	  TRACER_ROLE_KERNEL_HOOK, FL_KPROBE },
};

static struct bpf_program *prog_of(struct tracer_bpf *skel, const struct prog_def *d)
{
	return *(struct bpf_program **)((char *)skel + d->skel_off);
}

#define NPROGS (sizeof(prog_defs) / sizeof(prog_defs[0]))

static const char *const map_names[TRACER_MAPS] = {
	[TRACER_MAP_FILES] = "files",
	[TRACER_MAP_CONTAINERS] = "containers",
	[TRACER_MAP_MAPPINGS] = "mappings",
	[TRACER_MAP_SESSIONS] = "sessions",
	[TRACER_MAP_HISTS] = "hists",
	[TRACER_MAP_ERRORS] = "errors",
	[TRACER_MAP_LOST] = "lost",
	[TRACER_MAP_KSTATS] = "kstats",
	[TRACER_MAP_INFLIGHT] = "inflight_slots",
	[TRACER_MAP_HWPTS] = "hwpts",
};

struct tracer {
	struct tracer_bpf *skel;
	struct bpf_link *links[NPROGS];
	struct ring_buffer *rb;
	int map_fds[TRACER_MAPS];
	bool own_fds; /* map fds from bpf_obj_get, closed by us */
	const char *mode;
	char reason[512];
	struct tracer_prog_status progs[NPROGS];
	int nprogs;
	char pin_dir[256];
	tracer_event_fn cb;
	void *cb_ctx;
	int cb_count;
	bool no_iter; /* the device-file iterator sank a load: tracer__new goes on without it */
	int found_at_start; /* devices the iterator entered, or -errno */
	char found_why[160]; /* why none were looked for */
	tracer_mig_fn mig_cb;
	void *mig_ctx;
	bool mig_loaded; /* the data-fd hooks loaded (attached on demand) */
	unsigned int mig_attaches;
	int mig_err;
};

/* ---- what the kernel has ---- */

struct btf_set {
	struct btf *vmlinux;
	struct btf *mods[64];
	int nmods;
};

static void btf_set_load(struct btf_set *s)
{
	struct dirent *de;
	DIR *d;

	memset(s, 0, sizeof(*s));
	s->vmlinux = btf__load_vmlinux_btf();
	if (!s->vmlinux)
		return;
	d = opendir("/sys/kernel/btf");
	if (!d)
		return;
	while ((de = readdir(d)) && s->nmods < 64) {
		char path[300];
		struct btf *b;

		if (de->d_name[0] == '.' || !strcmp(de->d_name, "vmlinux"))
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/btf/%s", de->d_name);
		b = btf__parse_split(path, s->vmlinux);
		if (b)
			s->mods[s->nmods++] = b;
	}
	closedir(d);
}

static void btf_set_free(struct btf_set *s)
{
	for (int i = 0; i < s->nmods; i++)
		btf__free(s->mods[i]);
	btf__free(s->vmlinux);
}

static bool btf_set_has_func(const struct btf_set *s, const char *fn)
{
	if (!s->vmlinux)
		return false;
	if (btf__find_by_name_kind(s->vmlinux, fn, BTF_KIND_FUNC) > 0)
		return true;
	for (int i = 0; i < s->nmods; i++)
		if (btf__find_by_name_kind(s->mods[i], fn, BTF_KIND_FUNC) > 0)
			return true;
	return false;
}

/*
 * Which kprobe targets are text symbols in /proc/kallsyms: one pass over the file for all of
 * them (the kernel formats every symbol on each read, ~120,000 lines: in a TCG guest a pass
 * takes about a quarter of a second, and there are some 30 targets).
 */
static void kallsyms_mark(const struct prog_def *defs, size_t n, bool *has)
{
	char line[512], sym[256], type;
	size_t want = 0, found = 0;
	FILE *f;

	memset(has, 0, n * sizeof(*has));
	for (size_t i = 0; i < n; i++)
		want += defs[i].flavor == FL_KPROBE;
	if (!want || !(f = fopen("/proc/kallsyms", "r")))
		return;
	while (found < want && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*s %c %255s", &type, sym) != 2 || (type != 't' && type != 'T'))
			continue;
		for (size_t i = 0; i < n; i++)
			if (defs[i].flavor == FL_KPROBE && !has[i] &&
			    !strcmp(sym, defs[i].target)) {
				has[i] = true;
				found++;
			}
	}
	fclose(f);
}

struct kernel_view {
	struct btf_set btf;
	bool btf_has[NPROGS];
	bool sym_has[NPROGS];
};

static void kernel_view_load(struct kernel_view *kv)
{
	btf_set_load(&kv->btf);
	for (size_t i = 0; i < NPROGS; i++) {
		const struct prog_def *d = &prog_defs[i];

		if (d->flavor == FL_FENTRY)
			kv->btf_has[i] = btf_set_has_func(&kv->btf, d->target);
	}
	kallsyms_mark(prog_defs, NPROGS, kv->sym_has);
}

/* ---- one attempt at one mode ---- */

static int libbpf_to_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	static char buf[65536];
	char *line, *save = NULL;

	if (level == LIBBPF_DEBUG)
		return 0;
	/* verifier logs arrive as one multi-line message */
	vsnprintf(buf, sizeof(buf), fmt, ap);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		pr_debug("libbpf: %s", line);
	return 0;
}

static enum flavor way_in_flavor(enum mode_id m)
{
	static const enum flavor f[MODES] = { FL_FENTRY, FL_KPROBE, FL_TP_BTF, FL_RAW_TP };

	return f[m];
}

/* Which flavor the optional hooks use in mode @m: the handler modes' own; the syscall modes
 * use kprobes (fentry may be refused by the very kernel that sent us to the syscall level). */
static enum flavor hook_flavor(enum mode_id m)
{
	return m == MODE_FENTRY ? FL_FENTRY : FL_KPROBE;
}

static bool target_present(const struct kernel_view *kv, size_t i)
{
	const struct prog_def *d = &prog_defs[i];

	if (d->flavor == FL_FENTRY)
		return kv->btf_has[i];
	if (d->flavor == FL_KPROBE)
		return kv->sym_has[i];
	return true;
}

static void status_set(struct tracer *t, size_t i, bool attached, int err, const char *why)
{
	struct tracer_prog_status *p = &t->progs[t->nprogs++];

	snprintf(p->name, sizeof(p->name), "%s", prog_defs[i].name);
	snprintf(p->target, sizeof(p->target), "%s", prog_defs[i].target);
	p->role = prog_defs[i].role;
	p->attached = attached;
	p->err = err;
	snprintf(p->why, sizeof(p->why), "%s", why);
}

static void append_reason(struct tracer *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void append_reason(struct tracer *t, const char *fmt, ...)
{
	size_t len = strlen(t->reason);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->reason + len, sizeof(t->reason) - len, fmt, ap);
	va_end(ap);
}

static void destroy_attempt(struct tracer *t)
{
	for (size_t i = 0; i < NPROGS; i++) {
		bpf_link__destroy(t->links[i]);
		t->links[i] = NULL;
	}
	tracer_bpf__destroy(t->skel);
	t->skel = NULL;
	t->nprogs = 0;
	t->mig_loaded = false;
}

/* The knobs the BPF side reads as constants: set after open, before load. */
static void set_rodata(struct tracer_bpf__rodata *ro, const struct tracer_opts *opts)
{
	ro->test_hook = opts->test_hook;
	ro->emit_events = !opts->no_events;
	ro->filter_tgid = opts->pid > 0 ? opts->pid : 0;
	ro->filter_by_comm = opts->comm && opts->comm[0];
	if (ro->filter_by_comm) {
		/* as the kernel keeps it: truncated to 15 bytes, NUL-padded */
		char comm[sizeof(ro->filter_comm)] = {};

		strncpy(comm, opts->comm, sizeof(comm) - 1);
		memcpy((void *)ro->filter_comm, comm, sizeof(comm));
	}
}

/*
 * Try mode @m: want[] says which programs to load. Required programs must load and attach;
 * optional ones that fail to attach are reported and the rest keeps running.
 */
static int try_mode(struct tracer *t, const struct tracer_opts *opts, enum mode_id m,
		    const bool *want)
{
	struct bpf_program *prog;
	int err;

	t->skel = tracer_bpf__open();
	if (!t->skel)
		return -errno;
	set_rodata(t->skel->rodata, opts);
	if (opts->max_mappings)
		bpf_map__set_max_entries(t->skel->maps.mappings, opts->max_mappings);
	if (opts->ringbuf_size) {
		bpf_map__set_max_entries(t->skel->maps.events, opts->ringbuf_size);
		t->skel->rodata->ringbuf_bytes = opts->ringbuf_size;
	}
	/* every program off, then the wanted ones on (a program outside the table stays off) */
	bpf_object__for_each_program(prog, t->skel->obj) bpf_program__set_autoload(prog, false);
	for (size_t i = 0; i < NPROGS; i++)
		bpf_program__set_autoload(prog_of(t->skel, &prog_defs[i]), want[i]);
	bpf_program__set_autoload(t->skel->progs.adopt_device_files, !t->no_iter);
	err = tracer_bpf__load(t->skel);
	if (err)
		return err;
	for (size_t i = 0; i < NPROGS; i++) {
		const struct prog_def *d = &prog_defs[i];
		char why[96];

		if (!want[i])
			continue;
		/* attached on demand (mig_hooks_update), so not in the status list: a
		 * program detached by design is no failed attach for info, trace or serve */
		if (d->role == TRACER_ROLE_MIGRATION) {
			t->mig_loaded = true;
			continue;
		}
		t->links[i] = bpf_program__attach(prog_of(t->skel, d));
		if (t->links[i]) {
			status_set(t, i, true, 0, "attached");
			continue;
		}
		err = -errno;
		snprintf(why, sizeof(why), "failed to attach: %s", strerror(-err));
		status_set(t, i, false, err, why);
		if (d->required || (opts->strict && d->role != TRACER_ROLE_RELEASE))
			return err;
		pr_warn("failed to attach %s to %s: %s", d->name, d->target, strerror(-err));
	}
	return 0;
}

static bool choose_programs(struct tracer *t, const struct kernel_view *kv,
			    const struct tracer_opts *opts, enum mode_id m, bool hooks, bool *want)
{
	enum flavor way = way_in_flavor(m), hook = hook_flavor(m);

	for (size_t i = 0; i < NPROGS; i++) {
		const struct prog_def *d = &prog_defs[i];

		want[i] = false;
		if (d->role == TRACER_ROLE_WAY_IN || d->role == TRACER_ROLE_RELEASE) {
			if (d->flavor != way)
				continue;
			if (target_present(kv, i)) {
				want[i] = true;
			} else if (d->required) {
				append_reason(t, "%s: %s not found in %s; ", mode_names[m],
					      d->target,
					      way == FL_FENTRY ? "kernel BTF" : "kallsyms");
				return false;
			}
		} else if (d->role == TRACER_ROLE_MIGRATION) {
			/* the syscall ways in see data fds in their own programs */
			want[i] = hooks && !opts->no_migration && m <= MODE_KPROBE;
		} else if (hooks && d->flavor == hook) {
			/* a missing optional target is switched off before load (6.12 refuses
			 * the whole skeleton otherwise, test-device.md §6.7) */
			want[i] = target_present(kv, i);
		}
	}
	return true;
}

static void record_skipped_hooks(struct tracer *t, const struct kernel_view *kv, enum mode_id m,
				 const bool *want, bool hooks_refused)
{
	enum flavor hook = hook_flavor(m);

	for (size_t i = 0; i < NPROGS; i++) {
		const struct prog_def *d = &prog_defs[i];

		if (d->role != TRACER_ROLE_KERNEL_HOOK || d->flavor != hook || want[i])
			continue;
		status_set(t, i, false, hooks_refused ? -EINVAL : -ENOENT,
			   hooks_refused	 ? "refused at load (kernel hooks switched off)" :
			   target_present(kv, i) ? "disabled" :
						   "target not in this kernel");
	}
}

/* Mode @m, with the kernel hooks, and without them when one sinks the load. */
static int attach_mode(struct tracer *t, const struct kernel_view *kv,
		       const struct tracer_opts *opts, enum mode_id m)
{
	bool want[NPROGS], hooks = !opts->no_kernel_hooks;
	int err;

	if (!choose_programs(t, kv, opts, m, hooks, want))
		return -ENOENT;
	t->no_iter = false;
	err = try_mode(t, opts, m, want);
	if (err && !opts->strict) {
		/* the device-file iterator may sink the load: retry without it first */
		destroy_attempt(t);
		t->no_iter = true;
		err = try_mode(t, opts, m, want);
		if (!err)
			snprintf(t->found_why, sizeof(t->found_why),
				 "this kernel refused the task_file iterator at load");
	}
	if (err && hooks && !opts->strict) {
		/* an optional hook may sink the load: retry without them */
		destroy_attempt(t);
		hooks = false;
		choose_programs(t, kv, opts, m, false, want);
		err = try_mode(t, opts, m, want);
		if (!err)
			append_reason(t, "kernel hooks refused at load; ");
	}
	if (err) {
		append_reason(t, "%s: %s; ", mode_names[m], strerror(-err));
		destroy_attempt(t);
		return err;
	}
	record_skipped_hooks(t, kv, m, want, !hooks && !opts->no_kernel_hooks);
	return 0;
}

/*
 * The one place the way in is chosen: fentry, kprobe, tp_btf, raw_tp, the first that loads
 * and attaches. Sets t->mode, and t->reason says why (also why each earlier mode was dropped).
 */
static int attach_best(struct tracer *t, const struct tracer_opts *opts)
{
	libbpf_print_fn_t old_print = libbpf_set_print(libbpf_to_log);
	struct kernel_view kv;
	int err = -ENOENT;

	kernel_view_load(&kv);
	for (int m = 0; m < MODES; m++) {
		if (opts->mode && strcmp(opts->mode, mode_names[m]))
			continue;
		err = attach_mode(t, &kv, opts, m);
		if (err)
			continue;
		t->mode = mode_names[m];
		append_reason(t, "%s",
			      m <= MODE_KPROBE ?
				      "using the VFIO file handlers: only VFIO files pay" :
				      "using syscall-level tracing of ioctls of type ';'");
		break;
	}
	btf_set_free(&kv.btf);
	libbpf_set_print(old_print);
	return t->mode ? 0 : err ? err : -ENOENT;
}

static struct tracer *tracer_alloc(void)
{
	struct tracer *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	for (int i = 0; i < TRACER_MAPS; i++)
		t->map_fds[i] = -1;
	return t;
}

/*
 * Enter the VFIO device files already open (before this tracer attached) into the mirror:
 * run the task_file iterator once (device_iter.bpf.h). Sets t->found_at_start.
 */
static void adopt_open_devices(struct tracer *t)
{
	struct bpf_link *link;
	char buf[64];
	int fd, err = 0;

	if (t->no_iter) {
		t->found_at_start = -EOPNOTSUPP;
		return;
	}
	link = bpf_program__attach_iter(t->skel->progs.adopt_device_files, NULL);
	if (!link) {
		err = -errno;
		snprintf(t->found_why, sizeof(t->found_why), "failed to attach the iterator: %s",
			 strerror(-err));
		t->found_at_start = err;
		return;
	}
	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0)
		err = -errno;
	/* the program prints nothing: read() returns 0 once every task's files were walked */
	while (fd >= 0 && (err = read(fd, buf, sizeof(buf))) != 0) {
		if (err < 0 && errno != EINTR && errno != EAGAIN) {
			err = -errno;
			break;
		}
		err = 0;
	}
	if (fd >= 0)
		close(fd);
	bpf_link__destroy(link);
	if (err < 0) {
		snprintf(t->found_why, sizeof(t->found_why), "failed to run the iterator: %s",
			 strerror(-err));
		t->found_at_start = err;
		return;
	}
	t->found_at_start = t->skel->bss->found_at_start;
}

int tracer__found_at_start(const struct tracer *t, const char **why)
{
	*why = t->found_why;
	return t->found_at_start;
}

bool tracer_ringbuf_size_valid(uint64_t size)
{
	long page = sysconf(_SC_PAGESIZE);

	/* the kernel's rule for BPF_MAP_TYPE_RINGBUF (ringbuf_map_alloc) */
	return size >= (uint64_t)(page > 0 ? page : 4096) && size <= TRACER_RINGBUF_MAX &&
	       !(size & (size - 1));
}

int tracer__new(const struct tracer_opts *opts, struct tracer **out)
{
	struct tracer_opts def = { .sz = sizeof(def) };
	struct tracer *t;
	int err;

	if (opts && opts->ringbuf_size && !tracer_ringbuf_size_valid(opts->ringbuf_size)) {
		pr_err("failed to size the ring buffer: %u bytes is not a power of two from the "
		       "page size to 1 GiB",
		       opts->ringbuf_size);
		return -EINVAL;
	}
	if (opts && opts->max_mappings > TRACER_MAX_MAPPINGS_MAX) {
		pr_err("failed to size the mappings map: %u entries, at most %u",
		       opts->max_mappings, TRACER_MAX_MAPPINGS_MAX);
		return -EINVAL;
	}
	t = tracer_alloc();
	if (!t)
		return -ENOMEM;
	err = attach_best(t, opts ? opts : &def);
	if (err) {
		pr_err("failed to attach the tracer: %s(%s)", t->reason, strerror(-err));
		free(t);
		return err;
	}
	for (int i = 0; i < TRACER_MAPS; i++)
		t->map_fds[i] = bpf_object__find_map_fd_by_name(t->skel->obj, map_names[i]);
	adopt_open_devices(t);
	if (t->found_at_start < 0)
		pr_warn("devices opened before the tracer started are named at their first traced "
			"call only: %s",
			t->found_why);
	for (int i = 0; i < t->nprogs; i++)
		if (t->progs[i].attached && !strcmp(t->progs[i].target, "iova_bitmap_set"))
			t->skel->bss->kern_dirty_hooked = 1;
	*out = t;
	return 0;
}

int tracer__way_in(const char **mode, char *reason, size_t len)
{
	struct tracer_opts def = { .sz = sizeof(def) };
	struct tracer *t = tracer_alloc();
	int err;

	if (!t)
		return -ENOMEM;
	err = attach_best(t, &def);
	*mode = err ? "none" : t->mode;
	snprintf(reason, len, "%s%s", t->reason,
		 err ? "no way in attaches: tracing impossible" : "");
	tracer__free(t);
	return err;
}

static int bpffs_ready(const char *dir)
{
	struct statfs st;
	char parent[256];
	char *slash;

	snprintf(parent, sizeof(parent), "%s", dir);
	slash = strrchr(parent, '/');
	if (slash && slash != parent)
		*slash = '\0';
	if (statfs(parent, &st) == 0 && st.f_type == BPF_FS_MAGIC)
		return 0;
	if (mount("bpf", parent, "bpf", 0, "mode=0700")) {
		int err = -errno;

		pr_err("failed to mount bpffs on %s: %s", parent, strerror(-err));
		return err;
	}
	return 0;
}

/* Is map @id used by a loaded BPF program? A tracer's maps pinned in bpffs outlive it when it
 * is killed (SIGKILL: no unpin); its programs do not: the kernel frees them with its fds. */
static bool map_in_use(__u32 id)
{
	__u32 prog_id = 0;

	while (!bpf_prog_get_next_id(prog_id, &prog_id)) {
		__u32 ids[64];
		struct bpf_prog_info info = { .nr_map_ids = 64, .map_ids = (__u64)(uintptr_t)ids };
		__u32 len = sizeof(info);
		int fd = bpf_prog_get_fd_by_id(prog_id);
		bool used = false;

		if (fd < 0)
			continue; /* gone meanwhile */
		if (!bpf_prog_get_info_by_fd(fd, &info, &len))
			for (__u32 i = 0; i < info.nr_map_ids && i < 64; i++)
				used |= ids[i] == id;
		close(fd);
		if (used)
			return true;
	}
	return false;
}

/* The maps pinned in @dir: 1 when a running tracer's programs use them, 0 when the tracer
 * that pinned them is gone (stale), -errno when there is nothing to read. */
static int pin_alive(const char *dir)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char path[320];
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, map_names[0]);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	if (bpf_map_get_info_by_fd(fd, &info, &len))
		err = -errno;
	close(fd);
	if (err)
		return err;
	return map_in_use(info.id);
}

static void unpin_dir(const char *dir)
{
	char path[320];

	for (int i = 0; i < TRACER_MAPS; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, map_names[i]);
		unlink(path);
	}
}

int tracer__pin(struct tracer *t, const char *dir)
{
	char path[320];
	int err;

	if (!t->skel)
		return -EINVAL;
	err = bpffs_ready(dir);
	if (err)
		return err;
	if (mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	snprintf(path, sizeof(path), "%s/%s", dir, map_names[0]);
	if (access(path, F_OK) == 0) {
		if (pin_alive(dir) != 0) /* another tracer runs: its maps stay */
			return -EEXIST;
		pr_warn("replacing the maps pinned in %s: the tracer that pinned them is gone "
			"(killed?)",
			dir);
		unpin_dir(dir);
	}
	snprintf(t->pin_dir, sizeof(t->pin_dir), "%s", dir);
	for (int i = 0; i < TRACER_MAPS; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, map_names[i]);
		if (bpf_obj_pin(t->map_fds[i], path)) {
			err = -errno;
			pr_err("failed to pin map %s: %s", path, strerror(-err));
			return err;
		}
	}
	return 0;
}

static void unpin(struct tracer *t)
{
	if (!t->pin_dir[0])
		return;
	unpin_dir(t->pin_dir);
	rmdir(t->pin_dir);
}

int tracer__open_pinned(const char *dir, struct tracer **out)
{
	struct tracer *t = calloc(1, sizeof(*t));
	char path[320];

	if (!t)
		return -ENOMEM;
	if (pin_alive(dir) == 0) {
		pr_warn("not reading the maps pinned in %s: the tracer that pinned them is gone "
			"(killed?); its picture stopped when it died",
			dir);
		free(t);
		return -ESTALE;
	}
	t->own_fds = true;
	t->mode = "pinned";
	snprintf(t->reason, sizeof(t->reason), "reading the maps a running tracer pinned in %s",
		 dir);
	for (int i = 0; i < TRACER_MAPS; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, map_names[i]);
		t->map_fds[i] = bpf_obj_get(path);
		if (t->map_fds[i] < 0) {
			int err = -errno;

			tracer__free(t);
			return err;
		}
	}
	*out = t;
	return 0;
}

void tracer__free(struct tracer *t)
{
	if (!t)
		return;
	ring_buffer__free(t->rb);
	unpin(t);
	if (t->own_fds)
		for (int i = 0; i < TRACER_MAPS; i++)
			if (t->map_fds[i] >= 0)
				close(t->map_fds[i]);
	destroy_attempt(t);
	free(t);
}

const char *tracer__mode(const struct tracer *t)
{
	return t->mode;
}

const char *tracer__reason(const struct tracer *t)
{
	return t->reason;
}

int tracer__programs(const struct tracer *t, const struct tracer_prog_status **progs)
{
	*progs = t->progs;
	return t->nprogs;
}

static int on_sample(void *ctx, void *data, size_t size)
{
	struct tracer *t = ctx;
	struct vfs_event buf;
	const struct vfs_event *ev = decode_record(data, size, &buf);

	if (!ev)
		return 0;
	t->cb_count++;
	return t->cb ? t->cb(t->cb_ctx, ev) : 0;
}

static int on_mig_sample(void *ctx, void *data, size_t size)
{
	struct tracer *t = ctx;

	if (size < sizeof(struct vfs_mig_event))
		return 0;
	return t->mig_cb ? t->mig_cb(t->mig_ctx, data) : 0;
}

void tracer__on_migration(struct tracer *t, tracer_mig_fn fn, void *ctx)
{
	t->mig_cb = fn;
	t->mig_ctx = ctx;
}

/* The data-fd hooks' links: the TRACER_ROLE_MIGRATION entries of links[]. */
static bool mig_attached(const struct tracer *t)
{
	for (size_t i = 0; i < NPROGS; i++)
		if (prog_defs[i].role == TRACER_ROLE_MIGRATION && t->links[i])
			return true;
	return false;
}

bool tracer__migration_hooks_attached(const struct tracer *t)
{
	return mig_attached(t);
}

int tracer__migration_hooks_status(const struct tracer *t, unsigned int *attaches)
{
	*attaches = t->mig_attaches;
	return t->mig_err;
}

/*
 * File-handler ways in: attach the data-fd hooks from a device's first migration call (a state
 * change, a data-size query, DMA logging) while a data fd is live and MIG_HOOKS_LINGER_NS after
 * the last such call; detach them otherwise, so that with no device migrating no syscall pays
 * for them. The BPF side wakes us at once on those calls; a data-fd call made in the moment
 * between a device's very first migration call and the attach is not seen as a call, its bytes
 * are counted from the data fd's position at the next state change (docs/tracer.md).
 */
#define MIG_HOOKS_LINGER_NS 5000000000ULL

static void mig_hooks_update(struct tracer *t)
{
	uint64_t hint = t->skel->bss->mig_hint_ns;
	bool want = t->skel->bss->nr_data_fds > 0 ||
		    (hint && clock_mono_ns() - hint < MIG_HOOKS_LINGER_NS),
	     have = mig_attached(t);

	/* a process that dropped its privileges after setup (serve) cannot attach: say it once */
	if (!t->mig_loaded || want == have || t->mig_err == -EPERM || t->mig_err == -EACCES)
		return;
	for (size_t i = 0; i < NPROGS; i++) {
		if (prog_defs[i].role != TRACER_ROLE_MIGRATION)
			continue;
		if (!want) {
			bpf_link__destroy(t->links[i]);
			t->links[i] = NULL;
			continue;
		}
		t->links[i] = bpf_program__attach(prog_of(t->skel, &prog_defs[i]));
		if (!t->links[i]) {
			t->mig_err = -errno;
			pr_warn("failed to attach the migration data-fd hook %s: %s (a phase's "
				"data-fd bytes are counted when it ends)",
				prog_defs[i].name, strerror(-t->mig_err));
		}
	}
	if (want && mig_attached(t))
		t->mig_attaches++;
}

int tracer__poll(struct tracer *t, int timeout_ms, tracer_event_fn fn, void *ctx)
{
	int err;

	if (!t->skel)
		return -EINVAL;
	if (!t->rb) {
		t->rb = ring_buffer__new(bpf_map__fd(t->skel->maps.events), on_sample, t, NULL);
		if (!t->rb)
			return -errno;
		if (ring_buffer__add(t->rb, bpf_map__fd(t->skel->maps.mig_events), on_mig_sample,
				     t)) {
			err = -errno;
			ring_buffer__free(t->rb);
			t->rb = NULL;
			return err;
		}
	}
	t->cb = fn;
	t->cb_ctx = ctx;
	t->cb_count = 0;
	/* the BPF side wakes us only when the ring fills up: consume after every wait */
	err = ring_buffer__poll(t->rb, timeout_ms);
	if (err < 0 && err != -EINTR)
		return err;
	err = ring_buffer__consume(t->rb);
	if (err < 0 && err != -EINTR)
		return err;
	mig_hooks_update(t);
	return t->cb_count;
}

int tracer__map_fd(const struct tracer *t, enum tracer_map m)
{
	return m < TRACER_MAPS ? t->map_fds[m] : -EINVAL;
}

int tracer__hist(const struct tracer *t, unsigned int op, struct vfs_hist *out)
{
	int ncpu = libbpf_num_possible_cpus();
	struct vfs_hist *per;

	if (ncpu <= 0)
		return -EINVAL;
	per = calloc(ncpu, sizeof(*per));
	if (!per)
		return -ENOMEM;
	memset(out, 0, sizeof(*out));
	if (bpf_map_lookup_elem(t->map_fds[TRACER_MAP_HISTS], &op, per)) {
		int err = -errno;

		free(per);
		return err;
	}
	for (int c = 0; c < ncpu; c++) {
		for (int k = 0; k < VFS_HIST_SLOTS; k++)
			out->slots[k] += per[c].slots[k];
		out->sum += per[c].sum;
		out->count += per[c].count;
	}
	free(per);
	return 0;
}

int tracer__errors(const struct tracer *t,
		   int (*fn)(void *ctx, unsigned int op, unsigned int err, uint64_t count),
		   void *ctx)
{
	int fd = t->map_fds[TRACER_MAP_ERRORS];
	struct vfs_err_key key, next;
	void *prev = NULL;
	uint64_t count;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &count))
			continue;
		if (fn(ctx, key.op, key.err, count))
			break;
	}
	return 0;
}

static int sum_percpu_u64(int fd, unsigned int n, uint64_t *out)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *per;

	if (ncpu <= 0)
		return -EINVAL;
	per = calloc(ncpu, sizeof(*per));
	if (!per)
		return -ENOMEM;
	for (unsigned int i = 0; i < n; i++) {
		out[i] = 0;
		if (bpf_map_lookup_elem(fd, &i, per))
			continue;
		for (int c = 0; c < ncpu; c++)
			out[i] += per[c];
	}
	free(per);
	return 0;
}

int tracer__lost(const struct tracer *t, uint64_t out[VFS_LOST_REASONS])
{
	return sum_percpu_u64(t->map_fds[TRACER_MAP_LOST], VFS_LOST_REASONS, out);
}

uint64_t tracer__lost_total(const struct tracer *t)
{
	uint64_t v[VFS_LOST_REASONS], sum = 0;

	if (tracer__lost(t, v))
		return 0;
	for (int i = 0; i < VFS_LOST_REASONS; i++)
		sum += v[i];
	return sum;
}

int tracer__kstats(const struct tracer *t, uint64_t out[VFS_KSTATS])
{
	return sum_percpu_u64(t->map_fds[TRACER_MAP_KSTATS], VFS_KSTATS, out);
}

uint64_t tracer_hist_slot_upper_ns(unsigned int k)
{
	if (k >= VFS_HIST_SLOTS - 1)
		return UINT64_MAX;
	return 1ULL << k;
}
