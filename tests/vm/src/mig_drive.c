// SPDX-License-Identifier: GPL-2.0
/*
 * mig_drive: one device migration through the plain VFIO uAPI (no libvfioscope), on edu bound
 * to edu-vfio-pci, with everything it did printed as one JSON document: the ground truth the
 * migrations scenario compares `vfioscope migrations` and `record` with.
 *
 *   mig_drive BDF [--chunk BYTES] [--syncs N] [--pause-ms MS] [--idle-calls N] [--no-log]
 *
 * Source leg: DMA logging START, N rounds of (edu DMAs k+1 pages, REPORT), STOP; then
 * RUNNING -> STOP -> STOP_COPY, MIG_DATA_SIZE, the data fd read in CHUNK-byte reads to EOF,
 * STOP. Destination leg, on the same device: STOP -> RESUMING, the bytes written back in
 * CHUNK-byte writes, STOP, RUNNING. --pause-ms waits after each state change that returns a
 * data fd, as a VMM does between asking for the fd and moving data.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/vfio.h>

#define PAGE	 0x1000ULL
#define MAP_IOVA 0x200000ULL
#define MAP_SIZE 0x400000ULL
#define NPAGES	 (MAP_SIZE / PAGE)

#define EDU_DMA_SRC    0x80
#define EDU_DMA_DST    0x88
#define EDU_DMA_CNT    0x90
#define EDU_DMA_CMD    0x98
#define EDU_BUF	       0x40000
#define EDU_CMD_RUN    0x1
#define EDU_CMD_TO_RAM 0x2

static const char *bdf;
static int container = -1, group = -1, dev = -1;
static uint64_t bar0_off, cfg_off;
static unsigned int pause_ms;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* bench/migration_vm.sh: the time of an unrelated syscall while no data fd is live */
static uint64_t idle_calls_ns(unsigned int n)
{
	uint64_t t0 = now_ns();

	for (unsigned int i = 0; i < n; i++)
		syscall(SYS_getppid);
	return now_ns() - t0;
}

static void die(const char *step)
{
	fprintf(stderr, "mig_drive: failed to %s on %s: %s\n", step, bdf, strerror(errno));
	exit(2);
}

static int feature(uint32_t flags, void *data, size_t len)
{
	uint8_t buf[sizeof(struct vfio_device_feature) + 64] = { 0 };
	struct vfio_device_feature *f = (void *)buf;

	f->argsz = sizeof(*f) + len;
	f->flags = flags;
	if (len)
		memcpy(f->data, data, len);
	if (ioctl(dev, VFIO_DEVICE_FEATURE, f))
		return -errno;
	if (len)
		memcpy(data, f->data, len);
	return 0;
}

static void bar_write(uint32_t reg, uint32_t v)
{
	if (pwrite(dev, &v, 4, bar0_off + reg) != 4)
		die("write BAR0");
}

static uint32_t bar_read(uint32_t reg)
{
	uint32_t v;

	if (pread(dev, &v, 4, bar0_off + reg) != 4)
		die("read BAR0");
	return v;
}

static void dma_to_ram(uint64_t dst, uint32_t cnt)
{
	bar_write(EDU_DMA_SRC, EDU_BUF);
	bar_write(EDU_DMA_DST, dst);
	bar_write(EDU_DMA_CNT, cnt);
	bar_write(EDU_DMA_CMD, EDU_CMD_RUN | EDU_CMD_TO_RAM);
	for (int i = 0; i < 3000 && (bar_read(EDU_DMA_CMD) & EDU_CMD_RUN); i++)
		usleep(10000);
	if (bar_read(EDU_DMA_CMD) & EDU_CMD_RUN) {
		errno = ETIMEDOUT;
		die("wait for edu DMA");
	}
}

static void open_device(void)
{
	struct vfio_group_status gs = { .argsz = sizeof(gs) };
	struct vfio_region_info ri = { .argsz = sizeof(ri) };
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.iova = MAP_IOVA,
		.size = MAP_SIZE,
	};
	char path[256], link[256], *p;
	uint16_t cmd;
	void *mem;
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		die("find the IOMMU group");
	link[n] = 0;
	p = strrchr(link, '/');
	snprintf(path, sizeof(path), "/dev/vfio/%s", p + 1);
	container = open("/dev/vfio/vfio", O_RDWR);
	group = open(path, O_RDWR);
	if (container < 0 || group < 0)
		die("open the container and group");
	if (ioctl(group, VFIO_GROUP_GET_STATUS, &gs) || !(gs.flags & VFIO_GROUP_FLAGS_VIABLE))
		die("check the group is viable");
	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container))
		die("set the container");
	if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		die("set the type1v2 IOMMU");
	dev = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (dev < 0)
		die("get the device fd");
	ri.index = VFIO_PCI_CONFIG_REGION_INDEX;
	if (ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &ri))
		die("get the config region");
	cfg_off = ri.offset;
	ri.index = VFIO_PCI_BAR0_REGION_INDEX;
	if (ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &ri))
		die("get the BAR0 region");
	bar0_off = ri.offset;
	if (pread(dev, &cmd, 2, cfg_off + 4) != 2)
		die("read PCI_COMMAND");
	cmd |= 0x6;
	if (pwrite(dev, &cmd, 2, cfg_off + 4) != 2)
		die("write PCI_COMMAND");
	mem = mmap(NULL, MAP_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		die("allocate DMA memory");
	map.vaddr = (uintptr_t)mem;
	if (ioctl(container, VFIO_IOMMU_MAP_DMA, &map))
		die("map DMA memory");
}

static const char *state_name(uint32_t s)
{
	static const char *const n[] = { "ERROR",    "STOP",	    "RUNNING",	"STOP_COPY",
					 "RESUMING", "RUNNING_P2P", "PRE_COPY", "PRE_COPY_P2P" };

	return s < 8 ? n[s] : "?";
}

static bool first_transition = true;

static int mig_set(uint32_t state, int *data_fd)
{
	struct vfio_device_feature_mig_state st = { .device_state = state, .data_fd = -1 };
	int ret = feature(VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, &st,
			  sizeof(st));

	printf("%s{\"state\":\"%s\",\"ret\":%d,\"data_fd\":%d}", first_transition ? "" : ",",
	       state_name(state), ret, ret ? -1 : st.data_fd);
	first_transition = false;
	if (ret)
		die("set the migration state");
	*data_fd = st.data_fd;
	if (st.data_fd >= 0 && pause_ms)
		usleep(pause_ms * 1000);
	return ret;
}

int main(int argc, char **argv)
{
	uint64_t bitmap[NPAGES / 64], size = 0, pgsize = PAGE;
	size_t chunk = 64, len = 0, cap = 1 << 20;
	unsigned int syncs = 3, reads = 0, writes = 0, idle_calls = 0;
	bool log = true;
	uint64_t read_ns, write_ns, idle_ns;
	int fd, ret, report_err = 0;
	uint8_t *blob = malloc(cap);
	ssize_t n;

	if (argc < 2 || !blob) {
		fprintf(stderr, "usage: mig_drive BDF [--chunk BYTES] [--syncs N] [--pause-ms MS] "
				"[--idle-calls N] [--no-log]\n");
		free(blob);
		return 2;
	}
	bdf = argv[1];
	for (int i = 2; i < argc; i += 2) {
		/* no DMA logging: the SET that returns the data fd is the device's first
		 * migration call, and the reads follow at once (a tracer's worst case) */
		if (!strcmp(argv[i], "--no-log")) {
			log = false;
			i--;
		} else if (i + 1 >= argc)
			break;
		else if (!strcmp(argv[i], "--chunk"))
			chunk = strtoul(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--syncs"))
			syncs = strtoul(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--pause-ms"))
			pause_ms = strtoul(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--idle-calls"))
			idle_calls = strtoul(argv[i + 1], NULL, 0);
	}
	if (!chunk || chunk > cap)
		chunk = 64;
	open_device();
	idle_ns = idle_calls_ns(idle_calls);

	/* dirty syncs: round k makes edu write k + 1 pages, then one REPORT */
	struct vfio_device_feature_dma_logging_range r = { MAP_IOVA, MAP_SIZE };
	struct vfio_device_feature_dma_logging_control ctl = { .page_size = PAGE,
							       .num_ranges = 1,
							       .ranges = (uintptr_t)&r };
	printf("{\"syncs\":[");
	if (!log)
		syncs = 0;
	ret = !log ? 0 :
		     feature(VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_START, &ctl,
			     sizeof(ctl));
	if (ret) {
		errno = -ret;
		die("start DMA logging");
	}
	for (unsigned int k = 0; k < syncs; k++) {
		struct vfio_device_feature_dma_logging_report rep = { .iova = MAP_IOVA,
								      .length = MAP_SIZE,
								      .page_size = pgsize,
								      .bitmap = (uintptr_t)bitmap };
		unsigned int pages = 0;

		for (unsigned int p = 0; p <= k; p++)
			dma_to_ram(MAP_IOVA + (16 * k + p) * PAGE, 64);
		memset(bitmap, 0, sizeof(bitmap));
		ret = feature(VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT,
			      &rep, sizeof(rep));
		for (unsigned int w = 0; w < NPAGES / 64; w++)
			pages += __builtin_popcountll(bitmap[w]);
		if (ret)
			report_err = ret;
		printf("%s{\"ret\":%d,\"pages\":%u}", k ? "," : "", ret, ret ? 0 : pages);
	}
	if (log)
		feature(VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP, NULL, 0);
	printf("],\"report_errno\":%d,\"transitions\":[", -report_err);

	/* source */
	mig_set(VFIO_DEVICE_STATE_STOP, &fd);
	mig_set(VFIO_DEVICE_STATE_STOP_COPY, &fd);
	ret = feature(VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIG_DATA_SIZE, &size,
		      sizeof(size));
	read_ns = now_ns();
	while ((n = read(fd, blob + len, len + chunk <= cap ? chunk : cap - len)) > 0) {
		len += n;
		reads++;
	}
	if (n < 0)
		die("read the data fd");
	reads++; /* the read that returned 0 */
	read_ns = now_ns() - read_ns;
	{
		int unused;

		mig_set(VFIO_DEVICE_STATE_STOP, &unused);
	}
	close(fd);

	/* destination, on the same device */
	mig_set(VFIO_DEVICE_STATE_RESUMING, &fd);
	write_ns = now_ns();
	for (size_t off = 0; off < len; off += (size_t)n) {
		n = write(fd, blob + off, len - off < chunk ? len - off : chunk);
		if (n <= 0)
			die("write the data fd");
		writes++;
	}
	write_ns = now_ns() - write_ns;
	{
		int unused;

		mig_set(VFIO_DEVICE_STATE_STOP, &unused);
		close(fd);
		mig_set(VFIO_DEVICE_STATE_RUNNING, &unused);
	}
	printf("],\"read_bytes\":%zu,\"reads\":%u,\"written_bytes\":%zu,\"writes\":%u,"
	       "\"read_ns\":%" PRIu64 ",\"write_ns\":%" PRIu64 ",\"idle_calls\":%u,"
	       "\"idle_ns\":%" PRIu64 ",\"data_size\":",
	       len, reads, len, writes, read_ns, write_ns, idle_calls, idle_ns);
	if (ret)
		printf("null");
	else
		printf("%" PRIu64, size);
	printf("}\n");
	free(blob); /* LeakSanitizer checks the guest programs too (make SANITIZE=1) */
	return 0;
}
