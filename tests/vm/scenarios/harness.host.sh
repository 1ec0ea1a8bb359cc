# The VM harness itself, from the host: exit status and output come back, a hung guest is a
# bounded failure with its console shown, a guest that never reaches the command is booted once
# more, a panic fails fast with the console, an unknown kernel package is a clear error. On 6.1
# (modules from the initramfs) and 6.12-iommufd (everything the boot needs built in).
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

# A guest that never reaches the command (here its init only sleeps: a silent boot hang) is
# stopped at the boot deadline and booted once more, then fails with both consoles shown.
err=$(VM_BOOT_DEADLINE=15 VM_APPEND="rdinit=/bin/busybox sleep 1000" \
	$run -q -k "$k" -t 120 -- 'echo never-here' 2>&1)
rc=$?
check "a guest that never reaches the command fails (exit 125)" test $rc -eq 125
check "the first boot is stopped at the boot deadline" \
	grep -q 'did not reach the command within 15s (boot try 1 of 2)' <<<"$err"
check "it is booted once more, and that boot is stopped too" \
	grep -q 'did not reach the command within 15s (boot try 2 of 2)' <<<"$err"
check "the failure says how many boots it tried" grep -q 'never reached the command in 2 boots' <<<"$err"
check "the command never ran" test "${err/never-here/}" = "$err"

# A guest whose QEMU ends before the command started (here: no init, the kernel panics at
# boot) is booted once more too, then fails with the console shown.
err=$(VM_APPEND="rdinit=/nonexistent init=/nonexistent" \
	$run -q -k "$k" -t 120 -- 'echo never-here' 2>&1)
rc=$?
check "a guest that dies before the command fails (exit 125)" test $rc -eq 125
check "QEMU's early end is reported and the guest booted once more" \
	grep -q 'before the guest reached the command (boot try 2 of 2)' <<<"$err"
check "the console of the failed boot is shown" grep -q 'console|' <<<"$err"
check "that command never ran either" test "${err/never-here/}" = "$err"

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
