"""Statistics figures: null distributions, group contrasts, correlations."""

from __future__ import annotations

import numpy as np

from .._docs import fill_doc
from ..base import label_index
from .base import (
    _fmt_p,
    _get_axes,
    _show,
    _stats_title,
    _vector,
)


# --------------------------------------------------------------------------- statistics
def _surrogate_pick(res, measure, band, pair):
    """(observed, null, p, z, corrected p) of one measure, band and pair of a result."""
    obs = np.asarray(res.observed, float)
    if obs.ndim == 0:  # already one value
        return obs, res.null, getattr(res, "p", None), getattr(res, "z", None), None
    if obs.ndim != 4:
        raise ValueError(
            f"observed has shape {obs.shape}: plot the null of one dyad's result (a "
            "pseudo-dyad result holds one observed value per dyad)."
        )
    pick = label_index
    mi = pick("measure", measure, list(res.measures))
    bi = pick("band", band, list(res.bands))
    if pair is None:
        if obs.shape[-2:] != (1, 1):
            raise ValueError(
                f"This result holds {obs.shape[-2]} x {obs.shape[-1]} pairs: choose one with "
                "pair=(row, col), e.g. pair=(res.rows[0], res.cols[0])."
            )
        ri = ci = 0
    else:
        ri = pick("row", pair[0], list(res.rows))
        ci = pick("col", pair[1], list(res.cols))
    idx = (mi, bi, ri, ci)
    p_corr = getattr(res, "p_corrected", None)
    return (
        obs[idx],
        np.asarray(res.null)[(slice(None),) + idx],
        np.asarray(res.p)[idx],
        np.asarray(res.z)[idx],
        None if p_corr is None else np.asarray(p_corr)[idx],
    )


@fill_doc
def plot_null_distribution(
    observed,
    null=None,
    p=None,
    z=None,
    *,
    measure=None,
    band=None,
    pair=None,
    bins="auto",
    xlabel="synchrony",
    title=None,
    axes=None,
    show=True,
):
    """Plot a surrogate (null) distribution with the observed value.

    Parameters
    ----------
    observed : float | SurrogateResult
        The observed value, or a :class:`~hyperinsync.stats.SurrogateResult` (of one
        dyad) from which ``measure``, ``band`` and ``pair`` select one value, its null, p
        (FDR/max-stat corrected p too, when computed) and z.
    null : array, shape (n_surrogates,) | None
        The surrogate values (taken from the result when ``observed`` is one).
    p, z : float | None
        The p-value and z-score shown in the title (``None``: not shown, or the result's).
    measure, band : str | None
        Measure and band of a SurrogateResult (``None`` when it holds only one).
    pair : tuple of str | None
        ``(row, col)`` names of the pair of a SurrogateResult (channels ``'role:channel'`` or
        ROI labels); ``None`` when it holds a single pair.
    bins : int | str
        Histogram bins, as in :func:`numpy.histogram`.
    xlabel : str
        Label of the x axis.
    title : str | None
        Axes title before the statistics.
    %(viz_axes)s
    %(viz_show)s

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure: a histogram and a vertical line at the observed value.
    """
    p_corr = None
    if null is None and hasattr(observed, "null") and hasattr(observed, "observed"):
        observed, null, p_res, z_res, p_corr = _surrogate_pick(observed, measure, band, pair)
        p = p_res if p is None else p
        z = z_res if z is None else z
    if null is None:
        raise ValueError("Pass the surrogate values as null=, or a surrogate result.")
    obs = np.asarray(observed, dtype=float)
    if obs.size != 1:
        raise ValueError(
            f"observed must be one value, got shape {obs.shape}: select one pair (and band) first."
        )
    obs = float(obs.ravel()[0])
    null = np.asarray(null, dtype=float).ravel()
    null = _vector(null[np.isfinite(null)], "null (finite values)")
    ax = _get_axes(axes, 1, panel_size=(5.5, 3.6))[0]
    fig = ax.figure
    ax.hist(null, bins=bins, color="0.6", edgecolor="white", label=f"null (n = {null.size})")
    ax.axvline(obs, color="C3", lw=2, label=f"observed = {obs:.3g}")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("count")
    stats = ([_fmt_p(p)] if p is not None else []) + (
        [f"z = {float(z):.2f}"] if z is not None else []
    )
    if p_corr is not None:
        stats.append(_fmt_p(p_corr).replace("p", "corrected p", 1))
    _stats_title(ax, title, stats, "null distribution")
    ax.legend(fontsize="small")
    return _show(fig, show)


@fill_doc
def plot_group_contrast(
    values,
    groups,
    *,
    order=None,
    statistic=None,
    stat_name="F",
    p=None,
    ylabel="synchrony",
    title=None,
    seed=0,
    axes=None,
    show=True,
):
    """Compare a value between groups: one box per group with every observation as a dot.

    Parameters
    ----------
    values : array, shape (n_observations,)
        One value per observation (e.g. per dyad).
    groups : array of str, shape (n_observations,)
        The group of each observation (e.g. ``'mindful'`` / ``'non-mindful'``).
    order : list of str | None
        Group order on the x axis; ``None``: order of first appearance.
    statistic : float | None
        A test statistic to show in the title, named ``stat_name``.
    stat_name : str
        Name of the statistic (``'F'``, ``'t'``, ...).
    p : float | None
        Its p-value, shown in the title.
    ylabel : str
        Label of the y axis.
    title : str | None
        Axes title before the statistics.
    seed : int
        Seed of the horizontal jitter of the dots (the values themselves are not changed).
    %(viz_axes)s
    %(viz_show)s

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure: one scatter collection per group (in ``order``) with its observations.
    """
    values = _vector(values, "values")
    groups = np.asarray(groups).astype(str)
    if groups.shape != values.shape:
        raise ValueError(f"groups {groups.shape} and values {values.shape} differ in shape.")
    names = list(dict.fromkeys(groups)) if order is None else [str(g) for g in order]
    unknown = sorted(set(groups.tolist()) - set(names))
    if unknown:
        raise ValueError(f"groups {unknown} are not in order={names}.")
    data = [values[groups == g] for g in names]
    empty = [g for g, d in zip(names, data) if not d.size]
    if empty:
        raise ValueError(f"groups {empty} of order= have no observations.")
    rng = np.random.default_rng(seed)
    ax = _get_axes(axes, 1, panel_size=(4.5, 4.0))[0]
    fig = ax.figure
    pos = np.arange(1, len(names) + 1)
    ax.boxplot(
        data,
        positions=pos,
        widths=0.5,
        showfliers=False,
        patch_artist=True,
        boxprops=dict(facecolor="0.92"),
        medianprops=dict(color="k"),
    )
    for k, (x, d) in enumerate(zip(pos, data)):
        ax.scatter(
            x + rng.uniform(-0.12, 0.12, d.size),
            d,
            s=22,
            color=f"C{k}",
            zorder=3,
            label=f"{names[k]} (n = {d.size})",
        )
    ax.set_xticks(pos, [f"{g}\n(n = {d.size})" for g, d in zip(names, data)])
    ax.set_ylabel(ylabel)
    stats = []
    if statistic is not None:
        stats.append(f"{stat_name} = {float(statistic):.2f}")
    if p is not None:
        stats.append(_fmt_p(p))
    _stats_title(ax, title, stats, "group contrast")
    return _show(fig, show)


@fill_doc
def plot_correlation(
    x,
    y,
    r=None,
    p=None,
    *,
    xlabel="x",
    ylabel="y",
    labels=None,
    title=None,
    axes=None,
    show=True,
):
    """Scatter two variables with their least-squares line, Pearson's r and p.

    Parameters
    ----------
    x, y : array, shape (n_observations,)
        E.g. the alliance gap ``WAI_T - WAI_C`` and the PLV of each dyad.
    r, p : float | None
        Correlation and p-value to show. ``r=None`` computes Pearson's r and its two-sided
        p-value (:func:`scipy.stats.pearsonr`); a given ``r`` is shown as is (e.g. a
        permutation result).
    xlabel, ylabel : str
        Axis labels.
    labels : list of str | None
        A text label per point (e.g. dyad names).
    title : str | None
        Axes title before the statistics.
    %(viz_axes)s
    %(viz_show)s

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure: the points and the fitted line.
    """
    x, y = _vector(x, "x"), _vector(y, "y")
    if x.shape != y.shape:
        raise ValueError(f"x {x.shape} and y {y.shape} differ in shape.")
    if x.size < 3:
        raise ValueError(f"A correlation needs at least 3 observations, got {x.size}.")
    if r is None:
        from scipy.stats import pearsonr

        res = pearsonr(x, y)
        r, p = float(res.statistic), float(res.pvalue) if p is None else p
    ax = _get_axes(axes, 1, panel_size=(4.8, 4.0))[0]
    fig = ax.figure
    ax.scatter(x, y, s=28, color="C0", zorder=3)
    slope, intercept = np.polyfit(x, y, 1)
    xs = np.array([x.min(), x.max()])
    ax.plot(xs, intercept + slope * xs, color="C3", lw=1.5, label="least squares")
    if labels is not None:
        if len(labels) != x.size:
            raise ValueError(f"labels has {len(labels)} entries for {x.size} points.")
        for xi, yi, lab in zip(x, y, labels):
            ax.annotate(
                str(lab), (xi, yi), xytext=(3, 3), textcoords="offset points", fontsize="x-small"
            )
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    stats = [f"r = {float(r):.2f}"] + ([_fmt_p(p)] if p is not None else [])
    _stats_title(ax, title, stats, "")
    return _show(fig, show)
