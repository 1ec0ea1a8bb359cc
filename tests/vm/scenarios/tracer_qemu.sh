# One real client nobody here wrote: a QEMU inside the guest with the edu device passed through.
# `vfioscope state` must list exactly the RAM sections QEMU mapped (QEMU's own trace event
# vfio_listener_region_add_ram is the reference), the trace must show them as MAP_DMA calls,
# and a tracer started after QEMU must find it in /proc and call it partially known.
# vm-timeout: 900
# vm-mem: 2048
set -u
. tests/vm/guest-lib.sh
bdf=$(edu_bdf)
bind_vfio_pci "$bdf" || exit 1
VS=$BUILD/vfioscope
tmp=$(mktemp -d)
pass=0 fail=0
ok() { echo "ok: $*"; pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

"$VS" trace --json >"$tmp/trace.json" 2>"$tmp/trace.err" &
tpid=$!
for i in $(seq 600); do grep -q 'tracing with' "$tmp/trace.err" && break; sleep 0.1; done
grep -q 'tracing with' "$tmp/trace.err" && ok "$(cat "$tmp/trace.err")" || bad "tracer did not start"

qemu-system-x86_64 -accel tcg -m 256 -nodefaults -display none -S \
	-device vfio-pci,host="$bdf" -trace vfio_listener_region_add_ram -D "$tmp/qemu.log" &
qpid=$!
# QEMU maps its RAM sections within about 40 s under TCG; wait until its trace is quiet
last=-1 same=0
for i in $(seq 300); do
	n=$(grep -c 'region_add \[ram\]' "$tmp/qemu.log" 2>/dev/null || echo 0)
	if [ "$n" -gt 0 ] && [ "$n" = "$last" ]; then
		same=$((same + 1))
		[ $same -ge 10 ] && break
	else
		same=0
	fi
	last=$n
	sleep 1
done
echo "QEMU (pid $qpid) mapped $last RAM sections:"
grep 'region_add \[ram\]' "$tmp/qemu.log"
"$VS" state --json >"$tmp/state.json"
"$VS" state
python3 - "$qpid" "$tmp/qemu.log" "$tmp/state.json" >"$tmp/check1.log" <<'PY'
import json, re, sys
pid = int(sys.argv[1])
want = sorted((int(a, 16), int(b, 16) - int(a, 16) + 1)
              for a, b in re.findall(r"region_add \[ram\] (0x[0-9a-f]+) - (0x[0-9a-f]+)", open(sys.argv[2]).read()))
st = json.load(open(sys.argv[3]))
ctrs = [c for c in st["containers"] if c["pid"] == pid]
def out(c, w): print(("ok: " if c else "FAIL: ") + w)
out(len(want) >= 5, f"QEMU traced {len(want)} RAM sections")
out(len(ctrs) == 1, f"state has one container for QEMU pid {pid}")
if ctrs:
    got = sorted((int(m["iova"], 16), int(m["size"], 16)) for m in ctrs[0]["mappings"])
    out(got == want, f"state lists exactly QEMU's RAM sections: {[(hex(a), hex(b)) for a, b in got]}")
    out(not any(m["bar"] for m in ctrs[0]["mappings"]),
        "no RAM section is taken for a device BAR (the BPF side checks what backs each vaddr)")
    out(not ctrs[0]["partial"], "QEMU's container is fully known")
    kinds = sorted(m["kind"] for m in ctrs[0]["members"])
    out(kinds == ["device", "group"], f"container members {kinds}")
    r = ctrs[0]["qemu_ranges"]["range32"]
    out(r is not None and int(r["iova"], 16) == 0 and int(r["end"], 16) == 0xFFFFFFFF
        and ctrs[0]["qemu_ranges"]["range64"] is None,
        f"QEMU's ranges: one 32-bit range [0, 4 GiB) ({ctrs[0]['qemu_ranges']})")
PY
cat "$tmp/check1.log"
pass=$((pass + $(grep -c '^ok: ' "$tmp/check1.log"))) fail=$((fail + $(grep -c '^FAIL: ' "$tmp/check1.log")))
kill -INT $tpid
wait $tpid
n=$(python3 -c "import json,sys; print(sum(1 for l in open('$tmp/trace.json') if l.strip() and json.loads(l).get('pid')==$qpid and json.loads(l)['op']=='VFIO_IOMMU_MAP_DMA' and json.loads(l)['ret']==0))")
[ "$n" = "$last" ] && ok "trace has $n successful MAP_DMA calls from QEMU" ||
	bad "trace has $n successful MAP_DMA calls from QEMU, QEMU traced $last"

# a tracer started now finds QEMU in /proc, with nothing known of its mappings
"$VS" state --json >"$tmp/late.json"
python3 - "$qpid" "$tmp/late.json" >"$tmp/check2.log" <<'PY'
import json, sys
pid = int(sys.argv[1])
st = json.load(open(sys.argv[2]))
p = [p for p in st["processes"] if p["pid"] == pid]
def out(c, w): print(("ok: " if c else "FAIL: ") + w)
out(len(p) == 1 and p[0]["partial"] and p[0]["fds"]["container"] == 1 and p[0]["fds"]["group"] == 1
    and p[0]["fds"]["device"] == 1,
    f"a late tracer finds QEMU in /proc, partially known, with its VFIO fds ({p})")
out(not [c for c in st["containers"] if c["pid"] == pid], "and claims no mappings for it")
PY
cat "$tmp/check2.log"
pass=$((pass + $(grep -c '^ok: ' "$tmp/check2.log"))) fail=$((fail + $(grep -c '^FAIL: ' "$tmp/check2.log")))
kill $qpid
wait $qpid 2>/dev/null
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
