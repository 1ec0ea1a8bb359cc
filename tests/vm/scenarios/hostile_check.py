#!/usr/bin/env python3
# Checks two tracers' `trace --json` and `vfioscope state --json` against what
# tests/vm/src/hostile says each case did. Used by hostile.sh; one "ok:"/"FAIL:" line per
# check, exit 1 if any failed.
# usage: hostile_check.py MODE DIR      (MODE "restart": only the dup2 case, one tracer: q)
import json
import os
import re
import sys
from collections import Counter

mode, d = sys.argv[1:3]
failed = 0


def check(cond, what):
    global failed
    print(("ok: " if cond else "FAIL: ") + f"[{mode}] {what}")
    if not cond:
        failed += 1


def h(v):
    return int(v, 16) if isinstance(v, str) else v


def lines(path):
    if not os.path.exists(path):
        return []
    out = []
    for l in open(path):
        l = l.strip()
        if not l:
            continue
        try:
            out.append(json.loads(l))
        except ValueError:
            pass  # a tracer killed mid-line
    return out


def state(case, n):
    p = f"{d}/{case}.{n}.json" if n == "after" else f"{d}/{case}.state{n}.json"
    try:
        return json.load(open(p))
    except (OSError, ValueError) as e:
        check(False, f"{case}: state {n} readable ({e})")
        return {"containers": [], "files": [], "processes": []}


def ctrs_of(st, pids):
    return [c for c in st["containers"] if c["pid"] in pids]


def ctr_files_of(st, pids):
    return [f for f in st["files"] if f["kind"] == "container" and f["pid"] in pids]


def maps_of(c):
    return sorted([h(m["iova"]), h(m["size"])] for m in c["mappings"])


tracers = ["q"] if mode == "restart" else ["a", "b"]
events = {t: lines(f"{d}/{t}.json") for t in tracers}
ev = events[tracers[0]]


def calls(pids, op=None, evs=None):
    return [e for e in (ev if evs is None else evs)
            if e.get("pid") in pids and (op is None or e["op"] == op)]


def case(name):
    return lines(f"{d}/{name}.jsonl")


def held_container(name, st, pid, fd, maps, what):
    cs = ctrs_of(st, {pid})
    check(len(cs) == 1 and maps_of(cs[0]) == maps,
          f"{name}: {what}: state lists one container of pid {pid} with {maps} "
          f"({[(c['pid'], maps_of(c)) for c in cs]})")
    fs = ctr_files_of(st, {pid})
    check(len(fs) == 1 and fs[0]["fd"] == fd,
          f"{name}: {what}: its container file is at fd {fd} of pid {pid} "
          f"({[(f['pid'], f['fd']) for f in fs]})")


def gone(name, st, pids, what):
    cs, fs = ctrs_of(st, pids), ctr_files_of(st, pids)
    check(not cs and not fs, f"{name}: {what}: no container and no container file of pids "
          f"{sorted(pids)} left ({[(c['pid'], maps_of(c)) for c in cs]}, "
          f"{[(f['pid'], f['fd']) for f in fs]})")


def check_dup2():
    t = case("dup2")
    if len(t) < 3:
        check(False, f"dup2: the program ran ({t})")
        return
    pid, fd = t[0]["pid"], t[0]["fd"]
    held_container("dup2", state("dup2", 1), pid, fd, t[0]["maps"], "moved to fd 50")
    gone("dup2", state("dup2", 2), {pid}, "after dup2 of /dev/null onto its only fd")
    gone("dup2", state("dup2", "after"), {pid}, "after exit")
    m = calls({pid}, "VFIO_IOMMU_MAP_DMA")
    check([(e["fd"], h(e["args"]["iova"]), e["ret"]) for e in m] == [(3, 0x100000, 0), (fd, 0x200000, 0)]
          or [(h(e["args"]["iova"]), e["ret"]) for e in m] == [(0x100000, 0), (0x200000, 0)]
          and m[1]["fd"] == fd,
          f"dup2: trace shows the second MAP_DMA on fd {fd} ({[(e['fd'], e['args'].get('iova')) for e in m]})")


if mode == "restart":
    check_dup2()
    sys.exit(1 if failed else 0)

# ---- two tracers at once: the same calls, none lost ----
for t in tracers:
    err = open(f"{d}/{t}.err").read()
    check(re.search(r"^vfioscope: ([1-9][0-9]*) calls traced, \1 printed, 0 lost$", err, re.M),
          f"tracer {t}: every call printed, none lost ({err.strip().splitlines()[-1:]})")
allpids = set()
for name in ["scm", "dup2", "close_range", "exec", "kill", "threads"]:
    for l in case(name):
        allpids |= {l["pid"]} | {l.get("receiver"), l.get("victim")} - {None}


def sig(e):
    return (e["pid"], e["tid"], e["op"], e["ret"], e["fd"], str(e.get("args", {}).get("iova")))


sa, sb = Counter(sig(e) for e in calls(allpids, evs=events["a"])), \
    Counter(sig(e) for e in calls(allpids, evs=events["b"]))
check(sa == sb and sum(sa.values()) > 0,
      f"both tracers saw the same {sum(sa.values())} calls (only a: {sum((sa - sb).values())}, "
      f"only b: {sum((sb - sa).values())})")

# ---- SCM_RIGHTS ----
t = case("scm")
rx = [l for l in t if l.get("role") == "receiver"]
tx = [l for l in t if l.get("role") == "sender"]
if rx and tx:
    r, s = rx[0], tx[0]
    m = {h(e["args"]["iova"]): e for e in calls({r["pid"], s["pid"]}, "VFIO_IOMMU_MAP_DMA")}
    a, b = m.get(0x100000), m.get(0x200000)
    check(a and a["pid"] == s["pid"] and a["ret"] == 0,
          f"scm: the sender's MAP_DMA is the sender's (pid {s['pid']}: {a and a['pid']})")
    check(b and b["pid"] == r["pid"] and b["tid"] == r["pid"] and b["fd"] == r["fd"] and b["ret"] == 0,
          f"scm: the receiver's MAP_DMA is the receiver's: pid {r['pid']}, its fd {r['fd']} "
          f"({b and (b['pid'], b['tid'], b['fd'])})")
    check(a and b and a.get("file_id") is not None and a.get("file_id") == b.get("file_id"),
          f"scm: both calls are on the same container file (file_id {a and a.get('file_id')}, "
          f"{b and b.get('file_id')})")
    held_container("scm", state("scm", 1), r["pid"], r["fd"], r["maps"],
                   "held by the receiver only")
    gone("scm", state("scm", 1), {s["pid"]}, "the sender closed its fd")
    gone("scm", state("scm", "after"), {r["pid"], s["pid"]}, "after both exited")
else:
    check(False, f"scm: the program ran ({t})")

check_dup2()

# ---- close_range ----
t = case("close_range")
if len(t) >= 3:
    pid = t[0]["pid"]
    held_container("close_range", state("close_range", 1), pid, t[0]["fd"], t[0]["maps"],
                   "at fds 60 and 61")
    gone("close_range", state("close_range", 2), {pid}, "after close_range(60, 70)")
else:
    check(False, f"close_range: the program ran ({t})")

# ---- execve ----
t = case("exec")
old = [l for l in t if l.get("image") == "old"]
new = [l for l in t if l.get("image") == "new"]
if old and new:
    o, n = old[0], new[0]
    s1, s2 = state("exec", 1), state("exec", 2)
    fs = ctr_files_of(s1, {o["pid"]})
    check(sorted(f["fd"] for f in fs) == sorted([o["fd"], o["cloexec_fd"]]),
          f"exec: before execve, both container files of pid {o['pid']} "
          f"({[f['fd'] for f in fs]})")
    check(n["cloexec_fd_closed"], "exec: the kernel closed the O_CLOEXEC fd at execve")
    held_container("exec", s2, n["pid"], n["fd"], n["maps"],
                   "after execve: the kept container, the O_CLOEXEC one gone")
    m = [e for e in calls({n["pid"]}, "VFIO_IOMMU_MAP_DMA") if h(e["args"]["iova"]) == 0x300000]
    check(len(m) == 1 and m[0]["fd"] == n["fd"] and m[0]["ret"] == 0,
          f"exec: the new image's MAP_DMA on the inherited fd {n['fd']} traced")
    gone("exec", state("exec", "after"), {n["pid"]}, "after exit")
else:
    check(False, f"exec: the program ran ({t})")

# ---- SIGKILL inside MAP_DMA ----
t = case("kill")
if t:
    k = t[-1]
    check(k.get("in_ioctl") and k.get("killed"),
          f"kill: the child was killed with SIGKILL inside the ioctl ({k})")
    v = calls({k["victim"]}, "VFIO_IOMMU_MAP_DMA")
    check(len(v) <= 1 and all(e["ret"] != 0 or h(e["args"]["size"]) == 256 << 20 for e in v),
          f"kill: the interrupted MAP_DMA traced at most once ({[(e['ret'], e.get('errno')) for e in v]})")
    gone("kill", state("kill", "after"), {k["victim"]}, "after the kill")
else:
    check(False, "kill: the program ran")

# ---- threads ----
t = case("threads")
if t and "threads" in t[0]:
    th = t[0]
    pid = th["pid"]
    for w in th["threads"]:
        mine = [e for e in calls({pid}) if e["tid"] == w["tid"]]
        nm = sum(e["op"] == "VFIO_IOMMU_MAP_DMA" and e["ret"] == 0 for e in mine)
        nu = sum(e["op"] == "VFIO_IOMMU_UNMAP_DMA" and e["ret"] == 0 for e in mine)
        check(nm == w["maps"] and nu == w["unmaps"] and w["errors"] == 0
              and all(h(e["args"]["iova"]) >> 28 == (w["base"] >> 28) for e in mine
                      if "iova" in e.get("args", {})),
              f"threads: tid {w['tid']}: {w['maps']} maps and {w['unmaps']} unmaps traced as its own "
              f"(traced {nm}/{nu})")
    want = sorted([w["base"] + i * th["chunk"], th["chunk"]]
                  for w in th["threads"] for i in range(th["per_thread"]) if i % 2)
    cs = ctrs_of(state("threads", 1), {pid})
    check(len(cs) == 1 and maps_of(cs[0]) == want and cs[0]["mapped_bytes"] == len(want) * th["chunk"],
          f"threads: state lists exactly the {len(want)} mappings left "
          f"({[len(c['mappings']) for c in cs]}, {[c['mapped_bytes'] for c in cs]} bytes)")
else:
    check(False, f"threads: the program ran ({t})")

sys.exit(1 if failed else 0)
