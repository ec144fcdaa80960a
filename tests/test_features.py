"""Features against kaldi-native-fbank (the oracle) and CMVN/deltas/splice/transform against numpy."""

from __future__ import annotations

import numpy as np
import pytest

kaldi_native_fbank = pytest.importorskip("kaldi_native_fbank")
knf = kaldi_native_fbank

from hybrid.features import (  # noqa: E402
    ConfigError,
    acc_cmvn_stats,
    add_deltas,
    apply_cmvn,
    apply_transform,
    compute_cmvn_stats,
    fbank_options,
    mfcc_options,
    read_kaldi_config,
    splice_feats,
)
from hybrid.features.mfcc import compute_fbank, compute_mfcc, num_frames  # noqa: E402

TOL = 1e-3


def _knf_frames(comp) -> np.ndarray:
    return np.array([comp.get_frame(i) for i in range(comp.num_frames_ready)], dtype=np.float32)


def knf_mfcc(x: np.ndarray, **kw) -> np.ndarray:
    o = knf.MfccOptions()
    o.frame_opts.dither = 0.0
    o.frame_opts.snip_edges = kw.get("snip_edges", True)
    o.use_energy = kw.get("use_energy", True)
    o.mel_opts.num_bins = kw.get("num_mel_bins", 23)
    o.num_ceps = kw.get("num_ceps", 13)
    o.mel_opts.high_freq = kw.get("high_freq", 0.0)
    m = knf.OnlineMfcc(o)
    m.accept_waveform(16000, x.tolist())
    m.input_finished()
    return _knf_frames(m)


def knf_fbank(x: np.ndarray, **kw) -> np.ndarray:
    o = knf.FbankOptions()
    o.frame_opts.dither = 0.0
    o.use_energy = kw.get("use_energy", False)
    o.mel_opts.num_bins = kw.get("num_mel_bins", 23)
    m = knf.OnlineFbank(o)
    m.accept_waveform(16000, x.tolist())
    m.input_finished()
    return _knf_frames(m)


@pytest.fixture(scope="module")
def an4_test_waves(an4_dir):
    from hybrid.data.audio import read_audio

    files = sorted((an4_dir / "wav" / "an4test_clstk").glob("*/*.sph"))
    assert len(files) == 130, f"expected 130 AN4 test utterances, found {len(files)}"
    return [(f.stem, read_audio(str(f), expected_rate=16000, what=f.stem)[0]) for f in files]


@pytest.mark.corpus
def test_mfcc_matches_kaldi_native_fbank_on_an4_test(an4_test_waves, tmp_path):
    # AN4's conf/mfcc.conf, read as a config file
    conf = tmp_path / "mfcc.conf"
    conf.write_text("--use-energy=false   # only non-default option.\n")
    opts = mfcc_options(conf, dither=0.0)
    worst = 0.0
    for utt, x in an4_test_waves:
        ref = knf_mfcc(x, use_energy=False)
        ours = compute_mfcc(x, opts)
        assert ours.dtype == np.float32
        assert ours.shape == ref.shape == (num_frames(len(x), opts), 13), utt
        diff = float(np.abs(ours - ref).max())
        assert diff < TOL, f"{utt}: max |ours - knf| = {diff}"
        worst = max(worst, diff)
    assert worst > 0.0  # the comparison really compared two computations


@pytest.mark.corpus
@pytest.mark.parametrize("kw", [dict(use_energy=True), dict(use_energy=True, snip_edges=False),
                                dict(use_energy=False, num_mel_bins=40, num_ceps=40, high_freq=-400.0)])
def test_mfcc_variants(an4_test_waves, kw):
    for utt, x in an4_test_waves[:3]:
        ref = knf_mfcc(x, **kw)
        ours = compute_mfcc(x, mfcc_options(dither=0.0, **kw))
        assert ours.shape == ref.shape, utt
        assert np.abs(ours - ref).max() < TOL, utt


@pytest.mark.corpus
@pytest.mark.parametrize("kw", [dict(), dict(use_energy=True), dict(num_mel_bins=40)])
def test_fbank_matches(an4_test_waves, kw):
    for utt, x in an4_test_waves[:3]:
        ref = knf_fbank(x, **kw)
        ours = compute_fbank(x, fbank_options(dither=0.0, **kw))
        assert ours.shape == ref.shape, utt
        assert np.abs(ours - ref).max() < TOL, utt


def _synthetic(n=16000, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 16000
    return (3000 * np.sin(2 * np.pi * 440 * t) + 300 * rng.standard_normal(n)).astype(np.float32)


def test_mfcc_synthetic_and_frame_counts():
    x = _synthetic()
    ours = compute_mfcc(x, mfcc_options(dither=0.0))
    ref = knf_mfcc(x)
    assert np.abs(ours - ref).max() < TOL
    o = mfcc_options()
    assert num_frames(399, o) == 0 and num_frames(400, o) == 1 and num_frames(560, o) == 2
    o2 = mfcc_options(snip_edges=False)
    assert num_frames(400, o2) == 3 and num_frames(160, o2) == 1
    assert compute_mfcc(x[:399], o).shape == (0, 13)


def test_dither_is_seeded_and_small():
    x = _synthetic()
    o = mfcc_options()  # dither 1.0
    a = compute_mfcc(x, o, seed=7)
    b = compute_mfcc(x, o, seed=7)
    c = compute_mfcc(x, o, seed=8)
    d = compute_mfcc(x, mfcc_options(dither=0.0))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert np.abs(a - d).max() < 0.5  # dither of 1 sample unit barely moves a loud signal


def test_config_file_parsing(tmp_path):
    conf = tmp_path / "x.conf"
    conf.write_text("# a comment\n\n--use-energy=false  # trailing\n--num-ceps=20\n--num-mel-bins=30\n"
                    "--snip-edges\n--window-type=hamming\n")
    o = mfcc_options(conf)
    assert (o.use_energy, o.num_ceps, o.num_mel_bins, o.snip_edges, o.window_type) == (False, 20, 30, True, "hamming")
    assert read_kaldi_config(conf)["use_energy"] == "false"
    bad = tmp_path / "bad.conf"
    bad.write_text("--use-energy=false\n--no-such-option=3\n")
    with pytest.raises(ConfigError, match=r"bad.conf:2"):
        mfcc_options(bad)
    bad.write_text("--use-energy=maybe\n")
    with pytest.raises(ConfigError, match=r"bad.conf:1"):
        mfcc_options(bad)
    # defaults are Kaldi's
    d = mfcc_options()
    assert (d.frame_length, d.frame_shift, d.dither, d.preemphasis_coefficient, d.window_type, d.low_freq,
            d.high_freq, d.num_ceps, d.num_mel_bins, d.use_energy, d.cepstral_lifter, d.snip_edges) == \
        (25.0, 10.0, 1.0, 0.97, "povey", 20.0, 0.0, 13, 23, True, 22.0, True)
    assert fbank_options().use_energy is False


# --- CMVN -----------------------------------------------------------------------------------

def test_cmvn_stats_and_apply():
    rng = np.random.default_rng(1)
    feats = {f"s{s}-u{u}": (rng.standard_normal((50 + 10 * u, 5)) * (s + 1) + s).astype(np.float32)
             for s in range(2) for u in range(3)}
    spk2utt = {"s0": ["s0-u0", "s0-u1", "s0-u2"], "s1": ["s1-u0", "s1-u1", "s1-u2", "s1-missing"]}
    stats = compute_cmvn_stats(feats.items(), spk2utt)
    assert list(stats) == ["s0", "s1"]
    for spk, utts in spk2utt.items():
        allf = np.concatenate([feats[u] for u in utts if u in feats]).astype(np.float64)
        st = stats[spk]
        assert st.shape == (2, 6) and st.dtype == np.float64
        np.testing.assert_allclose(st[0, :5], allf.sum(0), rtol=1e-10)
        np.testing.assert_allclose(st[1, :5], (allf ** 2).sum(0), rtol=1e-10)
        assert st[0, 5] == len(allf) and st[1, 5] == 0
        for u in utts:
            if u not in feats:
                continue
            mean, std = allf.mean(0), allf.std(0)
            np.testing.assert_allclose(apply_cmvn(feats[u], st), feats[u] - mean, atol=1e-5)
            np.testing.assert_allclose(apply_cmvn(feats[u], st, norm_vars=True), (feats[u] - mean) / std, atol=1e-4)
    per_utt = compute_cmvn_stats(feats)
    assert set(per_utt) == set(feats)
    with pytest.raises(ValueError, match="Insufficient stats"):
        apply_cmvn(feats["s0-u0"], np.zeros((2, 6)))
    with pytest.raises(ValueError, match="do not fit"):
        apply_cmvn(feats["s0-u0"], np.zeros((2, 5)))


def test_cmvn_matches_kaldi_native_fbank():
    if not hasattr(knf, "compute_cmvn_stats"):
        pytest.skip("kaldi_native_fbank has no compute_cmvn_stats")
    rng = np.random.default_rng(2)
    x = (rng.standard_normal((30, 4)) * 3 + 5).astype(np.float32)
    st = acc_cmvn_stats(x)
    np.testing.assert_allclose(st, np.asarray(knf.compute_cmvn_stats(x)), rtol=1e-6)
    for norm_vars in (False, True):
        opts = knf.CmvnOptions()
        opts.norm_vars = norm_vars
        ref = np.asarray(knf.apply_cmvn(st, opts, x))
        np.testing.assert_allclose(apply_cmvn(x, st, norm_vars=norm_vars), ref, atol=1e-5)


# --- deltas, splicing, transforms -----------------------------------------------------------

def _deltas_reference(x: np.ndarray, order: int, window: int) -> np.ndarray:
    """Kaldi's add-deltas written out plainly.

    Order 1 is the regression formula d[t] = sum_n n (x[t+n] - x[t-n]) / (2 sum_n n^2) with frame
    indices clamped to the utterance; order i applies the i-fold convolution of that filter to the
    (clamped) input, as Kaldi's DeltaFeatures does.
    """
    t = len(x)
    denom = 2 * sum(n * n for n in range(1, window + 1))
    clamp = lambda i: min(max(i, 0), t - 1)  # noqa: E731
    out = [x.astype(np.float64)]
    d1 = np.zeros((t, x.shape[1]))
    for tt in range(t):
        for n in range(1, window + 1):
            d1[tt] += n * (x[clamp(tt + n)] - x[clamp(tt - n)]) / denom
    if order >= 1:
        out.append(d1)
    base = np.arange(-window, window + 1, dtype=np.float64) / denom  # base[j + window] = j / denom
    filt = base
    for _ in range(2, order + 1):
        filt = np.convolve(filt, base)  # offsets add under convolution
        off = (len(filt) - 1) // 2
        y = np.zeros((t, x.shape[1]))
        for tt in range(t):
            for idx, c in enumerate(filt):
                y[tt] += c * x[clamp(tt + idx - off)]
        out.append(y)
    return np.concatenate(out, axis=1)


@pytest.mark.parametrize("order,window,t", [(2, 2, 40), (1, 2, 7), (3, 1, 12), (2, 2, 1)])
def test_add_deltas_reference(order, window, t):
    rng = np.random.default_rng(t)
    x = rng.standard_normal((t, 6)).astype(np.float32)
    ours = add_deltas(x, order, window)
    assert ours.shape == (t, 6 * (order + 1))
    np.testing.assert_allclose(ours, _deltas_reference(x, order, window), atol=1e-5)
    # a linear ramp has delta = slope away from the edges, delta-delta 0
    ramp = np.tile(np.arange(40, dtype=np.float32)[:, None] * 0.5, (1, 3))
    d = add_deltas(ramp, 2, 2)
    np.testing.assert_allclose(d[5:-5, 3:6], 0.5, atol=1e-6)
    np.testing.assert_allclose(d[5:-5, 6:9], 0.0, atol=1e-6)


def test_add_deltas_matches_knf():
    if not hasattr(knf, "compute_deltas"):
        pytest.skip("no compute_deltas in kaldi_native_fbank")
    rng = np.random.default_rng(3)
    x = rng.standard_normal((25, 13)).astype(np.float32)
    try:
        opts = knf.DeltaOptions()
        ref = np.asarray(knf.compute_deltas(opts, x))
    except TypeError:
        pytest.skip("kaldi_native_fbank compute_deltas has another API")
    np.testing.assert_allclose(add_deltas(x), ref, atol=1e-5)


def test_splice_edges():
    x = np.arange(5, dtype=np.float32)[:, None] * np.array([[1.0, 10.0]], dtype=np.float32)
    s = splice_feats(x, 3, 3)
    assert s.shape == (5, 14)
    # frame 0: frames -3..3 → 0,0,0,0,1,2,3 (edge frame repeated)
    np.testing.assert_array_equal(s[0, 0::2], [0, 0, 0, 0, 1, 2, 3])
    np.testing.assert_array_equal(s[4, 0::2], [1, 2, 3, 4, 4, 4, 4])
    np.testing.assert_array_equal(s[2, 1::2], [0, 0, 10, 20, 30, 40, 40])
    np.testing.assert_array_equal(splice_feats(x, 0, 0), x)
    assert splice_feats(x, 1, 2).shape == (5, 8)


def test_apply_transform():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((10, 6)).astype(np.float32)
    m = rng.standard_normal((4, 6))
    np.testing.assert_allclose(apply_transform(x, m), x @ m.T, atol=1e-5)
    a = rng.standard_normal((4, 7))
    np.testing.assert_allclose(apply_transform(x, a), x @ a[:, :6].T + a[:, 6], atol=1e-5)
    with pytest.raises(ValueError, match="bad dimension 4 by 5"):
        apply_transform(x, rng.standard_normal((4, 5)))


@pytest.mark.parametrize("n", [100, 250, 401, 1234])
def test_short_waves_without_snip_edges(n):
    # frames reach past both ends: samples are reflected (twice for the shortest)
    x = _synthetic(2000, seed=n)[:n]
    ref = knf_mfcc(x, snip_edges=False)
    ours = compute_mfcc(x, mfcc_options(dither=0.0, snip_edges=False))
    assert ours.shape == ref.shape
    assert np.abs(ours - ref).max() < TOL
