r"""Argument checks and tonic-null block orders of In-Sync Level 1 (:func:`~hyperinsync.level1`)."""

from __future__ import annotations

import numpy as np

from .._utils import warn
from ..sync.signals import bad_spans
from .windows import _check_positive

LEVEL1_RANGE = (0.3, 10.0)  # s, the phasic time scale of the In-Sync model


def _check_window(window, step, bands, sfreq, n_times):
    window = _check_positive(window, "window")
    step = _check_positive(step, "step")
    lo, hi = LEVEL1_RANGE
    if not lo <= window <= hi:
        raise ValueError(
            f"window={window} s is outside the In-Sync Level 1 (phasic) range {lo}-{hi} s; "
            "use level2 for longer time scales."
        )
    if step > window:
        raise ValueError(
            f"step={step} s is larger than window={window} s: windows would leave gaps; "
            "use a step at most the window length."
        )
    for name, (fmin, _) in bands.items():
        if window * fmin < 2.0:
            raise ValueError(
                f"window={window} s holds fewer than two cycles of band {name!r}'s lowest "
                f"frequency {fmin:g} Hz: use a window of at least {2.0 / fmin:g} s."
            )
    n_win, n_step = int(round(window * sfreq)), int(round(step * sfreq))
    if n_step < 1:
        raise ValueError(f"step={step} s is shorter than one sample at {sfreq:g} Hz.")
    if n_win > n_times:
        raise ValueError(
            f"The recording ({n_times / sfreq:g} s) is shorter than one window ({window} s)."
        )
    return n_win, n_step


def _check_shuffle_block(shuffle_block, n_unit, sfreq, window, bands):
    """Pieces of the tonic null, in units of the window grid (``n_unit`` input samples)."""
    unit = n_unit / sfreq
    memory = max(2.0 / (fmax - fmin) for fmin, fmax in bands.values())
    most = max(1, int(np.floor(window / 2.0 / unit + 1e-9)))  # pieces per half window
    if shuffle_block == "auto":
        # long enough to keep the coupling within a piece (band signals remember about
        # 1 / bandwidth), short enough to break episodes into several pieces per window
        m = min(most, max(1, int(np.ceil(memory / unit - 1e-9))))
    else:
        length = _check_positive(shuffle_block, "shuffle_block")
        m = int(round(length / unit))
        if m < 1 or abs(m * unit - length) > 1e-6 * max(1.0, length):
            raise ValueError(
                f"shuffle_block={length:g} s must be a multiple of {unit:g} s (the greatest "
                "common divisor of window and step), e.g. 'auto'."
            )
        if m > most:
            raise ValueError(
                f"shuffle_block={length:g} s is longer than half the window ({window:g} s): "
                "episodes would move whole instead of being broken up. Use 'auto'."
            )
    if m * unit < memory - 1e-9:
        warn(
            f"The episode test shuffles pieces of {m * unit:g} s, shorter than twice the "
            f"memory of the narrowest band (2 / bandwidth = {memory:g} s): its error rate "
            "has been validated only for pieces at least that long. Use a longer window or "
            "step, or wider bands."
        )
    return m


def _piece_orders(rng, n_blocks, m, fixed, n_surrogates):
    """Block orders of the tonic null: pieces of ``m`` consecutive blocks, shuffled.

    Pieces holding a ``fixed`` block (``BAD_`` spans) and a last piece shorter than ``m``
    stay in place, so windows touching bad samples are the same in every order.
    """
    n_pieces = n_blocks // m
    stay = fixed[: n_pieces * m].reshape(n_pieces, m).any(axis=1)
    free = np.flatnonzero(~stay)
    orders = np.tile(np.arange(n_blocks), (n_surrogates, 1))
    within = np.arange(m)
    for k in range(n_surrogates):
        piece = np.arange(n_pieces)
        piece[free] = rng.permutation(free)
        orders[k, : n_pieces * m] = (piece[:, None] * m + within).ravel()
    return orders


def _check_valid_windows(raw, valid, window, step):
    """Refuse a recording with (almost) no windows free of ``BAD_`` spans; warn on few.

    The tonic level and spread of a series (median and MAD of its windows) need a few
    windows; ``2 * window / step`` windows (two windows' worth of independent data) are
    about the least that makes them meaningful.
    """
    spans = [
        f"{on / raw.info['sfreq']:.1f}-{off / raw.info['sfreq']:.1f} s"
        for on, off in zip(*bad_spans(raw))
    ]
    listed = ", ".join(spans[:10]) + (f" and {len(spans) - 10} more" if len(spans) > 10 else "")
    n_ok, n = int(valid.sum()), valid.size
    where = f"{n - n_ok} touch BAD_ annotations ({listed})" if n_ok < n else "none is BAD_"
    if n_ok < 3:
        raise ValueError(
            f"Only {n_ok} of {n} windows of {window:g} s ({where}) are left for Level 1, "
            "which needs at least 3 to estimate each series' tonic level: remove or shorten "
            "BAD_ spans, or analyse a longer recording."
        )
    if n_ok < 2 * window / step:
        warn(
            f"Only {n_ok} of {n} windows of {window:g} s every {step:g} s ({where}) are "
            "left for Level 1: the tonic level and its spread rest on little data, which "
            "costs power. Analyse a longer recording."
        )
    elif n_ok < n / 2:
        warn(
            f"{n - n_ok} of {n} windows touch BAD_ annotations ({listed}) and are left "
            "out of Level 1."
        )
