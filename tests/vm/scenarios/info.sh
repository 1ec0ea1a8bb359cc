# `vfioscope info` in the guest: VFIO present once vfio-pci is loaded, module BTF found, and the
# file-handler hooks (fentry) attach, unlike on the host.
# vm-timeout: 120
set -u
. tests/vm/guest-lib.sh
modprobe vfio-pci
j=$("$BUILD/vfioscope" info --json)
echo "$j"
q() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)" <<<"$j"; }
check "info --json is valid JSON" q 'd["kernel"]'
check "VFIO present" test "$(q 'd["vfio"]["present"]')" = True
check "/dev/vfio/vfio present" test "$(q 'd["vfio"]["container_dev"]')" = True
check "vfio module BTF" test "$(q 'd["modules"]["vfio"]["btf"]')" = True
check "vfio_iommu_type1 module BTF" test "$(q 'd["modules"]["vfio_iommu_type1"]["btf"]')" = True
check "fentry attaches on the VFIO device handler" test "$(q 'd["programs"]["fentry"]["attaches"]')" = True
check "tracer mode is fentry" test "$(q 'd["tracer"]["mode"]')" = fentry
check "kernel matches the guest" test "$(q 'd["kernel"]')" = "$(uname -r)"
check "plain output says VFIO present" bash -c "\"$BUILD/vfioscope\" info | grep -q '^vfio: present'"
checks_done
