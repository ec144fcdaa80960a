#!/usr/bin/env bash
# Decode with a chain model (Kaldi's steps/nnet3/decode.sh --acwt 1.0 --post-decode-acwt 10.0
# --frames-per-chunk ...): the network's chain output at 1/frame-subsampling-factor of the
# frame rate (hybrid chain-compute: no log-softmax, no priors), hybrid latgen-faster-mapped
# --acoustic-scale $acwt with <srcdir>/final.mdl (chain topology + tree), lattices scaled by
# --post-decode-acwt (hybrid lattice-scale) so that scoring's LMWT 7..17 sweep applies as for
# GMMs, then local/score.sh. The graph is from utils/mkgraph.sh --self-loop-scale 1.0.

# Begin configuration section.
stage=0
nj=4
cmd=run.pl
iter=final
use_gpu=no
acwt=1.0
post_decode_acwt=10.0
frame_subsampling_factor=3   # informational: the model applies its own (checked against <srcdir>)
beam=15.0
lattice_beam=8.0
max_active=7000
min_active=200
scoring_opts=
skip_scoring=false
keep_loglikes=false
# End configuration section.

echo "$0 $*"

help_message="Usage: $0 [options] <graph-dir> <data-dir> <decode-dir>
 e.g.: $0 exp/chain/tdnn1a/graph data/test_hires exp/chain/tdnn1a/decode_test
Options:
  --nj <nj>                    # number of parallel jobs (default $nj)
  --cmd <run.pl|slurm.pl>      # how to run jobs
  --iter <iter>                # model iteration (default $iter: final.pt)
  --acwt <scale>               # acoustic scale in decoding (default $acwt)
  --post-decode-acwt <scale>   # scale on the lattices' acoustic costs after decoding (default $post_decode_acwt)
  --beam <beam>                # (default $beam)
  --lattice-beam <beam>        # (default $lattice_beam)
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
srcdir=$(dirname $dir)
sdata=$data/split$nj
model=$srcdir/$iter.pt

for f in $data/feats.scp $model $srcdir/final.mdl $graphdir/HCLG.fst; do
  [ ! -f $f ] && echo "$0: no such file $f" 1>&2 && exit 1
done
if [ -f $srcdir/frame_subsampling_factor ] && [ "$(cat $srcdir/frame_subsampling_factor)" != "$frame_subsampling_factor" ]; then
  echo "$0: WARNING: the model's frame subsampling factor is $(cat $srcdir/frame_subsampling_factor), using it"
fi

mkdir -p $dir/log
utils/split_data.sh $data $nj || exit 1
echo $nj > $dir/num_jobs

cmvn=true
grep -q -- "--norm-means=false" $srcdir/cmvn_opts 2>/dev/null && cmvn=false

if [ $stage -le 0 ]; then
  $cmd JOB=1:$nj $dir/log/compute.JOB.log \
    hybrid chain-compute --use-gpu $use_gpu --cmvn $cmvn $model $sdata/JOB ark:$dir/output.JOB.ark || exit 1
fi

if [ $stage -le 1 ]; then
  $cmd JOB=1:$nj $dir/log/decode.JOB.log \
    hybrid latgen-faster-mapped --max-active=$max_active --min-active=$min_active --beam=$beam \
      --lattice-beam=$lattice_beam --acoustic-scale=$acwt --allow-partial=true \
      --word-symbol-table=$graphdir/words.txt \
      $srcdir/final.mdl $graphdir/HCLG.fst ark:$dir/output.JOB.ark $dir/lat_unscaled.JOB.gz || exit 1
  if [ "$post_decode_acwt" != 1.0 ] && [ "$post_decode_acwt" != 1 ]; then
    $cmd JOB=1:$nj $dir/log/scale.JOB.log \
      hybrid lattice-scale --acoustic-scale=$post_decode_acwt $dir/lat_unscaled.JOB.gz $dir/lat.JOB.gz || exit 1
    rm -f $dir/lat_unscaled.*.gz
  else
    for j in $(seq $nj); do mv -f $dir/lat_unscaled.$j.gz $dir/lat.$j.gz; done
  fi
  $keep_loglikes || rm -f $dir/output.*.ark
fi

if ! $skip_scoring; then
  [ ! -x local/score.sh ] && \
    echo "Not scoring because local/score.sh does not exist or not executable." && exit 1
  local/score.sh --cmd "$cmd" $scoring_opts $data $graphdir $dir ||
    { echo "$0: Scoring failed. (ignore by '--skip-scoring true')"; exit 1; }
fi

exit 0
