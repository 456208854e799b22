#!/usr/bin/env bash
# The AWS CLI that the bee script (templates/userdata/bee.sh) calls, for its
# end-to-end test (tests/userdata_e2e.rs). Amazon Linux 2023 ships one;
# this machine may not.
#
#   STAMPEDE_AWS_CLI=$(ci/awscli.sh)   -> prints the `aws` executable's path on stdout
#
# Uses `aws` from PATH when there is one, else installs the pinned awscli
# from PyPI into .services/awscli-venv. Progress goes to stderr.
set -euo pipefail

VERSION=1.45.11
REPO=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
VENV=$REPO/.services/awscli-venv

log() { echo "ci/awscli.sh: $*" >&2; }

if command -v aws >/dev/null 2>&1 && aws --version >/dev/null 2>&1; then
    path=$(command -v aws)
elif [ -x "$VENV/bin/aws" ]; then
    path=$VENV/bin/aws
else
    log "installing awscli $VERSION into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q "awscli==$VERSION" >&2
    path=$VENV/bin/aws
fi
log "$("$path" --version 2>&1) at $path"
echo "$path"
