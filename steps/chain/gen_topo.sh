#!/usr/bin/env bash
# Make a chain lang dir (Kaldi's recipe step: cp -r data/lang data/lang_chain;
# steps/nnet3/chain/gen_topo.py $nonsilphonelist $silphonelist > data/lang_chain/topo).
# --num-states 1: Kaldi's chain topology (forward pdf-class 0, self-loop pdf-class 1);
# --num-states 2: the 2-state form (pdf-class 0 once, then pdf-class 1 with a self-loop).

num_states=1

echo "$0 $*"
[ -f ./path.sh ] && . ./path.sh
. utils/parse_options.sh || exit 1

if [ $# != 2 ]; then
  echo "Usage: steps/chain/gen_topo.sh [--num-states 1|2] <lang-dir> <lang-chain-dir>"
  echo " e.g.: steps/chain/gen_topo.sh data/lang data/lang_chain"
  exit 1
fi
lang=$1
dir=$2
for f in $lang/phones/silence.csl $lang/phones/nonsilence.csl $lang/topo; do
  [ ! -f $f ] && echo "$0: no such file $f" && exit 1
done
if [ -d $dir ] && [ $dir/topo -nt $lang/topo ] && grep -q "<ForPhones>" $dir/topo; then
  echo "$0: $dir already exists and is newer than $lang; leaving it as it is"
  exit 0
fi
rm -rf $dir.tmp
cp -r $lang $dir.tmp || exit 1
hybrid chain-gen-topo --num-states $num_states $(cat $lang/phones/nonsilence.csl) \
  $(cat $lang/phones/silence.csl) > $dir.tmp/topo || exit 1
rm -rf $dir && mv $dir.tmp $dir || exit 1
echo "$0: wrote $dir with a $num_states-state chain topology"
exit 0
