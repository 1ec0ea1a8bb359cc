// SPDX-License-Identifier: GPL-2.0-only
/*
 * edu-vfio-pci: a vfio-pci-core variant driver for QEMU's edu device (1234:11e8) that
 * implements device DMA logging (struct vfio_log_ops) and migration v2 for real.
 *
 * No emulated device or IOMMU has hardware dirty tracking, so this driver watches edu's DMA
 * programming instead: BAR0 is not mmap-able and refuses ioeventfds, so every write to the
 * DMA command register passes through edu_write(). An edu->RAM command whose destination lies
 * in a tracked range is recorded, and DMA_LOGGING_REPORT hands the recorded pages to the
 * kernel's iova_bitmap. The kernel's own DMA-logging core (range validation, REPORT checks,
 * bitmap pinning) runs unchanged.
 *
 * Builds from one source against Linux 6.1 and 6.12 headers (differences are marked).
 */
#include <linux/anon_inodes.h>
#include <linux/bitmap.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/interval_tree.h>
#include <linux/io.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/uaccess.h>
#include <linux/version.h>
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
#include <linux/unaligned.h>
#else
#include <asm/unaligned.h>
#endif
#include <linux/vfio.h>
#include <linux/vfio_pci_core.h>

/* edu register map (QEMU hw/misc/edu.c, docs/specs/edu.rst) */
#define EDU_REG_ID	   0x00
#define EDU_REG_LIVENESS   0x04
#define EDU_REG_STATUS	   0x20
#define EDU_REG_IRQ_STATUS 0x24
#define EDU_REG_IRQ_RAISE  0x60
#define EDU_REG_IRQ_ACK	   0x64
#define EDU_REG_DMA_SRC	   0x80
#define EDU_REG_DMA_DST	   0x88
#define EDU_REG_DMA_CNT	   0x90
#define EDU_REG_DMA_CMD	   0x98

#define EDU_STATUS_IRQFACT 0x80
#define EDU_DMA_RUN	   0x1
#define EDU_DMA_TO_RAM	   0x2

#define EDU_MAX_DIRTY	256
#define EDU_MIG_MAGIC	0x6564756d /* "edum" */
#define EDU_MIG_VERSION 2
#define EDU_DEV_PAGE	4096
#define EDU_MAX_STATE	(1ULL << 30)
#define EDU_MAX_EVENTS	2048

static unsigned long dma_mask = (1UL << 28) - 1;
module_param(dma_mask, ulong, 0444);
MODULE_PARM_DESC(dma_mask, "edu's dma_mask property (QEMU default 0xfffffff)");

static unsigned long state_size;
module_param(state_size, ulong, 0644);
MODULE_PARM_DESC(
	state_size,
	"bytes of device memory each migration carries besides edu's registers (0 to 1 GiB; taken when the device is opened)");

static unsigned int seed = 1;
module_param(seed, uint, 0644);
MODULE_PARM_DESC(seed, "seed of the device memory's content (source and destination must agree)");

static unsigned int dirty_per_dma = 4;
module_param(dirty_per_dma, uint, 0644);
MODULE_PARM_DESC(dirty_per_dma, "4 KiB device pages an edu->RAM DMA command changes");

/* A fault for the controller's tests: a REPORT that fails in the driver, as a real one can. */
static unsigned int fail_report;
module_param(fail_report, uint, 0644);
MODULE_PARM_DESC(fail_report,
		 "fail the Nth DMA-logging REPORT from now (counted over all devices; 0: never)");
static int fail_report_errno = EIO;
module_param(fail_report_errno, int, 0644);
MODULE_PARM_DESC(fail_report_errno,
		 "the errno of that failure (default EIO; ENOMEM for an exhausted allocation)");

static bool precopy = true;
module_param(precopy, bool, 0444);
MODULE_PARM_DESC(precopy, "offer PRE_COPY where the kernel has it (6.2+; set at bind)");

/* One dirty interval [start, end), aligned to the logging page size. */
struct edu_dirty {
	u64 start;
	u64 end;
	/* The DMA had not completed when this was recorded: keep reporting it. */
	bool inflight;
};

struct edu_range {
	u64 start;
	u64 end; /* exclusive */
};

/* edu's registers: the REGS record of the migration stream */
struct edu_mig_state {
	__le32 magic;
	__le32 version;
	__le32 regs_valid;
	__le32 liveness; /* the value last written (edu reads back its complement) */
	__le32 status;
	__le32 irq_status;
	__le64 dma_src;
	__le64 dma_dst;
	__le64 dma_cnt;
};

/*
 * The migration stream is a run of records, each a header and len bytes: BEGIN (format,
 * seed, state size), a PAGE per device page (initial pass, then pages dirtied again), REGS,
 * END (record count and a digest of every page's version). PRE_COPY reads stop before REGS.
 */
enum {
	EDU_REC_BEGIN = 1,
	EDU_REC_PAGE,
	EDU_REC_REGS,
	EDU_REC_END
};
/* what the record being read belongs to, for VFIO_MIG_GET_PRECOPY_INFO */
enum {
	EDU_REC_NONE,
	EDU_REC_INITIAL,
	EDU_REC_DIRTY,
	EDU_REC_FINAL
};

struct edu_rec {
	__le32 magic;
	__le16 type;
	__le16 reserved;
	__le32 page;
	__le32 ver;
	__le64 len;
};

struct edu_rec_begin {
	__le32 version;
	__le32 seed;
	__le64 state_size;
};

struct edu_rec_end {
	__le64 hash;
	__le64 records;
};

struct edu_vdev;

/* A data fd: the source's (saving) or the destination's (resuming). */
struct edu_migf {
	struct file *filp;
	struct edu_vdev *ev;
	bool disabled;
	/* stream position, both directions */
	u8 *rec;
	u64 rec_len;
	u64 rec_pos;
	int rec_kind;
	u64 records;
	bool begin_sent, regs_sent, end_sent;
	/* saving */
	u32 init_next;
	u64 dirty_bytes;
	u64 stop_copy_read;
	/* resuming */
	struct edu_rec hdr;
	u32 hdr_have;
	u64 stream_pos;
	u32 *ver;
	unsigned long *got;
	u32 got_pages;
	u64 verified;
	struct edu_mig_state regs;
	int error;
};

/* The driver's own account of migrations, read at <debugfs>/edu-vfio-pci/<BDF>/migration. */
enum {
	EDU_EV_SET_STATE,
	EDU_EV_ARC,
	EDU_EV_PRECOPY_INFO,
	EDU_EV_DATA_SIZE,
	EDU_EV_REPORT
};

struct edu_event {
	u64 ns; /* CLOCK_REALTIME, like QEMU's trace */
	u8 kind;
	u8 from, to;
	s32 ret;
	u64 a, b, c;
};

struct edu_stats {
	u64 dma_commands;
	u64 pages_dirtied;
	u64 arcs;
	u64 bytes_pre_copy;
	u64 bytes_stop_copy;
	u64 bytes_resuming;
	u64 enomsg_reads;
	u64 log_reports;
	u64 log_dirty_pages;
	u64 resume_ok;
	u64 resume_errors;
	char resume_result[160];
	u32 nevents;
	u64 lost_events;
	struct edu_event *events;
};

struct edu_vdev {
	struct vfio_pci_core_device core_device;
	void __iomem *bar0;
	struct dentry *dbg_dir;
	/* Serialises the log ops, the migration ops and DMA command writes (core does not). */
	struct mutex state_mutex;

	bool logging;
	u64 log_pgsize;
	struct edu_range *ranges;
	u32 nranges;
	struct edu_dirty dirty[EDU_MAX_DIRTY];
	u32 ndirty;
	/* Ran out of records: report every tracked page until a REPORT covered them all. */
	bool overflow;

	enum vfio_device_mig_state mig_state;
	struct edu_migf *saving_migf;
	struct edu_migf *resuming_migf;

	/* the device memory (state_size when opened): versions, and pages dirty since sent */
	u64 st_size;
	u32 st_npages;
	u32 seed;
	u32 *st_ver;
	unsigned long *st_dirty;
	u32 st_ndirty;
	u32 st_cursor;
	struct edu_stats stats;
};

static struct edu_vdev *to_edu(struct vfio_device *vdev)
{
	return container_of(vdev, struct edu_vdev, core_device.vdev);
}

static void edu_event(struct edu_vdev *ev, u8 kind, u8 from, u8 to, s32 ret, u64 a, u64 b, u64 c)
{
	struct edu_stats *st = &ev->stats;

	if (!st->events || st->nevents == EDU_MAX_EVENTS) {
		st->lost_events++;
		return;
	}
	st->events[st->nevents++] =
		(struct edu_event){ ktime_get_real_ns(), kind, from, to, ret, a, b, c };
}

static bool edu_mem_enabled(struct edu_vdev *ev)
{
	u16 cmd = 0;

	if (!ev->bar0)
		return false;
	pci_read_config_word(ev->core_device.pdev, PCI_COMMAND, &cmd);
	return cmd & PCI_COMMAND_MEMORY;
}

static bool edu_dma_running(struct edu_vdev *ev)
{
	if (!edu_mem_enabled(ev))
		return false;
	return readq(ev->bar0 + EDU_REG_DMA_CMD) & EDU_DMA_RUN;
}

/* ---- DMA logging ---- */

static void edu_dirty_add(struct edu_vdev *ev, u64 start, u64 end, bool inflight)
{
	if (ev->ndirty == EDU_MAX_DIRTY) {
		ev->overflow = true;
		return;
	}
	ev->dirty[ev->ndirty++] = (struct edu_dirty){ start, end, inflight };
}

static void edu_dirty_del(struct edu_vdev *ev, u32 i)
{
	ev->dirty[i] = ev->dirty[--ev->ndirty];
}

/* Record an edu->RAM transfer of cnt bytes at dst, clipped to the tracked ranges. */
static void edu_log_dma(struct edu_vdev *ev, u64 dst, u64 cnt, bool inflight)
{
	u64 end;
	u32 i;

	if (!ev->logging || !cnt)
		return;
	if (check_add_overflow(dst, cnt, &end))
		end = U64_MAX;
	for (i = 0; i < ev->nranges; i++) {
		struct edu_range *r = &ev->ranges[i];
		u64 s = max(dst, r->start), e = min(end, r->end);

		if (s >= e)
			continue;
		s = max(ALIGN_DOWN(s, ev->log_pgsize), r->start);
		e = min(ALIGN(e, ev->log_pgsize), r->end);
		edu_dirty_add(ev, s, e, inflight);
	}
}

/* A new command was accepted, so every earlier transfer has landed. */
static void edu_dirty_all_landed(struct edu_vdev *ev)
{
	u32 i;

	for (i = 0; i < ev->ndirty; i++)
		ev->dirty[i].inflight = false;
}

static void edu_log_free(struct edu_vdev *ev)
{
	kfree(ev->ranges);
	ev->ranges = NULL;
	ev->nranges = 0;
	ev->ndirty = 0;
	ev->overflow = false;
	ev->logging = false;
}

static int edu_log_start(struct vfio_device *vdev, struct rb_root_cached *ranges, u32 nnodes,
			 u64 *page_size)
{
	struct edu_vdev *ev = to_edu(vdev);
	struct interval_tree_node *node;
	u64 pgsize = *page_size;
	int ret = 0;
	u32 i = 0;

	/* Core checks alignment and overlap but not the page size itself (vfio_main.c). */
	if (!pgsize || !is_power_of_2(pgsize))
		return -EINVAL;
	/* A hint: granularity finer than 4 KiB is raised and written back (uAPI comment). */
	pgsize = max_t(u64, pgsize, SZ_4K);

	mutex_lock(&ev->state_mutex);
	if (ev->logging) {
		ret = -EBUSY;
		goto out;
	}
	ev->ranges = kcalloc(nnodes, sizeof(*ev->ranges), GFP_KERNEL);
	if (!ev->ranges) {
		ret = -ENOMEM;
		goto out;
	}
	for (node = interval_tree_iter_first(ranges, 0, ULONG_MAX); node && i < nnodes;
	     node = interval_tree_iter_next(node, 0, ULONG_MAX), i++) {
		ev->ranges[i].start = node->start;
		ev->ranges[i].end = (u64)node->last + 1;
	}
	ev->nranges = i;
	ev->log_pgsize = pgsize;
	ev->ndirty = 0;
	ev->overflow = false;
	ev->logging = true;
	*page_size = pgsize;

	/* A transfer started before START that lands after it must be logged too. */
	if (edu_mem_enabled(ev)) {
		u64 cmd = readq(ev->bar0 + EDU_REG_DMA_CMD);

		if ((cmd & (EDU_DMA_RUN | EDU_DMA_TO_RAM)) == (EDU_DMA_RUN | EDU_DMA_TO_RAM))
			edu_log_dma(ev, readq(ev->bar0 + EDU_REG_DMA_DST) & dma_mask,
				    readq(ev->bar0 + EDU_REG_DMA_CNT), true);
	}
out:
	mutex_unlock(&ev->state_mutex);
	return ret;
}

static int edu_log_stop(struct vfio_device *vdev)
{
	struct edu_vdev *ev = to_edu(vdev);

	mutex_lock(&ev->state_mutex);
	edu_log_free(ev);
	mutex_unlock(&ev->state_mutex);
	return 0;
}

/*
 * Where a read-and-clear goes: the kernel's iova_bitmap (DMA_LOGGING_REPORT), or a page list
 * for debugfs on kernels built without iova_bitmap (CONFIG_IOMMUFD_DRIVER=n, Debian 6.12),
 * where REPORT fails in core before any driver is asked.
 */
struct edu_span {
	u64 first;
	u64 last;
};

static int edu_span_cmp(const void *a, const void *b)
{
	const struct edu_span *x = a, *y = b;

	return x->first < y->first ? -1 : x->first > y->first;
}

/* Pages in the union of the spans (records may overlap; QEMU counts bits). */
static u64 edu_spans_pages(struct edu_span *sp, u32 n)
{
	u64 pages = 0, end = 0; /* end: one past the last page counted */
	u32 i;

	sort(sp, n, sizeof(*sp), edu_span_cmp, NULL);
	for (i = 0; i < n; i++) {
		u64 f = max(sp[i].first, end);

		if (sp[i].last + 1 > f)
			pages += sp[i].last + 1 - f;
		end = max(end, sp[i].last + 1);
	}
	return pages;
}

struct edu_sink {
	struct iova_bitmap *bitmap;
	u64 *pages;
	u32 npages;
	u32 max_pages;
	bool truncated;
	/* the 4 KiB steps marked, [first, last] from the window base, to count each page once */
	struct edu_span *spans;
	u32 nspans;
	u32 max_spans;
};

/*
 * Mark [s, e) one 4 KiB step at a time, steps aligned to the window base. The driver is not
 * told the REPORT page size, and the 6.1 iova_bitmap_set() derives its bit count from the
 * length alone, so only 4 KiB steps from the base mark exactly the right bits on 6.1 and 6.12
 * alike. May sleep on 6.12 (it pins user pages): never call it under a spinlock.
 */
static void edu_mark(struct edu_sink *sink, u64 base, u64 limit, u64 s, u64 e)
{
	u64 k, first = (s - base) >> PAGE_SHIFT, last = (e - 1 - base) >> PAGE_SHIFT;

	if (sink->nspans < sink->max_spans)
		sink->spans[sink->nspans++] = (struct edu_span){ first, last };
	for (k = first; k <= last; k++) {
		u64 iova = base + (k << PAGE_SHIFT);

		if (sink->bitmap)
			iova_bitmap_set(sink->bitmap, iova, min_t(u64, SZ_4K, limit - iova));
		else if (sink->npages < sink->max_pages)
			sink->pages[sink->npages++] = iova;
		else
			sink->truncated = true;
		if (!((k - first + 1) % 4096))
			cond_resched();
	}
}

static void edu_report_overflow(struct edu_vdev *ev, u64 w0, u64 w1, struct edu_sink *sink)
{
	u64 lo = U64_MAX, hi = 0;
	u32 i;

	for (i = 0; i < ev->nranges; i++) {
		u64 s = max(ev->ranges[i].start, w0), e = min(ev->ranges[i].end, w1);

		if (s < e)
			edu_mark(sink, w0, w1, s, e);
		lo = min(lo, ev->ranges[i].start);
		hi = max(hi, ev->ranges[i].end);
	}
	/* Everything that may have been lost has now been reported once. */
	if (w0 <= lo && w1 >= hi) {
		ev->overflow = false;
		ev->ndirty = 0;
	}
}

static int edu_read_and_clear(struct edu_vdev *ev, u64 w0, u64 w1, struct edu_sink *sink)
{
	bool running;
	u32 i;

	mutex_lock(&ev->state_mutex);
	if (!ev->logging) {
		mutex_unlock(&ev->state_mutex);
		return -EINVAL;
	}
	/* Sample RUN before reporting: if it is clear now, the last transfer has landed. */
	running = edu_dma_running(ev);
	sink->max_spans = ev->ndirty + ev->nranges;
	sink->spans = kmalloc_array(max(sink->max_spans, 1U), sizeof(*sink->spans), GFP_KERNEL);
	if (!sink->spans)
		sink->max_spans = 0; /* the report goes on; only the driver's own count is lost */
	if (ev->overflow) {
		edu_report_overflow(ev, w0, w1, sink);
		goto out;
	}
	for (i = 0; i < ev->ndirty;) {
		struct edu_dirty *d = &ev->dirty[i];
		u64 s = max(d->start, w0), e = min(d->end, w1);

		if (s >= e) {
			i++;
			continue;
		}
		edu_mark(sink, w0, w1, s, e);
		if (d->inflight && running) {
			/* Sticky until the copy (about 100 ms after the command) has landed. */
			i++;
			continue;
		}
		d->inflight = false;
		/* Clear only what this window covered. */
		if (d->start >= w0 && d->end <= w1) {
			edu_dirty_del(ev, i);
			continue;
		}
		if (d->start < w0 && d->end > w1) {
			/* The window is inside the record: keep the tail as a new record. */
			u64 tail = d->end;

			d->end = w0;
			edu_dirty_add(ev, w1, tail, false);
		} else if (d->start < w0) {
			d->end = w0;
		} else {
			d->start = w1;
		}
		i++;
	}
out:
	if (sink->bitmap) {
		u64 pages = sink->spans ? edu_spans_pages(sink->spans, sink->nspans) : U64_MAX;

		ev->stats.log_reports++;
		ev->stats.log_dirty_pages += sink->spans ? pages : 0;
		edu_event(ev, EDU_EV_REPORT, 0, 0, 0, w0, w1 - w0, pages);
	}
	kfree(sink->spans);
	sink->spans = NULL;
	mutex_unlock(&ev->state_mutex);
	return 0;
}

static int edu_log_read_and_clear(struct vfio_device *vdev, unsigned long iova,
				  unsigned long length, struct iova_bitmap *dirty)
{
	struct edu_sink sink = { .bitmap = dirty };
	unsigned int n = READ_ONCE(fail_report);

	if (n && cmpxchg(&fail_report, n, n - 1) == n && n == 1)
		return fail_report_errno > 0 && fail_report_errno < MAX_ERRNO ? -fail_report_errno :
										-EIO;
	return edu_read_and_clear(to_edu(vdev), iova, (u64)iova + length, &sink);
}

static const struct vfio_log_ops edu_log_ops = {
	.log_start = edu_log_start,
	.log_stop = edu_log_stop,
	.log_read_and_clear = edu_log_read_and_clear,
};

/* ---- debugfs: the dirty log without iova_bitmap ---- */

/*
 * <debugfs>/edu-vfio-pci/<BDF>/report: write "IOVA LENGTH", then read: the same read-and-clear
 * as DMA_LOGGING_REPORT over that window, as one 4 KiB page IOVA per line. It exists for
 * kernels whose REPORT cannot reach a driver (no iova_bitmap); the dirty logic is shared.
 */
#define EDU_DBG_MAX_PAGES 4096

static struct dentry *edu_dbg_root;

struct edu_dbg_report {
	struct edu_vdev *ev;
	u64 iova;
	u64 length;
	char *text;
	size_t len;
};

static int edu_dbg_open(struct inode *inode, struct file *filp)
{
	struct edu_dbg_report *r = kzalloc(sizeof(*r), GFP_KERNEL);

	if (!r)
		return -ENOMEM;
	r->ev = inode->i_private;
	filp->private_data = r;
	return 0;
}

static int edu_dbg_release(struct inode *inode, struct file *filp)
{
	struct edu_dbg_report *r = filp->private_data;

	kvfree(r->text);
	kfree(r);
	return 0;
}

static ssize_t edu_dbg_write(struct file *filp, const char __user *ubuf, size_t count, loff_t *ppos)
{
	struct edu_dbg_report *r = filp->private_data;
	char buf[64];

	if (count >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	buf[count] = 0;
	if (sscanf(buf, "%lli %lli", &r->iova, &r->length) != 2)
		return -EINVAL;
	kvfree(r->text);
	r->text = NULL;
	return count;
}

static int edu_dbg_render(struct edu_dbg_report *r)
{
	struct edu_sink sink = { .max_pages = EDU_DBG_MAX_PAGES };
	size_t cap, n = 0;
	u64 end;
	u32 i;
	int ret;

	if (check_add_overflow(r->iova, r->length, &end))
		return -EOVERFLOW;
	sink.pages = kvcalloc(EDU_DBG_MAX_PAGES, sizeof(u64), GFP_KERNEL);
	if (!sink.pages)
		return -ENOMEM;
	ret = edu_read_and_clear(r->ev, r->iova, end, &sink);
	if (ret)
		goto out;
	cap = (size_t)sink.npages * 20 + 16;
	r->text = kvmalloc(cap, GFP_KERNEL);
	if (!r->text) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < sink.npages; i++)
		n += scnprintf(r->text + n, cap - n, "0x%llx\n", sink.pages[i]);
	if (sink.truncated)
		n += scnprintf(r->text + n, cap - n, "truncated\n");
	r->len = n;
out:
	kvfree(sink.pages);
	return ret;
}

static ssize_t edu_dbg_read(struct file *filp, char __user *ubuf, size_t count, loff_t *ppos)
{
	struct edu_dbg_report *r = filp->private_data;
	int ret;

	if (!r->text) {
		ret = edu_dbg_render(r);
		if (ret)
			return ret;
	}
	return simple_read_from_buffer(ubuf, count, ppos, r->text, r->len);
}

static const struct file_operations edu_dbg_report_fops = {
	.owner = THIS_MODULE,
	.open = edu_dbg_open,
	.release = edu_dbg_release,
	.read = edu_dbg_read,
	.write = edu_dbg_write,
};

/* ---- debugfs: the driver's migration counters ---- */

static u64 edu_stop_copy_size(const struct edu_vdev *ev);

static const char *const edu_state_names[] = {
	[VFIO_DEVICE_STATE_ERROR] = "ERROR",
	[VFIO_DEVICE_STATE_STOP] = "STOP",
	[VFIO_DEVICE_STATE_RUNNING] = "RUNNING",
	[VFIO_DEVICE_STATE_STOP_COPY] = "STOP_COPY",
	[VFIO_DEVICE_STATE_RESUMING] = "RESUMING",
	[VFIO_DEVICE_STATE_RUNNING_P2P] = "RUNNING_P2P",
#ifdef VFIO_MIGRATION_PRE_COPY
	[VFIO_DEVICE_STATE_PRE_COPY] = "PRE_COPY",
	[VFIO_DEVICE_STATE_PRE_COPY_P2P] = "PRE_COPY_P2P",
#endif
};

static const char *edu_state_name(unsigned int s)
{
	return s < ARRAY_SIZE(edu_state_names) && edu_state_names[s] ? edu_state_names[s] : "?";
}

/*
 * <debugfs>/edu-vfio-pci/<BDF>/migration: one "key value..." per line (tests/kmod/README.md),
 * the counters first, then every event in order with its CLOCK_REALTIME time.
 */
static int edu_dbg_mig_show(struct seq_file *m, void *unused)
{
	struct edu_vdev *ev = m->private;
	struct edu_stats *st = &ev->stats;
	u32 i;

	mutex_lock(&ev->state_mutex);
	seq_printf(m, "state_size %llu\npages %u\nseed %u\ndirty_per_dma %u\n", ev->st_size,
		   ev->st_npages, ev->seed, dirty_per_dma);
	seq_printf(m, "migration_flags 0x%x\ndevice_state %s\nstop_copy_size %llu\n",
		   ev->core_device.vdev.migration_flags, edu_state_name(ev->mig_state),
		   edu_stop_copy_size(ev));
	seq_printf(m, "dma_commands %llu\npages_dirtied %llu\narcs %llu\n", st->dma_commands,
		   st->pages_dirtied, st->arcs);
	seq_printf(m, "bytes_read PRE_COPY %llu\nbytes_read STOP_COPY %llu\n", st->bytes_pre_copy,
		   st->bytes_stop_copy);
	seq_printf(m, "bytes_written RESUMING %llu\nenomsg_reads %llu\n", st->bytes_resuming,
		   st->enomsg_reads);
	seq_printf(m, "log_reports %llu\nlog_dirty_pages %llu\nlogging %d\n", st->log_reports,
		   st->log_dirty_pages, ev->logging);
	seq_printf(m, "resume_ok %llu\nresume_errors %llu\nresume_result %s\n", st->resume_ok,
		   st->resume_errors, st->resume_result);
	seq_printf(m, "events %u\nevents_lost %llu\n", st->nevents, st->lost_events);
	for (i = 0; i < st->nevents; i++) {
		const struct edu_event *e = &st->events[i];
		u64 sec = div_u64(e->ns, NSEC_PER_SEC);
		u32 ns = e->ns - sec * NSEC_PER_SEC;

		seq_printf(m, "event %llu.%09u ", sec, ns);
		switch (e->kind) {
		case EDU_EV_SET_STATE:
			seq_printf(m, "set_state %s %s %d\n", edu_state_name(e->from),
				   edu_state_name(e->to), e->ret);
			break;
		case EDU_EV_ARC:
			seq_printf(m, "arc %s %s\n", edu_state_name(e->from),
				   edu_state_name(e->to));
			break;
		case EDU_EV_PRECOPY_INFO:
			seq_printf(m, "precopy_info %llu %llu %d\n", e->a, e->b, e->ret);
			break;
		case EDU_EV_DATA_SIZE:
			seq_printf(m, "data_size %llu\n", e->a);
			break;
		case EDU_EV_REPORT:
			seq_printf(m, "report 0x%llx 0x%llx %llu\n", e->a, e->b, e->c);
			break;
		}
	}
	mutex_unlock(&ev->state_mutex);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(edu_dbg_mig);

/* ---- BAR0 trapping ---- */

static void edu_dirty_device(struct edu_vdev *ev);

/* A write to the DMA command register: record the transfer before edu can start it. */
static ssize_t edu_write_cmd(struct edu_vdev *ev, const char __user *buf, size_t count,
			     loff_t *ppos)
{
	ssize_t ret;
	u8 cmd;

	if (copy_from_user(&cmd, buf, 1))
		return -EFAULT;

	mutex_lock(&ev->state_mutex);
	/* edu drops writes to 0x80-0x98 while RUN is set, and ignores commands without RUN. */
	if ((cmd & (EDU_DMA_RUN | EDU_DMA_TO_RAM)) == (EDU_DMA_RUN | EDU_DMA_TO_RAM) &&
	    edu_mem_enabled(ev) && !(readq(ev->bar0 + EDU_REG_DMA_CMD) & EDU_DMA_RUN)) {
		edu_dirty_all_landed(ev);
		edu_log_dma(ev, readq(ev->bar0 + EDU_REG_DMA_DST) & dma_mask,
			    readq(ev->bar0 + EDU_REG_DMA_CNT), true);
		edu_dirty_device(ev);
	}
	ret = vfio_pci_core_write(&ev->core_device.vdev, buf, count, ppos);
	mutex_unlock(&ev->state_mutex);
	return ret;
}

static ssize_t edu_write(struct vfio_device *vdev, const char __user *buf, size_t count,
			 loff_t *ppos)
{
	struct edu_vdev *ev = to_edu(vdev);
	unsigned int index = VFIO_PCI_OFFSET_TO_INDEX(*ppos);
	u64 off = *ppos & VFIO_PCI_OFFSET_MASK;
	loff_t start = *ppos, pos;
	ssize_t head = 0, ret;

	if (index != VFIO_PCI_BAR0_REGION_INDEX || off > EDU_REG_DMA_CMD ||
	    off + count <= EDU_REG_DMA_CMD)
		return vfio_pci_core_write(vdev, buf, count, ppos);

	/* Forward what precedes the command first: the command uses those registers. */
	if (off < EDU_REG_DMA_CMD) {
		pos = start;
		head = vfio_pci_core_write(vdev, buf, EDU_REG_DMA_CMD - off, &pos);
		if (head < 0 || head < EDU_REG_DMA_CMD - off)
			return head;
	}
	pos = start + head;
	ret = edu_write_cmd(ev, buf + head, count - head, &pos);
	if (ret < 0)
		return head ? head : ret;
	*ppos = start + head + ret;
	return head + ret;
}

static long edu_ioctl(struct vfio_device *vdev, unsigned int cmd, unsigned long arg)
{
	if (cmd == VFIO_DEVICE_IOEVENTFD) {
		struct vfio_device_ioeventfd ioeventfd;
		size_t minsz = offsetofend(struct vfio_device_ioeventfd, fd);

		if (copy_from_user(&ioeventfd, (void __user *)arg, minsz))
			return -EFAULT;
		/* An ioeventfd writes BAR0 from the kernel without calling edu_write(). */
		if (VFIO_PCI_OFFSET_TO_INDEX(ioeventfd.offset) == VFIO_PCI_BAR0_REGION_INDEX)
			return -EINVAL;
	}
	return vfio_pci_core_ioctl(vdev, cmd, arg);
}

/* ---- migration: the device's state ---- */

/*
 * The device state is the edu registers plus state_size bytes of "device memory" in 4 KiB
 * device pages. Page p at version v holds words derived from (seed, p, v) only, so the
 * destination checks every byte it is given without a copy of the source. An edu->RAM DMA
 * command bumps the version of dirty_per_dma pages (round robin): the device's state changes
 * with the work it does, which PRE_COPY then has to send again.
 */
static u64 edu_mix(u64 x)
{
	/* splitmix64's finaliser */
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static u64 edu_word(u32 seed, u32 page, u32 ver, u64 word)
{
	return edu_mix(((u64)seed << 32 | page) * 0x9e3779b97f4a7c15ULL + ((u64)ver << 20) + word);
}

/* The bytes [off, off + n) of page p at version ver. */
static void edu_fill(u8 *dst, u32 seed, u32 page, u32 ver, u64 off, size_t n)
{
	size_t i = 0;

	while (i < n && ((off + i) & 7))
		dst[i] = edu_word(seed, page, ver, (off + i) >> 3) >> (8 * ((off + i) & 7)), i++;
	for (; i + 8 <= n; i += 8)
		put_unaligned_le64(edu_word(seed, page, ver, (off + i) >> 3), dst + i);
	for (; i < n; i++)
		dst[i] = edu_word(seed, page, ver, (off + i) >> 3) >> (8 * ((off + i) & 7));
}

static u32 edu_page_len(const struct edu_vdev *ev, u32 page)
{
	return min_t(u64, EDU_DEV_PAGE, ev->st_size - (u64)page * EDU_DEV_PAGE);
}

static u64 edu_rec_size(const struct edu_vdev *ev, u32 page)
{
	return sizeof(struct edu_rec) + edu_page_len(ev, page);
}

/* An order-independent digest of every page's version, sent in END and checked on arrival. */
static u64 edu_versions_hash(const u32 *ver, u32 npages)
{
	u64 h = 0;
	u32 p;

	for (p = 0; p < npages; p++)
		h += edu_mix((u64)p << 32 | ver[p]);
	return h;
}

/* The device did work (an edu->RAM command): part of its state changed. */
static void edu_dirty_device(struct edu_vdev *ev)
{
	struct edu_migf *migf = ev->saving_migf;
	u32 i, p;

	ev->stats.dma_commands++;
	if (!ev->st_npages)
		return;
	for (i = 0; i < min(dirty_per_dma, ev->st_npages); i++) {
		p = ev->st_cursor++ % ev->st_npages;
		ev->st_ver[p]++;
		ev->stats.pages_dirtied++;
		/* A page not sent yet goes out at its newest version with the initial data. */
		if (migf && p < migf->init_next && !__test_and_set_bit(p, ev->st_dirty)) {
			migf->dirty_bytes += edu_rec_size(ev, p);
			ev->st_ndirty++;
		}
	}
}

/* What is left to read: the current record's tail, then what next_record() will produce. */
static u64 edu_initial_left(const struct edu_vdev *ev, const struct edu_migf *migf)
{
	u64 n = migf->begin_sent ? 0 : sizeof(struct edu_rec) + sizeof(struct edu_rec_begin);

	if (migf->init_next < ev->st_npages)
		n += (u64)(ev->st_npages - 1 - migf->init_next) *
			     (sizeof(struct edu_rec) + EDU_DEV_PAGE) +
		     edu_rec_size(ev, ev->st_npages - 1);
	if (migf->rec_kind == EDU_REC_INITIAL)
		n += migf->rec_len - migf->rec_pos;
	return n;
}

static u64 edu_dirty_left(const struct edu_migf *migf)
{
	return migf->dirty_bytes +
	       (migf->rec_kind == EDU_REC_DIRTY ? migf->rec_len - migf->rec_pos : 0);
}

static u64 edu_final_size(void)
{
	return 2 * sizeof(struct edu_rec) + sizeof(struct edu_mig_state) +
	       sizeof(struct edu_rec_end);
}

/*
 * MIG_DATA_SIZE: the bytes of a STOP_COPY: before it, what a stop now would read; during it,
 * what it read so far plus what is left (so the answer stays the size of the phase).
 */
static u64 edu_stop_copy_size(const struct edu_vdev *ev)
{
	const struct edu_migf *migf = ev->saving_migf;
	u64 n;

	if (!migf)
		return sizeof(struct edu_rec) + sizeof(struct edu_rec_begin) +
		       (u64)ev->st_npages * sizeof(struct edu_rec) + ev->st_size + edu_final_size();
	n = edu_initial_left(ev, migf) + edu_dirty_left(migf);
	if (migf->rec_kind == EDU_REC_FINAL)
		n += migf->rec_len - migf->rec_pos;
	if (!migf->regs_sent)
		n += sizeof(struct edu_rec) + sizeof(struct edu_mig_state);
	if (!migf->end_sent)
		n += sizeof(struct edu_rec) + sizeof(struct edu_rec_end);
	return n + migf->stop_copy_read;
}

static void edu_save_regs(struct edu_vdev *ev, struct edu_mig_state *st)
{
	memset(st, 0, sizeof(*st));
	st->magic = cpu_to_le32(EDU_MIG_MAGIC);
	st->version = cpu_to_le32(EDU_MIG_VERSION);
	if (!edu_mem_enabled(ev))
		return; /* BAR0 not decoded (e.g. before firmware ran): nothing to read */
	st->regs_valid = cpu_to_le32(1);
	st->liveness = cpu_to_le32(~readl(ev->bar0 + EDU_REG_LIVENESS));
	st->status = cpu_to_le32(readl(ev->bar0 + EDU_REG_STATUS));
	st->irq_status = cpu_to_le32(readl(ev->bar0 + EDU_REG_IRQ_STATUS));
	st->dma_src = cpu_to_le64(readq(ev->bar0 + EDU_REG_DMA_SRC));
	st->dma_dst = cpu_to_le64(readq(ev->bar0 + EDU_REG_DMA_DST));
	st->dma_cnt = cpu_to_le64(readq(ev->bar0 + EDU_REG_DMA_CNT));
}

static int edu_load_regs(struct edu_vdev *ev, const struct edu_mig_state *st)
{
	u32 irq;

	if (!le32_to_cpu(st->regs_valid))
		return 0;
	if (!edu_mem_enabled(ev))
		return -EIO;
	writel(le32_to_cpu(st->liveness), ev->bar0 + EDU_REG_LIVENESS);
	writel(le32_to_cpu(st->status) & EDU_STATUS_IRQFACT, ev->bar0 + EDU_REG_STATUS);
	/* 8-byte stores: the only way to set edu's upper address bits. */
	writeq(le64_to_cpu(st->dma_src), ev->bar0 + EDU_REG_DMA_SRC);
	writeq(le64_to_cpu(st->dma_dst), ev->bar0 + EDU_REG_DMA_DST);
	writeq(le64_to_cpu(st->dma_cnt), ev->bar0 + EDU_REG_DMA_CNT);
	irq = le32_to_cpu(st->irq_status);
	writel(~irq, ev->bar0 + EDU_REG_IRQ_ACK);
	if (irq)
		writel(irq, ev->bar0 + EDU_REG_IRQ_RAISE);
	return 0;
}

/* ---- migration: the data fd ---- */

static void edu_rec_put(struct edu_migf *migf, u16 type, u32 page, u32 ver, u64 len, int kind)
{
	struct edu_rec *r = (struct edu_rec *)migf->rec;

	r->magic = cpu_to_le32(EDU_MIG_MAGIC);
	r->type = cpu_to_le16(type);
	r->reserved = 0;
	r->page = cpu_to_le32(page);
	r->ver = cpu_to_le32(ver);
	r->len = cpu_to_le64(len);
	migf->rec_len = sizeof(*r) + len;
	migf->rec_pos = 0;
	migf->rec_kind = kind;
	migf->records++;
}

static void edu_rec_page(struct edu_vdev *ev, struct edu_migf *migf, u32 p, int kind)
{
	u32 len = edu_page_len(ev, p);

	edu_rec_put(migf, EDU_REC_PAGE, p, ev->st_ver[p], len, kind);
	edu_fill(migf->rec + sizeof(struct edu_rec), ev->seed, p, ev->st_ver[p], 0, len);
}

/* The next record of the stream: 0, -ENOMSG (nothing more for now: PRE_COPY), 1 at the end. */
static int edu_next_record(struct edu_vdev *ev, struct edu_migf *migf)
{
	u8 *pay = migf->rec + sizeof(struct edu_rec);
	u32 p;

	if (!migf->begin_sent) {
		struct edu_rec_begin b = { cpu_to_le32(EDU_MIG_VERSION), cpu_to_le32(ev->seed),
					   cpu_to_le64(ev->st_size) };

		edu_rec_put(migf, EDU_REC_BEGIN, 0, 0, sizeof(b), EDU_REC_INITIAL);
		memcpy(pay, &b, sizeof(b));
		migf->begin_sent = true;
		return 0;
	}
	if (migf->init_next < ev->st_npages) {
		p = migf->init_next++;
		if (__test_and_clear_bit(p, ev->st_dirty)) { /* cannot happen: kept for safety */
			migf->dirty_bytes -= edu_rec_size(ev, p);
			ev->st_ndirty--;
		}
		edu_rec_page(ev, migf, p, EDU_REC_INITIAL);
		return 0;
	}
	if (ev->st_ndirty) {
		p = find_first_bit(ev->st_dirty, ev->st_npages);
		__clear_bit(p, ev->st_dirty);
		ev->st_ndirty--;
		migf->dirty_bytes -= edu_rec_size(ev, p);
		edu_rec_page(ev, migf, p, EDU_REC_DIRTY);
		return 0;
	}
	if (ev->mig_state != VFIO_DEVICE_STATE_STOP_COPY)
		return -ENOMSG;
	if (!migf->regs_sent) {
		edu_rec_put(migf, EDU_REC_REGS, 0, 0, sizeof(struct edu_mig_state), EDU_REC_FINAL);
		edu_save_regs(ev, (struct edu_mig_state *)pay);
		migf->regs_sent = true;
		return 0;
	}
	if (!migf->end_sent) {
		struct edu_rec_end e = { cpu_to_le64(edu_versions_hash(ev->st_ver, ev->st_npages)),
					 cpu_to_le64(migf->records) };

		edu_rec_put(migf, EDU_REC_END, 0, 0, sizeof(e), EDU_REC_FINAL);
		memcpy(pay, &e, sizeof(e));
		migf->end_sent = true;
		return 0;
	}
	return 1;
}

static ssize_t edu_save_read(struct file *filp, char __user *buf, size_t len, loff_t *pos)
{
	struct edu_migf *migf = filp->private_data;
	struct edu_vdev *ev = migf->ev;
	ssize_t done = 0;
	int ret = 0;

	if (pos)
		return -ESPIPE;
	mutex_lock(&ev->state_mutex);
	if (migf->disabled) {
		ret = -ENODEV;
		goto out;
	}
	while (len) {
		size_t n;

		if (migf->rec_pos == migf->rec_len) {
			ret = edu_next_record(ev, migf);
			if (ret) {
				if (ret == -ENOMSG)
					ev->stats.enomsg_reads += !done;
				break;
			}
		}
		n = min(len, migf->rec_len - migf->rec_pos);
		if (copy_to_user(buf, migf->rec + migf->rec_pos, n)) {
			ret = -EFAULT;
			break;
		}
		migf->rec_pos += n;
		done += n;
		buf += n;
		len -= n;
		if (ev->mig_state == VFIO_DEVICE_STATE_STOP_COPY) {
			ev->stats.bytes_stop_copy += n;
			migf->stop_copy_read += n;
		} else {
			ev->stats.bytes_pre_copy += n;
		}
		if (!(done % SZ_1M))
			cond_resched();
	}
out:
	/* the stream position, in the file as upstream variant drivers keep it (mlx5, hisi_acc,
	 * pds, qat): what a tracer that missed a call reads to count its bytes */
	filp->f_pos += done;
	mutex_unlock(&ev->state_mutex);
	if (done)
		return done;
	return ret < 0 ? ret : 0;
}

#ifdef VFIO_MIGRATION_PRE_COPY
static long edu_precopy_info(struct edu_vdev *ev, struct edu_migf *migf, unsigned long arg)
{
	size_t minsz = offsetofend(struct vfio_precopy_info, dirty_bytes);
	struct vfio_precopy_info info;
	int ret = 0;

	if (copy_from_user(&info, (void __user *)arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	mutex_lock(&ev->state_mutex);
	if (migf->disabled)
		ret = -ENODEV;
	/* uAPI: valid only in the PRE_COPY states */
	else if (ev->mig_state != VFIO_DEVICE_STATE_PRE_COPY)
		ret = -EINVAL;
	if (!ret) {
		info.initial_bytes = edu_initial_left(ev, migf);
		info.dirty_bytes = edu_dirty_left(migf);
		info.flags = 0;
	}
	edu_event(ev, EDU_EV_PRECOPY_INFO, 0, 0, ret, ret ? 0 : info.initial_bytes,
		  ret ? 0 : info.dirty_bytes, 0);
	mutex_unlock(&ev->state_mutex);
	if (ret)
		return ret;
	return copy_to_user((void __user *)arg, &info, minsz) ? -EFAULT : 0;
}
#endif

static long edu_save_ioctl(struct file *filp, unsigned int cmd, unsigned long arg)
{
#ifdef VFIO_MIGRATION_PRE_COPY
	struct edu_migf *migf = filp->private_data;

	if (cmd == VFIO_MIG_GET_PRECOPY_INFO)
		return edu_precopy_info(migf->ev, migf, arg);
#endif
	return -ENOTTY;
}

/* Refuse the stream: remember why (the first reason), count it once per session. */
static ssize_t edu_resume_fail(struct edu_vdev *ev, struct edu_migf *migf, const char *fmt, ...)
{
	va_list ap;

	if (!migf->error) {
		migf->error = -EINVAL;
		va_start(ap, fmt);
		vscnprintf(ev->stats.resume_result, sizeof(ev->stats.resume_result), fmt, ap);
		va_end(ap);
		ev->stats.resume_errors++;
		dev_warn(&ev->core_device.pdev->dev, "refusing migration data: %s\n",
			 ev->stats.resume_result);
	}
	return -EINVAL;
}

/* A record's header is complete: is it one this device can take here? */
static ssize_t edu_resume_header(struct edu_vdev *ev, struct edu_migf *migf)
{
	const struct edu_rec *r = &migf->hdr;
	u16 type = le16_to_cpu(r->type);
	u64 len = le64_to_cpu(r->len);
	u32 page = le32_to_cpu(r->page);

	if (le32_to_cpu(r->magic) != EDU_MIG_MAGIC)
		return edu_resume_fail(ev, migf, "record %llu at byte %llu: bad magic 0x%x",
				       migf->records, migf->stream_pos, le32_to_cpu(r->magic));
	if (migf->end_sent)
		return edu_resume_fail(ev, migf, "data after the end record");
	if (!migf->begin_sent && type != EDU_REC_BEGIN)
		return edu_resume_fail(ev, migf, "stream does not start with a begin record");
	switch (type) {
	case EDU_REC_BEGIN:
		if (migf->begin_sent || len != sizeof(struct edu_rec_begin))
			return edu_resume_fail(ev, migf, "unexpected begin record");
		break;
	case EDU_REC_PAGE:
		if (page >= ev->st_npages || len != edu_page_len(ev, page))
			return edu_resume_fail(ev, migf,
					       "page record %u of %llu bytes does not fit %u pages",
					       page, len, ev->st_npages);
		break;
	case EDU_REC_REGS:
		if (migf->regs_sent || len != sizeof(struct edu_mig_state))
			return edu_resume_fail(ev, migf, "unexpected register record");
		break;
	case EDU_REC_END:
		if (len != sizeof(struct edu_rec_end))
			return edu_resume_fail(ev, migf, "bad end record");
		break;
	default:
		return edu_resume_fail(ev, migf, "unknown record type %u", type);
	}
	migf->rec_len = len;
	migf->rec_pos = 0;
	return 0;
}

/* A record is complete. */
static ssize_t edu_resume_record(struct edu_vdev *ev, struct edu_migf *migf)
{
	const struct edu_rec *r = &migf->hdr;
	u32 page = le32_to_cpu(r->page);

	migf->records++;
	switch (le16_to_cpu(r->type)) {
	case EDU_REC_BEGIN: {
		const struct edu_rec_begin *b = (const void *)migf->rec;

		if (le32_to_cpu(b->version) != EDU_MIG_VERSION ||
		    le32_to_cpu(b->seed) != ev->seed || le64_to_cpu(b->state_size) != ev->st_size)
			return edu_resume_fail(
				ev, migf,
				"source state (version %u, seed %u, %llu bytes) is not this device's (version %u, seed %u, %llu bytes)",
				le32_to_cpu(b->version), le32_to_cpu(b->seed),
				le64_to_cpu(b->state_size), EDU_MIG_VERSION, ev->seed, ev->st_size);
		migf->begin_sent = true;
		break;
	}
	case EDU_REC_PAGE:
		if (!test_and_set_bit(page, migf->got))
			migf->got_pages++;
		migf->ver[page] = le32_to_cpu(r->ver);
		migf->verified += le64_to_cpu(r->len);
		break;
	case EDU_REC_REGS:
		memcpy(&migf->regs, migf->rec, sizeof(migf->regs));
		if (le32_to_cpu(migf->regs.magic) != EDU_MIG_MAGIC ||
		    le32_to_cpu(migf->regs.version) != EDU_MIG_VERSION)
			return edu_resume_fail(ev, migf, "bad register record");
		migf->regs_sent = true;
		break;
	case EDU_REC_END: {
		const struct edu_rec_end *e = (const void *)migf->rec;

		if (!migf->regs_sent || migf->got_pages != ev->st_npages)
			return edu_resume_fail(ev, migf, "end record after %u of %u pages%s",
					       migf->got_pages, ev->st_npages,
					       migf->regs_sent ? "" : " and no registers");
		if (le64_to_cpu(e->records) != migf->records - 1)
			return edu_resume_fail(ev, migf, "source sent %llu records, %llu arrived",
					       le64_to_cpu(e->records), migf->records - 1);
		if (le64_to_cpu(e->hash) != edu_versions_hash(migf->ver, ev->st_npages))
			return edu_resume_fail(ev, migf, "page versions differ from the source's");
		migf->end_sent = true;
		break;
	}
	}
	return 0;
}

/* Payload bytes of the current record: pages are checked byte for byte as they arrive. */
static ssize_t edu_resume_payload(struct edu_vdev *ev, struct edu_migf *migf, const u8 *src,
				  size_t n)
{
	const struct edu_rec *r = &migf->hdr;
	u32 page = le32_to_cpu(r->page), ver = le32_to_cpu(r->ver);
	u8 *want = migf->rec + EDU_DEV_PAGE;
	size_t i;

	if (le16_to_cpu(r->type) != EDU_REC_PAGE) {
		/* small records (<= 48 bytes) gather at the start of rec, whatever the splits */
		memcpy(migf->rec + migf->rec_pos, src, n);
		return 0;
	}
	edu_fill(want, ev->seed, page, ver, migf->rec_pos, n);
	if (!memcmp(want, src, n))
		return 0;
	for (i = 0; i < n && want[i] == src[i]; i++)
		;
	return edu_resume_fail(ev, migf, "page %u version %u: byte %llu is 0x%02x, not 0x%02x",
			       page, ver, migf->rec_pos + i, src[i], want[i]);
}

static ssize_t edu_resume_write(struct file *filp, const char __user *buf, size_t len, loff_t *pos)
{
	struct edu_migf *migf = filp->private_data;
	struct edu_vdev *ev = migf->ev;
	size_t done = 0;
	ssize_t ret = 0;

	if (pos)
		return -ESPIPE;
	mutex_lock(&ev->state_mutex);
	if (migf->disabled) {
		ret = -ENODEV;
		goto out;
	}
	if (migf->error) {
		ret = migf->error;
		goto out;
	}
	while (done < len) {
		u8 *chunk = migf->rec; /* bounce: rec holds at most one page of input at a time */
		size_t n;

		if (migf->hdr_have < sizeof(migf->hdr)) {
			n = min(len - done, sizeof(migf->hdr) - migf->hdr_have);
			if (copy_from_user((u8 *)&migf->hdr + migf->hdr_have, buf + done, n)) {
				ret = -EFAULT;
				break;
			}
			migf->hdr_have += n;
			if (migf->hdr_have == sizeof(migf->hdr)) {
				ret = edu_resume_header(ev, migf);
				if (ret)
					break;
			}
		} else {
			n = min3(len - done, (size_t)(migf->rec_len - migf->rec_pos),
				 (size_t)EDU_DEV_PAGE);
			if (le16_to_cpu(migf->hdr.type) == EDU_REC_PAGE)
				chunk = migf->rec + 2 * EDU_DEV_PAGE;
			else
				chunk = migf->rec + EDU_DEV_PAGE * 3;
			if (copy_from_user(chunk, buf + done, n)) {
				ret = -EFAULT;
				break;
			}
			ret = edu_resume_payload(ev, migf, chunk, n);
			if (ret)
				break;
			migf->rec_pos += n;
		}
		done += n;
		migf->stream_pos += n;
		ev->stats.bytes_resuming += n;
		if (migf->hdr_have == sizeof(migf->hdr) && migf->rec_pos == migf->rec_len) {
			ret = edu_resume_record(ev, migf);
			if (ret)
				break;
			migf->hdr_have = 0;
			migf->rec_len = migf->rec_pos = 0;
		}
		if (!(done % SZ_1M))
			cond_resched();
	}
out:
	filp->f_pos += done;
	mutex_unlock(&ev->state_mutex);
	if (ret && !done)
		return ret;
	/* a refused stream fails the write that carried the bad byte */
	return migf->error ? migf->error : (ssize_t)done;
}

static int edu_migf_release(struct inode *inode, struct file *filp)
{
	struct edu_migf *migf = filp->private_data;

	put_device(&migf->ev->core_device.vdev.device);
	kvfree(migf->ver);
	bitmap_free(migf->got);
	kvfree(migf->rec);
	kfree(migf);
	return 0;
}

static const struct file_operations edu_save_fops = {
	.owner = THIS_MODULE,
	.read = edu_save_read,
	.unlocked_ioctl = edu_save_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.release = edu_migf_release,
};

static const struct file_operations edu_resume_fops = {
	.owner = THIS_MODULE,
	.write = edu_resume_write,
	.release = edu_migf_release,
};

static struct edu_migf *edu_migf_new(struct edu_vdev *ev, const struct file_operations *fops,
				     int flags)
{
	struct edu_migf *migf = kzalloc(sizeof(*migf), GFP_KERNEL_ACCOUNT);
	struct file *filp;

	if (!migf)
		return ERR_PTR(-ENOMEM);
	migf->ev = ev;
	/* one record (a page and its header) plus bounce space for the destination's checks */
	migf->rec = kvzalloc(4 * EDU_DEV_PAGE, GFP_KERNEL_ACCOUNT);
	if (!migf->rec)
		goto nomem;
	if (fops == &edu_resume_fops && ev->st_npages) {
		migf->ver = kvcalloc(ev->st_npages, sizeof(u32), GFP_KERNEL_ACCOUNT);
		migf->got = bitmap_zalloc(ev->st_npages, GFP_KERNEL_ACCOUNT);
		if (!migf->ver || !migf->got)
			goto nomem;
	}
	filp = anon_inode_getfile("edu_vfio_pci_mig", fops, migf, flags);
	if (IS_ERR(filp)) {
		kvfree(migf->ver);
		bitmap_free(migf->got);
		kvfree(migf->rec);
		kfree(migf);
		return ERR_CAST(filp);
	}
	migf->filp = filp;
	/* The file may outlive the device's fd: keep the device (and ev) until it is released. */
	get_device(&ev->core_device.vdev.device);
	stream_open(filp->f_inode, filp);
	/* One reference for the core (installed as data_fd), one kept until the arc leaves. */
	get_file(filp);
	return migf;
nomem:
	kvfree(migf->ver);
	bitmap_free(migf->got);
	kvfree(migf->rec);
	kfree(migf);
	return ERR_PTR(-ENOMEM);
}

/* Called with state_mutex held: every data fd operation takes it, so this fences them. */
static void edu_migf_disable(struct edu_vdev *ev, struct edu_migf **pmigf)
{
	struct edu_migf *migf = *pmigf;

	if (!migf)
		return;
	migf->disabled = true;
	if (migf == ev->saving_migf) {
		bitmap_zero(ev->st_dirty, ev->st_npages);
		ev->st_ndirty = 0;
	}
	fput(migf->filp);
	*pmigf = NULL;
}

static void edu_wait_dma_idle(struct edu_vdev *ev)
{
	int i;

	/* A STOPped device must not DMA any more: let the last copy land (~100 ms). */
	for (i = 0; i < 100 && edu_dma_running(ev); i++)
		msleep(10);
}

static struct file *edu_start_saving(struct edu_vdev *ev)
{
	struct edu_migf *migf = edu_migf_new(ev, &edu_save_fops, O_RDONLY);

	if (IS_ERR(migf))
		return ERR_CAST(migf);
	ev->saving_migf = migf;
	return migf->filp;
}

/* RESUMING -> STOP: take the state only if every byte of it arrived and checked out. */
static int edu_finish_resuming(struct edu_vdev *ev)
{
	struct edu_migf *migf = ev->resuming_migf;
	int ret;

	if (migf->error)
		return migf->error;
	if (!migf->end_sent)
		return edu_resume_fail(ev, migf,
				       "short state: %llu bytes, %u of %u pages, no end record",
				       migf->stream_pos, migf->got_pages, ev->st_npages);
	ret = edu_load_regs(ev, &migf->regs);
	if (ret) {
		edu_resume_fail(ev, migf, "cannot load edu's registers (memory decoding off)");
		return ret;
	}
	if (ev->st_npages)
		memcpy(ev->st_ver, migf->ver, ev->st_npages * sizeof(u32));
	ev->stats.resume_ok++;
	scnprintf(
		ev->stats.resume_result, sizeof(ev->stats.resume_result),
		"ok: %u pages (%llu bytes) at their last version; %llu page bytes and %llu stream bytes checked",
		migf->got_pages, ev->st_size, migf->verified, migf->stream_pos);
	return 0;
}

static struct file *edu_step_state(struct edu_vdev *ev, enum vfio_device_mig_state new)
{
	enum vfio_device_mig_state cur = ev->mig_state;
	struct edu_migf *migf;
	int ret;

	if (cur == VFIO_DEVICE_STATE_RUNNING && new == VFIO_DEVICE_STATE_STOP) {
		edu_wait_dma_idle(ev);
		return NULL;
	}
	if (cur == VFIO_DEVICE_STATE_STOP && new == VFIO_DEVICE_STATE_RUNNING)
		return NULL;
	if (cur == VFIO_DEVICE_STATE_STOP && new == VFIO_DEVICE_STATE_STOP_COPY)
		return edu_start_saving(ev);
	if (cur == VFIO_DEVICE_STATE_STOP_COPY && new == VFIO_DEVICE_STATE_STOP) {
		edu_migf_disable(ev, &ev->saving_migf);
		return NULL;
	}
#ifdef VFIO_MIGRATION_PRE_COPY
	if (cur == VFIO_DEVICE_STATE_RUNNING && new == VFIO_DEVICE_STATE_PRE_COPY)
		return edu_start_saving(ev);
	if (cur == VFIO_DEVICE_STATE_PRE_COPY && new == VFIO_DEVICE_STATE_RUNNING) {
		edu_migf_disable(ev, &ev->saving_migf);
		return NULL;
	}
	if (cur == VFIO_DEVICE_STATE_PRE_COPY && new == VFIO_DEVICE_STATE_STOP_COPY) {
		/* the same data fd goes on with the rest of the state (uAPI "saving group") */
		edu_wait_dma_idle(ev);
		return NULL;
	}
#endif
	if (cur == VFIO_DEVICE_STATE_STOP && new == VFIO_DEVICE_STATE_RESUMING) {
		migf = edu_migf_new(ev, &edu_resume_fops, O_WRONLY);
		if (IS_ERR(migf))
			return ERR_CAST(migf);
		ev->resuming_migf = migf;
		return migf->filp;
	}
	if (cur == VFIO_DEVICE_STATE_RESUMING && new == VFIO_DEVICE_STATE_STOP) {
		ret = edu_finish_resuming(ev);
		edu_migf_disable(ev, &ev->resuming_migf);
		if (ret) {
			/* Half-loaded registers: only a reset or a reopen recovers. */
			ev->mig_state = VFIO_DEVICE_STATE_ERROR;
			return ERR_PTR(ret);
		}
		return NULL;
	}
	/* vfio_mig_get_next_state() only hands us the arcs above. */
	WARN_ON_ONCE(1);
	return ERR_PTR(-EINVAL);
}

static struct file *edu_set_state(struct vfio_device *vdev, enum vfio_device_mig_state new)
{
	struct edu_vdev *ev = to_edu(vdev);
	enum vfio_device_mig_state from, next;
	struct file *res = NULL;
	int ret;

	mutex_lock(&ev->state_mutex);
	from = ev->mig_state;
	while (ev->mig_state != new) {
		ret = vfio_mig_get_next_state(vdev, ev->mig_state, new, &next);
		if (ret) {
			res = ERR_PTR(ret);
			break;
		}
		res = edu_step_state(ev, next);
		if (IS_ERR(res))
			break;
		edu_event(ev, EDU_EV_ARC, ev->mig_state, next, 0, 0, 0, 0);
		ev->stats.arcs++;
		ev->mig_state = next;
		if (WARN_ON(res && new != ev->mig_state)) {
			fput(res);
			res = ERR_PTR(-EINVAL);
			break;
		}
	}
	edu_event(ev, EDU_EV_SET_STATE, from, new, IS_ERR(res) ? PTR_ERR(res) : 0, 0, 0, 0);
	mutex_unlock(&ev->state_mutex);
	return res;
}

static int edu_get_state(struct vfio_device *vdev, enum vfio_device_mig_state *state)
{
	struct edu_vdev *ev = to_edu(vdev);

	mutex_lock(&ev->state_mutex);
	*state = ev->mig_state;
	mutex_unlock(&ev->state_mutex);
	return 0;
}

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
/* Mandatory from the kernel that added VFIO_DEVICE_FEATURE_MIG_DATA_SIZE (absent in 6.1). */
static int edu_get_data_size(struct vfio_device *vdev, unsigned long *stop_copy_length)
{
	struct edu_vdev *ev = to_edu(vdev);

	mutex_lock(&ev->state_mutex);
	*stop_copy_length = edu_stop_copy_size(ev);
	edu_event(ev, EDU_EV_DATA_SIZE, 0, 0, 0, *stop_copy_length, 0, 0);
	mutex_unlock(&ev->state_mutex);
	return 0;
}
#endif

static const struct vfio_migration_ops edu_mig_ops = {
	.migration_set_state = edu_set_state,
	.migration_get_state = edu_get_state,
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
	.migration_get_data_size = edu_get_data_size,
#endif
};

/* ---- vfio device ---- */

static void edu_state_free(struct edu_vdev *ev)
{
	kvfree(ev->st_ver);
	ev->st_ver = NULL;
	bitmap_free(ev->st_dirty);
	ev->st_dirty = NULL;
	/* st_size and st_npages stay: the counters describe the last user's device */
}

static int edu_init_dev(struct vfio_device *vdev)
{
	struct edu_vdev *ev = to_edu(vdev);
	int ret;

	ret = vfio_pci_core_init_dev(vdev);
	if (ret)
		return ret;
	mutex_init(&ev->state_mutex);
	ev->stats.events = kvcalloc(EDU_MAX_EVENTS, sizeof(struct edu_event), GFP_KERNEL);
	strscpy(ev->stats.resume_result, "none", sizeof(ev->stats.resume_result));
	/* Static properties: set before registration. */
	vdev->migration_flags = VFIO_MIGRATION_STOP_COPY;
#ifdef VFIO_MIGRATION_PRE_COPY
	if (precopy)
		vdev->migration_flags |= VFIO_MIGRATION_PRE_COPY;
#endif
	vdev->mig_ops = &edu_mig_ops;
	vdev->log_ops = &edu_log_ops;
	return 0;
}

static void edu_release_dev(struct vfio_device *vdev)
{
	struct edu_vdev *ev = to_edu(vdev);

	kvfree(ev->stats.events);
	mutex_destroy(&ev->state_mutex);
	vfio_pci_core_release_dev(vdev);
}

/*
 * A new user gets a device with fresh memory (state_size and seed as set now) and fresh
 * counters; the counters stay readable after close, for tests that compare them with QEMU.
 */
static int edu_state_alloc(struct edu_vdev *ev)
{
	struct edu_event *events = ev->stats.events;
	u64 size = state_size;

	if (size > EDU_MAX_STATE) {
		dev_warn(&ev->core_device.pdev->dev, "state_size %llu exceeds %llu bytes\n", size,
			 EDU_MAX_STATE);
		return -EINVAL;
	}
	mutex_lock(&ev->state_mutex);
	memset(&ev->stats, 0, sizeof(ev->stats));
	ev->stats.events = events;
	strscpy(ev->stats.resume_result, "none", sizeof(ev->stats.resume_result));
	ev->st_size = size;
	ev->st_npages = DIV_ROUND_UP(size, EDU_DEV_PAGE);
	ev->seed = seed;
	ev->st_cursor = 0;
	ev->st_ndirty = 0;
	if (ev->st_npages) {
		ev->st_ver = kvcalloc(ev->st_npages, sizeof(u32), GFP_KERNEL_ACCOUNT);
		ev->st_dirty = bitmap_zalloc(ev->st_npages, GFP_KERNEL_ACCOUNT);
	}
	mutex_unlock(&ev->state_mutex);
	if (ev->st_npages && (!ev->st_ver || !ev->st_dirty)) {
		edu_state_free(ev);
		return -ENOMEM;
	}
	return 0;
}

static int edu_open_device(struct vfio_device *vdev)
{
	struct edu_vdev *ev = to_edu(vdev);
	struct vfio_pci_core_device *cdev = &ev->core_device;
	int ret;

	ret = vfio_pci_core_enable(cdev);
	if (ret)
		return ret;
	ev->bar0 = pci_ioremap_bar(cdev->pdev, 0);
	if (!ev->bar0) {
		vfio_pci_core_disable(cdev);
		return -ENOMEM;
	}
	ret = edu_state_alloc(ev);
	if (ret) {
		iounmap(ev->bar0);
		ev->bar0 = NULL;
		vfio_pci_core_disable(cdev);
		return ret;
	}
	ev->mig_state = VFIO_DEVICE_STATE_RUNNING;
	vfio_pci_core_finish_enable(cdev);
	/* finish_enable probed mmap support: take BAR0's away so every write traps. */
	cdev->bar_mmap_supported[0] = false;
	return 0;
}

static void edu_close_device(struct vfio_device *vdev)
{
	struct edu_vdev *ev = to_edu(vdev);

	mutex_lock(&ev->state_mutex);
	edu_migf_disable(ev, &ev->saving_migf);
	edu_migf_disable(ev, &ev->resuming_migf);
	edu_log_free(ev);
	edu_state_free(ev);
	iounmap(ev->bar0);
	ev->bar0 = NULL;
	mutex_unlock(&ev->state_mutex);
	vfio_pci_core_close_device(vdev);
}

static const struct vfio_device_ops edu_vfio_ops = {
	.name = "edu-vfio-pci",
	.init = edu_init_dev,
	.release = edu_release_dev,
	.open_device = edu_open_device,
	.close_device = edu_close_device,
	.ioctl = edu_ioctl,
	.device_feature = vfio_pci_core_ioctl_feature,
	.read = vfio_pci_core_read,
	.write = edu_write,
	.mmap = vfio_pci_core_mmap,
	.request = vfio_pci_core_request,
	.match = vfio_pci_core_match,
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
	/* NULL macros when CONFIG_IOMMUFD=n (Debian 6.12); required when it is set. */
	.bind_iommufd = vfio_iommufd_physical_bind,
	.unbind_iommufd = vfio_iommufd_physical_unbind,
	.attach_ioas = vfio_iommufd_physical_attach_ioas,
	.detach_ioas = vfio_iommufd_physical_detach_ioas,
#endif
};

static int edu_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct edu_vdev *ev;
	int ret;

	ev = vfio_alloc_device(edu_vdev, core_device.vdev, &pdev->dev, &edu_vfio_ops);
	if (IS_ERR(ev))
		return PTR_ERR(ev);
	dev_set_drvdata(&pdev->dev, &ev->core_device);
	ret = vfio_pci_core_register_device(&ev->core_device);
	if (ret) {
		vfio_put_device(&ev->core_device.vdev);
		return ret;
	}
	/* debugfs failures are deliberately ignored (debugfs.h) */
	ev->dbg_dir = debugfs_create_dir(pci_name(pdev), edu_dbg_root);
	debugfs_create_file("report", 0600, ev->dbg_dir, ev, &edu_dbg_report_fops);
	debugfs_create_file("migration", 0400, ev->dbg_dir, ev, &edu_dbg_mig_fops);
	return 0;
}

static void edu_remove(struct pci_dev *pdev)
{
	struct vfio_pci_core_device *cdev = dev_get_drvdata(&pdev->dev);

	debugfs_remove_recursive(container_of(cdev, struct edu_vdev, core_device)->dbg_dir);
	vfio_pci_core_unregister_device(cdev);
	vfio_put_device(&cdev->vdev);
}

static const struct pci_device_id edu_pci_table[] = {
	{ PCI_DRIVER_OVERRIDE_DEVICE_VFIO(0x1234, 0x11e8) }, {}
};
MODULE_DEVICE_TABLE(pci, edu_pci_table);

static struct pci_driver edu_pci_driver = {
	.name = "edu-vfio-pci",
	.id_table = edu_pci_table,
	.probe = edu_probe,
	.remove = edu_remove,
	.err_handler = &vfio_pci_core_err_handlers,
	.driver_managed_dma = true,
};
static int __init edu_init(void)
{
	int ret;

	edu_dbg_root = debugfs_create_dir("edu-vfio-pci", NULL);
	ret = pci_register_driver(&edu_pci_driver);
	if (ret)
		debugfs_remove_recursive(edu_dbg_root);
	return ret;
}

static void __exit edu_exit(void)
{
	pci_unregister_driver(&edu_pci_driver);
	debugfs_remove_recursive(edu_dbg_root);
}

module_init(edu_init);
module_exit(edu_exit);

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 7, 0) && IS_ENABLED(CONFIG_IOMMUFD_DRIVER)
/* iova_bitmap moved to iommufd and its IOMMUFD namespace in 6.7. */
MODULE_IMPORT_NS(IOMMUFD);
#endif
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("vfio-pci variant driver for QEMU edu with DMA logging and migration");
