# The landing page's live migration timeline from a REAL migration: the guest (2 edus) runs
# `vfioscope serve`, makes a nested QEMU live migration with tests/vm/migrate-lib.sh (source
# and destination in the guest) and checks serve's migration metrics and /migrations against
# the driver's counters and QEMU's trace (serve_migration.guest.bash,
# serve_migration_check.py). Then, with serve's port forwarded to the host, headless Chromium
# on the host loads the landing page: its timeline must show each device with the phases the
# migration went through and their bytes (as /migrations says), and the screenshot
# (build/results/landing-migration-KERNEL.png) must show the phase, downtime, data-fd and
# dirty-sync colours. On 6.1 through QEMU's container backend; on the project's iommufd kernel
# through QEMU's iommufd backend (the container backend runs in migrations_qemu there).
# Debian 6.12 is left out as in migrations_qemu.sh (no iova_bitmap: QEMU cannot migrate with
# device dirty tracking).
# vm-kernels: 6.1 6.12-iommufd
# vm-timeout: 1200
. "$(dirname "$0")/../../bpf/serve_lib.bash"
k=${1:-6.1}
backend=container
[ "$k" = 6.12-iommufd ] && backend=iommufd
HOSTPORT=$(free_port)
CTLPORT=$(free_port)
SHOT_DIR=${OUTPUT:-build}/results
SHOT=$SHOT_DIR/landing-migration-$k.png
mkdir -p "$SHOT_DIR"
t0=$(date +%s)

setsid tests/vm/vm-run -k "$k" -t "${VM_TIMEOUT:-1200}" -m 2048 -n 2 -f "$HOSTPORT:9478" \
	-f "$CTLPORT:9479" -- "MIG_BACKEND=$backend bash tests/vm/scenarios/serve_migration.guest.bash" \
	>"$T/vm.log" 2>&1 &
VM_PID=$!
PIDS+=("$VM_PID")
# vm-run is a session leader: stop the whole session (QEMU included) on early exit.
trap 'kill -- -$VM_PID 2>/dev/null; cleanup' EXIT

ready=0
for _ in $(seq $((${VM_TIMEOUT:-1200} * 2))); do
	grep -q '^serve_migration: page ready' "$T/vm.log" && ready=1 && break
	kill -0 "$VM_PID" 2>/dev/null || break
	sleep 0.5
done
check "the guest migrated and checked serve ($(($(date +%s) - t0))s after boot)" [ $ready = 1 ]
if [ $ready != 1 ]; then
	tail -80 "$T/vm.log"
	finish
fi
sed -n 's/^serve_migration: page ready (source \(.*\), destination \(.*\))/\1 \2/p' "$T/vm.log" >"$T/bdfs"
read -r SRC DST <"$T/bdfs"
URL=http://127.0.0.1:$HOSTPORT
curl -s "$URL/migrations" >"$T/timeline.json"
curl -s -H 'Accept-Encoding: gzip' -o "$T/timeline.gz" "$URL/migrations"
echo "info: /migrations from the host: $(wc -c <"$T/timeline.json") bytes, gzipped $(wc -c <"$T/timeline.gz") bytes"
check "/migrations reaches the host through the forwarded port" \
	python3 -c 'import json, sys; sys.exit(len(json.load(open(sys.argv[1]))["migrations"]) != 2)' \
	"$T/timeline.json"

chrome() {
	timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--user-data-dir="$(mktemp -d "$T/chrome.XXXXXX")" --hide-scrollbars \
		--virtual-time-budget=8000 "$@" "$URL/?interval=1000" 2>>"$T/chrome.log"
}
chrome --dump-dom >"$T/dom.html"
check "Chromium rendered the page" grep -q '<h1>vfioscope</h1>' "$T/dom.html"
# The DOM against /migrations (checked against the truth in the guest): one block per device
# migration, its phases in order with their bytes, the downtime part, the series drawn.
python3 - "$T/dom.html" "$T/timeline.json" "$SRC" "$DST" >"$T/dom-check" <<'PY'
import json, sys
from html.parser import HTMLParser

class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.migs, self.cur = [], None
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = a.get("class", "")
        if tag == "div" and cls == "mig":
            self.cur = {"attrs": a, "phases": [], "downtime": [], "lines": {}, "syncs": 0}
            self.migs.append(self.cur)
        elif self.cur is None:
            return
        elif tag == "rect" and cls == "phase":
            self.cur["phases"].append((a["data-state"], int(a["data-bytes"])))
        elif tag == "rect" and cls == "downtime":
            self.cur["downtime"].append(float(a["data-ms"]))
        elif tag == "rect" and cls == "sync":
            self.cur["syncs"] += 1
        elif tag == "polyline":
            self.cur["lines"][cls] = int(a.get("data-points", 0))

p = Page()
p.feed(open(sys.argv[1]).read())
tl = json.load(open(sys.argv[2]))
want = {"source": sys.argv[3], "destination": sys.argv[4]}
fails = 0
def check(what, ok):
    global fails
    print(("ok   " if ok else "FAIL ") + what)
    fails += not ok
check(f"the page shows 2 device migrations ({len(p.migs)})", len(p.migs) == 2)
for m in tl["migrations"]:
    role = m["role"]
    dom = [x for x in p.migs if x["attrs"].get("data-role") == role]
    if not check(f"the page has the {role} migration", len(dom) == 1) and len(dom) != 1:
        continue
    dom = dom[0]
    a = dom["attrs"]
    check(f"{role}: device {a.get('data-device')} = {want[role]}, pid {a.get('data-pid')}, "
          f"{a.get('data-outcome')}", a.get("data-device") == want[role] and
          a.get("data-pid") == str(m["pid"]) and a.get("data-outcome") == "completed")
    phases = [(x["state"], x["bytes"]) for x in m["phases"] if x["ret"] == 0]
    check(f"{role}: phase segments in order with their bytes {dom['phases']}",
          dom["phases"] == phases and phases)
    check(f"{role}: data-phases attribute {a.get('data-phases')}",
          a.get("data-phases") == ",".join(s for s, _ in phases))
    check(f"{role}: the downtime part drawn ({dom['downtime']} ms)",
          m["downtime"] and dom["downtime"] == [m["downtime"]["ms"]])
    check(f"{role}: the data-fd bytes line has every point ({dom['lines'].get('data')})",
          dom["lines"].get("data") == len(m["data"]) > 0)
    if m["precopy"]:
        check(f"{role}: precopy lines drawn ({dom['lines'].get('precopy-initial')} points)",
              dom["lines"].get("precopy-initial") == dom["lines"].get("precopy-dirty") ==
              len(m["precopy"]))
    check(f"{role}: a bar per sync bucket ({dom['syncs']})", dom["syncs"] == len(m["syncs"]["list"]))
sys.exit(1 if fails else 0)
PY
dom_rc=$?
cat "$T/dom-check"
check "the landing page's timeline matches /migrations ($(grep -c '^ok' "$T/dom-check") DOM checks)" \
	[ $dom_rc = 0 ]
grep -q 'PRE_COPY' "$T/timeline.json" && PRECOPY=1 || PRECOPY=0

rm -f "$SHOT"
chrome --window-size=1300,900 --screenshot="$SHOT" >/dev/null
check "screenshot written ($SHOT)" [ -s "$SHOT" ]
# phase colours: PRE_COPY amber, STOP_COPY magenta, RESUMING violet; the downtime red; data-fd
# bytes teal; dirty sync bars green
python3 tests/bpf/exporter_png_colors.py "$SHOT" f59f00 c2255c 6741d9 e03131 1098ad 099268 >"$T/colors"
sed 's/^/info: pixels of colour /' "$T/colors"
px() { awk -v c="$1" '$1 == c {print $2}' "$T/colors"; }
if [ $PRECOPY = 1 ]; then
	check "the screenshot shows the PRE_COPY phase (amber)" [ "$(px f59f00)" -gt 500 ]
fi
# the legend has a 10x10 swatch of each colour: a drawn element is more than that
check "the screenshot shows the STOP_COPY phase (magenta)" [ "$(px c2255c)" -gt 150 ]
check "the screenshot shows the RESUMING phase (violet)" [ "$(px 6741d9)" -gt 500 ]
check "the screenshot shows the downtime parts (red)" [ "$(px e03131)" -gt 150 ]
check "the screenshot shows the data-fd bytes lines (teal)" [ "$(px 1098ad)" -gt 300 ]
# the legend's swatch is 100 pixels, a sync bar at least 3x4 whole pixels (close ones overlap:
# the DOM checks count them)
check "the screenshot shows dirty sync bars (green)" [ "$(px 099268)" -ge 112 ]

# tell the guest the page is done
python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 10).close()' \
	"$CTLPORT"
wait "$VM_PID"
rc=$?
guest=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$T/vm.log" | tail -n1)
sed -n '/^ok: \|^FAIL: \|^info: \|^numbers: \|^PRE_COPY offered\|^kernel \|tracing with/p' "$T/vm.log" |
	sed 's/^/guest: /'
check "the guest's checks passed (${guest:-none}; vm-run exit $rc)" [ $rc = 0 ]
[ "$FAIL" -ne 0 ] && tail -60 "$T/vm.log"
echo "info: scenario took $(($(date +%s) - t0))s"
finish
