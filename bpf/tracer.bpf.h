/* SPDX-License-Identifier: GPL-2.0 */
/* Small BPF-only helpers for tracer.bpf.c: string tests and CO-RE reads of file internals. */
#ifndef VFIOSCOPE_TRACER_BPF_H
#define VFIOSCOPE_TRACER_BPF_H

#define S_IFMT		    00170000
#define S_IFREG		    0100000
#define S_IFCHR		    0020000
#define ANON_INODE_FS_MAGIC 0x09041934

/* Compare @n bytes (no memcmp in BPF). str_is() includes the terminating NUL. */
static __always_inline bool str_eq(const char *s, const char *lit, int n)
{
	char diff = 0;

#pragma unroll
	for (int i = 0; i < n; i++)
		diff |= s[i] ^ lit[i];
	return diff == 0;
}

#define str_is(s, lit)	   str_eq((s), (lit), sizeof(lit))
#define str_starts(s, lit) str_eq((s), (lit), sizeof(lit) - 1)

/* Older kernels count file references in f_count (1 = the last one); 6.13+ use file_ref_t,
 * where a count of 0 means one reference (FILE_REF_ONEREF). */
struct file___fcount {
	atomic_long_t f_count;
} __attribute__((preserve_access_index));

/* The references to @f (1 = the last one). */
static __always_inline long file_refs(struct file *f)
{
	if (bpf_core_field_exists(struct file___fcount, f_count))
		return BPF_CORE_READ((struct file___fcount *)f, f_count.counter);
	return BPF_CORE_READ(f, f_ref.refcnt.counter) + 1;
}

static __always_inline bool file_last_ref(struct file *f)
{
	if (bpf_core_field_exists(struct file___fcount, f_count))
		return BPF_CORE_READ((struct file___fcount *)f, f_count.counter) == 1;
	return BPF_CORE_READ(f, f_ref.refcnt.counter) == 0;
}

/* fd -> struct file * of the current task, through current->files->fdt. The task pointer is
 * trusted BTF, so the walk is plain (CO-RE relocated) loads; only the array slot needs
 * bpf_probe_read_kernel (no variable offsets into BTF pointers). */
static __always_inline struct file *fd_to_file(int fd)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct files_struct *files = task->files;
	struct fdtable *fdt;
	struct file **fds;
	struct file *f = NULL;

	if (fd < 0 || !files)
		return NULL;
	fdt = files->fdt;
	if (!fdt || (unsigned int)fd >= fdt->max_fds)
		return NULL;
	fds = fdt->fd;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

#endif
