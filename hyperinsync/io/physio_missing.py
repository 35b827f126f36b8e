"""Missing data of physiological recordings: NaN samples and ``BAD_`` annotations.

The readers of :mod:`hyperinsync.io.physio` never fill missing samples: a gap in the
timestamps becomes NaN samples under a ``BAD_gap`` annotation, empty cells become NaN under
``BAD_missing``. These helpers of that convention are shared by the readers, the
preprocessing and the lagged synchrony, and importable from :mod:`hyperinsync.io.physio`.
"""

from __future__ import annotations

import datetime as _dt

import numpy as np

from .._utils import annotation_samples


def mask_runs(mask):
    """Return the runs of True in a boolean vector.

    Parameters
    ----------
    mask : array-like of bool, shape (n,)
        The vector.

    Returns
    -------
    runs : list of tuple
        ``(start, stop)`` index pairs, ``stop`` exclusive, in order.
    """
    m = np.concatenate([[False], np.asarray(mask, bool), [False]])
    edges = np.flatnonzero(np.diff(m.astype(int)))
    return list(zip(edges[::2], edges[1::2]))


def annotate_nan(raw, description="BAD_missing"):
    """Annotate each run of NaN samples of each channel, in place.

    Parameters
    ----------
    raw : mne.io.Raw
        The recording; its annotations get one entry per NaN run and channel, naming the
        channel (``ch_names``).
    description : str
        The annotations' description.

    Returns
    -------
    n_runs : int
        The number of annotations added.
    """
    data = raw.get_data()
    sf = raw.info["sfreq"]
    onset, duration, desc, chs = [], [], [], []
    for ci, row in enumerate(data):
        for i0, i1 in mask_runs(~np.isfinite(row)):
            onset.append(raw.first_time + i0 / sf)
            duration.append((i1 - i0) / sf)
            desc.append(description)
            chs.append([raw.ch_names[ci]])
    if onset:
        raw.annotations.append(onset, duration, desc, ch_names=chs)
    return len(onset)


def bad_masks(raw, names):
    """Which samples of each channel lie inside a ``BAD_`` annotation that applies to it.

    An annotation applies to a channel when it names the channel (``ch_names``) or names no
    channel (then it applies to all).

    Parameters
    ----------
    raw : mne.io.Raw
        The recording.
    names : list of str
        Channel names.

    Returns
    -------
    mask : ndarray of bool, shape (n_names, n_times)
        True inside an applicable ``BAD_`` annotation (one row per name, one column per
        sample of ``raw``).
    """
    ann = raw.annotations
    out = np.zeros((len(names), raw.n_times), bool)
    is_bad = np.array([d.lower().startswith("bad") for d in ann.description], bool)
    if not is_bad.any():
        return out
    sfreq = raw.info["sfreq"]
    idx = np.flatnonzero(is_bad)
    on = annotation_samples(raw, ann.onset[idx])
    off = on + np.round(ann.duration[idx] * sfreq).astype(int)
    for i0, i1, k in zip(on, off, idx):
        chs = ann.ch_names[k]
        rows = range(len(names)) if not len(chs) else [r for r, n in enumerate(names) if n in chs]
        for r in rows:
            out[r, max(int(i0), 0) : max(int(i1), 0)] = True
    return out


def abs_start(raw):
    """Return the absolute time of a recording's first sample.

    Parameters
    ----------
    raw : mne.io.Raw
        The recording.

    Returns
    -------
    start : datetime.datetime | None
        ``meas_date`` plus ``first_time``; ``None`` when ``meas_date`` is not set.
    """
    md = raw.info["meas_date"]
    return None if md is None else md + _dt.timedelta(seconds=raw.first_time)
