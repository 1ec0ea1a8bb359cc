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
# syscall way in (tp_btf: data fds seen from the first call, no pause). Then the worst case of
# the file-handler ways in (fentry, kprobe): no pause at all (run_instant).
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

# The driver's byte counters (debugfs): "bytes_read STOP_COPY N", "bytes_written RESUMING N".
driver_bytes() { # what
	awk -v w="$1" '$1 " " $2 == w { print $3 }' "/sys/kernel/debug/edu-vfio-pci/$bdf/migration"
}

# The worst case of the file-handler ways in: mig_drive --no-log makes the SET that returns
# the data fd the device's first migration call and reads (then writes) 768 KiB of state at
# once, before vfioscope can attach its data-fd hooks. The bytes of the calls no hook saw are
# counted from the data fd's position at the next state change: every phase's bytes must still
# equal mig_drive's and the driver's counters (those of the device's latest migration), to the
# byte.
run_instant() { # mode
	local label=instant-$1 mpid rc
	echo 786432 >/sys/module/edu_vfio_pci/parameters/state_size
	"$VS" migrations --json --count 2 --duration 120 --mode "$1" >"$tmp/$label.json" 2>"$tmp/$label.err" &
	mpid=$!
	for i in $(seq 900); do grep -q 'tracing with' "$tmp/$label.err" && break; sleep 0.1; done
	grep -h 'tracing with' "$tmp/$label.err"
	"$BUILD/tests/vm/mig_drive" "$bdf" --chunk 4096 --no-log >"$tmp/$label.truth.json" 2>"$tmp/$label.drive.err"
	check "$label: mig_drive ran ($(cat "$tmp/$label.drive.err"))" test -s "$tmp/$label.truth.json"
	echo 0 >/sys/module/edu_vfio_pci/parameters/state_size
	wait $mpid
	check "$label: vfioscope migrations ended by itself (--count 2)" test $? -eq 0
	python3 - "$tmp/$label.truth.json" "$tmp/$label.json" "$(driver_bytes "bytes_read STOP_COPY")" \
		"$(driver_bytes "bytes_written RESUMING")" <<'PY' >"$tmp/$label.check" 2>&1
import json, sys
truth, view = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
read, written = int(sys.argv[3]), int(sys.argv[4])
migs = [m for m in view["migrations"] if m["comm"] == "mig_drive"]
src = next(m for m in migs if m["role"] == "source")
dst = next(m for m in migs if m["role"] == "destination")
sc = next(p for p in src["phases"] if p["state"] == "STOP_COPY")
res = next(p for p in dst["phases"] if p["state"] == "RESUMING")
print(f"driver: {read} bytes read in STOP_COPY, {written} written in RESUMING; mig_drive: "
      f"{truth['read_bytes']} read in {truth['reads']} calls, {truth['written_bytes']} written "
      f"in {truth['writes']}")
print(f"vfioscope: STOP_COPY {sc['bytes']} bytes ({sc['bytes_unseen']} in calls not seen, "
      f"{sc['calls']} calls seen), RESUMING {res['bytes']} bytes ({res['bytes_unseen']} not seen, "
      f"{res['calls']} calls seen)")
ok = read == truth["read_bytes"] > 0 and written == truth["written_bytes"] > 0
ok = ok and sc["bytes"] == read and res["bytes"] == written
ok = ok and src["bytes"] == read and dst["bytes"] == written
ok = ok and src["data_fd"]["position_behind"] == 0 and dst["data_fd"]["position_behind"] == 0
sys.exit(0 if ok else 1)
PY
	rc=$?
	sed "s/^/$label: /" "$tmp/$label.check"
	check "$label: bytes per phase equal the driver's counters and mig_drive's" test $rc -eq 0
}

run_one handlers 300
run_one syscall 0 --mode tp_btf
run_instant fentry
run_instant kprobe
echo "-- vfioscope migrations, the table (a third run, syscall way in):"
"$VS" migrations --count 2 --duration 120 --mode tp_btf >"$tmp/table.txt" 2>"$tmp/table.err" &
mpid=$!
for i in $(seq 900); do grep -q 'tracing with' "$tmp/table.err" && break; sleep 0.1; done
"$BUILD/tests/vm/mig_drive" "$bdf" --chunk 100 --syncs 3 >/dev/null 2>&1
wait $mpid
cat "$tmp/table.txt"
check "table: both ends, joined" grep -q '^end to end: .* (equal)' "$tmp/table.txt"
checks_done
