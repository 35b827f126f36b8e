r"""The window engine of Levels 1 and 2: band signals of ROI channels and window sums.

Window sums (Level 1 and 2)
---------------------------
Band analytic signals are computed once per person on the continuous recording
(:func:`hyperinsync.sync.band_analytic`, exactly decimated). For channel pair
:math:`(i, j)` the measures need only sums over a window :math:`W` of

.. math:: S_{ij} = \sum_{t \in W} x_i(t)\,\bar y_j(t), \qquad
          P_i = \sum_{t \in W} |x_i(t)|^2, \qquad Q_j = \sum_{t \in W} |y_j(t)|^2,

with :math:`x, y` the unit phasors :math:`z/|z|` for PLV and the analytic signals themselves
for coherence. Then :math:`\mathrm{PLV}_{ij} = |S_{ij}|/n_W`,
:math:`\mathrm{coh}_{ij} = |S_{ij}|/\sqrt{P_i Q_j}` and
:math:`\mathrm{imcoh}_{ij} = |\mathrm{Im}\,S_{ij}|/\sqrt{P_i Q_j}` (the ``'within'``
convention of :mod:`hyperinsync.sync.measures`). Windows start every ``step`` and last ``window``,
so both are multiples of a block of :math:`g = \gcd(n_\mathrm{window}, n_\mathrm{step})`
decimated samples: windows of :math:`w` blocks every :math:`h` blocks. The block sums of all
channel pairs are batched matrix products (``(n_blocks, n_a, g) @ (n_blocks, g, n_b)``); the
window sums add them up by sliding sums of 1, 2, 4, ... blocks, each the sum of two of the
previous length, combined along the binary digits of :math:`w` (:func:`_window_sum`): about
:math:`\log_2 w + 1` passes over the block sums, no loop over windows or pairs, in the
precision of the signals (each window a summation tree of depth :math:`\log_2 w`: its
rounding error is a few ulps, as small as that of differences of float64 cumulative sums,
which cost a widened copy and three passes in double width). The values follow in the same
precision, and the ROI means of every window are one product with the matrix of ROI-pair
weights (:meth:`_PairSeries.roi_matrix`).

Nulls, batched over draws
-------------------------
A circular shift of B by :math:`s` changes only the cross sums
:math:`S_{ij}(W, s) = \sum_{t \in W} x_i(t)\,\bar y_j(t - s)` and where B's windows fall
for :math:`Q_j` (A's :math:`P_i` stay). For a chunk of :math:`K` shifts, one batched product
per shift multiplies A's blocks with B's shifted blocks read in place: B is held time-major
and twice in a row, so that every shifted block is a contiguous matrix
(:meth:`hyperinsync.sync.shifts.CircularShifts.products`; no copies of B per shift, which
cost a third of the products' time at Level 2's 2-s epochs). B's window powers come from
one cumulative sum of :math:`|y|^2`, and the window sums, values and ROI means run once per
chunk on all its shifts. The work is that of one product per draw
(:math:`K n_a n_b n_\mathrm{samples}` complex multiply-adds); a cross-correlation by FFT
would give every shift of the *whole-recording* sum at once, but each window needs its own
(see :mod:`hyperinsync.sync.shifts`). Block orders (Level 2's epoch shuffle,
:class:`_BlockOrders`) are multiplied the same way; Level 1's block-shuffle null re-orders
the block cross sums, computed once, for a chunk of orders at once (:class:`_BlockCross`).
Chunks hold at most ``max_bytes`` (on the CPU at most 32 MB, in scratch arrays each thread
reuses from chunk to chunk), run in ``n_jobs`` threads with BLAS on one thread, and give the
values of the per-draw computation to rounding.
"""

from __future__ import annotations

import numpy as np

from .._utils import (
    _validate_type,
)
from ..backend import ThreadScratch, scratch
from ..rois import role_rois
from ..sync.shifts import CircularShifts
from ..sync.sums import FROM_SUMS, power, unit

WINDOW_MEASURES = ("plv", "coh", "imcoh")


def _check_positive(value, name):
    _validate_type(value, "numeric", name)
    if not value > 0:
        raise ValueError(f"{name} must be positive, got {value}.")
    return float(value)


def _check_n_surrogates(n_surrogates, alpha):
    _validate_type(n_surrogates, "int", "n_surrogates")
    # the (b + 1) / (N + 1) p-value cannot reach alpha with fewer surrogates
    need = int(np.ceil(1.0 / alpha)) - 1
    if n_surrogates < max(need, 2):
        raise ValueError(
            f"n_surrogates={n_surrogates} surrogates cannot give p <= alpha={alpha} "
            f"(p >= 1/(N+1)): use at least {max(need, 2)}, e.g. 200."
        )
    return int(n_surrogates)


def _orig_time_str(orig_time):
    return None if orig_time is None else orig_time.isoformat()


def _check_window_method(dsig, what):
    """Refuse band signals the window engine cannot sum (several per band)."""
    if dsig.method == "morlet":
        raise ValueError(
            f"{what} sums each band's analytic signal over windows and needs one signal "
            "per band: method='morlet' gives one per wavelet frequency. Use "
            "method='fft' (default) or 'mne_fir'."
        )


class _Signals:
    """Decimated band analytic signals of both people's ROI channels (on the backend).

    Built on :class:`~hyperinsync.sync.DyadSignals` (``dsig``), whose options (method,
    decimation, precision, ...) it uses; the window engine needs one analytic signal per
    band, so ``method='morlet'`` (one per wavelet frequency) is refused.
    """

    def __init__(self, dsig, rois, n_win, n_step, what="Level 1/2"):
        _check_window_method(dsig, what)
        raw = dsig.inst
        self.sfreq = dsig.sfreq
        self.first_time = raw.first_time
        self.orig_time = raw.annotations.orig_time
        self.roles, (pa, pb) = dsig.data_picks()
        names_all = [raw.ch_names[i] for i in np.concatenate([pa, pb])]
        # every channel is its own "ROI" when rois is None
        self.roi_chs = role_rois(rois, names_all, self.roles, verbose=False)
        self.idx = []  # per role: indices (into that role's signals) per ROI
        self.names = []  # per role: dyad channel names of the signals
        for role, picks in zip(self.roles, (pa, pb)):
            groups = self.roi_chs[role]
            bad = [n for n in groups if "/" in n or n == ""]
            if bad:
                raise ValueError(
                    f"ROI names {bad} contain '/', which separates the fields of the "
                    "annotation descriptions insync/L<n>/<band>/<roiA>-<roiB>: rename them."
                )
            used = {c for chs in groups.values() for c in chs}
            names = [raw.ch_names[i] for i in picks if raw.ch_names[i] in used]
            pos = {n: k for k, n in enumerate(names)}
            self.idx.append([np.array([pos[c] for c in chs]) for chs in groups.values()])
            self.names.append(names)
        self.roi_names = [list(self.roi_chs[r]) for r in self.roles]
        self._pair = None
        self.bands = dsig.bands
        self.bk = dsig.bk
        self.decim = dsig.decims(n_win, n_step or n_win, what="window")
        ch_index = {n: i for i, n in enumerate(raw.ch_names)}
        # samples inside BAD_ annotations (both people share one time axis)
        self.bad = dsig.bad_mask()
        self.z = {b: [] for b in self.bands}  # band -> [za (n_a, T), zb (n_b, T)]
        for names in self.names:
            # NaN inside rejected spans is bridged for the filter; flat channels refused
            sigs = dsig.continuous([ch_index[n] for n in names], self.decim)
            for b, (z, _) in sigs.items():
                self.z[b].append(z[:, 0])  # one frequency per band ('fft', 'mne_fir')

    def pair_matrix(self, xp):
        """(n_roi_a * n_roi_b, n_a * n_b): ROI-pair means of flattened channel-pair values.

        On the backend's device, copied there once.
        """
        if self._pair is None:
            self._pair = xp.asarray(np.kron(*_roi_means(self)))
        return self._pair


def _roi_means(sig):
    """Per role, (n_roi, n_channels): each ROI's mean over its channels' signals."""
    mats = []
    for side in (0, 1):
        m = np.zeros((len(sig.idx[side]), len(sig.names[side])))
        for r, ii in enumerate(sig.idx[side]):
            m[r, ii] = 1.0 / len(ii)
        mats.append(m)
    return mats


def _blocks(z, g, xp):
    """(n_ch, T) -> contiguous (n_blocks, n_ch, g), the tail that fills no block dropped."""
    n_blk = z.shape[-1] // g
    return xp.ascontiguousarray(z[:, : n_blk * g].reshape(z.shape[0], n_blk, g).transpose(1, 0, 2))


def _window_sum(blk, w, h, n_win, xp, work=None):
    """Sum blocks (axis 0) over windows of ``w`` blocks every ``h`` blocks, pairwise.

    Sliding sums of 1, 2, 4, ... blocks, each the sum of two of the previous length (one
    pass each), add up to windows of ``w`` blocks along the binary digits of ``w``: about
    ``log2(w) + 1`` passes in the precision of ``blk``. Each window is summed as a tree
    of depth about ``log2(w)``, so its rounding error is a few ulps of its terms, as small
    as that of a float64 cumulative sum's differences without widening (whose values it
    equals to rounding). ``w == 1``: a view of ``blk``.

    ``work``: scratch arrays reused across calls (:func:`~hyperinsync.backend.scratch`);
    the result may then be one of them (or a view of ``blk``), valid until the next call
    with the same ``work``.
    """
    last = (n_win - 1) * h  # first block of the last window
    p, cur, span, done = blk[: last + w], None, 1, 0  # sliding sums of `span` blocks
    first = out = held = None
    rem = w
    while True:
        if rem & 1:  # the next `span` blocks of every window
            term = p[done : done + last + 1 : h]
            if first is None:
                first, held = term, cur  # its buffer stays until the next term
            elif out is None:
                out = xp.add(first, term, out=scratch(work, "windows", term.shape, term.dtype, xp))
                held = None
            else:
                out += term
            done += span
        rem >>= 1
        if not rem:
            return first if out is None else out
        n = p.shape[0] - span
        cur = next(k for k in ("sums0", "sums1", "sums2") if k not in (cur, held))
        p = xp.add(
            p[:n], p[span : span + n], out=scratch(work, cur, (n,) + p.shape[1:], p.dtype, xp)
        )
        span *= 2


class _Geometry:
    """Windows of ``w`` blocks of ``g`` samples, every ``h`` blocks; ``n`` windows."""

    def __init__(self, g, w, h, n, n_samples):
        self.g, self.w, self.h, self.n = g, w, h, n
        self.n_blocks = n_samples // g


def _window_values(s, measure, geo, pa_win, pb_win, xp, work=None):
    r"""Return the measure per window and channel pair from window cross sums (and powers).

    The formulas are those of :mod:`hyperinsync.sync.measures` (``FROM_SUMS``); ``s`` is the
    conjugate of the cross sum, which changes neither :math:`|S|` nor
    :math:`|\mathrm{Im}\,S|` (the window measures are magnitudes). ``work``: scratch
    arrays to compute in.
    """
    _, value = FROM_SUMS[measure]
    return value(s, geo.w * geo.g, pa_win, pb_win, work)


class _BlockOrders:
    """B's blocks put in other orders (Level 2's epoch shuffle), for batched products.

    The counterpart of :class:`~hyperinsync.sync.shifts.CircularShifts` for block orders
    (same layouts): ``products(left, orders)`` multiplies A's blocks with B's blocks in
    each order and ``window_power(orders)`` gives their powers, for windows that are the
    blocks (``window = step = one block``). ``orders``: (K, n_blocks) block indices on the
    device.
    """

    def __init__(self, zb, g, xp, power):
        n_b, n_blk = zb.shape[0], zb.shape[-1] // g
        self.xp = xp
        self.n_signals = n_b
        # (n_blk, g, n_b): each block's samples the rows of a product's right factor
        self.blk = xp.ascontiguousarray(
            zb[:, : n_blk * g].reshape(n_b, n_blk, g).transpose(1, 2, 0)
        )
        self.pw = None
        if power:
            self.pw = xp.sum(abs(self.blk) ** 2, axis=1, dtype=xp.float64)  # (n_blk, n_b)

    def products(self, left, orders, n_blocks, block, out=None):
        """``left`` (n_blocks, m, block) times B's blocks in each order: (K, n_blocks, m, n_b)."""
        shape = (len(orders), n_blocks, left.shape[-2], self.n_signals)
        out = self.xp.empty(shape, self.blk.dtype) if out is None else out.reshape(shape)
        for k in range(len(orders)):
            self.xp.matmul(left, self.blk[orders[k]], out=out[k])
        return out

    def window_power(self, orders, starts, length):
        p = self.pw[orders]  # (K, n_blk, n_b)
        return p.transpose(1, 0, 2).reshape(p.shape[1], -1)


class _PairSeries:
    """ROI-pair window values of one band: A's signal against B's, shifted or reordered.

    Holds A's conjugated blocks and window powers, computed once. :meth:`batch` gives the
    values of many versions of B at once (circular shifts, block orders), ``(K, n_windows,
    n_roi_a, n_roi_b)`` on the device; calling the object gives the observed values
    ``(n_windows, n_roi_a, n_roi_b)``, on the host, or on the device with ``host=False``.
    """

    def __init__(self, sig, band, measure, geo, span, max_bytes):
        xp = sig.bk.xp
        za, zb = (z[:, span] for z in sig.z[band])
        if FROM_SUMS[measure][0]:  # sums of unit phasors
            za, zb = unit(za), unit(zb)
        self.zb, self.geo, self.measure, self.max_bytes = zb, geo, measure, max_bytes
        self.bk, self.xp = sig.bk, xp
        self.a_blk = _blocks(za, geo.g, xp).conj()
        self.real = self.a_blk.real.dtype  # the precision of the sums and values
        self.pa = None
        if not FROM_SUMS[measure][0]:  # powers normalise the measure
            a2 = power(self.a_blk).sum(-1, dtype=xp.float64)
            self.pa = _window_sum(a2, geo.w, geo.h, geo.n, xp).astype(self.real)
        self.ma, self.mb = _roi_means(sig)
        self.starts = xp.arange(geo.n) * (geo.h * geo.g)  # of the windows, on the device
        self.shape = (geo.n, len(sig.idx[0]), len(sig.idx[1]))
        self._scratch = ThreadScratch()
        self._roi = {}

    @property
    def powers(self):
        """Whether the measure needs B's window powers (coh, imcoh)."""
        return not FROM_SUMS[self.measure][0]

    def shifts(self):
        """B ready for circular shifts (:meth:`batch`'s ``source``)."""
        return CircularShifts(self.zb, self.xp, power=self.powers)

    def orders(self):
        """B ready for block orders (:meth:`batch`'s ``source``; windows = blocks)."""
        return _BlockOrders(self.zb, self.geo.g, self.xp, self.powers)

    def __call__(self, host=True):
        v = self.batch(self.shifts(), [0], self.xp.zeros(1, dtype=int))[0]
        return self.bk.to_numpy(v) if host else v

    def chunk(self, n_draws):
        """How many draws one :meth:`batch` call should take.

        As many as fit in ``max_bytes`` (on the CPU in 32 MB, :meth:`Backend.chunk_bytes`),
        at least one (a draw too large for ``max_bytes`` runs per chunk of A's channels).
        """
        fixed, per_a = self._bytes()
        per_draw = fixed + per_a * self.a_blk.shape[1]
        budget = self.bk.chunk_bytes(self.max_bytes)
        return int(max(1, min(n_draws, budget // max(1, per_draw))))

    def _bytes(self):
        """Bytes per draw: B's window powers, and per A channel."""
        n_blk, item = self.a_blk.shape[0], self.a_blk.itemsize
        n_b, geo = self.zb.shape[0], self.geo
        fixed = 16 * geo.n * n_b if self.powers else 0
        # block products, sliding sums (at most three at a time), window sums, values
        per_a = n_b * (4 * n_blk * item + 2 * geo.n * item)
        return fixed, per_a

    def roi_matrix(self, a0, a1):
        """``(n_roi_a * n_roi_b, (a1 - a0) * n_b)``: ROI means of channel pairs (A-major).

        One product averages both people's channels of every window and draw; in the
        precision of the sums.
        """
        if (a0, a1) not in self._roi:
            mats = (self.ma[:, a0:a1], self.mb)
            self._roi[(a0, a1)] = self.xp.asarray(np.kron(*mats), dtype=self.real)
        return self._roi[(a0, a1)]

    def batch(self, source, draws, draws_dev):
        """ROI-pair window values for each draw: ``(K, n_windows, n_roi_a, n_roi_b)``.

        ``source``: :meth:`shifts` (draws are lags in samples, host integers) or
        :meth:`orders` (draws are block orders on the device); ``draws_dev``: the draws on
        the device (window powers). One batched product per A-channel chunk gives the block
        cross sums of every draw (:class:`~hyperinsync.sync.shifts.CircularShifts`); the
        window sums (:func:`_window_sum`), values and ROI means (one product) follow on all
        draws at once, in the precision of the signals. The values are those of a call per
        draw, to rounding.
        """
        xp, geo = self.xp, self.geo
        tmp = self._scratch  # this thread's arrays, reused from chunk to chunk
        n_blk, n_a, g = self.a_blk.shape
        n_k, n_b = len(draws), source.n_signals
        dtype = self.a_blk.dtype
        pb = None
        if self.powers:  # (n_win, K, n_b)
            pb = source.window_power(draws_dev, self.starts, geo.w * g).astype(self.real)
            pb = pb.reshape(geo.n, n_k, n_b)
        fixed, per_a = self._bytes()
        chunk = int(max(1, min(n_a, (self.max_bytes // n_k - fixed) // max(1, per_a))))
        out = xp.zeros((geo.n * n_k, self.shape[1] * self.shape[2]))
        for a0 in range(0, n_a, chunk):
            a1 = min(n_a, a0 + chunk)
            # (K, n_blk, a1 - a0, n_b): the conjugate cross sums of every block and draw,
            # one product per draw with B's shifted samples read in place (no copies)
            s = source.products(
                self.a_blk[:, a0:a1],
                draws,
                n_blk,
                g,
                out=tmp("s", (n_k, n_blk, a1 - a0, n_b), dtype, xp),
            )
            s = _window_sum(s.swapaxes(0, 1), geo.w, geo.h, geo.n, xp, tmp.work)
            pa = None if self.pa is None else self.pa[:, None, a0:a1]
            v = _window_values(s, self.measure, geo, pa, pb, xp, tmp.work)  # (n_win, K, a, b)
            del s
            # ROI means of both people's channels: one product for every window and draw
            out += xp.matmul(v.reshape(geo.n * n_k, -1), self.roi_matrix(a0, a1).T)
        return out.reshape((geo.n, n_k) + self.shape[1:]).swapaxes(0, 1)


def _bad_windows(bad_dec, shift, geo):
    """Windows touching a bad sample of A or of B shifted by ``shift`` (bool, host)."""
    mask = bad_dec | np.roll(bad_dec, shift)
    n = geo.n_blocks
    blk = mask[: n * geo.g].reshape(n, geo.g).any(axis=1).astype(float)
    c = np.concatenate([[0.0], np.cumsum(blk)])
    k = np.arange(geo.n) * geo.h
    return (c[k + geo.w] - c[k]) > 0


class _BlockCross:
    """Window values of one band for any order of its blocks (Level 1's tonic null).

    The windows are sums of per-block cross sums :math:`S_{ij}` (and, for coherence, block
    powers; module docstring). Re-ordering those blocks re-orders the recording block by
    block while keeping each block's coupling: a series with the same tonic coupling whose
    transient rises are scattered. The cross sums are computed once when they fit in
    ``max_bytes`` (else per chunk of A channels at every call). :meth:`batch` gives the
    values of many orders at once, ``(K, n_windows, n_roi_a, n_roi_b)`` on the device, as
    :class:`_PairSeries` does for shifts; calling the object gives those of one order
    (``None``: the observed one) ``(n_windows, n_roi_a, n_roi_b)``: on the host, or on
    the device with ``host=False``.
    """

    def __init__(self, pairs, sig, max_bytes):
        xp = pairs.xp
        self.xp, self.bk, self.geo, self.measure = xp, pairs.bk, pairs.geo, pairs.measure
        self.pairs, self.a_blk, self.max_bytes = pairs, pairs.a_blk, max_bytes
        n_blk, n_a, g = pairs.a_blk.shape
        n_b = pairs.zb.shape[0]
        self.b = pairs.zb[:, : n_blk * g].reshape(n_b, n_blk, g).transpose(1, 2, 0)
        if not FROM_SUMS[self.measure][0]:
            self.pa = power(pairs.a_blk).sum(-1, dtype=xp.float64)  # (n_blk, n_a)
            self.pb = power(self.b).sum(1, dtype=xp.float64)  # (n_blk, n_b)
        # block sums, their re-ordered copy, sliding sums and window sums per A channel
        self.per_a = 4 * (n_blk + 1) * n_b * self.a_blk.itemsize
        chunk = int(max(1, min(n_a, max_bytes // max(1, self.per_a))))
        self.chunks = [(a0, min(n_a, a0 + chunk)) for a0 in range(0, n_a, chunk)]
        self.cache = self._cross(0, n_a) if len(self.chunks) == 1 else None
        self._scratch = ThreadScratch()

    def _cross(self, a0, a1):
        return self.xp.matmul(self.a_blk[:, a0:a1], self.b)  # (n_blk, a1 - a0, n_b)

    def chunk(self, n_orders):
        """How many orders one :meth:`batch` call should take (as :meth:`_PairSeries.chunk`)."""
        per_order = self.per_a * (self.chunks[0][1] - self.chunks[0][0])
        budget = self.bk.chunk_bytes(self.max_bytes)
        return int(max(1, min(n_orders, budget // max(1, per_order))))

    def __call__(self, order=None, host=True):
        out = self.batch(None if order is None else self.xp.asarray(order)[None])[0]
        return self.bk.to_numpy(out) if host else out

    def batch(self, orders):
        """ROI-pair window values of block orders ``(K, n_blocks)`` (``None``: observed)."""
        xp, geo, tmp = self.xp, self.geo, self._scratch
        # blocks first: the window sums run along axis 0, every order at once
        idx = (slice(None), None) if orders is None else orders.T
        n_k = 1 if orders is None else len(orders)
        real = self.pairs.real
        pa = pb = None
        if not FROM_SUMS[self.measure][0]:
            pa = _window_sum(self.pa[idx], geo.w, geo.h, geo.n, xp).astype(real)
            pb = _window_sum(self.pb[idx], geo.w, geo.h, geo.n, xp).astype(real)
        out = xp.zeros((geo.n * n_k, self.pairs.ma.shape[0] * self.pairs.mb.shape[0]))
        for a0, a1 in self.chunks:
            s = self.cache if self.cache is not None else self._cross(a0, a1)
            s = _window_sum(s[idx], geo.w, geo.h, geo.n, xp, tmp.work)  # (n_win, K, a, b)
            pa_ = None if pa is None else pa[..., a0:a1]
            v = _window_values(s, self.measure, geo, pa_, pb, xp, tmp.work)
            del s
            # ROI means of both people's channels (A-major): one product
            out += xp.matmul(v.reshape(geo.n * n_k, -1), self.pairs.roi_matrix(a0, a1).T)
        return out.reshape((geo.n, n_k) + self.pairs.shape[1:]).swapaxes(0, 1)


def _run_null(func, n_draws, size, n_jobs, bk, mesg):
    """``bk.run_chunks``, each output's values of all draws copied to the host at once."""
    return bk.to_numpy_many(*bk.run_chunks(func, n_draws, size, n_jobs, mesg))


def _null_shifts(rng, n_samples, min_shift, n_surrogates):
    """Distinct circular lags in [min_shift, n_samples - min_shift] (decimated samples)."""
    lo, hi = min_shift, n_samples - min_shift  # the callers check that hi >= lo
    n_opts = hi - lo + 1
    if n_opts >= n_surrogates:
        return lo + rng.choice(n_opts, n_surrogates, replace=False)
    return lo + rng.integers(0, n_opts, n_surrogates)
