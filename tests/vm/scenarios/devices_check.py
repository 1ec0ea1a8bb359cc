#!/usr/bin/env python3
# Checks how vfioscope names the device tests/vm/src/devices_open opened: `state --json`
# (before and after its first traced device call), `trace` (JSON and text) and serve's
# vfio_device_info, against the program's own report and sysfs. Used by devices_identity.sh;
# prints one "ok:"/"FAIL:" line per check.
# usage: devices_check.py MODE WHEN BDF GROUP DRIVER DIR
import json
import re
import sys

mode, when, bdf, group, driver, d = sys.argv[1:7]
group = int(group)
lines = [json.loads(l) for l in open(f"{d}/prog.jsonl") if l.strip()]
prog = lines[0]
pid, fd = prog["pid"], prog["device_fd"]
before = json.load(open(f"{d}/before.json"))
after = json.load(open(f"{d}/after.json"))
kaddr = json.load(open(f"{d}/kaddr.json"))
events = [json.loads(l) for l in open(f"{d}/trace.json") if l.strip()]
text = open(f"{d}/trace.txt").read().splitlines()
metrics = open(f"{d}/metrics.txt").read().splitlines()
failed = 0


def check(cond, what):
    global failed
    print(("ok: " if cond else "FAIL: ") + f"[{mode}, {when}] {what}")
    failed += not cond


def keys(o, found):
    if isinstance(o, dict):
        for k, v in o.items():
            found.append((k, v))
            keys(v, found)
    elif isinstance(o, list):
        for v in o:
            keys(v, found)
    return found


want = {"address": bdf, "driver": driver, "iommu_group": group, "opened": mode}

# ---- /proc, before the program's first traced device call ----
procs = [p for p in before["processes"] if p["pid"] == pid]
pdevs = procs[0]["devices"] if procs else []
check(len(pdevs) == 1 and pdevs[0]["fd"] == fd and pdevs[0]["opened"] == mode,
      f"/proc: the process holds one device fd {fd} opened through {mode} ({pdevs})")
if when == "before" and pdevs:
    # /proc says only "anon_inode:[vfio-device]" for a device opened through its group: the
    # tracer's iterator read the kernel's struct vfio_device behind the fd when it started
    p = pdevs[0]
    check(not p["traced"] and p["found_at_start"] and p["address"] == bdf
          and p["driver"] == driver and p["iommu_group"] == group,
          f"/proc: the fd opened before the tracer is named before any call: {bdf} {driver} "
          f"group {group} ({p})")
    bd = [x for x in before["devices"] if x["pid"] == pid and x["fd"] == fd]
    check(len(bd) == 1 and all(bd[0].get(k) == v for k, v in want.items())
          and bd[0]["found_at_start"] and bd[0]["ioctls"] == 0,
          f"state lists the device found at start, named, no call yet ({bd})")

# ---- state after the call ----
devs = [x for x in after["devices"] if x["pid"] == pid and x["fd"] == fd]
check(len(devs) == 1, f"state lists the device file of pid {pid} fd {fd} once ({len(devs)})")
dev = devs[0] if devs else {}
check(all(dev.get(k) == v for k, v in want.items()),
      f"state names it {want} ({ {k: dev.get(k) for k in want} })")
check(dev.get("found_at_start") == (when == "before"),
      f"state says whether the tracer found it open at start ({dev.get('found_at_start')})")
ctr_label = ""
if when == "traced":
    ctrs = [c for c in after["containers"] if c["id"] == dev.get("container")]
    check(len(ctrs) == 1 and ctrs[0]["pid"] == pid
          and ctrs[0]["backend"] == ("iommufd" if mode == "cdev" else "type1v2"),
          f"the device sits in the program's container {dev.get('container')}")
    if ctrs:
        ctr_label = str(ctrs[0]["id"])
        members = [m for m in ctrs[0]["members"] if m["kind"] == "device"]
        check(len(members) == 1 and all(members[0].get(k) == v for k, v in want.items()),
              f"the container's members name the device ({members})")
else:
    check(dev.get("container") is None,
          "opened before the tracer: its container is not known (no container call traced)")
procs = [p for p in after["processes"] if p["pid"] == pid]
pdevs = procs[0]["devices"] if procs else []
check(len(pdevs) == 1 and pdevs[0]["traced"] and pdevs[0]["address"] == bdf,
      f"/proc after the call: the fd is the traced device {bdf} ({pdevs})")
# a kernel address: 64 bits in the kernel's half (IOVAs and sizes are never that high here)
kernel = re.compile(r"^0xffff[0-9a-f]{12}$")
leaks = [(k, v) for k, v in keys(after, []) if isinstance(v, str) and kernel.match(v)]
check(not leaks and not [k for k, _ in keys(after, []) if k in ("file", "parent_file")],
      f"state --json shows no kernel address ({leaks[:3]})")
kd = [x for x in kaddr["devices"] if x["pid"] == pid and x["fd"] == fd]
check(kd and kernel.match(str(kd[0].get("file", ""))),
      "state --kernel-addresses shows the device's struct file address")

# ---- trace ----
calls = [e for e in events if e.get("pid") == pid and e.get("op") == "VFIO_DEVICE_GET_INFO"]
check(len(calls) == 1 and calls[0]["device"] == bdf and calls[0]["fd"] == fd,
      f"trace --json: VFIO_DEVICE_GET_INFO on fd {fd} names device {bdf} ({calls})")
check(calls and calls[0]["file_id"] == dev.get("id"),
      f"trace --json names the device file by state's id {dev.get('id')} "
      f"({calls[0].get('file_id') if calls else None})")
if when == "traced" and ctr_label:
    cf = [c["file_id"] for c in after["containers"] if str(c["id"]) == ctr_label]
    check(calls and cf and calls[0]["container_file_id"] == cf[0],
          f"trace --json names its container's file by state's id {cf} "
          f"({calls[0].get('container_file_id') if calls else None})")
    gd = [e for e in events if e.get("pid") == pid and e.get("op") == "VFIO_GROUP_GET_DEVICE_FD"]
    if mode == "group":
        check(len(gd) == 1 and gd[0].get("new_file_id") == dev.get("id"),
              f"trace --json: GET_DEVICE_FD's new file is state's device {dev.get('id')} ({gd})")
tleaks = [(k, v) for k, v in keys(events, []) if isinstance(v, str) and kernel.match(v)]
check(events and not tleaks
      and not [k for k, _ in keys(events, []) if k in ("file", "container", "new_file")],
      f"trace --json shows no kernel address ({tleaks[:3]})")
line = f"device {bdf} fd={fd} VFIO_DEVICE_GET_INFO("
tl = [l for l in text if f" {pid} " in l and line in l]
check(len(tl) == 1, f"trace line has '{line}' ({tl or [l for l in text if 'GET_INFO' in l]})")

# ---- serve ----
info = [l for l in metrics if l.startswith("vfio_device_info{")]
want_line = f'vfio_device_info{{device="{bdf}",driver="{driver}",container="{ctr_label}"}} 1'
check(want_line in info, f"/metrics has {want_line} ({info})")
sys.exit(1 if failed else 0)
