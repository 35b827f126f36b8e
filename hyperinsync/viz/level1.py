"""In-Sync Level 1 figures: window series, thresholds and episodes (:func:`plot_level1`)."""

from __future__ import annotations

import numpy as np

from .._docs import fill_doc
from ..base import label_index
from .base import (
    _get_axes,
    _show,
    _vector,
)


# --------------------------------------------------------------------------- In-Sync Level 1
def _episode_spans(episodes):
    """``[(onset, offset), ...]`` from pairs, an onset/duration table or mne.Annotations."""
    import mne

    if episodes is None:
        return []
    if isinstance(episodes, mne.Annotations):
        return [(float(o), float(o + d)) for o, d in zip(episodes.onset, episodes.duration)]
    if hasattr(episodes, "columns"):  # a DataFrame
        cols = set(episodes.columns)
        if {"onset", "offset"} <= cols:
            return list(zip(episodes["onset"].astype(float), episodes["offset"].astype(float)))
        if {"onset", "duration"} <= cols:
            on = episodes["onset"].astype(float)
            return list(zip(on, on + episodes["duration"].astype(float)))
        raise ValueError(
            f"The episodes table needs columns onset and offset (or duration), has {sorted(cols)}."
        )
    spans = []
    for ep in episodes:
        if isinstance(ep, dict):
            on = float(ep["onset"])
            off = float(ep["offset"]) if "offset" in ep else on + float(ep["duration"])
        else:
            on, off = (float(v) for v in ep)
        spans.append((on, off))
    return spans


def _level1_arrays(level1, values, threshold, episodes, null_band, band, roi_a, roi_b):
    """Plain arrays from a Level 1 result or from the arguments."""
    if values is not None:
        return (
            _vector(level1, "times"),
            _vector(values, "values"),
            threshold,
            episodes,
            null_band,
            None,
        )
    from ..insync import InSyncLevel1

    if not isinstance(level1, InSyncLevel1):
        raise ValueError(
            "Pass a Level 1 result (hyperinsync.insync.level1), or times and values arrays."
        )
    # one band and ROI pair of an InSyncLevel1 (None: the only one there is)
    res, pick = level1, label_index
    bi = pick("band", band, list(res.bands))
    ri = pick("roi_a", roi_a, list(res.roi_names[0]))
    ci = pick("roi_b", roi_b, list(res.roi_names[1]))
    band, roi_a, roi_b = list(res.bands)[bi], res.roi_names[0][ri], res.roi_names[1][ci]
    times, vals = res.times, res.get_data(band, roi_a, roi_b)
    if threshold is None:
        threshold = float(np.asarray(res.threshold)[bi, ri, ci])
    if null_band is None:
        mean = float(np.asarray(res.null_mean)[bi, ri, ci])
        sd = float(np.asarray(res.null_sd)[bi, ri, ci])
        null_band = (mean - 1.96 * sd, mean + 1.96 * sd)
    if episodes is None:
        episodes = [
            e for e in res.episodes if (e["band"], e["roi_a"], e["roi_b"]) == (band, roi_a, roi_b)
        ]
    label = f"{res.measure.upper()} {band}, {roi_a}-{roi_b}"
    return np.asarray(times, float), np.asarray(vals, float), threshold, episodes, null_band, label


@fill_doc
def plot_level1(
    level1,
    values=None,
    *,
    threshold=None,
    episodes=None,
    null_band=None,
    band=None,
    roi_a=None,
    roi_b=None,
    ylabel="synchrony",
    title=None,
    axes=None,
    show=True,
):
    """Plot In-Sync Level 1 (phasic) synchrony over time, with episodes and the null band.

    Parameters
    ----------
    level1 : InSyncLevel1 | array, shape (n_windows,)
        A result of :func:`hyperinsync.insync.level1` (one band and ROI pair is drawn, chosen
        by ``band``, ``roi_a``, ``roi_b``; its threshold, episodes and null band are used
        unless given), or the window times in s.
    values : array, shape (n_windows,) | None
        Synchrony per window, when ``level1`` is an array of times.
    threshold : float | array, shape (n_windows,) | None
        The significance threshold, drawn as a dashed line.
    episodes : list of (onset, offset) | DataFrame | mne.Annotations | None
        Synchronous episodes in s, shaded (a table needs ``onset`` and ``offset`` or
        ``duration`` columns).
    null_band : tuple of (float | array) | None
        ``(low, high)`` of the no-coupling (surrogate) distribution of one window, drawn as
        a grey band. For a Level 1 result: the surrogate windows' mean +/- 1.96 SD.
    band, roi_a, roi_b : str | None
        Band and ROI pair of a Level 1 result (``None`` when it holds only one).
    ylabel : str
        Label of the y axis.
    title : str | None
        Axes title.
    %(viz_axes)s
    %(viz_show)s

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure; episodes are the Axes' patches (one per episode).
    """
    times, vals, threshold, episodes, null_band, label = _level1_arrays(
        level1, values, threshold, episodes, null_band, band, roi_a, roi_b
    )
    if times.shape != vals.shape:
        raise ValueError(f"times {times.shape} and values {vals.shape} differ in shape.")
    spans = _episode_spans(episodes)
    ax = _get_axes(axes, 1, panel_size=(9.0, 3.2))[0]
    fig = ax.figure
    if null_band is not None:
        lo, hi = (np.broadcast_to(np.asarray(b, float), times.shape) for b in null_band)
        ax.fill_between(times, lo, hi, color="0.8", label="null band", zorder=1)
    ax.plot(times, vals, color="C0", lw=1.5, label=ylabel, zorder=3)
    if threshold is not None:
        thr = np.broadcast_to(np.asarray(threshold, float), times.shape)
        ax.plot(times, thr, color="C3", ls="--", lw=1.2, label="threshold", zorder=2)
    for k, (on, off) in enumerate(spans):
        ax.axvspan(on, off, color="C1", alpha=0.25, lw=0, label="episode" if k == 0 else None)
    ax.set_xlabel("time (s)")
    ax.set_ylabel(ylabel)
    ax.set_xlim(times[0], times[-1])
    ax.legend(loc="upper right", fontsize="small")
    if title is None:
        title = f"Level 1{': ' + label if label else ''}: {len(spans)} episode(s)"
    ax.set_title(title)
    return _show(fig, show)
