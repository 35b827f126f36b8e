"""In-Sync Level 3 (chronic): session trends per dyad, and links to questionnaires."""

from __future__ import annotations

import datetime as _dt

import numpy as np

from .. import stats
from .._utils import (
    _validate_type,
    as_table,
    check_seed,
    warn,
)
from ..base import BaseResult

# the numbers of each dyad's row (get_data kinds), in table order
DYAD_COLUMNS = (
    "n_sessions",
    "first",
    "last",
    "change",
    "slope",
    "r",
    "p",
    "slope_per_week",
    "p_week",
)


class InSyncLevel3(BaseResult):
    """In-Sync Level 3 (chronic) result: per-dyad session trends and their summary.

    Made by :func:`level3`; rebuild from :meth:`to_dict` output with :meth:`from_dict`. The
    shared result interface is that of :class:`hyperinsync.base.BaseResult`. Each
    parameter is kept as the attribute of the same name.

    Parameters
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

    Attributes
    ----------
    labels : dict
        ``{'dyad': [...]}``: the dyads, in table order.
    """

    _FIELDS = ("dyads", "summary", "sessions", "params")

    def __init__(self, *, dyads, summary, sessions, params):
        self.dyads = [dict(d) for d in dyads]
        self.summary = dict(summary)
        self.sessions = [dict(s) for s in sessions]
        self.params = dict(params)

    def __repr__(self):
        """Return the one-line summary that ``repr()`` shows."""
        return (
            f"<InSyncLevel3 | {len(self.dyads)} dyad(s) | mean slope "
            f"{self.summary['mean_slope']:.4g} per session (p={self.summary['p']:.3g})>"
        )

    @property
    def labels(self):
        """``{'dyad': [...]}``: the dyads, in table order."""
        return dict(dyad=[d["dyad"] for d in self.dyads])

    def get_data(self, dyad=None, *, kind="slope"):
        """Return one number of every dyad (or of one dyad).

        Parameters
        ----------
        dyad : str | None
            A dyad; ``None``: all, in the order of ``labels['dyad']``.
        kind : str
            A column of :meth:`to_table`: ``'n_sessions'``, ``'first'``, ``'last'``,
            ``'change'``, ``'slope'``, ``'r'``, ``'p'``, ``'slope_per_week'``, ``'p_week'``
            (the last two only when dates were given).

        Returns
        -------
        values : ndarray, shape (n_dyads,)
            A 0-d array when ``dyad`` is given.
        """
        self._kind(kind, DYAD_COLUMNS)
        if self.dyads and kind not in self.dyads[0]:
            raise ValueError(f"kind={kind!r} needs session dates, which this result has not.")
        di = self._pick("dyad", dyad, keep=True)
        return np.array([float(d[kind]) for d in self.dyads])[di]

    def to_table(self):
        """One row per dyad.

        Columns: ``dyad``, ``n_sessions``, ``first``, ``last``, ``change`` (last minus
        first), ``slope`` (least-squares change per session), ``r`` and ``p`` (correlation
        of value with session index, permutation p over session orders from
        :func:`hyperinsync.stats.correlation_test`; identical to the permutation p of the
        slope) and, with dates, ``slope_per_week`` and ``p_week``.

        Returns
        -------
        table : pandas.DataFrame
            One row per dyad (columns above).
        """
        return as_table(self.dyads, ("dyad",) + DYAD_COLUMNS[:-2])


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


def _session_rows(session_values, dates, value="value"):
    """Normalise the inputs of :func:`level3` to rows dyad / session / value / date."""
    if hasattr(session_values, "to_dict") and hasattr(session_values, "columns"):
        session_values = session_values.to_dict("records")  # a pandas DataFrame
    if isinstance(session_values, dict):
        if dates is not None:
            _validate_type(dates, dict, "dates", "dict like session_values")
        rows = []
        for dyad, vals in session_values.items():
            if vals is None or len(vals) == 0:
                raise ValueError(
                    f"Dyad {dyad!r} has no session values; give at least 3 "
                    "sessions per dyad or leave the dyad out."
                )
            dd = None if dates is None else dates.get(dyad)
            if dates is not None and dd is None:
                raise ValueError(f"dates has no entry for dyad {dyad!r}.")
            rows += [dict(r, dyad=str(dyad)) for r in _session_rows(vals, dd, value)]
        return rows
    seq = list(session_values)
    if seq and isinstance(seq[0], dict):
        if value not in seq[0]:
            raise ValueError(
                f"Table rows need a {value!r} column (and 'dyad', 'session', "
                f"optionally 'date'); they have {sorted(seq[0])}."
            )
        rows = []
        for k, r in enumerate(seq):
            rows.append(
                dict(
                    dyad=str(r.get("dyad", "dyad")),
                    session=int(r.get("session", k)),
                    value=float(r[value]),
                    date=_to_date(r.get("date")),
                )
            )
        if dates is not None:
            raise ValueError("Give dates inside the table ('date' column), not as dates=.")
        return rows
    values = np.asarray(seq, float)
    if values.ndim != 1:
        raise ValueError(f"session_values must be 1-D per dyad, got shape {values.shape}.")
    if dates is not None:
        dates = [_to_date(d) for d in dates]
        if len(dates) != len(values):
            raise ValueError(f"dates has {len(dates)} entries for {len(values)} session values.")
    return [
        dict(dyad="dyad", session=k, value=float(v), date=None if dates is None else dates[k])
        for k, v in enumerate(values)
    ]


def level3(session_values, dates=None, *, value="value", n_permutations=5000, seed=None):
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
        ``value`` (or the column named by ``value``) and optionally ``date``, one row per
        session (e.g. the session rows of one modality of many
        :class:`~hyperinsync.LaggedSyncResult`, stacked by
        :func:`hyperinsync.stats.segment_table`). Every dyad needs at least 3 sessions.
    dates : list | dict | None
        Session dates (``datetime.date`` or ISO strings) for array input (a list) or dict
        input (a dict of lists); tables carry a ``date`` column instead.
    value : str
        The column of a table that holds the values (e.g. ``'sync_corrected'``).
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

    Examples
    --------
    Two dyads' synchrony over five sessions, one value per session:

    >>> l3 = hs.level3({"dyad01": [0.20, 0.24, 0.27, 0.31, 0.36],
    ...                 "dyad02": [0.25, 0.24, 0.29, 0.30, 0.33]}, n_permutations=999, seed=0)
    >>> l3
    <InSyncLevel3 | 2 dyad(s) | mean slope 0.0305 per session (p=0.003)>
    >>> l3.to_table()[["dyad", "slope", "p"]].round(3)
         dyad  slope      p
    0  dyad01  0.039  0.012
    1  dyad02  0.022  0.059
    """
    rng = check_seed(seed)
    _validate_type(n_permutations, "int", "n_permutations")
    _validate_type(value, str, "value")
    rows = _session_rows(session_values, dates, value)
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
            raise ValueError(
                f"Dyad {dyad!r} lists a session index twice: {idx.tolist()}. Give one row "
                "per session (a table of several modalities or segments: select one)."
            )
        missing = [r["session"] for r in rs if not np.isfinite(r["value"])]
        if missing:
            warn(
                f"level3: dyad {dyad!r} has no finite value in session(s) {missing}; "
                "those sessions are excluded from its trend."
            )
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
            warn(
                f"level3: dyad {dyad!r} has the same value ({vals[0]:g}) in every session: "
                "its slope is 0 with p = 1 and its correlation r is undefined (NaN)."
            )
            slope, ct = 0.0, dict(r=float("nan"), p_perm=1.0)
        else:
            ct = stats.correlation_test(idx, vals, n_permutations, seed=rng)
        row = dict(
            dyad=dyad,
            n_sessions=len(vals),
            first=float(vals[0]),
            last=float(vals[-1]),
            change=float(vals[-1] - vals[0]),
            slope=slope,
            r=ct["r"],
            p=ct["p_perm"],
        )
        if has_dates:
            days = np.array([(r["date"] - rs[0]["date"]).days for r in rs], float)
            if np.ptp(days) == 0:
                raise ValueError(f"All sessions of dyad {dyad!r} share one date.")
            row["slope_per_week"] = (
                0.0 if np.ptp(vals) == 0 else float(np.polyfit(days / 7.0, vals, 1)[0])
            )
            row["p_week"] = (
                1.0
                if np.ptp(vals) == 0
                else stats.correlation_test(days, vals, n_permutations, seed=rng)["p_perm"]
            )
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
        n_dyads=len(out),
        mean_slope=mean_slope,
        p=float(stats.p_value(abs(mean_slope) - eps, np.abs(null), "greater")),
        mean_change=float(np.mean([r["change"] for r in out])),
        mean_slope_per_week=(
            float(np.mean([r["slope_per_week"] for r in out])) if has_dates else None
        ),
    )
    sessions = [dict(r, date=None if r["date"] is None else r["date"].isoformat()) for r in rows]
    return InSyncLevel3(
        dyads=out,
        summary=summary,
        sessions=sessions,
        params=dict(n_permutations=int(n_permutations)),
    )


def correlate_with_questionnaire(
    values, scores, n_permutations=5000, seed=None, *, method="pearson"
):
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

    Examples
    --------
    Central alpha synchrony after the session against the alliance gap, per dyad:

    >>> sync = {"d1": 0.31, "d2": 0.28, "d3": 0.35, "d4": 0.22, "d5": 0.30, "d6": 0.25}
    >>> gap = {"d1": -6, "d2": -2, "d3": -9, "d4": 3, "d5": -4, "d6": 1}
    >>> res = hs.insync.correlate_with_questionnaire(sync, gap, n_permutations=999, seed=0)
    >>> round(res["r"], 2), res["p_perm"], res["dyads"]
    (-0.99, 0.002, ['d1', 'd2', 'd3', 'd4', 'd5', 'd6'])
    """
    _validate_type(n_permutations, "int", "n_permutations")
    dyads = None
    if isinstance(values, dict) or isinstance(scores, dict):
        if not (isinstance(values, dict) and isinstance(scores, dict)):
            raise TypeError(
                "values and scores must both be dicts keyed by dyad, or both sequences."
            )
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
            f"values and scores must be 1-D of equal length, got shapes {x.shape} and {y.shape}."
        )
    names = dyads if dyads is not None else [f"#{k}" for k in range(len(x))]
    bad = ~(np.isfinite(x) & np.isfinite(y))
    if bad.any():
        which = [f"{names[k]} (value {x[k]:g}, score {y[k]:g})" for k in np.flatnonzero(bad)]
        warn(
            f"correlate_with_questionnaire: excluding dyad(s) without a finite value and "
            f"score: {', '.join(which)}."
        )
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
