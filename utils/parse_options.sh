#!/usr/bin/env bash
# Kaldi's option convention, sourced by steps/*.sh, utils/*.sh and run.sh:
#   --foo-bar VALUE   sets the shell variable foo_bar (which must already be defined)
#   --foo-bar=VALUE   the same
#   --config FILE     sources FILE first (lines of the form foo_bar=VALUE)
#   --help | -h       prints $help_message and exits
# Options stop at the first argument that does not start with "--".

while true; do
  [ -z "${1:-}" ] && break
  case "$1" in
    --help|-h)
      if [ -z "${help_message:-}" ]; then echo "No help found." 1>&2; else printf "%s\n" "$help_message" 1>&2; fi
      exit 0 ;;
    --config)
      [ $# -ge 2 ] || { echo "$0: --config needs a file" 1>&2; exit 1; }
      [ -f "$2" ] || { echo "$0: config file $2 does not exist" 1>&2; exit 1; }
      . "$2" || { echo "$0: error sourcing config file $2" 1>&2; exit 1; }
      shift 2 ;;
    --*=*)
      __name=$(echo "${1%%=*}" | sed 's/^--//; s/-/_/g')
      __value="${1#*=}"
      eval '[ -z "${'"$__name"'+xxx}" ]' && { echo "$0: invalid option $1" 1>&2; exit 1; }
      eval "$__name=\"\$__value\""
      shift 1 ;;
    --*)
      __name=$(echo "$1" | sed 's/^--//; s/-/_/g')
      eval '[ -z "${'"$__name"'+xxx}" ]' && { echo "$0: invalid option $1" 1>&2; exit 1; }
      [ $# -ge 2 ] || { echo "$0: option $1 needs a value" 1>&2; exit 1; }
      eval "__was_bool=\"\${$__name}\""
      eval "$__name=\"\$2\""
      if [ "$__was_bool" = true ] || [ "$__was_bool" = false ]; then
        case "$2" in true|false) ;; *) echo "$0: expected true or false for $1, got $2" 1>&2; exit 1 ;; esac
      fi
      shift 2 ;;
    *) break ;;
  esac
done
true
