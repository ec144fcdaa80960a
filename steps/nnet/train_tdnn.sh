#!/usr/bin/env bash
# Train a TDNN / TDNN-F acoustic model with cross-entropy on GMM alignments
# (Kaldi's steps/nnet3/train_dnn.py). Targets are the pdf-ids of <ali-dir>/ali.*.gz through
# <ali-dir>/final.mdl. Writes <dir>/egs, <dir>/{0..N}.pt, <dir>/final.pt (combined model +
# log-priors), <dir>/final.mdl and tree (copied from <ali-dir>, for decoding), <dir>/log/
# {train.N,compute_prob_train.N,compute_prob_valid.N,combine}.log. Rerunning resumes from the
# last complete checkpoint.

# Begin configuration section.
stage=0
cmd=run.pl
config_type=tdnnf          # tdnnf (tdnn_1k-like) | tdnn (plain relu-batchnorm TDNN)
hidden_dim=                # default 768 (tdnnf) / 512 (tdnn)
bottleneck_dim=96
prefinal_bottleneck_dim=192
splices=                   # e.g. "-2,-1,0,1,2 -1,0,1 -1,0,1 -3,0,3 -3,0,3 -3,0,3"
time_strides=              # e.g. "1,1,1,0,3,3,3,3,3,3,3,3"
num_epochs=4
initial_effective_lrate=0.001
final_effective_lrate=0.0001
minibatch_size=64          # chunks per minibatch per job
chunk_width=150
frames_per_iter=400000
optimizer=adam
l2_regularize=0.0
max_param_change=2.0
dropout_schedule=
diagnostic_interval=1
max_models_combine=20
num_utts_subset=300
num_workers=2
num_gpus=1                 # >1: one process per GPU through torchrun (DistributedDataParallel, nccl)
num_jobs_cpu=1             # with --use-gpu no: number of CPU processes (gloo)
use_gpu=wait               # yes|wait|no
amp=false
seed=0
cmvn=true
cleanup_keep=0
# End configuration section.

echo "$0 $*"

help_message="Usage: $0 [options] <data-dir> <ali-dir> <exp-dir>
 e.g.: $0 data/train_hires exp/tri3b_ali exp/tdnn
Options:
  --num-epochs <n>                    # (default $num_epochs)
  --initial-effective-lrate <lr>      # (default $initial_effective_lrate)
  --final-effective-lrate <lr>        # (default $final_effective_lrate)
  --num-gpus <n>                      # GPUs (processes) to train on (default $num_gpus)
  --use-gpu <yes|wait|no>             # (default $use_gpu)
  --config-type <tdnnf|tdnn>          # network type (default $config_type)
  --dropout-schedule <str>            # Kaldi's dropout schedule, e.g. '0,0@0.20,0.5@0.50,0'
  --stage <n>                         # 0: egs, 1: model files, 2: train (default $stage)"

[ -f ./path.sh ] && . ./path.sh
. utils/parse_options.sh || exit 1

if [ $# != 3 ]; then
  printf "%s\n" "$help_message" 1>&2
  exit 1
fi

data=$1
alidir=$2
dir=$3

for f in $data/feats.scp $alidir/final.mdl $alidir/ali.1.gz; do
  [ ! -f $f ] && echo "$0: no such file $f" 1>&2 && exit 1
done
mkdir -p $dir/log

if [ $stage -le 0 ]; then
  echo "$0: preparing egs in $dir/egs"
  $cmd $dir/log/get_egs.log \
    hybrid nnet-get-egs --num-utts-subset $num_utts_subset --seed $seed --cmvn $cmvn \
      $data $alidir $dir/egs || exit 1
fi

if [ $stage -le 1 ]; then
  cp $alidir/final.mdl $dir/final.mdl || exit 1   # transition model for decoding
  [ -f $alidir/tree ] && cp $alidir/tree $dir/tree
  echo "--norm-means=$cmvn --norm-vars=false" > $dir/cmvn_opts
fi

if [ $stage -le 2 ]; then
  . steps/nnet/choose_launcher.sh
  train_network nnet-train --optimizer $optimizer --l2-regularize $l2_regularize || exit 1
  grep -h "Overall accuracy" $dir/log/compute_prob_{train,valid}.final.log
fi
echo "$0: done training $dir"
exit 0
