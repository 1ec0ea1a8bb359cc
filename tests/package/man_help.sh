#!/usr/bin/env bash
# The man pages and the --help texts name the same options (tests/package/man_help.py), and
# every page turns into roff that man(1) renders without a warning.
cd "$(dirname "$0")/../.." || exit 1
. tests/package/lib.bash
python3 tests/package/man_help.py "$VFIOSCOPE" man | grep -v ' passed, ' | tee "$T/man_help.out"
CHECKS_PASSED=$(grep -c '^ok:' "$T/man_help.out")
CHECKS_FAILED=$(grep -c '^FAIL:' "$T/man_help.out")
for f in man/*.scd; do
	page=$(basename "$f" .scd)
	err=$(scdoc <"$f" 2>&1 >"$T/$page") || true
	check "scdoc turns $f into roff${err:+ ($err)}" [ -z "$err" ] && [ -s "$T/$page" ]
	w=$(MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -l "$T/$page" 2>&1 >/dev/null)
	check "man renders $page without warnings${w:+: $w}" [ -z "$w" ]
done
checks_done
