#!/usr/bin/env python3
"""Kaldi's utils/utt2spk_to_spk2utt.pl: utt2spk (files or stdin) -> spk2utt on stdout.

Speakers come out in order of first appearance, their utterances in input order.
"""
import sys


def main() -> int:
    spk2utt: dict[str, list[str]] = {}
    files = sys.argv[1:] or ["-"]
    for name in files:
        f = sys.stdin if name == "-" else open(name, encoding="utf-8")
        for lineno, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 2:
                sys.stderr.write(f"utt2spk_to_spk2utt.pl: {name}:{lineno}: bad line {line!r}\n")
                return 1
            spk2utt.setdefault(parts[1], []).append(parts[0])
    sys.stdout.writelines(f"{s} {' '.join(u)}\n" for s, u in spk2utt.items())
    return 0


if __name__ == "__main__":
    sys.exit(main())
