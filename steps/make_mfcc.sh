#!/usr/bin/env bash
# Compute MFCC features for a data dir (Kaldi's steps/make_mfcc.sh).
# Writes <mfcc-dir>/raw_mfcc_<name>.JOB.{ark,scp}, <data>/feats.scp, utt2num_frames, utt2dur.

# Begin configuration section.
nj=4
cmd=run.pl
mfcc_config=conf/mfcc.conf
write_utt2num_frames=true  # write <data>/utt2num_frames
write_utt2dur=true         # write <data>/utt2dur
feature_type=mfcc          # mfcc or fbank (steps/make_fbank.sh sets fbank)
fbank_config=conf/fbank.conf
# End configuration section.

echo "$0 $*"  # Print the command line for logging

help_message="Usage: $0 [options] <data-dir> [<log-dir> [<mfcc-dir>] ]
 e.g.: $0 data/train exp/make_mfcc/train mfcc
Note: <log-dir> defaults to <data-dir>/log, and <mfcc-dir> defaults to <data-dir>/data.
Options:
  --mfcc-config <config-file>          # config passed to compute-mfcc-feats (default $mfcc_config)
  --nj <nj>                            # number of parallel jobs (default $nj)
  --cmd <run.pl|slurm.pl>              # how to run jobs (default $cmd)
  --write-utt2num-frames <true|false>  # write <data>/utt2num_frames (default $write_utt2num_frames)
  --write-utt2dur <true|false>         # write <data>/utt2dur (default $write_utt2dur)"

[ -f ./path.sh ] && . ./path.sh
. utils/parse_options.sh || exit 1

if [ $# -lt 1 ] || [ $# -gt 3 ]; then
  printf "%s\n" "$help_message" 1>&2
  exit 1
fi

data=$1
if [ $# -ge 2 ]; then logdir=$2; else logdir=$data/log; fi
if [ $# -ge 3 ]; then featdir=$3; else featdir=$data/data; fi

case $feature_type in
  mfcc) config=$mfcc_config ;;
  fbank) config=$fbank_config ;;
  *) echo "$0: invalid --feature-type $feature_type" 1>&2; exit 1 ;;
esac

# use "name" as part of name of the archive.
name=$(basename "$data")

mkdir -p "$featdir" "$logdir" || exit 1
featdir=$(cd "$featdir" && pwd)  # absolute, so feats.scp works from anywhere

# (moved first, as Kaldi does: a stale feats.scp would fail validation; it is kept in .backup)
if [ -f "$data/feats.scp" ]; then
  mkdir -p "$data/.backup"
  echo "$0: moving $data/feats.scp to $data/.backup"
  mv "$data/feats.scp" "$data/.backup/"
fi

scp=$data/wav.scp
required="$scp $config"
for f in $required; do
  if [ ! -f "$f" ]; then
    echo "$0: no such file $f" 1>&2
    exit 1
  fi
done

if [ -x utils/validate_data_dir.sh ]; then
  utils/validate_data_dir.sh --no-text --no-feats "$data" || exit 1
fi

mkdir -p "$data/conf" && cp "$config" "$data/conf/$feature_type.conf"

write_opts=""
$write_utt2dur && write_opts="$write_opts --write-utt2dur=ark,t:$logdir/utt2dur.JOB"
$write_utt2num_frames && write_opts="$write_opts --write-num-frames=ark,t:$logdir/utt2num_frames.JOB"

sdata=$data/split$nj
utils/split_data.sh "$data" "$nj" || exit 1  # reuses an up-to-date split

if [ -f "$data/segments" ]; then
  echo "$0 [info]: segments file exists: using that."
  segments_opt="--segments=$sdata/JOB/segments"
  wav_scp=$data/wav.scp
else
  echo "$0 [info]: no segments file exists: assuming wav.scp indexed by utterance."
  segments_opt=""
  wav_scp=$sdata/JOB/wav.scp
fi

$cmd JOB=1:$nj "$logdir/make_${feature_type}_${name}.JOB.log" \
  hybrid compute-${feature_type}-feats --verbose=2 --config="$config" $segments_opt $write_opts \
    "scp,p:$wav_scp" \
    "ark,scp:$featdir/raw_${feature_type}_$name.JOB.ark,$featdir/raw_${feature_type}_$name.JOB.scp" \
  || { echo "$0: error computing features; see $logdir/make_${feature_type}_${name}.*.log" 1>&2; exit 1; }

# Check every job's output before anything is merged into $data.
nu=$(wc -l < "$data/utt2spk")
scps=""
for n in $(seq "$nj"); do
  f=$featdir/raw_${feature_type}_$name.$n.scp
  [ -f "$f" ] || { echo "$0: job $n wrote no $f; see $logdir/make_${feature_type}_${name}.$n.log" 1>&2; exit 1; }
  scps="$scps $f"
done
nf=$(cat $scps | wc -l)
if [ "$nf" -ne "$nu" ]; then
  echo "$0: It seems not all of the feature files were successfully processed ($nf != $nu);"
  echo "consider using utils/fix_data_dir.sh $data"
  bad_logs=$(grep -l "utterance(s) failed" "$logdir"/make_${feature_type}_${name}.*.log 2>/dev/null | tr '\n' ' ')
  echo "$0: $((nu - nf)) utterances skipped: see ${bad_logs:-$logdir/make_${feature_type}_${name}.*.log}"
  grep -h "^WARNING" "$logdir"/make_${feature_type}_${name}.*.log | grep -v "utterance(s) failed" | head -n 5
fi
if [ "$nf" -lt $((nu - nu / 20)) ]; then
  echo "$0: Less than 95% the features were successfully generated ($nf of $nu). Probably a serious error;" \
    "no $data/feats.scp written. See $logdir/make_${feature_type}_${name}.*.log" 1>&2
  exit 1
fi

# concatenate the .scp files together (each merged file appears whole or not at all).
merge() {  # merge <out> <in>...
  local out=$1; shift
  cat "$@" > "$out.tmp.$$" && mv "$out.tmp.$$" "$out" || { rm -f "$out.tmp.$$"; exit 1; }
}
merge "$data/feats.scp" $scps
if $write_utt2num_frames; then
  merge "$data/utt2num_frames" $(for n in $(seq "$nj"); do echo "$logdir/utt2num_frames.$n"; done)
fi
if $write_utt2dur; then
  merge "$data/utt2dur" $(for n in $(seq "$nj"); do echo "$logdir/utt2dur.$n"; done)
fi

rm -f "$logdir"/utt2num_frames.* "$logdir"/utt2dur.* 2>/dev/null

echo "$0: Succeeded creating ${feature_type^^} features for $name"
