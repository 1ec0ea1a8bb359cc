# vfioscope track on edu bound to plain vfio-pci: no DMA logging, so the tracker must choose
# type1 IOMMU dirty tracking, which reports every mapped page dirty on every sync. Also the
# refusals (forced device method, vIOMMU blocker, iommufd absent, section outside the IOVA
# window), perpetual dirty, a sync failure and SIGINT.
# vm-timeout: 480
set -u
. tests/vm/guest-lib.sh
. tests/vm/track-lib.sh
bdf=$(edu_bdf) || exit 1
echo "edu at $bdf, kernel $(uname -r)"
bind_vfio_pci "$bdf" || exit 1
L=64M@0,32M@4G # 16384 + 8192 pages
T=$(mktemp -d)



vfs track -d "$bdf" --layout $L --interval 200ms --count 4 --workload edu:0x100000 --json \
	>"$T/auto.json" 2>"$T/auto.err"
rc=$?
cat "$T/auto.json" "$T/auto.err"
check "auto on plain vfio-pci exits 0" [ $rc = 0 ]
check "auto chose the IOMMU method (type1 backend)" \
	json_check "$T/auto.json" 'start["method"] == "type1" and start["backend"] == "type1v2"'
check "the reason device tracking was not used names the device and ENOTTY" \
	json_check "$T/auto.json" '"does not support DMA logging: Inappropriate ioctl" in start["fallback_reason"]'
check "4 syncs, each reporting all 24576 mapped pages dirty (type1 semantics)" \
	json_check "$T/auto.json" 'len(syncs) == 4 and all(s["dirty_pages"] == 24576 == s["tracked_pages"] for s in syncs)'
check "each sync handed 2 bitmaps (2048 + 1024 bytes) to GET_BITMAP" \
	json_check "$T/auto.json" 'all(s["queries"] == 2 and s["bitmap_bytes"] == 3072 for s in syncs)'
check "summary ok, tracking stopped" \
	json_check "$T/auto.json" 'summary["result"] == "ok" and summary["syncs"] == 4 and not summary["tracking_active"]'
python3 - "$T/auto.json" <<'EOF'
import json, sys
d = [json.loads(l)["duration_ns"] for l in open(sys.argv[1]) if '"sync"' in l]
print("sync durations (type1, 96 MiB, 2 GET_BITMAP): " + " ".join("%.3fms" % (x / 1e6) for x in d))
EOF

out=$(vfs track -d "$bdf" --layout $L --interval 100ms --count 2 2>&1)
rc=$?
echo "$out"
check "text output: one line per sync and a summary" \
	sh -c '[ $0 = 0 ] && [ "$(echo "$1" | grep -c "^sync [0-9]*: type1, 24576 dirty pages")" = 2 ] && echo "$1" | grep -q "^summary: ok"' "$rc" "$out"

# The five sections nested QEMU 10 maps for `-m 256`: 5 GET_BITMAPs, 8208 bitmap bytes a sync.
vfs track -d "$bdf" --layout 0xc0000@0,0x20000@0xc0000,0x20000@0xe0000,0xff00000@0x100000,0x40000@0xfffc0000 --interval 100ms --count 2 --json >"$T/q.json" 2>&1
check "QEMU's 256 MiB layout: exit 0, 5 GET_BITMAPs and 8208 bitmap bytes per sync, 65600 pages" \
	json_check "$T/q.json" 'summary["result"] == "ok" and len(syncs) == 2 and all(s["queries"] == 5 and s["bitmap_bytes"] == 8208 and s["dirty_pages"] == 65600 for s in syncs)'

out=$(vfs track -d "$bdf" --layout $L --method device --count 1 2>&1)
rc=$?
echo "$out"
check "forced device method fails with exit 1 and names device and errno" \
	sh -c '[ $0 = 1 ] && echo "$1" | grep -q "failed to use device dirty tracking: $2 does not support DMA logging: Inappropriate ioctl for device"' "$rc" "$out" "$bdf"

out=$(vfs track -d "$bdf" --layout $L,viommu --method device --count 1 2>&1)
rc=$?
echo "$out"
check "vIOMMU layout: device method refused with QEMU's migration blocker" \
	sh -c '[ $0 = 1 ] && echo "$1" | grep -q "device dirty tracking is blocked with a vIOMMU"' "$rc" "$out"

out=$(vfs track -d "$bdf" --layout $L --method perpetual --interval 100ms --count 2 2>&1)
rc=$?
echo "$out"
check "perpetual dirty is stated as such and marks every page" \
	sh -c '[ $0 = 0 ] && echo "$1" | grep -q "PERPETUAL DIRTY" && [ "$(echo "$1" | grep -c "perpetual, 24576 dirty pages")" = 2 ]' "$rc" "$out"

out=$(vfs track -d "$bdf" --layout 1M@0xfee00000 --count 1 2>&1)
rc=$?
echo "$out"
check "a section in the MSI hole is refused against the IOMMU's valid IOVA ranges" \
	sh -c '[ $0 = 1 ] && echo "$1" | grep -q "outside the IOMMU.s valid IOVA ranges"' "$rc" "$out"

out=$(vfs track -d "$bdf" --layout $L --workload edu:0x5000000 --count 1 2>&1)
rc=$?
echo "$out"
check "a workload target outside the mapped RAM is refused before any DMA" \
	sh -c '[ $0 = 1 ] && echo "$1" | grep -q "failed to use workload target 0x5000000+64: not inside one mapped RAM section"' "$rc" "$out"

out=$(vfs track -d "$bdf" --backend iommufd --count 1 2>&1)
rc=$?
echo "$out"
if [ -e /dev/iommu ]; then
	echo "skip: this kernel has /dev/iommu; the iommufd absence message is not checked"
else
	check "iommufd backend on a kernel without it: a clear message, exit 1" \
		sh -c '[ $0 = 1 ] && echo "$1" | grep -q "CONFIG_IOMMUFD is not set"' "$rc" "$out"
fi

out=$(vfs track -d "$bdf" --layout $L --interval 100ms --count 3 --inject-fault iommu_report:2:EFAULT 2>&1)
rc=$?
echo "$out"
check "a failing GET_BITMAP stops tracking, names the step and errno, exit 1" \
	sh -c '[ $0 = 1 ] && echo "$1" | grep -q "failed to get the IOMMU dirty bitmap (iova 0x100000000, size 0x2000000): Bad address" && echo "$1" | grep -q "^summary: FAILED"' "$rc" "$out"

"$V" track -d "$bdf" --layout $L --interval 100ms --count 100000 --json >"$T/int.json" 2>&1 &
pid=$!
wait_started "$T/int.json"
sleep 2
kill -INT $pid
wait_bounded $pid
rc=$?
tail -n 2 "$T/int.json"
check "SIGINT stops tracking cleanly: exit 0, interrupted, not active" \
	sh -c '[ $0 = 0 ] && grep -q "\"interrupted\":true" "$1" && grep -q "\"tracking_active\":false" "$1"' "$rc" "$T/int.json"
# The container is reusable afterwards: nothing was left attached or tracking.
out=$(vfs track -d "$bdf" --layout $L --interval 100ms --count 1 2>&1)
check "the device is reusable after the interrupted run" sh -c '[ $0 = 0 ]' $?

out=$(vfs track -d "$bdf" --layout $L --interval 300ms --duration 1s 2>&1)
rc=$?
check "--duration 1s at 300 ms: 3 syncs, exit 0" \
	sh -c '[ $0 = 0 ] && [ "$(echo "$1" | grep -c "^sync ")" = 3 ]' "$rc" "$out"

# On demand: SIGUSR1 syncs at once, long before the 60 s interval.
"$V" track -d "$bdf" --layout $L --interval 60s --count 2 >"$T/usr1.txt" 2>&1 &
pid=$!
wait_started "$T/usr1.txt"
kill -USR1 $pid
for i in $(seq 50); do [ "$(grep -c "^sync " "$T/usr1.txt")" = 1 ] && break; sleep 0.2; done
kill -USR1 $pid
for i in $(seq 50); do kill -0 $pid 2>/dev/null || break; sleep 0.2; done
kill -0 $pid 2>/dev/null && kill -INT $pid
wait_bounded $pid
rc=$?
cat "$T/usr1.txt"
check "SIGUSR1 twice: two on-demand syncs and a clean exit within seconds" \
	sh -c '[ $0 = 0 ] && [ "$(grep -c "^sync " "$1")" = 2 ] && grep -q "^summary: ok, 2 syncs" "$1"' "$rc" "$T/usr1.txt"

rm -rf "$T"
checks_done
