#!/usr/bin/env bash
# Writes RESULTS for this recipe: see utils/make_results.sh (options --out, --extra, --corpus-dir).
exec utils/make_results.sh --title "AN4 (egs/an4/s5)" "$@"
