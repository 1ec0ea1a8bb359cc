// SPDX-License-Identifier: GPL-2.0
/*
 * iommufd_vtd_dirty BDF: what the kernel answers when HWPT dirty tracking is asked for a real
 * device behind QEMU's emulated VT-d, through the plain uAPI (no libvfioscope), so the
 * tracker's fallback is checked against the kernel itself. QEMU's VT-d does not emulate
 * second-stage access/dirty bits (ECAP SSADS), so:
 *   IOMMU_GET_HW_INFO reports no IOMMU_HW_CAP_DIRTY_TRACKING, and
 *   IOMMU_HWPT_ALLOC with IOMMU_HWPT_ALLOC_DIRTY_TRACKING fails with EOPNOTSUPP,
 * while a plain HWPT_ALLOC for the same device works.
 * BDF must be bound to vfio-pci, on a kernel with iommufd and the VFIO cdev.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/iommufd.h>
#include <linux/vfio.h>

static int passed, failed;

static void check(bool ok, const char *what, int err)
{
	printf("%s: %s: %s\n", ok ? "ok" : "FAIL", what,
	       err ? strerrorname_np(err) ?: strerror(err) : "0");
	ok ? passed++ : failed++;
}

static int cdev_open(const char *bdf)
{
	char path[PATH_MAX];
	struct dirent *de;
	int fd = -1;
	DIR *dir;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vfio-dev", bdf);
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((de = readdir(dir)))
		if (!strncmp(de->d_name, "vfio", 4)) {
			snprintf(path, sizeof(path), "/dev/vfio/devices/%s", de->d_name);
			fd = open(path, O_RDWR | O_CLOEXEC);
			break;
		}
	closedir(dir);
	return fd;
}

int main(int argc, char **argv)
{
	struct iommu_ioas_alloc ia = { .size = sizeof(ia) };
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct iommu_hw_info hw = { .size = sizeof(hw) };
	struct iommu_hwpt_alloc ha = { .size = sizeof(ha) };
	int iommufd, devfd, err;

	if (argc != 2) {
		fprintf(stderr, "usage: iommufd_vtd_dirty BDF\n");
		return 2;
	}
	iommufd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	devfd = cdev_open(argv[1]);
	if (iommufd < 0 || devfd < 0) {
		printf("FAIL: open /dev/iommu and the VFIO cdev of %s: %s\n", argv[1],
		       strerror(errno));
		return 1;
	}
	err = ioctl(iommufd, IOMMU_IOAS_ALLOC, &ia) ? errno : 0;
	check(!err, "IOMMU_IOAS_ALLOC", err);
	bind.iommufd = iommufd;
	err = ioctl(devfd, VFIO_DEVICE_BIND_IOMMUFD, &bind) ? errno : 0;
	check(!err, "VFIO_DEVICE_BIND_IOMMUFD", err);
	hw.dev_id = bind.out_devid;
	err = ioctl(iommufd, IOMMU_GET_HW_INFO, &hw) ? errno : 0;
	check(!err && hw.out_data_type == IOMMU_HW_INFO_TYPE_INTEL_VTD,
	      "IOMMU_GET_HW_INFO: an Intel VT-d", err);
	check(!(hw.out_capabilities & IOMMU_HW_CAP_DIRTY_TRACKING),
	      "IOMMU_GET_HW_INFO: no IOMMU_HW_CAP_DIRTY_TRACKING", 0);
	ha.dev_id = bind.out_devid;
	ha.pt_id = ia.out_ioas_id;
	ha.flags = IOMMU_HWPT_ALLOC_DIRTY_TRACKING;
	err = ioctl(iommufd, IOMMU_HWPT_ALLOC, &ha) ? errno : 0;
	check(err == EOPNOTSUPP, "IOMMU_HWPT_ALLOC with IOMMU_HWPT_ALLOC_DIRTY_TRACKING refused",
	      err);
	ha.flags = 0;
	err = ioctl(iommufd, IOMMU_HWPT_ALLOC, &ha) ? errno : 0;
	check(!err, "IOMMU_HWPT_ALLOC without it works for the same device", err);
	close(devfd);
	close(iommufd);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
