"""The null engines: observed and surrogate values of every pairing from shared band signals.

The prepared band signals, observed values, circular shifts and phase randomisation; the
pseudo-dyad and epoch-shuffle engines are in :mod:`hyperinsync.stats.pairing_nulls`. Every
null is a batched product of :mod:`hyperinsync.sync.measures`: surrogates (shifted or
randomised copies of B) are folded into the channel axis, so one product yields the pairs of
a whole chunk of them at once. Work is cut into chunks whose intermediate arrays stay
below about ``max_bytes``. Everything from the band signals to the null values stays on the
backend's device: surrogate draws go there once, the values come back once, so the number
of host/device copies does not grow with the number of surrogates or epochs.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..backend import ThreadScratch
from ..dyad import get_roles
from ..rois import roi_spec
from ..sync.checks import check_finite
from ..sync.measures import compute_measure
from ..sync.result import SyncResult
from ..sync.shifts import CircularShifts
from ..sync.signals import (
    bad_mask,
    cut_epochs,
    epoch_index,
)
from ..sync.spectral import band_analytic
from ..sync.sums import FROM_SUMS, unit, value_from_sums
from .pairings import _person_picks


class _Prepared:
    """Band signals of the people of one or more dyads, cut into epochs as compute_sync.

    ``sigs``: one :class:`~hyperinsync.sync.DyadSignals` per dyad (the same options).
    """

    def __init__(self, sigs, epoch_duration, channels, order, signed=False):
        first = sigs[0]
        self.sig = first
        self.bands = first.bands
        self.signed = signed
        self.sfreq = first.sfreq
        self.raw = first.is_raw
        if self.raw:
            n_len = int(round(epoch_duration * self.sfreq))
            if n_len < 2:
                raise ValueError(f"epoch_duration={epoch_duration} s is under 2 samples.")
            self.n_len = n_len
            # all windows; BAD ones are masked afterwards so every person shares one grid
            self.starts = first.window_starts(n_len, n_len, reject=False)
            self.masks = [self._valid(sig) for sig in sigs]
        else:
            self.n_len = len(first.inst.times)
            self.starts = None
            self.masks = [np.ones(len(sig.inst), bool) for sig in sigs]
        # signals[band][person] = array (E, F, C, L); person = 2 * dyad + position of the
        # role in the common order (order[d], roles by name)
        self.signals = {b: [] for b in self.bands}
        self.meta = {}
        # the people share the n_jobs threads (NumPy), one thread each: every step of a
        # transform (reading, checks, line removal, FFTs, epochs) then runs in parallel
        people = [(d, r, role) for d, roles in enumerate(order) for r, role in enumerate(roles)]
        threads = first.n_jobs if first.bk.name == "numpy" else 1
        own = sigs if threads == 1 else [sig.like(sig.inst, n_jobs=1) for sig in sigs]

        def transform(person):
            d, r, role = person
            out = self._transform(own[d], _person_picks(own[d].inst, role, channels[r]))
            # the metadata without the continuous signals it came with (all people's would
            # be held at once)
            return {b: (z, replace(meta, data=None)) for b, (z, meta) in out.items()}

        for signals in first.bk.map(transform, people, threads):  # in person order
            for b, (z, meta) in signals.items():
                self.signals[b].append(z)
                self.meta[b] = meta

    def _valid(self, sig):
        try:
            good = sig.window_starts(self.n_len, self.n_len)
        except ValueError:
            good = np.array([], int)
        return np.isin(self.starts, good)

    def _transform(self, sig, picks):
        if self.raw:
            return sig.epochs(picks, self.n_len, self.n_len, self.starts)
        return sig.epoch_signals(picks)  # finite, not flat


def _values(measure, xa, xb, signed=False):
    """Per-epoch values of every pair, mean over the band's frequencies: (..., Na, Nb)."""
    return compute_measure(measure, xa, xb, "within", signed=signed).mean(axis=-3)


def _fold(z):
    """(E, F, C, L) -> (1, F, E*C, L): epochs folded into the signal axis."""
    e, f, c, n = z.shape
    return z.transpose(1, 0, 2, 3).reshape(1, f, e * c, n)


def _observed_within(prep, measures, bk):
    xp = bk.xp
    keep = xp.asarray(np.flatnonzero(prep.masks[0]))
    out = xp.empty((len(measures), len(prep.bands)) + _pair_shape(prep))
    for bi, b in enumerate(prep.bands):
        za, zb = prep.signals[b][0], prep.signals[b][1]
        for mi, m in enumerate(measures):
            out[mi, bi] = _values(m, za, zb, prep.signed)[keep].mean(axis=0)
    return bk.to_numpy(out)


def _pair_shape(prep):
    b = next(iter(prep.bands))
    return prep.signals[b][0].shape[2], prep.signals[b][1].shape[2]


def _observed_phase(prep, n_dyads, reducer, bk):
    r"""Mean phase difference A - B of each observed pair (radians), per band.

    The angle of :math:`\sum u_a \bar u_b` over the time points of the valid epochs (unit
    phasors), summed over the channel pairs of each ROI pair when ``reducer`` is given: 0 is
    in-phase, :math:`\pm\pi` anti-phase. ``n_dyads``: one per real dyad (pseudo-dyads), or
    ``None`` for one within-dyad pair. Shape ``(n_bands, rows, cols)``, with a leading dyad
    axis for pseudo-dyads.
    """
    xp = bk.xp
    n = 1 if n_dyads is None else n_dyads
    # every dyad's valid epochs go to the device at once; the others weigh 0
    masks = xp.asarray(np.array(prep.masks[:n], dtype=np.float32))

    def dyad_crosses(d):
        out = []
        for b in prep.bands:
            za, zb = prep.signals[b][2 * d], prep.signals[b][2 * d + 1]
            # the epochs joined in time, (F, C, E * L): one product per band
            ua = (unit(za) * masks[d][:, None, None, None]).transpose(1, 2, 0, 3)
            ub = unit(zb).transpose(1, 2, 0, 3)
            ua = ua.reshape(ua.shape[0], ua.shape[1], -1)
            ub = ub.reshape(ub.shape[0], ub.shape[1], -1)
            out.append(xp.matmul(ua, ub.conj().swapaxes(-1, -2)).sum(axis=0))
        return out

    # the dyads in the signals' n_jobs threads (NumPy)
    crosses = [c for per in bk.map(dyad_crosses, range(n), prep.sig.n_jobs) for c in per]
    crosses = iter(bk.to_numpy_many(*crosses))
    out = []
    for _ in range(n):
        per_band = []
        for _ in prep.bands:
            cross = next(crosses)
            if reducer is not None:
                cross = reducer[0] @ cross @ reducer[1]
            per_band.append(np.angle(cross))
        out.append(np.stack(per_band))
    return out[0] if n_dyads is None else np.stack(out)


def _shift_null(prep, inst, measures, n_sur, min_shift, rng, bk, max_bytes):
    """Circular shift of B's band signals over the span tiled by the epochs.

    The measures that are functions of sums (PLV, coh, imcoh) come from one batched product
    per chunk of shifts (:func:`_shift_sums`); the others (wPLI, ccorr, envcorr: a sign, an
    absolute value or a centring per sample and epoch) from B's epochs gathered for every
    shift of a chunk (:func:`_shift_gathered`). Both run in the signals' ``n_jobs`` threads
    (with BLAS on one thread: :func:`~hyperinsync.stats.surrogate_sync` runs so).
    """
    xp = bk.xp
    decims = [prep.meta[b].decim for b in prep.bands]
    unit_ = int(np.lcm.reduce(decims))  # lags all bands can represent exactly
    n_ep = len(prep.starts)
    span = n_ep * prep.n_len
    lo = int(np.ceil(min_shift * prep.sfreq / unit_))
    hi = (span - int(np.ceil(min_shift * prep.sfreq))) // unit_
    if hi < lo:
        raise ValueError(
            f"min_shift={min_shift} s leaves no lag in a {span / prep.sfreq:.1f} s recording: "
            "lower min_shift (at most a third of the recording is sensible)."
        )
    lags = rng.integers(lo, hi + 1, n_sur) * unit_  # samples
    # which shifted B windows are clean: circular window sums of the BAD sample mask
    bad = bad_mask(inst, span)
    csum = np.concatenate([[0], np.cumsum(np.r_[bad, bad])])
    src = (prep.starts[None, :] + lags[:, None]) % span  # (K, E)
    b_ok = (csum[src + prep.n_len] - csum[src]) == 0
    weight = prep.masks[0][None, :] & b_ok  # (K, E)
    count = weight.sum(axis=1)
    if np.any(count == 0):
        raise ValueError("A circular shift leaves no BAD-free epoch pair: too few clean data.")
    null = xp.zeros((n_sur, len(measures), len(prep.bands)) + _pair_shape(prep))
    # the draws go to the device once
    src_dev = xp.asarray(src)
    weight_dev = xp.asarray(weight, dtype=xp.float32)
    sums = [m for m in measures if m in FROM_SUMS]
    rest = [m for m in measures if m not in FROM_SUMS]
    n_jobs, budget = prep.sig.n_jobs, bk.chunk_bytes(max_bytes)
    for bi, b in enumerate(prep.bands):
        q = prep.meta[b].decim
        za, zb = prep.signals[b][0], prep.signals[b][1]
        n_f, cb, n_l = zb.shape[1], zb.shape[2], zb.shape[3]
        cont = zb.transpose(1, 2, 0, 3).reshape(n_f, cb, n_ep * n_l)  # tiled span
        if sums:
            # B's window of A's epoch e starts lag / q samples later: a circular shift
            # by -lag / q in numpy.roll's convention
            shifts = (-(lags // q)) % (n_ep * n_l)
            vals = _shift_sums(
                prep, sums, za, cont, shifts, xp.asarray(shifts), weight_dev, bk, budget, n_jobs
            )
            for j, m in enumerate(sums):
                null[:, measures.index(m), bi] = vals[:, j]
        if rest:
            vals = _shift_gathered(
                prep, rest, za, cont, src_dev // q, weight_dev, bk, budget, n_jobs
            )
            for j, m in enumerate(rest):
                null[:, measures.index(m), bi] = vals[:, j]
    null = bk.to_numpy(null)
    return null / count[:, None, None, None, None], dict(lags_s=(lags / prep.sfreq).tolist())


def _shift_sums(prep, names, za, cont, shifts, shifts_dev, weight_dev, bk, budget, n_jobs):
    r"""``FROM_SUMS`` measures of every shift: (K, len(names), Ca, Cb), summed over epochs.

    B (``cont``: (F, Cb, M), the tiled span) is held twice in a row, conjugated and
    time-major (:class:`~hyperinsync.sync.shifts.CircularShifts`), so that every shifted
    epoch is a contiguous matrix: one batched product per shift, ``(Ca, L) @ (L, Cb)``
    per epoch and frequency with B read in place, gives the cross sums
    :math:`\sum a \bar b` (as Levels 1 and 2 do). A's powers do not depend on the shift;
    B's come from one cumulative sum. Unit phasors and powers are made once, not per shift
    and measure.
    """
    xp = bk.xp
    n_ep, n_f, ca, n_l = za.shape
    cb = cont.shape[1]
    kinds = sorted({FROM_SUMS[m][0] for m in names})  # True: sums of unit phasors
    # A's epochs as the left factors of the products: (F, E, Ca, L)
    a = {k: (unit(za) if k else za).swapaxes(0, 1) for k in kinds}
    source = {
        k: CircularShifts(unit(cont) if k else cont, xp, conj=True, power=not k) for k in kinds
    }
    pa = None
    if False in kinds:  # (F, E, Ca)
        pa = xp.sum(abs(za) ** 2, axis=-1, dtype=xp.float64).swapaxes(0, 1)
    starts = xp.arange(n_ep) * n_l
    item = za.dtype.itemsize
    # per shift: the cross sums per kind, values, B's powers
    per = len(kinds) * n_ep * n_f * ca * cb * (item + 16) + 8 * n_ep * n_f * cb
    tmp = ThreadScratch()  # each thread's arrays, reused from chunk to chunk

    def chunk(ks):
        n_k = ks.stop - ks.start
        out = xp.empty((n_k, len(names), ca, cb))
        for k in kinds:
            cross = source[k].products(
                a[k],
                shifts[ks],
                n_ep,
                n_l,
                out=tmp(f"s{k}", (n_k, n_f, n_ep, ca, cb), za.dtype, xp),
            )  # (K, F, E, Ca, Cb)
            pb = None
            if not k:  # (F, E, K * Cb) -> (K, F, E, Cb)
                pb = source[k].window_power(shifts_dev[ks], starts, n_l)
                pb = xp.moveaxis(pb.reshape(n_f, n_ep, n_k, cb), 2, 0)
            for j, m in enumerate(names):
                if FROM_SUMS[m][0] == k:
                    v = value_from_sums(m, cross, n_l, pa, pb, prep.signed, tmp.work).mean(axis=1)
                    # the sum over each shift's clean epochs (weights 0/1)
                    out[:, j] = xp.einsum("keij,ke->kij", v, weight_dev[ks])
        return (out,)

    return bk.run_chunks(chunk, len(shifts), budget // per, n_jobs)[0]


def _shift_gathered(prep, names, za, cont, starts_dev, weight_dev, bk, budget, n_jobs):
    """Any measure of every shift, from B's epochs gathered per shift: (K, len(names), Ca, Cb).

    ``starts_dev`` (K, E): where (decimated) B's epoch for A's epoch e starts under shift
    k, on the device. Surrogates are folded into B's signal axis: one BLAS product (or one
    pass of the measure) per epoch for a chunk of shifts.
    """
    xp = bk.xp
    n_ep, n_f, ca, n_l = za.shape
    cb = cont.shape[1]
    per = 16 * n_f * n_ep * (ca + cb) * n_l + 24 * n_f * n_ep * ca * cb
    within = xp.arange(n_l)

    def chunk(ks):
        idx = (starts_dev[ks][:, :, None] + within) % (n_ep * n_l)  # (Kc, E, L)
        xb = cont[:, :, idx]  # (F, Cb, Kc, E, L)
        n_k = xb.shape[2]
        # surrogates folded into B's signal axis: one BLAS product per epoch
        xb = xb.transpose(3, 0, 2, 1, 4).reshape(n_ep, n_f, n_k * cb, n_l)
        out = xp.empty((n_k, len(names), ca, cb))
        for j, m in enumerate(names):
            v = _values(m, za, xb, prep.signed).reshape(n_ep, ca, n_k, cb)
            out[:, j] = xp.einsum("eikj,ke->kij", v, weight_dev[ks])
        return (out,)

    return bk.run_chunks(chunk, starts_dev.shape[0], budget // per, n_jobs)[0]


def _phase_null(prep, inst, channels, measures, n_sur, rng, bk, max_bytes):
    """Fourier phase randomisation of B (same phases on all B channels), re-transformed.

    B's spectrum is computed once, in double precision, on the backend's device; each batch
    of surrogates draws its phases there (:func:`_uniform`: from ``rng``, the same on the CPU
    and the GPU), goes back to the time domain and through the band signals exactly as the
    observed data (:func:`~hyperinsync.sync.band_analytic`: line removed in double
    precision, same bands, method and decimation; the same epochs). NaN or infinite samples
    inside rejected ``BAD_`` spans are bridged as for the observed signals.
    """
    xp = bk.xp
    sig = prep.sig
    picks_b = _person_picks(inst, get_roles(inst)[1], channels[1])
    names = [inst.ch_names[i] for i in picks_b]
    rejected = bad_mask(inst, inst.n_times) if sig.reject else None
    data = check_finite(inst.get_data(picks=picks_b), names, rejected, sfreq=prep.sfreq)
    n = data.shape[1]
    fft_kw = bk.fft_kwargs(sig.n_jobs)
    spec = bk.fft.rfft(xp.asarray(data, dtype=xp.float64), axis=1, **fft_kw)  # (Cb, n_f)
    del data
    n_f = spec.shape[1]
    key = int(rng.integers(0, 2**63))
    ca, cb = _pair_shape(prep)
    decims = {b: prep.meta[b].decim for b in prep.bands}
    index = {b: epoch_index(prep.starts, prep.n_len, q, xp) for b, q in decims.items()}
    mask = prep.masks[0]
    w = xp.asarray(mask / mask.sum(), dtype=xp.float32)  # the mean over A's valid epochs
    null = xp.zeros((n_sur, len(measures), len(prep.bands), ca, cb))
    # a batch holds its phases, spectra and data in double precision, and its band signals
    per_sur = 64 * cb * n + 32 * n_f
    step = int(max(1, max_bytes // per_sur))
    for k0 in range(0, n_sur, step):
        n_k = min(step, n_sur - k0)
        phases = (2 * np.pi) * _uniform(xp, key, k0 * n_f, (n_k, n_f))
        phases[:, 0] = 0.0  # keep the mean real
        if n % 2 == 0:
            phases[:, -1] = 0.0  # and the Nyquist bin
        rot = xp.exp(1j * phases)
        del phases
        surr = bk.fft.irfft(spec[None] * rot[:, None, :], n=n, axis=-1, **fft_kw)
        del rot
        sigs = band_analytic(
            surr.reshape(n_k * cb, n),
            prep.sfreq,
            prep.bands,
            method=sig.method,
            decim=decims,
            **sig.band_kwargs,
        )
        del surr
        for bi, b in enumerate(prep.bands):
            # (E, F, Kc * Cb, L): surrogate k's channels at k * Cb ... (k + 1) * Cb - 1
            zs = cut_epochs(sigs[b].data, index[b])
            for mi, m in enumerate(measures):
                v = _values(m, prep.signals[b][0], zs, prep.signed)  # (E, Ca, Kc * Cb)
                null[k0 : k0 + n_k, mi, bi] = xp.einsum(
                    "eikj,e->kij", v.reshape(v.shape[0], ca, n_k, cb), w
                )
        del sigs
    return bk.to_numpy(null)


def _uniform(xp, key, start, shape):
    """Uniform numbers in [0, 1): items ``start, start + 1, ...`` of SplitMix64 stream ``key``.

    Unsigned 64-bit integer arithmetic, the same on the CPU and the GPU: a seed gives the
    same surrogates on either, and each batch draws its numbers where it uses them (no
    random numbers copied to the device). SplitMix64 (Steele, Lea & Flood, 2014; it passes
    BigCrush): item ``i`` is its mix function of ``key + (i + 1) * 0x9E3779B97F4A7C15``.
    """
    u64 = xp.uint64
    i = xp.arange(start + 1, start + 1 + int(np.prod(shape)), dtype=u64).reshape(shape)
    z = i * u64(0x9E3779B97F4A7C15) + u64(key)
    z = (z ^ (z >> u64(30))) * u64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> u64(27))) * u64(0x94D049BB133111EB)
    z = z ^ (z >> u64(31))
    return (z >> u64(11)).astype(xp.float64) * (1.0 / 2**53)


def _roi_level(values, rows, cols, roles, rois):
    """Average channel pairs within each ROI pair (per surrogate); returns values, names."""
    spec = roi_spec(rois, rows, cols, roles, "inter")
    holder = SyncResult(
        np.zeros((0, 0, len(rows), len(cols))),
        measures=[],
        bands={},
        rows=rows,
        cols=cols,
        roles=roles,
        convention="within",
        method="",
        rois=spec,
    )
    return holder._roi_mean(values), list(spec["rows"]), list(spec["cols"])


def _roi_weights(groups, names):
    """(n_rois, n_names) matrix whose rows average the channels of each ROI."""
    pos = {n: i for i, n in enumerate(names)}
    w = np.zeros((len(groups), len(names)))
    for r, chs in enumerate(groups.values()):
        w[r, [pos[c] for c in chs]] = 1.0 / len(chs)
    return w
