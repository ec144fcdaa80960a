#!/usr/bin/env bash
# Monophone training, in the shape of Kaldi's egs/wsj/s5/steps/train_mono.sh: flat start
# (gmm-init-mono on a feature subset, equal alignment), then EM with realignment and mixing up.
# Features: apply-cmvn (per speaker) + add-deltas (order 2).

# Begin configuration section.
nj=4
cmd=run.pl
scale_opts="--transition-scale=1.0 --acoustic-scale=0.1 --self-loop-scale=0.1"
num_iters=40    # Number of iterations of training
max_iter_inc=30 # Last iter to increase #Gauss on.
initial_beam=6  # beam used in the first iteration (set smaller to speed up initialization)
regular_beam=10 # beam used after the first iteration
retry_beam=40
totgauss=1000   # Target #Gaussians.
careful=false
boost_silence=1.0 # Factor by which to boost silence likelihoods in alignment
realign_iters="1 2 3 4 5 6 7 8 9 10 12 14 16 18 20 23 26 29 32 35 38";
config= # name of config file.
stage=-4
power=0.25      # exponent to determine number of gaussians from occurrence counts
norm_vars=false # deprecated, prefer --cmvn-opts "--norm-vars"
cmvn_opts=      # extra options to CMVN (--norm-vars)
delta_order=2   # add-deltas order
seed=777        # seed for Gaussian splitting (Kaldi's is unseeded); iteration x uses seed+x
# End configuration section.

echo "$0 $@"  # Print the command line for logging

[ -f path.sh ] && . ./path.sh
. utils/parse_options.sh || exit 1;
# one BLAS thread per job: the jobs are the parallelism (threaded BLAS spins and wastes CPU)
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1} OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} MKL_NUM_THREADS=${MKL_NUM_THREADS:-1}

if [ $# != 3 ]; then
  echo "Usage: steps/train_mono.sh [options] <data-dir> <lang-dir> <exp-dir>"
  echo " e.g.: steps/train_mono.sh data/train.1k data/lang exp/mono"
  echo "main options (for others, see top of script file)"
  echo "  --config <config-file>                           # config containing options"
  echo "  --nj <nj>                                        # number of parallel jobs"
  echo "  --cmd (utils/run.pl|utils/slurm.pl <opts>)       # how to run jobs."
  echo "  --totgauss <n>                                   # target number of Gaussians (default 1000)"
  echo "  --num-iters <n>                                  # number of iterations (default 40)"
  echo "  --boost-silence <f>                              # boost silence in alignment (default 1.0)"
  echo "  --stage <stage>                                  # stage to restart from (default -4)"
  exit 1;
fi

data=$1
lang=$2
dir=$3

for f in $data/feats.scp $data/cmvn.scp $data/text $lang/oov.int $lang/words.txt $lang/L.fst $lang/topo \
         $lang/phones/sets.int $lang/phones/optional_silence.csl; do
  [ ! -f $f ] && echo "$0: expected file $f to exist" && exit 1;
done

oov_sym=`cat $lang/oov.int` || exit 1;

mkdir -p $dir/log
echo $nj > $dir/num_jobs
sdata=$data/split$nj;
# always run split_data.sh: it reuses a split only if every part has all its files, newer than the
# sources (Kaldi's `[[ $data/feats.scp -ot $sdata ]]` test would reuse a split cut short by a kill)
utils/split_data.sh $data $nj || exit 1;

cp $lang/phones.txt $dir || exit 1;
$norm_vars && cmvn_opts="--norm-vars $cmvn_opts"
echo $cmvn_opts > $dir/cmvn_opts # keep track of options to CMVN.
echo "--delta-order $delta_order" > $dir/delta_opts
feat_opts="$cmvn_opts --delta-order $delta_order"
feats=$sdata/JOB   # a data dir: hybrid applies cmvn + deltas itself (see $feat_opts)

echo "$0: Initializing monophone system."

shared_phones_opt="--shared-phones=$lang/phones/sets.int"

if [ $stage -le -3 ]; then
  # Note: JOB=1 just uses the 1st part of the features-- we only need a subset anyway.
  $cmd JOB=1 $dir/log/init.log \
    hybrid gmm-init-mono $shared_phones_opt --train-feats=$sdata/1 --num-utts 10 $feat_opts \
      $lang/topo 0 $dir/0.mdl $dir/tree || exit 1;
fi

numgauss=`hybrid gmm-info $dir/0.mdl | grep gaussians | awk '{print $NF}'`
incgauss=$[($totgauss-$numgauss)/$max_iter_inc] # per-iter increment for #Gauss

if [ $stage -le -2 ]; then
  echo "$0: Compiling training graphs"
  $cmd JOB=1:$nj $dir/log/compile_graphs.JOB.log \
    hybrid compile-train-graphs --read-disambig-syms=$lang/phones/disambig.int \
      --words $lang/words.txt --map-oov $oov_sym \
      $dir/tree $dir/0.mdl $lang/L.fst $sdata/JOB/text $dir/fsts.JOB.npz || exit 1;
fi

if [ $stage -le -1 ]; then
  echo "$0: Aligning data equally (pass 0)"
  $cmd JOB=1:$nj $dir/log/align.0.JOB.log \
    hybrid align-equal-compiled $feat_opts $dir/fsts.JOB.npz $feats $dir/ali.0.JOB.gz '&&' \
    hybrid gmm-acc-stats-ali $feat_opts $dir/0.mdl $feats $dir/ali.0.JOB.gz $dir/0.JOB.acc || exit 1;
  rm -f $dir/ali.0.*.gz
fi

# In the following steps, the --min-gaussian-occupancy=3 option is important, otherwise
# we fail to est "rare" phones and later on, they never align properly.

if [ $stage -le 0 ]; then
  hybrid gmm-est --min-gaussian-occupancy=3 --mix-up=$numgauss --power=$power --seed=$seed \
    $dir/0.mdl $dir/0.*.acc $dir/1.mdl 2> $dir/log/update.0.log || exit 1;
  rm $dir/0.*.acc
fi

beam=$initial_beam # will change to regular_beam below after 1st pass
x=1
while [ $x -lt $num_iters ]; do
  echo "$0: Pass $x"
  if [ $stage -le $x ]; then
    if echo $realign_iters | grep -w $x >/dev/null; then
      echo "$0: Aligning data"
      # gmm-align-compiled (silence-boosted model) + gmm-acc-stats-ali (model as is) in one process:
      # the same alignments and stats, features read once; its log has both commands' summaries.
      $cmd JOB=1:$nj $dir/log/acc.$x.JOB.log \
        hybrid gmm-align-acc $scale_opts --beam=$beam --retry-beam=$retry_beam --careful=$careful \
          --boost-silence=$boost_silence --silence-phones=`cat $lang/phones/optional_silence.csl` \
          $feat_opts $dir/$x.mdl $dir/fsts.JOB.npz $feats $dir/ali.JOB.gz $dir/$x.JOB.acc || exit 1;
    else
      $cmd JOB=1:$nj $dir/log/acc.$x.JOB.log \
        hybrid gmm-acc-stats-ali $feat_opts $dir/$x.mdl $feats $dir/ali.JOB.gz $dir/$x.JOB.acc || exit 1;
    fi

    $cmd $dir/log/update.$x.log \
      hybrid gmm-est --write-occs=$dir/$[$x+1].occs --mix-up=$numgauss --power=$power --seed=$[$seed+$x] \
        $dir/$x.mdl $dir/$x.*.acc $dir/$[$x+1].mdl || exit 1;
    # Kaldi deletes $x.mdl here; we keep every model so that any --stage can be restarted.
    rm $dir/$x.*.acc $dir/$x.occs 2>/dev/null
  fi
  if [ $x -le $max_iter_inc ]; then
     numgauss=$[$numgauss+$incgauss];
  fi
  beam=$regular_beam
  x=$[$x+1]
done

# accumulators a killed earlier run left behind (its iteration's `rm` never ran)
rm -f $dir/[0-9]*.[0-9]*.acc
# final.mdl / final.occs: copies, renamed into place (atomic)
cp $dir/$x.mdl $dir/.final.mdl.tmp && mv -f $dir/.final.mdl.tmp $dir/final.mdl || exit 1;
if [ -f $dir/$x.occs ]; then cp $dir/$x.occs $dir/.final.occs.tmp && mv -f $dir/.final.occs.tmp $dir/final.occs; fi

grep -h "Overall avg like per frame (Gaussian only)" $dir/log/acc.$[$x-1].*.log 2>/dev/null | tail -n 1 || true
echo "$0: Done training monophone system in $dir"
