#!/usr/bin/env bash
# Score lattices over LM weight x word insertion penalty (Kaldi's steps/score_kaldi.sh).
# Writes <decode-dir>/wer_<LMWT>_<WIP>, scoring/<LMWT>.<WIP>.tra, scoring/log/best_path.<LMWT>.<WIP>.log
# and scoring_kaldi/best_wer (the minimum, as utils/best_wer.sh prints it).

# begin configuration section.
cmd=run.pl
stage=0
decode_mbr=false   # accepted for compatibility; MBR decoding is not implemented
stats=true
beam=6
word_ins_penalty=0.0,0.5,1.0
min_lmwt=7
max_lmwt=17
iter=final
#end configuration section.

echo "$0 $*"  # Print the command line for logging
[ -f ./path.sh ] && . ./path.sh
. utils/parse_options.sh || exit 1

if [ $# -ne 3 ]; then
  echo "Usage: $0 [--cmd (run.pl|slurm.pl...)] <data-dir> <lang-dir|graph-dir> <decode-dir>"
  echo " Options:"
  echo "    --cmd (run.pl|slurm.pl...)      # specify how to run the sub-processes."
  echo "    --min-lmwt <int>                # minumum LM-weight for lattice rescoring (default $min_lmwt)"
  echo "    --max-lmwt <int>                # maximum LM-weight for lattice rescoring (default $max_lmwt)"
  echo "    --word-ins-penalty <list>       # comma-separated word insertion penalties (default $word_ins_penalty)"
  exit 1
fi

data=$1
lang_or_graph=$2
dir=$3

symtab=$lang_or_graph/words.txt
for f in $symtab $dir/lat.1.gz $data/text; do
  [ ! -f $f ] && echo "$0: no such file $f" && exit 1
done

mkdir -p $dir/scoring_kaldi/log
if [ $stage -le 0 ]; then
  $cmd $dir/scoring_kaldi/log/score.log \
    hybrid score-lattices --min-lmwt $min_lmwt --max-lmwt $max_lmwt --word-ins-penalty $word_ins_penalty \
      $data/text $symtab $dir || exit 1
fi
cat $dir/scoring_kaldi/best_wer
exit 0
