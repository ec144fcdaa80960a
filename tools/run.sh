#!/usr/bin/env bash
# The README's run command: set up (idempotent), then run a recipe.
#   bash tools/run.sh [--recipe synth|an4|mini_librispeech] [recipe options...]
# Default: egs/synth/s5, the offline recipe (a TTS corpus it generates itself: no download, no
# corpus directory). --recipe an4 runs the AN4 benchmark recipe (../shared/corpora/an4 or a
# download). Other arguments go to the recipe's run.sh (e.g. --stage 4 --stop-stage 6).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
recipe=synth
if [ "${1:-}" = "--recipe" ]; then
  recipe=${2:?--recipe needs a name: synth, an4 or mini_librispeech}
  shift 2
fi
if [ ! -x "$root/egs/$recipe/s5/run.sh" ]; then
  echo "$0: no recipe egs/$recipe/s5/run.sh (have: $(ls "$root/egs" | tr '\n' ' '))" 1>&2
  exit 1
fi
bash "$root/tools/setup.sh"
cd "$root/egs/$recipe/s5"
exec ./run.sh "$@"
