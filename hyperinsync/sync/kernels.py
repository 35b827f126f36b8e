"""Band kernels in the frequency domain, and the folded inverse FFT that decimates exactly.

The fast methods of :func:`~hyperinsync.sync.spectral.band_analytic` (``'fft'`` and
``'morlet'``) multiply one real FFT per channel by each band's kernel: the zero-phase
band-pass gain of :func:`~hyperinsync.sync.bands.fft_filter_response` doubled on positive
frequencies (the analytic signal of the filtered data), or the spectra of MNE's zero-mean
Morlet wavelets. Kernels are kept as their non-negligible segments of FFT bins, cached per
grid (and per device). Decimation by ``q`` folds the product spectrum into ``N / q`` bins
before one short inverse FFT: sample ``q*m`` of the full-rate inverse, exactly.
"""

from __future__ import annotations

from functools import lru_cache
from math import gcd

import numpy as np
from scipy.fft import next_fast_len

from .bands import band_freqs, fft_filter_response


def _support(spec, rtol):
    """Contiguous index range of ``spec`` above ``rtol`` times its maximum."""
    big = np.flatnonzero(np.abs(spec) > rtol * np.abs(spec).max())
    return (int(big[0]), int(big[-1]) + 1) if big.size else None


def _morlet_kernel_spectrum(freq, sfreq, n_cycles, n_fft, rtol):
    """Spectrum segments of MNE's zero-mean Morlet wavelet in an ``n_fft`` FFT.

    The wavelet is centred on sample 0 (circularly), which reproduces ``cwt(mode='same')``.
    Its (small) negative-frequency content is kept so the result matches MNE to float
    precision. Returns a list of ``(k0, values)`` over full-FFT bins.
    """
    from mne.time_frequency import morlet

    w = morlet(sfreq, [freq], n_cycles=n_cycles, zero_mean=True)[0]
    if w.size > n_fft:
        raise ValueError(
            f"The {freq} Hz wavelet ({w.size} samples, {n_cycles} cycles) is longer than the "
            "data: use longer epochs or fewer n_cycles."
        )
    c = (w.size - 1) // 2
    kern = np.zeros(n_fft, complex)
    kern[: w.size - c] = w[c:]
    if c:
        kern[n_fft - c :] = w[:c]
    spec = np.fft.fft(kern)
    half = n_fft // 2 + 1
    thresh = rtol * np.abs(spec).max()
    segs = []
    for lo, part in ((0, spec[:half]), (half, spec[half:])):
        sup = _support(part, 0.0) if part.size and np.abs(part).max() > thresh else None
        if sup is not None:
            sup = _support(np.where(np.abs(part) > thresh, part, 0), 0.0)
            segs.append((lo + sup[0], part[sup[0] : sup[1]]))
    return segs


@lru_cache(maxsize=32)
def _band_kernel(band, method, sfreq, n_fft, n_cycles, freq_step, rtol, trans):
    """One band's kernel segments per frequency, and the frequencies (cached per grid)."""
    if method == "fft":
        fbins = np.arange(n_fft // 2 + 1) * (sfreq / n_fft)
        gain = fft_filter_response(
            fbins, band[0], band[1], sfreq, l_trans_bandwidth=trans[0], h_trans_bandwidth=trans[1]
        )
        k0, k1 = _support(gain, 0.0)
        # x2 on positive frequencies: the analytic signal of the filtered data
        return [[(k0, 2.0 * gain[k0:k1])]], np.array([np.mean(band)])
    freqs = band_freqs(band, freq_step)
    cyc = np.broadcast_to(np.asarray(n_cycles, float), freqs.shape)
    kers = [_morlet_kernel_spectrum(f, sfreq, c, n_fft, rtol) for f, c in zip(freqs, cyc)]
    return kers, freqs


@lru_cache(maxsize=32)
def _kernels_on(xp, cdtype, band, method, sfreq, n_fft, n_cycles, freq_step, rtol, trans):
    """Return :func:`_band_kernel` on the backend's device, in ``cdtype``.

    One copy for all of the band's kernel segments, kept for later calls (surrogate batches,
    channel groups).
    """
    kers, freqs = _band_kernel(band, method, sfreq, n_fft, n_cycles, freq_step, rtol, trans)
    flat = xp.asarray(np.concatenate([k for segs in kers for _, k in segs]), dtype=cdtype)
    out, pos = [], 0
    for segs in kers:
        row = []
        for k0, k in segs:
            row.append((k0, flat[pos : pos + k.shape[0]]))
            pos += k.shape[0]
        out.append(row)
    return out, freqs


def _spec_bins(spec, k0, k1, n_fft):
    """Full-FFT bins ``k0:k1`` of a real signal from its one-sided spectrum ``spec``."""
    half = n_fft // 2 + 1
    if k1 <= half:
        return spec[:, k0:k1]
    # negative frequencies: X[N - k] = conj(X[k])
    return spec[:, n_fft - k1 + 1 : n_fft - k0 + 1][:, ::-1].conj()


def _fold_ifft(bk, spec, segments, q, n_fft, xp, cdtype, fft_kw):
    """Every q-th sample of ifft(kernel * spectrum) via a folded spectrum (exact)."""
    m = n_fft // q
    folded = xp.zeros((spec.shape[0], m), dtype=cdtype)
    for k0, kern in segments:
        k1 = k0 + kern.shape[0]
        # the 1 / q of the folding goes into the (short) kernel, not over the output
        kern = xp.asarray(kern if q == 1 else kern * (1.0 / q), dtype=cdtype)
        if q == 1:  # no folding: the product is written in place
            xp.multiply(_spec_bins(spec, k0, k1, n_fft), kern, out=folded[:, k0:k1])
            continue
        prod = _spec_bins(spec, k0, k1, n_fft) * kern
        # a segment can be wider than m bins only at tiny decimated rates: add block-wise
        start = k0
        while start < k1:
            pos = start % m
            stop = min(k1, start + (m - pos))
            folded[:, pos : pos + stop - start] += prod[:, start - k0 : stop - k0]
            start = stop
    return bk.fft.ifft(folded, axis=-1, overwrite_x=True, **fft_kw)


def _pad_lengths(n_times, n_pad, q_all):
    """Left pad rounded up to a multiple of every decimation, and the total FFT length."""
    lcm = 1
    for q in q_all:
        lcm = lcm * q // gcd(lcm, q)
    left = -(-n_pad // lcm) * lcm
    need = left + n_times + n_pad
    n_fft = lcm * next_fast_len(-(-need // lcm))
    return left, n_fft
