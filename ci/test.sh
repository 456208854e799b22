#!/usr/bin/env bash
# The test command (README: "Run the tests"). Starts the real services the
# tests use (LocalStack, moto, OpenSearch, LocalStack for CloudWatch, cfn-lint;
# see ci/services.sh),
# runs every test against them, and stops them again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Two steps, so that a service that fails to start stops the tests here
# (a failed command substitution inside eval would go unnoticed).
exports=$(ci/services.sh up)
eval "$exports"
trap 'ci/services.sh down >&2' EXIT
# JMeter 5.6.3, assembled from Maven artifacts and cached between runs.
JMETER_HOME=$(ci/jmeter.sh)
export JMETER_HOME
# Headless Chromium for the HTML report tests (apt-get when missing).
STAMPEDE_CHROMIUM=$(ci/chromium.sh)
export STAMPEDE_CHROMIUM
# The embedded charting library is the published release it claims to be.
ci/check-assets.sh
# Every dependency in Cargo.toml is used.
ci/unused-deps.py
# A missing service fails the tests instead of skipping them.
export STAMPEDE_REQUIRE_SERVICES=1

cargo test --locked "$@"
