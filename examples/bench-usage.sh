#!/usr/bin/env bash
# Benchmark: `keyless usage` (and `keyless tighten`, shown only) for ROLES config roles over 90 days
# of CloudTrail management events on the local kit, with LATENCY_MS added to every call and the
# kit holding CloudTrail's documented pace (2 LookupEvents per second per account per Region;
# above it answers ThrottlingException, as AWS does).
#   bash examples/bench-usage.sh [ROLES] [EVENTS] [LATENCY_MS] [REGIONS]   (defaults 50 5000 50 us-east-1)
# KEYLESS_BIN=PATH times another keyless build (e.g. one from before a change) against the same kit.
# It prints the wall time, the requests by action (from the kit's /_kit/calls) and where the
# time goes: last-accessed jobs (started and polled together), then event history, one
# stream per Region read at once, each paced to 2 requests a second (50 events a page).
set -euo pipefail
cd "$(dirname "$0")/.."
roles=${1:-50}
events=${2:-5000}
latency=${3:-50}
regions=${4:-us-east-1}
cargo build --quiet --locked --release -p keyless -p keyless-testkit
k=${KEYLESS_BIN:-target/release/keyless}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export AWS_REGION=us-east-1 AWS_MAX_ATTEMPTS=1 AWS_EC2_METADATA_DISABLED=true
export AWS_ACCESS_KEY_ID=AKIAKEYLESSBENCH0000 AWS_SECRET_ACCESS_KEY=local-bench-not-a-secret
: > "$dir/keyless.toml"
for i in $(seq "$roles"); do
  printf '[[role]]\nname = "gha-app-%03d"\n  [[role.subject]]\n  repo = "octo-org/app-%03d"\n  branch = "main"\n  [[role.preset]]\n  name = "s3-deploy"\n  params = { bucket = "octo-org-app-%03d" }\n' "$i" "$i" "$i" >> "$dir/keyless.toml"
done
coproc KIT { target/release/keyless-testkit; }
read -r endpoint <&"${KIT[0]}"
export AWS_ENDPOINT_URL="$endpoint"
$k -c "$dir/keyless.toml" -q --no-github apply --yes > /dev/null
curl -fsS -X POST "$endpoint/_kit/usage/synthetic?prefix=gha-app-&roles=$roles&events=$events&days=90&regions=$regions"
curl -fsS -X POST "$endpoint/_kit/latency?ms=$latency"
calls() { curl -fsS "$endpoint/_kit/calls"; }
run() {
  local name=$1; shift
  curl -fsS -X POST "$endpoint/_kit/reset"
  calls > "$dir/before.json"
  local t; t=$(date +%s%N)
  "$@" > "$dir/out.json" || [ $? -eq 2 ]
  local ms=$(( ($(date +%s%N) - t) / 1000000 ))
  calls > "$dir/after.json"
  local trips; trips=$(curl -fsS "$endpoint/_kit/round_trips" | python3 -c 'import json,sys; print(json.load(sys.stdin)["round_trips"])')
  python3 - "$name" "$ms" "$dir/before.json" "$dir/after.json" "$dir/out.json" "$trips" <<'PY'
import json, sys
name, ms, trips = sys.argv[1], int(sys.argv[2]), sys.argv[6]
before, after = (json.load(open(p)) for p in sys.argv[3:5])
out = json.load(open(sys.argv[5]))
calls = {k.split(":", 1)[1]: n - before.get(k, 0) for k, n in after.items() if n - before.get(k, 0)}
read = out.get("read", {})
print(f"{name}: {ms} ms, {sum(calls.values())} requests in {trips} sequential round trips ({', '.join(f'{a} {n}' for a, n in sorted(calls.items()))})")
print(f"  events {read.get('events')}, LookupEvents {read.get('lookups')} (throttled {read.get('throttled')}), "
      f"last-accessed jobs {read.get('jobs_started')} + polls {read.get('job_polls')}, Regions {read.get('regions')}")
PY
}
run "usage, $roles roles, $events events, $latency ms" $k -c "$dir/keyless.toml" -q --no-github usage --output json
run "tighten (shown, not written)" $k -c "$dir/keyless.toml" -q --no-github tighten --min-days 0 --output json
kill "$KIT_PID"; wait "$KIT_PID" 2>/dev/null || true
pages=$(( (events + 49) / 50 ))
echo "floor: event history is $pages page(s) at 2 a second per Region: ~$(( pages * 560 / 1000 )) s in one Region (keyless spaces its requests 560 ms apart)"
