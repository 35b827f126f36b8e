"""Readers: two recordings onto one timeline, TMSi Poly5, XDF/LSL, one amplifier with two caps."""

from .align import read_dyad, read_dyad_files, read_recording, recording_files
from .errors import AlignmentError, DyadIOError, SplitError, XDFError
from .poly5 import Poly5Error, read_raw_poly5, write_poly5
from .split import split_dyad
from .xdf import read_dyad_xdf, read_raw_xdf

# read_dyad (deprecated alias of read_dyad_files) stays importable, outside __all__
__all__ = [
    "AlignmentError",
    "DyadIOError",
    "Poly5Error",
    "SplitError",
    "XDFError",
    "read_dyad_files",
    "read_dyad_xdf",
    "read_raw_poly5",
    "read_raw_xdf",
    "read_recording",
    "recording_files",
    "split_dyad",
    "write_poly5",
]
