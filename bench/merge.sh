#!/usr/bin/env bash
# The end of a run with many bees: `stampede run` against LocalStack, the
# test playing N bees that each left a bee summary (default 500), timed
# from the run's `done` phase to its verdict (listing, fetching and
# merging the summaries, the table, summary.json, the store and the gate).
# With --peer, the same bees leave only their JTLs: the JTL-parsing end of
# run that bee summaries replace, side by side.
#
#   eval "$(ci/services.sh up localstack)"
#   bench/merge.sh [BEES] [--peer]
#
# Environment:
#   STAMPEDE_BIN   binary to measure (default target/release/stampede)
#   ROWS           rows of each distinct bee JTL (default 300000, one hour,
#                  20 labels: bucketed at 8 s, ~450 buckets a label)
#   DISTINCT       distinct bees generated; the N bees cycle over them (4)
#   PEER_BEES      bees in the --peer run (default: BEES)
#   GOAL_S         the summaries' end of run must take at most this (10)
#   PYTHON         interpreter for the venv (default python3, needs 3.11+)
# Exits 1 if the goal is missed or not every bee was merged.
set -euo pipefail

BEES=${1:-500}
PEER=${2:-}
ROWS=${ROWS:-300000}
DISTINCT=${DISTINCT:-4}
GOAL_S=${GOAL_S:-10}
PYTHON=${PYTHON:-python3}
case $BEES in '' | *[!0-9]*) echo "usage: $0 [BEES] [--peer]" >&2; exit 2 ;; esac

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
# shellcheck source=bench/lib.sh
. bench/lib.sh
OUT=$BENCH/data/merge-$ROWS
: "${STAMPEDE_LOCALSTACK_URL:?run: eval \"\$(ci/services.sh up localstack)\"}" "${STAMPEDE_MOTO_PYTHON:?}"

setup_venv
check_binary
mkdir -p "$OUT"

# --- the distinct bees: a JTL each, and its summary by the real code -------
for i in $(seq 1 "$DISTINCT"); do
    jtl=$OUT/bee-$i.jtl
    if [ ! -s "$jtl.gz" ]; then
        say "== generating bee $i ($ROWS rows)"
        "$PY" "$BENCH/gen_jtl.py" "$jtl" --rows "$ROWS" --seed "$i"
        gzip -f "$jtl"
    fi
    if [ ! -s "$OUT/bee-$i.summary.json" ]; then
        "$STAMPEDE_BIN" analyze "$jtl.gz" --bee-summary "$OUT/bee-$i.summary.json" >/dev/null
    fi
done
say "bee summaries: $(du -ch "$OUT"/bee-*.summary.json | tail -1 | cut -f1) for $DISTINCT bees; JTLs $(du -ch "$OUT"/bee-*.jtl.gz | tail -1 | cut -f1)"

STAND_IN=$(mktemp)
head -c 64 "$STAMPEDE_BIN" >"$STAND_IN"

# run_end MODE BEES: one run, its end-of-run seconds on stdout's last line.
run_end() {
    "$STAMPEDE_MOTO_PYTHON" "$BENCH/merge_run.py" "$1" "$2" "$OUT" "$DISTINCT" "$STAMPEDE_BIN" "$STAND_IN"
}

say "== $BEES bees leave bee summaries"
SUMMARY_LINE=$(run_end summaries "$BEES")
echo "$SUMMARY_LINE"
if [ "$PEER" = "--peer" ]; then
    PEER_BEES=${PEER_BEES:-$BEES}
    say "== peer: $PEER_BEES bees leave only their JTLs"
    run_end jtl "$PEER_BEES"
fi
rm -f "$STAND_IN"
python3 - "$SUMMARY_LINE" "$GOAL_S" <<'PY'
import sys
fields = dict(kv.split("=") for kv in sys.argv[1].split() if "=" in kv)
end, goal = float(fields["end_s"]), float(sys.argv[2])
ok = fields["merged"] == fields["bees"] and end <= goal
print(f"goal: end of run for {fields['bees']} bees at most {goal:.0f} s: {'met' if ok else 'MISSED'} ({end:.2f} s)")
sys.exit(0 if ok else 1)
PY
