# vfioscope track --backend iommufd on the project's own kernel: /dev/iommu, one IOAS, edu
# through its VFIO cdev (/dev/vfio/devices/vfioN, BIND_IOMMUFD, ATTACH_IOMMUFD_PT), guest RAM
# mapped with IOAS_MAP at fixed IOVAs.
# - edu on the DMA-logging test driver (edu-vfio-pci): the device method reports exactly the
#   pages the edu workload wrote, as on type1 (track_devlog.sh), and the sync durations of both
#   backends are printed side by side for the same layout.
# - edu on plain vfio-pci behind QEMU's emulated VT-d, which has no second-stage dirty bits:
#   the kernel offers no dirty-tracking HWPT (GET_HW_INFO without IOMMU_HW_CAP_DIRTY_TRACKING),
#   so auto falls back to perpetual dirty and says why, and a forced IOMMU method fails naming
#   the step and the device. HWPT dirty tracking itself runs on the kernel's test domain:
#   track_iommufd_test_domain.host.sh.
# vm-kernels: 6.12-iommufd
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
cdev=$(ls "/sys/bus/pci/devices/$bdf/vfio-dev/")
echo "VFIO cdev of $bdf: /dev/vfio/devices/$cdev"

# the same pages as track_devlog.sh: inside a page, at its start, crossing into the next page,
# at the top of the low region
W=edu:0x100000,0x2345678+100,0x1fff800+4095,0x3fff000+4095
EXPECT='["0x100000", "0x1fff000", "0x2000000", "0x2345000", "0x3fff000"]'

# ---- device method through the cdev ----
"$V" track -b iommufd -d "$bdf" --layout $L --interval 60s --count 100 --json >"$T/fds.json" 2>&1 &
pid=$!
wait_started "$T/fds.json"
fds=$(ls -l /proc/$pid/fd 2>/dev/null)
kill -INT $pid
wait_bounded $pid
rc=$?
echo "$fds" | grep -o '/dev/[^ ]*' | sort -u
check "the iommufd backend holds /dev/iommu and the cdev /dev/vfio/devices/$cdev, not /dev/vfio/vfio" \
	sh -c 'echo "$0" | grep -q " /dev/iommu$" && echo "$0" | grep -q " /dev/vfio/devices/$1$" && ! echo "$0" | grep -q " /dev/vfio/vfio$"' "$fds" "$cdev"
check "SIGINT: exit 0, logging stopped" \
	sh -c '[ $0 = 0 ] && grep -q "\"tracking_active\":false" "$1"' "$rc" "$T/fds.json"

vfs track -b iommufd -d "$bdf" --layout $L --interval 300ms --count 3 --workload $W --json \
	>"$T/dev.json" 2>"$T/dev.err"
rc=$?
cat "$T/dev.json" "$T/dev.err"
check "auto on edu-vfio-pci via iommufd exits 0" [ $rc = 0 ]
check "auto chose device DMA logging on the iommufd backend" \
	json_check "$T/dev.json" 'start["backend"] == "iommufd" and start["method"] == "device" and "fallback_reason" not in start'
check "START got the seed's two ranges, as on type1" \
	json_check "$T/dev.json" 'start["ranges"] == [{"iova": "0x0", "length": "0x4000000"}, {"iova": "0x100000000", "length": "0x2000000"}]'
check "every sync reports exactly the 5 pages the workload wrote" \
	json_check "$T/dev.json" "len(syncs) == 3 and all(s['dirty_iovas'] == $EXPECT and s['dirty_pages'] == 5 for s in syncs)"
check "one REPORT per section, bitmaps of 2048 + 1024 bytes" \
	json_check "$T/dev.json" 'all(s["queries"] == 2 and s["bitmap_bytes"] == 3072 for s in syncs)'
check "summary ok, logging stopped" \
	json_check "$T/dev.json" 'summary["result"] == "ok" and not summary["tracking_active"]'

out=$(vfs track -b iommufd -d "$bdf" --layout $L --interval 100ms --count 2 2>&1)
rc=$?
echo "$out"
check "no DMA, no dirty pages (text output names the iommufd backend)" \
	sh -c '[ $0 = 0 ] && echo "$1" | grep -q "with device dirty tracking (iommufd backend" && [ "$(echo "$1" | grep -c "^sync [0-9]*: device, 0 dirty pages")" = 2 ]' "$rc" "$out"

# A failing REPORT stops logging, as on type1 (injected: the kernel's REPORT works here).
vfs track -b iommufd -d "$bdf" --layout $L --interval 100ms --count 3 --json \
	--inject-fault dev_report:3:EIO >"$T/rep.json" 2>&1
rc=$?
check "a failing REPORT via iommufd: exit 1, names device, iova, size and errno, logging stopped" \
	json_check "$T/rep.json" "$rc == 1 and summary['error'] == 'failed to get DMA logging report of $bdf (iova 0x0, size 0x4000000): Input/output error' and not summary['tracking_active']"

# One cdev bound once: the same device twice is refused at the second bind (VFIO takes one
# iommufd bind per device), and nothing is left bound: the next run gets the device.
out=$(vfs track -b iommufd -d "$bdf" -d "$bdf" --layout $L --count 1 2>&1)
rc=$?
echo "$out"
check "the same device twice via iommufd: exit 1, the bind step named with the kernel's errno" \
	sh -c '[ $0 = 1 ] && echo "$1" | grep -q "failed to bind $2 to iommufd: Invalid argument"' "$rc" "$out" "$bdf"
vfs track -b iommufd -d "$bdf" --layout $L --interval 100ms --count 1 >/dev/null 2>&1
check "after it the device binds again (nothing left behind)" [ $? = 0 ]

# ---- the same 20 syncs on both backends: exact pages on each, durations side by side ----
for b in iommufd type1; do
	vfs track -b $b -d "$bdf" --layout $L --method device --interval 100ms --count 20 \
		--workload $W --json >"$T/cost-$b.json" 2>&1
	check "$b backend: 20 syncs of exactly the 5 written pages" \
		json_check "$T/cost-$b.json" "summary['result'] == 'ok' and len(syncs) == 20 and all(s['dirty_iovas'] == $EXPECT for s in syncs)"
done
python3 - "$T/cost-iommufd.json" "$T/cost-type1.json" <<'EOF'
import json, statistics, sys
print("sync durations, device method, 64M@0,32M@4G, 2 REPORTs a sync, 20 syncs:")
for name, path in zip(("iommufd", "type1"), sys.argv[1:]):
    d = [json.loads(l)["duration_ns"] / 1e6 for l in open(path) if '"event":"sync"' in l]
    if d:
        print("  %-7s min %.3f  median %.3f  mean %.3f  max %.3f ms  (%s)" % (
            name, min(d), statistics.median(d), statistics.mean(d), max(d),
            " ".join("%.3f" % x for x in d)))
EOF

# ---- edu on plain vfio-pci behind the emulated VT-d: no dirty-tracking HWPT ----
bind_driver "$bdf" vfio-pci || exit 1
# the kernel's own answer, through the plain uAPI, before the tracker's reading of it
build/tests/vm/iommufd_vtd_dirty "$bdf"
check "the kernel refuses a dirty-tracking HWPT for edu behind VT-d (EOPNOTSUPP), plain uAPI" [ $? = 0 ]
out=$(vfs track -b iommufd -d "$bdf" --layout $L --method iommu --count 2 --json 2>&1)
rc=$?
echo "$out"
echo "$out" | grep '^{' >"$T/iommu.json"
check "--method iommu on VT-d: exit 1" [ $rc = 1 ]
check "the error names the step, the device and the kernel's answer" \
	json_check "$T/iommu.json" '("failed to use IOMMU dirty tracking: %s is on no dirty-tracking HWPT: IOMMU_GET_HW_INFO reports no IOMMU_HW_CAP_DIRTY_TRACKING" % "'"$bdf"'") in summary["error"]'
check "nothing started, nothing left tracking" \
	json_check "$T/iommu.json" 'summary["syncs"] == 0 and not summary["tracking_active"]'

vfs track -b iommufd -d "$bdf" --layout $L --interval 100ms --count 2 --json >"$T/auto.json" 2>"$T/auto.err"
rc=$?
cat "$T/auto.json" "$T/auto.err"
check "auto on plain vfio-pci via iommufd exits 0" [ $rc = 0 ]
check "auto fell back to perpetual dirty, and says so" \
	json_check "$T/auto.json" 'start["method"] == "perpetual" and start["perpetual_fallback"] and start["backend"] == "iommufd"'
check "the fallback reason names the device: no DMA logging (ENOTTY), no dirty-tracking HWPT" \
	json_check "$T/auto.json" '"'"$bdf"' does not support DMA logging: Inappropriate ioctl for device" in start["fallback_reason"] and "IOMMU_GET_HW_INFO reports no IOMMU_HW_CAP_DIRTY_TRACKING" in start["fallback_reason"]'
check "every sync reports all 24576 pages dirty" \
	json_check "$T/auto.json" 'len(syncs) == 2 and all(s["dirty_pages"] == 24576 == s["tracked_pages"] for s in syncs)'
grep -q 'warning: falling back to perpetual dirty' "$T/auto.err"
check "the fallback is also a warning on stderr" [ $? = 0 ]

rm -rf "$T"
checks_done
