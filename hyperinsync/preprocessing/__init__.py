"""Preprocessing of body and autonomic signals: EDA, heart, movement (MEA).

Every function takes an MNE ``Raw`` (one person or a dyad, channels ``'<role>:<name>'``)
and returns a new one; the input is never modified. Missing data stay missing: NaN samples
and ``BAD_`` annotations are never filled with zeros, and what a function finds (flat
stretches, stretches without beats, outliers) becomes an explicit ``BAD_`` annotation
naming the channel.
"""

from .movement import mea_artifacts, mea_ccf_artifacts, mea_scale, mea_smooth
from .physio import (
    annotate_flat,
    annotate_missing,
    clean_eda,
    detect_beats,
    eda_decompose,
    heart_rate,
    heart_rate_from_beats,
    hrv_windows,
)

__all__ = [
    "annotate_flat",
    "annotate_missing",
    "clean_eda",
    "detect_beats",
    "eda_decompose",
    "heart_rate",
    "heart_rate_from_beats",
    "hrv_windows",
    "mea_artifacts",
    "mea_ccf_artifacts",
    "mea_scale",
    "mea_smooth",
]
