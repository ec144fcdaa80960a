"""hybrid.nnet.data.select_subsets: the valid subset holds out whole base speakers, their
speed-perturbed copies (Kaldi's perturb_data_dir_speed.sh ``sp<factor>-`` prefix) included."""

import pytest

from hybrid.nnet.data import base_speaker, select_subsets


def _sp_utt2spk(num_spk: int = 30, utts_per_spk: int = 12) -> dict[str, str]:
    """utt2spk of a speed-perturbed data dir, as perturb_data_dir_speed.sh 0.9 / 1.1 makes it."""
    out = {}
    for s in range(num_spk):
        spk = f"s{s:02d}"
        for i in range(utts_per_spk):
            utt = f"{spk}-u{i:02d}"
            out[utt] = spk
            for f in ("0.9", "1.1"):
                out[f"sp{f}-{utt}"] = f"sp{f}-{spk}"
    return out


def test_base_speaker():
    assert base_speaker("sp0.9-fash") == "fash"
    assert base_speaker("sp1.1-mrjc2") == "mrjc2"
    assert base_speaker("sp1-abc") == "abc"
    assert base_speaker("fash") == "fash"
    assert base_speaker("spk1") == "spk1"          # no '-' after the factor: not a prefix
    assert base_speaker("sp0.9-sp1.1-x") == "sp1.1-x"  # only one prefix is removed


@pytest.mark.parametrize("seed", range(8))
def test_valid_holds_out_perturbed_copies(seed):
    u2s = _sp_utt2spk()
    valid, diag = select_subsets(u2s, num_utts_subset=300, valid_fraction=0.1, seed=seed)
    valid_set = set(valid)
    train = [u for u in u2s if u not in valid_set]
    held = {base_speaker(u2s[u]) for u in valid}
    assert held, "empty valid subset"
    # no utterance of a held-out base speaker (in any speed) is left for training
    assert not [u for u in train if base_speaker(u2s[u]) in held]
    # each held-out base speaker comes with all its 3 x 12 utterances
    for s in held:
        assert sum(base_speaker(u2s[u]) == s for u in valid) == 36
    # sizes: about 10 % of 1080 utterances, whole groups of 36, at most twice the target
    assert 108 <= len(valid) <= 216
    assert len(diag) == 108 and not valid_set & set(diag)
    assert valid == sorted(valid) and diag == sorted(diag)


def test_unperturbed_data_unchanged():
    """Without perturbation prefixes the split is by plain speaker, as before."""
    u2s = {f"s{s:02d}-u{i:02d}": f"s{s:02d}" for s in range(20) for i in range(10)}
    valid, diag = select_subsets(u2s, num_utts_subset=300, valid_fraction=0.1, seed=3)
    spks = {u2s[u] for u in valid}
    assert len(valid) == 10 * len(spks) and 20 <= len(valid) <= 40
    assert not {u for u in u2s if u2s[u] in spks} - set(valid)
    assert len(diag) == 20


def test_single_speaker_falls_back_to_utterances():
    u2s = {f"a-{i}": "a" for i in range(5)} | {f"sp0.9-a-{i}": "sp0.9-a" for i in range(5)}
    valid, diag = select_subsets(u2s, num_utts_subset=2, valid_fraction=0.5, seed=0)
    assert 1 <= len(valid) <= 2 and len(diag) == 2
