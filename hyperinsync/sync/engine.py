"""The synchrony engine: :func:`compute_sync`."""

from __future__ import annotations

import numpy as np

from .._docs import fill_doc
from .._utils import (
    _check_option,
    logger,
    verbose,
    warn,
)
from ..backend import gpu_fallback, gpu_step, one_blas_thread, real_dtype
from ..rois import roi_spec
from .across import edge_trim, epoch_chunks, fill_across, stream_across, window_chunks
from .measures import CONVENTIONS, check_measures, compute_measure
from .result import SyncResult
from .signals import DyadSignals
from .sums import FROM_SUMS, _xp

# Across epochs, FROM_SUMS measures stream over chunks of epochs (stream_across); False:
# every epoch's band signals at once (fill_across), as for the other measures
_STREAM_ACROSS = True


def _fill_values(
    signals,
    across,
    bands,
    measures,
    convention,
    pairs,
    n_a,
    n_epochs,
    summary,
    per_epoch,
    per_time,
    per_pair,
    max_bytes,
    bk,
    n_jobs=1,
):
    """Compute every measure and band into ``summary`` and the per-epoch/per-time arrays.

    The values stay on the backend's device until all are computed, then come to the host
    in one copy (whatever the number of epochs, chunks, measures and bands). ``across``:
    the values over epochs already computed (:func:`stream_across`), or None. Within
    epochs, chunks of epochs run in ``n_jobs`` threads (NumPy; each epoch's values are
    the same in any chunk).
    """
    xp = bk.xp
    dev_epoch = per_epoch
    if per_epoch is not None and bk.name != "numpy":
        dev_epoch = xp.empty(per_epoch.shape, per_epoch.dtype)
    dev_time = {}
    for bi, b in enumerate(bands):
        if across is not None:
            dev_time.update({(mi, bi): across[b][m] for mi, m in enumerate(measures)})
            continue
        z = signals[b][0]
        za = z[:, :, :n_a] if pairs == "inter" else z
        zb = z[:, :, n_a:] if pairs == "inter" else z
        if convention == "across":
            vts = fill_across(za, zb, measures, n_epochs, max_bytes)
            dev_time.update({(mi, bi): vts[m] for mi, m in enumerate(measures)})
            continue
        n_f, t_n = z.shape[1], z.shape[-1]
        threads = max(1, int(n_jobs)) if bk.name == "numpy" else 1
        step = max(1, int(max_bytes // (per_pair * n_f * max(1, t_n // 64) * threads)))

        def within(task, za=za, zb=zb, bi=bi, step=step):
            mi, e0 = task
            v = compute_measure(measures[mi], za[e0 : e0 + step], zb[e0 : e0 + step], "within")
            dev_epoch[mi, bi, e0 : e0 + step] = v.mean(axis=1)

        tasks = [(mi, e0) for mi in range(len(measures)) for e0 in range(0, n_epochs, step)]
        bk.map(within, tasks, threads)  # each writes its own epochs
    keys = list(dev_time)
    host = bk.to_numpy_many(
        *([] if dev_epoch is None else [dev_epoch]), *(dev_time[k] for k in keys)
    )
    if per_epoch is not None:
        if host[0] is not per_epoch:
            per_epoch[...] = host[0]
        summary[...] = per_epoch.mean(axis=2)
    for k, vt in zip(keys, host[len(host) - len(keys) :]):
        per_time[k] = vt = vt.astype(np.float64)
        summary[k] = vt.mean(axis=0)


def _min_length_checks(bands, convention, n_len, sfreq, n_epochs, what="epoch"):
    """Refuse epoch lengths and counts that make the measures trivial; warn where inflated.

    Chance PLV of two independent signals is about 0.44 over 2 cycles of theta, 0.31 over
    4 and 0.22 over 8 (``'within'``); about ``sqrt(pi / (4 n))`` over ``n`` epochs
    (``'across'``): 0.63 for 2, 0.31 for 8.
    """
    if n_epochs == 0:
        raise ValueError(f"No {what}s to analyse.")
    if convention == "within":
        dur = n_len / sfreq
        for name, (fmin, _) in bands.items():
            cycles = dur * fmin
            if cycles < MIN_CYCLES:
                raise ValueError(
                    f"{what.capitalize()}s of {dur:.3g} s hold {cycles:.2g} cycle(s) of the "
                    f"lowest frequency of band {name!r} ({fmin:g} Hz): within an {what} "
                    "the phase difference of any two band signals then barely changes, so "
                    f"PLV tends to 1 whatever the data. Use {what}s of at least "
                    f"{MIN_CYCLES} cycles ({MIN_CYCLES / fmin:.3g} s for this band; "
                    f"{WARN_CYCLES / fmin:.3g} s or more is better)."
                )
            if cycles < WARN_CYCLES:
                warn(
                    f"{what.capitalize()}s of {dur:.3g} s hold only {cycles:.2g} cycles of "
                    f"the lowest frequency of band {name!r} ({fmin:g} Hz): values are valid "
                    "but strongly inflated by the short window (chance PLV about 0.44 over "
                    "2 cycles of theta, 0.31 over 4); compare them with surrogates "
                    f"(hyperinsync.surrogate_test) or use {what}s of at least {WARN_CYCLES} cycles "
                    f"({WARN_CYCLES / fmin:.3g} s)."
                )
    else:
        if n_epochs < MIN_EPOCHS_ACROSS:
            raise ValueError(
                f"convention='across' averages over {what}s at each time point and needs at "
                f"least {MIN_EPOCHS_ACROSS}; got {n_epochs} (one epoch gives PLV = 1 "
                "whatever the data). Use more epochs or convention='within'."
            )
        if n_epochs < WARN_EPOCHS_ACROSS:
            warn(
                f"convention='across' over only {n_epochs} {what}s: values are valid but "
                f"strongly inflated (chance PLV about sqrt(pi / (4 n)) = "
                f"{np.sqrt(np.pi / (4 * n_epochs)):.2f}); compare them with surrogates or use "
                f"at least {WARN_EPOCHS_ACROSS} epochs."
            )


# Minimum cycles of a band's lowest frequency per epoch ('within') and epochs ('across'):
# below them the measures are trivial (PLV -> 1); below the WARN_ values, valid but inflated.
MIN_CYCLES, WARN_CYCLES = 2, 4


MIN_EPOCHS_ACROSS, WARN_EPOCHS_ACROSS = 2, 8


def _drop_flat(flat, names, picks_all, n_a, signals, rois, roles):
    """Leave channels flat in every analysed epoch out of the signals, with a warning."""
    keep = np.array([n not in flat for n in names])
    n_a_new = int(keep[:n_a].sum())
    for side, (lo, hi) in zip(roles, ((0, n_a), (n_a, len(names)))):
        if not keep[lo:hi].any():
            raise ValueError(f"Every channel of {side!r} is flat (constant): no signal to analyse.")
    msg = (
        f"Channel(s) {flat} are flat (constant) over the analysed data: their phase is "
        "undefined, so they are left out of the results"
    )
    if rois is not None:
        msg += " and of every ROI average"
    warn(
        msg + " (result.params['flat_channels']). Mark them bad (info['bads']) to "
        "silence this warning."
    )
    idx = np.flatnonzero(keep)
    out = None
    if signals is not None:  # None: not made yet (stream_across reads the kept rows)
        out = {b: (z[:, :, _xp(z).asarray(idx)], meta) for b, (z, meta) in signals.items()}
    return picks_all[keep], n_a_new, [names[i] for i in idx], out


@gpu_fallback("compute_sync")
@verbose
@fill_doc
def compute_sync(
    inst,
    bands=None,
    measures="plv",
    *,
    convention="within",
    pairs="inter",
    rois="default",
    epoch_duration=2.0,
    overlap=0.0,
    reject_by_annotation=True,
    picks=None,
    method="fft",
    decim="auto",
    n_cycles=7.0,
    freq_step=1.0,
    l_trans_bandwidth="auto",
    h_trans_bandwidth="auto",
    precision="single",
    backend="auto",
    n_jobs=1,
    max_bytes="auto",
    verbose=None,
):
    """Compute inter-brain (and intra-brain) synchrony of a dyad.

    The data are not modified. Band signals are computed from a copy without each channel's
    least-squares line (per channel of a Raw, per channel and epoch of Epochs), so offsets
    and linear drifts -- raw DC-coupled amplifier data carry hundreds of millivolts of them
    -- change no value (see :mod:`hyperinsync.sync.spectral`). The band signals are those of
    :class:`~hyperinsync.sync.DyadSignals` with the same options.

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
    %(measures)s
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
    %(reject_by_annotation)s
    %(picks)s
    %(method)s
        ``'mne_fir'`` on Epochs with ``convention='within'`` reproduces HyPyP's
        ``compute_freq_bands`` + ``compute_sync`` exactly, at the default arguments (to
        float32 rounding with the default ``precision='single'``, at most 3.4e-7 on
        HyPyP's test dyad, to 1e-15 with ``'double'``). With ``convention='across'`` on
        Epochs, ``'mne_fir'`` leaves out each epoch's first and last sample: MNE's
        odd-reflection padding forces the band signal's real part to 0 there, so their
        phase is +-90 degrees whatever the data.
    %(decim)s
    %(n_cycles)s
    %(freq_step)s
    %(trans_bandwidth)s
    %(precision)s
    %(backend)s
    %(n_jobs)s
        With NumPy, threads over chunks of signals (band signals) and of epochs
        (within-epoch values); the same values with any number.
    %(max_bytes)s
    %(verbose)s

    Returns
    -------
    result : SyncResult
        Values per measure, band and pair, with per-epoch (or per-time) values, ROI access
        and conversions to tables and mne-connectivity containers.

    Notes
    -----
    Memory with ``convention='across'``: PLV, coh and imcoh (functions of sums over epochs)
    stream over chunks of epochs (as many as ``max_bytes`` holds): per chunk the band
    signals (Epochs: each epoch's transform; a Raw: cut from the continuous transform),
    written into the same buffers each time, and their products, added into sums over
    epochs per frequency, time point and pair (in double precision); the values come from
    the sums at the end. For Epochs, the band signals of every epoch are never held at
    once: for 900 epochs of 2 x 32 channels, 11 Morlet wavelets and 1000 time points they
    would take 5 GB (single precision), the sums take 360 MB. A Raw still holds its
    continuous band signals (as large, at ``decim=1``), not a second copy cut into epochs.
    wPLI, ccorr and envcorr across epochs make every epoch's band signals first.

    Examples
    --------
    >>> raw, truth = hs.simulate_dyad(
    ...     duration=30.0, sfreq=100.0, roles=("therapist", "client"),
    ...     couplings=[hs.Coupling("alpha", "central", "central", strength=0.6)], seed=0)
    >>> res = hs.compute_sync(raw, bands={"theta": (4, 8), "alpha": (8, 13)}, measures="plv")
    >>> res
    <SyncResult | plv | theta, alpha | 32 x 32 channels, 5 x 5 ROIs, 15 epochs | within | fft>
    >>> res.get_data("plv", "alpha", level="roi").shape   # therapist ROI x client ROI
    (5, 5)
    >>> alpha = res.to_table(level="roi").query("band == 'alpha'")
    >>> alpha.loc[alpha["value"].idxmax(), ["row", "col"]].tolist()   # the planted coupling
    ['central', 'central']
    >>> res.params["effective_band"]["theta"]   # -6 dB edges: theta 4-8 Hz passes 3-9 Hz
    [3.0, 9.0]
    """
    sig = DyadSignals.from_params(inst, bands, locals())
    _check_option("convention", convention, CONVENTIONS)
    _check_option("pairs", pairs, ("inter", "all"))
    measures = check_measures(measures)
    sfreq, bands, bk = sig.sfreq, sig.bands, sig.bk
    roles, (pa, pb) = sig.data_picks()
    picks_all = np.concatenate([pa, pb])
    n_a = len(pa)
    names = [inst.ch_names[i] for i in picks_all]
    flat = []
    t_skip = 0  # decimated samples left out at the start of each epoch (see 'mne_fir')

    stream = convention == "across" and _STREAM_ACROSS and set(measures) <= set(FROM_SUMS)
    if sig.is_raw:
        n_len = int(round(epoch_duration * sfreq))
        n_step = n_len - int(round(overlap * sfreq))
        if n_len < 2 or not 0 < n_step <= n_len:
            raise ValueError(
                f"epoch_duration={epoch_duration} s and overlap={overlap} s give epochs of "
                f"{n_len} samples every {n_step} samples: need overlap < epoch_duration."
            )
        starts = sig.window_starts(n_len, n_step)
        _min_length_checks(bands, convention, n_len, sfreq, len(starts))
        onsets = inst.times[starts]
        if stream:
            # the continuous signals (checks, flat channels); epochs cut chunk by chunk
            decims = sig.decims(n_len, n_step, common=True)
            source = sig.continuous(picks_all, decims, windows=(starts, n_len), flat=flat)
            signals = None
        else:
            signals = sig.epochs(
                picks_all, n_len, n_step, starts, common_decim=convention == "across", flat=flat
            )
        times = np.arange(n_len) / sfreq
    else:
        onsets = inst.events[:, 0] / sfreq
        _min_length_checks(bands, convention, len(inst.times), sfreq, len(onsets))
        times = inst.times
        if stream:
            # every epoch checked first (errors, flat channels), signals made chunk by chunk
            source = sig.epoch_data(picks_all, flat=flat, onsets=onsets)
            signals = None
        else:
            signals = sig.epoch_signals(
                picks_all, common_decim=convention == "across", flat=flat, onsets=onsets
            )
            if convention == "across":
                q = next(iter(signals.values()))[1].decim
                keep, t_skip = edge_trim(method, len(times), q)
                signals = {b: (z[..., keep], m) for b, (z, m) in signals.items()}
    n_epochs = len(onsets)
    kept = np.arange(len(picks_all))
    if flat:
        kept = np.flatnonzero([n not in flat for n in names])
        picks_all, n_a, names, signals = _drop_flat(
            flat, names, picks_all, n_a, signals, rois, roles
        )
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
    with one_blas_thread(), gpu_step("synchrony values"):
        across = None
        if signals is None:
            if sig.is_raw:
                chunks = window_chunks(sig, source, kept, starts, n_len)
            else:
                chunks = epoch_chunks(sig, source, kept)
            across, metas = stream_across(chunks, n_epochs, n_a, pairs, measures, sig.max_bytes)
            del chunks, source
            signals = {b: (None, metas[b]) for b in bands}
            if not sig.is_raw:
                t_skip = edge_trim(method, len(times), metas[next(iter(bands))].decim)[1]
        _fill_values(
            signals,
            across,
            bands,
            measures,
            convention,
            pairs,
            n_a,
            n_epochs,
            summary,
            per_epoch,
            per_time,
            per_pair,
            sig.max_bytes,
            bk,
            sig.n_jobs,
        )
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
        input="raw" if sig.is_raw else "epochs",
        epoch_duration=float(len(times) / sfreq),
        overlap=float(overlap) if sig.is_raw else 0.0,
        # the -6 dB band actually analysed, and the filter transitions that give it
        effective_band={b: list(signals[b][1].params["effective_band"]) for b in bands},
        trans_bandwidth={
            b: (
                None
                if signals[b][1].params["trans_bandwidth"] is None
                else list(signals[b][1].params["trans_bandwidth"])
            )
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
