"""Feature-transform commands (Kaldi's acc-lda, est-lda, gmm-acc-mllt, est-mllt, gmm-transform-means,
compose-transforms, gmm-est-fmllr, gmm-acc-stats-twofeats, weight-silence-post).

Where Kaldi pipes ``ali-to-post | weight-silence-post W SIL`` into these programs, ours read the
alignments (``ali.JOB.gz``) directly and take ``--silence-weight W --silence-phones SIL``.
FEATURES is a data dir (with the feature options of :mod:`hybrid.cli.cmd_gmm`) or an rspecifier.
"""

from __future__ import annotations

import logging

import click

from hybrid.cli.cmd_gmm import feature_options, open_features, setup_logging

log = logging.getLogger("hybrid.transform")


def _fail(msg: str) -> None:
    log.error(msg)
    raise SystemExit(1)


def _csl(s: str | None) -> list[int]:
    return [int(x) for x in s.split(":") if x] if s else []


def _silence_options(f):
    f = click.option("--silence-phones", default="",
                     help="colon-separated silence phones (phones/silence.csl) for --silence-weight")(f)
    f = click.option("--silence-weight", type=float, default=1.0, show_default=True,
                     help="weight of frames aligned to silence phones (weight-silence-post)")(f)
    return f


def _strip_spec(spec: str) -> tuple[str, bool]:
    """``ark:x`` / ``ark,t:x`` / ``x`` → (path, text?)."""
    if ":" in spec and spec.split(":", 1)[0].split(",")[0] in ("ark", "scp"):
        head, path = spec.split(":", 1)
        return path, "t" in head.split(",")[1:]
    return spec, False


def _is_table(spec: str) -> bool:
    return spec.startswith(("ark:", "ark,", "scp:", "scp,"))


def _write_mats(items, wspec: str) -> None:
    """Write (key, matrix) pairs to an archive wspecifier (``ark:f``, ``ark,t:f``), atomically."""
    import kaldiio
    import numpy as np

    from hybrid.io import atomic_path, write_table

    path, text = _strip_spec(wspec)
    items = [(k, np.asarray(m, dtype=np.float32)) for k, m in items]
    if text:
        with atomic_path(path) as tmp:
            with open(tmp, "w", encoding="utf-8") as f:
                kaldiio.save_ark(f, dict(items), text=True)
    else:
        write_table(items, path)


def _read_spk2utt(spec: str) -> dict[str, list[str]]:
    from hybrid.data.datadir import read_spk2utt

    return read_spk2utt(_strip_spec(spec)[0])


def _iter_utts_with_ali(features: str, alignments: str, kw: dict, posteriors: bool = False):
    """(utt, feats, ali) for utterances that have both; missing/mismatched ones are logged and counted.
    With ``posteriors``, ``alignments`` is a posterior archive (text or binary) and ``ali`` a (frames, tids,
    weights) posterior (:mod:`hybrid.decode.posterior`)."""
    if posteriors:
        from hybrid.decode.posterior import read_posteriors

        try:
            table = {u: (p, n) for u, p, n in read_posteriors(alignments)}
        except (OSError, ValueError) as e:
            _fail(str(e))
        what, size = "posteriors", "Posterior vector"
    else:
        from hybrid.io import read_ali_ark

        table = {u: (a, len(a)) for u, a in read_ali_ark(alignments).items()}
        what, size = "alignment", "Alignment"
    errors = {"no_ali": 0, "other": 0}

    def gen():
        for utt, x in open_features(features, kw):
            got = table.get(utt)
            if got is None:
                log.warning("No %s for utterance %s", what, utt)
                errors["no_ali"] += 1
                continue
            if got[1] != len(x):
                log.warning("%s has wrong size %d vs. %d for utterance %s", size, got[1], len(x), utt)
                errors["other"] += 1
                continue
            yield utt, x, got[0]

    return gen(), errors


# ------------------------------------------------------------------------------------------------- LDA
@click.command("acc-lda")
@click.option("--rand-prune", type=float, default=0.0, help="accepted for Kaldi compatibility (alignment "
                                                             "posteriors are all 1: nothing to prune)")
@_silence_options
@feature_options
@click.argument("model")
@click.argument("features")
@click.argument("alignments")
@click.argument("acc_out")
def acc_lda_cmd(rand_prune, silence_weight, silence_phones, model, features, alignments, acc_out, **kw):
    """Accumulate LDA statistics (classes = pdfs of the aligned transition-ids)."""
    setup_logging("acc-lda")
    from hybrid.hmm import read_transition_model
    from hybrid.transform import LdaStats, ali_to_pdf_weights

    tm = read_transition_model(model)
    sil = _csl(silence_phones)
    stats = None
    done = 0
    utts, errors = _iter_utts_with_ali(features, alignments, kw)
    for utt, x, ali in utts:
        if stats is None:
            stats = LdaStats.zeros(tm.num_pdfs, x.shape[1])
        try:
            pdfs, w = ali_to_pdf_weights(tm, ali, sil, silence_weight)
            stats.accumulate(x, pdfs, w)
        except ValueError as e:
            log.warning("utterance %s: %s", utt, e)
            errors["other"] += 1
            continue
        done += 1
    log.info("Done %d files, %d with no alignments, %d with other errors.", done, errors["no_ali"], errors["other"])
    if stats is None or done == 0:
        _fail("no utterances were accumulated")
    stats.write(acc_out)


@click.command("est-lda")
@click.option("--dim", type=int, default=40, show_default=True, help="dimension of the LDA output")
@click.option("--write-full-matrix", default="", help="write the full (square) LDA matrix here")
@click.option("--allow-large-dim", type=bool, default=False, show_default=True,
              help="allow --dim >= number of classes")
@click.option("--remove-offset", type=bool, default=False, show_default=True,
              help="append an offset column making the global mean zero")
@click.option("--within-class-factor", type=float, default=1.0, show_default=True,
              help="scale of the within-class variance in the output")
@click.option("--binary", type=bool, default=True, show_default=True, help="write matrices in binary")
@click.argument("mat_out")
@click.argument("accs", nargs=-1, required=True)
def est_lda_cmd(dim, write_full_matrix, allow_large_dim, remove_offset, within_class_factor, binary, mat_out, accs):
    """Estimate the LDA matrix from accumulators: est-lda 0.mat lda.*.acc"""
    setup_logging("est-lda")
    from hybrid.transform import estimate_lda, sum_lda_stats, write_matrix

    try:
        res = estimate_lda(sum_lda_stats(list(accs)), dim, allow_large_dim=allow_large_dim,
                           remove_offset=remove_offset, within_class_factor=within_class_factor)
    except ValueError as e:
        _fail(str(e))
    for m in res.messages:
        log.info("%s", m)
    write_matrix(mat_out, res.mat, binary)
    if write_full_matrix:
        write_matrix(write_full_matrix, res.full_mat, binary)
    log.info("Written LDA matrix (%dx%d) to %s", res.mat.shape[0], res.mat.shape[1], mat_out)


# ------------------------------------------------------------------------------------------------- MLLT
@click.command("gmm-acc-mllt")
@click.option("--rand-prune", type=float, default=0.0, help="accepted for Kaldi compatibility (stats are exact)")
@_silence_options
@feature_options
@click.argument("model")
@click.argument("features")
@click.argument("alignments")
@click.argument("acc_out")
def gmm_acc_mllt_cmd(rand_prune, silence_weight, silence_phones, model, features, alignments, acc_out, **kw):
    """Accumulate MLLT statistics: gmm-acc-mllt 2.mdl FEATS ali.JOB.gz 2.JOB.macc"""
    setup_logging("gmm-acc-mllt")
    from hybrid.gmm import read_model
    from hybrid.transform import MlltAccumulator, ali_to_pdf_weights

    tm, am = read_model(model)
    acc = MlltAccumulator(am)
    sil = _csl(silence_phones)
    done = 0
    utts, errors = _iter_utts_with_ali(features, alignments, kw)
    for utt, x, ali in utts:
        try:
            pdfs, w = ali_to_pdf_weights(tm, ali, sil, silence_weight)
            like = acc.accumulate(x, pdfs, w)
        except ValueError as e:
            log.warning("utterance %s: %s", utt, e)
            errors["other"] += 1
            continue
        tot_w = float(w.sum())
        if tot_w > 0:
            log.debug("Average like for this file is %g over %g frames", like / tot_w, tot_w)
        done += 1
    log.info("Done %d files, %d with no alignments, %d with other errors.", done, errors["no_ali"], errors["other"])
    t = acc.tot_t
    log.info("Overall avg like per frame is %g over %g frames.", acc.tot_like / t if t else 0.0, t)
    if done == 0:
        _fail("no utterances were accumulated")
    acc.stats().write(acc_out)


@click.command("est-mllt")
@click.option("--binary", type=bool, default=True, show_default=True, help="write the matrix in binary")
@click.option("--num-iters", type=int, default=200, show_default=True, help="passes over the rows")
@click.argument("mat_out")
@click.argument("accs", nargs=-1, required=True)
def est_mllt_cmd(binary, num_iters, mat_out, accs):
    """Do the MLLT update: est-mllt 2.mat.new 2.*.macc (compose with the previous matrix afterwards)."""
    setup_logging("est-mllt")
    import numpy as np

    from hybrid.transform import estimate_mllt, sum_mllt_stats, write_matrix

    try:
        res = estimate_mllt(sum_mllt_stats(list(accs)), num_iters=num_iters)
    except (ValueError, ArithmeticError) as e:
        _fail(str(e))
    for m in res.messages:
        if m.startswith("WARNING: "):
            log.warning("%s", m[9:])
        else:
            log.info("%s", m)
    log.info("Updated MLLT, total objf impr is %g over %g frames, logdet is %g",
             res.objf_impr / res.count if res.count else 0.0, res.count, np.linalg.slogdet(res.mat)[1])
    write_matrix(mat_out, res.mat, binary)


@click.command("gmm-transform-means")
@click.argument("mat")
@click.argument("model_in")
@click.argument("model_out")
def gmm_transform_means_cmd(mat, model_in, model_out):
    """Transform the model's means by a linear or affine matrix (variances unchanged)."""
    setup_logging("gmm-transform-means")
    from hybrid.gmm import read_model, write_model
    from hybrid.transform import read_matrix, transform_means

    tm, am = read_model(model_in)
    m = read_matrix(mat)
    try:
        transform_means(am, m)
    except ValueError as e:
        _fail(f"{mat}: {e}")
    write_model(model_out, tm, am)
    log.info("Transformed means of %d pdfs (%d Gaussians) by %s", am.num_pdfs, am.num_gauss, mat)


@click.command("compose-transforms")
@click.option("--b-is-affine", type=bool, default=False, show_default=True,
              help="B is affine (its last column an offset)")
@click.option("--binary", type=bool, default=True, show_default=True, help="write a single matrix in binary")
@click.option("--utt2spk", default="", help="(A a table keyed by speaker, B by utterance) map utterances to speakers")
@click.argument("a")
@click.argument("b")
@click.argument("c")
def compose_transforms_cmd(b_is_affine, binary, utt2spk, a, b, c):
    """C = A·B (apply B, then A). A and B are matrix files or tables (ark:...); C a file or ark:...

    e.g. compose-transforms 2.mat.new 2.mat 3.mat;
    compose-transforms ark:trans.1 final.mat ark:full_trans.1 (per-speaker fMLLR after LDA+MLLT);
    compose-transforms --b-is-affine=true ark:tmp_trans.1 ark:trans.1 ark:trans.1.new
    """
    setup_logging("compose-transforms")
    from hybrid.io import read_table
    from hybrid.transform import compose_transforms, read_matrix, write_matrix

    def load(spec):
        return dict(read_table(spec)) if _is_table(spec) else read_matrix(spec)

    ma, mb = load(a), load(b)
    u2s = {}
    if utt2spk:
        from hybrid.data.datadir import read_utt2spk

        u2s = read_utt2spk(_strip_spec(utt2spk)[0])
    if not isinstance(ma, dict) and not isinstance(mb, dict):
        if _is_table(c):
            _fail("both inputs are single matrices: the output must be a file, not a table")
        try:
            write_matrix(c, compose_transforms(ma, mb, b_is_affine), binary)
        except ValueError as e:
            _fail(str(e))
        return
    if not _is_table(c):
        _fail("an input is a table: the output must be a table (ark:...)")
    out, missing = [], 0
    keys = list(mb) if isinstance(mb, dict) else list(ma)
    for k in keys:
        x = ma if not isinstance(ma, dict) else ma.get(k, ma.get(u2s.get(k, k)))
        y = mb if not isinstance(mb, dict) else mb.get(k)
        if x is None or y is None:
            log.warning("No matrix for key %s in %s", k, a if x is None else b)
            missing += 1
            continue
        try:
            out.append((k, compose_transforms(x, y, b_is_affine)))
        except ValueError as e:
            log.warning("key %s: %s", k, e)
            missing += 1
    _write_mats(out, c)
    log.info("Composed %d transforms, %d errors", len(out), missing)
    if not out:
        raise SystemExit(1)


# ------------------------------------------------------------------------------------------------- fMLLR
@click.command("gmm-est-fmllr")
@click.option("--spk2utt", default="", help="speaker-to-utterances map (ark:spk2utt); without it, per utterance")
@click.option("--fmllr-update-type", type=click.Choice(["full", "diag", "offset", "none"]), default="full",
              show_default=True)
@click.option("--fmllr-min-count", type=float, default=20.0, show_default=True,
              help="minimum count to estimate a transform (else the identity)")
@click.option("--fmllr-num-iters", type=int, default=40, show_default=True, help="passes over the rows")
@click.option("--gpost-model", default="", help="take Gaussian posteriors from this model (e.g. final.alimdl "
                                                "on the same features: gmm-post-to-gpost + gmm-est-fmllr-gpost)")
@click.option("--posteriors", is_flag=True, help="the third argument is a posterior archive (hybrid "
              "lattice-to-post | weight-silence-post; Kaldi's Posterior table, text or binary), not alignments")
@_silence_options
@feature_options
@click.argument("model")
@click.argument("features")
@click.argument("alignments")
@click.argument("trans_wspecifier")
def gmm_est_fmllr_cmd(spk2utt, fmllr_update_type, fmllr_min_count, fmllr_num_iters, gpost_model, posteriors,
                      silence_weight, silence_phones, model, features, alignments, trans_wspecifier, **kw):
    """Estimate fMLLR transforms per speaker (--spk2utt) or per utterance from alignments (or, with
    --posteriors, lattice posteriors); writes a table of d x (d+1) matrices:
    gmm-est-fmllr --spk2utt=ark:spk2utt final.mdl FEATS ali.1.gz ark:trans.1"""
    setup_logging("gmm-est-fmllr")
    import numpy as np

    from hybrid.gmm import read_model
    from hybrid.transform import (FmllrAccumulator, FmllrOptions, ali_to_pdf_weights, estimate_fmllr,
                                  post_to_pdf_weights)

    tm, am = read_model(model)
    post_am = None
    if gpost_model:
        tm2, post_am = read_model(gpost_model)
        if not np.array_equal(tm2.tid2pdf, tm.tid2pdf):
            _fail(f"{gpost_model} and {model} have different transition models")
    opts = FmllrOptions(fmllr_update_type, fmllr_min_count, fmllr_num_iters)
    sil = _csl(silence_phones)
    s2u = _read_spk2utt(spk2utt) if spk2utt else None
    u2s = {u: s for s, us in (s2u or {}).items() for u in us}
    accs: dict[str, FmllrAccumulator] = {}
    done = 0
    utts, errors = _iter_utts_with_ali(features, alignments, kw, posteriors)
    seen = set()
    for utt, x, ali in utts:
        key = utt
        if s2u is not None:
            if utt not in u2s:
                log.warning("Utterance %s is not in %s: not used", utt, spk2utt)
                errors["other"] += 1
                continue
            key = u2s[utt]
        try:
            if posteriors:
                frames, pdfs, w = post_to_pdf_weights(tm, *ali, sil, silence_weight)
                x = x[frames]
            else:
                pdfs, w = ali_to_pdf_weights(tm, ali, sil, silence_weight)
            if key not in accs:
                accs[key] = FmllrAccumulator(am, post_am)
            accs[key].accumulate(x, pdfs, w)
        except ValueError as e:
            log.warning("utterance %s: %s", utt, e)
            errors["other"] += 1
            continue
        seen.add(utt)
        done += 1
    if s2u is not None:
        for u in u2s:
            if u not in seen:
                log.warning("Did not find features or alignment for utterance %s", u)
        keys = list(s2u)
    else:
        keys = list(accs)
    out = []
    tot_impr = tot_t = 0.0
    what = "speaker" if s2u is not None else "utterance"
    for k in keys:
        acc = accs.get(k)
        if acc is None:
            from hybrid.transform import FmllrStats

            stats = FmllrStats.zeros(am.dim)
        else:
            stats = acc.stats
        res = estimate_fmllr(stats, opts)
        for m in res.messages:
            if m.startswith("WARNING: "):
                log.warning("%s", m[9:])
        out.append((k, res.mat))
        log.info("For %s %s, auxf-impr from fMLLR is %g, over %g frames.", what, k,
                 res.objf_impr / res.count if res.count else 0.0, res.count)
        tot_impr += res.objf_impr
        tot_t += res.count
    _write_mats(out, trans_wspecifier)
    log.info("Done %d files, %d with no posts, %d with other errors.", done, errors["no_ali"], errors["other"])
    log.info("Overall fMLLR auxf impr per frame is %g over %g frames.", tot_impr / tot_t if tot_t else 0.0, tot_t)
    if done == 0:
        raise SystemExit(1)


@click.command("gmm-acc-stats-twofeats")
@click.option("--si-transform", default=None,
              help="transform of the second (speaker-independent) features, e.g. final.mat; the other "
                   "feature options apply to both")
@feature_options
@click.argument("model")
@click.argument("features")
@click.argument("alignments")
@click.argument("stats_out")
def gmm_acc_stats_twofeats_cmd(si_transform, model, features, alignments, stats_out, **kw):
    """GMM statistics with posteriors from the adapted features (--transform) and data from the SI ones
    (--si-transform): the SAT alignment model (final.alimdl)."""
    setup_logging("gmm-acc-stats-twofeats")
    from hybrid.gmm import GmmAccs, read_model
    from hybrid.io import read_ali_ark
    from hybrid.transform import accumulate_twofeats

    tm, am = read_model(model)
    kw2 = dict(kw)
    kw2["transform"] = si_transform
    alis = read_ali_ark(alignments)
    feats2 = open_features(features, kw2)
    accs = GmmAccs.zeros(tm, am)
    done = err = 0
    for (utt, x1), (utt2, x2) in zip(open_features(features, kw), feats2):
        if utt != utt2:
            _fail(f"the two feature streams are out of step at {utt} / {utt2} (missing transforms?)")
        ali = alis.get(utt)
        if ali is None:
            log.warning("No alignment for utterance %s", utt)
            err += 1
            continue
        try:
            accumulate_twofeats(accs, tm, am, x1, x2, ali)
        except ValueError as e:
            log.warning("utterance %s: %s", utt, e)
            err += 1
            continue
        done += 1
    log.info("Done %d files, %d with errors.", done, err)
    t = accs.tot_t
    log.info("Overall avg like per frame (Gaussian only) = %g over %g frames.", accs.tot_like / t if t else 0.0, t)
    if done == 0:
        raise SystemExit(1)
    accs.write(stats_out)


# ------------------------------------------------------------------------------------------------- posteriors
@click.command("weight-silence-post")
@click.option("--distribute", type=bool, default=False, show_default=True,
              help="scale every entry of a frame by p(sil)*silence-weight + p(non-sil) instead of the "
                   "silence entries alone")
@click.argument("silence_weight", type=float)
@click.argument("silence_phones")
@click.argument("model")
@click.argument("post_rspecifier")
@click.argument("post_wspecifier")
def weight_silence_post_cmd(distribute, silence_weight, silence_phones, model, post_rspecifier, post_wspecifier):
    """Scale the posteriors of transition-ids of silence phones (Kaldi's weight-silence-post).

    Usage: hybrid weight-silence-post 0.01 1:2:3 final.mdl ark,t:post.1 ark,t:post.sil.1
    """
    setup_logging("weight-silence-post")
    from hybrid.decode.posterior import read_posteriors, weight_silence_post, write_posteriors
    from hybrid.hmm import read_transition_model

    try:
        sil = _csl(silence_phones)
    except ValueError:
        _fail(f"Invalid silence-phones string {silence_phones}")
    if not sil:
        log.warning("No silence phones, this will have no effect")
    tm = read_transition_model(model)
    out = []
    try:
        for utt, post, nf in read_posteriors(post_rspecifier):
            try:
                out.append((utt, weight_silence_post(post, tm.tid2phone, sil, silence_weight, distribute), nf))
            except ValueError as e:
                log.warning("utterance %s: %s", utt, e)
    except (OSError, ValueError) as e:
        _fail(str(e))
    write_posteriors(out, post_wspecifier)
    log.info("Done %d posteriors.", len(out))
    if not out:
        raise SystemExit(1)


COMMANDS = [acc_lda_cmd, est_lda_cmd, gmm_acc_mllt_cmd, est_mllt_cmd, gmm_transform_means_cmd, compose_transforms_cmd,
            gmm_est_fmllr_cmd, gmm_acc_stats_twofeats_cmd,
            weight_silence_post_cmd]
