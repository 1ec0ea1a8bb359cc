# Assertions that print what was checked and count into a final "N passed, N failed" line
# (the line tests/run-tier reads). Sourced by the package tier's and the guest's helpers.
# shellcheck shell=bash
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
