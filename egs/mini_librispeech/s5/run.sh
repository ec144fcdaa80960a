#!/usr/bin/env bash
# mini_librispeech recipe, in the shape of Kaldi's egs/mini_librispeech/s5/run.sh: train-clean-5
# (5 h) for training, dev-clean-2 (2 h) for testing, both from openslr resource 31. Any corpus in
# LibriSpeech layout works (--corpus-dir DIR holding DIR/LibriSpeech/<subset> or DIR/<subset>).
# Run from this directory:
#   ./run.sh [--corpus-dir DIR] [--train-set train-clean-5] [--dev-set dev-clean-2|""] [--lm lm.arpa.gz]
#            [--stage N] [--stop-stage M] [--nj N]
# Stages:
#   0 download train-clean-5 and dev-clean-2 (skipped when --corpus-dir holds them)
#   1 data prep (data/train_clean_5, data/dev_clean_2; without a dev set a speaker-disjoint split of
#     the training set: local/make_dev_split.sh -> data/train, data/dev); lexicon from CMUdict with
#     flite G2P for OOV words (data/local/dict_nosp, OOVs in data/local/dict_nosp/oovs.txt);
#     data/lang_nosp; trigram LM on the training transcripts (or --lm) -> data/lang_nosp_test_tgsmall
#   2 MFCC + CMVN; the --mono-subset shortest training utterances for the monophone system
#   3 mono: train (boost-silence 1.25), graph, decode dev, align train
#   4 tri1 (deltas, 2000 leaves / 10000 Gaussians)
#   5 tri2b (LDA+MLLT, 2500 / 15000)
#   6 tri3b (LDA+MLLT+SAT, 2500 / 15000), fMLLR decoding and alignment
#   7 TDNN (cross-entropy on the tri3b alignments, 40-dim hires MFCC), decoded through the tri3b graph
#   8 chain (LF-MMI): chain topology, left-biphone tree (--chain-leaves), den.fst, LF-MMI training
#     (steps/chain/train_tdnn.sh), graph with --self-loop-scale 1.0, decode
#   9 RESULTS
# A later stage whose script does not exist yet prints "stage N: <script> not available yet,
# skipping" and the recipe goes on. Differences from Kaldi's: no tgmed/tglarge rescoring (the LM is
# a trigram on the training transcripts unless --lm gives one), no "sp" pronunciation-probability
# lexicon; the lexicon is CMUdict + flite G2P instead of librispeech-lexicon.txt + Sequitur.
set -euo pipefail

stage=0
stop_stage=100
nj=2
seed=777
corpus_dir=             # default: downloads/ (where stage 0 downloads to)
download_dir=downloads
train_set=train-clean-5
dev_set=dev-clean-2     # "" = no dev set: split the training set by speaker
num_dev_spk=4           # readers in the dev split (when dev_set is "")
lm=                     # ARPA LM (.gz ok) to decode with; default: trigram on the training transcripts
lm_order=3
g2p=true                # flite G2P for words CMUdict lacks
mono_subset=500         # shortest utterances for the monophone system (Kaldi: 500); 0 = all
boost_silence=1.25
tri1_leaves=2000;  tri1_gauss=10000
tri2b_leaves=2500; tri2b_gauss=15000
tri3b_leaves=2500; tri3b_gauss=15000
# extra options per training script (e.g. --num-iters for quick runs)
mono_opts=
tri1_opts=
tri2b_opts=
tri3b_opts=
decode_nj=             # default: $nj
tdnn_script=steps/nnet/train_tdnn.sh          # <data-hires> <ali-dir> <exp-dir>
tdnn_opts=                                    # e.g. "--config-type tdnn --num-epochs 2"
use_gpu=                                      # yes|wait|no; default: wait with nvidia-smi, else no
tdnn_decode_script=steps/nnet/decode.sh       # <graph-dir> <data> <decode-dir>
chain_script=steps/chain/train_tdnn.sh        # <data> <lang> <ali-dir> <exp-dir> (topology, tree, LF-MMI)
chain_decode_script=steps/chain/decode.sh
chain_leaves=2000                             # Kaldi's mini_librispeech tree_sp: 3500 on 3x speed-perturbed data
chain_opts=                                   # options of steps/chain/train.sh, e.g. "--num-epochs 2 --hidden-dim 256"

. ./cmd.sh
. ./path.sh
. utils/parse_options.sh

[ -z "$decode_nj" ] && decode_nj=$nj
if [ -z "$corpus_dir" ]; then corpus_dir=$download_dir/LibriSpeech; fi
[ -d "$corpus_dir/LibriSpeech" ] && corpus_dir=$corpus_dir/LibriSpeech
decode_opts=$(. conf/decode.config; echo "--beam $beam --lattice-beam $lattice_beam")

# data dir names as Kaldi's (train-clean-5 -> train_clean_5); with no dev set: data/train, data/dev
if [ -n "$dev_set" ]; then
  train=$(echo $train_set | sed s/-/_/g); dev=$(echo $dev_set | sed s/-/_/g)
else
  train=train; dev=dev
fi
lang=data/lang_nosp
lang_test=data/lang_nosp_test_tgsmall

run_stage() { [ "$stage" -le "$1" ] && [ "$stop_stage" -ge "$1" ]; }
have() {
  local n=$1; shift
  for s in "$@"; do
    if [ ! -f "$s" ]; then echo "stage $n: $s not available yet, skipping"; return 1; fi
  done
}
best_wer() { cat "$1/scoring_kaldi/best_wer" 2>/dev/null || true; }
# graph + decode of dev: gmm_decode <name> <decode-script>
gmm_decode() {
  utils/mkgraph.sh $lang_test exp/$1 exp/$1/graph_nosp_tgsmall
  $2 --nj $decode_nj --cmd "$decode_cmd" $decode_opts exp/$1/graph_nosp_tgsmall data/$dev \
    exp/$1/decode_nosp_tgsmall_$dev
}

if run_stage 0; then
  t0=$(date +%s)
  for part in $train_set $dev_set; do
    if [ -d "$corpus_dir/$part" ]; then
      echo "$0: $part found at $corpus_dir/$part, no download needed"
    else
      hybrid download-librispeech "$download_dir" $part
      corpus_dir=$download_dir/LibriSpeech
    fi
  done
  local/stage_time.sh 0 download "$t0"
fi

if run_stage 1; then
  t0=$(date +%s)
  for part in $train_set $dev_set; do
    # use underscore-separated names in data directories.
    local/data_prep.sh "$corpus_dir/$part" data/$(echo $part | sed s/-/_/g)
  done
  if [ -z "$dev_set" ]; then
    local/make_dev_split.sh --num-spk $num_dev_spk --seed 1 data/$(echo $train_set | sed s/-/_/g) data/$train data/$dev
  fi
  local/prepare_dict.sh --g2p $g2p ${lm:+--lm "$lm"} data/$train/text data/local/dict_nosp
  utils/prepare_lang.sh data/local/dict_nosp "<UNK>" data/local/lang_tmp_nosp $lang
  if [ -z "$lm" ]; then
    utils/train_lm.sh --order $lm_order --unk "" data/$train/text data/local/lm/lm_tgsmall.arpa.gz
    lm_file=data/local/lm/lm_tgsmall.arpa.gz
  else
    lm_file=$lm
  fi
  utils/format_lm.sh $lang "$lm_file" data/local/dict_nosp/lexicon.txt $lang_test
  utils/find_oovs.sh data/$dev $lang > data/$dev/oovs.txt || true
  local/stage_time.sh 1 data_prep "$t0" "$(wc -l < data/$train/text) train / $(wc -l < data/$dev/text) dev utterances, $(wc -l < data/local/dict_nosp/oovs.txt) training words not in CMUdict"
fi

if run_stage 2; then
  t0=$(date +%s)
  for part in $dev $train; do
    steps/make_mfcc.sh --cmd "$train_cmd" --nj $nj data/$part exp/make_mfcc/$part mfcc
    steps/compute_cmvn_stats.sh data/$part exp/make_mfcc/$part mfcc
    utils/fix_data_dir.sh data/$part
  done
  # Get the shortest utterances first because those are more likely to have accurate alignments.
  n=$(wc -l < data/$train/utt2spk)
  if [ "$mono_subset" -gt 0 ] && [ "$mono_subset" -lt "$n" ]; then
    utils/subset_data_dir.sh --shortest data/$train $mono_subset data/${train}_${mono_subset}short
  else
    rm -rf data/${train}_${mono_subset}short
    utils/copy_data_dir.sh data/$train data/${train}_${mono_subset}short
  fi
  local/stage_time.sh 2 mfcc "$t0"
fi

if run_stage 3; then
  t0=$(date +%s)
  steps/train_mono.sh --boost-silence $boost_silence --nj $nj --cmd "$train_cmd" --seed $seed $mono_opts \
    data/${train}_${mono_subset}short $lang exp/mono
  gmm_decode mono steps/decode.sh
  steps/align_si.sh --boost-silence $boost_silence --nj $nj --cmd "$train_cmd" \
    data/$train $lang exp/mono exp/mono_ali_$train
  local/stage_time.sh 3 mono "$t0" "$(best_wer exp/mono/decode_nosp_tgsmall_$dev)"
fi

if run_stage 4 && have 4 steps/train_deltas.sh; then
  t0=$(date +%s)
  steps/train_deltas.sh --boost-silence $boost_silence --cmd "$train_cmd" --seed $seed $tri1_opts \
    $tri1_leaves $tri1_gauss data/$train $lang exp/mono_ali_$train exp/tri1
  gmm_decode tri1 steps/decode.sh
  steps/align_si.sh --nj $nj --cmd "$train_cmd" data/$train $lang exp/tri1 exp/tri1_ali_$train
  local/stage_time.sh 4 tri1 "$t0" "$(best_wer exp/tri1/decode_nosp_tgsmall_$dev)"
fi

if run_stage 5 && have 5 steps/train_lda_mllt.sh; then
  t0=$(date +%s)
  steps/train_lda_mllt.sh --cmd "$train_cmd" --seed $seed $tri2b_opts \
    --splice-opts "--left-context=3 --right-context=3" $tri2b_leaves $tri2b_gauss \
    data/$train $lang exp/tri1_ali_$train exp/tri2b
  gmm_decode tri2b steps/decode.sh
  # Align utts using the tri2b model
  steps/align_si.sh --nj $nj --cmd "$train_cmd" --use-graphs true \
    data/$train $lang exp/tri2b exp/tri2b_ali_$train
  local/stage_time.sh 5 tri2b "$t0" "$(best_wer exp/tri2b/decode_nosp_tgsmall_$dev)"
fi

if run_stage 6 && have 6 steps/train_sat.sh steps/decode_fmllr.sh steps/align_fmllr.sh; then
  t0=$(date +%s)
  # Train tri3b, which is LDA+MLLT+SAT
  steps/train_sat.sh --cmd "$train_cmd" --seed $seed $tri3b_opts $tri3b_leaves $tri3b_gauss \
    data/$train $lang exp/tri2b_ali_$train exp/tri3b
  gmm_decode tri3b steps/decode_fmllr.sh
  steps/align_fmllr.sh --nj $nj --cmd "$train_cmd" data/$train $lang exp/tri3b exp/tri3b_ali_$train
  local/stage_time.sh 6 tri3b "$t0" "$(best_wer exp/tri3b/decode_nosp_tgsmall_$dev)"
fi

if run_stage 7 && have 7 $tdnn_script $tdnn_decode_script; then
  t0=$(date +%s)
  [ -z "$use_gpu" ] && { nvidia-smi >/dev/null 2>&1 && use_gpu=wait || use_gpu=no; }
  # 40-dim high-resolution MFCC for the network (Kaldi's *_hires), same frames as the GMM features
  for x in $train $dev; do
    utils/copy_data_dir.sh data/$x data/${x}_hires
    steps/make_mfcc.sh --nj $nj --cmd "$train_cmd" --mfcc-config conf/mfcc_hires.conf \
      data/${x}_hires exp/make_mfcc_hires/$x mfcc
    steps/compute_cmvn_stats.sh data/${x}_hires exp/make_mfcc_hires/$x mfcc
    utils/fix_data_dir.sh data/${x}_hires
  done
  $tdnn_script --cmd "$cuda_cmd" --use-gpu $use_gpu $tdnn_opts data/${train}_hires exp/tri3b_ali_$train exp/tdnn
  $tdnn_decode_script --nj $decode_nj --cmd "$decode_cmd" exp/tri3b/graph_nosp_tgsmall data/${dev}_hires exp/tdnn/decode_nosp_tgsmall_$dev
  local/stage_time.sh 7 tdnn "$t0" "$(best_wer exp/tdnn/decode_nosp_tgsmall_$dev)"
fi

if run_stage 8 && have 8 $chain_script $chain_decode_script; then
  t0=$(date +%s)
  [ -z "$use_gpu" ] && { nvidia-smi >/dev/null 2>&1 && use_gpu=wait || use_gpu=no; }
  # needs data/${train}_hires and data/${dev}_hires from stage 7
  $chain_script --cmd "$train_cmd" --use-gpu $use_gpu --num-leaves $chain_leaves --train-opts "$chain_opts" \
    data/$train $lang exp/tri3b_ali_$train exp/chain/tdnn
  utils/mkgraph.sh --self-loop-scale 1.0 $lang_test exp/chain/tdnn exp/chain/tdnn/graph_tgsmall
  $chain_decode_script --nj $decode_nj --cmd "$decode_cmd" --acwt 1.0 --post-decode-acwt 10.0 \
    exp/chain/tdnn/graph_tgsmall data/${dev}_hires exp/chain/tdnn/decode_tgsmall_$dev
  local/stage_time.sh 8 chain "$t0" "$(best_wer exp/chain/tdnn/decode_tgsmall_$dev)"
fi

if run_stage 9; then
  local/make_results.sh --out RESULTS
  cat RESULTS
fi

echo "$0: done (stages $stage..$stop_stage)"
