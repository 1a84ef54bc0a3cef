#!/usr/bin/env bash
# Benchmark keyless against the usual hand procedure with the AWS CLI, on the same local IAM/STS
# (the test kit), for the common scenario: one repository, main branch, S3 deploy policy.
#   (a) AWS CLI: create-open-id-connect-provider, create-role, create-policy, attach-role-policy,
#       sts get-caller-identity (the CLI comes from PyPI into target/bench-venv)
#   (b) keyless apply --yes on a fresh account   (c) re-apply   (d) keyless check
#   (e) check over 1, 50 and 200 roles (examples/bench-check.sh)
# Median wall times over ROUNDS, the ratio (a)/(b), API calls by action for (b) (c) (d), the cold
# start of `keyless --help` and the binary size.
#   bash examples/bench-vs-awscli.sh [ROUNDS]     (default 9)
# KEYLESS_BIN=PATH times another keyless build (e.g. one from before a change) against the same kit.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-9}
venv=target/bench-venv
if [ ! -x "$venv/bin/aws" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet awscli
fi
aws="$venv/bin/aws"
cargo build --quiet --locked --release -p keyless -p keyless-testkit
k=${KEYLESS_BIN:-target/release/keyless}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/keyless.toml" <<'TOML'
account_id = "123456789012"
[[role]]
name = "gha-site"
  [[role.subject]]
  repo = "octo-org/site"
  branch = "main"
  [[role.preset]]
  name = "s3-deploy"
  params = { bucket = "octo-org-site" }
TOML
# The same documents keyless writes, for the CLI.
$k -c "$work/keyless.toml" render --output json > "$work/rendered.json"
python3 - "$work" <<'PY'
import json, sys
d = json.load(open(sys.argv[1] + "/rendered.json"))["roles"][0]
json.dump(d["trust_policy"], open(sys.argv[1] + "/trust.json", "w"))
json.dump(d["policies"][0]["document"], open(sys.argv[1] + "/perm.json", "w"))
PY
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true AWS_PAGER=""
export AWS_ACCESS_KEY_ID=AKIAKEYLESSBENCH0000 AWS_SECRET_ACCESS_KEY=local-bench-not-a-secret
now() { date +%s%N; }
ms() { echo $(( ($(now) - $1) / 1000000 )); }
calls() { curl -s "$AWS_ENDPOINT_URL/_kit/calls"; }
start_kit() { coproc KIT { target/release/keyless-testkit; }; read -r endpoint <&"${KIT[0]}"; export AWS_ENDPOINT_URL="$endpoint"; }
stop_kit() { kill "$KIT_PID"; wait "$KIT_PID" 2>/dev/null || true; }
diff_calls() { python3 -c 'import json,sys; a=json.loads(sys.argv[1]); b=json.loads(sys.argv[2]); d={k:b[k]-a.get(k,0) for k in b if b[k]-a.get(k,0)}; print(", ".join(k.partition(chr(58))[2] + " " + str(v) for k,v in sorted(d.items())), "| total", sum(d.values()))' "$1" "$2"; }
a=(); b=(); c=(); d=()
for i in $(seq "$rounds"); do
  start_kit
  t=$(now)
  $aws iam create-open-id-connect-provider --url https://token.actions.githubusercontent.com --client-id-list sts.amazonaws.com > /dev/null
  $aws iam create-role --role-name gha-site --assume-role-policy-document "file://$work/trust.json" > /dev/null
  $aws iam create-policy --policy-name gha-site-s3-deploy --policy-document "file://$work/perm.json" > /dev/null
  $aws iam attach-role-policy --role-name gha-site --policy-arn arn:aws:iam::123456789012:policy/gha-site-s3-deploy
  $aws sts get-caller-identity > /dev/null
  a+=("$(ms "$t")")
  stop_kit
  start_kit
  c0=$(calls); t=$(now); $k -c "$work/keyless.toml" -q apply --yes > /dev/null; b+=("$(ms "$t")"); c1=$(calls)
  t=$(now); $k -c "$work/keyless.toml" -q apply --yes > /dev/null; c+=("$(ms "$t")"); c2=$(calls)
  t=$(now); $k -c "$work/keyless.toml" -q check > /dev/null; d+=("$(ms "$t")"); c3=$(calls)
  if [ "$i" = 1 ]; then calls_b=$(diff_calls "$c0" "$c1"); calls_c=$(diff_calls "$c1" "$c2"); calls_d=$(diff_calls "$c2" "$c3"); fi
  stop_kit
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ma=$(median "${a[@]}"); mb=$(median "${b[@]}"); mc=$(median "${c[@]}"); md=$(median "${d[@]}")
echo "| step | median wall time (n=$rounds) |"
echo "|---|---|"
echo "| (a) AWS CLI procedure, 5 commands | $ma ms |"
echo "| (b) keyless apply --yes | $mb ms |"
echo "| (c) keyless apply --yes again | $mc ms |"
echo "| (d) keyless check | $md ms |"
echo "| ratio (a)/(b) | $(python3 -c "print(round($ma/$mb, 1))") |"
echo
echo "calls (b) apply:   $calls_b   (minimum 5: GetCallerIdentity + 4 writes)"
echo "calls (c) re-apply: $calls_c   (minimum to prove nothing changed: about 9 reads, 0 writes)"
echo "calls (d) check:    $calls_d   (minimum: the re-apply reads + ListRoles)"
echo
bash examples/bench-check.sh 5 8 | sed 's/^/(e) /'
cold=(); for _ in $(seq 20); do t=$(now); $k --help > /dev/null; cold+=("$(( ($(now) - t) / 1000 ))"); done
echo
echo "keyless --help: first run $(echo "${cold[0]}") us, median of 20 $(median "${cold[@]}") us; release binary $(stat -c %s "$k") bytes (stripped)"
