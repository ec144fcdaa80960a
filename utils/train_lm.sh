#!/usr/bin/env bash
# Train an interpolated modified Kneser-Ney ARPA LM (the work is done by `hybrid train-lm`,
# hybrid/lm/kneser_ney.py). The text is a Kaldi text file (utterance id first) unless
# --utt-ids false.

# Begin configuration section.
order=3
prune_thresh=0        # relative-entropy pruning threshold (SRILM -prune), e.g. 1e-7; 0 = none
min_counts=           # count cutoffs per order, e.g. "1 1 2"
vocab=                # words.txt or a word list; other words map to $unk
unk="<unk>"
utt_ids=true
# end configuration section

echo "$0 $@"  # Print the command line for logging

help_message="usage: utils/train_lm.sh [options] <text> <lm.arpa[.gz]>
e.g.: utils/train_lm.sh --order 3 --prune-thresh 1e-7 data/train/text data/local/lm/lm.arpa.gz
options:
  --order N            n-gram order (default 3)
  --prune-thresh X     relative-entropy pruning threshold (default 0: no pruning)
  --min-counts 'a b c' count cutoffs per order (orders >= 2)
  --vocab FILE         restrict the vocabulary (words.txt or word list)
  --unk SYM            unknown-word symbol (default <unk>)
  --utt-ids true|false text lines start with an utterance id (default true)"

. "$(dirname "$0")/parse_options.sh" || exit 1

if [ $# -ne 2 ]; then
  printf "%s\n" "$help_message" 1>&2
  exit 1
fi
text=$1
lm=$2
[ -f "$text" ] || { echo "$0: no such file $text" 1>&2; exit 1; }
mkdir -p "$(dirname "$lm")"

opts=(--order "$order" --prune-thresh "$prune_thresh" --unk "$unk")
[ -n "$min_counts" ] && opts+=(--min-counts "$min_counts")
[ -n "$vocab" ] && opts+=(--vocab "$vocab")
if [ "$utt_ids" = true ]; then opts+=(--utt-ids); else opts+=(--no-utt-ids); fi

hybrid train-lm "${opts[@]}" "$text" "$lm" || exit 1
