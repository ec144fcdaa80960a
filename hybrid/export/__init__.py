"""Exports of alignments and decodes to other tools' formats (Praat TextGrid)."""

from hybrid.export.textgrid import ctm_to_textgrids, fill_tier, format_textgrid, read_ctm_segments, strip_position

__all__ = ["ctm_to_textgrids", "fill_tier", "format_textgrid", "read_ctm_segments", "strip_position"]
