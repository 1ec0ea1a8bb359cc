# A real VMM drives the reference device: inside the guest, QEMU (>= 8; the host's 10.0.2) runs an
# L2 machine with `-device vfio-pci,host=<edu>` on edu bound to edu-vfio-pci, sees migration
# support, and migrates to a file with device dirty tracking (DMA_LOGGING START/REPORT/STOP);
# a second QEMU restores the file (RESUMING). QEMU's vfio_* trace and an ftrace of the driver's
# log ops are the evidence; the scenario prints what they showed. vfioscope watches the source:
# `state` and serve's /metrics must name edu (address and driver) under QEMU's container.
# TCG inside TCG is slow: L2 stays paused (-S) and has 256 MiB (IOVAs < 256 MiB, edu's dma_mask).
# NESTED_BACKEND=iommufd (set by nested_qemu_iommufd.sh, which sources this file) gives QEMU its
# iommufd backend and edu's VFIO cdev; functions nested_before_migrate (the source is set up and
# paused) and nested_more_checks (last), when defined, run at those points.
# vm-timeout: 1800
# vm-mem: 2048
set -u
. tests/vm/guest-lib.sh
here=tests/vm/scenarios
NESTED_BACKEND=${NESTED_BACKEND:-type1}
bdf=$(edu_bdf) || exit 1
load_edu_vfio_pci || exit 1
bind_driver "$bdf" edu-vfio-pci || exit 1
echo "edu at $bdf on edu-vfio-pci, kernel $(uname -r), $(qemu-system-x86_64 --version | head -n1)"

d=$(mktemp -d /tmp/nested.XXXXXX)
t0=$(date +%s)
el() { echo "$(($(date +%s) - t0))s"; }

# Kernel-side view: which log/migration ops of the driver QEMU reached.
T=/sys/kernel/tracing
ops="edu_log_start edu_log_stop edu_log_read_and_clear edu_set_state"
for f in $ops; do echo "$f" >>$T/set_ftrace_filter; done
# An empty filter would trace every kernel function: never enable the tracer then.
[ "$(grep -c edu_ $T/set_ftrace_filter)" = 4 ] || { echo "ftrace filter not set:"; cat $T/set_ftrace_filter; exit 1; }
echo function >$T/current_tracer
echo >$T/trace
echo 1 >$T/tracing_on

cat >"$d/events" <<'EOT'
vfio_migration_realize
vfio_migration_set_state
vfio_vmstate_change
vfio_listener_region_add_ram
vfio_device_dirty_tracking_start
vfio_get_dirty_bitmap
vfio_save_setup
vfio_save_complete_precopy
vfio_save_cleanup
vfio_load_state
vfio_load_state_device_data
vfio_load_cleanup
EOT
if [ "$NESTED_BACKEND" = iommufd ]; then
	printf '%s\n' iommufd_backend_map_dma iommufd_backend_unmap_dma iommufd_backend_alloc_ioas \
		iommufd_backend_alloc_hwpt iommufd_backend_set_dirty iommufd_backend_get_dirty_bitmap \
		iommufd_cdev_connect_and_bind iommufd_cdev_attach_ioas_hwpt >>"$d/events"
	vfio_opts=,iommufd=iommufd0
	backend_args=(-object iommufd,id=iommufd0)
else
	vfio_opts=
	backend_args=()
fi

# No reported dirty page can come from this device here: L2 runs no code that drives edu, and
# Debian's QEMU has no qtest accelerator to drive it from outside. The check is that QEMU
# selects and drives device tracking end to end; dmalog_test checks the dirty bits themselves.
qemu() { # name, extra args...
	local name=$1
	shift
	qemu-system-x86_64 -m 256 -nodefaults -display none -serial none -monitor none \
		-msg timestamp=on "${backend_args[@]}" \
		-device "vfio-pci,host=$bdf,id=edu0,addr=05.0$vfio_opts" \
		-qmp "unix:$d/$name.sock,server=on,wait=off" \
		-trace "events=$d/events" -D "$d/$name-trace.log" "$@" >"$d/$name.out" 2>&1
}

device_tracking=on
if ! grep -qw iova_bitmap_set /proc/kallsyms; then
	# Debian 6.12 (CONFIG_IOMMUFD_DRIVER=n): the kernel's REPORT cannot work, so QEMU's
	# device-tracked migration must fail at its first REPORT.
	device_tracking=eopnotsupp
fi

# vfioscope: a pinned tracer for `state`, and serve with a tracer of its own
VS=$BUILD/vfioscope
"$VS" trace >"$d/vtrace.txt" 2>"$d/vtrace.err" &
vtpid=$!
"$VS" serve --listen 127.0.0.1:0 --port-file "$d/port" >"$d/serve.log" 2>&1 &
vspid=$!
for i in $(seq 600); do
	grep -q 'tracing with' "$d/vtrace.err" && grep -q 'tracing with' "$d/serve.log" &&
		[ -s "$d/port" ] && break
	sleep 0.1
done
check "vfioscope trace and serve started" grep -q 'tracing with' "$d/vtrace.err" "$d/serve.log"

echo "== source: migrate to file ($(el))"
qemu src -accel tcg -S &
pid=$!
if declare -F nested_before_migrate >/dev/null; then
	nested_before_migrate
fi
python3 $here/nested_qmp.py "$d/src.sock" migrate "file:$d/l2.mig" --cont-after
src_rc=$?
# QEMU still holds edu: what vfioscope says about it
"$VS" state --json >"$d/state.json"
"$VS" state >"$d/state.txt"
curl -sf "http://127.0.0.1:$(cat "$d/port")/metrics" >"$d/metrics.txt"
python3 $here/nested_qmp.py "$d/src.sock" quit >/dev/null 2>&1
wait "$pid"
echo "source QEMU done ($(el)), migrate rc=$src_rc"
cat "$d/src.out"
trace=$d/src-trace.log
ft=$(grep -v '^#' $T/trace)

summary() { # what QEMU's trace showed
	echo "-- QEMU trace:"
	grep -h -E 'vfio_device_dirty_tracking_start|vfio_migration_set_state|vfio_vmstate_change|vfio_save_setup|vfio_save_complete_precopy|vfio_save_cleanup|vfio_load_state |vfio_load_cleanup' "$1" |
		sed 's/^[0-9]*@[0-9.]*://' | sed 's/^/   /'
	echo "   vfio_get_dirty_bitmap: $(grep -c vfio_get_dirty_bitmap "$1") queries"
	grep -h vfio_get_dirty_bitmap "$1" | sed 's/^[0-9]*@[0-9.]*://' | sort | uniq -c |
		sed 's/^/   /'
}
summary "$trace"
echo "-- vfioscope state while QEMU held edu:"
sed 's/^/   /' "$d/state.txt"
grep -E '^vfio_device_(info|dirty_reports_total)' "$d/metrics.txt" | sed 's/^/   /'
ctr=$(python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
bdf = sys.argv[2]
# QEMU is known by its comm: $pid is the pid of the qemu() subshell
c = [c for c in s["containers"] if c["comm"].startswith("qemu-system")
     and any(m.get("address") == bdf and m.get("driver") == "edu-vfio-pci" for m in c["members"])]
print(c[0]["id"] if len(c) == 1 else "")' "$d/state.json" "$bdf")
check "state names edu ($bdf, edu-vfio-pci) under QEMU's container (${ctr:-none})" test -n "$ctr"
check "state: the device's iommu group is sysfs's ($(group_of "$bdf"))" python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
d = [d for d in s["devices"] if d["address"] == sys.argv[2]]
sys.exit(not (d and all(x["iommu_group"] == int(sys.argv[3]) for x in d)))' \
	"$d/state.json" "$bdf" "$(group_of "$bdf")"
check "/metrics: vfio_device_info names edu under QEMU's container" \
	grep -qxF "vfio_device_info{device=\"$bdf\",driver=\"edu-vfio-pci\",container=\"$ctr\"} 1" \
	"$d/metrics.txt"
if [ $device_tracking = on ]; then
	check "/metrics: edu's DMA-logging reports carry its address" \
		grep -qE "^vfio_device_dirty_reports_total\{container=\"$ctr\",device=\"$bdf\"\} [1-9]" \
		"$d/metrics.txt"
fi
kill -INT $vtpid $vspid
wait $vtpid $vspid
echo "-- driver ops (ftrace): start $(grep -c ' edu_log_start' <<<"$ft"), read_and_clear $(grep -c ' edu_log_read_and_clear' <<<"$ft"), stop $(grep -c ' edu_log_stop' <<<"$ft"), set_state $(grep -c ' edu_set_state' <<<"$ft")"

check "QEMU realized migration for the device" grep -q vfio_migration_realize "$trace"
check "QEMU added no migration blocker" bash -c "! grep -qiE 'blocker|migration (is )?(currently )?(not supported|disabled)|support migration|support device and IOMMU dirty' '$d/src.out'"
check "QEMU started device dirty tracking" grep -q vfio_device_dirty_tracking_start "$trace"
check "the driver's log_start ran once" test "$(grep -c ' edu_log_start' <<<"$ft")" = 1
check "the driver's log_stop ran once the source resumed" grep -q ' edu_log_stop' <<<"$ft"
if [ $device_tracking = on ]; then
	check "migration to file completed" test $src_rc = 0
	check "QEMU queried the device's dirty log" grep -q vfio_get_dirty_bitmap "$trace"
	check "the driver's log_read_and_clear ran" grep -q ' edu_log_read_and_clear' <<<"$ft"
	check "the device went through STOP_COPY" grep -q 'new state STOP_COPY' "$trace"
	check "stop came after the last report" bash -c "tail -n1 <<<'$(grep -E ' edu_log_(stop|read_and_clear)' <<<"$ft")' | grep -q edu_log_stop"
else
	check "migration fails at the first REPORT (no iova_bitmap in this kernel)" test $src_rc != 0
	check "QEMU says the DMA logging report failed" grep -q 'Failed to get DMA logging report' "$d/src.out"
	check "the driver's log_read_and_clear was never reached" bash -c "! grep -q ' edu_log_read_and_clear' <<<'$ft'"
	# enable-migration=on lets QEMU fall back to type1 container tracking (every mapped page
	# reported dirty); the device's migration ops are still exercised.
	echo "== source again with x-device-dirty-page-tracking=off (type1 tracking, $(el))"
	echo >$T/trace
	qemu src -accel tcg -S -global vfio-pci.x-device-dirty-page-tracking=off \
		-global vfio-pci.enable-migration=on &
	pid=$!
	python3 $here/nested_qmp.py "$d/src.sock" migrate "file:$d/l2.mig"
	src_rc=$?
	python3 $here/nested_qmp.py "$d/src.sock" quit >/dev/null 2>&1
	wait "$pid"
	cat "$d/src.out"
	summary "$trace"
	check "migration to file completed without device tracking" test $src_rc = 0
	check "the device went through STOP_COPY" grep -q 'new state STOP_COPY' "$trace"
fi

if [ $src_rc = 0 ]; then
	echo "== destination: restore from file ($(el))"
	echo >$T/trace
	qemu dst -accel tcg -S -incoming "file:$d/l2.mig" &
	pid=$!
	python3 $here/nested_qmp.py "$d/dst.sock" incoming --cont
	dst_rc=$?
	python3 $here/nested_qmp.py "$d/dst.sock" quit >/dev/null 2>&1
	wait "$pid"
	cat "$d/dst.out"
	summary "$d/dst-trace.log"
	check "incoming migration completed" test $dst_rc = 0
	check "the device went through RESUMING" grep -q 'new state RESUMING' "$d/dst-trace.log"
	check "QEMU loaded the device's state" grep -q vfio_load_state_device_data "$d/dst-trace.log"
	check "cont took the device from RESUMING to RUNNING" grep -q 'new state RUNNING' "$d/dst-trace.log"
	ft=$(grep -v '^#' $T/trace)
	echo "-- driver ops (ftrace): set_state $(grep -c ' edu_set_state' <<<"$ft")"
fi
echo 0 >$T/tracing_on
echo nop >$T/current_tracer
bad=$(dmesg | grep -E 'WARNING|BUG|Call Trace' || true)
[ -z "$bad" ] || echo "$bad"
check "no kernel warning during the run" test -z "$bad"
if declare -F nested_more_checks >/dev/null; then
	nested_more_checks
fi
echo "total $(el)"
checks_done
