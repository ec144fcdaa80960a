"""Kaldi dictionary directories (``data/local/dict``): reading and validation.

A dict dir holds ``silence_phones.txt``, ``nonsilence_phones.txt``,
``optional_silence.txt``, optionally ``extra_questions.txt``, and ``lexicon.txt``
(``word p1 p2 ...``) and/or ``lexiconp.txt`` (``word prob p1 p2 ...``). The checks follow
Kaldi's ``utils/validate_dict_dir.pl``; every error names the file and line.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

# Kaldi splits on ASCII blanks only; other Unicode whitespace is an error.
_ALLOWED_WS = frozenset(" \t\n")
_FORBIDDEN_WORDS = frozenset(["<s>", "</s>", "<eps>", "#0"])
_BAD_PHONE = re.compile(r"^#|_[BESI]$|^<eps>$")


class LangError(ValueError):
    """A dict or lang directory is invalid; ``errors`` lists one message per problem."""

    def __init__(self, message: str, errors: list[str] | None = None):
        self.errors = list(errors) if errors else [message]
        super().__init__(message if errors is None else message + "\n  " + "\n  ".join(self.errors))


class DictDirError(LangError):
    """A dict directory failed validation."""


@dataclass(frozen=True)
class LexiconEntry:
    """One pronunciation: ``word``, pronunciation probability, phones."""

    word: str
    prob: float
    phones: tuple[str, ...]


@dataclass
class DictDir:
    """The parsed contents of a dict directory."""

    path: Path
    silence_phones: list[list[str]]
    nonsilence_phones: list[list[str]]
    optional_silence: str
    extra_questions: list[list[str]]
    lexicon: list[LexiconEntry]
    lexicon_file: Path
    has_pron_probs: bool = False
    warnings: list[str] = field(default_factory=list)


def read_text_lines(path: str | os.PathLike, errors: list[str] | None = None) -> list[str]:
    """Read a UTF-8 text file as lines (newlines kept).

    A line that is not valid UTF-8 raises :class:`LangError` naming ``path:line``, or,
    when ``errors`` is given, is reported there and replaced by an empty string.
    """
    with open(path, "rb") as f:
        raw = f.read().split(b"\n")
    lines = []
    for lineno, chunk in enumerate(raw, 1):
        last = lineno == len(raw)
        if last and not chunk:
            break
        try:
            text = chunk.decode("utf-8")
        except UnicodeDecodeError as e:
            msg = f"{path}:{lineno}: not valid UTF-8 ({e.reason} at byte {e.start})"
            if errors is None:
                raise LangError(msg) from None
            errors.append(msg)
            text = ""
        lines.append(text if last else text + "\n")
    return lines


def _check_line_chars(path: Path, lineno: int, line: str, errors: list[str]) -> None:
    if "\r" in line:
        errors.append(f"{path}:{lineno}: contains a carriage return (^M) character")
    bad = {c for c in line if c.isspace() and c not in _ALLOWED_WS and c != "\r"}
    if bad:
        errors.append(f"{path}:{lineno}: contains disallowed whitespace "
                      + " ".join(f"U+{ord(c):04X}" for c in sorted(bad)))
    if not line.endswith("\n"):
        errors.append(f"{path}:{lineno}: last line does not end in a newline")


def _read_phone_list(path: Path, errors: list[str], seen: dict[str, str]) -> list[list[str]]:
    """Read silence_phones.txt / nonsilence_phones.txt: one or more phones per line."""
    out: list[list[str]] = []
    if not path.is_file() or path.stat().st_size == 0:
        errors.append(f"{path}: is empty or does not exist")
        return out
    for lineno, line in enumerate(read_text_lines(path, errors), 1):
        _check_line_chars(path, lineno, line, errors)
        cols = line.split()
        if not cols:
            errors.append(f"{path}:{lineno}: empty line")
            continue
        for p in cols:
            if p in seen:
                errors.append(f"{path}:{lineno}: phone {p!r} duplicates one in {seen[p]}")
            else:
                seen[p] = f"{path.name}:{lineno}"
            if _BAD_PHONE.search(p):
                errors.append(f"{path}:{lineno}: phone {p!r} has a disallowed written form "
                              "(starts with #, ends in _B/_E/_S/_I, or is <eps>)")
        out.append(cols)
    return out


def _read_lexicon(path: Path, with_probs: bool, phones: set[str], errors: list[str]) -> list[LexiconEntry]:
    entries: list[LexiconEntry] = []
    seen_lines: dict[str, int] = {}
    for lineno, line in enumerate(read_text_lines(path, errors), 1):
        _check_line_chars(path, lineno, line, errors)
        key = line.rstrip("\n")
        if key in seen_lines:
            errors.append(f"{path}:{lineno}: line repeats line {seen_lines[key]}: {key!r}")
        seen_lines.setdefault(key, lineno)
        cols = line.split()
        if not cols:
            errors.append(f"{path}:{lineno}: empty lexicon line")
            continue
        word, rest = cols[0], cols[1:]
        if word in _FORBIDDEN_WORDS:
            errors.append(f"{path}:{lineno}: forbidden word {word!r}")
        prob = 1.0
        if with_probs:
            try:
                prob = float(rest[0]) if rest else float("nan")
            except ValueError:
                prob = float("nan")
            if not (0.0 < prob <= 1.0):
                errors.append(f"{path}:{lineno}: bad pron-prob {rest[0] if rest else ''!r} "
                              "(expected 0 < prob <= 1 as the second field)")
            rest = rest[1:]
        if not rest:
            errors.append(f"{path}:{lineno}: word {word!r} has an empty pronunciation")
        for p in rest:
            if p not in phones:
                errors.append(f"{path}:{lineno}: phone {p!r} (word {word!r}) is not in "
                              "silence_phones.txt or nonsilence_phones.txt")
        entries.append(LexiconEntry(word, prob, tuple(rest)))
    if not entries and not errors:
        errors.append(f"{path}: no pronunciations")
    return entries


def read_dict_dir(dict_dir: str | os.PathLike) -> tuple[DictDir | None, list[str]]:
    """Parse and check a dict dir; returns ``(dict, errors)`` (``dict`` is None if unusable)."""
    d = Path(dict_dir)
    errors: list[str] = []
    warnings: list[str] = []
    if not d.is_dir():
        return None, [f"{d}: dict directory does not exist"]

    sil_seen: dict[str, str] = {}
    silence = _read_phone_list(d / "silence_phones.txt", errors, sil_seen)
    nonsil_seen: dict[str, str] = {}
    nonsilence = _read_phone_list(d / "nonsilence_phones.txt", errors, nonsil_seen)
    overlap = sorted(set(sil_seen) & set(nonsil_seen))
    if overlap:
        errors.append(f"{d}: silence_phones.txt and nonsilence_phones.txt overlap: {' '.join(overlap)}")
    phones = set(sil_seen) | set(nonsil_seen)

    optional_silence = ""
    os_path = d / "optional_silence.txt"
    if not os_path.is_file() or os_path.stat().st_size == 0:
        errors.append(f"{os_path}: is empty or does not exist")
    else:
        lines = read_text_lines(os_path, errors)
        for lineno, line in enumerate(lines, 1):
            cols = line.split()
            if "\r" in line:
                errors.append(f"{os_path}:{lineno}: contains a carriage return (^M) character")
            if lineno > 1 or len(cols) != 1:
                errors.append(f"{os_path}:{lineno}: only 1 phone expected in optional_silence.txt")
            elif cols[0] not in sil_seen:
                errors.append(f"{os_path}:{lineno}: phone {cols[0]!r} is not in silence_phones.txt")
            else:
                optional_silence = cols[0]

    lex_path, lexp_path = d / "lexicon.txt", d / "lexiconp.txt"
    lexicon: list[LexiconEntry] = []
    lex_file = lexp_path
    lex_entries = lexp_entries = None
    if lex_path.is_file():
        lex_entries = _read_lexicon(lex_path, False, phones, errors)
    if lexp_path.is_file():
        lexp_entries = _read_lexicon(lexp_path, True, phones, errors)
    if lex_entries is None and lexp_entries is None:
        errors.append(f"{d}: neither lexicon.txt nor lexiconp.txt exists")
    if lex_entries is not None and lexp_entries is not None:
        if len(lex_entries) != len(lexp_entries):
            errors.append(f"{lex_path} and {lexp_path} have different numbers of lines")
        for lineno, (a, b) in enumerate(zip(lex_entries, lexp_entries), 1):
            if a.word != b.word or a.phones != b.phones:
                errors.append(f"{lex_path}:{lineno} and {lexp_path}:{lineno} mismatch (sorting?)")
                break
    if lexp_entries is not None:  # Kaldi: lexiconp.txt is used if it exists
        lexicon, lex_file = lexp_entries, lexp_path
    elif lex_entries is not None:
        lexicon, lex_file = lex_entries, lex_path
    if (d / "lexiconp_silprob.txt").exists():
        errors.append(f"{d}/lexiconp_silprob.txt: silence-probability lexicons are not supported")

    extra: list[list[str]] = []
    eq_path = d / "extra_questions.txt"
    distinguished: set[tuple[str, str]] = set()
    if eq_path.is_file() and eq_path.stat().st_size > 0:
        for lineno, line in enumerate(read_text_lines(eq_path, errors), 1):
            _check_line_chars(eq_path, lineno, line, errors)
            cols = line.split()
            if not cols:
                errors.append(f"{eq_path}:{lineno}: empty line")
                continue
            for p in cols:
                if p not in phones:
                    errors.append(f"{eq_path}:{lineno}: phone {p!r} is not in "
                                  "silence_phones.txt or nonsilence_phones.txt")
            q = set(cols)
            for p1 in cols:
                for p2 in nonsil_seen:
                    if p2 not in q:
                        distinguished.add((p1, p2))
                        distinguished.add((p2, p1))
            extra.append(cols)
    # Phones on one line of nonsilence_phones.txt share a tree root; extra questions
    # must be able to tell them apart (Kaldi treats this as an error).
    for cols in nonsilence:
        for p1 in cols:
            for p2 in cols:
                if p1 != p2 and (p1, p2) not in distinguished:
                    errors.append(f"{d}/nonsilence_phones.txt: phones {p1} and {p2} share a tree root "
                                  "but can never be distinguished by extra_questions.txt")
    if errors:
        return None, errors
    return DictDir(d, silence, nonsilence, optional_silence, extra, lexicon, lex_file,
                   lexp_entries is not None, warnings), []


def check_dict_dir(dict_dir: str | os.PathLike) -> list[str]:
    """Return the list of problems found in a dict dir (empty when it is valid)."""
    return read_dict_dir(dict_dir)[1]


def validate_dict_dir(dict_dir: str | os.PathLike) -> DictDir:
    """Validate a dict dir as Kaldi's ``validate_dict_dir.pl``; raise :class:`DictDirError`."""
    parsed, errors = read_dict_dir(dict_dir)
    if errors or parsed is None:
        raise DictDirError(f"error validating dictionary directory {dict_dir}", errors)
    return parsed
