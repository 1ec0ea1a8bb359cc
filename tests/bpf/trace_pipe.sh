# `vfioscope trace` into a pipe, on the host (a regular file named vfio/vfio stands in for a
# container through the tracer's test hook; the host has no VFIO): every call of a burst
# arrives as one line, none lost; lines reach the pipe while trace still runs (the 1 MiB
# output buffer is flushed after each poll), and trace asked the pipe to hold 1 MiB.
set -u
. tests/vm/guest-lib.sh
dir=$(mktemp -d /dev/shm/vfs-pipe.XXXXXX)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/vfio"
: >"$dir/vfio/vfio"
calls=50000

# The reader of the pipe: waits for trace's first line, reports the pipe's size then, lets the
# burst go (the file "go"), and counts lines until trace closes its end.
cat >"$dir/reader.py" <<'EOF'
import fcntl, os, sys
F_GETPIPE_SZ = 1032
d = sys.argv[1]
f = sys.stdin.buffer
first = f.readline()
with open(f"{d}/pipe_size", "w") as o:
    o.write(str(fcntl.fcntl(0, F_GETPIPE_SZ)))
open(f"{d}/first", "wb").write(first)
n = 1 + sum(1 for _ in f)
open(f"{d}/lines", "w").write(str(n))
EOF
cat >"$dir/calls.py" <<'EOF'
import fcntl, os, sys, time
VFIO_GET_API_VERSION = 0x3b64  # _IO(';', 100)
d, n = sys.argv[1], int(sys.argv[2])
fd = os.open(f"{d}/vfio/vfio", os.O_RDWR)
def call():  # a regular file answers ENOTTY: the call is traced all the same
    try:
        fcntl.ioctl(fd, VFIO_GET_API_VERSION)
    except OSError:
        pass
call()  # the first line, before the burst
for _ in range(6000):  # until the reader saw it (bounded: 60 s)
    if os.path.exists(f"{d}/first"):
        break
    time.sleep(0.01)
for _ in range(n - 1):
    call()
os.close(fd)
EOF

mkfifo "$dir/out"
"$BUILD/vfioscope" trace --no-pin --test-hook >"$dir/out" 2>"$dir/err" &
tpid=$!
python3 "$dir/reader.py" "$dir" <"$dir/out" &
rpid=$!
for _ in $(seq 600); do grep -q "tracing with" "$dir/err" 2>/dev/null && break; sleep 0.1; done
check "trace started" grep -q "tracing with" "$dir/err"
python3 "$dir/calls.py" "$dir" "$calls"
check "the first line reached the pipe while trace ran (flushed after a poll)" test -s "$dir/first"
check "trace asked the pipe to hold 1 MiB ($(cat "$dir/pipe_size" 2>/dev/null) bytes)" \
	test "$(cat "$dir/pipe_size" 2>/dev/null)" = 1048576
# stopped, trace drains what is left in its ring and says how many calls it traced
kill -INT "$tpid"
wait "$tpid" "$rpid"
cat "$dir/err"
summary=$(grep "calls traced" "$dir/err")
check "trace traced every call: $summary" grep -q "^vfioscope: $calls calls traced, $calls printed, 0 lost" <<<"$summary"
check "the pipe's reader got one line per call ($(cat "$dir/lines" 2>/dev/null))" \
	test "$(cat "$dir/lines" 2>/dev/null)" = "$calls"
check "a line names the call" grep -q "VFIO_GET_API_VERSION" "$dir/first"
checks_done
