#!/usr/bin/env python3
"""bench/migration_vm.sh (part 2), in the guest: mig_drive's timings (DIR/base.json untraced,
DIR/MODE.json traced, DIR/MODE.view vfioscope's view) as ns per call and ratios. usage: DIR"""
import json
import sys

t = sys.argv[1]
base = json.load(open(f"{t}/base.json"))


def per(r, k, n):
    return r[k] / r[n] if r[n] else float("nan")


def row(name, r):
    rd, wr, idle = per(r, "read_ns", "reads"), per(r, "write_ns", "writes"), per(r, "idle_ns", "idle_calls")
    brd, bwr, bidle = (per(base, "read_ns", "reads"), per(base, "write_ns", "writes"),
                       per(base, "idle_ns", "idle_calls"))
    print(f"{name:34}{rd:10.0f}{rd / brd:7.2f}{wr:10.0f}{wr / bwr:7.2f}{idle:12.0f}{idle / bidle:7.2f}")


print(f"{'':34}{'read ns':>10}{'ratio':>7}{'write ns':>10}{'ratio':>7}{'getppid ns':>12}{'ratio':>7}")
row("untraced", base)
for m in sys.argv[2:]:
    r = json.load(open(f"{t}/{m}.json"))
    row(f"vfioscope migrations --mode {m}", r)
    v = json.load(open(f"{t}/{m}.view"))
    for x in v["migrations"]:
        if x["comm"] == "mig_drive":
            fd = x["data_fd"]
            print(f"{'':36}{x['role']}: {fd['bytes']} bytes, {fd['calls']} calls seen, "
                  f"{fd['bytes_unseen']} bytes in calls not seen")
print(f"({base['reads']} reads and {base['writes']} writes of at most 256 bytes, "
      f"{base['read_bytes']} bytes each way; {base['idle_calls']} getppid calls before the "
      f"migration, no device migrating)")
