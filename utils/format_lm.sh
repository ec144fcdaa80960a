#!/usr/bin/env bash
# Kaldi's utils/format_lm.sh: copy a lang dir and add G.fst made from an ARPA LM
# (arpa2fst --disambig-symbol=#0 --read-symbol-table=words.txt; OOV n-grams are dropped).
# The work is done by `hybrid format-lm` (hybrid/lm/gfst.py).
set -e

if [ $# -ne 4 ]; then
  echo "Usage: $0 <lang_dir> <arpa-LM> <lexicon> <out_dir>"
  echo "E.g.: $0 data/lang data/local/lm/foo.kn.gz data/local/dict/lexicon.txt data/lang_test"
  echo "Convert ARPA-format language models to FSTs."
  exit 1
fi

lang_dir=$1
lm=$2
lexicon=$3
out_dir=$4
mkdir -p $out_dir

[ -f ./path.sh ] && . ./path.sh

echo "Converting '$lm' to FST"
hybrid format-lm "$lang_dir" "$lm" "$lexicon" "$out_dir"
echo "Succeeded in formatting LM: '$lm'"
