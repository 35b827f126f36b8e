"""hyperinsync: hyperscanning EEG synchrony for MNE-Python."""

__version__ = "0.1.0.dev0"

# the sub-packages as attributes (hs.io.read_raw_poly5, hs.viz...), and the deprecated alias
# test_sync outside __all__
from . import insync, io, preprocessing, stats, viz  # noqa: F401
from ._deprecated import test_sync  # noqa: F401
from .backend import get_backend
from .dyad import (
    DyadEpochs,
    DyadRaw,
    as_dyad,
    get_roles,
    make_dyad_epochs,
    make_dyad_raw,
    read_dyad_epochs,
    read_dyad_fif,
    read_dyad_raw,  # noqa: F401 (deprecated alias, outside __all__)
)
from .insync import annotate, level1, level2, level3
from .montage import list_montages, read_montage
from .rois import read_rois, resolve_rois
from .simulation import (
    Coupling,
    PhysioCoupling,
    simulate_dyad,
    simulate_physio_dyad,
    simulate_physio_study,
    simulate_study,
)
from .stats import (
    LaggedSyncResult,
    SurrogateResult,
    lagged_pseudo_dyads,
    lagged_sync,
    pseudo_dyad_test,
    surrogate_sync,
    surrogate_test,
)
from .study import Study, example_study_toml, make_report, read_results
from .sync import SyncResult, band_analytic, compute_sync

# read_dyad_raw (deprecated alias of read_dyad_fif) stays importable, outside __all__
__all__ = [
    "Coupling",
    "LaggedSyncResult",
    "PhysioCoupling",
    "Study",
    "SurrogateResult",
    "annotate",
    "example_study_toml",
    "level1",
    "level2",
    "lagged_pseudo_dyads",
    "lagged_sync",
    "level3",
    "make_report",
    "pseudo_dyad_test",
    "read_results",
    "surrogate_sync",
    "surrogate_test",
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
    "read_dyad_fif",
    "read_montage",
    "read_rois",
    "resolve_rois",
    "simulate_dyad",
    "simulate_physio_dyad",
    "simulate_physio_study",
    "simulate_study",
]
