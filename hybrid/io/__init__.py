"""Kaldi file formats, read and written in one place.

- :mod:`hybrid.io.atomic`: write-to-temp-then-rename for every output file.
- :mod:`hybrid.io.symbols`: OpenFst/Kaldi symbol tables (``phones.txt``, ``words.txt``).
- :mod:`hybrid.io.tables`: Kaldi tables (ark/scp, text and binary, gzip) through kaldiio.
"""

from hybrid.io.atomic import atomic_write, atomic_path
from hybrid.io.symbols import SymbolTable, read_symbols, write_symbols, read_int_list_file
from hybrid.io.tables import (
    read_table,
    iter_table,
    write_table,
    sum_tables,
    read_ali_ark,
    write_ali_ark,
    write_mats_ark_scp,
    open_rspecifier,
    rspecifier_path,
)

__all__ = [
    "atomic_write",
    "atomic_path",
    "SymbolTable",
    "read_symbols",
    "write_symbols",
    "read_int_list_file",
    "read_table",
    "iter_table",
    "write_table",
    "sum_tables",
    "read_ali_ark",
    "write_ali_ark",
    "write_mats_ark_scp",
    "open_rspecifier",
    "rspecifier_path",
]
