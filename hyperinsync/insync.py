r"""In-Sync model findings: Level 1 windows, Level 2 segments, Level 3 sessions.

The In-Sync model of psychotherapy (Koole & Tschacher, 2016) describes synchrony on three
time scales. This module turns a dyad's recording (a :class:`~hyperinsync.dyad.DyadRaw` or any
MNE ``Raw`` whose channel names are ``'<role>:<channel>'``) into findings on each:

- **Level 1, phasic (0.3-10 s)** -- :func:`level1`: sliding-window synchrony per band and ROI
  pair, each window tested against a window-level circular-shift null; runs of significant
  windows become *episodes* (``mne.Annotations`` described ``insync/L1/<band>/<roiA>-<roiB>``)
  with their lead-lag and phase relation.
- **Level 2, tonic (10 s to ~1 h)** -- :func:`level2`: synchrony per annotated segment (e.g.
  ``rest_pre``, ``session``, ``rest_post``) and per fixed block, with surrogate z and p,
  changes between segments, and (:func:`correlate_with_questionnaire`) links to per-dyad
  questionnaire scores across a study. Significant segments are annotated
  ``insync/L2/<band>/<roiA>-<roiB>``.
- **Level 3, chronic (weeks to years)** -- :func:`level3`: per-session synchrony of each dyad,
  its trend per session and per week with a permutation test of session order.

:func:`annotate` adds the annotations of any results to the recording; they are ordinary MNE
annotations, so they show in ``raw.plot()`` and survive ``raw.save`` and
:func:`hyperinsync.dyad.read_dyad_raw`.

Window sums (Level 1 and 2)
---------------------------
Band analytic signals are computed once per person on the continuous recording
(:func:`hyperinsync.spectral.band_analytic`, exactly decimated). For channel pair
:math:`(i, j)` the measures need only sums over a window :math:`W` of

.. math:: S_{ij} = \sum_{t \in W} x_i(t)\,\bar y_j(t), \qquad
          P_i = \sum_{t \in W} |x_i(t)|^2, \qquad Q_j = \sum_{t \in W} |y_j(t)|^2,

with :math:`x, y` the unit phasors :math:`z/|z|` for PLV and the analytic signals themselves
for coherence. Then :math:`\mathrm{PLV}_{ij} = |S_{ij}|/n_W`,
:math:`\mathrm{coh}_{ij} = |S_{ij}|/\sqrt{P_i Q_j}` and
:math:`\mathrm{imcoh}_{ij} = |\mathrm{Im}\,S_{ij}|/\sqrt{P_i Q_j}` (the ``'within'``
convention of :mod:`hyperinsync.measures`). Windows start every ``step`` and last ``window``,
so both are multiples of a block of :math:`g = \gcd(n_\mathrm{window}, n_\mathrm{step})`
decimated samples. The block sums of all channel pairs are one batched matrix product
(``(n_blocks, n_a, g) @ (n_blocks, g, n_b)``); their cumulative sum :math:`C` gives every
window as :math:`C[k + w] - C[k]` -- O(1) per window, no loop over windows or pairs. Channel
pair values are then averaged over the channel pairs of each ROI pair.
"""

from __future__ import annotations

import datetime as _dt
import math
from concurrent.futures import ThreadPoolExecutor
from math import gcd

import mne
import numpy as np

from . import stats
from ._utils import (
    ProgressBar,
    _check_option,
    _validate_type,
    as_table,
    check_bands,
    check_n_jobs,
    check_seed,
    fill_doc,
    logger,
    verbose,
    warn,
)
from .backend import get_backend
from .dyad import ROLE_SEP, split_ch_name
from .rois import resolve_rois
from .measures import _unit, phase_relation
from .spectral import band_analytic
from .surrogates import _resolve_tails, _shuffle_orders
from .sync import (
    _annotation_spans,
    _bad_mask,
    _check_finite,
    _data_picks,
    _epoch_decims,
    _refuse_flat,
)

LEVEL1_RANGE = (0.3, 10.0)  # s, the phasic time scale of the In-Sync model
WINDOW_MEASURES = ("plv", "coh", "imcoh")
CORRECTIONS = ("maxstat", "none")
L2_NULLS = ("circular_shift", "epoch_shuffle")
L2_CORRECTIONS = ("fdr", "maxstat")
PREFIX = "insync"


# --------------------------------------------------------------------------------------------
# small helpers


def _description(level, band, roi_a, roi_b):
    return f"{PREFIX}/L{level}/{band}/{roi_a}-{roi_b}"


def _check_positive(value, name):
    _validate_type(value, "numeric", name)
    if not value > 0:
        raise ValueError(f"{name} must be positive, got {value}.")
    return float(value)


def _check_n_null(n_null, alpha):
    _validate_type(n_null, "int", "n_null")
    # the (b + 1) / (N + 1) p-value cannot reach alpha with fewer surrogates
    need = int(np.ceil(1.0 / alpha)) - 1
    if n_null < max(need, 2):
        raise ValueError(
            f"n_null={n_null} surrogates cannot give p <= alpha={alpha} (p >= 1/(N+1)): "
            f"use at least {max(need, 2)}, e.g. 200."
        )
    return int(n_null)


def _orig_time_str(orig_time):
    return None if orig_time is None else orig_time.isoformat()


# --------------------------------------------------------------------------------------------
# signals: ROI channels, band analytic signals, bad samples


class _Signals:
    """Decimated band analytic signals of both people's ROI channels (on the backend)."""

    def __init__(self, raw, bands, rois, n_win, n_step, decim, reject, precision, bk,
                 n_jobs, max_bytes):
        self.sfreq = raw.info["sfreq"]
        self.first_time = raw.first_time
        self.orig_time = raw.annotations.orig_time
        self.roles, (pa, pb) = _data_picks(raw, None)
        self.roi_chs = {}  # role -> {roi: [dyad channel names]}
        self.idx = []  # per role: indices (into that role's signals) per ROI
        self.names = []  # per role: dyad channel names of the signals
        for role, picks in zip(self.roles, (pa, pb)):
            plain = [split_ch_name(raw.ch_names[i])[1] for i in picks]
            if rois is None:  # every channel is its own "ROI"
                groups = {p: [p] for p in plain}
            else:
                groups = resolve_rois(rois, plain, verbose=False)
            bad = [n for n in groups if "/" in n or n == ""]
            if bad:
                raise ValueError(
                    f"ROI names {bad} contain '/', which separates the fields of the "
                    "annotation descriptions insync/L<n>/<band>/<roiA>-<roiB>: rename them."
                )
            used = sorted({plain.index(c) for chs in groups.values() for c in chs})
            names = [f"{role}{ROLE_SEP}{plain[i]}" for i in used]
            pos = {n: k for k, n in enumerate(names)}
            self.roi_chs[role] = {
                r: [f"{role}{ROLE_SEP}{c}" for c in chs] for r, chs in groups.items()
            }
            self.idx.append(
                [np.array([pos[c] for c in chs]) for chs in self.roi_chs[role].values()]
            )
            self.names.append(names)
        self.roi_names = [list(self.roi_chs[r]) for r in self.roles]
        self.bands = bands
        self.bk = bk
        # 'fft' band signals: the Morlet arguments do not apply
        self.decim = _epoch_decims(bands, "fft", self.sfreq, decim, n_win, n_step or n_win,
                                   7.0, 1.0, what="window")
        ch_index = {n: i for i, n in enumerate(raw.ch_names)}
        # samples inside BAD_ annotations (both people share one time axis)
        self.bad = _bad_mask(raw, raw.n_times) if reject else np.zeros(raw.n_times, bool)
        self.z = {b: [] for b in bands}  # band -> [za (n_a, T), zb (n_b, T)]
        for names in self.names:
            data = raw.get_data(picks=[ch_index[n] for n in names])
            # NaN inside rejected spans is bridged for the filter; flat channels refused
            data = _check_finite(data, names, self.bad if reject else None, sfreq=self.sfreq)
            _refuse_flat(data, names, self.bad)
            # one forward FFT per channel serves every band
            sigs = band_analytic(
                data, self.sfreq, bands, decim=self.decim, precision=precision, backend=bk,
                n_jobs=n_jobs, max_bytes=max_bytes,
            )
            for b, sig in sigs.items():
                self.z[b].append(sig.data[:, 0])  # one frequency for the 'fft' method
            del data

    def pair_matrix(self, xp):
        """(n_roi_a * n_roi_b, n_a * n_b): ROI-pair means of flattened channel-pair values."""
        mats = []
        for side in (0, 1):
            m = np.zeros((len(self.idx[side]), len(self.names[side])))
            for r, ii in enumerate(self.idx[side]):
                m[r, ii] = 1.0 / len(ii)
            mats.append(m)
        return xp.asarray(np.kron(mats[0], mats[1]))


# --------------------------------------------------------------------------------------------
# window sums


def _blocks(z, g, xp):
    """(n_ch, T) -> contiguous (n_blocks, n_ch, g), the tail that fills no block dropped."""
    n_blk = z.shape[-1] // g
    return xp.ascontiguousarray(
        z[:, : n_blk * g].reshape(z.shape[0], n_blk, g).transpose(1, 0, 2)
    )


def _window_sum(blk, w, h, n_win, xp):
    """Sums over windows of ``w`` blocks every ``h`` blocks, by a cumulative sum (float64)."""
    wide = xp.complex128 if xp.iscomplexobj(blk) else xp.float64
    c = xp.zeros((blk.shape[0] + 1,) + blk.shape[1:], dtype=wide)
    xp.cumsum(blk, axis=0, dtype=wide, out=c[1:])
    last = (n_win - 1) * h
    # strided slices, not fancy indexing: no gathered copies of the cumulative sums
    return c[w : w + last + 1 : h] - c[: last + 1 : h]


class _Geometry:
    """Windows of ``w`` blocks of ``g`` samples, every ``h`` blocks; ``n`` windows."""

    def __init__(self, g, w, h, n, n_samples):
        self.g, self.w, self.h, self.n = g, w, h, n
        self.n_blocks = n_samples // g


def _roi_series(a_blk, zb, geo, measure, mab, xp, max_bytes, pa_win=None):
    """ROI-pair values (n_windows, n_roi_a * n_roi_b) of A's blocks against signal ``zb``.

    ``a_blk`` are the conjugated blocks of A (:func:`_prepare_a`); ``zb`` is B's signal
    (n_b, T), unit phasors for PLV, shifted as wanted. The block products are
    :math:`\\bar S`, the conjugate of the cross sums, which changes neither :math:`|S|` nor
    :math:`|\\mathrm{Im}\\,S|` and lets B enter the matrix product as a strided view (no
    conjugated copy per surrogate). ``mab`` (n_roi_a * n_roi_b, n_a * n_b) averages channel
    pairs into ROI pairs.
    """
    n_blk, n_a, g = a_blk.shape
    n_b = zb.shape[0]
    b = zb[:, : n_blk * g].reshape(n_b, n_blk, g).transpose(1, 2, 0)  # (n_blk, g, n_b)
    if measure != "plv":
        pb_win = _window_sum((b.real**2 + b.imag**2).sum(axis=1), geo.w, geo.h, geo.n, xp)
    out = xp.zeros((geo.n, mab.shape[0]))
    # chunk over A channels: the cumulative sums hold n_blocks x chunk x n_b complex128
    chunk = int(max(1, min(n_a, max_bytes // max(1, 48 * (n_blk + 1) * n_b))))
    for a0 in range(0, n_a, chunk):
        a1 = min(n_a, a0 + chunk)
        s = _window_sum(xp.matmul(a_blk[:, a0:a1], b), geo.w, geo.h, geo.n, xp)
        if measure == "plv":
            v = xp.abs(s) / (geo.w * geo.g)
        else:
            den = xp.sqrt(pa_win[:, a0:a1, None] * pb_win[:, None, :])
            den = xp.where(den == 0, 1, den)
            v = (xp.abs(s) if measure == "coh" else xp.abs(s.imag)) / den
        del s
        # one matrix product averages all windows' channel pairs into ROI pairs
        out += v.reshape(geo.n, -1) @ mab[:, a0 * n_b : a1 * n_b].T
    return out


class _PairSeries:
    """ROI-pair window values of one band: A's signal against B's, shifted or permuted.

    Holds A's conjugated blocks and window powers, computed once; each call takes a version
    of B's signal (same span) and returns host values ``(n_windows, n_roi_a, n_roi_b)``.
    """

    def __init__(self, sig, band, measure, geo, span, max_bytes):
        xp = sig.bk.xp
        za, zb = (z[:, span] for z in sig.z[band])
        if measure == "plv":
            za, zb = _unit(za), _unit(zb)
        self.zb, self.geo, self.measure, self.max_bytes = zb, geo, measure, max_bytes
        self.bk, self.xp = sig.bk, xp
        self.a_blk = _blocks(za, geo.g, xp).conj()
        self.pa = None
        if measure != "plv":
            a2 = (self.a_blk.real**2 + self.a_blk.imag**2).sum(-1)
            self.pa = _window_sum(a2, geo.w, geo.h, geo.n, xp)
        self.mab = sig.pair_matrix(xp)
        self.shape = (geo.n, len(sig.idx[0]), len(sig.idx[1]))

    def __call__(self, zb=None):
        v = _roi_series(self.a_blk, self.zb if zb is None else zb, self.geo, self.measure,
                        self.mab, self.xp, self.max_bytes, self.pa)
        return self.bk.to_numpy(v).reshape(self.shape)


def _bad_windows(bad_dec, shift, geo):
    """Windows touching a bad sample of A or of B shifted by ``shift`` (bool, host)."""
    mask = bad_dec | np.roll(bad_dec, shift)
    n = geo.n_blocks
    blk = mask[: n * geo.g].reshape(n, geo.g).any(axis=1).astype(float)
    c = np.concatenate([[0.0], np.cumsum(blk)])
    k = np.arange(geo.n) * geo.h
    return (c[k + geo.w] - c[k]) > 0


# --------------------------------------------------------------------------------------------
# Level 1


class _WindowResult:
    """What Level 1 and Level 2 results share: labels, parameters, serialisation."""

    _ARRAYS = ()
    _LISTS = ()
    _LEVEL = 0

    def __init__(self, *, bands, roles, roi_names, roi_channels, measure, params, **fields):
        for key in self._ARRAYS:
            setattr(self, key, np.asarray(fields.pop(key), float))
        for key in self._LISTS:
            setattr(self, key, [dict(r) for r in fields.pop(key)])
        if fields:
            raise TypeError(f"Unexpected fields {sorted(fields)} for {type(self).__name__}.")
        self.bands = {k: tuple(float(x) for x in v) for k, v in dict(bands).items()}
        self.roles = tuple(roles)
        self.roi_names = [list(r) for r in roi_names]
        self.roi_channels = {k: {r: list(c) for r, c in v.items()}
                             for k, v in dict(roi_channels).items()}
        self.measure = measure
        self.params = dict(params)

    def _annotated_rows(self):
        raise NotImplementedError

    @property
    def annotations(self):
        """The findings as :class:`mne.Annotations` (onsets from the first sample).

        Descriptions are ``insync/L<level>/<band>/<roiA>-<roiB>``; each annotation names the
        ROI channels of both people (``ch_names``). Add them to the recording with
        :func:`annotate`.
        """
        onset, duration, desc, chs = [], [], [], []
        first, second = (self.roi_channels[r] for r in self.roles)
        for r in self._annotated_rows():
            onset.append(r["onset"])
            duration.append(r["duration"])
            desc.append(_description(self._LEVEL, r["band"], r["roi_a"], r["roi_b"]))
            chs.append(first[r["roi_a"]] + second[r["roi_b"]])
        return mne.Annotations(onset, duration, desc, orig_time=None, ch_names=chs)

    def _index(self, band, roi_a, roi_b):
        for what, val, opts in (("band", band, list(self.bands)),
                                ("roi_a", roi_a, self.roi_names[0]),
                                ("roi_b", roi_b, self.roi_names[1])):
            if val not in opts:
                raise ValueError(f"{what} {val!r} is not in this result: {opts}.")
        return (list(self.bands).index(band), self.roi_names[0].index(roi_a),
                self.roi_names[1].index(roi_b))

    def to_dict(self):
        """Plain arrays and JSON-able attributes (see :meth:`from_dict`)."""
        out = {k: getattr(self, k) for k in self._ARRAYS + self._LISTS}
        out.update(
            bands={k: list(v) for k, v in self.bands.items()}, roles=list(self.roles),
            roi_names=self.roi_names, roi_channels=self.roi_channels, measure=self.measure,
            params=self.params,
        )
        return out

    @classmethod
    def from_dict(cls, d):
        """Rebuild a result from :meth:`to_dict` output."""
        return cls(**dict(d))


class InSyncLevel1(_WindowResult):
    """In-Sync Level 1 (phasic) result: sliding-window synchrony and its episodes.

    Made by :func:`level1`; rebuild from :meth:`to_dict` output with :meth:`from_dict`.

    Attributes
    ----------
    times : ndarray, shape (n_windows,)
        Window centres in seconds from the first sample of the recording.
    values : ndarray, shape (n_bands, n_roi_a, n_roi_b, n_windows)
        Synchrony per window (NaN for windows touching a ``BAD_`` annotation).
    p_values : ndarray, shape like ``values``
        Per-window p-values (family-wise corrected over windows with ``'maxstat'``).
    threshold : ndarray, shape (n_bands, n_roi_a, n_roi_b)
        A window is significant when its value exceeds this (equivalently ``p <= alpha``).
    null_max : ndarray, shape (n_bands, n_roi_a, n_roi_b, n_null)
        Maximum over windows of each circularly shifted surrogate series.
    null_mean, null_sd : ndarray, shape (n_bands, n_roi_a, n_roi_b)
        Mean and SD of non-overlapping surrogate windows (the chance level of one window).
    episodes : list of dict
        One per episode; see :meth:`to_table`.
    bands, roles, roi_names, roi_channels, measure, params
        What the values are: band edges, the two roles, ROI labels per role, their dyad
        channel names, the measure and the analysis parameters.
    """

    _ARRAYS = ("times", "values", "p_values", "threshold", "null_max", "null_mean",
               "null_sd")
    _LISTS = ("episodes",)
    _LEVEL = 1

    def __repr__(self):
        return (
            f"<InSyncLevel1 | {self.measure} | {', '.join(self.bands)} | "
            f"{len(self.roi_names[0])} x {len(self.roi_names[1])} ROIs | "
            f"{len(self.times)} windows of {self.params['window']:g} s | "
            f"{len(self.episodes)} episode(s)>"
        )

    def get_series(self, band, roi_a, roi_b):
        """Return the window values of one band and ROI pair.

        Parameters
        ----------
        band, roi_a, roi_b : str
            Band name and ROI labels of the first and second role.

        Returns
        -------
        times : ndarray
            Window centres (s).
        values : ndarray
            Window values.
        """
        bi, ri, ci = self._index(band, roi_a, roi_b)
        return self.times, self.values[bi, ri, ci]

    def to_table(self):
        """Episodes, one row each.

        Columns: ``band``, ``roi_a``, ``roi_b``, ``onset`` and ``duration`` (s from the first
        sample), ``peak`` (highest window value), ``peak_time`` (its window centre), ``z``
        (the peak standardised by the surrogate windows, :func:`hyperinsync.stats.zscore`),
        ``p`` (the peak's corrected p), ``lag`` (s; positive: the first role leads),
        ``leader`` (``'<role>-led'`` or ``'simultaneous'``), ``lag_plv`` (PLV at that lag),
        ``phase_diff`` (mean phase of the first role minus the second at that lag, radians in
        (-pi, pi]) and ``phase`` (``'in-phase'`` within pi/4 of 0, ``'anti-phase'`` within
        pi/4 of pi, else ``'lagged'``).

        Returns
        -------
        table : pandas.DataFrame | list of dict
        """
        return as_table(self.episodes)

    def _annotated_rows(self):
        return self.episodes


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


def _null_shifts(rng, n_samples, min_shift, n_null):
    """Distinct circular lags in [min_shift, n_samples - min_shift] (decimated samples)."""
    lo, hi = min_shift, n_samples - min_shift  # the callers check that hi >= lo
    n_opts = hi - lo + 1
    if n_opts >= n_null:
        return lo + rng.choice(n_opts, n_null, replace=False)
    return lo + rng.integers(0, n_opts, n_null)


def _episode_bounds(times, vals, sig, base, step, window, t_end):
    """Episodes of one series: supra-threshold runs, bounded at half height.

    A run of significant windows is a detection. Its height :math:`P` is the median of the
    run's values (robust to single noisy windows). A window whose fraction :math:`f` overlaps
    a coupled stretch sums :math:`f n` phase-locked terms coherently and :math:`(1 - f) n`
    independent ones incoherently, so its value is about
    :math:`\\sqrt{f^2 P^2 + (1 - f) B^2}` with :math:`B` the chance level (mean of surrogate
    windows). The boundaries are where the series crosses the value of a half-coupled
    window, :math:`\\sqrt{P^2/4 + B^2/2}`, interpolated between window centres: there the
    window centre sits on the stretch's edge. Returns ``[onset, offset, peak index]`` per run.
    """
    out = []
    v = np.where(np.isfinite(vals), vals, -np.inf)
    n = len(v)
    padded = np.concatenate([[0], sig.astype(int), [0]])
    starts = np.flatnonzero(np.diff(padded) == 1)
    stops = np.flatnonzero(np.diff(padded) == -1) - 1  # last window of the run
    for s0, s1 in zip(starts, stops):
        pk = s0 + int(np.argmax(v[s0 : s1 + 1]))
        height = np.median(v[s0 : s1 + 1])
        half = np.sqrt(0.25 * height**2 + 0.5 * base**2)
        i = s0
        if v[i] >= half:  # walk out of the run while still above half height
            while i > 0 and v[i - 1] >= half:
                i -= 1
        else:  # or into it until half height is reached
            while v[i] < half:
                i += 1
        if i == 0:
            onset = max(0.0, times[0] - window / 2.0)
        else:
            onset = times[i - 1] + step * (half - v[i - 1]) / (v[i] - v[i - 1])
        j = s1
        if v[j] >= half:
            while j < n - 1 and v[j + 1] >= half:
                j += 1
        else:
            while v[j] < half:
                j -= 1
        if j == n - 1:
            offset = min(t_end, times[-1] + window / 2.0)
        else:
            offset = times[j] + step * (v[j] - half) / (v[j] - v[j + 1])
        out.append([onset, offset, pk])
    return out


def _merge_episodes(eps, vals, merge_gap, min_duration):
    """Merge episodes closer than ``merge_gap`` (or overlapping), drop short ones."""
    eps = sorted(eps)
    merged = []
    for on, off, pk in eps:
        if merged and on - merged[-1][1] < merge_gap:
            last = merged[-1]
            last[1] = max(last[1], off)
            if vals[pk] > vals[last[2]]:
                last[2] = pk
        else:
            merged.append([on, off, pk])
    return [m for m in merged if m[1] - m[0] >= min_duration]


def _lead_lag(ua, ub, i0, i1, k_max, sfreq_dec, roles, max_bytes):
    """Lag (decimated samples) maximising the ROI-mean PLV of A(t) with B(t + lag).

    ``ua``, ``ub``: unit phasors of the two ROIs (host arrays, (n, T)). Returns the lag in
    s, the PLV there and the phase of the summed cross term (A minus B).
    """
    n_t = ua.shape[1]
    s0, s1 = max(i0, k_max), min(i1, n_t - k_max)
    if s1 - s0 < 2:  # the episode lies within max_lag of the recording's ends
        s0, s1 = i0, i1
        k_max = min(k_max, s0, n_t - s1)
    n = s1 - s0
    a = ua[:, s0:s1]
    lags = np.arange(-k_max, k_max + 1)
    b_ext = ub[:, s0 - k_max : s1 + k_max]
    # (n_b, n_lags, n): B(t + lag) for every lag, a strided view
    views = np.lib.stride_tricks.sliding_window_view(b_ext, n, axis=1)
    step = int(max(1, max_bytes // max(1, 16 * ub.shape[0] * n)))
    cross = np.empty((len(lags), ua.shape[0], ub.shape[0]), complex)
    for l0 in range(0, len(lags), step):
        bl = views[:, l0 : l0 + step].transpose(1, 0, 2)  # (lags, n_b, n)
        cross[l0 : l0 + step] = np.matmul(a[None], bl.conj().transpose(0, 2, 1))
    plv = np.abs(cross).mean(axis=(1, 2)) / n
    best = int(np.argmax(plv))
    total = cross.sum(axis=(1, 2))
    frac, phase = 0.0, float(np.angle(total[best]))
    if 0 < best < len(lags) - 1:
        # sub-sample peak by a parabola through the three highest points; the phase is
        # read at that lag (linear in the lag, as a pure delay turns it)
        y0, y1, y2 = plv[best - 1 : best + 2]
        curv = y0 - 2 * y1 + y2
        frac = float(0.5 * (y0 - y2) / curv) if curv < 0 else 0.0
        nb = best + (1 if frac > 0 else -1)
        turn = np.angle(total[nb] * np.conj(total[best]))
        phase = float(np.angle(np.exp(1j * (phase + abs(frac) * turn))))
    lag = (lags[best] + frac) / sfreq_dec
    resolution = 0.5 / sfreq_dec  # below half a sample, nobody demonstrably leads
    if lag >= resolution:
        leader = f"{roles[0]}-led"
    elif lag <= -resolution:
        leader = f"{roles[1]}-led"
    else:
        leader = "simultaneous"
    if abs(phase) <= np.pi / 4:
        label = "in-phase"
    elif abs(phase) >= 3 * np.pi / 4:
        label = "anti-phase"
    else:
        label = "lagged"
    return dict(lag=float(lag), leader=leader, lag_plv=float(plv[best]),
                phase_diff=phase, phase=label)


@verbose
@fill_doc
def level1(
    raw,
    bands=None,
    rois="default",
    *,
    measure="plv",
    window=6.0,
    step=0.5,
    n_null=200,
    min_shift=10.0,
    alpha=0.05,
    correction="maxstat",
    merge_gap=1.0,
    min_duration=None,
    lead_lag=True,
    max_lag=1.0,
    reject_by_annotation=True,
    decim="auto",
    precision="single",
    seed=None,
    backend="auto",
    n_jobs=1,
    max_bytes=256e6,
    verbose=None,
):
    r"""In-Sync Level 1 (phasic): synchrony episodes in sliding windows.

    For every band and ROI pair (first role's ROI x second role's ROI) the measure is computed
    in windows of ``window`` s every ``step`` s (per channel pair, then averaged over the ROI
    pair's channel pairs), by running sums (see the module docstring), and compared with a
    window-level null of the same window length.

    **Null.** Person B's band signals are circularly shifted by ``n_null`` random lags of at
    least ``min_shift`` s (and at most the recording length minus ``min_shift``) and the whole
    window series is recomputed for each lag. The shift keeps each person's spectrum and
    autocorrelation and destroys their alignment in time.

    **Correction over windows** (``correction='maxstat'``, default). A window series tests
    hundreds of overlapping windows. With the maximum statistic (Nichols & Holmes, 2002; via
    :func:`hyperinsync.stats.maxstat_p`) each surrogate series contributes its maximum over
    windows :math:`M_k`, and a window's corrected p-value is
    :math:`(1 + \#\{k: M_k \ge v\}) / (N + 1)`. Declaring windows with :math:`p \le \alpha`
    significant keeps the probability of *any* false episode in the series (one band and ROI
    pair) at :math:`\alpha`, with no assumption about the strong dependence of overlapping
    windows (which makes Bonferroni needlessly strict). The threshold is the value above
    which :math:`p \le \alpha`. The error rate is per band and ROI pair: with ``B`` bands and
    ``R`` ROI pairs, up to ``B * R * alpha`` series may show a false episode in a recording
    without coupling. ``correction='none'`` tests each window on its own against
    non-overlapping surrogate windows (:func:`hyperinsync.stats.p_value`), for exploration.

    **Episodes.** Runs of significant windows are detections. Each is bounded where the
    series crosses the value of a *half-coupled* window, interpolated between window
    centres: with :math:`P` the run's median value and :math:`B` the chance level (mean of
    surrogate windows), a window with a fraction :math:`f` of coupled samples sums those
    coherently and the rest incoherently, :math:`v(f) \approx \sqrt{f^2 P^2 + (1-f) B^2}`,
    so the crossing of :math:`v(1/2) = \sqrt{P^2/4 + B^2/2}` is where the window centre
    sits on the coupled stretch's edge. Onsets and offsets of episodes longer than
    ``window`` are thus resolved to about ``step`` (tested: within one step, durations
    within two, for 2 s windows every 0.5 s); an episode shorter than ``window`` appears
    about ``window`` long (the window is the time resolution). Episodes less than
    ``merge_gap`` s apart (or overlapping) are merged; those shorter than ``min_duration``
    are dropped. Each episode's ``z`` standardises its peak by the surrogate windows
    (:func:`hyperinsync.stats.zscore`) and ``p`` is the peak window's p-value.

    **Lead-lag.** Within each episode, the ROI-mean PLV of :math:`A(t)` with
    :math:`B(t + \tau)` is computed for every :math:`\tau` in ``[-max_lag, max_lag]`` in steps
    of one decimated sample (``1 / (sfreq / decim)`` s; 10 ms for alpha at 500 Hz). The
    maximising :math:`\tau > 0` means B follows A (``'<roleA>-led'``), :math:`\tau < 0` the
    reverse. The angle of the summed cross term at :math:`\tau` is the mean phase difference
    A - B: near 0 in-phase, near :math:`\pi` anti-phase.

    Parameters
    ----------
    raw : DyadRaw | mne.io.BaseRaw
        The dyad recording (channel names ``'<role>:<channel>'``); bad channels are skipped.
    %(bands)s
    %(rois)s
        ROIs are resolved per person; names must not contain ``'/'``.
    measure : 'plv' | 'coh' | 'imcoh'
        Phase-locking value, coherence or |imaginary coherence| within each window
        (:mod:`hyperinsync.measures`).
    window : float
        Window length in s, within the Level 1 range 0.3-10 s (default 6 s, the "social
        present") and at least two cycles of every band's lowest frequency.
    step : float
        Window step in s (at most ``window``).
    n_null : int
        Number of circular shifts (surrogates); at least ``1 / alpha - 1``.
    min_shift : float
        Smallest circular shift in s; the recording must be longer than twice this.
    alpha : float
        Significance level of windows.
    correction : 'maxstat' | 'none'
        Multiple-comparison correction over windows (see above).
    merge_gap : float
        Episodes closer than this (s) are merged.
    min_duration : float | None
        Episodes shorter than this (s) are dropped; ``None``: keep all.
    lead_lag : bool
        Estimate lag, leader and phase relation per episode.
    max_lag : float
        Largest lag searched (s).
    reject_by_annotation : bool
        Windows touching a ``BAD_`` annotation (of A, or of B at the surrogate's shift) get
        NaN and never count.
    decim : int | 'auto'
        Decimation of the analytic signals (must divide window and step in samples);
        ``'auto'`` keeps at least 4 samples per cycle of the band's top frequency.
    precision : 'single' | 'double'
        Precision of the analytic signals; sums accumulate in double precision.
    %(seed)s
    %(backend)s
    %(n_jobs)s
        Used for the FFTs and, with NumPy, as threads over the surrogates.
    max_bytes : float
        Approximate memory bound for one chunk of channel pairs.
    %(verbose)s

    Returns
    -------
    result : InSyncLevel1
        Window series, thresholds, episodes (``result.to_table()``) and their annotations
        (``result.annotations``; add them with :func:`annotate`).
    """
    _validate_type(raw, mne.io.BaseRaw, "raw", "Raw")
    _check_option("measure", measure, WINDOW_MEASURES)
    _check_option("correction", correction, CORRECTIONS)
    sfreq = raw.info["sfreq"]
    bands = check_bands(bands, sfreq)
    alpha = stats._check_alpha(alpha)
    n_null = _check_n_null(n_null, alpha)
    n_win, n_step = _check_window(window, step, bands, sfreq, raw.n_times)
    min_shift = _check_positive(min_shift, "min_shift")
    max_lag = _check_positive(max_lag, "max_lag")
    _validate_type(merge_gap, "numeric", "merge_gap")
    min_duration = 0.0 if min_duration is None else float(min_duration)
    if raw.n_times / sfreq <= 2 * min_shift + window:
        raise ValueError(
            f"The recording ({raw.n_times / sfreq:g} s) is too short for circular shifts of "
            f"at least min_shift={min_shift:g} s: it must be longer than 2 * min_shift + "
            f"window = {2 * min_shift + window:g} s. Use a smaller min_shift."
        )
    rng = check_seed(seed)
    bk = get_backend(backend)
    xp = bk.xp
    n_jobs = check_n_jobs(n_jobs)
    sig = _Signals(raw, bands, rois, n_win, n_step, decim, reject_by_annotation, precision,
                   bk, n_jobs, max_bytes)
    roles = sig.roles
    n_ra, n_rb = len(sig.roi_names[0]), len(sig.roi_names[1])
    n_windows = (raw.n_times - n_win) // n_step + 1
    times = (np.arange(n_windows) * n_step + n_win / 2.0) / sfreq
    t_end = raw.n_times / sfreq
    shape = (len(bands), n_ra, n_rb)
    values = np.full(shape + (n_windows,), np.nan)
    p_values = np.full_like(values, np.nan)
    threshold = np.empty(shape)
    null_max = np.empty(shape + (n_null,))
    null_mean, null_sd = np.empty(shape), np.empty(shape)
    episodes = []
    logger.info(
        f"In-Sync Level 1: {measure} in {', '.join(bands)}, {n_ra} x {n_rb} ROI pairs, "
        f"{n_windows} windows of {window:g} s every {step:g} s, {n_null} circular shifts"
    )
    for bi, band in enumerate(bands):
        q = sig.decim[band]
        g = gcd(n_win // q, n_step // q)
        n_dec = sig.z[band][0].shape[-1]
        geo = _Geometry(g, n_win // q // g, n_step // q // g, n_windows, n_dec)
        pairs = _PairSeries(sig, band, measure, geo, slice(None), max_bytes)
        bad_dec = sig.bad[::q][:n_dec]

        def series(shift):
            zs = None if shift == 0 else xp.roll(pairs.zb, int(shift), axis=-1)
            v = np.moveaxis(pairs(zs), 0, -1)  # (n_ra, n_rb, n_windows)
            if bad_dec.any():
                v[..., _bad_windows(bad_dec, int(shift), geo)] = np.nan
            return v

        obs = series(0)
        shifts = _null_shifts(rng, n_dec, int(np.ceil(min_shift * sfreq / q)), n_null)
        # non-overlapping windows of each surrogate series: the chance level of one window
        sub = slice(0, None, max(1, -(-geo.w // geo.h)))
        pooled = []

        def surrogate(shift):
            v = series(shift)
            return np.nanmax(v, axis=-1), v[..., sub]

        # NumPy releases the GIL in the heavy steps: surrogates run in n_jobs threads
        with ThreadPoolExecutor(n_jobs if bk.name == "numpy" else 1) as pool:
            done = pool.map(surrogate, shifts)
            for k, (vmax, vsub) in enumerate(
                ProgressBar(done, max_value=len(shifts), mesg=f"Level 1 null ({band})")
            ):
                null_max[bi, ..., k] = vmax
                pooled.append(vsub)
        pooled = np.concatenate(pooled, axis=-1)  # (n_ra, n_rb, n_pooled)
        pooled_first = np.moveaxis(pooled, -1, 0)
        null_mean[bi] = np.nanmean(pooled, axis=-1)
        null_sd[bi] = np.nanstd(pooled, axis=-1, ddof=1)
        values[bi] = obs
        for ri in range(n_ra):
            for ci in range(n_rb):
                nm = null_max[bi, ri, ci]
                if correction == "maxstat":
                    p = stats.maxstat_p(obs[ri, ci], nm[:, None])
                    ref = nm
                else:
                    p = stats.p_value(obs[ri, ci], pooled_first[:, ri, ci][:, None])
                    ref = pooled[ri, ci][np.isfinite(pooled[ri, ci])]
                p_values[bi, ri, ci] = p
                # p <= alpha  <=>  fewer than alpha * (N + 1) surrogates reach the value
                k_max = int(np.floor(alpha * (len(ref) + 1) + 1e-9)) - 1
                threshold[bi, ri, ci] = np.sort(ref)[::-1][k_max]
                sig_w = np.isfinite(p) & (p <= alpha)
                if not sig_w.any():
                    continue
                found = _episode_bounds(times, obs[ri, ci], sig_w, null_mean[bi, ri, ci],
                                        n_step / sfreq, n_win / sfreq, t_end)
                found = _merge_episodes(found, obs[ri, ci], float(merge_gap), min_duration)
                roi_a, roi_b = sig.roi_names[0][ri], sig.roi_names[1][ci]
                for on, off, pk in found:
                    peak = float(obs[ri, ci, pk])
                    row = dict(
                        band=band, roi_a=roi_a, roi_b=roi_b, onset=float(on),
                        duration=float(off - on), peak=peak, peak_time=float(times[pk]),
                        z=float(stats.zscore(peak, pooled_first[:, ri, ci])),
                        p=float(p[pk]),
                    )
                    if lead_lag:
                        za, zbb = sig.z[band]
                        ua = bk.to_numpy(_unit(za[sig.idx[0][ri]]))
                        ub = bk.to_numpy(_unit(zbb[sig.idx[1][ci]]))
                        row.update(_lead_lag(
                            ua, ub, int(round(on * sfreq / q)), int(round(off * sfreq / q)),
                            int(round(max_lag * sfreq / q)), sfreq / q, roles, max_bytes,
                        ))
                    episodes.append(row)
    episodes.sort(key=lambda e: (e["onset"], e["band"], e["roi_a"], e["roi_b"]))
    logger.info(f"In-Sync Level 1: {len(episodes)} episode(s)")
    params = dict(
        window=n_win / sfreq, step=n_step / sfreq, n_null=n_null, min_shift=min_shift,
        alpha=alpha, correction=correction, merge_gap=float(merge_gap),
        min_duration=min_duration, max_lag=max_lag, sfreq=sfreq,
        decim={b: int(q) for b, q in sig.decim.items()}, precision=precision,
        backend=bk.name, reject_by_annotation=bool(reject_by_annotation),
        first_time=float(sig.first_time), orig_time=_orig_time_str(sig.orig_time),
    )
    return InSyncLevel1(
        times=times, values=values, p_values=p_values, threshold=threshold,
        null_max=null_max, null_mean=null_mean, null_sd=null_sd, episodes=episodes,
        bands=bands, roles=roles, roi_names=sig.roi_names, roi_channels=sig.roi_chs,
        measure=measure, params=params,
    )


# --------------------------------------------------------------------------------------------
# Level 2


class InSyncLevel2(_WindowResult):
    """In-Sync Level 2 (tonic) result: synchrony per segment and block, and their changes.

    Made by :func:`level2`; rebuild from :meth:`to_dict` output with :meth:`from_dict`.

    Attributes
    ----------
    rows : list of dict
        One per segment (or block), band and ROI pair; see :meth:`to_table`.
    contrasts : list of dict
        One per contrast, band and ROI pair; see :meth:`contrast_table`.
    values : ndarray, shape (n_segments, n_bands, n_roi_a, n_roi_b)
        Observed synchrony (mean over the segment's clean epochs).
    null : ndarray, shape (n_segments, n_null, n_bands, n_roi_a, n_roi_b)
        Surrogate synchrony of each segment (NaN for a surrogate that keeps no clean
        epoch; such surrogates are left out of z and p).
    phase : ndarray, shape (n_segments, n_bands, n_roi_a, n_roi_b) | None
        Mean phase difference A - B in radians (angle of the summed unit-phasor cross
        products over the segment's clean epochs and the ROI pair's channel pairs).
    segments : list of dict
        ``name``, ``kind`` (``'segment'`` or ``'block'``), ``onset``, ``duration`` (s from the
        first sample), ``n_epochs`` (clean ones). Segments left out are listed in
        ``params['excluded']`` with the reason.
    bands, roles, roi_names, roi_channels, measure, params
        As in :class:`InSyncLevel1`.
    """

    _ARRAYS = ("values", "null")
    _LISTS = ("segments", "rows", "contrasts")
    _LEVEL = 2

    def __init__(self, *, phase=None, **fields):
        super().__init__(**fields)
        self.phase = None if phase is None else np.asarray(phase, float)

    def to_dict(self):
        """Plain arrays and JSON-able attributes (see :meth:`from_dict`)."""
        out = super().to_dict()
        if self.phase is not None:
            out["phase"] = self.phase
        return out

    def __repr__(self):
        return (
            f"<InSyncLevel2 | {self.measure} | {', '.join(self.bands)} | "
            f"{len(self.segments)} segment(s)/block(s) | {len(self.contrasts)} contrast row(s)>"
        )

    def get_value(self, segment, band, roi_a, roi_b):
        """Return the observed synchrony of one segment, band and ROI pair (a float).

        Parameters
        ----------
        segment : str
            Segment name (e.g. ``'rest_post'``) or block name (``'block001'``, ...).
        band, roi_a, roi_b : str
            Band and ROI labels of the first and second role.

        Returns
        -------
        value : float
        """
        names = [s["name"] for s in self.segments]
        if segment not in names:
            raise ValueError(f"segment {segment!r} is not in this result: {names}.")
        bi, ri, ci = self._index(band, roi_a, roi_b)
        return float(self.values[names.index(segment), bi, ri, ci])

    def to_table(self):
        """One row per segment (or block), band and ROI pair.

        Columns: ``kind``, ``segment``, ``onset``, ``duration``, ``n_epochs``, ``band``,
        ``roi_a``, ``roi_b``, ``value`` (mean synchrony over the segment's epochs),
        ``null_mean``, ``z`` (surrogate z, :func:`hyperinsync.stats.zscore`; also the
        effect size), ``tail``, ``p`` (:func:`hyperinsync.stats.p_value` with ``tail``),
        ``p_fdr`` (Benjamini-Hochberg over all rows), ``p_corrected`` (the ``correction``
        asked for: the standardised maximum statistic, or the same as ``p_fdr``),
        ``significant`` (``p_corrected <= alpha``), ``direction`` (``'above chance'`` or
        ``'below chance'``: the sign of z), ``phase_diff`` (mean phase difference A - B in
        radians) and ``phase`` (``'in-phase'``, ``'anti-phase'`` or ``'lagged'``,
        :func:`hyperinsync.measures.phase_relation`; meaningful where significant).

        Returns
        -------
        table : pandas.DataFrame | list of dict
        """
        return as_table(self.rows)

    def contrast_table(self):
        """One row per contrast (e.g. rest_post - rest_pre), band and ROI pair.

        Columns: ``contrast``, ``a``, ``b``, ``band``, ``roi_a``, ``roi_b``, ``diff``
        (value of ``a`` minus value of ``b``), ``z_null`` and ``p_null`` (the difference
        against the distribution of surrogate differences, two-sided; valid when neither
        segment is coupled), ``p_null_corrected`` (over contrasts x bands x ROI pairs, with
        the result's ``correction``), ``p_epochs`` and ``d`` (permutation test of the two
        segments' per-epoch values, :func:`hyperinsync.stats.permutation_test`, two-sided,
        with Cohen's d; the test of a change) and ``p_epochs_fdr`` (Benjamini-Hochberg over
        contrasts x bands x ROI pairs).

        Returns
        -------
        table : pandas.DataFrame | list of dict
        """
        return as_table(self.contrasts)

    def _annotated_rows(self):
        return [r for r in self.rows if r["significant"]]


def _segments_from(raw, segments, block):
    """``[(name, kind, start sample, stop sample)]`` of the requested segments and blocks.

    Spans are clipped to the recording; a span that lies wholly outside it keeps
    ``start >= stop`` (the caller excludes it with a warning).
    """
    sfreq, ann = raw.info["sfreq"], raw.annotations
    out = []
    descs = list(ann.description)
    if segments is None:
        segments = [] if block is not None else [
            d for d in dict.fromkeys(descs)
            if not d.lower().startswith(("bad", "edge")) and not d.startswith(PREFIX + "/")
        ]
        if not segments:
            raise ValueError(
                "The recording has no segment annotations (besides BAD/EDGE/insync ones): "
                "annotate segments (e.g. rest_pre, session, rest_post) or pass block=60.0."
            )
    else:
        if isinstance(segments, str):
            segments = [segments]
        segments = list(segments)
    for name in segments:
        _validate_type(name, str, "segment name")
        hits = [i for i, d in enumerate(descs) if d == name]
        if not hits:
            present = sorted(set(descs)) or ["none"]
            raise ValueError(
                f"Segment {name!r} is not annotated in the recording (annotation "
                f"descriptions: {', '.join(present)}). Annotate it or choose another segment."
            )
        if len(hits) > 1:
            raise ValueError(
                f"Segment {name!r} is annotated {len(hits)} times (onsets "
                f"{[round(float(ann.onset[i]), 3) for i in hits]} s): give each stretch its "
                "own description."
            )
        (start,), (stop,) = _annotation_spans(raw, hits[:1])
        out.append((name, "segment", max(int(start), 0), min(int(stop), raw.n_times)))
    if block is not None:
        n_blk = int(round(_check_positive(block, "block") * sfreq))
        for k, s0 in enumerate(range(0, raw.n_times - n_blk + 1, n_blk)):
            out.append((f"block{k + 1:03d}", "block", s0, s0 + n_blk))
        if not any(kind == "block" for _, kind, _, _ in out):
            raise ValueError(f"block={block} s is longer than the recording.")
    return out


def _segment_problem(name, s0, s1, bad, n_ep, sfreq, null, need):
    """Why a segment cannot be tested (a sentence), or ``None``."""
    if s1 <= s0:
        return f"segment {name!r} lies outside the recording"
    n_epochs = len(bad)
    clean = int((~bad).sum())
    if clean < 2:
        return (f"segment {name!r} ({(s1 - s0) / sfreq:g} s) has {clean} epoch(s) of "
                f"{n_ep / sfreq:g} s free of BAD annotations ({n_epochs} in all); at least 2 "
                "are needed")
    if null == "circular_shift":
        n_opts = (n_epochs - 2) * n_ep + 1  # lags of at least one epoch either way
    else:
        n_opts = math.factorial(min(n_epochs, 20))
    if n_opts < need:
        return (f"segment {name!r} ({n_epochs} epochs) allows only {n_opts} distinct "
                f"'{null}' surrogates, too few for p <= alpha; use shorter epochs")
    return None


def _l2_phase(sig, band, span, epoch_ok, g):
    """Mean phase difference A - B per ROI pair over a segment's clean epochs (radians)."""
    xp = sig.bk.xp
    za, zb = (_unit(z[:, span]) for z in sig.z[band])
    w = xp.asarray(np.repeat(epoch_ok, g).astype(np.float32))
    cross = xp.matmul(za * w, zb.conj().T)  # (n_a, n_b) summed over clean samples
    roi = sig.pair_matrix(xp) @ cross.reshape(-1)
    return np.angle(sig.bk.to_numpy(roi)).reshape(len(sig.idx[0]), len(sig.idx[1]))


def _l2_correct(p, obs, null, correction, tail, alpha):
    """Corrected p-values over all entries: BH-FDR or the standardised maximum statistic.

    ``obs`` (...), ``null`` (N, ...) with surrogate ``k`` of every entry taken together.
    """
    if correction == "fdr":
        return stats.fdr_bh(p, alpha)[1]
    return stats.maxstat_p(obs, null, tail=tail)


@verbose
@fill_doc
def level2(
    raw,
    segments=None,
    block=None,
    bands=None,
    rois="default",
    *,
    measure="plv",
    epoch_duration=2.0,
    null="circular_shift",
    n_null=200,
    alpha=0.05,
    correction="maxstat",
    tail="auto",
    contrasts=(("rest_post", "rest_pre"),),
    n_permutations=5000,
    reject_by_annotation=True,
    decim="auto",
    precision="single",
    seed=None,
    backend="auto",
    n_jobs=1,
    max_bytes=256e6,
    verbose=None,
):
    r"""In-Sync Level 2 (tonic): synchrony per segment and per block, against chance.

    Each segment (an annotated stretch such as ``rest_pre``, ``session``, ``rest_post``) and
    each fixed block is cut into consecutive epochs of ``epoch_duration``; the measure is
    computed per epoch and channel pair (running sums over the continuous band signals, as in
    :func:`level1`), averaged over the ROI pair's channel pairs and over epochs (epochs
    touching ``BAD_`` annotations are left out).

    **Null** (per segment, ``n_null`` surrogates): ``'circular_shift'`` shifts B's signal
    circularly *within the segment* by a random lag of at least one epoch;
    ``'epoch_shuffle'`` pairs A's epochs with B's epochs in a random order (uniform over all
    orders, so the observed pairing is one of them and the p-value is exact). A surrogate
    epoch counts only when both A's epoch and the B data moved onto it are free of ``BAD_``
    annotations. z is :func:`hyperinsync.stats.zscore` (the surrogate-synchrony effect
    size), p is :func:`hyperinsync.stats.p_value` with ``tail``.

    **Correction** over all rows (segments and blocks x bands x ROI pairs): ``'maxstat'``
    (default; family-wise error, the maximum of the statistics standardised against each
    test's own null, :func:`hyperinsync.stats.maxstat_p`; surrogate ``k`` of every segment is
    taken together) or ``'fdr'`` (Benjamini-Hochberg, :func:`hyperinsync.stats.fdr_bh`; it
    cannot reject a single test among :math:`m` unless ``n_null + 1 >= m / alpha``, a floor
    the standardised maximum does not have, and is warned about). Rows with corrected
    :math:`p \le \alpha` are significant and annotated ``insync/L2/<band>/<roiA>-<roiB>``.

    **Contrasts** ``(a, b)`` (e.g. ``rest_post`` minus ``rest_pre``), two tests:
    ``p_null`` compares the observed difference with the differences of the two segments'
    surrogates (surrogate ``k`` of ``a`` minus surrogate ``k`` of ``b``; two-sided). It asks
    whether the change exceeds what chance-level synchrony produces and holds its error
    rate only when neither segment is coupled: with tonic coupling, use ``p_epochs``.
    ``p_epochs`` is a two-sample permutation test of the two segments' per-epoch values
    (:func:`hyperinsync.stats.permutation_test`, two-sided), which tests the change itself,
    assuming exchangeable epochs. Both are also corrected over contrasts x bands x ROI pairs
    (``p_null_corrected`` with ``correction``; ``p_epochs_fdr`` by FDR).

    **Degenerate segments.** A segment that lies outside the recording, has fewer than two
    epochs free of ``BAD_`` annotations, or allows too few distinct surrogates for
    :math:`p \le \alpha` is left out with a warning naming it (and so are contrasts that
    involve it); when nothing is left, an error. No NaN is reported as a value.

    Parameters
    ----------
    raw : DyadRaw | mne.io.BaseRaw
        The dyad recording.
    segments : str | list of str | None
        Annotation descriptions of the segments (each annotated once). ``None``: every
        description in the recording except ``BAD*``, ``EDGE*`` and ``insync/*`` (none when
        ``block`` is given).
    block : float | None
        Also analyse consecutive fixed blocks of this many seconds (named ``'block001'``, ...).
    %(bands)s
    %(rois)s
    measure : 'plv' | 'coh' | 'imcoh'
        Synchrony measure per epoch (magnitudes; imcoh is :math:`|\mathrm{Im}|`).
    epoch_duration : float
        Epoch length in s (at least two cycles of every band's lowest frequency).
    null : 'circular_shift' | 'epoch_shuffle'
        Surrogate model (see above).
    n_null : int
        Number of surrogates per segment.
    alpha : float
        Level of the corrected p-values for the ``significant`` column and the annotations.
    correction : 'maxstat' | 'fdr'
        Multiple-comparison correction over all rows (see above).
    tail : 'auto' | 'greater' | 'less' | 'two-sided'
        Alternative of the tests against chance. ``'auto'`` is ``'greater'`` (synchrony
        above chance): the Level 2 measures are magnitudes, which rise with coupling in
        phase, anti-phase or lagged alike (the ``phase`` column tells which).
    contrasts : sequence of (str, str)
        Segment pairs ``(a, b)`` for ``a - b``; pairs naming segments that were not asked
        for are an error. ``()`` for none.
    n_permutations : int
        Permutations of the per-epoch test of each contrast.
    reject_by_annotation : bool
        Leave out epochs touching ``BAD_`` annotations.
    decim : int | 'auto'
        Decimation of the analytic signals (must divide the epoch length in samples).
    precision : 'single' | 'double'
        Precision of the analytic signals.
    %(seed)s
    %(backend)s
    %(n_jobs)s
    max_bytes : float
        Approximate memory bound for one chunk of channel pairs.
    %(verbose)s

    Returns
    -------
    result : InSyncLevel2
        ``to_table()``, ``contrast_table()``, ``annotations``, ``get_value(...)``.
    """
    _validate_type(raw, mne.io.BaseRaw, "raw", "Raw")
    _check_option("measure", measure, WINDOW_MEASURES)
    _check_option("null", null, L2_NULLS)
    _check_option("correction", correction, L2_CORRECTIONS)
    tail = _resolve_tails(tail, [measure])[measure]
    sfreq = raw.info["sfreq"]
    bands = check_bands(bands, sfreq)
    alpha = stats._check_alpha(alpha)
    n_null = _check_n_null(n_null, alpha)
    epoch_duration = _check_positive(epoch_duration, "epoch_duration")
    for name, (fmin, _) in bands.items():
        if epoch_duration * fmin < 2.0:
            raise ValueError(
                f"epoch_duration={epoch_duration} s holds fewer than two cycles of band "
                f"{name!r}'s lowest frequency {fmin:g} Hz: use at least {2.0 / fmin:g} s."
            )
    n_ep = int(round(epoch_duration * sfreq))
    segs = _segments_from(raw, segments, block)
    contrasts = [tuple(c) for c in contrasts]
    asked = [s[0] for s in segs]
    for c in contrasts:
        if len(c) != 2 or any(x not in asked for x in c):
            raise ValueError(
                f"Contrast {c!r} must name two analysed segments; analysed: {asked}."
            )
    rng = check_seed(seed)
    bk = get_backend(backend)
    xp = bk.xp
    sig = _Signals(raw, bands, rois, n_ep, n_ep, decim, reject_by_annotation, precision, bk,
                   check_n_jobs(n_jobs), max_bytes)
    # a p-value (b + 1) / (N + 1) <= alpha needs this many distinct surrogates
    need = int(np.ceil(1.0 / alpha)) - 1
    kept, excluded = [], []
    for name, kind, s0, s1 in segs:
        n_epochs = max(0, (s1 - s0) // n_ep)
        bad = sig.bad[s0 : s0 + n_epochs * n_ep].reshape(n_epochs, n_ep).any(axis=1)
        why = _segment_problem(name, s0, s1, bad, n_ep, sfreq, null, need)
        if why is None:
            kept.append((name, kind, s0, s1, bad))
        else:
            excluded.append(dict(name=name, reason=why))
            warn(f"Level 2: {why}; it is left out.")
    if not kept:
        raise ValueError(
            "Level 2: no segment can be tested: "
            + "; ".join(e["reason"] for e in excluded) + "."
        )
    names = [k[0] for k in kept]
    dropped = [c for c in contrasts if any(x not in names for x in c)]
    if dropped:
        warn(f"Level 2: contrast(s) {dropped} left out: they involve a segment left out.")
    contrasts = [c for c in contrasts if c not in dropped]
    n_ra, n_rb = len(sig.roi_names[0]), len(sig.roi_names[1])
    shape = (len(bands), n_ra, n_rb)
    values = np.empty((len(kept),) + shape)
    nulls = np.empty((len(kept), n_null) + shape)
    phase = np.empty((len(kept),) + shape)
    epoch_vals = {}
    seg_info = []
    logger.info(
        f"In-Sync Level 2: {measure} in {', '.join(bands)}, {len(kept)} segment(s)/block(s), "
        f"epochs of {epoch_duration:g} s, {n_null} surrogates ({null})"
    )
    for si, (name, kind, s0, s1, bad) in enumerate(ProgressBar(kept, mesg="Level 2")):
        n_epochs = len(bad)
        seg_bad = sig.bad[s0 : s0 + n_epochs * n_ep]
        # surrogate draws are shared by all bands of a segment (same lags / orders)
        if null == "circular_shift":
            draws = _null_shifts(rng, n_epochs * n_ep, n_ep, n_null)
        else:
            draws = _shuffle_orders(rng, n_epochs, n_null, "epochs")
        for bi, band in enumerate(bands):
            q = sig.decim[band]
            g = n_ep // q
            a0 = s0 // q
            geo = _Geometry(g, 1, 1, n_epochs, n_epochs * g)
            span = slice(a0, a0 + n_epochs * g)
            seg_values = _PairSeries(sig, band, measure, geo, span, max_bytes)
            zb = seg_values.zb
            ev = seg_values()[~bad]
            epoch_vals[(si, bi)] = ev
            values[si, bi] = ev.mean(axis=0)
            phase[si, bi] = _l2_phase(sig, band, span, ~bad, g)
            for k in range(n_null):
                if null == "circular_shift":
                    # lags are drawn at the input rate; B's signal shifts by the nearest
                    # decimated sample (at least one epoch either way)
                    lag = int(round(draws[k] / q))
                    zs = xp.roll(zb, lag, axis=-1)
                    b_bad = np.roll(seg_bad, lag * q).reshape(n_epochs, n_ep).any(axis=1)
                else:
                    zs = zb.reshape(zb.shape[0], n_epochs, g)[:, xp.asarray(draws[k])]
                    zs = zs.reshape(zb.shape)
                    b_bad = bad[draws[k]]
                ok = ~bad & ~b_bad  # A's epoch and the B data moved onto it both clean
                nulls[si, k, bi] = (seg_values(zs)[ok].mean(axis=0) if ok.any()
                                    else np.nan)
        seg_info.append(dict(name=name, kind=kind, onset=s0 / sfreq,
                             duration=(s1 - s0) / sfreq, n_epochs=int((~bad).sum())))
    n_usable = np.isfinite(nulls).reshape(len(kept), n_null, -1).all(axis=-1).sum(axis=1)
    if np.any(n_usable < need):
        short = [seg_info[i]["name"] for i in np.flatnonzero(n_usable < need)]
        raise ValueError(
            f"Level 2: in segment(s) {short} fewer than {need} surrogates keep a clean epoch "
            "(BAD annotations cover most of them): shorten the BAD spans or drop the segment."
        )
    n_tests = values.size
    if correction == "fdr" and n_null + 1 < n_tests / alpha:
        warn(
            f"Level 2: with {n_null} surrogates and {n_tests} tests, FDR can reject a test "
            f"only when several are significant together (one alone needs n_null >= "
            f"{int(np.ceil(n_tests / alpha)) - 1}); correction='maxstat' has no such floor."
        )
    z = stats.zscore(values, nulls, axis=1)
    p = stats.p_value(values, nulls, tail=tail, axis=1)
    p_fdr = stats.fdr_bh(p, alpha)[1]
    p_corr = _l2_correct(p, values, np.moveaxis(nulls, 1, 0), correction, tail, alpha)
    reject = p_corr <= alpha
    null_mean = np.nanmean(nulls, axis=1)
    relation = phase_relation(phase)
    rows = []
    for si, seg in enumerate(seg_info):
        for bi, band in enumerate(bands):
            for ri, ra in enumerate(sig.roi_names[0]):
                for ci, rb in enumerate(sig.roi_names[1]):
                    ix = (si, bi, ri, ci)
                    rows.append(dict(
                        kind=seg["kind"], segment=seg["name"], onset=seg["onset"],
                        duration=seg["duration"], n_epochs=seg["n_epochs"], band=band,
                        roi_a=ra, roi_b=rb, value=float(values[ix]),
                        null_mean=float(null_mean[ix]), z=float(z[ix]), tail=tail,
                        p=float(p[ix]), p_fdr=float(p_fdr[ix]),
                        p_corrected=float(p_corr[ix]), significant=bool(reject[ix]),
                        direction=("above chance" if z[ix] > 0 else "below chance"
                                   if z[ix] < 0 else "none"),
                        phase_diff=float(phase[ix]), phase=str(relation[ix]),
                    ))
    con_rows = _l2_contrasts(contrasts, names, values, nulls, epoch_vals, bands, sig,
                             n_permutations, rng, correction, alpha)
    params = dict(
        epoch_duration=n_ep / sfreq, null=null, n_null=n_null, alpha=alpha, sfreq=sfreq,
        correction=correction, tail=tail,
        decim={b: int(q) for b, q in sig.decim.items()}, precision=precision,
        backend=bk.name, block=None if block is None else float(block),
        reject_by_annotation=bool(reject_by_annotation),
        first_time=float(sig.first_time), orig_time=_orig_time_str(sig.orig_time),
        n_permutations=int(n_permutations), excluded=excluded,
    )
    return InSyncLevel2(
        values=values, null=nulls, phase=phase, segments=seg_info, rows=rows,
        contrasts=con_rows, bands=bands, roles=sig.roles, roi_names=sig.roi_names,
        roi_channels=sig.roi_chs, measure=measure, params=params,
    )


def _l2_contrasts(contrasts, names, values, nulls, epoch_vals, bands, sig, n_permutations,
                  rng, correction, alpha):
    """Rows of the contrast table (see :meth:`InSyncLevel2.contrast_table`)."""
    if not contrasts:
        return []
    diffs, null_diffs, p_null, z_null, p_ep, d_ep = [], [], [], [], [], []
    for a, b in contrasts:
        ia, ib = names.index(a), names.index(b)
        diff = values[ia] - values[ib]
        null_diff = nulls[ia] - nulls[ib]
        diffs.append(diff)
        null_diffs.append(null_diff)
        z_null.append(stats.zscore(diff, null_diff))
        p_null.append(stats.p_value(diff, null_diff, tail="two-sided"))
        tests = [stats.permutation_test(epoch_vals[(ia, bi)], epoch_vals[(ib, bi)],
                                        n_permutations, seed=rng)
                 for bi in range(len(bands))]
        p_ep.append(np.stack([t["p"] for t in tests]))
        d_ep.append(np.stack([t["d"] for t in tests]))
    p_null, p_ep = np.stack(p_null), np.stack(p_ep)
    # family: contrasts x bands x ROI pairs (surrogate k of every contrast together)
    p_null_corr = _l2_correct(p_null, np.stack(diffs), np.stack(null_diffs, axis=1),
                              correction, "two-sided", alpha)
    p_ep_fdr = stats.fdr_bh(p_ep, alpha)[1]
    rows = []
    for k, (a, b) in enumerate(contrasts):
        for bi, band in enumerate(bands):
            for ri, ra in enumerate(sig.roi_names[0]):
                for ci, rb in enumerate(sig.roi_names[1]):
                    ix = (k, bi, ri, ci)
                    rows.append(dict(
                        contrast=f"{a} - {b}", a=a, b=b, band=band, roi_a=ra, roi_b=rb,
                        diff=float(diffs[k][bi, ri, ci]), z_null=float(z_null[k][bi, ri, ci]),
                        p_null=float(p_null[ix]), p_null_corrected=float(p_null_corr[ix]),
                        p_epochs=float(p_ep[ix]), p_epochs_fdr=float(p_ep_fdr[ix]),
                        d=float(d_ep[k][bi, ri, ci]),
                    ))
    return rows


# --------------------------------------------------------------------------------------------
# Level 3


class InSyncLevel3:
    """In-Sync Level 3 (chronic) result: per-dyad session trends and their summary.

    Made by :func:`level3`; rebuild from :meth:`to_dict` output with :meth:`from_dict`.

    Attributes
    ----------
    dyads : list of dict
        One per dyad; see :meth:`to_table`.
    summary : dict
        Across dyads: ``n_dyads``, ``mean_slope`` (per session), ``p`` (two-sided, session
        order permuted within every dyad), ``mean_change`` (last minus first session),
        ``mean_slope_per_week`` (when dates were given, else None).
    sessions : list of dict
        The input, one row per session: ``dyad``, ``session``, ``value`` and ``date``
        (ISO string or None).
    params : dict
        ``n_permutations``.
    """

    def __init__(self, *, dyads, summary, sessions, params):
        self.dyads = [dict(d) for d in dyads]
        self.summary = dict(summary)
        self.sessions = [dict(s) for s in sessions]
        self.params = dict(params)

    def __repr__(self):
        return (
            f"<InSyncLevel3 | {len(self.dyads)} dyad(s) | mean slope "
            f"{self.summary['mean_slope']:.4g} per session (p={self.summary['p']:.3g})>"
        )

    def to_table(self):
        """One row per dyad.

        Columns: ``dyad``, ``n_sessions``, ``first``, ``last``, ``change`` (last minus
        first), ``slope`` (least-squares change per session), ``r`` and ``p`` (correlation
        of value with session index, permutation p over session orders from
        :func:`hyperinsync.stats.correlation_test`; identical to the permutation p of the
        slope) and, with dates, ``slope_per_week`` and ``p_week``.

        Returns
        -------
        table : pandas.DataFrame | list of dict
        """
        return as_table(self.dyads)

    def to_dict(self):
        """Plain JSON-able attributes (see :meth:`from_dict`)."""
        return dict(dyads=self.dyads, summary=self.summary, sessions=self.sessions,
                    params=self.params)

    @classmethod
    def from_dict(cls, d):
        """Rebuild a result from :meth:`to_dict` output."""
        return cls(**dict(d))


def _to_date(d):
    if d is None:
        return None
    if isinstance(d, _dt.datetime):
        return d.date()
    if isinstance(d, _dt.date):
        return d
    if isinstance(d, str):
        return _dt.date.fromisoformat(d[:10])
    if hasattr(d, "date"):  # pandas Timestamp, numpy datetime64 via pandas
        return d.date()
    raise TypeError(f"Cannot read a date from {d!r}: use datetime.date or 'YYYY-MM-DD'.")


def _session_rows(session_values, dates):
    """Normalise the inputs of :func:`level3` to rows dyad / session / value / date."""
    if hasattr(session_values, "to_dict") and hasattr(session_values, "columns"):
        session_values = session_values.to_dict("records")  # a pandas DataFrame
    if isinstance(session_values, dict):
        if dates is not None:
            _validate_type(dates, dict, "dates", "dict like session_values")
        rows = []
        for dyad, vals in session_values.items():
            if vals is None or len(vals) == 0:
                raise ValueError(f"Dyad {dyad!r} has no session values; give at least 3 "
                                 "sessions per dyad or leave the dyad out.")
            dd = None if dates is None else dates.get(dyad)
            if dates is not None and dd is None:
                raise ValueError(f"dates has no entry for dyad {dyad!r}.")
            rows += [dict(r, dyad=str(dyad)) for r in _session_rows(vals, dd)]
        return rows
    seq = list(session_values)
    if seq and isinstance(seq[0], dict):
        missing = {"value"} - set(seq[0])
        if missing:
            raise ValueError("Table rows need a 'value' column (and 'dyad', 'session', "
                             "optionally 'date').")
        rows = []
        for k, r in enumerate(seq):
            rows.append(dict(dyad=str(r.get("dyad", "dyad")),
                             session=int(r.get("session", k)), value=float(r["value"]),
                             date=_to_date(r.get("date"))))
        if dates is not None:
            raise ValueError("Give dates inside the table ('date' column), not as dates=.")
        return rows
    values = np.asarray(seq, float)
    if values.ndim != 1:
        raise ValueError(f"session_values must be 1-D per dyad, got shape {values.shape}.")
    if dates is not None:
        dates = [_to_date(d) for d in dates]
        if len(dates) != len(values):
            raise ValueError(
                f"dates has {len(dates)} entries for {len(values)} session values."
            )
    return [dict(dyad="dyad", session=k, value=float(v),
                 date=None if dates is None else dates[k]) for k, v in enumerate(values)]


def level3(session_values, dates=None, *, n_permutations=5000, seed=None):
    r"""In-Sync Level 3 (chronic): synchrony trends across the sessions of dyads.

    For each dyad the sessions are ordered by session index; the trend is the least-squares
    slope of the value on the session index (and, with dates, on weeks since the first
    session). Its permutation p shuffles the session order ``n_permutations`` times: the
    permutation p of the correlation of value with time
    (:func:`hyperinsync.stats.correlation_test`), which equals that of the slope because
    permuting the values leaves their variance unchanged. Across dyads, the mean slope is
    tested by permuting session order within every dyad at once (two-sided,
    :func:`hyperinsync.stats.p_value`).

    Parameters
    ----------
    session_values : array-like | dict | table
        One dyad's per-session values in session order; a dict ``{dyad: values}``; or a
        table (pandas DataFrame or list of dicts) with columns ``dyad``, ``session``,
        ``value`` and optionally ``date``. Every dyad needs at least 3 sessions.
    dates : list | dict | None
        Session dates (``datetime.date`` or ISO strings) for array input (a list) or dict
        input (a dict of lists); tables carry a ``date`` column instead.
    n_permutations : int
        Number of permutations of session order.
    seed : None | int | numpy.random.Generator
        Random seed or generator.

    Returns
    -------
    result : InSyncLevel3
        Per-dyad table (``to_table()``) and ``summary`` across dyads.

    Notes
    -----
    Empty input, a dyad with fewer than 3 sessions of finite values and duplicated session
    indices raise a ``ValueError``. Sessions whose value is NaN are excluded with a warning
    naming them. A dyad with the same value in every session keeps slope 0 and p = 1 (every
    order gives that slope), with a warning that its correlation ``r`` is undefined (NaN).
    In a study the values are by default the surrogate-corrected synchrony of each session
    (``[statistics] feature``), so that a change of spectrum or recording length across
    sessions does not show as a trend.
    """
    rng = check_seed(seed)
    _validate_type(n_permutations, "int", "n_permutations")
    rows = _session_rows(session_values, dates)
    if not rows:
        raise ValueError(
            "level3 got no session values: give one dyad's values per session (at least 3), "
            "a dict {dyad: values} or a table with dyad, session and value columns."
        )
    by_dyad = {}
    for r in rows:
        by_dyad.setdefault(r["dyad"], []).append(r)
    out, centred, slopes = [], [], []
    has_dates = all(r["date"] is not None for r in rows)
    for dyad, rs in by_dyad.items():
        rs = sorted(rs, key=lambda r: r["session"])
        idx = np.array([r["session"] for r in rs], float)
        if len(np.unique(idx)) != len(idx):
            raise ValueError(f"Dyad {dyad!r} lists a session index twice: {idx.tolist()}.")
        missing = [r["session"] for r in rs if not np.isfinite(r["value"])]
        if missing:
            warn(f"level3: dyad {dyad!r} has no finite value in session(s) {missing}; "
                 "those sessions are excluded from its trend.")
            rs = [r for r in rs if np.isfinite(r["value"])]
            idx = np.array([r["session"] for r in rs], float)
        vals = np.array([r["value"] for r in rs])
        if len(vals) < 3:
            raise ValueError(
                f"Dyad {dyad!r} needs at least 3 sessions with finite values for a trend, "
                f"got {len(vals)} ({vals.tolist()}); leave the dyad out or add sessions."
            )
        slope = float(np.polyfit(idx, vals, 1)[0])
        if np.ptp(vals) == 0:
            # every order gives slope 0: p = 1 exactly; a correlation is undefined
            warn(f"level3: dyad {dyad!r} has the same value ({vals[0]:g}) in every session: "
                 "its slope is 0 with p = 1 and its correlation r is undefined (NaN).")
            slope, ct = 0.0, dict(r=float("nan"), p_perm=1.0)
        else:
            ct = stats.correlation_test(idx, vals, n_permutations, seed=rng)
        row = dict(dyad=dyad, n_sessions=len(vals), first=float(vals[0]),
                   last=float(vals[-1]), change=float(vals[-1] - vals[0]), slope=slope,
                   r=ct["r"], p=ct["p_perm"])
        if has_dates:
            days = np.array([(r["date"] - rs[0]["date"]).days for r in rs], float)
            if np.ptp(days) == 0:
                raise ValueError(f"All sessions of dyad {dyad!r} share one date.")
            row["slope_per_week"] = (0.0 if np.ptp(vals) == 0
                                     else float(np.polyfit(days / 7.0, vals, 1)[0]))
            row["p_week"] = (1.0 if np.ptp(vals) == 0 else stats.correlation_test(
                days, vals, n_permutations, seed=rng)["p_perm"])
        out.append(row)
        xc = idx - idx.mean()
        centred.append((xc / (xc @ xc), vals))
        slopes.append(slope)
    # across dyads: the mean slope with session order permuted within every dyad
    null = np.zeros(n_permutations)
    for w, vals in centred:
        perms = rng.permuted(np.tile(vals, (n_permutations, 1)), axis=1)
        null += perms @ w
    null /= len(centred)
    mean_slope = float(np.mean(slopes))
    eps = 1e-12 * max(1.0, abs(mean_slope))  # the identity order counts as "as extreme"
    summary = dict(
        n_dyads=len(out), mean_slope=mean_slope,
        p=float(stats.p_value(abs(mean_slope) - eps, np.abs(null), "greater")),
        mean_change=float(np.mean([r["change"] for r in out])),
        mean_slope_per_week=(float(np.mean([r["slope_per_week"] for r in out]))
                             if has_dates else None),
    )
    sessions = [dict(r, date=None if r["date"] is None else r["date"].isoformat())
                for r in rows]
    return InSyncLevel3(dyads=out, summary=summary, sessions=sessions,
                        params=dict(n_permutations=int(n_permutations)))


def correlate_with_questionnaire(values, scores, n_permutations=5000, seed=None, *,
                                 method="pearson"):
    """Correlate a dyad-level synchrony value with a per-dyad questionnaire score.

    A thin layer on :func:`hyperinsync.stats.correlation_test` that pairs the two by dyad
    name (e.g. central alpha PLV in ``rest_post`` against the alliance gap WAI_T - WAI_C).

    Parameters
    ----------
    values, scores : dict | array-like
        ``{dyad: value}`` and ``{dyad: score}`` (paired on the dyads they share; both must
        hold the same dyads), or two equally long sequences in the same dyad order.
    n_permutations : int
        Number of permutations.
    seed : None | int | numpy.random.Generator
        Random seed or generator.
    method : 'pearson' | 'spearman'
        Correlation coefficient.

    Returns
    -------
    result : dict
        ``r``, ``r_ci``, ``p_perm``, ``p_parametric``, ``n``, ``method``,
        ``n_permutations``, ``ci`` and ``dyads`` (the pairing order of the dyads used; None
        for sequences).

    Notes
    -----
    A dyad whose value or score is NaN is excluded with a warning naming it; constant
    values or scores (no correlation defined) and fewer than 3 remaining dyads raise a
    ``ValueError``.
    """
    _validate_type(n_permutations, "int", "n_permutations")
    dyads = None
    if isinstance(values, dict) or isinstance(scores, dict):
        if not (isinstance(values, dict) and isinstance(scores, dict)):
            raise TypeError("values and scores must both be dicts keyed by dyad, or both "
                            "sequences.")
        if set(values) != set(scores):
            only_v = sorted(map(str, set(values) - set(scores)))
            only_s = sorted(map(str, set(scores) - set(values)))
            raise ValueError(
                f"values and scores must cover the same dyads: only in values {only_v}, "
                f"only in scores {only_s}."
            )
        dyads = list(values)
        x = [values[d] for d in dyads]
        y = [scores[d] for d in dyads]
    else:
        x, y = values, scores
    x, y = np.asarray(x, float), np.asarray(y, float)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(
            f"values and scores must be 1-D of equal length, got shapes {x.shape} and "
            f"{y.shape}."
        )
    names = dyads if dyads is not None else [f"#{k}" for k in range(len(x))]
    bad = ~(np.isfinite(x) & np.isfinite(y))
    if bad.any():
        which = [f"{names[k]} (value {x[k]:g}, score {y[k]:g})" for k in np.flatnonzero(bad)]
        warn(f"correlate_with_questionnaire: excluding dyad(s) without a finite value and "
             f"score: {', '.join(which)}.")
        x, y = x[~bad], y[~bad]
        if dyads is not None:
            dyads = [d for d, b in zip(dyads, bad) if not b]
    if len(x) < 3:
        raise ValueError(
            f"correlate_with_questionnaire needs at least 3 dyads with finite values and "
            f"scores, got {len(x)}."
        )
    for what, v in (("values", x), ("scores", y)):
        if np.ptp(v) == 0:
            raise ValueError(
                f"The {what} are the same ({v[0]:g}) for every dyad: a correlation with "
                "them is undefined."
            )
    res = stats.correlation_test(x, y, n_permutations, seed=seed, method=method)
    res["dyads"] = dyads
    return res


# --------------------------------------------------------------------------------------------
# annotations on the recording


def annotate(raw, *results, overwrite=True):
    """Add the annotations of In-Sync results to a recording, in place.

    Onsets are converted to the recording's annotation time frame (``raw.first_time`` and
    ``orig_time`` handled as by :meth:`mne.io.Raw.set_annotations`). The annotations are
    ordinary ones: they show in ``raw.plot()`` and survive ``raw.save`` and
    :func:`hyperinsync.dyad.read_dyad_raw`.

    Parameters
    ----------
    raw : DyadRaw | mne.io.BaseRaw
        The recording the results were computed on (same length and sampling rate).
    *results : InSyncLevel1 | InSyncLevel2
        Results whose annotations to add.
    overwrite : bool
        Remove annotations of the same levels (``insync/L1/...``, ``insync/L2/...``) first, so
        annotating twice does not duplicate them.

    Returns
    -------
    raw : DyadRaw | mne.io.BaseRaw
        The same object, annotated.
    """
    _validate_type(raw, mne.io.BaseRaw, "raw", "Raw")
    levels = []
    for res in results:
        _validate_type(res, (InSyncLevel1, InSyncLevel2), "result")
        if res.params["sfreq"] != raw.info["sfreq"]:
            raise ValueError(
                f"The result was computed at {res.params['sfreq']:g} Hz, the recording is at "
                f"{raw.info['sfreq']:g} Hz: annotate the recording the result came from."
            )
        levels.append(1 if isinstance(res, InSyncLevel1) else 2)
    ann = raw.annotations
    if overwrite:
        prefixes = tuple(f"{PREFIX}/L{lv}/" for lv in levels)
        drop = [i for i, d in enumerate(ann.description) if d.startswith(prefixes)]
        if drop:
            ann.delete(drop)
    for res in results:
        new = res.annotations
        if len(new):
            # raw.annotations count from first_time (relative to orig_time if set)
            ann.append(new.onset + raw.first_time, new.duration, new.description,
                       ch_names=new.ch_names)
    return raw
