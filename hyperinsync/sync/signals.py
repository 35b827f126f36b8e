"""The signal layer: picks, BAD spans, finite and flat checks, decimation, band signals."""

from __future__ import annotations

from math import gcd


import numpy as np

from .._utils import (
    ProgressBar,
    _validate_type,
    warn,
)
from ..backend import get_backend
from ..dyad import ROLE_SEP, get_roles, role_picks, split_ch_name
from .measures import _xp
from ..rois import resolve_rois
from .spectral import (
    _auto_decim,
    _check_decim,
    band_analytic,
    detrend_linear,
)

# channel types that carry brain signal; others (stim, misc, eog, ...) are never paired
DATA_TYPES = ("eeg", "mag", "grad", "seeg", "ecog", "dbs", "hbo", "hbr")


# --- the engine ---------------------------------------------------------------------------
def data_picks(inst, picks):
    """Channel indices per role: good data channels, or the user's channel names."""
    roles = get_roles(inst)
    if len(roles) != 2:
        raise ValueError(
            f"A dyad needs channels of exactly two roles, found {len(roles)}: {roles}. "
            "Channel names must be '<role>:<channel>' (see hyperinsync.make_dyad_raw)."
        )
    types = inst.get_channel_types()
    bads = set(inst.info["bads"])
    if picks is None:
        ok = [
            i
            for i, (name, t) in enumerate(zip(inst.ch_names, types))
            if t in DATA_TYPES and name not in bads
        ]
    else:
        _validate_type(picks, (list, tuple), "picks")
        missing = [p for p in picks if p not in inst.ch_names]
        if missing:
            raise ValueError(f"picks name channels that are not in the data: {missing}.")
        ok = [inst.ch_names.index(p) for p in picks]
    out = []
    for role in roles:
        idx = [i for i in role_picks(inst, role) if i in set(ok)]
        if not idx:
            raise ValueError(
                f"Role {role!r} has no good data channels to analyse (channel types "
                f"{DATA_TYPES}, bads excluded). Check info['bads'] and the channel types."
            )
        out.append(np.array(idx, int))
    return roles, out


def annotation_spans(raw, which):
    """Sample spans ``(on, off)`` of the annotations ``which`` selects, from the first sample."""
    ann = raw.annotations
    on = np.atleast_1d(
        raw.time_as_index(ann.onset[which], use_rounding=True, origin=ann.orig_time)
    )
    return on, on + np.round(np.atleast_1d(ann.duration[which]) * raw.info["sfreq"]).astype(int)


def bad_spans(raw):
    """Sample spans ``(on, off)`` of the BAD_* annotations, from the first sample."""
    bad = np.array([d.lower().startswith("bad") for d in raw.annotations.description], bool)
    return annotation_spans(raw, bad)


def bad_mask(raw, n_times):
    """Boolean mask of the first ``n_times`` samples: True inside BAD_* annotations."""
    mask = np.zeros(n_times, bool)
    for on, off in zip(*bad_spans(raw)):
        mask[max(on, 0) : max(off, 0)] = True
    return mask


def window_starts(raw, n_len, n_step, reject_by_annotation):
    """Sample starts of fixed-length windows; those touching a BAD annotation are dropped."""
    n_times = raw.n_times
    starts = np.arange(0, n_times - n_len + 1, n_step)
    if not len(starts):
        raise ValueError(
            f"The recording ({n_times / raw.info['sfreq']:.2f} s) is shorter than one "
            f"epoch ({n_len / raw.info['sfreq']:.2f} s): use a shorter epoch_duration."
        )
    if reject_by_annotation:
        on, off = bad_spans(raw)
        if len(on):
            ends = starts + n_len
            hit = (starts[:, None] < off[None, :]) & (ends[:, None] > on[None, :])
            starts = starts[~hit.any(axis=1)]
            if not len(starts):
                raise ValueError(
                    "Every epoch overlaps a BAD annotation: nothing is left to analyse."
                )
    return starts


def check_finite(data, ch_names, rejected=None, *, sfreq=None):
    """Refuse NaN/inf in continuous data ``(n_channels, n_times)`` outside rejected samples.

    Samples flagged in ``rejected`` (inside BAD_ annotations whose epochs/windows are left
    out) are not checked: non-finite values there are replaced, in a copy, by the straight
    line between the finite samples around them, only so that the filter does not spread
    NaN over the whole channel. A line adds no offset, trend or step, and no analysed epoch
    or window overlaps those samples; their neighbours see what filtering across any BAD_
    span gives. Returns ``data`` itself when all is finite, else the filled copy.
    """
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
            + ("Annotate those spans BAD_ (mne.preprocessing.annotate_amplitude finds flat "
               "spans)" if continuous else f"Drop those epochs ({k.tolist()[:10]})")
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


def _min_length_checks(bands, convention, n_len, sfreq, n_epochs, what="epoch"):
    """Refuse epoch lengths and counts that make the measures trivial; warn where inflated.

    Chance PLV of two independent signals is about 0.44 over 2 cycles of theta, 0.31 over
    4 and 0.22 over 8 (``'within'``); about ``sqrt(pi / (4 n))`` over ``n`` epochs
    (``'across'``): 0.63 for 2, 0.31 for 8.
    """
    if n_epochs == 0:
        raise ValueError(f"No {what}s to analyse.")
    if convention == "within":
        dur = n_len / sfreq
        for name, (fmin, _) in bands.items():
            cycles = dur * fmin
            if cycles < MIN_CYCLES:
                raise ValueError(
                    f"{what.capitalize()}s of {dur:.3g} s hold {cycles:.2g} cycle(s) of the "
                    f"lowest frequency of band {name!r} ({fmin:g} Hz): within an {what} "
                    "the phase difference of any two band signals then barely changes, so "
                    f"PLV tends to 1 whatever the data. Use {what}s of at least "
                    f"{MIN_CYCLES} cycles ({MIN_CYCLES / fmin:.3g} s for this band; "
                    f"{WARN_CYCLES / fmin:.3g} s or more is better)."
                )
            if cycles < WARN_CYCLES:
                warn(
                    f"{what.capitalize()}s of {dur:.3g} s hold only {cycles:.2g} cycles of "
                    f"the lowest frequency of band {name!r} ({fmin:g} Hz): values are valid "
                    "but strongly inflated by the short window (chance PLV about 0.44 over "
                    "2 cycles of theta, 0.31 over 4); compare them with surrogates "
                    f"(hyperinsync.test_sync) or use {what}s of at least {WARN_CYCLES} cycles "
                    f"({WARN_CYCLES / fmin:.3g} s)."
                )
    else:
        if n_epochs < MIN_EPOCHS_ACROSS:
            raise ValueError(
                f"convention='across' averages over {what}s at each time point and needs at "
                f"least {MIN_EPOCHS_ACROSS}; got {n_epochs} (one epoch gives PLV = 1 "
                "whatever the data). Use more epochs or convention='within'."
            )
        if n_epochs < WARN_EPOCHS_ACROSS:
            warn(
                f"convention='across' over only {n_epochs} {what}s: values are valid but "
                f"strongly inflated (chance PLV about sqrt(pi / (4 n)) = "
                f"{np.sqrt(np.pi / (4 * n_epochs)):.2f}); compare them with surrogates or use "
                f"at least {WARN_EPOCHS_ACROSS} epochs."
            )


# Minimum cycles of a band's lowest frequency per epoch ('within') and epochs ('across'):
# below them the measures are trivial (PLV -> 1); below the WARN_ values, valid but inflated.
MIN_CYCLES, WARN_CYCLES = 2, 4


MIN_EPOCHS_ACROSS, WARN_EPOCHS_ACROSS = 2, 8


def epoch_decims(bands, method, sfreq, decim, n_len, n_step, n_cycles, freq_step,
                  what="epoch", trans=("auto", "auto")):
    """Decimation per band that divides the epoch (or window) length and step.

    ``'auto'`` keeps at least 4 samples per cycle of each band's highest frequency, so that
    epochs start and end on retained samples (``'mne_fir'``: full rate).
    """
    if decim == "auto":
        div = gcd(n_len, n_step)
        return {
            b: _auto_decim(e, method, sfreq, n_cycles, freq_step, trans, divides=div)
            for b, e in bands.items()
        }
    decim = _check_decim(decim)
    if n_len % decim or n_step % decim:
        raise ValueError(
            f"decim={decim} must divide the {what} length ({n_len} samples) and step "
            f"({n_step} samples); use decim='auto' or other "
            f"{dict(epoch='epoch_duration/overlap', window='window/step')[what]} values."
        )
    return dict.fromkeys(bands, decim)


def _trans(kw):
    return (kw.get("l_trans_bandwidth", "auto"), kw.get("h_trans_bandwidth", "auto"))


def continuous_signals(
    inst, picks_all, bands, method, decim, n_len, n_step, starts, kw, common_decim=False,
    *, reject_by_annotation=True, flat=None,
):
    """Band signals of a Raw, computed on the continuous recording then cut into epochs.

    ``common_decim`` puts every band on one time grid (needed to average across epochs per
    time point). With ``reject_by_annotation``, samples inside BAD_ annotations are not
    checked for NaN (they are filled for the filter, see :func:`check_finite`) and windows
    overlapping them are not checked for flatness: the caller leaves those windows out.
    Channels constant in every other window go to the list ``flat`` when given (their
    signals are still returned, for the caller to drop), else they are refused.
    """
    sfreq = inst.info["sfreq"]
    decims = epoch_decims(
        bands, method, sfreq, decim, n_len, n_step, kw["n_cycles"], kw["freq_step"],
        trans=_trans(kw),
    )
    if common_decim and decim == "auto":
        decims = dict.fromkeys(bands, min(decims.values()))
    rejected = bad_mask(inst, inst.n_times) if reject_by_annotation else None
    checked = starts
    if rejected is not None and rejected.any():
        csum = np.concatenate([[0], np.cumsum(rejected)])
        checked = starts[csum[starts + n_len] == csum[starts]]
    # Channels are read in groups so a lazily loaded recording is never copied whole; a
    # group is larger than one FFT chunk because every read of a FIF file touches all
    # channels' buffers. Data go to single precision at once when that is what is computed,
    # after the line is removed in double precision (a 200 mV offset in float32 would round
    # the EEG on it to 1e-3 of its size).
    rdtype = np.float32 if kw["precision"] == "single" else np.float64
    per_ch = inst.n_times * 8
    chunk = int(max(1, min(len(picks_all), 2 * kw["max_bytes"] // per_ch)))
    out = {b: [] for b in bands}
    meta = {}
    starts_ch = range(0, len(picks_all), chunk)
    # a bar only where there is progress to show (several channel groups)
    for c0 in ProgressBar(starts_ch, mesg="Band signals") if len(starts_ch) > 1 else starts_ch:
        picks = picks_all[c0 : c0 + chunk]
        names = [inst.ch_names[i] for i in picks]
        data = check_finite(inst.get_data(picks=picks), names, rejected, sfreq=sfreq)
        _flat_report(_flat_windows(data, checked, n_len), names, inst.times[checked],
                     "epoch", flat)
        data = detrend_linear(data, dtype=rdtype)
        # one forward FFT per channel serves every band (the line is already gone)
        sigs = band_analytic(data, sfreq, bands, method=method, decim=decims, detrend=False,
                             **kw)
        del data
        for b, sig in sigs.items():
            out[b].append(sig.data)
            meta[b] = sig
    bk = get_backend(kw["backend"])
    xp = bk.xp
    res = {}
    for b, parts in out.items():
        z = xp.concatenate(parts, axis=0)  # (n_ch, F, T_dec)
        del parts[:]
        q = decims[b]
        idx = (starts // q)[:, None] + np.arange(n_len // q)[None, :]
        # (n_ch, F, E, L) -> (E, F, n_ch, L)
        res[b] = (z[:, :, xp.asarray(idx)].transpose(2, 1, 0, 3), meta[b])
        del z
    return res


def _drop_flat(flat, names, picks_all, n_a, signals, rois, roles):
    """Leave channels flat in every analysed epoch out of the signals, with a warning."""
    keep = np.array([n not in flat for n in names])
    n_a_new = int(keep[:n_a].sum())
    for side, (lo, hi) in zip(roles, ((0, n_a), (n_a, len(names)))):
        if not keep[lo:hi].any():
            raise ValueError(
                f"Every channel of {side!r} is flat (constant): no signal to analyse."
            )
    msg = (
        f"Channel(s) {flat} are flat (constant) over the analysed data: their phase is "
        "undefined, so they are left out of the results"
    )
    if rois is not None:
        msg += " and of every ROI average"
    warn(msg + " (result.params['flat_channels']). Mark them bad (info['bads']) to "
         "silence this warning.")
    idx = np.flatnonzero(keep)
    out = {b: (z[:, :, _xp(z).asarray(idx)], meta) for b, (z, meta) in signals.items()}
    return picks_all[keep], n_a_new, [names[i] for i in idx], out


def roi_spec(rois, rows, cols, roles, pairs):
    """Resolve ROIs per role into row and column groups of channel names."""
    if rois is None:
        return None

    def groups(names):
        out = {}
        for role in roles:
            plain = [split_ch_name(n)[1] for n in names if split_ch_name(n)[0] == role]
            if not plain:
                continue
            for label, chs in resolve_rois(rois, plain).items():
                key = label if pairs == "inter" else f"{role}{ROLE_SEP}{label}"
                out[key] = [f"{role}{ROLE_SEP}{c}" for c in chs]
        return out

    return {"rows": groups(rows), "cols": groups(cols)}
