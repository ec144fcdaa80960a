"""Conversion between Kaldi data dirs and lhotse manifests (RecordingSet, SupervisionSet, CutSet).

A data dir without ``segments`` has one supervision per recording with the recording's id and
whole duration; converting back writes no ``segments`` for such a set. ``wav.scp`` commands
(``cmd |``) become lhotse ``command`` audio sources and back. A data dir written by
:func:`hybrid.data.write_data_dir` round-trips unchanged (``wav.scp``, ``segments``, ``text``,
``utt2spk``, ``spk2utt``).
"""

from __future__ import annotations

import io
import logging
import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from hybrid.data.datadir import DataDir, DataDirError, Segment, is_piped, load_data_dir, write_data_dir

if TYPE_CHECKING:  # lhotse is imported lazily: it is slow to import
    from lhotse import CutSet, RecordingSet, SupervisionSet

log = logging.getLogger(__name__)


def wav_entry_info(entry: str) -> tuple[int, int, int]:
    """(sampling_rate, num_samples, num_channels) of a ``wav.scp`` value (path or ``cmd |``)."""
    import soundfile as sf

    if is_piped(entry):
        cmd = entry.rstrip()[:-1].rstrip()
        proc = subprocess.run(cmd, shell=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if proc.returncode != 0:
            raise DataDirError(f"command {cmd!r} failed (exit {proc.returncode}): "
                               f"{proc.stderr.decode(errors='replace').strip()[-500:]}")
        with sf.SoundFile(io.BytesIO(proc.stdout)) as f:
            return f.samplerate, f.frames, f.channels
    info = sf.info(entry)
    return info.samplerate, info.frames, info.channels


def _recording(rec_id: str, entry: str):
    from lhotse import AudioSource, Recording

    sr, n, ch = wav_entry_info(entry)
    if is_piped(entry):
        src = AudioSource(type="command", channels=list(range(ch)), source=entry.rstrip()[:-1].rstrip())
    else:
        src = AudioSource(type="file", channels=list(range(ch)), source=entry)
    return Recording(id=rec_id, sources=[src], sampling_rate=sr, num_samples=n, duration=n / sr,
                     channel_ids=list(range(ch)))


def data_dir_to_lhotse(path: str | os.PathLike | DataDir) -> tuple["RecordingSet", "SupervisionSet"]:
    """Kaldi data dir → (RecordingSet, SupervisionSet). Reads each recording's header for its length.

    A recording that cannot be read is reported and skipped, with its utterances.
    """
    from lhotse import RecordingSet, SupervisionSegment, SupervisionSet

    dd = path if isinstance(path, DataDir) else load_data_dir(path)
    recs = {}
    for rec_id in sorted(dd.wav_scp):
        try:
            recs[rec_id] = _recording(rec_id, dd.wav_scp[rec_id])
        except Exception as e:  # noqa: BLE001 - report and skip a bad recording
            log.error("%s/wav.scp: recording %s (%s) unreadable, skipped: %s", dd.path, rec_id,
                      dd.wav_scp[rec_id], e)
    sups = []
    for utt in dd.utts:
        rec_id = dd.recording_of(utt)
        if rec_id not in recs:
            log.error("utterance %s: recording %s not available, skipped", utt, rec_id)
            continue
        if dd.segments is not None:
            seg = dd.segments[utt]
            start, dur = seg.start, seg.end - seg.start
        else:
            start, dur = 0.0, recs[rec_id].duration
        sups.append(SupervisionSegment(id=utt, recording_id=rec_id, start=start, duration=dur, channel=0,
                                       text=None if dd.text is None else dd.text.get(utt),
                                       speaker=dd.utt2spk[utt]))
    return RecordingSet.from_recordings(recs.values()), SupervisionSet.from_segments(sups)


def lhotse_to_data_dir(recordings: "RecordingSet", supervisions: "SupervisionSet",
                       out: str | os.PathLike) -> Path:
    """(RecordingSet, SupervisionSet) → Kaldi data dir at ``out``.

    ``segments`` is written unless every supervision is the whole of a recording with the
    recording's id. Supervisions without a speaker get the utterance id as speaker. Only
    single-source recordings are supported (a file or a command).
    """
    rec_by_id = {r.id: r for r in recordings}
    sups = sorted(supervisions, key=lambda s: s.id)
    wav = {}
    for r in rec_by_id.values():
        if len(r.sources) != 1:
            raise DataDirError(f"recording {r.id}: {len(r.sources)} audio sources; one is supported")
        src = r.sources[0]
        if src.type == "file":
            wav[r.id] = str(src.source)
        elif src.type == "command":
            wav[r.id] = f"{src.source} |"
        elif src.type == "url":
            wav[r.id] = f"curl -s -L {src.source} |"
        else:
            raise DataDirError(f"recording {r.id}: audio source type {src.type!r} has no wav.scp form")
    whole = all(s.id == s.recording_id and abs(s.start) < 1e-4
                and abs(s.duration - rec_by_id[s.recording_id].duration) < 1e-3 for s in sups
                if s.recording_id in rec_by_id)
    dd = DataDir()
    for s in sups:
        if s.recording_id not in rec_by_id:
            log.error("supervision %s: recording %s not in the RecordingSet, skipped", s.id, s.recording_id)
            continue
        dd.utt2spk[s.id] = s.speaker if s.speaker else s.id
    kept = [s for s in sups if s.id in dd.utt2spk]
    if whole:
        dd.wav_scp = {s.id: wav[s.id] for s in kept}
    else:
        dd.wav_scp = {r: wav[r] for r in sorted({s.recording_id for s in kept})}
        dd.segments = {s.id: Segment(s.recording_id, s.start, s.start + s.duration) for s in kept}
    if any(s.text is not None for s in kept):
        dd.text = {s.id: (s.text or "") for s in kept}
    return write_data_dir(dd, out)


def data_dir_to_cuts(path: str | os.PathLike) -> "CutSet":
    """Kaldi data dir → CutSet (one cut per recording, carrying its supervisions)."""
    from lhotse import CutSet

    recs, sups = data_dir_to_lhotse(path)
    return CutSet.from_manifests(recordings=recs, supervisions=sups)


def cuts_to_data_dir(cuts: "CutSet", out: str | os.PathLike) -> Path:
    """CutSet → Kaldi data dir (the cuts' recordings and their supervisions, in recording time)."""
    from lhotse import RecordingSet, SupervisionSet

    recs, sups = {}, {}
    for cut in cuts:
        if not hasattr(cut, "recording") or cut.recording is None:
            raise DataDirError(f"cut {cut.id}: only cuts with a recording can be written as a data dir")
        recs[cut.recording.id] = cut.recording
        for s in cut.supervisions:
            sups[s.id] = s.with_offset(cut.start)
    return lhotse_to_data_dir(RecordingSet.from_recordings(recs.values()),
                              SupervisionSet.from_segments(sups.values()), out)
