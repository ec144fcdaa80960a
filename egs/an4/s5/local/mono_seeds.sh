#!/usr/bin/env bash
# Monophone WER over several seeds of Gaussian splitting (Kaldi's splitting is unseeded and spreads
# WER by ~2 points; compare systems over seeds). Usage: local/mono_seeds.sh [--seeds "1 2 3"] [--nj 2]
seeds="1 2 3"
nj=2
. ./cmd.sh
. ./path.sh
. utils/parse_options.sh
set -euo pipefail
decode_opts=$(. conf/decode.config; echo "--beam $beam --lattice-beam $lattice_beam")
for s in $seeds; do
  d=exp/mono_seed$s
  [ -f $d/decode/scoring_kaldi/best_wer ] && continue
  steps/train_mono.sh --nj $nj --cmd "$train_cmd" --seed $s data/train data/lang $d
  utils/mkgraph.sh data/lang $d $d/graph
  steps/decode.sh --nj $nj --cmd "$decode_cmd" $decode_opts $d/graph data/test $d/decode
done
for s in $seeds; do cat exp/mono_seed$s/decode/scoring_kaldi/best_wer; done
