"""Tests for the TMSi Poly5 reader and writer (hyperinsync.io.poly5).

Files are either written by ``write_poly5`` and then patched byte by byte at the offsets of the
layout document (shared/formats/poly5.md), or built by hand with ``struct`` in ``_build`` below,
which follows that document and shares no code with the module under test.
"""

import datetime
import struct
import warnings

import mne
import numpy as np
import pytest
from mne.utils import catch_logging
from numpy.testing import assert_allclose, assert_array_equal

from hyperinsync.io.errors import DyadIOError
from hyperinsync.io.poly5 import Poly5Error, RawPoly5, read_raw_poly5, write_poly5

UTC = datetime.timezone.utc
MAGIC = {
    "2.03": b"POLY SAMPLE FILEversion 2.03\r\n\x1a",
    "2.04": b"POLY SAMPLE FILE version 2.04\r\n\x1a",
}
SHIFT = {"2.03": 0, "2.04": 1}
# Header field offsets for version 2.03 (poly5.md); version 2.04 adds SHIFT.
OFF = dict(
    version=31,
    name=33,
    sfreq=114,
    storage=116,
    storage_type=118,
    ns=119,
    n_samples=121,
    date=129,
    n_blocks=143,
    spb=147,
    sd=149,
    compression=151,
)
HEADER = 217
DESC = 136
BLOCK_HEADER = 86


def _off(field, version):
    return OFF[field] + SHIFT[version]


def _patch(fname, offset, fmt, *values):
    with open(fname, "r+b") as fid:
        fid.seek(offset)
        fid.write(struct.pack("<" + fmt, *values))


def _desc_start(version, ci=0):
    """Offset of signal description ``ci`` (0-based, counting (Lo) and (Hi) entries)."""
    return HEADER + SHIFT[version] + ci * DESC


def _make_raw(n_times=1234, sfreq=500.0, seed=0):
    rng = np.random.default_rng(seed)
    names = ["Fz", "Cz", "Pz", "TRIGGERS", "COUNTER"]
    types = ["eeg", "eeg", "eeg", "stim", "misc"]
    data = rng.standard_normal((5, n_times)) * 20e-6
    data[3] = rng.integers(0, 256, n_times)
    data[4] = np.arange(n_times) % 2**24
    raw = mne.io.RawArray(data, mne.create_info(names, sfreq, types), verbose="error")
    raw.set_meas_date(datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC))
    return raw


def _write(tmp_path, version="2.03", name="rec.Poly5", **kwargs):
    raw = _make_raw(**{k: kwargs.pop(k) for k in ("n_times", "sfreq") if k in kwargs})
    fname = write_poly5(tmp_path / name, raw, version=version, verbose="error", **kwargs)
    return fname, raw


def _build(
    fname,
    version,
    channels,
    data,
    spb,
    *,
    sfreq=256,
    n_samples=None,
    n_blocks=None,
    sd=None,
    date=(2023, 12, 31, 0, 23, 59, 58),
):
    """Write a Poly5 file by hand from poly5.md.

    ``channels`` is a list of ``(name_bytes, unit_bytes, (UnitLow, UnitHigh, ADCLow,
    ADCHigh))``; ``data`` holds the raw (uncalibrated) values, shape (n_channels, n_times).
    The last block is zero-padded.
    """
    n_chan, n_times = data.shape
    n_samples = n_times if n_samples is None else n_samples
    n_blocks = -(-n_times // spb) if n_blocks is None else n_blocks
    sd = n_chan * spb * 4 if sd is None else sd
    shift = SHIFT[version]
    head = bytearray(HEADER + shift)
    head[: len(MAGIC[version])] = MAGIC[version]

    def put(field, fmt, *values):
        struct.pack_into("<" + fmt, head, OFF[field] + shift, *values)

    put("version", "H", 203 if version == "2.03" else 204)
    put("name", "B80s", 8, b"handmade")
    put("sfreq", "h", sfreq)
    put("storage", "h", sfreq)
    put("storage_type", "B", 0)
    put("ns", "H", 2 * n_chan)
    put("n_samples", "i", n_samples)
    put("date", "7H", *date)
    put("n_blocks", "i", n_blocks)
    put("spb", "H", spb)
    put("sd", "H", sd)
    put("compression", "H", 0)
    out = bytes(head)
    for ci, (name, unit, cal) in enumerate(channels):
        for prefix in (b"(Lo) ", b"(Hi) "):
            desc = bytearray(DESC)
            full = prefix + name
            struct.pack_into("<B40s", desc, 0, len(full), full)
            struct.pack_into("<B10s", desc, 45, len(unit), unit)
            struct.pack_into("<4f", desc, 56, *cal)
            struct.pack_into("<HH", desc, 72, ci, 0)
            out += bytes(desc)
    padded = np.zeros((n_chan, n_blocks * spb), "<f4")
    padded[:, :n_times] = data[:, : n_blocks * spb]
    for g in range(n_blocks):
        block_head = bytearray(BLOCK_HEADER)
        struct.pack_into("<i", block_head, 0, g * spb)
        struct.pack_into("<7H", block_head, 8, *date)
        out += bytes(block_head)
        for s in range(g * spb, (g + 1) * spb):  # sample-major, written sample by sample
            out += struct.pack(f"<{n_chan}f", *padded[:, s])
    fname.write_bytes(out)
    return fname


# --------------------------------------------------------------------------- accuracy


@pytest.mark.parametrize("version", ["2.03", "2.04"])
def test_round_trip(tmp_path, version):
    """Writer output matches the layout and reads back to the same data."""
    fname, raw = _write(tmp_path, version, samples_per_block=100)
    blob = fname.read_bytes()
    assert blob.startswith(MAGIC[version])
    n_chan, n_times = len(raw.ch_names), raw.n_times
    expected_size = (
        HEADER + SHIFT[version] + 2 * n_chan * DESC + 13 * (BLOCK_HEADER + n_chan * 100 * 4)
    )
    assert len(blob) == expected_size
    assert struct.unpack_from("<i", blob, _off("n_samples", version))[0] == n_times
    assert struct.unpack_from("<7H", blob, _off("date", version))[:3] == (2024, 5, 6)

    back = read_raw_poly5(fname, preload=True, verbose="error")
    assert isinstance(back, RawPoly5)
    assert back.ch_names == raw.ch_names
    assert back.get_channel_types() == ["eeg", "eeg", "eeg", "stim", "misc"]
    assert back.info["sfreq"] == raw.info["sfreq"]
    assert back.n_times == n_times
    assert back.info["meas_date"] == raw.info["meas_date"]
    assert back._raw_extras[0]["version"] == version
    got, want = back.get_data(), raw.get_data()
    assert_allclose(got[:3], want[:3], rtol=1e-6, atol=0)  # float32 microvolts
    assert_array_equal(got[3:], want[3:])  # trigger codes and counter exact


def test_lazy_slice_equals_preload(tmp_path):
    """Lazy reads of slices spanning block edges and channel picks equal preloaded data."""
    fname, _ = _write(tmp_path, samples_per_block=64)
    full = read_raw_poly5(fname, preload=True, verbose="error").get_data()
    lazy = read_raw_poly5(fname, verbose="error")
    assert not lazy.preload
    for start, stop in [(0, 1), (63, 65), (100, 800), (1200, 1234), (0, 1234), (640, 704)]:
        assert_array_equal(lazy.get_data(start=start, stop=stop), full[:, start:stop])
    assert_array_equal(lazy.get_data(picks=[4, 1], start=5, stop=300), full[[4, 1], 5:300])
    cropped = lazy.copy().crop(tmin=0.5, tmax=1.5).load_data()
    assert_array_equal(cropped.get_data(), full[:, 250:751])
    memmapped = read_raw_poly5(fname, preload=str(tmp_path / "memmap.dat"), verbose="error")
    assert_array_equal(memmapped.get_data(), full)


def test_lazy_read_in_small_pieces(tmp_path, monkeypatch):
    """Reads split into several pieces (small read size) give the same samples."""
    import hyperinsync.io.poly5 as poly5

    fname, raw = _write(tmp_path, samples_per_block=10)
    monkeypatch.setattr(poly5, "_MAX_READ_BYTES", 500)  # two blocks per read
    got = read_raw_poly5(fname, preload=True, verbose="error").get_data()
    assert_allclose(got[:3], raw.get_data()[:3], rtol=1e-6)


def test_zero_padded_last_block(tmp_path):
    """The writer zero-pads; samples past the samples-per-channel field are never returned."""
    fname, raw = _write(tmp_path, n_times=1050, samples_per_block=100)
    n_chan = len(raw.ch_names)
    blob = fname.read_bytes()
    last_block_data = blob[-n_chan * 100 * 4 :]
    tail = np.frombuffer(last_block_data, "<f4").reshape(100, n_chan)
    assert_array_equal(tail[50:], 0)  # padding
    back = read_raw_poly5(fname, verbose="error")
    assert back.n_times == 1050
    assert_allclose(back.get_data()[:3], raw.get_data()[:3], rtol=1e-6)
    # A smaller samples-per-channel field truncates the read, whatever the blocks hold.
    _patch(fname, _off("n_samples", "2.03"), "i", 1010)
    back = read_raw_poly5(fname, verbose="error")
    assert back.n_times == 1010
    assert_allclose(back.get_data()[:3], raw.get_data()[:3, :1010], rtol=1e-6)


@pytest.mark.parametrize("version", ["2.03", "2.04"])
def test_dropped_last_block(tmp_path, version):
    """A writer that drops the incomplete last block (and counts only full blocks) reads."""
    fname, raw = _write(tmp_path, version, n_times=1050, samples_per_block=100)
    n_chan = len(raw.ch_names)
    blob = fname.read_bytes()
    fname.write_bytes(blob[: -(BLOCK_HEADER + n_chan * 100 * 4)])
    _patch(fname, _off("n_blocks", version), "i", 10)
    with catch_logging() as log:
        back = read_raw_poly5(fname, preload=True, verbose="info")
    assert "incomplete last block" in log.getvalue()
    assert back.n_times == 1000
    assert_allclose(back.get_data()[:3], raw.get_data()[:3, :1000], rtol=1e-6)


def test_truncated_data(tmp_path):
    """A file cut inside the data raises with the count present, or reads with a warning."""
    fname, raw = _write(tmp_path, n_times=1050, samples_per_block=100)
    n_chan = len(raw.ch_names)
    data_start = HEADER + 2 * n_chan * DESC
    stride = BLOCK_HEADER + n_chan * 100 * 4
    # Cut after 4 full blocks plus the block header and 37.5 samples of block 5.
    cut = data_start + 4 * stride + BLOCK_HEADER + 37 * n_chan * 4 + 10
    fname.write_bytes(fname.read_bytes()[:cut])
    with pytest.raises(Poly5Error, match="only 437 are present") as err:
        read_raw_poly5(fname)
    assert fname.name in str(err.value) and "allow_truncated=True" in str(err.value)
    with pytest.warns(RuntimeWarning, match="only 437 of 1050"):
        back = read_raw_poly5(fname, allow_truncated=True, preload=True)
    assert back.n_times == 437
    assert_allclose(back.get_data()[:3], raw.get_data()[:3, :437], rtol=1e-6)
    # Cut at a block boundary while the header still counts the missing blocks: truncated.
    fname2, _ = _write(tmp_path, n_times=1050, samples_per_block=100, name="b.Poly5")
    fname2.write_bytes(fname2.read_bytes()[: data_start + 10 * stride])
    with pytest.raises(Poly5Error, match="only 1000 are present"):
        read_raw_poly5(fname2)


def test_sd_zero(tmp_path):
    """Files whose block-size field SD is 0 read with SD derived from the layout."""
    fname, raw = _write(tmp_path, samples_per_block=64)
    _patch(fname, _off("sd", "2.03"), "H", 0)
    with catch_logging() as log:
        back = read_raw_poly5(fname, verbose="info")
    assert "SD) is 0" in log.getvalue()
    assert_allclose(back.get_data()[:3], raw.get_data()[:3], rtol=1e-6)


@pytest.mark.parametrize("version", ["2.03", "2.04"])
def test_hand_built_file(tmp_path, version):
    """A file built with struct.pack from poly5.md reads with the documented meaning."""
    n_times, spb = 11, 4  # three blocks, the last one zero-padded
    data = np.arange(5 * n_times, dtype=float).reshape(5, n_times) - 20
    identity = (0.0, 1000.0, 0.0, 1000.0)
    channels = [
        (b"Fp1", "\u00b5Volt".encode("latin-1"), identity),
        (b"UNI 2", "\u00b5Volt".encode("utf-8"), identity),
        (b"EXG1", b"mVolt", identity),
        (b"TRIGGERS", b"Bit", identity),
        (b"Thing", b"furlong", identity),
    ]
    fname = _build(tmp_path / f"hand{version}.Poly5", version, channels, data, spb)
    with catch_logging() as log:
        raw = read_raw_poly5(fname, preload=True, verbose="info")
    assert "furlong" in log.getvalue()
    assert raw.ch_names == ["Fp1", "UNI 2", "EXG1", "TRIGGERS", "Thing"]
    assert raw.get_channel_types() == ["eeg", "eeg", "eeg", "stim", "misc"]
    assert raw.info["sfreq"] == 256
    assert raw.n_times == n_times
    assert raw.info["meas_date"] == datetime.datetime(2023, 12, 31, 23, 59, 58, tzinfo=UTC)
    assert raw.info["description"] == "handmade"
    want = data * np.array([1e-6, 1e-6, 1e-3, 1, 1])[:, None]
    assert_allclose(raw.get_data(), want, rtol=1e-7)


def test_calibration(tmp_path):
    """Non-identity UnitLow/UnitHigh/ADCLow/ADCHigh follow the documented formula."""
    rng = np.random.default_rng(1)
    adc = rng.integers(-8388608, 8388607, (3, 37)).astype(np.float32).astype(float)
    cals = [
        (-100.0, 100.0, -8388608.0, 8388607.0),
        (0.0, 1000.0, 0.0, 1000.0),
        (5.0, 7.5, 1000.0, -1000.0),  # inverted ADC range and an offset
    ]
    channels = [
        (b"C3", b"\xb5Volt", cals[0]),
        (b"C4", b"Volt", cals[1]),
        (b"Oz", b"nVolt", cals[2]),
    ]
    fname = _build(tmp_path / "cal.Poly5", "2.03", channels, adc, spb=8)
    raw = read_raw_poly5(fname, verbose="error")
    cal = np.array(cals, np.float32).astype(float)
    ul, uh, al, ah = (cal[:, i : i + 1] for i in range(4))
    want = ((adc - al) / (ah - al) * (uh - ul) + ul) * np.array([[1e-6], [1.0], [1e-9]])
    assert_allclose(raw.get_data(), want, rtol=1e-9)
    assert_allclose(raw.get_data(start=9, stop=30), want[:, 9:30], rtol=1e-9)


def test_nan_kept(tmp_path):
    """NaN samples round-trip as NaN (documented decision: no replacement, no error)."""
    raw = _make_raw(n_times=300)
    raw._data[0, [0, 10, 299]] = np.nan
    fname = write_poly5(tmp_path / "nan.Poly5", raw, verbose="error")
    back = read_raw_poly5(fname, preload=True, verbose="error").get_data()
    assert_array_equal(np.isnan(back), np.isnan(raw.get_data()))
    ok = ~np.isnan(back[0])
    assert_allclose(back[0, ok], raw.get_data()[0, ok], rtol=1e-6)


@pytest.mark.parametrize(
    "date", [(2024, 2, 30, 0, 1, 2, 3), (0, 0, 0, 0, 0, 0, 0), (1900, 1, 1, 1, 0, 0, 0)]
)
def test_invalid_date(tmp_path, date):
    """Impossible or missing dates leave meas_date None and say so in the log."""
    fname, _ = _write(tmp_path)
    _patch(fname, _off("date", "2.03"), "7H", *date)
    with catch_logging() as log:
        raw = read_raw_poly5(fname, verbose="info")
    assert raw.info["meas_date"] is None
    text = log.getvalue()
    assert "meas_date is None" in text or "ignored" in text


def test_channel_types_guessed(tmp_path):
    """Channel names and units map to sensible MNE types."""
    uv = "\u00b5Volt".encode("latin-1")
    identity = (0.0, 1000.0, 0.0, 1000.0)
    names = {
        b"FCz": "eeg",
        b"T3": "eeg",
        b"UNI 12": "eeg",
        b"Digi": "stim",
        b"STATUS": "stim",
        b"COUNTER": "misc",
        b"Saw": "misc",
        b"APG": "misc",
        b"BIP 01": "misc",
        b"BIP ECG": "ecg",
        b"AUX 1-1": "misc",
        b"SpO2": "misc",
        b"Battery": "misc",
        b"VEOG": "eog",
        b"client:Cz": "eeg",
    }
    channels = [(name, uv, identity) for name in names]
    data = np.zeros((len(names), 5))
    fname = _build(tmp_path / "types.Poly5", "2.04", channels, data, spb=5)
    raw = read_raw_poly5(fname, verbose="error")
    assert dict(zip(raw.ch_names, raw.get_channel_types())) == {
        name.decode(): kind for name, kind in names.items()
    }


# --------------------------------------------------------------------------- bad input


def _bad_cases():
    """(id, mutate(fname, version) -> None, message regex)."""

    def truncate_by(n_bytes):
        return lambda f, v: f.write_bytes(f.read_bytes()[:-n_bytes])

    def truncate(n):
        return lambda f, v: f.write_bytes(f.read_bytes()[:n])

    def patch(field, fmt, *vals):
        return lambda f, v: _patch(f, _off(field, v), fmt, *vals)

    def patch_desc(offset, fmt, *vals):
        return lambda f, v: _patch(f, _desc_start(v) + offset, fmt, *vals)

    return [
        ("empty", truncate(0), "empty"),
        ("magic", lambda f, v: _patch(f, 0, "4s", b"POLX"), "wrong magic"),
        ("other-version", lambda f, v: _patch(f, 24, "4s", b"3.01"), "wrong magic"),
        ("tiny", truncate(12), "truncated header"),
        ("header", truncate(100), "truncated header"),
        ("descriptions", truncate(217 + 3 * 136 + 7), "truncated signal descriptions"),
        ("zero-channels", patch("ns", "H", 0), "number of signal descriptions"),
        ("odd-ns", patch("ns", "H", 9), "number of signal descriptions"),
        ("zero-sfreq", patch("sfreq", "h", 0), "sample rate"),
        ("negative-sfreq", patch("sfreq", "h", -500), "sample rate"),
        ("zero-samples", patch("n_samples", "i", 0), "samples-per-channel"),
        ("negative-samples", patch("n_samples", "i", -5), "samples-per-channel"),
        ("samples-beyond-blocks", patch("n_samples", "i", 100000), "only 13 blocks"),
        ("negative-blocks", patch("n_blocks", "i", -1), "number of data blocks"),
        ("zero-spb", patch("spb", "H", 0), "samples-per-block"),
        ("sd-mismatch", patch("sd", "H", 1234), "block data size"),
        ("compressed", patch("compression", "H", 1), "compression flag"),
        ("unit-length", patch_desc(45, "B", 200), "unit of channel 'Fz'.*length byte 200"),
        ("unit-control", patch_desc(46, "2s", b"\x01\x02"), "control characters"),
        ("name-length", patch_desc(0, "B", 41), "name of signal description 0"),
        ("adc-range", patch_desc(64, "2f", 5.0, 5.0), "calibration"),
        ("nan-calibration", patch_desc(56, "f", float("nan")), "calibration"),
        # 1234 samples in blocks of 100: cutting 3000 bytes leaves 11 blocks + 54 samples.
        ("cut-in-data", truncate_by(3000), "only 1154 are present"),
    ]


@pytest.mark.parametrize("version", ["2.03", "2.04"])
@pytest.mark.parametrize("case", _bad_cases(), ids=lambda c: c[0])
def test_bad_input(tmp_path, version, case):
    """Every malformed file raises a Poly5Error naming the file and the problem."""
    _, mutate, match = case
    fname, _ = _write(tmp_path, version, name=f"bad_{case[0]}.Poly5", samples_per_block=100)
    mutate(fname, version)
    with pytest.raises(Poly5Error, match=match) as err:
        read_raw_poly5(fname, preload=True)
    assert fname.name in str(err.value)
    assert isinstance(err.value, ValueError) and isinstance(err.value, DyadIOError)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_raw_poly5(tmp_path / "nope.Poly5")


def test_version_field_mismatch_warns(tmp_path):
    fname, raw = _write(tmp_path, "2.04")
    _patch(fname, _off("version", "2.04"), "H", 203)
    with pytest.warns(RuntimeWarning, match="version field is 203"):
        back = read_raw_poly5(fname)
    assert back.n_times == raw.n_times


def test_fuzz_only_poly5_error(tmp_path):
    """Random truncations and byte flips either read or raise Poly5Error, nothing else."""
    fname, _ = _write(tmp_path, n_times=90, samples_per_block=16, name="orig.Poly5")
    orig = fname.read_bytes()
    data_start = HEADER + 2 * 5 * DESC
    rng = np.random.default_rng(20240506)
    target = tmp_path / "fuzz.Poly5"
    outcomes = {"ok": 0, "error": 0}
    for trial in range(200):
        blob = bytearray(orig)
        kind = trial % 4
        if kind == 0:  # truncate anywhere
            blob = blob[: rng.integers(0, len(blob))]
        else:  # flip 1-4 bytes in the header, the descriptions or the data
            lo, hi = [(0, HEADER), (HEADER, data_start), (data_start, len(blob))][kind - 1]
            for pos in rng.integers(lo, hi, rng.integers(1, 5)):
                blob[pos] ^= int(rng.integers(1, 256))
        target.write_bytes(bytes(blob))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                raw = read_raw_poly5(target, preload=True, verbose="error")
            except Poly5Error as err:
                assert target.name in str(err)
                outcomes["error"] += 1
            else:
                assert raw.get_data().shape[0] == len(raw.ch_names)
                outcomes["ok"] += 1
    assert outcomes["ok"] > 0 and outcomes["error"] > 0


# --------------------------------------------------------------------------- writer


def test_writer_checks(tmp_path):
    raw = _make_raw(n_times=100)
    fname = write_poly5(tmp_path / "a.Poly5", raw, verbose="error")
    with pytest.raises(FileExistsError):
        write_poly5(fname, raw)
    write_poly5(fname, raw, overwrite=True, verbose="error")
    with pytest.raises(ValueError, match="version"):
        write_poly5(tmp_path / "b.Poly5", raw, version="2.05")
    with pytest.raises(ValueError, match="samples_per_block"):
        write_poly5(tmp_path / "b.Poly5", raw, samples_per_block=5000)
    with pytest.raises(TypeError, match="raw"):
        write_poly5(tmp_path / "b.Poly5", raw.get_data())
    odd = raw.copy()
    with odd.info._unlock():
        odd.info["sfreq"] = 500.5
    with pytest.raises(ValueError, match="whole number of Hz"):
        write_poly5(tmp_path / "b.Poly5", odd)
    long_name = raw.copy().rename_channels({"Fz": "F" * 36})
    with pytest.raises(ValueError, match="at most 40"):
        write_poly5(tmp_path / "b.Poly5", long_name)
    assert not (tmp_path / "b.Poly5").exists()


def test_writer_atomic(tmp_path, monkeypatch):
    """A failure while writing leaves neither the target nor a temporary file behind."""
    raw = _make_raw(n_times=3000)
    calls = []

    def failing_get_data(*args, **kwargs):
        calls.append(1)
        raise OSError("disk vanished")

    monkeypatch.setattr(raw, "get_data", failing_get_data)
    with pytest.raises(OSError, match="disk vanished"):
        write_poly5(tmp_path / "x.Poly5", raw, verbose="error")
    assert calls and list(tmp_path.iterdir()) == []


def test_write_lazy_raw_round_trip(tmp_path):
    """A lazily read Poly5 (2.04) rewrites as 2.03 with identical values."""
    fname, raw = _write(tmp_path, "2.04", samples_per_block=50)
    lazy = read_raw_poly5(fname, verbose="error")
    again = write_poly5(tmp_path / "again.Poly5", lazy, version="2.03", verbose="error")
    back = read_raw_poly5(again, verbose="error")
    assert_array_equal(back.get_data(), lazy.get_data())
    assert back.get_channel_types() == lazy.get_channel_types()


# --------------------------------------------------------------------------- issue 12, #14
def _dyad_raw(n_ch=3, n_times=2000, seed=0):
    from hyperinsync.dyad import make_dyad_raw, set_dyad_meta

    rng = np.random.default_rng(seed)
    names = ["Fz", "Cz", "Pz", "Oz"][:n_ch]
    raws = [
        mne.io.RawArray(
            rng.standard_normal((n_ch, n_times)) * 1e-5,
            mne.create_info(names, 500.0, "eeg"),
            verbose=False,
        )
        for _ in range(2)
    ]
    dyad = make_dyad_raw(*raws, roles=("therapist", "client"), verbose=False)
    report = dict(
        method="sync-pulses",
        files=["/data/therapist.edf", "/data/client.Poly5"],
        offset_s=3.2001,
        drift_ppm=40.1,
        residual_ms_max=0.8,
        n_pulses=80,
        note="µV and ü survive",
    )
    set_dyad_meta(dyad, alignment=report)
    dyad.info["description"] = "Session 1, room B\n" + dyad.info["description"]
    return dyad, report


def test_dyad_metadata_round_trip(tmp_path):
    from hyperinsync.dyad import as_dyad

    dyad, report = _dyad_raw()
    assert len(dyad.info["description"]) > 80
    fname = write_poly5(tmp_path / "dyad.Poly5", dyad, verbose="error")
    back = read_raw_poly5(fname, preload=True, verbose="error")
    assert back.info["description"] == dyad.info["description"]
    again = as_dyad(back)  # failed on the metadata cut to 80 characters
    assert again.roles == ("therapist", "client") and again.alignment == report
    assert_allclose(again.get_data(), dyad.get_data(), rtol=1e-6, atol=1e-12)
    # other readers see the free text in the measurement-name field, never a cut block
    blob = fname.read_bytes()
    n = blob[_off("name", "2.03")]
    assert blob[_off("name", "2.03") + 1 : _off("name", "2.03") + 1 + n] == b"Session 1, room B"
    # version 2.04 too
    fname = write_poly5(tmp_path / "d4.Poly5", dyad, version="2.04", verbose="error")
    assert as_dyad(read_raw_poly5(fname, preload=True, verbose="error")).alignment == report


def test_dyad_metadata_too_long_or_damaged(tmp_path):
    from hyperinsync.dyad import as_dyad, set_dyad_meta

    tiny, _ = _dyad_raw(n_ch=1, n_times=100)
    set_dyad_meta(tiny, alignment=dict(files=["x" * 2000]))
    with pytest.raises(ValueError, match="does not fit in a Poly5 file.*Save it as FIF"):
        write_poly5(tmp_path / "tiny.Poly5", tiny)
    assert not (tmp_path / "tiny.Poly5").exists()
    dyad, _ = _dyad_raw()
    fname = write_poly5(tmp_path / "dyad.Poly5", dyad, verbose="error")
    _patch(fname, _desc_start("2.03", 1) + 80, "B", 0x41)  # a byte of the stored text
    with pytest.warns(RuntimeWarning, match="stored in reserved bytes is damaged.*checksum"):
        back = read_raw_poly5(fname, preload=True)
    assert back.info["description"] == "Session 1, room B"
    assert as_dyad(back).roles == ("therapist", "client")  # the roles are in the names
    # a file written before this fix: the metadata block cut in the name field
    old = write_poly5(tmp_path / "old.Poly5", dyad.copy(), verbose="error")
    cut = (dyad.info["description"].split("\n", 1)[1]).encode()[:80]
    _patch(old, _off("name", "2.03"), "B80s", 80, cut)
    _patch(old, _desc_start("2.03") + 76, "4s", b"\x00" * 4)  # no stored text
    back = read_raw_poly5(old, preload=True, verbose="error")
    assert not back.info["description"]
    assert as_dyad(back).roles == ("therapist", "client")


def test_sample_rate_fields_disagree(tmp_path):
    # 10000 samples at 500 Hz in blocks of 100: block stamps 19-20 s apart
    fname, raw = _write(tmp_path, n_times=10000, samples_per_block=100, name="r.Poly5")
    orig = fname.read_bytes()
    _patch(fname, _off("sfreq", "2.03"), "h", 1000)  # the sample-rate field damaged
    with pytest.warns(
        RuntimeWarning,
        match=r"offset 114\) is 1000 Hz.*storage-rate.*500 Hz"
        r".*fits 500 Hz only",
    ):
        back = read_raw_poly5(fname)
    assert back.info["sfreq"] == 500.0
    fname.write_bytes(orig)
    _patch(fname, _off("storage", "2.03"), "h", 2048)  # the storage-rate field damaged
    with pytest.warns(RuntimeWarning, match="fits 500 Hz only"):
        assert read_raw_poly5(fname).info["sfreq"] == 500.0
    # without time stamps in the blocks the file cannot tell: refused
    undated = raw.copy().set_meas_date(None)
    fname = write_poly5(tmp_path / "u.Poly5", undated, samples_per_block=100, verbose="error")
    _patch(fname, _off("storage", "2.03"), "h", 250)
    with pytest.raises(
        Poly5Error,
        match="u.Poly5.*one of them is damaged.*no valid time stamps.*offsets 114 and 116",
    ):
        read_raw_poly5(fname)
    # too short to tell 500 Hz from 1000 Hz by whole-second stamps: refused
    fname, _ = _write(tmp_path, n_times=1234, samples_per_block=100, name="s.Poly5")
    _patch(fname, _off("sfreq", "2.03"), "h", 1000)
    with pytest.raises(Poly5Error, match="fits both"):
        read_raw_poly5(fname)
    # a storage-rate field left at 0 is not filled in, not damaged
    fname, _ = _write(tmp_path, name="z.Poly5")
    _patch(fname, _off("storage", "2.03"), "h", 0)
    assert read_raw_poly5(fname, verbose="error").info["sfreq"] == 500.0
