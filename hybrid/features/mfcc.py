"""Kaldi-compatible MFCC and log-mel filterbank features (torch on CPU, float32 by default).

Follows Kaldi's feature-window.cc / mel-computations.cc / feature-mfcc.cc / feature-fbank.cc:
frames (snip-edges or reflected edges) → dither (Gaussian, seeded per utterance) → DC removal →
raw log-energy → pre-emphasis → window → zero-padded real FFT → power spectrum → triangular mel
banks (Nyquist bin excluded) → log (floored at FLT_EPSILON) → DCT-II (orthonormal) → lifter;
log-energy replaces C0 when ``use_energy``. Input samples are in int16 scale.
"""

from __future__ import annotations

import functools
import math
import zlib

import numpy as np
import torch

from hybrid.features.options import FbankOptions, FeatureOptions, MfccOptions

FLT_EPSILON = float(np.finfo(np.float32).eps)
_CHUNK_FRAMES = 2000  # frames per block: bounds memory for long recordings


def utt_seed(key: str) -> int:
    """Deterministic dither seed for an utterance id (CRC-32 of its UTF-8 bytes)."""
    return zlib.crc32(key.encode("utf-8"))


def num_frames(num_samples: int, opts: FeatureOptions) -> int:
    """Number of frames Kaldi produces for ``num_samples`` samples (NumFrames in feature-window.cc)."""
    size, shift = opts.window_size, opts.window_shift
    if opts.snip_edges:
        return 0 if num_samples < size else 1 + (num_samples - size) // shift
    return (num_samples + shift // 2) // shift


def feature_window(opts: FeatureOptions) -> np.ndarray:
    """The analysis window (float64), as Kaldi's FeatureWindowFunction."""
    n = opts.window_size
    i = np.arange(n, dtype=np.float64)
    a = 2.0 * math.pi / (n - 1)
    t = opts.window_type
    if t == "hanning":
        return 0.5 - 0.5 * np.cos(a * i)
    if t == "sine":
        return np.sin(0.5 * a * i)
    if t == "hamming":
        return 0.54 - 0.46 * np.cos(a * i)
    if t == "povey":
        return np.power(0.5 - 0.5 * np.cos(a * i), 0.85)
    if t == "rectangular":
        return np.ones(n)
    if t == "blackman":
        b = opts.blackman_coeff
        return b - 0.5 * np.cos(a * i) + (0.5 - b) * np.cos(2 * a * i)
    raise ValueError(f"invalid window type {t!r}")


def _mel(f: np.ndarray | float) -> np.ndarray | float:
    return 1127.0 * np.log(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def mel_banks(opts: FeatureOptions) -> np.ndarray:
    """Triangular mel filters, ``(num_mel_bins, padded/2)`` float64, as Kaldi's MelBanks (no VTLN)."""
    n_fft_bins = opts.padded_window_size // 2
    nyquist = 0.5 * opts.sample_frequency
    high = opts.high_freq if opts.high_freq > 0 else nyquist + opts.high_freq
    mel_low, mel_high = _mel(opts.low_freq), _mel(high)
    delta = (mel_high - mel_low) / (opts.num_mel_bins + 1)
    fft_mel = _mel(opts.sample_frequency / opts.padded_window_size * np.arange(n_fft_bins))
    banks = np.zeros((opts.num_mel_bins, n_fft_bins))
    for b in range(opts.num_mel_bins):
        left, center, right = mel_low + b * delta, mel_low + (b + 1) * delta, mel_low + (b + 2) * delta
        up = (fft_mel - left) / (center - left)
        down = (right - fft_mel) / (right - center)
        w = np.where(fft_mel <= center, up, down)
        banks[b] = np.where((fft_mel > left) & (fft_mel < right), w, 0.0)
    return banks


def dct_matrix(num_ceps: int, num_bins: int, cepstral_lifter: float) -> np.ndarray:
    """``(num_bins, num_ceps)`` float64: Kaldi's orthonormal DCT-II rows, lifter folded in."""
    n = np.arange(num_bins)
    k = np.arange(num_ceps)[:, None]
    d = np.sqrt(2.0 / num_bins) * np.cos(math.pi / num_bins * (n + 0.5) * k)
    d[0] = math.sqrt(1.0 / num_bins)
    if cepstral_lifter != 0.0:
        lift = 1.0 + 0.5 * cepstral_lifter * np.sin(math.pi * np.arange(num_ceps) / cepstral_lifter)
        d *= lift[:, None]
    return d.T


@functools.lru_cache(maxsize=16)
def _constants(key: tuple, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    opts = _OPTS_BY_KEY[key]
    window = torch.tensor(feature_window(opts), dtype=dtype)
    # mel matrix with one zero row for the Nyquist bin, so it applies to the whole rfft output
    banks = mel_banks(opts)
    banks = np.concatenate([banks, np.zeros((banks.shape[0], 1))], axis=1)
    mel = torch.tensor(banks.T, dtype=dtype).contiguous()
    dct = None
    if isinstance(opts, MfccOptions):
        dct = torch.tensor(dct_matrix(opts.num_ceps, opts.num_mel_bins, opts.cepstral_lifter), dtype=dtype)
    return window, mel, dct


_OPTS_BY_KEY: dict[tuple, FeatureOptions] = {}


def _key(opts: FeatureOptions) -> tuple:
    key = (type(opts).__name__,) + tuple(sorted(vars(opts).items()))
    _OPTS_BY_KEY.setdefault(key, opts)
    return key


def _framing_source(wave: torch.Tensor, opts: FeatureOptions, n: int) -> tuple[torch.Tensor, int]:
    """The samples frames are cut from, and the offset of frame 0 in them (Kaldi's ExtractWindow).

    With snip-edges false frame t starts at ``t*shift + shift//2 - size//2`` and samples outside
    the signal are reflected (``-1 → 0``, ``N → N-1``), so the wave is padded by reflection.
    """
    if opts.snip_edges:
        return wave, 0
    size, shift = opts.window_size, opts.window_shift
    first = shift // 2 - size // 2
    last_end = (n - 1) * shift + first + size
    pad_left = max(0, -first)
    pad_right = max(0, last_end - wave.numel())
    m = wave.numel()
    idx = torch.arange(-pad_left, m + pad_right)
    while bool(((idx < 0) | (idx >= m)).any()):
        idx = torch.where(idx < 0, -idx - 1, idx)
        idx = torch.where(idx >= m, 2 * m - 1 - idx, idx)
    return wave[idx], first + pad_left


def _compute(wave: np.ndarray, opts: FeatureOptions, seed: int | None, dtype: torch.dtype) -> np.ndarray:
    opts.validate()
    w = torch.as_tensor(np.ascontiguousarray(wave)).to(dtype)
    if w.dim() != 1:
        raise ValueError(f"expected a 1-D waveform, got shape {tuple(w.shape)}")
    n = num_frames(w.numel(), opts)
    if opts.max_feature_vectors > 0:
        n = min(n, opts.max_feature_vectors)
    is_mfcc = isinstance(opts, MfccOptions)
    dim = opts.num_ceps if is_mfcc else opts.dim
    out = torch.empty((n, dim), dtype=dtype)
    if n == 0:
        return out.numpy().astype(np.float32)
    window, mel, dct = _constants(_key(opts), dtype)
    gen = None
    if opts.dither != 0.0:
        gen = torch.Generator().manual_seed(0 if seed is None else int(seed))
    padded = opts.padded_window_size
    log_floor = math.log(opts.energy_floor) if opts.energy_floor > 0 else None
    src, offset = _framing_source(w, opts, n)
    shift = opts.window_shift
    for s in range(0, n, _CHUNK_FRAMES):
        e = min(n, s + _CHUNK_FRAMES)
        fr = src.as_strided((e - s, opts.window_size), (shift, 1), offset + s * shift).clone()
        if gen is not None:
            fr += opts.dither * torch.randn(fr.shape, generator=gen, dtype=dtype)
        if opts.remove_dc_offset:
            fr -= fr.mean(dim=1, keepdim=True)
        energy = None
        if opts.use_energy and opts.raw_energy:
            energy = torch.log(torch.clamp((fr * fr).sum(dim=1), min=FLT_EPSILON))
        c = opts.preemphasis_coefficient
        if c != 0.0:
            fr[:, 1:] -= c * fr[:, :-1]
            fr[:, 0] *= 1.0 - c
        fr *= window
        if opts.use_energy and not opts.raw_energy:
            energy = torch.log(torch.clamp((fr * fr).sum(dim=1), min=FLT_EPSILON))
        if energy is not None and log_floor is not None:
            energy = torch.clamp(energy, min=log_floor)
        spec = torch.fft.rfft(fr, n=padded)
        power = spec.real.square() + spec.imag.square()
        if not is_mfcc and not opts.use_power:
            power = power.sqrt()
        mel_e = power @ mel
        if is_mfcc or opts.use_log_fbank:
            mel_e = torch.log(torch.clamp(mel_e, min=FLT_EPSILON))
        if is_mfcc:
            feat = mel_e @ dct
            if opts.use_energy:
                feat[:, 0] = energy
            if opts.htk_compat:
                c0 = feat[:, 0].clone()
                feat = torch.cat([feat[:, 1:], (c0 if opts.use_energy else c0 * math.sqrt(2.0))[:, None]], dim=1)
        else:
            if opts.use_energy:
                parts = [mel_e, energy[:, None]] if opts.htk_compat else [energy[:, None], mel_e]
                feat = torch.cat(parts, dim=1)
            else:
                feat = mel_e
        out[s:e] = feat
    res = out.numpy()
    if opts.subtract_mean:
        res = res - res.mean(axis=0, keepdims=True)
    return res.astype(np.float32, copy=False)


def compute_mfcc(wave: np.ndarray, opts: MfccOptions | None = None, *, seed: int | None = None,
                 dtype: torch.dtype = torch.float32) -> np.ndarray:
    """MFCC ``(frames, num_ceps)`` float32 of a 1-D waveform in int16 scale.

    ``seed`` seeds the dither (use :func:`utt_seed` of the utterance id); ``dtype`` float64
    computes in double precision.
    """
    return _compute(wave, opts or MfccOptions(), seed, dtype)


def compute_fbank(wave: np.ndarray, opts: FbankOptions | None = None, *, seed: int | None = None,
                  dtype: torch.dtype = torch.float32) -> np.ndarray:
    """Log-mel filterbank ``(frames, num_mel_bins [+1])`` float32 of a 1-D waveform in int16 scale."""
    return _compute(wave, opts or FbankOptions(), seed, dtype)


def compute_features(wave: np.ndarray, opts: FeatureOptions, *, seed: int | None = None,
                     dtype: torch.dtype = torch.float32) -> np.ndarray:
    """MFCC or fbank depending on the type of ``opts``."""
    return _compute(wave, opts, seed, dtype)
