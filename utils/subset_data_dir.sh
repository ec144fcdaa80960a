#!/usr/bin/env bash
# Kaldi's utils/subset_data_dir.sh.
#   subset_data_dir.sh [--speakers|--shortest|--first|--last|--per-spk] <srcdir> <num-utt> <destdir>
#   subset_data_dir.sh [--spk-list <speaker-list-file>] <srcdir> <destdir>
#   subset_data_dir.sh [--utt-list <utterance-list-file>] <srcdir> <destdir>
# By default <num-utt> utterances are chosen at random (fixed seed; --seed N changes it).
opts=()
list_opt=false
while [ $# -gt 0 ]; do
  case "$1" in
    --speakers|--shortest|--first|--last|--per-spk) opts+=("$1"); shift ;;
    --spk-list|--utt-list|--seed) opts+=("$1" "$2"); [ "$1" != --seed ] && list_opt=true; shift 2 ;;
    --*) echo "$0: unknown option $1" 1>&2; exit 1 ;;
    *) break ;;
  esac
done
if { $list_opt && [ $# -ne 2 ]; } || { ! $list_opt && [ $# -ne 3 ]; }; then
  echo "Usage: " 1>&2
  echo "  $0 [--speakers|--shortest|--first|--last|--per-spk] <srcdir> <num-utt> <destdir>" 1>&2
  echo "  $0 [--spk-list <speaker-list-file>] <srcdir> <destdir>" 1>&2
  echo "  $0 [--utt-list <utterance-list-file>] <srcdir> <destdir>" 1>&2
  echo "By default, randomly selects <num-utt> utterances from the data directory." 1>&2
  exit 1
fi
exec hybrid subset-data-dir "${opts[@]}" "$@"
