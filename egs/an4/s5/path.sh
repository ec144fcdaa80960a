# Puts the project's virtualenv, utils/ and steps/ on PATH (Kaldi recipes source this).
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../../../tools/env.sh"
export PATH=$PWD/utils:$PWD/steps:$PATH
