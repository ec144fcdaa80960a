#!/usr/bin/env bash
# TDNN (cross-entropy) on AN4, in the shape of Kaldi's local/nnet3/run_tdnn.sh:
#  1. speed-perturbed train (0.9/1.0/1.1), 13-dim MFCC + CMVN, aligned with tri3b (fMLLR);
#  2. 40-dim hires MFCC (conf/mfcc_hires.conf) + CMVN for train_sp and test;
#  3. steps/nnet/train_tdnn.sh on exp/tri3b_ali_sp;
#  4. decode test through the tri3b graph; plot the accuracy curves.
stage=0
stop_stage=100
nj=2
use_gpu=no
# the configuration of the RESULTS run (chosen by held-out valid accuracy among 3)
train_opts="--num-epochs 12 --config-type tdnnf --hidden-dim 768 --dropout-schedule 0,0@0.20,0.5@0.50,0"
dir=exp/tdnn
. ./cmd.sh
. ./path.sh
. utils/parse_options.sh
set -euo pipefail

if [ $stage -le 0 ] && [ $stop_stage -ge 0 ] && [ ! -f data/train_sp/feats.scp ]; then
  utils/data/perturb_data_dir_speed_3way.sh data/train data/train_sp
  steps/make_mfcc.sh --nj $nj --cmd "$train_cmd" data/train_sp exp/make_mfcc/train_sp mfcc
  steps/compute_cmvn_stats.sh data/train_sp exp/make_mfcc/train_sp mfcc
  utils/fix_data_dir.sh data/train_sp
fi
if [ $stage -le 1 ] && [ $stop_stage -ge 1 ] && [ ! -f exp/tri3b_ali_sp/ali.1.gz ]; then
  steps/align_fmllr.sh --nj $nj --cmd "$train_cmd" data/train_sp data/lang exp/tri3b exp/tri3b_ali_sp
fi
if [ $stage -le 2 ] && [ $stop_stage -ge 2 ]; then
  for x in train_sp test; do
    [ -f data/${x}_hires/feats.scp ] && continue
    utils/copy_data_dir.sh data/$x data/${x}_hires
    rm -f data/${x}_hires/{feats,cmvn}.scp
    steps/make_mfcc.sh --nj $nj --cmd "$train_cmd" --mfcc-config conf/mfcc_hires.conf \
      data/${x}_hires exp/make_hires/$x mfcc_hires
    steps/compute_cmvn_stats.sh data/${x}_hires exp/make_hires/$x mfcc_hires
    utils/fix_data_dir.sh data/${x}_hires
  done
fi
if [ $stage -le 3 ] && [ $stop_stage -ge 3 ]; then
  steps/nnet/train_tdnn.sh --cmd "$train_cmd" --use-gpu $use_gpu $train_opts \
    data/train_sp_hires exp/tri3b_ali_sp $dir
fi
if [ $stage -le 4 ] && [ $stop_stage -ge 4 ]; then
  steps/nnet/decode.sh --nj $nj --cmd "$decode_cmd" --use-gpu $use_gpu \
    exp/tri3b/graph data/test_hires $dir/decode
  hybrid plot-accuracy $dir --out $dir/accuracy.png
fi
