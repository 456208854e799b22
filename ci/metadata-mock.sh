#!/usr/bin/env bash
# amazon-ec2-metadata-mock, the instance metadata service for the bee
# userdata test (tests/userdata.rs), built from its Go module with
# `go install` and cached under .services/go.
#
#   STAMPEDE_METADATA_MOCK=$(ci/metadata-mock.sh)   -> prints the binary's path on stdout
#
# Needs Go (1.21 or later) on PATH. Progress goes to stderr; stdout carries
# only the path.
set -euo pipefail

VERSION=v1.13.0
MODULE=github.com/aws/amazon-ec2-metadata-mock/cmd/ec2-metadata-mock
REPO=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
GO_HOME=$REPO/.services/go
BIN=$GO_HOME/bin/ec2-metadata-mock-$VERSION

log() { echo "ci/metadata-mock.sh: $*" >&2; }

if [ ! -x "$BIN" ]; then
    command -v go >/dev/null 2>&1 || { log "ERROR: go is not on PATH"; exit 1; }
    log "building amazon-ec2-metadata-mock $VERSION with go install"
    mkdir -p "$GO_HOME/bin"
    GOPATH=$GO_HOME/path GOBIN=$GO_HOME/bin GOFLAGS=-modcacherw \
        go install "$MODULE@$VERSION" >&2
    mv "$GO_HOME/bin/ec2-metadata-mock" "$BIN"
fi
log "amazon-ec2-metadata-mock $VERSION at $BIN"
echo "$BIN"
