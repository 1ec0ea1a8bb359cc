// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "vfioscope/tracer/decode.h"
#include "vfioscope/tracer/tracer.h"
#include "vfioscope/tracer/mirror.h"
#include "vfioscope/common/names.h"
#include "vfioscope/common/ranges.h"
#include "vfioscope/common/uapi_layout.h"
#include "vfioscope/common/log.h"

#define PAGE_4K 4096ULL

struct mirror {
	struct mirror_file *files;
	size_t nfiles;
	struct mirror_container *ctrs;
	size_t nctrs;
	struct mirror_session *sess;
	size_t nsess;
	struct mirror_hwpt *hwpts;
	size_t nhwpts;
	struct mirror_process *procs;
	size_t nprocs;
	uint64_t lost_seen;
	uint64_t resyncs;
	bool stale;
	bool loaded;
	bool kaddr; /* print kernel addresses too */
};

int mirror__new(struct mirror **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

static void clear_maps(struct mirror *m)
{
	for (size_t i = 0; i < m->nctrs; i++)
		free(m->ctrs[i].maps);
	free(m->ctrs);
	free(m->files);
	free(m->sess);
	free(m->hwpts);
	m->ctrs = NULL;
	m->files = NULL;
	m->sess = NULL;
	m->hwpts = NULL;
	m->nctrs = m->nfiles = m->nsess = m->nhwpts = 0;
}

static void clear_procs(struct mirror *m)
{
	for (size_t i = 0; i < m->nprocs; i++)
		free(m->procs[i].devs);
	free(m->procs);
	m->procs = NULL;
	m->nprocs = 0;
}

void mirror__free(struct mirror *m)
{
	if (!m)
		return;
	clear_maps(m);
	clear_procs(m);
	free(m);
}

void mirror__kernel_addresses(struct mirror *m, bool show)
{
	m->kaddr = show;
}

/* Read every (key, value) of a hash map into a growing array of @elem-sized records with the
 * key at offset 0 (@ksz bytes) and the value at @voff. */
static int read_hash(int fd, size_t ksz, size_t voff, size_t elem, void **arr, size_t *n)
{
	uint8_t key[64], next[64];
	void *prev = NULL;
	size_t cap = 0;

	*arr = NULL;
	*n = 0;
	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		uint8_t *rec;

		memcpy(key, next, ksz);
		prev = key;
		if (*n == cap) {
			void *p = realloc(*arr, (cap = cap ? 2 * cap : 64) * elem);

			if (!p)
				return -ENOMEM;
			*arr = p;
		}
		rec = (uint8_t *)*arr + *n * elem;
		memset(rec, 0, elem);
		memcpy(rec, key, ksz);
		if (bpf_map_lookup_elem(fd, key, rec + voff))
			continue; /* deleted meanwhile */
		(*n)++;
	}
	return 0;
}

struct map_rec {
	struct vfs_map_key k;
	struct vfs_mapping v;
};

struct ctr_rec {
	struct vfs_ctr_key k;
	struct vfs_container v;
};

static int cmp_map_rec(const void *a, const void *b)
{
	const struct map_rec *x = a, *y = b;

	if (x->k.file != y->k.file)
		return x->k.file < y->k.file ? -1 : 1;
	if (x->k.ioas != y->k.ioas)
		return x->k.ioas < y->k.ioas ? -1 : 1;
	return x->k.iova < y->k.iova ? -1 : x->k.iova > y->k.iova;
}

static int cmp_ctr(const void *a, const void *b)
{
	const struct mirror_container *x = a, *y = b;

	if (x->c.first_ns != y->c.first_ns)
		return x->c.first_ns < y->c.first_ns ? -1 : 1;
	return x->file < y->file ? -1 : x->file > y->file;
}

/* QEMU's range algorithm lives in the ranges module. A mapping is a RAM section, or, when an
 * mmap of one of the container's own devices backs it, a BAR section (QEMU's PCI-64 rule). */
void mirror_qemu_ranges(const struct mirror_mapping *maps, size_t n, uint64_t page,
			struct mirror_ranges *out)
{
	struct dirty_ranges r;

	memset(out, 0, sizeof(*out));
	dirty_ranges__init(&r);
	for (size_t i = 0; i < n; i++) {
		struct section sec = { .iova = maps[i].iova,
				       .size = maps[i].size,
				       .offset_in_region = maps[i].iova,
				       .kind = maps[i].bar ? SECTION_PCI_BAR : SECTION_RAM };

		dirty_ranges__update(&r, &sec, page);
	}
	/* a bucket with max == 0 counts as empty (QEMU's !!max32) */
	if (r.max32) {
		out->iova32 = r.min32;
		out->len32 = r.max32 - r.min32 + 1;
	}
	if (r.max64) {
		out->iova64 = r.min64;
		out->len64 = r.max64 - r.min64 + 1;
	}
	if (r.maxpci64) {
		out->iovapci64 = r.minpci64;
		out->lenpci64 = r.maxpci64 - r.minpci64 + 1;
	}
}

static const struct vfs_file *file_of(const struct mirror *m, uint64_t file)
{
	for (size_t i = 0; i < m->nfiles; i++)
		if (m->files[i].file == file)
			return &m->files[i].f;
	return NULL;
}

/* The container file a group or device belongs to (0 if none known): a group's container, a
 * device's group's container, or the iommufd a cdev was bound to. */
static uint64_t container_of_file(const struct mirror *m, const struct vfs_file *f)
{
	const struct vfs_file *g;

	if (f->kind == VFS_KIND_GROUP)
		return f->parent;
	if (f->kind != VFS_KIND_DEVICE || !(g = file_of(m, f->parent)))
		return 0;
	return g->kind == VFS_KIND_IOMMUFD ? f->parent : g->parent;
}

const char *mirror_device_opened(const struct vfs_file *f)
{
	/* the cdev's dentry is "vfioN"; GET_DEVICE_FD's anonymous inode is "[vfio-device]" */
	return !strncmp(f->name, "vfio", 4) ? "cdev" : "group";
}

static const struct mirror_hwpt *hwpt_of(const struct mirror *m, uint64_t file, uint32_t id)
{
	for (size_t i = 0; i < m->nhwpts; i++)
		if (m->hwpts[i].key.file == file && m->hwpts[i].key.id == id)
			return &m->hwpts[i];
	return NULL;
}

/* The IOAS under object @id of an iommufd: @id itself, or the IOAS a HWPT was allocated on
 * (a nested HWPT's parent is a HWPT: at most one more step). */
static uint32_t ioas_under(const struct mirror *m, uint64_t file, uint32_t id)
{
	const struct mirror_hwpt *h;

	for (int depth = 0; depth < 3 && (h = hwpt_of(m, file, id)); depth++)
		id = h->h.pt_id;
	return id;
}

const struct mirror_container *mirror__container_of(const struct mirror *m,
						    const struct mirror_file *mf)
{
	uint64_t file = container_of_file(m, &mf->f);
	const struct mirror_container *first = NULL;
	uint32_t ioas;

	if (!file)
		return NULL;
	/* an iommufd holds one container per IOAS: a cdev's is the one it attached to, directly
	 * or through a HWPT allocated on it */
	ioas = ioas_under(m, file, mf->f.pt_id);
	for (size_t i = 0; i < m->nctrs; i++) {
		if (m->ctrs[i].file != file)
			continue;
		if (m->ctrs[i].ioas == ioas)
			return &m->ctrs[i];
		if (!first)
			first = &m->ctrs[i];
	}
	return first;
}

/* The number a sysfs link of @name ends in (an IOMMU group), or -1. */
static int sysfs_link_number(const char *fmt, const char *name)
{
	char path[PATH_MAX], target[PATH_MAX];
	const char *base;
	ssize_t n;

	/* the name must be one sysfs entry: a kernel device name never holds a '/' */
	if (!*name || strchr(name, '/') || !strcmp(name, "..") || !strcmp(name, "."))
		return -1;
	snprintf(path, sizeof(path), fmt, name);
	n = readlink(path, target, sizeof(target) - 1);
	if (n <= 0)
		return -1;
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	return isdigit((unsigned char)*base) ? atoi(base) : -1;
}

int mirror_sysfs_iommu_group(const char *address)
{
	return sysfs_link_number("/sys/bus/pci/devices/%s/iommu_group", address);
}

static int cmp_file(const void *a, const void *b)
{
	const struct mirror_file *x = a, *y = b;

	if (x->f.first_ns != y->f.first_ns)
		return x->f.first_ns < y->f.first_ns ? -1 : 1;
	return x->file < y->file ? -1 : x->file > y->file;
}

/* Files in order of first sight, with the ids the tracer gave them; devices' IOMMU groups
 * from sysfs where the kernel's structures did not give one. */
/* The BPF side always ends its strings in a NUL; what is read from a map is not trusted to. */
#define TERMINATE(a) ((a)[sizeof(a) - 1] = '\0')

static void number_files(struct mirror *m)
{
	for (size_t i = 0; i < m->nfiles; i++) {
		TERMINATE(m->files[i].f.name);
		TERMINATE(m->files[i].f.comm);
		TERMINATE(m->files[i].f.device);
		TERMINATE(m->files[i].f.driver);
	}
	if (m->nfiles)
		qsort(m->files, m->nfiles, sizeof(*m->files), cmp_file);
	for (size_t i = 0; i < m->nfiles; i++) {
		struct mirror_file *mf = &m->files[i];

		mf->id = mf->f.id;
		mf->iommu_group = mf->f.iommu_group;
		if (mf->f.kind == VFS_KIND_DEVICE && mf->iommu_group < 0)
			mf->iommu_group = mirror_sysfs_iommu_group(mf->f.device);
	}
}

static const struct mirror_file *mfile_of(const struct mirror *m, uint64_t file)
{
	for (size_t i = 0; i < m->nfiles; i++)
		if (m->files[i].file == file)
			return &m->files[i];
	return NULL;
}

/* vfioscope's id of a file, 0 for none */
static unsigned int file_id(const struct mirror *m, uint64_t file)
{
	const struct mirror_file *mf = file ? mfile_of(m, file) : NULL;

	return mf ? mf->id : 0;
}

/* Is @dev a device of container @c? Through its group on type1; a device opened as a cdev has
 * no group in the mirror and counts as the iommufd container's own. */
static bool own_device(const struct mirror *m, const struct mirror_container *c, uint64_t dev)
{
	const struct vfs_file *d = file_of(m, dev);

	if (!d || d->kind != VFS_KIND_DEVICE)
		return false;
	if (file_of(m, d->parent))
		return container_of_file(m, d) == c->file;
	return c->c.flags & VFS_CTR_IOMMUFD;
}

/* The first of @mr (sorted by cmp_map_rec) with key (@file, @ioas), or @n. */
static size_t first_map_of(const struct map_rec *mr, size_t n, uint64_t file, uint32_t ioas)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct vfs_map_key *k = &mr[mid].k;

		if (k->file < file || (k->file == file && k->ioas < ioas))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* A mapping older than the container at its key belongs to a released file whose address the
 * kernel gave to a new one: the BPF side's file_release leaves mappings behind (tracer.bpf.c). */
static bool mapping_is_live(const struct map_rec *r, const struct vfs_container *c)
{
	return r->v.ts_ns >= c->first_ns;
}

static int cmp_ctr_key(const void *a, const void *b)
{
	const struct vfs_ctr_key *x = a, *y = b;

	if (x->file != y->file)
		return x->file < y->file ? -1 : 1;
	return x->ioas < y->ioas ? -1 : x->ioas > y->ioas;
}

int mirror_reclaim(const struct tracer *t)
{
	int mfd = tracer__map_fd(t, TRACER_MAP_MAPPINGS);
	struct ctr_rec *cr = NULL;
	struct map_rec *mr = NULL;
	size_t nc, nm;
	int n = 0;

	if (read_hash(tracer__map_fd(t, TRACER_MAP_CONTAINERS), sizeof(cr->k),
		      offsetof(struct ctr_rec, v), sizeof(*cr), (void **)&cr, &nc) ||
	    read_hash(mfd, sizeof(mr->k), offsetof(struct map_rec, v), sizeof(*mr), (void **)&mr,
		      &nm)) {
		free(cr);
		free(mr);
		return -ENOMEM;
	}
	if (nc)
		qsort(cr, nc, sizeof(*cr), cmp_ctr_key);
	for (size_t i = 0; i < nm; i++) {
		struct vfs_ctr_key k = { .file = mr[i].k.file, .ioas = mr[i].k.ioas };
		const struct ctr_rec *c = nc ? bsearch(&k, cr, nc, sizeof(*cr), cmp_ctr_key) : NULL;

		if ((!c || !mapping_is_live(&mr[i], &c->v)) &&
		    bpf_map_delete_elem(mfd, &mr[i].k) == 0)
			n++;
	}
	free(cr);
	free(mr);
	return n;
}

/*
 * A container file whose container (type1) or one of whose IOAS (iommufd) had no room in the
 * containers map: listed as one container of that file, untracked and incomplete (nothing of
 * it is known), never left out as if it were not there. An iommufd's IOAS that did find room
 * are listed as well, each on its own.
 */
static void add_untracked(struct mirror *m)
{
	for (size_t i = 0; i < m->nfiles; i++) {
		const struct mirror_file *mf = &m->files[i];
		struct mirror_container *c;

		if (!(mf->f.flags & VFS_FILE_NO_CONTAINER) ||
		    (mf->f.kind != VFS_KIND_CONTAINER && mf->f.kind != VFS_KIND_IOMMUFD))
			continue;
		c = &m->ctrs[m->nctrs];
		memset(c, 0, sizeof(*c));
		c->maps = calloc(1, sizeof(*c->maps));
		if (!c->maps)
			continue;
		c->file = mf->file;
		c->c.flags = VFS_CTR_UNTRACKED | VFS_CTR_INCOMPLETE |
			     (mf->f.kind == VFS_KIND_IOMMUFD ? VFS_CTR_IOMMUFD : 0);
		c->c.tgid = mf->f.tgid;
		memcpy(c->c.comm, mf->f.comm, sizeof(c->c.comm));
		TERMINATE(c->c.comm);
		c->c.first_ns = mf->f.first_ns;
		mirror_qemu_ranges(c->maps, 0, PAGE_4K, &c->ranges);
		m->nctrs++;
	}
}

/*
 * A complete container's summary, from the mappings listed rather than from the BPF side's
 * counters: threads mapping and unmapping on one container at once race on those counters
 * (an unmap's walk writes back what it summed while another thread adds), and only the
 * mappings map says what is there. An incomplete container keeps the counters: they count
 * mappings the map had no room for.
 */
static void summarize(struct mirror_container *c)
{
	struct vfs_container *v = &c->c;

	if (v->flags & VFS_CTR_INCOMPLETE)
		return;
	v->mapped_bytes = v->mappings = 0;
	v->min32 = v->max32 = v->min64 = v->max64 = 0;
	for (size_t i = 0; i < c->nmaps; i++) {
		uint64_t iova = c->maps[i].iova, end = iova + c->maps[i].size - 1;

		if (end <= UINT32_MAX) {
			if (!v->max32 || iova < v->min32)
				v->min32 = iova;
			if (end > v->max32)
				v->max32 = end;
		} else {
			if (!v->max64 || iova < v->min64)
				v->min64 = iova;
			if (end > v->max64)
				v->max64 = end;
		}
		v->mapped_bytes += c->maps[i].size;
		v->mappings++;
	}
}

static int load_containers(struct mirror *m, const struct tracer *t)
{
	struct ctr_rec *cr;
	struct map_rec *mr;
	size_t nc, nm, j = 0, extra = 0;
	int err;

	err = read_hash(tracer__map_fd(t, TRACER_MAP_CONTAINERS), sizeof(cr->k),
			offsetof(struct ctr_rec, v), sizeof(*cr), (void **)&cr, &nc);
	if (err)
		return err;
	err = read_hash(tracer__map_fd(t, TRACER_MAP_MAPPINGS), sizeof(mr->k),
			offsetof(struct map_rec, v), sizeof(*mr), (void **)&mr, &nm);
	if (err) {
		free(cr);
		return err;
	}
	if (nm) /* qsort(NULL, 0, ...) is undefined behaviour (UBSan) */
		qsort(mr, nm, sizeof(*mr), cmp_map_rec);
	/* room for an untracked container per file that says one had no room (add_untracked) */
	for (size_t i = 0; i < m->nfiles; i++)
		extra += !!(m->files[i].f.flags & VFS_FILE_NO_CONTAINER);
	m->ctrs = calloc(nc + extra ? nc + extra : 1, sizeof(*m->ctrs));
	if (!m->ctrs) {
		free(cr);
		free(mr);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nc; i++) {
		struct mirror_container *c = &m->ctrs[m->nctrs++];
		size_t cnt = 0;

		c->file = cr[i].k.file;
		c->ioas = cr[i].k.ioas;
		c->c = cr[i].v;
		TERMINATE(c->c.comm);
		size_t first = first_map_of(mr, nm, c->file, c->ioas);

		for (j = first; j < nm && mr[j].k.file == c->file && mr[j].k.ioas == c->ioas; j++)
			cnt += mapping_is_live(&mr[j], &c->c);
		c->maps = calloc(cnt ? cnt : 1, sizeof(*c->maps));
		if (!c->maps)
			continue;
		for (j = first; j < nm && mr[j].k.file == c->file && mr[j].k.ioas == c->ioas; j++) {
			if (!mapping_is_live(&mr[j], &c->c))
				continue;
			c->maps[c->nmaps++] = (struct mirror_mapping){
				.iova = mr[j].k.iova,
				.size = mr[j].v.size,
				.vaddr = mr[j].v.vaddr,
				.flags = mr[j].v.flags,
				.device = mr[j].v.device,
				.bar = mr[j].v.device && own_device(m, c, mr[j].v.device),
			};
		}
		summarize(c);
		mirror_qemu_ranges(c->maps, c->nmaps, PAGE_4K, &c->ranges);
	}
	add_untracked(m);
	qsort(m->ctrs, m->nctrs, sizeof(*m->ctrs), cmp_ctr);
	for (size_t i = 0; i < m->nctrs; i++)
		m->ctrs[i].id = i + 1;
	free(cr);
	free(mr);
	return 0;
}

int mirror__load(struct mirror *m, const struct tracer *t)
{
	int err;

	clear_maps(m);
	m->lost_seen = tracer__lost_total(t);
	err = read_hash(tracer__map_fd(t, TRACER_MAP_FILES), sizeof(uint64_t),
			offsetof(struct mirror_file, f), sizeof(struct mirror_file),
			(void **)&m->files, &m->nfiles);
	if (!err)
		number_files(m);
	if (!err)
		err = read_hash(tracer__map_fd(t, TRACER_MAP_SESSIONS), sizeof(struct vfs_sess_key),
				offsetof(struct mirror_session, s), sizeof(struct mirror_session),
				(void **)&m->sess, &m->nsess);
	if (!err)
		err = read_hash(tracer__map_fd(t, TRACER_MAP_HWPTS), sizeof(struct vfs_hwpt_key),
				offsetof(struct mirror_hwpt, h), sizeof(struct mirror_hwpt),
				(void **)&m->hwpts, &m->nhwpts);
	if (!err)
		err = load_containers(m, t);
	if (err) {
		pr_err("failed to read the tracer maps: %s", strerror(-err));
		return err;
	}
	m->stale = false;
	m->loaded = true;
	return 0;
}

int mirror__refresh(struct mirror *m, const struct tracer *t)
{
	uint64_t lost = tracer__lost_total(t);
	int err;

	if (m->loaded && lost == m->lost_seen)
		return 0;
	if (m->loaded) {
		m->stale = true;
		m->resyncs++;
		pr_warn("%" PRIu64
			" event(s) lost: mirror possibly stale, rebuilding from the maps",
			lost - m->lost_seen);
	}
	err = mirror__load(m, t);
	return err ? err : 1;
}

bool mirror__stale(const struct mirror *m)
{
	return m->stale;
}

uint64_t mirror__resyncs(const struct mirror *m)
{
	return m->resyncs;
}

/* ---- /proc ---- */

static int link_kind(const char *target)
{
	if (!strcmp(target, "/dev/vfio/vfio"))
		return VFS_KIND_CONTAINER;
	if (!strcmp(target, "/dev/iommu"))
		return VFS_KIND_IOMMUFD;
	if (!strcmp(target, "anon_inode:[vfio-device]") ||
	    !strncmp(target, "/dev/vfio/devices/vfio", 22))
		return VFS_KIND_DEVICE;
	if (!strncmp(target, "/dev/vfio/", 10) &&
	    (isdigit((unsigned char)target[10]) || !strncmp(target + 10, "noiommu-", 8)))
		return VFS_KIND_GROUP;
	return VFS_KIND_UNKNOWN;
}

/* The sysfs name a link of @name ends in (a device's address, its driver), or "". */
static void sysfs_link_base(const char *fmt, const char *name, char *out, size_t len)
{
	char path[PATH_MAX], target[PATH_MAX];
	const char *base;
	ssize_t n;

	*out = '\0';
	snprintf(path, sizeof(path), fmt, name);
	n = readlink(path, target, sizeof(target) - 1);
	if (n <= 0)
		return;
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	n = strnlen(base, len - 1);
	memcpy(out, base, n);
	out[n] = '\0';
}

/* Has the tracer seen a call on @f (not only found it open when it started)? */
static bool seen_in_call(const struct vfs_file *f)
{
	return !(f->flags & VFS_FILE_FOUND_AT_START) || f->ioctls;
}

/* A device fd of @pid: named by the tracer (from the kernel's struct vfio_device, at a call or
 * when the tracer started), else a cdev through /sys/class/vfio-dev/vfioN/device. */
static int add_proc_device(const struct mirror *m, struct mirror_process *p, int fd,
			   const char *target)
{
	const char *cdev = !strncmp(target, "/dev/vfio/devices/", 18) ? target + 18 : NULL;
	struct mirror_proc_device *d, *nd;

	nd = realloc(p->devs, (p->ndevs + 1) * sizeof(*p->devs));
	if (!nd)
		return -ENOMEM;
	p->devs = nd;
	d = &p->devs[p->ndevs++];
	*d = (struct mirror_proc_device){ .fd = fd, .cdev = cdev != NULL, .iommu_group = -1 };
	for (size_t i = 0; i < m->nfiles; i++) {
		const struct vfs_file *f = &m->files[i].f;

		if (f->kind == VFS_KIND_DEVICE && f->tgid == (uint32_t)p->pid && f->fd == fd) {
			d->traced = seen_in_call(f);
			d->found_at_start = f->flags & VFS_FILE_FOUND_AT_START;
			snprintf(d->address, sizeof(d->address), "%s", f->device);
			snprintf(d->driver, sizeof(d->driver), "%s", f->driver);
			d->iommu_group = m->files[i].iommu_group;
			return 0;
		}
	}
	if (!cdev || strchr(cdev, '/'))
		return 0;
	sysfs_link_base("/sys/class/vfio-dev/%s/device", cdev, d->address, sizeof(d->address));
	sysfs_link_base("/sys/class/vfio-dev/%s/device/driver", cdev, d->driver, sizeof(d->driver));
	d->iommu_group = sysfs_link_number("/sys/class/vfio-dev/%s/device/iommu_group", cdev);
	return 0;
}

static bool scan_pid(const struct mirror *m, int pid, struct mirror_process *p)
{
	char path[64], target[256];
	struct dirent *de;
	bool any = false;
	DIR *d;
	FILE *f;

	memset(p, 0, sizeof(*p));
	p->pid = pid;
	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	if (!d)
		return false;
	while ((de = readdir(d))) {
		char link[384];
		ssize_t n;
		int kind;

		if (de->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "%s/%s", path, de->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		kind = link_kind(target);
		if (kind != VFS_KIND_UNKNOWN) {
			p->fds[kind]++;
			any = true;
		}
		if (kind == VFS_KIND_DEVICE)
			add_proc_device(m, p, atoi(de->d_name), target);
	}
	closedir(d);
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "r");
	if (f) {
		if (fgets(p->comm, sizeof(p->comm), f))
			p->comm[strcspn(p->comm, "\n")] = '\0';
		fclose(f);
	}
	return any;
}

int mirror__scan_proc(struct mirror *m)
{
	struct dirent *de;
	size_t cap = 0;
	DIR *d = opendir("/proc");

	if (!d)
		return -errno;
	clear_procs(m);
	while ((de = readdir(d))) {
		struct mirror_process p;
		int pid = atoi(de->d_name);

		if (pid <= 0)
			continue;
		if (!scan_pid(m, pid, &p)) {
			free(p.devs);
			continue;
		}
		for (size_t i = 0; i < m->nfiles; i++)
			p.traced |= m->files[i].f.tgid == (uint32_t)pid &&
				    seen_in_call(&m->files[i].f);
		if (m->nprocs == cap) {
			void *np = realloc(m->procs, (cap = cap ? 2 * cap : 16) * sizeof(p));

			if (!np) {
				free(p.devs);
				closedir(d);
				return -ENOMEM;
			}
			m->procs = np;
		}
		m->procs[m->nprocs++] = p;
	}
	closedir(d);
	return 0;
}

/* ---- garbage collection ---- */

static bool pid_alive(uint32_t pid)
{
	char path[32];

	snprintf(path, sizeof(path), "/proc/%u", pid);
	return access(path, F_OK) == 0;
}

static void purge_hwpts(const struct tracer *t, uint64_t file)
{
	int fd = tracer__map_fd(t, TRACER_MAP_HWPTS);
	struct mirror_hwpt *h;
	size_t n;

	if (!read_hash(fd, sizeof(h->key), offsetof(struct mirror_hwpt, h), sizeof(*h), (void **)&h,
		       &n)) {
		for (size_t i = 0; i < n; i++)
			if (h[i].key.file == file)
				bpf_map_delete_elem(fd, &h[i].key);
	}
	free(h);
}

static void purge_file(const struct tracer *t, uint64_t file)
{
	struct mirror_session *s;
	struct ctr_rec *cr;
	struct map_rec *mr;
	size_t n;

	if (!read_hash(tracer__map_fd(t, TRACER_MAP_MAPPINGS), sizeof(mr->k),
		       offsetof(struct map_rec, v), sizeof(*mr), (void **)&mr, &n)) {
		for (size_t i = 0; i < n; i++)
			if (mr[i].k.file == file)
				bpf_map_delete_elem(tracer__map_fd(t, TRACER_MAP_MAPPINGS),
						    &mr[i].k);
	}
	free(mr);
	if (!read_hash(tracer__map_fd(t, TRACER_MAP_CONTAINERS), sizeof(cr->k),
		       offsetof(struct ctr_rec, v), sizeof(*cr), (void **)&cr, &n)) {
		for (size_t i = 0; i < n; i++)
			if (cr[i].k.file == file)
				bpf_map_delete_elem(tracer__map_fd(t, TRACER_MAP_CONTAINERS),
						    &cr[i].k);
	}
	free(cr);
	if (!read_hash(tracer__map_fd(t, TRACER_MAP_SESSIONS), sizeof(s->key),
		       offsetof(struct mirror_session, s), sizeof(*s), (void **)&s, &n)) {
		for (size_t i = 0; i < n; i++)
			if (s[i].key.file == file)
				bpf_map_delete_elem(tracer__map_fd(t, TRACER_MAP_SESSIONS),
						    &s[i].key);
	}
	free(s);
	purge_hwpts(t, file);
	bpf_map_delete_elem(tracer__map_fd(t, TRACER_MAP_FILES), &file);
}

/* Is the file still the one read as @seen (not re-created meanwhile for a live process)? */
static bool same_file(const struct tracer *t, const struct mirror_file *seen)
{
	struct vfs_file now;

	if (bpf_map_lookup_elem(tracer__map_fd(t, TRACER_MAP_FILES), &seen->file, &now))
		return false;
	return now.tgid == seen->f.tgid && now.first_ns == seen->f.first_ns;
}

int mirror_gc(const struct tracer *t)
{
	struct mirror_file *files;
	size_t n;
	int dropped = 0;

	if (read_hash(tracer__map_fd(t, TRACER_MAP_FILES), sizeof(uint64_t),
		      offsetof(struct mirror_file, f), sizeof(*files), (void **)&files, &n))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		/* tgid 0: the tracer is filling this record in right now (it inserts zeroes,
		 * then writes the fields in place); no process has pid 0 */
		if (!files[i].f.tgid || pid_alive(files[i].f.tgid))
			continue;
		if (!same_file(t, &files[i]))
			continue;
		purge_file(t, files[i].file);
		dropped++;
	}
	free(files);
	return dropped;
}

/* ---- accessors ---- */

size_t mirror__containers(const struct mirror *m, const struct mirror_container **out)
{
	*out = m->ctrs;
	return m->nctrs;
}

size_t mirror__files(const struct mirror *m, const struct mirror_file **out)
{
	*out = m->files;
	return m->nfiles;
}

size_t mirror__sessions(const struct mirror *m, const struct mirror_session **out)
{
	*out = m->sess;
	return m->nsess;
}

size_t mirror__hwpts(const struct mirror *m, const struct mirror_hwpt **out)
{
	*out = m->hwpts;
	return m->nhwpts;
}

size_t mirror__processes(const struct mirror *m, const struct mirror_process **out)
{
	*out = m->procs;
	return m->nprocs;
}

/* ---- printing: plain and JSON side by side ---- */

static const struct vfs_session *session_of(const struct mirror *m, uint64_t file, uint32_t id,
					    uint32_t method)
{
	for (size_t i = 0; i < m->nsess; i++) {
		const struct vfs_sess_key *k = &m->sess[i].key;

		if (k->file == file && k->id == id && k->method == method)
			return &m->sess[i].s;
	}
	return NULL;
}

static const char *container_backend(const struct vfs_container *c)
{
	return backend_name(c->iommu_type, c->flags & VFS_CTR_IOMMUFD);
}

/* A group or device of container @c (the container's own file is the container itself). */
static bool member_of(const struct mirror *m, const struct mirror_container *c,
		      const struct mirror_file *mf)
{
	return mf->f.kind != VFS_KIND_CONTAINER && mirror__container_of(m, mf) == c;
}

/* Kernel addresses only on request (state --kernel-addresses). */
static void kaddr_json(const struct mirror *m, struct json_writer *jw, const char *name,
		       uint64_t addr)
{
	if (m->kaddr)
		json_kv_hex(jw, name, addr);
}

/* A file's id, or null when there is none. */
static void id_or_null_json(struct json_writer *jw, const char *name, unsigned int id)
{
	json_name(jw, name);
	if (id)
		json_u64(jw, id);
	else
		json_null(jw);
}

static void group_or_null_json(struct json_writer *jw, const char *name, int group)
{
	json_name(jw, name);
	if (group >= 0)
		json_s64(jw, group);
	else
		json_null(jw);
}

/* "0000:00:02.0 (driver vfio-pci, iommu group 7, opened through its group)" */
static void print_device_identity(const struct mirror_file *mf, FILE *out)
{
	const struct vfs_file *f = &mf->f;

	fprintf(out, "%s (driver %s, ", f->device[0] ? f->device : "unknown",
		f->driver[0] ? f->driver : "unknown");
	if (mf->iommu_group >= 0)
		fprintf(out, "iommu group %d, ", mf->iommu_group);
	fprintf(out, "opened through %s)",
		!strcmp(mirror_device_opened(f), "cdev") ? "the cdev" : "its group");
}

/* The members of a device's JSON object that say who it is. */
static void device_identity_json(const struct mirror_file *mf, struct json_writer *jw)
{
	const struct vfs_file *f = &mf->f;

	json_name(jw, "address");
	if (f->device[0])
		json_string(jw, f->device);
	else
		json_null(jw);
	json_name(jw, "driver");
	if (f->driver[0])
		json_string(jw, f->driver);
	else
		json_null(jw);
	group_or_null_json(jw, "iommu_group", mf->iommu_group);
	json_kv_string(jw, "opened", mirror_device_opened(f));
	/* open before the tracer started: found by its iterator, not at a traced call */
	json_kv_bool(jw, "found_at_start", f->flags & VFS_FILE_FOUND_AT_START);
}

static void print_session(FILE *out, const char *indent, const char *what,
			  const struct vfs_session *s)
{
	fprintf(out,
		"%s%s: %s, page size %" PRIu64 ", %" PRIu64 " report(s), %" PRIu64
		" error(s), %" PRIu64 " bitmap bytes",
		indent, what, s->active ? "active" : "stopped", (uint64_t)s->page_size,
		(uint64_t)s->reports, (uint64_t)s->report_errors, (uint64_t)s->bitmap_bytes);
	if (s->kern_dirty_bytes)
		fprintf(out, ", kernel set %" PRIu64 " dirty bytes", (uint64_t)s->kern_dirty_bytes);
	fprintf(out, "\n");
	for (uint32_t i = 0; i < s->nr_ranges && i < VFS_LOG_RANGES; i++)
		fprintf(out, "%s  range 0x%" PRIx64 "+0x%" PRIx64 "\n", indent,
			(uint64_t)s->ranges[2 * i], (uint64_t)s->ranges[2 * i + 1]);
	if (s->reports || s->report_errors)
		fprintf(out,
			"%s  last report: iova 0x%" PRIx64 " length 0x%" PRIx64 " page %" PRIu64
			" bitmap %" PRIu64 " bytes, %.3f us, ret %" PRId64 "\n",
			indent, (uint64_t)s->last_iova, (uint64_t)s->last_length,
			(uint64_t)s->last_page_size, (uint64_t)s->last_bitmap_bytes,
			s->last_latency_ns / 1000.0, (int64_t)s->last_ret);
}

static void session_json(struct json_writer *jw, unsigned int method, const struct vfs_session *s)
{
	json_start_object(jw);
	json_kv_string(jw, "method", decode_method_name(method));
	json_kv_bool(jw, "active", s->active);
	json_kv_u64(jw, "page_size", s->page_size);
	json_kv_u64(jw, "reports", s->reports);
	json_kv_u64(jw, "report_errors", s->report_errors);
	json_kv_u64(jw, "bitmap_bytes", s->bitmap_bytes);
	json_kv_u64(jw, "report_ns", s->report_ns);
	json_kv_u64(jw, "kernel_dirty_bytes", s->kern_dirty_bytes);
	json_name(jw, "ranges");
	json_start_array(jw);
	for (uint32_t i = 0; i < s->nr_ranges && i < VFS_LOG_RANGES; i++) {
		json_start_object(jw);
		json_kv_hex(jw, "iova", s->ranges[2 * i]);
		json_kv_hex(jw, "length", s->ranges[2 * i + 1]);
		json_end_object(jw);
	}
	json_end_array(jw);
	json_kv_u64(jw, "nr_ranges", s->nr_ranges);
	json_name(jw, "last_report");
	json_start_object(jw);
	json_kv_hex(jw, "iova", s->last_iova);
	json_kv_hex(jw, "length", s->last_length);
	json_kv_u64(jw, "page_size", s->last_page_size);
	json_kv_u64(jw, "bitmap_bytes", s->last_bitmap_bytes);
	json_kv_u64(jw, "latency_ns", s->last_latency_ns);
	json_kv_s64(jw, "ret", s->last_ret);
	json_end_object(jw);
	json_end_object(jw);
}

/* A session, or null when none was seen. */
static void session_or_null_json(struct json_writer *jw, const char *name, unsigned int method,
				 const struct vfs_session *s)
{
	json_name(jw, name);
	if (s)
		session_json(jw, method, s);
	else
		json_null(jw);
}

static void print_container_head(const struct mirror_container *c, FILE *out)
{
	const struct vfs_container *v = &c->c;

	fprintf(out,
		"container %u: %s, pid %u (%.16s), %" PRIu64 " mapping(s), %" PRIu64
		" bytes mapped%s%s\n",
		c->id, container_backend(v), v->tgid, v->comm, (uint64_t)v->mappings,
		(uint64_t)v->mapped_bytes,
		v->flags & VFS_CTR_PARTIAL ? " [partially known: set up before tracing]" : "",
		v->flags & VFS_CTR_UNTRACKED ?
			" [incomplete: not tracked, the containers map was full]" :
		v->flags & VFS_CTR_INCOMPLETE ? " [incomplete: mapping map full]" :
						"");
	if (c->ioas)
		fprintf(out, "  ioas %u\n", c->ioas);
}

static void container_head_json(const struct mirror *m, const struct mirror_container *c,
				struct json_writer *jw)
{
	const struct vfs_container *v = &c->c;

	json_kv_u64(jw, "id", c->id);
	/* the id of its container (or iommufd) file: trace --json's container_file_id */
	id_or_null_json(jw, "file_id", file_id(m, c->file));
	kaddr_json(m, jw, "file", c->file);
	json_kv_u64(jw, "ioas", c->ioas);
	json_kv_string(jw, "backend", container_backend(v));
	json_kv_u64(jw, "pid", v->tgid);
	json_kv_string(jw, "comm", v->comm);
	json_kv_bool(jw, "partial", v->flags & VFS_CTR_PARTIAL);
	json_kv_bool(jw, "incomplete", v->flags & VFS_CTR_INCOMPLETE);
	/* nothing of it is known: the containers map had no room (--json users: skip its
	 * numbers) */
	json_kv_bool(jw, "untracked", v->flags & VFS_CTR_UNTRACKED);
	json_kv_u64(jw, "mapped_bytes", v->mapped_bytes);
	json_kv_u64(jw, "mapping_count", v->mappings);
	json_kv_u64(jw, "maps_seen", v->maps);
	json_kv_u64(jw, "unmaps_seen", v->unmaps);
	json_name(jw, "summary");
	json_start_object(jw);
	json_kv_hex(jw, "min32", v->max32 ? v->min32 : 0);
	json_kv_hex(jw, "max32", v->max32);
	json_kv_hex(jw, "min64", v->max64 ? v->min64 : 0);
	json_kv_hex(jw, "max64", v->max64);
	json_end_object(jw);
}

static void print_members(const struct mirror *m, const struct mirror_container *c, FILE *out)
{
	for (size_t i = 0; i < m->nfiles; i++) {
		const struct mirror_file *mf = &m->files[i];
		const struct vfs_file *f = &mf->f;

		if (!member_of(m, c, mf))
			continue;
		if (f->kind == VFS_KIND_DEVICE) {
			fprintf(out, "  device ");
			print_device_identity(mf, out);
		} else {
			fprintf(out, "  %s %s", decode_kind_name(f->kind), f->name);
		}
		fprintf(out, " (pid %u fd %d)\n", f->tgid, f->fd);
	}
}

static void members_json(const struct mirror *m, const struct mirror_container *c,
			 struct json_writer *jw)
{
	json_name(jw, "members");
	json_start_array(jw);
	for (size_t i = 0; i < m->nfiles; i++) {
		const struct vfs_file *f = &m->files[i].f;

		if (!member_of(m, c, &m->files[i]))
			continue;
		json_start_object(jw);
		json_kv_string(jw, "kind", decode_kind_name(f->kind));
		json_kv_u64(jw, "id", m->files[i].id);
		json_kv_string(jw, "name", f->name);
		if (f->kind == VFS_KIND_DEVICE)
			device_identity_json(&m->files[i], jw);
		kaddr_json(m, jw, "file", m->files[i].file);
		json_kv_u64(jw, "pid", f->tgid);
		json_kv_s64(jw, "fd", f->fd);
		json_end_object(jw);
	}
	json_end_array(jw);
}

static void print_range(FILE *out, const char *name, uint64_t iova, uint64_t len, const char *why)
{
	if (len)
		fprintf(out, "  QEMU's %s: 0x%" PRIx64 "-0x%" PRIx64 "%s\n", name, iova,
			iova + len - 1, why);
}

static void range_json(struct json_writer *jw, const char *name, uint64_t iova, uint64_t len)
{
	json_name(jw, name);
	if (!len) {
		json_null(jw);
		return;
	}
	json_start_object(jw);
	json_kv_hex(jw, "iova", iova);
	json_kv_hex(jw, "length", len);
	json_kv_hex(jw, "end", iova + len - 1);
	json_end_object(jw);
}

static void print_qemu_ranges(const struct mirror_ranges *r, FILE *out)
{
	print_range(out, "range32", r->iova32, r->len32, "");
	print_range(out, "range64", r->iova64, r->len64, "");
	print_range(out, "rangepci64", r->iovapci64, r->lenpci64, " (device BARs)");
}

static void qemu_ranges_json(const struct mirror_ranges *r, struct json_writer *jw)
{
	json_name(jw, "qemu_ranges");
	json_start_object(jw);
	range_json(jw, "range32", r->iova32, r->len32);
	range_json(jw, "range64", r->iova64, r->len64);
	range_json(jw, "rangepci64", r->iovapci64, r->lenpci64);
	json_end_object(jw);
}

static const char *device_name_of(const struct mirror *m, uint64_t file)
{
	const struct mirror_file *mf = mfile_of(m, file);

	return mf && mf->f.device[0] ? mf->f.device : "unknown";
}

static void print_mappings(const struct mirror *m, const struct mirror_container *c, FILE *out)
{
	for (size_t i = 0; i < c->nmaps; i++) {
		const struct mirror_mapping *mp = &c->maps[i];

		fprintf(out,
			"  map 0x%" PRIx64 "-0x%" PRIx64 " size 0x%" PRIx64 " vaddr 0x%" PRIx64,
			mp->iova, mp->iova + mp->size - 1, mp->size, mp->vaddr);
		if (mp->device)
			fprintf(out, " (BAR of %s device %s)",
				mp->bar ? "this container's" : "another container's",
				device_name_of(m, mp->device));
		fprintf(out, "\n");
	}
}

static void mappings_json(const struct mirror *m, const struct mirror_container *c,
			  struct json_writer *jw)
{
	json_name(jw, "mappings");
	json_start_array(jw);
	for (size_t i = 0; i < c->nmaps; i++) {
		const struct mirror_mapping *mp = &c->maps[i];

		json_start_object(jw);
		json_kv_hex(jw, "iova", mp->iova);
		json_kv_hex(jw, "size", mp->size);
		json_kv_hex(jw, "vaddr", mp->vaddr);
		json_kv_hex(jw, "flags", mp->flags);
		if (mp->device) {
			const struct mirror_file *d = mfile_of(m, mp->device);

			json_name(jw, "device");
			if (d && d->f.device[0])
				json_string(jw, d->f.device);
			else
				json_null(jw);
			id_or_null_json(jw, "device_id", d ? d->id : 0);
			kaddr_json(m, jw, "device_file", mp->device);
		}
		json_kv_bool(jw, "bar", mp->bar);
		json_end_object(jw);
	}
	json_end_array(jw);
}

void mirror__print_container(const struct mirror *m, const struct mirror_container *c, FILE *out)
{
	const struct vfs_session *s = session_of(m, c->file, 0, VFS_DIRTY_TYPE1);
	char what[48];

	print_container_head(c, out);
	print_members(m, c, out);
	print_qemu_ranges(&c->ranges, out);
	print_mappings(m, c, out);
	snprintf(what, sizeof(what), "%s dirty tracking", decode_method_name(VFS_DIRTY_TYPE1));
	if (s)
		print_session(out, "  ", what, s);
}

void mirror__container_json(const struct mirror *m, const struct mirror_container *c,
			    struct json_writer *jw)
{
	json_start_object(jw);
	container_head_json(m, c, jw);
	qemu_ranges_json(&c->ranges, jw);
	members_json(m, c, jw);
	mappings_json(m, c, jw);
	session_or_null_json(jw, "dirty_tracking", VFS_DIRTY_TYPE1,
			     session_of(m, c->file, 0, VFS_DIRTY_TYPE1));
	json_end_object(jw);
}

static void print_processes(const struct mirror *m, FILE *out)
{
	for (size_t i = 0; i < m->nprocs; i++) {
		const struct mirror_process *p = &m->procs[i];

		fprintf(out,
			"process %d (%s): %d container, %d group, %d device, %d iommufd fd(s)%s\n",
			p->pid, p->comm, p->fds[VFS_KIND_CONTAINER], p->fds[VFS_KIND_GROUP],
			p->fds[VFS_KIND_DEVICE], p->fds[VFS_KIND_IOMMUFD],
			p->traced ? "" : " [partially known: no VFIO call seen yet]");
		for (size_t j = 0; j < p->ndevs; j++) {
			const struct mirror_proc_device *d = &p->devs[j];

			fprintf(out, "  device fd %d: ", d->fd);
			if (d->address[0])
				fprintf(out, "%s (driver %s", d->address,
					d->driver[0] ? d->driver : "unknown");
			else
				fprintf(out, "not named until its first traced call (");
			if (d->iommu_group >= 0)
				fprintf(out, ", iommu group %d", d->iommu_group);
			fprintf(out, "%sopened through %s)%s\n", d->address[0] ? ", " : "",
				d->cdev ? "the cdev" : "its group",
				d->traced ? "" : " [no VFIO call seen yet]");
		}
	}
}

static void processes_json(const struct mirror *m, struct json_writer *jw)
{
	json_name(jw, "processes");
	json_start_array(jw);
	for (size_t i = 0; i < m->nprocs; i++) {
		const struct mirror_process *p = &m->procs[i];

		json_start_object(jw);
		json_kv_s64(jw, "pid", p->pid);
		json_kv_string(jw, "comm", p->comm);
		json_kv_bool(jw, "traced", p->traced);
		json_kv_bool(jw, "partial", !p->traced);
		json_name(jw, "fds");
		json_start_object(jw);
		for (int k = 1; k < VFS_KINDS; k++)
			json_kv_s64(jw, decode_kind_name(k), p->fds[k]);
		json_end_object(jw);
		json_name(jw, "devices");
		json_start_array(jw);
		for (size_t j = 0; j < p->ndevs; j++) {
			const struct mirror_proc_device *d = &p->devs[j];

			json_start_object(jw);
			json_kv_s64(jw, "fd", d->fd);
			json_name(jw, "address");
			if (d->address[0])
				json_string(jw, d->address);
			else
				json_null(jw);
			json_name(jw, "driver");
			if (d->driver[0])
				json_string(jw, d->driver);
			else
				json_null(jw);
			group_or_null_json(jw, "iommu_group", d->iommu_group);
			json_kv_string(jw, "opened", d->cdev ? "cdev" : "group");
			json_kv_bool(jw, "traced", d->traced);
			json_kv_bool(jw, "found_at_start", d->found_at_start);
			json_end_object(jw);
		}
		json_end_array(jw);
		json_end_object(jw);
	}
	json_end_array(jw);
}

static void print_devices(const struct mirror *m, FILE *out)
{
	for (size_t i = 0; i < m->nfiles; i++) {
		const struct vfs_file *f = &m->files[i].f;
		const struct mirror_container *c;
		const struct vfs_session *s;

		if (f->kind != VFS_KIND_DEVICE)
			continue;
		s = session_of(m, m->files[i].file, 0, VFS_DIRTY_DEVICE);
		c = mirror__container_of(m, &m->files[i]);
		fprintf(out, "device ");
		print_device_identity(&m->files[i], out);
		if (c)
			fprintf(out, " in container %u", c->id);
		fprintf(out, ": pid %u (%.16s) fd %d, %u ioctl(s)%s\n", f->tgid, f->comm, f->fd,
			f->ioctls,
			f->flags & VFS_FILE_FOUND_AT_START ? " [open before the tracer started]" :
							     "");
		if (f->devid)
			fprintf(out, "  iommufd device id %u, attached to %u (hwpt %u)\n", f->devid,
				f->pt_id, f->hwpt_id);
		if (s)
			print_session(out, "  ", "DMA logging", s);
	}
}

/* A cdev bound to an iommufd: its device id there, what it attached to, and the IOAS under it;
 * null for a device opened through its group. */
static void iommufd_ids_json(const struct mirror *m, const struct mirror_file *mf,
			     struct json_writer *jw)
{
	const struct vfs_file *f = &mf->f;
	const struct vfs_file *p = file_of(m, f->parent);

	json_name(jw, "iommufd");
	if (!p || p->kind != VFS_KIND_IOMMUFD) {
		json_null(jw);
		return;
	}
	json_start_object(jw);
	json_kv_u64(jw, "dev_id", f->devid);
	json_kv_u64(jw, "pt_id", f->pt_id);
	json_kv_u64(jw, "hwpt_id", f->hwpt_id);
	json_kv_u64(jw, "ioas", f->pt_id ? ioas_under(m, f->parent, f->pt_id) : 0);
	json_end_object(jw);
}

static void devices_json(const struct mirror *m, struct json_writer *jw)
{
	json_name(jw, "devices");
	json_start_array(jw);
	for (size_t i = 0; i < m->nfiles; i++) {
		const struct vfs_file *f = &m->files[i].f;
		const struct mirror_container *c;

		if (f->kind != VFS_KIND_DEVICE)
			continue;
		c = mirror__container_of(m, &m->files[i]);
		json_start_object(jw);
		json_kv_u64(jw, "id", m->files[i].id);
		json_kv_string(jw, "name", f->name);
		device_identity_json(&m->files[i], jw);
		id_or_null_json(jw, "container", c ? c->id : 0);
		/* the group file it came from, or for a cdev the iommufd it was bound to */
		id_or_null_json(jw, "parent", file_id(m, f->parent));
		kaddr_json(m, jw, "file", m->files[i].file);
		kaddr_json(m, jw, "parent_file", f->parent);
		json_kv_u64(jw, "pid", f->tgid);
		json_kv_string(jw, "comm", f->comm);
		json_kv_s64(jw, "fd", f->fd);
		json_kv_u64(jw, "ioctls", f->ioctls);
		iommufd_ids_json(m, &m->files[i], jw);
		session_or_null_json(jw, "dma_logging", VFS_DIRTY_DEVICE,
				     session_of(m, m->files[i].file, 0, VFS_DIRTY_DEVICE));
		json_end_object(jw);
	}
	json_end_array(jw);
}

/* Files are listed in JSON only: the plain form shows them under their container. */
static void files_json(const struct mirror *m, struct json_writer *jw)
{
	json_name(jw, "files");
	json_start_array(jw);
	for (size_t i = 0; i < m->nfiles; i++) {
		const struct vfs_file *f = &m->files[i].f;

		json_start_object(jw);
		json_kv_u64(jw, "id", m->files[i].id);
		kaddr_json(m, jw, "file", m->files[i].file);
		json_kv_string(jw, "kind", decode_kind_name(f->kind));
		json_kv_string(jw, "name", f->name);
		id_or_null_json(jw, "parent", file_id(m, f->parent));
		kaddr_json(m, jw, "parent_file", f->parent);
		json_kv_u64(jw, "pid", f->tgid);
		json_kv_s64(jw, "fd", f->fd);
		json_kv_u64(jw, "ioctls", f->ioctls);
		json_end_object(jw);
	}
	json_end_array(jw);
}

/* The device bound to iommufd @file with device id @dev_id, or NULL. */
static const struct mirror_file *device_of_devid(const struct mirror *m, uint64_t file,
						 uint32_t dev_id)
{
	for (size_t i = 0; i < m->nfiles; i++) {
		const struct vfs_file *f = &m->files[i].f;

		if (f->kind == VFS_KIND_DEVICE && f->parent == file && f->devid == dev_id && dev_id)
			return &m->files[i];
	}
	return NULL;
}

static void print_hwpts(const struct mirror *m, FILE *out)
{
	for (size_t i = 0; i < m->nhwpts; i++) {
		const struct mirror_hwpt *h = &m->hwpts[i];
		const struct mirror_file *d = device_of_devid(m, h->key.file, h->h.dev_id);
		const struct vfs_session *s = session_of(m, h->key.file, h->key.id, VFS_DIRTY_HWPT);

		fprintf(out, "hwpt %u of iommufd %u: on %u, for device id %u (%s), pid %u%s\n",
			h->key.id, file_id(m, h->key.file), h->h.pt_id, h->h.dev_id,
			d && d->f.device[0] ? d->f.device : "unknown", h->h.tgid,
			h->h.flags & VFS_HWPT_ALLOC_DIRTY_TRACKING ? ", dirty tracking allowed" :
								     "");
		if (s)
			print_session(out, "  ", "dirty tracking", s);
	}
}

static void hwpts_json(const struct mirror *m, struct json_writer *jw)
{
	json_name(jw, "hwpts");
	json_start_array(jw);
	for (size_t i = 0; i < m->nhwpts; i++) {
		const struct mirror_hwpt *h = &m->hwpts[i];
		const struct mirror_file *d = device_of_devid(m, h->key.file, h->h.dev_id);

		json_start_object(jw);
		id_or_null_json(jw, "iommufd", file_id(m, h->key.file));
		kaddr_json(m, jw, "file", h->key.file);
		json_kv_u64(jw, "hwpt_id", h->key.id);
		json_kv_u64(jw, "pt_id", h->h.pt_id);
		json_kv_u64(jw, "ioas", ioas_under(m, h->key.file, h->h.pt_id));
		json_kv_u64(jw, "dev_id", h->h.dev_id);
		json_name(jw, "device");
		if (d && d->f.device[0])
			json_string(jw, d->f.device);
		else
			json_null(jw);
		json_kv_hex(jw, "flags", h->h.flags);
		json_kv_bool(jw, "dirty_tracking", h->h.flags & VFS_HWPT_ALLOC_DIRTY_TRACKING);
		json_kv_u64(jw, "pid", h->h.tgid);
		session_or_null_json(jw, "session", VFS_DIRTY_HWPT,
				     session_of(m, h->key.file, h->key.id, VFS_DIRTY_HWPT));
		json_end_object(jw);
	}
	json_end_array(jw);
}

static void print_iommufd_sessions(const struct mirror *m, FILE *out)
{
	for (size_t i = 0; i < m->nsess; i++) {
		char what[64];

		if (m->sess[i].key.method != VFS_DIRTY_HWPT ||
		    hwpt_of(m, m->sess[i].key.file, m->sess[i].key.id))
			continue; /* printed under its HWPT */
		snprintf(what, sizeof(what), "%s dirty tracking of hwpt %u",
			 decode_method_name(VFS_DIRTY_HWPT), m->sess[i].key.id);
		print_session(out, "", what, &m->sess[i].s);
	}
}

static void iommufd_sessions_json(const struct mirror *m, struct json_writer *jw)
{
	json_name(jw, "iommufd_sessions");
	json_start_array(jw);
	for (size_t i = 0; i < m->nsess; i++) {
		if (m->sess[i].key.method != VFS_DIRTY_HWPT)
			continue;
		json_start_object(jw);
		id_or_null_json(jw, "iommufd", file_id(m, m->sess[i].key.file));
		kaddr_json(m, jw, "file", m->sess[i].key.file);
		json_kv_u64(jw, "hwpt_id", m->sess[i].key.id);
		json_name(jw, "session");
		session_json(jw, VFS_DIRTY_HWPT, &m->sess[i].s);
		json_end_object(jw);
	}
	json_end_array(jw);
}

void mirror__print(const struct mirror *m, FILE *out)
{
	if (m->stale)
		fprintf(out, "warning: events were lost; this state was rebuilt from the maps\n");
	print_processes(m, out);
	for (size_t i = 0; i < m->nctrs; i++)
		mirror__print_container(m, &m->ctrs[i], out);
	print_devices(m, out);
	print_hwpts(m, out);
	print_iommufd_sessions(m, out);
	if (!m->nprocs && !m->nctrs && !m->nfiles)
		fprintf(out, "no VFIO or iommufd activity seen\n");
}

void mirror__json(const struct mirror *m, struct json_writer *jw)
{
	json_kv_bool(jw, "stale", m->stale);
	json_kv_u64(jw, "resyncs", m->resyncs);
	processes_json(m, jw);
	json_name(jw, "containers");
	json_start_array(jw);
	for (size_t i = 0; i < m->nctrs; i++)
		mirror__container_json(m, &m->ctrs[i], jw);
	json_end_array(jw);
	devices_json(m, jw);
	files_json(m, jw);
	hwpts_json(m, jw);
	iommufd_sessions_json(m, jw);
}
