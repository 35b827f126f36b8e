r"""Lagged body and autonomic synchrony of a dyad: tests, segments, episodes, pseudo-dyads.

:func:`lagged_sync` computes the windowed lagged cross-correlation of a dyad's
physiological or movement series (the values and their definitions:
:mod:`hyperinsync.sync.lagged`) and tests it: synchrony against surrogates, in-phase vs
anti-phase, who leads, per annotated segment and per window (Level 1 episodes).
:func:`lagged_pseudo_dyads` compares real dyads with pseudo-dyads across a study. The tests
themselves are in :mod:`hyperinsync.stats.lagged_inference`, the windows (segments,
surrogate pairings, episodes) in :mod:`hyperinsync.stats.lagged_windows`, the result class
in :mod:`hyperinsync.stats.lagged_result`.

.. rubric:: Statistics

Synchrony (``sync``)
    The grand mean of :math:`|z|` over windows and lags (rMEA's ``grandAver`` with ABS),
    compared with the same statistic on surrogates: one-sided p (Phipson & Smyth,
    :func:`hyperinsync.stats.p_value`) and the SUSY-style effect size
    :math:`(\text{real} - \text{mean surrogate}) / \text{SD surrogate}`
    (:func:`hyperinsync.stats.zscore`).
Phase (``phase``)
    The signed lag profile (mean :math:`z` over the windows, per lag) at its lag of largest
    magnitude, tested two-sided against the same statistic of every surrogate:
    ``'in-phase'`` (matching) when significantly above chance, ``'anti-phase'``
    (complementary) when significantly below, else ``'none'``; ``phase_lag`` is that lag.
    (The mean over every lag, rMEA's signed ``grandAver``, is also reported as
    ``grand_average`` with ``absolute=False``, but it dilutes a sharply peaked
    cross-correlation -- motion energy -- to nothing.)
Leader (``lead``)
    :math:`D` = mean :math:`|z|` at positive lags minus mean :math:`|z|` at negative lags
    (rMEA's ``s1_lead - s2_lead``), over the valid windows. Its null is "no one leads": the
    lag profile is then as likely mirrored (a time-reversible pair with a symmetric
    cross-correlation). The test mirrors the lag axis in a random subset of *blocks* of
    windows (flips the sign of the blocks' :math:`D`), which keeps whatever synchrony there
    is and removes only who leads; it is exact for independent blocks and valid whether or
    not the two people are coupled. Blocks hold ``lead_block`` seconds of consecutive
    windows (default: twice a window's data span) and, when windows overlap, the windows
    that straddle two blocks are left out of the test, so that no two blocks share a sample
    (with them, coupled zero-lag dyads were called led in 7-9 % of runs instead of 5 %).
    Confidence intervals of :math:`D` and of the lag of the peak of the mean :math:`|z|`
    lag profile come from a bootstrap of the same blocks (percentile). The label is
    ``'<role>-led'`` when the test rejects at ``alpha`` *and* the peak-lag interval
    excludes 0 on the same side as :math:`D`, else ``'simultaneous'`` ("simultaneous" when
    the interval includes 0). With fewer than 5 blocks no p-value can reach 0.05 (warned).
Level 1 episodes
    Each window's mean :math:`|z|` over lags is tested against the same window of every
    surrogate; p-values are family-wise corrected over the windows by the standardised
    max-statistic (:func:`hyperinsync.stats.maxstat_p`). Runs of consecutive significant
    windows are episodes, annotated ``insync/L1/<modality>/<chA>-<chB>``, each with the
    lag of the peak of its mean :math:`|z|` lag profile (``lag``) and the sign of the
    signed profile there (``phase``: describes a significant episode, not tested on its
    own). Who leads in it (``leader``, ``lead_p``, ``lag_ci_low``/``_high``) is the lead
    test above restricted to the episode's windows, with the same rule: an episode
    spanning fewer blocks (``lead_block``) than the test needs is ``'simultaneous'`` (or
    ``'undetermined'`` when it holds no whole block), whatever its peak lag -- a window
    or two cannot show who leads.
Level 2 (the session and its segments)
    Every statistic above over all windows (the session) and over the windows inside each
    annotated segment (``segments=``, e.g. ``IM`` and ``CB``). The synchrony p-values of
    every modality's session and segment rows form one family, corrected by
    Benjamini-Hochberg (``sync_p_fdr``); those at or below ``alpha`` are annotated
    ``insync/L2/<modality>/<chA>-<chB>`` over the recording or over each stretch of the
    segment. ``sync_corrected`` (synchrony minus the surrogates' mean) is the value to
    compare across sessions and dyads: :func:`hyperinsync.stats.segment_table` stacks the
    rows of many results, :func:`hyperinsync.level3` (Level 3, the trend over sessions),
    :func:`hyperinsync.stats.icc` and :func:`hyperinsync.stats.predict_outcome` take that
    table.

.. rubric:: Nulls (``null=``)

``'circular_shift'``
    The second person's series circularly shifted against the first by at least
    ``min_shift`` (default: the data span of one window) from either end, a fresh shift per
    surrogate; keeps each series' autocorrelation and every window's overlap with the next.
    With ``'wcc'`` any shift (in samples); with ``'rmea'`` and ``'susy'`` the shifts are
    whole multiples of ``step`` (their windows are anchored on the leader, so only a shift of
    whole windows keeps the window grid), i.e. at most ``n_windows - 1`` distinct ones: all
    of them are used when fewer than ``n_surrogates`` exist.
``'segment_shuffle'``
    The second person's windows in a random order (Ramseyer & Tschacher, 2010; SUSY); uniform
    over all orders, so the p-value is exact for exchangeable windows. Only for windows that
    share no samples (``step >= window + span of the lags``): shuffling overlapping windows
    would break the dependence between neighbouring windows that the real pairing keeps, and
    the test would be liberal. The same happens, more mildly, with signals whose memory
    outlasts a window: measured on simulated null dyads with slowly drifting skin
    conductance and 30-s segments, the two-sided phase test rejected 7.3 % at alpha = .05
    (1000 runs; synchrony 5.6 %), against 3.6 % (and 4.8 %) with whole-segment circular
    shifts, which keep neighbouring segments together. Hence the default is
    ``'circular_shift'`` for every definition; ``'segment_shuffle'`` reproduces SUSY's
    pseudo-interactions. ``'susy'`` also reports SUSY's own effect size (every segment with
    every other, the SD taken over the lag profile) whatever the null.
``None``
    No surrogates (values and summaries only).

"""

from __future__ import annotations

import mne
import numpy as np

from .._docs import fill_doc
from .._utils import (
    _check_option,
    _validate_type,
    as_table,
    check_seed,
    logger,
    quiet_empty_slices,
    verbose,
    warn,
)
from ..backend import get_backend
from ..io.physio import bad_masks
from ..roles import get_roles
from ..sync.lagged import (
    DEFINITIONS,
    LagGeometry,
    lagged_values,
    read_series,
    resolve_pairs,
    seconds_to_samples,
)
from .group import permutation_test
from .inference import fdr_bh, maxstat_p
from .lagged_inference import _stats_over, _surrogate_test, _susy_summary
from .lagged_result import LaggedSyncResult
from .lagged_windows import _episodes, _segment_windows, _surrogate_pairings

NULLS = ("circular_shift", "segment_shuffle")


@verbose
@fill_doc
def lagged_sync(
    inst,
    pairs=None,
    *,
    lag,
    window,
    step=None,
    definition="wcc",
    absolute=True,
    fisher_z=True,
    max_missing=0.5,
    null="auto",
    n_surrogates=1000,
    min_shift=None,
    segments=None,
    alpha=0.05,
    ci=0.95,
    n_boot=2000,
    lead_block=None,
    seed=None,
    backend="auto",
    verbose=None,
):
    """Windowed lagged cross-correlation of a dyad's body or autonomic signals.

    See :mod:`hyperinsync.sync.lagged` for the definitions and
    :mod:`hyperinsync.stats.lagged` for the statistics and the nulls.

    Parameters
    ----------
    inst : DyadRaw | mne.io.Raw
        A dyad (channel names ``'<role>:<channel>'``) at the rate to analyse: the series
        as they are (e.g. skin conductance level, heart rate in bpm, motion energy), all
        channels at one sampling rate. NaN samples and ``BAD_`` annotations (all channels or
        naming the channel) are missing data.
    %(lagged_pairs)s
    %(lagged_lag)s
    %(lagged_window)s
    %(lagged_step)s
    %(lagged_definition)s
    absolute : bool
        Report window values and their summaries as absolute values (rMEA's ABS).
    %(fisher_z)s
    %(max_missing)s
    null : 'auto' | 'circular_shift' | 'segment_shuffle' | None
        The surrogates; ``'auto'``: ``'circular_shift'`` (whole-window shifts for
        ``'rmea'`` and ``'susy'``). See :mod:`hyperinsync.stats.lagged` for when segment shuffles
        are liberal.
    %(n_surrogates)s
        Also the number of the lead test's lag-mirror sign flips.
    min_shift : float | None
        Smallest circular shift in seconds from either end; ``None``: the data span of one
        window (``window`` + the lag range).
    segments : list of str | None
        Annotation descriptions (e.g. ``['IM', 'CB']``) to summarise separately; each may
        be annotated several times. Windows count when their data lie inside one stretch.
    alpha : float
        Level of the tests and of the Level 1 episodes.
    ci : float
        Level of the confidence intervals of the lead index and of the peak lag.
    n_boot : int
        Bootstrap resamples of the blocks of windows for the intervals.
    lead_block : float | None
        Length in seconds of the blocks of consecutive windows that the lead test mirrors
        and the bootstrap resamples together; ``None``: twice the data span of a window.
        Blocks should be longer than the time over which the lead index of neighbouring
        windows stays correlated.
    %(seed)s
    %(backend)s
    %(verbose)s

    Returns
    -------
    result : LaggedSyncResult
        Values, summaries, tests, segments and Level 1 episodes (``result.annotations``).

    Examples
    --------
    Skin conductance of two people, the client following the therapist by 2 s:

    >>> phys, truth = hs.simulate_physio_dyad(
    ...     duration=900.0, sfreq=8.0, modalities=("eda",), seed=0,
    ...     couplings=[hs.PhysioCoupling("eda", strength=0.7, lag=2.0)])
    >>> res = hs.lagged_sync(phys, lag=5, window=30, step=15, n_surrogates=199, seed=0)
    >>> res
    <LaggedSyncResult | wcc | EDA | 58 windows of 30 s, lags +/-5 s | 199 surrogates | 2 episode(s)>
    >>> res.to_table()[["sync", "sync_p", "phase", "leader", "peak_lag"]].round(3)
        sync  sync_p     phase         leader  peak_lag
    0  0.508   0.005  in-phase  therapist-led     2.125
    """
    _validate_type(inst, mne.io.BaseRaw, "inst", "Raw")
    _check_option("definition", definition, DEFINITIONS)
    if null == "auto":  # see the module docstring: shuffles are liberal for slow signals
        null = "circular_shift"
    _check_option("null", null, NULLS + (None,))
    _validate_type(n_surrogates, "int", "n_surrogates")
    _validate_type(n_boot, "int", "n_boot")
    for name, value in (("max_missing", max_missing),):
        _validate_type(value, "numeric", name)
        if not 0 <= value < 1:
            raise ValueError(f"{name} must be in [0, 1), got {value}.")
    for name, value in (("alpha", alpha), ("ci", ci)):
        _validate_type(value, "numeric", name)
        if not 0 < value < 1:
            raise ValueError(f"{name} must be in (0, 1), got {value}.")
    if null is not None and n_surrogates < 1:
        raise ValueError("n_surrogates must be at least 1 (or pass null=None).")
    bk = get_backend(backend)
    rng = check_seed(seed)
    sfreq = inst.info["sfreq"]
    geom = LagGeometry(definition, sfreq, inst.n_times, window, lag, step)
    if len(geom.lags) > 1001:
        warn(
            f"{len(geom.lags)} lags (+/-{lag} s at {sfreq:g} Hz, one per sample): body and "
            "autonomic signals rarely need more than 25-32 Hz. Resample first "
            "(hyperinsync.io.align_physio or raw.resample) to save time and memory."
        )
    min_shift_n = (
        geom.span if min_shift is None else seconds_to_samples(min_shift, sfreq, "min_shift")
    )
    chans = resolve_pairs(inst, pairs)
    roles = get_roles(inst)
    names = [n for pair in chans.values() for n in pair]
    bad = bad_masks(inst, names)
    pairing, n_sur = _surrogate_pairings(definition, null, geom, n_surrogates, min_shift_n, rng)
    seg_masks, seg_spans = _segment_windows(inst, list(segments or []), geom)
    # the whole recording, then each segment: the groups of windows tested
    groups = np.array([np.ones(geom.n_windows, bool)] + list(seg_masks.values()))
    lags_s = geom.lags / sfreq
    win_s = geom.win / sfreq
    blocks, block_size, block_gap = geom.block_of_windows(
        None if lead_block is None else seconds_to_samples(lead_block, sfreq, "lead_block")
    )
    all_w = np.ones(geom.n_windows, bool)
    values, s_abs, s_sgn, s_cnt, wp = [], [], [], [], []
    sessions, seg_rows, episodes = [], [], []
    # the lead test's sign flips are surrogates too: none without a null
    stat_kw = dict(
        roles=roles,
        lags_s=lags_s,
        alpha=alpha,
        ci=ci,
        n_sur=n_surrogates if null is not None else 0,
        n_boot=n_boot,
        rng=rng,
    )
    for mi, (mod, (ch_a, ch_b)) in enumerate(chans.items()):
        a = read_series(inst, ch_a, bad[2 * mi], max_missing)
        b = read_series(inst, ch_b, bad[2 * mi + 1], max_missing)
        # circular shifts (wcc: the first is 0, the observed pairing) or window pairings
        red = lagged_values(
            a,
            b,
            geom,
            pairing,
            fisher_z=fisher_z,
            max_missing=max_missing,
            groups=groups,
            backend=bk,
        )
        extra = {} if red.table is None else _susy_summary(red.table, lags_s)[0]
        obs = red.obs
        obs_abs = np.abs(obs)
        with quiet_empty_slices():
            d = (
                (
                    np.nanmean(obs_abs[:, geom.lags > 0], axis=1)
                    - np.nanmean(obs_abs[:, geom.lags < 0], axis=1)
                )
                if geom.L
                else np.full(geom.n_windows, np.nan)
            )
        n_missing = int((~np.isfinite(obs).any(axis=1)).sum())
        if n_missing:
            why = (
                "a missing sample in the segment: SUSY needs complete segments"
                if definition == "susy"
                else f"more than {100 * max_missing:g} % of a person's samples missing"
            )
            warn(
                f"{mod}: {n_missing} of {geom.n_windows} windows are missing ({why}, or a "
                "flat series within the window); they are left out of every statistic."
            )
        row = dict(
            modality=mod,
            ch_a=ch_a,
            ch_b=ch_b,
            role_a=roles[0],
            role_b=roles[1],
            definition=definition,
        )
        row.update(_stats_over(all_w, red, d, obs_abs, blocks, group=0, where=mod, **stat_kw))
        disp = obs_abs if absolute else obs
        row["grand_average"] = float(np.nanmean(disp)) if np.isfinite(disp).any() else np.nan
        row["n_windows_missing"] = n_missing
        row.update(extra)
        sessions.append(row)
        for gi, (name, mask) in enumerate(seg_masks.items(), start=1):
            srow = dict(modality=mod, segment=name, ch_a=ch_a, ch_b=ch_b)
            if mask.any():
                srow.update(_stats_over(mask, red, d, obs_abs, blocks, group=gi, **stat_kw))
            else:
                srow.update(n_windows=0, n_windows_valid=0)
            seg_rows.append(srow)
        p_w = np.full(geom.n_windows, np.nan)
        if n_sur and np.isfinite(obs).any():
            with np.errstate(invalid="ignore", divide="ignore"):
                t_null = red.sum_abs / red.count
            with quiet_empty_slices():
                t_obs = np.nanmean(obs_abs, axis=1)
            with quiet_empty_slices():
                p_w = maxstat_p(t_obs, t_null, tail="greater", standardize="z")
            episodes += _episodes(mod, p_w, geom, obs_abs, obs, d, blocks, win_s, stat_kw)
        values.append(obs)
        s_abs.append(red.sum_abs)
        s_sgn.append(red.sum_sgn)
        s_cnt.append(red.count)
        wp.append(p_w)
    # Level 2: one family of tests, the whole recording and every segment of every modality
    level2 = [r for r in sessions + seg_rows if "sync_p" in r]
    if level2:
        p_adj = fdr_bh([r["sync_p"] for r in level2], alpha)[1]
        for r, pa in zip(level2, p_adj):
            r["sync_p_fdr"] = float(pa)
    params = dict(
        definition=definition,
        window=float(window),
        lag=float(lag),
        step=float(geom.inc / sfreq),
        sfreq=float(sfreq),
        absolute=bool(absolute),
        fisher_z=bool(fisher_z),
        max_missing=float(max_missing),
        null=null,
        n_surrogates=int(n_sur),
        min_shift=float(min_shift_n / sfreq),
        alpha=float(alpha),
        ci=float(ci),
        n_boot=int(n_boot),
        segments=list(segments or []),
        segment_spans=seg_spans,
        n_times=int(inst.n_times),
        first_time=float(inst.first_time),
        window_span=float(geom.span / sfreq),
        block_size=block_size,
        block_gap=block_gap,
        backend=bk.name,
    )
    logger.info(
        f"Lagged synchrony ({definition}): {len(chans)} modalities, "
        f"{geom.n_windows} windows x {len(geom.lags)} lags, {n_sur} surrogates."
    )
    return LaggedSyncResult(
        roles=roles,
        modalities=list(chans),
        channels=chans,
        sessions=sessions,
        segments=seg_rows,
        episodes=episodes,
        params=params,
        lags=lags_s,
        window_starts=geom.starts / sfreq,
        values=np.array(values),
        null_sum_abs=np.array(s_abs),
        null_sum_signed=np.array(s_sgn),
        null_count=np.array(s_cnt),
        window_p=np.array(wp),
    )


@verbose
@fill_doc
def lagged_pseudo_dyads(
    raws,
    pairs=None,
    *,
    lag,
    window,
    step=None,
    definition="wcc",
    keep_roles=True,
    n_pseudo=None,
    fisher_z=True,
    max_missing=0.5,
    n_permutations=5000,
    seed=None,
    backend="auto",
    verbose=None,
):
    r"""Real dyads against pseudo-dyads (people who never interacted) across a study.

    For every real dyad and every pseudo-dyad -- the first role of dyad *i* with the second
    role of dyad *j* (*i* != *j*; ``keep_roles=False``: any two people of different dyads,
    as rMEA's ``shuffle``) -- the grand mean of :math:`|z|` over windows and lags is
    computed with the same definition and parameters, each pair on the stretch both
    recordings cover (the shorter length, as rMEA's ``shuffle`` pairs series).

    Parameters
    ----------
    raws : list of DyadRaw
        The study's dyads (one recording each), same roles and sampling rate.
    %(lagged_pairs)s
    %(lagged_lag)s
    %(lagged_window)s
    %(lagged_step)s
    %(lagged_definition)s
    keep_roles : bool
        Pair only the first role of one dyad with the second role of another.
    n_pseudo : int | None
        Random subset of pseudo-dyads; ``None``: all of them.
    %(fisher_z)s
    %(max_missing)s
    %(n_permutations)s
        The group test is :func:`hyperinsync.stats.permutation_test`.
    %(seed)s
    %(backend)s
    %(verbose)s

    Returns
    -------
    result : dict
        ``dyads``: a table, one row per modality and real dyad: ``sync`` (real), the
        pseudo-dyads' ``pseudo_mean`` and ``pseudo_sd``, the SUSY-style ``effect_size``
        :math:`(\text{real} - \text{mean}) / \text{SD}`, and ``p`` (the share of
        pseudo-dyads at least as synchronous, :math:`(b + 1)/(N + 1)`). ``group``: one row per
        modality: mean real and pseudo synchrony, Cohen's d of real vs pseudo (rMEA's
        comparison) and a permutation p-value of the difference (one-sided: real greater;
        pseudo-dyads share people, so treat it as descriptive when they are few).
        ``pseudo``: every pseudo-dyad's value (``person_a``, ``person_b`` as ``'<dyad
        index>:<role>'``). ``params``.
    """
    _validate_type(raws, (list, tuple), "raws")
    if len(raws) < 2:
        raise ValueError("Pseudo-dyads need at least 2 dyads.")
    _check_option("definition", definition, DEFINITIONS)
    bk = get_backend(backend)
    rng = check_seed(seed)
    roles = get_roles(raws[0])
    sfreq = raws[0].info["sfreq"]
    for k, raw in enumerate(raws):
        _validate_type(raw, mne.io.BaseRaw, f"raws[{k}]", "Raw")
        if get_roles(raw) != roles or raw.info["sfreq"] != sfreq:
            raise ValueError(
                f"raws[{k}] has roles {get_roles(raw)} at {raw.info['sfreq']:g} Hz; the first "
                f"has {roles} at {sfreq:g} Hz: all dyads need the same roles and rate."
            )
    chans = [resolve_pairs(raw, pairs) for raw in raws]
    mods = list(chans[0])
    for k, c in enumerate(chans):
        if list(c) != mods:
            raise ValueError(f"raws[{k}] has modalities {list(c)}, the first {mods}.")
    n = len(raws)
    people = [(d, r) for d in range(n) for r in (0, 1)]
    if keep_roles:
        combos = [((i, 0), (j, 1)) for i in range(n) for j in range(n) if i != j]
    else:
        combos = [(p, q) for x, p in enumerate(people) for q in people[x + 1 :] if p[0] != q[0]]
    if n_pseudo is not None and n_pseudo < len(combos):
        combos = [combos[i] for i in np.sort(rng.choice(len(combos), n_pseudo, replace=False))]
    dyad_rows, group_rows, pseudo_rows = [], [], []
    for mod in mods:
        series = {}
        for d, raw in enumerate(raws):
            names = list(chans[d][mod])
            bad = bad_masks(raw, names)
            for r in (0, 1):
                series[(d, r)] = read_series(raw, names[r], bad[r], max_missing)

        def value(p, q):
            a, b = series[p], series[q]
            m = min(len(a), len(b))
            geom = LagGeometry(definition, sfreq, m, window, lag, step)
            with quiet_empty_slices():
                obs = lagged_values(
                    a[:m], b[:m], geom, fisher_z=fisher_z, max_missing=max_missing, backend=bk
                ).obs
            return float(np.nanmean(np.abs(obs))) if np.isfinite(obs).any() else np.nan

        real = np.array([value((d, 0), (d, 1)) for d in range(n)])
        pseudo = np.array([value(p, q) for p, q in combos])
        for (p, q), v in zip(combos, pseudo):
            pseudo_rows.append(
                dict(
                    modality=mod,
                    person_a=f"{p[0]}:{roles[p[1]]}",
                    person_b=f"{q[0]}:{roles[q[1]]}",
                    sync=v,
                )
            )
        ps = pseudo[np.isfinite(pseudo)]
        for d in range(n):
            p, m, s, es = _surrogate_test(real[d], ps, "greater")
            dyad_rows.append(
                dict(
                    modality=mod,
                    dyad=d,
                    sync=real[d],
                    pseudo_mean=m,
                    pseudo_sd=s,
                    effect_size=es,
                    p=p,
                    n_pseudo=len(ps),
                )
            )
        ok = real[np.isfinite(real)]
        test = permutation_test(ok, ps, n_permutations=n_permutations, seed=rng, tail="greater")
        group_rows.append(
            dict(
                modality=mod,
                n_dyads=len(ok),
                n_pseudo=len(ps),
                real_mean=float(ok.mean()),
                pseudo_mean=float(ps.mean()),
                cohens_d=test["d"],
                p=test["p"],
            )
        )
    params = dict(
        definition=definition,
        lag=float(lag),
        window=float(window),
        step=None if step is None else float(step),
        keep_roles=bool(keep_roles),
        n_pseudo=len(combos),
        fisher_z=bool(fisher_z),
        roles=list(roles),
    )
    logger.info(f"Pseudo-dyads: {n} dyads, {len(combos)} pseudo-dyads, {len(mods)} modalities.")
    return dict(
        dyads=as_table(dyad_rows),
        group=as_table(group_rows),
        pseudo=as_table(pseudo_rows),
        params=params,
    )
