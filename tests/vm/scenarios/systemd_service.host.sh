# The package as an operator installs it, under a real systemd: the guest boots with systemd as
# PID 1 on the host's own Debian userspace (tests/vm/init, vfioscope.init=systemd), installs
# build/vfioscope_<version>_amd64.deb with dpkg -i and runs `systemctl enable --now vfioscope`;
# then systemd_service.guest.bash checks the unit, the exporter on loopback with its tracer and
# capabilities, stop/restart, the journal, a QEMU with a VFIO device started after the service,
# the completion of device addresses, and that purging leaves nothing behind.
# It measures the time from dpkg -i to the first successful scrape.
# vm-kernels: 6.1
# vm-timeout: 1800
set -u
k=${1:-6.1}
cd "$(dirname "$0")/../../.." || exit 1
deb=${OUTPUT:-build}/vfioscope_$(scripts/version)_amd64.deb
if [ ! -f "$deb" ]; then
	echo "no $deb yet: make deb"
	OUTPUT=${OUTPUT:-build} packaging/mkdeb >/dev/null || exit 1
fi
echo "package: $deb"
# systemd-tmpfiles-setup walks the host's /var over 9p (minutes under TCG); the guest's writable
# layer is a fresh tmpfs that needs none of it.
VM_APPEND="vfioscope.init=systemd systemd.unit=vfioscope-guest.target fstab=no systemd.show_status=0 systemd.mask=systemd-tmpfiles-setup.service" \
	exec tests/vm/vm-run -q -k "$k" -t "${VM_TIMEOUT:-1800}" -m 2048 -- \
	"DEB=$deb bash tests/vm/scenarios/systemd_service.guest.bash"
