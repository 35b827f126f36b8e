"""The synchrony engine: :func:`compute_sync`."""

from __future__ import annotations


from threadpoolctl import threadpool_limits

import mne
import numpy as np

from .._docs import fill_doc
from .._utils import (
    _check_option,
    _validate_type,
    check_bands,
    check_n_jobs,
    logger,
    verbose,
)
from ..backend import get_backend, real_dtype
from .measures import CONVENTIONS, check_measures, compute_measure
from .result import SyncResult
from .signals import (
    _drop_flat,
    _min_length_checks,
    check_epoch_data,
    continuous_signals,
    data_picks,
    roi_spec,
    window_starts,
)
from .spectral import (
    METHODS,
    _auto_decim,
    band_analytic,
    mne_transition_bandwidths,
)

def _fill_values(signals, bands, measures, convention, pairs, n_a, n_epochs, summary,
                 per_epoch, per_time, per_pair, max_bytes, bk):
    """Compute every measure and band into ``summary`` and the per-epoch/per-time arrays."""
    n_rows, n_cols = summary.shape[2:]
    for bi, b in enumerate(bands):
        z = signals[b][0]
        za = z[:, :, :n_a] if pairs == "inter" else z
        zb = z[:, :, n_a:] if pairs == "inter" else z
        n_f, t_n = z.shape[1], z.shape[-1]
        for mi, m in enumerate(measures):
            if convention == "within":
                step = max(1, int(max_bytes // (per_pair * n_f * max(1, t_n // 64))))
                for e0 in range(0, n_epochs, step):
                    v = compute_measure(m, za[e0 : e0 + step], zb[e0 : e0 + step], "within")
                    per_epoch[mi, bi, e0 : e0 + step] = bk.to_numpy(v.mean(axis=1))
                summary[mi, bi] = per_epoch[mi, bi].mean(axis=0)
            else:
                step = max(1, int(max_bytes // (per_pair * n_f * max(1, n_epochs // 64))))
                vt = np.empty((t_n, n_rows, n_cols))
                for t0 in range(0, t_n, step):
                    v = compute_measure(
                        m, za[..., t0 : t0 + step], zb[..., t0 : t0 + step], "across"
                    )
                    vt[t0 : t0 + step] = bk.to_numpy(v.mean(axis=0))
                per_time[(mi, bi)] = vt
                summary[mi, bi] = vt.mean(axis=0)


@verbose
@fill_doc
def compute_sync(
    inst,
    bands=None,
    measures="plv",
    *,
    method="fft",
    convention="within",
    pairs="inter",
    rois=None,
    epoch_duration=2.0,
    overlap=0.0,
    reject_by_annotation=True,
    picks=None,
    decim="auto",
    n_cycles=7.0,
    freq_step=1.0,
    precision="single",
    backend="auto",
    n_jobs=1,
    max_bytes=256e6,
    l_trans_bandwidth="auto",
    h_trans_bandwidth="auto",
    verbose=None,
):
    """Compute inter-brain (and intra-brain) synchrony of a dyad.

    The data are not modified. Band signals are computed from a copy without each channel's
    least-squares line (per channel of a Raw, per channel and epoch of Epochs), so offsets
    and linear drifts -- raw DC-coupled amplifier data carry hundreds of millivolts of them
    -- change no value (see :mod:`hyperinsync.spectral`).

    Degenerate inputs are refused with an error that says what to do: no epochs; epochs
    shorter than 2 cycles of a band's lowest frequency (``'within'``: PLV would tend to 1
    whatever the data; under 4 cycles a warning says the values are inflated);
    fewer than 2 epochs for ``'across'`` (under 8, a warning); NaN or infinite values
    outside rejected ``BAD_`` spans (naming the channel and time; inside them the samples
    are not used and are bridged by a straight line for the filter only); a channel flat
    (constant) in some of the epochs. A channel flat in every analysed epoch is left out of
    the rows/columns and of every ROI average, with a warning naming it (and
    ``params['flat_channels']``): its phase is undefined, and a PLV of 0 would silently pull
    its ROI down.

    Parameters
    ----------
    inst : DyadRaw | DyadEpochs | mne.io.BaseRaw | mne.BaseEpochs
        A dyad: any MNE object whose channel names are ``'<role>:<channel>'``. A Raw is
        transformed as one continuous recording (no epoch-edge effects) and then cut into
        fixed-length epochs; Epochs are transformed one by one with padding.
    %(bands)s
    measures : str | list of str
        Any of ``'plv'``, ``'coh'``, ``'imcoh'``, ``'wpli'``, ``'ccorr'``, ``'envcorr'``
        (formulas in :mod:`hyperinsync.measures`).
    method : 'fft' | 'mne_fir' | 'morlet'
        How band analytic signals are made (see :func:`hyperinsync.spectral.band_analytic`).
        ``'mne_fir'`` on Epochs with ``convention='within'`` reproduces HyPyP's
        ``compute_freq_bands`` + ``compute_sync`` exactly, at the default arguments
        (``decim='auto'`` means full rate for it; to float32 rounding with the default
        ``precision='single'``, at most 3.4e-7 on HyPyP's test dyad, to 1e-15 with
        ``'double'``). With
        ``convention='across'`` on Epochs, ``'mne_fir'`` leaves out each epoch's first and
        last sample: MNE's odd-reflection padding forces the band signal's real part to 0
        there, so their phase is +-90 degrees whatever the data.
    convention : 'within' | 'across'
        ``'within'``: each measure over the time points of an epoch, then averaged over
        epochs (hyperscanning convention, HyPyP); per-epoch values are kept.
        ``'across'``: over epochs at each time point (Lachaux's trial PLV; mne-connectivity's
        ``spectral_connectivity_epochs``), then averaged over time; per-time values are kept.
        With ``'morlet'``, values are computed per wavelet frequency and then averaged over
        the band's frequencies (mne-connectivity's ``faverage``).
    pairs : 'inter' | 'all'
        ``'inter'``: rows are the first person's channels, columns the second's.
        ``'all'``: rows and columns are all channels of both (intra- and inter-brain).
    %(rois)s
    epoch_duration : float
        Epoch length in seconds when ``inst`` is a Raw.
    overlap : float
        Overlap of consecutive epochs in seconds when ``inst`` is a Raw.
    reject_by_annotation : bool
        Drop epochs of a Raw that overlap ``BAD_*`` annotations (for both people). Samples
        inside them are then not used; NaN there (e.g. a gap) is allowed.
    picks : list of str | None
        Channel names (role-prefixed) to use; None: good data channels of both.
    decim : int | 'auto'
        Keep every ``decim``-th sample of the analytic signals (exact subsampling).
        ``'auto'`` keeps at least 4 samples per cycle of the band's highest frequency; with
        ``method='mne_fir'`` it means 1 (every sample), so that values equal HyPyP's.
    n_cycles, freq_step : float
        Morlet cycles and frequency spacing (``method='morlet'``).
    precision : 'single' | 'double'
        complex64 (default) or complex128 arithmetic.
    %(backend)s
    %(n_jobs)s
    max_bytes : float
        Approximate memory bound for one chunk of work.
    l_trans_bandwidth, h_trans_bandwidth : float | 'auto'
        Widths in Hz of the lower and upper transition bands of the filter methods
        (``'fft'``, ``'mne_fir'``), as in :func:`mne.filter.filter_data`. ``'auto'`` is MNE's
        default (and HyPyP's): ``min(max(fmin / 4, 2), fmin)`` and
        ``min(max(fmax / 4, 2), sfreq / 2 - fmax)``. The gain is 1/2 (-6 dB) half-way
        through each transition, so with the defaults theta 4-8 Hz passes 3-9 Hz and
        overlaps alpha (8-13 Hz passes 7-14.6 Hz): a 9 Hz alpha peak shows in theta at half
        amplitude. Narrower transitions separate adjacent bands better at the cost of
        longer filters (more edge samples, more ringing). The -6 dB band of every band and
        method is in ``result.params['effective_band']`` and in :meth:`SyncResult.to_table`.
    %(verbose)s

    Returns
    -------
    result : SyncResult
        Values per measure, band and pair, with per-epoch (or per-time) values, ROI access
        and conversions to tables and mne-connectivity containers.
    """
    _validate_type(inst, (mne.io.BaseRaw, mne.BaseEpochs), "inst")
    _check_option("method", method, METHODS)
    _check_option("convention", convention, CONVENTIONS)
    _check_option("pairs", pairs, ("inter", "all"))
    measures = check_measures(measures)
    sfreq = inst.info["sfreq"]
    bands = check_bands(bands, sfreq)
    n_jobs = check_n_jobs(n_jobs)
    bk = get_backend(backend)
    roles, (pa, pb) = data_picks(inst, picks)
    picks_all = np.concatenate([pa, pb])
    n_a = len(pa)
    trans = (l_trans_bandwidth, h_trans_bandwidth)
    for band in bands.values():  # invalid widths fail here, before any data is read
        mne_transition_bandwidths(band[0], band[1], sfreq, *trans)
    kw = dict(
        n_cycles=n_cycles,
        freq_step=freq_step,
        precision=precision,
        backend=bk,
        n_jobs=n_jobs,
        max_bytes=max_bytes,
        l_trans_bandwidth=l_trans_bandwidth,
        h_trans_bandwidth=h_trans_bandwidth,
    )
    names = [inst.ch_names[i] for i in picks_all]
    flat = []
    t_skip = 0  # decimated samples left out at the start of each epoch (see 'mne_fir')

    if isinstance(inst, mne.io.BaseRaw):
        n_len = int(round(epoch_duration * sfreq))
        n_step = n_len - int(round(overlap * sfreq))
        if n_len < 2 or not 0 < n_step <= n_len:
            raise ValueError(
                f"epoch_duration={epoch_duration} s and overlap={overlap} s give epochs of "
                f"{n_len} samples every {n_step} samples: need overlap < epoch_duration."
            )
        starts = window_starts(inst, n_len, n_step, reject_by_annotation)
        _min_length_checks(bands, convention, n_len, sfreq, len(starts))
        onsets = inst.times[starts]
        signals = continuous_signals(
            inst, picks_all, bands, method, decim, n_len, n_step, starts, kw,
            common_decim=convention == "across", reject_by_annotation=reject_by_annotation,
            flat=flat,
        )
        times = np.arange(n_len) / sfreq
    else:
        onsets = inst.events[:, 0] / sfreq
        _min_length_checks(bands, convention, len(inst.times), sfreq, len(onsets))
        data = inst.get_data(picks=picks_all)
        check_epoch_data(data, names, flat, onsets)
        dec = decim
        if convention == "across" and decim == "auto":
            # averaging over epochs per time point needs one time grid for every band
            dec = min(
                _auto_decim(e, method, sfreq, n_cycles, freq_step, trans)
                for e in bands.values()
            )
        sig = band_analytic(data, sfreq, bands, method=method, decim=dec, **kw)
        del data
        # (E, n, F, T) -> (E, F, n, T)
        signals = {b: (s.data.transpose(0, 2, 1, 3), s) for b, s in sig.items()}
        times = inst.times
        if method == "mne_fir" and convention == "across":
            # MNE pads each epoch by odd reflection about its end samples, which pins the
            # band signal's real part to 0 there (phase +-90 deg whatever the data, wPLI
            # and ccorr of rounding noise): those time points are left out
            q = next(iter(signals.values()))[1].decim
            last = (len(times) - 1) % q == 0
            signals = {b: (z[..., 1 : z.shape[-1] - last], m) for b, (z, m) in signals.items()}
            t_skip = 1
    n_epochs = len(onsets)
    if flat:
        picks_all, n_a, names, signals = _drop_flat(flat, names, picks_all, n_a, signals,
                                                    rois, roles)
    logger.info(
        f"Synchrony: {', '.join(measures)} in {', '.join(bands)} ({method}, {convention}) "
        f"for {n_a} x {len(picks_all) - n_a} channels over {n_epochs} epochs"
    )

    if pairs == "inter":
        rows, cols = names[:n_a], names[n_a:]
    else:
        rows = cols = names
    summary = np.empty((len(measures), len(bands), len(rows), len(cols)))
    per_epoch = per_time = None
    if convention == "within":
        # per-epoch values keep the precision they were computed in (they dominate storage)
        per_epoch = np.empty(
            (len(measures), len(bands), n_epochs) + summary.shape[2:], dtype=real_dtype(precision)
        )
    else:
        per_time = {}
    per_pair = 4 * (len(rows) * len(cols) + (len(rows) + len(cols)) * 64)
    # Many small batched products: BLAS threads only add synchronisation there (measured
    # 2x slower end to end with 2 threads on 2 cores), so the products run on one thread.
    with threadpool_limits(limits=1, user_api="blas"):
        _fill_values(signals, bands, measures, convention, pairs, n_a, n_epochs, summary,
                     per_epoch, per_time, per_pair, max_bytes, bk)
    time_axis = None
    if convention == "across":
        # bands may be decimated differently: keep the time axis of the first band's grid
        # when they agree, otherwise resample nothing and report per band via params
        lengths = {per_time[(0, bi)].shape[0] for bi in range(len(bands))}
        if len(lengths) != 1:
            raise ValueError(
                "With convention='across' every band needs the same time grid: pass an "
                "explicit decim (e.g. decim=1) instead of 'auto'."
            )
        per_time_arr = np.stack(
            [
                np.stack([per_time[(mi, bi)] for bi in range(len(bands))])
                for mi in range(len(measures))
            ]
        )
        q = signals[next(iter(bands))][1].decim
        time_axis = np.asarray(times)[::q][t_skip : t_skip + per_time_arr.shape[2]]
        per_time = per_time_arr
    spec = roi_spec(rois, rows, cols, roles, pairs)
    params = dict(
        sfreq=sfreq,
        n_cycles=np.asarray(n_cycles, float).tolist(),
        freq_step=freq_step,
        precision=precision,
        backend=bk.name,
        decim={b: signals[b][1].decim for b in bands},
        freqs={b: signals[b][1].freqs.tolist() for b in bands},
        pairs=pairs,
        input="raw" if isinstance(inst, mne.io.BaseRaw) else "epochs",
        epoch_duration=float(len(times) / sfreq),
        overlap=float(overlap) if isinstance(inst, mne.io.BaseRaw) else 0.0,
        # the -6 dB band actually analysed, and the filter transitions that give it
        effective_band={b: list(signals[b][1].params["effective_band"]) for b in bands},
        trans_bandwidth={
            b: (None if signals[b][1].params["trans_bandwidth"] is None
                else list(signals[b][1].params["trans_bandwidth"]))
            for b in bands
        },
        detrend="linear",
        flat_channels=list(flat),
    )
    return SyncResult(
        summary,
        measures=measures,
        bands=bands,
        rows=rows,
        cols=cols,
        roles=roles,
        convention=convention,
        method=method,
        epoch_data=per_epoch,
        time_data=per_time,
        times=time_axis,
        epoch_onsets=np.asarray(onsets, float),
        rois=spec,
        params=params,
    )
