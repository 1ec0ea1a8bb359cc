/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Dropping privileges once the privileged steps are done (ebpf_exporter's
 * --capabilities.keep, default none). BPF program, map and link fds stay valid after the
 * capabilities that created them are gone, so a tracer needs CAP_BPF + CAP_PERFMON only to load
 * and attach. Capabilities are per thread: call this before any thread is created.
 */
#ifndef VFIOSCOPE_PRIVS_H
#define VFIOSCOPE_PRIVS_H

#include <stdint.h>

/*
 * Keep only the capabilities in @keep (bit n = capability n) in the effective and permitted
 * sets, clear the inheritable and ambient sets, drop the others from the bounding set (when
 * CAP_SETPCAP is still held) and set no_new_privs, so nothing can regain them (not even execve
 * of a set-uid or file-capability binary). Returns 0 or -errno.
 */
int privs_drop(uint64_t keep);

/* The capability sets of this thread, read back from /proc/thread-self/status. */
struct privs_state {
	uint64_t eff, prm, inh, bnd, amb;
	int no_new_privs;
};
int privs_read(struct privs_state *st);

/* "cap_net_bind_service,CAP_BPF,bpf" -> mask. Returns 0 or -EINVAL. */
int privs_parse(const char *list, uint64_t *mask);

#endif
