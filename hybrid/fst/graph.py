"""HCLG construction in the order and with the semantics of Kaldi's ``utils/mkgraph.sh``.

    LG    = push_special(minimize_encoded(determinize_star_log(L_disambig ∘ G)))
    CLG   = compose_context(N, P, disambig phones, LG), ilabel-sorted   (+ ilabel info)
    Ha    = make_h_transducer(ilabel info, tree, model, transition_scale)
    HCLGa = minimize_encoded(rm_eps_local(rm_symbols(disambig tids,
                             determinize_star_log(Ha ∘ CLG))))
    HCLG  = add_self_loops(HCLGa, self_loop_scale, reorder=true), written as a const FST.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path
from typing import Sequence

import kaldifst

from hybrid.fst.hmm_fst import add_self_loops, make_h_transducer
from hybrid.fst.ops import (
    is_stochastic, push_special, read_fst, remove_eps_local, rm_symbols, table_compose, write_fst,
)
from hybrid.io.atomic import atomic_write
from hybrid.io.symbols import read_int_list_file

log = logging.getLogger(__name__)


def make_lg(L_disambig: kaldifst.StdFst, G: kaldifst.StdFst) -> kaldifst.StdVectorFst:
    """fsttablecompose L_disambig G | fstdeterminizestar --use-log=true | fstminimizeencoded | fstpushspecial."""
    lg = table_compose(L_disambig, G)
    if kaldifst.determinize_star(lg, use_log=True):
        raise RuntimeError("determinization of LG stopped early (max-states)")
    kaldifst.minimize_encoded(lg)
    return push_special(lg)


def make_clg(lg: kaldifst.StdVectorFst, context_width: int, central_position: int,
             disambig_phones: Sequence[int]) -> tuple[kaldifst.StdVectorFst, list[list[int]]]:
    """fstcomposecontext --context-size=N --central-position=P | fstarcsort --sort_type=ilabel."""
    clg, ilabels = kaldifst.compose_context(list(disambig_phones), context_width, central_position, lg)
    kaldifst.arcsort(clg, sort_type="ilabel")
    return clg, [list(x) for x in ilabels]


def make_hclga(Ha: kaldifst.StdFst, clg: kaldifst.StdFst, disambig_tids: Sequence[int]) -> kaldifst.StdVectorFst:
    """fsttablecompose Ha CLG | fstdeterminizestar --use-log=true | fstrmsymbols disambig_tid.int
    | fstrmepslocal | fstminimizeencoded."""
    hclg = table_compose(Ha, clg)
    if kaldifst.determinize_star(hclg, use_log=True):
        raise RuntimeError("determinization of HCLG stopped early (max-states)")
    hclg = rm_symbols(hclg, disambig_tids)
    hclg = remove_eps_local(hclg)
    kaldifst.minimize_encoded(hclg)
    return hclg


def build_hclg(L_disambig: kaldifst.StdFst, G: kaldifst.StdFst, disambig_phones: Sequence[int], ctx_dep,
               trans_model, transition_scale: float = 1.0, self_loop_scale: float = 0.1
               ) -> tuple[kaldifst.StdVectorFst, list[int]]:
    """The whole pipeline in memory; returns (HCLG with self-loops, disambig_tids)."""
    lg = make_lg(L_disambig, G)
    clg, ilabels = make_clg(lg, ctx_dep.context_width, ctx_dep.central_position, disambig_phones)
    ha, disambig_tids = make_h_transducer(ilabels, ctx_dep, trans_model, transition_scale)
    hclga = make_hclga(ha, clg, disambig_tids)
    return add_self_loops(hclga, trans_model, disambig_tids, self_loop_scale, reorder=True), disambig_tids


def write_ilabel_info(ilabels: Sequence[Sequence[int]], path: str | os.PathLike) -> None:
    """Kaldi's ilabel-info file (WriteILabelInfo, text mode): ``<n> [ a b c ] [ ] ...``."""
    with atomic_write(path) as f:
        f.write(f"{len(ilabels)} " + " ".join("[ " + "".join(f"{x} " for x in v) + "]" for v in ilabels) + "\n")


def read_ilabel_info(path: str | os.PathLike) -> list[list[int]]:
    """Read an ilabel-info file written by :func:`write_ilabel_info` (Kaldi text form)."""
    toks = Path(path).read_text().split()
    if not toks or not toks[0].isdigit():
        raise ValueError(f"{path}: expected the number of entries first")
    n = int(toks[0])
    out: list[list[int]] = []
    i = 1
    while i < len(toks):
        if toks[i] != "[":
            raise ValueError(f"{path}: expected '[' at token {i}, got {toks[i]!r}")
        j = toks.index("]", i)
        out.append([int(x) for x in toks[i + 1:j]])
        i = j + 1
    if len(out) != n:
        raise ValueError(f"{path}: header says {n} entries, found {len(out)}")
    return out


def read_model(model_path: str | os.PathLike):
    """The TransitionModel of a ``final.mdl`` (through hybrid.gmm when available)."""
    try:
        from hybrid.gmm import read_model as gmm_read_model  # type: ignore
    except ImportError:
        gmm_read_model = None
    if gmm_read_model is not None:
        return gmm_read_model(model_path)[0]
    from hybrid.hmm import TransitionModel
    from hybrid.io.kaldi_text import KaldiTextReader
    return TransitionModel.parse_reader(KaldiTextReader.from_file(model_path))  # type: ignore[attr-defined]


def _older(target: Path, *sources: Path) -> bool:
    return not target.exists() or target.stat().st_size == 0 or any(
        s.stat().st_mtime > target.stat().st_mtime for s in sources)


def mkgraph(lang_dir: str | os.PathLike, model_dir: str | os.PathLike, graph_dir: str | os.PathLike,
            transition_scale: float = 1.0, self_loop_scale: float = 0.1, remove_oov: bool = False,
            trans_model=None, ctx_dep=None) -> Path:
    """utils/mkgraph.sh: build ``graph_dir/HCLG.fst`` from ``lang_dir`` (L_disambig.fst, G.fst)
    and ``model_dir`` (final.mdl, tree). LG, CLG and the ilabel info are cached in
    ``lang_dir/tmp`` as Kaldi does. Returns the path of HCLG.fst."""
    lang, mdir, gdir = Path(lang_dir), Path(model_dir), Path(graph_dir)
    model, tree = mdir / "final.mdl", mdir / "tree"
    required = [lang / "L_disambig.fst", lang / "G.fst", lang / "phones.txt", lang / "words.txt",
                lang / "phones" / "silence.csl", lang / "phones" / "disambig.int"]
    if trans_model is None:
        required.append(model)
    if ctx_dep is None:
        required.append(tree)
    for f in required:
        if not f.is_file():
            raise FileNotFoundError(f"mkgraph: expected {f} to exist")
    gdir.mkdir(parents=True, exist_ok=True)
    hclg_path = gdir / "HCLG.fst"
    if hclg_path.exists() and not _older(hclg_path, *required):
        log.info("mkgraph: %s is up to date.", hclg_path)
        return hclg_path
    if ctx_dep is None:
        from hybrid.tree import read_tree
        ctx_dep = read_tree(tree)
    if trans_model is None:
        trans_model = read_model(model)
    N, P = ctx_dep.context_width, ctx_dep.central_position
    t0 = time.time()
    tmp = lang / "tmp"
    tmp.mkdir(exist_ok=True)
    lg_path = tmp / "LG.fst"
    if _older(lg_path, lang / "G.fst", lang / "L_disambig.fst"):
        lg = make_lg(read_fst(lang / "L_disambig.fst"), read_fst(lang / "G.fst"))
        write_fst(lg, lg_path)
        ok, lo, hi = is_stochastic(lg)
        if not ok:
            log.info("[info]: LG not stochastic (%.4g %.4g).", lo, hi)
    else:
        lg = read_fst(lg_path)
    clg_path, ilabels_path = tmp / f"CLG_{N}_{P}.fst", tmp / f"ilabels_{N}_{P}"
    if _older(clg_path, lg_path) or _older(ilabels_path, lg_path):
        disambig_phones = read_int_list_file(lang / "phones" / "disambig.int")
        clg, ilabels = make_clg(lg, N, P, disambig_phones)
        write_fst(clg, clg_path)
        write_ilabel_info(ilabels, ilabels_path)
        with atomic_write(tmp / f"disambig_ilabels_{N}_{P}.int") as f:
            f.write("".join(f"{i}\n" for i, v in enumerate(ilabels) if len(v) == 1 and v[0] <= 0 and i > 0))
    else:
        clg, ilabels = read_fst(clg_path), read_ilabel_info(ilabels_path)
    t1 = time.time()
    ha, disambig_tids = make_h_transducer(ilabels, ctx_dep, trans_model, transition_scale)
    with atomic_write(gdir / "disambig_tid.int") as f:
        f.write("".join(f"{t}\n" for t in disambig_tids))
    if remove_oov:
        oov = lang / "oov.int"
        if not oov.is_file():
            raise FileNotFoundError(f"mkgraph: --remove-oov: no file {oov}")
        clg = rm_symbols(clg, read_int_list_file(oov), apply_to_output=True, remove_arcs=True)
        kaldifst.arcsort(clg, sort_type="ilabel")
    hclga = make_hclga(ha, clg, disambig_tids)
    hclg = add_self_loops(hclga, trans_model, disambig_tids, self_loop_scale, reorder=True)
    if hclg.num_states == 0:
        raise RuntimeError(f"mkgraph: the result in {hclg_path} is empty")
    write_fst(hclg, hclg_path, const=True)
    if transition_scale == 1.0 and self_loop_scale == 1.0:
        ok, lo, hi = is_stochastic(hclg)
        if not ok:
            log.info("[info]: final HCLG is not stochastic (%.4g %.4g).", lo, hi)
    # keep a copy of the symbol tables and phone lists with HCLG (decode without the lang dir)
    shutil.copy(lang / "words.txt", gdir / "words.txt")
    (gdir / "phones").mkdir(exist_ok=True)
    for name in ("word_boundary.int", "word_boundary.txt", "align_lexicon.int", "align_lexicon.txt",
                 "optional_silence.int", "optional_silence.txt", "optional_silence.csl",
                 "disambig.int", "disambig.txt", "silence.csl"):
        if (lang / "phones" / name).is_file():
            shutil.copy(lang / "phones" / name, gdir / "phones" / name)
    shutil.copy(lang / "phones.txt", gdir / "phones.txt")
    with atomic_write(gdir / "num_pdfs") as f:  # am-info's number of pdfs
        f.write(f"{trans_model.num_pdfs}\n")
    log.info("mkgraph: HCLG has %d states, %d arcs (LG/CLG %.2fs, H+HCLG %.2fs)", hclg.num_states,
             sum(hclg.num_arcs(s) for s in range(hclg.num_states)), t1 - t0, time.time() - t1)
    return hclg_path
