#!/usr/bin/env bash
# Phone-boundary accuracy of a training alignment against the corpus's true phone timings:
#   ali-to-phones --ctm-output (phone names) -> <ali-dir>/phone.ctm
#   phone-boundary-accuracy <data>/phones.ctm <ali-dir>/phone.ctm -> <ali-dir>/boundary_accuracy.txt
# Prints one summary line (% of boundaries within 20 ms, mean error).
# Usage: local/alignment_accuracy.sh <data-dir> <lang-dir> <ali-dir>
#  e.g.: local/alignment_accuracy.sh data/train data/lang exp/mono_ali
if [ $# -ne 3 ]; then
  echo "Usage: $0 <data-dir> <lang-dir> <ali-dir>" 1>&2
  exit 1
fi
data=$1; lang=$2; dir=$3
for f in $data/phones.ctm $lang/phones.txt $dir/final.mdl $dir/ali.1.gz; do
  [ -f $f ] || { echo "$0: expected file $f to exist" 1>&2; exit 1; }
done
hybrid ali-to-phones --ctm-output --phone-symbol-table $lang/phones.txt $dir/final.mdl $dir $dir/phone.ctm || exit 1
hybrid phone-boundary-accuracy $data/phones.ctm $dir/phone.ctm > $dir/boundary_accuracy.txt || exit 1
hybrid phone-boundary-accuracy --json $data/phones.ctm $dir/phone.ctm > $dir/boundary_accuracy.json || exit 1
awk -v d=$dir '/^%within 20ms/ {w20=$3} /^%within 10ms/ {w10=$3} /^mean abs/ {m=$5}
  END {printf "%s: %s%% of phone boundaries within 20 ms (%s%% within 10 ms), mean error %s ms\n", d, w20, w10, m}' \
  $dir/boundary_accuracy.txt
