#!/usr/bin/env bash
# `stampede ship` against a raw `_bulk` replay of the same documents, side
# by side in one run, into a live Elasticsearch / OpenSearch.
#
#   bench/ship.sh [ROWS]             (default 1000000, ~110 MB of JTL)
#
#   (a) stampede ship JTL --es URL --index $IDX_A --bee b1 --run-id bench
#   (b) the same documents, pre-built by bench/bulk_bodies.py into NDJSON
#       bodies of 5000 rows (stampede's batch, byte for byte what it sends
#       but for the index name), sent one after the other over one
#       connection by a single curl (--next), into $IDX_B. curl reads
#       every --data-binary @file when it starts: its RSS is the bodies'
#       size, and no file reading is left in its timing.
#
# Runs alternate a, b, a, b, ... (RUNS each); every run goes into a fresh
# index (deleted before, and right after its checks, so no merges linger
# into the next run). Both indices get the same index template (stampede
# puts its own for a, identical: the mappings are compared). A run counts
# once its command has exited; then `_refresh` (timed separately) and
# `_count` must show ROWS documents. Medians are reported.
#
# Environment:
#   STAMPEDE_ES_URL  cluster (default http://127.0.0.1:9200)
#   STAMPEDE_BIN     binary to measure (default target/release/stampede);
#                    copied first, so a rebuild during the run changes nothing
#   RUNS             runs per side (default 3)
#   RAW              b's sender: next (one curl, --next per body, one
#                    connection; default) or loop (one curl per body)
#   GOAL_PCT         stampede's rows/s must reach this % of raw (90)
#   IDX_A, IDX_B     index names (bench-ship-a, bench-ship-b); deleted!
#   SETTLE           seconds of pause before each run (default 3)
#   QUIET            the machine counts as quiet when other work (besides
#                    the cluster and the side measured) takes at most this
#                    many cpus (default 0.2; Linux /proc/stat). Each run
#                    first waits up to QUIET_WAIT s (600) for quiet, and is
#                    redone, up to REDO times (3), when other work took
#                    more during it; such runs are kept in noisy.txt.
#   PYTHON           interpreter for the venv (default python3, 3.11+)
#
# Generates bench/data/bench-ROWS.jtl if missing, the bodies into
# bench/data/bulk-ROWS/ when missing or stale; results go to
# bench/data/ship-ROWS/. Exits 1 if a check or the goal fails.
set -euo pipefail

ROWS=${1:-1000000}
RUNS=${RUNS:-3}
RAW=${RAW:-next}
GOAL_PCT=${GOAL_PCT:-90}
SETTLE=${SETTLE:-3}
QUIET=${QUIET:-0.2}
QUIET_WAIT=${QUIET_WAIT:-600}
REDO=${REDO:-3}
PYTHON=${PYTHON:-python3}
ES=${STAMPEDE_ES_URL:-http://127.0.0.1:9200}
ES=${ES%/}
IDX_A=${IDX_A:-bench-ship-a}
IDX_B=${IDX_B:-bench-ship-b}
BEE=b1
RUN_ID=bench
BATCH=5000

case $ROWS in '' | *[!0-9]*) echo "usage: $0 [ROWS]" >&2; exit 2 ;; esac
case $RAW in next | loop) ;; *) echo "RAW must be next or loop" >&2; exit 2 ;; esac

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
# shellcheck source=bench/lib.sh
. bench/lib.sh
DATA=$BENCH/data/bench-$ROWS.jtl
BODIES=$BENCH/data/bulk-$ROWS
OUT=$BENCH/data/ship-$ROWS

# es METHOD PATH [CURL ARGS...]: the answer on stdout; fails on HTTP >= 400.
es() {
    local method=$1 path=$2
    shift 2
    curl -sS --fail-with-body -X "$method" "$@" "$ES/$path"
}
# jget EXPR: evaluates EXPR on the JSON on stdin (bound to j), prints it.
jget() { "$PY" -c 'import json,sys; j=json.load(sys.stdin); print('"$1"')'; }

# --- venv and inputs ----------------------------------------------------------
setup_venv
check_binary
if ! es GET "" >/dev/null; then
    say "error: no cluster at $ES (set STAMPEDE_ES_URL)"
    exit 2
fi
mkdir -p "$BENCH/data" "$OUT"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ship-bench.XXXXXX")
cleanup() {
    local idx
    for idx in "$IDX_A" "$IDX_B"; do
        curl -s -o /dev/null -X DELETE "$ES/$idx" || true
        curl -s -o /dev/null -X DELETE "$ES/_index_template/stampede-$idx" || true
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
BIN=$TMP/stampede
cp "$STAMPEDE_BIN" "$BIN"
VERSION=$("$BIN" --version 2>/dev/null || echo "stampede ?")

if [ ! -s "$DATA" ]; then
    say "== generating $DATA"
    "$PY" "$BENCH/gen_jtl.py" "$DATA" --rows "$ROWS"
fi
BYTES=$(wc -c <"$DATA" | tr -d ' ')
STAMP="$BYTES $IDX_B $BEE $RUN_ID $BATCH $(cksum <"$BENCH/bulk_bodies.py")"
if [ "$(cat "$BODIES/stamp" 2>/dev/null)" != "$STAMP" ]; then
    say "== building the _bulk bodies for $IDX_B in $BODIES"
    rm -f "$BODIES/stamp"
    "$PY" "$BENCH/bulk_bodies.py" "$DATA" "$BODIES" --index "$IDX_B" \
        --bee "$BEE" --run-id "$RUN_ID" --batch "$BATCH"
    printf '%s\n' "$STAMP" >"$BODIES/stamp"
fi
DOCS=$(cat "$BODIES/rows")
CHUNKS=("$BODIES"/chunk-*.ndjson)
if [ "$DOCS" -ne "$ROWS" ]; then
    say "error: $BODIES holds $DOCS documents, not $ROWS (malformed rows?)"
    exit 1
fi

# b's command: one curl, one transfer per body, one connection (--next);
# or one curl per body.
if [ "$RAW" = next ]; then
    RAW_CMD=(curl)
    for c in "${CHUNKS[@]}"; do
        RAW_CMD+=(-s -H 'Content-Type: application/x-ndjson' --data-binary "@$c" "$ES/_bulk" --next)
    done
    unset 'RAW_CMD[${#RAW_CMD[@]}-1]'
else
    printf '%s\n' "${CHUNKS[@]}" >"$TMP/chunks"
    RAW_CMD=(sh -c 'while read -r c; do
        curl -s -H "Content-Type: application/x-ndjson" --data-binary "@$c" "$1/_bulk" || exit 1
        echo; done <"$2"' sh "$ES" "$TMP/chunks")
fi

# --- runs --------------------------------------------------------------------
# The same template for both: stampede's, from bulk_bodies.py --template.
for idx in "$IDX_A" "$IDX_B"; do
    curl -s -o /dev/null -X DELETE "$ES/$idx"
    "$PY" "$BENCH/bulk_bodies.py" --template "$idx" |
        es PUT "_index_template/stampede-$idx" -H 'Content-Type: application/json' \
            --data-binary @- >/dev/null
done

# CPU seconds (user+sys) all processes spent, from /proc/stat; "nan"
# where there is none (macOS).
sys_busy() {
    if [ -r /proc/stat ]; then
        awk -v hz="$(getconf CLK_TCK)" '/^cpu /{print ($2+$3+$4+$7+$8+$9) / hz; exit}' /proc/stat
    else
        echo nan
    fi
}
os_cpu() {
    es GET "_nodes/_local/stats/process" |
        jget 'sum(n["process"]["cpu"]["total_in_millis"] for n in j["nodes"].values()) / 1000'
}
# check SIDE RUN IDX: refresh (timed), count, fingerprint, delete. Appends
# "refresh_s count os_cpu_s" to the run's line.
check() {
    local side=$1 run=$2 idx=$3 t0 t1 count
    t0=$("$PY" -c 'import time; print(time.perf_counter())')
    es POST "$idx/_refresh" >/dev/null
    t1=$("$PY" -c 'import time; print(time.perf_counter())')
    count=$(es GET "$idx/_count" | jget 'j["count"]')
    es GET "$idx/_mapping" | jget "json.dumps(j['$idx']['mappings'], sort_keys=True)" \
        >"$OUT/mapping-$side.json"
    es POST "$idx/_search" -H 'Content-Type: application/json' --data-binary @"$OUT/fingerprint.query" |
        jget 'json.dumps({"hits": j["hits"]["total"], "aggs": j["aggregations"]}, sort_keys=True)' \
            >"$OUT/fingerprint-$side-$run.json"
    es POST "$idx/_mget" -H 'Content-Type: application/json' --data-binary @"$OUT/mget.query" |
        jget 'json.dumps([(d["_id"], d.get("_source")) for d in j["docs"]], sort_keys=True)' \
            >"$OUT/sample-$side-$run.json"
    es DELETE "$idx" >/dev/null
    printf ' %s %s' "$("$PY" -c "print(f'{$t1 - $t0:.3f}')")" "$count" >>"$OUT/runs.txt"
}

# Fingerprints: totals and terms that any lost, duplicated or altered
# document would change; and a few documents by id (first and last of
# every 40th body).
cat >"$OUT/fingerprint.query" <<'EOF'
{"size": 0, "track_total_hits": true, "aggs": {
  "elapsed": {"sum": {"field": "elapsed"}}, "bytes": {"sum": {"field": "bytes"}},
  "sent_bytes": {"sum": {"field": "sent_bytes"}}, "latency": {"sum": {"field": "latency"}},
  "connect": {"sum": {"field": "connect"}}, "idle_time": {"sum": {"field": "idle_time"}},
  "all_threads": {"sum": {"field": "all_threads"}}, "grp_threads": {"sum": {"field": "grp_threads"}},
  "first": {"min": {"field": "@timestamp"}}, "last": {"max": {"field": "@timestamp"}},
  "failed": {"filter": {"term": {"success": false}}},
  "labels": {"terms": {"field": "label", "size": 100}},
  "codes": {"terms": {"field": "response_code", "size": 100}},
  "messages": {"cardinality": {"field": "failure_message"}},
  "threads": {"cardinality": {"field": "thread"}},
  "urls": {"terms": {"field": "url", "size": 100}},
  "bee": {"terms": {"field": "bee"}}, "run_id": {"terms": {"field": "run_id"}}}}
EOF
"$PY" - "$OUT" "${CHUNKS[@]}" <<'EOF'
import json, sys
out, *chunks = sys.argv[1:]
ids = []
for c in chunks[::40] + chunks[-1:]:
    with open(c, encoding="utf-8") as f:
        lines = f.read().splitlines()
    for action in (lines[0], lines[-2]):
        ids.append(json.loads(action)["index"]["_id"])
with open(f"{out}/mget.query", "w") as f:
    json.dump({"ids": ids}, f)
EOF

# wait_quiet: waits until the rest of the machine (OpenSearch aside) used
# at most QUIET cpus over 2 s; after QUIET_WAIT s it goes on anyway.
wait_quiet() {
    [ -r /proc/stat ] || return 0
    local start=$SECONDS b0 c0 b1 c1 others
    while :; do
        b0=$(sys_busy) c0=$(os_cpu)
        sleep 2
        b1=$(sys_busy) c1=$(os_cpu)
        others=$(awk -v a="$b0" -v b="$b1" -v c="$c0" -v d="$c1" 'BEGIN {printf "%.2f", (b - a - (d - c)) / 2}')
        if awk -v o="$others" -v q="$QUIET" 'BEGIN {exit !(o <= q)}'; then
            return 0
        fi
        if ((SECONDS - start >= QUIET_WAIT)); then
            say "   still $others cpus of other work after ${QUIET_WAIT}s: going on"
            return 0
        fi
        if (((SECONDS - start) % 60 < 7)); then
            say "   waiting for other work to stop ($others cpus busy)"
        fi
        sleep 5
    done
}

# one_run SIDE RUN: one timed run into a fresh index; appends its line to
# $OUT/runs.txt: side run wall cpu rss rss_source refresh count os_cpu busy.
one_run() {
    local side=$1 i=$2 idx cpu0 busy0 cpu1 busy1 ok
    if [ "$side" = a ]; then idx=$IDX_A; else idx=$IDX_B; fi
    curl -s -o /dev/null -X DELETE "$ES/$idx"
    cat "$DATA" "${CHUNKS[@]}" >/dev/null  # warm page cache for both
    sleep "$SETTLE"
    wait_quiet
    cpu0=$(os_cpu) busy0=$(sys_busy)
    printf '%s %s ' "$side" "$i" >>"$OUT/runs.txt"
    if [ "$side" = a ]; then
        if ! "$PY" "$BENCH/measure.py" --stdout "$OUT/a-$i.out" -- \
            "$BIN" ship "$DATA" --es "$ES" --index "$IDX_A" --bee "$BEE" --run-id "$RUN_ID" \
            2>"$OUT/a-$i.err" | tr -d '\n' >>"$OUT/runs.txt"; then
            say "error: stampede ship failed:"; cat "$OUT/a-$i.err" >&2; status=1
        fi
    else
        if ! "$PY" "$BENCH/measure.py" --stdout "$OUT/b-$i.out" -- "${RAW_CMD[@]}" \
            2>"$OUT/b-$i.err" | tr -d '\n' >>"$OUT/runs.txt"; then
            say "error: raw _bulk failed:"; cat "$OUT/b-$i.err" >&2; status=1
        fi
    fi
    cpu1=$(os_cpu) busy1=$(sys_busy)
    check "$side" "$i" "$idx"
    printf ' %s %s\n' "$("$PY" -c "print(f'{$cpu1 - $cpu0:.2f}')")" \
        "$("$PY" -c "print(f'{float(\"$busy1\") - float(\"$busy0\"):.2f}')")" >>"$OUT/runs.txt"
    if [ "$side" = b ]; then
        # The answers (~900 KB per body): all must say errors:false.
        ok=$(grep -o '"errors":false' "$OUT/b-$i.out" | wc -l | tr -d ' ')
        if [ "$ok" -ne "${#CHUNKS[@]}" ]; then
            say "error: $ok of ${#CHUNKS[@]} _bulk answers say \"errors\":false (see $OUT/b-$i.out)"
            status=1
        else
            # "took": the cluster's own time per request, in ms.
            grep -o '"took":[0-9]*' "$OUT/b-$i.out" | awk -F: '{t += $2} END {print t / 1000}' \
                >>"$OUT/took.txt"
            head -c 1000 "$OUT/b-$i.out" >"$OUT/b-$i.head" && rm "$OUT/b-$i.out"
        fi
    fi
}

say "== $DATA: $ROWS rows, $BYTES bytes; $RUNS runs per side, alternating; $ES"
say "   a: $VERSION ship (copy of $STAMPEDE_BIN)"
say "   b: ${#CHUNKS[@]} pre-built bodies, curl ($RAW)"
rm -f "$OUT"/fingerprint-*.json "$OUT"/sample-*.json "$OUT"/mapping-*.json \
    "$OUT"/[ab]-*.out "$OUT"/[ab]-*.err "$OUT"/b-*.head
: >"$OUT/runs.txt"
: >"$OUT/noisy.txt"
: >"$OUT/took.txt"
status=0
for ((i = 1; i <= RUNS; i++)); do
    for side in a b; do
        for ((attempt = 0; ; attempt++)); do
            one_run $side $i
            line=$(tail -n 1 "$OUT/runs.txt")
            say "   $side run $i: $(awk -v r="$ROWS" '{printf "%.0f rows/s, %ss wall, %ss cpu, %s MiB, refresh %ss, count %s, OpenSearch cpu %ss, others %.2fs", r/$3, $3, $4, $5, $7, $8, $9, $10-$9-$4}' <<<"$line")"
            # Other work took more than QUIET cpus on average: redo the run.
            if awk -v q="$QUIET" '{exit !(($10 - $9 - $4) / $3 > q)}' <<<"$line" &&
                ((attempt < REDO)); then
                say "   (other work competed for the cpus: run again)"
                printf '%s\n' "$line" >>"$OUT/noisy.txt"
                sed -i.bak '$d' "$OUT/runs.txt" && rm -f "$OUT/runs.txt.bak"
                continue
            fi
            break
        done
    done
done

# --- report ------------------------------------------------------------------
QUIET=$QUIET "$PY" - "$OUT" "$ROWS" "$BYTES" "$GOAL_PCT" "$VERSION" "$STAMPEDE_BIN" "$RAW" \
    "$(es GET "" | jget 'j["version"].get("distribution", "elasticsearch") + " " + j["version"]["number"]')" \
    <<'EOF' || status=1
import glob, os, platform, statistics, sys

out, rows, size, goal, version, binary, raw, cluster = sys.argv[1:]
rows, size, goal = int(rows), int(size), float(goal)
runs = {"a": [], "b": []}
for line in open(os.path.join(out, "runs.txt")):
    f = line.split()
    side, wall, cpu, rss, src, refresh, count, os_cpu, busy = (
        f[0], *map(float, f[2:5]), f[5], float(f[6]), int(f[7]), float(f[8]), float(f[9]))
    # CPU the rest of the machine took meanwhile: other work competing.
    others = busy - os_cpu - cpu
    runs[side].append(dict(wall=wall, cpu=cpu, rss=rss, src=src, refresh=refresh, count=count,
                           os_cpu=os_cpu, others=others))
med = lambda side, k: statistics.median(r[k] for r in runs[side])

cpu_model = "?"
try:
    with open("/proc/cpuinfo") as fh:
        cpu_model = next(l.split(":", 1)[1].strip() for l in fh if l.startswith("model name"))
except (OSError, StopIteration):
    pass
print()
print(f"machine : {cpu_model}, {os.cpu_count()} cpus, {platform.system()} {platform.release()}")
print(f"cluster : {cluster}, same host")
print(f"input   : {rows:,} rows, {size / 1e6:.1f} MB JTL; {len(runs['a'])} runs per side, "
      f"alternating; medians; max RSS: max of the runs ({runs['a'][0]['src']})")
print(f"a       : {version} ship ({binary})")
print(f"b       : curl, pre-built bodies of 5000 docs, " +
      ("one curl --next per body, one connection" if raw == "next" else "one curl per body"))
print()
names = {"a": "a: stampede ship", "b": "b: raw _bulk (curl)"}
print(f"{'side':<22} {'rows/s':>9} {'wall s':>8} {'CPU s':>7} {'CPU s/M rows':>13} "
      f"{'max RSS MiB':>12} {'OS CPU s':>9} {'others s':>9} {'refresh s':>10}  runs (rows/s)")
for s, name in names.items():
    rate = rows / med(s, "wall")
    per_run = " ".join(f"{rows / r['wall']:,.0f}" for r in runs[s])
    print(f"{name:<22} {rate:>9,.0f} {med(s, 'wall'):>8.2f} {med(s, 'cpu'):>7.2f} "
          f"{med(s, 'cpu') / rows * 1e6:>13.2f} {max(r['rss'] for r in runs[s]):>12.1f} "
          f"{med(s, 'os_cpu'):>9.1f} {med(s, 'others'):>9.1f} {med(s, 'refresh'):>10.3f}  {per_run}")
pct = med("b", "wall") / med("a", "wall") * 100
print()
print("OS CPU s: the cluster's process CPU (user+sys) while the side ran, from _nodes/stats;")
print(f"          {os.cpu_count()} cpus allow up to {os.cpu_count()} s per wall second")
print("others s: CPU the rest of the machine used meanwhile (/proc/stat busy - OS - side):")
print(f"          competing work; runs where it took over QUIET={os.environ.get('QUIET', '0.2')} cpus were redone")
worst = max(r["others"] / r["wall"] for s in runs for r in runs[s])
if worst == worst and worst > float(os.environ.get("QUIET", "0.2")):
    print(f"WARNING : other work took up to {worst:.2f} cpus during a run: rerun on a quiet machine")
pairs = [b["wall"] / a["wall"] * 100 for a, b in zip(runs["a"], runs["b"])]
print(f"pairs   : stampede's rows/s as % of raw, run by run: "
      + " ".join(f"{p:.1f}%" for p in pairs) + f" (median {statistics.median(pairs):.1f}%)")
took = [float(l) for l in open(os.path.join(out, "took.txt"))]
if took:
    print(f"took    : the cluster's own time in b's _bulk answers (sum of took): "
          f"{statistics.median(took):.2f} s of b's {med('b', 'wall'):.2f} s wall (median)")
noisy = sum(1 for _ in open(os.path.join(out, "noisy.txt")))
if noisy:
    print(f"redone  : {noisy} runs disturbed by other work (kept in {out}/noisy.txt)")
print(f"stampede: {pct:.1f}% of raw's rows/s; "
      f"{med('a', 'wall') - med('b', 'wall'):+.2f} s wall, "
      f"{med('a', 'cpu') - med('b', 'cpu'):+.2f} s CPU against curl")

ok = True
def gate(label, passed, detail):
    global ok
    print(f"check {label:<40} {'PASS' if passed else 'FAIL'} ({detail})")
    ok &= passed

counts = [r["count"] for s in runs for r in runs[s]]
gate(f"every run indexed {rows:,} docs", all(c == rows for c in counts),
     "counts " + " ".join(map(str, counts)))
read = lambda p: open(p).read()
gate("a and b have the same mapping", read(f"{out}/mapping-a.json") == read(f"{out}/mapping-b.json"),
     f"{out}/mapping-[ab].json")
fps = sorted(glob.glob(f"{out}/fingerprint-*.json"))
gate("all runs have the same fingerprint", len({read(p) for p in fps}) == 1,
     f"{len(fps)} runs: sums, min/max, terms")
samples = sorted(glob.glob(f"{out}/sample-*.json"))
gate("sampled documents equal by id", len({read(p) for p in samples}) == 1 and "null" not in read(samples[0]),
     f"{len(open(f'{out}/mget.query').read().split(','))} ids")
gate(f"stampede >= {goal:g}% of raw rows/s", pct >= goal, f"{pct:.1f}%")
sys.exit(0 if ok else 1)
EOF

say ""
if [ "$status" -eq 0 ]; then
    say "== all checks and the goal met"
else
    say "== FAILED: see above"
fi
exit "$status"
