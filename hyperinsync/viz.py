"""Figures: synchrony matrices, two heads with inter-brain links, In-Sync levels, statistics.

Every function follows MNE's plotting conventions: it draws into ``axes`` when given (else a new
figure), returns the :class:`matplotlib.figure.Figure`, and shows it when ``show=True`` (a no-op
on non-interactive backends such as Agg). The drawing code works on plain arrays; thin
adapters accept hyperinsync's result objects (:class:`~hyperinsync.sync.SyncResult`, surrogate
and In-Sync results) by reading their documented attributes, so the figures do not depend on
how those results are computed.
"""

from __future__ import annotations

import numpy as np

from ._docs import fill_doc
from ._utils import _check_option, _validate_type

# MNE's default head sphere (origin and radius in m, head coordinates): sensors are projected
# with the same azimuthal-equidistant rule as MNE's topomaps, so the heads look the same.
HEAD_SPHERE = (0.0, 0.0, 0.0, 0.095)
_HEAD_GAP = 1.45  # head centres at +/- this many head radii in plot_heads


# --------------------------------------------------------------------------- small helpers
def _show(fig, show):
    """Show ``fig`` like MNE's ``plt_show``: never on non-interactive backends."""
    import matplotlib
    import matplotlib.pyplot as plt

    _validate_type(show, bool, "show")
    if show and matplotlib.get_backend().lower() not in ("agg", "pdf", "svg", "ps", "cairo"):
        plt.show(block=False)
    return fig


def _get_axes(axes, n=1, ncols=None, panel_size=(4.2, 3.6)):
    """Return a list of ``n`` Axes: the user's (checked) or those of a new figure."""
    import matplotlib.pyplot as plt
    from matplotlib.axes import Axes

    if axes is None:
        ncols = min(n, 3) if ncols is None else ncols
        nrows = -(-n // ncols)
        fig, ax = plt.subplots(
            nrows, ncols, figsize=(panel_size[0] * ncols, panel_size[1] * nrows),
            squeeze=False, layout="constrained",
        )
        ax = list(ax.ravel())
        for extra in ax[n:]:
            extra.remove()
        return ax[:n]
    if isinstance(axes, Axes):
        axes = [axes]
    else:
        axes = list(np.ravel(np.asarray(axes, dtype=object)))
    for ax in axes:
        _validate_type(ax, Axes, "each element of axes", "matplotlib Axes")
    if len(axes) != n:
        raise ValueError(
            f"This figure needs {n} axes but {len(axes)} were given: pass {n} Axes "
            "(e.g. plt.subplots(1, n)[1]) or axes=None for a new figure."
        )
    return axes


def _fmt_p(p):
    """``p`` with enough digits to be read, e.g. ``p = 0.012`` or ``p < 0.001``."""
    p = float(p)
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _stats_title(ax, title, stats, default):
    """Title: the user's text, then the statistics on a line of their own (else ``default``).

    A second line keeps long feature names in panel grids from running into each other.
    """
    parts = ([title] if title else []) + ([", ".join(stats)] if stats else [])
    ax.set_title("\n".join(parts) or default)


def _vector(x, name):
    x = np.asarray(x, dtype=float)
    if x.ndim != 1 or not x.size:
        raise ValueError(f"{name} must be a non-empty 1D array of numbers, got shape {x.shape}.")
    return x


def _strip_roles(names):
    """Channel labels without their role prefix when all share one role (else unchanged)."""
    from .dyad import ROLE_SEP

    parts = [n.partition(ROLE_SEP) for n in names]
    roles = {role for role, sep, _ in parts if sep}
    if len(roles) == 1 and all(sep for _, sep, _ in parts):
        return roles.pop(), [rest for _, _, rest in parts]
    return None, list(names)


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


def _is_sync_result(obj):
    from .sync import SyncResult

    return isinstance(obj, SyncResult)


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
        im = ax.imshow(mat, cmap=cmap, vmin=lo, vmax=hi, aspect="auto",
                       interpolation="nearest", origin="upper")
        if m is not None and m.any():
            ii, jj = np.nonzero(m)
            ax.scatter(jj, ii, s=28, c="white", edgecolors="black", linewidths=0.8,
                       label="significant", zorder=3)
        ax.set_xticks(np.arange(len(col_labels)), col_labels, rotation=90,
                      fontsize="small" if len(col_labels) > 12 else None)
        ax.set_yticks(np.arange(len(row_labels)), row_labels,
                      fontsize="small" if len(row_labels) > 12 else None)
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


# --------------------------------------------------------------------------- head geometry
def _head_coords(pos, sphere=None):
    """Project 3D sensor positions onto the 2D topomap plane, as MNE's topomaps do.

    Azimuthal-equidistant projection about the sphere's origin: a sensor at polar angle
    :math:`\\theta` from the vertex and azimuth :math:`\\phi`, at distance :math:`r` from the
    origin, lands at :math:`\\frac{2\\theta}{\\pi} r\\,(\\cos\\phi, \\sin\\phi)` (plus the
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
    ear_y = 2 * np.array([0.0555, 0.0775, 0.0783, 0.0746, 0.0555, -0.0055, -0.0932, -0.1313,
                          -0.1384, -0.1199])
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
        from .dyad import split_ch_name

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
            _validate_type(getattr(info, "info", None), mne.Info, "info",
                           "Info or an MNE object with .info")
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
                f"This result holds several bands ({list(result.bands)}): choose one with "
                "band=..."
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
                ax.annotate(label, (x, y), xytext=(0, 6), textcoords="offset points",
                            ha="center", fontsize="small")

    ii, jj = np.nonzero(keep)
    vals = values[ii, jj]
    lo = (float(vals.min()) if vals.size else 0.0) if vmin is None else float(vmin)
    hi = (float(vals.max()) if vals.size else 1.0) if vmax is None else float(vmax)
    norm = Normalize(lo, hi if hi > lo else lo + 1e-12)
    cmap = plt.get_cmap(cmap)
    frac = np.clip(norm(vals), 0, 1)
    segments = np.stack([ends[0][ii], ends[1][jj]], axis=1)
    links = LineCollection(
        segments, colors=cmap(frac), linewidths=linewidth[0] + (linewidth[1] - linewidth[0]) * frac,
        zorder=3, gid="links",
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
        return _vector(level1, "times"), _vector(values, "values"), threshold, episodes, \
            null_band, None
    if not hasattr(level1, "get_series"):
        raise ValueError("Pass a Level 1 result (hyperinsync.insync.level1), or times and "
                         "values arrays.")
    from .sync import SyncResult

    # one band and ROI pair of an InSyncLevel1 (None: the only one there is)
    res, pick = level1, SyncResult._pick
    bi = pick("band", band, list(res.bands))
    ri = pick("roi_a", roi_a, list(res.roi_names[0]))
    ci = pick("roi_b", roi_b, list(res.roi_names[1]))
    band, roi_a, roi_b = list(res.bands)[bi], res.roi_names[0][ri], res.roi_names[1][ci]
    times, vals = res.get_series(band, roi_a, roi_b)
    if threshold is None:
        threshold = float(np.asarray(res.threshold)[bi, ri, ci])
    if null_band is None:
        mean = float(np.asarray(res.null_mean)[bi, ri, ci])
        sd = float(np.asarray(res.null_sd)[bi, ri, ci])
        null_band = (mean - 1.96 * sd, mean + 1.96 * sd)
    if episodes is None:
        episodes = [e for e in res.episodes
                    if (e["band"], e["roi_a"], e["roi_b"]) == (band, roi_a, roi_b)]
    label = f"{res.measure.upper()} {band}, {roi_a}-{roi_b}"
    return np.asarray(times, float), np.asarray(vals, float), threshold, episodes, \
        null_band, label


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
    from .sync import SyncResult

    pick = SyncResult._pick
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
            f"observed must be one value, got shape {obs.shape}: select one pair (and band) "
            "first."
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
    stats = ([_fmt_p(p)] if p is not None else []) + ([f"z = {float(z):.2f}"] if z is not None else [])
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
    ax.boxplot(data, positions=pos, widths=0.5, showfliers=False, patch_artist=True,
               boxprops=dict(facecolor="0.92"), medianprops=dict(color="k"))
    for k, (x, d) in enumerate(zip(pos, data)):
        ax.scatter(x + rng.uniform(-0.12, 0.12, d.size), d, s=22, color=f"C{k}", zorder=3,
                   label=f"{names[k]} (n = {d.size})")
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
            ax.annotate(str(lab), (xi, yi), xytext=(3, 3), textcoords="offset points",
                        fontsize="x-small")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    stats = [f"r = {float(r):.2f}"] + ([_fmt_p(p)] if p is not None else [])
    _stats_title(ax, title, stats, "")
    return _show(fig, show)


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
        ax.plot(sess, row, marker="o", lw=1.2, alpha=0.8 if len(vals) > 1 else 1.0,
                label=None if labels is None else str(labels[k]))
    if fit:
        ok = np.isfinite(vals)
        xx = np.broadcast_to(x_fit, vals.shape)[ok]
        if np.unique(xx).size < 2:
            raise ValueError("A trend needs at least two distinct sessions with values.")
        slope, intercept = np.polyfit(xx, vals[ok], 1)
        unit = "day" if dates else "session"
        ax.plot(sess, intercept + slope * x_fit, color="k", ls="--", lw=2,
                label=f"trend: {slope:+.3g} per {unit}")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if labels is not None or fit:
        ax.legend(fontsize="small")
    ax.set_title(title if title is not None else "Level 3: across sessions")
    return _show(fig, show)
