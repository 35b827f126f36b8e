"""Two recordings, one per amplifier, aligned by shared sync pulses (:func:`read_dyad`).

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
from pathlib import Path

import mne
import numpy as np
from mne.io import BaseRaw

from .._utils import _check_option, _validate_type, logger, verbose, warn
from .errors import AlignmentError, DyadIOError

__all__ = ["read_dyad", "read_recording", "recording_files"]

# Channel types that hold codes, not signals: never interpolated, only re-placed in time.
_CODE_TYPES = ("stim",)


# --------------------------------------------------------------------------------------
# helpers shared by the readers (xdf.py and split.py import them)
# --------------------------------------------------------------------------------------
def _raw_name(raw, role):
    """A name for messages: the file the Raw came from, else a description."""
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
                f"montage as a sequence must hold two entries (one per person), got "
                f"{len(montage)}."
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


# --------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------
_XDF_SUFFIXES = (".xdf", ".xdfz")


def _is_xdf(fname):
    return fname.suffix.lower() in _XDF_SUFFIXES or fname.name.lower().endswith(".xdf.gz")


def _damaged(fname, what, todo="Re-export or re-copy the recording"):
    raise DyadIOError(
        f"{fname} is truncated or damaged: {what}. hyperinsync does not read part of a "
        f"recording silently. {todo}."
    )


def _check_edf(fname):
    """Refuse an EDF/BDF file whose data do not match the record count of its header."""
    size = fname.stat().st_size
    try:
        with open(fname, "rb") as fid:
            head = fid.read(256)
            header_bytes = int(head[184:192].decode("ascii"))
            n_records = int(head[236:244].decode("ascii"))
            n_sig = int(head[252:256].decode("ascii"))
            fid.seek(256 + 216 * n_sig)
            spr = [int(fid.read(8).decode("ascii")) for _ in range(n_sig)]
    except (ValueError, UnicodeDecodeError):
        return  # not a header we can parse: the reader's own error will say why
    bps = 3 if head[:1] == b"\xff" else 2  # BDF: 24-bit samples
    record = sum(spr) * bps
    if record <= 0 or size < header_bytes:
        return
    data = size - header_bytes
    n_full, rest = divmod(data, record)
    if n_records == -1:  # allowed while recording: the file was not closed
        if rest:
            _damaged(fname, f"its header does not state the number of data records and "
                     f"the last record is incomplete ({rest} of {record} bytes)")
        warn(f"{fname}: its header does not state the number of data records (the "
             f"recording was not stopped properly); reading the {n_full} complete records.")
        return
    if n_full < n_records:
        _damaged(fname, f"its header announces {n_records} data records, but the file holds "
                 f"{data / record:.2f} ({size} bytes)")
    if n_full > n_records:
        _damaged(fname, f"it holds {n_full} data records, {n_full - n_records} more than "
                 "its header announces")


def _read_ini(fname):
    """A BrainVision header or marker file as a ConfigParser (keys keep their case)."""
    import configparser

    raw = fname.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    # the first line is the file's title, not an INI entry
    text = text.split("\n", 1)[1] if "\n" in text else ""
    cfg = configparser.ConfigParser(interpolation=None, strict=False,
                                    comment_prefixes=(";",), inline_comment_prefixes=None)
    cfg.optionxform = str
    cfg.read_string(text)
    return cfg


def _brainvision_parts(vhdr):
    """(header config, data file, marker file or None) of a BrainVision header."""
    import configparser

    try:
        cfg = _read_ini(vhdr)
        common = cfg["Common Infos"]
        data = vhdr.parent / common["DataFile"].strip()
        mrk = common.get("MarkerFile", "").strip()
    except (configparser.Error, KeyError, OSError, IndexError):
        return None, None, None
    return cfg, data, (vhdr.parent / mrk if mrk else None)


def _check_brainvision(fname):
    """Refuse a BrainVision recording whose data file stops before the header or markers."""
    import configparser

    cfg, data, mrk = _brainvision_parts(fname)
    if cfg is None or not data.is_file():
        return  # the reader's own error will say what is missing
    common = cfg["Common Infos"]
    if common.get("DataFormat", "BINARY").strip().upper() != "BINARY":
        return  # ASCII data: one sample per line, nothing to count here
    fmt = cfg.get("Binary Infos", "BinaryFormat", fallback="INT_16").strip().upper()
    bps = {"INT_16": 2, "UINT_16": 2, "INT_32": 4, "IEEE_FLOAT_32": 4}.get(fmt)
    try:
        n_ch = int(common["NumberOfChannels"])
    except (KeyError, ValueError):
        return
    if not bps or n_ch < 1:
        return
    size = data.stat().st_size
    n_samp, rest = divmod(size, bps * n_ch)
    if rest:
        _damaged(data, f"{size} bytes is not a whole number of samples of {n_ch} channels x "
                 f"{bps} bytes (the last sample is incomplete)")
    points = common.get("DataPoints", "").strip()
    if points.isdigit() and int(points) != n_samp:
        _damaged(data, f"its header {fname.name} announces {int(points)} samples per "
                 f"channel, the data file holds {n_samp}")
    if mrk is None or not mrk.is_file():
        return
    try:
        marks = _read_ini(mrk)["Marker Infos"]
    except (configparser.Error, KeyError, OSError):
        return
    positions = []
    for value in marks.values():
        fields = value.split(",")
        if len(fields) >= 3 and fields[2].strip().isdigit():
            positions.append(int(fields[2]))
    if positions and max(positions) > n_samp:
        _damaged(data, f"the marker file {mrk.name} has markers up to sample "
                 f"{max(positions)}, but the data stop at sample {n_samp}")


def _check_complete(fname):
    """Format checks MNE leaves to a warning (or skips): truncated EDF/BDF/BrainVision."""
    suffix = fname.suffix.lower()
    if suffix in (".edf", ".bdf"):
        _check_edf(fname)
    elif suffix == ".vhdr":  # .ahdr files hold one channel more than they declare
        _check_brainvision(fname)


def recording_files(fname):
    """List every file a hyperinsync reader opens to read one recording.

    Use it to tell whether a recording changed (hash every file it lists): a BrainVision
    recording is three files, an EEGLAB one may be two, a FIF recording larger than 2 GB is
    split into parts.

    Parameters
    ----------
    fname : path-like
        The path given to the reader (:func:`read_recording`, :func:`read_dyad`,
        :func:`hyperinsync.io.read_raw_poly5`, :func:`hyperinsync.io.read_raw_xdf`,
        :func:`hyperinsync.io.read_dyad_xdf`, :func:`hyperinsync.read_dyad_raw`, ...).

    Returns
    -------
    files : list of pathlib.Path
        ``fname`` first, then its companions that exist: BrainVision ``.vhdr``/``.ahdr`` ->
        the data and marker files its header names; EEGLAB ``.set`` -> the ``.fdt`` of the
        same name; FIF -> every part of a split file (from the file's own links); Nihon
        Kohden ``.eeg`` -> ``.pnt``/``.21e``/``.log``; Persyst ``.lay`` -> ``.dat``; Curry
        ``.cdt`` -> ``.cdt.dpa``/``.cdt.dpo``/``.cdt.ceo``; a directory (EGI ``.mff``, CTF
        ``.ds``) -> every file inside it, sorted. Other formats (EDF, BDF, GDF, Poly5, XDF,
        ...) are one file.
    """
    _validate_type(fname, "path-like", "fname")
    fname = Path(fname)
    if fname.is_dir():
        return [fname] + sorted(p for p in fname.rglob("*") if p.is_file())
    out = [fname]
    suffix, name = fname.suffix.lower(), fname.name.lower()
    if suffix in (".vhdr", ".ahdr") and fname.is_file():
        _, data, mrk = _brainvision_parts(fname)
        out += [p for p in (data, mrk) if p is not None]
    elif suffix == ".fif" or name.endswith(".fif.gz"):
        if fname.is_file():
            try:
                parts = mne.io.read_raw_fif(fname, preload=False, verbose=False).filenames
            except Exception:  # epochs or a damaged file: its reader will say what is wrong
                parts = []
            out += [Path(p) for p in parts if p is not None and Path(p) != fname]
    else:
        companions = {
            ".set": (".fdt", ".FDT"),
            ".eeg": (".pnt", ".PNT", ".21e", ".21E", ".log", ".LOG"),
            ".lay": (".dat", ".DAT"),
            ".cdt": (".cdt.dpa", ".cdt.dpo", ".cdt.ceo"),
        }.get(suffix, ())
        stem = fname.with_suffix("")
        out += [stem.with_name(stem.name + ext) for ext in companions]
    seen, files = set(), []
    for p in out:
        if p not in seen and (p == fname or p.is_file()):
            seen.add(p)
            files.append(p)
    return files


@verbose
def read_recording(fname, *, preload=True, verbose=None, **reader_kwargs):
    """Read one recording in any format hyperinsync reads, refusing damaged files.

    Parameters
    ----------
    fname : path-like
        A file :func:`mne.io.read_raw` reads, a TMSi ``.Poly5`` file
        (:func:`hyperinsync.io.read_raw_poly5`) or one person's XDF file
        (:func:`hyperinsync.io.read_raw_xdf`).
    preload : bool
        Load the data into memory (XDF recordings are always loaded).
    %(verbose)s
    **reader_kwargs
        Passed to the format's reader (e.g. ``stream=`` for XDF, ``stim_channel=`` for EDF).

    Returns
    -------
    raw : instance of Raw
        The recording.

    Raises
    ------
    FileNotFoundError
        ``fname`` does not exist.
    DyadIOError
        The file is empty, holds fewer than 2 samples, cannot be read, or is truncated: an
        EDF/BDF file with fewer or more data records than its header announces, a
        BrainVision data file that ends inside a sample, before its header's
        ``DataPoints`` or before a marker of its marker file (MNE only warns, or reads what
        is there). Poly5 and XDF files raise their subclasses :class:`Poly5Error` and
        :class:`XDFError`.
    """
    _validate_type(fname, "path-like", "fname")
    fname = Path(fname)
    if not fname.exists():
        raise FileNotFoundError(f"Recording not found: {fname}")
    if fname.is_file() and fname.stat().st_size == 0:
        raise DyadIOError(f"Recording {fname} is an empty file.")
    try:
        _check_complete(fname)
        if fname.suffix.lower() == ".poly5":
            from .poly5 import read_raw_poly5

            raw = read_raw_poly5(fname, preload=preload, **reader_kwargs)
        elif _is_xdf(fname):
            from .xdf import read_raw_xdf

            raw = read_raw_xdf(fname, **reader_kwargs)
        else:
            raw = mne.io.read_raw(fname, preload=preload, verbose=False, **reader_kwargs)
    except (DyadIOError, FileNotFoundError):
        raise
    except Exception as err:
        raise DyadIOError(
            f"Cannot read the recording {fname}: {type(err).__name__}: {err}. Check that the "
            "file is complete and in a format MNE reads (reader options go in "
            "reader_kwargs=)."
        ) from err
    if raw.n_times < 2:
        raise DyadIOError(f"Recording {fname} holds {raw.n_times} sample(s).")
    return raw


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


def _pick_stim(raw, name, stim_channel):
    if stim_channel is not None:
        if stim_channel in raw.ch_names and raw.get_channel_types([stim_channel])[0] != "stim":
            # formats without channel types (EDF) read triggers as EEG: a sync channel is
            # a trigger channel, never brain signal to pair
            logger.info(f"{name}: channel {stim_channel!r} typed as stim (sync pulses).")
            raw.set_channel_types({stim_channel: "stim"}, verbose=False)
        if stim_channel not in raw.ch_names:
            raise AlignmentError(
                f"{name}: stim channel {stim_channel!r} not found; channels are "
                f"{raw.ch_names}."
            )
        return stim_channel
    stims = [raw.ch_names[i] for i in mne.pick_types(raw.info, stim=True)]
    if len(stims) == 1:
        return stims[0]
    if not stims:
        raise AlignmentError(
            f"{name}: no stim channel to read sync pulses from. Pass stim_channel= (a name, "
            "or a pair of names, one per file), annotation= to use annotations, or "
            "sync='start' to align by measurement start only (drift is then not corrected)."
        )
    raise AlignmentError(
        f"{name}: several stim channels {stims}; choose one with stim_channel=."
    )


def _pulse_times(raw, name, stim_channel, event_id, annotation):
    """Times (s from the first sample) and a label of the sync pulses in one recording."""
    if annotation is not None:
        ann = raw.annotations
        keep = np.array([d == annotation for d in ann.description], bool)
        times = np.sort(np.asarray(ann.onset, float)[keep] - raw.first_time)
        where = f"annotations {annotation!r}"
        if not len(times):
            found = sorted(set(ann.description))
            raise AlignmentError(
                f"{name}: no sync pulses: no annotation is described {annotation!r} "
                f"(descriptions present: {found[:20]})."
            )
        return times, where
    ch = _pick_stim(raw, name, stim_channel)
    events = mne.find_events(
        raw, stim_channel=ch, shortest_event=1, consecutive=True, verbose=False
    )
    if event_id is not None:
        ids = np.atleast_1d(event_id).astype(int)
        events = events[np.isin(events[:, 2], ids)]
    where = f"stim channel {ch!r}" + (f", event_id {event_id}" if event_id is not None else "")
    if not len(events):
        raise AlignmentError(
            f"{name}: no sync pulses found on {where}. Check the channel and event_id, or use "
            "sync='start' to align by measurement start only (drift is then not corrected)."
        )
    return (events[:, 0] - raw.first_samp) / raw.info["sfreq"], where


def _pair_nearest(tb, pred, win):
    """Pair each predicted B time with its nearest B pulse within ``win``; a B pulse once."""
    j = np.clip(np.searchsorted(tb, pred), 1, len(tb) - 1)
    j = np.where(np.abs(tb[j - 1] - pred) < np.abs(tb[j] - pred), j - 1, j)
    ok = np.abs(tb[j] - pred) <= win
    ia, jb = np.flatnonzero(ok), j[ok]
    # one B pulse may pair only once: keep the closest
    order = np.argsort(np.abs(tb[jb] - pred[ia]), kind="stable")
    _, first = np.unique(jb[order], return_index=True)
    sel = np.sort(order[first])
    return ia[sel], jb[sel]


def _interval_candidates(ta, tb, quant):
    """Pairings of two pulse trains found by their intervals, best first.

    Each of up to 25 anchor pulses of A (spread over the recording) is put on each pulse of
    B in turn; the offset that puts the most of up to 100 probe pulses of A within 20 ms +
    ``quant`` + 200 ppm of the distance to the anchor of a B pulse is kept (four per
    anchor). Each kept offset is refined: all pulses paired under it, the clock line fitted,
    pulses re-paired within 5 ms + ``quant`` of the line and the line fitted again.

    Returns
    -------
    cands : list of (n_paired, line, ia, jb)
        Distinct pairings (``line`` from :func:`numpy.polyfit`, B time against A time).
    """
    na, nb = len(ta), len(tb)
    w1, w2 = 0.020 + quant, 0.005 + quant
    anchors = np.unique(np.round(np.linspace(0, na - 1, min(na, 25))).astype(int))
    probe = ta[np.unique(np.round(np.linspace(0, na - 1, min(na, 100))).astype(int))]
    chunk = max(1, 2**20 // len(probe))  # bounded memory for long pulse trains
    rows = []
    for i in anchors:
        win = w1 + 200e-6 * np.abs(probe - ta[i])
        counts = np.empty(nb, int)
        for j0 in range(0, nb, chunk):
            pred = probe[None, :] + (tb[j0 : j0 + chunk] - ta[i])[:, None]
            k = np.clip(np.searchsorted(tb, pred), 1, nb - 1)
            dist = np.minimum(np.abs(tb[k - 1] - pred), np.abs(tb[k] - pred))
            counts[j0 : j0 + chunk] = (dist <= win).sum(axis=1)
        for j in np.argsort(-counts, kind="stable")[:4]:
            if counts[j] >= 2:
                rows.append((i, j))
    cands, seen = [], set()
    for i, j in rows:
        ia, jb = _pair_nearest(tb, ta + (tb[j] - ta[i]), w1 + 200e-6 * np.abs(ta - ta[i]))
        if len(ia) < 2:
            continue
        ia, jb = _pair_nearest(tb, np.polyval(np.polyfit(ta[ia], tb[jb], 1), ta), w2)
        key = (ia.tobytes(), jb.tobytes())
        if len(ia) < 2 or key in seen:
            continue
        seen.add(key)
        cands.append((len(ia), np.polyfit(ta[ia], tb[jb], 1), ia, jb))
    cands.sort(key=lambda c: -c[0])
    return cands


def _misfit(ta, tb, quant):
    """Clock line through paired pulses and how far they stray from it beyond quantisation.

    Pulse times are known to a sample of each file, so on a perfect clock line the
    residuals still spread over up to ``quant`` (one sample period of each file) around an
    unknown centre. ``misfit`` is half the spread in excess of that: the largest timing
    error sample quantisation cannot explain.
    """
    slope, intercept = np.polyfit(ta, tb, 1)
    resid = tb - (slope * ta + intercept)
    misfit = max(0.0, (float(np.ptp(resid)) - quant) / 2.0)
    return slope, intercept, resid, misfit


def _match_pulses(ta, tb, names, quant, tol_s, pairing="intervals"):
    """Pair the pulses of both files; refuse pairings that other offsets match as well.

    ``pairing='order'``: the i-th pulse of A with the i-th of B (equal counts only; the user
    vouches for it). ``'intervals'``: equal counts pair in order when they fit one clock
    line, else (and for unequal counts) by their intervals (:func:`_interval_candidates`).
    In both cases the pairing is refused as ambiguous when a different pairing, one that
    puts at least max(3, half) as many pulses as the chosen one pairs on B pulses off the
    chosen clock line: periodic pulses, or a jump in one file's clock.
    """
    na, nb = len(ta), len(tb)
    if na < 2 or nb < 2:
        raise AlignmentError(
            f"Fewer than 2 sync pulses ({na} in {names[0]}, {nb} in {names[1]}): at least "
            "2 shared pulses are needed to fit offset and drift."
        )
    if pairing == "order":
        if na != nb:
            raise AlignmentError(
                f"pulse_pairing='order' pairs the pulses of both files one to one, but "
                f"{names[0]} holds {na} and {names[1]} holds {nb}. Use "
                "pulse_pairing='intervals', or select the same pulses (event_id=, crop)."
            )
        return ta, tb, 0, 0
    if na == nb == 2:  # nothing to compare: fitted exactly (the caller warns)
        return ta, tb, 0, 0
    cands = _interval_candidates(ta, tb, quant)
    w2 = 0.005 + quant
    chosen = None
    if na == nb:
        in_order = (na, np.polyfit(ta, tb, 1), np.arange(na), np.arange(nb))
        if _misfit(ta, tb, quant)[3] <= tol_s or not cands or np.array_equal(
            cands[0][2], cands[0][3]
        ):
            # In order, unless the intervals pair the pulses shifted against each other
            # (one file lacks a first pulse, the other a last). A misfit with pulses paired
            # in order is a timing error: the caller refuses it by tolerance_ms.
            chosen = in_order
            if _misfit(ta, tb, quant)[3] > tol_s:
                return ta, tb, 0, 0  # refused by the caller, naming tolerance_ms
    if chosen is None:
        if not cands:
            raise AlignmentError(
                f"Cannot match sync pulses: {na} in {names[0]} and {nb} in {names[1]} "
                "share no common pattern of inter-pulse intervals."
            )
        chosen = cands[0]
    n_best, line, ia, jb = chosen
    rivals = []
    for n, line_c, ia_c, jb_c in cands:
        # pulses this pairing puts off the chosen clock line: it is a different pairing
        n_off = int(np.sum(np.abs(tb[jb_c] - np.polyval(line, ta[ia_c])) > w2))
        if n_off >= max(3, 0.5 * n_best):
            rivals.append((n, float(np.polyval(line_c, 0.0))))
    if rivals:
        offs = ", ".join(f"{n} at {o:.3f} s" for n, o in sorted(rivals, reverse=True)[:4])
        raise AlignmentError(
            f"Cannot match sync pulses unambiguously: {na} in {names[0]} and {nb} in "
            f"{names[1]}. The best pairing matches {n_best} pulses at offset "
            f"{float(np.polyval(line, 0.0)):.3f} s (B's file time at A's first sample), but "
            f"other offsets pair almost as many ({offs}): the pulses are periodic, or one "
            "file's clock jumps "
            "(lost samples). Use pulses with irregular intervals; if both files hold "
            "exactly the same pulses (the pulse train started after both recordings and "
            "stopped before either ended), pass pulse_pairing='order'."
        )
    if na != nb or len(ia) != na:
        if n_best < max(3, 0.5 * min(na, nb)):
            raise AlignmentError(
                f"Cannot match sync pulses: only {n_best} of {na} ({names[0]}) and {nb} "
                f"({names[1]}) pulses pair up by their intervals; are they the same pulse "
                "train?"
            )
    return ta[ia], tb[jb], na - len(ia), nb - len(jb)


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


def _xdf_meta(raw):
    """The LSL facts :func:`hyperinsync.io.read_raw_xdf` stored, or None."""
    from ..dyad import get_dyad_meta

    try:
        meta = get_dyad_meta(raw).get("xdf")
    except ValueError:  # a description we cannot parse holds no LSL facts
        return None
    return meta if isinstance(meta, dict) and "lsl_time0" in meta else None


def _shared_clock(xdf_a, xdf_b):
    """Map A's recording clock onto B's through an LSL stream both files recorded.

    Each file stores, for every stream, the line ``offset = a + b t`` through its clock
    offsets (``t`` the stream's own clock), which puts the stream's time ``t`` at
    ``a + (1 + b) t`` on that file's recording computer. A stream recorded in both files
    (same LSL uid) links the two recording clocks: ``t_B = c0 + c1 t_A``. Returns None if
    the files share no stream.
    """
    fits_b = {c["key"]: c for c in xdf_b.get("clocks", [])}
    best = None
    for ca in xdf_a.get("clocks", []):
        cb = fits_b.get(ca["key"])
        if cb is not None and (best is None or min(ca["n"], cb["n"]) > best[0]):
            best = (min(ca["n"], cb["n"]), ca, cb)
    if best is None:
        return None
    _, ca, cb = best
    c1 = (1.0 + cb["b"]) / (1.0 + ca["b"])
    return dict(stream=ca["name"], c0=cb["a"] - c1 * ca["a"], c1=c1,
                n_offsets=[ca["n"], cb["n"]], offset_fit_rms_ms=[ca["rms_ms"], cb["rms_ms"]])


def _lsl_line(xdf_a, xdf_b, names, report):
    """B's file time against A's from the LSL clocks: (slope, intercept)."""
    link = _shared_clock(xdf_a, xdf_b)
    if link is None:
        logger.info(
            f"{names[0]} and {names[1]} share no LSL stream: sync='lsl' takes them as "
            "recorded on one computer's clock."
        )
        link = dict(stream=None, c0=0.0, c1=1.0)
    t0_a, t0_b = xdf_a["lsl_time0"], xdf_b["lsl_time0"]
    slope = link["c1"]
    intercept = link["c0"] + slope * t0_a - t0_b
    report.update(
        method="lsl-clock",
        clock=(f"recording clocks linked by the stream {link['stream']!r} both files hold"
               if link["stream"] is not None else "one recording clock (assumed, sync='lsl')"),
        shared_stream=link["stream"],
        recorder_offset_s=float(link["c0"] + (link["c1"] - 1.0) * t0_a),
        lsl_time0=[t0_a, t0_b],
        n_offsets=link.get("n_offsets"),
        offset_fit_rms_ms=link.get("offset_fit_rms_ms"),
        n_pulses=0,
        offset_s=float(intercept),
        drift_ppm=float((slope - 1.0) * 1e6),
        residual_ms_max=None,
        residual_ms_rms=None,
    )
    return slope, intercept


@verbose
def read_dyad(
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
            + (" With sync='lsl' and no LSL stream in common, the two files were taken to "
               "share one recording computer's clock: they evidently do not; align them by "
               "sync pulses." if report.get("clock", "").startswith("one recording") else "")
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
        _set_annotations_rel(
            out_b, on_a[keep], dur[keep], np.asarray(ann.description)[keep]
        )
    report.update(
        tmin_a_s=k0 / sf_a,
        duration_s=(len(ka) - 1) / sf_a,
        sfreq=sf_a,
        resampling="polyphase (rational) + quintic spline at the fitted B-clock times; "
        "stim codes moved to the nearest sample",
    )
    return raw_a, out_b
