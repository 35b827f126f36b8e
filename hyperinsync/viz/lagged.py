"""Lagged synchrony figures: the lag x time cross-correlation map (:func:`plot_lagged_sync`)."""

from __future__ import annotations

import numpy as np

from .._docs import fill_doc
from .._utils import _validate_type
from ..stats.lagged_result import LaggedSyncResult
from .base import _get_axes, _show


def _value_label(params, absolute):
    what = "z" if params.get("fisher_z", True) else "r"
    return f"|{what}|" if absolute else what


def _leader_color(leader, roles):
    if leader == f"{roles[0]}-led":
        return "C3"
    if leader == f"{roles[1]}-led":
        return "C0"
    return "k"


def _draw_episodes(ax, episodes, roles, lag_lo, lag_hi):
    """Draw an outlined box over each episode's span, a marker at its peak lag, its leader."""
    from matplotlib.patches import Rectangle

    for ep in episodes:
        color = _leader_color(ep["leader"], roles)
        ax.add_patch(
            Rectangle(
                (ep["onset"], lag_lo),
                ep["duration"],
                lag_hi - lag_lo,
                fill=False,
                edgecolor=color,
                lw=1.8,
                zorder=3,
            )
        )
        mid = ep["onset"] + ep["duration"] / 2
        ax.plot(
            [mid], [ep["lag"]], marker="D", ms=6, mfc="w", mec=color, mew=1.5, ls="none", zorder=6
        )
        # upright inside the box: neighbouring episodes' labels do not run into each other
        ax.text(
            mid,
            lag_hi - 0.02 * (lag_hi - lag_lo),
            f"{ep['leader']}, {ep['phase']}",
            ha="center",
            va="top",
            rotation=90,
            fontsize="x-small",
            color=color,
            bbox=dict(boxstyle="square,pad=0.1", fc="w", ec="none", alpha=0.7),
            zorder=5,
        )


@fill_doc
def plot_lagged_sync(
    result,
    modality=None,
    *,
    absolute=None,
    episodes=True,
    vmax=None,
    cmap=None,
    title=None,
    axes=None,
    show=True,
):
    """Plot the lag x time cross-correlation map of lagged synchrony (rMEA's heat map).

    One panel per modality: the Fisher z (or r) of every window (x: its centre, in s from
    the first sample) and lag (y: positive lags, the first role leads; negative, the second
    leads), missing windows blank, with the Level 1 episodes marked: a box over each
    episode's span, coloured by who leads in it (first role red, second role blue,
    simultaneous black), a diamond at the lag of its peak and its leader and phase above.

    Parameters
    ----------
    result : LaggedSyncResult
        A result of :func:`hyperinsync.lagged_sync`.
    modality : str | list of str | None
        The modalities to draw (``None``: all of them, one panel each).
    absolute : bool | None
        Absolute values (rMEA's ABS) or signed ones, which show in- vs anti-phase; ``None``:
        as the analysis (``result.params['absolute']``).
    episodes : bool
        Mark the Level 1 episodes.
    vmax : float | None
        Upper end of the colour scale (signed values: ``-vmax`` to ``vmax``); ``None``: the
        largest magnitude drawn.
    cmap : str | None
        The colour map; ``None``: ``'viridis'`` for absolute values, ``'RdBu_r'`` for signed.
    title : str | None
        Title of every panel; ``None``: the modality, its channels and its session result.
    axes : matplotlib Axes | list of Axes | None
        Where to draw, one per modality; ``None``: a new figure.
    %(viz_show)s

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure. Each panel's image (``ax.images[0]``) holds
        ``result.get_data(modality, absolute=absolute).T`` (lags x windows, NaN masked); the
        episodes are the Axes' patches, in the order of ``result.episodes``.
    """
    _validate_type(result, LaggedSyncResult, "result", "LaggedSyncResult")
    _validate_type(episodes, bool, "episodes")
    if modality is None:
        mods = list(result.modalities)
    else:
        mods = [modality] if isinstance(modality, str) else list(modality)
    if not mods:
        raise ValueError(f"modality is empty: name at least one of {result.modalities}.")
    absolute = result.params["absolute"] if absolute is None else absolute
    _validate_type(absolute, bool, "absolute")
    if cmap is None:
        cmap = "viridis" if absolute else "RdBu_r"
    axs = _get_axes(axes, len(mods), ncols=1, panel_size=(9.0, 3.4))
    fig = axs[0].figure
    win, step = result.params["window"], result.params["step"]
    centres = result.window_starts + win / 2
    lags = result.lags
    dlag = lags[1] - lags[0] if len(lags) > 1 else 1.0
    extent = (
        centres[0] - step / 2,
        centres[-1] + step / 2,
        lags[0] - dlag / 2,
        lags[-1] + dlag / 2,
    )
    roles = result.roles
    by_mod = {m: i for i, m in enumerate(result.modalities)}
    for ax, mod in zip(axs, mods):
        vals = result.get_data(mod, absolute=absolute)  # checks the modality
        img = np.ma.masked_invalid(vals.T)
        top = vmax
        if top is None:
            top = float(np.abs(img).max()) if img.count() else 1.0
        lo = 0.0 if absolute else -top
        im = ax.imshow(
            img,
            origin="lower",
            aspect="auto",
            interpolation="nearest",
            extent=extent,
            cmap=cmap,
            vmin=lo,
            vmax=top,
            zorder=1,
        )
        ax.axhline(0.0, color="w" if absolute else "0.3", lw=0.8, ls=":", zorder=2)
        if episodes:
            eps = [e for e in result.episodes if e["modality"] == mod]
            _draw_episodes(ax, eps, roles, extent[2], extent[3])
        fig.colorbar(im, ax=ax, label=_value_label(result.params, absolute), pad=0.01)
        ax.set_xlim(extent[0], extent[1])
        ax.set_ylim(extent[2], extent[3])
        ax.set_xlabel("time (s, window centre)")
        ax.set_ylabel(f"lag (s)\n+: {roles[0]} leads, -: {roles[1]} leads", fontsize="small")
        if title is None:
            row = result.sessions[by_mod[mod]]
            ch_a, ch_b = result.channels[mod]
            parts = [f"{mod}: {ch_a} x {ch_b}"]
            if "sync_p" in row:
                parts.append(
                    f"sync {row['sync']:.3f} (ES {row['sync_effect_size']:.2f}), "
                    f"{row['phase']}, {row['leader']}"
                )
            ax.set_title("\n".join(parts), fontsize="medium")
        else:
            ax.set_title(title)
    return _show(fig, show)
