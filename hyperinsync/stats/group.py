"""Group-level tests: permutation test of two samples, group contrast (F / Welch), correlation."""

from __future__ import annotations

import numpy as np
from scipy import stats as _sps

from .._docs import fill_doc
from .._utils import _check_option, _validate_type, check_correction, check_seed
from .effects import _check_ci, _cohens_d, _r_ci, cohens_d_ci, eta_sq_partial_ci
from .group_result import ContrastResult, CorrelationResult
from .inference import CORRECTIONS, TAILS, _correct_family, p_value

# Permutations are evaluated in blocks of this many, so the label matrices stay small
# (block x n_observations floats) however many permutations are asked for.
_PERM_BLOCK = 1000


def _check_n_permutations(n_permutations):
    _validate_type(n_permutations, "int", "n_permutations")
    if n_permutations < 1:
        raise ValueError(f"n_permutations must be at least 1, got {n_permutations}; use e.g. 5000.")
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

    Examples
    --------
    Real dyads against pseudo-dyads, one value each:

    >>> rng = np.random.default_rng(0)
    >>> real, pseudo = rng.normal(0.3, 0.05, 12), rng.normal(0.25, 0.05, 30)
    >>> res = hs.stats.permutation_test(real, pseudo, n_permutations=999, seed=0)
    >>> round(res["diff"], 3), res["p"], round(res["d"], 2)
    (0.055, 0.002, 1.3)
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
def group_contrast(
    values, groups, n_permutations=5000, seed=None, *, statistic="F", correction="fdr", ci=0.95
):
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
    result : ContrastResult
        A dict (:class:`~hyperinsync.stats.group_result.ContrastResult`, with ``to_table()``
        and ``get_data()``): ``groups`` (sorted labels), ``n`` (dyads per group), ``means``
        (per group, on axis 0), ``F``, ``df`` (between, within), ``p`` (parametric F test),
        ``eta_sq_partial`` and ``eta_sq_partial_ci`` (trailing axis: lower, upper), ``F_welch``,
        ``df_welch_den`` and ``p_welch`` (Welch's parametric test), ``statistic``,
        ``p_perm`` (permutation p of ``statistic``), ``p_corrected``, ``correction``,
        ``n_tests`` (the family size), ``ci``; for two groups ``t``, ``p_t``, ``diff`` and
        ``diff_ci`` (pooled-variance t interval; Welch's with ``statistic='welch'``), ``d``
        and ``d_ci``, else ``None`` for those.
    """
    n_permutations = _check_n_permutations(n_permutations)
    _check_option("statistic", statistic, STATISTICS)
    correction = check_correction(correction, CORRECTIONS)
    ci = _check_ci(ci)
    rng = check_seed(seed)
    values = _as_samples(values, "values", min_n=4)
    groups = np.asarray(groups)
    if groups.shape != (values.shape[0],):
        raise ValueError(
            f"groups must hold one label per dyad ({values.shape[0]}), got shape {groups.shape}."
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
    out = ContrastResult(
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
        t=None,
        p_t=None,
        diff=None,
        diff_ci=None,
        d=None,
        d_ci=None,
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


@fill_doc
def correlation_test(
    x,
    y,
    n_permutations=5000,
    seed=None,
    method="pearson",
    tail="two-sided",
    *,
    correction="fdr",
    ci=0.95,
):
    r"""Correlation with a permutation p-value (e.g. dyad PLV vs alliance gap WAI-T - WAI-C).

    Pearson :math:`r` (or Spearman :math:`\rho`: Pearson on ranks). The permutation p
    shuffles ``y`` against ``x`` ``n_permutations`` times and counts :math:`|r^*| \ge |r|`
    (``'two-sided'``), :math:`r^* \ge r` (``'greater'``) or :math:`r^* \le r` (``'less'``);
    the parametric p is the t test of the coefficient,
    :math:`t = r\sqrt{(n-2)/(1-r^2)}` on :math:`n - 2` df, with the same alternative (as
    :func:`scipy.stats.pearsonr` / :func:`scipy.stats.spearmanr`). The confidence interval
    is Fisher's: :math:`\tanh(\operatorname{artanh} r \pm z_{1-\alpha/2}\,\sigma)` with
    :math:`\sigma = 1/\sqrt{n - 3}` (Pearson; as :func:`scipy.stats.pearsonr`) or
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
    result : CorrelationResult
        A dict (:class:`~hyperinsync.stats.group_result.CorrelationResult`, with
        ``to_table()`` and ``get_data()``): ``r``, ``r_ci`` (trailing axis: lower, upper),
        ``p_perm``, ``p_parametric``,
        ``p_corrected``, ``correction``, ``n_tests``, ``n``, ``method``,
        ``n_permutations``, ``ci`` (floats for 1-D ``x``, arrays of the feature shape
        otherwise).
    """
    _check_option("method", method, ("pearson", "spearman"))
    _check_option("tail", tail, TAILS)
    correction = check_correction(correction, CORRECTIONS)
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
    p_par = {
        "two-sided": 2 * _sps.t.sf(np.abs(t), n - 2),
        "greater": _sps.t.sf(t, n - 2),
        "less": _sps.t.cdf(t, n - 2),
    }[tail]
    r_ci = np.stack([_r_ci(rj, n, method, ci) for rj in r])

    def out(v):
        return float(v[0]) if not shape else v.reshape(shape)

    return CorrelationResult(
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
