# How parallel jobs run (Kaldi's convention).
#   run.pl    : local processes (default)
#   slurm.pl  : a Slurm cluster (sbatch job arrays); options such as --mem 4G, --gpu 1 pass through
# e.g. export train_cmd="slurm.pl --mem 4G"
export train_cmd="run.pl"
export decode_cmd="run.pl"
export cuda_cmd="run.pl --gpu 1"
