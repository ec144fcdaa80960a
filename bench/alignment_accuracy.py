#!/usr/bin/env python3
"""Phone-boundary accuracy of the training alignments of egs/synth/s5 against the TTS's true timings.

For every ``exp/<x>_ali`` of the synthetic recipe that has ``phone.ctm`` (written by its
local/alignment_accuracy.sh: ``hybrid ali-to-phones --ctm-output``), reports the share of phone
boundaries within 10, 20, 25 and 50 ms of the reference (``data/train/phones.ctm``), the mean and
median absolute error and the mean signed error, in two time conventions:

- ``kaldi``: Kaldi's CTM times (a boundary at frame k is at k * frame_shift, the start of frame k's
  window);
- ``frame_centre``: the point halfway between the centres of the two frames around the boundary,
  k * frame_shift + (frame_length - frame_shift) / 2 (7.5 ms for 25/10 ms frames).

Writes bench/out/alignment_accuracy.json and prints a table.

  .venv/bin/python bench/alignment_accuracy.py [--s5 egs/synth/s5] [--systems mono,tri1,tri2b,tri3b]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    from hybrid.score.phone_boundaries import boundary_accuracy, frame_centre_offset, read_ctm

    ap = argparse.ArgumentParser()
    ap.add_argument("--s5", default=str(REPO / "egs" / "synth" / "s5"))
    ap.add_argument("--systems", default="mono,tri1,tri2b,tri3b")
    ap.add_argument("--out", default=str(REPO / "bench" / "out" / "alignment_accuracy.json"))
    a = ap.parse_args()
    s5 = Path(a.s5)
    ref = read_ctm(s5 / "data" / "train" / "phones.ctm")
    results: dict[str, dict] = {}
    print(f"{'system':10s} {'convention':13s} {'10ms':>7s} {'20ms':>7s} {'25ms':>7s} {'50ms':>7s} "
          f"{'mean':>6s} {'bias':>6s} utts")
    for x in a.systems.split(","):
        ctm = s5 / "exp" / f"{x}_ali" / "phone.ctm"
        if not ctm.is_file():
            print(f"{x:10s} (no {ctm})")
            continue
        hyp = read_ctm(ctm)
        results[x] = {}
        for name, off in (("kaldi", 0.0), ("frame_centre", frame_centre_offset())):
            r = boundary_accuracy(ref, hyp, hyp_offset=off)
            results[x][name] = r
            w = r["within"]
            print(f"{x:10s} {name:13s} " + " ".join(f"{100 * w[t]:6.2f}%" for t in ("10", "20", "25", "50"))
                  + f" {r['mean_abs_error_ms']:6.2f} {r['mean_signed_error_ms']:+6.2f} {r['num_utts_compared']}")
    info = s5 / "downloads" / "synth" / "synth_info.json"
    out = {"s5": str(s5), "systems": results,
           "corpus": json.loads(info.read_text()) if info.is_file() else None}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=1))
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
