#!/usr/bin/env python3
"""Side-by-side table of bench/swarm.sh's results: swarm_report.py OUT_DIR.

Reads, per mode (rollups, raw): <mode>.swarm.json (the swarm's result and
exact percentiles), <mode>.live.jsonl (the live view's polls),
<mode>.orch.json (the live view's CPU and RSS), <mode>.bees.json (the
swarm process's CPU), <mode>.machine.json (whole-machine CPU busy during
the load); and bee.<mode>.json (one bee shipping a JTL on its own)."""
import json
import os
import statistics
import sys

out = sys.argv[1]


def load(name):
    path = os.path.join(out, name)
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def polls(mode):
    path = os.path.join(out, f"{mode}.live.jsonl")
    rows = []
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            rows = [json.loads(l) for l in f if l.strip()]
    return rows


def pct_err(live, exact):
    return None if not exact else round(100.0 * (live - exact) / exact, 2)


def mode_figures(mode):
    s, orch, bees, mach = (load(f"{mode}.{k}.json") for k in ("swarm", "orch", "bees", "machine"))
    if not s:
        return None
    lines = polls(mode)
    ok = [l for l in lines if "live" in l and l["live"].get("samples")]
    load_end = s["start_ms"] + int(s["load_s"] * 1000)
    during = [l["live"]["freshness_s"] for l in ok
              if l["at_ms"] <= load_end and l["live"].get("freshness_s") is not None]
    last = ok[-1]["live"] if ok else {}
    overall = last.get("overall", {})
    wall = max(s["drained_s"], 1e-9)
    in_load = [l for l in ok if l["at_ms"] <= load_end]
    shown = (in_load[-1]["live"]["samples"] * 1000 / (in_load[-1]["at_ms"] - s["start_ms"])
             if in_load else 0)
    return {
        "samples/s written (offered)": round(s["written"] / s["load_s"]),
        "samples/s in the live view during load": round(shown),
        "samples written": s["written"],
        "samples in the live view at the end": last.get("samples"),
        "docs/s indexed": round(s["indexed_docs"] / wall),
        "docs lost (drained bees)": s["rows_lost"] + s["rollups_lost"],
        "bees not drained within DRAIN_MAX": s["undrained_bees"],
        "shipping drained after load (s)": round(s["drained_s"] - s["load_s"], 1),
        "live freshness median (s)": round(statistics.median(during), 1) if during else None,
        "live freshness max (s)": round(max(during), 1) if during else None,
        "live poll time max (ms)": max((l.get("took_ms", 0) for l in ok), default=None),
        "live p95 / exact (ms)": f"{overall.get('p95', 0):.1f} / {s['exact']['p95']}",
        "live p95 error %": pct_err(overall.get("p95", 0), s["exact"]["p95"]),
        "live p99 / exact (ms)": f"{overall.get('p99', 0):.1f} / {s['exact']['p99']}",
        "live p99 error %": pct_err(overall.get("p99", 0), s["exact"]["p99"]),
        "orchestrator CPU s (whole run)": round(orch["cpu_s"], 2) if orch else None,
        "orchestrator CPU %": round(100 * orch["cpu_s"] / orch["wall_s"], 2) if orch else None,
        "orchestrator peak RSS (MiB)": round(orch["maxrss_kib"] / 1024, 1) if orch else None,
        "bees' process CPU (cores)": round(bees["cpu_s"] / wall, 2) if bees else None,
        "machine CPU busy % during load": mach.get("busy_pct") if mach else None,
    }


def bee_figures(mode):
    b = load(f"bee.{mode}.json")
    if not b:
        return {}
    return {"one bee: CPU s per 1M samples": round(b["cpu_s"] * 1e6 / b["rows"], 2),
            "one bee: peak RSS (MiB)": round(b["maxrss_kib"] / 1024, 1)}


cols = {}
for mode in ("rollups", "raw"):
    f = mode_figures(mode)
    if f is not None:
        f.update(bee_figures(mode))
        cols[mode] = f
if not cols:
    sys.exit("no results in " + out)
keys = list(next(iter(cols.values())).keys())
width = max(len(k) for k in keys)
print(f"{'':{width}}  " + "  ".join(f"{m:>22}" for m in cols))
for k in keys:
    print(f"{k:{width}}  " + "  ".join(f"{str(cols[m].get(k)):>22}" for m in cols))
with open(os.path.join(out, "figures.json"), "w", encoding="utf-8") as f:
    json.dump(cols, f, indent=1)
