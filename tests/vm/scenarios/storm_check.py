#!/usr/bin/env python3
# Checks storm.sh's two parts against what tests/vm/src/storm printed: `state --json` and
# `state` of the pinned trace and serve's /metrics while each program held its mappings, the
# trace's last line. One "ok:"/"FAIL:" line per check, exit 1 if any failed.
# usage: storm_check.py DIR STORM_HELD STORM_CALLS HOLD_HELD MAP [IOAS]
# (IOAS: the third part's IOAS count, on a kernel with /dev/iommu; 0 or absent: no third part)
import json
import os
import re
import sys

d = sys.argv[1]
storm_held, storm_calls, hold_held, hold_map = map(int, sys.argv[2:6])
ioas_n = int(sys.argv[6]) if len(sys.argv) > 6 else 0
CTR_MAP = 1024  # the containers map's entries (bpf/tracer.bpf.c)
failed = 0
REASONS = ("ring_buffer_full", "mapping_map_full", "calls_in_flight", "state_map_full")


def check(part, cond, what):
    global failed
    print(("ok: " if cond else "FAIL: ") + f"[{part}] {what}")
    if not cond:
        failed += 1


def h(v):
    return int(v, 16) if isinstance(v, str) else v


def read(part, name):
    p = os.path.join(d, part or "", name)
    return open(p, errors="replace").read() if os.path.exists(p) else ""


def load(part, name):
    try:
        return json.loads(read(part, name))
    except ValueError:
        return None


def metrics(part):
    """name{labels} -> value, for every sample of serve's /metrics."""
    out = {}
    for l in read(part, "metrics.txt").splitlines():
        m = re.match(r"^([a-z_:]+(?:\{[^}]*\})?) (\S+)$", l)
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


def triples(maps):
    return {(h(m["iova"]), h(m["size"]), h(m["vaddr"])) for m in maps}


def common(part):
    """The program, state and serve of one part; None when there is nothing to check."""
    prog, state = load(part, "prog.json"), load(part, "state.json")
    check(part, read(part, "prog.rc").strip() == "0" and prog is not None,
          f"the program ran to its end (exit {read(part, 'prog.rc').strip()}) "
          f"{read(part, 'prog.err').strip()}")
    check(part, state is not None and state["tracer"]["mode"] == "pinned",
          "state --json read the pinned trace's maps: "
          + (state["tracer"]["mode"] if state else read(part, "state.err").strip()))
    if prog is None or state is None:
        return None
    ctrs = [c for c in state["containers"] if c["pid"] == prog["pid"]]
    check(part, len(ctrs) == 1, f"state lists one container for the program (got {len(ctrs)})")
    if len(ctrs) != 1:
        return None
    met = metrics(part)
    lost = {r: met.get(f'vfioscope_events_lost_total{{reason="{r}"}}') for r in REASONS}
    check(part, all(v is not None for v in lost.values()),
          f"/metrics has vfioscope_events_lost_total for every reason: {lost}")
    served = [v for k, v in met.items() if k.startswith("vfio_dma_mappings{")]
    return prog, state, ctrs[0], lost, served


def part_storm():
    part = "storm"
    got = common(part)
    if not got:
        return
    prog, state, c, lost, served = got
    held = triples(prog["held"])
    check(part, prog["calls"] == storm_calls and len(held) == storm_held,
          f"the program made {prog['calls']} calls ({prog['maps']} maps, {prog['unmaps']} "
          f"unmaps) and holds {len(held)} distinct mappings")
    tl = state["tracer"]
    check(part, tl["lost_ringbuf"] > 0,
          f"the trace's one-page ring buffer lost records: {tl['lost_ringbuf']}")
    check(part, tl["lost_mapping"] == 0 and tl["lost_inflight"] == 0 and tl["lost_state"] == 0,
          f"nothing else lost: mapping {tl['lost_mapping']}, in flight {tl['lost_inflight']}, "
          f"state {tl['lost_state']}")
    listed = triples(c["mappings"])
    check(part, listed == held and len(c["mappings"]) == storm_held,
          f"state lists exactly the {storm_held} mappings the program holds (iova, size, vaddr): "
          f"{len(c['mappings'])} listed, {len(listed - held)} not held, "
          f"{len(held - listed)} missing")
    check(part, not c["incomplete"] and c["mapping_count"] == storm_held
          and c["mapped_bytes"] == storm_held * 4096,
          f"the container is complete: incomplete {c['incomplete']}, {c['mapping_count']} "
          f"mappings, {c['mapped_bytes']} bytes")
    check(part, c["maps_seen"] == prog["maps"] and c["unmaps_seen"] == prog["unmaps"],
          f"every call reached the mirror: {c['maps_seen']} maps and {c['unmaps_seen']} unmaps "
          f"seen, {prog['maps']} and {prog['unmaps']} made")
    rb = lost["ring_buffer_full"]
    check(part, rb is not None and rb > 0 and lost["mapping_map_full"] == 0,
          f'serve exported its ring buffer losses: vfioscope_events_lost_total'
          f'{{reason="ring_buffer_full"}} {rb}, mapping_map_full {lost["mapping_map_full"]}')
    check(part, served == [storm_held],
          f"serve's mirror is exact too: vfio_dma_mappings {served}")


def part_hold():
    part = "hold"
    got = common(part)
    if not got:
        return
    prog, state, c, lost, served = got
    held = triples(prog["held"])
    check(part, len(held) == hold_held and hold_held > hold_map,
          f"the program holds {len(held)} mappings, more than the map's {hold_map}")
    tl = state["tracer"]
    before = (load("storm", "state.json") or {"tracer": {"lost_mapping": 0}})["tracer"]
    listed = triples(c["mappings"])
    check(part, c["incomplete"], f"state marks the container incomplete: {c['incomplete']}")
    check(part, "[incomplete: mapping map full]" in read(part, "state.txt"),
          "state's table says it: [incomplete: mapping map full]")
    check(part, listed <= held and 0 < len(listed) <= hold_map
          and c["mapping_count"] == len(listed),
          f"state lists only mappings the program holds: {len(listed)} listed, "
          f"{len(listed - held)} not held")
    new = tl["lost_mapping"] - before["lost_mapping"]
    check(part, new > 0 and new + len(listed) == hold_held,
          f"every mapping that did not fit is counted (the storm's, released, were reclaimed): "
          f"{new} lost + {len(listed)} listed = {new + len(listed)}")
    mm = lost["mapping_map_full"]
    check(part, mm is not None and mm > 0 and len(served) == 1 and mm + served[0] == hold_held,
          f'serve exported the overflow: vfioscope_events_lost_total{{reason="mapping_map_full"}} '
          f"{mm}, vfio_dma_mappings {served}")


def part_ioas():
    """More IOAS in one iommufd than the containers map holds: the ones that found room are
    listed, the rest stands as one untracked, incomplete container; nothing after the close."""
    part = "ioas"
    prog, state = load(part, "prog.json"), load(part, "state.json")
    check(part, read(part, "prog.rc").strip() == "0" and prog is not None
          and len(set(prog["ioas"])) == ioas_n,
          f"the program allocated {ioas_n} IOAS with a page mapped in each (exit "
          f"{read(part, 'prog.rc').strip()}) {read(part, 'prog.err').strip()}")
    if prog is None or state is None:
        check(part, False, "state --json: " + read(part, "state.err").strip())
        return
    ctrs = [c for c in state["containers"] if c["pid"] == prog["pid"]]
    tracked = [c for c in ctrs if not c["untracked"]]
    untracked = [c for c in ctrs if c["untracked"]]
    ids = set(prog["ioas"])
    check(part, len(untracked) == 1 and untracked[0]["incomplete"]
          and untracked[0]["backend"] == "iommufd",
          f"state lists one untracked, incomplete container for the rest: "
          f"{[(c['ioas'], c['incomplete'], c['backend']) for c in untracked]}")
    check(part, 0 < len(tracked) <= CTR_MAP and {c["ioas"] for c in tracked} <= ids
          and len({c["ioas"] for c in tracked}) == len(tracked),
          f"the IOAS that found room are listed, each once, all the program's: {len(tracked)} "
          f"of {ioas_n}, {len({c['ioas'] for c in tracked} - ids)} unknown ids")
    check(part, all(c["mapping_count"] <= 1 and c["mapped_bytes"] == 4096 * c["mapping_count"]
                    for c in tracked),
          "no listed IOAS shows more than the one page the program mapped")
    check(part, "[incomplete: not tracked, the containers map was full]" in read(part, "state.txt"),
          "state's table says it: [incomplete: not tracked, the containers map was full]")
    before = (load("hold", "state.json") or {"tracer": {"lost_state": 0}})["tracer"]["lost_state"]
    new = state["tracer"]["lost_state"] - before
    check(part, new >= ioas_n - len(tracked),
          f"every IOAS that found no room is counted: {new} lost (state) >= {ioas_n} - "
          f"{len(tracked)}")
    sm = metrics(part).get('vfioscope_events_lost_total{reason="state_map_full"}')
    check(part, sm is not None and sm >= ioas_n - CTR_MAP,
          f'serve exported it: vfioscope_events_lost_total{{reason="state_map_full"}} {sm}')
    after = load(part, "after.json")
    left = [c for c in (after or {"containers": [None]})["containers"]
            if c is None or c["pid"] == prog["pid"]]
    check(part, after is not None and not left,
          f"after the program closed its iommufd, state lists none of it ({len(left)} left)")


def tracers():
    for who in ("trace", "serve"):
        rc = read(None, f"{who}.rc").strip()
        check("end", rc == "0", f"{who} ran through both parts and stopped cleanly (exit {rc})")
    state = load("hold", "state.json")
    m = re.search(r"(\d+) calls traced, (\d+) printed, (\d+) lost", read(None, "trace.err"))
    if not m or not state:
        check("end", False, "trace said what it lost: " + read(None, "trace.err")[-300:])
        return
    tl = state["tracer"]
    traced, lost = int(m.group(1)), int(m.group(3))
    check("end", lost >= tl["lost_ringbuf"] + tl["lost_mapping"] > 0
          and traced + tl["lost_ringbuf"] >= storm_calls + hold_held,
          f"trace said what it lost: {m.group(0)} (ring buffer {tl['lost_ringbuf']}, mapping "
          f"map {tl['lost_mapping']})")


part_storm()
part_hold()
if ioas_n:
    part_ioas()
tracers()
sys.exit(1 if failed else 0)
