"""EDA and heart preprocessing with NeuroKit2, on MNE objects, missing data kept explicit.

- :func:`clean_eda`: NeuroKit2's EDA cleaning (``eda_clean``: a 3 Hz low-pass) per
  uninterrupted stretch.
- :func:`eda_decompose`: tonic (skin conductance level, SCL) and phasic (skin conductance
  responses, SCR) components (``eda_phasic``), added as ``<name>_SCL`` / ``<name>_SCR``.
- :func:`detect_beats` / :func:`heart_rate_from_beats` / :func:`heart_rate`: ECG R peaks
  (``ecg_clean`` + ``ecg_peaks`` with artefact correction) or PPG pulse peaks
  (``ppg_clean`` + ``ppg_peaks``) -> inter-beat intervals -> an evenly sampled heart rate
  (bpm, NeuroKit's monotone cubic interpolation, as ``signal_rate``).
- :func:`hrv_windows`: windowed HRV: RMSSD (parasympathetic, time domain) and RSA as the
  natural log of high-frequency (0.15-0.4 Hz) power of the beat series (NeuroKit's
  ``hrv_frequency``; the common respiration-free index of respiratory sinus arrhythmia).
- :func:`annotate_missing`, :func:`annotate_flat`: NaN runs and flat stretches (a
  detached or saturated sensor) as ``BAD_`` annotations.

NeuroKit fills missing samples (forward fill) and filters across them; here every function
works on the stretches between missing samples and ``BAD_`` spans separately, and stretches
too short to filter are set missing with a ``BAD_too_short`` annotation, never filled.
"""

from __future__ import annotations

import warnings

import mne
import numpy as np

from .._docs import fill_doc
from .._utils import _check_option, _validate_type, as_table, logger, verbose, warn
from ..dyad import get_dyad_meta, set_dyad_meta
from ..io.physio import abs_start, mask_runs
from .physio_missing import (
    _annotate,
    _names,
    _per_run,
    _renamed,
    _valid,
    annotate_flat,  # noqa: F401 (public, importable from here as before)
    annotate_missing,  # noqa: F401 (public, importable from here as before)
)

_MIN_IBI, _MAX_IBI = 0.3, 2.0  # s: 200 and 30 beats per minute


# --------------------------------------------------------------------------------------------
# EDA


@verbose
@fill_doc
def clean_eda(raw, picks="gsr", *, method="neurokit", min_run=10.0, verbose=None):
    """Clean skin conductance with NeuroKit2's ``eda_clean``, stretch by stretch.

    Parameters
    ----------
    raw : mne.io.Raw
        The recording; its ``gsr`` channels (or ``picks``) are cleaned.
    picks : str | list of str
        Channels or a type.
    method : 'neurokit' | 'biosppy'
        NeuroKit2's method (``'neurokit'``: 4th-order Butterworth low-pass at 3 Hz, which
        NeuroKit skips below 7 Hz sampling -- warned about).
    min_run : float
        Shortest stretch between missing samples to clean, in seconds; shorter ones become
        missing (``BAD_too_short``).
    %(verbose)s

    Returns
    -------
    raw : mne.io.Raw
        A copy with the cleaned channels.
    """
    import neurokit2 as nk

    _validate_type(raw, mne.io.BaseRaw, "raw", "Raw")
    _check_option("method", method, ("neurokit", "biosppy"))
    out = raw.copy().load_data()
    names = _names(out, picks, ("gsr",), "skin conductance")
    sf = out.info["sfreq"]
    valid, data = _valid(out, names)
    shorts = []
    low = False
    for k, name in enumerate(names):

        def clean(x):
            nonlocal low
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                y = nk.eda_clean(x, sampling_rate=sf, method=method)
            low |= any("low frequency" in str(w.message) for w in caught)
            return y

        cleaned, short = _per_run(out, name, valid[k], data[k], min_run, clean, "clean_eda")
        shorts += short
        # samples inside BAD_ spans keep their values (the annotation keeps them excluded);
        # valid stretches too short to filter become missing (annotated below)
        row = np.where(valid[k], cleaned, data[k])
        out._data[out.ch_names.index(name)] = row
    _annotate(out, shorts, "BAD_too_short")
    if low:
        warn(
            f"clean_eda: at {sf:g} Hz NeuroKit2 does not low-pass ({method!r} filters at 3 "
            "Hz, above the Nyquist frequency): the channels are unchanged."
        )
    return out


@verbose
@fill_doc
def eda_decompose(raw, picks="gsr", *, method="highpass", min_run=30.0, verbose=None):
    """Tonic (SCL) and phasic (SCR) components of skin conductance, with NeuroKit2.

    Parameters
    ----------
    raw : mne.io.Raw
        The recording (clean it first with :func:`clean_eda`).
    picks : str | list of str
        Channels or a type.
    method : 'highpass' | 'smoothmedian' | 'cvxeda' | 'sparse'
        NeuroKit2's ``eda_phasic`` method: ``'highpass'`` (AcqKnowledge's: phasic above,
        tonic below 0.05 Hz, Butterworth), ``'smoothmedian'`` (tonic = 4-s running median),
        ``'cvxeda'`` (Greco et al., 2016; needs ``cvxopt``), ``'sparse'`` (SparsEDA).
    min_run : float
        Shortest stretch between missing samples to decompose, in seconds (the 0.05 Hz
        filter needs tens of seconds); shorter ones are missing (``BAD_too_short``).
    %(verbose)s

    Returns
    -------
    raw : mne.io.Raw
        A copy with channels ``<name>_SCL`` and ``<name>_SCR`` (type ``gsr``, siemens)
        added after the originals.
    """
    import neurokit2 as nk

    _validate_type(raw, mne.io.BaseRaw, "raw", "Raw")
    _check_option("method", method, ("highpass", "smoothmedian", "cvxeda", "sparse"))
    out = raw.copy().load_data()
    names = _names(out, picks, ("gsr",), "skin conductance")
    valid, data = _valid(out, names)
    sf = out.info["sfreq"]
    new, new_names, shorts = [], [], []
    for k, name in enumerate(names):
        parts = {}

        def decompose(x):
            # NeuroKit works in any unit; microsiemens keep its defaults well scaled
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                df = nk.eda_phasic(x * 1e6, sampling_rate=sf, method=method)
            parts.setdefault("SCL", []).append(df["EDA_Tonic"].to_numpy() * 1e-6)
            parts.setdefault("SCR", []).append(df["EDA_Phasic"].to_numpy() * 1e-6)
            return x

        _, short = _per_run(out, name, valid[k], data[k], min_run, decompose, "eda_decompose")
        shorts += short
        for comp in ("SCL", "SCR"):
            row = np.full(out.n_times, np.nan)
            runs = [(i0, i1) for i0, i1 in mask_runs(valid[k]) if (i1 - i0) / sf >= min_run]
            for (i0, i1), vals in zip(runs, parts.get(comp, [])):
                row[i0:i1] = vals
            new.append(row)
            new_names.append(f"{name}_{comp}")
    info = mne.create_info(new_names, sf, "gsr")
    add = mne.io.RawArray(np.array(new), info, first_samp=out.first_samp, verbose=False)
    with add.info._unlock():
        add.info["meas_date"] = out.info["meas_date"]
    out.add_channels([add], force_update_info=True)
    missing = [(n, i0, i1) for n, row in zip(new_names, new) for i0, i1 in mask_runs(np.isnan(row))]
    _annotate(out, missing, "BAD_too_short" if shorts else "BAD_missing")
    logger.info(f"eda_decompose ({method}): {len(names)} channel(s) -> {', '.join(new_names)}.")
    return out


# --------------------------------------------------------------------------------------------
# heart


def _beat_kind(raw, name, kind):
    if kind != "auto":
        return kind
    t = raw.get_channel_types(picks=[name])[0]
    if t == "ecg":
        return "ecg"
    if t == "bio":
        return "ppg"
    raise ValueError(f"Channel {name!r} is of type {t!r}: pass kind='ecg' or kind='ppg'.")


@verbose
@fill_doc
def detect_beats(
    raw, picks=None, *, kind="auto", correct_artifacts=True, min_run=10.0, verbose=None
):
    """Heart beats from ECG (R peaks) or PPG (pulse peaks) with NeuroKit2.

    Each stretch between missing samples or ``BAD_`` spans is cleaned (``ecg_clean`` /
    ``ppg_clean``, NeuroKit's defaults) and searched for peaks (``ecg_peaks`` with
    ``correct_artifacts`` -- Lipponen & Tarvainen's correction of missed, extra and
    ectopic beats -- or ``ppg_peaks``) on its own.

    Parameters
    ----------
    raw : mne.io.Raw
        The recording.
    picks : str | list of str | None
        Channels; ``None``: every ``ecg`` channel, else every ``bio`` channel.
    kind : 'auto' | 'ecg' | 'ppg'
        Signal kind; ``'auto'``: ``ecg`` channels are ECG, ``bio`` channels PPG.
    correct_artifacts : bool
        NeuroKit's artefact correction of the peaks.
    min_run : float
        Shortest stretch (s) to search; shorter ones give no beats.
    %(verbose)s

    Returns
    -------
    beats : dict
        ``{channel: {'times': beat times in s from the first sample, 'segments': [(start,
        stop), ...] the stretches searched (s), 'sfreq': the rate}}``. Intervals between beats
        of different segments are not intervals (a gap lies between them).
    """
    import neurokit2 as nk

    _validate_type(raw, mne.io.BaseRaw, "raw", "Raw")
    _check_option("kind", kind, ("auto", "ecg", "ppg"))
    if picks is None:
        types = raw.get_channel_types()
        picks = "ecg" if "ecg" in types else "bio"
    names = _names(raw, picks, ("ecg", "bio"), "ECG or PPG")
    valid, data = _valid(raw, names)
    sf = raw.info["sfreq"]
    out = {}
    for k, name in enumerate(names):
        kk = _beat_kind(raw, name, kind)
        times, segs = [], []
        for i0, i1 in mask_runs(valid[k]):
            if (i1 - i0) / sf < min_run:
                continue
            x = data[k, i0:i1]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if kk == "ecg":
                    clean = nk.ecg_clean(x, sampling_rate=sf)
                    _, info = nk.ecg_peaks(
                        clean, sampling_rate=sf, correct_artifacts=correct_artifacts
                    )
                    peaks = info["ECG_R_Peaks"]
                else:
                    clean = nk.ppg_clean(x, sampling_rate=sf)
                    _, info = nk.ppg_peaks(
                        clean, sampling_rate=sf, correct_artifacts=correct_artifacts
                    )
                    peaks = info["PPG_Peaks"]
            times.append((i0 + np.asarray(peaks, float)) / sf)
            segs.append((i0 / sf, i1 / sf))
        t = np.concatenate(times) if times else np.array([])
        if len(t) < 2:
            raise ValueError(
                f"Channel {name!r}: fewer than 2 beats found in "
                f"{sum(b - a for a, b in segs):.1f} s of valid signal; is it an "
                f"{kk.upper()}? (kind={kind!r})"
            )
        out[name] = dict(times=t, segments=segs, sfreq=float(sf))
        logger.info(f"{name}: {len(t)} beats ({kk}) in {len(segs)} segment(s).")
    return out


def _intervals(entry, min_ibi, max_ibi):
    """(end times, intervals) of the valid inter-beat intervals of one channel."""
    t = np.asarray(entry["times"], float)
    seg_of = np.full(len(t), -1)
    for k, (a, b) in enumerate(entry["segments"]):
        seg_of[(t >= a) & (t < b)] = k
    ibi = np.diff(t)
    ok = (seg_of[1:] == seg_of[:-1]) & (seg_of[1:] >= 0) & (ibi >= min_ibi) & (ibi <= max_ibi)
    return t[1:], ibi, ok


@verbose
@fill_doc
def heart_rate_from_beats(
    beats,
    *,
    sfreq=4.0,
    n_times=None,
    meas_date=None,
    min_ibi=_MIN_IBI,
    max_ibi=_MAX_IBI,
    name="HR",
    verbose=None,
):
    """Return an evenly sampled heart rate (bpm) from beat times.

    The rate of each valid interval (``60 / IBI``) is placed at the beat that ends it and
    interpolated onto the grid with NeuroKit2's monotone cubic interpolation (as its
    ``signal_rate``), within each uninterrupted run of valid intervals only. An interval
    is valid when both beats lie in one searched segment and it lasts ``min_ibi`` to
    ``max_ibi`` seconds; elsewhere the rate is missing (NaN, ``BAD_no_beats``), never
    interpolated across.

    Parameters
    ----------
    beats : dict
        From :func:`detect_beats`.
    sfreq : float
        Rate of the output (4 Hz is usual for heart-rate series).
    n_times : int | None
        Output length in samples; ``None``: up to the last segment's end.
    meas_date : datetime | None
        ``meas_date`` of the output.
    min_ibi, max_ibi : float
        Valid interval range in seconds (default 0.3-2 s: 200-30 bpm).
    name : str
        Output channel name (``'<role>:HR'`` for a dyad's ``'<role>:ECG'``).
    %(verbose)s

    Returns
    -------
    raw : mne.io.RawArray
        One ``misc`` channel per input channel, in beats per minute.
    """
    import neurokit2 as nk

    _validate_type(beats, dict, "beats")
    if n_times is None:
        end = max(b for e in beats.values() for _, b in e["segments"])
        n_times = int(np.floor(end * sfreq)) + 1
    grid = np.arange(n_times) / sfreq
    rows, names, spans = [], [], []
    for ch, entry in beats.items():
        t_end, ibi, ok = _intervals(entry, min_ibi, max_ibi)
        row = np.full(n_times, np.nan)
        for i0, i1 in mask_runs(ok):
            if i1 - i0 < 2:
                continue
            x, y = t_end[i0:i1], 60.0 / ibi[i0:i1]
            # the rate is known from the run's first interval end on (nothing extrapolated)
            sel = (grid >= x[0]) & (grid <= x[-1])
            if sel.any():
                row[sel] = nk.signal_interpolate(x, y, x_new=grid[sel], method="monotone_cubic")
        out_name = _renamed(ch, name)
        names.append(out_name)
        rows.append(row)
        spans += [(out_name, i0, i1) for i0, i1 in mask_runs(np.isnan(row))]
    info = mne.create_info(names, float(sfreq), "misc")
    raw = mne.io.RawArray(np.array(rows), info, verbose=False)
    if meas_date is not None:
        raw.set_meas_date(meas_date)
    _annotate(raw, spans, "BAD_no_beats")
    return raw


@verbose
@fill_doc
def heart_rate(
    raw,
    picks=None,
    *,
    sfreq=4.0,
    kind="auto",
    correct_artifacts=True,
    min_ibi=_MIN_IBI,
    max_ibi=_MAX_IBI,
    verbose=None,
):
    """ECG/PPG -> beats -> inter-beat intervals -> evenly sampled heart rate (bpm).

    :func:`detect_beats` then :func:`heart_rate_from_beats`; the beat times are kept in
    the output's metadata for :func:`hrv_windows`.

    Parameters
    ----------
    raw : mne.io.Raw
        The recording (one person or a dyad).
    picks : str | list of str | None
        See :func:`detect_beats`.
    sfreq : float
        Output rate.
    kind : 'auto' | 'ecg' | 'ppg'
        See :func:`detect_beats`.
    correct_artifacts : bool
        See :func:`detect_beats`.
    min_ibi, max_ibi : float
        See :func:`heart_rate_from_beats`.
    %(verbose)s

    Returns
    -------
    hr : mne.io.RawArray
        ``'<role>:HR'`` (``misc``, bpm) per input channel, on the input's timeline
        (same ``meas_date``, time 0 at its first sample); ``BAD_no_beats`` where no rate is
        known. ``get_dyad_meta(hr)['beats']`` holds the beats.
    """
    beats = detect_beats(raw, picks, kind=kind, correct_artifacts=correct_artifacts)
    n_out = int(np.floor((raw.n_times - 1) / raw.info["sfreq"] * sfreq)) + 1
    # time 0 of the output is the input's first sample
    hr = heart_rate_from_beats(
        beats,
        sfreq=sfreq,
        n_times=n_out,
        meas_date=abs_start(raw),
        min_ibi=min_ibi,
        max_ibi=max_ibi,
    )
    set_dyad_meta(
        hr,
        beats={
            ch: dict(times=e["times"].tolist(), segments=e["segments"], sfreq=e["sfreq"])
            for ch, e in beats.items()
        },
        heart_rate=dict(
            min_ibi=min_ibi, max_ibi=max_ibi, kind=kind, correct_artifacts=correct_artifacts
        ),
    )
    return hr


def hrv_windows(
    beats,
    *,
    window=60.0,
    step=30.0,
    duration=None,
    min_coverage=0.8,
    min_ibi=_MIN_IBI,
    max_ibi=_MAX_IBI,
):
    """Windowed heart-rate variability: RMSSD and RSA (ln HF power) per window.

    Parameters
    ----------
    beats : dict | mne.io.Raw
        From :func:`detect_beats`, or the output of :func:`heart_rate` (its stored beats).
    window, step : float
        Window length and step in seconds.
    duration : float | None
        Recording length (s); ``None``: the end of the last searched segment.
    min_coverage : float
        A window's values are missing when its valid intervals cover less than this
        fraction of it.
    min_ibi, max_ibi : float
        Valid interval range (s).

    Returns
    -------
    table : pandas.DataFrame
        One row per channel and window: ``channel``, ``onset``, ``center``, ``n_beats``,
        ``coverage``, ``mean_hr`` (bpm), ``rmssd`` (ms: root mean square of the differences
        of successive valid intervals, pairs across a gap excluded), ``rsa_lnhf`` (NeuroKit2's
        ``HRV_LnHF``, 0.15-0.4 Hz, of windows whose beats form one uninterrupted run, else
        NaN), ``valid``.
    """
    import neurokit2 as nk

    if isinstance(beats, mne.io.BaseRaw):
        meta = get_dyad_meta(beats).get("beats")
        if not meta:
            raise ValueError(
                "This Raw holds no beats: pass the output of heart_rate, or the "
                "dict of detect_beats."
            )
        beats = {k: dict(v, times=np.asarray(v["times"])) for k, v in meta.items()}
    _validate_type(beats, dict, "beats")
    if duration is None:
        duration = max(b for e in beats.values() for _, b in e["segments"])
    rows = []
    for ch, entry in beats.items():
        t_end, ibi, ok = _intervals(entry, min_ibi, max_ibi)
        t0 = t_end - ibi
        for onset in np.arange(0.0, duration - window + 1e-9, step):
            inside = (t0 >= onset) & (t_end <= onset + window)
            good = inside & ok
            cover = float(ibi[good].sum() / window)
            # successive differences only between adjacent valid intervals
            pair = good[1:] & good[:-1]
            d = np.diff(ibi)[pair]
            valid = cover >= min_coverage and len(d) >= 2
            row = dict(
                channel=ch,
                onset=float(onset),
                center=float(onset + window / 2),
                n_beats=int(good.sum()) + 1 if good.any() else 0,
                coverage=cover,
                mean_hr=float(60.0 / ibi[good].mean()) if good.any() else np.nan,
                rmssd=float(np.sqrt(np.mean(d**2)) * 1000) if valid else np.nan,
                rsa_lnhf=np.nan,
                valid=bool(valid),
            )
            if valid and good[inside].all():
                peaks = np.concatenate([[t0[good][0]], t_end[good]])
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    fr = nk.hrv_frequency(np.round(peaks * 1000).astype(int), sampling_rate=1000)
                row["rsa_lnhf"] = float(fr["HRV_LnHF"].iloc[0])
            rows.append(row)
    return as_table(rows)
