#!/usr/bin/env bash
# The README's run command: set up (idempotent), then run the main recipe.
# Arguments are passed to the recipe (e.g. --stage 4 --stop-stage 6).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/tools/setup.sh"
cd "$root/egs/an4/s5"
exec ./run.sh "$@"
