#!/usr/bin/env bash
# Compute log-mel filterbank features for a data dir (Kaldi's steps/make_fbank.sh):
# the same as steps/make_mfcc.sh with compute-fbank-feats and --fbank-config (default conf/fbank.conf).
# Usage: steps/make_fbank.sh [--nj N] [--cmd run.pl] [--fbank-config conf/fbank.conf] <data-dir> [<log-dir> [<fbank-dir>]]
exec "$(dirname "${BASH_SOURCE[0]}")/make_mfcc.sh" --feature-type fbank "$@"
