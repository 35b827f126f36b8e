"""Every result object shares one base: labels, params, get_data, to_table, to_dict/from_dict.

The getters are checked against the stored arrays and against independent computations
(the surrogate z from its null, Level 3's slope with numpy.polyfit, the group contrast with
scipy.stats.f_oneway, the correlation with scipy.stats.pearsonr).
"""

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from hyperinsync import (
    Coupling,
    LaggedSyncResult,
    PhysioCoupling,
    compute_sync,
    lagged_sync,
    simulate_dyad,
    simulate_physio_dyad,
)
from hyperinsync.base import BaseResult, label_index
from hyperinsync.insync import InSyncLevel1, InSyncLevel2, InSyncLevel3, level1, level2, level3
from hyperinsync.stats import (
    ContrastResult,
    CorrelationResult,
    MixedModelResult,
    SurrogateResult,
    correlation_test,
    group_contrast,
    mixed_model,
    surrogate_test,
)
from hyperinsync.study.results import RESULT_CLASSES
from hyperinsync.sync import SyncResult

BANDS = {"theta": (4.0, 8.0), "alpha": (8.0, 13.0)}
ROIS = {"frontal": ["Fp1", "Fp2", "F3", "F4", "Fz"], "occipital": ["O1", "O2", "Oz"]}


@pytest.fixture(scope="module")
def dyad():
    segs = [("rest_pre", 30.0), ("rest_post", 30.0)]
    return simulate_dyad(
        duration=60.0,
        sfreq=100.0,
        segments=segs,
        seed=3,
        verbose=False,
        couplings=[Coupling("alpha", "frontal", "frontal", strength=0.9, episodes=[(20.0, 35.0)])],
    )[0]


@pytest.fixture(scope="module")
def results(dyad):
    """One result of every kind (small, fast settings)."""
    sync = compute_sync(dyad, BANDS, ["plv", "coh"], rois=ROIS, verbose=False)
    sur = surrogate_test(
        dyad, BANDS, ["plv", "coh"], rois=ROIS, n_surrogates=19, seed=0, verbose=False
    )
    l1 = level1(
        dyad,
        BANDS,
        ROIS,
        window=4.0,
        step=1.0,
        n_surrogates=19,
        seed=0,
        lead_lag=False,
        verbose=False,
    )
    l2 = level2(
        dyad,
        BANDS,
        ROIS,
        segments=["rest_pre", "rest_post"],
        n_surrogates=19,
        n_permutations=99,
        seed=0,
        verbose=False,
    )
    rng = np.random.default_rng(0)
    sessions = {
        f"d{k}": list(0.3 + 0.02 * np.arange(4) * k + 0.01 * rng.standard_normal(4))
        for k in range(4)
    }
    dates = {
        d: [dt.date(2024, 1, 1) + dt.timedelta(days=7 * j) for j in range(4)] for d in sessions
    }
    l3 = level3(sessions, dates, n_permutations=199, seed=0)
    values = rng.standard_normal((10, 3)) + np.repeat([[0.0], [1.0]], 5, axis=0)
    groups = np.repeat(["a", "b"], 5)
    contrast = group_contrast(values, groups, n_permutations=199, seed=0)
    corr = correlation_test(values, np.arange(10.0), n_permutations=199, seed=0)
    rows = [
        dict(dyad=f"d{i}", group=groups[i], cond=c, value=values[i, j] + 0.5 * j)
        for i in range(10)
        for j, c in enumerate(("x", "y", "z"))
    ]
    mixed = mixed_model(rows, within="cond")
    return dict(
        sync=sync,
        sur=sur,
        l1=l1,
        l2=l2,
        l3=l3,
        contrast=contrast,
        corr=corr,
        mixed=mixed,
        values=values,
        groups=groups,
        sessions=sessions,
        lagged=lagged_sync(physio(), segments=["IM", "CB"], **LAGGED_KW),
    )


def physio():
    """Heart rate coupled (therapist leads by 2 s) in IM, and uncoupled movement."""
    return simulate_physio_dyad(
        400,
        4.0,
        modalities=["heart", "movement"],
        seed=5,
        segments=[("IM", 0, 200), ("CB", 200, 200)],
        couplings=[PhysioCoupling("heart", 0.8, 2.0, episodes=[(0, 200)])],
    )[0]


LAGGED_KW = dict(
    lag=5, window=30, step=15, n_surrogates=49, n_boot=100, lead_block=40.0, seed=0, verbose=False
)
KINDS = ("sync", "sur", "l1", "l2", "l3", "contrast", "corr", "mixed", "lagged")


def test_every_result_class_shares_the_base(results):
    classes = (
        SyncResult,
        SurrogateResult,
        InSyncLevel1,
        InSyncLevel2,
        InSyncLevel3,
        ContrastResult,
        CorrelationResult,
        MixedModelResult,
        LaggedSyncResult,
    )
    for cls in classes:
        assert issubclass(cls, BaseResult), cls
    # every class a results file stores rebuilds with the shared from_dict
    assert set(RESULT_CLASSES.values()) <= set(classes)
    for key in KINDS:
        res = results[key]
        assert isinstance(res.labels, dict) and res.labels, key
        assert isinstance(res.params, dict), key
        table = res.to_table()
        assert isinstance(table, pd.DataFrame) and len(table), key
        back = type(res).from_dict(res.to_dict())
        assert back == res and not back != res, key
        assert back.to_table().equals(table), key


def test_group_results_stay_dicts(results):
    """group_contrast / correlation_test / mixed_model returned dicts: they still are."""
    for key in ("contrast", "corr", "mixed"):
        assert isinstance(results[key], dict)
    assert results["contrast"]["p_perm"].shape == (3,)
    back = ContrastResult.from_dict(dict(results["contrast"]))  # a plain stored dict
    np.testing.assert_array_equal(back.get_data(kind="F"), results["contrast"]["F"])


def test_sync_result_getter_and_labels(results):
    res = results["sync"]
    assert res.labels == dict(
        measure=["plv", "coh"], band=["theta", "alpha"], row=res.rows, col=res.cols
    )
    np.testing.assert_array_equal(res.get_data("coh", "alpha"), res.data[1, 1])
    with pytest.raises(
        ValueError,
        match=r"several measures \(\['plv', 'coh'\]\): choose one "
        r"with measure=\.\.\.",
    ):
        res.get_data(band="alpha")
    table = res.to_table(level="roi")
    assert list(table.columns[:4]) == ["measure", "band", "fmin_6db", "fmax_6db"]


def test_surrogate_result_getter_against_its_null(results):
    res = results["sur"]
    assert list(res.labels) == ["measure", "band", "row", "col"]
    null = res.get_data("plv", "alpha", kind="null")
    obs = res.get_data("plv", "alpha")
    assert null.shape == (19, 2, 2) and obs.shape == (2, 2)
    z = (obs - null.mean(axis=0)) / null.std(axis=0, ddof=1)  # independent z
    np.testing.assert_allclose(res.get_data("plv", "alpha", kind="z"), z, rtol=1e-12)
    b = (null >= obs).sum(axis=0)  # 'greater' tail of PLV: (b + 1) / (N + 1)
    np.testing.assert_allclose(res.get_data("plv", "alpha", kind="p"), (b + 1) / 20)
    assert res.get_data(band="theta", kind="phase").shape == (2, 2)
    with pytest.raises(ValueError, match="kind must be one of"):
        res.get_data("plv", "alpha", kind="pvalue")


def test_level1_getter_and_deprecated_series(results):
    res = results["l1"]
    assert res.labels == dict(
        band=["theta", "alpha"], roi_a=["frontal", "occipital"], roi_b=["frontal", "occipital"]
    )
    series = res.get_data("alpha", "frontal", "frontal")
    np.testing.assert_array_equal(series, res.values[1, 0, 0])
    assert res.get_data("alpha").shape == (2, 2, len(res.times))
    np.testing.assert_array_equal(
        res.get_data("theta", None, "occipital", kind="tonic"), res.tonic[0, :, 1]
    )
    # above chance: p_chance <= alpha, window by window
    np.testing.assert_array_equal(
        res.get_data("alpha", kind="above_chance"), res.p_chance[1] <= res.params["alpha"]
    )
    with pytest.warns(FutureWarning, match="get_series.* is deprecated.*get_data"):
        times, vals = res.get_series("alpha", "frontal", "frontal")
    np.testing.assert_array_equal(times, res.times)
    np.testing.assert_array_equal(vals, series)


def test_level1_empty_episode_table_has_columns(results):
    d = results["l1"].to_dict()
    d["episodes"] = []
    table = InSyncLevel1.from_dict(d).to_table()
    assert len(table) == 0 and {"band", "onset", "duration", "p"} <= set(table.columns)


def test_level2_getter_and_deprecated_value(results):
    res = results["l2"]
    assert list(res.labels) == ["segment", "band", "roi_a", "roi_b"]
    assert res.labels["segment"] == ["rest_pre", "rest_post"]
    val = res.get_data("rest_post", "alpha", "frontal", "frontal")
    row = next(
        r
        for r in res.rows
        if (r["segment"], r["band"], r["roi_a"], r["roi_b"])
        == ("rest_post", "alpha", "frontal", "frontal")
    )
    assert float(val) == pytest.approx(row["value"], rel=1e-12)
    assert res.get_data("rest_pre", "theta", kind="null").shape == (19, 2, 2)
    with pytest.raises(ValueError, match="several segments"):
        res.get_data(band="alpha")
    with pytest.warns(FutureWarning, match="get_value.* is deprecated"):
        assert res.get_value("rest_post", "alpha", "frontal", "frontal") == float(val)


def test_level3_getter_against_polyfit(results):
    res = results["l3"]
    assert res.labels == dict(dyad=list(results["sessions"]))
    slopes = [np.polyfit(np.arange(4), v, 1)[0] for v in results["sessions"].values()]
    np.testing.assert_allclose(res.get_data(), slopes, rtol=1e-10)
    assert float(res.get_data("d2", kind="change")) == pytest.approx(
        results["sessions"]["d2"][-1] - results["sessions"]["d2"][0]
    )
    np.testing.assert_allclose(res.get_data(kind="slope_per_week"), slopes, rtol=1e-10)


def test_group_contrast_and_correlation_tables_against_scipy(results):
    values, groups = results["values"], results["groups"]
    res = results["contrast"]
    assert res.labels == dict(group=["a", "b"], feature=[0, 1, 2])
    table = res.to_table()
    assert list(table["feature"]) == [0, 1, 2]
    for j in range(3):
        f = sps.f_oneway(values[groups == "a", j], values[groups == "b", j]).statistic
        assert table["F"][j] == pytest.approx(f, rel=1e-10)
        assert float(res.get_data(j, kind="F")) == pytest.approx(f, rel=1e-10)
        assert table["mean_b"][j] == pytest.approx(values[groups == "b", j].mean())
        lo, hi = res.get_data(j, kind="d_ci")
        assert (table["d_ci_low"][j], table["d_ci_high"][j]) == (lo, hi) and lo < hi
    corr = results["corr"]
    for j in range(3):
        r = sps.pearsonr(values[:, j], np.arange(10.0)).statistic
        assert float(corr.get_data(j, kind="r")) == pytest.approx(r, rel=1e-10)
        assert corr.to_table()["r"][j] == pytest.approx(r, rel=1e-10)
    # labelled features, as a study stores them
    corr = CorrelationResult(dict(corr, labels=np.array(["x/plv", "y/plv", "z/plv"])))
    assert corr.get_data("y/plv", kind="p_perm") == corr["p_perm"][1]
    with pytest.raises(ValueError, match="feature 'w' is not in this result"):
        corr.get_data("w")


def test_mixed_model_tables(results):
    res = results["mixed"]
    terms = res.labels["term"]
    assert len(terms) == 3 and res.to_table()["term"].tolist() == terms
    assert res.get_data(terms[1], kind="F") == pytest.approx(res["terms"][1]["F"])
    assert set(res.coefficient_table().columns) >= {"name", "estimate", "se"}


def test_from_dict_reads_earlier_layouts(results):
    """Results written before the rename n_null -> n_surrogates still read."""
    for key, cls in (("l1", InSyncLevel1), ("l2", InSyncLevel2)):
        d = results[key].to_dict()
        params = dict(d["params"])
        params["n_null"] = params.pop("n_surrogates")
        back = cls.from_dict(dict(d, params=params))
        assert back.params["n_surrogates"] == 19 and "n_null" not in back.params
        assert back == results[key]


def test_lagged_result_getter_against_corrcoef(results):
    """get_data picks by label; at lag 0 a window's value is the Fisher z of the Pearson r
    of the two series in that window (numpy).
    """
    res, raw = results["lagged"], physio()
    assert list(res.labels) == ["modality", "window", "lag"]
    assert res.labels["modality"] == ["HR", "MEA"]
    assert res.labels["lag"] == list(res.lags) and len(res.labels["window"]) == res.values.shape[1]
    signed = res.get_data("MEA", absolute=False)
    np.testing.assert_array_equal(signed, res.values[1])
    np.testing.assert_array_equal(res.get_data("MEA"), np.abs(res.values[1]))  # absolute
    sf, k0 = raw.info["sfreq"], int(np.flatnonzero(res.lags == 0)[0])
    a, b = raw.get_data(picks=["therapist:HR", "client:HR"])
    for w in (0, 5, len(res.window_starts) - 1):
        s0 = int(round(res.window_starts[w] * sf))
        seg = slice(s0, s0 + int(round(30 * sf)))
        r = np.corrcoef(a[seg], b[seg])[0, 1]
        assert res.get_data("HR", absolute=False)[w, k0] == pytest.approx(np.arctanh(r), rel=1e-9)
    np.testing.assert_array_equal(res.get_data("HR", kind="window_p"), res.window_p[0])
    with pytest.raises(ValueError, match=r"several modalitys \(\['HR', 'MEA'\]\)"):
        res.get_data()
    with pytest.raises(ValueError, match=r"modality 'EDA' is not in this result"):
        res.get_data("EDA")
    with pytest.warns(FutureWarning, match="get_values.* is deprecated.*get_data"):
        np.testing.assert_array_equal(res.get_values("MEA", False), signed)
    # an empty episode table still has its columns
    table = LaggedSyncResult.from_dict(dict(res.to_dict(), episodes=[])).to_table("episode")
    assert len(table) == 0 and {"modality", "onset", "leader", "p"} <= set(table.columns)


def test_lagged_result_round_trip_through_the_results_file_writer(results, tmp_path):
    """A lagged result stored by the results file's writer reads back equal (arrays, rows
    with NaN, parameters, annotations), also without surrogates, through RESULT_CLASSES.
    """
    import h5py

    from hyperinsync.study.h5 import read_dict, write_dict

    none = lagged_sync(physio(), pairs=["HR"], lag=5, window=30, step=15, null=None, verbose=False)
    assert none.null_sum_abs.shape[1] == 0 and not none.episodes
    for k, res in enumerate((results["lagged"], none)):
        with h5py.File(tmp_path / "r.h5", "w") as f:
            write_dict(f.create_group(f"g{k}"), res.to_dict())
        with h5py.File(tmp_path / "r.h5", "r") as f:
            back = RESULT_CLASSES["lagged"].from_dict(read_dict(f[f"g{k}"]))
        assert type(back) is LaggedSyncResult and back == res
        for level in ("session", "segment", "window", "episode"):
            pd.testing.assert_frame_equal(back.to_table(level), res.to_table(level))
        assert back.params == res.params and back.channels == res.channels
        assert list(back.annotations.description) == list(res.annotations.description)
        np.testing.assert_array_equal(back.annotations.onset, res.annotations.onset)


def test_label_index():
    assert label_index("band", None, ["alpha"]) == 0
    assert label_index("band", "beta", ["alpha", "beta"]) == 1
    with pytest.raises(ValueError, match=r"band 'gamma' is not in this result: \['alpha'\]"):
        label_index("band", "gamma", ["alpha"])
