/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Who a VFIO device file is: the name of the device the kernel bound to VFIO (the PCI address
 * for PCI devices), its driver, and its IOMMU group, read from the kernel's own struct
 * vfio_device behind the file rather than from the name a GET_DEVICE_FD call passed (a file
 * opened through the cdev, or before the tracer started, never passes one). Read once per
 * device file, when the tracer first sees it. Included by tracer.bpf.c.
 *
 * vmlinux.h comes from a host kernel without VFIO, and VFIO is a module on some kernels: the
 * types below are CO-RE flavours, relocated against whichever BTF (vmlinux or vfio's module)
 * holds them on the running kernel.
 */
#ifndef VFIOSCOPE_DEVICE_ID_BPF_H
#define VFIOSCOPE_DEVICE_ID_BPF_H

/* struct vfio_device: ->dev is the device that was bound to the VFIO driver (the PCI
 * function), not the vfio_device's own struct device named "vfioN" */
struct vfio_device___vs {
	struct device *dev;
} __attribute__((preserve_access_index));

/* 6.5+ (the VFIO cdev series): a device file's private_data is a struct vfio_device_file;
 * before, it is the struct vfio_device itself */
struct vfio_device_file___vs {
	struct vfio_device___vs *device;
} __attribute__((preserve_access_index));

struct iommu_group___vs {
	int id;
} __attribute__((preserve_access_index));

struct device___vs {
	struct iommu_group___vs *iommu_group;
} __attribute__((preserve_access_index));

static __always_inline struct device *vfio_file_device(struct file *f)
{
	void *priv = BPF_CORE_READ(f, private_data);
	struct vfio_device___vs *vdev = priv;

	if (!priv)
		return NULL;
	if (bpf_core_type_exists(struct vfio_device_file___vs))
		vdev = BPF_CORE_READ((struct vfio_device_file___vs *)priv, device);
	if (!vdev || !bpf_core_type_exists(struct vfio_device___vs))
		return NULL;
	return BPF_CORE_READ(vdev, dev);
}

/* Fill @fi's device name, driver and IOMMU group from device file @f; leaves the name empty
 * when the kernel's structures cannot be read (the user side then says "unknown"). */
static __always_inline void device_identity(struct vfs_file *fi, struct file *f)
{
	struct device *dev = vfio_file_device(f);
	struct iommu_group___vs *grp = NULL;
	const char *drv = NULL;

	if (!dev)
		return;
	bpf_probe_read_kernel_str(fi->device, sizeof(fi->device), BPF_CORE_READ(dev, kobj.name));
	if (BPF_CORE_READ(dev, driver))
		drv = BPF_CORE_READ(dev, driver, name);
	if (drv)
		bpf_probe_read_kernel_str(fi->driver, sizeof(fi->driver), drv);
	/* device->iommu_group exists with CONFIG_IOMMU_API; VFIO needs an IOMMU group for every
	 * device it takes (noiommu makes a fake one), so this holds the group's number */
	if (bpf_core_field_exists(struct device___vs, iommu_group))
		grp = BPF_CORE_READ((struct device___vs *)dev, iommu_group);
	if (grp)
		fi->iommu_group = BPF_CORE_READ(grp, id);
}

#endif
