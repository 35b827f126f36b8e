"""hyperinsync: hyperscanning EEG synchrony for MNE-Python."""

__version__ = "0.1.0.dev0"

from .backend import get_backend
from .dyad import (
    DyadEpochs,
    DyadRaw,
    as_dyad,
    get_roles,
    make_dyad_epochs,
    make_dyad_raw,
    read_dyad_epochs,
    read_dyad_raw,
)
from .montage import list_montages, read_montage
from .rois import read_rois, resolve_rois
from .simulate import Coupling, simulate_dyad, simulate_study
from .spectral import band_analytic
from .sync import SyncResult, compute_sync

__all__ = [
    "Coupling",
    "DyadEpochs",
    "DyadRaw",
    "SyncResult",
    "as_dyad",
    "band_analytic",
    "compute_sync",
    "get_backend",
    "get_roles",
    "list_montages",
    "make_dyad_epochs",
    "make_dyad_raw",
    "read_dyad_epochs",
    "read_dyad_raw",
    "read_montage",
    "read_rois",
    "resolve_rois",
    "simulate_dyad",
    "simulate_study",
]
