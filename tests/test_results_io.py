"""Tests of the HDF5 results layout: nested dicts, parts, atomic writes, round trips."""

import h5py
import numpy as np
import pytest

import hyperinsync.study.parts as rio
from hyperinsync.study.h5 import read_dict, write_dict
from hyperinsync.study.parts import read_part, read_part_header, write_part
from hyperinsync.study.results import describe_results, read_results, write_results
from hyperinsync.sync import SyncResult, compute_sync


@pytest.fixture(scope="module")
def sync_result(coupled_dyad):
    raw, _ = coupled_dyad(duration=20.0, sfreq=100.0, seed=3)
    # two bands in non-alphabetical order: the stored order must follow the data axis
    return compute_sync(
        raw, {"theta": (4, 8), "alpha": (8, 13)}, ["plv", "coh"], rois="default", verbose=False
    )


def _record(res, dyad="dyad01", session=0):
    return dict(
        dyad=dyad,
        session=session,
        input_hash="in",
        param_hash="par",
        meta=dict(group="g1", date="2024-01-08", variables={"WAI_T": 70}),
        sync={"all": res.to_dict(), "a/b": res.to_dict()},
        surrogates={},
        level1={},
        level2=None,
    )


def test_dict_round_trip(tmp_path):
    """Every value kind comes back equal, keys keep their order and odd names survive."""
    d = {
        "z": np.arange(6, dtype=np.int16).reshape(2, 3),
        "a": np.array([1.5, np.nan]),
        "c": np.array([1 + 2j]),
        "b": np.array([True, False]),
        "names": np.array(["Fz", "Cz"]),
        "nested": {"x/y": 1, ".": [1, 2], "%": None, "deep": {"k": "v"}},
        "arrays": [np.zeros(2), {"q": np.ones(1)}],
        "plain": [1, "two", None, 3.25],
        "none": None,
        "date": __import__("datetime").date(2024, 1, 8),
    }
    with h5py.File(tmp_path / "d.h5", "w") as f:
        write_dict(f.create_group("g"), d)
    with h5py.File(tmp_path / "d.h5", "r") as f:
        out = read_dict(f["g"])
    assert list(out) == list(d)
    assert out["z"].dtype == np.int16 and np.array_equal(out["z"], d["z"])
    assert np.array_equal(out["a"], d["a"], equal_nan=True)
    assert out["c"][0] == 1 + 2j
    assert out["b"].dtype == bool and list(out["b"]) == [True, False]
    assert list(out["names"]) == ["Fz", "Cz"]
    assert out["nested"] == {"x/y": 1, ".": [1, 2], "%": None, "deep": {"k": "v"}}
    assert np.array_equal(out["arrays"][0], np.zeros(2))
    assert np.array_equal(out["arrays"][1]["q"], np.ones(1))
    assert out["plain"] == [1, "two", None, 3.25]
    assert out["none"] is None
    assert out["date"] == "2024-01-08"


def test_write_dict_rejects_objects(tmp_path):
    with h5py.File(tmp_path / "d.h5", "w") as f:
        with pytest.raises(TypeError, match="Cannot store a object"):
            write_dict(f.create_group("g"), {"x": object()})


def test_part_and_results_round_trip(tmp_path, sync_result):
    """SyncResults come back equal (SyncResult.__eq__), through a part and the study file."""
    part = tmp_path / "parts" / "p.h5"
    write_part(part, _record(sync_result))
    assert read_part_header(part) == (True, "in", "par")
    rec = read_part(part)
    assert SyncResult.from_dict(rec["sync"]["a/b"]) == sync_result
    assert list(SyncResult.from_dict(rec["sync"]["all"]).bands) == ["theta", "alpha"]

    group = {
        "contrast": {"F": np.array([2.0, 3.0]), "groups": np.array(["a", "b"])},
        "level3": None,
    }
    out = tmp_path / "results.h5"
    write_results(
        out,
        [part],
        group,
        params={"analysis": {"measures": ["plv"]}},
        versions={"numpy": np.__version__},
        study_toml="[study]\n",
    )
    res = read_results(out)
    got = res.get("dyad01", 0)
    assert got["sync"]["all"] == sync_result
    assert got["meta"]["variables"] == {"WAI_T": 70}
    assert np.array_equal(res.group["contrast"]["F"], [2.0, 3.0])
    assert "level3" not in res.group  # None is not stored
    assert res.study_toml == "[study]\n"
    assert res.params == {"analysis": {"measures": ["plv"]}}
    table = res.to_table(measure="plv")
    # same-ROI pairs only, one row per segment, band and ROI
    n_roi = len(sync_result.roi_names[0])
    assert len(table) == 2 * 2 * n_roi
    row = table[(table.segment == "all") & (table.band == "alpha") & (table.roi == "central")]
    i = sync_result.roi_names[0].index("central")
    assert row.value.item() == pytest.approx(
        sync_result.get_data("plv", "alpha", level="roi")[i, i]
    )
    text = describe_results(out)
    assert "dyad01 session 0" in text and "segments all, a/b" in text
    with pytest.raises(KeyError, match="No recording"):
        res.get("dyad02")


def test_part_read_without_what_the_group_step_leaves_out(tmp_path, sync_result):
    """``skip`` leaves keys out at every depth; everything else comes back as written."""
    from hyperinsync.study.group import _UNUSED

    rec = _record(sync_result)
    rec.update(level1={"session": {"z": np.ones(3)}}, level2={"null": np.zeros(2)})
    part = tmp_path / "p.h5"
    write_part(part, rec)
    full = read_part(part)
    assert full["sync"]["all"]["epoch_data"] is not None and full["level2"] is not None
    light = read_part(part, skip=_UNUSED)
    assert light["level1"] == {} and light["level2"] is None  # as if not run
    assert light["meta"] == full["meta"] and light["dyad"] == full["dyad"]
    for seg in ("all", "a/b"):
        assert "epoch_data" not in light["sync"][seg]
        assert set(full["sync"][seg]) - set(light["sync"][seg]) == {"epoch_data"}
        got = SyncResult.from_dict(light["sync"][seg])
        assert got.epoch_data is None
        for m, b in [("plv", "theta"), ("coh", "alpha")]:
            np.testing.assert_array_equal(
                got.get_data(m, b, level="roi"), sync_result.get_data(m, b, level="roi")
            )


def test_part_write_is_atomic(tmp_path, sync_result, monkeypatch):
    """A failure while writing leaves the previous part untouched and no temporary file."""
    part = tmp_path / "p.h5"
    write_part(part, _record(sync_result))
    before = part.read_bytes()

    def boom(group, record):
        group.attrs["dyad"] = "half"
        raise RuntimeError("killed mid-write")

    monkeypatch.setattr(rio, "_write_record", boom)
    with pytest.raises(RuntimeError, match="killed mid-write"):
        write_part(part, _record(sync_result, dyad="other"))
    assert part.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["p.h5"]


def test_incomplete_and_foreign_files(tmp_path):
    part = tmp_path / "p.h5"
    with h5py.File(part, "w") as f:
        f.attrs["dyad"] = "d"
    assert read_part_header(part)[0] is False
    with pytest.raises(ValueError, match="incomplete"):
        read_part(part)
    (tmp_path / "junk.h5").write_bytes(b"not hdf5")
    assert read_part_header(tmp_path / "junk.h5") is None
    with pytest.raises(ValueError, match="not a hyperinsync results file"):
        read_results(part)
    with pytest.raises(FileNotFoundError, match="No results file"):
        read_results(tmp_path / "missing.h5")
