# `vfioscope info` in the guest, checked against what sysfs, /dev, /proc/modules and
# /proc/kallsyms say: VFIO present, a module or built in, with its functions' BTF found where
# it lives; the VFIO cdev and iommufd as the kernel has them; IOMMUFD_TEST; each device a VFIO
# driver holds, with its IOMMU's dirty tracking asked through iommufd (QEMU's VT-d: none); and
# fentry attaching on the VFIO device handler. Debian's 6.1 and 6.12: VFIO a module, no cdev,
# no iommufd; 6.12-iommufd: all built in, cdev, iommufd and its test mock domain.
# vm-timeout: 150
set -u
. tests/vm/guest-lib.sh
bdf=$(edu_bdf) || exit 1
bind_vfio_pci "$bdf" || exit 1
j=$("$BUILD/vfioscope" info --json)
echo "$j"
p=$("$BUILD/vfioscope" info)
echo "$p"
q() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)" <<<"$j"; }
py() { [ "$1" = 1 ] && echo True || echo False; }
has() { "$@" && echo 1 || echo 0; }

# the facts, from the kernel's own files
builtin=$(py "$(has bash -c '! grep -q "^vfio " /proc/modules')")
iommu_dev=$(py "$(has test -e /dev/iommu)")
cdev_name=$(basename "$(dirname "$(ls -d /sys/bus/pci/devices/"$bdf"/vfio-dev/vfio*/dev 2>/dev/null | head -n1)")")
[ -n "$cdev_name" ] && [ "$cdev_name" != . ] && [ -e "/dev/vfio/devices/$cdev_name" ] || cdev_name=
cdev=$(py "$(has test -n "$cdev_name")")
mock=$(py "$(has grep -qw iommufd_test /proc/kallsyms)")
echo "facts: vfio built in $builtin, /dev/iommu $iommu_dev, edu cdev '${cdev_name}', iommufd_test $mock"

check "info --json is valid JSON" q 'd["kernel"]'
check "kernel matches the guest" test "$(q 'd["kernel"]')" = "$(uname -r)"
check "VFIO present" test "$(q 'd["vfio"]["present"]')" = True
check "/dev/vfio/vfio present" test "$(q 'd["vfio"]["container_dev"]')" = True
check "VFIO built in ($builtin) as /proc/modules says" test "$(q 'd["vfio"]["builtin"]')" = "$builtin"
check "vfio module row built in ($builtin)" test "$(q 'd["modules"]["vfio"]["builtin"]')" = "$builtin"
where=module
[ "$builtin" = True ] && where=vmlinux
check "vfio functions' BTF found in $where" test "$(q 'd["modules"]["vfio"]["btf"] and d["modules"]["vfio"]["btf_in"]')" = "$where"
check "vfio_iommu_type1 functions' BTF found in $where" \
	test "$(q 'd["modules"]["vfio_iommu_type1"]["btf"] and d["modules"]["vfio_iommu_type1"]["btf_in"]')" = "$where"
check "iommufd present ($iommu_dev) as /dev/iommu says" test "$(q 'd["iommufd"]["present"] and d["iommufd"]["dev"]')" = "$iommu_dev"
check "VFIO cdev ($cdev) as edu's vfio-dev node says" test "$(q 'd["vfio"]["cdev"]')" = "$cdev"
check "IOMMUFD_TEST ($mock) as kallsyms says (iommufd_test)" test "$(q 'd["iommufd"]["test"]')" = "$mock"
dev() { q "[x for x in d['devices'] if x['bdf'] == '$bdf'][0]$1"; }
check "edu listed among the VFIO devices, driver vfio-pci" test "$(dev '["driver"]')" = vfio-pci
if [ "$cdev" = True ]; then
	check "edu's cdev is $cdev_name" test "$(dev '["cdev"]')" = "$cdev_name"
	ecap=$(cat /sys/class/iommu/dmar*/intel-iommu/ecap | head -n1)
	# VT-d second-stage A/D (SSADS, ECAP bit 45) in scalable mode (bit 43) is what the Intel
	# driver needs for IOMMU_HW_CAP_DIRTY_TRACKING; QEMU's VT-d emulates neither
	if [ $(((0x$ecap >> 45) & 1)) = 0 ] || [ $(((0x$ecap >> 43) & 1)) = 0 ]; then
		check "edu's IOMMU (ecap $ecap: no SSADS in scalable mode) offers no dirty tracking" \
			test "$(dev '["dirty_tracking"]')" = False
	fi
	check "IOMMU_GET_HW_INFO answered with the VT-d type" test "$(dev '["hw_info_type"]')" = intel_vtd
	check "plain output: edu's IOMMU dirty tracking" \
		grep -q "^  $bdf vfio-pci $cdev_name: IOMMU dirty tracking no" <<<"$p"
else
	check "no cdev: edu's dirty tracking unknown" test "$(dev '["dirty_tracking"]')" = None
	check "plain output says why" grep -q "^  $bdf vfio-pci (no cdev): IOMMU dirty tracking unknown (no VFIO device cdev" <<<"$p"
fi
check "fentry attaches on the VFIO device handler" \
	test "$(q 'd["programs"]["fentry"]["target"] if d["programs"]["fentry"]["attaches"] else ""')" = vfio_device_fops_unl_ioctl
check "tracer mode is fentry" test "$(q 'd["tracer"]["mode"]')" = fentry
word="a module"
[ "$builtin" = True ] && word="built in"
check "plain output says VFIO present, $word" grep -q "^vfio: present, $word" <<<"$p"
checks_done
