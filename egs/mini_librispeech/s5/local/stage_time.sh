#!/usr/bin/env bash
# Usage: local/stage_time.sh <stage> <name> <start-epoch-seconds> [<extra summary>]
# Prints a one-line stage summary and appends it to exp/stage_times.tsv.
stage=$1; name=$2; start=$3; extra=${4:-}
secs=$(( $(date +%s) - start ))
pretty=$(printf "%dm%02ds" $((secs / 60)) $((secs % 60)))
mkdir -p exp
printf "%s\t%s\t%s\t%s\n" "$stage" "$name" "$secs" "$(date -u +%FT%TZ)" >> exp/stage_times.tsv
echo "stage $stage $name: $pretty${extra:+, $extra}"
