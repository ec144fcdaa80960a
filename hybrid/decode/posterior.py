"""Lattice posteriors (Kaldi's lattice-to-post) and Kaldi's posterior archives.

A posterior is, per frame, a list of (transition-id, weight) pairs. :func:`lattice_posteriors`
runs forward-backward over a :class:`~hybrid.decode.lattice.Lattice` (states are topologically
sorted, start state 0) in the log semiring with path cost ``lm_scale * graph + acoustic_scale *
acoustic``; each arc's posterior goes to the transition-ids of its string at their frames.
:func:`weight_silence_post` is Kaldi's weight-silence-post.

Archives are Kaldi's Posterior tables: text (``ark,t:``; ``utt [ tid w tid w ] [ ] ...``, one bracket
group per frame, one line per utterance) or binary (``ark:``; ``\\0B``, int32 frame count, then per
frame an int32 entry count and (int32 tid, float32 weight) pairs, each value preceded by its size
byte 4, as Kaldi's WriteBasicType). Readers detect the form per record, so Kaldi's archives (either
form, gzipped or not) are read too. A plain path (no ``ark:``) is written as text.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np

from hybrid.decode.lattice import Lattice

__all__ = ["Posterior", "LatticePosterior", "lattice_forward_backward", "lattice_posteriors", "alignment_posterior",
           "weight_silence_post", "write_posteriors", "read_posteriors"]

# (frames, tids, weights): parallel arrays, one entry per (frame, transition-id), sorted by frame then tid
Posterior = tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclass
class LatticePosterior:
    """Result of :func:`lattice_forward_backward` for one lattice."""

    post: Posterior
    total_like: float      # log Σ_paths exp(-scaled cost) (Kaldi's lattice-to-post "log-like")
    num_frames: int
    acoustic_like: float   # -Σ_arcs γ_arc · acoustic_scale · acoustic cost (Kaldi's "acoustic like")


def _logaddexp_into(dst: np.ndarray, i: int, v: float) -> None:
    dst[i] = np.logaddexp(dst[i], v)


def lattice_forward_backward(lat: Lattice, acoustic_scale: float = 1.0, lm_scale: float = 1.0,
                             ) -> LatticePosterior:
    """Forward-backward over ``lat`` (Kaldi's LatticeForwardBackward, as lattice-to-post runs it).

    Path cost is ``lm_scale * graph + acoustic_scale * acoustic``; the posterior of every arc goes
    to the transition-ids of its string at their frames, and equal (frame, tid) entries are summed.
    Raises ValueError for an empty lattice, one whose paths have different lengths, or one with no
    successful path.
    """
    n = lat.num_states
    if n == 0:
        raise ValueError("empty lattice")
    cost = lm_scale * lat.graph + acoustic_scale * lat.acoustic
    fcost = lm_scale * lat.final_graph + acoustic_scale * lat.final_acoustic
    flen = np.zeros(n, np.int64)
    if lat.final_ali_start is not None:
        flen = np.diff(lat.final_ali_start)
    alen = np.diff(lat.ali_start)
    src = np.repeat(np.arange(n), np.diff(lat.arc_start))
    if np.any(lat.nextstate <= src):
        raise ValueError("lattice states are not topologically sorted")
    # frame at each state
    t = np.full(n, -1, np.int64)
    t[0] = 0
    for a in range(lat.num_arcs):
        s, d = src[a], lat.nextstate[a]
        if t[s] < 0:
            continue
        if t[d] < 0:
            t[d] = t[s] + alen[a]
        elif t[d] != t[s] + alen[a]:
            raise ValueError("lattice paths have different lengths")
    alpha = np.full(n, -np.inf)
    alpha[0] = 0.0
    for a in range(lat.num_arcs):  # arcs are grouped by source state, states in topological order
        if alpha[src[a]] > -np.inf:
            _logaddexp_into(alpha, int(lat.nextstate[a]), alpha[src[a]] - cost[a])
    final_ok = np.isfinite(lat.final_graph) & (alpha > -np.inf)
    if not final_ok.any():
        raise ValueError("lattice has no successful path")
    lengths = t[final_ok] + flen[final_ok]
    if np.any(lengths != lengths[0]):
        raise ValueError("lattice paths have different lengths")
    num_frames = int(lengths[0])
    beta = np.where(np.isfinite(lat.final_graph), -fcost, -np.inf)
    for a in range(lat.num_arcs - 1, -1, -1):
        d = int(lat.nextstate[a])
        if beta[d] > -np.inf:
            _logaddexp_into(beta, int(src[a]), -cost[a] + beta[d])
    total = float(beta[0])
    fr_l, tid_l, w_l = [], [], []
    ac_like = 0.0
    for a in range(lat.num_arcs):
        s, d = src[a], lat.nextstate[a]
        lp = alpha[s] - cost[a] + beta[d] - total
        if not np.isfinite(lp):
            continue
        ac_like -= np.exp(lp) * acoustic_scale * lat.acoustic[a]
        if alen[a] == 0:
            continue
        tids = lat.ali[lat.ali_start[a]:lat.ali_start[a + 1]]
        fr_l.append(t[s] + np.arange(len(tids)))
        tid_l.append(tids)
        w_l.append(np.full(len(tids), np.exp(lp)))
    for s in np.nonzero(final_ok)[0]:
        lp = alpha[s] - fcost[s] - total
        ac_like -= np.exp(lp) * acoustic_scale * lat.final_acoustic[s]
        if flen[s] > 0:
            tids = lat.final_ali[lat.final_ali_start[s]:lat.final_ali_start[s + 1]]
            fr_l.append(t[s] + np.arange(len(tids)))
            tid_l.append(tids)
            w_l.append(np.full(len(tids), np.exp(lp)))
    if not fr_l:
        z = np.zeros(0, np.int64)
        return LatticePosterior((z, z.astype(np.int32), np.zeros(0)), total, num_frames, float(ac_like))
    fr, tid, w = np.concatenate(fr_l), np.concatenate(tid_l).astype(np.int64), np.concatenate(w_l)
    return LatticePosterior(_merge(fr, tid, w), total, num_frames, float(ac_like))


def lattice_posteriors(lat: Lattice, acoustic_scale: float = 1.0, lm_scale: float = 1.0,
                       ) -> tuple[Posterior, float, int]:
    """Per-frame transition-id posteriors of ``lat`` (Kaldi's lattice-to-post).

    Returns ``((frames, tids, weights), total_log_like, num_frames)`` where ``total_log_like`` is
    the log of the sum over paths of ``exp(-cost)`` (Kaldi logs it per frame). Raises ValueError for
    an empty lattice, one whose paths have different lengths, or one with no successful path.
    """
    r = lattice_forward_backward(lat, acoustic_scale, lm_scale)
    return r.post, r.total_like, r.num_frames


def _merge(frames: np.ndarray, tids: np.ndarray, weights: np.ndarray) -> Posterior:
    """Sum the weights of equal (frame, tid) pairs; sorted by frame, then tid."""
    key = frames.astype(np.int64) * (int(tids.max(initial=0)) + 1) + tids
    uniq, inv = np.unique(key, return_inverse=True)
    w = np.zeros(len(uniq))
    np.add.at(w, inv, weights)
    first = np.zeros(len(uniq), np.int64)
    first[inv[::-1]] = np.arange(len(key))[::-1]
    return frames[first].astype(np.int64), tids[first].astype(np.int32), w


def alignment_posterior(ali: np.ndarray) -> Posterior:
    """ali-to-post: weight 1 on each frame's transition-id."""
    ali = np.asarray(ali)
    return np.arange(len(ali), dtype=np.int64), ali.astype(np.int32), np.ones(len(ali))


def weight_silence_post(post: Posterior, tid2phone: np.ndarray, silence_phones: Iterable[int],
                        silence_weight: float, distribute: bool = False) -> Posterior:
    """Kaldi's weight-silence-post: scale the entries whose transition-id belongs to a silence phone.

    Entries scaled to 0 are dropped (as Kaldi). With ``distribute`` every entry of a frame is scaled
    by ``(p_sil * silence_weight + p_nonsil) / (p_sil + p_nonsil)`` instead (Kaldi's --distribute);
    a frame whose scale is 0 becomes empty.
    """
    fr, tid, w = post
    fr = np.asarray(fr, np.int64)
    tid = np.asarray(tid, np.int64)
    w = np.asarray(w, np.float64)
    if len(tid) and (tid.min() < 1 or tid.max() >= len(tid2phone)):
        raise ValueError(f"transition-id {int(tid.max()) if tid.max() >= len(tid2phone) else int(tid.min())} "
                         "is outside the model")
    sil = np.isin(np.asarray(tid2phone)[tid], np.asarray(sorted({int(p) for p in silence_phones}), np.int64))
    if distribute:
        nf = int(fr.max()) + 1 if len(fr) else 0
        p_sil = np.bincount(fr, weights=np.where(sil, w, 0.0), minlength=nf)
        p_all = np.bincount(fr, weights=w, minlength=nf)
        with np.errstate(invalid="ignore", divide="ignore"):
            scale = np.where(p_all != 0.0, (p_sil * silence_weight + (p_all - p_sil)) / p_all, 1.0)
        new_w = w * scale[fr]
        keep = scale[fr] != 0.0
    else:
        new_w = np.where(sil, w * silence_weight, w)
        keep = ~sil | (silence_weight != 0.0)
    return fr[keep], tid[keep].astype(np.int32), new_w[keep]


# ------------------------------------------------------------------------------------------ archives
def _parse_wspecifier(spec: str | os.PathLike) -> tuple[str, bool]:
    """``ark:f`` (binary), ``ark,t:f`` (text) or a plain path (text) -> (path, binary)."""
    spec = str(spec)
    head, sep, rest = spec.partition(":")
    if sep and head.split(",")[0] == "ark":
        opts = head.split(",")[1:]
        if rest.strip().startswith("|") or rest.strip() == "-":
            raise ValueError(f"{spec}: posterior archives are written to files, not pipes")
        return rest, "t" not in opts
    return spec, False


def _format_text(utt: str, post: Posterior, num_frames: int) -> str:
    fr, tid, w = post
    per: list[list[str]] = [[] for _ in range(num_frames)]
    for f, k, x in zip(np.asarray(fr).tolist(), np.asarray(tid).tolist(), np.asarray(w).tolist()):
        per[f].append(f"{k} {x:.6g}")
    return utt + " " + " ".join("[ " + " ".join(p) + " ]" if p else "[ ]" for p in per) + "\n"


def _format_binary(utt: str, post: Posterior, num_frames: int) -> bytes:
    """Kaldi's binary Posterior: every int32/float32 value is written as size byte 4 + 4 bytes."""
    fr, tid, w = (np.asarray(x) for x in post)
    n = len(fr)
    counts = np.bincount(fr.astype(np.int64), minlength=num_frames) if n else np.zeros(num_frames, np.int64)
    vals = np.empty(1 + num_frames + 2 * n, "<i4")
    vals[0] = num_frames
    head = 1 + np.arange(num_frames) + 2 * (np.cumsum(counts) - counts)  # position of each frame's count
    vals[head] = counts
    if n:
        start = np.cumsum(counts) - counts
        rank = np.arange(n) - start[fr]
        pos = head[fr] + 1 + 2 * rank
        vals[pos] = tid.astype("<i4")
        vals[pos + 1] = w.astype("<f4").view("<i4")
    rec = np.empty((len(vals), 5), np.uint8)
    rec[:, 0] = 4
    rec[:, 1:] = vals.view(np.uint8).reshape(-1, 4)
    return utt.encode() + b" \0B" + rec.tobytes()


def write_posteriors(items: Iterable[tuple[str, Posterior, int]], spec: str | os.PathLike) -> None:
    """Write ``(utt, posterior, num_frames)`` items as a Kaldi Posterior archive, atomically.

    ``spec``: ``ark,t:f`` or a plain path (text), ``ark:f`` (binary); gzipped when ``f`` ends in .gz.
    """
    import gzip

    from hybrid.io import atomic_path

    path, binary = _parse_wspecifier(spec)
    parts = [_format_binary(u, p, n) if binary else _format_text(u, p, n).encode() for u, p, n in items]
    data = b"".join(parts)
    with atomic_path(path) as tmp:
        tmp.write_bytes(gzip.compress(data, compresslevel=6) if str(path).endswith(".gz") else data)


def _read_bytes(spec: str | os.PathLike) -> tuple[bytes, str]:
    """The bytes of a posterior rspecifier (``ark[,opts]:f``, a plain path, or ``ark:cmd |``), gunzipped."""
    import gzip

    from hybrid.io import open_rspecifier, rspecifier_path

    with open_rspecifier(spec, check=True) as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":  # a command's gzipped output (files are gunzipped when opened)
        data = gzip.decompress(data)
    return data, rspecifier_path(spec)


def _parse_text(toks: list[str]) -> tuple[Posterior, int]:
    fr, tid, w = [], [], []
    frame, i = 0, 0
    while i < len(toks):
        if toks[i] != "[":
            raise ValueError(f"expected '[' at token {i + 2}")
        i += 1
        while toks[i] != "]":
            fr.append(frame)
            tid.append(int(toks[i]))
            w.append(float(toks[i + 1]))
            i += 2
        i += 1
        frame += 1
    return (np.asarray(fr, np.int64), np.asarray(tid, np.int32), np.asarray(w, np.float64)), frame


def _parse_binary(data: bytes, pos: int) -> tuple[Posterior, int, int]:
    """One binary Posterior starting after ``\\0B``; returns (posterior, num_frames, end position)."""

    def int_at(p: int) -> int:
        if data[p:p + 1] != b"\x04":
            raise ValueError(f"expected an int32 at byte {p}")
        return int.from_bytes(data[p + 1:p + 5], "little", signed=True)

    num_frames = int_at(pos)
    if num_frames < 0 or num_frames > 10_000_000:
        raise ValueError(f"improbable number of frames {num_frames}")
    pos += 5
    fr_l, body_l = [], []
    for f in range(num_frames):
        k = int_at(pos)
        if k < 0:
            raise ValueError("negative number of entries")
        pos += 5
        end = pos + 10 * k
        if end > len(data):
            raise ValueError("truncated")
        if k:
            body_l.append(np.frombuffer(data, np.uint8, 10 * k, pos))
            fr_l.append(np.full(k, f, np.int64))
        pos = end
    if not body_l:
        z = np.zeros(0, np.int64)
        return (z, z.astype(np.int32), np.zeros(0)), num_frames, pos
    rec = np.concatenate(body_l).reshape(-1, 2, 5)
    if np.any(rec[:, :, 0] != 4):
        raise ValueError("bad size byte in a posterior entry")
    tid = np.ascontiguousarray(rec[:, 0, 1:]).view("<i4").ravel().astype(np.int32)
    w = np.ascontiguousarray(rec[:, 1, 1:]).view("<f4").ravel().astype(np.float64)
    return (np.concatenate(fr_l), tid, w), num_frames, pos


def read_posteriors(spec: str | os.PathLike) -> Iterator[tuple[str, Posterior, int]]:
    """Read a Posterior archive, text or binary (detected per record; gzip detected): ``(utt, post, T)``.

    ``spec`` is a path, ``ark[,t,...]:path`` or ``ark:cmd |``. Errors name the file and the utterance
    (text: also the line).
    """
    data, path = _read_bytes(spec)
    pos, lineno, n = 0, 1, len(data)
    while pos < n:
        while pos < n and data[pos:pos + 1] in (b"\n", b" ", b"\t", b"\r"):
            lineno += data[pos:pos + 1] == b"\n"
            pos += 1
        if pos >= n:
            return
        sp = data.find(b" ", pos)
        nl = data.find(b"\n", pos)
        if sp < 0 or (0 <= nl < sp):  # a key with nothing after it: an empty text posterior
            end = n if nl < 0 else nl
            yield data[pos:end].decode().strip(), (np.zeros(0, np.int64), np.zeros(0, np.int32), np.zeros(0)), 0
            pos = end
            continue
        utt = data[pos:sp].decode()
        pos = sp + 1
        if data[pos:pos + 2] == b"\0B":
            try:
                post, nf, pos = _parse_binary(data, pos + 2)
            except ValueError as e:
                raise ValueError(f"{path}: bad posterior for utterance {utt}: {e}") from None
            yield utt, post, nf
            continue
        end = n if nl < 0 else nl
        try:
            post, nf = _parse_text(data[pos:end].decode().split())
        except (IndexError, ValueError) as e:
            raise ValueError(f"{path}:{lineno}: bad posterior for utterance {utt}: {e}") from None
        yield utt, post, nf
        pos = end
