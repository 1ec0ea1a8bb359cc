#!/usr/bin/env python3
"""A minimal QMP client for the nested-QEMU scenario (no third-party modules).

usage: nested_qmp.py SOCKET status                 wait until QEMU answers (machine set up)
       nested_qmp.py SOCKET migrate URI [--cont] [--cont-after]
                                                   migrate out, wait for the end state
       nested_qmp.py SOCKET incoming [--cont]      wait until an incoming migration finished
       nested_qmp.py SOCKET quit
Prints one JSON line per step and exits non-zero when the migration failed or timed out.
env: NESTED_TIMEOUT seconds per step; NESTED_RUN_S seconds L2 runs after --cont;
     NESTED_MIG_PARAMS a JSON object merged into the migration parameters.
"""
import json
import os
import socket
import sys
import time

TIMEOUT = float(os.environ.get("NESTED_TIMEOUT", "900"))


class Qmp:
    def __init__(self, path):
        deadline = time.time() + TIMEOUT
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX)
                self.sock.connect(path)
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.5)
        # A QEMU that stalls or dies must fail this step, not hang it until the scenario's
        # own timeout: every read waits at most TIMEOUT.
        self.sock.settimeout(TIMEOUT)
        self.f = self.sock.makefile("rw")
        self.recv()  # greeting
        self.cmd("qmp_capabilities")

    def recv(self):
        line = self.f.readline()
        if not line:
            raise EOFError("QMP connection closed")
        return json.loads(line)

    def cmd(self, name, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.f.write(json.dumps(msg) + "\n")
        self.f.flush()
        while True:
            r = self.recv()
            if "event" in r:
                continue
            if "error" in r:
                raise RuntimeError(f"{name}: {r['error']}")
            return r["return"]


def wait_migration(q, done):
    deadline = time.time() + TIMEOUT
    last = None
    next_progress = time.time() + 60
    while time.time() < deadline:
        m = q.cmd("query-migrate")
        st = m.get("status", "none")
        if st != last or time.time() >= next_progress:
            ram = m.get("ram", {})
            print(json.dumps({"step": "query-migrate", "status": st,
                              "error": m.get("error-desc"),
                              "transferred": ram.get("transferred"),
                              "remaining": ram.get("remaining"),
                              "dirty-sync-count": ram.get("dirty-sync-count"),
                              "elapsed-ms": m.get("total-time")}), flush=True)
            last = st
            next_progress = time.time() + 60
        if st in done:
            return st, m
        if st in ("failed", "cancelled"):
            return st, m
        time.sleep(1)
    return "timeout", {}


def main():
    sock, action = sys.argv[1], sys.argv[2]
    q = Qmp(sock)
    if action == "migrate":
        if "--cont" in sys.argv:
            q.cmd("cont")
            # Let the L2 firmware run for a moment, so the device sees a RUNNING->STOP arc.
            time.sleep(float(os.environ.get("NESTED_RUN_S", "5")))
        print(json.dumps({"step": "status-before", "status": q.cmd("query-status")["status"]}),
              flush=True)
        # Without MIG_DATA_SIZE (Linux 6.1) QEMU assumes the device holds 100 GiB of
        # stop-copy data; against the measured bandwidth of a paused guest (a few KB/s) no
        # downtime limit is ever met and precopy iterates forever. Declare the switchover
        # bandwidth (QEMU >= 8.2) so the threshold is computed from it instead.
        params = {"downtime-limit": 2000000, "max-bandwidth": 1 << 40,
                  "avail-switchover-bandwidth": 1 << 40}
        # A caller may set other migration parameters (JSON object), e.g. migrate-lib.sh
        params.update(json.loads(os.environ.get("NESTED_MIG_PARAMS") or "{}"))
        q.cmd("migrate-set-parameters", **params)
        q.cmd("migrate", uri=sys.argv[3])
        st, m = wait_migration(q, ("completed",))
        ram = m.get("ram", {})
        print(json.dumps({"step": "result", "status": st, "total-time": m.get("total-time"),
                          "ram": ram.get("total"), "downtime": m.get("downtime"),
                          "setup-time": m.get("setup-time"),
                          "ram-transferred": ram.get("transferred"), "mbps": ram.get("mbps"),
                          "vfio-transferred": m.get("vfio", {}).get("transferred")}),
              flush=True)
        if "--cont-after" in sys.argv:
            # QEMU postpones the dirty-log stop (DMA_LOGGING_STOP) while the machine is
            # paused (memory_global_dirty_log_stop); resuming the source delivers it.
            q.cmd("cont")
            time.sleep(1)
            print(json.dumps({"step": "status-after",
                              "status": q.cmd("query-status")["status"]}), flush=True)
        return 0 if st == "completed" else 1
    if action == "incoming":
        st, _ = wait_migration(q, ("completed",))
        if st == "completed" and "--cont" in sys.argv:
            q.cmd("cont")  # the device leaves RESUMING only when the machine runs
        print(json.dumps({"step": "incoming", "status": st,
                          "runstate": q.cmd("query-status")["status"]}), flush=True)
        return 0 if st == "completed" else 1
    if action == "status":
        print(json.dumps({"step": "status", "status": q.cmd("query-status")["status"]}),
              flush=True)
        return 0
    if action == "quit":
        q.cmd("quit")
        return 0
    print(f"unknown action {action}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
