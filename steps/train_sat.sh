#!/usr/bin/env bash
# Speaker-adaptive training (SAT) with fMLLR, in the shape of Kaldi's egs/wsj/s5/steps/train_sat.sh.
# Features: the alignment dir's LDA+MLLT features (final.mat, splice_opts) or delta features, then a
# per-speaker fMLLR transform (trans.JOB, keyed by speaker; from the alignment dir when it has them,
# else estimated with its model). A new tree, then EM with realignment and mixing up; fMLLR is
# re-estimated at --fmllr-iters (composed with the previous transforms). At the end the alignment
# model final.alimdl (speaker-independent features, Gaussian-for-Gaussian as final.mdl) is estimated.
#
# trans.JOB are fMLLR transforms in the LDA+MLLT space, as Kaldi's; full_trans.JOB = trans.JOB
# composed with final.mat (spliced features -> adapted features), passed as the --transform of the
# hybrid commands.

# Begin configuration section.
stage=-5
exit_stage=-100 # you can use this to require it to exit at the beginning of a specific stage.
fmllr_update_type=full
cmd=run.pl
scale_opts="--transition-scale=1.0 --acoustic-scale=0.1 --self-loop-scale=0.1"
beam=10
retry_beam=40
careful=false
boost_silence=1.0 # Factor by which to boost silence likelihoods in alignment
context_opts=  # e.g. set this to "--context-width 5 --central-position 2" for quinphone.
realign_iters="10 20 30";
fmllr_iters="2 4 6 12";
silence_weight=0.0 # Weight on silence in fMLLR estimation.
num_iters=35   # Number of iterations of training
max_iter_inc=25 # Last iter to increase #Gauss on.
power=0.2 # Exponent for number of gaussians according to occurrence counts
cluster_thresh=-1  # for build-tree control final bottom-up clustering of leaves
train_tree=true
seed=777        # seed for Gaussian splitting (Kaldi's is unseeded); iteration x uses seed+x
# End configuration section.

echo "$0 $@"  # Print the command line for logging

[ -f path.sh ] && . ./path.sh
. utils/parse_options.sh || exit 1;
. steps/libs/gmm_common.sh || exit 1   # the steps shared with train_deltas.sh / train_lda_mllt.sh

if [ $# != 6 ]; then
  echo "Usage: steps/train_sat.sh <#leaves> <#gauss> <data> <lang> <ali-dir> <exp-dir>"
  echo " e.g.: steps/train_sat.sh 2500 15000 data/train_si84 data/lang exp/tri2b_ali_si84 exp/tri3b"
  echo "Main options (for others, see top of script file)"
  echo "  --cmd (utils/run.pl|utils/slurm.pl <opts>)       # how to run jobs."
  echo "  --config <config-file>                           # config containing options"
  echo "  --stage <stage>                                  # stage to do partial re-run from."
  echo "  --fmllr-iters <iters>                            # iterations re-estimating fMLLR (default '$fmllr_iters')"
  echo "  --silence-weight <w>                             # weight of silence in fMLLR estimation (default $silence_weight)"
  exit 1;
fi

numleaves=$1
totgauss=$2
data=$3
lang=$4
alidir=$5
dir=$6

for f in $data/feats.scp $data/cmvn.scp $lang/phones.txt $lang/topo $lang/L.fst $lang/oov.int \
         $lang/phones/silence.csl $lang/phones/context_indep.csl $alidir/final.mdl $alidir/ali.1.gz; do
  [ ! -f $f ] && echo "$0: no such file $f" && exit 1;
done

numgauss=$numleaves
incgauss=$[($totgauss-$numgauss)/$max_iter_inc]  # per-iter #gauss increment
oov=`cat $lang/oov.int`
nj=`cat $alidir/num_jobs` || exit 1;
silphonelist=`cat $lang/phones/silence.csl`
ciphonelist=`cat $lang/phones/context_indep.csl` || exit 1;
sdata=$data/split$nj;
splice_opts=`cat $alidir/splice_opts 2>/dev/null` # frame-splicing options.
cmvn_opts=`cat $alidir/cmvn_opts 2>/dev/null`
delta_opts=`cat $alidir/delta_opts 2>/dev/null`

mkdir -p $dir/log
cp $alidir/splice_opts $dir 2>/dev/null # frame-splicing options.
cp $alidir/cmvn_opts $dir 2>/dev/null # cmn/cmvn option.
cp $alidir/delta_opts $dir 2>/dev/null # delta option.

if [ -f $alidir/phones.txt ] && ! cmp -s $lang/phones.txt $alidir/phones.txt; then
  echo "$0: $lang/phones.txt and $alidir/phones.txt differ" && exit 1;
fi
cp $lang/phones.txt $dir || exit 1;

echo $nj >$dir/num_jobs
utils/split_data.sh $data $nj || exit 1  # reuses a split only when complete and up to date

# Set up features.
if [ -f $alidir/final.mat ]; then feat_type=lda; else feat_type=delta; fi
echo "$0: feature type is $feat_type"

## Set up speaker-independent features (a data dir + hybrid feature options).
feats=$sdata/JOB
case $feat_type in
  delta) [ -z "$delta_opts" ] && delta_opts="--delta-order 2"
         base_opts="$cmvn_opts $delta_opts"; sifeat_opts="$base_opts"; si_transform_opt="";;
  lda) ctx=$(echo "$splice_opts" | sed -n 's/.*--splice[= ]\([0-9]*\).*/\1/p')
       [ -z "$ctx" ] && ctx=$(echo "$splice_opts" | sed -n 's/.*--left-context[= ]\([0-9]*\).*/\1/p')
       [ -z "$ctx" ] && ctx=3
       base_opts="$cmvn_opts --splice $ctx"
       sifeat_opts="$base_opts --transform $dir/final.mat"
       si_transform_opt="--si-transform $dir/final.mat"
       cp $alidir/final.mat $dir || exit 1;
       cp $alidir/full.mat $dir 2>/dev/null
    ;;
  *) echo "$0: invalid feature type $feat_type" && exit 1;
esac

# make_full_trans <dir-with-trans.JOB>: $dir/full_trans.JOB = trans.JOB after final.mat (LDA), or
# a copy of trans.JOB for delta features.
make_full_trans() {
  local src=$1
  if [ $feat_type == lda ]; then
    $cmd JOB=1:$nj $dir/log/compose_full.JOB.log \
      hybrid compose-transforms ark:$src/trans.JOB $dir/final.mat ark:$dir/full_trans.JOB || return 1;
  else
    for n in `seq $nj`; do cp $src/trans.$n $dir/full_trans.$n || return 1; done
  fi
}
feat_opts="$base_opts --transform ark:$dir/full_trans.JOB"

## Get initial fMLLR transforms (possibly from alignment dir)
if [ -f $alidir/trans.1 ]; then
  echo "$0: Using transforms from $alidir"
  if [ $stage -le -5 ]; then
    for n in `seq $nj`; do cp $alidir/trans.$n $dir/trans.$n || exit 1; done
    make_full_trans $dir || exit 1;
  fi
else
  if [ $stage -le -5 ]; then
    echo "$0: obtaining initial fMLLR transforms since not present in $alidir"
    $cmd JOB=1:$nj $dir/log/fmllr.0.JOB.log \
      hybrid gmm-est-fmllr --fmllr-update-type=$fmllr_update_type --spk2utt=ark:$sdata/JOB/spk2utt \
        --silence-weight $silence_weight --silence-phones $silphonelist \
        $sifeat_opts $alidir/final.mdl $feats $alidir/ali.JOB.gz ark:$dir/trans.JOB || exit 1;
    make_full_trans $dir || exit 1;
  fi
fi

if [ $stage -le -4 ] && $train_tree; then
  gmm_acc_tree_stats || exit 1
fi

if [ $stage -le -3 ] && $train_tree; then
  gmm_build_tree || exit 1
fi

if [ $stage -le -2 ]; then
  if $train_tree; then
    gmm_init_model $dir/1.mdl || exit 1
    rm $dir/treeacc
  else
    echo "$0: --train-tree false is not supported (needs gmm-init-model-flat)" && exit 1;
  fi
fi

if [ $stage -le -1 ]; then
  gmm_convert_ali || exit 1
fi

[ "$exit_stage" -eq 0 ] && echo "$0: Exiting early: --exit-stage $exit_stage" && exit 0;

if [ $stage -le 0 ] && [ "$realign_iters" != "" ]; then
  gmm_compile_graphs || exit 1
fi

x=1
while [ $x -lt $num_iters ]; do
  echo "$0: Pass $x"
  if echo $realign_iters | grep -w $x >/dev/null && [ $stage -le $x ]; then
    gmm_realign $x || exit 1
  fi

  if echo $fmllr_iters | grep -w $x >/dev/null; then
    if [ $stage -le $x ]; then
      echo "$0: Estimating fMLLR transforms"
      # We estimate a transform that's additional to the previous transform; we'll compose them.
      $cmd JOB=1:$nj $dir/log/fmllr.$x.JOB.log \
        hybrid gmm-est-fmllr --fmllr-update-type=$fmllr_update_type --spk2utt=ark:$sdata/JOB/spk2utt \
          --silence-weight $silence_weight --silence-phones $silphonelist \
          $feat_opts $dir/$x.mdl $feats $dir/ali.JOB.gz ark:$dir/tmp_trans.JOB || exit 1;
      $cmd JOB=1:$nj $dir/log/compose_transforms.$x.JOB.log \
        hybrid compose-transforms --b-is-affine=true \
          ark:$dir/tmp_trans.JOB ark:$dir/trans.JOB ark:$dir/composed_trans.JOB '&&' \
        mv $dir/composed_trans.JOB $dir/trans.JOB '&&' rm $dir/tmp_trans.JOB \
        || { echo "$0: Error composing transforms"; exit 1; }
      make_full_trans $dir || exit 1;
    fi
  fi

  if [ $stage -le $x ]; then
    gmm_update $x || exit 1
  fi
  [ $x -le $max_iter_inc ] && numgauss=$[$numgauss+$incgauss];
  x=$[$x+1];
done

if [ $stage -le $x ]; then
  # Accumulate stats for "alignment model"-- this model is computed with the speaker-independent
  # features, but matches Gaussian-for-Gaussian with the final speaker-adapted model.
  $cmd JOB=1:$nj $dir/log/acc_alimdl.JOB.log \
    hybrid gmm-acc-stats-twofeats $feat_opts $si_transform_opt \
      $dir/$x.mdl $feats $dir/ali.JOB.gz $dir/$x.JOB.acc || exit 1;
  [ `ls $dir/$x.*.acc | wc -w` -ne "$nj" ] && echo "$0: Wrong #accs" && exit 1;
  # Update model.
  $cmd $dir/log/est_alimdl.log \
    hybrid gmm-est --power=$power --remove-low-count-gaussians=false $dir/$x.mdl \
      $dir/$x.*.acc $dir/$x.alimdl || exit 1;
  rm $dir/$x.*.acc
fi

# final.{mdl,alimdl,occs}: copies, renamed into place (atomic)
gmm_finalize $x alimdl || exit 1
grep -h "Overall fMLLR auxf impr" $dir/log/fmllr.*.log 2>/dev/null | tail -n 1 || true
echo "$0: Done training SAT system in $dir"
