#!/usr/bin/env bash
# Chooses LMWT/WIP on a held-out part of train instead of on test, and reports the test WER of an
# existing system at that setting (Kaldi's RESULTS pick the best on test; this is the honest number).
#   1. hold out the last N training speakers (data/train_dev) and train a model of the same
#      recipe on the rest (data/train_nodev, exp/<sys>_nodev);
#   2. decode data/train_dev with it; its best LMWT/WIP is the choice;
#   3. print the test WER of exp/<sys>/decode at that LMWT/WIP.
# Usage: local/heldout_lmwt.sh [--num-spk 10] [--nj 2]   (monophone system)
num_spk=10
nj=2
seed=777
. ./cmd.sh
. ./path.sh
. utils/parse_options.sh
set -euo pipefail
cut -d' ' -f1 data/train/spk2utt | tail -n $num_spk > data/train_dev.spk
cut -d' ' -f1 data/train/spk2utt | head -n -$num_spk > data/train_nodev.spk
utils/subset_data_dir.sh --spk-list data/train_dev.spk data/train data/train_dev
utils/subset_data_dir.sh --spk-list data/train_nodev.spk data/train data/train_nodev
steps/train_mono.sh --nj $nj --cmd "$train_cmd" --seed $seed data/train_nodev data/lang exp/mono_nodev
utils/mkgraph.sh data/lang exp/mono_nodev exp/mono_nodev/graph
decode_opts=$(. conf/decode.config; echo "--beam $beam --lattice-beam $lattice_beam")
steps/decode.sh --nj $nj --cmd "$decode_cmd" $decode_opts exp/mono_nodev/graph data/train_dev exp/mono_nodev/decode_dev
best=$(cat exp/mono_nodev/decode_dev/scoring_kaldi/best_wer)
setting=$(echo "$best" | awk '{print $NF}' | sed 's|.*/wer_||')   # LMWT_WIP
echo "held-out (train_dev, $num_spk speakers, model trained without them): $best"
echo "test WER of exp/mono at LMWT_WIP=$setting chosen on held-out train:"
grep WER exp/mono/decode/wer_$setting | sed "s|\$| exp/mono/decode/wer_$setting (LMWT/WIP chosen on held-out train)|"
