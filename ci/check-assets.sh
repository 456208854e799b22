#!/usr/bin/env bash
# The charting library embedded in report.html is a pinned npm release,
# committed under assets/uplot/ (so `cargo install` needs no npm). This
# fetches the same release with `npm pack` and checks that the committed
# files are byte for byte the published ones, and match the hashes in
# assets/uplot/VERSION.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

meta=assets/uplot/VERSION
name=$(sed -n 's/^name=//p' "$meta")
version=$(sed -n 's/^version=//p' "$meta")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent "$name@$version" >/dev/null && tar xzf ./*.tgz)
status=0
for pair in dist/uPlot.iife.min.js:uPlot.iife.min.js dist/uPlot.min.css:uPlot.min.css LICENSE:LICENSE; do
    published=$work/package/${pair%%:*}
    committed=assets/uplot/${pair##*:}
    want=$(sed -n "s/^sha256 ${pair##*:}=//p" "$meta")
    got=$(sha256sum "$committed" | cut -d' ' -f1)
    if ! cmp -s "$published" "$committed"; then
        echo "ci/check-assets.sh: $committed differs from $name@$version's ${pair%%:*}" >&2
        status=1
    elif [ "$got" != "$want" ]; then
        echo "ci/check-assets.sh: $committed has sha256 $got, $meta says $want" >&2
        status=1
    else
        echo "ok  $committed = $name@$version ${pair%%:*} ($got)" >&2
    fi
done
exit $status
