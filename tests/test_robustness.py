"""Corrupted inputs, one fixture per case: each error names the file and line (or the utterance),
and nothing else in the output directory changes (files + mtimes snapshotted before and after).

Stages covered: data dirs (validate), audio → features (a bad utterance is skipped, the rest
computed), lexicon → lang (prepare_lang), ARPA → G.fst (format_lm / arpa2fst), find-oovs.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from hybrid.data import DataDirError, validate_data_dir
from hybrid.io.symbols import FormatError

FIX = Path(__file__).resolve().parent / "fixtures" / "corrupt"
RATE = 16000


# ---------------------------------------------------------------- helpers

def snapshot(d: Path) -> dict[str, tuple]:
    """Every file under ``d`` with its size and mtime, and every directory (by name only)."""
    out: dict[str, tuple] = {}
    for p in sorted(d.rglob("*")):
        rel = str(p.relative_to(d))
        out[rel] = ("dir",) if p.is_dir() else (p.stat().st_size, p.stat().st_mtime_ns)
    return out


def assert_unchanged(before: dict, d: Path) -> None:
    after = snapshot(d)
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changed = sorted(k for k in set(before) & set(after) if before[k] != after[k])
    assert not (added or removed or changed), f"{d} changed: added {added}, removed {removed}, changed {changed}"


def _tone(seconds: float, rate: int = RATE, channels: int = 1, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((int(seconds * rate), channels)) * 1000).astype(np.int16)
    return x[:, 0] if channels == 1 else x


def make_data(d: Path, n: int = 4) -> Path:
    """A valid data dir of ``n`` utterances (two speakers) with 0.3 s WAVs."""
    (d / "wav").mkdir(parents=True)
    utts = [f"spk{'AB'[i % 2]}-u{i}" for i in range(n)]
    utts.sort()
    for i, u in enumerate(utts):
        sf.write(d / "wav" / f"{u}.wav", _tone(0.3, seed=i), RATE, subtype="PCM_16")
    (d / "wav.scp").write_text("".join(f"{u} {d / 'wav' / u}.wav\n" for u in utts))
    (d / "text").write_text("".join(f"{u} BAA KAA AB\n" for u in utts))
    (d / "utt2spk").write_text("".join(f"{u} {u.split('-')[0]}\n" for u in utts))
    spk: dict[str, list[str]] = {}
    for u in utts:
        spk.setdefault(u.split("-")[0], []).append(u)
    (d / "spk2utt").write_text("".join(f"{s} {' '.join(us)}\n" for s, us in spk.items()))
    return d


def _edit_lines(path: Path, fn) -> None:
    lines = path.read_bytes().split(b"\n")[:-1]
    path.write_bytes(b"".join(x + b"\n" for x in fn(lines)))


def _set(lines, i, new):
    lines = list(lines)
    lines[i] = new
    return lines


# ---------------------------------------------------------------- data dirs

# (case, file, mutation of its lines (bytes), expected message after "<dir>/<file>:")
DATA_CASES = [
    ("unsorted_ids", "utt2spk", lambda ls: [ls[1], ls[0]] + ls[2:], r"utt2spk:2: not sorted: 'spkA-u0' comes after"),
    ("duplicated_id", "wav.scp", lambda ls: ls[:2] + [ls[1]] + ls[2:], r"wav.scp:3: duplicate id 'spkA-u2' \(first on line 2\)"),
    ("id_missing_from_wav", "wav.scp", lambda ls: ls[:2] + ls[3:], r"utt2spk:3: utterance 'spkB-u1' is missing from \S*wav.scp"),
    ("id_only_in_text", "text", lambda ls: ls + [b"spkB-zz BAA"], r"text:5: utterance 'spkB-zz' is not in \S*utt2spk"),
    ("empty_transcript", "text", lambda ls: _set(ls, 1, b"spkA-u2"), r"text:2: empty transcript for utterance 'spkA-u2'"),
    ("non_utf8_text", "text", lambda ls: _set(ls, 2, b"spkB-u1 BA\xff\xfeA"), r"text:3: not valid UTF-8"),
    ("dos_line_ending", "text", lambda ls: _set(ls, 0, ls[0] + b"\r"), r"text:1: line ends in a carriage return"),
    ("blank_line", "utt2spk", lambda ls: ls[:2] + [b""] + ls[2:], r"utt2spk:3: empty line"),
    ("utt2spk_three_fields", "utt2spk", lambda ls: _set(ls, 3, ls[3] + b" extra"), r"utt2spk:4: expected at least|utt2spk:4: expected '<utt> <spk>'"),
]


@pytest.mark.parametrize("case,name,mutate,msg", DATA_CASES, ids=[c[0] for c in DATA_CASES])
def test_bad_data_dir_is_named(tmp_path, case, name, mutate, msg):
    d = make_data(tmp_path / "data")
    _edit_lines(d / name, mutate)
    before = snapshot(d)
    with pytest.raises(DataDirError) as e:
        validate_data_dir(d, no_feats=True)
    assert re.search(re.escape(str(d)) + "/" + msg, str(e.value)), str(e.value)
    assert_unchanged(before, d)


def test_validate_data_dir_cli_names_file_and_line(tmp_path):
    from hybrid.cli import main

    d = make_data(tmp_path / "data")
    _edit_lines(d / "text", lambda ls: _set(ls, 1, b"spkA-u2"))
    r = CliRunner().invoke(main, ["validate-data-dir", "--no-feats", str(d)])
    assert r.exit_code == 1
    assert f"ERROR: {d}/text:2: empty transcript for utterance 'spkA-u2'" in r.output
    assert "Traceback" not in r.output


# ---------------------------------------------------------------- audio → features

def _bad_missing(d):
    return f"{d}/nope.wav", r"bad: audio file \S*/nope.wav does not exist"


def _bad_garbage(d):
    (d / "bad.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk" * 8)
    return f"{d}/bad.wav", r"bad: cannot read audio from file \S*/bad.wav"


def _bad_empty_file(d):
    (d / "bad.wav").write_bytes(b"")
    return f"{d}/bad.wav", r"bad: audio file \S*/bad.wav is empty"


def _bad_zero_length(d):
    sf.write(d / "bad.wav", np.zeros(0, np.int16), RATE, subtype="PCM_16")
    return f"{d}/bad.wav", r"bad: file \S*/bad.wav has no samples"


def _bad_too_short(d):
    sf.write(d / "bad.wav", _tone(100 / RATE), RATE, subtype="PCM_16")
    return f"{d}/bad.wav", r"bad: no frames from 100 samples \(0.006 sec\)"


def _bad_rate(d):
    sf.write(d / "bad.wav", _tone(0.3, rate=8000), 8000, subtype="PCM_16")
    return f"{d}/bad.wav", r"bad: file \S*/bad.wav has sample rate 8000 Hz, expected 16000 Hz"


def _bad_stereo(d):
    sf.write(d / "bad.wav", _tone(0.3, channels=2), RATE, subtype="PCM_16")
    return f"{d}/bad.wav", r"bad: file \S*/bad.wav has 2 channels; choose one \(--channel\)"


def _bad_pipe_fails(d):
    return f"cat {d}/gone.wav |", (r"bad: command failed with exit status 1: cat \S*/gone.wav\n"
                                   r".*No such file or directory")


def _bad_pipe_empty(d):
    return "true |", r"bad: command wrote no audio: true"


AUDIO_CASES = [_bad_missing, _bad_garbage, _bad_empty_file, _bad_zero_length, _bad_too_short, _bad_rate,
               _bad_stereo, _bad_pipe_fails, _bad_pipe_empty]


def _wav_scp_with(tmp_path: Path, bad_entry: str | None) -> tuple[Path, list[str]]:
    d = make_data(tmp_path / "data", n=3)
    good = [ln.split()[0] for ln in (d / "wav.scp").read_text().splitlines()]
    if bad_entry is not None:
        with open(d / "wav.scp", "a") as f:  # "bad" sorts first but order does not matter here
            f.write(f"bad {bad_entry}\n")
    return d, good


@pytest.mark.parametrize("case", AUDIO_CASES, ids=[c.__name__[5:] for c in AUDIO_CASES])
def test_bad_audio_is_skipped_and_named(tmp_path, case):
    from hybrid.features.options import mfcc_options
    from hybrid.features.pipeline import compute_feats_to_table
    from hybrid.io import read_table

    entry, msg = case(tmp_path)
    d, good = _wav_scp_with(tmp_path, entry)
    out = tmp_path / "mfcc"
    out.mkdir()
    (out / "unrelated.txt").write_text("keep me\n")
    before = snapshot(out)
    stats = compute_feats_to_table(d / "wav.scp", out / "raw.ark", out / "raw.scp", mfcc_options(dither=0.0))
    assert stats.done == len(good)
    assert [u for u, _ in stats.failed] == ["bad"]
    assert re.search(msg, stats.failed[0][1], re.S), stats.failed[0][1]
    assert sorted(read_table(out / "raw.scp")) == good  # the rest got features
    after = snapshot(out)
    assert sorted(set(after) - set(before)) == ["raw.ark", "raw.scp"]  # nothing else (no temp files)
    assert after["unrelated.txt"] == before["unrelated.txt"]


def test_wrong_rate_is_resampled_when_the_config_says_so(tmp_path):
    from hybrid.features.options import mfcc_options
    from hybrid.features.pipeline import compute_feats_to_table
    from hybrid.io import read_table

    entry, _ = _bad_rate(tmp_path)
    d, good = _wav_scp_with(tmp_path, entry)
    opts = mfcc_options(dither=0.0, allow_upsample=True)
    stats = compute_feats_to_table(d / "wav.scp", tmp_path / "f.ark", tmp_path / "f.scp", opts)
    assert not stats.failed
    feats = read_table(tmp_path / "f.scp")
    assert sorted(feats) == sorted(good + ["bad"])
    assert feats["bad"].shape == feats[good[0]].shape  # 0.3 s at 8 kHz upsampled to 16 kHz: same frames


def test_too_short_for_min_duration(tmp_path):
    from hybrid.features.options import mfcc_options
    from hybrid.features.pipeline import compute_feats_to_table

    d, good = _wav_scp_with(tmp_path, None)
    sf.write(tmp_path / "short.wav", _tone(0.1), RATE, subtype="PCM_16")
    with open(d / "wav.scp", "a") as f:
        f.write(f"short {tmp_path}/short.wav\n")
    stats = compute_feats_to_table(d / "wav.scp", tmp_path / "f.ark", tmp_path / "f.scp",
                                   mfcc_options(dither=0.0, min_duration=0.2))
    assert stats.failed == [("short", "short: too short (0.100 sec): producing no output")]
    assert stats.done == len(good)


# ---------------------------------------------------------------- lexicon → lang

@pytest.fixture(scope="module")
def good_lang(tmp_path_factory) -> Path:
    """data/lang prepared from the fixture dict (and data/lang_test with G.fst from lm.arpa)."""
    from hybrid.lang import prepare_lang
    from hybrid.lm.gfst import format_lm

    root = tmp_path_factory.mktemp("lang")
    shutil.copytree(FIX / "dict", root / "dict")
    prepare_lang(root / "dict", "<UNK>", root / "lang", tmp_dir=root / "tmp")
    format_lm(root / "lang", FIX / "lm.arpa", root / "dict" / "lexicon.txt", root / "lang_test")
    return root


def _lex(lines: list[bytes]):
    return lambda ls: lines


# (case, dict file, mutation of its lines, expected message after "<dict>/")
LEX_CASES = [
    ("bad_pron_prob", "lexiconp.txt", lambda ls: [b"<UNK> 1.0 SIL", b"AB x AA B", b"BAA 1.0 B AA", b"KAA 1.0 K AA"],
     r"lexiconp.txt:2: bad pron-prob 'x'"),
    ("empty_pronunciation", "lexicon.txt", lambda ls: _set(ls, 2, b"BAA"), r"lexicon.txt:3: word 'BAA' has an empty pronunciation"),
    ("phone_not_in_phone_set", "lexicon.txt", lambda ls: _set(ls, 3, b"KAA K ZZ"),
     r"lexicon.txt:4: phone 'ZZ' \(word 'KAA'\) is not in silence_phones.txt or nonsilence_phones.txt"),
    ("non_utf8_lexicon", "lexicon.txt", lambda ls: _set(ls, 1, b"A\xffB AA B"), r"lexicon.txt:2: not valid UTF-8"),
    ("forbidden_word", "lexicon.txt", lambda ls: ls + [b"<s> SIL"], r"lexicon.txt:5: forbidden word '<s>'"),
    ("blank_line", "lexicon.txt", lambda ls: ls[:2] + [b""] + ls[2:], r"lexicon.txt:3: empty lexicon line"),
    ("repeated_line", "lexicon.txt", lambda ls: ls + [ls[1]], r"lexicon.txt:5: line repeats line 2"),
    ("carriage_return", "lexicon.txt", lambda ls: _set(ls, 0, ls[0] + b"\r"), r"lexicon.txt:1: contains a carriage return"),
    ("bad_phone_name", "nonsilence_phones.txt", lambda ls: _set(ls, 1, b"B_E"),
     r"nonsilence_phones.txt:2: phone 'B_E' has a disallowed written form"),
]


@pytest.mark.parametrize("case,name,mutate,msg", LEX_CASES, ids=[c[0] for c in LEX_CASES])
def test_bad_lexicon_is_named_and_lang_untouched(tmp_path, good_lang, case, name, mutate, msg):
    from hybrid.lang import LangError, prepare_lang

    dict_dir, lang = tmp_path / "dict", tmp_path / "lang"
    shutil.copytree(FIX / "dict", dict_dir)
    shutil.copytree(good_lang / "lang", lang)
    if name == "lexiconp.txt":
        (dict_dir / "lexicon.txt").unlink()
        (dict_dir / name).write_bytes(b"")
    _edit_lines(dict_dir / name, mutate)
    before_lang, before_dict = snapshot(lang), snapshot(dict_dir)
    with pytest.raises(LangError) as e:
        prepare_lang(dict_dir, "<UNK>", lang, tmp_dir=tmp_path / "tmp")
    assert re.search(re.escape(str(dict_dir)) + "/" + msg, str(e.value)), str(e.value)
    assert_unchanged(before_lang, lang)
    assert_unchanged(before_dict, dict_dir)
    assert not (tmp_path / "tmp").exists()


def test_oov_word_missing_from_lexicon_changes_nothing(tmp_path, good_lang):
    from hybrid.lang import LangError, prepare_lang

    dict_dir, lang = tmp_path / "dict", tmp_path / "lang"
    shutil.copytree(FIX / "dict", dict_dir)
    shutil.copytree(good_lang / "lang", lang)
    before_lang, before_dict = snapshot(lang), snapshot(dict_dir)
    with pytest.raises(LangError, match=r"OOV word '<SPOKEN_NOISE>' is not in the lexicon of \S*dict"):
        prepare_lang(dict_dir, "<SPOKEN_NOISE>", lang, tmp_dir=tmp_path / "tmp")
    assert_unchanged(before_lang, lang)
    assert_unchanged(before_dict, dict_dir)  # lexiconp.txt is not written either


def test_prepare_lang_cli_lists_each_error_once(tmp_path):
    from hybrid.cli import main

    shutil.copytree(FIX / "dict", tmp_path / "dict")
    _edit_lines(tmp_path / "dict" / "lexicon.txt", lambda ls: _set(ls, 3, b"KAA K ZZ"))
    r = CliRunner().invoke(main, ["prepare-lang", str(tmp_path / "dict"), "<UNK>", str(tmp_path / "tmp"),
                                  str(tmp_path / "lang")])
    assert r.exit_code == 1
    assert r.output.count(f"--> ERROR: {tmp_path}/dict/lexicon.txt:4: phone 'ZZ'") == 1
    assert not (tmp_path / "lang").exists()


# ---------------------------------------------------------------- ARPA → G.fst

ARPA_CASES = [  # (fixture, line named by arpa2fst, text of the message, line named by read_arpa or None)
    ("bad_fields.arpa", 15, "Invalid n-gram data line", 15),
    ("bad_number.arpa", 8, "invalid n-gram logprob 'x'", 8),
    ("bad_section.arpa", 5, "expecting '\\1-grams:'", 5),
    ("bad_top_backoff.arpa", 15, "Invalid n-gram data line", None),
    ("bad_no_end.arpa", 19, "expecting \\end\\", None),
]


@pytest.mark.parametrize("fixture,line,text,read_line", ARPA_CASES, ids=[c[0] for c in ARPA_CASES])
def test_malformed_arpa_is_named_and_g_untouched(tmp_path, good_lang, fixture, line, text, read_line):
    from hybrid.lm.arpa import read_arpa
    from hybrid.lm.gfst import format_lm

    arpa = FIX / fixture
    out = tmp_path / "lang_test"
    shutil.copytree(good_lang / "lang_test", out)
    before = snapshot(out)
    with pytest.raises(FormatError) as e:
        format_lm(good_lang / "lang", arpa, good_lang / "dict" / "lexicon.txt", out)
    assert str(e.value).startswith(f"{arpa}:{line}: "), str(e.value)
    assert text in str(e.value)
    assert_unchanged(before, out)  # the old G.fst is still there, nothing half-written
    if read_line is not None:
        with pytest.raises(FormatError, match=re.escape(f"{arpa}:{read_line}: ")):
            read_arpa(arpa)


def test_non_utf8_arpa(tmp_path, good_lang):
    from hybrid.lm.arpa import read_arpa
    from hybrid.lm.gfst import arpa2fst

    arpa = tmp_path / "lm.arpa"
    arpa.write_bytes(b"preamble \xfe is ignored\n" + (FIX / "lm.arpa").read_bytes().replace(b"\tKAA\t", b"\tK\xffAA\t"))
    g = tmp_path / "G.fst"
    g.write_bytes(b"old")
    before = snapshot(tmp_path)
    with pytest.raises(FormatError, match=re.escape(f"{arpa}:11: not valid UTF-8")):
        read_arpa(arpa)
    with pytest.raises(FormatError, match=re.escape(f"{arpa}:11: not valid UTF-8")):
        arpa2fst(arpa, g, words_txt=good_lang / "lang" / "words.txt", disambig_symbol="#0")
    assert_unchanged(before, tmp_path)


def test_lm_with_empty_word_cycle_leaves_no_g(tmp_path, good_lang):
    from hybrid.lm.gfst import format_lm

    lex = tmp_path / "lexicon.txt"
    lex.write_text((FIX / "dict" / "lexicon.txt").read_text() + "AB\n")  # AB has an empty pronunciation
    out = tmp_path / "lang_test"
    with pytest.raises(ValueError, match="cycles with empty words"):
        format_lm(good_lang / "lang", FIX / "lm.arpa", lex, out)
    assert not (out / "G.fst").exists()
    assert not [p for p in out.rglob("*") if p.is_file() and "tmp" in p.name]


def test_arpa_cli_errors_are_one_line(tmp_path, good_lang):
    from hybrid.cli import main

    r = CliRunner().invoke(main, ["arpa2fst", "--disambig-symbol=#0", str(FIX / "bad_number.arpa"),
                                  str(tmp_path / "G.fst")])
    assert r.exit_code == 1
    assert f"arpa2fst: ERROR: {FIX}/bad_number.arpa:8: invalid n-gram logprob 'x'" in r.output
    assert "Traceback" not in r.output and not (tmp_path / "G.fst").exists()
    r = CliRunner().invoke(main, ["format-lm", str(good_lang / "lang"), str(FIX / "bad_fields.arpa"),
                                  str(good_lang / "dict" / "lexicon.txt"), str(tmp_path / "lt")])
    assert r.exit_code == 1 and f"format-lm: ERROR: {FIX}/bad_fields.arpa:15:" in r.output
    # arpa-to-g (egs/an4's G) onto an existing G.fst: the old one stays
    g = tmp_path / "G.fst"
    shutil.copy(good_lang / "lang_test" / "G.fst", g)
    before = snapshot(tmp_path)
    r = CliRunner().invoke(main, ["arpa-to-g", "--oov-list", str(good_lang / "lang" / "oov.txt"),
                                  str(FIX / "bad_section.arpa"), str(good_lang / "lang" / "words.txt"), str(g)])
    assert r.exit_code == 1 and f"arpa-to-g: ERROR: {FIX}/bad_section.arpa:5:" in r.output
    assert_unchanged(before, tmp_path)


# ---------------------------------------------------------------- OOVs (find-oovs)

def test_find_oovs_counts_words_and_utterances(tmp_path, good_lang):
    from hybrid.data.oov import find_oovs, format_oov_report, map_oovs, read_vocab

    d = make_data(tmp_path / "data", n=4)
    (d / "text").write_text("spkA-u0 BAA ZEBRA KAA ZEBRA\nspkA-u2 YAK\nspkB-u1 AB ZEBRA\nspkB-u3\n")
    before = snapshot(d)
    rep = find_oovs(d, good_lang / "lang")
    assert rep.counts == {"ZEBRA": 3, "YAK": 1}
    assert rep.utts == {"ZEBRA": ["spkA-u0", "spkB-u1"], "YAK": ["spkA-u2"]}
    assert (rep.num_tokens, rep.num_utts, rep.utts_with_oov, rep.empty) == (7, 4, 3, ["spkB-u3"])
    assert rep.oov_word == "<UNK>"
    summary, lines = format_oov_report(rep)
    assert summary.startswith("find-oovs: 4 of 7 word tokens (57.14%) in 3 of 4 utterances")
    assert summary.endswith("2 OOV word types; they map to <UNK>")
    assert lines == ["ZEBRA 3 spkA-u0 spkB-u1", "YAK 1 spkA-u2", "# 1 utterances with an empty transcript: spkB-u3"]
    vocab, _ = read_vocab(good_lang / "lang")
    assert map_oovs("BAA ZEBRA KAA".split(), vocab, "<UNK>") == ["BAA", "<UNK>", "KAA"]
    # the dict dir gives the same answer as the lang dir (lexicon.txt vs words.txt)
    assert find_oovs(d, good_lang / "dict").counts == rep.counts
    assert_unchanged(before, d)


def test_find_oovs_cli(tmp_path, good_lang):
    from hybrid.cli import main

    d = make_data(tmp_path / "data", n=4)
    (d / "text").write_text("".join(f"spk{s}-u{i} BAA ZEBRA\n" for s, i in (("A", 0), ("A", 2), ("B", 1), ("B", 3))))
    r = CliRunner().invoke(main, ["find-oovs", "--max-utts", "2", str(d), str(good_lang / "lang")])
    assert r.exit_code == 0, r.output
    assert "ZEBRA 4 spkA-u0 spkA-u2 ... (+2 more)" in r.output
    assert "4 of 8 word tokens (50.00%) in 4 of 4 utterances" in r.output
    r = CliRunner().invoke(main, ["find-oovs", "--strict", str(d), str(good_lang / "lang")])
    assert r.exit_code == 1
    _edit_lines(d / "text", lambda ls: _set(ls, 2, b"spkB-u1 BA\xffA"))
    r = CliRunner().invoke(main, ["find-oovs", str(d), str(good_lang / "lang")])
    assert r.exit_code == 1
    assert f"find-oovs: ERROR: {d}/text:3: not valid UTF-8" in r.output
