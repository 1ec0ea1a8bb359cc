# Inside the systemd guest of systemd_service.host.sh (PID 1 is systemd): install, run, watch,
# restart, see a QEMU (and, with FLEET=1, join the host's fleet and migrate a device), purge the
# package. Prints one "ok:"/"FAIL:" line per check, "time:" lines (where the time goes) and a
# count.
set -u
. tests/vm/guest-lib.sh
URL=http://127.0.0.1:9478
d=$(mktemp -d /tmp/systemd-svc.XXXXXX)
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.2f", b - a}'; }
# where the scenario's time goes: one line per part, seconds since the previous one
t_part=$(now)
part() {
	echo "time: $1: $(since "$t_part")s"
	t_part=$(now)
}
scrape_ok() { curl -sf --max-time 2 "$URL/metrics" -o "$d/m" && grep -q '^vfioscope_build_info' "$d/m"; }
wait_for() { # seconds, command...: bounded in time (each try may itself take seconds)
	local end=$((SECONDS + $1))
	shift
	while [ $SECONDS -lt $end ]; do
		"$@" && return 0
		sleep 0.1
	done
	"$@"
}
# the unit's state and journal, when a check on it failed
unit_status() {
	systemctl status --no-pager vfioscope 2>&1 | sed 's/^/    status| /' | head -n 20
	journalctl -u vfioscope --no-pager -o cat 2>&1 | sed 's/^/    journal| /' | tail -n 20
}
# what the package could leave (files, enablement, dpkg's and systemd's state, BPF pins), listed
# before the install and after the purge (where, not the whole root: it is the host's, over 9p)
leftovers() {
	find /etc/default /etc/systemd /lib/systemd/system /usr/sbin /usr/share/man/man8 \
		/usr/share/bash-completion/completions /usr/share/vfioscope /var/lib/dpkg/info \
		/var/lib/systemd /run/systemd /sys/fs/bpf -maxdepth 3 -iname '*vfioscope*' 2>/dev/null | sort
	ls -d /usr/share/doc/vfioscope /var/lib/private/vfioscope 2>/dev/null
	systemctl list-units --all --plain --no-legend 'vfioscope.*' 2>/dev/null | awk '{print "unit " $1}'
}

check "systemd is PID 1 ($(cat /proc/1/comm))" [ "$(cat /proc/1/comm)" = systemd ]
echo "systemd $(systemctl --version | head -n1 | awk '{print $2}'), kernel $(uname -r)"
leftovers >"$d/before"
# A host prepared for passthrough: vfio-pci loaded, edu bound to it (before the service starts,
# as at boot); QEMU comes after the service.
bdf=$(edu_bdf) && bind_vfio_pci "$bdf"
check "edu ($bdf) bound to vfio-pci" [ "$(basename "$(readlink /sys/bus/pci/devices/$bdf/driver)")" = vfio-pci ]
# The host root may be a Docker image's: its policy-rc.d forbids every service action in
# maintainer scripts (exit 101), so the package's prerm could not stop the service. A real host
# has none.
rm -f /usr/sbin/policy-rc.d
# man-db's trigger re-indexes every man page over 9p (minutes under TCG): not what is measured.
rm -f /var/lib/man-db/auto-update

part "setup (leftovers listed, edu bound)"
t0=$(now)
dpkg -i "$DEB" >"$d/dpkg.log" 2>&1
rc=$?
check "dpkg -i $(basename "$DEB") (exit $rc)" [ $rc = 0 ]
[ $rc = 0 ] || sed 's/^/    dpkg| /' "$d/dpkg.log"
check "installed, not started ($(systemctl is-active vfioscope 2>&1))" \
	[ "$(systemctl is-active vfioscope 2>&1)" = inactive ]
check "installed, not yet enabled ($(systemctl is-enabled vfioscope 2>&1))" \
	[ "$(systemctl is-enabled vfioscope 2>&1)" = disabled ]
t1=$(now)
systemctl enable --now vfioscope >"$d/enable.log" 2>&1
check "systemctl enable --now vfioscope" [ $? = 0 ]
wait_for 120 scrape_ok || unit_status
first=$(since "$t0")
first_enable=$(since "$t1")
check "the exporter answers on 127.0.0.1:9478" scrape_ok
echo "measure: dpkg -i -> first successful scrape: ${first}s; systemctl enable --now -> first scrape: ${first_enable}s (TCG guest)"
check "the unit is active ($(systemctl is-active vfioscope))" [ "$(systemctl is-active vfioscope)" = active ]
check "it is enabled ($(systemctl is-enabled vfioscope))" [ "$(systemctl is-enabled vfioscope)" = enabled ]
pv=$(dpkg-query -W -f='${Version}' vfioscope)
check "vfioscope_build_info carries the package's version ($pv)" \
	grep -q "^vfioscope_build_info{.*version=\"$pv\"" "$d/m"
check "vfioscope --version prints it" [ "$(vfioscope --version)" = "vfioscope $pv" ]
check "/healthz: ok (every source started)" [ "$(curl -s "$URL/healthz")" = ok ]
att=$(grep -c '^vfioscope_program_attached{.*} 1$' "$d/m")
check "its tracer is attached ($att programs attached)" [ "$att" -gt 0 ]
pid=$(systemctl show -p MainPID --value vfioscope)
st=/proc/$pid/status
user=$(awk '/^Uid:/ {print $2}' "$st")
check "it runs as the unit's dynamic user (uid $user), not root" [ "$user" -ne 0 ]
caps_ok=1
for t in /proc/$pid/task/*; do
	for c in CapEff CapPrm CapAmb; do
		v=$(awk -v c="$c:" '$1 == c {print $2}' "$t/status")
		[ "$v" = 0000000000000000 ] || { echo "    task $(basename "$t") $c=$v"; caps_ok=0; }
	done
done
check "after setup every thread holds no capability (docs/capabilities.md)" [ $caps_ok = 1 ]
check "NoNewPrivs is set" grep -q '^NoNewPrivs:[[:space:]]*1' "$st"
check "it listens on loopback only" bash -c "ss -Hltn | awk '{print \$4}' | grep ':9478\$' | grep -qvx '127.0.0.1:9478' && exit 1 || ss -Hltn | grep -q '127.0.0.1:9478'"
journalctl -u vfioscope --no-pager -o cat >"$d/journal" 2>&1
check "the journal shows its messages ($(grep -m1 'serving /metrics' "$d/journal" | cut -c1-70))" \
	grep -q 'vfioscope: serving /metrics' "$d/journal"
sed 's/^/    journal| /' "$d/journal" | head -n 8
check "the man page is installed (man -w vfioscope-serve)" man -w vfioscope-serve

part "install, enable, first scrape, checks"
# restart: a clean stop, a new process that answers. In a fleet run (FLEET=1, ports forwarded
# by systemd_service.host.sh) it applies what README's fleet section tells an operator: listen
# on the host's address with --allow-remote in /etc/default/vfioscope, and a drop-in widening
# IPAddressAllow= to the Prometheus server (the QEMU user network's host side, 10.0.2.2).
pid1=$(systemctl show -p MainPID --value vfioscope)
if [ "${FLEET:-0}" = 1 ]; then
	sed -i 's/^VFIOSCOPE_OPTS=.*/VFIOSCOPE_OPTS="--listen 10.0.2.15:9478 --allow-remote"/' /etc/default/vfioscope
	mkdir -p /etc/systemd/system/vfioscope.service.d
	printf '[Service]\n# the Prometheus server, and this host for the checks here\nIPAddressAllow=10.0.2.2 10.0.2.15\n' \
		>/etc/systemd/system/vfioscope.service.d/prometheus.conf
	systemctl daemon-reload
	URL=http://10.0.2.15:9478
fi
systemctl restart vfioscope
r=$?
wait_for 120 scrape_ok || unit_status
pid2=$(systemctl show -p MainPID --value vfioscope)
check "systemctl restart: a new process ($pid1 -> $pid2) that answers on $URL" \
	bash -c "[ $r = 0 ] && [ '$pid1' != '$pid2' ] && [ '$pid2' != 0 ] && curl -sf $URL/healthz >/dev/null"
journalctl -u vfioscope --no-pager -o cat >"$d/journal"
check "the restart stopped the previous process cleanly (journal: '$(grep -m1 -E 'Deactivated successfully|Failed with result' "$d/journal")')" \
	bash -c "grep -q 'Deactivated successfully' '$d/journal' && ! grep -qE 'Failed with result|status=[1-9]' '$d/journal'"
check "no automatic restart happened (NRestarts $(systemctl show -p NRestarts --value vfioscope))" \
	[ "$(systemctl show -p NRestarts --value vfioscope)" = 0 ]

part "restart"
# A VMM started after the service: QEMU with edu passed through (vfio-pci), paused (-S) but
# realized: its container, group, device and DMA mappings exist.
got=$(tests/package/complete -- 'vfioscope track --device ' | tr '\n' ' ')
check "bash completion offers the vfio-pci device: '$got'" [ "$got" = "$bdf " ]
qemu-system-x86_64 -accel tcg -m 128 -nodefaults -display none -serial none -monitor none -S \
	-device "vfio-pci,host=$bdf" >"$d/qemu.log" 2>&1 &
qpid=$!
seen() {
	curl -sf "$URL/metrics" -o "$d/q" &&
		grep -q "^vfio_device_info{.*$bdf" "$d/q" &&
		grep -qE '^vfio_dma_mappings\{[^}]*\} [1-9]' "$d/q"
}
wait_for 180 seen
check "the service sees QEMU's container: edu ($bdf) and its DMA mappings" seen
grep -E "^vfio_(device_info|dma_mappings|dma_mapped_bytes|container_info)" "$d/q" | sed 's/^/    /' | head -n 8

if [ "${FLEET:-0}" = 1 ]; then
	# The host's Prometheus scrapes this service among the fleet: a device migration while it
	# does (mig_drive on the second edu, bound to the DMA-logging variant driver, pausing after
	# each state change as a VMM does), with QEMU's container still there; then wait until the
	# host has checked the fleet (it connects to port 9479 when done).
	scraped() { curl -sf "$URL/metrics" | grep -qE '^vfioscope_scrapes_total\{format="openmetrics"\} ([3-9]|[1-9][0-9])'; }
	wait_for 300 scraped
	check "the host's Prometheus scrapes the service (through the forwarded port)" scraped
	mbdf=$(for x in /sys/bus/pci/devices/*; do
		[ "$(cat $x/vendor):$(cat $x/device)" = 0x1234:0x11e8 ] && [ "${x##*/}" != "$bdf" ] && echo "${x##*/}"
	done | head -n1)
	load_edu_vfio_pci && bind_driver "$mbdf" edu-vfio-pci
	"$BUILD/tests/vm/mig_drive" "$mbdf" --chunk 4096 --syncs 3 --pause-ms 300 >"$d/mig.json" 2>"$d/mig.err"
	check "mig_drive migrated edu $mbdf$(sed "s/^/: /" "$d/mig.err" | head -n1)" test -s "$d/mig.json"
	migrated() { curl -sf "$URL/metrics" | grep -qE "^vfio_device_migrations_total\{device=\"$mbdf\".*\} [1-9]"; }
	wait_for 60 migrated
	check "the service saw the device migration (vfio_device_migrations_total for $mbdf)" migrated
	curl -sf "$URL/metrics" | grep -E "^vfio_device_migration(s_total|_data_bytes)" | sed 's/^/    /' | head -n 6
	python3 - >"$d/host.txt" 2>&1 <<'PYW'
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.0.2.15", 9479))
s.listen(1)
s.settimeout(400)
c, _ = s.accept()
c.sendall(b"ok\n")  # the host retries until it reads this (QEMU's forward accepts first)
print(c.recv(100).decode().strip())
PYW
	check "the host checked the fleet ($(cat "$d/host.txt"))" grep -q 'fleet checked' "$d/host.txt"
	rm -r /etc/systemd/system/vfioscope.service.d # the operator's drop-in: not the package's
	systemctl daemon-reload
fi
kill "$qpid" 2>/dev/null
wait "$qpid" 2>/dev/null

part "QEMU seen (and the fleet)"
# purge of the running service: its prerm stops it (`systemctl stop` through deb-systemd-invoke),
# which must be as clean as the restart's stop; then nothing of the package stays. (One service
# start fewer than an explicit stop, start and restart: each start loads the BPF programs.)
dpkg -P vfioscope >"$d/purge.log" 2>&1
check "dpkg -P vfioscope" [ $? = 0 ]
check "no vfioscope process is left" bash -c "! pgrep -x vfioscope"
check "nothing answers after the purge" bash -c "! curl -s --max-time 2 $URL/healthz"
journalctl -u vfioscope --no-pager -o cat >"$d/journal"
n=$(grep -c 'Deactivated successfully' "$d/journal")
check "systemctl stop (the purge's) was clean too: $n clean stops in the journal, no failure" \
	bash -c "[ $n = 2 ] && ! grep -qE 'Failed with result|status=[1-9]' '$d/journal'"
check "no error in its journal" bash -c "! grep -i 'error' '$d/journal'"
grep -iE 'error|Failed with|status=' "$d/journal" | sed 's/^/    journal| /' | head
systemctl daemon-reload
leftovers >"$d/after"
check "purging left nothing behind (files, units, pins)" diff "$d/before" "$d/after"
part "purge, leftovers"
checks_done
