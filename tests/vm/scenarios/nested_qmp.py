#!/usr/bin/env python3
"""A minimal QMP client for the nested-QEMU scenario (no third-party modules).

usage: nested_qmp.py SOCKET migrate URI [--cont]   migrate out, wait for the end state
       nested_qmp.py SOCKET incoming               wait until an incoming migration finished
       nested_qmp.py SOCKET quit
Prints one JSON line per step and exits non-zero when the migration failed or timed out.
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
    while time.time() < deadline:
        m = q.cmd("query-migrate")
        st = m.get("status", "none")
        if st != last:
            print(json.dumps({"step": "query-migrate", "status": st,
                              "error": m.get("error-desc")}), flush=True)
            last = st
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
        q.cmd("migrate", uri=sys.argv[3])
        st, m = wait_migration(q, ("completed",))
        print(json.dumps({"step": "result", "status": st, "total-time": m.get("total-time"),
                          "ram": m.get("ram", {}).get("total")}), flush=True)
        return 0 if st == "completed" else 1
    if action == "incoming":
        st, _ = wait_migration(q, ("completed",))
        print(json.dumps({"step": "incoming", "status": st,
                          "runstate": q.cmd("query-status")["status"]}), flush=True)
        return 0 if st == "completed" else 1
    if action == "quit":
        q.cmd("quit")
        return 0
    print(f"unknown action {action}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
