"""Decode a table of utterances (as gmm-latgen-faster / latgen-faster-mapped do) and log like Kaldi."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np

from hybrid.utils.progress import progress

from hybrid.decode.decoder import DecoderOptions, decode_utterance
from hybrid.decode.lattice import LatticeWriter
from hybrid.fst.compact import CompactGraph

log = logging.getLogger("hybrid.decode")


@dataclass
class DecodeStats:
    num_done: int = 0
    num_fail: int = 0
    num_partial: int = 0
    tot_like: float = 0.0
    frame_count: int = 0
    elapsed: float = 0.0


def decode_table(graph: CompactGraph, scores: Iterable[tuple[str, np.ndarray]], tid2pdf: np.ndarray,
                 opts: DecoderOptions, lat_wspecifier: str | os.PathLike | None,
                 words_wspecifier: str | os.PathLike | None = None, alignment_wspecifier: str | os.PathLike | None = None,
                 word_syms: dict[int, str] | None = None,
                 on_result: Callable[[str, object], None] | None = None) -> DecodeStats:
    """Decode each ``(utt, loglikes)`` (a matrix, or a callable returning one); write lattices (CompactLattice ark), words and alignments.

    An utterance that fails (no surviving token, or no final state without ``allow_partial``,
    or a bad score matrix) is logged with a warning and counted, never fatal.
    """
    stats = DecodeStats()
    words_out: list[tuple[str, np.ndarray]] = []
    ali_out: list[tuple[str, np.ndarray]] = []
    start = time.time()
    writer = LatticeWriter(lat_wspecifier) if lat_wspecifier else None
    ok_all = False
    try:
        for utt, ll in progress(scores, "decoding"):
            try:
                if callable(ll):  # scores computed lazily, so a failure is this utterance's
                    ll = ll()
                ll = np.asarray(ll, dtype=np.float32)
                if ll.ndim != 2 or ll.shape[0] == 0:
                    raise ValueError(f"expected a non-empty 2-d score matrix, got shape {ll.shape}")
                if not np.all(np.isfinite(ll)):
                    raise ValueError("score matrix has non-finite values")
                res = decode_utterance(graph, ll, tid2pdf, opts)
            except Exception as e:  # a bad utterance is reported and skipped
                log.warning("Failed to decode utterance with id %s: %s", utt, e)
                stats.num_fail += 1
                continue
            if not res.reached_final:
                if opts.allow_partial and res.ok:
                    log.warning("Outputting partial output for utterance %s since no final-state reached", utt)
                    stats.num_partial += 1
                else:
                    log.warning("Not producing output for utterance %s since no final-state reached and "
                                "--allow-partial=false.", utt)
                    stats.num_fail += 1
                    continue
            if not res.ok:
                log.warning("Failed to decode utterance with id %s", utt)
                stats.num_fail += 1
                continue
            T = res.num_frames
            scaled_ac = opts.acoustic_scale * res.acoustic_cost
            if word_syms is not None:
                log.info("%s %s", utt, " ".join(word_syms.get(w, str(w)) for w in res.words))
            log.info("For utterance %s, best cost %.6g + %.6g = %.6g over %d frames.", utt, res.graph_cost,
                     scaled_ac, res.graph_cost + scaled_ac, T)
            like = -(res.graph_cost + scaled_ac)
            log.info("Log-like per frame for utterance %s is %.6g over %d frames.", utt, like / T, T)
            stats.tot_like += like
            stats.frame_count += T
            stats.num_done += 1
            if writer is not None:
                writer.write(utt, res.lattice)
            words_out.append((utt, np.asarray(res.words, dtype=np.int32)))
            ali_out.append((utt, np.asarray(res.alignment, dtype=np.int32)))
            if on_result is not None:
                on_result(utt, res)
        ok_all = True
    finally:
        if writer is not None:
            writer.close(ok_all)
    if words_wspecifier:
        _write_int_vectors(words_out, words_wspecifier)
    if alignment_wspecifier:
        _write_int_vectors(ali_out, alignment_wspecifier)
    stats.elapsed = time.time() - start
    fc = max(stats.frame_count, 1)
    log.info("Time taken %.6gs: real-time factor assuming 100 frames/sec is %.6g", stats.elapsed,
             stats.elapsed * 100.0 / fc)
    log.info("Done %d utterances, failed for %d", stats.num_done, stats.num_fail)
    log.info("Decoded %d utterances, %d with errors", stats.num_done + stats.num_fail, stats.num_fail)
    log.info("Overall log-likelihood per frame is %.6g over %d frames.", stats.tot_like / fc, stats.frame_count)
    return stats


def _write_int_vectors(items: list[tuple[str, np.ndarray]], wspec: str | os.PathLike) -> None:
    """Write int vectors: ``ark,t:path`` (text, as Kaldi's words output) or a binary ark."""
    from hybrid.io import atomic_write, write_table

    wspec = str(wspec)
    text = False
    if wspec.startswith("ark"):
        opts, path = wspec.split(":", 1)
        text = "t" in opts.split(",")[1:]
    else:
        path = wspec
    if text:
        with atomic_write(path) as f:
            for utt, v in items:
                f.write(" ".join([utt] + [str(int(x)) for x in v]) + "\n")
    else:
        write_table(items, path)
