# The tracer against real iommufd: tests/vm/iommufd/iommufd_ops drives /dev/iommu and edu's VFIO
# cdev (every iommufd op: IOAS alloc/allow/ranges/map/copy/unmap/destroy, bind, attach to an
# IOAS and to a HWPT, HWPT alloc with and without dirty tracking, hw info, detach, close) while
# `vfioscope trace --json` runs in each way in (fentry, kprobe, tp_btf); `vfioscope state --json`
# is taken at each of its phases and after it exited, and checked against what it says it did
# (tests/vm/scenarios/tracer_iommufd_check.py).
# With the argument test-domain (tracer_iommufd_test_domain.host.sh boots with intel_iommu=off)
# the program runs on the kernel's IOMMUFD_TEST mock domain instead, where HWPT dirty tracking
# really runs: QEMU's VT-d refuses it.
# vm-kernels: 6.12-iommufd
# vm-timeout: 900
set -u
. tests/vm/guest-lib.sh
what=${1:-device}
if [ ! -e /dev/iommu ]; then
	echo "skip: this kernel has no iommufd (/dev/iommu)"
	exit 77
fi
VS=$BUILD/vfioscope
P=$BUILD/tests/vm/iommufd_ops
[ -x "$P" ] || { echo "$P not built (make kmod)"; exit 1; }
if [ "$what" = test-domain ]; then
	arg=--test-domain bdf=none nphases=3
	echo "the kernel's IOMMUFD_TEST domain (not hardware), kernel $(uname -r)"
else
	bdf=$(edu_bdf) || exit 1
	bind_vfio_pci "$bdf" || exit 1
	arg=$bdf nphases=3
	echo "edu at $bdf, VFIO cdev $(ls "/sys/bus/pci/devices/$bdf/vfio-dev/"), kernel $(uname -r)"
fi
tmp=$(mktemp -d)
pass=0 fail=0

count() { # LOG: add its ok/FAIL lines to the totals
	pass=$((pass + $(grep -c '^ok: ' "$1")))
	fail=$((fail + $(grep -c '^FAIL: ' "$1")))
	cat "$1"
}

run_mode() {
	local mode=$1 d=$tmp/$1 tpid ppid i n
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
	"$P" $arg <"$d/go" >"$d/prog.json" &
	ppid=$!
	exec 3>"$d/go"
	# one state per phase, taken while the program waits for its go-ahead
	for n in $(seq "$nphases"); do
		for i in $(seq 600); do
			[ "$(wc -l <"$d/prog.json")" -ge $n ] && break
			kill -0 $ppid 2>/dev/null || break
			sleep 0.1
		done
		"$VS" state --json >"$d/held$n.json"
		"$VS" state >"$d/held$n.txt"
		echo go >&3
	done
	exec 3>&-
	wait $ppid
	echo "program exit status $?" >"$d/prog.rc"
	"$VS" state --json >"$d/after.json"
	sleep 0.5
	kill -INT $tpid
	wait $tpid
	if grep -Eq '^vfioscope: ([1-9][0-9]*) calls traced, \1 printed, 0 lost$' "$d/trace.err"; then
		echo "ok: [$mode] $(tail -n 1 "$d/trace.err")"
		pass=$((pass + 1))
	else
		echo "FAIL: [$mode] no closing 'N calls traced, N printed, 0 lost' line:"
		cat "$d/trace.err"
		fail=$((fail + 1))
	fi
	python3 tests/vm/scenarios/tracer_iommufd_check.py "$mode" "$what" "$d" "$bdf" \
		>"$d/check.log" 2>&1 || true
	count "$d/check.log"
	if grep -q '^FAIL' "$d/check.log"; then
		echo "--- program ($mode):"
		cat "$d/prog.json" "$d/prog.rc"
		for n in $(seq "$nphases"); do
			echo "--- state at phase $n ($mode):"
			cat "$d/held$n.txt"
		done
		echo "--- trace ($mode):"
		head -c 8000 "$d/trace.json"
	fi
}

for mode in fentry kprobe tp_btf; do
	run_mode $mode
done
# the plain state at the first phase of the last mode, for the log
echo "--- vfioscope state, first phase (tp_btf):"
cat "$tmp/tp_btf/held1.txt"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
