#!/usr/bin/env bash
# Triphone training on delta + delta-delta features, in the shape of Kaldi's
# egs/wsj/s5/steps/train_deltas.sh: tree statistics from the source alignments, questions by
# phone clustering (+ extra_questions.int), build-tree, gmm-init-model + gmm-mixup, convert-ali,
# training graphs, then EM with realignment at --realign-iters and mixing up to --max-iter-inc.
# Features: apply-cmvn (per speaker, $cmvn_opts) + add-deltas ($delta_opts, order 2).

# Begin configuration.
stage=-4 #  This allows restarting after partway, when something when wrong.
config=
cmd=run.pl
scale_opts="--transition-scale=1.0 --acoustic-scale=0.1 --self-loop-scale=0.1"
realign_iters="10 20 30";
num_iters=35    # Number of iterations of training
max_iter_inc=25 # Last iter to increase #Gauss on.
beam=10
careful=false
retry_beam=40
boost_silence=1.0 # Factor by which to boost silence likelihoods in alignment
power=0.25 # Exponent for number of gaussians according to occurrence counts
cluster_thresh=-1  # for build-tree control final bottom-up clustering of leaves
norm_vars=false # deprecated.  Prefer --cmvn-opts "--norm-vars"
cmvn_opts=      # options to CMVN (hybrid's: --norm-vars, --no-cmvn)
delta_opts=     # options to add-deltas (default --delta-order=2)
context_opts=   # use "--context-width=5 --central-position=2" for quinphone
seed=777        # seed for Gaussian splitting (Kaldi's is unseeded); iteration x uses seed+x
# End configuration.

echo "$0 $@"  # Print the command line for logging

[ -f path.sh ] && . ./path.sh;
. utils/parse_options.sh || exit 1;
. steps/libs/gmm_common.sh || exit 1   # the steps shared with train_lda_mllt.sh / train_sat.sh

if [ $# != 6 ]; then
   echo "Usage: steps/train_deltas.sh <num-leaves> <tot-gauss> <data-dir> <lang-dir> <alignment-dir> <exp-dir>"
   echo "e.g.: steps/train_deltas.sh 2000 10000 data/train_si84_half data/lang exp/mono_ali exp/tri1"
   echo "main options (for others, see top of script file)"
   echo "  --cmd (utils/run.pl|utils/slurm.pl <opts>)       # how to run jobs."
   echo "  --config <config-file>                           # config containing options"
   echo "  --stage <stage>                                  # stage to do partial re-run from."
   echo "  --num-iters <n>                                  # number of iterations (default 35)"
   echo "  --boost-silence <f>                              # boost silence in alignment (default 1.0)"
   echo "  --cluster-thresh <f>                             # build-tree clustering threshold (default -1)"
   exit 1;
fi

numleaves=$1
totgauss=$2
data=$3
lang=$4
alidir=$5
dir=$6

for f in $alidir/final.mdl $alidir/ali.1.gz $data/feats.scp $data/cmvn.scp $lang/phones.txt $lang/topo \
         $lang/L.fst $lang/phones/roots.int $lang/phones/sets.int $lang/phones/context_indep.csl; do
  [ ! -f $f ] && echo "train_deltas.sh: no such file $f" && exit 1;
done

numgauss=$numleaves
incgauss=$[($totgauss-$numgauss)/$max_iter_inc] # per-iter increment for #Gauss
oov=`cat $lang/oov.int` || exit 1;
ciphonelist=`cat $lang/phones/context_indep.csl` || exit 1;
nj=`cat $alidir/num_jobs` || exit 1;
mkdir -p $dir/log
echo $nj > $dir/num_jobs

if [ -f $alidir/phones.txt ] && ! cmp -s $lang/phones.txt $alidir/phones.txt; then
  echo "$0: $lang/phones.txt and $alidir/phones.txt differ" && exit 1;
fi
cp $lang/phones.txt $dir || exit 1;

sdata=$data/split$nj;
# always run split_data.sh: it reuses a split only if every part has all its files, newer than the
# sources (Kaldi's `[[ $data/feats.scp -ot $sdata ]]` test would reuse a split cut short by a kill)
utils/split_data.sh $data $nj || exit 1;

[ $(cat $alidir/cmvn_opts 2>/dev/null | wc -c) -gt 1 ] && [ -z "$cmvn_opts" ] && \
  echo "$0: warning: ignoring CMVN options from source directory $alidir"
$norm_vars && cmvn_opts="--norm-vars $cmvn_opts"
echo $cmvn_opts  > $dir/cmvn_opts # keep track of options to CMVN.
[ -z "$delta_opts" ] && delta_opts="--delta-order=2"
echo $delta_opts > $dir/delta_opts

feat_opts="$cmvn_opts $delta_opts"
feats=$sdata/JOB   # a data dir: hybrid applies cmvn + deltas itself (see $feat_opts)

if [ $stage -le -3 ]; then
  gmm_acc_tree_stats || exit 1
fi

if [ $stage -le -2 ]; then
  gmm_build_tree || exit 1
  # 1.mdl appears only once mixed up (a kill between init and mixup must not leave an
  # unmixed 1.mdl that a restart with --stage -1 or later would train on)
  gmm_init_model $dir/.1.mdl.init || exit 1
  hybrid gmm-mixup --mix-up=$numgauss --seed=$seed $dir/.1.mdl.init $dir/1.occs $dir/1.mdl \
    2>$dir/log/mixup.log || exit 1;
  rm $dir/.1.mdl.init $dir/treeacc
fi

if [ $stage -le -1 ]; then
  gmm_convert_ali || exit 1
fi

if [ $stage -le 0 ]; then
  gmm_compile_graphs || exit 1
fi

x=1
while [ $x -lt $num_iters ]; do
  echo "$0: training pass $x"
  if [ $stage -le $x ]; then
    if echo $realign_iters | grep -w $x >/dev/null; then
      gmm_realign $x || exit 1
    fi
    gmm_update $x || exit 1
  fi
  [ $x -le $max_iter_inc ] && numgauss=$[$numgauss+$incgauss];
  x=$[$x+1];
done

gmm_finalize $x || exit 1
echo "$0: Done training system with delta+delta-delta features in $dir"

exit 0
