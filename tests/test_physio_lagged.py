"""Windowed lagged cross-correlation (hyperinsync.sync.lagged, hyperinsync.stats.lagged).

Parity with rMEA and SUSY, the surrogate engine, missing data, and the tests' answers on
dyads with known coupling.
"""

import math
import warnings

import mne
import numpy as np
import pytest

from hyperinsync import (
    LaggedSyncResult,
    PhysioCoupling,
    lagged_pseudo_dyads,
    lagged_sync,
    make_dyad_raw,
    simulate_physio_dyad,
)
from hyperinsync.sync import peak_lag

ROLES = ("therapist", "client")


def _dyad(a, b, sfreq, name="X", kind="misc"):
    info = mne.create_info([name], sfreq, kind)
    ra = mne.io.RawArray(a[None], info, verbose=False)
    rb = mne.io.RawArray(b[None], info.copy(), verbose=False)
    return make_dyad_raw(ra, rb, roles=ROLES, verbose=False)


def _series(n, seed, nan_spans=()):
    """Two autocorrelated series, B following A by 3 samples, with optional NaN spans."""
    rng = np.random.default_rng(seed)
    a = np.convolve(rng.standard_normal(n + 20), np.ones(8) / 8, "valid")[:n]
    b = np.roll(a, 3) + 0.7 * rng.standard_normal(n)
    for who, i0, i1 in nan_spans:
        (a if who == "a" else b)[i0:i1] = np.nan
    return a, b


# ---------------------------------------------------------------------------- rMEA, by hand
def rmea_ccf(x, y, sf, lag_sec, win_sec, inc_sec, r2z=True, abs_=True):
    """Compute rMEA's MEAccf.MEA with loops (window blocks, lags, Pearson, summaries)."""
    win, L, inc = round(win_sec * sf), round(lag_sec * sf), round(inc_sec * sf)
    n_win = math.ceil((len(x) - win - L + 1) / inc)
    rows = []
    for w in range(n_win):
        xw, yw = x[w * inc : w * inc + win + L], y[w * inc : w * inc + win + L]
        if max(np.isnan(xw).sum(), np.isnan(yw).sum()) > len(xw) / 2:
            rows.append([np.nan] * (2 * L + 1))
            continue
        res = []
        for k in range(-L, L + 1):
            xr, yr = np.arange(win), np.arange(abs(k), win + abs(k))
            if k < 0:
                xr, yr = yr, xr
            xx, yy = xw[xr], yw[yr]
            ok = ~np.isnan(xx) & ~np.isnan(yy)  # complete.obs
            xx, yy = xx[ok], yy[ok]
            res.append(np.nan if xx.std() == 0 or yy.std() == 0 else np.corrcoef(xx, yy)[0, 1])
        rows.append(res)
    m = np.array(rows)
    if r2z:
        m = np.clip(np.arctanh(m), -10, 10)
    if abs_:
        m = np.abs(m)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows: NaN on purpose
        summ = dict(
            all_lags=np.nanmean(m, 1),
            a_leads=np.nanmean(m[:, L + 1 :], 1),
            b_leads=np.nanmean(m[:, :L], 1),
            lag_zero=m[:, L],
            a_leads_0=np.nanmean(m[:, L:], 1),
            b_leads_0=np.nanmean(m[:, : L + 1], 1),
            best_lag=np.array(
                [(np.nanargmax(r) - L) / sf if np.isfinite(r).any() else np.nan for r in m]
            ),
            grand=np.nanmean(m),
        )
    return m, summ


@pytest.mark.parametrize("r2z,abs_", [(True, True), (True, False), (False, True)])
def test_rmea_parity(r2z, abs_):
    """definition='rmea' equals rMEA's MEAccf, with missing data, to floating-point precision."""
    sf = 10.0
    a, b = _series(1500, 0, nan_spans=[("a", 200, 260), ("b", 700, 1100), ("b", 40, 43)])
    raw = _dyad(a, b, sf)
    with pytest.warns(RuntimeWarning, match="windows are missing"):
        res = lagged_sync(
            raw, lag=2, window=12, step=5, definition="rmea", fisher_z=r2z, absolute=abs_, null=None
        )
    ref, summ = rmea_ccf(a, b, sf, 2, 12, 5, r2z, abs_)
    got = res.get_data("X")
    assert got.shape == ref.shape == (math.ceil((1500 - 120 - 20 + 1) / 50), 41)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    assert np.nanmax(np.abs(got - ref)) < 1e-12
    tab = res.to_table("window")
    for key in ("all_lags", "a_leads", "b_leads", "lag_zero", "a_leads_0", "b_leads_0", "best_lag"):
        np.testing.assert_allclose(
            tab[key].to_numpy(), summ[key], atol=1e-12, rtol=0, equal_nan=True, err_msg=key
        )
    assert abs(res.grand_average("X") - summ["grand"]) < 1e-12
    assert res.sessions[0]["grand_average"] == pytest.approx(summ["grand"], abs=1e-12)


# ---------------------------------------------------------------------------- SUSY, by hand
def r_ccf(x, y, lag_max):
    """R's ccf(x, y, lag.max): lag k estimates cor(x[t + k], y[t]) (biased, whole-segment
    means and SDs), lags -lag_max..lag_max.
    """
    n = len(x)
    xm, ym = x - x.mean(), y - y.mean()
    den = np.sqrt((xm**2).sum() / n * (ym**2).sum() / n)
    out = []
    for k in range(-lag_max, lag_max + 1):
        s = sum(xm[t + k] * ym[t] for t in range(max(0, -k), min(n, n - k)))
        out.append(s / n / den)
    return np.array(out)


def susy_by_hand(a, b, segment, hz, maxlag):
    """SUSY's susy() (permutation=FALSE) and as.data.frame.susy(), written out."""
    rng_ = segment * hz
    n_ep = int(round(len(a) / rng_ - 0.499999))
    L = maxlag * hz
    e1 = [a[i * rng_ : (i + 1) * rng_] for i in range(n_ep)]
    e2 = [b[i * rng_ : (i + 1) * rng_] for i in range(n_ep)]
    real, real_na, ps, ps_na = (np.zeros(2 * L + 1) for _ in range(4))
    for i in range(n_ep):
        for h in range(n_ep):
            r = r_ccf(e1[i], e2[h], L)
            z = 0.5 * np.log((1 + r) / (1 - r))
            if i == h:
                real += np.abs(z)
                real_na += z
            else:
                ps += np.abs(z)
                ps_na += z
    ps, ps_na = ps / ((n_ep - 1) * n_ep), ps_na / ((n_ep - 1) * n_ep)
    real, real_na = real / n_ep, real_na / n_ep

    def es(r, p):
        return (r.mean() - p.mean()) / p.std(ddof=1)

    lead1, lead2 = slice(0, L), slice(L + 1, 2 * L + 1)  # R lags -L..-1: column 1 leads
    return {
        "susy_Z": real.mean(),
        "susy_Z_pseudo": ps.mean(),
        "susy_SD_Z": real.std(ddof=1),
        "susy_SD_Z_pseudo": ps.std(ddof=1),
        "susy_pct_gt_pseudo": 100 * np.mean(real > ps),
        "susy_n_segments": n_ep,
        "susy_ES": es(real, ps),
        "susy_Z_lead_a": real[lead1].mean(),
        "susy_Z_lead_b": real[lead2].mean(),
        "susy_ES_lead_a": es(real[lead1], ps[lead1]),
        "susy_ES_lead_b": es(real[lead2], ps[lead2]),
        "susy_meanZ_in_phase": real_na[real_na >= 0].mean(),
        "susy_meanZ_anti_phase": real_na[real_na < 0].mean(),
        "susy_n_in_phase": (real_na >= 0).sum(),
        "susy_n_anti_phase": (real_na < 0).sum(),
        "susy_Z_noabs": real_na.mean(),
        "susy_Z_pseudo_noabs": ps_na.mean(),
        "susy_pct_gt_pseudo_noabs": 100 * np.mean(real_na > ps_na),
        "susy_ES_noabs": es(real_na, ps_na),
    }, real


def test_susy_parity():
    """definition='susy' reproduces every number of SUSY's table, lag sign flipped."""
    hz, segment, maxlag = 5, 6, 2
    a, b = _series(5 * 6 * 9 + 7, 3)  # 9 segments and a remainder SUSY drops
    raw = _dyad(a, b, float(hz))
    res = lagged_sync(raw, lag=maxlag, window=segment, definition="susy", null=None)
    ref, real = susy_by_hand(a, b, segment, hz, maxlag)
    row = res.sessions[0]
    for key, val in ref.items():
        assert row[key] == pytest.approx(val, abs=1e-12, rel=0), key
    # the real lag profile, SUSY's lag order reversed onto ours (positive: first leads)
    np.testing.assert_allclose(np.abs(res.values[0]).mean(0), real[::-1], atol=1e-12)
    # B follows A by 3 samples (0.6 s): SUSY's lead1 (first column leads) is ours, a
    assert row["susy_Z_lead_a"] > row["susy_Z_lead_b"]
    assert res.sessions[0]["peak_lag"] == pytest.approx(0.6)


# ---------------------------------------------------------------------------- wcc (Boker)
def wcc_by_hand(x, y, sf, lag_sec, win_sec, inc_sec, max_missing=0.5):
    win, L, inc = round(win_sec * sf), round(lag_sec * sf), round(inc_sec * sf)
    out = []
    for st in range(L, len(x) - win - L + 1, inc):
        xw, blk = x[st : st + win], y[st - L : st + win + L]
        if np.isnan(xw).sum() > max_missing * win or np.isnan(blk).sum() > max_missing * len(blk):
            out.append([np.nan] * (2 * L + 1))
            continue
        row = []
        for k in range(-L, L + 1):
            yy = y[st + k : st + k + win]
            ok = ~np.isnan(xw) & ~np.isnan(yy)
            row.append(np.clip(np.arctanh(np.corrcoef(xw[ok], yy[ok])[0, 1]), -10, 10))
        out.append(row)
    return np.array(out)


def test_wcc_parity_and_surrogates():
    """'wcc' equals the loops; each circular-shift surrogate equals the loops on B shifted."""
    sf = 4.0
    a, b = _series(900, 5, nan_spans=[("b", 300, 330)])
    raw = _dyad(a, b, sf)
    res = lagged_sync(raw, lag=3, window=20, step=7, absolute=False, null=None)
    ref = wcc_by_hand(a, b, sf, 3, 20, 7)
    assert not np.isnan(ref).any()  # the dropout is in windows, under the missing limit
    np.testing.assert_array_equal(np.isnan(res.values[0]), np.isnan(ref))
    assert np.nanmax(np.abs(res.values[0] - ref)) < 1e-12
    # the engine with surrogates: every circular shift's window sums, recomputed by hand
    from hyperinsync.sync.lagged import LagGeometry, lagged_values

    geom = LagGeometry("wcc", sf, len(a), 20, 3, 7)
    shifts = np.array([0, 161, 400, 733, 740])  # 0: the observed pairing
    mean, sd = np.nanmean(b), np.nanstd(b)
    red = lagged_values(
        (a - a.mean()) / a.std(), (b - mean) / sd, geom, shifts, fisher_z=True, max_missing=0.5
    )
    np.testing.assert_allclose(red.obs, ref, atol=1e-12)
    for k, s in enumerate(shifts[1:]):
        full = wcc_by_hand(a, np.roll(b, -s), sf, 3, 20, 7)  # B(t + s), circularly
        np.testing.assert_allclose(red.sum_abs[k], np.nansum(np.abs(full), 1), atol=1e-10)
        np.testing.assert_allclose(red.sum_sgn[k], np.nansum(full, 1), atol=1e-10)
        np.testing.assert_array_equal(red.count[k], np.isfinite(full).sum(1))


def test_peak_lag():
    vals = np.array(
        [[0.1, 0.5, 0.5, 0.2], [np.nan, np.nan, np.nan, np.nan], [0.3, np.nan, 0.1, 0.9]]
    )
    lags = np.array([-1.0, -0.5, 0.5, 1.0])
    lag, peak = peak_lag(vals, lags)
    np.testing.assert_array_equal(lag, [-0.5, np.nan, 1.0])  # first maximum, as which.max
    np.testing.assert_array_equal(peak, [0.5, np.nan, 0.9])
    lag, _ = peak_lag(vals, lags, lag_range=(-1, 0))
    np.testing.assert_array_equal(lag, [-0.5, np.nan, -1.0])
    with pytest.raises(ValueError, match="holds none"):
        peak_lag(vals, lags, lag_range=(2, 3))


# ---------------------------------------------------------------------------- bad input
def test_missing_data_windows_and_bad_annotations():
    """Dropouts and BAD spans (one channel only) make windows missing, never zeros."""
    sf = 4.0
    a, b = _series(1200, 7)
    raw = _dyad(a, b, sf)
    raw.set_annotations(mne.Annotations([100.0], [60.0], ["BAD_dropout"], ch_names=[["client:X"]]))
    with pytest.warns(RuntimeWarning, match=r"X: \d+ of \d+ windows are missing"):
        res = lagged_sync(raw, lag=2, window=20, step=10, n_surrogates=19, seed=0, lead_block=40)
    v = res.values[0]
    starts = res.window_starts
    # windows whose B block (window +/- lag) is more than half inside the BAD span
    for w, st in enumerate(starts):
        lo, hi = st - 2, st + 22
        covered = max(0.0, min(hi, 160) - max(lo, 100)) / 24
        assert np.isnan(v[w]).all() == (covered > 0.5), (w, covered)
    assert not np.any(v == 0)
    assert res.sessions[0]["n_windows_missing"] == int(np.isnan(v).all(1).sum()) > 0
    # the same span on the other person's channel only leaves this pair alone elsewhere
    raw.set_annotations(
        mne.Annotations([100.0], [60.0], ["BAD_dropout"], ch_names=[["therapist:X"]])
    )
    with pytest.warns(RuntimeWarning, match="missing"):
        res2 = lagged_sync(raw, lag=2, window=20, step=10, null=None)
    assert np.isnan(res2.values[0]).all(1).sum() > 0


def test_bad_input_errors():
    sf = 4.0
    a, b = _series(400, 1)
    raw = _dyad(a, np.full(400, 3.0), sf)
    with pytest.raises(ValueError, match="client:X.*constant.*flat sensor"):
        lagged_sync(raw, lag=2, window=20, null=None)
    # a modality one person lacks
    info_a = mne.create_info(["EDA", "MEA"], sf, ["gsr", "misc"])
    info_b = mne.create_info(["MEA"], sf, ["misc"])
    ra = mne.io.RawArray(np.vstack([a, b]), info_a, verbose=False)
    rb = mne.io.RawArray(b[None], info_b, verbose=False)
    dy = make_dyad_raw(ra, rb, roles=ROLES, verbose=False)
    with pytest.raises(ValueError, match="'client' has no channel 'EDA'"):
        lagged_sync(dy, pairs=["EDA"], lag=2, window=20, null=None)
    res = lagged_sync(dy, lag=2, window=20, null=None)  # default: the shared MEA only
    assert res.modalities == ["MEA"]
    with pytest.raises(ValueError, match="whole number of samples"):
        lagged_sync(dy, lag=2.1, window=20, null=None)
    with pytest.raises(ValueError, match="share no samples"):
        lagged_sync(dy, lag=2, window=20, step=10, null="segment_shuffle")
    with pytest.raises(ValueError, match="too short"):
        lagged_sync(dy, lag=2, window=200, null=None)
    # EEG channels are never paired by default
    info_e = mne.create_info(["Fz"], sf, "eeg")
    re_ = [mne.io.RawArray(x[None], info_e.copy(), verbose=False) for x in (a, b)]
    with pytest.raises(ValueError, match="No physiological or movement channel"):
        lagged_sync(make_dyad_raw(*re_, roles=ROLES, verbose=False), lag=2, window=20)


# ---------------------------------------------------------------------------- known coupling
@pytest.mark.parametrize(
    "lag,phase,leader,label",
    [
        (2.0, "in", "therapist-led", "in-phase"),
        (-2.0, "in", "client-led", "in-phase"),
        (0.0, "anti", "simultaneous", "anti-phase"),
    ],
)
def test_planted_lead_and_phase(lag, phase, leader, label):
    raw, truth = simulate_physio_dyad(
        900,
        4.0,
        modalities=["heart"],
        couplings=[PhysioCoupling("heart", 0.6, lag, phase)],
        seed=11,
    )
    res = lagged_sync(raw, lag=5, window=30, step=15, n_surrogates=199, n_boot=500, seed=0)
    row = res.sessions[0]
    assert row["synchrony"] == "above chance"
    assert row["leader"] == leader
    assert row["phase"] == label
    if lag:
        assert row["peak_lag_ci_low"] <= lag <= row["peak_lag_ci_high"]
        assert np.sign(row["lead"]) == np.sign(lag)


def test_null_dyad_and_result_roundtrip(tmp_path):
    raw, _ = simulate_physio_dyad(
        600,
        4.0,
        modalities=["heart", "movement"],
        seed=3,
        segments=[("IM", 0, 300), ("CB", 300, 300)],
    )
    res = lagged_sync(
        raw, lag=5, window=30, step=30, n_surrogates=99, n_boot=200, segments=["IM", "CB"], seed=1
    )
    assert res.modalities == ["HR", "MEA"]
    tab = res.to_table()
    assert set(tab["synchrony"]) <= {"above chance", "not above chance"}
    seg = res.to_table("segment")
    assert list(seg["segment"]) == ["IM", "CB", "IM", "CB"]
    assert (seg["n_windows"] == 9).all()  # 9 whole 40-s spans fit in each 300-s segment
    win = res.to_table("window")
    assert len(win) == 2 * len(res.window_starts)
    back = LaggedSyncResult.from_dict(res.to_dict())
    np.testing.assert_array_equal(back.values, res.values)
    assert back.sessions == res.sessions and back.params == res.params
    ann = res.annotations
    assert all(d.startswith("insync/L1/") for d in ann.description)


def test_episodes_annotations():
    """Coupling on only in one stretch: the episodes fall there and are annotated."""
    raw, _ = simulate_physio_dyad(
        900,
        4.0,
        modalities=["heart"],
        couplings=[PhysioCoupling("heart", 0.9, 2.0, episodes=[(300, 600)])],
        seed=2,
    )
    res = lagged_sync(raw, lag=5, window=30, step=15, n_surrogates=199, n_boot=200, seed=0)
    assert res.episodes
    for ep in res.episodes:
        assert ep["onset"] >= 300 - 30 - 5 and ep["onset"] + ep["duration"] <= 600 + 30 + 5
    # the therapist leads by 2 s: every episode's peak lag says so, but one or two
    # windows are too short for the lead test to name a leader (at most 1 block each)
    assert all(ep["lag"] > 0 and ep["phase"] == "in-phase" for ep in res.episodes)
    assert {ep["leader"] for ep in res.episodes} <= {"simultaneous", "undetermined"}
    assert all(ep["n_blocks"] <= 1 for ep in res.episodes)
    ann = res.annotations
    # Level 1 episodes, and Level 2: the session (synchronous overall)
    assert set(ann.description) == {"insync/L1/HR/HR-HR", "insync/L2/HR/HR-HR"}
    assert (ann.description == "insync/L1/HR/HR-HR").sum() == len(res.episodes)
    assert all(list(c) == ["therapist:HR", "client:HR"] for c in ann.ch_names)
    raw.set_annotations(raw.annotations + ann)  # onsets from the first sample
    assert (raw.annotations.description == "insync/L1/HR/HR-HR").sum() == len(res.episodes)


def test_pseudo_dyads():
    """Coupled dyads stand out from pseudo-dyads; a pseudo-dyad's value equals lagged_sync
    on the two people put together.
    """
    raws = []
    for k in range(4):
        raw, _ = simulate_physio_dyad(
            300 + 20 * k,
            4.0,
            modalities=["heart"],
            seed=20 + k,
            couplings=[PhysioCoupling("heart", 0.7, 1.0)],
        )
        raws.append(raw)
    out = lagged_pseudo_dyads(raws, lag=3, window=20, step=10, n_permutations=999, seed=0)
    pseudo = out["pseudo"]
    assert len(pseudo) == 12  # 4 x 3 therapist-client pseudo-dyads
    grp = out["group"].iloc[0]
    assert grp["cohens_d"] > 1 and grp["p"] < 0.01
    assert (out["dyads"]["effect_size"] > 0).all()
    # one pseudo-dyad by hand: therapist of dyad 0 with client of dyad 2, cropped to 300 s
    row = pseudo[(pseudo["person_a"] == "0:therapist") & (pseudo["person_b"] == "2:client")]
    a = raws[0].get_data(picks=["therapist:HR"])
    b = raws[2].get_data(picks=["client:HR"])[:, : a.shape[1]]
    info = mne.create_info(["HR"], 4.0, "misc")
    both = make_dyad_raw(
        mne.io.RawArray(a, info, verbose=False),
        mne.io.RawArray(b, info.copy(), verbose=False),
        roles=ROLES,
        verbose=False,
    )
    ref = lagged_sync(both, lag=3, window=20, step=10, null=None)
    assert row["sync"].iloc[0] == pytest.approx(ref.sessions[0]["sync"], abs=1e-12)
