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

import numpy as np
from scipy import stats as _sps

from .._utils import _check_option, _validate_type

TAILS = ("greater", "less", "two-sided")


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
        The p-values, shape of ``observed`` broadcast with ``null`` minus ``axis``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> null = rng.normal(0.2, 0.02, 999)          # 999 surrogate PLVs
    >>> hs.stats.p_value(0.26, null)               # (b + 1) / (N + 1): never 0
    0.002
    >>> hs.stats.p_value(0.26, null, tail="less")
    0.999
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
        The standardised observed values, shape of ``observed`` broadcast with ``null``
        minus ``axis``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> null = rng.normal(0.2, 0.02, 999)
    >>> round(float(hs.stats.zscore(0.26, null)), 2)   # the SUSY-style effect size
    3.12
    """
    observed, null = _null_first(observed, null, axis)
    if null.shape[0] < 2:
        raise ValueError("zscore needs at least 2 surrogates to estimate the null SD; got 1.")
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
        The p-values, in [0, 1].
    alpha : float
        FDR level in (0, 1).

    Returns
    -------
    reject : array of bool
        Same shape as ``pvals``.
    p_adjusted : array of float
        Same shape as ``pvals``.

    Examples
    --------
    >>> reject, p_adjusted = hs.stats.fdr_bh([0.001, 0.01, 0.03, 0.04, 0.2])
    >>> reject.tolist(), p_adjusted.round(3).tolist()
    ([True, True, True, True, False], [0.005, 0.025, 0.05, 0.05, 0.2])
    """
    p = np.asarray(pvals, dtype=float)
    check_alpha(alpha)
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
        for side in (
            ("greater",)
            if tail == "greater"
            else ("less",)
            if tail == "less"
            else ("greater", "less")
        ):
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
      :math:`-z` for ``'less'``, :math:`|z|` for ``'two-sided'`` (max-z / max-:math:`|z|`).
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
    null_std : ndarray, shape (N, ...)
        The standardised surrogates, surrogate axis first (one copy per leading index, since
        each family is pooled with its own observed values).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> null = rng.normal([0.2, 0.22], [0.02, 0.005], size=(999, 2))
    >>> obs_z, null_z = hs.stats.standardize(np.array([0.26, 0.23]), null)
    >>> obs_z.round(2), null_z.shape          # each test on the scale of its own null
    (array([2.96, 2.06]), (999, 2))
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

    Examples
    --------
    Three tests whose nulls differ (the third has a higher, narrower chance level):

    >>> rng = np.random.default_rng(0)
    >>> null = rng.normal([0.2, 0.2, 0.22], [0.02, 0.02, 0.005], size=(999, 3))
    >>> observed = np.array([0.26, 0.21, 0.23])
    >>> hs.stats.p_value(observed, null).round(3)       # uncorrected
    array([0.002, 0.311, 0.016])
    >>> hs.stats.maxstat_p(observed, null).round(3)     # family-wise, max-z
    array([0.002, 0.683, 0.069])
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


def check_alpha(alpha):
    """Check a significance level: a number strictly between 0 and 1.

    Parameters
    ----------
    alpha : float
        The level.

    Returns
    -------
    alpha : float
        ``alpha`` as a float.

    Raises
    ------
    ValueError
        When ``alpha`` is not in (0, 1).

    Examples
    --------
    >>> hs.stats.check_alpha(0.05)
    0.05
    >>> hs.stats.check_alpha(5)
    Traceback (most recent call last):
    ...
    ValueError: alpha must lie in (0, 1), got 5.
    """
    _validate_type(alpha, "numeric", "alpha")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}.")
    return float(alpha)


def holm(p):
    r"""Adjust p-values by Holm's step-down method (family-wise, any dependence).

    With the :math:`m` p-values sorted, :math:`p_{(1)} \le \dots \le p_{(m)}`, the adjusted
    values are :math:`\tilde p_{(i)} = \min(1, \max_{j \le i} (m - j + 1)\,p_{(j)})`;
    rejecting :math:`\tilde p \le \alpha` keeps the family-wise error rate at
    :math:`\alpha` whatever the dependence between the tests (Holm, 1979). Used where a
    family is a handful of tests, e.g. the modalities of a study's physiological group step.

    Parameters
    ----------
    p : array-like, shape (m,)
        The p-values, in [0, 1].

    Returns
    -------
    p_adjusted : ndarray, shape (m,)
        The adjusted p-values, in the input order.

    Examples
    --------
    >>> hs.stats.holm([0.001, 0.01, 0.03, 0.04, 0.2]).round(3).tolist()
    [0.005, 0.04, 0.09, 0.09, 0.2]
    """
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
