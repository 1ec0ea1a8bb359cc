#!/usr/bin/env bash
# The tracer's overhead with the file-handler hooks (fentry), which only a guest with VFIO has,
# and with the syscall-level way in on the same kernel for comparison. Boots each guest kernel
# (BENCH_KERNELS, default "6.1 6.12") under TCG with -icount shift=0 on one vCPU: the guest clock
# then advances by exactly one nanosecond per guest instruction executed, so every "ns per call"
# below is a deterministic instruction count, the same on every run and machine, and a ratio
# between two rows is a ratio of instructions. It cannot see what instructions cost natively
# (cache misses, serialising instructions) nor time spent blocked: strace's row counts only the
# instructions of its stops, so the strace ratio that means something is the host bench's.
# The rows "excluded by pid" (the pid filter in BPF, and in user space after the ring buffer as
# before) run a reader thread in the bench process: on one vCPU the user filter's reader is
# charged to the same CPU as the loop, as `trace`'s is.
# Not a test: it prints numbers and never fails on speed.
set -u
cd "$(dirname "$0")/.."
rc=0
for k in ${BENCH_KERNELS:-6.1 6.12}; do
	echo "-- guest kernel $k, instruction-counted (-icount shift=0, 1 vCPU)"
	VM_SMP=1 VM_QEMU_OPTS="-icount shift=0,sleep=off" tests/vm/vm-run -q -k "$k" -t 900 -- \
		'modprobe vfio-pci || exit 1
		 for m in fentry tp_btf; do
			TRACE_BENCH_DIV=20 build/bench/trace_overhead build/vfioscope $m || exit 1
		 done' || rc=1
done
exit $rc
