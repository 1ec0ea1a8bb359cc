// SPDX-License-Identifier: GPL-2.0
/*
 * The iommufd side of `vfioscope info`: whether the kernel has the iommufd selftests' mock
 * domain, and for each device a VFIO driver holds, whether its IOMMU offers dirty tracking.
 * Both are asked of the kernel itself, never inferred from a version.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "vfioscope/tracer/features.h"

/*
 * The selftests' command (drivers/iommu/iommufd/iommufd_test.h): not uAPI, present only with
 * CONFIG_IOMMUFD_TEST. iommufd_fops_ioctl() sends a number beyond its op table to the VFIO
 * compat layer, which answers ENOTTY; with the test op in the table, a size below the
 * command's minimum is EINVAL before anything runs. So a 4-byte size of 0 asks safely.
 */
#define VFIOSCOPE_IOMMU_TEST_CMD _IO(IOMMUFD_TYPE, IOMMUFD_CMD_BASE + 32)

#define SYS_PCI_DEVICES "/sys/bus/pci/devices"

/* snprintf that says when it truncated: sysfs names are short, but not by contract */
static bool fmt(char *buf, size_t len, const char *f, ...) __attribute__((format(printf, 3, 4)));

static bool fmt(char *buf, size_t len, const char *f, ...)
{
	va_list ap;
	int n;

	va_start(ap, f);
	n = vsnprintf(buf, len, f, ap);
	va_end(ap);
	return n >= 0 && (size_t)n < len;
}

vfioscope_answer_t vfioscope_probe_iommufd_test(void)
{
	__u32 size = 0;
	int fd, err;

	fd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = ioctl(fd, VFIOSCOPE_IOMMU_TEST_CMD, &size) ? -errno : 0;
	close(fd);
	if (err == -EINVAL || !err)
		return 1;
	if (err == -ENOTTY)
		return 0;
	return err;
}

/* The cdev name under DEV/vfio-dev ("vfio0"), when the kernel gave the device one. */
static void cdev_of(const char *dev, char *out, size_t len)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	out[0] = '\0';
	if (!fmt(path, sizeof(path), "%s/vfio-dev", dev))
		return;
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "vfio", 4))
			continue;
		/* without VFIO_DEVICE_CDEV the class device exists but has no dev_t */
		if (fmt(path, sizeof(path), "%s/vfio-dev/%s/dev", dev, de->d_name) &&
		    access(path, F_OK) == 0 && !fmt(out, len, "%s", de->d_name))
			out[0] = '\0';
		break;
	}
	closedir(d);
}

static bool driver_of(const char *dev, char *out, size_t len)
{
	char path[PATH_MAX], link[PATH_MAX];
	const char *base;
	ssize_t n;

	if (!fmt(path, sizeof(path), "%s/driver", dev))
		return false;
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return false;
	link[n] = '\0';
	base = strrchr(link, '/');
	return fmt(out, len, "%s", base ? base + 1 : link);
}

static bool has_vfio_device(const char *dev)
{
	char path[PATH_MAX];

	return fmt(path, sizeof(path), "%s/vfio-dev", dev) && access(path, F_OK) == 0;
}

static void fail(struct vfioscope_device_info *d, const char *step)
{
	d->failed_step = step;
	d->dirty_tracking = -errno;
}

/* Bind the device's cdev to a fresh iommufd and ask IOMMU_GET_HW_INFO. */
static void ask_hw_info(struct vfioscope_device_info *d)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct iommu_hw_info info = { .size = sizeof(info) };
	int iommufd, devfd = -1;
	char path[64];

	if (!d->cdev[0]) {
		d->failed_step = "find the device cdev";
		d->dirty_tracking = -ENODEV;
		return;
	}
	iommufd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	if (iommufd < 0) {
		fail(d, "open /dev/iommu");
		return;
	}
	fmt(path, sizeof(path), "/dev/vfio/devices/%s", d->cdev);
	devfd = open(path, O_RDWR | O_CLOEXEC);
	if (devfd < 0) {
		fail(d, "open the device cdev");
		goto out;
	}
	bind.iommufd = iommufd;
	if (ioctl(devfd, VFIO_DEVICE_BIND_IOMMUFD, &bind)) {
		fail(d, "bind the device cdev to an iommufd");
		goto out;
	}
	info.dev_id = bind.out_devid;
	if (ioctl(iommufd, IOMMU_GET_HW_INFO, &info)) {
		fail(d, "get the IOMMU hw info");
		goto out;
	}
	d->hw_info_type = info.out_data_type;
	d->dirty_tracking = !!(info.out_capabilities & IOMMU_HW_CAP_DIRTY_TRACKING);
out:
	/* closing the device fd unbinds it from the iommufd */
	if (devfd >= 0)
		close(devfd);
	close(iommufd);
}

void vfioscope_probe_devices(struct vfioscope_features *f)
{
	char dev[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(SYS_PCI_DEVICES);

	f->ndevices = 0;
	if (!d)
		return;
	while ((de = readdir(d)) && f->ndevices < VFIOSCOPE_MAX_DEVICES) {
		struct vfioscope_device_info *di = &f->devices[f->ndevices];
		char drv[32] = "";

		if (de->d_name[0] == '.')
			continue;
		if (!fmt(dev, sizeof(dev), SYS_PCI_DEVICES "/%s", de->d_name))
			continue;
		/* vfio-pci itself or any variant driver: both register a VFIO device */
		if (!driver_of(dev, drv, sizeof(drv)) || !has_vfio_device(dev))
			continue;
		memset(di, 0, sizeof(*di));
		if (!fmt(di->bdf, sizeof(di->bdf), "%s", de->d_name))
			continue;
		snprintf(di->driver, sizeof(di->driver), "%s", drv);
		cdev_of(dev, di->cdev, sizeof(di->cdev));
		ask_hw_info(di);
		f->ndevices++;
	}
	closedir(d);
}

const char *vfioscope_device_info__dirty(const struct vfioscope_device_info *d, char *buf,
					 size_t len)
{
	if (d->dirty_tracking >= 0)
		snprintf(buf, len, "%s", d->dirty_tracking ? "yes" : "no");
	else if (d->dirty_tracking == -ENODEV && !d->cdev[0])
		snprintf(buf, len, "unknown (no VFIO device cdev in this kernel)");
	else
		snprintf(buf, len, "unknown (failed to %s: %s)", d->failed_step,
			 strerror(-d->dirty_tracking));
	return buf;
}

const char *vfioscope_hw_info_type_name(uint32_t type, char *buf, size_t len)
{
	switch (type) {
	case IOMMU_HW_INFO_TYPE_NONE:
		snprintf(buf, len, "none");
		break;
	case IOMMU_HW_INFO_TYPE_INTEL_VTD:
		snprintf(buf, len, "intel_vtd");
		break;
	default:
		snprintf(buf, len, "%u", type);
		break;
	}
	return buf;
}
