#!/usr/bin/env bash
# Benchmark: wall time of `keyless check` (in sync) over 1, 50 and 200 roles on the local IAM.
# Each role has one subject and the s3-deploy preset, so check reads the provider, the role
# (GetRole with its tags, inline and attached policies) and one managed policy per role.
#   bash examples/bench-check.sh [ROUNDS] [CONCURRENCY] [LATENCY_MS]   (defaults 7, 8, 0; release build)
# KEYLESS_BIN=PATH times another keyless build (e.g. one from before a change) against the same kit.
# LATENCY_MS delays every IAM/STS call in the kit during the timed checks (set after the setup
# apply), to stand for a runner ~50–100 ms from IAM. SIZES="1 50 200 1000" picks the role counts.
# CMD=audit times `keyless audit` over the same account instead of check.
# After the timings it prints the calls one check made, by action (from the kit's /_kit/calls),
# and the sequential round trips of the last run (the kit's /_kit/round_trips, meaningful with a
# latency).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-7}
conc=${2:-8}
latency=${3:-0}
cmd=${CMD:-check}
cargo build --quiet --locked --release -p keyless -p keyless-testkit
k=${KEYLESS_BIN:-target/release/keyless}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export AWS_REGION=us-east-1 AWS_MAX_ATTEMPTS=1 AWS_EC2_METADATA_DISABLED=true
export AWS_ACCESS_KEY_ID=AKIAKEYLESSBENCH0000 AWS_SECRET_ACCESS_KEY=local-bench-not-a-secret
stats() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {printf "min %d ms, median %d ms, max %d ms (n=%d)", a[1], a[int((NR+1)/2)], a[NR], NR}'; }
for n in ${SIZES:-1 50 200}; do
  : > "$dir/keyless.toml"
  for i in $(seq "$n"); do
    printf '[[role]]\nname = "gha-app-%03d"\n  [[role.subject]]\n  repo = "octo-org/app-%03d"\n  branch = "main"\n  [[role.preset]]\n  name = "s3-deploy"\n  params = { bucket = "octo-org-app-%03d" }\n' "$i" "$i" "$i" >> "$dir/keyless.toml"
  done
  coproc KIT { target/release/keyless-testkit; }
  read -r endpoint <&"${KIT[0]}"
  export AWS_ENDPOINT_URL="$endpoint"
  $k -c "$dir/keyless.toml" -q apply --yes > /dev/null
  curl -fsS -X POST "$endpoint/_kit/latency?ms=$latency"
  times=()
  for _ in $(seq "$rounds"); do
    curl -fsS -X POST "$endpoint/_kit/reset"
    curl -fsS "$endpoint/_kit/calls" > "$dir/before.json"
    t=$(date +%s%N)
    if [ "$cmd" = audit ]; then $k -q audit > /dev/null; else $k -c "$dir/keyless.toml" -q check --concurrency "$conc" > /dev/null; fi
    times+=("$(( ($(date +%s%N) - t) / 1000000 ))")
  done
  curl -fsS "$endpoint/_kit/calls" > "$dir/after.json"
  trips=$(curl -fsS "$endpoint/_kit/round_trips" | python3 -c 'import json,sys; print(json.load(sys.stdin)["round_trips"])')
  kill "$KIT_PID"; wait "$KIT_PID" 2>/dev/null || true
  echo "$cmd, $n role(s), concurrency $conc, latency $latency ms: $(stats "${times[@]}"); the last run: $trips sequential round trips (counted at the kit)"
  python3 - "$dir/before.json" "$dir/after.json" <<'PY'
import json, sys
before, after = (json.load(open(p)) for p in sys.argv[1:3])
calls = {k.split(":", 1)[1]: n - before.get(k, 0) for k, n in after.items() if n - before.get(k, 0)}
print(f"  calls per run: {sum(calls.values())} ({', '.join(f'{a} {n}' for a, n in sorted(calls.items()))})")
PY
done
