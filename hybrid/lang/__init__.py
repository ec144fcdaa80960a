"""Dict dir -> lang dir (Kaldi's ``utils/prepare_lang.sh``), lang validation, lang loading.

- :func:`prepare_lang`: write ``data/lang`` (phones.txt, words.txt, L.fst, L_disambig.fst,
  topo, phones/*, oov.*) from ``data/local/dict``.
- :func:`validate_dict_dir` / :func:`check_dict_dir`, :func:`validate_lang` / :func:`check_lang`.
- :class:`Lang` (:func:`load_lang`): phone/word tables and phone sets for later stages.
- :mod:`hybrid.lang.lexicon`: position markers, ``add_lex_disambig``, ``make_lexicon_fst``.
- :mod:`hybrid.lang.symfilter`: ``sym2int.pl`` / ``int2sym.pl`` (stdlib only).

Names are imported lazily so that the stdlib-only filters start fast.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "prepare_lang": "hybrid.lang.prepare",
    "validate_lang": "hybrid.lang.validate",
    "check_lang": "hybrid.lang.validate",
    "LangDirError": "hybrid.lang.validate",
    "validate_dict_dir": "hybrid.lang.dict_dir",
    "check_dict_dir": "hybrid.lang.dict_dir",
    "read_dict_dir": "hybrid.lang.dict_dir",
    "DictDir": "hybrid.lang.dict_dir",
    "DictDirError": "hybrid.lang.dict_dir",
    "LangError": "hybrid.lang.dict_dir",
    "LexiconEntry": "hybrid.lang.dict_dir",
    "Lang": "hybrid.lang.lang",
    "load_lang": "hybrid.lang.lang",
    "add_word_position": "hybrid.lang.lexicon",
    "strip_word_position": "hybrid.lang.lexicon",
    "add_lex_disambig": "hybrid.lang.lexicon",
    "make_lexicon_fst": "hybrid.lang.lexicon",
    "lexicon_fst_text": "hybrid.lang.lexicon",
    "gen_topo": "hybrid.lang.topo",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    mod = _EXPORTS.get(name)
    if mod is None:
        raise AttributeError(f"module 'hybrid.lang' has no attribute {name!r}")
    value = getattr(importlib.import_module(mod), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
