#!/usr/bin/env python3
# Checks `vfioscope trace --json` and `vfioscope state --json` against what
# tests/vm/src/tracer_type1 reports it did. Used by tracer_type1.sh; prints one
# "ok:"/"FAIL:" line per check and exits 1 if any failed.
# usage: tracer_check.py MODE PROGRAM_JSON STATE_HELD STATE_AFTER TRACE_JSONL BDF GROUP DRIVER
import json
import sys

mode, prog_f, held_f, after_f, trace_f, bdf, group, driver = sys.argv[1:9]
prog = json.load(open(prog_f))
held = json.load(open(held_f))
after = json.load(open(after_f))
events = [json.loads(l) for l in open(trace_f) if l.strip()]
pid = prog["pid"]
failed = 0


def check(cond, what):
    global failed
    print(("ok: " if cond else "FAIL: ") + f"[{mode}] {what}")
    if not cond:
        failed += 1


def h(v):
    return int(v, 16) if isinstance(v, str) else v


# ---- state while the program holds its files ----
ctrs = [c for c in held["containers"] if c["pid"] == pid]
check(len(ctrs) == 1, f"state lists one container for pid {pid} (got {len(ctrs)})")
if ctrs:
    c = ctrs[0]
    maps = [[h(m["iova"]), h(m["size"])] for m in c["mappings"]]
    made = prog["maps"] + ([prog["bar"]] if prog["bar_map_errno"] == 0 else [])
    check(maps == made, f"state lists exactly the mappings made: {maps}")
    check(prog["bar_map_errno"] == 0, f"BAR0 mmap mapped for DMA at 8 GiB (errno {prog['bar_map_errno']})")
    bars = [m for m in c["mappings"] if m["bar"]]
    check(len(bars) == 1 and h(bars[0]["iova"]) == prog["bar"][0] and "device" in bars[0]
          and all(not m["bar"] for m in c["mappings"] if m is not bars[0]),
          f"the BAR mapping, and only it, is marked as a BAR of this container's device ({bars})")
    rp = c["qemu_ranges"]["rangepci64"]
    check(rp and h(rp["iova"]) == prog["bar"][0] and h(rp["end"]) == prog["bar"][0] + prog["bar"][1] - 1,
          f"rangepci64 covers the BAR: {rp}")
    check(not c["partial"], "the container is fully known (set up while tracing)")
    check(c["backend"] == "type1v2", f"backend type1v2 ({c['backend']})")
    check(c["mapped_bytes"] == sum(m[1] for m in made), f"mapped bytes {c['mapped_bytes']}")
    r32, r64 = c["qemu_ranges"]["range32"], c["qemu_ranges"]["range64"]
    check(r32 and h(r32["iova"]) == 0 and h(r32["end"]) == 0x1FFFFF, f"range32 {r32}")
    check(r64 and h(r64["iova"]) == 0x100000000 and h(r64["end"]) == 0x1001FFFFF, f"range64 {r64}")
    kinds = sorted(m["kind"] for m in c["members"])
    check(kinds == ["device", "group"], f"members: one group and one device ({kinds})")
    devs = [m for m in c["members"] if m["kind"] == "device"]
    want = {"address": bdf, "driver": driver, "iommu_group": int(group), "opened": "group"}
    check(devs and all(devs[0].get(k) == v for k, v in want.items()),
          f"the device member is named as sysfs says: {want} ({devs})")
    check(bars and bars[0].get("device") == bdf, f"the BAR mapping names its device {bdf}")
    d = c["dirty_tracking"]
    check(d is not None and d["method"] == "type1" and not d["active"] and d["reports"] == prog["reports"]
          and d["bitmap_bytes"] == prog["bitmap_bytes"],
          f"type1 dirty session: stopped, {prog['reports']} reports, {prog['bitmap_bytes']} bitmap bytes ({d})")
procs = [p for p in held["processes"] if p["pid"] == pid]
check(len(procs) == 1 and procs[0]["traced"] and procs[0]["fds"]["container"] == 1
      and procs[0]["fds"]["group"] == 1 and procs[0]["fds"]["device"] == 1,
      f"process found in /proc with its container, group and device fds ({procs})")

# ---- state after the program closed everything and exited ----
check(not [c for c in after["containers"] if c["pid"] == pid], "no container left after exit")
check(not [f for f in after["files"] if f["pid"] == pid], "no file left after exit")

# ---- the trace ----
mine = [e for e in events if e.get("pid") == pid]
ops = [e["op"] for e in mine]
check(mine and all(e["comm"] == "tracer_type1" and e["tid"] == pid for e in mine),
      "every call carries the calling thread's comm and tid " + str({e["comm"] for e in mine}))
for op in ["VFIO_GROUP_GET_STATUS", "VFIO_GROUP_SET_CONTAINER", "VFIO_SET_IOMMU",
           "VFIO_GROUP_GET_DEVICE_FD", "VFIO_IOMMU_DIRTY_PAGES[START]",
           "VFIO_IOMMU_DIRTY_PAGES[STOP]", "VFIO_GROUP_UNSET_CONTAINER"]:
    check(ops.count(op) == 1, f"trace has one {op}")
maps = [e for e in mine if e["op"] == "VFIO_IOMMU_MAP_DMA"]
check([[h(e["args"]["iova"]), h(e["args"]["size"])] for e in maps] ==
      [[0, 0xC0000], [0x100000, 0x100000], [0x200000, 0x100000], [0x100000000, 0x200000]]
      + [prog["bar"]],
      "trace decodes the four RAM and the BAR MAP_DMA iova/size")
maps = maps[:4]
check(all(e["ret"] == 0 and e["kind"] == "container" and e["fd"] == prog["container_fd"]
          for e in maps), "MAP_DMA: container fd, kind container, success")
check(all(e.get("kernel", {}).get("pinned_pages", 0) == h(e["args"]["size"]) // 4096 for e in maps),
      "kernel hook: each MAP_DMA pinned exactly size/4096 pages " +
      str([e.get("kernel", {}).get("pinned_pages") for e in maps]))
unmaps = [e for e in mine if e["op"] == "VFIO_IOMMU_UNMAP_DMA"]
check(len(unmaps) == 2 and unmaps[0]["ret"] == 0 and h(unmaps[0]["result"]["unmapped"]) == 0x100000,
      "UNMAP_DMA of a whole mapping succeeds, 0x100000 bytes unmapped")
check(len(unmaps) == 2 and unmaps[1]["ret"] == -prog["partial_unmap_errno"] != 0
      and unmaps[1]["errno"] == "EINVAL", "partial UNMAP_DMA refused with EINVAL and traced so")
gets = [e for e in mine if e["op"] == "VFIO_IOMMU_DIRTY_PAGES[GET_BITMAP]"]
check(len(gets) == 2 and all(e["args"]["pgsize"] == 4096 and e["args"]["bitmap_bytes"] == 32
                             and h(e["args"]["iova"]) == 0x100000 for e in gets),
      "GET_BITMAP decoded: iova, pgsize 4096, 32 bitmap bytes")
dev = [e for e in mine if e["op"] == "VFIO_GROUP_GET_DEVICE_FD"]
check(dev and dev[0]["ret"] == prog["device_fd"] and dev[0]["args"]["name"],
      "GET_DEVICE_FD: device name decoded, returns the device fd")
check(all(e["latency_ns"] > 0 for e in mine), "every call has a latency")
devcalls = [e for e in mine if e["kind"] == "device"]
check(devcalls and all(e.get("device") == bdf for e in devcalls),
      f"every device-fd call names device {bdf} ({len(devcalls)} calls)")
sys.exit(1 if failed else 0)
