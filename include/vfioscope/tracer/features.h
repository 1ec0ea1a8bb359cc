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
	bool loaded; /* /sys/module/NAME exists (loaded or built in) */
	bool available; /* listed in modules.dep or modules.builtin of the running kernel */
	bool btf; /* /sys/kernel/btf/NAME */
};

struct vfioscope_features {
	char kernel_release[65];
	bool btf_vmlinux;
	struct vfioscope_module_info modules[VFIOSCOPE_MODS];
	bool vfio_container_dev; /* /dev/vfio/vfio */
	bool iommufd_dev; /* /dev/iommu */
	int vfio_groups; /* /dev/vfio/N entries */
	int vfio_cdevs; /* /dev/vfio/devices/vfioN entries */
	bool ringbuf; /* BPF_MAP_TYPE_RINGBUF */
	bool iova_bitmap_set_btf; /* iova_bitmap_set in vmlinux or module BTF */
	struct vfioscope_prog_probe progs[VFIOSCOPE_PROG_KINDS];
	uint64_t caps_effective; /* bit n = capability n */
	/* tracer__way_in(): "fentry", "kprobe", "tp_btf", "raw_tp" or "none", and why */
	const char *tracer_mode;
	char tracer_reason[512];
};

/* Fill @f. Probing needs privileges; what cannot be probed is reported, not fatal. */
int vfioscope_features__probe(struct vfioscope_features *f);

bool vfioscope_features__vfio_present(const struct vfioscope_features *f);
bool vfioscope_features__iommufd_present(const struct vfioscope_features *f);
/* "ok", "refused: Permission denied (load)", ... into @buf */
const char *vfioscope_prog_probe__status(const struct vfioscope_prog_probe *p, char *buf,
					 size_t len);

void vfioscope_features__print(const struct vfioscope_features *f, FILE *out);
void vfioscope_features__json(const struct vfioscope_features *f, struct json_writer *jw);

#endif
