#!/usr/bin/env bash
# LDA+MLLT training, in the shape of Kaldi's egs/wsj/s5/steps/train_lda_mllt.sh:
# splice ±3 frames of CMVN'd features, LDA to --dim (classes = pdfs of the alignment dir's model,
# silence frames weighted 0), a new tree on the LDA features, then EM with realignment, mixing up
# and MLLT (semi-tied covariance) re-estimated at --mllt-iters (composed into the LDA matrix, the
# model means transformed accordingly). Writes 0.mat (LDA), <x>.mat (LDA+MLLT after iteration x),
# final.mat, final.mdl, final.occs, tree, ali.JOB.gz, splice_opts, cmvn_opts.

# Begin configuration.
cmd=run.pl
config=
stage=-5
scale_opts="--transition-scale=1.0 --acoustic-scale=0.1 --self-loop-scale=0.1"
realign_iters="10 20 30";
mllt_iters="2 4 6 12";
num_iters=35    # Number of iterations of training
max_iter_inc=25  # Last iter to increase #Gauss on.
dim=40
beam=10
retry_beam=40
careful=false
boost_silence=1.0 # Factor by which to boost silence likelihoods in alignment
power=0.25 # Exponent for number of gaussians according to occurrence counts
randprune=4.0 # accepted for compatibility: our LDA/MLLT statistics are exact
splice_opts="--left-context=3 --right-context=3"
cluster_thresh=-1  # for build-tree control final bottom-up clustering of leaves
norm_vars=false # deprecated.  Prefer --cmvn-opts "--norm-vars"
cmvn_opts=
context_opts=   # use "--context-width=5 --central-position=2" for quinphone.
train_tree=true  # if false, don't actually train the tree (use the alignment dir's).
use_lda_mat=  # If supplied, use this LDA[+MLLT] matrix.
seed=777        # seed for Gaussian splitting (Kaldi's is unseeded); iteration x uses seed+x
# End configuration.

echo "$0 $@"  # Print the command line for logging

[ -f path.sh ] && . ./path.sh
. utils/parse_options.sh || exit 1;
. steps/libs/gmm_common.sh || exit 1   # the steps shared with train_deltas.sh / train_sat.sh

if [ $# != 6 ]; then
  echo "Usage: steps/train_lda_mllt.sh [options] <#leaves> <#gauss> <data> <lang> <alignments> <dir>"
  echo " e.g.: steps/train_lda_mllt.sh 2500 15000 data/train_si84 data/lang exp/tri1_ali_si84 exp/tri2b"
  echo "Main options (for others, see top of script file)"
  echo "  --cmd (utils/run.pl|utils/slurm.pl <opts>)       # how to run jobs."
  echo "  --config <config-file>                           # config containing options"
  echo "  --stage <stage>                                  # stage to do partial re-run from."
  echo "  --splice-opts <opts>                             # splicing options (default $splice_opts)"
  echo "  --dim <dim>                                      # LDA output dimension (default $dim)"
  echo "  --mllt-iters <iters>                             # iterations with MLLT (default '$mllt_iters')"
  echo "  --num-iters <n>                                  # number of iterations (default $num_iters)"
  exit 1;
fi

numleaves=$1
totgauss=$2
data=$3
lang=$4
alidir=$5
dir=$6

for f in $alidir/final.mdl $alidir/ali.1.gz $data/feats.scp $data/cmvn.scp $lang/phones.txt $lang/topo \
         $lang/L.fst $lang/oov.int $lang/phones/silence.csl $lang/phones/context_indep.csl \
         $lang/phones/sets.int $lang/phones/roots.int; do
  [ ! -f $f ] && echo "$0: no such file $f" && exit 1;
done

numgauss=$numleaves
incgauss=$[($totgauss-$numgauss)/$max_iter_inc] # per-iter #gauss increment
oov=`cat $lang/oov.int` || exit 1;
nj=`cat $alidir/num_jobs` || exit 1;
silphonelist=`cat $lang/phones/silence.csl` || exit 1;
ciphonelist=`cat $lang/phones/context_indep.csl` || exit 1;

# splice options: Kaldi's "--left-context=L --right-context=R" (L = R) or ours "--splice N"
left=$(echo "$splice_opts" | sed -n 's/.*--left-context[= ]\([0-9]*\).*/\1/p')
right=$(echo "$splice_opts" | sed -n 's/.*--right-context[= ]\([0-9]*\).*/\1/p')
[ -z "$left" ] && left=$(echo "$splice_opts" | sed -n 's/.*--splice[= ]\([0-9]*\).*/\1/p')
[ -z "$left" ] && left=3
[ -z "$right" ] && right=$left
if [ "$left" != "$right" ]; then
  echo "$0: only symmetric splicing is supported (left $left, right $right)" && exit 1;
fi

mkdir -p $dir/log
if [ -f $alidir/phones.txt ] && ! cmp -s $lang/phones.txt $alidir/phones.txt; then
  echo "$0: $lang/phones.txt and $alidir/phones.txt differ" && exit 1;
fi
cp $lang/phones.txt $dir || exit 1;
echo $nj >$dir/num_jobs
# splice_opts holds our feature option (read by align_si.sh / decode.sh / train_sat.sh)
echo "--splice=$left" >$dir/splice_opts
$norm_vars && cmvn_opts="--norm-vars $cmvn_opts"
[ -z "$cmvn_opts" ] && cmvn_opts=`cat $alidir/cmvn_opts 2>/dev/null`
echo $cmvn_opts >$dir/cmvn_opts # keep track of options to CMVN.

sdata=$data/split$nj;
utils/split_data.sh $data $nj || exit 1  # reuses a split only when complete and up to date

# features: a data dir; hybrid applies CMVN, splicing and the transform itself
splicedfeat_opts="$cmvn_opts --splice $left"
feats=$sdata/JOB
feat_opts="$splicedfeat_opts --transform $dir/0.mat"   # overwritten at the MLLT iterations

if [ $stage -le -5 ]; then
  if [ -z "$use_lda_mat" ]; then
    echo "$0: Accumulating LDA statistics."
    rm $dir/lda.*.acc 2>/dev/null
    $cmd JOB=1:$nj $dir/log/lda_acc.JOB.log \
      hybrid acc-lda --rand-prune=$randprune --silence-weight 0.0 --silence-phones $silphonelist \
        $splicedfeat_opts $alidir/final.mdl $feats $alidir/ali.JOB.gz $dir/lda.JOB.acc || exit 1;
    hybrid est-lda --write-full-matrix=$dir/full.mat --dim=$dim $dir/0.mat $dir/lda.*.acc \
      2>$dir/log/lda_est.log || exit 1;
    rm $dir/lda.*.acc
  else
    cp $use_lda_mat $dir/0.mat || exit 1;
  fi
fi

cur_lda_iter=0

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

if [ $stage -le 0 ] && [ "$realign_iters" != "" ]; then
  gmm_compile_graphs || exit 1
fi

x=1
while [ $x -lt $num_iters ]; do
  echo "$0: Training pass $x"
  if echo $realign_iters | grep -w $x >/dev/null && [ $stage -le $x ]; then
    gmm_realign $x || exit 1
  fi
  if echo $mllt_iters | grep -w $x >/dev/null; then
    if [ $stage -le $x ]; then
      echo "$0: Estimating MLLT"
      $cmd JOB=1:$nj $dir/log/macc.$x.JOB.log \
        hybrid gmm-acc-mllt --rand-prune=$randprune --silence-weight 0.0 --silence-phones $silphonelist \
          $feat_opts $dir/$x.mdl $feats $dir/ali.JOB.gz $dir/$x.JOB.macc || exit 1;
      hybrid est-mllt $dir/$x.mat.new $dir/$x.*.macc 2> $dir/log/mupdate.$x.log || exit 1;
      # the model is transformed in place (as Kaldi); the untransformed one is kept as
      # $x.mdl.premllt so that a restart at this stage starts from the right model
      [ -f $dir/$x.mdl.premllt ] || cp $dir/$x.mdl $dir/$x.mdl.premllt
      hybrid gmm-transform-means $dir/$x.mat.new $dir/$x.mdl.premllt $dir/$x.mdl \
        2> $dir/log/transform_means.$x.log || exit 1;
      hybrid compose-transforms $dir/$x.mat.new $dir/$cur_lda_iter.mat $dir/$x.mat \
        2> $dir/log/compose_transforms.$x.log || exit 1;
      rm $dir/$x.*.macc
    fi
    feat_opts="$splicedfeat_opts --transform $dir/$x.mat"
    cur_lda_iter=$x
  fi

  if [ $stage -le $x ]; then
    # a new $[x+1].mdl voids an untransformed copy that an earlier run of this directory left
    rm -f $dir/$[$x+1].mdl.premllt
    gmm_update $x || exit 1
  fi
  [ $x -le $max_iter_inc ] && numgauss=$[$numgauss+$incgauss];
  x=$[$x+1];
done

# final.{mdl,occs,mat}: copies, renamed into place (atomic)
gmm_finalize $x || exit 1
cp $dir/$cur_lda_iter.mat $dir/.final.mat.tmp && mv -f $dir/.final.mat.tmp $dir/final.mat || exit 1;
echo "$0: Done training system with LDA+MLLT features in $dir"
