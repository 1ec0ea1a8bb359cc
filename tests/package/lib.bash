# Helpers for the package tier's tests (source this file from the repository's root).
# shellcheck shell=bash
VFIOSCOPE=${VFIOSCOPE:-${OUTPUT:-build}/vfioscope}
T=$(mktemp -d /tmp/vfioscope-pkg.XXXXXX)
trap 'rm -rf "$T"' EXIT
CHECKS_PASSED=0
CHECKS_FAILED=0
check() { # description, command...
	local what=$1
	shift
	if "$@"; then
		echo "ok: $what"
		CHECKS_PASSED=$((CHECKS_PASSED + 1))
	else
		echo "FAIL: $what"
		CHECKS_FAILED=$((CHECKS_FAILED + 1))
	fi
}
checks_done() {
	echo "$CHECKS_PASSED passed, $CHECKS_FAILED failed"
	[ "$CHECKS_FAILED" -eq 0 ]
}
