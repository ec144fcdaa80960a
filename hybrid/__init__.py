"""hybrid: a Kaldi-style hybrid HMM speech recognition toolkit in Python.

One package per concept: data, corpora, lang, features, parallel, hmm, gmm, tree,
align, transform, lm, fst, decode, score, nnet, chain. Kaldi file formats are read
and written in :mod:`hybrid.io` only. The library never imports :mod:`hybrid.cli`.
"""

__version__ = "0.1.0"
