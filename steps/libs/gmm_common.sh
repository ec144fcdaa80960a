# Steps shared by steps/train_deltas.sh, steps/train_lda_mllt.sh and steps/train_sat.sh (Kaldi
# spells them out in each script; here they are written once). Sourced, not run: the functions read
# the calling script's variables:
#   cmd dir nj lang alidir sdata oov feats feat_opts context_opts ciphonelist numleaves cluster_thresh
#   scale_opts beam retry_beam careful boost_silence power seed numgauss
# and return non-zero on failure (callers add `|| exit 1`).

# Tree statistics of <alidir>'s alignments on the current features -> $dir/treeacc
gmm_acc_tree_stats() {
  echo "$0: accumulating tree stats"
  rm -f $dir/*.treeacc
  $cmd JOB=1:$nj $dir/log/acc_tree.JOB.log \
    hybrid acc-tree-stats $context_opts --ci-phones=$ciphonelist $feat_opts $alidir/final.mdl $feats \
      $alidir/ali.JOB.gz $dir/JOB.treeacc || return 1
  [ "$(ls $dir/*.treeacc | wc -w)" -ne "$nj" ] && echo "$0: wrong number of tree statistics files" && return 1
  $cmd $dir/log/sum_tree_acc.log hybrid sum-tree-stats $dir/treeacc $dir/*.treeacc || return 1
  rm $dir/*.treeacc
}

# Questions by clustering the phones, then the tree: $dir/treeacc -> $dir/{questions.int,questions.qst,tree}
gmm_build_tree() {
  echo "$0: getting questions for tree-building, via clustering"
  hybrid cluster-phones $context_opts $dir/treeacc $lang/phones/sets.int $dir/questions.int \
    2> $dir/log/questions.log || return 1
  if [ -f $lang/phones/extra_questions.int ]; then cat $lang/phones/extra_questions.int >> $dir/questions.int; fi
  hybrid compile-questions $context_opts $lang/topo $dir/questions.int $dir/questions.qst \
    2> $dir/log/compile_questions.log || return 1
  echo "$0: building the tree"
  $cmd $dir/log/build_tree.log \
    hybrid build-tree $context_opts --verbose=1 --max-leaves=$numleaves --cluster-thresh=$cluster_thresh \
      $dir/treeacc $lang/phones/roots.int $dir/questions.qst $lang/topo $dir/tree || return 1
}

# gmm_init_model <out.mdl>: one Gaussian per leaf from the tree statistics (+ $dir/1.occs)
gmm_init_model() {
  echo "$0: initializing the model"
  $cmd $dir/log/init_model.log \
    hybrid gmm-init-model --write-occs=$dir/1.occs $dir/tree $dir/treeacc $lang/topo $1 || return 1
  if grep 'no stats' $dir/log/init_model.log; then
    echo "** The warnings above about 'no stats' generally mean you have phones **"
    echo "** (or groups of phones) in your phone set that had no corresponding data. **"
    echo "** You should probably figure out whether something went wrong, **"
    echo "** or whether your data just doesn't happen to have examples of those **"
    echo "** phones. **"
  fi
  return 0
}

# <alidir>'s alignments converted to the new tree and model -> $dir/ali.JOB.gz
gmm_convert_ali() {
  echo "$0: converting alignments from $alidir to use current tree"
  $cmd JOB=1:$nj $dir/log/convert.JOB.log \
    hybrid convert-ali $alidir/final.mdl $dir/1.mdl $dir/tree $alidir/ali.JOB.gz $dir/ali.JOB.gz
}

# Training graphs of the transcripts -> $dir/fsts.JOB.npz
gmm_compile_graphs() {
  echo "$0: compiling graphs of transcripts"
  $cmd JOB=1:$nj $dir/log/compile_graphs.JOB.log \
    hybrid compile-train-graphs --read-disambig-syms=$lang/phones/disambig.int \
      --words $lang/words.txt --map-oov $oov \
      $dir/tree $dir/1.mdl $lang/L.fst $sdata/JOB/text $dir/fsts.JOB.npz
}

# gmm_realign <x>: align with $x.mdl -> $dir/ali.JOB.gz
gmm_realign() {
  echo "$0: aligning data"
  $cmd JOB=1:$nj $dir/log/align.$1.JOB.log \
    hybrid gmm-align-compiled $scale_opts --beam=$beam --retry-beam=$retry_beam --careful=$careful \
      --boost-silence=$boost_silence --silence-phones=$(cat $lang/phones/optional_silence.csl) \
      $feat_opts $dir/$1.mdl $dir/fsts.JOB.npz $feats $dir/ali.JOB.gz
}

# gmm_update <x>: statistics with $x.mdl and the alignments, then $[x+1].mdl (mixing up to $numgauss)
gmm_update() {
  local x=$1
  $cmd JOB=1:$nj $dir/log/acc.$x.JOB.log \
    hybrid gmm-acc-stats-ali $feat_opts $dir/$x.mdl $feats $dir/ali.JOB.gz $dir/$x.JOB.acc || return 1
  [ "$(ls $dir/$x.*.acc | wc -w)" -ne "$nj" ] && echo "$0: wrong number of accumulators" && return 1
  $cmd $dir/log/update.$x.log \
    hybrid gmm-est --mix-up=$numgauss --power=$power --seed=$[$seed+$x] \
      --write-occs=$dir/$[$x+1].occs $dir/$x.mdl $dir/$x.*.acc $dir/$[$x+1].mdl || return 1
  # Kaldi deletes $x.mdl here; we keep every model so that any --stage can be restarted.
  rm -f $dir/$x.*.acc $dir/$x.occs
}

# gmm_finalize <x> [<suffix>...]: final.{mdl,occs,<suffix>...} as copies of $x.*, renamed into place
# (atomic); removes accumulators a killed earlier run left behind; prints the last likelihood.
gmm_finalize() {
  local x=$1 f; shift
  rm -f $dir/[0-9]*.[0-9]*.acc
  cp $dir/$x.mdl $dir/.final.mdl.tmp && mv -f $dir/.final.mdl.tmp $dir/final.mdl || return 1
  for f in occs "$@"; do
    if [ -f $dir/$x.$f ]; then cp $dir/$x.$f $dir/.final.$f.tmp && mv -f $dir/.final.$f.tmp $dir/final.$f || return 1; fi
  done
  grep -h "Overall avg like per frame" $dir/log/acc.$[$x-1].*.log 2>/dev/null | tail -n 1 || true
}
