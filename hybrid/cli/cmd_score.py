"""Scoring commands: ``compute-wer``, ``score-lattices`` (score_kaldi.sh sweep), ``lattice-best-path``,
``lattice-to-post``, ``lattice-determinize-pruned``, ``lattice-to-ctm`` (get_ctm.sh) and ``lattice-copy`` (to text)."""

from __future__ import annotations

import sys

import click


def _syms(path: str) -> dict[int, str] | None:
    if not path:
        return None
    from hybrid.io import read_symbols

    return dict(read_symbols(path).id2sym)


def _read_tm(model: str):
    from hybrid.hmm import TransitionModel
    from hybrid.io.kaldi_text import KaldiTextReader

    return TransitionModel.parse_reader(KaldiTextReader.from_file(model))


@click.command("compute-wer")
@click.option("--text", is_flag=True, default=False, help="Inputs are text archives (always the case here).")
@click.option("--mode", type=click.Choice(["strict", "present", "all"]), default="strict", show_default=True,
              help="strict: every reference needs a hypothesis; present: score only present ones; "
                   "all: missing hypotheses count as empty.")
@click.argument("ref_rspecifier")
@click.argument("hyp_rspecifier")
def compute_wer_cmd(text, mode, ref_rspecifier, hyp_rspecifier):
    """Compute WER by comparing reference and hypothesis word sequences (Kaldi's compute-wer).

    Usage: hybrid compute-wer --text --mode=present ark:data/test/text ark:hyp.txt
    """
    from hybrid.score.wer import compute_wer, read_text_spec

    ref = read_text_spec(ref_rspecifier)
    hyp = read_text_spec(hyp_rspecifier)
    try:
        st = compute_wer(ref, hyp, mode)
    except KeyError as e:
        click.echo(f"ERROR (compute-wer) {e.args[0]}", err=True)
        sys.exit(1)
    sys.stdout.write(st.format())


@click.command("score-lattices")
@click.option("--min-lmwt", type=int, default=7, show_default=True)
@click.option("--max-lmwt", type=int, default=17, show_default=True)
@click.option("--word-ins-penalty", default="0.0,0.5,1.0", show_default=True, help="Comma-separated list.")
@click.argument("ref_text")
@click.argument("words_txt")
@click.argument("decode_dir")
def score_lattices_cmd(min_lmwt, max_lmwt, word_ins_penalty, ref_text, words_txt, decode_dir):
    """Score lat.*.gz over LMWT x WIP; write wer_LMWT_WIP, scoring/*.tra and best_wer (score_kaldi.sh).

    Usage: hybrid score-lattices data/test/text exp/mono/graph/words.txt exp/mono/decode
    """
    from hybrid.score.sweep import score_lattices

    res = score_lattices(decode_dir, ref_text, _syms(words_txt), min_lmwt, max_lmwt,
                         [w for w in word_ins_penalty.split(",") if w])
    click.echo(res.best_wer_line)


@click.command("lattice-best-path")
@click.option("--acoustic-scale", type=float, default=1.0, show_default=True)
@click.option("--lm-scale", type=float, default=1.0, show_default=True)
@click.option("--word-ins-penalty", type=float, default=0.0, show_default=True)
@click.option("--word-symbol-table", default="", help="Log the best paths as words.")
@click.argument("lats_rspecifier")
@click.argument("words_wspecifier", required=False)
@click.argument("alignments_wspecifier", required=False)
def lattice_best_path_cmd(acoustic_scale, lm_scale, word_ins_penalty, word_symbol_table, lats_rspecifier,
                          words_wspecifier, alignments_wspecifier):
    """Best path of each lattice: word ids (ark,t) and transition-id alignments.

    Usage: hybrid lattice-best-path [--acoustic-scale 0.1] 'ark:lat.1.gz' ark,t:words.txt [ark:ali.gz]
    """
    from hybrid.decode.driver import _write_int_vectors
    from hybrid.decode.lattice import iter_lattices, lattice_best_path

    syms = _syms(word_symbol_table)
    words, alis = [], []
    tot, n_frames, n_done, n_fail = 0.0, 0, 0, 0
    for utt, lat in iter_lattices(lats_rspecifier):
        bp = lattice_best_path(lat, lm_scale, acoustic_scale, word_ins_penalty)
        if bp is None:
            click.echo(f"WARNING (lattice-best-path) Best-path failed for key {utt}", err=True)
            n_fail += 1
            continue
        n_done += 1
        words.append((utt, bp.words))
        alis.append((utt, bp.alignment))
        tot += lm_scale * bp.graph_cost + acoustic_scale * bp.acoustic_cost
        n_frames += len(bp.alignment)
        if syms is not None:
            click.echo(" ".join([utt] + [syms.get(w, str(w)) for w in bp.words]), err=True)
    import numpy as np

    if words_wspecifier:
        _write_int_vectors([(u, np.asarray(w, np.int32)) for u, w in words], words_wspecifier)
    if alignments_wspecifier:
        _write_int_vectors([(u, np.asarray(a, np.int32)) for u, a in alis], alignments_wspecifier)
    click.echo(f"LOG (lattice-best-path) Overall score per frame is {tot / max(n_frames, 1):.6g} = "
               f"over {n_frames} frames.", err=True)
    click.echo(f"LOG (lattice-best-path) Done {n_done} lattices, failed for {n_fail}", err=True)
    if n_done == 0:
        sys.exit(1)


@click.command("lattice-to-post")
@click.option("--acoustic-scale", type=float, default=1.0, show_default=True)
@click.option("--lm-scale", type=float, default=1.0, show_default=True)
@click.argument("lats_rspecifier")
@click.argument("post_wspecifier")
def lattice_to_post_cmd(acoustic_scale, lm_scale, lats_rspecifier, post_wspecifier):
    """Per-frame transition-id posteriors of each lattice (forward-backward), as a Kaldi Posterior
    archive (ark,t: text, ark: binary). A lattice that fails (no successful path, unequal path
    lengths) is reported and skipped.

    Usage: hybrid lattice-to-post --acoustic-scale=0.083333 'ark:lat.1.gz' ark,t:post.1
    """
    from hybrid.decode.lattice import iter_lattices
    from hybrid.decode.posterior import lattice_forward_backward, write_posteriors

    if acoustic_scale == 0.0:
        click.echo("ERROR (lattice-to-post) Do not use a zero acoustic scale (cannot be inverted)", err=True)
        sys.exit(1)
    out = []
    tot, tot_ac, n_frames, n_fail = 0.0, 0.0, 0, 0
    for utt, lat in iter_lattices(lats_rspecifier):
        try:
            r = lattice_forward_backward(lat, acoustic_scale, lm_scale)
        except ValueError as e:
            click.echo(f"WARNING (lattice-to-post) Lattice for {utt}: {e}; skipped", err=True)
            n_fail += 1
            continue
        out.append((utt, r.post, r.num_frames))
        tot += r.total_like
        tot_ac += r.acoustic_like
        n_frames += r.num_frames
    write_posteriors(out, post_wspecifier)
    nf = max(n_frames, 1)
    click.echo(f"LOG (lattice-to-post) Overall average log-like/frame is {tot / nf:.6g} over {n_frames} frames.  "
               f"Average acoustic like/frame is {tot_ac / nf:.6g}", err=True)
    click.echo(f"LOG (lattice-to-post) Done {len(out)} lattices, failed for {n_fail}", err=True)
    if not out:
        sys.exit(1)


@click.command("lattice-determinize-pruned")
@click.option("--acoustic-scale", type=float, default=1.0, show_default=True,
              help="Scaling factor for acoustic likelihoods (for the beam and the best paths)")
@click.option("--beam", type=float, default=10.0, show_default=True, help="Pruning beam (scaled costs)")
@click.argument("lats_rspecifier")
@click.argument("lats_wspecifier")
def lattice_determinize_pruned_cmd(acoustic_scale, beam, lats_rspecifier, lats_wspecifier):
    """Prune each lattice to --beam of its best path, then determinize it (Kaldi's
    lattice-determinize-pruned; a lattice too large to determinize is kept pruned, undeterminized).

    Usage: hybrid lattice-determinize-pruned --acoustic-scale=0.083333 --beam=4.0 lat.tmp.1.gz lat.pruned.1.gz
    """
    import numpy as np

    from hybrid.decode.lattice import LatticeWriter, determinize_lattice_pruned, iter_lattices, prune_lattice

    n_done = n_undet = 0
    arcs_in = arcs_out = 0
    with LatticeWriter(lats_wspecifier) as w:
        for utt, lat in iter_lattices(lats_rspecifier):
            pruned = prune_lattice(lat, acoustic_scale, beam)
            det, ok = determinize_lattice_pruned(pruned, acoustic_scale, beam)
            if det.num_states == 0 or not np.isfinite(det.final_graph).any():
                click.echo(f"WARNING (lattice-determinize-pruned) Lattice for {utt} is empty after pruning", err=True)
            if not ok:
                click.echo(f"WARNING (lattice-determinize-pruned) Lattice for {utt} too large to determinize; "
                           "written pruned, undeterminized", err=True)
                n_undet += 1
            arcs_in += lat.num_arcs
            arcs_out += det.num_arcs
            w.write(utt, det)
            n_done += 1
    click.echo(f"LOG (lattice-determinize-pruned) Done {n_done} lattices ({arcs_in} arcs in, {arcs_out} out), "
               f"{n_undet} not determinized", err=True)
    if n_done == 0:
        sys.exit(1)


@click.command("lattice-to-ctm")
@click.option("--lmwt", type=float, default=10.0, show_default=True, help="LM weight (acoustic scale 1/LMWT).")
@click.option("--word-ins-penalty", type=float, default=0.0, show_default=True)
@click.option("--frame-shift", type=float, default=0.01, show_default=True)
@click.option("--segments", default="", help="segments file: times relative to the recording.")
@click.option("--word-symbol-table", default="", help="words.txt (print words instead of ids).")
@click.argument("model")
@click.argument("word_boundary")
@click.argument("lats_rspecifier", nargs=-1, required=True)
@click.argument("ctm_out")
def lattice_to_ctm_cmd(lmwt, word_ins_penalty, frame_shift, segments, word_symbol_table, model, word_boundary,
                       lats_rspecifier, ctm_out):
    """Word CTM from lattices (lattice-1best | lattice-align-words | nbest-to-ctm).

    Usage: hybrid lattice-to-ctm --lmwt 10 final.mdl phones/word_boundary.int lat.1.gz [lat.2.gz ...] out.ctm
    """
    from hybrid.decode.lattice import iter_lattices
    from hybrid.io import atomic_write
    from hybrid.hmm import read_word_boundary
    from hybrid.score.ctm import lattices_to_ctm

    tm = _read_tm(model)
    segs = None
    if segments:
        segs = {}
        with open(segments, encoding="utf-8") as f:
            for line in f:
                p = line.split()
                if len(p) >= 4:
                    segs[p[0]] = (p[1], float(p[2]))

    def lats():
        for spec in lats_rspecifier:
            yield from iter_lattices(spec)
    lines = lattices_to_ctm(lats(), lmwt, tm, read_word_boundary(word_boundary),
                            _syms(word_symbol_table), frame_shift, word_ins_penalty, segs)
    lines.sort(key=lambda l: (l.split()[0], float(l.split()[2])))
    if ctm_out == "-":
        sys.stdout.write("".join(x + "\n" for x in lines))
    else:
        with atomic_write(ctm_out) as f:
            f.write("".join(x + "\n" for x in lines))


@click.command("lattice-copy")
@click.argument("lats_rspecifier")
def lattice_copy_cmd(lats_rspecifier):
    """Print lattices in Kaldi's text form (as lattice-copy ARK ark,t:-)."""
    from hybrid.decode.lattice import iter_lattices, lattice_to_text

    for utt, lat in iter_lattices(lats_rspecifier):
        sys.stdout.write(f"{utt}\n{lattice_to_text(lat)}\n")


COMMANDS = [compute_wer_cmd, score_lattices_cmd, lattice_best_path_cmd, lattice_to_post_cmd,
            lattice_determinize_pruned_cmd, lattice_to_ctm_cmd, lattice_copy_cmd]
