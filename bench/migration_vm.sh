#!/usr/bin/env bash
# The tracer's cost on a real live migration, in a guest (the only place with a migratable VFIO
# device: edu on tests/kmod's variant driver):
# 1. QEMU's migration: the same nested live migration (bench/migration_vm.guest.bash) without
#    vfioscope and with `vfioscope migrations` watching, BENCH_RUNS (3) times each, alternating;
#    QEMU's own total time, downtime, setup time, RAM throughput and device bytes, with the
#    watched/plain ratio of the medians. Wall-clock figures of a TCG guest in a TCG guest: they
#    vary by some percent from run to run, hence the runs and medians.
# 2. Each data-fd call and an unrelated syscall: tests/vm/src/mig_drive migrates edu's state
#    (768 KiB, read on the source and written back on the destination in 256-byte calls) without
#    vfioscope, then while `vfioscope migrations` watches in each way in; before the migration it
#    times getppid() with vfioscope attached and no device migrating (what an unrelated syscall
#    pays). Under TCG with -icount shift=0 on one vCPU, as trace_overhead_vm.sh: a "ns" is one
#    guest instruction, so these are instruction counts, the same on every run and machine.
# Each guest kernel of BENCH_KERNELS (default "6.1 6.12-iommufd"; on 6.12-iommufd part 1 uses
# QEMU's iommufd backend). Not a test: it never fails on speed.
set -u
cd "$(dirname "$0")/.."
drive='set -u
. tests/vm/guest-lib.sh
bdf=$(edu_bdf) || exit 1
modprobe vfio-pci || exit 1
load_edu_vfio_pci state_size=786432 || exit 1
bind_driver "$bdf" edu-vfio-pci || exit 1
t=$(mktemp -d)
drive() { # label
	"$BUILD/tests/vm/mig_drive" "$bdf" --chunk 256 --syncs 1 --idle-calls 20000 >"$t/$1.json"
}
drive base || exit 1
for m in fentry kprobe tp_btf; do
	"$BUILD/vfioscope" migrations --json --count 2 --duration 600 --mode $m >"$t/$m.view" 2>"$t/$m.err" &
	p=$!
	for i in $(seq 900); do grep -q "tracing with" "$t/$m.err" && break; sleep 0.1; done
	if ! grep -q "tracing with" "$t/$m.err"; then
		echo "  --mode $m: not available here: $(tail -n 1 "$t/$m.err")"
		wait $p
		continue
	fi
	drive $m || exit 1
	wait $p
done
python3 bench/migration_calls.py "$t" fentry kprobe tp_btf'
rc=0
for k in ${BENCH_KERNELS:-6.1 6.12-iommufd}; do
	if ! kver=$(tests/vm/kernel resolve "$k") || ! tests/vm/kernel fetch "$k" >/dev/null ||
		! make -s kmod KMOD_SERIES="$k"; then
		echo "-- guest kernel $k: cannot be fetched or its test module built"
		rc=1
		continue
	fi
	back=container
	[ "$k" = 6.12-iommufd ] && back=iommufd
	echo "-- guest kernel $kver: QEMU's live migration without and with vfioscope ($back backend)"
	tests/vm/vm-run -q -k "$k" -t 1800 -m 2048 -n 2 -- \
		"MIG_BACKEND=$back BENCH_RUNS=${BENCH_RUNS:-3} bash bench/migration_vm.guest.bash" || rc=1
	echo "-- guest kernel $kver: each data-fd call, instruction-counted (-icount shift=0, 1 vCPU)"
	VM_SMP=1 VM_QEMU_OPTS="-icount shift=0,sleep=off" tests/vm/vm-run -q -k "$k" -t 900 -- "$drive" || rc=1
done
exit $rc
