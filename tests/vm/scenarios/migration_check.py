#!/usr/bin/env python3
"""Check a nested migration (tests/vm/migrate-lib.sh output) against the driver's own counters.

usage: migration_check.py MIG_DIR STATE_SIZE
QEMU's trace events on each end are compared with edu-vfio-pci's account of the same device
(<debugfs>/edu-vfio-pci/BDF/migration, saved as {src,dst}-driver.txt): state transitions,
bytes per phase, precopy info answers, MIG_DATA_SIZE answers, dirty pages per REPORT, the
destination's verification, and the order of the phases in time. Prints one "ok:"/"FAIL:" line
per check, a summary of the numbers, and exits 1 if any check failed.
"""
import os
import re
import sys

TRACE = re.compile(r"^(\d+)@(\d+\.\d+):(\w+) (.*)$")
PAGE = 4096
REC = 24  # struct edu_rec


def read_trace(path):
    out = []
    for line in open(path, errors="replace"):
        m = TRACE.match(line.strip())
        if m:
            out.append((float(m.group(2)), m.group(3), m.group(4)))
    return out


def read_driver(path):
    d = {"events": []}
    for line in open(path):
        f = line.split()
        if not f:
            continue
        if f[0] == "event":
            d["events"].append((float(f[1]), f[2], f[3:]))
        elif f[0] in ("bytes_read", "bytes_written"):
            d[f"{f[0]} {f[1]}"] = int(f[2])
        elif f[0] == "resume_result":
            d["resume_result"] = line.split(" ", 1)[1].strip()
        elif len(f) == 2 and f[0] != "events":
            d[f[0]] = f[1]
    return d


class Checks:
    def __init__(self):
        self.passed = self.failed = 0

    def __call__(self, what, ok, detail=""):
        print(("ok: " if ok else "FAIL: ") + what + ("" if ok or not detail else f" ({detail})"))
        if ok:
            self.passed += 1
        else:
            self.failed += 1


def qemu_states(trace):
    return [(t, a.split("new state ")[1].split(",")[0])
            for t, e, a in trace if e == "vfio_migration_set_state"]


def phase_bytes(trace):
    """vfio_save_block bytes by the device state QEMU last set (the migration thread does both)."""
    state, by = None, {}
    for _, e, a in trace:
        if e == "vfio_migration_set_state":
            state = a.split("new state ")[1].split(",")[0]
        elif e == "vfio_save_block":
            by[state] = by.get(state, 0) + int(a.split("data_size ")[1])
    return by


def nums(a, *keys):
    return [int(re.search(re.escape(k) + r" (\d+)", a).group(1)) for k in keys]


def main():
    d, size = sys.argv[1], int(sys.argv[2])
    npages = (size + PAGE - 1) // PAGE
    st, dt = read_trace(f"{d}/src-trace.log"), read_trace(f"{d}/dst-trace.log")
    sd, dd = read_driver(f"{d}/src-driver.txt"), read_driver(f"{d}/dst-driver.txt")
    check = Checks()
    precopy = int(sd.get("migration_flags", "0"), 16) & 4 != 0
    print(f"device memory {size} bytes ({npages} pages), PRE_COPY offered: {precopy}")

    # -- state transitions: QEMU traces each successful SET; the driver logs every SET and arc
    for name, trace, drv in (("source", st, sd), ("destination", dt, dd)):
        # the core does not pass a SET to the state the device is in to the driver
        q, cur = [], "RUNNING"
        for _, s in qemu_states(trace):
            if s != cur:
                q.append(s)
            cur = s
        k = [ev[2][1] for ev in drv["events"] if ev[1] == "set_state" and ev[2][2] == "0"]
        check(f"{name}: QEMU's device state changes are the driver's, in order ({' '.join(q)})",
              q == k, f"driver: {' '.join(k)}")
    arcs = lambda drv: [f"{a[0]}>{a[1]}" for _, e, a in drv["events"] if e == "arc"]
    want = (["RUNNING>PRE_COPY", "PRE_COPY>STOP_COPY", "STOP_COPY>STOP"] if precopy else
            ["RUNNING>STOP", "STOP>STOP_COPY", "STOP_COPY>STOP"])
    check(f"source: the device took the arcs {' '.join(want)}", arcs(sd) == want,
          " ".join(arcs(sd)))
    dwant = ["RUNNING>STOP", "STOP>RESUMING", "RESUMING>STOP", "STOP>RUNNING"]
    check(f"destination: the device took the arcs {' '.join(dwant)} (then STOP at quit)",
          arcs(dd)[:4] == dwant, " ".join(arcs(dd)))

    # -- bytes per phase, to the byte
    qb = phase_bytes(st)
    pre, stop = sd.get("bytes_read PRE_COPY", -1), sd.get("bytes_read STOP_COPY", -1)
    check(f"source: bytes read in PRE_COPY, QEMU {qb.get('PRE_COPY', 0)} = driver {pre}",
          qb.get("PRE_COPY", 0) == pre)
    check(f"source: bytes read in STOP_COPY, QEMU {qb.get('STOP_COPY', 0)} = driver {stop}",
          qb.get("STOP_COPY", 0) == stop)
    loaded = sum(int(re.search(r"size (\d+) ret 0", a).group(1))
                 for _, e, a in dt if e == "vfio_load_state_device_data" and "ret 0" in a)
    resumed = dd.get("bytes_written RESUMING", -1)
    check(f"destination: bytes written in RESUMING, QEMU {loaded} = driver {resumed}",
          loaded == resumed)
    check(f"the destination took every byte the source read ({pre + stop})",
          resumed == pre + stop)
    minimum = REC + 16 + npages * REC + size + REC + 48 + REC + 16
    check(f"the stream holds at least the whole device memory once ({minimum} bytes)",
          pre + stop >= minimum)
    if precopy:
        check("the initial data went in PRE_COPY, before the stop",
              pre >= REC + 16 + npages * REC + size, f"PRE_COPY {pre}")

    # -- precopy info and MIG_DATA_SIZE answers
    answers = [(int(a[0]), int(a[1])) for _, e, a in sd["events"]
               if e == "precopy_info" and a[2] == "0"]
    in_pre, exact, sizes = False, [], []
    for _, e, a in st:
        if e == "vfio_migration_set_state":
            in_pre = "new state PRE_COPY" in a
        elif e == "vfio_state_pending_exact":
            s, i, dy = nums(a, "stopcopy size", "precopy initial size", "precopy dirty size")
            sizes.append(s)
            if in_pre:
                exact.append((i, dy))
    if precopy:
        first = REC + 16 + npages * REC + size
        check(f"precopy info: the first answer is all the initial data ({first} bytes)",
              bool(answers) and answers[0] == (first, 0), f"{answers[:1]}")
        check(f"precopy info: QEMU's {len(exact)} exact queries got the driver's answers",
              answers[1:] == exact, f"QEMU {exact[:5]}..., driver {answers[1:6]}...")
        check("precopy info: initial bytes only go down",
              all(b[0] <= a[0] for a, b in zip(answers, answers[1:])))
        check("precopy info: the device dirtied state during PRE_COPY (dirty bytes > 0)",
              any(dy > 0 for _, dy in answers))
        dsz = [int(a[0]) for _, e, a in sd["events"] if e == "data_size"]
        check(f"MIG_DATA_SIZE: QEMU's stop-copy sizes are the driver's answers ({len(sizes)})",
              dsz[1:] == sizes, f"QEMU {sizes[:4]}, driver {dsz[:5]}")
    else:
        check("no MIG_DATA_SIZE in this kernel: QEMU assumes 100 GiB",
              all(s == 100 << 30 for s in sizes) and sizes)
        check("no precopy info asked", not answers)

    # -- dirty pages per REPORT
    qr = [(int(re.search(r"iova=(0x[0-9a-f]+)", a).group(1), 16),
           int(re.search(r"size= ?(0x[0-9a-f]+)", a).group(1), 16),
           int(re.search(r"dirty_pages=(\d+)", a).group(1)))
          for _, e, a in st if e == "vfio_get_dirty_bitmap"]
    kr = [(int(a[0], 16), int(a[1], 16), int(a[2])) for _, e, a in sd["events"] if e == "report"]
    check(f"dirty syncs: QEMU's {len(qr)} bitmaps are the driver's REPORTs (iova, size, pages)",
          qr == kr and len(qr) > 0, f"QEMU {qr[:3]}, driver {kr[:3]}")
    dirty = sum(p for _, _, p in qr)
    check(f"dirty syncs: the L2 guest's DMA shows as dirty pages ({dirty} in all)", dirty > 0)

    # -- the destination checked every byte
    res = dd.get("resume_result", "")
    check(f"destination: the driver verified the state ({res})",
          dd.get("resume_ok") == "1" and dd.get("resume_errors") == "0" and
          res.startswith(f"ok: {npages} pages ({size} bytes) at their last version"))

    # -- the order in time (one clock: QEMU's trace and the driver both use CLOCK_REALTIME)
    t = lambda drv, arc: next((tt for tt, e, a in drv["events"]
                               if e == "arc" and f"{a[0]}>{a[1]}" == arc), None)
    stopc = t(sd, "PRE_COPY>STOP_COPY" if precopy else "STOP>STOP_COPY")
    # (the source leaves STOP_COPY only at cleanup, after the destination runs: QEMU keeps
    # that arc out of the downtime)
    order = [("source starts saving", t(sd, want[0])), ("source stops", stopc),
             ("destination loaded", t(dd, "RESUMING>STOP")),
             ("destination runs", t(dd, "STOP>RUNNING"))]
    ok = all(x is not None for _, x in order) and all(
        a[1] <= b[1] for a, b in zip(order, order[1:]))
    check("phase order: " + " < ".join(n for n, _ in order), ok,
          ", ".join(f"{n} {x}" for n, x in order))
    check("destination entered RESUMING before the source stopped",
          t(dd, "STOP>RESUMING") is not None and stopc is not None and
          t(dd, "STOP>RESUMING") < stopc)
    check("the source left STOP_COPY after it stopped",
          t(sd, "STOP_COPY>STOP") is not None and stopc is not None and
          stopc <= t(sd, "STOP_COPY>STOP"))
    # QEMU's own clock: the source's stop-copy before the destination's device runs
    qstop = next((tt for tt, s in qemu_states(st) if s == "STOP_COPY"), None)
    qrun = next((tt for tt, s in qemu_states(dt) if s == "RUNNING"), None)
    check("QEMU's trace: source STOP_COPY before the destination's RUNNING",
          qstop is not None and qrun is not None and qstop <= qrun, f"{qstop} {qrun}")
    if qstop is not None and stopc is not None:
        print(f"info: QEMU traced STOP_COPY {qstop - stopc:+.6f} s after the driver's arc")

    # -- numbers for the report
    iters = sum(1 for _, e, _ in st if e == "vfio_save_iterate")
    t0 = next((tt for tt, e, _ in st if e == "vfio_save_setup"), None)
    t1 = next((tt for tt, e, _ in st if e == "vfio_save_cleanup"), None)
    down = (t(sd, "STOP_COPY>STOP") or 0) - (stopc or 0)
    print(f"numbers: state {size} B; PRE_COPY {pre} B, STOP_COPY {stop} B, RESUMING {resumed} B;"
          f" {iters} precopy iterations; {len(answers)} precopy info answers, last {answers[-1:]};"
          f" {len(qr)} dirty syncs, {dirty} dirty pages; migration {((t1 or 0) - (t0 or 0)):.2f} s"
          f" (save setup to cleanup), device stop-copy {down:.3f} s;"
          f" driver: {sd.get('dma_commands')} DMA commands, {sd.get('pages_dirtied')} device pages dirtied")
    print(f"{check.passed} checks passed, {check.failed} failed")
    return 1 if check.failed else 0


if __name__ == "__main__":
    sys.exit(main())
