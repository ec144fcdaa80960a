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
# the same with boundaries halfway between frame centres (k * shift + (length - shift) / 2)
hybrid phone-boundary-accuracy --hyp-offset frame-centre $data/phones.ctm $dir/phone.ctm \
  > $dir/boundary_accuracy_centre.txt || exit 1
c20=$(awk '/^%within 20ms/ {print $3}' $dir/boundary_accuracy_centre.txt)
awk -v d=$dir -v c20=$c20 '/^%within 20ms/ {w20=$3} /^%within 10ms/ {w10=$3} /^mean abs/ {m=$5}
  END {printf "%s: %s%% of phone boundaries within 20 ms (%s%% within 10 ms), mean error %s ms; %s%% within 20 ms at frame centres\n", d, w20, w10, m, c20}' \
  $dir/boundary_accuracy.txt
