#!/usr/bin/env python3
"""migrations_qemu scenario, the file-handler way in: the data-fd bytes per phase that
`vfioscope migrations --json` (default way in) and `vfioscope serve` (default way in, its
capabilities dropped, so no data-fd hook at all) show for a real QEMU migration, against the
edu-vfio-pci driver's own counters. usage: MIG_DIR SRC_BDF DST_BDF (in MIG_DIR:
vs-handlers.json, metrics.txt, {src,dst}-driver.txt)"""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from migration_check import Checks, read_driver  # noqa: E402

d = sys.argv[1]
check = Checks()
sd, dd = read_driver(f"{d}/src-driver.txt"), read_driver(f"{d}/dst-driver.txt")
want = {("source", "PRE_COPY"): sd.get("bytes_read PRE_COPY", -1),
        ("source", "STOP_COPY"): sd.get("bytes_read STOP_COPY", -1),
        ("destination", "RESUMING"): dd.get("bytes_written RESUMING", -1)}
# PRE_COPY only where the kernel's uAPI has it (not 6.1)
check("the driver moved bytes in STOP_COPY and RESUMING",
      want[("source", "STOP_COPY")] > 0 and want[("destination", "RESUMING")] > 0, str(want))

view = json.load(open(f"{d}/vs-handlers.json"))
migs = {m["role"]: m for m in view["migrations"] if m["comm"].startswith("qemu")}
for (role, ph), drv in want.items():
    m = migs.get(role, {"phases": []})
    got = sum(p["bytes"] for p in m["phases"] if p["state"] == ph)
    unseen = sum(p["bytes_unseen"] for p in m["phases"] if p["state"] == ph)
    check(f"migrations (default way in): {role} {ph}: {got} bytes ({unseen} of them in calls "
          f"not seen) = driver {drv}", got == drv)

metrics = open(f"{d}/metrics.txt").read()
for (role, ph), drv in want.items():
    dev = sys.argv[2] if role == "source" else sys.argv[3]
    direction = "read" if role == "source" else "write"
    rx = re.compile(r'^vfio_device_migration_data_bytes\{([^}]*)\} (\S+)$', re.M)
    got = 0.0  # serve leaves out a phase the latest migration did not enter
    for labels, v in rx.findall(metrics):
        if (f'device="{dev}"' in labels and f'direction="{direction}"' in labels
                and f'phase="{ph}"' in labels):
            got = float(v)
    check(f"serve (default way in): vfio_device_migration_data_bytes{{device={dev},"
          f"direction={direction},phase={ph}}} {got} = driver {drv}", got == drv)
sys.exit(1 if check.failed else 0)
