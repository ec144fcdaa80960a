#!/usr/bin/env bash
# Writes RESULTS for this recipe: see utils/make_results.sh (options --out, --extra, --corpus-dir).
exec utils/make_results.sh --title "synthetic TTS corpus (egs/synth/s5)" "$@"
