#!/usr/bin/env bash
# Decode a data dir with a neural network (Kaldi's steps/nnet3/decode.sh), cross-entropy TDNN or
# chain model:
#   - TDNN (cross-entropy): the network's log-softmax minus the log-priors (hybrid nnet-compute);
#   - chain (<srcdir>/den.fst or frame_subsampling_factor present, or --model-type chain): the chain
#     output at 1/frame-subsampling-factor of the frame rate (hybrid chain-compute: no log-softmax,
#     no priors), decoded at --acwt 1.0 through a graph from utils/mkgraph.sh --self-loop-scale 1.0,
#     and the lattices scaled by --post-decode-acwt 10.0 (hybrid lattice-scale) so that scoring's
#     LMWT 7..17 sweep applies as for GMMs (steps/chain/decode.sh sets these two defaults);
# then hybrid latgen-faster-mapped with the transition model <srcdir>/final.mdl, then scoring.
# The model is <decode-dir>/../final.pt (or --iter N: N.pt; --srcdir <dir> for another directory).
# Features: <data-dir>/feats.scp with per-speaker CMVN from cmvn.scp (use the hires data dir the model
# was trained on). steps/nnet/decode_score_fusion.sh computes averaged scores of several models and
# runs this script from --stage 1.

# Begin configuration section.
stage=0
nj=4
cmd=run.pl
iter=final
srcdir=                   # model dir (default: the decode dir's parent)
use_gpu=no
model_type=auto           # auto|nnet|chain
acwt=0.1
post_decode_acwt=1.0
beam=15.0
lattice_beam=8.0
max_active=7000
min_active=200
scoring_opts=
skip_scoring=false
keep_loglikes=false
decode_extra_opts=
# End configuration section.

echo "$0 $*"

help_message="Usage: $0 [options] <graph-dir> <data-dir> <decode-dir>
 e.g.: $0 exp/tri3b/graph data/test_hires exp/tdnn/decode_test
       steps/chain/decode.sh exp/chain/tdnn/graph data/test_hires exp/chain/tdnn/decode_test
Options:
  --nj <nj>                    # number of parallel jobs (default $nj)
  --cmd <run.pl|slurm.pl>      # how to run jobs
  --iter <iter>                # model iteration (default $iter: final.pt)
  --srcdir <dir>               # model directory (default: parent of <decode-dir>)
  --use-gpu <yes|no>           # network forward on GPU (default $use_gpu)
  --model-type <auto|nnet|chain> # (default $model_type: chain when <srcdir> has den.fst or frame_subsampling_factor)
  --acwt <scale>               # acoustic scale in decoding (default $acwt; chain: 1.0)
  --post-decode-acwt <scale>   # scale on the lattices' acoustic costs after decoding (default $post_decode_acwt; chain: 10.0)
  --beam <beam>                # (default $beam)
  --lattice-beam <beam>        # (default $lattice_beam)
  --max-active <n>             # (default $max_active)
  --min-active <n>             # (default $min_active)
  --skip-scoring <bool>        # (default $skip_scoring)"

[ -f ./path.sh ] && . ./path.sh
. utils/parse_options.sh || exit 1

if [ $# != 3 ]; then
  printf "%s\n" "$help_message" 1>&2
  exit 1
fi

graphdir=$1
data=$2
dir=$3
[ -z "$srcdir" ] && srcdir=$(dirname $dir)
sdata=$data/split$nj
model=$srcdir/$iter.pt
[ $stage -le 0 ] || model=   # later stages read $dir/loglikes.JOB.ark, not the network

for f in $data/feats.scp $model $srcdir/final.mdl $graphdir/HCLG.fst; do
  [ ! -f $f ] && echo "$0: no such file $f" 1>&2 && exit 1
done
if [ $model_type = auto ]; then
  model_type=nnet
  [ -f $srcdir/den.fst ] || [ -f $srcdir/frame_subsampling_factor ] && model_type=chain
fi
case $model_type in
  nnet) compute=nnet-compute ;;
  chain) compute=chain-compute ;;
  *) echo "$0: --model-type must be auto, nnet or chain, not '$model_type'" 1>&2; exit 1 ;;
esac

mkdir -p $dir/log
utils/split_data.sh $data $nj || exit 1
echo $nj > $dir/num_jobs

cmvn=true
grep -q -- "--norm-means=false" $srcdir/cmvn_opts 2>/dev/null && cmvn=false

if [ $stage -le 0 ]; then
  $cmd JOB=1:$nj $dir/log/compute.JOB.log \
    hybrid $compute --use-gpu $use_gpu --cmvn $cmvn $model $sdata/JOB ark:$dir/loglikes.JOB.ark || exit 1
fi

if [ $stage -le 1 ]; then
  scale=false
  [ "$post_decode_acwt" != 1.0 ] && [ "$post_decode_acwt" != 1 ] && scale=true
  lat=lat; $scale && lat=lat_unscaled
  $cmd JOB=1:$nj $dir/log/decode.JOB.log \
    hybrid latgen-faster-mapped --max-active=$max_active --min-active=$min_active --beam=$beam \
      --lattice-beam=$lattice_beam --acoustic-scale=$acwt --allow-partial=true \
      --word-symbol-table=$graphdir/words.txt $decode_extra_opts \
      $srcdir/final.mdl $graphdir/HCLG.fst ark:$dir/loglikes.JOB.ark $dir/$lat.JOB.gz || exit 1
  if $scale; then
    $cmd JOB=1:$nj $dir/log/scale.JOB.log \
      hybrid lattice-scale --acoustic-scale=$post_decode_acwt $dir/lat_unscaled.JOB.gz $dir/lat.JOB.gz || exit 1
    rm -f $dir/lat_unscaled.*.gz
  fi
  $keep_loglikes || rm -f $dir/loglikes.*.ark
fi

if ! $skip_scoring; then
  [ ! -x local/score.sh ] && \
    echo "Not scoring because local/score.sh does not exist or not executable." && exit 1
  local/score.sh --cmd "$cmd" $scoring_opts $data $graphdir $dir ||
    { echo "$0: Scoring failed. (ignore by '--skip-scoring true')"; exit 1; }
fi

exit 0
