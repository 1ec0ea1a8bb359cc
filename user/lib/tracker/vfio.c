// SPDX-License-Identifier: GPL-2.0
/* VFIO backends: type1v2 container + groups, and iommufd + VFIO cdev. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "vfioscope/common/log.h"
#include "vfioscope/common/names.h"
#include "vfioscope/tracker/vfio.h"

#define MAX_DEVICES 16
#define MAX_GROUPS  16
#define MAX_HWPTS   16

struct vfio_dev {
	struct vfio_container *c;
	char name[32];
	int fd;
	uint32_t devid; /* iommufd */
	uint32_t hwpt; /* iommufd: the HWPT it is attached to (0: the IOAS) */
	bool hw_dirty; /* iommufd: on a dirty-tracking HWPT */
	char no_dirty[160]; /* iommufd: why it is not (the step and the kernel's answer) */
	int req_fd; /* eventfd of the PCI request interrupt, -1 when not watched */
	bool requested;
};

struct vfio_group {
	int id;
	int fd;
};

struct vfio_container {
	enum vfio_backend backend;
	int fd; /* /dev/vfio/vfio or /dev/iommu */
	uint32_t ioas;
	bool iommu_set;
	struct vfio_group groups[MAX_GROUPS];
	size_t nr_groups;
	struct vfio_dev *devs[MAX_DEVICES];
	size_t nr_devs;
	uint32_t hwpts[MAX_HWPTS];
	size_t nr_hwpts;
};

const char *vfio_backend_name(enum vfio_backend b)
{
	return b == VFIO_BACKEND_IOMMUFD ? "iommufd" : "type1";
}

static int err_errno(void)
{
	return errno ? -errno : -EIO;
}

int vfio_iommufd_available(char *why, size_t len)
{
	if (access("/dev/iommu", F_OK)) {
		snprintf(why, len,
			 "/dev/iommu is missing: this kernel has no iommufd "
			 "(CONFIG_IOMMUFD is not set)");
		return -ENOENT;
	}
	if (access("/sys/class/vfio-dev", F_OK) && access("/dev/vfio/devices", F_OK)) {
		snprintf(why, len,
			 "no VFIO cdev (/dev/vfio/devices): this kernel has no "
			 "CONFIG_VFIO_DEVICE_CDEV");
		return -ENOENT;
	}
	return 0;
}

int vfio_container__open(enum vfio_backend backend, struct vfio_container **out)
{
	struct vfio_container *c;
	int err;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->backend = backend;
	if (backend == VFIO_BACKEND_TYPE1) {
		c->fd = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
		if (c->fd < 0) {
			err = err_errno();
			pr_err("failed to open /dev/vfio/vfio: %s", strerror(-err));
			free(c);
			return err;
		}
		if (ioctl(c->fd, VFIO_GET_API_VERSION) != VFIO_API_VERSION ||
		    ioctl(c->fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) <= 0) {
			pr_err("failed to open a type1v2 container: the kernel lacks "
			       "VFIO_TYPE1v2_IOMMU");
			close(c->fd);
			free(c);
			return -EOPNOTSUPP;
		}
	} else {
		struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
		char why[128];

		err = vfio_iommufd_available(why, sizeof(why));
		if (err) {
			pr_err("failed to open the iommufd backend: %s", why);
			free(c);
			return err;
		}
		c->fd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
		if (c->fd < 0) {
			err = err_errno();
			pr_err("failed to open /dev/iommu: %s", strerror(-err));
			free(c);
			return err;
		}
		if (ioctl(c->fd, IOMMU_IOAS_ALLOC, &alloc)) {
			err = err_errno();
			pr_err("failed to allocate an IOAS: %s", strerror(-err));
			close(c->fd);
			free(c);
			return err;
		}
		c->ioas = alloc.out_ioas_id;
	}
	*out = c;
	return 0;
}

enum vfio_backend vfio_container__backend(const struct vfio_container *c)
{
	return c->backend;
}

const char *vfio_container__backend_name(const struct vfio_container *c)
{
	if (c->backend == VFIO_BACKEND_IOMMUFD)
		return backend_name(0, true);
	return backend_name(c->iommu_set ? VFIO_TYPE1v2_IOMMU : 0, false);
}

int vfio_container__fd(const struct vfio_container *c)
{
	return c->fd;
}

size_t vfio_container__hwpts(const struct vfio_container *c, uint32_t *ids, size_t max)
{
	size_t n = c->nr_hwpts < max ? c->nr_hwpts : max;

	memcpy(ids, c->hwpts, n * sizeof(*ids));
	return c->nr_hwpts;
}

size_t vfio_container__nr_devices(const struct vfio_container *c)
{
	return c->nr_devs;
}

struct vfio_dev *vfio_container__device(const struct vfio_container *c, size_t i)
{
	return i < c->nr_devs ? c->devs[i] : NULL;
}

static int group_of(const char *bdf)
{
	char path[PATH_MAX], target[PATH_MAX];
	ssize_t n;
	char *base;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return err_errno();
	target[n] = 0;
	base = strrchr(target, '/');
	return atoi(base ? base + 1 : target);
}

static int type1_attach_group(struct vfio_container *c, const char *bdf, int *group_fd)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	char path[64];
	int id, fd, err;

	id = group_of(bdf);
	if (id < 0) {
		pr_err("failed to find the IOMMU group of %s: %s", bdf, strerror(-id));
		return id;
	}
	for (size_t i = 0; i < c->nr_groups; i++) {
		if (c->groups[i].id == id) {
			*group_fd = c->groups[i].fd;
			return 0;
		}
	}
	if (c->nr_groups >= MAX_GROUPS)
		return -E2BIG;
	snprintf(path, sizeof(path), "/dev/vfio/%d", id);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		err = err_errno();
		pr_err("failed to open group %s of %s: %s (is it bound to vfio-pci?)", path, bdf,
		       strerror(-err));
		return err;
	}
	if (ioctl(fd, VFIO_GROUP_GET_STATUS, &st) || !(st.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		pr_err("failed to use group %d of %s: not viable (bind every device of the group "
		       "to vfio-pci)",
		       id, bdf);
		close(fd);
		return -EBUSY;
	}
	if (ioctl(fd, VFIO_GROUP_SET_CONTAINER, &c->fd)) {
		err = err_errno();
		pr_err("failed to attach group %d of %s to the container: %s", id, bdf,
		       strerror(-err));
		close(fd);
		return err;
	}
	if (!c->iommu_set) {
		if (ioctl(c->fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)) {
			err = err_errno();
			pr_err("failed to set the type1v2 IOMMU on the container: %s",
			       strerror(-err));
			ioctl(fd, VFIO_GROUP_UNSET_CONTAINER);
			close(fd);
			return err;
		}
		c->iommu_set = true;
	}
	c->groups[c->nr_groups++] = (struct vfio_group){ id, fd };
	*group_fd = fd;
	return 0;
}

static int cdev_open(const char *bdf)
{
	char path[PATH_MAX];
	struct dirent *de;
	int fd = -ENOENT;
	DIR *dir;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vfio-dev", bdf);
	dir = opendir(path);
	if (!dir)
		return -ENOENT;
	while ((de = readdir(dir))) {
		if (strncmp(de->d_name, "vfio", 4))
			continue;
		snprintf(path, sizeof(path), "/dev/vfio/devices/%s", de->d_name);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			fd = err_errno();
		break;
	}
	closedir(dir);
	return fd;
}

/* Records why d has no dirty-tracking HWPT; it is then attached to the IOAS itself. */
static void no_hw_dirty(struct vfio_dev *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void no_hw_dirty(struct vfio_dev *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->no_dirty, sizeof(d->no_dirty), fmt, ap);
	va_end(ap);
	d->hw_dirty = false;
}

/*
 * A dirty-tracking HWPT for d: one made for an earlier device if d attaches to it, else a new
 * one. As QEMU (iommufd_cdev_autodomains_get), asked for only when GET_HW_INFO reports
 * IOMMU_HW_CAP_DIRTY_TRACKING: the kernel refuses IOMMU_HWPT_ALLOC_DIRTY_TRACKING otherwise.
 */
static int attach_dirty_hwpt(struct vfio_container *c, struct vfio_dev *d)
{
	struct vfio_device_attach_iommufd_pt at = { .argsz = sizeof(at) };
	struct iommu_hwpt_alloc ha = {
		.size = sizeof(ha),
		.flags = IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
		.dev_id = d->devid,
		.pt_id = c->ioas,
	};
	struct iommu_destroy ds = { .size = sizeof(ds) };
	int err;

	for (size_t i = 0; i < c->nr_hwpts; i++) {
		at.pt_id = c->hwpts[i];
		if (!ioctl(d->fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at)) {
			d->hwpt = c->hwpts[i];
			return 0;
		}
	}
	if (c->nr_hwpts >= MAX_HWPTS) {
		no_hw_dirty(d, "no dirty-tracking HWPT it attaches to, and %d made already",
			    MAX_HWPTS);
		return -E2BIG;
	}
	if (ioctl(c->fd, IOMMU_HWPT_ALLOC, &ha)) {
		err = err_errno();
		no_hw_dirty(d, "IOMMU_HWPT_ALLOC with IOMMU_HWPT_ALLOC_DIRTY_TRACKING refused: %s",
			    strerror(-err));
		return err;
	}
	at.pt_id = ha.out_hwpt_id;
	if (ioctl(d->fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at)) {
		err = err_errno();
		no_hw_dirty(d, "attaching to dirty-tracking HWPT %u refused: %s", ha.out_hwpt_id,
			    strerror(-err));
		ds.id = ha.out_hwpt_id;
		ioctl(c->fd, IOMMU_DESTROY, &ds);
		return err;
	}
	c->hwpts[c->nr_hwpts++] = ha.out_hwpt_id;
	d->hwpt = ha.out_hwpt_id;
	return 0;
}

static int iommufd_attach(struct vfio_container *c, struct vfio_dev *d)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind), .iommufd = c->fd };
	struct vfio_device_attach_iommufd_pt at = { .argsz = sizeof(at) };
	struct iommu_hw_info hw = { .size = sizeof(hw) };
	int err;

	if (ioctl(d->fd, VFIO_DEVICE_BIND_IOMMUFD, &bind)) {
		err = err_errno();
		pr_err("failed to bind %s to iommufd: %s", d->name, strerror(-err));
		return err;
	}
	d->devid = bind.out_devid;
	hw.dev_id = d->devid;
	if (ioctl(c->fd, IOMMU_GET_HW_INFO, &hw)) {
		err = err_errno();
		no_hw_dirty(d, "IOMMU_GET_HW_INFO failed: %s", strerror(-err));
	} else if (!(hw.out_capabilities & IOMMU_HW_CAP_DIRTY_TRACKING)) {
		no_hw_dirty(d,
			    "IOMMU_GET_HW_INFO reports no IOMMU_HW_CAP_DIRTY_TRACKING: its IOMMU "
			    "cannot track dirty pages");
	} else {
		d->hw_dirty = true;
		err = attach_dirty_hwpt(c, d);
		if (!err)
			return 0;
		pr_warn("%s: the IOMMU reports dirty tracking, but %s; attaching to the IOAS",
			d->name, d->no_dirty);
	}
	at.pt_id = c->ioas;
	if (ioctl(d->fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at)) {
		err = err_errno();
		pr_err("failed to attach %s to IOAS %u: %s", d->name, c->ioas, strerror(-err));
		return err;
	}
	return 0;
}

int vfio_container__add_device(struct vfio_container *c, const char *bdf, struct vfio_dev **out)
{
	struct vfio_dev *d;
	int err, gfd;

	if (c->nr_devs >= MAX_DEVICES)
		return -E2BIG;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->c = c;
	d->fd = -1;
	d->req_fd = -1;
	snprintf(d->name, sizeof(d->name), "%s", bdf);
	if (c->backend == VFIO_BACKEND_TYPE1) {
		err = type1_attach_group(c, bdf, &gfd);
		if (err)
			goto fail;
		d->fd = ioctl(gfd, VFIO_GROUP_GET_DEVICE_FD, bdf);
		if (d->fd < 0) {
			err = err_errno();
			pr_err("failed to get the device fd of %s: %s", bdf, strerror(-err));
			goto fail;
		}
	} else {
		d->fd = cdev_open(bdf);
		if (d->fd < 0) {
			err = d->fd;
			pr_err("failed to open the VFIO cdev of %s: %s (no "
			       "/sys/bus/pci/devices/%s/vfio-dev: bound to vfio-pci? kernel with "
			       "CONFIG_VFIO_DEVICE_CDEV?)",
			       bdf, strerror(-err), bdf);
			goto fail;
		}
		err = iommufd_attach(c, d);
		if (err)
			goto fail;
	}
	c->devs[c->nr_devs++] = d;
	*out = d;
	return 0;
fail:
	if (d->fd >= 0)
		close(d->fd);
	free(d);
	return err;
}

void vfio_type1_caps(const void *buf, size_t len, struct vfio_iommu_info *info)
{
	struct vfio_iommu_type1_info t;
	uint32_t off;

	if (len < sizeof(t))
		return;
	memcpy(&t, buf, sizeof(t));
	/* The kernel places capabilities at offsets aligned to 4 bytes only (6.1 puts the IOVA
	 * range one at 0x144): each is copied out, never read through a cast pointer, and never
	 * past what the kernel filled. */
	off = (t.flags & VFIO_IOMMU_INFO_CAPS) ? t.cap_offset : 0;
	while (off && off + sizeof(struct vfio_info_cap_header) <= len) {
		const char *base = (const char *)buf + off;
		struct vfio_info_cap_header h;

		memcpy(&h, base, sizeof(h));
		if (h.id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE &&
		    off + sizeof(struct vfio_iommu_type1_info_cap_iova_range) <= len) {
			struct vfio_iommu_type1_info_cap_iova_range r;
			const char *ranges = base + offsetof(typeof(r), iova_ranges);
			uint32_t n = 0;

			memcpy(&r, base, sizeof(r));
			for (uint32_t i = 0; i < r.nr_iovas && i < VFIO_MAX_WINDOWS; i++) {
				struct vfio_iova_range w;

				if ((size_t)(ranges - (const char *)buf) + (i + 1) * sizeof(w) >
				    len)
					break;
				memcpy(&w, ranges + i * sizeof(w), sizeof(w));
				info->windows[i].iova = w.start;
				/* inclusive end; the whole space is reported as length 0 */
				info->windows[i].length = w.end - w.start + 1;
				n++;
			}
			info->nr_windows = n;
		} else if (h.id == VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION &&
			   off + sizeof(struct vfio_iommu_type1_info_cap_migration) <= len) {
			struct vfio_iommu_type1_info_cap_migration m;

			memcpy(&m, base, sizeof(m));
			info->has_migration = true;
			info->mig_pgsize_bitmap = m.pgsize_bitmap;
			info->max_dirty_bitmap_size = m.max_dirty_bitmap_size;
		}
		if (!h.next || h.next <= off)
			break;
		off = h.next;
	}
}

static int type1_info(struct vfio_container *c, struct vfio_iommu_info *info)
{
	struct vfio_iommu_type1_info *ti;
	size_t argsz = 4096;
	int err;

	for (;;) {
		ti = calloc(1, argsz);
		if (!ti)
			return -ENOMEM;
		ti->argsz = argsz;
		if (ioctl(c->fd, VFIO_IOMMU_GET_INFO, ti)) {
			err = err_errno();
			pr_err("failed to get IOMMU info of the container: %s", strerror(-err));
			free(ti);
			return err;
		}
		/* the kernel raises argsz when the capability chain does not fit */
		if (ti->argsz <= argsz)
			break;
		argsz = ti->argsz;
		free(ti);
	}
	if (ti->flags & VFIO_IOMMU_INFO_PGSIZES)
		info->iova_pgsizes = ti->iova_pgsizes;
	vfio_type1_caps(ti, argsz, info);
	free(ti);
	return 0;
}

static int iommufd_info(struct vfio_container *c, struct vfio_iommu_info *info)
{
	struct iommu_iova_range r[VFIO_MAX_WINDOWS];
	struct iommu_ioas_iova_ranges q = {
		.size = sizeof(q),
		.ioas_id = c->ioas,
		.num_iovas = VFIO_MAX_WINDOWS,
		.allowed_iovas = (uintptr_t)r,
	};
	int err;

	if (ioctl(c->fd, IOMMU_IOAS_IOVA_RANGES, &q) && errno != EMSGSIZE) {
		err = err_errno();
		pr_err("failed to get the IOVA ranges of IOAS %u: %s", c->ioas, strerror(-err));
		return err;
	}
	info->nr_windows = q.num_iovas < VFIO_MAX_WINDOWS ? q.num_iovas : VFIO_MAX_WINDOWS;
	for (size_t i = 0; i < info->nr_windows; i++) {
		info->windows[i].iova = r[i].start;
		info->windows[i].length = r[i].last - r[i].start + 1;
	}
	info->iova_pgsizes = q.out_iova_alignment ? q.out_iova_alignment : 4096;
	info->hw_dirty = c->nr_devs > 0 && c->nr_hwpts > 0;
	for (size_t i = 0; i < c->nr_devs; i++)
		if (!c->devs[i]->hw_dirty)
			info->hw_dirty = false;
	return 0;
}

int vfio_container__info(struct vfio_container *c, struct vfio_iommu_info *info)
{
	memset(info, 0, sizeof(*info));
	if (c->backend == VFIO_BACKEND_TYPE1)
		return type1_info(c, info);
	return iommufd_info(c, info);
}

int vfio_container__map(struct vfio_container *c, void *vaddr, uint64_t iova, uint64_t size)
{
	int err;

	if (c->backend == VFIO_BACKEND_TYPE1) {
		struct vfio_iommu_type1_dma_map m = {
			.argsz = sizeof(m),
			.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
			.vaddr = (uintptr_t)vaddr,
			.iova = iova,
			.size = size,
		};

		if (!ioctl(c->fd, VFIO_IOMMU_MAP_DMA, &m))
			return 0;
	} else {
		struct iommu_ioas_map m = {
			.size = sizeof(m),
			.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
				 IOMMU_IOAS_MAP_WRITEABLE,
			.ioas_id = c->ioas,
			.user_va = (uintptr_t)vaddr,
			.length = size,
			.iova = iova,
		};

		if (!ioctl(c->fd, IOMMU_IOAS_MAP, &m))
			return 0;
	}
	err = err_errno();
	pr_err("failed to map IOVA 0x%llx size 0x%llx: %s", (unsigned long long)iova,
	       (unsigned long long)size, strerror(-err));
	return err;
}

int vfio_container__unmap(struct vfio_container *c, uint64_t iova, uint64_t size)
{
	int err;

	if (c->backend == VFIO_BACKEND_TYPE1) {
		struct vfio_iommu_type1_dma_unmap u = {
			.argsz = sizeof(u),
			.iova = iova,
			.size = size,
		};

		if (!ioctl(c->fd, VFIO_IOMMU_UNMAP_DMA, &u))
			return 0;
	} else {
		struct iommu_ioas_unmap u = {
			.size = sizeof(u),
			.ioas_id = c->ioas,
			.iova = iova,
			.length = size,
		};

		if (!ioctl(c->fd, IOMMU_IOAS_UNMAP, &u))
			return 0;
	}
	err = err_errno();
	pr_err("failed to unmap IOVA 0x%llx size 0x%llx: %s", (unsigned long long)iova,
	       (unsigned long long)size, strerror(-err));
	return err;
}

void vfio_container__free(struct vfio_container *c)
{
	if (!c)
		return;
	/* devices first: a group cannot leave a container while its device fds are open */
	for (size_t i = 0; i < c->nr_devs; i++) {
		close(c->devs[i]->fd); /* frees the request interrupt's trigger too */
		if (c->devs[i]->req_fd >= 0)
			close(c->devs[i]->req_fd);
		free(c->devs[i]);
	}
	for (size_t i = 0; i < c->nr_hwpts; i++) {
		struct iommu_destroy ds = { .size = sizeof(ds), .id = c->hwpts[i] };

		ioctl(c->fd, IOMMU_DESTROY, &ds);
	}
	for (size_t i = 0; i < c->nr_groups; i++) {
		ioctl(c->groups[i].fd, VFIO_GROUP_UNSET_CONTAINER);
		close(c->groups[i].fd);
	}
	close(c->fd);
	free(c);
}

const char *vfio_dev__name(const struct vfio_dev *d)
{
	return d->name;
}

int vfio_dev__watch_request(struct vfio_dev *d)
{
	struct vfio_irq_info info = { .argsz = sizeof(info), .index = VFIO_PCI_REQ_IRQ_INDEX };
	struct {
		struct vfio_irq_set set;
		int32_t fd;
	} irq = { .set = {
			  .argsz = sizeof(irq),
			  .flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
			  .index = VFIO_PCI_REQ_IRQ_INDEX,
			  .count = 1,
		  } };
	int err;

	if (d->req_fd >= 0)
		return d->req_fd;
	if (ioctl(d->fd, VFIO_DEVICE_GET_IRQ_INFO, &info) || info.count < 1)
		return -EOPNOTSUPP;
	irq.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (irq.fd < 0)
		return err_errno();
	if (ioctl(d->fd, VFIO_DEVICE_SET_IRQS, &irq)) {
		err = err_errno();
		pr_warn("failed to watch for removal of %s (request interrupt): %s", d->name,
			strerror(-err));
		close(irq.fd);
		return err;
	}
	d->req_fd = irq.fd;
	return d->req_fd;
}

bool vfio_dev__requested(struct vfio_dev *d)
{
	uint64_t n;

	if (!d->requested && d->req_fd >= 0 && read(d->req_fd, &n, sizeof(n)) == sizeof(n))
		d->requested = true;
	return d->requested;
}

int vfio_dev__fd(const struct vfio_dev *d)
{
	return d->fd;
}

bool vfio_dev__iommu_dirty(const struct vfio_dev *d, const char **why)
{
	if (why)
		*why = d->hw_dirty ? "" : d->no_dirty;
	return d->hw_dirty;
}

int vfio_dev__region(struct vfio_dev *d, unsigned int index, uint64_t *offset, uint64_t *size)
{
	struct vfio_region_info ri = { .argsz = sizeof(ri), .index = index };
	int err;

	if (ioctl(d->fd, VFIO_DEVICE_GET_REGION_INFO, &ri)) {
		err = err_errno();
		pr_err("failed to get region %u info of %s: %s", index, d->name, strerror(-err));
		return err;
	}
	*offset = ri.offset;
	*size = ri.size;
	return 0;
}

static int region_io(struct vfio_dev *d, unsigned int index, uint64_t off, void *buf, size_t len,
		     bool write)
{
	uint64_t base, size;
	ssize_t n;
	int err;

	err = vfio_dev__region(d, index, &base, &size);
	if (err)
		return err;
	if (off > size || len > size - off)
		return -ERANGE;
	n = write ? pwrite(d->fd, buf, len, base + off) : pread(d->fd, buf, len, base + off);
	if (n == (ssize_t)len)
		return 0;
	err = n < 0 ? err_errno() : -EIO;
	pr_err("failed to %s region %u offset 0x%llx of %s: %s", write ? "write" : "read", index,
	       (unsigned long long)off, d->name, strerror(-err));
	return err;
}

int vfio_dev__read(struct vfio_dev *d, unsigned int index, uint64_t off, void *buf, size_t len)
{
	return region_io(d, index, off, buf, len, false);
}

int vfio_dev__write(struct vfio_dev *d, unsigned int index, uint64_t off, const void *buf,
		    size_t len)
{
	return region_io(d, index, off, (void *)buf, len, true);
}

/* ---- guest RAM ---- */

int guest_ram__map(struct vfio_container *c, const struct layout *l, uint64_t page_size,
		   struct guest_ram *ram)
{
	struct vfio_iommu_info info;
	int err;

	memset(ram, 0, sizeof(*ram));
	err = vfio_container__info(c, &info);
	if (err)
		return err;
	for (size_t i = 0; i < l->nr; i++) {
		const struct section *s = &l->sections[i];
		struct guest_ram_section *g = &ram->sec[ram->nr++];
		uint64_t last = s->iova + s->size - 1;

		g->s = *s;
		if (s->kind == SECTION_OTHER) {
			pr_debug("section [0x%llx, 0x%llx] is not RAM: not mapped, not tracked",
				 (unsigned long long)s->iova, (unsigned long long)last);
			continue;
		}
		if ((s->iova | s->size) & (page_size - 1)) {
			pr_err("failed to map section [0x%llx, 0x%llx]: not aligned to the %llu-byte "
			       "page",
			       (unsigned long long)s->iova, (unsigned long long)last,
			       (unsigned long long)page_size);
			err = -EINVAL;
			goto fail;
		}
		if (info.nr_windows &&
		    !ranges_in_windows(info.windows, info.nr_windows, s->iova, last)) {
			pr_err("failed to map section [0x%llx, 0x%llx]: outside the IOMMU's valid "
			       "IOVA ranges",
			       (unsigned long long)s->iova, (unsigned long long)last);
			for (size_t w = 0; w < info.nr_windows; w++)
				pr_err("  valid: [0x%llx, 0x%llx]",
				       (unsigned long long)info.windows[w].iova,
				       (unsigned long long)(info.windows[w].iova +
							    info.windows[w].length - 1));
			err = -ERANGE;
			goto fail;
		}
		g->host = mmap(NULL, s->size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (g->host == MAP_FAILED) {
			g->host = NULL;
			err = err_errno();
			pr_err("failed to allocate %llu bytes for section at 0x%llx: %s",
			       (unsigned long long)s->size, (unsigned long long)s->iova,
			       strerror(-err));
			goto fail;
		}
		err = vfio_container__map(c, g->host, s->iova, s->size);
		if (err)
			goto fail;
		g->mapped = true;
	}
	return 0;
fail:
	guest_ram__unmap(c, ram);
	return err;
}

void guest_ram__unmap(struct vfio_container *c, struct guest_ram *ram)
{
	for (size_t i = 0; i < ram->nr; i++) {
		struct guest_ram_section *g = &ram->sec[i];

		if (g->mapped)
			vfio_container__unmap(c, g->s.iova, g->s.size);
		if (g->host)
			munmap(g->host, g->s.size);
		g->mapped = false;
		g->host = NULL;
	}
	ram->nr = 0;
}

void *guest_ram__host(const struct guest_ram *ram, uint64_t iova)
{
	for (size_t i = 0; i < ram->nr; i++) {
		const struct guest_ram_section *g = &ram->sec[i];

		if (g->host && iova >= g->s.iova && iova - g->s.iova < g->s.size)
			return (char *)g->host + (iova - g->s.iova);
	}
	return NULL;
}
