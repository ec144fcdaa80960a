"""Feature extraction for a data dir's audio, and the feature pipeline the GMM stages read.

- :func:`compute_feats_to_table`: ``wav.scp`` (+ ``segments``) → features ark/scp, one job of
  ``steps/make_mfcc.sh``; a bad utterance is logged and skipped.
- :func:`iter_features`: ``feats.scp`` → apply-cmvn → add-deltas / splice-feats → transform-feats,
  as the ``feats=...`` pipelines of Kaldi's ``steps/train_*.sh``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Mapping, Sequence

import numpy as np

from hybrid.features.cmvn import apply_cmvn
from hybrid.features.options import FeatureOptions
from hybrid.features.transforms import add_deltas, apply_transform, splice_feats

log = logging.getLogger(__name__)


@dataclass
class FeatJobStats:
    """What one feature-extraction job did."""

    done: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (utt, reason)
    utt2num_frames: dict[str, int] = field(default_factory=dict)
    utt2dur: dict[str, float] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.done + len(self.failed)


def iter_utterance_audio(wav_scp: str | os.PathLike, segments: str | os.PathLike | None = None, *,
                         opts: FeatureOptions | None = None, stats: FeatJobStats | None = None,
                         ) -> Iterator[tuple[str, np.ndarray]]:
    """Yield ``(utt, samples)`` for each utterance (each ``segments`` line, else each ``wav.scp`` line).

    Audio is checked against ``opts.sample_frequency`` (resampled when allow-down/upsample say
    so) and ``opts.channel``; a bad utterance is logged, added to ``stats.failed``, and skipped.
    A recording is read once for consecutive segments.
    """
    from hybrid.data.audio import AudioError, read_audio
    from hybrid.data.datadir import read_segments, read_table_file

    wavs = read_table_file(wav_scp, min_value_fields=1)
    channel = None if opts is None or opts.channel < 0 else opts.channel

    def load(entry: str, what: str) -> tuple[np.ndarray, int]:
        if opts is not None and (opts.allow_downsample or opts.allow_upsample):
            return _read_resampling(entry, what, channel, opts)
        rate = None if opts is None else opts.sample_frequency
        return read_audio(entry, expected_rate=rate, what=what, channel=channel)

    def fail(utt: str, reason: str) -> None:
        log.warning("%s", reason)
        if stats is not None:
            stats.failed.append((utt, reason))

    if segments is None:
        for utt, entry in wavs.items():
            try:
                yield utt, load(entry, utt)[0]
            except (AudioError, ValueError, OSError) as e:
                fail(utt, str(e))
        return
    cache: tuple[str, tuple[np.ndarray, int] | Exception] | None = None
    for utt, seg in read_segments(segments).items():
        if seg.recording not in wavs:
            fail(utt, f"{utt}: recording {seg.recording} of segments file {segments} is not in {wav_scp}")
            continue
        if cache is None or cache[0] != seg.recording:
            try:
                cache = (seg.recording, load(wavs[seg.recording], seg.recording))
            except (AudioError, ValueError, OSError) as e:
                cache = (seg.recording, e)
        if isinstance(cache[1], Exception):
            fail(utt, f"{utt}: {cache[1]}")
            continue
        x, r = cache[1]
        s = int(round(seg.start * r))
        e = len(x) if seg.end < 0 else int(round(seg.end * r))
        if e > len(x):
            if (e - len(x)) / r > 0.5:
                fail(utt, f"{utt}: segment {seg.start}-{seg.end} s ends past the end of recording "
                          f"{seg.recording} ({len(x) / r:.3f} s)")
                continue
            e = len(x)
        if s >= e:
            fail(utt, f"{utt}: segment {seg.start}-{seg.end} s is empty in recording {seg.recording}")
            continue
        yield utt, x[s:e]


def _read_resampling(entry: str, what: str, channel: int | None, opts: FeatureOptions) -> tuple[np.ndarray, int]:
    from hybrid.data.audio import AudioError, read_audio

    target = int(opts.sample_frequency)
    x, r = read_audio(entry, what=what, channel=channel)
    if r > target and not opts.allow_downsample or r < target and not opts.allow_upsample:
        raise AudioError(f"{what}: sample rate {r} Hz of {entry!r} differs from --sample-frequency={target} "
                         f"(allow-downsample={str(opts.allow_downsample).lower()}, "
                         f"allow-upsample={str(opts.allow_upsample).lower()})")
    if r != target:
        from hybrid.data.audio import resample

        x = resample(x, r, target)
    return x, target


def iter_computed_features(utts_audio: Iterable[tuple[str, np.ndarray]], opts: FeatureOptions, *,
                           stats: FeatJobStats | None = None) -> Iterator[tuple[str, np.ndarray]]:
    """Compute features for ``(utt, samples)`` pairs; dither is seeded by the utterance id.

    Utterances shorter than ``--min-duration`` or too short for one frame are logged and skipped.
    """
    from hybrid.features.mfcc import compute_features, utt_seed

    rate = opts.sample_frequency
    for utt, x in utts_audio:
        dur = len(x) / rate
        if dur < opts.min_duration:
            reason = f"{utt}: too short ({dur:.3f} sec): producing no output"
        else:
            try:
                feats = compute_features(x, opts, seed=utt_seed(utt))
            except (ValueError, RuntimeError) as e:
                feats, reason = None, f"{utt}: failed to compute features: {e}"
            else:
                if feats.shape[0] > 0:
                    if stats is not None:
                        stats.done += 1
                        stats.utt2num_frames[utt] = int(feats.shape[0])
                        stats.utt2dur[utt] = dur
                    yield utt, feats
                    continue
                reason = f"{utt}: no frames from {len(x)} samples ({dur:.3f} sec)"
        log.warning("%s", reason)
        if stats is not None:
            stats.failed.append((utt, reason))


def compute_feats_to_table(wav_scp: str | os.PathLike, ark: str | os.PathLike, scp: str | os.PathLike | None,
                           opts: FeatureOptions, *, segments: str | os.PathLike | None = None) -> FeatJobStats:
    """Features of every utterance of ``wav_scp`` (+``segments``) into ``ark`` (+``scp``), atomically."""
    from hybrid.io import write_table

    stats = FeatJobStats()
    audio = iter_utterance_audio(wav_scp, segments, opts=opts, stats=stats)
    write_table(iter_computed_features(audio, opts, stats=stats), ark, scp)
    return stats


def _load_transform(transform) -> np.ndarray | Mapping[str, np.ndarray]:
    if isinstance(transform, (str, os.PathLike)):
        import kaldiio

        spec = str(transform)
        if spec.startswith(("ark:", "scp:", "ark,", "scp,")) or spec.endswith(".scp"):
            from hybrid.io import read_table

            return read_table(spec)
        return np.asarray(kaldiio.load_mat(spec))
    return transform


def iter_features(data_dir: str | os.PathLike, *, cmvn: bool = True, norm_vars: bool = False,
                  delta_order: int = 0, splice: int | tuple[int, int] | None = None,
                  transform=None, utts: Iterable[str] | None = None) -> Iterator[tuple[str, np.ndarray]]:
    """Features of ``data_dir/feats.scp`` in its order, through Kaldi's training pipeline.

    Steps: apply-cmvn (per-speaker ``cmvn.scp`` via ``utt2spk``; ``norm_vars``) → add-deltas
    (``delta_order`` > 0, window 2) → splice-feats (``splice`` = n for ±n, or ``(left, right)``) →
    transform-feats (``transform``: a matrix, a Kaldi matrix file such as ``final.mat``, or a
    table/dict of per-utterance or per-speaker matrices, e.g. fMLLR ``trans.*``). ``utts``
    restricts to those utterances. An utterance without CMVN stats or a per-speaker transform
    is logged and skipped (as apply-cmvn / transform-feats do).
    """
    from hybrid.data.datadir import read_utt2spk
    from hybrid.io import iter_table, read_table

    d = Path(data_dir)
    feats_scp = d / "feats.scp"
    if not feats_scp.is_file():
        raise FileNotFoundError(f"{feats_scp} does not exist (run steps/make_mfcc.sh first)")
    wanted = None if utts is None else set(utts)
    utt2spk: dict[str, str] = {}
    if (d / "utt2spk").is_file():
        utt2spk = read_utt2spk(d / "utt2spk")
    stats: dict[str, np.ndarray] = {}
    if cmvn:
        cmvn_scp = d / "cmvn.scp"
        if not cmvn_scp.is_file():
            raise FileNotFoundError(f"{cmvn_scp} does not exist (run steps/compute_cmvn_stats.sh first)")
        stats = read_table(cmvn_scp)
    if isinstance(splice, int):
        splice = (splice, splice)
    mat = _load_transform(transform) if transform is not None else None
    for utt, feats in iter_table(feats_scp):
        if wanted is not None and utt not in wanted:
            continue
        x = np.asarray(feats, dtype=np.float32)
        spk = utt2spk.get(utt, utt)
        if cmvn:
            st = stats.get(spk)
            if st is None:
                log.warning("No normalization statistics available for key %s, producing no output for this "
                            "utterance", spk)
                continue
            x = apply_cmvn(x, st, norm_vars, what=utt)
        if delta_order > 0:
            x = add_deltas(x, delta_order, 2)
        if splice is not None:
            x = splice_feats(x, splice[0], splice[1])
        if mat is not None:
            if isinstance(mat, Mapping):
                m = mat.get(utt, mat.get(spk))
                if m is None:
                    log.warning("No transform for utterance %s (speaker %s), producing no output", utt, spk)
                    continue
            else:
                m = mat
            x = apply_transform(x, m, what=utt)
        yield utt, x
