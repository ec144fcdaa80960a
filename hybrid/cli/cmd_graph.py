"""Decoding-graph commands: mkgraph, make-h-transducer, add-self-loops."""

from __future__ import annotations

import logging
import sys

import click


def _setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s (%(name)s) %(message)s", stream=sys.stderr)


@click.command("mkgraph")
@click.option("--transition-scale", default=1.0, show_default=True, help="scale on transition log-probs")
@click.option("--self-loop-scale", default=0.1, show_default=True, help="scale on self-loop log-probs")
@click.option("--remove-oov", is_flag=True, help="remove paths with the OOV word (lang/oov.int)")
@click.argument("lang_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("model_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("graph_dir", type=click.Path(file_okay=False))
def mkgraph_cmd(transition_scale, self_loop_scale, remove_oov, lang_dir, model_dir, graph_dir):
    """utils/mkgraph.sh: HCLG.fst from LANG_DIR (L_disambig.fst, G.fst) and MODEL_DIR (final.mdl, tree)."""
    _setup_logging()
    from hybrid.fst.graph import mkgraph
    mkgraph(lang_dir, model_dir, graph_dir, transition_scale=transition_scale,
            self_loop_scale=self_loop_scale, remove_oov=remove_oov)


@click.command("make-h-transducer")
@click.option("--disambig-syms-out", default="", help="write the disambiguation tids here")
@click.option("--transition-scale", default=1.0, show_default=True)
@click.argument("ilabel_info")
@click.argument("tree")
@click.argument("model")
@click.argument("h_out", required=False, default="-")
def make_h_transducer_cmd(disambig_syms_out, transition_scale, ilabel_info, tree, model, h_out):
    """Kaldi's make-h-transducer: H (transition-ids → context-dependent phones), no self-loops."""
    _setup_logging()
    from hybrid.fst.graph import read_ilabel_info, read_model
    from hybrid.fst.hmm_fst import make_h_transducer
    from hybrid.tree import read_tree
    from hybrid.io.atomic import atomic_write
    h, dis = make_h_transducer(read_ilabel_info(ilabel_info), read_tree(tree), read_model(model), transition_scale)
    if disambig_syms_out:
        with atomic_write(disambig_syms_out) as f:
            f.write("".join(f"{t}\n" for t in dis))
    _write_out(h, h_out)


def _write_out(fst, path: str) -> None:
    from hybrid.fst.ops import write_fst
    if path == "-":
        import os
        import tempfile
        fd, tmp = tempfile.mkstemp(suffix=".fst")
        os.close(fd)
        try:
            fst.write(tmp)
            sys.stdout.buffer.write(open(tmp, "rb").read())
        finally:
            os.unlink(tmp)
    else:
        write_fst(fst, path)


def _read_in(path: str):
    from hybrid.fst.ops import read_fst
    if path == "-":
        import os
        import tempfile
        fd, tmp = tempfile.mkstemp(suffix=".fst")
        os.close(fd)
        try:
            with open(tmp, "wb") as f:
                f.write(sys.stdin.buffer.read())
            return read_fst(tmp)
        finally:
            os.unlink(tmp)
    return read_fst(path)


@click.command("add-self-loops")
@click.option("--self-loop-scale", default=1.0, show_default=True)
@click.option("--reorder", type=bool, default=True, show_default=True)
@click.option("--disambig-syms", default="", help="file of disambiguation symbols (tids) in the input")
@click.argument("model")
@click.argument("fst_in", required=False, default="-")
@click.argument("fst_out", required=False, default="-")
def add_self_loops_cmd(self_loop_scale, reorder, disambig_syms, model, fst_in, fst_out):
    """Kaldi's add-self-loops: add HMM self-loops to a graph without them (e.g. HCLGa)."""
    _setup_logging()
    from hybrid.fst.graph import read_model
    from hybrid.fst.hmm_fst import add_self_loops
    from hybrid.io.symbols import read_int_list_file
    dis = read_int_list_file(disambig_syms) if disambig_syms else []
    out = add_self_loops(_read_in(fst_in), read_model(model), dis, self_loop_scale, reorder=reorder)
    _write_out(out, fst_out)


COMMANDS = [mkgraph_cmd, make_h_transducer_cmd, add_self_loops_cmd]
