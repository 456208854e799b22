#!/usr/bin/env bash
# Debian's headless Chromium for the report tests (tests/report.rs).
#
#   STAMPEDE_CHROMIUM=$(ci/chromium.sh)   -> prints the chromium path on stdout
#
# Installs the `chromium` package with apt-get when it is missing (as root,
# or through sudo). Progress goes to stderr; stdout carries only the path.
set -euo pipefail

log() { echo "ci/chromium.sh: $*" >&2; }

if ! command -v chromium >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    log "installing Debian's chromium"
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >&2
fi
path=$(command -v chromium)
log "$("$path" --version 2>/dev/null || echo chromium) at $path"
echo "$path"
