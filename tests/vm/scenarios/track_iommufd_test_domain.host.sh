# The tracker's iommufd dirty-tracking calls (iommufd_hwpt_dirty_set / _read of iommu_dirty.h,
# linked from libvfioscope-tracker.a) against the kernel's IOMMUFD_TEST mock domain: the
# kernel's test domain, not hardware. No IOMMU we can run tracks dirty pages (QEMU's VT-d does
# not emulate second-stage dirty bits), so this is the one place HWPT dirty tracking really
# runs; track_iommufd.sh shows VT-d refusing it. The guest boots with intel_iommu=off: on 6.12
# a mock device on the iommufd_mock bus is probed by whichever IOMMU driver registered first
# (iommu_fwspec_ops(NULL)), so with VT-d on, IOMMU_TEST_OP_MOCK_DOMAIN fails with EINVAL.
# A host scenario because the kernel command line is set at boot.
# vm-kernels: 6.12-iommufd
set -u
. tests/vm/guest-lib.sh
k=${1:-6.12-iommufd}
P=build/tests/vm/iommufd_test_domain
[ -x "$P" ] || { echo "$P not built (make kmod)"; exit 1; }

out=$(VM_APPEND=intel_iommu=off tests/vm/vm-run -q -k "$k" -t "${VM_TIMEOUT:-300}" -- "$P" 2>&1)
rc=$?
echo "$out"
check "the tracker's HWPT dirty calls pass every check on the kernel's test domain" test $rc -eq 0
check "bitmaps of 1, 63, 64 and 65 pages read exactly" \
	test "$(grep -c '^ok: .*-page range: GET_DIRTY_BITMAP reports exactly' <<<"$out")" -eq 4
check "NO_CLEAR keeps the bits, the default read clears them" \
	grep -q '^ok: and cleared them: the next default read is clean' <<<"$out"
check "an unaligned range is refused with the kernel's EINVAL" \
	grep -q '^ok: a range not aligned to the page: the kernel refuses it with EINVAL' <<<"$out"
check "the mock's refusal: HWPT_ALLOC with DIRTY_TRACKING for a NO_DIRTY device is EOPNOTSUPP" \
	grep -q '^ok: HWPT_ALLOC with DIRTY_TRACKING for it: the kernel refuses with EOPNOTSUPP' <<<"$out"
checks_done
