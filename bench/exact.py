#!/usr/bin/env python3
"""Checks `stampede analyze --json` against exact values from the JTL.

    exact.py FILE.jtl STAMPEDE_JSON

Reads the JTL with Python's csv module (a third parser, independent of
both stampede's and pandas') and computes, per label and in total:
exact count and errors (must be equal), exact percentiles with numpy
`method="inverted_cdf"` (the rank HdrHistogram uses; stampede must be
within 1%, or within 1 ms for tiny values), and also max, mean, span and
throughput (must match to float precision) and `malformed` (must be 0).
Prints a table; exits 1 on any violation.
"""

import argparse
import csv
import json
import math
import sys
from array import array

import numpy as np

PCTS = {"p50": 50, "p90": 90, "p95": 95, "p99": 99}
REL_TOL = 0.01
ABS_TOL_MS = 1
MIN_SPAN_MS = 1000


class Exact:
    def __init__(self):
        self.elapsed = array("q")
        self.errors = 0
        self.first = math.inf
        self.last = -math.inf

    def stats(self):
        el = np.frombuffer(self.elapsed, dtype=np.int64)
        n = len(el)
        span = int(self.last - self.first)
        ps = np.percentile(el, list(PCTS.values()), method="inverted_cdf")
        return {
            "count": n,
            "errors": self.errors,
            "mean": float(el.sum()) / n,
            "max": int(el.max()),
            "span_ms": span,
            "throughput": n * 1000.0 / max(span, MIN_SPAN_MS),
            **{k: int(v) for k, v in zip(PCTS, ps)},
        }


def read_jtl(path):
    labels = {}
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        rows = csv.reader(f)
        header = [h.lstrip("\ufeff") for h in next(rows)]
        pos = {h.lower(): i for i, h in enumerate(header)}
        i_ts, i_el, i_lab = pos["timestamp"], pos["elapsed"], pos["label"]
        i_ok = pos.get("success")
        for row in rows:
            lab = row[i_lab]
            e = labels.get(lab)
            if e is None:
                e = labels[lab] = Exact()
            e.elapsed.append(int(row[i_el]))
            ts = int(row[i_ts])
            if ts < e.first:
                e.first = ts
            if ts > e.last:
                e.last = ts
            if i_ok is not None and row[i_ok].lower() != "true":
                e.errors += 1
    total = Exact()
    for e in labels.values():
        total.elapsed.extend(e.elapsed)
        total.errors += e.errors
        total.first = min(total.first, e.first)
        total.last = max(total.last, e.last)
    return labels, total


def compare(name, got, exact, problems):
    """One table row; appends violations to `problems`."""
    def bad(what):
        problems.append(f"{name}: {what}")
        return "!"

    marks = []
    for k in ("count", "errors", "max", "span_ms"):
        if got.get(k) != exact[k]:
            marks.append(bad(f"{k} {got.get(k)} != exact {exact[k]}"))
    for k in ("mean", "throughput"):
        g = got.get(k)
        if g is None or not math.isclose(g, exact[k], rel_tol=1e-9, abs_tol=1e-9):
            marks.append(bad(f"{k} {g} != exact {exact[k]}"))
    if exact["count"] and got.get("count"):
        rate = exact["errors"] / exact["count"]
        if not math.isclose(got.get("error_rate", -1), rate, rel_tol=1e-9, abs_tol=1e-12):
            marks.append(bad(f"error_rate {got.get('error_rate')} != exact {rate}"))
    cells = []
    worst = 0.0
    for k in PCTS:
        g, e = got.get(k), exact[k]
        if g is None:
            cells.append(f"{'-':>7} {e:>7}  missing")
            bad(f"{k} missing")
            continue
        diff = abs(g - e)
        rel = diff / e if e else (0.0 if diff == 0 else math.inf)
        ok = diff <= ABS_TOL_MS or rel <= REL_TOL
        if diff > ABS_TOL_MS:
            worst = max(worst, rel)
        if not ok:
            bad(f"{k} {g} vs exact {e} ({rel:+.2%})")
        cells.append(f"{g:>7} {e:>7} {rel * 100:5.2f}%{'' if ok else '!'}")
    status = "ok" if not marks and all(not c.endswith("!") for c in cells) else "FAIL"
    return (f"{name[:22]:<22} {exact['count']:>9} {exact['errors']:>6} "
            + " | ".join(cells) + f" | {status}"), worst


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("jtl")
    p.add_argument("stampede_json")
    a = p.parse_args()

    with open(a.stampede_json) as f:
        doc = json.load(f)
    labels, total = read_jtl(a.jtl)
    got = {l["label"]: l for l in doc.get("labels", [])}

    problems = []
    if doc.get("malformed", 0) != 0:
        problems.append(f"malformed = {doc['malformed']}, expected 0")
    for lab in sorted(set(got) - set(labels)):
        problems.append(f"{lab!r}: reported by stampede, not in the JTL")

    pct_head = " | ".join(f"{k + ' stmp':>7} {'exact':>7} {'diff':>6}" for k in PCTS)
    head = f"{'label':<22} {'count':>9} {'errors':>6} {pct_head} | status"
    print(head)
    print("-" * len(head))
    worst = 0.0
    for lab in sorted(labels):
        exact = labels[lab].stats()
        if lab not in got:
            problems.append(f"{lab!r}: in the JTL ({exact['count']} rows), missing from stampede")
            continue
        line, w = compare(lab, got[lab], exact, problems)
        worst = max(worst, w)
        print(line)
    line, w = compare("total", doc.get("total") or {}, total.stats(), problems)
    worst = max(worst, w)
    print("-" * len(head))
    print(line)
    print(f"\nlargest percentile error (beyond {ABS_TOL_MS} ms): {worst:.3%} "
          f"(limit {REL_TOL:.0%})")
    if problems:
        print(f"\nexact.py: {len(problems)} violation(s):")
        for pr in problems:
            print(f"  {pr}")
        sys.exit(1)
    print("exact.py: all checks passed (count, errors, error_rate, max, mean, span_ms, "
          "throughput exact; percentiles within tolerance)")


if __name__ == "__main__":
    main()
