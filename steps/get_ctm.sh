#!/usr/bin/env bash
# Word CTMs from decoding lattices (Kaldi's steps/get_ctm.sh):
# for each LMWT, best path at acoustic scale 1/LMWT, words timed by lattice-align-words
# semantics (phones/word_boundary.int). Writes <decode-dir>/score_<LMWT>/<data-name>.ctm.

# begin configuration section.
cmd=run.pl
stage=0
frame_shift=0.01
min_lmwt=5
max_lmwt=20
use_segments=true  # if we have a segments file, use it to convert the segments to be relative to the recording
print_silence=false  # silence is never printed (accepted for compatibility)
model=             # default <decode-dir>/../final.mdl
#end configuration section.

echo "$0 $*"
[ -f ./path.sh ] && . ./path.sh
. utils/parse_options.sh || exit 1

if [ $# -ne 3 ]; then
  echo "Usage: $0 [options] <data-dir> <lang-dir|graph-dir> <decode-dir>"
  echo " Options:"
  echo "    --cmd (run.pl|slurm.pl...)      # specify how to run the sub-processes."
  echo "    --min-lmwt <int>                # minumum LM-weight (default $min_lmwt)"
  echo "    --max-lmwt <int>                # maximum LM-weight (default $max_lmwt)"
  echo "    --frame-shift <seconds>         # frame shift (default $frame_shift)"
  echo "    --use-segments <true|false>     # times relative to recordings (default $use_segments)"
  echo "e.g.: $0 data/test exp/mono/graph exp/mono/decode"
  exit 1
fi

data=$1
lang=$2  # Note: may be graph directory not lang directory, but has the necessary stuff copied.
dir=$3

[ -z "$model" ] && model=$(dirname $dir)/final.mdl
name=$(basename $data)

for f in $lang/words.txt $model $dir/lat.1.gz $lang/phones/word_boundary.int; do
  [ ! -f $f ] && echo "$0: expecting file $f to exist" && exit 1
done

seg_opt=""
if [ -f $data/segments ] && $use_segments; then seg_opt="--segments $data/segments"; fi

nj=$(cat $dir/num_jobs 2>/dev/null || ls $dir/lat.*.gz | wc -l)
lats=$(for n in $(seq $nj); do echo $dir/lat.$n.gz; done)

if [ $stage -le 0 ]; then
  mkdir -p $dir/scoring/log
  $cmd LMWT=$min_lmwt:$max_lmwt $dir/scoring/log/get_ctm.LMWT.log \
    mkdir -p $dir/score_LMWT/ '&&' \
    hybrid lattice-to-ctm --lmwt LMWT --frame-shift $frame_shift $seg_opt \
      --word-symbol-table $lang/words.txt $model $lang/phones/word_boundary.int $lats \
      $dir/score_LMWT/$name.ctm || exit 1
fi
exit 0
