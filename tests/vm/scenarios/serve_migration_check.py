#!/usr/bin/env python3
"""serve_migration scenario: `vfioscope serve`'s migration metrics (/metrics) and timeline
(/migrations) after a nested QEMU live migration, against QEMU's own trace events and the
edu-vfio-pci driver's counters (tests/vm/migrate-lib.sh output).

usage: serve_migration_check.py MIG_DIR SOURCE_BDF DESTINATION_BDF
MIG_DIR holds migrate-lib.sh's files plus metrics.txt and timeline.json (serve's final
answers) and live/*.json (/migrations polled while the migration ran).
Prints one "ok:"/"FAIL:" line per check and exits 1 if any failed.
"""
import glob
import json
import os
import re
import sys

sys.dont_write_bytecode = True  # the scenario directory stays clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from migration_check import Checks, qemu_states, read_driver, read_trace  # noqa: E402

STATES = ["ERROR", "STOP", "RUNNING", "STOP_COPY", "RESUMING", "RUNNING_P2P", "PRE_COPY",
          "PRE_COPY_P2P"]
SAMPLE = re.compile(r'^([a-z_]+)\{([^}]*)\} (\S+)$')


def metrics(path):
    out = {}
    for line in open(path):
        m = SAMPLE.match(line.strip())
        if m and m.group(1).startswith("vfio_device_migration"):
            labels = tuple(sorted(re.findall(r'(\w+)="([^"]*)"', m.group(2))))
            out[(m.group(1), labels)] = float(m.group(3))
    return out


def main():
    d, sbdf, dbdf = sys.argv[1:4]
    st, dt = read_trace(f"{d}/src-trace.log"), read_trace(f"{d}/dst-trace.log")
    sd, dd = read_driver(f"{d}/src-driver.txt"), read_driver(f"{d}/dst-driver.txt")
    mx = metrics(f"{d}/metrics.txt")
    tl = json.load(open(f"{d}/timeline.json"))
    check = Checks()

    def g(name, **labels):
        return mx.get((name, tuple(sorted(labels.items()))))

    precopy = int(sd.get("migration_flags", "0"), 16) & 4 != 0
    print(f"PRE_COPY offered: {precopy}; timeline: {tl['shown']} of {tl['seen']} migrations shown")
    migs = tl["migrations"]
    src = [m for m in migs if m["role"] == "source"]
    dst = [m for m in migs if m["role"] == "destination"]
    check("timeline: one source and one destination migration",
          len(src) == 1 and len(dst) == 1, f"{len(src)} source, {len(dst)} destination")
    if len(src) != 1 or len(dst) != 1:
        print(f"{check.passed} checks passed, {check.failed} failed")
        return 1
    src, dst = src[0], dst[0]
    qpid = lambda tr: next((ln.split("@")[0] for ln in open(tr) if "@" in ln), None)
    check(f"timeline: source {src['device']} is the source QEMU's edu ({sbdf}, pid "
          f"{src['pid']}), destination {dst['device']} the destination's ({dbdf}, pid "
          f"{dst['pid']})",
          src["device"] == sbdf and dst["device"] == dbdf and
          str(src["pid"]) == qpid(f"{d}/src-trace.log") and
          str(dst["pid"]) == qpid(f"{d}/dst-trace.log"))
    check("timeline: both completed", src["outcome"] == dst["outcome"] == "completed",
          f"{src['outcome']} {dst['outcome']}")

    # -- the phases: QEMU's SETs (from the migration's first on), the driver's changes
    for name, m, trace_, drv in (("source", src, st, sd), ("destination", dst, dt, dd)):
        v = [p["state"] for p in m["phases"] if p["ret"] == 0]
        q, cur = [], "RUNNING"
        for _, x in qemu_states(trace_):
            if x != cur:
                q.append(x)
            cur = x
        if name == "destination":  # its migration ends when the device runs
            q = q[:q.index("RUNNING") + 1] if "RUNNING" in q else q
        qtail = q[len(q) - len(v):] if len(v) <= len(q) else None
        check(f"{name}: the timeline's phases are QEMU's SETs ({' '.join(v)})",
              v and (v == q or v == qtail and v[0] != "RUNNING"), f"QEMU: {' '.join(q)}")
        starts = [p["start_ms"] for p in m["phases"]]
        check(f"{name}: phases in time order, each ending where the next begins",
              starts == sorted(starts) and all(
                  m["phases"][i]["end_ms"] == m["phases"][i + 1]["start_ms"]
                  for i in range(len(starts) - 1)))
        want = STATES.index(v[-1]) if v else -1
        got = g("vfio_device_migration_state", device=m["device"], role=name)
        check(f"{name}: vfio_device_migration_state {got} = {v[-1] if v else '?'} ({want})",
              got == want)
        check(f"{name}: vfio_device_migration_active 0 after the migration",
              g("vfio_device_migration_active", device=m["device"], role=name) == 0)
        check(f"{name}: vfio_device_migrations_total{{outcome=\"completed\"}} 1",
              g("vfio_device_migrations_total", device=m["device"], role=name,
                outcome="completed") == 1)

    # -- bytes per phase, to the byte: driver = metric = timeline; QEMU's reads and loads
    for m, direction, ph, key, drv in (
            (src, "read", "PRE_COPY", "bytes_read PRE_COPY", sd),
            (src, "read", "STOP_COPY", "bytes_read STOP_COPY", sd),
            (dst, "write", "RESUMING", "bytes_written RESUMING", dd)):
        want = drv.get(key, -1)
        got = g("vfio_device_migration_data_bytes", device=m["device"], direction=direction,
                phase=ph) or 0
        tlb = sum(p["bytes"] for p in m["phases"] if p["state"] == ph and p["ret"] == 0)
        check(f"{m['role']}: {ph} bytes {direction}: driver {want} = metric {got:.0f} = "
              f"timeline {tlb}", want == got == tlb)
    saves = sum(int(a.split("data_size ")[1]) for _, e, a in st if e == "vfio_save_block")
    loads = sum(int(re.search(r"size (\d+) ret 0", a).group(1))
                for _, e, a in dt if e == "vfio_load_state_device_data" and "ret 0" in a)
    for m, qemu in ((src, saves), (dst, loads)):
        last = m["data"][-1][1] if m["data"] else 0
        check(f"{m['role']}: the timeline's data-fd bytes end at {last} = its total "
              f"{m['bytes']} = QEMU's {qemu}", last == m["bytes"] == qemu and qemu > 0)
        ts = [p[0] for p in m["data"]]
        vals = [p[1] for p in m["data"]]
        check(f"{m['role']}: data-fd bytes series ({len(ts)} points) rises in time order "
              "within the migration",
              ts == sorted(ts) and vals == sorted(vals) and len(ts) <= 120 and
              m["start_ms"] <= ts[0] and ts[-1] <= m["end_ms"])

    # -- precopy answers: the driver's last = metric = timeline
    answers = [(int(a[0]), int(a[1])) for _, e, a in sd["events"]
               if e == "precopy_info" and a[2] == "0"]
    tp = [(p[1], p[2]) for p in src["precopy"]]
    if precopy:
        check(f"precopy: the timeline's {len(tp)} answers are the driver's {len(answers)}",
              tp and tp == answers[-len(tp):] and (len(answers) > 120 or len(tp) == len(answers)))
        mi = g("vfio_device_migration_precopy_initial_bytes", device=src["device"])
        md = g("vfio_device_migration_precopy_dirty_bytes", device=src["device"])
        check(f"precopy: metrics initial {mi}, dirty {md} = the driver's last answer "
              f"{answers[-1] if answers else None}",
              answers and (mi, md) == answers[-1])
    else:
        check("no precopy answers on a device without PRE_COPY", not tp and not answers)

    # -- dirty syncs: the driver's REPORTs, QEMU's bitmaps
    kr = [int(a[2]) for _, e, a in sd["events"] if e == "report"]
    qr = [int(re.search(r"dirty_pages=(\d+)", a).group(1))
          for _, e, a in st if e == "vfio_get_dirty_bitmap"]
    sy = src["syncs"]
    check(f"dirty syncs: timeline {sy['count']} syncs, {sy['pages']} pages = driver "
          f"{len(kr)} REPORTs, {sum(kr)} pages = QEMU {len(qr)} bitmaps, {sum(qr)} pages",
          sy["count"] == len(kr) == len(qr) and sy["pages"] == sum(kr) == sum(qr) and kr)
    check(f"dirty syncs: the timeline's {len(sy['list'])} buckets hold every sync and page",
          sum(b[3] for b in sy["list"]) == sy["count"] and
          sum(b[1] for b in sy["list"]) == sy["pages"] and len(sy["list"]) <= 120)
    rate = g("vfio_device_migration_dirty_pages_per_second", device=src["device"])
    check(f"dirty rate: metric {rate} = timeline {sy['dirty_pages_per_s']} pages/s",
          rate is not None and abs(rate - sy["dirty_pages_per_s"]) <= 1e-6 * max(1, rate))

    # -- the downtime parts, the stop-copy size
    for m in (src, dst):
        dn = m["downtime"]
        got = g("vfio_device_migration_downtime_seconds", device=m["device"], role=m["role"])
        check(f"{m['role']}: downtime part: timeline {dn and dn['ms']} ms = metric {got} s",
              dn and got and dn["ms"] > 0 and abs(dn["ms"] / 1e3 - got) < 2e-6)
    dn = src["downtime"]
    sc = [p for p in src["phases"] if p["state"] == "STOP_COPY" and p["ret"] == 0]
    check("source: the downtime part begins at leaving the running states and ends within "
          "STOP_COPY", dn and sc and dn["start_ms"] <= sc[0]["start_ms"] <= dn["end_ms"] <=
          sc[0]["end_ms"])
    scb = g("vfio_device_migration_stop_copy_bytes", device=src["device"])
    check(f"stop-copy bytes: metric {scb} = timeline {src['convergence']['stop_copy_bytes']} "
          f"= driver {sd.get('bytes_read STOP_COPY')}",
          scb == src["convergence"]["stop_copy_bytes"] == sd.get("bytes_read STOP_COPY"))
    check("the order of the ends: destination RESUMING before source STOP_COPY before "
          "destination RUNNING",
          min(p["start_ms"] for p in dst["phases"] if p["state"] == "RESUMING") <
          sc[0]["start_ms"] <
          min(p["start_ms"] for p in dst["phases"] if p["state"] == "RUNNING"))

    # -- live: /migrations moved while the migration ran
    live = []
    for f in sorted(glob.glob(f"{d}/live/*.json")):
        try:
            live.append(json.load(open(f)))
        except ValueError:
            pass  # a poll cut short by the end of the poller
    under = [(doc, m) for doc in live for m in doc.get("migrations", [])
             if m["outcome"] == "under way"]
    seen = sorted({f"{m['role']}:{m['state']}" for _, m in under})
    check(f"live: {len(live)} polls, {len(under)} showed a migration under way "
          f"({' '.join(seen)})", under)
    grew = True
    for role in ("source", "destination"):
        b = [m["bytes"] for _, m in under if m["role"] == role]
        grew = grew and b == sorted(b)
        print(f"info: live {role}: {len(b)} polls under way, bytes {b[:1]} .. {b[-1:]}")
    check("live: the bytes of each end only grew while under way", grew)
    check("live: the current phase ended at the poll's time (it grows)",
          under and all(any(ph["current"] and ph["end_ms"] == doc["now_ms"]
                            for ph in m["phases"]) for doc, m in under))
    size = os.path.getsize(f"{d}/timeline.json")
    print(f"info: /migrations is {size} bytes for {len(migs)} device migrations "
          f"({size // max(1, len(migs))} bytes per device)")
    print(f"numbers: source {' '.join(p['state'] for p in src['phases'])}, {src['bytes']} B; "
          f"destination {' '.join(p['state'] for p in dst['phases'])}, {dst['bytes']} B; "
          f"{len(tp)} precopy answers; {sy['count']} syncs, {sy['pages']} pages; downtime parts "
          f"{src['downtime'] and src['downtime']['ms']} / {dst['downtime'] and dst['downtime']['ms']} ms")
    print(f"{check.passed} checks passed, {check.failed} failed")
    return 1 if check.failed else 0


if __name__ == "__main__":
    sys.exit(main())
