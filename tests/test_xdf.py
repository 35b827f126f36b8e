"""Tests for hyperinsync.io.xdf.read_dyad_xdf with files from tests/xdf_writer.py."""

import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.interpolate import CubicSpline
from scipy.signal import butter, hilbert, sosfiltfilt

sys.path.insert(0, str(Path(__file__).parent))
from xdf_writer import write_xdf  # noqa: E402

from hyperinsync.dyad import role_picks  # noqa: E402
from hyperinsync.io.errors import XDFError  # noqa: E402
from hyperinsync.io.xdf import read_dyad_xdf  # noqa: E402
from hyperinsync.simulate import Coupling, simulate_dyad  # noqa: E402

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
    offsets = [(t + HOST[role], -HOST[role] + rng.normal(0, 5e-5))
               for t in np.arange(t_true[0], t_true[-1], 5.0)]
    return dict(name=f"amp{role}", type="EEG", srate=rate if rate < 505 else 512.0,
                fmt="float32", data=data, stamps=stamps, labels=names, unit="microvolts",
                source_id=f"src{role}", hostname=f"host{role}", clock_offsets=offsets)


@pytest.fixture(scope="module")
def sim():
    dyad, truth = simulate_dyad(duration=34.0, sfreq=SF_HI, seed=7, verbose=False,
                                couplings=[Coupling(band="alpha", strength=0.6)])
    sos = butter(8, 120.0, fs=SF_HI, output="sos")
    hi = {r: sosfiltfilt(sos, dyad.get_data(picks=role_picks(dyad, r))) for r in "AB"}
    names = [n.split(":", 1)[1] for n in np.array(dyad.ch_names)[role_picks(dyad, "A")]]
    return dict(hi=hi, t_hi=np.arange(hi["A"].shape[1]) / SF_HI, names=names,
                pairs=truth.coupled_pairs)


def _write(path, sim, drop=None, markers=True, **kw):
    rng = np.random.default_rng(0)
    st = [
        _stream("A", sim["hi"]["A"], sim["t_hi"], 1.0, 500.0, 15500, rng, sim["names"], drop),
        _stream("B", sim["hi"]["B"], sim["t_hi"], 2.3, 512.01, 15000, rng, sim["names"]),
    ]
    if markers:
        st.append(dict(name="Markers", type="Markers", srate=0, fmt="string",
                       data=["start", "stim/1", "late"], stamps=[5.0, 12.25, 40.0],
                       clock_offsets=[(0.0, 0.0), (20.0, 0.0)]))
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
    d1 = read_dyad_xdf(fname, ("hostB", "hostA"), roles=("x", "y"), select_by="hostname",
                       sfreq=250.0)
    assert d1.alignment["streams"][0]["name"] == "ampB" and d1.info["sfreq"] == 250.0
    d2 = read_dyad_xdf(fname)  # exactly two EEG streams: file order
    assert [s["name"] for s in d2.alignment["streams"]] == ["ampA", "ampB"]


def test_gap_becomes_bad_gap(tmp_path, sim):
    fname = _write(tmp_path / "gap.xdf", sim, drop=(10.0, 12.0))
    dyad = read_dyad_xdf(fname)
    ann = dyad.annotations
    bad = [(o - dyad.first_time, d) for o, d, s in zip(ann.onset, ann.duration,
                                                      ann.description) if s == "BAD_gap"]
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
        dict(name=f"amp{r}", type="EEG", srate=100.0, fmt="float32", data=sig * 10,
             stamps=t + off, labels=["Fz", "Cz", "Pz"],
             clock_offsets=[(off, -off), (off + 2, -off), (off + 3.9, -off)])
        for r, off in (("A", 0.0), ("B", 3.0))
    ]
    streams.append(dict(name="M", type="Markers", srate=0, fmt="string", data=["a", "b"],
                        stamps=[1.0, 2.0]))
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
