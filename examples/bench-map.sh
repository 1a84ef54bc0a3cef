#!/usr/bin/env bash
# Trust-map pages of 1, 200 and 1,000 roles (20 accounts) in headless Chromium: the page's size,
# the time its own script reports at the end of layout (data-render-ms, performance.now() from
# navigation start), and Chromium's whole run (start-up included), medians of ROUNDS runs.
# Usage: bash examples/bench-map.sh [ROUNDS]   (needs Debian's chromium: tests/outside-tools.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-5}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
cargo run -q --example trust_map_pages -- "$out" ${SIZES:-1 200 1000} > "$out/pages"
printf '%-8s %10s %12s %12s\n' roles bytes render_ms chromium_ms
while read -r page; do
  n="$(basename "$page" .html)"; n="${n#map-}"
  renders=(); walls=()
  for _ in $(seq "$rounds"); do
    profile="$(mktemp -d)"
    start=$(date +%s%N)
    dom="$(chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
      --disable-background-networking --disable-component-update --disable-sync \
      --user-data-dir="$profile" --dump-dom "file://$page" 2>/dev/null)"
    end=$(date +%s%N)
    rm -rf "$profile"
    renders+=("$(grep -o 'data-render-ms="[0-9]*"' <<<"$dom" | grep -o '[0-9]*')")
    walls+=("$(( (end - start) / 1000000 ))")
  done
  median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
  printf '%-8s %10s %12s %12s\n' "$n" "$(wc -c < "$page")" "$(median "${renders[@]}")" "$(median "${walls[@]}")"
done < "$out/pages"
