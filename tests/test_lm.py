"""Language models: ARPA I/O, Kneser-Ney estimation, pruning, G.fst."""

from __future__ import annotations

import gzip
import itertools
import math
import random

import kaldifst
import pytest

from hybrid.io.symbols import FormatError
from hybrid.lm.arpa import ArpaLM, read_arpa, write_arpa
from hybrid.lm.gfst import _has_empty_word_cycle, arpa2fst, format_lm
from hybrid.lm.kneser_ney import compute_discounts, train_kneser_ney
from hybrid.lm.prune import all_ngram_counts, prune_count_cutoffs, prune_relative_entropy

LN10 = math.log(10.0)


def _corpus(seed=0, n=60, vocab="a b c d e f".split()):
    rng = random.Random(seed)
    # skewed unigram so count-of-counts 1..4 are all populated
    weights = [2 ** -i for i in range(len(vocab))]
    return [rng.choices(vocab, weights, k=rng.randint(1, 7)) for _ in range(n)]


def _max_sum_error(lm: ArpaLM) -> float:
    vocab = [w for w in lm.vocab() if w != "<s>"]
    worst = 0.0
    for k in range(lm.order):
        for h in itertools.product(["<s>"] + vocab, repeat=k):
            if "</s>" in h or "<s>" in h[1:]:
                continue
            s = sum(10 ** lm.log10_prob(w, h) for w in vocab)
            worst = max(worst, abs(s - 1.0))
    return worst


@pytest.mark.parametrize("order", [1, 2, 3])
def test_kn_sums_to_one_for_every_history(order):
    lm = train_kneser_ney(_corpus(), order=order, unk="<unk>")
    assert ("<unk>",) in lm.ngrams[0]  # unseen but in the vocabulary
    assert _max_sum_error(lm) < 1e-9


def test_kn_hand_computed_bigram():
    # corpus: "<s> a b </s>", "<s> a a </s>"; fixed discounts 0.5 (formula check)
    lm = train_kneser_ney([["a", "b"], ["a", "a"]], order=2, unk="<unk>", discounts=[(0.5, 0.5, 0.5)] * 2)
    # unigram continuation counts: a 2 ({<s>, a}), b 1 ({a}), </s> 2 ({a, b}), <unk> 0; |V| = 4
    # gamma() = 1.5/5 = 0.3; p(a) = 1.5/5 + 0.3/4 = 0.375; p(b) = 0.5/5 + 0.075 = 0.175
    assert 10 ** lm.log10_prob("a", ()) == pytest.approx(0.375)
    assert 10 ** lm.log10_prob("b", ()) == pytest.approx(0.175)
    assert 10 ** lm.log10_prob("<unk>", ()) == pytest.approx(0.075)
    # history a: raw counts a b 1, a a 1, a </s> 1: gamma(a) = 1.5/3
    assert 10 ** lm.log10_prob("b", ("a",)) == pytest.approx(0.5 / 3 + 0.5 * 0.175)
    # history <s>: <s> a 2: gamma(<s>) = 0.5/2; p(b|<s>) backs off
    assert 10 ** lm.log10_prob("a", ("<s>",)) == pytest.approx(1.5 / 2 + 0.25 * 0.375)
    assert 10 ** lm.log10_prob("b", ("<s>",)) == pytest.approx(0.25 * 0.175)
    assert lm.ngrams[0][("<s>",)][1] == pytest.approx(math.log10(0.25))
    assert ("<s>", "b") not in lm.ngrams[1]


def test_modified_kn_discounts_chen_goodman():
    d1, d2, d3 = compute_discounts([1, 1, 1, 2, 2, 3, 4, 7])  # n1=3 n2=2 n3=1 n4=1
    y = 3 / 7
    assert d1 == pytest.approx(1 - 2 * y * 2 / 3)
    assert d2 == pytest.approx(2 - 3 * y * 1 / 2)
    assert d3 == pytest.approx(3 - 4 * y * 1 / 1)


def test_kn_vocab_maps_oov_to_unk():
    lm = train_kneser_ney([["a", "x"], ["b"]], order=2, vocab=["a", "b"], unk="<unk>")
    assert ("x",) not in lm.ngrams[0] and ("a", "<unk>") in lm.ngrams[1]


def test_arpa_roundtrip_and_gzip(tmp_path):
    lm = train_kneser_ney(_corpus(), order=3)
    for name in ("lm.arpa", "lm.arpa.gz"):
        write_arpa(lm, tmp_path / name)
        back = read_arpa(tmp_path / name)
        assert back.order == 3
        for n in range(3):
            assert back.ngrams[n].keys() == lm.ngrams[n].keys()
            for g, (p, b) in lm.ngrams[n].items():
                p2, b2 = back.ngrams[n][g]
                assert p2 == pytest.approx(p, abs=1e-6)
                assert (b is None) == (b2 is None) and (b is None or b2 == pytest.approx(b, abs=1e-6))
    with gzip.open(tmp_path / "lm.arpa.gz", "rt") as f:
        assert "\\data\\" in f.read()


TINY = """junk before data is ignored

\\data\\
ngram 1=5
ngram 2=3

\\1-grams:
-1.0\t</s>
-99\t<s>\t-0.3
-0.5\ta\t-0.2
-0.7\tb\t-0.1
-0.9\tzz\t-0.1

\\2-grams:
-0.2\t<s> a
-0.3\ta b
-0.4\tzz b

\\end\\
"""


@pytest.mark.parametrize("bad,lineno", [
    (TINY.replace("ngram 2=3", "ngram 2=4"), None),
    (TINY.replace("-0.3\ta b", "-0.3\ta b c d"), 16),
    (TINY.replace("-0.7\tb", "x\tb"), 11),
    (TINY.replace("\\end\\", ""), None),
    (TINY.replace("-0.2\t<s> a", "-0.2\t<s> a\n-0.2\t<s> a"), 16),
])
def test_arpa_malformed(tmp_path, bad, lineno):
    p = tmp_path / "bad.arpa"
    p.write_text(bad)
    with pytest.raises(FormatError) as e:
        read_arpa(p)
    assert str(p) in str(e.value)
    if lineno is not None:
        assert f"{p}:{lineno}:" in str(e.value)


def test_arpa2fst_tiny(tmp_path):
    (tmp_path / "t.arpa").write_text(TINY)
    (tmp_path / "words.txt").write_text("<eps> 0\na 1\nb 2\n#0 3\n<s> 4\n</s> 5\n")
    arpa2fst(tmp_path / "t.arpa", tmp_path / "G.fst", words_txt=tmp_path / "words.txt", disambig_symbol="#0")
    g = kaldifst.StdVectorFst.read(str(tmp_path / "G.fst"))
    arcs = {}
    for s in range(g.num_states):
        for a in kaldifst.ArcIterator(g, s):
            arcs.setdefault(s, []).append((a.ilabel, a.olabel, round(a.weight.value, 4), a.nextstate))
    finals = {s: round(g.final(s).value, 4) for s in range(g.num_states) if g.final(s).value != math.inf}
    c = lambda lp: round(-lp * LN10, 4)  # noqa: E731  cost = -ln(10^logprob)
    start = g.start
    # from <s>: "a" by the bigram, back-off (#0) by bow(<s>) = -0.3
    assert sorted(arcs[start]) == sorted([(1, 1, c(-0.2), arcs[start][0][3]), (3, 0, c(-0.3), arcs[start][1][3])])
    null = [d for (i, o, w, d) in arcs[start] if i == 3][0]
    a_state = [d for (i, o, w, d) in arcs[start] if i == 1][0]
    # the null-history state: unigrams a, b (zz removed: not in words.txt), final = p(</s>)
    assert sorted((i, o, w) for i, o, w, _ in arcs[null]) == [(1, 1, c(-0.5)), (2, 2, c(-0.7))]
    assert finals == {null: c(-1.0)}
    # state after "a": bigram "a b", back-off bow(a) = -0.2
    assert sorted((i, o, w) for i, o, w, _ in arcs[a_state]) == [(2, 2, c(-0.3)), (3, 0, c(-0.2))]
    assert g.num_states == 4  # <s>, null, a, b  (no state for zz)


def test_prune_relative_entropy_keeps_normalisation():
    lm = train_kneser_ney(_corpus(1, 80), order=3)
    sizes = [len(x) for x in lm.ngrams]
    n1 = prune_relative_entropy(lm, 1e-3)
    assert n1 > 0 and _max_sum_error(lm) < 1e-9
    assert len(lm.ngrams[0]) == sizes[0]  # unigrams never pruned
    lm2 = train_kneser_ney(_corpus(1, 80), order=3)
    n2 = prune_relative_entropy(lm2, 1e-5)
    assert n2 < n1
    # every kept n-gram's history is still present (ARPA prefix property)
    for n in range(1, lm.order):
        for g in lm.ngrams[n]:
            assert g[:-1] in lm.ngrams[n - 1]


def test_count_cutoffs():
    sents = _corpus(2, 80)
    lm = train_kneser_ney(sents, order=3)
    counts = all_ngram_counts(sents, 3)
    prune_count_cutoffs(lm, counts, [1, 2, 3])
    exts = {g[:-1] for g in lm.ngrams[2]}
    assert all(counts[g] >= 3 for g in lm.ngrams[2])
    assert all(counts[g] >= 2 or g in exts for g in lm.ngrams[1])
    assert _max_sum_error(lm) < 1e-9


def test_format_lm_and_empty_word_cycles(tmp_path):
    lang = tmp_path / "lang"
    (lang / "phones").mkdir(parents=True)
    for f in ("phones.txt", "topo", "L.fst", "L_disambig.fst", "oov.int", "oov.txt", "phones/x.int"):
        (lang / f).write_text("x\n")
    (lang / "words.txt").write_text("<eps> 0\na 1\nb 2\n#0 3\n<s> 4\n</s> 5\n")
    (tmp_path / "t.arpa").write_text(TINY)
    (tmp_path / "lexicon.txt").write_text("a A\nb B\n")
    g = format_lm(lang, tmp_path / "t.arpa", tmp_path / "lexicon.txt", tmp_path / "lang_test")
    assert g.is_file() and (tmp_path / "lang_test" / "phones" / "x.int").is_file()
    fst = kaldifst.StdVectorFst.read(str(g))
    assert not _has_empty_word_cycle(fst, {3})
    # with "a" an empty word: <s> -a-> a -#0-> null -a-> a ... is a cycle
    assert _has_empty_word_cycle(fst, {1, 3})


def test_train_lm_cli(tmp_path):
    from click.testing import CliRunner
    from hybrid.cli.cmd_lm import train_lm_cmd
    text = tmp_path / "text"
    text.write_text("".join(f"utt{i} {' '.join(s)}\n" for i, s in enumerate(_corpus())))
    r = CliRunner().invoke(train_lm_cmd, ["--order", "2", "--prune-thresh", "1e-4", str(text), str(tmp_path / "lm.arpa.gz")])
    assert r.exit_code == 0, r.output
    lm = read_arpa(tmp_path / "lm.arpa.gz")
    assert lm.order == 2 and not any(w[0].startswith("utt") for w in lm.ngrams[0])
    assert _max_sum_error(lm) < 1e-6  # ARPA has 7 significant digits
