#!/usr/bin/env bash
# `stampede analyze` against a pandas script computing the same table, on
# the same generated JTL, in one run; then an accuracy check.
#
#   bench/analyze.sh [ROWS]          (default 2000000, ~220 MB)
#
# Environment:
#   STAMPEDE_BIN   binary to measure (default target/release/stampede)
#   RUNS           runs per tool, median reported (default 3)
#   PYTHON         interpreter for the venv (default python3, needs 3.11+)
#   GOAL_SPEEDUP   stampede must be at least this many times faster (6)
#   GOAL_RSS_MIB   stampede's max RSS must stay at or under this (32)
#
# Sets up bench/.venv from bench/requirements.txt, generates
# bench/data/bench-ROWS.jtl if missing, keeps the tools' outputs in
# bench/data/out-ROWS/. Timings are with a warm page cache (the file is
# read once before each tool). Exits 1 if a goal or the accuracy check
# fails.
set -euo pipefail

ROWS=${1:-2000000}
RUNS=${RUNS:-3}
GOAL_SPEEDUP=${GOAL_SPEEDUP:-6}
GOAL_RSS_MIB=${GOAL_RSS_MIB:-32}
PYTHON=${PYTHON:-python3}

case $ROWS in '' | *[!0-9]*) echo "usage: $0 [ROWS]" >&2; exit 2 ;; esac

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
# shellcheck source=bench/lib.sh
. bench/lib.sh
DATA=$BENCH/data/bench-$ROWS.jtl
OUT=$BENCH/data/out-$ROWS


# --- venv and inputs ----------------------------------------------------------
setup_venv
check_binary
mkdir -p "$BENCH/data" "$OUT"
ensure_jtl "$DATA" "$ROWS"
BYTES=$(wc -c <"$DATA" | tr -d ' ')

# --- runs --------------------------------------------------------------------
# bench TOOL CMD...: RUNS timed runs; one "wall cpu rss" line each in
# $OUT/TOOL.times, the command's stdout in $OUT/TOOL.txt.
bench() {
    local tool=$1 i
    shift
    : >"$OUT/$tool.times"
    cat "$DATA" >/dev/null
    for ((i = 1; i <= RUNS; i++)); do
        "$PY" "$BENCH/measure.py" --stdout "$OUT/$tool.txt" -- "$@" >>"$OUT/$tool.times"
        say "   $tool run $i: $(tail -n 1 "$OUT/$tool.times" | awk '{printf "%ss wall, %ss cpu, %s MiB", $1, $2, $3}')"
    done
}

say "== $DATA: $ROWS rows, $BYTES bytes; $RUNS runs per tool"
bench wc wc -l "$DATA"
bench stampede "$STAMPEDE_BIN" analyze "$DATA" --json "$OUT/stampede.json"
bench pandas "$PY" "$BENCH/pandas_analyze.py" "$DATA" --json "$OUT/pandas.json"

# --- report ------------------------------------------------------------------
status=0
"$PY" - "$OUT" "$BYTES" "$ROWS" "$GOAL_SPEEDUP" "$GOAL_RSS_MIB" \
    "$("$STAMPEDE_BIN" --version 2>/dev/null || echo stampede ?)" "$STAMPEDE_BIN" <<'EOF' || status=1
import os, platform, statistics, sys
import numpy, pandas

out, size, rows, goal_speedup, goal_rss, version, binary = sys.argv[1:]
size, goal_speedup, goal_rss = int(size), float(goal_speedup), float(goal_rss)

def load(tool):
    lines = [l.split() for l in open(os.path.join(out, tool + ".times"))]
    runs = [tuple(map(float, l[:3])) for l in lines]
    return {
        "rss_source": lines[0][3],
        "wall": statistics.median(r[0] for r in runs),
        "cpu": statistics.median(r[1] for r in runs),
        "rss": max(r[2] for r in runs),
        "walls": [r[0] for r in runs],
    }

cpu_model = "?"
try:
    with open("/proc/cpuinfo") as f:
        cpu_model = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
except (OSError, StopIteration):
    pass
print()
print(f"machine : {cpu_model}, {os.cpu_count()} cpus, {platform.system()} {platform.release()}")
print(f"tools   : {version} ({binary}); pandas {pandas.__version__}, numpy {numpy.__version__}, "
      f"Python {platform.python_version()}")
print(f"input   : {int(rows):,} rows, {size / 1e6:.1f} MB, warm page cache; median of "
      f"{len(load('wc')['walls'])} runs; max RSS: max of the runs, from {load('wc')['rss_source']}")
if load("stampede")["rss_source"] == "wait4":
    print("note    : no GNU time at /usr/bin/time: RSS from wait4, with a ~10 MiB floor "
          "(the Python launcher's own pages, up to exec)")
print()
names = {"wc": "wc -l", "stampede": "stampede analyze", "pandas": "pandas (read_csv+groupby)"}
res = {t: load(t) for t in names}
print(f"{'tool':<26} {'wall s':>8} {'MB/s':>8} {'CPU s':>8} {'max RSS MiB':>12}  runs (wall s)")
for t, name in names.items():
    r = res[t]
    runs = " ".join(f"{w:.3f}" for w in r["walls"])
    print(f"{name:<26} {r['wall']:>8.3f} {size / 1e6 / r['wall']:>8.1f} {r['cpu']:>8.2f} "
          f"{r['rss']:>12.1f}  {runs}")
speedup = res["pandas"]["wall"] / res["stampede"]["wall"]
print()
print(f"stampede vs pandas: {speedup:.1f}x faster (wall), "
      f"{res['pandas']['cpu'] / max(res['stampede']['cpu'], 1e-9):.1f}x less CPU, "
      f"{res['pandas']['rss'] / res['stampede']['rss']:.1f}x less memory")
ok = True
for label, passed, detail in [
    (f"speedup >= {goal_speedup:g}x", speedup >= goal_speedup, f"{speedup:.1f}x"),
    (f"stampede max RSS <= {goal_rss:g} MiB", res["stampede"]["rss"] <= goal_rss,
     f"{res['stampede']['rss']:.1f} MiB"),
]:
    print(f"goal {label:<28} {'PASS' if passed else 'FAIL'} ({detail})")
    ok &= passed
sys.exit(0 if ok else 1)
EOF

say ""
say "== accuracy: bench/exact.py against $OUT/stampede.json"
"$PY" "$BENCH/exact.py" "$DATA" "$OUT/stampede.json" || status=1

say ""
if [ "$status" -eq 0 ]; then
    say "== all goals met"
else
    say "== FAILED: see above"
fi
exit "$status"
