#!/usr/bin/env bash
# keyless end to end on the example config, offline: lint, render, the GitHub-side wiring, and
# the real token exchange against the local IAM/STS of the test kit (in-process fakecloud).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --locked
k=target/debug/keyless
cfg=examples/keyless.toml

echo "### keyless lint -c $cfg"
$k lint -c "$cfg"
echo
echo "### keyless render -c $cfg"
$k render -c "$cfg"
echo
echo "### keyless emit variable -c $cfg"
$k emit variable -c "$cfg"
echo
echo "### keyless emit workflow -c $cfg"
$k emit workflow -c "$cfg"
echo
echo "### a rendered trust policy, exchanged for credentials on the local IAM/STS"
cargo test --quiet --locked --test integration kit:: 2>&1 | tail -n 3
