"""The result of :func:`hyperinsync.lagged_sync`: :class:`LaggedSyncResult`."""

from __future__ import annotations

import mne
import numpy as np

from .._utils import _check_option, as_table, insync_description
from ..base import BaseResult, deprecated_getter
from ..roles import split_ch_name
from ..sync.lagged import peak_lag, window_summaries

# the columns of the episode table (also when there is no episode)
EPISODE_COLUMNS = (
    "modality",
    "onset",
    "duration",
    "n_windows",
    "peak",
    "p",
    "lag",
    "lag_ci_low",
    "lag_ci_high",
    "lead",
    "lead_p",
    "n_blocks",
    "leader",
    "signed_peak",
    "phase",
)


class LaggedSyncResult(BaseResult):
    """Windowed lagged cross-correlation of a dyad and its statistics.

    Made by :func:`lagged_sync`; rebuild from :meth:`to_dict` output with
    :meth:`from_dict`. Its labels are ``modality`` (the analysed pairs), ``window`` (the
    windows' start times, s) and ``lag`` (s); :meth:`get_data` picks by them. Each
    parameter is kept as the attribute of the same name.

    Parameters
    ----------
    roles : tuple of str
        The two roles; a positive lag means the first leads.
    modalities : list of str
        One name per analysed pair of channels.
    channels : dict
        ``{modality: (dyad channel of the first role, of the second)}``.
    sessions : list of dict
        One row per modality, whole recording (see :meth:`to_table`).
    segments : list of dict
        One row per modality and annotated segment.
    episodes : list of dict
        Level 1 episodes.
    params : dict
        Every parameter of the analysis (``definition``, ``window``, ``lag``, ``step``,
        ``sfreq``, ``null``, ``n_surrogates``, ...).
    **arrays
        The arrays listed under Attributes, by name.

    Attributes
    ----------
    lags : ndarray, shape (n_lags,)
        Lags in seconds.
    window_starts : ndarray, shape (n_windows,)
        Start of each window's lag-0 segment, in seconds from the first sample.
    values : ndarray, shape (n_modalities, n_windows, n_lags)
        Signed Fisher z (or r) per window and lag; NaN for missing windows or lags.
    null_sum_abs, null_sum_signed, null_count : ndarray, shape (n_modalities, n_sur, n_windows)
        Per surrogate and window: the sums of :math:`|z|` and of :math:`z` over lags and the
        number of valid lags (empty without surrogates).
    window_p : ndarray, shape (n_modalities, n_windows)
        Per-window p-values, family-wise corrected over windows (NaN without surrogates).
    """

    _ARRAYS = (
        "lags",
        "window_starts",
        "values",
        "null_sum_abs",
        "null_sum_signed",
        "null_count",
        "window_p",
    )
    _FIELDS = _ARRAYS + (
        "roles",
        "modalities",
        "channels",
        "sessions",
        "segments",
        "episodes",
        "params",
    )
    # the kinds of values get_data returns: per window and lag, or per window
    KINDS = ("values", "window_p")

    def __init__(
        self, *, roles, modalities, channels, sessions, segments, episodes, params, **arrays
    ):
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
        """Return the one-line summary that ``repr()`` shows."""
        return (
            f"<LaggedSyncResult | {self.params['definition']} | "
            f"{', '.join(self.modalities)} | {len(self.window_starts)} windows of "
            f"{self.params['window']:g} s, lags +/-{self.params['lag']:g} s | "
            f"{self.params['n_surrogates']} surrogates | {len(self.episodes)} episode(s)>"
        )

    @property
    def labels(self):
        """The axes of ``values``: ``{'modality', 'window', 'lag'}``.

        Window start times and lags are in seconds.
        """
        return dict(
            modality=list(self.modalities),
            window=[float(t) for t in self.window_starts],
            lag=[float(t) for t in self.lags],
        )

    def get_data(self, modality=None, *, absolute=None, kind="values"):
        """Return the values of one modality as an array.

        Parameters
        ----------
        modality : str | None
            The modality (pair) name; ``None`` when the result holds one.
        absolute : bool | None
            ``kind='values'``: absolute values (rMEA's ABS) or signed ones; ``None``: as the
            analysis (``params['absolute']``).
        kind : 'values' | 'window_p'
            ``'values'``: Fisher z (or r) per window and lag (NaN where missing);
            ``'window_p'``: each window's family-wise corrected p (NaN without
            surrogates).

        Returns
        -------
        values : ndarray, shape (n_windows, n_lags) | (n_windows,)
            A copy.
        """
        self._kind(kind, self.KINDS)
        mi = self._pick("modality", modality)
        if kind == "window_p":
            if not self.window_p.size:
                return np.full(len(self.window_starts), np.nan)
            return self.window_p[mi].copy()
        v = self.values[mi]
        absolute = self.params["absolute"] if absolute is None else absolute
        return np.abs(v) if absolute else v.copy()

    def get_values(self, modality, absolute=None):
        """Return the window x lag matrix of one modality (deprecated).

        Deprecated: use ``result.get_data(modality, absolute=absolute)``.

        Parameters
        ----------
        modality : str
            The modality (pair) name.
        absolute : bool | None
            Absolute values; ``None`` uses the analysis' ``absolute``.

        Returns
        -------
        values : ndarray, shape (n_windows, n_lags)
            Signed Fisher z (or r) per window and lag (absolute values with ``absolute``).
        """
        deprecated_getter(
            "LaggedSyncResult.get_values(modality, absolute)",
            "result.get_data(modality, absolute=absolute)",
        )
        return self.get_data(modality, absolute=absolute)

    def _window_rows(self):
        rows = []
        win = self.params["window"]
        for mi, mod in enumerate(self.modalities):
            vals = self.get_data(mod)
            summ = window_summaries(vals, self.lags)
            best, peak = peak_lag(vals, self.lags)
            for w, t in enumerate(self.window_starts):
                rows.append(
                    dict(
                        modality=mod,
                        window=w,
                        onset=float(t),
                        duration=float(win),
                        **{k: float(v[w]) for k, v in summ.items()},
                        best_lag=float(best[w]),
                        peak=float(peak[w]),
                        valid=bool(np.isfinite(vals[w]).any()),
                        p=float(self.window_p[mi, w]) if self.window_p.size else np.nan,
                    )
                )
        return rows

    def grand_average(self, modality):
        """Return the mean of all window x lag values (NaN-aware; rMEA's ``grandAver``).

        Parameters
        ----------
        modality : str
            The modality (pair) name.

        Returns
        -------
        mean : float
            The mean of the values as analysed (NaN when none is valid).
        """
        v = self.get_data(modality)
        return float(np.nanmean(v)) if np.isfinite(v).any() else np.nan

    def to_table(self, level="session"):
        """Return the results as a tidy table.

        Parameters
        ----------
        level : 'session' | 'segment' | 'window' | 'episode'
            ``'session'``: one row per modality over the whole recording: ``sync`` (mean
            :math:`|z|`), ``sync_p``, ``sync_null_mean``, ``sync_null_sd``,
            ``sync_effect_size`` (SUSY-style), ``sync_corrected`` (``sync`` minus the
            surrogates' mean: synchrony above the recording's own chance level),
            ``sync_p_fdr`` (``sync_p`` corrected by Benjamini-Hochberg over the result's
            Level 2 family: every modality's session and segment rows), ``synchrony``
            (``'above chance'`` when ``sync_p <= alpha``); ``phase_value`` (the signed lag
            profile at its strongest lag, ``phase_lag``), ``phase_p`` (two-sided), ``phase``
            (``'in-phase'``, ``'anti-phase'``, ``'none'``); ``lead`` (:math:`D`, first role
            minus second),
            ``lead_p``, ``lead_ci_low``/``_high``, ``leader``, ``peak_lag`` (s) with
            ``peak_lag_ci_low``/``_high``; ``n_windows``, ``n_windows_valid``,
            ``grand_average`` (of the values as analysed), ``n_blocks``; with
            ``definition='susy'`` SUSY's own numbers (``susy_ES``, ...). ``'segment'``: the
            same per annotated segment. ``'window'``: rMEA's per-window summaries
            (``all_lags``, ``a_leads``/``b_leads`` = mean over positive / negative lags,
            ``a_leads_0``/``b_leads_0`` with lag 0, ``lag_zero``, ``best_lag``, ``peak``),
            ``valid`` and the corrected window ``p``. ``'episode'``: Level 1 episodes:
            ``onset``, ``duration`` (s from the first sample), ``n_windows``, ``peak`` and
            ``p`` (the smallest corrected window p), ``lag`` (peak of the episode's mean
            :math:`|z|` lag profile) with ``lag_ci_low``/``_high``, ``lead``, ``lead_p``,
            ``n_blocks`` and ``leader`` (the lead test over the episode's windows; see
            :mod:`hyperinsync.stats.lagged`), ``signed_peak`` and ``phase`` (its sign).

        Returns
        -------
        table : pandas.DataFrame
            The rows of ``level`` (columns above).
        """
        _check_option("level", level, ("session", "segment", "window", "episode"))
        if level == "episode":
            return as_table(self.episodes, EPISODE_COLUMNS)
        rows = {"session": self.sessions, "segment": self.segments}.get(level)
        return as_table(
            self._window_rows() if rows is None else rows,
            ("modality",) + (("segment",) if level == "segment" else ()),
        )

    def _level2_spans(self):
        """``(modality, onset, duration)`` of the Level 2 findings (see :attr:`annotations`)."""
        alpha = self.params["alpha"]
        whole = self.params["n_times"] / self.params["sfreq"]
        spans = self.params.get("segment_spans", {})
        out = []
        for row in self.sessions + self.segments:
            p = row.get("sync_p_fdr", np.nan)
            if not (np.isfinite(p) and p <= alpha):
                continue
            if "segment" in row:
                out += [(row["modality"], on, dur) for on, dur in spans[row["segment"]]]
            else:
                out.append((row["modality"], 0.0, whole))
        return out

    @property
    def annotations(self):
        """The findings as :class:`mne.Annotations` (onsets from the first sample).

        - **Level 1**: every episode, ``insync/L1/<modality>/<channel A>-<channel B>``;
        - **Level 2**: the whole recording (the session) and every annotated stretch of each
          ``segments`` name whose synchrony is above chance after the Benjamini-Hochberg
          correction over the result's Level 2 tests (``sync_p_fdr <= alpha``; see
          :meth:`to_table`), ``insync/L2/<modality>/<channel A>-<channel B>``.

        Channel names are plain (without roles); each annotation names both dyad channels in
        ``ch_names``. The descriptions follow the rule of the EEG's In-Sync results
        (``insync/L<level>/<band or modality>/<A>-<B>``); add them to the recording with
        :func:`hyperinsync.annotate`, which places them on its timeline.
        """
        rows = [(1, ep["modality"], ep["onset"], ep["duration"]) for ep in self.episodes]
        rows += [(2, mod, on, dur) for mod, on, dur in self._level2_spans()]
        onset, duration, desc, chs = [], [], [], []
        for level, mod, on, dur in rows:
            ch_a, ch_b = self.channels[mod]
            onset.append(on)
            duration.append(dur)
            desc.append(
                insync_description(level, mod, split_ch_name(ch_a)[1], split_ch_name(ch_b)[1])
            )
            chs.append([ch_a, ch_b])
        return mne.Annotations(onset, duration, desc, orig_time=None, ch_names=chs)

    def to_dict(self):
        """Return plain arrays and JSON-able fields (see :meth:`from_dict`).

        Returns
        -------
        d : dict
            The fields, ``channels`` as lists.
        """
        out = super().to_dict()
        out["channels"] = {k: list(v) for k, v in self.channels.items()}
        return out
