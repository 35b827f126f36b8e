r"""Statistics for synchrony against chance: p-values, z, FDR, max-stat, group tests.

All surrogate p-values use the unbiased estimator of Phipson & Smyth (2010),

.. math:: p = \frac{b + 1}{N + 1},

with :math:`N` surrogates (or permutations) and :math:`b` the number of them at least as
extreme as the observed value. It never returns 0 and is exactly uniform (on its grid) when
the observed value is exchangeable with the surrogates.

The arrays here are small (statistics, not signals), so the module is NumPy only; pass
host arrays (``Backend.to_numpy``).
"""

from __future__ import annotations

import re
from itertools import combinations

import numpy as np
from scipy import stats as _sps

from ._docs import fill_doc
from ._utils import _check_option, _validate_type, check_seed

TAILS = ("greater", "less", "two-sided")

# Permutations are evaluated in blocks of this many, so the label matrices stay small
# (block x n_observations floats) however many permutations are asked for.
_PERM_BLOCK = 1000


def _null_first(observed, null, axis):
    """Return ``observed`` and ``null`` with the surrogate axis first, shapes checked."""
    null = np.asarray(null, dtype=float)
    observed = np.asarray(observed, dtype=float)
    if null.ndim == 0:
        raise ValueError("null must have a surrogate axis; got a scalar.")
    null = np.moveaxis(null, axis, 0)
    if null.shape[0] < 1:
        raise ValueError("null holds no surrogates (its surrogate axis has length 0).")
    try:
        np.broadcast_shapes(observed.shape, null.shape[1:])
    except ValueError:
        raise ValueError(
            f"observed of shape {observed.shape} does not match null of shape "
            f"{null.shape[1:]} once its surrogate axis ({axis}) is removed."
        ) from None
    return observed, null


def p_value(observed, null, tail="greater", axis=0):
    r"""Surrogate (Monte Carlo) p-value of an observed statistic.

    .. math:: p = \frac{b + 1}{N + 1}

    where :math:`N` is the number of surrogates and :math:`b` counts surrogates with
    :math:`s \ge s_{obs}` (``tail='greater'``) or :math:`s \le s_{obs}` (``'less'``). For
    ``'two-sided'``, :math:`p = \min(1, 2 \min(p_{greater}, p_{less}))`, which does not assume
    a null centred on 0 (synchrony nulls such as PLV are not). NaN surrogates are ignored
    (:math:`N` counts only finite ones); a NaN observed value gives NaN.

    Parameters
    ----------
    observed : float | array
        Observed statistic; broadcastable to ``null`` without its surrogate axis.
    null : array
        Surrogate statistics, ``N`` of them along ``axis``.
    tail : 'greater' | 'less' | 'two-sided'
        Alternative hypothesis. Synchrony above chance is ``'greater'`` (default).
    axis : int
        Axis of ``null`` holding the surrogates.

    Returns
    -------
    p : float | array
        p-values, shape of ``observed`` broadcast with ``null`` minus ``axis``.
    """
    _check_option("tail", tail, TAILS)
    observed, null = _null_first(observed, null, axis)
    n = np.sum(np.isfinite(null), axis=0)
    with np.errstate(invalid="ignore"):
        ge = np.sum(null >= observed, axis=0)
        le = np.sum(null <= observed, axis=0)
    if tail == "greater":
        p = (ge + 1.0) / (n + 1.0)
    elif tail == "less":
        p = (le + 1.0) / (n + 1.0)
    else:
        p = np.minimum(1.0, 2.0 * np.minimum(ge + 1.0, le + 1.0) / (n + 1.0))
    p = np.where(np.isnan(observed), np.nan, p)
    return p[()] if p.ndim == 0 else p


def zscore(observed, null, axis=0):
    r"""Standardise an observed statistic against its surrogate distribution.

    .. math:: z = \frac{s_{obs} - \bar s_{null}}{SD(s_{null})}

    with the sample standard deviation (``ddof=1``). This is also the effect size we report
    for surrogate tests: it is the surrogate-synchrony effect size (SUSY, Tschacher & Meier
    2020: mean real synchrony minus mean pseudo synchrony, divided by the pseudo SD). It is
    ``NaN`` where the null has zero spread and the observed value equals its mean, and
    ``+/-inf`` where it has zero spread otherwise; NaN surrogates are ignored.

    Parameters
    ----------
    observed : float | array
        Observed statistic; broadcastable to ``null`` without its surrogate axis.
    null : array
        Surrogate statistics along ``axis`` (at least 2 finite ones for an SD).
    axis : int
        Axis of ``null`` holding the surrogates.

    Returns
    -------
    z : float | array
    """
    observed, null = _null_first(observed, null, axis)
    if null.shape[0] < 2:
        raise ValueError(
            "zscore needs at least 2 surrogates to estimate the null SD; got 1."
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nanmean(null, axis=0)
        sd = np.nanstd(null, axis=0, ddof=1)
        z = (observed - mean) / sd
    return z[()] if np.ndim(z) == 0 else z


def fdr_bh(pvals, alpha=0.05):
    r"""Benjamini-Hochberg false discovery rate over all entries.

    With the :math:`m` finite p-values sorted, :math:`p_{(1)} \le \dots \le p_{(m)}`, the
    adjusted values are :math:`\tilde p_{(i)} = \min_{j \ge i} \min(1, m\,p_{(j)} / j)`, and
    an entry is rejected when :math:`\tilde p \le \alpha`. This controls the FDR at
    :math:`\alpha` for independent or positively dependent tests. NaN entries are left out of
    :math:`m`, stay NaN and are never rejected.

    Parameters
    ----------
    pvals : array-like, any shape
        p-values in [0, 1].
    alpha : float
        FDR level in (0, 1).

    Returns
    -------
    reject : array of bool
        Same shape as ``pvals``.
    p_adjusted : array of float
        Same shape as ``pvals``.
    """
    p = np.asarray(pvals, dtype=float)
    _check_alpha(alpha)
    finite = ~np.isnan(p)
    if np.any((p[finite] < 0) | (p[finite] > 1)):
        raise ValueError("pvals must lie in [0, 1] (NaN allowed for untested entries).")
    flat = p[finite]
    m = flat.size
    adj = np.full(p.shape, np.nan)
    if m:
        order = np.argsort(flat, kind="stable")
        scaled = flat[order] * m / np.arange(1, m + 1)
        # step-up: running minimum from the largest p downwards
        scaled = np.minimum.accumulate(scaled[::-1])[::-1]
        out = np.empty(m)
        out[order] = np.minimum(scaled, 1.0)
        adj[finite] = out
    reject = np.zeros(p.shape, dtype=bool)
    reject[finite] = adj[finite] <= alpha
    return reject, adj


STANDARDIZE = ("z", "p", None)


def _tail_oriented(x, tail):
    """Values oriented so that larger means more extreme under ``tail``."""
    if tail == "greater":
        return x
    if tail == "less":
        return -x
    return np.abs(x)


def _family_sets(observed, family):
    """Observed values as ``(n_sets, *family)``, and a function that undoes it.

    ``family`` is the null's shape without its surrogate axis. Axes of ``observed`` that the
    family lacks (leading axes), or where the family has size 1 and ``observed`` more (e.g.
    windows compared with one series' null), hold separate observations: each is one family
    compared with the same null.
    """
    try:
        shape = np.broadcast_shapes(observed.shape, family)
    except ValueError:
        raise ValueError(
            f"observed of shape {observed.shape} does not match the family shape {family} "
            "of null (its shape without the surrogate axis)."
        ) from None
    n_extra = len(shape) - len(family)
    lead = list(range(n_extra)) + [
        n_extra + i for i, f in enumerate(family) if f == 1 and shape[n_extra + i] > 1
    ]
    moved = np.moveaxis(np.broadcast_to(observed, shape), lead, list(range(len(lead))))
    moved_shape = moved.shape

    def restore(x):
        """(..., n_sets, *family) back to (..., *shape)."""
        pre = x.shape[: x.ndim - 1 - len(family)]
        k = len(pre)
        y = x.reshape(pre + moved_shape)
        return np.moveaxis(y, [k + i for i in range(len(lead))], [k + a for a in lead])

    return moved.reshape((-1,) + tuple(family)), restore


def _standardize_sets(sets, null, tail, method):
    """Standardise families ``sets`` (S, *F) against ``null`` (N, *F); see standardize.

    Returns ``(S, *F)`` and ``(N, S, *F)`` (for ``method=None`` the null does not depend on
    the set and comes back as ``(N, 1, *F)``).
    """
    if method is None:
        return _tail_oriented(sets, tail), _tail_oriented(null, tail)[:, None]
    if method == "z":
        # pooled mean and SD of each test's N + 1 values, about the null mean for accuracy
        with np.errstate(invalid="ignore", divide="ignore"):
            centre = np.nanmean(null, axis=0)
        centre = np.where(np.isfinite(centre), centre, 0.0)
        dn, do = null - centre, sets - centre
        n = np.isfinite(dn).sum(axis=0) + np.isfinite(do)
        s1 = np.nansum(dn, axis=0) + np.nan_to_num(do)
        s2 = np.nansum(dn**2, axis=0) + np.nan_to_num(do) ** 2
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = s1 / n
            sd = np.sqrt(np.maximum(s2 - n * mean**2, 0.0) / (n - 1))
            z_obs = (do - mean) / sd
            z_null = (dn[:, None] - mean) / sd
        # a test whose pooled values are all equal can never be extreme
        z_obs = np.where(sd > 0, z_obs, np.where(np.isnan(do), np.nan, 0.0))
        z_null = np.where(sd > 0, z_null, np.where(np.isnan(dn[:, None]), np.nan, 0.0))
        return _tail_oriented(z_obs, tail), _tail_oriented(z_null, tail)
    # 'p': each value's p-value among its test's pooled values, negated (small p = large)
    obs_s, null_s = np.empty(sets.shape), np.empty((null.shape[0],) + sets.shape)
    for i, o in enumerate(sets):
        pool = np.concatenate([o[None], null])  # the observed value is one more member
        finite = np.isfinite(pool)
        n = finite.sum(axis=0)
        counts = []
        for side in (("greater",) if tail == "greater" else ("less",) if tail == "less"
                     else ("greater", "less")):
            x = pool if side == "greater" else -pool
            # pooled values >= each value: n minus the values strictly below it (NaN, ranked
            # lowest as -inf, are not counted)
            below = _sps.rankdata(np.where(finite, x, -np.inf), method="min", axis=0) - 1
            counts.append(n - (below - (~finite).sum(axis=0)))
        with np.errstate(invalid="ignore", divide="ignore"):
            if len(counts) == 1:
                pv = counts[0] / n
            else:
                pv = np.minimum(1.0, 2.0 * np.minimum(counts[0], counts[1]) / n)
        pv = np.where(finite, -pv, np.nan)
        obs_s[i], null_s[:, i] = pv[0], pv[1:]
    return obs_s, null_s


# bound on the standardised copies of the null held at once (values), for many families
_STD_BLOCK = 4_000_000


def standardize(observed, null, axis=0, tail="greater", method="z"):
    r"""Put every test of a family on the scale of its own null, for a max-statistic.

    Chance levels differ between tests (chance PLV depends on each pair's spectra), so the
    maximum of *raw* values over a family is dominated by the tests with the highest chance
    level. Standardised, every test contributes equally. For each test the observed value is
    pooled with its :math:`N` surrogates (it is one more member of its null, as in
    :func:`p_value`), and every pooled value :math:`x` becomes

    - ``method='z'``: :math:`z = (x - m) / s` with :math:`m`, :math:`s` the mean and SD
      (``ddof=1``) of the :math:`N + 1` pooled values; :math:`z` for ``tail='greater'``,
      :math:`-z` for ``'less'``, :math:`|z|` for ``'two-sided'`` (max-z / max-|z|).
    - ``method='p'``: :math:`-p` with :math:`p` the value's p-value among the pooled values
      (:math:`\#\{\text{pooled} \ge x\} / (N + 1)` for ``'greater'``, :math:`\le` for
      ``'less'``, twice the smaller for ``'two-sided'``): the single-step min-p of Westfall &
      Young (1993). Exact for any null shape, but discrete: with few surrogates and many tests
      it cannot reach small corrected p-values.
    - ``method=None``: raw values oriented by ``tail`` (:math:`x`, :math:`-x`, :math:`|x|`).

    Because the transformation is a symmetric function of the pooled values, the observed
    value and the surrogates stay exchangeable, so the max-statistic p-values of
    :func:`maxstat_p` remain exact. A test whose pooled values are all equal gets 0 (never
    extreme); NaN stays NaN.

    Parameters
    ----------
    observed : array
        Observed statistics: the family's shape (``null`` without ``axis``), or that shape
        with leading axes, each leading index one family compared with the same null (e.g.
        one per real dyad).
    null : array
        Surrogate statistics, ``N`` along ``axis``.
    axis : int
        Axis of ``null`` holding the surrogates.
    tail : 'greater' | 'less' | 'two-sided'
        Which values are extreme.
    method : 'z' | 'p' | None
        Standardisation (see above).

    Returns
    -------
    observed_std : ndarray
        Shape of ``observed`` (broadcast to the family); larger is more extreme.
    null_std : ndarray, shape (N, *observed_std.shape)
        The standardised surrogates, surrogate axis first (one copy per leading index, since
        each family is pooled with its own observed values).
    """
    _check_option("tail", tail, TAILS)
    _check_option("method", method, STANDARDIZE)
    observed, null = _null_first(observed, null, axis)
    sets, restore = _family_sets(observed, null.shape[1:])
    obs_s, null_s = _standardize_sets(sets, null, tail, method)
    null_s = np.broadcast_to(null_s, (null.shape[0],) + sets.shape)
    return restore(obs_s), restore(np.array(null_s))


def maxstat_p(observed, null, axis=0, tail="greater", standardize="z"):
    r"""Family-wise corrected p-values from the maximum statistic (Nichols & Holmes, 2002).

    Every test of the family (all entries of ``null`` but the surrogate axis: e.g. all
    measures, bands and ROI pairs of a result) is first standardised against its own null
    (:func:`standardize`; by default max-z: each test's values as z-scores of the test's
    pooled observed and surrogate values, so tests with a higher or wider chance level do not
    dominate the maximum). For each surrogate :math:`k` take the maximum over the family,
    :math:`M_k = \max_j t_{k,j}`; then for every test

    .. math:: p_j = \frac{1 + \#\{k : M_k \ge t_{obs,j}\}}{N + 1}.

    Rejecting :math:`p_j \le \alpha` keeps the family-wise error rate at :math:`\alpha` in
    the strong sense, whatever the dependence between the tests (exactly when observed and
    surrogates are exchangeable). For ``standardize='z'`` this is the max-t procedure of
    :func:`mne.stats.permutation_t_test` applied to surrogates (it gives the same p-values
    on the same sign-flip null, see the tests); ``'p'`` is Westfall & Young's single-step
    min-p; ``None`` uses the raw values and is only valid for tests whose nulls are
    identical (e.g. windows of one series).

    To combine families whose null distributions are summarised rather than kept (e.g.
    Level 1 series: per-series surrogate maxima, mean and SD), standardise them yourself and
    pass ``standardize=None``: observed ``(obs - m) / s`` with leading axes for the windows,
    and per surrogate the standardised series maxima ``(max_k - m) / s``.

    NaN entries are ignored in the maxima and give NaN.

    Parameters
    ----------
    observed : array
        Observed statistics of the family, shape of ``null`` without ``axis``; leading axes
        are allowed: each leading index is one family compared with the same null (e.g. real
        dyads against one pseudo-dyad null), standardised and corrected on its own.
    null : array
        Surrogate statistics, ``N`` along ``axis``.
    axis : int
        Axis of ``null`` holding the surrogates.
    tail : 'greater' | 'less' | 'two-sided'
        Alternative hypothesis of every test.
    standardize : 'z' | 'p' | None
        Standardisation of each test against its own null before the maximum (see
        :func:`standardize`).

    Returns
    -------
    p : array
        Corrected p-values, shape of ``observed`` (broadcast to the family).
    """
    _check_option("tail", tail, TAILS)
    _check_option("standardize", standardize, STANDARDIZE)
    observed, null = _null_first(observed, null, axis)
    n_surr = null.shape[0]
    if null[0].size == 0:
        raise ValueError("null holds no statistics besides its surrogate axis.")
    sets, restore = _family_sets(observed, null.shape[1:])
    out = np.empty(sets.shape)
    step = max(1, _STD_BLOCK // max(1, null.size))
    for s0 in range(0, len(sets), step):
        obs_s, null_s = _standardize_sets(sets[s0 : s0 + step], null, tail, standardize)
        flat = null_s.reshape(n_surr, null_s.shape[1], -1)
        maxima = np.max(np.where(np.isnan(flat), -np.inf, flat), axis=2)  # (N, sets)
        obs_flat = obs_s.reshape(obs_s.shape[0], -1)
        ge = (maxima[:, :, None] >= obs_flat[None]).sum(axis=0)
        p = (1.0 + ge) / (n_surr + 1.0)
        out[s0 : s0 + step] = np.where(np.isnan(obs_flat), np.nan, p).reshape(obs_s.shape)
    out = restore(out)
    return out[()] if out.ndim == 0 else out


def _check_alpha(alpha):
    _validate_type(alpha, "numeric", "alpha")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}.")
    return float(alpha)


def _check_n_permutations(n_permutations):
    _validate_type(n_permutations, "int", "n_permutations")
    if n_permutations < 1:
        raise ValueError(
            f"n_permutations must be at least 1, got {n_permutations}; use e.g. 5000."
        )
    return int(n_permutations)


def _as_samples(x, name, min_n=2):
    x = np.asarray(x, dtype=float)
    if x.ndim == 0:
        raise ValueError(f"{name} must be an array with observations on axis 0, got a scalar.")
    if x.shape[0] < min_n:
        raise ValueError(f"{name} needs at least {min_n} observations, got {x.shape[0]}.")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains NaN or infinite values; remove them first.")
    return x


def _perm_blocks(rng, n_obs, n_permutations):
    """Yield blocks of random permutations of ``range(n_obs)``, shape (block, n_obs)."""
    done = 0
    while done < n_permutations:
        k = min(_PERM_BLOCK, n_permutations - done)
        yield rng.permuted(np.tile(np.arange(n_obs), (k, 1)), axis=1)
        done += k


def _pooled_sd(a, b):
    na, nb = a.shape[0], b.shape[0]
    var = ((na - 1) * a.var(axis=0, ddof=1) + (nb - 1) * b.var(axis=0, ddof=1)) / (
        na + nb - 2
    )
    return np.sqrt(var)


def _cohens_d(a, b):
    r"""Cohen's d with the pooled SD, :math:`(\bar a - \bar b) / s_p`."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return (a.mean(axis=0) - b.mean(axis=0)) / _pooled_sd(a, b)


def _scalar(x):
    x = np.asarray(x)
    return x[()] if x.ndim == 0 else x


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

    out[ok] = np.stack([_root_decreasing(cdf, 1.0 - half, t),
                        _root_decreasing(cdf, half, t)], axis=-1) / scale
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
        lam = np.where(cdf(np.zeros_like(fv)) <= target, 0.0,
                       np.maximum(_root_decreasing(cdf, target, fv * d1), 0.0))
        lims.append(lam / (lam + d1 + d2 + 1.0))
    out[ok] = np.stack(lims, axis=-1)
    return out


def _holm(p):
    """Holm's step-down adjusted p-values (family-wise, any dependence)."""
    p = np.asarray(p, float)
    order = np.argsort(p)
    m = len(p)
    adj = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(adj, 1.0)
    return out


def _correct_family(p, correction, observed=None, null=None):
    """Corrected p over all entries: BH FDR, single-step max statistic, or none."""
    if correction is None:
        return None
    if correction == "fdr":
        return fdr_bh(p)[1]
    return maxstat_p(observed, null)


CORRECTIONS = ("fdr", "maxstat", None)


@fill_doc
def permutation_test(a, b, n_permutations=5000, seed=None, tail="two-sided"):
    r"""Two-sample permutation test of a mean difference, with Cohen's d.

    The observed statistic is :math:`\Delta = \bar a - \bar b`. Group labels are permuted
    ``n_permutations`` times (random permutations, with replacement between permutations);
    :math:`p = (b + 1)/(N + 1)` counts permuted :math:`\Delta^*` with
    :math:`\Delta^* \ge \Delta` (``'greater'``), :math:`\le` (``'less'``), or
    :math:`|\Delta^*| \ge |\Delta|` (``'two-sided'``). The effect size is Cohen's
    :math:`d = \Delta / s_p`, :math:`s_p^2 = ((n_a-1)s_a^2 + (n_b-1)s_b^2)/(n_a+n_b-2)`.

    Parameters
    ----------
    a, b : array-like, shape (n_a, ...) and (n_b, ...)
        Observations on axis 0 (e.g. real dyads and pseudo-dyads); trailing axes (bands,
        ROI pairs, ...) are tested separately with the same permutations.
    n_permutations : int
        Number of random permutations.
    %(seed)s
    tail : 'two-sided' | 'greater' | 'less'
        Alternative hypothesis; ``'greater'`` means :math:`\bar a > \bar b`.

    Returns
    -------
    result : dict
        ``diff`` (:math:`\Delta`), ``p`` (permutation p), ``d`` (Cohen's d), ``n_a``,
        ``n_b``, ``n_permutations``, ``tail``.
    """
    _check_option("tail", tail, TAILS)
    n_permutations = _check_n_permutations(n_permutations)
    rng = check_seed(seed)
    a = _as_samples(a, "a")
    b = _as_samples(b, "b")
    if a.shape[1:] != b.shape[1:]:
        raise ValueError(
            f"a and b must have the same shape besides axis 0, got {a.shape} and {b.shape}."
        )
    na, nb = a.shape[0], b.shape[0]
    pooled = np.concatenate([a, b]).reshape(na + nb, -1)
    total = pooled.sum(axis=0)
    diff = a.mean(axis=0) - b.mean(axis=0)
    null = []
    for perm in _perm_blocks(rng, na + nb, n_permutations):
        # the first n_a permuted positions form group a; sum through an indicator matrix
        member = np.zeros((perm.shape[0], na + nb))
        np.put_along_axis(member, perm[:, :na], 1.0, axis=1)
        sum_a = member @ pooled
        null.append(sum_a / na - (total - sum_a) / nb)
    null = np.concatenate(null).reshape((n_permutations,) + a.shape[1:])
    if tail == "two-sided":
        # tiny tolerance: the identity permutation must count as "as extreme"
        p = p_value(np.abs(diff) - 1e-12 * np.abs(diff), np.abs(null), "greater")
    elif tail == "greater":
        p = p_value(diff - 1e-12 * np.abs(diff), null, "greater")
    else:
        p = p_value(diff + 1e-12 * np.abs(diff), null, "less")
    return dict(
        diff=_scalar(diff),
        p=_scalar(p),
        d=_scalar(_cohens_d(a, b)),
        n_a=na,
        n_b=nb,
        n_permutations=n_permutations,
        tail=tail,
    )


def _group_moments(values, onehot):
    """Per-group counts, means and variances (ddof=1) for indicators ``onehot`` (k, G, n)."""
    counts = onehot.sum(axis=-1)[..., None]  # (k, G, 1)
    sums = onehot @ values  # (k, G, m)
    means = sums / counts
    ss = onehot @ values**2 - sums * means
    return counts, means, np.maximum(ss, 0.0) / (counts - 1)


def _f_classic(counts, means, var):
    """One-way ANOVA F, and SS_between / SS_within, from group moments."""
    n, n_groups = counts.sum(axis=1), counts.shape[1]
    grand = np.sum(counts * means, axis=1) / n
    ssb = np.sum(counts * (means - grand[:, None]) ** 2, axis=1)
    ssw = np.sum((counts - 1) * var, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        f = (ssb / (n_groups - 1)) / (ssw / (n - n_groups))
    return f, ssb, ssw


def _f_welch(counts, means, var):
    r"""Welch's heteroscedastic one-way F and its denominator df (Welch, 1951)."""
    n_groups = counts.shape[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        w = counts / var
        wsum = w.sum(axis=1)
        mw = np.sum(w * means, axis=1) / wsum
        a = np.sum(w * (means - mw[:, None]) ** 2, axis=1) / (n_groups - 1)
        tmp = np.sum((1.0 - w / wsum[:, None]) ** 2 / (counts - 1), axis=1)
        b = 1.0 + 2.0 * (n_groups - 2) / (n_groups**2 - 1) * tmp
        return a / b, (n_groups**2 - 1) / (3.0 * tmp)


STATISTICS = ("F", "welch")


@fill_doc
def group_contrast(values, groups, n_permutations=5000, seed=None, *, statistic="F",
                   correction="fdr", ci=0.95):
    r"""Between-group contrast of per-dyad values (e.g. mindful vs non-mindful therapists).

    One-way ANOVA over the groups (:func:`scipy.stats.f_oneway`):
    :math:`F = \frac{SS_b/(G-1)}{SS_w/(n-G)}`, with the effect size partial
    :math:`\eta_p^2 = SS_b/(SS_b + SS_w)` (equal to :math:`\eta^2` in a one-way design) and
    its confidence interval (:func:`eta_sq_partial_ci`). For two groups also Student's
    :math:`t` (:func:`scipy.stats.ttest_ind`, :math:`t^2 = F`; first group in sorted label
    order minus second), the mean difference with its t interval, and Cohen's d with the
    pooled SD and its interval (:func:`cohens_d_ci`).

    The permutation p permutes the group labels ``n_permutations`` times and counts
    permuted statistics at least as large as the observed one: the classical :math:`F`
    (``statistic='F'``; for two groups the two-sided t permutation test) or Welch's
    heteroscedastic :math:`F_W` (``statistic='welch'``; for two groups Welch's :math:`t^2`).
    Label permutation is exact when the groups' distributions are equal under the null; with
    unequal spreads and unequal group sizes (e.g. groups with shorter recordings, whose
    values vary more) only the studentised Welch statistic keeps the error rate (Janssen,
    1997).

    Trailing axes of ``values`` (features: segments, bands, ROI pairs ...) are tested with
    the same permutations and form one family for ``correction``: Benjamini-Hochberg FDR
    over the features' permutation p-values (``'fdr'``), the single-step maximum statistic
    over the features (``'maxstat'``, family-wise; Westfall & Young, 1993), or none.

    Parameters
    ----------
    values : array-like, shape (n_dyads, ...)
        One value per real dyad on axis 0.
    groups : array-like, shape (n_dyads,)
        Group label of each dyad (at least 2 groups, each with at least 2 dyads).
    n_permutations : int
        Number of label permutations.
    %(seed)s
    statistic : 'F' | 'welch'
        The permuted statistic (see above).
    correction : 'fdr' | 'maxstat' | None
        Correction over the features (trailing entries) of the permutation p-values.
    ci : float
        Level of the confidence intervals.

    Returns
    -------
    result : dict
        ``groups`` (sorted labels), ``n`` (dyads per group), ``means`` (per group, on axis
        0), ``F``, ``df`` (between, within), ``p`` (parametric F test), ``eta_sq_partial``
        and ``eta_sq_partial_ci`` (trailing axis: lower, upper), ``F_welch``,
        ``df_welch_den`` and ``p_welch`` (Welch's parametric test), ``statistic``,
        ``p_perm`` (permutation p of ``statistic``), ``p_corrected``, ``correction``,
        ``n_tests`` (the family size), ``ci``; for two groups ``t``, ``p_t``, ``diff`` and
        ``diff_ci`` (pooled-variance t interval; Welch's with ``statistic='welch'``), ``d``
        and ``d_ci``, else ``None`` for those.
    """
    n_permutations = _check_n_permutations(n_permutations)
    _check_option("statistic", statistic, STATISTICS)
    _check_option("correction", correction, CORRECTIONS)
    ci = _check_ci(ci)
    rng = check_seed(seed)
    values = _as_samples(values, "values", min_n=4)
    groups = np.asarray(groups)
    if groups.shape != (values.shape[0],):
        raise ValueError(
            f"groups must hold one label per dyad ({values.shape[0]}), got shape "
            f"{groups.shape}."
        )
    labels, codes, counts = np.unique(groups, return_inverse=True, return_counts=True)
    if len(labels) < 2:
        raise ValueError(f"group_contrast needs at least 2 groups, got {list(labels)}.")
    if np.any(counts < 2):
        small = [str(lab) for lab, c in zip(labels, counts) if c < 2]
        raise ValueError(
            f"Every group needs at least 2 dyads for a within-group variance; groups "
            f"{small} have fewer."
        )
    n, n_groups = values.shape[0], len(labels)
    shape = values.shape[1:]
    # centred: the statistics are shift invariant and the sums of squares stay accurate
    flat = values.reshape(n, -1)
    flat = flat - flat.mean(axis=0)
    const = np.flatnonzero(np.ptp(flat, axis=0) == 0)
    if const.size:
        raise ValueError(
            f"values are constant over all dyads at feature index(es) "
            f"{[np.unravel_index(j, shape) if shape else () for j in const.tolist()]}: "
            "nothing to contrast. Drop those features."
        )
    samples = [values[codes == g] for g in range(n_groups)]
    f_res = _sps.f_oneway(*samples, axis=0)

    onehot = (codes[None, :] == np.arange(n_groups)[:, None]).astype(float)[None]
    moments = _group_moments(flat, onehot)
    f_obs, ssb, ssw = _f_classic(*moments)
    fw_obs, fw_df = _f_welch(*moments)
    df_b, df_w = n_groups - 1, n - n_groups
    with np.errstate(invalid="ignore", divide="ignore"):
        eta = (ssb / (ssb + ssw))[0]
    stat_obs = (f_obs if statistic == "F" else fw_obs)[0]
    null = []
    for perm in _perm_blocks(rng, n, n_permutations):
        oh = (codes[perm][:, None, :] == np.arange(n_groups)[None, :, None]).astype(float)
        moments = _group_moments(flat, oh)
        null.append(_f_classic(*moments)[0] if statistic == "F" else _f_welch(*moments)[0])
    null = np.concatenate(null)
    # relative tolerance: the identity labelling must count as "as extreme"
    thresh = stat_obs * (1 - 1e-10)
    p_perm = p_value(thresh, null, "greater")
    p_corr = _correct_family(p_perm, correction, thresh, null)
    with np.errstate(invalid="ignore"):
        p_welch = _sps.f.sf(fw_obs[0], df_b, fw_df[0])
    out = dict(
        groups=labels,
        n=counts,
        means=np.stack([s.mean(axis=0) for s in samples]),
        F=_scalar(f_res.statistic),
        df=(df_b, df_w),
        p=_scalar(f_res.pvalue),
        eta_sq_partial=_scalar(eta.reshape(shape)),
        eta_sq_partial_ci=eta_sq_partial_ci(f_res.statistic, df_b, df_w, ci),
        F_welch=_scalar(fw_obs[0].reshape(shape)),
        df_welch_den=_scalar(fw_df[0].reshape(shape)),
        p_welch=_scalar(p_welch.reshape(shape)),
        statistic=statistic,
        p_perm=_scalar(p_perm.reshape(shape)),
        p_corrected=None if p_corr is None else _scalar(p_corr.reshape(shape)),
        correction=correction,
        n_tests=int(flat.shape[1]),
        ci=ci,
        t=None, p_t=None, diff=None, diff_ci=None, d=None, d_ci=None,
    )
    if n_groups == 2:
        a, b = samples
        t_res = _sps.ttest_ind(a, b, axis=0, equal_var=statistic == "F")
        pooled = _sps.ttest_ind(a, b, axis=0)
        lim = t_res.confidence_interval(ci)
        d = _cohens_d(a, b)
        out.update(
            t=_scalar(pooled.statistic),
            p_t=_scalar(pooled.pvalue),
            diff=_scalar(a.mean(axis=0) - b.mean(axis=0)),
            diff_ci=np.stack([lim.low, lim.high], axis=-1),
            d=_scalar(d),
            d_ci=cohens_d_ci(d, counts[0], counts[1], ci),
        )
    return out


def _r_ci(r, n, method, ci):
    """Fisher-z interval of a correlation (Fieller et al. 1957 variance for Spearman)."""
    if n <= 3:
        return np.array([-1.0, 1.0])
    se = np.sqrt((1.06 if method == "spearman" else 1.0) / (n - 3))
    zc = _sps.norm.ppf(0.5 + ci / 2.0)
    z = np.arctanh(np.clip(r, -1 + 1e-15, 1 - 1e-15))
    return np.tanh([z - zc * se, z + zc * se])


@fill_doc
def correlation_test(
    x, y, n_permutations=5000, seed=None, method="pearson", tail="two-sided", *,
    correction="fdr", ci=0.95
):
    r"""Correlation with a permutation p-value (e.g. dyad PLV vs alliance gap WAI-T - WAI-C).

    Pearson :math:`r` (or Spearman :math:`\rho`: Pearson on ranks). The permutation p
    shuffles ``y`` against ``x`` ``n_permutations`` times and counts :math:`|r^*| \ge |r|`
    (``'two-sided'``), :math:`r^* \ge r` (``'greater'``) or :math:`r^* \le r` (``'less'``);
    the parametric p is the t test of the coefficient,
    :math:`t = r\sqrt{(n-2)/(1-r^2)}` on :math:`n - 2` df, with the same alternative (as
    :func:`scipy.stats.pearsonr` / :func:`scipy.stats.spearmanr`). The confidence interval
    is Fisher's: :math:`\tanh(\operatorname{artanh} r \pm z_{1-\alpha/2}\,\sigma)` with
    :math:`\sigma = 1/\sqrt{n - 3}` (Pearson; as :meth:`scipy.stats.pearsonr`) or
    :math:`\sqrt{1.06 / (n - 3)}` (Spearman; Fieller, Hartley & Pearson, 1957).

    Several features (trailing axes of ``x``, e.g. bands x ROIs, all against the same
    ``y``) are tested with the same permutations of ``y`` and form one family for
    ``correction``: Benjamini-Hochberg FDR over their permutation p-values (``'fdr'``), or
    the single-step maximum of the statistic (:math:`|r|`, :math:`r` or :math:`-r` by
    ``tail``) over the features (``'maxstat'``, family-wise).

    Parameters
    ----------
    x : array-like, shape (n,) or (n, ...)
        Observations on axis 0 (e.g. one value per dyad), one or several features.
    y : array-like, shape (n,)
        The paired variable (at least 3 pairs).
    n_permutations : int
        Number of permutations of ``y``.
    %(seed)s
    method : 'pearson' | 'spearman'
        Correlation coefficient.
    tail : 'two-sided' | 'greater' | 'less'
        Alternative hypothesis.
    correction : 'fdr' | 'maxstat' | None
        Correction over the features of ``x``.
    ci : float
        Level of the two-sided confidence interval of the coefficient.

    Returns
    -------
    result : dict
        ``r``, ``r_ci`` (trailing axis: lower, upper), ``p_perm``, ``p_parametric``,
        ``p_corrected``, ``correction``, ``n_tests``, ``n``, ``method``,
        ``n_permutations``, ``ci`` (floats for 1-D ``x``, arrays of the feature shape
        otherwise).
    """
    _check_option("method", method, ("pearson", "spearman"))
    _check_option("tail", tail, TAILS)
    _check_option("correction", correction, CORRECTIONS)
    n_permutations = _check_n_permutations(n_permutations)
    ci = _check_ci(ci)
    rng = check_seed(seed)
    x = _as_samples(x, "x", min_n=3)
    y = _as_samples(y, "y", min_n=3)
    if y.ndim != 1 or x.shape[0] != y.shape[0]:
        raise ValueError(
            f"x and y must be 1-D of equal length (x may have feature axes after the "
            f"first), got shapes {x.shape} and {y.shape}."
        )
    n, shape = y.size, x.shape[1:]
    flat = x.reshape(n, -1)
    if np.ptp(y) == 0:
        raise ValueError(f"y is constant (all {y[0]:g}): a correlation with it is undefined.")
    const = np.flatnonzero(np.ptp(flat, axis=0) == 0)
    if const.size:
        where = "" if not shape else f" at feature index(es) {const.tolist()}"
        raise ValueError(f"x is constant{where}: a correlation with it is undefined.")
    if method == "spearman":
        flat, ys = _sps.rankdata(flat, axis=0), _sps.rankdata(y)
    else:
        ys = y
    xz = flat - flat.mean(axis=0)
    xz = xz / np.linalg.norm(xz, axis=0)
    yz = (ys - ys.mean()) / np.linalg.norm(ys - ys.mean())
    r = yz @ xz  # (m,)
    null = np.concatenate([yz[perm] @ xz for perm in _perm_blocks(rng, n, n_permutations)])
    eps = 1e-12
    if tail == "two-sided":
        obs, null = np.abs(r) - eps, np.abs(null)
    elif tail == "greater":
        obs = r - eps
    else:
        obs, null = -r - eps, -null
    p = p_value(obs, null, "greater")
    p_corr = _correct_family(p, correction, obs, null)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = r * np.sqrt((n - 2) / np.maximum(1.0 - r**2, 0.0))
    p_par = {"two-sided": 2 * _sps.t.sf(np.abs(t), n - 2), "greater": _sps.t.sf(t, n - 2),
             "less": _sps.t.cdf(t, n - 2)}[tail]
    r_ci = np.stack([_r_ci(rj, n, method, ci) for rj in r])

    def out(v):
        return float(v[0]) if not shape else v.reshape(shape)

    return dict(
        r=out(r),
        r_ci=r_ci[0] if not shape else r_ci.reshape(shape + (2,)),
        p_perm=out(p),
        p_parametric=out(p_par),
        p_corrected=None if p_corr is None else out(p_corr),
        correction=correction,
        n_tests=int(flat.shape[1]),
        n=int(n),
        method=method,
        n_permutations=n_permutations,
        ci=ci,
    )


def _as_frame(data, columns):
    """A pandas DataFrame of ``data`` (DataFrame, dict of columns or list of row dicts)."""
    import pandas as pd

    df = data.copy() if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(
            f"data has no column(s) {missing}; its columns are {list(df.columns)}."
        )
    return df


def mixed_model(data, dv="value", between="group", within=(), subject="dyad", *, ci=0.95):
    r"""Mixed design (between x within, subject random) as a linear mixed model.

    The pilot design of a therapy study: dyads nested in a between-dyad factor (mindful vs
    non-mindful therapists) and measured under within-dyad conditions (segment rest pre /
    post, band, ROI). Fitted with :class:`statsmodels.regression.mixed_linear_model.MixedLM`
    (REML): the full factorial of ``between`` and ``within`` as fixed effects (sum-to-zero
    contrasts, so main effects are averaged over the other factors); as random effects an
    intercept per ``subject`` and one per subject x every proper subset of the within
    factors (the error strata of the split-plot ANOVA: with segment and band within, the
    dyad x segment and dyad x band interactions; the full crossing is the residual). Every
    model term is tested with the Wald test of its coefficients, :math:`F = \chi^2 / df_1`,
    against :math:`F(df_1, df_2)` with the containment denominator df of its stratum:
    :math:`df_2 = (n_{subjects} - G) \prod_{w} (L_w - 1)` over the term's within factors
    :math:`w` with :math:`L_w` levels (:math:`n_{subjects} - G` for the between term). For
    balanced data (every dyad in every condition) these are the F tests of the classical
    mixed ANOVA (e.g. :func:`pingouin.mixed_anova` for one within factor; the group x
    segment interaction of a two-level segment factor is the two-sample t test of the
    dyads' post - pre differences). Missing cells are handled by the model, the df then
    being approximate. Effect sizes are partial
    :math:`\eta_p^2 = F df_1 / (F df_1 + df_2)` with their noncentral-F intervals
    (:func:`eta_sq_partial_ci`), and every coefficient is also given standardised by the SD
    of one observation (square root of the sum of all variance components), with its t
    interval on the term's df.

    Within terms with more than two levels assume sphericity within their stratum, as an
    uncorrected repeated-measures ANOVA does (liberal when it fails); the between term and
    its interactions with two-level within factors do not depend on it. A variance
    component estimated at 0 (on the boundary) makes the affected tests approximate. When the
    stratified model does not converge (too few dyads for its variance components), the
    random-intercept-only model is fitted instead, with a warning (``pooled``).

    Parameters
    ----------
    data : pandas.DataFrame | dict | list of dict
        Long table: one row per subject and within condition.
    dv : str
        Column of the dependent variable (e.g. the surrogate-corrected synchrony).
    between : str
        Column of the between-subject factor (at least 2 levels of at least 2 subjects).
    within : str | sequence of str
        Columns of the within-subject factors; factors with a single level are left out.
        At least one factor must have 2 or more levels.
    subject : str
        Column naming the subject (dyad); each subject must have one ``between`` level.
    ci : float
        Level of the confidence intervals.

    Returns
    -------
    result : dict
        ``terms`` (one dict per model term: ``term``, ``F``, ``df1``, ``df2``, ``p``,
        ``eta_sq_partial``, ``eta_sq_partial_ci_low`` / ``_high``), ``coefficients`` (one
        dict per fixed coefficient: ``name``, ``estimate``, ``se``, ``ci_low``,
        ``ci_high``, ``standardised``, ``standardised_ci_low`` / ``_high``), ``variance``
        (``subject``, one per stratum, ``residual``), ``boundary`` (variance components
        estimated at 0), ``pooled`` (True when the stratified model did not converge and a
        random intercept only was fitted, with a warning), ``n_subjects``, ``n_obs``, ``within`` (factors
        used), ``formula``, ``converged``, ``method``, ``ci``.
    """
    import warnings

    import statsmodels.formula.api as smf

    ci = _check_ci(ci)
    within = [within] if isinstance(within, str) else list(within)
    df = _as_frame(data, [dv, between, subject] + within)
    y = df[dv].astype(float)
    bad = ~np.isfinite(y.to_numpy())
    if bad.all():
        raise ValueError(f"Every value of {dv!r} is NaN or infinite: nothing to model.")
    if bad.any():
        from ._utils import warn

        warn(f"mixed_model: {int(bad.sum())} row(s) with a non-finite {dv!r} are excluded "
             f"(subjects {sorted(map(str, df.loc[bad, subject].unique()))}).")
        df = df.loc[~bad]
    levels_per_subject = df.groupby(subject)[between].nunique()
    mixed = levels_per_subject[levels_per_subject > 1]
    if len(mixed):
        raise ValueError(
            f"Subjects {list(map(str, mixed.index))} appear in more than one {between!r} "
            "level: the between factor must be constant within a subject."
        )
    sizes = df.groupby(between)[subject].nunique()
    if len(sizes) < 2 or (sizes < 2).any():
        raise ValueError(
            f"mixed_model needs at least 2 {between!r} levels of at least 2 subjects each, "
            f"got {sizes.to_dict()}."
        )
    used = [w for w in within if df[w].nunique() > 1]
    if not used:
        raise ValueError(
            f"No within factor with 2 or more levels among {within}: use group_contrast "
            "for a between-only design."
        )
    # safe column names for the formula
    cols = {dv: "y_", between: "b_", subject: "s_"}
    cols.update({w: f"w{k}_" for k, w in enumerate(used)})
    frame = df[list(cols)].rename(columns=cols)
    for c in frame.columns[1:]:
        frame[c] = frame[c].astype(str)
    factors = ["C(b_, Sum)"] + [f"C(w{k}_, Sum)" for k in range(len(used))]
    formula = "y_ ~ " + " * ".join(factors)
    n_levels = {f"w{k}_": frame[f"w{k}_"].nunique() for k in range(len(used))}
    # error strata as in the split-plot ANOVA: subject x every proper subset of the within
    # factors gets its own variance component (the full crossing is the residual), so each
    # within term is tested against its own subject x term interaction
    strata = [c for r in range(1, len(used)) for c in combinations(n_levels, r)]
    vc = {f"vc{k}_": "0 + " + ":".join(f"C({w})" for w in s) for k, s in enumerate(strata)}
    def fit_model(vc_formula):
        model = smf.mixedlm(formula, frame, groups=frame["s_"], re_formula="1",
                            vc_formula=vc_formula or None)
        best, best_ok = None, False
        # statsmodels' default optimiser stops short now and then near a variance of 0:
        # fall back to derivative-free ones and keep the best converged REML fit
        for method in (None, "powell", "nm"):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    cand = model.fit(reml=True,
                                     **({} if method is None else dict(method=method)))
                except (np.linalg.LinAlgError, ValueError):
                    continue
            ok = bool(getattr(cand, "converged", True)) and not any(
                "converge" in str(w.message).lower() for w in caught)
            if best is None or (ok and (not best_ok or cand.llf > best.llf + 1e-8)):
                best, best_ok = cand, ok
            if best_ok and method is None:
                break
        return best, best_ok

    from ._utils import warn

    fit, converged = fit_model(vc)
    pooled = False
    if not converged and vc:
        # too many variance components for these data: the random-intercept model (one
        # pooled within-dyad error, i.e. compound symmetry) is the usual simplification
        simple, ok = fit_model(None)
        if ok:
            warn("mixed_model: the model with one variance component per error stratum did "
                 "not converge; fitted with a random intercept per subject only (within "
                 "terms tested against the pooled within-subject error, assuming compound "
                 "symmetry).")
            fit, converged, pooled, strata, vc = simple, True, True, [], {}
    if fit is None:
        raise ValueError(f"The mixed model {formula} could not be fitted to these data.")
    if not converged:
        warn("mixed_model: the REML fit did not converge; its tests are unreliable "
             "(result['converged'] is False).")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wald = fit.wald_test_terms(scalar=True)
    n_obs, n_sub = len(frame), frame["s_"].nunique()
    df_subjects = n_sub - frame["b_"].nunique()
    names = {v: k for k, v in cols.items()}

    def denominator_df(term):
        # containment: the subject x (within part of the term) stratum; pooled within-
        # subject error (between-within df) for the random-intercept-only fallback
        within_part = [f for f in re.findall(r"C\((w\d+_), Sum\)", term)]
        if pooled and within_part:
            return float(n_obs - n_sub - (len(fit.fe_params) - frame["b_"].nunique()))
        return float(df_subjects * np.prod([n_levels[w] - 1 for w in within_part]))

    def readable(term):
        # "C(b_, Sum)[S.a]:C(w0_, Sum)[S.post]" -> "group[a] x segment[post]"
        def one(m):
            level = f"[{m.group(3)}]" if m.group(3) is not None else ""
            return names[m.group(1)] + level

        return " x ".join(re.sub(r"C\((\w+_), Sum\)(\[S\.(.*)\])?", one, piece)
                          for piece in term.split(":"))

    terms = []
    table = wald.table
    for term in table.index:
        if term == "Intercept":
            continue
        df1 = float(table.loc[term, "df_constraint"])
        F = float(table.loc[term, "statistic"]) / df1
        df2 = denominator_df(term)
        lo, hi = eta_sq_partial_ci(F, df1, df2, ci)
        terms.append(dict(term=readable(term), F=F, df1=df1, df2=df2,
                          p=float(_sps.f.sf(F, df1, df2)),
                          eta_sq_partial=F * df1 / (F * df1 + df2),
                          eta_sq_partial_ci_low=float(lo), eta_sq_partial_ci_high=float(hi)))
    variance = dict(subject=float(np.asarray(fit.cov_re)[0, 0]))
    for (key, s), value in zip(((k, s) for k, s in zip(vc, strata)),
                               np.atleast_1d(getattr(fit, "vcomp", []))):
        variance[f"{subject} x " + " x ".join(names[w] for w in s)] = float(value)
    variance["residual"] = float(fit.scale)
    sd_total = np.sqrt(sum(variance.values()))
    # variance components estimated at 0: their stratum is pooled with the residual
    boundary = [k for k, v in variance.items() if k != "residual" and v <= 1e-8 * sd_total**2]
    coefs = []
    for name in fit.fe_params.index:
        est, se = float(fit.fe_params[name]), float(fit.bse_fe[name])
        tcrit = _sps.t.ppf(0.5 + ci / 2.0, denominator_df(name))
        lo, hi = est - tcrit * se, est + tcrit * se
        coefs.append(dict(name=readable(name), estimate=est, se=se,
                          ci_low=lo, ci_high=hi, standardised=est / sd_total,
                          standardised_ci_low=lo / sd_total,
                          standardised_ci_high=hi / sd_total))
    random = [f"(1 | {subject})"] + [
        f"(1 | {subject}:" + ":".join(names[w] for w in s) + ")" for s in strata]
    return dict(
        terms=terms, coefficients=coefs, variance=variance,
        n_subjects=int(n_sub), n_obs=int(n_obs), within=used, boundary=boundary,
        formula=f"{dv} ~ {' * '.join([between] + used)} + " + " + ".join(random),
        converged=converged, ci=ci, pooled=pooled,
        method=("statsmodels MixedLM (REML): random intercept per subject only (the "
                "stratified model did not converge); Wald F with between-within "
                "denominator df" if pooled else
                "statsmodels MixedLM (REML): random intercept per subject and per subject x "
                "within-factor stratum; Wald F with containment denominator df"),
    )
