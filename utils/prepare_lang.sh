#!/usr/bin/env bash
# Kaldi's utils/prepare_lang.sh: make a lang directory (phones.txt, words.txt, L.fst,
# L_disambig.fst, topo, phones/*, oov.*) from a dict directory. The work is done by
# `hybrid prepare-lang` (hybrid/lang/prepare.py).

# Begin configuration section.
num_sil_states=5
num_nonsil_states=3
position_dependent_phones=true
share_silence_phones=false  # if true, share the pdfs of all silence phones
share_state_roots=true      # if true, one tree root per phone (all its states)
sil_prob=0.5
# end configuration section

echo "$0 $@"  # Print the command line for logging

help_message="usage: utils/prepare_lang.sh <dict-src-dir> <oov-dict-entry> <tmp-dir> <lang-dir>
e.g.: utils/prepare_lang.sh data/local/dict '<UNK>' data/local/lang data/lang
<dict-src-dir> should contain the following files:
 extra_questions.txt  lexicon.txt nonsilence_phones.txt  optional_silence.txt  silence_phones.txt
options:
     --num-sil-states <number of states>             # default: 5, #states in silence models.
     --num-nonsil-states <number of states>          # default: 3, #states in non-silence models.
     --position-dependent-phones (true|false)        # default: true; if true, use _B, _E, _S & _I
                                                     # markers on phones to indicate word-internal positions.
     --share-silence-phones (true|false)             # default: false; if true, share pdfs of
                                                     # all silence phones.
     --share-state-roots (true|false)                # default: true
     --sil-prob <probability of silence>             # default: 0.5 [must have 0 <= silprob < 1]"

. "$(dirname "$0")/parse_options.sh" || exit 1

if [ $# -ne 4 ]; then
  printf "%s\n" "$help_message"
  exit 1
fi

srcdir=$1
oov_word=$2
tmpdir=$3
dir=$4

[ -f path.sh ] && . ./path.sh

mkdir -p "$dir" "$tmpdir" "$dir/phones" || exit 1

hybrid prepare-lang \
  --position-dependent-phones "$position_dependent_phones" \
  --sil-prob "$sil_prob" \
  --num-sil-states "$num_sil_states" \
  --num-nonsil-states "$num_nonsil_states" \
  --share-silence-phones "$share_silence_phones" \
  --share-state-roots "$share_state_roots" \
  "$srcdir" "$oov_word" "$tmpdir" "$dir" || { echo "$0: error preparing $dir from $srcdir"; exit 1; }

# (hybrid prepare-lang validates the output directory, as Kaldi's script does at its end)

exit 0
