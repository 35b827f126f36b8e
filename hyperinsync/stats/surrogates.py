r"""Null models for inter-brain synchrony: pseudo-dyads and surrogate pairings.

A synchrony value means nothing until it is compared with pairs of signals that never
interacted: PLV, for instance, is biased upward in short windows (about
:math:`\sqrt{\pi / (4 n)}` for :math:`n` independent samples). Every null here is built from
the *same* band signals, window length, bands and preprocessing as the observed value, so
the bias is the same on both sides.

Null models (``null=``), each reproducible with ``seed``:

``'pseudo_dyads'``
    Across a study: person A of dyad *i* with person B of dyad *j* (*i* != *j*). With
    ``keep_roles=True`` only first-role x second-role pairs (therapist *i* x client *j*);
    otherwise any two people of different dyads. All such pairs, or a random subset of
    ``n_surrogates``.
``'epoch_shuffle'``
    Within a dyad: A's epochs with B's epochs in a random order (uniform over all orders, so
    the observed pairing is exchangeable with the surrogates and the p-value is exact; an
    epoch may keep its partner, as in any permutation test).
``'circular_shift'``
    Within a dyad (continuous data): B's band signals circularly shifted by a random lag of
    at least ``min_shift`` seconds from either end.
``'segment_shuffle'``
    Within a dyad (continuous data): Ramseyer & Tschacher's (2010) pseudo-interactions for
    windowed measures: B's recording cut into segments of ``segment_duration`` seconds put in
    a random order (10 or more segments give a fine-grained null; with fewer than 4 no
    p-value can reach 0.05, which is warned about); windows stay inside segments.
``'phase_randomization'``
    Within a dyad (continuous data): Fourier phase randomisation of B (Theiler et al.,
    1992), the same random phases for all of B's channels (Prichard & Theiler, 1994), which
    keeps B's amplitude spectrum and cross-spectra and destroys any relation with A.

How it is fast: the band analytic signals of each person are computed once (exactly as
:func:`hyperinsync.compute_sync` computes them: one transform of the continuous recording,
then cut into epochs with its own helpers). Every pairing is then a batched product
(``hyperinsync.stats.pairing_nulls``): people (or epochs) are folded into the channel axis,
so one product yields all A_i x B_j (or all epoch k x epoch l) pairs of a band at once, and
each surrogate gathers its pairs' values; for PLV, coh and imcoh the unit phasors, powers and
B's conjugate are made once per chunk and each product is one BLAS call. Circular
shifts of PLV, coh and imcoh come from sums: B is held twice in a row so that every shift is
a contiguous slice, and one batched product per epoch gives the cross sums of a whole chunk
of shifts (``hyperinsync.sync.shifts``; unit phasors and powers are made once, B's
window powers come from one cumulative sum); the measures that are not sums (wPLI, ccorr,
envcorr) gather B's shifted epochs per chunk. Work is cut into chunks whose intermediate
arrays stay below about ``max_bytes`` (the same bound as :func:`~hyperinsync.compute_sync`;
on the CPU, chunks of surrogates hold at most 32 MB, in scratch arrays reused from chunk to
chunk) and run in ``n_jobs`` threads with BLAS on one thread.
"""

from __future__ import annotations

import mne
import numpy as np

from .._docs import fill_doc
from .._utils import (
    _validate_type,
    check_correction,
    check_seed,
    logger,
    verbose,
)
from ..backend import gpu_fallback, gpu_step, single_blas_thread
from ..sync.signals import DyadSignals
from .group import permutation_test
from .inference import fdr_bh
from .nulls import (
    _observed_phase,
    _observed_within,
    _phase_null,
    _Prepared,
    _roi_level,
    _shift_null,
)
from .pairing_nulls import _pairing_null, _pseudo_null
from .pairings import (
    _pseudo_pairs,
    shuffle_orders,
)
from .result import CORRECTIONS, SurrogateResult, resolve_tails
from .surrogate_checks import (
    NULLS,  # noqa: F401 (public, importable from here as before)
    _check_arguments,
    _select_channels,
)


@gpu_fallback("surrogate_sync")
@single_blas_thread
@verbose
@fill_doc
def surrogate_sync(
    inst_or_insts,
    bands=None,
    measures="plv",
    *,
    null="epoch_shuffle",
    n_surrogates=1000,
    rois="default",
    seed=None,
    keep_roles=True,
    min_shift=2.0,
    epoch_duration=2.0,
    segment_duration=30.0,
    correction="fdr",
    tail="auto",
    signed=False,
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
    verbose=None,
):
    """Observed synchrony and its surrogate null distribution.

    Values follow :func:`hyperinsync.compute_sync` with ``convention='within'`` and
    ``pairs='inter'``: each measure over the time points of an epoch (``epoch_duration`` s,
    no overlap, windows touching ``BAD_*`` annotations left out), averaged over epochs. The
    null values are computed from the same band signals, so window length, bands and
    preprocessing are the same for observed and null values.

    Parameters
    ----------
    inst_or_insts : DyadRaw | DyadEpochs | list of them
        One dyad (within-dyad nulls) or a list of at least 2 dyads (``'pseudo_dyads'``).
    %(bands)s
    %(measures)s
    null : str
        ``'pseudo_dyads'``, ``'epoch_shuffle'``, ``'circular_shift'``, ``'segment_shuffle'``
        or ``'phase_randomization'`` (see :mod:`hyperinsync.stats.surrogates`). The last three
        need continuous data (Raw).
    n_surrogates : int | None
        Number of surrogates; for ``'pseudo_dyads'`` ``None`` uses all pseudo-dyads (a
        random subset otherwise).
    %(rois)s
        With ROIs, observed and null values are ROI-pair means (per surrogate).
    %(seed)s
    keep_roles : bool
        ``'pseudo_dyads'``: pair only first-role with second-role people (therapist *i* x
        client *j*); ``False``: any two people of different dyads.
    min_shift : float
        ``'circular_shift'``: the smallest lag in seconds (from either end of the recording).
    %(epoch_duration)s
    segment_duration : float
        ``'segment_shuffle'``: segment length in seconds, rounded to whole epochs.
    correction : 'fdr' | 'maxstat' | None
        Multiple-comparison correction of the p-values (see :class:`SurrogateResult`).
    %(tail_sync)s
    %(signed_sync)s
    %(reject_by_annotation)s
    %(picks)s
    %(method)s
    %(decim)s
    %(n_cycles)s
    %(freq_step)s
    %(trans_bandwidth)s
    %(precision)s
    %(backend)s
    %(n_jobs)s
        With NumPy, threads: one person's band signals per thread, then chunks of
        surrogates (BLAS on one thread meanwhile); the same values with any number.
    %(max_bytes)s
    %(verbose)s

    Returns
    -------
    result : SurrogateResult
        Observed values, the null, p, z and effect sizes.
    """
    correction, measures, rng, n_surrogates, insts = _check_arguments(
        inst_or_insts, null, measures, seed, n_surrogates, correction, keep_roles
    )
    # the signal options, checked once on the first dyad (every dyad gets the same)
    sig0 = DyadSignals.from_params(insts[0], bands, locals())
    bands, bk, max_bytes = sig0.bands, sig0.bk, sig0.max_bytes
    params = dict(
        null=null,
        seed=seed if isinstance(seed, (int, np.integer)) else None,
        epoch_duration=float(epoch_duration),
        method=method,
        backend=bk.name,
        precision=precision,
        decim=decim,
        reject_by_annotation=bool(reject_by_annotation),
    )

    _validate_type(signed, bool, "signed")
    tails = resolve_tails(tail, measures, signed)
    params.update(signed=signed)
    insts, order, channels, rows, cols, reducer, extra = _select_channels(
        insts, null, keep_roles, picks, rois
    )
    params.update(extra)
    roles0 = order[0]
    prep = _Prepared([sig0.like(inst) for inst in insts], epoch_duration, channels, order, signed)
    n_ep = len(prep.masks[0])
    logger.info(
        f"Surrogates: {null}, {len(insts)} dyad(s), {len(rows)} x {len(cols)} channels, "
        f"{n_ep} epochs, {', '.join(measures)} in {', '.join(bands)}"
    )

    if null == "pseudo_dyads":
        pairs = _pseudo_pairs(len(insts), keep_roles, n_surrogates, rng)
        with gpu_step("pseudo-dyad values"):
            null_vals, observed = _pseudo_null(prep, measures, pairs, len(insts), bk, max_bytes)
        params.update(pairs=pairs.tolist(), n_surrogates=len(pairs))
    else:
        with gpu_step("observed values"):
            observed = _observed_within(prep, measures, bk)
        if null == "epoch_shuffle":
            if n_ep < 2:
                raise ValueError("epoch_shuffle needs at least 2 epochs.")
            perms = shuffle_orders(rng, n_ep, n_surrogates, "epochs")
            with gpu_step("epoch_shuffle null"):
                null_vals = _pairing_null(prep, measures, perms, bk, max_bytes, reducer)
        elif null == "segment_shuffle":
            per_seg = max(1, int(round(segment_duration / epoch_duration)))
            n_seg = n_ep // per_seg
            if n_seg < 2:
                raise ValueError(
                    f"segment_shuffle needs at least 2 segments: the recording has {n_ep} "
                    f"epochs of {epoch_duration} s, segment_duration={segment_duration} s. "
                    "Use a shorter segment_duration (10 or more segments give a "
                    "fine-grained null)."
                )
            orders = shuffle_orders(rng, n_seg, n_surrogates, "segments")
            # epochs past the last whole segment stay in place
            perms = np.tile(np.arange(n_ep), (n_surrogates, 1))
            perms[:, : n_seg * per_seg] = (
                orders[:, :, None] * per_seg + np.arange(per_seg)
            ).reshape(n_surrogates, -1)
            # epochs after the last whole segment are not shuffled: leave them out
            prep.masks[0] = prep.masks[0] & (np.arange(n_ep) < n_seg * per_seg)
            with gpu_step("segment_shuffle null"):
                observed = _observed_within(prep, measures, bk)
                null_vals = _pairing_null(prep, measures, perms, bk, max_bytes, reducer)
            params.update(segment_duration=per_seg * float(epoch_duration), n_segments=n_seg)
        elif null == "circular_shift":
            _validate_type(min_shift, "numeric", "min_shift")
            with gpu_step("circular_shift null"):
                null_vals, extra = _shift_null(
                    prep, insts[0], measures, n_surrogates, min_shift, rng, bk, max_bytes
                )
            params.update(min_shift=float(min_shift), **extra)
        else:
            with gpu_step("phase_randomization null"):
                null_vals = _phase_null(
                    prep, insts[0], channels, measures, n_surrogates, rng, bk, max_bytes
                )
        params.update(n_surrogates=int(n_surrogates), n_epochs=int(prep.masks[0].sum()))
        if isinstance(insts[0], mne.io.BaseRaw):
            params.update(n_times=int(insts[0].n_times))
    n_tests = len(measures) * len(bands) * len(rows) * len(cols)
    if correction == "fdr" and len(null_vals) + 1 < n_tests / 0.05:
        logger.info(
            f"FDR over {n_tests} tests with {len(null_vals)} surrogates: a single test cannot "
            f"be significant at 0.05 on its own (it needs {int(np.ceil(n_tests / 0.05)) - 1} "
            "surrogates); correction='maxstat' has no such floor."
        )
    with gpu_step("observed phase"):
        phase = _observed_phase(prep, len(insts) if null == "pseudo_dyads" else None, reducer, bk)
    level = "channel"
    if rois is not None:
        observed, r_rows, r_cols = _roi_level(observed, rows, cols, roles0, rois)
        if null not in ("epoch_shuffle", "segment_shuffle"):  # those are ROI-level already
            null_vals = _roi_level(null_vals, rows, cols, roles0, rois)[0]
        rows, cols, level = r_rows, r_cols, "roi"
    group = None
    if null == "pseudo_dyads":
        params["dyads"] = [str(k) for k in range(len(insts))]
    return SurrogateResult(
        observed,
        null_vals,
        measures=measures,
        bands=bands,
        rows=rows,
        cols=cols,
        level=level,
        correction=correction,
        tail=tails,
        phase=phase,
        params=params,
        group=group,
    )


@verbose
@fill_doc
def surrogate_test(
    inst,
    bands=None,
    measures="plv",
    *,
    null="epoch_shuffle",
    n_surrogates=1000,
    correction="fdr",
    tail="auto",
    signed=False,
    rois="default",
    seed=None,
    min_shift=2.0,
    epoch_duration=2.0,
    segment_duration=30.0,
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
    verbose=None,
):
    """Test a dyad's synchrony against a within-dyad surrogate null.

    The observed values are those of :func:`hyperinsync.compute_sync` (``convention='within'``,
    ``pairs='inter'``, same ``epoch_duration``, bands and method); :math:`p = (b + 1) / (N + 1)`,
    one-sided (synchrony above chance) for magnitudes and two-sided for signed measures
    (see ``tail``).

    Parameters
    ----------
    inst : DyadRaw | DyadEpochs
        The dyad.
    %(bands)s
    %(measures)s
    null : 'epoch_shuffle' | 'circular_shift' | 'segment_shuffle' | 'phase_randomization'
        The null model (see :mod:`hyperinsync.stats.surrogates`).
    %(n_surrogates)s
    correction : 'fdr' | 'maxstat' | None
        Correction over every measure, band and pair of the result: Benjamini-Hochberg FDR,
        or the family-wise maximum statistic of the standardised values (max-z; see
        :class:`SurrogateResult`). With ``m`` tests, FDR at 0.05 cannot reject one test on
        its own unless ``n_surrogates + 1 >= m / 0.05`` (p-values are at least
        ``1 / (n_surrogates + 1)``); it still finds effects spread over many pairs. The
        maximum statistic has no such floor.
    %(tail_sync)s
    %(signed_sync)s
    %(rois)s
    %(seed)s
    min_shift : float
        See :func:`surrogate_sync`.
    %(epoch_duration)s
    segment_duration : float
        See :func:`surrogate_sync`.
    %(reject_by_annotation)s
    %(picks)s
    %(method)s
    %(decim)s
    %(n_cycles)s
    %(freq_step)s
    %(trans_bandwidth)s
    %(precision)s
    %(backend)s
    %(n_jobs)s
        With NumPy, threads: one person's band signals per thread, then chunks of
        surrogates (BLAS on one thread meanwhile); the same values with any number.
    %(max_bytes)s
    %(verbose)s

    Returns
    -------
    result : SurrogateResult
        Observed, null, p, corrected p, z and effect size per measure, band and pair.

    Examples
    --------
    >>> raw, truth = hs.simulate_dyad(
    ...     duration=30.0, sfreq=100.0, roles=("therapist", "client"),
    ...     couplings=[hs.Coupling("alpha", "central", "central", strength=0.6)], seed=0)
    >>> stat = hs.surrogate_test(raw, {"alpha": (8, 13)}, "plv", n_surrogates=99,
    ...                          correction="maxstat", seed=0)
    >>> stat
    <SurrogateResult | epoch_shuffle | 99 surrogates | plv | alpha | 5 x 5 roi pairs>
    >>> table = stat.to_table()
    >>> table[table["p_corrected"] < 0.05][["row", "col", "direction", "phase"]]
           row      col     direction     phase
    6  central  central  above chance  in-phase
    """
    if null == "pseudo_dyads":
        raise ValueError("surrogate_test tests one dyad: use pseudo_dyad_test for pseudo-dyads.")
    return surrogate_sync(
        inst,
        bands,
        measures,
        null=null,
        n_surrogates=n_surrogates,
        rois=rois,
        seed=seed,
        min_shift=min_shift,
        epoch_duration=epoch_duration,
        segment_duration=segment_duration,
        correction=correction,
        tail=tail,
        signed=signed,
        reject_by_annotation=reject_by_annotation,
        picks=picks,
        method=method,
        decim=decim,
        n_cycles=n_cycles,
        freq_step=freq_step,
        l_trans_bandwidth=l_trans_bandwidth,
        h_trans_bandwidth=h_trans_bandwidth,
        precision=precision,
        backend=backend,
        n_jobs=n_jobs,
        max_bytes=max_bytes,
    )


@verbose
@fill_doc
def pseudo_dyad_test(
    dyads,
    bands=None,
    measures="plv",
    *,
    n_surrogates=None,
    keep_roles=True,
    rois="default",
    correction="fdr",
    tail="auto",
    signed=False,
    n_permutations=5000,
    seed=None,
    epoch_duration=2.0,
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
    verbose=None,
):
    """Real dyads against pseudo-dyads (people who never interacted).

    Per real dyad: its value, p and z against the pseudo-dyad distribution. At group level:
    the real dyads' values against the pseudo-dyads' with
    :func:`hyperinsync.stats.permutation_test` (mean difference, permutation p, Cohen's d),
    per measure, band and pair, with the measure's ``tail`` (real > pseudo for magnitudes).

    People are paired by role *name*: with ``keep_roles=True`` the first role of dyad 0
    (e.g. ``'therapist'``) of dyad *i* is paired with the second role of dyad *j*, whatever
    the order of a dyad's channels; every dyad must have the same two roles.

    Parameters
    ----------
    dyads : list of DyadRaw | list of DyadEpochs
        At least 2 dyads (same sampling rate; lengths are cut to the shortest and channels
        to those all share, both reported in ``result.params``).
    %(bands)s
    %(measures)s
    n_surrogates : int | None
        Number of pseudo-dyads drawn at random; ``None``: all.
    keep_roles : bool
        Pair only people of the two different roles (by name; dyad 0's roles define which
        is first) of different dyads. Dyads whose role names differ from dyad 0's are an
        error. ``False``: any two people of different dyads.
    %(rois)s
    correction : 'fdr' | 'maxstat' | None
        Correction of each real dyad's p-values over its measures, bands and pairs (FDR or
        the standardised maximum statistic, see :class:`SurrogateResult`). The group
        p-values are corrected by FDR in either case (Benjamini-Hochberg over measures, bands
        and pairs; under the complete null it holds the family-wise rate too).
    %(tail_sync)s
    %(signed_sync)s
    n_permutations : int
        Permutations of the group test.
    %(seed)s
    %(epoch_duration)s
    %(reject_by_annotation)s
    %(picks)s
    %(method)s
    %(decim)s
    %(n_cycles)s
    %(freq_step)s
    %(trans_bandwidth)s
    %(precision)s
    %(backend)s
    %(n_jobs)s
        With NumPy, threads: one person's band signals per thread, then chunks of
        surrogates (BLAS on one thread meanwhile); the same values with any number.
    %(max_bytes)s
    %(verbose)s

    Returns
    -------
    result : SurrogateResult
        ``observed`` per real dyad ``(n_dyads, n_measures, n_bands, n_rows, n_cols)``, the
        pseudo-dyad ``null``, and ``group`` (real vs pseudo).

    Examples
    --------
    Six simulated dyads coupled in central alpha, against every therapist *i* x client *j*:

    >>> study = hs.simulate_study(n_dyads=6, segments=[("rest_pre", 30.0)], sfreq=100.0,
    ...                           groups={"mindful": 0.6, "non-mindful": 0.6}, seed=1)
    >>> dyads = [study.get_dyad(name)[0] for name in study.dyads]
    >>> group = hs.pseudo_dyad_test(dyads, {"alpha": (8, 13)}, n_permutations=999, seed=0)
    >>> group
    <SurrogateResult | pseudo_dyads | 6 dyads, 30 surrogates | plv | alpha | 5 x 5 roi pairs>
    >>> table = group.to_table()   # one row per dyad and ROI pair; group_p: real vs pseudo
    >>> table.query("row == 'central' and col == 'central'")["group_p"].iloc[0]
    0.001
    """
    rng = check_seed(seed)
    correction = check_correction(correction, CORRECTIONS)
    res = surrogate_sync(
        dyads,
        bands,
        measures,
        null="pseudo_dyads",
        n_surrogates=n_surrogates,
        rois=rois,
        seed=rng,
        keep_roles=keep_roles,
        epoch_duration=epoch_duration,
        correction=correction,
        tail=tail,
        signed=signed,
        reject_by_annotation=reject_by_annotation,
        picks=picks,
        method=method,
        decim=decim,
        n_cycles=n_cycles,
        freq_step=freq_step,
        l_trans_bandwidth=l_trans_bandwidth,
        h_trans_bandwidth=h_trans_bandwidth,
        precision=precision,
        backend=backend,
        n_jobs=n_jobs,
        max_bytes=max_bytes,
    )
    if len(res.null) < 2:
        raise ValueError("The group test needs at least 2 pseudo-dyads.")
    per = [
        permutation_test(
            res.observed[:, mi],
            res.null[:, mi],
            n_permutations=n_permutations,
            seed=rng,
            tail=res.tail[m],
        )
        for mi, m in enumerate(res.measures)
    ]
    grp = {k: np.stack([np.asarray(g[k]) for g in per]) for k in ("diff", "p", "d")}
    grp.update(
        n_a=per[0]["n_a"],
        n_b=per[0]["n_b"],
        n_permutations=per[0]["n_permutations"],
        tail=dict(res.tail),
    )
    grp["p_corrected"] = None if correction is None else fdr_bh(grp["p"])[1]
    res.group = grp
    res.params["seed"] = seed if isinstance(seed, (int, np.integer)) else None
    return res
