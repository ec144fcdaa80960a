#!/usr/bin/env bash
# Decode with the frame scores of several networks fused, in the shape of Kaldi's
# steps/nnet3/decode_score_fusion.sh: each model's scores (hybrid nnet-compute / chain-compute, as
# steps/nnet/decode.sh computes them) are averaged frame by frame (hybrid matrix-sum --average=true)
# and the average is decoded once (steps/nnet/decode.sh --stage 1: latgen-faster-mapped, lattice
# scaling for chain models, scoring).
# The models must share the tree and transition model (the first dir's final.mdl is used): e.g. chain
# models trained from different seeds or with different denominator graphs on the same tree.
# For chain models --acwt defaults to 1.0 and --post-decode-acwt to 10.0 (steps/chain/decode.sh's),
# for cross-entropy models to 0.1 and 1.0.

# Begin configuration section.
stage=0
nj=4
cmd=run.pl
iter=final
use_gpu=no
model_type=auto           # auto|nnet|chain (auto: from the first model dir)
acwt=
post_decode_acwt=
beam=15.0
lattice_beam=8.0
max_active=7000
min_active=200
scoring_opts=
skip_scoring=false
keep_loglikes=false
# End configuration section.

echo "$0 $*"

help_message="Usage: $0 [options] <graph-dir> <data-dir> <model-dir1> <model-dir2> [<model-dir3> ...] <decode-dir>
 e.g.: $0 --nj 2 exp/chain/graph data/test_hires exp/chain/tdnn_s0 exp/chain/tdnn_s1 exp/chain/tdnn_s2 \\
          exp/chain/fusion/decode_test
Options: as steps/nnet/decode.sh (--nj, --cmd, --iter, --use-gpu, --model-type, --acwt, --post-decode-acwt,
  --beam, --lattice-beam, --max-active, --min-active, --scoring-opts, --skip-scoring, --keep-loglikes)."

[ -f ./path.sh ] && . ./path.sh
. utils/parse_options.sh || exit 1

if [ $# -lt 5 ]; then
  printf "%s\n" "$help_message" 1>&2
  exit 1
fi

graphdir=$1
data=$2
args=("$@")
dir=${args[$#-1]}
models=("${args[@]:2:$#-3}")
first=${models[0]}

for m in "${models[@]}"; do
  for f in $m/$iter.pt $m/final.mdl $m/tree; do
    [ ! -f $f ] && echo "$0: no such file $f" 1>&2 && exit 1
  done
  if ! cmp -s $m/tree $first/tree || ! cmp -s $m/final.mdl $first/final.mdl; then
    echo "$0: $m and $first have different trees or transition models; their scores cannot be fused" 1>&2
    exit 1
  fi
done

if [ $model_type = auto ]; then
  model_type=nnet
  [ -f $first/den.fst ] || [ -f $first/frame_subsampling_factor ] && model_type=chain
fi
case $model_type in
  nnet) compute=nnet-compute; : ${acwt:=0.1}; : ${post_decode_acwt:=1.0} ;;
  chain) compute=chain-compute; : ${acwt:=1.0}; : ${post_decode_acwt:=10.0} ;;
  *) echo "$0: --model-type must be auto, nnet or chain, not '$model_type'" 1>&2; exit 1 ;;
esac
for m in "${models[@]}"; do
  if [ "$(cat $m/frame_subsampling_factor 2>/dev/null || echo 1)" != \
       "$(cat $first/frame_subsampling_factor 2>/dev/null || echo 1)" ]; then
    echo "$0: $m and $first have different frame-subsampling factors" 1>&2; exit 1
  fi
done

mkdir -p $dir/log
utils/split_data.sh $data $nj || exit 1
sdata=$data/split$nj
printf "%s\n" "${models[@]}" > $dir/models

if [ $stage -le 0 ]; then
  n=${#models[@]}
  for i in $(seq $n); do
    m=${models[$i-1]}
    cmvn=true
    grep -q -- "--norm-means=false" $m/cmvn_opts 2>/dev/null && cmvn=false
    $cmd JOB=1:$nj $dir/log/compute.$i.JOB.log \
      hybrid $compute --use-gpu $use_gpu --cmvn $cmvn $m/$iter.pt $sdata/JOB ark:$dir/loglikes.m$i.JOB.ark || exit 1
  done
  inputs=$(for i in $(seq $n); do printf "ark:%s " $dir/loglikes.m$i.JOB.ark; done)
  $cmd JOB=1:$nj $dir/log/fuse.JOB.log \
    hybrid matrix-sum --average=true $inputs ark:$dir/loglikes.JOB.ark || exit 1
  $keep_loglikes || rm -f $dir/loglikes.m*.ark
fi

if [ $stage -le 1 ]; then
  steps/nnet/decode.sh --stage 1 --srcdir $first --nj $nj --cmd "$cmd" --model-type $model_type \
    --acwt $acwt --post-decode-acwt $post_decode_acwt --beam $beam --lattice-beam $lattice_beam \
    --max-active $max_active --min-active $min_active --scoring-opts "$scoring_opts" \
    --skip-scoring $skip_scoring --keep-loglikes $keep_loglikes $graphdir $data $dir || exit 1
fi

exit 0
