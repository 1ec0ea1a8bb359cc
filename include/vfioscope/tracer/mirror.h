/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The observed state, read from the tracer's BPF maps: processes -> containers (type1 container
 * or iommufd IOAS) -> groups and devices, each container's DMA mappings and summary, the dirty
 * tracking sessions seen, and the tracking ranges QEMU's range algorithm would compute from
 * the mappings (QEMU's vfio_dirty_tracking_update()). The maps are the truth; a mirror is a snapshot
 * of them, rebuilt whenever the tracer reports lost events.
 */
#ifndef VFIOSCOPE_MIRROR_H
#define VFIOSCOPE_MIRROR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vfioscope/tracer/events.h"
#include "vfioscope/common/json.h"

struct tracer;
struct mirror;

struct mirror_file {
	uint64_t file; /* struct file *: identity only, shown with mirror__kernel_addresses() */
	struct vfs_file f;
	unsigned int id; /* the tracer's small id (struct vfs_file.id): what users see */
	int iommu_group; /* device: from the kernel, else from sysfs; -1 unknown */
};

struct mirror_mapping {
	uint64_t iova;
	uint64_t size;
	uint64_t vaddr;
	uint32_t flags;
	bool bar; /* a BAR of one of this container's own devices (QEMU's PCI-64 rule) */
	uint64_t device; /* the VFIO device file whose BAR mmap backs vaddr, or 0 */
};

/* QEMU's tracking ranges: at most one below 4 GiB, one above, and one for this container's
 * own device BARs above 4 GiB (length 0: none). */
struct mirror_ranges {
	uint64_t iova32, len32;
	uint64_t iova64, len64;
	uint64_t iovapci64, lenpci64;
};

struct mirror_container {
	unsigned int id; /* small id assigned in order of first sight (labels, tables) */
	uint64_t file;
	uint32_t ioas;
	struct vfs_container c;
	struct mirror_mapping *maps; /* sorted by iova */
	size_t nmaps;
	struct mirror_ranges ranges;
};

struct mirror_session {
	struct vfs_sess_key key;
	struct vfs_session s;
};

/* A HWPT allocated with IOMMU_HWPT_ALLOC, alive in its iommufd. */
struct mirror_hwpt {
	struct vfs_hwpt_key key;
	struct vfs_hwpt h;
};

/*
 * A device fd found in /proc. A VFIO cdev (/dev/vfio/devices/vfioN) names its device through
 * sysfs; a device fd from GET_DEVICE_FD is an anonymous inode that /proc cannot tell apart
 * from any other, so it is named only once the tracer sees a call on it.
 */
struct mirror_proc_device {
	int fd;
	bool cdev;
	bool traced; /* the tracer has seen a call on this fd's file */
	bool found_at_start; /* the tracer found it open when it started (and named it) */
	char address[VFS_DEV_NAME]; /* "" unknown */
	char driver[VFS_DEV_NAME];
	int iommu_group; /* -1 unknown */
};

/* A process holding VFIO/iommufd fds, found in /proc (it may predate the tracer). */
struct mirror_process {
	int pid;
	char comm[16];
	int fds[VFS_KINDS]; /* open fds by kind */
	bool traced; /* the tracer has seen it make VFIO calls */
	struct mirror_proc_device *devs;
	size_t ndevs;
};

int mirror__new(struct mirror **out);
void mirror__free(struct mirror *m);

/* Snapshot the tracer's maps. Clears the stale mark. */
int mirror__load(struct mirror *m, const struct tracer *t);
/* Reload if the tracer lost events since the last load (the mirror may be wrong); returns
 * 1 when it rebuilt, 0 when nothing was lost, or -errno. */
int mirror__refresh(struct mirror *m, const struct tracer *t);
bool mirror__stale(const struct mirror *m);
uint64_t mirror__resyncs(const struct mirror *m);
/* Find processes with VFIO files in /proc (fds opened before the tracer are found too). */
int mirror__scan_proc(struct mirror *m);

/* Drop the state of processes that have exited (their files are gone with them; the
 * syscall-level way in sees no release). Returns the number of files dropped. */
int mirror_gc(const struct tracer *t);
/* Delete the mappings a released container file left in the tracer's map (the BPF side does
 * not walk the map at each close; such mappings are never shown). Returns how many. */
int mirror_reclaim(const struct tracer *t);

/* Show the kernel's struct file addresses next to vfioscope's ids (off: they leak the
 * kernel's layout into logs and mean nothing to a user). */
void mirror__kernel_addresses(struct mirror *m, bool show);

size_t mirror__containers(const struct mirror *m, const struct mirror_container **out);
size_t mirror__files(const struct mirror *m, const struct mirror_file **out);
size_t mirror__sessions(const struct mirror *m, const struct mirror_session **out);
size_t mirror__hwpts(const struct mirror *m, const struct mirror_hwpt **out);
size_t mirror__processes(const struct mirror *m, const struct mirror_process **out);

/* How a device file was opened: "cdev" (/dev/vfio/devices/vfioN) or "group"
 * (VFIO_GROUP_GET_DEVICE_FD). */
const char *mirror_device_opened(const struct vfs_file *f);
/* The container a group or device file belongs to, or NULL (none seen yet). */
const struct mirror_container *mirror__container_of(const struct mirror *m,
						    const struct mirror_file *f);
/* The IOMMU group of a device named @address, from sysfs (-1 if unknown). */
int mirror_sysfs_iommu_group(const char *address);

/* QEMU's range algorithm over @n mappings, page-aligned to @page (a power of two). */
void mirror_qemu_ranges(const struct mirror_mapping *maps, size_t n, uint64_t page,
			struct mirror_ranges *out);

/*
 * The whole state, plain or as members of an open JSON object. Backends are named by
 * backend_name() and dirty-tracking methods by dirty_method_name() (common/names.h).
 */
void mirror__print(const struct mirror *m, FILE *out);
void mirror__json(const struct mirror *m, struct json_writer *jw);
/* One container of @m (its members, mappings, QEMU's ranges, type1 dirty tracking). */
void mirror__print_container(const struct mirror *m, const struct mirror_container *c, FILE *out);
void mirror__container_json(const struct mirror *m, const struct mirror_container *c,
			    struct json_writer *jw);

#endif
