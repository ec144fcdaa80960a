#!/usr/bin/env bash
# Kaldi's utils/data/perturb_data_dir_speed_3way.sh: <dst> = <src> + sp0.9- and sp1.1- copies
# (sox speed pipes in wav.scp). Usage: utils/data/perturb_data_dir_speed_3way.sh <src> <dst>
if [ $# -ne 2 ]; then echo "Usage: $0 <src-data-dir> <dest-data-dir>" >&2; exit 1; fi
exec hybrid perturb-data-dir-speed-3way "$1" "$2"
