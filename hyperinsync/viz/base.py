"""What every figure shares: axes, showing, labels and the adapters of result objects."""

from __future__ import annotations

import numpy as np

from .._utils import _validate_type


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
            nrows,
            ncols,
            figsize=(panel_size[0] * ncols, panel_size[1] * nrows),
            squeeze=False,
            layout="constrained",
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
    from ..dyad import ROLE_SEP

    parts = [n.partition(ROLE_SEP) for n in names]
    roles = {role for role, sep, _ in parts if sep}
    if len(roles) == 1 and all(sep for _, sep, _ in parts):
        return roles.pop(), [rest for _, _, rest in parts]
    return None, list(names)


def _is_sync_result(obj):
    from ..sync import SyncResult

    return isinstance(obj, SyncResult)
