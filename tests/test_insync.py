"""In-Sync Levels 1-3 against simulated ground truth and a plain per-window computation."""

import datetime as dt

import mne
import numpy as np
import pytest
from scipy.stats import median_abs_deviation

from hyperinsync import Coupling, compute_sync, read_dyad_fif, simulate_dyad, stats
from hyperinsync.insync import (
    InSyncLevel1,
    InSyncLevel2,
    InSyncLevel3,
    annotate,
    correlate_with_questionnaire,
    level1,
    level2,
    level3,
)

ALPHA = {"alpha": (8.0, 13.0)}
BANDS = {"theta": (4.0, 8.0), "alpha": (8.0, 13.0)}
FRONTAL = {"frontal": ["Fp1", "Fp2", "F3", "F4", "Fz"]}
TWO_ROIS = {"frontal": ["Fp1", "Fp2", "F3", "F4", "Fz"], "occipital": ["O1", "O2", "Oz"]}
# Level 1 test geometry: 2 s windows every 0.5 s. Episode edges are found to about one step
# for episodes longer than the window, so onsets are asserted within one step (0.5 s) and
# durations within two steps (1 s) of the planted ones. The simulation ramps each episode up
# and down over 0.5 s inside it, so the half-coupled point lies 0.25 s inside each edge.
WINDOW, STEP = 2.0, 0.5
PLANTED = [(20.0, 40.0), (55.0, 67.0)]


def _sim(couplings, duration=80.0, seed=0, **kw):
    return simulate_dyad(
        duration=duration, sfreq=100.0, couplings=couplings, seed=seed, verbose=False, **kw
    )[0]


@pytest.fixture(scope="module")
def planted():
    raw = _sim([Coupling("alpha", "frontal", "frontal", strength=0.9, episodes=PLANTED)], seed=1)
    res = level1(
        raw, ALPHA, FRONTAL, window=WINDOW, step=STEP, n_surrogates=100, seed=0, verbose=False
    )
    return raw, res


def test_running_sums_equal_per_window_computation():
    """Every window equals compute_measure on that window (via compute_sync), ROI-averaged."""
    raw = _sim([Coupling("alpha", "frontal", "frontal", strength=0.5)], duration=40.0)
    chs = [c for roi in TWO_ROIS.values() for c in roi]
    picks = [f"{role}:{c}" for role in ("A", "B") for c in chs]  # only the ROI channels
    for measure in ("plv", "coh", "imcoh"):
        res = level1(
            raw,
            BANDS,
            TWO_ROIS,
            measure=measure,
            window=2.0,
            step=0.25,
            n_surrogates=19,
            min_shift=5.0,
            lead_lag=False,
            seed=0,
            verbose=False,
        )
        for bi, band in enumerate(BANDS):
            ref = compute_sync(
                raw,
                {band: BANDS[band]},
                measure,
                rois=TWO_ROIS,
                epoch_duration=2.0,
                overlap=1.75,
                decim=res.params["decim"][band],
                picks=picks,
                verbose=False,
            ).get_data(measure, band, level="roi", kind="epochs")
            assert ref.shape == (len(res.times), 2, 2)
            np.testing.assert_allclose(
                np.moveaxis(res.values[bi], -1, 0), ref, rtol=1e-5, atol=1e-6
            )
    np.testing.assert_allclose(res.times, 1.0 + 0.25 * np.arange(len(res.times)))


def test_level1_finds_planted_episodes(planted):
    raw, res = planted
    eps = res.episodes
    assert len(eps) == len(PLANTED)
    for ep, (on, off) in zip(eps, PLANTED):
        assert (ep["band"], ep["roi_a"], ep["roi_b"]) == ("alpha", "frontal", "frontal")
        assert abs(ep["onset"] - on) <= STEP
        assert abs(ep["duration"] - (off - on)) <= 2 * STEP
        assert ep["p"] <= 0.05 and ep["z"] > 3
        assert ep["peak"] > res.threshold[0, 0, 0]
    # windows well outside the episodes are not significant; windows inside are
    t, p = res.times, res.p_values[0, 0, 0]
    inside = (t > 23) & (t < 37)
    assert np.all(p[inside] <= 0.05)
    assert np.all(p[(t < 15) | ((t > 45) & (t < 50))] > 0.05)
    ann = res.annotations
    assert list(ann.description) == ["insync/L1/alpha/frontal-frontal"] * 2
    assert ann.ch_names[0] == tuple(
        [f"A:{c}" for c in FRONTAL["frontal"]] + [f"B:{c}" for c in FRONTAL["frontal"]]
    )


def _family_p(stat, maxima):
    """(1 + #{k: M_k >= stat}) / (N + 1), by brute force."""
    return (1 + (maxima[None, :] >= stat[:, None]).sum(axis=1)) / (len(maxima) + 1)


def test_level1_maxstat_threshold_matches_p(planted):
    """Windows are standardised by the series' median and MAD; p from the family maxima."""
    _, res = planted
    v, p = res.values[0, 0, 0], res.p_values[0, 0, 0]
    np.testing.assert_array_equal(v > res.threshold[0, 0, 0], p <= 0.05)
    ok = np.isfinite(v)
    med = np.median(v[ok])
    sd = median_abs_deviation(v[ok], scale="normal")
    np.testing.assert_allclose([res.tonic[0, 0, 0], res.tonic_sd[0, 0, 0]], [med, sd], rtol=1e-5)
    z = (v - med) / sd
    np.testing.assert_allclose(res.z[0, 0, 0], z, rtol=1e-5)
    np.testing.assert_allclose(p, _family_p(z, res.tonic_null_max), rtol=1e-12)
    # the chance test: standardised by the circular-shift windows, its own family maxima
    zc = (v - res.null_mean[0, 0, 0]) / res.null_sd[0, 0, 0]
    np.testing.assert_allclose(res.p_chance[0, 0, 0], _family_p(zc, res.chance_null_max))
    np.testing.assert_array_equal(res.above_chance[0, 0, 0], v > res.chance_threshold[0, 0, 0])


def test_level1_one_family_over_windows_pairs_and_bands():
    """Without coupling at most alpha of the recordings show any episode (item 3).

    Each recording tests 2 bands x 2 x 2 ROI pairs = 8 series; with the error rate controlled
    per series (the old behaviour) about 1 - 0.95 ** 8 = 34 % of them showed an episode.
    """
    hits = 0
    for seed in range(16):
        raw = _sim([], duration=60.0, seed=100 + seed)
        res = level1(
            raw,
            BANDS,
            TWO_ROIS,
            window=WINDOW,
            step=STEP,
            n_surrogates=99,
            lead_lag=False,
            seed=seed,
            verbose=False,
        )
        assert res.values.shape[:3] == (2, 2, 2)
        hits += len(res.episodes) > 0
        # one set of maxima for the whole family: the same threshold in z for every series
        crit = (res.threshold - res.tonic) / res.tonic_sd
        np.testing.assert_allclose(crit, crit.flat[0])
    # Binomial(16, 0.05): P(X >= 4) < 0.01
    assert hits <= 3


def test_level1_constant_coupling_is_tonic_not_an_episode():
    """Coupling constant over the recording is above chance but no Level 1 episode (item 4)."""
    raw = _sim([Coupling("alpha", "frontal", "frontal", strength=0.4)], duration=90.0)
    res = level1(raw, ALPHA, FRONTAL, window=4.0, step=STEP, n_surrogates=99, seed=0, verbose=False)
    assert res.episodes == []
    (row,) = res.chance
    assert row["p"] <= 0.05 and row["z"] > 10
    assert row["frac_above_chance"] > 0.5 and res.above_chance.sum() == row["n_above_chance"]
    # the tonic level is the coupled level, well above the chance level of one window
    assert res.tonic[0, 0, 0] > res.null_mean[0, 0, 0] + 5 * res.null_sd[0, 0, 0]


def test_level1_finds_episode_on_top_of_tonic_coupling():
    """A planted rise above tonic coupling is an episode, with its onset and duration."""
    on, off = 40.0, 52.0
    raw = _sim(
        [
            Coupling(
                "alpha", "frontal", "frontal", strength=0.3, episodes=[(0.0, on), (off, 90.0)]
            ),
            Coupling("alpha", "frontal", "frontal", strength=0.8, episodes=[(on, off)]),
        ],
        duration=90.0,
    )
    res = level1(raw, ALPHA, FRONTAL, window=4.0, step=STEP, n_surrogates=99, seed=0, verbose=False)
    (ep,) = res.episodes
    # half-coupled points 0.25 s inside the planted edges (see the top of this file)
    assert abs(ep["onset"] - (on + 0.25)) <= STEP
    assert abs(ep["duration"] - (off - on - 0.5)) <= 2 * STEP
    assert ep["p"] <= 0.05 and ep["above_chance"]
    assert ep["tonic"] == res.tonic[0, 0, 0] > res.null_mean[0, 0, 0]


def _lagged(lag, seed, phase=0.0, strength=0.9):
    return _sim(
        [
            Coupling(
                "alpha",
                "frontal",
                "frontal",
                strength=strength,
                lag=lag,
                phase=phase,
                episodes=[(30.0, 45.0)],
            )
        ],
        duration=90.0,
        seed=seed,
        roles=("therapist", "client"),
    )


@pytest.mark.parametrize("lag, leader", [(0.1, "therapist-led"), (-0.1, "client-led")])
def test_level1_lead_lag(lag, leader):
    res = level1(
        _lagged(lag, 2),
        ALPHA,
        FRONTAL,
        window=4.0,
        step=STEP,
        n_surrogates=99,
        seed=0,
        verbose=False,
    )
    (main,) = res.episodes
    assert main["duration"] > 12
    assert abs(main["lag"] - lag) <= 0.02
    assert main["lag_ci_low"] <= lag <= main["lag_ci_high"]
    assert main["lag_ci_high"] - main["lag_ci_low"] < 0.1
    assert main["leader"] == leader


def test_level1_zero_lag_is_simultaneous():
    """Zero-lag coupling: the lag's interval holds 0, no leader (item 5).

    On this recording the lag estimate is +7 ms (at 100 Hz, 10 ms per sample), which the old
    half-a-sample rule labelled 'therapist-led'.
    """
    res = level1(
        _lagged(0.0, 4, strength=0.7),
        ALPHA,
        FRONTAL,
        window=4.0,
        step=STEP,
        n_surrogates=99,
        seed=0,
        verbose=False,
    )
    (ep,) = res.episodes
    assert 0.005 < ep["lag"] < 0.01
    assert ep["lag_ci_low"] < 0 < ep["lag_ci_high"]
    assert ep["leader"] == "simultaneous"


@pytest.mark.parametrize("phase, label", [(np.pi, "anti-phase"), (0.0, "in-phase")])
def test_level1_phase_relation(phase, label):
    res = level1(
        _lagged(0.0, 3, phase=phase),
        ALPHA,
        FRONTAL,
        window=4.0,
        step=STEP,
        n_surrogates=99,
        seed=0,
        verbose=False,
    )
    (main,) = res.episodes
    assert main["phase"] == label and main["p_phase"] <= 0.05
    assert np.sign(main["phase_cos"]) == np.cos(phase)
    assert abs(np.angle(np.exp(1j * (main["phase_diff"] + phase)))) < np.pi / 4
    # the interval, wrapped into (-pi, pi], may cross +-pi (then low > high)
    lo, hi = (
        np.angle(np.exp(1j * (main[k] - main["phase_diff"])))
        for k in ("phase_ci_low", "phase_ci_high")
    )
    assert -np.pi / 4 < lo < 0 < hi < np.pi / 4
    assert abs(main["lag"]) <= 0.02


@pytest.fixture(scope="module")
def segmented():
    segs = [("rest_pre", 40.0), ("session", 20.0), ("rest_post", 40.0)]
    raw = _sim(
        [
            Coupling("alpha", "frontal", "frontal", strength=0.2, episodes=[(0.0, 40.0)]),
            Coupling("alpha", "frontal", "frontal", strength=0.6, episodes=[(60.0, 100.0)]),
        ],
        segments=segs,
        seed=4,
    )
    return raw


@pytest.mark.parametrize("null", ["circular_shift", "epoch_shuffle"])
def test_level2_recovers_planted_increase(segmented, null):
    res = level2(
        segmented,
        segments=["rest_pre", "rest_post"],
        bands=ALPHA,
        rois=TWO_ROIS,
        null=null,
        n_surrogates=199,
        n_permutations=999,
        seed=0,
        verbose=False,
    )
    assert (
        res.get_data("rest_post", "alpha", "frontal", "frontal")
        > res.get_data("rest_pre", "alpha", "frontal", "frontal") + 0.1
    )
    rows = {(r["segment"], r["roi_a"], r["roi_b"]): r for r in res.rows}
    post = rows[("rest_post", "frontal", "frontal")]
    assert post["significant"] and post["z"] > 5 and post["n_epochs"] == 20
    assert not rows[("rest_post", "occipital", "occipital")]["significant"]
    con = {(c["roi_a"], c["roi_b"]): c for c in res.contrasts}
    fr = con[("frontal", "frontal")]
    assert fr["contrast"] == "rest_post - rest_pre" and fr["diff"] > 0.1
    assert fr["p_null"] <= 0.05 and fr["p_epochs"] <= 0.01
    # the per-epoch test is stats.permutation_test on the segments' epoch values
    assert fr["d"] > 1
    ann = res.annotations
    spans = [
        (o, d)
        for o, d, s in zip(ann.onset, ann.duration, ann.description)
        if s == "insync/L2/alpha/frontal-frontal"
    ]
    assert (60.0, 40.0) in spans


def test_level2_blocks_and_values_equal_per_epoch_mean(segmented):
    """A block's value is the mean of per-epoch values computed by compute_sync."""
    res = level2(
        segmented,
        segments=[],
        block=50.0,
        bands=ALPHA,
        rois=FRONTAL,
        n_surrogates=19,
        contrasts=(),
        seed=0,
        verbose=False,
    )
    assert [s["name"] for s in res.segments] == ["block001", "block002"]
    picks = [f"{role}:{c}" for role in ("A", "B") for c in FRONTAL["frontal"]]
    ref = compute_sync(
        segmented,
        ALPHA,
        "plv",
        rois=FRONTAL,
        epoch_duration=2.0,
        decim=res.params["decim"]["alpha"],
        reject_by_annotation=False,
        picks=picks,
        verbose=False,
    )
    ref = ref.get_data("plv", "alpha", level="roi", kind="epochs")
    np.testing.assert_allclose(res.values[0, 0, 0, 0], ref[:25, 0, 0].mean(), rtol=1e-5)
    np.testing.assert_allclose(res.values[1, 0, 0, 0], ref[25:50, 0, 0].mean(), rtol=1e-5)


def test_level3_trend_and_flat_series():
    rng = np.random.default_rng(0)
    sessions = np.arange(8)
    dates = [dt.date(2024, 1, 1) + dt.timedelta(days=14 * int(k)) for k in sessions]
    vals = 0.3 + 0.02 * sessions + rng.normal(0, 0.01, 8)
    res = level3(vals, dates, n_permutations=999, seed=1)
    row = res.to_table().iloc[0]
    assert abs(row["slope"] - 0.02) < 0.005
    assert abs(row["slope_per_week"] - 0.01) < 0.0025  # 14 days between sessions
    assert row["p"] <= 0.01 and res.summary["p"] <= 0.01
    np.testing.assert_allclose(row["change"], vals[-1] - vals[0])
    # flat series: the trend test rejects at about the nominal rate
    flat = {f"d{k}": rng.normal(0.3, 0.05, 6) for k in range(200)}
    res = level3(flat, n_permutations=199, seed=2)
    rate = np.mean(res.to_table()["p"] <= 0.05)
    assert 0.01 <= rate <= 0.10  # Binomial(200, 0.05): 3 SD either side
    assert res.summary["n_dyads"] == 200 and res.summary["p"] > 0.01


def test_level3_table_input_matches_dict_input():
    table = [
        dict(dyad=d, session=s, value=v)
        for d, vals in {"a": [1.0, 2.0, 2.5, 4.0], "b": [3.0, 2.0, 2.2, 1.0]}.items()
        for s, v in enumerate(vals)
    ]
    r1 = level3(table, n_permutations=99, seed=0)
    r2 = level3({"a": [1.0, 2.0, 2.5, 4.0], "b": [3.0, 2.0, 2.2, 1.0]}, n_permutations=99, seed=0)
    assert r1.dyads == r2.dyads and r1.summary == r2.summary
    np.testing.assert_allclose(r1.dyads[0]["slope"], np.polyfit(range(4), [1, 2, 2.5, 4], 1)[0])
    assert InSyncLevel3.from_dict(r1.to_dict()).dyads == r1.dyads


def test_correlate_with_questionnaire():
    values = {"d1": 0.3, "d2": 0.5, "d3": 0.4, "d4": 0.8, "d5": 0.6}
    scores = {"d5": -4.0, "d3": 1.0, "d1": 3.0, "d4": -6.0, "d2": 0.0}
    res = correlate_with_questionnaire(values, scores, n_permutations=999, seed=0)
    ref = stats.correlation_test(
        [0.3, 0.5, 0.4, 0.8, 0.6], [3.0, 0.0, 1.0, -6.0, -4.0], 999, seed=0
    )
    assert res["r"] == pytest.approx(ref["r"]) and res["p_perm"] == ref["p_perm"]
    assert res["dyads"] == ["d1", "d2", "d3", "d4", "d5"]
    with pytest.raises(ValueError, match="only in values"):
        correlate_with_questionnaire({"d1": 1, "x": 2, "d2": 3}, {"d1": 1, "d2": 2, "d3": 3})


def test_annotations_survive_save_and_read(planted, segmented, tmp_path):
    raw, res = planted
    raw = raw.copy()
    raw.set_meas_date(dt.datetime(2024, 1, 8, 10, tzinfo=dt.timezone.utc))
    annotate(raw, res)
    annotate(raw, res)  # overwrite: no duplicates
    fname = tmp_path / "dyad_raw.fif"
    raw.save(fname, verbose=False)
    back = read_dyad_fif(fname, verbose=False)
    got = [
        (d, round(o - back.first_time, 3), round(u, 3), c)
        for d, o, u, c in zip(
            back.annotations.description,
            back.annotations.onset,
            back.annotations.duration,
            back.annotations.ch_names,
        )
        if d.startswith("insync/")
    ]
    want = [
        (d, round(o, 3), round(u, 3), c)
        for d, o, u, c in zip(
            res.annotations.description,
            res.annotations.onset,
            res.annotations.duration,
            res.annotations.ch_names,
        )
    ]
    assert got == want and len(got) == 2
    # Level 2 segments go on a recording with segment annotations, next to them
    r2 = level2(
        segmented,
        segments=["rest_post"],
        bands=ALPHA,
        rois=FRONTAL,
        n_surrogates=99,
        contrasts=(),
        seed=0,
        verbose=False,
    )
    seg = annotate(segmented.copy(), r2)
    assert list(seg.annotations.description).count("insync/L2/alpha/frontal-frontal") == 1
    assert {"rest_pre", "session", "rest_post"} <= set(seg.annotations.description)


def test_results_round_trip(planted, segmented):
    _, res = planted
    back = InSyncLevel1.from_dict(res.to_dict())
    np.testing.assert_array_equal(back.values, res.values)
    assert back.episodes == res.episodes and back.params == res.params
    assert back.to_table().equals(res.to_table())
    r2 = level2(
        segmented,
        segments=["rest_pre", "rest_post"],
        bands=ALPHA,
        rois=FRONTAL,
        n_surrogates=19,
        n_permutations=99,
        seed=0,
        verbose=False,
    )
    b2 = InSyncLevel2.from_dict(r2.to_dict())
    assert b2.rows == r2.rows and b2.contrasts == r2.contrasts
    np.testing.assert_array_equal(b2.null, r2.null)


def test_bad_input_errors(segmented):
    raw = segmented
    with pytest.raises(ValueError, match="fewer than two cycles of band 'theta'"):
        level1(raw, BANDS, FRONTAL, window=0.4, step=0.1)
    with pytest.raises(ValueError, match="step=3.0 s is larger than window=2.0 s"):
        level1(raw, ALPHA, FRONTAL, window=2.0, step=3.0)
    with pytest.raises(ValueError, match="outside the In-Sync Level 1"):
        level1(raw, ALPHA, FRONTAL, window=20.0)
    with pytest.raises(ValueError, match="cannot give p <= alpha"):
        level1(raw, ALPHA, FRONTAL, n_surrogates=10)
    with pytest.raises(ValueError, match="too short for circular shifts"):
        level1(raw.copy().crop(0, 20), ALPHA, FRONTAL, min_shift=10.0)
    with pytest.raises(ValueError, match="Segment 'baseline' is not annotated"):
        level2(raw, segments=["rest_pre", "baseline"], bands=ALPHA, rois=FRONTAL)
    with pytest.raises(ValueError, match="Contrast .* must name two analysed segments"):
        level2(raw, segments=["rest_pre", "session"], bands=ALPHA, rois=FRONTAL)
    with pytest.raises(ValueError, match="fewer than two cycles"):
        level2(
            raw, segments=["rest_pre"], bands=BANDS, rois=FRONTAL, epoch_duration=0.3, contrasts=()
        )
    with pytest.raises(ValueError, match="at least 3 sessions"):
        level3([0.1, 0.2])
    with pytest.raises(ValueError, match="dates has 2 entries for 3"):
        level3([0.1, 0.2, 0.3], ["2024-01-01", "2024-01-08"])
    with pytest.raises(ValueError, match="contain '/'"):
        level1(raw, ALPHA, {"a/b": ["Fz"]})
    with pytest.raises(ValueError, match="computed at 100 Hz"):
        res = level2(
            raw,
            segments=["rest_post"],
            bands=ALPHA,
            rois=FRONTAL,
            n_surrogates=19,
            contrasts=(),
            seed=0,
            verbose=False,
        )
        annotate(raw.copy().resample(50.0, verbose=False), res)
    assert isinstance(raw, mne.io.BaseRaw)


def test_level1_threads_give_identical_results(planted):
    raw, res = planted
    res2 = level1(
        raw,
        ALPHA,
        FRONTAL,
        window=WINDOW,
        step=STEP,
        n_surrogates=100,
        seed=0,
        n_jobs=2,
        verbose=False,
    )
    np.testing.assert_array_equal(res2.tonic_null_max, res.tonic_null_max)
    np.testing.assert_array_equal(res2.chance_null_max, res.chance_null_max)
    np.testing.assert_array_equal(res2.values, res.values)
    assert res2.episodes == res.episodes


def test_level1_bad_spans_are_left_out(planted):
    raw, _ = planted
    raw = raw.copy()
    raw.set_annotations(mne.Annotations([50.0], [2.0], ["BAD_motion"]))
    res = level1(
        raw,
        ALPHA,
        FRONTAL,
        window=WINDOW,
        step=STEP,
        n_surrogates=100,
        seed=0,
        lead_lag=False,
        verbose=False,
    )
    t = res.times
    touching = (t + WINDOW / 2 > 50.0) & (t - WINDOW / 2 < 52.0)
    assert touching.sum() == 7  # centres 49.5 ... 52.5
    assert np.all(np.isnan(res.values[0, 0, 0, touching]))
    assert np.all(np.isfinite(res.values[0, 0, 0, ~touching]))
    assert len(res.episodes) == len(PLANTED)


def test_level3_and_questionnaire_degenerate_input():
    """Empty input: error. NaN sessions/dyads: excluded with a warning. Constant: explicit."""
    with pytest.raises(ValueError, match="level3 got no session values"):
        level3({})
    with pytest.raises(ValueError, match="level3 got no session values"):
        level3([])
    with pytest.raises(ValueError, match="Dyad 'b' has no session values"):
        level3({"a": [0.1, 0.2, 0.3], "b": []})
    with pytest.raises(ValueError, match="Dyad 'a' needs at least 3 sessions.*got 1"):
        level3({"a": [0.4]})
    vals = {"a": [0.1, np.nan, 0.2, 0.4, 0.5], "b": [0.3, 0.2, 0.25, 0.1]}
    with pytest.warns(
        RuntimeWarning,
        match=r"dyad 'a' has no finite value in session\(s\) "
        r"\[1\]",
    ):
        res = level3(vals, n_permutations=99, seed=0)
    row = res.to_table().set_index("dyad").loc["a"]
    assert row["n_sessions"] == 4
    assert row["slope"] == pytest.approx(np.polyfit([0, 2, 3, 4], [0.1, 0.2, 0.4, 0.5], 1)[0])
    with pytest.raises(ValueError, match="at least 3 sessions with finite values"):
        with pytest.warns(RuntimeWarning, match="excluded"):
            level3({"a": [0.1, np.nan, np.nan, 0.3]})
    with pytest.warns(RuntimeWarning, match="same value .0.2. in every session.*r is undefined"):
        res = level3({"flat": [0.2] * 4, "up": [0.1, 0.2, 0.3, 0.45]}, n_permutations=99, seed=0)
    flat = res.to_table().set_index("dyad").loc["flat"]
    assert flat["slope"] == 0 and flat["p"] == 1.0 and np.isnan(flat["r"])
    assert np.isfinite(res.summary["mean_slope"]) and np.isfinite(res.summary["p"])
    # questionnaire: NaN dyads excluded by name, then the same as without them
    values = {"d1": 0.3, "d2": np.nan, "d3": 0.4, "d4": 0.8, "d5": 0.6}
    scores = {"d1": 3.0, "d2": 1.0, "d3": 1.0, "d4": -6.0, "d5": np.nan}
    with pytest.warns(RuntimeWarning, match=r"excluding dyad\(s\).*d2 \(value nan.*d5"):
        res = correlate_with_questionnaire(values, scores, n_permutations=99, seed=0)
    assert res["dyads"] == ["d1", "d3", "d4"] and res["n"] == 3
    assert res["r"] == pytest.approx(np.corrcoef([0.3, 0.4, 0.8], [3.0, 1.0, -6.0])[0, 1])
    with pytest.raises(ValueError, match="scores are the same .2. for every dyad"):
        correlate_with_questionnaire([0.1, 0.2, 0.3], [2.0, 2.0, 2.0])
    with pytest.raises(ValueError, match="at least 3 dyads"):
        with pytest.warns(RuntimeWarning):
            correlate_with_questionnaire([0.1, np.nan, 0.3], [1.0, 2.0, 3.0])


def test_level1_degenerate_inputs(planted):
    """All-BAD recordings and flat channels are refused; NaN inside BAD_ spans is fine."""
    raw, _ = planted
    kw = dict(window=WINDOW, step=STEP, n_surrogates=19, lead_lag=False, seed=0, verbose=False)
    allbad = raw.copy().set_annotations(mne.Annotations([0.0], [80.0], ["BAD_lost"]))
    with pytest.raises(
        ValueError,
        match=r"Only 0 of 157 windows .* BAD_ annotations "
        r"\(0.0-80.0 s\)",
    ):
        level1(allbad, ALPHA, FRONTAL, **kw)
    most = raw.copy().set_annotations(mne.Annotations([5.0], [50.0], ["BAD_motion"]))
    with pytest.warns(RuntimeWarning, match=r"touch BAD_ annotations \(5.0-55.0 s\)"):
        res = level1(most, ALPHA, FRONTAL, **kw)
    assert np.isnan(res.values[0, 0, 0, (res.times > 5) & (res.times < 55)]).all()
    # a dropout (NaN) inside a BAD_ span is never analysed
    drop = raw.copy().set_annotations(mne.Annotations([50.0], [2.0], ["BAD_dropout"]))
    drop._data[drop.ch_names.index("B:Fz"), 5010:5100] = np.nan
    res = level1(drop, ALPHA, FRONTAL, **kw)
    touching = (res.times + WINDOW / 2 > 50.0) & (res.times - WINDOW / 2 < 52.0)
    assert np.isnan(res.values[0, 0, 0, touching]).all()
    assert np.isfinite(res.values[0, 0, 0, ~touching]).all()
    with pytest.raises(ValueError, match="'B:Fz' contains NaN"):
        level1(drop.copy().set_annotations(None), ALPHA, FRONTAL, **kw)
    flat = raw.copy()
    flat._data[flat.ch_names.index("A:F3")] = 1e-6
    with pytest.raises(ValueError, match=r"'A:F3'.* flat"):
        level1(flat, ALPHA, FRONTAL, **kw)
    with pytest.raises(ValueError, match="shuffle_block=1.5 s is longer than half"):
        level1(raw, ALPHA, FRONTAL, shuffle_block=1.5, **kw)
    with pytest.raises(ValueError, match="multiple of 0.5 s"):
        level1(raw, ALPHA, FRONTAL, shuffle_block=0.7, **kw)


def test_annotate_places_a_cropped_segments_episodes(planted):
    """Level 1 runs on one segment; its episodes land at their place in the whole recording."""
    raw, res = planted
    seg = raw.copy().crop(10.0, None)
    r_seg = level1(
        seg,
        ALPHA,
        FRONTAL,
        window=WINDOW,
        step=STEP,
        n_surrogates=39,
        seed=0,
        lead_lag=False,
        verbose=False,
    )
    assert len(r_seg.episodes) == len(PLANTED)
    whole = annotate(raw.copy(), r_seg)
    got = [
        o - whole.first_time
        for o, d in zip(whole.annotations.onset, whole.annotations.description)
        if d.startswith("insync/L1/")
    ]
    np.testing.assert_allclose(got, [e["onset"] + 10.0 for e in r_seg.episodes])
    for ep, (on, _) in zip(r_seg.episodes, PLANTED):
        assert abs(ep["onset"] + 10.0 - (on + 0.25)) <= STEP


def test_level1_uncorrected_is_never_stricter(planted):
    """correction=None (each window alone) gives p-values at most the family-wise ones."""
    raw, res = planted
    none = level1(
        raw,
        ALPHA,
        FRONTAL,
        window=WINDOW,
        step=STEP,
        n_surrogates=100,
        seed=0,
        correction=None,
        lead_lag=False,
        verbose=False,
    )
    np.testing.assert_array_equal(none.values, res.values)
    ok = np.isfinite(res.values)
    assert np.all(none.p_values[ok] <= res.p_values[ok] + 1e-12)
    assert np.all(none.p_chance[ok] <= res.p_chance[ok] + 1e-12)
    assert none.p_values[ok].min() < res.p_values[ok].min()
    v = none.values[0, 0, 0]
    np.testing.assert_array_equal(v > none.threshold[0, 0, 0], none.p_values[0, 0, 0] <= 0.05)
    assert len(none.episodes) >= len(res.episodes)
