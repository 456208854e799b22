#!/bin/bash
# stampede bee: boots one JMeter load generator (Amazon Linux 2023, x86_64).
#
# How this file reaches the instance:
#   1. stampede renders it as a handlebars template (the run.* values);
#   2. the template embeds it in Fn::Sub, so CloudFormation replaces the
#      dollar-brace names of stack resources, parameters and pseudo
#      parameters (ReadyHandle, DoneHandle, TargetUrl, AWS::Region, ...).
# Therefore: shell variables are written as plain $VAR, never with braces,
# in comments too, and no double braces. (Fn::Sub would pass a "!" right
# after the dollar-brace through as a literal, but LocalStack's Fn::Sub
# chokes on such a literal when it holds spaces, so this script has none.)
#
# Failure handling: until the agent runs, any failing command trips the ERR
# trap, which sends a FAILURE signal to the Ready handle (what cfn-signal
# does, done with curl: aws-cfn-bootstrap is not installed on AL2023), so
# the stack fails at once instead of after ReadyTimeout. From then on the
# agent signals Ready and Done itself.
set -Eeuo pipefail

# Everything goes to our own log and, through cloud-init, to the console
# (aws ec2 get-console-output shows it for a bee that is already gone).
LOG=/var/log/stampede-bee.log
exec > >(tee -a "$LOG") 2>&1

READY_URL='${ReadyHandle}'
DONE_URL='${DoneHandle}'
STACK='${AWS::StackName}'
REGION='${AWS::Region}'
JMETER_HOME=/opt/jmeter
WORK_DIR=/var/lib/stampede
# Until IMDS answers, the signals carry the host name as their UniqueId.
BEE_ID=$(hostname)

log() { echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) stampede-bee: $*"; }

# Make a string safe inside a JSON string: no quotes, backslashes or control
# characters, and short (the wait condition's Data ends up in a stack output).
json_safe() { printf '%s' "$1" | tr '\n\t' '  ' | tr -d '"\\\000-\037' | cut -c1-400; }

# cfn_signal URL STATUS REASON [DATA]: a wait condition signal is a PUT of a
# small JSON document to the handle's presigned URL. The empty Content-Type
# matters: the URL is signed without one. Signals with a UniqueId already
# seen are ignored by CloudFormation, so repeating one is harmless.
cfn_signal() {
  local body
  body=$(printf '{"Status":"%s","Reason":"%s","UniqueId":"%s","Data":"%s"}' \
    "$2" "$(json_safe "$3")" "$(json_safe "$BEE_ID")" "$(json_safe "$4")")
  curl -fsS --retry 5 --retry-connrefused --max-time 30 \
    -X PUT -H 'Content-Type:' --data-binary "$body" "$1"
}

# fail MESSAGE: log MESSAGE and fail with it as the signal's Reason (instead
# of the text of the failing command).
FAIL_REASON=
fail() { FAIL_REASON=$*; log "$*"; return 1; }

# The ERR trap: report the failing command and the last log lines to Ready.
# With errtrace (-E) it also fires inside functions and command
# substitutions; the marker file makes sure only the first failure is sent.
# The instance is left running: the failed stack rolls back and removes it,
# or, if rollback is disabled, it stays for debugging.
on_error() {
  local rc=$? line=$1 cmd=$2
  set +e
  trap - ERR
  [ -e /run/stampede-bee.failed ] && exit "$rc"
  touch /run/stampede-bee.failed
  log "FAILED (exit $rc) at line $line: $cmd"
  local reason=$FAIL_REASON
  [ -n "$reason" ] || reason="exit $rc at line $line: $cmd"
  cfn_signal "$READY_URL" FAILURE "bee $BEE_ID failed during setup: $reason" \
    "$(tail -n 5 "$LOG" 2>/dev/null)"
  exit "$rc"
}
trap 'on_error "$LINENO" "$BASH_COMMAND"' ERR

log "starting bee for run {{run.id}} of stack $STACK in $REGION"

# Instance id through IMDSv2 (the launch template requires tokens): it names
# the bee in its signals and its result file. The endpoint is the one the
# AWS CLI and SDKs use: AWS_EC2_METADATA_SERVICE_ENDPOINT when set (tests
# point it at amazon-ec2-metadata-mock), else the link-local address.
IMDS=$(printenv AWS_EC2_METADATA_SERVICE_ENDPOINT || true)
[ -n "$IMDS" ] || IMDS=http://169.254.169.254
[[ "$IMDS" =~ ^https?://[A-Za-z0-9.:-]+/?$ ]] || fail "unusable metadata endpoint: $(json_safe "$IMDS")"
IMDS="$(printf '%s' "$IMDS" | sed 's:/*$::')/latest"
IMDS_TOKEN=$(curl -fsS --retry 5 --retry-connrefused --max-time 10 -X PUT \
  -H 'X-aws-ec2-metadata-token-ttl-seconds: 21600' "$IMDS/api/token")
# Whatever the metadata service answers is checked before it is used.
[[ "$IMDS_TOKEN" =~ ^[A-Za-z0-9_=+/.-]{1,200}$ ]] || fail "the metadata service gave no usable token"
instance_id=$(curl -fsS --retry 5 --retry-connrefused --max-time 10 \
  -H "X-aws-ec2-metadata-token: $IMDS_TOKEN" "$IMDS/meta-data/instance-id")
[[ "$instance_id" =~ ^i-[0-9a-f]{8,17}$ ]] \
  || fail "the metadata service gave no instance id: $(json_safe "$instance_id")"
BEE_ID=$instance_id
log "instance id $BEE_ID"

# A late bee: the Auto Scaling group replaces any bee that stops, including
# the ones that powered off after their test. A replacement must not start
# a second round of load. If Ready is already complete when we boot, this is
# such a replacement: if the test is still running (Done not complete), a
# bee was lost and the run is incomplete, so fail Done now rather than at
# its timeout. Then idle until the stack is deleted; powering off would only
# make the group launch yet another replacement.
stack_resource_status() {
  aws cloudformation describe-stack-resource --region "$REGION" \
    --stack-name "$STACK" --logical-resource-id "$1" \
    --query StackResourceDetail.ResourceStatus --output text 2>/dev/null || echo NONE
}
if [ "$(stack_resource_status Ready)" = CREATE_COMPLETE ]; then
  log "Ready is already complete: this is a replacement bee, it will not run the test"
  if [ "$(stack_resource_status Done)" != CREATE_COMPLETE ]; then
    cfn_signal "$DONE_URL" FAILURE \
      "bee $BEE_ID was launched after Ready completed: a bee was lost during the test" "" || true
  fi
  trap - ERR
  exec sleep infinity
fi

# Load generator tuning: many sockets per bee. Best effort: a bee that
# cannot raise a limit still runs, and the warning is in its log.
ulimit -n 65536 || log "WARNING: could not raise the open files limit"
sysctl -q -w net.ipv4.ip_local_port_range="10240 65000" net.ipv4.tcp_tw_reuse=1 \
  || log "WARNING: could not widen the local port range"

log "installing Java"
dnf install -y -q java-17-amazon-corretto-headless

log "installing JMeter from ${JMeterUrl}"
curl -fsSL --retry 5 --retry-connrefused --max-time 600 -o /tmp/jmeter.tgz '${JMeterUrl}'
# Apache publishes a .sha512 beside every release. It comes from the same
# server, so it guards against a truncated or corrupted download; a mirror
# without one is accepted with a warning.
if curl -fsSL --retry 3 --max-time 60 -o /tmp/jmeter.tgz.sha512 '${JMeterUrl}.sha512'; then
  expected=$(awk 'NR == 1 { print tolower($1) }' /tmp/jmeter.tgz.sha512)
  actual=$(sha512sum /tmp/jmeter.tgz | awk '{ print $1 }')
  [[ "$expected" =~ ^[0-9a-f]{128}$ ]] || fail "the JMeter .sha512 file holds no SHA-512"
  if [ "$expected" != "$actual" ]; then
    fail "JMeter checksum mismatch: the .sha512 file says $expected, the download is $actual"
  fi
  log "JMeter checksum ok"
else
  log "WARNING: no checksum file beside the JMeter tarball; not verified"
fi
# JMeter and the agent write their logs and the JTL into the working dir.
mkdir -p "$JMETER_HOME" "$WORK_DIR"
cd "$WORK_DIR"
tar -xzf /tmp/jmeter.tgz -C "$JMETER_HOME" --strip-components=1
rm -f /tmp/jmeter.tgz /tmp/jmeter.tgz.sha512
"$JMETER_HOME/bin/jmeter" --version > /dev/null

# JMeter's default heap is 1 GiB whatever the instance; give it three
# quarters of the memory (bin/jmeter reads HEAP from the environment).
mem_mb=$(awk '/^MemTotal:/ { print int($2 / 1024) }' /proc/meminfo)
[[ "$mem_mb" =~ ^[0-9]+$ ]] || fail "cannot read the memory size from /proc/meminfo"
export HEAP="-Xms$((mem_mb * 3 / 4))m -Xmx$((mem_mb * 3 / 4))m -XX:MaxMetaspaceSize=256m"

# The agent: the same stampede binary, uploaded by the run. AWS CLI v2 is
# part of AL2023 and uses the instance profile.
# It is stored once per content and shared by the runs of one build, so
# its hash, known when the run rendered this script, is checked.
log "fetching the stampede agent"
aws s3 cp --region "$REGION" --only-show-errors '{{run.bee_uri}}' /usr/local/bin/stampede
BEE_SHA256='{{run.bee_sha256}}'
if [ -n "$BEE_SHA256" ]; then
  actual=$(sha256sum /usr/local/bin/stampede | awk '{ print $1 }')
  [ "$actual" = "$BEE_SHA256" ] \
    || fail "the stampede agent's SHA-256 is $actual, the run shipped $BEE_SHA256"
  log "stampede agent checksum ok"
fi
chmod +x /usr/local/bin/stampede

# What the agent needs to know beyond its config file.
export STAMPEDE_READY_URL="$READY_URL"
export STAMPEDE_DONE_URL="$DONE_URL"
export STAMPEDE_STACK="$STACK"
export STAMPEDE_REGION="$REGION"
export AWS_REGION="$REGION"
export STAMPEDE_BEE_ID="$BEE_ID"
export STAMPEDE_BEE_COUNT='${BeeCount}'
export STAMPEDE_THREADS='${ThreadsPerBee}'
export STAMPEDE_DURATION='${TestDuration}'
export STAMPEDE_TARGET_URL='${TargetUrl}'
export JMETER_HOME
export PATH="$JMETER_HOME/bin:$PATH"

# Spot: EC2 posts an interruption notice in the metadata two minutes before
# it reclaims a Spot instance. A bee that sees one fails Done with it, so
# the run names the interruption rather than a lost bee. (On-demand bees
# get 404 here, which costs two local requests every 5 s.) The notice is
# sanitised by cfn_signal before it reaches the signal's JSON.
spot_watch() {
  local token action
  while sleep 5; do
    token=$(curl -fsS --max-time 2 -X PUT \
      -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' "$IMDS/api/token" 2>/dev/null) || continue
    action=$(curl -fsS --max-time 2 -H "X-aws-ec2-metadata-token: $token" \
      "$IMDS/meta-data/spot/instance-action" 2>/dev/null) || continue
    cfn_signal "$DONE_URL" FAILURE \
      "bee $BEE_ID got an EC2 Spot interruption notice: $action" "" || true
    log "EC2 Spot interruption notice: $(json_safe "$action")"
    return 0
  done
}

# From here on the agent owns the signals; a failure must not trip the trap.
trap - ERR
set +e
spot_watch &
spot_watcher=$!
log "running: stampede bee --config {{run.config_uri}}"
/usr/local/bin/stampede bee --config '{{run.config_uri}}'
rc=$?
kill "$spot_watcher" 2>/dev/null
set -e
log "agent exited with status $rc"

# Safety net for an agent that died without signalling: FAILURE to both
# handles. If it did signal, these repeat its UniqueId and are ignored.
if [ "$rc" -ne 0 ]; then
  reason="stampede bee on $BEE_ID exited with status $rc"
  tail_of_log=$(tail -n 5 "$LOG" 2>/dev/null || true)
  cfn_signal "$READY_URL" FAILURE "$reason" "$tail_of_log" || true
  cfn_signal "$DONE_URL" FAILURE "$reason" "$tail_of_log" || true
fi

# The test is over: power off, which terminates the instance
# (InstanceInitiatedShutdownBehavior). The replacement the Auto Scaling group
# may launch idles, see "A late bee" above.
log "shutting down"
shutdown -h now
