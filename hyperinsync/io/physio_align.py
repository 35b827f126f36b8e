r"""Physiological recordings onto a dyad's timeline, resampled at a stated rate.

:func:`align_physio` resamples one person's recording (read by :mod:`hyperinsync.io.physio`
or any MNE reader) onto a reference timeline (a dyad's, or a start time) at a stated rate;
:func:`make_physio_dyad` does it for both people and builds the
:class:`~hyperinsync.dyad.DyadRaw`.

Clock model (as in :mod:`hyperinsync.io.align`): a source sample recorded at source-file time
:math:`t_S` (seconds from the source's first sample, by its own clock) was recorded at
reference time :math:`t_R` with

.. math:: t_S = \mathrm{offset} + (1 + \mathrm{drift\_ppm} \cdot 10^{-6})\, t_R .

``offset`` comes from the two ``meas_date`` (start times) unless given; the drift is 0 unless
given or fitted from events both clocks recorded (``sync_times``). A device clock that runs
fast by 20 ppm shifts its samples by 72 ms over an hour: state it when it matters.

Resampling method (``method=``, tested): when the target rate is below the source rate, a
zero-phase FIR low-pass (MNE's :func:`mne.filter.filter_data`, pass band edge 0.4 x the
target rate, transition 0.1 x the target rate, so that nothing above the target's Nyquist
frequency passes) is applied first at the source rate; then the source is evaluated at the
source times of the target samples by ``'linear'`` interpolation (never overshoots: keeps
motion energy and skin conductance non-negative) or ``'pchip'`` (monotone cubic,
shape-preserving, smooth). Target samples outside the source recording, or whose
interpolation needs a missing source sample, are NaN and annotated ``BAD_no_data`` /
``BAD_gap``; with the low-pass, the samples within the filter's half-length of a gap are kept
but annotated ``BAD_gap`` as well (the filter bridged the gap with a straight line).
"""

from __future__ import annotations

import datetime as _dt

import mne
import numpy as np

from .._docs import fill_doc
from .._utils import _check_option, _validate_type, logger, verbose, warn
from ..dyad import DEFAULT_ROLES, make_dyad_raw
from ..roles import get_dyad_meta, set_dyad_meta
from .physio import abs_start, mask_runs


def _fit_clock(sync_times):
    """Fit offset and drift (ppm) to events both clocks recorded; residual checked."""
    t_ref, t_src = (np.asarray(v, float) for v in sync_times)
    if t_ref.shape != t_src.shape or t_ref.ndim != 1 or len(t_ref) < 2:
        raise ValueError(
            "sync_times must be two equal-length 1-D sequences of at least 2 "
            "event times (reference seconds, source seconds)."
        )
    slope, offset = np.polyfit(t_ref, t_src, 1)
    resid = t_src - (offset + slope * t_ref)
    return float(offset), float((slope - 1.0) * 1e6), float(np.max(np.abs(resid)))


def _lowpass(data, sfreq, sfreq_target):
    """Zero-phase anti-alias low-pass of every row, NaN bridged linearly for the filter."""
    h_freq = 0.4 * sfreq_target
    trans = 0.1 * sfreq_target
    filled = data.copy()
    for row in filled:
        bad = ~np.isfinite(row)
        if bad.all():
            continue
        if bad.any():
            x = np.arange(len(row))
            row[bad] = np.interp(x[bad], x[~bad], row[~bad])
    out = mne.filter.filter_data(
        filled, sfreq, None, h_freq, h_trans_bandwidth=trans, pad="reflect_limited", verbose=False
    )
    n_taps = len(
        mne.filter.create_filter(None, sfreq, None, h_freq, h_trans_bandwidth=trans, verbose=False)
    )
    return out, n_taps // 2


@verbose
@fill_doc
def align_physio(
    raw,
    *,
    sfreq,
    reference=None,
    start=None,
    duration=None,
    offset=None,
    drift_ppm=0.0,
    sync_times=None,
    method="linear",
    verbose=None,
):
    """Resample one person's recording onto a reference timeline at a stated rate.

    See :mod:`hyperinsync.io.physio_align` for the clock model and the resampling method.

    Parameters
    ----------
    raw : mne.io.Raw
        The source recording (one device, one person), any rate, NaN allowed.
    sfreq : float
        The common rate to resample to (e.g. 8 Hz for skin conductance, 4 Hz for a heart
        rate series, 25 Hz for motion energy).
    reference : mne.io.Raw | None
        The timeline to follow: its first sample is time 0, its length the default
        ``duration`` (e.g. the dyad's EEG recording).
    start : datetime | None
        Without ``reference``: the absolute time of the target's first sample (default: the
        source's start). Ignored with ``reference``.
    duration : float | None
        Seconds of target; ``None``: the reference's length, else up to the source's last
        sample.
    offset : float | None
        The source-file time (s from its first sample) at the target's first sample.
        ``None``: from the start times (``meas_date``), which both must then have.
    drift_ppm : float
        The source clock's rate error against the reference clock, in parts per million
        (positive: the source clock runs fast).
    sync_times : tuple of array | None
        ``(reference times, source times)`` in seconds of events both clocks recorded:
        offset and drift are fitted to them (least squares), overriding ``offset`` and
        ``drift_ppm``.
    method : 'linear' | 'pchip'
        Interpolation; see the module docstring.
    %(verbose)s

    Returns
    -------
    aligned : mne.io.RawArray
        The source's channels on the target grid, ``meas_date`` the target start when known,
        annotations carried over (onsets mapped through the clock model), ``BAD_no_data``
        where the source did not record, ``BAD_gap`` around missing source samples. The
        report (offset, drift, method, rates) is in
        ``get_dyad_meta(aligned)['physio_alignment']``.
    """
    _validate_type(raw, mne.io.BaseRaw, "raw", "Raw")
    _validate_type(sfreq, "numeric", "sfreq")
    _check_option("method", method, ("linear", "pchip"))
    if not sfreq > 0:
        raise ValueError(f"sfreq must be positive, got {sfreq}.")
    src_start = abs_start(raw)
    if reference is not None:
        _validate_type(reference, mne.io.BaseRaw, "reference", "Raw")
        t0 = abs_start(reference)
        if duration is None:
            duration = reference.n_times / reference.info["sfreq"]
    else:
        t0 = start if start is not None else src_start
    fit_resid = None
    if sync_times is not None:
        offset, drift_ppm, fit_resid = _fit_clock(sync_times)
    elif offset is None:
        if t0 is None or src_start is None:
            raise ValueError(
                "The start times are unknown (meas_date of the source"
                + (" or of the reference" if reference is not None else "")
                + " is not set): give offset= (source seconds at the target's first sample)"
                " or sync_times=."
            )
        offset = (t0 - src_start).total_seconds()
    _validate_type(drift_ppm, "numeric", "drift_ppm")
    src_sf = raw.info["sfreq"]
    if duration is None:  # up to the source's last sample
        duration = ((raw.n_times - 1) / src_sf - offset) * (
            1 + drift_ppm * 1e-6
        ) ** -1 + 1.0 / sfreq
    n_out = int(np.floor(duration * sfreq + 1e-9))
    if n_out < 1:
        raise ValueError(f"The target timeline is empty (duration {duration:g} s).")
    data = raw.get_data()
    bad = ~np.isfinite(data)
    # samples inside the source's BAD_ spans stay as they are: the spans are carried over
    filt_half = 0
    if sfreq < src_sf:
        data, filt_half = _lowpass(data, src_sf, sfreq)
    t_out = np.arange(n_out) / sfreq
    scale = 1.0 + drift_ppm * 1e-6
    t_src = offset + scale * t_out  # source-file seconds of each target sample
    x_src = t_src * src_sf  # fractional source sample index
    out = np.full((len(data), n_out), np.nan)
    inside = (x_src >= 0) & (x_src <= raw.n_times - 1)
    gap_mask = np.zeros((len(data), n_out), bool)
    xs = np.arange(raw.n_times)
    for ci, (row, rbad) in enumerate(zip(data, bad)):
        good = ~rbad
        if good.sum() < 2:
            continue
        if method == "linear":
            out[ci, inside] = np.interp(x_src[inside], xs, np.where(good, row, 0.0))
        else:
            from scipy.interpolate import PchipInterpolator

            out[ci, inside] = PchipInterpolator(xs[good], row[good])(x_src[inside])
        if rbad.any():
            # a target sample is missing when a source sample it interpolates from is
            lo = np.clip(np.floor(x_src).astype(int), 0, raw.n_times - 1)
            hi = np.clip(lo + 1, 0, raw.n_times - 1)
            near = rbad[lo] | rbad[hi]
            if method == "pchip":  # uses two neighbours on each side
                near |= (
                    rbad[np.clip(lo - 1, 0, None)] | rbad[np.clip(hi + 1, None, raw.n_times - 1)]
                )
            out[ci, near & inside] = np.nan
            widen = np.zeros(raw.n_times, bool)
            for i0, i1 in mask_runs(rbad):
                widen[max(0, i0 - filt_half - 1) : i1 + filt_half + 1] = True
            gap_mask[ci] = inside & widen[np.clip(np.round(x_src).astype(int), 0, raw.n_times - 1)]
    info = mne.create_info(raw.ch_names, float(sfreq), raw.get_channel_types())
    with info._unlock():
        for ch, src in zip(info["chs"], raw.info["chs"]):
            ch["unit"], ch["unit_mul"], ch["cal"] = src["unit"], src["unit_mul"], src["cal"]
        info["bads"] = list(raw.info["bads"])
    aligned = mne.io.RawArray(out, info, verbose=False)
    if t0 is not None:
        aligned.set_meas_date(t0)
    # annotations: source-file onsets -> target seconds
    ann = raw.annotations
    if len(ann):
        # raw.annotations count from first_samp's time, with or without a meas_date
        src_on = ann.onset - raw.first_time
        on = (src_on - offset) / scale
        dur = ann.duration / scale
        keep = (on + dur > 0) & (on < n_out / sfreq)
        if keep.any():
            aligned.annotations.append(
                np.maximum(on[keep], 0.0),
                (np.minimum(on[keep] + dur[keep], n_out / sfreq) - np.maximum(on[keep], 0.0)),
                ann.description[keep],
                ch_names=[ann.ch_names[i] for i in np.flatnonzero(keep)],
            )
    for i0, i1 in mask_runs(~inside):
        aligned.annotations.append(i0 / sfreq, (i1 - i0) / sfreq, "BAD_no_data")
    for ci in range(len(data)):
        for i0, i1 in mask_runs(gap_mask[ci] | (np.isnan(out[ci]) & inside)):
            aligned.annotations.append(
                i0 / sfreq, (i1 - i0) / sfreq, "BAD_gap", ch_names=[[raw.ch_names[ci]]]
            )
    report = dict(
        offset_s=float(offset),
        drift_ppm=float(drift_ppm),
        method=method,
        sfreq_source=float(src_sf),
        sfreq=float(sfreq),
        lowpass_hz=0.4 * sfreq if sfreq < src_sf else None,
        sync_fit_residual_s=fit_resid,
        n_no_data=int((~inside).sum()),
    )
    prev = get_dyad_meta(raw)
    set_dyad_meta(
        aligned,
        physio_alignment=report,
        **({"physio_source": prev["physio_source"]} if "physio_source" in prev else {}),
    )
    if (~inside).any():
        logger.info(
            f"align_physio: {int((~inside).sum())} target samples lie outside the "
            "source recording (NaN, BAD_no_data)."
        )
    return aligned


@verbose
@fill_doc
def make_physio_dyad(
    raw_a,
    raw_b,
    *,
    sfreq,
    roles=DEFAULT_ROLES,
    reference=None,
    span="overlap",
    offsets=(None, None),
    drift_ppm=(0.0, 0.0),
    missing="error",
    method="linear",
    verbose=None,
):
    """Bring two people's physiological recordings onto one timeline as a dyad.

    Parameters
    ----------
    raw_a, raw_b : mne.io.Raw
        The two people's recordings (any devices and rates).
    sfreq : float
        The common rate.
    %(roles)s
    reference : mne.io.Raw | None
        A timeline to follow (e.g. the dyad's EEG); ``None``: the two recordings' own
        start times.
    span : 'overlap' | 'union'
        Without ``reference``: the stretch both recorded, or from the first start to the last
        end (samples one person lacks are NaN under ``BAD_no_data``).
    offsets : tuple
        Per person, ``offset`` of :func:`align_physio` (``None``: from ``meas_date``).
    drift_ppm : tuple of float
        Per person, the clock's rate error against the reference clock.
    missing : 'error' | 'bad'
        A channel one person has and the other lacks: an error (default), or kept with the
        other person's channel added as NaN under a ``BAD_missing`` annotation.
    method : 'linear' | 'pchip'
        Interpolation of :func:`align_physio`.
    %(verbose)s

    Returns
    -------
    dyad : DyadRaw
        Both people at ``sfreq`` on the common timeline.
    """
    _check_option("span", span, ("overlap", "union"))
    _check_option("missing", missing, ("error", "bad"))
    names = [set(raw_a.ch_names), set(raw_b.ch_names)]
    only = [sorted(names[0] - names[1]), sorted(names[1] - names[0])]
    if any(only) and missing == "error":
        raise ValueError(
            f"Modalities recorded for one person only: {roles[0]!r} only {only[0]}, "
            f"{roles[1]!r} only {only[1]}. Drop them, or pass missing='bad' to keep them "
            "with the other person's channel missing (NaN under BAD_missing)."
        )
    kw = dict(sfreq=sfreq, method=method)
    if reference is not None:
        al = [
            align_physio(r, reference=reference, offset=o, drift_ppm=d, **kw)
            for r, o, d in zip((raw_a, raw_b), offsets, drift_ppm)
        ]
    else:
        starts = [abs_start(r) for r in (raw_a, raw_b)]
        if any(s is None for s in starts):
            if any(o is None for o in offsets):
                raise ValueError(
                    "A recording has no start time (meas_date): give both offsets= (each "
                    "source's seconds at the common first sample), or a reference=."
                )
            t0 = None
            dur = min(r.n_times / r.info["sfreq"] - o for r, o in zip((raw_a, raw_b), offsets))
        else:
            ends = [
                s + _dt.timedelta(seconds=r.n_times / r.info["sfreq"])
                for s, r in zip(starts, (raw_a, raw_b))
            ]
            t0 = max(starts) if span == "overlap" else min(starts)
            t1 = min(ends) if span == "overlap" else max(ends)
            dur = (t1 - t0).total_seconds()
            if dur <= 0:
                raise ValueError(
                    f"The recordings do not overlap in time ({roles[0]!r}: "
                    f"{starts[0]} to {ends[0]}; {roles[1]!r}: {starts[1]} to "
                    f"{ends[1]})."
                )
        al = [
            align_physio(r, start=t0, duration=dur, offset=o, drift_ppm=d, **kw)
            for r, o, d in zip((raw_a, raw_b), offsets, drift_ppm)
        ]
    n = min(r.n_times for r in al)
    al = [r.crop(tmax=(n - 1) / sfreq, include_tmax=True) if r.n_times > n else r for r in al]
    if any(only):
        for k, (r, lack) in enumerate(zip(al, (only[1], only[0]))):
            if not lack:
                continue
            other = al[1 - k]
            info = mne.create_info(
                lack, float(sfreq), [other.get_channel_types(picks=[c])[0] for c in lack]
            )
            add = mne.io.RawArray(np.full((len(lack), r.n_times), np.nan), info, verbose=False)
            add.set_meas_date(r.info["meas_date"])
            r.add_channels([add], force_update_info=True)
            r.annotations.append(
                [0.0] * len(lack),
                [r.n_times / sfreq] * len(lack),
                ["BAD_missing"] * len(lack),
                ch_names=[[c] for c in lack],
            )
            warn(f"{roles[k]!r} has no {lack}: kept as NaN under BAD_missing.")
    dyad = make_dyad_raw(al[0], al[1], roles=roles, verbose=False)
    set_dyad_meta(
        dyad,
        physio_alignment={r: get_dyad_meta(a).get("physio_alignment") for r, a in zip(roles, al)},
    )
    return dyad
