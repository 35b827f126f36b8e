r"""Windowed lagged cross-correlation: body and autonomic synchrony (EDA, heart, movement).

For two people's series of one modality (skin conductance, heart rate, motion energy, ...)
the lagged Pearson correlation is computed in sliding windows at every lag from
:math:`-L` to :math:`+L` samples (Boker et al., 2002), giving a window x lag matrix of
Fisher-z values (the heat map of rMEA). From it: the strength of synchrony against chance,
its sign (in-phase vs anti-phase), who leads, per annotated segment, and Level 1 episodes.

Lag sign: **a positive lag means the first role leads** (its series at time :math:`t` goes
with the second role's at :math:`t + \mathrm{lag}`), for every definition, as in rMEA.

Definitions (``definition=``)
-----------------------------
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

Statistics
----------
Synchrony (``sync``)
    The grand mean of :math:`|z|` over windows and lags (rMEA's ``grandAver`` with ABS),
    compared with the same statistic on surrogates: one-sided p (Phipson & Smyth,
    :func:`hyperinsync.stats.p_value`) and the SUSY-style effect size
    :math:`(\text{real} - \text{mean surrogate}) / \text{SD surrogate}`
    (:func:`hyperinsync.stats.zscore`).
Phase (``phase``)
    The signed lag profile (mean :math:`z` over the windows, per lag) at its lag of largest
    magnitude, tested two-sided against the same statistic of every surrogate:
    ``'in-phase'`` (matching) when significantly above chance, ``'anti-phase'``
    (complementary) when significantly below, else ``'none'``; ``phase_lag`` is that lag.
    (The mean over every lag, rMEA's signed ``grandAver``, is also reported as
    ``grand_average`` with ``absolute=False``, but it dilutes a sharply peaked
    cross-correlation -- motion energy -- to nothing.)
Leader (``lead``)
    :math:`D` = mean :math:`|z|` at positive lags minus mean :math:`|z|` at negative lags
    (rMEA's ``s1_lead - s2_lead``), over the valid windows. Its null is "no one leads": the
    lag profile is then as likely mirrored (a time-reversible pair with a symmetric
    cross-correlation). The test mirrors the lag axis in a random subset of *blocks* of
    windows (flips the sign of the blocks' :math:`D`), which keeps whatever synchrony there
    is and removes only who leads; it is exact for independent blocks and valid whether or
    not the two people are coupled. Blocks hold ``lead_block`` seconds of consecutive
    windows (default: twice a window's data span) and, when windows overlap, the windows
    that straddle two blocks are left out of the test, so that no two blocks share a sample
    (with them, coupled zero-lag dyads were called led in 7-9 % of runs instead of 5 %).
    Confidence intervals of :math:`D` and of the lag of the peak of the mean :math:`|z|`
    lag profile come from a bootstrap of the same blocks (percentile). The label is
    ``'<role>-led'`` when the test rejects at ``alpha`` *and* the peak-lag interval
    excludes 0 on the same side as :math:`D`, else ``'simultaneous'`` ("simultaneous" when
    the interval includes 0). With fewer than 5 blocks no p-value can reach 0.05 (warned).
Level 1 episodes
    Each window's mean :math:`|z|` over lags is tested against the same window of every
    surrogate; p-values are family-wise corrected over the windows by the standardised
    max-statistic (:func:`hyperinsync.stats.maxstat_p`). Runs of consecutive significant
    windows are episodes, annotated ``insync/L1/<modality>/<chA>-<chB>``, each with the
    lag of its peak (who leads in it) and the sign there.

Nulls (``null=``)
---------------------
``'circular_shift'``
    The second person's series circularly shifted against the first by at least
    ``min_shift`` (default: the data span of one window) from either end, a fresh shift per
    surrogate; keeps each series' autocorrelation and every window's overlap with the next.
    With ``'wcc'`` any shift (in samples); with ``'rmea'`` and ``'susy'`` the shifts are
    whole multiples of ``step`` (their windows are anchored on the leader, so only a shift of
    whole windows keeps the window grid), i.e. at most ``n_windows - 1`` distinct ones: all
    of them are used when fewer than ``n_surrogates`` exist.
``'segment_shuffle'``
    The second person's windows in a random order (Ramseyer & Tschacher, 2010; SUSY); uniform
    over all orders, so the p-value is exact for exchangeable windows. Only for windows that
    share no samples (``step >= window + span of the lags``): shuffling overlapping windows
    would break the dependence between neighbouring windows that the real pairing keeps, and
    the test would be liberal. The same happens, more mildly, with signals whose memory
    outlasts a window: measured on simulated null dyads with slowly drifting skin
    conductance and 30-s segments, the two-sided phase test rejected 7.3 % at alpha = .05
    (1000 runs; synchrony 5.6 %), against 3.6 % (and 4.8 %) with whole-segment circular
    shifts, which keep neighbouring segments together. Hence the default is
    ``'circular_shift'`` for every definition; ``'segment_shuffle'`` reproduces SUSY's
    pseudo-interactions. ``'susy'`` also reports SUSY's own effect size (every segment with
    every other, the SD taken over the lag profile) whatever the null.
``None``
    No surrogates (values and summaries only).

How it is fast: for every window of the anchored person, the six sums of the Pearson
correlation (pair count, sums, sums of squares and cross-products, over complete pairs only)
against **every** circular position of the other series are one batch of FFT
cross-correlations (:mod:`scipy.fft` or CuPy); the observed value and all surrogates are
then gathered from those tables, so 1000 surrogates cost little more than one. Without
missing data only the cross-products need an FFT (the other sums are running sums).
"""

from __future__ import annotations

import math
from itertools import product

import mne
import numpy as np

from .._docs import fill_doc
from .._utils import (
    _check_option,
    _validate_type,
    as_table,
    check_seed,
    logger,
    verbose,
    warn,
)
from ..backend import get_backend
from ..io.physio import bad_masks
from ..roles import ROLE_SEP, check_two_roles, get_roles, role_ch_name, split_ch_name
from ..stats import maxstat_p, p_value, zscore
from ..stats.pairings import shuffle_orders
from .signals import annotation_spans

DEFINITIONS = ("wcc", "rmea", "susy")
NULLS = ("circular_shift", "segment_shuffle")
Z_CLAMP = 10.0  # rMEA's bound on Fisher z
PHYSIO_TYPES = ("gsr", "ecg", "bio", "resp", "misc")
PREFIX = "insync"
_MIN_PAIRS = 3
# a window whose per-sample variance is below this fraction of the series' variance is
# constant (a flat sensor); FFT round-off never reaches it
_FLAT = 1e-12
_TABLE_BYTES = 64e6


# --------------------------------------------------------------------------------------------
# argument checks


def _samples(value, sfreq, name, *, minimum=1):
    """Seconds -> an integer number of samples; refuse values that are not whole samples."""
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


class _Geometry:
    """Where each window takes its data, in samples, for one definition."""

    def __init__(self, definition, sfreq, n_times, window, lag, step):
        self.definition = definition
        self.sfreq = float(sfreq)
        self.n_times = int(n_times)
        self.win = _samples(window, sfreq, "window", minimum=_MIN_PAIRS)
        self.L = _samples(lag, sfreq, "lag", minimum=0)
        self.inc = _samples(window if step is None else step, sfreq, "step")
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
        return self.starts + self.offset

    @property
    def overlapping(self):
        """Whether consecutive windows share samples."""
        return self.inc < self.span

    def block_of_windows(self, length=None):
        """Block index per window (-1: left out), blocks of ``length`` samples of windows.

        The lead test flips and the bootstrap resamples whole blocks, which must not share
        samples: after each block, the windows whose data reach into it are left out (none
        when windows do not overlap). Default length: twice the data span of a window.
        """
        length = 2 * self.span if length is None else length
        size = max(1, int(math.ceil(length / self.inc)))
        gap = max(0, int(math.ceil(self.span / self.inc)) - 1)
        pos = np.arange(self.n_windows) % (size + gap)
        ids = np.where(pos < size, np.arange(self.n_windows) // (size + gap), -1)
        return ids, size, gap


# --------------------------------------------------------------------------------------------
# reading the pairs of series out of a Raw


def _resolve_pairs(inst, pairs):
    """``{modality: (dyad name A, dyad name B)}`` from the user's ``pairs``."""
    roles = get_roles(inst)
    check_two_roles(roles)
    names = inst.ch_names
    plain = {r: {} for r in roles}
    for name, kind in zip(names, inst.get_channel_types()):
        role, ch = split_ch_name(name)
        plain[role][ch] = kind
    if pairs is None:
        common = [c for c, k in plain[roles[0]].items()
                  if k in PHYSIO_TYPES and c in plain[roles[1]]]
        only = {r: sorted(c for c, k in plain[r].items() if k in PHYSIO_TYPES
                          and c not in plain[roles[1 - i]])
                for i, r in enumerate(roles)}
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


def _series(raw, name, bad_row, max_missing):
    """One channel as float64 with NaN where missing, standardised; checked."""
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
        warn(f"Channel {name!r} misses {100 * frac:.1f} % of its samples (NaN or BAD_): "
             "most of its windows will be missing.")
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
# the engine: sums of every anchor window against every circular position of another series


class _Other:
    """The non-anchored series, ready for correlation with anchor windows at many starts.

    Circular (``starts is None``): segments may start at every position of the series,
    wrapping round its end (surrogate shifts). Blocks: one block of ``length`` samples per
    anchor window, from ``starts``, and segments start inside it (observed values only; far
    smaller FFTs).
    """

    def __init__(self, bk, y, win, starts=None, length=None):
        self.bk, self.win = bk, win
        valid = np.isfinite(y)
        y0 = np.where(valid, y, 0.0)
        mb = valid.astype(float)
        self.circular = starts is None
        if self.circular:
            # circular extension: a segment starting near the end wraps to the start
            ext = lambda v: np.concatenate([v, v[: win - 1]])  # noqa: E731
            host = {"mb": ext(mb), "b": ext(y0)}
            self.n_pos = len(y)
            self.complete = bool(valid.all())
        else:
            idx = starts[:, None] + np.arange(length)[None, :]
            host = {"mb": mb[idx], "b": y0[idx]}
            self.n_pos = length - win + 1
            self.complete = bool(host["mb"].all())
        host["bb"] = host["b"] ** 2
        self._host = host
        self.nfft = int(_next_fast_len(host["b"].shape[-1] + win - 1))
        self._spec = {}
        if self.complete:
            # 1 / sqrt(sum of squared deviations) of the other series' segment at every
            # start, by running sums (NaN where the segment is constant)
            sums = {}
            for src in ("b", "bb"):
                v = host[src]
                cs = np.concatenate([np.zeros(v.shape[:-1] + (1,)), np.cumsum(v, axis=-1)], -1)
                sums[src] = cs[..., win : win + self.n_pos] - cs[..., : self.n_pos]
            ss = sums["bb"] - sums["b"] ** 2 / win
            with np.errstate(divide="ignore", invalid="ignore"):
                self._isd = bk.xp.asarray(np.where(ss > _FLAT * win, 1.0 / np.sqrt(ss),
                                                   np.nan))

    def spectrum(self, key, c0, c1):
        """rfft of the series ``'b'``, its square ``'bb'`` or its mask ``'mb'`` (rows)."""
        if key not in self._spec:
            bk = self.bk
            self._spec[key] = bk.fft.rfft(bk.xp.asarray(self._host[key]), self.nfft,
                                          axis=-1, **bk.fft_kwargs())
        spec = self._spec[key]
        return spec[None, :] if self.circular else spec[c0:c1]

    def inv_spread(self, off, c0, c1):
        """1 / sqrt(sum of squared deviations) of the segments at ``off`` (complete series)."""
        if self.circular:
            return self._isd[off]
        return self.bk.xp.take_along_axis(self._isd[c0:c1], off, axis=1)


def _circular_missing(y, start, length):
    """Missing samples of ``y`` in the circular blocks ``[start, start + length)`` (host)."""
    cs = np.concatenate([[0], np.cumsum(~np.isfinite(y))])
    n = len(y)
    start = np.mod(start, n)
    reps, rest = divmod(int(length), n)
    end = start + rest
    wrap = end > n
    inside = cs[np.minimum(end, n)] - cs[start]
    wrapped = cs[n] - cs[start] + cs[np.where(wrap, end - n, 0)]
    return np.where(wrap, wrapped, inside) + reps * cs[n]


def _next_fast_len(n):
    from scipy.fft import next_fast_len

    return next_fast_len(int(n), real=True)


def _anchor_windows(x, starts, win):
    """(C, win) windows of the anchored series, centred over their valid samples."""
    idx = starts[:, None] + np.arange(win)[None, :]
    a = x[idx]
    valid = np.isfinite(a)
    n = valid.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(valid, a, 0.0).sum(axis=1, keepdims=True) / n
    # centring each window makes the cross-product sums small and well conditioned
    a = np.where(valid, a - np.nan_to_num(mean), 0.0)
    return a, valid.astype(float)


def _pearson_z(n, sa, sb, saa, sbb, sab, xp, fisher_z):
    """Fisher z (or r) from the sums over complete pairs; NaN where undefined."""
    nm = max(n, 1.0) if isinstance(n, float) else xp.maximum(n, 1.0)
    vxx = saa - sa * sa / nm
    vyy = sbb - sb * sb / nm
    cov = sab - sa * sb / nm
    ok = (n >= _MIN_PAIRS) & (vxx > _FLAT * n) & (vyy > _FLAT * n)
    r = _fisher(cov / xp.sqrt(xp.where(ok, vxx * vyy, 1.0)), xp, fisher_z)
    return xp.where(ok, r, xp.nan)


def _fisher(r, xp, fisher_z):
    """r (clipped to [-1, 1] against round-off), or Fisher z clamped to +-10 as rMEA."""
    r = xp.clip(r, -1.0, 1.0)
    if fisher_z:
        with np.errstate(divide="ignore"):  # atanh(+-1) is infinite, then clamped
            r = xp.clip(xp.arctanh(r), -Z_CLAMP, Z_CLAMP)
    return r


def _anchored_z(bk, x, other, starts, offsets, fisher_z, max_bytes=_TABLE_BYTES):
    """z of the anchor windows of ``x`` against ``other``'s segments starting at ``offsets``.

    ``starts`` (W,): anchor window starts in ``x`` (``other.win`` samples each);
    ``offsets``: (W, M) start positions of the other series' segments (taken circularly),
    or a pair ``(base, lags)`` meaning ``base[w, j] + lags[k]`` flattened over ``(j, k)``
    (built chunk by chunk: the full array can be large). Pearson r over the complete pairs
    of each (window, segment). Yields ``(c0, c1, z)`` per chunk of windows, ``z``
    (c1 - c0, M) on the backend's device.
    """
    xp, fft = bk.xp, bk.fft
    win, n, nfft = other.win, other.n_pos, other.nfft
    kw = bk.fft_kwargs()
    if isinstance(offsets, tuple):
        base, lags = offsets
        n_m = base.shape[1] * len(lags)

        def chunk_offsets(c0, c1):
            return (base[c0:c1, :, None] + lags[None, None, :]).reshape(c1 - c0, n_m)
    else:
        n_m = offsets.shape[1]

        def chunk_offsets(c0, c1):
            return offsets[c0:c1]
    # the tables of one window: up to 6 real rows of nfft, 3 anchor spectra, the gathers
    per_window = 8 * nfft * 9 + 8 * 8 * n_m
    chunk = int(max(1, max_bytes // per_window))
    for c0 in range(0, len(starts), chunk):
        a, ma = _anchor_windows(x, starts[c0 : c0 + chunk], win)
        c1 = c0 + len(a)
        off = chunk_offsets(c0, c1)
        off = xp.asarray(np.mod(off, n) if other.circular else off)
        spec = {}

        def corr(key_a, key_b, _a={"a": a, "aa": a * a, "ma": ma}):
            # sum over the window of anchor(t) * other(u + t), for every start u
            if key_a not in spec:
                spec[key_a] = xp.conj(fft.rfft(xp.asarray(_a[key_a]), nfft, axis=-1, **kw))
            table = fft.irfft(spec[key_a] * other.spectrum(key_b, c0, c1), nfft, axis=-1,
                              **kw)[:, :n]
            return xp.take_along_axis(table, off, axis=1)

        if other.complete and ma.all():
            # no missing sample: the anchor windows are centred (their sums are 0), so
            # r = sum(a * b) / sqrt(sum(a^2) * var_b * n); only the cross-products need an
            # FFT and the other series' spread at every start is a running sum
            saa = (a * a).sum(axis=1)
            with np.errstate(divide="ignore"):
                isd_a = np.where(saa > _FLAT * win, 1.0 / np.sqrt(saa), np.nan)
            r = corr("a", "b") * other.inv_spread(off, c0, c1) * xp.asarray(isd_a)[:, None]
            z = _fisher(r, xp, fisher_z)
        else:
            nn = xp.rint(corr("ma", "mb"))
            sa, saa = corr("a", "mb"), corr("aa", "mb")
            sb, sbb = corr("ma", "b"), corr("ma", "bb")
            z = _pearson_z(nn, sa, sb, saa, sbb, corr("a", "b"), xp, fisher_z)
        yield c0, c1, z


def _window_missing(x, starts, length):
    """Missing samples of ``x`` in ``[start, start + length)`` for each start (host ints)."""
    return _circular_missing(x, starts, length)


class _Reducer:
    """Keeps the observed z (W, K) and what the statistics need of every surrogate.

    Per surrogate and window: the sums of |z| and z over lags and the number of valid lags
    (window, segment and session synchrony). Per group of windows (``groups`` (G, W): the
    whole recording, each segment) and surrogate: the signed lag profile summed over the
    group's windows and its counts (the phase statistic).
    """

    def __init__(self, n_windows, n_sur, n_lags, groups=None):
        self.obs = np.full((n_windows, n_lags), np.nan)
        self.sum_abs = np.zeros((n_sur, n_windows))
        self.sum_sgn = np.zeros((n_sur, n_windows))
        self.count = np.zeros((n_sur, n_windows))
        self.groups = (np.ones((1, n_windows)) if groups is None else
                       np.asarray(groups, float))
        self.prof_sgn = np.zeros((len(self.groups), n_sur, n_lags))
        self.prof_cnt = np.zeros((len(self.groups), n_sur, n_lags))

    def add(self, bk, c0, c1, z):
        """``z`` (c, J, K) on the device, surrogate 0 the observed pairing."""
        xp = bk.xp
        self.obs[c0:c1] = bk.to_numpy(z[:, 0])
        n_sur, k = self.sum_abs.shape[0], z.shape[2]
        if n_sur:
            sur = z[:, 1:]
            ok = ~xp.isnan(sur)
            zero = xp.where(ok, sur, 0.0)
            self.sum_abs[:, c0:c1] = bk.to_numpy(xp.abs(zero).sum(axis=2)).T
            self.sum_sgn[:, c0:c1] = bk.to_numpy(zero.sum(axis=2)).T
            self.count[:, c0:c1] = bk.to_numpy(ok.sum(axis=2)).T
            g = xp.asarray(self.groups[:, c0:c1])
            shape = (len(self.groups), n_sur, k)
            self.prof_sgn += bk.to_numpy(g @ zero.reshape(c1 - c0, -1)).reshape(shape)
            self.prof_cnt += bk.to_numpy(g @ ok.reshape(c1 - c0, -1).astype(float)).reshape(
                shape)


def _mask_pairs(z, bad):
    """Set every lag of the (window, pairing) entries flagged in ``bad`` (c, J) to NaN."""
    if bad.any():
        z[bad] = np.nan
    return z


def _run_wcc(bk, a, b, geom, base, fisher_z, max_missing, groups=None):
    """'wcc': A's windows fixed; B's segment at ``base[w, j] + lag`` (circular)."""
    xp = bk.xp
    win, L, K = geom.win, geom.L, len(geom.lags)
    n_w, n_j = base.shape
    if n_j == 1:  # observed only: B's block around each window
        other = _Other(bk, b, win, starts=geom.starts - L, length=win + 2 * L)
        offsets = np.broadcast_to(geom.lags + L, (n_w, K))
    else:
        other = _Other(bk, b, win)
        offsets = (base, geom.lags)
    red = _Reducer(n_w, n_j - 1, K, groups)
    miss_a = _window_missing(a, geom.starts, win) > max_missing * win
    miss_b = _circular_missing(b, base - L, win + 2 * L) > max_missing * (win + 2 * L)
    for c0, c1, z in _anchored_z(bk, a, other, geom.starts, offsets, fisher_z):
        z = z.reshape(c1 - c0, n_j, K)
        bad = xp.asarray(miss_a[c0:c1, None] | miss_b[c0:c1])
        z = xp.where(bad[:, :, None], xp.nan, z)
        red.add(bk, c0, c1, z)
    return red


def _run_rmea(bk, a, b, geom, pairing, fisher_z, max_missing, groups=None):
    """'rmea': the leader's segment at the start of each block; ``pairing`` (J, W)."""
    win, L, st = geom.win, geom.L, geom.starts
    n_j, n_w = pairing.shape
    K = 2 * L + 1
    z = np.full((n_w, n_j, K), np.nan)
    pos = np.arange(0, L + 1)
    local = n_j == 1  # observed only: each window's own block
    # lags 0..L: A's window w with B's window pairing[j, w] moved on by the lag
    if local:
        other_b = _Other(bk, b, win, starts=st, length=win + L)
        off = np.broadcast_to(pos, (n_w, L + 1))
    else:
        other_b = _Other(bk, b, win)
        off = (st[pairing.T], pos)
    for c0, c1, zz in _anchored_z(bk, a, other_b, st, off, fisher_z):
        z[c0:c1, :, L:] = bk.to_numpy(zz).reshape(c1 - c0, n_j, L + 1)
    if L:
        # lags -L..-1: B's window v with A's window w = inverse(pairing)[j, v] moved on by |lag|
        inv = np.argsort(pairing, axis=1)  # (J, W): A window of B window v
        neg = np.arange(L, 0, -1)
        if local:
            other_a = _Other(bk, a, win, starts=st, length=win + L)
            off = np.broadcast_to(neg, (n_w, L))
        else:
            other_a = _Other(bk, a, win)
            off = (st[inv.T], neg)
        zneg = np.empty((n_w, n_j, L))
        for c0, c1, zz in _anchored_z(bk, b, other_a, st, off, fisher_z):
            zneg[c0:c1] = bk.to_numpy(zz).reshape(c1 - c0, n_j, L)
        # back to A's window order: pairing j puts B's window pairing[j, w] with A's w
        z[:, :, :L] = zneg[pairing.T, np.arange(n_j)[None, :]]
    span = win + L
    miss_a = _window_missing(a, st, span) > max_missing * span
    miss_b = _window_missing(b, st, span)[pairing.T] > max_missing * span
    z = _mask_pairs(z, miss_a[:, None] | miss_b)
    red = _Reducer(n_w, n_j - 1, K, groups)
    red.add(_HOST, 0, n_w, z)
    return red


def _susy_table(bk, a, b, geom, fisher_z):
    """SUSY's ccf of every A segment with every B segment: (W, W, K), our lag sign."""
    xp = bk.xp
    n, L = geom.win, geom.L
    idx = geom.starts[:, None] + np.arange(n)[None, :]

    def standardise(x):
        seg = x[idx]
        ok = np.isfinite(seg).all(axis=1)
        seg = np.where(ok[:, None], seg, 0.0)
        sd = seg.std(axis=1)  # population SD, as R's acf normalises
        ok &= sd > np.sqrt(_FLAT)
        seg = (seg - seg.mean(axis=1, keepdims=True)) / np.where(ok, sd, 1.0)[:, None]
        return xp.asarray(np.where(ok[:, None], seg, 0.0)), ok

    xa, ok_a = standardise(a)
    yb, ok_b = standardise(b)
    n_w = len(geom.starts)
    table = np.empty((n_w, n_w, 2 * L + 1))
    for k, lag in enumerate(geom.lags):
        # r(lag) = sum_t x(t) y(t + lag) / n over the overlapping samples
        lo, hi = max(0, -lag), min(n, n - lag)
        table[:, :, k] = bk.to_numpy(xa[:, lo:hi] @ yb[:, lo + lag : hi + lag].T) / n
    table = np.clip(table, -1.0, 1.0)
    if fisher_z:
        with np.errstate(divide="ignore"):
            table = np.clip(np.arctanh(table), -Z_CLAMP, Z_CLAMP)
    table[~ok_a] = np.nan
    table[:, ~ok_b] = np.nan
    return table


def _run_susy(bk, a, b, geom, pairing, fisher_z, groups=None):
    table = _susy_table(bk, a, b, geom, fisher_z)
    n_j, n_w = pairing.shape
    z = table[np.arange(n_w)[:, None], pairing.T]  # (W, J, K)
    red = _Reducer(n_w, n_j - 1, z.shape[2], groups)
    red.add(_HOST, 0, n_w, z)
    return red, table


class _HostBackend:
    name = "numpy"
    xp = np

    @staticmethod
    def to_numpy(a):
        return np.asarray(a)


_HOST = _HostBackend()


# --------------------------------------------------------------------------------------------
# window summaries and statistics


def _profile_means(values, lags):
    """rMEA's per-window summaries of a (W, K) matrix (NaN-aware)."""
    with np.errstate(invalid="ignore"), _quiet():
        pos, neg, zero = lags > 0, lags < 0, lags == 0
        return dict(
            all_lags=np.nanmean(values, axis=1),
            a_leads=np.nanmean(values[:, pos], axis=1) if pos.any() else np.full(len(values), np.nan),
            b_leads=np.nanmean(values[:, neg], axis=1) if neg.any() else np.full(len(values), np.nan),
            a_leads_0=np.nanmean(values[:, pos | zero], axis=1),
            b_leads_0=np.nanmean(values[:, neg | zero], axis=1),
            lag_zero=values[:, np.flatnonzero(zero)[0]],
        )


class _quiet:
    """Silence NumPy's 'Mean of empty slice' for all-NaN windows (they are NaN on purpose)."""

    def __enter__(self):
        import warnings

        self._cm = warnings.catch_warnings()
        self._cm.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        return self._cm.__exit__(*exc)


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
            raise ValueError(f"lag_range {lag_range} holds none of the lags "
                             f"({lags.min():g} to {lags.max():g}).")
    v = np.where(np.isnan(values[..., sel]), -np.inf, values[..., sel])
    best = np.argmax(v, axis=-1)
    found = np.isfinite(np.take_along_axis(v, best[..., None], axis=-1)[..., 0])
    lag = np.where(found, lags[sel][best], np.nan)
    peak = np.where(found, np.take_along_axis(values[..., sel], best[..., None], -1)[..., 0],
                    np.nan)
    return lag, peak


def _sign_flips(n_blocks, n_sur, rng):
    """Sign patterns over blocks: all of them when few, else random (first row: observed)."""
    if 2**n_blocks <= n_sur + 1:
        pats = np.array(list(product((1.0, -1.0), repeat=n_blocks)))
        return pats, True
    return rng.choice((1.0, -1.0), size=(n_sur, n_blocks)), False


def _lead_test(d, prof, blocks, n_sur, n_boot, alpha, ci, rng, lags_s, roles, where=None):
    """Lag-mirror test, bootstrap CI of D and of the peak lag (see the module docstring)."""
    ok = np.isfinite(d) & (blocks >= 0)
    out = dict(lead=np.nan, lead_p=np.nan, lead_ci_low=np.nan, lead_ci_high=np.nan,
               leader="undetermined", peak_lag=np.nan, peak_lag_ci_low=np.nan,
               peak_lag_ci_high=np.nan, n_blocks=0, n_windows_lead=0)
    if not ok.any():
        return out
    ids = np.unique(blocks[ok])
    sums = np.array([d[ok & (blocks == b)].sum() for b in ids])
    counts = np.array([(ok & (blocks == b)).sum() for b in ids], float)
    with _quiet():
        profs = np.array([np.nansum(prof[ok & (blocks == b)], axis=0) for b in ids])
        pcnt = np.array([np.isfinite(prof[ok & (blocks == b)]).sum(axis=0) for b in ids])
    total = counts.sum()
    D = sums.sum() / total
    out.update(lead=float(D), n_blocks=int(len(ids)), n_windows_lead=int(total))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_prof = profs.sum(0) / pcnt.sum(0)
    out["peak_lag"] = float(peak_lag(mean_prof, lags_s)[0])
    if n_sur:
        pats, exact = _sign_flips(len(ids), n_sur, rng)
        null = pats @ sums / total
        if exact:  # every pattern, the observed one included: the exact distribution
            ge = np.mean(null >= D - 1e-12 * abs(D))
            le = np.mean(null <= D + 1e-12 * abs(D))
            p = min(1.0, 2.0 * min(ge, le))
        else:
            p = float(p_value(D, null, tail="two-sided"))
        if len(ids) < 5 and where is not None:
            warn(f"{where}: the lead test has only {len(ids)} independent block(s) of "
                 f"windows, so its p-value cannot fall below {2 / 2 ** len(ids):.3g}. Use a "
                 "longer recording, shorter windows or a shorter lead_block.")
        out["lead_p"] = float(p)
    if n_boot and len(ids) > 1:
        pick = rng.integers(0, len(ids), size=(n_boot, len(ids)))
        boot = sums[pick].sum(1) / counts[pick].sum(1)
        q = [(1 - ci) / 2, 1 - (1 - ci) / 2]
        out["lead_ci_low"], out["lead_ci_high"] = (float(v) for v in np.quantile(boot, q))
        with np.errstate(invalid="ignore", divide="ignore"):
            bprof = profs[pick].sum(1) / pcnt[pick].sum(1)
        blag = peak_lag(bprof, lags_s)[0]
        blag = blag[np.isfinite(blag)]
        if len(blag):
            lo, hi = np.quantile(blag, q, method="inverted_cdf")
            out["peak_lag_ci_low"], out["peak_lag_ci_high"] = float(lo), float(hi)
    lo, hi = out["peak_lag_ci_low"], out["peak_lag_ci_high"]
    if np.isfinite(out["lead_p"]):
        # a lead needs the mirror test and a peak-lag interval that excludes 0, both on the
        # same side: either alone lets zero-lag coupling look led more often than alpha
        side = 1 if lo > 0 else -1 if hi < 0 else 0
        led = out["lead_p"] <= alpha and side != 0 and side == np.sign(D)
        out["leader"] = (f"{roles[0] if D > 0 else roles[1]}-led" if led else "simultaneous")
    return out


def _surrogate_test(obs, null, tail):
    """p, null mean and SD, SUSY-style effect size of one statistic."""
    null = null[np.isfinite(null)]
    if not np.isfinite(obs) or len(null) < 2:
        return np.nan, np.nan, np.nan, np.nan
    return (float(p_value(obs, null, tail=tail)), float(null.mean()),
            float(null.std(ddof=1)), float(zscore(obs, null)))


def _extreme_lag(profile, count):
    """Index and value of the signed mean lag profile at its largest magnitude (per row)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = profile / count
    k = np.argmax(np.where(np.isfinite(mean), np.abs(mean), -1.0), axis=-1)
    return k, np.take_along_axis(mean, k[..., None], -1)[..., 0]


def _stats_over(windows, red, d, prof, blocks, *, group, roles, lags_s, alpha, ci, n_sur,
                n_boot, rng, where=None):
    """Synchrony, phase and lead statistics over a set of windows (boolean mask)."""
    obs = red.obs[windows]
    ok = np.isfinite(obs)
    n_valid = int(ok.any(axis=1).sum())
    sync = float(np.abs(obs[ok]).mean()) if ok.any() else np.nan
    # phase: the signed mean lag profile at its strongest lag (a peaked cross-correlation
    # would be diluted by the mean over every lag)
    k_obs, phase_val = _extreme_lag(np.where(ok, obs, 0.0).sum(0), ok.sum(0))
    phase_val = float(phase_val) if ok.any() else np.nan
    row = dict(n_windows=int(windows.sum()), n_windows_valid=n_valid, sync=sync,
               phase_value=phase_val, phase_lag=float(lags_s[k_obs]) if ok.any() else np.nan)
    if red.sum_abs.shape[0]:
        cnt = red.count[:, windows].sum(1)
        with np.errstate(invalid="ignore", divide="ignore"):
            null_sync = red.sum_abs[:, windows].sum(1) / cnt
        _, null_phase = _extreme_lag(red.prof_sgn[group], red.prof_cnt[group])
        p, m, s, es = _surrogate_test(sync, null_sync, "greater")
        row.update(sync_p=p, sync_null_mean=m, sync_null_sd=s, sync_effect_size=es)
        pp, pm, ps, pes = _surrogate_test(phase_val, null_phase, "two-sided")
        row.update(phase_p=pp, phase_null_mean=pm, phase_null_sd=ps, phase_effect_size=pes)
        if np.isfinite(pp) and pp <= alpha:
            row["phase"] = "in-phase" if phase_val > pm else "anti-phase"
        else:
            row["phase"] = "none" if np.isfinite(pp) else "undetermined"
        row["synchrony"] = ("above chance" if np.isfinite(p) and p <= alpha else
                            "not above chance" if np.isfinite(p) else "undetermined")
    row.update(_lead_test(np.where(windows, d, np.nan), prof, blocks, n_sur, n_boot, alpha, ci,
                          rng, lags_s, roles, where))
    return row


def _susy_summary(table, lags):
    """SUSY's own numbers from the segment x segment table (our lag sign; see module doc)."""
    n_w = table.shape[0]
    diag = table[np.arange(n_w), np.arange(n_w)]  # (W, K)
    off = ~np.eye(n_w, dtype=bool)
    pseudo = table[off]  # (W(W-1), K)
    with _quiet():
        real_abs, real_sgn = np.nanmean(np.abs(diag), 0), np.nanmean(diag, 0)
        ps_abs, ps_sgn = np.nanmean(np.abs(pseudo), 0), np.nanmean(pseudo, 0)
    first, second = lags > 0, lags < 0  # first person leads at positive lags

    def es(real, ps, sel=slice(None)):
        return float((real[sel].mean() - ps[sel].mean()) / ps[sel].std(ddof=1))

    return dict(
        susy_Z=float(real_abs.mean()), susy_Z_pseudo=float(ps_abs.mean()),
        susy_SD_Z=float(real_abs.std(ddof=1)), susy_SD_Z_pseudo=float(ps_abs.std(ddof=1)),
        susy_pct_gt_pseudo=float(100 * np.mean(real_abs > ps_abs)),
        susy_ES=es(real_abs, ps_abs),
        susy_Z_lead_a=float(real_abs[first].mean()), susy_Z_lead_b=float(real_abs[second].mean()),
        susy_ES_lead_a=es(real_abs, ps_abs, first), susy_ES_lead_b=es(real_abs, ps_abs, second),
        susy_meanZ_in_phase=float(real_sgn[real_sgn >= 0].mean()) if (real_sgn >= 0).any() else np.nan,
        susy_meanZ_anti_phase=float(real_sgn[real_sgn < 0].mean()) if (real_sgn < 0).any() else np.nan,
        susy_n_in_phase=int((real_sgn >= 0).sum()), susy_n_anti_phase=int((real_sgn < 0).sum()),
        susy_Z_noabs=float(real_sgn.mean()), susy_Z_pseudo_noabs=float(ps_sgn.mean()),
        susy_pct_gt_pseudo_noabs=float(100 * np.mean(real_sgn > ps_sgn)),
        susy_ES_noabs=es(real_sgn, ps_sgn),
        susy_n_segments=int(np.isfinite(diag).any(axis=1).sum()),
    ), dict(real=real_abs, pseudo=ps_abs, real_noabs=real_sgn, pseudo_noabs=ps_sgn)


def _description(modality, ch_a, ch_b):
    return f"{PREFIX}/L1/{modality}/{ch_a}-{ch_b}"


class LaggedSyncResult:
    """Windowed lagged cross-correlation of a dyad and its statistics.

    Made by :func:`lagged_sync`; rebuild from :meth:`to_dict` output with
    :meth:`from_dict`.

    Attributes
    ----------
    roles : tuple of str
        The two roles; a positive lag means the first leads.
    modalities : list of str
        One name per analysed pair of channels.
    channels : dict
        ``{modality: (dyad channel of the first role, of the second)}``.
    lags : ndarray, shape (n_lags,)
        Lags in seconds.
    window_starts : ndarray, shape (n_windows,)
        Start of each window's lag-0 segment, in seconds from the first sample.
    values : ndarray, shape (n_modalities, n_windows, n_lags)
        Signed Fisher z (or r) per window and lag; NaN for missing windows or lags.
    null_sum_abs, null_sum_signed, null_count : ndarray, shape (n_modalities, n_sur, n_windows)
        Per surrogate and window: the sums of :math:`|z|` and of :math:`z` over lags and the
        number of valid lags (empty without surrogates).
    sessions : list of dict
        One row per modality, whole recording (see :meth:`to_table`).
    segments : list of dict
        One row per modality and annotated segment.
    episodes : list of dict
        Level 1 episodes.
    window_p : ndarray, shape (n_modalities, n_windows)
        Per-window p-values, family-wise corrected over windows (NaN without surrogates).
    params : dict
        Every parameter of the analysis (``definition``, ``window``, ``lag``, ``step``,
        ``sfreq``, ``null``, ``n_surrogates``, ...).
    """

    _ARRAYS = ("lags", "window_starts", "values", "null_sum_abs", "null_sum_signed",
               "null_count", "window_p")

    def __init__(self, *, roles, modalities, channels, sessions, segments, episodes, params,
                 **arrays):
        for key in self._ARRAYS:
            setattr(self, key, np.asarray(arrays.pop(key), float))
        if arrays:
            raise TypeError(f"Unexpected fields {sorted(arrays)} for LaggedSyncResult.")
        self.roles = tuple(roles)
        self.modalities = list(modalities)
        self.channels = {k: tuple(v) for k, v in dict(channels).items()}
        self.sessions = [dict(r) for r in sessions]
        self.segments = [dict(r) for r in segments]
        self.episodes = [dict(r) for r in episodes]
        self.params = dict(params)

    def __repr__(self):
        return (f"<LaggedSyncResult | {self.params['definition']} | "
                f"{', '.join(self.modalities)} | {len(self.window_starts)} windows of "
                f"{self.params['window']:g} s, lags +/-{self.params['lag']:g} s | "
                f"{self.params['n_surrogates']} surrogates | {len(self.episodes)} episode(s)>")

    def _mi(self, modality):
        if modality not in self.modalities:
            raise ValueError(f"Modality {modality!r} is not in this result: {self.modalities}.")
        return self.modalities.index(modality)

    def get_values(self, modality, absolute=None):
        """The window x lag matrix of one modality.

        Parameters
        ----------
        modality : str
            The modality (pair) name.
        absolute : bool | None
            Absolute values (rMEA's ABS); ``None`` uses the analysis' ``absolute``.

        Returns
        -------
        values : ndarray, shape (n_windows, n_lags)
        """
        v = self.values[self._mi(modality)]
        absolute = self.params["absolute"] if absolute is None else absolute
        return np.abs(v) if absolute else v.copy()

    def _window_rows(self):
        rows = []
        win = self.params["window"]
        for mi, mod in enumerate(self.modalities):
            vals = self.get_values(mod)
            summ = _profile_means(vals, self.lags)
            best, peak = peak_lag(vals, self.lags)
            for w, t in enumerate(self.window_starts):
                rows.append(dict(
                    modality=mod, window=w, onset=float(t), duration=float(win),
                    **{k: float(v[w]) for k, v in summ.items()},
                    best_lag=float(best[w]), peak=float(peak[w]),
                    valid=bool(np.isfinite(vals[w]).any()),
                    p=float(self.window_p[mi, w]) if self.window_p.size else np.nan,
                ))
        return rows

    def grand_average(self, modality):
        """rMEA's ``grandAver``: the mean of all window x lag values (NaN-aware)."""
        v = self.get_values(modality)
        return float(np.nanmean(v)) if np.isfinite(v).any() else np.nan

    def to_table(self, level="session"):
        """The results as a tidy table.

        Parameters
        ----------
        level : 'session' | 'segment' | 'window' | 'episode'
            ``'session'``: one row per modality over the whole recording: ``sync`` (mean
            :math:`|z|`), ``sync_p``, ``sync_null_mean``, ``sync_null_sd``,
            ``sync_effect_size`` (SUSY-style), ``synchrony``; ``phase_value`` (the signed lag
            profile at its strongest lag, ``phase_lag``), ``phase_p`` (two-sided), ``phase``
            (``'in-phase'``, ``'anti-phase'``, ``'none'``); ``lead`` (:math:`D`, first role minus second),
            ``lead_p``, ``lead_ci_low``/``_high``, ``leader``, ``peak_lag`` (s) with
            ``peak_lag_ci_low``/``_high``; ``n_windows``, ``n_windows_valid``,
            ``grand_average`` (of the values as analysed), ``n_blocks``; with
            ``definition='susy'`` SUSY's own numbers (``susy_ES``, ...). ``'segment'``: the
            same per annotated segment. ``'window'``: rMEA's per-window summaries
            (``all_lags``, ``a_leads``/``b_leads`` = mean over positive / negative lags,
            ``a_leads_0``/``b_leads_0`` with lag 0, ``lag_zero``, ``best_lag``, ``peak``),
            ``valid`` and the corrected window ``p``. ``'episode'``: Level 1 episodes.

        Returns
        -------
        table : pandas.DataFrame | list of dict
        """
        _check_option("level", level, ("session", "segment", "window", "episode"))
        rows = {"session": self.sessions, "segment": self.segments,
                "episode": self.episodes}.get(level)
        return as_table(self._window_rows() if rows is None else rows)

    @property
    def annotations(self):
        """Level 1 episodes as :class:`mne.Annotations` (onsets from the first sample).

        Descriptions are ``insync/L1/<modality>/<channel A>-<channel B>`` (plain channel
        names), each naming both dyad channels in ``ch_names``.
        """
        onset, duration, desc, chs = [], [], [], []
        for ep in self.episodes:
            ch_a, ch_b = self.channels[ep["modality"]]
            onset.append(ep["onset"])
            duration.append(ep["duration"])
            desc.append(_description(ep["modality"], split_ch_name(ch_a)[1],
                                     split_ch_name(ch_b)[1]))
            chs.append([ch_a, ch_b])
        return mne.Annotations(onset, duration, desc, orig_time=None, ch_names=chs)

    def to_dict(self):
        """Plain arrays and JSON-able fields (see :meth:`from_dict`)."""
        out = {k: getattr(self, k) for k in self._ARRAYS}
        out.update(roles=list(self.roles), modalities=list(self.modalities),
                   channels={k: list(v) for k, v in self.channels.items()},
                   sessions=self.sessions, segments=self.segments, episodes=self.episodes,
                   params=self.params)
        return out

    @classmethod
    def from_dict(cls, d):
        """Rebuild a result from :meth:`to_dict` output."""
        return cls(**dict(d))


# --------------------------------------------------------------------------------------------
# the public entry point


def _segment_windows(raw, names, geom):
    """``{name: boolean mask of windows whose data lie inside one stretch of that name}``."""
    descs = np.asarray(raw.annotations.description)
    out = {}
    lo = geom.data_starts
    hi = lo + geom.span
    for name in names:
        _validate_type(name, str, "segment name")
        sel = descs == name
        if not sel.any():
            present = sorted(set(descs.tolist())) or ["none"]
            raise ValueError(
                f"Segment {name!r} is not annotated in the recording (annotation "
                f"descriptions: {', '.join(present)})."
            )
        on, off = annotation_spans(raw, sel)
        inside = np.zeros(len(lo), bool)
        for s0, s1 in zip(on, off):
            inside |= (lo >= s0) & (hi <= s1)
        if not inside.any():
            warn(f"Segment {name!r}: no window of {geom.span / geom.sfreq:g} s of data fits "
                 "inside its annotations; it is reported as empty.")
        out[name] = inside
    return out


def _surrogate_pairings(definition, null, geom, n_sur, min_shift, rng):
    """Surrogates as shifts (wcc circular: (W, J) B starts) or as window pairings (J, W)."""
    n_w, n = geom.n_windows, geom.n_times
    ident = np.arange(n_w)[None, :]
    if null is None or n_sur == 0:
        return ident, 0
    if null == "segment_shuffle":
        if geom.overlapping:
            raise ValueError(
                f"null='segment_shuffle' needs windows that share no samples: with "
                f"definition={definition!r} a window uses {geom.span / geom.sfreq:g} s of "
                f"data but windows start every {geom.inc / geom.sfreq:g} s. Shuffling "
                "overlapping windows breaks the dependence between neighbours that the real "
                "pairing keeps (a liberal test): use null='circular_shift', or step >= "
                f"{geom.span / geom.sfreq:g} s."
            )
        perms = shuffle_orders(rng, n_w, n_sur, "windows")
        return np.concatenate([ident, perms]), n_sur
    if definition == "wcc":
        lo, hi = min_shift, n - min_shift
        if hi < lo:
            raise ValueError(
                f"min_shift={min_shift / geom.sfreq:g} s leaves no circular shift of a "
                f"{n / geom.sfreq:g} s recording: lower it or use a longer recording."
            )
        avail = hi - lo + 1
        if avail < n_sur:
            logger.info(f"Only {avail} distinct circular shifts exist; using all of them.")
            shifts = np.arange(lo, hi + 1)
        else:
            shifts = np.sort(rng.choice(avail, n_sur, replace=False)) + lo
        return np.concatenate([[0], shifts]), len(shifts)
    # rmea / susy: whole-window shifts of the window grid
    m_min = int(math.ceil(min_shift / geom.inc))
    options = np.arange(m_min, n_w - m_min + 1)
    if not len(options):
        raise ValueError(
            f"With {n_w} windows and min_shift={min_shift / geom.sfreq:g} s no whole-window "
            f"circular shift is possible for definition={definition!r}: use a longer "
            "recording, a smaller step, null='segment_shuffle' or definition='wcc'."
        )
    if len(options) < n_sur:
        logger.info(f"definition={definition!r} shifts whole windows: only {len(options)} "
                    f"distinct circular shifts exist ({n_w} windows); using all of them.")
        shifts = options
    else:
        shifts = np.sort(rng.choice(options, n_sur, replace=False))
    pairing = np.mod(ident + shifts[:, None], n_w)
    return np.concatenate([ident, pairing]), len(shifts)


def _episodes(mod, p, geom, obs_abs, obs, alpha, roles, lags_s, win_s):
    """Runs of consecutive significant windows, with the lag and sign of their peak."""
    sig = np.isfinite(p) & (p <= alpha)
    out = []
    w = 0
    while w < len(sig):
        if not sig[w]:
            w += 1
            continue
        e = w
        while e + 1 < len(sig) and sig[e + 1]:
            e += 1
        with _quiet():
            prof = np.nanmean(obs_abs[w : e + 1], axis=0)
            signed = np.nanmean(obs[w : e + 1], axis=0)
        lag, peak = peak_lag(prof, lags_s)
        k = int(np.argmin(np.abs(lags_s - lag)))
        if abs(lag) < 0.5 / geom.sfreq:
            leader = "simultaneous"
        else:
            leader = f"{roles[0] if lag > 0 else roles[1]}-led"
        t0 = geom.starts[w] / geom.sfreq
        out.append(dict(
            modality=mod, onset=float(t0),
            duration=float(geom.starts[e] / geom.sfreq + win_s - t0),
            n_windows=int(e - w + 1), peak=float(peak), p=float(np.nanmin(p[w : e + 1])),
            lag=float(lag), leader=leader, signed_peak=float(signed[k]),
            phase="in-phase" if signed[k] > 0 else "anti-phase",
        ))
        w = e + 1
    return out


@verbose
@fill_doc
def lagged_sync(inst, pairs=None, *, lag, window, step=None, definition="wcc", absolute=True,
                fisher_z=True, max_missing=0.5, null="auto", n_surrogates=1000,
                min_shift=None, segments=None, alpha=0.05, ci=0.95, n_boot=2000,
                lead_block=None, seed=None, backend="auto", verbose=None):
    """Windowed lagged cross-correlation of a dyad's body or autonomic signals.

    See :mod:`hyperinsync.lagged` for the definitions, the statistics and the nulls.

    Parameters
    ----------
    inst : DyadRaw | mne.io.Raw
        A dyad (channel names ``'<role>:<channel>'``) at the rate to analyse: the series
        as they are (e.g. skin conductance level, heart rate in bpm, motion energy), all
        channels at one sampling rate. NaN samples and ``BAD_`` annotations (all channels or
        naming the channel) are missing data.
    pairs : None | str | list of str | dict
        What to correlate. ``None``: every channel name both roles have among the types
        ``gsr``, ``ecg``, ``bio``, ``resp`` and ``misc`` (EEG is never taken), one modality
        per name. A name or list of names: those channels of both roles. A dict
        ``{modality: (channel of the first role, channel of the second)}`` pairs differently
        named channels. A modality missing for one person is an error.
    lag : float
        The largest lag in seconds (lags run from ``-lag`` to ``+lag`` in steps of one
        sample). No default, as in rMEA (its example: 5 s).
    window : float
        Window (segment) length in seconds (rMEA's example: 60 s; SUSY's default: 30 s).
    step : float | None
        Seconds between window starts; ``None``: ``window`` (non-overlapping windows).
    definition : 'wcc' | 'rmea' | 'susy'
        See :mod:`hyperinsync.lagged`. ``'rmea'`` and ``'susy'`` equal those packages to
        floating-point precision where their definitions apply.
    absolute : bool
        Report window values and their summaries as absolute values (rMEA's ABS).
    fisher_z : bool
        Fisher z (atanh, clamped to +/-10) instead of r (rMEA's r2Z).
    max_missing : float
        Largest fraction of missing samples a window may have, per person (rMEA: 0.5).
    null : 'auto' | 'circular_shift' | 'segment_shuffle' | None
        The surrogates; ``'auto'``: ``'circular_shift'`` (whole-window shifts for
        ``'rmea'`` and ``'susy'``). See :mod:`hyperinsync.lagged` for when segment shuffles
        are liberal.
    n_surrogates : int
        Number of surrogates (also of the lag-mirror sign flips).
    min_shift : float | None
        Smallest circular shift in seconds from either end; ``None``: the data span of one
        window (``window`` + the lag range).
    segments : list of str | None
        Annotation descriptions (e.g. ``['IM', 'CB']``) to summarise separately; each may
        be annotated several times. Windows count when their data lie inside one stretch.
    alpha : float
        Level of the tests and of the Level 1 episodes.
    ci : float
        Level of the confidence intervals of the lead index and of the peak lag.
    n_boot : int
        Bootstrap resamples of the blocks of windows for the intervals.
    lead_block : float | None
        Length in seconds of the blocks of consecutive windows that the lead test mirrors
        and the bootstrap resamples together; ``None``: twice the data span of a window.
        Blocks should be longer than the time over which the lead index of neighbouring
        windows stays correlated.
    %(seed)s
    %(backend)s
    %(verbose)s

    Returns
    -------
    result : LaggedSyncResult
        Values, summaries, tests, segments and Level 1 episodes (``result.annotations``).
    """
    _validate_type(inst, mne.io.BaseRaw, "inst", "Raw")
    _check_option("definition", definition, DEFINITIONS)
    if null == "auto":  # see the module docstring: shuffles are liberal for slow signals
        null = "circular_shift"
    _check_option("null", null, NULLS + (None,))
    _validate_type(n_surrogates, "int", "n_surrogates")
    _validate_type(n_boot, "int", "n_boot")
    for name, value in (("max_missing", max_missing),):
        _validate_type(value, "numeric", name)
        if not 0 <= value < 1:
            raise ValueError(f"{name} must be in [0, 1), got {value}.")
    for name, value in (("alpha", alpha), ("ci", ci)):
        _validate_type(value, "numeric", name)
        if not 0 < value < 1:
            raise ValueError(f"{name} must be in (0, 1), got {value}.")
    if null is not None and n_surrogates < 1:
        raise ValueError("n_surrogates must be at least 1 (or pass null=None).")
    bk = get_backend(backend)
    rng = check_seed(seed)
    sfreq = inst.info["sfreq"]
    geom = _Geometry(definition, sfreq, inst.n_times, window, lag, step)
    if len(geom.lags) > 1001:
        warn(f"{len(geom.lags)} lags (+/-{lag} s at {sfreq:g} Hz, one per sample): body and "
             "autonomic signals rarely need more than 25-32 Hz. Resample first "
             "(hyperinsync.io.align_physio or raw.resample) to save time and memory.")
    min_shift_n = geom.span if min_shift is None else _samples(min_shift, sfreq, "min_shift")
    chans = _resolve_pairs(inst, pairs)
    roles = get_roles(inst)
    names = [n for pair in chans.values() for n in pair]
    bad = bad_masks(inst, names)
    pairing, n_sur = _surrogate_pairings(definition, null, geom, n_surrogates, min_shift_n,
                                         rng)
    seg_masks = _segment_windows(inst, list(segments or []), geom)
    # the whole recording, then each segment: the groups of windows tested
    groups = np.array([np.ones(geom.n_windows, bool)] + list(seg_masks.values()))
    lags_s = geom.lags / sfreq
    win_s = geom.win / sfreq
    blocks, block_size, block_gap = geom.block_of_windows(
        None if lead_block is None else _samples(lead_block, sfreq, "lead_block"))
    all_w = np.ones(geom.n_windows, bool)
    values, s_abs, s_sgn, s_cnt, wp = [], [], [], [], []
    sessions, seg_rows, episodes = [], [], []
    # the lead test's sign flips are surrogates too: none without a null
    stat_kw = dict(roles=roles, lags_s=lags_s, alpha=alpha, ci=ci,
                   n_sur=n_surrogates if null is not None else 0, n_boot=n_boot, rng=rng)
    for mi, (mod, (ch_a, ch_b)) in enumerate(chans.items()):
        a = _series(inst, ch_a, bad[2 * mi], max_missing)
        b = _series(inst, ch_b, bad[2 * mi + 1], max_missing)
        extra = {}
        if definition == "wcc":
            if pairing.ndim == 1:  # circular shifts (the first is 0, the observed pairing)
                base = geom.starts[:, None] + pairing[None, :]
            else:  # window pairings: B's block of the paired window
                base = geom.starts[pairing.T]
            red = _run_wcc(bk, a, b, geom, base, fisher_z, max_missing, groups)
        elif definition == "rmea":
            red = _run_rmea(bk, a, b, geom, pairing, fisher_z, max_missing, groups)
        else:
            red, table = _run_susy(bk, a, b, geom, pairing, fisher_z, groups)
            extra, _ = _susy_summary(table, lags_s)
        obs = red.obs
        obs_abs = np.abs(obs)
        with _quiet():
            d = (np.nanmean(obs_abs[:, geom.lags > 0], axis=1)
                 - np.nanmean(obs_abs[:, geom.lags < 0], axis=1)) if geom.L else \
                np.full(geom.n_windows, np.nan)
        n_missing = int((~np.isfinite(obs).any(axis=1)).sum())
        if n_missing:
            warn(f"{mod}: {n_missing} of {geom.n_windows} windows are missing (more than "
                 f"{100 * max_missing:g} % of a person's samples missing, or a flat series "
                 "within the window); they are left out of every statistic.")
        row = dict(modality=mod, ch_a=ch_a, ch_b=ch_b, role_a=roles[0], role_b=roles[1],
                   definition=definition)
        row.update(_stats_over(all_w, red, d, obs_abs, blocks, group=0, where=mod, **stat_kw))
        disp = obs_abs if absolute else obs
        row["grand_average"] = float(np.nanmean(disp)) if np.isfinite(disp).any() else np.nan
        row["n_windows_missing"] = n_missing
        row.update(extra)
        sessions.append(row)
        for gi, (name, mask) in enumerate(seg_masks.items(), start=1):
            srow = dict(modality=mod, segment=name, ch_a=ch_a, ch_b=ch_b)
            if mask.any():
                srow.update(_stats_over(mask, red, d, obs_abs, blocks, group=gi, **stat_kw))
            else:
                srow.update(n_windows=0, n_windows_valid=0)
            seg_rows.append(srow)
        p_w = np.full(geom.n_windows, np.nan)
        if n_sur and np.isfinite(obs).any():
            with np.errstate(invalid="ignore", divide="ignore"):
                t_null = red.sum_abs / red.count
            with _quiet():
                t_obs = np.nanmean(obs_abs, axis=1)
            with _quiet():
                p_w = maxstat_p(t_obs, t_null, tail="greater", standardize="z")
            episodes += _episodes(mod, p_w, geom, obs_abs, obs, alpha, roles, lags_s, win_s)
        values.append(obs)
        s_abs.append(red.sum_abs)
        s_sgn.append(red.sum_sgn)
        s_cnt.append(red.count)
        wp.append(p_w)
    params = dict(definition=definition, window=float(window), lag=float(lag),
                  step=float(geom.inc / sfreq), sfreq=float(sfreq), absolute=bool(absolute),
                  fisher_z=bool(fisher_z), max_missing=float(max_missing), null=null,
                  n_surrogates=int(n_sur), min_shift=float(min_shift_n / sfreq),
                  alpha=float(alpha), ci=float(ci), n_boot=int(n_boot),
                  segments=list(segments or []), n_times=int(inst.n_times),
                  window_span=float(geom.span / sfreq),
                  block_size=block_size, block_gap=block_gap,
                  backend=bk.name)
    logger.info(f"Lagged synchrony ({definition}): {len(chans)} modalities, "
                f"{geom.n_windows} windows x {len(geom.lags)} lags, {n_sur} surrogates.")
    return LaggedSyncResult(
        roles=roles, modalities=list(chans), channels=chans, sessions=sessions,
        segments=seg_rows, episodes=episodes, params=params, lags=lags_s,
        window_starts=geom.starts / sfreq, values=np.array(values),
        null_sum_abs=np.array(s_abs), null_sum_signed=np.array(s_sgn),
        null_count=np.array(s_cnt), window_p=np.array(wp),
    )


def _observed(definition, a, b, geom, fisher_z, max_missing, bk):
    """Observed window x lag values of one pair (no surrogates)."""
    ident = np.arange(geom.n_windows)[None, :]
    if definition == "wcc":
        return _run_wcc(bk, a, b, geom, geom.starts[:, None], fisher_z, max_missing).obs
    if definition == "rmea":
        return _run_rmea(bk, a, b, geom, ident, fisher_z, max_missing).obs
    return _run_susy(bk, a, b, geom, ident, fisher_z)[0].obs


@verbose
@fill_doc
def lagged_pseudo_dyads(raws, pairs=None, *, lag, window, step=None, definition="wcc",
                        keep_roles=True, n_pseudo=None, fisher_z=True, max_missing=0.5,
                        n_permutations=5000, seed=None, backend="auto", verbose=None):
    """Real dyads against pseudo-dyads (people who never interacted) across a study.

    For every real dyad and every pseudo-dyad -- the first role of dyad *i* with the second
    role of dyad *j* (*i* != *j*; ``keep_roles=False``: any two people of different dyads,
    as rMEA's ``shuffle``) -- the grand mean of :math:`|z|` over windows and lags is
    computed with the same definition and parameters, each pair on the stretch both
    recordings cover (the shorter length, as rMEA's ``shuffle`` pairs series).

    Parameters
    ----------
    raws : list of DyadRaw
        The study's dyads (one recording each), same roles and sampling rate.
    pairs, lag, window, step, definition, fisher_z, max_missing
        As in :func:`lagged_sync`.
    keep_roles : bool
        Pair only the first role of one dyad with the second role of another.
    n_pseudo : int | None
        Random subset of pseudo-dyads; ``None``: all of them.
    n_permutations : int
        Permutations of the group test (:func:`hyperinsync.stats.permutation_test`).
    %(seed)s
    %(backend)s
    %(verbose)s

    Returns
    -------
    result : dict
        ``dyads``: a table, one row per modality and real dyad: ``sync`` (real), the
        pseudo-dyads' ``pseudo_mean`` and ``pseudo_sd``, the SUSY-style ``effect_size``
        :math:`(\\text{real} - \\text{mean}) / \\text{SD}`, and ``p`` (the share of
        pseudo-dyads at least as synchronous, :math:`(b + 1)/(N + 1)`). ``group``: one row per
        modality: mean real and pseudo synchrony, Cohen's d of real vs pseudo (rMEA's
        comparison) and a permutation p-value of the difference (one-sided: real greater;
        pseudo-dyads share people, so treat it as descriptive when they are few).
        ``pseudo``: every pseudo-dyad's value (``person_a``, ``person_b`` as ``'<dyad
        index>:<role>'``). ``params``.
    """
    from ..stats import permutation_test

    _validate_type(raws, (list, tuple), "raws")
    if len(raws) < 2:
        raise ValueError("Pseudo-dyads need at least 2 dyads.")
    _check_option("definition", definition, DEFINITIONS)
    bk = get_backend(backend)
    rng = check_seed(seed)
    roles = get_roles(raws[0])
    sfreq = raws[0].info["sfreq"]
    for k, raw in enumerate(raws):
        _validate_type(raw, mne.io.BaseRaw, f"raws[{k}]", "Raw")
        if get_roles(raw) != roles or raw.info["sfreq"] != sfreq:
            raise ValueError(
                f"raws[{k}] has roles {get_roles(raw)} at {raw.info['sfreq']:g} Hz; the first "
                f"has {roles} at {sfreq:g} Hz: all dyads need the same roles and rate."
            )
    chans = [_resolve_pairs(raw, pairs) for raw in raws]
    mods = list(chans[0])
    for k, c in enumerate(chans):
        if list(c) != mods:
            raise ValueError(f"raws[{k}] has modalities {list(c)}, the first {mods}.")
    n = len(raws)
    people = [(d, r) for d in range(n) for r in (0, 1)]
    if keep_roles:
        combos = [((i, 0), (j, 1)) for i in range(n) for j in range(n) if i != j]
    else:
        combos = [(p, q) for x, p in enumerate(people) for q in people[x + 1:] if p[0] != q[0]]
    if n_pseudo is not None and n_pseudo < len(combos):
        combos = [combos[i] for i in np.sort(rng.choice(len(combos), n_pseudo, replace=False))]
    dyad_rows, group_rows, pseudo_rows = [], [], []
    for mod in mods:
        series = {}
        for d, raw in enumerate(raws):
            names = list(chans[d][mod])
            bad = bad_masks(raw, names)
            for r in (0, 1):
                series[(d, r)] = _series(raw, names[r], bad[r], max_missing)

        def value(p, q):
            a, b = series[p], series[q]
            m = min(len(a), len(b))
            geom = _Geometry(definition, sfreq, m, window, lag, step)
            with _quiet():
                obs = _observed(definition, a[:m], b[:m], geom, fisher_z, max_missing, bk)
            return float(np.nanmean(np.abs(obs))) if np.isfinite(obs).any() else np.nan

        real = np.array([value((d, 0), (d, 1)) for d in range(n)])
        pseudo = np.array([value(p, q) for p, q in combos])
        for (p, q), v in zip(combos, pseudo):
            pseudo_rows.append(dict(modality=mod, person_a=f"{p[0]}:{roles[p[1]]}",
                                    person_b=f"{q[0]}:{roles[q[1]]}", sync=v))
        ps = pseudo[np.isfinite(pseudo)]
        for d in range(n):
            p, m, s, es = _surrogate_test(real[d], ps, "greater")
            dyad_rows.append(dict(modality=mod, dyad=d, sync=real[d], pseudo_mean=m,
                                  pseudo_sd=s, effect_size=es, p=p, n_pseudo=len(ps)))
        ok = real[np.isfinite(real)]
        test = permutation_test(ok, ps, n_permutations=n_permutations, seed=rng,
                                tail="greater")
        group_rows.append(dict(modality=mod, n_dyads=len(ok), n_pseudo=len(ps),
                               real_mean=float(ok.mean()), pseudo_mean=float(ps.mean()),
                               cohens_d=test["d"], p=test["p"]))
    params = dict(definition=definition, lag=float(lag), window=float(window),
                  step=None if step is None else float(step), keep_roles=bool(keep_roles),
                  n_pseudo=len(combos), fisher_z=bool(fisher_z), roles=list(roles))
    logger.info(f"Pseudo-dyads: {n} dyads, {len(combos)} pseudo-dyads, {len(mods)} "
                "modalities.")
    return dict(dyads=as_table(dyad_rows), group=as_table(group_rows),
                pseudo=as_table(pseudo_rows), params=params)
