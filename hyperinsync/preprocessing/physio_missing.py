"""Missing data and shared helpers of the physiological preprocessing.

:func:`annotate_missing` and :func:`annotate_flat` mark NaN runs and flat stretches (a
detached or saturated sensor) as ``BAD_`` annotations; the private helpers choose the
channels, find the valid stretches between missing data and ``BAD_`` spans, and annotate
them, for :mod:`hyperinsync.preprocessing.physio` (EDA and heart) and
:mod:`hyperinsync.preprocessing.movement`. Both functions are importable from
:mod:`hyperinsync.preprocessing` and :mod:`hyperinsync.preprocessing.physio`.
"""

from __future__ import annotations

import mne
import numpy as np

from .._docs import fill_doc
from .._utils import _validate_type, logger, verbose, warn
from ..dyad import ROLE_SEP
from ..io.physio import bad_masks, mask_runs


def _names(raw, picks, types, what):
    """Channel names to process: ``picks`` (names or a type) or every channel of ``types``."""
    if picks is None or isinstance(picks, str) and picks in ("gsr", "ecg", "bio", "misc", "resp"):
        want = types if picks is None else (picks,)
        names = [n for n, t in zip(raw.ch_names, raw.get_channel_types()) if t in want]
        if not names:
            raise ValueError(
                f"No {what} channel (type {' or '.join(want)}) in the recording; its channels: "
                f"{list(zip(raw.ch_names, raw.get_channel_types()))[:10]}. Pass picks= "
                "with channel names, or set the channel types."
            )
        return names
    picks = [picks] if isinstance(picks, str) else list(picks)
    missing = [p for p in picks if p not in raw.ch_names]
    if missing:
        raise ValueError(f"picks names channels not in the recording: {missing}.")
    return picks


def _valid(raw, names):
    """(n, n_times) bool: finite and outside the channel's BAD_ annotations."""
    data = raw.get_data(picks=names)
    return np.isfinite(data) & ~bad_masks(raw, names), data


def _renamed(name, new):
    """``'therapist:ECG' -> 'therapist:HR'``; ``'ECG' -> 'HR'``."""
    role, sep, _ = name.rpartition(ROLE_SEP) if ROLE_SEP in name else ("", "", name)
    return f"{role}{sep}{new}"


def _annotate(raw, spans, description):
    """Append ``description`` over ``[(channel, i0, i1)]`` sample spans (in place)."""
    sf = raw.info["sfreq"]
    if spans:
        raw.annotations.append(
            [raw.first_time + i0 / sf for _, i0, _ in spans],
            [(i1 - i0) / sf for _, i0, i1 in spans],
            [description] * len(spans),
            ch_names=[[ch] for ch, _, _ in spans],
        )


@verbose
@fill_doc
def annotate_missing(raw, picks=None, verbose=None):
    """Return a copy with a ``BAD_missing`` annotation over every NaN run of each channel.

    Parameters
    ----------
    raw : mne.io.Raw
        The recording (a dyad or one person).
    picks : list of str | None
        Channels; ``None``: all.
    %(verbose)s

    Returns
    -------
    raw : mne.io.Raw
        A copy, data unchanged.

    Examples
    --------
    >>> import mne
    >>> raw = mne.io.RawArray([[1.0, np.nan, np.nan, 2.0, 2.5, np.nan]],
    ...                       mne.create_info(["EDA"], 4.0, "gsr"))
    >>> marked = hs.preprocessing.annotate_missing(raw)
    >>> marked.annotations.description.tolist(), marked.annotations.onset.tolist()
    (['BAD_missing', 'BAD_missing'], [0.25, 1.25])
    """
    _validate_type(raw, mne.io.BaseRaw, "raw", "Raw")
    out = raw.copy().load_data()
    names = out.ch_names if picks is None else _names(out, picks, (), "")
    data = out.get_data(picks=names)
    spans = [(n, i0, i1) for n, row in zip(names, data) for i0, i1 in mask_runs(np.isnan(row))]
    _annotate(out, spans, "BAD_missing")
    logger.info(f"annotate_missing: {len(spans)} NaN run(s).")
    return out


@verbose
@fill_doc
def annotate_flat(raw, picks=None, *, min_duration=10.0, tol=0.0, verbose=None):
    """Return a copy with ``BAD_flat`` over stretches where a channel does not change.

    A detached electrode, a saturated amplifier or a frozen video reads a constant value;
    such a stretch carries no synchrony and would correlate as undefined (zero variance).

    Parameters
    ----------
    raw : mne.io.Raw
        The recording.
    picks : str | list of str | None
        Channels or a type; ``None``: every ``gsr``, ``ecg``, ``bio``, ``resp`` and ``misc``
        channel.
    min_duration : float
        Shortest flat stretch to annotate, in seconds.
    tol : float
        Largest change between consecutive samples that still counts as flat (in the
        channel's units; 0: exactly constant).
    %(verbose)s

    Returns
    -------
    raw : mne.io.Raw
        A copy, data unchanged.

    Raises
    ------
    ValueError
        When a channel is flat over all its valid samples (a dead sensor): drop it.
    """
    _validate_type(raw, mne.io.BaseRaw, "raw", "Raw")
    out = raw.copy().load_data()
    names = _names(out, picks, ("gsr", "ecg", "bio", "resp", "misc"), "physiological")
    sf = out.info["sfreq"]
    spans = []
    for name, row in zip(names, out.get_data(picks=names)):
        finite = np.isfinite(row)
        if finite.sum() > 1 and np.ptp(row[finite]) <= tol:
            raise ValueError(
                f"Channel {name!r} is flat over the whole recording ({row[finite][0]:g}): a "
                "dead or detached sensor. Drop it (raw.drop_channels) before analysis."
            )
        still = np.zeros(len(row), bool)
        still[1:] = np.abs(np.diff(row)) <= tol  # NaN compare False: a gap ends a run
        for i0, i1 in mask_runs(still):
            if (i1 - i0 + 1) / sf >= min_duration:
                spans.append((name, i0 - 1, i1))
    _annotate(out, spans, "BAD_flat")
    if spans:
        warn(
            f"annotate_flat: {len(spans)} flat stretch(es) of at least {min_duration:g} s "
            f"in {sorted({s[0] for s in spans})}, annotated BAD_flat."
        )
    return out


def _per_run(raw, name, valid, row, min_run, func, what):
    """Apply ``func`` to each valid run of at least ``min_run`` s; NaN elsewhere."""
    sf = raw.info["sfreq"]
    out = np.full(len(row), np.nan)
    short = []
    for i0, i1 in mask_runs(valid):
        if (i1 - i0) / sf < min_run:
            short.append((name, i0, i1))
            continue
        out[i0:i1] = func(row[i0:i1])
    if short:
        logger.info(
            f"{what}: {len(short)} stretch(es) of {name!r} shorter than {min_run:g} s "
            "between missing data are left missing (BAD_too_short)."
        )
    return out, short
