"""Checks of a lang directory: a subset of Kaldi's ``utils/validate_lang.pl``."""

from __future__ import annotations

import os
import random
from pathlib import Path

from hybrid.io.symbols import FormatError, SymbolTable, read_symbols
from hybrid.lang.dict_dir import LangError, read_text_lines
from hybrid.lang.lang import WORD_BOUNDARY_TYPES
from hybrid.lang.topo import topo_phones


class LangDirError(LangError):
    """A lang directory failed validation."""


_ROOT_PREFIXES = ("shared", "not-shared")
_SPLIT = ("split", "not-split")


class _Checker:
    def __init__(self, lang_dir: Path):
        self.d = lang_dir
        self.errors: list[str] = []
        self.warnings: list[str] = []
        self.phones = SymbolTable()
        self.words = SymbolTable()
        self.silence: list[str] = []
        self.nonsilence: list[str] = []
        self.disambig: list[str] = []

    def err(self, msg: str) -> None:
        self.errors.append(msg)

    def _lines(self, path: Path) -> list[str] | None:
        if not path.is_file():
            self.err(f"{path}: does not exist")
            return None
        return read_text_lines(path, self.errors)

    def symbol_tables(self) -> bool:
        for name in ("phones.txt", "words.txt"):
            path = self.d / name
            if not path.is_file() or path.stat().st_size == 0:
                self.err(f"{path}: is empty or does not exist")
                return False
            try:
                table = read_symbols(path)
            except (FormatError, UnicodeDecodeError) as e:
                self.err(str(e))
                return False
            if table.sym2id.get("<eps>") != 0:
                self.err(f"{path}: <eps> must have id 0")
            if name == "phones.txt":
                self.phones = table
            else:
                self.words = table
        return True

    def phone_list(self, name: str) -> list[str]:
        """Read phones/<name>.txt (one phone per line) and check it against .int and .csl."""
        P = self.d / "phones"
        txt = self._lines(P / f"{name}.txt")
        if txt is None:
            return []
        syms: list[str] = []
        for lineno, line in enumerate(txt, 1):
            cols = line.split()
            if len(cols) != 1:
                self.err(f"{P / f'{name}.txt'}:{lineno}: expected 1 column")
                continue
            if cols[0] not in self.phones.sym2id:
                self.err(f"{P / f'{name}.txt'}:{lineno}: phone {cols[0]!r} is not in phones.txt")
                continue
            syms.append(cols[0])
        if not syms:
            self.warnings.append(f"{P / f'{name}.txt'} is empty")
        ints = self._lines(P / f"{name}.int")
        if ints is not None:
            got = [line.split() for line in ints]
            if len(got) != len(syms):
                self.err(f"{P / f'{name}.int'}: {len(got)} lines, but {name}.txt has {len(syms)}")
            for lineno, (cols, s) in enumerate(zip(got, syms), 1):
                if cols != [str(self.phones.sym2id[s])]:
                    self.err(f"{P / f'{name}.int'}:{lineno}: does not correspond to {name}.txt "
                             f"({' '.join(cols)!r} vs {s})")
                    break
        csl = self._lines(P / f"{name}.csl")
        if csl is not None:
            expect = ":".join(str(self.phones.sym2id[s]) for s in syms)
            if len(csl) > 1 or (csl[0].strip() if csl else "") != expect:
                self.err(f"{P / f'{name}.csl'}:1: does not correspond to {name}.txt (expected {expect!r})")
        return syms

    def phone_sets(self, name: str, sym_check: bool, *, may_be_empty: bool = False) -> list[list[str]]:
        """Check phones/<name>.{txt,int} (several phones per line, roots/word_boundary prefixes)."""
        P = self.d / "phones"
        txt_path, int_path = P / f"{name}.txt", P / f"{name}.int"
        if not txt_path.is_file() or not int_path.is_file():
            self.err(f"{P}/{name}.{{txt,int}} do not exist" + (" (they may be empty, but should be present)"
                                                              if may_be_empty else ""))
            return []
        txt, ints = self._lines(txt_path) or [], self._lines(int_path) or []
        if not txt and not may_be_empty:
            self.err(f"{txt_path}: is empty")

        def strip(cols: list[str], path: Path, lineno: int) -> list[str]:
            if name == "roots":
                if len(cols) < 3 or cols[0] not in _ROOT_PREFIXES or cols[1] not in _SPLIT:
                    self.err(f"{path}:{lineno}: expected '(shared|not-shared) (split|not-split) phones...'")
                    return []
                return cols[2:]
            if name == "word_boundary":
                if len(cols) != 2 or cols[1] not in WORD_BOUNDARY_TYPES:
                    self.err(f"{path}:{lineno}: expected '<phone> nonword|begin|end|internal|singleton'")
                    return []
                return cols[:1]
            return cols

        out: list[list[str]] = []
        used: set[str] = set()
        if len(txt) != len(ints):
            self.err(f"{int_path}: {len(ints)} lines, but {txt_path.name} has {len(txt)}")
        for lineno, (t, i) in enumerate(zip(txt, ints), 1):
            tc, ic = t.split(), i.split()
            if name == "roots" and tc[:2] != ic[:2]:
                self.err(f"{int_path}:{lineno}: does not correspond to {txt_path.name}")
            if name == "word_boundary" and tc[1:] != ic[1:]:
                self.err(f"{int_path}:{lineno}: does not correspond to {txt_path.name}")
            syms = strip(tc, txt_path, lineno)
            ids = strip(ic, int_path, lineno)
            if len(syms) != len(ids):
                self.err(f"{int_path}:{lineno}: does not correspond to {txt_path.name}")
                continue
            for k, (s, n) in enumerate(zip(syms, ids), 1):
                if s not in self.phones.sym2id:
                    self.err(f"{txt_path}:{lineno}: phone {s!r} is not in phones.txt")
                elif str(self.phones.sym2id[s]) != n:
                    self.err(f"{int_path}:{lineno}: does not correspond to {txt_path.name} (block {k})")
                if sym_check and s in used:
                    self.err(f"{txt_path}:{lineno}: duplicate phone {s!r} (block {k})")
                used.add(s)
            out.append(syms)
        if sym_check:
            if not set(self.silence) <= used:
                self.err(f"{txt_path}: does not contain all silence phones")
            if not set(self.nonsilence) <= used:
                self.err(f"{txt_path}: does not contain all non-silence phones")
        return out

    def phone_partition(self) -> None:
        groups = {"silence": self.silence, "nonsilence": self.nonsilence, "disambig": self.disambig}
        for name, syms in groups.items():
            seen: set[str] = set()
            for s in syms:
                if s in seen:
                    self.err(f"{self.d}/phones/{name}.txt: phone {s!r} duplicates")
                seen.add(s)
        for a, b in (("silence", "nonsilence"), ("silence", "disambig"), ("disambig", "nonsilence")):
            both = set(groups[a]) & set(groups[b])
            if both:
                self.err(f"{self.d}/phones: {a}.txt and {b}.txt intersect: {' '.join(sorted(both))}")
        allp = set(self.silence) | set(self.nonsilence) | set(self.disambig)
        for sym, idx in self.phones.items():
            if idx != 0 and sym not in allp:
                self.err(f"{self.d}/phones.txt: phone {sym} ({idx}) is not in silence.txt, "
                         "nonsilence.txt or disambig.txt")
        if not ({"#0", "#1"} <= set(self.disambig)):
            self.warnings.append(f"{self.d}/phones/disambig.txt does not have #0 and #1; this is not OK "
                                 "with a conventional ARPA-type language model or lexicon")

    def optional_silence(self, syms: list[str]) -> None:
        if len(syms) != 1:
            self.err(f"{self.d}/phones/optional_silence.txt: only 1 phone expected")
        elif syms[0] not in self.silence:
            self.err(f"{self.d}/phones/optional_silence.txt:1: phone {syms[0]} is not in silence.txt")

    def topo(self) -> None:
        path = self.d / "topo"
        if not path.is_file() or path.stat().st_size == 0:
            self.err(f"{path}: is empty or does not exist")
            return
        try:
            lists = topo_phones(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            self.err(f"{path}: cannot parse <ForPhones>: {e}")
            return
        seen: set[int] = set()
        for ids in lists:
            for i in ids:
                if i in seen:
                    self.err(f"{path}: has phone {i} twice")
                seen.add(i)
                if i not in self.phones.id2sym:
                    self.err(f"{path}: has phone {i} which is not in phones.txt")
        real = {self.phones.sym2id[p] for p in self.silence + self.nonsilence}
        for i in sorted(real - seen):
            self.err(f"{path}: does not cover phone {self.phones.id2sym[i]} (label = {i})")
        for i in sorted(seen - real):
            if i in self.phones.id2sym:
                self.err(f"{path}: covers phone {self.phones.id2sym[i]} (label = {i}) which is not a real phone")

    def word_boundary(self, wb: list[list[str]]) -> None:
        if not wb:
            return
        phones = [x[0] for x in wb if x]
        dis = set(phones) & set(self.disambig)
        if dis:
            self.err(f"{self.d}/phones/word_boundary.txt has disambiguation symbols: {' '.join(sorted(dis))}")
        real = set(self.silence) | set(self.nonsilence)
        missing, extra = real - set(phones), set(phones) - real
        if missing:
            self.err(f"{self.d}/phones/word_boundary.txt: phones in silence/nonsilence.txt but not here: "
                     + " ".join(sorted(missing)))
        if extra - dis:
            self.err(f"{self.d}/phones/word_boundary.txt: phones not in silence/nonsilence.txt: "
                     + " ".join(sorted(extra - dis)))

    def wdisambig(self) -> None:
        P = self.d / "phones"
        if not (P / "wdisambig.txt").is_file():
            if "#0" not in self.words.sym2id:
                self.warnings.append(f"{self.d}/words.txt does not have #0")
            return
        syms = [line.split()[0] for line in (self._lines(P / "wdisambig.txt") or []) if line.split()]
        for fname, table in (("wdisambig_words.int", self.words), ("wdisambig_phones.int", self.phones)):
            lines = self._lines(P / fname)
            if lines is None:
                continue
            if len(lines) != len(syms):
                self.err(f"{P / 'wdisambig.txt'} and {P / fname} have different lengths")
                continue
            for lineno, (s, line) in enumerate(zip(syms, lines), 1):
                if s not in table.sym2id or line.split() != [str(table.sym2id[s])]:
                    self.err(f"{P / fname}:{lineno}: does not match wdisambig.txt ({s})")

    def oov(self) -> None:
        txt, ints = self._lines(self.d / "oov.txt"), self._lines(self.d / "oov.int")
        if txt is None or ints is None:
            return
        if len(txt) != 1 or len(ints) != 1 or len(txt[0].split()) != 1:
            self.err(f"{self.d}/oov.{{txt,int}}: expected one word")
            return
        w = txt[0].split()[0]
        if w not in self.words.sym2id:
            self.err(f"{self.d}/oov.txt:1: word {w!r} is not in words.txt")
        elif ints[0].split() != [str(self.words.sym2id[w])]:
            self.err(f"{self.d}/oov.int:1: does not correspond to oov.txt")

    def fsts(self, wb: list[list[str]], num_sequences: int = 10, seed: int = 0) -> None:
        import kaldifst

        boundary = {self.phones.sym2id[x[0]]: self._wb_type(x) for x in wb if x and x[0] in self.phones.sym2id}
        disambig_ids = {self.phones.sym2id[p] for p in self.disambig}
        for name in ("L.fst", "L_disambig.fst"):
            path = self.d / name
            if not path.is_file():
                self.err(f"{path}: does not exist")
                continue
            try:
                fst = kaldifst.StdVectorFst.read(str(path))
            except Exception as e:  # noqa: BLE001 - the binding raises various types
                fst = None
                self.err(f"{path}: cannot be read: {e}")
            if fst is None:
                continue
            if not fst.is_olabel_sorted:
                self.err(f"{path}: is not olabel sorted")
            ok = True
            words_out: set[int] = set()
            has_loop = False
            for s in kaldifst.StateIterator(fst):
                for a in kaldifst.ArcIterator(fst, s):
                    if a.ilabel not in self.phones.id2sym or a.olabel not in self.words.id2sym:
                        if ok:
                            self.err(f"{path}: arc {s} -> {a.nextstate} has label(s) {a.ilabel}:{a.olabel} "
                                     "not in phones.txt/words.txt")
                        ok = False
                    if name == "L.fst" and a.ilabel in disambig_ids:
                        if ok:
                            self.err(f"{path}: has disambiguation symbol {self.phones.id2sym[a.ilabel]}")
                        ok = False
                    if a.nextstate == s and a.ilabel == self.phones.sym2id.get("#0") \
                            and a.olabel == self.words.sym2id.get("#0"):
                        has_loop = True
                    if a.olabel:
                        words_out.add(a.olabel)
            if name == "L_disambig.fst" and not has_loop and "#0" in self.phones.sym2id:
                self.err(f"{path}: has no #0:#0 self-loop (fstaddselfloops)")
            if not ok or not boundary:
                continue
            self._check_word_sequences(fst, path, sorted(words_out - {self.words.sym2id.get("#0", -1)}),
                                       boundary, disambig_ids, num_sequences, seed)

    @staticmethod
    def _wb_type(cols: list[str]) -> str:
        return cols[1] if len(cols) > 1 else "nonword"

    def _check_word_sequences(self, fst, path: Path, vocab: list[int], boundary: dict[int, str],
                              disambig_ids: set[int], n: int, seed: int) -> None:
        """Compose random word sequences with L, sample a path, and rebuild the words from
        the phones' word-boundary types, as validate_lang.pl does."""
        import kaldifst

        rng = random.Random(seed)
        for _ in range(n if vocab else 0):
            seq = [rng.choice(vocab) for _ in range(rng.randint(1, 5))]
            acc = kaldifst.make_linear_acceptor(seq)
            comp = kaldifst.compose(fst, acc)
            if comp.num_states == 0:
                self.err(f"{path}: word sequence {seq} has no pronunciation")
                return
            phones = self._random_path(comp, rng)
            if phones is None:
                self.err(f"{path}: could not sample a path for word sequence {seq}")
                return
            num_words, state = 0, "out"
            for p in phones:
                if p in disambig_ids:
                    continue
                t = boundary.get(p)
                if t is None:
                    self.err(f"{path}: phone {self.phones.id2sym.get(p, p)} is not in word_boundary")
                    return
                if (state == "out" and t in ("begin", "singleton", "nonword")) or \
                        (state == "in" and t in ("internal", "end")):
                    if t == "begin":
                        state = "in"
                    elif t == "singleton":
                        num_words += 1
                    elif t == "end":
                        state = "out"
                        num_words += 1
                else:
                    self.err(f"{path}: phone sequence {[self.phones.id2sym[x] for x in phones]} is "
                             f"inconsistent with word_boundary ({t} after state {state})")
                    return
            if state != "out" or num_words != len(seq):
                self.err(f"{path}: {num_words} words reconstructed from phones for a {len(seq)}-word "
                         "sequence; word_boundary or L is wrong")
                return

    @staticmethod
    def _random_path(fst, rng: random.Random) -> list[int] | None:
        import kaldifst

        s = fst.start
        out: list[int] = []
        for _ in range(100000):
            arcs = list(kaldifst.ArcIterator(fst, s))
            final = fst.final(s).value != float("inf")
            if final and (not arcs or rng.random() < 0.5):
                return out
            if not arcs:
                return None
            a = rng.choice(arcs)
            if a.ilabel:
                out.append(a.ilabel)
            s = a.nextstate
        return None

    def g_fst(self) -> None:
        path = self.d / "G.fst"
        if not path.is_file():
            return
        import kaldifst

        fst = kaldifst.StdVectorFst.read(str(path))
        if fst is None:
            self.err(f"{path}: cannot be read")
        elif not fst.is_ilabel_sorted:
            self.err(f"{path}: is not ilabel sorted")

    def run(self, check_fsts: bool) -> None:
        if not self.d.is_dir():
            self.err(f"{self.d}: lang directory does not exist")
            return
        if not self.symbol_tables():
            return
        self.silence = self.phone_list("silence")
        self.nonsilence = self.phone_list("nonsilence")
        self.disambig = self.phone_list("disambig")
        self.phone_partition()
        self.phone_list("context_indep")
        self.optional_silence(self.phone_list("optional_silence"))
        self.phone_sets("roots", True)
        self.phone_sets("sets", True)
        self.phone_sets("extra_questions", False, may_be_empty=True)
        wb: list[list[str]] = []
        if (self.d / "phones" / "word_boundary.txt").exists():
            self.phone_sets("word_boundary", False)
            wb = [line.split() for line in (self._lines(self.d / "phones" / "word_boundary.txt") or [])]
            self.word_boundary(wb)
        self.topo()
        self.wdisambig()
        self.oov()
        if check_fsts:
            self.fsts(wb)
            self.g_fst()


def check_lang(lang_dir: str | os.PathLike, *, check_fsts: bool = True) -> tuple[list[str], list[str]]:
    """Return ``(errors, warnings)`` for a lang directory."""
    c = _Checker(Path(lang_dir))
    c.run(check_fsts)
    return c.errors, c.warnings


def validate_lang(lang_dir: str | os.PathLike, *, check_fsts: bool = True) -> list[str]:
    """Validate a lang dir (subset of Kaldi's validate_lang.pl); raise :class:`LangDirError`.

    Checks: symbol tables (two columns, unique, ``<eps>`` 0); ``phones/*.{txt,int,csl}``
    agree with ``phones.txt``; silence/nonsilence/disambig are disjoint and explain every
    phone; roots/sets cover all phones once; optional silence is a silence phone; ``topo``
    covers exactly the real phones; word_boundary covers them; wdisambig and oov files agree
    with the tables; ``L.fst``/``L_disambig.fst`` read, are olabel-sorted, use known labels,
    L_disambig has the ``#0`` loop, and random word sequences composed with them give phone
    sequences whose word-boundary marks rebuild the words. Returns the warnings.
    """
    errors, warnings = check_lang(lang_dir, check_fsts=check_fsts)
    if errors:
        raise LangDirError(f"error validating lang directory {lang_dir}", errors)
    return warnings
