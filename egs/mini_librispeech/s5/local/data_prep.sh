#!/usr/bin/env bash
# LibriSpeech-layout data preparation (Kaldi's egs/librispeech/s5/local/data_prep.sh):
# <src-dir> is <corpus>/LibriSpeech/<subset> (<spk>/<chapter>/<spk>-<chapter>-<n>.flac + trans.txt);
# writes <dst-dir>/{wav.scp,text,utt2spk,spk2utt[,spk2gender]} (speakers <spk>-<chapter>).
# Usage: local/data_prep.sh <src-dir> <dst-dir>
#  e.g.: local/data_prep.sh corpus/LibriSpeech/dev-clean-2 data/dev_clean_2
if [ $# -ne 2 ]; then
  echo "Usage: $0 <src-dir> <dst-dir>" 1>&2
  echo "e.g.: $0 corpus/LibriSpeech/dev-clean-2 data/dev_clean_2" 1>&2
  exit 1
fi
src=${1%/}; dst=$2
[ -d "$src" ] || { echo "$0: no such directory $src" 1>&2; exit 1; }
hybrid prepare-librispeech "$(dirname "$src")" "$(basename "$src")" "$dst" || exit 1
utils/validate_data_dir.sh --no-feats "$dst" || exit 1
echo "$0: successfully prepared data in $dst"
