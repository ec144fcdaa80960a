"""Kaldi data directories: read and write ``wav.scp``, ``text``, ``utt2spk``, ``spk2utt``, ``segments`` ...

A data directory is a set of small text tables, one ``<key> <value...>`` entry per line, sorted
by key in ``LC_ALL=C`` (byte) order. The files and what they are keyed by:

=====================  ===========  ==========================================
file                   key          value
=====================  ===========  ==========================================
wav.scp                recording    path, or a command ending in ``|``
segments               utterance    ``<recording> <start> <end>`` (seconds)
text                   utterance    the transcript (may be empty; validate rejects that)
utt2spk                utterance    speaker
spk2utt                speaker      utterances (derived from utt2spk)
utt2dur                utterance    duration in seconds
utt2num_frames         utterance    number of feature frames
reco2dur               recording    duration in seconds
feats.scp / cmvn.scp   utt / spk    ark:offset (passed through untouched)
=====================  ===========  ==========================================

Without ``segments`` recordings are utterances (``wav.scp`` is keyed by utterance id).
Other tables found in the directory (``spk2gender``, ``utt2uniq``, ``vad.scp`` ...) are kept
as ``extra`` and passed through. Python's ``str`` order is Unicode code-point order, which is
the byte order of UTF-8, i.e. the order of ``LC_ALL=C sort``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Mapping, NamedTuple

from hybrid.io import atomic_write
from hybrid.io.symbols import FormatError

# Tables and what their first column is (used by fix/split/subset/copy to filter them).
UTT_FILES = ("utt2spk", "text", "segments", "feats.scp", "utt2dur", "utt2num_frames", "vad.scp",
             "utt2lang", "utt2uniq", "utt2warp", "utt2gender")
SPK_FILES = ("spk2utt", "cmvn.scp", "spk2gender", "spk2warp")
RECO_FILES = ("reco2file_and_channel", "reco2dur", "reco2num_samples")
# wav.scp is keyed by recording with segments, by utterance without.

KNOWN_FILES = ("wav.scp",) + UTT_FILES + SPK_FILES + RECO_FILES


class DataDirError(ValueError):
    """A data directory is inconsistent; the message names the file and line where possible."""


class Entry(NamedTuple):
    key: str
    value: str
    lineno: int


class Segment(NamedTuple):
    recording: str
    start: float
    end: float


def c_sorted(keys: Iterable[str]) -> list[str]:
    """Sort as ``LC_ALL=C sort`` does (byte order of UTF-8 = code-point order)."""
    return sorted(keys)


def iter_entries(path: str | os.PathLike, min_value_fields: int = 0) -> Iterator[Entry]:
    """Yield ``(key, rest-of-line, lineno)`` from a Kaldi table file.

    The value is the rest of the line with the separating and trailing whitespace removed.
    Raises :class:`FormatError` naming ``file:line`` for blank lines, non-UTF-8 bytes, or
    fewer than ``min_value_fields`` value fields.
    """
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise FormatError(f"{path}:{lineno}: not valid UTF-8 ({e})") from None
            line = line.rstrip("\n")
            if line.endswith("\r"):
                raise FormatError(f"{path}:{lineno}: line ends in a carriage return (DOS line ending)")
            parts = line.split(None, 1)
            if not parts:
                raise FormatError(f"{path}:{lineno}: empty line")
            if line[0].isspace():
                raise FormatError(f"{path}:{lineno}: line starts with whitespace")
            key = parts[0]
            value = parts[1].strip() if len(parts) > 1 else ""
            if min_value_fields and len(value.split()) < min_value_fields:
                raise FormatError(f"{path}:{lineno}: expected at least {min_value_fields} field(s) after "
                                  f"the key, got {line!r}")
            yield Entry(key, value, lineno)


def read_table_file(path: str | os.PathLike, min_value_fields: int = 0) -> dict[str, str]:
    """Read a ``<key> <value>`` table into a dict (file order); duplicate keys are an error."""
    out: dict[str, str] = {}
    first: dict[str, int] = {}
    for e in iter_entries(path, min_value_fields):
        if e.key in out:
            raise FormatError(f"{path}:{e.lineno}: duplicate key {e.key!r} (first on line {first[e.key]})")
        out[e.key] = e.value
        first[e.key] = e.lineno
    return out


def write_table_file(path: str | os.PathLike, table: Mapping[str, object], sort: bool = True) -> None:
    """Write a ``<key> <value>`` table atomically (sorted by key in C order unless ``sort=False``)."""
    keys = c_sorted(table) if sort else list(table)
    with atomic_write(path) as f:
        for k in keys:
            v = table[k]
            if isinstance(v, (list, tuple)):
                v = " ".join(str(x) for x in v)
            v = str(v)
            f.write(f"{k} {v}\n" if v != "" else f"{k}\n")


def format_time(x: float) -> str:
    """Seconds as Kaldi data dirs write them: 2 decimals, 3 when needed (``1.20``, ``0.125``)."""
    s = f"{x:.3f}"
    return s[:-1] if s.endswith("0") else s


def format_float(x: float) -> str:
    """A float as C++'s default ostream prints it (6 significant digits): ``2.56``, ``1``."""
    return f"{x:.6g}"


def utt2spk_to_spk2utt(utt2spk: Mapping[str, str]) -> dict[str, list[str]]:
    """``utils/utt2spk_to_spk2utt.pl``: speakers in order of first appearance, utts in file order."""
    spk2utt: dict[str, list[str]] = {}
    for utt, spk in utt2spk.items():
        spk2utt.setdefault(spk, []).append(utt)
    return spk2utt


def spk2utt_to_utt2spk(spk2utt: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """``utils/spk2utt_to_utt2spk.pl``."""
    return {utt: spk for spk, utts in spk2utt.items() for utt in utts}


@dataclass
class DataDir:
    """The tables of a Kaldi data directory (values as in the files; see the module docstring)."""

    utt2spk: dict[str, str] = field(default_factory=dict)
    wav_scp: dict[str, str] = field(default_factory=dict)
    text: dict[str, str] | None = None
    segments: dict[str, Segment] | None = None
    utt2dur: dict[str, float] | None = None
    utt2num_frames: dict[str, int] | None = None
    reco2dur: dict[str, float] | None = None
    feats_scp: dict[str, str] | None = None
    cmvn_scp: dict[str, str] | None = None
    extra: dict[str, dict[str, str]] = field(default_factory=dict)
    path: Path | None = None

    @property
    def utts(self) -> list[str]:
        return c_sorted(self.utt2spk)

    @property
    def spk2utt(self) -> dict[str, list[str]]:
        """Speaker → sorted utterances, speakers sorted."""
        s2u = utt2spk_to_spk2utt({u: self.utt2spk[u] for u in self.utts})
        return {s: s2u[s] for s in c_sorted(s2u)}

    @property
    def speakers(self) -> list[str]:
        return c_sorted(set(self.utt2spk.values()))

    def words(self, utt: str) -> list[str]:
        if self.text is None:
            raise KeyError(f"data dir {self.path} has no text")
        return self.text[utt].split()

    def recording_of(self, utt: str) -> str:
        """The ``wav.scp`` key holding utterance ``utt``."""
        return self.segments[utt].recording if self.segments is not None else utt

    def wav_entry(self, utt: str) -> str:
        return self.wav_scp[self.recording_of(utt)]

    def __len__(self) -> int:
        return len(self.utt2spk)


def _parse_float_table(path: Path, kind=float) -> dict[str, float]:
    out = {}
    for e in iter_entries(path, 1):
        if e.key in out:
            raise FormatError(f"{path}:{e.lineno}: duplicate key {e.key!r}")
        try:
            if len(e.value.split()) != 1:
                raise ValueError
            out[e.key] = kind(e.value)
        except ValueError:
            raise FormatError(f"{path}:{e.lineno}: expected '<key> <{kind.__name__}>', got {e.value!r}") from None
    return out


def read_segments(path: str | os.PathLike) -> dict[str, Segment]:
    """Read ``segments`` (``<utt> <rec> <start> <end>``); end must exceed start."""
    out: dict[str, Segment] = {}
    for e in iter_entries(path, 3):
        f = e.value.split()
        if len(f) != 3:
            raise FormatError(f"{path}:{e.lineno}: expected '<utt> <recording> <start> <end>', got {e.value!r}")
        try:
            start, end = float(f[1]), float(f[2])
        except ValueError:
            raise FormatError(f"{path}:{e.lineno}: bad start/end times {f[1]!r} {f[2]!r}") from None
        if e.key in out:
            raise FormatError(f"{path}:{e.lineno}: duplicate utterance {e.key!r}")
        if not (end > start >= 0):
            raise FormatError(f"{path}:{e.lineno}: segment needs 0 <= start < end, got {start} {end}")
        out[e.key] = Segment(f[0], start, end)
    return out


def read_utt2spk(path: str | os.PathLike) -> dict[str, str]:
    """Read ``utt2spk`` (exactly two fields a line)."""
    out = {}
    for e in iter_entries(path, 1):
        if len(e.value.split()) != 1:
            raise FormatError(f"{path}:{e.lineno}: expected '<utt> <spk>', got {e.key} {e.value!r}")
        if e.key in out:
            raise FormatError(f"{path}:{e.lineno}: duplicate utterance {e.key!r}")
        out[e.key] = e.value
    return out


def read_spk2utt(path: str | os.PathLike) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for e in iter_entries(path, 1):
        if e.key in out:
            raise FormatError(f"{path}:{e.lineno}: duplicate speaker {e.key!r}")
        out[e.key] = e.value.split()
    return out


def load_data_dir(path: str | os.PathLike) -> DataDir:
    """Read a data directory. Needs ``utt2spk`` (or ``spk2utt``); everything else is optional.

    Parse errors name ``file:line``. Consistency is not checked here: see :func:`validate_data_dir`.
    """
    d = Path(path)
    if not d.is_dir():
        raise DataDirError(f"{d}: no such data directory")
    dd = DataDir(path=d)
    if (d / "utt2spk").is_file():
        dd.utt2spk = read_utt2spk(d / "utt2spk")
    elif (d / "spk2utt").is_file():
        dd.utt2spk = spk2utt_to_utt2spk(read_spk2utt(d / "spk2utt"))
    else:
        raise DataDirError(f"{d}: neither utt2spk nor spk2utt exists")
    if (d / "wav.scp").is_file():
        dd.wav_scp = read_table_file(d / "wav.scp", 1)
    if (d / "text").is_file():
        dd.text = read_table_file(d / "text")
    if (d / "segments").is_file():
        dd.segments = read_segments(d / "segments")
    if (d / "utt2dur").is_file():
        dd.utt2dur = _parse_float_table(d / "utt2dur")
    if (d / "utt2num_frames").is_file():
        dd.utt2num_frames = _parse_float_table(d / "utt2num_frames", int)
    if (d / "reco2dur").is_file():
        dd.reco2dur = _parse_float_table(d / "reco2dur")
    if (d / "feats.scp").is_file():
        dd.feats_scp = read_table_file(d / "feats.scp", 1)
    if (d / "cmvn.scp").is_file():
        dd.cmvn_scp = read_table_file(d / "cmvn.scp", 1)
    for name in KNOWN_FILES:
        if name in ("wav.scp", "utt2spk", "spk2utt", "text", "segments", "utt2dur", "utt2num_frames",
                    "reco2dur", "feats.scp", "cmvn.scp"):
            continue
        if (d / name).is_file():
            dd.extra[name] = read_table_file(d / name)
    return dd


def write_data_dir(dd: DataDir, path: str | os.PathLike) -> Path:
    """Write ``dd`` to ``path`` (sorted, atomically), regenerating ``spk2utt`` from ``utt2spk``.

    Files for tables that are ``None`` are removed if present, so the directory matches ``dd``.
    """
    d = Path(path)
    d.mkdir(parents=True, exist_ok=True)
    write_table_file(d / "utt2spk", dd.utt2spk)
    write_table_file(d / "spk2utt", dd.spk2utt)
    write_table_file(d / "wav.scp", dd.wav_scp)
    opt: dict[str, Mapping[str, object] | None] = {
        "text": dd.text,
        "segments": None if dd.segments is None else
        {u: f"{s.recording} {format_time(s.start)} {format_time(s.end)}" for u, s in dd.segments.items()},
        "utt2dur": None if dd.utt2dur is None else {u: format_float(v) for u, v in dd.utt2dur.items()},
        "utt2num_frames": dd.utt2num_frames,
        "reco2dur": None if dd.reco2dur is None else {u: format_float(v) for u, v in dd.reco2dur.items()},
        "feats.scp": dd.feats_scp,
        "cmvn.scp": dd.cmvn_scp,
    }
    for name, table in opt.items():
        if table is None:
            (d / name).unlink(missing_ok=True)
        else:
            write_table_file(d / name, table)
    for name, table in dd.extra.items():
        write_table_file(d / name, table)
    return d


_PIPE_RE = re.compile(r"\|\s*$")


def is_piped(entry: str) -> bool:
    """True when a ``wav.scp`` value is a command (``sox x.sph -t wav - |``)."""
    return bool(_PIPE_RE.search(entry))
