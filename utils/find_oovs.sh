#!/usr/bin/env bash
# List the words of a data dir's transcripts that the lexicon lacks, with their counts and
# utterances (they are mapped to the lang dir's OOV word, oov.txt, by utils/sym2int.pl --map-oov).
# The work is done by `hybrid find-oovs` (hybrid/data/oov.py).

max_utts=10   # utterances listed per OOV word (0 = all)
strict=false  # exit 1 when there is an OOV word or an empty transcript

echo "$0 $*" 1>&2
. "$(dirname "$0")/parse_options.sh" || exit 1

if [ $# -ne 2 ]; then
  echo "Usage: $0 [--max-utts N] [--strict true|false] <data-dir> <lang-dir|dict-dir>" 1>&2
  echo "e.g.: $0 data/train data/lang > data/train/oovs.txt" 1>&2
  exit 1
fi

[ -f ./path.sh ] && . ./path.sh
opts="--max-utts $max_utts"
$strict && opts="$opts --strict"
hybrid find-oovs $opts "$1" "$2"
