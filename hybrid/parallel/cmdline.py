"""Kaldi's run.pl / slurm.pl command line, shared by ``utils/run.pl``, ``utils/slurm.pl`` and
``hybrid run-jobs``::

    run.pl [options] [JOB=1:N] log/name.JOB.log command args...

Options may come before and after ``JOB=1:N``: ``--max-jobs-run N`` (or ``-tc N``),
``--pick all|failed|incomplete|none``, ``--gpu N``, Kaldi's queue options ``--mem 4G``,
``--num-threads N``, ``--time T``, ``--partition P``, ``--config FILE`` (any ``--name value``),
GridEngine-style ``-V``, ``-pe smp N``, ``-sync y`` and one-dash options with one value
(``-q all.q``). The local backend ignores the queue options, as run.pl does.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from typing import Sequence

from hybrid.parallel.common import JOB_RANGE_RE, PICKS, JobsInterrupted

USAGE = """\
Usage: {prog} [options] [JOB=1:N] log-file command-line arguments...
e.g.: {prog} foo.log echo baz
 (runs "echo baz" with stdout and stderr directed to foo.log)
or: {prog} foo.log echo bar \\| sed s/bar/baz/
 (a pipe; other escaped bash constructs work too)
or: {prog} JOB=1:10 foo.JOB.log echo JOB
 (10 jobs; JOB is replaced by the job index in the command and the log name;
  any identifier can be used instead of JOB)
Options:
  --max-jobs-run <n>     jobs running at once (run.pl default: number of CPUs)
  --pick <all|failed|incomplete|none>  rerun only some jobs, judged by their old logs
  --mem <mem>            memory per job, e.g. 2G (slurm.pl; run.pl ignores it)
  --num-threads <n>      threads per job (slurm.pl; run.pl ignores it)
  --gpu <0|n>            GPUs per job (run.pl: runs one job per GPU at once)
  --time <t>, --partition <p>, --config <conf/slurm.conf>  (slurm.pl)
"""


class UsageError(Exception):
    """A bad command line; the message is printed with the program name."""


def parse_args(argv: Sequence[str], prog: str = "run.pl") -> dict:
    """Parse a run.pl/slurm.pl command line into a dict of :func:`hybrid.parallel.run_jobs`
    arguments (``command``, ``log_pattern``, ``job_range``, ``job_name``, ``max_jobs_run``,
    ``pick``, ``queue_opts``, ``options``)."""
    args = list(argv)
    options: dict[str, str] = {}
    queue_opts: list[str] = []
    max_jobs_run: int | None = None
    pick = "all"
    job_name, job_range = "JOB", None
    for _ in range(3):  # JOB=1:N may be interleaved with the options
        while len(args) >= 2 and args[0].startswith("-"):
            switch = args.pop(0)
            if switch == "-V":
                queue_opts.append(switch)
                continue
            value = args.pop(0)
            if value.startswith("--"):
                print(f"{prog}: WARNING: suspicious argument '{value}' to {switch}; starts with '-'",
                      file=sys.stderr)
            if switch in ("--max-jobs-run", "-tc"):
                try:
                    n = int(value)
                except ValueError:
                    n = 0
                if n <= 0:
                    raise UsageError(f"invalid option {switch} {value}")
                max_jobs_run = n if max_jobs_run is None else min(max_jobs_run, n)
            elif switch == "--pick":
                if value not in PICKS:
                    raise UsageError(f"--pick argument must be one of {', '.join(PICKS)}")
                pick = value
            elif switch == "-pe":  # e.g. -pe smp 5
                if not args:
                    raise UsageError("-pe needs two arguments")
                n = args.pop(0)
                queue_opts += [switch, value, n]
                options.setdefault("num_threads", n)
            elif switch == "-sync":
                pass  # we always wait for the jobs
            elif switch.startswith("--"):
                options[switch[2:].replace("-", "_")] = value
            else:
                queue_opts += [switch, value]
        if args:
            m = JOB_RANGE_RE.match(args[0])
            if m:
                job_name = m.group(1)
                start = int(m.group(2))
                end = int(m.group(3)) if m.group(3) is not None else start
                if start > end:
                    raise UsageError(f"invalid job range {args[0]}")
                if start <= 0:
                    raise UsageError(f"invalid job range {args[0]}, start must be strictly positive")
                job_range = (start, end)
                args.pop(0)
            elif re.match(r".+=.*:.*$", args[0]):
                print(f"{prog}: Warning: suspicious first argument to {prog}: {args[0]}",
                      file=sys.stderr)
    if len(args) < 2:
        raise UsageError("too few arguments")
    log_pattern = args.pop(0)
    if job_range is not None and job_range[1] > job_range[0] and job_name not in log_pattern:
        raise UsageError("you are trying to run a parallel job but you are putting the output "
                         f"into just one log file ({log_pattern})")
    return dict(command=args, log_pattern=log_pattern, job_range=job_range, job_name=job_name,
                max_jobs_run=max_jobs_run, pick=pick, queue_opts=queue_opts, options=options)


def default_max_jobs(n_jobs: int, gpu: str | None) -> int:
    """run.pl's default --max-jobs-run: the number of GPUs (with --gpu) or CPUs; with CPUs,
    raised to the number of jobs when that is less than 1.4 times the CPUs."""
    if gpu and gpu != "0":
        try:
            out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True).stdout
            n = len(out.splitlines())
        except OSError:
            n = 0
        if n == 0:
            print("run.pl: Warning: failed to detect number of GPUs from nvidia-smi, using 1",
                  file=sys.stderr)
        return max(1, n)
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if n < n_jobs < 1.4 * n:
        n = n_jobs
    return n


def main(argv: Sequence[str], *, backend: str = "local", prog: str = "run.pl") -> int:
    """Run a Kaldi-style command line; returns the exit status (0 ok, 1 failed, 128+sig)."""
    from hybrid.parallel import run_jobs

    if not argv or argv[0] in ("-h", "--help"):
        sys.stderr.write(USAGE.format(prog=prog))
        return 1 if not argv else 0
    try:
        a = parse_args(argv, prog)
    except UsageError as e:
        sys.stderr.write(f"{prog}: {e}\n" + USAGE.format(prog=prog))
        return 1
    options = a.pop("options")
    if backend == "local":
        if a["max_jobs_run"] is None:
            n_jobs = 1 if a["job_range"] is None else a["job_range"][1] - a["job_range"][0] + 1
            a["max_jobs_run"] = default_max_jobs(n_jobs, options.get("gpu"))
        options = {}  # run.pl ignores queue options
        a["queue_opts"] = []
    try:
        return run_jobs(backend=backend, prog=prog, queue_options=options, **a)
    except JobsInterrupted as e:
        sys.stderr.write(f"{prog}: interrupted by signal {e.signum}; running jobs were killed\n")
        return 128 + e.signum
    except (ValueError, RuntimeError, OSError) as e:
        sys.stderr.write(f"{prog}: {e}\n")
        return 1
