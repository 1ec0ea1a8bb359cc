# The guest half of serve_migration.host.sh (run there by vm-run, not by run-all): `vfioscope
# serve` on the guest's network address (forwarded to the host), then a real nested QEMU live
# migration (tests/vm/migrate-lib.sh: edu in PRE_COPY where the kernel has it, the L2 image
# making DMA, source and destination in this guest). While it runs, /migrations is polled to
# show the timeline moves; after it, serve's metrics and timeline are checked against the
# driver's counters and QEMU's trace (serve_migration_check.py). Then the guest says
# "serve_migration: page ready" and keeps serve up until the host connects to port 9479 (it
# has loaded the landing page by then), or 600 s pass. It runs migrate-lib's steps itself:
# no wait for L2's DMA on the destination (migrations_qemu proves that), and the QEMUs killed
# if they do not quit within 60 s, so a slow guest stays within the scenario's time.
# env: MIG_BACKEND (container or iommufd)
set -u
. tests/vm/migrate-lib.sh
here=tests/vm/scenarios
VS=$BUILD/vfioscope
size=4194304
ADDR=10.0.2.15
mig_setup state_size=$size seed=7 dirty_per_dma=4 || exit 1
echo "kernel $(uname -r), $(qemu-system-x86_64 --version | head -n1), backend $MIG_BACKEND"
export MIG_PARAMS=${MIG_PARAMS:-'{"max-bandwidth": 2097152}'}
t0=$(date +%s)

# serve as an operator runs it, reachable from the host. The syscall way in (--tracer-mode
# tp_btf), because this checks the timeline's bytes growing live within a phase: with the
# default file handlers (fentry/kprobe) serve drops its capabilities after setup and cannot
# attach the data-fd hooks, so it counts a phase's bytes from the data fd's position when the
# phase ends (docs/tracer.md, "Calls no hook saw"); migrations_qemu checks that default way.
"$VS" serve --listen $ADDR:9478 --allow-remote --tracer-mode tp_btf --duration 1200 \
	>"$MIG_DIR/serve.out" 2>"$MIG_DIR/serve.err" &
spid=$!
up=0
for _ in $(seq 600); do
	[ "$(curl -s --max-time 2 http://$ADDR:9478/healthz)" = ok ] && up=1 && break
	kill -0 $spid 2>/dev/null || break
	sleep 0.2
done
check "serve answers on $ADDR:9478" test $up = 1
grep 'tracing with' "$MIG_DIR/serve.err"
if [ $up != 1 ]; then
	cat "$MIG_DIR/serve.err"
	checks_done
	exit 1
fi

# /migrations while the migration runs, as fast as one process can ask (every 0.2 s at most)
mkdir -p "$MIG_DIR/live"
python3 -c 'import sys, time, urllib.request
i = 0
while True:
    try:
        body = urllib.request.urlopen(sys.argv[1], timeout=5).read()
    except OSError:
        body = b""
    open("%s/%05d.json" % (sys.argv[2], i), "wb").write(body)
    i += 1
    time.sleep(0.2)' http://$ADDR:9478/migrations "$MIG_DIR/live" &
ppid=$!
el() { echo "$(($(date +%s) - t0))s"; }
mig_start_dst
mig_start_src
echo "serve_migration: waiting for L2 to make ${MIG_DMAS:-8} DMAs on the source ($(el))"
rc=1
if mig_wait_l2 "$MIG_DIR/src-l2.log" "${MIG_DMAS:-8}"; then
	echo "serve_migration: L2 runs, migrating ($(el))"
	mig_migrate
	echo "serve_migration: migration done, source rc $MIG_SRC_RC, destination rc $MIG_DST_RC ($(el))"
	[ "$MIG_SRC_RC" = 0 ] && [ "$MIG_DST_RC" = 0 ] && rc=0
fi
python3 "$MIG_QMP" "$MIG_DIR/src.sock" quit >/dev/null 2>&1
python3 "$MIG_QMP" "$MIG_DIR/dst.sock" quit >/dev/null 2>&1
for _ in $(seq 120); do
	kill -0 "$MIG_SRC_PID" 2>/dev/null || kill -0 "$MIG_DST_PID" 2>/dev/null || break
	sleep 0.5
done
kill -9 "$MIG_SRC_PID" "$MIG_DST_PID" 2>/dev/null
wait "$MIG_SRC_PID" "$MIG_DST_PID" 2>/dev/null
mig_save_counters
echo "serve_migration: both QEMUs ended ($(el))"
kill $ppid
wait $ppid 2>/dev/null
check "live migration completed on both ends ($MIG_BACKEND backend, $(($(date +%s) - t0))s)" test $rc = 0
sleep 1 # serve's next poll (every 100 ms) has the last records
curl -s http://$ADDR:9478/metrics >"$MIG_DIR/metrics.txt"
curl -s http://$ADDR:9478/migrations >"$MIG_DIR/timeline.json"
echo "-- driver (source):"
grep -v '^event' "$MIG_DIR/src-driver.txt" | sed 's/^/   /'
echo "-- driver (destination):"
grep -v '^event' "$MIG_DIR/dst-driver.txt" | sed 's/^/   /'
echo "-- serve's migration metrics:"
grep '^vfio_device_migration' "$MIG_DIR/metrics.txt" | sed 's/^/   /'
python3 $here/serve_migration_check.py "$MIG_DIR" "$MIG_SRC_BDF" "$MIG_DST_BDF"
check "serve's metrics and timeline agree with QEMU's trace and the driver (serve_migration_check.py)" \
	test $? = 0

echo "serve_migration: page ready (source $MIG_SRC_BDF, destination $MIG_DST_BDF)"
python3 -c 'import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 9479))
s.listen(1)
s.settimeout(600)
s.accept()' $ADDR
check "the host said it was done with the page" test $? = 0
kill $spid
wait $spid
check "serve stopped cleanly on SIGTERM" test $? = 0
bad=$(dmesg | grep -E 'WARNING|BUG|Call Trace' || true)
[ -z "$bad" ] || echo "$bad"
check "no kernel warning during the run" test -z "$bad"
checks_done
