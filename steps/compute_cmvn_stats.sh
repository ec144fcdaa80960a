#!/usr/bin/env bash
# Per-speaker CMVN statistics for a data dir (Kaldi's steps/compute_cmvn_stats.sh).
# Writes <cmvn-dir>/cmvn_<name>.{ark,scp} and <data>/cmvn.scp.

echo "$0 $*"  # Print the command line for logging

help_message="Usage: $0 [options] <data-dir> [<log-dir> [<cmvn-dir>] ]
 e.g.: $0 data/train exp/make_mfcc/train mfcc
Note: <log-dir> defaults to <data-dir>/log, and <cmvn-dir> defaults to <data-dir>/data"

[ -f ./path.sh ] && . ./path.sh
. utils/parse_options.sh || exit 1

if [ $# -lt 1 ] || [ $# -gt 3 ]; then
  printf "%s\n" "$help_message" 1>&2
  exit 1
fi

data=$1
if [ $# -ge 2 ]; then logdir=$2; else logdir=$data/log; fi
if [ $# -ge 3 ]; then cmvndir=$3; else cmvndir=$data/data; fi

name=$(basename "$data")
mkdir -p "$cmvndir" "$logdir" || exit 1
cmvndir=$(cd "$cmvndir" && pwd)

for f in "$data/feats.scp" "$data/spk2utt"; do
  [ -f "$f" ] || { echo "$0: no such file $f" 1>&2; exit 1; }
done

if ! hybrid compute-cmvn-stats --spk2utt="ark:$data/spk2utt" "scp:$data/feats.scp" \
      "ark,scp:$cmvndir/cmvn_$name.ark,$cmvndir/cmvn_$name.scp" 2> "$logdir/cmvn_$name.log"; then
  echo "$0: error computing CMVN stats; see $logdir/cmvn_$name.log; its last lines:" 1>&2
  tail -n 10 "$logdir/cmvn_$name.log" | sed 's/^/    /' 1>&2
  exit 1
fi

# atomically: a failed copy leaves no partial cmvn.scp
cp "$cmvndir/cmvn_$name.scp" "$data/.cmvn.scp.tmp.$$" && mv "$data/.cmvn.scp.tmp.$$" "$data/cmvn.scp" \
  || { rm -f "$data/.cmvn.scp.tmp.$$"; echo "$0: could not write $data/cmvn.scp" 1>&2; exit 1; }

nc=$(wc -l < "$data/cmvn.scp")
nu=$(wc -l < "$data/spk2utt")
if [ "$nc" -ne "$nu" ]; then
  echo "$0: warning: it seems not all of the speakers got cmvn stats ($nc != $nu);"
  [ -f "$data/segments" ] || echo "consider using utils/fix_data_dir.sh $data"
fi

echo "$0: Succeeded creating CMVN stats for $name"
