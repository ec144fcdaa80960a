#!/usr/bin/env bash
# AN4 dictionary preparation: <dict-dir>/{lexicon.txt,silence_phones.txt,optional_silence.txt,
# nonsilence_phones.txt,extra_questions.txt} from etc/an4.dic and etc/an4.phone (+ "<UNK> SIL").
# Usage: local/prepare_dict.sh <an4-corpus-dir> <dict-dir>
#  e.g.: local/prepare_dict.sh downloads/an4 data/local/dict
if [ $# -ne 2 ]; then
  echo "Usage: $0 <an4-corpus-dir> <dict-dir>" 1>&2
  exit 1
fi
hybrid prepare-an4-dict "$1" "$2" || exit 1
echo "$0: AN4 dict preparation succeeded"
