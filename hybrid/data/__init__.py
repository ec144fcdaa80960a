"""Kaldi data directories: read/write, validate, fix, split, subset/copy, lhotse conversion.

``audio.py`` (reading a ``wav.scp`` entry as samples) belongs to the features package's owner.
"""

from hybrid.data.datadir import (
    DataDir,
    DataDirError,
    Segment,
    c_sorted,
    format_time,
    is_piped,
    iter_entries,
    load_data_dir,
    read_segments,
    read_spk2utt,
    read_table_file,
    read_utt2spk,
    spk2utt_to_utt2spk,
    utt2spk_to_spk2utt,
    write_data_dir,
    write_table_file,
)
from hybrid.data.fix import FixReport, fix_data_dir
from hybrid.data.lhotse_io import (
    cuts_to_data_dir,
    data_dir_to_cuts,
    data_dir_to_lhotse,
    lhotse_to_data_dir,
    wav_entry_info,
)
from hybrid.data.split import split_data, split_speakers
from hybrid.data.subset import copy_data_dir, subset_data_dir
from hybrid.data.validate import validate_data_dir

__all__ = [
    "DataDir", "DataDirError", "Segment", "c_sorted", "format_time", "is_piped", "iter_entries",
    "load_data_dir", "read_segments", "read_spk2utt", "read_table_file", "read_utt2spk",
    "spk2utt_to_utt2spk", "utt2spk_to_spk2utt", "write_data_dir", "write_table_file",
    "FixReport", "fix_data_dir", "cuts_to_data_dir", "data_dir_to_cuts", "data_dir_to_lhotse",
    "lhotse_to_data_dir", "wav_entry_info", "split_data", "split_speakers", "copy_data_dir",
    "subset_data_dir", "validate_data_dir",
]
