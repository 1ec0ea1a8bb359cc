# vfioscope's migration view against a real nested QEMU live migration: the source QEMU runs
# the L2 image making edu DMA with edu on edu-vfio-pci in PRE_COPY (4 MiB of device state) and
# migrates over a unix socket to a destination QEMU in the same guest (tests/vm/migrate-lib.sh).
# `vfioscope migrations --json` and `vfioscope record` start before either QEMU does, and what
# they saw is checked (migrations_qemu_check.py) against QEMU's own trace events and the
# driver's own counters: every device state transition on both ends, the data-fd bytes per
# phase to the byte, the precopy info and MIG_DATA_SIZE answers, the dirty pages per sync, the
# order of the phases across both ends, the join of source and destination; the record file
# must pass the trace-event validator. The JSON view and the record use the syscall way in
# (--mode tp_btf): with the default file handlers the data-fd hooks are attached once a device
# starts migrating, and QEMU's first PRECOPY_INFO and read can come before they are (seen with
# the iommufd backend: the first 1 MiB read and the first answer missing). The table run uses
# the default way in; so do a second JSON view and `vfioscope serve` (which drops its
# capabilities after setup and so attaches no data-fd hook at all): the bytes of the calls
# their hooks did not see are counted from the data fd's position at each state change, and
# their bytes per phase must equal the driver's (migrations_handlers_check.py). Runs with QEMU's container backend, and on the
# project's iommufd kernel again with QEMU's iommufd backend.
# Debian 6.12 is left out for the reason migration_nested.sh gives (no iova_bitmap: every
# DMA_LOGGING_REPORT fails, QEMU cannot migrate with device dirty tracking).
# vm-edus: 2
# vm-timeout: 2400
# vm-mem: 2048
# vm-kernels: 6.1 6.12-iommufd
set -u
. tests/vm/migrate-lib.sh
here=tests/vm/scenarios
VS=$BUILD/vfioscope
size=4194304
mig_setup state_size=$size seed=7 dirty_per_dma=4 || exit 1
echo "kernel $(uname -r), $(qemu-system-x86_64 --version | head -n1)"
export MIG_PARAMS=${MIG_PARAMS:-'{"max-bandwidth": 2097152}'}
base=$MIG_DIR
t0=$(date +%s)
el() { echo "$(($(date +%s) - t0))s"; }

# one live migration with vfioscope watching from before the QEMUs start: label
run_watched() {
	local label=$1 mpid rpid tpid hpid spid rc i
	MIG_DIR=$base/$label
	mkdir -p "$MIG_DIR"
	mig_events >"$MIG_DIR/events"
	echo "== $label: live migration ($MIG_BACKEND backend) watched by vfioscope, $(el)"
	"$VS" migrations --json --count 2 --duration 900 --mode tp_btf >"$MIG_DIR/vs.json" 2>"$MIG_DIR/vs.err" &
	mpid=$!
	"$VS" record -o "$MIG_DIR/vs.trace.json" --count 2 --duration 900 --mode tp_btf 2>"$MIG_DIR/rec.err" &
	rpid=$!
	"$VS" migrations --count 2 --duration 900 >"$MIG_DIR/vs.txt" 2>"$MIG_DIR/vs-table.err" &
	tpid=$!
	# the default way in, as JSON, and serve (default way in, capabilities dropped after setup)
	"$VS" migrations --json --count 2 --duration 900 >"$MIG_DIR/vs-handlers.json" 2>"$MIG_DIR/vs-handlers.err" &
	hpid=$!
	"$VS" serve --listen 127.0.0.1:0 --port-file "$MIG_DIR/port" >"$MIG_DIR/serve.log" 2>&1 &
	spid=$!
	for i in $(seq 1200); do
		grep -q 'tracing with' "$MIG_DIR/vs.err" && grep -q 'tracing with' "$MIG_DIR/rec.err" &&
			grep -q 'tracing with' "$MIG_DIR/vs-table.err" &&
			grep -q 'tracing with' "$MIG_DIR/vs-handlers.err" && [ -s "$MIG_DIR/port" ] && break
		kill -0 $mpid 2>/dev/null && kill -0 $rpid 2>/dev/null || break
		sleep 0.1
	done
	grep -h 'tracing with' "$MIG_DIR/vs.err" "$MIG_DIR/rec.err"
	# the offset of CLOCK_REALTIME (QEMU's trace, the driver) over CLOCK_MONOTONIC (vfioscope)
	python3 -c 'import time; print(repr(time.clock_gettime(time.CLOCK_REALTIME) - time.clock_gettime(time.CLOCK_MONOTONIC)))' >"$MIG_DIR/clock-offset"
	mig_run
	rc=$?
	check "$label: live migration completed on both ends" test $rc = 0
	wait $mpid
	check "$label: vfioscope migrations ended by itself (--count 2)" test $? = 0
	wait $rpid
	check "$label: vfioscope record ended by itself (--count 2)" test $? = 0
	wait $tpid
	wait $hpid
	check "$label: vfioscope migrations (default way in) ended by itself (--count 2)" test $? = 0
	curl -sf "http://127.0.0.1:$(cat "$MIG_DIR/port")/metrics" >"$MIG_DIR/metrics.txt"
	check "$label: serve answered /metrics" test -s "$MIG_DIR/metrics.txt"
	kill $spid
	wait $spid
	python3 $here/migrations_handlers_check.py "$MIG_DIR" "$MIG_SRC_BDF" "$MIG_DST_BDF"
	check "$label: data-fd bytes of the default way in (migrations, serve) equal the driver's" test $? = 0
	echo "-- vfioscope migrations ($label):"
	cat "$MIG_DIR/vs.txt"
	check "$label: the table joins both ends" grep -q '^end to end: ' "$MIG_DIR/vs.txt"
	grep -v 'tracing with' "$MIG_DIR/vs.err" "$MIG_DIR/rec.err" | sed 's/^/   /'
	echo "-- vfioscope migrations --json ($label):"
	cat "$MIG_DIR/vs.json"
	echo "-- driver (source):"
	sed 's/^/   /' "$MIG_DIR/src-driver.txt"
	echo "-- driver (destination):"
	sed 's/^/   /' "$MIG_DIR/dst-driver.txt"
	echo "-- QEMU trace (source), without pending estimates:"
	sed 's/^[0-9]*@[0-9.]*://' "$MIG_DIR/src-trace.log" | grep -v vfio_state_pending_estimate | sed 's/^/   /'
	echo "-- QEMU trace (destination):"
	sed 's/^[0-9]*@[0-9.]*://' "$MIG_DIR/dst-trace.log" | sed 's/^/   /'
	python3 $here/migration_check.py "$MIG_DIR" $size | grep -E '^(FAIL|numbers)' | sed 's/^/   QEMU vs driver: /'
	python3 $here/migrations_qemu_check.py "$MIG_DIR" $size
	check "$label: vfioscope's view agrees with QEMU's trace and the driver (migrations_qemu_check.py)" test $? = 0
	check "$label: $(python3 tests/lib/trace_event_check.py "$MIG_DIR/vs.trace.json" | tail -n1)" \
		python3 tests/lib/trace_event_check.py "$MIG_DIR/vs.trace.json"
}

MIG_BACKEND=container run_watched container
if [ -e /dev/iommu ] && [ -d /sys/class/vfio-dev ]; then
	MIG_BACKEND=iommufd run_watched iommufd
else
	echo "-- no iommufd backend here (/dev/iommu or VFIO cdev missing): the iommufd run is skipped"
fi

bad=$(dmesg | grep -E 'WARNING|BUG|Call Trace' || true)
[ -z "$bad" ] || echo "$bad"
check "no kernel warning during the run" test -z "$bad"
echo "total $(el)"
checks_done
