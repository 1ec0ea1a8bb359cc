# Live migration of nested QEMU inside the test guest, source -> destination over a unix
# socket, with edu on the edu-vfio-pci variant driver passed through on both ends and the L2
# guest (tests/vm/l2) making edu DMA. Source this file from a guest scenario whose header asks
# for two edu devices (`# vm-edus: 2`): the source QEMU takes the first, the destination the
# second. It sources tests/vm/guest-lib.sh (check, checks_done, BUILD, ...).
#
# Interface (kept stable: other scenarios build on it):
#   mig_setup [PARAM=VALUE...]  load edu-vfio-pci with these module parameters (e.g.
#                               state_size=16777216 seed=7), bind both edu devices to it and
#                               create MIG_DIR. Sets MIG_SRC_BDF, MIG_DST_BDF, MIG_DIR.
#   mig_run                     start the destination (-incoming), start the source running the
#                               L2 image, wait for MIG_DMAS DMAs in L2, migrate with QMP, wait
#                               until both ends report completed and L2 DMAs on the destination,
#                               quit both QEMUs, then save the driver's counters. Returns 0 when
#                               the migration completed on both ends. Sets MIG_SRC_RC/MIG_DST_RC.
#   mig_start_dst, mig_start_src, mig_wait_l2 FILE N [TIMEOUT_S], mig_migrate, mig_quit, mig_save_counters:
#                               the steps of mig_run, for scenarios that put something between
#                               them (e.g. vfioscope attached to the source's pid MIG_SRC_PID).
#   mig_hook_running            if the scenario defines this function, mig_run calls it once L2
#                               makes DMA on the source, right before migrating (both QEMUs up).
#   mig_driver_file BDF         the driver's migration counters file in debugfs.
#   mig_events                  QEMU's trace events the harness enables, one per line.
# Knobs (environment, read by mig_setup/mig_run):
#   MIG_DIR (mktemp -d /tmp/mig.XXXXXX)  MIG_BACKEND=container|iommufd (container)
#   MIG_L2_MEM=256 (MiB)  MIG_L2_PAGES=64 (L2's DMA target pages)  MIG_DMAS=8 (DMAs seen in L2
#   before migrating)  MIG_PARAMS (JSON migration parameters, see nested_qmp.py)
#   MIG_CAPS="return-path switchover-ack" (migration capabilities set on both ends)
# Outputs in MIG_DIR (src = source, dst = destination):
#   {src,dst}-trace.log   QEMU's trace (`pid@sec.usec:event args`, wall clock) of mig_events
#   {src,dst}.out         QEMU's stderr (error reports with -msg timestamp=on)
#   {src,dst}-l2.log      L2's serial console ("l2-edu-dma: dma N ok N bad N")
#   {src,dst}-qmp.log     nested_qmp.py's JSON lines (query-migrate progress and results)
#   {src,dst}-driver.txt  the driver's counters for that end's device after QEMU quit (format
#                         in tests/kmod/README.md); "none" where the driver has no such file
#   mig.sock              the migration socket; {src,dst}.sock the QMP sockets
# shellcheck shell=bash

. "$(dirname "${BASH_SOURCE[0]}")/guest-lib.sh"

MIG_QMP=$VFIOSCOPE_ROOT/tests/vm/scenarios/nested_qmp.py
MIG_L2_IMAGE=$BUILD/tests/vm/l2/edu-dma.elf

# Every edu device (1234:11e8), one BDF per line, in bus order.
mig_edu_bdfs() {
	local d
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat "$d/vendor")" = 0x1234 ] && [ "$(cat "$d/device")" = 0x11e8 ] && basename "$d"
	done
}

mig_driver_file() {
	echo "/sys/kernel/debug/edu-vfio-pci/$1/migration"
}

mig_events() {
	cat <<'EOT'
vfio_migration_realize
vfio_migration_set_state
vfio_vmstate_change
vfio_device_dirty_tracking_start
vfio_get_dirty_bitmap
vfio_save_setup
vfio_save_iterate
vfio_save_block
vfio_save_block_precopy_empty_hit
vfio_state_pending_estimate
vfio_state_pending_exact
vfio_save_complete_precopy_start
vfio_save_complete_precopy
vfio_save_cleanup
vfio_load_state
vfio_load_state_device_data
vfio_load_cleanup
EOT
}

mig_setup() {
	local bdfs=()
	[ -f "$MIG_L2_IMAGE" ] || { echo "migrate-lib: $MIG_L2_IMAGE not built (make all)" >&2; return 1; }
	# no process substitution: the guest has no /dev/fd
	# shellcheck disable=SC2207
	bdfs=($(mig_edu_bdfs))
	if [ ${#bdfs[@]} -lt 2 ]; then
		echo "migrate-lib: ${#bdfs[@]} edu device(s) in this guest, a migration needs two (scenario header '# vm-edus: 2')" >&2
		return 1
	fi
	MIG_SRC_BDF=${bdfs[0]}
	MIG_DST_BDF=${bdfs[1]}
	load_edu_vfio_pci "$@" || return 1
	bind_driver "$MIG_SRC_BDF" edu-vfio-pci || return 1
	bind_driver "$MIG_DST_BDF" edu-vfio-pci || return 1
	MIG_DIR=${MIG_DIR:-$(mktemp -d /tmp/mig.XXXXXX)}
	mkdir -p "$MIG_DIR"
	mig_events >"$MIG_DIR/events"
	MIG_BACKEND=${MIG_BACKEND:-container}
	echo "migrate-lib: source edu $MIG_SRC_BDF, destination edu $MIG_DST_BDF, backend $MIG_BACKEND, work in $MIG_DIR"
}

# QEMU for one end: name (src|dst), BDF, extra args...
mig_qemu() {
	local name=$1 bdf=$2 dev caps="" c
	shift 2
	dev="vfio-pci,host=$bdf,id=edu0,addr=05.0"
	local back=()
	if [ "$MIG_BACKEND" = iommufd ]; then
		back=(-object iommufd,id=iommufd0)
		dev="$dev,iommufd=iommufd0"
	fi
	for c in ${MIG_CAPS-return-path switchover-ack}; do
		caps="$caps -global migration.x-$c=on"
	done
	# shellcheck disable=SC2086
	qemu-system-x86_64 -accel tcg -m "${MIG_L2_MEM:-256}" -nodefaults -display none \
		-monitor none -msg timestamp=on -serial "file:$MIG_DIR/$name-l2.log" \
		"${back[@]}" -device "$dev" $caps \
		-kernel "$MIG_L2_IMAGE" -append "pages=${MIG_L2_PAGES:-64}" \
		-qmp "unix:$MIG_DIR/$name.sock,server=on,wait=off" \
		-trace "events=$MIG_DIR/events" -D "$MIG_DIR/$name-trace.log" \
		"$@" >"$MIG_DIR/$name.out" 2>&1
}

mig_start_dst() {
	rm -f "$MIG_DIR/mig.sock"
	mig_qemu dst "$MIG_DST_BDF" -incoming "unix:$MIG_DIR/mig.sock" &
	MIG_DST_PID=$!
}

mig_start_src() {
	mig_qemu src "$MIG_SRC_BDF" &
	MIG_SRC_PID=$!
}

# Wait until L2's console FILE reports DMA number N or later (up to TIMEOUT seconds, default
# NESTED_TIMEOUT or 900).
mig_wait_l2() {
	local file=$1 n=$2 i
	for i in $(seq "$((${3:-${NESTED_TIMEOUT:-900}} * 2))"); do
		if awk -v n="$n" '/^l2-edu-dma: dma [0-9]+ ok/ && $3 >= n {f = 1} END {exit !f}' \
			"$file" 2>/dev/null; then
			return 0
		fi
		grep -q 'no edu device\|never completed' "$file" 2>/dev/null && break
		sleep 0.5
	done
	echo "migrate-lib: L2 did not reach DMA $n ($file):" >&2
	tail -n 5 "$file" >&2
	return 1
}

# Source -> destination; QMP's JSON lines go to {src,dst}-qmp.log.
mig_migrate() {
	local dpid
	python3 "$MIG_QMP" "$MIG_DIR/dst.sock" incoming --cont >"$MIG_DIR/dst-qmp.log" 2>&1 &
	dpid=$!
	NESTED_MIG_PARAMS=${MIG_PARAMS:-} python3 "$MIG_QMP" "$MIG_DIR/src.sock" migrate \
		"unix:$MIG_DIR/mig.sock" >"$MIG_DIR/src-qmp.log" 2>&1
	MIG_SRC_RC=$?
	wait "$dpid"
	MIG_DST_RC=$?
}

mig_quit() {
	python3 "$MIG_QMP" "$MIG_DIR/src.sock" quit >/dev/null 2>&1
	python3 "$MIG_QMP" "$MIG_DIR/dst.sock" quit >/dev/null 2>&1
	wait "$MIG_SRC_PID" "$MIG_DST_PID" 2>/dev/null
}

mig_save_counters() {
	local f
	f=$(mig_driver_file "$MIG_SRC_BDF")
	if [ -r "$f" ]; then cat "$f" >"$MIG_DIR/src-driver.txt"; else echo none >"$MIG_DIR/src-driver.txt"; fi
	f=$(mig_driver_file "$MIG_DST_BDF")
	if [ -r "$f" ]; then cat "$f" >"$MIG_DIR/dst-driver.txt"; else echo none >"$MIG_DIR/dst-driver.txt"; fi
}

mig_run() {
	local t0 n
	t0=$(date +%s)
	mig_start_dst
	mig_start_src
	echo "migrate-lib: waiting for L2 to make ${MIG_DMAS:-8} DMAs on the source"
	if ! mig_wait_l2 "$MIG_DIR/src-l2.log" "${MIG_DMAS:-8}"; then
		MIG_SRC_RC=1 MIG_DST_RC=1
		mig_quit
		mig_save_counters
		return 1
	fi
	echo "migrate-lib: L2 runs ($(($(date +%s) - t0))s), migrating"
	if declare -F mig_hook_running >/dev/null; then mig_hook_running; fi
	mig_migrate
	echo "migrate-lib: migration done ($(($(date +%s) - t0))s): source rc $MIG_SRC_RC, destination rc $MIG_DST_RC"
	if [ "$MIG_SRC_RC" = 0 ] && [ "$MIG_DST_RC" = 0 ]; then
		# L2 goes on on the destination: its console there starts empty (serial output is
		# not migrated), so any progress line is a DMA made through the destination's edu.
		n=$(awk '/^l2-edu-dma: dma [0-9]+ ok/ {n = $3} END {print n + 16 - n % 16}' "$MIG_DIR/src-l2.log")
		mig_wait_l2 "$MIG_DIR/dst-l2.log" "$n" 120 || true
	fi
	mig_quit
	mig_save_counters
	[ "$MIG_SRC_RC" = 0 ] && [ "$MIG_DST_RC" = 0 ]
}
