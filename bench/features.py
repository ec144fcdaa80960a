#!/usr/bin/env python3
"""CPU seconds per hour of audio for MFCC on AN4: hybrid vs kaldi-native-fbank, dither 0 and 1.

    .venv/bin/python bench/features.py [--corpus ../shared/corpora/an4] [--sets an4_clstk,an4test_clstk]

One thread (as one Kaldi job), audio read beforehand (not timed), AN4's options (use-energy=false).
Prints a table and writes bench/out/features.json. Skips (exit 0) when the corpus is absent.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _knf_mfcc(x: np.ndarray, dither: float) -> np.ndarray:
    import kaldi_native_fbank as knf

    o = knf.MfccOptions()
    o.frame_opts.dither = dither
    o.use_energy = False
    m = knf.OnlineMfcc(o)
    m.accept_waveform(16000, x)
    m.input_finished()
    return np.array([m.get_frame(i) for i in range(m.num_frames_ready)], dtype=np.float32)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=os.environ.get("HYBRID_CORPORA", str(ROOT.parent / "shared" / "corpora"))
                    + "/an4")
    ap.add_argument("--sets", default="an4_clstk,an4test_clstk")
    ap.add_argument("--out", default=str(ROOT / "bench" / "out" / "features.json"))
    args = ap.parse_args()
    corpus = Path(args.corpus)
    if not corpus.is_dir():
        print(f"skipped: AN4 not found at {corpus}")
        return 0

    import torch

    torch.set_num_threads(1)
    from hybrid.data.audio import read_audio
    from hybrid.features import compute_mfcc, mfcc_options, utt_seed

    files = sorted(f for s in args.sets.split(",") for f in (corpus / "wav" / s).glob("*/*.sph"))
    waves = [(f.stem, read_audio(str(f), expected_rate=16000, what=f.stem)[0]) for f in files]
    hours = sum(len(x) for _, x in waves) / 16000 / 3600
    print(f"AN4 {args.sets}: {len(waves)} utterances, {hours * 60:.1f} minutes of audio")

    results = {}
    for dither in (0.0, 1.0):
        opts = mfcc_options(use_energy=False, dither=dither)
        compute_mfcc(waves[0][1], opts, seed=0)  # warm-up (constants, torch init)
        t = time.process_time()
        for utt, x in waves:
            compute_mfcc(x, opts, seed=utt_seed(utt))
        results[f"hybrid_dither{dither:g}"] = (time.process_time() - t) / hours
        lists = [x.tolist() for _, x in waves]
        t = time.process_time()
        for x in lists:
            _knf_mfcc(x, dither)
        results[f"knf_dither{dither:g}"] = (time.process_time() - t) / hours

    print(f"{'extractor':<22}{'dither 0':>12}{'dither 1':>12}   (CPU s per hour of audio, 1 thread)")
    for name in ("hybrid", "knf"):
        label = "hybrid (torch f32)" if name == "hybrid" else "kaldi-native-fbank"
        print(f"{label:<22}{results[name + '_dither0']:>12.2f}{results[name + '_dither1']:>12.2f}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "what": "MFCC CPU seconds per hour of audio (use-energy=false, 1 thread, audio pre-read)",
        "corpus": str(corpus), "sets": args.sets, "utterances": len(waves), "hours": hours,
        "cpu_s_per_hour": results, "machine": platform.processor() or platform.machine(),
        "torch": torch.__version__,
    }, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
