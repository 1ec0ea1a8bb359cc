# Lost events that cost nothing (issue 14): a storm of MAP_DMA/UNMAP_DMA calls on a real type1v2
# container (tests/vm/src/storm, edu bound to vfio-pci) while `serve` and a pinned `trace` run.
# (a) Both with a ring buffer of one page: records are lost, counted, and exported with their
#     reason, yet `state --json` lists exactly the mappings the storm program holds.
# (b) Both with a mappings map smaller than what the program holds: nothing crashes, the
#     overflow is counted and exported with its reason, and `state` marks the container
#     incomplete, listing only mappings the program holds.
# Checked against what the program printed (tests/vm/scenarios/storm_check.py).
# vm-kernels: 6.1 6.12-iommufd
# vm-timeout: 600
set -u
. tests/vm/guest-lib.sh
bdf=$(edu_bdf)
bind_vfio_pci "$bdf" || exit 1
group=$(group_of "$bdf")
VS=$BUILD/vfioscope
PROG=$BUILD/tests/vm/storm
tmp=$(mktemp -d)
pass=0 fail=0
# (a): 1,000 held, 100,000 calls in all; (b): 2,000 held against a map of 1,024
STORM_HELD=1000 STORM_CALLS=100000 STORM_MAP=4096
HOLD_HELD=2000 HOLD_MAP=1024

ok() {
	echo "ok: $*"
	pass=$((pass + 1))
}
bad() {
	echo "FAIL: $*"
	fail=$((fail + 1))
}

wait_for() { # FILE PATTERN PID: up to a minute for a line matching, while PID runs
	local i
	for i in $(seq 600); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		kill -0 "$3" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# PART TRACER_OPTIONS... -- PROGRAM ARGS...: serve and a pinned trace with the tracer options,
# the program until it holds its mappings, then state, /metrics and the trace's last line.
run_part() {
	local d=$tmp/$1 topts=() spid tpid ppid start
	shift
	while [ "$1" != -- ]; do
		topts+=("$1")
		shift
	done
	shift
	mkdir -p "$d"
	"$VS" serve --listen 127.0.0.1:0 --port-file "$d/port" "${topts[@]}" \
		>"$d/serve.out" 2>"$d/serve.err" &
	spid=$!
	"$VS" trace --json "${topts[@]}" >"$d/trace.json" 2>"$d/trace.err" &
	tpid=$!
	# serve says "serving" once every source is set up
	if ! wait_for "$d/trace.err" 'tracing with' $tpid || ! wait_for "$d/serve.err" serving $spid ||
		grep -q 'failed to start source' "$d/serve.err"; then
		bad "[$(basename "$d")] serve or trace did not start: $(cat "$d/serve.err" "$d/trace.err")"
		kill $spid $tpid 2>/dev/null
		return 1
	fi
	mkfifo "$d/go"
	start=$(date +%s.%N)
	"$PROG" "$bdf" "$group" "$@" <"$d/go" >"$d/prog.json" 2>"$d/prog.err" &
	ppid=$!
	exec 3>"$d/go"
	while kill -0 $ppid 2>/dev/null && [ ! -s "$d/prog.json" ]; do
		sleep 0.1
	done
	echo "[$(basename "$d")] the program took $(awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $start }") s $(cat "$d/prog.err")"
	sleep 1 # serve's poller and the trace reader drain what reached the ring
	"$VS" state --json >"$d/state.json" 2>"$d/state.err"
	"$VS" state >"$d/state.txt" 2>>"$d/state.err"
	curl -s --max-time 10 "http://127.0.0.1:$(cat "$d/port")/metrics" >"$d/metrics.txt"
	echo go >&3
	exec 3>&-
	wait $ppid
	echo $? >"$d/prog.rc"
	kill -INT $tpid
	wait $tpid
	echo $? >"$d/trace.rc"
	kill -TERM $spid
	wait $spid
	echo $? >"$d/serve.rc"
	tail -n 1 "$d/trace.err"
}

echo "edu at $bdf, group $group, kernel $(uname -r)"
run_part storm --ringbuf-size 4096 --max-mappings $STORM_MAP -- storm $STORM_HELD $STORM_CALLS
run_part hold --max-mappings $HOLD_MAP -- hold $HOLD_HELD
python3 tests/vm/scenarios/storm_check.py "$tmp" $STORM_HELD $STORM_CALLS $HOLD_HELD $HOLD_MAP \
	>"$tmp/check.log" 2>&1
pass=$((pass + $(grep -c '^ok: ' "$tmp/check.log")))
fail=$((fail + $(grep -c '^FAIL' "$tmp/check.log")))
cat "$tmp/check.log"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
