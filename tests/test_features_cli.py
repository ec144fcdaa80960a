"""The feature commands and steps/make_mfcc.sh + steps/compute_cmvn_stats.sh on a small data dir."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from hybrid.io import read_table

REPO = Path(__file__).resolve().parent.parent


def _make_data_dir(d: Path, n_spk=2, n_utt=3, bad=False) -> dict[str, np.ndarray]:
    """A tiny data dir of synthetic 16 kHz WAVs (speaker ids prefix utterance ids)."""
    rng = np.random.default_rng(0)
    (d / "wav").mkdir(parents=True)
    waves, wav_lines, u2s = {}, [], []
    for s in range(n_spk):
        for u in range(n_utt):
            utt = f"spk{s}-utt{u}"
            x = (rng.standard_normal(8000 + 1600 * u) * 1000 * (s + 1)).astype(np.int16)
            sf.write(str(d / "wav" / f"{utt}.wav"), x, 16000, subtype="PCM_16")
            waves[utt] = x
            wav_lines.append(f"{utt} {d / 'wav' / f'{utt}.wav'}")
            u2s.append(f"{utt} spk{s}")
    if bad:
        wav_lines.append("spk1-zbad false |")
        u2s.append("spk1-zbad spk1")
    (d / "wav.scp").write_text("\n".join(sorted(wav_lines)) + "\n")
    (d / "utt2spk").write_text("\n".join(sorted(u2s)) + "\n")
    spk2utt = {}
    for line in sorted(u2s):
        u, s = line.split()
        spk2utt.setdefault(s, []).append(u)
    (d / "spk2utt").write_text("".join(f"{s} {' '.join(us)}\n" for s, us in spk2utt.items()))
    return waves


def _cli(args):
    from hybrid.cli import main

    r = CliRunner().invoke(main, args, catch_exceptions=False)
    return r


def test_compute_mfcc_feats_cmvn_and_tools(tmp_path):
    from hybrid.features import compute_mfcc, mfcc_options, utt_seed

    d = tmp_path / "data"
    waves = _make_data_dir(d, bad=True)
    conf = tmp_path / "mfcc.conf"
    conf.write_text("--use-energy=false  # AN4\n")
    ark, scp = tmp_path / "raw.ark", tmp_path / "raw.scp"
    r = _cli(["compute-mfcc-feats", f"--config={conf}", f"--write-utt2dur=ark,t:{tmp_path}/utt2dur",
              f"--write-num-frames=ark,t:{tmp_path}/nf", f"scp,p:{d}/wav.scp", f"ark,scp:{ark},{scp}"])
    assert r.exit_code == 0, r.output
    assert "spk1-zbad: command failed" in r.output and "Done 6 out of 7 utterances" in r.output
    feats = read_table(scp)
    assert list(feats) == sorted(waves)
    for utt, x in waves.items():
        ref = compute_mfcc(x.astype(np.float32), mfcc_options(conf), seed=utt_seed(utt))
        np.testing.assert_array_equal(feats[utt], ref)  # dither seeded by utterance id: reproducible
    nf = dict(line.split() for line in (tmp_path / "nf").read_text().splitlines())
    assert {u: int(v) for u, v in nf.items()} == {u: f.shape[0] for u, f in feats.items()}
    dur = dict(line.split() for line in (tmp_path / "utt2dur").read_text().splitlines())
    assert float(dur["spk0-utt1"]) == pytest.approx(9600 / 16000)

    # an option on the command line overrides the config file
    r = _cli(["compute-mfcc-feats", f"--config={conf}", "--num-ceps=7", "--dither=0", f"scp:{d}/wav.scp",
              f"ark:{tmp_path}/o.ark"])
    assert r.exit_code == 0
    assert next(iter(read_table(tmp_path / "o.ark").values())).shape[1] == 7

    cm_ark, cm_scp = tmp_path / "cmvn.ark", tmp_path / "cmvn.scp"
    r = _cli(["compute-cmvn-stats", f"--spk2utt=ark:{d}/spk2utt", f"scp:{scp}", f"ark,scp:{cm_ark},{cm_scp}"])
    assert r.exit_code == 0, r.output
    stats = read_table(cm_scp)
    assert list(stats) == ["spk0", "spk1"]
    all0 = np.concatenate([feats[u] for u in feats if u.startswith("spk0")]).astype(np.float64)
    assert stats["spk0"].dtype == np.float64 and stats["spk0"].shape == (2, 14)
    np.testing.assert_allclose(stats["spk0"][0, :13], all0.sum(0), rtol=1e-6)
    assert stats["spk0"][0, 13] == len(all0)

    r = _cli(["apply-cmvn", f"--utt2spk=ark:{d}/utt2spk", f"scp:{cm_scp}", f"scp:{scp}", f"ark:{tmp_path}/n.ark"])
    assert r.exit_code == 0, r.output
    normed = read_table(tmp_path / "n.ark")
    np.testing.assert_allclose(np.concatenate([normed[u] for u in normed if u.startswith("spk0")]).mean(0), 0,
                               atol=1e-4)
    r = _cli(["feat-to-dim", f"scp:{scp}"])
    assert r.output.strip() == "13"
    r = _cli(["feat-to-len", f"scp:{scp}"])
    assert int(r.output.strip()) == sum(f.shape[0] for f in feats.values())
    r = _cli(["add-deltas", f"scp:{scp}", f"ark:{tmp_path}/dd.ark"])
    assert next(iter(read_table(tmp_path / "dd.ark").values())).shape[1] == 39
    r = _cli(["splice-feats", "--left-context=3", "--right-context=3", f"scp:{scp}", f"ark:{tmp_path}/sp.ark"])
    assert next(iter(read_table(tmp_path / "sp.ark").values())).shape[1] == 91


def test_all_fail_is_an_error(tmp_path):
    (tmp_path / "wav.scp").write_text("a /does/not/exist.wav\nb false |\n")
    r = _cli(["compute-mfcc-feats", f"scp:{tmp_path}/wav.scp", f"ark:{tmp_path}/x.ark"])
    assert r.exit_code != 0
    assert "a: audio file /does/not/exist.wav does not exist" in r.output
    assert "Done 0 out of 2 utterances" in r.output


def test_make_mfcc_and_cmvn_scripts(tmp_path):
    for tool in ("utils/split_data.sh", "utils/run.pl"):
        if not (REPO / tool).exists():
            pytest.skip(f"{tool} is not there yet")
    s5 = tmp_path / "s5"
    s5.mkdir()
    (s5 / "steps").symlink_to(REPO / "steps")
    (s5 / "utils").symlink_to(REPO / "utils")
    (s5 / "conf").mkdir()
    (s5 / "conf" / "mfcc.conf").write_text("--use-energy=false\n")
    (s5 / "path.sh").write_text(f". {REPO}/tools/env.sh\n")
    waves = _make_data_dir(s5 / "data" / "train", n_spk=3, n_utt=7, bad=True)  # 1 bad in 22 < 5 %
    env = dict(os.environ)
    env["PATH"] = f"{REPO / '.venv' / 'bin'}:{REPO / 'utils'}:{env['PATH']}"
    p = subprocess.run(["bash", "steps/make_mfcc.sh", "--nj", "2", "data/train", "exp/make_mfcc/train", "mfcc"],
                       cwd=s5, env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    d = s5 / "data" / "train"
    feats = read_table(d / "feats.scp")
    assert sorted(feats) == sorted(waves)  # the bad utterance was skipped, the rest kept
    assert "not all of the feature files were successfully processed (21 != 22)" in p.stdout
    logs = sorted((s5 / "exp" / "make_mfcc" / "train").glob("make_mfcc_train.*.log"))
    assert [x.name for x in logs] == ["make_mfcc_train.1.log", "make_mfcc_train.2.log"]
    assert any("spk1-zbad" in x.read_text() for x in logs)
    assert len((d / "utt2num_frames").read_text().splitlines()) == 21
    assert len((d / "utt2dur").read_text().splitlines()) == 21
    assert sorted(x.name for x in (s5 / "mfcc").iterdir()) == [
        "raw_mfcc_train.1.ark", "raw_mfcc_train.1.scp", "raw_mfcc_train.2.ark", "raw_mfcc_train.2.scp"]

    p = subprocess.run(["bash", "steps/compute_cmvn_stats.sh", "data/train", "exp/make_mfcc/train", "mfcc"],
                       cwd=s5, env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    stats = read_table(d / "cmvn.scp")
    assert sorted(stats) == ["spk0", "spk1", "spk2"]

    from hybrid.features import iter_features

    out = dict(iter_features(d, delta_order=2))
    assert sorted(out) == sorted(waves) and all(f.shape[1] == 39 for f in out.values())
    spk0 = np.concatenate([out[u][:, :13] for u in out if u.startswith("spk0")])
    np.testing.assert_allclose(spk0.mean(0), 0, atol=1e-4)
    # splice + an affine transform; a restricted set of utterances
    mat = np.random.default_rng(0).standard_normal((5, 13 * 7 + 1))
    got = list(iter_features(d, splice=3, transform=mat, utts={"spk2-utt1"}))
    assert [u for u, _ in got] == ["spk2-utt1"] and got[0][1].shape[1] == 5

    # all utterances failing makes the script fail
    (d / "wav.scp").write_text("".join(f"{u} /missing/{u}.wav\n" for u in sorted(waves)) + "spk1-zbad false |\n")
    p = subprocess.run(["bash", "steps/make_mfcc.sh", "--nj", "2", "data/train", "exp/make_mfcc/train", "mfcc"],
                       cwd=s5, env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode != 0


def test_segments(tmp_path):
    from hybrid.features import FeatJobStats, compute_mfcc, iter_utterance_audio, mfcc_options

    rng = np.random.default_rng(5)
    x = (rng.standard_normal(32000) * 1000).astype(np.int16)
    sf.write(str(tmp_path / "rec.wav"), x, 16000, subtype="PCM_16")
    (tmp_path / "wav.scp").write_text(f"rec1 {tmp_path}/rec.wav\nrec2 {tmp_path}/missing.wav\n")
    (tmp_path / "segments").write_text("rec1-a rec1 0.00 0.50\nrec1-b rec1 0.50 2.30\nrec1-c rec1 1.0 9.0\n"
                                       "rec2-a rec2 0 1\nrec3-a rec3 0 1\n")
    stats = FeatJobStats()
    got = dict(iter_utterance_audio(tmp_path / "wav.scp", tmp_path / "segments", opts=mfcc_options(), stats=stats))
    assert list(got) == ["rec1-a", "rec1-b"]
    np.testing.assert_array_equal(got["rec1-a"], x[:8000].astype(np.float32))
    assert len(got["rec1-b"]) == 32000 - 8000  # 0.3 s past the end: clipped, as extract-segments
    reasons = dict(stats.failed)
    assert "ends past the end" in reasons["rec1-c"]
    assert "missing.wav does not exist" in reasons["rec2-a"]
    assert "rec3 of segments file" in reasons["rec3-a"]
    assert compute_mfcc(got["rec1-a"], mfcc_options(dither=0.0)).shape == (48, 13)
