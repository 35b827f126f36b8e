"""The results of In-Sync Levels 1 and 2: window series, episodes, segments, annotations."""

from __future__ import annotations

import mne
import numpy as np

from .._utils import as_table, insync_description
from ..base import BaseResult, deprecated_getter

# the columns of the episode table (also when there is no episode)
EPISODE_COLUMNS = (
    "band",
    "roi_a",
    "roi_b",
    "onset",
    "duration",
    "peak",
    "peak_time",
    "tonic",
    "z",
    "p",
    "p_chance",
    "above_chance",
)


class _WindowResult(BaseResult):
    """What Level 1 and Level 2 results share: ROI labels, annotations, serialisation."""

    _ARRAYS = ()
    _LISTS = ()
    _LEVEL = 0
    # results written before the rename n_null -> n_surrogates store n_null in params
    _RENAMED_PARAMS = {"n_null": "n_surrogates"}

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
        self.roi_channels = {
            k: {r: list(c) for r, c in v.items()} for k, v in dict(roi_channels).items()
        }
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
            desc.append(insync_description(self._LEVEL, r["band"], r["roi_a"], r["roi_b"]))
            chs.append(first[r["roi_a"]] + second[r["roi_b"]])
        return mne.Annotations(onset, duration, desc, orig_time=None, ch_names=chs)

    @property
    def _FIELDS(self):
        return (
            self._ARRAYS
            + self._LISTS
            + ("bands", "roles", "roi_names", "roi_channels", "measure", "params")
        )

    @property
    def labels(self):
        """The axes of ``values``: ``{'band', 'roi_a', 'roi_b'}`` (Level 2: segment first)."""
        return dict(
            band=list(self.bands), roi_a=list(self.roi_names[0]), roi_b=list(self.roi_names[1])
        )

    def _pair_index(self, band, roi_a, roi_b):
        """Positions of a band (None: the only one) and of two ROIs (None: all)."""
        return (
            self._pick("band", band),
            self._pick("roi_a", roi_a, keep=True),
            self._pick("roi_b", roi_b, keep=True),
        )

    def _index(self, band, roi_a, roi_b):
        """Positions of a band and a ROI pair, all three named (the deprecated getters)."""
        for what, val in (("band", band), ("roi_a", roi_a), ("roi_b", roi_b)):
            if val is None:
                raise ValueError(f"{what} {val!r} is not in this result: {self.labels[what]}.")
        return self._pair_index(band, roi_a, roi_b)


class InSyncLevel1(_WindowResult):
    """In-Sync Level 1 (phasic) result: sliding-window synchrony and its episodes.

    Made by :func:`level1`; rebuild from :meth:`to_dict` output with :meth:`from_dict`.
    Two tests run on every window (see :func:`level1`): the **episode** test (a transient
    rise above the series' own tonic level) and the **chance** test (above the synchrony of
    circularly shifted, uncoupled signals). Both are family-wise corrected over all windows,
    ROI pairs and bands. Only the episode test makes episodes. Each parameter is kept as
    the attribute of the same name.

    Parameters
    ----------
    bands : dict
        ``{name: (fmin, fmax)}``: the band edges in Hz.
    roles : tuple of str
        The two roles.
    roi_names : list of list of str
        The ROI labels of the first and of the second role.
    roi_channels : dict
        ``{role: {roi: [dyad channel names]}}``.
    measure : str
        The measure (``'plv'``, ``'coh'`` or ``'imcoh'``).
    params : dict
        The analysis parameters.
    **fields
        The arrays and tables listed under Attributes, by name.

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
    """

    _ARRAYS = (
        "times",
        "values",
        "tonic",
        "tonic_sd",
        "z",
        "p_values",
        "threshold",
        "tonic_null_max",
        "p_chance",
        "chance_threshold",
        "chance_null_max",
        "null_mean",
        "null_sd",
    )
    _LISTS = ("episodes", "chance")
    _LEVEL = 1

    def __repr__(self):
        """Return the one-line summary that ``repr()`` shows."""
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

    # the kinds of values get_data returns: per window, or per series (band and ROI pair)
    KINDS = (
        "values",
        "z",
        "p_values",
        "p_chance",
        "above_chance",
        "tonic",
        "tonic_sd",
        "threshold",
        "chance_threshold",
        "null_mean",
        "null_sd",
    )

    def get_data(self, band=None, roi_a=None, roi_b=None, *, kind="values"):
        """Return values of one band as an array (window centres: ``times``).

        Parameters
        ----------
        band : str | None
            Band name (None when the result holds one band).
        roi_a, roi_b : str | None
            ROI labels of the first and second role; ``None``: all.
        kind : str
            Per window: ``'values'``, ``'z'``, ``'p_values'``, ``'p_chance'``,
            ``'above_chance'``; per series: ``'tonic'``, ``'tonic_sd'``, ``'threshold'``,
            ``'chance_threshold'``, ``'null_mean'``, ``'null_sd'`` (see the attributes).

        Returns
        -------
        values : ndarray, shape (n_roi_a, n_roi_b, n_windows)
            Without the ROI axes picked by ``roi_a`` / ``roi_b``, and without the window
            axis for the per-series kinds.
        """
        self._kind(kind, self.KINDS)
        bi, ri, ci = self._pair_index(band, roi_a, roi_b)
        return np.asarray(getattr(self, kind))[bi, ri, ci]

    def get_series(self, band, roi_a, roi_b):
        """Return the window values of one band and ROI pair (deprecated).

        Deprecated: use ``(result.times, result.get_data(band, roi_a, roi_b))``.

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
        deprecated_getter(
            "InSyncLevel1.get_series(band, roi_a, roi_b)",
            "(result.times, result.get_data(band, roi_a, roi_b))",
        )
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
        table : pandas.DataFrame
            One row per episode (columns above).
        """
        return as_table(self.episodes, EPISODE_COLUMNS)

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
        table : pandas.DataFrame
            One row per band and ROI pair (columns above).
        """
        return as_table(self.chance)

    def _annotated_rows(self):
        return self.episodes


class InSyncLevel2(_WindowResult):
    """In-Sync Level 2 (tonic) result: synchrony per segment and block, and their changes.

    Made by :func:`level2`; rebuild from :meth:`to_dict` output with :meth:`from_dict`.
    Each parameter is kept as the attribute of the same name.

    Parameters
    ----------
    phase : ndarray, shape (n_segments, n_bands, n_roi_a, n_roi_b) | None
        Mean phase difference A - B in radians (angle of the summed unit-phasor cross
        products over the segment's clean epochs and the ROI pair's channel pairs).
    **fields
        ``bands``, ``roles``, ``roi_names``, ``roi_channels``, ``measure`` and ``params``
        as in :class:`InSyncLevel1`, and the arrays and tables listed under Attributes, by
        name.

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
    segments : list of dict
        ``name``, ``kind`` (``'segment'`` or ``'block'``), ``onset``, ``duration`` (s from the
        first sample), ``n_epochs`` (clean ones). Segments left out are listed in
        ``params['excluded']`` with the reason.
    """

    _ARRAYS = ("values", "null")
    _LISTS = ("segments", "rows", "contrasts")
    _LEVEL = 2

    def __init__(self, *, phase=None, **fields):
        super().__init__(**fields)
        self.phase = None if phase is None else np.asarray(phase, float)

    _OPTIONAL = ("phase",)

    @property
    def _FIELDS(self):
        return super()._FIELDS + ("phase",)

    @property
    def labels(self):
        """``{'segment', 'band', 'roi_a', 'roi_b'}``: the axes of ``values``."""
        return dict(segment=[s["name"] for s in self.segments], **super().labels)

    def __repr__(self):
        """Return the one-line summary that ``repr()`` shows."""
        return (
            f"<InSyncLevel2 | {self.measure} | {', '.join(self.bands)} | "
            f"{len(self.segments)} segment(s)/block(s) | {len(self.contrasts)} contrast row(s)>"
        )

    KINDS = ("values", "null", "phase")

    def get_data(self, segment=None, band=None, roi_a=None, roi_b=None, *, kind="values"):
        """Return the synchrony of one segment and band as an array.

        Parameters
        ----------
        segment : str | None
            Segment name (e.g. ``'rest_post'``) or block name (``'block001'``, ...); None
            when the result holds one.
        band : str | None
            Band name (None when the result holds one band).
        roi_a, roi_b : str | None
            ROI labels of the first and second role; ``None``: all.
        kind : 'values' | 'null' | 'phase'
            Observed synchrony, the surrogate values (a leading surrogate axis) or the mean
            phase difference.

        Returns
        -------
        values : ndarray, shape (n_roi_a, n_roi_b)
            Without the ROI axes picked by ``roi_a`` / ``roi_b`` (a 0-d array when both are).
        """
        self._kind(kind, self.KINDS)
        si = self._pick("segment", segment)
        bi, ri, ci = self._pair_index(band, roi_a, roi_b)
        if kind == "phase" and self.phase is None:
            raise ValueError("This result has no phase (computed without it).")
        src = getattr(self, kind)[si]
        return np.asarray(src[:, bi, ri, ci] if kind == "null" else src[bi, ri, ci])

    def get_value(self, segment, band, roi_a, roi_b):
        """Return the observed synchrony of one segment, band and ROI pair (deprecated).

        Deprecated: use ``float(result.get_data(segment, band, roi_a, roi_b))``.

        Parameters
        ----------
        segment : str
            Segment name (e.g. ``'rest_post'``) or block name (``'block001'``, ...).
        band, roi_a, roi_b : str
            Band and ROI labels of the first and second role.

        Returns
        -------
        value : float
            The segment's synchrony for that band and ROI pair.
        """
        deprecated_getter(
            "InSyncLevel2.get_value(segment, band, roi_a, roi_b)",
            "float(result.get_data(segment, band, roi_a, roi_b))",
        )
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
        :func:`hyperinsync.sync.measures.phase_relation`; meaningful where significant).

        Returns
        -------
        table : pandas.DataFrame
            One row per segment (or block), band and ROI pair (columns above).
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
        table : pandas.DataFrame
            One row per contrast, band and ROI pair (columns above).
        """
        return as_table(self.contrasts)

    def _annotated_rows(self):
        return [r for r in self.rows if r["significant"]]
