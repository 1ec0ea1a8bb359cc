# Every device named: the edu device opened through its group, through the VFIO cdev (where
# the kernel has one), and by a process started before the tracer (tests/vm/src/devices_open;
# the tracer's task_file iterator names that one before its first call). `state --json`,
# `trace` (text and JSON: vfioscope's ids, no kernel address) and serve's vfio_device_info are
# checked against what the program opened and what sysfs says the device is
# (tests/vm/scenarios/devices_check.py).
# vm-timeout: 2400
set -u
. tests/vm/guest-lib.sh
bdf=$(edu_bdf)
bind_vfio_pci "$bdf" || exit 1
group=$(group_of "$bdf")
driver=$(basename "$(readlink "/sys/bus/pci/devices/$bdf/driver")")
VS=$BUILD/vfioscope
tmp=$(mktemp -d)
pids=()

wait_for() { # FILE PATTERN: up to a minute
	local i
	for i in $(seq 600); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "FAIL: no '$2' in $1:"
	cat "$1"
	CHECKS_FAILED=$((CHECKS_FAILED + 1))
	return 1
}

start_tracers() { # DIR: trace --json (pinned, read by state), trace in text, serve
	local d=$1
	"$VS" trace --json >"$d/trace.json" 2>"$d/trace.err" &
	pids+=($!)
	"$VS" trace --no-pin >"$d/trace.txt" 2>"$d/trace-text.err" &
	pids+=($!)
	"$VS" serve --listen 127.0.0.1:0 --port-file "$d/port" >"$d/serve.log" 2>&1 &
	pids+=($!)
	# serve writes its port once its sources (the tracer) are set up
	wait_for "$d/trace.err" 'tracing with' && wait_for "$d/trace-text.err" 'tracing with' &&
		wait_for "$d/port" '[0-9]'
}

stop_tracers() {
	kill -INT "${pids[@]}" 2>/dev/null
	wait "${pids[@]}" 2>/dev/null
	pids=()
}

run_case() { # group|cdev before|traced
	local mode=$1 when=$2 d=$tmp/$1-$2 ppid
	mkdir -p "$d"
	echo "--- $mode, $when"
	mkfifo "$d/go"
	[ "$when" = traced ] && { start_tracers "$d" || { stop_tracers; return; }; }
	"$BUILD/tests/vm/devices_open" "$mode" "$bdf" "$group" <"$d/go" >"$d/prog.jsonl" &
	ppid=$!
	exec 3<>"$d/go" # read-write: never blocks, even if the program died before reading
	wait_for "$d/prog.jsonl" device_fd || { exec 3>&-; stop_tracers; return; }
	[ "$when" = before ] && { start_tracers "$d" || { exec 3>&-; stop_tracers; return; }; }
	"$VS" state --json >"$d/before.json"
	echo go >&3
	wait_for "$d/prog.jsonl" get_info
	"$VS" state --json >"$d/after.json"
	"$VS" state >"$d/after.txt"
	"$VS" state --json --kernel-addresses >"$d/kaddr.json"
	# serve reads its maps at the scrape: the call above is in them
	curl -sf "http://127.0.0.1:$(cat "$d/port")/metrics" >"$d/metrics.txt"
	echo done >&3
	exec 3>&-
	wait $ppid
	sleep 0.5
	stop_tracers
	python3 tests/vm/scenarios/devices_check.py "$mode" "$when" "$bdf" "$group" "$driver" "$d" \
		>"$d/check.log" 2>&1
	CHECKS_PASSED=$((CHECKS_PASSED + $(grep -c '^ok: ' "$d/check.log")))
	CHECKS_FAILED=$((CHECKS_FAILED + $(grep -c '^FAIL' "$d/check.log")))
	cat "$d/check.log"
	if grep -q '^FAIL' "$d/check.log"; then
		echo "--- state after the device call:"
		cat "$d/after.txt"
		echo "--- trace:"
		head -c 4000 "$d/trace.txt"
		grep vfio_device "$d/metrics.txt"
	fi
}

echo "edu at $bdf, group $group, driver $driver, kernel $(uname -r)"
"$VS" state --kernel-addresses=1 >/dev/null 2>"$tmp/opt.err"
rc=$?
check "state --kernel-addresses takes no value (exit $rc: $(cat "$tmp/opt.err"))" [ $rc -eq 2 ]
run_case group traced
run_case group before
# 6.1 names the vfio_device in sysfs (vfio-dev/vfioN) but has no character device for it
cdev=$(ls "/sys/bus/pci/devices/$bdf/vfio-dev" 2>/dev/null)
if [ -n "$cdev" ] && [ -c "/dev/vfio/devices/$cdev" ]; then
	run_case cdev traced
	run_case cdev before
else
	echo "note: no VFIO cdev on this kernel (CONFIG_VFIO_DEVICE_CDEV): cdev cases not run"
fi
checks_done
