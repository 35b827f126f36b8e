"""Effect sizes and their confidence intervals: Cohen's d, partial eta squared, Pearson r."""

from __future__ import annotations

import numpy as np
from scipy import stats as _sps

from .._utils import _validate_type


def _pooled_sd(a, b):
    na, nb = a.shape[0], b.shape[0]
    var = ((na - 1) * a.var(axis=0, ddof=1) + (nb - 1) * b.var(axis=0, ddof=1)) / (na + nb - 2)
    return np.sqrt(var)


def _cohens_d(a, b):
    r"""Cohen's d with the pooled SD, :math:`(\bar a - \bar b) / s_p`."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return (a.mean(axis=0) - b.mean(axis=0)) / _pooled_sd(a, b)


def _check_ci(ci):
    _validate_type(ci, "numeric", "ci")
    if not 0 < ci < 1:
        raise ValueError(f"ci must lie in (0, 1), e.g. 0.95 for 95 % intervals; got {ci}.")
    return float(ci)


def _root_decreasing(func, target, start):
    """``x`` with ``func(x) == target`` elementwise, ``func`` decreasing in ``x``.

    Vectorised bisection: bracket around ``start`` (widened until it holds), then halve
    to a width of 1e-10 relative; ``func`` takes and returns arrays of ``start``'s shape.
    """
    start = np.asarray(start, float)
    step = 2.0 + np.abs(start)
    lo, hi = start - step, start + step
    for _ in range(200):
        low_bad, high_bad = func(lo) < target, func(hi) > target
        if not (low_bad.any() or high_bad.any()):
            break
        lo = np.where(low_bad, lo - step, lo)
        hi = np.where(high_bad, hi + step, hi)
        step = step * 2
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        above = func(mid) > target
        lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
        if np.all(hi - lo <= 1e-10 * np.maximum(1.0, np.abs(mid))):
            break
    return 0.5 * (lo + hi)


def cohens_d_ci(d, n_a, n_b, ci=0.95):
    r"""Confidence interval of Cohen's d (pooled SD) by inverting the noncentral t.

    With :math:`t = d\,\sqrt{n_a n_b / (n_a + n_b)}` and :math:`\nu = n_a + n_b - 2`, the
    limits are the noncentrality parameters :math:`\delta` for which
    :math:`t` is the :math:`1 - \alpha/2` and :math:`\alpha/2` quantile of a noncentral
    :math:`t(\nu, \delta)`, rescaled to d (Steiger & Fouladi, 1997; exact for normal data
    with equal variances).

    Parameters
    ----------
    d : float | array
        Cohen's d values.
    n_a, n_b : int
        Group sizes.
    ci : float
        Confidence level.

    Returns
    -------
    ci : array, shape (..., 2)
        Lower and upper limits (NaN where ``d`` is NaN).

    Examples
    --------
    >>> hs.stats.cohens_d_ci(0.8, 20, 20).round(2)    # d = 0.8 with 20 + 20 dyads
    array([0.15, 1.44])
    """
    ci = _check_ci(ci)
    d = np.asarray(d, float)
    scale = np.sqrt(n_a * n_b / (n_a + n_b))
    df = n_a + n_b - 2
    half = (1.0 - ci) / 2.0
    out = np.full(d.shape + (2,), np.nan)
    ok = np.isfinite(d)
    t = d[ok] * scale

    def cdf(nc):
        return _sps.nct.cdf(t, df, nc)

    out[ok] = (
        np.stack([_root_decreasing(cdf, 1.0 - half, t), _root_decreasing(cdf, half, t)], axis=-1)
        / scale
    )
    return out


def eta_sq_partial_ci(F, df1, df2, ci=0.95):
    r"""Confidence interval of partial eta squared by inverting the noncentral F.

    The limits of the noncentrality :math:`\lambda` are those for which the observed
    :math:`F` is the :math:`1 - \alpha/2` and :math:`\alpha/2` quantile of a noncentral
    :math:`F(df_1, df_2, \lambda)` (0 when even :math:`\lambda = 0` puts :math:`F` below
    it), converted as :math:`\eta_p^2 = \lambda / (\lambda + df_1 + df_2 + 1)` (Steiger,
    2004; Smithson, 2003).

    Parameters
    ----------
    F : float | array
        Observed F statistics.
    df1, df2 : float | array
        Numerator and denominator degrees of freedom (broadcast with ``F``).
    ci : float
        Confidence level.

    Returns
    -------
    ci : array, shape (..., 2)
        Lower and upper limits in [0, 1) (NaN where ``F`` is NaN).

    Examples
    --------
    >>> hs.stats.eta_sq_partial_ci(6.0, 1, 38).round(3)    # F(1, 38) = 6.0
    array([0.003, 0.333])
    """
    ci = _check_ci(ci)
    F, df1, df2 = np.broadcast_arrays(*(np.asarray(v, float) for v in (F, df1, df2)))
    half = (1.0 - ci) / 2.0
    out = np.full(F.shape + (2,), np.nan)
    ok = np.isfinite(F)
    fv, d1, d2 = F[ok], df1[ok], df2[ok]

    def cdf(lam):
        lam = np.maximum(lam, 0.0)
        with np.errstate(all="ignore"):
            return np.where(lam == 0, _sps.f.cdf(fv, d1, d2), _sps.ncf.cdf(fv, d1, d2, lam))

    lims = []
    for target in (1.0 - half, half):
        # lambda = 0 when even no effect puts F below the quantile; else the root
        lam = np.where(
            cdf(np.zeros_like(fv)) <= target,
            0.0,
            np.maximum(_root_decreasing(cdf, target, fv * d1), 0.0),
        )
        lims.append(lam / (lam + d1 + d2 + 1.0))
    out[ok] = np.stack(lims, axis=-1)
    return out


def _r_ci(r, n, method, ci):
    """Fisher-z interval of a correlation (Fieller et al. 1957 variance for Spearman)."""
    if n <= 3:
        return np.array([-1.0, 1.0])
    se = np.sqrt((1.06 if method == "spearman" else 1.0) / (n - 3))
    zc = _sps.norm.ppf(0.5 + ci / 2.0)
    z = np.arctanh(np.clip(r, -1 + 1e-15, 1 - 1e-15))
    return np.tanh([z - zc * se, z + zc * se])
