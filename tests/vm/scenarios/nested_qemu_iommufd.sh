# QEMU 10 as a real iommufd client: nested_qemu.sh with `-object iommufd,id=iommufd0 -device
# vfio-pci,host=<edu>,iommufd=iommufd0` (edu on edu-vfio-pci, through its VFIO cdev), the same
# migration to file with device dirty tracking and restore, and beside nested_qemu.sh's checks:
# - QEMU's own trace (iommufd_backend_map_dma/unmap_dma) against `vfioscope state`: the IOAS
#   QEMU allocated lists exactly the sections QEMU mapped and did not unmap;
# - the tracer saw QEMU's iommufd calls (BIND, ATTACH, IOAS_MAP) and the device's DMA logging
#   START/REPORT/STOP on the cdev.
# vm-kernels: 6.12-iommufd
# vm-timeout: 1800
# vm-mem: 2048
NESTED_BACKEND=iommufd

# The source QEMU is set up and paused (-S: no firmware has run, so its memory map holds still
# until the migration ends and `cont` lets the firmware move it): what state says now.
nested_before_migrate() {
	python3 $here/nested_qmp.py "$d/src.sock" status
	"$VS" state --json >"$d/state-paused.json"
	"$VS" state >"$d/state-paused.txt"
	echo "-- vfioscope state, QEMU set up and paused:"
	sed 's/^/   /' "$d/state-paused.txt"
}

nested_more_checks() {
	local out
	echo "-- QEMU's iommufd trace:"
	grep -hE 'iommufd_(cdev|backend_(alloc|set_dirty))' "$trace" | sed 's/^[0-9]*@[0-9.]*://' |
		sed 's/^/   /'
	echo "   iommufd_backend_map_dma: $(grep -c iommufd_backend_map_dma "$trace"), unmap_dma: $(grep -c 'iommufd_backend_unmap_dma ' "$trace"), get_dirty_bitmap: $(grep -c iommufd_backend_get_dirty_bitmap "$trace")"
	check "QEMU bound edu's cdev to its iommufd and attached it" \
		grep -q 'iommufd_cdev_attach_ioas_hwpt' "$trace"
	out=$(python3 - "$trace" "$d/state-paused.json" "$d/state.json" "$d/vtrace.txt" "$bdf" <<'EOT'
import json, re, sys
trace, paused, state, vtrace, bdf = sys.argv[1:6]
failed = 0
def check(ok, what):
    global failed
    print(("ok: " if ok else "FAIL: ") + what)
    failed += not ok
# QEMU's own view while it was paused, before the migration: what it mapped (ret 0) and did not
# unmap, per IOAS, from its trace up to the migration's first event
mapped, failed_maps, seq = {}, 0, []
for l in open(trace):
    if re.search(r'vfio_save_setup|vfio_device_dirty_tracking_start|vfio_migration_set_state', l):
        break
    m = re.search(r'iommufd_backend_(map|unmap)_dma .*iova=0x([0-9a-f]+) size=0x([0-9a-f]+).*\((-?\d+)\)', l)
    if m:
        seq.append(f"{m[1]} {hex(int(m[2], 16))}+{hex(int(m[3], 16))}{'' if m[4] == '0' else ' (' + m[4] + ')'}")
    m = re.search(r'iommufd_backend_map_dma .*ioas=(\d+) iova=0x([0-9a-f]+) size=0x([0-9a-f]+).*\((-?\d+)\)', l)
    if m:
        if int(m[4]) == 0:
            mapped.setdefault(int(m[1]), {})[int(m[2], 16)] = int(m[3], 16)
        else:
            failed_maps += 1
        continue
    m = re.search(r'iommufd_backend_unmap_dma .*ioas=(\d+) iova=0x([0-9a-f]+) size=0x([0-9a-f]+).*\((-?\d+)\)', l)
    if m and int(m[4]) == 0:
        lo, hi = int(m[2], 16), int(m[2], 16) + int(m[3], 16)
        d = mapped.get(int(m[1]), {})
        for iova in [i for i in d if i >= lo and i + d[i] <= hi]:
            del d[iova]
print("QEMU's trace before the migration: " + ", ".join(seq))
print(f"QEMU's trace: {sum(len(v) for v in mapped.values())} sections mapped in IOAS {sorted(mapped)}, {failed_maps} map(s) failed")
check(len(mapped) == 1, f"QEMU mapped into one IOAS ({sorted(mapped)})")
s = json.load(open(paused))
ctrs = [c for c in s["containers"] if c["comm"].startswith("qemu-system")]
check(len(ctrs) == 1 and ctrs[0]["backend"] == "iommufd" and not ctrs[0]["partial"],
      f"state (paused): one iommufd container of QEMU, fully known ({[(c['ioas'], c['backend']) for c in ctrs]})")
if len(mapped) == 1 and len(ctrs) == 1:
    ioas, want = next(iter(mapped.items()))
    c = ctrs[0]
    got = {int(m["iova"], 16): int(m["size"], 16) for m in c["mappings"]}
    check(c["ioas"] == ioas, f"state: QEMU's container is its IOAS {ioas} ({c['ioas']})")
    check(got == want, f"state (paused) lists exactly the {len(want)} sections QEMU's trace shows mapped: "
          + " ".join(f"{hex(i)}+{hex(want[i])}" for i in sorted(want))
          + ("" if got == want else "; state: " + " ".join(f"{hex(i)}+{hex(got[i])}" for i in sorted(got))))
    mem = [m for m in c["members"] if m["kind"] == "device"]
    check(len(mem) == 1 and mem[0]["address"] == bdf and mem[0]["opened"] == "cdev"
          and mem[0]["driver"] == "edu-vfio-pci",
          f"state: edu ({bdf}, edu-vfio-pci, opened through the cdev) is QEMU's container's device ({mem})")
    # after the migration (QEMU resumed): the device's logging session
    s = json.load(open(state))
    dev = [x for x in s["devices"] if x["address"] == bdf]
    check(len(dev) == 1 and dev[0]["iommufd"] and dev[0]["iommufd"]["ioas"] == ioas
          and dev[0]["iommufd"]["dev_id"] > 0,
          f"state: the device's iommufd ids (dev_id, attached over IOAS {ioas}): {dev and dev[0]['iommufd']}")
    dl = dev and dev[0]["dma_logging"]
    check(dl and dl["method"] == "device" and dl["reports"] >= 1 and dl["report_errors"] == 0,
          f"state: edu's DMA logging session seen through the cdev ({dl and {k: dl[k] for k in ('active', 'reports', 'report_errors', 'bitmap_bytes')}})")
# the tracer's stream of QEMU's calls
lines = [l for l in open(vtrace) if "qemu-system" in l]
def n(op):
    return sum(1 for l in lines if f" {op}(" in l)
maps, unmaps = n("IOMMU_IOAS_MAP"), n("IOMMU_IOAS_UNMAP")
qemu_maps = sum(1 for l in open(trace) if "iommufd_backend_map_dma " in l)
qemu_unmaps = sum(1 for l in open(trace) if "iommufd_backend_unmap_dma " in l)
print(f"tracer: {len(lines)} QEMU calls; IOAS_MAP {maps}, IOAS_UNMAP {unmaps}, "
      f"DMA_LOGGING START {n('VFIO_DEVICE_FEATURE[DMA_LOGGING_START]')} REPORT {n('VFIO_DEVICE_FEATURE[DMA_LOGGING_REPORT]')} STOP {n('VFIO_DEVICE_FEATURE[DMA_LOGGING_STOP]')}")
check(n("VFIO_DEVICE_BIND_IOMMUFD") >= 1 and n("VFIO_DEVICE_ATTACH_IOMMUFD_PT") >= 1,
      "trace: QEMU's BIND_IOMMUFD and ATTACH_IOMMUFD_PT on edu's cdev")
check(maps == qemu_maps > 0 and unmaps == qemu_unmaps,
      f"trace: one IOMMU_IOAS_MAP/UNMAP for each of QEMU's {qemu_maps} map_dma and {qemu_unmaps} unmap_dma events ({maps}, {unmaps})")
check(all(bdf in l for l in lines if "DMA_LOGGING" in l)
      and n("VFIO_DEVICE_FEATURE[DMA_LOGGING_START]") >= 1 and n("VFIO_DEVICE_FEATURE[DMA_LOGGING_REPORT]") >= 1,
      f"trace: DMA logging START and REPORT on {bdf}'s cdev")
sys.exit(1 if failed else 0)
EOT
)
	echo "$out"
	CHECKS_PASSED=$((CHECKS_PASSED + $(grep -c '^ok: ' <<<"$out")))
	CHECKS_FAILED=$((CHECKS_FAILED + $(grep -c '^FAIL: ' <<<"$out")))
}

. tests/vm/scenarios/nested_qemu.sh
