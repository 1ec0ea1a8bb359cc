# Helpers for scripts that run inside the test guest (source this file).
# shellcheck shell=bash

VFIOSCOPE_ROOT=${VFIOSCOPE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${BUILD:-$VFIOSCOPE_ROOT/build}

# The BDF of QEMU's edu device (1234:11e8).
edu_bdf() {
	local d
	for d in /sys/bus/pci/devices/*; do
		if [ "$(cat "$d/vendor")" = 0x1234 ] && [ "$(cat "$d/device")" = 0x11e8 ]; then
			basename "$d"
			return 0
		fi
	done
	echo "guest-lib: no edu device (1234:11e8) in this guest" >&2
	return 1
}

# Bind BDF to DRIVER through driver_override (loads nothing; the driver must be registered).
bind_driver() {
	local bdf=$1 drv=$2 dev=/sys/bus/pci/devices/$1
	echo "$drv" >"$dev/driver_override" || return 1
	if [ -e "$dev/driver" ]; then
		echo "$bdf" >"$dev/driver/unbind" || return 1
	fi
	echo "$bdf" >/sys/bus/pci/drivers_probe || return 1
	if [ "$(basename "$(readlink "$dev/driver")")" != "$drv" ]; then
		echo "guest-lib: failed to bind $bdf to $drv" >&2
		return 1
	fi
}

bind_vfio_pci() {
	modprobe vfio-pci || return 1
	bind_driver "$1" vfio-pci
}

# The IOMMU group number of BDF.
group_of() {
	basename "$(readlink "/sys/bus/pci/devices/$1/iommu_group")"
}

# Load the reference DMA-logging driver built for this guest kernel.
load_edu_vfio_pci() {
	local ko=$BUILD/kmod/$VFIOSCOPE_KVER/edu-vfio-pci.ko
	[ -f "$ko" ] || { echo "guest-lib: $ko not built (make kmod)" >&2; return 1; }
	modprobe vfio-pci-core || return 1
	grep -q '^edu_vfio_pci ' /proc/modules || insmod "$ko" "$@" || return 1
}

# Assertions that print what was checked; count into a final "N passed, N failed" line.
. "$VFIOSCOPE_ROOT/tests/lib/checks.bash"
