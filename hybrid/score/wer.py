"""Word error rate as Kaldi's ``compute-wer`` computes and prints it (alignment by kaldialign)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping, Sequence


@dataclass
class WerStats:
    """Counts behind ``%WER`` / ``%SER``."""

    num_words: int = 0
    word_errs: int = 0
    num_ins: int = 0
    num_del: int = 0
    num_sub: int = 0
    num_sent: int = 0
    sent_errs: int = 0
    num_absent: int = 0

    @property
    def wer(self) -> float:
        return 100.0 * self.word_errs / self.num_words if self.num_words else float("nan")

    @property
    def ser(self) -> float:
        return 100.0 * self.sent_errs / self.num_sent if self.num_sent else float("nan")

    def format(self) -> str:
        """The three lines ``compute-wer`` prints on stdout."""
        partial = " [PARTIAL]" if self.num_absent else ""
        return (f"%WER {self.wer:.2f} [ {self.word_errs} / {self.num_words}, {self.num_ins} ins, "
                f"{self.num_del} del, {self.num_sub} sub ]{partial}\n"
                f"%SER {self.ser:.2f} [ {self.sent_errs} / {self.num_sent} ]\n"
                f"Scored {self.num_sent} sentences, {self.num_absent} not present in hyp.\n")

    def wer_line(self) -> str:
        return self.format().splitlines()[0]


def compute_wer(ref: Mapping[str, Sequence[str]], hyp: Mapping[str, Sequence[str]], mode: str = "strict") -> WerStats:
    """Kaldi's compute-wer over utterances of ``ref``.

    ``mode``: ``strict`` (a reference without hypothesis is an error), ``present`` (score only
    utterances present in ``hyp``), ``all`` (a missing hypothesis counts as empty).
    """
    import kaldialign

    if mode not in ("strict", "present", "all"):
        raise ValueError(f"mode must be strict, present or all, got {mode!r}")
    st = WerStats()
    for key, ref_sent in ref.items():
        ref_sent = list(ref_sent)
        if key not in hyp:
            if mode == "strict":
                raise KeyError(f"No hypothesis for key {key} and strict mode specifier.")
            st.num_absent += 1
            if mode == "present":
                continue
            hyp_sent: list[str] = []
        else:
            hyp_sent = list(hyp[key])
        st.num_words += len(ref_sent)
        d = kaldialign.edit_distance(ref_sent, hyp_sent)
        st.word_errs += d["total"]
        st.num_ins += d["ins"]
        st.num_del += d["del"]
        st.num_sub += d["sub"]
        st.num_sent += 1
        st.sent_errs += int(ref_sent != hyp_sent)
    return st


def read_text(path: str | os.PathLike) -> dict[str, list[str]]:
    """Read a Kaldi text table (``<utt> <word> ...``); a line with only a key is an empty sentence."""
    out: dict[str, list[str]] = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            if parts[0] in out:
                raise ValueError(f"{path}:{lineno}: duplicate key {parts[0]}")
            out[parts[0]] = parts[1:]
    return out


def read_text_spec(spec: str) -> dict[str, list[str]]:
    """A text rspecifier: ``ark:file``, ``ark,p:-``/``ark:-`` (stdin), ``ark:cmd |`` or a path."""
    import subprocess
    import sys

    s = spec
    if s.startswith(("ark:", "ark,")):
        s = s.split(":", 1)[1]
    if s == "-":
        return _parse_lines(sys.stdin.read().splitlines(), spec)
    if s.endswith("|"):
        out = subprocess.run(s[:-1], shell=True, check=True, stdout=subprocess.PIPE).stdout.decode()
        return _parse_lines(out.splitlines(), spec)
    return read_text(s)


def _parse_lines(lines: list[str], what: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for lineno, line in enumerate(lines, 1):
        parts = line.split()
        if parts:
            if parts[0] in out:
                raise ValueError(f"{what}:{lineno}: duplicate key {parts[0]}")
            out[parts[0]] = parts[1:]
    return out
