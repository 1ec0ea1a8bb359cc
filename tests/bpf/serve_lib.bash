# Shared by tests/bpf/serve_*.sh and exporter_*.sh (sourced, not run): start `vfioscope serve`
# on a free loopback port, count checks, clean up every process started here on exit.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
VFIOSCOPE=${VFIOSCOPE:-build/vfioscope}
T=$(mktemp -d /tmp/vfioscope-test.XXXXXX)
PIDS=()
PASS=0
FAIL=0

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

check() { # NAME COMMAND...: one counted check
	local name=$1
	shift
	if "$@"; then
		echo "ok   $name"
		PASS=$((PASS + 1))
	else
		echo "FAIL $name"
		FAIL=$((FAIL + 1))
	fi
}

finish() {
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ]
	exit
}

# A port nobody listens on now (for servers that cannot report the port they bound).
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_serve ARGS...: sets SERVE_PID and PORT (bound with port 0, reported via --port-file).
start_serve() {
	rm -f "$T/port"
	"$VFIOSCOPE" serve --listen 127.0.0.1:0 --port-file "$T/port" "$@" 2>>"$T/serve.log" &
	SERVE_PID=$!
	PIDS+=("$SERVE_PID")
	for _ in $(seq 100); do
		[ -s "$T/port" ] && break
		kill -0 "$SERVE_PID" 2>/dev/null || break
		sleep 0.1
	done
	if [ ! -s "$T/port" ]; then
		echo "vfioscope serve did not start:"
		cat "$T/serve.log"
		exit 1
	fi
	PORT=$(cat "$T/port")
	URL=http://127.0.0.1:$PORT
}

stop_serve() {
	kill "$SERVE_PID" 2>/dev/null
	wait "$SERVE_PID"
}

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# Prometheus HTTP API helpers; $PROM is the server's base URL.
q() { # PromQL -> the first sample's value (empty when none)
	curl -s --max-time 5 "$PROM/api/v1/query" --data-urlencode "query=$1" |
		python3 -c 'import json,sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if r else "")' 2>/dev/null
}
wait_for() { # PromQL that must return a sample within $2 seconds (default 60)
	for _ in $(seq $((${2:-60} * 2))); do
		[ -n "$(q "$1")" ] && return 0
		sleep 0.5
	done
	return 1
}
