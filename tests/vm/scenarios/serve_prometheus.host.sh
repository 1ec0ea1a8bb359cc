# vfioscope serve running in the guest, its port forwarded to the host, scraped by a real
# Prometheus on the host (loopback, temporary config); the series it stored are checked through
# its HTTP API, promtool lints the live output from the VM, and headless Chromium shows the
# landing page of the run (build/results/landing-vm.png).
# With `vfioscope track` in the build (the controller) the run is real: edu bound to the
# DMA-logging test device (edu-vfio-pci), `serve --track` with an edu workload writing 3 known
# pages per sync, the BPF tracer watching it; the checks compare what Prometheus stored with
# that workload. Without it, the guest's serve feeds the SIMULATOR and only the path guest ->
# forward -> Prometheus is tested. Not on Debian's 6.12: it has no iova_bitmap
# (CONFIG_IOMMUFD_DRIVER=n), so device logging reports fail there (see track_devlog.sh).
# vm-kernels: 6.1 6.12-iommufd
# vm-timeout: 400
. "$(dirname "$0")/../../bpf/serve_lib.bash"
k=${1:-6.1}
HOSTPORT=$(free_port)
SHOT_DIR=${OUTPUT:-build}/results
mkdir -p "$SHOT_DIR"
REAL=0
"$VFIOSCOPE" --help | grep -q '^  track ' && REAL=1
# 3 pages the edu device writes before each sync (IOVAs in the 64 MiB below 4 GiB).
WORKLOAD=edu:0x100000,0x200000,0x300000
if [ $REAL = 1 ]; then
	echo "real run: serve --track with edu-vfio-pci and workload $WORKLOAD"
	GUEST=". tests/vm/guest-lib.sh; bdf=\$(edu_bdf) && load_edu_vfio_pci &&
		bind_driver \$bdf edu-vfio-pci || exit 1
		$VFIOSCOPE serve --listen 10.0.2.15:9478 --allow-remote --duration 100 --summary \
			--track -- --device \$bdf --layout 64M@0,32M@4G --interval 250ms --duration 45s \
			--workload $WORKLOAD"
else
	echo "no vfioscope track in this build: SIMULATOR run"
	GUEST="$VFIOSCOPE serve --listen 10.0.2.15:9478 --allow-remote --no-tracer --simulate 3 \
		--simulate-interval 250 --duration 60 --summary"
fi

setsid tests/vm/vm-run -q -k "$k" -t "${VM_TIMEOUT:-400}" -f "$HOSTPORT:9478" -- "$GUEST" \
	>"$T/vm.log" 2>&1 &
VM_PID=$!
PIDS+=("$VM_PID")
# vm-run is a session leader: stop the whole session (QEMU included) on early exit.
trap 'kill -- -$VM_PID 2>/dev/null; cleanup' EXIT

URL=http://127.0.0.1:$HOSTPORT
up=0
for _ in $(seq 300); do
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
[ -s "$T/lint" ] && sed 's/^/    lint: /' "$T/lint"
check "build info present in the guest's output" grep -q '^vfioscope_build_info{' "$T/live.txt"
TRACER=0
grep -q '^vfioscope_scrape_collector_success{collector="tracer"} 1' "$T/live.txt" && TRACER=1
echo "info: the BPF tracer is $([ $TRACER = 1 ] || echo "not ")part of this build"

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
check "Prometheus scrapes the guest (up == 1)" wait_for 'up{job="vfioscope"} == 1'
check "at least 5 scrapes stored" wait_for 'count_over_time(up{job="vfioscope"}[1m]) >= 5'
check "scraped as OpenMetrics" wait_for 'vfioscope_scrapes_total{format="openmetrics"} > 0'

landing() { # the landing page of this run in headless Chromium: DOM and screenshot
	local chrome=(timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic
		--no-first-run --disable-background-networking --disable-component-update
		--disable-sync --hide-scrollbars --virtual-time-budget=20000)
	"${chrome[@]}" --user-data-dir="$(mktemp -d "$T/c.XXXXXX")" --dump-dom \
		"$URL/?interval=1000" >"$T/dom.html" 2>>"$T/chrome.log"
	rm -f "$SHOT_DIR/landing-vm.png"
	"${chrome[@]}" --user-data-dir="$(mktemp -d "$T/c.XXXXXX")" --window-size=1500,360 \
		--screenshot="$SHOT_DIR/landing-vm.png" "$URL/?interval=1000" >/dev/null 2>>"$T/chrome.log"
	points() { grep -o "class=\"plot $1\" data-points=\"[0-9]*\"" "$T/dom.html" | grep -o '[0-9]*"$' | tr -d '"' | sort -n | tail -n1; }
	check "landing page from the VM: a dirty pages plot with points ($(points dirty))" \
		[ "$(points dirty)" -ge 3 ]
	check "landing page from the VM: a sync latency plot with points ($(points latency))" \
		[ "$(points latency)" -ge 3 ]
	check "landing page from the VM: the ranges of a container ($(points ranges))" \
		[ "$(points ranges)" -ge 1 ]
	check "screenshot of the run ($SHOT_DIR/landing-vm.png)" [ -s "$SHOT_DIR/landing-vm.png" ]
}

if [ $REAL = 1 ]; then
	check "tracking runs with device DMA logging" \
		wait_for 'vfio_dirty_tracking_active{container="track",method="device"} == 1'
	check "dirty syncs arrive" wait_for 'vfio_dirty_sync_duration_seconds_count{container="track"} >= 5'
	landing
	if [ $TRACER = 1 ]; then
		check "every required BPF program attached" \
			[ "$(q 'min(vfioscope_program_attached{role="required"})')" = 1 ]
		# One container, one set of numbers: the tracer sees the container serve's own
		# tracker drives (same process, same container file) and exports it once, under the
		# tracker's label; its dirty pages are the tracker's alone.
		check "tracer: the tracker's container maps 96 MiB, under container=\"track\"" \
			[ "$(q 'vfio_dma_mapped_bytes{container="track"}')" = 100663296 ]
		check "one container in vfio_container_info: track, owned by vfioscope" \
			[ "$(q 'count(vfio_container_info)')" = 1 -a \
			"$(q 'count(vfio_container_info{container="track",comm="vfioscope"})')" = 1 ]
		check "no container exported twice (no numbered container)" \
			[ -z "$(q 'vfio_dma_mapped_bytes{container!="track"}')" ]
		check "dirty pages counted once (one vfio_dirty_pages_total series)" \
			[ "$(q 'count(vfio_dirty_pages_total)')" = 1 ]
		check "tracer: DMA_LOGGING_REPORT latency histogram stored" \
			[ -n "$(q 'vfio_ioctl_duration_seconds_count{op="VFIO_DEVICE_FEATURE[DMA_LOGGING_REPORT]"} > 0')" ]
	fi
	check "tracking ends after the tracker's 45 s" \
		wait_for 'vfio_dirty_tracking_active{container="track",method="device"} == 0' 120
	sleep 2 # one more scrape of the final values
	syncs=$(q 'vfio_dirty_sync_duration_seconds_count{container="track",method="device"}')
	pages=$(q 'vfio_dirty_pages_total{container="track",method="device"}')
	echo "info: $syncs syncs, $pages dirty pages (tracker)"
	check "tracker: 3 dirty pages per sync, as the workload wrote ($pages = 3 x $syncs)" \
		[ -n "$syncs" ] && [ "${pages:-0}" = $((3 * ${syncs:-0})) ]
	# The sums an operator writes count each container once (docs/metrics.md): over every
	# series, at every stored scrape of the run, not only at the end.
	allpages=$(q 'sum(vfio_dirty_pages_total)')
	allsyncs=$(q 'sum(vfio_dirty_sync_duration_seconds_count)')
	check "sum over all series: $allpages dirty pages = 3 x $allsyncs syncs" \
		[ -n "$allsyncs" ] && [ "$allsyncs" -ge 5 ] && [ "${allpages:-0}" = $((3 * allsyncs)) ]
	drift=$(q 'max_over_time(abs(sum(vfio_dirty_pages_total) - 3 * sum(vfio_dirty_sync_duration_seconds_count))[5m:1s])')
	check "sum over all series = 3 x syncs at every scrape of the run (largest gap: $drift)" \
		[ "$drift" = 0 ]
	check "sum(vfio_dma_mapped_bytes) counts the one container once (96 MiB)" \
		[ "$(q 'sum(vfio_dma_mapped_bytes)')" = 100663296 ]
	check "sum(vfio_dirty_tracked_bytes) counts the one container once (96 MiB)" \
		[ "$(q 'max_over_time(sum(vfio_dirty_tracked_bytes)[5m:1s])')" = 100663296 ]
	check "bitmaps: one per sync (device logging, one range report per sync and range)" \
		[ -n "$(q 'vfio_dirty_bitmap_bytes_count{method="device"} >= 1')" ]
	p50=$(q 'histogram_quantile(0.5, sum by (le) (vfio_dirty_sync_duration_seconds_bucket{container="track"}))')
	echo "info: sync latency p50 ${p50} s (from the stored buckets)"
	check "sync latency quantile computable from the stored histogram" \
		python3 -c "import math,sys; v = float('${p50:-nan}'); sys.exit(not (v > 0 and math.isfinite(v)))"
	check "tracked ranges: 32-bit [0, 64 MiB), 64-bit from 4 GiB" \
		[ "$(q 'vfio_dirty_range_end_bytes{container="track",range="32bit"}')" = 67108864 -a \
		"$(q 'vfio_dirty_range_start_bytes{container="track",range="64bit"}')" = 4294967296 ]
	check "no event lost" [ "$(q 'sum(vfioscope_events_lost_total)')" = 0 ]
else
	check "mapped bytes stored (synthetic-2 = 3 GiB)" \
		[ "$(q 'vfio_dma_mapped_bytes{container="synthetic-2"}')" = 3221225472 ]
	check "sync histogram stored: every synthetic-0 sync in le=0.000262144" \
		[ "$(q 'vfio_dirty_sync_duration_seconds_bucket{container="synthetic-0",le="0.000262144"} - on(container,method) vfio_dirty_sync_duration_seconds_count{container="synthetic-0"}')" = 0 ]
	check "dirty pages rate stored and positive" \
		wait_for 'rate(vfio_dirty_pages_total{container="synthetic-1"}[10s]) > 0'
	landing
fi

wait "$VM_PID"
rc=$?
check "serve in the guest ended on its own with status 0 (vm-run exit $rc)" [ $rc = 0 ]
check "it printed its summary" grep -q '== vfioscope serve summary ==' "$T/vm.log"
sed -n '/== vfioscope serve summary ==/,$p' "$T/vm.log" | sed 's/^/info: /'
[ "$FAIL" -ne 0 ] && tail -30 "$T/vm.log"
finish
