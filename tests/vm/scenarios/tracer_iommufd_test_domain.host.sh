# The tracer on HWPT dirty tracking that really runs: tracer_iommufd.sh's checks with
# tests/vm/iommufd/iommufd_ops on the kernel's IOMMUFD_TEST mock domain (the kernel's test
# domain, not hardware): a dirty-tracking HWPT, its session (method iommufd) while active,
# stopped, and gone on destroy. A host scenario because the guest boots with intel_iommu=off
# (track_iommufd_test_domain.host.sh says why).
# vm-kernels: 6.12-iommufd
# vm-timeout: 600
set -u
k=${1:-6.12-iommufd}
VM_APPEND=intel_iommu=off exec tests/vm/vm-run -q -k "$k" -t "${VM_TIMEOUT:-600}" -- \
	"bash tests/vm/scenarios/tracer_iommufd.sh test-domain"
