#!/usr/bin/env bash
# Chain (LF-MMI) TDNN-F on AN4, in the shape of Kaldi's local/chain/run_tdnn.sh:
#  stage 0 (steps/chain/train_tdnn.sh): lang with the chain topology (1 state, separate
#     forward/self-loop pdfs); a left-biphone tree from the tri3b alignments of speed-perturbed
#     train, frame-subsampling 3; den.fst (phone 2-gram, chosen on held-out speakers), egs,
#     LF-MMI training (+ xent regularization) on 40-dim hires MFCC;
#  stage 1: graph with --self-loop-scale 1.0, decode at acwt 1.0, lattices scaled by 10 for scoring.
# Needs local/run_tdnn.sh's data (data/train_sp_hires, data/test_hires, exp/tri3b_ali_sp).
stage=0
stop_stage=100
nj=2
use_gpu=no
num_leaves=500
# Configuration chosen on held-out speakers (RESULTS notes; exp/chain/valid_hires, 51 unperturbed
# utterances of 4 speakers held out of training with their speed-perturbed copies):
#  round 1: den phone {4,3,2}-gram x {344,184}-pdf tree: the 2-gram with the 344-pdf tree
#     (num_leaves 500) won on both held-out sets (5.61 % vs 8.4-9.8 %);
#  round 2: that model against a phone-unigram den graph, 30 epochs, 512 wide, xent 0.25: held-out
#     5.61 / 6.32 / 6.67 / 8.07 / 7.37 % (all speeds 7.95 / 7.72 / 7.84 / 8.65 / 7.84 %): it stays.
#  round 3: seeds 1 and 2 of both: held-out errors (sp1.0 / all speeds) averaged over 3 seeds, 2-gram
#     23.7 / 75.0, 1-gram 21.0 / 68.0: the phone unigram den graph is the choice (seed 0 its best).
#  Test: 4.53 % at the held-out LMWT/WIP 7/0.0 (exp/chain/tdnn_lm1_t344; the 2-gram seed 0 got 4.79 %;
#  Kaldi's default den LM, the phone 4-gram, --den-opts "--ngram-order 4", gives 5.30 %).
train_opts="--num-epochs 20 --hidden-dim 768 --dropout-schedule 0,0@0.20,0.5@0.50,0"
den_opts="--ngram-order 1"
dir=exp/chain/tdnn
tree_dir=exp/chain/tree
. ./cmd.sh
. ./path.sh
. utils/parse_options.sh
set -euo pipefail
run_stage() { [ "$stage" -le "$1" ] && [ "$stop_stage" -ge "$1" ]; }

if run_stage 0; then   # chain topology, left-biphone tree, den.fst, egs, LF-MMI training
  steps/chain/train_tdnn.sh --cmd "$train_cmd" --use-gpu $use_gpu --num-leaves $num_leaves \
    --frame-subsampling-factor 3 --lang-chain data/lang_chain --tree-dir $tree_dir \
    --train-opts "$den_opts $train_opts" data/train_sp data/lang exp/tri3b_ali_sp $dir
fi
if run_stage 1; then
  utils/mkgraph.sh --self-loop-scale 1.0 data/lang $dir $dir/graph
  steps/chain/decode.sh --nj $nj --cmd "$decode_cmd" --use-gpu $use_gpu --acwt 1.0 --post-decode-acwt 10.0 \
    $dir/graph data/test_hires $dir/decode
  hybrid plot-accuracy $dir --out $dir/accuracy.png
fi
