"""Band analytic signals: FFT filter-Hilbert, MNE FIR + Hilbert, and Morlet wavelets.

The fast methods (``'fft'`` and ``'morlet'``) take one forward real FFT per channel, shared by
every band, and apply the band's zero-phase filter (or wavelet) and the analytic-signal step
together in the frequency domain. The result is sampled every ``decim`` samples by folding the
spectrum before one short inverse FFT per band: for a circular transform of length ``N``
divisible by ``q``, sample ``q*m`` of the full-rate inverse equals ``ifft_{N/q}`` of the spectrum
summed over its ``q`` blocks, divided by ``q``. Decimation is therefore exact subsampling of the
full-rate analytic signal, not an approximation.

Offsets and linear trends
-------------------------
Every method first removes each signal's least-squares line (offset and slope), per channel
of a continuous recording and per channel and epoch of epoched data, computed in double
precision (:func:`detrend_linear`). A band-pass filter removes both anyway in the interior of
the data; what remains of them otherwise is the step they make against the padding and the
finite-length edges, which for raw DC-coupled recordings (an amplifier offset of hundreds of
millivolts against microvolt EEG) would dominate the band signal. So every measure is
invariant to per-channel offsets and linear trends (to rounding, about 1e-12 relative in
double precision). The user's data are never modified: the line is removed from a copy.
For ``'mne_fir'`` this changes nothing else: MNE's band-pass FIR has zero gain at 0 Hz and
no response to a ramp, and its odd-reflection padding continues a line exactly, so HyPyP's
values are unchanged (to 1e-15). For ``'morlet'`` the wavelets have zero mean (no response to
an offset) but the zero padding of epochs would turn an offset into an edge step.

Band edges (transition bands, the -6 dB band analysed) are in :mod:`hyperinsync.sync.bands`;
the band kernels and the folded inverse FFT in ``hyperinsync.sync.kernels``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._utils import _check_option, check_bands, check_n_jobs, logger
from ..backend import complex_dtype, get_backend, real_dtype, scratch
from .bands import (
    METHODS,
    band_freqs,
    effective_band,
    mne_transition_bandwidths,
)
from .kernels import _fold_ifft, _kernels_on, _pad_lengths


@dataclass
class BandSignal:
    """The analytic signal of one band.

    Each parameter is kept as the attribute of the same name.

    Parameters
    ----------
    data : array, complex
        Shape ``(n_signals, n_freqs, n_out)`` for continuous input or
        ``(n_epochs, n_signals, n_freqs, n_out)`` for epoched input, on the backend's device.
    freqs : ndarray
        The centre frequency of each of ``n_freqs`` (the band centre for filter methods, the
        wavelet frequencies for ``'morlet'``).
    band : tuple of float
        ``(fmin, fmax)`` in Hz.
    sfreq : float
        Sampling rate of ``data`` (input rate / ``decim``).
    decim : int
        Decimation factor: output sample ``m`` is input sample ``m * decim``.
    method : str
        The method that made it.
    params : dict
        How it was made: the method's settings and the band actually passed
        (``effective_band``, see :func:`effective_band`).
    """

    data: object
    freqs: np.ndarray
    band: tuple
    sfreq: float
    decim: int
    method: str
    params: dict = field(default_factory=dict)


def detrend_linear(x, xp=np, *, dtype=np.float64, copy=True):
    """Remove each row's least-squares line (offset and slope) along the last axis.

    The line is fitted and removed in double precision whatever the input's and the
    output's types, so a large offset costs no precision even when the result is single
    precision. A row that is exactly a line (a constant channel, for instance) becomes
    exactly zero, not rounding noise with a random phase.

    Parameters
    ----------
    x : array, shape (..., n_times)
        Real data (NumPy, or the backend's arrays with ``xp``).
    xp : module
        The array namespace of ``x``.
    dtype : numpy dtype
        Type of the result (float64 by default).
    copy : bool
        ``True`` (default): ``x`` is not modified. ``False``: a C-contiguous ``x`` of type
        ``dtype`` is overwritten with the result (other inputs are copied anyway).

    Returns
    -------
    y : array of ``dtype``, same shape
        ``x`` minus its line.
    """
    n = x.shape[-1]
    inplace = not copy and x.dtype == dtype and x.flags.c_contiguous
    out = x if inplace else xp.empty(x.shape, dtype=dtype)
    if x.size == 0:
        return out
    src, dst = x.reshape(-1, n), out.reshape(-1, n)
    t = xp.arange(n, dtype=xp.float64) - (n - 1) / 2.0
    tt = n * (n * n - 1) / 12.0 if n > 1 else 1.0  # sum of t**2, on the host
    eps16 = 16 * np.finfo(np.float64).eps
    # blocks of rows, and of columns of long rows: the temporaries stay in cache on the CPU
    # (a pass through memory per operation on whole rows of a long recording cost several
    # times more); the arithmetic per sample is the same whatever the blocks. The GPU
    # takes rows of about a million samples at once.
    size = (1 << 17) if xp is np else (1 << 20)
    blk = max(1, size // n)
    cols = n if xp is not np else max(1, size // min(blk, src.shape[0]))
    for r0 in range(0, src.shape[0], blk):
        xr = src[r0 : r0 + blk]
        xb = xr if xr.dtype == xp.float64 else xp.asarray(xr, dtype=xp.float64)
        mean = xb.mean(axis=-1, keepdims=True)
        slope = (xb @ t)[:, None] / tt
        # what is left of an exact line is rounding of its values: about eps * max |x|,
        # which is at most |mean| + |slope| (n - 1) / 2 + left
        line = xp.abs(mean[:, 0]) + xp.abs(slope[:, 0]) * ((n - 1) / 2.0)
        left = None  # per row, the largest |residual| seen
        maybe = True  # some row of the block may still be an exact line
        for c0 in range(0, n, cols):
            res = slope * t[c0 : c0 + cols]
            res += mean
            xp.subtract(xb[:, c0 : c0 + cols], res, out=res)
            # |residual| only grows with more samples: once every row's exceeds rounding,
            # none is a line and the rest is not searched. On the CPU a few thousand
            # samples first, which rule out any EEG channel (the two reductions over every
            # sample were a third of the time); the GPU searches all (no device sync).
            views = (res[:, :4096], res) if xp is np and cols > 4096 else (res,)
            for view in views:
                if not maybe:
                    break
                seen = xp.maximum(view.max(axis=-1), -view.min(axis=-1))
                left = seen if left is None else xp.maximum(left, seen)
                if xp is np:
                    maybe = bool(np.any(left <= eps16 * (line + left)))
            dst[r0 : r0 + blk, c0 : c0 + cols] = res
        dst[r0 : r0 + blk][left <= eps16 * (line + left)] = 0.0
    return out


def _top_frequency(band, method, sfreq, n_cycles, freq_step, trans=("auto", "auto")):
    """Highest frequency with non-negligible content in the band's analytic signal."""
    if method == "morlet":
        f = band_freqs(band, freq_step)
        sigma_f = f / np.asarray(n_cycles, float)  # 1/(2 pi sigma_t), sigma_t = n/(2 pi f)
        return float(np.max(f + 3 * sigma_f))
    _, h_trans = mne_transition_bandwidths(band[0], band[1], sfreq, *trans)
    return band[1] + h_trans


def _auto_decim(band, method, sfreq, n_cycles, freq_step, trans=("auto", "auto"), divides=None):
    """Return what ``decim='auto'`` means for one band.

    ``'mne_fir'`` is the HyPyP-compatible reference: full rate, so that within-epoch averages
    are over every sample, as HyPyP's. Otherwise at least 4 samples per cycle of the band's
    highest frequency (:func:`choose_decim`).
    """
    if method == "mne_fir":
        return 1
    return choose_decim(
        sfreq, _top_frequency(band, method, sfreq, n_cycles, freq_step, trans), divides=divides
    )


def choose_decim(sfreq, f_top, *, factor=4.0, divides=None):
    """Largest decimation keeping at least ``factor`` samples per cycle of ``f_top``.

    Parameters
    ----------
    sfreq : float
        Input sampling rate.
    f_top : float
        Highest frequency present in the analytic signal.
    factor : float
        Minimum samples per cycle of ``f_top`` after decimation.
    divides : int | None
        If given, the factor must divide this number of samples (epoch length and step), so
        that epochs start and end on retained samples.

    Returns
    -------
    decim : int
        The decimation factor (1: every sample).
    """
    q = max(1, int(np.floor(sfreq / (factor * f_top))))
    if divides:
        while divides % q:
            q -= 1
    return q


def _check_decim(decim, name="decim"):
    if isinstance(decim, (bool, np.bool_)) or not isinstance(decim, (int, np.integer)):
        raise TypeError(f"{name} must be 'auto' or a positive int, got {decim!r}.")
    if decim < 1:
        raise ValueError(f"{name} must be >= 1, got {decim}.")
    return int(decim)


# Bytes of the spectra processed together on the CPU (about an L2 cache)
_CACHE_BYTES = 2e6


def _mne_fir_analytic(data2d, sfreq, band, n_jobs, filter_kwargs, trans=("auto", "auto")):
    """HyPyP's ``compute_freq_bands``: MNE ``filter_data`` defaults, then scipy's Hilbert.

    ``data2d`` has already lost its line (:func:`detrend_linear`), which leaves MNE's
    band-pass output unchanged to rounding (zero DC gain, no ramp response).
    """
    import mne
    from scipy.signal import hilbert

    filt = mne.filter.filter_data(
        np.asarray(data2d, float),
        sfreq,
        band[0],
        band[1],
        l_trans_bandwidth=trans[0],
        h_trans_bandwidth=trans[1],
        n_jobs=n_jobs,
        verbose=False,
        **(filter_kwargs or {}),
    )
    return hilbert(filt, axis=-1)


def band_analytic(
    data,
    sfreq,
    bands=None,
    *,
    method="fft",
    decim=1,
    n_cycles=7.0,
    freq_step=1.0,
    pad="auto",
    precision="single",
    backend="auto",
    n_jobs=1,
    max_bytes="auto",
    filter_kwargs=None,
    l_trans_bandwidth="auto",
    h_trans_bandwidth="auto",
    detrend=True,
    work=None,
    time_major=False,
):
    """Band-limited analytic signals of continuous or epoched data.

    Each signal's least-squares line (offset and slope) is removed first, per channel of
    continuous data and per channel and epoch of epoched data (:func:`detrend_linear`, on a
    copy): the results do not depend on DC offsets or linear drifts (see the module notes).

    Parameters
    ----------
    data : ndarray, shape (n_signals, n_times) or (n_epochs, n_signals, n_times)
        Real data. Two dimensions: one continuous recording (filtered whole, so later epochs
        have no edge effects). Three: epochs, each transformed on its own with padding.
        Must be finite (see :func:`hyperinsync.compute_sync` for rejected spans).
    sfreq : float
        Sampling rate in Hz.
    bands : dict | None
        ``{name: (fmin, fmax)}``; None for theta (4-8 Hz) and alpha (8-13 Hz).
    method : 'fft' | 'mne_fir' | 'morlet'
        ``'fft'``: zero-phase band-pass in the frequency domain (:func:`fft_filter_response`)
        and analytic signal in one step, from one forward FFT shared by all bands.
        ``'mne_fir'``: :func:`mne.filter.filter_data` with MNE's defaults, then
        :func:`scipy.signal.hilbert` -- exactly HyPyP's ``compute_freq_bands`` (slow; a
        reference). ``'morlet'``: MNE's zero-mean Morlet wavelets (as
        MNE's ``mne.time_frequency.tfr.cwt`` with ``mode='same'``, and as mne-connectivity's
        ``cwt_morlet``, on the detrended data) at ``band_freqs(band, freq_step)``.
    decim : int | 'auto' | dict
        Keep every ``decim``-th sample (exactly those of the full-rate result). ``'auto'``
        keeps at least 4 samples per cycle of the band's highest frequency, except for
        ``'mne_fir'`` (the HyPyP-compatible reference), where it means 1 (full rate). A dict
        gives one value per band name (missing bands: ``'auto'``).
    n_cycles : float | array-like
        Morlet cycles per frequency.
    freq_step : float
        Morlet frequency spacing within a band, in Hz.
    pad : 'auto' | int
        Samples of padding on each side: reflection for ``'fft'``/``'mne_fir'`` (``'auto'``:
        3.3 / narrowest transition bandwidth, MNE's filter length, limited by the data
        length); zeros for ``'morlet'`` on epochs (``'auto'``: half the longest wavelet,
        which makes the circular convolution MNE's linear one), reflection for
        ``'morlet'`` on continuous data.
    precision : 'single' | 'double'
        Output in complex64 (default) or complex128. Morlet wavelet spectra are truncated where
        they fall below 1e-7 (single) or 1e-12 (double) of their peak, which matches MNE's
        ``cwt`` to about 6e-7 and 1e-15 relative respectively.
    backend : 'auto' | 'numpy' | 'cupy'
        Array backend (see :func:`hyperinsync.backend.get_backend`).
    n_jobs : int
        Threads on the CPU, each taking chunks of signals through the whole transform;
        the same values with any number.
    max_bytes : float | 'auto'
        Approximate memory bound for one chunk of signals' spectra (``'auto'``: see
        :meth:`hyperinsync.backend.Backend.max_bytes`).
    filter_kwargs : dict | None
        Extra arguments to :func:`mne.filter.filter_data` (``'mne_fir'`` only).
    l_trans_bandwidth, h_trans_bandwidth : float | 'auto'
        Transition widths in Hz of the filter methods' band-pass (``'fft'`` and
        ``'mne_fir'``; MNE's names and defaults, see :func:`mne_transition_bandwidths`).
        The -6 dB band is ``(fmin - l_trans / 2, fmax + h_trans / 2)``
        (:func:`effective_band`, recorded in each :class:`BandSignal`'s ``params``).
    detrend : bool
        Remove each signal's line first (default). ``False`` only for data that have already
        lost it (:func:`hyperinsync.compute_sync` removes it in double precision before
        casting to single precision) or to reproduce MNE's transforms of raw data exactly.
    work : dict | None
        Scratch arrays (``hyperinsync.backend.scratch``) the ``'fft'`` and ``'morlet'``
        outputs are written into: a loop over chunks of data that passes the same dict
        reuses one set of output buffers (a fresh array of hundreds of MB costs a page
        fault per 4 kB on first touch). The signals returned are then views of those
        buffers, valid until the next call with the same dict. ``None``: new arrays.
    time_major : bool
        Lay the ``'fft'`` and ``'morlet'`` outputs out in memory as (frequency, time,
        signal): the arrays returned have the same shapes and values, only their strides
        differ. Per time point, the signals of all epochs are then one contiguous matrix,
        as the products over epochs of ``convention='across'`` need.

    Returns
    -------
    signals : dict of BandSignal
        One per band, in the order of ``bands``.
    """
    _check_option("method", method, METHODS)
    bk = get_backend(backend)
    xp = bk.xp
    n_jobs = check_n_jobs(n_jobs)
    max_bytes = bk.max_bytes(max_bytes)
    on_device = hasattr(data, "__cuda_array_interface__")
    if on_device and bk.name != "cupy":
        raise TypeError(
            f"data are on the GPU ({type(data).__module__}.{type(data).__name__}) but "
            f"backend={bk.name!r}: pass backend='cupy' (or 'auto'), or copy the data to the "
            "host first (cupy.asnumpy)."
        )
    data = data if on_device else np.asarray(data)
    if data.ndim not in (2, 3):
        raise ValueError(
            f"data must have shape (n_signals, n_times) or (n_epochs, n_signals, n_times), "
            f"got {data.shape}."
        )
    epoched = data.ndim == 3
    lead_shape = data.shape[:-1]
    n_times = data.shape[-1]
    flat = data.reshape(-1, n_times)
    bands = check_bands(bands, sfreq)
    cdtype, rdtype = complex_dtype(precision), real_dtype(precision)
    n_cycles_arr = np.asarray(n_cycles, float)
    if np.any(n_cycles_arr <= 0):
        raise ValueError(f"n_cycles must be positive, got {n_cycles!r}.")

    trans = (l_trans_bandwidth, h_trans_bandwidth)
    filter_kwargs = dict(filter_kwargs or {})
    clash = sorted({"l_trans_bandwidth", "h_trans_bandwidth"} & set(filter_kwargs))
    if clash:
        raise ValueError(
            f"Pass {clash} as arguments of their own, not in filter_kwargs: they also set "
            "the band edges that are reported."
        )
    # validated here, per band, for every method (the Morlet values just go unused)
    edges = {
        name: mne_transition_bandwidths(band[0], band[1], sfreq, *trans)
        for name, band in bands.items()
    }
    params = {
        name: dict(
            effective_band=effective_band(
                band,
                method,
                sfreq,
                l_trans_bandwidth=trans[0],
                h_trans_bandwidth=trans[1],
                n_cycles=n_cycles,
                freq_step=freq_step,
            ),
            trans_bandwidth=None if method == "morlet" else edges[name],
            detrend="linear" if detrend else None,
        )
        for name, band in bands.items()
    }
    qs = {}
    for name, band in bands.items():
        q = decim.get(name, "auto") if isinstance(decim, dict) else decim
        if q == "auto":
            qs[name] = _auto_decim(band, method, sfreq, n_cycles_arr, freq_step, trans)
        else:
            qs[name] = _check_decim(q)

    if method == "mne_fir":
        # MNE's FIR filter runs on the CPU: device data come to the host once, explicitly
        host = bk.to_numpy(flat) if on_device else flat
        return _band_analytic_fir(
            detrend_linear(host, dtype=rdtype) if detrend else host,
            lead_shape,
            sfreq,
            bands,
            qs,
            bk,
            cdtype,
            n_jobs,
            filter_kwargs,
            trans,
            params,
        )

    # the line goes on the host (in double precision) when the data are there
    src_xp = xp if on_device else np

    def lineless(x):
        return detrend_linear(x, src_xp, dtype=rdtype) if detrend else x

    # padding: reflection for filters (no edge transient), zeros for MNE-style wavelets
    if method == "fft":
        min_trans = min(min(e) for e in edges.values())
        n_pad = int(np.ceil(3.3 / min_trans * sfreq)) if pad == "auto" else int(pad)
        n_pad = min(n_pad, n_times - 1)
        pad_mode = "reflect"
    else:
        from mne.time_frequency import morlet

        fmin_all = min(b[0] for b in bands.values())
        longest = morlet(sfreq, [fmin_all], n_cycles=float(n_cycles_arr.max()))[0].size
        if longest > n_times:
            # as MNE's cwt: a wavelet longer than the signal sees mostly padding
            raise ValueError(
                f"The {fmin_all} Hz wavelet ({longest} samples, {n_cycles_arr.max()} "
                f"cycles) is longer than the data ({n_times} samples): use longer epochs, "
                "fewer n_cycles or a higher band."
            )
        # half the longest wavelet on each side covers every wavelet's support: the
        # circular convolution is then MNE's linear one (a whole wavelet per side would
        # only lengthen the FFTs, 1.5x for a wavelet as long as the epoch)
        n_pad = longest // 2 if pad == "auto" else int(pad)
        pad_mode = "constant" if epoched else "reflect"
        if pad_mode == "reflect":
            n_pad = min(n_pad, n_times - 1)
    left, n_fft = _pad_lengths(n_times, n_pad, qs.values())
    # Morlet spectra are kept down to a fraction of their peak matched to the arithmetic:
    # 1e-7 (single) drops the truncated wavelet's far leakage, 25x fewer bins at about 6e-7
    # relative error, i.e. float32 rounding; 1e-12 (double) keeps MNE's result to 1e-15.
    rtol = 1e-7 if precision == "single" else 1e-12
    kernels = {
        name: _kernels_on(
            xp,
            np.dtype(cdtype),
            tuple(band),
            method,
            float(sfreq),
            n_fft,
            tuple(np.atleast_1d(n_cycles_arr)),
            float(freq_step),
            rtol,
            edges[name] if method == "fft" else None,
        )
        for name, band in bands.items()
    }

    n_sig = flat.shape[0]
    per_sig = n_fft * 8 * (2 if precision == "double" else 1)
    # on the CPU, n_jobs threads each take chunks of signals through the whole pipeline
    # (detrend, padding, FFT, folding, inverse FFTs: the FFT's own threads leave the rest
    # serial); together within max_bytes
    threads = max(1, min(int(n_jobs), n_sig)) if bk.name == "numpy" else 1
    chunk = int(max(1, min(-(-n_sig // threads), max_bytes // (per_sig * threads))))
    outs = {}
    for name, q in qs.items():
        shape = (len(kernels[name][1]), -(-n_times // q), n_sig)
        if not time_major:
            shape = shape[2:] + shape[:2]
        out = scratch(work, f"band:{name}", shape, cdtype, xp)
        outs[name] = out.transpose(2, 0, 1) if time_major else out
    fft_kw = bk.fft_kwargs(1 if threads > 1 else n_jobs)  # one chunk's FFT threads

    def transform(s0):
        block = xp.asarray(lineless(flat[s0 : s0 + chunk]), dtype=rdtype)
        padded = xp.zeros((block.shape[0], n_fft), dtype=rdtype)
        padded[:, left : left + n_times] = block
        if n_pad:
            right = min(n_pad, n_fft - left - n_times)
            if pad_mode == "reflect":
                # mirror without repeating the edge sample, as numpy's 'reflect'
                padded[:, left - n_pad : left] = block[:, n_pad:0:-1]
                padded[:, left + n_times : left + n_times + right] = block[:, -2 : -2 - right : -1]
        del block
        spec = bk.fft.rfft(padded, axis=-1, **fft_kw)
        del padded
        # On the CPU, a few hundred signals at a time: their spectra, folded spectra and
        # inverse FFTs stay in cache across the bands and frequencies (a whole chunk makes
        # each step a pass through memory). The GPU takes the chunk at once.
        # (at least 8: the FFTs run several rows at once in SIMD lanes)
        rows = len(spec) if bk.name != "numpy" else max(8, int(_CACHE_BYTES // (n_fft * 8)))
        for r0 in range(0, len(spec), rows):
            sp = spec[r0 : r0 + rows]
            for name, q in qs.items():
                m0, n_out = left // q, outs[name].shape[-1]
                for fi, segments in enumerate(kernels[name][0]):
                    z = _fold_ifft(bk, sp, segments, q, n_fft, xp, cdtype, fft_kw)
                    outs[name][s0 + r0 : s0 + r0 + len(sp), fi] = z[:, m0 : m0 + n_out]

    bk.map(transform, range(0, n_sig, chunk), threads)  # each writes its own rows
    logger.debug(
        f"band_analytic: {method}, {n_sig} signals x {n_times} samples, n_fft={n_fft}, decim={qs}"
    )
    return {
        name: BandSignal(
            data=outs[name].reshape(lead_shape + outs[name].shape[1:]),
            freqs=np.asarray(kernels[name][1], float),
            band=bands[name],
            sfreq=sfreq / qs[name],
            decim=qs[name],
            method=method,
            params=dict(
                n_cycles=n_cycles_arr.tolist(), freq_step=freq_step, pad=n_pad, **params[name]
            ),
        )
        for name in bands
    }


def _band_analytic_fir(flat, lead_shape, sfreq, bands, qs, bk, cdtype, n_jobs, kw, trans, params):
    out = {}
    for name, band in bands.items():
        z = _mne_fir_analytic(flat, sfreq, band, n_jobs, kw, trans)[:, None, :: qs[name]]
        out[name] = BandSignal(
            data=bk.asarray(z.astype(cdtype, copy=False)).reshape(lead_shape + z.shape[1:]),
            freqs=np.array([np.mean(band)]),
            band=band,
            sfreq=sfreq / qs[name],
            decim=qs[name],
            method="mne_fir",
            params=dict(filter_kwargs=dict(kw or {}), **params[name]),
        )
    return out
