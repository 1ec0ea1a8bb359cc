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
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/version.h>
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
#define EDU_MIG_VERSION 1

static unsigned long dma_mask = (1UL << 28) - 1;
module_param(dma_mask, ulong, 0444);
MODULE_PARM_DESC(dma_mask, "edu's dma_mask property (QEMU default 0xfffffff)");

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

struct edu_migf {
	struct file *filp;
	struct mutex lock;
	bool disabled;
	size_t pos;
	size_t len;
	struct edu_mig_state state;
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
};

static struct edu_vdev *to_edu(struct vfio_device *vdev)
{
	return container_of(vdev, struct edu_vdev, core_device.vdev);
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
struct edu_sink {
	struct iova_bitmap *bitmap;
	u64 *pages;
	u32 npages;
	u32 max_pages;
	bool truncated;
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
	if (ev->overflow) {
		edu_report_overflow(ev, w0, w1, sink);
		mutex_unlock(&ev->state_mutex);
		return 0;
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
	mutex_unlock(&ev->state_mutex);
	return 0;
}

static int edu_log_read_and_clear(struct vfio_device *vdev, unsigned long iova,
				  unsigned long length, struct iova_bitmap *dirty)
{
	struct edu_sink sink = { .bitmap = dirty };

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

/* ---- BAR0 trapping ---- */

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

/* ---- migration ---- */

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

	if (le32_to_cpu(st->magic) != EDU_MIG_MAGIC || le32_to_cpu(st->version) != EDU_MIG_VERSION)
		return -EINVAL;
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

static int edu_migf_release(struct inode *inode, struct file *filp)
{
	struct edu_migf *migf = filp->private_data;

	mutex_destroy(&migf->lock);
	kfree(migf);
	return 0;
}

static ssize_t edu_save_read(struct file *filp, char __user *buf, size_t len, loff_t *pos)
{
	struct edu_migf *migf = filp->private_data;
	ssize_t ret;

	if (pos)
		return -ESPIPE;
	mutex_lock(&migf->lock);
	if (migf->disabled) {
		ret = -ENODEV;
		goto out;
	}
	len = min(len, migf->len - migf->pos);
	if (copy_to_user(buf, (u8 *)&migf->state + migf->pos, len)) {
		ret = -EFAULT;
		goto out;
	}
	migf->pos += len;
	ret = len;
out:
	mutex_unlock(&migf->lock);
	return ret;
}

static ssize_t edu_resume_write(struct file *filp, const char __user *buf, size_t len, loff_t *pos)
{
	struct edu_migf *migf = filp->private_data;
	ssize_t ret;

	if (pos)
		return -ESPIPE;
	mutex_lock(&migf->lock);
	if (migf->disabled) {
		ret = -ENODEV;
		goto out;
	}
	if (len > sizeof(migf->state) - migf->pos) {
		ret = -ENOSPC;
		goto out;
	}
	if (copy_from_user((u8 *)&migf->state + migf->pos, buf, len)) {
		ret = -EFAULT;
		goto out;
	}
	migf->pos += len;
	migf->len = migf->pos;
	ret = len;
out:
	mutex_unlock(&migf->lock);
	return ret;
}

static const struct file_operations edu_save_fops = {
	.owner = THIS_MODULE,
	.read = edu_save_read,
	.release = edu_migf_release,
};

static const struct file_operations edu_resume_fops = {
	.owner = THIS_MODULE,
	.write = edu_resume_write,
	.release = edu_migf_release,
};

static struct edu_migf *edu_migf_new(const struct file_operations *fops, int flags)
{
	struct edu_migf *migf = kzalloc(sizeof(*migf), GFP_KERNEL_ACCOUNT);

	if (!migf)
		return ERR_PTR(-ENOMEM);
	mutex_init(&migf->lock);
	migf->filp = anon_inode_getfile("edu_vfio_pci_mig", fops, migf, flags);
	if (IS_ERR(migf->filp)) {
		struct file *err = migf->filp;

		mutex_destroy(&migf->lock);
		kfree(migf);
		return ERR_CAST(err);
	}
	stream_open(migf->filp->f_inode, migf->filp);
	/* One reference for the core (installed as data_fd), one kept until the arc leaves. */
	get_file(migf->filp);
	return migf;
}

static void edu_migf_disable(struct edu_migf **pmigf)
{
	struct edu_migf *migf = *pmigf;

	if (!migf)
		return;
	mutex_lock(&migf->lock);
	migf->disabled = true;
	mutex_unlock(&migf->lock);
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
	if (cur == VFIO_DEVICE_STATE_STOP && new == VFIO_DEVICE_STATE_STOP_COPY) {
		migf = edu_migf_new(&edu_save_fops, O_RDONLY);
		if (IS_ERR(migf))
			return ERR_CAST(migf);
		edu_save_regs(ev, &migf->state);
		migf->len = sizeof(migf->state);
		ev->saving_migf = migf;
		return migf->filp;
	}
	if (cur == VFIO_DEVICE_STATE_STOP_COPY && new == VFIO_DEVICE_STATE_STOP) {
		edu_migf_disable(&ev->saving_migf);
		return NULL;
	}
	if (cur == VFIO_DEVICE_STATE_STOP && new == VFIO_DEVICE_STATE_RESUMING) {
		migf = edu_migf_new(&edu_resume_fops, O_WRONLY);
		if (IS_ERR(migf))
			return ERR_CAST(migf);
		ev->resuming_migf = migf;
		return migf->filp;
	}
	if (cur == VFIO_DEVICE_STATE_RESUMING && new == VFIO_DEVICE_STATE_STOP) {
		migf = ev->resuming_migf;
		mutex_lock(&migf->lock);
		ret = migf->len == sizeof(migf->state) ? edu_load_regs(ev, &migf->state) : -EINVAL;
		mutex_unlock(&migf->lock);
		edu_migf_disable(&ev->resuming_migf);
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
	enum vfio_device_mig_state next;
	struct file *res = NULL;
	int ret;

	mutex_lock(&ev->state_mutex);
	while (ev->mig_state != new) {
		ret = vfio_mig_get_next_state(vdev, ev->mig_state, new, &next);
		if (ret) {
			res = ERR_PTR(ret);
			break;
		}
		res = edu_step_state(ev, next);
		if (IS_ERR(res))
			break;
		ev->mig_state = next;
		if (WARN_ON(res && new != ev->mig_state)) {
			fput(res);
			res = ERR_PTR(-EINVAL);
			break;
		}
	}
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
	*stop_copy_length = sizeof(struct edu_mig_state);
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

static int edu_init_dev(struct vfio_device *vdev)
{
	struct edu_vdev *ev = to_edu(vdev);
	int ret;

	ret = vfio_pci_core_init_dev(vdev);
	if (ret)
		return ret;
	mutex_init(&ev->state_mutex);
	/* Static properties: set before registration. */
	vdev->migration_flags = VFIO_MIGRATION_STOP_COPY;
	vdev->mig_ops = &edu_mig_ops;
	vdev->log_ops = &edu_log_ops;
	return 0;
}

static void edu_release_dev(struct vfio_device *vdev)
{
	struct edu_vdev *ev = to_edu(vdev);

	mutex_destroy(&ev->state_mutex);
	vfio_pci_core_release_dev(vdev);
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
	edu_migf_disable(&ev->saving_migf);
	edu_migf_disable(&ev->resuming_migf);
	edu_log_free(ev);
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
