"""Feature commands named after Kaldi's binaries: compute-mfcc-feats, compute-fbank-feats,
compute-cmvn-stats, apply-cmvn, add-deltas, splice-feats, transform-feats, copy-feats,
feat-to-dim, feat-to-len, matrix-sum.

rspecifiers: ``scp:file``, ``ark:file``, ``ark:-`` or a path (``.scp`` = script).
wspecifiers: ``ark,scp:x.ark,x.scp``, ``ark:x.ark``, ``ark:-``, ``ark,t:file`` (text), ``-``.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
from typing import Callable, Iterable, Iterator

import click

_LEVELS = {"WARNING": "WARNING", "INFO": "LOG", "ERROR": "ERROR", "DEBUG": "VLOG[2]"}


class _KaldiFormatter(logging.Formatter):
    def __init__(self, prog: str) -> None:
        super().__init__()
        self.prog = prog

    def format(self, record: logging.LogRecord) -> str:
        return f"{_LEVELS.get(record.levelname, record.levelname)} ({self.prog}) {record.getMessage()}"


def _setup_logging(prog: str, verbose: int = 0) -> logging.Logger:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_KaldiFormatter(prog))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose >= 4 else logging.INFO)  # Kaldi jobs run with --verbose=2
    return logging.getLogger(f"hybrid.cli.{prog}")


def _strip_rspec(spec: str) -> str:
    """``scp,p:x`` → ``scp:x`` (the options after the type do not matter here)."""
    if ":" in spec:
        head, rest = spec.split(":", 1)
        kinds = head.split(",")
        if kinds[0] in ("ark", "scp") and all(k in ("ark", "scp", "p", "o", "s", "cs", "t", "b", "f", "nf")
                                              for k in kinds):
            return f"{kinds[0]}:{rest}"
    return spec


def _iter_rspec(spec: str) -> Iterator[tuple[str, "object"]]:
    from hybrid.io import iter_table

    spec = _strip_rspec(spec)
    if spec in ("ark:-", "-"):
        import kaldiio

        yield from kaldiio.load_ark(sys.stdin.buffer)
        return
    yield from iter_table(spec)


def _write_wspec(spec: str, items: Iterable[tuple[str, "object"]]) -> None:
    """Write a table to a Kaldi wspecifier (atomically for files)."""
    import kaldiio

    from hybrid.io import atomic_write, write_table

    if ":" not in spec and spec != "-":
        raise click.UsageError(f"bad wspecifier {spec!r} (expected ark:FILE, ark,scp:ARK,SCP or ark,t:FILE)")
    head, target = spec.split(":", 1) if spec != "-" else ("ark,t", "-")
    kinds = set(head.split(","))
    text = "t" in kinds
    if "scp" in kinds:
        if "ark" not in kinds or text:
            raise click.UsageError(f"bad wspecifier {spec!r}: use ark,scp:ARK,SCP")
        ark, _, scp = target.partition(",")
        if not scp:
            raise click.UsageError(f"bad wspecifier {spec!r}: ark,scp needs two file names")
        write_table(items, ark, scp)
        return
    if "ark" not in kinds:
        raise click.UsageError(f"bad wspecifier {spec!r}")
    if target == "-":
        out = sys.stdout.buffer
        for k, v in items:
            kaldiio.save_ark(out, {k: v}, text=text)
        out.flush()
        return
    if text:
        with atomic_write(target, "wb") as f:
            for k, v in items:
                kaldiio.save_ark(f, {k: v}, text=True)
        return
    write_table(items, target)


def _write_text_table(spec: str | None, table: dict, fmt: Callable[[object], str]) -> None:
    """``--write-utt2dur=ark,t:FILE``-style text output of scalars."""
    if not spec:
        return
    from hybrid.io import atomic_write

    target = spec.split(":", 1)[1] if ":" in spec else spec
    if target == "-":
        for k, v in table.items():
            sys.stdout.write(f"{k} {fmt(v)}\n")
        return
    with atomic_write(target) as f:
        for k, v in table.items():
            f.write(f"{k} {fmt(v)}\n")


def _feature_option_decorators(cls) -> Callable:
    """A click option ``--kaldi-name`` (string, default unset) for every field of an options dataclass."""
    def deco(fn):
        for fld in reversed(dataclasses.fields(cls)):
            name = fld.name.replace("_", "-")
            fn = click.option(f"--{name}", fld.name, type=str, default=None, show_default=False,
                              help=f"Kaldi --{name} (default {fld.default!r}).")(fn)
        return fn
    return deco


def _run_compute(kind: str, config: str | None, segments: str | None, write_utt2dur: str | None,
                 write_num_frames: str | None, num_threads: int, rspec: str, wspec: str, kw: dict) -> None:
    from hybrid.features.options import ConfigError, fbank_options, mfcc_options

    prog = f"compute-{kind}-feats"
    verbose = int(kw.get("verbose") or 0)
    log = _setup_logging(prog, verbose)
    overrides = {k: v for k, v in kw.items() if v is not None}
    try:
        opts = (mfcc_options if kind == "mfcc" else fbank_options)(config, **overrides)
    except (ConfigError, ValueError, OSError) as e:
        raise click.ClickException(str(e)) from None
    import torch

    torch.set_num_threads(num_threads)
    from hybrid.features.pipeline import FeatJobStats, iter_computed_features, iter_utterance_audio

    stripped = _strip_rspec(rspec)
    if not stripped.startswith("scp:"):
        if stripped.startswith("ark:"):
            raise click.UsageError(f"{prog}: wave archives are not supported; give scp:wav.scp")
        stripped = "scp:" + stripped
    wav_scp = stripped[4:]
    stats = FeatJobStats()
    audio = iter_utterance_audio(wav_scp, segments, opts=opts, stats=stats)
    _write_wspec(wspec, iter_computed_features(audio, opts, stats=stats))
    _write_text_table(write_utt2dur, stats.utt2dur, lambda v: f"{v:.6g}")
    _write_text_table(write_num_frames, stats.utt2num_frames, str)
    log.info(" Done %d out of %d utterances.", stats.done, stats.total)
    if stats.failed:
        log.warning("%d utterance(s) failed, e.g. %s", len(stats.failed), stats.failed[0][1])
    if stats.done == 0:
        sys.exit(1)


def _compute_command(kind: str, cls) -> click.Command:
    @click.command(f"compute-{kind}-feats", context_settings={"show_default": True})
    @click.option("--config", type=click.Path(exists=True, dir_okay=False), default=None,
                  help="Kaldi config file (--name=value lines).")
    @click.option("--segments", type=click.Path(exists=True, dir_okay=False), default=None,
                  help="segments file: features per segment of the wav.scp recordings (as extract-segments).")
    @click.option("--write-utt2dur", default=None, help="wspecifier for durations, e.g. ark,t:utt2dur.")
    @click.option("--write-num-frames", default=None, help="wspecifier for frame counts, e.g. ark,t:utt2num_frames.")
    @click.option("--num-threads", type=int, default=1, help="torch threads (1 per job, as Kaldi).")
    @_feature_option_decorators(cls)
    @click.argument("wav_rspecifier")
    @click.argument("feats_wspecifier")
    def cmd(config, segments, write_utt2dur, write_num_frames, num_threads, wav_rspecifier, feats_wspecifier,
            **kw):
        _run_compute(kind, config, segments, write_utt2dur, write_num_frames, num_threads, wav_rspecifier,
                     feats_wspecifier, kw)

    cmd.help = (f"Compute {'MFCC' if kind == 'mfcc' else 'log-mel filterbank'} features, as Kaldi's "
                f"compute-{kind}-feats.\n\nWAV_RSPECIFIER: scp:wav.scp (paths or commands ending in '|'); "
                f"FEATS_WSPECIFIER: e.g. ark,scp:raw_{kind}.1.ark,raw_{kind}.1.scp. Dither is seeded by the "
                "utterance id, so features are reproducible.")
    return cmd


def _options_cls(kind):
    from hybrid.features.options import FbankOptions, MfccOptions

    return MfccOptions if kind == "mfcc" else FbankOptions


compute_mfcc_feats = _compute_command("mfcc", _options_cls("mfcc"))
compute_fbank_feats = _compute_command("fbank", _options_cls("fbank"))


def _read_spk_map(spec: str | None, *, inverse: bool) -> dict | None:
    if not spec:
        return None
    from hybrid.data.datadir import read_spk2utt, read_utt2spk

    path = spec.split(":", 1)[1] if ":" in spec else spec
    return read_utt2spk(path) if inverse else read_spk2utt(path)


@click.command("compute-cmvn-stats")
@click.option("--spk2utt", default=None, help="rspecifier of spk2utt (ark:data/x/spk2utt): per-speaker stats.")
@click.argument("feats_rspecifier")
@click.argument("stats_wspecifier")
def compute_cmvn_stats_cmd(spk2utt, feats_rspecifier, stats_wspecifier):
    """Accumulate CMVN statistics (2 x (dim+1) double matrices) per speaker or per utterance."""
    log = _setup_logging("compute-cmvn-stats")
    from hybrid.features.cmvn import compute_cmvn_stats

    s2u = _read_spk_map(spk2utt, inverse=False)
    stats = compute_cmvn_stats(_iter_rspec(feats_rspecifier), s2u)
    _write_wspec(stats_wspecifier, stats.items())
    total = len(s2u) if s2u is not None else len(stats)
    log.info("Wrote stats for %d %s (%d with errors)", len(stats), "speakers" if s2u is not None else "utterances",
             total - len(stats))
    if not stats:
        sys.exit(1)


@click.command("apply-cmvn")
@click.option("--norm-vars", type=click.Choice(["true", "false"]), default="false", help="normalise variances too.")
@click.option("--utt2spk", default=None, help="rspecifier of utt2spk when the stats are per speaker.")
@click.argument("cmvn_rspecifier")
@click.argument("feats_rspecifier")
@click.argument("feats_wspecifier")
def apply_cmvn_cmd(norm_vars, utt2spk, cmvn_rspecifier, feats_rspecifier, feats_wspecifier):
    """Apply CMVN statistics to features (Kaldi's apply-cmvn)."""
    log = _setup_logging("apply-cmvn")
    from hybrid.features.cmvn import apply_cmvn

    u2s = _read_spk_map(utt2spk, inverse=True) or {}
    stats = dict(_iter_rspec(cmvn_rspecifier))
    counts = {"done": 0, "err": 0}

    def gen():
        for utt, f in _iter_rspec(feats_rspecifier):
            key = u2s.get(utt, utt)
            if key not in stats:
                log.warning("No normalization statistics available for key %s, producing no output for this "
                            "utterance", key)
                counts["err"] += 1
                continue
            counts["done"] += 1
            yield utt, apply_cmvn(f, stats[key], norm_vars == "true", what=utt)

    _write_wspec(feats_wspecifier, gen())
    log.info("Applied cepstral mean%s normalization to %d utterances, errors on %d",
             " and variance" if norm_vars == "true" else "", counts["done"], counts["err"])
    if counts["done"] == 0:
        sys.exit(1)


@click.command("add-deltas")
@click.option("--delta-order", type=int, default=2, show_default=True)
@click.option("--delta-window", type=int, default=2, show_default=True)
@click.argument("feats_rspecifier")
@click.argument("feats_wspecifier")
def add_deltas_cmd(delta_order, delta_window, feats_rspecifier, feats_wspecifier):
    """Append delta features (Kaldi's add-deltas)."""
    _setup_logging("add-deltas")
    from hybrid.features.transforms import add_deltas

    _write_wspec(feats_wspecifier, ((u, add_deltas(f, delta_order, delta_window))
                                    for u, f in _iter_rspec(feats_rspecifier)))


@click.command("splice-feats")
@click.option("--left-context", type=int, default=4, show_default=True)
@click.option("--right-context", type=int, default=4, show_default=True)
@click.argument("feats_rspecifier")
@click.argument("feats_wspecifier")
def splice_feats_cmd(left_context, right_context, feats_rspecifier, feats_wspecifier):
    """Splice neighbouring frames (Kaldi's splice-feats; edge frames repeated)."""
    _setup_logging("splice-feats")
    from hybrid.features.transforms import splice_feats

    _write_wspec(feats_wspecifier, ((u, splice_feats(f, left_context, right_context))
                                    for u, f in _iter_rspec(feats_rspecifier)))


@click.command("transform-feats")
@click.option("--utt2spk", default=None, help="rspecifier of utt2spk for per-speaker transforms.")
@click.argument("transform")
@click.argument("feats_rspecifier")
@click.argument("feats_wspecifier")
def transform_feats_cmd(utt2spk, transform, feats_rspecifier, feats_wspecifier):
    """Apply a linear or affine transform (a matrix file, or a table of per-utt/speaker matrices)."""
    log = _setup_logging("transform-feats")
    from hybrid.features.pipeline import _load_transform
    from hybrid.features.transforms import apply_transform

    mat = _load_transform(_strip_rspec(transform))
    u2s = _read_spk_map(utt2spk, inverse=True) or {}

    def gen():
        for utt, f in _iter_rspec(feats_rspecifier):
            m = mat
            if isinstance(mat, dict):
                m = mat.get(utt, mat.get(u2s.get(utt, utt)))
                if m is None:
                    log.warning("No transform available for utterance %s, producing no output", utt)
                    continue
            yield utt, apply_transform(f, m, what=utt)

    _write_wspec(feats_wspecifier, gen())


@click.command("copy-feats")
@click.option("--write-num-frames", default=None, help="wspecifier for frame counts (ark,t:utt2num_frames).")
@click.argument("feats_rspecifier")
@click.argument("feats_wspecifier")
def copy_feats_cmd(write_num_frames, feats_rspecifier, feats_wspecifier):
    """Copy features (e.g. scp → ark,scp), optionally writing frame counts."""
    _setup_logging("copy-feats")
    import numpy as np

    nf: dict[str, int] = {}

    def gen():
        for u, f in _iter_rspec(feats_rspecifier):
            f = np.asarray(f, dtype=np.float32)
            nf[u] = int(f.shape[0])
            yield u, f

    _write_wspec(feats_wspecifier, gen())
    _write_text_table(write_num_frames, nf, str)


@click.command("matrix-sum")
@click.option("--average", type=click.BOOL, default=False, show_default=True,
              help="divide the sum by the number of inputs (frame-score fusion)")
@click.argument("specs", nargs=-1, required=True)
def matrix_sum_cmd(average, specs):
    """Sum (or average) per key the matrices of several tables, as Kaldi's matrix-sum in table mode:
    matrix-sum [--average=true] <in-rspecifier1> <in-rspecifier2> [...] <out-wspecifier>.
    A key missing from an input, or with another shape there, is reported and not written."""
    log = _setup_logging("matrix-sum")
    from hybrid.io import read_table, sum_tables

    if len(specs) < 3:
        raise click.UsageError("matrix-sum needs at least two input tables and an output")
    others = [read_table(_strip_rspec(s)) for s in specs[1:-1]]
    errors: list[str] = []
    n = [0]

    def gen():
        for k, m in sum_tables(_iter_rspec(specs[0]), others, average, errors):
            n[0] += 1
            yield k, m

    _write_wspec(specs[-1], gen())
    for e in errors:
        log.warning("%s", e)
    log.info("Summed %d matrices from %d inputs%s; %d errors.", n[0], len(specs) - 1,
             " (averaged)" if average else "", len(errors))
    if n[0] == 0:
        raise SystemExit(1)


@click.command("feat-to-dim")
@click.argument("feats_rspecifier")
@click.argument("dim_wxfilename", required=False, default="-")
def feat_to_dim_cmd(feats_rspecifier, dim_wxfilename):
    """Print the feature dimension (of the first utterance)."""
    for _, f in _iter_rspec(feats_rspecifier):
        dim = f.shape[1] if f.ndim == 2 else f.shape[0]
        break
    else:
        raise click.ClickException(f"feat-to-dim: no features in {feats_rspecifier}")
    if dim_wxfilename == "-":
        click.echo(dim)
    else:
        from hybrid.io import atomic_write

        with atomic_write(dim_wxfilename) as fh:
            fh.write(f"{dim}\n")


@click.command("feat-to-len")
@click.argument("feats_rspecifier")
@click.argument("len_wspecifier", required=False)
def feat_to_len_cmd(feats_rspecifier, len_wspecifier):
    """Frame counts per utterance (ark,t:...), or the total number of frames with one argument."""
    lens = {u: int(f.shape[0]) for u, f in _iter_rspec(feats_rspecifier)}
    if len_wspecifier is None:
        click.echo(sum(lens.values()))
    else:
        _write_text_table(len_wspecifier, lens, str)


COMMANDS = [compute_mfcc_feats, compute_fbank_feats, compute_cmvn_stats_cmd, apply_cmvn_cmd, add_deltas_cmd,
            splice_feats_cmd, transform_feats_cmd, copy_feats_cmd, feat_to_dim_cmd, feat_to_len_cmd,
            matrix_sum_cmd]
