// SPDX-License-Identifier: GPL-2.0
/*
 * A "VMM" that opens one device the way tests/vm/scenarios/devices_identity.sh asks (plain
 * VFIO uAPI, no libvfioscope), so that the names vfioscope gives it can be checked:
 *   group: container + group, VFIO_GROUP_GET_DEVICE_FD(BDF), one VFIO_IOMMU_MAP_DMA;
 *   cdev:  /dev/vfio/devices/vfioN + /dev/iommu, BIND_IOMMUFD, IOAS_ALLOC, ATTACH_IOMMUFD_PT,
 *          one IOMMU_IOAS_MAP.
 * It prints what it opened as one JSON line, waits for a line on stdin, makes one device call
 * (VFIO_DEVICE_GET_INFO) and says so in a second line, waits for another line, and exits.
 *
 * usage: devices_open group|cdev BDF GROUP
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define MAP_BYTES 0x100000

static void die(const char *step)
{
	fprintf(stderr, "devices_open: failed to %s: %s\n", step, strerror(errno));
	exit(1);
}

static void *buffer(void)
{
	void *p = mmap(NULL, MAP_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap a buffer");
	return p;
}

/* Returns the device fd. */
static int open_group(const char *bdf, const char *group)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.size = MAP_BYTES,
	};
	char path[64];
	int c, g, d;

	c = open("/dev/vfio/vfio", O_RDWR);
	if (c < 0)
		die("open /dev/vfio/vfio");
	snprintf(path, sizeof(path), "/dev/vfio/%s", group);
	g = open(path, O_RDWR);
	if (g < 0)
		die("open the group");
	if (ioctl(g, VFIO_GROUP_SET_CONTAINER, &c))
		die("set the group's container");
	if (ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		die("set the IOMMU type");
	d = ioctl(g, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (d < 0)
		die("get the device fd");
	m.vaddr = (uintptr_t)buffer();
	if (ioctl(c, VFIO_IOMMU_MAP_DMA, &m))
		die("map memory");
	return d;
}

/* /sys/bus/pci/devices/BDF/vfio-dev/vfioN -> /dev/vfio/devices/vfioN */
static int open_cdev(const char *bdf)
{
	char path[320];
	struct dirent *de;
	DIR *dir;
	int d = -1;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vfio-dev", bdf);
	dir = opendir(path);
	if (!dir)
		die("find the device's cdev");
	while ((de = readdir(dir)))
		if (!strncmp(de->d_name, "vfio", 4)) {
			snprintf(path, sizeof(path), "/dev/vfio/devices/%s", de->d_name);
			d = open(path, O_RDWR);
			break;
		}
	closedir(dir);
	if (d < 0)
		die("open the device's cdev");
	return d;
}

static int bind_cdev(const char *bdf)
{
	int d = open_cdev(bdf), fd = open("/dev/iommu", O_RDWR);
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind), .iommufd = fd };
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct vfio_device_attach_iommufd_pt attach = { .argsz = sizeof(attach) };
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.length = MAP_BYTES,
	};

	if (fd < 0)
		die("open /dev/iommu");
	if (ioctl(d, VFIO_DEVICE_BIND_IOMMUFD, &bind))
		die("bind the device to iommufd");
	if (ioctl(fd, IOMMU_IOAS_ALLOC, &alloc))
		die("allocate an IOAS");
	attach.pt_id = alloc.out_ioas_id;
	if (ioctl(d, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach))
		die("attach the device to the IOAS");
	map.ioas_id = alloc.out_ioas_id;
	map.user_va = (uintptr_t)buffer();
	if (ioctl(fd, IOMMU_IOAS_MAP, &map))
		die("map memory");
	return d;
}

static void wait_line(void)
{
	char line[16];

	if (!fgets(line, sizeof(line), stdin))
		exit(0);
}

int main(int argc, char **argv)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };
	int d;

	if (argc != 4 || (strcmp(argv[1], "group") && strcmp(argv[1], "cdev"))) {
		fprintf(stderr, "usage: devices_open group|cdev BDF GROUP\n");
		return 2;
	}
	d = !strcmp(argv[1], "group") ? open_group(argv[2], argv[3]) : bind_cdev(argv[2]);
	printf("{\"pid\": %d, \"opened\": \"%s\", \"device_fd\": %d}\n", getpid(), argv[1], d);
	fflush(stdout);
	wait_line();
	if (ioctl(d, VFIO_DEVICE_GET_INFO, &info))
		die("get the device's info");
	printf("{\"get_info\": %u}\n", info.num_regions);
	fflush(stdout);
	wait_line();
	return 0;
}
