"""TDNN: egs pipeline (frames, labels, context padding), schedules, model shapes, semi-orthogonal
constraint, overfitting + logs + plot, kill-and-resume, nnet-compute, speed perturbation."""

from __future__ import annotations

import logging
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from hybrid.cli import main
from hybrid.hmm import Topology, TransitionModel
from hybrid.io import read_table, write_ali_ark, write_mats_ark_scp
from hybrid.nnet.data import ChunkDataset, EgsSet, MinibatchSchedule, prepare_egs
from hybrid.nnet.model import TdnnConfig, build_model, constrain_orthonormal_, dropout_at, parse_dropout_schedule
from hybrid.nnet.train import TrainOptions, learning_rate, load_checkpoint, train
from hybrid.tree import monophone_context_dependency_shared

TOPO = (Path(__file__).parent / "fixtures" / "topo_small.txt").read_text()
DIM = 8
torch.set_num_threads(1)  # the test machine is small and shared
KALDI_RE = re.compile(r"Overall ([a-zA-Z\-]+) for 'output'.*is ([0-9.\-e]+) .*per frame")


def _tm() -> TransitionModel:
    topo = Topology.parse(TOPO)
    ctx = monophone_context_dependency_shared([[p] for p in topo.phones], {p: topo.num_pdf_classes(p) for p in topo.phones})
    return TransitionModel.from_context_dependency(topo, ctx)


def _random_alignment(tm: TransitionModel, rng: np.random.Generator, num_phones: int) -> tuple[list[int], list[int]]:
    """Transition-ids of a left-to-right path through random phones, and the pdf of each frame
    (taken from the tuples, independently of tid2pdf)."""
    tids, pdfs = [], []
    phones = [1] + list(rng.integers(2, 10, size=num_phones)) + [1]
    for ph in phones:
        n_states = 5 if ph == 1 else 3
        for s in range(n_states):
            k = next(k for k, t in enumerate(tm.tuples) if t.phone == ph and t.hmm_state == s)
            ts = k + 1
            fwd = next(t for t in tm.tstate_tids(ts) if tm.tid2dst[t] == s + 1)
            loop = tm.self_loop_tid(ts)
            d = int(rng.integers(1, 5))
            tids += [fwd] + [loop] * (d - 1)
            pdfs += [tm.tuples[k].forward_pdf] * d
    return tids, pdfs


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """data/ (feats.scp, cmvn.scp, utt2spk) and ali/ (final.mdl, ali.1.gz) for 4 speakers; one
    extra utterance has no alignment."""
    root = tmp_path_factory.mktemp("nnet")
    tm = _tm()
    rng = np.random.default_rng(0)
    means = rng.normal(0, 1.0, size=(tm.num_pdfs, DIM)).astype(np.float32)
    feats, alis, labels, utt2spk = {}, {}, {}, {}
    for s in range(4):
        spk = f"spk{s}"
        offset = rng.normal(0, 3.0, size=DIM).astype(np.float32)  # speaker shift, removed by CMVN
        for u in range(3):
            utt = f"{spk}-u{u}"
            tids, pdfs = _random_alignment(tm, rng, 6 + u)
            f = means[pdfs] + 0.05 * rng.normal(size=(len(pdfs), DIM)).astype(np.float32) + offset
            feats[utt], alis[utt], labels[utt], utt2spk[utt] = f.astype(np.float32), tids, np.array(pdfs), spk
    feats["spk3-zz-noali"] = rng.normal(size=(30, DIM)).astype(np.float32)
    utt2spk["spk3-zz-noali"] = "spk3"
    data, ali = root / "data", root / "ali"
    data.mkdir()
    ali.mkdir()
    keys = sorted(feats)
    write_mats_ark_scp(((k, feats[k]) for k in keys), data / "feats.ark", data / "feats.scp")
    spk_stats = {}
    for k in keys:
        st = spk_stats.setdefault(utt2spk[k], np.zeros((2, DIM + 1)))
        st[0, :DIM] += feats[k].sum(0)
        st[0, DIM] += len(feats[k])
        st[1, :DIM] += (feats[k].astype(np.float64) ** 2).sum(0)
    write_mats_ark_scp(sorted(spk_stats.items()), data / "cmvn.ark", data / "cmvn.scp")
    (data / "utt2spk").write_text("".join(f"{k} {utt2spk[k]}\n" for k in keys))
    (ali / "final.mdl").write_text(tm.to_text())
    write_ali_ark({k: np.array(v, dtype=np.int32) for k, v in sorted(alis.items())}, ali / "ali.1.gz")
    cmvn = {k: feats[k] - spk_stats[utt2spk[k]][0, :DIM] / spk_stats[utt2spk[k]][0, DIM] for k in keys}
    return {"root": root, "data": data, "ali": ali, "labels": labels, "cmvn_feats": cmvn, "utt2spk": utt2spk,
            "num_pdfs": tm.num_pdfs}


@pytest.fixture(scope="module")
def egs(corpus):
    return corpus["root"] / "egs", prepare_egs(corpus["data"], corpus["ali"], corpus["root"] / "egs",
                                               num_utts_subset=3, valid_fraction=0.25, seed=1)


def test_egs_subsets_and_skips(corpus, egs, caplog):
    egs_dir, info = egs
    assert info["num_pdfs"] == corpus["num_pdfs"] and info["feat_dim"] == DIM
    assert info["num_skipped"] == 1
    sets = {n: EgsSet.load(egs_dir / n) for n in ("train", "valid", "train_diag")}
    spk = corpus["utt2spk"]
    valid_spk = {spk[u] for u in sets["valid"].utts}
    assert valid_spk and not valid_spk & {spk[u] for u in sets["train"].utts}  # speaker-disjoint
    assert set(sets["train_diag"].utts) <= set(sets["train"].utts)
    assert len(sets["train"].utts) + len(sets["valid"].utts) == 12
    # the skipped utterance is reported by name
    with caplog.at_level(logging.WARNING):
        prepare_egs(corpus["data"], corpus["ali"], corpus["root"] / "egs2", num_utts_subset=3, valid_fraction=0.25)
    assert "spk3-zz-noali" in caplog.text


@pytest.mark.parametrize("chunk,lc,rc", [(16, 3, 2), (150, 13, 13), (7, 0, 5)])
def test_chunks_reproduce_frames_and_labels(corpus, egs, chunk, lc, rc):
    egs_dir, _ = egs
    tr = EgsSet.load(egs_dir / "train")
    ds = ChunkDataset(tr, chunk, lc, rc)
    for ui in (0, len(tr.utts) - 1):
        utt = tr.utts[ui]
        ref_x = corpus["cmvn_feats"][utt]
        ref_y = corpus["labels"][utt]
        idx = np.flatnonzero(ds.chunk_utt == ui)
        x, y = ds[idx]
        T = len(ref_y)
        assert len(idx) == math.ceil(T / chunk)
        padded = np.pad(ref_x, ((lc, rc + chunk * len(idx) - T), (0, 0)), mode="edge")
        for j, s in enumerate(ds.chunk_start[idx]):
            np.testing.assert_allclose(x[j].numpy(), padded[s: s + chunk + lc + rc], atol=1e-5)
        yy = y.numpy().reshape(-1)
        np.testing.assert_array_equal(yy[:T], ref_y)
        assert (yy[T:] == -100).all()


def test_minibatch_schedule_epochs_and_ranks():
    s = MinibatchSchedule(num_chunks=50, global_batch=8, num_epochs=2, seed=3)
    assert s.num_batches == math.ceil(100 / 8)
    stream = np.concatenate([s.batch(k) for k in range(s.num_batches)])
    np.testing.assert_array_equal(np.sort(stream[:50]), np.arange(50))
    np.testing.assert_array_equal(np.sort(stream[50:100]), np.arange(50))
    assert not np.array_equal(stream[:50], stream[50:100])
    np.testing.assert_array_equal(np.concatenate([s.batch(5, r, 2) for r in range(2)]), s.batch(5))
    s2 = MinibatchSchedule(num_chunks=50, global_batch=8, num_epochs=2, seed=3)
    np.testing.assert_array_equal(s2.batch(7), s.batch(7))  # enter the stream anywhere


def test_schedules():
    # Kaldi's example: 0 until 20 %, up to 0.5 at 50 %, back to 0 at the end
    sch = parse_dropout_schedule("0,0@0.20,0.5@0.50,0")
    assert dropout_at(sch, 0.1)["*"] == 0.0
    assert dropout_at(sch, 0.35)["*"] == pytest.approx(0.25)
    assert dropout_at(sch, 0.5)["*"] == pytest.approx(0.5)
    assert dropout_at(sch, 0.75)["*"] == pytest.approx(0.25)
    assert dropout_at("tdnnf*=0.3", 0.9) == {"tdnnf*": 0.3}
    with pytest.raises(ValueError):
        parse_dropout_schedule("0,0.5@0.6,0.2@0.3,0")
    assert learning_rate(0, 10, 2, 1e-3, 1e-4) == pytest.approx(2e-3)
    assert learning_rate(10, 10, 2, 1e-3, 1e-4) == pytest.approx(2e-4)
    assert learning_rate(5, 10, 1, 1e-3, 1e-4) == pytest.approx(1e-3 * math.sqrt(0.1))


@pytest.mark.parametrize("cfg", [TdnnConfig(feat_dim=DIM, num_pdfs=11, hidden_dim=32),
                                 TdnnConfig(feat_dim=DIM, num_pdfs=11, hidden_dim=32, splices="-1,0,1",
                                            time_strides="1,0,3", bottleneck_dim=8, prefinal_bottleneck_dim=12),
                                 TdnnConfig(feat_dim=DIM, num_pdfs=11, hidden_dim=16, splices="-4,-1,0,2 0")])
def test_context_matches_receptive_field(cfg):
    torch.manual_seed(0)
    m = build_model(cfg).eval()
    T = 10
    x = torch.randn(2, T + m.left_context + m.right_context, DIM)
    assert m(x).shape == (2, T, 11)
    with torch.no_grad():  # perturbing a frame just outside the context leaves output frame 0 alone
        m.output.weight.normal_()
        y0 = m(x)[:, 0]
        x2 = x.clone()
        x2[:, m.left_context + m.right_context + 1:] += 10.0
        torch.testing.assert_close(m(x2)[:, 0], y0)
        x3 = x.clone()
        x3[:, m.left_context + m.right_context] += 10.0
        assert not torch.allclose(m(x3)[:, 0], y0)


def test_semi_orthogonal_constraint_converges():
    torch.manual_seed(0)
    for shape in ((20, 60), (60, 20)):
        M = torch.randn(*shape) * 0.3
        for _ in range(40):
            constrain_orthonormal_(M)
        A = M if shape[0] <= shape[1] else M.t()
        P = A @ A.t()
        s2 = float(torch.trace(P) / P.shape[0])
        torch.testing.assert_close(P, s2 * torch.eye(P.shape[0]), atol=1e-4 * s2, rtol=0)


def _opts(**kw) -> TrainOptions:
    base = dict(num_epochs=15, initial_effective_lrate=0.01, final_effective_lrate=0.002, minibatch_size=4,
                chunk_width=16, frames_per_iter=640, num_workers=0, max_models_combine=3, seed=5)
    base.update(kw)
    return TrainOptions(**base)


TINY = dict(hidden_dim=48, splices="-1,0,1 -1,0,1 -2,0,2")
TINYF = dict(hidden_dim=48, splices="-1,0,1", time_strides="1,0,2", bottleneck_dim=12, prefinal_bottleneck_dim=16)


def test_tiny_tdnn_overfits_and_logs_show_it(egs, tmp_path):
    egs_dir, _ = egs
    d = tmp_path / "tdnn"
    summary = train(egs_dir, d, TdnnConfig(**TINY), _opts())
    assert summary["finished"]
    final = (d / "log" / "compute_prob_train.final.log").read_text()
    vals = dict(KALDI_RE.findall(final))
    assert float(vals["accuracy"]) >= 0.99
    assert float(vals["log-likelihood"]) > -0.1
    first = dict(KALDI_RE.findall((d / "log" / "compute_prob_train.0.log").read_text()))
    assert float(first["accuracy"]) < 0.5  # it learned something
    assert (d / "final.pt").exists() and (d / "log" / "train.0.log").exists()
    assert "Overall average objective function for 'output'" in (d / "log" / "train.0.log").read_text()
    ck = load_checkpoint(d / "final.pt")
    assert ck["log_priors"].shape == (egs[1]["num_pdfs"],)

    # plot-accuracy: tsv reproduces the log values, png is written
    r = CliRunner().invoke(main, ["plot-accuracy", "--format", "tsv", str(d)])
    assert r.exit_code == 0, r.output
    rows = [line.split("\t") for line in r.output.strip().splitlines()[1:]]
    fin = [row for row in rows if row[1] == "train" and row[2] == "final"][0]
    assert float(fin[4]) == pytest.approx(float(vals["accuracy"]))
    assert float(fin[3]) == pytest.approx(float(vals["log-likelihood"]))
    assert {row[1] for row in rows} == {"train", "valid"}
    png = tmp_path / "acc.png"
    r = CliRunner().invoke(main, ["plot-accuracy", "--out", str(png), str(d)])
    assert r.exit_code == 0, r.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # nnet-compute: log-likelihoods = log-softmax - log-priors, one row per frame
    ark = tmp_path / "loglikes.ark"
    data = egs[1]["data_dir"]
    r = CliRunner().invoke(main, ["nnet-compute", str(d / "final.pt"), data, f"ark:{ark}"])
    assert r.exit_code == 0, r.output
    ll = read_table(ark)
    feats = read_table(Path(data) / "feats.scp")
    assert set(ll) == set(feats)
    lp = ck["log_priors"].numpy()
    for k, v in ll.items():
        assert v.shape == (len(feats[k]), len(lp))
        np.testing.assert_allclose(np.logaddexp.reduce(v + lp, axis=1), 0.0, atol=1e-4)


def test_tdnnf_trains_and_stays_semi_orthogonal(egs, tmp_path):
    egs_dir, _ = egs
    d = tmp_path / "tdnnf"
    train(egs_dir, d, TdnnConfig(**TINYF), _opts(num_epochs=8, dropout_schedule="0,0@0.2,0.3@0.5,0"))
    m = build_model(load_checkpoint(d / "final.pt")["config"])
    m.load_state_dict(load_checkpoint(d / "final.pt")["model"])
    for mod in m.semi_orth_modules():
        w = mod.conv.weight.detach()
        M = w.reshape(w.shape[0], -1)
        A = M if M.shape[0] <= M.shape[1] else M.t()
        P = A @ A.t()
        s2 = float(torch.trace(P)) / P.shape[0]
        assert float(torch.linalg.matrix_norm(P - s2 * torch.eye(P.shape[0]))) < 0.1 * s2 * math.sqrt(P.shape[0])
    acc = dict(KALDI_RE.findall((d / "log" / "compute_prob_train.final.log").read_text()))["accuracy"]
    assert float(acc) > 0.5


def test_kill_and_resume_reproduces_uninterrupted_run(egs, tmp_path):
    egs_dir, _ = egs
    opts = dict(num_epochs=6, dropout_schedule="0,0.2,0")
    a, b = tmp_path / "a", tmp_path / "b"
    train(egs_dir, a, TdnnConfig(**TINYF), _opts(**opts))
    s1 = train(egs_dir, b, TdnnConfig(**TINYF), _opts(max_iters_this_run=2, **opts))
    assert not s1["finished"] and not (b / "final.pt").exists()
    assert s1["iter"] == 2 and (b / "2.pt").exists()
    (b / ".3.pt.half.tmp").write_bytes(b"garbage")  # a half-written checkpoint is never picked up
    s2 = train(egs_dir, b, TdnnConfig(**TINYF), _opts(**opts))
    assert s2["finished"]
    fa, fb = load_checkpoint(a / "final.pt")["model"], load_checkpoint(b / "final.pt")["model"]
    for k in fa:
        torch.testing.assert_close(fa[k], fb[k], rtol=1e-5, atol=1e-6)


def test_perturb_data_dir_speed_3way(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "wav.scp").write_text("r1 /x/r1.wav\nr2 sph2pipe -f wav /x/r2.sph |\n")
    (src / "utt2spk").write_text("r1 s1\nr2 s1\n")
    (src / "text").write_text("r1 HELLO\nr2 WORLD\n")
    (src / "utt2dur").write_text("r1 1.8\nr2 2.2\n")
    r = CliRunner().invoke(main, ["perturb-data-dir-speed-3way", str(src), str(tmp_path / "sp")])
    assert r.exit_code == 0, r.output
    wav = dict(line.split(" ", 1) for line in (tmp_path / "sp" / "wav.scp").read_text().splitlines())
    assert set(wav) == {"r1", "r2", "sp0.9-r1", "sp0.9-r2", "sp1.1-r1", "sp1.1-r2"}
    assert wav["sp0.9-r2"] == "sph2pipe -f wav /x/r2.sph | sox -t wav - -t wav - speed 0.9 |"
    assert wav["sp1.1-r1"] == "sox -t wav /x/r1.wav -t wav - speed 1.1 |"
    u2s = (tmp_path / "sp" / "utt2spk").read_text().splitlines()
    assert "sp1.1-r2 sp1.1-s1" in u2s and u2s == sorted(u2s)
    dur = dict(line.split() for line in (tmp_path / "sp" / "utt2dur").read_text().splitlines())
    assert float(dur["sp0.9-r1"]) == pytest.approx(2.0)
    spk2utt = (tmp_path / "sp" / "spk2utt").read_text().splitlines()
    assert "sp0.9-s1 sp0.9-r1 sp0.9-r2" in spk2utt


# ---------------------------------------------------------------------------- 2 processes (gloo)
def _ddp_worker(rank: int, world: int, port: int, egs_dir: str, out: str) -> None:
    import os

    import torch.nn.functional as F

    from hybrid.nnet.data import ChunkDataset, EgsSet, MinibatchSchedule

    torch.set_num_threads(1)
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    torch.distributed.init_process_group("gloo", rank=rank, world_size=world)
    # (a) gradients of one global minibatch through DistributedDataParallel
    torch.manual_seed(0)
    model = build_model(TdnnConfig(feat_dim=DIM, num_pdfs=29, batchnorm=False, **TINY))
    ddp = torch.nn.parallel.DistributedDataParallel(model)
    ds = ChunkDataset(EgsSet.load(Path(egs_dir) / "train"), 16, model.left_context, model.right_context)
    sched = MinibatchSchedule(len(ds), 8, 1, seed=0)
    x, y = ds[sched.batch(0, rank, world)]
    loss = F.cross_entropy(ddp(x).reshape(-1, 29), y.reshape(-1), ignore_index=-100, reduction="sum") / (4 * 16)
    loss.backward()
    if rank == 0:
        torch.save({n: p.grad for n, p in model.named_parameters()}, Path(out) / "grads.pt")
    # (b) one iteration of the real training loop, 2 jobs
    train(egs_dir, Path(out) / "ddp", TdnnConfig(batchnorm=False, **TINY),
          _opts(minibatch_size=2, initial_effective_lrate=0.005, final_effective_lrate=0.001, max_iters_this_run=1))
    torch.distributed.destroy_process_group()


@pytest.mark.slow
def test_two_gloo_processes_match_one(egs, tmp_path):
    import socket

    import torch.multiprocessing as mp
    import torch.nn.functional as F

    egs_dir, info = egs
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(_ddp_worker, args=(2, port, str(egs_dir), str(tmp_path)), nprocs=2, join=True)
    # reference: 1 process, the whole global minibatch
    torch.manual_seed(0)
    model = build_model(TdnnConfig(feat_dim=DIM, num_pdfs=29, batchnorm=False, **TINY))
    ds = ChunkDataset(EgsSet.load(egs_dir / "train"), 16, model.left_context, model.right_context)
    x, y = ds[MinibatchSchedule(len(ds), 8, 1, seed=0).batch(0)]
    loss = F.cross_entropy(model(x).reshape(-1, 29), y.reshape(-1), ignore_index=-100, reduction="sum") / (8 * 16)
    loss.backward()
    grads = torch.load(tmp_path / "grads.pt")
    for n, p in model.named_parameters():
        torch.testing.assert_close(grads[n], p.grad, rtol=1e-4, atol=1e-6)
    # one training iteration: 2 jobs x 2 chunks (lr x 2 jobs, frames-per-iter per job) == 1 job x 4 chunks
    one = tmp_path / "one"
    train(egs_dir, one, TdnnConfig(batchnorm=False, **TINY),
          _opts(minibatch_size=4, initial_effective_lrate=0.01, final_effective_lrate=0.002, max_iters_this_run=1,
                frames_per_iter=2 * 640))
    a = load_checkpoint(tmp_path / "ddp" / "1.pt")["model"]
    b = load_checkpoint(one / "1.pt")["model"]
    assert (tmp_path / "ddp" / "num_jobs").read_text().strip() == "2"
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-5)


def test_max_change_limits_each_component_then_the_total():
    from hybrid.nnet.train import _apply_max_change, _components

    net = torch.nn.Sequential()
    net.add_module("a", torch.nn.Linear(4, 4))
    net.add_module("output", torch.nn.Linear(4, 2))
    comps = _components(net)
    old = [[p.detach().clone() for p in ps] for _, ps in comps]
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.ones_like(p))  # change norms: a sqrt(20), output sqrt(10)
    n = _apply_max_change(comps, old, 0.75, 1.5, 2.0)
    assert int(n) == 2

    def change(i):
        return math.sqrt(sum(float((p - o).pow(2).sum()) for p, o in zip(comps[i][1], old[i])))
    assert change(0) == pytest.approx(0.75, rel=1e-5) and change(1) == pytest.approx(1.5, rel=1e-5)
    old = [[p.detach().clone() for p in ps] for _, ps in comps]
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.ones_like(p))
    _apply_max_change(comps, old, 0.75, 1.5, 1.0)  # the total (0.75, 1.5) is then scaled to 1.0
    assert math.hypot(change(0), change(1)) == pytest.approx(1.0, rel=1e-5)
    assert change(1) / change(0) == pytest.approx(2.0, rel=1e-5)
