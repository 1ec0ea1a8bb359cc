#!/usr/bin/env bash
# A real Prometheus (Debian's) on loopback with a temporary config scrapes `vfioscope serve`
# (host-side, SIMULATOR data: 3 synthetic containers with a known workload) and evaluates our
# rules; the series it stored are checked through its HTTP API. promtool lints the live output.
. "$(dirname "$0")/serve_lib.bash"

start_serve --simulate 3 --simulate-interval 250
curl -s "$URL/metrics" >"$T/live.txt"
check "promtool check metrics passes on the live text output" \
	bash -c "promtool check metrics <'$T/live.txt' >'$T/lint' 2>&1 && ! [ -s '$T/lint' ]"
[ -s "$T/lint" ] && sed 's/^/    lint: /' "$T/lint"

PROM_PORT=$(free_port)
PROM=http://127.0.0.1:$PROM_PORT
cat >"$T/prometheus.yml" <<EOT
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - $PWD/dashboards/vfioscope.rules.yml
scrape_configs:
  - job_name: vfioscope
    static_configs:
      - targets: ['127.0.0.1:$PORT']
EOT
prometheus --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/data" \
	--web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn >"$T/prom.log" 2>&1 &
PIDS+=($!)


check "Prometheus scrapes serve (up == 1)" wait_for 'up{job="vfioscope"} == 1'
# Enough scrapes for rates over the samples stored.
check "at least 6 scrapes stored" wait_for 'count_over_time(up{job="vfioscope"}[1m]) >= 6'
check "it negotiated OpenMetrics" \
	[ "$(q 'vfioscope_scrapes_total{format="openmetrics"} > 0' | cut -d. -f1)" -gt 0 ]
check "no scrape errors reported by Prometheus" \
	bash -c "curl -s '$PROM/api/v1/targets' | python3 -c 'import json,sys
t = json.load(sys.stdin)[\"data\"][\"activeTargets\"]
assert len(t) == 1 and t[0][\"health\"] == \"up\" and not t[0][\"lastError\"], t'"
check "mapped bytes of synthetic-2 = 3 GiB" \
	[ "$(q 'vfio_dma_mapped_bytes{container="synthetic-2"}')" = 3221225472 ]
check "3 containers' mapped bytes stored" [ "$(q 'count(vfio_dma_mapped_bytes)')" = 3 ]
pages=$(q 'vfio_dirty_pages_total{container="synthetic-1",method="device"}')
check "dirty pages of synthetic-1 are whole syncs of 512 ($pages)" \
	bash -c "[ '${pages:-0}' -gt 0 ] && [ \$(( ${pages:-1} % 512 )) = 0 ]"
check "dirty pages rate of synthetic-1 is positive" \
	python3 -c "import sys; sys.exit(not float('$(q 'rate(vfio_dirty_pages_total{container="synthetic-1"}[30s])')' or 0) > 0)"
# Each synthetic-0 sync takes 100 us: in (65.536 us, 262.144 us], so every sync is in that
# bucket and none below; histogram_quantile lands inside it.
check "sync histogram: le=6.5536e-05 holds no sync" \
	[ "$(q 'vfio_dirty_sync_duration_seconds_bucket{container="synthetic-0",le="6.5536e-05"}')" = 0 ]
check "sync histogram: le=0.000262144 holds every sync (= _count)" \
	[ "$(q 'vfio_dirty_sync_duration_seconds_bucket{container="synthetic-0",le="0.000262144"} - on(container,method) vfio_dirty_sync_duration_seconds_count{container="synthetic-0"}')" = 0 ]
check "sync histogram: +Inf bucket = _count" \
	[ "$(q 'count(vfio_dirty_sync_duration_seconds_bucket{le="+Inf"} - on(container,method) vfio_dirty_sync_duration_seconds_count != 0)')" = "" ]
p50=$(q 'histogram_quantile(0.5, sum by (le) (rate(vfio_dirty_sync_duration_seconds_bucket{container="synthetic-0"}[30s])))')
check "sync p50 of synthetic-0 within its bucket ($p50 s)" \
	python3 -c "import sys; v = float('${p50:-nan}'); sys.exit(not (6.5536e-05 < v <= 0.000262144))"
check "bitmap size histogram stored" [ -n "$(q 'vfio_dirty_bitmap_bytes_count{method="device"} > 0')" ]
check "tracked 64-bit range of synthetic-2 ends at 5.5 GiB" \
	[ "$(q 'vfio_dirty_range_end_bytes{container="synthetic-2",range="64bit"}')" = 5905580032 ]
check "build info stored" [ "$(q 'vfioscope_build_info')" = 1 ]
check "recording rule vfio:dirty_pages:rate1m evaluates" \
	wait_for 'vfio:dirty_pages:rate1m{container="synthetic-1"} > 0'
check "recording rule for the sync SLO evaluates to 1 (all syncs fast)" \
	wait_for 'vfio:dirty_sync_within_slo:ratio_rate5m{container="synthetic-0"} == 1'
NRULES=$(grep -cE '^\s*- (alert|record):' dashboards/vfioscope.rules.yml)
check "every rule evaluates without error (all $NRULES of the rules file)" \
	bash -c "curl -s '$PROM/api/v1/rules' | python3 -c 'import json,sys
g = json.load(sys.stdin)[\"data\"][\"groups\"]
rules = [r for x in g for r in x[\"rules\"]]
bad = [r[\"name\"] for r in rules if r[\"health\"] != \"ok\"]
assert len(rules) == $NRULES and not bad, (len(rules), bad)'"
check "no alert fires on a healthy exporter" \
	[ "$(curl -s "$PROM/api/v1/alerts" | python3 -c 'import json,sys; print(len([a for a in json.load(sys.stdin)["data"]["alerts"] if a["state"] == "firing"]))')" = 0 ]
[ "$FAIL" -ne 0 ] && sed 's/^/    prometheus: /' "$T/prom.log" | tail -20
finish
