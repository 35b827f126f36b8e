"""Values over epochs at each time point (``convention='across'``) for :func:`compute_sync`.

Two paths, with the same values (to float rounding):

- :func:`fill_across`: from every epoch's band signals, held whole (any measure).
- :func:`stream_across`: for the measures that are functions of sums over samples
  (``FROM_SUMS``: PLV, coh, imcoh), the band signals come a chunk of epochs at a time, in
  buffers reused from chunk to chunk (:func:`epoch_chunks`: each epoch's transform;
  :func:`window_chunks`: epochs cut from a Raw's continuous transform), and the sums over epochs
  (cross sums of unit phasors, raw cross sums and powers, per frequency, time point and
  pair) are accumulated; the values come from the sums at the end. The band signals of
  every epoch (900 epochs x 64 channels x 11 wavelets x 1000 time points: 5 GB in single
  precision) are never held at once as epochs, and no fresh memory is written per epoch.

Each per-time-point product over epochs is one BLAS matrix product of a batch.
:func:`fill_across` copies the signals of a chunk of time points into the contiguous (freq,
time, channel, epoch) layout of :func:`~hyperinsync.sync.measures.samples_last` (the second
side conjugated in the same pass). :func:`stream_across` has the band signals written in
(freq, time, epoch, channel) order in the first place (``band_analytic(time_major=True)``):
BLAS reads each time point's epochs x channels matrix in place, transposed, and only the
second side's conjugate is copied, per chunk of time points small enough for the caches.
"""

from __future__ import annotations

import numpy as np

from ..backend import scratch
from .bands import band_freqs
from .measures import (
    _cross_sums,
    _values_of_sums,
    measure_samples_last,
    samples_last,
    sums_measures,
)
from .sums import FROM_SUMS, _xp

# Bytes of one chunk of time points in fill_across (layout copies, phasors), at most: the
# copies read each signal's time points in runs of the chunk's length, so a chunk should
# hold several time points (a run shorter than a cache line wastes most of each line).
# The chunks' scratch arrays are allocated once and reused.
_ACROSS_CHUNK_BYTES = 64e6

# stream_across on the CPU: epochs per chunk, and bytes of one chunk of time points
# (layout copies, magnitudes, phasors) of one chunk of epochs. Measured on S1 (2 x 32
# channels, 11 wavelets, 1000 time points, benchmarks/RESULTS.md): see _epoch_chunk.
_CPU_EPOCHS = 64
_STREAM_CHUNK_BYTES = 4e6
# time points per chunk of the values computed from the sums at the end
_VALUE_STEP = 64


def _layout(z, t0, step, work, key, conj=False):
    """Time points ``t0:t0+step`` of ``z`` (E, F, n, T) as a contiguous (F, t, n, E) copy."""
    xp = _xp(z)
    view = z[..., t0 : t0 + step].transpose(1, 3, 2, 0)
    out = scratch(work, key, view.shape, view.dtype, xp)
    if conj:  # the transposing copy and the conjugate in one pass
        return xp.conjugate(view, out=out)
    out[...] = view
    return out


def _time_step(za, zb, n_epochs, bytes_max):
    """Time points per chunk: the layout copies and phasors (x 3) within ``bytes_max``."""
    n_sig = za.shape[2] + (0 if zb is za else zb.shape[2])
    per_t = za.shape[1] * n_sig * n_epochs * za.dtype.itemsize * 3
    return max(1, int(bytes_max // per_t))


def fill_across(za, zb, measures, n_epochs, max_bytes):
    """Values over epochs at each time point, for every measure of one band.

    ``za``, ``zb``: every epoch's band signals ``(E, F, n, T)`` (``zb is za`` for all
    pairs). Per chunk of time points, each side is copied once into the contiguous layout
    (the second side conjugated in the same pass), shared by every measure: no measure
    copies the data again. Returns ``{measure: (n_times, n_rows, n_cols)}`` on the
    signals' device, in their precision.
    """
    xp = _xp(za)
    t_n = za.shape[-1]
    same = zb is za
    sums = [m for m in measures if m in FROM_SUMS]
    rest = [m for m in measures if m not in FROM_SUMS]
    step = _time_step(za, zb, n_epochs, min(max_bytes, _ACROSS_CHUNK_BYTES))
    vts, work = {}, {}  # the chunks' scratch arrays, allocated once
    for t0 in range(0, t_n, step):
        a = _layout(za, t0, step, work, "a")
        vals = {}
        if sums:
            b_conj = _layout(za if same else zb, t0, step, work, "b", conj=True)
            vals = sums_measures(sums, a, b_conj, "across", work=work)
        if rest:
            b = a if same else samples_last(zb[..., t0 : t0 + step], "across")
            vals.update({m: measure_samples_last(m, a, b, "across") for m in rest})
        for m, v in vals.items():
            v = v.mean(axis=0)
            if m not in vts:
                vts[m] = xp.empty((t_n,) + v.shape[1:], dtype=v.dtype)
            vts[m][t0 : t0 + step] = v
        del vals
    return vts


def edge_trim(method, n_times, q):
    """Return the time points kept across epochs: all but the epochs' edges for mne_fir.

    MNE pads each epoch by odd reflection about its end samples, which pins the band
    signal's real part to 0 there (phase +-90 deg whatever the data, wPLI and ccorr of
    rounding noise): the first sample and the last (when on the grid of decimation ``q``)
    are left out. Returns the slice of decimated time points and the number skipped at the
    start.
    """
    if method != "mne_fir":
        return slice(None), 0
    last = (n_times - 1) % q == 0
    n_out = -(-n_times // q)
    return slice(1, n_out - last), 1


def _epoch_chunk(sig, n_ch, n_len, n_epochs):
    """Epochs per chunk of :func:`stream_across`.

    As many as ``max_bytes`` holds of band signals (S1: 64 channels x 11 wavelets x 1000
    points, 5.6 MB per epoch in single precision: 45 epochs at the CPU's 256 MB), on the
    CPU at most ``_CPU_EPOCHS``. The epochs are the products' inner dimension: batched
    complex GEMMs of 32 x K @ K x 32 run at 83 % of their K = 900 rate with K = 32, 90 %
    with K = 64 (2-core EPYC, one BLAS thread). Every chunk adds one pass through the sums
    (360 MB on S1); chunks of 22, 45, 128 and 256 epochs took 25.7, 22.2, 20.3 and 22.8 s
    of CPU on S1 (best of 2, load 3-4), within the noise of a shared machine beyond 45, for
    2.1 GB more memory at 256: ``max_bytes`` keeps its meaning. The GPU takes as many
    epochs as ``max_bytes`` allows.
    """
    n_freqs = sum(
        len(band_freqs(band, sig.freq_step)) if sig.method == "morlet" else 1
        for band in sig.bands.values()
    )
    item = 8 if sig.precision == "single" else 16
    n = max(1, int(sig.max_bytes // (n_ch * n_freqs * n_len * item)))
    return min(n, n_epochs, _CPU_EPOCHS if sig.bk.name == "numpy" else n_epochs)


def epoch_chunks(sig, data, rows):
    """Band signals of Epochs per chunk of epochs, for :func:`stream_across`.

    ``data`` (n_epochs, n_channels, n_times): the epochs' checked data
    (:meth:`DyadSignals.epoch_data`), of which ``rows`` are analysed (channels flat in
    every epoch left out). Yields ``{band: (z, BandSignal)}``, ``z`` of shape (F, T, E, n)
    in the same buffers every chunk, without the epochs' edges for ``'mne_fir'``
    (:func:`edge_trim`).
    """
    xp = sig.bk.xp
    chunk = _epoch_chunk(sig, len(rows), data.shape[-1], len(data))
    work = {}
    for e0 in range(0, len(data), chunk):
        part = data[e0 : e0 + chunk][:, rows]
        signals = sig.epoch_band_signals(part, common_decim=True, work=work, time_major=True)
        del part
        out = {}
        for b, (z, meta) in signals.items():
            keep, _ = edge_trim(sig.method, data.shape[-1], meta.decim)
            # (E, F, n, T) -> (F, T, E, n): contiguous as band_analytic wrote it
            # ('mne_fir' signals are copied)
            out[b] = (xp.ascontiguousarray(z.transpose(1, 3, 0, 2))[:, keep], meta)
        yield out


def window_chunks(sig, cont, rows, starts, n_len):
    """Epochs cut from continuous band signals per chunk of epochs, for :func:`stream_across`.

    ``cont``: :meth:`DyadSignals.continuous` ``{band: (z, BandSignal)}``, ``z`` of shape
    (n_channels, F, n_times) of which ``rows`` are analysed; epochs of ``n_len`` samples
    at ``starts``. Yields ``{band: (z, BandSignal)}``, ``z`` of shape (F, L, E, n), each
    chunk copied from the continuous signals into the same buffer (as
    :func:`~hyperinsync.sync.signals.cut_epochs`, without a copy of every epoch at once).
    """
    xp = sig.bk.xp
    chunk = _epoch_chunk(sig, len(rows), n_len, len(starts))
    idx = None if len(rows) == next(iter(cont.values()))[0].shape[0] else xp.asarray(rows)
    work = {}
    for e0 in range(0, len(starts), chunk):
        part = starts[e0 : e0 + chunk]
        out = {}
        for b, (z, meta) in cont.items():
            q = meta.decim
            n_out = n_len // q
            win = scratch(work, b, (z.shape[1], n_out, len(part), len(rows)), z.dtype, xp)
            for j, s0 in enumerate(np.asarray(part) // q):
                src = z[:, :, s0 : s0 + n_out]
                win[:, :, j] = (src if idx is None else src[idx]).transpose(1, 2, 0)
            out[b] = (win, meta)
        yield out


def stream_across(chunks, n_epochs, n_a, pairs, measures, max_bytes):
    """Values over epochs at each time point of ``FROM_SUMS`` measures, epochs streamed.

    Parameters
    ----------
    chunks : iterator
        Per chunk of epochs, ``{band: (z, BandSignal)}`` with ``z`` of shape (F, T, E, n)
        (:func:`epoch_chunks`, :func:`window_chunks`); the first ``n_a`` channels are
        the first person's.
    n_epochs : int
        Epochs in all the chunks.
    pairs : 'inter' | 'all'
        As in :func:`compute_sync`.
    measures : list of str
        Keys of ``FROM_SUMS``.
    max_bytes : float
        Bounds the scratch arrays of a chunk of time points.

    Returns
    -------
    values : dict
        ``{band: {measure: (n_times, n_rows, n_cols)}}`` on the backend's device, averaged
        over the band's frequencies.
    metas : dict
        ``{band: BandSignal}`` of the last chunk (without meaning for its ``data``).

    Notes
    -----
    Per chunk of epochs and band, per chunk of time points: the second side's conjugate
    (a copy), ``measures._cross_sums`` (BLAS products in the signals'
    precision, reading the first side in place) added into sums in double precision
    (complex128: the sums of 900 epochs in chunks of 45 round no worse than one product
    over all of them); at the end, ``measures._values_of_sums``, then
    the mean over the band's frequencies.
    """
    work = {}
    acc, metas = {}, {}
    for signals in chunks:
        for b, (z, meta) in signals.items():
            xp = _xp(z)
            metas[b] = meta
            n_t, n_sig = z.shape[1], z.shape[3]
            per_t = z.shape[0] * z.shape[2] * n_sig * z.itemsize * 3
            step = max(1, int(min(max_bytes, _STREAM_CHUNK_BYTES) // per_t))
            for t0 in range(0, n_t, step):
                blk = z[:, t0 : t0 + step]
                zb = blk[..., n_a:] if pairs == "inter" else blk
                b_conj = xp.conjugate(zb, out=scratch(work, "b", zb.shape, zb.dtype, xp))
                a = blk[..., :n_a] if pairs == "inter" else blk
                # samples (epochs) last: BLAS reads these transposed views in place
                sums = _cross_sums(measures, a.swapaxes(-1, -2), b_conj.swapaxes(-1, -2), work=work)
                if b not in acc:
                    acc[b] = _new_sums(sums, n_t, a.dtype, xp)
                for kind, parts in sums.items():
                    for total, s in zip(acc[b][kind], parts):
                        if s is not None:
                            total[:, t0 : t0 + step] += s
        del signals
    values = {}
    for b in list(acc):
        sums = acc.pop(b)
        xp = _xp(sums[next(iter(sums))][0])
        # per chunk of time points: the values' temporaries stay small
        values[b] = out = {}
        n_t = sums[next(iter(sums))][0].shape[1]
        for t0 in range(0, n_t, _VALUE_STEP):
            part = {
                kind: tuple(None if s is None else s[:, t0 : t0 + _VALUE_STEP] for s in parts)
                for kind, parts in sums.items()
            }
            for m, v in _values_of_sums(measures, part, n_epochs, "across").items():
                v = v.mean(axis=0)  # over the band's frequencies
                if m not in out:
                    out[m] = xp.empty((n_t,) + v.shape[1:], v.dtype)
                out[m][t0 : t0 + _VALUE_STEP] = v
    return values, metas


def _new_sums(sums, t_n, dtype, xp):
    """Zeroed double-precision sums of the shapes of ``sums`` with ``t_n`` time points."""
    wide = np.result_type(dtype, np.complex128)
    out = {}
    for kind, parts in sums.items():
        out[kind] = tuple(
            None
            if s is None
            else xp.zeros(
                (s.shape[0], t_n) + s.shape[2:], wide if s.dtype.kind == "c" else np.float64
            )
            for s in parts
        )
    return out
