#!/usr/bin/env bash
# Benchmark: wall time of `keyless apply --yes` on a fresh local IAM (first apply) and of a
# re-apply with nothing to change, for the common scenario (one repository, main branch, S3
# deploy preset). Each round starts a fresh test-kit IAM/STS. Reports min/median/max over N rounds.
#   bash examples/bench-apply.sh [ROUNDS] [LATENCY_MS]      (defaults 15 and 0; release build)
# KEYLESS_BIN=PATH times another keyless build (e.g. one from before a change) against the same kit.
# PIN=1 pins the kit's account in the config (as `keyless init` writes it), so the reads go out
# while STS answers instead of after.
# LATENCY_MS delays every IAM/STS call in the kit, to stand for a runner ~50–100 ms from IAM.
# After the timings it prints the calls each apply made, by action (from the kit's /_kit/calls),
# and the sequential round trips the kit counted (/_kit/round_trips: a request's depth is one more
# than the deepest request already answered when it arrived; meaningful with a latency).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-15}
export KEYLESS_TESTKIT_LATENCY_MS=${2:-0}
cargo build --quiet --locked --release -p keyless -p keyless-testkit
k=${KEYLESS_BIN:-target/release/keyless}
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
if [ "${PIN:-0}" = 1 ]; then sed -i '1i account_id = "123456789012"' "$dir/keyless.toml"; fi
export AWS_REGION=us-east-1 AWS_MAX_ATTEMPTS=1 AWS_EC2_METADATA_DISABLED=true
export AWS_ACCESS_KEY_ID=AKIAKEYLESSBENCH0000 AWS_SECRET_ACCESS_KEY=local-bench-not-a-secret
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
first=(); again=()
calls() { curl -fsS "$endpoint/_kit/calls" > "$dir/$1.json"; }
trips() { curl -fsS "$endpoint/_kit/round_trips" | python3 -c 'import json,sys; print(json.load(sys.stdin)["round_trips"])'; }
reset() { curl -fsS -X POST "$endpoint/_kit/reset" > /dev/null; }
for _ in $(seq "$rounds"); do
  coproc KIT { target/release/keyless-testkit; }
  read -r endpoint <&"${KIT[0]}"
  export AWS_ENDPOINT_URL="$endpoint"
  calls start
  t=$(date +%s%N); $k -c "$dir/keyless.toml" -q apply --yes > /dev/null; first+=("$(ms "$t")")
  first_trips=$(trips); calls first; reset
  t=$(date +%s%N); $k -c "$dir/keyless.toml" -q apply --yes > /dev/null; again+=("$(ms "$t")")
  again_trips=$(trips); calls again
  kill "$KIT_PID"; wait "$KIT_PID" 2>/dev/null || true
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
stats() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {printf "min %d ms, median %d ms, max %d ms (n=%d)", a[1], a[int((NR+1)/2)], a[NR], NR}'; }
report() { # name before after round_trips
  python3 - "$dir/$2.json" "$dir/$3.json" "$4" "$KEYLESS_TESTKIT_LATENCY_MS" "$1" <<'PY'
import json, sys
before, after = (json.load(open(p)) for p in sys.argv[1:3])
rounds, latency, name = int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
calls = {k.split(":", 1)[1]: n - before.get(k, 0) for k, n in after.items() if n - before.get(k, 0)}
trips = f", {rounds} round trips (counted by the kit)" if latency else ""
print(f"  {name}: {sum(calls.values())} calls ({', '.join(f'{a} {n}' for a, n in sorted(calls.items()))}){trips}")
PY
}
echo "first apply: $(stats "${first[@]}")"
echo "re-apply:    $(stats "${again[@]}")"
report "first apply" start first "$first_trips"
echo '{}' > "$dir/none.json"
report "re-apply" none again "$again_trips"
