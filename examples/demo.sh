#!/usr/bin/env bash
# keyless end to end, entirely on this machine: lint and render the example, then plan, apply,
# check both halves, verify with a real token exchange, explain a denial, re-plan (no changes),
# and destroy it, against the test kit's local IAM/STS (in-process fakecloud) and its local
# GitHub REST server, both started here on 127.0.0.1. Finally the kit's own tests exchange a
# GitHub-shaped token for credentials on a role keyless applied.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --locked -p keyless -p keyless-testkit
k=target/debug/keyless
cfg=examples/keyless.toml

echo "### keyless lint -c $cfg --no-github   (offline: the account is pinned)"
$k lint -c "$cfg" --no-github
echo
echo "### keyless render -c $cfg --no-github"
$k render -c "$cfg" --no-github

# A fresh local IAM/STS; it stops when this script's pipe to it closes.
coproc KIT { target/debug/keyless-testkit; }
read -r endpoint <&"${KIT[0]}"
read -r github <&"${KIT[0]}"
trap 'kill "$KIT_PID" 2>/dev/null || true' EXIT
export AWS_ENDPOINT_URL="$endpoint" AWS_REGION=us-east-1 AWS_MAX_ATTEMPTS=1 AWS_EC2_METADATA_DISABLED=true
export AWS_ACCESS_KEY_ID=AKIAKEYLESSDEMO00000 AWS_SECRET_ACCESS_KEY=local-demo-not-a-secret
# The GitHub half: the kit's GitHub REST server, with a token it accepts.
export KEYLESS_GITHUB_API_URL="$github" GH_TOKEN=local-demo-github-token
echo
echo "### local IAM/STS at $endpoint, local GitHub API at $github"
echo "### keyless plan -c $cfg"
$k plan -c "$cfg"
echo
echo "### keyless apply -c $cfg --yes   (IAM, then the role ARN variable on GitHub)"
$k apply -c "$cfg" --yes
echo
echo "### keyless check -c $cfg   (both halves in sync: exit 0)"
$k check -c "$cfg"
echo
tmp=$(mktemp -d)
echo "### keyless verify -c $cfg --token-file TOKEN   (a GitHub-shaped token for octo-org/site on main)"
target/debug/keyless-testkit mint --repo octo-org/site --branch main --immutable > "$tmp/token.jwt"
$k verify -c "$cfg" --token-file "$tmp/token.jwt"
echo
echo "### keyless explain -c $cfg --repo octo-org/site --environment prod ...   (denied: exit 2, with the fix)"
$k explain -c "$cfg" --repo octo-org/site --environment prod --owner-id 123456 --repo-id 456789 --immutable || [ $? -eq 2 ]
rm -rf "$tmp"
echo
echo "### keyless plan -c $cfg --detailed-exitcode   (second run: nothing to change, exit 0)"
$k plan -c "$cfg" --detailed-exitcode
echo
echo "### keyless destroy -c $cfg --yes"
$k destroy -c "$cfg" --yes
echo
echo "### a keyless-applied role, exchanged for credentials with a GitHub-shaped token"
# (the outside tools are not installed yet, so the kit does not check requests against AWS's
# models here: KEYLESS_CONTRACT=off; README's test command always does)
KEYLESS_CONTRACT=off cargo test --quiet --locked --test integration -- kit:: apply::fresh_apply 2>&1 | tail -n 3
