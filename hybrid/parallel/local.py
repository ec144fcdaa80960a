"""The local backend (Kaldi's run.pl): jobs are bash processes on this machine."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Mapping, Sequence

from hybrid.parallel.common import (
    JobResult,
    JobsInterrupted,
    SignalGuard,
    log_footer,
    log_header,
    pick_action,
    substitute,
)


class _Runner:
    def __init__(self, command: str, log_pattern: str, job_name: str | None,
                 env: Mapping[str, str] | None, pick: str):
        self.command = command
        self.log_pattern = log_pattern
        self.job_name = job_name
        self.env = None if env is None else {**os.environ, **{k: str(v) for k, v in env.items()}}
        self.pick = pick
        self.lock = threading.Lock()
        self.procs: dict[int | None, subprocess.Popen] = {}
        self.stopping = False

    def run_one(self, job: int | None) -> JobResult:
        cmd = substitute(self.command, self.job_name, job)
        log = Path(substitute(self.log_pattern, self.job_name, job))
        try:
            return self._run(job, cmd, log)
        except OSError as e:  # log not writable, bash missing ...
            return JobResult(job, log, None, f"could not run: {e}")

    def _run(self, job: int | None, cmd: str, log: Path) -> JobResult:
        if self.stopping:
            return JobResult(job, log, None, "not started: interrupted")
        action = pick_action(log, self.pick)
        if action == "done":
            return JobResult(job, log, 0, "skipped: succeeded before")
        if action == "failed":
            return JobResult(job, log, 1, "skipped: failed before (--pick)")
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "w", encoding="utf-8") as f:
            f.write(log_header(cmd))
        start = int(time.time())
        with open(log, "ab") as f:
            with self.lock:
                if self.stopping:
                    return JobResult(job, log, None, "not started: interrupted")
                # Its own process group, so that a pipeline is killed as a whole.
                proc = subprocess.Popen(["bash", "-c", cmd], stdin=subprocess.DEVNULL, stdout=f,
                                        stderr=subprocess.STDOUT, env=self.env, process_group=0)
                self.procs[job] = proc
            rc = proc.wait()
        with self.lock:
            self.procs.pop(job, None)
        elapsed = int(time.time()) - start
        with open(log, "a", encoding="utf-8") as f:
            f.write(log_footer(rc, elapsed))
        return JobResult(job, log, rc)

    def kill_all(self, grace: float = 3.0) -> None:
        """SIGTERM every running job's process group, then SIGKILL what is left after ``grace``."""
        with self.lock:
            self.stopping = True
            procs = list(self.procs.values())
        for p in procs:
            _killpg(p, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for p in procs:
            try:
                p.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _killpg(p, signal.SIGKILL)


def _killpg(p: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(p.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def run_local(
    command: str,
    log_pattern: str,
    jobs: Sequence[int | None],
    job_name: str | None,
    *,
    max_jobs_run: int | None = None,
    env: Mapping[str, str] | None = None,
    pick: str = "all",
) -> list[JobResult]:
    """Run ``command`` once per job index through bash, at most ``max_jobs_run`` at once.

    Each job's stdout and stderr go to its log (``log_pattern`` with the job index put in),
    between run.pl's header and footer lines. On SIGINT/SIGTERM/SIGHUP the running jobs'
    process groups are killed, jobs not yet started are not started, and
    :class:`JobsInterrupted` is raised.
    """
    runner = _Runner(command, log_pattern, job_name, env, pick)
    workers = len(jobs) if not max_jobs_run or max_jobs_run <= 0 else min(max_jobs_run, len(jobs))
    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="job")
    futures = {}
    try:
        with SignalGuard():
            try:
                futures = {pool.submit(runner.run_one, j): j for j in jobs}
                pending = set(futures)
                while pending:
                    _, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            except KeyboardInterrupt as e:
                signum = e.signum if isinstance(e, JobsInterrupted) else signal.SIGINT
                runner.kill_all()
                pool.shutdown(wait=True, cancel_futures=True)
                raise JobsInterrupted(signum) from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return [f.result() for f in futures]
