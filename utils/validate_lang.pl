#!/usr/bin/env bash
# Kaldi's utils/validate_lang.pl <lang-dir> (a subset of its checks; see
# hybrid/lang/validate.py). Kaldi's --skip-* options are accepted;
# --skip-generate-words-check skips the FST checks, the others are no-ops here.
skip_fst=
while [ $# -gt 0 ]; do
  case "$1" in
    --skip-generate-words-check) skip_fst=--skip-fst-checks; shift ;;
    --skip-determinization-check|--skip-disambig-check) shift ;;
    --*) echo "$0: unknown option $1" 1>&2; exit 1 ;;
    *) break ;;
  esac
done
if [ $# -ne 1 ]; then
  echo "Usage: $0 [options] <lang_directory>"
  echo "e.g.:  $0 data/lang"
  echo "Options:"
  echo " --skip-generate-words-check              (skip the checks of L.fst / L_disambig.fst)."
  exit 1
fi
echo "$0 $*"
exec hybrid validate-lang $skip_fst "$1"
