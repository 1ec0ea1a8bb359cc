#!/usr/bin/env python3
# Checks `vfioscope trace --json` and `vfioscope state --json` against what
# tests/vm/iommufd/iommufd_ops reports it did, phase by phase. Used by tracer_iommufd.sh; prints
# one "ok:"/"FAIL:" line per check and exits 1 if any failed.
# usage: tracer_iommufd_check.py MODE device|test-domain DIR BDF
#   DIR holds prog.json (one JSON line per phase), held1..3.json (state at each phase),
#   after.json (state after the program exited) and trace.json (JSON lines).
import json
import sys

mode, what, d, bdf = sys.argv[1:5]
phases = [json.loads(l) for l in open(f"{d}/prog.json") if l.strip()]
held = []
for n in range(1, 4):
    try:
        held.append(json.load(open(f"{d}/held{n}.json")))
    except (OSError, ValueError):
        held.append(None)
after = json.load(open(f"{d}/after.json"))
events = [json.loads(l) for l in open(f"{d}/trace.json") if l.strip()]
failed = 0


def check(cond, text):
    global failed
    print(("ok: " if cond else "FAIL: ") + f"[{mode}] {text}")
    if not cond:
        failed += 1


def h(v):
    return int(v, 16) if isinstance(v, str) else v


def pairs(lst):
    return sorted([list(p) for p in lst])


want_phases = ["mapped", "unmapped", "closed"] if what == "device" else \
    ["tracking", "stopped", "destroyed"]
check([p["phase"] for p in phases] == want_phases,
      f"the program went through its phases {want_phases} ({[p.get('phase') for p in phases]}"
      f"{', ' + str(phases[-1]) if phases and phases[-1].get('phase') == 'error' else ''})")
if len(phases) != 3 or None in held:
    sys.exit(1)
p0 = phases[0]
pid = p0["pid"]


def mine(state, key):
    return [x for x in state[key] if x.get("pid") == pid]


def ctr_maps(c):
    return sorted([h(m["iova"]), h(m["size"])] for m in c["mappings"])


def by_op(op):
    return [e for e in trace if e["op"] == op]


trace = [e for e in events if e.get("pid") == pid]
check(trace and all(e["comm"] == "iommufd_ops" and e["tid"] == pid and e["latency_ns"] > 0
                    for e in trace),
      f"{len(trace)} calls traced, each with the caller's comm, tid and a latency")
iommufd_calls = [e for e in trace if e["kind"] == "iommufd"]
check(iommufd_calls and all(e["fd"] == p0["iommufd_fd"] for e in iommufd_calls),
      f"every iommufd call is on the /dev/iommu fd {p0['iommufd_fd']}")
ifile = iommufd_calls[0]["file"] if iommufd_calls else None
check(all(e["container"] == ifile for e in trace),
      "every call, the device's too, names the iommufd as its container")

# ---------------------------------------------------------------- edu through its cdev
if what == "device":
    p1 = phases[1]
    ioas1, ioas2 = p0["ioas"]
    ops = [e["op"] for e in trace]
    want = (["VFIO_DEVICE_BIND_IOMMUFD", "IOMMU_GET_HW_INFO", "IOMMU_IOAS_ALLOC",
             "IOMMU_IOAS_ALLOC", "IOMMU_IOAS_ALLOW_IOVAS", "VFIO_DEVICE_ATTACH_IOMMUFD_PT",
             "IOMMU_IOAS_IOVA_RANGES"] + ["IOMMU_IOAS_MAP"] * 5 + ["IOMMU_IOAS_COPY"] * 2 +
            ["IOMMU_HWPT_ALLOC", "VFIO_DEVICE_ATTACH_IOMMUFD_PT", "IOMMU_HWPT_ALLOC"] +
            ["IOMMU_IOAS_UNMAP"] * 3 + ["IOMMU_DESTROY", "VFIO_DEVICE_ATTACH_IOMMUFD_PT",
                                        "IOMMU_DESTROY", "VFIO_DEVICE_DETACH_IOMMUFD_PT",
                                        "IOMMU_DESTROY"])
    check(ops == want, f"trace has the program's {len(want)} calls in order ({ops})")
    dev_calls = [e for e in trace if e["kind"] == "device"]
    check(dev_calls and all(e.get("device") == bdf and e["fd"] == p0["device_fd"]
                            for e in dev_calls),
          f"every cdev call names device {bdf} and fd {p0['device_fd']} ({len(dev_calls)} calls)")
    if ops == want:
        e = trace
        check(e[0]["args"]["iommufd"] == p0["iommufd_fd"] and e[0]["result"]["devid"] == p0["devid"],
              f"BIND_IOMMUFD: iommufd={p0['iommufd_fd']} => devid={p0['devid']} ({e[0]['args']}, {e[0].get('result')})")
        check(e[1]["args"]["dev_id"] == p0["devid"]
              and e[1]["result"]["data_type"] == p0["hw_info"]["data_type"] == 1
              and h(e[1]["result"]["capabilities"]) == p0["hw_info"]["capabilities"] == 0,
              f"GET_HW_INFO: an Intel VT-d (data_type 1) without dirty tracking capability ({e[1].get('result')})")
        check([x["result"]["ioas_id"] for x in e[2:4]] == p0["ioas"],
              f"IOAS_ALLOC => ioas_id {p0['ioas']}")
        check(e[4]["args"] == {"ioas_id": ioas1, "num_iovas": 2} and e[4]["ret"] == 0,
              f"ALLOW_IOVAS: ioas {ioas1}, 2 ranges ({e[4]['args']})")
        check(e[5]["args"]["pt_id"] == ioas1 and e[5]["result"]["hwpt_id"] == p0["auto_hwpt"],
              f"ATTACH to IOAS {ioas1} => the kernel's HWPT {p0['auto_hwpt']} ({e[5].get('result')})")
        check(e[6]["args"]["ioas_id"] == ioas1 and e[6]["result"]["num_iovas"] == p0["num_iova_ranges"]
              and h(e[6]["result"]["iova_alignment"]) == p0["iova_alignment"],
              f"IOVA_RANGES: {p0['num_iova_ranges']} ranges, alignment {p0['iova_alignment']} ({e[6].get('result')})")
        maps = e[7:12]
        check([[h(x["args"]["iova"]), h(x["args"]["length"])] for x in maps[:4]] == p0["maps1"][:4]
              and all(h(x["args"]["flags"]) & 1 for x in maps[:4]) and not h(maps[4]["args"]["flags"]) & 1,
              "IOAS_MAP: four at fixed IOVAs (FIXED_IOVA), one without")
        check([[h(x["result"]["iova"]), h(x["args"]["length"])] for x in maps] == p0["maps1"]
              and all(x["args"]["ioas_id"] == ioas1 for x in maps),
              f"IOAS_MAP results: the IOVAs the kernel used, the chosen one {hex(p0['kernel_iova'])}")
        cps = e[12:14]
        check([[h(x["result"]["dst_iova"]), h(x["args"]["length"])] for x in cps] == p0["maps2"]
              and all(x["args"]["dst_ioas_id"] == ioas2 and x["args"]["src_ioas_id"] == ioas1 for x in cps)
              and [h(x["args"]["src_iova"]) for x in cps] == [0x100000, 0x100000000],
              f"IOAS_COPY: {ioas1} -> {ioas2}, fixed 0x400000 and kernel-chosen {hex(p0['copy_iova'])}")
        check(e[14]["args"]["dev_id"] == p0["devid"] and e[14]["args"]["pt_id"] == ioas1
              and h(e[14]["args"]["flags"]) == 0 and e[14]["result"]["hwpt_id"] == p0["hwpt"],
              f"HWPT_ALLOC without dirty tracking => hwpt {p0['hwpt']}")
        check(e[15]["args"]["pt_id"] == p0["hwpt"] and e[15]["result"]["hwpt_id"] == p0["hwpt"],
              f"ATTACH to HWPT {p0['hwpt']}")
        check(h(e[16]["args"]["flags"]) == 2 and e[16]["ret"] == -95 and e[16]["errno"] == "EOPNOTSUPP"
              and p0["dirty_hwpt_errno"] == "EOPNOTSUPP" and "result" not in e[16],
              "HWPT_ALLOC with DIRTY_TRACKING: VT-d refuses it, -95 EOPNOTSUPP, traced so")
        un = e[17:20]
        check([h(x["result"]["unmapped"]) for x in un] ==
              [p1["unmapped_one"], p1["unmapped_several"], p1["unmapped_all"]]
              and [(x["args"]["ioas_id"], h(x["args"]["iova"]), h(x["args"]["length"])) for x in un] ==
              [(ioas1, 0x200000, 0x100000), (ioas1, 0, 0x200000), (ioas2, 0, 2**64 - 1)],
              f"IOAS_UNMAP one, several, all: unmapped {[hex(p1[k]) for k in ('unmapped_one', 'unmapped_several', 'unmapped_all')]}")
        check([x["args"]["id"] for x in (e[20], e[22], e[24])] == [ioas2, p0["hwpt"], ioas1],
              "DESTROY of IOAS 2, of the HWPT, of IOAS 1")
        check(e[21]["result"]["hwpt_id"] == p1["attached"] and e[23]["ret"] == 0,
              f"ATTACH back to IOAS {ioas1} => hwpt {p1['attached']}, DETACH")

    # ---- state at "mapped"
    s = held[0]
    ctrs = {c["ioas"]: c for c in mine(s, "containers")}
    check(sorted(ctrs) == sorted(p0["ioas"]), f"mapped: one container per IOAS {p0['ioas']} ({sorted(ctrs)})")
    if ioas1 in ctrs and ioas2 in ctrs:
        check(ctr_maps(ctrs[ioas1]) == pairs(p0["maps1"]),
              f"mapped: IOAS {ioas1} mirrors exactly the maps made: {ctr_maps(ctrs[ioas1])}")
        check(ctr_maps(ctrs[ioas2]) == pairs(p0["maps2"]),
              f"mapped: IOAS {ioas2} mirrors exactly the copies: {ctr_maps(ctrs[ioas2])}")
        check(all(c["backend"] == "iommufd" and not c["partial"] for c in ctrs.values()),
              "mapped: both iommufd, fully known")
        check(ctrs[ioas1]["mapped_bytes"] == sum(m[1] for m in p0["maps1"]),
              f"mapped: {ctrs[ioas1]['mapped_bytes']} bytes mapped in IOAS {ioas1}")
        mem = ctrs[ioas1]["members"]
        check(len(mem) == 1 and mem[0]["kind"] == "device" and mem[0]["address"] == bdf
              and mem[0]["opened"] == "cdev" and not ctrs[ioas2]["members"],
              f"mapped: the device (attached through HWPT {p0['hwpt']}) is a member of IOAS {ioas1} only ({mem})")
    devs = mine(s, "devices")
    check(len(devs) == 1 and devs[0]["address"] == bdf and devs[0]["iommufd"] ==
          {"dev_id": p0["devid"], "pt_id": p0["hwpt"], "hwpt_id": p0["hwpt"], "ioas": ioas1},
          f"mapped: device {bdf}: dev_id {p0['devid']}, on hwpt {p0['hwpt']} over IOAS {ioas1} ({devs and devs[0].get('iommufd')})")
    hw = mine(s, "hwpts")
    check(len(hw) == 1 and hw[0]["hwpt_id"] == p0["hwpt"] and hw[0]["pt_id"] == ioas1
          and hw[0]["dev_id"] == p0["devid"] and hw[0]["device"] == bdf
          and not hw[0]["dirty_tracking"] and hw[0]["session"] is None,
          f"mapped: one HWPT {p0['hwpt']} on IOAS {ioas1} for {bdf}, no dirty tracking; not the refused one ({hw})")
    procs = [x for x in s["processes"] if x["pid"] == pid]
    check(len(procs) == 1 and procs[0]["fds"]["iommufd"] == 1 and procs[0]["fds"]["device"] == 1
          and procs[0]["devices"] and procs[0]["devices"][0]["opened"] == "cdev",
          f"mapped: process with one iommufd and one cdev fd ({procs})")

    # ---- state at "unmapped"
    s = held[1]
    ctrs = {c["ioas"]: c for c in mine(s, "containers")}
    check(list(ctrs) == [ioas1], f"unmapped: IOAS {ioas2} forgotten on DESTROY ({list(ctrs)})")
    if ioas1 in ctrs:
        check(ctr_maps(ctrs[ioas1]) == pairs(p1["maps1"]),
              f"unmapped: IOAS {ioas1} keeps exactly {pairs(p1['maps1'])} ({ctr_maps(ctrs[ioas1])})")
    check(not mine(s, "hwpts"), "unmapped: the HWPT forgotten on DESTROY")
    devs = mine(s, "devices")
    check(len(devs) == 1 and devs[0]["iommufd"]["pt_id"] == ioas1
          and devs[0]["iommufd"]["hwpt_id"] == p1["attached"] and devs[0]["iommufd"]["ioas"] == ioas1,
          f"unmapped: the device attached to IOAS {ioas1} again ({devs and devs[0].get('iommufd')})")

    # ---- state at "closed": device closed, IOAS 1 destroyed, /dev/iommu still open
    s = held[2]
    check(not mine(s, "containers") and not mine(s, "devices") and not mine(s, "hwpts"),
          "closed: no container, device or HWPT left (the iommufd still open)")
    files = mine(s, "files")
    check([f["kind"] for f in files] == ["iommufd"], f"closed: only the iommufd file left ({files})")

# ---------------------------------------------------------------- the kernel's test domain
else:
    ioas, hwpt = p0["ioas"], p0["hwpt"]
    rep = p0["report"]
    ops = [e["op"] for e in trace]
    want = ["IOMMU_IOAS_ALLOC", "?", "IOMMU_IOAS_MAP", "IOMMU_HWPT_ALLOC", "?",
            "IOMMU_HWPT_SET_DIRTY_TRACKING", "?", "IOMMU_HWPT_GET_DIRTY_BITMAP",
            "IOMMU_HWPT_GET_DIRTY_BITMAP", "IOMMU_HWPT_SET_DIRTY_TRACKING", "IOMMU_DESTROY",
            "IOMMU_DESTROY"]
    check(ops == want, f"trace has the program's {len(want)} calls in order, IOMMU_TEST_CMD as '?' ({ops})")
    if ops == want:
        e = trace
        check(h(e[3]["args"]["flags"]) == 2 and e[3]["args"]["dev_id"] == p0["mock_idev"]
              and e[3]["args"]["pt_id"] == ioas and e[3]["result"]["hwpt_id"] == hwpt,
              f"HWPT_ALLOC with DIRTY_TRACKING for the mock device => hwpt {hwpt}")
        sd = [e[5], e[9]]
        check([(x["args"]["hwpt_id"], h(x["args"]["flags"]), x["ret"]) for x in sd] == [(hwpt, 1, 0), (hwpt, 0, 0)],
              "SET_DIRTY_TRACKING: enable, then disable")
        gb = [e[7], e[8]]
        check(all(x["args"]["hwpt_id"] == hwpt and h(x["args"]["iova"]) == rep["iova"]
                  and h(x["args"]["length"]) == rep["length"] and x["args"]["page_size"] == rep["page_size"]
                  and x["args"]["bitmap_bytes"] == p0["bitmap_bytes"] // 2 and x["ret"] == 0 for x in gb)
              and [h(x["args"]["flags"]) for x in gb] == [1, 0],
              f"GET_DIRTY_BITMAP decoded: hwpt, iova, length, page size, {p0['bitmap_bytes'] // 2} bitmap bytes, NO_CLEAR then 0")
        ks = [x.get("kernel", {}) for x in gb]
        # the mock records each dirty IO page (PAGE_SIZE / 2) with one iova_bitmap_set
        check(p0["marked"] == 3 and p0["dirty_read"] == [3, 3]
              and all(k.get("bitmap_set_calls") == 3 and k.get("bitmap_set_bytes") == 3 * 2048
                      for k in ks),
              f"each GET_DIRTY_BITMAP read the 3 marked pages; the tracer saw the kernel's 3 "
              f"iova_bitmap_set calls of 2048 bytes (the mock's IO page) under it ({ks})")
        check([x["args"]["id"] for x in e[10:12]] == [p0["mock_stdev"][1], hwpt],
              "DESTROY of the mock device on the HWPT, then of the HWPT")

    def hwpt_state(s):
        hw = mine(s, "hwpts")
        return hw[0] if len(hw) == 1 and hw[0]["hwpt_id"] == hwpt else None

    s = held[0]
    ctrs = mine(s, "containers")
    check(len(ctrs) == 1 and ctrs[0]["ioas"] == ioas and ctr_maps(ctrs[0]) == [p0["map"]],
          f"tracking: IOAS {ioas} mirrors its one mapping {p0['map']}")
    hs = hwpt_state(s)
    check(hs and hs["pt_id"] == ioas and hs["dev_id"] == p0["mock_idev"] and hs["dirty_tracking"]
          and hs["device"] is None,
          f"tracking: HWPT {hwpt} on IOAS {ioas}, allocated with dirty tracking for mock device {p0['mock_idev']} ({hs})")
    ss = hs and hs["session"]
    check(ss and ss["method"] == "iommufd" and ss["active"] and ss["reports"] == 2
          and ss["report_errors"] == 0 and ss["bitmap_bytes"] == p0["bitmap_bytes"]
          and h(ss["last_report"]["iova"]) == rep["iova"] and h(ss["last_report"]["length"]) == rep["length"]
          and ss["last_report"]["page_size"] == rep["page_size"],
          f"tracking: its session: method iommufd, active, 2 reports, {p0['bitmap_bytes']} bitmap bytes, the last report's range ({ss})")
    sess = [x for x in s["iommufd_sessions"] if x["hwpt_id"] == hwpt]
    check(len(sess) == 1, "tracking: listed among the iommufd sessions too")
    hs = hwpt_state(held[1])
    ss = hs and hs["session"]
    check(ss and not ss["active"] and ss["reports"] == 2, f"stopped: the session stopped, 2 reports kept ({ss})")
    s = held[2]
    check(not mine(s, "hwpts") and not [x for x in s["iommufd_sessions"] if x["hwpt_id"] == hwpt],
          "destroyed: HWPT and its session forgotten on DESTROY")
    ctrs = mine(s, "containers")
    check(len(ctrs) == 1 and ctrs[0]["ioas"] == ioas, "destroyed: the IOAS stays")

# ---------------------------------------------------------------- after exit
check(not mine(after, "containers") and not mine(after, "files") and not mine(after, "hwpts")
      and not after["iommufd_sessions"],
      "after exit: nothing left of the program (containers, files, HWPTs, sessions)")
sys.exit(1 if failed else 0)
