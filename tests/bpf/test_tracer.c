// SPDX-License-Identifier: GPL-2.0
/*
 * The tracer on the host kernel (no VFIO here): load and attach of the syscall-level way in,
 * decode of every op from synthesized ioctls of type ';', the mirror, and the filter path.
 *
 * The synthesized calls go to regular files named like the VFIO device nodes, which the
 * tracer's test hook (tracer_opts.test_hook) classifies as such and whose ENOTTY it takes for
 * success. That hook is the only simulated part; the real devices are tested in the VM
 * (tests/vm/scenarios/tracer_*.sh).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <cmocka.h>

#include "vfioscope/tracer/decode.h"
#include "vfioscope/tracer/tracer.h"
#include "vfioscope/tracer/mirror.h"

#define MAX_EVENTS 256

static struct tracer *tr;
static char dir[64];
static struct vfs_event evs[MAX_EVENTS];
static int nevs;

static int collect(void *ctx, const struct vfs_event *ev)
{
	if ((pid_t)ev->pid == getpid() && nevs < MAX_EVENTS)
		evs[nevs++] = *ev;
	return 0;
}

static void drain(void)
{
	nevs = 0;
	tracer__poll(tr, 0, collect, NULL);
}

static void make_path(const char *rel, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", dir, rel);
}

/* Create a stand-in file and open it. */
static int open_fake(const char *rel)
{
	char path[128];
	int fd;

	make_path(rel, path, sizeof(path));
	fd = open(path, O_RDWR | O_CREAT, 0600);
	assert_true(fd >= 0);
	return fd;
}

static int setup_dirs(void **state)
{
	char path[128];

	snprintf(dir, sizeof(dir), "/dev/shm/vfst-%d", getpid());
	mkdir(dir, 0700);
	make_path("vfio", path, sizeof(path));
	mkdir(path, 0700);
	make_path("vfio/devices", path, sizeof(path));
	mkdir(path, 0700);
	return 0;
}

static int teardown_dirs(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int teardown_tracer(void **state)
{
	tracer__free(tr);
	tr = NULL;
	return 0;
}

static const struct mirror_container *find_container(struct mirror *m, uint64_t file, uint32_t ioas)
{
	const struct mirror_container *c;
	size_t n = mirror__containers(m, &c);

	for (size_t i = 0; i < n; i++)
		if (c[i].file == file && c[i].ioas == ioas)
			return &c[i];
	return NULL;
}

static const struct vfs_session *find_session(struct mirror *m, uint64_t file, uint32_t id,
					      uint32_t method)
{
	const struct mirror_session *s;
	size_t n = mirror__sessions(m, &s);

	for (size_t i = 0; i < n; i++)
		if (s[i].key.file == file && s[i].key.id == id && s[i].key.method == method)
			return &s[i].s;
	return NULL;
}

static void map_dma(int fd, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = 0x7f0000000000ULL + iova,
		.iova = iova,
		.size = size,
	};

	ioctl(fd, VFIO_IOMMU_MAP_DMA, &map);
}

static void unmap_dma(int fd, uint64_t iova, uint64_t size, uint32_t flags)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap), .flags = flags, .iova = iova, .size = size
	};

	ioctl(fd, VFIO_IOMMU_UNMAP_DMA, &unmap);
}

/* A container set up as QEMU does: SET_IOMMU first. Returns its file id. */
static uint64_t new_container(int *fdp)
{
	int fd = open_fake("vfio/vfio");

	ioctl(fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU);
	drain();
	assert_int_equal(nevs, 1);
	assert_int_equal(evs[0].op, VFS_OP_SET_IOMMU);
	assert_int_equal(evs[0].kind, VFS_KIND_CONTAINER);
	*fdp = fd;
	return evs[0].file;
}

static void test_syscall_mode_loads_and_attaches(void **state)
{
	const struct tracer_prog_status *p;
	int n = tracer__programs(tr, &p), attached = 0;

	assert_true(!strcmp(tracer__mode(tr), "tp_btf") || !strcmp(tracer__mode(tr), "raw_tp"));
	for (int i = 0; i < n; i++)
		if (p[i].role == TRACER_ROLE_WAY_IN)
			attached += p[i].attached;
	assert_int_equal(attached, 2);
}

static void test_raw_tp_fallback_loads_and_sees_calls(void **state)
{
	struct tracer_opts o = { .sz = sizeof(o), .mode = "raw_tp", .test_hook = true };
	struct tracer *raw;
	struct tracer *saved = tr;
	int fd;

	assert_int_equal(tracer__new(&o, &raw), 0);
	assert_string_equal(tracer__mode(raw), "raw_tp");
	fd = open_fake("vfio/vfio");
	ioctl(fd, VFIO_GET_API_VERSION);
	tr = raw;
	drain();
	tr = saved;
	assert_int_equal(nevs, 1);
	assert_int_equal(evs[0].op, VFS_OP_GET_API_VERSION);
	close(fd);
	tracer__free(raw);
	drain();
}

/* A named thread makes one call: QEMU's ioctls come from threads named unlike the process. */
static void *named_caller(void *arg)
{
	prctl(PR_SET_NAME, "vfs-worker");
	ioctl(*(int *)arg, VFIO_GET_API_VERSION);
	return NULL;
}

static void expect_thread_comm(struct tracer *t)
{
	struct tracer *saved = tr;
	int fd = open_fake("vfio/vfio");
	char ours[16] = "";
	pthread_t th;

	assert_int_equal(pthread_create(&th, NULL, named_caller, &fd), 0);
	pthread_join(th, NULL);
	ioctl(fd, VFIO_GET_API_VERSION);
	prctl(PR_GET_NAME, ours);
	tr = t;
	drain();
	tr = saved;
	assert_int_equal(nevs, 2);
	assert_string_equal(evs[0].comm, "vfs-worker");
	assert_int_not_equal(evs[0].tid, evs[0].pid);
	assert_string_equal(evs[1].comm, ours);
	assert_int_equal(evs[1].tid, evs[1].pid);
	close(fd);
}

static void test_comm_is_the_calling_threads(void **state)
{
	struct tracer_opts o = { .sz = sizeof(o), .mode = "raw_tp", .test_hook = true };
	struct tracer *raw;

	expect_thread_comm(tr);
	assert_int_equal(tracer__new(&o, &raw), 0);
	expect_thread_comm(raw);
	tracer__free(raw);
	drain();
}

/* ---- the process filter (tracer_opts.pid, .comm): applied in BPF ---- */

struct seen {
	int n;
	pid_t pid[MAX_EVENTS];
	char comm[MAX_EVENTS][16];
};

static int collect_all(void *ctx, const struct vfs_event *ev)
{
	struct seen *s = ctx;

	if (ev->op != VFS_OP_GET_API_VERSION || s->n >= MAX_EVENTS)
		return 0;
	s->pid[s->n] = ev->pid;
	memcpy(s->comm[s->n], ev->comm, sizeof(s->comm[0]));
	s->n++;
	return 0;
}

static int seen_from(const struct seen *s, pid_t pid)
{
	int n = 0;

	for (int i = 0; i < s->n; i++)
		n += s->pid[i] == pid;
	return n;
}

/* Entries of the tracer's `files` map last used by @tgid: what a call left in the maps. */
static int files_of(struct tracer *t, pid_t tgid)
{
	int fd = tracer__map_fd(t, TRACER_MAP_FILES), n = 0;
	uint64_t key, next, *prev = NULL;
	struct vfs_file fi;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &fi) == 0 && (pid_t)fi.tgid == tgid)
			n++;
	}
	return n;
}

/* A child waits for a byte on @go, then makes one call on its own container file, and exits
 * at a second byte: alive while the parent looks, so no clean-up of dead processes' state
 * (mirror_gc, once a second in tracer__poll) can take its file first. */
static pid_t caller_child(int go)
{
	pid_t child = fork();
	char c;

	assert_true(child >= 0);
	if (child)
		return child;
	if (read(go, &c, 1) == 1) {
		int fd = open_fake("vfio/vfio");

		ioctl(fd, VFIO_GET_API_VERSION);
		if (read(go, &c, 1) != 1)
			_exit(1);
	}
	_exit(0);
}

static void expect_pid_filter(const char *mode)
{
	struct seen s = {};
	struct tracer *t;
	int go[2], fd;
	pid_t child;

	assert_int_equal(pipe(go), 0);
	child = caller_child(go[0]);
	struct tracer_opts o = { .sz = sizeof(o), .mode = mode, .test_hook = true, .pid = child };

	assert_int_equal(tracer__new(&o, &t), 0);
	assert_string_equal(tracer__mode(t), mode);
	fd = open_fake("vfio/vfio");
	ioctl(fd, VFIO_GET_API_VERSION); /* excluded: another process */
	assert_int_equal(write(go[1], "x", 1), 1);
	/* poll until the child's call is read (bounded: 5 s); the child lives until told */
	for (int i = 0; i < 50 && !seen_from(&s, child); i++)
		tracer__poll(t, 100, collect_all, &s);
	assert_int_equal(seen_from(&s, getpid()), 0);
	assert_int_equal(files_of(t, getpid()), 0);
	assert_int_equal(seen_from(&s, child), 1);
	assert_int_equal(files_of(t, child), 1);
	assert_int_equal(write(go[1], "x", 1), 1);
	waitpid(child, NULL, 0);
	close(fd);
	close(go[0]);
	close(go[1]);
	tracer__free(t);
	drain();
	/* The shared tracer may have seen the child's call too, and the syscall way in sees no
	 * release when a process exits holding a file: drop a dead child's state as serve and
	 * state do (mirror_gc), or later tests find its file. */
	if (tr)
		assert_true(mirror_gc(tr) >= 0);
}

static void test_pid_filter_sees_only_the_selected_process(void **state)
{
	expect_pid_filter("tp_btf");
	expect_pid_filter("raw_tp");
}

static void expect_comm_filter(const char *mode)
{
	char ours[16] = "", wanted[16];
	struct seen s = {};
	struct tracer *t;
	int fd;

	snprintf(wanted, sizeof(wanted), "vfsf-%d", getpid());
	struct tracer_opts o = { .sz = sizeof(o), .mode = mode, .test_hook = true, .comm = wanted };

	assert_int_equal(tracer__new(&o, &t), 0);
	fd = open_fake("vfio/vfio");
	ioctl(fd, VFIO_GET_API_VERSION); /* excluded: our own comm */
	prctl(PR_GET_NAME, ours);
	prctl(PR_SET_NAME, wanted);
	ioctl(fd, VFIO_GET_API_VERSION);
	prctl(PR_SET_NAME, ours);
	ioctl(fd, VFIO_GET_API_VERSION); /* excluded again */
	tracer__poll(t, 0, collect_all, &s);
	assert_int_equal(seen_from(&s, getpid()), 1);
	assert_string_equal(s.comm[0], wanted);
	close(fd);
	tracer__free(t);
	drain();
}

static void test_comm_filter_sees_only_threads_of_that_name(void **state)
{
	expect_comm_filter("tp_btf");
	expect_comm_filter("raw_tp");
}

static void test_map_dma_is_decoded_and_mirrored(void **state)
{
	struct mirror *m;
	const struct mirror_container *c;
	char text[512];
	uint64_t file;
	int fd;

	file = new_container(&fd);
	map_dma(fd, 0x100000, 0x200000);
	drain();
	assert_int_equal(nevs, 1);
	assert_int_equal(evs[0].op, VFS_OP_MAP_DMA);
	assert_int_equal(evs[0].ret, -ENOTTY);
	assert_int_equal(evs[0].fd, fd);
	decode_args_text(&evs[0], text, sizeof(text));
	assert_non_null(strstr(text, "flags=READ|WRITE vaddr=0x7f0000100000 iova=0x100000 "
				     "size=0x200000"));
	assert_int_equal(mirror__new(&m), 0);
	assert_int_equal(mirror__load(m, tr), 0);
	c = find_container(m, file, 0);
	assert_non_null(c);
	assert_false(c->c.flags & VFS_CTR_PARTIAL);
	assert_int_equal(c->c.iommu_type, VFIO_TYPE1v2_IOMMU);
	assert_int_equal(c->nmaps, 1);
	assert_int_equal(c->c.mapped_bytes, 0x200000);
	assert_int_equal(c->ranges.iova32, 0x100000);
	assert_int_equal(c->ranges.len32, 0x200000);
	assert_int_equal(c->ranges.len64, 0);
	mirror__free(m);
	close(fd);
}

static void test_unmap_removes_covered_mappings_and_recomputes_summary(void **state)
{
	const struct mirror_container *c;
	struct mirror *m;
	uint64_t file;
	int fd;

	file = new_container(&fd);
	map_dma(fd, 0x0, 0xc0000);
	map_dma(fd, 0x100000, 0x7f00000);
	map_dma(fd, 0x100000000ULL, 0x40000000);
	unmap_dma(fd, 0x0, 0x8000000, 0); /* covers the first two whole mappings */
	assert_int_equal(mirror__new(&m), 0);
	assert_int_equal(mirror__load(m, tr), 0);
	c = find_container(m, file, 0);
	assert_non_null(c);
	assert_int_equal(c->nmaps, 1);
	assert_int_equal(c->c.mappings, 1);
	assert_int_equal(c->c.mapped_bytes, 0x40000000);
	assert_int_equal(c->c.max32, 0);
	assert_int_equal(c->c.min64, 0x100000000ULL);
	assert_int_equal(c->c.max64, 0x13fffffffULL);
	assert_int_equal(c->ranges.len32, 0);
	assert_int_equal(c->ranges.iova64, 0x100000000ULL);
	unmap_dma(fd, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL);
	assert_int_equal(mirror__load(m, tr), 0);
	c = find_container(m, file, 0);
	assert_non_null(c);
	assert_int_equal(c->nmaps, 0);
	assert_int_equal(c->c.mapped_bytes, 0);
	mirror__free(m);
	close(fd);
	drain();
}

/* The summary counters of a container are written by the BPF side without locks: two threads
 * mapping and unmapping at once can leave them wrong (the hostile scenario's threads case saw
 * a container with its 160 mappings listed and one mapping's bytes missing). `state` derives a
 * complete container's summary from the mappings it lists. Here the counters are made wrong
 * on purpose, as that race leaves them. */
static void test_summary_comes_from_the_listed_mappings_not_racy_counters(void **state)
{
	int cfd = tracer__map_fd(tr, TRACER_MAP_CONTAINERS);
	const struct mirror_container *c;
	struct vfs_ctr_key k = { 0 };
	struct vfs_container v;
	struct mirror *m;
	int fd;

	k.file = new_container(&fd);
	map_dma(fd, 0x100000, 0x10000);
	map_dma(fd, 0x200000, 0x10000);
	map_dma(fd, 0x100000000ULL, 0x20000);
	assert_int_equal(bpf_map_lookup_elem(cfd, &k, &v), 0);
	assert_int_equal(v.mapped_bytes, 0x40000);
	v.mapped_bytes -= 0x10000; /* what the race leaves */
	v.mappings = 7;
	v.max32 = 0x1fffff;
	assert_int_equal(bpf_map_update_elem(cfd, &k, &v, BPF_EXIST), 0);
	assert_int_equal(mirror__new(&m), 0);
	assert_int_equal(mirror__load(m, tr), 0);
	c = find_container(m, k.file, 0);
	assert_non_null(c);
	assert_int_equal(c->nmaps, 3);
	assert_int_equal(c->c.mappings, 3);
	assert_int_equal(c->c.mapped_bytes, 0x40000);
	assert_int_equal(c->c.min32, 0x100000);
	assert_int_equal(c->c.max32, 0x20ffff);
	assert_int_equal(c->c.min64, 0x100000000ULL);
	assert_int_equal(c->c.max64, 0x10001ffffULL);
	assert_int_equal(c->ranges.len32, 0x110000);
	mirror__free(m);
	close(fd);
	drain();
}

struct racer {
	int fd;
	uint64_t base;
};

static void *race_maps(void *arg)
{
	const struct racer *r = arg;

	for (uint64_t i = 0; i < 400; i++) {
		map_dma(r->fd, r->base + i * 0x10000, 0x10000);
		if (i % 2 == 0)
			unmap_dma(r->fd, r->base + i * 0x10000, 0x10000, 0);
	}
	return NULL;
}

/* The same race for real: two threads map and unmap on one container at once; `state` lists
 * what is left and sums exactly that. */
static void test_threads_racing_on_one_container_leave_an_exact_summary(void **state)
{
	struct racer r[2];
	pthread_t th[2];
	const struct mirror_container *c;
	struct mirror *m;
	uint64_t file;
	int fd;

	file = new_container(&fd);
	for (int i = 0; i < 2; i++) {
		r[i] = (struct racer){ .fd = fd, .base = (uint64_t)(i + 1) << 28 };
		assert_int_equal(pthread_create(&th[i], NULL, race_maps, &r[i]), 0);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(mirror__new(&m), 0);
	assert_int_equal(mirror__load(m, tr), 0);
	c = find_container(m, file, 0);
	assert_non_null(c);
	assert_int_equal(c->nmaps, 400);
	assert_int_equal(c->c.mappings, 400);
	assert_int_equal(c->c.mapped_bytes, 400 * 0x10000);
	mirror__free(m);
	close(fd);
	drain();
}

static void test_colliding_numbers_decode_by_fd_kind(void **state)
{
	int ctr = open_fake("vfio/vfio"), dev = open_fake("vfio/devices/vfio0");
	int grp = open_fake("vfio/7");
	struct vfio_iommu_type1_dirty_bitmap db = { .argsz = sizeof(db),
						    .flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_START };
	struct vfio_device_feature feat = { .argsz = sizeof(feat),
					    .flags = VFIO_DEVICE_FEATURE_PROBE |
						     VFIO_DEVICE_FEATURE_SET |
						     VFIO_DEVICE_FEATURE_DMA_LOGGING_START };
	uint8_t buf[64] = { 0 };

	/* 0x3B75 */
	ioctl(ctr, VFIO_IOMMU_DIRTY_PAGES, &db);
	ioctl(dev, VFIO_DEVICE_FEATURE, &feat);
	/* 0x3B70 */
	*(uint32_t *)buf = 24;
	ioctl(ctr, VFIO_IOMMU_GET_INFO, buf);
	ioctl(dev, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, buf);
	/* a device number on a group means nothing */
	ioctl(grp, VFIO_DEVICE_GET_INFO, buf);
	drain();
	assert_int_equal(nevs, 5);
	assert_int_equal(evs[0].op, VFS_OP_DIRTY_START);
	assert_int_equal(evs[1].op, VFS_OP_DMA_LOGGING_START);
	assert_int_equal(evs[2].op, VFS_OP_IOMMU_GET_INFO);
	assert_int_equal(evs[3].op, VFS_OP_DEVICE_GET_PCI_HOT_RESET_INFO);
	assert_int_equal(evs[4].kind, VFS_KIND_GROUP);
	assert_int_equal(evs[4].op, VFS_OP_UNKNOWN);
	close(ctr);
	close(dev);
	close(grp);
}

/* Every op the classifier knows reaches user space decoded, from a real ioctl. */
static void test_every_op_is_decoded_from_synthesized_calls(void **state)
{
	static const struct {
		const char *file;
		unsigned long cmd;
		uint32_t flags;
	} calls[] = {
		{ "vfio/vfio", VFIO_GET_API_VERSION },
		{ "vfio/vfio", VFIO_CHECK_EXTENSION },
		{ "vfio/vfio", VFIO_SET_IOMMU },
		{ "vfio/vfio", VFIO_IOMMU_GET_INFO },
		{ "vfio/vfio", VFIO_IOMMU_MAP_DMA },
		{ "vfio/vfio", VFIO_IOMMU_UNMAP_DMA },
		{ "vfio/vfio", VFIO_IOMMU_DIRTY_PAGES, 0 },
		{ "vfio/vfio", VFIO_IOMMU_DIRTY_PAGES, VFIO_IOMMU_DIRTY_PAGES_FLAG_START },
		{ "vfio/vfio", VFIO_IOMMU_DIRTY_PAGES, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP },
		{ "vfio/vfio", VFIO_IOMMU_DIRTY_PAGES, VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP },
		{ "vfio/7", VFIO_GROUP_GET_STATUS },
		{ "vfio/7", VFIO_GROUP_SET_CONTAINER },
		{ "vfio/7", VFIO_GROUP_UNSET_CONTAINER },
		{ "vfio/7", VFIO_GROUP_GET_DEVICE_FD },
		{ "vfio/devices/vfio0", VFIO_DEVICE_GET_INFO },
		{ "vfio/devices/vfio0", VFIO_DEVICE_GET_REGION_INFO },
		{ "vfio/devices/vfio0", VFIO_DEVICE_GET_IRQ_INFO },
		{ "vfio/devices/vfio0", VFIO_DEVICE_SET_IRQS },
		{ "vfio/devices/vfio0", VFIO_DEVICE_RESET },
		{ "vfio/devices/vfio0", VFIO_DEVICE_GET_PCI_HOT_RESET_INFO },
		{ "vfio/devices/vfio0", VFIO_DEVICE_PCI_HOT_RESET },
		{ "vfio/devices/vfio0", VFIO_DEVICE_QUERY_GFX_PLANE },
		{ "vfio/devices/vfio0", VFIO_DEVICE_GET_GFX_DMABUF },
		{ "vfio/devices/vfio0", VFIO_DEVICE_IOEVENTFD },
		{ "vfio/devices/vfio0", VFIO_DEVICE_FEATURE, VFIO_DEVICE_FEATURE_PCI_VF_TOKEN },
		{ "vfio/devices/vfio0", VFIO_DEVICE_FEATURE, VFIO_DEVICE_FEATURE_MIGRATION },
		{ "vfio/devices/vfio0", VFIO_DEVICE_FEATURE, VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE },
		{ "vfio/devices/vfio0", VFIO_DEVICE_FEATURE, VFIO_DEVICE_FEATURE_MIG_DATA_SIZE },
		{ "vfio/devices/vfio0", VFIO_DEVICE_FEATURE,
		  VFIO_DEVICE_FEATURE_DMA_LOGGING_START },
		{ "vfio/devices/vfio0", VFIO_DEVICE_FEATURE, VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP },
		{ "vfio/devices/vfio0", VFIO_DEVICE_FEATURE,
		  VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT },
		{ "vfio/devices/vfio0", VFIO_DEVICE_BIND_IOMMUFD },
		{ "vfio/devices/vfio0", VFIO_DEVICE_ATTACH_IOMMUFD_PT },
		{ "vfio/devices/vfio0", VFIO_DEVICE_DETACH_IOMMUFD_PT },
		{ "iommu", IOMMU_DESTROY },
		{ "iommu", IOMMU_IOAS_ALLOC },
		{ "iommu", IOMMU_IOAS_ALLOW_IOVAS },
		{ "iommu", IOMMU_IOAS_COPY },
		{ "iommu", IOMMU_IOAS_IOVA_RANGES },
		{ "iommu", IOMMU_IOAS_MAP },
		{ "iommu", IOMMU_IOAS_UNMAP },
		{ "iommu", IOMMU_OPTION },
		{ "iommu", IOMMU_VFIO_IOAS },
		{ "iommu", IOMMU_HWPT_ALLOC },
		{ "iommu", IOMMU_GET_HW_INFO },
		{ "iommu", IOMMU_HWPT_SET_DIRTY_TRACKING },
		{ "iommu", IOMMU_HWPT_GET_DIRTY_BITMAP },
		{ "iommu", IOMMU_HWPT_INVALIDATE },
	};
	const size_t n = sizeof(calls) / sizeof(calls[0]);
	bool seen[VFS_OPS] = { false };
	int distinct = 0;

	for (size_t i = 0; i < n; i++) {
		uint32_t buf[16] = { sizeof(buf), calls[i].flags };
		int fd = open_fake(calls[i].file);
		char text[512];

		if (calls[i].cmd == VFIO_GROUP_GET_DEVICE_FD)
			strcpy((char *)buf, "0000:00:02.0");
		ioctl(fd, calls[i].cmd, buf);
		drain();
		assert_int_equal(nevs, 1);
		assert_int_not_equal(evs[0].op, VFS_OP_UNKNOWN);
		assert_string_not_equal(decode_op_name(evs[0].op), "?");
		assert_true(decode_args_text(&evs[0], text, sizeof(text)) >= 0);
		if (!seen[evs[0].op])
			distinct++;
		seen[evs[0].op] = true;
		close(fd);
		/* the close drops the file; the next open is a new file */
		drain();
	}
	assert_int_equal(distinct, n);
	assert_int_equal(distinct, VFS_OPS - 1);
}

static void test_type1_dirty_session_is_mirrored(void **state)
{
	struct {
		struct vfio_iommu_type1_dirty_bitmap h;
		struct vfio_iommu_type1_dirty_bitmap_get g;
	} get = { { .argsz = sizeof(get), .flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP },
		  { .iova = 0x100000, .size = 0x100000, .bitmap = { .pgsize = 4096, .size = 32 } } };
	struct vfio_iommu_type1_dirty_bitmap db = { .argsz = sizeof(db) };
	const struct vfs_session *s;
	struct mirror *m;
	uint64_t file;
	int fd;

	file = new_container(&fd);
	db.flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_START;
	ioctl(fd, VFIO_IOMMU_DIRTY_PAGES, &db);
	ioctl(fd, VFIO_IOMMU_DIRTY_PAGES, &get);
	ioctl(fd, VFIO_IOMMU_DIRTY_PAGES, &get);
	assert_int_equal(mirror__new(&m), 0);
	assert_int_equal(mirror__load(m, tr), 0);
	s = find_session(m, file, 0, VFS_DIRTY_TYPE1);
	assert_non_null(s);
	assert_true(s->active);
	assert_int_equal(s->reports, 2);
	assert_int_equal(s->bitmap_bytes, 64);
	assert_int_equal(s->last_iova, 0x100000);
	db.flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP;
	ioctl(fd, VFIO_IOMMU_DIRTY_PAGES, &db);
	assert_int_equal(mirror__load(m, tr), 0);
	s = find_session(m, file, 0, VFS_DIRTY_TYPE1);
	assert_non_null(s);
	assert_false(s->active);
	mirror__free(m);
	close(fd);
	drain();
}

static void test_dma_logging_start_ranges_and_report_are_mirrored(void **state)
{
	struct vfio_device_feature_dma_logging_range ranges[2] = {
		{ .iova = 0, .length = 0x100000000ULL },
		{ .iova = 0x100000000ULL, .length = 0x40000000 },
	};
	struct {
		struct vfio_device_feature f;
		struct vfio_device_feature_dma_logging_control c;
	} start = { { .argsz = sizeof(start),
		      .flags = VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_START },
		    { .page_size = 4096, .num_ranges = 2, .ranges = (uintptr_t)ranges } };
	struct {
		struct vfio_device_feature f;
		struct vfio_device_feature_dma_logging_report r;
	} report = { { .argsz = sizeof(report),
		       .flags = VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT },
		     { .iova = 0, .length = 0x10000000, .page_size = 4096, .bitmap = 0x1000 } };
	const struct vfs_session *s;
	struct mirror *m;
	char text[512];
	int fd = open_fake("vfio/devices/vfio1");
	uint64_t file;

	ioctl(fd, VFIO_DEVICE_FEATURE, &start);
	ioctl(fd, VFIO_DEVICE_FEATURE, &report);
	drain();
	assert_int_equal(nevs, 2);
	file = evs[0].file;
	assert_int_equal(evs[0].nr_ranges, 2);
	decode_args_text(&evs[0], text, sizeof(text));
	assert_non_null(strstr(text, "[0x0+0x100000000 0x100000000+0x40000000]"));
	decode_args_text(&evs[1], text, sizeof(text));
	assert_non_null(strstr(text, "bitmap_bytes=8192"));
	assert_int_equal(mirror__new(&m), 0);
	assert_int_equal(mirror__load(m, tr), 0);
	s = find_session(m, file, 0, VFS_DIRTY_DEVICE);
	assert_non_null(s);
	assert_true(s->active);
	assert_int_equal(s->page_size, 4096);
	assert_int_equal(s->nr_ranges, 2);
	assert_int_equal(s->ranges[2], 0x100000000ULL);
	assert_int_equal(s->reports, 1);
	assert_int_equal(s->bitmap_bytes, 8192);
	mirror__free(m);
	close(fd);
	drain();
}

/* The state as `state --json` prints it, with or without kernel addresses. */
static char *state_json(struct mirror *m, bool kernel_addresses)
{
	struct json_writer *jw;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	jw = json_writer__new(f);
	assert_non_null(jw);
	mirror__kernel_addresses(m, kernel_addresses);
	json_start_object(jw);
	mirror__json(m, jw);
	json_end_object(jw);
	json_writer__free(jw);
	fclose(f);
	return buf;
}

/*
 * A stand-in device file is a regular file: its private_data is no struct vfio_device, and
 * the tracer must not read it as one (the name stays unknown, the group -1). The state shows
 * vfioscope's ids, and the kernel's struct file address only when asked.
 */
static void test_stand_in_device_is_not_named_and_state_hides_kernel_addresses(void **state)
{
	const struct mirror_file *files;
	const struct mirror_file *dev = NULL;
	struct mirror *m;
	char *plain, *kaddr, hex[32];
	int fd = open_fake("vfio/devices/vfio1");
	size_t n;

	ioctl(fd, VFIO_DEVICE_RESET);
	drain();
	assert_int_equal(nevs, 1);
	assert_int_equal(evs[0].device[0], 0);
	assert_int_equal(mirror__new(&m), 0);
	assert_int_equal(mirror__load(m, tr), 0);
	n = mirror__files(m, &files);
	for (size_t i = 0; i < n; i++)
		if (files[i].file == evs[0].file)
			dev = &files[i];
	assert_non_null(dev);
	assert_int_equal(dev->f.kind, VFS_KIND_DEVICE);
	assert_int_equal(dev->f.device[0], 0);
	assert_int_equal(dev->f.driver[0], 0);
	assert_int_equal(dev->f.iommu_group, -1);
	assert_true(dev->id >= 1);
	assert_string_equal(mirror_device_opened(&dev->f), "cdev");
	snprintf(hex, sizeof(hex), "\"0x%llx\"", (unsigned long long)evs[0].file);
	plain = state_json(m, false);
	kaddr = state_json(m, true);
	assert_null(strstr(plain, hex));
	assert_non_null(strstr(plain, "\"address\":null"));
	assert_non_null(strstr(kaddr, hex));
	free(plain);
	free(kaddr);
	mirror__free(m);
	close(fd);
	drain();
}

static void test_iommufd_ioas_map_unmap_and_hwpt_dirty_are_mirrored(void **state)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc), .out_ioas_id = 5 };
	struct iommu_ioas_map map = { .size = sizeof(map),
				      .flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE,
				      .ioas_id = 5,
				      .user_va = 0x7f0000000000ULL,
				      .length = 0x200000,
				      .iova = 0x400000 };
	struct iommu_ioas_unmap unmap = {
		.size = sizeof(unmap), .ioas_id = 5, .iova = 0, .length = UINT64_MAX
	};
	struct iommu_hwpt_set_dirty_tracking set = { .size = sizeof(set),
						     .flags = 1,
						     .hwpt_id = 9 };
	struct iommu_hwpt_get_dirty_bitmap get = { .size = sizeof(get),
						   .hwpt_id = 9,
						   .iova = 0x400000,
						   .length = 0x200000,
						   .page_size = 4096 };
	const struct mirror_container *c;
	const struct vfs_session *s;
	struct mirror *m;
	int fd = open_fake("iommu");
	uint64_t file;

	ioctl(fd, IOMMU_IOAS_ALLOC, &alloc);
	ioctl(fd, IOMMU_IOAS_MAP, &map);
	ioctl(fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &set);
	ioctl(fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &get);
	drain();
	assert_int_equal(nevs, 4);
	file = evs[0].file;
	assert_int_equal(evs[0].kind, VFS_KIND_IOMMUFD);
	assert_int_equal(mirror__new(&m), 0);
	assert_int_equal(mirror__load(m, tr), 0);
	c = find_container(m, file, 5);
	assert_non_null(c);
	assert_false(c->c.flags & VFS_CTR_PARTIAL);
	assert_int_equal(c->nmaps, 1);
	assert_int_equal(c->maps[0].iova, 0x400000);
	s = find_session(m, file, 9, VFS_DIRTY_HWPT);
	assert_non_null(s);
	assert_true(s->active);
	assert_int_equal(s->reports, 1);
	assert_int_equal(s->bitmap_bytes, 64);
	ioctl(fd, IOMMU_IOAS_UNMAP, &unmap);
	assert_int_equal(mirror__load(m, tr), 0);
	c = find_container(m, file, 5);
	assert_non_null(c);
	assert_int_equal(c->nmaps, 0);
	mirror__free(m);
	close(fd);
	drain();
}

/* A HWPT of IOMMU_HWPT_ALLOC is listed with the IOAS it sits on, the device id it was made for
 * and its dirty-tracking flag, and forgotten on IOMMU_DESTROY (the test hook's kernel writes
 * nothing back: the preset out_hwpt_id stands for the kernel's answer). */
static void test_iommufd_hwpt_alloc_is_mirrored_until_destroy(void **state)
{
	struct iommu_hwpt_alloc alloc = { .size = sizeof(alloc),
					  .flags = IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
					  .dev_id = 3,
					  .pt_id = 5,
					  .out_hwpt_id = 7 };
	struct iommu_destroy destroy = { .size = sizeof(destroy), .id = 7 };
	const struct mirror_hwpt *h;
	struct mirror *m;
	int fd = open_fake("iommu");
	size_t n;

	ioctl(fd, IOMMU_HWPT_ALLOC, &alloc);
	drain();
	assert_int_equal(nevs, 1);
	assert_int_equal(mirror__new(&m), 0);
	assert_int_equal(mirror__load(m, tr), 0);
	n = mirror__hwpts(m, &h);
	assert_int_equal(n, 1);
	assert_int_equal(h[0].key.file, evs[0].file);
	assert_int_equal(h[0].key.id, 7);
	assert_int_equal(h[0].h.pt_id, 5);
	assert_int_equal(h[0].h.dev_id, 3);
	assert_int_equal(h[0].h.flags, IOMMU_HWPT_ALLOC_DIRTY_TRACKING);
	ioctl(fd, IOMMU_DESTROY, &destroy);
	assert_int_equal(mirror__load(m, tr), 0);
	assert_int_equal(mirror__hwpts(m, &h), 0);
	mirror__free(m);
	close(fd);
	drain();
}

static bool has_key(enum tracer_map which, const void *key)
{
	char value[4096];

	return bpf_map_lookup_elem(tracer__map_fd(tr, which), key, value) == 0;
}

/* An iommufd's close deletes its IOAS, HWPT and session entries by the ids its file record
 * names, read here in the tracer's maps (not through the mirror, whose reader also cleans up);
 * with more ids than the record holds, the close walks the maps and leaves nothing either. */
static void expect_iommufd_close_forgets(unsigned int nioas)
{
	struct iommu_hwpt_alloc halloc = { .size = sizeof(halloc), .pt_id = 1, .out_hwpt_id = 99 };
	struct iommu_hwpt_set_dirty_tracking set = { .size = sizeof(set),
						     .flags = 1,
						     .hwpt_id = 99 };
	struct iommu_ioas_map map = { .size = sizeof(map),
				      .flags = IOMMU_IOAS_MAP_FIXED_IOVA,
				      .ioas_id = 1,
				      .user_va = 0x7f0000000000ULL,
				      .length = 0x1000,
				      .iova = 0x1000 };
	struct vfs_hwpt_key hk = { .id = 99 };
	struct vfs_sess_key sk = { .id = 99, .method = VFS_DIRTY_HWPT };
	struct vfs_ctr_key ck = {};
	struct vfs_file fi;
	int fd = open_fake("iommu");
	uint64_t file;

	for (unsigned int i = 1; i <= nioas; i++) {
		struct iommu_ioas_alloc alloc = { .size = sizeof(alloc), .out_ioas_id = i };

		ioctl(fd, IOMMU_IOAS_ALLOC, &alloc);
	}
	ioctl(fd, IOMMU_IOAS_MAP, &map);
	ioctl(fd, IOMMU_HWPT_ALLOC, &halloc);
	ioctl(fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &set);
	drain();
	assert_int_equal(nevs, nioas + 3);
	file = evs[0].file;
	ck.file = hk.file = sk.file = file;
	assert_int_equal(bpf_map_lookup_elem(tracer__map_fd(tr, TRACER_MAP_FILES), &file, &fi), 0);
	/* every id once while they fit; past that, one noted again is counted again */
	if (nioas + 1 <= VFS_FILE_OBJS) {
		assert_int_equal(fi.nobjs, nioas + 1);
		assert_int_equal(fi.nslots, nioas + 1);
	} else {
		assert_true(fi.nobjs >= nioas + 1);
		assert_int_equal(fi.nslots, VFS_FILE_OBJS);
	}
	for (unsigned int i = 1; i <= nioas; i++) {
		ck.ioas = i;
		assert_true(has_key(TRACER_MAP_CONTAINERS, &ck));
	}
	assert_true(has_key(TRACER_MAP_HWPTS, &hk));
	assert_true(has_key(TRACER_MAP_SESSIONS, &sk));
	close(fd);
	drain();
	for (unsigned int i = 1; i <= nioas; i++) {
		ck.ioas = i;
		assert_false(has_key(TRACER_MAP_CONTAINERS, &ck));
	}
	assert_false(has_key(TRACER_MAP_HWPTS, &hk));
	assert_false(has_key(TRACER_MAP_SESSIONS, &sk));
	assert_false(has_key(TRACER_MAP_FILES, &file));
}

static void test_iommufd_close_deletes_its_entries_by_key(void **state)
{
	expect_iommufd_close_forgets(2);
}

static void test_iommufd_close_with_many_objects_walks_and_forgets(void **state)
{
	expect_iommufd_close_forgets(VFS_FILE_OBJS + 3);
}

/* More IOAS than the containers map holds (1,024): the overflow is counted, and the mirror
 * lists the file's IOAS that found room plus one untracked, incomplete container for the rest
 * (never a picture without them); the close forgets them all. */
static void test_containers_map_full_marks_the_file_untracked(void **state)
{
	uint64_t lost0[VFS_LOST_REASONS], lost1[VFS_LOST_REASONS];
	const struct mirror_container *c;
	unsigned int tracked = 0, untracked = 0;
	int fd = open_fake("iommu");
	struct mirror *m;
	uint64_t file;
	size_t n;

	assert_int_equal(tracer__lost(tr, lost0), 0);
	for (unsigned int id = 1; id <= 1100; id++) {
		struct iommu_ioas_alloc a = { .size = sizeof(a), .out_ioas_id = id };

		ioctl(fd, IOMMU_IOAS_ALLOC, &a);
		if (id == 1) {
			drain();
			assert_int_equal(nevs, 1);
		}
	}
	file = evs[0].file;
	drain();
	assert_int_equal(tracer__lost(tr, lost1), 0);
	assert_true(lost1[VFS_LOST_STATE] >= lost0[VFS_LOST_STATE] + 1100 - 1024);
	assert_int_equal(mirror__new(&m), 0);
	assert_int_equal(mirror__load(m, tr), 0);
	n = mirror__containers(m, &c);
	for (size_t i = 0; i < n; i++) {
		if (c[i].file != file)
			continue;
		if (c[i].c.flags & VFS_CTR_UNTRACKED) {
			untracked++;
			assert_true(c[i].c.flags & VFS_CTR_INCOMPLETE);
			assert_int_equal(c[i].c.tgid, getpid());
		} else {
			tracked++;
			assert_true(c[i].ioas >= 1 && c[i].ioas <= 1100);
		}
	}
	assert_int_equal(untracked, 1);
	assert_true(tracked >= 1 && tracked <= 1024 && tracked < 1100);
	close(fd);
	drain();
	assert_int_equal(mirror__load(m, tr), 0);
	n = mirror__containers(m, &c);
	for (size_t i = 0; i < n; i++)
		assert_true(c[i].file != file);
	mirror__free(m);
}

/* The filter path: ioctls of another type, or of type ';' on files that are not VFIO's,
 * leave no event and no state. */
/* QEMU maps the BARs of its devices for peer-to-peer DMA: vaddr is then an mmap of a device
 * fd. The tracer looks up what backs vaddr (bpf_find_vma) and the mirror puts a BAR of the
 * container's own device above 4 GiB in the PCI-64 range, as the seed does. */
static void test_bar_mapping_is_found_and_lands_in_the_pci64_range(void **state)
{
	int fd = open_fake("iommu"), dev = open_fake("vfio/devices/vfio0");
	struct iommu_ioas_map map = { .size = sizeof(map),
				      .flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE,
				      .ioas_id = 3 };
	const struct mirror_container *c;
	struct mirror *m;
	uint64_t file;
	void *ram, *bar;

	assert_int_equal(ftruncate(dev, 0x10000), 0);
	bar = mmap(NULL, 0x10000, PROT_READ | PROT_WRITE, MAP_SHARED, dev, 0);
	ram = mmap(NULL, 0x100000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(bar != MAP_FAILED && ram != MAP_FAILED);
	map.user_va = (uintptr_t)ram;
	map.length = 0x100000;
	map.iova = 0x100000000ULL;
	ioctl(fd, IOMMU_IOAS_MAP, &map);
	map.user_va = (uintptr_t)bar;
	map.length = 0x10000;
	map.iova = 0x800000000ULL;
	ioctl(fd, IOMMU_IOAS_MAP, &map);
	drain();
	assert_int_equal(nevs, 2);
	file = evs[0].file;
	assert_int_equal(mirror__new(&m), 0);
	assert_int_equal(mirror__load(m, tr), 0);
	c = find_container(m, file, 3);
	assert_non_null(c);
	assert_int_equal(c->nmaps, 2);
	assert_false(c->maps[0].bar);
	assert_int_equal(c->maps[0].device, 0);
	assert_true(c->maps[1].bar);
	assert_true(c->maps[1].device != 0);
	assert_int_equal(c->ranges.iova64, 0x100000000ULL);
	assert_int_equal(c->ranges.len64, 0x100000);
	assert_int_equal(c->ranges.iovapci64, 0x800000000ULL);
	assert_int_equal(c->ranges.lenpci64, 0x10000);
	mirror__free(m);
	munmap(bar, 0x10000);
	munmap(ram, 0x100000);
	close(dev);
	close(fd);
	drain();
}

static int files_of_pid(const struct mirror *m, pid_t pid)
{
	const struct mirror_file *f;
	size_t n = mirror__files(m, &f);
	int k = 0;

	for (size_t i = 0; i < n; i++)
		k += (pid_t)f[i].f.tgid == pid;
	return k;
}

static void test_unrelated_ioctls_leave_no_trace(void **state)
{
	struct mirror *m;
	int null = open("/dev/null", O_RDWR), ctr = open_fake("vfio/vfio");
	int other = open_fake("vfio/not-a-group"), n;

	ioctl(null, VFIO_GET_API_VERSION);
	ioctl(other, VFIO_GET_API_VERSION);
	ioctl(ctr, FIONREAD, &n);
	drain();
	assert_int_equal(nevs, 0);
	assert_int_equal(mirror__new(&m), 0);
	assert_int_equal(mirror__load(m, tr), 0);
	/* ours only: a dead process of an earlier test may wait for the clean-up */
	assert_int_equal(files_of_pid(m, getpid()), 0);
	mirror__free(m);
	close(null);
	close(ctr);
	close(other);
}

static void test_dup_and_fork_share_state_by_open_file(void **state)
{
	const struct mirror_container *c;
	struct mirror *m;
	uint64_t file;
	int fd, dupfd;
	pid_t child;

	file = new_container(&fd);
	dupfd = dup(fd);
	map_dma(dupfd, 0x1000000, 0x1000);
	child = fork();
	if (child == 0) {
		map_dma(fd, 0x2000000, 0x1000);
		_exit(0);
	}
	waitpid(child, NULL, 0);
	close(fd); /* the dup still holds the file */
	assert_int_equal(mirror__new(&m), 0);
	assert_int_equal(mirror__load(m, tr), 0);
	c = find_container(m, file, 0);
	assert_non_null(c);
	assert_int_equal(c->nmaps, 2);
	close(dupfd); /* last reference: the state goes */
	assert_int_equal(mirror__load(m, tr), 0);
	assert_null(find_container(m, file, 0));
	mirror__free(m);
	drain();
}

/* file_release does not walk the mappings map: what a released container leaves there is
 * never shown, not even under a new file at the same address, and mirror_reclaim deletes it. */
static void test_released_containers_mappings_are_never_shown_and_are_reclaimed(void **state)
{
	const struct mirror_container *c;
	struct mirror *m;
	uint64_t first, second;
	int fd;

	mirror_reclaim(tr); /* what earlier tests' containers left */
	first = new_container(&fd);
	map_dma(fd, 0x1000000, 0x1000);
	map_dma(fd, 0x2000000, 0x1000);
	map_dma(fd, 0x3000000, 0x1000);
	close(fd);
	drain();
	second = new_container(&fd);
	map_dma(fd, 0x4000000, 0x1000);
	assert_int_equal(mirror__new(&m), 0);
	assert_int_equal(mirror__load(m, tr), 0);
	c = find_container(m, second, 0);
	assert_non_null(c);
	assert_int_equal(c->nmaps, 1);
	assert_int_equal(c->maps[0].iova, 0x4000000);
	if (first != second)
		assert_null(find_container(m, first, 0));
	assert_int_equal(mirror_reclaim(tr), 3);
	assert_int_equal(mirror_reclaim(tr), 0);
	close(fd);
	assert_int_equal(mirror_reclaim(tr), 1);
	mirror__free(m);
	drain();
}

/* The syscall way in sees no close() when dup2 or close_range drop a file's last reference. */
static void test_dup2_and_close_range_drop_the_last_reference(void **state)
{
	struct mirror *m;
	uint64_t file;
	int fd, nul = open("/dev/null", O_RDWR);

	assert_int_equal(mirror__new(&m), 0);
	drain();
	file = new_container(&fd);
	map_dma(fd, 0x1000000, 0x1000);
	assert_int_equal(dup2(fd, 50), 50);
	close(fd);
	assert_int_equal(mirror__load(m, tr), 0);
	assert_non_null(find_container(m, file, 0));
	assert_int_equal(dup2(nul, 50), 50); /* the container's last reference */
	assert_int_equal(mirror__load(m, tr), 0);
	assert_null(find_container(m, file, 0));

	drain();
	file = new_container(&fd);
	map_dma(fd, 0x1000000, 0x1000);
	assert_int_equal(dup2(fd, 60), 60);
	assert_int_equal(dup2(fd, 61), 61);
	close(fd);
	assert_int_equal(syscall(SYS_close_range, 55, 59, 0), 0); /* not its fds */
	assert_int_equal(mirror__load(m, tr), 0);
	assert_non_null(find_container(m, file, 0));
	assert_int_equal(syscall(SYS_close_range, 60, 70, 0), 0); /* both of them */
	assert_int_equal(mirror__load(m, tr), 0);
	assert_null(find_container(m, file, 0));
	close(nul);
	mirror__free(m);
	drain();
}

static void test_exited_process_leaves_no_state(void **state)
{
	struct mirror *m;
	pid_t child = fork();

	if (child == 0) {
		int fd = open_fake("vfio/vfio");

		ioctl(fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU);
		map_dma(fd, 0x1000000, 0x1000);
		_exit(0); /* no close(): exit drops the file */
	}
	waitpid(child, NULL, 0);
	assert_int_equal(mirror__new(&m), 0);
	assert_int_equal(mirror__load(m, tr), 0);
	/* the shared tracer may hold other tests' dead processes too: count the child's files */
	assert_int_equal(files_of_pid(m, child), 1);
	assert_true(mirror_gc(tr) >= 1);
	assert_int_equal(mirror__load(m, tr), 0);
	assert_int_equal(files_of_pid(m, child), 0);
	mirror__free(m);
	drain();
}

/*
 * The tracer inserts a file's record as zeroes and fills it in place: a garbage collection
 * that reads it in between sees tgid 0 and must leave it (a process that is gone has a pid).
 */
static void test_gc_leaves_a_record_being_filled_in(void **state)
{
	int fd = tracer__map_fd(tr, TRACER_MAP_FILES);
	uint64_t filling = 0x1000, dead = 0x2000;
	struct vfs_file rec = { .kind = VFS_KIND_DEVICE, .fd = -1, .iommu_group = -1 };
	pid_t child = fork();

	if (child == 0)
		_exit(0);
	waitpid(child, NULL, 0);
	assert_int_equal(bpf_map_update_elem(fd, &filling, &rec, BPF_NOEXIST), 0);
	rec.tgid = child;
	rec.first_ns = 1;
	assert_int_equal(bpf_map_update_elem(fd, &dead, &rec, BPF_NOEXIST), 0);
	assert_int_equal(mirror_gc(tr), 1);
	assert_int_equal(bpf_map_lookup_elem(fd, &filling, &rec), 0);
	assert_int_equal(rec.tgid, 0);
	assert_int_not_equal(bpf_map_lookup_elem(fd, &dead, &rec), 0);
	assert_int_equal(bpf_map_delete_elem(fd, &filling), 0);
}

static const struct mirror_file *find_file(struct mirror *m, uint32_t tgid, int fd)
{
	const struct mirror_file *f;
	size_t n = mirror__files(m, &f);

	for (size_t i = 0; i < n; i++)
		if (f[i].f.tgid == tgid && f[i].f.fd == fd)
			return &f[i];
	return NULL;
}

/*
 * A device file open before the tracer starts is found by its task_file iterator: in the
 * mirror with its process and fd, flagged, no call counted; its first call keeps that record
 * (same id) and counts.
 */
static void test_device_open_before_the_tracer_is_found_at_start(void **state)
{
	struct tracer_opts o = { .sz = sizeof(o), .test_hook = true };
	int fd = open_fake("vfio/devices/vfio3");
	const struct mirror_file *f;
	struct tracer *t;
	struct mirror *m;
	const char *why;
	unsigned int id;

	assert_int_equal(tracer__new(&o, &t), 0);
	assert_true(tracer__found_at_start(t, &why) >= 1);
	assert_int_equal(mirror__new(&m), 0);
	assert_int_equal(mirror__load(m, t), 0);
	f = find_file(m, getpid(), fd);
	assert_non_null(f);
	assert_int_equal(f->f.kind, VFS_KIND_DEVICE);
	assert_true(f->f.flags & VFS_FILE_FOUND_AT_START);
	assert_int_equal(f->f.ioctls, 0);
	assert_string_equal(f->f.name, "vfio3");
	assert_true(f->id >= 1);
	id = f->id;
	ioctl(fd, VFIO_DEVICE_RESET);
	assert_int_equal(mirror__load(m, t), 0);
	f = find_file(m, getpid(), fd);
	assert_non_null(f);
	assert_int_equal(f->id, id);
	assert_int_equal(f->f.ioctls, 1);
	mirror__free(m);
	tracer__free(t);
	close(fd);
	drain();
}

static int count_err(void *ctx, unsigned int op, unsigned int err, uint64_t count)
{
	uint64_t *out = ctx;

	if (op == VFS_OP_GET_API_VERSION && err == ENOTTY)
		*out = count;
	return 0;
}

static void test_errors_and_latency_histogram_are_aggregated(void **state)
{
	struct vfs_hist h;
	uint64_t before = 0, after = 0, slots = 0;
	int fd = open_fake("vfio/vfio");

	tracer__errors(tr, count_err, &before);
	for (int i = 0; i < 10; i++)
		ioctl(fd, VFIO_GET_API_VERSION);
	tracer__errors(tr, count_err, &after);
	assert_int_equal(after - before, 10);
	assert_int_equal(tracer__hist(tr, VFS_OP_GET_API_VERSION, &h), 0);
	assert_true(h.count >= 10);
	for (int k = 0; k < VFS_HIST_SLOTS; k++)
		slots += h.slots[k];
	assert_int_equal(slots, h.count);
	assert_true(h.sum > 0);
	close(fd);
	drain();
}

/* A call whose in-flight slot another thread holds is kept in task storage, and the slot is
 * left as it was. */
static void test_a_call_whose_slot_is_held_goes_to_task_storage(void **state)
{
	int slots = tracer__map_fd(tr, TRACER_MAP_INFLIGHT), fd;
	uint32_t k = (uint32_t)gettid() % VFS_INFLIGHT_SLOTS;
	struct vfs_inflight_slot held = { .owner = 1, .ev = { .ts_ns = 1, .tid = 1 } }, after;

	assert_true(slots >= 0);
	assert_int_equal(bpf_map_update_elem(slots, &k, &held, BPF_ANY), 0);
	new_container(&fd); /* its SET_IOMMU must come through too */
	map_dma(fd, 0x40000000, 0x1000);
	ioctl(fd, VFIO_GET_API_VERSION);
	drain();
	assert_int_equal(nevs, 2);
	assert_int_equal(evs[0].op, VFS_OP_MAP_DMA);
	assert_true(evs[0].latency_ns > 0);
	assert_int_equal(*(uint64_t *)(evs[0].in + 8),
			 0x7f0040000000ULL); /* vaddr, read at entry */
	assert_int_equal(evs[1].op, VFS_OP_GET_API_VERSION);
	assert_int_equal(bpf_map_lookup_elem(slots, &k, &after), 0);
	assert_int_equal(after.owner, 1);
	assert_int_equal(after.ev.ts_ns, 1);
	/* freed again, the slot is used and given back */
	memset(&held, 0, sizeof(held));
	assert_int_equal(bpf_map_update_elem(slots, &k, &held, BPF_ANY), 0);
	ioctl(fd, VFIO_GET_API_VERSION);
	drain();
	assert_int_equal(nevs, 1);
	assert_int_equal(bpf_map_lookup_elem(slots, &k, &after), 0);
	assert_int_equal(after.owner, 0);
	assert_int_equal(after.ev.op, VFS_OP_GET_API_VERSION);
	close(fd);
}

static int count_ours(void *ctx, const struct vfs_event *ev)
{
	if ((pid_t)ev->pid == getpid())
		++*(int *)ctx;
	return 0;
}

static void test_ring_buffer_losses_are_counted_and_the_mirror_rebuilt(void **state)
{
	uint64_t lost[VFS_LOST_REASONS];
	int fd = open_fake("vfio/vfio"), received = 0;
	struct mirror *m;

	assert_int_equal(mirror__new(&m), 0);
	assert_int_equal(mirror__refresh(m, tr), 1); /* first load */
	assert_int_equal(mirror__refresh(m, tr), 0); /* nothing lost since */

	/* 1 MiB of ring holds about 7,300 records of a call without argument bytes (144 bytes);
	 * nobody consumes while we call */
	drain();
	for (int i = 0; i < 20000; i++)
		ioctl(fd, VFIO_GET_API_VERSION);
	assert_int_equal(tracer__lost(tr, lost), 0);
	assert_true(lost[VFS_LOST_RINGBUF] > 0);
	assert_true(tracer__lost_total(tr) >= lost[VFS_LOST_RINGBUF]);
	/* every call is either in the ring or counted lost */
	assert_true(tracer__poll(tr, 0, count_ours, &received) >= 0);
	assert_int_equal(received + lost[VFS_LOST_RINGBUF], 20000);
	assert_int_equal(mirror__refresh(m, tr), 1);
	assert_int_equal(mirror__resyncs(m), 1);
	mirror__free(m);
	close(fd);
	drain();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_syscall_mode_loads_and_attaches),
		cmocka_unit_test(test_raw_tp_fallback_loads_and_sees_calls),
		cmocka_unit_test(test_comm_is_the_calling_threads),
		cmocka_unit_test(test_pid_filter_sees_only_the_selected_process),
		cmocka_unit_test(test_comm_filter_sees_only_threads_of_that_name),
		cmocka_unit_test(test_map_dma_is_decoded_and_mirrored),
		cmocka_unit_test(test_unmap_removes_covered_mappings_and_recomputes_summary),
		cmocka_unit_test(test_colliding_numbers_decode_by_fd_kind),
		cmocka_unit_test(test_every_op_is_decoded_from_synthesized_calls),
		cmocka_unit_test(test_type1_dirty_session_is_mirrored),
		cmocka_unit_test(test_iommufd_close_deletes_its_entries_by_key),
		cmocka_unit_test(test_iommufd_close_with_many_objects_walks_and_forgets),
		cmocka_unit_test(test_summary_comes_from_the_listed_mappings_not_racy_counters),
		cmocka_unit_test(test_threads_racing_on_one_container_leave_an_exact_summary),
		cmocka_unit_test(test_containers_map_full_marks_the_file_untracked),
		cmocka_unit_test(test_dma_logging_start_ranges_and_report_are_mirrored),
		cmocka_unit_test(
			test_stand_in_device_is_not_named_and_state_hides_kernel_addresses),
		cmocka_unit_test(test_iommufd_ioas_map_unmap_and_hwpt_dirty_are_mirrored),
		cmocka_unit_test(test_iommufd_hwpt_alloc_is_mirrored_until_destroy),
		cmocka_unit_test(test_bar_mapping_is_found_and_lands_in_the_pci64_range),
		cmocka_unit_test(test_unrelated_ioctls_leave_no_trace),
		cmocka_unit_test(test_dup_and_fork_share_state_by_open_file),
		cmocka_unit_test(test_exited_process_leaves_no_state),
		cmocka_unit_test(
			test_released_containers_mappings_are_never_shown_and_are_reclaimed),
		cmocka_unit_test(test_dup2_and_close_range_drop_the_last_reference),
		cmocka_unit_test(test_gc_leaves_a_record_being_filled_in),
		cmocka_unit_test(test_device_open_before_the_tracer_is_found_at_start),
		cmocka_unit_test(test_errors_and_latency_histogram_are_aggregated),
		cmocka_unit_test(test_a_call_whose_slot_is_held_goes_to_task_storage),
		cmocka_unit_test(test_ring_buffer_losses_are_counted_and_the_mirror_rebuilt),
	};

	if (geteuid() != 0) {
		printf("test_tracer: needs root (CAP_BPF, CAP_PERFMON)\n");
		return 77;
	}
	struct tracer_opts o = { .sz = sizeof(o), .test_hook = true };
	int rc;

	setup_dirs(NULL);
	rc = tracer__new(&o, &tr);
	if (rc) {
		printf("test_tracer: failed to start the tracer: %s\n", strerror(-rc));
		return 1;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	teardown_tracer(NULL);
	teardown_dirs(NULL);
	return rc;
}
