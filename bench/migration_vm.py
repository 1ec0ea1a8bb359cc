#!/usr/bin/env python3
"""bench/migration_vm.sh's summary: QEMU's query-migrate figures of each run (DIR/HOW-N.qmp,
HOW plain or watched), their medians, and the watched/plain ratios; then what vfioscope's
view of each watched run counted. usage: migration_vm.py DIR"""
import glob
import json
import os
import statistics
import sys

d = sys.argv[1]
FIELDS = [("total-time", "total ms"), ("downtime", "downtime ms"), ("setup-time", "setup ms"),
          ("mbps", "RAM Mbit/s"), ("vfio-transferred", "device bytes")]


def result(path):
    for line in open(path):
        try:
            m = json.loads(line)
        except ValueError:
            continue
        if m.get("step") == "result":
            return m
    sys.exit(f"{path}: no result line (the migration did not complete)")


runs = {}
for path in sorted(glob.glob(f"{d}/*.qmp")):
    how, n = os.path.basename(path)[:-4].rsplit("-", 1)
    runs.setdefault(how, []).append(result(path))
if "plain" not in runs or "watched" not in runs:
    sys.exit(f"{d}: needs plain and watched runs")

print(f"{'':28}" + "".join(f"{h:>15}" for _, h in FIELDS))
med = {}
for how in ("plain", "watched"):
    for i, r in enumerate(runs[how], 1):
        print(f"{how + ' run ' + str(i):28}" + "".join(f"{r.get(k) or 0:>15.1f}" for k, _ in FIELDS))
    med[how] = {k: statistics.median(r.get(k) or 0 for r in runs[how]) for k, _ in FIELDS}
    print(f"{how + ' median':28}" + "".join(f"{med[how][k]:>15.1f}" for k, _ in FIELDS))
print(f"{'watched / plain (medians)':28}" + "".join(
    f"{(med['watched'][k] / med['plain'][k]) if med['plain'][k] else float('nan'):>15.2f}"
    for k, _ in FIELDS))
for path in sorted(glob.glob(f"{d}/watched-*.view")):
    v = json.load(open(path))
    print(f"  {os.path.basename(path)}: {v.get('lost')} records lost")
    for x in v.get("migrations", []):
        fd = x.get("data_fd", {})
        print(f"    {x.get('role')} {x.get('device')} pid {x.get('pid')} {x.get('outcome')}: "
              f"{x.get('bytes')} device bytes, {fd.get('calls')} data-fd calls seen, "
              f"{fd.get('bytes_unseen', 0)} bytes in calls not seen")
