# Hostile and odd processes (issue 14): tests/vm/src/hostile passes the container fd over
# SCM_RIGHTS, moves it with dup2 and replaces it, closes it with close_range, execs with and
# without O_CLOEXEC VFIO fds, is killed with SIGKILL inside a large MAP_DMA, and maps from 8
# threads at once, each case printing what it did. Two tracers run at once in each way in
# (fentry, tp_btf: release hooks vs close() of the last reference) and `trace --json` of both
# and `state --json` are checked against the program (tests/vm/scenarios/hostile_check.py).
# Then a pinned tracer is killed with SIGKILL: `state` must not read its stale maps, and the
# next tracer replaces them, saying so.
# vm-kernels: 6.1 6.12-iommufd
# vm-timeout: 1500
set -u
. tests/vm/guest-lib.sh
bdf=$(edu_bdf)
bind_vfio_pci "$bdf" || exit 1
group=$(group_of "$bdf")
VS=$BUILD/vfioscope
PROG=$BUILD/tests/vm/hostile
PIN=/sys/fs/bpf/vfioscope
tmp=$(mktemp -d)
pass=0 fail=0

ok() {
	echo "ok: $*"
	pass=$((pass + 1))
}
bad() {
	echo "FAIL: $*"
	fail=$((fail + 1))
}

wait_for() { # FILE PATTERN [COUNT]: up to two minutes for COUNT lines matching
	local i n
	for i in $(seq 1200); do
		n=$(grep -c -- "$2" "$1" 2>/dev/null)
		[ "${n:-0}" -ge "${3:-1}" ] && return 0
		sleep 0.1
	done
	return 1
}

start_trace() { # OUT ERR MODE [ARGS]: a tracer, its pid in $tpid
	local out=$1 err=$2 mode=$3
	shift 3
	"$VS" trace --json --mode "$mode" "$@" >"$out" 2>"$err" &
	tpid=$!
	if ! wait_for "$err" 'tracing with'; then
		bad "[$mode] a tracer did not start: $(cat "$err")"
		return 1
	fi
}

# CASE DIR: run one case; at its Nth "hold" line take state N, then let it go on
run_case() {
	local c=$1 d=$2 n=0 ppid
	mkfifo "$d/$c.go"
	"$PROG" "$c" "$bdf" "$group" <"$d/$c.go" >"$d/$c.jsonl" 2>"$d/$c.err" &
	ppid=$!
	exec 3<>"$d/$c.go"
	while kill -0 $ppid 2>/dev/null; do
		if [ "$(grep -c '"event":"hold"' "$d/$c.jsonl")" -gt $n ]; then
			n=$((n + 1))
			"$VS" state --json >"$d/$c.state$n.json" 2>"$d/$c.state$n.err"
			echo go >&3
		fi
		sleep 0.1
	done
	wait $ppid
	echo "[$c] exit $?: $(tr '\n' ' ' <"$d/$c.err")"
	exec 3>&-
	"$VS" state --json >"$d/$c.after.json" 2>/dev/null
}

run_mode() {
	local mode=$1 d=$tmp/$1 a b c
	mkdir -p "$d"
	start_trace "$d/a.json" "$d/a.err" "$mode" || return
	a=$tpid
	start_trace "$d/b.json" "$d/b.err" "$mode" --no-pin || {
		kill -INT $a
		return
	}
	b=$tpid
	for c in scm dup2 close_range exec kill threads; do
		run_case $c "$d"
	done
	sleep 0.5
	kill -INT $a $b
	wait $a $b
	python3 tests/vm/scenarios/hostile_check.py "$mode" "$d" >"$d/check.log" 2>&1
	pass=$((pass + $(grep -c '^ok: ' "$d/check.log")))
	fail=$((fail + $(grep -c '^FAIL' "$d/check.log")))
	cat "$d/check.log"
}

# A pinned tracer killed with SIGKILL leaves its maps in bpffs.
kill_restart() {
	local mode=fentry d=$tmp/restart s
	mkdir -p "$d"
	start_trace "$d/p.json" "$d/p.err" $mode || return
	kill -KILL $tpid
	wait $tpid 2>/dev/null
	[ -e $PIN/files ] && ok "a tracer killed with SIGKILL left its maps pinned in $PIN" ||
		bad "no maps left in $PIN after SIGKILL (nothing to test)"
	"$VS" state --json >"$d/stale.json" 2>"$d/stale.err"
	s=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tracer"]["mode"])' \
		"$d/stale.json" 2>/dev/null)
	if [ "$s" != pinned ] && grep -q 'tracer that pinned them is gone' "$d/stale.err"; then
		ok "state does not read the dead tracer's maps (mode '$s'): $(cat "$d/stale.err")"
	else
		bad "state read the dead tracer's maps (mode '$s'): $(cat "$d/stale.err")"
	fi
	start_trace "$d/q.json" "$d/q.err" $mode || return
	if grep -q 'replacing the maps pinned' "$d/q.err" && ! grep -q 'failed to pin' "$d/q.err"; then
		ok "the next tracer replaced the stale maps: $(grep replacing "$d/q.err")"
	else
		bad "the next tracer did not replace the stale maps: $(cat "$d/q.err")"
	fi
	run_case dup2 "$d"
	kill -INT $tpid
	wait $tpid
	python3 tests/vm/scenarios/hostile_check.py restart "$d" >"$d/check.log" 2>&1
	pass=$((pass + $(grep -c '^ok: ' "$d/check.log")))
	fail=$((fail + $(grep -c '^FAIL' "$d/check.log")))
	cat "$d/check.log"
}

echo "edu at $bdf, group $group, kernel $(uname -r)"
for mode in fentry tp_btf; do
	run_mode $mode
done
kill_restart
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
