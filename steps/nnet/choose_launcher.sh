# Sourced by steps/nnet/train_tdnn.sh and steps/chain/train.sh (not run on its own): the launcher
# choice below, and train_network (at the end).
# From $use_gpu (yes|wait|no), $num_gpus and $num_jobs_cpu it sets:
#   gpu_opt   yes|no, for the trainer's --use-gpu
#   nproc     training processes (GPUs, or CPU processes with gloo)
#   launcher  "hybrid", or torchrun with $nproc processes (DistributedDataParallel)
gpu_opt=no
nproc=$num_jobs_cpu
if [ "$use_gpu" != no ]; then
  if python -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
    gpu_opt=yes; nproc=$num_gpus
  elif [ "$use_gpu" = yes ]; then
    echo "$0: --use-gpu yes but no GPU is available" 1>&2; exit 1
  else
    echo "$0: no GPU available; training on CPU"
  fi
fi
if [ $nproc -gt 1 ]; then
  launcher="python -m torch.distributed.run --standalone --nproc_per_node $nproc -m hybrid"
else
  launcher="hybrid"
fi
echo "$0: training on $nproc $( [ $gpu_opt = yes ] && echo GPU || echo CPU) process(es); log in $dir/log/train.log"

# train_network <trainer> [<trainer-specific options>...]: runs `$launcher <trainer>` (nnet-train or
# chain-train) on ${egs_dir:-$dir/egs} with the network and schedule options both scripts share (their config
# variables), logs to $dir/log/train.log, and fails with the log's tail unless $dir/final.pt exists.
# Options with spaces (splices, time strides, dropout schedule) are passed as separate words.
train_network() {
  local trainer=$1; shift
  local opts="--config-type $config_type --bottleneck-dim $bottleneck_dim --prefinal-bottleneck-dim $prefinal_bottleneck_dim"
  opts="$opts --num-epochs $num_epochs --initial-effective-lrate $initial_effective_lrate"
  opts="$opts --final-effective-lrate $final_effective_lrate --minibatch-size $minibatch_size"
  opts="$opts --chunk-width $chunk_width --frames-per-iter $frames_per_iter --max-param-change $max_param_change"
  opts="$opts --diagnostic-interval $diagnostic_interval --max-models-combine $max_models_combine"
  opts="$opts --num-workers $num_workers --seed $seed --use-gpu $gpu_opt --amp $amp --cleanup-keep $cleanup_keep"
  [ -n "$hidden_dim" ] && opts="$opts --hidden-dim $hidden_dim"
  $launcher $trainer $opts "$@" ${splices:+--splices "$splices"} ${time_strides:+--time-strides "$time_strides"} \
    ${dropout_schedule:+--dropout-schedule "$dropout_schedule"} ${egs_dir:-$dir/egs} $dir > $dir/log/train.log 2>&1 \
    || { echo "$0: training failed; see $dir/log/train.log" 1>&2; tail -n 20 $dir/log/train.log 1>&2; return 1; }
  [ -f $dir/final.pt ] || { echo "$0: no $dir/final.pt (stopped early?)" 1>&2; return 1; }
}
