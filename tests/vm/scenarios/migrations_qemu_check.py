#!/usr/bin/env python3
"""migrations_qemu scenario: vfioscope's view of a nested QEMU live migration against QEMU's
own trace events and the edu-vfio-pci driver's counters (tests/vm/migrate-lib.sh output).

usage: migrations_qemu_check.py MIG_DIR STATE_SIZE
MIG_DIR holds migrate-lib.sh's files plus vs.json (`vfioscope migrations --json`),
vs.trace.json (`vfioscope record`) and clock-offset (CLOCK_REALTIME - CLOCK_MONOTONIC, s).
Prints one "ok:"/"FAIL:" line per check and exits 1 if any failed.
"""
import json
import os
import re
import sys

sys.dont_write_bytecode = True  # the scenario directory stays clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from migration_check import Checks, nums, qemu_states, read_driver, read_trace  # noqa: E402


def main():
    d, size = sys.argv[1], int(sys.argv[2])
    st, dt = read_trace(f"{d}/src-trace.log"), read_trace(f"{d}/dst-trace.log")
    sd, dd = read_driver(f"{d}/src-driver.txt"), read_driver(f"{d}/dst-driver.txt")
    view = json.load(open(f"{d}/vs.json"))
    trace = json.load(open(f"{d}/vs.trace.json"))
    offset = float(open(f"{d}/clock-offset").read())
    origin = view["origin_mono_ns"]
    real = lambda ns: (origin + ns) / 1e9 + offset  # vfioscope's time on QEMU's clock
    check = Checks()
    precopy = int(sd.get("migration_flags", "0"), 16) & 4 != 0
    print(f"tracer {view['tracer']}, lost {view['lost']}, data-fd hook attaches "
          f"{view['data_fd_hook_attaches']}; PRE_COPY offered: {precopy}")
    migs = view["migrations"]
    print("migrations seen: " + ", ".join(
        f"{m['comm']}[{m['pid']}] {m['device']} {m['role']} {m['outcome']}" for m in migs))
    src = [m for m in migs if m["role"] == "source"]
    dst = [m for m in migs if m["role"] == "destination"]
    check("one source and one destination migration seen", len(src) == 1 and len(dst) == 1,
          f"{len(src)} source, {len(dst)} destination")
    check("no record lost", view["lost"] == 0, str(view["lost"]))
    if len(src) != 1 or len(dst) != 1:
        print(f"{check.passed} checks passed, {check.failed} failed")
        return 1
    src, dst = src[0], dst[0]
    check("both migrations completed", src["outcome"] == dst["outcome"] == "completed",
          f"{src['outcome']} {dst['outcome']}")
    qpid = lambda tr: next((ln.split("@")[0] for ln in open(tr) if "@" in ln), None)
    check("the source is the source QEMU, the destination the destination QEMU (pids)",
          str(src["pid"]) == qpid(f"{d}/src-trace.log") and
          str(dst["pid"]) == qpid(f"{d}/dst-trace.log"),
          f"vfioscope {src['pid']} {dst['pid']}")
    check(f"devices: source {src['device']}, destination {dst['device']} (different edus)",
          src["device"] != dst["device"])

    # -- every state transition: QEMU traces each successful SET it makes; vfioscope sees the
    # ioctls of the migration (QEMU's sets before the source starts saving are not one)
    for name, m, trace_, drv in (("source", src, st, sd), ("destination", dst, dt, dd)):
        v = [p["state"] for p in m["phases"] if p["ret"] == 0]
        # a SET to the state the device is in changes nothing (the core does not pass it on)
        q, cur = [], "RUNNING"
        for _, x in qemu_states(trace_):
            if x != cur:
                q.append(x)
            cur = x
        k = [ev[2][1] for ev in drv["events"] if ev[1] == "set_state" and ev[2][2] == "0"]
        if name == "destination":
            # its migration ends when the device runs; QEMU's STOP at quit is not part of it
            q = q[:q.index("RUNNING") + 1] if "RUNNING" in q else q
            k = k[:k.index("RUNNING") + 1] if "RUNNING" in k else k
        # QEMU's list from the migration's first SET on: the tail of q of the length seen
        qtail = q[len(q) - len(v):] if len(v) <= len(q) else None
        check(f"{name}: vfioscope's transitions are QEMU's SETs ({' '.join(v)})",
              v and (v == q or v == qtail and v[0] != "RUNNING"),
              f"QEMU: {' '.join(q)}")
        changed = [p["state"] for p in m["phases"] if p["ret"] == 0 and p["from"] != p["state"]]
        check(f"{name}: the changes vfioscope saw are the driver's SETs ({' '.join(changed)})",
              changed == k[len(k) - len(changed):] and len(changed) >= len(k) - 1,
              f"driver: {' '.join(k)}")
        check(f"{name}: every SET succeeded", all(p["ret"] == 0 for p in m["phases"]))

    # -- bytes per phase, to the byte
    by = lambda m: {p["state"]: by_sum(m, p["state"]) for p in m["phases"]}
    def by_sum(m, state):
        return sum(p["bytes"] for p in m["phases"] if p["state"] == state)
    sb, db = by(src), by(dst)
    for ph in ("PRE_COPY", "STOP_COPY"):
        drv = sd.get(f"bytes_read {ph}", -1)
        check(f"source: data-fd bytes read in {ph}: vfioscope {sb.get(ph, 0)} = driver {drv}",
              sb.get(ph, 0) == drv)
    drv = dd.get("bytes_written RESUMING", -1)
    check(f"destination: data-fd bytes written in RESUMING: vfioscope {db.get('RESUMING', 0)} "
          f"= driver {drv}", db.get("RESUMING", 0) == drv)
    other = {k: v for k, v in list(sb.items()) + list(db.items())
             if v and k not in ("PRE_COPY", "STOP_COPY", "RESUMING")}
    check("no data-fd bytes in the other phases", not other, str(other))
    check(f"bytes per migration: source {src['bytes']}, destination {dst['bytes']}",
          src["bytes"] == sum(sb.values()) and dst["bytes"] == sum(db.values()))
    saves = [int(a.split("data_size ")[1]) for _, e, a in st if e == "vfio_save_block"]
    check(f"source: QEMU's {len(saves)} vfio_save_block reads hold vfioscope's bytes",
          sum(saves) == src["bytes"], f"QEMU {sum(saves)}")
    loads = [int(re.search(r"size (\d+) ret 0", a).group(1))
             for _, e, a in dt if e == "vfio_load_state_device_data" and "ret 0" in a]
    check(f"destination: QEMU's {len(loads)} loads hold vfioscope's bytes",
          sum(loads) == dst["bytes"], f"QEMU {sum(loads)}")
    check(f"destination: vfioscope's {dst['data_fd']['calls']} writes, no error",
          dst["data_fd"]["errors"] == 0 and dst["data_fd"]["calls"] >= len(loads))

    # -- precopy info and MIG_DATA_SIZE answers
    answers = [(int(a[0]), int(a[1])) for _, e, a in sd["events"]
               if e == "precopy_info" and a[2] == "0"]
    vp = [(p["initial_bytes"], p["dirty_bytes"]) for p in src["precopy"]]
    if precopy:
        check(f"precopy info: vfioscope's {len(vp)} answers are the driver's",
              vp == answers and vp, f"vfioscope {vp[:4]}..., driver {answers[:4]}...")
        exact = []
        for _, e, a in st:
            if e == "vfio_state_pending_exact":
                exact.append(tuple(nums(a, "precopy initial size", "precopy dirty size")))
        check(f"precopy info: QEMU's exact pending values are among vfioscope's answers",
              all(x in vp for x in exact if x != (0, 0)), f"QEMU {exact[:5]}")
        iters = [nums(a, "precopy initial size", "precopy dirty size")
                 for _, e, a in st if e == "vfio_save_iterate"]
        # (QEMU's vfio_save_iterate prints its own running account, less what it has read)
        print(f"info: QEMU's vfio_save_iterate sizes {iters}")
    else:
        check("no precopy info on a device without PRE_COPY", not vp)
    dsz = [int(a[0]) for _, e, a in sd["events"] if e == "data_size"]
    check(f"MIG_DATA_SIZE: vfioscope counted {src['data_size']['queries']} answers, last "
          f"{src['data_size']['last_bytes']} (driver {len(dsz)}, last {dsz[-1:]})",
          (src["data_size"]["queries"], src["data_size"]["last_bytes"]) ==
          (len(dsz), dsz[-1] if dsz else 0) or
          (dsz and src["data_size"]["queries"] <= len(dsz) and
           src["data_size"]["last_bytes"] == dsz[-1]))

    # -- dirty pages per sync
    kr = [int(a[2]) for _, e, a in sd["events"] if e == "report"]
    qr = [int(re.search(r"dirty_pages=(\d+)", a).group(1))
          for _, e, a in st if e == "vfio_get_dirty_bitmap"]
    vs = [s["pages"] for s in src["syncs"]["list"]]
    check(f"dirty syncs: vfioscope's {len(vs)} syncs are the driver's {len(kr)} REPORTs and "
          f"QEMU's {len(qr)} bitmaps, page for page", vs == kr == qr and vs,
          f"vfioscope {vs[:8]}, driver {kr[:8]}, QEMU {qr[:8]}")
    check(f"dirty syncs: {src['syncs']['pages']} dirty pages in all, rate "
          f"{src['dirty_pages_per_s']:.1f} pages/s",
          src["syncs"]["pages"] == sum(kr) and sum(kr) > 0 and src["dirty_pages_per_s"] > 0)

    # -- the order of the phases across both ends: vfioscope's vs the driver's
    vev = sorted([(real(p["start_ns"]), "src", p["state"]) for p in src["phases"]
                  if p["from"] != p["state"]] +
                 [(real(p["start_ns"]), "dst", p["state"]) for p in dst["phases"]
                  if p["from"] != p["state"]])
    kev = sorted([(t, "src", a[1]) for t, e, a in sd["events"] if e == "set_state" and a[2] == "0"] +
                 [(t, "dst", a[1]) for t, e, a in dd["events"] if e == "set_state" and a[2] == "0"])
    kev = [x for x in kev if x[0] >= vev[0][0] - 1] if vev else kev
    vseq = [f"{w}:{s}" for _, w, s in vev]
    kseq = [f"{w}:{s}" for _, w, s in kev][:len(vseq)]
    check(f"phase order across both ends is the driver's ({' '.join(vseq)})", vseq == kseq,
          f"driver {' '.join(kseq)}")
    skew = [k[0] - v[0] for v, k in zip(vev, kev)]
    if skew:
        print(f"info: driver's SET minus vfioscope's ioctl entry: {min(skew) * 1e6:.0f} .. "
              f"{max(skew) * 1e6:.0f} us")
    for m in (src, dst):
        ph = m["phases"]
        starts = [p["start_ns"] for p in ph]
        check(f"{m['role']}: phases in time order, each ending where the next begins",
              starts == sorted(starts) and all(
                  ph[i]["start_ns"] + (ph[i]["duration_ns"] or 0) == ph[i + 1]["start_ns"]
                  for i in range(len(ph) - 1)))
    ss = {p["state"]: p["start_ns"] for p in src["phases"]}
    ds = {p["state"]: p["start_ns"] for p in dst["phases"]}
    check("destination RESUMING before source STOP_COPY before destination RUNNING",
          ds.get("RESUMING", 1 << 62) < ss.get("STOP_COPY", -1) < ds.get("RUNNING", -1))
    syncs_t = [s["t_ns"] for s in src["syncs"]["list"]]
    check("dirty syncs fall within the source's migration",
          syncs_t and src["start_ns"] <= min(syncs_t) and
          max(syncs_t) <= src["start_ns"] + src["duration_ns"],
          f"{len(syncs_t)} syncs listed, first at {min(syncs_t, default=None)}, last at "
          f"{max(syncs_t, default=None)}; migration from {src['start_ns']} for "
          f"{src['duration_ns']} ns; phases {[(p['state'], p['start_ns']) for p in src['phases']]}")

    # -- downtime parts and the join
    check(f"source downtime part {src['downtime_ns']} ns",
          src["downtime_ns"] is not None and 0 < src["downtime_ns"] <= src["duration_ns"])
    check(f"destination downtime part {dst['downtime_ns']} ns",
          dst["downtime_ns"] is not None and dst["downtime_ns"] > 0)
    e2e = view["end_to_end"]
    i, j = migs.index(src), migs.index(dst)
    total = sd.get("bytes_read PRE_COPY", 0) + sd.get("bytes_read STOP_COPY", 0)
    check(f"source and destination joined end to end ({e2e})",
          len(e2e) == 1 and e2e[0]["source"] == i and e2e[0]["destination"] == j and
          e2e[0]["bytes_read"] == e2e[0]["bytes_written"] == total and
          e2e[0]["pause_ns"] is not None and e2e[0]["pause_ns"] >= src["downtime_ns"])
    conv = src["convergence"]
    print(f"info: convergence {conv}")

    # -- the record file shows the same
    ev = trace["traceEvents"]
    names = {(e["pid"], e["tid"]): e["args"]["name"] for e in ev
             if e["ph"] == "M" and e["name"] == "thread_name"}
    tracks = sorted(k for k, v in names.items() if v.endswith(" phases"))
    slices = [[e["name"] for e in ev if e["ph"] == "X" and (e["pid"], e["tid"]) == k]
              for k in tracks]
    check(f"trace file: phase tracks of both ends ({slices})",
          [p["state"] for p in src["phases"]] in slices and
          [p["state"] for p in dst["phases"]] in slices)
    reads = [e for e in ev if e["ph"] == "X" and e["name"] == "read" and e["pid"] == src["pid"]]
    check(f"trace file: {len(reads)} data-fd read slices of the source "
          f"(vfioscope {src['data_fd']['calls']})", len(reads) == src["data_fd"]["calls"])
    dp = [e["args"]["pages"] for e in ev if e["ph"] == "C" and e["name"].startswith("dirty pages")]
    check(f"trace file: dirty pages counter per sync ({len(dp)})", dp == kr, f"{dp[:8]}")
    print(f"numbers: source PRE_COPY {sb.get('PRE_COPY', 0)} B, STOP_COPY {sb.get('STOP_COPY', 0)}"
          f" B in {src['data_fd']['calls']} reads; destination {dst['bytes']} B in"
          f" {dst['data_fd']['calls']} writes; {len(vp)} precopy answers; {len(vs)} syncs,"
          f" {sum(kr)} pages; downtime parts {src['downtime_ns']} / {dst['downtime_ns']} ns;"
          f" end-to-end pause {e2e[0]['pause_ns'] if e2e else None} ns")
    print(f"{check.passed} checks passed, {check.failed} failed")
    return 1 if check.failed else 0


if __name__ == "__main__":
    sys.exit(main())
