#!/usr/bin/env bash
# Kaldi's utils/validate_dict_dir.pl <dict-dir> (see hybrid/lang/dict_dir.py).
if [ $# -ne 1 ]; then
  echo "Usage: validate_dict_dir.pl <dict-dir>" 1>&2
  echo "e.g.: validate_dict_dir.pl data/local/dict" 1>&2
  exit 1
fi
exec hybrid validate-dict-dir "${1%/}"
