#!/usr/bin/env bash
# Kaldi's utils/mkgraph.sh: build the decoding graph HCLG.fst (transition-ids in, words out).
#   LG = pushspecial(minimizeencoded(determinizestar_log(L_disambig o G)))
#   CLG = composecontext(N, P) o LG;  Ha = make-h-transducer;  HCLGa = minimizeencoded(
#   rmepslocal(rmsymbols(determinizestar_log(Ha o CLG))));  HCLG = add-self-loops(HCLGa)
# The work is done by `hybrid mkgraph` (hybrid/fst/graph.py); LG, CLG and the ilabel info are
# cached in <lang-dir>/tmp as Kaldi does.

tscale=1.0
loopscale=0.1
remove_oov=false

for x in $(seq 4); do
  [ "$1" == "--mono" -o "$1" == "--left-biphone" -o "$1" == "--quinphone" ] && shift && \
    echo "WARNING: the --mono, --left-biphone and --quinphone options are now deprecated and ignored."
  [ "$1" == "--remove-oov" ] && remove_oov=true && shift;
  [ "$1" == "--transition-scale" ] && tscale=$2 && shift 2;
  [ "$1" == "--self-loop-scale" ] && loopscale=$2 && shift 2;
done

if [ $# != 3 ]; then
   echo "Usage: utils/mkgraph.sh [options] <lang-dir> <model-dir> <graphdir>"
   echo "e.g.: utils/mkgraph.sh data/lang_test exp/tri1/ exp/tri1/graph"
   echo " Options:"
   echo " --remove-oov       #  If true, any paths containing the OOV symbol (obtained from oov.int"
   echo "                    #  in the lang directory) are removed from the G.fst during compilation."
   echo " --transition-scale #  Scaling factor on transition probabilities."
   echo " --self-loop-scale  #  Please see: http://kaldi-asr.org/doc/hmm.html#hmm_scale."
   exit 1;
fi

if [ -f path.sh ]; then . ./path.sh; fi

lang=$1
dir=$3
[[ -f $2/frame_subsampling_factor && "$loopscale" == "0.1" ]] && \
  echo "$0: WARNING: chain models need '--self-loop-scale 1.0'";

opts="--transition-scale $tscale --self-loop-scale $loopscale"
$remove_oov && opts="$opts --remove-oov"
mkdir -p $dir
hybrid mkgraph $opts $lang $2 $dir || exit 1
