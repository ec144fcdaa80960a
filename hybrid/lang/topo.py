"""HMM topology files as Kaldi's ``utils/gen_topo.pl`` writes them."""

from __future__ import annotations

import re
from typing import Sequence

from hybrid.lang.dict_dir import LangError


def _num(x: float) -> str:
    """Format a probability as Perl prints a number (``%.15g``)."""
    return "%.15g" % x


def gen_topo(num_nonsil_states: int, num_sil_states: int, nonsil_phones: Sequence[int],
             sil_phones: Sequence[int]) -> str:
    """Text of the ``topo`` file: left-to-right non-silence HMMs (0.75 self-loop, 0.25
    forward) and the silence HMM (first and last emitting states special, the middle ones
    fully connected; 1 / (num_sil_states - 1) per transition), byte-identical to gen_topo.pl.
    """
    if not 1 <= num_nonsil_states <= 100:
        raise LangError(f"unexpected number of nonsilence-model states {num_nonsil_states}")
    if not ((num_sil_states == 1 or num_sil_states >= 3) and num_sil_states <= 100):
        raise LangError(f"unexpected number of silence-model states {num_sil_states}")
    nonsil = " ".join(str(p) for p in nonsil_phones)
    sil = " ".join(str(p) for p in sil_phones)
    out = ["<Topology>", "<TopologyEntry>", "<ForPhones>", nonsil, "</ForPhones>"]
    for s in range(num_nonsil_states):
        out.append(f"<State> {s} <PdfClass> {s} <Transition> {s} 0.75 <Transition> {s + 1} 0.25 </State>")
    out += [f"<State> {num_nonsil_states} </State>", "</TopologyEntry>"]
    out += ["<TopologyEntry>", "<ForPhones>", sil, "</ForPhones>"]
    if num_sil_states > 1:
        tp = _num(1.0 / (num_sil_states - 1))
        line = "<State> 0 <PdfClass> 0 "
        line += "".join(f"<Transition> {n} {tp} " for n in range(num_sil_states - 1))
        out.append(line + "</State>")
        for s in range(1, num_sil_states - 1):
            line = f"<State> {s} <PdfClass> {s} "
            line += "".join(f"<Transition> {n} {tp} " for n in range(1, num_sil_states))
            out.append(line + "</State>")
        s = num_sil_states - 1
        out.append(f"<State> {s} <PdfClass> {s} <Transition> {s} 0.75 <Transition> {num_sil_states} 0.25 </State>")
    else:
        out.append("<State> 0 <PdfClass> 0 <Transition> 0 0.75 <Transition> 1 0.25 </State>")
    out += [f"<State> {num_sil_states} </State>", "</TopologyEntry>", "</Topology>"]
    return "\n".join(out) + "\n"


def topo_phones(text: str) -> list[list[int]]:
    """The ``<ForPhones>`` lists of a text topology, one list per ``<TopologyEntry>``."""
    return [[int(x) for x in m.split()] for m in re.findall(r"<ForPhones>(.*?)</ForPhones>", text, re.S)]
