#!/usr/bin/env bash
# dashboards/: the rules pass promtool (syntax and unit tests), the Grafana dashboard is
# importable JSON with the panels the runbook refers to, and every metric the dashboard and
# the rules query is one `vfioscope serve` exports.
. "$(dirname "$0")/serve_lib.bash"

RULES=dashboards/vfioscope.rules.yml
DASH=dashboards/vfioscope.json
check "promtool check rules" promtool check rules "$RULES"
check "promtool test rules (alert and recording rule unit tests)" \
	promtool test rules dashboards/tests/vfioscope.rules.test.yml

check "the dashboard is importable Grafana JSON" python3 - "$DASH" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["uid"] and d["title"] and d["schemaVersion"] >= 30
assert any(i["name"] == "DS_PROMETHEUS" and i["pluginId"] == "prometheus" for i in d["__inputs"])
ids = set()
for p in d["panels"]:
    assert p["id"] not in ids; ids.add(p["id"])
    g = p["gridPos"]; assert 0 <= g["x"] < 24 and g["w"] > 0 and g["x"] + g["w"] <= 24
    if p["type"] == "row":
        continue
    assert p["datasource"]["uid"] == "${DS_PROMETHEUS}", p["title"]
    assert p["targets"] and all(t["expr"] for t in p["targets"]), p["title"]
PY
titles=$(python3 -c 'import json,sys; [print(p["title"]) for p in json.load(open(sys.argv[1]))["panels"]]' "$DASH")
for want in "Mapped memory per container" "Dirty pages per second" "Dirty sync latency" \
	"Dirty bitmap size" "ioctl errors" "BPF programs attached" "Events lost"; do
	check "dashboard has a panel '$want'" grep -q "^$want" <<<"$titles"
done

# What serve exports, as sample names (histograms expand to _bucket, _sum, _count).
"$VFIOSCOPE" serve --list-metrics | awk '
	$2 == "histogram" { print $1 "_bucket"; print $1 "_sum"; print $1 "_count"; next }
	{ print $1 }' | sort -u >"$T/exported"
check "serve --list-metrics lists the families ($(wc -l <"$T/exported") sample names)" \
	[ "$(wc -l <"$T/exported")" -gt 20 ]
python3 tests/bpf/exporter_promql_names.py "$DASH" "$RULES" >"$T/queried"
grep -v ':' "$T/queried" >"$T/queried-metrics"
missing=$(comm -23 "$T/queried-metrics" "$T/exported")
check "every metric queried ($(wc -l <"$T/queried-metrics")) is exported${missing:+; missing: $missing}" \
	[ -z "$missing" ]
sed -n 's/^rule://p' "$T/queried" >"$T/rules-used"
sed -n 's/^ *- record: *//p' "$RULES" | sort -u >"$T/rules-defined"
missing=$(comm -23 "$T/rules-used" "$T/rules-defined")
check "every recording rule queried is defined${missing:+; missing: $missing}" [ -z "$missing" ]
check "Prometheus' own series used: only up" [ "$(sed -n 's/^prometheus://p' "$T/queried")" = up ]
undocumented=$("$VFIOSCOPE" serve --list-metrics | awk '{print $1}' | while read -r m; do
	grep -q "^| \`$m\` |" docs/metrics.md || echo "$m"
done)
check "every exported metric is in docs/metrics.md${undocumented:+; missing: $undocumented}" \
	[ -z "$undocumented" ]
# The checker itself finds a metric that is not exported (it can fail).
echo '{"panels":[{"targets":[{"expr":"rate(vfio_not_a_metric_total{a=\"b\"}[5m])"}]}]}' >"$T/bad.json"
: >"$T/empty.yml"
check "the name check catches an unknown metric" \
	bash -c "python3 tests/bpf/exporter_promql_names.py '$T/bad.json' '$T/empty.yml' | grep -qx vfio_not_a_metric_total"
finish
