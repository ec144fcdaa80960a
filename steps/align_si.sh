#!/usr/bin/env bash
# Speaker-independent alignment with a GMM model, in the shape of Kaldi's
# egs/wsj/s5/steps/align_si.sh: compile training graphs from the transcripts and Viterbi-align.
# Features follow the model dir: delta features (delta_opts) or, when final.mat exists,
# spliced features transformed by final.mat (splice_opts).

# Begin configuration section.
nj=4
cmd=run.pl
use_graphs=false
scale_opts="--transition-scale=1.0 --acoustic-scale=0.1 --self-loop-scale=0.1"
beam=10
retry_beam=40
careful=false
boost_silence=1.0 # Factor by which to boost silence during alignment.
# End configuration options.

echo "$0 $@"  # Print the command line for logging

[ -f path.sh ] && . ./path.sh # source the path.
. utils/parse_options.sh || exit 1;
# one BLAS thread per job: the jobs are the parallelism (threaded BLAS spins and wastes CPU)
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1} OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} MKL_NUM_THREADS=${MKL_NUM_THREADS:-1}

if [ $# != 4 ]; then
   echo "usage: steps/align_si.sh <data-dir> <lang-dir> <src-dir> <align-dir>"
   echo "e.g.:  steps/align_si.sh data/train data/lang exp/tri1 exp/tri1_ali"
   echo "main options (for others, see top of script file)"
   echo "  --config <config-file>                           # config containing options"
   echo "  --nj <nj>                                        # number of parallel jobs"
   echo "  --use-graphs true                                # use graphs in src-dir"
   echo "  --cmd (utils/run.pl|utils/slurm.pl <opts>)       # how to run jobs."
   exit 1;
fi

data=$1
lang=$2
srcdir=$3
dir=$4

for f in $data/text $lang/oov.int $srcdir/tree $srcdir/final.mdl; do
  [ ! -f $f ] && echo "$0: expected file $f to exist" && exit 1;
done

oov=`cat $lang/oov.int` || exit 1;
mkdir -p $dir/log
echo $nj > $dir/num_jobs
sdata=$data/split$nj
splice_opts=`cat $srcdir/splice_opts 2>/dev/null` # frame-splicing options.
cp $srcdir/splice_opts $dir 2>/dev/null # frame-splicing options.
cmvn_opts=`cat $srcdir/cmvn_opts 2>/dev/null`
cp $srcdir/cmvn_opts $dir 2>/dev/null # cmn/cmvn option.
delta_opts=`cat $srcdir/delta_opts 2>/dev/null`
cp $srcdir/delta_opts $dir 2>/dev/null

utils/split_data.sh $data $nj || exit 1  # reuses a split only when complete and up to date

if [ -f $srcdir/phones.txt ] && ! cmp -s $lang/phones.txt $srcdir/phones.txt; then
  echo "$0: $lang/phones.txt and $srcdir/phones.txt differ" && exit 1;
fi
cp $lang/phones.txt $dir || exit 1;

cp $srcdir/{tree,final.mdl} $dir || exit 1;
cp $srcdir/final.occs $dir 2>/dev/null;

if [ -f $srcdir/final.mat ]; then feat_type=lda; else feat_type=delta; fi
echo "$0: feature type is $feat_type"

case $feat_type in
  delta) [ -z "$delta_opts" ] && delta_opts="--delta-order 2"
         feat_opts="$cmvn_opts $delta_opts";;
  lda) feat_opts="$cmvn_opts $splice_opts --transform $dir/final.mat"
    cp $srcdir/final.mat $dir
    cp $srcdir/full.mat $dir 2>/dev/null
   ;;
  *) echo "$0: invalid feature type $feat_type" && exit 1;
esac
feats=$sdata/JOB

echo "$0: aligning data in $data using model from $srcdir, putting alignments in $dir"

align_opts="$scale_opts --beam=$beam --retry-beam=$retry_beam --careful=$careful \
  --boost-silence=$boost_silence --silence-phones=`cat $lang/phones/optional_silence.csl`"

if $use_graphs; then
  [ $nj != "`cat $srcdir/num_jobs`" ] && echo "$0: mismatch in num-jobs" && exit 1;
  [ ! -f $srcdir/fsts.1.npz ] && echo "$0: no such file $srcdir/fsts.1.npz" && exit 1;

  $cmd JOB=1:$nj $dir/log/align.JOB.log \
    hybrid gmm-align-compiled $align_opts $feat_opts $dir/final.mdl $srcdir/fsts.JOB.npz $feats \
      $dir/ali.JOB.gz || exit 1;
else
  $cmd JOB=1:$nj $dir/log/align.JOB.log \
    hybrid compile-train-graphs --read-disambig-syms=$lang/phones/disambig.int --words $lang/words.txt \
      --map-oov $oov $dir/tree $dir/final.mdl $lang/L.fst $sdata/JOB/text $dir/fsts.JOB.npz '&&' \
    hybrid gmm-align-compiled $align_opts $feat_opts $dir/final.mdl $dir/fsts.JOB.npz $feats \
      $dir/ali.JOB.gz '&&' rm $dir/fsts.JOB.npz || exit 1;
fi

echo "$0: done aligning data."
