"""The Slurm backend (Kaldi's slurm.pl): one ``sbatch --array`` job; each task runs the command
through bash and writes the same log lines as run.pl.

Options (``--mem 4G``, ``--num-threads 2``, ``--gpu 1``, ``--time 1:00:00``, ``--partition p``)
become sbatch options through a config file in Kaldi's format (``conf/slurm.conf`` when it
exists, else :data:`DEFAULT_CONFIG`)::

    command sbatch --export=PATH --ntasks-per-node=1
    option mem=* --mem-per-cpu $0      # '--mem 2G' -> '--mem-per-cpu 2G'
    option mem=0                       # '--mem 0' adds nothing
    default gpu=0                      # as if '--gpu 0' were given
    option gpu=* -p gpu --gres=gpu:$0

An option the config does not describe is an error, as in Kaldi. ``--max-jobs-run N`` becomes
the array's ``%N`` throttle. Options with one dash (``-p long``, ``-A acct``) go to sbatch as
they are.

Waiting: the job is submitted with ``sbatch --parsable``; each task writes its exit code to a
sync file ``<qdir>/done.<pid><random>.<task>`` when it ends, which we poll (fast: no 10 s floor as with
``sbatch --wait``), and ``squeue`` is asked now and then whether the job still exists, so that
tasks killed by Slurm (time limit, node failure, scancel) are reported instead of waited for.
"""

from __future__ import annotations

import os
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Mapping, Sequence

from hybrid.parallel.common import JobResult, JobsInterrupted, SignalGuard, pick_action, substitute

#: Used when neither ``--config`` nor ``conf/slurm.conf`` is there. Kaldi's default sends
#: gpu=0 jobs to a partition named "shared" and GPU jobs to "gpu"; ours leaves the partition to
#: Slurm's default unless ``--partition`` is given, and asks for GPUs with --gres.
DEFAULT_CONFIG = """\
# Default configuration (hybrid)
command sbatch --export=PATH --ntasks-per-node=1
option time=* --time $0
option mem=* --mem-per-cpu $0
option mem=0          # Do not add anything to qsub_opts
option num_threads=* --cpus-per-task $0 --ntasks-per-node=1
option num_threads=1 --cpus-per-task 1 --ntasks-per-node=1
default gpu=0
option gpu=0
option gpu=* --gres=gpu:$0
option partition=* -p $0
# note: --max-jobs-run is handled by slurm.pl itself (the array's %N throttle).
"""

_PLACEHOLDER = "@@HYBRID_JOB@@"


class SlurmConfigError(ValueError):
    """A bad config file line or an option the config does not describe."""


def parse_config(text: str, name: str) -> tuple[list[str], dict[str, str], dict[tuple[str, str], str], dict[str, str]]:
    """Parse a Kaldi queue config: (command words, ``option x=*`` templates,
    ``option x=value`` args, ``default x=value``)."""
    command: list[str] | None = None
    star: dict[str, str] = {}
    fixed: dict[tuple[str, str], str] = {}
    defaults: dict[str, str] = {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = re.sub(r"\s*#.*", "", raw).strip()
        if not line:
            continue
        if m := re.match(r"^command (.+)$", line):
            command = shlex.split(m.group(1))
        elif m := re.match(r"^option ([^=]+)=\* (.+)$", line):
            if "$0" not in m.group(2):
                print(f"slurm.pl: warning: line {lineno} of {name} has no $0: {raw!r}", file=sys.stderr)
            star[m.group(1)] = m.group(2)
        elif m := re.match(r"^option ([^=]+)=(\S+)\s?(.*)$", line):
            fixed[(m.group(1), m.group(2))] = m.group(3)
        elif m := re.match(r"^default (\S+)=(\S+)", line):
            defaults[m.group(1)] = m.group(2)
        else:
            raise SlurmConfigError(f"{name}:{lineno}: unable to parse line {raw!r}")
    if command is None:
        raise SlurmConfigError(f'{name}: config file does not contain the line "command ..."')
    return command, star, fixed, defaults


def sbatch_command(options: Mapping[str, str], config: str | os.PathLike | None = None) -> list[str]:
    """The sbatch command (config's ``command`` plus translated options), Kaldi's rules.

    ``options`` use Kaldi's names with ``_`` (``mem``, ``num_threads``, ``gpu``...);
    ``max_jobs_run`` and ``config`` are not translated here.
    """
    if config is not None:
        path = Path(config)
        try:
            text = path.read_text()
        except OSError as e:
            raise SlurmConfigError(f"could not open config file {path}: {e.strerror}") from None
        name = str(path)
    elif Path("conf/slurm.conf").is_file():
        name = "conf/slurm.conf"
        text = Path(name).read_text()
    else:
        name, text = "default config", DEFAULT_CONFIG
    command, star, fixed, defaults = parse_config(text, name)
    opts = {k: str(v) for k, v in options.items() if k not in ("max_jobs_run", "config")}
    for k, v in defaults.items():
        opts.setdefault(k, v)
    args: list[str] = []
    for k, v in opts.items():
        if (k, v) in fixed:
            args += shlex.split(fixed[(k, v)])
        elif k in star:
            args += shlex.split(star[k].replace("$0", v))
        else:
            raise SlurmConfigError(
                f"Command line option {k} not described in {name} (or value '{v}' not allowed)")
    return command + args


def _qdir_and_base(log_pattern: str, job_name: str | None) -> tuple[Path, str]:
    """Kaldi's q/ directory next to the logs (``exp/x/log/q`` becomes ``exp/x/q``), and the
    base name of the queue log with ``.JOB`` removed."""
    d, base = os.path.split(log_pattern)
    qdir = re.sub(r"/(log|LOG)/*q$", "/q", os.path.join(d or ".", "q"))
    if job_name:
        base = re.sub(r"\.?" + re.escape(job_name), "", base, count=1)
    return Path(qdir), base


def job_script(command: str, log_pattern: str, job_name: str | None, first_job: int | None,
               sync_prefix: Path, threads: int, env: Mapping[str, str] | None) -> str:
    """The bash script each array task runs: header, command, footer, sync file."""
    cwd = os.getcwd()
    if job_name is not None:
        cmd_t = command.replace(job_name, _PLACEHOLDER)
        log_t = log_pattern.replace(job_name, _PLACEHOLDER)
    else:
        cmd_t, log_t = command, log_pattern
    lines = [
        "#!/bin/bash",
        f"cd {shlex.quote(cwd)} || exit 1",
        "[ -f ./path.sh ] && . ./path.sh",
    ]
    for k, v in (env or {}).items():
        lines.append(f"export {k}={shlex.quote(str(v))}")
    default_task = "" if first_job is None else str(first_job)
    lines += [
        f"task=${{SLURM_ARRAY_TASK_ID:-{default_task}}}",
        f"cmd={shlex.quote(cmd_t)}",
        f"log={shlex.quote(log_t)}",
    ]
    if job_name is not None:
        lines += [f'cmd="${{cmd//{_PLACEHOLDER}/$task}}"', f'log="${{log//{_PLACEHOLDER}/$task}}"']
    sync = shlex.quote(str(sync_prefix))
    lines += [
        f'sync={sync}${{task:+.$task}}',
        'mkdir -p "$(dirname "$log")"',
        "{ printf '# %s\\n' \"$cmd\"",
        '  echo "# Started at $(LC_ALL=C date)"',
        "  echo '#'",
        '  echo "# Running on $(hostname) as Slurm job ${SLURM_JOB_ID}${SLURM_ARRAY_TASK_ID:+ (array ${SLURM_ARRAY_JOB_ID}_$SLURM_ARRAY_TASK_ID)}"',
        '} > "$log"',
        'if [ "$CUDA_VISIBLE_DEVICES" == "NoDevFiles" ]; then unset CUDA_VISIBLE_DEVICES; fi',
        "time1=$(date +%s)",
        'bash -c "$cmd" < /dev/null >> "$log" 2>&1',
        "ret=$?",
        "time2=$(date +%s)",
        f'echo "# Accounting: time=$((time2-time1)) threads={threads}" >> "$log"',
        'echo "# Ended (code $ret) at $(LC_ALL=C date), elapsed time $((time2-time1)) seconds" >> "$log"',
        'echo $ret > "$sync.tmp" && mv -f "$sync.tmp" "$sync"',
        "exit $((ret ? 1 : 0))",
        "",
    ]
    return "\n".join(lines)


def _array_spec(jobs: Sequence[int]) -> str:
    """Compact ``1-4,7,9-10`` form of sorted job indices."""
    parts, i = [], 0
    js = sorted(jobs)
    while i < len(js):
        k = i
        while k + 1 < len(js) and js[k + 1] == js[k] + 1:
            k += 1
        parts.append(str(js[i]) if k == i else f"{js[i]}-{js[k]}")
        i = k + 1
    return ",".join(parts)


def _squeue_alive(job_id: str) -> bool | None:
    """True while Slurm still lists the job, False once it is gone, None if squeue failed."""
    try:
        p = subprocess.run(["squeue", "-h", "-j", job_id, "-o", "%T"], capture_output=True,
                           text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if p.returncode == 0:
        states = [s for s in p.stdout.split() if s]
        return any(s not in ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL",
                             "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE", "PREEMPTED") for s in states)
    if "Invalid job id" in p.stderr:
        return False
    return None


def run_slurm(
    command: str,
    log_pattern: str,
    jobs: Sequence[int | None],
    job_name: str | None,
    *,
    max_jobs_run: int | None = None,
    env: Mapping[str, str] | None = None,
    pick: str = "all",
    options: Mapping[str, str] | None = None,
    queue_opts: Sequence[str] = (),
    prog: str = "slurm.pl",
    poll_max: float = 2.0,
    squeue_every: float = 5.0,
    lost_grace: float = 10.0,
) -> list[JobResult]:
    """Run the jobs as one Slurm array job and wait for them; see the module docstring."""
    options = dict(options or {})
    config = options.pop("config", None)
    if shutil.which("sbatch") is None:
        raise RuntimeError(f"{prog}: sbatch is not on PATH (is Slurm installed here?)")
    threads = int(options.get("num_threads", 1) or 1)
    sbatch = sbatch_command(options, config) + list(queue_opts)

    results: dict[int | None, JobResult] = {}
    to_run: list[int | None] = []
    for j in jobs:
        log = Path(substitute(log_pattern, job_name, j))
        action = pick_action(log, pick)
        if action == "done":
            results[j] = JobResult(j, log, 0, "skipped: succeeded before")
        elif action == "failed":
            results[j] = JobResult(j, log, 1, "skipped: failed before (--pick)")
        else:
            to_run.append(j)
    if not to_run:
        return [results[j] for j in jobs]

    qdir, base = _qdir_and_base(log_pattern, job_name)
    qdir.mkdir(parents=True, exist_ok=True)
    Path(substitute(log_pattern, job_name, to_run[0])).parent.mkdir(parents=True, exist_ok=True)
    qdir = qdir.resolve()
    qlog = qdir / base
    script = qdir / (re.sub(r"\.[A-Za-z]{1,5}$", "", base) + ".sh")
    # Kaldi's done.<pid>; a random part too, for several runs from one process at once
    sync_prefix = qdir / f"done.{os.getpid()}{secrets.token_hex(2)}"
    array = job_name is not None
    syncs = {j: Path(f"{sync_prefix}.{j}") if array else sync_prefix for j in to_run}
    for s in syncs.values():
        s.unlink(missing_ok=True)
    text = job_script(command, log_pattern, job_name, None if not array else to_run[0],
                      sync_prefix, threads, env)

    submit = sbatch + ["--parsable", "--open-mode=append", "-o", str(qlog), "-e", str(qlog)]
    if array:
        spec = _array_spec([j for j in to_run if j is not None])
        if max_jobs_run:
            spec += f"%{max_jobs_run}"
        submit.append(f"--array={spec}")
    submit.append(str(script.resolve()))
    text += "## submitted with:\n# " + shlex.join(submit) + "\n"
    script.write_text(text)
    script.chmod(0o755)

    p = subprocess.run(submit, capture_output=True, text=True)
    with open(qlog, "a") as f:
        f.write(p.stdout + p.stderr)
    job_id = p.stdout.strip().split(";")[0] if p.returncode == 0 else ""
    if p.returncode != 0 or not job_id.isdigit():
        sys.stderr.write(f"{prog}: error submitting jobs to the queue (return status was "
                         f"{p.returncode}); queue log is {qlog}, command was {shlex.join(submit)}\n"
                         f"{p.stderr}")
        for j in to_run:
            results[j] = JobResult(j, Path(substitute(log_pattern, job_name, j)), None,
                                   "not submitted")
        return [results[j] for j in jobs]

    pending = set(to_run)
    t_start = time.monotonic()
    wait_s, next_squeue, gone_since = 0.05, t_start + 2.0, None
    try:
        with SignalGuard():
            while pending:
                # Listing the directory (rather than stat-ing each name) also makes NFS
                # clients refresh their view of it.
                present = set(os.listdir(qdir))
                for j in list(pending):
                    if syncs[j].name in present:
                        pending.discard(j)
                if not pending:
                    break
                now = time.monotonic()
                if gone_since is not None and now - gone_since > lost_grace:
                    break
                if gone_since is None and now >= next_squeue:
                    alive = _squeue_alive(job_id)
                    next_squeue = now + squeue_every
                    if alive is False:
                        gone_since = now
                time.sleep(wait_s)
                # every 0.5 s for the first minute (short jobs return promptly), then slower
                wait_s = min(0.5 if now - t_start < 60 else poll_max, wait_s * 1.3)
    except KeyboardInterrupt as e:
        subprocess.run(["scancel", job_id], capture_output=True)
        sys.stderr.write(f"{prog}: interrupted: cancelled Slurm job {job_id}\n")
        raise JobsInterrupted(e.signum if isinstance(e, JobsInterrupted) else signal.SIGINT) from None

    for j in to_run:
        log = Path(substitute(log_pattern, job_name, j))
        s = syncs[j]
        if s.exists():
            try:
                rc = int(s.read_text().strip())
            except ValueError:
                rc = None
            s.unlink(missing_ok=True)
            results[j] = JobResult(j, log, rc)
        else:
            results[j] = JobResult(j, log, None,
                                   f"Slurm job {job_id} ended without it finishing: time limit, "
                                   f"memory, node failure or scancel? see also {qlog}")
    return [results[j] for j in jobs]
