# Live migration of nested QEMU with a device worth migrating: inside the guest, a source QEMU
# runs the L2 image (tests/vm/l2) that makes edu DMA, with edu on edu-vfio-pci (PRE_COPY where
# the kernel has it, 4 MiB of device memory) passed through; it migrates over a unix socket to
# a destination QEMU holding the second edu (tests/vm/migrate-lib.sh). QEMU's own trace events
# are checked against the driver's counters (migration_check.py). Then the destination must
# refuse a corrupted state and a state of another seed. On the project's iommufd kernel the
# live migration runs again through QEMU's iommufd backend.
# Debian 6.12 is left out: its kernel has no iova_bitmap (CONFIG_IOMMUFD_DRIVER=n), so every
# DMA_LOGGING_REPORT fails in the core and QEMU cannot migrate with device dirty tracking
# (nested_qemu.sh checks that failure there).
# vm-edus: 2
# vm-timeout: 2400
# vm-mem: 2048
# vm-kernels: 6.1 6.12-iommufd
set -u
. tests/vm/migrate-lib.sh
here=tests/vm/scenarios
size=4194304
mig_setup state_size=$size seed=7 dirty_per_dma=4 || exit 1
echo "kernel $(uname -r), $(qemu-system-x86_64 --version | head -n1)"
# Hold the migration stream to 2 MiB/s so precopy lasts while L2 DMAs.
export MIG_PARAMS=${MIG_PARAMS:-'{"max-bandwidth": 2097152}'}
t0=$(date +%s)
el() { echo "$(($(date +%s) - t0))s"; }

show() { # what one run left in MIG_DIR
	echo "-- QEMU (source):"
	sed 's/^/   /' "$MIG_DIR/src-qmp.log"
	grep -v 'no available reset mechanism' "$MIG_DIR/src.out" | sed 's/^/   /'
	echo "-- QEMU (destination):"
	sed 's/^/   /' "$MIG_DIR/dst-qmp.log"
	grep -v 'no available reset mechanism' "$MIG_DIR/dst.out" | sed 's/^/   /'
	echo "-- L2 console, source then destination:"
	tail -n 3 "$MIG_DIR/src-l2.log" | sed 's/^/   /'
	tail -n 3 "$MIG_DIR/dst-l2.log" | sed 's/^/   /'
	echo "-- QEMU trace (source), without dirty bitmaps and pending estimates:"
	sed 's/^[0-9]*@[0-9.]*://' "$MIG_DIR/src-trace.log" |
		grep -v -E 'vfio_get_dirty_bitmap|vfio_state_pending_estimate' | sed 's/^/   /'
	echo "-- driver (source, counters):"
	grep -v '^event' "$MIG_DIR/src-driver.txt" | sed 's/^/   /'
	echo "-- driver (destination):"
	sed 's/^/   /' "$MIG_DIR/dst-driver.txt"
}

l2_checks() {
	check "L2 made DMA on the source and every page checked (no bad page)" awk '
		/^l2-edu-dma: dma [0-9]+ ok/ {ok = $5; bad = $7} END {exit !(ok > 0 && bad == 0)}' \
		"$MIG_DIR/src-l2.log"
	# edu's own buffer is not migratable: at most the one transfer in flight at the switch
	check "L2 went on making DMA through the destination's edu (at most one bad page)" awk '
		/^l2-edu-dma: dma [0-9]+ ok/ {n++; bad = $7} END {exit !(n > 0 && bad <= 1)}' \
		"$MIG_DIR/dst-l2.log"
}

echo "== live migration, $(el)"
mig_run
rc=$?
show
check "live migration completed on both ends" test $rc = 0
l2_checks
python3 $here/migration_check.py "$MIG_DIR" $size
check "QEMU's trace agrees with the driver (migration_check.py)" test $? = 0

# -- The destination refuses a state it cannot trust. A paused source saves to a file; the
# file is damaged; a destination loading it must fail, and the driver must say why.
echo "== refusals, $(el)"
rd=$MIG_DIR/refuse
mkdir -p "$rd"
src_dir=$MIG_DIR
MIG_DIR=$rd
mig_events >"$rd/events"
MIG_CAPS="" mig_qemu src "$MIG_SRC_BDF" -S &
MIG_SRC_PID=$!
python3 "$MIG_QMP" "$rd/src.sock" migrate "file:$rd/state.mig" >"$rd/src-qmp.log" 2>&1
save_rc=$?
python3 "$MIG_QMP" "$rd/src.sock" quit >/dev/null 2>&1
wait $MIG_SRC_PID
check "a paused source saved its state to a file" test $save_rc = 0

# load FILE NAME: a destination QEMU loads FILE (then quits, if it did not exit on a failure)
load() {
	local pid qrc
	MIG_CAPS="" mig_qemu "$2" "$MIG_DST_BDF" -incoming "file:$1" &
	pid=$!
	# A refused state makes QEMU exit by itself; an accepted one leaves it running: quit it.
	for _ in $(seq 60); do
		kill -0 $pid 2>/dev/null || break
		if NESTED_TIMEOUT=10 python3 "$MIG_QMP" "$rd/$2.sock" incoming --cont >$rd/$2.qmp 2>&1; then
			NESTED_TIMEOUT=10 python3 "$MIG_QMP" "$rd/$2.sock" quit >/dev/null 2>&1
			break
		fi
		sleep 1
	done
	wait $pid
	qrc=$?
	echo "   destination QEMU exited with $qrc: $(grep -v 'no available reset' "$rd/$2.out" | tail -n 2 | tr '\n' ' ')"
	cat "$(mig_driver_file "$MIG_DST_BDF")" >"$rd/$2-driver.txt"
	grep -E '^resume_(errors|result)' "$rd/$2-driver.txt" | sed 's/^/   driver: /'
}
# flip byte 100 of the first device page (the first PAGE record: magic "mude", type 2)
python3 - "$rd/state.mig" "$rd/corrupt.mig" <<'EOT'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
i = b.find(b"mude\x02\x00")
assert i > 0, "no page record in the saved state"
b[i + 24 + 100] ^= 0xff
open(sys.argv[2], "wb").write(b)
EOT
load "$rd/corrupt.mig" corrupt
check "a corrupted page: the destination QEMU fails to load" grep -qiE 'error|fail' "$rd/corrupt.out"
check "a corrupted page: the driver refused it and says where" grep -qE \
	'^resume_result page 0 version [0-9]+: byte 100 is 0x[0-9a-f]{2}, not 0x[0-9a-f]{2}$' \
	"$rd/corrupt-driver.txt"
check "a corrupted page: counted once" grep -qx 'resume_errors 1' "$rd/corrupt-driver.txt"
echo 8 >/sys/module/edu_vfio_pci/parameters/seed
load "$rd/state.mig" seed
echo 7 >/sys/module/edu_vfio_pci/parameters/seed
check "another seed: the destination QEMU fails to load" grep -qiE 'error|fail' "$rd/seed.out"
check "another seed: the driver refused the state as not this device's" grep -qE \
	"^resume_result source state \(version 2, seed 7, $size bytes\) is not this device's \(version 2, seed 8, $size bytes\)$" \
	"$rd/seed-driver.txt"
load "$rd/state.mig" intact
check "the same file intact: the driver verified it" grep -qE \
	"^resume_result ok: $((size / 4096)) pages \($size bytes\) at their last version" \
	"$rd/intact-driver.txt"
MIG_DIR=$src_dir

# -- The same live migration through QEMU's iommufd backend (VFIO cdev + /dev/iommu).
if [ -e /dev/iommu ] && [ -d /sys/class/vfio-dev ]; then
	echo "== live migration through iommufd, $(el)"
	MIG_DIR=$src_dir/iommufd MIG_BACKEND=iommufd
	mkdir -p "$MIG_DIR"
	mig_events >"$MIG_DIR/events"
	mig_hook_running() { # both QEMUs hold /dev/iommu and a VFIO cdev, not a group
		local p
		for p in /proc/[0-9]*; do
			[ "$(cat $p/comm 2>/dev/null)" = qemu-system-x86 ] && ls -l $p/fd 2>/dev/null
		done >"$MIG_DIR/qemu-fds.txt"
	}
	mig_run
	rc=$?
	show
	check "iommufd backend: live migration completed on both ends" test $rc = 0
	check "iommufd backend: both QEMUs opened /dev/iommu and a VFIO cdev" test \
		"$(grep -c ' /dev/iommu$' "$MIG_DIR/qemu-fds.txt")-$(grep -c ' /dev/vfio/devices/vfio' "$MIG_DIR/qemu-fds.txt")" = 2-2
	check "iommufd backend: no VFIO container or group was opened" bash -c \
		"! grep -qE ' /dev/vfio/([0-9]+|vfio)$' '$MIG_DIR/qemu-fds.txt'"
	l2_checks
	python3 $here/migration_check.py "$MIG_DIR" $size
	check "iommufd backend: QEMU's trace agrees with the driver" test $? = 0
else
	echo "-- no iommufd backend here (/dev/iommu or VFIO cdev missing): the iommufd run is skipped"
fi

bad=$(dmesg | grep -E 'WARNING|BUG|Call Trace' || true)
[ -z "$bad" ] || echo "$bad"
check "no kernel warning during the run" test -z "$bad"
echo "total $(el)"
checks_done
