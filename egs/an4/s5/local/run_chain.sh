#!/usr/bin/env bash
# Chain (LF-MMI) TDNN-F on AN4, in the shape of Kaldi's local/chain/run_tdnn.sh:
#  stage 0 (steps/chain/train_tdnn.sh): lang with the chain topology (1 state, separate
#     forward/self-loop pdfs); a left-biphone tree from the tri3b alignments of speed-perturbed
#     train, frame-subsampling 3; den.fst (phone n-gram, order chosen on held-out speakers), egs,
#     LF-MMI training (+ xent regularization) on 40-dim hires MFCC;
#  stage 1: graph with --self-loop-scale 1.0, decode at acwt 1.0, lattices scaled by 10 for scoring.
# With --num-seeds N > 1 or several --den-orders, stage 0 trains one model per (den order, seed),
# exp/chain/tdnn_lm<order>_s<seed> (seeds after the first reuse that den order's egs: --egs-dir),
# and stage 1 decodes their averaged frame scores (steps/nnet/decode_score_fusion.sh) into
# exp/chain/tdnn_fusion/decode.
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
#  round 4: score fusion of seeds: den orders 1,2 x 3 seeds (6 models) 18 / 59 held-out errors, the
#     best of the ensembles tried (1-gram x 3: 21 / 61; 2-gram x 3: 19 / 62; x 5 seeds: 19 / 59;
#     x 7 seeds: 20 / 59): --den-orders 1,2 --num-seeds 3.
#  Test: single model (defaults) 4.53 % at the held-out LMWT/WIP 7/0.0 (exp/chain/tdnn_lm1_t344);
#  the 6-model fusion 4.01 % (exp/chain/fusion_all6); Kaldi's default den LM, the phone 4-gram,
#  --den-orders 4, gives 5.30 %.
train_opts="--num-epochs 20 --hidden-dim 768 --dropout-schedule 0,0@0.20,0.5@0.50,0"
den_orders=1          # comma-separated phone LM orders of the den graph, one model (set) per order
num_seeds=1           # models per den order, seeds 0..N-1
dir=exp/chain/tdnn
tree_dir=exp/chain/tree
. ./cmd.sh
. ./path.sh
. utils/parse_options.sh
set -euo pipefail
run_stage() { [ "$stage" -le "$1" ] && [ "$stop_stage" -ge "$1" ]; }

orders=${den_orders//,/ }
set -- $orders
models=()
if [ $# = 1 ] && [ $num_seeds = 1 ]; then
  models=("$dir")
else
  for o in $orders; do
    for s in $(seq 0 $((num_seeds - 1))); do models+=("${dir}_lm${o}_s${s}"); done
  done
fi

if run_stage 0; then   # chain topology, left-biphone tree, den.fst, egs, LF-MMI training
  first=true
  for m in "${models[@]}"; do
    o=$den_orders; s=0
    if [ ${#models[@]} -gt 1 ]; then o=${m##*_lm}; o=${o%_s*}; s=${m##*_s}; fi
    tree_stage=0; $first || tree_stage=2      # topology and tree once
    egs_opt=; [ $s = 0 ] || egs_opt="--egs-dir ${dir}_lm${o}_s0/egs"
    steps/chain/train_tdnn.sh --cmd "$train_cmd" --use-gpu $use_gpu --num-leaves $num_leaves \
      --stage $tree_stage --frame-subsampling-factor 3 --lang-chain data/lang_chain --tree-dir $tree_dir \
      --train-opts "--ngram-order $o --seed $s $egs_opt $train_opts" data/train_sp data/lang exp/tri3b_ali_sp $m
    first=false
  done
fi
if run_stage 1; then
  graph=${models[0]}/graph
  utils/mkgraph.sh --self-loop-scale 1.0 data/lang ${models[0]} $graph
  if [ ${#models[@]} = 1 ]; then
    steps/chain/decode.sh --nj $nj --cmd "$decode_cmd" --use-gpu $use_gpu --acwt 1.0 --post-decode-acwt 10.0 \
      $graph data/test_hires $dir/decode
    hybrid plot-accuracy $dir --out $dir/accuracy.png
  else
    steps/nnet/decode_score_fusion.sh --nj $nj --cmd "$decode_cmd" --use-gpu $use_gpu \
      $graph data/test_hires "${models[@]}" ${dir}_fusion/decode
  fi
fi
