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
``BAD_gap`` annotation, empty cells become NaN under ``BAD_missing``.

Onto one timeline: :func:`align_physio` resamples one person's recording onto a reference
timeline (a dyad's, or a start time) at a stated rate; :func:`make_physio_dyad` does it for
both people and builds the :class:`~hyperinsync.dyad.DyadRaw`.

Clock model (as in :mod:`hyperinsync.io.align`): a source sample recorded at source-file time
:math:`t_S` (seconds from the source's first sample, by its own clock) was recorded at
reference time :math:`t_R` with

.. math:: t_S = \\mathrm{offset} + (1 + \\mathrm{drift\\_ppm} \\cdot 10^{-6})\\, t_R .

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
import re
from pathlib import Path

import mne
import numpy as np

from .._utils import _check_option, _validate_type, logger, verbose, warn
from ..dyad import DEFAULT_ROLES, get_dyad_meta, make_dyad_raw, set_dyad_meta

UTC = _dt.timezone.utc
_TIME_NAMES = ("time", "times", "timestamp", "timestamps", "t", "seconds", "time_s", "time (s)",
               "sec", "secs")
_UNIT_SCALE = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "min": 60.0}
_PHYSIO_TYPES = ("gsr", "ecg", "bio", "resp", "misc", "emg", "eog", "temperature")


class PhysioIOError(ValueError):
    """A physiological file that cannot be read as it is (the message says why and where)."""


# --------------------------------------------------------------------------------------------
# helpers shared by the readers


def _runs(mask):
    """(start, stop) index pairs of the True runs of a boolean vector."""
    m = np.concatenate([[False], np.asarray(mask, bool), [False]])
    edges = np.flatnonzero(np.diff(m.astype(int)))
    return list(zip(edges[::2], edges[1::2]))


def _annotate_nan(raw, description="BAD_missing"):
    """Add one ``description`` annotation per NaN run of each channel (in place)."""
    data = raw.get_data()
    sf = raw.info["sfreq"]
    onset, duration, desc, chs = [], [], [], []
    for ci, row in enumerate(data):
        for i0, i1 in _runs(~np.isfinite(row)):
            onset.append(raw.first_time + i0 / sf)
            duration.append((i1 - i0) / sf)
            desc.append(description)
            chs.append([raw.ch_names[ci]])
    if onset:
        raw.annotations.append(onset, duration, desc, ch_names=chs)
    return len(onset)


def _bad_masks(raw, names):
    """Boolean (n_names, n_times): True inside a BAD_ annotation that applies to the channel
    (one naming it, or one naming no channel)."""
    ann = raw.annotations
    out = np.zeros((len(names), raw.n_times), bool)
    is_bad = np.array([d.lower().startswith("bad") for d in ann.description], bool)
    if not is_bad.any():
        return out
    sfreq = raw.info["sfreq"]
    idx = np.flatnonzero(is_bad)
    on = np.atleast_1d(raw.time_as_index(ann.onset[idx], use_rounding=True,
                                         origin=ann.orig_time))
    off = on + np.round(ann.duration[idx] * sfreq).astype(int)
    for i0, i1, k in zip(on, off, idx):
        chs = ann.ch_names[k]
        rows = range(len(names)) if not len(chs) else [r for r, n in enumerate(names)
                                                        if n in chs]
        for r in rows:
            out[r, max(int(i0), 0) : max(int(i1), 0)] = True
    return out


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


_CONDUCTANCE = {"µs": 1e-6, "us": 1e-6, "microsiemens": 1e-6, "microsiemen": 1e-6,
                "µmho": 1e-6, "umho": 1e-6, "micromho": 1e-6, "micromhos": 1e-6,
                "ms": 1e-3, "millisiemens": 1e-3, "s": 1.0, "siemens": 1.0, "mho": 1.0}
_VOLTAGE = {"v": 1.0, "volt": 1.0, "volts": 1.0, "mv": 1e-3, "millivolts": 1e-3,
            "µv": 1e-6, "uv": 1e-6, "microvolts": 1e-6}


def _norm_unit(unit):
    return (unit or "").strip().lower().replace("μ", "µ")


def _guess_type(name, unit=""):
    """MNE channel type from a channel name and unit text."""
    n, u = name.lower(), _norm_unit(unit)
    if (u in _CONDUCTANCE and u not in ("s", "ms")) or \
            _word(n, r"eda|gsr|scl|scr|skin ?conductance"):
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
            raise PhysioIOError(f"{where}: unit {unit!r} is not a conductance unit (µS, uS, "
                                "µmho, mS, S).")
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
        return pd.read_csv(fname, sep=delimiter, engine="python", skipinitialspace=True,
                           na_values=["NA", "NaN", "nan", "", "-"])
    except Exception as err:  # pandas raises many types: say which file
        raise PhysioIOError(f"{fname}: cannot be read as a table ({type(err).__name__}: "
                            f"{err}). Check the delimiter (delimiter=',' or '\\t').") from None


def _times_to_seconds(col, fname, name, time_unit):
    """Times as seconds from the first one, and the absolute start (datetime or None)."""
    import pandas as pd

    if pd.api.types.is_numeric_dtype(col):
        t = col.to_numpy(float) * _UNIT_SCALE[time_unit]
        if np.isnan(t).any():
            raise PhysioIOError(f"{fname}: time column {name!r} has empty cells (rows "
                                f"{np.flatnonzero(np.isnan(t))[:5].tolist()}).")
        start = None
        if time_unit == "s" and t[0] > 1e9:  # Unix time stamps (after 2001-09-09)
            start = _dt.datetime.fromtimestamp(t[0], tz=UTC)
        return t - t[0], start
    try:
        stamps = pd.to_datetime(col, utc=True, format="ISO8601")
    except (ValueError, TypeError) as err:
        raise PhysioIOError(f"{fname}: time column {name!r} is neither numeric nor ISO 8601 "
                            f"date-times ({err}).") from None
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
def read_raw_physio_csv(fname, *, time_column="auto", sfreq=None, time_unit="s",
                        ch_types=None, units=None, meas_date=None, delimiter=None,
                        gap_threshold=1.5, jitter_tolerance=0.25, verbose=None):
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
    verbose : bool | str | int | None
        Verbosity, as in MNE.

    Returns
    -------
    raw : mne.io.RawArray
        The channels; ``meas_date`` from absolute stamps or ``meas_date``. The rate and the
        number of gaps are logged and stored in hyperinsync's metadata
        (``get_dyad_meta(raw)['physio_source']``).
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
        raise PhysioIOError(f"{fname}: column(s) {bad} are not numeric (first value "
                            f"{df[bad[0]].iloc[0]!r}). Drop them or fix the file.")
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
        warn(f"{fname}: the time stamps start at {start.isoformat()}; meas_date="
             f"{meas_date} is ignored.")
    start = start if start is not None else meas_date
    types_over = _check_types(ch_types, names)
    units = dict(units or {})
    types = [types_over.get(c, _guess_type(c)) for c in names]
    scales = [_unit_scale(k, units.get(c), f"{fname}: column {c!r}")
              for c, k in zip(names, types)]
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
        n_missing = _annotate_nan(tmp)
        raw.set_annotations(raw.annotations + tmp.annotations)
    set_dyad_meta(raw, physio_source=dict(file=fname, kind="csv", sfreq=sfreq,
                                          n_gaps=len(gaps), n_missing_runs=n_missing,
                                          time_column=time_column))
    logger.info(f"{fname}: {len(names)} channel(s), {data.shape[1]} samples at {sfreq:g} Hz, "
                f"{len(gaps)} gap(s), {n_missing} run(s) of empty cells.")
    return raw


# --------------------------------------------------------------------------------------------
# Empatica


_EMPATICA = {"EDA": ("gsr", 1e-6), "BVP": ("bio", 1.0), "HR": ("misc", 1.0),
             "TEMP": ("misc", 1.0), "ACC": ("misc", 1.0)}


@verbose
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
    verbose : bool | str | int | None
        Verbosity, as in MNE.

    Returns
    -------
    raw : mne.io.RawArray
        With ``meas_date`` the header's start time.
    """
    fname = str(fname)
    stem = Path(fname).stem.upper()
    if stem == "IBI":
        raise PhysioIOError(f"{fname} holds inter-beat intervals, not a regular series: read "
                            "it with read_empatica_ibi.")
    try:
        with open(fname, encoding="utf-8") as fid:
            head = [next(fid) for _ in range(2)]
        values = np.loadtxt(fname, delimiter=",", skiprows=2, ndmin=2)
    except (StopIteration, ValueError) as err:
        raise PhysioIOError(f"{fname}: not an Empatica file (2 header rows: start time, "
                            f"rate; then numbers): {err}.") from None
    starts = [float(v) for v in head[0].split(",")]
    rates = [float(v) for v in head[1].split(",")]
    if len(set(rates)) != 1 or not rates[0] > 0:
        raise PhysioIOError(f"{fname}: the rate row {head[1].strip()!r} must hold one "
                            "positive rate.")
    if values.shape[1] != len(starts):
        raise PhysioIOError(f"{fname}: {len(starts)} start time(s) but {values.shape[1]} "
                            "column(s).")
    base = ch_name or stem
    names = [base] if values.shape[1] == 1 else [f"{base}_{a}" for a in "XYZ"[: values.shape[1]]]
    kind, scale = _EMPATICA.get(stem, ("misc", 1.0))
    if ch_type is not None:
        _check_option("ch_type", ch_type, _PHYSIO_TYPES)
        kind = ch_type
    raw = _raw(values.T, names, [kind] * len(names), rates[0],
               _dt.datetime.fromtimestamp(starts[0], tz=UTC), fname, [scale] * len(names))
    _annotate_nan(raw)
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
    """
    fname = str(fname)
    with open(fname, encoding="utf-8") as fid:
        first = fid.readline().split(",")[0]
    values = np.loadtxt(fname, delimiter=",", skiprows=1, ndmin=2)
    return _dt.datetime.fromtimestamp(float(first), tz=UTC), values[:, 0], values[:, 1]


# --------------------------------------------------------------------------------------------
# BIOPAC AcqKnowledge


@verbose
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
    verbose : bool | str | int | None
        Verbosity, as in MNE.

    Returns
    -------
    raw : mne.io.RawArray
    """
    import bioread

    fname = str(fname)
    try:
        acq = bioread.read_file(fname)
    except Exception as err:  # bioread raises its own and generic errors
        raise PhysioIOError(f"{fname}: bioread cannot read it ({type(err).__name__}: "
                            f"{err}).") from None
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
        warn(f"{fname}: channels have {sorted(lengths)} samples (recording stopped within a "
             f"block); all are cut to {n}.")
    over = _check_types(ch_types, [c.name for c in chans])
    types = [over.get(c.name, _guess_type(c.name, c.units)) for c in chans]
    scales = [_unit_scale(k, c.units, f"{fname}: channel {c.name!r}")
              for c, k in zip(chans, types)]
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
    _annotate_nan(raw)
    set_dyad_meta(raw, physio_source=dict(file=fname, kind="acqknowledge", sfreq=sfreq,
                                          meas_date_from_markers=start is not None))
    return raw


# --------------------------------------------------------------------------------------------
# onto a timeline


def _abs_start(raw):
    """The absolute time of the first sample (datetime) or None."""
    md = raw.info["meas_date"]
    return None if md is None else md + _dt.timedelta(seconds=raw.first_time)


def _fit_clock(sync_times):
    """offset and drift (ppm) from events both clocks recorded; residual checked."""
    t_ref, t_src = (np.asarray(v, float) for v in sync_times)
    if t_ref.shape != t_src.shape or t_ref.ndim != 1 or len(t_ref) < 2:
        raise ValueError("sync_times must be two equal-length 1-D sequences of at least 2 "
                         "event times (reference seconds, source seconds).")
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
    out = mne.filter.filter_data(filled, sfreq, None, h_freq, h_trans_bandwidth=trans,
                                 pad="reflect_limited", verbose=False)
    n_taps = len(mne.filter.create_filter(None, sfreq, None, h_freq, h_trans_bandwidth=trans,
                                          verbose=False))
    return out, n_taps // 2


@verbose
def align_physio(raw, *, sfreq, reference=None, start=None, duration=None, offset=None,
                 drift_ppm=0.0, sync_times=None, method="linear", verbose=None):
    """Resample one person's recording onto a reference timeline at a stated rate.

    See :mod:`hyperinsync.io.physio` for the clock model and the resampling method.

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
    verbose : bool | str | int | None
        Verbosity, as in MNE.

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
    src_start = _abs_start(raw)
    if reference is not None:
        _validate_type(reference, mne.io.BaseRaw, "reference", "Raw")
        t0 = _abs_start(reference)
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
        duration = ((raw.n_times - 1) / src_sf - offset) * (1 + drift_ppm * 1e-6) ** -1 \
            + 1.0 / sfreq
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
                near |= rbad[np.clip(lo - 1, 0, None)] | rbad[np.clip(hi + 1, None,
                                                                      raw.n_times - 1)]
            out[ci, near & inside] = np.nan
            widen = np.zeros(raw.n_times, bool)
            for i0, i1 in _runs(rbad):
                widen[max(0, i0 - filt_half - 1) : i1 + filt_half + 1] = True
            gap_mask[ci] = inside & widen[np.clip(np.round(x_src).astype(int), 0,
                                                  raw.n_times - 1)]
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
        src_on = ann.onset - (raw.first_time if ann.orig_time is not None else 0.0)
        on = (src_on - offset) / scale
        dur = ann.duration / scale
        keep = (on + dur > 0) & (on < n_out / sfreq)
        if keep.any():
            aligned.annotations.append(
                np.maximum(on[keep], 0.0), (np.minimum(on[keep] + dur[keep], n_out / sfreq)
                                            - np.maximum(on[keep], 0.0)),
                ann.description[keep], ch_names=[ann.ch_names[i] for i in np.flatnonzero(keep)])
    for i0, i1 in _runs(~inside):
        aligned.annotations.append(i0 / sfreq, (i1 - i0) / sfreq, "BAD_no_data")
    for ci in range(len(data)):
        for i0, i1 in _runs(gap_mask[ci] | (np.isnan(out[ci]) & inside)):
            aligned.annotations.append(i0 / sfreq, (i1 - i0) / sfreq, "BAD_gap",
                                       ch_names=[[raw.ch_names[ci]]])
    report = dict(offset_s=float(offset), drift_ppm=float(drift_ppm), method=method,
                  sfreq_source=float(src_sf), sfreq=float(sfreq),
                  lowpass_hz=0.4 * sfreq if sfreq < src_sf else None,
                  sync_fit_residual_s=fit_resid, n_no_data=int((~inside).sum()))
    prev = get_dyad_meta(raw)
    set_dyad_meta(aligned, physio_alignment=report,
                  **({"physio_source": prev["physio_source"]} if "physio_source" in prev
                     else {}))
    if (~inside).any():
        logger.info(f"align_physio: {int((~inside).sum())} target samples lie outside the "
                    "source recording (NaN, BAD_no_data).")
    return aligned


@verbose
def make_physio_dyad(raw_a, raw_b, *, sfreq, roles=DEFAULT_ROLES, reference=None,
                     span="overlap", offsets=(None, None), drift_ppm=(0.0, 0.0),
                     missing="error", method="linear", verbose=None):
    """Bring two people's physiological recordings onto one timeline as a dyad.

    Parameters
    ----------
    raw_a, raw_b : mne.io.Raw
        The two people's recordings (any devices and rates).
    sfreq : float
        The common rate.
    roles : tuple of str
        The roles of A and B.
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
    verbose : bool | str | int | None
        Verbosity, as in MNE.

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
        al = [align_physio(r, reference=reference, offset=o, drift_ppm=d, **kw)
              for r, o, d in zip((raw_a, raw_b), offsets, drift_ppm)]
    else:
        starts = [_abs_start(r) for r in (raw_a, raw_b)]
        if any(s is None for s in starts):
            if any(o is None for o in offsets):
                raise ValueError(
                    "A recording has no start time (meas_date): give both offsets= (each "
                    "source's seconds at the common first sample), or a reference=."
                )
            t0 = None
            dur = min(r.n_times / r.info["sfreq"] - o for r, o in zip((raw_a, raw_b),
                                                                       offsets))
        else:
            ends = [s + _dt.timedelta(seconds=r.n_times / r.info["sfreq"])
                    for s, r in zip(starts, (raw_a, raw_b))]
            t0 = max(starts) if span == "overlap" else min(starts)
            t1 = min(ends) if span == "overlap" else max(ends)
            dur = (t1 - t0).total_seconds()
            if dur <= 0:
                raise ValueError(f"The recordings do not overlap in time ({roles[0]!r}: "
                                 f"{starts[0]} to {ends[0]}; {roles[1]!r}: {starts[1]} to "
                                 f"{ends[1]}).")
        al = [align_physio(r, start=t0, duration=dur, offset=o, drift_ppm=d, **kw)
              for r, o, d in zip((raw_a, raw_b), offsets, drift_ppm)]
    n = min(r.n_times for r in al)
    al = [r.crop(tmax=(n - 1) / sfreq, include_tmax=True) if r.n_times > n else r for r in al]
    if any(only):
        for k, (r, lack) in enumerate(zip(al, (only[1], only[0]))):
            if not lack:
                continue
            other = al[1 - k]
            info = mne.create_info(lack, float(sfreq),
                                   [other.get_channel_types(picks=[c])[0] for c in lack])
            add = mne.io.RawArray(np.full((len(lack), r.n_times), np.nan), info,
                                  verbose=False)
            add.set_meas_date(r.info["meas_date"])
            r.add_channels([add], force_update_info=True)
            r.annotations.append([0.0] * len(lack), [r.n_times / sfreq] * len(lack),
                                 ["BAD_missing"] * len(lack), ch_names=[[c] for c in lack])
            warn(f"{roles[k]!r} has no {lack}: kept as NaN under BAD_missing.")
    dyad = make_dyad_raw(al[0], al[1], roles=roles, verbose=False)
    set_dyad_meta(dyad, physio_alignment={r: get_dyad_meta(a).get("physio_alignment")
                                          for r, a in zip(roles, al)})
    return dyad
