# The tracer against the reference DMA-logging device (tests/kmod edu-vfio-pci): the project's
# DMA-logging test program (tests/vm/src/dmalog_test) runs under `vfioscope trace --json`; every
# DMA_LOGGING START/REPORT/STOP it makes must be traced and decoded, REPORT with its bitmap size,
# and, where the kernel has iova_bitmap_set (6.1's vfio.ko, 6.12-iommufd's IOMMUFD_DRIVER; not
# Debian's 6.12), with the dirty pages the driver really set.
# vm-timeout: 400
set -u
. tests/vm/guest-lib.sh
bdf=$(edu_bdf) || exit 1
VS=$BUILD/vfioscope
tmp=$(mktemp -d)
modprobe vfio-pci || exit 1
load_edu_vfio_pci || exit 1
bind_driver "$bdf" edu-vfio-pci || exit 1
opts=
grep -qw iova_bitmap_set /proc/kallsyms || opts=--no-report

"$VS" trace --json >"$tmp/trace.json" 2>"$tmp/trace.err" &
tpid=$!
for i in $(seq 600); do grep -q 'tracing with' "$tmp/trace.err" && break; sleep 0.1; done
cat "$tmp/trace.err"
"$BUILD/tests/vm/dmalog_test" variant "$bdf" $opts >"$tmp/prog.log" 2>&1 &
ppid=$!
wait $ppid
echo "dmalog_test: $(tail -n1 "$tmp/prog.log")"
sleep 0.5
kill -INT $tpid
wait $tpid
python3 - "$ppid" "$tmp/trace.json" "${opts:-report}" >"$tmp/check.log" <<'PY'
import json, sys
pid, path, opts = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ev = [json.loads(l) for l in open(path) if l.strip()]
ev = [e for e in ev if e.get("pid") == pid]
failed = 0
def out(c, w):
    global failed
    print(("ok: " if c else "FAIL: ") + w)
    failed += not c
starts = [e for e in ev if e["op"] == "VFIO_DEVICE_FEATURE[DMA_LOGGING_START]"]
reports = [e for e in ev if e["op"] == "VFIO_DEVICE_FEATURE[DMA_LOGGING_REPORT]"]
stops = [e for e in ev if e["op"] == "VFIO_DEVICE_FEATURE[DMA_LOGGING_STOP]"]
out(len(starts) > 0 and all(e["kind"] == "device" for e in starts), f"{len(starts)} DMA_LOGGING_START on the device fd")
ok_starts = [e for e in starts if e["ret"] == 0 and "range_list" in e["args"]]
out(ok_starts and all(len(e["args"]["range_list"]) == min(e["args"]["num_ranges"], 8) for e in ok_starts),
    "START range lists decoded (" + "; ".join(str([(r["iova"], r["length"]) for r in e["args"]["range_list"]]) for e in ok_starts[:3]) + ")")
out(any(e["ret"] == 0 and e.get("result", {}).get("page_size") for e in starts), "START page size read back at exit")
probes = [e for e in starts if int(e["args"]["flags"], 16) & (1 << 18)]
out(probes and all("page_size" not in e["args"] and not e.get("result") for e in probes),
    f"{len(probes)} PROBEs decoded without a payload")
out(any(e["ret"] < 0 for e in starts), "refused STARTs traced with their errno: " + str(sorted({e.get("errno") for e in starts if e["ret"] < 0})))
out(len(stops) > 0, f"{len(stops)} DMA_LOGGING_STOP")
out(len(reports) > 0 and all(e["args"]["bitmap_bytes"] == (int(e["args"]["length"], 16) // e["args"]["page_size"] + 63) // 64 * 8
                            for e in reports if e["args"]["page_size"]), f"{len(reports)} REPORTs with bitmap bytes decoded")
if opts == "report":
    ok_rep = [e for e in reports if e["ret"] == 0]
    dirty = [e for e in ok_rep if e.get("kernel", {}).get("bitmap_set_bytes", 0) > 0]
    out(ok_rep and dirty, f"kernel hook: {len(dirty)} of {len(ok_rep)} successful REPORTs show iova_bitmap_set bytes "
        + str([e["kernel"]["bitmap_set_bytes"] for e in dirty[:6]]))
    # edu-vfio-pci marks one 4 KiB page per iova_bitmap_set call, inside the REPORT's range
    out(dirty and all(e["kernel"]["bitmap_set_bytes"] == 4096 * e["kernel"]["bitmap_set_calls"]
                      and e["kernel"]["bitmap_set_bytes"] <= int(e["args"]["length"], 16) for e in dirty),
        "dirty pages counted per REPORT (pages: " + str([e["kernel"]["bitmap_set_calls"] for e in dirty[:8]]) + ")")
    out(all(e.get("kernel", {}).get("bitmap_set_bytes", 0) == 0 for e in reports if e["ret"] < 0),
        "refused REPORTs count no dirty page")
else:
    out(reports and all(e["ret"] < 0 for e in reports) and any(e["errno"] == "EOPNOTSUPP" for e in reports),
        "without iova_bitmap (this kernel) no REPORT succeeds; traced with their errno: "
        + str(sorted({e.get("errno") for e in reports})))
sys.exit(1 if failed else 0)
PY
rc=$?
cat "$tmp/check.log"
echo "$(grep -c '^ok: ' "$tmp/check.log") passed, $(grep -c '^FAIL: ' "$tmp/check.log") failed"
[ $rc -eq 0 ] || head -c 4000 "$tmp/trace.json"
exit $rc
