# The package as an operator installs it, under a real systemd: the guest boots with systemd as
# PID 1 on the host's own Debian userspace (tests/vm/init, vfioscope.init=systemd), installs
# build/vfioscope_<version>_amd64.deb with dpkg -i and runs `systemctl enable --now vfioscope`;
# then systemd_service.guest.bash checks the unit, the exporter on loopback with its tracer and
# capabilities, restart and stop, the journal, a QEMU with a VFIO device started after the
# service, the completion of device addresses, and that purging leaves nothing behind.
# It measures the time from dpkg -i to the first successful scrape.
# On the kernels of FLEET_KERNELS (default 6.1: one boot is enough to prove it) the guest's
# service also joins a fleet: it listens on the guest's address as README's fleet section says,
# its port is forwarded to this host, and one real Prometheus scrapes it with three simulated
# exporters on this host (tests/package/fleet-lib.bash, as tests/package/fleet.sh does) while
# the guest's QEMU holds a container and a second edu migrates (tests/vm/src/mig_drive): the
# rules, alerts and dashboard queries must hold for the real guest too, its ioctl and migration
# panels included.
# vm-kernels: 6.1 6.12 6.12-iommufd
# vm-timeout: 900
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
export VM_APPEND="vfioscope.init=systemd systemd.unit=vfioscope-guest.target fstab=no systemd.show_status=0 systemd.mask=systemd-tmpfiles-setup.service"
guest="bash tests/vm/scenarios/systemd_service.guest.bash"
case " ${FLEET_KERNELS:-6.1} " in
*" $k "*) ;;
*) exec tests/vm/vm-run -q -k "$k" -t "${VM_TIMEOUT:-900}" -m 2048 -- "DEB=$deb $guest" ;;
esac

. tests/package/lib.bash
. tests/package/fleet-lib.bash
PIDS=()
GUEST_PORT=$(free_port)
SIGNAL_PORT=$(free_port)
setsid tests/vm/vm-run -q -k "$k" -t "${VM_TIMEOUT:-900}" -m 2048 -n 2 \
	-f "$GUEST_PORT:9478" -f "$SIGNAL_PORT:9479" -- "FLEET=1 DEB=$deb $guest" >"$T/vm.log" 2>&1 &
VM_PID=$!
# vm-run is a session leader: stop the whole session (QEMU included) on early exit.
trap 'kill -- -$VM_PID 2>/dev/null; kill "${PIDS[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT
fleet_sim_exporters 3
guest_seen() { # the guest's service, once it listens on the guest's address, until the guest ends
	local end=$((SECONDS + $1))
	while [ $SECONDS -lt $end ] && kill -0 "$VM_PID" 2>/dev/null; do
		[ "$(curl -s --max-time 2 "http://127.0.0.1:$GUEST_PORT/healthz")" = ok ] && return 0
		sleep 1
	done
	return 1
}
if guest_seen 600; then
	FLEET_REAL=("127.0.0.1:$GUEST_PORT")
	fleet_prometheus
	g=${FLEET_REAL[0]}
	check "the guest's service is scraped through the forwarded port ($g)" \
		fleet_wait "up{instance=\"$g\"} == 1" 1 1200
	check "Prometheus sees the guest's QEMU container and edu" \
		fleet_wait "vfio_device_info{instance=\"$g\",driver=\"vfio-pci\"}" 1 1800
	check "Prometheus sees the guest's device migration" \
		fleet_wait "vfio_device_migrations_total{instance=\"$g\",role=\"destination\"} > 0" 1 1800
	# Nothing of these on the guest: dirty tracking sessions are the tracker's or the
	# simulator's (the packaged service only traces; a migration's DMA logging is in the
	# migration row); no ioctl failed; mig_drive goes RUNNING -> STOP -> STOP_COPY without PRE_COPY (no precopy answer, no
	# convergence to tell); Debian's 6.12 has no iova_bitmap_set (no device dirty rate).
	FLEET_REAL_EMPTY='vfio_dirty_(pages|sync|bitmap|tracked|range|ranges|tracking)|dirty_sync|ioctl_errors|precopy|converging'
	fleet_checks
	# let the guest go on (QEMU's forward accepts at once: retry until the guest answers)
	for _ in $(seq 60); do
		[ "$(python3 -c 'import socket,sys; c=socket.create_connection(("127.0.0.1",int(sys.argv[1])),5); c.settimeout(5); r=c.recv(10); c.sendall(b"fleet checked\n"); print(r.decode().strip())' "$SIGNAL_PORT" 2>/dev/null)" = ok ] && break
		sleep 1
	done
else
	check "the guest's service listens on the guest's address, forwarded to this host" false
fi
wait "$VM_PID"
rc=$?
cat "$T/vm.log"
check "the guest's checks pass (vm-run exit $rc)" [ $rc = 0 ]
# one count for run-all: the guest's and this host's checks
gp=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$T/vm.log" | tail -n1)
gf=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$T/vm.log" | tail -n1)
CHECKS_PASSED=$((CHECKS_PASSED + ${gp:-0}))
CHECKS_FAILED=$((CHECKS_FAILED + ${gf:-0}))
checks_done
