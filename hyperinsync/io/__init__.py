"""Readers of EEG, physiological and motion-energy recordings.

Two recordings onto one timeline, TMSi Poly5, XDF/LSL, one amplifier with two caps,
physiological devices (CSV/TSV, Empatica, BIOPAC AcqKnowledge) and motion energy (MEA).
"""

from .align import (
    read_dyad,  # noqa: F401 (deprecated alias, outside __all__)
    read_dyad_files,
    read_recording,
    recording_files,
)
from .errors import AlignmentError, DyadIOError, PhysioIOError, SplitError, XDFError
from .mea import read_mea
from .physio import (
    read_empatica_ibi,
    read_raw_acqknowledge,
    read_raw_empatica,
    read_raw_physio_csv,
)
from .physio_align import align_physio, make_physio_dyad
from .poly5 import Poly5Error, read_raw_poly5, write_poly5
from .split import split_dyad
from .xdf import read_dyad_xdf, read_raw_xdf

# read_dyad (deprecated alias of read_dyad_files) stays importable, outside __all__
__all__ = [
    "AlignmentError",
    "DyadIOError",
    "PhysioIOError",
    "Poly5Error",
    "SplitError",
    "XDFError",
    "align_physio",
    "make_physio_dyad",
    "read_dyad_files",
    "read_dyad_xdf",
    "read_empatica_ibi",
    "read_mea",
    "read_raw_acqknowledge",
    "read_raw_empatica",
    "read_raw_physio_csv",
    "read_raw_poly5",
    "read_raw_xdf",
    "read_recording",
    "recording_files",
    "split_dyad",
    "write_poly5",
]
