"""Kaldi's ``utils/sym2int.pl`` and ``utils/int2sym.pl`` filters (standard library only).

Text is handled as bytes split on ASCII whitespace, as Perl's ``split(" ")`` does, so any
encoding passes through. Errors name the input and line.
"""

from __future__ import annotations

import re
import sys
from typing import BinaryIO, Iterable, Iterator


class SymFilterError(ValueError):
    pass


def parse_field_spec(spec: str) -> tuple[int | None, int | None]:
    """``-f`` field ranges as Kaldi: ``3``, ``3-``, ``-4``, ``2-5`` (1-based, inclusive).

    Returns 0-based ``(begin, end)``; ``None`` means open.
    """
    begin = end = None
    if re.fullmatch(r"\d+", spec):
        begin = end = int(spec) - 1
    m = re.match(r"^(\d*)[-:](\d*)", spec)
    if m:
        if m.group(1):
            begin = int(m.group(1)) - 1
        if m.group(2):
            end = int(m.group(2)) - 1
    if begin is None and end is None:
        raise SymFilterError(f"Bad argument to -f option: {spec}")
    return begin, end


def read_symtab(path: str, reverse: bool = False) -> dict[bytes, bytes]:
    """``sym -> id`` (or ``id -> sym`` when ``reverse``) as bytes."""
    table: dict[bytes, bytes] = {}
    with open(path, "rb") as f:
        for lineno, line in enumerate(f, 1):
            a = line.split()
            if len(a) != 2:
                raise SymFilterError(f"{path}:{lineno}: bad line in symbol table file: {line!r}")
            try:
                idx = str(int(a[1])).encode()
            except ValueError:
                raise SymFilterError(f"{path}:{lineno}: bad line in symbol table file: {line!r}") from None
            if reverse:
                table[idx] = a[0]
            else:
                table[a[0]] = idx
    return table


def _in_range(n: int, begin: int | None, end: int | None) -> bool:
    return (begin is None or n >= begin) and (end is None or n <= end)


def sym2int_lines(lines: Iterable[bytes], table: dict[bytes, bytes], begin: int | None = None,
                  end: int | None = None, map_oov: bytes | None = None, source: str = "<stdin>",
                  warn: BinaryIO | None = None) -> Iterator[bytes]:
    """Map symbols in the selected fields to integers; OOVs map to ``map_oov`` or raise."""
    nwarn = 0
    for lineno, line in enumerate(lines, 1):
        out = []
        for n, a in enumerate(line.split()):
            if _in_range(n, begin, end):
                i = table.get(a)
                if i is None:
                    if map_oov is None:
                        raise SymFilterError(f"sym2int.pl: undefined symbol {a.decode(errors='replace')} "
                                             f"(in position {n + 1}) at {source}:{lineno}")
                    if warn is not None and nwarn < 20:
                        warn.write(b"sym2int.pl: replacing " + a + b" with " + map_oov + b"\n")
                        if nwarn == 19:
                            warn.write(b"sym2int.pl: not warning for OOVs any more times\n")
                    nwarn += 1
                    i = map_oov
                a = i
            out.append(a)
        yield b" ".join(out) + b"\n"
    if nwarn and warn is not None:
        warn.write(b"** Replaced %d instances of OOVs with %s\n" % (nwarn, map_oov))


def int2sym_lines(lines: Iterable[bytes], table: dict[bytes, bytes], begin: int | None = None,
                  end: int | None = None, source: str = "<stdin>") -> Iterator[bytes]:
    """Map integers in the selected fields to symbols (each token followed by a space, as Kaldi)."""
    for lineno, line in enumerate(lines, 1):
        out = []
        for n, a in enumerate(line.split()):
            if _in_range(n, begin, end):
                if not a.isdigit():
                    raise SymFilterError(f"int2sym.pl: found noninteger token {a.decode(errors='replace')} "
                                         f"[in position {n + 1}] at {source}:{lineno}")
                s = table.get(str(int(a)).encode())
                if s is None:
                    raise SymFilterError(f"int2sym.pl: integer {a.decode()} not in symbol table "
                                         f"(at {source}:{lineno})")
                a = s
            out.append(a + b" ")
        yield b"".join(out) + b"\n"


def _inputs(files: list[str]) -> Iterator[tuple[str, Iterable[bytes]]]:
    if not files:
        yield "<stdin>", sys.stdin.buffer
        return
    for name in files:
        with open(name, "rb") as f:
            yield name, f


def sym2int_main(argv: list[str] | None = None) -> int:
    """``sym2int.pl [--map-oov <sym|int>] [-f <fields>] <symtab> [input...] > output``."""
    args = list(sys.argv[1:] if argv is None else argv)
    map_oov: str | None = None
    begin = end = None
    try:
        for _ in range(2):
            if args and args[0] == "--map-oov":
                if len(args) < 2 or args[1] in ("-f", "") or args[1].endswith("words.txt"):
                    raise SymFilterError("the --map-oov option requires an argument")
                map_oov = args[1]
                args = args[2:]
            if args and args[0] == "-f":
                if len(args) < 2:
                    raise SymFilterError("the -f option requires an argument")
                begin, end = parse_field_spec(args[1])
                args = args[2:]
        if not args:
            sys.stderr.write("Usage: sym2int.pl [options] symtab [input transcriptions] > output transcriptions\n"
                             "options: [--map-oov <oov-symbol> ]  [-f <field-range> ]\n"
                             "note: <field-range> can look like 4-5, or 4-, or 5-, or 1.\n")
            return 1
        table = read_symtab(args[0])
        oov: bytes | None = None
        if map_oov is not None:
            if map_oov.isdigit():
                oov = map_oov.encode()
            elif map_oov.encode() in table:
                oov = table[map_oov.encode()]
            else:
                raise SymFilterError(f"OOV symbol {map_oov} not defined.")
        out = sys.stdout.buffer
        for name, lines in _inputs(args[1:]):
            for line in sym2int_lines(lines, table, begin, end, oov, name, sys.stderr.buffer):
                out.write(line)
        out.flush()
    except (SymFilterError, OSError) as e:
        sys.stdout.flush()
        sys.stderr.write(f"{e}\n")
        return 1
    return 0


def int2sym_main(argv: list[str] | None = None) -> int:
    """``int2sym.pl [-f <fields>] <symtab> [input...] > output``."""
    args = list(sys.argv[1:] if argv is None else argv)
    begin = end = None
    try:
        if args and args[0] == "-f":
            if len(args) < 2:
                raise SymFilterError("the -f option requires an argument")
            begin, end = parse_field_spec(args[1])
            args = args[2:]
        if not args:
            sys.stderr.write("Usage: int2sym.pl [options] symtab [input] > output\n"
                             "options: [-f (<field>|<field_start>-<field-end>)]\n"
                             "e.g.: -f 2, or -f 3-4\n")
            return 1
        table = read_symtab(args[0], reverse=True)
        out = sys.stdout.buffer
        for name, lines in _inputs(args[1:]):
            for line in int2sym_lines(lines, table, begin, end, name):
                out.write(line)
        out.flush()
    except (SymFilterError, OSError) as e:
        sys.stdout.flush()
        sys.stderr.write(f"{e}\n")
        return 1
    return 0
