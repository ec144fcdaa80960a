#!/usr/bin/env bash
# AN4 data preparation (Kaldi's local/data_prep.sh shape): writes <data>/train and <data>/test
# (wav.scp pointing at the .sph files, text, utt2spk, spk2utt; utterance ids <spk>-<id>) and
# validates them.
# Usage: local/data_prep.sh <an4-corpus-dir> <data-dir>
#  e.g.: local/data_prep.sh ../../../../shared/corpora/an4 data
if [ $# -ne 2 ]; then
  echo "Usage: $0 <an4-corpus-dir> <data-dir>" 1>&2
  echo " e.g.: $0 downloads/an4 data" 1>&2
  exit 1
fi
corpus=$1
data=$2
[ -f "$corpus/etc/an4_train.transcription" ] || { echo "$0: no AN4 at $corpus (etc/an4_train.transcription missing)" 1>&2; exit 1; }
hybrid prepare-an4 "$corpus" "$data" || exit 1
for x in train test; do
  utils/validate_data_dir.sh --no-feats "$data/$x" || exit 1
done
echo "$0: AN4 data preparation succeeded"
