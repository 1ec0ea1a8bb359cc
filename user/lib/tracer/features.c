// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "probe.skel.h"
#include "vfioscope/tracer/features.h"
#include "vfioscope/tracer/tracer.h"
#include "vfioscope/common/log.h"

static const char *const module_names[VFIOSCOPE_MODS] = {
	[VFIOSCOPE_MOD_VFIO] = "vfio",
	[VFIOSCOPE_MOD_VFIO_IOMMU_TYPE1] = "vfio_iommu_type1",
	[VFIOSCOPE_MOD_VFIO_PCI] = "vfio_pci",
	[VFIOSCOPE_MOD_VFIO_PCI_CORE] = "vfio_pci_core",
	[VFIOSCOPE_MOD_IOMMUFD] = "iommufd",
};

/*
 * One function of each module, to tell where its code lives: in the module's own BTF when it
 * is a module, in vmlinux BTF when it is built in (the kernel has no /sys/kernel/btf/NAME then).
 */
static const char *const module_funcs[VFIOSCOPE_MODS] = {
	[VFIOSCOPE_MOD_VFIO] = "vfio_device_fops_unl_ioctl",
	[VFIOSCOPE_MOD_VFIO_IOMMU_TYPE1] = "vfio_iommu_type1_ioctl",
	[VFIOSCOPE_MOD_VFIO_PCI] = "vfio_pci_probe",
	[VFIOSCOPE_MOD_VFIO_PCI_CORE] = "vfio_pci_core_ioctl",
	[VFIOSCOPE_MOD_IOMMUFD] = "iommufd_fops_ioctl",
};

/*
 * The char device region drivers/vfio/device_cdev.c registers when VFIO loads, only with
 * VFIO_DEVICE_CDEV. (Function names are no proof: without it vfio.h's inline stub of
 * vfio_device_fops_cdev_open is still in BTF, its address being taken by vfio_device_fops.)
 */
#define VFIO_CDEV_REGION "vfio-dev"

static const char *const prog_kinds[VFIOSCOPE_PROG_KINDS] = {
	[VFIOSCOPE_PROG_TP_BTF] = "tp_btf",
	[VFIOSCOPE_PROG_RAW_TP] = "raw_tp",
	[VFIOSCOPE_PROG_FENTRY] = "fentry",
	[VFIOSCOPE_PROG_KPROBE] = "kprobe",
};

/* The VFIO device-fd ioctl handler: the hook the tracer prefers when it can attach. */
#define VFIO_HANDLER "vfio_device_fops_unl_ioctl"
/* Without VFIO, probe the attach type itself on a vmlinux function every kernel has. */
#define GENERIC_TARGET "do_vfs_ioctl"

static bool path_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static int count_entries(const char *dir, bool (*match)(const char *))
{
	struct dirent *de;
	int n = 0;
	DIR *d = opendir(dir);

	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (match(de->d_name))
			n++;
	closedir(d);
	return n;
}

static bool is_group_node(const char *name)
{
	return name[0] >= '0' && name[0] <= '9';
}

static bool is_cdev_node(const char *name)
{
	return strncmp(name, "vfio", 4) == 0;
}

/* Is "NAME.ko" (any compression) listed in the running kernel's module index? */
static bool module_listed(const char *release, const char *file, const char *name)
{
	char path[256], line[512], want[80];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/lib/modules/%s/%s", release, file);
	f = fopen(path, "r");
	if (!f)
		return false;
	snprintf(want, sizeof(want), "/%s.ko", name);
	while (!found && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (colon)
			*colon = '\0';
		/* module files use '-' or '_' interchangeably */
		for (char *p = line; *p; p++)
			if (*p == '-')
				*p = '_';
		found = strstr(line, want) != NULL;
	}
	fclose(f);
	return found;
}

/* In /sys/module but without initstate: built in (only loadable modules have one). */
static bool sysfs_says_builtin(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/module/%s", name);
	if (!path_exists(path))
		return false;
	snprintf(path, sizeof(path), "/sys/module/%s/initstate", name);
	return !path_exists(path);
}

static void probe_modules(struct vfioscope_features *f)
{
	char path[128];

	for (int i = 0; i < VFIOSCOPE_MODS; i++) {
		struct vfioscope_module_info *m = &f->modules[i];

		m->name = module_names[i];
		snprintf(path, sizeof(path), "/sys/module/%s", m->name);
		m->loaded = path_exists(path);
		snprintf(path, sizeof(path), "/sys/kernel/btf/%s", m->name);
		m->btf = path_exists(path);
		m->btf_in = m->btf ? "module" : NULL;
		m->builtin = module_listed(f->kernel_release, "modules.builtin", m->name) ||
			     sysfs_says_builtin(m->name);
		m->available = m->loaded || m->builtin ||
			       module_listed(f->kernel_release, "modules.dep", m->name);
	}
}

/* Is @name a character device region in /proc/devices? */
static bool chrdev_registered(const char *name)
{
	char line[128], dev[64];
	bool chars = false, found = false;
	FILE *f = fopen("/proc/devices", "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "Character devices:", 18))
			chars = true;
		else if (!strncmp(line, "Block devices:", 14))
			chars = false;
		else if (chars && sscanf(line, "%*u %63s", dev) == 1)
			found = !strcmp(dev, name);
	}
	fclose(f);
	return found;
}

static bool btf_has_func(const char *path, struct btf *base, const char *func)
{
	struct btf *btf = base ? btf__parse_split(path, base) : btf__parse(path, NULL);
	bool found;

	if (!btf)
		return false;
	found = btf__find_by_name_kind(btf, func, BTF_KIND_FUNC) > 0;
	btf__free(btf);
	return found;
}

static void probe_btf(struct vfioscope_features *f)
{
	struct btf *vmlinux;

	f->btf_vmlinux = path_exists("/sys/kernel/btf/vmlinux");
	if (!f->btf_vmlinux)
		return;
	vmlinux = btf__parse("/sys/kernel/btf/vmlinux", NULL);
	if (!vmlinux)
		return;
	/* a module's function in vmlinux BTF: the module is built in, its BTF is vmlinux's */
	for (int i = 0; i < VFIOSCOPE_MODS; i++) {
		struct vfioscope_module_info *m = &f->modules[i];

		if (m->btf || btf__find_by_name_kind(vmlinux, module_funcs[i], BTF_KIND_FUNC) <= 0)
			continue;
		m->builtin = m->loaded = m->available = m->btf = true;
		m->btf_in = "vmlinux";
	}
	/* 6.1 keeps iova_bitmap_set in vfio.ko; 6.7+ builds it into the kernel (IOMMUFD_DRIVER) */
	f->iova_bitmap_set_btf = btf__find_by_name_kind(vmlinux, "iova_bitmap_set", BTF_KIND_FUNC) >
				 0;
	if (!f->iova_bitmap_set_btf && f->modules[VFIOSCOPE_MOD_VFIO].btf)
		f->iova_bitmap_set_btf =
			btf_has_func("/sys/kernel/btf/vfio", vmlinux, "iova_bitmap_set");
	btf__free(vmlinux);
}

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char buf[512];

	if (level == LIBBPF_DEBUG)
		return 0;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	pr_debug("libbpf: %s", buf);
	return 0;
}

static struct bpf_program *probe_prog(struct probe_bpf *skel, enum vfioscope_prog_kind kind)
{
	switch (kind) {
	case VFIOSCOPE_PROG_TP_BTF:
		return skel->progs.probe_tp_btf;
	case VFIOSCOPE_PROG_RAW_TP:
		return skel->progs.probe_raw_tp;
	case VFIOSCOPE_PROG_FENTRY:
		return skel->progs.probe_fentry;
	default:
		return skel->progs.probe_kprobe;
	}
}

/* A call that each probe should see: an ioctl on a pipe passes sys_enter and do_vfs_ioctl. */
static void poke(void)
{
	int fds[2], n;

	if (pipe(fds))
		return;
	ioctl(fds[0], FIONREAD, &n);
	close(fds[0]);
	close(fds[1]);
}

static void probe_one(struct vfioscope_prog_probe *p, enum vfioscope_prog_kind kind,
		      const char *target)
{
	struct bpf_link *link = NULL;
	struct bpf_program *prog;
	struct probe_bpf *skel;
	int err;

	p->kind = prog_kinds[kind];
	p->tried = true;
	snprintf(p->target, sizeof(p->target), "%s", target);
	skel = probe_bpf__open();
	if (!skel) {
		p->load_err = -errno;
		return;
	}
	for (int i = 0; i < VFIOSCOPE_PROG_KINDS; i++)
		bpf_program__set_autoload(probe_prog(skel, i), i == (int)kind);
	prog = probe_prog(skel, kind);
	if (kind == VFIOSCOPE_PROG_FENTRY)
		bpf_program__set_attach_target(prog, 0, target);
	err = probe_bpf__load(skel);
	if (err) {
		p->load_err = err < 0 ? err : -err;
		goto out;
	}
	if (kind == VFIOSCOPE_PROG_KPROBE)
		link = bpf_program__attach_kprobe(prog, false, target);
	else
		link = bpf_program__attach(prog);
	if (!link) {
		p->attach_err = -errno;
		goto out;
	}
	poke();
	p->fired = skel->bss->hits[kind] > 0;
out:
	bpf_link__destroy(link);
	probe_bpf__destroy(skel);
}

static void probe_progs(struct vfioscope_features *f)
{
	const char *hook = f->modules[VFIOSCOPE_MOD_VFIO].btf ? VFIO_HANDLER : GENERIC_TARGET;
	libbpf_print_fn_t old = libbpf_set_print(libbpf_quiet);

	probe_one(&f->progs[VFIOSCOPE_PROG_TP_BTF], VFIOSCOPE_PROG_TP_BTF, "sys_enter");
	probe_one(&f->progs[VFIOSCOPE_PROG_RAW_TP], VFIOSCOPE_PROG_RAW_TP, "sys_enter");
	probe_one(&f->progs[VFIOSCOPE_PROG_FENTRY], VFIOSCOPE_PROG_FENTRY, hook);
	probe_one(&f->progs[VFIOSCOPE_PROG_KPROBE], VFIOSCOPE_PROG_KPROBE, hook);
	f->ringbuf = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) == 1;
	libbpf_set_print(old);
}

/* The tracer's own choice (tracer.c chooses; this only reports it). */
static void report_tracer(struct vfioscope_features *f)
{
	tracer__way_in(&f->tracer_mode, f->tracer_reason, sizeof(f->tracer_reason));
}

static void probe_caps(struct vfioscope_features *f)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {};

	if (syscall(SYS_capget, &hdr, data))
		return;
	f->caps_effective = (uint64_t)data[1].effective << 32 | data[0].effective;
}

int vfioscope_features__probe(struct vfioscope_features *f)
{
	struct utsname u;

	memset(f, 0, sizeof(*f));
	if (uname(&u) == 0)
		snprintf(f->kernel_release, sizeof(f->kernel_release), "%s", u.release);
	probe_modules(f);
	probe_btf(f);
	f->vfio_container_dev = path_exists("/dev/vfio/vfio");
	f->iommufd_dev = path_exists("/dev/iommu");
	f->vfio_groups = count_entries("/dev/vfio", is_group_node);
	f->vfio_cdevs = count_entries("/dev/vfio/devices", is_cdev_node);
	f->vfio_cdev = chrdev_registered(VFIO_CDEV_REGION) || f->vfio_cdevs > 0;
	/* IOMMUFD_TEST lives in iommufd: a kernel that cannot have iommufd has no test either */
	if (f->iommufd_dev)
		f->iommufd_test = vfioscope_probe_iommufd_test();
	else
		f->iommufd_test = f->modules[VFIOSCOPE_MOD_IOMMUFD].available ? -ENOENT : 0;
	vfioscope_probe_devices(f);
	probe_caps(f);
	probe_progs(f);
	report_tracer(f);
	return 0;
}

bool vfioscope_features__vfio_present(const struct vfioscope_features *f)
{
	return f->modules[VFIOSCOPE_MOD_VFIO].loaded || f->vfio_container_dev;
}

bool vfioscope_features__iommufd_present(const struct vfioscope_features *f)
{
	return f->modules[VFIOSCOPE_MOD_IOMMUFD].loaded || f->iommufd_dev;
}

bool vfioscope_features__vfio_builtin(const struct vfioscope_features *f)
{
	return f->modules[VFIOSCOPE_MOD_VFIO].builtin;
}

static const char *answer_text(vfioscope_answer_t a, const char *yes, const char *no, char *buf,
			       size_t len)
{
	if (a >= 0)
		snprintf(buf, len, "%s", a ? yes : no);
	else
		snprintf(buf, len, "unknown (%s)", strerror(-a));
	return buf;
}

static const char *module_state(const struct vfioscope_module_info *m)
{
	if (m->builtin)
		return "built in";
	if (m->loaded)
		return "loaded";
	return m->available ? "not loaded" : "not available";
}

const char *vfioscope_prog_probe__status(const struct vfioscope_prog_probe *p, char *buf,
					 size_t len)
{
	if (!p->tried)
		snprintf(buf, len, "not tried");
	else if (p->load_err)
		snprintf(buf, len, "refused at load: %s", strerror(-p->load_err));
	else if (p->attach_err)
		snprintf(buf, len, "loads, refused at attach: %s", strerror(-p->attach_err));
	else
		snprintf(buf, len, "attaches");
	return buf;
}

static const struct {
	int cap;
	const char *name;
} cap_names[] = {
	{ 21, "CAP_SYS_ADMIN" },    { 39, "CAP_BPF" },
	{ 38, "CAP_PERFMON" },	    { 14, "CAP_IPC_LOCK" },
	{ 24, "CAP_SYS_RESOURCE" }, { 17, "CAP_SYS_RAWIO" },
	{ 19, "CAP_SYS_PTRACE" },   { 10, "CAP_NET_BIND_SERVICE" },
};

static bool has_cap(const struct vfioscope_features *f, int cap)
{
	return f->caps_effective & (1ULL << cap);
}

static const char *yes_no(bool v)
{
	return v ? "yes" : "no";
}

void vfioscope_features__print(const struct vfioscope_features *f, FILE *out)
{
	char buf[160];

	fprintf(out, "kernel: %s\n", f->kernel_release);
	fprintf(out, "btf: vmlinux %s\n", f->btf_vmlinux ? "present" : "absent");
	fprintf(out, "vfio: %s", vfioscope_features__vfio_present(f) ? "present" : "absent");
	if (vfioscope_features__vfio_present(f))
		fprintf(out, ", %s", vfioscope_features__vfio_builtin(f) ? "built in" : "a module");
	fprintf(out, " (/dev/vfio/vfio %s, %d group(s), %d cdev(s))\n",
		f->vfio_container_dev ? "present" : "absent", f->vfio_groups, f->vfio_cdevs);
	fprintf(out, "vfio cdev: %s\n",
		f->vfio_cdev ? "present (VFIO_DEVICE_CDEV)" :
			       "absent (no " VFIO_CDEV_REGION " char devices registered)");
	fprintf(out, "iommufd: %s (/dev/iommu %s)\n",
		vfioscope_features__iommufd_present(f) ? "present" : "absent",
		f->iommufd_dev ? "present" : "absent");
	fprintf(out, "iommufd test (mock domain): %s\n",
		f->iommufd_test == -ENOENT ?
			"unknown (no /dev/iommu to ask: iommufd not loaded)" :
			answer_text(f->iommufd_test, "present (IOMMU_TEST_CMD answers)",
				    f->iommufd_dev ? "absent (IOMMU_TEST_CMD unknown)" :
						     "absent (no iommufd in this kernel)",
				    buf, sizeof(buf)));
	fprintf(out, "modules:\n");
	for (int i = 0; i < VFIOSCOPE_MODS; i++) {
		const struct vfioscope_module_info *m = &f->modules[i];

		fprintf(out, "  %-18s %-13s btf %s%s%s\n", m->name, module_state(m),
			m->btf ? "yes" : "no", m->btf_in ? " in " : "", m->btf_in ? m->btf_in : "");
	}
	fprintf(out, "vfio devices:%s\n", f->ndevices ? "" : " none");
	for (int i = 0; i < f->ndevices; i++) {
		const struct vfioscope_device_info *d = &f->devices[i];
		char type[32];

		fprintf(out, "  %s %s %s: IOMMU dirty tracking %s", d->bdf, d->driver,
			d->cdev[0] ? d->cdev : "(no cdev)",
			vfioscope_device_info__dirty(d, buf, sizeof(buf)));
		if (d->dirty_tracking >= 0)
			fprintf(out, " (hw info %s)",
				vfioscope_hw_info_type_name(d->hw_info_type, type, sizeof(type)));
		fprintf(out, "\n");
	}
	fprintf(out, "bpf programs:\n");
	for (int i = 0; i < VFIOSCOPE_PROG_KINDS; i++) {
		const struct vfioscope_prog_probe *p = &f->progs[i];

		fprintf(out, "  %-7s on %-28s %s%s\n", p->kind ? p->kind : prog_kinds[i], p->target,
			vfioscope_prog_probe__status(p, buf, sizeof(buf)),
			p->fired ? ", fires" : "");
	}
	fprintf(out, "ring buffer: %s\n", f->ringbuf ? "supported" : "not supported");
	fprintf(out, "iova_bitmap_set hook: %s\n",
		f->iova_bitmap_set_btf ? "in BTF" : "not in BTF (dirty-page counting unavailable)");
	fprintf(out, "tracer: %s (%s)\n", f->tracer_mode, f->tracer_reason);
	fprintf(out, "capabilities:");
	for (size_t i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++)
		fprintf(out, " %s=%s", cap_names[i].name, yes_no(has_cap(f, cap_names[i].cap)));
	fprintf(out, "\n");
}

/* true, false, or null with the error beside it under NAME_error */
static void json_answer(struct json_writer *jw, const char *name, vfioscope_answer_t a)
{
	char key[64];

	json_name(jw, name);
	if (a >= 0) {
		json_bool(jw, a);
		return;
	}
	json_null(jw);
	snprintf(key, sizeof(key), "%s_error", name);
	json_kv_string(jw, key, strerror(-a));
}

static void device_json(const struct vfioscope_device_info *d, struct json_writer *jw)
{
	char buf[160];

	json_start_object(jw);
	json_kv_string(jw, "bdf", d->bdf);
	json_kv_string(jw, "driver", d->driver);
	json_name(jw, "cdev");
	if (d->cdev[0])
		json_string(jw, d->cdev);
	else
		json_null(jw);
	json_name(jw, "dirty_tracking");
	if (d->dirty_tracking >= 0) {
		json_bool(jw, d->dirty_tracking);
		json_kv_string(jw, "hw_info_type",
			       vfioscope_hw_info_type_name(d->hw_info_type, buf, sizeof(buf)));
	} else {
		json_null(jw);
		json_kv_string(jw, "dirty_tracking_error",
			       vfioscope_device_info__dirty(d, buf, sizeof(buf)));
	}
	json_end_object(jw);
}

void vfioscope_features__json(const struct vfioscope_features *f, struct json_writer *jw)
{
	char buf[96];

	json_start_object(jw);
	json_kv_string(jw, "kernel", f->kernel_release);
	json_kv_bool(jw, "btf_vmlinux", f->btf_vmlinux);
	json_name(jw, "vfio");
	json_start_object(jw);
	json_kv_bool(jw, "present", vfioscope_features__vfio_present(f));
	json_kv_bool(jw, "container_dev", f->vfio_container_dev);
	json_kv_s64(jw, "groups", f->vfio_groups);
	json_kv_s64(jw, "cdevs", f->vfio_cdevs);
	json_kv_bool(jw, "cdev", f->vfio_cdev);
	json_kv_bool(jw, "builtin", vfioscope_features__vfio_builtin(f));
	json_end_object(jw);
	json_name(jw, "iommufd");
	json_start_object(jw);
	json_kv_bool(jw, "present", vfioscope_features__iommufd_present(f));
	json_kv_bool(jw, "dev", f->iommufd_dev);
	json_answer(jw, "test", f->iommufd_test);
	json_end_object(jw);
	json_name(jw, "modules");
	json_start_object(jw);
	for (int i = 0; i < VFIOSCOPE_MODS; i++) {
		json_name(jw, f->modules[i].name);
		json_start_object(jw);
		json_kv_bool(jw, "loaded", f->modules[i].loaded);
		json_kv_bool(jw, "available", f->modules[i].available);
		json_kv_bool(jw, "builtin", f->modules[i].builtin);
		json_kv_bool(jw, "btf", f->modules[i].btf);
		json_name(jw, "btf_in");
		if (f->modules[i].btf_in)
			json_string(jw, f->modules[i].btf_in);
		else
			json_null(jw);
		json_end_object(jw);
	}
	json_end_object(jw);
	json_name(jw, "devices");
	json_start_array(jw);
	for (int i = 0; i < f->ndevices; i++)
		device_json(&f->devices[i], jw);
	json_end_array(jw);
	json_name(jw, "programs");
	json_start_object(jw);
	for (int i = 0; i < VFIOSCOPE_PROG_KINDS; i++) {
		const struct vfioscope_prog_probe *p = &f->progs[i];

		json_name(jw, prog_kinds[i]);
		json_start_object(jw);
		json_kv_string(jw, "target", p->target);
		json_kv_bool(jw, "loads", p->tried && !p->load_err);
		json_kv_bool(jw, "attaches", p->tried && !p->load_err && !p->attach_err);
		json_kv_bool(jw, "fires", p->fired);
		json_kv_string(jw, "status", vfioscope_prog_probe__status(p, buf, sizeof(buf)));
		json_end_object(jw);
	}
	json_end_object(jw);
	json_kv_bool(jw, "ringbuf", f->ringbuf);
	json_kv_bool(jw, "iova_bitmap_set_btf", f->iova_bitmap_set_btf);
	json_name(jw, "tracer");
	json_start_object(jw);
	json_kv_string(jw, "mode", f->tracer_mode);
	json_kv_string(jw, "reason", f->tracer_reason);
	json_end_object(jw);
	json_name(jw, "capabilities");
	json_start_object(jw);
	for (size_t i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++)
		json_kv_bool(jw, cap_names[i].name, has_cap(f, cap_names[i].cap));
	json_end_object(jw);
	json_end_object(jw);
}
