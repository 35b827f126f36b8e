"""Physiological recordings from separate devices, and onto a dyad's timeline.

Readers (each returns an :class:`mne.io.RawArray` with MNE channel types ``gsr``, ``ecg``,
``bio``, ``resp`` or ``misc``, values in SI units where MNE has them -- skin conductance in
siemens, ECG in volts -- and ``meas_date`` where the file states when it started):

- :func:`read_raw_physio_csv`: a generic timestamped CSV/TSV (one time column, one column per
  channel);
- :func:`read_raw_empatica`: Empatica E4-style files (first row: start time as a Unix
  timestamp, second row: the sampling rate, then the values);
- :func:`read_raw_acqknowledge`: BIOPAC AcqKnowledge ``.acq`` files, through ``bioread``;
- :func:`hyperinsync.io.mea.read_mea`: motion energy (MEA) text files, one dyad per file.

Missing samples are never filled: a gap in the timestamps becomes NaN samples under a
``BAD_gap`` annotation, empty cells become NaN under ``BAD_missing``. The helpers of that
convention (:func:`mask_runs`, :func:`annotate_nan`, :func:`bad_masks`, :func:`abs_start`)
are public: the preprocessing (:mod:`hyperinsync.preprocessing`) and the lagged synchrony
(:mod:`hyperinsync.sync.lagged`) read missing data the same way.

Onto one timeline (a dyad's, or a start time), resampled at a stated rate:
:mod:`hyperinsync.io.physio_align` (:func:`~hyperinsync.io.physio_align.align_physio`,
:func:`~hyperinsync.io.physio_align.make_physio_dyad`).
"""

from __future__ import annotations

import datetime as _dt
import re
from pathlib import Path

import mne
import numpy as np

from .._docs import fill_doc
from .._utils import _check_option, _validate_type, logger, verbose, warn
from ..roles import set_dyad_meta
from .errors import PhysioIOError
from .physio_missing import (  # noqa: F401 (public helpers, importable from here as before)
    abs_start,
    annotate_nan,
    bad_masks,
    mask_runs,
)

UTC = _dt.timezone.utc
_TIME_NAMES = (
    "time",
    "times",
    "timestamp",
    "timestamps",
    "t",
    "seconds",
    "time_s",
    "time (s)",
    "sec",
    "secs",
)
_UNIT_SCALE = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "min": 60.0}
_PHYSIO_TYPES = ("gsr", "ecg", "bio", "resp", "misc", "emg", "eog", "temperature")


def _raw(data, names, types, sfreq, meas_date, fname, scales=None):
    info = mne.create_info(list(names), float(sfreq), list(types))
    data = np.asarray(data, float)
    if scales is not None:
        data = data * np.asarray(scales, float)[:, None]
    raw = mne.io.RawArray(data, info, verbose=False)
    if meas_date is not None:
        raw.set_meas_date(meas_date)
    return raw


def _word(name, alternatives):
    """Whether a name holds one of the words, delimited by anything but letters."""
    return re.search(rf"(?<![a-z])({alternatives})(?![a-z])", name) is not None


_CONDUCTANCE = {
    "µs": 1e-6,
    "us": 1e-6,
    "microsiemens": 1e-6,
    "microsiemen": 1e-6,
    "µmho": 1e-6,
    "umho": 1e-6,
    "micromho": 1e-6,
    "micromhos": 1e-6,
    "ms": 1e-3,
    "millisiemens": 1e-3,
    "s": 1.0,
    "siemens": 1.0,
    "mho": 1.0,
}
_VOLTAGE = {
    "v": 1.0,
    "volt": 1.0,
    "volts": 1.0,
    "mv": 1e-3,
    "millivolts": 1e-3,
    "µv": 1e-6,
    "uv": 1e-6,
    "microvolts": 1e-6,
}


def _norm_unit(unit):
    return (unit or "").strip().lower().replace("μ", "µ")


def _guess_type(name, unit=""):
    """MNE channel type from a channel name and unit text."""
    n, u = name.lower(), _norm_unit(unit)
    if (u in _CONDUCTANCE and u not in ("s", "ms")) or _word(
        n, r"eda|gsr|scl|scr|skin ?conductance"
    ):
        return "gsr"
    if _word(n, r"ecg|ekg"):
        return "ecg"
    if _word(n, r"resp|rsp|respiration|breath\w*"):
        return "resp"
    if _word(n, r"ppg|bvp|pulse|pleth\w*"):
        return "bio"
    return "misc"


def _unit_scale(kind, unit, where):
    """Factor to SI of values in ``unit`` for an MNE channel type (1: keep as they are).

    Conductance (gsr) goes to siemens, voltages (any other type) to volts; other units of
    ``misc`` channels (bpm, degrees, ...) are kept.
    """
    u = _norm_unit(unit)
    if not u:
        return 1.0
    if kind == "gsr":
        if u not in _CONDUCTANCE:
            raise PhysioIOError(
                f"{where}: unit {unit!r} is not a conductance unit (µS, uS, µmho, mS, S)."
            )
        return _CONDUCTANCE[u]
    return _VOLTAGE.get(u, 1.0)


def _check_types(ch_types, names):
    if ch_types is None:
        return {}
    _validate_type(ch_types, dict, "ch_types")
    for name, kind in ch_types.items():
        if name not in names:
            raise PhysioIOError(f"ch_types names {name!r}, which is not a channel: {names}.")
        _check_option(f"ch_types[{name!r}]", kind, _PHYSIO_TYPES)
    return dict(ch_types)


# --------------------------------------------------------------------------------------------
# generic timestamped CSV / TSV


def _read_table(fname, delimiter):
    import pandas as pd

    if delimiter is None:
        delimiter = "\t" if Path(fname).suffix.lower() in (".tsv", ".tab") else None
    try:
        return pd.read_csv(
            fname,
            sep=delimiter,
            engine="python",
            skipinitialspace=True,
            na_values=["NA", "NaN", "nan", "", "-"],
        )
    except Exception as err:  # pandas raises many types: say which file
        raise PhysioIOError(
            f"{fname}: cannot be read as a table ({type(err).__name__}: "
            f"{err}). Check the delimiter (delimiter=',' or '\\t')."
        ) from None


def _times_to_seconds(col, fname, name, time_unit):
    """Return times as seconds from the first one, and the absolute start (datetime or None)."""
    import pandas as pd

    if pd.api.types.is_numeric_dtype(col):
        t = col.to_numpy(float) * _UNIT_SCALE[time_unit]
        if np.isnan(t).any():
            raise PhysioIOError(
                f"{fname}: time column {name!r} has empty cells (rows "
                f"{np.flatnonzero(np.isnan(t))[:5].tolist()})."
            )
        start = None
        if time_unit == "s" and t[0] > 1e9:  # Unix time stamps (after 2001-09-09)
            start = _dt.datetime.fromtimestamp(t[0], tz=UTC)
        return t - t[0], start
    try:
        stamps = pd.to_datetime(col, utc=True, format="ISO8601")
    except (ValueError, TypeError) as err:
        raise PhysioIOError(
            f"{fname}: time column {name!r} is neither numeric nor ISO 8601 date-times ({err})."
        ) from None
    t = (stamps - stamps.iloc[0]).dt.total_seconds().to_numpy(float)
    return t, stamps.iloc[0].to_pydatetime()


def _grid(t, sfreq, fname, gap_threshold, jitter_tolerance):
    """Sample indices on a regular grid for the times ``t`` (s), gaps found, drift checked."""
    dt = np.diff(t)
    if np.any(dt <= 0):
        i = int(np.flatnonzero(dt <= 0)[0])
        raise PhysioIOError(
            f"{fname}: time stamps do not increase at rows {i + 1}-{i + 2} ({t[i]:.6f} s, "
            f"{t[i + 1]:.6f} s from the start): the file is not one continuous recording in "
            "time order."
        )
    nominal = sfreq
    if sfreq is None:
        nominal = 1.0 / np.median(dt)
    steps = np.round(dt * nominal).astype(int)
    gaps = steps > gap_threshold
    if sfreq is None:
        # the rate the time stamps show: least squares of time on sample index
        idx = np.concatenate([[0], np.cumsum(np.maximum(steps, 1))])
        slope = np.polyfit(idx, t, 1)[0]
        sfreq = 1.0 / slope
    idx = np.concatenate([[0], np.cumsum(np.maximum(np.round(dt * sfreq).astype(int), 1))])
    resid = t - idx / sfreq
    resid -= np.median(resid)
    worst = float(np.max(np.abs(resid)) * sfreq)
    if worst > jitter_tolerance:
        k = int(np.argmax(np.abs(resid)))
        shown = 1.0 / np.polyfit(idx, t, 1)[0]
        raise PhysioIOError(
            f"{fname}: the time stamps are off a regular {sfreq:g} Hz grid by up to "
            f"{worst:.2f} samples (row {k + 1}, {t[k]:.3f} s), more than jitter_tolerance="
            f"{jitter_tolerance} sample(s); they show a rate of {shown:.6g} Hz, "
            f"{(shown / sfreq - 1) * 1e6:+.0f} ppm from {sfreq:g} Hz. Either the device clock "
            "drifts against the stamping clock or the rate is not "
            f"{sfreq:g} Hz: omit sfreq= to use the rate the stamps show, or raise "
            "jitter_tolerance to place each sample at its nearest grid point."
        )
    return idx, float(sfreq), [(int(idx[i]) + 1, int(idx[i + 1])) for i in np.flatnonzero(gaps)]


@verbose
@fill_doc
def read_raw_physio_csv(
    fname,
    *,
    time_column="auto",
    sfreq=None,
    time_unit="s",
    ch_types=None,
    units=None,
    meas_date=None,
    delimiter=None,
    gap_threshold=1.5,
    jitter_tolerance=0.25,
    verbose=None,
):
    """Read a timestamped CSV/TSV of physiological channels.

    Parameters
    ----------
    fname : path-like
        The file: a header row, one time column and one numeric column per channel.
    time_column : 'auto' | str | None
        The column holding the time stamps: seconds (``time_unit``), Unix time stamps, or
        ISO 8601 date-times. ``'auto'``: a column named ``time``, ``timestamp``, ``t``,
        ``seconds``, ... (case-insensitive). ``None``: no time column; then ``sfreq`` is
        required and the rows are consecutive samples.
    sfreq : float | None
        The sampling rate. ``None``: the rate the time stamps show (a least-squares fit,
        so a device whose clock drifts against the stamping clock gives its true rate).
        Given: the stamps must lie on that rate's grid within ``jitter_tolerance``.
    time_unit : 's' | 'ms' | 'us' | 'min'
        Unit of numeric time stamps.
    ch_types : dict | None
        ``{column: MNE type}`` overriding the guess from the column names (``EDA``/``GSR``/
        ``SCL`` -> ``gsr``; ``ECG``/``EKG`` -> ``ecg``; ``RESP``/``RSP`` -> ``resp``;
        ``PPG``/``BVP``/``PULSE`` -> ``bio``; else ``misc``).
    units : dict | None
        ``{column: unit}`` of the values, e.g. ``{'EDA': 'uS', 'ECG': 'mV'}``: conductance
        is stored in siemens and voltages in volts, as MNE expects; other units (``'bpm'``)
        and columns without a unit are stored unchanged (a ``gsr`` column without a unit
        is taken to be in siemens).
    meas_date : datetime | None
        The recording's start when the stamps are relative; ignored (with a warning if it
        differs) when they are absolute.
    delimiter : str | None
        Column separator; ``None``: tab for ``.tsv``, else detected.
    gap_threshold : float
        A step between stamps longer than this many sample periods is a gap: its missing
        samples are NaN under a ``BAD_gap`` annotation.
    jitter_tolerance : float
        Largest distance, in samples, of a stamp from the regular grid.
    %(verbose)s

    Returns
    -------
    raw : mne.io.RawArray
        The channels; ``meas_date`` from absolute stamps or ``meas_date``. The rate and the
        number of gaps are logged and stored in hyperinsync's metadata
        (``get_dyad_meta(raw)['physio_source']``).

    Examples
    --------
    >>> np.savetxt("eda.csv", np.c_[np.arange(8) / 4, 2 + 0.1 * np.arange(8)],
    ...            delimiter=",", header="time,EDA", comments="")    # 4 Hz, microsiemens
    >>> raw = hs.io.read_raw_physio_csv("eda.csv", units={"EDA": "uS"})
    >>> round(raw.info["sfreq"], 3), raw.get_channel_types(), 1e6 * raw.get_data()[0, :2]
    (4.0, ['gsr'], array([2. , 2.1]))
    """
    fname = str(fname)
    df = _read_table(fname, delimiter)
    cols = [str(c) for c in df.columns]
    df.columns = cols
    _check_option("time_unit", time_unit, tuple(_UNIT_SCALE))
    if time_column == "auto":
        hits = [c for c in cols if c.strip().lower() in _TIME_NAMES]
        if len(hits) != 1:
            raise PhysioIOError(
                f"{fname}: found {len(hits)} time column(s) {hits} among {cols}: name it "
                "with time_column=, or pass time_column=None and sfreq= for untimed rows."
            )
        time_column = hits[0]
    if time_column is not None and time_column not in cols:
        raise PhysioIOError(f"{fname}: no column {time_column!r}; columns: {cols}.")
    names = [c for c in cols if c != time_column]
    if not names:
        raise PhysioIOError(f"{fname}: no data column besides the time column.")
    bad = [c for c in names if not np.issubdtype(df[c].dtype, np.number)]
    if bad:
        raise PhysioIOError(
            f"{fname}: column(s) {bad} are not numeric (first value "
            f"{df[bad[0]].iloc[0]!r}). Drop them or fix the file."
        )
    values = df[names].to_numpy(float).T
    start = None
    gaps = []
    if time_column is None:
        if sfreq is None:
            raise PhysioIOError(f"{fname}: without a time column, give sfreq=.")
        idx = np.arange(values.shape[1])
    else:
        t, start = _times_to_seconds(df[time_column], fname, time_column, time_unit)
        idx, sfreq, gaps = _grid(t, sfreq, fname, gap_threshold, jitter_tolerance)
    data = np.full((len(names), int(idx[-1]) + 1), np.nan)
    data[:, idx] = values
    if start is not None and meas_date is not None and start != meas_date:
        warn(
            f"{fname}: the time stamps start at {start.isoformat()}; meas_date="
            f"{meas_date} is ignored."
        )
    start = start if start is not None else meas_date
    types_over = _check_types(ch_types, names)
    units = dict(units or {})
    types = [types_over.get(c, _guess_type(c)) for c in names]
    scales = [_unit_scale(k, units.get(c), f"{fname}: column {c!r}") for c, k in zip(names, types)]
    raw = _raw(data, names, types, sfreq, start, fname, scales)
    for i0, i1 in gaps:
        raw.annotations.append(i0 / sfreq, (i1 - i0) / sfreq, "BAD_gap")
    inside = np.zeros(data.shape[1], bool)
    for i0, i1 in gaps:
        inside[i0:i1] = True
    cells = ~np.isfinite(data) & ~inside[None, :]
    n_missing = 0
    if cells.any():
        tmp = mne.io.RawArray(np.where(cells, np.nan, 0.0), raw.info.copy(), verbose=False)
        n_missing = annotate_nan(tmp)
        raw.set_annotations(raw.annotations + tmp.annotations)
    set_dyad_meta(
        raw,
        physio_source=dict(
            file=fname,
            kind="csv",
            sfreq=sfreq,
            n_gaps=len(gaps),
            n_missing_runs=n_missing,
            time_column=time_column,
        ),
    )
    logger.info(
        f"{fname}: {len(names)} channel(s), {data.shape[1]} samples at {sfreq:g} Hz, "
        f"{len(gaps)} gap(s), {n_missing} run(s) of empty cells."
    )
    return raw


# --------------------------------------------------------------------------------------------
# Empatica


_EMPATICA = {
    "EDA": ("gsr", 1e-6),
    "BVP": ("bio", 1.0),
    "HR": ("misc", 1.0),
    "TEMP": ("misc", 1.0),
    "ACC": ("misc", 1.0),
}


@verbose
@fill_doc
def read_raw_empatica(fname, *, ch_name=None, ch_type=None, verbose=None):
    """Read an Empatica E4-style CSV (start time and rate in the first two rows).

    Row 1 holds the start as a Unix time stamp (UTC; one per column), row 2 the sampling
    rate in Hz, the rest the values. ``EDA.csv`` (µS, stored in siemens, type ``gsr``),
    ``BVP.csv`` (photoplethysmogram, ``bio``), ``HR.csv`` (bpm, ``misc``), ``TEMP.csv``
    (°C, ``misc``) and ``ACC.csv`` (three axes in 1/64 g, ``misc``, named ``ACC_X``,
    ``ACC_Y``, ``ACC_Z``) are recognised by their names. ``IBI.csv`` holds beat
    intervals, not a regular series: read it with :func:`read_empatica_ibi`.

    Parameters
    ----------
    fname : path-like
        The file.
    ch_name : str | None
        Channel name; ``None``: the file's stem (``EDA``, ...).
    ch_type : str | None
        MNE type; ``None``: from the name (other names: ``misc``, values unchanged).
    %(verbose)s

    Returns
    -------
    raw : mne.io.RawArray
        With ``meas_date`` the header's start time.
    """
    fname = str(fname)
    stem = Path(fname).stem.upper()
    if stem == "IBI":
        raise PhysioIOError(
            f"{fname} holds inter-beat intervals, not a regular series: read "
            "it with read_empatica_ibi."
        )
    try:
        with open(fname, encoding="utf-8") as fid:
            head = [next(fid) for _ in range(2)]
        values = np.loadtxt(fname, delimiter=",", skiprows=2, ndmin=2)
    except (StopIteration, ValueError) as err:
        raise PhysioIOError(
            f"{fname}: not an Empatica file (2 header rows: start time, rate; then numbers): {err}."
        ) from None
    starts = [float(v) for v in head[0].split(",")]
    rates = [float(v) for v in head[1].split(",")]
    if len(set(rates)) != 1 or not rates[0] > 0:
        raise PhysioIOError(
            f"{fname}: the rate row {head[1].strip()!r} must hold one positive rate."
        )
    if values.shape[1] != len(starts):
        raise PhysioIOError(
            f"{fname}: {len(starts)} start time(s) but {values.shape[1]} column(s)."
        )
    base = ch_name or stem
    names = [base] if values.shape[1] == 1 else [f"{base}_{a}" for a in "XYZ"[: values.shape[1]]]
    kind, scale = _EMPATICA.get(stem, ("misc", 1.0))
    if ch_type is not None:
        _check_option("ch_type", ch_type, _PHYSIO_TYPES)
        kind = ch_type
    raw = _raw(
        values.T,
        names,
        [kind] * len(names),
        rates[0],
        _dt.datetime.fromtimestamp(starts[0], tz=UTC),
        fname,
        [scale] * len(names),
    )
    annotate_nan(raw)
    set_dyad_meta(raw, physio_source=dict(file=fname, kind="empatica", sfreq=rates[0]))
    return raw


def read_empatica_ibi(fname):
    """Read an Empatica ``IBI.csv``: beat times and inter-beat intervals.

    Parameters
    ----------
    fname : path-like
        The file: row 1 the start as a Unix time stamp, then rows ``time, ibi`` in seconds
        from the start.

    Returns
    -------
    start : datetime.datetime
        The recording's start (UTC).
    beats : ndarray
        Times of the beats ending each interval, seconds from ``start``.
    ibi : ndarray
        The intervals in seconds (gaps where the device lost the pulse are simply absent:
        consecutive rows further apart than their interval).

    Examples
    --------
    >>> np.savetxt("IBI.csv", [[0.8, 0.8], [1.6, 0.8], [2.45, 0.85], [4.1, 0.8]], fmt="%.2f",
    ...            delimiter=",", header="1709546400.0, IBI", comments="")
    >>> start, beats, ibi = hs.io.read_empatica_ibi("IBI.csv")
    >>> str(start), beats.tolist()    # a gap (no pulse) between 2.45 and 4.1 s
    ('2024-03-04 10:00:00+00:00', [0.8, 1.6, 2.45, 4.1])
    """
    fname = str(fname)
    with open(fname, encoding="utf-8") as fid:
        first = fid.readline().split(",")[0]
    values = np.loadtxt(fname, delimiter=",", skiprows=1, ndmin=2)
    return _dt.datetime.fromtimestamp(float(first), tz=UTC), values[:, 0], values[:, 1]


# --------------------------------------------------------------------------------------------
# BIOPAC AcqKnowledge


@verbose
@fill_doc
def read_raw_acqknowledge(fname, *, channels=None, ch_types=None, verbose=None):
    """Read a BIOPAC AcqKnowledge ``.acq`` file (through ``bioread``).

    Channel types and scales come from the names and units AcqKnowledge stores: µS / µmho
    -> ``gsr`` in siemens; ECG/EKG in mV or V -> ``ecg`` in volts; respiration -> ``resp``;
    PPG/pulse -> ``bio``; others ``misc`` with their values unchanged. Event markers
    become annotations (channel markers name their channel). ``meas_date`` is estimated
    from the markers' creation times when the file has any (the creation time of the first
    such marker minus its position in the recording), else left unset.

    Parameters
    ----------
    fname : path-like
        The ``.acq`` file.
    channels : list of str | None
        Channels to read; ``None``: all. AcqKnowledge may store channels at different
        rates (a divider per channel); the channels read must share one rate.
    ch_types : dict | None
        ``{channel: MNE type}`` overriding the guess.
    %(verbose)s

    Returns
    -------
    raw : mne.io.RawArray
        One person's recording (channel types guessed from the names, or ``ch_types``).

    Examples
    --------
    >>> raw = hs.io.read_raw_acqknowledge("session.acq", channels=["EDA100C"])  # doctest: +SKIP
    """
    import bioread

    fname = str(fname)
    try:
        acq = bioread.read_file(fname)
    except Exception as err:  # bioread raises its own and generic errors
        raise PhysioIOError(
            f"{fname}: bioread cannot read it ({type(err).__name__}: {err})."
        ) from None
    chans = list(acq.channels)
    names = [c.name for c in chans]
    if channels is not None:
        missing = [c for c in channels if c not in names]
        if missing:
            raise PhysioIOError(f"{fname}: no channel(s) {missing}; channels: {names}.")
        chans = [chans[names.index(c)] for c in channels]
    rates = {c.name: float(c.samples_per_second) for c in chans}
    if len(set(rates.values())) > 1:
        raise PhysioIOError(
            f"{fname}: the channels have different rates {rates}: read channels of one rate "
            "at a time with channels=[...] (then bring them onto one timeline with "
            "align_physio)."
        )
    sfreq = next(iter(rates.values()))
    lengths = {len(c.data) for c in chans}
    n = min(lengths)
    if len(lengths) > 1:
        warn(
            f"{fname}: channels have {sorted(lengths)} samples (recording stopped within a "
            f"block); all are cut to {n}."
        )
    over = _check_types(ch_types, [c.name for c in chans])
    types = [over.get(c.name, _guess_type(c.name, c.units)) for c in chans]
    scales = [_unit_scale(k, c.units, f"{fname}: channel {c.name!r}") for c, k in zip(chans, types)]
    start = None
    markers = list(acq.event_markers or [])
    base_rate = float(acq.samples_per_second)
    dated = [m for m in markers if getattr(m, "date_created_utc", None)]
    if dated:
        m = min(dated, key=lambda m: m.date_created_utc)
        start = m.date_created_utc - _dt.timedelta(seconds=m.sample_index / base_rate)
        if start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
    data = np.array([np.asarray(c.data[:n], float) for c in chans])
    raw = _raw(data, [c.name for c in chans], types, sfreq, start, fname, scales)
    onset, desc, chs = [], [], []
    for m in markers:
        t = m.sample_index / base_rate
        if t > n / sfreq:
            continue
        onset.append(t)
        desc.append(str(m.text or m.type_code or "marker"))
        ch = getattr(m, "channel", None)
        chs.append([ch.name] if ch is not None and ch.name in raw.ch_names else [])
    if onset:
        raw.annotations.append(onset, [0.0] * len(onset), desc, ch_names=chs)
    annotate_nan(raw)
    set_dyad_meta(
        raw,
        physio_source=dict(
            file=fname, kind="acqknowledge", sfreq=sfreq, meas_date_from_markers=start is not None
        ),
    )
    return raw
