"""Physiological readers (CSV/TSV, Empatica, AcqKnowledge, MEA) and the timeline alignment."""

import datetime as dt
import types

import mne
import numpy as np
import pytest

from hyperinsync.dyad import get_dyad_meta
from hyperinsync.io import (
    PhysioIOError,
    align_physio,
    make_physio_dyad,
    read_empatica_ibi,
    read_mea,
    read_raw_acqknowledge,
    read_raw_empatica,
    read_raw_physio_csv,
)

UTC = dt.timezone.utc
T0 = dt.datetime(2024, 3, 4, 10, 0, 0, tzinfo=UTC)


def _ann(raw, prefix):
    a = raw.annotations
    return [
        (round(o, 6), round(d, 6), tuple(c))
        for o, d, s, c in zip(a.onset, a.duration, a.description, a.ch_names)
        if s == prefix
    ]


# ---------------------------------------------------------------------------- CSV / TSV
def test_csv_gap_missing_cells_units(tmp_path):
    sf = 4.0
    t = np.arange(400) / sf
    keep = (t < 20) | (t >= 25)  # 5 s of rows missing: a gap
    eda = 5 + 0.01 * np.arange(400)
    ecg = np.sin(t)
    lines = ["time,EDA,ECG"]
    for k in np.flatnonzero(keep):
        e = "" if 200 <= k < 204 else f"{eda[k]:.6f}"  # 1 s of empty EDA cells
        lines.append(f"{t[k]:.4f},{e},{ecg[k]:.6f}")
    fname = tmp_path / "p.csv"
    fname.write_text("\n".join(lines) + "\n")
    raw = read_raw_physio_csv(fname, units={"EDA": "uS", "ECG": "mV"}, meas_date=T0)
    assert raw.info["sfreq"] == pytest.approx(sf, rel=1e-9)
    assert raw.get_channel_types() == ["gsr", "ecg"]
    assert raw.n_times == 400 and raw.info["meas_date"] == T0
    data = raw.get_data()
    gap = (t >= 20) & (t < 25)
    assert np.isnan(data[:, gap]).all()  # never filled
    np.testing.assert_allclose(
        data[0, ~gap & ~((t >= 50) & (t < 51))],
        eda[~gap & ~((t >= 50) & (t < 51))] * 1e-6,
        rtol=1e-6,
    )  # uS -> S
    np.testing.assert_allclose(data[1, ~gap], ecg[~gap] * 1e-3, atol=1e-9)  # 6 decimals
    assert _ann(raw, "BAD_gap") == [(20.0, 5.0, ())]
    assert _ann(raw, "BAD_missing") == [(50.0, 1.0, ("EDA",))]
    assert get_dyad_meta(raw)["physio_source"]["n_gaps"] == 1


def test_csv_absolute_times_tsv_and_errors(tmp_path):
    # ISO date-times, tab separated
    stamps = [T0 + dt.timedelta(seconds=k / 8) for k in range(80)]
    fname = tmp_path / "p.tsv"
    fname.write_text(
        "timestamp\tRESP\n"
        + "\n".join(f"{s.isoformat()}\t{k % 7}" for k, s in enumerate(stamps))
        + "\n"
    )
    raw = read_raw_physio_csv(fname)
    assert raw.info["meas_date"] == T0 and raw.info["sfreq"] == pytest.approx(8.0)
    assert raw.get_channel_types() == ["resp"]
    # Unix time stamps
    fname = tmp_path / "u.csv"
    unix = T0.timestamp() + np.arange(50) / 10
    fname.write_text("t,X\n" + "\n".join(f"{u:.3f},{k}" for k, u in enumerate(unix)))
    assert read_raw_physio_csv(fname).info["meas_date"] == T0
    # time going backwards
    fname = tmp_path / "bad.csv"
    fname.write_text("time,X\n0,1\n0.25,2\n0.2,3\n0.75,4\n")
    with pytest.raises(PhysioIOError, match="do not increase at rows 2-3"):
        read_raw_physio_csv(fname)
    fname.write_text("a,b\n1,2\n")
    with pytest.raises(PhysioIOError, match="time column"):
        read_raw_physio_csv(fname)


def test_csv_clock_drift(tmp_path):
    """Stamps of a device running 200 ppm fast: refused at the nominal rate, or read at the
    rate they show.
    """
    n, sf, ppm = 7200, 4.0, 200.0
    t = np.arange(n) / (sf * (1 + ppm * 1e-6))
    fname = tmp_path / "d.csv"
    fname.write_text("time,EDA\n" + "\n".join(f"{x:.6f},{k}" for k, x in enumerate(t)))
    with pytest.raises(PhysioIOError, match=r"4.0008 Hz, \+200 ppm from 4 Hz"):
        read_raw_physio_csv(fname, sfreq=sf)
    raw = read_raw_physio_csv(fname)
    assert raw.info["sfreq"] == pytest.approx(sf * (1 + ppm * 1e-6), rel=1e-8)
    assert raw.n_times == n and not np.isnan(raw.get_data()).any()


# ---------------------------------------------------------------------------- Empatica
def test_empatica(tmp_path):
    start = T0.timestamp()
    (tmp_path / "EDA.csv").write_text(
        f"{start:.6f}\n4.000000\n" + "\n".join(f"{0.5 + k / 100:.6f}" for k in range(40)) + "\n"
    )
    raw = read_raw_empatica(tmp_path / "EDA.csv")
    assert raw.ch_names == ["EDA"] and raw.get_channel_types() == ["gsr"]
    assert raw.info["meas_date"] == T0 and raw.info["sfreq"] == 4.0
    np.testing.assert_allclose(raw.get_data()[0, :3], np.array([0.5, 0.51, 0.52]) * 1e-6)
    (tmp_path / "ACC.csv").write_text(
        f"{start}, {start}, {start}\n32.0, 32.0, 32.0\n"
        + "\n".join("1, -2, 64" for _ in range(10))
        + "\n"
    )
    acc = read_raw_empatica(tmp_path / "ACC.csv")
    assert acc.ch_names == ["ACC_X", "ACC_Y", "ACC_Z"]
    (tmp_path / "IBI.csv").write_text(f"{start}, IBI\n1.5, 0.8\n2.3, 0.8\n5.0, 0.9\n")
    with pytest.raises(PhysioIOError, match="read_empatica_ibi"):
        read_raw_empatica(tmp_path / "IBI.csv")
    s, beats, ibi = read_empatica_ibi(tmp_path / "IBI.csv")
    assert s == T0 and list(beats) == [1.5, 2.3, 5.0] and list(ibi) == [0.8, 0.8, 0.9]


# ---------------------------------------------------------------------------- AcqKnowledge
def _fake_acq(rates=(1000.0, 1000.0)):
    n = 3000
    chans = [
        types.SimpleNamespace(
            name="EDA100C", units="µmho", samples_per_second=rates[0], data=np.full(n, 7.5)
        ),
        types.SimpleNamespace(
            name="ECG100C",
            units="mV",
            samples_per_second=rates[1],
            data=np.sin(np.arange(n) / 50.0),
        ),
    ]
    created = T0 + dt.timedelta(seconds=1.5)
    markers = [
        types.SimpleNamespace(
            sample_index=1500,
            text="IM start",
            type_code=None,
            channel=None,
            date_created_utc=created,
        ),
        types.SimpleNamespace(
            sample_index=2500,
            text="artefact",
            type_code=None,
            channel=chans[1],
            date_created_utc=None,
        ),
    ]
    return types.SimpleNamespace(channels=chans, event_markers=markers, samples_per_second=1000.0)


def test_acqknowledge(monkeypatch):
    import bioread

    monkeypatch.setattr(bioread, "read_file", lambda fname: _fake_acq())
    raw = read_raw_acqknowledge("session.acq")
    assert raw.get_channel_types() == ["gsr", "ecg"]
    np.testing.assert_allclose(raw.get_data()[0], 7.5e-6)  # µmho = µS -> S
    np.testing.assert_allclose(raw.get_data()[1], np.sin(np.arange(3000) / 50.0) * 1e-3)
    assert raw.info["meas_date"] == T0  # marker created 1.5 s after the start
    a = raw.annotations
    assert list(a.description) == ["IM start", "artefact"]
    np.testing.assert_allclose(a.onset - raw.first_time, [1.5, 2.5])
    assert list(a.ch_names[1]) == ["ECG100C"] and not len(a.ch_names[0])
    monkeypatch.setattr(bioread, "read_file", lambda fname: _fake_acq((1000.0, 500.0)))
    with pytest.raises(PhysioIOError, match="different rates"):
        read_raw_acqknowledge("session.acq")
    ecg_only = read_raw_acqknowledge("session.acq", channels=["ECG100C"])
    assert ecg_only.info["sfreq"] == 500.0
    # a channel typed by the user: its unit still sets the scale (mV -> V)
    acq = _fake_acq()
    acq.channels[1].name = "CH2"
    monkeypatch.setattr(bioread, "read_file", lambda fname: acq)
    raw = read_raw_acqknowledge("session.acq", ch_types={"CH2": "ecg"})
    assert raw.get_channel_types() == ["gsr", "ecg"]
    np.testing.assert_allclose(raw.get_data()[1], np.sin(np.arange(3000) / 50.0) * 1e-3)


# ---------------------------------------------------------------------------- MEA
def test_mea(tmp_path):
    rng = np.random.default_rng(0)
    vals = rng.integers(0, 3000, (250, 3)).astype(float)
    lines = ['"pat" "th" "th2"'] + [
        " ".join("NA" if (k in (10, 11) and j == 0) else f"{v:g}" for j, v in enumerate(r))
        for k, r in enumerate(vals)
    ]
    fname = tmp_path / "200_01.txt"
    fname.write_text("\n".join(lines) + "\n")
    dy = read_mea(fname, roles=("patient", "therapist"), columns=(0, [1, 2]))
    assert dy.ch_names == ["patient:MEA", "therapist:MEA"]
    assert dy.get_channel_types() == ["misc", "misc"] and dy.info["sfreq"] == 25.0
    d = dy.get_data()
    np.testing.assert_array_equal(d[1], vals[:, 1] + vals[:, 2])  # regions summed
    assert np.isnan(d[0, 10:12]).all() and not np.isnan(d[1]).any()
    assert _ann(dy, "BAD_missing") == [(0.4, 0.08, ("patient:MEA",))]
    assert get_dyad_meta(dy)["physio_source"]["header"] == ["pat", "th", "th2"]
    fname.write_text("1 2\n3 -4\n")
    with pytest.raises(PhysioIOError, match="negative"):
        read_mea(fname)
    big = np.ones((400, 2))
    big[5, 0] = 1e6
    fname.write_text("\n".join(f"{a:g},{b:g}" for a, b in big))
    with pytest.warns(RuntimeWarning, match="above 10 SD"):
        read_mea(fname)


# ---------------------------------------------------------------------------- alignment
def _raw(data, sf, start=T0, kind="misc", name="X"):
    raw = mne.io.RawArray(np.atleast_2d(data), mne.create_info([name], sf, kind), verbose=False)
    if start is not None:
        raw.set_meas_date(start)
    return raw


def test_align_upsample_offset_and_outside():
    sf = 4.0
    src = _raw(0.5 * np.arange(400) / sf + 2.0, sf)  # a ramp: linear interpolation is exact
    ref = _raw(np.zeros(32 * 60), 32.0, start=T0 + dt.timedelta(seconds=10))
    out = align_physio(src, sfreq=32.0, reference=ref)
    t = np.arange(out.n_times) / 32.0
    inside = t + 10 <= 99.75
    np.testing.assert_allclose(out.get_data()[0, inside], 0.5 * (t[inside] + 10) + 2.0, atol=1e-12)
    assert out.info["meas_date"] == ref.info["meas_date"] and out.n_times == 32 * 60
    assert get_dyad_meta(out)["physio_alignment"]["offset_s"] == pytest.approx(10.0)
    # the reference runs past the source's end: NaN and BAD_no_data there, never zeros
    ref2 = _raw(np.zeros(32 * 120), 32.0, start=T0 + dt.timedelta(seconds=10))
    out2 = align_physio(src, sfreq=32.0, reference=ref2)
    tail = np.arange(out2.n_times) / 32.0 + 10 > 99.75
    assert np.isnan(out2.get_data()[0, tail]).all()
    ((on, dur, _),) = _ann(out2, "BAD_no_data")
    assert on == pytest.approx(89.78125) and on + dur == pytest.approx(120.0)
    with pytest.raises(ValueError, match="start times are unknown"):
        align_physio(_raw(np.arange(10.0), sf, start=None), sfreq=8.0, reference=ref)


def test_align_downsample_antialias():
    """1000 Hz -> 8 Hz: a 1 Hz component passes, a 30 Hz one does not alias into it."""
    sf, n = 1000.0, 60000
    t = np.arange(n) / sf
    slow = np.sin(2 * np.pi * 1.0 * t)
    src = _raw(slow + np.sin(2 * np.pi * 30.0 * t + 0.3), sf)
    out = align_physio(src, sfreq=8.0)
    tt = np.arange(out.n_times) / 8.0
    core = (tt > 5) & (tt < 55)
    err = out.get_data()[0, core] - np.sin(2 * np.pi * tt[core])
    assert np.max(np.abs(err)) < 0.02
    # without the low-pass, plain sampling would alias 30 Hz onto 2 Hz at full amplitude
    naive = (slow + np.sin(2 * np.pi * 30.0 * t + 0.3))[::125]
    assert np.max(np.abs(naive[: len(tt)][core] - np.sin(2 * np.pi * tt[core]))) > 0.5


def test_align_drift_and_sync_times():
    """A source clock 500 ppm fast: corrected when stated or fitted from shared events."""
    sf, ppm, off = 8.0, 500.0, 3.0
    n = int(3600 * sf)

    def f(t_true):
        return np.sin(2 * np.pi * t_true / 37.0)

    # source sample i at source time i / sf was recorded at reference time
    t_ref_of_src = (np.arange(n) / sf - off) / (1 + ppm * 1e-6)
    src = _raw(f(t_ref_of_src), sf, start=None)
    kw = dict(sfreq=sf, start=T0, duration=3000.0)
    good = align_physio(src, offset=off, drift_ppm=ppm, **kw)
    naive = align_physio(src, offset=off, **kw)
    t = np.arange(good.n_times) / sf
    assert np.max(np.abs(good.get_data()[0] - f(t))) < 2e-3
    assert np.max(np.abs(naive.get_data()[0] - f(t))) > 0.2  # 1.5 s off at the end
    ev_ref = np.array([10.0, 1500.0, 2900.0])
    fit = align_physio(src, sync_times=(ev_ref, off + (1 + ppm * 1e-6) * ev_ref), **kw)
    meta = get_dyad_meta(fit)["physio_alignment"]
    assert meta["drift_ppm"] == pytest.approx(ppm, rel=1e-6)
    assert meta["offset_s"] == pytest.approx(off, abs=1e-9)
    np.testing.assert_allclose(fit.get_data(), good.get_data(), atol=1e-9)


def test_align_gap_becomes_bad_span():
    sf = 4.0
    x = np.linspace(0, 1, 400)
    x[100:120] = np.nan  # a dropout of 5 s
    out = align_physio(_raw(x, sf), sfreq=16.0)
    d = out.get_data()[0]
    t = np.arange(out.n_times) / 16.0
    assert np.isnan(d[(t > 25) & (t < 29.75)]).all()
    assert not np.isnan(d[(t < 24.75) | (t > 30)]).any()
    assert t[-1] == 99.75  # the last source sample: nothing past it
    ((on, dur, ch),) = _ann(out, "BAD_gap")
    assert on <= 25 and on + dur >= 29.75 and ch == ("X",)


def test_make_physio_dyad():
    a = _raw(np.linspace(0, 1, 1200), 4.0, kind="gsr", name="EDA")  # 300 s from T0
    b = _raw(
        np.linspace(0, 1, 32 * 200),
        32.0,
        start=T0 + dt.timedelta(seconds=50),
        kind="gsr",
        name="EDA",
    )  # 200 s from T0 + 50 s
    dy = make_physio_dyad(a, b, sfreq=8.0, roles=("therapist", "client"))
    assert dy.ch_names == ["therapist:EDA", "client:EDA"]
    assert dy.info["meas_date"] == T0 + dt.timedelta(seconds=50)
    assert dy.n_times == 8 * 200 and dy.info["sfreq"] == 8.0
    b2 = b.copy().rename_channels({"EDA": "MEA"})
    with pytest.raises(ValueError, match=r"'therapist' only \['EDA'\], 'client' only \['MEA'\]"):
        make_physio_dyad(a, b2, sfreq=8.0, roles=("therapist", "client"))
    with pytest.warns(RuntimeWarning, match="BAD_missing"):
        dy2 = make_physio_dyad(a, b2, sfreq=8.0, roles=("therapist", "client"), missing="bad")
    assert set(dy2.ch_names) == {"therapist:EDA", "therapist:MEA", "client:EDA", "client:MEA"}
    assert np.isnan(dy2.get_data(picks=["client:EDA"])).all()
    missing = [
        tuple(c)
        for c, s in zip(dy2.annotations.ch_names, dy2.annotations.description)
        if s == "BAD_missing"
    ]
    assert sorted(missing) == [("client:EDA",), ("therapist:MEA",)]


@pytest.mark.parametrize("start", [None, T0])
def test_align_annotations_of_a_file_not_starting_at_sample_zero(start):
    """A source whose first sample is not sample 0 (a cropped FIF): its annotations keep
    their place on the data, with or without a measurement date (raw.annotations count from
    first_samp's time in both cases).
    """
    sf = 4.0
    src = mne.io.RawArray(
        np.arange(400.0)[None] / sf,
        mne.create_info(["X"], sf, "misc"),
        first_samp=40,
        verbose=False,
    )  # first sample at 10 s
    if start is not None:
        src.set_meas_date(start)
    # without a meas_date MNE takes onsets from the first sample and adds first_time
    on = 5.0 if start is None else src.first_time + 5.0
    src.set_annotations(mne.Annotations([on], [2.0], ["IM"], orig_time=src.info["meas_date"]))
    assert src.annotations.onset[0] == pytest.approx(15.0)
    out = align_physio(src, sfreq=8.0, offset=0.0)
    ((on, dur, _),) = _ann(out, "IM")
    assert on == pytest.approx(5.0) and dur == pytest.approx(2.0)
    # the data under the annotation are the source's seconds 5-7 of data
    i0 = int(round(on * 8.0))
    assert out.get_data()[0, i0] == pytest.approx(5.0)
