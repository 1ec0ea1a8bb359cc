// SPDX-License-Identifier: GPL-2.0
/*
 * Feature probes for `vfioscope info`: one tiny program per attach type (the tracer's way in
 * is chosen by user/lib/tracer/tracer.c itself, by loading and attaching). The
 * user side loads them one at a time (a refused type must not sink the others) and retargets
 * the fentry and kprobe placeholders at the VFIO handlers when their module is loaded.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

__u64 hits[4];

SEC("tp_btf/sys_enter")
int BPF_PROG(probe_tp_btf, struct pt_regs *regs, long id)
{
	__sync_fetch_and_add(&hits[0], 1);
	return 0;
}

SEC("raw_tp/sys_enter")
int probe_raw_tp(struct bpf_raw_tracepoint_args *ctx)
{
	__sync_fetch_and_add(&hits[1], 1);
	return 0;
}

/* placeholder target, retargeted with bpf_program__set_attach_target() before load */
SEC("fentry/do_vfs_ioctl")
int BPF_PROG(probe_fentry)
{
	__sync_fetch_and_add(&hits[2], 1);
	return 0;
}

SEC("kprobe")
int BPF_KPROBE(probe_kprobe)
{
	__sync_fetch_and_add(&hits[3], 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
