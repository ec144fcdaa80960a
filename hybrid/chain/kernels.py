"""Triton kernels for the LF-MMI forward-backward (CUDA; also run by Triton's CPU interpreter).

Triton is imported lazily (:func:`triton_available`, :func:`kernels`): the package imports
with torch and numpy alone. The kernels use ELL layouts built by :mod:`hybrid.chain.loss`
(rows = states or pdfs in tiles of ``BS``, each tile padded to its own largest degree;
padding entries have weight 0 / arc -1), so every frame is one fused gather-multiply-sum
with no atomics and a deterministic summation order.

Denominator (probability domain, batch B contiguous, as Kaldi's cuda_chain_hmm_forward):

* ``den_fwd``: alpha_un(t+1)[s] = sum over arcs a into s of
  w_a · ex[t, pdf_a] · (alpha_un(t)[src_a] / scale(t-1) + c · init[src_a]); writes each tile's
  column sums (the scale of frame t is their sum, read by the next frame's launch).
* ``den_bwd``: bd(t)[i] = sum over arcs a out of i of w_a · ex[t, pdf_a] · beta(t+1)[dst_a] / scale(t)
  with beta(t+1) = bd(t+1) + c · init·bd(t+1); writes each tile's init-weighted sums.
* ``den_post``: post[t, p] = ex[t, p] / scale(t) · sum over arcs a of pdf p of
  w_a · alpha'(t)[src_a] · beta(t+1)[dst_a]; all frames in one launch.

Numerator (log space): ``num_layer`` computes one frame's states from the neighbouring
frame, val[j] = logsumexp_k (score[arc[j,k]] + val[nbr[j,k]]), online over degree chunks.
"""

from __future__ import annotations

import functools
import os


@functools.lru_cache(maxsize=None)
def triton_available() -> bool:
    """True when Triton can be imported (and HYBRID_CHAIN_TRITON is not 0)."""
    if os.environ.get("HYBRID_CHAIN_TRITON", "1") == "0":
        return False
    try:
        import triton  # noqa: F401
        import triton.language  # noqa: F401
    except Exception:  # noqa: BLE001 - any import failure means "no Triton"
        return False
    return True


def interpreting() -> bool:
    """True when Triton runs kernels in its CPU interpreter (TRITON_INTERPRET=1)."""
    return os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")


def _patch_interpreter() -> None:
    """Triton's interpreter turns scalars into 1-element arrays, which numpy >= 2.4 refuses to
    convert with int() (``for k in range(loaded_scalar)``); make ``__index__`` take the element."""
    import numpy as np
    import triton.runtime.interpreter as ti

    orig = ti._patch_lang_tensor
    if getattr(orig, "_hybrid_patched", False):
        return

    def patched(tensor, scope):
        orig(tensor, scope)
        scope.set_attr(tensor, "__index__", lambda self: int(np.asarray(self.handle.data).reshape(-1)[0]))

    patched._hybrid_patched = True
    ti._patch_lang_tensor = patched


@functools.lru_cache(maxsize=None)
def kernels(interpret: bool = False):
    """Compile-on-demand Triton kernels (one set per interpreter setting)."""
    import triton
    import triton.language as tl

    if interpret:
        _patch_interpreter()

    @triton.jit
    def den_fwd(alpha_t, alpha_n, part_t, part_n, ex_t, init, rows, src, pdf, w, tdeg, toff,
                S, B, NT, c, BS: tl.constexpr, BB: tl.constexpr, NTP: tl.constexpr):
        pid_s = tl.program_id(0)
        pid_b = tl.program_id(1)
        bb = pid_b * BB + tl.arange(0, BB)
        bmask = bb < B
        tiles = tl.arange(0, NTP)
        pm = (tiles < NT)[:, None] & bmask[None, :]
        prev = tl.load(part_t + tiles[:, None] * B + bb[None, :], mask=pm, other=0.0)
        inv = 1.0 / tl.sum(prev, axis=0)
        r = pid_s * BS + tl.arange(0, BS)
        rmask = r < S
        st = tl.load(rows + r, mask=rmask, other=0)
        m2 = rmask[:, None] & bmask[None, :]
        deg = tl.load(tdeg + pid_s)
        off = tl.load(toff + pid_s)
        acc = tl.zeros([BS, BB], dtype=tl.float32)
        for k in range(deg):
            idx = off + k * BS + tl.arange(0, BS)
            s_ = tl.load(src + idx, mask=rmask, other=0)
            p_ = tl.load(pdf + idx, mask=rmask, other=0)
            w_ = tl.load(w + idx, mask=rmask, other=0.0)
            i_ = tl.load(init + s_, mask=rmask, other=0.0)
            a = tl.load(alpha_t + s_[:, None] * B + bb[None, :], mask=m2, other=0.0)
            e = tl.load(ex_t + p_[:, None] * B + bb[None, :], mask=m2, other=0.0)
            acc += (w_[:, None] * e) * (a * inv[None, :] + c * i_[:, None])
        tl.store(alpha_n + st[:, None] * B + bb[None, :], acc, mask=m2)
        tl.store(part_n + pid_s * B + bb, tl.sum(acc, axis=0), mask=bmask)

    @triton.jit
    def den_bwd(bd_t, bd_n, partb_t, partb_n, ex_t, scale_t, init, rows, dst, pdf, w, tdeg, toff,
                S, B, NT, c, BS: tl.constexpr, BB: tl.constexpr, NTP: tl.constexpr):
        pid_s = tl.program_id(0)
        pid_b = tl.program_id(1)
        bb = pid_b * BB + tl.arange(0, BB)
        bmask = bb < B
        tiles = tl.arange(0, NTP)
        pm = (tiles < NT)[:, None] & bmask[None, :]
        dot = tl.sum(tl.load(partb_n + tiles[:, None] * B + bb[None, :], mask=pm, other=0.0), axis=0)
        inv = 1.0 / tl.load(scale_t + bb, mask=bmask, other=1.0)
        r = pid_s * BS + tl.arange(0, BS)
        rmask = r < S
        st = tl.load(rows + r, mask=rmask, other=0)
        m2 = rmask[:, None] & bmask[None, :]
        deg = tl.load(tdeg + pid_s)
        off = tl.load(toff + pid_s)
        acc = tl.zeros([BS, BB], dtype=tl.float32)
        for k in range(deg):
            idx = off + k * BS + tl.arange(0, BS)
            d_ = tl.load(dst + idx, mask=rmask, other=0)
            p_ = tl.load(pdf + idx, mask=rmask, other=0)
            w_ = tl.load(w + idx, mask=rmask, other=0.0)
            bn = tl.load(bd_n + d_[:, None] * B + bb[None, :], mask=m2, other=0.0)
            e = tl.load(ex_t + p_[:, None] * B + bb[None, :], mask=m2, other=0.0)
            acc += (w_[:, None] * e) * (bn + c * dot[None, :])
        acc = acc * inv[None, :]
        tl.store(bd_t + st[:, None] * B + bb[None, :], acc, mask=m2)
        i_ = tl.load(init + st, mask=rmask, other=0.0)
        tl.store(partb_t + pid_s * B + bb, tl.sum(i_[:, None] * acc, axis=0), mask=bmask)

    @triton.jit
    def den_post(post, alpha, scales, bd, dots, ex, init, rows, src, dst, w, tdeg, toff,
                 S, B, P, c, BS: tl.constexpr, BB: tl.constexpr):
        pid_p = tl.program_id(0)
        pid_b = tl.program_id(1)
        t = tl.program_id(2).to(tl.int64)
        bb = pid_b * BB + tl.arange(0, BB)
        bmask = bb < B
        inv_prev = 1.0 / tl.load(scales + t * B + bb, mask=bmask, other=1.0)  # scales[t] = scale(t-1)
        inv_t = 1.0 / tl.load(scales + (t + 1) * B + bb, mask=bmask, other=1.0)
        dotn = tl.load(dots + (t + 1) * B + bb, mask=bmask, other=0.0)
        a_base = alpha + t * S * B
        b_base = bd + (t + 1) * S * B
        r = pid_p * BS + tl.arange(0, BS)
        rmask = r < P
        pp = tl.load(rows + r, mask=rmask, other=0)
        m2 = rmask[:, None] & bmask[None, :]
        deg = tl.load(tdeg + pid_p)
        off = tl.load(toff + pid_p)
        acc = tl.zeros([BS, BB], dtype=tl.float32)
        for k in range(deg):
            idx = off + k * BS + tl.arange(0, BS)
            s_ = tl.load(src + idx, mask=rmask, other=0)
            d_ = tl.load(dst + idx, mask=rmask, other=0)
            w_ = tl.load(w + idx, mask=rmask, other=0.0)
            i_ = tl.load(init + s_, mask=rmask, other=0.0)
            a = tl.load(a_base + s_[:, None] * B + bb[None, :], mask=m2, other=0.0)
            bn = tl.load(b_base + d_[:, None] * B + bb[None, :], mask=m2, other=0.0)
            acc += w_[:, None] * (a * inv_prev[None, :] + c * i_[:, None]) * (bn + c * dotn[None, :])
        e = tl.load(ex + t * P * B + pp[:, None] * B + bb[None, :], mask=m2, other=0.0)
        tl.store(post + t * P * B + pp[:, None] * B + bb[None, :], acc * e * inv_t[None, :], mask=m2)

    @triton.jit
    def num_layer(val, nbr, arc, score, row_lo, row_hi, D, BN: tl.constexpr, BD: tl.constexpr):
        rws = row_lo + tl.program_id(0) * BN + tl.arange(0, BN)
        rmask = rws < row_hi
        m = tl.full([BN], float("-inf"), tl.float32)
        s = tl.zeros([BN], dtype=tl.float32)
        for d0 in range(0, D, BD):
            cols = d0 + tl.arange(0, BD)
            mk = rmask[:, None] & (cols < D)[None, :]
            ofs = rws[:, None] * D + cols[None, :]
            a_ = tl.load(arc + ofs, mask=mk, other=-1)
            n_ = tl.load(nbr + ofs, mask=mk, other=0)
            ok = mk & (a_ >= 0)
            v = tl.load(score + a_, mask=ok, other=float("-inf")) + tl.load(val + n_, mask=ok, other=float("-inf"))
            mn = tl.maximum(m, tl.max(v, axis=1))
            ms = tl.where(mn == float("-inf"), 0.0, mn)
            s = s * tl.exp(m - ms) + tl.sum(tl.exp(v - ms[:, None]), axis=1)
            m = mn
        out = tl.log(s) + tl.where(m == float("-inf"), 0.0, m)
        tl.store(val + rws, out, mask=rmask)

    return {"den_fwd": den_fwd, "den_bwd": den_bwd, "den_post": den_post, "num_layer": num_layer}
