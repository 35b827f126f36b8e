"""Figures.

Synchrony matrices, two heads with inter-brain links, In-Sync levels, statistics, lagged
synchrony of body and autonomic signals.

Every function follows MNE's plotting conventions: it draws into ``axes`` when given (else a new
figure), returns the :class:`matplotlib.figure.Figure`, and shows it when ``show=True`` (a no-op
on non-interactive backends such as Agg). The drawing code works on plain arrays; thin
adapters accept hyperinsync's result objects (:class:`~hyperinsync.sync.SyncResult`,
surrogate, In-Sync and lagged synchrony results) by reading their documented attributes, so
the figures do not depend on how those results are computed.

One module per figure family: :mod:`~hyperinsync.viz.matrix`, :mod:`~hyperinsync.viz.heads`,
:mod:`~hyperinsync.viz.level1`, :mod:`~hyperinsync.viz.stats`, :mod:`~hyperinsync.viz.trend`,
:mod:`~hyperinsync.viz.lagged` (shared helpers in :mod:`~hyperinsync.viz.base`).
"""

from .heads import HEAD_SPHERE, plot_heads
from .lagged import plot_lagged_sync
from .level1 import plot_level1
from .matrix import plot_sync_matrix
from .stats import plot_correlation, plot_group_contrast, plot_null_distribution
from .trend import plot_trend

__all__ = [
    "HEAD_SPHERE",
    "plot_correlation",
    "plot_group_contrast",
    "plot_heads",
    "plot_lagged_sync",
    "plot_level1",
    "plot_null_distribution",
    "plot_sync_matrix",
    "plot_trend",
]
