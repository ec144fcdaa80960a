#!/usr/bin/env bash
# LF-MMI (chain) training of a TDNN-F (Kaldi's steps/nnet3/chain/train.py with the tdnn_1k
# network): phone LM from the tree dir's alignments → den.fst (chain-make-den-fst), chain egs
# (numerator FSAs from the alignments, ±tolerance, composed with the normalization FSA), then
# the TDNN trainer with the chain objective + xent regularization (hybrid chain-train).
# Writes <dir>/{den.fst,egs,0..N.pt,final.pt,final.mdl,tree,frame_subsampling_factor}, logs
# <dir>/log/{train.N,compute_prob_train.N,compute_prob_valid.N,combine}.log (Kaldi's chain
# wording; hybrid plot-accuracy reads them). Rerunning resumes from the last checkpoint.

# Begin configuration section.
stage=0
stop_stage=100               # last stage to run (e.g. 1: stop after egs)
cmd=run.pl
config_type=tdnnf            # tdnnf (tdnn_1k-like) | tdnn
hidden_dim=                  # default 768 (tdnnf) / 512 (tdnn); AN4-sized: 384 or 512
bottleneck_dim=96
prefinal_bottleneck_dim=192
splices=
time_strides=
num_epochs=10
initial_effective_lrate=0.001
final_effective_lrate=0.0001
xent_regularize=0.1
leaky_hmm_coefficient=0.1
l2_regularize=0.00005        # chain output l2 (Kaldi's --chain.l2-regularize)
layer_l2_regularize=0.0      # weight decay on the layers
frame_subsampling_factor=3
chunk_width=150              # input frames per chunk (50 outputs)
left_tolerance=5
right_tolerance=5
minibatch_size=64
frames_per_iter=400000
dropout_schedule=
max_param_change=2.0
diagnostic_interval=1
max_models_combine=20
num_utts_subset=300
ngram_order=4
num_extra_lm_states=2000
num_workers=2
num_gpus=1
num_jobs_cpu=1
use_gpu=wait                 # yes|wait|no
amp=false
seed=0
egs_dir=                     # use these egs (from another run on the same tree and den.fst) instead of making <dir>/egs
cmvn=true
cleanup_keep=0
# End configuration section.

echo "$0 $*"

help_message="Usage: $0 [options] <data-dir> <tree-dir> <exp-dir>
 e.g.: $0 --num-epochs 10 data/train_hires exp/chain/tree exp/chain/tdnn1a
  <tree-dir> is from steps/chain/build_tree.sh (tree, final.mdl, topo, ali.*.gz at the input frame rate).
Options:
  --num-epochs <n>                  # (default $num_epochs)
  --initial-effective-lrate <lr>    # (default $initial_effective_lrate)
  --final-effective-lrate <lr>      # (default $final_effective_lrate)
  --xent-regularize <w>             # (default $xent_regularize)
  --leaky-hmm-coefficient <c>       # (default $leaky_hmm_coefficient)
  --l2-regularize <l2>              # l2 on the chain output (default $l2_regularize)
  --frame-subsampling-factor <f>    # (default $frame_subsampling_factor)
  --chunk-width <n>                 # input frames per chunk (default $chunk_width)
  --num-gpus <n>                    # GPUs (processes) to train on (default $num_gpus)
  --use-gpu <yes|wait|no>           # (default $use_gpu)
  --hidden-dim <d>                  # layer width
  --seed <n>                        # egs subsets and network initialization/minibatch order (default $seed)
  --egs-dir <dir>                   # train on these egs (e.g. another seed's: Kaldi's --egs.dir); skips stage 1
  --stage <n>                       # 0: den.fst, 1: egs, 2: model files, 3: train (default $stage)"

[ -f ./path.sh ] && . ./path.sh
. utils/parse_options.sh || exit 1

if [ $# != 3 ]; then
  printf "%s\n" "$help_message" 1>&2
  exit 1
fi

data=$1
treedir=$2
dir=$3

for f in $data/feats.scp $treedir/tree $treedir/final.mdl $treedir/topo $treedir/ali.1.gz; do
  [ ! -f $f ] && echo "$0: no such file $f" 1>&2 && exit 1
done
mkdir -p $dir/log

if [ $stage -le 0 ] && [ $stop_stage -ge 0 ]; then
  echo "$0: creating phone language-model and den.fst"
  for a in $treedir/ali.*.gz; do
    hybrid ali-to-phones $treedir/final.mdl $a ark,t:- || exit 1
  done > $dir/phone_seqs.txt 2> $dir/log/ali_to_phones.log || exit 1
  $cmd $dir/log/make_den_fst.log \
    hybrid chain-make-den-fst --ngram-order $ngram_order --num-extra-lm-states $num_extra_lm_states \
      $treedir/tree $treedir/topo $dir/phone_seqs.txt $dir/den.fst || exit 1
fi

if [ -n "$egs_dir" ]; then
  [ -f $egs_dir/info.json ] || { echo "$0: --egs-dir $egs_dir has no info.json" 1>&2; exit 1; }
  if [ -f $dir/den.fst ] && [ -f $(dirname $egs_dir)/den.fst ] && ! cmp -s $dir/den.fst $(dirname $egs_dir)/den.fst; then
    echo "$0: $dir/den.fst differs from $(dirname $egs_dir)/den.fst, whose egs --egs-dir names" 1>&2; exit 1
  fi
elif [ $stage -le 1 ] && [ $stop_stage -ge 1 ]; then
  echo "$0: preparing chain egs in $dir/egs"
  $cmd $dir/log/get_egs.log \
    hybrid chain-get-egs --chunk-width $chunk_width --frame-subsampling-factor $frame_subsampling_factor \
      --left-tolerance $left_tolerance --right-tolerance $right_tolerance \
      --num-utts-subset $num_utts_subset --seed $seed --cmvn $cmvn \
      $data $treedir $dir/den.fst $dir/egs || exit 1
fi

if [ $stage -le 2 ] && [ $stop_stage -ge 2 ]; then
  cp $treedir/final.mdl $dir/final.mdl || exit 1   # transition model (chain topology + tree), for mkgraph/decoding
  cp $treedir/tree $dir/tree || exit 1
  echo $frame_subsampling_factor > $dir/frame_subsampling_factor
  echo "--norm-means=$cmvn --norm-vars=false" > $dir/cmvn_opts
fi

if [ $stage -le 3 ] && [ $stop_stage -ge 3 ]; then
  . steps/nnet/choose_launcher.sh
  train_network chain-train --xent-regularize $xent_regularize --leaky-hmm-coefficient $leaky_hmm_coefficient \
    --l2-regularize $l2_regularize --layer-l2-regularize $layer_l2_regularize || exit 1
  grep -h "Overall log-probability for 'output'" $dir/log/compute_prob_{train,valid}.final.log
fi
echo "$0: done training $dir"
exit 0
