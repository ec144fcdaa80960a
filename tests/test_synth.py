"""Synthetic TTS corpus: audio format, true phone timings vs audio and lexicon, Kaldi data dirs."""

from __future__ import annotations

import ctypes.util
from pathlib import Path

import numpy as np
import pytest

from conftest import require_binary


def _read_kv(path: Path) -> list[tuple[str, str]]:
    return [tuple(line.rstrip("\n").split(" ", 1)) for line in path.read_text().splitlines()]


def _read_ctm(path: Path) -> dict[str, list[tuple[str, float, float]]]:
    out: dict[str, list] = {}
    for line in path.read_text().splitlines():
        utt, ch, s, d, lab = line.split()
        assert ch == "1"
        out.setdefault(utt, []).append((lab, float(s), float(d)))
    return out


def _lexicon(dict_dir: Path) -> dict[str, list[list[str]]]:
    lex: dict[str, list[list[str]]] = {}
    for line in (dict_dir / "lexicon.txt").read_text().splitlines():
        w, *prons = line.split()
        lex.setdefault(w, []).append(prons)
    return lex


def _matches(phones: list[str], words: list[str], lex: dict[str, list[list[str]]]) -> bool:
    """Brute force: some choice of pronunciations concatenates to ``phones``."""
    if not words:
        return not phones
    return any(phones[:len(p)] == p and _matches(phones[len(p):], words[1:], lex) for p in lex[words[0]])


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    require_binary("flite")
    require_binary("t2p")
    from hybrid.corpora.synth import prepare_synth

    out = tmp_path_factory.mktemp("synth")
    words = "the cat sat on a mat and then it went home after school with her old friend".split()
    prepare_synth(out, num_train_spk=2, num_test_spk=1, utts_per_spk=2, seed=3, words=words,
                  num_sentences=20, nj=1)
    return out


def test_wavs_16k(corpus: Path):
    import soundfile as sf

    for part in ("train", "test"):
        for utt, wav in _read_kv(corpus / "data" / part / "wav.scp"):
            info = sf.info(wav)
            assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16"), wav
            assert Path(wav).parent.name == utt.split("-")[0]


def test_data_dirs_sorted_and_consistent(corpus: Path):
    spks = {}
    for part in ("train", "test"):
        d = corpus / "data" / part
        files = {n: _read_kv(d / n) for n in ("wav.scp", "text", "utt2spk", "spk2utt", "spk2gender")}
        for n, rows in files.items():
            keys = [k.encode() for k, _ in rows]
            assert keys == sorted(keys) and len(set(keys)) == len(keys), f"{part}/{n} not sorted/unique"
        utts = [u for u, _ in files["wav.scp"]]
        assert [u for u, _ in files["text"]] == utts == [u for u, _ in files["utt2spk"]]
        assert len(utts) == 2 * (2 if part == "train" else 1)
        u2s = dict(files["utt2spk"])
        for u, s in u2s.items():
            assert u.startswith(s + "-")
        s2u = {s: us.split() for s, us in files["spk2utt"]}
        assert s2u == {s: sorted(u for u in u2s if u2s[u] == s) for s in set(u2s.values())}
        # speaker order equals utterance order (Kaldi's requirement)
        assert [u2s[u] for u in utts] == sorted(u2s[u] for u in utts)
        spks[part] = set(s2u)
    assert not spks["train"] & spks["test"]


def test_ctm_covers_audio_and_matches_lexicon(corpus: Path):
    import soundfile as sf

    lex = _lexicon(corpus / "data" / "local" / "dict")
    assert lex["<UNK>"] == [["SIL"]]
    nonsil = set((corpus / "data/local/dict/nonsilence_phones.txt").read_text().split())
    assert "SIL" not in nonsil and "AH" in nonsil and not any(c.isdigit() for p in nonsil for c in p)
    for part in ("train", "test"):
        d = corpus / "data" / part
        ctm = _read_ctm(d / "phones.ctm")
        wctm = _read_ctm(d / "words.ctm")
        text = {u: t.split() for u, t in _read_kv(d / "text")}
        wavs = dict(_read_kv(d / "wav.scp"))
        assert set(ctm) == set(text) == set(wctm)
        for utt, segs in ctm.items():
            x, sr = sf.read(wavs[utt])
            dur = len(x) / sr
            t = 0.0
            for lab, s, dd in segs:  # contiguous, from 0
                assert abs(s - t) < 1.5e-3 and dd > 0, (utt, lab, s, t)
                t = s + dd
            assert abs(t - dur) <= 0.02, (utt, t, dur)
            phones = [p for p, _, _ in segs if p != "SIL"]
            assert all(p in nonsil for p in phones)
            assert _matches(phones, text[utt], lex), (utt, phones, text[utt])
            assert [w for w, _, _ in wctm[utt]] == text[utt]
            # the timings are true: pauses are quiet, phones are not
            sil = [x[int(s * sr):int((s + dd) * sr)] for p, s, dd in segs if p == "SIL" and dd > 0.05]
            sp = np.concatenate([x[int(s * sr):int((s + dd) * sr)] for p, s, dd in segs if p != "SIL"])
            rms_sp = np.sqrt(np.mean(sp ** 2))
            for z in sil:
                assert np.sqrt(np.mean(z ** 2)) < 0.25 * rms_sp, utt


def test_segment_words_and_variants():
    from hybrid.corpora.synth import SIL, arpa_to_espeak, flite_phone, segment_words

    lex = {"the": [["DH", "AH"], ["DH", "IY"]], "egg": [["EH", "G"]], "cat": [["K", "AE", "T"]]}
    assert segment_words(["DH", "IY", SIL, "EH", "G"], ["the", "egg"], lex) == [(0, 2), (3, 5)]
    assert segment_words([SIL, "DH", "AH", "K", "AE", "T", SIL], ["the", "cat"], lex) == [(1, 3), (3, 6)]
    assert segment_words(["DH", "AH", "K", "AE"], ["the", "cat"], lex) is None
    assert [flite_phone(p) for p in ("ax", "ae1", "pau", "ng")] == ["AH", "AE", SIL, "NG"]
    assert arpa_to_espeak(["k", "ae1", "t"]) == "k'at"
    assert arpa_to_espeak(["dh", "ax"]) == "D@"


def test_speakers_disjoint_and_seeded():
    from hybrid.corpora.synth import choose_speakers

    tr, te = choose_speakers(12, 4, seed=1)
    assert len(tr) == 12 and len(te) == 4 and not {s.spk_id for s in tr} & {s.spk_id for s in te}
    assert choose_speakers(12, 4, seed=1) == (tr, te)
    ids = sorted(s.spk_id for s in tr + te)
    assert not any(b.startswith(a) for a, b in zip(ids, ids[1:]))


def test_espeak_corpus(tmp_path: Path):
    require_binary("flite")
    require_binary("espeak-ng")
    if ctypes.util.find_library("espeak-ng") is None:
        pytest.skip("libespeak-ng is not installed")
    import soundfile as sf

    from hybrid.corpora.synth import prepare_synth

    words = "the cat sat on a big mat and then it went home".split()
    prepare_synth(tmp_path, num_train_spk=1, num_test_spk=1, utts_per_spk=2, seed=0, words=words,
                  num_sentences=20, nj=1, engines=("espeak",))
    lex = _lexicon(tmp_path / "data/local/dict")
    for part in ("train", "test"):
        d = tmp_path / "data" / part
        ctm = _read_ctm(d / "phones.ctm")
        text = {u: t.split() for u, t in _read_kv(d / "text")}
        wavs = dict(_read_kv(d / "wav.scp"))
        assert len(ctm) == 2 and all(u.startswith("es_") for u in ctm)
        for utt, segs in ctm.items():
            assert sf.info(wavs[utt]).samplerate == 16000
            end = segs[-1][1] + segs[-1][2]
            assert abs(end - sf.info(wavs[utt]).duration) <= 0.02
            assert _matches([p for p, _, _ in segs if p != "SIL"], text[utt], lex), utt
