"""Tests for hyperinsync.io.align.read_dyad: accuracy against a planted clock, bad inputs."""

from pathlib import Path

import mne
import numpy as np
import pytest
from scipy.interpolate import CubicSpline
from scipy.signal import butter, hilbert, sosfiltfilt

from hyperinsync.dyad import get_dyad_meta, role_picks
from hyperinsync.io.align import read_dyad
from hyperinsync.io.errors import AlignmentError, DyadIOError
from hyperinsync.io.poly5 import read_raw_poly5, write_poly5
from hyperinsync.simulate import Coupling, simulate_dyad

SF_HI, SF_A, SF_B = 2000.0, 500.0, 512.0
OFFSET, DRIFT = 3.2, 40e-6  # B started 3.2 s before A; B's clock runs 40 ppm fast
DUR_A = 60.0


def plv(x, y, sfreq, band=(8.0, 13.0)):
    """Alpha PLV with our own filter-Hilbert (independent of the package)."""
    sos = butter(4, band, btype="bandpass", fs=sfreq, output="sos")
    px = np.angle(hilbert(sosfiltfilt(sos, x)))
    py = np.angle(hilbert(sosfiltfilt(sos, y)))
    edge = int(sfreq)  # drop filter edges
    return float(np.abs(np.mean(np.exp(1j * (px - py))[edge:-edge])))


def _pulse_times(rng, n=80):
    """A-times on A's sample grid whose B-clock time is within 1 % of a B sample."""
    m = np.arange(int(1 * SF_A), int((DUR_A - 1) * SF_A))
    ta = m / SF_A
    kb = (ta + OFFSET) * (1 + DRIFT) * SF_B
    good = ta[np.abs(kb - np.round(kb)) < 0.01]
    spaced = [good[0]]
    for t in good[1:]:  # pulses at least 0.3 s apart
        if t - spaced[-1] > 0.3:
            spaced.append(t)
    good = np.array(spaced)
    return np.sort(rng.choice(good, n, replace=False))


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """A at 500 Hz (EDF) and B at 512 Hz (Poly5), B offset 3.2 s and drifting 40 ppm."""
    tmp = tmp_path_factory.mktemp("align")
    dyad, truth = simulate_dyad(
        duration=DUR_A + OFFSET + 4.0,
        sfreq=SF_HI,
        couplings=[Coupling(band="alpha", strength=0.6)],
        seed=3,
        verbose=False,
    )
    sos = butter(8, 120.0, fs=SF_HI, output="sos")  # band-limit so both grids are exact
    hi = {r: sosfiltfilt(sos, dyad.get_data(picks=role_picks(dyad, r))) for r in "AB"}
    names = [n.split(":", 1)[1] for n in np.array(dyad.ch_names)[role_picks(dyad, "A")]]
    t_hi = np.arange(hi["A"].shape[1]) / SF_HI
    rng = np.random.default_rng(0)
    ta = _pulse_times(rng)

    # A: true time 3.2 s + m / 500
    i0 = int(OFFSET * SF_HI)
    n_a = int(DUR_A * SF_A)
    data_a = hi["A"][:, i0 : i0 + 4 * n_a : 4]
    stim_a = np.zeros(n_a)
    for t in ta:
        stim_a[int(round(t * SF_A)) : int(round(t * SF_A)) + 5] = 1
    info_a = mne.create_info(names + ["STI 014"], SF_A, ["eeg"] * len(names) + ["stim"])
    raw_a = mne.io.RawArray(np.vstack([data_a, stim_a]), info_a, verbose=False)
    raw_a.set_meas_date(1.7e9)
    # EDF, as a second amplifier's software would write it (16-bit, physical range scaling)
    fa = tmp / "a.edf"
    mne.export.export_raw(fa, raw_a, fmt="edf", verbose=False)

    # B: sample k sits at B-clock k/512, i.e. true time k / (512 (1 + drift))
    n_b = int((DUR_A + OFFSET + 2.0) * SF_B)
    t_true_b = np.arange(n_b) / (SF_B * (1 + DRIFT))
    data_b = CubicSpline(t_hi, hi["B"], axis=1)(t_true_b)
    stim_b = np.zeros(n_b)
    for t in ta:
        k = int(round((t + OFFSET) * (1 + DRIFT) * SF_B))
        stim_b[k : k + 5] = 1
    info_b = mne.create_info(names + ["TRIGGER"], SF_B, ["eeg"] * len(names) + ["stim"])
    raw_b = mne.io.RawArray(np.vstack([data_b, stim_b]), info_b, verbose=False)
    raw_b.set_meas_date(1.7e9 - OFFSET)
    fb = tmp / "b.Poly5"
    write_poly5(fb, raw_b)
    # reference: both people on A's true-time grid, straight from the simulation
    ref = {r: hi[r][:, i0 : i0 + 4 * n_a : 4] for r in "AB"}
    return dict(fa=fa, fb=fb, raw_a=raw_a, raw_b=raw_b, ref=ref, names=names,
                pairs=truth.coupled_pairs, tmp=tmp)


def test_accuracy_planted_offset_drift(planted):
    """Offset, drift, residual, the data themselves and the alpha PLV come back."""
    # EDF has no channel types: name the trigger channel of A (B's Poly5 TRIGGER is typed)
    dyad = read_dyad(
        planted["fa"], planted["fb"], montage="standard-32", stim_channel=("STI 014", None)
    )
    rep = dyad.alignment
    assert rep == get_dyad_meta(dyad)["alignment"]
    assert rep["method"] == "sync-pulses" and rep["n_pulses"] == 80
    assert rep["sfreq_a"] == SF_A and rep["sfreq_b"] == SF_B
    assert abs(rep["offset_s"] - OFFSET * (1 + DRIFT)) < 1e-3
    assert abs(rep["drift_ppm"] - DRIFT * 1e6) < 2.0
    assert rep["residual_ms_max"] < 0.5 and rep["residual_ms_rms"] < 0.5
    assert dyad.info["sfreq"] == SF_A and dyad.n_times == int(DUR_A * SF_A)
    # the stim channels and per-person positions are kept
    assert "A:STI 014" in dyad.ch_names and "B:TRIGGER" in dyad.ch_names
    assert dyad.get_channel_types(["A:STI 014", "B:TRIGGER"]) == ["stim", "stim"]
    assert np.isfinite(dyad.info["chs"][dyad.ch_names.index("B:Fz")]["loc"][:3]).all()

    # data level: B follows the true signal within microseconds over the whole recording
    ref_b = planted["ref"]["B"]
    got_b = dyad.get_data(picks=[f"B:{n}" for n in planted["names"]])
    sl = slice(int(SF_A), -int(SF_A))
    rel = np.linalg.norm(got_b[:, sl] - ref_b[:, sl]) / np.linalg.norm(ref_b[:, sl])
    assert rel < 0.01
    sos = butter(4, (8, 13), btype="bandpass", fs=SF_A, output="sos")
    for part in (slice(500, 5500), slice(-5500, -500)):  # time error at start and end
        z_ref = hilbert(sosfiltfilt(sos, ref_b[0]))[part]
        z_got = hilbert(sosfiltfilt(sos, got_b[0]))[part]
        lag_ms = np.angle(np.sum(z_ref * np.conj(z_got))) / (2 * np.pi * 10.5) * 1e3
        assert abs(lag_ms) < 0.1

    # alpha PLV between originally coupled channels
    for ch_a, ch_b, band in planted["pairs"][:4]:
        a, b = ch_a.split(":", 1)[1], ch_b.split(":", 1)[1]
        ia, ib = planted["names"].index(a), planted["names"].index(b)
        want = plv(planted["ref"]["A"][ia], planted["ref"]["B"][ib], SF_A)
        got = plv(dyad.get_data(picks=[ch_a])[0], dyad.get_data(picks=[ch_b])[0], SF_A)
        assert abs(got - want) < 0.01, (ch_a, ch_b, got, want)
        assert want > 0.3  # the coupling is really there


def test_raw_objects_annotations_and_unequal_counts(planted):
    """Raw objects are accepted; extra pulses in B are matched by intervals and dropped."""
    raw_a = planted["raw_a"].copy()
    raw_b = planted["raw_b"].copy()
    stim = raw_b.get_data(picks="TRIGGER")[0]
    for t in (0.4, 1.3, 64.5):  # B-only pulses, irregular
        k = int(t * SF_B)
        stim[k : k + 5] = 1
    raw_b._data[raw_b.ch_names.index("TRIGGER")] = stim
    raw_b.set_annotations(mne.Annotations([10.0], [0.5], ["B_event"]))
    dyad = read_dyad(raw_a, raw_b, roles=("mother", "child"))
    rep = dyad.alignment
    assert rep["n_pulses"] == 80 and rep["n_dropped_b"] == 3 and rep["n_dropped_a"] == 0
    assert abs(rep["drift_ppm"] - 40) < 2
    # B's annotation moved onto A's timeline: B-clock 10 s is A-time 10/(1+d) - 3.2
    ann = dyad.annotations
    i = list(ann.description).index("B_event")
    want = 10.0 / (1 + DRIFT) - OFFSET * 1.0
    assert abs(ann.onset[i] - dyad.first_time - want) < 1e-3
    assert planted["raw_b"].n_times == raw_b.n_times  # inputs untouched


def test_annotation_pulses(planted):
    raws = []
    for raw, ch in ((planted["raw_a"], "STI 014"), (planted["raw_b"], "TRIGGER")):
        raw = raw.copy()
        ev = mne.find_events(raw, stim_channel=ch, verbose=False)
        raw.set_annotations(
            mne.Annotations((ev[:, 0] - raw.first_samp) / raw.info["sfreq"], 0.0, "sync",
                            orig_time=None)
        )
        raws.append(raw)
    dyad = read_dyad(*raws, annotation="sync")
    assert dyad.alignment["n_pulses"] == 80
    assert abs(dyad.alignment["drift_ppm"] - 40) < 2
    assert (np.asarray(dyad.annotations.description) == "sync").sum() >= 80


def test_start_only_warns(planted):
    with pytest.warns(RuntimeWarning, match="drift is not corrected"):
        dyad = read_dyad(planted["fa"], planted["fb"], sync="start")
    rep = dyad.alignment
    assert rep["method"] == "start-time" and rep["drift_ppm"] is None
    # Poly5 stores the start time in whole seconds: expect what the file holds
    md_b = read_raw_poly5(planted["fb"]).info["meas_date"]
    want = (planted["raw_a"].info["meas_date"] - md_b).total_seconds()
    assert abs(rep["offset_s"] - want) < 1e-6 and abs(want - OFFSET) <= 1.0
    assert dyad.info["sfreq"] == SF_A


def _small(sfreq=100.0, n=2000, pulses=(2.0, 5.5, 9.0, 13.5), stim=True, meas=0.0):
    names = ["Fz", "Cz"] + (["STI 014"] if stim else [])
    types = ["eeg", "eeg"] + (["stim"] if stim else [])
    data = np.random.default_rng(1).normal(0, 1e-5, (len(names), n))
    if stim:
        data[-1] = 0
        for t in pulses:
            data[-1, int(t * sfreq) : int(t * sfreq) + 3] = 1
    raw = mne.io.RawArray(data, mne.create_info(names, sfreq, types), verbose=False)
    if meas is not None:
        raw.set_meas_date(1.7e9 + meas)
    return raw


def test_bad_files(tmp_path, planted):
    empty = tmp_path / "empty_raw.fif"
    empty.write_bytes(b"")
    with pytest.raises(DyadIOError, match="empty_raw.fif"):
        read_dyad(empty, planted["fb"])
    trunc = tmp_path / "trunc.Poly5"
    trunc.write_bytes(Path(planted["fb"]).read_bytes()[:300])
    with pytest.raises(DyadIOError, match="trunc.Poly5"):
        read_dyad(planted["fa"], trunc)
    corrupt = tmp_path / "corrupt_raw.fif"
    data = bytearray(Path(planted["fa"]).read_bytes()[:5000])
    data[20:400] = b"\xff" * 380
    corrupt.write_bytes(bytes(data))
    with pytest.raises(DyadIOError, match="corrupt_raw.fif"):
        read_dyad(corrupt, planted["fb"])
    with pytest.raises(FileNotFoundError, match="nothere"):
        read_dyad(tmp_path / "nothere.edf", planted["fb"])


def test_pulse_errors():
    a = _small()
    with pytest.raises(AlignmentError, match="no stim channel"):
        read_dyad(a, _small(stim=False))
    with pytest.raises(AlignmentError, match="no sync pulses"):
        read_dyad(a, _small(pulses=()))
    with pytest.raises(AlignmentError, match="Fewer than 2"):
        read_dyad(a, _small(pulses=(3.0,)))
    # unequal counts of periodic pulses: ambiguous
    with pytest.raises(AlignmentError, match="unambiguously"):
        read_dyad(_small(pulses=(2, 4, 6, 8, 10)), _small(pulses=(2, 4, 6, 8, 10, 12, 14)))
    # unequal counts with no common pattern
    with pytest.raises(AlignmentError, match="Cannot match"):
        read_dyad(_small(pulses=(1, 1.5, 7, 12)), _small(pulses=(2, 8.3, 9.1, 9.9, 16.4)))
    # same count, but the pulses do not lie on one clock line
    with pytest.raises(AlignmentError, match="exceeds tolerance_ms=2.0.*18 degrees"):
        read_dyad(a, _small(pulses=(2.0, 5.55, 9.0, 13.5)))
    # ... which a looser tolerance accepts (residual ~ 25 ms)
    dyad = read_dyad(a, _small(pulses=(2.0, 5.55, 9.0, 13.5)), tolerance_ms=40)
    assert 10 < dyad.alignment["residual_ms_max"] < 40


def test_rate_mismatch_and_overlap():
    with pytest.raises(AlignmentError, match="different sampling rates.*sync='start'"):
        read_dyad(_small(), _small(sfreq=128.0, stim=False))
    with pytest.warns(RuntimeWarning, match="drift is not corrected"):
        dyad = read_dyad(_small(), _small(sfreq=128.0, n=2560, stim=False), sync="start")
    assert dyad.info["sfreq"] == 100.0
    with pytest.warns(RuntimeWarning, match="drift"), pytest.raises(
        AlignmentError, match="do not overlap"
    ):
        read_dyad(_small(), _small(meas=100.0), sync="start")
    with pytest.raises(AlignmentError, match="measurement start"):
        read_dyad(_small(meas=None), _small(), sync="start")


def test_nan_run():
    b = _small()
    b._data[1, 700:750] = np.nan
    with pytest.raises(DyadIOError, match=r"'Cz'.*7\.000 s to 7\.500 s"):
        read_dyad(_small(), b)
