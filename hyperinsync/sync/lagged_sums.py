"""The engine of the lagged cross-correlation: sums of every window against every position.

For every window of the anchored person, the six sums of the Pearson correlation (pair
count, sums, sums of squares and cross-products, over complete pairs only) against **every**
circular position of the other series are one batch of FFT cross-correlations
(:mod:`scipy.fft` or CuPy); the observed value and all surrogates are then gathered from
those tables, so 1000 surrogates cost little more than one. Without missing data only the
cross-products need an FFT (the other sums are running sums).

The definitions (``'wcc'``, ``'rmea'``, ``'susy'``) and the public entry
(:func:`hyperinsync.sync.lagged.lagged_values`) are in :mod:`hyperinsync.sync.lagged`; which
pairings are surrogates is decided by the statistics (:mod:`hyperinsync.stats.lagged`).
"""

from __future__ import annotations

import numpy as np

from .._docs import fill_doc
from ..backend import get_backend

Z_CLAMP = 10.0  # rMEA's bound on Fisher z
MIN_PAIRS = 3  # fewer complete pairs: the correlation of that lag is missing
# a window whose per-sample variance is below this fraction of the series' variance is
# constant (a flat sensor); FFT round-off never reaches it
_FLAT = 1e-12
_TABLE_BYTES = 64e6
_HOST = get_backend("numpy")


class _Other:
    """The non-anchored series, ready for correlation with anchor windows at many starts.

    Circular (``starts is None``): segments may start at every position of the series,
    wrapping round its end (surrogate shifts). Blocks: one block of ``length`` samples per
    anchor window, from ``starts``, and segments start inside it (observed values only; far
    smaller FFTs).
    """

    def __init__(self, bk, y, win, starts=None, length=None):
        self.bk, self.win = bk, win
        valid = np.isfinite(y)
        y0 = np.where(valid, y, 0.0)
        mb = valid.astype(float)
        self.circular = starts is None
        if self.circular:
            # circular extension: a segment starting near the end wraps to the start
            ext = lambda v: np.concatenate([v, v[: win - 1]])  # noqa: E731
            host = {"mb": ext(mb), "b": ext(y0)}
            self.n_pos = len(y)
            self.complete = bool(valid.all())
        else:
            idx = starts[:, None] + np.arange(length)[None, :]
            host = {"mb": mb[idx], "b": y0[idx]}
            self.n_pos = length - win + 1
            self.complete = bool(host["mb"].all())
        host["bb"] = host["b"] ** 2
        self._host = host
        self.nfft = int(_next_fast_len(host["b"].shape[-1] + win - 1))
        self._spec = {}
        if self.complete:
            # 1 / sqrt(sum of squared deviations) of the other series' segment at every
            # start, by running sums (NaN where the segment is constant)
            sums = {}
            for src in ("b", "bb"):
                v = host[src]
                cs = np.concatenate([np.zeros(v.shape[:-1] + (1,)), np.cumsum(v, axis=-1)], -1)
                sums[src] = cs[..., win : win + self.n_pos] - cs[..., : self.n_pos]
            ss = sums["bb"] - sums["b"] ** 2 / win
            with np.errstate(divide="ignore", invalid="ignore"):
                self._isd = bk.xp.asarray(np.where(ss > _FLAT * win, 1.0 / np.sqrt(ss), np.nan))

    def spectrum(self, key, c0, c1):
        """Return the rfft of the series ``'b'``, its square ``'bb'`` or its mask ``'mb'``."""
        if key not in self._spec:
            bk = self.bk
            self._spec[key] = bk.fft.rfft(
                bk.xp.asarray(self._host[key]), self.nfft, axis=-1, **bk.fft_kwargs()
            )
        spec = self._spec[key]
        return spec[None, :] if self.circular else spec[c0:c1]

    def inv_spread(self, off, c0, c1):
        """1 / sqrt(sum of squared deviations) of the segments at ``off`` (complete series)."""
        if self.circular:
            return self._isd[off]
        return self.bk.xp.take_along_axis(self._isd[c0:c1], off, axis=1)


def _circular_missing(y, start, length):
    """Missing samples of ``y`` in the circular blocks ``[start, start + length)`` (host)."""
    cs = np.concatenate([[0], np.cumsum(~np.isfinite(y))])
    n = len(y)
    start = np.mod(start, n)
    reps, rest = divmod(int(length), n)
    end = start + rest
    wrap = end > n
    inside = cs[np.minimum(end, n)] - cs[start]
    wrapped = cs[n] - cs[start] + cs[np.where(wrap, end - n, 0)]
    return np.where(wrap, wrapped, inside) + reps * cs[n]


def _next_fast_len(n):
    from scipy.fft import next_fast_len

    return next_fast_len(int(n), real=True)


def _anchor_windows(x, starts, win):
    """(C, win) windows of the anchored series, centred over their valid samples."""
    idx = starts[:, None] + np.arange(win)[None, :]
    a = x[idx]
    valid = np.isfinite(a)
    n = valid.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(valid, a, 0.0).sum(axis=1, keepdims=True) / n
    # centring each window makes the cross-product sums small and well conditioned
    a = np.where(valid, a - np.nan_to_num(mean), 0.0)
    return a, valid.astype(float)


def _pearson_z(n, sa, sb, saa, sbb, sab, xp, fisher_z):
    """Fisher z (or r) from the sums over complete pairs; NaN where undefined."""
    nm = max(n, 1.0) if isinstance(n, float) else xp.maximum(n, 1.0)
    vxx = saa - sa * sa / nm
    vyy = sbb - sb * sb / nm
    cov = sab - sa * sb / nm
    ok = (n >= MIN_PAIRS) & (vxx > _FLAT * n) & (vyy > _FLAT * n)
    r = _fisher(cov / xp.sqrt(xp.where(ok, vxx * vyy, 1.0)), xp, fisher_z)
    return xp.where(ok, r, xp.nan)


def _fisher(r, xp, fisher_z):
    """Return r (clipped to [-1, 1] against round-off), or Fisher z clamped to +-10 as rMEA."""
    r = xp.clip(r, -1.0, 1.0)
    if fisher_z:
        with np.errstate(divide="ignore"):  # atanh(+-1) is infinite, then clamped
            r = xp.clip(xp.arctanh(r), -Z_CLAMP, Z_CLAMP)
    return r


def _anchored_z(bk, x, other, starts, offsets, fisher_z, max_bytes=_TABLE_BYTES):
    """Yield z of the anchor windows of ``x`` against ``other``'s segments at ``offsets``.

    ``starts`` (W,): anchor window starts in ``x`` (``other.win`` samples each);
    ``offsets``: (W, M) start positions of the other series' segments (taken circularly),
    or a pair ``(base, lags)`` meaning ``base[w, j] + lags[k]`` flattened over ``(j, k)``
    (built chunk by chunk: the full array can be large). Pearson r over the complete pairs
    of each (window, segment). Yields ``(c0, c1, z)`` per chunk of windows, ``z``
    (c1 - c0, M) on the backend's device.
    """
    xp, fft = bk.xp, bk.fft
    win, n, nfft = other.win, other.n_pos, other.nfft
    kw = bk.fft_kwargs()
    if isinstance(offsets, tuple):
        base, lags = offsets
        n_m = base.shape[1] * len(lags)

        def chunk_offsets(c0, c1):
            return (base[c0:c1, :, None] + lags[None, None, :]).reshape(c1 - c0, n_m)
    else:
        n_m = offsets.shape[1]

        def chunk_offsets(c0, c1):
            return offsets[c0:c1]

    # the tables of one window: up to 6 real rows of nfft, 3 anchor spectra, the gathers
    per_window = 8 * nfft * 9 + 8 * 8 * n_m
    chunk = int(max(1, max_bytes // per_window))
    for c0 in range(0, len(starts), chunk):
        a, ma = _anchor_windows(x, starts[c0 : c0 + chunk], win)
        c1 = c0 + len(a)
        off = chunk_offsets(c0, c1)
        off = xp.asarray(np.mod(off, n) if other.circular else off)
        spec = {}
        anchor = {"a": a, "aa": a * a, "ma": ma}

        def corr(key_a, key_b):
            # sum over the window of anchor(t) * other(u + t), for every start u (called
            # within this chunk only, so the closure's variables are this chunk's)
            if key_a not in spec:
                spec[key_a] = xp.conj(fft.rfft(xp.asarray(anchor[key_a]), nfft, axis=-1, **kw))
            table = fft.irfft(spec[key_a] * other.spectrum(key_b, c0, c1), nfft, axis=-1, **kw)[
                :, :n
            ]
            return xp.take_along_axis(table, off, axis=1)

        if other.complete and ma.all():
            # no missing sample: the anchor windows are centred (their sums are 0), so
            # r = sum(a * b) / sqrt(sum(a^2) * var_b * n); only the cross-products need an
            # FFT and the other series' spread at every start is a running sum
            saa = (a * a).sum(axis=1)
            with np.errstate(divide="ignore"):
                isd_a = np.where(saa > _FLAT * win, 1.0 / np.sqrt(saa), np.nan)
            r = corr("a", "b") * other.inv_spread(off, c0, c1) * xp.asarray(isd_a)[:, None]
            z = _fisher(r, xp, fisher_z)
        else:
            nn = xp.rint(corr("ma", "mb"))
            sa, saa = corr("a", "mb"), corr("aa", "mb")
            sb, sbb = corr("ma", "b"), corr("ma", "bb")
            z = _pearson_z(nn, sa, sb, saa, sbb, corr("a", "b"), xp, fisher_z)
        yield c0, c1, z


def _window_missing(x, starts, length):
    """Missing samples of ``x`` in ``[start, start + length)`` for each start (host ints)."""
    return _circular_missing(x, starts, length)


@fill_doc
class LaggedSums:
    """The observed window x lag values and what the statistics need of every surrogate.

    Made by :func:`hyperinsync.sync.lagged.lagged_values`; surrogate ``j`` is the pairing
    ``j + 1`` given there (pairing 0 is the observed one).

    Parameters
    ----------
    n_windows, n_sur, n_lags : int
        The numbers of windows, surrogates and lags.
    groups : array-like of bool, shape (n_groups, n_windows) | None
        Groups of windows whose signed lag profiles are kept per surrogate (the whole
        recording, each segment); ``None``: one group of all windows.

    Attributes
    ----------
    obs : ndarray, shape (n_windows, n_lags)
        The observed values (Fisher z or r, signed; NaN where missing).
    sum_abs, sum_sgn, count : ndarray, shape (n_sur, n_windows)
        Per surrogate and window: the sums of :math:`|z|` and of :math:`z` over the lags,
        and the number of valid lags (window, segment and session synchrony).
    prof_sgn, prof_cnt : ndarray, shape (n_groups, n_sur, n_lags)
        Per group of windows and surrogate: the signed lag profile summed over the group's
        windows, and its counts (the phase statistic).
    table : ndarray, shape (n_windows, n_windows, n_lags) | None
        ``definition='susy'``: every segment of the first person with every segment of the
        second (SUSY's own effect size needs them all); else ``None``.

    Examples
    --------
    %(example_lagged_series)s
    >>> sums = lagged_values(a, b, geom, np.array([0, 400, 800]))   # observed + 2 shifts
    >>> type(sums).__name__, sums.obs.shape, sums.sum_abs.shape, sums.count.shape
    ('LaggedSums', (18, 81), (2, 18), (2, 18))
    """

    def __init__(self, n_windows, n_sur, n_lags, groups=None):
        self.table = None
        self.obs = np.full((n_windows, n_lags), np.nan)
        self.sum_abs = np.zeros((n_sur, n_windows))
        self.sum_sgn = np.zeros((n_sur, n_windows))
        self.count = np.zeros((n_sur, n_windows))
        self.groups = np.ones((1, n_windows)) if groups is None else np.asarray(groups, float)
        self.prof_sgn = np.zeros((len(self.groups), n_sur, n_lags))
        self.prof_cnt = np.zeros((len(self.groups), n_sur, n_lags))

    def add(self, bk, c0, c1, z):
        """Take the values of windows ``c0:c1``.

        Parameters
        ----------
        bk : Backend
            The backend ``z`` is on.
        c0, c1 : int
            The first window and one past the last.
        z : array, shape (n_chunk, n_pairings, n_lags)
            The values of these ``n_chunk = c1 - c0`` windows on ``bk``'s device, pairing 0
            the observed one and pairing ``j + 1`` surrogate ``j``.
        """
        xp = bk.xp
        self.obs[c0:c1] = bk.to_numpy(z[:, 0])
        n_sur, k = self.sum_abs.shape[0], z.shape[2]
        if n_sur:
            sur = z[:, 1:]
            ok = ~xp.isnan(sur)
            zero = xp.where(ok, sur, 0.0)
            self.sum_abs[:, c0:c1] = bk.to_numpy(xp.abs(zero).sum(axis=2)).T
            self.sum_sgn[:, c0:c1] = bk.to_numpy(zero.sum(axis=2)).T
            self.count[:, c0:c1] = bk.to_numpy(ok.sum(axis=2)).T
            g = xp.asarray(self.groups[:, c0:c1])
            shape = (len(self.groups), n_sur, k)
            self.prof_sgn += bk.to_numpy(g @ zero.reshape(c1 - c0, -1)).reshape(shape)
            self.prof_cnt += bk.to_numpy(g @ ok.reshape(c1 - c0, -1).astype(float)).reshape(shape)


def _mask_pairs(z, bad):
    """Set every lag of the (window, pairing) entries flagged in ``bad`` (c, J) to NaN."""
    if bad.any():
        z[bad] = np.nan
    return z


def _run_wcc(bk, a, b, geom, base, fisher_z, max_missing, groups=None):
    """'wcc': A's windows fixed; B's segment at ``base[w, j] + lag`` (circular)."""
    xp = bk.xp
    win, L, K = geom.win, geom.L, len(geom.lags)
    n_w, n_j = base.shape
    if n_j == 1:  # observed only: B's block around each window
        other = _Other(bk, b, win, starts=geom.starts - L, length=win + 2 * L)
        offsets = np.broadcast_to(geom.lags + L, (n_w, K))
    else:
        other = _Other(bk, b, win)
        offsets = (base, geom.lags)
    red = LaggedSums(n_w, n_j - 1, K, groups)
    miss_a = _window_missing(a, geom.starts, win) > max_missing * win
    miss_b = _circular_missing(b, base - L, win + 2 * L) > max_missing * (win + 2 * L)
    for c0, c1, z in _anchored_z(bk, a, other, geom.starts, offsets, fisher_z):
        z = z.reshape(c1 - c0, n_j, K)
        bad = xp.asarray(miss_a[c0:c1, None] | miss_b[c0:c1])
        z = xp.where(bad[:, :, None], xp.nan, z)
        red.add(bk, c0, c1, z)
    return red


def _run_rmea(bk, a, b, geom, pairing, fisher_z, max_missing, groups=None):
    """'rmea': the leader's segment at the start of each block; ``pairing`` (J, W)."""
    win, L, st = geom.win, geom.L, geom.starts
    n_j, n_w = pairing.shape
    K = 2 * L + 1
    z = np.full((n_w, n_j, K), np.nan)
    pos = np.arange(0, L + 1)
    local = n_j == 1  # observed only: each window's own block
    # lags 0..L: A's window w with B's window pairing[j, w] moved on by the lag
    if local:
        other_b = _Other(bk, b, win, starts=st, length=win + L)
        off = np.broadcast_to(pos, (n_w, L + 1))
    else:
        other_b = _Other(bk, b, win)
        off = (st[pairing.T], pos)
    for c0, c1, zz in _anchored_z(bk, a, other_b, st, off, fisher_z):
        z[c0:c1, :, L:] = bk.to_numpy(zz).reshape(c1 - c0, n_j, L + 1)
    if L:
        # lags -L..-1: B's window v with A's window w = inverse(pairing)[j, v] moved on by |lag|
        inv = np.argsort(pairing, axis=1)  # (J, W): A window of B window v
        neg = np.arange(L, 0, -1)
        if local:
            other_a = _Other(bk, a, win, starts=st, length=win + L)
            off = np.broadcast_to(neg, (n_w, L))
        else:
            other_a = _Other(bk, a, win)
            off = (st[inv.T], neg)
        zneg = np.empty((n_w, n_j, L))
        for c0, c1, zz in _anchored_z(bk, b, other_a, st, off, fisher_z):
            zneg[c0:c1] = bk.to_numpy(zz).reshape(c1 - c0, n_j, L)
        # back to A's window order: pairing j puts B's window pairing[j, w] with A's w
        z[:, :, :L] = zneg[pairing.T, np.arange(n_j)[None, :]]
    span = win + L
    miss_a = _window_missing(a, st, span) > max_missing * span
    miss_b = _window_missing(b, st, span)[pairing.T] > max_missing * span
    z = _mask_pairs(z, miss_a[:, None] | miss_b)
    red = LaggedSums(n_w, n_j - 1, K, groups)
    red.add(_HOST, 0, n_w, z)
    return red


def _susy_table(bk, a, b, geom, fisher_z):
    """SUSY's ccf of every A segment with every B segment: (W, W, K), our lag sign."""
    xp = bk.xp
    n, L = geom.win, geom.L
    idx = geom.starts[:, None] + np.arange(n)[None, :]

    def standardise(x):
        seg = x[idx]
        ok = np.isfinite(seg).all(axis=1)
        seg = np.where(ok[:, None], seg, 0.0)
        sd = seg.std(axis=1)  # population SD, as R's acf normalises
        ok &= sd > np.sqrt(_FLAT)
        seg = (seg - seg.mean(axis=1, keepdims=True)) / np.where(ok, sd, 1.0)[:, None]
        return xp.asarray(np.where(ok[:, None], seg, 0.0)), ok

    xa, ok_a = standardise(a)
    yb, ok_b = standardise(b)
    n_w = len(geom.starts)
    table = np.empty((n_w, n_w, 2 * L + 1))
    for k, lag in enumerate(geom.lags):
        # r(lag) = sum_t x(t) y(t + lag) / n over the overlapping samples
        lo, hi = max(0, -lag), min(n, n - lag)
        table[:, :, k] = bk.to_numpy(xa[:, lo:hi] @ yb[:, lo + lag : hi + lag].T) / n
    table = _fisher(table, np, fisher_z)
    table[~ok_a] = np.nan
    table[:, ~ok_b] = np.nan
    return table


def _run_susy(bk, a, b, geom, pairing, fisher_z, groups=None):
    table = _susy_table(bk, a, b, geom, fisher_z)
    n_j, n_w = pairing.shape
    z = table[np.arange(n_w)[:, None], pairing.T]  # (W, J, K)
    red = LaggedSums(n_w, n_j - 1, z.shape[2], groups)
    red.add(_HOST, 0, n_w, z)
    red.table = table
    return red
