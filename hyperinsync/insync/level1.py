r"""In-Sync Level 1 (phasic): synchrony episodes in sliding windows (:func:`level1`)."""

from __future__ import annotations

from math import gcd

import mne
import numpy as np

from .. import stats
from .._docs import fill_doc
from .._utils import (
    _check_option,
    _validate_type,
    check_correction,
    check_seed,
    logger,
    renamed_argument,
    verbose,
)
from ..backend import gpu_fallback, gpu_step, single_blas_thread
from ..sync.measures import unit
from ..sync.signals import DyadSignals
from .episodes import (
    _count_p,
    _critical,
    _episode_bounds,
    _lead_lag,
    _lead_lag_sums,
    _merge_episodes,
    _robust_level,
    _standardise,
)
from .level1_checks import (
    LEVEL1_RANGE,  # noqa: F401 (public constant, importable from here as before)
    _check_shuffle_block,
    _check_valid_windows,
    _check_window,
    _piece_orders,
)
from .results import InSyncLevel1
from .windows import (
    WINDOW_MEASURES,
    _bad_windows,
    _BlockCross,
    _check_n_surrogates,
    _check_positive,
    _check_window_method,
    _Geometry,
    _null_shifts,
    _orig_time_str,
    _PairSeries,
    _run_null,
    _Signals,
)

CORRECTIONS = ("maxstat", None)


@gpu_fallback("level1")
@single_blas_thread
@verbose
@fill_doc
def level1(
    raw,
    bands=None,
    rois="default",
    *,
    measure="plv",
    window=6.0,
    step=0.5,
    n_surrogates=200,
    shuffle_block="auto",
    min_shift=10.0,
    alpha=0.05,
    correction="maxstat",
    merge_gap=1.0,
    min_duration=None,
    lead_lag=True,
    max_lag=1.0,
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
    r"""In-Sync Level 1 (phasic): synchrony episodes in sliding windows.

    For every band and ROI pair (first role's ROI x second role's ROI) the measure is computed
    in windows of ``window`` s every ``step`` s (per channel pair, then averaged over the ROI
    pair's channel pairs), by running sums (see the module docstring). Each window is tested
    twice:

    **Episodes: a transient rise above the tonic level.** In the In-Sync model a Level 1
    episode is a brief rise of synchrony above the segment's own tonic (Level 2) level, not
    synchrony above chance: constant coupling over a recording is tonic and makes no episode.
    Pass one segment at a time (e.g. ``raw.copy().crop(...)``; in a study, ``segment=``).
    Each series' tonic level is its median window value :math:`T` and its spread the robust SD
    :math:`S` (1.4826 x median absolute deviation; both barely moved by a few episodes), and a
    window's rise is :math:`z = (v - T) / S`. The null keeps the tonic coupling and scatters
    transient rises: the per-block cross sums of the two people's signals (which hold their
    coupling) are cut into pieces of ``shuffle_block`` s and put in random order, the same
    order for every channel pair and band (pieces touching ``BAD_`` spans stay in place), and
    every window is recomputed; each shuffled series is standardised by its own median and
    robust SD. Standardising each series by itself removes the differences in level and
    spread between ROI pairs and bands (different chance levels, tonic couplings) and the
    slightly smaller variance that breaking the signals' short memory at the cuts gives the
    shuffled windows.

    **Correction** (``correction='maxstat'``, default): one family of all windows, ROI pairs
    and bands. Each of the ``n_surrogates`` shuffles contributes the maximum :math:`M_k` of its
    standardised windows over the family (Nichols & Holmes, 2002), and a window's p-value is
    :math:`(1 + \#\{k: M_k \ge z\}) / (N + 1)`. Windows with :math:`p \le \alpha` are
    significant: the probability that a recording without transient coupling (no coupling,
    or constant coupling of any strength) shows *any* episode is about :math:`\alpha`,
    whatever the number of windows, ROI pairs and bands and their dependence (about, because
    the shuffle keeps each piece's coupling but not the short memory of the signals across
    the cuts). Measured on simulated dyads (``benchmarks/validity/level1.py``; 3-min
    recordings at 250 Hz, 3 x 3 ROI pairs of 3 channels, theta and alpha, 6 s windows every
    0.5 s) the rate was 0.040 with no coupling (400 recordings) and 0.053 and 0.061 under
    constant coupling of 0.2 and 0.4 (400 and 800; ``benchmarks/VALIDITY.md``): strong tonic
    coupling makes the test slightly liberal. ``threshold`` is the value above which a window
    is significant. ``correction=None`` tests each window
    on its own against non-overlapping windows of its series' shuffles, for exploration.

    **Above chance** (a separate, named result, not episodes). Person B's band signals are
    circularly shifted by ``n_surrogates`` random lags of at least ``min_shift`` s (at most the
    recording length minus ``min_shift``; the same lag in s for every band), which keeps each
    person's spectrum and autocorrelation and destroys their alignment. Each window is
    standardised by its series' surrogate windows (mean and SD) and corrected with the
    maximum over the same family (``p_chance``, ``above_chance``); each series' mean
    window value is tested against the surrogates' means (:meth:`InSyncLevel1.chance_table`).

    **Episodes' bounds.** Runs of significant windows are detections. Each is bounded where
    the series crosses the value of a *half-coupled* window, interpolated between window
    centres: with :math:`P` the run's median value, :math:`T` the tonic level and :math:`B`
    the chance level (mean of circular-shift windows), a window with a fraction :math:`f` of
    the stretch sums its coherent part and that of the tonic coupling around it, plus noise,
    :math:`v(f) \approx \sqrt{(f\sqrt{P^2-B^2} + (1-f)\sqrt{T^2-B^2})^2 + B^2}`, so the
    crossing of :math:`v(1/2)` is where the window centre sits on the stretch's edge.
    Onsets and offsets of episodes longer than ``window`` are thus resolved to about
    ``step``; an episode shorter than ``window`` appears about ``window`` long (the window
    is the time resolution). Episodes less than ``merge_gap`` s apart (or overlapping) are
    merged; those shorter than ``min_duration`` are dropped.

    **Lead-lag.** Within each episode, the ROI-mean PLV of :math:`A(t)` with
    :math:`B(t + \tau)` is computed for every :math:`\tau` in ``[-max_lag, max_lag]`` in steps
    of one decimated sample (``1 / (sfreq / decim)`` s). :math:`\tau > 0` means B follows A.
    The lag is the centre of symmetry of the PLV peak: the zero, near the highest PLV, of
    :math:`D(\tau) = \sum_{d=1}^{h} \mathrm{PLV}(\tau + d) - \mathrm{PLV}(\tau - d)`
    (:math:`h` = 1 / bandwidth, the peak's half-width). The episode is cut into 4-20 blocks
    (at least 2 / bandwidth s each); the delete-one-block jackknife gives the standard error
    of :math:`D(\tau_0)`, and the ``1 - alpha`` confidence interval of the lag holds the lags
    :math:`\tau_0` around the estimate where :math:`|D(\tau_0)| / \mathrm{SE}` stays below
    Student's t (blocks - 1 degrees of freedom). A leader (``'<roleA>-led'`` or
    ``'<roleB>-led'``) is named only when the interval excludes 0, else ``'simultaneous'``:
    at zero lag a leader is named in about ``alpha`` of episodes.

    **Phase relation.** The mean phase difference A - B at zero lag (the instantaneous
    relation; with a lag :math:`\tau` a band at :math:`f` turns by :math:`2 \pi f \tau`, so
    read it with the lag) and its jackknife interval. The mean cosine of the phase
    difference gets a two-sided jackknife t-test (``p_phase``): significantly positive is
    ``'in-phase'``, negative ``'anti-phase'``, else ``'undetermined'`` (no phase relation, or
    near quadrature).

    Parameters
    ----------
    raw : DyadRaw | mne.io.BaseRaw
        The dyad recording (channel names ``'<role>:<channel>'``), one segment; bad channels
        are skipped.
    %(bands)s
    %(rois)s
        ROIs are resolved per person; names must not contain ``'/'``.
    %(window_measure)s
    window : float
        Window length in s, within the Level 1 range 0.3-10 s (default 6 s, the "social
        present") and at least two cycles of every band's lowest frequency.
    step : float
        Window step in s (at most ``window``).
    n_surrogates : int
        Number of block shuffles (episode test) and of circular shifts (chance test); at
        least ``1 / alpha - 1``.
    shuffle_block : float | 'auto'
        Length in s of the pieces the episode test's null shuffles: a multiple of the greatest
        common divisor of ``window`` and ``step``, at most half the window. ``'auto'``: about
        1 s (at most half the window), longer than the memory of band signals
        (about 1 / bandwidth) so that each piece's coupling is kept, shorter than an episode
        so that episodes are broken up.
    min_shift : float
        Smallest circular shift in s (chance test); the recording must be longer than twice
        this plus the window.
    alpha : float
        Significance level of windows (family-wise with ``'maxstat'``) and ``1 -`` the level
        of the lead-lag and phase intervals.
    correction : 'maxstat' | None
        Multiple-comparison correction (see above).
    merge_gap : float
        Episodes closer than this (s) are merged.
    min_duration : float | None
        Episodes shorter than this (s) are dropped; ``None``: keep all.
    lead_lag : bool
        Estimate lag, leader and phase relation per episode.
    max_lag : float
        Largest lag searched (s).
    %(seed)s
    reject_by_annotation : bool
        Windows touching a ``BAD_`` annotation (of A, or of B at the surrogate's shift) get
        NaN and never count; NaN or infinite samples inside ``BAD_`` spans are allowed
        (bridged by a straight line for the filter only). A recording with too few windows
        left is an error.
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
        With NumPy, threads over chunks of signals (band signals) and over the surrogates
        (the circular shifts in chunks, see ``hyperinsync.insync.windows``); BLAS runs on
        one thread meanwhile.
    %(max_bytes)s
    %(n_null_deprecated)s
    %(verbose)s

    Returns
    -------
    result : InSyncLevel1
        Window series, both tests, episodes (``result.to_table()``), synchrony above chance
        (``result.chance_table()``, ``result.above_chance``) and the episodes' annotations
        (``result.annotations``; add them with :func:`annotate`).

    Examples
    --------
    A 12 s episode of central alpha coupling planted at 16 s of a 40 s segment:

    >>> raw, truth = hs.simulate_dyad(
    ...     duration=40.0, sfreq=100.0, roles=("therapist", "client"), seed=2,
    ...     couplings=[hs.Coupling("alpha", "central", "central", strength=0.8,
    ...                            episodes=[(16.0, 28.0)])])
    >>> l1 = hs.level1(raw, {"alpha": (8, 13)}, n_surrogates=49, seed=0)  # 69 windows of 6 s
    >>> l1.to_table()[["roi_a", "roi_b", "onset", "duration", "leader", "phase"]].round(1)
         roi_a    roi_b  onset  duration        leader     phase
    0  central  central   15.9      11.8  simultaneous  in-phase
    >>> hs.annotate(raw, l1).annotations.description.tolist()    # onto the recording
    ['insync/L1/alpha/central-central']
    """
    _validate_type(raw, mne.io.BaseRaw, "raw", "Raw")
    dsig = DyadSignals.from_params(raw, bands, locals())
    _check_window_method(dsig, "Level 1")
    _check_option("measure", measure, WINDOW_MEASURES)
    correction = check_correction(correction, CORRECTIONS)
    n_surrogates = renamed_argument(n_surrogates, n_null, "n_surrogates", "n_null", 200)
    sfreq, bands = dsig.sfreq, dsig.bands
    alpha = stats.check_alpha(alpha)
    n_surrogates = _check_n_surrogates(n_surrogates, alpha)
    n_win, n_step = _check_window(window, step, bands, sfreq, raw.n_times)
    # windows start and end on a grid of n_unit samples: the blocks of the running sums
    n_unit = gcd(n_win, n_step)
    m = _check_shuffle_block(shuffle_block, n_unit, sfreq, n_win / sfreq, bands)
    min_shift = _check_positive(min_shift, "min_shift")
    max_lag = _check_positive(max_lag, "max_lag")
    _validate_type(merge_gap, "numeric", "merge_gap")
    min_duration = 0.0 if min_duration is None else float(min_duration)
    if raw.n_times / sfreq <= 2 * min_shift + window:
        raise ValueError(
            f"The recording ({raw.n_times / sfreq:g} s) is too short for circular shifts of "
            f"at least min_shift={min_shift:g} s: it must be longer than 2 * min_shift + "
            f"window = {2 * min_shift + window:g} s. Use a smaller min_shift."
        )
    rng = check_seed(seed)
    bk, n_jobs, max_bytes = dsig.bk, dsig.n_jobs, dsig.max_bytes
    xp = bk.xp
    sig = _Signals(dsig, rois, n_win, n_step, what="Level 1")
    roles = sig.roles
    n_ra, n_rb = len(sig.roi_names[0]), len(sig.roi_names[1])
    n_windows = (raw.n_times - n_win) // n_step + 1
    times = (np.arange(n_windows) * n_step + n_win / 2.0) / sfreq
    t_end = raw.n_times / sfreq
    shape = (len(bands), n_ra, n_rb)
    values = np.full(shape + (n_windows,), np.nan)
    tonic, tonic_sd = np.empty(shape), np.empty(shape)
    null_mean, null_sd = np.empty(shape), np.empty(shape)
    tonic_max = np.empty((n_surrogates,) + shape)  # per shuffle: max standardised window
    chance_max = np.empty((n_surrogates,) + shape)  # per shift: max window value
    series_null = np.empty((n_surrogates,) + shape)  # per shift: mean window value
    tonic_pool, chance_pool = [], []  # non-overlapping null windows (None)
    # one set of draws for all bands: the family's maxima keep the bands' dependence
    n_blocks = raw.n_times // n_unit
    bad_blocks = sig.bad[: n_blocks * n_unit].reshape(n_blocks, n_unit).any(axis=1)
    orders = _piece_orders(rng, n_blocks, m, bad_blocks, n_surrogates)
    shifts = _null_shifts(rng, raw.n_times, int(np.ceil(min_shift * sfreq)), n_surrogates)
    _check_valid_windows(
        raw,
        ~_bad_windows(
            sig.bad, 0, _Geometry(n_unit, n_win // n_unit, n_step // n_unit, n_windows, raw.n_times)
        ),
        window,
        step,
    )
    logger.info(
        f"In-Sync Level 1: {measure} in {', '.join(bands)}, {n_ra} x {n_rb} ROI pairs, "
        f"{n_windows} windows of {window:g} s every {step:g} s, {n_surrogates} block shuffles "
        f"({m * n_unit / sfreq:g} s pieces) and {n_surrogates} circular shifts"
    )
    for bi, band in enumerate(bands):
        q = sig.decim[band]
        n_dec = sig.z[band][0].shape[-1]
        geo = _Geometry(n_unit // q, n_win // n_unit, n_step // n_unit, n_windows, n_dec)
        bad_dec = sig.bad[::q][:n_dec]
        bad_w = _bad_windows(bad_dec, 0, geo)
        valid = ~bad_w
        with gpu_step("Level 1 window sums"):
            pairs = _PairSeries(sig, band, measure, geo, slice(None), max_bytes)
            cross = _BlockCross(pairs, sig, max_bytes)
            obs = cross()
        obs[bad_w] = np.nan
        values[bi] = np.moveaxis(obs, 0, -1)
        tonic[bi], tonic_sd[bi] = _robust_level(obs[valid])
        # non-overlapping windows of each null series: the null of one window
        sub = slice(0, None, max(1, -(-geo.w // geo.h)))
        # blocks past the common grid (decimation rounding) stay at the end; the orders
        # and window masks go to the device once, the nulls' values come back once
        tail = np.arange(n_blocks, geo.n_blocks)
        orders_dev = xp.asarray(
            np.concatenate([orders, np.broadcast_to(tail, (len(orders), len(tail)))], axis=1)
        )
        valid_dev = xp.asarray(np.flatnonzero(valid))

        def shuffled(ks):
            # the orders of the chunk at once, windows first: (n_valid, K, n_ra, n_rb)
            v = xp.moveaxis(cross.batch(orders_dev[ks])[:, valid_dev], 0, 1)
            loc, scale = _robust_level(v, xp)  # per order
            return (
                _standardise(v.max(axis=0), loc, scale, xp),
                xp.moveaxis(_standardise(v[sub], loc, scale, xp), 1, 0),
            )

        with gpu_step("Level 1 tonic null"):
            tonic_max[:, bi], pooled = _run_null(
                shuffled,
                n_surrogates,
                cross.chunk(n_surrogates),
                n_jobs,
                bk,
                f"Level 1 tonic null ({band})",
            )
        if correction is None:
            tonic_pool.append(pooled.reshape((-1,) + pooled.shape[2:]))

        lags = np.array([int(round(shift / q)) for shift in shifts])
        # windows touching a BAD_ sample of A or of the shifted B, per shift (host, once)
        bad_s = np.stack([_bad_windows(bad_dec, s, geo) for s in lags])
        n_ok = (~bad_s).sum(axis=1)
        # the lags and window masks go to the device once; every chunk slices them there
        lags_dev = xp.asarray(lags)
        ok_dev = n_ok_dev = None
        if bad_dec.any():
            ok_dev = xp.asarray(~bad_s[:, :, None, None])
            n_ok_dev = xp.asarray(n_ok.astype(float)[:, None, None])

        def shifted(ks):
            # all shifts of the chunk at once: (K, n_windows, n_ra, n_rb)
            v = pairs.batch(source, lags[ks], lags_dev[ks])
            if ok_dev is None:
                return v.max(axis=1), v.mean(axis=1), v[:, sub]
            ok = ok_dev[ks]
            v = xp.where(ok, v, np.nan)
            # a shift whose BAD_ spans (of A and of shifted B) cover every window is NaN
            some = n_ok_dev[ks] > 0
            top = xp.where(some, xp.where(ok, v, -np.inf).max(axis=1), np.nan)
            mean = xp.where(
                some, xp.where(ok, v, 0.0).sum(axis=1) / xp.maximum(n_ok_dev[ks], 1.0), np.nan
            )
            return top, mean, v[:, sub]

        with gpu_step("Level 1 chance null"):
            source = pairs.shifts()  # B twice in a row: every shift a contiguous slice
            chance_max[:, bi], series_null[:, bi], pooled = _run_null(
                shifted,
                len(lags),
                pairs.chunk(len(lags)),
                n_jobs,
                bk,
                f"Level 1 chance null ({band})",
            )
        pooled = pooled.reshape((-1,) + pooled.shape[2:])  # (n_pooled, n_ra, n_rb)
        null_mean[bi] = np.nanmean(pooled, axis=0)
        null_sd[bi] = np.nanstd(pooled, axis=0, ddof=1)
        if correction is None:
            chance_pool.append(pooled)
    z = _standardise(values, tonic[..., None], tonic_sd[..., None])
    z_chance = _standardise(values, null_mean[..., None], null_sd[..., None])
    chance_z_max = _standardise(chance_max, null_mean, null_sd)
    # (a shift whose BAD_ spans cover every window is NaN and left out)
    s_mean, s_sd = np.nanmean(series_null, axis=0), np.nanstd(series_null, axis=0, ddof=1)
    obs_mean = np.nanmean(values, axis=-1)
    s_z = _standardise(obs_mean, s_mean, s_sd)
    s_null_z = _standardise(series_null, s_mean, s_sd)
    p_values, p_chance = np.empty_like(values), np.empty_like(values)
    threshold, chance_threshold, s_p = np.empty(shape), np.empty(shape), np.empty(shape)
    # the family's maxima (max-statistic) or each series' own null windows (None)
    fam_t, fam_c = tonic_max.max(axis=(1, 2, 3)), chance_z_max.max(axis=(1, 2, 3))
    fam_s = s_null_z.max(axis=(1, 2, 3))
    for ix in np.ndindex(shape):
        if correction == "maxstat":
            ref_t, ref_c, ref_s = fam_t, fam_c, fam_s
        else:
            bi, ri, ci = ix
            ref_t = tonic_pool[bi][:, ri, ci]
            ref_c = chance_pool[bi][:, ri, ci]
            ref_c = _standardise(ref_c, null_mean[ix], null_sd[ix])
            ref_s = s_null_z[(slice(None),) + ix]
        p_values[ix] = _count_p(z[ix], ref_t)
        p_chance[ix] = _count_p(z_chance[ix], ref_c)
        s_p[ix] = _count_p(s_z[ix], ref_s)
        threshold[ix] = tonic[ix] + tonic_sd[ix] * _critical(ref_t, alpha)
        chance_threshold[ix] = null_mean[ix] + null_sd[ix] * _critical(ref_c, alpha)
    tonic_null_max, chance_null_max = fam_t, fam_c
    with np.errstate(invalid="ignore"):
        above = p_chance <= alpha
    episodes, chance, pending = [], [], []
    units = {}  # unit phasors of ROI channels on the device, per band, role and ROI
    # the channels of every ROI go to the device at once (one index array per role)
    offsets = [np.cumsum([0] + [len(i) for i in sig.idx[r]]) for r in (0, 1)]
    roi_idx = [xp.asarray(np.concatenate(sig.idx[r])) for r in (0, 1)] if lead_lag else None
    for bi, band in enumerate(bands):
        za, zb = sig.z[band]
        q = sig.decim[band]
        for ri, roi_a in enumerate(sig.roi_names[0]):
            for ci, roi_b in enumerate(sig.roi_names[1]):
                ix = (bi, ri, ci)
                n_valid = int(np.isfinite(values[ix]).sum())
                chance.append(
                    dict(
                        band=band,
                        roi_a=roi_a,
                        roi_b=roi_b,
                        tonic=float(tonic[ix]),
                        mean=float(obs_mean[ix]),
                        null_mean=float(s_mean[ix]),
                        z=float(s_z[ix]),
                        p=float(s_p[ix]),
                        n_windows=n_valid,
                        n_above_chance=int(above[ix].sum()),
                        frac_above_chance=float(above[ix].sum() / max(n_valid, 1)),
                    )
                )
                obs, p = values[ix], p_values[ix]
                with np.errstate(invalid="ignore"):
                    sig_w = p <= alpha
                if not sig_w.any():
                    continue
                found = _episode_bounds(
                    times,
                    obs,
                    sig_w,
                    null_mean[ix],
                    tonic[ix],
                    n_step / sfreq,
                    n_win / sfreq,
                    t_end,
                )
                found = _merge_episodes(found, obs, float(merge_gap), min_duration)
                for on, off, pk in found:
                    row = dict(
                        band=band,
                        roi_a=roi_a,
                        roi_b=roi_b,
                        onset=float(on),
                        duration=float(off - on),
                        peak=float(obs[pk]),
                        peak_time=float(times[pk]),
                        tonic=float(tonic[ix]),
                        z=float(z[ix][pk]),
                        p=float(p[pk]),
                        p_chance=float(p_chance[ix][pk]),
                        above_chance=bool(above[ix][pk]),
                    )
                    episodes.append(row)
                    if not lead_lag:
                        continue
                    for r, z_, k in ((0, za, ri), (1, zb, ci)):
                        if (bi, r, k) not in units:
                            sl = slice(offsets[r][k], offsets[r][k + 1])
                            units[(bi, r, k)] = unit(z_[roi_idx[r][sl]])
                    fmin, fmax = bands[band]
                    with gpu_step("Level 1 lead-lag"):
                        meta, sums = _lead_lag_sums(
                            units[(bi, 0, ri)],
                            units[(bi, 1, ci)],
                            int(round(on * sfreq / q)),
                            int(round(off * sfreq / q)),
                            int(round(max_lag * sfreq / q)),
                            sfreq / q,
                            fmax - fmin,
                            max_bytes,
                            xp,
                        )
                    pending.append((row, meta, sums, sfreq / q, fmax - fmin))
    # every episode's cross sums come to the host in one copy
    host = iter(bk.to_numpy_many(*(a for job in pending for a in job[2])))
    for row, meta, sums, sfreq_dec, width in pending:
        sums = [next(host) for _ in sums]
        row.update(_lead_lag(meta, sums, sfreq_dec, width, roles, alpha))
    episodes.sort(key=lambda e: (e["onset"], e["band"], e["roi_a"], e["roi_b"]))
    logger.info(f"In-Sync Level 1: {len(episodes)} episode(s)")
    params = dict(
        window=n_win / sfreq,
        step=n_step / sfreq,
        n_surrogates=n_surrogates,
        shuffle_block=m * n_unit / sfreq,
        min_shift=min_shift,
        alpha=alpha,
        correction=correction,
        merge_gap=float(merge_gap),
        min_duration=min_duration,
        max_lag=max_lag,
        sfreq=sfreq,
        decim={b: int(q) for b, q in sig.decim.items()},
        precision=precision,
        backend=bk.name,
        reject_by_annotation=bool(reject_by_annotation),
        first_time=float(sig.first_time),
        orig_time=_orig_time_str(sig.orig_time),
    )
    return InSyncLevel1(
        times=times,
        values=values,
        tonic=tonic,
        tonic_sd=tonic_sd,
        z=z,
        p_values=p_values,
        threshold=threshold,
        tonic_null_max=tonic_null_max,
        p_chance=p_chance,
        chance_threshold=chance_threshold,
        chance_null_max=chance_null_max,
        null_mean=null_mean,
        null_sd=null_sd,
        episodes=episodes,
        chance=chance,
        bands=bands,
        roles=roles,
        roi_names=sig.roi_names,
        roi_channels=sig.roi_chs,
        measure=measure,
        params=params,
    )
