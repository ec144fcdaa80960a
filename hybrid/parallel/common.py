"""Pieces shared by the job-runner backends: Kaldi's command quoting, ``JOB`` substitution,
the log header/footer lines that run.pl writes, ``--pick`` and the failure report.

Only the standard library is imported here, so ``utils/run.pl`` starts fast.
"""

from __future__ import annotations

import dataclasses
import os
import re
import signal
import sys
import threading
import time
from pathlib import Path
from typing import IO, Sequence

#: ``JOB=1:4`` (or ``JOB=3``): Kaldi's job-range argument; the name can be any identifier.
JOB_RANGE_RE = re.compile(r"^([A-Za-z_]\w*)=(\d+)(?::(\d+))?$")

#: Lines of the log tail shown for a failed job.
TAIL_LINES = 10
#: Failed jobs whose log tail is shown (all failed logs are named).
MAX_TAILS = 5


def quote_command(args: Sequence[str]) -> str:
    """Join ``args`` into a bash command line the way Kaldi's run.pl does.

    An argument without whitespace is kept as it is (so ``\\|`` given to the script as ``|``
    makes a pipe); one with whitespace is put in double quotes, or in single quotes if it
    contains a double quote. Kaldi joins with a trailing space; we drop it.
    """
    out = []
    for a in args:
        if a and not re.search(r"\s", a):
            out.append(a)
        elif '"' in a:
            out.append(f"'{a}'")
        else:
            out.append(f'"{a}"')
    return " ".join(out)


def substitute(text: str, job_name: str | None, job: int | None) -> str:
    """Replace every occurrence of ``job_name`` in ``text`` by ``job`` (Kaldi: ``s/JOB/$jobid/g``)."""
    if job_name is None or job is None:
        return text
    return text.replace(job_name, str(job))


def kaldi_date(t: float | None = None) -> str:
    """The output of ``date`` in the C locale, e.g. ``Sun Nov 22 03:54:47 UTC 2026``."""
    return time.strftime("%a %b %e %H:%M:%S %Z %Y", time.localtime(t))


def log_header(command: str) -> str:
    """The three lines run.pl puts at the top of a job's log."""
    return f"# {command}\n# Started at {kaldi_date()}\n#\n"


def ended_code(returncode: int) -> str:
    """``code N`` or, for a job killed by signal S, ``code 128+S; signal S`` (run.pl's form)."""
    if returncode < 0:
        sig = -returncode
        return f"code {128 + sig}; signal {sig}"
    return f"code {returncode}"


def log_footer(returncode: int, elapsed: int, threads: int = 1) -> str:
    """The two lines run.pl appends when a job ends."""
    return (
        f"# Accounting: time={elapsed} threads={threads}\n"
        f"# Ended ({ended_code(returncode)}) at {kaldi_date()}, elapsed time {elapsed} seconds\n"
    )


_ENDED_RE = re.compile(r"^# Ended \(code (\d+)(?:; signal \d+)?\)")


def ended_status(log: str | os.PathLike) -> int | None:
    """The exit code in the last ``# Ended (code N)`` line of a log, or None (absent/incomplete)."""
    try:
        lines = _read_tail_bytes(Path(log)).splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        m = _ENDED_RE.match(line)
        if m:
            return int(m.group(1))
    return None


PICKS = ("all", "none", "failed", "incomplete")


def pick_action(log: str | os.PathLike, pick: str) -> str:
    """Kaldi's ``--pick``: decide from an existing log whether to run a job again.

    Returns ``"run"``, ``"done"`` (it succeeded before: skip, success) or ``"failed"`` (it
    failed before and ``pick`` does not rerun failed jobs: skip, failure).
    """
    if pick == "all":
        return "run"
    if pick not in PICKS:
        raise ValueError(f"--pick must be one of {', '.join(PICKS)}, not {pick!r}")
    if not Path(log).exists():
        return "run"
    code = ended_status(log)
    if code is None:
        return "run"  # incomplete jobs always run
    if code == 0:
        return "done"
    return "run" if pick == "failed" else "failed"


class JobsInterrupted(KeyboardInterrupt):
    """Raised by :func:`run_jobs` after SIGINT/SIGTERM, once the running jobs were killed."""

    def __init__(self, signum: int):
        super().__init__(f"interrupted by signal {signum}")
        self.signum = signum


class SignalGuard:
    """Turn SIGTERM (and SIGHUP) into an exception in the main thread while jobs run."""

    def __init__(self) -> None:
        self.old: dict[int, object] = {}

    def __enter__(self) -> "SignalGuard":
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGHUP):
                if signal.getsignal(sig) is signal.SIG_IGN:
                    continue  # e.g. SIGHUP under nohup: leave it ignored
                self.old[sig] = signal.signal(sig, self._raise)
        return self

    @staticmethod
    def _raise(signum: int, frame: object) -> None:
        raise JobsInterrupted(signum)

    def __exit__(self, *exc: object) -> None:
        for sig, h in self.old.items():
            signal.signal(sig, h)  # type: ignore[arg-type]


@dataclasses.dataclass
class JobResult:
    """Outcome of one job: ``returncode`` is None when the job left no exit status."""

    job: int | None
    log: Path
    returncode: int | None
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def _read_tail_bytes(path: Path, nbytes: int = 65536) -> str:
    return _read_tail(path, nbytes)[0]


def _read_tail(path: Path, nbytes: int = 65536) -> tuple[str, bool]:
    """The last ``nbytes`` of a file as text, and whether that is the whole file."""
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(max(0, size - nbytes))
        data = f.read()
    return data.decode("utf-8", errors="replace"), size <= nbytes


def log_tail(log: str | os.PathLike, n: int = TAIL_LINES) -> list[str]:
    """The last ``n`` lines a job wrote to its log, without run.pl's header and footer lines."""
    try:
        text, whole = _read_tail(Path(log))
    except OSError as e:
        return [f"(cannot read {log}: {e.strerror})"]
    lines = text.splitlines()
    if whole and len(lines) >= 3 and lines[1].startswith("# Started at ") and lines[2] == "#":
        del lines[:3]
        if lines and lines[0].startswith("# Running on "):  # slurm.pl's extra header line
            del lines[0]
    while lines and (lines[-1].startswith("# Ended (") or lines[-1].startswith("# Accounting:")
                     or not lines[-1].strip()):
        lines.pop()
    return lines[-n:]


def report_failures(
    prog: str,
    results: Sequence[JobResult],
    log_pattern: str,
    job_name: str | None,
    out: IO[str] | None = None,
) -> None:
    """Write to stderr how many jobs failed, each failed job's log, and the tail of a few.

    The first line is Kaldi's (``run.pl: 2 / 4 failed, log is in exp/log/x.*.log``).
    """
    out = out if out is not None else sys.stderr
    failed = [r for r in results if not r.ok]
    if not failed:
        return
    if len(results) == 1:
        out.write(f"{prog}: job failed, log is in {failed[0].log}\n")
        if "JOB" in str(failed[0].log):
            out.write(f"{prog}: probably you forgot to put JOB=1:$nj in your script.\n")
    else:
        glob = log_pattern.replace(job_name, "*") if job_name else log_pattern
        out.write(f"{prog}: {len(failed)} / {len(results)} failed, log is in {glob}\n")
    for i, r in enumerate(failed):
        what = f"job {r.job}" if r.job is not None else "job"
        status = (f"exited with {ended_code(r.returncode)}" if r.returncode is not None
                  else "left no exit status")
        note = f" ({r.note})" if r.note else ""
        out.write(f"{prog}: {what} {status}{note}: {r.log}\n")
        if i < MAX_TAILS:
            tail = log_tail(r.log)
            if not tail:
                out.write(f"{prog}: (the job wrote nothing to {r.log})\n")
                continue
            out.write(f"{prog}: last {len(tail)} lines of {r.log}:\n")
            for line in tail:
                out.write(f"    {line}\n")
        elif i == MAX_TAILS:
            out.write(f"{prog}: (log tails of the other failed jobs not shown)\n")
    out.flush()
