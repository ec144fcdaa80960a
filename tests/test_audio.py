"""read_audio: files, pipes, segments, and the errors that name the utterance and the file."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from hybrid.data.audio import AudioError, _read_sphere, read_audio


def _wav(path, x, rate=16000, subtype="PCM_16"):
    sf.write(str(path), x, rate, subtype=subtype)
    return str(path)


@pytest.fixture
def tone():
    rng = np.random.default_rng(0)
    return rng.integers(-3000, 3000, size=16000).astype(np.int16)


def test_reads_wav_in_int16_scale(tmp_path, tone):
    p = _wav(tmp_path / "a.wav", tone)
    x, rate = read_audio(p, expected_rate=16000, what="utt1")
    assert rate == 16000 and x.dtype == np.float32 and x.ndim == 1
    np.testing.assert_array_equal(x, tone.astype(np.float32))
    # FLAC too
    q = _wav(tmp_path / "a.flac", tone)
    np.testing.assert_array_equal(read_audio(q)[0], tone.astype(np.float32))


def test_pipe_and_segment(tmp_path, tone):
    p = _wav(tmp_path / "a.wav", tone)
    x, rate = read_audio(f"cat {p} |", what="utt1")
    np.testing.assert_array_equal(x, tone.astype(np.float32))
    seg, _ = read_audio(p, start=0.25, end=0.5)
    np.testing.assert_array_equal(seg, tone[4000:8000].astype(np.float32))
    # an end a little past the file is clipped (extract-segments tolerance), far past is an error
    assert len(read_audio(p, start=0.5, end=1.2)[0]) == 8000
    with pytest.raises(AudioError, match=r"utt9: segment .* ends past the end"):
        read_audio(p, start=0.5, end=3.0, what="utt9")


def test_sox_pipe(tmp_path, tone):
    from conftest import require_binary

    require_binary("sox")
    p = _wav(tmp_path / "a.wav", tone)
    x, rate = read_audio(f"sox {p} -t wav - |")
    np.testing.assert_array_equal(x, tone.astype(np.float32))


def test_missing_file_names_utt_and_path(tmp_path):
    with pytest.raises(AudioError, match=r"^utt1: audio file .*nope\.wav does not exist"):
        read_audio(str(tmp_path / "nope.wav"), what="utt1")
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(AudioError, match=r"utt2: audio file .*empty\.wav is empty"):
        read_audio(str(empty), what="utt2")
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(b"this is not audio at all" * 10)
    with pytest.raises(AudioError, match=r"utt3: cannot read audio from file .*garbage\.wav"):
        read_audio(str(garbage), what="utt3")


def test_failing_pipe_reports_command_and_stderr():
    with pytest.raises(AudioError) as e:
        read_audio("echo 'sox FAIL: cannot open x.sph' >&2; exit 3 |", what="rec7")
    msg = str(e.value)
    assert msg.startswith("rec7: command failed with exit status 3")
    assert "exit 3" in msg and "sox FAIL: cannot open x.sph" in msg
    # the failure of an earlier command of a pipeline is not hidden by a later one
    with pytest.raises(AudioError, match="exit status"):
        read_audio("false | cat |", what="rec8")
    with pytest.raises(AudioError, match="rec9: command wrote no audio"):
        read_audio("true |", what="rec9")


def test_zero_length_audio(tmp_path):
    p = _wav(tmp_path / "z.wav", np.zeros(0, dtype=np.int16))
    with pytest.raises(AudioError, match=r"uttz: .*z\.wav has no samples"):
        read_audio(p, what="uttz")


def test_stereo_needs_a_channel(tmp_path, tone):
    st = np.stack([tone, -tone], axis=1)
    p = _wav(tmp_path / "s.wav", st)
    with pytest.raises(AudioError, match=r"utt4: file .*s\.wav has 2 channels; choose one"):
        read_audio(p, what="utt4")
    np.testing.assert_array_equal(read_audio(p, channel=1)[0], -tone.astype(np.float32))
    with pytest.raises(AudioError, match="no channel 2"):
        read_audio(p, channel=2)


def test_wrong_rate_error_or_resample(tmp_path):
    t = np.arange(8000) / 8000
    x8 = (8000 * np.sin(2 * np.pi * 300 * t)).astype(np.int16)
    p = _wav(tmp_path / "r.wav", x8, rate=8000)
    with pytest.raises(AudioError, match=r"utt5: file .*r\.wav has sample rate 8000 Hz, expected 16000 Hz"):
        read_audio(p, expected_rate=16000, what="utt5")
    y, rate = read_audio(p, expected_rate=16000, resample_to=16000)
    assert rate == 16000 and len(y) == 16000
    t16 = np.arange(16000) / 16000
    ref = 8000 * np.sin(2 * np.pi * 300 * t16)
    assert np.abs(y[200:-200] - ref[200:-200]).max() < 100  # a clean 300 Hz tone survives


def test_sphere(tmp_path, tone):
    # a SPHERE file written by hand, read by soundfile and by our fallback parser alike
    header = (b"NIST_1A\n   1024\nsample_count -i 16000\nsample_rate -i 16000\nchannel_count -i 1\n"
              b"sample_n_bytes -i 2\nsample_byte_format -s2 01\nsample_coding -s3 pcm\nend_head\n")
    data = header.ljust(1024, b" ") + tone.astype("<i2").tobytes()
    p = tmp_path / "a.sph"
    p.write_bytes(data)
    x, rate = read_audio(str(p), expected_rate=16000)
    np.testing.assert_array_equal(x, tone.astype(np.float32))
    y, r2 = _read_sphere(data, str(p))
    assert r2 == 16000
    np.testing.assert_array_equal(y, tone.astype(np.float32))
    be = header.replace(b"-s2 01", b"-s2 10").ljust(1024, b" ") + tone.astype(">i2").tobytes()
    np.testing.assert_array_equal(_read_sphere(be, "x")[0], tone.astype(np.float32))


@pytest.mark.corpus
def test_an4_sphere(an4_dir):
    f = sorted((an4_dir / "wav" / "an4test_clstk").glob("*/*.sph"))[0]
    x, rate = read_audio(str(f), expected_rate=16000, what=f.stem)
    y, r2 = _read_sphere(f.read_bytes(), str(f))
    assert rate == r2 == 16000 and len(x) > 16000
    np.testing.assert_array_equal(x, y)
