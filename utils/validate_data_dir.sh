#!/usr/bin/env bash
# Kaldi's utils/validate_data_dir.sh: checks a data directory; errors name the file and line.
# Usage: utils/validate_data_dir.sh [--no-feats] [--no-text] [--no-wav] [--no-spk-sort] [--non-print] <data-dir>
opts=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-feats|--no-text|--no-wav|--no-spk-sort|--non-print) opts+=("$1"); shift ;;
    --*) echo "$0: unknown option $1" 1>&2; exit 1 ;;
    *) break ;;
  esac
done
if [ $# -ne 1 ]; then
  echo "Usage: $0 [--no-feats] [--no-text] [--no-wav] [--no-spk-sort] [--non-print] <data-dir>" 1>&2
  echo "The --no-xxx options mean that the script does not require xxx.scp to be present." 1>&2
  echo "e.g.: $0 data/train" 1>&2
  exit 1
fi
exec hybrid validate-data-dir "${opts[@]}" "$1"
