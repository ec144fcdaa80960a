"""The job runner's local backend (utils/run.pl, hybrid run-jobs, run_jobs) and the Slurm
option translation (no Slurm needed here; tests/test_slurm.py runs a real cluster)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hybrid.parallel import run_jobs
from hybrid.parallel.cmdline import UsageError, parse_args
from hybrid.parallel.common import ended_status, log_tail, pick_action, quote_command
from hybrid.parallel.slurm import SlurmConfigError, _array_spec, _qdir_and_base, sbatch_command

REPO = Path(__file__).resolve().parent.parent
RUN_PL = str(REPO / "utils" / "run.pl")

DATE = r"\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \S+ \d{4}"
HEADER_RE = re.compile(r"\A# (?P<cmd>.*)\n# Started at " + DATE + r"\n#\n")
FOOTER_RE = re.compile(r"# Accounting: time=(?P<t>\d+) threads=1\n# Ended \(code (?P<rc>\d+)\) at "
                       + DATE + r", elapsed time (?P=t) seconds\n\Z")


def run_pl(args: list[str], cwd: Path, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([RUN_PL, *args], cwd=cwd, capture_output=True, text=True, timeout=60, **kw)


def test_run_pl_jobs_substitute_job_and_write_header_footer(tmp_path: Path) -> None:
    # What a shell passes for: run.pl JOB=1:3 log/x.JOB.log echo "hello JOB" \| tr a-z A-Z \> out.JOB
    p = run_pl(["JOB=1:3", "log/x.JOB.log", "echo", "hello JOB", "|", "tr", "a-z", "A-Z",
                ">", "out.JOB"], tmp_path)
    assert p.returncode == 0, p.stderr
    for j in (1, 2, 3):
        assert (tmp_path / f"out.{j}").read_text() == f"HELLO {j}\n"
        text = (tmp_path / "log" / f"x.{j}.log").read_text()
        m = HEADER_RE.match(text)
        assert m, text
        # run.pl's quoting: the argument with a space is double-quoted; | and > stay bare
        assert m.group("cmd") == f'echo "hello {j}" | tr a-z A-Z > out.{j}'
        f = FOOTER_RE.search(text)
        assert f and f.group("rc") == "0", text
    assert not (tmp_path / "log" / "x.4.log").exists()


def test_run_pl_single_job_and_other_job_name(tmp_path: Path) -> None:
    p = run_pl(["log/one.log", "echo", "JOB"], tmp_path)
    assert p.returncode == 0, p.stderr
    text = (tmp_path / "log/one.log").read_text()
    assert "\nJOB\n" in text and FOOTER_RE.search(text)  # JOB left alone without a range
    p = run_pl(["--mem", "4G", "N=2:3", "--num-threads", "2", "log/n.N.log", "echo", "job=N"], tmp_path)
    assert p.returncode == 0, p.stderr
    assert not (tmp_path / "log/n.1.log").exists()
    assert "\njob=3\n" in (tmp_path / "log/n.3.log").read_text()


def test_run_pl_one_quoted_argument_is_a_bash_command(tmp_path: Path) -> None:
    p = run_pl(["log/q.log", "echo a b | wc -w > words; echo JOB"], tmp_path)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "words").read_text().strip() == "2"


def test_run_pl_failure_reports_failed_logs_and_tail(tmp_path: Path) -> None:
    script = "for i in $(seq 1 12); do echo out$i; done; if [ JOB = 2 ]; then echo boom JOB >&2; exit 3; fi"
    p = run_pl(["JOB=1:3", "log/f.JOB.log", script], tmp_path)
    assert p.returncode == 1
    err = p.stderr
    assert "run.pl: 1 / 3 failed, log is in log/f.*.log" in err
    assert "log/f.2.log" in err and "log/f.1.log" not in err and "log/f.3.log" not in err
    assert "code 3" in err
    tail = [ln.strip() for ln in err.splitlines() if ln.startswith("    ")]
    assert tail == [f"out{i}" for i in range(4, 13)] + ["boom 2"]  # the last 10 lines
    text = (tmp_path / "log/f.2.log").read_text()
    assert FOOTER_RE.search(text).group("rc") == "3"
    assert ended_status(tmp_path / "log/f.2.log") == 3 and ended_status(tmp_path / "log/f.1.log") == 0
    # A single failing job: Kaldi's message and the log's lines.
    p = run_pl(["log/s.log", "echo", "bad", "input", ";", "false"], tmp_path)
    assert p.returncode == 1
    assert "run.pl: job failed, log is in log/s.log" in p.stderr and "    bad input" in p.stderr


def test_run_pl_usage_errors(tmp_path: Path) -> None:
    p = run_pl(["JOB=1:2", "log/one.log", "true"], tmp_path)
    assert p.returncode == 1 and "just one log file" in p.stderr
    p = run_pl(["JOB=0:2", "log/x.JOB.log", "true"], tmp_path)
    assert p.returncode == 1 and "strictly positive" in p.stderr
    p = run_pl(["log/x.log"], tmp_path)
    assert p.returncode == 1 and "Usage" in p.stderr
    with pytest.raises(UsageError):
        parse_args(["--max-jobs-run", "0", "x.log", "true"])


def test_parse_args_kaldi_forms() -> None:
    a = parse_args(["--max-jobs-run", "4", "-tc", "3", "--gpu", "1", "JOB=1:8", "--mem", "2G",
                    "-q", "all.q", "-V", "-pe", "smp", "2", "exp/log/a.JOB.log", "prog", "x"])
    assert a["job_range"] == (1, 8) and a["job_name"] == "JOB" and a["max_jobs_run"] == 3
    assert a["options"] == {"gpu": "1", "mem": "2G", "num_threads": "2"}
    assert a["queue_opts"] == ["-q", "all.q", "-V", "-pe", "smp", "2"]
    assert a["log_pattern"] == "exp/log/a.JOB.log" and a["command"] == ["prog", "x"]
    assert parse_args(["JOB=5", "a.JOB.log", "true"])["job_range"] == (5, 5)


def test_quote_command_is_kaldis() -> None:
    assert quote_command(["a", "b c", 'say "hi"', "|", "ark:gunzip -c x.gz|"]) == \
        """a "b c" 'say "hi"' | "ark:gunzip -c x.gz|\""""


def _max_concurrency(tmp_path: Path, max_jobs_run: int | None, n: int = 4) -> int:
    run = tmp_path / "running"
    run.mkdir()
    cmd = ("touch running/JOB; ls running | wc -l > count.JOB; sleep 0.4; "
           "ls running | wc -l >> count.JOB; rm running/JOB")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        assert run_jobs(cmd, "log/c.JOB.log", (1, n), max_jobs_run=max_jobs_run) == 0
    finally:
        os.chdir(cwd)
    return max(int(x) for j in range(1, n + 1) for x in (tmp_path / f"count.{j}").read_text().split())


def test_max_jobs_run_limits_concurrency(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert _max_concurrency(tmp_path / "a", 2) == 2
    assert _max_concurrency(tmp_path / "b", None) == 4  # default: all at once


def test_run_pl_max_jobs_run_option(tmp_path: Path) -> None:
    cmd = "touch r.JOB; ls r.* | wc -l > c.JOB; sleep 0.3; rm r.JOB"
    p = run_pl(["--max-jobs-run", "1", "JOB=1:3", "log/m.JOB.log", cmd], tmp_path)
    assert p.returncode == 0, p.stderr
    assert [(tmp_path / f"c.{j}").read_text().strip() for j in (1, 2, 3)] == ["1", "1", "1"]


def test_run_jobs_api_env_and_list_command(tmp_path: Path) -> None:
    log = tmp_path / "log" / "e.JOB.log"
    rc = run_jobs([sys.executable, "-c", "import os,sys; print(os.environ['FOO'], sys.argv[1:])",
                   "JOB", "two words"], log, (1, 2), env={"FOO": "bar"})
    assert rc == 0
    assert "bar ['2', 'two words']" in (tmp_path / "log" / "e.2.log").read_text()
    with pytest.raises(ValueError, match="just one log file"):
        run_jobs("true", tmp_path / "one.log", (1, 2))
    with pytest.raises(ValueError, match="backend"):
        run_jobs("true", tmp_path / "one.log", None, backend="sge")


def test_pick_failed_reruns_only_failed_jobs(tmp_path: Path) -> None:
    cmd = "echo ran >> runs.JOB; [ JOB != 2 ] || [ -f fixed ]"
    assert run_pl(["JOB=1:3", "log/p.JOB.log", cmd], tmp_path).returncode == 1
    assert pick_action(tmp_path / "log/p.2.log", "failed") == "run"
    assert pick_action(tmp_path / "log/p.1.log", "failed") == "done"
    assert pick_action(tmp_path / "log/p.2.log", "incomplete") == "failed"
    (tmp_path / "fixed").touch()
    p = run_pl(["--pick", "failed", "JOB=1:3", "log/p.JOB.log", cmd], tmp_path)
    assert p.returncode == 0, p.stderr
    assert [len((tmp_path / f"runs.{j}").read_text().split()) for j in (1, 2, 3)] == [1, 2, 1]


def _live_tree(pid: int) -> set[int]:
    """``pid`` and its descendants (parent links in /proc) that exist and are not zombies."""
    children: dict[int, list[int]] = {}
    live = set()
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(d.name))
        if fields[0] != "Z":
            live.add(int(d.name))
    tree, todo = {pid}, [pid]
    while todo:
        for c in children.get(todo.pop(), ()):
            tree.add(c)
            todo.append(c)
    return tree & live


def _alive(pids: set[int]) -> set[int]:
    out = set()
    for pid in pids:
        try:
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                out.add(pid)
        except OSError:
            pass
    return out


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_sigterm_kills_running_jobs(tmp_path: Path) -> None:
    """SIGTERM to run.pl kills each running job and its descendants (the jobs share run.pl's
    process group, as Kaldi's do, so they are found through /proc; see tests/test_kill_resume.py)."""
    cmd = "echo $$ > pid.JOB; sleep 30 | cat"
    p = subprocess.Popen([RUN_PL, "--max-jobs-run", "2", "JOB=1:3", "log/k.JOB.log", cmd], cwd=tmp_path,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while not all((tmp_path / f"pid.{j}").exists() and (tmp_path / f"pid.{j}").read_text().strip()
                  and len(_live_tree(int((tmp_path / f"pid.{j}").read_text()))) == 3 for j in (1, 2)):
        assert time.monotonic() < deadline and p.poll() is None, "jobs did not start"
        time.sleep(0.05)
    trees = [_live_tree(int((tmp_path / f"pid.{j}").read_text())) for j in (1, 2)]  # bash, sleep, cat
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=20)
    assert p.returncode == 128 + signal.SIGTERM, err
    assert "interrupted" in err
    for t in trees:
        assert _alive(t) == set()
    assert not (tmp_path / "pid.3").exists()  # the queued job never started
    text = (tmp_path / "log/k.1.log").read_text()
    assert "# Ended (code 143; signal 15) at" in text


def test_log_tail_strips_header_and_footer(tmp_path: Path) -> None:
    f = tmp_path / "x.log"
    f.write_text("# cmd\n# Started at x\n#\nline1\nline2\n# Accounting: time=0 threads=1\n"
                 "# Ended (code 1) at y, elapsed time 0 seconds\n")
    assert log_tail(f) == ["line1", "line2"]


def test_cli_run_jobs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from hybrid.cli.cmd_parallel import run_jobs_cmd

    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(run_jobs_cmd, ["--max-jobs-run", "2", "--mem", "1G", "JOB=1:2",
                                          "log/c.JOB.log", "echo", "c=JOB"])
    assert r.exit_code == 0, r.output
    assert "\nc=2\n" in (tmp_path / "log/c.2.log").read_text()
    r = CliRunner().invoke(run_jobs_cmd, ["JOB=1:2", "log/d.JOB.log", "exit", "JOB"])
    assert r.exit_code == 1
    assert "2 / 2 failed" in r.output and "log/d.1.log" in r.output


# ---- Slurm option translation (Kaldi's config-file rules) -------------------------------------

def test_sbatch_command_default_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no conf/slurm.conf here
    cmd = sbatch_command({"mem": "2G", "num_threads": "4", "gpu": "1", "time": "1:00:00",
                          "partition": "long"})
    s = " ".join(cmd)
    assert s.startswith("sbatch --export=PATH")
    for part in ("--mem-per-cpu 2G", "--cpus-per-task 4", "--gres=gpu:1", "--time 1:00:00", "-p long"):
        assert part in s, s
    assert "--gres" not in " ".join(sbatch_command({}))  # default gpu=0 adds nothing
    assert "--mem-per-cpu" not in " ".join(sbatch_command({"mem": "0"}))
    with pytest.raises(SlurmConfigError, match="foo not described"):
        sbatch_command({"foo": "1"})


def test_sbatch_command_kaldi_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf/slurm.conf").write_text(
        "command sbatch --export=PATH --ntasks-per-node=1\n"
        "option mem=* --mem-per-cpu $0\n"
        "default gpu=0\n"
        "option gpu=0 -p shared   # comment\n"
        "option gpu=* -p gpu --gres=gpu:$0 --time 4:0:0\n")
    assert sbatch_command({"mem": "3G"})[-4:] == ["--mem-per-cpu", "3G", "-p", "shared"]
    assert sbatch_command({"gpu": "2"})[-5:] == ["-p", "gpu", "--gres=gpu:2", "--time", "4:0:0"]
    (tmp_path / "bad.conf").write_text("command sbatch\nnonsense line\n")
    with pytest.raises(SlurmConfigError, match="bad.conf:2"):
        sbatch_command({}, tmp_path / "bad.conf")


def test_array_spec_and_qdir() -> None:
    assert _array_spec([1, 2, 3, 5, 7, 8]) == "1-3,5,7-8"
    assert _qdir_and_base("exp/tri1/log/acc.2.JOB.log", "JOB") == (Path("exp/tri1/q"), "acc.2.log")
    assert _qdir_and_base("x.log", None) == (Path("./q"), "x.log")
