"""Alignment tools: show-alignments, ali-to-phones, ali-to-pdf, CTMs, inspection."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click


def _out(spec: str):
    """Open a Kaldi-style text wxfilename ('-', 'ark,t:-', 'ark,t:path', path) for writing."""
    from hybrid.io import atomic_write

    for prefix in ("ark,t:", "ark:", "t,ark:"):
        if spec.startswith(prefix):
            spec = spec[len(prefix):]
    if spec in ("-", ""):
        import contextlib

        return contextlib.nullcontext(sys.stdout)
    return atomic_write(spec)


def _alignments(rspec: str):
    """(utt, alignment) pairs from an rspecifier, a file, or an alignment directory."""
    import numpy as np

    from hybrid.inspect.alignments import iter_alignments
    from hybrid.io import iter_table

    if Path(rspec).is_dir():
        yield from iter_alignments(rspec)
    else:
        for utt, ali in iter_table(rspec):
            yield utt, np.asarray(ali, dtype=np.int32)


@click.command("show-alignments")
@click.argument("phones_txt", type=click.Path(exists=True, dir_okay=False))
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.argument("alignments")
@click.option("--utt", "utts", multiple=True, help="Only these utterances (repeatable).")
def show_alignments(phones_txt, model, alignments, utts):
    """Print alignments in Kaldi's show-alignments format (transition-ids grouped by phone)."""
    from hybrid.hmm import read_transition_model, split_to_phones
    from hybrid.io import read_symbols

    phones = read_symbols(phones_txt)
    tm = read_transition_model(model)
    wanted = set(utts)
    found = set()
    for utt, ali in _alignments(alignments):
        if wanted and utt not in wanted:
            continue
        found.add(utt)
        pieces, _ok = split_to_phones(tm, ali)
        line1, line2 = [], []
        for p in pieces:
            a = "[ " + "".join(f"{t} " for t in p) + "] "
            b = phones[int(tm.tid2phone[p[0]])] + " "
            w = max(len(a), len(b))
            line1.append(a.ljust(w))
            line2.append(b.ljust(w))
        click.echo(f"{utt}  {''.join(line1)}\n{utt}  {''.join(line2)}\n")
    missing = wanted - found
    if missing:
        raise click.ClickException(f"utterance(s) not found in {alignments}: {' '.join(sorted(missing))}")


def _ctm_times(frame_shift: float, frame_offset: str) -> tuple[float, int]:
    """(offset in seconds, decimals) for CTM times from ``--frame-shift``/``--frame-offset``."""
    from hybrid.io.ctm import parse_frame_offset, time_precision

    try:
        off = parse_frame_offset(frame_offset)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--frame-offset")
    return off, time_precision(frame_shift, off)


@click.command("ali-to-phones")
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.argument("alignments")
@click.argument("output")
@click.option("--ctm-output", is_flag=True, help="Write a CTM (utt 1 start dur phone) instead of phone sequences.")
@click.option("--frame-shift", default=0.01, show_default=True, type=float)
@click.option("--frame-offset", default="0", show_default=True,
              help="Seconds added to every time. 0: Kaldi's times (a segment starting at frame k starts at "
                   "k * frame-shift, the start of frame k's window); 'frame-centre': + (25 - 10) / 2 ms, the point "
                   "halfway between the centres of the frames on either side of each boundary.")
@click.option("--per-frame", is_flag=True, help="One phone per frame.")
@click.option("--write-lengths", is_flag=True, help="Write 'phone length' pairs separated by ';'.")
@click.option("--phone-symbol-table", type=click.Path(exists=True, dir_okay=False),
              help="Write phone names instead of ids (Kaldi pipes through int2sym.pl for this).")
def ali_to_phones(model, alignments, output, ctm_output, frame_shift, frame_offset, per_frame, write_lengths,
                  phone_symbol_table):
    """Convert alignments to phone sequences or a phone CTM (Kaldi's ali-to-phones)."""
    from hybrid.hmm import phone_segments, read_transition_model
    from hybrid.io import read_symbols

    tm = read_transition_model(model)
    names = read_symbols(phone_symbol_table) if phone_symbol_table else None
    off, prec = _ctm_times(frame_shift, frame_offset)

    def name(p: int) -> str:
        return names[p] if names else str(p)

    with _out(output) as f:
        for utt, ali in _alignments(alignments):
            segs = phone_segments(tm, ali)
            if ctm_output:
                for s in segs:
                    f.write(f"{utt} 1 {s.start * frame_shift + off:.{prec}f} {s.length * frame_shift:.{prec}f} "
                            f"{name(s.label)}\n")
            elif write_lengths:
                f.write(f"{utt} " + " ; ".join(f"{name(s.label)} {s.length}" for s in segs) + " \n")
            elif per_frame:
                f.write(f"{utt} " + " ".join(name(s.label) for s in segs for _ in range(s.length)) + "\n")
            else:
                f.write(f"{utt} " + " ".join(name(s.label) for s in segs) + "\n")


@click.command("ali-to-pdf")
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.argument("alignments")
@click.argument("output")
def ali_to_pdf(model, alignments, output):
    """Convert alignments to per-frame pdf-ids (Kaldi's ali-to-pdf), text output."""
    from hybrid.hmm import read_transition_model

    tm = read_transition_model(model)
    with _out(output) as f:
        for utt, ali in _alignments(alignments):
            f.write(f"{utt} " + " ".join(str(int(x)) for x in tm.tid2pdf[ali]) + "\n")


def _read_text_ids(text_path: str, words):
    from hybrid.io.symbols import FormatError

    oov = words.sym2id.get("<UNK>")
    out = {}
    with open(text_path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            ids = []
            for w in parts[1:]:
                if w in words:
                    ids.append(words[w])
                elif oov is not None:
                    ids.append(oov)
                else:
                    raise FormatError(f"{text_path}:{lineno}: word {w!r} not in words.txt and no <UNK>")
            out[parts[0]] = ids
    return out


@click.command("ali-to-word-ctm")
@click.argument("lang_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.argument("alignments")
@click.argument("text", type=click.Path(exists=True, dir_okay=False))
@click.argument("output")
@click.option("--frame-shift", default=0.01, show_default=True, type=float)
@click.option("--frame-offset", default="0", show_default=True,
              help="Seconds added to every time. 0: Kaldi's times (a segment starting at frame k starts at "
                   "k * frame-shift, the start of frame k's window); 'frame-centre': + (25 - 10) / 2 ms, the point "
                   "halfway between the centres of the frames on either side of each boundary.")
@click.option("--print-silence", default=False, type=bool, show_default=True)
def ali_to_word_ctm(lang_dir, model, alignments, text, output, frame_shift, frame_offset, print_silence):
    """Word CTM from training alignments and transcripts (steps/get_train_ctm.sh's pipeline:
    linear-to-nbest | lattice-align-words | nbest-to-ctm)."""
    from hybrid.hmm import phone_segments, read_transition_model, read_word_boundary, word_segments
    from hybrid.io import read_symbols

    lang = Path(lang_dir)
    tm = read_transition_model(model)
    words = read_symbols(lang / "words.txt")
    wb = read_word_boundary(lang / "phones" / "word_boundary.int")
    transcripts = _read_text_ids(text, words)
    off, prec = _ctm_times(frame_shift, frame_offset)
    n_done = n_err = 0
    with _out(output) as f:
        for utt, ali in _alignments(alignments):
            if utt not in transcripts:
                click.echo(f"WARNING: no transcript for utterance {utt}; skipped", err=True)
                n_err += 1
                continue
            try:
                segs = word_segments(phone_segments(tm, ali), wb, transcripts[utt])
            except ValueError as e:
                click.echo(f"WARNING: utterance {utt}: {e}; skipped", err=True)
                n_err += 1
                continue
            for s in segs:
                if s.label == 0 and not print_silence:
                    continue
                w = words[s.label] if s.label else "<eps>"
                f.write(f"{utt} 1 {s.start * frame_shift + off:.{prec}f} {s.length * frame_shift:.{prec}f} {w}\n")
            n_done += 1
    click.echo(f"Done {n_done} utterances, errors on {n_err}", err=True)


def _lang_bits(lang_dir: str | None):
    from hybrid.hmm import read_word_boundary
    from hybrid.io import read_int_list_file, read_symbols

    lang = Path(lang_dir)
    phones = read_symbols(lang / "phones.txt")
    sil = set(read_int_list_file(lang / "phones" / "silence.int")) if (lang / "phones" / "silence.int").exists() else set()
    words = read_symbols(lang / "words.txt") if (lang / "words.txt").exists() else None
    wbf = lang / "phones" / "word_boundary.int"
    wb = read_word_boundary(wbf) if wbf.exists() else None
    return phones, sil, words, wb


@click.command("inspect-alignments")
@click.argument("ali_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--utt", "utt", default=None, help="Show this utterance's word/phone table.")
@click.option("--lang", "lang_dir", default="data/lang", show_default=True, type=click.Path(exists=True, file_okay=False))
@click.option("--data", "data_dir", default=None, type=click.Path(exists=True, file_okay=False),
              help="Data dir whose 'text' gives the words (default: none, phones only).")
@click.option("--frame-shift", default=0.01, show_default=True, type=float)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def inspect_alignments(ali_dir, utt, lang_dir, data_dir, frame_shift, as_json):
    """For people: one utterance's words and phones with times, or corpus-wide statistics."""
    from hybrid.hmm import read_transition_model
    from hybrid.inspect.alignments import (
        analyze_alignments, failed_utterances, format_stats, format_utterance_table, iter_alignments,
        utterance_table,
    )

    tm = read_transition_model(Path(ali_dir) / "final.mdl")
    phones, sil, words, wb = _lang_bits(lang_dir)
    if utt is None:
        st = analyze_alignments(tm, iter_alignments(ali_dir), phones, sil, failed_utterances(ali_dir)).to_dict(frame_shift)
        click.echo(json.dumps(st, indent=1) if as_json else format_stats(st))
        return
    transcripts = _read_text_ids(str(Path(data_dir) / "text"), words) if (data_dir and words) else {}
    for u, ali in iter_alignments(ali_dir):
        if u == utt:
            rows = utterance_table(tm, ali, phones, frame_shift, words, wb, transcripts.get(u))
            if as_json:
                click.echo(json.dumps([r.__dict__ for r in rows], indent=1))
            else:
                click.echo(format_utterance_table(u, rows, frame_shift))
            return
    failed = failed_utterances(ali_dir)
    hint = f" (it failed to align: see {failed[utt]})" if utt in failed else ""
    raise click.ClickException(f"utterance {utt} not found in {ali_dir}{hint}")


@click.command("analyze-alignments")
@click.argument("ali_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--lang", "lang_dir", default="data/lang", show_default=True, type=click.Path(exists=True, file_okay=False))
@click.option("--frame-shift", default=0.01, show_default=True, type=float)
@click.option("--json", "as_json", is_flag=True)
def analyze_alignments_cmd(ali_dir, lang_dir, frame_shift, as_json):
    """Corpus-wide alignment statistics; also written to <ali_dir>/log/analyze_alignments.log."""
    from hybrid.hmm import read_transition_model
    from hybrid.inspect.alignments import analyze_alignments, failed_utterances, format_stats, iter_alignments
    from hybrid.io import atomic_write

    tm = read_transition_model(Path(ali_dir) / "final.mdl")
    phones, sil, _, _ = _lang_bits(lang_dir)
    st = analyze_alignments(tm, iter_alignments(ali_dir), phones, sil, failed_utterances(ali_dir)).to_dict(frame_shift)
    text = format_stats(st)
    with atomic_write(Path(ali_dir) / "log" / "analyze_alignments.log") as f:
        f.write(text + "\n")
    click.echo(json.dumps(st, indent=1) if as_json else text)


COMMANDS = [show_alignments, ali_to_phones, ali_to_pdf, ali_to_word_ctm, inspect_alignments, analyze_alignments_cmd]
