#!/usr/bin/env bash
# Idempotent setup on a fresh Debian machine with Python >= 3.11:
#  - Debian packages (flite, espeak-ng, sox) when missing and we can install them;
#  - a virtualenv in .venv with torch pinned (tools/constraints.txt) so no CUDA wheels come in;
#  - the hybrid package installed editable.
# Re-running is cheap: the pip step is skipped while tools/requirements.txt, constraints and
# pyproject.toml are unchanged.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
PYTHON=${PYTHON:-python3}

need_deb=()
# slurmctld/slurmd/slurm-client/munge: what the metapackage slurm-wlm installs, without its
# many recommended plugins; tests/test_slurm.py starts a one-node cluster with them.
for pair in flite:flite espeak-ng:espeak-ng sox:sox slurmctld:slurmctld slurmd:slurmd sbatch:slurm-client munged:munge; do
  bin=${pair%%:*}; pkg=${pair#*:}
  command -v "$bin" >/dev/null 2>&1 || [ -x "/usr/sbin/$bin" ] || need_deb+=("$pkg")
done
if [ ${#need_deb[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing Debian packages: ${need_deb[*]}" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_deb[@]}" libespeak-ng1) >/dev/null \
      || echo "setup: WARNING: could not install ${need_deb[*]}; TTS corpora and their tests will be skipped" >&2
  else
    echo "setup: WARNING: missing ${need_deb[*]} (not root): TTS corpora and their tests will be skipped" >&2
  fi
fi

stamp=.venv/.hybrid-setup-stamp
want=$(cat tools/requirements.txt tools/constraints.txt pyproject.toml | sha1sum | cut -d' ' -f1)
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing Python packages into .venv (torch pinned by tools/constraints.txt)" >&2
  .venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v "^WARNING: Location" >&2 || true
  .venv/bin/python -m pip install -q -c tools/constraints.txt -r tools/requirements.txt 2>&1 | grep -v "^WARNING: Location" >&2 || true
  .venv/bin/python -m pip install -q -c tools/constraints.txt --no-deps -e . 2>&1 | grep -v "^WARNING: Location" >&2 || true
  .venv/bin/python -c "import hybrid, torch, kaldifst, lhotse, numba" || { echo "setup: FAILED: packages did not install" >&2; exit 1; }
  echo "$want" > "$stamp"
fi
