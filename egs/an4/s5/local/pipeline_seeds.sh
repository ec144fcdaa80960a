#!/usr/bin/env bash
# The whole GMM pipeline (mono -> tri1 -> tri2b -> tri3b) once per seed, each in its own
# directory under seeds/ with a private copy of data/ (features shared through mfcc/): the spread
# of every system's WER when nothing is shared but the data (local/mono_seeds.sh --system tri1
# varies only the triphone system's own Gaussian splitting on one monophone alignment).
# Usage: local/pipeline_seeds.sh [--seeds "1 2 3"] [--nj 2] [--stop-stage 11] [--extra-questions silence]
#   Runs ./run.sh --seed <s> --stage 6 --stop-stage <stop-stage> in the seed's directory, after the
#   monophone stages (4-5; an existing exp/mono_seed<s> of local/mono_seeds.sh, same command and
#   seed, or the other variant's monophone is copied instead: the monophone does not depend on it).
#   --extra-questions empty: data/local/dict/extra_questions.txt empty, as Kaldi's egs/an4 writes it
#     -> seeds/s<s>-eq
#   --extra-questions silence (default): one line SIL, one line with every non-silence phone, as this
#     recipe's local/prepare_dict.sh writes it (and most Kaldi recipes) -> seeds/s<s>
#   data/lang is rebuilt from the dict (run.sh stage 3) in each seed directory.
extra_questions=silence
corpus_dir=   # for stage 3 (G from etc/an4.ug.lm); default as run.sh's
seeds="1 2 3"
nj=2
stop_stage=11
. ./path.sh
. utils/parse_options.sh
set -euo pipefail
top=$PWD
if [ -z "$corpus_dir" ]; then
  corpus_dir=$(cd ../../.. && pwd)/../shared/corpora/an4
  [ -d "$corpus_dir/etc" ] || corpus_dir=$top/downloads/an4
fi
case $extra_questions in
  empty) suffix=-eq; other= ;;
  silence) suffix=; other=-eq ;;
  *) echo "$0: --extra-questions must be empty or silence" 1>&2; exit 1 ;;
esac
for s in $seeds; do
  w=seeds/s$s$suffix
  mkdir -p $w/exp
  for f in steps utils local conf cmd.sh run.sh mfcc; do
    [ -e $w/$f ] || ln -s $top/$f $w/$f
  done
  echo ". $top/path.sh" > $w/path.sh
  if [ ! -f $w/data/lang/.extra_questions_done ]; then
    rm -rf $w/data; cp -r data $w/data; rm -rf $w/data/*/split* $w/data/lang/tmp
    if [ $extra_questions = empty ]; then
      : > $w/data/local/dict/extra_questions.txt
    else
      { echo SIL; tr '\n' ' ' < $w/data/local/dict/nonsilence_phones.txt | sed 's/ $//'; echo; } \
        > $w/data/local/dict/extra_questions.txt
    fi
    (cd $w && ./run.sh --corpus-dir $corpus_dir --stage 3 --stop-stage 3) > $w/lang.log 2>&1
    touch $w/data/lang/.extra_questions_done
  fi
  for m in exp/mono_seed$s seeds/s$s$other/exp/mono; do
    if [ ! -e $w/exp/mono/final.mdl ] && [ -f $m/decode/scoring_kaldi/best_wer ]; then cp -r $m $w/exp/mono; fi
  done
  start=4
  [ -f $w/exp/mono/decode/scoring_kaldi/best_wer ] && start=6
  (cd $w && ./run.sh --seed $s --nj $nj --stage $start --stop-stage $stop_stage) > $w/run.log 2>&1 || {
    echo "$0: seed $s failed, see $w/run.log" 1>&2; exit 1; }
done
for s in $seeds; do
  for x in mono/decode tri1/decode tri2b/decode tri3b/decode.si tri3b/decode; do
    f=seeds/s$s$suffix/exp/$x/scoring_kaldi/best_wer
    [ -f $f ] && echo "seed $s: $(cat $f)"
  done
done
