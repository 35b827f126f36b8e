"""Finite and flat data: the checks of the signal layer, with errors that say what to do.

NaN or infinite samples are refused outside rejected ``BAD_`` spans (and bridged, in a
copy, inside them, only so that filtering does not spread them); channels constant over the
analysed epochs or windows are refused, or excluded by name when the caller collects them:
their phase is undefined. Used by :class:`~hyperinsync.sync.signals.DyadSignals` and the
surrogate nulls.
"""

from __future__ import annotations

import numpy as np


def check_finite(data, ch_names, rejected=None, *, sfreq=None):
    """Refuse NaN/inf in continuous data ``(n_channels, n_times)`` outside rejected samples.

    Samples flagged in ``rejected`` (inside BAD_ annotations whose epochs/windows are left
    out) are not checked: non-finite values there are replaced, in a copy, by the straight
    line between the finite samples around them, only so that the filter does not spread
    NaN over the whole channel. A line adds no offset, trend or step, and no analysed epoch
    or window overlaps those samples; their neighbours see what filtering across any BAD_
    span gives. Returns ``data`` itself when all is finite, else the filled copy.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        # one read of the data: a finite sum means every sample is finite (NaN and inf
        # propagate); a sum that overflows is checked sample by sample
        if np.isfinite(np.sum(data)):
            return data
    ok = np.isfinite(data)
    if ok.all():
        return data
    outside = ~ok if rejected is None else ~ok & ~np.asarray(rejected, bool)[None, :]
    if outside.any():
        ci = int(np.flatnonzero(outside.any(axis=1))[0])
        ti = int(np.flatnonzero(outside[ci])[0])
        when = f"sample {ti}" + ("" if sfreq is None else f" ({ti / sfreq:.3f} s from the start)")
        raise ValueError(
            f"Channel {ch_names[ci]!r} contains NaN or infinite values at {when}, "
            f"{int(outside[ci].sum())} sample(s) outside any rejected BAD_ annotation: "
            "annotate the span as BAD_ (epochs and windows overlapping it are then left out "
            "with reject_by_annotation=True) or mark the channel bad (info['bads'])."
        )
    data = np.array(data, dtype=np.float64)
    idx = np.arange(data.shape[1])
    for ci in np.flatnonzero(~ok.all(axis=1)):
        good = ok[ci]
        if not good.any():
            raise ValueError(
                f"Channel {ch_names[ci]!r} has no finite value: mark it bad (info['bads'])."
            )
        data[ci, ~good] = np.interp(idx[~good], idx[good], data[ci, good])
    return data


def _flat_windows(data, starts, n_len):
    """``(n_channels, n_windows)``: True where a channel is constant over a window."""
    out = np.zeros((data.shape[0], len(starts)), bool)
    for ci, row in enumerate(data):
        change = row[1:] != row[:-1]
        if n_len < 2 or change.all():  # no two equal neighbours: nothing can be flat
            continue
        # number of sample-to-sample changes before each sample, one row at a time (memory)
        c = np.zeros(row.shape[0], np.int64)
        np.cumsum(change, out=c[1:])
        out[ci] = c[starts + n_len - 1] == c[starts]
    return out


def _flat_report(flat, ch_names, onsets, what, flat_out, *, continuous=True):
    """Act on a ``(n_channels, n_epochs)`` flatness table of the analysed epochs/windows.

    A channel constant in every one of them is excluded when ``flat_out`` (a list) collects
    it (compute_sync), else refused; a channel constant in only some of them is refused:
    its phase is undefined there, and a value of 0 would silently pull its averages down.
    """
    if not flat.size:
        return
    every = flat.all(axis=1)
    some = flat.any(axis=1) & ~every
    if some.any():
        ci = int(np.flatnonzero(some)[0])
        k = np.flatnonzero(flat[ci])
        raise ValueError(
            f"Channel {ch_names[ci]!r} is flat (constant) in {len(k)} of {flat.shape[1]} "
            f"{what}s (the first at {onsets[k[0]]:.3f} s): its phase is undefined there. "
            + (
                "Annotate those spans BAD_ (mne.preprocessing.annotate_amplitude finds flat spans)"
                if continuous
                else f"Drop those epochs ({k.tolist()[:10]})"
            )
            + " or mark the channel bad (info['bads'])."
        )
    if every.any():
        names = [ch_names[i] for i in np.flatnonzero(every)]
        if flat_out is None:
            raise ValueError(
                f"Channel(s) {names} are flat (constant) over the analysed data: their phase "
                "is undefined. Mark them bad (info['bads']) before computing synchrony."
            )
        flat_out.extend(names)


def refuse_flat(data, ch_names, rejected=None):
    """Refuse channels constant over all their samples outside ``rejected``."""
    keep = slice(None) if rejected is None else ~np.asarray(rejected, bool)
    part = data[:, keep]
    if not part.size:
        return
    flat = part.max(axis=1) == part.min(axis=1)
    if flat.any():
        raise ValueError(
            f"Channel(s) {[ch_names[i] for i in np.flatnonzero(flat)]} are flat (constant) "
            "outside the rejected spans: their phase is undefined. Mark them bad "
            "(info['bads']) before computing synchrony."
        )


def check_epoch_data(data, ch_names, flat_out=None, onsets=None):
    """Finite, non-flat epochs ``(n_epochs, n_channels, n_times)``; names what is wrong."""
    if not data.shape[0]:
        raise ValueError(
            "The epochs object holds no epochs (all dropped?): nothing to compute synchrony on."
        )
    ok = np.isfinite(data)
    if not ok.all():
        bad = ~ok.all(axis=2)  # (E, C)
        ei, ci = (int(i[0]) for i in np.nonzero(bad))
        raise ValueError(
            f"Channel {ch_names[ci]!r} contains NaN or infinite values in epoch {ei} "
            f"({int(bad[:, ci].sum())} epoch(s) in all): drop those epochs (epochs.drop) or "
            "mark the channel bad (info['bads']) before computing synchrony."
        )
    flat = (data.max(axis=2) == data.min(axis=2)).T  # (C, E)
    onsets = np.arange(data.shape[0], dtype=float) if onsets is None else onsets
    _flat_report(flat, ch_names, onsets, "epoch", flat_out, continuous=False)
