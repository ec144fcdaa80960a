#!/usr/bin/env bash
# The README's test command: set up (idempotent), then run the test suite.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/tools/setup.sh"
. "$root/tools/env.sh"
cd "$root"
exec python -m pytest -q -n 2 --dist loadfile "$@"
