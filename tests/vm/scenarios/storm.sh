# Lost events that cost nothing (issue 14): a storm of MAP_DMA/UNMAP_DMA calls on a real type1v2
# container (tests/vm/src/storm, edu bound to vfio-pci) while `serve` and a pinned `trace` run,
# both with a ring buffer of one page and a mappings map of 1,024 entries:
# (a) 100,000 calls: records are lost, counted, and exported with their reason, yet
#     `state --json` lists exactly the mappings the storm program holds;
# (b) then a program holding more mappings than the map holds: nothing crashes, the overflow
#     is counted and exported with its reason, and `state` marks the container incomplete,
#     listing only mappings the program holds;
# (c) where the kernel has iommufd (/dev/iommu): a program with more IOAS in one iommufd than
#     the containers map holds (1,100 against 1,024: thousands of containers): the overflow is
#     counted and exported, `state` lists the IOAS that found room and one untracked,
#     incomplete container for the rest, and after the close none of it.
# Checked against what the program printed (tests/vm/scenarios/storm_check.py).
# vm-kernels: 6.1 6.12-iommufd
# vm-timeout: 400
set -u
. tests/vm/guest-lib.sh
bdf=$(edu_bdf)
bind_vfio_pci "$bdf" || exit 1
group=$(group_of "$bdf")
VS=$BUILD/vfioscope
PROG=$BUILD/tests/vm/storm
tmp=$(mktemp -d)
pass=0 fail=0
# (a): 500 held, 100,000 calls in all; (b) after (a) exited: 2,000 held. The mappings map holds
# 1,024 (each UNMAP_DMA walks it whole, docs/hardening.md: small, for time).
STORM_HELD=500 STORM_CALLS=100000 HOLD_HELD=2000 MAP=1024
# (c): IOAS in one iommufd, more than the containers map's 1,024 entries
IOAS=0
[ -e /dev/iommu ] && IOAS=1100

ok() {
	echo "ok: $*"
	pass=$((pass + 1))
}
bad() {
	echo "FAIL: $*"
	fail=$((fail + 1))
}

T0=$(date +%s.%N)
stamp() { # what happened, with the seconds since the scenario started
	echo "[$(awk "BEGIN { printf \"%5.1f\", $(date +%s.%N) - $T0 }")] $*"
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

# serve and a pinned trace, both with a one-page ring buffer and a mappings map of MAP entries
# (loading two tracers under TCG is the slow part: one pair watches both parts)
start_tracers() {
	local topts=(--ringbuf-size 4096 --max-mappings $MAP)
	"$VS" serve --listen 127.0.0.1:0 --port-file "$tmp/port" "${topts[@]}" \
		>"$tmp/serve.out" 2>"$tmp/serve.err" &
	spid=$!
	"$VS" trace --json "${topts[@]}" >"$tmp/trace.json" 2>"$tmp/trace.err" &
	tpid=$!
	# serve says "serving" once every source is set up
	if ! wait_for "$tmp/trace.err" 'tracing with' $tpid ||
		! wait_for "$tmp/serve.err" serving $spid ||
		grep -q 'failed to start source' "$tmp/serve.err"; then
		bad "serve or trace did not start: $(cat "$tmp/serve.err" "$tmp/trace.err")"
		kill $spid $tpid 2>/dev/null
		return 1
	fi
	stamp "serve and trace started"
}

stop_tracers() {
	kill -INT $tpid
	wait $tpid
	echo $? >"$tmp/trace.rc"
	kill -TERM $spid
	wait $spid
	echo $? >"$tmp/serve.rc"
	stamp "$(tail -n 1 "$tmp/trace.err")"
}

# PART PROGRAM ARGS...: the program until it holds its mappings, then state and /metrics while
# it holds them; then it exits.
run_part() {
	local d=$tmp/$1 ppid start
	shift
	mkdir -p "$d"
	mkfifo "$d/go"
	start=$(date +%s.%N)
	"$PROG" "$bdf" "$group" "$@" <"$d/go" >"$d/prog.json" 2>"$d/prog.err" &
	ppid=$!
	exec 3>"$d/go"
	while kill -0 $ppid 2>/dev/null && [ ! -s "$d/prog.json" ]; do
		sleep 0.1
	done
	stamp "$(basename "$d"): the program took $(awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $start }") s $(cat "$d/prog.err")"
	sleep 1 # serve's poller and the trace reader drain what reached the ring
	"$VS" state --json >"$d/state.json" 2>"$d/state.err"
	"$VS" state >"$d/state.txt" 2>>"$d/state.err"
	curl -s --max-time 10 "http://127.0.0.1:$(cat "$tmp/port")/metrics" >"$d/metrics.txt"
	echo go >&3
	exec 3>&-
	wait $ppid
	echo $? >"$d/prog.rc"
	stamp "$(basename "$d"): state and /metrics read, the program exited"
}

echo "edu at $bdf, group $group, kernel $(uname -r)"
if start_tracers; then
	run_part storm storm $STORM_HELD $STORM_CALLS
	run_part hold hold $HOLD_HELD
	if [ "$IOAS" -gt 0 ]; then
		run_part ioas ioas $IOAS
		sleep 1 # the close reached the maps
		"$VS" state --json >"$tmp/ioas/after.json" 2>>"$tmp/ioas/state.err"
	fi
	stop_tracers
fi
python3 tests/vm/scenarios/storm_check.py "$tmp" $STORM_HELD $STORM_CALLS $HOLD_HELD $MAP $IOAS \
	>"$tmp/check.log" 2>&1
pass=$((pass + $(grep -c '^ok: ' "$tmp/check.log")))
fail=$((fail + $(grep -c '^FAIL' "$tmp/check.log")))
cat "$tmp/check.log"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
