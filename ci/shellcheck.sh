#!/usr/bin/env bash
# Debian's shellcheck for the bee userdata test (tests/userdata.rs).
#
#   STAMPEDE_SHELLCHECK=$(ci/shellcheck.sh)   -> prints the shellcheck path on stdout
#
# Installs the `shellcheck` package with apt-get when it is missing (as root,
# or through sudo). Progress goes to stderr; stdout carries only the path.
set -euo pipefail

log() { echo "ci/shellcheck.sh: $*" >&2; }

if ! command -v shellcheck >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    log "installing Debian's shellcheck"
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq shellcheck >&2
fi
path=$(command -v shellcheck)
log "$("$path" --version | sed -n 's/^version: /shellcheck /p') at $path"
echo "$path"
