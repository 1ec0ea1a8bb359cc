# vfioscope serve running in the guest, its port forwarded to the host, scraped by a real
# Prometheus on the host (loopback, temporary config); the series are checked through the
# Prometheus HTTP API and promtool lints the live output that came out of the VM.
# Until `serve` has a tracer and `--track`, the guest's serve feeds the SIMULATOR (3 synthetic
# containers, known workload); the path guest -> forward -> Prometheus is what is tested here.
# vm-kernels: 6.1
# vm-timeout: 300
. "$(dirname "$0")/../../bpf/serve_lib.bash"
k=${1:-6.1}
HOSTPORT=$(free_port)
GUEST_SECONDS=60

setsid tests/vm/vm-run -q -k "$k" -t "${VM_TIMEOUT:-300}" -f "$HOSTPORT:9478" -- \
	"build/vfioscope serve --listen 10.0.2.15:9478 --allow-remote --simulate 3 \
	 --simulate-interval 250 --duration $GUEST_SECONDS" >"$T/vm.log" 2>&1 &
VM_PID=$!
PIDS+=("$VM_PID")
# vm-run is a session leader: stop the whole session (QEMU included) on early exit.
trap 'kill -- -$VM_PID 2>/dev/null; cleanup' EXIT

URL=http://127.0.0.1:$HOSTPORT
up=0
for _ in $(seq 240); do
	if [ "$(curl -s --max-time 2 "$URL/healthz")" = ok ]; then
		up=1
		break
	fi
	kill -0 "$VM_PID" 2>/dev/null || break
	sleep 0.5
done
check "serve in the guest answers on the forwarded host port" [ $up = 1 ]
if [ $up != 1 ]; then
	cat "$T/vm.log"
	finish
fi
curl -s "$URL/metrics" >"$T/live.txt"
check "promtool check metrics passes on the output from the VM" \
	bash -c "promtool check metrics <'$T/live.txt' >'$T/lint' 2>&1 && ! [ -s '$T/lint' ]"
check "build info present in the guest's output" grep -q '^vfioscope_build_info{' "$T/live.txt"

PROM_PORT=$(free_port)
PROM=http://127.0.0.1:$PROM_PORT
cat >"$T/prometheus.yml" <<EOT
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: vfioscope
    static_configs:
      - targets: ['127.0.0.1:$HOSTPORT']
EOT
prometheus --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/data" \
	--web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn >"$T/prom.log" 2>&1 &
PIDS+=($!)
q() {
	curl -s --max-time 5 "$PROM/api/v1/query" --data-urlencode "query=$1" |
		python3 -c 'import json,sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if r else "")' 2>/dev/null
}
wait_for() {
	for _ in $(seq 120); do
		[ -n "$(q "$1")" ] && return 0
		sleep 0.5
	done
	return 1
}
check "Prometheus scrapes the guest (up == 1)" wait_for 'up{job="vfioscope"} == 1'
check "at least 5 scrapes stored" wait_for 'count_over_time(up{job="vfioscope"}[1m]) >= 5'
check "mapped bytes stored (synthetic-2 = 3 GiB)" \
	[ "$(q 'vfio_dma_mapped_bytes{container="synthetic-2"}')" = 3221225472 ]
check "sync histogram stored: every synthetic-0 sync in le=0.000262144" \
	[ "$(q 'vfio_dirty_sync_duration_seconds_bucket{container="synthetic-0",le="0.000262144"} - on(container,method) vfio_dirty_sync_duration_seconds_count{container="synthetic-0"}')" = 0 ]
check "dirty pages rate stored and positive" \
	wait_for 'rate(vfio_dirty_pages_total{container="synthetic-1"}[10s]) > 0'
check "scraped as OpenMetrics" wait_for 'vfioscope_scrapes_total{format="openmetrics"} > 0'

wait "$VM_PID"
rc=$?
check "serve in the guest ended on its own with status 0 (vm-run exit $rc)" [ $rc = 0 ]
[ "$FAIL" -ne 0 ] && tail -30 "$T/vm.log"
finish
