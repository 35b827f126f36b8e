"""Multilevel statistics of synchrony (hyperinsync.stats.multilevel)."""

import numpy as np
import pandas as pd
import pytest

from hyperinsync import lagged_sync, simulate_physio_study
from hyperinsync.stats import icc, predict_outcome, segment_table


def _two_level(n_dyads=30, n_sessions=5, sd_dyad=0.5, sd_session=1.0, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for d in range(n_dyads):
        b = rng.normal(0, sd_dyad)
        for s in range(n_sessions):
            rows.append(dict(dyad=f"d{d}", session=s, sync=1.0 + b + rng.normal(0, sd_session)))
    return pd.DataFrame(rows)


# pingouin's own pandas deprecation, not ours
@pytest.mark.filterwarnings("ignore:The inplace keyword")
def test_icc_matches_anova_and_pingouin():
    pg = pytest.importorskip("pingouin")
    df = _two_level()
    res = icc(df, "sync", "dyad")
    # closed form: balanced one-way ANOVA
    wide = df.pivot(index="dyad", columns="session", values="sync").to_numpy()
    a, k = wide.shape
    msb = k * np.sum((wide.mean(1) - wide.mean()) ** 2) / (a - 1)
    msw = np.sum((wide - wide.mean(1, keepdims=True)) ** 2) / (a * (k - 1))
    closed = (msb - msw) / (msb + (k - 1) * msw)
    assert res["icc_anova"] == pytest.approx(closed, abs=1e-12)
    # REML equals the ANOVA estimator for balanced data with a positive estimate
    assert res["icc"] == pytest.approx(closed, abs=1e-5)
    assert res["variance"]["residual"] == pytest.approx(msw, rel=1e-5)
    ref = pg.intraclass_corr(df, targets="dyad", raters="session", ratings="sync")
    icc1 = ref.set_index("Type").iloc[0]  # ICC1 / ICC(1,1): one-way random effects
    assert ref["Type"].iloc[0] in ("ICC1", "ICC(1,1)")
    assert res["icc_anova"] == pytest.approx(icc1["ICC"], abs=1e-12)
    assert res["F"] == pytest.approx(icc1["F"], rel=1e-10)
    np.testing.assert_allclose(
        [res["icc_anova_ci_low"], res["icc_anova_ci_high"]],
        icc1[[c for c in ref.columns if c.startswith("CI95")][0]],
        atol=0.005,
    )  # pingouin rounds to 2 decimals


def test_icc_nested_matches_balanced_anova():
    rng = np.random.default_rng(3)
    a, b, n = 20, 4, 3  # dyads, sessions, segments
    rows = []
    for d in range(a):
        ud = rng.normal(0, 0.6)
        for s in range(b):
            us = rng.normal(0, 0.4)
            for g in range(n):
                rows.append(dict(dyad=d, session=s, segment=g, sync=ud + us + rng.normal(0, 0.5)))
    df = pd.DataFrame(rows)
    res = icc(df, "sync", "dyad", nested="session")
    y = df.sort_values(["dyad", "session", "segment"])["sync"].to_numpy().reshape(a, b, n)
    msa = b * n * np.sum((y.mean((1, 2)) - y.mean()) ** 2) / (a - 1)
    msb = n * np.sum((y.mean(2) - y.mean(2).mean(1, keepdims=True)) ** 2) / (a * (b - 1))
    mse = np.sum((y - y.mean(2, keepdims=True)) ** 2) / (a * b * (n - 1))
    v = res["variance"]
    assert v["residual"] == pytest.approx(mse, rel=1e-4)
    assert v["session"] == pytest.approx((msb - mse) / n, rel=1e-3)
    assert v["dyad"] == pytest.approx((msa - msb) / (b * n), rel=1e-3)
    assert res["icc_nested"] > res["icc"] > 0


def test_icc_errors_and_missing():
    df = _two_level(n_dyads=5)
    df.loc[3, "sync"] = np.nan
    with pytest.warns(RuntimeWarning, match="1 row"):
        icc(df)
    with pytest.raises(ValueError, match="no column"):
        icc(df, "nope")
    with pytest.raises(ValueError, match="at least 2"):
        icc(df[df["dyad"] == "d1"])


def test_predict_outcome_recovers_planted_coefficients():
    study = simulate_physio_study(n_dyads=40, n_sessions=5, seed=1)
    table = study.to_table()
    res = predict_outcome(table, "bond", ["strength_IM", "strength_CB"])
    # no centring is spelled None, as correction=None everywhere
    same = predict_outcome(table, "bond", ["strength_IM", "strength_CB"], center=None)
    pd.testing.assert_frame_equal(same["table"], res["table"])
    with pytest.raises(ValueError, match="center"):
        predict_outcome(table, "bond", "strength_IM", center="none")
    tab = res["table"].set_index("term")
    lo, hi = tab.loc["strength_IM", ["ci_low", "ci_high"]]
    assert lo < 4.0 < hi and lo > 0  # planted: bond = ... + 4 * strength_IM
    lo, hi = tab.loc["strength_CB", ["ci_low", "ci_high"]]
    assert lo < 0.0 < hi  # bond does not depend on CB
    assert res["n_groups"] == 40 and res["n_obs"] == 200
    task = predict_outcome(table, "task", "strength_CB", center="within")["table"]
    task = task.set_index("term")
    for part in ("strength_CB (within)", "strength_CB (between)"):
        lo, hi = task.loc[part, ["ci_low", "ci_high"]]
        assert lo < 4.0 < hi, part
    # the design's strengths have the planted intraclass correlation (dyad SD 0.12,
    # session SD 0.08: 0.69)
    r = icc(table, "strength_IM", "dyad")
    assert r["icc"] == pytest.approx(study.design["icc"], abs=0.12)


def test_pipeline_segments_to_outcome():
    """Simulated sessions -> lagged synchrony per segment -> table -> mixed model."""
    study = simulate_physio_study(
        n_dyads=6,
        n_sessions=3,
        segments=(("IM", 240.0), ("CB", 240.0)),
        sfreq=4.0,
        modalities=("heart",),
        dyad_sd=0.2,
        seed=2,
    )
    results, design = [], []
    for row in study.table:
        raw, _ = study.get_dyad(row["dyad"], row["session"])
        results.append(
            lagged_sync(
                raw,
                lag=3,
                window=20,
                step=20,
                n_surrogates=49,
                n_boot=100,
                segments=["IM", "CB"],
                seed=0,
            )
        )
        design.append(
            dict(
                dyad=row["dyad"],
                session=row["session"],
                bond=row["bond"],
                strength_IM=row["strength_IM"],
            )
        )
    seg = segment_table(results, design)
    assert len(seg) == 18 * 2 and {"dyad", "session", "segment", "sync"} <= set(seg.columns)
    wide = seg.pivot_table(
        index=["dyad", "session", "bond", "strength_IM"], columns="segment", values="sync"
    ).reset_index()
    # measured IM synchrony follows the planted strength
    assert np.corrcoef(wide["IM"], wide["strength_IM"])[0, 1] > 0.5
    res = predict_outcome(wide, "bond", ["IM"])
    assert res["table"].set_index("term").loc["IM", "estimate"] > 0
    dec = icc(seg[seg["segment"] == "IM"], "sync", "dyad")
    assert 0 <= dec["icc"] <= 1
