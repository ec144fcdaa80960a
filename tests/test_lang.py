"""prepare_lang / validate_lang / validate_dict_dir / Lang / sym2int, against hand-derived
Kaldi outputs (worked out from Kaldi's utils/prepare_lang.sh, add_lex_disambig.pl,
make_lexicon_fst.py, gen_topo.pl), kaldifst composition and Kaldi's HmmTopology parser."""

from __future__ import annotations

import itertools
import math
import os
import re
import subprocess
from pathlib import Path

import kaldifst
import pytest

from hybrid.lang import (Lang, LangError, LexiconEntry, add_lex_disambig, check_dict_dir, check_lang,
                         gen_topo, prepare_lang, validate_dict_dir, validate_lang)
from hybrid.lang.dict_dir import DictDirError
from hybrid.lang.validate import LangDirError

REPO = Path(__file__).resolve().parent.parent
LOG2 = math.log(2.0)

TINY_LEXICON = """\
<SIL> SIL
<UNK> SPN
A AH
A EY
AN AH N
AND AH N D
BAD B AH D
BED B AH D
DAY D EY
"""


def make_dict(d: Path, lexicon: str = TINY_LEXICON, lexiconp: str | None = None,
              silence: str = "SIL\nSPN\n", nonsilence: str = "AH\nB\nD\nN\nEY\n") -> Path:
    d.mkdir(parents=True, exist_ok=True)
    (d / "silence_phones.txt").write_text(silence)
    (d / "nonsilence_phones.txt").write_text(nonsilence)
    (d / "optional_silence.txt").write_text("SIL\n")
    (d / "extra_questions.txt").write_text("")
    if lexicon is not None:
        (d / "lexicon.txt").write_text(lexicon)
    if lexiconp is not None:
        (d / "lexiconp.txt").write_text(lexiconp)
    return d


@pytest.fixture()
def tiny_lang(tmp_path: Path) -> Path:
    d = make_dict(tmp_path / "dict")
    return prepare_lang(d, "<UNK>", tmp_path / "lang", tmp_dir=tmp_path / "tmp")


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def table_lines(syms: list[str]) -> str:
    return "".join(f"{s} {i}\n" for i, s in enumerate(syms))


# Hand-derived from prepare_lang.sh: <eps>, silence phones (plain + _B _E _I _S), then
# non-silence phones (_B _E _I _S), then #0..#ndisambig where ndisambig = 2 (BAD/BED are
# homophones: #1, #2) + 1 (silence disambiguation symbol).
TINY_PHONES = (["<eps>", "SIL", "SIL_B", "SIL_E", "SIL_I", "SIL_S", "SPN", "SPN_B", "SPN_E", "SPN_I", "SPN_S"]
               + [p + s for p in ["AH", "B", "D", "N", "EY"] for s in ["_B", "_E", "_I", "_S"]]
               + ["#0", "#1", "#2", "#3"])
TINY_WORDS = ["<eps>", "<SIL>", "<UNK>", "A", "AN", "AND", "BAD", "BED", "DAY", "#0", "<s>", "</s>"]


def test_phones_and_words_tables(tiny_lang: Path):
    assert read(tiny_lang / "phones.txt") == table_lines(TINY_PHONES)
    assert read(tiny_lang / "words.txt") == table_lines(TINY_WORDS)
    assert read(tiny_lang / "oov.txt") == "<UNK>\n"
    assert read(tiny_lang / "oov.int") == "2\n"


def test_phone_lists(tiny_lang: Path):
    P = tiny_lang / "phones"
    assert read(P / "silence.txt").split() == TINY_PHONES[1:11]
    assert read(P / "silence.csl") == ":".join(map(str, range(1, 11))) + "\n"
    assert read(P / "nonsilence.csl") == ":".join(map(str, range(11, 31))) + "\n"
    assert read(P / "context_indep.int") == read(P / "silence.int")
    assert read(P / "optional_silence.txt") == "SIL\n"
    assert read(P / "optional_silence.csl") == "1\n"
    assert read(P / "disambig.txt") == "#0\n#1\n#2\n#3\n"
    assert read(P / "disambig.int") == "31\n32\n33\n34\n"
    assert read(P / "wdisambig.txt") == "#0\n"
    assert read(P / "wdisambig_phones.int") == "31\n"
    assert read(P / "wdisambig_words.int") == "9\n"
    assert read(P / "sets.txt").splitlines()[:3] == [
        "SIL SIL_B SIL_E SIL_I SIL_S", "SPN SPN_B SPN_E SPN_I SPN_S", "AH_B AH_E AH_I AH_S"]
    assert read(P / "roots.txt").splitlines()[0] == "shared split SIL SIL_B SIL_E SIL_I SIL_S"
    assert read(P / "roots.int").splitlines()[2] == "shared split 11 12 13 14"
    # position questions; Kaldi writes them with a trailing blank (echo -n "$x$suffix ")
    assert read(P / "extra_questions.txt").splitlines() == [
        "AH_B B_B D_B N_B EY_B ", "AH_E B_E D_E N_E EY_E ", "AH_I B_I D_I N_I EY_I ", "AH_S B_S D_S N_S EY_S ",
        "SIL SPN ", "SIL_B SPN_B ", "SIL_E SPN_E ", "SIL_I SPN_I ", "SIL_S SPN_S "]
    assert read(P / "extra_questions.int").splitlines()[4] == "1 6"
    wb = read(P / "word_boundary.txt").splitlines()
    assert wb[:6] == ["SIL nonword", "SIL_B begin", "SIL_E end", "SIL_I internal", "SIL_S singleton", "SPN nonword"]
    assert len(wb) == 30 and read(P / "word_boundary.int").splitlines()[11] == "12 end"
    # align_lexicon: "word word phones", C-sorted, with "<eps> <eps> SIL".
    assert read(P / "align_lexicon.txt").splitlines() == [
        "<SIL> <SIL> SIL_S", "<UNK> <UNK> SPN_S", "<eps> <eps> SIL", "A A AH_S", "A A EY_S",
        "AN AN AH_B N_E", "AND AND AH_B N_I D_E", "BAD BAD B_B AH_I D_E", "BED BED B_B AH_I D_E",
        "DAY DAY D_B EY_E"]
    assert read(P / "align_lexicon.int").splitlines()[2:4] == ["0 0 1", "3 3 14"]


def test_disambig_lexicon_and_dict_side_effects(tiny_lang: Path, tmp_path: Path):
    assert read(tmp_path / "tmp" / "lexiconp_disambig.txt").splitlines()[-3:] == [
        "BAD\t1.0\tB_B AH_I D_E #1", "BED\t1.0\tB_B AH_I D_E #2", "DAY\t1.0\tD_B EY_E"]
    assert read(tmp_path / "tmp" / "lex_ndisambig") == "3\n"
    # as Kaldi, the missing lexiconp.txt is created in the dict dir
    assert read(tmp_path / "dict" / "lexiconp.txt").splitlines()[2] == "A 1.0\tAH"


def test_topo_matches_gen_topo_and_kaldi_parser(tiny_lang: Path):
    text = read(tiny_lang / "topo")
    assert text == gen_topo(3, 5, list(range(11, 31)), list(range(1, 11)))
    lines = text.splitlines()
    assert lines[5] == "<State> 0 <PdfClass> 0 <Transition> 0 0.75 <Transition> 1 0.25 </State>"
    assert ("<State> 0 <PdfClass> 0 <Transition> 0 0.25 <Transition> 1 0.25 <Transition> 2 0.25 "
            "<Transition> 3 0.25 </State>") in lines
    assert "<State> 4 <PdfClass> 4 <Transition> 4 0.75 <Transition> 5 0.25 </State>" in lines
    assert "<Transition> 1 0.333333333333333 " in gen_topo(3, 4, [2], [1])
    kaldi_hmm_gmm = pytest.importorskip("kaldi_hmm_gmm")
    topo = kaldi_hmm_gmm.HmmTopology()
    topo.read(text)
    assert list(topo.phones) == list(range(1, 31))
    assert topo.num_pdf_classes(1) == 5 and topo.num_pdf_classes(11) == 3
    assert topo.min_length(11) == 3
    sil = topo.topology_for_phone(1)
    assert len(sil) == 6 and sil[0].transitions == [(0, 0.25), (1, 0.25), (2, 0.25), (3, 0.25)]


# ---------------------------------------------------------------- L.fst by composition

def paths(fst) -> list[tuple[tuple[int, ...], tuple[int, ...], float]]:
    """All (ilabels, olabels, cost) of an acyclic FST (epsilons dropped)."""
    out = []

    def dfs(s, il, ol, cost):
        fw = fst.final(s).value
        if fw != math.inf:
            out.append((tuple(il), tuple(ol), cost + fw))
        for a in kaldifst.ArcIterator(fst, s):
            dfs(a.nextstate, il + ([a.ilabel] if a.ilabel else []), ol + ([a.olabel] if a.olabel else []),
                cost + a.weight.value)

    dfs(fst.start, [], [], 0.0)
    return out


def phone_paths(lang: Path, fst_name: str, words: list[str]) -> dict[tuple[str, ...], float]:
    ph = {int(i): s for s, i in (l.split() for l in read(lang / "phones.txt").splitlines())}
    wd = {s: int(i) for s, i in (l.split() for l in read(lang / "words.txt").splitlines())}
    L = kaldifst.StdVectorFst.read(str(lang / fst_name))
    comp = kaldifst.compose(L, kaldifst.make_linear_acceptor([wd[w] for w in words]))
    result: dict[tuple[str, ...], float] = {}
    for il, ol, cost in paths(comp):
        assert ol == tuple(wd[w] for w in words)
        key = tuple(ph[i] for i in il)
        assert key not in result, f"two paths for {key}"
        result[key] = cost
    return result


def expected_paths(prons: list[list[tuple[str, ...]]], sil: tuple[str, ...] | None
                   ) -> set[tuple[str, ...]]:
    """Phone sequences: optional silence at the start and after every word."""
    out = set()
    for choice in itertools.product(*prons):
        slots = len(choice) + 1
        for sil_mask in itertools.product([False, True], repeat=slots if sil else 0):
            seq: list[str] = list(sil) if sil and sil_mask[0] else []
            for k, pron in enumerate(choice):
                seq += pron
                if sil and sil_mask[k + 1]:
                    seq += sil
            out.add(tuple(seq))
    return out


def test_L_paths_with_optional_silence(tiny_lang: Path):
    got = phone_paths(tiny_lang, "L.fst", ["A", "BAD", "DAY"])
    prons = [[("AH_S",), ("EY_S",)], [("B_B", "AH_I", "D_E")], [("D_B", "EY_E")]]
    assert set(got) == expected_paths(prons, ("SIL",))
    assert len(got) == 2 * 16
    for cost in got.values():  # 4 slots, each silence/no-silence with probability 0.5
        assert cost == pytest.approx(4 * LOG2, abs=1e-5)
    assert ("AH_S", "B_B", "AH_I", "D_E", "D_B", "EY_E") in got
    assert ("SIL", "EY_S", "SIL", "B_B", "AH_I", "D_E", "D_B", "EY_E", "SIL") in got


def test_L_disambig_paths_and_loop(tiny_lang: Path):
    got = phone_paths(tiny_lang, "L_disambig.fst", ["BED", "AN"])
    prons = [[("B_B", "AH_I", "D_E", "#2")], [("AH_B", "N_E")]]
    assert set(got) == expected_paths(prons, ("SIL", "#3"))
    L = kaldifst.StdVectorFst.read(str(tiny_lang / "L_disambig.fst"))
    assert L.is_olabel_sorted
    loops = [(s, a.ilabel, a.olabel) for s in kaldifst.StateIterator(L)
             for a in kaldifst.ArcIterator(L, s) if a.nextstate == s and a.ilabel >= 31]
    assert loops == [(1, 31, 9)]  # phone #0 -> word #0 on the loop state only
    assert L.final(1).value == 0.0 and L.start == 0
    words_from_1 = {a.olabel for a in kaldifst.ArcIterator(L, 1)}
    assert {3, 4, 5, 6, 7, 8} <= words_from_1  # words leave from the loop state
    L0 = kaldifst.StdVectorFst.read(str(tiny_lang / "L.fst"))
    assert L0.is_olabel_sorted
    assert not any(a.ilabel >= 31 for s in kaldifst.StateIterator(L0) for a in kaldifst.ArcIterator(L0, s))


def test_L_pron_probs_and_no_silence(tmp_path: Path):
    lexp = TINY_LEXICON.replace("A AH\n", "A 0.7 AH\n").replace("A EY\n", "A 0.3 EY\n")
    lexp = "\n".join(l if re.match(r"^A \d", l) else re.sub(r"^(\S+) ", r"\1 1.0 ", l)
                     for l in lexp.splitlines()) + "\n"
    d = make_dict(tmp_path / "dict", lexicon=None, lexiconp=lexp)
    lang = prepare_lang(d, "<UNK>", tmp_path / "lang", sil_prob=0.0)
    got = phone_paths(lang, "L.fst", ["A", "A"])
    assert set(got) == {(a, b) for a in ("AH_S", "EY_S") for b in ("AH_S", "EY_S")}
    assert got[("AH_S", "EY_S")] == pytest.approx(-math.log(0.7) - math.log(0.3), abs=1e-5)
    assert got[("EY_S", "EY_S")] == pytest.approx(-2 * math.log(0.3), abs=1e-5)
    assert read(d / "lexicon.txt").splitlines()[2] == "A AH"  # created from lexiconp.txt
    # with silence probability 0.2 the costs add -log(0.8) per slot without silence
    lang2 = prepare_lang(d, "<UNK>", tmp_path / "lang2", sil_prob=0.2)
    got2 = phone_paths(lang2, "L.fst", ["A"])
    assert got2[("AH_S",)] == pytest.approx(-math.log(0.7) - 2 * math.log(0.8), abs=1e-5)
    assert got2[("SIL", "EY_S", "SIL")] == pytest.approx(-math.log(0.3) - 2 * math.log(0.2), abs=1e-5)


def test_position_independent_and_prefix_disambig(tmp_path: Path):
    d = make_dict(tmp_path / "dict")
    lang = prepare_lang(d, "<UNK>", tmp_path / "lang", tmp_dir=tmp_path / "tmp", position_dependent_phones=False)
    # without positions AH is a prefix of AH N, which is a prefix of AH N D
    assert read(tmp_path / "tmp" / "lexiconp_disambig.txt").splitlines() == [
        "<SIL>\t1.0\tSIL", "<UNK>\t1.0\tSPN", "A\t1.0\tAH #1", "A\t1.0\tEY", "AN\t1.0\tAH N #1",
        "AND\t1.0\tAH N D", "BAD\t1.0\tB AH D #1", "BED\t1.0\tB AH D #2", "DAY\t1.0\tD EY"]
    assert read(lang / "phones.txt") == table_lines(
        ["<eps>", "SIL", "SPN", "AH", "B", "D", "N", "EY", "#0", "#1", "#2", "#3"])
    assert read(lang / "phones" / "extra_questions.txt") == ""
    assert not (lang / "phones" / "word_boundary.txt").exists()
    got = phone_paths(lang, "L_disambig.fst", ["AN", "A"])
    assert set(got) == expected_paths([[("AH", "N", "#1")], [("AH", "#1"), ("EY",)]], ("SIL", "#3"))
    validate_lang(lang)


def test_add_lex_disambig_rules():
    E = [LexiconEntry(w, 1.0, tuple(p.split())) for w, p in [
        ("R", "r ay t"), ("W", "r ay t"), ("WR", "r ay t"), ("T", "t uw"), ("TW", "t uw"), ("X", "t"),
        ("Y", "y")]]
    out, m = add_lex_disambig(E)
    assert [e.phones[-1] for e in out] == ["#1", "#2", "#3", "#1", "#2", "#1", "y"]
    assert m == 3
    out, m = add_lex_disambig(E, first_allowed_disambig=4)
    assert [e.phones[-1] for e in out][:3] == ["#4", "#5", "#6"] and m == 6
    out, m = add_lex_disambig(E[-1:])
    assert out == E[-1:] and m == 0


def test_share_silence_phones(tmp_path: Path):
    d = make_dict(tmp_path / "dict")
    lang = prepare_lang(d, "<UNK>", tmp_path / "lang", share_silence_phones=True)
    roots = read(lang / "phones" / "roots.txt").splitlines()
    assert roots[0] == "not-shared not-split SIL SIL_B SIL_E SIL_I SIL_S SPN SPN_B SPN_E SPN_I SPN_S"
    assert roots[1] == "shared split AH_B AH_E AH_I AH_S"


# ---------------------------------------------------------------- validation

def test_validate_dict_dir_errors_name_file_and_line(tmp_path: Path):
    d = make_dict(tmp_path / "d1", lexicon=TINY_LEXICON + "FOO\nBAR B ZZ\n",
                  nonsilence="AH\nB\nD\nAH\nN\nEY\n")
    errors = check_dict_dir(d)
    text = "\n".join(errors)
    assert re.search(r"nonsilence_phones\.txt:4: phone 'AH' duplicates", text)
    assert re.search(r"lexicon\.txt:10: word 'FOO' has an empty pronunciation", text)
    assert re.search(r"lexicon\.txt:11: phone 'ZZ' .*not in silence_phones", text)
    with pytest.raises(DictDirError) as ei:
        prepare_lang(d, "<UNK>", tmp_path / "lang1")
    assert "lexicon.txt:11" in str(ei.value)

    d2 = make_dict(tmp_path / "d2", lexicon=None, lexiconp="A 1.0 AH\nB x B\nC 1.5 D\n")
    text = "\n".join(check_dict_dir(d2))
    assert "lexiconp.txt:2: bad pron-prob 'x'" in text and "lexiconp.txt:3: bad pron-prob '1.5'" in text

    d3 = make_dict(tmp_path / "d3")
    (d3 / "lexicon.txt").write_bytes(b"A AH\nB\xe9 B\nC D\n")
    text = "\n".join(check_dict_dir(d3))
    assert re.search(r"lexicon\.txt:2: not valid UTF-8", text)

    d4 = make_dict(tmp_path / "d4", lexicon="A AH\r\nA AH\r\n<s> SIL\n", silence="SIL\nAH\n")
    text = "\n".join(check_dict_dir(d4))
    assert "lexicon.txt:1: contains a carriage return" in text
    assert "lexicon.txt:3: forbidden word '<s>'" in text
    assert "overlap: AH" in text

    d5 = make_dict(tmp_path / "d5", nonsilence="AH AA\nB\nD\nN\nEY\n", lexicon="A AH\nB AA\n")
    assert any("AH and AA share a tree root" in e for e in check_dict_dir(d5))
    (d5 / "extra_questions.txt").write_text("AH\nAA\n")
    assert check_dict_dir(d5) == []
    assert validate_dict_dir(make_dict(tmp_path / "ok")).optional_silence == "SIL"


def test_validate_lang_detects_problems(tiny_lang: Path):
    errors, warnings = check_lang(tiny_lang)
    assert errors == [] and warnings == []
    topo = tiny_lang / "topo"
    good = read(topo)
    topo.write_text(good.replace(" 30\n</ForPhones>", "\n</ForPhones>"))
    assert any("does not cover phone EY_S (label = 30)" in e for e in check_lang(tiny_lang)[0])
    topo.write_text(good)
    sil = tiny_lang / "phones" / "silence.int"
    sil.write_text(read(sil).replace("3\n", "4\n", 1))
    assert any("silence.int:3: does not correspond" in e for e in check_lang(tiny_lang)[0])
    with pytest.raises(LangDirError):
        validate_lang(tiny_lang)


def test_validate_lang_detects_bad_word_boundary(tiny_lang: Path):
    # D_E (20) marked internal: words ending in D (AND, BAD, BED) can no longer be rebuilt
    for name, old, new in (("word_boundary.int", "20 end", "20 internal"),
                           ("word_boundary.txt", "D_E end", "D_E internal")):
        path = tiny_lang / "phones" / name
        path.write_text(read(path).replace(old, new))
    errors = check_lang(tiny_lang)[0]
    assert errors and all("word_boundary" in e or "words reconstructed" in e for e in errors), errors


def test_lang_loader(tiny_lang: Path):
    lang = Lang.load(tiny_lang)
    assert lang.silence == list(range(1, 11)) and lang.nonsilence == list(range(11, 31))
    assert lang.disambig == [31, 32, 33, 34] and lang.optional_silence == 1
    assert lang.oov == 2 and lang.oov_word == "<UNK>"
    assert lang.word_boundary[11] == "begin" and lang.word_boundary[1] == "nonword"
    assert lang.position_dependent and lang.num_phones == 30
    assert lang.base_phone(13) == "AH" and lang.base_phone("SIL") == "SIL"
    assert lang.word_id("NOPE") == 2 and lang.word_id("DAY") == 8
    assert lang.is_silence(5) and not lang.is_silence(11) and lang.is_disambig(31)
    assert lang.wdisambig_phones == [31] and lang.wdisambig_words == [9]
    assert lang.roots[0] == ("shared", "split", [1, 2, 3, 4, 5])
    assert lang.read_fst("L.fst").num_states > 3


def test_oov_must_be_in_lexicon(tmp_path: Path):
    with pytest.raises(LangError, match="OOV word"):
        prepare_lang(make_dict(tmp_path / "dict"), "<NOPE>", tmp_path / "lang")


# ---------------------------------------------------------------- scripts

def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{REPO / '.venv' / 'bin'}:{REPO / 'utils'}:{env['PATH']}"
    env["LC_ALL"] = "C"
    return env


def test_prepare_lang_script_matches_library(tmp_path: Path):
    d = make_dict(tmp_path / "dict")
    lib = prepare_lang(d, "<UNK>", tmp_path / "lib", position_dependent_phones=False, sil_prob=0.3)
    r = subprocess.run([str(REPO / "utils" / "prepare_lang.sh"), "--position-dependent-phones", "false",
                        "--sil-prob", "0.3", str(d), "<UNK>", str(tmp_path / "tmp"), str(tmp_path / "sh")],
                       env=_env(), capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    files = sorted(p.relative_to(lib) for p in lib.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(tmp_path / "sh") for p in (tmp_path / "sh").rglob("*") if p.is_file())
    for f in files:
        assert (lib / f).read_bytes() == (tmp_path / "sh" / f).read_bytes(), f
    r = subprocess.run([str(REPO / "utils" / "validate_lang.pl"), str(tmp_path / "sh")], env=_env(),
                       capture_output=True, text=True)
    assert r.returncode == 0 and "SUCCESS" in r.stdout
    (tmp_path / "sh" / "topo").write_text("<Topology>\n</Topology>\n")
    r = subprocess.run([str(REPO / "utils" / "validate_lang.pl"), str(tmp_path / "sh")], env=_env(),
                       capture_output=True, text=True)
    assert r.returncode == 1 and "does not cover phone" in r.stdout
    bad = make_dict(tmp_path / "bad", lexicon="A ZZ\n")
    r = subprocess.run([str(REPO / "utils" / "validate_dict_dir.pl"), str(bad)], env=_env(),
                       capture_output=True, text=True)
    assert r.returncode == 1 and "lexicon.txt:1: phone 'ZZ'" in r.stdout


def test_sym2int_int2sym(tmp_path: Path):
    st = tmp_path / "words.txt"
    st.write_text("<eps> 0\nA 1\nB 2\n<UNK> 3\n")
    run = lambda args, inp: subprocess.run([str(REPO / "utils" / args[0])] + args[1:], input=inp,  # noqa: E731
                                           capture_output=True, text=True, env=_env())
    r = run(["sym2int.pl", "--map-oov", "<UNK>", "-f", "2-", str(st)], "u1 A B C\nu2 B\n")
    assert r.returncode == 0 and r.stdout == "u1 1 2 3\nu2 2\n" and "replacing C with 3" in r.stderr
    r = run(["sym2int.pl", "-f", "2-", str(st)], "u1 A\nu2 C\n")
    assert r.returncode != 0 and "undefined symbol C (in position 2) at <stdin>:2" in r.stderr
    r = run(["sym2int.pl", str(st)], "A B\n")
    assert r.stdout == "1 2\n"
    r = run(["int2sym.pl", "-f", "2-3", str(st)], "u1 1 2 3\n")
    assert r.returncode == 0 and r.stdout == "u1 A B 3 \n"  # Kaldi prints a space after each token
    r = run(["int2sym.pl", str(st)], "7\n")
    assert r.returncode != 0 and "integer 7 not in symbol table" in r.stderr


# ---------------------------------------------------------------- AN4

def test_prepare_lang_an4(an4_dir: Path, tmp_path: Path):
    etc = an4_dir / "etc"
    phones = read(etc / "an4.phone").split()
    assert len(phones) == 34 and "SIL" in phones
    d = tmp_path / "dict"
    d.mkdir()
    (d / "silence_phones.txt").write_text("SIL\n")
    (d / "optional_silence.txt").write_text("SIL\n")
    (d / "nonsilence_phones.txt").write_text("".join(p + "\n" for p in phones if p != "SIL"))
    (d / "extra_questions.txt").write_text("")
    lex = ["<UNK> SIL"]
    for line in read(etc / "an4.dic").splitlines():
        if line.split():
            w, *pron = line.split()
            lex.append(" ".join([re.sub(r"\(\d+\)$", "", w)] + pron))
    (d / "lexicon.txt").write_text("\n".join(lex) + "\n")
    lang = prepare_lang(d, "<UNK>", tmp_path / "lang", tmp_dir=tmp_path / "tmp")
    L = Lang.load(lang)
    assert len(L.silence) == 5 and len(L.nonsilence) == 33 * 4
    assert L.num_phones == 5 + 33 * 4 == 137
    ndis = int(read(tmp_path / "tmp" / "lex_ndisambig"))
    assert len(L.phones) == 1 + 137 + ndis + 1 == 142  # #0..#3 (A(2)/AND(2)... homophones)
    words = {e.split()[0] for e in lex}
    assert len(words) == 102 and len(L.words) == 102 + 4
    # every word's phone paths come from its pronunciations (two of A: AH and EY)
    got = phone_paths(lang, "L.fst", ["A", "AND"])
    expected = expected_paths([[("AH_S",), ("EY_S",)], [("AE_B", "N_I", "D_E"), ("AH_B", "N_I", "D_E")]],
                              ("SIL",))
    assert set(got) == expected
    assert check_lang(lang) == ([], [])


def test_stress_variants_share_a_root_and_user_questions(tmp_path: Path):
    d = make_dict(tmp_path / "dict", lexicon="A AH0\nB AH1 B\n<UNK> SPN\n",
                  nonsilence="AH0 AH1\nB\n")
    (d / "extra_questions.txt").write_text("AH0 B\nAH1\n")
    lang = prepare_lang(d, "<UNK>", tmp_path / "lang")
    P = lang / "phones"
    assert read(P / "sets.txt").splitlines()[2] == "AH0_B AH0_E AH0_I AH0_S AH1_B AH1_E AH1_I AH1_S"
    eq = read(P / "extra_questions.txt").splitlines()
    assert eq[:2] == ["AH0_B AH0_E AH0_I AH0_S B_B B_E B_I B_S", "AH1_B AH1_E AH1_I AH1_S"]
    assert eq[2] == "AH0_B AH1_B B_B "
