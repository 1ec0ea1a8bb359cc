# Helpers for the package tier's tests (source this file from the repository's root).
# shellcheck shell=bash
VFIOSCOPE=${VFIOSCOPE:-${OUTPUT:-build}/vfioscope}
T=$(mktemp -d /tmp/vfioscope-pkg.XXXXXX)
trap 'rm -rf "$T"' EXIT
. tests/lib/checks.bash
