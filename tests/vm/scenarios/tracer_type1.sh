# The tracer against real VFIO: tests/vm/src/tracer_type1 maps, unmaps and runs type1 dirty
# tracking while `vfioscope trace --json` runs in each way in (fentry, kprobe, tp_btf), and
# `vfioscope state --json` is checked against what the program did, while it holds its files
# and after it exited (tests/vm/scenarios/tracer_check.py).
# vm-timeout: 600
set -u
. tests/vm/guest-lib.sh
bdf=$(edu_bdf)
bind_vfio_pci "$bdf" || exit 1
group=$(group_of "$bdf")
driver=$(basename "$(readlink "/sys/bus/pci/devices/$bdf/driver")")
VS=$BUILD/vfioscope
tmp=$(mktemp -d)
pass=0 fail=0

count() { # LOG: add its ok/FAIL lines to the totals
	pass=$((pass + $(grep -c '^ok: ' "$1")))
	fail=$((fail + $(grep -c '^FAIL: ' "$1")))
	cat "$1"
}

run_mode() {
	local mode=$1 d=$tmp/$1 tpid ppid i
	mkdir -p "$d"
	"$VS" trace --json --mode "$mode" >"$d/trace.json" 2>"$d/trace.err" &
	tpid=$!
	for i in $(seq 600); do
		grep -q 'tracing with' "$d/trace.err" && break
		kill -0 $tpid 2>/dev/null || break
		sleep 0.1
	done
	if ! grep -q "tracing with $mode" "$d/trace.err"; then
		echo "FAIL: [$mode] the tracer did not start in $mode mode:"
		cat "$d/trace.err"
		fail=$((fail + 1))
		kill $tpid 2>/dev/null
		return
	fi
	echo "ok: [$mode] $(grep 'tracing with' "$d/trace.err")"
	pass=$((pass + 1))
	mkfifo "$d/go"
	"$BUILD/tests/vm/tracer_type1" "$bdf" "$group" <"$d/go" >"$d/prog.json" &
	ppid=$!
	exec 3>"$d/go"
	for i in $(seq 600); do
		[ -s "$d/prog.json" ] && break
		sleep 0.1
	done
	"$VS" state --json >"$d/held.json"
	"$VS" state >"$d/held.txt"
	echo go >&3
	exec 3>&-
	wait $ppid
	"$VS" state --json >"$d/after.json"
	sleep 0.5
	kill -INT $tpid
	wait $tpid
	# its closing line: every call it received printed, none lost
	if grep -Eq '^vfioscope: ([1-9][0-9]*) calls traced, \1 printed, 0 lost$' "$d/trace.err"; then
		echo "ok: [$mode] $(tail -n 1 "$d/trace.err")"
		pass=$((pass + 1))
	else
		echo "FAIL: [$mode] no closing 'N calls traced, N printed, 0 lost' line:"
		cat "$d/trace.err"
		fail=$((fail + 1))
	fi
	python3 tests/vm/scenarios/tracer_check.py "$mode" "$d/prog.json" "$d/held.json" \
		"$d/after.json" "$d/trace.json" "$bdf" "$group" "$driver" >"$d/check.log" 2>&1 || true
	count "$d/check.log"
	if grep -q '^FAIL' "$d/check.log"; then
		echo "--- state while held ($mode):"
		cat "$d/held.txt"
		echo "--- trace ($mode):"
		head -c 6000 "$d/trace.json"
	fi
}

echo "edu at $bdf, group $group, kernel $(uname -r)"
"$VS" info | grep '^tracer:'
for mode in fentry kprobe tp_btf; do
	run_mode $mode
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
