"""Lab Streaming Layer recordings (XDF).

Two people in one file (:func:`read_dyad_xdf`) or one person's stream
(:func:`read_raw_xdf`, one file per person, aligned by
:func:`hyperinsync.io.read_dyad_files`).

pyxdf does the clock synchronisation (ClockOffset chunks) and dejitters the time stamps; we
pick the EEG stream(s), crop two of them to the time both recorded, and resample each from
its own dejittered time stamps onto a uniform grid.

pyxdf recovers from corrupt chunks by scanning forward and logging, which can drop data
without an exception. We first walk the file's chunk structure ourselves
(:func:`_check_structure`) and refuse a truncated or corrupt file with an :class:`XDFError`
that names the byte where it breaks.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import mne
import numpy as np

from .._utils import _check_option, _validate_type, logger, verbose
from ..dyad import set_dyad_meta
from .align import _make_dyad, _resample_at, _resolve_montages, _set_annotations_rel
from .errors import XDFError
from .xdf_streams import (
    _SELECT_BY,
    _channels,
    _check_stream,
    _check_structure,
    _eeg_streams,
    _field,
    _find_stream,
    _select,
)

__all__ = ["read_dyad_xdf", "read_raw_xdf"]


# Grids are built with this tolerance (in samples) against floating-point rounding; the
# test of which grid points a stream covers uses the same one.
_GRID_EPS = 1e-9


def _make_grid(start, stop, sfreq, checked, fname):
    """Return the common sample grid (recording-clock seconds) from ``start`` to ``stop``."""
    n_grid = int(np.floor((stop - start) * sfreq + _GRID_EPS)) + 1
    if n_grid < 2:
        raise XDFError(f"XDF file {fname}: the stream(s) span {stop - start:.4f} s only.")
    n_max = max(len(ts) for ts, _, _ in checked)
    if n_grid > 2 * n_max * max(1.0, sfreq / min(r for _, _, r in checked)) + 10:
        raise XDFError(
            f"XDF file {fname}: the streams' time stamps span far more time than "
            "their samples cover (corrupt time stamps)."
        )
    return start + np.arange(n_grid) / sfreq


def _to_grid(ts, data, segments, grid, sfreq, name, fname):
    """Resample one stream onto ``grid`` (recording-clock seconds); return data and gaps.

    Each pyxdf segment has dejittered, exactly linear time stamps, so it is a uniformly
    sampled signal at its own effective rate; it is resampled band-limited
    (:func:`hyperinsync.io.align._resample_at`). Grid points between segments are linearly
    interpolated across the gap and returned as gaps, to become ``BAD_gap`` annotations.
    """
    out = np.empty((data.shape[1], len(grid)))
    filled = np.zeros(len(grid), bool)
    # the grid was built with a tolerance of _GRID_EPS samples: a grid point that rounding
    # puts a hair past a segment's last time stamp is still inside it, not in a gap
    eps = _GRID_EPS / sfreq
    for s0, s1 in segments:
        s0, s1 = int(s0), int(s1)
        if s1 - s0 < 1:
            continue
        t0, t1 = ts[s0], ts[s1]
        rate = (s1 - s0) / (t1 - t0)
        inside = (grid >= t0 - eps) & (grid <= t1 + eps)
        if not inside.any():
            continue
        out[:, inside] = _resample_at(data[s0 : s1 + 1].T, rate, grid[inside] - t0, sfreq)
        filled |= inside
    gaps = []
    if not filled.all():
        # interpolation only keeps the data continuous; these samples are marked BAD_gap
        for ch in range(out.shape[0]):
            out[ch, ~filled] = np.interp(grid[~filled], ts, data[:, ch])
        edges = np.flatnonzero(np.diff(np.r_[0, (~filled).astype(int), 0]))
        for i0, i1 in zip(edges[::2], edges[1::2]):
            gaps.append((float(grid[i0] - grid[0]), float((i1 - i0) / sfreq)))
    if (~filled).mean() > 0.5:
        raise XDFError(
            f"XDF file {fname}: stream {name!r} has data for only {100 * filled.mean():.0f} % "
            "of the time it should cover (gaps or corrupt time stamps)."
        )
    return out, gaps


def _stream_raw(stream, checked, grid, sfreq, fname, role=None):
    """One EEG stream on ``grid`` as a RawArray, its gaps and its report entry."""
    ts, data, rate = checked
    name = _field(stream, "name")
    segments = stream["info"].get("segments") or [(0, len(ts) - 1)]
    ch_names, ch_types, scales, units = _channels(stream)
    values, gaps = _to_grid(ts, data, segments, grid, sfreq, name, fname)
    values *= scales[:, None]
    raw = mne.io.RawArray(values, mne.create_info(ch_names, sfreq, ch_types), verbose=False)
    cv = np.asarray(stream.get("clock_values") or [], float)
    if not len(cv):
        logger.info(f"Stream {name!r} has no clock offsets: its time stamps are used as they are.")
    report = dict(
        name=name,
        type=_field(stream, "type"),
        source_id=_field(stream, "source_id"),
        hostname=_field(stream, "hostname"),
        stream_id=stream["info"].get("stream_id"),
        nominal_srate=float(_field(stream, "nominal_srate") or 0),
        effective_srate=rate,
        n_segments=len(segments),
        units=sorted(set(units)),
        clock_offsets=dict(
            n=int(len(cv)),
            median_s=float(np.median(cv)) if len(cv) else None,
            first_s=float(cv[0]) if len(cv) else None,
            last_s=float(cv[-1]) if len(cv) else None,
        ),
    )
    if role is not None:
        report = dict(role=role, **report)
    return raw, gaps, report


def _marker_annotations(all_streams, markers, start, span):
    """Onsets (s from ``start``), durations and texts of the marker streams' samples."""
    onsets, descs = [], []
    if markers is False:
        return onsets, [], descs
    wanted = None if markers is True else {str(m) for m in markers}
    for s in all_streams:
        if _field(s, "channel_format") != "string":
            continue
        if wanted is not None and _field(s, "name") not in wanted:
            continue
        t = np.asarray(s["time_stamps"], float) - start
        texts = [str(row[0]) if len(row) else "" for row in s["time_series"]]
        keep = np.isfinite(t) & (t >= 0) & (t <= span)
        if (~keep).any():
            logger.info(
                f"Dropped {int((~keep).sum())} marker(s) of "
                f"{_field(s, 'name')!r} outside the recorded span."
            )
        onsets += list(t[keep])
        descs += [texts[i] for i in np.flatnonzero(keep)]
    return onsets, [0.0] * len(onsets), descs


def _check_common(fname, select_by, sfreq, gap_threshold, markers):
    _validate_type(fname, "path-like", "fname")
    fname = Path(fname)
    _check_option("select_by", select_by, _SELECT_BY)
    if sfreq is not None:
        _validate_type(sfreq, "numeric", "sfreq")
        if not sfreq > 0:
            raise ValueError(f"sfreq must be positive, got {sfreq}.")
    if gap_threshold is not None:
        _validate_type(gap_threshold, "numeric", "gap_threshold")
        if not gap_threshold > 0:
            raise ValueError(f"gap_threshold must be positive, got {gap_threshold}.")
    _validate_type(markers, (bool, list, tuple), "markers")
    return fname


def _load_xdf(fname, gap_threshold):
    """Check the chunk structure, then load every stream with pyxdf (clock sync, dejitter)."""
    import pyxdf

    if not fname.is_file():
        raise XDFError(f"XDF file not found: {fname}")
    _check_structure(fname)
    kwargs = {}
    if gap_threshold is not None:
        kwargs = dict(
            jitter_break_threshold_seconds=gap_threshold, jitter_break_threshold_samples=0
        )
    try:
        return pyxdf.load_xdf(
            str(fname), synchronize_clocks=True, dejitter_timestamps=True, **kwargs
        )
    except Exception as err:  # pyxdf raises bare Exception, IOError, ValueError, ...
        raise XDFError(f"XDF file {fname} cannot be read: {type(err).__name__}: {err}") from err


def _clock_key(stream):
    """Return what identifies one LSL outlet across files: its uid, else its description."""
    uid = _field(stream, "uid")
    if uid:
        return f"uid:{uid}"
    parts = [_field(stream, k) for k in ("name", "type", "source_id", "hostname", "created_at")]
    # without a uid, an outlet is recognised only by a source_id and its creation time
    return "desc:" + "|".join(parts) if parts[2] and parts[4] not in ("", "0") else None


def _clock_fit(stream):
    """Line ``offset = a + b * t`` through a stream's clock offsets (outliers dropped).

    LabRecorder stores each offset with the stream's own clock time it was measured at, so
    the stream's time ``t`` maps onto the recording computer's clock as ``t + a + b t``.
    """
    t = np.asarray(stream.get("clock_times") or [], float)
    v = np.asarray(stream.get("clock_values") or [], float)
    ok = np.isfinite(t) & np.isfinite(v)
    t, v = t[ok], v[ok]
    if not len(t):
        return None
    if len(t) < 3 or np.ptp(t) <= 0:
        return dict(
            a=float(np.median(v)),
            b=0.0,
            n=int(len(t)),
            rms_ms=None,
            t_range=[float(t.min()), float(t.max())],
        )
    keep = np.ones(len(t), bool)
    for _ in range(3):  # a slow network round trip gives a lone bad offset
        b, a = np.polyfit(t[keep], v[keep], 1)
        res = v - (a + b * t)
        mad = np.median(np.abs(res[keep] - np.median(res[keep])))
        keep = np.abs(res) <= max(5 * 1.4826 * mad, 1e-4)
        if keep.sum() < 3:
            keep = np.ones(len(t), bool)
            break
    b, a = np.polyfit(t[keep], v[keep], 1)
    res = v[keep] - (a + b * t[keep])
    return dict(
        a=float(a),
        b=float(b),
        n=int(keep.sum()),
        rms_ms=float(1e3 * np.sqrt(np.mean(res**2))),
        t_range=[float(t.min()), float(t.max())],
    )


def _parse_datetime(header):
    try:
        text = str(header["info"]["datetime"][0]).strip()
    except (KeyError, IndexError, TypeError):
        return None
    for fmt in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.datetime.strptime(text, fmt).isoformat()
        except ValueError:
            continue
    return text or None


@verbose
def read_raw_xdf(
    fname,
    stream=None,
    *,
    select_by="name",
    sfreq=None,
    markers=True,
    gap_threshold=None,
    verbose=None,
):
    """Read one person's EEG stream from a Lab Streaming Layer recording (XDF).

    Parameters
    ----------
    fname : path-like
        The ``.xdf`` (or ``.xdfz``) file.
    stream : str | None
        The EEG stream, identified by the field ``select_by``. ``None`` takes the stream of
        type EEG (an error unless there is exactly one).
    select_by : 'name' | 'type' | 'source_id' | 'hostname'
        The stream field ``stream`` refers to.
    sfreq : float | None
        Sampling rate of the output. ``None``: the stream's effective rate rounded to a
        whole Hz.
    markers : bool | list of str
        Turn string (marker) streams into annotations: ``True`` all, ``False`` none, or the
        names of the marker streams to use. Onset = marker time stamp minus the first EEG
        time stamp; markers outside the recording are dropped (logged).
    gap_threshold : float | None
        A jump between time stamps longer than this (seconds) splits the stream into
        segments (pyxdf's break detection). ``None`` uses pyxdf's default, max(1 s, 500
        samples).
    %(verbose)s

    Returns
    -------
    raw : instance of RawArray
        The stream on a uniform grid of the recording computer's clock (pyxdf's clock
        synchronisation and dejittering), from its first time stamp, in volts where the
        stream gives a unit. Samples inside a gap are linearly bridged and covered by a
        ``BAD_gap`` annotation. ``meas_date`` is ``None`` (the file's creation time is not
        the time of the first sample). What :func:`hyperinsync.io.read_dyad_files` needs to align
        two such recordings by their LSL clocks is stored in ``info['description']``
        (:func:`hyperinsync.dyad.get_dyad_meta`, key ``'xdf'``): the file, the stream, the
        recording-clock time of the first sample (``lsl_time0``), the clock offsets of every
        stream in the file, and the gaps.

    Raises
    ------
    XDFError
        File missing, empty, truncated or corrupt; the stream not found (the message lists
        the streams) or ambiguous; a stream without samples or with NaN.

    See Also
    --------
    read_dyad_xdf : Two people in one XDF file.
    hyperinsync.io.read_dyad_files : Two recordings (XDF or any other format), one per person.

    Examples
    --------
    One person's EEG stream from a Lab Streaming Layer recording (``session.xdf`` stands for
    your file):

    >>> raw = hs.io.read_raw_xdf("session.xdf", stream="EEG-client")   # doctest: +SKIP
    >>> raw.annotations     # the marker streams' events   # doctest: +SKIP
    """
    fname = _check_common(fname, select_by, sfreq, gap_threshold, markers)
    if stream is not None:
        _validate_type(stream, str, "stream")
    all_streams, header = _load_xdf(fname, gap_threshold)
    if stream is None:
        s = _eeg_streams(all_streams, 1, fname, "stream")[0]
    else:
        s = _find_stream(all_streams, stream, select_by, fname)
    checked = _check_stream(s, fname)
    if sfreq is None:
        sfreq = float(max(1, round(checked[2])))
    ts = checked[0]
    grid = _make_grid(ts[0], ts[-1], sfreq, [checked], fname)
    raw, gaps, report = _stream_raw(s, checked, grid, sfreq, fname)
    onsets, durs, descs = _marker_annotations(
        all_streams, markers, grid[0], (len(grid) - 1) / sfreq
    )
    _set_annotations_rel(
        raw,
        [g[0] for g in gaps] + onsets,
        [g[1] for g in gaps] + durs,
        ["BAD_gap"] * len(gaps) + descs,
    )
    clocks = []
    for other in all_streams:
        key, fit = _clock_key(other), _clock_fit(other)
        if key is not None and fit is not None:
            clocks.append(dict(key=key, name=_field(other, "name"), **fit))
    set_dyad_meta(
        raw,
        xdf=dict(
            file=str(fname),
            stream=report,
            lsl_time0=float(grid[0]),
            sfreq=float(sfreq),
            file_datetime=_parse_datetime(header),
            clocks=clocks,
            gaps=[dict(onset_s=o, duration_s=d) for o, d in gaps],
        ),
    )
    logger.info(
        f"XDF {fname.name}: stream {report['name']!r}, {(len(grid) - 1) / sfreq:.3f} s at "
        f"{sfreq} Hz, {len(gaps)} gap(s)."
    )
    return raw


@verbose
def read_dyad_xdf(
    fname,
    streams=None,
    roles=("A", "B"),
    *,
    select_by="name",
    sfreq=None,
    markers=True,
    gap_threshold=None,
    montage=None,
    verbose=None,
):
    """Read a two-person Lab Streaming Layer recording (XDF) into one dyad.

    Parameters
    ----------
    fname : path-like
        The ``.xdf`` (or ``.xdfz``) file.
    streams : tuple of str | None
        The two EEG streams, in role order, identified by the field ``select_by``. ``None``
        takes the two streams of type EEG in file order (an error unless there are exactly
        two).
    roles : tuple of str
        The two participants' role names. Default ``('A', 'B')``.
    select_by : 'name' | 'type' | 'source_id' | 'hostname'
        The stream field ``streams`` refers to.
    sfreq : float | None
        Sampling rate of the common grid. ``None``: the lower of the two effective rates,
        rounded to a whole Hz.
    markers : bool | list of str
        Turn string (marker) streams into annotations: ``True`` all, ``False`` none, or the
        names of the marker streams to use. Onset = marker time stamp minus the grid start;
        markers outside the common span are dropped (logged).
    gap_threshold : float | None
        A jump between time stamps longer than this (seconds) splits a stream into segments
        (passed to pyxdf's break detection). ``None`` uses pyxdf's default, max(1 s, 500
        samples); shorter dropouts are then absorbed by the dejittering.
    montage : str | DigMontage | tuple | None
        Electrode positions for both people, or one per person.
    %(verbose)s

    Returns
    -------
    dyad : DyadRaw
        Both people on one grid starting at the start of the overlap. Samples of a person
        inside a gap are linearly interpolated across it (so the array is complete) but
        covered by a ``BAD_gap`` annotation, so epochs overlapping them are rejected
        (``reject_by_annotation=True``, MNE's default); they are never real data.
        ``dyad.alignment`` holds the report: ``method='xdf-clock-sync'``, ``file``,
        ``streams`` (name, type, source_id, hostname per role), ``nominal_srate``,
        ``effective_srate``, ``clock_offsets`` (count, median, first and last in seconds
        per role), ``overlap_s`` (start and end on the recording clock), ``duration_s``,
        ``sfreq``, ``n_segments``, ``gaps`` and ``resampling``.

    Raises
    ------
    XDFError
        File missing, empty, truncated or corrupt; requested stream not found (the message
        lists the streams); ambiguous selection; streams that do not overlap in time; a
        stream without samples or with NaN.

    See Also
    --------
    read_raw_xdf : One person's stream (one XDF file per person: align the two with
        :func:`hyperinsync.io.read_dyad_files`).

    Notes
    -----
    Each stream is resampled from its own dejittered time stamps: within a segment these
    are linear, so the segment is a uniformly sampled signal at its effective rate, which is
    resampled band-limited (rational polyphase + quintic spline; see
    :mod:`hyperinsync.io.align`), not by linear interpolation, which would attenuate the
    upper EEG bands. Channel names come from the stream's ``desc`` (``ch0``... otherwise);
    values in microvolts/millivolts (per ``desc``) are converted to volts; without a unit
    they are kept as they are.

    Examples
    --------
    Both people's EEG streams from one Lab Streaming Layer recording (``session.xdf`` stands
    for your file):

    >>> raw = hs.io.read_dyad_xdf("session.xdf", streams=("EEG-therapist", "EEG-client"),
    ...                           roles=("therapist", "client"))   # doctest: +SKIP
    >>> raw.alignment["method"]                                    # doctest: +SKIP
    """
    fname = _check_common(fname, select_by, sfreq, gap_threshold, markers)
    _validate_type(roles, (tuple, list), "roles")
    if len(roles) != 2:
        raise ValueError(f"roles must hold two names, got {roles!r}.")
    montages = _resolve_montages(montage)
    all_streams, _ = _load_xdf(fname, gap_threshold)

    eeg = _select(all_streams, streams, select_by, fname)
    checked = [_check_stream(s, fname) for s in eeg]
    start = max(ts[0] for ts, _, _ in checked)
    stop = min(ts[-1] for ts, _, _ in checked)
    if stop <= start:
        raise XDFError(
            f"XDF file {fname}: streams {_field(eeg[0], 'name')!r} "
            f"({checked[0][0][0]:.3f}-{checked[0][0][-1]:.3f} s) and "
            f"{_field(eeg[1], 'name')!r} ({checked[1][0][0]:.3f}-{checked[1][0][-1]:.3f} s) "
            "do not overlap in time."
        )
    if sfreq is None:
        sfreq = float(max(1, round(min(r for _, _, r in checked))))
    grid = _make_grid(start, stop, sfreq, checked, fname)
    n_grid = len(grid)

    raws, report_streams, all_gaps = [], [], []
    for s, chk, role in zip(eeg, checked, roles):
        raw, gaps, rep = _stream_raw(s, chk, grid, sfreq, fname, role)
        raws.append(raw)
        report_streams.append(rep)
        all_gaps += [(o, d, role) for o, d in gaps]

    # annotations: BAD_gap for either person, markers
    onsets, durs, descs = _marker_annotations(all_streams, markers, start, (n_grid - 1) / sfreq)
    _set_annotations_rel(
        raws[0],
        [g[0] for g in all_gaps] + onsets,
        [g[1] for g in all_gaps] + durs,
        ["BAD_gap"] * len(all_gaps) + descs,
    )

    report = dict(
        method="xdf-clock-sync",
        file=str(fname),
        streams=report_streams,
        nominal_srate=[r["nominal_srate"] for r in report_streams],
        effective_srate=[r["effective_srate"] for r in report_streams],
        clock_offsets=[r["clock_offsets"] for r in report_streams],
        overlap_s=[float(start), float(stop)],
        duration_s=(n_grid - 1) / sfreq,
        sfreq=float(sfreq),
        n_segments=[r["n_segments"] for r in report_streams],
        gaps=[dict(role=r, onset_s=o, duration_s=d) for o, d, r in all_gaps],
        resampling="band-limited from each stream's dejittered time stamps (polyphase + "
        "quintic spline); gaps linearly bridged and marked BAD_gap",
        n_pulses=None,
        offset_s=None,
        drift_ppm=None,
    )
    logger.info(
        f"XDF {fname.name}: {report_streams[0]['name']!r} + {report_streams[1]['name']!r}, "
        f"{report['duration_s']:.3f} s in common at {sfreq} Hz, {len(all_gaps)} gap(s)."
    )
    return _make_dyad(
        raws[0], raws[1], roles, montages, report, [f"{fname}:{r['name']}" for r in report_streams]
    )
