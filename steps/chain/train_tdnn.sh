#!/usr/bin/env bash
# The whole chain (LF-MMI) pipeline after the GMMs, in the shape of Kaldi's
# local/chain/run_tdnn.sh, for any recipe:
#  0. <lang>_chain: the chain topology (steps/chain/gen_topo.sh);
#  1. a left-biphone tree from <ali-dir> at --frame-subsampling-factor (steps/chain/build_tree.sh),
#     on the low-resolution features of <data>;
#  2. den.fst, egs and LF-MMI training on the hires features of <data>_hires (steps/chain/train.sh).
# Graph and decoding stay in the recipe (utils/mkgraph.sh --self-loop-scale 1.0; steps/chain/decode.sh),
# as in Kaldi, because they depend on the recipe's test LMs.
# Begin configuration section.
stage=0
stop_stage=2
cmd=run.pl
use_gpu=wait            # yes|wait|no
num_leaves=500
frame_subsampling_factor=3
context_opts="--context-width=2 --central-position=1"
hires_data=             # default: <data>_hires
lang_chain=             # default: <lang>_chain
tree_dir=               # default: <dir>_tree
train_opts=             # passed to steps/chain/train.sh, e.g. "--num-epochs 10 --hidden-dim 512"
# End configuration section.

echo "$0 $*"
[ -f ./path.sh ] && . ./path.sh
. utils/parse_options.sh || exit 1

if [ $# != 4 ]; then
  echo "Usage: $0 [options] <data> <lang> <ali-dir> <dir>"
  echo " e.g.: $0 --num-leaves 500 --train-opts \"--num-epochs 10\" data/train data/lang exp/tri3b_ali exp/chain/tdnn"
  echo "Options:"
  echo "  --num-leaves <n>                  # leaves of the left-biphone tree (default $num_leaves)"
  echo "  --hires-data <dir>                # 40-dim MFCC data dir for the network (default <data>_hires)"
  echo "  --lang-chain <dir>                # where the chain lang dir goes (default <lang>_chain)"
  echo "  --tree-dir <dir>                  # where the tree goes (default <dir>_tree)"
  echo "  --train-opts <opts>               # options of steps/chain/train.sh"
  echo "  --use-gpu <yes|wait|no>           # (default $use_gpu)"
  echo "  --stage <n> --stop-stage <n>      # 0 topology, 1 tree, 2 training (default $stage..$stop_stage)"
  exit 1
fi
data=$1
lang=$2
alidir=$3
dir=$4
hires_data=${hires_data:-${data}_hires}
lang_chain=${lang_chain:-${lang}_chain}
tree_dir=${tree_dir:-${dir}_tree}

for f in $data/feats.scp $hires_data/feats.scp $lang/topo $alidir/ali.1.gz $alidir/final.mdl; do
  [ -f $f ] || { echo "$0: no such file $f" 1>&2; exit 1; }
done
run_stage() { [ "$stage" -le "$1" ] && [ "$stop_stage" -ge "$1" ]; }

if run_stage 0; then
  steps/chain/gen_topo.sh $lang $lang_chain || exit 1
fi
if run_stage 1; then
  steps/chain/build_tree.sh --cmd "$cmd" --frame-subsampling-factor $frame_subsampling_factor \
    --context-opts "$context_opts" $num_leaves $data $lang_chain $alidir $tree_dir || exit 1
fi
if run_stage 2; then
  steps/chain/train.sh --cmd "$cmd" --use-gpu $use_gpu --frame-subsampling-factor $frame_subsampling_factor \
    $train_opts $hires_data $tree_dir $dir || exit 1
fi
exit 0
