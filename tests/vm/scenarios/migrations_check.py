#!/usr/bin/env python3
"""migrations scenario: `vfioscope migrations --json` and `vfioscope record` against what
tests/vm/src/mig_drive says it did. usage: TRUTH VIEW TRACE KERN_DIRTY(yes|no)"""
import json
import sys

truth = json.load(open(sys.argv[1]))
view = json.load(open(sys.argv[2]))
trace = json.load(open(sys.argv[3]))
kern_dirty = sys.argv[4] == "yes"
failed = 0


def out(c, what):
    global failed
    print(("ok: " if c else "FAIL: ") + what)
    failed += not c


migs = [m for m in view["migrations"] if m["comm"] == "mig_drive"]
out(len(migs) == 2, f"two migrations of mig_drive seen ({[(m['role'], m['outcome']) for m in migs]})")
if len(migs) != 2:
    sys.exit(1)
src, dst = migs
out(src["role"] == "source" and dst["role"] == "destination", "source, then destination")
out(src["outcome"] == "completed" and dst["outcome"] == "completed", "both completed")

seen = [(p["state"], p["ret"], p["data_fd"]) for p in src["phases"] + dst["phases"]]
want = [(t["state"], t["ret"], t["data_fd"]) for t in truth["transitions"]]
out(seen == want, f"every state transition, result and data fd: {seen}")
# the state before the first SET is known only if the tracer saw it ("?" otherwise)
froms = [p["from"] for p in src["phases"] + dst["phases"]]
out(froms[0] in ("?", "RUNNING") and froms[1:] == ["STOP", "STOP_COPY", "STOP", "RESUMING", "STOP"],
    f"each transition's previous state {froms}")

by = {p["state"]: p for p in src["phases"]}
sc = by.get("STOP_COPY", {})
out(sc.get("bytes") == truth["read_bytes"] and sc.get("calls") == truth["reads"],
    f"source STOP_COPY: {sc.get('bytes')} bytes in {sc.get('calls')} reads "
    f"(mig_drive: {truth['read_bytes']} in {truth['reads']})")
res = dst["phases"][0]
out(res["state"] == "RESUMING" and res["bytes"] == truth["written_bytes"] and res["calls"] == truth["writes"],
    f"destination RESUMING: {res['bytes']} bytes in {res['calls']} writes "
    f"(mig_drive: {truth['written_bytes']} in {truth['writes']})")
others = [p for p in src["phases"] + dst["phases"] if p["state"] not in ("STOP_COPY", "RESUMING")]
out(all(p["bytes"] == 0 for p in others), "no bytes in the other phases")
out(src["bytes"] == truth["read_bytes"] and dst["bytes"] == truth["written_bytes"], "bytes per migration")

if truth["data_size"] is None:
    out(src["data_size"]["queries"] == 0, "MIG_DATA_SIZE: not offered by this kernel, none seen")
else:
    out(src["data_size"]["queries"] == 1 and src["data_size"]["last_bytes"] == truth["data_size"],
        f"MIG_DATA_SIZE answer {src['data_size']['last_bytes']} (mig_drive: {truth['data_size']})")

ts = truth["syncs"]
vs = src["syncs"]
out(vs["count"] + vs["errors"] == len(ts) and len(vs["list"]) == len(ts),
    f"{len(vs['list'])} dirty syncs (mig_drive: {len(ts)})")
out([s["ret"] for s in vs["list"]] == [s["ret"] for s in ts], f"sync results {[s['ret'] for s in vs['list']]}")
if kern_dirty and all(s["ret"] == 0 for s in ts):
    out([s["pages"] for s in vs["list"]] == [s["pages"] for s in ts],
        f"dirty pages per sync {[s['pages'] for s in vs['list']]} (mig_drive: {[s['pages'] for s in ts]})")
    out(src["dirty_pages_per_s"] > 0, f"device dirty rate {src['dirty_pages_per_s']:.1f} pages/s")
else:
    out(not vs["pages_known"] or vs["pages"] == 0, "dirty pages unknown where the kernel cannot report")

for m in (src, dst):
    ph = m["phases"]
    starts = [p["start_ns"] for p in ph]
    out(starts == sorted(starts) and all(p["duration_ns"] is not None and p["duration_ns"] >= 0 for p in ph),
        f"{m['role']}: phases in order with durations {[p['duration_ns'] for p in ph]}")
    out(all(ph[i]["start_ns"] + ph[i]["duration_ns"] == ph[i + 1]["start_ns"] for i in range(len(ph) - 1)),
        f"{m['role']}: each phase ends where the next begins")
syncs_t = [s["t_ns"] for s in vs["list"]]
out(all(t < src["phases"][0]["start_ns"] for t in syncs_t), "the syncs come before the first state change")
out(dst["start_ns"] >= src["phases"][-1]["start_ns"], "the destination begins after the source's last phase")

d = src["downtime_ns"]
out(d is not None and 0 < d <= src["duration_ns"], f"source downtime part {d} ns")
rd = dst["downtime_ns"]
exp = sum(p["duration_ns"] for p in dst["phases"][:-1]) + dst["phases"][0]["set_latency_ns"] + dst["phases"][-1]["set_latency_ns"] * 0
out(rd is not None and rd > 0 and rd >= sum(p["duration_ns"] for p in dst["phases"][:-1]),
    f"destination downtime part {rd} ns (RESUMING -> RUNNING)")
conv = src["convergence"]
out(conv["stop_copy_bytes"] == truth["read_bytes"] and not conv["stop_copy_estimated"],
    f"stop-copy size seen {conv['stop_copy_bytes']}")

e2e = view["end_to_end"]
out(len(e2e) == 1 and e2e[0]["bytes_read"] == e2e[0]["bytes_written"] == truth["read_bytes"]
    and e2e[0]["pause_ns"] and e2e[0]["pause_ns"] >= d,
    f"source and destination joined: {e2e}")

# the trace file shows the same
ev = trace["traceEvents"]
names = {(e["pid"], e["tid"]): e["args"]["name"] for e in ev if e["ph"] == "M" and e["name"] == "thread_name"}
phase_tracks = sorted(k for k, v in names.items() if v.endswith(" phases"))
slices = [[e["name"] for e in ev if e["ph"] == "X" and (e["pid"], e["tid"]) == k] for k in phase_tracks]
out([p["state"] for p in src["phases"]] in slices and [p["state"] for p in dst["phases"]] in slices,
    f"trace file: device phase tracks {slices}")
data = [e for e in ev if e["ph"] == "C" and e["name"].startswith("data-fd bytes")]
out(data and max(e["args"]["bytes"] for e in data) == truth["read_bytes"],
    "trace file: data-fd bytes counter reaches " + str(max((e["args"]["bytes"] for e in data), default=None)))
reads = [e for e in ev if e["ph"] == "X" and e["name"] == "read"]
out(len(reads) == truth["reads"], f"trace file: {len(reads)} data-fd read slices")
calls = [e for e in ev if e["ph"] == "X" and e["name"].startswith("VFIO_DEVICE_FEATURE")]
out(len(calls) >= len(truth["transitions"]) + len(ts) + 2, f"trace file: {len(calls)} VFIO_DEVICE_FEATURE slices")
if kern_dirty and all(s["ret"] == 0 for s in ts):
    dp = [e["args"]["pages"] for e in ev if e["ph"] == "C" and e["name"].startswith("dirty pages")]
    out(dp == [s["pages"] for s in ts], f"trace file: dirty pages counter {dp}")
print(f"{failed} failed")
sys.exit(1 if failed else 0)
