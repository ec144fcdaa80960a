"""Corpus preparation: AN4 and FSDD on the real corpora, LibriSpeech layout on a tiny generated one."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from hybrid.corpora import prepare_an4, prepare_an4_dict, prepare_fsdd, prepare_fsdd_dict, prepare_librispeech
from hybrid.corpora.an4 import kaldi_utt_id, parse_transcription
from hybrid.corpora.librispeech import librispeech_url
from hybrid.data import data_dir_to_lhotse, load_data_dir, validate_data_dir


def test_an4(an4_dir, tmp_path):
    parts = prepare_an4(an4_dir, tmp_path / "data")
    train, test = load_data_dir(parts["train"]), load_data_dir(parts["test"])
    assert (len(train), len(train.speakers)) == (948, 74)
    assert (len(test), len(test.speakers)) == (130, 10)
    for d in parts.values():
        validate_data_dir(d)
    # known utterances (train lines have <s> ... </s>, test lines do not)
    assert train.text["fash-an251-b"] == "YES"
    assert train.utt2spk["fash-an251-b"] == "fash"
    assert test.text["fcaw-an406-b"] == "RUBOUT G M E F THREE NINE"
    assert test.text["mdms2-an401-b"] == "ENTER SEVEN ONE FIVE FOUR"
    assert train.wav_scp["fash-an251-b"].endswith("wav/an4_clstk/fash/an251-fash-b.sph")
    assert all(u.startswith(s + "-") for u, s in train.utt2spk.items())
    assert not any("<s>" in t or "</s>" in t or "(" in t for t in train.text.values())
    # soundfile reads the SPHERE files named in wav.scp: one second of 16 kHz audio
    info = sf.info(train.wav_scp["fash-an251-b"])
    assert (info.samplerate, info.frames) == (16000, 16000)
    # total duration as PROVENANCE.txt states (test: 357.0 s)
    recs, _ = data_dir_to_lhotse(parts["test"])
    assert abs(sum(r.duration for r in recs) - 357.0) < 0.1


def test_an4_transcription_formats(tmp_path):
    p = tmp_path / "t.transcription"
    p.write_text("<s> YES </s> (an251-fash-b)\nRUBOUT G M (an406-fcaw-b)\n<s> </s> (an1-x-b)\n")
    assert parse_transcription(p) == {"an251-fash-b": "YES", "an406-fcaw-b": "RUBOUT G M", "an1-x-b": ""}
    assert kaldi_utt_id("an251-fash-b", "fash") == "fash-an251-b"
    assert kaldi_utt_id("an401-mdms2-b", "mdms2") == "mdms2-an401-b"
    p.write_text("YES an251-fash-b\n")
    with pytest.raises(ValueError, match=r"t.transcription:1"):
        parse_transcription(p)


def test_an4_dict(an4_dir, tmp_path):
    d = prepare_an4_dict(an4_dir, tmp_path / "dict")
    lex = [line.split() for line in (d / "lexicon.txt").read_text().splitlines()]
    assert ["<UNK>", "SIL"] in lex
    assert ["A", "AH"] in lex and ["A", "EY"] in lex  # A(2) folded into A
    assert not any("(" in w[0] for w in lex)
    assert len(lex) == 131  # 130 entries of an4.dic + <UNK>
    nonsil = (d / "nonsilence_phones.txt").read_text().split()
    phones = (an4_dir / "etc/an4.phone").read_text().split()
    assert nonsil == [p for p in phones if p != "SIL"]  # all 33 are used
    assert (d / "silence_phones.txt").read_text() == "SIL\n"
    assert (d / "optional_silence.txt").read_text() == "SIL\n"
    eq = (d / "extra_questions.txt").read_text().splitlines()
    assert eq[0] == "SIL" and eq[1].split() == nonsil
    used = {p for w in lex for p in w[1:]}
    assert used <= set(phones)


def test_fsdd(fsdd_dir, tmp_path):
    parts = prepare_fsdd(fsdd_dir, tmp_path / "data")
    train, test = load_data_dir(parts["train"]), load_data_dir(parts["test"])
    assert (len(train), len(test)) == (2700, 300)
    assert len(train.speakers) == len(test.speakers) == 6
    for d in parts.values():
        validate_data_dir(d)
    assert test.text["jackson-7_3"] == "SEVEN"
    assert train.text["george-0_49"] == "ZERO"
    assert "george-0_5" in train.utt2spk and "george-0_5" not in test.utt2spk
    assert test.wav_scp["jackson-7_3"].endswith("recordings/7_jackson_3.wav")
    assert sf.info(test.wav_scp["jackson-7_3"]).samplerate == 8000


def test_fsdd_dict(tmp_path):
    d = prepare_fsdd_dict(tmp_path / "dict")
    lex = [line.split() for line in (d / "lexicon.txt").read_text().splitlines()]
    words = {w[0] for w in lex}
    assert words == {"<UNK>", "ZERO", "ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT", "NINE"}
    assert ["SEVEN", "S", "EH", "V", "AH", "N"] in lex
    nonsil = set((d / "nonsilence_phones.txt").read_text().split())
    assert nonsil == {p for w in lex for p in w[1:]} - {"SIL"}


def _make_librispeech(root):
    """A tiny LibriSpeech-layout corpus: 2 readers, 3 chapters, short FLAC files."""
    rng = np.random.default_rng(0)
    sub = root / "LibriSpeech" / "dev-clean-2"
    layout = {("84", "121123"): 3, ("84", "121550"): 2, ("174", "50561"): 2}
    for (spk, ch), n in layout.items():
        d = sub / spk / ch
        d.mkdir(parents=True)
        lines = []
        for i in range(n):
            utt = f"{spk}-{ch}-{i:04d}"
            sf.write(d / f"{utt}.flac", (rng.standard_normal(1600 + 160 * i) * 3000).astype(np.int16), 16000)
            lines.append(f"{utt} WORD{i} AND MORE")
        (d / f"{spk}-{ch}.trans.txt").write_text("\n".join(lines) + "\n")
    (root / "LibriSpeech" / "SPEAKERS.TXT").write_text(
        "; ID |SEX| SUBSET |MINUTES| NAME\n84 | F | dev-clean | 8.02 | Christie Nowak\n"
        "174 | M | dev-clean | 8.04 | Peter Eastman\n")
    return root / "LibriSpeech"


def test_librispeech_layout(tmp_path):
    corpus = _make_librispeech(tmp_path)
    out = prepare_librispeech(corpus, "dev-clean-2", tmp_path / "data" / "dev_clean_2")
    validate_data_dir(out)
    dd = load_data_dir(out)
    assert dd.utts == ["174-50561-0000", "174-50561-0001", "84-121123-0000", "84-121123-0001",
                       "84-121123-0002", "84-121550-0000", "84-121550-0001"]
    assert dd.speakers == ["174-50561", "84-121123", "84-121550"]
    assert dd.text["84-121123-0002"] == "WORD2 AND MORE"
    assert dd.extra["spk2gender"] == {"174-50561": "m", "84-121123": "f", "84-121550": "f"}
    recs, _ = data_dir_to_lhotse(out)
    assert recs["84-121123-0002"].num_samples == 1600 + 320
    piped = prepare_librispeech(corpus, "dev-clean-2", tmp_path / "piped", flac_pipe=True)
    assert load_data_dir(piped).wav_scp["84-121123-0000"].startswith("flac -c -d -s ")
    assert librispeech_url("train-clean-5") == "https://www.openslr.org/resources/31/train-clean-5.tar.gz"
