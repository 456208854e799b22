#!/usr/bin/env bash
# `stampede collect` at the issue's cost point: N tagged Auto Scaling groups
# (default 200) with one hour of per-minute CPU data, default metrics, a
# one-hour window. Reports GetMetricData calls (against what batching by
# 500 allows), points, wall time and the collector's peak RSS.
#
#   eval "$(ci/services.sh up moto cloudwatch opensearch)"
#   bench/collect.sh [GROUPS]
#
# Environment:
#   STAMPEDE_BIN   binary to measure (default target/release/stampede)
#   GOAL_RSS_MIB   peak RSS must stay at or under this (30)
# Exits 1 if the call count or the RSS goal is missed. The emulators keep
# what it creates (tags are unique per run).
set -euo pipefail

COUNT=${1:-200}
GOAL_RSS_MIB=${GOAL_RSS_MIB:-30}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
STAMPEDE_BIN=${STAMPEDE_BIN:-target/release/stampede}
: "${STAMPEDE_MOTO_URL:?run: eval \"\$(ci/services.sh up)\"}" "${STAMPEDE_CLOUDWATCH_URL:?}" "${STAMPEDE_MOTO_PYTHON:?}"

say() { printf '%s\n' "$*" >&2; }
TAG=bench-$$-$(date +%s)
say "seeding $COUNT groups tagged Env=$TAG with an hour of CPU data ..."
"$STAMPEDE_MOTO_PYTHON" - "$COUNT" "$TAG" <<'PY' | STAMPEDE_MOTO_URL=$STAMPEDE_MOTO_URL AWS_ENDPOINT_URL_CLOUDWATCH=$STAMPEDE_CLOUDWATCH_URL "$STAMPEDE_MOTO_PYTHON" tests/fixtures/monitor/world.py >/dev/null
import json, sys, time
n, tag = int(sys.argv[1]), sys.argv[2]
now = int(time.time()) // 60 * 60
groups = [{"name": f"{tag}-{i}", "tags": {"Env": tag}} for i in range(n)]
metrics = [{"namespace": "AWS/EC2", "metric": "CPUUtilization",
            "dimensions": {"AutoScalingGroupName": g["name"]},
            "points": [[(now - 60 * m) * 1000, (i + m) % 100] for m in range(1, 61)]}
           for i, g in enumerate(groups)]
json.dump({"groups": groups, "metrics": metrics}, sys.stdout)
PY
LOG=$(mktemp)
ES_ARGS=()
[[ -n ${STAMPEDE_ES_URL:-} ]] && ES_ARGS=(--es "$STAMPEDE_ES_URL" --index "bench-metrics" --events-index "bench-events")
env AWS_ENDPOINT_URL="$STAMPEDE_MOTO_URL" AWS_ENDPOINT_URL_CLOUDWATCH="$STAMPEDE_CLOUDWATCH_URL" \
  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 \
  /usr/bin/time -v "$STAMPEDE_BIN" --output json collect --tag "Env=$TAG" --since 1h "${ES_ARGS[@]}" \
  >"$LOG.out" 2>"$LOG"
RESULT=$(grep '"type":"result"' "$LOG.out")
RSS_KB=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$LOG")
WALL=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$LOG")
python3 - "$RESULT" "$RSS_KB" "$WALL" "$COUNT" "$GOAL_RSS_MIB" <<'PY'
import json, math, sys
r, rss_kb, wall, groups, goal = json.loads(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
queries = r["series"]
allowed = math.ceil(queries / 500)
rss = rss_kb / 1024
print(f"{groups} groups: {queries} series, {r['points']} points, {r['calls']} GetMetricData calls "
      f"(batching by 500 allows {allowed}), {r['throttled']} throttled; wall {wall}; peak RSS {rss:.1f} MiB (goal {goal:.0f})")
ok = r["calls"] <= allowed and rss <= goal
sys.exit(0 if ok else 1)
PY
