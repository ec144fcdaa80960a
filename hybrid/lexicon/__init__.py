"""Pronunciation lexicons: CMUdict, flite G2P for out-of-vocabulary words, Kaldi dict dirs."""

from hybrid.lexicon.cmudict import (
    LexiconError,
    cmudict_path,
    flite_to_arpabet,
    g2p_flite,
    load_cmudict,
    make_dict_dir,
    strip_stress,
    words_from_text,
)

__all__ = ["LexiconError", "cmudict_path", "flite_to_arpabet", "g2p_flite", "load_cmudict", "make_dict_dir",
           "strip_stress", "words_from_text"]
