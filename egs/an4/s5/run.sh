#!/usr/bin/env bash
# AN4 recipe (CMU AN4 census database: 948 train / 130 test utterances), in the shape of
# Kaldi's egs/an4/s5. Run from this directory:
#   ./run.sh [--corpus-dir DIR] [--stage N] [--stop-stage M] [--nj N]
# Stages:
#   0 download AN4 (skipped when --corpus-dir already holds it)
#   1 data prep (data/train, data/test) and the dict dir (data/local/dict)
#   2 MFCC + CMVN
#   3 lang (data/lang) and G from etc/an4.ug.lm (into data/lang, as Kaldi's egs/an4)
#   4 monophone training (exp/mono)
#   5 monophone graph + decode of test (exp/mono/graph, exp/mono/decode)
#   6 monophone alignment of train (exp/mono_ali) + CTM
#   7 tri1: deltas, 1800 leaves / 9000 Gaussians (exp/tri1), graph, decode
#   8 tri1 alignment (exp/tri1_ali)
#   9 tri2b: LDA+MLLT (exp/tri2b), graph, decode
#  10 tri2b alignment (exp/tri2b_ali)
#  11 tri3b: SAT (exp/tri3b), graph, decode with fMLLR (decode.si and decode)
#  12 tri3b alignment with fMLLR (exp/tri3b_ali), CTM
#  13 TDNN (cross-entropy on tri3b alignments of speed-perturbed train, 40-dim hires MFCC), decode
#  14 chain (LF-MMI) TDNN-F, decode
set -euo pipefail

stage=0
stop_stage=100
nj=2
numleaves=1800
totgauss=9000
tdnn_opts=
chain_opts=    # e.g. "--den-orders 1,2 --num-seeds 3": the 6-model score fusion in RESULTS
use_gpu=wait   # GPU when there is one (the RESULTS networks were trained on an H100), else CPU
corpus_dir=
download_dir=downloads
seed=777

. ./cmd.sh
. ./path.sh
. utils/parse_options.sh

if [ -z "$corpus_dir" ]; then
  # default: the shared copy next to the repo, else the download location
  shared=$(cd ../../.. && pwd)/../shared/corpora/an4
  if [ -d "$shared/etc" ]; then corpus_dir=$shared; else corpus_dir=$download_dir/an4; fi
fi
decode_opts=$(. conf/decode.config; echo "--beam $beam --lattice-beam $lattice_beam")
first_beam=$(. conf/decode.config; echo $first_beam)   # decode_fmllr's speaker-independent pass (Kaldi's --config)

run_stage() { [ "$stage" -le "$1" ] && [ "$stop_stage" -ge "$1" ]; }

if run_stage 0; then
  t0=$(date +%s)
  if [ -f "$corpus_dir/etc/an4_train.transcription" ]; then
    echo "$0: AN4 found at $corpus_dir, no download needed"
  else
    hybrid download-an4 "$download_dir"
    corpus_dir=$download_dir/an4
  fi
  local/stage_time.sh 0 download "$t0"
fi

if run_stage 1; then
  t0=$(date +%s)
  hybrid prepare-an4 "$corpus_dir" data
  for x in train test; do utils/validate_data_dir.sh --no-feats data/$x; done
  hybrid prepare-an4-dict "$corpus_dir" data/local/dict
  local/stage_time.sh 1 data_prep "$t0" "$(wc -l < data/train/text) train / $(wc -l < data/test/text) test utterances"
fi

if run_stage 2; then
  t0=$(date +%s)
  for x in train test; do
    steps/make_mfcc.sh --nj $nj --cmd "$train_cmd" data/$x exp/make_mfcc/$x mfcc
    steps/compute_cmvn_stats.sh data/$x exp/make_mfcc/$x mfcc
    utils/fix_data_dir.sh data/$x
  done
  local/stage_time.sh 2 mfcc "$t0"
fi

if run_stage 3; then
  t0=$(date +%s)
  utils/prepare_lang.sh data/local/dict "<UNK>" data/local/lang data/lang
  local/prepare_lm.sh "$corpus_dir" data/lang
  local/stage_time.sh 3 lang "$t0"
fi

if run_stage 4; then
  t0=$(date +%s)
  steps/train_mono.sh --nj $nj --cmd "$train_cmd" --seed $seed data/train data/lang exp/mono
  local/stage_time.sh 4 mono "$t0"
fi

if run_stage 5; then
  t0=$(date +%s)
  utils/mkgraph.sh data/lang exp/mono exp/mono/graph
  steps/decode.sh --nj $nj --cmd "$decode_cmd" $decode_opts exp/mono/graph data/test exp/mono/decode
  local/stage_time.sh 5 mono_decode "$t0" "$(cat exp/mono/decode/scoring_kaldi/best_wer 2>/dev/null || cat exp/mono/decode/best_wer 2>/dev/null || true)"
fi

if run_stage 6; then
  t0=$(date +%s)
  steps/align_si.sh --nj $nj --cmd "$train_cmd" data/train data/lang exp/mono exp/mono_ali
  steps/get_train_ctm.sh data/train data/lang exp/mono_ali
  local/stage_time.sh 6 mono_align "$t0"
fi

best_wer() { cat $1/scoring_kaldi/best_wer 2>/dev/null || cat $1/best_wer 2>/dev/null || true; }

if run_stage 7; then
  t0=$(date +%s)
  steps/train_deltas.sh --cmd "$train_cmd" --seed $seed $numleaves $totgauss data/train data/lang exp/mono_ali exp/tri1
  utils/mkgraph.sh data/lang exp/tri1 exp/tri1/graph
  steps/decode.sh --nj $nj --cmd "$decode_cmd" $decode_opts exp/tri1/graph data/test exp/tri1/decode
  local/stage_time.sh 7 tri1 "$t0" "$(best_wer exp/tri1/decode)"
fi

if run_stage 8; then
  t0=$(date +%s)
  steps/align_si.sh --nj $nj --cmd "$train_cmd" data/train data/lang exp/tri1 exp/tri1_ali
  local/stage_time.sh 8 tri1_align "$t0"
fi

if run_stage 9; then
  t0=$(date +%s)
  steps/train_lda_mllt.sh --cmd "$train_cmd" --seed $seed --splice-opts "--left-context=3 --right-context=3" \
    $numleaves $totgauss data/train data/lang exp/tri1_ali exp/tri2b
  utils/mkgraph.sh data/lang exp/tri2b exp/tri2b/graph
  steps/decode.sh --nj $nj --cmd "$decode_cmd" $decode_opts exp/tri2b/graph data/test exp/tri2b/decode
  local/stage_time.sh 9 tri2b "$t0" "$(best_wer exp/tri2b/decode)"
fi

if run_stage 10; then
  t0=$(date +%s)
  steps/align_si.sh --nj $nj --cmd "$train_cmd" data/train data/lang exp/tri2b exp/tri2b_ali
  local/stage_time.sh 10 tri2b_align "$t0"
fi

if run_stage 11; then
  t0=$(date +%s)
  steps/train_sat.sh --cmd "$train_cmd" --seed $seed $numleaves $totgauss data/train data/lang exp/tri2b_ali exp/tri3b
  utils/mkgraph.sh data/lang exp/tri3b exp/tri3b/graph
  steps/decode_fmllr.sh --nj $nj --cmd "$decode_cmd" $decode_opts --first-beam $first_beam exp/tri3b/graph data/test exp/tri3b/decode
  local/stage_time.sh 11 tri3b "$t0" "SI $(best_wer exp/tri3b/decode.si); fMLLR $(best_wer exp/tri3b/decode)"
fi

if run_stage 12; then
  t0=$(date +%s)
  steps/align_fmllr.sh --nj $nj --cmd "$train_cmd" data/train data/lang exp/tri3b exp/tri3b_ali
  steps/get_train_ctm.sh data/train data/lang exp/tri3b_ali
  local/stage_time.sh 12 tri3b_align "$t0"
fi

if run_stage 13; then
  t0=$(date +%s)
  local/run_tdnn.sh --nj $nj --use-gpu $use_gpu $tdnn_opts
  local/stage_time.sh 13 tdnn "$t0" "$(best_wer exp/tdnn/decode)"
fi

if run_stage 14; then
  t0=$(date +%s)
  if [ -x local/run_chain.sh ]; then
    local/run_chain.sh --nj $nj --use-gpu $use_gpu $chain_opts
    d=exp/chain/tdnn/decode; [[ "$chain_opts" == *-* ]] && [ -d exp/chain/tdnn_fusion/decode ] && d=exp/chain/tdnn_fusion/decode
    local/stage_time.sh 14 chain "$t0" "$(best_wer $d)"
  else
    echo "stage 14: local/run_chain.sh not available yet, skipping"
  fi
fi

local/make_results.sh --out RESULTS
echo "$0: done (stages $stage..$stop_stage); results in RESULTS"
