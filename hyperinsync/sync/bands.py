"""Band edges: the filters' transition bands, their response, and the -6 dB band analysed.

The filter methods use MNE's default transition bands unless ``l_trans_bandwidth`` /
``h_trans_bandwidth`` are given: ``min(max(l_freq / 4, 2), l_freq)`` below and
``min(max(h_freq / 4, 2), sfreq / 2 - h_freq)`` above the band. The band's gain is 1/2
(-6 dB) half-way through each transition, so "theta 4-8 Hz" passes 3-9 Hz at -6 dB and
overlaps alpha (8-13 Hz passes 7-14.6 Hz): a 9 Hz alpha peak is half-amplitude in theta.
:func:`effective_band` gives these -6 dB points for every method (for ``'morlet'``: the
half-amplitude points of the band's lowest and highest wavelet).
"""

from __future__ import annotations

import numpy as np

from .._utils import _check_option

METHODS = ("fft", "mne_fir", "morlet")


def mne_transition_bandwidths(
    l_freq, h_freq, sfreq, l_trans_bandwidth="auto", h_trans_bandwidth="auto"
):
    """Transition bandwidths of a band-pass, MNE's ``filter_data`` defaults for ``'auto'``.

    Parameters
    ----------
    l_freq, h_freq : float
        Band edges in Hz.
    sfreq : float
        Sampling rate in Hz.
    l_trans_bandwidth, h_trans_bandwidth : float | 'auto'
        Lower and upper transition widths in Hz. ``'auto'`` is MNE's rule:
        ``min(max(0.25 * l_freq, 2), l_freq)`` and
        ``min(max(0.25 * h_freq, 2), sfreq / 2 - h_freq)``.

    Returns
    -------
    l_trans, h_trans : float
        Lower and upper transition bandwidths in Hz.

    Examples
    --------
    >>> from hyperinsync.sync.bands import mne_transition_bandwidths
    >>> mne_transition_bandwidths(8, 13, 250.0)    # MNE's 'auto' rule
    (2.0, 3.25)
    """
    if isinstance(l_trans_bandwidth, str):
        _check_option("l_trans_bandwidth", l_trans_bandwidth, ("auto",))
        l_trans = min(max(0.25 * l_freq, 2.0), l_freq)
    else:
        l_trans = _check_trans(l_trans_bandwidth, "l_trans_bandwidth")
        if l_trans > l_freq:
            raise ValueError(
                f"l_trans_bandwidth={l_trans} Hz reaches below 0 Hz for the band starting "
                f"at {l_freq} Hz (stop frequency {l_freq - l_trans} Hz): use at most "
                f"{l_freq} Hz."
            )
    if isinstance(h_trans_bandwidth, str):
        _check_option("h_trans_bandwidth", h_trans_bandwidth, ("auto",))
        h_trans = min(max(0.25 * h_freq, 2.0), sfreq / 2.0 - h_freq)
    else:
        h_trans = _check_trans(h_trans_bandwidth, "h_trans_bandwidth")
        if h_freq + h_trans > sfreq / 2.0:
            raise ValueError(
                f"h_trans_bandwidth={h_trans} Hz reaches above the Nyquist frequency "
                f"{sfreq / 2.0} Hz for the band ending at {h_freq} Hz: use at most "
                f"{sfreq / 2.0 - h_freq} Hz."
            )
    return float(l_trans), float(h_trans)


def _check_trans(value, name):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise TypeError(f"{name} must be 'auto' or a positive number of Hz, got {value!r}.")
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be 'auto' or a positive number of Hz, got {value}.")
    return float(value)


def fft_filter_response(
    freqs, l_freq, h_freq, sfreq, *, l_trans_bandwidth="auto", h_trans_bandwidth="auto"
):
    """Magnitude response of the ``'fft'`` method's zero-phase band-pass filter.

    The pass band ``[l_freq, h_freq]`` has gain 1; raised-cosine transitions of the widths
    of :func:`mne_transition_bandwidths` (MNE's defaults for ``'auto'``) fall to 0 at
    ``l_freq - l_trans`` and ``h_freq + h_trans``. The -6 dB points, ``l_freq - l_trans / 2``
    and ``h_freq + h_trans / 2``, are those of MNE's FIR design (``filter_data`` with
    ``fir_design='firwin'``) with the same transitions, so both filters keep the same band;
    they differ in the shape of the transitions and in having no stop-band ripple here (see
    ``tests/test_spectral.py``).

    Parameters
    ----------
    freqs : array-like
        Frequencies in Hz (non-negative).
    l_freq, h_freq : float
        Band edges in Hz.
    sfreq : float
        Sampling rate in Hz.
    l_trans_bandwidth, h_trans_bandwidth : float | 'auto'
        Transition widths in Hz (see :func:`mne_transition_bandwidths`).

    Returns
    -------
    gain : ndarray
        Real, non-negative gain at ``freqs``.

    Examples
    --------
    >>> from hyperinsync.sync.bands import fft_filter_response
    >>> fft_filter_response([2.0, 3.0, 6.0, 9.0, 12.0], 4, 8, 250.0).round(3)
    array([0. , 0.5, 1. , 0.5, 0. ])
    """
    freqs = np.abs(np.asarray(freqs, float))
    l_trans, h_trans = mne_transition_bandwidths(
        l_freq, h_freq, sfreq, l_trans_bandwidth, h_trans_bandwidth
    )
    gain = np.zeros_like(freqs)
    gain[(freqs >= l_freq) & (freqs <= h_freq)] = 1.0
    lo = (freqs > l_freq - l_trans) & (freqs < l_freq)
    gain[lo] = 0.5 - 0.5 * np.cos(np.pi * (freqs[lo] - (l_freq - l_trans)) / l_trans)
    hi = (freqs > h_freq) & (freqs < h_freq + h_trans)
    gain[hi] = 0.5 + 0.5 * np.cos(np.pi * (freqs[hi] - h_freq) / h_trans)
    return gain


# half amplitude of a Gaussian spectrum exp(-df^2 / (2 sigma^2)) at df = sigma * sqrt(2 ln 2)
_GAUSS_HALF = float(np.sqrt(2.0 * np.log(2.0)))


def effective_band(
    band,
    method,
    sfreq,
    *,
    l_trans_bandwidth="auto",
    h_trans_bandwidth="auto",
    n_cycles=7.0,
    freq_step=1.0,
):
    """Return the -6 dB (half-amplitude) pass band of a band's analytic signal.

    Parameters
    ----------
    band : tuple of float
        ``(fmin, fmax)`` in Hz, the nominal band.
    method : 'fft' | 'mne_fir' | 'morlet'
        As in :func:`band_analytic`.
    sfreq : float
        Sampling rate in Hz.
    l_trans_bandwidth, h_trans_bandwidth : float | 'auto'
        Transition widths of the filter methods (see :func:`mne_transition_bandwidths`).
    n_cycles, freq_step : float
        Morlet cycles and frequency spacing (``'morlet'``).

    Returns
    -------
    lo, hi : float
        Frequencies in Hz where the gain falls to 1/2. Filter methods: ``fmin - l_trans / 2``
        and ``fmax + h_trans / 2`` (MNE's -6 dB cutoffs; the ``'fft'`` filter's raised
        cosines have exactly 1/2 there). ``'morlet'``: the wavelet at frequency ``f`` with
        ``n`` cycles has a Gaussian spectrum of SD ``f / n``, half-amplitude at
        ``f -+ sqrt(2 ln 2) f / n``; the band's values average its wavelets, so the band
        reaches from the lowest wavelet's lower to the highest wavelet's upper point.

    Examples
    --------
    >>> from hyperinsync.sync.bands import effective_band
    >>> effective_band((4, 8), "fft", 250.0)     # theta 4-8 Hz passes 3-9 Hz at -6 dB
    (3.0, 9.0)
    >>> effective_band((8, 13), "fft", 250.0, l_trans_bandwidth=1.0, h_trans_bandwidth=1.0)
    (7.5, 13.5)
    """
    _check_option("method", method, METHODS)
    fmin, fmax = (float(e) for e in band)
    if method == "morlet":
        f = band_freqs((fmin, fmax), freq_step)
        cyc = np.broadcast_to(np.asarray(n_cycles, float), f.shape)
        return (
            float(f[0] - _GAUSS_HALF * f[0] / cyc[0]),
            float(f[-1] + _GAUSS_HALF * f[-1] / cyc[-1]),
        )
    l_trans, h_trans = mne_transition_bandwidths(
        fmin, fmax, sfreq, l_trans_bandwidth, h_trans_bandwidth
    )
    return fmin - l_trans / 2.0, fmax + h_trans / 2.0


def band_freqs(band, freq_step=1.0):
    """Wavelet frequencies spanning a band: ``fmin, fmin + step, ..., fmax`` (inclusive).

    Parameters
    ----------
    band : tuple of float
        ``(fmin, fmax)`` in Hz.
    freq_step : float
        Spacing in Hz.

    Returns
    -------
    freqs : ndarray
        The frequencies in Hz.

    Examples
    --------
    >>> from hyperinsync.sync.bands import band_freqs
    >>> band_freqs((8, 13)).tolist(), band_freqs((4, 6), freq_step=0.5).tolist()
    ([8.0, 9.0, 10.0, 11.0, 12.0, 13.0], [4.0, 4.5, 5.0, 5.5, 6.0])
    """
    fmin, fmax = band
    n = int(np.floor((fmax - fmin) / freq_step + 1e-9)) + 1
    return fmin + freq_step * np.arange(n)
