#!/usr/bin/env bash
# Kaldi's utils/fix_data_dir.sh: sorts the tables, keeps the ids present in all of them,
# regenerates spk2utt; the old files are kept in <data-dir>/.backup (with the removed ids).
if [ $# -ne 1 ]; then
  echo "Usage: $0 <data-dir>" 1>&2
  echo "e.g.: $0 data/train" 1>&2
  exit 1
fi
exec hybrid fix-data-dir "$1"
