#!/usr/bin/env bash
# AN4 scoring: Kaldi's egs/an4/s5/local/score.sh just calls steps/score_kaldi.sh
# (LMWT 7..17, word insertion penalties 0.0, 0.5, 1.0; no special filtering for AN4).
steps/score_kaldi.sh "$@"
