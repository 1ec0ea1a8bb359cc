# bench/migration_vm.sh, in the guest: the same nested QEMU live migration (tests/vm/migrate-lib.sh:
# edu on edu-vfio-pci in PRE_COPY with BENCH_STATE bytes of device state, the L2 image making
# DMA, source -> destination over a unix socket, QEMU's default bandwidth), BENCH_RUNS times
# without vfioscope and BENCH_RUNS times with `vfioscope migrations --json` watching from before
# the QEMUs start, alternating. QEMU's own query-migrate figures of each run go to
# DIR/{plain,watched}-N.qmp; bench/migration_vm.py prints them.
set -u
. tests/vm/migrate-lib.sh
VS=$BUILD/vfioscope
mig_setup state_size="${BENCH_STATE:-16777216}" seed=7 dirty_per_dma=4 || exit 1
echo "kernel $(uname -r), $(qemu-system-x86_64 --version | head -n1), backend $MIG_BACKEND"
base=$MIG_DIR
res=$base/results
mkdir -p "$res"
for i in $(seq "${BENCH_RUNS:-3}"); do
	for how in plain watched; do
		MIG_DIR=$base/$how-$i
		mkdir -p "$MIG_DIR"
		mig_events >"$MIG_DIR/events"
		vpid=""
		if [ $how = watched ]; then
			"$VS" migrations --json --count 2 --duration 900 >"$MIG_DIR/vs.json" 2>"$MIG_DIR/vs.err" &
			vpid=$!
			for _ in $(seq 900); do grep -q "tracing with" "$MIG_DIR/vs.err" && break; sleep 0.1; done
		fi
		if ! mig_run >"$MIG_DIR/run.log" 2>&1; then
			echo "run $i ($how): the migration failed:"
			tail -n 20 "$MIG_DIR/run.log" "$MIG_DIR/src-qmp.log" "$MIG_DIR/src.out"
			exit 1
		fi
		if [ -n "$vpid" ]; then
			wait "$vpid" || { echo "run $i: vfioscope migrations failed:"; cat "$MIG_DIR/vs.err"; exit 1; }
			cp "$MIG_DIR/vs.json" "$res/$how-$i.view"
		fi
		cp "$MIG_DIR/src-qmp.log" "$res/$how-$i.qmp"
	done
done
python3 bench/migration_vm.py "$res"
