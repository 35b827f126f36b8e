"""Motion energy (MEA) preprocessing as rMEA does it, without silent changes to the data.

- :func:`mea_scale`: divide each series by its standard deviation without centring
  (rMEA's ``MEAscale(scale = "sd", center = FALSE, removeNA = TRUE)``), so both people are
  on a comparable scale whatever their region sizes.
- :func:`mea_smooth`: centred moving average (rMEA's ``MEAsmooth``, 0.5 s by default).
  Differences from rMEA, where its result is not data: rMEA divides every window by its
  full length, also at the start where fewer samples exist, and sets windows that touch a
  missing value or run past the end to 0; here each output is the mean of the samples
  present in its window (so the edges are means of fewer samples), missing inputs stay
  missing, and nothing is set to 0.
- :func:`mea_artifacts`: values above ``threshold`` SD of both people's series (rMEA's
  ``MEAoutlier``, default 10 SD, which sets them to NA) and, optionally, long runs of exact
  zeros (a frozen or occluded video) are annotated ``BAD_outlier`` / ``BAD_dropout`` on the
  channel; the values are kept, and the annotations make analyses skip them.
- :func:`mea_ccf_artifacts`: rMEA's ``CCFartefacts``: stretches whose lag-0
  cross-correlation stays above a threshold, typical of one camera region catching the other
  person or a lighting change, annotated ``CHECK_ccf_artifact`` for inspection (not
  ``BAD_``: only the video tells an artefact from real synchrony).
"""

from __future__ import annotations

import mne
import numpy as np

from .._docs import fill_doc
from .._utils import _validate_type, logger, verbose, warn
from ..io.physio import mask_runs
from .physio_missing import _annotate, _names


def _mea_names(raw, picks):
    return _names(raw, picks, ("misc", "bio"), "motion energy")


@verbose
@fill_doc
def mea_scale(raw, picks=None, *, center=False, verbose=None):
    """Divide each motion energy series by its SD (missing samples ignored), as rMEA.

    Parameters
    ----------
    raw : mne.io.Raw
        The recording (a dyad from :func:`hyperinsync.io.mea.read_mea`).
    picks : str | list of str | None
        Channels; ``None``: every ``misc`` and ``bio`` channel.
    center : bool
        Also subtract the mean (rMEA's default does not).
    %(verbose)s

    Returns
    -------
    raw : mne.io.Raw
        A copy; the SD (sample SD, ``ddof=1`` as R's ``sd``) of each channel is logged.
    """
    _validate_type(raw, mne.io.BaseRaw, "raw", "Raw")
    out = raw.copy().load_data()
    for name in _mea_names(out, picks):
        ci = out.ch_names.index(name)
        x = out._data[ci]
        fin = np.isfinite(x)
        sd = np.std(x[fin], ddof=1) if fin.sum() > 1 else 0.0
        if not sd > 0:
            raise ValueError(
                f"Channel {name!r} has no spread (SD {sd:g}): it cannot be scaled. "
                "Is it flat or empty?"
            )
        if center:
            x = x - x[fin].mean()
        out._data[ci] = x / sd
        logger.info(f"mea_scale: {name} divided by {sd:g}.")
    return out


@verbose
@fill_doc
def mea_smooth(raw, picks=None, *, window=0.5, verbose=None):
    """Centred moving average of motion energy (rMEA's ``MEAsmooth``; see the module).

    Parameters
    ----------
    raw : mne.io.Raw
        The recording.
    picks : str | list of str | None
        Channels; ``None``: every ``misc`` and ``bio`` channel.
    window : float
        Window length in seconds; ``round(window * sfreq)`` samples, at least 1. An even
        number of samples reaches one sample further back than forward.
    %(verbose)s

    Returns
    -------
    raw : mne.io.Raw
        A copy; each sample the mean of the present samples within the window around it,
        NaN where the input is NaN.
    """
    _validate_type(raw, mne.io.BaseRaw, "raw", "Raw")
    out = raw.copy().load_data()
    n = max(1, int(round(float(window) * out.info["sfreq"])))
    back, fwd = n // 2, n - 1 - n // 2
    for name in _mea_names(out, picks):
        ci = out.ch_names.index(name)
        x = out._data[ci]
        fin = np.isfinite(x)
        cs = np.concatenate([[0.0], np.cumsum(np.where(fin, x, 0.0))])
        cn = np.concatenate([[0], np.cumsum(fin)])
        i = np.arange(len(x))
        lo, hi = np.clip(i - back, 0, len(x)), np.clip(i + fwd + 1, 0, len(x))
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = (cs[hi] - cs[lo]) / (cn[hi] - cn[lo])
        out._data[ci] = np.where(fin, mean, np.nan)
    logger.info(f"mea_smooth: moving average over {n} samples ({n / out.info['sfreq']:g} s).")
    return out


@verbose
@fill_doc
def mea_artifacts(raw, picks=None, *, threshold=10.0, max_still=None, verbose=None):
    """Annotate motion energy outliers (and frozen video) as ``BAD_`` spans; data unchanged.

    Parameters
    ----------
    raw : mne.io.Raw
        The recording (a dyad: the SD is that of all picked series together, as rMEA's
        ``MEAoutlier`` takes it over both people).
    picks : str | list of str | None
        Channels; ``None``: every ``misc`` and ``bio`` channel.
    threshold : float
        Values above ``threshold`` times that SD are outliers (``BAD_outlier``).
    max_still : float | None
        Runs of exact zeros longer than this many seconds are a frozen or occluded video
        (``BAD_dropout``); ``None``: not checked (a still person also gives zeros).
    %(verbose)s

    Returns
    -------
    raw : mne.io.Raw
        A copy with the annotations (each naming its channel).
    """
    _validate_type(raw, mne.io.BaseRaw, "raw", "Raw")
    out = raw.copy().load_data()
    names = _mea_names(out, picks)
    data = out.get_data(picks=names)
    pooled = data[np.isfinite(data)]
    sd = np.std(pooled, ddof=1)
    sf = out.info["sfreq"]
    outliers, still = [], []
    for name, row in zip(names, data):
        outliers += [(name, i0, i1) for i0, i1 in mask_runs(row > threshold * sd)]
        if max_still is not None:
            still += [
                (name, i0, i1) for i0, i1 in mask_runs(row == 0) if (i1 - i0) / sf > max_still
            ]
    _annotate(out, outliers, "BAD_outlier")
    _annotate(out, still, "BAD_dropout")
    if outliers or still:
        warn(
            f"mea_artifacts: {len(outliers)} outlier run(s) above {threshold:g} SD "
            f"({threshold * sd:g}) and {len(still)} frozen stretch(es) annotated."
        )
    return out


def mea_ccf_artifacts(result, modality, *, threshold=0.2, delta=1, min_duration=None):
    """Find stretches of high lag-0 cross-correlation to inspect (rMEA's ``CCFartefacts``).

    Windows whose signed lag-0 value (Fisher z, or r) exceeds ``threshold`` are joined into
    stretches, allowing ``delta`` - 1 windows below it inside one (rMEA's ``delta``); a
    stretch runs from its first window's start to its last window's end.

    Parameters
    ----------
    result : hyperinsync.stats.LaggedSyncResult
        Lagged synchrony of the motion energy.
    modality : str
        The modality (pair) to read.
    threshold : float
        The threshold on the lag-0 value, as rMEA's (its example: 0.2).
    delta : int
        Largest index step between windows above threshold within one stretch.
    min_duration : float | None
        Shortest stretch reported (s); ``None``: the window step, as rMEA.

    Returns
    -------
    annotations : mne.Annotations
        ``CHECK_ccf_artifact`` spans (onsets from the first sample) naming both channels.

    Examples
    --------
    Motion energy coupled at lag 0 from 40 to 60 s:

    >>> mea, truth = hs.simulate_physio_dyad(
    ...     duration=120.0, sfreq=25.0, modalities=("movement",), seed=1,
    ...     couplings=[hs.PhysioCoupling("movement", strength=0.9, episodes=[(40.0, 60.0)])])
    >>> res = hs.lagged_sync(mea, lag=2, window=10, step=5, null=None)
    >>> check = hs.preprocessing.mea_ccf_artifacts(res, "MEA", threshold=0.2)
    >>> check.onset, check.duration       # to inspect in the video: the coupling, or an artefact?
    (array([12., 42.]), array([10., 15.]))
    """
    vals = result.get_data(modality, absolute=False)
    k0 = int(np.argmin(np.abs(result.lags)))
    hit = np.flatnonzero(np.nan_to_num(vals[:, k0], nan=-np.inf) > threshold)
    step = result.params["step"]
    win = result.params["window"]
    min_duration = step if min_duration is None else min_duration
    onsets, durs = [], []
    if len(hit):
        groups = np.split(hit, np.flatnonzero(np.diff(hit) > delta) + 1)
        for g in groups:
            t0 = result.window_starts[g[0]]
            t1 = result.window_starts[g[-1]] + win
            if t1 - t0 >= min_duration:
                onsets.append(t0)
                durs.append(t1 - t0)
    chs = list(result.channels[modality])
    return mne.Annotations(
        onsets,
        durs,
        ["CHECK_ccf_artifact"] * len(onsets),
        orig_time=None,
        ch_names=[chs] * len(onsets),
    )
