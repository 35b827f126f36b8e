"""Tests of hyperinsync.simulation against references written out here.

The reference measures are plain SciPy: a 4th-order Butterworth band-pass applied forwards and
backwards (``filtfilt``), the analytic signal (``hilbert``), and

    coherence = |mean(a * conj(b))| / sqrt(mean|a|^2 * mean|b|^2)
    PLV       = |mean(exp(1j * (angle(a) - angle(b))))|

Tolerances. A 60 s recording gives about (band width x duration) = 5 Hz x 60 s = 300
independent samples of a band's analytic signal, so a single coherence estimate scatters by
about (1 - r^2) / sqrt(300), i.e. up to ~0.06, and an uncoupled pair's estimate is biased up to
~sqrt(pi / (4 * 300)) = 0.05 (single uncoupled pairs reach ~0.15: the alpha peak narrows the
effective band, so we compare means, and the weakest coupled pair with the strongest
uncoupled). The coupled-channel mean over the 49 frontal pairs shares one source and one
background per person, so it scatters less (observed within 0.02 over seeds);
we allow 0.05. The Butterworth skirts let in some out-of-band background, which biases the
estimate slightly low, well inside that tolerance.
"""

import datetime as dt

import mne
import numpy as np
import pytest
from scipy.signal import butter, csd, filtfilt, hilbert, welch

from hyperinsync.dyad import get_dyad_meta
from hyperinsync.montage import read_montage
from hyperinsync.simulation import (
    Coupling,
    SimulatedStudy,
    SimulationTruth,
    simulate_dyad,
    simulate_study,
)

SFREQ = 250.0
SHORT_SEGMENTS = (("rest_pre", 20.0), ("session", 60.0), ("rest_post", 20.0))


def analytic(x, fmin, fmax, sfreq=SFREQ):
    b, a = butter(4, [fmin, fmax], btype="bandpass", fs=sfreq)
    return hilbert(filtfilt(b, a, x, axis=-1), axis=-1)


def coherence(za, zb):
    cross = np.mean(za * np.conj(zb), axis=-1)
    return np.abs(cross) / np.sqrt(
        np.mean(np.abs(za) ** 2, axis=-1) * np.mean(np.abs(zb) ** 2, axis=-1)
    )


def plv(za, zb):
    return np.abs(np.mean(np.exp(1j * (np.angle(za) - np.angle(zb))), axis=-1))


def pair_signals(raw, pairs, fmin, fmax):
    za = analytic(raw.get_data([p[0] for p in pairs]), fmin, fmax)
    zb = analytic(raw.get_data([p[1] for p in pairs]), fmin, fmax)
    return za, zb


UNCOUPLED = [
    ("A:O1", "B:O1"),
    ("A:Pz", "B:Pz"),
    ("A:T7", "B:T8"),
    ("A:C3", "B:P4"),
    ("A:Oz", "B:CP1"),
    ("A:P8", "B:O2"),
]


@pytest.mark.parametrize("strength", [0.3, 0.6])
def test_coupled_coherence_matches_strength(strength):
    raw, truth = simulate_dyad(
        duration=60.0,
        sfreq=SFREQ,
        couplings=[Coupling("alpha", "frontal", "frontal", strength)],
        seed=11,
        verbose=False,
    )
    assert len(truth.coupled_pairs) == 7 * 7
    assert all(band == "alpha" for _, _, band in truth.coupled_pairs)
    za, zb = pair_signals(raw, truth.coupled_pairs, 8.0, 13.0)
    coupled = coherence(za, zb)
    assert abs(coupled.mean() - strength) < 0.05
    za_u, zb_u = pair_signals(raw, UNCOUPLED, 8.0, 13.0)
    uncoupled = coherence(za_u, zb_u)
    assert uncoupled.mean() < 0.1
    assert coupled.mean() > 3 * uncoupled.mean()
    assert coupled.min() > uncoupled.max()
    assert plv(za, zb).mean() > 3 * plv(za_u, zb_u).mean()
    # outside the coupled band the same pairs are uncoupled
    za_t, zb_t = pair_signals(raw, truth.coupled_pairs, 4.0, 7.0)
    assert coherence(za_t, zb_t).mean() < 0.1


def test_lag_and_phase_recovered():
    lag = 0.025
    raw, truth = simulate_dyad(
        duration=120.0,
        sfreq=SFREQ,
        couplings=[
            Coupling("alpha", ["Fz"], ["Fz"], 0.8, lag=lag),
            Coupling("theta", ["Pz"], ["Pz"], 0.7, phase=np.pi),
        ],
        seed=5,
        verbose=False,
    )
    a, b = raw.get_data(["A:Fz", "B:Fz"])
    # scipy's csd(x, y) averages conj(X) * Y, so E[A conj(B)] = conj(csd(a, b))
    freqs, pxy = csd(a, b, fs=SFREQ, nperseg=int(4 * SFREQ))
    cross = np.conj(pxy)
    centre = np.argmin(np.abs(freqs - 10.5))
    expected = 2 * np.pi * freqs[centre] * lag
    assert abs(np.angle(cross[centre] * np.exp(-1j * expected))) < 0.2
    band = (freqs >= 8.5) & (freqs <= 12.5)
    slope = np.polyfit(freqs[band], np.unwrap(np.angle(cross[band])), 1)[0]
    # phase SD per bin ~ sqrt((1 - c^2) / (2 n c^2)) = 0.1 rad for n = 30 segments, c = 0.8,
    # so the slope over 17 bins (4 Hz) gives the lag to ~3 ms (SE); allow 10 ms
    assert abs(slope / (2 * np.pi) - lag) < 0.01  # A leads by 25 ms
    # anti-phase coupling: strong coupling, cross-spectrum angle near pi
    za, zb = pair_signals(raw, [("A:Pz", "B:Pz")], 4.0, 8.0)
    cross_theta = np.mean(za * np.conj(zb))
    assert np.cos(np.angle(cross_theta)) < -0.95
    assert coherence(za, zb)[0] > 0.55


def test_episodes_on_and_off():
    episodes = [(10.0, 25.0), (40.0, 52.0)]
    raw, truth = simulate_dyad(
        duration=60.0,
        sfreq=SFREQ,
        couplings=[Coupling("alpha", "frontal", "frontal", 0.6, episodes=episodes)],
        seed=2,
        verbose=False,
    )
    assert truth.couplings[0]["episodes"] == [[10.0, 25.0], [40.0, 52.0]]
    za, zb = pair_signals(raw, truth.coupled_pairs, 8.0, 13.0)
    t = raw.times

    def coh_in(*spans):
        mask = np.zeros(t.size, bool)
        for t0, t1 in spans:
            mask |= (t >= t0) & (t < t1)
        return coherence(za[:, mask], zb[:, mask]).mean()

    inside = coh_in((11.0, 24.0), (41.0, 51.0))
    outside = coh_in((1.0, 9.0), (27.0, 39.0), (54.0, 59.0))
    assert abs(inside - 0.6) < 0.07
    assert outside < 0.12


def test_determinism_and_seed():
    kwargs = dict(duration=10.0, sfreq=SFREQ, blinks=True, bursts=True, verbose=False)
    raw1, truth1 = simulate_dyad(seed=42, **kwargs)
    raw2, truth2 = simulate_dyad(seed=42, **kwargs)
    assert np.array_equal(raw1.get_data(), raw2.get_data())
    assert truth1.to_dict() == truth2.to_dict()
    raw3, _ = simulate_dyad(seed=43, **kwargs)
    assert not np.allclose(raw1.get_data(), raw3.get_data())
    # seed=None records a seed that reproduces the recording; Generators work too
    raw4, truth4 = simulate_dyad(seed=None, **kwargs)
    raw5, _ = simulate_dyad(seed=truth4.seed, **kwargs)
    assert np.array_equal(raw4.get_data(), raw5.get_data())
    raw6, _ = simulate_dyad(seed=np.random.default_rng(0), **kwargs)
    raw7, _ = simulate_dyad(seed=np.random.default_rng(0), **kwargs)
    assert np.array_equal(raw6.get_data(), raw7.get_data())


def test_structure_meta_and_montage():
    raw, truth = simulate_dyad(
        duration=10.0,
        sfreq=SFREQ,
        montage="tmsi-mobita-32",
        roles=("therapist", "client"),
        seed=1,
        verbose=False,
    )
    assert isinstance(truth, SimulationTruth)
    assert raw.ch_names[:2] == ["therapist:Fp1", "therapist:Fpz"]
    assert len(raw.ch_names) == 64 and raw.n_times == 2500
    assert set(raw.get_channel_types()) == {"eeg"}
    assert truth.coupled_pairs[0] == ("therapist:Fp1", "client:Fp1", "alpha")
    assert get_dyad_meta(raw)["simulation"] == truth.to_dict()
    # each person's channel positions are those of the montage
    info = mne.create_info(read_montage("tmsi-mobita-32").ch_names, SFREQ, "eeg")
    info.set_montage(read_montage("tmsi-mobita-32"))
    ref = {ch["ch_name"]: ch["loc"][:3] for ch in info["chs"]}
    for ch in raw.info["chs"]:
        role, name = ch["ch_name"].split(":")
        np.testing.assert_allclose(ch["loc"][:3], ref[name], atol=1e-9)
    client = raw.participant("client")
    np.testing.assert_array_equal(client.get_data(), raw.get_data(picks=list(range(32, 64))))


def test_background_spectrum_and_level():
    raw, truth = simulate_dyad(duration=60.0, sfreq=SFREQ, couplings=[], seed=3, verbose=False)
    assert truth.coupled_pairs == [] and truth.couplings == []
    data_a = raw.get_data(picks=list(range(32)))
    # RMS over a person's channels is noise_level (closed form of the scaling)
    assert np.isclose(np.sqrt(np.mean(data_a**2)), 10e-6, rtol=1e-9)
    freqs, psd = welch(data_a, fs=SFREQ, nperseg=int(4 * SFREQ))
    names = raw.ch_names[:32]
    # 1/f slope, alpha range excluded
    fit = ((freqs >= 2) & (freqs <= 6)) | ((freqs >= 16) & (freqs <= 40))
    slope = np.polyfit(np.log10(freqs[fit]), np.log10(psd[:, fit].mean(0)), 1)[0]
    assert -1.3 < slope < -0.7
    # the alpha peak: at the person's frequency, stronger over occipital than frontal channels
    alpha = (freqs >= 8) & (freqs <= 13)
    occ = psd[[names.index(f"A:{c}") for c in ("O1", "Oz", "O2")]].mean(0)
    front = psd[[names.index(f"A:{c}") for c in ("Fp1", "Fp2")]].mean(0)
    assert abs(freqs[alpha][np.argmax(occ[alpha])] - truth.alpha_peaks["A"]) <= 0.5
    assert occ[alpha].sum() > 2 * front[alpha].sum()


def test_blinks_and_bursts():
    raw, truth = simulate_dyad(
        duration=30.0,
        sfreq=SFREQ,
        couplings=[],
        blinks=True,
        bursts=True,
        seed=8,
        verbose=False,
    )
    blinks = [a for a in truth.artifacts if a["kind"] == "blink" and a["role"] == "A"]
    assert len(blinks) >= 3
    assert all(0.2 <= b["duration"] <= 0.4 and 100e-6 <= b["amplitude"] <= 200e-6 for b in blinks)
    fp1, o1 = raw.get_data(["A:Fp1", "A:O1"])
    for blink in blinks:
        i = int((blink["onset"] + blink["duration"] / 2) * SFREQ)
        assert fp1[i] > 50e-6  # background RMS is 10 uV
        assert abs(o1[i]) < 40e-6
    emg = [a for a in truth.artifacts if a["kind"] == "emg"]
    assert all(0.5 <= e["duration"] <= 2.0 for e in emg)


def test_segments_annotations():
    segments = [("rest_pre", 4.0), ("session", 10.0), ("rest_post", 6.0)]
    raw, truth = simulate_dyad(sfreq=SFREQ, segments=segments, seed=0, verbose=False)
    assert raw.times[-1] + 1 / SFREQ == pytest.approx(20.0)
    assert list(raw.annotations.description) == ["rest_pre", "session", "rest_post"]
    np.testing.assert_allclose(raw.annotations.onset, [0.0, 4.0, 14.0])
    np.testing.assert_allclose(raw.annotations.duration, [4.0, 10.0, 6.0])
    assert truth.segments == [
        ("rest_pre", 0.0, 4.0),
        ("session", 4.0, 10.0),
        ("rest_post", 14.0, 6.0),
    ]


@pytest.mark.parametrize(
    "coupling, match",
    [
        (Coupling(band="gamma"), "Unknown band 'gamma'"),
        (Coupling(band=(8, 200)), "Nyquist"),
        (Coupling(roi_a=["Fz", "XYZ"]), r"\['XYZ'\] of roi_a are not in montage"),
        (Coupling(roi_b="nose"), "Unknown ROI 'nose'"),
        (Coupling(strength=1.0), r"strength must be in \[0, 1\)"),
        (Coupling(strength=-0.1), r"strength must be in \[0, 1\)"),
        (Coupling(lag=1.5), r"lag must be within \+/-1 s"),
        (Coupling(episodes=[(5, 12)]), r"outside the recording \(0, 10\)"),
        (Coupling(episodes=[(2, 5), (4, 6)]), "Episodes overlap"),
    ],
)
def test_bad_couplings(coupling, match):
    with pytest.raises(ValueError, match=match):
        simulate_dyad(duration=10.0, sfreq=SFREQ, couplings=[coupling], seed=0, verbose=False)


def test_bad_arguments():
    with pytest.raises(ValueError, match="overlap in frequency and time"):
        simulate_dyad(
            duration=10.0,
            sfreq=SFREQ,
            seed=0,
            verbose=False,
            couplings=[Coupling("alpha", ["Fz"], ["Fz"]), Coupling((10, 20), ["Fz", "Cz"], ["Pz"])],
        )
    # the same channels and band at different times are fine
    simulate_dyad(
        duration=10.0,
        sfreq=SFREQ,
        seed=0,
        verbose=False,
        couplings=[Coupling(episodes=[(0, 5)]), Coupling(episodes=[(5, 10)])],
    )
    with pytest.raises(ValueError, match="Unknown montage 'nope'"):
        simulate_dyad(duration=10.0, montage="nope", verbose=False)
    with pytest.raises(ValueError, match="roles must be two different names"):
        simulate_dyad(duration=10.0, roles=("A", "A"), verbose=False)
    with pytest.raises(ValueError, match="positive duration"):
        simulate_dyad(segments=[("rest", 0.0)], verbose=False)


def test_study_table():
    study = simulate_study(
        n_dyads=300,
        n_sessions=3,
        session_interval_days=7,
        trend_per_session=0.02,
        rest_post_gain=0.1,
        seed=7,
        verbose=False,
    )
    assert isinstance(study, SimulatedStudy)
    rows = study.to_table(as_frame=False)
    assert len(rows) == 900 and len(study.dyads) == 300
    first = [r for r in rows if r["session"] == 0]
    strength = np.array([r["strength"] for r in first])
    group = np.array([r["group"] for r in first])
    assert (group == "mindful").sum() == (group == "non-mindful").sum() == 150
    assert abs(strength[group == "mindful"].mean() - 0.45) < 0.02
    assert abs(strength[group == "non-mindful"].mean() - 0.25) < 0.02
    gap = np.array([r["WAI_T"] - r["WAI_C"] for r in first])
    assert all(12 <= r["WAI_T"] <= 84 and 12 <= r["WAI_C"] <= 84 for r in rows)
    # population r = -0.67; SE at n = 300 is about (1 - r^2) / sqrt(n) = 0.03
    r = np.corrcoef(gap, strength)[0, 1]
    assert -0.8 < r < -0.55
    for dyad in study.dyads[:5]:
        sessions = [row for row in rows if row["dyad"] == dyad]
        assert [s["session"] for s in sessions] == [0, 1, 2]
        assert [(s["date"] - sessions[0]["date"]).days for s in sessions] == [0, 7, 14]
        np.testing.assert_allclose(
            [s["strength"] - sessions[0]["strength"] for s in sessions],
            [0.0, 0.02, 0.04],
            atol=1e-12,
        )
        for s in sessions:
            assert s["strength_rest_post"] == pytest.approx(s["strength"] + 0.1)
            eps = s["episodes"]
            assert 3 <= len(eps) <= 6
            assert all(300 <= on < off <= 1500 and 5 <= off - on <= 20 for on, off in eps)
    # default size: the 14-dyad pilot design still shows a negative gap-strength correlation
    small = simulate_study(seed=1, verbose=False).to_table(as_frame=False)
    assert len(small) == 14
    assert np.corrcoef([r["alliance_gap"] for r in small], [r["strength"] for r in small])[0, 1] < 0


def test_study_recordings():
    study = simulate_study(
        n_dyads=2,
        segments=SHORT_SEGMENTS,
        sfreq=SFREQ,
        groups={"high": 0.3},
        rest_post_gain=0.5,
        seed=4,
        verbose=False,
    )
    raw, truth = study.get_dyad("dyad01")
    row = study.table[0]
    assert truth.extra["strength"] == row["strength"]
    assert raw.info["meas_date"].date() == row["date"] == dt.date(2024, 1, 8)
    assert list(raw.annotations.description) == ["rest_pre", "session", "rest_post"]
    np.testing.assert_allclose(raw.annotations.onset, [0.0, 20.0, 80.0])
    assert truth.roles == ("therapist", "client")
    raw_again, _ = study.get_dyad(0)
    assert np.array_equal(raw.get_data(), raw_again.get_data())
    other, _ = study.get_dyad("dyad02")
    assert not np.allclose(raw.get_data(), other.get_data())
    # Level 1: on inside the session episodes, off between them
    theta = [p for p in truth.coupled_pairs if p[2] == "theta"]
    assert {p[0].split(":")[1] for p in theta} == {"Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8"}
    za, zb = pair_signals(raw, theta, 4.0, 8.0)
    t = raw.times
    on = np.zeros(t.size, bool)
    for t0, t1 in row["episodes"]:
        on |= (t >= t0 + 1) & (t < t1 - 1)
    off = (t >= 21) & (t < 79) & ~on
    for t0, t1 in row["episodes"]:
        off &= (t < t0 - 1) | (t >= t1 + 1)
    assert coherence(za[:, on], zb[:, on]).mean() > 0.15
    assert coherence(za[:, off], zb[:, off]).mean() < 0.12
    # Level 2: rest_post is coupled more strongly than rest_pre
    pre, post = (t >= 1) & (t < 19), (t >= 81) & (t < 99)
    c_pre = coherence(za[:, pre], zb[:, pre]).mean()
    c_post = coherence(za[:, post], zb[:, post]).mean()
    assert c_post > c_pre + 0.2
    with pytest.raises(ValueError, match="No recording for dyad 'dyad09'"):
        study.get_dyad("dyad09")


def test_study_to_frame_and_errors():
    pd = pytest.importorskip("pandas")
    study = simulate_study(n_dyads=4, seed=0, verbose=False)
    frame = study.to_table()
    assert isinstance(frame, pd.DataFrame) and len(frame) == 4
    assert {"dyad", "group", "session", "date", "strength", "WAI_T", "WAI_C"} <= set(frame)
    with pytest.raises(ValueError, match="Unknown band 'beta'"):
        simulate_study(couplings=[Coupling("beta")], verbose=False)
    with pytest.raises(ValueError, match="Strength of group 'x'"):
        simulate_study(groups={"x": 1.2}, verbose=False)
