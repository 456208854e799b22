#!/usr/bin/env bash
# `stampede analyze` on hostile inputs: its time and peak memory must stay
# bounded whatever the input.
#
#   bench/hostile.sh
#
# Inputs (generated into bench/data/ if missing):
#   long-line.jtl     a header, 1,000 rows, one 1 GiB line, 1,000 rows
#   bomb.jtl.gz       a header and 1 GiB of zeros, gzipped (~1 MB)
#   control-bytes.jtl 100,000 rows whose failureMessage starts with a TAB
#
# Environment: STAMPEDE_BIN (default target/release/stampede),
# GOAL_RSS_MIB (64), GOAL_WALL_S (30). Exits 1 if a goal fails or if a
# result is not the one expected (the long line and the bomb each a clear
# outcome, every row of the control-byte file read).
set -euo pipefail

GOAL_RSS_MIB=${GOAL_RSS_MIB:-64}
GOAL_WALL_S=${GOAL_WALL_S:-30}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
STAMPEDE_BIN=${STAMPEDE_BIN:-target/release/stampede}
DATA=bench/data
mkdir -p "$DATA"
say() { printf '%s\n' "$*" >&2; }
[ -x "$STAMPEDE_BIN" ] || { say "error: no $STAMPEDE_BIN (cargo build --release)"; exit 2; }

HEADER='timeStamp,elapsed,label,responseCode,responseMessage,threadName,dataType,success,failureMessage,bytes'
rows() { # rows N: N good rows
    awk -v n="$1" 'BEGIN { for (i = 0; i < n; i++) printf "%d,%d,home,200,OK,t 1-1,text,true,,10\n", 1700000000000 + i, 10 + i % 90 }'
}
if [ ! -s "$DATA/long-line.jtl" ]; then
    say "== generating $DATA/long-line.jtl"
    { echo "$HEADER"; rows 1000; head -c $((1 << 30)) /dev/zero | tr '\0' 'x'; echo; rows 1000; } >"$DATA/long-line.jtl"
fi
if [ ! -s "$DATA/bomb.jtl.gz" ]; then
    say "== generating $DATA/bomb.jtl.gz"
    { echo "$HEADER"; head -c $((1 << 30)) /dev/zero; } | gzip -9 >"$DATA/bomb.jtl.gz"
fi
if [ ! -s "$DATA/control-bytes.jtl" ]; then
    say "== generating $DATA/control-bytes.jtl"
    { echo "$HEADER"; awk 'BEGIN { for (i = 0; i < 100000; i++) printf "%d,%d,l%d,500,Err,t 1-1,text,false,\tat Foo.bar(Foo.java:%d)\n", 1700000000000 + i, 10 + i % 90, i % 3, i }'; } >"$DATA/control-bytes.jtl"
fi

status=0
# check NAME EXPECTED_EXIT GREP FILE: runs analyze once, measured.
check() {
    local name=$1 want=$2 pattern=$3 file=$4 line code
    set +e
    line=$(python3 bench/measure.py --stdout "$DATA/$name.out" -- "$STAMPEDE_BIN" analyze "$file" 2>"$DATA/$name.err")
    code=$?
    set -e
    read -r wall cpu rss _ <<<"$line"
    local verdict=PASS
    if [ "$code" != "$want" ] || ! grep -q -- "$pattern" "$DATA/$name.out" "$DATA/$name.err"; then
        verdict="FAIL (exit $code; see $DATA/$name.err)"
    elif awk -v r="$rss" -v g="$GOAL_RSS_MIB" -v w="$wall" -v gw="$GOAL_WALL_S" 'BEGIN { exit !(r > g || w > gw) }'; then
        verdict="FAIL (over a goal)"
    fi
    [ "$verdict" = PASS ] || status=1
    printf '%-15s %8s MB %7.2f s wall %7.2f s cpu %7.1f MiB max RSS  exit %s  %s\n' \
        "$name" "$(($(wc -c <"$file") / 1000000))" "$wall" "$cpu" "$rss" "$code" "$verdict"
}
say "== goals: max RSS <= $GOAL_RSS_MIB MiB, wall <= $GOAL_WALL_S s"
check long-line 0 "1 malformed row(s) skipped, first at line(s) 1002" "$DATA/long-line.jtl"
check bomb 2 "decompression bomb" "$DATA/bomb.jtl.gz"
check control-bytes 0 "^total  *100000 " "$DATA/control-bytes.jtl"
exit "$status"
