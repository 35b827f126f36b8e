"""Synchrony of a dyad: band signals, measures, the engine and its result.

Modules, in the order data flow through them:

- :mod:`~hyperinsync.sync.signals` -- the signal layer every analysis builds on (picks,
  ``BAD_`` spans, finite and flat checks (``hyperinsync.sync.checks``), decimation, band
  signals, chunking);
- :mod:`~hyperinsync.sync.bands`, :mod:`~hyperinsync.sync.spectral` -- band edges and band
  analytic signals (FFT filter-Hilbert, MNE FIR + Hilbert, Morlet; their frequency-domain
  kernels: ``hyperinsync.sync.kernels``);
- :mod:`~hyperinsync.sync.measures` -- PLV, coh, imcoh, wPLI, ccorr, envcorr, written once
  (those that are functions of sums over samples: ``hyperinsync.sync.sums``);
- :mod:`~hyperinsync.sync.engine` -- :func:`compute_sync`;
- :mod:`~hyperinsync.sync.result` -- :class:`SyncResult`;
- :mod:`~hyperinsync.sync.lagged` (engine: :mod:`~hyperinsync.sync.lagged_sums`) -- the
  windowed lagged cross-correlation of body and autonomic signals (rMEA, SUSY and WCC
  definitions) and :func:`peak_lag`; its statistics are in :mod:`hyperinsync.stats.lagged`.
"""

from .bands import METHODS, effective_band
from .engine import compute_sync
from .lagged import peak_lag
from .measures import MEASURES, compute_measure
from .result import SyncResult
from .signals import DyadSignals
from .spectral import BandSignal, band_analytic

__all__ = [
    "BandSignal",
    "DyadSignals",
    "MEASURES",
    "METHODS",
    "SyncResult",
    "band_analytic",
    "compute_measure",
    "compute_sync",
    "effective_band",
    "peak_lag",
]
