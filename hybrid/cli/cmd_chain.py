"""Chain (LF-MMI) commands: ``chain-est-phone-lm`` and ``chain-make-den-fst``."""

from __future__ import annotations

import click


def _read_phone_seqs(path: str) -> list[list[int]]:
    """``<utt> <phone-id> ...`` lines (ali-to-phones text output); bad lines are reported and skipped."""
    seqs = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            parts = line.split()
            if len(parts) < 2:
                click.echo(f"WARNING: {path}:{lineno}: no phones, skipped", err=True)
                continue
            try:
                seqs.append([int(p) for p in parts[1:]])
            except ValueError:
                click.echo(f"WARNING: {path}:{lineno}: non-integer phone, skipped", err=True)
    return seqs


def _lm_opts(f):
    f = click.option("--num-extra-lm-states", type=int, default=2000, show_default=True)(f)
    f = click.option("--no-prune-ngram-order", type=int, default=3, show_default=True)(f)
    f = click.option("--ngram-order", type=int, default=4, show_default=True)(f)
    return f


@click.command("chain-est-phone-lm")
@_lm_opts
@click.argument("phones_txt")
@click.argument("lm_out")
def est_phone_lm_cmd(ngram_order, no_prune_ngram_order, num_extra_lm_states, phones_txt, lm_out):
    """Estimate the phone LM for the chain denominator (text: <history> TAB <phone|</s>> TAB <prob>).

    Usage: hybrid chain-est-phone-lm --num-extra-lm-states=2000 phones.txt exp/chain/phone_lm.txt
    """
    from hybrid.chain.phone_lm import estimate_phone_lm
    from hybrid.io import atomic_write

    seqs = _read_phone_seqs(phones_txt)
    lm = estimate_phone_lm(seqs, ngram_order, no_prune_ngram_order, num_extra_lm_states)
    with atomic_write(lm_out) as f:
        f.write(lm.to_text())
    click.echo(f"LOG (chain-est-phone-lm) estimated LM with {len(lm.probs)} states from {len(seqs)} sequences",
               err=True)


@click.command("chain-make-den-fst")
@_lm_opts
@click.argument("tree")
@click.argument("topo")
@click.argument("phones_txt")
@click.argument("den_fst")
def make_den_fst_cmd(ngram_order, no_prune_ngram_order, num_extra_lm_states, tree, topo, phones_txt, den_fst):
    """Phone LM from phone sequences, composed with the tree and chain topology: den.fst
    (OpenFst acceptor over pdf-id + 1, costs; Kaldi's chain-make-den-fst).

    Usage: hybrid chain-make-den-fst exp/chain/tree exp/chain/topo phones.txt exp/chain/den.fst
    """
    from hybrid.chain.hmm import PhoneHmms
    from hybrid.chain.kaldifst_io import write_den_fst
    from hybrid.chain.phone_lm import denominator_fsa, estimate_phone_lm
    from hybrid.hmm import Topology
    from hybrid.tree import read_tree

    ctx = read_tree(tree)
    hmms = PhoneHmms.from_tree(Topology.read(topo), ctx)
    lm = estimate_phone_lm(_read_phone_seqs(phones_txt), ngram_order, no_prune_ngram_order, num_extra_lm_states)
    fsa = denominator_fsa(lm, hmms)
    write_den_fst(fsa, den_fst)
    click.echo(f"LOG (chain-make-den-fst) den graph: {fsa.num_states} states, {fsa.num_arcs} arcs, "
               f"{len(lm.probs)} LM states", err=True)


COMMANDS = [est_phone_lm_cmd, make_den_fst_cmd]
