"""The job runner: Kaldi's ``run.pl`` (local processes) and ``slurm.pl`` (a Slurm array job).

``run_jobs(cmd, "exp/x/log/acc.JOB.log", (1, nj))`` runs ``cmd`` once per job index with the
literal ``JOB`` replaced by the index, in the command and in the log path; each job's stdout
and stderr go to its log between run.pl's header (``# <command>``, ``# Started at <date>``)
and footer (``# Accounting: time=<s> threads=<n>``, ``# Ended (code <rc>) at <date>, ...``).
The return value is 0 when every job succeeded, else 1, with a report on stderr naming the
failed jobs' logs and showing their last lines. The scripts ``utils/run.pl`` and
``utils/slurm.pl`` (and ``hybrid run-jobs``) are this function with Kaldi's command line
(:func:`hybrid.parallel.cmdline.main`).

Only the standard library is imported, so the scripts start fast.
"""

from __future__ import annotations

import os
import sys
from typing import Mapping, Sequence

from hybrid.parallel.common import (
    JobResult,
    JobsInterrupted,
    ended_status,
    log_tail,
    quote_command,
    report_failures,
)

BACKENDS = ("local", "slurm")


def run_jobs(
    command: Sequence[str] | str,
    log_pattern: str | os.PathLike,
    job_range: tuple[int, int] | None = None,
    *,
    backend: str = "local",
    max_jobs_run: int | None = None,
    env: Mapping[str, str] | None = None,
    job_name: str = "JOB",
    pick: str = "all",
    queue_opts: Sequence[str] = (),
    prog: str | None = None,
    queue_options: Mapping[str, str | int] | None = None,
    **options: str | int,
) -> int:
    """Run ``command`` for each job in ``job_range`` (inclusive), Kaldi's run.pl/slurm.pl way.

    command: a list of arguments (joined with run.pl's quoting: only arguments containing
        whitespace get quoted, so ``"|"`` makes a pipe) or one bash command string (a list
        of one argument counts as a string: ``run.pl x.log "a | b"`` runs the pipe, where
        Kaldi would look for a program named "a | b").
    log_pattern: log path; ``job_name`` in it (and in the command) is replaced by the index.
    job_range: ``(start, end)`` with ``1 <= start <= end``; None runs one job and leaves
        ``job_name`` in the command alone.
    backend: ``"local"`` (bash processes here) or ``"slurm"`` (one sbatch array job).
    max_jobs_run: jobs running at once (local: default all; slurm: the array's %N throttle).
    env: variables set for the jobs on top of the current environment.
    pick: Kaldi's --pick: ``all`` (default), ``failed`` (rerun failed and incomplete only),
        ``incomplete`` / ``none`` (only jobs whose log has no ``# Ended`` line).
    queue_opts, options: for the slurm backend, raw sbatch options (``["-A", "acct"]``) and
        Kaldi's queue options by name (``mem="4G"``, ``num_threads=2``, ``gpu=1``,
        ``time="4:00:00"``, ``partition="p"``, ``config="conf/slurm.conf"``; or as a dict
        ``queue_options``); the local backend ignores them, as run.pl does.

    Returns 0 if every job exited 0, else 1 (after writing the failure report to stderr).
    Raises :class:`JobsInterrupted` (a KeyboardInterrupt) on SIGINT/SIGTERM/SIGHUP after
    killing the running jobs (local) or cancelling the Slurm job.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r} (one of {', '.join(BACKENDS)})")
    prog = prog or ("run.pl" if backend == "local" else "slurm.pl")
    if isinstance(command, str):
        cmd = command
    elif len(command) == 1:
        cmd = command[0]
    else:
        cmd = quote_command(command)
    log_pattern = os.fspath(log_pattern)
    if job_range is None:
        jobs: list[int | None] = [None]
        name: str | None = None
    else:
        start, end = int(job_range[0]), int(job_range[1])
        if start <= 0 or start > end:
            raise ValueError(f"invalid job range {job_name}={start}:{end} (need 1 <= start <= end)")
        if not job_name.isidentifier():
            raise ValueError(f"job name must be an identifier, not {job_name!r}")
        if end > start and job_name not in log_pattern:
            raise ValueError(f"{prog}: you are trying to run a parallel job but you are putting "
                             f"the output into just one log file ({log_pattern})")
        jobs = list(range(start, end + 1))
        name = job_name
    if backend == "local":
        from hybrid.parallel.local import run_local

        results = run_local(cmd, log_pattern, jobs, name, max_jobs_run=max_jobs_run, env=env,
                            pick=pick)
    else:
        from hybrid.parallel.slurm import run_slurm

        results = run_slurm(cmd, log_pattern, jobs, name, max_jobs_run=max_jobs_run, env=env,
                            pick=pick,
                            options={k: str(v) for k, v in {**(queue_options or {}), **options}.items()},
                            queue_opts=queue_opts, prog=prog)
    if all(r.ok for r in results):
        return 0
    report_failures(prog, results, log_pattern, name, sys.stderr)
    return 1


__all__ = [
    "run_jobs",
    "JobResult",
    "JobsInterrupted",
    "quote_command",
    "ended_status",
    "log_tail",
    "report_failures",
    "BACKENDS",
]
