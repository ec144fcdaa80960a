"""Lexicon operations of Kaldi's prepare_lang.sh: word-position markers,
disambiguation symbols (``add_lex_disambig.pl``) and the lexicon FST
(``utils/lang/make_lexicon_fst.py`` + fstcompile + fstaddselfloops + fstarcsort).
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

from hybrid.io.symbols import SymbolTable
from hybrid.lang.dict_dir import LangError, LexiconEntry

POSITION_SUFFIXES = ("_B", "_E", "_I", "_S")


def add_word_position(phones: Sequence[str]) -> tuple[str, ...]:
    """Mark phones with their position in the word: ``_S`` alone, else ``_B`` ``_I``... ``_E``."""
    if len(phones) == 0:
        raise ValueError("empty pronunciation")
    if len(phones) == 1:
        return (phones[0] + "_S",)
    return (phones[0] + "_B",) + tuple(p + "_I" for p in phones[1:-1]) + (phones[-1] + "_E",)


def strip_word_position(phone: str) -> str:
    """``AH_B`` -> ``AH``; a phone without a position marker is returned unchanged."""
    return phone[:-2] if phone[-2:] in POSITION_SUFFIXES else phone


def add_lex_disambig(entries: Sequence[LexiconEntry], first_allowed_disambig: int = 1
                     ) -> tuple[list[LexiconEntry], int]:
    """Append ``#1``, ``#2``... to pronunciations that repeat or prefix another one.

    Returns the new entries and the largest disambiguation number used (0 if none), as
    Kaldi's ``utils/add_lex_disambig.pl``: a pronunciation that is unique and not a proper
    prefix of another gets nothing; the k-th word with a given (ambiguous) pronunciation
    gets ``#(first_allowed_disambig + k - 1)``.
    """
    if first_allowed_disambig < 1:
        raise ValueError(f"invalid first_allowed_disambig {first_allowed_disambig}")
    count: dict[tuple[str, ...], int] = {}
    prefixes: set[tuple[str, ...]] = set()
    for e in entries:
        if not e.phones:
            raise LangError(f"add_lex_disambig: word {e.word!r} has an empty pronunciation")
        count[e.phones] = count.get(e.phones, 0) + 1
        for n in range(len(e.phones)):
            prefixes.add(e.phones[:n])
    max_disambig = first_allowed_disambig - 1
    last_used: dict[tuple[str, ...], int] = {}
    out = []
    for e in entries:
        if e.phones not in prefixes and count[e.phones] == 1:
            out.append(e)
            continue
        cur = last_used.get(e.phones)
        cur = first_allowed_disambig if cur is None else cur + 1
        max_disambig = max(max_disambig, cur)
        last_used[e.phones] = cur
        out.append(LexiconEntry(e.word, e.prob, e.phones + (f"#{cur}",)))
    return out, max_disambig


def _lookup(table: SymbolTable, sym: str, what: str) -> int:
    try:
        return table.sym2id[sym]
    except KeyError:
        raise LangError(f"{what} {sym!r} is not in the symbol table") from None


def lexicon_fst_arcs(entries: Iterable[LexiconEntry], sil_prob: float, sil_phone: str | None,
                     sil_disambig: str | None = None
                     ) -> tuple[list[tuple[int, int, str, str, float]], list[tuple[int, float]]]:
    """The arcs ``(src, dst, phone, word, cost)`` and final states of L, as make_lexicon_fst.py.

    With ``sil_prob > 0``: state 0 is the start, 1 the loop state (words leave and enter
    there), 2 the silence state (words that are followed by silence end there; an arc with
    ``sil_phone`` [then ``sil_disambig``] leads back to 1). With ``sil_prob == 0`` the loop
    state 0 is both start and final and there is no optional silence. ``<eps>`` is epsilon.
    """
    arcs: list[tuple[int, int, str, str, float]] = []
    eps = "<eps>"
    if sil_prob == 0.0:
        loop = 0
        new_state = 1
        for e in entries:
            cost = -math.log(e.prob)
            cur = loop
            pron = e.phones
            for i in range(len(pron) - 1):
                arcs.append((cur, new_state, pron[i], e.word if i == 0 else eps, cost if i == 0 else 0.0))
                cur = new_state
                new_state += 1
            i = len(pron) - 1
            arcs.append((cur, loop, pron[i] if i >= 0 else eps, e.word if i <= 0 else eps,
                         cost if i <= 0 else 0.0))
        return arcs, [(loop, 0.0)]

    if not (0.0 < sil_prob < 1.0):
        raise LangError(f"invalid sil_prob {sil_prob} (must be 0 <= sil_prob < 1)")
    if not sil_phone:
        raise LangError("sil_prob > 0 needs an optional-silence phone")
    sil_cost = -math.log(sil_prob)
    no_sil_cost = -math.log(1.0 - sil_prob)
    start, loop, sil_state, new_state = 0, 1, 2, 3
    arcs.append((start, loop, eps, eps, no_sil_cost))
    arcs.append((start, sil_state, eps, eps, sil_cost))
    if sil_disambig is None:
        arcs.append((sil_state, loop, sil_phone, eps, 0.0))
    else:
        dis_state = new_state
        new_state += 1
        arcs.append((sil_state, dis_state, sil_phone, eps, 0.0))
        arcs.append((dis_state, loop, sil_disambig, eps, 0.0))
    for e in entries:
        pron_cost = -math.log(e.prob)
        cur = loop
        pron = e.phones
        for i in range(len(pron) - 1):
            arcs.append((cur, new_state, pron[i], e.word if i == 0 else eps, pron_cost if i == 0 else 0.0))
            cur = new_state
            new_state += 1
        i = len(pron) - 1
        phone = pron[i] if i >= 0 else eps
        word = e.word if i <= 0 else eps
        extra = pron_cost if i <= 0 else 0.0
        arcs.append((cur, loop, phone, word, no_sil_cost + extra))
        arcs.append((cur, sil_state, phone, word, sil_cost + extra))
    return arcs, [(loop, 0.0)]


def lexicon_fst_text(entries: Iterable[LexiconEntry], sil_prob: float, sil_phone: str | None,
                     sil_disambig: str | None = None) -> str:
    """The text form that Kaldi's make_lexicon_fst.py prints (for fstcompile)."""
    arcs, finals = lexicon_fst_arcs(entries, sil_prob, sil_phone, sil_disambig)
    lines = [f"{s}\t{d}\t{p}\t{w}\t{c}" for s, d, p, w, c in arcs]
    lines += [f"{s}\t{c}" for s, c in finals]
    return "\n".join(lines) + "\n"


def make_lexicon_fst(entries: Iterable[LexiconEntry], phones: SymbolTable, words: SymbolTable,
                     sil_prob: float = 0.5, sil_phone: str | None = "SIL",
                     sil_disambig: str | None = None,
                     self_loops: Sequence[tuple[str, str]] = ()):
    """Build L (or L_disambig) as a ``kaldifst.StdVectorFst``, olabel-sorted.

    ``self_loops`` are ``(phone_symbol, word_symbol)`` pairs (``[("#0", "#0")]`` for
    L_disambig) added as fstaddselfloops does: on every final state and every state with a
    non-epsilon output label on one of its arcs.
    """
    import kaldifst

    arcs, finals = lexicon_fst_arcs(entries, sil_prob, sil_phone, sil_disambig)
    fst = kaldifst.StdVectorFst()
    num_states = 1 + max([max(s, d) for s, d, *_ in arcs] + [s for s, _ in finals])
    for _ in range(num_states):
        fst.add_state()
    fst.start = 0
    pcache: dict[str, int] = {}
    wcache: dict[str, int] = {}
    for s, d, p, w, c in arcs:
        pi = pcache.get(p)
        if pi is None:
            pi = pcache[p] = _lookup(phones, p, "phone")
        wi = wcache.get(w)
        if wi is None:
            wi = wcache[w] = _lookup(words, w, "word")
        fst.add_arc(s, kaldifst.StdArc(pi, wi, c, d))
    for s, c in finals:
        fst.set_final(s, c)
    if self_loops:
        isyms = [_lookup(phones, p, "phone") for p, _ in self_loops]
        osyms = [_lookup(words, w, "word") for _, w in self_loops]
        kaldifst.add_self_loops(fst, isyms, osyms)
    kaldifst.arcsort(fst, sort_type="olabel")
    return fst
