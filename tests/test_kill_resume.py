"""Kill-and-resume of GMM training: a run of steps/train_mono.sh killed at any point (SIGKILL or
SIGTERM of its process group) and started again with ``--stage N`` (N = the last iteration whose
``N.mdl`` exists: the script's restart semantics) ends with a final.mdl byte-identical to an
uninterrupted run's, and a kill never leaves a half-written file under a final name.

The same for steps/train_deltas.sh (a triphone system: tree building, then EM).

Also: ``write_model`` refuses a model holding NaN/inf, and what signals to run.pl do to its jobs:
a SIGKILL of its process group kills them (they share it, as Kaldi's do); a SIGTERM of run.pl
alone kills every job and the job's descendants (SIGKILL after the grace period for a job that
ignores SIGTERM); a SIGKILL of run.pl alone kills a job that is one program (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from hybrid.gmm import GmmAccs, read_model
from hybrid.gmm.model import write_model
from hybrid.io import read_ali_ark

from test_train_mono import _make_data, _make_lang, _run

REPO = Path(__file__).resolve().parent.parent
NUM_ITERS = 6
REALIGN = "1 2 4"  # the last realignment is iteration 4: ali.JOB.gz of the final model come from 4.mdl
TRAIN = (f"steps/train_mono.sh --nj 2 --num-iters {NUM_ITERS} --max-iter-inc 4 --totgauss 60 "
         f"--realign-iters '{REALIGN}'")


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _ali_md5(path: Path) -> str:
    """md5 of the decompressed archive (the gzip header holds the temp name and mtime, so the .gz
    bytes of two identical runs differ)."""
    with gzip.open(path, "rb") as f:
        return hashlib.md5(f.read()).hexdigest()


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{REPO / '.venv' / 'bin'}:{REPO / 'utils'}:{env['PATH']}"
    env["LC_ALL"] = "C"
    return env


def _procs_in(cwd: Path) -> dict[int, str]:
    """pid → command line of the live processes (not zombies) whose working directory is ``cwd``."""
    out = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            if Path(os.readlink(d / "cwd")) != cwd:
                continue
            if (d / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue
            out[int(d.name)] = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (FileNotFoundError, ProcessLookupError, PermissionError, IndexError):
            continue
    return out


def _running(cwd: Path, prog: str) -> dict[int, str]:
    """The processes in ``cwd`` that run ``prog`` (a command line starting with it)."""
    return {pid: c for pid, c in _procs_in(cwd).items() if c.startswith(prog)}


def _kill_left(cwd: Path) -> dict[int, str]:
    """SIGKILL (by pid) what is still running in ``cwd`` (processes this test started), until
    nothing is left; return what was found."""
    found: dict[int, str] = {}
    deadline = time.monotonic() + 10
    while (left := _procs_in(cwd)) and time.monotonic() < deadline:
        found.update(left)
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.05)
    assert not _procs_in(cwd), f"could not kill {_procs_in(cwd)}"
    return found


def _assert_nothing_left(cwd: Path, wait: float = 5.0) -> None:
    """Nothing this test started still runs in ``cwd`` (after a kill of a whole process group)."""
    deadline = time.monotonic() + wait
    while _procs_in(cwd) and time.monotonic() < deadline:
        time.sleep(0.02)
    left = _kill_left(cwd)
    assert not left, f"processes survived a SIGKILL of their process group: {left}"


def _start_and_kill(cmd: str, cwd: Path, trigger: Path, sig: int, timeout: float = 200.0) -> None:
    """Run ``cmd`` in its own session; send ``sig`` to its process group as soon as ``trigger`` exists."""
    _start_and_kill_when(cmd, cwd, trigger.exists, sig, watch=None, timeout=timeout)


def _check_complete(exp: Path, sdata: Path, num_pdfs: int | None = None) -> int:
    """Every file of a killed training script under a final name in ``exp`` parses and is whole (no
    final.*; models with ``num_pdfs`` pdfs when given); return the last iteration N with N.mdl."""
    assert not list(exp.glob("final.*")), "final.* exists after a kill mid-training"
    iters = []
    for f in sorted(exp.iterdir()):
        if f.name.startswith(".") or f.is_dir():
            continue  # temporary names (atomic writes): allowed to remain after a kill
        if f.suffix == ".mdl":
            tm, am = read_model(f)  # a truncated model does not parse
            assert am.num_pdfs == tm.num_pdfs > 0, f
            assert num_pdfs is None or am.num_pdfs == num_pdfs, f
            iters.append(int(f.stem))
        elif f.name.startswith("ali.") and f.name.endswith(".gz"):
            job = f.name.split(".")[1]
            utts = {line.split()[0] for line in (sdata / job / "utt2spk").read_text().splitlines()}
            assert set(read_ali_ark(f)) == utts, f"{f}: not the alignments of every utterance of job {job}"
        elif f.name.startswith("fsts.") and f.suffix == ".npz":
            with np.load(f) as z:
                assert len(z.files) > 0, f
        elif f.suffix == ".acc":
            GmmAccs.read(f)
        elif f.suffix == ".occs":
            np.array(f.read_text().strip(" []\n").split(), dtype=np.float64)
    assert iters, f"no model in {exp}"
    return max(iters)


@contextlib.contextmanager
def _run_pl(cwd: Path, *args: str, pipe: bool = False):
    """run.pl ``args`` in its own session in ``cwd`` (stdout/stderr piped as text when ``pipe``); on exit
    its group is SIGKILLed if still running and any job process left is killed."""
    out = subprocess.PIPE if pipe else subprocess.DEVNULL
    p = subprocess.Popen(["run.pl", *args], cwd=cwd, env=_env(), stdout=out, stderr=out, text=pipe,
                         start_new_session=True)
    try:
        yield p
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        _kill_left(cwd)


@pytest.mark.slow
def test_train_mono_killed_and_resumed_gives_identical_model(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "steps").symlink_to(REPO / "steps")
    (tmp_path / "utils").symlink_to(REPO / "utils")
    _make_lang(tmp_path / "data" / "lang")
    _make_data(tmp_path / "data" / "train", rng)
    # the interrupted run trains on a copy whose split was cut short by an earlier kill
    # (split2/1 has only part of its files, and is newer than feats.scp): it must split again
    shutil.copytree(tmp_path / "data" / "train", tmp_path / "data" / "train_b")
    part = tmp_path / "data" / "train_b" / "split2" / "1"
    part.mkdir(parents=True)
    (part / "feats.scp").write_text((tmp_path / "data" / "train_b" / "feats.scp").read_text().splitlines()[0] + "\n")

    # 1. uninterrupted reference
    _run(f"{TRAIN} data/train data/lang exp/ref", tmp_path)
    ref = tmp_path / "exp" / "ref"
    ref_final = _md5(ref / "final.mdl")
    ref_ali = {j: _ali_md5(ref / f"ali.{j}.gz") for j in (1, 2)}
    assert _md5(ref / f"{NUM_ITERS}.mdl") == ref_final

    # 2. SIGKILL of the whole process group as soon as 3.mdl appears (iteration 3 starts)
    exp = tmp_path / "exp" / "b"
    cmd = f"{TRAIN} data/train_b data/lang exp/b"
    sdata = tmp_path / "data" / "train_b" / "split2"
    _start_and_kill(cmd, tmp_path, exp / "3.mdl", signal.SIGKILL)
    # run.pl's jobs share the script's process group: the SIGKILL reached them too
    _assert_nothing_left(tmp_path)
    n = _check_complete(exp, sdata)
    assert n >= 3
    before = {k: (exp / f"{k}.mdl").stat().st_mtime_ns for k in range(n + 1)}

    # 3. resume from stage N; then SIGTERM it during the realignment of iteration 4
    _start_and_kill(f"{cmd.replace('steps/train_mono.sh', f'steps/train_mono.sh --stage {n}')}", tmp_path,
                    exp / "4.mdl", signal.SIGTERM)
    # SIGTERM reaches run.pl, which kills its jobs (SIGTERM, then SIGKILL after 3 s)
    deadline = time.monotonic() + 10
    while _procs_in(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = _kill_left(tmp_path)
    assert not left, f"processes still running 10 s after SIGTERM: {left}"
    m = _check_complete(exp, sdata)
    assert m >= 4
    # training resumed from N: the models up to N were not rewritten
    assert {k: (exp / f"{k}.mdl").stat().st_mtime_ns for k in range(n + 1)} == before

    # 4. resume again and finish
    _run(f"{cmd.replace('steps/train_mono.sh', f'steps/train_mono.sh --stage {m}')}", tmp_path)
    assert _md5(exp / "final.mdl") == ref_final, "final.mdl differs from the uninterrupted run's"
    assert {j: _ali_md5(exp / f"ali.{j}.gz") for j in (1, 2)} == ref_ali
    assert {k: (exp / f"{k}.mdl").stat().st_mtime_ns for k in range(n + 1)} == before
    for k in range(NUM_ITERS + 1):
        assert _md5(exp / f"{k}.mdl") == _md5(ref / f"{k}.mdl"), f"{k}.mdl differs"
    assert not list(exp.glob("*.acc")), "accumulators left behind"


def test_sigkill_of_run_pl_group_reaches_jobs(tmp_path):
    """run.pl's jobs die with it when its process group is SIGKILLed (as Kaldi's do)."""
    with _run_pl(tmp_path, "JOB=1:2", "log/s.JOB.log", "sleep", "37.25") as p:
        deadline = time.monotonic() + 20
        while len(_running(tmp_path, "sleep 37.25")) < 2:
            assert time.monotonic() < deadline, "run.pl did not start its jobs"
            time.sleep(0.02)
        os.killpg(p.pid, signal.SIGKILL)
        p.wait(timeout=10)
        time.sleep(0.3)
        left = {pid: c for pid, c in _procs_in(tmp_path).items() if "sleep 37.25" in c}
        assert not left, f"jobs survived a SIGKILL of run.pl's process group: {left}"


# ---------------------------------------------------------------- triphones: steps/train_deltas.sh
TRI_ITERS = 3
TRI = f"steps/train_deltas.sh --num-iters {TRI_ITERS} --max-iter-inc 2 --realign-iters 2"
TRI_ARGS = "24 80 data/train data/lang exp/mono_ali"


def _start_and_kill_when(cmd: str, cwd: Path, ready, sig: int, watch: Path | None, timeout: float = 200.0) -> None:
    """Run ``cmd`` in its own session and send ``sig`` to its process group once ``ready()``;
    meanwhile no file named ``final.*`` may appear in ``watch`` (when given)."""
    p = subprocess.Popen(["bash", "-c", cmd], cwd=cwd, env=_env(), stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + timeout
    try:
        while not ready():
            early = sorted(f.name for f in watch.glob("final.*")) if watch is not None and watch.is_dir() else []
            assert not early, f"{early} appeared in {watch} before training ended"
            if p.poll() is not None:
                out = p.stdout.read().decode(errors="replace")
                pytest.fail(f"{cmd} ended (rc {p.returncode}) before the kill point:\n{out[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"the kill point was not reached within {timeout} s")
            time.sleep(0.005)
        os.killpg(p.pid, sig)
        p.wait(timeout=30)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        p.stdout.close()


def _check_complete_tri(exp: Path, sdata: Path) -> int:
    """:func:`_check_complete` for train_deltas.sh: every model has the tree's number of pdfs."""
    from hybrid.tree.context_dependency import read_tree

    return _check_complete(exp, sdata, read_tree(exp / "tree").num_pdfs)


@pytest.mark.slow
def test_train_deltas_killed_and_resumed_gives_identical_model(tmp_path):
    """SIGKILL of the whole process group while the realignment of iteration 2 is half done (one
    job's ali.JOB.gz rewritten, maybe the other not), restart with --stage N (N.mdl the last
    model): final.mdl, final.occs, the alignments and every N.mdl equal an uninterrupted run's."""
    from test_train_deltas import make_corpus, make_lang

    (tmp_path / "steps").symlink_to(REPO / "steps")
    (tmp_path / "utils").symlink_to(REPO / "utils")
    make_lang(tmp_path / "data" / "lang")
    make_corpus(tmp_path, np.random.default_rng(1), n_utts=30)
    sdata = tmp_path / "data" / "train" / "split2"

    _run(f"{TRI} {TRI_ARGS} exp/ref", tmp_path)
    ref = tmp_path / "exp" / "ref"
    assert _md5(ref / f"{TRI_ITERS}.mdl") == _md5(ref / "final.mdl")
    assert not list(ref.glob(".*")), "temporary files left behind"

    exp = tmp_path / "exp" / "b"
    cmd = f"{TRI} {TRI_ARGS} exp/b"
    converted: dict[int, int] = {}

    def realigning() -> bool:
        """True once one job of the realignment of iteration 2 renamed its ali.JOB.gz."""
        if not (exp / "log" / "align.2.1.log").exists():
            if (exp / "ali.1.gz").exists() and (exp / "ali.2.gz").exists():
                converted.update({j: (exp / f"ali.{j}.gz").stat().st_mtime_ns for j in (1, 2)})
            return False
        assert converted, "the converted alignments were not seen before the realignment"
        return any((exp / f"ali.{j}.gz").stat().st_mtime_ns != converted[j] for j in (1, 2))

    _start_and_kill_when(cmd, tmp_path, realigning, signal.SIGKILL, exp)
    _assert_nothing_left(tmp_path)
    n = _check_complete_tri(exp, sdata)
    assert n == 2, n
    before = {k: (exp / f"{k}.mdl").stat().st_mtime_ns for k in range(1, n + 1)}
    tree = _md5(exp / "tree")

    _run(cmd.replace("train_deltas.sh", f"train_deltas.sh --stage {n}"), tmp_path)
    for name in ("final.mdl", "final.occs", "tree", *(f"{k}.mdl" for k in range(1, TRI_ITERS + 1))):
        assert _md5(exp / name) == _md5(ref / name), f"{name} differs from the uninterrupted run's"
    assert {j: _ali_md5(exp / f"ali.{j}.gz") for j in (1, 2)} == {j: _ali_md5(ref / f"ali.{j}.gz") for j in (1, 2)}
    assert {k: (exp / f"{k}.mdl").stat().st_mtime_ns for k in range(1, n + 1)} == before, "models rewritten"
    assert _md5(exp / "tree") == tree
    assert not list(exp.glob("*.acc")), "accumulators left behind"


def _wait_for(pred, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def _descendants(pid: int) -> set[int]:
    """The live (not zombie) descendants of ``pid``, through the parent links in /proc."""
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                f = (d / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if f[0] != "Z":
                children.setdefault(int(f[1]), []).append(int(d.name))
    out, todo = set(), [pid]
    while todo:
        for c in children.get(todo.pop(), ()):
            out.add(c)
            todo.append(c)
    return out


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_sigterm_of_run_pl_alone_kills_jobs_and_their_descendants(tmp_path):
    """SIGTERM to run.pl's pid only (not its group): each job's bash and the processes of its
    pipeline (children and grandchildren) are terminated; a job that ignores SIGTERM is SIGKILLed
    after the grace period (3 s); the queued job never starts; run.pl exits 143."""
    cmd = ("if [ JOB = 2 ]; then trap '' TERM; fi; echo $$ > pid.JOB; "
           "sleep 37.5 | ( sleep 37.75 | cat ); echo survived > after.JOB")
    with _run_pl(tmp_path, "--max-jobs-run", "2", "JOB=1:3", "log/t.JOB.log", cmd, pipe=True) as p:
        _wait_for(lambda: len(_running(tmp_path, "sleep 37.75")) == 2
                  and all((tmp_path / f"pid.{j}").is_file() for j in (1, 2)), "jobs did not start")
        jobs = [int((tmp_path / f"pid.{j}").read_text()) for j in (1, 2)]
        tree = {j: _descendants(pid) for j, pid in zip((1, 2), jobs)}
        assert all(len(t) >= 4 for t in tree.values()), tree  # sleep, subshell, sleep, cat
        start = time.monotonic()
        p.send_signal(signal.SIGTERM)  # run.pl only
        _, err = p.communicate(timeout=20)
        took = time.monotonic() - start
        assert p.returncode == 128 + signal.SIGTERM, err
        assert "interrupted by signal 15" in err, err
        left = {pid: c for pid, c in _procs_in(tmp_path).items() if "37." in c}  # bash, sleep, cat
        assert not left, f"job processes survived: {left}"
        assert 2.5 <= took < 10, took  # job 2 ignores SIGTERM: killed after the grace period
        assert "# Ended (code 143; signal 15) at" in (tmp_path / "log/t.1.log").read_text()
        assert "# Ended (code 137; signal 9) at" in (tmp_path / "log/t.2.log").read_text()
        assert not (tmp_path / "pid.3").exists(), "the queued job was started"
        assert not (tmp_path / "after.1").exists() and not (tmp_path / "after.2").exists()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_sigterm_of_run_pl_kills_quickly_when_jobs_obey(tmp_path):
    """Jobs that end on SIGTERM are not waited for until the grace period is over."""
    with _run_pl(tmp_path, "JOB=1:2", "log/q.JOB.log", "sleep 37.25 | cat") as p:
        _wait_for(lambda: len(_running(tmp_path, "sleep 37.25")) == 2,
                  "jobs did not start")
        start = time.monotonic()
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=10)
        assert time.monotonic() - start < 2.0
        assert p.returncode == 128 + signal.SIGTERM
        assert not {pid: c for pid, c in _procs_in(tmp_path).items() if "37.25" in c}


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_sigkill_of_run_pl_alone_kills_single_program_jobs(tmp_path):
    """PR_SET_PDEATHSIG: a job that is one program (bash execs it) dies when run.pl is SIGKILLed,
    even though the signal went to run.pl's pid only."""
    with _run_pl(tmp_path, "JOB=1:2", "log/d.JOB.log", "sleep", "37.125") as p:
        _wait_for(lambda: len(_running(tmp_path, "sleep 37.125")) == 2,
                  "run.pl did not start its jobs")
        os.kill(p.pid, signal.SIGKILL)
        p.wait(timeout=10)
        _wait_for(lambda: not _running(tmp_path, "sleep 37.125"),
                  f"jobs survived a SIGKILL of run.pl: {_procs_in(tmp_path)}", timeout=5)


# ---------------------------------------------------------------- write_model refuses NaN/inf
def _tiny_model():
    from hybrid.gmm import init_mono
    from hybrid.hmm import Topology
    from test_align import TOPO

    _, tm, am = init_mono(Topology.parse(TOPO), 3, [[1], [2, 3], [4], [5], [6], [7], [8], [9]])
    return tm, am


@pytest.mark.parametrize("where,value", [
    ("means_invvars", np.nan), ("inv_vars", np.inf), ("weights", np.nan), ("means_invvars", -np.inf),
    ("inv_vars", 1e39),  # finite in float64, inf once written as float32
    ("log_probs", np.nan), ("log_probs", np.inf),
])
def test_write_model_refuses_nan_inf(tmp_path, where, value):
    tm, am = _tiny_model()
    path = tmp_path / "1.mdl"
    write_model(path, tm, am)
    good = path.read_bytes()
    if where == "log_probs":
        tm.log_probs[3] = value
    else:
        getattr(am.pdfs[2], where).flat[-1] = value  # written as it is: gconsts are not recomputed
    with pytest.raises(ValueError) as e:
        write_model(path, tm, am)
    msg = str(e.value)
    assert str(path) in msg and "NaN/inf" in msg, msg
    assert ("pdf 2" in msg) if where != "log_probs" else ("LogProbs" in msg), msg
    assert path.read_bytes() == good, "the old model was touched"
    assert [f.name for f in tmp_path.iterdir()] == ["1.mdl"], "temporary file left behind"
    with pytest.raises(ValueError):
        write_model(tmp_path / "2.mdl", tm, am)
    assert not (tmp_path / "2.mdl").exists()


def test_write_model_refuses_zero_weight_gaussian(tmp_path):
    """A zero-weight Gaussian has a −inf gconst: refused with the path and the pdf named (the text
    writer cannot write −inf; without the check this was an OverflowError deep in the formatter)."""
    tm, am = _tiny_model()
    g = am.pdfs[0]
    g.weights = np.array([1.0, 0.0])
    g.means_invvars = np.vstack([g.means_invvars, g.means_invvars])
    g.inv_vars = np.vstack([g.inv_vars, g.inv_vars])
    assert g.compute_gconsts() == 1 and np.isneginf(g.gconsts[1])
    am.invalidate()
    with pytest.raises(ValueError, match=r"z\.mdl: refusing .*pdf 0 <GCONSTS> has 1 non-finite value.*index \(1,\)"):
        write_model(tmp_path / "z.mdl", tm, am)
    assert not list(tmp_path.iterdir())
