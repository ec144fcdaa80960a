"""Whole-job drivers behind the CLI (one per Kaldi binary): compile-train-graphs,
align-equal-compiled, gmm-align-compiled, gmm-acc-stats-ali. Each reads tables, logs Kaldi's lines,
reports and skips bad utterances, and writes its output atomically.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Iterable, Iterator, Mapping

import numpy as np

from hybrid.utils.progress import progress

from hybrid.align.graph import TrainingGraphCompiler, equal_align, read_graphs, transition_costs, write_graphs

log = logging.getLogger("hybrid.align")


def feature_reader(spec: str | os.PathLike, *, cmvn: bool = True, norm_vars: bool = False, delta_order: int = 0,
                   splice: int | None = None, transform: str | None = None) -> Iterator[tuple[str, np.ndarray]]:
    """Features from a data dir (through :func:`hybrid.features.iter_features`) or a Kaldi rspecifier."""
    spec = str(spec)
    if os.path.isdir(spec):
        from hybrid.features import iter_features

        yield from iter_features(spec, cmvn=cmvn, norm_vars=norm_vars, delta_order=delta_order, splice=splice,
                                 transform=transform)
        return
    from hybrid.io import iter_table

    for utt, x in iter_table(spec):
        yield utt, np.asarray(x, dtype=np.float32)


def read_transcripts(path: str | os.PathLike, words: str | os.PathLike | None = None,
                     oov: int | None = None) -> Iterator[tuple[str, list[int]]]:
    """``<utt> w1 w2 ...`` lines: integers, or symbols mapped through ``words`` (OOV → ``oov``)."""
    table = None
    if words is not None:
        from hybrid.io import read_symbols

        table = read_symbols(words)
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            fields = line.split()
            if not fields:
                continue
            utt, toks = fields[0], fields[1:]
            try:
                if table is None:
                    ids = [int(t) for t in toks]
                else:
                    ids = []
                    for t in toks:
                        i = _lookup(table, t)
                        if i is None:
                            if oov is None:
                                raise ValueError(f"word {t!r} is not in {words} and no --map-oov was given")
                            i = oov
                        ids.append(i)
            except ValueError as e:
                log.warning("%s:%d: %s; skipping utterance %s", path, lineno, e, utt)
                continue
            yield utt, ids


def _lookup(table, sym: str) -> int | None:
    for name in ("get", "find"):
        fn = getattr(table, name, None)
        if fn is not None:
            try:
                v = fn(sym)
            except KeyError:
                return None
            return None if v is None or (isinstance(v, int) and v < 0) else int(v)
    try:
        return int(table[sym])
    except KeyError:
        return None


def compile_train_graphs(tm, ctx, lex_fst, transcripts: Iterable[tuple[str, list[int]]], out: str | os.PathLike,
                         disambig: Iterable[int] = ()) -> tuple[int, int]:
    """Kaldi's compile-train-graphs (transition/self-loop scale 0). Returns (done, errors)."""
    comp = TrainingGraphCompiler(tm, ctx, lex_fst, ())
    done = err = 0

    def gen():
        nonlocal done, err
        for utt, words in transcripts:
            try:
                g = comp.compile(words)
            except (ValueError, KeyError) as e:
                log.warning("Empty decoding graph for utterance %s (%s)", utt, e)
                err += 1
                continue
            done += 1
            yield utt, g

    write_graphs(gen(), out)
    log.info("compile-train-graphs: succeeded for %d graphs, failed for %d", done, err)
    return done, err


def align_equal_compiled(graphs: str | os.PathLike, feats: Iterable[tuple[str, np.ndarray]],
                         out: str | os.PathLike) -> tuple[int, int]:
    """Kaldi's align-equal-compiled. Returns (done, errors)."""
    from hybrid.io import write_ali_ark

    feats_d = dict(feats)
    done = err = 0

    def gen():
        nonlocal done, err
        for utt, g in read_graphs(graphs):
            x = feats_d.get(utt)
            if x is None:
                log.warning("No features for utterance %s", utt)
                err += 1
                continue
            ali = equal_align(g, len(x), utt)
            if ali is None:
                log.warning("AlignEqual: did not align utterance %s (%d frames, needs at least %d)", utt, len(x),
                            g.min_length())
                err += 1
                continue
            done += 1
            yield utt, ali

    write_ali_ark(gen(), out)
    log.info("Success: done %d utterances.", done)
    log.info("Done %d, errors on %d", done, err)
    return done, err


@dataclass
class AlignOptions:
    beam: float = 10.0
    retry_beam: float = 40.0
    careful: bool = False
    transition_scale: float = 1.0
    acoustic_scale: float = 0.1
    self_loop_scale: float = 0.1


def _align_stream(tm, am, graphs: str | os.PathLike | Iterable, feats: Iterable[tuple[str, np.ndarray]],
                  opts: AlignOptions, st: dict) -> Iterator[tuple[str, np.ndarray, np.ndarray | None]]:
    """Align each utterance of ``feats``; yields ``(utt, feats, alignment or None)`` and counts in ``st``.

    Failures (no graph, too short, search failed) are reported and yielded with alignment None;
    graphs without features are reported at the end (as gmm-align-compiled does).
    """
    from hybrid.align.kernels import min_length
    from hybrid.align.viterbi import viterbi_align_gmm

    tcost = transition_costs(tm, opts.transition_scale, opts.self_loop_scale)
    tid2pdf = tm.tid2pdf.astype(np.int32)
    graphs_d = dict(read_graphs(graphs)) if isinstance(graphs, (str, os.PathLike)) else dict(graphs)
    seen = set()
    for utt, x in progress(feats, "aligning", total=len(graphs_d)):
        g = graphs_d.get(utt)
        if g is None:
            log.warning("No graph for utterance %s", utt)
            st["errors"] += 1
            yield utt, x, None
            continue
        seen.add(utt)
        need = int(min_length(g.final, g.arc_start, g.arc_dst))
        if len(x) < need:
            log.warning("Utterance %s has %d frames, too short for its transcript (needs %d); "
                        "No alignment for utterance %s", utt, len(x), need, utt)
            st["errors"] += 1
            yield utt, x, None
            continue
        r = viterbi_align_gmm(g, am, x, tid2pdf, tcost, acoustic_scale=opts.acoustic_scale, beam=opts.beam,
                              retry_beam=opts.retry_beam, careful=opts.careful)
        if r.retried:
            st["retried"] += 1
            log.warning("Retrying utterance %s with beam %g", utt, opts.retry_beam)
        if r.alignment is None:
            log.warning("Did not successfully decode file %s, len = %d", utt, len(x))
            log.warning("No alignment for utterance %s", utt)
            st["errors"] += 1
            yield utt, x, None
            continue
        st["done"] += 1
        st["tot_like"] += r.log_like
        st["frames"] += len(x)
        yield utt, x, r.alignment
    for utt in graphs_d:
        if utt not in seen:
            log.warning("No features for utterance %s", utt)


def _log_align_summary(st: dict) -> None:
    f = st["frames"]
    log.info("Overall log-likelihood per frame is %g over %d frames.", st["tot_like"] / f if f else 0.0, f)
    log.info("Retried %d out of %d utterances.", st["retried"], st["done"] + st["errors"])
    log.info("Done %d, errors on %d", st["done"], st["errors"])


def gmm_align_compiled(tm, am, graphs: str | os.PathLike | Iterable, feats: Iterable[tuple[str, np.ndarray]],
                       out: str | os.PathLike | None, opts: AlignOptions) -> dict:
    """Kaldi's gmm-align-compiled; returns counts and the alignments when ``out`` is None."""
    from hybrid.io import write_ali_ark

    st = dict(done=0, errors=0, retried=0, tot_like=0.0, frames=0, alignments={})
    alis = ((utt, ali) for utt, _, ali in _align_stream(tm, am, graphs, feats, opts, st) if ali is not None)
    if out is None:
        st["alignments"] = dict(alis)
    else:
        write_ali_ark(alis, out)
    _log_align_summary(st)
    return st


def gmm_align_acc(tm, am, graphs: str | os.PathLike | Iterable, feats: Iterable[tuple[str, np.ndarray]],
                  out: str | os.PathLike | None, opts: AlignOptions, acc_am=None):
    """gmm-align-compiled followed by gmm-acc-stats-ali on its alignments, in one pass over the features.

    ``am`` aligns (e.g. silence-boosted); ``acc_am`` (default ``am``) is the model whose statistics
    are accumulated. The alignments (written to ``out`` unless None), statistics and log lines are
    those of the two separate commands. Returns ``(align counts dict, GmmAccs)``.
    """
    from hybrid.gmm import GmmAccs
    from hybrid.io import write_ali_ark

    acc_am = am if acc_am is None else acc_am
    accs = GmmAccs.zeros(tm, acc_am)
    st = dict(done=0, errors=0, retried=0, tot_like=0.0, frames=0, alignments={})
    ast = dict(done=0, errors=0)

    def alis():
        for utt, x, ali in _align_stream(tm, am, graphs, feats, opts, st):
            if ali is None:  # already reported by the alignment ("No alignment for utterance ...")
                ast["errors"] += 1
                continue
            yield utt, ali
            try:
                accs.accumulate_ali(tm, acc_am, x, ali)
            except ValueError as e:
                log.warning("utterance %s: %s", utt, e)
                ast["errors"] += 1
                continue
            ast["done"] += 1

    if out is None:
        st["alignments"] = dict(alis())
    else:
        write_ali_ark(alis(), out)
    _log_align_summary(st)
    _log_acc_summary(accs, ast["done"], ast["errors"])
    return st, accs


def _log_acc_summary(accs, done: int, err: int) -> None:
    log.info("Done %d files, %d with errors.", done, err)
    t = accs.tot_t
    log.info("Overall avg like per frame (Gaussian only) = %g over %g frames.", accs.tot_like / t if t else 0.0, t)


def gmm_acc_stats_ali(tm, am, feats: Iterable[tuple[str, np.ndarray]], alis: Mapping[str, np.ndarray]):
    """Kaldi's gmm-acc-stats-ali: Viterbi statistics for GMMs and transitions. Returns GmmAccs."""
    from hybrid.gmm import GmmAccs

    accs = GmmAccs.zeros(tm, am)
    done = err = 0
    for utt, x in feats:
        ali = alis.get(utt)
        if ali is None:
            log.warning("No alignment for utterance %s", utt)
            err += 1
            continue
        if len(ali) != len(x):
            log.warning("Alignments has wrong size %d vs. %d for utterance %s", len(ali), len(x), utt)
            err += 1
            continue
        try:
            accs.accumulate_ali(tm, am, x, ali)
        except ValueError as e:
            log.warning("utterance %s: %s", utt, e)
            err += 1
            continue
        done += 1
    _log_acc_summary(accs, done, err)
    return accs
