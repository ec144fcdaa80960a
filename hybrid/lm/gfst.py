"""ARPA → G.fst (kaldilm's arpa2fst, which is Kaldi's) and ``utils/format_lm.sh``."""

from __future__ import annotations

import gzip
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterable

import kaldifst

from hybrid.io.atomic import atomic_path
from hybrid.io.symbols import FormatError, read_symbols

log = logging.getLogger(__name__)


def _plain_arpa(path: str | os.PathLike, tmpdir: str) -> str:
    """Path of an uncompressed copy of ``path`` (kaldilm reads plain files only)."""
    with open(path, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    if not gz:
        return str(path)
    out = os.path.join(tmpdir, "lm.arpa")
    with gzip.open(path, "rb") as src, open(out, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return out


_KALDILM_CHILD = """
import json, sys
import kaldilm
a = json.loads(sys.argv[1])
text = kaldilm.arpa2fst(**a["kw"])
with open(a["text_out"], "w", encoding="utf-8") as f:
    f.write(text)
"""
_KALDI_ERR_LINE = re.compile(r"\[E\] line (\d+) \[(.*)\]: (.*)")


def _kaldilm_arpa2fst(arpa: str | os.PathLike, td: str, kw: dict) -> str:
    """``kaldilm.arpa2fst(**kw)`` in a child process; returns the FST text.

    kaldilm aborts the whole process on a malformed ARPA file (Kaldi's KALDI_ERR), so it runs
    apart; its error becomes a :class:`FormatError` naming ``arpa:line``. Its log lines
    (warnings about skipped OOV n-grams ...) are passed on to stderr.
    """
    text_out = os.path.join(td, "G.txt")
    proc = subprocess.run([sys.executable, "-c", _KALDILM_CHILD, json.dumps({"kw": kw, "text_out": text_out})],
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    err = proc.stderr.decode("utf-8", "replace")
    if proc.returncode != 0:
        m = _KALDI_ERR_LINE.search(err)
        if m:
            raise FormatError(f"{arpa}:{m.group(1)}: {m.group(3).strip()}: {m.group(2)!r}")
        msgs = [ln for ln in err.splitlines() if ln.startswith("[E]") or "Error" in ln] or err.splitlines()[-3:]
        raise FormatError(f"{arpa}: arpa2fst failed (exit status {proc.returncode}): " + " | ".join(msgs))
    if err:
        sys.stderr.write(err)
    with open(text_out, encoding="utf-8") as f:
        return f.read()


def _check_utf8(path: str, name: str | os.PathLike, chunk: int = 1 << 24) -> None:
    """Raise :class:`FormatError` naming ``name:line`` at the first non-UTF-8 byte after ``\\data\\``
    (kaldilm would take such bytes as words; the text before ``\\data\\`` is ignored, as Kaldi does)."""
    with open(path, "rb") as f:
        lineno = 0
        for line in f:  # the preamble, up to and including the \data\ line
            lineno += 1
            if line.strip() == b"\\data\\":
                break
        rest = b""
        while True:
            block = f.read(chunk)
            data = rest + block
            if not block:
                cut = len(data)
            else:
                cut = data.rfind(b"\n") + 1
                if cut == 0:
                    rest = data
                    continue
            try:
                data[:cut].decode("utf-8")
            except UnicodeDecodeError as e:
                bad = lineno + data.count(b"\n", 0, e.start) + 1
                col = e.start - data.rfind(b"\n", 0, e.start) - 1
                raise FormatError(f"{name}:{bad}: not valid UTF-8 ({e.reason} at byte {col} of the line)") from None
            if not block:
                return
            lineno += data.count(b"\n", 0, cut)
            rest = data[cut:]


def arpa2fst(arpa: str | os.PathLike, g_out: str | os.PathLike | None, words_txt: str | os.PathLike | None = None,
             disambig_symbol: str = "#0", bos_symbol: str = "<s>", eos_symbol: str = "</s>",
             ilabel_sort: bool = True, write_symbol_table: str | os.PathLike | None = None,
             max_order: int = -1) -> str:
    """Kaldi's ``arpa2fst`` through kaldilm; writes ``g_out`` (OpenFst binary) atomically.

    With ``words_txt`` (``--read-symbol-table``), n-grams containing words not in the table
    are skipped with a warning, which is how Kaldi's format_lm removes OOVs. With a
    ``disambig_symbol`` the back-off arcs carry it on the input side and ``<s>``/``</s>``
    become epsilons. Returns the FST in text form.
    """
    for f in (arpa, words_txt):
        if f is not None and not Path(f).is_file():
            raise FileNotFoundError(f"arpa2fst: no such file {f}")
    with tempfile.TemporaryDirectory() as td:
        src = _plain_arpa(arpa, td)
        _check_utf8(src, arpa)
        tmp_out = os.path.join(td, "G.fst") if g_out is not None else ""
        text = _kaldilm_arpa2fst(arpa, td, dict(
            input_arpa=src, output_fst=tmp_out, bos_symbol=bos_symbol, disambig_symbol=disambig_symbol or "",
            eos_symbol=eos_symbol, ilabel_sort=ilabel_sort, read_symbol_table=str(words_txt) if words_txt else "",
            write_symbol_table=str(write_symbol_table) if write_symbol_table else "", max_order=max_order))
        if g_out is not None:
            if not os.path.exists(tmp_out) or os.path.getsize(tmp_out) == 0:
                raise RuntimeError(f"arpa2fst: failed to convert {arpa}")
            with atomic_path(g_out) as tmp:
                shutil.copyfile(tmp_out, tmp)
    return text


def arpa_to_g_recipe(arpa: str | os.PathLike, words_txt: str | os.PathLike, g_out: str | os.PathLike,
                     remove_words: Iterable[str] = (), oov_words: Iterable[str] = ()) -> kaldifst.StdVectorFst:
    """G.fst as the older Kaldi recipes build it (egs/an4/s5/run.sh):

        arpa2fst LM | fstprint | grep -v WORDS | utils/remove_oovs.pl oov.txt
          | utils/eps2disambig.pl | utils/s2eps.pl
          | fstcompile --isymbols=words.txt --osymbols=words.txt | fstarcsort

    i.e. arcs carrying a word of ``remove_words`` or ``oov_words`` are deleted, epsilon
    input labels (back-off arcs) become ``#0``, ``<s>``/``</s>`` become epsilon. Words are
    matched exactly (egs/an4 greps substrings; on AN4's vocabulary the two agree).
    Unreachable states are kept, as fstcompile does.
    """
    words = read_symbols(words_txt)
    drop = set(remove_words) | set(oov_words)
    with tempfile.TemporaryDirectory() as td:
        syms_path = os.path.join(td, "syms.txt")
        text = arpa2fst(arpa, None, disambig_symbol="", ilabel_sort=False, write_symbol_table=syms_path)
        lm_syms = read_symbols(syms_path)
    if "#0" not in words:
        raise ValueError(f"{words_txt}: no #0 symbol")
    disambig0 = words["#0"]
    fst = kaldifst.StdVectorFst()
    lines = [ln.split() for ln in text.strip().splitlines() if ln.strip()]
    nstates = 0
    for p in lines:
        nstates = max(nstates, int(p[0]) + 1, int(p[1]) + 1 if len(p) >= 4 else 0)
    for _ in range(nstates):
        fst.add_state()
    start_set = False
    for lineno, p in enumerate(lines, 1):
        if len(p) >= 4:
            s, d = int(p[0]), int(p[1])
            isym, osym = lm_syms[int(p[2])], lm_syms[int(p[3])]
            w = float(p[4]) if len(p) > 4 else 0.0
            if isym in drop or osym in drop:
                continue
            labels = []
            for col, sym in enumerate((isym, osym)):
                if sym in ("<s>", "</s>"):
                    sym = "<eps>"
                elif col == 0 and sym == "<eps>":
                    sym = "#0"
                if sym not in words:
                    raise ValueError(f"{arpa}: word {sym!r} is not in {words_txt} (fst line {lineno})")
                labels.append(words[sym])
            fst.add_arc(s, kaldifst.StdArc(labels[0], labels[1], w, d))
        else:
            fst.set_final(int(p[0]), float(p[1]) if len(p) > 1 else 0.0)
        if not start_set:
            fst.start = int(p[0])
            start_set = True
    kaldifst.arcsort(fst, sort_type="ilabel")
    if g_out is not None:
        from hybrid.fst.ops import write_fst
        write_fst(fst, g_out)
    log.info("G.fst: %d states, input #0 = %d", fst.num_states, disambig0)
    return fst


def format_lm(lang_dir: str | os.PathLike, lm: str | os.PathLike, lexicon: str | os.PathLike | None,
              out_dir: str | os.PathLike) -> Path:
    """utils/format_lm.sh: copy the lang dir to ``out_dir`` and add G.fst from the ARPA ``lm``
    (OOV n-grams dropped by arpa2fst). Fails when G has cycles of empty words (words whose
    pronunciation is empty in ``lexicon``, ``#0``), which would break determinization."""
    lang, out = Path(lang_dir), Path(out_dir)
    names = ("phones.txt", "words.txt", "topo", "L.fst", "L_disambig.fst", "phones", "oov.int", "oov.txt")
    same = out.exists() and lang.resolve() == out.resolve()
    for f in names:  # check before anything in out_dir changes
        if not (lang / f).exists():
            raise FileNotFoundError(f"format_lm: {lang / f} does not exist")
    words = read_symbols(lang / "words.txt")
    empty = {words["#0"]}
    if lexicon is not None:
        with open(lexicon, encoding="utf-8") as f:
            for line in f:
                parts = line.split()
                if len(parts) == 1 and parts[0] in words:
                    empty.add(words[parts[0]])
    out.mkdir(parents=True, exist_ok=True)
    log.info("Converting '%s' to FST", lm)
    # G.fst appears under its name only once it is checked and the lang files are in place.
    with atomic_path(out / "G.fst") as tmp_g:
        arpa2fst(lm, tmp_g, words_txt=lang / "words.txt", disambig_symbol="#0")
        g = kaldifst.StdVectorFst.read(str(tmp_g))
        if _has_empty_word_cycle(g, empty):
            raise ValueError("Language model has cycles with empty words")
        if not same:
            if (out / "phones").exists():
                shutil.rmtree(out / "phones")
            for f in names:
                src = lang / f
                if src.is_dir():
                    shutil.copytree(src, out / f)
                else:
                    shutil.copy(src, out / f)
    log.info("Succeeded in formatting LM: '%s'", lm)
    return out / "G.fst"


def _has_empty_word_cycle(g: kaldifst.StdFst, empty: set[int]) -> bool:
    """True if G has a cycle whose arcs all carry epsilon or an 'empty' word on the input."""
    n = g.num_states
    adj: list[list[int]] = [[] for _ in range(n)]
    for s in range(n):
        for a in kaldifst.ArcIterator(g, s):
            if a.ilabel == 0 or a.ilabel in empty:
                adj[s].append(a.nextstate)
    color = [0] * n
    for root in range(n):
        if color[root]:
            continue
        stack = [(root, iter(adj[root]))]
        color[root] = 1
        while stack:
            s, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                color[s] = 2
                stack.pop()
            elif color[nxt] == 1:
                return True
            elif color[nxt] == 0:
                color[nxt] = 1
                stack.append((nxt, iter(adj[nxt])))
    return False
