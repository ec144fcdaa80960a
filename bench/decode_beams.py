#!/usr/bin/env python3
"""WER against speed for a grid of decoder beams (beam x max-active x lattice-beam).

Real data (once a model exists):
  bench/decode_beams.py --graph-dir exp/mono/graph --model exp/mono/final.mdl --data data/test \\
      [--delta-order 2] [--loglikes ark:loglikes.ark]
Synthetic (no model needed: a word-loop graph and noisy scores made up here):
  bench/decode_beams.py --synthetic

For each setting: decode every utterance (scores computed once, outside the timing), then the
best WER over the LMWT x WIP lattice sweep (7..17 x 0.0,0.5,1.0) and the one-best WER at the
decoding acoustic scale. RTF = decode seconds / audio seconds (frames x 10 ms), one core.
Writes bench/out/decode_beams.tsv and bench/out/decode_beams.png (WER against RTF).
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hybrid.decode import DecoderOptions, decode_utterance, lattice_best_path  # noqa: E402
from hybrid.fst.compact import CompactGraph, compact_from_fst, load_compact_graph  # noqa: E402
from hybrid.score.wer import compute_wer, read_text  # noqa: E402


def synthetic_task(num_words: int = 30, num_utts: int = 40, seed: int = 0):
    """A word-loop graph (each word: 3 HMM states with self-loops over its own pdfs) and noisy scores."""
    import kaldifst

    rng = np.random.default_rng(seed)
    npdf = 24
    prons = [rng.integers(npdf, size=3) for _ in range(num_words)]
    tid2pdf = [0]
    lines = []
    nstate = 1
    for w, pron in enumerate(prons, 1):
        prev = 0
        for k, pdf in enumerate(pron):
            s = nstate
            nstate += 1
            tid2pdf += [int(pdf), int(pdf)]  # forward tid, self-loop tid
            fwd, loop = len(tid2pdf) - 2, len(tid2pdf) - 1
            lines.append(f"{prev} {s} {fwd} {w if k == 0 else 0} {np.log(num_words) + 0.69 if k == 0 else 0.69:.4f}")
            lines.append(f"{s} {s} {loop} 0 0.69")
            prev = s
        lines.append(f"{prev} 0 0 0 0.0")
    lines.append("0 0.0")
    graph = compact_from_fst(kaldifst.compile("\n".join(lines) + "\n"))
    tid2pdf = np.array(tid2pdf, np.int32)
    scores, refs = {}, {}
    for u in range(num_utts):
        words = rng.integers(num_words, size=rng.integers(2, 8))
        pdfs = [p for w in words for p in prons[w] for _ in range(int(rng.integers(3, 9)))]
        ll = rng.normal(-30.0, 6.0, (len(pdfs), npdf)).astype(np.float32)
        ll[np.arange(len(pdfs)), pdfs] += 7.0
        scores[f"utt{u:03d}"] = ll
        refs[f"utt{u:03d}"] = [f"w{w + 1}" for w in words]
    syms = {w: f"w{w}" for w in range(1, num_words + 1)}
    return graph, tid2pdf, scores, refs, syms


def real_task(args):
    from hybrid.io import read_symbols

    graph = load_compact_graph(Path(args.graph_dir) / "HCLG.fst")
    syms = dict(read_symbols(Path(args.graph_dir) / "words.txt").id2sym)
    refs = read_text(Path(args.data) / "text")
    if args.loglikes:
        from hybrid.hmm import TransitionModel
        from hybrid.io import iter_table
        from hybrid.io.kaldi_text import KaldiTextReader

        tid2pdf = TransitionModel.parse_reader(KaldiTextReader.from_file(args.model)).tid2pdf
        scores = dict(iter_table(args.loglikes))
    else:
        from hybrid.features import iter_features
        from hybrid.gmm import read_model

        tm, am = read_model(args.model)
        tid2pdf = tm.tid2pdf
        t0 = time.time()
        scores = {u: am.log_likelihoods(x) for u, x in iter_features(
            args.data, delta_order=args.delta_order, splice=args.splice or None, transform=args.transform or None)}
        print(f"likelihoods: {time.time() - t0:.1f}s", file=sys.stderr)
    return graph, np.asarray(tid2pdf, np.int32), scores, refs, syms


def run_grid(graph: CompactGraph, tid2pdf, scores, refs, syms, beams, max_actives, lattice_beams, acwt,
             determinize: bool = True):
    rows = []
    frames = sum(x.shape[0] for x in scores.values())
    audio_s = frames * 0.01
    first = next(iter(scores.values()))
    decode_utterance(graph, first[:5], tid2pdf, DecoderOptions())  # compile outside the timing
    for beam, ma, lb in itertools.product(beams, max_actives, lattice_beams):
        opts = DecoderOptions(beam=beam, max_active=ma, min_active=min(200, ma), lattice_beam=lb, acoustic_scale=acwt,
                              allow_partial=True, determinize_lattice=determinize)
        t0 = time.process_time()
        res = {u: decode_utterance(graph, ll, tid2pdf, opts) for u, ll in scores.items()}
        dt = time.process_time() - t0
        onebest = {u: [syms.get(w, str(w)) for w in r.words] for u, r in res.items()}
        st1 = compute_wer(refs, onebest, mode="present")
        best = None
        for wip in (0.0, 0.5, 1.0):
            for lmwt in range(7, 18):
                hyp = {}
                for u, r in res.items():
                    bp = lattice_best_path(r.lattice, 1.0, 1.0 / lmwt, wip)
                    if bp is not None:
                        hyp[u] = [syms.get(w, str(w)) for w in bp.words]
                st = compute_wer(refs, hyp, mode="present")
                if best is None or st.wer < best[0].wer:
                    best = (st, lmwt, wip)
        lat_arcs = np.mean([r.lattice.num_arcs for r in res.values()])
        nfail = sum(not r.reached_final for r in res.values())
        ndet = sum(bool(r.stats.get("determinized")) for r in res.values())
        row = dict(beam=beam, max_active=ma, lattice_beam=lb, rtf=dt / audio_s, wer=best[0].wer,
                   lmwt=best[1], wip=best[2], wer_1best=st1.wer, lat_arcs=lat_arcs, not_final=nfail,
                   determinized=ndet,
                   decode_s=dt)
        rows.append(row)
        print("\t".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()),
              file=sys.stderr)
    return rows


def write_outputs(rows, out_dir: Path, title: str) -> None:
    from hybrid.io import atomic_path, atomic_write

    out_dir.mkdir(parents=True, exist_ok=True)
    keys = list(rows[0])
    with atomic_write(out_dir / "decode_beams.tsv") as f:
        f.write("\t".join(keys) + "\n")
        for r in rows:
            f.write("\t".join(f"{r[k]:.6g}" if isinstance(r[k], float) else str(r[k]) for k in keys) + "\n")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for (ma, lb), grp in itertools.groupby(sorted(rows, key=lambda r: (r["max_active"], r["lattice_beam"],
                                                                          r["beam"])),
                                           key=lambda r: (r["max_active"], r["lattice_beam"])):
        grp = list(grp)
        ax.plot([r["rtf"] for r in grp], [r["wer"] for r in grp], "o-", label=f"max-active {ma}, lattice-beam {lb}")
        for r in grp:
            ax.annotate(f"{r['beam']:g}", (r["rtf"], r["wer"]), fontsize=7, textcoords="offset points",
                        xytext=(3, 3))
    ax.set_xlabel("real-time factor (decode CPU s / audio s)")
    ax.set_ylabel("WER % (best LMWT/WIP)")
    ax.set_title(title)
    ax.legend(fontsize=7)
    fig.tight_layout()
    with atomic_path(out_dir / "decode_beams.png") as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--synthetic", action="store_true")
    p.add_argument("--graph-dir")
    p.add_argument("--model")
    p.add_argument("--data")
    p.add_argument("--loglikes", default="", help="ark of log-likelihood matrices instead of GMM scoring")
    p.add_argument("--delta-order", type=int, default=2)
    p.add_argument("--splice", type=int, default=0)
    p.add_argument("--transform", default="")
    p.add_argument("--beams", default="6,8,10,13,16,20")
    p.add_argument("--max-actives", default="7000")
    p.add_argument("--lattice-beams", default="6,10")
    p.add_argument("--acwt", type=float, default=0.083333)
    p.add_argument("--determinize-lattice", default="true", choices=["true", "false"],
                   help="determinize lattices (as the decoder does by default; costs time on rich lattices)")
    p.add_argument("--out", default=str(Path(__file__).resolve().parent / "out"))
    a = p.parse_args(argv)
    os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(__file__).resolve().parent.parent / ".numba_cache"))
    if a.synthetic:
        task, title = synthetic_task(), "synthetic word loop"
    else:
        if not (a.graph_dir and a.model and a.data):
            p.error("--graph-dir, --model and --data are required (or --synthetic)")
        task, title = real_task(a), f"{a.data} ({a.graph_dir})"
    rows = run_grid(*task, [float(x) for x in a.beams.split(",")], [int(x) for x in a.max_actives.split(",")],
                    [float(x) for x in a.lattice_beams.split(",")], a.acwt, a.determinize_lattice == "true")
    write_outputs(rows, Path(a.out), title)
    print(f"wrote {Path(a.out) / 'decode_beams.tsv'} and decode_beams.png", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
