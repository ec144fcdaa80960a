#!/usr/bin/env bash
# Word CTM of training alignments (Kaldi's steps/get_train_ctm.sh).
# Usage: steps/get_train_ctm.sh [--frame-shift 0.01] [--frame-offset 0] [--print-silence false] <data-dir> <lang-dir> <ali-dir> [<out-dir>]
# Writes <out-dir>/ctm (default <ali-dir>/ctm): "<utt> 1 <start> <dur> <word>", and
# <out-dir>/phone.ctm with phone names.
# --frame-offset frame-centre adds 7.5 ms to every time: a boundary halfway between the centres of
# the two frames around it instead of Kaldi's k * frame-shift (on the TTS corpus, Kaldi's times are
# 6.3 ms early on average and these 1.2 ms late; README "Boundary times").
frame_shift=0.01
frame_offset=0
print_silence=false
cmd=run.pl
stage=0
help_message="Usage: $0 [--frame-shift 0.01] [--frame-offset 0|frame-centre] [--print-silence false] <data-dir> <lang-dir> <ali-dir> [<out-dir>]"
. utils/parse_options.sh || exit 1
if [ $# -ne 3 ] && [ $# -ne 4 ]; then echo "$help_message" >&2; exit 1; fi
data=$1; lang=$2; dir=$3; out=${4:-$3}
set -euo pipefail
for f in $dir/final.mdl $data/text $lang/words.txt $lang/phones/word_boundary.int; do
  [ -f $f ] || { echo "$0: expected file $f to exist" >&2; exit 1; }
done
mkdir -p $out/log
hybrid ali-to-word-ctm --frame-shift $frame_shift --frame-offset $frame_offset --print-silence $print_silence \
  $lang $dir/final.mdl $dir $data/text $out/ctm 2> $out/log/get_ctm.log
hybrid ali-to-phones --ctm-output --frame-shift $frame_shift --frame-offset $frame_offset --phone-symbol-table $lang/phones.txt \
  $dir/final.mdl $dir $out/phone.ctm
tail -n 1 $out/log/get_ctm.log
echo "$0: wrote $out/ctm and $out/phone.ctm"
