#!/usr/bin/env bash
# Regenerates docs/trust-map.png, README's picture of the trust map: the browser test applies
# examples/multi-role.toml to the test kit beside three risky roles made by hand, writes
# `keyless audit --html`, and has headless Chromium take the screenshot.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/outside-tools.sh
cargo test --test integration -- --exact --quiet \
  trust_map::the_map_renders_in_chromium_with_nothing_fetched_and_the_risky_edges_marked
mkdir -p docs
cp target/trust-map/audit.png docs/trust-map.png
echo "docs/trust-map.png: $(wc -c < docs/trust-map.png) bytes"
