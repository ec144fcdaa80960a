"""HMM-level graph pieces as Kaldi builds them: the H transducer (``make-h-transducer``,
GetHTransducer) and HMM self-loops (``add-self-loops``, AddSelfLoops with reorder).

The state and arc order follow Kaldi's code so the results can be compared arc by arc with
Kaldi's (tests use kaldi_hmm_gmm as the oracle).
"""

from __future__ import annotations

from typing import Sequence

import kaldifst
import numpy as np

from hybrid.fst.ops import INF, Lists, _remove_eps_local, from_lists, to_lists
from hybrid.hmm.topology import NO_PDF


def _hmm_as_fsa(window: Sequence[int], ctx_dep, trans_model, transition_scale: float,
                cache: dict) -> tuple[tuple, Lists]:
    """Kaldi's GetHmmAsFsa: the HMM of the central phone of ``window`` without self-loops,
    arcs labelled with transition-ids, weights = -(log p - log(1 - p_selfloop)) * scale."""
    P = ctx_dep.central_position
    if len(window) != ctx_dep.context_width:
        raise ValueError(f"context size mismatch: ilabel-info window {list(window)} has {len(window)} "
                         f"phones, the tree expects {ctx_dep.context_width}")
    phone = window[P]
    if phone == 0:
        raise ValueError(f"phone == 0 in the central position of {list(window)}")
    topo = trans_model.topo
    entry = topo.entry(phone)
    pdfs = []
    for pdf_class in range(topo.num_pdf_classes(phone)):
        pdf = ctx_dep.compute(tuple(window), pdf_class)
        if pdf is None or pdf < 0:
            raise ValueError(f"the tree gives no pdf for pdf-class {pdf_class} in context {list(window)}: "
                             "tree / topology / graph mismatch")
        pdfs.append(pdf)
    key = (phone, tuple(pdfs))
    if key in cache:
        return key, cache[key]
    g = Lists()
    for _ in entry:
        g.add_state()
    g.start = 0
    g.finals[len(entry) - 1] = 0.0
    for hmm_state, st in enumerate(entry):
        if st.forward_pdf_class == NO_PDF:
            fwd = slp = NO_PDF
        else:
            fwd, slp = pdfs[st.forward_pdf_class], pdfs[st.self_loop_pdf_class]
        for idx, (dst, prob) in enumerate(st.transitions):
            if dst == hmm_state:
                continue  # self-loops are added later (add_self_loops)
            if st.forward_pdf_class == NO_PDF:
                log_prob, label = float(np.log(prob)), 0
            else:
                tstate = trans_model.tstate_of(phone, hmm_state, fwd, slp)
                label = trans_model.pair_to_tid(tstate, idx)
                log_prob = float(trans_model.log_probs[label]) - trans_model.non_self_loop_log_prob(tstate)
            g.arcs[hmm_state].append([label, label, -log_prob, dst])
    if any(a[0] == 0 for arcs in g.arcs for a in arcs):
        _remove_eps_local(g)
        g.finals.pop(); g.arcs.pop()  # the helper state of _remove_eps_local
    if transition_scale != 1.0:
        for arcs in g.arcs:
            for a in arcs:
                a[2] *= transition_scale
        g.finals = [f * transition_scale if f != INF else INF for f in g.finals]
    cache[key] = g
    return key, g


def make_h_transducer(ilabel_info: Sequence[Sequence[int]], ctx_dep, trans_model,
                      transition_scale: float = 1.0) -> tuple[kaldifst.StdVectorFst, list[int]]:
    """Kaldi's GetHTransducer: input transition-ids, output ilabels of CLG (indexes into
    ``ilabel_info``); HMM self-loops not included. Disambiguation symbols (ilabel-info
    entries ``[-p]``) become new input symbols numbered from num_transition_ids + 1.
    Returns (H, disambig_tids)."""
    if not ilabel_info or len(ilabel_info[0]) != 0:
        raise ValueError("ilabel_info[0] must be the empty (epsilon) entry")
    next_disambig = trans_model.num_transition_ids + 1
    disambig_out: list[int] = []
    hmm_cache: dict = {}
    ans = Lists()
    loop = ans.add_state()
    ans.start = loop
    ans.finals[loop] = 0.0
    arc_cache: dict = {}  # fsa key -> first arc (as in MakeLoopFst's pointer cache)
    for j in range(1, len(ilabel_info)):
        info = list(ilabel_info[j])
        if not info:
            raise ValueError(f"empty ilabel-info entry {j}")
        if info[0] < 0 or (info[0] == 0 and len(info) == 1):
            if len(info) != 1:
                raise ValueError(f"ilabel-info entry {j} = {info} looks like a grammar-FST symbol "
                                 "(not supported)")
            sym = next_disambig
            next_disambig += 1
            disambig_out.append(sym)
            key = ("disambig", j)
            fsa = Lists([], [], [])
            fsa.add_state(); fsa.add_state()
            fsa.start = 0
            fsa.finals[1] = 0.0
            fsa.arcs[0].append([sym, sym, 0.0, 1])
        else:
            key, fsa = _hmm_as_fsa(info, ctx_dep, trans_model, transition_scale, hmm_cache)
        _loop_add(ans, loop, j, key, fsa, arc_cache)
    return from_lists(ans), disambig_out


def _loop_add(ans: Lists, loop: int, label: int, key, fsa: Lists, arc_cache: dict) -> None:
    """One step of Kaldi's MakeLoopFst."""
    if key in arc_cache:
        arc = list(arc_cache[key])
        arc[1] = label
        ans.arcs[loop].append(arc)
        return
    if fsa.start < 0:
        return
    s0 = fsa.start
    initial_acyclic = not any(a[3] == s0 for arcs in fsa.arcs for a in arcs)
    share = initial_acyclic and len(fsa.arcs[s0]) == 1 and fsa.finals[s0] == INF
    state_map = []
    for s in range(fsa.num_states):
        state_map.append(loop if (s == s0 and share) else ans.add_state())
    if not share:
        arc = [0, label, 0.0, state_map[s0]]
        arc_cache[key] = arc
        ans.arcs[loop].append(list(arc))
    for s in range(fsa.num_states):
        for il, _ol, w, d in fsa.arcs[s]:
            ol = label if (s == s0 and share) else 0
            newarc = [il, ol, w, state_map[d]]
            ans.arcs[state_map[s]].append(newarc)
            if s == s0 and share:
                arc_cache[key] = list(newarc)
        if fsa.finals[s] != INF:
            ans.arcs[state_map[s]].append([0, 0, fsa.finals[s], loop])


def add_self_loops(fst: kaldifst.StdVectorFst, trans_model, disambig_tids: Sequence[int] = (),
                   self_loop_scale: float = 1.0, reorder: bool = True,
                   check_no_self_loops: bool = True) -> kaldifst.StdVectorFst:
    """Kaldi's AddSelfLoops: add each transition-state's self-loop (weight scaled by
    ``self_loop_scale``) and multiply the forward transitions by (1 - p_loop)^scale.
    With ``reorder`` (Kaldi's default in mkgraph) the self-loop sits on the state *after*
    the forward transition. Returns a new FST."""
    g = to_lists(fst)
    if g.start < 0:
        raise ValueError("add_self_loops: empty FST")
    ntids = trans_model.num_transition_ids
    tid2tstate = trans_model.tid2tstate
    is_loop = trans_model.tid_is_self_loop
    disambig = set(int(x) for x in disambig_tids)

    def f(label: int) -> int:
        if label == -1:
            return -1
        if 1 <= label <= ntids:
            if check_no_self_loops and is_loop[label]:
                raise ValueError("add_self_loops: graph already has self-loops")
            return int(tid2tstate[label])
        if label != 0 and label < 1000000 and label not in disambig:
            raise ValueError(f"add_self_loops: label {label} is neither a transition-id "
                             f"(1..{ntids}) nor a disambiguation symbol")
        return 0

    if reorder:
        _make_preceding_same_class(g, f)
        state_in = [-1] * g.num_states
        for s in range(g.num_states):
            for a in g.arcs[s]:
                c = f(a[0])
                if state_in[a[3]] == -1:
                    state_in[a[3]] = c
                elif state_in[a[3]] != c:
                    raise AssertionError("add_self_loops: state has two preceding classes")
        for s in range(g.num_states):
            ts = state_in[s]
            if ts > 0:
                w = -trans_model.non_self_loop_log_prob(ts) * self_loop_scale
                if g.finals[s] != INF:
                    g.finals[s] += w
                for a in g.arcs[s]:
                    a[2] += w
                tid = trans_model.self_loop_tid(ts)
                if tid:
                    g.arcs[s].append([tid, 0, -float(trans_model.log_probs[tid]) * self_loop_scale, s])
    else:
        _make_following_same_class(g, f)
        for s in range(g.num_states):
            ts = -1
            for a in g.arcs[s]:
                c = f(a[0])
                if ts == -1:
                    ts = c
                elif ts != c:
                    raise AssertionError("add_self_loops: state has two following classes")
                if c > 0:
                    a[2] += -trans_model.non_self_loop_log_prob(c) * self_loop_scale
            if ts > 0:
                tid = trans_model.self_loop_tid(ts)
                if tid:
                    g.arcs[s].append([tid, 0, -float(trans_model.log_probs[tid]) * self_loop_scale, s])
    return from_lists(g)


def _make_preceding_same_class(g: Lists, f) -> None:
    """Kaldi's MakePrecedingInputSymbolsSameClass(start_is_epsilon=true)."""
    n = g.num_states
    classes = [-1] * n
    classes[g.start] = f(0)
    bad = set()
    for s in range(n):
        for a in g.arcs[s]:
            c = f(a[0])
            if classes[a[3]] == -1:
                classes[a[3]] = c
            elif classes[a[3]] != c:
                bad.add(a[3])
    if not bad:
        return
    to_change = [(s, i) for s in range(n) for i, a in enumerate(g.arcs[s]) if a[0] != 0 and a[3] in bad]
    state_map: dict = {}
    for s, i in to_change:
        a = g.arcs[s][i]
        key = (a[3], f(a[0]))
        if key not in state_map:
            ns = g.add_state()
            state_map[key] = ns
            g.arcs[ns].append([0, 0, 0.0, a[3]])
        a[3] = state_map[key]


def _make_following_same_class(g: Lists, f) -> None:
    """Kaldi's MakeFollowingInputSymbolsSameClass(end_is_epsilon=true)."""
    eps = f(0)
    bad = []
    for s in range(g.num_states):
        c, is_bad = -1, False
        for a in g.arcs[s]:
            ca = f(a[0])
            if c == -1:
                c = ca
            elif c != ca:
                is_bad = True
                break
        if c != -1 and c != eps and g.finals[s] != INF:
            is_bad = True
        if is_bad:
            bad.append(s)
    for s in bad:
        for j, a in enumerate(list(g.arcs[s])):
            if a[0] != 0:
                ns = g.add_state()
                g.arcs[ns].append([a[0], 0, 0.0, a[3]])
                g.arcs[s][j] = [0, a[1], a[2], ns]
