#!/usr/bin/env bash
# Alignment with a SAT (fMLLR) system, in the shape of Kaldi's egs/wsj/s5/steps/align_fmllr.sh:
# (1) align with the speaker-independent alignment model (final.alimdl) on SI features,
# (2) estimate per-speaker fMLLR transforms from that alignment (Gaussian posteriors from the
#     alignment model, statistics with final.mdl, silence weighted 0), (3) align again with
#     final.mdl on the adapted features. Writes ali.JOB.gz, trans.JOB (fMLLR in the LDA+MLLT
#     space, keyed by speaker), full_trans.JOB (trans.JOB after final.mat), pre_ali.JOB.gz.

# Begin configuration section.
stage=0
nj=4
cmd=run.pl
use_graphs=false
# Begin configuration.
scale_opts="--transition-scale=1.0 --acoustic-scale=0.1 --self-loop-scale=0.1"
beam=10
retry_beam=40
careful=false
boost_silence=1.0 # factor by which to boost silence during alignment.
fmllr_update_type=full
# End configuration options.

echo "$0 $@"  # Print the command line for logging

[ -f path.sh ] && . ./path.sh # source the path.
. utils/parse_options.sh || exit 1;

if [ $# != 4 ]; then
   echo "usage: steps/align_fmllr.sh <data-dir> <lang-dir> <src-dir> <align-dir>"
   echo "e.g.:  steps/align_fmllr.sh data/train data/lang exp/tri3b exp/tri3b_ali"
   echo "main options (for others, see top of script file)"
   echo "  --config <config-file>                           # config containing options"
   echo "  --nj <nj>                                        # number of parallel jobs"
   echo "  --use-graphs true                                # use graphs in src-dir"
   echo "  --cmd (utils/run.pl|utils/slurm.pl <opts>)       # how to run jobs."
   echo "  --fmllr-update-type (full|diag|offset|none)      # default full."
   exit 1;
fi

data=$1
lang=$2
srcdir=$3
dir=$4

oov=`cat $lang/oov.int` || exit 1;
silphonelist=`cat $lang/phones/silence.csl` || exit 1;
sdata=$data/split$nj

for f in $data/text $data/feats.scp $data/cmvn.scp $lang/L.fst $srcdir/tree $srcdir/final.mdl; do
  [ ! -f $f ] && echo "$0: expected file $f to exist" && exit 1;
done

mkdir -p $dir/log
echo $nj > $dir/num_jobs
utils/split_data.sh $data $nj || exit 1  # reuses a split only when complete and up to date

if [ -f $srcdir/phones.txt ] && ! cmp -s $lang/phones.txt $srcdir/phones.txt; then
  echo "$0: $lang/phones.txt and $srcdir/phones.txt differ" && exit 1;
fi
cp $lang/phones.txt $dir || exit 1;

splice_opts=`cat $srcdir/splice_opts 2>/dev/null`
cp $srcdir/splice_opts $dir 2>/dev/null # frame-splicing options.
cmvn_opts=`cat $srcdir/cmvn_opts 2>/dev/null`
cp $srcdir/cmvn_opts $dir 2>/dev/null # cmn/cmvn option.
delta_opts=`cat $srcdir/delta_opts 2>/dev/null`
cp $srcdir/delta_opts $dir 2>/dev/null

cp $srcdir/{tree,final.mdl} $dir || exit 1;
cp $srcdir/final.alimdl $dir 2>/dev/null
cp $srcdir/final.occs $dir 2>/dev/null

if [ -f $srcdir/final.mat ]; then feat_type=lda; else feat_type=delta; fi
echo "$0: feature type is $feat_type"

feats=$sdata/JOB
case $feat_type in
  delta) [ -z "$delta_opts" ] && delta_opts="--delta-order 2"
         base_opts="$cmvn_opts $delta_opts"; sifeat_opts="$base_opts";;
  lda) ctx=$(echo "$splice_opts" | sed -n 's/.*--splice[= ]\([0-9]*\).*/\1/p')
       [ -z "$ctx" ] && ctx=$(echo "$splice_opts" | sed -n 's/.*--left-context[= ]\([0-9]*\).*/\1/p')
       [ -z "$ctx" ] && ctx=3
       base_opts="$cmvn_opts --splice $ctx"
       sifeat_opts="$base_opts --transform $dir/final.mat"
       cp $srcdir/final.mat $dir || exit 1
       cp $srcdir/full.mat $dir 2>/dev/null
    ;;
  *) echo "$0: invalid feature type $feat_type" && exit 1;
esac

## Set up model and alignment model.
mdl=$srcdir/final.mdl
if [ -f $srcdir/final.alimdl ]; then
  alimdl=$srcdir/final.alimdl
else
  alimdl=$srcdir/final.mdl
fi
[ ! -f $mdl ] && echo "$0: no such model $mdl" && exit 1;

align_opts="$scale_opts --beam=$beam --retry-beam=$retry_beam --careful=$careful \
  --boost-silence=$boost_silence --silence-phones=`cat $lang/phones/optional_silence.csl`"

if [ $stage -le 0 ]; then
  echo "$0: compiling training graphs"
  if $use_graphs; then
    [ $nj != "`cat $srcdir/num_jobs`" ] && echo "$0: mismatch in num-jobs" && exit 1;
    for n in `seq $nj`; do cp $srcdir/fsts.$n.npz $dir/fsts.$n.npz || exit 1; done
  else
    $cmd JOB=1:$nj $dir/log/compile_graphs.JOB.log \
      hybrid compile-train-graphs --read-disambig-syms=$lang/phones/disambig.int \
        --words $lang/words.txt --map-oov $oov \
        $dir/tree $dir/final.mdl $lang/L.fst $sdata/JOB/text $dir/fsts.JOB.npz || exit 1;
  fi
fi

if [ $stage -le 1 ]; then
  echo "$0: aligning data in $data using $alimdl and speaker-independent features."
  $cmd JOB=1:$nj $dir/log/align_pass1.JOB.log \
    hybrid gmm-align-compiled $align_opts $sifeat_opts $alimdl $dir/fsts.JOB.npz $feats \
      $dir/pre_ali.JOB.gz || exit 1;
fi

if [ $stage -le 2 ]; then
  echo "$0: computing fMLLR transforms"
  gpost_opt=
  [ "$alimdl" != "$mdl" ] && gpost_opt="--gpost-model $alimdl"
  $cmd JOB=1:$nj $dir/log/fmllr.JOB.log \
    hybrid gmm-est-fmllr --fmllr-update-type=$fmllr_update_type --spk2utt=ark:$sdata/JOB/spk2utt \
      --silence-weight 0.0 --silence-phones $silphonelist $gpost_opt \
      $sifeat_opts $mdl $feats $dir/pre_ali.JOB.gz ark:$dir/trans.JOB || exit 1;
  if [ $feat_type == lda ]; then
    $cmd JOB=1:$nj $dir/log/compose_full.JOB.log \
      hybrid compose-transforms ark:$dir/trans.JOB $dir/final.mat ark:$dir/full_trans.JOB || exit 1;
  else
    for n in `seq $nj`; do cp $dir/trans.$n $dir/full_trans.$n || exit 1; done
  fi
fi

feat_opts="$base_opts --transform ark:$dir/full_trans.JOB"

if [ $stage -le 3 ]; then
  echo "$0: doing final alignment."
  $cmd JOB=1:$nj $dir/log/align_pass2.JOB.log \
    hybrid gmm-align-compiled $align_opts $feat_opts $mdl $dir/fsts.JOB.npz $feats $dir/ali.JOB.gz || exit 1;
fi

rm $dir/fsts.*.npz 2>/dev/null
grep -h "Overall fMLLR auxf impr" $dir/log/fmllr.*.log 2>/dev/null | tail -n 1 || true
echo "$0: done aligning data."
