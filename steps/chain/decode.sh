#!/usr/bin/env bash
# Decode with a chain model: steps/nnet/decode.sh with Kaldi's chain settings (steps/nnet3/decode.sh
# --acwt 1.0 --post-decode-acwt 10.0): the chain output at 1/frame-subsampling-factor of the frame
# rate, decoded at acoustic scale 1.0 through a graph from utils/mkgraph.sh --self-loop-scale 1.0,
# lattices scaled by 10 so that scoring's LMWT 7..17 sweep applies as for GMMs. Options given here
# override these defaults; see steps/nnet/decode.sh for all of them.
# Usage: steps/chain/decode.sh [options] <graph-dir> <data-dir> <decode-dir>
#  e.g.: steps/chain/decode.sh --nj 4 exp/chain/tdnn/graph data/test_hires exp/chain/tdnn/decode_test
exec steps/nnet/decode.sh --model-type chain --acwt 1.0 --post-decode-acwt 10.0 "$@"
