#!/usr/bin/env bash
# Many concurrent scrapes (wrk, loopback, bounded time) of serve with 100 synthetic containers
# (SIMULATOR): every request answered 200 at the connection limit, the server survives a flood
# beyond it, and its resident memory stays bounded.
. "$(dirname "$0")/serve_lib.bash"

RSS_LIMIT_KIB=$((64 * 1024))
# An ASan build (make SANITIZE=1) keeps freed memory in a quarantine (256 MiB by default) and
# pads every allocation: its quarantine is held to 16 MiB here, and the bound is on what serve
# grows by (twice the plain budget, for the padding), not on its size.
asan=0
ldd "$VFIOSCOPE" 2>/dev/null | grep -q libasan && asan=1
[ $asan = 1 ] && export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16"
start_serve --simulate 100 --simulate-interval 100 --max-conns 64 --max-conns-per-ip 64
rss0=$(rss_kib "$SERVE_PID")
[ $asan = 1 ] && RSS_LIMIT_KIB=$((rss0 + 2 * 64 * 1024 + 16 * 1024))
lines=$(curl -s "$URL/metrics" | wc -l)
check "100 synthetic containers exported ($lines lines)" \
	[ "$(curl -s "$URL/metrics" | grep -c '^vfio_dma_mapped_bytes{container="synthetic-')" = 100 ]

# Scrape time with 100 containers (reported, not asserted).
curl -s -o /dev/null -w '%{time_total}\n' "$URL/metrics" >/dev/null
for _ in $(seq 20); do curl -s -o /dev/null -w '%{time_total}\n' "$URL/metrics"; done >"$T/times"
echo "info: /metrics with 100 containers: $(curl -s "$URL/metrics" | wc -c) bytes, median" \
	"$(sort -n "$T/times" | sed -n 10p) s over 20 curl scrapes"
for _ in $(seq 20); do
	curl -s --compressed -o /dev/null -w '%{time_total} %{size_download}\n' "$URL/metrics"
done >"$T/ztimes"
echo "info: gzip-compressed (as Prometheus asks): $(sort -n "$T/ztimes" | sed -n 10p | cut -d' ' -f2)" \
	"bytes, median $(sort -n "$T/ztimes" | sed -n 10p | cut -d' ' -f1) s"

wrk -t2 -c64 -d4s --timeout 10s "$URL/metrics" >"$T/wrk1" 2>&1
sed 's/^/info: wrk -c64: /' "$T/wrk1"
reqs=$(awk '/requests in/ {print $1}' "$T/wrk1")
check "wrk -c64 completed requests ($reqs)" [ "${reqs:-0}" -gt 0 ]
check "wrk -c64: every response 2xx" bash -c "! grep -q 'Non-2xx' '$T/wrk1'"
check "wrk -c64: no socket errors" bash -c "! grep -q 'Socket errors' '$T/wrk1'"

# Beyond the limit: clients wait in the backlog or time out; the server must not fall over.
wrk -t2 -c400 -d4s --timeout 2s "$URL/metrics" >"$T/wrk2" 2>&1
sed 's/^/info: wrk -c400: /' "$T/wrk2"
check "wrk -c400 beyond the connection limit: some requests served" \
	[ "$(awk '/requests in/ {print $1}' "$T/wrk2")" -gt 0 ]
check "wrk -c400: non-2xx responses none" bash -c "! grep -q 'Non-2xx' '$T/wrk2'"
check "still alive and healthy after the flood" \
	[ "$(curl -s --max-time 15 "$URL/healthz")" = ok ]
rss1=$(rss_kib "$SERVE_PID")
echo "info: resident memory: ${rss0} KiB at start, ${rss1} KiB after the load"
check "resident memory bounded (${rss1} KiB <= ${RSS_LIMIT_KIB} KiB)" [ "$rss1" -le "$RSS_LIMIT_KIB" ]
stop_serve
check "serve stops cleanly after the load" [ $? = 0 ]
finish
