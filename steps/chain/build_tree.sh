#!/usr/bin/env bash
# Left-biphone tree for chain training (Kaldi's steps/nnet3/chain/build_tree.sh): a monophone
# model with the chain topology of <lang> (data/lang_chain, see steps/chain/gen_topo.sh), the
# GMM alignments converted to it at --frame-subsampling-factor (chain-convert-ali = Kaldi's
# convert-ali --frame-subsampling-factor), tree statistics on the subsampled features
# (subsample-feats), phone clustering, build-tree with --context-opts, gmm-init-model, and the
# alignments converted to the new tree (at --alignment-subsampling-factor, default 1: the
# input frame rate, used for the phone LM and the chain egs).
# Features: those of <ali-dir> (LDA+MLLT when it has final.mat, else deltas), without fMLLR.
# Writes <tree-dir>/{tree,final.mdl,1.mdl,topo,ali.JOB.gz,num_jobs,phones.txt}.

# Begin configuration section.
stage=-5
cmd=run.pl
context_opts="--context-width=2 --central-position=1"
cluster_thresh=-1
frame_subsampling_factor=3
alignment_subsampling_factor=1
# End configuration section.

echo "$0 $*"

[ -f ./path.sh ] && . ./path.sh
. utils/parse_options.sh || exit 1

if [ $# != 5 ]; then
  echo "Usage: steps/chain/build_tree.sh [options] <#leaves> <data> <lang-chain> <ali-dir> <tree-dir>"
  echo " e.g.: steps/chain/build_tree.sh --frame-subsampling-factor 3 \\"
  echo "    --context-opts \"--context-width=2 --central-position=1\" 1000 data/train data/lang_chain exp/tri3b_ali exp/chain/tree"
  echo "Options:"
  echo "  --frame-subsampling-factor <f>    # subsampling of the features/alignments for the tree stats (default 3)"
  echo "  --alignment-subsampling-factor <f> # subsampling of the output alignments (default 1)"
  echo "  --context-opts <opts>              # default \"--context-width=2 --central-position=1\" (left biphone)"
  echo "  --cmd <run.pl|slurm.pl>            # how to run jobs"
  echo "  --stage <n>                        # stage to start from (-5 .. -1)"
  exit 1
fi

numleaves=$1
data=$2
lang=$3
alidir=$4
dir=$5

for f in $data/feats.scp $lang/phones.txt $lang/topo $lang/phones/sets.int $lang/phones/roots.int \
         $lang/phones/context_indep.csl $alidir/final.mdl $alidir/ali.1.gz $alidir/num_jobs; do
  [ ! -f $f ] && echo "$0: no such file $f" && exit 1
done
grep -q SelfLoopPdfClass $lang/topo || grep -q "<Transition> 1 0.5 <Transition> 2 0.5" $lang/topo || \
  echo "$0: WARNING: $lang/topo does not look like a chain topology (use steps/chain/gen_topo.sh)"

nj=$(cat $alidir/num_jobs) || exit 1
ciphonelist=$(cat $lang/phones/context_indep.csl) || exit 1
mkdir -p $dir/log
echo $nj > $dir/num_jobs
cp $lang/phones.txt $dir/ || exit 1
cp $lang/topo $dir/topo || exit 1
echo $frame_subsampling_factor > $dir/frame_subsampling_factor
sdata=$data/split$nj
utils/split_data.sh $data $nj || exit 1  # reuses a split only when complete and up to date

splice_opts=$(cat $alidir/splice_opts 2>/dev/null)
cmvn_opts=$(cat $alidir/cmvn_opts 2>/dev/null)
delta_opts=$(cat $alidir/delta_opts 2>/dev/null)
cp $alidir/cmvn_opts $dir 2>/dev/null
if [ -f $alidir/final.mat ]; then
  ctx=$(echo "$splice_opts" | sed -n 's/.*--splice[= ]\([0-9]*\).*/\1/p')
  [ -z "$ctx" ] && ctx=$(echo "$splice_opts" | sed -n 's/.*--left-context[= ]\([0-9]*\).*/\1/p')
  [ -z "$ctx" ] && ctx=3
  feat_opts="$cmvn_opts --splice $ctx --transform $alidir/final.mat"
  echo "$0: feature type is lda"
else
  [ -z "$delta_opts" ] && delta_opts="--delta-order 2"
  feat_opts="$cmvn_opts $delta_opts"
  echo "$0: feature type is delta"
fi

if [ $stage -le -5 ]; then
  echo "$0: initializing a monophone model with the chain topology (for alignment conversion)"
  $cmd $dir/log/init_mono.log \
    hybrid gmm-init-mono --shared-phones=$lang/phones/sets.int --train-feats=$sdata/1 $feat_opts \
      $lang/topo 0 $dir/mono.mdl $dir/mono.tree || exit 1
fi

if [ $stage -le -4 ]; then
  echo "$0: accumulating tree stats (alignments and features subsampled by $frame_subsampling_factor)"
  $cmd JOB=1:$nj $dir/log/convert_mono.JOB.log \
    hybrid chain-convert-ali --frame-subsampling-factor=$frame_subsampling_factor \
      $alidir/final.mdl $dir/mono.mdl $dir/mono.tree $alidir/ali.JOB.gz $dir/mono_ali.JOB.gz || exit 1
  $cmd JOB=1:$nj $dir/log/subsample_feats.JOB.log \
    hybrid subsample-feats --n=$frame_subsampling_factor $feat_opts $sdata/JOB ark:$dir/feats_sub.JOB.ark || exit 1
  $cmd JOB=1:$nj $dir/log/acc_tree.JOB.log \
    hybrid acc-tree-stats $context_opts --ci-phones=$ciphonelist --no-cmvn \
      $dir/mono.mdl ark:$dir/feats_sub.JOB.ark $dir/mono_ali.JOB.gz $dir/JOB.treeacc || exit 1
  hybrid sum-tree-stats $dir/treeacc $dir/*.treeacc 2>$dir/log/sum_tree_acc.log || exit 1
  rm $dir/*.treeacc $dir/feats_sub.*.ark
fi

if [ $stage -le -3 ]; then
  echo "$0: getting questions for tree clustering"
  $cmd $dir/log/questions.log \
    hybrid cluster-phones $context_opts $dir/treeacc $lang/phones/sets.int $dir/questions.int || exit 1
  [ -f $lang/phones/extra_questions.int ] && cat $lang/phones/extra_questions.int >> $dir/questions.int
  $cmd $dir/log/compile_questions.log \
    hybrid compile-questions $context_opts $lang/topo $dir/questions.int $dir/questions.qst || exit 1
  echo "$0: building the tree"
  $cmd $dir/log/build_tree.log \
    hybrid build-tree $context_opts --verbose=1 --max-leaves=$numleaves --cluster-thresh=$cluster_thresh \
      $dir/treeacc $lang/phones/roots.int $dir/questions.qst $lang/topo $dir/tree || exit 1
fi

if [ $stage -le -2 ]; then
  echo "$0: initializing the model"
  $cmd $dir/log/init_model.log \
    hybrid gmm-init-model --write-occs=$dir/1.occs $dir/tree $dir/treeacc $lang/topo $dir/1.mdl || exit 1
  grep 'no stats' $dir/log/init_model.log && echo "$0: WARNING: some phones had no data"
  rm $dir/treeacc
fi

if [ $stage -le -1 ]; then
  echo "$0: converting alignments from $alidir to use the current tree"
  $cmd JOB=1:$nj $dir/log/convert.JOB.log \
    hybrid chain-convert-ali --frame-subsampling-factor=$alignment_subsampling_factor \
      $alidir/final.mdl $dir/1.mdl $dir/tree $alidir/ali.JOB.gz $dir/ali.JOB.gz || exit 1
fi

cp $dir/1.mdl $dir/.final.mdl.tmp && mv -f $dir/.final.mdl.tmp $dir/final.mdl || exit 1
hybrid tree-info $dir/tree | head -n 1
echo "$0: done building the chain tree in $dir"
exit 0
