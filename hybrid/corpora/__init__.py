"""Corpus preparation: ``download_X(target_dir)`` and ``prepare_X(corpus_dir, output_dir)`` write Kaldi data dirs.

- :mod:`hybrid.corpora.an4`: CMU AN4 (``prepare_an4``, ``prepare_an4_dict``, ``download_an4``)
- :mod:`hybrid.corpora.fsdd`: Free Spoken Digit Dataset (``prepare_fsdd``, ``prepare_fsdd_dict``, ``download_fsdd``)
- :mod:`hybrid.corpora.librispeech`: LibriSpeech layout (``prepare_librispeech``, ``download_librispeech``)
- :mod:`hybrid.corpora.synth`: synthetic TTS corpus (import it from its module)
"""

from hybrid.corpora.an4 import download_an4, prepare_an4, prepare_an4_dict
from hybrid.corpora.fsdd import download_fsdd, prepare_fsdd, prepare_fsdd_dict
from hybrid.corpora.librispeech import download_librispeech, prepare_librispeech

__all__ = [
    "download_an4", "prepare_an4", "prepare_an4_dict",
    "download_fsdd", "prepare_fsdd", "prepare_fsdd_dict",
    "download_librispeech", "prepare_librispeech",
]
