r"""Circular shifts of band signals, batched: the cross sums of every shift.

A circular-shift surrogate pairs :math:`a(t)` with :math:`b((t - s) \bmod N)`. The measures
that are functions of sums (``FROM_SUMS`` in :mod:`~hyperinsync.sync.measures`) need, per
window :math:`W` and shift :math:`s`, the cross sums
:math:`S_{ij}(W, s) = \sum_{t \in W} a_i(t)\,\bar b_j(t - s)` and the powers of the shifted
signal over the window. :class:`CircularShifts` holds :math:`b` twice in a row and
time-major (the samples are the rows), so that every shifted block is a contiguous matrix:
:meth:`CircularShifts.products` multiplies blocks of A with the same blocks of each shifted
signal, read in place, one batched matrix product per shift and no copy (the In-Sync window
engine and ``surrogate_test``'s circular-shift null). :meth:`CircularShifts.window_power`
takes each window's power from one cumulative sum of :math:`|b|^2` (the power of a window of
the shifted signal depends on the shift only through where the window falls).

Why products and not FFTs: a cross-correlation by FFT gives the sum over *all* samples for
*every* one of the :math:`N` shifts in :math:`O(N \log N)` per pair, but the nulls need the
sum over each *window* (epoch, sliding window) for a few hundred shifts. By FFT every window
needs its own correlation of A's window with all of B, :math:`O(N \log N)` per window and
pair, so :math:`O(n_W N \log N)` for :math:`n_W` windows, against :math:`O(K N)`
multiply-adds for :math:`K` shifts by products. With :math:`5 N \log_2 N` flops per
transform, 8 per complex multiply-add, and FFT flops about ten times dearer than matrix
product flops on a CPU (``benchmarks/RESULTS.md``: 13 against 100-190 GFLOP/s), the FFT is
less work only when :math:`n_W \log_2 N < K / 6`: never for Level 2's 60 epochs of a 2-min
segment (:math:`60 \times 14` against 200 / 6), let alone Level 1's hundreds of windows. The
products are also those of the per-shift computation, so the values are the same to
rounding (an FFT would round differently, and worse in single precision).
"""

from __future__ import annotations


class CircularShifts:
    r"""A signal held twice in a row on the backend, for batched circular shifts.

    Parameters
    ----------
    z : array, shape (..., n_signals, n_samples)
        The signals (e.g. person B's band signals; leading axes, such as frequencies, are
        kept). Shifts are circular over the last axis.
    xp : module
        The array namespace of ``z`` (:attr:`hyperinsync.backend.Backend.xp`).
    conj : bool
        Hold the complex conjugate (:meth:`products` then gives :math:`\\sum a \\bar b`
        from a plain product with :math:`a`).
    power : bool
        Also hold the cumulative power (float64) that :meth:`window_power` reads.

    Notes
    -----
    The lag convention is :func:`numpy.roll`'s: shift ``s`` puts sample ``(t - s) mod N``
    at ``t``. Memory: twice the signal, plus (``power=True``) its cumulative power in
    float64 (computed once, so that threads can share the object).
    """

    def __init__(self, z, xp, *, conj=False, power=False):
        self.xp = xp
        self.n = z.shape[-1]
        z = z.conj() if conj else z
        z2 = xp.concatenate([z, z], axis=-1)  # (..., n_sig, 2N)
        # (..., 2N, n_sig): every shifted block a contiguous matrix
        self.zt = xp.ascontiguousarray(xp.swapaxes(z2, -1, -2))
        self._cum = None
        if power:
            cum = xp.zeros(z2.shape[:-1] + (z2.shape[-1] + 1,), xp.float64)
            xp.cumsum(abs(z2) ** 2, axis=-1, dtype=xp.float64, out=cum[..., 1:])
            self._cum = cum

    @property
    def n_signals(self):
        return self.zt.shape[-1]

    def products(self, left, lags, n_blocks, block, out=None):
        r"""Multiply blocks of ``left`` with the same blocks of each shifted signal.

        One batched product per lag, with the shifted blocks read in place: no copies of
        the signals.

        Parameters
        ----------
        left : array, shape (..., n_blocks, m, block)
            The left factors, e.g. person A's conjugated signals in blocks.
        lags : sequence of int
            Shifts in samples (host integers).
        n_blocks, block : int
            Blocks of ``block`` samples from sample 0 (``n_blocks * block <= n_samples``).
        out : array | None
            A C-contiguous buffer of ``K * prod(...) * n_blocks * m * n_signals``
            elements and the signal's dtype to fill (reused across chunks); ``None``: a
            new one.

        Returns
        -------
        products : array, shape (K, ..., n_blocks, m, n_signals)
            Entry ``[k, ..., b, i, j]`` is
            :math:`\sum_u \mathrm{left}[..., b, i, u]\, z_j(b \cdot block + u - lags[k])`
            (indices mod ``n_samples``).
        """
        xp, lead = self.xp, self.zt.shape[:-2]
        n_sig, span = self.n_signals, n_blocks * block
        shape = (len(lags),) + lead + (n_blocks, left.shape[-2], n_sig)
        out = xp.empty(shape, self.zt.dtype) if out is None else out.reshape(shape)
        for k, lag in enumerate(lags):
            s = self.n - int(lag) % self.n
            right = self.zt[..., s : s + span, :].reshape(lead + (n_blocks, block, n_sig))
            xp.matmul(left, right, out=out[k])
        return out

    def window_power(self, lags, starts, length):
        """Sum :math:`|z|^2` of the shifted signals over windows (float64).

        Parameters
        ----------
        lags : array of int, shape (K,)
            Shifts in samples, an array on the backend's device.
        starts : array of int, shape (n_windows,)
            First sample of each window, on the device.
        length : int
            Samples per window.

        Returns
        -------
        power : array, shape (..., n_windows, K * n_signals)
            Lag-major along the last axis: entry ``k * n_signals + j`` is signal ``j``
            under lag ``k``.
        """
        if self._cum is None:
            raise RuntimeError("CircularShifts(..., power=True) holds the window powers.")
        lo = (self.n - lags % self.n)[None, :] + starts[:, None]  # (n_windows, K)
        power = self._cum[..., lo + length] - self._cum[..., lo]  # (..., n_sig, n_win, K)
        power = self.xp.moveaxis(power, -3, -1)  # (..., n_windows, K, n_signals)
        return power.reshape(power.shape[:-2] + (-1,))
