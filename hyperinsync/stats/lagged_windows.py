r"""The windows of :func:`~hyperinsync.lagged_sync`: segments, surrogate pairings, episodes.

Which windows form each annotated segment, how the surrogates pair the two people's
windows (circular shifts or window shuffles) and the runs of significant windows (Level 1
episodes). What the nulls and tests are and why: :mod:`hyperinsync.stats.lagged`.
"""

from __future__ import annotations

import math

import numpy as np

from .._utils import _validate_type, logger, quiet_empty_slices, warn
from ..sync.lagged import peak_lag
from ..sync.signals import annotation_spans
from .lagged_inference import _lead_test
from .pairings import shuffle_orders


def _segment_windows(raw, names, geom):
    """Return the windows inside each annotated stretch, and the stretches.

    ``{name: boolean mask of windows whose data lie inside one stretch of that name}`` and
    ``{name: [[onset, duration], ...]}`` of its stretches (s from the first sample).
    """
    descs = np.asarray(raw.annotations.description)
    out, spans = {}, {}
    lo = geom.data_starts
    hi = lo + geom.span
    for name in names:
        _validate_type(name, str, "segment name")
        sel = descs == name
        if not sel.any():
            present = sorted(set(descs.tolist())) or ["none"]
            raise ValueError(
                f"Segment {name!r} is not annotated in the recording (annotation "
                f"descriptions: {', '.join(present)})."
            )
        on, off = annotation_spans(raw, sel)
        spans[name] = [
            [float(s0 / geom.sfreq), float((s1 - s0) / geom.sfreq)] for s0, s1 in zip(on, off)
        ]
        inside = np.zeros(len(lo), bool)
        for s0, s1 in zip(on, off):
            inside |= (lo >= s0) & (hi <= s1)
        if not inside.any():
            warn(
                f"Segment {name!r}: no window of {geom.span / geom.sfreq:g} s of data fits "
                "inside its annotations; it is reported as empty."
            )
        out[name] = inside
    return out, spans


def _surrogate_pairings(definition, null, geom, n_sur, min_shift, rng):
    """Surrogates as shifts (wcc circular: (W, J) B starts) or as window pairings (J, W)."""
    n_w, n = geom.n_windows, geom.n_times
    ident = np.arange(n_w)[None, :]
    if null is None or n_sur == 0:
        return ident, 0
    if null == "segment_shuffle":
        if geom.overlapping:
            raise ValueError(
                f"null='segment_shuffle' needs windows that share no samples: with "
                f"definition={definition!r} a window uses {geom.span / geom.sfreq:g} s of "
                f"data but windows start every {geom.inc / geom.sfreq:g} s. Shuffling "
                "overlapping windows breaks the dependence between neighbours that the real "
                "pairing keeps (a liberal test): use null='circular_shift', or step >= "
                f"{geom.span / geom.sfreq:g} s."
            )
        perms = shuffle_orders(rng, n_w, n_sur, "windows")
        return np.concatenate([ident, perms]), n_sur
    if definition == "wcc":
        lo, hi = min_shift, n - min_shift
        if hi < lo:
            raise ValueError(
                f"min_shift={min_shift / geom.sfreq:g} s leaves no circular shift of a "
                f"{n / geom.sfreq:g} s recording: lower it or use a longer recording."
            )
        avail = hi - lo + 1
        if avail < n_sur:
            logger.info(f"Only {avail} distinct circular shifts exist; using all of them.")
            shifts = np.arange(lo, hi + 1)
        else:
            shifts = np.sort(rng.choice(avail, n_sur, replace=False)) + lo
        return np.concatenate([[0], shifts]), len(shifts)
    # rmea / susy: whole-window shifts of the window grid
    m_min = int(math.ceil(min_shift / geom.inc))
    options = np.arange(m_min, n_w - m_min + 1)
    if not len(options):
        raise ValueError(
            f"With {n_w} windows and min_shift={min_shift / geom.sfreq:g} s no whole-window "
            f"circular shift is possible for definition={definition!r}: use a longer "
            "recording, a smaller step, null='segment_shuffle' or definition='wcc'."
        )
    if len(options) < n_sur:
        logger.info(
            f"definition={definition!r} shifts whole windows: only {len(options)} "
            f"distinct circular shifts exist ({n_w} windows); using all of them."
        )
        shifts = options
    else:
        shifts = np.sort(rng.choice(options, n_sur, replace=False))
    pairing = np.mod(ident + shifts[:, None], n_w)
    return np.concatenate([ident, pairing]), len(shifts)


def _episodes(mod, p, geom, obs_abs, obs, d, blocks, win_s, stat_kw):
    """Find runs of consecutive significant windows: their peak lag and sign, and leader.

    Who leads in a run: the lead test of the session restricted to the run's windows.
    """
    sig = np.isfinite(p) & (p <= stat_kw["alpha"])
    lags_s = stat_kw["lags_s"]
    out = []
    w = 0
    while w < len(sig):
        if not sig[w]:
            w += 1
            continue
        e = w
        while e + 1 < len(sig) and sig[e + 1]:
            e += 1
        with quiet_empty_slices():
            prof = np.nanmean(obs_abs[w : e + 1], axis=0)
            signed = np.nanmean(obs[w : e + 1], axis=0)
        lag, peak = peak_lag(prof, lags_s)
        k = int(np.argmin(np.abs(lags_s - lag)))
        inside = np.zeros(len(sig), bool)
        inside[w : e + 1] = True
        # a leader only as for the session: the lag-mirror test over the episode's blocks
        # and a peak-lag interval excluding 0 (a short episode cannot show one: simultaneous)
        lead = _lead_test(
            np.where(inside, d, np.nan),
            obs_abs,
            blocks,
            stat_kw["n_sur"],
            stat_kw["n_boot"],
            stat_kw["alpha"],
            stat_kw["ci"],
            stat_kw["rng"],
            lags_s,
            stat_kw["roles"],
        )
        t0 = geom.starts[w] / geom.sfreq
        out.append(
            dict(
                modality=mod,
                onset=float(t0),
                duration=float(geom.starts[e] / geom.sfreq + win_s - t0),
                n_windows=int(e - w + 1),
                peak=float(peak),
                p=float(np.nanmin(p[w : e + 1])),
                lag=float(lag),
                lag_ci_low=lead["peak_lag_ci_low"],
                lag_ci_high=lead["peak_lag_ci_high"],
                lead=lead["lead"],
                lead_p=lead["lead_p"],
                n_blocks=lead["n_blocks"],
                leader=lead["leader"],
                signed_peak=float(signed[k]),
                phase="in-phase" if signed[k] > 0 else "anti-phase",
            )
        )
        w = e + 1
    return out
