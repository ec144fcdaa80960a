#!/usr/bin/env bash
# AN4's grammar, as Kaldi's egs/an4/s5/run.sh makes it: the unigram etc/an4.ug.lm without the
# words HALL LANE MEMORY TWELVTH WEAN and the OOV word, back-off arcs on #0, <s>/</s> as
# epsilon:
#   arpa2fst an4.ug.lm | fstprint | grep -v 'HALL\|LANE\|MEMORY\|TWELVTH\|WEAN' |
#     utils/remove_oovs.pl lang/oov.txt | utils/eps2disambig.pl | utils/s2eps.pl |
#     fstcompile --isymbols=words.txt --osymbols=words.txt | fstarcsort > lang/G.fst
# Kaldi writes G.fst into data/lang itself (there is no lang_test in egs/an4), so that
# `utils/mkgraph.sh data/lang exp/mono exp/mono/graph` works.

if [ $# -ne 2 ]; then
  echo "Usage: $0 <an4-root> <lang-dir>"
  echo "e.g.: $0 /path/to/an4 data/lang    # writes data/lang/G.fst"
  exit 1
fi
an4_root=$1
lang=$2

[ -f ./path.sh ] && . ./path.sh

for f in $an4_root/etc/an4.ug.lm $lang/words.txt $lang/oov.txt; do
  [ -f $f ] || { echo "$0: no such file $f"; exit 1; }
done

hybrid arpa-to-g --remove-words "HALL LANE MEMORY TWELVTH WEAN" --oov-list $lang/oov.txt \
  $an4_root/etc/an4.ug.lm $lang/words.txt $lang/G.fst || exit 1
echo "$0: wrote $lang/G.fst"
