"""In-Sync levels of body and autonomic synchrony: Level 2 segments and session, annotations
on the recording (one naming rule with the EEG), Level 3 across sessions, the heat map.
"""

import datetime as dt

import matplotlib
import mne
import numpy as np
import pytest

from hyperinsync import (
    PhysioCoupling,
    annotate,
    lagged_sync,
    level3,
    simulate_physio_dyad,
    simulate_physio_study,
)
from hyperinsync.stats import segment_table
from hyperinsync.viz import plot_lagged_sync

matplotlib.use("Agg")

KW = dict(lag=5, window=30, step=15, n_surrogates=199, n_boot=200, seed=0, verbose=False)


@pytest.fixture(scope="module")
def im_coupled():
    """Heart rate coupled (therapist leads by 2 s) in the two IM stretches only."""
    segs = [("IM", 0, 300), ("CB", 300, 300), ("IM", 600, 300)]
    raw, _ = simulate_physio_dyad(
        900,
        4.0,
        modalities=["heart", "movement"],
        segments=segs,
        seed=5,
        couplings=[PhysioCoupling("heart", 0.8, 2.0, episodes=[(0, 300), (600, 900)])],
    )
    return raw, lagged_sync(raw, segments=["IM", "CB"], **KW)


def test_level2_segments_session_and_fdr(im_coupled):
    from statsmodels.stats.multitest import multipletests

    raw, res = im_coupled
    ses, seg = res.to_table("session"), res.to_table("segment")
    # one Benjamini-Hochberg family: every modality's session and segment rows
    p = np.r_[ses["sync_p"], seg["sync_p"]]
    want = multipletests(p, method="fdr_bh")[1]
    np.testing.assert_allclose(np.r_[ses["sync_p_fdr"], seg["sync_p_fdr"]], want, rtol=1e-12)
    np.testing.assert_allclose(ses["sync_corrected"], ses["sync"] - ses["sync_null_mean"])
    hr = seg[seg["modality"] == "HR"].set_index("segment")
    assert hr.loc["IM", "sync_p_fdr"] <= 0.05 < hr.loc["CB", "sync_p_fdr"]
    assert hr.loc["IM", "leader"] == "therapist-led"
    assert (seg[seg["modality"] == "MEA"]["sync_p_fdr"] > 0.05).all()  # never coupled
    # Level 2 annotations: the session and each IM stretch, named like the EEG's
    l2 = [
        (a["onset"], a["duration"])
        for a in res.annotations
        if a["description"] == "insync/L2/HR/HR-HR"
    ]
    assert sorted(l2) == [(0.0, 300.0), (0.0, 900.0), (600.0, 300.0)]
    assert not [d for d in res.annotations.description if "/MEA/" in d]
    # every Level 1 episode lies in a coupled stretch
    for ep in res.episodes:
        assert ep["modality"] == "HR"
        assert ep["onset"] + ep["duration"] <= 300 + 35 or ep["onset"] >= 600 - 35


def test_annotate_places_and_overwrites_lagged_results(im_coupled):
    raw, res = im_coupled
    raw = raw.copy()
    raw.set_meas_date(dt.datetime(2024, 1, 8, 10, tzinfo=dt.timezone.utc))
    # an analysis of a cropped stretch lands at its place in the whole recording
    part = lagged_sync(
        raw.copy().crop(600.0, None), pairs={"HR": ("HR", "HR")}, **dict(KW, lead_block=20.0)
    )
    assert part.episodes
    annotate(raw, part)
    got = [
        (
            round(
                a["onset"]
                - raw.first_time
                - (a["orig_time"] - raw.info["meas_date"]).total_seconds(),
                6,
            ),
            a["duration"],
        )
        for a in raw.annotations
        if a["description"] == "insync/L1/HR/HR-HR"
    ]
    assert got == [(round(e["onset"] + 600.0, 6), e["duration"]) for e in part.episodes]
    # annotating again replaces only the same levels and modalities
    raw.annotations.append(10.0, 5.0, "insync/L1/alpha/frontal-frontal")
    annotate(raw, res)
    annotate(raw, res)
    desc = list(raw.annotations.description)
    res_desc = list(res.annotations.description)
    n_res = {d: res_desc.count(d) for d in set(res_desc)}
    for d, n in n_res.items():
        assert desc.count(d) == n
    assert desc.count("insync/L1/alpha/frontal-frontal") == 1
    assert {"IM", "CB"} <= set(desc)
    with pytest.raises(ValueError, match="computed at 4 Hz"):
        annotate(raw.copy().resample(2.0, verbose=False), res)
    with pytest.raises(TypeError, match="LaggedSyncResult"):
        annotate(raw, res.to_dict())


def test_level3_across_sessions():
    """Level 3 from the session rows of lagged results: the same as by hand."""
    study = simulate_physio_study(
        n_dyads=2, n_sessions=3, segments=(("IM", 180.0),), modalities=("heart",), sfreq=4.0, seed=1
    )
    results, design = [], []
    for row in study.table:
        raw, _ = study.get_dyad(row["dyad"], row["session"], verbose=False)
        results.append(
            lagged_sync(
                raw, lag=2, window=10, step=5, n_surrogates=49, n_boot=0, seed=0, verbose=False
            )
        )
        design.append(dict(dyad=row["dyad"], session=row["session"], date=row["date"]))
    tab = segment_table(results, design, level="session")
    l3 = level3(tab, value="sync_corrected", n_permutations=199, seed=0)
    by_hand = {}
    for res, d in zip(results, design):
        by_hand.setdefault(d["dyad"], []).append(res.sessions[0]["sync_corrected"])
    for row in l3.to_table().to_dict("records"):
        vals = by_hand[row["dyad"]]
        assert row["slope"] == pytest.approx(np.polyfit([0, 1, 2], vals, 1)[0], abs=1e-12)
        assert row["first"] == vals[0] and row["last"] == vals[2]
    assert "slope_per_week" in l3.dyads[0]  # the dates came through
    with pytest.raises(ValueError, match="'sync_corr' column"):
        level3(tab, value="sync_corr")
    with pytest.raises(ValueError, match="select one"):
        level3(segment_table(results + results, design + design, level="session"), value="sync")


def test_heat_map_shows_the_values_and_episodes(im_coupled):
    import matplotlib.pyplot as plt

    _, res = im_coupled
    fig = plot_lagged_sync(res, show=False)
    ax_hr, ax_mea = [ax for ax in fig.axes if ax.images]
    for ax, mod in ((ax_hr, "HR"), (ax_mea, "MEA")):
        img = ax.images[0].get_array()
        want = res.get_data(mod).T  # lags x windows
        np.testing.assert_array_equal(np.ma.getmaskarray(img), ~np.isfinite(want))
        np.testing.assert_array_equal(np.ma.filled(img, np.nan), want)
        x0, x1, y0, y1 = ax.images[0].get_extent()
        win, step = res.params["window"], res.params["step"]
        assert x0 == pytest.approx(res.window_starts[0] + win / 2 - step / 2)
        assert x1 == pytest.approx(res.window_starts[-1] + win / 2 + step / 2)
        assert (y0 + y1) / 2 == pytest.approx(0.0) and y1 > res.lags[-1]
    eps = [e for e in res.episodes if e["modality"] == "HR"]
    boxes = [(p.get_x(), p.get_width()) for p in ax_hr.patches]
    assert boxes == [(e["onset"], e["duration"]) for e in eps]
    assert {t.get_text().split(",")[0] for t in ax_hr.texts} == {e["leader"] for e in eps}
    assert not ax_mea.patches
    # signed values into the user's axes
    fig2, ax = plt.subplots()
    assert plot_lagged_sync(res, "HR", absolute=False, episodes=False, axes=ax, show=False) is fig2
    np.testing.assert_array_equal(
        np.ma.filled(ax.images[0].get_array(), np.nan), res.get_data("HR", absolute=False).T
    )
    assert ax.images[0].get_clim()[0] == -ax.images[0].get_clim()[1]
    with pytest.raises(ValueError, match="not in this result"):
        plot_lagged_sync(res, "EDA", show=False)
    with pytest.raises(ValueError, match="needs 2 axes"):
        plot_lagged_sync(res, axes=ax, show=False)
    plt.close("all")


def test_level2_from_dict_and_old_results(im_coupled):
    """A stored result keeps its Level 2 annotations; one without segment spans still works."""
    from hyperinsync import LaggedSyncResult

    _, res = im_coupled
    back = LaggedSyncResult.from_dict(res.to_dict())
    assert list(back.annotations.description) == list(res.annotations.description)
    d = res.to_dict()
    d["params"] = {k: v for k, v in d["params"].items() if k not in ("segment_spans", "first_time")}
    d["segments"] = []
    old = LaggedSyncResult.from_dict(d)
    assert sorted(
        a["duration"] for a in old.annotations if a["description"].startswith("insync/L2/")
    ) == [900.0]
    assert isinstance(old.annotations, mne.Annotations)
