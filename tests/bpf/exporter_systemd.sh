#!/usr/bin/env bash
# packaging/vfioscope.service: systemd accepts it, its exposure score is low, it grants exactly
# the capabilities docs/capabilities.md explains; and serve, started the way the unit starts it
# (an unprivileged user holding only those capabilities as ambient ones), drops them all.
. "$(dirname "$0")/serve_lib.bash"

UNIT=packaging/vfioscope.service
sed "s|/usr/sbin/vfioscope|$PWD/$VFIOSCOPE|" "$UNIT" >"$T/vfioscope.service"
# --man=no: the unit's man: documentation comes with the package (systemd_service checks it).
check "systemd-analyze verify accepts the unit" systemd-analyze verify --man=no "$T/vfioscope.service"
score=$(systemd-analyze security --offline=yes "$T/vfioscope.service" 2>/dev/null |
	sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
echo "info: systemd-analyze security exposure: $score"
check "exposure level is at most 3.0 ($score)" \
	python3 -c "import sys; sys.exit(not float('${score:-10}') <= 3.0)"
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$UNIT")
check "the unit grants CAP_BPF CAP_PERFMON CAP_SYS_ADMIN only" \
	[ "$caps" = "CAP_BPF CAP_PERFMON CAP_SYS_ADMIN" ]
check "ambient set equals the bounding set" \
	[ "$(sed -n 's/^AmbientCapabilities=//p' "$UNIT")" = "$caps" ]
for c in $caps; do
	check "docs/capabilities.md explains $c" grep -q "$c" docs/capabilities.md
done
check "the unit listens on loopback only" grep -q -- '--listen 127.0.0.1:' "$UNIT"

if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	# Like DynamicUser + AmbientCapabilities: nobody, with the three capabilities ambient.
	chmod 1777 "$T" # serve, as nobody, writes its port file here
	VFIOSCOPE_REAL=$VFIOSCOPE
	VFIOSCOPE=$T/as-unit
	cat >"$VFIOSCOPE" <<EOT
#!/bin/sh
exec setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all,+bpf,+perfmon,+sys_admin \
	--ambient-caps=-all,+bpf,+perfmon,+sys_admin --bounding-set=-all,+bpf,+perfmon,+sys_admin \
	"$PWD/$VFIOSCOPE_REAL" "\$@"
EOT
	chmod 0755 "$VFIOSCOPE"
	start_serve
	check "serve runs as nobody" [ "$(awk '/^Uid:/ {print $2}' /proc/$SERVE_PID/status)" = 65534 ]
	check "it serves /metrics" [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/metrics")" = 200 ]
	# 503 if a source failed: the tracer (when built in) loads with these capabilities alone.
	check "every source started (/healthz ok)" [ "$(curl -s "$URL/healthz")" = ok ]
	dropped() {
		local f
		for f in /proc/"$SERVE_PID"/task/*/status; do
			grep -q '^CapEff:[[:space:]]*0000000000000000$' "$f" || return 1
			grep -q '^CapPrm:[[:space:]]*0000000000000000$' "$f" || return 1
			grep -q '^CapAmb:[[:space:]]*0000000000000000$' "$f" || return 1
			grep -q '^NoNewPrivs:[[:space:]]*1$' "$f" || return 1
		done
	}
	check "the ambient capabilities are gone in every thread" dropped
	stop_serve
fi
finish
