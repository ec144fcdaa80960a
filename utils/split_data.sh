#!/usr/bin/env bash
# Kaldi's utils/split_data.sh: splits <data-dir> into <data-dir>/split<N>/{1..N}, keeping
# speakers whole (with --per-utt: <data-dir>/split<N>utt/{1..N}, split by utterance).
# An existing split is reused when it is newer than the source files.
per_utt=
if [ "$1" == "--per-utt" ]; then per_utt=--per-utt; shift; fi
if [ $# -ne 2 ]; then
  echo "Usage: $0 [--per-utt] <data-dir> <num-to-split>" 1>&2
  echo "E.g.: $0 data/train 50" 1>&2
  exit 1
fi
exec hybrid split-data $per_utt "$1" "$2"
