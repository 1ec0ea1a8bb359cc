/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What this kernel offers vfioscope, found out by trying (retsnoop's runtime calibration),
 * never by version number: BTF, module BTF, VFIO and iommufd presence, which BPF program types
 * load and attach, capabilities held. `vfioscope info` prints it, with the way in the tracer
 * chooses (tracer__way_in: the choice is made in tracer.c only, this reports it).
 */
#ifndef VFIOSCOPE_FEATURES_H
#define VFIOSCOPE_FEATURES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vfioscope/common/json.h"

enum vfioscope_prog_kind {
	VFIOSCOPE_PROG_TP_BTF,
	VFIOSCOPE_PROG_RAW_TP,
	VFIOSCOPE_PROG_FENTRY,
	VFIOSCOPE_PROG_KPROBE,
	VFIOSCOPE_PROG_KINDS,
};

struct vfioscope_prog_probe {
	const char *kind; /* "tp_btf", "raw_tp", "fentry", "kprobe" */
	char target[64]; /* what it was attached to */
	bool tried;
	int load_err; /* 0 or -errno */
	int attach_err; /* 0 or -errno (only after a successful load) */
	bool fired; /* it ran when this process made a call it should see */
};

enum vfioscope_module_id {
	VFIOSCOPE_MOD_VFIO,
	VFIOSCOPE_MOD_VFIO_IOMMU_TYPE1,
	VFIOSCOPE_MOD_VFIO_PCI,
	VFIOSCOPE_MOD_VFIO_PCI_CORE,
	VFIOSCOPE_MOD_IOMMUFD,
	VFIOSCOPE_MODS,
};

struct vfioscope_module_info {
	const char *name;
	bool loaded; /* /sys/module/NAME exists, or built in (always there) */
	bool available; /* listed in modules.dep or modules.builtin of the running kernel */
	/* its code is part of vmlinux: one of its functions is in vmlinux BTF, or the kernel's
	 * modules.builtin lists it, or /sys/module/NAME has no initstate */
	bool builtin;
	bool btf; /* its functions have BTF: /sys/kernel/btf/NAME, or vmlinux BTF when built in */
	const char *btf_in; /* "module", "vmlinux" or NULL */
};

/* 1 yes, 0 no, -errno: could not be asked */
typedef int vfioscope_answer_t;

#define VFIOSCOPE_MAX_DEVICES 16

/*
 * A PCI device held by a VFIO driver, and what its IOMMU offers, asked the way a VMM does
 * through iommufd: open /dev/iommu and the device's cdev, VFIO_DEVICE_BIND_IOMMUFD,
 * IOMMU_GET_HW_INFO. Binding opens the device, which resets an idle one.
 */
struct vfioscope_device_info {
	char bdf[16];
	char driver[32];
	char cdev[16]; /* "vfio0"; empty when the kernel gives the device no cdev */
	vfioscope_answer_t dirty_tracking; /* out_capabilities & IOMMU_HW_CAP_DIRTY_TRACKING */
	uint32_t hw_info_type; /* IOMMU_HW_INFO_TYPE_*, when dirty_tracking >= 0 */
	const char *failed_step; /* when dirty_tracking < 0: "open /dev/iommu", ... */
};

struct vfioscope_features {
	char kernel_release[65];
	bool btf_vmlinux;
	struct vfioscope_module_info modules[VFIOSCOPE_MODS];
	bool vfio_container_dev; /* /dev/vfio/vfio */
	bool iommufd_dev; /* /dev/iommu */
	/* VFIO_DEVICE_CDEV: its "vfio-dev" char devices in /proc/devices, or a cdev node exists */
	bool vfio_cdev;
	/* IOMMUFD_TEST (the selftests' mock domain): IOMMU_TEST_CMD answers on /dev/iommu */
	vfioscope_answer_t iommufd_test;
	int vfio_groups; /* /dev/vfio/N entries */
	int vfio_cdevs; /* /dev/vfio/devices/vfioN entries */
	bool ringbuf; /* BPF_MAP_TYPE_RINGBUF */
	bool iova_bitmap_set_btf; /* iova_bitmap_set in vmlinux or module BTF */
	struct vfioscope_prog_probe progs[VFIOSCOPE_PROG_KINDS];
	struct vfioscope_device_info devices[VFIOSCOPE_MAX_DEVICES];
	int ndevices;
	uint64_t caps_effective; /* bit n = capability n */
	/* tracer__way_in(): "fentry", "kprobe", "tp_btf", "raw_tp" or "none", and why */
	const char *tracer_mode;
	char tracer_reason[512];
};

/* Fill @f. Probing needs privileges; what cannot be probed is reported, not fatal. */
int vfioscope_features__probe(struct vfioscope_features *f);

bool vfioscope_features__vfio_present(const struct vfioscope_features *f);
bool vfioscope_features__iommufd_present(const struct vfioscope_features *f);
/* VFIO's core is part of the kernel image rather than the vfio module */
bool vfioscope_features__vfio_builtin(const struct vfioscope_features *f);

/* The iommufd side (iommu_probe.c): IOMMUFD_TEST, and each VFIO device's IOMMU. */
vfioscope_answer_t vfioscope_probe_iommufd_test(void);
void vfioscope_probe_devices(struct vfioscope_features *f);
/* "yes", "no", "unknown (<step>: <strerror>)" into @buf */
const char *vfioscope_device_info__dirty(const struct vfioscope_device_info *d, char *buf,
					 size_t len);
/* "intel_vtd", "none", or the number */
const char *vfioscope_hw_info_type_name(uint32_t type, char *buf, size_t len);
/* "ok", "refused: Permission denied (load)", ... into @buf */
const char *vfioscope_prog_probe__status(const struct vfioscope_prog_probe *p, char *buf,
					 size_t len);

void vfioscope_features__print(const struct vfioscope_features *f, FILE *out);
void vfioscope_features__json(const struct vfioscope_features *f, struct json_writer *jw);

#endif
