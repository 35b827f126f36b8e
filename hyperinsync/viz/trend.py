"""In-Sync Level 3 figures: synchrony across sessions (:func:`plot_trend`)."""

from __future__ import annotations

import numpy as np

from .._docs import fill_doc
from .base import (
    _get_axes,
    _show,
)


@fill_doc
def plot_trend(
    sessions,
    values,
    *,
    labels=None,
    fit=True,
    xlabel="session",
    ylabel="synchrony",
    title=None,
    axes=None,
    show=True,
):
    """Plot In-Sync Level 3 (chronic) synchrony across sessions, with a linear trend.

    Parameters
    ----------
    sessions : array, shape (n_sessions,)
        Session numbers, or dates (:class:`datetime.date`, ``datetime64`` or ISO strings).
    values : array, shape (n_sessions,) | (n_series, n_sessions)
        Synchrony per session, for one dyad or one row per dyad.
    labels : list of str | None
        A name per series (legend).
    fit : bool
        Draw the least-squares line through all points (the mean trend) and give its slope
        per session (per day for dates) in the legend.
    xlabel, ylabel : str
        Axis labels.
    title : str | None
        Axes title.
    %(viz_axes)s
    %(viz_show)s

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure: one line per series, plus the trend line.
    """
    sess = np.asarray(sessions)
    if sess.ndim != 1 or not sess.size:
        raise ValueError(f"sessions must be a non-empty 1D array, got shape {sess.shape}.")
    dates = sess.dtype.kind in "MUO"  # datetime64, ISO strings or date objects
    if dates:
        try:
            sess = sess.astype("datetime64[D]")
        except ValueError:
            raise ValueError(
                "sessions must be numbers or dates (datetime.date, datetime64 or ISO "
                f"strings), got {sessions!r}."
            ) from None
        x_fit = (sess - sess.min()).astype(float)  # days since the first session
    else:
        sess = sess.astype(float)
        x_fit = sess
    vals = np.atleast_2d(np.asarray(values, dtype=float))
    if vals.ndim != 2 or vals.shape[1] != sess.size:
        raise ValueError(
            f"values must have shape (n_sessions,) or (n_series, n_sessions) with "
            f"n_sessions={sess.size}, got {np.shape(values)}."
        )
    if labels is not None and len(labels) != len(vals):
        raise ValueError(f"labels has {len(labels)} entries for {len(vals)} series.")
    ax = _get_axes(axes, 1, panel_size=(6.0, 3.8))[0]
    fig = ax.figure
    for k, row in enumerate(vals):
        ax.plot(
            sess,
            row,
            marker="o",
            lw=1.2,
            alpha=0.8 if len(vals) > 1 else 1.0,
            label=None if labels is None else str(labels[k]),
        )
    if fit:
        ok = np.isfinite(vals)
        xx = np.broadcast_to(x_fit, vals.shape)[ok]
        if np.unique(xx).size < 2:
            raise ValueError("A trend needs at least two distinct sessions with values.")
        slope, intercept = np.polyfit(xx, vals[ok], 1)
        unit = "day" if dates else "session"
        ax.plot(
            sess,
            intercept + slope * x_fit,
            color="k",
            ls="--",
            lw=2,
            label=f"trend: {slope:+.3g} per {unit}",
        )
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if labels is not None or fit:
        ax.legend(fontsize="small")
    ax.set_title(title if title is not None else "Level 3: across sessions")
    return _show(fig, show)
