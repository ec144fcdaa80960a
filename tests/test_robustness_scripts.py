"""Bad input through the scripts: steps/make_mfcc.sh via run.pl with a bad utterance among good
ones, a failing job, a failure share above the threshold, a malformed data dir; and
steps/compute_cmvn_stats.sh on broken features. Nothing is merged or written half-way."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from hybrid.io import read_table

REPO = Path(__file__).resolve().parent.parent
RATE = 16000


def snapshot(d: Path) -> dict[str, tuple]:
    return {str(p.relative_to(d)): ("dir",) if p.is_dir() else (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(d.rglob("*"))}


@pytest.fixture
def s5(tmp_path) -> Path:
    for tool in ("utils/run.pl", "utils/split_data.sh", "steps/make_mfcc.sh"):
        if not (REPO / tool).exists():
            pytest.skip(f"{tool} is missing")
    s5 = tmp_path / "s5"
    (s5 / "conf").mkdir(parents=True)
    (s5 / "steps").symlink_to(REPO / "steps")
    (s5 / "utils").symlink_to(REPO / "utils")
    (s5 / "conf" / "mfcc.conf").write_text("--use-energy=false\n--dither=0\n")
    (s5 / "path.sh").write_text(f". {REPO}/tools/env.sh\n")
    return s5


def make_data(d: Path, per_spk: dict[str, int], bad: dict[str, str]) -> list[str]:
    """Speakers A, B ... with ``per_spk`` 0.2 s utterances each; ``bad`` maps utterance → wav.scp entry."""
    (d / "wav").mkdir(parents=True)
    rng = np.random.default_rng(0)
    wav, u2s = {}, {}
    for spk, n in per_spk.items():
        for i in range(n):
            u = f"spk{spk}-u{i:02d}"
            p = d / "wav" / f"{u}.wav"
            sf.write(p, (rng.standard_normal(int(0.2 * RATE)) * 1000).astype(np.int16), RATE, subtype="PCM_16")
            wav[u], u2s[u] = str(p), f"spk{spk}"
    wav.update(bad)
    for u in bad:
        u2s[u] = u.split("-")[0]
    utts = sorted(u2s)
    (d / "wav.scp").write_text("".join(f"{u} {wav[u]}\n" for u in utts))
    (d / "utt2spk").write_text("".join(f"{u} {u2s[u]}\n" for u in utts))
    spk2utt: dict[str, list[str]] = {}
    for u in utts:
        spk2utt.setdefault(u2s[u], []).append(u)
    (d / "spk2utt").write_text("".join(f"{s} {' '.join(us)}\n" for s, us in spk2utt.items()))
    return [u for u in utts if u not in bad]


def run(s5: Path, *args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PATH"] = f"{REPO / '.venv' / 'bin'}:{REPO / 'utils'}:{env['PATH']}"
    return subprocess.run(["bash", *args], cwd=s5, env=env, capture_output=True, text=True, timeout=timeout)


def test_make_mfcc_skips_a_bad_utterance_with_a_summary(s5):
    data = s5 / "data" / "train"
    good = make_data(data, {"A": 10, "B": 9}, {"spkB-zbad": "cat /no/such/file.wav |"})  # 1 bad in 20
    # one job (each job imports torch: the machine is small); the job is still run through run.pl
    p = run(s5, "steps/make_mfcc.sh", "--nj", "1", "--cmd", "run.pl", "data/train", "exp/make_mfcc/train", "mfcc")
    assert p.returncode == 0, p.stdout + p.stderr
    m = re.search(r"make_mfcc.sh: 1 utterances skipped: see (\S+make_mfcc_train\.1\.log)", p.stdout)
    assert m, p.stdout
    log = Path(s5 / m.group(1)).read_text()
    assert re.search(r"WARNING \(compute-mfcc-feats\) spkB-zbad: command failed with exit status 1: "
                     r"cat /no/such/file.wav", log)
    assert "spkB-zbad: command failed" in p.stdout  # the reason is shown on the console too
    assert sorted(read_table(data / "feats.scp")) == good  # the rest got features
    assert len((data / "utt2num_frames").read_text().splitlines()) == 19
    assert not list(data.glob(".*.tmp*")) and not list(data.glob("*.tmp*"))


def test_make_mfcc_failed_job_is_reported_and_nothing_merged(s5):
    data = s5 / "data" / "train"
    # speaker B (job 2 of 2) has nothing but bad audio: that job fails
    make_data(data, {"A": 3}, {f"spkB-u{i}": f"/missing/b{i}.wav" for i in range(3)})
    before = snapshot(data)
    p = run(s5, "steps/make_mfcc.sh", "--nj", "2", "data/train", "exp/make_mfcc/train", "mfcc")
    assert p.returncode != 0
    log = s5 / "exp" / "make_mfcc" / "train" / "make_mfcc_train.2.log"
    assert "run.pl: 1 / 2 failed, log is in exp/make_mfcc/train/make_mfcc_train.*.log" in p.stderr
    assert f"run.pl: job 2 exited with code 1: exp/make_mfcc/train/make_mfcc_train.2.log" in p.stderr
    assert "spkB-u0: audio file /missing/b0.wav does not exist" in p.stderr  # the log's last lines
    assert "Done 0 out of 3 utterances" in p.stderr
    assert log.is_file()
    # no partial merge: no feats.scp / utt2num_frames / utt2dur in the data dir
    added = sorted(set(snapshot(data)) - set(before))
    assert not [a for a in added if not (a.startswith("split2") or a.startswith("conf"))], added
    assert all(before[k] == v for k, v in snapshot(data).items() if k in before)


def test_make_mfcc_failure_share_above_threshold(s5):
    data = s5 / "data" / "train"
    make_data(data, {"A": 18}, {"spkA-zbad1": "false |", "spkA-zbad2": "/missing.wav"})  # 2 bad in 20 > 5 %
    p = run(s5, "steps/make_mfcc.sh", "--nj", "1", "data/train", "exp/make_mfcc/train", "mfcc")
    assert p.returncode == 1
    assert "make_mfcc.sh: 2 utterances skipped: see " in p.stdout
    assert "Less than 95% the features were successfully generated (18 of 20)" in p.stderr
    assert f"no data/train/feats.scp written" in p.stderr
    assert not (data / "feats.scp").exists() and not (data / "utt2dur").exists()


def test_make_mfcc_rejects_malformed_data_dir_early(s5):
    data = s5 / "data" / "train"
    make_data(data, {"A": 2, "B": 2}, {})
    lines = (data / "utt2spk").read_text().splitlines()
    (data / "utt2spk").write_text("\n".join([lines[1], lines[0]] + lines[2:]) + "\n")
    before = snapshot(data)
    p = run(s5, "steps/make_mfcc.sh", "--nj", "2", "data/train", "exp/make_mfcc/train", "mfcc")
    assert p.returncode == 1
    assert "data/train/utt2spk:2: not sorted: 'spkA-u00' comes after 'spkA-u01'" in p.stdout + p.stderr
    assert snapshot(data) == before
    assert not (s5 / "exp" / "make_mfcc" / "train" / "make_mfcc_train.1.log").exists()


def test_compute_cmvn_failure_shows_log_and_writes_no_cmvn_scp(s5):
    data = s5 / "data" / "train"
    make_data(data, {"A": 2}, {})
    (data / "feats.scp").write_text("spkA-u00 /gone/raw.ark:10\nspkA-u01 /gone/raw.ark:99\n")
    before = snapshot(data)
    p = run(s5, "steps/compute_cmvn_stats.sh", "data/train", "exp/make_mfcc/train", "mfcc")
    assert p.returncode == 1
    assert "error computing CMVN stats; see exp/make_mfcc/train/cmvn_train.log; its last lines:" in p.stderr
    assert "/gone/raw.ark" in p.stderr
    assert snapshot(data) == before  # no cmvn.scp


def test_find_oovs_script(s5):
    data = s5 / "data" / "train"
    make_data(data, {"A": 2}, {})
    (data / "text").write_text("spkA-u00 HELLO WORLD\nspkA-u01 WORLD\n")
    (s5 / "words.txt").write_text("<eps> 0\nHELLO 1\n#0 2\n<s> 3\n</s> 4\n")
    p = run(s5, "utils/find_oovs.sh", "--max-utts", "1", "data/train", "words.txt")
    assert p.returncode == 0, p.stderr
    assert p.stdout == "WORLD 2 spkA-u00 ... (+1 more)\n"
    assert "2 of 3 word tokens (66.67%) in 2 of 2 utterances of data/train/text are not in words.txt" in p.stderr
    p = run(s5, "utils/find_oovs.sh", "--strict", "true", "data/train", "words.txt")
    assert p.returncode == 1
