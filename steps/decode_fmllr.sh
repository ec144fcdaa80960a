#!/usr/bin/env bash
# Decoding with fMLLR (SAT) models, in the shape of Kaldi's egs/wsj/s5/steps/decode_fmllr.sh:
#  pass 0: speaker-independent decode with the alignment model (final.alimdl) -> <decode-dir>.si
#          (steps/decode.sh, scored);
#  pass 1: first fMLLR per speaker from the posteriors of the SI lattices (hybrid lattice-to-post at
#          --acwt; Gaussian posteriors from the alignment model, statistics with final.mdl, silence
#          weight 0.01) -> pre_trans.JOB;
#  pass 2: decode with final.mdl on the pass-1 adapted features -> lat.tmp.JOB.gz;
#  pass 3: second fMLLR from the posteriors of those lattices, first pruned to --fmllr-prune-beam (4.0,
#          as Kaldi: hybrid lattice-determinize-pruned), on top of pre_trans -> trans.JOB;
#  pass 4: final decode with the final transforms -> lat.JOB.gz; then scoring (local/score.sh).
# Posteriors: lattice-to-post --acoustic-scale=$acwt, silence weight applied inside gmm-est-fmllr
# (--silence-weight/--silence-phones: Kaldi's weight-silence-post; hybrid weight-silence-post exists too).
# Differences from Kaldi: the pass-2 lattices are word-determinized by the decoder (Kaldi keeps them
# state-level, --determinize-lattice=false), and pass 4 decodes again rather than rescoring the pass-2
# lattices (gmm-rescore-lattice). --fmllr-post best-path estimates both passes from the lattices' best
# paths instead (the earlier behaviour).
# trans.JOB are in the LDA+MLLT space (as Kaldi's); full_trans.JOB = trans.JOB after final.mat.

# Begin configuration section
first_beam=10.0 # Beam used in initial, speaker-indep. pass
first_max_active=2000 # max-active used in initial pass.
alignment_model=
adapt_model=
final_model=
stage=0
acwt=0.083333 # Acoustic weight used in getting fMLLR transforms, and also in lattice generation.
max_active=7000
min_active=200
beam=13.0
lattice_beam=6.0
nj=4
silence_weight=0.01
cmd=run.pl
si_dir=
fmllr_update_type=full
fmllr_post=lattice   # lattice (Kaldi's lattice-to-post) | best-path
fmllr_prune_beam=4.0 # pass 3: prune the pass-2 lattices to this beam before lattice-to-post (Kaldi: 4.0)
num_threads=1 # accepted for compatibility
skip_scoring=false
scoring_opts=
# End configuration section

echo "$0 $@"  # Print the command line for logging

[ -f ./path.sh ] && . ./path.sh; # source the path.
. utils/parse_options.sh || exit 1;

if [ $# != 3 ]; then
   echo "Usage: steps/decode_fmllr.sh [options] <graph-dir> <data-dir> <decode-dir>"
   echo " e.g.: steps/decode_fmllr.sh exp/tri3b/graph data/test exp/tri3b/decode"
   echo "main options (for others, see top of script file)"
   echo "  --config <config-file>                   # config containing options"
   echo "  --nj <nj>                                # number of parallel jobs"
   echo "  --cmd <cmd>                              # Command to run in parallel with"
   echo "  --adapt-model <adapt-mdl>                # Model to compute transforms with"
   echo "  --alignment-model <ali-mdl>              # Model to get Gaussian-level alignments for"
   echo "                                           # 1st pass of transform computation."
   echo "  --final-model <finald-mdl>               # Model to finally decode with"
   echo "  --si-dir <speaker-indep-decoding-dir>    # use this to skip 1st pass of decoding"
   echo "                                           # Caution-- must be with same tree"
   echo "  --acwt <acoustic-weight>                 # default 0.08333 ... used to get posteriors"
   echo "  --scoring-opts <opts>                    # options to local/score.sh"
   exit 1;
fi

graphdir=$1
data=$2
dir=`echo $3 | sed 's:/$::g'` # remove any trailing slash.

srcdir=`dirname $dir`; # Assume model directory one level up from decoding directory.
sdata=$data/split$nj;

mkdir -p $dir/log
utils/split_data.sh $data $nj || exit 1  # reuses a split only when complete and up to date
echo $nj > $dir/num_jobs
splice_opts=`cat $srcdir/splice_opts 2>/dev/null` # frame-splicing options.
cmvn_opts=`cat $srcdir/cmvn_opts 2>/dev/null`
delta_opts=`cat $srcdir/delta_opts 2>/dev/null`

silphonelist=`cat $graphdir/phones/silence.csl` || exit 1;

# Some checks.  Note: we don't need $srcdir/tree but we expect
# it should exist, given the current structure of the scripts.
for f in $graphdir/HCLG.fst $data/feats.scp $data/cmvn.scp $srcdir/tree; do
  [ ! -f $f ] && echo "$0: no such file $f" && exit 1;
done

## Work out name of alignment model. ##
if [ -z "$alignment_model" ]; then
  if [ -f "$srcdir/final.alimdl" ]; then alignment_model=$srcdir/final.alimdl;
  else alignment_model=$srcdir/final.mdl; fi
fi
[ ! -f "$alignment_model" ] && echo "$0: no alignment model $alignment_model " && exit 1;
[ -z "$adapt_model" ] && adapt_model=$srcdir/final.mdl
[ -z "$final_model" ] && final_model=$srcdir/final.mdl
for f in $adapt_model $final_model; do
  [ ! -f $f ] && echo "$0: expected file $f to exist" && exit 1;
done

## Features: options of hybrid gmm-latgen-faster / gmm-est-fmllr on the data dir $sdata/JOB
feats=$sdata/JOB
if [ -f $srcdir/final.mat ]; then feat_type=lda; else feat_type=delta; fi
echo "$0: feature type is $feat_type";
nv_est=; nv_dec=
case "$cmvn_opts" in *--norm-vars=false*) ;; *--norm-vars*) nv_est="--norm-vars"; nv_dec="--norm-vars true";; esac
case $feat_type in
  delta) order=$(echo "$delta_opts" | sed -n 's/.*--delta-order[= ]\([0-9]*\).*/\1/p')
         base_est="$nv_est --delta-order ${order:-2}"; base_dec="$nv_dec --delta-order ${order:-2}"
         si_transform=;;
  lda) ctx=$(echo "$splice_opts" | sed -n 's/.*--splice[= ]\([0-9]*\).*/\1/p')
       [ -z "$ctx" ] && ctx=$(echo "$splice_opts" | sed -n 's/.*--left-context[= ]\([0-9]*\).*/\1/p')
       [ -z "$ctx" ] && ctx=3
       base_est="$nv_est --splice $ctx"; base_dec="$nv_dec --splice $ctx"
       si_transform="--transform $srcdir/final.mat";;
  *) echo "$0: invalid feature type $feat_type" && exit 1;
esac

# full_trans <name>: $dir/full_<name>.JOB = <name>.JOB after final.mat (or a copy for deltas)
full_trans() {
  local name=$1
  if [ $feat_type == lda ]; then
    $cmd JOB=1:$nj $dir/log/compose_full_$name.JOB.log \
      hybrid compose-transforms ark:$dir/$name.JOB $srcdir/final.mat ark:$dir/full_$name.JOB || return 1;
  else
    for n in `seq $nj`; do cp $dir/$name.$n $dir/full_$name.$n || return 1; done
  fi
}

decode_opts="--max-active=$max_active --min-active=$min_active --beam=$beam --lattice-beam=$lattice_beam \
  --acoustic-scale=$acwt --allow-partial=true --word-symbol-table=$graphdir/words.txt"

## Do the speaker-independent decoding, if --si-dir option not present. ##
if [ -z "$si_dir" ]; then # we need to do the speaker-independent decoding pass.
  si_dir=${dir}.si # Name it as our decoding dir, but with suffix ".si".
  if [ $stage -le 0 ]; then
    steps/decode.sh --scoring-opts "$scoring_opts" --num-threads $num_threads --skip-scoring $skip_scoring \
      --acwt $acwt --nj $nj --cmd "$cmd" --beam $first_beam --model $alignment_model \
      --max-active $first_max_active $graphdir $data $si_dir || exit 1;
  fi
fi
##

## Now get the first-pass fMLLR transforms.
# post_of <lattices> <name> [<prune-beam>]: sets $post_cmd (what makes gmm-est-fmllr's statistics input
# from the lattices: posteriors, after pruning to <prune-beam> if given, or best-path alignments) and
# $post_in (that input, as gmm-est-fmllr arguments)
post_of() {
  if [ $fmllr_post = lattice ]; then
    local lats=$1
    post_cmd=
    if [ -n "$3" ]; then
      post_cmd="hybrid lattice-determinize-pruned --acoustic-scale=$acwt --beam=$3 $lats $dir/$2_lat.JOB.gz &&"
      lats=$dir/$2_lat.JOB.gz
    fi
    post_cmd="$post_cmd hybrid lattice-to-post --acoustic-scale=$acwt $lats ark,t:$dir/$2.JOB"
    post_in="--posteriors $dir/$2.JOB"
  else
    post_cmd="hybrid lattice-best-path --acoustic-scale=$acwt $1 ark,t:$dir/$2_words.JOB $dir/$2.JOB.gz"
    post_in="$dir/$2.JOB.gz"
  fi
}
case $fmllr_post in lattice|best-path) ;; *) echo "$0: --fmllr-post must be lattice or best-path" 1>&2; exit 1;; esac
if [ $stage -le 1 ]; then
  echo "$0: getting first-pass fMLLR transforms."
  gpost_opt=
  [ "$alignment_model" != "$adapt_model" ] && gpost_opt="--gpost-model $alignment_model"
  post_of $si_dir/lat.JOB.gz pre_post
  $cmd JOB=1:$nj $dir/log/fmllr_pass1.JOB.log \
    $post_cmd '&&' \
    hybrid gmm-est-fmllr --fmllr-update-type=$fmllr_update_type --spk2utt=ark:$sdata/JOB/spk2utt \
      --silence-weight $silence_weight --silence-phones $silphonelist $gpost_opt \
      $base_est $si_transform $adapt_model $feats $post_in ark:$dir/pre_trans.JOB || exit 1;
  full_trans pre_trans || exit 1;
  rm -f $dir/pre_post* 2>/dev/null
fi
##

## Do the main lattice generation pass.
if [ $stage -le 2 ]; then
  echo "$0: doing main lattice generation phase"
  $cmd JOB=1:$nj $dir/log/decode.JOB.log \
    hybrid gmm-latgen-faster $decode_opts $base_dec --transform ark:$dir/full_pre_trans.JOB \
      $adapt_model $graphdir/HCLG.fst $feats $dir/lat.tmp.JOB.gz || exit 1;
fi

## Do a second pass of estimating the transform-- this time with the lattices
## generated from the alignment model.  Compose the transforms to get
## $dir/trans.1, etc.
if [ $stage -le 3 ]; then
  echo "$0: estimating fMLLR transforms a second time."
  post_of $dir/lat.tmp.JOB.gz pass2_post $fmllr_prune_beam
  $cmd JOB=1:$nj $dir/log/fmllr_pass2.JOB.log \
    $post_cmd '&&' \
    hybrid gmm-est-fmllr --fmllr-update-type=$fmllr_update_type --spk2utt=ark:$sdata/JOB/spk2utt \
      --silence-weight $silence_weight --silence-phones $silphonelist \
      $base_est --transform ark:$dir/full_pre_trans.JOB $adapt_model $feats $post_in \
      ark:$dir/trans_tmp.JOB '&&' \
    hybrid compose-transforms --b-is-affine=true ark:$dir/trans_tmp.JOB ark:$dir/pre_trans.JOB \
      ark:$dir/trans.JOB || exit 1;
  full_trans trans || exit 1;
  rm -f $dir/trans_tmp.* $dir/pass2_post* 2>/dev/null
fi

## Final decode with the final transforms (Kaldi rescores the pass-2 lattices instead).
if [ $stage -le 4 ]; then
  echo "$0: doing a final pass of decoding with the final transforms."
  $cmd JOB=1:$nj $dir/log/decode_final.JOB.log \
    hybrid gmm-latgen-faster $decode_opts $base_dec --transform ark:$dir/full_trans.JOB \
      $final_model $graphdir/HCLG.fst $feats $dir/lat.JOB.gz || exit 1;
  rm $dir/lat.tmp.*.gz
fi

if ! $skip_scoring ; then
  [ ! -x local/score.sh ] && \
    echo "$0: not scoring because local/score.sh does not exist or not executable." && exit 1;
  local/score.sh $scoring_opts --cmd "$cmd" $data $graphdir $dir ||
    { echo "$0: Scoring failed. (ignore by '--skip-scoring true')"; exit 1; }
fi

exit 0;
