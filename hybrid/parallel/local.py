"""The local backend (Kaldi's run.pl): jobs are bash processes on this machine.

Jobs share the caller's process group, as Kaldi's run.pl's do: a signal to that group (Ctrl-C in
a terminal, ``kill -9 -PGID``, a batch system ending the script) reaches every job. When run.pl
alone gets SIGTERM/SIGINT/SIGHUP, :meth:`_Runner.kill_all` terminates each running job *and its
descendants* (a job is ``bash -c "a | b"``), found through the parent links in ``/proc``, and
SIGKILLs what is left after a grace period. On Linux each job's bash also gets
``PR_SET_PDEATHSIG`` (SIGKILL), so a job run as one program (bash execs a simple command) dies
when run.pl dies, even if run.pl alone is SIGKILLed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

from hybrid.parallel.common import (
    JobResult,
    JobsInterrupted,
    SignalGuard,
    log_footer,
    log_header,
    pick_action,
    substitute,
)

#: Seconds between two looks at the process table while jobs are being killed.
_SWEEP = 0.05


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
        self.starts: dict[int, int | None] = {}  # job pid -> its start time (pids get reused)
        self.stopping = False
        self.preexec = _pdeathsig_preexec()

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
                # In our process group (as Kaldi's run.pl): a SIGKILL of the group reaches the job.
                proc = subprocess.Popen(["bash", "-c", cmd], stdin=subprocess.DEVNULL, stdout=f,
                                        stderr=subprocess.STDOUT, env=self.env,
                                        preexec_fn=self.preexec)
                self.procs[job] = proc
                self.starts[proc.pid] = _start_time(proc.pid)  # not reaped before wait()
            rc = proc.wait()
        with self.lock:
            self.procs.pop(job, None)
            self.starts.pop(proc.pid, None)
        elapsed = int(time.time()) - start
        with open(log, "a", encoding="utf-8") as f:
            f.write(log_footer(rc, elapsed))
        return JobResult(job, log, rc)

    def kill_all(self, grace: float = 3.0) -> None:
        """SIGTERM every running job and its descendants, then SIGKILL what is left after ``grace``.

        The process tree is read again every few milliseconds, so that a process a job starts
        while it is being stopped (or one whose parent died and was reparented) is not missed;
        each process gets SIGTERM once.
        """
        with self.lock:
            self.stopping = True
            procs = list(self.procs.values())
            jobs = {p.pid: self.starts.get(p.pid) for p in procs}
        if _proc_table() is None:  # no /proc: only the job processes themselves can be reached
            for p in procs:
                _signal(p, signal.SIGTERM)
            deadline = time.monotonic() + grace
            for p in procs:
                if not _wait(p, deadline):
                    _signal(p, signal.SIGKILL)
            return
        tracked: dict[int, int | None] = {}  # pid -> start time (a reused pid is not signalled)
        deadline = time.monotonic() + grace
        while True:
            table = _proc_table() or {}
            new = _sweep(jobs, tracked, table)
            if time.monotonic() >= deadline:
                for pid, st in tracked.items():
                    if _same(pid, st, table):
                        _kill(pid, signal.SIGKILL)
                break
            for pid in new:
                _kill(pid, signal.SIGTERM)
            if not _alive(tracked, table):
                break
            time.sleep(_SWEEP)
        for p in procs:
            _wait(p, time.monotonic() + 1.0)


# ---------------------------------------------------------------- process tree (Linux /proc)
def _stat(pid: int | str) -> tuple[int, int, str] | None:
    """(ppid, start time in clock ticks, state) of a process from ``/proc/PID/stat``, or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    fields = data.rsplit(b")", 1)[-1].split()  # the command name may hold spaces and ')'
    try:
        return int(fields[1]), int(fields[19]), fields[0].decode()
    except (IndexError, ValueError):
        return None


def _start_time(pid: int) -> int | None:
    s = _stat(pid)
    return None if s is None else s[1]


def _proc_table() -> dict[int, tuple[int, int, str]] | None:
    """pid -> (ppid, start time, state) of every process, or None without ``/proc``."""
    try:
        names = os.listdir("/proc")
    except OSError:
        return None
    if not os.path.exists("/proc/self/stat"):
        return None
    table = {}
    for name in names:
        if name.isdigit() and (s := _stat(name)) is not None:
            table[int(name)] = s
    return table


def _sweep(jobs: Mapping[int, int | None], tracked: dict[int, int | None],
           table: Mapping[int, tuple[int, int, str]]) -> list[int]:
    """Add the live descendants of the jobs and of the tracked processes to ``tracked``; return
    the processes not tracked before (the jobs themselves included)."""
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    roots = [pid for pid, st in {**jobs, **tracked}.items() if _same(pid, st, table)]
    new = []
    todo = list(roots)
    seen = set(todo)
    while todo:
        pid = todo.pop()
        if pid not in tracked:
            tracked[pid] = table[pid][1]
            new.append(pid)
        for c in children.get(pid, ()):
            if c not in seen:
                seen.add(c)
                todo.append(c)
    return new


def _same(pid: int, start: int | None, table: Mapping[int, tuple[int, int, str]]) -> bool:
    s = table.get(pid)
    return s is not None and (start is None or s[1] == start)


def _alive(tracked: Mapping[int, int | None], table: Mapping[int, tuple[int, int, str]]) -> bool:
    """Whether a tracked process still runs (a zombie has ended)."""
    return any(_same(pid, st, table) and table[pid][2] != "Z" for pid, st in tracked.items())


def _kill(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _signal(p: subprocess.Popen, sig: int) -> None:
    try:
        p.send_signal(sig)  # does nothing once the job was reaped
    except (ProcessLookupError, PermissionError):
        pass


def _wait(p: subprocess.Popen, deadline: float) -> bool:
    try:
        p.wait(max(0.0, deadline - time.monotonic()))
        return True
    except subprocess.TimeoutExpired:
        return False


def _pdeathsig_preexec() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child get SIGKILL when its parent (thread) dies (Linux's
    ``prctl(PR_SET_PDEATHSIG)``), or None where that is not available."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.restype = ctypes.c_int
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    parent = os.getpid()
    pr_set_pdeathsig, sigkill = 1, int(signal.SIGKILL)

    def preexec() -> None:  # runs in the child between fork and exec: no imports, no locks
        prctl(pr_set_pdeathsig, sigkill, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(128 + sigkill)

    return preexec


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
    between run.pl's header and footer lines. The jobs share the caller's process group. On
    SIGINT/SIGTERM/SIGHUP the running jobs and their descendants are killed, jobs not yet
    started are not started, and :class:`JobsInterrupted` is raised.
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
