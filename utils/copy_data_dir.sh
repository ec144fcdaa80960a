#!/usr/bin/env bash
# Kaldi's utils/copy_data_dir.sh: copies a data dir, optionally adding prefixes/suffixes to the
# utterance and speaker ids (recording ids change with the utterance ids when there are no segments).
utt_prefix=
spk_prefix=
utt_suffix=
spk_suffix=
validate_opts=   # kept for Kaldi compatibility; the copy is validated unless it is --no-validate
help_message="Usage: $0 [options] <srcdir> <destdir>
 e.g.: $0 --spk-prefix=1- --utt-prefix=1- data/train data/train_1
Options:
  --utt-prefix=<prefix>     # Prefix for utterance ids, default empty
  --spk-prefix=<prefix>     # Prefix for speaker ids, default empty
  --utt-suffix=<suffix>     # Suffix for utterance ids, default empty
  --spk-suffix=<suffix>     # Suffix for speaker ids, default empty
  --validate-opts=<opts>    # '--no-validate' skips validation"
. "$(dirname "$0")/parse_options.sh" || exit 1
if [ $# -ne 2 ]; then
  printf "%s\n" "$help_message" 1>&2
  exit 1
fi
no_validate=
case "$validate_opts" in *--no-validate*) no_validate=--no-validate ;; esac
exec hybrid copy-data-dir --utt-prefix "$utt_prefix" --spk-prefix "$spk_prefix" \
  --utt-suffix "$utt_suffix" --spk-suffix "$spk_suffix" $no_validate "$1" "$2"
