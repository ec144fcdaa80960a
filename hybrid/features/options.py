"""Kaldi feature options (names and defaults of compute-mfcc-feats / compute-fbank-feats).

Options are plain dataclasses whose field names are Kaldi's option names with ``-`` → ``_``.
:func:`read_kaldi_config` parses a Kaldi config file (``--use-energy=false`` lines, ``#``
comments) and :func:`mfcc_options` / :func:`fbank_options` build options from one.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping


@dataclass
class FeatureOptions:
    """Options shared by MFCC and fbank (frame extraction, mel banks, compute-*-feats)."""

    # frame extraction (FrameExtractionOptions)
    sample_frequency: float = 16000.0
    frame_length: float = 25.0  # ms
    frame_shift: float = 10.0  # ms
    dither: float = 1.0
    preemphasis_coefficient: float = 0.97
    remove_dc_offset: bool = True
    window_type: str = "povey"
    round_to_power_of_two: bool = True
    blackman_coeff: float = 0.42
    snip_edges: bool = True
    allow_downsample: bool = False
    allow_upsample: bool = False
    max_feature_vectors: int = -1
    # mel banks (MelBanksOptions)
    num_mel_bins: int = 23
    low_freq: float = 20.0
    high_freq: float = 0.0
    vtln_low: float = 100.0
    vtln_high: float = -500.0
    debug_mel: bool = False
    htk_mode: bool = False
    # energy
    use_energy: bool = True
    energy_floor: float = 0.0
    raw_energy: bool = True
    htk_compat: bool = False
    # compute-*-feats program options
    channel: int = -1
    min_duration: float = 0.0
    subtract_mean: bool = False
    vtln_warp: float = 1.0
    output_format: str = "kaldi"
    verbose: int = 0

    @property
    def window_size(self) -> int:
        """Frame length in samples."""
        return int(self.sample_frequency * 0.001 * self.frame_length)

    @property
    def window_shift(self) -> int:
        """Frame shift in samples."""
        return int(self.sample_frequency * 0.001 * self.frame_shift)

    @property
    def padded_window_size(self) -> int:
        n = self.window_size
        return 1 << (n - 1).bit_length() if self.round_to_power_of_two else n

    def validate(self) -> None:
        if self.window_size < 2 or self.window_shift < 1:
            raise ValueError(f"frame length {self.frame_length} ms / shift {self.frame_shift} ms too small "
                             f"at {self.sample_frequency} Hz")
        if self.window_type not in ("hamming", "hanning", "povey", "rectangular", "sine", "blackman"):
            raise ValueError(f"invalid --window-type={self.window_type}")
        if self.vtln_warp != 1.0:
            raise ValueError("--vtln-warp other than 1.0 is not supported")
        if self.htk_mode:
            raise ValueError("--htk-mode=true is not supported")
        nyquist = 0.5 * self.sample_frequency
        high = self.high_freq if self.high_freq > 0 else nyquist + self.high_freq
        if not (0.0 <= self.low_freq < high <= nyquist):
            raise ValueError(f"bad mel-bank frequencies: low-freq {self.low_freq}, high-freq {self.high_freq} "
                             f"(nyquist {nyquist})")


@dataclass
class MfccOptions(FeatureOptions):
    """compute-mfcc-feats options (Kaldi defaults)."""

    num_ceps: int = 13
    cepstral_lifter: float = 22.0

    def validate(self) -> None:
        super().validate()
        if not 1 <= self.num_ceps <= self.num_mel_bins:
            raise ValueError(f"--num-ceps={self.num_ceps} must be in [1, --num-mel-bins={self.num_mel_bins}]")

    @property
    def dim(self) -> int:
        return self.num_ceps


@dataclass
class FbankOptions(FeatureOptions):
    """compute-fbank-feats options (Kaldi defaults: use-energy false)."""

    use_energy: bool = False
    use_log_fbank: bool = True
    use_power: bool = True

    @property
    def dim(self) -> int:
        return self.num_mel_bins + (1 if self.use_energy else 0)


class ConfigError(ValueError):
    """A bad line in a Kaldi config file or a bad option value."""


def _convert(name: str, value: str | None, typ: Any, where: str) -> Any:
    if typ in (bool, "bool"):
        if value is None or value.lower() == "true":
            return True
        if value.lower() == "false":
            return False
        raise ConfigError(f"{where}: option --{name} expects true or false, got {value!r}")
    if value is None:
        raise ConfigError(f"{where}: option --{name} needs a value")
    try:
        if typ in (int, "int"):
            return int(value)
        if typ in (float, "float"):
            return float(value)
    except ValueError:
        raise ConfigError(f"{where}: invalid value {value!r} for option --{name}") from None
    return value


def read_kaldi_config(path: str | os.PathLike) -> dict[str, str | None]:
    """Read a Kaldi config file into ``{option_name_with_underscores: value_string}``.

    Lines are ``--name=value`` or ``--name`` (boolean true); ``#`` starts a comment; blank
    lines are skipped; ``--config=other`` includes another file (relative to the cwd, as Kaldi).
    """
    return {k: v for k, (v, _) in _read_config_located(path).items()}


def _read_config_located(path: str | os.PathLike) -> dict[str, tuple[str | None, str]]:
    """Like :func:`read_kaldi_config`, with ``file:line`` of each option."""
    out: dict[str, tuple[str | None, str]] = {}
    path = Path(path)
    with open(path, encoding="utf-8") as f:
        for lineno, raw in enumerate(f, 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            where = f"{path}:{lineno}"
            if not line.startswith("--") or " " in line.split("=", 1)[0]:
                raise ConfigError(f"{where}: expected --option=value, got {raw.strip()!r}")
            name, eq, value = line[2:].partition("=")
            name = name.replace("-", "_")
            if name == "config":
                out.update(_read_config_located(value))
                continue
            out[name] = (value.strip() if eq else None, where)
    return out


def _apply(opts: FeatureOptions, settings: Mapping[str, Any], where: str) -> FeatureOptions:
    """Set options; a value may be a ``(string, "file:line")`` pair from a config file."""
    fields = {f.name: f for f in dataclasses.fields(opts)}
    types = {f.name: f.type for f in fields.values()}
    default_where = where
    for name, value in settings.items():
        where = default_where
        if isinstance(value, tuple):
            value, where = value
        key = name.replace("-", "_")
        if key not in fields:
            raise ConfigError(f"{where}: unknown option --{name.replace('_', '-')} for {type(opts).__name__}")
        if value is None or isinstance(value, str):
            value = _convert(key, value, types[key], where)
        setattr(opts, key, value)
    return opts


def mfcc_options(config: str | os.PathLike | None = None, **overrides: Any) -> MfccOptions:
    """MFCC options from Kaldi defaults, then a config file, then keyword overrides."""
    opts = MfccOptions()
    if config is not None:
        _apply(opts, _read_config_located(config), str(config))
    _apply(opts, overrides, "options")
    opts.validate()
    return opts


def fbank_options(config: str | os.PathLike | None = None, **overrides: Any) -> FbankOptions:
    """Fbank options from Kaldi defaults, then a config file, then keyword overrides."""
    opts = FbankOptions()
    if config is not None:
        _apply(opts, _read_config_located(config), str(config))
    _apply(opts, overrides, "options")
    opts.validate()
    return opts
