# The VM harness itself, from the host: exit status and output come back, a hung guest is a
# bounded failure with its console shown, a panic fails fast with the console, an unknown kernel
# package is a clear error. On 6.1 (modules from the initramfs) and 6.12-iommufd (everything the
# boot needs built in, no module to load).
# vm-kernels: 6.1 6.12-iommufd
set -u
. tests/vm/guest-lib.sh
k=${1:-6.1}
run=tests/vm/vm-run

out=$($run -q -k "$k" -t 120 -- 'echo hello-from-guest; uname -r; exit 7' 2>/dev/null)
rc=$?
check "the command's exit status comes back (7)" test $rc -eq 7
check "the command's output comes back" grep -q hello-from-guest <<<"$out"
check "it ran under the guest kernel" grep -qx "$(tests/vm/kernel resolve "$k")" <<<"$out"

err=$($run -q -k "$k" -t 40 -- 'echo about-to-hang; sleep 600' 2>&1 >/dev/null)
rc=$?
check "a hung guest is stopped at the timeout (exit 124)" test $rc -eq 124
check "the timeout is reported" grep -q 'timed out after 40s' <<<"$err"
check "the console log is shown on timeout" grep -q 'console|' <<<"$err"

err=$($run -q -k "$k" -t 120 -- 'echo c > /proc/sysrq-trigger; sleep 60' 2>&1 >/dev/null)
rc=$?
check "a panicking guest fails (exit 125)" test $rc -eq 125
check "the panic is visible in the console log" grep -q 'Kernel panic\|sysrq: Trigger a crash' <<<"$err"

tmp=$(mktemp -d)
err=$(VFIOSCOPE_CACHE=$tmp tests/vm/kernel fetch 0.0.0-0-amd64 2>&1)
rc=$?
rm -rf "$tmp"
check "an unknown kernel package fails" test $rc -ne 0
check "the failed download names the package" grep -q 'failed to download linux-image-0.0.0-0-amd64' <<<"$err"
checks_done
