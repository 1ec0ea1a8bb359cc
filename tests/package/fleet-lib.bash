# A fleet under one real Prometheus (sourced, not run): exporters found through file-based
# service discovery, dashboards/vfioscope.rules.yml loaded, the checks on rules, alerts and the
# dashboard's queries per instance. Used by tests/package/fleet.sh (exporters on this host, the
# SIMULATOR's containers) and the VM scenario systemd_service (the packaged service of a real
# guest among them). Needs check (tests/lib/checks.bash), T (a temporary directory) and PIDS
# (an array of processes the caller stops), and runs from the repository's root.
# shellcheck shell=bash
VFIOSCOPE=${VFIOSCOPE:-${OUTPUT:-build}/vfioscope}
FLEET_SIM=()  # host:port of the simulated exporters on this host
FLEET_REAL=() # host:port of exporters on a real VFIO kernel with a real device
FLEET_DEAD="" # a target where nothing listens

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# fleet_sim_exporters N: N `vfioscope serve` on this host, each with its BPF tracer and the
# SIMULATOR's synthetic containers (exporter i has i + 1 of them, synthetic-0 on each).
fleet_sim_exporters() {
	local i n=$1
	for i in $(seq "$n"); do
		"$VFIOSCOPE" serve --listen 127.0.0.1:0 --port-file "$T/port$i" --simulate $((i + 1)) \
			--simulate-interval 200 >"$T/serve$i.log" 2>&1 &
		PIDS+=($!)
	done
	for i in $(seq "$n"); do
		for _ in $(seq 600); do [ -s "$T/port$i" ] && break; sleep 0.1; done
		[ -s "$T/port$i" ] && FLEET_SIM+=("127.0.0.1:$(cat "$T/port$i")")
	done
	check "$n exporters serve on this host (${FLEET_SIM[*]})" [ ${#FLEET_SIM[@]} = "$n" ]
}

# fleet_prometheus: one Prometheus scraping every 1 s the targets of FLEET_SIM, FLEET_REAL and
# a dead one (FLEET_DEAD), listed in a file_sd file, with the rules; sets PROM.
fleet_prometheus() {
	local t targets=""
	FLEET_DEAD=127.0.0.1:$(free_port)
	for t in "${FLEET_SIM[@]}" "${FLEET_REAL[@]}" "$FLEET_DEAD"; do targets="$targets'$t', "; done
	local port
	port=$(free_port)
	PROM=http://127.0.0.1:$port
	cat >"$T/targets.yml" <<EOT
- targets: [${targets%, }]
  labels: {fleet: test}
EOT
	cat >"$T/prometheus.yml" <<EOT
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $PWD/dashboards/vfioscope.rules.yml
scrape_configs:
  - job_name: vfioscope
    scrape_timeout: 1s
    file_sd_configs:
      - files: ['$T/targets.yml']
        refresh_interval: 1s
EOT
	prometheus --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/data" \
		--web.listen-address="127.0.0.1:$port" --log.level=warn >"$T/prom.log" 2>&1 &
	PIDS+=($!)
}

q() { # instant query -> "labels value" lines (JSON labels)
	curl -s --max-time 5 "$PROM/api/v1/query" --data-urlencode "query=$1" | python3 -c '
import json, sys
try:
    r = json.load(sys.stdin)
except ValueError:  # Prometheus not answering yet
    sys.exit(1)
if r["status"] != "success":
    print("ERROR", r.get("error")); sys.exit(1)
for s in r["data"]["result"]:
    print(json.dumps(s["metric"], sort_keys=True), s["value"][1])'
}

fleet_wait() { # query, count of series wanted[, tenths of a second]
	for _ in $(seq $((${3:-600} / 2))); do
		[ "$(q "$1" | grep -vc '^ERROR')" -ge "$2" ] && return 0
		sleep 0.2
	done
	return 1
}

# instances with one series of query (sorted, one line)
instances_of() { q "$1" | python3 -c 'import json,sys; print(" ".join(sorted(json.loads(l.rsplit(" ",1)[0]).get("instance","") for l in sys.stdin if l.startswith("{"))))'; }
sorted() { printf '%s\n' "$@" | grep . | sort | tr '\n' ' ' | sed 's/ $//'; }

# fleet_checks: the fleet's checks, once Prometheus runs. A real exporter (FLEET_REAL) must
# return data for every query but those listed in FLEET_REAL_EMPTY (a regular expression on the
# query, each part with its reason at the caller); the simulated ones have no VFIO ioctl and no
# device migration.
FLEET_REAL_EMPTY=${FLEET_REAL_EMPTY:-^$}
fleet_checks() {
	local ns=${#FLEET_SIM[@]} nr=${#FLEET_REAL[@]} r n want
	local all
	all=$(sorted "${FLEET_SIM[@]}" "${FLEET_REAL[@]}")
	check "Prometheus discovers the $((ns + nr + 1)) targets through file_sd, $((ns + nr)) up" \
		fleet_wait 'up{job="vfioscope"} == 1' $((ns + nr))
	check "the target with no exporter is down" fleet_wait "up{instance=\"$FLEET_DEAD\"} == 0" 1
	# rates over 1m and 5m windows need samples a few seconds apart
	check "per-host rules evaluate for each simulated host" \
		fleet_wait 'instance:vfio_dirty_pages:rate1m > 0' "$ns"
	sleep 3
	echo "instances up: $(instances_of 'up{job="vfioscope"} == 1')"

	# Recording rules: per instance, and fleet-wide sums that equal the per-host ones.
	# A real exporter in FLEET_REAL_EMPTY's queries may still have a series (a DMA-logging
	# session its tracer saw whole, depending on when it started): one, never another host's.
	for r in $(sed -n 's/^ *- record: *\(instance:[^ ]*\)/\1/p' dashboards/vfioscope.rules.yml); do
		want=$(sorted "${FLEET_SIM[@]}")
		case $r in *ioctl*) want="" ;; esac # no VFIO ioctl on the simulated hosts
		got=$(instances_of "$r")
		if echo "$r" | grep -qE "$FLEET_REAL_EMPTY"; then
			got=$(sorted $(for i in $got; do
				[[ " ${FLEET_REAL[*]} " == *" $i "* ]] || echo "$i"
			done))
		else
			want=$(sorted $want "${FLEET_REAL[@]}")
		fi
		[ -n "$want" ] || continue
		check "$r: one series per host (of $(echo $want | wc -w) wanted: $got)" [ "$got" = "$want" ]
	done
	for r in vfio:dirty_pages:rate1m vfio:dirty_sync_duration_seconds:p99_5m; do
		n=$(q "count by (instance) ($r{instance=~\"$(echo "${FLEET_SIM[@]}" | tr ' ' '|')\"})" | wc -l)
		check "$r keeps the hosts apart (containers of $n hosts; synthetic-0 exists on each)" [ "$n" = "$ns" ]
	done
	check "fleet:vfioscope_hosts_up:sum = $((ns + nr))" \
		[ "$(q 'fleet:vfioscope_hosts_up:sum' | awk '{print $NF}')" = $((ns + nr)) ]
	want=$(q 'sum(instance:vfio_containers:count)' | awk '{print $NF}')
	check "fleet:vfio_containers:count = the hosts' sum ($want)" \
		[ "$(q 'fleet:vfio_containers:count' | awk '{print $NF}')" = "${want:-none}" ]
	want=$(((ns + 1) * (ns + 2) / 2 - 1)) # 2 + 3 + ... + (ns + 1) simulated
	check "the simulated hosts' containers: $want" \
		[ "$(q "sum(instance:vfio_containers:count{instance=~\"$(echo "${FLEET_SIM[@]}" | tr ' ' '|')\"})" | awk '{print $NF}')" = $want ]
	check "fleet:vfio_dma_mapped_bytes:sum = the hosts' sum" \
		[ "$(q 'fleet:vfio_dma_mapped_bytes:sum - sum(instance:vfio_dma_mapped_bytes:sum)' | awk '{print $NF}')" = 0 ]

	# Alerts: every rule evaluates; VfioscopeDown is pending (for: 2m) for the dead target alone;
	# the optional hook a kernel lacks is reported for each live host that lacks it.
	check "every rule group evaluates without error" bash -c "curl -s '$PROM/api/v1/rules' | python3 -c '
import json, sys
g = json.load(sys.stdin)[\"data\"][\"groups\"]
bad = [r[\"name\"] for x in g for r in x[\"rules\"] if r[\"health\"] != \"ok\"]
print(\"    rules:\", sum(len(x[\"rules\"]) for x in g), \"bad:\", bad)
sys.exit(bool(bad) or len(g) < 3)'"
	for _ in $(seq 50); do [ -n "$(fleet_alerts VfioscopeDown)" ] && break; sleep 0.2; done
	check "VfioscopeDown for $FLEET_DEAD only: '$(fleet_alerts VfioscopeDown | tr '\n' ' ')'" \
		[ "$(fleet_alerts VfioscopeDown | awk '{print $1}')" = "$FLEET_DEAD" ]
	want=$(sorted $(instances_of 'vfioscope_program_attached{role="optional"} == 0' | tr ' ' '\n' | sort -u))
	check "VfioscopeOptionalHookMissing per host that lacks one: '$want'" \
		fleet_alert_for VfioscopeOptionalHookMissing "$want"

	# The dashboard: every query, with $instance set to each host in turn.
	python3 - "$PROM" dashboards/vfioscope.json "$FLEET_REAL_EMPTY" "${FLEET_REAL[*]}" $all \
		<<'PY' >"$T/dash.out"
import json, re, sys, urllib.parse, urllib.request
prom, dash, real_empty, real, hosts = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split(), sys.argv[5:]
d = json.load(open(dash))
def query(e):
    url = prom + "/api/v1/query?" + urllib.parse.urlencode({"query": e})
    r = json.load(urllib.request.urlopen(url, timeout=10))
    return r["data"]["result"]
for p in d["panels"]:
    for t in p.get("targets", []):
        e = t["expr"].replace("$__rate_interval", "1m").replace("$container", ".*")
        per_host = "$instance" in e
        for h in (hosts if per_host else ["fleet"]):
            res = query(e.replace("$instance", h))
            got = {s["metric"].get("instance", "fleet") for s in res}
            ok = bool(res) and (not per_host or got == {h})
            if not res and h in real and re.search(real_empty, e):
                print(f"skip: {p['title']} [{h}]: nothing of it on this guest: {e}")
                continue
            # no VFIO ioctl on the simulated hosts, errors only where an ioctl failed, and no
            # device migrates there (the migration row has data only after one)
            if not res and h not in real and ("ioctl" in e or "vfio_device_migration" in e):
                print(f"skip: {p['title']} [{h}]: no VFIO ioctl or device migration on a simulated host: {e}")
                continue
            print(("ok: " if ok else "FAIL: ") + f"{p['title']} [{h}]: {len(res)} series" + ("" if ok else f" ({got}): {e}"))
PY
	grep -v "^ok:" "$T/dash.out" | grep -v "on a simulated host" | sed "s/^/    /"
	local nq nf
	nq=$(grep -c '^ok:' "$T/dash.out")
	nf=$(grep -c '^FAIL:' "$T/dash.out")
	check "every dashboard query returns data for each host ($nq ok, $nf failed, $(grep -c '^skip:' "$T/dash.out") without data where the host has none)" \
		[ "$nf" = 0 -a "$nq" -gt 30 ]
	# the panels the simulator cannot feed, from each real host
	local panel
	for r in "${FLEET_REAL[@]}"; do
		for panel in "ioctl latency p99 by op" "Containers" "Devices per container" \
			"Device migration state" "Device data by phase" "Convergence and outcomes"; do
			check "the dashboard's \"$panel\" has data from the real host $r" \
				grep -qF "ok: $panel [$r]" "$T/dash.out"
		done
	done
}

fleet_alerts() { curl -s "$PROM/api/v1/alerts" | python3 -c "
import json, sys
for a in json.load(sys.stdin)['data']['alerts']:
    if a['labels']['alertname'] == sys.argv[1]:
        print(a['labels'].get('instance'), a['state'])" "$1" | sort -u; }
fleet_alert_for() { # alert, instances (sorted, one line) it must be pending or firing for
	local _
	for _ in $(seq 50); do
		[ "$(fleet_alerts "$1" | awk '{print $1}' | sort -u | tr '\n' ' ' | sed 's/ $//')" = "$2" ] && return 0
		sleep 0.2
	done
	return 1
}
