#!/usr/bin/env bash
# The landing page in headless Chromium (Debian's chromium), fed live by serve with 4 synthetic
# containers (SIMULATOR): after the page has polled /metrics for a while, every container has
# its plots filled (dirty pages/s, sync latency, mapped bytes, 32/64-bit ranges), and a
# screenshot shows them (kept as build/results/landing.png, checked for the plot colours).
. "$(dirname "$0")/serve_lib.bash"

SHOT_DIR=${OUTPUT:-build}/results
mkdir -p "$SHOT_DIR"
start_serve --simulate 4 --simulate-interval 20
chrome() {
	timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--user-data-dir="$(mktemp -d "$T/chrome.XXXXXX")" --hide-scrollbars \
		--virtual-time-budget=12000 "$@" "$URL/?interval=300" 2>>"$T/chrome.log"
}
chrome --dump-dom >"$T/dom.html"
check "Chromium rendered the page" grep -q '<h1>vfioscope</h1>' "$T/dom.html"
check "no scrape failed" bash -c "! grep -q 'id=\"health\">scrape failed' '$T/dom.html'"
check "the header counts 4 containers" grep -q '>containers 4<' "$T/dom.html"
for c in 0 1 2 3; do
	check "a row for synthetic-$c" grep -q "<td>synthetic-$c</td>" "$T/dom.html"
	# the simulator gives container i the device 0000:0(i+1):00.0 on edu-vfio-pci
	check "synthetic-$c shows its device and driver" \
		grep -q "<td>synthetic-$c</td><td class=\"devices\">0000:0$((c + 1)):00.0 (edu-vfio-pci)</td>" \
		"$T/dom.html"
done
points() { grep -o "class=\"plot $1\" data-points=\"[0-9]*\"" "$T/dom.html" | grep -o '[0-9]*"$' | tr -d '"'; }
for kind in dirty latency mapped; do
	p=$(points "$kind" | sort -n | head -n1)
	check "every $kind plot has points (fewest: ${p:-none})" [ "$(points "$kind" | wc -l)" = 4 -a "${p:-0}" -ge 5 ]
done
check "every ranges plot shows the 32-bit and the 64-bit range" \
	[ "$(points ranges | sort -u)" = 2 ]
check "a dirty pages plot has a non-zero maximum" \
	grep -qE 'class="axis">max [1-9][0-9,]*<' "$T/dom.html"
check "the 64-bit range of synthetic-3 is 0x100000000-0x180000000" \
	grep -q '64bit 0x100000000-0x180000000' "$T/dom.html"

rm -f "$SHOT_DIR/landing.png"
chrome --window-size=1700,480 --screenshot="$SHOT_DIR/landing.png" >/dev/null
check "screenshot written ($SHOT_DIR/landing.png)" [ -s "$SHOT_DIR/landing.png" ]
python3 tests/bpf/exporter_png_colors.py "$SHOT_DIR/landing.png" 0b8a5a 2f6fde 7b42d1 d9480f >"$T/colors"
sed 's/^/info: pixels of colour /' "$T/colors"
px() { awk -v c="$1" '$1 == c {print $2}' "$T/colors"; }
check "the screenshot shows dirty page lines (green)" [ "$(px 0b8a5a)" -gt 100 ]
check "the screenshot shows p99 latency lines (orange)" [ "$(px d9480f)" -gt 100 ]
check "the screenshot shows 32-bit range bars (blue)" [ "$(px 2f6fde)" -gt 500 ]
check "the screenshot shows 64-bit range bars (purple)" [ "$(px 7b42d1)" -gt 500 ]
[ "$FAIL" -ne 0 ] && tail -5 "$T/chrome.log"
finish
