#!/usr/bin/env bash
# Decode a data dir with a GMM model into lattices, then score (Kaldi's steps/decode.sh).
# The model is <decode-dir>/../final.mdl (or --model / --iter); features follow the model dir:
# LDA (final.mat + splice_opts) when final.mat exists, else deltas (delta_opts, default order 2);
# cmvn_opts is read from the model dir. Writes <decode-dir>/lat.JOB.gz, log/decode.JOB.log,
# num_jobs, then runs local/score.sh (wer_LMWT_WIP, scoring_kaldi/best_wer).

# Begin configuration section.
transform_dir=   # not supported yet (fMLLR): needs feature pipeline support for final.mat + trans.*
iter=
model=           # You can specify the model to use (e.g. if you want to use the .alimdl)
stage=0
nj=4
cmd=run.pl
max_active=7000
min_active=200
beam=13.0
lattice_beam=6.0
acwt=0.083333    # note: only really affects pruning (scoring is on lattices).
num_threads=1
scoring_opts=
skip_scoring=false
decode_extra_opts=
# End configuration section.

echo "$0 $*"  # Print the command line for logging

help_message="Usage: $0 [options] <graph-dir> <data-dir> <decode-dir>
... where <decode-dir> is assumed to be a sub-directory of the directory
 where the model is.
e.g.: $0 exp/mono/graph data/test exp/mono/decode
Options:
  --nj <nj>                      # number of parallel jobs (default $nj)
  --cmd <run.pl|slurm.pl>        # how to run jobs (default $cmd)
  --iter <iter>                  # Iteration of model to test.
  --model <model>                # which model to use (default <decode-dir>/../final.mdl)
  --beam <beam>                  # decoding beam (default $beam)
  --max-active <n>               # max active states (default $max_active)
  --lattice-beam <beam>          # lattice pruning beam (default $lattice_beam)
  --acwt <acoustic-scale>        # acoustic scale used for lattice generation (default $acwt)
  --scoring-opts <opts>          # options to local/score.sh
  --skip-scoring <true|false>    # do not score (default $skip_scoring)
  --stage <stage>                # stage to start at (default $stage)"

[ -f ./path.sh ] && . ./path.sh
. utils/parse_options.sh || exit 1

if [ $# != 3 ]; then
  printf "%s\n" "$help_message" 1>&2
  exit 1
fi

graphdir=$1
data=$2
dir=$3
srcdir=$(dirname $dir)  # The model directory is one level up from decoding directory.
sdata=$data/split$nj

mkdir -p $dir/log
utils/split_data.sh $data $nj || exit 1
echo $nj > $dir/num_jobs

if [ -z "$model" ]; then
  if [ -z "$iter" ]; then model=$srcdir/final.mdl; else model=$srcdir/$iter.mdl; fi
fi

for f in $sdata/1/feats.scp $sdata/1/cmvn.scp $model $graphdir/HCLG.fst; do
  [ ! -f $f ] && echo "$0: no such file $f" 1>&2 && exit 1
done

if [ -n "$transform_dir" ]; then
  echo "$0: --transform-dir (fMLLR) is not supported by this decode.sh yet" 1>&2; exit 1
fi

# feature options from the model dir (Kaldi writes cmvn_opts, delta_opts, splice_opts there)
cmvn_opts=$(cat $srcdir/cmvn_opts 2>/dev/null)
feat_opts=""
case "$cmvn_opts" in *--norm-vars=false*) ;; *--norm-vars*) feat_opts="$feat_opts --norm-vars true" ;; esac
if [ -f $srcdir/final.mat ]; then
  splice_opts=$(cat $srcdir/splice_opts 2>/dev/null)
  ctx=$(echo "$splice_opts" | sed -n 's/.*--splice[= ]\([0-9]*\).*/\1/p')
  [ -z "$ctx" ] && ctx=$(echo "$splice_opts" | sed -n 's/.*--left-context[= ]\([0-9]*\).*/\1/p')
  feat_opts="$feat_opts --splice ${ctx:-3} --transform $srcdir/final.mat"
  echo "$0: feature type is lda"
else
  delta_opts=$(cat $srcdir/delta_opts 2>/dev/null)
  order=$(echo "$delta_opts" | sed -n 's/.*--delta-order[= ]\([0-9]*\).*/\1/p')
  feat_opts="$feat_opts --delta-order ${order:-2}"
  echo "$0: feature type is delta"
fi

if [ $stage -le 0 ]; then
  $cmd --num-threads $num_threads JOB=1:$nj $dir/log/decode.JOB.log \
    hybrid gmm-latgen-faster --max-active=$max_active --min-active=$min_active --beam=$beam \
      --lattice-beam=$lattice_beam --acoustic-scale=$acwt --allow-partial=true \
      --word-symbol-table=$graphdir/words.txt $feat_opts $decode_extra_opts \
      $model $graphdir/HCLG.fst $sdata/JOB $dir/lat.JOB.gz || exit 1
fi

if ! $skip_scoring; then
  [ ! -x local/score.sh ] && \
    echo "Not scoring because local/score.sh does not exist or not executable." && exit 1
  local/score.sh --cmd "$cmd" $scoring_opts $data $graphdir $dir ||
    { echo "$0: Scoring failed. (ignore by '--skip-scoring true')"; exit 1; }
fi

exit 0
