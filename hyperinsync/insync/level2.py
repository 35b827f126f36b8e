r"""In-Sync Level 2 (tonic): synchrony per segment and per block (:func:`level2`)."""

from __future__ import annotations

import math

import mne
import numpy as np

from .. import stats
from .._docs import fill_doc
from .._utils import INSYNC_PREFIX as PREFIX
from .._utils import (
    ProgressBar,
    _check_option,
    _validate_type,
    check_correction,
    check_seed,
    logger,
    renamed_argument,
    verbose,
    warn,
)
from ..backend import gpu_fallback, gpu_step, single_blas_thread
from ..stats.pairings import shuffle_orders
from ..stats.result import resolve_tails
from ..sync.measures import phase_relation
from ..sync.signals import (
    DyadSignals,
    annotation_spans,
)
from ..sync.sums import unit
from .results import InSyncLevel2
from .windows import (
    WINDOW_MEASURES,
    _check_n_surrogates,
    _check_positive,
    _check_window_method,
    _Geometry,
    _null_shifts,
    _orig_time_str,
    _PairSeries,
    _Signals,
)

L2_NULLS = ("circular_shift", "epoch_shuffle")


L2_CORRECTIONS = ("fdr", "maxstat")


def _segments_from(raw, segments, block):
    """``[(name, kind, start sample, stop sample)]`` of the requested segments and blocks.

    Spans are clipped to the recording; a span that lies wholly outside it keeps
    ``start >= stop`` (the caller excludes it with a warning).
    """
    sfreq, ann = raw.info["sfreq"], raw.annotations
    out = []
    descs = list(ann.description)
    if segments is None:
        segments = (
            []
            if block is not None
            else [
                d
                for d in dict.fromkeys(descs)
                if not d.lower().startswith(("bad", "edge")) and not d.startswith(PREFIX + "/")
            ]
        )
        if not segments:
            raise ValueError(
                "The recording has no segment annotations (besides BAD/EDGE/insync ones): "
                "annotate segments (e.g. rest_pre, session, rest_post) or pass block=60.0."
            )
    else:
        if isinstance(segments, str):
            segments = [segments]
        segments = list(segments)
    for name in segments:
        _validate_type(name, str, "segment name")
        hits = [i for i, d in enumerate(descs) if d == name]
        if not hits:
            present = sorted(set(descs)) or ["none"]
            raise ValueError(
                f"Segment {name!r} is not annotated in the recording (annotation "
                f"descriptions: {', '.join(present)}). Annotate it or choose another segment."
            )
        if len(hits) > 1:
            raise ValueError(
                f"Segment {name!r} is annotated {len(hits)} times (onsets "
                f"{[round(float(ann.onset[i]), 3) for i in hits]} s): give each stretch its "
                "own description."
            )
        (start,), (stop,) = annotation_spans(raw, hits[:1])
        out.append((name, "segment", max(int(start), 0), min(int(stop), raw.n_times)))
    if block is not None:
        n_blk = int(round(_check_positive(block, "block") * sfreq))
        for k, s0 in enumerate(range(0, raw.n_times - n_blk + 1, n_blk)):
            out.append((f"block{k + 1:03d}", "block", s0, s0 + n_blk))
        if not any(kind == "block" for _, kind, _, _ in out):
            raise ValueError(f"block={block} s is longer than the recording.")
    return out


def _segment_problem(name, s0, s1, bad, n_ep, sfreq, null, need):
    """Why a segment cannot be tested (a sentence), or ``None``."""
    if s1 <= s0:
        return f"segment {name!r} lies outside the recording"
    n_epochs = len(bad)
    clean = int((~bad).sum())
    if clean < 2:
        return (
            f"segment {name!r} ({(s1 - s0) / sfreq:g} s) has {clean} epoch(s) of "
            f"{n_ep / sfreq:g} s free of BAD annotations ({n_epochs} in all); at least 2 "
            "are needed"
        )
    if null == "circular_shift":
        n_opts = (n_epochs - 2) * n_ep + 1  # lags of at least one epoch either way
    else:
        n_opts = math.factorial(min(n_epochs, 20))
    if n_opts < need:
        return (
            f"segment {name!r} ({n_epochs} epochs) allows only {n_opts} distinct "
            f"'{null}' surrogates, too few for p <= alpha; use shorter epochs"
        )
    return None


def _l2_phase(sig, band, span, epoch_ok, g):
    """Sum unit cross products A B* per ROI pair over a segment's clean epochs.

    On the device; the angle of the result is the mean phase difference A - B (radians).
    ``epoch_ok``: the segment's clean epochs as a device array of 0/1.
    """
    xp = sig.bk.xp
    za, zb = (unit(z[:, span]) for z in sig.z[band])
    w = xp.repeat(epoch_ok, g)
    cross = xp.matmul(za * w, zb.conj().T)  # (n_a, n_b) summed over clean samples
    return (sig.pair_matrix(xp) @ cross.reshape(-1)).reshape(len(sig.idx[0]), len(sig.idx[1]))


def _l2_correct(p, obs, null, correction, tail, alpha):
    """Corrected p-values over all entries: BH-FDR or the standardised maximum statistic.

    ``obs`` (...), ``null`` (N, ...) with surrogate ``k`` of every entry taken together.
    """
    if correction == "fdr":
        return stats.fdr_bh(p, alpha)[1]
    return stats.maxstat_p(obs, null, tail=tail)


@gpu_fallback("level2")
@single_blas_thread
@verbose
@fill_doc
def level2(
    raw,
    bands=None,
    rois="default",
    *,
    segments=None,
    block=None,
    measure="plv",
    epoch_duration=2.0,
    null="circular_shift",
    n_surrogates=200,
    alpha=0.05,
    correction="maxstat",
    tail="auto",
    contrasts=(("rest_post", "rest_pre"),),
    n_permutations=5000,
    seed=None,
    reject_by_annotation=True,
    picks=None,
    method="fft",
    decim="auto",
    n_cycles=7.0,
    freq_step=1.0,
    l_trans_bandwidth="auto",
    h_trans_bandwidth="auto",
    precision="single",
    backend="auto",
    n_jobs=1,
    max_bytes="auto",
    n_null=None,
    verbose=None,
):
    r"""In-Sync Level 2 (tonic): synchrony per segment and per block, against chance.

    Each segment (an annotated stretch such as ``rest_pre``, ``session``, ``rest_post``) and
    each fixed block is cut into consecutive epochs of ``epoch_duration``; the measure is
    computed per epoch and channel pair (running sums over the continuous band signals, as in
    :func:`level1`), averaged over the ROI pair's channel pairs and over epochs (epochs
    touching ``BAD_`` annotations are left out).

    **Null** (per segment, ``n_surrogates`` surrogates): ``'circular_shift'`` shifts B's signal
    circularly *within the segment* by a random lag of at least one epoch;
    ``'epoch_shuffle'`` pairs A's epochs with B's epochs in a random order (uniform over all
    orders, so the observed pairing is one of them and the p-value is exact). A surrogate
    epoch counts only when both A's epoch and the B data moved onto it are free of ``BAD_``
    annotations. z is :func:`hyperinsync.stats.zscore` (the surrogate-synchrony effect
    size), p is :func:`hyperinsync.stats.p_value` with ``tail``.

    **Correction** over all rows (segments and blocks x bands x ROI pairs): ``'maxstat'``
    (default; family-wise error, the maximum of the statistics standardised against each
    test's own null, :func:`hyperinsync.stats.maxstat_p`; surrogate ``k`` of every segment is
    taken together) or ``'fdr'`` (Benjamini-Hochberg, :func:`hyperinsync.stats.fdr_bh`; it
    cannot reject a single test among :math:`m` unless ``n_surrogates + 1 >= m / alpha``, a floor
    the standardised maximum does not have, and is warned about). Rows with corrected
    :math:`p \le \alpha` are significant and annotated ``insync/L2/<band>/<roiA>-<roiB>``.

    **Contrasts** ``(a, b)`` (e.g. ``rest_post`` minus ``rest_pre``), two tests:
    ``p_null`` compares the observed difference with the differences of the two segments'
    surrogates (surrogate ``k`` of ``a`` minus surrogate ``k`` of ``b``; two-sided). It asks
    whether the change exceeds what chance-level synchrony produces and holds its error
    rate only when neither segment is coupled: with tonic coupling, use ``p_epochs``.
    ``p_epochs`` is a two-sample permutation test of the two segments' per-epoch values
    (:func:`hyperinsync.stats.permutation_test`, two-sided), which tests the change itself,
    assuming exchangeable epochs. Both are also corrected over contrasts x bands x ROI pairs
    (``p_null_corrected`` with ``correction``; ``p_epochs_fdr`` by FDR).

    **Degenerate segments.** A segment that lies outside the recording, has fewer than two
    epochs free of ``BAD_`` annotations, or allows too few distinct surrogates for
    :math:`p \le \alpha` is left out with a warning naming it (and so are contrasts that
    involve it); when nothing is left, an error. No NaN is reported as a value.

    Parameters
    ----------
    raw : DyadRaw | mne.io.BaseRaw
        The dyad recording.
    %(bands)s
    %(rois)s
    segments : str | list of str | None
        Annotation descriptions of the segments (each annotated once). ``None``: every
        description in the recording except ``BAD*``, ``EDGE*`` and ``insync/*`` (none when
        ``block`` is given).
    block : float | None
        Also analyse consecutive fixed blocks of this many seconds (named ``'block001'``, ...).
    %(window_measure)s
    epoch_duration : float
        Epoch length in s (at least two cycles of every band's lowest frequency).
    null : 'circular_shift' | 'epoch_shuffle'
        Surrogate model (see above).
    n_surrogates : int
        Number of surrogates per segment.
    alpha : float
        Level of the corrected p-values for the ``significant`` column and the annotations.
    correction : 'maxstat' | 'fdr'
        Multiple-comparison correction over all rows (see above).
    tail : 'auto' | 'greater' | 'less' | 'two-sided'
        Alternative of the tests against chance. ``'auto'`` is ``'greater'`` (synchrony
        above chance): the Level 2 measures are magnitudes, which rise with coupling in
        phase, anti-phase or lagged alike (the ``phase`` column tells which).
    contrasts : sequence of (str, str)
        Segment pairs ``(a, b)`` for ``a - b``; pairs naming segments that were not asked
        for are an error. ``()`` for none.
    n_permutations : int
        Permutations of the per-epoch test of each contrast.
    %(seed)s
    reject_by_annotation : bool
        Leave out epochs touching ``BAD_`` annotations (NaN or infinite samples inside them
        are allowed: bridged by a straight line for the filter only).
    %(picks)s
    %(method)s
        ``'morlet'`` is refused: the window sums need one analytic signal per band.
    %(decim)s
    %(n_cycles)s
    %(freq_step)s
    %(trans_bandwidth)s
    %(precision)s
    %(backend)s
    %(n_jobs)s
        With NumPy, threads over chunks of signals (band signals) and of surrogates (each
        chunk one batched product, see ``hyperinsync.insync.windows``); BLAS runs on one
        thread meanwhile.
    %(max_bytes)s
    %(n_null_deprecated)s
    %(verbose)s

    Returns
    -------
    result : InSyncLevel2
        ``to_table()``, ``contrast_table()``, ``annotations``, ``get_data(...)``.

    Examples
    --------
    Central alpha coupling in the second of two annotated segments only:

    >>> raw, truth = hs.simulate_dyad(
    ...     segments=[("rest_pre", 20.0), ("rest_post", 20.0)], sfreq=100.0, seed=3,
    ...     couplings=[hs.Coupling("alpha", "central", "central", strength=0.6,
    ...                            episodes=[(20.0, 40.0)])])
    >>> l2 = hs.level2(raw, {"alpha": (8, 13)}, segments=["rest_pre", "rest_post"],
    ...                n_surrogates=49, n_permutations=999, seed=0)
    >>> table = l2.to_table()
    >>> table[table["significant"]][["segment", "roi_a", "roi_b"]]
          segment    roi_a    roi_b
    31  rest_post  central  central
    >>> change = l2.contrast_table().query("roi_a == 'central' and roi_b == 'central'")
    >>> change[["contrast", "p_null_corrected"]]
                   contrast  p_null_corrected
    6  rest_post - rest_pre              0.02
    """
    _validate_type(raw, mne.io.BaseRaw, "raw", "Raw")
    dsig = DyadSignals.from_params(raw, bands, locals())
    _check_window_method(dsig, "Level 2")
    _check_option("measure", measure, WINDOW_MEASURES)
    _check_option("null", null, L2_NULLS)
    correction = check_correction(correction, L2_CORRECTIONS)
    n_surrogates = renamed_argument(n_surrogates, n_null, "n_surrogates", "n_null", 200)
    tail = resolve_tails(tail, [measure])[measure]
    sfreq, bands = dsig.sfreq, dsig.bands
    alpha = stats.check_alpha(alpha)
    n_surrogates = _check_n_surrogates(n_surrogates, alpha)
    epoch_duration = _check_positive(epoch_duration, "epoch_duration")
    for name, (fmin, _) in bands.items():
        if epoch_duration * fmin < 2.0:
            raise ValueError(
                f"epoch_duration={epoch_duration} s holds fewer than two cycles of band "
                f"{name!r}'s lowest frequency {fmin:g} Hz: use at least {2.0 / fmin:g} s."
            )
    n_ep = int(round(epoch_duration * sfreq))
    segs = _segments_from(raw, segments, block)
    contrasts = [tuple(c) for c in contrasts]
    asked = [s[0] for s in segs]
    for c in contrasts:
        if len(c) != 2 or any(x not in asked for x in c):
            raise ValueError(f"Contrast {c!r} must name two analysed segments; analysed: {asked}.")
    rng = check_seed(seed)
    bk, max_bytes, n_jobs = dsig.bk, dsig.max_bytes, dsig.n_jobs
    xp = bk.xp
    sig = _Signals(dsig, rois, n_ep, n_ep, what="Level 2")
    # a p-value (b + 1) / (N + 1) <= alpha needs this many distinct surrogates
    need = int(np.ceil(1.0 / alpha)) - 1
    kept, excluded = [], []
    for name, kind, s0, s1 in segs:
        n_epochs = max(0, (s1 - s0) // n_ep)
        bad = sig.bad[s0 : s0 + n_epochs * n_ep].reshape(n_epochs, n_ep).any(axis=1)
        why = _segment_problem(name, s0, s1, bad, n_ep, sfreq, null, need)
        if why is None:
            kept.append((name, kind, s0, s1, bad))
        else:
            excluded.append(dict(name=name, reason=why))
            warn(f"Level 2: {why}; it is left out.")
    if not kept:
        raise ValueError(
            "Level 2: no segment can be tested: " + "; ".join(e["reason"] for e in excluded) + "."
        )
    names = [k[0] for k in kept]
    dropped = [c for c in contrasts if any(x not in names for x in c)]
    if dropped:
        warn(f"Level 2: contrast(s) {dropped} left out: they involve a segment left out.")
    contrasts = [c for c in contrasts if c not in dropped]
    n_ra, n_rb = len(sig.roi_names[0]), len(sig.roi_names[1])
    shape = (len(bands), n_ra, n_rb)
    # on the device until every segment is done: the surrogates' values, each segment's
    # epoch values and phase sums; the draws of a segment go there once
    nulls = xp.empty((len(kept), n_surrogates) + shape)
    ev_dev, phase_dev = [], []
    seg_info = []
    logger.info(
        f"In-Sync Level 2: {measure} in {', '.join(bands)}, {len(kept)} segment(s)/block(s), "
        f"epochs of {epoch_duration:g} s, {n_surrogates} surrogates ({null})"
    )
    for si, (name, kind, s0, s1, bad) in enumerate(ProgressBar(kept, mesg="Level 2")):
        n_epochs = len(bad)
        seg_bad = sig.bad[s0 : s0 + n_epochs * n_ep]
        # surrogate draws are shared by all bands of a segment (same lags / orders)
        if null == "circular_shift":
            draws = _null_shifts(rng, n_epochs * n_ep, n_ep, n_surrogates)
        else:
            draws = shuffle_orders(rng, n_epochs, n_surrogates, "epochs")
            draws_dev = xp.asarray(draws)
        clean_dev = xp.asarray((~bad).astype(np.float32))
        for bi, band in enumerate(bands):
            q = sig.decim[band]
            g = n_ep // q
            a0 = s0 // q
            geo = _Geometry(g, 1, 1, n_epochs, n_epochs * g)
            span = slice(a0, a0 + n_epochs * g)
            with gpu_step("Level 2 surrogates"):
                seg_values = _PairSeries(sig, band, measure, geo, span, max_bytes)
                ev_dev.append(seg_values(host=False))
                phase_dev.append(_l2_phase(sig, band, span, clean_dev, g))
                # A's epoch and the B data moved onto it both clean, per surrogate (host)
                if null == "circular_shift":
                    # lags are drawn at the input rate; B's signal shifts by the nearest
                    # decimated sample (at least one epoch either way)
                    lags = [int(round(d / q)) for d in draws]
                    b_bad = np.stack(
                        [
                            np.roll(seg_bad, lag * q).reshape(n_epochs, n_ep).any(axis=1)
                            for lag in lags
                        ]
                    )
                else:
                    b_bad = bad[draws]
                ok = ~bad[None, :] & ~b_bad
                n_ok = ok.sum(axis=1)
                ok_dev = xp.asarray(ok / np.maximum(n_ok, 1)[:, None])  # mean weights
                if null == "circular_shift":
                    source, on_host, on_dev = (
                        seg_values.shifts(),
                        np.array(lags),
                        xp.asarray(lags),
                    )
                else:
                    source, on_host, on_dev = seg_values.orders(), draws_dev, draws_dev

                def chunk(ks):
                    # every surrogate of the chunk at once: (K, n_epochs, n_ra, n_rb),
                    # then each one's mean over its clean epochs
                    v = seg_values.batch(source, on_host[ks], on_dev[ks])
                    w = ok_dev[ks]
                    mean = xp.einsum("ke,kerc->krc", w, v)
                    # no clean epoch pair (BAD_ spans everywhere): NaN
                    return (xp.where(w.sum(axis=1)[:, None, None] > 0, mean, np.nan),)

                nulls[si, :, bi] = bk.run_chunks(
                    chunk, n_surrogates, seg_values.chunk(n_surrogates), n_jobs
                )[0]
        seg_info.append(
            dict(
                name=name,
                kind=kind,
                onset=s0 / sfreq,
                duration=(s1 - s0) / sfreq,
                n_epochs=int((~bad).sum()),
            )
        )
    nulls, *host = bk.to_numpy_many(nulls, *ev_dev, *phase_dev)
    values = np.empty((len(kept),) + shape)
    phase = np.empty((len(kept),) + shape)
    epoch_vals = {}
    for si, (_, _, _, _, bad) in enumerate(kept):
        for bi in range(len(bands)):
            ev = host[si * len(bands) + bi][~bad]
            epoch_vals[(si, bi)] = ev
            values[si, bi] = ev.mean(axis=0)
            phase[si, bi] = np.angle(host[len(ev_dev) + si * len(bands) + bi])
    n_usable = np.isfinite(nulls).reshape(len(kept), n_surrogates, -1).all(axis=-1).sum(axis=1)
    if np.any(n_usable < need):
        short = [seg_info[i]["name"] for i in np.flatnonzero(n_usable < need)]
        raise ValueError(
            f"Level 2: in segment(s) {short} fewer than {need} surrogates keep a clean epoch "
            "(BAD annotations cover most of them): shorten the BAD spans or drop the segment."
        )
    n_tests = values.size
    if correction == "fdr" and n_surrogates + 1 < n_tests / alpha:
        warn(
            f"Level 2: with {n_surrogates} surrogates and {n_tests} tests, FDR can reject a test "
            f"only when several are significant together (one alone needs n_surrogates >= "
            f"{int(np.ceil(n_tests / alpha)) - 1}); correction='maxstat' has no such floor."
        )
    z = stats.zscore(values, nulls, axis=1)
    p = stats.p_value(values, nulls, tail=tail, axis=1)
    p_fdr = stats.fdr_bh(p, alpha)[1]
    p_corr = _l2_correct(p, values, np.moveaxis(nulls, 1, 0), correction, tail, alpha)
    reject = p_corr <= alpha
    null_mean = np.nanmean(nulls, axis=1)
    relation = phase_relation(phase)
    rows = []
    for si, seg in enumerate(seg_info):
        for bi, band in enumerate(bands):
            for ri, ra in enumerate(sig.roi_names[0]):
                for ci, rb in enumerate(sig.roi_names[1]):
                    ix = (si, bi, ri, ci)
                    rows.append(
                        dict(
                            kind=seg["kind"],
                            segment=seg["name"],
                            onset=seg["onset"],
                            duration=seg["duration"],
                            n_epochs=seg["n_epochs"],
                            band=band,
                            roi_a=ra,
                            roi_b=rb,
                            value=float(values[ix]),
                            null_mean=float(null_mean[ix]),
                            z=float(z[ix]),
                            tail=tail,
                            p=float(p[ix]),
                            p_fdr=float(p_fdr[ix]),
                            p_corrected=float(p_corr[ix]),
                            significant=bool(reject[ix]),
                            direction=(
                                "above chance"
                                if z[ix] > 0
                                else "below chance"
                                if z[ix] < 0
                                else "none"
                            ),
                            phase_diff=float(phase[ix]),
                            phase=str(relation[ix]),
                        )
                    )
    con_rows = _l2_contrasts(
        contrasts,
        names,
        values,
        nulls,
        epoch_vals,
        bands,
        sig,
        n_permutations,
        rng,
        correction,
        alpha,
    )
    params = dict(
        epoch_duration=n_ep / sfreq,
        null=null,
        n_surrogates=n_surrogates,
        alpha=alpha,
        sfreq=sfreq,
        correction=correction,
        tail=tail,
        decim={b: int(q) for b, q in sig.decim.items()},
        precision=precision,
        backend=bk.name,
        block=None if block is None else float(block),
        reject_by_annotation=bool(reject_by_annotation),
        first_time=float(sig.first_time),
        orig_time=_orig_time_str(sig.orig_time),
        n_permutations=int(n_permutations),
        excluded=excluded,
    )
    return InSyncLevel2(
        values=values,
        null=nulls,
        phase=phase,
        segments=seg_info,
        rows=rows,
        contrasts=con_rows,
        bands=bands,
        roles=sig.roles,
        roi_names=sig.roi_names,
        roi_channels=sig.roi_chs,
        measure=measure,
        params=params,
    )


def _l2_contrasts(
    contrasts, names, values, nulls, epoch_vals, bands, sig, n_permutations, rng, correction, alpha
):
    """Rows of the contrast table (see :meth:`InSyncLevel2.contrast_table`)."""
    if not contrasts:
        return []
    diffs, null_diffs, p_null, z_null, p_ep, d_ep = [], [], [], [], [], []
    for a, b in contrasts:
        ia, ib = names.index(a), names.index(b)
        diff = values[ia] - values[ib]
        null_diff = nulls[ia] - nulls[ib]
        diffs.append(diff)
        null_diffs.append(null_diff)
        z_null.append(stats.zscore(diff, null_diff))
        p_null.append(stats.p_value(diff, null_diff, tail="two-sided"))
        tests = [
            stats.permutation_test(
                epoch_vals[(ia, bi)], epoch_vals[(ib, bi)], n_permutations, seed=rng
            )
            for bi in range(len(bands))
        ]
        p_ep.append(np.stack([t["p"] for t in tests]))
        d_ep.append(np.stack([t["d"] for t in tests]))
    p_null, p_ep = np.stack(p_null), np.stack(p_ep)
    # family: contrasts x bands x ROI pairs (surrogate k of every contrast together)
    p_null_corr = _l2_correct(
        p_null, np.stack(diffs), np.stack(null_diffs, axis=1), correction, "two-sided", alpha
    )
    p_ep_fdr = stats.fdr_bh(p_ep, alpha)[1]
    rows = []
    for k, (a, b) in enumerate(contrasts):
        for bi, band in enumerate(bands):
            for ri, ra in enumerate(sig.roi_names[0]):
                for ci, rb in enumerate(sig.roi_names[1]):
                    ix = (k, bi, ri, ci)
                    rows.append(
                        dict(
                            contrast=f"{a} - {b}",
                            a=a,
                            b=b,
                            band=band,
                            roi_a=ra,
                            roi_b=rb,
                            diff=float(diffs[k][bi, ri, ci]),
                            z_null=float(z_null[k][bi, ri, ci]),
                            p_null=float(p_null[ix]),
                            p_null_corrected=float(p_null_corr[ix]),
                            p_epochs=float(p_ep[ix]),
                            p_epochs_fdr=float(p_ep_fdr[ix]),
                            d=float(d_ep[k][bi, ri, ci]),
                        )
                    )
    return rows
