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
set -euo pipefail

stage=0
stop_stage=100
nj=2
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

echo "$0: done (stages $stage..$stop_stage)"
