#!/usr/bin/env python3
"""Kaldi's utils/spk2utt_to_utt2spk.pl: spk2utt (files or stdin) -> utt2spk on stdout."""
import sys


def main() -> int:
    files = sys.argv[1:] or ["-"]
    for name in files:
        f = sys.stdin if name == "-" else open(name, encoding="utf-8")
        for lineno, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) < 2:
                sys.stderr.write(f"spk2utt_to_utt2spk.pl: {name}:{lineno}: speaker {parts[0]} has no utterances\n")
                return 1
            sys.stdout.writelines(f"{u} {parts[0]}\n" for u in parts[1:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
