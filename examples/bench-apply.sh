#!/usr/bin/env bash
# Benchmark: wall time of `keyless apply --yes` on a fresh local IAM (first apply) and of a
# re-apply with nothing to change, for the common scenario (one repository, main branch, S3
# deploy preset). Each round starts a fresh test-kit IAM/STS. Reports min/median/max over N rounds.
#   bash examples/bench-apply.sh [ROUNDS] [LATENCY_MS]      (defaults 15 and 0; release build)
# LATENCY_MS delays every IAM/STS call in the kit, to stand for a runner ~50–100 ms from IAM.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-15}
export KEYLESS_TESTKIT_LATENCY_MS=${2:-0}
cargo build --quiet --locked --release -p keyless -p keyless-testkit
k=target/release/keyless
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cat > "$dir/keyless.toml" <<'TOML'
[[role]]
name = "gha-site"
  [[role.subject]]
  repo = "octo-org/site"
  branch = "main"
  [[role.preset]]
  name = "s3-deploy"
  params = { bucket = "octo-org-site" }
TOML
export AWS_REGION=us-east-1 AWS_MAX_ATTEMPTS=1 AWS_EC2_METADATA_DISABLED=true
export AWS_ACCESS_KEY_ID=AKIAKEYLESSBENCH0000 AWS_SECRET_ACCESS_KEY=local-bench-not-a-secret
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
first=(); again=()
for _ in $(seq "$rounds"); do
  coproc KIT { target/release/keyless-testkit; }
  read -r endpoint <&"${KIT[0]}"
  export AWS_ENDPOINT_URL="$endpoint"
  t=$(date +%s%N); $k -c "$dir/keyless.toml" -q apply --yes > /dev/null; first+=("$(ms "$t")")
  t=$(date +%s%N); $k -c "$dir/keyless.toml" -q apply --yes > /dev/null; again+=("$(ms "$t")")
  kill "$KIT_PID"; wait "$KIT_PID" 2>/dev/null || true
done
stats() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {printf "min %d ms, median %d ms, max %d ms (n=%d)\n", a[1], a[int((NR+1)/2)], a[NR], NR}'; }
echo "first apply (8 calls: 4 reads, 4 writes): $(stats "${first[@]}")"
echo "re-apply    (9 reads, 0 writes):           $(stats "${again[@]}")"
