"""Load a Kaldi lang directory for later stages (the files remain the contract)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from hybrid.io.symbols import SymbolTable, read_int_list_file, read_symbols
from hybrid.lang.dict_dir import LangError
from hybrid.lang.lexicon import strip_word_position

WORD_BOUNDARY_TYPES = ("nonword", "begin", "end", "internal", "singleton")


def _read_int_lines(path: Path) -> list[list[int]]:
    out = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            try:
                out.append([int(x) for x in line.split()])
            except ValueError:
                raise LangError(f"{path}:{lineno}: expected integers, got {line.rstrip()!r}") from None
    return out


@dataclass
class Lang:
    """The parts of ``data/lang`` that training and decoding stages need.

    Phone and word ids are those of ``phones.txt`` / ``words.txt``; ``word_boundary`` maps
    a phone id to ``nonword|begin|end|internal|singleton`` (empty without position-dependent
    phones and no ``phones/word_boundary.int``).
    """

    dir: Path
    phones: SymbolTable
    words: SymbolTable
    silence: list[int]
    nonsilence: list[int]
    disambig: list[int]
    context_indep: list[int]
    optional_silence: int
    oov_word: str
    oov: int
    word_boundary: dict[int, str] = field(default_factory=dict)
    wdisambig_phones: list[int] = field(default_factory=list)
    wdisambig_words: list[int] = field(default_factory=list)
    sets: list[list[int]] = field(default_factory=list)
    roots: list[tuple[str, str, list[int]]] = field(default_factory=list)
    extra_questions: list[list[int]] = field(default_factory=list)

    @classmethod
    def load(cls, lang_dir: str | os.PathLike) -> "Lang":
        d = Path(lang_dir)
        P = d / "phones"
        for f in ("phones.txt", "words.txt", "oov.int", "oov.txt", "phones/silence.int",
                  "phones/nonsilence.int", "phones/optional_silence.int"):
            if not (d / f).is_file():
                raise LangError(f"{d / f}: missing (is {d} a lang directory?)")
        phones = read_symbols(d / "phones.txt")
        words = read_symbols(d / "words.txt")
        opt = read_int_list_file(P / "optional_silence.int")
        if len(opt) != 1:
            raise LangError(f"{P / 'optional_silence.int'}: expected one phone id, got {opt}")
        oov = read_int_list_file(d / "oov.int")
        if len(oov) != 1:
            raise LangError(f"{d / 'oov.int'}: expected one word id, got {oov}")
        oov_word = (d / "oov.txt").read_text(encoding="utf-8").split()
        wb: dict[int, str] = {}
        if (P / "word_boundary.int").is_file():
            with open(P / "word_boundary.int", encoding="utf-8") as f:
                for lineno, line in enumerate(f, 1):
                    parts = line.split()
                    if len(parts) != 2 or not parts[0].isdigit() or parts[1] not in WORD_BOUNDARY_TYPES:
                        raise LangError(f"{P / 'word_boundary.int'}:{lineno}: bad line {line.rstrip()!r}")
                    wb[int(parts[0])] = parts[1]

        def opt_ints(name: str) -> list[int]:
            return read_int_list_file(P / name) if (P / name).is_file() else []

        roots = []
        if (P / "roots.int").is_file():
            with open(P / "roots.int", encoding="utf-8") as f:
                for lineno, line in enumerate(f, 1):
                    parts = line.split()
                    if len(parts) < 3:
                        raise LangError(f"{P / 'roots.int'}:{lineno}: bad line {line.rstrip()!r}")
                    roots.append((parts[0], parts[1], [int(x) for x in parts[2:]]))
        return cls(
            dir=d, phones=phones, words=words,
            silence=read_int_list_file(P / "silence.int"),
            nonsilence=read_int_list_file(P / "nonsilence.int"),
            disambig=opt_ints("disambig.int"),
            context_indep=opt_ints("context_indep.int"),
            optional_silence=opt[0], oov_word=oov_word[0] if oov_word else "", oov=oov[0],
            word_boundary=wb,
            wdisambig_phones=opt_ints("wdisambig_phones.int"),
            wdisambig_words=opt_ints("wdisambig_words.int"),
            sets=_read_int_lines(P / "sets.int") if (P / "sets.int").is_file() else [],
            roots=roots,
            extra_questions=_read_int_lines(P / "extra_questions.int") if (P / "extra_questions.int").is_file() else [],
        )

    @property
    def real_phones(self) -> list[int]:
        """Silence and non-silence phone ids (no ``<eps>``, no disambiguation symbols), sorted."""
        return sorted(self.silence + self.nonsilence)

    @property
    def num_phones(self) -> int:
        """The largest real phone id (Kaldi's phones are 1..num_phones, then #0, #1...)."""
        return max(self.real_phones)

    @property
    def position_dependent(self) -> bool:
        return any(v != "nonword" for v in self.word_boundary.values())

    @cached_property
    def silence_set(self) -> frozenset[int]:
        return frozenset(self.silence)

    @cached_property
    def disambig_set(self) -> frozenset[int]:
        return frozenset(self.disambig)

    def is_silence(self, phone: int) -> bool:
        return phone in self.silence_set

    def is_disambig(self, phone: int) -> bool:
        return phone in self.disambig_set

    def base_phone(self, phone: int | str) -> str:
        """Phone name without its word-position marker (``AH_B`` -> ``AH``)."""
        name = self.phones.id2sym[phone] if isinstance(phone, int) else phone
        return strip_word_position(name) if self.position_dependent else name

    def word_id(self, word: str) -> int:
        """Id of ``word``, or of the OOV word when it is not in ``words.txt``."""
        return self.words.sym2id.get(word, self.oov)

    def topo_text(self) -> str:
        return (self.dir / "topo").read_text(encoding="utf-8")

    def read_fst(self, name: str = "L.fst"):
        """Read an FST of the lang dir (``L.fst``, ``L_disambig.fst``, ``G.fst``) with kaldifst."""
        import kaldifst

        path = self.dir / name
        if not path.is_file():
            raise LangError(f"{path}: missing")
        fst = kaldifst.StdVectorFst.read(str(path))
        if fst is None:
            raise LangError(f"{path}: could not be read as an OpenFst vector FST")
        return fst


def load_lang(lang_dir: str | os.PathLike) -> Lang:
    """Shorthand for :meth:`Lang.load`."""
    return Lang.load(lang_dir)
