#!/usr/bin/env python3
"""Validate a Chrome trace-event JSON file (the "Trace Event Format" that Perfetto's UI and
chrome://tracing open), as `vfioscope record` writes it.

Checks: the JSON Object Format ({"traceEvents": [...]}); every event has the fields its phase
needs (name, ph, pid; ts for all but metadata; tid for slices; dur >= 0 for "X"; numeric args
for "C"; args.name for process_name/thread_name "M"); only known phases; per track (pid, tid)
slices start in non-decreasing order, B/E pairs balance with matching names, and complete
slices nest (a slice starting inside another ends inside it); per counter (pid, name)
timestamps do not go back.

usage: trace_event_check.py FILE   -> prints a summary, exit 0 valid, 1 invalid, 2 unreadable
"""
import json
import sys

PHASES = {"B", "E", "X", "C", "i", "I", "M"}


def check(doc):
    errs = []
    if not isinstance(doc, dict) or not isinstance(doc.get("traceEvents"), list):
        return ["top level is not an object with a traceEvents array"], {}
    tracks, counters, stacks, open_b = {}, {}, {}, {}
    n = {"X": 0, "B": 0, "C": 0, "M": 0, "i": 0}
    for i, e in enumerate(doc["traceEvents"]):
        where = f"event {i}"
        if not isinstance(e, dict):
            errs.append(f"{where}: not an object")
            continue
        ph = e.get("ph")
        if ph not in PHASES:
            errs.append(f"{where}: unknown ph {ph!r}")
            continue
        for f in ("name", "pid"):
            if f not in e:
                errs.append(f"{where} ({ph}): no {f}")
        if not isinstance(e.get("name", ""), str):
            errs.append(f"{where}: name is not a string")
        if ph == "M":
            n["M"] += 1
            if e.get("name") in ("process_name", "thread_name") and not isinstance(
                    e.get("args", {}).get("name"), str):
                errs.append(f"{where}: {e.get('name')} without args.name")
            continue
        ts = e.get("ts")
        if not isinstance(ts, (int, float)) or ts < 0:
            errs.append(f"{where} ({ph} {e.get('name')}): bad ts {ts!r}")
            continue
        if ph == "C":
            n["C"] += 1
            args = e.get("args")
            if not isinstance(args, dict) or not args or not all(
                    isinstance(v, (int, float)) for v in args.values()):
                errs.append(f"{where}: counter {e.get('name')} needs numeric args")
            key = (e.get("pid"), e.get("name"))
            if ts < counters.get(key, -1):
                errs.append(f"{where}: counter {key} goes back in time ({ts} < {counters[key]})")
            counters[key] = ts
            continue
        if "tid" not in e:
            errs.append(f"{where} ({ph}): no tid")
            continue
        key = (e["pid"], e["tid"])
        if ts < tracks.get(key, -1):
            errs.append(f"{where}: track {key} not in time order ({ts} < {tracks[key]})")
        tracks[key] = ts
        if ph in ("i", "I"):
            n["i"] += 1
            continue
        if ph == "B":
            n["B"] += 1
            open_b.setdefault(key, []).append(e.get("name"))
            continue
        if ph == "E":
            st = open_b.get(key, [])
            if not st:
                errs.append(f"{where}: E without B on track {key}")
            else:
                name = st.pop()
                if e.get("name") not in (None, name):
                    errs.append(f"{where}: E {e.get('name')!r} closes B {name!r}")
            continue
        # X
        n["X"] += 1
        dur = e.get("dur")
        if not isinstance(dur, (int, float)) or dur < 0:
            errs.append(f"{where}: X {e.get('name')} with bad dur {dur!r}")
            continue
        st = stacks.setdefault(key, [])
        # timestamps are microseconds as doubles: 1 ns of rounding is not an overlap
        while st and st[-1] <= ts + 1e-3:
            st.pop()
        end = ts + dur
        if st and end > st[-1] + 1e-3:
            errs.append(f"{where}: X {e.get('name')} [{ts}, {end}] overlaps its parent ending {st[-1]} on {key}")
        st.append(end)
    for key, st in open_b.items():
        if st:
            errs.append(f"track {key}: {len(st)} B without E ({st[:3]})")
    n["tracks"] = len(tracks)
    n["counters"] = len(counters)
    return errs, n


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    try:
        doc = json.load(open(sys.argv[1]))
    except (OSError, ValueError) as e:
        print(f"trace_event_check: cannot read {sys.argv[1]}: {e}", file=sys.stderr)
        return 2
    errs, n = check(doc)
    for e in errs[:20]:
        print("invalid: " + e)
    if errs:
        print(f"{len(errs)} problems")
        return 1
    print("valid: {X} slices, {B} B/E pairs, {C} counter samples, {M} metadata, "
          "{tracks} tracks, {counters} counters".format(**n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
