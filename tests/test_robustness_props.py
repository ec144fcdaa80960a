"""Property-based tests (hypothesis) of the parsers that meet hand-written input.

- lexicon (dict dir): any valid lexicon/lexiconp round-trips exactly; one corrupted line of any
  kind is reported, and every error names exactly that file and line.
- data-dir tables (complementing tests/test_data.py's round trip): one corrupted line anywhere is
  named by ``file:line``; two swapped lines are named by validate_data_dir as "not sorted".
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from hybrid.data import DataDirError, read_table_file, validate_data_dir
from hybrid.io.symbols import FormatError
from hybrid.lang.dict_dir import read_dict_dir

# words: anything without whitespace/control characters (Kaldi splits on whitespace)
WORD = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Cf", "Zs", "Zl", "Zp", "Co", "Cn"),
                                      blacklist_characters="\x85\u00a0\u1680\u180e\u2000\u200b\ufeff"),
               min_size=1, max_size=8).filter(lambda w: w not in ("<s>", "</s>", "<eps>", "#0") and not w.isspace())
PHONE = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=3)
PROB = st.floats(min_value=1e-6, max_value=1.0, allow_nan=False, allow_infinity=False)


@st.composite
def lexicons(draw):
    phones = draw(st.lists(PHONE, min_size=2, max_size=8, unique=True))
    entries = draw(st.lists(st.tuples(WORD, st.lists(st.sampled_from(phones), min_size=1, max_size=5), PROB),
                            min_size=1, max_size=12, unique_by=lambda e: (e[0], tuple(e[1]))))
    with_probs = draw(st.booleans())
    return phones, entries, with_probs


def _write_dict(d: Path, phones, entries, with_probs) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    (d / "silence_phones.txt").write_text(phones[0] + "\n")
    (d / "optional_silence.txt").write_text(phones[0] + "\n")
    (d / "nonsilence_phones.txt").write_text("".join(p + "\n" for p in phones[1:]))
    name = "lexiconp.txt" if with_probs else "lexicon.txt"
    lines = [f"{w}\t{p!r}\t{' '.join(ps)}" if with_probs else f"{w} {' '.join(ps)}" for w, ps, p in entries]
    (d / name).write_text("".join(x + "\n" for x in lines), encoding="utf-8")
    return d / name


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lexicons())
def test_lexicon_roundtrip(lex):
    phones, entries, with_probs = lex
    with tempfile.TemporaryDirectory() as td:
        _write_dict(Path(td) / "dict", phones, entries, with_probs)
        parsed, errors = read_dict_dir(Path(td) / "dict")
    assert errors == []
    assert [(e.word, list(e.phones)) for e in parsed.lexicon] == [(w, ps) for w, ps, _ in entries]
    assert [e.prob for e in parsed.lexicon] == ([p for _, _, p in entries] if with_probs else [1.0] * len(entries))
    assert parsed.has_pron_probs == with_probs


CORRUPTIONS = {  # kind -> (make the bad line from the good one, expected message)
    "non_utf8": (lambda ln, ph: ln[:1] + b"\xff\xfe" + ln[1:], "not valid UTF-8"),
    "unknown_phone": (lambda ln, ph: ln + b" " + ph, "is not in silence_phones.txt or nonsilence_phones.txt"),
    "empty_pron": (lambda ln, ph: ln.split()[0], "has an empty pronunciation"),
    "forbidden_word": (lambda ln, ph: b"<s>" + ln[len(ln.split()[0]):], "forbidden word '<s>'"),
    "carriage_return": (lambda ln, ph: ln + b"\r", "carriage return"),
    "nbsp": (lambda ln, ph: ln + "\u00a0".encode(), "disallowed whitespace U+00A0"),
    "blank": (lambda ln, ph: b"", "empty lexicon line"),
    "bad_prob": (None, "bad pron-prob"),
}


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lexicons(), st.sampled_from(sorted(CORRUPTIONS)), st.data())
def test_corrupted_lexicon_line_is_named(lex, kind, data):
    phones, entries, with_probs = lex
    if kind == "bad_prob":
        assume(with_probs)
    k = data.draw(st.integers(0, len(entries) - 1), label="line")
    with tempfile.TemporaryDirectory() as td:
        path = _write_dict(Path(td) / "dict", phones, entries, with_probs)
        lines = path.read_bytes().split(b"\n")[:-1]
        if kind == "bad_prob":
            f = lines[k].split(b"\t")
            lines[k] = b"\t".join([f[0], data.draw(st.sampled_from([b"0", b"1.5", b"-0.1", b"x", b"nan"])), f[2]])
        else:
            unknown = ("Q" + max(phones, key=len) + "Z").encode()  # not a phone
            lines[k] = CORRUPTIONS[kind][0](lines[k], unknown)
        path.write_bytes(b"".join(x + b"\n" for x in lines))
        parsed, errors = read_dict_dir(Path(td) / "dict")
    assert parsed is None and errors
    where = f"{path}:{k + 1}: "
    assert all(e.startswith(where) for e in errors), (where, errors)
    assert any(CORRUPTIONS[kind][1] in e for e in errors), errors


# ---------------------------------------------------------------- data-dir tables

IDS = st.lists(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.ÄéЖ", min_size=1, max_size=10),
               min_size=2, max_size=15, unique=True).map(sorted)

TABLE_CORRUPTIONS = {
    "non_utf8": (lambda ln, prev: ln + b" \xc3\x28", "not valid UTF-8"),
    "leading_space": (lambda ln, prev: b" " + ln, "line starts with whitespace"),
    "blank": (lambda ln, prev: b"", "empty line"),
    "carriage_return": (lambda ln, prev: ln + b"\r", "carriage return"),
    "duplicate_key": (lambda ln, prev: prev.split()[0] + b" x", "duplicate key"),
    "key_only": (lambda ln, prev: ln.split()[0], "expected at least 1 field(s) after the key"),
}


@settings(max_examples=50, deadline=None)
@given(IDS, st.sampled_from(sorted(TABLE_CORRUPTIONS)), st.data())
def test_corrupted_table_line_is_named(ids, kind, data):
    k = data.draw(st.integers(1 if kind == "duplicate_key" else 0, len(ids) - 1), label="line")
    lines = [f"{u} v{i} w".encode() for i, u in enumerate(ids)]
    lines[k] = TABLE_CORRUPTIONS[kind][0](lines[k], lines[k - 1])
    with tempfile.TemporaryDirectory() as td:
        path = Path(td) / "wav.scp"
        path.write_bytes(b"".join(x + b"\n" for x in lines))
        try:
            read_table_file(path, min_value_fields=1)
        except FormatError as e:
            msg = str(e)
        else:
            raise AssertionError(f"no error for {kind} at line {k + 1}")
    assert msg.startswith(f"{path}:{k + 1}: "), msg
    assert TABLE_CORRUPTIONS[kind][1] in msg, msg


@settings(max_examples=50, deadline=None)
@given(IDS, st.data())
def test_unsorted_ids_are_named(ids, data):
    k = data.draw(st.integers(0, len(ids) - 2), label="swap")
    order = list(ids)
    order[k], order[k + 1] = order[k + 1], order[k]
    with tempfile.TemporaryDirectory() as td:
        d = Path(td)
        (d / "utt2spk").write_text("".join(f"{u} {u}\n" for u in order), encoding="utf-8")
        (d / "spk2utt").write_text("".join(f"{u} {u}\n" for u in order), encoding="utf-8")
        try:
            validate_data_dir(d, no_text=True, no_wav=True)
        except DataDirError as e:
            msg = str(e)
        else:
            raise AssertionError("unsorted utt2spk accepted")
    assert re.match(re.escape(f"{d}/utt2spk:{k + 2}: not sorted: {order[k + 1]!r} comes after {order[k]!r}"), msg), msg
