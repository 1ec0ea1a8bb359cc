# The controller under faults, on edu bound to the DMA-logging test device (tests/kmod): each
# fault gives a clear error naming the step and leaves no device logging, checked against the
# driver's own state (`logging` in its debugfs counters) and its log_stop calls:
# - `track` killed with SIGKILL mid-session: the kernel closes the device fd, and closing the
#   device's last fd ends its logging (the driver's close_device);
# - memory exhausted: `track` under an address-space limit below its layout's RAM (the RAM is
#   mapped before the bitmaps, so it runs out first; the bitmaps' own failure is in
#   tests/unit/test_tracker.c);
# - a REPORT that fails in the driver mid-session (EIO, then ENOMEM: an exhausted allocation),
#   on kernels whose REPORT reaches the driver;
# - the device removed through sysfs while tracked: the kernel asks for the device back (the PCI
#   request interrupt); `track` and `serve --track` stop logging, release the device and say
#   why, and the removal completes instead of waiting for them to exit.
# Each backend the kernel has: type1 (the group), and iommufd (the cdev) where it exists.
# vm-kernels: 6.1 6.12-iommufd
# vm-timeout: 420
set -u
. tests/vm/guest-lib.sh
. tests/vm/track-lib.sh
bdf=$(edu_bdf) || exit 1
echo "edu at $bdf, kernel $(uname -r)"
load_edu_vfio_pci || exit 1
bind_driver "$bdf" edu-vfio-pci || exit 1
P=/sys/module/edu_vfio_pci/parameters
L=64M
T=$(mktemp -d)
backends=type1
[ -e /dev/iommu ] && [ -d /sys/bus/pci/devices/$bdf/vfio-dev ] && backends="type1 iommufd"

report_ok=1
grep -qw iova_bitmap_set /proc/kallsyms || report_ok=0

# the driver's own word on whether the device logs (1/0), empty once the device is gone
logging() {
	sed -n 's/^logging //p' "/sys/kernel/debug/edu-vfio-pci/$bdf/migration" 2>/dev/null
}
# wait_logging VALUE: until the driver says so (bounded, 30 s)
wait_logging() {
	for _ in $(seq 150); do
		[ "$(logging)" = "$1" ] && return 0
		sleep 0.2
	done
	return 1
}

for b in $backends; do
	echo "== backend $b"
	# ---- SIGKILL mid-session ----
	"$V" track -d "$bdf" --backend "$b" --layout $L --interval 200ms --count 100000 --json \
		>"$T/kill.json" 2>&1 &
	pid=$!
	wait_logging 1
	check "$b: the driver logs while track runs (logging $(logging))" [ "$(logging)" = 1 ]
	kill -KILL $pid
	wait $pid
	rc=$?
	check "$b: track died of SIGKILL (exit $rc)" [ $rc = 137 ]
	check "$b: the driver stopped logging when the killed process's fd closed (logging $(logging))" \
		[ "$(logging)" = 0 ]
	out=$(vfs track -d "$bdf" --backend "$b" --layout $L --count 1 --json 2>&1)
	check "$b: after the kill the device starts logging again (nothing left behind)" \
		sh -c 'echo "$0" | grep "\"event\":\"start\"" | grep -q "\"method\":\"device\""' "$out"

	# ---- memory exhausted: the address space limited below the layout's RAM ----
	if ldd "$V" 2>/dev/null | grep -q libasan; then
		echo "skip: $b: memory limit (AddressSanitizer reserves terabytes of address space)"
	else
		out=$( (ulimit -v 49152 && exec "$V" track -d "$bdf" --backend "$b" --layout $L --count 1 --json) 2>&1)
		rc=$?
		echo "$out" | tail -n 2
		check "$b: with 48 MiB of address space for a 64 MiB layout: exit 1, the error names the step and errno" \
			sh -c '[ $0 = 1 ] && echo "$1" | grep -q "failed to allocate 67108864 bytes for section at 0x0: Cannot allocate memory"' \
			"$rc" "$out"
		check "$b: nothing started: the driver does not log (logging $(logging))" [ "$(logging)" = 0 ]
		out=$(vfs track -d "$bdf" --backend "$b" --layout $L --count 1 --json 2>&1)
		check "$b: without the limit the device starts logging (nothing left behind)" \
			sh -c 'echo "$0" | grep "\"event\":\"start\"" | grep -q "\"method\":\"device\""' "$out"
	fi

	# ---- a REPORT that fails in the driver ----
	if [ $report_ok = 1 ]; then
		for e in 5:Input/output 12:Cannot; do
			echo "${e%%:*}" >$P/fail_report_errno
			echo 3 >$P/fail_report
			out=$(vfs track -d "$bdf" --backend "$b" --layout $L --interval 100ms --count 5 --json 2>&1)
			rc=$?
			echo "$out" | tail -n 3
			check "$b: the driver fails the 3rd REPORT with errno ${e%%:*}: exit 1, the error names step, device and errno" \
				sh -c '[ $0 = 1 ] && echo "$1" | grep -q "failed to get DMA logging report of $2 (iova 0x0, size 0x4000000): $3"' \
				"$rc" "$out" "$bdf" "${e#*:}"
			check "$b: two syncs worked before it" \
				sh -c 'echo "$0" | grep -c "\"event\":\"sync\"" | grep -qx 2' "$out"
			check "$b: the driver logs no more after the failed REPORT (logging $(logging))" [ "$(logging)" = 0 ]
		done
		echo 0 >$P/fail_report
		echo 5 >$P/fail_report_errno
	else
		echo "skip: $b: this kernel fails every REPORT in core (no iova_bitmap), before the driver"
	fi
done

# ---- the device removed through sysfs while tracked (last: the device comes back by rescan) ----
# rebind BDF after a removal: rescan, then the test driver again
come_back() {
	echo 1 >/sys/bus/pci/rescan
	for _ in $(seq 50); do
		[ -e "/sys/bus/pci/devices/$bdf" ] && break
		sleep 0.2
	done
	bind_driver "$bdf" edu-vfio-pci
}
# remove_bounded: the removal, which the kernel holds until every user closed the device
remove_bounded() {
	timeout 60 sh -c "echo 1 >/sys/bus/pci/devices/$bdf/remove"
}

for b in $backends; do
	"$V" track -d "$bdf" --backend "$b" --layout $L --interval 200ms --count 100000 --json \
		>"$T/rm.json" 2>"$T/rm.err" &
	pid=$!
	wait_logging 1
	check "$b: tracking before the removal (logging $(logging))" [ "$(logging)" = 1 ]
	remove_bounded
	rc_rm=$?
	wait_bounded $pid
	rc=$?
	cat "$T/rm.err"
	tail -n 1 "$T/rm.json"
	check "$b: the removal completed while track ran (timeout exit $rc_rm), the device is gone" \
		sh -c '[ $0 = 0 ] && [ ! -e /sys/bus/pci/devices/$1 ]' "$rc_rm" "$bdf"
	check "$b: track says the device is being removed and tracking stopped: exit 1" \
		sh -c '[ $0 = 1 ] && grep -q "$1 is being removed (the kernel asked for the device back): dirty tracking stopped" "$2"' \
		"$rc" "$bdf" "$T/rm.err"
	check "$b: its summary says tracking is off, with the reason" \
		json_check "$T/rm.json" 'summary["tracking_active"] is False and "is being removed" in summary.get("error", "")'
	come_back
	check "$b: the device is back on the test driver" [ -e "/sys/kernel/debug/edu-vfio-pci/$bdf/migration" ]
done

# serve --track: stops tracking, releases the device, keeps serving and says so in /metrics.
"$V" serve --listen 127.0.0.1:0 --port-file "$T/port" --no-tracer --track -- -d "$bdf" --layout $L \
	--interval 200ms --count 100000 >"$T/serve.out" 2>&1 &
spid=$!
wait_logging 1
for _ in $(seq 50); do [ -s "$T/port" ] && break; sleep 0.2; done
port=$(cat "$T/port" 2>/dev/null)
check "serve --track: tracking before the removal (logging $(logging))" [ "$(logging)" = 1 ]
remove_bounded
rc_rm=$?
check "serve --track: the removal completed while serve ran (timeout exit $rc_rm)" [ $rc_rm = 0 ]
sleep 1
m=$(curl -s "http://127.0.0.1:$port/metrics")
check "serve --track: still serving, with tracking off" \
	sh -c 'echo "$0" | grep -q "^vfio_dirty_tracking_active{container=\"track\"[^}]*} 0"' "$m"
check "serve --track: its log says the device is being removed" \
	grep -q "$bdf is being removed (the kernel asked for the device back)" "$T/serve.out"
kill -TERM $spid
wait_bounded $spid
rc=$?
check "serve --track: exits 1 at the end (tracking failed)" [ $rc = 1 ]
come_back

rm -rf "$T"
checks_done
