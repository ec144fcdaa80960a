"""Dict dir -> lang dir, following Kaldi's ``utils/prepare_lang.sh`` step by step."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Iterable, Sequence

from hybrid.io.atomic import atomic_path, atomic_write
from hybrid.io.symbols import SymbolTable, write_symbols
from hybrid.lang.dict_dir import LangError, LexiconEntry, validate_dict_dir
from hybrid.lang.lexicon import add_lex_disambig, add_word_position, make_lexicon_fst
from hybrid.lang.topo import gen_topo

log = logging.getLogger(__name__)

_BOUNDARY = {"_B": "begin", "_E": "end", "_I": "internal", "_S": "singleton"}


def _write_lines(path: Path, lines: Iterable[str]) -> None:
    with atomic_write(path) as f:
        for line in lines:
            f.write(line + "\n")


def _fmt_prob(p: float) -> str:
    return repr(p) if p != int(p) else f"{p:.1f}"


def _ensure_both_lexicons(dict_dir: Path, entries: Sequence[LexiconEntry]) -> None:
    """Kaldi's prepare_lang.sh writes the missing one of lexicon.txt / lexiconp.txt."""
    lex, lexp = dict_dir / "lexicon.txt", dict_dir / "lexiconp.txt"
    try:
        if not lex.exists():
            log.info("Creating %s from %s", lex, lexp)
            _write_lines(lex, (f"{e.word} {' '.join(e.phones)}" for e in entries))
        if not lexp.exists():
            log.info("Creating %s from %s", lexp, lex)
            _write_lines(lexp, (f"{e.word} 1.0\t{' '.join(e.phones)}" for e in entries))
    except OSError as err:  # a read-only dict dir is not fatal
        log.warning("could not write the missing lexicon file in %s: %s", dict_dir, err)


def prepare_lang(dict_dir: str | os.PathLike, oov_word: str, lang_dir: str | os.PathLike, *,
                 tmp_dir: str | os.PathLike | None = None,
                 position_dependent_phones: bool = True, sil_prob: float = 0.5,
                 num_sil_states: int = 5, num_nonsil_states: int = 3,
                 share_silence_phones: bool = False, share_state_roots: bool = True,
                 num_extra_phone_disambig_syms: int = 1, validate: bool = True) -> Path:
    """Make a Kaldi lang directory from a dict directory, as ``utils/prepare_lang.sh``.

    Writes ``phones.txt``, ``words.txt``, ``oov.{txt,int}``, ``topo``, ``L.fst``,
    ``L_disambig.fst`` and ``phones/*.{txt,int,csl}`` into ``lang_dir``, and Kaldi's
    intermediate files (``lexiconp.txt``, ``lexiconp_disambig.txt``, ``phone_map.txt``,
    ``lex_ndisambig``) into ``tmp_dir`` when it is given. As Kaldi's script, it writes the
    missing one of ``lexicon.txt``/``lexiconp.txt`` into ``dict_dir`` and validates the
    result (``validate=False`` skips that). Text outputs are byte-identical to Kaldi's for
    the supported options; L.fst / L_disambig.fst equal Kaldi's make_lexicon_fst.py +
    fstcompile (+ fstaddselfloops) + fstarcsort. Returns ``Path(lang_dir)``.

    Not supported (LangError if the dict dir asks for them): ``lexiconp_silprob.txt``;
    Kaldi's ``--phone-symbol-table``, ``--unk-fst``, ``--extra-word-disambig-syms``.
    """
    src = Path(dict_dir)
    out = Path(lang_dir)
    tmp = Path(tmp_dir) if tmp_dir is not None else None
    if not (0.0 <= sil_prob < 1.0):
        raise LangError(f"--sil-prob must satisfy 0 <= sil_prob < 1, got {sil_prob}")
    d = validate_dict_dir(src)
    if oov_word not in {e.word for e in d.lexicon}:  # checked before anything is written
        raise LangError(f"OOV word {oov_word!r} is not in the lexicon of {src} ({d.lexicon_file})")
    _ensure_both_lexicons(src, d.lexicon)
    (out / "phones").mkdir(parents=True, exist_ok=True)
    if tmp is not None:
        tmp.mkdir(parents=True, exist_ok=True)

    # Word-position-dependent lexicon and the phone map (base phone -> its variants).
    if position_dependent_phones:
        lexicon = [LexiconEntry(e.word, e.prob, add_word_position(e.phones)) for e in d.lexicon]
        phone_map = {p: [p, p + "_B", p + "_E", p + "_I", p + "_S"] for line in d.silence_phones for p in line}
        phone_map.update({p: [p + "_B", p + "_E", p + "_I", p + "_S"]
                          for line in d.nonsilence_phones for p in line})
    else:
        lexicon = list(d.lexicon)
        phone_map = {p: [p] for line in d.silence_phones + d.nonsilence_phones for p in line}
    if tmp is not None:
        _write_lines(tmp / "lexiconp.txt", (f"{e.word} {_fmt_prob(e.prob)} {' '.join(e.phones)}" for e in lexicon))
        _write_lines(tmp / "phone_map.txt", (" ".join([p] + v) + (" " if position_dependent_phones else "")
                                             for p, v in phone_map.items()))

    def expand(line: Sequence[str]) -> list[str]:
        return [v for p in line for v in phone_map[p]]

    # sets.txt / roots.txt
    if share_silence_phones:
        sets = [expand([p for line in d.silence_phones for p in line])]
        sets += [expand(line) for line in d.nonsilence_phones]
        roots = [("not-shared not-split " if i == 0 else
                  ("shared split " if share_state_roots else "not-shared split ")) + " ".join(s)
                 for i, s in enumerate(sets)]
    else:
        sets = [expand(line) for line in d.silence_phones + d.nonsilence_phones]
        prefix = "shared split " if share_state_roots else "not-shared split "
        roots = [prefix + " ".join(s) for s in sets]
    silence = [v for line in d.silence_phones for v in expand(line)]
    nonsilence = [v for line in d.nonsilence_phones for v in expand(line)]
    extra_questions = [expand(q) for q in d.extra_questions]
    if position_dependent_phones:
        nonsil_base = [p for line in d.nonsilence_phones for p in line]
        sil_base = [p for line in d.silence_phones for p in line]
        for suffix in ("_B", "_E", "_I", "_S"):
            extra_questions.append([p + suffix for p in nonsil_base])
        for suffix in ("", "_B", "_E", "_I", "_S"):
            extra_questions.append([p + suffix for p in sil_base])

    # Disambiguation symbols.
    lexicon_disambig, max_disambig = add_lex_disambig(lexicon)
    ndisambig = max_disambig + num_extra_phone_disambig_syms
    disambig = [f"#{n}" for n in range(ndisambig + 1)]
    if tmp is not None:
        _write_lines(tmp / "lexiconp_disambig.txt",
                     (f"{e.word}\t{_fmt_prob(e.prob)}\t{' '.join(e.phones)}" for e in lexicon_disambig))
        _write_lines(tmp / "lex_ndisambig", [str(ndisambig)])

    # phones.txt
    phones = SymbolTable()
    for i, p in enumerate(["<eps>"] + silence + nonsilence + disambig):
        if p in phones.sym2id:
            raise LangError(f"phone {p!r} occurs twice in the phone set")
        phones.add(p, i)

    # words.txt: sorted (C locale) unique words, then #0 <s> </s>.
    vocab = sorted({e.word for e in lexicon})
    for w in ("<s>", "</s>"):
        if w in vocab:
            raise LangError(f"{w} is in the vocabulary!")
    words = SymbolTable()
    words.add("<eps>", 0)
    for i, w in enumerate(vocab + ["#0", "<s>", "</s>"], 1):
        words.add(w, i)
    if oov_word not in words.sym2id:
        raise LangError(f"OOV word {oov_word!r} is not in the lexicon of {src}")

    silphone = d.optional_silence
    if not silphone:
        raise LangError("no optional-silence phone; it is required")

    # word_boundary.txt
    word_boundary: list[tuple[str, str]] | None = None
    if position_dependent_phones:
        word_boundary = [(p, _BOUNDARY.get(p[-2:], "nonword")) for p in silence + nonsilence]
    elif (src / "word_boundary.txt").exists():  # made by another source: copied, as Kaldi
        word_boundary = []
        for lineno, line in enumerate(open(src / "word_boundary.txt", encoding="utf-8"), 1):
            f = line.split()
            if len(f) != 2 or f[0] not in phones.sym2id:
                raise LangError(f"{src / 'word_boundary.txt'}:{lineno}: bad line {line.rstrip()!r}")
            word_boundary.append((f[0], f[1]))
    else:  # do not leave a stale word_boundary from an earlier run
        for ext in ("txt", "int"):
            (out / "phones" / f"word_boundary.{ext}").unlink(missing_ok=True)

    # align_lexicon: "word word phones..." sorted unique, plus "<eps> <eps> SIL".
    align = {f"{e.word} {e.word} {' '.join(e.phones)}" for e in lexicon}
    align.add(f"<eps> <eps> {silphone}")
    align_lines = sorted(align)

    ph = phones.sym2id
    wd = words.sym2id
    P = out / "phones"

    def ints(syms: Iterable[str]) -> str:
        return " ".join(str(ph[s]) for s in syms)

    _write_lines(P / "sets.txt", (" ".join(s) for s in sets))
    _write_lines(P / "sets.int", (ints(s) for s in sets))
    _write_lines(P / "roots.txt", roots)
    _write_lines(P / "roots.int", (" ".join(r.split()[:2]) + " " + ints(r.split()[2:]) for r in roots))
    # Kaldi's position questions are written with `echo -n "$x$suffix "`: a trailing blank.
    n_src_q = len(d.extra_questions)
    _write_lines(P / "extra_questions.txt",
                 (" ".join(q) + (" " if k >= n_src_q else "") for k, q in enumerate(extra_questions)))
    _write_lines(P / "extra_questions.int", (ints(q) for q in extra_questions))
    lists = {"silence": silence, "nonsilence": nonsilence, "optional_silence": [silphone],
             "disambig": disambig, "context_indep": silence}
    for name, syms in lists.items():
        _write_lines(P / f"{name}.txt", syms)
        _write_lines(P / f"{name}.int", (str(ph[s]) for s in syms))
        _write_lines(P / f"{name}.csl", [":".join(str(ph[s]) for s in syms)])
    if word_boundary is not None:
        _write_lines(P / "word_boundary.txt", (f"{p} {b}" for p, b in word_boundary))
        _write_lines(P / "word_boundary.int", (f"{ph[p]} {b}" for p, b in word_boundary))
    _write_lines(P / "align_lexicon.txt", align_lines)

    def align_int(line: str) -> str:
        f = line.split()
        return " ".join([str(wd[f[0]]), str(wd[f[1]])] + [str(ph[p]) for p in f[2:]])

    _write_lines(P / "align_lexicon.int", (align_int(x) for x in align_lines))
    _write_lines(P / "wdisambig.txt", ["#0"])
    _write_lines(P / "wdisambig_phones.int", [str(ph["#0"])])
    _write_lines(P / "wdisambig_words.int", [str(wd["#0"])])
    write_symbols(phones, out / "phones.txt")
    write_symbols(words, out / "words.txt")
    _write_lines(out / "oov.txt", [oov_word])
    _write_lines(out / "oov.int", [str(wd[oov_word])])
    with atomic_write(out / "topo") as f:
        f.write(gen_topo(num_nonsil_states, num_sil_states, [ph[p] for p in nonsilence],
                         [ph[p] for p in silence]))

    # L.fst (no disambiguation symbols) and L_disambig.fst.
    L = make_lexicon_fst(lexicon, phones, words, sil_prob, silphone)
    with atomic_path(out / "L.fst") as t:
        if not L.write(str(t)):
            raise LangError(f"could not write {out / 'L.fst'}")
    Ld = make_lexicon_fst(lexicon_disambig, phones, words, sil_prob, silphone,
                          sil_disambig=f"#{ndisambig}", self_loops=[("#0", "#0")])
    with atomic_path(out / "L_disambig.fst") as t:
        if not Ld.write(str(t)):
            raise LangError(f"could not write {out / 'L_disambig.fst'}")
    log.info("prepare_lang: %d words, %d phones (%d silence, %d non-silence), %d disambiguation symbols",
             len(vocab), len(silence) + len(nonsilence), len(silence), len(nonsilence), len(disambig))

    if validate:
        from hybrid.lang.validate import validate_lang
        validate_lang(out)
    return out
