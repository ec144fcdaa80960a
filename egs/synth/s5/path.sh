# Puts the project's virtualenv, utils/ and steps/ on PATH (Kaldi recipes source this).
# The repo is found through the steps symlink, so a copy of this directory elsewhere works when its
# steps/utils links point at the repo.
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && cd -P steps/.. && pwd)/tools/env.sh"
export PATH=$PWD/utils:$PWD/steps:$PATH
