"""Tests for hyperinsync.io.split.split_dyad."""

import mne
import numpy as np
import pytest

from hyperinsync.io.errors import SplitError
from hyperinsync.io.split import split_dyad


def _raw(names, types=None):
    types = types or ["eeg"] * len(names)
    data = np.arange(len(names))[:, None] * np.ones((1, 500)) * 1e-6
    raw = mne.io.RawArray(data, mne.create_info(names, 250.0, types), verbose=False)
    raw.set_annotations(mne.Annotations([0.5], [0.1], ["BAD_x"]))
    return raw


def test_suffix_pattern_and_shared_trigger():
    raw = _raw(["Fz_1", "Cz_1", "Fz_2", "Cz_2", "TRIG"], ["eeg"] * 4 + ["stim"])
    dyad = split_dyad(
        raw, r"(?P<name>.+)_(?P<role>[12])$", roles=("mother", "child"), montage="standard-32"
    )
    assert dyad.ch_names == [
        "mother:Fz",
        "mother:Cz",
        "mother:TRIG",
        "child:Fz",
        "child:Cz",
        "child:TRIG",
    ]
    # data unchanged, person by person
    np.testing.assert_array_equal(dyad.get_data(picks="child:Cz"), raw.get_data(picks="Cz_2"))
    np.testing.assert_array_equal(dyad.get_data(picks="child:TRIG"), raw.get_data(picks="TRIG"))
    assert dyad.alignment["method"] == "single-amplifier"
    assert dyad.alignment["shared"] == ["TRIG"]
    assert list(dyad.annotations.description) == ["BAD_x"]
    assert np.isfinite(dyad.info["chs"][0]["loc"][:3]).all()


def test_prefix_pattern_role_map_and_shared_to():
    raw = _raw(["1-Fz", "2-Fz", "1-Pz", "2-Pz", "Photo"], ["eeg"] * 4 + ["misc"])
    dyad = split_dyad(
        raw,
        r"(?P<role>[12])-(?P<name>.+)",
        roles=("A", "B"),
        role_map={"1": "B", "2": "A"},
        shared=["Photo"],
        shared_to="A",
    )
    assert dyad.ch_names == ["A:Fz", "A:Pz", "A:Photo", "B:Fz", "B:Pz"]
    np.testing.assert_array_equal(dyad.get_data(picks="A:Fz"), raw.get_data(picks="2-Fz"))


def test_mapping():
    raw = _raw(["a1", "a2", "b1", "b2"])
    dyad = split_dyad(raw, mapping={"A": ["a1", "a2"], "B": ["b2", "b1"]})
    assert dyad.ch_names == ["A:a1", "A:a2", "B:b2", "B:b1"]


def test_errors():
    raw = _raw(["Fz_1", "Fz_2", "EOG"])
    pat = r"(?P<name>.+)_(?P<role>[12])$"
    with pytest.raises(SplitError, match=r"\['EOG'\] match no role"):
        split_dyad(raw, pat)
    with pytest.raises(SplitError, match="'B' gets no channels"):
        split_dyad(_raw(["Fz_1", "Cz_1", "T"], ["eeg", "eeg", "stim"]), pat, role_map={"1": "A"})
    with pytest.raises(SplitError, match="role texts"):
        split_dyad(_raw(["Fz_1", "Cz_1"]), pat)
    with pytest.raises(SplitError, match="'B' gets no channels"):
        split_dyad(_raw(["a", "b"]), mapping={"A": ["a", "b"], "B": []})
    with pytest.raises(SplitError, match="both roles"):
        split_dyad(_raw(["a", "b"]), mapping={"A": ["a"], "B": ["a", "b"]})
    with pytest.raises(ValueError, match="named groups"):
        split_dyad(raw, r"(.+)_([12])")
    with pytest.raises(ValueError, match="exactly one"):
        split_dyad(raw)
    with pytest.raises(SplitError, match="role_map"):
        split_dyad(_raw(["Fz_1", "Fz_2"]), pat, role_map={"1": "A", "3": "B"})
