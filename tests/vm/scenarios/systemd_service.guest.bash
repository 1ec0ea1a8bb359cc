# Inside the systemd guest of systemd_service.host.sh (PID 1 is systemd): install, run, watch,
# restart, purge the package. Prints one "ok:"/"FAIL:" line per check and a count.
set -u
. tests/vm/guest-lib.sh
URL=http://127.0.0.1:9478
d=$(mktemp -d /tmp/systemd-svc.XXXXXX)
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.2f", b - a}'; }
scrape_ok() { curl -sf --max-time 2 "$URL/metrics" -o "$d/m" && grep -q '^vfioscope_build_info' "$d/m"; }
wait_for() { # tenths of a second, command...
	local n=$1
	shift
	for _ in $(seq "$n"); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
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
wait_for 1200 scrape_ok
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
wait_for 1800 seen
check "the service sees QEMU's container: edu ($bdf) and its DMA mappings" seen
grep -E "^vfio_(device_info|dma_mappings|dma_mapped_bytes|container_info)" "$d/q" | sed 's/^/    /' | head -n 8
kill "$qpid" 2>/dev/null
wait "$qpid" 2>/dev/null

# stop and restart: clean exits, a new process that answers again
systemctl stop vfioscope
check "systemctl stop: inactive, result success ($(systemctl show -p Result --value vfioscope), exit $(systemctl show -p ExecMainStatus --value vfioscope))" \
	bash -c '[ "$(systemctl is-active vfioscope)" = inactive ] && [ "$(systemctl show -p Result --value vfioscope)" = success ] && [ "$(systemctl show -p ExecMainStatus --value vfioscope)" = 0 ]'
check "nothing answers after stop" bash -c "! curl -s --max-time 2 $URL/healthz"
systemctl start vfioscope && wait_for 1200 scrape_ok
pid1=$(systemctl show -p MainPID --value vfioscope)
systemctl restart vfioscope
r=$?
wait_for 1200 scrape_ok
pid2=$(systemctl show -p MainPID --value vfioscope)
check "systemctl restart: a new process ($pid1 -> $pid2) that answers" \
	bash -c "[ $r = 0 ] && [ '$pid1' != '$pid2' ] && [ '$pid2' != 0 ] && curl -sf $URL/healthz >/dev/null"
check "the restart left the previous run's result clean (NRestarts $(systemctl show -p NRestarts --value vfioscope))" \
	[ "$(systemctl show -p NRestarts --value vfioscope)" = 0 ]
journalctl -u vfioscope --no-pager -o cat >"$d/journal"
check "no error in its journal" bash -c "! grep -i 'error' '$d/journal'"
grep -i error "$d/journal" | sed 's/^/    journal| /' | head

# purge: the service stops, and nothing of the package stays
dpkg -P vfioscope >"$d/purge.log" 2>&1
check "dpkg -P vfioscope" [ $? = 0 ]
check "no vfioscope process is left" bash -c "! pgrep -x vfioscope"
systemctl daemon-reload
leftovers >"$d/after"
check "purging left nothing behind (files, units, pins)" diff "$d/before" "$d/after"
checks_done
