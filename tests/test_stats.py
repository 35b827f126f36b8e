"""Tests for hyperinsync.stats against closed forms, scipy, exact enumeration and simulation."""

from itertools import combinations, permutations, product

import mne
import numpy as np
import pytest
from scipy import stats as sps

from hyperinsync.stats import (
    correlation_test,
    fdr_bh,
    group_contrast,
    maxstat_p,
    mixed_model,
    p_value,
    permutation_test,
    standardize,
    zscore,
)


# ---------------------------------------------------------------- closed forms
def test_p_value_closed_form():
    null = np.array([1.0, 2.0, 3.0, 4.0])
    # 2 surrogates >= 3 -> (2 + 1) / (4 + 1)
    assert p_value(3.0, null) == pytest.approx(3 / 5)
    assert p_value(3.0, null, tail="less") == pytest.approx(4 / 5)
    assert p_value(3.0, null, tail="two-sided") == pytest.approx(1.0)
    assert p_value(10.0, null) == pytest.approx(1 / 5)  # never 0
    assert p_value(10.0, null, tail="two-sided") == pytest.approx(min(1, 2 * 1 / 5))
    # surrogate axis elsewhere, NaN observed and NaN surrogates
    null2 = np.array([[1.0, 2.0, np.nan], [5.0, 6.0, 7.0]])  # (2 entries, 3 surrogates)
    p = p_value(np.array([1.5, np.nan]), null2, axis=1)
    assert p[0] == pytest.approx((1 + 1) / (2 + 1))  # NaN surrogate not counted
    assert np.isnan(p[1])
    with pytest.raises(ValueError, match="does not match null"):
        p_value(np.zeros(3), np.zeros((10, 4)))
    with pytest.raises(ValueError, match="tail"):
        p_value(0.0, null, tail="both")


def test_zscore_closed_form():
    null = np.array([[1.0, 2.0, 3.0, 6.0], [0.0, 0.0, 0.0, 0.0]]).T
    z = zscore(np.array([5.0, 1.0]), null)
    mean, sd = 3.0, np.sqrt(((1 - 3) ** 2 + 1 + 0 + 9) / 3)
    assert z[0] == pytest.approx((5 - mean) / sd)
    assert np.isinf(z[1])  # zero spread, different value
    assert np.isnan(zscore(0.0, np.zeros(5)))
    with pytest.raises(ValueError, match="at least 2 surrogates"):
        zscore(1.0, np.ones(1))


def test_fdr_bh_against_mne_and_closed_form():
    rng = np.random.default_rng(0)
    p = rng.uniform(size=(4, 5, 3)) ** 3
    reject, adj = fdr_bh(p, alpha=0.1)
    rej_mne, adj_mne = mne.stats.fdr_correction(p.ravel(), alpha=0.1)
    assert adj.shape == p.shape and reject.shape == p.shape
    np.testing.assert_allclose(adj.ravel(), adj_mne)
    np.testing.assert_array_equal(reject.ravel(), rej_mne)
    # hand-computed: m = 4, p*m/rank = .04 .04 .04 .5, running min from the top
    reject, adj = fdr_bh([0.03, 0.01, 0.02, 0.5])
    np.testing.assert_allclose(adj, [0.04, 0.04, 0.04, 0.5])
    np.testing.assert_array_equal(reject, [True, True, True, False])
    # NaNs stay out of m
    reject, adj = fdr_bh([0.01, np.nan, 0.04])
    np.testing.assert_allclose(adj, [0.02, np.nan, 0.04])
    assert not reject[1]
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        fdr_bh([0.5, 1.5])
    with pytest.raises(ValueError, match="alpha"):
        fdr_bh([0.5], alpha=1.0)


def test_maxstat_closed_form():
    # raw values: 4 surrogates x 3 pairs; maxima per surrogate: 3, 5, 2, 4
    null = np.array([[1, 3, 0], [5, 0, 0], [2, 1, 1], [0, 4, 2]], float)
    p = maxstat_p(np.array([4.0, 1.0, 6.0]), null, standardize=None)
    np.testing.assert_allclose(p, [(1 + 2) / 5, (1 + 4) / 5, 1 / 5])
    # surrogate axis last, and a 2-D family
    p2 = maxstat_p(np.array([[4.0, 1.0, 6.0]]), null.T[None], axis=2, standardize=None)
    np.testing.assert_allclose(p2[0], p)
    # standardised (default): each column's 5 pooled values (observed first) as z-scores
    obs = np.array([4.0, 1.0, 6.0])
    pool = np.vstack([obs, null])
    z = (pool - pool.mean(0)) / pool.std(0, ddof=1)
    maxima = z[1:].max(axis=1)
    expected = [(1 + np.sum(maxima >= z[0, j])) / 5 for j in range(3)]
    np.testing.assert_allclose(maxstat_p(obs, null), expected)
    o, n = standardize(obs, null)
    np.testing.assert_allclose(o, z[0])
    np.testing.assert_allclose(n, z[1:])
    # leading axes: one family per leading index, each pooled with its own observed values
    two = maxstat_p(np.stack([obs, obs[::-1]]), null)
    np.testing.assert_allclose(two[0], expected)
    np.testing.assert_allclose(two[1], maxstat_p(obs[::-1], null))
    # many observations of one test (e.g. the windows of one series against its null of
    # series maxima): each compared with the same maxima, for any standardisation
    windows = np.array([0.5, 3.0, 5.5])
    for method in ("z", "p", None):
        got = maxstat_p(windows, null[:, 1:2], standardize=method)
        np.testing.assert_allclose(got, [(1 + np.sum(null[:, 1] >= w)) / 5 for w in windows])


def test_maxstat_standardised_equals_mne_max_t():
    # mne.stats.permutation_t_test is a max-t procedure over sign flips. On the same flips
    # (all 2^8, exact), max-|z| of the plain sums gives the same p-values: the pooled z of a
    # sum is a fixed monotone function of its t. Raw sums, whose scales differ 1000-fold
    # between tests, do not.
    rng = np.random.default_rng(3)
    n, m = 8, 6
    scale = np.array([1e-3, 1e-2, 0.1, 1.0, 1.0, 1.0])
    x = rng.normal(size=(n, m)) * scale + np.array([0, 0, 0.1, 2.5, 0, -0.9]) * scale
    _, p_mne, _ = mne.stats.permutation_t_test(x, n_permutations=10000, tail=0, verbose=False)
    flips = np.array(list(product([1.0, -1.0], repeat=n)))  # identity first
    sums = flips @ x
    p = maxstat_p(sums[0], sums[1:], tail="two-sided")
    np.testing.assert_allclose(p, p_mne, rtol=1e-12)
    assert np.min(p) < 0.05
    raw = maxstat_p(sums[0], sums[1:], tail="two-sided", standardize=None)
    assert not np.allclose(raw, p_mne)


def test_maxstat_min_p_against_loop():
    # Westfall-Young single-step min-p, written out with loops
    rng = np.random.default_rng(4)
    obs = rng.normal(size=4) + [0.0, 2.5, 0.0, -2.5]
    null = rng.normal(size=(30, 4)) * [1, 2, 3, 4]
    null[3, 0] = obs[0]  # a tie
    pool = np.vstack([obs, null])
    for tail in ("greater", "less", "two-sided"):
        pv = np.empty(pool.shape)
        for k in range(31):
            for j in range(4):
                ge = np.sum(pool[:, j] >= pool[k, j]) / 31
                le = np.sum(pool[:, j] <= pool[k, j]) / 31
                pv[k, j] = {"greater": ge, "less": le, "two-sided": min(1.0, 2 * min(ge, le))}[tail]
        minp = pv.min(axis=1)
        expected = [np.sum(minp <= pv[0, j]) / 31 for j in range(4)]
        np.testing.assert_allclose(
            maxstat_p(obs, null, tail=tail, standardize="p"), expected, err_msg=tail
        )
        # the observed p-values are those of p_value
        o, _ = standardize(obs, null, tail=tail, method="p")
        np.testing.assert_allclose(-o, p_value(obs, null, tail=tail))


def test_maxstat_unequal_chance_levels():
    # Issue 11: chance PLV differs between ROI pairs (null means .226-.278, SDs .003-.009).
    # A pair with a low chance level, observed at z = 3.25, was corrected to p = 1 on raw
    # values; standardised, its corrected p is near the max-z expectation (~0.014 for 25
    # independent tests).
    rng = np.random.default_rng(5)
    m, n_sur = 25, 2000
    mean = np.linspace(0.226, 0.278, m)
    sd = np.linspace(0.003, 0.009, m)
    null = mean + sd * rng.normal(size=(n_sur, m))
    obs = mean + sd * rng.normal(size=m).clip(-2, 2)
    obs[0] = mean[0] + 3.25 * sd[0]
    assert p_value(obs[0], null[:, 0]) < 0.002
    assert maxstat_p(obs, null, standardize=None)[0] == 1.0  # the defect
    p = maxstat_p(obs, null)
    assert p[0] <= 0.03
    assert np.all(p[1:] > 0.5)
    # min-p agrees (near its resolution: 25 tests share 2000 surrogates' ranks)
    assert maxstat_p(obs, null, standardize="p")[0] <= 0.06


# ---------------------------------------------------------------- scipy and enumeration
def _exact_perm_p_meandiff(a, b):
    pooled = np.r_[a, b]
    n, na = pooled.size, a.size
    obs = abs(a.mean() - b.mean())
    diffs = []
    for idx in combinations(range(n), na):
        mask = np.zeros(n, bool)
        mask[list(idx)] = True
        diffs.append(abs(pooled[mask].mean() - pooled[~mask].mean()))
    return np.mean(np.array(diffs) >= obs - 1e-12)


def test_permutation_test_against_scipy_and_exact():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=6), rng.normal(size=6) + 1.0
    res = permutation_test(a, b, n_permutations=20000, seed=0)
    assert res["diff"] == pytest.approx(a.mean() - b.mean())
    sp = np.sqrt((5 * a.var(ddof=1) + 5 * b.var(ddof=1)) / 10)
    assert res["d"] == pytest.approx((a.mean() - b.mean()) / sp)
    # the Monte Carlo p approaches the exact permutation p (924 splits), SE ~ 0.003
    assert res["p"] == pytest.approx(_exact_perm_p_meandiff(a, b), abs=0.012)
    # and for larger samples the t test p
    a, b = rng.normal(size=30), rng.normal(size=40) + 0.5
    res = permutation_test(a, b, n_permutations=20000, seed=0)
    assert res["p"] == pytest.approx(sps.ttest_ind(a, b).pvalue, abs=0.01)
    greater = permutation_test(b, a, n_permutations=2000, seed=0, tail="greater")
    less = permutation_test(b, a, n_permutations=2000, seed=0, tail="less")
    assert greater["p"] < 0.05 < less["p"]
    # trailing axes tested separately with the same permutations
    both = permutation_test(np.c_[a, -a], np.c_[b, -b], n_permutations=500, seed=3)
    assert both["p"].shape == (2,)
    assert both["p"][0] == pytest.approx(both["p"][1])
    # reproducible with a seed
    assert permutation_test(a, b, 300, seed=5)["p"] == permutation_test(a, b, 300, seed=5)["p"]


def test_group_contrast_against_scipy_and_exact():
    rng = np.random.default_rng(2)
    groups = np.repeat(["mindful", "non-mindful"], 7)
    values = rng.normal(size=14) + (groups == "mindful") * 1.0
    res = group_contrast(values, groups, n_permutations=4000, seed=0)
    a, b = values[:7], values[7:]
    t = sps.ttest_ind(a, b)
    f = sps.f_oneway(a, b)
    assert res["t"] == pytest.approx(t.statistic)
    assert res["p_t"] == pytest.approx(t.pvalue)
    assert res["F"] == pytest.approx(f.statistic)
    assert res["F"] == pytest.approx(res["t"] ** 2)
    assert res["p"] == pytest.approx(f.pvalue)
    ssb = 7 * (a.mean() - values.mean()) ** 2 + 7 * (b.mean() - values.mean()) ** 2
    sst = np.sum((values - values.mean()) ** 2)
    assert res["eta_sq_partial"] == pytest.approx(ssb / sst)
    sp = np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)
    assert res["d"] == pytest.approx((a.mean() - b.mean()) / sp)
    assert list(res["groups"]) == ["mindful", "non-mindful"]
    np.testing.assert_allclose(res["means"], [a.mean(), b.mean()])

    # 3 groups of 3: exact permutation p over all 1680 distinct labellings
    values = rng.normal(size=9) + np.repeat([0.0, 1.0, 2.0], 3)
    labels = np.repeat([0, 1, 2], 3)
    res = group_contrast(values, labels, n_permutations=20000, seed=1)
    f_obs = sps.f_oneway(*[values[labels == g] for g in range(3)]).statistic
    null = [
        sps.f_oneway(*[values[np.array(p) == g] for g in range(3)]).statistic
        for p in set(permutations(labels))
    ]
    exact = np.mean(np.array(null) >= f_obs * (1 - 1e-10))
    assert res["p_perm"] == pytest.approx(exact, abs=0.01)
    assert res["t"] is None and res["d"] is None
    assert res["df"] == (2, 6)


def test_correlation_test_against_scipy_and_exact():
    rng = np.random.default_rng(3)
    x = rng.normal(size=7)
    y = -0.7 * x + rng.normal(size=7)
    res = correlation_test(x, y, n_permutations=20000, seed=0)
    pr = sps.pearsonr(x, y)
    assert res["r"] == pytest.approx(pr.statistic)
    assert res["p_parametric"] == pytest.approx(pr.pvalue)
    null = [sps.pearsonr(x, y[list(p)]).statistic for p in permutations(range(7))]
    exact = np.mean(np.abs(null) >= abs(pr.statistic) - 1e-12)
    assert res["p_perm"] == pytest.approx(exact, abs=0.01)
    sr = correlation_test(x, y, n_permutations=100, seed=0, method="spearman")
    ref = sps.spearmanr(x, y)
    assert sr["r"] == pytest.approx(ref.statistic)
    assert sr["p_parametric"] == pytest.approx(ref.pvalue)
    assert res["n"] == 7


# ---------------------------------------------------------------- calibration under the null
def test_p_value_uniform_under_null():
    rng = np.random.default_rng(4)
    null = rng.gamma(2.0, size=(199, 4000))  # skewed, like PLV nulls
    obs = rng.gamma(2.0, size=4000)
    p = p_value(obs, null)
    assert 0.03 <= np.mean(p < 0.05) <= 0.07
    assert 0.03 <= np.mean(p_value(obs, null, tail="two-sided") < 0.05) <= 0.07
    # uniform over the whole range too (Kolmogorov-Smirnov, p on a grid of 1/200)
    assert sps.kstest(p, "uniform").statistic < 0.03


def test_permutation_and_group_tests_calibrated():
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=(10, 1500)), rng.normal(size=(12, 1500))
    p = permutation_test(a, b, n_permutations=400, seed=0)["p"]
    assert 0.03 <= np.mean(p < 0.05) <= 0.07
    values = rng.normal(size=(14, 1500))
    p = group_contrast(values, np.repeat([0, 1], 7), n_permutations=400, seed=0)["p_perm"]
    assert 0.03 <= np.mean(p < 0.05) <= 0.07
    hits = [
        correlation_test(rng.normal(size=14), rng.normal(size=14), 200, seed=i)["p_perm"] < 0.05
        for i in range(1000)
    ]
    assert 0.03 <= np.mean(hits) <= 0.07


def test_fdr_controls_false_discoveries():
    rng = np.random.default_rng(6)
    m, m1, fdp, power = 40, 8, [], []
    for _ in range(1000):
        z = rng.normal(size=m)
        z[:m1] += 3.0
        reject, _ = fdr_bh(sps.norm.sf(z), alpha=0.05)
        fdp.append(reject[m1:].sum() / max(reject.sum(), 1))
        power.append(reject[:m1].mean())
    # BH: FDR = alpha * m0 / m = 0.04 for independent tests
    assert np.mean(fdp) <= 0.055
    assert np.mean(power) > 0.5


def test_maxstat_controls_fwer():
    rng = np.random.default_rng(7)
    n_fam, hits = 20, {"z": [], "p": [], None: []}
    cov = 0.5 * np.ones((n_fam, n_fam)) + 0.5 * np.eye(n_fam)  # correlated family
    chol = np.linalg.cholesky(cov)
    # tests with different chance levels, spreads and shapes (skewed chi-square nulls)
    loc, scale = rng.uniform(0, 1, n_fam), rng.uniform(0.1, 3, n_fam)
    for _ in range(600):
        draws = rng.normal(size=(200, n_fam)) @ chol.T
        draws = loc + scale * np.where(np.arange(n_fam) % 2, draws, draws**2)
        for method in hits:
            hits[method].append(np.any(maxstat_p(draws[0], draws[1:], standardize=method) <= 0.05))
    # exchangeable observed: exact for max-z and raw values (binomial SD ~0.009 at 600);
    # min-p is exact only for continuous p-values: with 200 surrogates for 20 tests its
    # ties make it conservative
    for method in ("z", None):
        assert 0.025 <= np.mean(hits[method]) <= 0.075, (method, np.mean(hits[method]))
    assert np.mean(hits["p"]) <= 0.075


def test_fdr_bh_against_scipy():
    rng = np.random.default_rng(8)
    p = rng.uniform(size=50) ** 4
    np.testing.assert_allclose(fdr_bh(p)[1], sps.false_discovery_control(p, method="bh"))


# ---------------------------------------------------------------- errors
def test_bad_input():
    with pytest.raises(ValueError, match="n_permutations must be at least 1"):
        permutation_test([1, 2, 3], [4, 5, 6], n_permutations=0)
    with pytest.raises(TypeError, match="seed"):
        permutation_test([1, 2, 3], [4, 5, 6], seed="abc")
    with pytest.raises(ValueError, match="at least 2 groups"):
        group_contrast(np.arange(6.0), np.zeros(6))
    with pytest.raises(ValueError, match="at least 2 dyads"):
        group_contrast(np.arange(6.0), [0, 0, 0, 0, 0, 1])
    with pytest.raises(ValueError, match="one label per dyad"):
        group_contrast(np.arange(6.0), [0, 1])
    with pytest.raises(ValueError, match="1-D of equal length"):
        correlation_test(np.arange(5.0), np.arange(6.0))
    with pytest.raises(ValueError, match="constant"):
        correlation_test(np.ones(5), np.arange(5.0))
    with pytest.raises(ValueError, match="NaN"):
        permutation_test([1, np.nan, 3], [4, 5, 6])


# ---------------------------------------------------------------- effect sizes and intervals
def test_group_contrast_intervals_against_scipy_and_pingouin():
    """Mean difference, d and eta_p^2 intervals; Welch's F against scipy and pingouin."""
    pg = pytest.importorskip("pingouin")
    rng = np.random.default_rng(11)
    groups = np.repeat(["a", "b"], [6, 9])
    values = rng.normal(size=(15, 3)) * np.where(groups == "a", 3.0, 1.0)[:, None]
    values[groups == "a"] += [0.0, 2.0, -1.0]
    res = group_contrast(values, groups, n_permutations=999, seed=0, ci=0.9)
    a, b = values[:6], values[6:]
    lim = sps.ttest_ind(a, b).confidence_interval(0.9)
    np.testing.assert_allclose(res["diff_ci"], np.c_[lim.low, lim.high])
    # the d interval inverts the noncentral t: its limits put t at the 5 % / 95 % quantiles
    t = res["d"] * np.sqrt(6 * 9 / 15)
    np.testing.assert_allclose(
        sps.nct.cdf(t, 13, res["d_ci"][:, 0] * np.sqrt(54 / 15)), 0.95, atol=1e-6
    )
    np.testing.assert_allclose(
        sps.nct.cdf(t, 13, res["d_ci"][:, 1] * np.sqrt(54 / 15)), 0.05, atol=1e-6
    )
    # ... and is close to the large-sample interval pingouin computes
    for j in range(3):
        approx = pg.compute_esci(res["d"][j], 6, 9, eftype="cohen", confidence=0.9)
        np.testing.assert_allclose(res["d_ci"][j], approx, atol=0.15)
    # Welch: scipy's unequal-variance t for two groups, pingouin's welch_anova for three
    w = sps.ttest_ind(a, b, equal_var=False)
    np.testing.assert_allclose(res["F_welch"], w.statistic**2)
    np.testing.assert_allclose(res["p_welch"], w.pvalue)
    welch = group_contrast(values, groups, n_permutations=99, seed=0, statistic="welch")
    lim = w.confidence_interval(0.95)
    np.testing.assert_allclose(welch["diff_ci"], np.c_[lim.low, lim.high])
    g3 = np.repeat(["x", "y", "z"], [4, 5, 6])
    res3 = group_contrast(values[:, 0], g3, n_permutations=99, seed=0)
    import pandas as pd

    ref = pg.welch_anova(pd.DataFrame(dict(v=values[:, 0], g=g3)), dv="v", between="g")
    assert res3["F_welch"] == pytest.approx(ref["F"][0])
    assert res3["df_welch_den"] == pytest.approx(ref["ddof2"][0])
    assert res3["p_welch"] == pytest.approx(ref["p_unc"][0])
    assert res3["d_ci"] is None and res3["eta_sq_partial_ci"].shape == (2,)


def test_effect_size_intervals_cover_the_truth():
    """95 % intervals of eta_p^2 (noncentral F) and d (noncentral t) cover the true value."""
    rng = np.random.default_rng(12)
    n_rep, sizes, mu = 400, np.array([5, 7, 8]), np.array([0.0, 0.6, 1.2])
    codes = np.repeat([0, 1, 2], sizes)
    lam = np.sum(sizes * (mu - np.sum(sizes * mu) / sizes.sum()) ** 2)  # sigma = 1
    eta_true = lam / (lam + sizes.sum())
    values = rng.normal(size=(sizes.sum(), n_rep)) + mu[codes][:, None]
    res = group_contrast(values, codes, n_permutations=1, seed=0)
    lo, hi = res["eta_sq_partial_ci"][:, 0], res["eta_sq_partial_ci"][:, 1]
    assert 0.92 <= np.mean((lo <= eta_true) & (eta_true <= hi)) <= 0.98
    values = rng.normal(size=(13, n_rep)) + np.repeat([0.8, 0.0], [6, 7])[:, None]
    res = group_contrast(values, np.repeat([0, 1], [6, 7]), n_permutations=1, seed=0)
    lo, hi = res["d_ci"][:, 0], res["d_ci"][:, 1]
    assert 0.92 <= np.mean((lo <= 0.8) & (0.8 <= hi)) <= 0.98
    # the eta_p^2 interval limits put F at the 97.5 % / 2.5 % quantiles of noncentral F
    F, (d1, d2) = res["F"][0], res["df"]
    lam_hi = res["eta_sq_partial_ci"][0, 1] * (d1 + d2 + 1) / (1 - res["eta_sq_partial_ci"][0, 1])
    assert sps.ncf.cdf(F, d1, d2, lam_hi) == pytest.approx(0.025, abs=1e-6)


def test_group_contrast_family_correction():
    """p_corrected: BH over the features (mne), or the max-F over the same permutations."""
    rng = np.random.default_rng(13)
    values = rng.normal(size=(16, 2, 3))
    values[:8, 0, 0] += 1.5
    groups = np.repeat([0, 1], 8)
    res = group_contrast(values, groups, n_permutations=2000, seed=1)
    assert res["n_tests"] == 6 and res["correction"] == "fdr"
    np.testing.assert_allclose(
        res["p_corrected"].ravel(), mne.stats.fdr_correction(res["p_perm"].ravel())[1]
    )
    mx = group_contrast(values, groups, n_permutations=2000, seed=1, correction="maxstat")
    # same permutations: the max-F p is at least the per-feature p, and the largest F of
    # the family gets (nearly) its own p: the other features rarely beat it
    assert np.all(mx["p_corrected"] >= mx["p_perm"] - 1e-12)
    assert mx["p_corrected"][0, 0] < 0.05
    assert group_contrast(values, groups, 10, seed=1, correction=None)["p_corrected"] is None


def test_welch_permutation_keeps_error_rate_with_unequal_spread():
    """Small noisy group vs large quiet group: the pooled F is liberal, Welch's is not."""
    rng = np.random.default_rng(14)
    groups = np.repeat([0, 1], [5, 15])
    values = rng.normal(size=(20, 1000)) * np.where(groups == 0, 2.0, 1.0)[:, None]
    pooled = group_contrast(values, groups, n_permutations=300, seed=0, correction=None)
    welch = group_contrast(
        values, groups, n_permutations=300, seed=0, statistic="welch", correction=None
    )
    assert np.mean(pooled["p_perm"] < 0.05) > 0.1
    assert 0.03 <= np.mean(welch["p_perm"] < 0.05) <= 0.07


def test_correlation_interval_against_scipy():
    rng = np.random.default_rng(15)
    x = rng.normal(size=12)
    y = 0.5 * x + rng.normal(size=12)
    res = correlation_test(x, y, n_permutations=99, seed=0, ci=0.9)
    lim = sps.pearsonr(x, y).confidence_interval(0.9)
    np.testing.assert_allclose(res["r_ci"], [lim.low, lim.high])
    sr = correlation_test(x, y, n_permutations=99, seed=0, method="spearman")
    z = np.arctanh(sr["r"])
    np.testing.assert_allclose(
        np.arctanh(sr["r_ci"]), z + np.array([-1, 1]) * 1.959964 * np.sqrt(1.06 / 9), rtol=1e-6
    )


def test_mixed_model_against_pingouin_and_closed_form():
    """Balanced split-plot: MixedLM Wald F with between-within df equals the mixed ANOVA."""
    pg = pytest.importorskip("pingouin")
    import pandas as pd

    rng = np.random.default_rng(2)
    rows = []
    for d in range(10):
        # dyad, dyad x segment and dyad x band effects: every stratum has its own variance
        g, u = ("mindful" if d < 5 else "other"), rng.normal(0, 0.7)
        us, ub = rng.normal(0, 0.6, 2), rng.normal(0, 0.6, 2)
        for i, s in enumerate(("rest_pre", "rest_post")):
            for j, band in enumerate(("theta", "alpha")):
                shift = 0.9 if (g == "mindful" and s == "rest_post") else 0.0
                rows.append(
                    dict(
                        dyad=f"d{d}",
                        group=g,
                        segment=s,
                        band=band,
                        value=u + us[i] + ub[j] + shift + rng.normal(0, 0.5),
                    )
                )
    df = pd.DataFrame(rows)
    res = mixed_model(df, within=["segment", "band"])
    terms = {t["term"]: t for t in res["terms"]}
    assert set(terms) == {
        "group",
        "segment",
        "band",
        "group x segment",
        "group x band",
        "segment x band",
        "group x segment x band",
    }
    # one within factor at a time against pingouin's mixed ANOVA on the cell means
    for w in ("segment", "band"):
        cell = df.groupby(["dyad", "group", w], as_index=False)["value"].mean()
        ref = pg.mixed_anova(
            cell, dv="value", within=w, between="group", subject="dyad", correction=False
        ).set_index("Source")
        one = {t["term"]: t for t in mixed_model(cell, within=w)["terms"]}
        for src, term in (("group", "group"), (w, w), ("Interaction", f"group x {w}")):
            assert one[term]["F"] == pytest.approx(ref.loc[src, "F"], rel=1e-3)
            assert one[term]["df2"] == ref.loc[src, "DF2"]
            assert one[term]["eta_sq_partial"] == pytest.approx(ref.loc[src, "np2"], rel=1e-3)
    # closed form: group x segment (2 levels) is the t test of the per-dyad post - pre
    # differences (averaged over band), and group the t test of the dyad means
    wide = df.pivot_table(index=["dyad", "group"], columns="segment", values="value")
    diff = (wide["rest_post"] - wide["rest_pre"]).groupby("group").apply(np.asarray)
    t = sps.ttest_ind(diff["mindful"], diff["other"])
    assert terms["group x segment"]["F"] == pytest.approx(t.statistic**2, rel=1e-3)
    assert terms["group x segment"]["p"] == pytest.approx(t.pvalue, rel=1e-2)
    means = df.groupby(["dyad", "group"])["value"].mean().groupby("group").apply(np.asarray)
    assert terms["group"]["F"] == pytest.approx(
        sps.f_oneway(means["mindful"], means["other"]).statistic, rel=1e-3
    )
    assert terms["group"]["df2"] == 8 and terms["segment x band"]["df2"] == 8
    assert res["converged"] and res["n_subjects"] == 10 and res["boundary"] == []
    coef = {c["name"]: c for c in res["coefficients"]}
    # sum contrasts: the interaction coefficient is a quarter of the difference of differences
    assert coef["group[mindful] x segment[rest_post]"]["estimate"] == pytest.approx(
        (diff["mindful"].mean() - diff["other"].mean()) / 4, rel=1e-3
    )


def test_mixed_model_bad_input():
    rows = [
        dict(dyad=f"d{d}", group=d % 2, segment=s, value=float(d + k))
        for d in range(6)
        for k, s in enumerate(("pre", "post"))
    ]
    with pytest.raises(ValueError, match="no column"):
        mixed_model(rows, within="band")
    with pytest.raises(ValueError, match="No within factor"):
        mixed_model([r for r in rows if r["segment"] == "pre"], within="segment")
    bad = [dict(r, group=k % 2) for k, r in enumerate(rows)]
    with pytest.raises(ValueError, match="more than one 'group' level"):
        mixed_model(bad, within="segment")
    with pytest.warns(RuntimeWarning, match="1 row.*excluded.*d3"):
        mixed_model(
            [
                dict(r, value=np.nan) if (r["dyad"], r["segment"]) == ("d3", "pre") else r
                for r in rows
            ],
            within="segment",
        )


def test_correlation_features_share_permutations_and_family():
    """Columns of x: the same p as one at a time (same seed), corrected as one family."""
    rng = np.random.default_rng(17)
    y = rng.normal(size=10)
    x = rng.normal(size=(10, 2, 2))
    x[:, 0, 0] += 1.5 * y
    res = correlation_test(x, y, n_permutations=999, seed=3)
    for idx in np.ndindex(2, 2):
        one = correlation_test(x[(slice(None),) + idx], y, n_permutations=999, seed=3)
        assert res["r"][idx] == pytest.approx(one["r"])
        assert res["p_perm"][idx] == pytest.approx(one["p_perm"])
        assert res["p_parametric"][idx] == pytest.approx(
            sps.pearsonr(x[(slice(None),) + idx], y).pvalue
        )
    np.testing.assert_allclose(
        res["p_corrected"].ravel(), mne.stats.fdr_correction(res["p_perm"].ravel())[1]
    )
    mx = correlation_test(x, y, n_permutations=999, seed=3, correction="maxstat")
    assert np.all(mx["p_corrected"] >= mx["p_perm"] - 1e-12) and mx["p_corrected"][0, 0] < 0.05
    assert res["r_ci"].shape == (2, 2, 2) and res["n_tests"] == 4


def test_holm_against_statsmodels():
    from statsmodels.stats.multitest import multipletests

    from hyperinsync.stats import holm

    p = np.array([0.01, 0.04, 0.03, 0.2, 0.005, 0.5])
    np.testing.assert_allclose(holm(p), multipletests(p, method="holm")[1])


def test_mixed_model_falls_back_to_random_intercept(monkeypatch):
    """4 dyads and 7 strata: when the stratified fit does not converge, the random-intercept
    model is fitted instead, said so, with between-within df.

    Whether statsmodels' optimisers converge on such data changes between its versions
    (0.14 did not here, 0.15 does), so the non-convergence is made certain: every fit with
    variance components reports failure.
    """
    import hyperinsync.stats.mixed as mixed_module

    real_fit = mixed_module._fit_reml

    def stratified_fails(model):
        fit, ok = real_fit(model)
        return fit, ok and model.k_vc == 0

    monkeypatch.setattr(mixed_module, "_fit_reml", stratified_fails)
    rng = np.random.default_rng(5)
    rows = []
    for d in range(4):
        u = rng.normal(0, 0.3)
        for s in ("pre", "post", "mid"):
            for b in ("theta", "alpha"):
                for r in ("f", "c"):
                    rows.append(
                        dict(
                            dyad=f"d{d}",
                            group=d % 2,
                            segment=s,
                            band=b,
                            roi=r,
                            value=u + rng.normal(),
                        )
                    )
    with pytest.warns(RuntimeWarning, match="random intercept per subject only"):
        res = mixed_model(rows, within=["segment", "band", "roi"])
    assert res["pooled"] and res["converged"] and "intercept per subject only" in res["method"]
    assert list(res["variance"]) == ["subject", "residual"]
    df2 = {t["term"]: t["df2"] for t in res["terms"]}
    assert df2["group"] == 2 and df2["segment x band x roi"] == 48 - 4 - (24 - 2)
