#!/usr/bin/env python3
"""The man pages and the --help texts never disagree: for vfioscope and for every command the
binary lists in `vfioscope --help`, the options the help text names are exactly the options the
man page's OPTIONS sections define. A command without a man page fails here: add
man/vfioscope-COMMAND.8.scd (and it is packaged, with no other edit).
usage: tests/package/man_help.py VFIOSCOPE MAN_DIR"""
import re
import subprocess
import sys

vfioscope, man_dir = sys.argv[1], sys.argv[2]
passed = failed = 0


def check(what, ok, detail=""):
    global passed, failed
    print(("ok: " if ok else "FAIL: ") + what + ("" if ok else "\n    " + detail))
    if ok:
        passed += 1
    else:
        failed += 1


def help_text(*args):
    return subprocess.run([vfioscope, *args, "--help"], capture_output=True, text=True).stdout


def help_options(text):
    return set(re.findall(r"(?:^|(?<=[\s\[(,|]))(--?[a-zA-Z][a-zA-Z0-9-]*)", text))


def man_options(path):
    """Options defined in the OPTIONS sections: lines that start with *-..."""
    opts, in_opts = set(), False
    for line in open(path):
        if line.startswith("# "):
            in_opts = line.strip().endswith("OPTIONS")
            continue
        if in_opts and line.startswith("*-"):
            opts |= set(re.findall(r"\*(--?[a-zA-Z][a-zA-Z0-9-]*)\*", line))
    return opts


def compare(name, help_args):
    path = f"{man_dir}/{name}.8.scd"
    try:
        m = man_options(path)
    except OSError:
        check(f"{name}: has a man page", False, f"no {path}: every command needs one")
        return
    h = help_options(help_text(*help_args))
    check(f"{name}: --help names {len(h)} options, the man page defines {len(m)}: the same",
          h == m and len(h) > 0,
          f"only in --help: {sorted(h - m)}; only in {path}: {sorted(m - h)}")


top = help_text()
commands = re.findall(r"^  ([a-z][a-z-]*) ", top.split("commands:", 1)[1], re.M)
check(f"vfioscope --help lists commands ({' '.join(commands)})", len(commands) >= 5)
compare("vfioscope", [])
main_page = open(f"{man_dir}/vfioscope.8.scd").read()
for c in commands:
    compare(f"vfioscope-{c}", [c])
    check(f"vfioscope(8) lists {c} and points at vfioscope-{c}(8)",
          f"*{c}*" in main_page and f"*vfioscope-{c}*(8)" in main_page)
print(f"{passed} passed, {failed} failed")
sys.exit(failed != 0)
