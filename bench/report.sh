#!/usr/bin/env bash
# The HTML report of a 2,000,000-sample JTL, analysis included
# (`stampede analyze JTL --html FILE`), side by side with JMeter's own
# dashboard (`jmeter -g JTL -o DIR`) on the same file.
#
#   bench/report.sh [ROWS]          (default 2000000, ~220 MB, one hour)
#
# Environment:
#   STAMPEDE_BIN   binary to measure (default target/release/stampede)
#   RUNS           stampede runs, median reported (default 3)
#   JMETER_RUNS    jmeter -g runs (default 1: it takes most of a minute)
#   JMETER_HOME    JMeter home (default: $(ci/jmeter.sh)); JMETER_RUNS=0 skips it
#   PYTHON         interpreter for the venv (default python3, needs 3.11+)
#   GOAL_WALL_S    stampede's wall time must stay at or under this (2)
#   GOAL_RSS_MIB   stampede's max RSS must stay at or under this (64)
#
# Generates bench/data/bench-ROWS.jtl if missing (bench/gen_jtl.py); keeps
# the outputs in bench/data/report-ROWS/. Warm page cache. Exits 1 if a
# goal fails.
set -euo pipefail

ROWS=${1:-2000000}
RUNS=${RUNS:-3}
JMETER_RUNS=${JMETER_RUNS:-1}
GOAL_WALL_S=${GOAL_WALL_S:-2}
GOAL_RSS_MIB=${GOAL_RSS_MIB:-64}
PYTHON=${PYTHON:-python3}

case $ROWS in '' | *[!0-9]*) echo "usage: $0 [ROWS]" >&2; exit 2 ;; esac

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
# shellcheck source=bench/lib.sh
. bench/lib.sh
DATA=$BENCH/data/bench-$ROWS.jtl
OUT=$BENCH/data/report-$ROWS


setup_venv
check_binary
mkdir -p "$BENCH/data" "$OUT"
ensure_jtl "$DATA" "$ROWS"
BYTES=$(wc -c <"$DATA" | tr -d ' ')

# timed TOOL RUNS CMD...: one "wall cpu rss source" line per run in $OUT/TOOL.times.
timed() {
    local tool=$1 runs=$2 i
    shift 2
    : >"$OUT/$tool.times"
    cat "$DATA" >/dev/null
    for ((i = 1; i <= runs; i++)); do
        "$PY" "$BENCH/measure.py" -- "$@" >>"$OUT/$tool.times"
        say "   $tool run $i: $(tail -n 1 "$OUT/$tool.times" | awk '{printf "%ss wall, %ss cpu, %s MiB", $1, $2, $3}')"
    done
}

say "== $DATA: $ROWS rows, $BYTES bytes"
timed stampede "$RUNS" "$STAMPEDE_BIN" analyze "$DATA" --html "$OUT/report.html"
if [ "$JMETER_RUNS" -gt 0 ]; then
    JMETER_HOME=${JMETER_HOME:-$(ci/jmeter.sh)}
    # JMeter refuses a non-empty output folder: a fresh one per run.
    timed jmeter "$JMETER_RUNS" bash -c 'rm -rf "$1" && exec "$2/bin/jmeter" -g "$3" -o "$1"' \
        _ "$OUT/jmeter-dashboard" "$JMETER_HOME" "$DATA"
else
    : >"$OUT/jmeter.times"
fi

"$PY" - "$OUT" "$BYTES" "$ROWS" "$GOAL_WALL_S" "$GOAL_RSS_MIB" \
    "$("$STAMPEDE_BIN" --version 2>/dev/null || echo stampede ?)" <<'PYEOF'
import os, statistics, sys

out, size, rows, goal_wall, goal_rss, version = sys.argv[1:]
size, goal_wall, goal_rss = int(size), float(goal_wall), float(goal_rss)

def load(tool):
    lines = [l.split() for l in open(os.path.join(out, tool + ".times")) if l.strip()]
    if not lines:
        return None
    runs = [tuple(map(float, l[:3])) for l in lines]
    return {"wall": statistics.median(r[0] for r in runs), "cpu": statistics.median(r[1] for r in runs),
            "rss": max(r[2] for r in runs), "walls": [r[0] for r in runs], "src": lines[0][3]}

def du(path):
    total = 0
    for d, _, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(d, f)) for f in files)
    return total

cpu_model = "?"
try:
    with open("/proc/cpuinfo") as f:
        cpu_model = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
except (OSError, StopIteration):
    pass
print()
print(f"machine : {cpu_model}, {os.cpu_count()} cpus")
print(f"tools   : {version}; JMeter from JMETER_HOME")
print(f"input   : {int(rows):,} rows, {size / 1e6:.1f} MB (one hour of samples, 20 labels), warm page cache")
print()
print(f"{'tool':<34} {'wall s':>8} {'CPU s':>8} {'max RSS MiB':>12} {'output':>14}  runs (wall s)")
s, j = load("stampede"), load("jmeter")
rows_out = [("stampede analyze --html", s, os.path.getsize(os.path.join(out, "report.html")), "1 file")]
if j:
    dash = os.path.join(out, "jmeter-dashboard")
    nfiles = sum(len(f) for _, _, f in os.walk(dash))
    rows_out.append(("jmeter -g (dashboard)", j, du(dash), f"{nfiles} files"))
for name, r, nbytes, what in rows_out:
    runs = " ".join(f"{w:.2f}" for w in r["walls"])
    print(f"{name:<34} {r['wall']:>8.2f} {r['cpu']:>8.2f} {r['rss']:>12.1f} {nbytes / 1024:>9.0f} KiB  {runs}  ({what})")
if j:
    print()
    print(f"stampede vs jmeter -g: {j['wall'] / s['wall']:.1f}x faster, {j['rss'] / s['rss']:.1f}x less memory")
ok = True
for label, passed, detail in [
    (f"wall <= {goal_wall:g} s", s["wall"] <= goal_wall, f"{s['wall']:.2f} s"),
    (f"max RSS <= {goal_rss:g} MiB", s["rss"] <= goal_rss, f"{s['rss']:.1f} MiB"),
]:
    print(f"goal {label:<22} {'PASS' if passed else 'FAIL'} ({detail})")
    ok &= passed
sys.exit(0 if ok else 1)
PYEOF
