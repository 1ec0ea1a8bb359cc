#!/usr/bin/env bash
# A fleet: one real Prometheus scrapes several vfioscope exporters through file-based service
# discovery, with dashboards/vfioscope.rules.yml loaded. Three `vfioscope serve` on this host,
# each with its BPF tracer and the SIMULATOR's synthetic containers (this host has no VFIO
# device: container and dirty-tracking series are made up, named synthetic-N), plus one target
# where nothing listens. Checks: recording rules evaluate per instance and fleet-wide, alerts
# per instance (VfioscopeDown for the dead target only), and every query of the Grafana
# dashboard returns data for each instance with the instance variable set to it.
cd "$(dirname "$0")/../.." || exit 1
. tests/package/lib.bash
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
N=3
for i in $(seq $N); do
	"$VFIOSCOPE" serve --listen 127.0.0.1:0 --port-file "$T/port$i" --simulate $((i + 1)) \
		--simulate-interval 200 >"$T/serve$i.log" 2>&1 &
	PIDS+=($!)
done
for i in $(seq $N); do
	for _ in $(seq 600); do [ -s "$T/port$i" ] && break; sleep 0.1; done
done
targets=""
for i in $(seq $N); do targets="$targets'127.0.0.1:$(cat "$T/port$i")', "; done
DEAD=127.0.0.1:$(free_port)
check "$N exporters serve ($targets)" bash -c "for i in \$(seq $N); do [ -s $T/port\$i ] || exit 1; done"
PROM_PORT=$(free_port)
PROM=http://127.0.0.1:$PROM_PORT
cat >"$T/targets.yml" <<EOT
- targets: [$targets'$DEAD']
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
    file_sd_configs:
      - files: ['$T/targets.yml']
        refresh_interval: 1s
EOT
prometheus --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/data" \
	--web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn >"$T/prom.log" 2>&1 &
PIDS+=($!)
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
wait_for() { # query, count of series wanted
	for _ in $(seq 300); do
		[ "$(q "$1" | grep -vc '^ERROR')" -ge "$2" ] && return 0
		sleep 0.2
	done
	return 1
}
check "Prometheus discovers the $((N + 1)) targets through file_sd, $N up" wait_for 'up{job="vfioscope"} == 1' $N
check "the target with no exporter is down" wait_for "up{instance=\"$DEAD\"} == 0" 1
# rates over 1m and 5m windows need samples a few seconds apart
check "per-host rules evaluate for each host" wait_for 'instance:vfio_dirty_pages:rate1m > 0' $N
sleep 3
live=$(q 'up{job="vfioscope"} == 1' | python3 -c 'import json,sys; [print(json.loads(l.rsplit(" ",1)[0])["instance"]) for l in sys.stdin]' | sort)
echo "instances up: $(echo $live)"

# Recording rules: per instance, and fleet-wide sums that equal the per-host ones.
for r in $(sed -n 's/^ *- record: *\(instance:[^ ]*\)/\1/p' dashboards/vfioscope.rules.yml); do
	case $r in *ioctl*) continue ;; esac # no VFIO ioctls on this host (checked in the VM tier)
	n=$(q "$r" | grep -c '"instance"')
	check "$r: one series per host ($n)" [ "$n" = $N ]
done
for r in vfio:dirty_pages:rate1m vfio:dirty_sync_duration_seconds:p99_5m; do
	n=$(q "count by (instance) ($r)" | wc -l)
	check "$r keeps the hosts apart (containers of $n hosts; synthetic-0 exists on each)" [ "$n" = $N ]
done
check "fleet:vfioscope_hosts_up:sum = $N" [ "$(q 'fleet:vfioscope_hosts_up:sum' | awk '{print $NF}')" = $N ]
want=$((2 + 3 + 4))
check "fleet:vfio_containers:count = $want (2 + 3 + 4 simulated)" \
	[ "$(q 'fleet:vfio_containers:count' | awk '{print $NF}')" = $want ]
check "fleet:vfio_dma_mapped_bytes:sum = the hosts' sum" \
	[ "$(q 'fleet:vfio_dma_mapped_bytes:sum - sum(instance:vfio_dma_mapped_bytes:sum)' | awk '{print $NF}')" = 0 ]

# Alerts: every rule evaluates; VfioscopeDown is pending (for: 2m) for the dead target alone;
# the optional hook this host's kernel lacks is reported for every live host.
check "every rule group evaluates without error" bash -c "curl -s '$PROM/api/v1/rules' | python3 -c '
import json, sys
g = json.load(sys.stdin)[\"data\"][\"groups\"]
bad = [r[\"name\"] for x in g for r in x[\"rules\"] if r[\"health\"] != \"ok\"]
print(\"    rules:\", sum(len(x[\"rules\"]) for x in g), \"bad:\", bad)
sys.exit(bool(bad) or len(g) < 3)'"
alerts() { curl -s "$PROM/api/v1/alerts" | python3 -c "
import json, sys
for a in json.load(sys.stdin)['data']['alerts']:
    if a['labels']['alertname'] == sys.argv[1]:
        print(a['labels'].get('instance'), a['state'])" "$1" | sort -u; }
for _ in $(seq 50); do [ -n "$(alerts VfioscopeDown)" ] && break; sleep 0.2; done
check "VfioscopeDown for $DEAD only: '$(alerts VfioscopeDown | tr '\n' ' ')'" \
	[ "$(alerts VfioscopeDown | awk '{print $1}')" = "$DEAD" ]
opt=$(alerts VfioscopeOptionalHookMissing | awk '{print $1}' | sort -u)
if [ -n "$opt" ]; then
	check "VfioscopeOptionalHookMissing per host ($(echo $opt))" [ "$opt" = "$live" ]
fi

# The dashboard: every query, with $instance set to each host in turn.
python3 - "$PROM" dashboards/vfioscope.json $live <<'PY' >"$T/dash.out"
import json, re, sys, urllib.parse, urllib.request
prom, dash, hosts = sys.argv[1], sys.argv[2], sys.argv[3:]
d = json.load(open(dash))
def query(e):
    url = prom + "/api/v1/query?" + urllib.parse.urlencode({"query": e})
    r = json.load(urllib.request.urlopen(url, timeout=10))
    return r["data"]["result"]
for p in d["panels"]:
    for t in p.get("targets", []):
        e = t["expr"].replace("$__rate_interval", "1m").replace("$container", ".*")
        # no VFIO ioctl on this host, and errors only where an ioctl failed: the VM tier has those;
        # no device migrates on these hosts either (the migration row has data only during one)
        exempt = "ioctl" in e or "vfio_device_migration" in e
        per_host = "$instance" in e
        for h in (hosts if per_host else ["fleet"]):
            res = query(e.replace("$instance", h))
            got = {s["metric"].get("instance", "fleet") for s in res}
            ok = bool(res) and (not per_host or got == {h})
            if exempt and not res:
                print(f"skip: {p['title']} [{h}]: no VFIO ioctl or device migration on this host: {e}")
                continue
            print(("ok: " if ok else "FAIL: ") + f"{p['title']} [{h}]: {len(res)} series" + ("" if ok else f" ({got}): {e}"))
PY
cat "$T/dash.out" | grep -v '^ok:' | sed 's/^/    /'
nq=$(grep -c '^ok:' "$T/dash.out")
nf=$(grep -c '^FAIL:' "$T/dash.out")
check "every dashboard query returns data for each host ($nq ok, $nf failed, $(grep -c '^skip:' "$T/dash.out") ioctl and migration queries without either)" \
	[ "$nf" = 0 ] && [ "$nq" -gt 30 ]
checks_done
