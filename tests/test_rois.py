"""Tests of the bundled montages (hyperinsync.montage) and ROIs (hyperinsync.rois)."""

import fnmatch
import importlib.resources
from pathlib import Path

import mne
import numpy as np
import pytest
from mne.utils import catch_logging

from hyperinsync.montage import list_montages, montage_ch_names, read_montage
from hyperinsync.rois import list_roi_sets, parse_rois, read_rois, resolve_rois

# the layouts as specified, written out independently of the data files
LAYOUTS = {
    "tmsi-mobita-32": "Fp1 Fpz Fp2 F7 F3 Fz F4 F8 FC5 FC1 FC2 FC6 M1 T7 C3 Cz C4 T8 M2 CP5 CP1 "
    "CP2 CP6 P7 P3 Pz P4 P8 POz O1 Oz O2",
    "standard-32": "Fp1 Fp2 F7 F3 Fz F4 F8 FC5 FC1 FC2 FC6 T7 C3 Cz C4 T8 TP9 CP5 CP1 CP2 CP6 "
    "TP10 P7 P3 Pz P4 P8 PO9 O1 Oz O2 PO10",
}
ROI_NAMES = ["frontal", "central", "parietal", "occipital", "temporal"]


def _template():
    """MNE's standard_1005 template (renamed colin27_1005 in MNE 1.13)."""
    name = (
        "colin27_1005"
        if "colin27_1005" in mne.channels.get_builtin_montages()
        else ("standard_1005")
    )
    return mne.channels.make_standard_montage(name)


def test_list_and_read_montages():
    assert set(list_montages()) >= {"tmsi-mobita-32", "standard-32", "standard-64"}
    for name, chs in LAYOUTS.items():
        assert montage_ch_names(name) == chs.split()
    ch64 = montage_ch_names("standard-64")
    assert len(ch64) == len(set(ch64)) == 64
    # 10-10 names beyond the 32-channel caps
    assert {"AF3", "AF4", "FCz", "CPz", "FT7", "TP8", "PO7", "C1", "C6"} <= set(ch64)


@pytest.mark.parametrize("name", ["tmsi-mobita-32", "standard-32", "standard-64"])
def test_positions_round_trip(name):
    """The files reproduce MNE's template positions, as DigMontage and in the head frame."""
    template = _template()
    montage = read_montage(name)
    assert isinstance(montage, mne.channels.DigMontage)
    pos, ref = montage.get_positions(), template.get_positions()
    for ch, xyz in pos["ch_pos"].items():
        np.testing.assert_allclose(xyz, ref["ch_pos"][ch], atol=1e-8)
    for fid in ("nasion", "lpa", "rpa"):
        np.testing.assert_allclose(pos[fid], ref[fid], atol=1e-8)
    info = mne.create_info(montage.ch_names, 500.0, "eeg")
    ours = info.copy().set_montage(montage)
    theirs = info.copy().set_montage(template)
    for a, b in zip(ours["chs"], theirs["chs"]):
        np.testing.assert_allclose(a["loc"][:3], b["loc"][:3], atol=1e-8)
    # plausible head: all channels 6-16 cm from the head-frame origin (between the ears)
    radii = np.linalg.norm([ch["loc"][:3] for ch in ours["chs"]], axis=1)
    assert np.all((radii > 0.06) & (radii < 0.16))


def test_montage_errors(tmp_path):
    with pytest.raises(ValueError, match=r"Unknown montage 'foo'.*standard-32, standard-64"):
        read_montage("foo")
    bad = tmp_path / "broken.elc"
    bad.write_text("UnitPosition\tmm\nPositions\n1 2\nLabels\nFz\n")
    with pytest.raises(ValueError, match=r"Could not read the montage file .*broken\.elc"):
        read_montage(bad)
    odd = tmp_path / "cap.xyzzy"
    odd.write_text("nothing")
    with pytest.raises(ValueError, match=r"cap\.xyzzy"):
        read_montage(str(odd))
    # a user file in a supported format works
    good = tmp_path / "mine.elc"
    good.write_text("UnitPosition\tm\nPositions\n0.0 0.08 0.05\n0.0 0.0 0.1\nLabels\nFz\nCz\n")
    assert read_montage(good).ch_names == ["Fz", "Cz"]


def test_package_data_via_importlib_resources():
    files = importlib.resources.files("hyperinsync.montages")
    names = {entry.name for entry in files.iterdir()}
    assert {
        "tmsi-mobita-32.elc",
        "standard-32.elc",
        "standard-64.elc",
        "rois-default.txt",
        "README.md",
    } <= names
    assert (files / "rois-default.txt").read_text().count("frontal:") == 1
    assert list_roi_sets() == ["default"]


def test_data_files_are_shipped_by_pyproject():
    """Every data file in montages/ matches a package-data glob, so installs carry it."""
    tomllib = pytest.importorskip("tomllib")
    root = Path(__file__).resolve().parents[1]
    if not (root / "pyproject.toml").is_file():
        pytest.skip("not a source checkout")
    config = tomllib.loads((root / "pyproject.toml").read_text())
    tool = config["tool"]["setuptools"]
    assert tool["package-dir"]["hyperinsync.montages"] == "montages"
    globs = tool["package-data"]["hyperinsync.montages"]
    for path in (root / "montages").iterdir():
        if path.is_file() and path.suffix != ".py":
            assert any(fnmatch.fnmatch(path.name, g) for g in globs), path.name


def test_default_rois_cover_the_montages():
    rois = read_rois()
    assert list(rois) == ROI_NAMES
    assert rois["frontal"] == ["Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8"]
    assert set(rois["central"]) == {"C3", "Cz", "C4", "FC1", "FC2", "CP1", "CP2"}
    montages = {
        name: set(montage_ch_names(name))
        for name in ("tmsi-mobita-32", "standard-32", "standard-64")
    }
    for roi, chs in rois.items():
        for ch in chs:
            assert ch in montages["tmsi-mobita-32"] | montages["standard-64"], (roi, ch)
        for name, available in montages.items():
            assert len(set(chs) & available) >= 2, (roi, name)
    # ROIs do not overlap
    all_chs = [ch for chs in rois.values() for ch in chs]
    assert len(all_chs) == len(set(all_chs))


def test_user_file_and_dict(tmp_path):
    fname = tmp_path / "my_rois.txt"
    fname.write_text(
        "# my ROIs\n\nleft: F3, C3 , P3  # inline comment\nright:F4,C4,P4,\n   \nmid: Cz\n"
    )
    rois = read_rois(fname)
    assert rois == {"left": ["F3", "C3", "P3"], "right": ["F4", "C4", "P4"], "mid": ["Cz"]}
    assert read_rois(str(fname)) == rois
    ch_names = ["fp1", "F3", "c3", "CZ", "P4"]
    out = resolve_rois(fname, ch_names)
    assert out == {"left": ["F3", "c3"], "right": ["P4"], "mid": ["CZ"]}
    out = resolve_rois({"a": ["FP1", "Cz", "Oz"], "b": ["p4"]}, ch_names)
    assert out == {"a": ["fp1", "CZ"], "b": ["P4"]}


@pytest.mark.parametrize(
    "text, match",
    [
        ("a: Fz\nb: Cz\na: Pz\n", r"line 3: duplicate ROI name 'a' \(first defined on line 1\)"),
        ("a: Fz\n\nb:  ,\n", r"line 3: ROI 'b' lists no channels"),
        ("a: Fz\nb Cz Pz\n", r"line 2: expected 'name: ch1, ch2, \.\.\.'"),
        ("a: Fz, Cz, fz\n", r"line 1: ROI 'a' lists channel 'fz' twice"),
        (": Fz\n", r"line 1: the ROI name before ':' is empty"),
        ("# only a comment\n", r"no ROI defined"),
    ],
)
def test_malformed_roi_files(tmp_path, text, match):
    fname = tmp_path / "bad_rois.txt"
    fname.write_text(text)
    with pytest.raises(ValueError, match=match) as err:
        read_rois(fname)
    assert "bad_rois.txt" in str(err.value)


def test_resolve_rois_default_and_dropping():
    ch_names = montage_ch_names("tmsi-mobita-32")
    out = resolve_rois(None, ch_names)
    assert out == resolve_rois("default", ch_names)
    assert out["occipital"] == ["O1", "Oz", "O2", "POz"]
    assert out["temporal"] == ["T7", "T8"]
    with catch_logging() as log:
        out = resolve_rois("default", ch_names, min_channels=3, verbose=True)
    assert "temporal" not in out and len(out) == 4
    assert "Dropping ROI 'temporal': 2 of its 10 channels present (T7, T8)" in log.getvalue()
    with pytest.raises(
        ValueError,
        match=r"No ROI has at least 1 .*frontal: Fp1.*"
        r"Channels available: EMG1, ECG",
    ):
        resolve_rois("default", ["EMG1", "ECG"])
    with pytest.raises(ValueError, match="Unknown ROI set 'nonsense'.*default"):
        resolve_rois("nonsense", ch_names)
    with pytest.raises(ValueError, match="ROI 'x' lists no channels"):
        resolve_rois({"x": []}, ch_names)
    with pytest.raises(TypeError, match="must be a list of channel names"):
        resolve_rois({"x": "Fz"}, ch_names)
    with pytest.raises(ValueError, match="min_channels must be at least 1"):
        resolve_rois("default", ch_names, min_channels=0)
    with pytest.raises(ValueError, match="matches several channels"):
        resolve_rois({"x": ["fz"]}, ["FZ", "Fz"])


def test_parse_rois_source_label():
    assert parse_rois("a: Fz") == {"a": ["Fz"]}
    with pytest.raises(ValueError, match="<mine>, line 1"):
        parse_rois("a Fz", source="<mine>")
