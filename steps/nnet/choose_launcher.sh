# Sourced by steps/nnet/train_tdnn.sh and steps/chain/train.sh (not run on its own).
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
