# Helpers for the VM scenarios that drive `vfioscope track` (source after guest-lib.sh).
# shellcheck shell=bash

V=$BUILD/vfioscope

# vfs ARGS...: vfioscope in the foreground, bounded, so a hang fails one check (exit 124)
# instead of the whole boot
vfs() {
	timeout -k 5 150 "$V" "$@"
	local rc=$?
	[ $rc = 124 ] && echo "TIMEOUT: vfioscope $*" >&2
	return $rc
}

# wait_bounded PID: its exit status, or 124 (and SIGKILL) if it has not exited within 60 s
wait_bounded() {
	for _ in $(seq 300); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.2
	done
	if kill -0 "$1" 2>/dev/null; then
		echo "TIMEOUT: pid $1 still running 60 s after the signal" >&2
		kill -9 "$1"
		wait "$1"
		return 124
	fi
	wait "$1"
}

# wait_started FILE: until vfioscope has started tracking (its signal handlers are set by then)
wait_started() {
	for _ in $(seq 300); do
		grep -q '"event":"start"\|^tracking ' "$1" 2>/dev/null && return 0
		sleep 0.2
	done
	return 1
}

# json_check FILE PYTHON-EXPR: the expression sees the JSON events of `vfioscope track --json`
# as `ev`, and `syncs`, `start` and `summary`
json_check() {
	python3 - "$1" "$2" <<'EOF'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
syncs = [e for e in ev if e["event"] == "sync"]
start = next((e for e in ev if e["event"] == "start"), {})
summary = next((e for e in ev if e["event"] == "summary"), {})
ok = eval(sys.argv[2])
if not ok:
    print("  events:", ev)
sys.exit(0 if ok else 1)
EOF
}
