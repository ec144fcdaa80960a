#!/usr/bin/env bash
# WER of a GMM system over several seeds of Gaussian splitting (Kaldi's splitting is unseeded and
# spreads WER by ~2 points; compare systems over seeds).
# Usage: local/mono_seeds.sh [--system mono|tri1|tri3b] [--seeds "1 2 3"] [--nj 2]
#   mono: steps/train_mono.sh on data/train -> exp/mono_seed<s>;
#   tri1: steps/train_deltas.sh 1800 9000 on exp/mono_ali (the seed-777 monophone's) -> exp/tri1_seed<s>;
#   tri3b: steps/train_sat.sh 1800 9000 on exp/tri2b_ali -> exp/tri3b_seed<s>, decoded with fMLLR
#          (decode.si and decode).
system=mono
seeds="1 2 3"
nj=2
. ./cmd.sh
. ./path.sh
. utils/parse_options.sh
set -euo pipefail
decode_opts=$(. conf/decode.config; echo "--beam $beam --lattice-beam $lattice_beam")
for s in $seeds; do
  d=exp/${system}_seed$s
  [ -f $d/decode/scoring_kaldi/best_wer ] && continue
  case $system in
    mono) steps/train_mono.sh --nj $nj --cmd "$train_cmd" --seed $s data/train data/lang $d ;;
    tri1) steps/train_deltas.sh --cmd "$train_cmd" --seed $s 1800 9000 data/train data/lang exp/mono_ali $d ;;
    tri3b) steps/train_sat.sh --cmd "$train_cmd" --seed $s 1800 9000 data/train data/lang exp/tri2b_ali $d ;;
    *) echo "$0: --system must be mono, tri1 or tri3b" 1>&2; exit 1 ;;
  esac
  utils/mkgraph.sh data/lang $d $d/graph
  if [ $system = tri3b ]; then
    first_beam=$(. conf/decode.config; echo $first_beam)
    steps/decode_fmllr.sh --nj $nj --cmd "$decode_cmd" $decode_opts --first-beam $first_beam $d/graph data/test $d/decode
  else
    steps/decode.sh --nj $nj --cmd "$decode_cmd" $decode_opts $d/graph data/test $d/decode
  fi
done
for s in $seeds; do
  for x in decode.si decode; do [ -f exp/${system}_seed$s/$x/scoring_kaldi/best_wer ] && cat exp/${system}_seed$s/$x/scoring_kaldi/best_wer; done
done
