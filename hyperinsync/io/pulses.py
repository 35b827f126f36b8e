"""Sync pulses: found in each recording's stimulus channel or annotations, matched across them."""

from __future__ import annotations

import mne
import numpy as np

from .._utils import logger
from .errors import AlignmentError


def _pick_stim(raw, name, stim_channel):
    if stim_channel is not None:
        if stim_channel in raw.ch_names and raw.get_channel_types([stim_channel])[0] != "stim":
            # formats without channel types (EDF) read triggers as EEG: a sync channel is
            # a trigger channel, never brain signal to pair
            logger.info(f"{name}: channel {stim_channel!r} typed as stim (sync pulses).")
            raw.set_channel_types({stim_channel: "stim"}, verbose=False)
        if stim_channel not in raw.ch_names:
            raise AlignmentError(
                f"{name}: stim channel {stim_channel!r} not found; channels are {raw.ch_names}."
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
    raise AlignmentError(f"{name}: several stim channels {stims}; choose one with stim_channel=.")


def _pulse_times(raw, name, stim_channel, event_id, annotation):
    """Find the times (s from the first sample) and a label of the sync pulses of a recording."""
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
        if (
            _misfit(ta, tb, quant)[3] <= tol_s
            or not cands
            or np.array_equal(cands[0][2], cands[0][3])
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
