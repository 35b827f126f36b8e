"""Add the findings of In-Sync results to a recording as MNE annotations."""

from __future__ import annotations

import mne

from .._utils import _validate_type, insync_description
from ..stats.lagged_result import LaggedSyncResult
from .results import InSyncLevel1, InSyncLevel2

RESULTS = (InSyncLevel1, InSyncLevel2, LaggedSyncResult)


def _levels_and_names(res):
    """Return the ``(level, band or modality)`` pairs whose annotations ``res`` makes."""
    if isinstance(res, LaggedSyncResult):
        return [(lv, mod) for lv in (1, 2) for mod in res.modalities]
    return [(res._LEVEL, band) for band in res.bands]


def annotate(raw, *results, overwrite=True):
    """Add the annotations of In-Sync results to a recording, in place.

    Onsets are converted to the recording's annotation time frame (``raw.first_time`` and
    ``orig_time`` handled as by :meth:`mne.io.Raw.set_annotations`). A result computed on a
    segment cropped from the recording (``raw.copy().crop(...)``, as Level 1 wants one
    segment at a time) lands at its place in the whole recording. The annotations are
    ordinary ones: they show in ``raw.plot()`` and survive ``raw.save`` and
    :func:`hyperinsync.dyad.read_dyad_fif`.

    Parameters
    ----------
    raw : DyadRaw | mne.io.BaseRaw
        The recording the results were computed on, or the recording a segment they were
        computed on was cropped from (same sampling rate).
    *results : InSyncLevel1 | InSyncLevel2 | LaggedSyncResult
        Results whose annotations to add: EEG Level 1 and Level 2 results, and the lagged
        synchrony of body and autonomic signals (:func:`hyperinsync.lagged_sync`: its
        Level 1 episodes and Level 2 session and segments).
    overwrite : bool
        Remove annotations of the same levels and bands (EEG) or modalities (body and
        autonomic signals) first (``insync/L1/alpha/...``, ``insync/L2/EDA/...``), so
        annotating twice does not duplicate them; those of other bands or modalities stay.

    Returns
    -------
    raw : DyadRaw | mne.io.BaseRaw
        The same object, annotated.

    Examples
    --------
    The findings of a skin-conductance analysis on the recording (Level 2: the whole session is
    above chance; Level 1: two episodes):

    >>> phys, truth = hs.simulate_physio_dyad(
    ...     duration=900.0, sfreq=8.0, modalities=("eda",), seed=0,
    ...     couplings=[hs.PhysioCoupling("eda", strength=0.7, lag=2.0)])
    >>> res = hs.lagged_sync(phys, lag=5, window=30, step=15, n_surrogates=199, seed=0)
    >>> hs.annotate(phys, res).annotations.description.tolist()
    ['insync/L2/EDA/EDA-EDA', 'insync/L1/EDA/EDA-EDA', 'insync/L1/EDA/EDA-EDA']

    EEG findings: see :func:`hyperinsync.level1`.
    """
    _validate_type(raw, mne.io.BaseRaw, "raw", "Raw")
    prefixes = []
    for res in results:
        _validate_type(res, RESULTS, "result", "InSyncLevel1, InSyncLevel2 or LaggedSyncResult")
        if res.params["sfreq"] != raw.info["sfreq"]:
            raise ValueError(
                f"The result was computed at {res.params['sfreq']:g} Hz, the recording is at "
                f"{raw.info['sfreq']:g} Hz: annotate the recording the result came from."
            )
        prefixes += [insync_description(lv, name) for lv, name in _levels_and_names(res)]
    ann = raw.annotations
    if overwrite:
        drop = [i for i, d in enumerate(ann.description) if d.startswith(tuple(prefixes))]
        if drop:
            ann.delete(drop)
    for res in results:
        new = res.annotations
        if len(new):
            # raw.annotations count from first_time (relative to orig_time if set); the
            # result's onsets count from the first sample of the recording it was computed
            # on, which may be a segment cropped from this one
            first = res.params.get("first_time", raw.first_time)
            ann.append(new.onset + first, new.duration, new.description, ch_names=new.ch_names)
    return raw
