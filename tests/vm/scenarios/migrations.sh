# Device migrations as vfioscope sees them, against the ground truth: tests/vm/src/mig_drive
# drives one migration of edu on the variant driver through the plain uAPI (DMA logging with
# known dirty pages per sync; STOP_COPY read in small chunks; RESUMING written back) and prints
# what it did. `vfioscope migrations --json` must show every state transition with its result,
# the bytes per phase to the byte (reads on the source, writes on the destination), the
# MIG_DATA_SIZE answer, the dirty pages of every sync (where the kernel has iova_bitmap_set),
# the phase order and timing, the downtime parts, and join source and destination; `vfioscope
# record` must write a trace file the trace-event validator accepts, with the same phases.
# Run twice: with the tracer's default way in (file handlers: the data-fd hooks are attached
# around migrations, so mig_drive pauses after a state change as a VMM does) and with the
# syscall way in (tp_btf: data fds seen from the first call, no pause).
# vm-timeout: 900
set -u
. tests/vm/guest-lib.sh
bdf=$(edu_bdf) || exit 1
VS=$BUILD/vfioscope
tmp=$(mktemp -d)
modprobe vfio-pci || exit 1
load_edu_vfio_pci || exit 1
bind_driver "$bdf" edu-vfio-pci || exit 1
echo "edu at $bdf on edu-vfio-pci, kernel $(uname -r)"
kern_dirty=yes
grep -qw iova_bitmap_set /proc/kallsyms || kern_dirty=no

run_one() { # label, pause ms, vfioscope args...
	local label=$1 pause=$2
	shift 2
	"$VS" migrations --json --count 2 --duration 120 "$@" >"$tmp/$label.json" 2>"$tmp/$label.err" &
	local mpid=$!
	"$VS" record -o "$tmp/$label.trace.json" --count 2 --duration 120 "$@" 2>"$tmp/$label.rec.err" &
	local rpid=$!
	for i in $(seq 900); do
		grep -q 'tracing with' "$tmp/$label.err" && grep -q 'tracing with' "$tmp/$label.rec.err" && break
		sleep 0.1
	done
	grep -h 'tracing with' "$tmp/$label.err"
	"$BUILD/tests/vm/mig_drive" "$bdf" --chunk 100 --syncs 3 --pause-ms "$pause" >"$tmp/$label.truth.json" 2>"$tmp/$label.drive.err"
	check "$label: mig_drive ran ($(cat "$tmp/$label.drive.err"))" test -s "$tmp/$label.truth.json"
	wait $mpid
	check "$label: vfioscope migrations ended by itself (--count 2)" test $? -eq 0
	wait $rpid
	check "$label: vfioscope record ended by itself" test $? -eq 0
	cat "$tmp/$label.rec.err" | grep -v note
	python3 tests/vm/scenarios/migrations_check.py "$tmp/$label.truth.json" "$tmp/$label.json" \
		"$tmp/$label.trace.json" "$kern_dirty" >"$tmp/$label.check" 2>&1
	local rc=$?
	sed "s/^/$label: /" "$tmp/$label.check"
	check "$label: vfioscope's view matches mig_drive's" test $rc -eq 0
	check "$label: $(python3 tests/lib/trace_event_check.py "$tmp/$label.trace.json" | tail -n1)" \
		python3 tests/lib/trace_event_check.py "$tmp/$label.trace.json"
}

run_one handlers 300
run_one syscall 0 --mode tp_btf
echo "-- vfioscope migrations, the table (a third run, syscall way in):"
"$VS" migrations --count 2 --duration 120 --mode tp_btf >"$tmp/table.txt" 2>"$tmp/table.err" &
mpid=$!
for i in $(seq 900); do grep -q 'tracing with' "$tmp/table.err" && break; sleep 0.1; done
"$BUILD/tests/vm/mig_drive" "$bdf" --chunk 100 --syncs 3 >/dev/null 2>&1
wait $mpid
cat "$tmp/table.txt"
check "table: both ends, joined" grep -q '^end to end: .* (equal)' "$tmp/table.txt"
checks_done
