r"""In-Sync model findings: Level 1 windows, Level 2 segments, Level 3 sessions.

The In-Sync model of psychotherapy (Koole & Tschacher, 2016) describes synchrony on three
time scales. This module turns a dyad's recording (a :class:`~hyperinsync.dyad.DyadRaw` or any
MNE ``Raw`` whose channel names are ``'<role>:<channel>'``) into findings on each:

- **Level 1, phasic (0.3-10 s)** -- :func:`level1`: sliding-window synchrony per band and ROI
  pair of one segment; windows rising above the segment's own tonic level (tested against
  block shuffles of the coupling, one max-statistic over windows, ROI pairs and bands) become
  *episodes* (``mne.Annotations`` described ``insync/L1/<band>/<roiA>-<roiB>``) with their
  lead-lag and phase relation and confidence intervals; synchrony above chance (a
  circular-shift null) is a separate result.
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
(:func:`hyperinsync.sync.band_analytic`, exactly decimated). For channel pair
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
from scipy.stats import t as student_t

from . import stats
from ._docs import fill_doc
from ._utils import (
    ProgressBar,
    _check_option,
    _validate_type,
    as_table,
    check_bands,
    check_n_jobs,
    check_seed,
    logger,
    verbose,
    warn,
)
from .backend import get_backend
from .dyad import ROLE_SEP, split_ch_name
from .rois import resolve_rois
from .sync.measures import phase_relation, unit
from .sync.spectral import band_analytic
from .stats.pairings import shuffle_orders
from .stats.result import resolve_tails
from .sync.signals import (
    annotation_spans,
    bad_mask,
    bad_spans,
    check_finite,
    data_picks,
    epoch_decims,
    refuse_flat,
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
        self.roles, (pa, pb) = data_picks(raw, None)
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
        self.decim = epoch_decims(bands, "fft", self.sfreq, decim, n_win, n_step or n_win,
                                   7.0, 1.0, what="window")
        ch_index = {n: i for i, n in enumerate(raw.ch_names)}
        # samples inside BAD_ annotations (both people share one time axis)
        self.bad = bad_mask(raw, raw.n_times) if reject else np.zeros(raw.n_times, bool)
        self.z = {b: [] for b in bands}  # band -> [za (n_a, T), zb (n_b, T)]
        for names in self.names:
            data = raw.get_data(picks=[ch_index[n] for n in names])
            # NaN inside rejected spans is bridged for the filter; flat channels refused
            data = check_finite(data, names, self.bad if reject else None, sfreq=self.sfreq)
            refuse_flat(data, names, self.bad)
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
        return xp.asarray(np.kron(*_roi_means(self)))


def _roi_means(sig):
    """Per role, (n_roi, n_channels): each ROI's mean over its channels' signals."""
    mats = []
    for side in (0, 1):
        m = np.zeros((len(sig.idx[side]), len(sig.names[side])))
        for r, ii in enumerate(sig.idx[side]):
            m[r, ii] = 1.0 / len(ii)
        mats.append(m)
    return mats


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
        v = _window_values(s, measure, geo, None if pa_win is None else pa_win[:, a0:a1],
                           None if measure == "plv" else pb_win, xp)
        del s
        # one matrix product averages all windows' channel pairs into ROI pairs
        out += v.reshape(geo.n, -1) @ mab[:, a0 * n_b : a1 * n_b].T
    return out


def _window_values(s, measure, geo, pa_win, pb_win, xp):
    """The measure per window and channel pair from window cross sums (and powers)."""
    if measure == "plv":
        return xp.abs(s) / (geo.w * geo.g)
    den = xp.sqrt(pa_win[:, :, None] * pb_win[:, None, :])
    den = xp.where(den == 0, 1, den)
    return (xp.abs(s) if measure == "coh" else xp.abs(s.imag)) / den


class _PairSeries:
    """ROI-pair window values of one band: A's signal against B's, shifted or permuted.

    Holds A's conjugated blocks and window powers, computed once; each call takes a version
    of B's signal (same span) and returns host values ``(n_windows, n_roi_a, n_roi_b)``.
    """

    def __init__(self, sig, band, measure, geo, span, max_bytes):
        xp = sig.bk.xp
        za, zb = (z[:, span] for z in sig.z[band])
        if measure == "plv":
            za, zb = unit(za), unit(zb)
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
    Two tests run on every window (see :func:`level1`): the **episode** test (a transient
    rise above the series' own tonic level) and the **chance** test (above the synchrony of
    circularly shifted, uncoupled signals). Both are family-wise corrected over all windows,
    ROI pairs and bands. Only the episode test makes episodes.

    Attributes
    ----------
    times : ndarray, shape (n_windows,)
        Window centres in seconds from the first sample of the recording.
    values : ndarray, shape (n_bands, n_roi_a, n_roi_b, n_windows)
        Synchrony per window (NaN for windows touching a ``BAD_`` annotation).
    tonic, tonic_sd : ndarray, shape (n_bands, n_roi_a, n_roi_b)
        Tonic level of each series (median of its windows) and its robust spread
        (1.4826 x the median absolute deviation, an SD for Gaussian values).
    z : ndarray, shape like ``values``
        ``(values - tonic) / tonic_sd``: each window's rise above the tonic level.
    p_values : ndarray, shape like ``values``
        Episode test: family-wise corrected p-values (max-statistic of ``z`` over windows,
        ROI pairs and bands against the block-shuffled null; uncorrected with
        ``correction='none'``).
    threshold : ndarray, shape (n_bands, n_roi_a, n_roi_b)
        A window belongs to an episode when its value exceeds this (``p_values <= alpha``).
    tonic_null_max : ndarray, shape (n_null,)
        Maximum standardised value over the family of each block-shuffled surrogate.
    p_chance : ndarray, shape like ``values``
        Chance test: family-wise corrected p-values of each window against the circular-shift
        null (standardised by each series' surrogate windows).
    chance_threshold : ndarray, shape (n_bands, n_roi_a, n_roi_b)
        A window is above chance when its value exceeds this (``p_chance <= alpha``).
    chance_null_max : ndarray, shape (n_null,)
        Maximum standardised value over the family of each circularly shifted surrogate.
    null_mean, null_sd : ndarray, shape (n_bands, n_roi_a, n_roi_b)
        Mean and SD of non-overlapping surrogate windows (the chance level of one window).
    episodes : list of dict
        One per episode; see :meth:`to_table`.
    chance : list of dict
        One per band and ROI pair; see :meth:`chance_table`.
    bands, roles, roi_names, roi_channels, measure, params
        What the values are: band edges, the two roles, ROI labels per role, their dyad
        channel names, the measure and the analysis parameters.
    """

    _ARRAYS = ("times", "values", "tonic", "tonic_sd", "z", "p_values", "threshold",
               "tonic_null_max", "p_chance", "chance_threshold", "chance_null_max",
               "null_mean", "null_sd")
    _LISTS = ("episodes", "chance")
    _LEVEL = 1

    def __repr__(self):
        return (
            f"<InSyncLevel1 | {self.measure} | {', '.join(self.bands)} | "
            f"{len(self.roi_names[0])} x {len(self.roi_names[1])} ROIs | "
            f"{len(self.times)} windows of {self.params['window']:g} s | "
            f"{len(self.episodes)} episode(s)>"
        )

    @property
    def above_chance(self):
        """Windows above chance (``p_chance <= alpha``), bool, shaped like ``values``."""
        with np.errstate(invalid="ignore"):
            return np.asarray(self.p_chance <= self.params["alpha"])

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
        sample), ``peak`` (highest window value), ``peak_time`` (its window centre),
        ``tonic`` (the series' tonic level), ``z`` (the peak's rise above it in robust SDs),
        ``p`` (the peak's family-wise corrected p of the episode test), ``p_chance`` and
        ``above_chance`` (the peak against the circular-shift chance null, corrected).

        With lead-lag: ``lag`` (s; positive: the first role leads) with its confidence
        interval ``lag_ci_low``, ``lag_ci_high`` (level ``1 - alpha``, jackknife over blocks
        of the episode), ``leader`` (``'<role>-led'`` only when the interval excludes 0, else
        ``'simultaneous'``), ``lag_plv`` (ROI-mean PLV at that lag), ``phase_diff`` (mean
        phase of the first role minus the second at zero lag, radians in (-pi, pi]) with
        its interval ``phase_ci_low``, ``phase_ci_high`` (wrapped into (-pi, pi]: an
        interval across +-pi has ``low > high``), ``phase_cos`` (mean cosine of the phase
        difference), ``p_phase`` (two-sided test of ``phase_cos = 0``) and ``phase``
        (``'in-phase'`` or ``'anti-phase'`` when ``p_phase <= alpha``, by the sign of
        ``phase_cos``; else ``'undetermined'``).

        Returns
        -------
        table : pandas.DataFrame | list of dict
        """
        return as_table(self.episodes)

    def chance_table(self):
        """Synchrony above chance, one row per band and ROI pair (not episodes).

        Columns: ``band``, ``roi_a``, ``roi_b``, ``tonic`` (median window value), ``mean``
        (mean window value), ``null_mean`` (its mean over the circular-shift surrogates),
        ``z`` (the mean standardised by the surrogates' means), ``p`` (its p-value, with the
        max-statistic over ROI pairs and bands unless ``correction='none'``),
        ``n_windows`` (windows free of ``BAD_`` annotations), ``n_above_chance`` and
        ``frac_above_chance`` (windows with ``p_chance <= alpha``).

        Returns
        -------
        table : pandas.DataFrame | list of dict
        """
        return as_table(self.chance)

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


def _piece_orders(rng, n_blocks, m, fixed, n_null):
    """Block orders of the tonic null: pieces of ``m`` consecutive blocks, shuffled.

    Pieces holding a ``fixed`` block (``BAD_`` spans) and a last piece shorter than ``m``
    stay in place, so windows touching bad samples are the same in every order.
    """
    n_pieces = n_blocks // m
    stay = fixed[: n_pieces * m].reshape(n_pieces, m).any(axis=1)
    free = np.flatnonzero(~stay)
    orders = np.tile(np.arange(n_blocks), (n_null, 1))
    within = np.arange(m)
    for k in range(n_null):
        piece = np.arange(n_pieces)
        piece[free] = rng.permutation(free)
        orders[k, : n_pieces * m] = (piece[:, None] * m + within).ravel()
    return orders


class _BlockCross:
    """Window values of one band for any order of its blocks (Level 1's tonic null).

    The windows are sums of per-block cross sums :math:`S_{ij}` (and, for coherence, block
    powers; module docstring). Re-ordering those blocks re-orders the recording block by
    block while keeping each block's coupling: a series with the same tonic coupling whose
    transient rises are scattered. The cross sums are computed once when they fit in
    ``max_bytes`` (else per chunk of A channels at every call). Returns host values
    ``(n_windows, n_roi_a, n_roi_b)``.
    """

    def __init__(self, pairs, sig, max_bytes):
        xp = pairs.xp
        self.xp, self.bk, self.geo, self.measure = xp, pairs.bk, pairs.geo, pairs.measure
        self.a_blk = pairs.a_blk
        n_blk, n_a, g = pairs.a_blk.shape
        n_b = pairs.zb.shape[0]
        self.b = pairs.zb[:, : n_blk * g].reshape(n_b, n_blk, g).transpose(1, 2, 0)
        self.ma, self.mb = (xp.asarray(m) for m in _roi_means(sig))
        if self.measure != "plv":
            self.pa = (pairs.a_blk.real**2 + pairs.a_blk.imag**2).sum(-1)  # (n_blk, n_a)
            self.pb = (self.b.real**2 + self.b.imag**2).sum(1)  # (n_blk, n_b)
        # block sums, their re-ordered copy, cumulative sums and window sums per A channel
        chunk = int(max(1, min(n_a, max_bytes // max(1, 48 * (n_blk + 1) * n_b))))
        self.chunks = [(a0, min(n_a, a0 + chunk)) for a0 in range(0, n_a, chunk)]
        self.cache = self._cross(0, n_a) if len(self.chunks) == 1 else None

    def _cross(self, a0, a1):
        return self.xp.matmul(self.a_blk[:, a0:a1], self.b)  # (n_blk, a1 - a0, n_b)

    def __call__(self, order=None):
        xp, geo = self.xp, self.geo
        idx = slice(None) if order is None else xp.asarray(order)
        pa = pb = None
        if self.measure != "plv":
            pa = _window_sum(self.pa[idx], geo.w, geo.h, geo.n, xp)
            pb = _window_sum(self.pb[idx], geo.w, geo.h, geo.n, xp)
        out = xp.zeros((geo.n, self.ma.shape[0], self.mb.shape[0]))
        for a0, a1 in self.chunks:
            s = self.cache if self.cache is not None else self._cross(a0, a1)
            s = _window_sum(s[idx], geo.w, geo.h, geo.n, xp)
            v = _window_values(s, self.measure, geo, None if pa is None else pa[:, a0:a1],
                               pb, xp)
            del s
            # ROI means: A's channels (rows) and B's channels (columns), two small products
            out += xp.matmul(self.ma[:, a0:a1], xp.matmul(v, self.mb.T))
        return self.bk.to_numpy(out)


_MAD_TO_SD = 1.482602218505602  # 1 / Phi^-1(3/4): MAD x this = SD, for Gaussian values


def _robust_level(v):
    """Median and robust SD (MAD scaled to an SD) over the first axis (windows)."""
    med = np.median(v, axis=0)
    return med, _MAD_TO_SD * np.median(np.abs(v - med), axis=0)


def _standardise(v, loc, scale):
    """``(v - loc) / scale``; 0 where the scale is 0 (a constant series rises nowhere)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (v - loc) / scale
    return np.where(scale > 0, z, np.where(np.isnan(v), np.nan, 0.0))


def _count_p(stat, ref):
    """``(1 + #{ref >= stat}) / (len(ref) + 1)`` for every entry of ``stat`` (NaN stays).

    ``ref`` holds the null's family maxima (max-statistic) or one series' null values.
    """
    ref = np.sort(np.asarray(ref, float).ravel())
    ref = ref[~np.isnan(ref)]
    stat = np.asarray(stat, float)
    ge = len(ref) - np.searchsorted(ref, np.where(np.isnan(stat), np.inf, stat), "left")
    return np.where(np.isnan(stat), np.nan, (1.0 + ge) / (len(ref) + 1.0))


def _critical(ref, alpha):
    """The value that ``stat`` must exceed for ``_count_p(stat, ref) <= alpha``."""
    ref = np.sort(np.asarray(ref, float).ravel())[::-1]
    ref = ref[~np.isnan(ref)]
    # p <= alpha  <=>  fewer than alpha * (N + 1) references reach the value
    k = int(np.floor(alpha * (len(ref) + 1) + 1e-9)) - 1
    return float(ref[k]) if 0 <= k < len(ref) else np.inf


def _run_null(func, draws, n_jobs, bk, mesg):
    """``[func(d) for d in draws]``, in ``n_jobs`` threads with NumPy (it releases the GIL)."""
    with ThreadPoolExecutor(n_jobs if bk.name == "numpy" else 1) as pool:
        return list(ProgressBar(pool.map(func, draws), max_value=len(draws), mesg=mesg))


def _check_valid_windows(raw, valid, window, step):
    """Refuse a recording with (almost) no windows free of ``BAD_`` spans; warn on few.

    The tonic level and spread of a series (median and MAD of its windows) need a few
    windows; ``2 * window / step`` windows (two windows' worth of independent data) are
    about the least that makes them meaningful.
    """
    spans = [f"{on / raw.info['sfreq']:.1f}-{off / raw.info['sfreq']:.1f} s"
             for on, off in zip(*bad_spans(raw))]
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
        warn(f"{n - n_ok} of {n} windows touch BAD_ annotations ({listed}) and are left "
             "out of Level 1.")


def _episode_bounds(times, vals, sig, chance, tonic, step, window, t_end):
    """Episodes of one series: supra-threshold runs, bounded at half height.

    A run of significant windows is a detection. Its height :math:`P` is the median of the
    run's values (robust to single noisy windows). A window overlapping a coupled stretch
    with a fraction :math:`f` sums the coherent parts of the stretch and of the tonic
    coupling around it, plus incoherent noise at the chance level :math:`B` (mean of
    circular-shift surrogate windows). With coherent parts
    :math:`c_P = \\sqrt{P^2 - B^2}` and :math:`c_T = \\sqrt{T^2 - B^2}` (``tonic`` level
    :math:`T`; 0 when at chance) its value is about
    :math:`\\sqrt{(f c_P + (1 - f) c_T)^2 + B^2}`. The boundaries are where the series
    crosses the value of a half-coupled window (:math:`f = 1/2`), interpolated between
    window centres: there the window centre sits on the stretch's edge. Returns
    ``[onset, offset, peak index]`` per run.
    """
    out = []
    v = np.where(np.isfinite(vals), vals, -np.inf)
    n = len(v)
    padded = np.concatenate([[0], sig.astype(int), [0]])
    starts = np.flatnonzero(np.diff(padded) == 1)
    stops = np.flatnonzero(np.diff(padded) == -1) - 1  # last window of the run
    c_t = np.sqrt(max(tonic**2 - chance**2, 0.0))
    for s0, s1 in zip(starts, stops):
        pk = s0 + int(np.argmax(v[s0 : s1 + 1]))
        height = np.median(v[s0 : s1 + 1])
        c_p = np.sqrt(max(height**2 - chance**2, 0.0))
        half = np.sqrt((0.5 * (c_p + c_t)) ** 2 + chance**2)
        i = s0
        if v[i] >= half:  # walk out of the run while still above half height
            while i > 0 and v[i - 1] >= half:
                i -= 1
        else:  # or into it until half height is reached
            while v[i] < half:
                i += 1
        if i == 0 or not np.isfinite(v[i - 1]):
            onset = max(0.0, times[i] - window / 2.0) if i == 0 else times[i] - step / 2.0
        else:
            onset = times[i - 1] + step * (half - v[i - 1]) / (v[i] - v[i - 1])
        j = s1
        if v[j] >= half:
            while j < n - 1 and v[j + 1] >= half:
                j += 1
        else:
            while v[j] < half:
                j -= 1
        if j == n - 1 or not np.isfinite(v[j + 1]):
            offset = min(t_end, times[j] + window / 2.0) if j == n - 1 else times[j] + step / 2.0
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


def _jackknife_se(reps, axis=0):
    """Delete-one jackknife standard error from the leave-one-out replicates."""
    reps = np.asarray(reps, float)
    k = reps.shape[axis]
    dev = reps - reps.mean(axis=axis, keepdims=True)
    return np.sqrt((k - 1) / k * np.sum(dev**2, axis=axis))


def _asymmetry(plv, h):
    """``D(i) = sum_{d=1..h} plv[i + d] - plv[i - d]`` for ``i`` in ``[h, n_lags - h)``.

    Positive where the PLV curve is higher on the side of larger lags: its peak lies to the
    right. ``plv``: (..., n_lags).
    """
    c = np.concatenate([np.zeros(plv.shape[:-1] + (1,)), np.cumsum(plv, axis=-1)], axis=-1)
    i = np.arange(h, plv.shape[-1] - h)
    return (c[..., i + h + 1] - c[..., i + 1]) - (c[..., i] - c[..., i - h])


def _centre(d, start):
    """Fractional index of the zero crossing of the falling curve ``d`` nearest ``start``."""
    k = int(np.clip(start, 0, len(d) - 1))
    if d[k] > 0:  # the peak lies to the right: walk right to the crossing
        while k + 1 < len(d) and d[k + 1] > 0:
            k += 1
        if k + 1 == len(d):
            return float(k)
        return k + d[k] / (d[k] - d[k + 1])
    while k > 0 and d[k - 1] <= 0:  # or left
        k -= 1
    if k == 0:
        return 0.0
    return k - 1 + d[k - 1] / (d[k - 1] - d[k])


def _accepted(t, x, crit):
    """The interval around ``x`` (where ``t`` = 0) in which the linear ``t`` stays in +-crit."""
    n = len(t)
    out = []
    for step in (-1, 1):
        k = int(np.floor(x)) if step < 0 else int(np.ceil(x))
        prev_k, prev_t = x, 0.0
        while 0 <= k < n and abs(t[k]) <= crit:
            prev_k, prev_t = k, t[k]
            k += step
        if not 0 <= k < n:  # accepted up to the searched range
            out.append(float(prev_k))
            continue
        # |t| crosses crit between prev_k and k
        target = np.sign(t[k]) * crit
        frac = (target - prev_t) / (t[k] - prev_t) if t[k] != prev_t else 0.0
        out.append(float(prev_k + frac * (k - prev_k)))
    return out[0], out[1]


def _lead_lag(ua, ub, i0, i1, k_max, sfreq_dec, bandwidth, roles, alpha, max_bytes):
    """Lag, leader and phase relation of one episode, with jackknife confidence intervals.

    ``ua``, ``ub``: unit phasors of the two ROIs (host arrays, (n, T)); the episode spans
    decimated samples ``[i0, i1)``. ``PLV(tau)`` is the ROI-mean PLV of A(t) with
    B(t + tau). The lag is the centre of symmetry of its peak: the zero of
    :math:`D(\\tau) = \\sum_{d=1}^{h} PLV(\\tau + d) - PLV(\\tau - d)` near the highest PLV,
    with :math:`h` = 1 / bandwidth (the half-width of the peak). The episode is cut into
    ``K`` contiguous blocks (4 <= K <= 20, at least 2 / bandwidth long) and the cross sums
    are kept per block, so every delete-one-block replicate is the total minus one block.
    :math:`D(\\tau_0) / \\mathrm{SE}_{jack}` tests "the peak is centred at :math:`\\tau_0`"
    (Student's t, K - 1 degrees of freedom; a smooth statistic, which the jackknife suits,
    unlike the peak's location itself); the confidence interval of the lag holds the lags
    around the estimate that this test accepts. Phase: the angle of the summed cross term, its
    interval from the jackknife, and a two-sided jackknife t-test of the mean cosine of the
    phase difference, at zero lag.
    """
    n_t = ua.shape[1]
    s0, s1 = max(i0, k_max), min(i1, n_t - k_max)
    if s1 - s0 < 2:  # the episode lies within max_lag of the recording's ends
        s0, s1 = i0, i1
        k_max = min(k_max, s0, n_t - s1)
    n = s1 - s0
    n_block = int(np.ceil(2.0 / bandwidth * sfreq_dec))
    n_k = int(min(n, max(4, min(20, n // max(1, n_block)))))
    edges = np.linspace(0, n, n_k + 1).round().astype(int)
    a = ua[:, s0:s1]
    n_lags = 2 * k_max + 1
    b_ext = ub[:, s0 - k_max : s1 + k_max]
    # (n_b, n_lags, n): B(t + lag) for every lag, a strided view
    views = np.lib.stride_tricks.sliding_window_view(b_ext, n, axis=1)
    step = int(max(1, max_bytes // max(1, 32 * ub.shape[0] * n)))
    cross = np.empty((n_k, n_lags, ua.shape[0], ub.shape[0]), complex)
    for l0 in range(0, n_lags, step):
        bl = views[:, l0 : l0 + step].conj().transpose(1, 2, 0)  # (lags, n, n_b)
        for j in range(n_k):
            e0, e1 = edges[j], edges[j + 1]
            cross[j, l0 : l0 + step] = np.matmul(a[None, :, e0:e1], bl[:, e0:e1])
    total = cross.sum(axis=0)
    sizes = np.diff(edges)
    loo = total[None] - cross  # (K, n_lags, n_a, n_b): every block left out in turn
    plv = np.abs(total).mean(axis=(1, 2)) / n
    plv_j = np.abs(loo).mean(axis=(2, 3)) / (n - sizes)[:, None]
    h = int(min(max(1, round(sfreq_dec / bandwidth)), max(1, (n_lags - 1) // 2 - 1)))
    d, d_j = _asymmetry(plv, h), _asymmetry(plv_j, h)  # lags -k_max + h ... k_max - h
    se = _jackknife_se(d_j)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(se > 0, d / se, np.where(d == 0, 0.0, np.inf * np.sign(d)))
    crit = float(student_t.ppf(1.0 - alpha / 2.0, n_k - 1))
    best = int(np.clip(np.argmax(plv), h, n_lags - 1 - h)) - h
    x = _centre(d, best)
    lo, hi = _accepted(t, x, crit)
    to_s = lambda i: (i + h - k_max) / sfreq_dec  # noqa: E731  (index of d -> lag in s)
    lag, lo, hi = to_s(x), to_s(lo), to_s(hi)
    if lo > 0:
        leader = f"{roles[0]}-led"
    elif hi < 0:
        leader = f"{roles[1]}-led"
    else:
        leader = "simultaneous"

    # the phase relation at zero lag: the instantaneous phase difference (at the estimated
    # lag it would carry the lag's error, 2 pi f dt, which is large for narrow bands)
    full = complex(total[k_max].sum())
    reps = loo[:, k_max].sum(axis=(1, 2))
    n_pairs = ua.shape[0] * ub.shape[0]
    phase = float(np.angle(full))
    dev = np.angle(reps * np.conj(full))  # replicate phases relative to the estimate
    ph_half = crit * float(_jackknife_se(dev))
    ph_lo, ph_hi = (-np.pi, np.pi) if ph_half >= np.pi else (phase - ph_half, phase + ph_half)
    cos = full.real / (n * n_pairs)
    se_cos = float(_jackknife_se(reps.real / ((n - sizes) * n_pairs)))
    if se_cos > 0:
        p_phase = float(2 * student_t.sf(abs(cos) / se_cos, n_k - 1))
    else:
        p_phase = float(cos == 0)
    if p_phase <= alpha:
        label = "in-phase" if cos > 0 else "anti-phase"
    else:
        label = "undetermined"
    return dict(
        lag=float(lag), lag_ci_low=float(lo), lag_ci_high=float(hi), leader=leader,
        lag_plv=float(plv[int(round(x)) + h]), phase_diff=phase, phase_ci_low=_wrap(ph_lo),
        phase_ci_high=_wrap(ph_hi), phase_cos=float(cos), p_phase=p_phase, phase=label,
    )


def _wrap(phase):
    """An angle in [-pi, pi]."""
    return float(np.angle(np.exp(1j * phase)))


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
    shuffle_block="auto",
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
    pair's channel pairs), by running sums (see the module docstring). Each window is tested
    twice:

    **Episodes: a transient rise above the tonic level.** In the In-Sync model a Level 1
    episode is a brief rise of synchrony above the segment's own tonic (Level 2) level, not
    synchrony above chance: constant coupling over a recording is tonic and makes no episode.
    Pass one segment at a time (e.g. ``raw.copy().crop(...)``; in a study, ``segment=``).
    Each series' tonic level is its median window value :math:`T` and its spread the robust SD
    :math:`S` (1.4826 x median absolute deviation; both barely moved by a few episodes), and a
    window's rise is :math:`z = (v - T) / S`. The null keeps the tonic coupling and scatters
    transient rises: the per-block cross sums of the two people's signals (which hold their
    coupling) are cut into pieces of ``shuffle_block`` s and put in random order, the same
    order for every channel pair and band (pieces touching ``BAD_`` spans stay in place), and
    every window is recomputed; each shuffled series is standardised by its own median and
    robust SD. Standardising each series by itself removes the differences in level and
    spread between ROI pairs and bands (different chance levels, tonic couplings) and the
    slightly smaller variance that breaking the signals' short memory at the cuts gives the
    shuffled windows.

    **Correction** (``correction='maxstat'``, default): one family of all windows, ROI pairs
    and bands. Each of the ``n_null`` shuffles contributes the maximum :math:`M_k` of its
    standardised windows over the family (Nichols & Holmes, 2002), and a window's p-value is
    :math:`(1 + \#\{k: M_k \ge z\}) / (N + 1)`. Windows with :math:`p \le \alpha` are
    significant: the probability that a recording without transient coupling (no coupling,
    or constant coupling of any strength) shows *any* episode is about :math:`\alpha`,
    whatever the number of windows, ROI pairs and bands and their dependence (about, because
    the shuffle keeps each piece's coupling but not the short memory of the signals across
    the cuts). Measured on simulated dyads (``benchmarks/validity/level1.py``; 3-min
    recordings at 250 Hz, 3 x 3 ROI pairs of 3 channels, theta and alpha, 6 s windows every
    0.5 s) the rate was 0.040 with no coupling (400 recordings) and 0.053 and 0.061 under
    constant coupling of 0.2 and 0.4 (400 and 800; ``benchmarks/VALIDITY.md``): strong tonic
    coupling makes the test slightly liberal. ``threshold`` is the value above which a window
    is significant. ``correction='none'`` tests each window
    on its own against non-overlapping windows of its series' shuffles, for exploration.

    **Above chance** (a separate, named result, not episodes). Person B's band signals are
    circularly shifted by ``n_null`` random lags of at least ``min_shift`` s (at most the
    recording length minus ``min_shift``; the same lag in s for every band), which keeps each
    person's spectrum and autocorrelation and destroys their alignment. Each window is
    standardised by its series' surrogate windows (mean and SD) and corrected with the
    maximum over the same family (``p_chance``, ``above_chance``); each series' mean
    window value is tested against the surrogates' means (:meth:`InSyncLevel1.chance_table`).

    **Episodes' bounds.** Runs of significant windows are detections. Each is bounded where
    the series crosses the value of a *half-coupled* window, interpolated between window
    centres: with :math:`P` the run's median value, :math:`T` the tonic level and :math:`B`
    the chance level (mean of circular-shift windows), a window with a fraction :math:`f` of
    the stretch sums its coherent part and that of the tonic coupling around it, plus noise,
    :math:`v(f) \approx \sqrt{(f\sqrt{P^2-B^2} + (1-f)\sqrt{T^2-B^2})^2 + B^2}`, so the
    crossing of :math:`v(1/2)` is where the window centre sits on the stretch's edge.
    Onsets and offsets of episodes longer than ``window`` are thus resolved to about
    ``step``; an episode shorter than ``window`` appears about ``window`` long (the window
    is the time resolution). Episodes less than ``merge_gap`` s apart (or overlapping) are
    merged; those shorter than ``min_duration`` are dropped.

    **Lead-lag.** Within each episode, the ROI-mean PLV of :math:`A(t)` with
    :math:`B(t + \tau)` is computed for every :math:`\tau` in ``[-max_lag, max_lag]`` in steps
    of one decimated sample (``1 / (sfreq / decim)`` s). :math:`\tau > 0` means B follows A.
    The lag is the centre of symmetry of the PLV peak: the zero, near the highest PLV, of
    :math:`D(\tau) = \sum_{d=1}^{h} \mathrm{PLV}(\tau + d) - \mathrm{PLV}(\tau - d)`
    (:math:`h` = 1 / bandwidth, the peak's half-width). The episode is cut into 4-20 blocks
    (at least 2 / bandwidth s each); the delete-one-block jackknife gives the standard error
    of :math:`D(\tau_0)`, and the ``1 - alpha`` confidence interval of the lag holds the lags
    :math:`\tau_0` around the estimate where :math:`|D(\tau_0)| / \mathrm{SE}` stays below
    Student's t (blocks - 1 degrees of freedom). A leader (``'<roleA>-led'`` or
    ``'<roleB>-led'``) is named only when the interval excludes 0, else ``'simultaneous'``:
    at zero lag a leader is named in about ``alpha`` of episodes.

    **Phase relation.** The mean phase difference A - B at zero lag (the instantaneous
    relation; with a lag :math:`\tau` a band at :math:`f` turns by :math:`2 \pi f \tau`, so
    read it with the lag) and its jackknife interval. The mean cosine of the phase
    difference gets a two-sided jackknife t-test (``p_phase``): significantly positive is
    ``'in-phase'``, negative ``'anti-phase'``, else ``'undetermined'`` (no phase relation, or
    near quadrature).

    Parameters
    ----------
    raw : DyadRaw | mne.io.BaseRaw
        The dyad recording (channel names ``'<role>:<channel>'``), one segment; bad channels
        are skipped.
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
        Number of block shuffles (episode test) and of circular shifts (chance test); at
        least ``1 / alpha - 1``.
    shuffle_block : float | 'auto'
        Length in s of the pieces the episode test's null shuffles: a multiple of the greatest
        common divisor of ``window`` and ``step``, at most half the window. ``'auto'``: about
        1 s (at most half the window), longer than the memory of band signals
        (about 1 / bandwidth) so that each piece's coupling is kept, shorter than an episode
        so that episodes are broken up.
    min_shift : float
        Smallest circular shift in s (chance test); the recording must be longer than twice
        this plus the window.
    alpha : float
        Significance level of windows (family-wise with ``'maxstat'``) and ``1 -`` the level
        of the lead-lag and phase intervals.
    correction : 'maxstat' | 'none'
        Multiple-comparison correction (see above).
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
        NaN and never count; NaN or infinite samples inside ``BAD_`` spans are allowed (set
        to 0 before filtering). A recording with too few windows left is an error.
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
        Window series, both tests, episodes (``result.to_table()``), synchrony above chance
        (``result.chance_table()``, ``result.above_chance``) and the episodes' annotations
        (``result.annotations``; add them with :func:`annotate`).
    """
    _validate_type(raw, mne.io.BaseRaw, "raw", "Raw")
    _check_option("measure", measure, WINDOW_MEASURES)
    _check_option("correction", correction, CORRECTIONS)
    sfreq = raw.info["sfreq"]
    bands = check_bands(bands, sfreq)
    alpha = stats.check_alpha(alpha)
    n_null = _check_n_null(n_null, alpha)
    n_win, n_step = _check_window(window, step, bands, sfreq, raw.n_times)
    # windows start and end on a grid of n_unit samples: the blocks of the running sums
    n_unit = gcd(n_win, n_step)
    m = _check_shuffle_block(shuffle_block, n_unit, sfreq, n_win / sfreq, bands)
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
    tonic, tonic_sd = np.empty(shape), np.empty(shape)
    null_mean, null_sd = np.empty(shape), np.empty(shape)
    tonic_max = np.empty((n_null,) + shape)  # per shuffle: max standardised window
    chance_max = np.empty((n_null,) + shape)  # per shift: max window value
    series_null = np.empty((n_null,) + shape)  # per shift: mean window value
    tonic_pool, chance_pool = [], []  # non-overlapping null windows ('none')
    # one set of draws for all bands: the family's maxima keep the bands' dependence
    n_blocks = raw.n_times // n_unit
    bad_blocks = sig.bad[: n_blocks * n_unit].reshape(n_blocks, n_unit).any(axis=1)
    orders = _piece_orders(rng, n_blocks, m, bad_blocks, n_null)
    shifts = _null_shifts(rng, raw.n_times, int(np.ceil(min_shift * sfreq)), n_null)
    _check_valid_windows(raw, ~_bad_windows(sig.bad, 0, _Geometry(
        n_unit, n_win // n_unit, n_step // n_unit, n_windows, raw.n_times)), window, step)
    logger.info(
        f"In-Sync Level 1: {measure} in {', '.join(bands)}, {n_ra} x {n_rb} ROI pairs, "
        f"{n_windows} windows of {window:g} s every {step:g} s, {n_null} block shuffles "
        f"({m * n_unit / sfreq:g} s pieces) and {n_null} circular shifts"
    )
    for bi, band in enumerate(bands):
        q = sig.decim[band]
        n_dec = sig.z[band][0].shape[-1]
        geo = _Geometry(n_unit // q, n_win // n_unit, n_step // n_unit, n_windows, n_dec)
        pairs = _PairSeries(sig, band, measure, geo, slice(None), max_bytes)
        cross = _BlockCross(pairs, sig, max_bytes)
        bad_dec = sig.bad[::q][:n_dec]
        bad_w = _bad_windows(bad_dec, 0, geo)
        valid = ~bad_w
        obs = cross()
        obs[bad_w] = np.nan
        values[bi] = np.moveaxis(obs, 0, -1)
        tonic[bi], tonic_sd[bi] = _robust_level(obs[valid])
        # non-overlapping windows of each null series: the null of one window
        sub = slice(0, None, max(1, -(-geo.w // geo.h)))
        # blocks past the common grid (decimation rounding) stay at the end
        tail = np.arange(n_blocks, geo.n_blocks)

        def shuffled(order):
            v = cross(np.concatenate([order, tail]))[valid]
            loc, scale = _robust_level(v)
            return _standardise(v.max(axis=0), loc, scale), _standardise(v[sub], loc, scale)

        pooled = []
        for k, (vmax, vsub) in enumerate(_run_null(shuffled, orders, n_jobs, bk,
                                                   f"Level 1 tonic null ({band})")):
            tonic_max[k, bi] = vmax
            pooled.append(vsub)
        if correction == "none":
            tonic_pool.append(np.concatenate(pooled, axis=0))

        def shifted(shift):
            s = int(round(shift / q))
            v = pairs(xp.roll(pairs.zb, s, axis=-1))
            if not bad_dec.any():
                return v.max(axis=0), v.mean(axis=0), v[sub]
            v[_bad_windows(bad_dec, s, geo)] = np.nan
            ok = np.isfinite(v[:, 0, 0])
            if not ok.any():  # BAD_ spans of A and of shifted B cover every window
                return np.full(v.shape[1:], np.nan), np.full(v.shape[1:], np.nan), v[sub]
            return v[ok].max(axis=0), v[ok].mean(axis=0), v[sub]

        pooled = []
        for k, (vmax, vmean, vsub) in enumerate(_run_null(shifted, shifts, n_jobs, bk,
                                                          f"Level 1 chance null ({band})")):
            chance_max[k, bi], series_null[k, bi] = vmax, vmean
            pooled.append(vsub)
        pooled = np.concatenate(pooled, axis=0)  # (n_pooled, n_ra, n_rb)
        null_mean[bi] = np.nanmean(pooled, axis=0)
        null_sd[bi] = np.nanstd(pooled, axis=0, ddof=1)
        if correction == "none":
            chance_pool.append(pooled)
    z = _standardise(values, tonic[..., None], tonic_sd[..., None])
    z_chance = _standardise(values, null_mean[..., None], null_sd[..., None])
    chance_z_max = _standardise(chance_max, null_mean, null_sd)
    # (a shift whose BAD_ spans cover every window is NaN and left out)
    s_mean, s_sd = np.nanmean(series_null, axis=0), np.nanstd(series_null, axis=0, ddof=1)
    obs_mean = np.nanmean(values, axis=-1)
    s_z = _standardise(obs_mean, s_mean, s_sd)
    s_null_z = _standardise(series_null, s_mean, s_sd)
    p_values, p_chance = np.empty_like(values), np.empty_like(values)
    threshold, chance_threshold, s_p = np.empty(shape), np.empty(shape), np.empty(shape)
    # the family's maxima (max-statistic) or each series' own null windows ('none')
    fam_t, fam_c = tonic_max.max(axis=(1, 2, 3)), chance_z_max.max(axis=(1, 2, 3))
    fam_s = s_null_z.max(axis=(1, 2, 3))
    for ix in np.ndindex(shape):
        if correction == "maxstat":
            ref_t, ref_c, ref_s = fam_t, fam_c, fam_s
        else:
            bi, ri, ci = ix
            ref_t = tonic_pool[bi][:, ri, ci]
            ref_c = chance_pool[bi][:, ri, ci]
            ref_c = _standardise(ref_c, null_mean[ix], null_sd[ix])
            ref_s = s_null_z[(slice(None),) + ix]
        p_values[ix] = _count_p(z[ix], ref_t)
        p_chance[ix] = _count_p(z_chance[ix], ref_c)
        s_p[ix] = _count_p(s_z[ix], ref_s)
        threshold[ix] = tonic[ix] + tonic_sd[ix] * _critical(ref_t, alpha)
        chance_threshold[ix] = null_mean[ix] + null_sd[ix] * _critical(ref_c, alpha)
    tonic_null_max, chance_null_max = fam_t, fam_c
    with np.errstate(invalid="ignore"):
        above = p_chance <= alpha
    episodes, chance = [], []
    for bi, band in enumerate(bands):
        za, zb = sig.z[band]
        q = sig.decim[band]
        for ri, roi_a in enumerate(sig.roi_names[0]):
            for ci, roi_b in enumerate(sig.roi_names[1]):
                ix = (bi, ri, ci)
                n_valid = int(np.isfinite(values[ix]).sum())
                chance.append(dict(
                    band=band, roi_a=roi_a, roi_b=roi_b, tonic=float(tonic[ix]),
                    mean=float(obs_mean[ix]), null_mean=float(s_mean[ix]), z=float(s_z[ix]),
                    p=float(s_p[ix]), n_windows=n_valid,
                    n_above_chance=int(above[ix].sum()),
                    frac_above_chance=float(above[ix].sum() / max(n_valid, 1)),
                ))
                obs, p = values[ix], p_values[ix]
                with np.errstate(invalid="ignore"):
                    sig_w = p <= alpha
                if not sig_w.any():
                    continue
                found = _episode_bounds(times, obs, sig_w, null_mean[ix], tonic[ix],
                                        n_step / sfreq, n_win / sfreq, t_end)
                found = _merge_episodes(found, obs, float(merge_gap), min_duration)
                if lead_lag:
                    ua = bk.to_numpy(unit(za[sig.idx[0][ri]]))
                    ub = bk.to_numpy(unit(zb[sig.idx[1][ci]]))
                for on, off, pk in found:
                    row = dict(
                        band=band, roi_a=roi_a, roi_b=roi_b, onset=float(on),
                        duration=float(off - on), peak=float(obs[pk]),
                        peak_time=float(times[pk]), tonic=float(tonic[ix]),
                        z=float(z[ix][pk]), p=float(p[pk]), p_chance=float(p_chance[ix][pk]),
                        above_chance=bool(above[ix][pk]),
                    )
                    if lead_lag:
                        fmin, fmax = bands[band]
                        row.update(_lead_lag(
                            ua, ub, int(round(on * sfreq / q)), int(round(off * sfreq / q)),
                            int(round(max_lag * sfreq / q)), sfreq / q, fmax - fmin, roles,
                            alpha, max_bytes,
                        ))
                    episodes.append(row)
    episodes.sort(key=lambda e: (e["onset"], e["band"], e["roi_a"], e["roi_b"]))
    logger.info(f"In-Sync Level 1: {len(episodes)} episode(s)")
    params = dict(
        window=n_win / sfreq, step=n_step / sfreq, n_null=n_null,
        shuffle_block=m * n_unit / sfreq, min_shift=min_shift, alpha=alpha,
        correction=correction, merge_gap=float(merge_gap), min_duration=min_duration,
        max_lag=max_lag, sfreq=sfreq, decim={b: int(q) for b, q in sig.decim.items()},
        precision=precision, backend=bk.name, reject_by_annotation=bool(reject_by_annotation),
        first_time=float(sig.first_time), orig_time=_orig_time_str(sig.orig_time),
    )
    return InSyncLevel1(
        times=times, values=values, tonic=tonic, tonic_sd=tonic_sd, z=z, p_values=p_values,
        threshold=threshold, tonic_null_max=tonic_null_max, p_chance=p_chance,
        chance_threshold=chance_threshold, chance_null_max=chance_null_max,
        null_mean=null_mean, null_sd=null_sd, episodes=episodes, chance=chance, bands=bands,
        roles=roles, roi_names=sig.roi_names, roi_channels=sig.roi_chs, measure=measure,
        params=params,
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
        (start,), (stop,) = annotation_spans(raw, hits[:1])
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
    za, zb = (unit(z[:, span]) for z in sig.z[band])
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
    tail = resolve_tails(tail, [measure])[measure]
    sfreq = raw.info["sfreq"]
    bands = check_bands(bands, sfreq)
    alpha = stats.check_alpha(alpha)
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
            draws = shuffle_orders(rng, n_epochs, n_null, "epochs")
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
    ``orig_time`` handled as by :meth:`mne.io.Raw.set_annotations`). A result computed on a
    segment cropped from the recording (``raw.copy().crop(...)``, as Level 1 wants one
    segment at a time) lands at its place in the whole recording. The annotations are
    ordinary ones: they show in ``raw.plot()`` and survive ``raw.save`` and
    :func:`hyperinsync.dyad.read_dyad_raw`.

    Parameters
    ----------
    raw : DyadRaw | mne.io.BaseRaw
        The recording the results were computed on, or the recording a segment they were
        computed on was cropped from (same sampling rate).
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
            # raw.annotations count from first_time (relative to orig_time if set); the
            # result's onsets count from the first sample of the recording it was computed
            # on, which may be a segment cropped from this one
            first = res.params.get("first_time", raw.first_time)
            ann.append(new.onset + first, new.duration, new.description,
                       ch_names=new.ch_names)
    return raw
