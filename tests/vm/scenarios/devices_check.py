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
    p = pdevs[0]
    if mode == "cdev":  # the cdev names its device through sysfs
        check(not p["traced"] and p["address"] == bdf and p["driver"] == driver
              and p["iommu_group"] == group,
              f"/proc: the untraced cdev fd is named from sysfs: {bdf} {driver} group {group} ({p})")
    else:  # an anonymous inode says nothing: named at its first traced call
        check(not p["traced"] and p["address"] is None,
              f"/proc: the untraced group-opened device fd is not named yet ({p})")

# ---- state after the call ----
devs = [x for x in after["devices"] if x["pid"] == pid and x["fd"] == fd]
check(len(devs) == 1, f"state lists the device file of pid {pid} fd {fd} once ({len(devs)})")
dev = devs[0] if devs else {}
check(all(dev.get(k) == v for k, v in want.items()),
      f"state names it {want} ({ {k: dev.get(k) for k in want} })")
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
line = f"device {bdf} fd={fd} VFIO_DEVICE_GET_INFO("
tl = [l for l in text if f" {pid} " in l and line in l]
check(len(tl) == 1, f"trace line has '{line}' ({tl or [l for l in text if 'GET_INFO' in l]})")

# ---- serve ----
info = [l for l in metrics if l.startswith("vfio_device_info{")]
want_line = f'vfio_device_info{{device="{bdf}",driver="{driver}",container="{ctr_label}"}} 1'
check(want_line in info, f"/metrics has {want_line} ({info})")
sys.exit(1 if failed else 0)
