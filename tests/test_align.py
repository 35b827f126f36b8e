"""Tests for hyperinsync.io.align.read_dyad_files: accuracy against a planted clock, bad inputs."""

from pathlib import Path

import mne
import numpy as np
import pytest
from scipy.interpolate import CubicSpline
from scipy.signal import butter, hilbert, sosfiltfilt

from hyperinsync.dyad import get_dyad_meta, role_picks
from hyperinsync.io.align import read_dyad_files, read_recording, recording_files
from hyperinsync.io.errors import AlignmentError, DyadIOError
from hyperinsync.io.poly5 import read_raw_poly5, write_poly5
from hyperinsync.simulation import Coupling, simulate_dyad

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
    return dict(
        fa=fa,
        fb=fb,
        raw_a=raw_a,
        raw_b=raw_b,
        ref=ref,
        names=names,
        pairs=truth.coupled_pairs,
        tmp=tmp,
    )


def test_accuracy_planted_offset_drift(planted):
    """Offset, drift, residual, the data themselves and the alpha PLV come back."""
    # EDF has no channel types: name the trigger channel of A (B's Poly5 TRIGGER is typed)
    dyad = read_dyad_files(
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
    dyad = read_dyad_files(raw_a, raw_b, roles=("mother", "child"))
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
            mne.Annotations(
                (ev[:, 0] - raw.first_samp) / raw.info["sfreq"], 0.0, "sync", orig_time=None
            )
        )
        raws.append(raw)
    dyad = read_dyad_files(*raws, annotation="sync")
    assert dyad.alignment["n_pulses"] == 80
    assert abs(dyad.alignment["drift_ppm"] - 40) < 2
    assert (np.asarray(dyad.annotations.description) == "sync").sum() >= 80


def test_start_only_warns(planted):
    with pytest.warns(RuntimeWarning, match="drift is not corrected"):
        dyad = read_dyad_files(planted["fa"], planted["fb"], sync="start")
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
        read_dyad_files(empty, planted["fb"])
    trunc = tmp_path / "trunc.Poly5"
    trunc.write_bytes(Path(planted["fb"]).read_bytes()[:300])
    with pytest.raises(DyadIOError, match="trunc.Poly5"):
        read_dyad_files(planted["fa"], trunc)
    corrupt = tmp_path / "corrupt_raw.fif"
    data = bytearray(Path(planted["fa"]).read_bytes()[:5000])
    data[20:400] = b"\xff" * 380
    corrupt.write_bytes(bytes(data))
    with pytest.raises(DyadIOError, match="corrupt_raw.fif"):
        read_dyad_files(corrupt, planted["fb"])
    with pytest.raises(FileNotFoundError, match="nothere"):
        read_dyad_files(tmp_path / "nothere.edf", planted["fb"])


def test_pulse_errors():
    a = _small()
    with pytest.raises(AlignmentError, match="no stim channel"):
        read_dyad_files(a, _small(stim=False))
    with pytest.raises(AlignmentError, match="no sync pulses"):
        read_dyad_files(a, _small(pulses=()))
    with pytest.raises(AlignmentError, match="Fewer than 2"):
        read_dyad_files(a, _small(pulses=(3.0,)))
    # unequal counts of periodic pulses: ambiguous
    with pytest.raises(AlignmentError, match="unambiguously"):
        read_dyad_files(_small(pulses=(2, 4, 6, 8, 10)), _small(pulses=(2, 4, 6, 8, 10, 12, 14)))
    # unequal counts with no common pattern
    with pytest.raises(AlignmentError, match="Cannot match"):
        read_dyad_files(_small(pulses=(1, 1.5, 7, 12)), _small(pulses=(2, 8.3, 9.1, 9.9, 16.4)))
    # same count, but the pulses do not lie on one clock line
    with pytest.raises(AlignmentError, match="exceeds tolerance_ms=2.0.*18 degrees"):
        read_dyad_files(a, _small(pulses=(2.0, 5.55, 9.0, 13.5)))
    # ... which a looser tolerance accepts (residual ~ 25 ms)
    dyad = read_dyad_files(a, _small(pulses=(2.0, 5.55, 9.0, 13.5)), tolerance_ms=40)
    assert 10 < dyad.alignment["residual_ms_max"] < 40


def test_rate_mismatch_and_overlap():
    with pytest.raises(AlignmentError, match="different sampling rates.*sync='start'"):
        read_dyad_files(_small(), _small(sfreq=128.0, stim=False))
    with pytest.warns(RuntimeWarning, match="drift is not corrected"):
        dyad = read_dyad_files(_small(), _small(sfreq=128.0, n=2560, stim=False), sync="start")
    assert dyad.info["sfreq"] == 100.0
    with (
        pytest.warns(RuntimeWarning, match="drift"),
        pytest.raises(AlignmentError, match="do not overlap"),
    ):
        read_dyad_files(_small(), _small(meas=100.0), sync="start")
    with pytest.raises(AlignmentError, match="measurement start"):
        read_dyad_files(_small(meas=None), _small(), sync="start")


def test_nan_run():
    b = _small()
    b._data[1, 700:750] = np.nan
    with pytest.raises(DyadIOError, match=r"'Cz'.*7\.000 s to 7\.500 s"):
        read_dyad_files(_small(), b)


# --------------------------------------------------------------------------------------
# pulse pairing: ambiguity in every path (issue 12, item 8)
# --------------------------------------------------------------------------------------
def test_periodic_equal_counts_are_ambiguous():
    """Periodic pulses, equal counts, one pulse apart: refused, not paired in order."""
    true = 2.0 + 2.0 * np.arange(8)  # a pulse every 2 s (A's clock)
    a = _small(n=2500, pulses=true[:-1])  # A recorded pulses 1..7
    b = _small(n=2500, pulses=true[1:] + 3.2)  # B (started 3.2 s earlier) pulses 2..8
    with pytest.raises(AlignmentError, match="unambiguously.*pulse_pairing='order'"):
        read_dyad_files(a, b)
    # the same refusal when the counts are equal because both hold the same pulses: from
    # the pulse times alone the two cases cannot be told apart
    with pytest.raises(AlignmentError, match="unambiguously"):
        read_dyad_files(_small(n=2500, pulses=true), _small(n=2500, pulses=true + 3.2))
    # ... unless the user vouches that both files hold exactly the same pulses
    dyad = read_dyad_files(
        _small(n=2500, pulses=true), _small(n=2500, pulses=true + 3.2), pulse_pairing="order"
    )
    assert abs(dyad.alignment["offset_s"] - 3.2) < 0.02
    assert dyad.alignment["pulse_pairing"] == "order"
    with pytest.raises(AlignmentError, match="pulse_pairing='order'.*7.*8"):
        read_dyad_files(a, _small(n=2500, pulses=true + 3.2), pulse_pairing="order")


def test_equal_counts_shifted_pair_by_intervals():
    """Equal counts, but A lacks the first pulse and B the last: paired by intervals."""
    true = np.cumsum(np.r_[2.0, np.random.default_rng(4).uniform(1.0, 2.0, 9)])
    a = _small(n=2500, pulses=true[1:])
    b = _small(n=2500, pulses=true[:-1] + 0.8)
    dyad = read_dyad_files(a, b)
    rep = dyad.alignment
    assert rep["n_pulses"] == 8 and rep["n_dropped_a"] == 1 and rep["n_dropped_b"] == 1
    assert abs(rep["offset_s"] - 0.8) < 0.02


# --------------------------------------------------------------------------------------
# sample quantisation of pulse times (item 9)
# --------------------------------------------------------------------------------------
def _two_grids(
    pulses_true, offset=1.7, drift=30e-6, sf_a=500.0, sf_b=512.0, dur=40.0, shift_b=None
):
    """A at 500 Hz and B at 512 Hz, each pulse at the first sample at/after its true time."""
    rng = np.random.default_rng(5)
    raws = []
    for sf, times, name in (
        (sf_a, pulses_true, "STI"),
        (sf_b, (pulses_true + offset) * (1 + drift), "TRIG"),
    ):
        n = int(np.ceil(dur + offset + 1) * sf)  # whole seconds: whole EDF records
        data = np.vstack([rng.normal(0, 1e-5, (2, n)), np.zeros(n)])
        times = np.array(times, float)
        if shift_b is not None and name == "TRIG":
            times = times + shift_b
        for t in times:
            k = int(np.ceil(t * sf - 1e-9))  # quantised to this amplifier's grid
            data[2, k : k + 3] = 1
        info = mne.create_info(["Fz", "Cz", name], sf, ["eeg", "eeg", "stim"])
        raws.append(mne.io.RawArray(data, info, verbose=False))
    return raws


def _extreme_quantisation(n_low=7, offset=1.7, drift=30e-6):
    """Pulse times whose quantisation errors are extreme: 7 with B early, 1 with B late."""
    cand = np.sort(np.random.default_rng(0).uniform(1.0, 38.0, 200000))
    err_a = np.ceil(cand * SF_A - 1e-9) / SF_A - cand
    tb = (cand + offset) * (1 + drift)
    err_b = np.ceil(tb * SF_B - 1e-9) / SF_B - tb
    e = err_b - err_a
    low, high = np.argsort(e)[:2000], np.argsort(e)[-2000:]
    chosen, last = [], -10.0
    for i in np.sort(np.r_[low[::250][:n_low], high[:1]]):
        if cand[i] - last > 0.5:
            chosen.append(cand[i])
            last = cand[i]
    return np.array(chosen)


def test_quantised_pulses_accepted_at_default_tolerance():
    """Pulses on neither grid: one sample of each clock is expected, not an error."""
    pulses = _extreme_quantisation()
    a, b = _two_grids(pulses)
    dyad = read_dyad_files(a, b)  # the old check (largest residual <= 2 ms) refused this pair
    rep = dyad.alignment
    assert rep["residual_ms_max"] > 2.0  # the quantisation the old check tripped on
    assert rep["misfit_ms"] == 0.0
    assert abs(rep["quantisation_ms"] - (1e3 / SF_A + 1e3 / SF_B)) < 1e-9
    # inside the pulse train the line is right to within the quantisation
    tm = pulses.mean()
    got = rep["offset_s"] + (1 + rep["drift_ppm"] * 1e-6) * tm
    assert abs(got - (tm + 1.7) * (1 + 30e-6)) < rep["quantisation_ms"] / 2e3
    # 25 random pulse trains on both grids: none is refused
    rng = np.random.default_rng(11)
    for _ in range(25):
        pulses = np.cumsum(rng.uniform(1.0, 2.5, 20))
        a, b = _two_grids(pulses[pulses < 38.0])
        rep = read_dyad_files(a, b).alignment
        assert rep["misfit_ms"] <= 2.0 and abs(rep["drift_ppm"] - 30) < 40


def test_real_misalignment_still_refused():
    pulses = np.cumsum(np.random.default_rng(2).uniform(1.0, 2.5, 20))
    pulses = pulses[pulses < 38.0]
    # a clock jump of 12 ms in B halfway through (lost samples): a line through a step
    # leaves residuals of +-3 ms besides the quantisation
    jump = np.where(np.arange(len(pulses)) >= len(pulses) // 2, 0.012, 0.0)
    a, b = _two_grids(pulses, shift_b=jump)
    with pytest.raises(AlignmentError, match="timing error.*exceeds tolerance_ms=2.0"):
        read_dyad_files(a, b)
    # one pulse 10 ms late
    late = np.zeros(len(pulses))
    late[5] = 0.010
    a, b = _two_grids(pulses, shift_b=late)
    with pytest.raises(AlignmentError, match="exceeds tolerance_ms"):
        read_dyad_files(a, b)


def _write_brainvision(stem, data, sfreq, ch_names, markers, data_points=None):
    """A BrainVision recording (float32, multiplexed), by the format's own layout."""
    stem = Path(stem)
    vhdr, eeg, vmrk = (stem.with_suffix(s) for s in (".vhdr", ".eeg", ".vmrk"))
    chans = "\n".join(f"Ch{i + 1}={n},,0.1,µV" for i, n in enumerate(ch_names))
    points = "" if data_points is None else f"DataPoints={data_points}\n"
    vhdr.write_text(
        "Brain Vision Data Exchange Header File Version 1.0\n\n[Common Infos]\n"
        f"Codepage=UTF-8\nDataFile={eeg.name}\nMarkerFile={vmrk.name}\nDataFormat=BINARY\n"
        f"DataOrientation=MULTIPLEXED\nNumberOfChannels={len(ch_names)}\n{points}"
        f"SamplingInterval={1e6 / sfreq}\n\n[Binary Infos]\nBinaryFormat=IEEE_FLOAT_32\n\n"
        f"[Channel Infos]\n{chans}\n",
        encoding="utf-8",
    )
    (data / 0.1e-6).T.astype("<f4").tofile(eeg)  # resolution 0.1 µV per unit
    marks = "\n".join(f"Mk{i + 2}=Comment,{d},{k + 1},1,0" for i, (k, d) in enumerate(markers))
    vmrk.write_text(
        "Brain Vision Data Exchange Marker File, Version 1.0\n\n[Common Infos]\n"
        f"Codepage=UTF-8\nDataFile={eeg.name}\n\n[Marker Infos]\n"
        f"Mk1=New Segment,,1,1,0\n{marks}\n",
        encoding="utf-8",
    )
    return vhdr


def test_edf_and_brainvision_files(tmp_path):
    """500 Hz EDF (stim channel) + 512 Hz BrainVision (markers Comment/sync)."""
    pulses = _extreme_quantisation()
    a, b = _two_grids(pulses)
    fa = tmp_path / "a.edf"
    mne.export.export_raw(fa, a, fmt="edf", verbose=False)
    kb = np.flatnonzero(np.diff(np.r_[0, b.get_data(picks="TRIG")[0]]) > 0)
    fb = _write_brainvision(
        tmp_path / "b",
        b.get_data(picks=["Fz", "Cz"]),
        SF_B,
        ["Fz", "Cz"],
        [(k, "sync") for k in kb],
    )
    dyad = read_dyad_files(fa, fb, stim_channel=("STI", None), annotation=(None, "Comment/sync"))
    rep = dyad.alignment
    assert rep["n_pulses"] == len(pulses) and rep["misfit_ms"] == 0.0
    assert rep["residual_ms_max"] > 2.0
    assert rep["pulses"][1] == "annotations 'Comment/sync'"


# --------------------------------------------------------------------------------------
# truncated files (item 10) and the files a reader opens
# --------------------------------------------------------------------------------------
def test_truncated_edf_and_brainvision(tmp_path, planted):
    edf = tmp_path / "cut.edf"
    edf.write_bytes(Path(planted["fa"]).read_bytes()[:-5000])
    with pytest.raises(DyadIOError, match=r"cut.edf is truncated.*announces 60 data records"):
        read_dyad_files(edf, planted["fb"], stim_channel=("STI 014", None))
    data = np.random.default_rng(0).normal(0, 1e-5, (2, 5120))
    vhdr = _write_brainvision(
        tmp_path / "bv", data, 512.0, ["Fz", "Cz"], [(100, "sync"), (5000, "sync")]
    )
    eeg = vhdr.with_suffix(".eeg")
    full = eeg.read_bytes()
    eeg.write_bytes(full[:-6])  # ends inside a sample
    with pytest.raises(DyadIOError, match=r"bv.eeg is truncated.*last sample is incomplete"):
        read_dyad_files(vhdr, planted["fb"])
    eeg.write_bytes(full[: 8 * 4000])  # whole samples, but a marker at 5000 lies beyond
    with pytest.raises(DyadIOError, match=r"bv.eeg is truncated.*markers up to sample 5001"):
        read_dyad_files(vhdr, planted["fb"])
    vhdr2 = _write_brainvision(
        tmp_path / "bv2", data, 512.0, ["Fz", "Cz"], [(100, "s")], data_points=5120
    )
    vhdr2.with_suffix(".eeg").write_bytes(vhdr2.with_suffix(".eeg").read_bytes()[: 8 * 4000])
    with pytest.raises(DyadIOError, match=r"announces 5120 samples.*holds 4000"):
        read_recording(vhdr2)
    # the intact files are read
    eeg.write_bytes(full)
    assert read_recording(vhdr).n_times == 5120


def test_recording_files(tmp_path, monkeypatch):
    data = np.zeros((2, 100))
    vhdr = _write_brainvision(tmp_path / "x", data, 100.0, ["Fz", "Cz"], [])
    assert recording_files(vhdr) == [vhdr, tmp_path / "x.eeg", tmp_path / "x.vmrk"]
    (tmp_path / "s.set").write_bytes(b"")
    (tmp_path / "s.fdt").write_bytes(b"")
    assert recording_files(tmp_path / "s.set") == [tmp_path / "s.set", tmp_path / "s.fdt"]
    raw = mne.io.RawArray(
        np.random.default_rng(0).normal(0, 1e-5, (8, 100000)),
        mne.create_info(8, 100.0, "eeg"),
        verbose=False,
    )
    parts = raw.save(tmp_path / "big_raw.fif", split_size="2MB", verbose=False)
    assert len(parts) > 1
    assert recording_files(tmp_path / "big_raw.fif") == [Path(p) for p in parts]
    # a relative path: the file once (it was listed again as MNE's absolute part name)
    monkeypatch.chdir(tmp_path)
    assert recording_files("big_raw.fif") == [Path("big_raw.fif")] + [Path(p) for p in parts[1:]]
    raw.copy().crop(0, 1).save("small_raw.fif", verbose=False)
    assert recording_files("small_raw.fif") == [Path("small_raw.fif")]
    assert recording_files(tmp_path / "a.edf") == [tmp_path / "a.edf"]
    mff = tmp_path / "rec.mff"
    (mff / "sub").mkdir(parents=True)
    (mff / "info.xml").write_text("x")
    (mff / "sub" / "signal1.bin").write_bytes(b"x")
    assert recording_files(mff) == [mff, mff / "info.xml", mff / "sub" / "signal1.bin"]


def test_fuzz_truncations_refused(tmp_path, planted):
    """Any cut of an EDF file, or of a BrainVision data file whose header states its
    length, raises DyadIOError naming the file; nothing else escapes.
    """
    rng = np.random.default_rng(7)
    edf = Path(planted["fa"]).read_bytes()
    data = np.random.default_rng(0).normal(0, 1e-5, (2, 3000))
    vhdr = _write_brainvision(
        tmp_path / "full", data, 512.0, ["Fz", "Cz"], [(10, "sync")], data_points=3000
    )
    eeg = vhdr.with_suffix(".eeg").read_bytes()
    cut_edf, cut_eeg = tmp_path / "cut.edf", vhdr.with_suffix(".eeg")
    for _ in range(15):
        cut_edf.write_bytes(edf[: int(rng.integers(1, len(edf)))])
        with pytest.raises(DyadIOError, match="cut.edf"):
            read_recording(cut_edf, stim_channel="STI 014")
        cut_eeg.write_bytes(eeg[: int(rng.integers(0, len(eeg)))])
        with pytest.raises(DyadIOError, match="full"):
            read_recording(vhdr)
