"""utils/slurm.pl on a real single-node Slurm cluster started for this test session.

The fixture starts munged (own key and socket), slurmctld and slurmd (own slurm.conf, ports,
state and spool dirs, all in a temp dir) and stops them by PID afterwards. It skips with the
reason when the programs are missing (tools/setup.sh installs slurm-wlm and munge as root), we
are not root, or the node is not up within 30 s.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from hybrid.parallel.slurm import run_slurm

REPO = Path(__file__).resolve().parent.parent
SLURM_PL = str(REPO / "utils" / "slurm.pl")
SBIN = ["/usr/sbin", "/usr/local/sbin", "/sbin"]

DATE = r"\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \S+ \d{4}"


def _which(name: str) -> str | None:
    return shutil.which(name) or shutil.which(name, path=os.pathsep.join(SBIN))


def _free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _stop(procs: list[subprocess.Popen]) -> None:
    for p in reversed(procs):
        if p.poll() is None:
            p.terminate()
    for p in reversed(procs):
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)


def _tail(path: Path, n: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return f"({path} not written)"


@pytest.fixture(scope="session")
def slurm_cluster():
    """A running one-node cluster: yields the environment (SLURM_CONF set) for its clients."""
    progs = {n: _which(n) for n in ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "sinfo")}
    missing = [n for n, p in progs.items() if p is None]
    if missing:
        pytest.skip(f"Slurm is not installed ({', '.join(missing)} missing; "
                    "tools/setup.sh installs slurm-wlm and munge as root)")
    if os.geteuid() != 0:
        pytest.skip("the single-node Slurm test runs slurmd as root (SlurmUser=root)")
    # Not under pytest's basetemp: munged wants every directory above its socket searchable
    # by all, and pytest's are 0700.
    d = Path(tempfile.mkdtemp(prefix="hybrid-slurm-"))
    os.chmod(d, 0o755)
    for sub in ("munge", "state", "spool", "log"):
        (d / sub).mkdir()
    (d / "munge").chmod(0o755)
    key = d / "munge" / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o400)
    msock = d / "munge" / "munge.socket.2"
    host = socket.gethostname().split(".")[0]
    ctld_port, d_port = _free_ports(2)
    conf = d / "slurm.conf"
    conf.write_text(f"""\
ClusterName=hybridtest
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={d_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={msock}
StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool
SlurmctldPidFile={d}/slurmctld.pid
SlurmdPidFile={d}/slurmd.pid
SlurmctldLogFile={d}/log/slurmctld.log
SlurmdLogFile={d}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
MpiDefault=none
SlurmdParameters=config_overrides
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MailProg=/bin/true
NodeName={host} NodeAddr=127.0.0.1 CPUs=4 RealMemory=2000 State=UNKNOWN
PartitionName=test Nodes={host} Default=YES MaxTime=INFINITE State=UP
""")
    env = {**os.environ, "SLURM_CONF": str(conf)}
    procs: list[subprocess.Popen] = []

    def start(name: str, args: list[str]) -> None:
        out = open(d / "log" / f"{name}.out", "w")
        procs.append(subprocess.Popen([progs[name], *args], env=env, stdout=out, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL))

    try:
        start("munged", ["--foreground", f"--key-file={key}", f"--socket={msock}",
                         f"--pid-file={d}/munge/munged.pid", f"--seed-file={d}/munge/munged.seed",
                         f"--log-file={d}/munge/munged.log"])
        deadline = time.monotonic() + 30
        while not msock.exists():
            if time.monotonic() > deadline or procs[0].poll() is not None:
                pytest.skip(f"munged did not start: {_tail(d / 'log' / 'munged.out')}")
            time.sleep(0.05)
        start("slurmctld", ["-D"])
        start("slurmd", ["-D"])
        while True:
            p = subprocess.run([progs["sinfo"], "-h", "-o", "%T"], env=env, capture_output=True, text=True)
            if p.returncode == 0 and "idle" in p.stdout:
                break
            dead = [a for a in procs if a.poll() is not None]
            if time.monotonic() > deadline or dead:
                pytest.skip("single-node Slurm did not come up within 30 s:\n"
                            + _tail(d / "log" / "slurmctld.out") + "\n" + _tail(d / "log" / "slurmd.out"))
            time.sleep(0.2)
        yield env
    finally:
        _stop(procs)
        if not os.environ.get("HYBRID_KEEP_SLURM_DIR"):
            shutil.rmtree(d, ignore_errors=True)


def _slurm_pl(args: list[str], cwd: Path, env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([SLURM_PL, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_slurm_pl_array_job(slurm_cluster: dict, tmp_path: Path) -> None:
    t0 = time.monotonic()
    p = _slurm_pl(["--mem", "100M", "--num-threads", "2", "JOB=1:2", "exp/log/s.JOB.log",
                   "echo", "task JOB of $SLURM_ARRAY_TASK_COUNT cpus $SLURM_CPUS_PER_TASK",
                   "|", "tr", "a-z", "A-Z", ">", "exp/out.JOB"], tmp_path, slurm_cluster)
    took = time.monotonic() - t0
    assert p.returncode == 0, p.stderr + "\n" + _tail(tmp_path / "exp/q/s.log")
    for j in (1, 2):
        assert (tmp_path / f"exp/out.{j}").read_text() == f"TASK {j} OF 2 CPUS 2\n"
        text = (tmp_path / f"exp/log/s.{j}.log").read_text()
        lines = text.splitlines()
        assert lines[0] == f'# echo "task {j} of $SLURM_ARRAY_TASK_COUNT cpus $SLURM_CPUS_PER_TASK" ' \
                           f"| tr a-z A-Z > exp/out.{j}"
        assert re.fullmatch("# Started at " + DATE, lines[1]) and lines[2] == "#"
        assert re.match(r"# Running on \S+ as Slurm job \d+ \(array \d+_" + str(j) + r"\)", lines[3])
        assert re.fullmatch(r"# Accounting: time=\d+ threads=2", lines[-2])
        assert re.fullmatch(r"# Ended \(code 0\) at " + DATE + r", elapsed time \d+ seconds", lines[-1])
    # the script and queue log in Kaldi's q/ dir (exp/log/q -> exp/q); sync files cleaned up
    script = (tmp_path / "exp/q/s.sh").read_text()
    assert "--mem-per-cpu 100M" in script and "--cpus-per-task 2" in script and "--array=1-2" in script
    assert not list((tmp_path / "exp/q").glob("done.*"))
    print(f"slurm.pl JOB=1:2 took {took:.1f} s")


def test_slurm_pl_failed_task(slurm_cluster: dict, tmp_path: Path) -> None:
    cmd = "echo out JOB; if [ JOB = 2 ]; then echo broken JOB >&2; exit 4; fi"
    p = _slurm_pl(["--max-jobs-run", "1", "JOB=1:2", "log/f.JOB.log", cmd], tmp_path, slurm_cluster)
    assert p.returncode == 1
    assert "slurm.pl: 1 / 2 failed, log is in log/f.*.log" in p.stderr
    assert "job 2 exited with code 4: log/f.2.log" in p.stderr
    assert "    out 2\n    broken 2\n" in p.stderr
    assert "# Ended (code 4) at" in (tmp_path / "log/f.2.log").read_text()
    assert "# Ended (code 0) at" in (tmp_path / "log/f.1.log").read_text()
    assert "--array=1-2%1" in (tmp_path / "log/q/f.sh").read_text()  # a log/ not named log/... q
    # single (non-array) job
    p = _slurm_pl(["one.log", "echo", "single"], tmp_path, slurm_cluster)
    assert p.returncode == 0, p.stderr
    assert "\nsingle\n" in (tmp_path / "one.log").read_text()


def test_slurm_task_killed_by_slurm_is_reported(slurm_cluster: dict, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A task that dies without writing its exit status (scancel here; a time limit or node
    failure alike) is reported as failed once squeue no longer lists the job."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SLURM_CONF", slurm_cluster["SLURM_CONF"])

    def cancel_when_running() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if (tmp_path / "started").exists():
                q = subprocess.run(["squeue", "-h", "-o", "%A"], capture_output=True, text=True)
                for jid in set(q.stdout.split()):
                    subprocess.run(["scancel", jid], capture_output=True)
                return
            time.sleep(0.1)

    t = threading.Thread(target=cancel_when_running)
    t.start()
    res = run_slurm("touch started; sleep 60", "log/k.JOB.log", [1], "JOB",
                    squeue_every=0.5, lost_grace=1.0)
    t.join()
    assert len(res) == 1 and res[0].returncode is None and not res[0].ok
    assert "ended without it finishing" in res[0].note


def test_sigterm_cancels_slurm_job(slurm_cluster: dict, tmp_path: Path) -> None:
    env = slurm_cluster
    p = subprocess.Popen([SLURM_PL, "JOB=1:2", "log/t.JOB.log", "touch started.JOB; sleep 60"],
                         cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not (tmp_path / "started.1").exists():
        assert time.monotonic() < deadline and p.poll() is None, "job did not start"
        time.sleep(0.1)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=30)
    assert p.returncode == 128 + signal.SIGTERM, err
    assert "cancelled Slurm job" in err
    deadline = time.monotonic() + 15
    while True:
        q = subprocess.run(["squeue", "-h", "-o", "%i %T"], env=env, capture_output=True, text=True)
        if not q.stdout.strip():
            break
        assert time.monotonic() < deadline, f"job still queued after SIGTERM: {q.stdout}"
        time.sleep(0.2)
