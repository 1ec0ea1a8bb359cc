# vfioscope track on edu bound to the DMA-logging test device (tests/kmod, edu-vfio-pci): the
# tracker must choose device DMA logging over the seed's ranges and report exactly the pages
# the edu workload wrote. A device that refuses START (the same device opened twice: the
# driver refuses a second START with EBUSY) must be rolled back, a failing REPORT must stop
# logging, and SIGINT must stop logging before exit; the driver's log_start/log_stop calls are
# counted with the kernel's function tracer (close_device does not go through log_stop).
# Debian 6.12 has no CONFIG_IOMMUFD_DRIVER, so no iova_bitmap: the kernel fails every
# DMA_LOGGING_REPORT with EOPNOTSUPP before the driver is asked. There the scenario checks that
# the first sync fails with that error, named, and that logging is stopped.
# vm-timeout: 480
set -u
. tests/vm/guest-lib.sh
. tests/vm/track-lib.sh
bdf=$(edu_bdf) || exit 1
echo "edu at $bdf, kernel $(uname -r)"
load_edu_vfio_pci || exit 1
bind_driver "$bdf" edu-vfio-pci || exit 1
L=64M@0,32M@4G
T=$(mktemp -d)

report_ok=1
if ! grep -qw iova_bitmap_set /proc/kallsyms; then
	report_ok=0
	echo "# this kernel has no iova_bitmap_set: every DMA_LOGGING_REPORT fails with EOPNOTSUPP"
fi


# ---- function tracer on the driver's log ops (skipped when the kernel lacks it) ----
TR=/sys/kernel/tracing
[ -e $TR/set_ftrace_filter ] || TR=/sys/kernel/debug/tracing
ftrace=0
if grep -q '^edu_log_stop ' $TR/available_filter_functions 2>/dev/null &&
	printf 'edu_log_start\nedu_log_stop\n' >$TR/set_ftrace_filter 2>/dev/null &&
	echo function >$TR/current_tracer; then
	ftrace=1
	echo 1 >$TR/tracing_on
fi
trace_reset() { [ $ftrace = 1 ] && echo >$TR/trace; }
calls() { grep -c " $1 <-\| $1()" $TR/trace; }
check_calls() { # description, function, expected count
	if [ $ftrace = 1 ]; then
		check "$1 ($2 called $(calls "$2") times)" [ "$(calls "$2")" = "$3" ]
	else
		echo "skip: $1 (no function tracer for edu_vfio_pci here)"
	fi
}

# Pages the workload writes: one inside a page, one at its start, one crossing into the next
# page, and one right at the top of the low region; all below edu's 256 MiB dma_mask.
W=edu:0x100000,0x2345678+100,0x1fff800+4095,0x3fff000+4095
EXPECT='["0x100000", "0x1fff000", "0x2000000", "0x2345000", "0x3fff000"]'

trace_reset
vfs track -d "$bdf" --layout $L --interval 300ms --count 3 --workload $W --json \
	>"$T/dev.json" 2>"$T/dev.err"
rc=$?
cat "$T/dev.json" "$T/dev.err"
check "auto chose device DMA logging" json_check "$T/dev.json" 'start["method"] == "device" and "fallback_reason" not in start'
check "START got the seed's two ranges: [0, 64 MiB) and [4 GiB, +32 MiB)" \
	json_check "$T/dev.json" 'start["ranges"] == [{"iova": "0x0", "length": "0x4000000"}, {"iova": "0x100000000", "length": "0x2000000"}]'
check_calls "one START reached the driver" edu_log_start 1
check_calls "one STOP reached the driver" edu_log_stop 1
if [ $report_ok = 1 ]; then
	check "auto on edu-vfio-pci exits 0" [ $rc = 0 ]
	check "every sync reports exactly the 5 pages the workload wrote" \
		json_check "$T/dev.json" "len(syncs) == 3 and all(s['dirty_iovas'] == $EXPECT and s['dirty_pages'] == 5 for s in syncs)"
	check "one REPORT per section per device, bitmaps of 2048 + 1024 bytes" \
		json_check "$T/dev.json" 'all(s["queries"] == 2 and s["bitmap_bytes"] == 3072 for s in syncs)'
	check "summary ok, logging stopped" json_check "$T/dev.json" 'summary["result"] == "ok" and not summary["tracking_active"]'
	python3 - "$T/dev.json" <<'EOF'
import json, sys
d = [json.loads(l)["duration_ns"] for l in open(sys.argv[1]) if '"sync"' in l]
print("sync durations (device, 96 MiB, 2 REPORT): " + " ".join("%.3fms" % (x / 1e6) for x in d))
EOF

	# Without a workload, nothing is dirty: the device method is precise, unlike type1.
	out=$(vfs track -d "$bdf" --layout $L --interval 100ms --count 2 2>&1)
	rc=$?
	echo "$out"
	check "no DMA, no dirty pages" \
		sh -c '[ $0 = 0 ] && [ "$(echo "$1" | grep -c "^sync [0-9]*: device, 0 dirty pages")" = 2 ]' "$rc" "$out"
else
	check "REPORT unsupported by this kernel: exit 1" [ $rc = 1 ]
	check "the error names the step, device, range and EOPNOTSUPP, with the kernel hint; logging stopped" \
		json_check "$T/dev.json" '"failed to get DMA logging report of %s (iova 0x0, size 0x4000000): Operation not supported" % start["devices"][0] in summary["error"] and "CONFIG_IOMMUFD_DRIVER" in summary["error"] and summary["syncs"] == 0 and not summary["tracking_active"]'
fi

# The five sections nested QEMU 10 maps for `-m 256` (test-device.md §6.8): the seed's START is
# one range [0, 4 GiB), and a sync is 5 REPORTs with 24 + 8 + 8 + 8160 + 8 = 8208 bitmap bytes.
Q=0xc0000@0,0x20000@0xc0000,0x20000@0xe0000,0xff00000@0x100000,0x40000@0xfffc0000
vfs track -d "$bdf" --layout $Q --interval 100ms --count 2 --json >"$T/q.json" 2>&1
rc=$?
cat "$T/q.json"
check "QEMU's 256 MiB layout: START is one range, iova 0x0 length 0x100000000" \
	json_check "$T/q.json" 'start["ranges"] == [{"iova": "0x0", "length": "0x100000000"}]'
if [ $report_ok = 1 ]; then
	check "QEMU's 256 MiB layout: 5 REPORTs and 8208 bitmap bytes per sync" \
		json_check "$T/q.json" 'len(syncs) == 2 and all(s["queries"] == 5 and s["bitmap_bytes"] == 8208 for s in syncs)'
fi

# Exact ranges and the pci64 bucket, accepted by this driver.
vfs track -d "$bdf" --layout 32M@0,16M@0x8000000,16M@4G,16M@0x8000000000:bar --ranges exact \
	--interval 100ms --count 1 --json >"$T/exact.json" 2>&1
rc=$?
cat "$T/exact.json"
check "--ranges exact exits 0 (1 where REPORT cannot work)" [ $rc = $((1 - report_ok)) ]
check "--ranges exact sends every mapped interval (4 ranges)" \
	json_check "$T/exact.json" 'len(start["ranges"]) == 4 and start["ranges"][1] == {"iova": "0x8000000", "length": "0x1000000"}'
vfs track -d "$bdf" --layout 32M@0,16M@0x8000000,16M@4G,16M@0x8000000000:bar \
	--interval 100ms --count 1 --json >"$T/seed.json" 2>&1
check "ranges of QEMU's range algorithm exit 0 (1 where REPORT cannot work)" [ $? = $((1 - report_ok)) ]
check "QEMU's range algorithm: 32-bit, 64-bit and the pci64 BAR bucket (3 ranges)" \
	json_check "$T/seed.json" '[r["iova"] for r in start["ranges"]] == ["0x0", "0x100000000", "0x8000000000"] and start["ranges"][0]["length"] == "0x9000000"'

# A device that fails to start: listed twice, the second START on the same device is refused.
trace_reset
out=$(vfs track -d "$bdf" -d "$bdf" --layout $L --method device --count 1 2>&1)
rc=$?
echo "$out"
check "a START refused by the driver: exit 1, the error names the step, device and errno" \
	sh -c '[ $0 = 1 ] && echo "$1" | grep -q "failed to start DMA logging on $2: Device or resource busy"' "$rc" "$out" "$bdf"
check_calls "rollback: two STARTs reached the driver" edu_log_start 2
check_calls "rollback: the started device got its STOP (nothing left logging)" edu_log_stop 1

# A START failure injected on the first device: nothing reaches the driver, nothing to stop.
trace_reset
out=$(vfs track -d "$bdf" --layout $L --count 1 --inject-fault dev_start:1:EIO 2>&1)
rc=$?
echo "$out"
check "an injected START failure is an error, not a fallback" \
	sh -c '[ $0 = 1 ] && echo "$1" | grep -q "failed to start DMA logging on $2: Input/output error"' "$rc" "$out" "$bdf"
check_calls "no STOP without a START" edu_log_stop 0

# A failing REPORT stops logging on every device (injected where the kernel's REPORT works).
if [ $report_ok = 1 ]; then
	trace_reset
	out=$(vfs track -d "$bdf" --layout $L --interval 100ms --count 3 --inject-fault dev_report:3:EIO 2>&1)
	rc=$?
	echo "$out"
	check "a failing REPORT: exit 1, names device, iova, size and errno" \
		sh -c '[ $0 = 1 ] && echo "$1" | grep -q "failed to get DMA logging report of $2 (iova 0x0, size 0x4000000): Input/output error"' "$rc" "$out" "$bdf"
	check_calls "logging stopped after the failed sync" edu_log_stop 1
fi

# SIGINT/SIGTERM: logging is stopped before exit.
for sig in INT TERM; do
	trace_reset
	# the signal lands while waiting for the first sync (which 6.12 could not do)
	"$V" track -d "$bdf" --layout $L --interval 60s --count 100 --json >"$T/sig.json" 2>&1 &
	pid=$!
	wait_started "$T/sig.json"
	sleep 1
	kill -$sig $pid
	wait_bounded $pid
	rc=$?
	tail -n 1 "$T/sig.json"
	check "SIG$sig: exit 0, interrupted, logging stopped" \
		sh -c '[ $0 = 0 ] && grep -q "\"interrupted\":true" "$1" && grep -q "\"tracking_active\":false" "$1"' "$rc" "$T/sig.json"
	check_calls "SIG$sig: STOP reached the driver before exit" edu_log_stop 1
done

if [ $ftrace = 1 ]; then
	echo nop >$TR/current_tracer
	echo >$TR/set_ftrace_filter
fi
rm -rf "$T"
checks_done
