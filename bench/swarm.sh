#!/usr/bin/env bash
# A simulated swarm against the local OpenSearch node: rollups against
# raw-row shipping, side by side.
#
#   bench/swarm.sh [BEES] [RATE]     (default 500 bees x 2,000 samples/s)
#
# For each mode, `stampede swarm` (hidden; src/commands/swarm.rs) runs
# BEES simulated bees in one process: a writer thread appends synthetic
# samples (five labels, skewed log-normal latencies, 1 % errors) to each
# bee's JTL at RATE per second, in place of JMeter, and each bee ships its
# file with the real bee shipping code (tailing, rollups, raw rows):
#   rollups: --rows none  (one rollup document per bee, label and second)
#   raw:     --rows all   (every row too: the way before rollups)
# Beside it, `stampede live-view` (hidden; the orchestrator's live view on
# its own, polling every 5 s) reads the rollups (or, for raw, the raw rows
# with `percentiles` aggregations); its CPU and peak RSS are measured.
# Then one bee alone ships a PER_BEE_ROWS JTL (`stampede ship`, both
# modes) for the CPU one bee spends per million samples.
#
# Reported per mode: samples/s represented, documents/s indexed, the
# live view's freshness (age of the newest sample shown) during the load,
# its final p95/p99 against the exact values of everything written, the
# orchestrator's CPU and peak RSS, the bees' CPU, the machine's CPU busy.
# Goal (issue 10): 500 x 2,000/s, live <= 5 s behind, p95/p99 within 1 %,
# orchestrator < 50 MiB. On a 2-core machine that also runs OpenSearch the
# figures say where the limit is.
#
# Environment:
#   DURATION       seconds of load per mode (default 30)
#   MODES          modes to run (default "rollups raw")
#   PER_BEE_ROWS   rows for the one-bee CPU figure (default 1000000)
#   DRAIN_MAX      seconds the bees may take to ship what is left after the
#                  load (default 60); then they are stopped and counted
#   STAMPEDE_ES_URL  cluster (default http://127.0.0.1:9200)
#   STAMPEDE_BIN   binary (default target/release/stampede; copied first)
#   WORK           scratch folder for the JTLs (default bench/data/swarm-work;
#                  emptied; ~RATE x BEES x DURATION x 45 bytes per mode)
# Results: bench/data/swarm-BEES-RATE/ (figures.json and the raw files).
set -euo pipefail

BEES=${1:-500}
RATE=${2:-2000}
DURATION=${DURATION:-30}
MODES=${MODES:-rollups raw}
DRAIN_MAX=${DRAIN_MAX:-60}
PER_BEE_ROWS=${PER_BEE_ROWS:-1000000}
ES=${STAMPEDE_ES_URL:-http://127.0.0.1:9200}
ES=${ES%/}
case $BEES$RATE in '' | *[!0-9]*) echo "usage: $0 [BEES] [RATE]" >&2; exit 2 ;; esac

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BENCH=bench
STAMPEDE_BIN=${STAMPEDE_BIN:-target/release/stampede}
WORK=${WORK:-$BENCH/data/swarm-work}
OUT=$BENCH/data/swarm-$BEES-$RATE
say() { printf '%s\n' "$*" >&2; }
[ -x "$STAMPEDE_BIN" ] || { say "error: no stampede binary at $STAMPEDE_BIN (cargo build --release)"; exit 2; }
mkdir -p "$OUT" "$WORK"
BIN=$OUT/stampede
cp "$STAMPEDE_BIN" "$BIN"

drop_indices() {
    curl -s -o /dev/null -X DELETE "$ES/$1,$1-rollup?ignore_unavailable=true" || true
}

# cpu_busy: "busy total" jiffies of the whole machine (/proc/stat).
cpu_busy() { awk '/^cpu /{print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8}' /proc/stat; }

# proc_cpu PID: user + sys seconds of a live process.
proc_cpu() { awk -v t="$(getconf CLK_TCK)" '{print ($14+$15)/t}' "/proc/$1/stat"; }

run_mode() {
    local mode=$1 rows raw_flag=()
    case $mode in
        rollups) rows=none ;;
        raw) rows=all; raw_flag=(--raw) ;;
        *) say "unknown mode $mode"; exit 2 ;;
    esac
    local idx=bench-swarm-$mode run_id=swarm-$mode-$(date +%s)
    drop_indices "$idx"
    rm -rf "${WORK:?}/$mode"
    say "== $mode: $BEES bees x $RATE/s for ${DURATION}s (rows: $rows)"
    local since; since=$(date +%s%3N)
    "$BIN" live-view --es "$ES" --index "$idx" --run-id "$run_id" --since-ms "$since" \
        --polls 0 --every 5 "${raw_flag[@]}" >"$OUT/$mode.live.jsonl" 2>"$OUT/$mode.live.log" &
    local live_pid=$! live_t0; live_t0=$(date +%s.%N)
    read -r b0 t0 < <(cpu_busy)
    python3 "$BENCH/rusage.py" "$OUT/$mode.bees.json" "$BIN" swarm --es "$ES" --index "$idx" \
        --run-id "$run_id" --bees "$BEES" --rate "$RATE" --duration "$DURATION" --rows "$rows" \
        --dir "$WORK/$mode" --drain-max "$DRAIN_MAX" >"$OUT/$mode.swarm.json" 2>"$OUT/$mode.swarm.log"
    read -r b1 t1 < <(cpu_busy)
    awk -v b="$((b1 - b0))" -v t="$((t1 - t0))" 'BEGIN{printf "{\"busy_pct\": %.1f}\n", 100*b/t}' >"$OUT/$mode.machine.json"
    # Two more polls once everything has been shipped.
    sleep 11
    local cpu rss wall
    cpu=$(proc_cpu "$live_pid")
    rss=$(awk '/^VmHWM/{print $2}' "/proc/$live_pid/status")
    wall=$(echo "$(date +%s.%N) - $live_t0" | bc)
    kill -INT "$live_pid"; wait "$live_pid" || true
    printf '{"cpu_s": %s, "maxrss_kib": %s, "wall_s": %s}\n' "$cpu" "$rss" "$wall" >"$OUT/$mode.orch.json"
    drop_indices "$idx"
    rm -rf "${WORK:?}/$mode"
}

one_bee() {
    local jtl=$WORK/one/bee-0000.jtl rate=$((PER_BEE_ROWS / 10))
    if [ ! -s "$jtl" ] || [ "$(($(wc -l <"$jtl") - 1))" -lt "$PER_BEE_ROWS" ]; then
        say "== generating a $PER_BEE_ROWS-row JTL"
        rm -rf "$WORK/one"
        "$BIN" swarm --es "$ES" --index bench-swarm-gen --run-id gen --bees 1 --rate "$rate" \
            --duration 10 --rows none --dir "$WORK/one" >/dev/null 2>&1
        drop_indices bench-swarm-gen
    fi
    local n; n=$(($(wc -l <"$jtl") - 1))
    for mode in $MODES; do
        local rows=none; [ "$mode" = raw ] && rows=all
        drop_indices bench-swarm-one
        say "== one bee ships $n rows (rows: $rows)"
        python3 "$BENCH/rusage.py" "$OUT/bee.$mode.tmp" "$BIN" ship --output json --rows "$rows" \
            --index bench-swarm-one --bee b1 --run-id one-$mode --es "$ES" "$jtl" >/dev/null
        python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["rows"]=int(sys.argv[2]); print(json.dumps(d))' \
            "$OUT/bee.$mode.tmp" "$n" >"$OUT/bee.$mode.json"
        rm -f "$OUT/bee.$mode.tmp"
    done
    drop_indices bench-swarm-one
}

for mode in $MODES; do run_mode "$mode"; done
one_bee
python3 "$BENCH/swarm_report.py" "$OUT"
