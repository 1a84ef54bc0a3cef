#!/usr/bin/env bash
# Benchmark: wall time of `keyless check` across N member accounts of one config ([accounts]),
# one account at a time vs several at once, on the local IAM/STS with a fixed delay per call.
# Each account holds the common scenario (one role, S3 deploy preset), applied once first.
#   bash examples/bench-accounts.sh [ROUNDS] [LATENCY_MS] [ACCOUNTS]   (defaults 3, 50, 20)
# KEYLESS_BIN=PATH times another keyless build (e.g. one from before a change) against the same kit.
# CONCURRENCY="1 8 default" picks the --account-concurrency values compared (`default`: no flag).
# Beside each wall time it prints the requests and the sequential round trips of the last run,
# counted by the kit (/_kit/calls, /_kit/round_trips).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
latency=${2:-50}
n=${3:-20}
cargo build --quiet --locked --release -p keyless -p keyless-testkit
k=${KEYLESS_BIN:-target/release/keyless}
dir=$(mktemp -d)
trap 'rm -rf "$dir"; [ -n "${KIT_PID:-}" ] && kill "$KIT_PID" 2>/dev/null || true' EXIT
export AWS_REGION=us-east-1 AWS_MAX_ATTEMPTS=3 AWS_EC2_METADATA_DISABLED=true
export AWS_ACCESS_KEY_ID=AKIAKEYLESSBENCH0000 AWS_SECRET_ACCESS_KEY=local-bench-not-a-secret
coproc KIT { target/release/keyless-testkit; }
read -r endpoint <&"${KIT[0]}"
export AWS_ENDPOINT_URL="$endpoint"
ids=()
for i in $(seq "$n"); do
  id=$(printf '9%011d' "$i")
  ids+=("\"$id\"")
  curl -fsS -X POST "$endpoint/_kit/account?id=$id&role=OrganizationAccountAccessRole"
done
{
  printf 'name = "bench"\n[accounts]\nids = [%s]\n' "$(IFS=,; echo "${ids[*]}")"
  printf '[[role]]\nname = "gha-site"\n  [[role.subject]]\n  repo = "octo-org/site"\n  branch = "main"\n'
  printf '  [[role.preset]]\n  name = "s3-deploy"\n  params = { bucket = "octo-site-${account.id}" }\n'
} > "$dir/keyless.toml"
$k -c "$dir/keyless.toml" -q --no-github --account-concurrency 8 apply --yes > /dev/null
curl -fsS -X POST "$endpoint/_kit/latency?ms=$latency"
stats() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {printf "min %d ms, median %d ms, max %d ms (n=%d)", a[1], a[int((NR+1)/2)], a[NR], NR}'; }
count() { # requests round_trips
  python3 -c 'import json,sys; print(sum(json.loads(sys.argv[1]).values()), json.loads(sys.argv[2])["round_trips"])' \
    "$(curl -fsS "$endpoint/_kit/calls")" "$(curl -fsS "$endpoint/_kit/round_trips")"
}
for c in ${CONCURRENCY:-1 8 default}; do
  times=()
  flag=(--account-concurrency "$c"); [ "$c" = default ] && flag=()
  for _ in $(seq "$rounds"); do
    curl -fsS -X POST "$endpoint/_kit/reset" > /dev/null
    t=$(date +%s%N)
    $k -c "$dir/keyless.toml" -q --no-github "${flag[@]}" check > /dev/null
    times+=("$(( ($(date +%s%N) - t) / 1000000 ))")
  done
  read -r requests trips < <(count)
  echo "check, $n accounts, --account-concurrency $c, latency $latency ms: $(stats "${times[@]}"); $requests requests, $trips round trips"
done
