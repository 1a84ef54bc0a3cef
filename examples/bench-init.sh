#!/usr/bin/env bash
# Benchmark: wall time of `keyless init --yes --apply` on a fresh account (the whole first-time
# set-up with every answer as a flag: one repository, main branch, S3 deploy preset), each round
# on a fresh test-kit IAM/STS. Reports min/median/max over ROUNDS, then the requests the last run
# made by action (the kit's /_kit/calls) and its sequential round trips (/_kit/round_trips: a
# request's depth is one more than the deepest request already answered when it arrived;
# meaningful with a latency).
#   bash examples/bench-init.sh [ROUNDS] [LATENCY_MS]      (defaults 7 and 50; release build)
# KEYLESS_BIN=PATH times another keyless build (e.g. one from before a change) against the same kit.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-7}
export KEYLESS_TESTKIT_LATENCY_MS=${2:-50}
cargo build --quiet --locked --release -p keyless -p keyless-testkit
k=${KEYLESS_BIN:-target/release/keyless}
export AWS_REGION=us-east-1 AWS_MAX_ATTEMPTS=1 AWS_EC2_METADATA_DISABLED=true
export AWS_ACCESS_KEY_ID=AKIAKEYLESSBENCH0000 AWS_SECRET_ACCESS_KEY=local-bench-not-a-secret
unset AWS_PROFILE AWS_SESSION_TOKEN GH_TOKEN GITHUB_TOKEN
times=()
calls=""
trips=""
for _ in $(seq "$rounds"); do
  dir=$(mktemp -d)
  coproc KIT { target/release/keyless-testkit; }
  read -r endpoint <&"${KIT[0]}"
  export AWS_ENDPOINT_URL="$endpoint"
  t=$(date +%s%N)
  "$k" -c "$dir/keyless.toml" -q init --yes --repo octo-org/site --branch main --preset s3-deploy \
    --param bucket=octo-org-site --format classic --no-github --apply > /dev/null
  times+=($(( ($(date +%s%N) - t) / 1000000 )))
  calls=$(curl -fsS "$endpoint/_kit/calls" | python3 -c 'import json,sys; c=json.load(sys.stdin); print(sum(c.values()), "requests (" + ", ".join(f"{k} {v}" for k, v in sorted(c.items())) + ")")')
  trips=$(curl -fsS "$endpoint/_kit/round_trips" | python3 -c 'import json,sys; print(json.load(sys.stdin)["round_trips"])')
  kill "$KIT_PID"; wait "$KIT_PID" 2>/dev/null || true
  rm -rf "$dir"
done
sorted=($(printf '%s\n' "${times[@]}" | sort -n))
n=${#sorted[@]}
echo "init --yes --apply, latency ${KEYLESS_TESTKIT_LATENCY_MS} ms: min ${sorted[0]} ms, median ${sorted[$((n / 2))]} ms, max ${sorted[$((n - 1))]} ms (n=$n)"
echo "  the last run: $calls, $trips sequential round trips (counted at the kit)"
