# The reference DMA-logging device (tests/kmod, edu-vfio-pci) through the plain uAPI
# (tests/vm/src/dmalog_test.c): plain vfio-pci offers no DMA logging (ENOTTY); the variant
# driver loads cleanly, traps BAR0, logs edu's DMA exactly, keeps the kernel's validation and
# migrates edu's register state through the data fd.
# vm-timeout: 300
set -u
. tests/vm/guest-lib.sh
bdf=$(edu_bdf) || exit 1
echo "edu at $bdf, kernel $(uname -r)"

passed=0 failed=0
run() { # the test program's own "N passed, N failed" line is added to ours
	local out
	out=$("$@" 2>&1)
	echo "$out"
	set -- $(echo "$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' | tail -n1)
	passed=$((passed + ${1:-0}))
	failed=$((failed + ${2:-1}))
}

bind_vfio_pci "$bdf" || exit 1
run "$BUILD/tests/vm/dmalog_test" plain "$bdf"

dmesg -C
load_edu_vfio_pci || exit 1
check "edu-vfio-pci binds through driver_override" bind_driver "$bdf" edu-vfio-pci
# Only the out-of-tree/unsigned taint notes may appear when the module loads and binds, and on a
# kernel with CONFIG_DEBUG_STACK_USAGE (6.12-iommufd has it) its record-depth notes,
# which any task may print.
noise=$(dmesg | grep -v -e 'loading out-of-tree module taints kernel' \
	-e 'module verification failed' -e 'used greatest stack depth: [0-9]* bytes left' || true)
[ -z "$noise" ] || echo "$noise"
check "load and bind print nothing beyond the taint" test -z "$noise"

# Without CONFIG_IOMMUFD_DRIVER (Debian 6.12) the kernel has no iova_bitmap and REPORT can
# only fail with EOPNOTSUPP before any driver is asked.
opts=
if ! grep -qw iova_bitmap_set /proc/kallsyms; then
	echo "# this kernel has no iova_bitmap_set: DMA_LOGGING_REPORT cannot work here"
	opts=--no-report
fi
run "$BUILD/tests/vm/dmalog_test" variant "$bdf" $opts

bad=$(dmesg | grep -E 'WARNING|BUG|Call Trace' || true)
[ -z "$bad" ] || echo "$bad"
check "no kernel warning during the run" test -z "$bad"
CHECKS_PASSED=$((CHECKS_PASSED + passed))
CHECKS_FAILED=$((CHECKS_FAILED + failed))
checks_done
