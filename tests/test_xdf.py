"""Tests for hyperinsync.io.xdf.read_dyad_xdf with files from tests/xdf_writer.py."""

import sys
from pathlib import Path

import mne
import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.interpolate import CubicSpline
from scipy.signal import butter, hilbert, sosfiltfilt

sys.path.insert(0, str(Path(__file__).parent))
from xdf_writer import write_xdf  # noqa: E402

from hyperinsync.dyad import get_dyad_meta, role_picks  # noqa: E402
from hyperinsync.io.align import read_dyad_files  # noqa: E402
from hyperinsync.io.errors import AlignmentError, XDFError  # noqa: E402
from hyperinsync.io.xdf import read_dyad_xdf, read_raw_xdf  # noqa: E402
from hyperinsync.simulation import Coupling, simulate_dyad  # noqa: E402

SF_HI = 2000.0
HOST = {"A": 5.0, "B": -1000.0}  # stream clock minus recorder clock


def plv(x, y, sfreq, band=(8.0, 13.0)):
    sos = butter(4, band, btype="bandpass", fs=sfreq, output="sos")
    d = np.angle(hilbert(sosfiltfilt(sos, x))) - np.angle(hilbert(sosfiltfilt(sos, y)))
    edge = int(sfreq)
    return float(np.abs(np.mean(np.exp(1j * d)[edge:-edge])))


def _stream(role, sig, t_hi, t0, rate, n, rng, names, drop=None):
    """Samples of ``sig`` at true times t0 + k / rate, stamped in the host's clock."""
    t_true = t0 + np.arange(n) / rate
    if drop is not None:
        t_true = t_true[(t_true < drop[0]) | (t_true >= drop[1])]
    data = CubicSpline(t_hi, sig, axis=1)(t_true).T * 1e6  # microvolts
    stamps = t_true + HOST[role] + rng.normal(0, 0.0005, len(t_true))  # 0.5 ms jitter
    offsets = [
        (t + HOST[role], -HOST[role] + rng.normal(0, 5e-5))
        for t in np.arange(t_true[0], t_true[-1], 5.0)
    ]
    return dict(
        name=f"amp{role}",
        type="EEG",
        srate=rate if rate < 505 else 512.0,
        fmt="float32",
        data=data,
        stamps=stamps,
        labels=names,
        unit="microvolts",
        source_id=f"src{role}",
        hostname=f"host{role}",
        clock_offsets=offsets,
    )


@pytest.fixture(scope="module")
def sim():
    dyad, truth = simulate_dyad(
        duration=34.0,
        sfreq=SF_HI,
        seed=7,
        verbose=False,
        couplings=[Coupling(band="alpha", strength=0.6)],
    )
    sos = butter(8, 120.0, fs=SF_HI, output="sos")
    hi = {r: sosfiltfilt(sos, dyad.get_data(picks=role_picks(dyad, r))) for r in "AB"}
    names = [n.split(":", 1)[1] for n in np.array(dyad.ch_names)[role_picks(dyad, "A")]]
    return dict(
        hi=hi, t_hi=np.arange(hi["A"].shape[1]) / SF_HI, names=names, pairs=truth.coupled_pairs
    )


def _write(path, sim, drop=None, markers=True, **kw):
    rng = np.random.default_rng(0)
    st = [
        _stream("A", sim["hi"]["A"], sim["t_hi"], 1.0, 500.0, 15500, rng, sim["names"], drop),
        _stream("B", sim["hi"]["B"], sim["t_hi"], 2.3, 512.01, 15000, rng, sim["names"]),
    ]
    if markers:
        st.append(
            dict(
                name="Markers",
                type="Markers",
                srate=0,
                fmt="string",
                data=["start", "stim/1", "late"],
                stamps=[5.0, 12.25, 40.0],
                clock_offsets=[(0.0, 0.0), (20.0, 0.0)],
            )
        )
    return write_xdf(path, st, **kw)


def test_phase_relation_and_markers(tmp_path, sim):
    fname = _write(tmp_path / "dyad.xdf", sim)
    dyad = read_dyad_xdf(fname, streams=("ampA", "ampB"), montage="standard-32")
    rep = dyad.alignment
    assert rep["method"] == "xdf-clock-sync" and rep["sfreq"] == 500.0
    assert abs(rep["overlap_s"][0] - 2.3) < 1e-3  # B starts last (recorder clock)
    assert rep["clock_offsets"][1]["n"] > 3
    assert abs(rep["clock_offsets"][1]["median_s"] - 1000.0) < 1e-3
    assert abs(rep["effective_srate"][1] - 512.01) < 0.01
    start = rep["overlap_s"][0]
    grid = start + np.arange(dyad.n_times) / 500.0
    # data level: units converted to volts, values at the right (recorder) times
    for r in "AB":
        ref = CubicSpline(sim["t_hi"], sim["hi"][r], axis=1)(grid)
        got = dyad.get_data(picks=role_picks(dyad, r))
        rel = np.linalg.norm(got - ref) / np.linalg.norm(ref)
        assert rel < 0.02, (r, rel)
    for ch_a, ch_b, _ in sim["pairs"][:4]:
        ia = sim["names"].index(ch_a.split(":")[1])
        ib = sim["names"].index(ch_b.split(":")[1])
        ref_a = CubicSpline(sim["t_hi"], sim["hi"]["A"][ia])(grid)
        ref_b = CubicSpline(sim["t_hi"], sim["hi"]["B"][ib])(grid)
        want = plv(ref_a, ref_b, 500.0)
        got = plv(dyad.get_data(picks=[ch_a])[0], dyad.get_data(picks=[ch_b])[0], 500.0)
        assert want > 0.3 and abs(got - want) < 0.01
    # markers: onset = time stamp - grid start; the one after the overlap is dropped
    ann = dyad.annotations
    onsets = dict(zip(ann.description, ann.onset - dyad.first_time))
    assert abs(onsets["start"] - (5.0 - start)) < 1e-6
    assert abs(onsets["stim/1"] - (12.25 - start)) < 1e-6
    assert "late" not in onsets and "BAD_gap" not in onsets
    assert np.isfinite(dyad.info["chs"][dyad.ch_names.index("B:Cz")]["loc"][:3]).all()


def test_select_by_and_default(tmp_path, sim):
    fname = _write(tmp_path / "d.xdf", sim, markers=False)
    d1 = read_dyad_xdf(
        fname, ("hostB", "hostA"), roles=("x", "y"), select_by="hostname", sfreq=250.0
    )
    assert d1.alignment["streams"][0]["name"] == "ampB" and d1.info["sfreq"] == 250.0
    d2 = read_dyad_xdf(fname)  # exactly two EEG streams: file order
    assert [s["name"] for s in d2.alignment["streams"]] == ["ampA", "ampB"]


def test_gap_becomes_bad_gap(tmp_path, sim):
    fname = _write(tmp_path / "gap.xdf", sim, drop=(10.0, 12.0))
    dyad = read_dyad_xdf(fname)
    ann = dyad.annotations
    bad = [
        (o - dyad.first_time, d)
        for o, d, s in zip(ann.onset, ann.duration, ann.description)
        if s == "BAD_gap"
    ]
    start = dyad.alignment["overlap_s"][0]
    assert len(bad) == 1
    assert abs(bad[0][0] - (10.0 - start)) < 0.01 and abs(bad[0][1] - 2.0) < 0.01
    assert dyad.alignment["gaps"][0]["role"] == "A"
    epochs = dyad.make_epochs(duration=1.0)
    assert len(epochs) < int(dyad.times[-1]) - 1  # epochs over the gap rejected
    # a short dropout is absorbed by default, split with gap_threshold
    fname = _write(tmp_path / "gap2.xdf", sim, drop=(10.0, 10.4))
    dyad = read_dyad_xdf(fname, gap_threshold=0.1)
    assert list(dyad.annotations.description).count("BAD_gap") == 1


def test_errors(tmp_path, sim):
    with pytest.raises(XDFError, match="not found.*nope.xdf"):
        read_dyad_xdf(tmp_path / "nope.xdf")
    empty = tmp_path / "empty.xdf"
    empty.write_bytes(b"")
    with pytest.raises(XDFError, match="empty"):
        read_dyad_xdf(empty)
    junk = tmp_path / "junk.xdf"
    junk.write_bytes(b"hello world")
    with pytest.raises(XDFError, match="not an XDF"):
        read_dyad_xdf(junk)
    fname = _write(tmp_path / "ok.xdf", sim)
    trunc = tmp_path / "trunc.xdf"
    trunc.write_bytes(fname.read_bytes()[:-1000])
    with pytest.raises(XDFError, match="trunc.xdf.*truncated or corrupt"):
        read_dyad_xdf(trunc)
    with pytest.raises(XDFError, match="no stream with name='ampC'.*source_id='srcA'"):
        read_dyad_xdf(fname, ("ampA", "ampC"))
    with pytest.raises(XDFError, match="2 streams have type='EEG'"):
        read_dyad_xdf(fname, ("EEG", "Markers"), select_by="type")
    with pytest.raises(XDFError, match="holds strings"):
        read_dyad_xdf(fname, ("ampA", "Markers"))
    rng = np.random.default_rng(0)
    a = _stream("A", sim["hi"]["A"], sim["t_hi"], 1.0, 500.0, 2000, rng, sim["names"])
    b = _stream("B", sim["hi"]["B"], sim["t_hi"], 10.0, 500.0, 2000, rng, sim["names"])
    write_xdf(tmp_path / "apart.xdf", [a, b])
    with pytest.raises(XDFError, match="do not overlap"):
        read_dyad_xdf(tmp_path / "apart.xdf")
    b_empty = dict(b, data=np.zeros((0, len(sim["names"]))), stamps=[], clock_offsets=[])
    write_xdf(tmp_path / "nosamples.xdf", [a, b_empty])
    with pytest.raises(XDFError, match="holds 0 sample"):
        read_dyad_xdf(tmp_path / "nosamples.xdf")
    write_xdf(tmp_path / "three.xdf", [a, dict(b, name="x"), dict(b, name="y")])
    with pytest.raises(XDFError, match="exactly two streams of type EEG, found 3"):
        read_dyad_xdf(tmp_path / "three.xdf")


def test_fuzz_only_xdferror(tmp_path):
    """Truncations and flipped bytes of a valid file: only XDFError may escape."""
    rng = np.random.default_rng(12345)
    t = np.arange(400) / 100.0
    sig = np.array([np.sin(2 * np.pi * f * t) for f in (9.0, 10.0, 11.0)]).T
    streams = [
        dict(
            name=f"amp{r}",
            type="EEG",
            srate=100.0,
            fmt="float32",
            data=sig * 10,
            stamps=t + off,
            labels=["Fz", "Cz", "Pz"],
            clock_offsets=[(off, -off), (off + 2, -off), (off + 3.9, -off)],
        )
        for r, off in (("A", 0.0), ("B", 3.0))
    ]
    streams.append(
        dict(name="M", type="Markers", srate=0, fmt="string", data=["a", "b"], stamps=[1.0, 2.0])
    )
    good = write_xdf(tmp_path / "good.xdf", streams, chunk_size=50).read_bytes()
    read_dyad_xdf(tmp_path / "good.xdf")  # the original is fine
    bad = tmp_path / "bad.xdf"
    n_ok = 0
    for i in range(150):
        data = bytearray(good)
        if i % 3 == 0:
            data = data[: int(rng.integers(0, len(good)))]
        else:
            for pos in rng.integers(0, len(good), int(rng.integers(1, 4))):
                data[pos] ^= int(rng.integers(1, 256))
        bad.write_bytes(bytes(data))
        try:
            read_dyad_xdf(bad, verbose="error")
            n_ok += 1
        except XDFError:
            pass
    assert n_ok < 150


# --------------------------------------------------------------------------------------
# a clean stream has no gap at its end (issue 12, item 11)
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("t0", [0.0, 1.3, 100.7])
def test_clean_streams_have_no_gap(tmp_path, t0):
    """Regular time stamps: no BAD_gap anywhere, every whole epoch is kept."""
    n = 1500
    t = np.arange(n) / 500.0
    sig = np.array([np.sin(2 * np.pi * f * t) for f in (9.0, 10.0)]).T * 10
    streams = [
        dict(
            name=f"amp{r}",
            type="EEG",
            srate=500.0,
            fmt="float32",
            data=sig,
            stamps=t0 + t,
            labels=["Fz", "Cz"],
        )
        for r in "AB"
    ]
    fname = write_xdf(tmp_path / "clean.xdf", streams)
    dyad = read_dyad_xdf(fname)
    assert "BAD_gap" not in dyad.annotations.description and not dyad.alignment["gaps"]
    assert dyad.n_times == n
    assert len(dyad.make_epochs(duration=1.0)) == 3  # 1500 samples: three whole seconds
    raw = read_raw_xdf(fname, "ampA")
    assert "BAD_gap" not in raw.annotations.description and raw.n_times == n


# --------------------------------------------------------------------------------------
# one person per file (item 12)
# --------------------------------------------------------------------------------------
def _clock(offset, drift=0.0):
    """A computer's clock as a function of true time."""
    return lambda t: offset + (1.0 + drift) * np.asarray(t, float)


def _eeg_stream(name, sig, t_hi, t_true, src, rec, rng, labels, trig=None, uid=""):
    """Samples at true times ``t_true``, stamped by the source clock, offsets to ``rec``."""
    data = CubicSpline(t_hi, sig, axis=1)(t_true).T * 1e6  # microvolts
    types = ["EEG"] * len(labels)
    if trig is not None:  # a trigger channel: 1 at the first sample at/after each pulse
        codes = np.zeros(len(t_true))
        for p in trig:
            k = int(np.searchsorted(t_true, p))
            codes[k : k + 3] = 1
        data = np.column_stack([data, codes])
        labels, types = labels + ["TRIG"], types + ["trigger"]
    coll = np.arange(t_true[0], t_true[-1], 5.0)
    return dict(
        name=name,
        type="EEG",
        srate=500.0,
        fmt="float32",
        data=data,
        stamps=src(t_true) + rng.normal(0, 0.0003, len(t_true)),
        labels=labels,
        ch_types=types,
        uid=uid,
        source_id=f"src-{name}",
        hostname=f"host-{name}",
        clock_offsets=[(float(src(c)), float(rec(c) - src(c)) + rng.normal(0, 5e-5)) for c in coll],
    )


def _marker_stream(times, src, rec, uid):
    coll = np.arange(0.0, 40.0, 5.0)
    return dict(
        name="Markers",
        type="Markers",
        srate=0,
        fmt="string",
        data=[f"m{i}" for i in range(len(times))],
        stamps=src(times),
        uid=uid,
        clock_offsets=[(float(src(c)), float(rec(c) - src(c))) for c in coll],
    )


KEEP = ["Fp1", "Fp2", "F7", "F3", "Fz", "Cz"]  # holds the first coupled pairs


def _person_files(tmp_path, sim, rec_b, shared=True, trig=None):
    """a.xdf (person A, recorded on computer A) and b.xdf (person B, on computer B)."""
    rng = np.random.default_rng(1)
    idx = [sim["names"].index(n) for n in KEEP]
    rec_a = _clock(0.0)
    src_a, src_b, src_m = _clock(5.0, 10e-6), _clock(-1000.0, -20e-6), _clock(77.0)
    t_a = 1.0 + np.arange(15000) / 500.0
    t_b = 2.3 + np.arange(14800) / 500.03
    marks = np.array([4.0, 9.5, 17.25, 30.0])
    a = [_eeg_stream("ampA", sim["hi"]["A"][idx], sim["t_hi"], t_a, src_a, rec_a, rng, KEEP, trig)]
    b = [_eeg_stream("ampB", sim["hi"]["B"][idx], sim["t_hi"], t_b, src_b, rec_b, rng, KEEP, trig)]
    a.append(_marker_stream(marks, src_m, rec_a, "marker-uid" if shared else "uid-1"))
    b.append(_marker_stream(marks, src_m, rec_b, "marker-uid" if shared else "uid-2"))
    return write_xdf(tmp_path / "a.xdf", a), write_xdf(tmp_path / "b.xdf", b)


def _check_against_truth(dyad, sim, true_times, data=True):
    idx = [sim["names"].index(n) for n in KEEP]
    for r in "AB" if data else ():
        ref = CubicSpline(sim["t_hi"], sim["hi"][r][idx], axis=1)(true_times)
        got = dyad.get_data(picks=[f"{r}:{n}" for n in KEEP])
        sl = slice(250, -250)
        rel = np.linalg.norm(got[:, sl] - ref[:, sl]) / np.linalg.norm(ref[:, sl])
        assert rel < 0.02, (r, rel)
    for ch_a, ch_b, _ in sim["pairs"][:3]:
        ia = sim["names"].index(ch_a.split(":")[1])
        ib = sim["names"].index(ch_b.split(":")[1])
        want = plv(
            CubicSpline(sim["t_hi"], sim["hi"]["A"][ia])(true_times),
            CubicSpline(sim["t_hi"], sim["hi"]["B"][ib])(true_times),
            500.0,
        )
        got = plv(dyad.get_data(picks=[ch_a])[0], dyad.get_data(picks=[ch_b])[0], 500.0)
        assert want > 0.3 and abs(got - want) < 0.01


def test_read_raw_xdf(tmp_path, sim):
    fa, _ = _person_files(tmp_path, sim, _clock(0.0), trig=[6.1, 8.4, 13.0])
    raw = read_raw_xdf(fa)  # the file's only EEG stream
    assert raw.ch_names == KEEP + ["TRIG"] and raw.info["sfreq"] == 500.0
    assert raw.get_channel_types(["Fz", "TRIG"]) == ["eeg", "stim"]
    meta = get_dyad_meta(raw)["xdf"]
    t0 = meta["lsl_time0"]
    assert abs(t0 - 1.0) < 1e-3  # recorder clock = true time for computer A
    true = t0 + raw.times
    idx = [sim["names"].index(n) for n in KEEP]
    ref = CubicSpline(sim["t_hi"], sim["hi"]["A"][idx], axis=1)(true)  # volts
    got = raw.get_data(picks=KEEP)
    assert np.linalg.norm(got - ref) / np.linalg.norm(ref) < 0.02
    # trigger codes kept as sent (not scaled as microvolts), at the right samples
    ev = mne.find_events(raw, "TRIG", verbose=False)
    assert_allclose(ev[:, 0] / 500.0 + t0, [6.1, 8.4, 13.0], atol=3e-3)
    assert set(ev[:, 2]) == {1}
    onsets = dict(zip(raw.annotations.description, raw.annotations.onset - raw.first_time))
    assert abs(onsets["m2"] - (17.25 - t0)) < 1e-3
    assert "BAD_gap" not in onsets
    # clock offsets of the streams another file could share (ampA has no uid: it could not
    # be recognised in another file)
    assert [c["name"] for c in meta["clocks"]] == ["Markers"]
    with pytest.raises(XDFError, match="no stream with name='nope'.*ampA"):
        read_raw_xdf(fa, "nope")
    two = write_xdf(
        tmp_path / "two.xdf",
        [
            dict(
                name=n,
                type="EEG",
                srate=100.0,
                fmt="float32",
                data=np.zeros((300, 1)),
                stamps=np.arange(300) / 100.0,
            )
            for n in ("x", "y")
        ],
    )
    with pytest.raises(XDFError, match="stream=None needs exactly one stream of type EEG"):
        read_raw_xdf(two)


def test_read_dyad_two_xdf_by_shared_lsl_stream(tmp_path, sim):
    """Two computers, one file each, both recorded the same marker stream."""
    rec_b = _clock(2345.6, 15e-6)  # computer B's clock: other origin, runs 15 ppm fast
    fa, fb = _person_files(tmp_path, sim, rec_b)
    dyad = read_dyad_files(fa, fb, roles=("A", "B"), montage="standard-32")
    rep = dyad.alignment
    assert rep["method"] == "lsl-clock" and rep["shared_stream"] == "Markers"
    t0_a = rep["lsl_time0"][0]
    assert abs(rep["recorder_offset_s"] - float(rec_b(t0_a) - t0_a)) < 1e-3
    # file times are recording-clock times (read_raw_xdf resamples each amplifier onto its
    # computer's clock): the drift left is that of computer B against computer A
    assert abs(rep["drift_ppm"] - 15.0) < 1.0
    # A's recorder clock is true time: the dyad's samples are at these true times
    true = t0_a + rep["tmin_a_s"] + np.arange(dyad.n_times) / 500.0
    assert abs(true[0] - 2.3) < 0.01  # B started last
    _check_against_truth(dyad, sim, true)
    # the markers are annotations of both files; A's and B's copies coincide
    ann = dyad.annotations
    on = ann.onset[ann.description == "m1"] - dyad.first_time
    assert len(on) == 1 and abs(on[0] - (9.5 - true[0])) < 2e-3
    # a Raw from read_raw_xdf works as well as a path
    dyad2 = read_dyad_files(read_raw_xdf(fa), fb)
    assert dyad2.alignment["method"] == "lsl-clock"


def test_read_dyad_two_xdf_without_shared_stream(tmp_path, sim):
    """No common LSL stream: pulses (auto), or one computer's clock (sync='lsl')."""
    pulses = np.cumsum(np.random.default_rng(3).uniform(1.0, 2.5, 12)) + 2.5
    fa, fb = _person_files(
        tmp_path, sim, _clock(2345.6, 15e-6), shared=False, trig=pulses[pulses < 31.0]
    )
    dyad = read_dyad_files(fa, fb)
    rep = dyad.alignment
    assert rep["method"] == "sync-pulses" and rep["misfit_ms"] <= 2.0
    # pulse times are quantised to a sample of each file: the clock line is right to within
    # that, not to microseconds; the alpha coupling comes back all the same
    t0 = [get_dyad_meta(read_raw_xdf(f))["xdf"]["lsl_time0"] for f in (fa, fb)]
    t_mid = rep["tmin_a_s"] + rep["duration_s"] / 2
    want = float(_clock(2345.6, 15e-6)(t0[0] + t_mid)) - t0[1]
    got = rep["offset_s"] + (1 + rep["drift_ppm"] * 1e-6) * t_mid
    assert abs(got - want) < rep["quantisation_ms"] / 2e3
    true = t0[0] + rep["tmin_a_s"] + np.arange(dyad.n_times) / 500.0
    _check_against_truth(dyad, sim, true, data=False)
    # no pulses, no shared stream: the error says what to do
    fa2, fb2 = _person_files(tmp_path, sim, _clock(0.0), shared=False)
    with pytest.raises(AlignmentError, match="no stim channel.*sync='lsl'"):
        read_dyad_files(fa2, fb2)
    # both recorded on one computer (same clock): sync='lsl' takes the stamps as they are
    dyad = read_dyad_files(fa2, fb2, sync="lsl")
    rep = dyad.alignment
    assert rep["method"] == "lsl-clock" and rep["shared_stream"] is None
    assert rep["recorder_offset_s"] == 0.0
    true = rep["lsl_time0"][0] + rep["tmin_a_s"] + np.arange(dyad.n_times) / 500.0
    _check_against_truth(dyad, sim, true)
    other = mne.io.RawArray(np.zeros((1, 1000)), mne.create_info(1, 500.0, "eeg"), verbose=False)
    with pytest.raises(AlignmentError, match="sync='lsl' needs two XDF"):
        read_dyad_files(fa2, other, sync="lsl")
