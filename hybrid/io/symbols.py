"""OpenFst/Kaldi symbol tables: one ``<symbol> <integer>`` pair per line."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Iterable

from hybrid.io.atomic import atomic_write


class FormatError(ValueError):
    """A Kaldi-format file is malformed; the message names the file and line."""


@dataclass
class SymbolTable:
    """Bidirectional symbol <-> id map, as in ``words.txt`` and ``phones.txt``."""

    sym2id: dict[str, int] = field(default_factory=dict)
    id2sym: dict[int, str] = field(default_factory=dict)

    def add(self, sym: str, idx: int | None = None) -> int:
        if sym in self.sym2id:
            return self.sym2id[sym]
        if idx is None:
            idx = (max(self.id2sym) + 1) if self.id2sym else 0
        self.sym2id[sym] = idx
        self.id2sym[idx] = sym
        return idx

    def __getitem__(self, key: str | int):
        return self.id2sym[key] if isinstance(key, int) else self.sym2id[key]

    def __contains__(self, key: str | int) -> bool:
        return key in (self.id2sym if isinstance(key, int) else self.sym2id)

    def __len__(self) -> int:
        return len(self.sym2id)

    def items(self) -> Iterable[tuple[str, int]]:
        return sorted(self.sym2id.items(), key=lambda kv: kv[1])


def read_symbols(path: str | os.PathLike) -> SymbolTable:
    """Read a symbol table; raises :class:`FormatError` naming the line on bad input."""
    table = SymbolTable()
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 2 or not parts[1].lstrip("-").isdigit():
                raise FormatError(f"{path}:{lineno}: expected '<symbol> <integer>', got {line.rstrip()!r}")
            sym, idx = parts[0], int(parts[1])
            if sym in table.sym2id:
                raise FormatError(f"{path}:{lineno}: duplicate symbol {sym!r}")
            if idx in table.id2sym:
                raise FormatError(f"{path}:{lineno}: duplicate id {idx}")
            table.sym2id[sym] = idx
            table.id2sym[idx] = sym
    return table


def write_symbols(table: SymbolTable, path: str | os.PathLike) -> None:
    with atomic_write(path) as f:
        for sym, idx in table.items():
            f.write(f"{sym} {idx}\n")


def read_int_list_file(path: str | os.PathLike) -> list[int]:
    """Read a file of whitespace-separated integers (e.g. ``phones/silence.int``)."""
    with open(path, encoding="utf-8") as f:
        try:
            return [int(x) for x in f.read().split()]
        except ValueError as e:
            raise FormatError(f"{path}: expected integers: {e}") from None
