r"""Windowed lagged cross-correlation: body and autonomic synchrony (EDA, heart, movement).

For two people's series of one modality (skin conductance, heart rate, motion energy, ...)
the lagged Pearson correlation is computed in sliding windows at every lag from
:math:`-L` to :math:`+L` samples (Boker et al., 2002), giving a window x lag matrix of
Fisher-z values (the heat map of rMEA). From it: the strength of synchrony against chance,
its sign (in-phase vs anti-phase), who leads, per annotated segment, and Level 1 episodes:
those statistics, their nulls and the entry point :func:`hyperinsync.lagged_sync` are in
:mod:`hyperinsync.stats.lagged`. This module holds the values: the definitions, the window
grid (:class:`LagGeometry`), reading a dyad's pairs of series (:func:`resolve_pairs`,
:func:`read_series`), the batched values of one pair under many pairings
(:func:`lagged_values`, engine in :mod:`hyperinsync.sync.lagged_sums`), rMEA's window
summaries (:func:`window_summaries`) and peak picking (:func:`peak_lag`).

Lag sign: **a positive lag means the first role leads** (its series at time :math:`t` goes
with the second role's at :math:`t + \mathrm{lag}`), for every definition, as in rMEA.

.. rubric:: Definitions (``definition=``)

``'wcc'`` (default)
    The first person's window of ``window`` seconds is fixed; the second person's window of
    the same length moves by each lag (Boker et al., 2002). Window :math:`w` starts at
    :math:`L + w \cdot \mathrm{step}` samples, so that every lag stays inside the
    recording. Every statistic is defined on the same window grid for every lag, which lets
    circular-shift surrogates use any shift (see Nulls).
``'rmea'``
    Exactly rMEA's ``MEAccf(lagSec, winSec, incSec, r2Z, ABS)``: window :math:`w` takes the
    block of ``window + lag`` samples starting at :math:`w \cdot \mathrm{step}`;
    :math:`\lceil (N - \mathrm{win} - L + 1) / \mathrm{inc} \rceil` windows; for a lag
    :math:`k \ge 0` the first person's first ``win`` samples of the block go with the second
    person's samples :math:`k \dots k + \mathrm{win} - 1` of it, and for :math:`k < 0` the
    roles swap (the leader's segment is always at the start of the block). Pearson r over
    the pairs where both samples are present; a window where either person misses more than
    ``max_missing`` (rMEA: half) of the block is missing at every lag. Two differences from
    rMEA, both only where rMEA's result is degenerate: rMEA also sets a lag to missing when
    the two series are equal in all but fewer than 2 samples (e.g. both 0), where we compute
    the correlation (1 when they vary); and rMEA's windows need ``window``, ``lag`` and
    ``step`` times the sampling rate to be integers, which we require too.
``'susy'``
    SUSY's (Tschacher & Meier, 2020) ``stats::ccf`` on non-overlapping segments of
    ``window`` seconds (``step`` must equal ``window``): per segment the biased estimate
    :math:`r(\ell) = \frac{1}{n}\sum_t \tilde x(t)\,\tilde y(t + \ell)` with both series
    standardised over the whole segment (population SD) and the sum over the
    :math:`n - |\ell|` overlapping samples. **SUSY reports the opposite lag sign** (R's ccf
    lag :math:`k` relates :math:`x(t + k)` to :math:`y(t)`); here it is flipped so that a
    positive lag means the first person leads, as everywhere in hyperinsync. SUSY drops
    incomplete rows before cutting segments, which moves later data in time; here a segment
    holding any missing sample is missing instead, and a segment that is constant is left
    out of the means (SUSY adds a zero for it).

All definitions: Fisher :math:`z = \operatorname{atanh}(r)` clamped to :math:`\pm 10` (rMEA)
when ``fisher_z`` (else r); ``absolute=True`` takes the absolute value after the transform
(rMEA's ABS) for the window values and their summaries. The tests always use what they
need: the magnitude :math:`|z|` for synchrony and for who leads (so anti-phase coupling is
not read as the other person leading), the signed :math:`z` for the phase.

Missing data: samples that are NaN or inside a ``BAD_`` annotation (of all channels or
naming the channel) are missing. A window (or, under a surrogate, a window pairing) becomes
missing -- NaN at every lag -- when either person misses more than ``max_missing`` of the
data it uses; a lag with fewer than 3 complete pairs, or a series constant within the
window, is missing too. Missing windows are never zeros and never an error: they are left
out of every mean (NaN-aware), counted in the results and warned about.
"""

from __future__ import annotations

import math

import numpy as np

from .._docs import fill_doc
from .._utils import _validate_type, logger, quiet_empty_slices, warn
from ..backend import get_backend
from ..roles import ROLE_SEP, check_two_roles, get_roles, role_ch_name, split_ch_name
from .lagged_sums import MIN_PAIRS, Z_CLAMP, LaggedSums, _run_rmea, _run_susy, _run_wcc

__all__ = [
    "DEFINITIONS",
    "LagGeometry",
    "LaggedSums",
    "MIN_PAIRS",
    "PHYSIO_TYPES",
    "Z_CLAMP",
    "lagged_values",
    "peak_lag",
    "read_series",
    "resolve_pairs",
    "seconds_to_samples",
    "window_summaries",
]

DEFINITIONS = ("wcc", "rmea", "susy")
# the channel types taken when no pairs are named (never EEG)
PHYSIO_TYPES = ("gsr", "ecg", "bio", "resp", "misc")


# --------------------------------------------------------------------------------------------
# the window grid


def seconds_to_samples(value, sfreq, name, *, minimum=1):
    """Convert a duration in seconds to a whole number of samples, refusing any other.

    Parameters
    ----------
    value : float
        The duration in seconds.
    sfreq : float
        The sampling rate in Hz.
    name : str
        The argument's name, for the error message.
    minimum : int
        The smallest number of samples allowed.

    Returns
    -------
    n : int
        ``value * sfreq``, when it is a whole number (to 1e-6) of at least ``minimum``.

    Examples
    --------
    >>> from hyperinsync.sync.lagged import seconds_to_samples
    >>> seconds_to_samples(2.5, 8.0, "lag")
    20
    >>> seconds_to_samples(0.3, 8.0, "lag")
    Traceback (most recent call last):
    ...
    ValueError: lag=0.3 s is 2.4 samples at 8 Hz: give a whole number of samples (a
    multiple of 0.125 s).
    """
    _validate_type(value, "numeric", name)
    n = float(value) * sfreq
    k = int(round(n))
    if abs(n - k) > 1e-6 * max(1.0, abs(n)):
        raise ValueError(
            f"{name}={value} s is {n:g} samples at {sfreq:g} Hz: give a whole number of "
            f"samples (a multiple of {1 / sfreq:g} s)."
        )
    if k < minimum:
        raise ValueError(
            f"{name}={value} s is {k} samples at {sfreq:g} Hz: it must be at least "
            f"{minimum} sample(s)."
        )
    return k


class LagGeometry:
    """The window grid of one definition: where each window takes its data, in samples.

    Parameters
    ----------
    definition : 'wcc' | 'rmea' | 'susy'
        See :mod:`hyperinsync.sync.lagged`.
    sfreq : float
        The sampling rate in Hz.
    n_times : int
        The length of the series in samples.
    window, lag : float
        Window length and largest lag in seconds (whole numbers of samples).
    step : float | None
        Seconds between window starts; ``None``: ``window``.

    Attributes
    ----------
    win, L, inc : int
        Window length, largest lag and step in samples.
    starts : ndarray of int, shape (n_windows,)
        Start of each window's lag-0 segment (of the first person).
    span : int
        Samples of data one window uses over all its lags.
    lags : ndarray of int, shape (2 * L + 1,)
        The lags in samples, ``-L`` to ``L``.
    n_windows : int
        The number of windows.

    Examples
    --------
    Windows of 30 s every 15 s, lags up to 5 s, at 8 Hz, over 300 s:

    >>> from hyperinsync.sync.lagged import LagGeometry
    >>> geom = LagGeometry("wcc", 8.0, 8 * 300, window=30, lag=5, step=15)
    >>> geom.win, geom.L, geom.inc, geom.n_windows     # in samples
    (240, 40, 120, 18)
    >>> geom.starts[:3], geom.lags[[0, -1]]
    (array([ 40, 160, 280]), array([-40,  40]))
    """

    def __init__(self, definition, sfreq, n_times, window, lag, step):
        self.definition = definition
        self.sfreq = float(sfreq)
        self.n_times = int(n_times)
        self.win = seconds_to_samples(window, sfreq, "window", minimum=MIN_PAIRS)
        self.L = seconds_to_samples(lag, sfreq, "lag", minimum=0)
        self.inc = seconds_to_samples(window if step is None else step, sfreq, "step")
        win, L, inc, N = self.win, self.L, self.inc, self.n_times
        if definition == "susy":
            if self.inc != self.win:
                raise ValueError(
                    f"definition='susy' uses non-overlapping segments: step must equal window "
                    f"({window} s), got {step} s."
                )
            if 2 * L > win:
                raise ValueError(
                    f"SUSY needs the segment ({window} s) to be at least twice the maximum lag "
                    f"({lag} s)."
                )
            n_win = N // win
            self.starts = np.arange(n_win) * win  # lag-0 window (= the segment) starts
            self.span = win
            self.offset = 0  # data start of a window relative to its lag-0 start
        elif definition == "rmea":
            n_win = int(math.ceil((N - win - L + 1) / inc))
            self.starts = np.arange(max(n_win, 0)) * inc
            self.span = win + L
            self.offset = 0
        else:  # wcc
            n_win = (N - win - 2 * L) // inc + 1 if N >= win + 2 * L else 0
            self.starts = L + np.arange(max(n_win, 0)) * inc
            self.span = win + 2 * L
            self.offset = -L
        if len(self.starts) < 1:
            raise ValueError(
                f"The recording ({N / sfreq:.1f} s) is too short for one window of "
                f"{window} s with lags of +/-{lag} s ({definition!r} needs "
                f"{self.span / sfreq:.1f} s of data per window)."
            )
        self.lags = np.arange(-L, L + 1)
        self.n_windows = len(self.starts)

    @property
    def data_starts(self):
        """Where each window's data begin (its lag-0 start moved back by the lags it needs)."""
        return self.starts + self.offset

    @property
    def overlapping(self):
        """Whether consecutive windows share samples."""
        return self.inc < self.span

    def block_of_windows(self, length=None):
        """Return the block index per window (-1: left out), blocks of ``length`` samples.

        The lead test flips and the bootstrap resamples whole blocks, which must not share
        samples: after each block, the windows whose data reach into it are left out (none
        when windows do not overlap).

        Parameters
        ----------
        length : int | None
            Block length in samples; ``None``: twice the data span of a window.

        Returns
        -------
        ids : ndarray of int, shape (n_windows,)
            The block of each window, -1 for windows left out.
        size : int
            Windows per block.
        gap : int
            Windows left out after each block.
        """
        length = 2 * self.span if length is None else length
        size = max(1, int(math.ceil(length / self.inc)))
        gap = max(0, int(math.ceil(self.span / self.inc)) - 1)
        pos = np.arange(self.n_windows) % (size + gap)
        ids = np.where(pos < size, np.arange(self.n_windows) // (size + gap), -1)
        return ids, size, gap


# --------------------------------------------------------------------------------------------
# reading the pairs of series out of a Raw


@fill_doc
def resolve_pairs(inst, pairs):
    """Return the pairs of channels to correlate, one per modality.

    Parameters
    ----------
    inst : mne.io.Raw
        A dyad (channel names ``'<role>:<channel>'``).
    %(lagged_pairs)s

    Returns
    -------
    pairs : dict
        ``{modality: (dyad channel of the first role, of the second)}``.

    Examples
    --------
    %(example_eda_dyad)s
    >>> from hyperinsync.sync.lagged import resolve_pairs
    >>> resolve_pairs(phys, None)              # every channel both people have
    {'EDA': ('therapist:EDA', 'client:EDA')}
    """
    roles = get_roles(inst)
    check_two_roles(roles)
    names = inst.ch_names
    plain = {r: {} for r in roles}
    for name, kind in zip(names, inst.get_channel_types()):
        role, ch = split_ch_name(name)
        plain[role][ch] = kind
    if pairs is None:
        common = [
            c for c, k in plain[roles[0]].items() if k in PHYSIO_TYPES and c in plain[roles[1]]
        ]
        only = {
            r: sorted(
                c for c, k in plain[r].items() if k in PHYSIO_TYPES and c not in plain[roles[1 - i]]
            )
            for i, r in enumerate(roles)
        }
        if not common:
            raise ValueError(
                f"No physiological or movement channel (types {PHYSIO_TYPES}) is recorded "
                f"for both {roles[0]!r} and {roles[1]!r} under one name (only "
                f"{roles[0]!r}: {only[roles[0]] or 'none'}; only {roles[1]!r}: "
                f"{only[roles[1]] or 'none'}). Pass pairs={{'eda': ('EDA_A', 'EDA_B')}} to "
                "pair channels with different names."
            )
        for role, missing in only.items():
            if missing:
                logger.info(f"Channels only {role!r} has (not analysed): {missing}.")
        return {c: (role_ch_name(roles[0], c), role_ch_name(roles[1], c)) for c in common}
    if isinstance(pairs, str):
        pairs = [pairs]
    if isinstance(pairs, (list, tuple)):
        pairs = {p: (p, p) for p in pairs}
    _validate_type(pairs, dict, "pairs", "None, str, list of str or dict")
    out = {}
    for modality, chans in pairs.items():
        _validate_type(modality, str, "modality name")
        if "/" in modality:
            raise ValueError(f"Modality name {modality!r} must not contain '/'.")
        if not isinstance(chans, (tuple, list)) or len(chans) != 2:
            raise ValueError(
                f"pairs[{modality!r}] must be (channel of {roles[0]!r}, channel of "
                f"{roles[1]!r}), got {chans!r}."
            )
        full = []
        for role, ch in zip(roles, chans):
            _validate_type(ch, str, f"channel of {role!r}")
            name = ch if ch.startswith(role + ROLE_SEP) else role_ch_name(role, ch)
            if name not in names:
                have = sorted(plain[role])
                raise ValueError(
                    f"Modality {modality!r}: {role!r} has no channel {ch!r} (a modality "
                    f"missing for one person cannot be paired). {role!r} has: {have}."
                )
            full.append(name)
        out[modality] = tuple(full)
    return out


@fill_doc
def read_series(raw, name, bad_row, max_missing):
    """One channel as a standardised float64 series with NaN where missing; checked.

    Parameters
    ----------
    raw : mne.io.Raw
        The recording.
    name : str
        The channel.
    bad_row : ndarray of bool, shape (n_times,)
        Samples to treat as missing (inside ``BAD_`` annotations, e.g. from
        :func:`hyperinsync.io.physio.bad_masks`).
    max_missing : float
        Fraction of missing samples above which a warning says most windows will be missing.

    Returns
    -------
    x : ndarray, shape (n_times,)
        ``(x - mean) / SD`` over the valid samples, NaN where missing. A channel without
        valid samples or constant over them is an error naming it.

    Examples
    --------
    %(example_eda_dyad)s
    >>> from hyperinsync.sync.lagged import read_series
    >>> x = read_series(phys, "therapist:EDA", np.zeros(phys.n_times, bool), 0.5)
    >>> bool(abs(np.nanmean(x)) < 1e-9), round(float(np.nanstd(x)), 6)    # standardised
    (True, 1.0)
    """
    x = raw.get_data(picks=[name])[0].astype(float)
    x[bad_row] = np.nan
    x[~np.isfinite(x)] = np.nan
    valid = np.isfinite(x)
    frac = 1.0 - valid.mean()
    if not valid.any():
        raise ValueError(
            f"Channel {name!r} has no valid sample (all NaN or inside BAD_ annotations)."
        )
    if frac > max_missing:
        warn(
            f"Channel {name!r} misses {100 * frac:.1f} % of its samples (NaN or BAD_): "
            "most of its windows will be missing."
        )
    mean = np.mean(x[valid])
    sd = np.std(x[valid])
    if not sd > 0 or sd <= 1e-12 * max(abs(mean), 1e-300):
        raise ValueError(
            f"Channel {name!r} is constant ({mean:g}) over all its valid samples: a flat "
            "sensor (detached electrode, dead device) carries no synchrony. Fix or drop it, "
            "or name the channels to analyse with pairs=."
        )
    # Pearson r is invariant to each series' offset and scale; unit scale keeps the running
    # sums well conditioned
    return (x - mean) / sd


# --------------------------------------------------------------------------------------------
# the values of one pair under many pairings


@fill_doc
def lagged_values(
    a, b, geom, pairing=None, *, fisher_z=True, max_missing=0.5, groups=None, backend="numpy"
):
    """Window x lag values of one pair of series, observed and under many pairings at once.

    Parameters
    ----------
    a, b : ndarray, shape (n_times,)
        The first and the second person's series, NaN where missing (e.g. from
        :func:`read_series`).
    geom : LagGeometry
        The window grid (its definition decides how windows take their data).
    pairing : ndarray | None
        How the second person's data meet the first person's windows, the observed pairing
        first. ``None``: the observed pairing only. 1-D (``'wcc'`` only): circular shifts of
        ``b`` in samples, the first 0. 2-D, shape (n_pairings, n_windows): window orders,
        row ``j`` puts ``b``'s window ``pairing[j, w]`` with ``a``'s window ``w`` (the first
        row the identity).
    fisher_z : bool
        Fisher z (clamped to +/-10, as rMEA) instead of r.
    max_missing : float
        Largest fraction of missing samples a window may have, per person; above it the
        window (under that pairing) is missing at every lag.
    groups : array-like of bool, shape (n_groups, n_windows) | None
        Groups of windows whose signed lag profiles are kept per surrogate (see
        :class:`~hyperinsync.sync.lagged_sums.LaggedSums`).
    backend : str | Backend
        Array backend of the FFTs (:func:`hyperinsync.get_backend`).

    Returns
    -------
    sums : LaggedSums
        The observed values and, per further pairing, the sums the statistics need.

    Examples
    --------
    %(example_lagged_series)s
    >>> sums = lagged_values(a, b, geom)                 # the observed pairing only
    >>> sums.obs.shape                                 # windows x lags, Fisher z
    (18, 81)
    >>> hs.sync.peak_lag(np.nanmean(sums.obs, axis=0), geom.lags / 8.0)[0]   # s: A leads
    array(2.)
    >>> lagged_values(a, b, geom, np.array([0, 400, 800])).sum_abs.shape   # + 2 shifts
    (2, 18)
    """
    bk = get_backend(backend)
    pairing = np.arange(geom.n_windows)[None, :] if pairing is None else np.asarray(pairing)
    if geom.definition == "wcc":
        if pairing.ndim == 1:  # circular shifts of b
            base = geom.starts[:, None] + pairing[None, :]
        else:  # window pairings: b's block of the paired window
            base = geom.starts[pairing.T]
        return _run_wcc(bk, a, b, geom, base, fisher_z, max_missing, groups)
    if pairing.ndim != 2 or pairing.shape[1] != geom.n_windows:
        raise ValueError(
            f"definition={geom.definition!r} pairs whole windows: pairing must have shape "
            f"(n_pairings, {geom.n_windows}), got {pairing.shape}."
        )
    if geom.definition == "rmea":
        return _run_rmea(bk, a, b, geom, pairing, fisher_z, max_missing, groups)
    return _run_susy(bk, a, b, geom, pairing, fisher_z, groups)


# --------------------------------------------------------------------------------------------
# window summaries and peak picking


@fill_doc
def window_summaries(values, lags):
    """Summarise each window of a window x lag matrix as rMEA does (NaN-aware).

    Parameters
    ----------
    values : ndarray, shape (n_windows, n_lags)
        The values (absolute or signed, as they should be summarised).
    lags : ndarray, shape (n_lags,)
        The lags; positive: the first person leads.

    Returns
    -------
    summaries : dict of ndarray, shape (n_windows,)
        ``all_lags`` (mean over every lag), ``a_leads`` / ``b_leads`` (over positive /
        negative lags), ``a_leads_0`` / ``b_leads_0`` (the same with lag 0) and
        ``lag_zero``.

    Examples
    --------
    %(example_lagged_series)s
    >>> from hyperinsync.sync.lagged import window_summaries
    >>> summary = window_summaries(np.abs(lagged_values(a, b, geom).obs), geom.lags / 8.0)
    >>> sorted(summary)
    ['a_leads', 'a_leads_0', 'all_lags', 'b_leads', 'b_leads_0', 'lag_zero']
    >>> bool(np.nanmean(summary["a_leads"]) > np.nanmean(summary["b_leads"]))   # A leads
    True
    """
    with np.errstate(invalid="ignore"), quiet_empty_slices():
        pos, neg, zero = lags > 0, lags < 0, lags == 0
        return dict(
            all_lags=np.nanmean(values, axis=1),
            a_leads=(
                np.nanmean(values[:, pos], axis=1) if pos.any() else np.full(len(values), np.nan)
            ),
            b_leads=(
                np.nanmean(values[:, neg], axis=1) if neg.any() else np.full(len(values), np.nan)
            ),
            a_leads_0=np.nanmean(values[:, pos | zero], axis=1),
            b_leads_0=np.nanmean(values[:, neg | zero], axis=1),
            lag_zero=values[:, np.flatnonzero(zero)[0]],
        )


def peak_lag(values, lags, lag_range=None):
    """Lag of the (first) maximum of each row, within a range of lags (peak picking).

    Parameters
    ----------
    values : array, shape (..., n_lags)
        Cross-correlation values per lag (NaN ignored), e.g. one row per window.
    lags : array, shape (n_lags,)
        The lags (any unit; seconds in hyperinsync's results).
    lag_range : tuple of float | None
        ``(min, max)`` lags to search (inclusive); ``None`` searches all.

    Returns
    -------
    lag : ndarray, shape (...)
        The lag of the first maximum (rMEA's ``bestLag``: ``which.max``), NaN where a row
        has no finite value in the range.
    peak : ndarray, shape (...)
        The value there.

    Examples
    --------
    >>> from hyperinsync.sync import peak_lag
    >>> values = np.array([[0.1, 0.5, 0.3], [0.4, 0.2, 0.1]])   # two windows x three lags
    >>> peak_lag(values, np.array([-1.0, 0.0, 1.0]))
    (array([ 0., -1.]), array([0.5, 0.4]))
    """
    values = np.asarray(values, float)
    lags = np.asarray(lags, float)
    if values.shape[-1] != len(lags):
        raise ValueError(f"values has {values.shape[-1]} lags, lags {len(lags)}.")
    sel = np.ones(len(lags), bool)
    if lag_range is not None:
        lo, hi = (float(v) for v in lag_range)
        sel = (lags >= lo) & (lags <= hi)
        if not sel.any():
            raise ValueError(
                f"lag_range {lag_range} holds none of the lags ({lags.min():g} to {lags.max():g})."
            )
    v = np.where(np.isnan(values[..., sel]), -np.inf, values[..., sel])
    best = np.argmax(v, axis=-1)
    found = np.isfinite(np.take_along_axis(v, best[..., None], axis=-1)[..., 0])
    lag = np.where(found, lags[sel][best], np.nan)
    peak = np.where(
        found, np.take_along_axis(values[..., sel], best[..., None], -1)[..., 0], np.nan
    )
    return lag, peak
