"""Token-passing Viterbi beam search that keeps a lattice: Kaldi's LatticeFasterDecoder in numba.

Algorithm (as ``lattice-faster-decoder.cc``):

- Tokens live per frame (frame ``t`` = before consuming frame ``t``; frames 0..T), one per
  graph state, each with its best forward cost ``tot_cost``, an ``extra_cost`` (how far it is
  from the best complete path, used for lattice pruning) and a list of forward links.
- Emitting arcs (ilabel = transition-id > 0) consume a frame; the link's acoustic cost is
  ``-acoustic_scale * loglikes[t, tid2pdf[ilabel]]`` and its graph cost the arc weight.
  Epsilon arcs (ilabel 0) are followed within a frame with a LIFO queue; a token whose cost
  improves is re-queued and its epsilon links are rebuilt.
- The pruning cutoff of a frame is ``best + beam``, tightened to the ``max_active``-th best cost
  or loosened to the ``min_active``-th best cost (no pruning while a frame has fewer than
  ``min_active`` tokens), and the adaptive beam for the next frame is set
  from it (``+ beam_delta``) exactly as Kaldi's ``GetCutoff``.
- Every ``prune_interval`` frames the forward links are pruned backwards with ``lattice_beam``
  (``PruneActiveTokens`` with delta ``lattice_beam * prune_scale``); at the end final costs are
  included (``PruneForwardLinksFinal``): if any token at the last frame is in a final state,
  the final costs are used; otherwise every active token counts as final with cost 0.

Costs are kept in float64 (Kaldi: float32 with per-frame offsets; the results agree to
rounding). Tie-break (deterministic): all comparisons are strict, so among equal costs the
first arrival wins; tokens of a frame are visited in creation order and arcs in graph order.
"""

from __future__ import annotations

import numpy as np
from numba import njit

INF = np.inf


@njit(cache=True)
def _grow_i32(a, n):
    b = np.empty(max(n, 2 * a.shape[0]), np.int32)
    b[:a.shape[0]] = a
    return b


@njit(cache=True)
def _grow_i64(a, n):
    b = np.empty(max(n, 2 * a.shape[0]), np.int64)
    b[:a.shape[0]] = a
    return b


@njit(cache=True)
def _grow_f64(a, n):
    b = np.empty(max(n, 2 * a.shape[0]), np.float64)
    b[:a.shape[0]] = a
    return b


@njit(cache=True)
def _approx_equal(a, b, delta):
    if a == b:
        return True
    if np.isinf(a) or np.isinf(b):
        return False
    return abs(a - b) <= delta


@njit(cache=True)
def _prune_forward_links(f, frame_start, t_cost, t_extra, t_links, l_dest, l_graph, l_ac, l_next,
                         lattice_beam, delta, final_cost, final_best):
    """Recompute extra costs of frame ``f``'s tokens and delete links beyond the lattice beam.

    When ``final_cost`` is non-empty (final frame), tokens start from their final extra cost.
    Returns (extra_costs_changed, links_pruned).
    """
    any_changed = False
    links_pruned = False
    changed = True
    b, e = frame_start[f], frame_start[f + 1]
    while changed:
        changed = False
        for tok in range(b, e):
            if t_extra[tok] == INF:
                continue  # pruned token
            if final_cost.shape[0] > 0:
                tok_extra = t_cost[tok] + final_cost[tok - b] - final_best
            else:
                tok_extra = INF
            prev = -1
            lk = t_links[tok]
            while lk != -1:
                nxt = l_next[lk]
                d = l_dest[lk]
                le = t_extra[d] + ((t_cost[tok] + l_ac[lk] + l_graph[lk]) - t_cost[d])
                if le > lattice_beam:
                    if prev == -1:
                        t_links[tok] = nxt
                    else:
                        l_next[prev] = nxt
                    links_pruned = True
                else:
                    if le < 0.0:
                        le = 0.0
                    if le < tok_extra:
                        tok_extra = le
                    prev = lk
                lk = nxt
            if final_cost.shape[0] > 0 and tok_extra > lattice_beam:
                tok_extra = INF
            if not _approx_equal(t_extra[tok], tok_extra, delta):
                changed = True
            t_extra[tok] = tok_extra
        if changed:
            any_changed = True
    return any_changed, links_pruned


@njit(cache=True)
def _compact(ntok, frame, frame_start, t_state, t_cost, t_extra, t_links, l_dest, l_ilabel, l_olabel, l_graph,
             l_ac, l_next):
    """Drop pruned tokens (extra cost +inf) and unreachable links; renumber (frames stay contiguous).

    Updates ``frame_start[0..frame+1]`` in place; returns the new counts and arrays.
    """
    newid = np.full(ntok, -1, np.int64)
    n = 0
    for f in range(frame + 1):
        b, e = frame_start[f], frame_start[f + 1]
        frame_start[f] = n
        for tok in range(b, e):
            if t_extra[tok] != INF:
                newid[tok] = n
                n += 1
    frame_start[frame + 1] = n
    nl = 0
    for tok in range(ntok):
        if newid[tok] >= 0:
            lk = t_links[tok]
            while lk != -1:
                if newid[l_dest[lk]] >= 0:
                    nl += 1
                lk = l_next[lk]
    ts = np.empty(max(n, 16), np.int32)
    tc = np.empty(max(n, 16), np.float64)
    te = np.empty(max(n, 16), np.float64)
    tl = np.empty(max(n, 16), np.int64)
    ld = np.empty(max(nl, 16), np.int32)
    li = np.empty(max(nl, 16), np.int32)
    lo = np.empty(max(nl, 16), np.int32)
    lg = np.empty(max(nl, 16), np.float64)
    la = np.empty(max(nl, 16), np.float64)
    ln = np.empty(max(nl, 16), np.int64)
    j = 0
    for tok in range(ntok):
        i = newid[tok]
        if i < 0:
            continue
        ts[i] = t_state[tok]
        tc[i] = t_cost[tok]
        te[i] = t_extra[tok]
        tl[i] = -1
        prev = -1
        lk = t_links[tok]
        while lk != -1:
            d = newid[l_dest[lk]]
            if d >= 0:
                ld[j] = d
                li[j] = l_ilabel[lk]
                lo[j] = l_olabel[lk]
                lg[j] = l_graph[lk]
                la[j] = l_ac[lk]
                ln[j] = -1
                if prev == -1:
                    tl[i] = j
                else:
                    ln[prev] = j
                prev = j
                j += 1
            lk = l_next[lk]
    return n, nl, ts, tc, te, tl, ld, li, lo, lg, la, ln


@njit(cache=True, inline="always")
def _find_or_add_token(ns, tot, ntok, state2tok, t_state, t_cost, t_extra, t_links):
    """The token of graph state ``ns`` in the frame being built: created with cost ``tot``, or its cost
    lowered to ``tot`` when that is better. Returns (token, whether its cost changed, ntok and the token
    arrays, grown when full)."""
    nt = state2tok[ns]
    if nt == -1:
        if ntok >= t_state.shape[0]:
            t_state = _grow_i32(t_state, ntok + 1)
            t_cost = _grow_f64(t_cost, ntok + 1)
            t_extra = _grow_f64(t_extra, ntok + 1)
            t_links = _grow_i64(t_links, ntok + 1)
        nt = ntok
        ntok += 1
        t_state[nt] = ns
        t_cost[nt] = tot
        t_extra[nt] = 0.0
        t_links[nt] = -1
        state2tok[ns] = nt
        return nt, True, ntok, t_state, t_cost, t_extra, t_links
    if tot < t_cost[nt]:
        t_cost[nt] = tot
        return nt, True, ntok, t_state, t_cost, t_extra, t_links
    return nt, False, ntok, t_state, t_cost, t_extra, t_links


@njit(cache=True, inline="always")
def _add_link(tok, nt, ilab, olab, graph_cost, ac_cost, nlink, t_links, l_dest, l_ilabel, l_olabel, l_graph,
              l_ac, l_next):
    """A forward link ``tok -> nt`` put first in ``tok``'s list. Returns (nlink and the link arrays, grown
    when full)."""
    if nlink >= l_dest.shape[0]:
        l_dest = _grow_i32(l_dest, nlink + 1)
        l_ilabel = _grow_i32(l_ilabel, nlink + 1)
        l_olabel = _grow_i32(l_olabel, nlink + 1)
        l_graph = _grow_f64(l_graph, nlink + 1)
        l_ac = _grow_f64(l_ac, nlink + 1)
        l_next = _grow_i64(l_next, nlink + 1)
    l_dest[nlink] = nt
    l_ilabel[nlink] = ilab
    l_olabel[nlink] = olab
    l_graph[nlink] = graph_cost
    l_ac[nlink] = ac_cost
    l_next[nlink] = t_links[tok]
    t_links[tok] = nlink
    return nlink + 1, l_dest, l_ilabel, l_olabel, l_graph, l_ac, l_next


@njit(cache=True)
def _decode(arc_start, ilabel, olabel, weight, nextstate, final, start, n_ieps,
            loglikes, tid2pdf, acoustic_scale, beam, max_active, min_active, lattice_beam,
            prune_interval, beam_delta, prune_scale):
    num_frames = loglikes.shape[0]
    num_states = final.shape[0]
    cap_t = 1024
    t_state = np.empty(cap_t, np.int32)
    t_cost = np.empty(cap_t, np.float64)
    t_extra = np.empty(cap_t, np.float64)
    t_links = np.empty(cap_t, np.int64)
    cap_l = 1024
    l_dest = np.empty(cap_l, np.int32)
    l_ilabel = np.empty(cap_l, np.int32)
    l_olabel = np.empty(cap_l, np.int32)
    l_graph = np.empty(cap_l, np.float64)
    l_ac = np.empty(cap_l, np.float64)
    l_next = np.empty(cap_l, np.int64)
    frame_start = np.zeros(num_frames + 2, np.int64)
    must_fl = np.ones(num_frames + 1, np.bool_)
    state2tok = np.full(num_states, -1, np.int64)
    queue = np.empty(64, np.int64)
    costs = np.empty(64, np.float64)
    no_final = np.empty(0, np.float64)
    ntok = 0
    nlink = 0

    # --- initial token and epsilon closure of frame 0
    t_state[0] = start
    t_cost[0] = 0.0
    t_extra[0] = 0.0
    t_links[0] = -1
    state2tok[start] = 0
    ntok = 1
    cutoff = beam
    for frame in range(num_frames + 1):
        # ---------------- ProcessNonemitting for tokens of `frame` (created so far)
        fb = frame_start[frame]
        qn = 0
        for tok in range(fb, ntok):
            if n_ieps[t_state[tok]] > 0:
                if qn >= queue.shape[0]:
                    queue = _grow_i64(queue, qn + 1)
                queue[qn] = t_state[tok]
                qn += 1
        while qn > 0:
            qn -= 1
            s = queue[qn]
            tok = state2tok[s]
            cur_cost = t_cost[tok]
            if cur_cost >= cutoff:
                continue
            t_links[tok] = -1  # DeleteForwardLinks
            for a in range(arc_start[s], arc_start[s + 1]):
                if ilabel[a] != 0:
                    continue
                g = np.float64(weight[a])
                tot = cur_cost + g
                if tot < cutoff:
                    ns = nextstate[a]
                    nt, changed, ntok, t_state, t_cost, t_extra, t_links = _find_or_add_token(
                        ns, tot, ntok, state2tok, t_state, t_cost, t_extra, t_links)
                    nlink, l_dest, l_ilabel, l_olabel, l_graph, l_ac, l_next = _add_link(
                        tok, nt, 0, olabel[a], g, 0.0, nlink, t_links, l_dest, l_ilabel, l_olabel, l_graph,
                        l_ac, l_next)
                    if changed and n_ieps[ns] > 0:
                        if qn >= queue.shape[0]:
                            queue = _grow_i64(queue, qn + 1)
                        queue[qn] = ns
                        qn += 1
        frame_start[frame + 1] = ntok
        if frame == num_frames:
            break

        # ---------------- periodic pruning (PruneActiveTokens), before processing `frame`
        if frame % prune_interval == 0 and frame > 0:
            for f in range(frame - 1, -1, -1):
                if must_fl[f]:
                    ec, lp = _prune_forward_links(f, frame_start, t_cost, t_extra, t_links, l_dest, l_graph,
                                                  l_ac, l_next, lattice_beam, lattice_beam * prune_scale,
                                                  no_final, 0.0)
                    if ec and f > 0:
                        must_fl[f - 1] = True
                    must_fl[f] = False
            # reclaim memory of pruned tokens/links when they are the majority
            alive = 0
            for tok in range(ntok):
                if t_extra[tok] != INF:
                    alive += 1
            if 2 * alive < ntok:
                (ntok, nlink, t_state, t_cost, t_extra, t_links, l_dest, l_ilabel, l_olabel, l_graph, l_ac,
                 l_next) = _compact(ntok, frame, frame_start, t_state, t_cost, t_extra, t_links, l_dest, l_ilabel,
                                    l_olabel, l_graph, l_ac, l_next)
                for tok in range(frame_start[frame], ntok):
                    state2tok[t_state[tok]] = tok

        # ---------------- GetCutoff over tokens of `frame`
        fb = frame_start[frame]
        fe = frame_start[frame + 1]
        count = fe - fb
        best_cost = INF
        best_tok = -1
        if costs.shape[0] < count:
            costs = np.empty(2 * count, np.float64)
        for tok in range(fb, fe):
            c = t_cost[tok]
            costs[tok - fb] = c
            if c < best_cost:
                best_cost = c
                best_tok = tok
        beam_cutoff = best_cost + beam
        adaptive_beam = beam
        cur_cutoff = beam_cutoff
        if not (max_active == 2147483647 and min_active == 0):
            # Kaldi's GetCutoff: fewer than min_active tokens means no pruning at all (cutoff +inf)
            max_active_cutoff = INF
            if count > max_active:
                max_active_cutoff = np.partition(costs[:count], max_active)[max_active]
            if max_active_cutoff < beam_cutoff:
                adaptive_beam = max_active_cutoff - best_cost + beam_delta
                cur_cutoff = max_active_cutoff
            else:
                min_active_cutoff = INF
                if count > min_active:
                    min_active_cutoff = best_cost if min_active == 0 else \
                        np.partition(costs[:count], min_active)[min_active]
                if min_active_cutoff > beam_cutoff:
                    adaptive_beam = min_active_cutoff - best_cost + beam_delta
                    cur_cutoff = min_active_cutoff

        # ---------------- ProcessEmitting: frame -> frame + 1
        for tok in range(fb, fe):
            state2tok[t_state[tok]] = -1
        next_cutoff = INF
        if best_tok >= 0:
            s = t_state[best_tok]
            for a in range(arc_start[s], arc_start[s + 1]):
                il = ilabel[a]
                if il == 0:
                    continue
                tot = t_cost[best_tok] + np.float64(weight[a]) - acoustic_scale * np.float64(loglikes[frame, tid2pdf[il]])
                if tot + adaptive_beam < next_cutoff:
                    next_cutoff = tot + adaptive_beam
        for tok in range(fb, fe):
            cur_cost = t_cost[tok]
            if cur_cost > cur_cutoff:
                continue
            s = t_state[tok]
            for a in range(arc_start[s], arc_start[s + 1]):
                il = ilabel[a]
                if il == 0:
                    continue
                ac = -acoustic_scale * np.float64(loglikes[frame, tid2pdf[il]])
                g = np.float64(weight[a])
                tot = cur_cost + ac + g
                if tot >= next_cutoff:
                    continue
                if tot + adaptive_beam < next_cutoff:
                    next_cutoff = tot + adaptive_beam
                ns = nextstate[a]
                nt, _changed, ntok, t_state, t_cost, t_extra, t_links = _find_or_add_token(
                    ns, tot, ntok, state2tok, t_state, t_cost, t_extra, t_links)
                nlink, l_dest, l_ilabel, l_olabel, l_graph, l_ac, l_next = _add_link(
                    tok, nt, il, olabel[a], g, ac, nlink, t_links, l_dest, l_ilabel, l_olabel, l_graph,
                    l_ac, l_next)
        cutoff = next_cutoff

    # ---------------- FinalizeDecoding: final costs, PruneForwardLinksFinal, then all frames
    fb = frame_start[num_frames]
    fe = frame_start[num_frames + 1]
    fcost = np.empty(fe - fb, np.float64)
    best_cost = INF
    best_with_final = INF
    for tok in range(fb, fe):
        fc = np.float64(final[t_state[tok]])
        fcost[tok - fb] = fc
        if t_cost[tok] < best_cost:
            best_cost = t_cost[tok]
        if t_cost[tok] + fc < best_with_final:
            best_with_final = t_cost[tok] + fc
    reached_final = best_with_final != INF
    if not reached_final:
        fcost[:] = 0.0
        final_best = best_cost
    else:
        final_best = best_with_final
    if fe > fb:
        _prune_forward_links(num_frames, frame_start, t_cost, t_extra, t_links, l_dest, l_graph, l_ac, l_next,
                             lattice_beam, 0.0, fcost, final_best)
        for f in range(num_frames - 1, -1, -1):
            _prune_forward_links(f, frame_start, t_cost, t_extra, t_links, l_dest, l_graph, l_ac, l_next,
                                 lattice_beam, 0.0, no_final, 0.0)
    return (ntok, t_state[:ntok].copy(), t_cost[:ntok].copy(), t_extra[:ntok].copy(), t_links[:ntok].copy(),
            l_dest[:nlink].copy(), l_ilabel[:nlink].copy(), l_olabel[:nlink].copy(), l_graph[:nlink].copy(),
            l_ac[:nlink].copy(), l_next[:nlink].copy(), frame_start, fcost, reached_final, final_best)


@njit(cache=True)
def _raw_lattice(t_extra, t_links, l_dest, l_ilabel, l_olabel, l_graph, l_ac, l_next, frame_start, fcost):
    """Alive tokens -> states (frame order, topologically sorted within a frame) and links -> arcs.

    Returns CSR arrays (arc_start, word, graph, ac, nextstate, tid) and final graph costs.
    """
    ntok = t_extra.shape[0]
    num_frames_p1 = frame_start.shape[0] - 1
    tok2state = np.full(ntok, -1, np.int64)
    order = np.empty(ntok, np.int64)
    indeg = np.zeros(ntok, np.int64)
    n = 0
    for f in range(num_frames_p1):
        b, e = frame_start[f], frame_start[f + 1]
        # in-degree from same-frame (epsilon) links
        for tok in range(b, e):
            if t_extra[tok] == INF:
                continue
            lk = t_links[tok]
            while lk != -1:
                d = l_dest[lk]
                if d < e and d >= b:
                    indeg[d] += 1
                lk = l_next[lk]
        stack = np.empty(e - b + 1, np.int64)
        sp = 0
        for tok in range(e - 1, b - 1, -1):  # so that the lowest token pops first
            if t_extra[tok] != INF and indeg[tok] == 0:
                stack[sp] = tok
                sp += 1
        while sp > 0:
            sp -= 1
            tok = stack[sp]
            tok2state[tok] = n
            order[n] = tok
            n += 1
            lk = t_links[tok]
            while lk != -1:
                d = l_dest[lk]
                if d < e and d >= b:
                    indeg[d] -= 1
                    if indeg[d] == 0:
                        stack[sp] = d
                        sp += 1
                lk = l_next[lk]
    # arcs, in link creation order per token (links are prepended, so reverse them)
    arc_start = np.zeros(n + 1, np.int64)
    for i in range(n):
        tok = order[i]
        c = 0
        lk = t_links[tok]
        while lk != -1:
            if tok2state[l_dest[lk]] >= 0:
                c += 1
            lk = l_next[lk]
        arc_start[i + 1] = arc_start[i] + c
    na = arc_start[n]
    word = np.empty(na, np.int32)
    graph = np.empty(na, np.float64)
    ac = np.empty(na, np.float64)
    nexts = np.empty(na, np.int64)
    tid = np.empty(na, np.int32)
    for i in range(n):
        tok = order[i]
        j = arc_start[i + 1] - 1
        lk = t_links[tok]
        while lk != -1:
            ds = tok2state[l_dest[lk]]
            if ds >= 0:
                word[j] = l_olabel[lk]
                graph[j] = l_graph[lk]
                ac[j] = l_ac[lk]
                nexts[j] = ds
                tid[j] = l_ilabel[lk]
                j -= 1
            lk = l_next[lk]
    final_g = np.full(n, INF, np.float64)
    fb = frame_start[num_frames_p1 - 1]
    for tok in range(fb, frame_start[num_frames_p1]):
        st = tok2state[tok]
        if st >= 0:
            final_g[st] = fcost[tok - fb]
    return arc_start, word, graph, ac, nexts, tid, final_g
