#!/usr/bin/env bash
# Speaker-disjoint train/dev split of a data dir, for when no dev set is given: --num-spk readers
# (LibriSpeech readers: the part of the speaker id before the first '-', so all chapters of a reader
# go to the same side) are drawn with a fixed seed and all their utterances go to <dev-dir>; the
# rest go to <train-dir>. Both are made with utils/subset_data_dir.sh --spk-list.
# Usage: local/make_dev_split.sh [--num-spk 4] [--seed 1] <src-data-dir> <train-dir> <dev-dir>
#  e.g.: local/make_dev_split.sh --num-spk 4 data/train_clean_5 data/train data/dev
num_spk=4
seed=1
. utils/parse_options.sh || exit 1
if [ $# -ne 3 ]; then
  echo "Usage: $0 [--num-spk N] [--seed S] <src-data-dir> <train-dir> <dev-dir>" 1>&2
  exit 1
fi
src=$1; train=$2; dev=$3
[ -f $src/spk2utt ] || { echo "$0: no such file $src/spk2utt" 1>&2; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf $tmp' EXIT
cut -d' ' -f1 $src/spk2utt > $tmp/spks
python3 - "$num_spk" "$seed" $tmp/spks $tmp/dev_spks $tmp/train_spks <<'PY' || exit 1
import random, sys
n, seed, spks_file, dev_out, train_out = int(sys.argv[1]), int(sys.argv[2]), *sys.argv[3:]
spks = open(spks_file).read().split()
readers = sorted({s.split("-")[0] for s in spks})
if n >= len(readers):
    sys.exit(f"make_dev_split: asked for {n} dev readers but there are only {len(readers)}")
dev = set(random.Random(seed).sample(readers, n))
open(dev_out, "w").writelines(s + "\n" for s in spks if s.split("-")[0] in dev)
open(train_out, "w").writelines(s + "\n" for s in spks if s.split("-")[0] not in dev)
PY
utils/subset_data_dir.sh --spk-list $tmp/dev_spks $src $dev || exit 1
utils/subset_data_dir.sh --spk-list $tmp/train_spks $src $train || exit 1
echo "$0: $(wc -l < $train/utt2spk) train utterances ($(wc -l < $tmp/train_spks) speakers), $(wc -l < $dev/utt2spk) dev utterances ($(wc -l < $tmp/dev_spks) speakers: readers $(cut -d- -f1 $tmp/dev_spks | sort -u | tr '\n' ' '))"
