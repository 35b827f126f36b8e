"""Two recordings, one per amplifier, aligned by shared sync pulses (:func:`read_dyad_files`).

The alignment is a linear map between the two clocks, ``t_b = offset_s + (1 + drift) * t_a``
(times in seconds from each file's first sample), fitted by least squares to the times of the
sync pulses both amplifiers recorded. Person B is then resampled onto person A's sample grid.

Why not :func:`mne.preprocessing.realign_raw` for the resampling: it crops the start of one
recording to the nearest sample (up to half a sample of constant error, ~1 ms at 512 Hz) and
resamples with an FFT whose output length is rounded, which changes the effective drift by up
to half a sample over the recording. On 500 Hz vs 512 Hz with 40 ppm drift that left the data
1.0-1.4 ms off even though the pulse fit was exact (5 ms is 18 degrees at 10 Hz). We use the
same fit, but evaluate B at the exact B-clock time of every A sample (:func:`_resample_at`:
rational polyphase anti-alias resampling, then a quintic spline for the remaining sub-sample
warp), so the data follow the fit to a few microseconds.
"""

from __future__ import annotations

import json
from fractions import Fraction

import mne
import numpy as np
from mne.io import BaseRaw

from .._utils import _check_option, _validate_type, logger, verbose, warn
from .clocks import _lsl_line, _shared_clock, _xdf_meta
from .errors import AlignmentError, DyadIOError
from .pulses import (
    _match_pulses,
    _misfit,
    _pulse_times,
)
from .recording import (
    read_recording,
    recording_files,
)

__all__ = ["read_dyad_files", "read_recording", "recording_files"]


# Channel types that hold codes, not signals: never interpolated, only re-placed in time.
_CODE_TYPES = ("stim",)


# --------------------------------------------------------------------------------------
# helpers shared by the readers (xdf.py and split.py import them)
# --------------------------------------------------------------------------------------
def _raw_name(raw, role):
    """Return a name for messages: the file the Raw came from, else a description."""
    fnames = getattr(raw, "filenames", None) or ()
    if fnames and fnames[0] is not None:
        return str(fnames[0])
    return f"<in-memory Raw of {role}>"


def _check_finite(raw, name):
    """Refuse data holding NaN/inf: name the file, channel and time (never fill silently)."""
    data = raw.get_data()
    bad = ~np.isfinite(data)
    if not bad.any():
        return
    ci = int(np.flatnonzero(bad.any(axis=1))[0])
    row = bad[ci]
    i0 = int(np.argmax(row))
    i1 = i0 + (int(np.argmin(row[i0:])) if not row[i0:].all() else len(row) - i0)
    sf = raw.info["sfreq"]
    n_ch = int(bad.any(axis=1).sum())
    raise DyadIOError(
        f"{name}: channel {raw.ch_names[ci]!r} holds non-finite values (NaN/inf) from "
        f"{i0 / sf:.3f} s to {i1 / sf:.3f} s ({i1 - i0} samples); {n_ch} channel(s) are "
        "affected in all. hyperinsync does not fill missing data silently: interpolate the "
        "run yourself and mark it with a BAD_ annotation, or crop it out, then pass the Raw."
    )


def _one_montage(montage):
    if montage is None or isinstance(montage, mne.channels.DigMontage):
        return montage
    _validate_type(montage, str, "montage", "str, DigMontage, tuple of two or None")
    try:
        from ..montage import read_montage
    except ImportError:  # pragma: no cover - montage.py is part of the package
        read_montage = None
    if read_montage is not None:
        try:
            return read_montage(montage)
        except Exception:  # not one of ours: try MNE's built-in montages below
            pass
    try:
        return mne.channels.make_standard_montage(montage)
    except ValueError:
        raise ValueError(
            f"montage {montage!r} is neither a hyperinsync montage (see "
            "hyperinsync.montage.list_montages()) nor an MNE standard montage."
        ) from None


def _resolve_montages(montage):
    """``montage=`` as one montage for both people or a pair -> (montage_a, montage_b)."""
    if isinstance(montage, (tuple, list)):
        if len(montage) != 2:
            raise ValueError(
                f"montage as a sequence must hold two entries (one per person), got {len(montage)}."
            )
        return _one_montage(montage[0]), _one_montage(montage[1])
    m = _one_montage(montage)
    return m, (m.copy() if m is not None else None)


def _set_montage(raw, montage, name):
    if montage is None:
        return
    try:
        raw.set_montage(montage, on_missing="raise", verbose=False)
    except ValueError as err:
        raise ValueError(
            f"{name}: the montage does not fit the channels ({err}). Rename the channels or "
            "pass a montage that holds them (or set their types to non-EEG)."
        ) from None


def _make_dyad(raw_a, raw_b, roles, montages, report, names):
    """Set per-person montages, build the DyadRaw, keep annotations, store the report."""
    from ..dyad import make_dyad_raw, set_dyad_meta

    _set_montage(raw_a, montages[0], names[0])
    _set_montage(raw_b, montages[1], names[1])
    dyad = make_dyad_raw(raw_a, raw_b, roles=roles, verbose=False)
    set_dyad_meta(dyad, alignment=_jsonable(report))
    return dyad


def _set_annotations_rel(raw, onsets, durations, descriptions):
    """Set annotations given onsets in seconds from the first sample of ``raw``."""
    md = raw.info["meas_date"]
    onsets = np.asarray(onsets, float)
    if md is not None:
        ann = mne.Annotations(onsets + raw.first_time, durations, descriptions, orig_time=md)
    else:  # MNE reads orig_time=None onsets as relative to the first sample
        ann = mne.Annotations(onsets, durations, descriptions)
    raw.set_annotations(ann)


def _jsonable(obj):
    """Turn numpy scalars/arrays in the report into plain JSON types."""
    return json.loads(json.dumps(obj, default=lambda o: np.asarray(o).tolist()))


def _resample_at(data, sfreq_in, times, sfreq_out):
    """Evaluate uniformly sampled ``data`` at arbitrary times (seconds of its own clock).

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_samples)
        Sample ``i`` lies at time ``i / sfreq_in``.
    sfreq_in : float
        Sampling rate of ``data``.
    times : ndarray, shape (n_out,)
        Increasing times, inside ``[0, (n_samples - 1) / sfreq_in]``, about ``1 / sfreq_out``
        apart.
    sfreq_out : float
        Approximate rate of ``times`` (sets the anti-alias stage).

    Returns
    -------
    out : ndarray, shape (n_channels, n_out)

    Notes
    -----
    Stage 1 resamples by the rational ratio nearest ``sfreq_out / sfreq_in``
    (:func:`scipy.signal.resample_poly`: band-limited, anti-aliased, sample 0 stays at t=0).
    Stage 2 evaluates a quintic interpolating spline at the exact times. The spline only
    bridges sub-sample shifts and ppm-level drift; its gain error is below 1e-4 up to a
    quarter of the sampling rate (all EEG bands at >= 200 Hz), and it does not alias because
    stage 1 already band-limited the signal.
    """
    from scipy.interpolate import make_interp_spline
    from scipy.signal import resample_poly

    data = np.asarray(data, float)
    frac = Fraction(float(sfreq_out) / float(sfreq_in)).limit_denominator(1000)
    up, down = frac.numerator, frac.denominator
    if up != down and abs(up / down - 1) > 1e-3:
        data = resample_poly(data, up, down, axis=-1, padtype="line")
        rate = sfreq_in * up / down
    else:
        rate = sfreq_in
    pos = np.clip(np.asarray(times, float) * rate, 0, data.shape[-1] - 1)
    if data.shape[-1] < 6:
        return np.array([np.interp(pos, np.arange(data.shape[-1]), d) for d in data])
    spline = make_interp_spline(np.arange(data.shape[-1]), data, k=5, axis=-1)
    return spline(pos)


def _replace_codes(codes, sfreq_in, times):
    """Move stim-channel runs (nonzero codes) onto new sample times without interpolating.

    Every run of a constant nonzero code keeps its value and lasts at least one sample, so a
    one-sample TTL pulse survives downsampling.
    """
    out = np.zeros((codes.shape[0], len(times)))
    t_in = np.arange(codes.shape[1]) / sfreq_in
    for ci, row in enumerate(codes):
        change = np.flatnonzero(np.diff(row) != 0) + 1
        starts = np.r_[0, change]
        stops = np.r_[change, len(row)]
        for s0, s1 in zip(starts, stops):
            val = row[s0]
            if val == 0:
                continue
            j0 = int(np.searchsorted(times, t_in[s0] - 0.5 / sfreq_in))
            j1 = int(np.searchsorted(times, t_in[s1 - 1] + 0.5 / sfreq_in))
            if j0 >= len(times) or (j1 == 0 and times[0] > t_in[s1 - 1]):
                continue
            out[ci, j0 : max(j1, j0 + 1)] = val
    return out


def _load(path, role, reader_kwargs):
    """Read one recording (path or Raw) fully into memory; errors name the file."""
    if isinstance(path, BaseRaw):
        return path.copy().load_data(verbose=False), _raw_name(path, role)
    _validate_type(path, "path-like", f"path_{role}", "path-like or Raw")
    try:
        raw = read_recording(path, preload=True, **(reader_kwargs or {}))
    except FileNotFoundError as err:
        raise FileNotFoundError(f"Recording of {role} not found: {path}") from err
    return raw, str(path)


def _per_file(value):
    if isinstance(value, (tuple, list)) and len(value) == 2 and not isinstance(value[0], int):
        return tuple(value)
    return value, value


def _reader_kwargs(reader_kwargs):
    """``reader_kwargs`` as one dict for both files or a pair of dicts -> (dict, dict)."""
    if reader_kwargs is None:
        return {}, {}
    if isinstance(reader_kwargs, (tuple, list)):
        if len(reader_kwargs) != 2:
            raise ValueError(
                f"reader_kwargs as a sequence must hold two dicts (one per file), got "
                f"{len(reader_kwargs)}."
            )
        for kw in reader_kwargs:
            _validate_type(kw, (dict, None), "each entry of reader_kwargs")
        return dict(reader_kwargs[0] or {}), dict(reader_kwargs[1] or {})
    _validate_type(reader_kwargs, dict, "reader_kwargs", "dict, pair of dicts or None")
    return dict(reader_kwargs), dict(reader_kwargs)


@verbose
def read_dyad_files(
    path_a,
    path_b,
    roles=("A", "B"),
    *,
    sync="auto",
    stim_channel=None,
    event_id=None,
    annotation=None,
    pulse_pairing="intervals",
    tolerance_ms=2.0,
    montage=None,
    reader_kwargs=None,
    verbose=None,
):
    """Read two recordings (one per person) and put them on one timeline.

    Parameters
    ----------
    path_a, path_b : path-like | instance of Raw
        The recordings of the two people, in any format :func:`mne.io.read_raw` reads, a
        TMSi ``.Poly5`` file, one person's XDF file (:func:`hyperinsync.io.read_raw_xdf`),
        or already loaded Raw objects (not modified). Person A's sample grid becomes the
        dyad's: B is resampled onto it.
    roles : tuple of str
        The two participants' role names. Default ``('A', 'B')``.
    sync : 'auto' | 'events' | 'lsl' | 'start'
        How the two clocks are related. ``'events'``: fit the offset and the clock drift of
        B against A from sync pulses both recordings hold (a stim channel or annotations).
        ``'lsl'``: two XDF recordings, by their Lab Streaming Layer time stamps: pyxdf puts
        each file's streams on its recording computer's clock; when both files also
        recorded one same LSL stream (e.g. a marker stream, same uid), its clock offsets
        in the two files link the two recording clocks; otherwise both files are taken to
        come from one computer's clock. ``'auto'`` (default): ``'lsl'`` for two XDF
        recordings that share a stream, else ``'events'``. ``'start'``: align by the
        measurement start times of the files only; drift is not corrected (40 ppm is 144
        ms after an hour), so this warns. Different sampling rates are resampled in all
        modes.
    stim_channel : str | tuple of str | None
        The channel holding the sync pulses (one name, or one per file). ``None`` takes the
        single channel of type ``stim``.
    event_id : int | list of int | None
        Pulse codes to use; ``None`` uses every event on the stim channel.
    annotation : str | tuple of str | None
        Use annotations with exactly this description (or one per file) as pulses instead of
        a stim channel, e.g. ``'Comment/sync'`` for BrainVision markers of type Comment and
        description sync, or the text of an XDF marker.
    pulse_pairing : 'intervals' | 'order'
        ``'intervals'`` (default): equal counts pair in order when that fits one clock
        line, otherwise pulses are paired by their intervals (pulses only one file holds
        are dropped); a pairing that another offset matches almost as well (periodic
        pulses, a jump in one clock) is refused. ``'order'``: the i-th pulse of A with the
        i-th of B, without that check; only when both files hold exactly the same pulses
        (e.g. periodic pulses that started after both recordings and stopped before
        either ended).
    tolerance_ms : float
        The largest timing error (ms) of a pulse accepted after the fit, beyond sample
        quantisation: pulse times are known to one sample of each file, so the residuals
        may spread over ``1000 / sfreq_a + 1000 / sfreq_b`` ms on a perfect clock line;
        half of any spread beyond that is the timing error. Default 2 ms; 5 ms is already
        18 degrees of phase at 10 Hz.
    montage : str | DigMontage | tuple | None
        Electrode positions: a name (hyperinsync or MNE montage), a DigMontage, or a pair of
        them (one per person). ``None`` keeps what the files hold.
    reader_kwargs : dict | tuple of dict | None
        Extra keyword arguments for the reader of each file (one dict for both, or one per
        file), e.g. ``dict(stream='EEG')`` for XDF files.
    %(verbose)s

    Returns
    -------
    dyad : DyadRaw
        Both people at A's sampling rate, cropped to the time both recorded. All channels
        are kept (non-EEG too), and all annotations of both files (B's moved onto A's
        timeline). The alignment report is in ``dyad.alignment`` with keys ``method``
        (``'sync-pulses'``, ``'lsl-clock'`` or ``'start-time'``), ``files``, ``sfreq_a``,
        ``sfreq_b``, ``offset_s`` (B's file time at A's first sample: positive when B's
        recording started before A's), ``drift_ppm`` (how much faster B's clock runs than
        A's), ``tmin_a_s`` (where the dyad starts in A's file), ``duration_s`` and
        ``resampling``; with pulses also ``n_pulses`` (matched), ``n_dropped_a``,
        ``n_dropped_b``, ``residual_ms_max``, ``residual_ms_rms``, ``quantisation_ms``,
        ``misfit_ms`` (the timing error compared with ``tolerance_ms``) and
        ``pulse_pairing``; with LSL clocks ``clock``, ``shared_stream``,
        ``recorder_offset_s`` (B's recording clock minus A's) and ``lsl_time0``.

    Raises
    ------
    AlignmentError
        Pulses missing, fewer than 2 shared pulses, counts that cannot be matched or
        match ambiguously, a timing error above ``tolerance_ms``, no overlap in time, or
        different sampling rates without pulses.
    DyadIOError
        A file that cannot be read (empty, truncated, corrupt) or data holding NaN.
    FileNotFoundError
        A path that does not exist.

    Notes
    -----
    The clock line is ``t_B = offset_s + (1 + drift_ppm / 1e6) t_A`` with both times in
    seconds from each file's first sample, so A's sample at ``t_A`` and B's sample at
    ``t_B`` were recorded at the same moment. B is evaluated at the exact B-clock time of
    each A sample (band-limited, see the module docstring); stim channels are not
    interpolated, their pulses are moved to the nearest A sample.
    """
    _validate_type(roles, (tuple, list), "roles")
    if len(roles) != 2:
        raise ValueError(f"roles must hold two names, got {roles!r}.")
    _check_option("sync", sync, ("auto", "events", "lsl", "start"))
    _check_option("pulse_pairing", pulse_pairing, ("intervals", "order"))
    _validate_type(tolerance_ms, "numeric", "tolerance_ms")
    if not tolerance_ms > 0:
        raise ValueError(f"tolerance_ms must be positive, got {tolerance_ms}.")
    kwargs = _reader_kwargs(reader_kwargs)
    montages = _resolve_montages(montage)

    raw_a, name_a = _load(path_a, roles[0], kwargs[0])
    raw_b, name_b = _load(path_b, roles[1], kwargs[1])
    names = (name_a, name_b)
    for raw, name in zip((raw_a, raw_b), names):
        _check_finite(raw, name)
    sf_a, sf_b = raw_a.info["sfreq"], raw_b.info["sfreq"]
    report = dict(files=list(names), sfreq_a=sf_a, sfreq_b=sf_b)
    xdf = (_xdf_meta(raw_a), _xdf_meta(raw_b))
    both_xdf = xdf[0] is not None and xdf[1] is not None
    if sync == "auto":
        sync = "lsl" if both_xdf and _shared_clock(*xdf) is not None else "events"

    if sync == "lsl":
        if not both_xdf:
            which = [n for n, x in zip(names, xdf) if x is None]
            raise AlignmentError(
                f"sync='lsl' needs two XDF recordings (paths, or Raw objects from "
                f"hyperinsync.io.read_raw_xdf); {which} are not."
            )
        slope, intercept = _lsl_line(*xdf, names, report)
    elif sync == "events":
        stims = _per_file(stim_channel)
        anns = _per_file(annotation)
        try:
            ta, where_a = _pulse_times(raw_a, name_a, stims[0], event_id, anns[0])
            tb, where_b = _pulse_times(raw_b, name_b, stims[1], event_id, anns[1])
        except AlignmentError as err:
            hint = ""
            if sf_a != sf_b:
                hint += (
                    f" The files have different sampling rates ({sf_a} Hz and {sf_b} Hz), "
                    "so they cannot be combined without sync pulses unless you ask for "
                    "sync='start'."
                )
            if both_xdf:
                hint += (
                    " Both are XDF recordings without a common LSL stream: if one computer "
                    "recorded both, pass sync='lsl'."
                )
            if hint:
                raise AlignmentError(f"{err}{hint}") from None
            raise
        quant = 1.0 / sf_a + 1.0 / sf_b
        ta_m, tb_m, drop_a, drop_b = _match_pulses(
            ta, tb, names, quant, tolerance_ms / 1e3, pulse_pairing
        )
        if drop_a or drop_b:
            logger.info(
                f"Sync pulses: matched {len(ta_m)} by their intervals; dropped {drop_a} "
                f"unmatched in {name_a} and {drop_b} in {name_b}."
            )
        slope, intercept, resid, misfit = _misfit(ta_m, tb_m, quant)
        resid_ms = 1e3 * resid
        report.update(
            method="sync-pulses",
            pulses=[where_a, where_b],
            pulse_pairing=pulse_pairing,
            n_pulses=int(len(ta_m)),
            n_dropped_a=int(drop_a),
            n_dropped_b=int(drop_b),
            offset_s=float(intercept),
            drift_ppm=float((slope - 1.0) * 1e6),
            residual_ms_max=float(np.max(np.abs(resid_ms))),
            residual_ms_rms=float(np.sqrt(np.mean(resid_ms**2))),
            quantisation_ms=float(1e3 * quant),
            misfit_ms=float(1e3 * misfit),
        )
        if len(ta_m) < 3:
            warn(
                "Only 2 sync pulses matched: offset and drift are fitted exactly, so the "
                "alignment cannot be checked (the residual is 0 by construction)."
            )
        if report["misfit_ms"] > tolerance_ms:
            raise AlignmentError(
                f"Sync pulses of {name_a} and {name_b} do not fit one clock line: the "
                f"residuals spread over {np.ptp(resid_ms):.3f} ms (largest "
                f"{report['residual_ms_max']:.3f} ms); sample quantisation explains "
                f"{report['quantisation_ms']:.3f} ms of it (one sample of each file), which "
                f"leaves a timing error of {report['misfit_ms']:.3f} ms that exceeds "
                f"tolerance_ms={tolerance_ms}. Check that both files hold the same pulses "
                "(event_id=, stim_channel=, annotation=); relax it with a larger "
                "tolerance_ms only if you accept that phase error (5 ms is 18 degrees at "
                "10 Hz)."
            )
    else:
        md_a, md_b = raw_a.info["meas_date"], raw_b.info["meas_date"]
        if md_a is None or md_b is None:
            raise AlignmentError(
                f"sync='start' needs the measurement start time of both files; "
                f"{name_a if md_a is None else name_b} has none."
            )
        slope = 1.0
        intercept = (md_a - md_b).total_seconds() + raw_a.first_time - raw_b.first_time
        warn(
            f"Aligning {name_a} and {name_b} by their measurement start times only: clock "
            "drift is not corrected (40 ppm is 144 ms after an hour) and the start times "
            "are only as good as the two computers' clocks. Use sync pulses if you can."
        )
        report.update(
            method="start-time",
            n_pulses=0,
            offset_s=float(intercept),
            drift_ppm=None,
            residual_ms_max=None,
            residual_ms_rms=None,
        )

    raw_a, raw_b = _realign(raw_a, raw_b, slope, intercept, names, report)
    logger.info(
        f"Aligned {name_b} onto {name_a} ({report['method']}): offset "
        f"{report['offset_s']:.6f} s, drift {report['drift_ppm']} ppm, residual max "
        f"{report['residual_ms_max']} ms over {report['n_pulses']} pulses, "
        f"{report['duration_s']:.3f} s in common."
    )
    return _make_dyad(raw_a, raw_b, roles, montages, report, names)


def _realign(raw_a, raw_b, slope, intercept, names, report):
    """Crop A to the common span and evaluate B at the B-clock time of each A sample."""
    sf_a, sf_b = raw_a.info["sfreq"], raw_b.info["sfreq"]
    tb_end = (raw_b.n_times - 1) / sf_b
    # A-sample times whose B-clock time lies inside B's recording
    t0 = max(0.0, -intercept / slope)
    t1 = min((raw_a.n_times - 1) / sf_a, (tb_end - intercept) / slope)
    k0 = int(np.ceil(t0 * sf_a - 1e-9))
    k1 = int(np.floor(t1 * sf_a + 1e-9))
    if k1 - k0 < 2:
        raise AlignmentError(
            f"{names[0]} and {names[1]} do not overlap in time (B's recording maps to "
            f"{-intercept / slope:.3f} .. {(tb_end - intercept) / slope:.3f} s of A's, which "
            f"lasts {(raw_a.n_times - 1) / sf_a:.3f} s)."
            + (
                " With sync='lsl' and no LSL stream in common, the two files were taken to "
                "share one recording computer's clock: they evidently do not; align them by "
                "sync pulses."
                if report.get("clock", "").startswith("one recording")
                else ""
            )
        )
    ka = np.arange(k0, k1 + 1)
    tb = intercept + slope * ka / sf_a

    data_b = raw_b.get_data()
    code = np.isin(raw_b.get_channel_types(), _CODE_TYPES)
    new_b = np.empty((len(raw_b.ch_names), len(ka)))
    if (~code).any():
        new_b[~code] = _resample_at(data_b[~code], sf_b, tb, sf_a / slope)
    if code.any():
        new_b[code] = _replace_codes(data_b[code], sf_b, tb)

    raw_a.crop(k0 / sf_a, k1 / sf_a, include_tmax=True)
    assert raw_a.n_times == len(ka)
    info_b = raw_b.info.copy()
    with info_b._unlock():
        info_b["sfreq"] = sf_a
        info_b["lowpass"] = min(info_b["lowpass"] or np.inf, sf_a / 2.0)
        info_b["meas_date"] = raw_a.info["meas_date"]
    out_b = mne.io.RawArray(new_b, info_b, first_samp=raw_a.first_samp, verbose=False)
    # B's annotations onto A's timeline
    ann = raw_b.annotations
    if len(ann):
        on_b = np.asarray(ann.onset) - raw_b.first_time
        on_a = (on_b - intercept) / slope - k0 / sf_a
        dur = np.asarray(ann.duration) / slope
        keep = (on_a + dur >= 0) & (on_a <= (len(ka) - 1) / sf_a)
        _set_annotations_rel(out_b, on_a[keep], dur[keep], np.asarray(ann.description)[keep])
    report.update(
        tmin_a_s=k0 / sf_a,
        duration_s=(len(ka) - 1) / sf_a,
        sfreq=sf_a,
        resampling="polyphase (rational) + quintic spline at the fitted B-clock times; "
        "stim codes moved to the nearest sample",
    )
    return raw_a, out_b


def read_dyad(*args, **kwargs):
    """Read a dyad: deprecated alias of :func:`read_dyad_files` (it warns; will be removed).

    ``read_dyad_files`` reads two recordings, one per person, onto one timeline;
    :func:`hyperinsync.read_dyad_fif` reads a dyad saved as one FIF file.

    Parameters
    ----------
    *args, **kwargs
        As :func:`read_dyad_files`.

    Returns
    -------
    raw : DyadRaw
    """
    warn(
        "hyperinsync.io.read_dyad is deprecated and will be removed: use "
        "hyperinsync.io.read_dyad_files (two recordings, one per person); "
        "hyperinsync.read_dyad_fif reads a saved dyad (one FIF file).",
        category=FutureWarning,
    )
    return read_dyad_files(*args, **kwargs)
