"""Decision-tree commands (Kaldi's acc-tree-stats, sum-tree-stats, cluster-phones, compile-questions,
build-tree, gmm-init-model, gmm-mixup, convert-ali, draw-tree, tree-info)."""

from __future__ import annotations

import logging

import click

from hybrid.cli.cmd_gmm import feature_options, open_features, setup_logging

log = logging.getLogger("hybrid.tree")


def _context_options(f):
    f = click.option("--central-position", type=int, default=1, show_default=True,
                     help="Central position in the phone context window")(f)
    f = click.option("--context-width", type=int, default=3, show_default=True, help="Phone context window size")(f)
    return f


def _csl(s: str | None) -> list[int]:
    return [int(x) for x in s.split(":") if x] if s else []


def _fail(msg: str) -> None:
    log.error(msg)
    raise SystemExit(1)


@click.command("acc-tree-stats")
@_context_options
@click.option("--ci-phones", default="", help="Colon-separated list of context-independent phones")
@click.option("--var-floor", type=float, default=0.01, show_default=True, help="Variance floor for tree clustering")
@feature_options
@click.argument("model")
@click.argument("features")
@click.argument("alignments")
@click.argument("stats_out")
def acc_tree_stats_cmd(context_width, central_position, ci_phones, var_floor, model, features, alignments, stats_out,
                       **kw):
    """Accumulate statistics for phonetic-context tree building (FEATURES: data dir or rspecifier)."""
    setup_logging("acc-tree-stats")
    from hybrid.hmm import read_transition_model
    from hybrid.io import read_ali_ark
    from hybrid.tree.stats import TreeStatsAccumulator

    tm = read_transition_model(model)
    alis = read_ali_ark(alignments)
    acc = TreeStatsAccumulator(tm, context_width, central_position, _csl(ci_phones), var_floor)
    no_ali = other = 0
    for utt, x in open_features(features, kw):
        ali = alis.get(utt)
        if ali is None:
            log.warning("No alignment for utterance %s", utt)
            no_ali += 1
            continue
        if not acc.accumulate(x, ali, utt):
            other += 1
    log.info("Accumulated stats for %d files, %d failed due to no alignment, %d failed for other reasons.",
             acc.num_done, no_ali, other)
    st = acc.result()
    log.info("Number of separate stats (context-dependent states) is %d", st.num_events)
    st.write(stats_out)
    if acc.num_done == 0:
        _fail("no utterances were accumulated")


@click.command("sum-tree-stats")
@click.argument("stats_out")
@click.argument("stats_in", nargs=-1, required=True)
def sum_tree_stats_cmd(stats_out, stats_in):
    """Sum tree statistics files."""
    setup_logging("sum-tree-stats")
    from hybrid.tree.stats import TreeStats, sum_tree_stats

    tot = sum_tree_stats([TreeStats.read(p) for p in stats_in])
    log.info("Wrote summed accs ( %d individual stats)", tot.num_events)
    tot.write(stats_out)


@click.command("cluster-phones")
@_context_options
@click.option("--pdf-class-list", default="1", show_default=True,
              help="Colon-separated list of HMM positions to consider (1 = middle of a 3-state HMM)")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the k-means initialisations")
@click.argument("tree_stats")
@click.argument("phone_sets")
@click.argument("questions_out")
def cluster_phones_cmd(context_width, central_position, pdf_class_list, seed, tree_stats, phone_sets, questions_out):
    """Cluster phone sets top-down into questions (phones/sets.int -> questions.int)."""
    setup_logging("cluster-phones")
    from hybrid.tree.questions import cluster_phones, read_int_lines, write_int_lines
    from hybrid.tree.stats import TreeStats

    st = TreeStats.read(tree_stats)
    if st.central_position != central_position:
        _fail(f"--central-position={central_position} does not match the stats ({st.central_position})")
    sets = read_int_lines(phone_sets)
    if not sets:
        _fail(f"No phone sets in phone sets file {phone_sets}")
    qs = cluster_phones(st, sets, _csl(pdf_class_list), seed=seed)
    write_int_lines(qs, questions_out)
    log.info("Wrote questions to %s", questions_out)


@click.command("compile-questions")
@_context_options
@click.option("--num-iters-refine", type=int, default=0, show_default=True, help="Must be 0 (not supported)")
@click.argument("topo")
@click.argument("questions")
@click.argument("questions_out")
def compile_questions_cmd(context_width, central_position, num_iters_refine, topo, questions, questions_out):
    """Compile questions.int (+ extra questions) into questions.qst for build-tree."""
    setup_logging("compile-questions")
    from hybrid.hmm import Topology
    from hybrid.tree.questions import compile_questions, read_int_lines

    if num_iters_refine:
        _fail("--num-iters-refine > 0 is not supported")
    q = compile_questions(read_int_lines(questions), Topology.read(topo), context_width)
    q.write(questions_out)
    log.info("Wrote questions to %s", questions_out)


@click.command("build-tree")
@_context_options
@click.option("--thresh", type=float, default=300.0, show_default=True,
              help="Log-likelihood change threshold for tree-building")
@click.option("--cluster-thresh", type=float, default=-1.0, show_default=True,
              help="Log-likelihood change threshold for clustering after tree-building; -1: the smallest split")
@click.option("--max-leaves", type=int, default=0, show_default=True, help="Maximum number of leaves (0: no limit)")
@click.option("--round-num-leaves", type=bool, default=True, show_default=True,
              help="Reduce the number of leaves to a multiple of 8 by further clustering")
@click.option("--verbose", type=int, default=0, hidden=True)
@click.argument("tree_stats")
@click.argument("roots")
@click.argument("questions")
@click.argument("topo")
@click.argument("tree_out")
def build_tree_cmd(context_width, central_position, thresh, cluster_thresh, max_leaves, round_num_leaves, verbose,
                   tree_stats, roots, questions, topo, tree_out):
    """Build a phonetic decision tree: TREE_STATS ROOTS(roots.int) QUESTIONS(.qst) TOPO TREE_OUT."""
    setup_logging("build-tree")
    from hybrid.hmm import Topology
    from hybrid.tree.build import build_tree, read_roots
    from hybrid.tree.questions import Questions
    from hybrid.tree.stats import TreeStats

    st = TreeStats.read(tree_stats)
    if (st.context_width, st.central_position) != (context_width, central_position):
        _fail(f"--context-width={context_width} --central-position={central_position} do not match the stats "
              f"({st.context_width}, {st.central_position})")
    try:
        ctx = build_tree(st, read_roots(roots), Questions.read(questions), Topology.read(topo), thresh=thresh,
                         max_leaves=max_leaves, cluster_thresh=cluster_thresh, round_num_leaves=round_num_leaves)
    except ValueError as e:
        _fail(str(e))
    ctx.write(tree_out)
    log.info("Wrote tree")


@click.command("gmm-init-model")
@click.option("--var-floor", type=float, default=0.01, show_default=True, help="Variance floor for the new model")
@click.option("--write-occs", default=None, help="Write pdf occupancies (text vector) to this file")
@click.argument("tree")
@click.argument("tree_stats")
@click.argument("topo")
@click.argument("model_out")
def gmm_init_model_cmd(var_floor, write_occs, tree, tree_stats, topo, model_out):
    """Initialise a GMM model (one Gaussian per leaf) from a tree and tree statistics."""
    setup_logging("gmm-init-model")
    import numpy as np

    from hybrid.gmm import write_model
    from hybrid.hmm import Topology
    from hybrid.io import atomic_write
    from hybrid.io.kaldi_text import format_vector
    from hybrid.tree import read_tree
    from hybrid.tree.init_model import gmm_init_model
    from hybrid.tree.stats import TreeStats

    tm, am, occs = gmm_init_model(read_tree(tree), TreeStats.read(tree_stats), Topology.read(topo), var_floor)
    write_model(model_out, tm, am)
    if write_occs:
        with atomic_write(write_occs) as f:
            f.write(" " + format_vector(occs.astype(np.float32)) + "\n")
    log.info("Wrote model with %d pdfs to %s", am.num_pdfs, model_out)


@click.command("gmm-mixup")
@click.option("--mix-up", type=int, default=0, help="Increase the number of Gaussians to this")
@click.option("--power", type=float, default=0.2, show_default=True, help="Exponent on occupancy for mixing up")
@click.option("--min-count", type=float, default=20.0, show_default=True, help="Minimum count per Gaussian")
@click.option("--perturb-factor", type=float, default=0.01, show_default=True)
@click.option("--seed", type=int, default=777, show_default=True, help="Seed for splitting Gaussians")
@click.argument("model_in")
@click.argument("occs_in")
@click.argument("model_out")
def gmm_mixup_cmd(mix_up, power, min_count, perturb_factor, seed, model_in, occs_in, model_out):
    """Mix up a GMM model toward --mix-up Gaussians using pdf occupancies."""
    setup_logging("gmm-mixup")
    import numpy as np

    from hybrid.gmm import read_model, split_by_count, write_model
    from hybrid.io.kaldi_text import KaldiTextReader

    tm, am = read_model(model_in)
    occs = KaldiTextReader.from_file(occs_in).vector()
    if len(occs) != am.num_pdfs:
        _fail(f"{occs_in}: {len(occs)} occupancies, the model has {am.num_pdfs} pdfs")
    if mix_up > 0:
        split_by_count(am, occs, mix_up, perturb_factor, power, min_count, np.random.default_rng(seed))
    write_model(model_out, tm, am)


@click.command("convert-ali")
@click.argument("old_model")
@click.argument("new_model")
@click.argument("new_tree")
@click.argument("alignments_in")
@click.argument("alignments_out")
def convert_ali_cmd(old_model, new_model, new_tree, alignments_in, alignments_out):
    """Convert alignments from one model/tree to another (same phones and HMM topology)."""
    setup_logging("convert-ali")
    from hybrid.hmm import read_transition_model
    from hybrid.io import iter_table, write_ali_ark
    from hybrid.tree import read_tree
    from hybrid.tree.init_model import convert_alignment

    old_tm, new_tm = read_transition_model(old_model), read_transition_model(new_model)
    ctx = read_tree(new_tree)
    if old_tm.topo.to_text() != new_tm.topo.to_text():
        _fail("convert-ali: the two models have different topologies")
    done = failed = 0

    def gen():
        nonlocal done, failed
        for utt, ali in iter_table(alignments_in):
            new = convert_alignment(old_tm, new_tm, ctx, ali)
            if new is None:
                log.warning("Could not convert alignment for key %s (possibly truncated alignment?)", utt)
                failed += 1
                continue
            done += 1
            yield utt, new

    write_ali_ark(gen(), alignments_out)
    log.info("Succeeded converting alignments for %d files, failed for %d", done, failed)
    if done == 0 and failed:
        raise SystemExit(1)


@click.command("draw-tree")
@click.option("--text", "as_text", is_flag=True, help="One line per leaf and context path instead of Graphviz")
@click.option("--topo", default=None, help="Topology (limits the listed pdf-classes per phone with --text)")
@click.argument("phones_txt")
@click.argument("tree")
def draw_tree_cmd(as_text, topo, phones_txt, tree):
    """Print a tree as Graphviz source (as Kaldi's draw-tree) or, with --text, per leaf its contexts."""
    from hybrid.io import read_symbols
    from hybrid.tree import read_tree
    from hybrid.tree.draw import format_tree_leaves, tree_to_dot

    ctx = read_tree(tree)
    syms = read_symbols(phones_txt)
    names = {i: s for s, i in syms.items()}
    if not as_text:
        click.echo(tree_to_dot(ctx, names), nl=False)
        return
    nclass = None
    if topo:
        from hybrid.hmm import Topology

        t = Topology.read(topo)
        nclass = {p: t.num_pdf_classes(p) for p in t.phones}
        phones = t.phones
    else:
        phones = sorted(i for i in names if i > 0 and not names[i].startswith("#"))
    click.echo(format_tree_leaves(ctx, phones, names=names, num_pdf_classes=nclass), nl=False)


@click.command("tree-info")
@click.argument("tree")
def tree_info_cmd(tree):
    """Print the number of pdfs, context width and central position of a tree."""
    from hybrid.tree import read_tree

    ctx = read_tree(tree)
    click.echo(f"num-pdfs {ctx.num_pdfs}\ncontext-width {ctx.context_width}\ncentral-position {ctx.central_position}")


COMMANDS = [acc_tree_stats_cmd, sum_tree_stats_cmd, cluster_phones_cmd, compile_questions_cmd, build_tree_cmd,
            gmm_init_model_cmd, gmm_mixup_cmd, convert_ali_cmd, draw_tree_cmd, tree_info_cmd]
