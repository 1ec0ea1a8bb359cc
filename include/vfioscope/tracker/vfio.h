/* SPDX-License-Identifier: GPL-2.0 */
/*
 * VFIO backends, in the manner of the kernel's VFIO selftests library: one container noun over
 * two modes. type1v2: /dev/vfio/vfio + groups + device fds from the group (every kernel here).
 * iommufd: /dev/iommu + an IOAS (+ a dirty-tracking HWPT when the IOMMU offers one) + VFIO cdev
 * device fds, detected at run time.
 */
#ifndef VFIOSCOPE_VFIO_H
#define VFIOSCOPE_VFIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vfioscope/common/ranges.h"

enum vfio_backend {
	VFIO_BACKEND_TYPE1,
	VFIO_BACKEND_IOMMUFD,
};

const char *vfio_backend_name(enum vfio_backend b);

struct vfio_container;
struct vfio_dev;

/* What the IOMMU told us (type1 VFIO_IOMMU_GET_INFO, or iommufd IOAS_IOVA_RANGES). */
#define VFIO_MAX_WINDOWS 16
struct vfio_iommu_info {
	uint64_t iova_pgsizes;
	struct iova_range windows[VFIO_MAX_WINDOWS]; /* valid IOVA ranges (the host window) */
	size_t nr_windows;
	/* type1 MIGRATION capability (dirty tracking) */
	bool has_migration;
	uint64_t mig_pgsize_bitmap;
	uint64_t max_dirty_bitmap_size;
	/* iommufd: the IOMMU can track dirty pages (IOMMU_HW_CAP_DIRTY_TRACKING on every device) */
	bool hw_dirty;
};

/*
 * The capability chain of a type1 VFIO_IOMMU_GET_INFO answer (@buf, @len bytes as the kernel
 * filled them) into @info: the valid IOVA windows and the migration (dirty tracking)
 * capability. Capabilities may sit at any 4-byte offset; nothing is read past @len.
 */
void vfio_type1_caps(const void *buf, size_t len, struct vfio_iommu_info *info);

/*
 * Whether the iommufd backend can work here: 0, or -ENOENT with a reason in why
 * ("/dev/iommu is missing: this kernel has no CONFIG_IOMMUFD").
 */
int vfio_iommufd_available(char *why, size_t len);

/* Opens an empty container of the given backend. */
int vfio_container__open(enum vfio_backend backend, struct vfio_container **out);
void vfio_container__free(struct vfio_container *c);
enum vfio_backend vfio_container__backend(const struct vfio_container *c);
/* The `backend` label (names.h backend_name()): "type1v2" once a group is attached, "iommufd". */
const char *vfio_container__backend_name(const struct vfio_container *c);

/*
 * Adds the PCI device bdf ("0000:00:02.0"): type1 opens its IOMMU group, checks it is viable,
 * attaches it to the container (setting the type1v2 IOMMU on the first group) and gets the
 * device fd; iommufd opens the VFIO cdev, binds it and attaches it to the IOAS (through a
 * dirty-tracking HWPT when the IOMMU supports one).
 */
int vfio_container__add_device(struct vfio_container *c, const char *bdf, struct vfio_dev **out);
size_t vfio_container__nr_devices(const struct vfio_container *c);
struct vfio_dev *vfio_container__device(const struct vfio_container *c, size_t i);

int vfio_container__info(struct vfio_container *c, struct vfio_iommu_info *info);
int vfio_container__map(struct vfio_container *c, void *vaddr, uint64_t iova, uint64_t size);
int vfio_container__unmap(struct vfio_container *c, uint64_t iova, uint64_t size);

/* The fd the IOMMU-level ioctls go to (container or iommufd), and for iommufd the HWPTs. */
int vfio_container__fd(const struct vfio_container *c);
size_t vfio_container__hwpts(const struct vfio_container *c, uint32_t *ids, size_t max);

const char *vfio_dev__name(const struct vfio_dev *d);
/*
 * Asks the kernel to signal an eventfd when it wants the device back (the PCI request
 * interrupt, VFIO_PCI_REQ_IRQ_INDEX: the device is being removed or unbound; without it the
 * removal waits until the fd is closed). Returns the eventfd (owned by the device, closed with
 * it) or -errno: -EOPNOTSUPP when the device has no request interrupt.
 */
int vfio_dev__watch_request(struct vfio_dev *d);
/* True once the kernel has asked for the device back (reads the eventfd; never blocks). */
bool vfio_dev__requested(struct vfio_dev *d);
int vfio_dev__fd(const struct vfio_dev *d);
/*
 * iommufd: whether d sits on a dirty-tracking HWPT; if not, *why says which step said no and
 * the kernel's answer ("IOMMU_GET_HW_INFO reports no IOMMU_HW_CAP_DIRTY_TRACKING: ...").
 * Always false, with an empty *why, on type1: there dirty tracking is the container's.
 */
bool vfio_dev__iommu_dirty(const struct vfio_dev *d, const char **why);
int vfio_dev__region(struct vfio_dev *d, unsigned int index, uint64_t *offset, uint64_t *size);
int vfio_dev__read(struct vfio_dev *d, unsigned int index, uint64_t off, void *buf, size_t len);
int vfio_dev__write(struct vfio_dev *d, unsigned int index, uint64_t off, const void *buf,
		    size_t len);

/* ---- memory laid out like a VM's RAM ---- */

struct guest_ram_section {
	struct section s;
	void *host; /* NULL when the section is not mapped (skipped) */
	bool mapped;
};

struct guest_ram {
	struct guest_ram_section sec[LAYOUT_MAX_SECTIONS];
	size_t nr;
};

/*
 * Allocates and DMA-maps every section of the layout that is RAM, a BAR or behind the vIOMMU,
 * after checking it against the IOMMU's valid IOVA ranges (-ERANGE, with a message naming the
 * section, when one falls outside: QEMU's host window check). Sections of kind "other"
 * are neither mapped nor tracked. Sections must be aligned to page_size (-EINVAL). On failure,
 * what was mapped is unmapped again.
 */
int guest_ram__map(struct vfio_container *c, const struct layout *l, uint64_t page_size,
		   struct guest_ram *ram);
void guest_ram__unmap(struct vfio_container *c, struct guest_ram *ram);
/* The host address behind an IOVA, or NULL. */
void *guest_ram__host(const struct guest_ram *ram, uint64_t iova);

#endif
