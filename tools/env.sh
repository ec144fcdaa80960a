# Source this to use the project's virtualenv and scripts (egs/*/s5/path.sh does).
_hybrid_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export HYBRID_ROOT=$_hybrid_root
export PATH=$_hybrid_root/.venv/bin:$_hybrid_root/utils:$PATH
export NUMBA_CACHE_DIR=${NUMBA_CACHE_DIR:-$_hybrid_root/.numba_cache}
export LC_ALL=C
export PYTHONUNBUFFERED=1
unset _hybrid_root
# One BLAS thread per job: parallelism comes from --nj jobs; threaded BLAS spins and slows
# small matrix work down (measured: alignment 930 vs 150 s of audio per CPU second).
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
export MKL_NUM_THREADS=${MKL_NUM_THREADS:-1}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
