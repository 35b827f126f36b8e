"""Preprocessing of EDA, heart and motion energy (hyperinsync.preprocessing)."""

import mne
import neurokit2 as nk
import numpy as np
import pytest

from hyperinsync import PhysioCoupling, lagged_sync, make_dyad_raw, simulate_physio_dyad
from hyperinsync.dyad import get_dyad_meta
from hyperinsync.preprocessing import (
    annotate_flat,
    annotate_missing,
    clean_eda,
    detect_beats,
    eda_decompose,
    heart_rate,
    hrv_windows,
    mea_artifacts,
    mea_ccf_artifacts,
    mea_scale,
    mea_smooth,
)


def _spans(raw, desc):
    a = raw.annotations
    return [
        (round(o - raw.first_time, 6), round(d, 6), tuple(c))
        for o, d, s, c in zip(a.onset, a.duration, a.description, a.ch_names)
        if s == desc
    ]


def _eda_raw(sf=32.0, dur=300.0):
    raw, _ = simulate_physio_dyad(dur, sf, modalities=["eda"], seed=4)
    return raw


def test_clean_eda_matches_neurokit_per_stretch():
    raw = _eda_raw()
    x = raw.get_data(picks=["therapist:EDA"])[0].copy()
    x[3200:3300] = np.nan  # a dropout: 100 - 103.1 s
    x[3500:3600] = np.nan  # leaves 3300-3500 (6.25 s): too short to filter
    raw._data[0] = x
    out = clean_eda(raw)
    y = out.get_data(picks=["therapist:EDA"])[0]
    np.testing.assert_allclose(
        y[:3200], nk.eda_clean(x[:3200], sampling_rate=32.0), rtol=0, atol=1e-15
    )
    np.testing.assert_allclose(
        y[3600:], nk.eda_clean(x[3600:], sampling_rate=32.0), rtol=0, atol=1e-15
    )
    assert np.isnan(y[3200:3600]).all()
    assert _spans(out, "BAD_too_short") == [(103.125, 6.25, ("therapist:EDA",))]
    np.testing.assert_array_equal(raw.get_data(picks=["therapist:EDA"])[0], x)  # untouched
    with pytest.warns(RuntimeWarning, match="does not low-pass"):
        low = clean_eda(_eda_raw(sf=4.0, dur=120.0))
    np.testing.assert_array_equal(low.get_data(), _eda_raw(sf=4.0, dur=120.0).get_data())


def test_eda_decompose_matches_neurokit():
    raw = _eda_raw(dur=200.0)
    out = eda_decompose(raw)
    assert out.ch_names[2:] == [
        "therapist:EDA_SCL",
        "therapist:EDA_SCR",
        "client:EDA_SCL",
        "client:EDA_SCR",
    ]
    assert set(out.get_channel_types()) == {"gsr"}
    x = raw.get_data(picks=["client:EDA"])[0]
    ref = nk.eda_phasic(x * 1e6, sampling_rate=32.0, method="highpass")
    np.testing.assert_allclose(
        out.get_data(picks=["client:EDA_SCL"])[0],
        ref["EDA_Tonic"].to_numpy() * 1e-6,
        rtol=1e-12,
        atol=1e-18,
    )
    np.testing.assert_allclose(
        out.get_data(picks=["client:EDA_SCR"])[0],
        ref["EDA_Phasic"].to_numpy() * 1e-6,
        rtol=1e-12,
        atol=1e-18,
    )


@pytest.fixture(scope="module")
def ecg_dyad():
    raw, truth = simulate_physio_dyad(
        180,
        250.0,
        modalities=["heart"],
        heart="ecg",
        seed=8,
        couplings=[PhysioCoupling("heart", 0.6, 1.0)],
    )
    return raw, truth


def test_beats_and_heart_rate_against_truth(ecg_dyad):
    raw, truth = ecg_dyad
    raw = raw.copy()
    raw.set_annotations(
        mne.Annotations([60.0], [8.0], ["BAD_electrode"], ch_names=[["client:ECG"]])
    )
    beats = detect_beats(raw)
    for role in ("therapist", "client"):
        found = beats[f"{role}:ECG"]["times"]
        true = np.asarray(truth.beats[role])
        if role == "client":  # no beat is searched inside the BAD span
            true = true[(true < 60.0) | (true >= 68.0)]
            assert not ((found > 60.0) & (found < 68.0)).any()
        err = np.abs(found[:, None] - true[None, :]).min(1)
        assert np.mean(err < 0.010) > 0.99, role  # R peaks within 10 ms
        assert abs(len(found) - len(true)) <= 2
    hr = heart_rate(raw, sfreq=4.0)
    assert hr.ch_names == ["therapist:HR", "client:HR"] and hr.info["sfreq"] == 4.0
    t = np.arange(hr.n_times) / 4.0
    client = hr.get_data(picks=["client:HR"])[0]
    assert np.isnan(client[(t > 61) & (t < 68)]).all()  # never interpolated over the gap
    ((on, dur, ch),) = [s for s in _spans(hr, "BAD_no_beats") if 10 < s[0] < 170]
    assert on <= 61 and on + dur >= 68 and ch == ("client:HR",)
    # the rate at each true beat equals 60 / its true interval
    tb = np.asarray(truth.beats["therapist"])
    rate = 60.0 / np.diff(tb)
    est = np.interp(tb[1:], t, hr.get_data(picks=["therapist:HR"])[0])
    ok = np.isfinite(est)
    assert ok.mean() > 0.95
    assert np.median(np.abs(est[ok] - rate[ok])) < 0.5  # bpm


def test_hrv_windows_rmssd_and_rsa(ecg_dyad):
    raw, truth = ecg_dyad
    hr = heart_rate(raw)
    tab = hrv_windows(hr, window=60.0, step=30.0)
    assert set(tab["channel"]) == {"therapist:ECG", "client:ECG"}
    row = tab[(tab["channel"] == "therapist:ECG") & (tab["onset"] == 30.0)].iloc[0]
    assert row["valid"] and row["coverage"] > 0.95
    # the same beats through NeuroKit2's hrv_time (independent code path)
    b = np.asarray(get_dyad_meta(hr)["beats"]["therapist:ECG"]["times"])
    w = b[(b >= 30.0) & (b <= 90.0)]
    ref = nk.hrv_time(np.round(w * 1000).astype(int), sampling_rate=1000)["HRV_RMSSD"].iloc[0]
    assert row["rmssd"] == pytest.approx(ref, rel=2e-3)  # peaks rounded to 1 ms for NK
    # and from the true beats by the closed form
    tb = np.asarray(truth.beats["therapist"])
    tb = tb[(tb >= 30.0) & (tb <= 90.0)]
    true_rmssd = np.sqrt(np.mean(np.diff(np.diff(tb)) ** 2)) * 1000
    assert row["rmssd"] == pytest.approx(true_rmssd, rel=0.1)
    assert np.isfinite(row["rsa_lnhf"])


def test_annotate_flat_and_missing():
    sf = 10.0
    x = np.sin(np.arange(3000) / 7.0)
    x[1000:1200] = x[1000]  # 20 s flat: a detached sensor
    x[2000:2010] = np.nan
    info = mne.create_info(["EDA"], sf, "gsr")
    raw = mne.io.RawArray(x[None], info, verbose=False)
    with pytest.warns(RuntimeWarning, match="1 flat stretch"):
        out = annotate_flat(raw)
    assert _spans(out, "BAD_flat") == [(100.0, 20.0, ("EDA",))]
    out = annotate_missing(raw)
    assert _spans(out, "BAD_missing") == [(200.0, 1.0, ("EDA",))]
    flat = mne.io.RawArray(np.full((1, 100), 2.0), info, verbose=False)
    with pytest.raises(ValueError, match="'EDA' is flat over the whole recording"):
        annotate_flat(flat)


def _mea_dyad(a, b, sf=25.0):
    info = mne.create_info(["MEA"], sf, "misc")
    return make_dyad_raw(
        mne.io.RawArray(a[None], info, verbose=False),
        mne.io.RawArray(b[None], info.copy(), verbose=False),
        roles=("patient", "therapist"),
        verbose=False,
    )


def test_mea_scale_smooth_artifacts():
    rng = np.random.default_rng(2)
    a = rng.exponential(100.0, 1000)
    b = rng.exponential(300.0, 1000)
    a[50:55] = np.nan
    b[10] = 1e5  # a video artefact
    raw = _mea_dyad(a, b)
    sc = mea_scale(raw).get_data()
    np.testing.assert_allclose(sc[0], a / np.nanstd(a, ddof=1))  # R's sd, no centring
    assert np.isnan(sc[0, 50:55]).all()
    sm = mea_smooth(raw, window=0.2).get_data()[0]  # 5 samples, centred
    for i in (0, 1, 20, 48, 57, 999):
        seg = a[max(0, i - 2) : i + 3]
        assert sm[i] == pytest.approx(np.nanmean(seg))
    assert np.isnan(sm[50:55]).all() and not np.isnan(np.delete(sm, range(50, 55))).any()
    with pytest.warns(RuntimeWarning, match="1 outlier run"):
        art = mea_artifacts(raw)
    assert _spans(art, "BAD_outlier") == [(0.4, 0.04, ("therapist:MEA",))]
    np.testing.assert_array_equal(art.get_data(), raw.get_data())  # data kept
    z = np.where(np.arange(1000) < 600, b, 0.0)
    with pytest.warns(RuntimeWarning, match="1 frozen"):
        art = mea_artifacts(_mea_dyad(a, z), max_still=10.0)
    assert _spans(art, "BAD_dropout") == [(24.0, 16.0, ("therapist:MEA",))]


def test_mea_ccf_artifacts():
    """A stretch where both regions see the same motion (one camera region catching the
    other person) is flagged for inspection, not dropped.
    """
    rng = np.random.default_rng(5)
    n, sf = 25 * 400, 25.0
    a = rng.exponential(1.0, n)
    b = rng.exponential(1.0, n)
    b[25 * 200 : 25 * 260] = a[25 * 200 : 25 * 260]  # 60 s of identical motion
    res = lagged_sync(
        _mea_dyad(a, b, sf), lag=1, window=10, step=10, definition="rmea", absolute=False, null=None
    )
    ann = mea_ccf_artifacts(res, "MEA", threshold=0.2)
    assert list(ann.description) == ["CHECK_ccf_artifact"]
    assert ann.onset[0] == pytest.approx(200.0) and ann.duration[0] == pytest.approx(60.0)
    assert list(ann.ch_names[0]) == ["patient:MEA", "therapist:MEA"]
