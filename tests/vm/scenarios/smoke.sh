# VM smoke test: vfio-pci + edu, a type1v2 container, real edu DMA into mapped memory and
# VFIO_IOMMU_DIRTY_PAGES reporting the mapped pages dirty (tests/vm/src/smoke_type1.c).
# vm-timeout: 180
set -eu
. tests/vm/guest-lib.sh
bdf=$(edu_bdf)
bind_vfio_pci "$bdf"
group=$(group_of "$bdf")
echo "edu at $bdf, IOMMU group $group, kernel $(uname -r)"
"$BUILD/tests/vm/smoke_type1" "$bdf" "$group"
