"""Read the audio of one ``wav.scp`` entry (a file or a command ending in ``|``).

Samples come back as float32 in int16 scale (what Kaldi's WaveData holds), so features match
Kaldi's. Files are read with soundfile (WAV, FLAC, NIST SPHERE with PCM samples, ...); SPHERE
files libsndfile cannot open are parsed here when their samples are plain PCM. A command is run
through bash and must write a WAV (or any soundfile format) to stdout.
"""

from __future__ import annotations

import io
import os
import struct
import subprocess
from math import gcd

import numpy as np

# Kaldi's extract-segments tolerates a segment end up to this far past the end of the file.
MAX_SEGMENT_OVERSHOOT = 0.5


class AudioError(RuntimeError):
    """Audio that cannot be used; the message names the utterance/recording and the file or command."""


def _label(what: str) -> str:
    return f"{what}: " if what else ""


def _read_sphere(data: bytes, source: str) -> tuple[np.ndarray, int]:
    """Parse an uncompressed NIST SPHERE file (PCM 16-bit, or 8-bit ulaw/pcm)."""
    if not data.startswith(b"NIST_1A"):
        raise ValueError("not a NIST SPHERE file")
    header_size = int(data[8:16].strip())
    fields: dict[str, str] = {}
    for line in data[16:header_size].decode("latin-1").splitlines():
        parts = line.split(None, 2)
        if parts and parts[0] == "end_head":
            break
        if len(parts) == 3:
            fields[parts[0]] = parts[2].strip()
    rate = int(fields.get("sample_rate", "0"))
    channels = int(fields.get("channel_count", "1"))
    width = int(fields.get("sample_n_bytes", "2"))
    coding = fields.get("sample_coding", "pcm")
    if coding not in ("pcm", "ulaw", "mu-law"):
        raise ValueError(f"unsupported SPHERE sample coding {coding!r} (shorten-compressed? decompress it first)")
    body = data[header_size:]
    if coding in ("ulaw", "mu-law"):
        u = ~np.frombuffer(body, dtype=np.uint8)
        sign, exp, mant = u & 0x80, (u >> 4) & 0x07, u & 0x0F
        mag = ((mant.astype(np.int32) << 3) + 0x84) << exp
        x = np.where(sign != 0, 0x84 - mag, mag - 0x84).astype(np.float32)
    elif width == 2:
        order = fields.get("sample_byte_format", "01")
        dt = "<i2" if order in ("01", "1") else ">i2"
        x = np.frombuffer(body[: len(body) // 2 * 2], dtype=dt).astype(np.float32)
    else:
        raise ValueError(f"unsupported SPHERE sample width {width}")
    if channels > 1:
        x = x[: len(x) // channels * channels].reshape(-1, channels)
    return x, rate


def _read_riff_lenient(data: bytes) -> tuple[np.ndarray, int]:
    """A RIFF/WAV stream whose header sizes are wrong (streamed output): 16-bit PCM only."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not a RIFF WAVE stream")
    pos, rate, channels, bits, fmt = 12, 0, 1, 16, 1
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        if cid == b"fmt ":
            fmt, channels, rate = struct.unpack("<HHI", data[pos + 8:pos + 16])
            bits = struct.unpack("<H", data[pos + 22:pos + 24])[0]
        elif cid == b"data":
            if fmt not in (1, 0xFFFE) or bits != 16:
                raise ValueError(f"unsupported WAV format {fmt} with {bits} bits")
            body = data[pos + 8:]
            x = np.frombuffer(body[: len(body) // (2 * channels) * 2 * channels], dtype="<i2").astype(np.float32)
            return (x.reshape(-1, channels) if channels > 1 else x), rate
        pos += 8 + size + (size & 1)
    raise ValueError("no data chunk")


def _decode(data: bytes | str, source: str) -> tuple[np.ndarray, int]:
    """Decode a file path or an in-memory stream into (samples in int16 scale, rate)."""
    import soundfile as sf

    try:
        obj = io.BytesIO(data) if isinstance(data, bytes) else data
        x, rate = sf.read(obj, dtype="float32", always_2d=False)
        return x * np.float32(32768.0), int(rate)
    except Exception as first:  # noqa: BLE001 - try the fallbacks, then report the first error
        raw = data if isinstance(data, bytes) else open(data, "rb").read()
        for fallback in (_read_sphere, _read_riff_lenient):
            try:
                return fallback(raw, source) if fallback is _read_sphere else fallback(raw)
            except Exception:  # noqa: BLE001
                continue
        raise first


def _run_pipe(command: str, what: str) -> bytes:
    proc = subprocess.run(["bash", "-o", "pipefail", "-c", command], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip()
        tail = "\n".join(err.splitlines()[-10:])
        raise AudioError(f"{_label(what)}command failed with exit status {proc.returncode}: {command}"
                         + (f"\n{tail}" if tail else ""))
    if not proc.stdout:
        raise AudioError(f"{_label(what)}command wrote no audio: {command}")
    return proc.stdout


def resample(x: np.ndarray, rate: int, new_rate: int) -> np.ndarray:
    """Polyphase resampling (scipy) of a 1-D signal from ``rate`` to ``new_rate`` Hz."""
    from scipy.signal import resample_poly

    g = gcd(int(rate), int(new_rate))
    return resample_poly(x.astype(np.float64), int(new_rate) // g, int(rate) // g).astype(np.float32)


def read_audio(entry: str, *, expected_rate: float | None = None, resample_to: float | None = None,
               what: str = "", channel: int | None = None, start: float = 0.0,
               end: float | None = None) -> tuple[np.ndarray, int]:
    """Read one ``wav.scp`` value: a path, or a command ending in ``|`` (run through bash).

    Returns ``(samples, rate)``: 1-D float32 in int16 scale. ``what`` (an utterance or recording
    id) starts every error message. ``channel`` picks a channel of multi-channel audio (an error
    otherwise, as Kaldi's ``--channel=-1``). ``start``/``end`` (seconds, ``end`` None or negative
    = to the end) cut a segment; an end up to 0.5 s past the file is clipped, as extract-segments.
    ``resample_to`` resamples audio of another rate; otherwise a rate different from
    ``expected_rate`` is an error.
    """
    entry = entry.strip()
    if not entry:
        raise AudioError(f"{_label(what)}empty wav.scp entry")
    if entry.endswith("|"):
        command = entry[:-1].strip()
        source = f"command '{command}'"
        data: bytes | str = _run_pipe(command, what)
    else:
        path = entry
        source = f"file {path}"
        if not os.path.exists(path):
            raise AudioError(f"{_label(what)}audio file {path} does not exist")
        if os.path.getsize(path) == 0:
            raise AudioError(f"{_label(what)}audio file {path} is empty")
        data = path
    try:
        x, rate = _decode(data, source)
    except Exception as e:  # noqa: BLE001
        raise AudioError(f"{_label(what)}cannot read audio from {source}: {e}") from None
    if x.ndim == 2:
        if x.shape[1] == 1:
            x = x[:, 0]
        elif channel is None or channel < 0:
            raise AudioError(f"{_label(what)}{source} has {x.shape[1]} channels; choose one (--channel)")
        elif channel >= x.shape[1]:
            raise AudioError(f"{_label(what)}{source} has {x.shape[1]} channels, no channel {channel}")
        else:
            x = x[:, channel]
    x = np.ascontiguousarray(x, dtype=np.float32)
    if start > 0.0 or (end is not None and end >= 0):
        n = len(x)
        s = int(round(start * rate))
        e = n if end is None or end < 0 else int(round(end * rate))
        if e > n:
            if (e - n) / rate > MAX_SEGMENT_OVERSHOOT:
                raise AudioError(f"{_label(what)}segment {start}-{end} s ends past the end of {source} "
                                 f"({n / rate:.3f} s)")
            e = n
        if s >= e:
            raise AudioError(f"{_label(what)}segment {start}-{end} s is empty in {source} ({n / rate:.3f} s)")
        x = x[s:e]
    if len(x) == 0:
        raise AudioError(f"{_label(what)}{source} has no samples")
    target = resample_to if resample_to is not None else expected_rate
    if target is not None and int(round(target)) != rate:
        if resample_to is None:
            raise AudioError(f"{_label(what)}{source} has sample rate {rate} Hz, expected {int(round(target))} Hz "
                             "(set --allow-downsample/--allow-upsample to resample)")
        x = resample(x, rate, int(round(target)))
        rate = int(round(target))
    return x, rate
