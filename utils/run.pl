#!/usr/bin/env python3
"""Kaldi's run.pl: run jobs as local processes.

  run.pl [--max-jobs-run N] [--mem 4G] [--num-threads N] [--gpu 0] JOB=1:N log/name.JOB.log command args...
  run.pl log/x.log command args...

See hybrid/parallel/cmdline.py for the options.
"""
import os
import sys

# Works without the venv on PATH too: the runner needs only the standard library.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
from hybrid.parallel.cmdline import main  # noqa: E402

sys.exit(main(sys.argv[1:], backend="local", prog="run.pl"))
