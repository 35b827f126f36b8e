"""Synchrony matrices of channel or ROI pairs (:func:`plot_sync_matrix`)."""

from __future__ import annotations

import numpy as np

from .._docs import fill_doc
from .._utils import _check_option
from .base import (
    _get_axes,
    _is_sync_result,
    _show,
    _strip_roles,
)


# --------------------------------------------------------------------------- SyncResult adapter
def _sync_panels(result, measure, band, level):
    """(values, row names, col names, roles, [(band label, matrix)]) from a SyncResult."""
    _check_option("level", level, ("channel", "roi"))
    bands = list(result.bands) if band is None else [band]
    panels = []
    for b in bands:
        mat = result.get_data(measure, b, level=level)
        fmin, fmax = result.bands[b]
        panels.append((f"{b} ({fmin:g}-{fmax:g} Hz)", mat))
    if level == "roi":
        rows, cols = result.roi_names
    else:
        rows, cols = result.rows, result.cols
    if measure is None:
        measure = result.measures[0] if len(result.measures) == 1 else None
    return panels, list(rows), list(cols), tuple(result.roles), measure


def _panel_masks(mask, panels):
    """One boolean mask (or None) per panel, with shapes checked."""
    if mask is None:
        return [None] * len(panels)
    if isinstance(mask, dict):
        missing = [label for label, _ in panels if label.split(" ")[0] not in mask]
        if missing:
            raise ValueError(f"mask has no entry for band(s) {missing}.")
        masks = [np.asarray(mask[label.split(" ")[0]]) for label, _ in panels]
    else:
        mask = np.asarray(mask)
        if mask.ndim == 2 and len(panels) == 1:
            masks = [mask]
        elif mask.ndim == 3 and mask.shape[0] == len(panels):
            masks = list(mask)
        else:
            raise ValueError(
                f"mask of shape {mask.shape} does not fit {len(panels)} panel(s) of shape "
                f"{panels[0][1].shape}: give (n_rows, n_cols) for one band, "
                "(n_bands, n_rows, n_cols) or a dict {band: mask} for several."
            )
    for m, (label, mat) in zip(masks, panels):
        if m.dtype != bool:
            raise TypeError(f"mask must be boolean (True = significant), got dtype {m.dtype}.")
        if m.shape != mat.shape:
            raise ValueError(f"mask for {label} has shape {m.shape}, values have {mat.shape}.")
    return masks


# --------------------------------------------------------------------------- plot_sync_matrix
@fill_doc
def plot_sync_matrix(
    result,
    measure=None,
    band=None,
    *,
    level="channel",
    mask=None,
    row_names=None,
    col_names=None,
    roles=None,
    vmin=None,
    vmax=None,
    axes=None,
    cmap="viridis",
    colorbar=True,
    title=None,
    show=True,
):
    """Plot inter-brain synchrony as a matrix: person A's channels x person B's.

    Parameters
    ----------
    result : SyncResult | array, shape (n_rows, n_cols) | (n_bands, n_rows, n_cols)
        A result of :func:`hyperinsync.compute_sync`, or plain values.
    measure, band : str | None
        Which measure and band of a :class:`~hyperinsync.sync.SyncResult`. ``band=None``
        draws every band, one panel each. Ignored for arrays.
    level : 'channel' | 'roi'
        Channel pairs or ROI pairs (SyncResult only).
    mask : bool array | dict | None
        Significant pairs, marked with a white-edged dot: shape ``(n_rows, n_cols)`` for one
        panel, ``(n_panels, n_rows, n_cols)`` or ``{band: mask}`` for several.
    row_names, col_names : list of str | None
        Labels for plain arrays (ignored for a SyncResult). Role prefixes
        (``'therapist:Fz'``) are moved to the axis labels.
    roles : tuple of str | None
        Axis labels (the two roles) for plain arrays; a SyncResult supplies its own.
    vmin, vmax : float | None
        Colour limits; ``None`` uses the minimum and maximum over all panels (one scale).
    axes : matplotlib Axes | list of Axes | None
        One Axes per panel, or ``None`` for a new figure.
    cmap : str | Colormap
        The colour map.
    colorbar : bool
        Add a colour bar to each panel.
    title : str | None
        Figure title (a SyncResult default names the measure).
    %(viz_show)s

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure; ``ax.images[0].get_array()`` holds each panel's values.
    """
    if _is_sync_result(result):
        panels, rows, cols, roles, measure = _sync_panels(result, measure, band, level)
        if title is None and measure is not None:
            title = f"{measure.upper()} ({level} pairs)"
    else:
        values = np.asarray(result, dtype=float)
        if values.ndim == 2:
            panels = [(None, values)]
        elif values.ndim == 3:
            panels = [(f"panel {k}", v) for k, v in enumerate(values)]
        else:
            raise ValueError(
                f"result must be a SyncResult or a 2D/3D array, got shape {values.shape}."
            )
        n_rows, n_cols = values.shape[-2:]
        rows = [str(k) for k in range(n_rows)] if row_names is None else list(row_names)
        cols = [str(k) for k in range(n_cols)] if col_names is None else list(col_names)
        if (len(rows), len(cols)) != (n_rows, n_cols):
            raise ValueError(
                f"row_names/col_names have {len(rows)}/{len(cols)} entries but the values "
                f"are {n_rows} x {n_cols}."
            )
    masks = _panel_masks(mask, panels)
    row_role, row_labels = _strip_roles(rows)
    col_role, col_labels = _strip_roles(cols)
    if roles is None:
        roles = (row_role, col_role)
    finite = np.concatenate([m[np.isfinite(m)] for _, m in panels])
    lo = float(finite.min()) if vmin is None and finite.size else vmin
    hi = float(finite.max()) if vmax is None and finite.size else vmax

    axes = _get_axes(axes, len(panels))
    fig = axes[0].figure
    for ax, (label, mat), m in zip(axes, panels, masks):
        im = ax.imshow(
            mat, cmap=cmap, vmin=lo, vmax=hi, aspect="auto", interpolation="nearest", origin="upper"
        )
        if m is not None and m.any():
            ii, jj = np.nonzero(m)
            ax.scatter(
                jj,
                ii,
                s=28,
                c="white",
                edgecolors="black",
                linewidths=0.8,
                label="significant",
                zorder=3,
            )
        ax.set_xticks(
            np.arange(len(col_labels)),
            col_labels,
            rotation=90,
            fontsize="small" if len(col_labels) > 12 else None,
        )
        ax.set_yticks(
            np.arange(len(row_labels)),
            row_labels,
            fontsize="small" if len(row_labels) > 12 else None,
        )
        if roles[0]:
            ax.set_ylabel(roles[0])
        if roles[1]:
            ax.set_xlabel(roles[1])
        if label is not None:
            ax.set_title(label)
        if colorbar:
            fig.colorbar(im, ax=ax, shrink=0.85)
    if title and len(panels) == 1:
        # one panel may share its figure with others (a grid): title the axes, not the figure
        label = panels[0][0]
        axes[0].set_title(title if label is None else f"{title}\n{label}")
    elif title:
        fig.suptitle(title)
    return _show(fig, show)
