"""Two heads with inter-brain links (:func:`plot_heads`), sensors placed as in MNE's topomaps."""

from __future__ import annotations

import numpy as np

from .._docs import fill_doc
from .._utils import _check_option, _validate_type
from .base import (
    _get_axes,
    _is_sync_result,
    _show,
    _strip_roles,
)

# MNE's default head sphere (origin and radius in m, head coordinates): sensors are projected
# with the same azimuthal-equidistant rule as MNE's topomaps, so the heads look the same.
HEAD_SPHERE = (0.0, 0.0, 0.0, 0.095)


_HEAD_GAP = 1.45  # head centres at +/- this many head radii in plot_heads


# --------------------------------------------------------------------------- head geometry
def _head_coords(pos, sphere=None):
    r"""Project 3D sensor positions onto the 2D topomap plane, as MNE's topomaps do.

    Azimuthal-equidistant projection about the sphere's origin: a sensor at polar angle
    :math:`\theta` from the vertex and azimuth :math:`\phi`, at distance :math:`r` from the
    origin, lands at :math:`\frac{2\theta}{\pi} r\,(\cos\phi, \sin\phi)` (plus the
    origin's x, y), so sensors on the sphere's equator land on the head circle of radius
    :math:`r`.

    Parameters
    ----------
    pos : array, shape (n_sensors, 3)
        Positions in head coordinates (m).
    sphere : tuple of float | None
        ``(x, y, z, radius)`` of the head sphere in m; ``None``: MNE's default
        ``(0, 0, 0, 0.095)``.

    Returns
    -------
    xy : ndarray, shape (n_sensors, 2)
        2D positions in m, in the plane of the head circle.
    """
    sphere = np.asarray(HEAD_SPHERE if sphere is None else sphere, dtype=float)
    if sphere.shape != (4,):
        raise ValueError(f"sphere must be (x, y, z, radius), got {sphere.tolist()}.")
    pos = np.asarray(pos, dtype=float)
    if pos.ndim != 2 or pos.shape[1] != 3:
        raise ValueError(f"pos must have shape (n_sensors, 3), got {pos.shape}.")
    rel = pos - sphere[:3]
    r = np.linalg.norm(rel, axis=1)
    polar = np.arccos(np.clip(rel[:, 2] / np.where(r == 0, 1, r), -1, 1))
    azimuth = np.arctan2(rel[:, 1], rel[:, 0])
    rho = polar * r / (np.pi / 2)
    return np.column_stack([rho * np.cos(azimuth), rho * np.sin(azimuth)]) + sphere[:2]


def _head_outline(center, angle):
    """Head circle, nose and ears (MNE's outline shapes) of unit radius, rotated by angle."""
    t = np.linspace(0, 2 * np.pi, 101)
    dx, dy = np.cos(np.arccos(np.deg2rad(12))), np.sin(np.arccos(np.deg2rad(12)))
    ear_x = 2 * np.array([0.497, 0.510, 0.518, 0.5299, 0.5419, 0.54, 0.547, 0.532, 0.510, 0.489])
    ear_y = 2 * np.array(
        [0.0555, 0.0775, 0.0783, 0.0746, 0.0555, -0.0055, -0.0932, -0.1313, -0.1384, -0.1199]
    )
    parts = [
        (np.cos(t), np.sin(t)),
        (np.array([-dx, 0, dx]), np.array([dy, 1.15, dy])),
        (-ear_x, ear_y),
        (ear_x, ear_y),
    ]
    return [_place(np.column_stack(p), center, angle) for p in parts]


def _place(xy, center, angle):
    """Rotate unit-head coordinates by ``angle`` (rad) and move them to ``center``."""
    c, s = np.cos(angle), np.sin(angle)
    return xy @ np.array([[c, s], [-s, c]]) + np.asarray(center)


def _positions(info, names, sphere):
    """Unit-radius 2D positions of dyad channels (by name) from an Info."""
    import mne

    if info is None:
        # No Info: standard 10-05 positions by channel name, so a stored result still plots.
        from ..dyad import split_ch_name

        # MNE 1.13 renamed standard_1005 to colin27_1005 (same positions)
        kind = "colin27_1005"
        if kind not in mne.channels.get_builtin_montages():
            kind = "standard_1005"
        montage = mne.channels.make_standard_montage(kind)
        ch_pos = {k.lower(): v for k, v in montage.get_positions()["ch_pos"].items()}
        plain = [split_ch_name(n)[1] for n in names]
        missing = [n for n, p in zip(names, plain) if p.lower() not in ch_pos]
        if missing:
            raise ValueError(
                f"Channels {missing} are not in the standard 10-05 montage: pass info= (the "
                "dyad's Raw, Epochs or Info, with a montage set)."
            )
        pos = np.array([ch_pos[p.lower()] for p in plain])
    else:
        if not isinstance(info, mne.Info):
            _validate_type(
                getattr(info, "info", None), mne.Info, "info", "Info or an MNE object with .info"
            )
            info = info.info
        missing = [n for n in names if n not in info["ch_names"]]
        if missing:
            raise ValueError(f"Channels {missing} are not in info (channels: {info['ch_names']}).")
        pos = np.array([info["chs"][info["ch_names"].index(n)]["loc"][:3] for n in names])
        bad = [n for n, p in zip(names, pos) if not np.all(np.isfinite(p)) or not np.any(p)]
        if bad:
            raise ValueError(
                f"Channels {bad} have no position: set a montage first "
                "(e.g. raw.set_montage(hyperinsync.read_montage('standard-32')))."
            )
    radius = float(np.asarray(HEAD_SPHERE if sphere is None else sphere)[3])
    return _head_coords(pos, sphere) / radius


# --------------------------------------------------------------------------- plot_heads
@fill_doc
def plot_heads(
    result,
    measure=None,
    band=None,
    *,
    info=None,
    level="channel",
    mask=None,
    threshold=None,
    row_names=None,
    col_names=None,
    roles=None,
    sphere=None,
    facing=False,
    cmap="viridis",
    vmin=None,
    vmax=None,
    linewidth=(0.5, 4.0),
    axes=None,
    colorbar=True,
    title=None,
    show=True,
):
    """Plot two heads side by side, with lines between synchronised channels or ROIs.

    Sensor positions come from the dyad's channel locations (each person's own montage),
    projected like MNE's topomaps (azimuthal-equidistant, as MNE). Each drawn pair is one line from
    person A's sensor (or ROI centroid) to person B's, coloured by its value and drawn wider
    for larger values.

    Parameters
    ----------
    result : SyncResult | array, shape (n_rows, n_cols)
        A result of :func:`hyperinsync.compute_sync` (with ``pairs='inter'``), or plain values
        with ``row_names`` / ``col_names``.
    measure, band : str | None
        Which measure and band of a SyncResult (``None`` when it holds only one).
    info : mne.Info | DyadRaw | DyadEpochs | None
        Where the channel positions come from: the dyad (or its Info). ``None`` uses the
        standard 10-05 positions of the channel names.
    level : 'channel' | 'roi'
        Channel pairs, or ROI pairs drawn between ROI centroids (SyncResult with ROIs only).
    mask : bool array, shape (n_rows, n_cols) | None
        Pairs to draw (e.g. significant pairs).
    threshold : float | None
        Draw only pairs whose value is at least ``threshold`` (combined with ``mask``). With
        neither, every pair is drawn.
    row_names, col_names : list of str | None
        Dyad channel names (``'<role>:<channel>'``) of the rows and columns of a plain array.
    roles : tuple of str | None
        Labels under the heads; ``None`` takes them from the result or the channel names.
    sphere : tuple | None
        Head sphere ``(x, y, z, radius)`` in m; ``None``: MNE's default.
    facing : bool
        Rotate the heads so they face each other (noses towards the middle). ``False``
        (default): both noses up, as in a topomap, so left-right symmetric ROIs (centroids on
        the midline) stay apart.
    cmap : str | Colormap
        Colour map of the lines.
    vmin, vmax : float | None
        Colour (and width) limits; ``None``: the range of the drawn values.
    linewidth : tuple of float
        Line widths (points) at ``vmin`` and ``vmax``.
    axes : matplotlib Axes | None
        Where to draw (one Axes holds both heads); ``None``: a new figure.
    colorbar : bool
        Add a colour bar for the lines.
    title : str | None
        Axes title; a SyncResult default names the measure and band.
    %(viz_show)s

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure. The links are one :class:`~matplotlib.collections.LineCollection` with a
        ``gid`` of ``'links'``.
    """
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection
    from matplotlib.colors import Normalize

    _check_option("level", level, ("channel", "roi"))
    groups = None
    if _is_sync_result(result):
        if band is None and len(result.bands) != 1:
            raise ValueError(
                f"This result holds several bands ({list(result.bands)}): choose one with band=..."
            )
        values = result.get_data(measure, band, level=level)
        band = band or next(iter(result.bands))
        if level == "roi":
            groups = (result.rois["rows"], result.rois["cols"])
            rows, cols = result.roi_names
        else:
            rows, cols = result.rows, result.cols
        roles = result.roles if roles is None else roles
        if title is None:
            m = measure or result.measures[0]
            title = f"{m.upper()}, {band} ({level} pairs)"
    else:
        if level == "roi":
            raise ValueError("level='roi' needs a SyncResult computed with rois=.")
        values = np.asarray(result, dtype=float)
        if values.ndim != 2:
            raise ValueError(f"values must be 2D (n_rows, n_cols), got shape {values.shape}.")
        if row_names is None or col_names is None:
            raise ValueError(
                "Plain arrays need row_names and col_names (dyad channel names such as "
                "'therapist:Fz') to place the sensors."
            )
        rows, cols = list(row_names), list(col_names)
        if (len(rows), len(cols)) != values.shape:
            raise ValueError(
                f"row_names/col_names have {len(rows)}/{len(cols)} entries but the values "
                f"are {values.shape[0]} x {values.shape[1]}."
            )
    if roles is None:
        roles = (_strip_roles(rows)[0] or "A", _strip_roles(cols)[0] or "B")

    keep = np.isfinite(values)
    if mask is not None:
        mask = np.asarray(mask)
        if mask.dtype != bool or mask.shape != values.shape:
            raise ValueError(
                f"mask must be a boolean array of shape {values.shape}, got {mask.dtype} "
                f"{mask.shape}."
            )
        keep &= mask
    if threshold is not None:
        keep &= values >= threshold

    # sensors of each person; with ROIs, the member channels and their centroids
    angle_a, angle_b = (-np.pi / 2, np.pi / 2) if facing else (0.0, 0.0)
    centers = ((-_HEAD_GAP, 0.0), (_HEAD_GAP, 0.0))
    if groups is None:
        sensors = [_positions(info, rows, sphere), _positions(info, cols, sphere)]
        ends = sensors
    else:
        sensors, ends = [], []
        for grp in groups:
            chans = [c for chs in grp.values() for c in chs]
            xy = dict(zip(chans, _positions(info, chans, sphere)))
            sensors.append(np.array(list(xy.values())))
            ends.append(np.array([np.mean([xy[c] for c in chs], axis=0) for chs in grp.values()]))
    sensors = [_place(s, c, a) for s, c, a in zip(sensors, centers, (angle_a, angle_b))]
    ends = [_place(e, c, a) for e, c, a in zip(ends, centers, (angle_a, angle_b))]

    ax = _get_axes(axes, 1, panel_size=(8.0, 4.2))[0]
    fig = ax.figure
    for center, angle, role in zip(centers, (angle_a, angle_b), roles):
        for part in _head_outline(center, angle):
            ax.plot(part[:, 0], part[:, 1], color="k", lw=1.2)
        ax.text(center[0], -1.32, role, ha="center", va="top", fontsize="large")
    for s in sensors:
        ax.scatter(s[:, 0], s[:, 1], s=6, c="k", zorder=2)
    if groups is not None:
        for e, grp in zip(ends, groups):
            ax.scatter(e[:, 0], e[:, 1], s=60, c="0.3", edgecolors="k", zorder=4)
            for (x, y), label in zip(e, grp):
                ax.annotate(
                    label,
                    (x, y),
                    xytext=(0, 6),
                    textcoords="offset points",
                    ha="center",
                    fontsize="small",
                )

    ii, jj = np.nonzero(keep)
    vals = values[ii, jj]
    lo = (float(vals.min()) if vals.size else 0.0) if vmin is None else float(vmin)
    hi = (float(vals.max()) if vals.size else 1.0) if vmax is None else float(vmax)
    norm = Normalize(lo, hi if hi > lo else lo + 1e-12)
    cmap = plt.get_cmap(cmap)
    frac = np.clip(norm(vals), 0, 1)
    segments = np.stack([ends[0][ii], ends[1][jj]], axis=1)
    links = LineCollection(
        segments,
        colors=cmap(frac),
        linewidths=linewidth[0] + (linewidth[1] - linewidth[0]) * frac,
        zorder=3,
        gid="links",
    )
    links.set_array(vals)
    links.set_norm(norm)
    links.set_cmap(cmap)
    ax.add_collection(links)
    if colorbar:
        fig.colorbar(links, ax=ax, shrink=0.7, label="value")
    ax.set_xlim(-_HEAD_GAP - 1.3, _HEAD_GAP + 1.3)
    ax.set_ylim(-1.6, 1.3)
    ax.set_aspect("equal")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return _show(fig, show)
