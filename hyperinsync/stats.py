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

from ._utils import _check_option, _validate_type, check_seed, fill_doc

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


def _anova_parts(values, onehot):
    """Between/within sums of squares for group indicators ``onehot`` (k, G, n)."""
    sums = onehot @ values  # (k, G, m)
    counts = onehot.sum(axis=-1)[..., None]  # (k, G, 1)
    n = values.shape[0]
    grand = values.sum(axis=0)
    ssb = np.sum(sums**2 / counts, axis=1) - grand**2 / n
    sst = np.sum(values**2, axis=0) - grand**2 / n
    return ssb, sst - ssb


@fill_doc
def group_contrast(values, groups, n_permutations=5000, seed=None):
    r"""Between-group contrast of per-dyad values (e.g. mindful vs non-mindful therapists).

    One-way ANOVA over the groups (:func:`scipy.stats.f_oneway`):
    :math:`F = \frac{SS_b/(G-1)}{SS_w/(n-G)}`, with the effect size partial
    :math:`\eta_p^2 = SS_b/(SS_b + SS_w)` (equal to :math:`\eta^2` in a one-way design). For
    two groups also Student's :math:`t` (equal variances, :func:`scipy.stats.ttest_ind`,
    :math:`t^2 = F`; first group in sorted label order minus second) and Cohen's d with the
    pooled SD. The permutation p permutes the group labels ``n_permutations`` times and
    counts :math:`F^* \ge F` (for two groups this is the two-sided t permutation test).

    Parameters
    ----------
    values : array-like, shape (n_dyads, ...)
        One value per real dyad on axis 0 (trailing axes, e.g. bands or ROI pairs, are
        tested separately with the same permutations).
    groups : array-like, shape (n_dyads,)
        Group label of each dyad (at least 2 groups, each with at least 2 dyads).
    n_permutations : int
        Number of label permutations.
    %(seed)s

    Returns
    -------
    result : dict
        ``groups`` (sorted labels), ``n`` (dyads per group), ``means`` (per group, on axis
        0), ``F``, ``df`` (between, within), ``p`` (parametric F test), ``p_perm``,
        ``eta_sq_partial``; for two groups ``t``, ``p_t`` (parametric, two-sided) and ``d``,
        else ``None`` for those.
    """
    n_permutations = _check_n_permutations(n_permutations)
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
    flat = values.reshape(n, -1)
    samples = [values[codes == g] for g in range(n_groups)]
    f_res = _sps.f_oneway(*samples, axis=0)
    onehot = (codes[None, :] == np.arange(n_groups)[:, None]).astype(float)[None]
    ssb, ssw = _anova_parts(flat, onehot)
    df_b, df_w = n_groups - 1, n - n_groups
    with np.errstate(invalid="ignore", divide="ignore"):
        eta = ssb / (ssb + ssw)
        f_obs = (ssb / df_b) / (ssw / df_w)
    null = []
    for perm in _perm_blocks(rng, n, n_permutations):
        perm_codes = codes[perm]  # (k, n)
        oh = (perm_codes[:, None, :] == np.arange(n_groups)[None, :, None]).astype(float)
        sb, sw = _anova_parts(flat, oh)
        with np.errstate(invalid="ignore", divide="ignore"):
            null.append((sb / df_b) / (sw / df_w))
    null = np.concatenate(null)
    # relative tolerance: the identity labelling must count as "as extreme"
    p_perm = p_value(f_obs[0] * (1 - 1e-10), null, "greater").reshape(values.shape[1:])
    out = dict(
        groups=labels,
        n=counts,
        means=np.stack([s.mean(axis=0) for s in samples]),
        F=_scalar(f_res.statistic),
        df=(df_b, df_w),
        p=_scalar(f_res.pvalue),
        p_perm=_scalar(p_perm),
        eta_sq_partial=_scalar(eta[0].reshape(values.shape[1:])),
        t=None,
        p_t=None,
        d=None,
    )
    if n_groups == 2:
        t_res = _sps.ttest_ind(samples[0], samples[1], axis=0)
        out.update(
            t=_scalar(t_res.statistic),
            p_t=_scalar(t_res.pvalue),
            d=_scalar(_cohens_d(samples[0], samples[1])),
        )
    return out


@fill_doc
def correlation_test(
    x, y, n_permutations=5000, seed=None, method="pearson", tail="two-sided"
):
    r"""Correlation with a permutation p-value (e.g. dyad PLV vs alliance gap WAI-T - WAI-C).

    Pearson :math:`r` (or Spearman :math:`\rho`: Pearson on ranks). The permutation p
    shuffles ``y`` against ``x`` ``n_permutations`` times and counts :math:`|r^*| \ge |r|`
    (``'two-sided'``), :math:`r^* \ge r` (``'greater'``) or :math:`r^* \le r` (``'less'``);
    the parametric p is :func:`scipy.stats.pearsonr` / :func:`scipy.stats.spearmanr` with
    the same alternative.

    Parameters
    ----------
    x, y : array-like, shape (n,)
        Paired observations (at least 3 pairs), e.g. one value per dyad.
    n_permutations : int
        Number of permutations of ``y``.
    %(seed)s
    method : 'pearson' | 'spearman'
        Correlation coefficient.
    tail : 'two-sided' | 'greater' | 'less'
        Alternative hypothesis.

    Returns
    -------
    result : dict
        ``r``, ``p_perm``, ``p_parametric``, ``n``, ``method``, ``n_permutations``.
    """
    _check_option("method", method, ("pearson", "spearman"))
    _check_option("tail", tail, TAILS)
    n_permutations = _check_n_permutations(n_permutations)
    rng = check_seed(seed)
    x = _as_samples(x, "x", min_n=3)
    y = _as_samples(y, "y", min_n=3)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(
            f"x and y must be 1-D of equal length, got shapes {x.shape} and {y.shape}."
        )
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        raise ValueError("x and y must not be constant: a correlation is undefined.")
    if method == "spearman":
        xs, ys = _sps.rankdata(x), _sps.rankdata(y)
        par = _sps.spearmanr(x, y, alternative=tail)
    else:
        xs, ys = x, y
        par = _sps.pearsonr(x, y, alternative=tail)
    xz = (xs - xs.mean()) / np.linalg.norm(xs - xs.mean())
    yz = (ys - ys.mean()) / np.linalg.norm(ys - ys.mean())
    r = float(xz @ yz)
    null = np.concatenate(
        [yz[perm] @ xz for perm in _perm_blocks(rng, x.size, n_permutations)]
    )
    eps = 1e-12
    if tail == "two-sided":
        p = p_value(abs(r) - eps, np.abs(null), "greater")
    elif tail == "greater":
        p = p_value(r - eps, null, "greater")
    else:
        p = p_value(r + eps, null, "less")
    return dict(
        r=r,
        p_perm=float(p),
        p_parametric=float(par.pvalue),
        n=int(x.size),
        method=method,
        n_permutations=n_permutations,
    )
