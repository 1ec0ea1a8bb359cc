#!/usr/bin/env python3
"""Print every metric name a PromQL expression set queries, one per line.

usage: exporter_promql_names.py dashboard.json rules.yml
Reads the `expr` of every Grafana target and templating query in the dashboard and every
`expr:` line of the rules file (one expression per line, as that file is written). Recording
rule names (with a colon) and Prometheus' own series (up, scrape_*) are reported with a
`prometheus:` / `rule:` prefix so the caller can treat them apart.
"""
import json
import re
import sys

KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and",
            "or", "unless", "offset", "inf", "nan"}


def exprs_from_dashboard(path):
    d = json.load(open(path))
    out = []

    def walk(o):
        if isinstance(o, dict):
            for k, v in o.items():
                if k == "expr" and isinstance(v, str):
                    out.append(v)
                elif k == "query" and isinstance(v, dict) and isinstance(v.get("query"), str):
                    out.append(v["query"])
                else:
                    walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)
    walk(d)
    return out


def exprs_from_rules(path):
    out = []
    for line in open(path):
        m = re.match(r"\s*expr:\s*(.+)$", line)
        if m:
            out.append(m.group(1).strip())
    return out


def names(expr):
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)          # strings
    e = re.sub(r"\{[^}]*\}", "", e)                        # label matchers
    e = re.sub(r"\[[^\]]*\]", "", e)                       # ranges
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", e)
    e = re.sub(r"label_values\(([^,]*),[^)]*\)", r"\1", e)  # Grafana: label_values(m, l)
    found = set()
    for m in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", e):
        tok = m.group(0)
        rest = e[m.end():].lstrip()
        if rest.startswith("("):                           # a function
            continue
        if tok.lower() in KEYWORDS or tok.startswith("$") or e[m.start() - 1:m.start()] == "$":
            continue
        if re.match(r"^\d", tok):
            continue
        found.add(tok)
    return found


def main():
    all_names = set()
    for e in exprs_from_dashboard(sys.argv[1]) + exprs_from_rules(sys.argv[2]):
        all_names |= names(e)
    for n in sorted(all_names):
        if ":" in n:
            print("rule:" + n)
        elif n == "up" or n.startswith("scrape_"):
            print("prometheus:" + n)
        else:
            print(n)


main()
