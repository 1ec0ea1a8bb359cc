// SPDX-License-Identifier: GPL-2.0
/*
 * The VFIO/iommufd tracer. Two ways in, one decoder:
 *  - handler hooks: fentry/fexit (kprobe/kretprobe fallback) on the file ioctl handlers of the
 *    container, group, device and iommufd files. They fire for VFIO files only, and the handler
 *    tells the fd's kind. Release hooks drop a file's state on its last close.
 *  - syscall hooks: tp_btf (raw_tp fallback) sys_enter/sys_exit, which drop everything but
 *    ioctls of type ';' first thing. The kind comes from the file itself (dentry name, inode
 *    type, anon-inode superblock), cached per open file. close() drops the state of a file
 *    on its last reference.
 * user/lib/tracer/tracer.c (attach_best) picks one way and switches the other programs off before
 * load. The mirror after each call is in mirror_{type1,device,iommufd}.bpf.h, one per uAPI
 * family. An optional process filter (filter_tgid, filter_comm) is tested first at entry and exit.
 * State is keyed by the open file (struct file *), so dup, fork and fd passing share it.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "vfioscope/common/uapi_layout.h"
#include "vfioscope/tracer/events.h"
#include "tracer.bpf.h"
#include "device_id.bpf.h"

#define NR_ioctl       16
#define NR_close       3
#define NR_dup2	       33
#define NR_execve      59
#define NR_dup3	       292
#define NR_execveat    322
#define NR_close_range 436
#define U32_MAX_IOVA   0xffffffffULL

/* Test hook (tests/bpf only): classify regular files by the same names as the device nodes and
 * treat the kernel's refusal of such ioctls as success, so the mirror can be exercised on a
 * host without VFIO. Files it classifies carry VFS_FILE_TEST_HOOK. */
const volatile bool test_hook = false;
/*
 * The process filter (`trace --pid/--comm`), set between open and load: the verifier then sees
 * constants, and with no filter set the checks are gone from the program. A call the filter
 * excludes leaves at entry and at exit, before any map or the ring buffer is touched.
 */
const volatile __u32 filter_tgid = 0; /* 0: any process */
const volatile bool filter_by_comm = false;
/* the comm as the kernel keeps it: at most 15 bytes, then NULs to the end (set_task_comm pads
 * with strscpy_pad, fork copies the whole array), so two 8-byte compares decide */
const volatile __u64 filter_comm[2] = {};
/* Stream one event per call to the ring buffer (`trace`); off when only the mirror and the
 * aggregates are read (`state`, the exporter). */
const volatile bool emit_events = true;
/* the size of `events` as user space set it before load (tracer_opts.ringbuf_size) */
const volatile __u32 ringbuf_bytes = 1 << 20;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20); /* ringbuf_bytes: user space may resize it before load */
} events SEC(".maps");

/* the call between entry and exit, built in place (ts_ns != 0 while in flight): see events.h */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VFS_INFLIGHT_SLOTS);
	__type(key, __u32);
	__type(value, struct vfs_inflight_slot);
} inflight_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct vfs_event);
} inflight SEC(".maps");

/* calls that went to task storage and have not exited: none, and an exit need not look there */
__s64 inflight_in_storage;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct vfs_file);
} files SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct vfs_ctr_key);
	__type(value, struct vfs_container);
} containers SEC(".maps");

/* Plain HASH, never LRU: a full map must fail loudly (E2BIG, counted), not evict silently. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct vfs_map_key);
	__type(value, struct vfs_mapping);
} mappings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct vfs_sess_key);
	__type(value, struct vfs_session);
} sessions SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct vfs_hwpt_key);
	__type(value, struct vfs_hwpt);
} hwpts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VFS_OPS);
	__type(key, __u32);
	__type(value, struct vfs_hist);
} hists SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct vfs_err_key);
	__type(value, __u64);
} errors SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VFS_LOST_REASONS);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VFS_KSTATS);
	__type(key, __u32);
	__type(value, __u64);
} kstats SEC(".maps");

/* zero values to insert (never written) */
static struct vfs_file zero_file;
static struct vfs_container zero_ctr;
static struct vfs_session zero_sess;

/* Number of files in `files`: close() in syscall mode looks no further while it is 0. */
__u64 nr_files;
/* the last id given to a file (struct vfs_file.id): ids start at 1 and are never reused;
 * 64 bits for BPF's compare-and-swap (no fetch-and-add result at -mcpu=v1) */
__u64 last_file_id;

/* A new file id; 0 (none) only if other CPUs took every one of the tries. */
static __always_inline __u32 new_file_id(void)
{
	for (int i = 0; i < 8; i++) {
		__u64 old = last_file_id;

		if (__sync_val_compare_and_swap(&last_file_id, old, old + 1) == old)
			return old + 1;
	}
	return 0;
}

static __always_inline void count_lost(__u32 reason)
{
	__u64 *v = bpf_map_lookup_elem(&lost, &reason);

	if (v)
		*v += 1;
}

static __always_inline void kstat_add(__u32 idx, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&kstats, &idx);

	if (v)
		*v += n;
}

static __always_inline __u32 rd32(const __u8 *b, int off)
{
	return *(const __u32 *)(b + off);
}

static __always_inline __u64 rd64(const __u8 *b, int off)
{
	return *(const __u64 *)(b + off);
}

/* Does the filter let the current thread's calls through? tgid first (one helper call), then
 * the comm (two loads through the task's BTF pointer). */
static __always_inline bool caller_wanted(void)
{
	struct task_struct *task;
	__u64 comm[2];

	if (filter_tgid && (bpf_get_current_pid_tgid() >> 32) != filter_tgid)
		return false;
	if (!filter_by_comm)
		return true;
	task = bpf_get_current_task_btf();
	__builtin_memcpy(comm, task->comm, sizeof(comm));
	return comm[0] == filter_comm[0] && comm[1] == filter_comm[1];
}

/* device migration: state, data fds and their calls (its own ring buffer and maps) */
#include "mirror_migration.bpf.h"

/* ---- file kinds ---- */

static __always_inline int classify_file(struct file *f, bool *by_test_hook)
{
	struct dentry *d = BPF_CORE_READ(f, f_path.dentry);
	struct inode *inode = BPF_CORE_READ(f, f_inode);
	__u32 fmt = BPF_CORE_READ(inode, i_mode) & S_IFMT;
	char name[16] = {}, parent[16] = {};

	bpf_probe_read_kernel_str(name, sizeof(name), BPF_CORE_READ(d, d_name.name));
	if (str_is(name, "[vfio-device]")) {
		if (BPF_CORE_READ(inode, i_sb, s_magic) == ANON_INODE_FS_MAGIC)
			return VFS_KIND_DEVICE;
		return VFS_KIND_UNKNOWN;
	}
	*by_test_hook = test_hook && fmt == S_IFREG;
	if (fmt != S_IFCHR && !*by_test_hook)
		return VFS_KIND_UNKNOWN;
	if (str_is(name, "iommu"))
		return VFS_KIND_IOMMUFD;
	bpf_probe_read_kernel_str(parent, sizeof(parent), BPF_CORE_READ(d, d_parent, d_name.name));
	if (str_is(parent, "vfio")) {
		if (str_is(name, "vfio"))
			return VFS_KIND_CONTAINER;
		if ((name[0] >= '0' && name[0] <= '9') || str_starts(name, "noiommu-"))
			return VFS_KIND_GROUP;
	}
	if (str_is(parent, "devices") && str_starts(name, "vfio"))
		return VFS_KIND_DEVICE;
	return VFS_KIND_UNKNOWN;
}

static __always_inline void fill_file_name(struct vfs_file *fi, struct file *f)
{
	bpf_probe_read_kernel_str(fi->name, sizeof(fi->name),
				  BPF_CORE_READ(f, f_path.dentry, d_name.name));
}

/* The state of @f, created on first sight. @kind: what the handler says, or UNKNOWN (syscall
 * mode: classify). NULL when @f is no VFIO/iommufd file. */
static __always_inline struct vfs_file *file_get(struct file *f, int kind, int fd)
{
	__u64 key = (__u64)f;
	struct vfs_file *fi = bpf_map_lookup_elem(&files, &key);
	bool hook = false, hook_race = false;
	__u32 tgid;

	if (fi)
		goto found;
	if (kind == VFS_KIND_UNKNOWN)
		kind = classify_file(f, &hook);
	if (kind == VFS_KIND_UNKNOWN)
		return NULL;
	/* insert zeroes from .bss and fill in place: BPF stack is scarce (512 bytes, shared
	 * with the for_each callbacks on 6.1) */
	if (bpf_map_update_elem(&files, &key, &zero_file, BPF_NOEXIST) == 0)
		__sync_fetch_and_add(&nr_files, 1);
	else
		hook_race = true;
	fi = bpf_map_lookup_elem(&files, &key);
	if (!fi) {
		count_lost(VFS_LOST_STATE);
		return NULL;
	}
	/* inserted meanwhile, complete (the start-up iterator's record, with its flags and id):
	 * keep it */
	if (hook_race && fi->kind)
		goto found;
	fi->kind = kind;
	fi->flags = hook ? VFS_FILE_TEST_HOOK : 0;
	fi->first_ns = bpf_ktime_get_ns();
	fi->fd = -1;
	fi->iommu_group = -1;
	fi->id = new_file_id();
	fill_file_name(fi, f);
	if (kind == VFS_KIND_DEVICE && !hook)
		device_identity(fi, f);
found:
	tgid = bpf_get_current_pid_tgid() >> 32;
	if (fi->tgid != tgid || !fi->comm[0]) {
		fi->tgid = tgid;
		bpf_get_current_comm(fi->comm, sizeof(fi->comm));
	}
	if (fd >= 0)
		fi->fd = fd;
	return fi;
}

/* ---- entry ---- */

/* Ops whose argument is not a struct starting with argsz/size. */
static __always_inline bool arg_is_struct(__u32 kind, __u32 cmd)
{
	__u32 nr = cmd - VFS_VFIO_BASE;

	if (cmd >= VFS_IOMMUFD_BASE)
		return true;
	if (nr <= 2 || nr == 4 || nr == 5 || nr == 6 || nr == 11)
		return false;
	return true;
}

static __always_inline void read_arg(struct vfs_event *ev, __u8 *dst, bool at_exit)
{
	const void *arg = (const void *)ev->arg;
	__u32 n = ev->argsz;
	__u32 nr = ev->cmd - VFS_VFIO_BASE;

	if (!arg_is_struct(ev->kind, ev->cmd)) {
		if (at_exit)
			return;
		if (nr == 6) /* GROUP_GET_DEVICE_FD: a device name string */
			bpf_probe_read_user_str(dst, VFS_ARG_BYTES, arg);
		else if (nr == 4) /* GROUP_SET_CONTAINER: int *container_fd */
			bpf_probe_read_user(dst, VFS_GROUP_CONTAINER_FD_SZ, arg);
		if (nr == 4 || nr == 6)
			ev->flags |= VFS_EV_IN_VALID;
		return;
	}
	if (!at_exit) {
		if (bpf_probe_read_user(&n, sizeof(n), arg)) {
			ev->flags |= VFS_EV_ARG_FAULT;
			return;
		}
		ev->argsz = n;
	}
	if (n > VFS_ARG_BYTES)
		n = VFS_ARG_BYTES;
	if (n < 8)
		n = 8;
	if (at_exit) /* bytes beyond argsz must not show a previous call's */
		__builtin_memset(dst, 0, VFS_ARG_BYTES);
	if (bpf_probe_read_user(dst, n, arg)) {
		if (!at_exit)
			ev->flags |= VFS_EV_ARG_FAULT;
		return;
	}
	ev->flags |= at_exit ? VFS_EV_OUT_VALID : VFS_EV_IN_VALID;
}

static __always_inline void read_log_ranges(struct vfs_event *ev)
{
	__u32 n = rd32(ev->in, VFS_LOG_CTRL_NUM_RANGES);
	const void *ranges = (const void *)rd64(ev->in, VFS_LOG_CTRL_RANGES);

	ev->nr_ranges = n;
	if (n > VFS_LOG_RANGES) {
		n = VFS_LOG_RANGES;
		ev->flags |= VFS_EV_RANGES_TRUNC;
	}
	if (n && bpf_probe_read_user(ev->ranges, n * VFS_LOG_RANGE_SZ, ranges) == 0)
		ev->flags |= VFS_EV_RANGES;
}

/* A place for the call thread @tid starts; NULL when there is none. */
static __always_inline struct vfs_event *inflight_new(__u32 tid)
{
	__u32 k = tid & (VFS_INFLIGHT_SLOTS - 1);
	struct vfs_inflight_slot *s = bpf_map_lookup_elem(&inflight_slots, &k);
	struct vfs_event *ev;

	/* its own slot (a call whose exit was never seen leaves it so), or a free one */
	if (s && (s->owner == tid || __sync_val_compare_and_swap(&s->owner, 0, tid) == 0))
		return &s->ev;
	ev = bpf_task_storage_get(&inflight, bpf_get_current_task_btf(), 0,
				  BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (ev && !ev->ts_ns)
		__sync_fetch_and_add(&inflight_in_storage, 1);
	return ev;
}

/* The call thread @tid has in flight, or NULL; *@slot says where it is. */
static __always_inline struct vfs_event *inflight_find(__u32 tid, struct vfs_inflight_slot **slot)
{
	__u32 k = tid & (VFS_INFLIGHT_SLOTS - 1);
	struct vfs_inflight_slot *s = bpf_map_lookup_elem(&inflight_slots, &k);
	struct vfs_event *ev;

	*slot = NULL;
	if (s && s->owner == tid && s->ev.ts_ns) {
		*slot = s;
		return &s->ev;
	}
	if (!inflight_in_storage)
		return NULL;
	ev = bpf_task_storage_get(&inflight, bpf_get_current_task_btf(), 0, 0);
	return ev && ev->ts_ns ? ev : NULL;
}

/* The call has exited: free its place. */
static __always_inline void inflight_done(struct vfs_event *ev, struct vfs_inflight_slot *slot)
{
	ev->ts_ns = 0;
	if (slot)
		slot->owner = 0;
	else
		__sync_fetch_and_add(&inflight_in_storage, -1);
}

/* The container file of a group or device call, and its id: a group's container, a device's
 * group's container, or the iommufd a cdev was bound to. */
static __always_inline void event_ctx(struct vfs_event *ev, const struct vfs_file *fi)
{
	__u64 key = fi->parent;
	struct vfs_file *p = key ? bpf_map_lookup_elem(&files, &key) : NULL;

	ev->ctx = ev->kind == VFS_KIND_GROUP ? key : 0;
	ev->ctx_id = 0;
	if (ev->kind == VFS_KIND_DEVICE && p && p->kind == VFS_KIND_IOMMUFD) {
		ev->ctx = key;
	} else if (ev->kind == VFS_KIND_DEVICE && p) {
		key = p->parent;
		p = key ? bpf_map_lookup_elem(&files, &key) : NULL;
		ev->ctx = key;
	}
	if (p && ev->ctx)
		ev->ctx_id = p->id;
}

/* A call the filter let through (callers check caller_wanted() first). */
static __always_inline int on_enter(struct file *f, int kind, __u32 cmd, __u64 arg, int fd,
				    __u8 source)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct vfs_file *fi;
	struct vfs_event *ev;

	if (!f)
		return 0;
	fi = file_get(f, kind, fd);
	if (!fi)
		return 0;
	fi->ioctls++;
	ev = inflight_new(tid);
	if (!ev) {
		count_lost(VFS_LOST_INFLIGHT);
		return 0;
	}
	/* out[] and ranges[] are read only when their flag says so */
	__builtin_memset(ev, 0, offsetof(struct vfs_event, out));
	ev->file = (__u64)f;
	ev->kind = fi->kind;
	ev->cmd = cmd;
	ev->arg = arg;
	ev->fd = fd;
	ev->source = source;
	ev->pid = id >> 32;
	ev->tid = tid;
	if (fi->flags & VFS_FILE_TEST_HOOK)
		ev->flags |= VFS_EV_TEST_HOOK;
	if (emit_events) {
		/* two loads through the task's BTF pointer; bpf_get_current_comm's strscpy_pad
		 * cost more than the rest of the record (the mirror keeps its comm per file) */
		struct task_struct *task = bpf_get_current_task_btf();

		__builtin_memcpy(ev->comm, task->comm, sizeof(ev->comm));
		if (fi->kind == VFS_KIND_DEVICE)
			__builtin_memcpy(ev->device, fi->device, sizeof(ev->device));
	}
	read_arg(ev, ev->in, false);
	ev->op = vfs_op_classify(ev->kind, cmd, rd32(ev->in, VFS_FLAGS));
	if (ev->op == VFS_OP_DMA_LOGGING_START)
		read_log_ranges(ev);
	if (ev->op == VFS_OP_FEATURE_MIG_DEVICE_STATE && (rd32(ev->in, VFS_FLAGS) & (1U << 17)))
		mig_set_enter(ev->file); /* VFIO_DEVICE_FEATURE_SET */
	ev->ctx = ev->file;
	ev->file_id = fi->id;
	ev->ctx_id = fi->id;
	if (ev->kind == VFS_KIND_GROUP || ev->kind == VFS_KIND_DEVICE)
		event_ctx(ev, fi);
	ev->ts_ns = bpf_ktime_get_ns();
	return 0;
}

/* ---- the mirror ---- */

/* what is left of a container: the summary fields of struct vfs_container */
struct summary {
	__u64 mapped_bytes, mappings;
	__u64 min32, max32, min64, max64;
};

struct rebuild_ctx {
	__u64 file;
	__u64 lo, hi; /* inclusive range to remove */
	__u64 first_ns; /* the container's birth: older mappings of its key are a dead file's */
	__u32 ioas;
	__u8 any_ioas; /* purge every IOAS of the file */
	__u8 remove;
	__u16 pad;
};

/* The summary a walk rebuilds, kept in a per-CPU slot rather than on the stack: the verifier
 * tracks stack values through a map walk's callback and would explore it again for every value
 * they take; a map value it does not track, so the callback is verified once (on 6.18, 157,000
 * instructions verified fewer per program). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct summary);
} rebuild_sum SEC(".maps");

static __always_inline void widen(struct summary *c, __u64 iova, __u64 size)
{
	__u64 end = iova + size - 1;

	if (end <= U32_MAX_IOVA) {
		if (!c->max32 || iova < c->min32)
			c->min32 = iova;
		if (end > c->max32)
			c->max32 = end;
	} else {
		if (!c->max64 || iova < c->min64)
			c->min64 = iova;
		if (end > c->max64)
			c->max64 = end;
	}
	c->mapped_bytes += size;
	c->mappings++;
}

static long rebuild_cb(struct bpf_map *map, struct vfs_map_key *k, struct vfs_mapping *v,
		       struct rebuild_ctx *c)
{
	struct summary *s;
	__u32 zero = 0;
	__u64 end;

	if (k->file != c->file || (!c->any_ioas && k->ioas != c->ioas))
		return 0;
	end = k->iova + v->size - 1;
	if (v->ts_ns < c->first_ns || (c->remove && k->iova >= c->lo && end <= c->hi)) {
		bpf_map_delete_elem(map, k);
		return 0;
	}
	s = bpf_map_lookup_elem(&rebuild_sum, &zero);
	if (s)
		widen(s, k->iova, v->size);
	return 0;
}

/* An iommufd object (IOAS or HWPT) the mirror keyed an entry by: its id goes into the file's
 * record, so the file's close deletes its keys instead of walking the maps. nobjs counts
 * atomically, nslots does not: two threads noting at once leave them different, and the close
 * then walks (as it does for a file with more than VFS_FILE_OBJS objects). */
static __always_inline void obj_note(__u64 file, __u32 id)
{
	struct vfs_file *fi = bpf_map_lookup_elem(&files, &file);
	__u32 n;

	if (!fi || fi->kind != VFS_KIND_IOMMUFD)
		return;
	n = fi->nslots;
	for (__u32 i = 0; i < VFS_FILE_OBJS; i++) {
		if (i >= n)
			break;
		if (fi->objs[i] == id)
			return;
	}
	__sync_fetch_and_add(&fi->nobjs, 1);
	if (n < VFS_FILE_OBJS) {
		fi->objs[n] = id;
		fi->nslots = n + 1;
	}
}

static __always_inline struct vfs_container *ctr_get(__u64 file, __u32 ioas, bool create_partial)
{
	struct vfs_ctr_key key = { .file = file, .ioas = ioas };
	struct vfs_container *c = bpf_map_lookup_elem(&containers, &key);
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	/* the process that used it last: an fd passed over SCM_RIGHTS or inherited takes the
	 * container with it */
	if (c && c->tgid != tgid) {
		c->tgid = tgid;
		bpf_get_current_comm(c->comm, sizeof(c->comm));
	}
	if (c || !create_partial)
		return c;
	bpf_map_update_elem(&containers, &key, &zero_ctr, BPF_NOEXIST);
	c = bpf_map_lookup_elem(&containers, &key);
	if (!c) {
		struct vfs_file *fi = bpf_map_lookup_elem(&files, &key.file);

		/* the file says so, for `state`: a container it cannot list is not "none" */
		if (fi)
			fi->flags |= VFS_FILE_NO_CONTAINER;
		count_lost(VFS_LOST_STATE);
		return NULL;
	}
	c->flags = VFS_CTR_PARTIAL;
	c->first_ns = bpf_ktime_get_ns();
	c->tgid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(c->comm, sizeof(c->comm));
	if (ioas)
		obj_note(file, ioas);
	return c;
}

/* The unmap of exactly one mapping (QEMU unmaps a section as it mapped it): its key is
 * deleted and the summary updated without walking the map, unless the mapping held one of
 * the summary's bounds (then only a walk finds the next one). */
static __always_inline bool ctr_unmap_one(struct vfs_container *c, __u64 file, __u32 ioas, __u64 lo,
					  __u64 hi)
{
	struct vfs_map_key key = { .file = file, .ioas = ioas, .iova = lo };
	struct vfs_mapping *m = bpf_map_lookup_elem(&mappings, &key);
	__u64 size;

	if (!m || m->ts_ns < c->first_ns)
		return false;
	size = m->size;
	if (!size || lo + size - 1 != hi || c->mappings == 0 || c->mapped_bytes < size)
		return false;
	if (lo == c->min32 || hi == c->max32 || lo == c->min64 || hi == c->max64)
		return false;
	if (bpf_map_delete_elem(&mappings, &key))
		return false;
	c->mapped_bytes -= size;
	c->mappings--;
	c->unmaps++;
	return true;
}

/* Drop the mappings of [lo, hi] (whole mappings only: type1 v2 and iommufd refuse to split)
 * and recompute the container's summary from what is left. */
__noinline int ctr_unmap(__u64 file, __u32 ioas, __u64 lo, __u64 hi)
{
	struct rebuild_ctx rc = { .file = file, .ioas = ioas, .lo = lo, .hi = hi, .remove = 1 };
	struct vfs_container *c = ctr_get(file, ioas, true);
	struct summary *sum;
	__u32 zero = 0;

	if (c && ctr_unmap_one(c, file, ioas, lo, hi))
		return 0;
	sum = bpf_map_lookup_elem(&rebuild_sum, &zero);
	if (!sum)
		return 0;
	__builtin_memset(sum, 0, sizeof(*sum));
	if (c)
		rc.first_ns = c->first_ns;
	bpf_for_each_map_elem(&mappings, rebuild_cb, &rc, 0);
	if (!c)
		return 0;
	c->mapped_bytes = sum->mapped_bytes;
	c->mappings = sum->mappings;
	c->min32 = sum->min32;
	c->max32 = sum->max32;
	c->min64 = sum->min64;
	c->max64 = sum->max64;
	c->unmaps++;
	return 0;
}

static long vma_file_cb(struct task_struct *task, struct vm_area_struct *vma, __u64 *file)
{
	*file = (__u64)vma->vm_file;
	return 0;
}

/* The VFIO device file whose mmap (a BAR) backs @vaddr in the calling process, or 0 (RAM,
 * anonymous memory, or a kernel without bpf_find_vma). */
static __always_inline __u64 bar_device(__u64 vaddr)
{
	struct vfs_file *fi;
	__u64 file = 0;

	if (!vaddr || !bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_find_vma))
		return 0;
	if (bpf_find_vma(bpf_get_current_task_btf(), vaddr, vma_file_cb, &file, 0) || !file)
		return 0;
	fi = file_get((struct file *)file, VFS_KIND_UNKNOWN, -1);
	return fi && fi->kind == VFS_KIND_DEVICE ? file : 0;
}

/* A mapping whose container is gone (its file was released), or that is older than the
 * container now at its key (a new file at a released one's address): left behind by
 * file_release, which does not walk the mappings map. Such mappings are never shown (the
 * reader skips and deletes them, mirror_gc) and are deleted here when the map is full. */
static long reclaim_cb(struct bpf_map *map, struct vfs_map_key *k, struct vfs_mapping *v, __u64 *n)
{
	struct vfs_ctr_key ck = { .file = k->file, .ioas = k->ioas };
	struct vfs_container *c = bpf_map_lookup_elem(&containers, &ck);

	if (!c || v->ts_ns < c->first_ns) {
		bpf_map_delete_elem(map, k);
		*n += 1;
	}
	return 0;
}

/* Mappings reclaimed (a walk of the whole map: only when it is full). A global function:
 * verified once, not at each of ctr_map's call sites. */
__noinline int reclaim_mappings(void)
{
	__u64 n = 0;

	bpf_for_each_map_elem(&mappings, reclaim_cb, &n, 0);
	return n;
}

static __always_inline void ctr_map(__u64 file, __u32 ioas, __u64 vaddr, __u64 iova, __u64 size,
				    __u32 flags, bool iommufd)
{
	struct vfs_map_key key = { .file = file, .ioas = ioas, .iova = iova };
	struct vfs_mapping m = {
		.size = size, .vaddr = vaddr, .flags = flags, .device = bar_device(vaddr)
	};
	struct vfs_container *c = ctr_get(file, ioas, true);

	if (!c || !size)
		return;
	if (iommufd)
		c->flags |= VFS_CTR_IOMMUFD;
	c->maps++;
	m.ts_ns = bpf_ktime_get_ns();
	if (bpf_map_update_elem(&mappings, &key, &m, BPF_ANY) &&
	    (reclaim_mappings() == 0 || bpf_map_update_elem(&mappings, &key, &m, BPF_ANY))) {
		count_lost(VFS_LOST_MAPPING);
		c->flags |= VFS_CTR_INCOMPLETE;
		return;
	}
	/* struct vfs_container starts with the summary fields, in the same order */
	widen((struct summary *)c, iova, size);
}

static __always_inline void ctr_update_vaddr(__u64 file, __u64 iova, __u64 vaddr)
{
	struct vfs_map_key key = { .file = file, .iova = iova };
	struct vfs_mapping *m = bpf_map_lookup_elem(&mappings, &key);

	if (m)
		m->vaddr = vaddr;
}

static long purge_ctr_cb(struct bpf_map *map, struct vfs_ctr_key *k, void *v, __u64 *file)
{
	if (k->file == *file)
		bpf_map_delete_elem(map, k);
	return 0;
}

static long purge_sess_cb(struct bpf_map *map, struct vfs_sess_key *k, void *v, __u64 *file)
{
	if (k->file == *file)
		bpf_map_delete_elem(map, k);
	return 0;
}

static long purge_hwpt_cb(struct bpf_map *map, struct vfs_hwpt_key *k, void *v, __u64 *file)
{
	if (k->file == *file)
		bpf_map_delete_elem(map, k);
	return 0;
}

/* An iommufd's entries, by the keys of the objects its record names (obj_note). */
static __always_inline void iommufd_release(__u64 file, struct vfs_file *fi)
{
	struct vfs_ctr_key ck = { .file = file };
	struct vfs_sess_key sk = { .file = file, .method = VFS_DIRTY_HWPT };
	struct vfs_hwpt_key hk = { .file = file };
	__u32 n = fi->nslots;

	for (__u32 i = 0; i < VFS_FILE_OBJS; i++) {
		if (i >= n)
			break;
		ck.ioas = sk.id = hk.id = fi->objs[i];
		bpf_map_delete_elem(&containers, &ck);
		bpf_map_delete_elem(&sessions, &sk);
		bpf_map_delete_elem(&hwpts, &hk);
	}
}

/*
 * The file's last reference is gone: no state may stay visible. Without walking whole maps
 * where a key says it (a type1 container has one container and one session key; a device one
 * session key): the cost of a close must not grow with other containers' mappings. The
 * file's mappings stay behind, unreachable: a mapping counts only under a container of its
 * key born before it (reclaim_cb), and the reader deletes them (mirror_gc), or ctr_map when
 * the map is full. An iommufd's IOAS, session and HWPT keys are the ids its record names
 * (obj_note); only an iommufd with more than VFS_FILE_OBJS objects (or two noted at once) has
 * the (small) maps walked.
 */
static __always_inline void file_release(struct file *f)
{
	__u64 key = (__u64)f;
	struct vfs_file *fi = bpf_map_lookup_elem(&files, &key);
	struct vfs_ctr_key ck = { .file = key };
	struct vfs_sess_key sk = { .file = key };

	if (!fi)
		return;
	if (fi->kind == VFS_KIND_CONTAINER) {
		bpf_map_delete_elem(&containers, &ck);
		sk.method = VFS_DIRTY_TYPE1;
		bpf_map_delete_elem(&sessions, &sk);
	} else if (fi->kind == VFS_KIND_DEVICE) {
		sk.method = VFS_DIRTY_DEVICE;
		bpf_map_delete_elem(&sessions, &sk);
	} else if (fi->kind == VFS_KIND_IOMMUFD && fi->nobjs != fi->nslots) {
		bpf_for_each_map_elem(&containers, purge_ctr_cb, &key, 0);
		bpf_for_each_map_elem(&sessions, purge_sess_cb, &key, 0);
		bpf_for_each_map_elem(&hwpts, purge_hwpt_cb, &key, 0);
	} else if (fi->kind == VFS_KIND_IOMMUFD) {
		iommufd_release(key, fi);
	}
	if (fi->kind == VFS_KIND_DEVICE)
		mig_release(key);
	if (bpf_map_delete_elem(&files, &key) == 0)
		__sync_fetch_and_sub(&nr_files, 1);
}

static __always_inline struct vfs_session *sess_get(__u64 file, __u32 id, __u32 method)
{
	struct vfs_sess_key key = { .file = file, .id = id, .method = method };
	struct vfs_session *s = bpf_map_lookup_elem(&sessions, &key);

	if (s)
		return s;
	bpf_map_update_elem(&sessions, &key, &zero_sess, BPF_NOEXIST);
	s = bpf_map_lookup_elem(&sessions, &key);
	if (!s) {
		count_lost(VFS_LOST_STATE);
		return NULL;
	}
	s->tgid = bpf_get_current_pid_tgid() >> 32;
	if (method == VFS_DIRTY_HWPT)
		obj_note(file, id);
	return s;
}

static __always_inline void sess_report(struct vfs_session *s, struct vfs_event *ev, bool ok,
					__u64 iova, __u64 length, __u64 pgsize, __u64 bitmap_bytes)
{
	if (!ok) {
		s->report_errors++;
	} else {
		s->reports++;
		s->bitmap_bytes += bitmap_bytes;
		s->report_ns += ev->latency_ns;
		s->kern_dirty_bytes += ev->kern_dirty_bytes;
	}
	s->last_iova = iova;
	s->last_length = length;
	s->last_page_size = pgsize;
	s->last_bitmap_bytes = bitmap_bytes;
	s->last_latency_ns = ev->latency_ns;
	s->last_ret = ev->ret;
}

/* DIV_ROUND_UP(pages, 64) * 8: bitmaps are whole u64 words (vfio-uapi.md §8.1) */
static __always_inline __u64 bitmap_bytes(__u64 length, __u64 pgsize)
{
	__u64 pages;

	if (!pgsize)
		return 0;
	pages = length / pgsize;
	return (pages + 63) / 64 * 8;
}

static __always_inline void link_parent(struct vfs_event *ev, __u64 parent)
{
	__u64 key = ev->file;
	struct vfs_file *fi = bpf_map_lookup_elem(&files, &key);

	if (fi)
		fi->parent = parent;
}

/* The uAPI families, one header each; each reads the argument at the offsets in uapi_layout.h. */
#include "mirror_type1.bpf.h"
#include "mirror_device.bpf.h"
#include "mirror_iommufd.bpf.h"
/* devices open before the tracer started: named at start by a task_file iterator */
#include "device_iter.bpf.h"

/* The mirror after a call: ops are numbered by family (events.h), so a range picks it. Each
 * family's mirror_* is a global function: the verifier checks it once, on its own, instead of
 * once for every path that reaches it (with ctr_unmap global and its walk's sums in a map
 * value, a program verifies 15,000 instructions instead of 190,000-260,000: a tracer start in a
 * TCG guest went from 12 s to 2.6 s on 6.12). */
static __always_inline void mirror_update(struct vfs_event *ev, bool ok)
{
	if (ev->op >= VFS_OP_IOMMU_DESTROY) {
		mirror_iommufd(ev, ok);
	} else if (ev->op >= VFS_OP_DEVICE_GET_INFO) {
		mirror_device(ev, ok);
		mirror_iommufd_device(ev, ok); /* BIND, ATTACH, DETACH: its ids in the iommufd */
		mirror_migration(ev, ok);
	} else {
		mirror_type1(ev, ok);
	}
}

/* ---- exit ---- */

static __always_inline void account(struct vfs_event *ev)
{
	__u32 op = ev->op;
	struct vfs_hist *h = bpf_map_lookup_elem(&hists, &op);

	if (h) {
		__u32 slot = vfs_hist_slot(ev->latency_ns);

		if (slot < VFS_HIST_SLOTS)
			h->slots[slot]++;
		h->sum += ev->latency_ns;
		h->count++;
	}
	if (ev->ret < 0 && ev->ret > -4096) {
		struct vfs_err_key k = { .op = op, .err = -ev->ret };
		__u64 one = 1, *v = bpf_map_lookup_elem(&errors, &k);

		if (v)
			__sync_fetch_and_add(v, 1);
		else
			bpf_map_update_elem(&errors, &k, &one, BPF_NOEXIST);
	}
}

/*
 * Wake the reader only when this record takes the ring across a quarter of its size. A wakeup
 * per record (the default) costs more than the rest of the call; waking on every record while
 * the ring is above a threshold is no better when the reader falls behind for a while (the
 * reader then has a wakeup queued per record). The reader polls on a timer besides, and epoll
 * sees data already in the ring, so a record is never left unread.
 */
static __always_inline __u64 rb_wakeup_flag(__u32 size)
{
	__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	__u64 quarter = ringbuf_bytes / 4;

	/* each record also takes an 8-byte header, and is rounded up to 8 bytes */
	return avail / quarter != (avail + size + 15) / quarter ? BPF_RB_FORCE_WAKEUP :
								  BPF_RB_NO_WAKEUP;
}

static __always_inline int on_exit(long ret)
{
	struct vfs_inflight_slot *slot;
	struct vfs_event *ev;
	__u32 size = offsetof(struct vfs_event, in);
	bool ok;

	/* an excluded caller has nothing in flight: spare it the lookup */
	if (!caller_wanted())
		return 0;
	ev = inflight_find(bpf_get_current_pid_tgid(), &slot);
	if (!ev)
		return 0;
	ev->ret = ret;
	ev->latency_ns = bpf_ktime_get_ns() - ev->ts_ns;
	ev->ts_ns += ev->latency_ns;
	if (!(ev->flags & VFS_EV_ARG_FAULT))
		read_arg(ev, ev->out, true);
	ok = ret == 0 || ((ev->flags & VFS_EV_TEST_HOOK) && ret == -25 /* ENOTTY */);
	if (ev->op == VFS_OP_GROUP_GET_DEVICE_FD)
		ok = ret >= 0;
	mirror_update(ev, ok);
	account(ev);
	/* the record stops where the rest is empty (a call without argument bytes: 152 bytes) */
	if (ev->flags & VFS_EV_RANGES)
		size = sizeof(*ev);
	else if (ev->flags & VFS_EV_OUT_VALID)
		size = offsetof(struct vfs_event, ranges);
	else if (ev->flags & VFS_EV_IN_VALID)
		size = offsetof(struct vfs_event, out);
	if (emit_events && bpf_ringbuf_output(&events, ev, size, rb_wakeup_flag(size)))
		count_lost(VFS_LOST_RINGBUF);
	inflight_done(ev, slot);
	return 0;
}

/* ---- syscall-level way in ---- */

static __always_inline int ioctl_enter(int fd, __u32 cmd, __u64 arg)
{
	/* the type test is one compare on a register: before the filter's helper call */
	if (!vfs_cmd_is_vfio_type(cmd) || !caller_wanted())
		return 0;
	return on_enter(fd_to_file(fd), VFS_KIND_UNKNOWN, cmd, arg, fd, VFS_SRC_SYSCALL);
}

static __always_inline void close_enter(int fd)
{
	struct file *f = fd_to_file(fd);

	if (f && file_last_ref(f))
		file_release(f);
}

/*
 * Syscall mode: files whose last reference goes without close() (issue 14's hostile processes):
 * dup2/dup3 onto a VFIO fd, close_range over it, execve closing an O_CLOEXEC one. The fds a
 * call closes are scanned (at most FD_SCAN_MAX, bpf_loop), and a tracked file goes when the
 * call takes all its references (a file at two fds of the range counts twice).
 */
#define FD_SCAN_MAX		 4096
#define FD_DROPS		 8
#define CLOSE_RANGE_CLOEXEC_FLAG (1U << 2)

struct fd_drops {
	__u64 file[FD_DROPS];
	__u32 refs[FD_DROPS]; /* fds of the range holding it */
	__u32 n;
	__u32 pad;
};

struct fd_scan {
	__u64 fds; /* struct file ** */
	__u64 cloexec; /* unsigned long *: only fds with their bit set; 0: every fd */
	__u32 first, last;
	struct fd_drops d;
};

/* The scan's state lives in a map value, not on the stack: before 6.8 the verifier checked a
 * bpf_loop callback once, with the caller's stack as at the first call, and dropped as dead
 * the branches that only later iterations take (6.1 counted one file at two fds as two). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fd_scan);
} fd_scans SEC(".maps");

/* execve in flight: what it drops when it succeeds (tid -> files) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct fd_drops);
} exec_drops SEC(".maps");

static long fd_scan_cb(__u64 i, void *unused)
{
	__u32 zero = 0;
	struct fd_scan *s = bpf_map_lookup_elem(&fd_scans, &zero);
	__u64 fd, key = 0, word = 0;
	__u32 j;

	if (!s)
		return 1;
	fd = s->first + i;
	if (fd > s->last)
		return 1;
	if (s->cloexec) {
		bpf_probe_read_kernel(&word, sizeof(word), (void *)(s->cloexec + fd / 64 * 8));
		if (!(word & (1ULL << (fd % 64))))
			return 0;
	}
	bpf_probe_read_kernel(&key, sizeof(key), (void *)(s->fds + fd * 8));
	if (!key || !bpf_map_lookup_elem(&files, &key))
		return 0;
	for (j = 0; j < FD_DROPS; j++) {
		if (j == s->d.n) {
			s->d.file[j] = key;
			s->d.refs[j] = 1;
			s->d.n++;
			return 0;
		}
		if (s->d.file[j] == key) {
			s->d.refs[j]++;
			return 0;
		}
	}
	return 0;
}

/* The tracked files the current task's fds [first, last] hold all references to; NULL when
 * there is nothing to scan. */
static __always_inline struct fd_scan *fd_scan(__u32 first, __u32 last, bool cloexec)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct files_struct *files = task->files;
	__u32 max, zero = 0;
	struct fd_scan *s;
	struct fdtable *fdt;

	if (!files || !bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_loop))
		return NULL;
	fdt = files->fdt;
	s = bpf_map_lookup_elem(&fd_scans, &zero);
	if (!fdt || !s)
		return NULL;
	s->d.n = 0;
	max = fdt->max_fds;
	if (last >= max)
		last = max - 1;
	if (first > last)
		return NULL;
	s->fds = (__u64)fdt->fd;
	s->cloexec = cloexec ? (__u64)fdt->close_on_exec : 0;
	s->first = first;
	s->last = last;
	bpf_loop(last - first + 1 < FD_SCAN_MAX ? last - first + 1 : FD_SCAN_MAX, fd_scan_cb, NULL,
		 0);
	for (__u32 j = 0; j < FD_DROPS; j++)
		if (j < s->d.n && file_refs((struct file *)s->d.file[j]) != s->d.refs[j])
			s->d.file[j] = 0; /* another fd (or process) keeps it */
	return s;
}

static __always_inline void drops_release(struct fd_drops *d)
{
	for (__u32 j = 0; j < FD_DROPS; j++)
		if (j < d->n && d->file[j])
			file_release((struct file *)d->file[j]);
}

static __always_inline void close_range_enter(__u32 first, __u32 last, __u32 flags)
{
	struct fd_scan *s;

	if (flags & CLOSE_RANGE_CLOEXEC_FLAG)
		return;
	s = fd_scan(first, last, false);
	if (s)
		drops_release(&s->d);
}

static __always_inline void dup2_enter(int oldfd, int newfd)
{
	if (oldfd != newfd && fd_to_file(oldfd))
		close_enter(newfd);
}

static __always_inline void execve_enter(void)
{
	__u32 tid = bpf_get_current_pid_tgid();
	struct fd_scan *s = fd_scan(0, ~0U, true);

	if (s && s->d.n)
		bpf_map_update_elem(&exec_drops, &tid, &s->d, BPF_ANY);
}

static __always_inline void execve_exit(long ret)
{
	__u32 tid = bpf_get_current_pid_tgid();
	struct fd_drops *d = bpf_map_lookup_elem(&exec_drops, &tid);

	if (!d)
		return;
	if (ret == 0)
		drops_release(d);
	bpf_map_delete_elem(&exec_drops, &tid);
}

static __always_inline void fd_calls_enter(long id, __u64 a0, __u64 a1, __u64 a2)
{
	if (id == NR_dup2 || id == NR_dup3)
		dup2_enter(a0, a1);
	else if (id == NR_close_range)
		close_range_enter(a0, a1, a2);
	else if (id == NR_execve || id == NR_execveat)
		execve_enter();
}

/*
 * The hot path of every syscall on the system: compare the id and leave. tp_btf reads the
 * registers directly (a BTF pointer); raw_tp needs bpf_probe_read, after the id test only.
 */
SEC("tp_btf/sys_enter")
int BPF_PROG(tp_sys_enter, struct pt_regs *regs, long id)
{
	if (nr_data_fds) /* a device migrates: its data fd's calls */
		mig_enter(id, regs->di, regs->si, regs->dx);
	if (id == NR_ioctl)
		return ioctl_enter(regs->di, regs->si, regs->dx);
	if (id == NR_close && nr_files)
		close_enter(regs->di);
	else if (nr_files)
		fd_calls_enter(id, regs->di, regs->si, regs->dx);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(tp_sys_exit, struct pt_regs *regs, long ret)
{
	if (nr_mig_calls)
		mig_exit(regs->orig_ax, ret);
	if (regs->orig_ax == NR_execve || regs->orig_ax == NR_execveat)
		execve_exit(ret);
	if (regs->orig_ax != NR_ioctl)
		return 0;
	return on_exit(ret);
}

SEC("raw_tp/sys_enter")
int raw_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	long id = ctx->args[1];

	if (nr_data_fds)
		mig_enter(id, BPF_CORE_READ(regs, di), BPF_CORE_READ(regs, si),
			  BPF_CORE_READ(regs, dx));
	if (id == NR_ioctl)
		return ioctl_enter(BPF_CORE_READ(regs, di), BPF_CORE_READ(regs, si),
				   BPF_CORE_READ(regs, dx));
	if (id == NR_close && nr_files)
		close_enter(BPF_CORE_READ(regs, di));
	else if (nr_files)
		fd_calls_enter(id, BPF_CORE_READ(regs, di), BPF_CORE_READ(regs, si),
			       BPF_CORE_READ(regs, dx));
	return 0;
}

SEC("raw_tp/sys_exit")
int raw_sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	long nr = BPF_CORE_READ((struct pt_regs *)ctx->args[0], orig_ax);

	if (nr_mig_calls)
		mig_exit(nr, ctx->args[1]);
	if (nr == NR_execve || nr == NR_execveat)
		execve_exit(ctx->args[1]);
	if (BPF_CORE_READ((struct pt_regs *)ctx->args[0], orig_ax) != NR_ioctl)
		return 0;
	return on_exit(ctx->args[1]);
}

/* ---- file-handler way in ---- */

/* The fd of the ioctl being handled, from the syscall's user registers (-1 if not ioctl).
 * bpf_task_pt_regs() returns a BTF pointer: plain loads, no bpf_probe_read_kernel calls. */
static __always_inline int current_ioctl_fd(void)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());

	if (regs->orig_ax != NR_ioctl)
		return -1;
	return regs->di;
}

/* The file-handler way in, for fentry and kprobe alike: the filter first thing. */
static __always_inline int handler_enter(struct file *f, int kind, __u32 cmd, __u64 arg)
{
	if (!caller_wanted())
		return 0;
	return on_enter(f, kind, cmd, arg, current_ioctl_fd(), VFS_SRC_HANDLER);
}

#define HANDLER_HOOKS(fn, kind)                                                                 \
	SEC("fentry/" #fn)                                                                      \
	int BPF_PROG(fentry_##fn, struct file *f, unsigned int cmd, unsigned long arg)          \
	{                                                                                       \
		return handler_enter(f, kind, cmd, arg);                                        \
	}                                                                                       \
	SEC("fexit/" #fn)                                                                       \
	int BPF_PROG(fexit_##fn, struct file *f, unsigned int cmd, unsigned long arg, long ret) \
	{                                                                                       \
		return on_exit(ret);                                                            \
	}                                                                                       \
	SEC("kprobe/" #fn)                                                                      \
	int BPF_KPROBE(kprobe_##fn, struct file *f, unsigned int cmd, unsigned long arg)        \
	{                                                                                       \
		return handler_enter(f, kind, cmd, arg);                                        \
	}                                                                                       \
	SEC("kretprobe/" #fn)                                                                   \
	int BPF_KRETPROBE(kretprobe_##fn, long ret)                                             \
	{                                                                                       \
		return on_exit(ret);                                                            \
	}

HANDLER_HOOKS(vfio_fops_unl_ioctl, VFS_KIND_CONTAINER)
HANDLER_HOOKS(vfio_group_fops_unl_ioctl, VFS_KIND_GROUP)
HANDLER_HOOKS(vfio_device_fops_unl_ioctl, VFS_KIND_DEVICE)
HANDLER_HOOKS(iommufd_fops_ioctl, VFS_KIND_IOMMUFD)

#define RELEASE_HOOKS(fn)                                                \
	SEC("fentry/" #fn)                                               \
	int BPF_PROG(fentry_##fn, struct inode *inode, struct file *f)   \
	{                                                                \
		file_release(f);                                         \
		return 0;                                                \
	}                                                                \
	SEC("kprobe/" #fn)                                               \
	int BPF_KPROBE(kprobe_##fn, struct inode *inode, struct file *f) \
	{                                                                \
		file_release(f);                                         \
		return 0;                                                \
	}

RELEASE_HOOKS(vfio_fops_release)
RELEASE_HOOKS(vfio_group_fops_release)
RELEASE_HOOKS(vfio_device_fops_release)
RELEASE_HOOKS(iommufd_fops_release)

/* ---- kernel-side hooks ---- */

static __always_inline void bitmap_set_seen(__u64 length)
{
	struct vfs_inflight_slot *slot;
	struct vfs_event *ev = inflight_find(bpf_get_current_pid_tgid(), &slot);

	kstat_add(VFS_KS_BITMAP_SET_CALLS, 1);
	kstat_add(VFS_KS_BITMAP_SET_BYTES, length);
	if (ev) {
		ev->kern_dirty_calls++;
		ev->kern_dirty_bytes += length;
	}
}

static __always_inline void pin_seen(long pages, bool pin)
{
	struct vfs_inflight_slot *slot;
	struct vfs_event *ev = inflight_find(bpf_get_current_pid_tgid(), &slot);

	if (pages < 0)
		return;
	kstat_add(pin ? VFS_KS_PIN_CALLS : VFS_KS_UNPIN_CALLS, 1);
	kstat_add(pin ? VFS_KS_PINNED_PAGES : VFS_KS_UNPINNED_PAGES, pages);
	if (!ev)
		return;
	if (pin)
		ev->kern_pinned_pages += pages;
	else
		ev->kern_unpinned_pages += pages;
}

/* void iova_bitmap_set(struct iova_bitmap *bitmap, unsigned long iova, size_t length) */
SEC("fentry/iova_bitmap_set")
int BPF_PROG(fentry_iova_bitmap_set, void *bitmap, unsigned long iova, size_t length)
{
	bitmap_set_seen(length);
	return 0;
}

SEC("kprobe/iova_bitmap_set")
int BPF_KPROBE(kprobe_iova_bitmap_set, void *bitmap, unsigned long iova, size_t length)
{
	bitmap_set_seen(length);
	return 0;
}

/* long vfio_pin_pages_remote(...) / vfio_unpin_pages_remote(...): pages (un)pinned; the
 * argument lists differ between kernels, bpf_get_func_ret() does not care. */
SEC("fexit/vfio_pin_pages_remote")
int fexit_vfio_pin_pages_remote(void *ctx)
{
	__u64 ret = 0;

	bpf_get_func_ret(ctx, &ret);
	pin_seen((long)ret, true);
	return 0;
}

SEC("kretprobe/vfio_pin_pages_remote")
int BPF_KRETPROBE(kretprobe_vfio_pin_pages_remote, long ret)
{
	pin_seen(ret, true);
	return 0;
}

SEC("fexit/vfio_unpin_pages_remote")
int fexit_vfio_unpin_pages_remote(void *ctx)
{
	__u64 ret = 0;

	bpf_get_func_ret(ctx, &ret);
	pin_seen((long)ret, false);
	return 0;
}

SEC("kretprobe/vfio_unpin_pages_remote")
int BPF_KRETPROBE(kretprobe_vfio_unpin_pages_remote, long ret)
{
	pin_seen(ret, false);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
