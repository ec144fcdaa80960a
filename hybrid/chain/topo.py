"""Chain topologies and alignment conversion to them (Kaldi's steps/nnet3/chain/gen_topo.py and
convert-ali --frame-subsampling-factor).

- :func:`chain_topo_text`: the ``topo`` of a ``lang_chain`` dir. ``num_states=1`` is Kaldi's
  chain topology (one emitting state with forward pdf-class 0 and self-loop pdf-class 1);
  ``num_states=2`` is the older 2-state form (state 0, pdf-class 0, no self-loop, then state
  1, pdf-class 1, with a self-loop, or straight out). Both emit ``[0, 1, 1, ...]`` per phone and
  allow 1-frame phones.
- :func:`new_phone_lengths`: Kaldi's ComputeNewPhoneLengths: phone boundaries mapped to the
  subsampled frame rate (``(t + f - 1) // f``), then phones shorter than their topology's minimum
  borrow frames from the nearest phone that can spare one.
- :func:`convert_alignment_chain`: Kaldi's ConvertAlignment for a changed topology and/or
  frame subsampling: the phone sequence is kept, each phone gets a path of its new length
  through the new topology (deterministic: the first self-loop state takes the extra frames;
  Kaldi takes a random path) and the new tree's pdfs, self-loops reordered after the forward
  transition (convert-ali --reorder=true, the default).

Only numpy and the standard library are imported here (the models are duck-typed
``hybrid.hmm.TransitionModel`` / ``hybrid.tree.ContextDependency`` objects).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["chain_topo_text", "new_phone_lengths", "phone_path", "convert_alignment_chain", "subsample_feats"]


def chain_topo_text(nonsilence_phones: Sequence[int], silence_phones: Sequence[int], num_states: int = 1) -> str:
    """Text of a chain ``topo`` for all phones (silence first, as Kaldi's gen_topo.py)."""
    phones = [int(p) for p in silence_phones] + [int(p) for p in nonsilence_phones]
    if not phones:
        raise ValueError("no phones")
    head = "<Topology>\n<TopologyEntry>\n<ForPhones>\n" + " ".join(map(str, phones)) + "\n</ForPhones>\n"
    if num_states == 1:
        body = ("<State> 0 <ForwardPdfClass> 0 <SelfLoopPdfClass> 1 <Transition> 0 0.5 <Transition> 1 0.5 </State>\n"
                "<State> 1 </State>\n")
    elif num_states == 2:
        body = ("<State> 0 <PdfClass> 0 <Transition> 1 0.5 <Transition> 2 0.5 </State>\n"
                "<State> 1 <PdfClass> 1 <Transition> 1 0.5 <Transition> 2 0.5 </State>\n"
                "<State> 2 </State>\n")
    else:
        raise ValueError(f"chain topology with {num_states} states: only 1 or 2")
    return head + body + "</TopologyEntry>\n</Topology>\n"


def new_phone_lengths(min_lengths: Sequence[int], old_lengths: Sequence[int], subsampling: int = 1
                      ) -> list[int] | None:
    """Kaldi's ComputeNewPhoneLengths (conversion shift ``subsampling - 1``); None when the
    phones cannot all get their minimum length."""
    f = int(subsampling)
    shift = f - 1
    n = len(old_lengths)
    new, t = [], 0
    for L in old_lengths:
        a = (t + shift) // f
        t += int(L)
        new.append((t + shift) // f - a)
    changed = True
    while changed:
        changed = False
        for i in range(n):
            if new[i] < min_lengths[i]:
                changed = True
                best, best_d = -1, None
                d = 0
                for j in range(i - 1, -1, -1):
                    if new[j] > min_lengths[j]:
                        best, best_d = j, d
                        break
                    d += new[j]
                d = 0
                for j in range(i + 1, n):
                    if new[j] > min_lengths[j]:
                        if best_d is None or d < best_d:
                            best = j
                        break
                    d += new[j]
                if best < 0:
                    return None
                new[i] += 1
                new[best] -= 1
    return new


def _can_absorb(entry, s: int, r: int) -> bool:
    """Whether some path from state ``s`` to the final state emits exactly ``r`` frames."""
    F = len(entry) - 1
    reach = {s}
    for _ in range(r):
        reach = {d for q in reach if q != F for d, _p in entry[q].transitions}
        if not reach:
            return False
    return F in reach


def phone_path(entry, length: int) -> list[tuple[int, int]] | None:
    """(hmm-state, transition index) per frame of a path of exactly ``length`` frames through a
    topology entry (non-reordered order: each frame is the transition out of the state that
    emits it). Extra frames go to the first state with a self-loop. None if impossible."""
    F = len(entry) - 1
    if not _can_absorb(entry, 0, int(length)):
        return None
    out: list[tuple[int, int]] = []
    s, r = 0, int(length)
    while s != F:
        trans = entry[s].transitions
        loop = next((k for k, (d, _p) in enumerate(trans) if d == s), None)
        if loop is not None and _can_absorb(entry, s, r - 1):
            out.append((s, loop))
        else:
            k, d = next((k, d) for k, (d, _p) in enumerate(trans) if d != s and _can_absorb(entry, d, r - 1))
            out.append((s, k))
            s = d
        r -= 1
    return out


def convert_alignment_chain(old_tm, new_tm, new_ctx, ali: Sequence[int], subsampling: int = 1,
                            reorder: bool = True) -> np.ndarray | None:
    """Kaldi's ConvertAlignment with a new topology/tree and frame subsampling (see the module
    doc). None when the old alignment does not split into phones, the phones cannot get
    their minimum lengths, or the new model lacks a needed transition-state."""
    from hybrid.hmm.alignment import split_to_phones

    ali = np.asarray(ali, dtype=np.int64)
    if len(ali) == 0 or ali.min() < 1 or ali.max() > old_tm.num_transition_ids:
        return None
    pieces, ok = split_to_phones(old_tm, ali)
    if not ok:
        return None
    phones = [int(old_tm.tid2phone[p[0]]) for p in pieces]
    topo = new_tm.topo
    mins = [topo.min_length(p) for p in phones]
    lengths = new_phone_lengths(mins, [len(p) for p in pieces], subsampling)
    if lengths is None:
        return None
    N, P = new_ctx.context_width, new_ctx.central_position
    out: list[int] = []
    for i, (ph, L) in enumerate(zip(phones, lengths)):
        window = tuple(phones[i - P + m] if 0 <= i - P + m < len(phones) else 0 for m in range(N))
        entry = topo.entry(ph)
        path = phone_path(entry, L)
        if path is None:
            return None
        tids = []
        for s, k in path:
            st = entry[s]
            fwd = new_ctx.compute(window, st.forward_pdf_class)
            slf = new_ctx.compute(window, st.self_loop_pdf_class)
            if fwd is None or slf is None or fwd < 0 or slf < 0:
                return None
            try:
                ts = new_tm.tstate_of(ph, s, fwd, slf)
            except KeyError:
                return None
            tids.append(new_tm.pair_to_tid(ts, k))
        if reorder:  # per state: [self-loops..., forward] -> [forward, self-loops...]
            re: list[int] = []
            j = 0
            while j < len(tids):
                k = j
                while k < len(tids) and path[k][0] == path[j][0]:
                    k += 1
                group = tids[j:k]
                if len(group) > 1 and new_tm.tid_is_self_loop[group[0]]:
                    group = group[-1:] + group[:-1]
                re.extend(group)
                j = k
            tids = re
        out.extend(tids)
    return np.asarray(out, dtype=np.int32)


def subsample_feats(feats: np.ndarray, n: int, offset: int = 0) -> np.ndarray:
    """Kaldi's subsample-feats --n=n --offset=offset: frames offset, offset+n, ..."""
    return np.ascontiguousarray(np.asarray(feats)[offset::n])
