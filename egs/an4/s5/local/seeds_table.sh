#!/usr/bin/env bash
# WER of each GMM system over the runs of local/pipeline_seeds.sh: per seed, mean, min and max,
# with the best LMWT/WIP picked on test over two LMWT ranges: 7-17 (steps/score_kaldi.sh today)
# and 9-20 (steps/score_kaldi.sh in April 2016, when Kaldi's egs/an4/s5/RESULTS were made: its best
# LMWTs there are 19, 18, 20 and 20, outside 7-17). The lattices are rescored in a scratch copy;
# the decode directories are not touched.
# Usage: local/seeds_table.sh [--pattern "seeds/s[0-9]*"] [--ranges "7:17 9:20"]
pattern="seeds/s[0-9]"
ranges="7:17 9:20"
. ./path.sh
. utils/parse_options.sh
set -euo pipefail
tmp=$(mktemp -d); trap 'rm -rf $tmp' EXIT
for x in mono/decode tri1/decode tri2b/decode tri3b/decode.si tri3b/decode; do
  for r in $ranges; do
    lo=${r%:*}; hi=${r#*:}; line=""
    for w in $(ls -d $pattern 2>/dev/null | sort -V); do
      d=$w/exp/$x
      [ -f $d/lat.1.gz ] || continue
      t=$tmp/$(echo $d | tr / _)_$r; mkdir -p $t
      for f in $d/lat.*.gz; do ln -s $(readlink -f $f) $t/; done
      hybrid score-lattices --min-lmwt $lo --max-lmwt $hi $w/data/test/text $w/data/lang/words.txt $t >/dev/null 2>&1
      line="$line $(awk '{print $2}' $t/scoring_kaldi/best_wer)"
    done
    [ -n "$line" ] && echo "$x LMWT $lo-$hi:$line" | awk '{s=0; mn=1e9; mx=0; n=0;
      for (i=4; i<=NF; i++) { s+=$i; n++; if ($i<mn) mn=$i; if ($i>mx) mx=$i; }
      printf("%-16s LMWT %-5s n=%d mean %.2f min %.2f max %.2f :", $1, $3, n, s/n, mn, mx);
      for (i=4; i<=NF; i++) printf(" %s", $i); printf("\n") }'
  done
done
