"""Tests for hyperinsync.dyad: dyadic Raw/Epochs that are MNE objects."""

import warnings
from pathlib import Path

import mne
import numpy as np
import pytest

from hyperinsync.dyad import (
    DEFAULT_ROLES,
    ROLE_SEP,
    DyadEpochs,
    DyadRaw,
    as_dyad,
    get_dyad_meta,
    get_roles,
    make_dyad_epochs,
    make_dyad_raw,
    read_dyad_epochs,
    read_dyad_fif,
    role_ch_name,
    role_picks,
    set_dyad_meta,
    split_ch_name,
)

SFREQ = 100.0
ROLES = ("therapist", "client")
CH_A = ["Fz", "Cz", "Pz", "Oz"]
CH_B = ["Fz", "C3", "C4"]


def _montage():
    with warnings.catch_warnings():  # MNE 1.13 deprecates the name (use colin27_1020)
        warnings.simplefilter("ignore", FutureWarning)
        return mne.channels.make_standard_montage("standard_1020")


def _info(ch_names, types="eeg", montage=True):
    info = mne.create_info(ch_names, SFREQ, types)
    if montage:
        info.set_montage(_montage(), on_missing="ignore")
    return info


def _raw(ch_names, seed, n_times=2000, types="eeg"):
    rng = np.random.default_rng(seed)
    return mne.io.RawArray(
        rng.standard_normal((len(ch_names), n_times)) * 1e-5,
        _info(ch_names, types),
        verbose=False,
    )


def _epochs(ch_names, seed, n_epochs=6, n_times=50, tmin=-0.1, types="eeg"):
    rng = np.random.default_rng(seed)
    events = np.c_[np.arange(n_epochs) * 100, np.zeros(n_epochs, int), [1, 2] * (n_epochs // 2)]
    return mne.EpochsArray(
        rng.standard_normal((n_epochs, len(ch_names), n_times)) * 1e-5,
        _info(ch_names, types),
        events=events,
        tmin=tmin,
        event_id={"rest": 1, "talk": 2},
        verbose=False,
    )


@pytest.fixture
def pair():
    """Paired epochs: different channel sets, a bad channel and metadata on A."""
    epochs_a = _epochs(CH_A, 0)
    epochs_b = _epochs(CH_B + ["EOG"], 1, types=["eeg"] * 3 + ["eog"])
    epochs_a.info["bads"] = ["Oz"]
    epochs_a.metadata = pytest.importorskip("pandas").DataFrame({"trial": np.arange(6)})
    return epochs_a, epochs_b


@pytest.fixture
def dyad(pair):
    return make_dyad_epochs(*pair, roles=ROLES)


@pytest.fixture
def dyad_raw():
    return make_dyad_raw(_raw(CH_A, 0), _raw(CH_B, 1), roles=ROLES)


# ----------------------------------------------------------------------------- names
def test_names():
    assert ROLE_SEP == ":" and DEFAULT_ROLES == ("A", "B")
    assert role_ch_name("client", "Fz") == "client:Fz"
    assert split_ch_name("client:Fz") == ("client", "Fz")
    # Channel names may hold the separator, roles may not.
    assert split_ch_name(role_ch_name("A", "ref:Fz")) == ("A", "ref:Fz")
    with pytest.raises(ValueError, match="'Fz' has no role prefix"):
        split_ch_name("Fz")
    with pytest.raises(ValueError, match="no role prefix"):
        split_ch_name(":Fz")
    with pytest.raises(ValueError, match="without ':'"):
        role_ch_name("a:b", "Fz")
    with pytest.raises(ValueError, match="non-empty"):
        role_ch_name("", "Fz")
    with pytest.raises(TypeError, match="role"):
        role_ch_name(1, "Fz")


def test_get_roles_and_picks():
    info = mne.create_info(["B:Fz", "A:Fz", "B:Cz", "A:x:y"], SFREQ, "eeg")
    assert get_roles(info) == ("B", "A")  # order of first appearance
    np.testing.assert_array_equal(role_picks(info, "B"), [0, 2])
    np.testing.assert_array_equal(role_picks(info, "A"), [1, 3])
    with pytest.raises(ValueError, match=r"Unknown role 'C'.*\('B', 'A'\)"):
        role_picks(info, "C")
    with pytest.raises(ValueError, match=r"1 channel name\(s\) have no role prefix.*'Cz'"):
        get_roles(mne.create_info(["A:Fz", "Cz"], SFREQ, "eeg"))


# ----------------------------------------------------------------------------- metadata
def test_dyad_meta(tmp_path):
    info = mne.create_info(["A:Fz", "B:Fz"], SFREQ, "eeg")
    assert get_dyad_meta(info) == {}
    info["description"] = "recorded in room 2"
    assert set_dyad_meta(info, roles=["A", "B"]) is info
    set_dyad_meta(info, alignment={"lag": np.float64(0.5), "pulses": np.arange(3)})
    assert get_dyad_meta(info) == {
        "roles": ["A", "B"],
        "alignment": {"lag": 0.5, "pulses": [0, 1, 2]},
    }
    assert info["description"].startswith("recorded in room 2\n")  # free text kept
    with pytest.raises(TypeError, match="Cannot store a object"):
        set_dyad_meta(info, bad=object())
    # It is saved by MNE in FIF and read back.
    raw = mne.io.RawArray(np.zeros((2, 100)), info, verbose=False)
    raw.save(tmp_path / "m_raw.fif", verbose=False)
    back = mne.io.read_raw_fif(tmp_path / "m_raw.fif", verbose=False)
    assert get_dyad_meta(back)["alignment"]["lag"] == 0.5
    info["description"] = "hyperinsync-dyad:{not json"
    with pytest.raises(ValueError, match="corrupted hyperinsync metadata"):
        get_dyad_meta(info)


# ----------------------------------------------------------------------------- epochs
def test_make_dyad_epochs(pair, dyad):
    epochs_a, epochs_b = pair
    assert isinstance(dyad, DyadEpochs) and isinstance(dyad, mne.BaseEpochs)
    assert dyad.roles == ROLES
    assert dyad.ch_names == [f"therapist:{c}" for c in CH_A] + [
        f"client:{c}" for c in CH_B + ["EOG"]
    ]
    assert dyad.get_channel_types()[-1] == "eog"
    assert dyad.info["bads"] == ["therapist:Oz"]
    # Data unchanged, bit for bit.
    for role, src in zip(ROLES, pair):
        np.testing.assert_array_equal(dyad.get_data(picks=dyad.role_picks(role)), src.get_data())
    # Events and bookkeeping from A.
    np.testing.assert_array_equal(dyad.events, epochs_a.events)
    assert dyad.event_id == epochs_a.event_id and dyad.tmin == epochs_a.tmin
    assert dyad.metadata.equals(epochs_a.metadata)
    np.testing.assert_array_equal(dyad.selection, epochs_a.selection)
    # Each person's locations are copied.
    for role, src in zip(ROLES, pair):
        for ch in src.info["chs"]:
            merged = dyad.info["chs"][dyad.ch_names.index(f"{role}:{ch['ch_name']}")]
            np.testing.assert_array_equal(merged["loc"], ch["loc"])
            assert merged["kind"] == ch["kind"] and merged["unit"] == ch["unit"]
    assert get_dyad_meta(dyad)["roles"] == list(ROLES)
    assert dyad.alignment is None
    assert make_dyad_epochs(*pair).roles == DEFAULT_ROLES


def test_participant_epochs(pair, dyad):
    for role, src in zip(ROLES, pair):
        part = dyad.participant(role)
        assert type(part) is mne.EpochsArray
        assert part.ch_names == src.ch_names
        assert part.info["bads"] == src.info["bads"]
        np.testing.assert_array_equal(part.get_data(), src.get_data())
        np.testing.assert_array_equal(part.events, pair[0].events)
        assert part.metadata.equals(pair[0].metadata)
        got = part.get_montage().get_positions()
        want = src.get_montage().get_positions()
        assert set(got["ch_pos"]) == set(want["ch_pos"])
        for name, pos in want["ch_pos"].items():
            np.testing.assert_array_equal(got["ch_pos"][name], pos)
        np.testing.assert_allclose(got["nasion"], want["nasion"])
        assert get_dyad_meta(part) == {}
    with pytest.raises(ValueError, match="Unknown role 'A'"):
        dyad.participant("A")


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda e: e.resample(50), r"sampling rate \(Hz\): 100.0 \(A\) vs 50.0 \(B\).*resample"),
        (lambda e: e.drop([0]), r"number of epochs: 6 \(A\) vs 5 \(B\).*[Ee]qualize"),
        (lambda e: e.crop(None, 0.3), r"number of time samples.*50 \(A\) vs 41 \(B\).*crop"),
        (
            lambda e: e.shift_time(0.0, relative=False),
            r"tmin \(s\): -0.1 \(A\) vs 0.0 \(B\).*crop",
        ),
    ],
)
def test_make_dyad_epochs_mismatch(pair, change, match):
    epochs_a, epochs_b = pair
    with pytest.raises(ValueError, match=match):
        make_dyad_epochs(epochs_a, change(epochs_b.copy()))


def test_make_dyad_epochs_events_and_args(pair):
    epochs_a, epochs_b = pair
    shifted = epochs_b.copy()
    shifted.events[2, 0] += 7
    match = r"event samples \(1 epochs, first at epoch 2\): 200 \(A\) vs 207"
    with pytest.raises(ValueError, match=match):
        make_dyad_epochs(epochs_a, shifted)
    recoded = epochs_b.copy()
    recoded.events[:, 2] = 1
    recoded.event_id = {"rest": 1}
    match = r"event codes.*first at epoch 1\): 2 \(A\) vs 1 \(B\).*pair"
    with pytest.raises(ValueError, match=match):
        make_dyad_epochs(epochs_a, recoded)
    with pytest.raises(TypeError, match="epochs_b must be an instance of Epochs"):
        make_dyad_epochs(epochs_a, epochs_b.get_data())
    with pytest.raises(ValueError, match="exactly two participants, got 3"):
        make_dyad_epochs(epochs_a, epochs_b, roles=("a", "b", "c"))
    with pytest.raises(ValueError, match="roles must differ"):
        make_dyad_epochs(epochs_a, epochs_b, roles=("a", "a"))
    with pytest.raises(ValueError, match="without ':'"):
        make_dyad_epochs(epochs_a, epochs_b, roles=("a:1", "b"))
    with pytest.raises(ValueError, match="non-empty"):
        make_dyad_epochs(epochs_a, epochs_b, roles=("", "b"))
    with pytest.raises(TypeError, match="roles must be an instance of tuple"):
        make_dyad_epochs(epochs_a, epochs_b, roles="ab")


def test_make_dyad_epochs_lazy(pair, tmp_path):
    # Unloaded epochs are loaded (on a copy) before pairing; rejection on loading counts.
    pair[1].save(tmp_path / "b-epo.fif", verbose=False)
    lazy_b = mne.read_epochs(tmp_path / "b-epo.fif", preload=False, verbose=False)
    dyad = make_dyad_epochs(pair[0], lazy_b, roles=ROLES)
    got = dyad.participant("client").get_data()
    np.testing.assert_allclose(got, pair[1].get_data(), rtol=1e-6)  # FIF stores float32
    assert not lazy_b.preload


def test_unapplied_projectors(pair):
    epochs_a, epochs_b = pair
    with_proj = epochs_b.copy().set_eeg_reference(projection=True, verbose=False)
    with pytest.raises(ValueError, match=r"'client' has 1 unapplied SSP.*apply_proj\(\)"):
        make_dyad_epochs(epochs_a, with_proj, roles=ROLES)
    # Applied projectors are fine and carried with renamed columns.
    dyad = make_dyad_epochs(epochs_a, with_proj.apply_proj(verbose=False), roles=ROLES)
    assert dyad.info["projs"][0]["data"]["col_names"][0].startswith("client:")
    assert dyad.participant("client").info["projs"][0]["data"]["col_names"][0] == "Fz"
    raw_b = _raw(CH_B, 1).set_eeg_reference(projection=True, verbose=False)
    with pytest.raises(ValueError, match=r"'B' has 1 unapplied SSP"):
        make_dyad_raw(_raw(CH_A, 0), raw_b)


def test_epochs_survive_mne_methods(dyad, pair, tmp_path):
    expect = dyad.get_data()
    for out in (
        dyad.copy(),
        dyad[1:3],
        dyad["talk"],
        dyad.copy().crop(0.0, 0.2),
        dyad.copy().pick(["therapist:Fz", "client:Fz", "client:C3"]),
        dyad.copy().drop([0]),
        dyad.copy().resample(50, verbose=False),
        dyad.copy().filter(1.0, 20.0, method="iir", verbose=False),
    ):
        assert isinstance(out, DyadEpochs) and out.roles == ROLES
    np.testing.assert_array_equal(dyad["talk"].get_data(), expect[1::2])
    equalized, _ = dyad.copy().drop([1]).equalize_event_counts()  # 3 rest, 2 talk
    assert isinstance(equalized, DyadEpochs) and len(equalized) == 4
    dyad.drop_bad()  # no thresholds: nothing dropped, still a dyad
    assert isinstance(dyad, DyadEpochs) and len(dyad) == 6
    # Dropping an epoch drops it for both people.
    dropped = dyad.copy().drop([1, 4])
    assert len(dropped) == 4
    for role, src in zip(ROLES, pair):
        np.testing.assert_array_equal(
            dropped.participant(role).get_data(), src.get_data()[[0, 2, 3, 5]]
        )
    assert dropped.participant("client").drop_log[1] == ("USER",)
    # drop_bad: a rejection threshold hit by one person's channel removes the epoch for both.
    data_b = pair[1].get_data()
    data_b[3, 1, 10] = 1.0  # client:C3, epoch 3
    epochs_b = mne.EpochsArray(data_b, pair[1].info, pair[1].events, -0.1, pair[1].event_id)
    bumped = make_dyad_epochs(pair[0], epochs_b, ROLES)
    bumped.drop_bad(reject={"eeg": 1e-2}, verbose=False)
    assert isinstance(bumped, DyadEpochs) and len(bumped) == 5
    np.testing.assert_array_equal(bumped.selection, [0, 1, 2, 4, 5])
    # Save/load: read_dyad_epochs gives the dyad back, plain MNE still opens it.
    fname = tmp_path / "dyad-epo.fif"
    dyad.save(fname, verbose=False)
    back = read_dyad_epochs(fname)
    assert isinstance(back, DyadEpochs) and back.roles == ROLES
    assert back.info["bads"] == ["therapist:Oz"]
    np.testing.assert_allclose(back.get_data(), expect, rtol=1e-6)  # FIF stores float32
    plain = mne.read_epochs(fname, verbose=False)
    assert plain.ch_names == dyad.ch_names
    assert as_dyad(plain).roles == ROLES
    np.testing.assert_allclose(  # FIF stores locations as float32
        back.participant("client").get_montage().get_positions()["ch_pos"]["C3"],
        pair[1].get_montage().get_positions()["ch_pos"]["C3"],
        rtol=1e-6,
    )
    # concatenate_epochs returns a plain EpochsArray: as_dyad converts it back.
    both = as_dyad(mne.concatenate_epochs([dyad, dyad], verbose=False))
    assert isinstance(both, DyadEpochs) and both.roles == ROLES and len(both) == 12
    np.testing.assert_array_equal(both.get_data()[:6], expect)


def test_picks_is_mne_compatible(dyad):
    # MNE keeps its own index array in ``epochs.picks``; it stays usable as one.
    np.testing.assert_array_equal(np.asarray(dyad.picks), np.arange(len(dyad.ch_names)))
    picked = dyad.copy().pick(["client:Fz", "therapist:Cz"])  # MNE keeps the given order
    assert picked.roles == ("client", "therapist")
    np.testing.assert_array_equal(picked.role_picks("therapist"), [1])


# ----------------------------------------------------------------------------- raw
def test_make_dyad_raw(dyad_raw):
    raw_a, raw_b = _raw(CH_A, 0), _raw(CH_B, 1)
    assert isinstance(dyad_raw, DyadRaw) and isinstance(dyad_raw, mne.io.BaseRaw)
    assert dyad_raw.roles == ROLES
    for role, src in zip(ROLES, (raw_a, raw_b)):
        picked = dyad_raw.get_data(picks=dyad_raw.role_picks(role))
        np.testing.assert_array_equal(picked, src.get_data())
        part = dyad_raw.participant(role)
        assert type(part) is mne.io.RawArray and part.ch_names == src.ch_names
        np.testing.assert_array_equal(part.get_data(), src.get_data())
        want = src.get_montage().get_positions()["ch_pos"]
        got = part.get_montage().get_positions()["ch_pos"]
        for name in want:
            np.testing.assert_array_equal(got[name], want[name])


def test_dyad_raw_annotations_and_meas_date():
    raw_a = _raw(CH_A, 0)
    raw_b = _raw(CH_B, 1, n_times=2300).crop(3.0, None)  # first_samp 300: onsets must follow
    raw_a.set_meas_date(1_600_000_000)
    raw_b.set_meas_date(1_700_000_000)
    # orig_time=None: onsets in seconds from each recording's first sample.
    raw_a.set_annotations(mne.Annotations([1.0, 3.0], [0.5, 1.0], ["shared", "a_only"]))
    raw_b.set_annotations(
        mne.Annotations([1.0, 5.0], [0.5, 1.0], ["shared", "BAD_motion"], ch_names=[[], ["C3"]])
    )
    dyad = make_dyad_raw(raw_a, raw_b, roles=ROLES)
    assert dyad.info["meas_date"] == raw_a.info["meas_date"]
    ann = dyad.annotations
    assert list(ann.description) == ["shared", "a_only", "BAD_motion"]  # 'shared' once
    np.testing.assert_allclose(ann.onset - dyad.first_time, [1.0, 3.0, 5.0])
    assert ann.ch_names[2] == ("client:C3",)
    # Each participant gets the shared annotations and its own channel-specific ones.
    assert list(dyad.participant("client").annotations.ch_names[-1]) == ["C3"]
    assert "BAD_motion" not in dyad.participant("therapist").annotations.description


def test_make_dyad_raw_errors():
    raw_a = _raw(CH_A, 0)
    match = r"sampling rate \(Hz\): 100.0 \(A\) vs 50.0 \(B\).*hyperinsync.io"
    with pytest.raises(ValueError, match=match):
        make_dyad_raw(raw_a, _raw(CH_B, 1).resample(50, verbose=False))
    with pytest.raises(ValueError, match=r"number of samples: 2000 \(A\) vs 1500 \(B\).*crop"):
        make_dyad_raw(raw_a, _raw(CH_B, 1, n_times=1500))
    with pytest.raises(TypeError, match="raw_b must be an instance of Raw"):
        make_dyad_raw(raw_a, _epochs(CH_B, 1))
    with pytest.raises(ValueError, match="roles must differ"):
        make_dyad_raw(raw_a, _raw(CH_B, 1), roles=("x", "x"))


def test_make_dyad_raw_lazy(tmp_path):
    raw_a, raw_b = _raw(CH_A, 0), _raw(CH_B, 1)
    raw_b.set_annotations(mne.Annotations([2.0], [1.0], ["BAD_b"]))  # none channel-specific
    raw_b.save(tmp_path / "b_raw.fif", verbose=False)
    lazy_b = mne.io.read_raw_fif(tmp_path / "b_raw.fif", preload=False, verbose=False)
    dyad = make_dyad_raw(raw_a, lazy_b)
    np.testing.assert_array_equal(dyad.get_data(picks=dyad.role_picks("B")), lazy_b.get_data())
    assert list(dyad.annotations.description) == ["BAD_b"]
    assert not lazy_b.preload  # the input is left as it was


def test_raw_survives_mne_methods(dyad_raw, tmp_path):
    for out in (
        dyad_raw.copy(),
        dyad_raw.copy().crop(1.0, 5.0),
        dyad_raw.copy().pick(["therapist:Cz", "client:C4"]),
        dyad_raw.copy().resample(50, verbose=False),
        dyad_raw.copy().filter(1.0, 20.0, verbose=False),
    ):
        assert isinstance(out, DyadRaw) and out.roles == ROLES
    set_dyad_meta(dyad_raw, alignment={"method": "pulses", "lag_s": 0.012})
    dyad_raw.info["bads"] = ["client:C4"]
    fname = tmp_path / "dyad_raw.fif"
    dyad_raw.save(fname, verbose=False)
    back = read_dyad_fif(fname)
    assert isinstance(back, DyadRaw) and back.roles == ROLES
    assert back.alignment == {"method": "pulses", "lag_s": 0.012}
    assert back.info["bads"] == ["client:C4"]
    assert back.participant("client").info["bads"] == ["C4"]
    np.testing.assert_allclose(back.get_data(), dyad_raw.get_data(), rtol=1e-6)
    plain = mne.io.read_raw_fif(fname, verbose=False)
    assert plain.ch_names == dyad_raw.ch_names


def test_make_epochs_rejects_for_both(dyad_raw):
    # A BAD_ annotation on one person's channel rejects the epoch for both.
    dyad_raw.set_annotations(mne.Annotations([4.5], [0.5], ["BAD_x"], ch_names=[["client:C3"]]))
    epochs = dyad_raw.make_epochs(duration=2.0)
    assert isinstance(epochs, DyadEpochs) and epochs.roles == ROLES
    assert len(epochs) == 9
    assert epochs.drop_log[2] == ("BAD_x",)
    np.testing.assert_array_equal(epochs.get_data()[2], dyad_raw.get_data(start=600, stop=800))
    assert len(dyad_raw.make_epochs(duration=2.0, reject_by_annotation=False)) == 10
    assert len(dyad_raw.make_epochs(duration=2.0, overlap=1.0, reject_by_annotation=False)) == 19


# ----------------------------------------------------------------------------- as_dyad
def test_as_dyad(dyad, tmp_path):
    assert as_dyad(dyad) is dyad
    assert as_dyad(dyad, roles=ROLES) is dyad
    match = r"Expected roles \('client', 'therapist'\).*\('therapist', 'client'\)"
    with pytest.raises(ValueError, match=match):
        as_dyad(dyad, roles=("client", "therapist"))
    with pytest.raises(ValueError, match="exactly two roles, found 1"):
        as_dyad(mne.EpochsArray(np.zeros((2, 1, 10)), mne.create_info(["A:Fz"], SFREQ, "eeg")))
    with pytest.raises(ValueError, match="no role prefix"):
        as_dyad(_raw(CH_A, 0))
    with pytest.raises(TypeError, match="inst must be an instance of Raw or Epochs"):
        as_dyad(dyad.get_data())
    with pytest.raises(ValueError, match="exactly two roles, found 3"):
        DyadRaw(np.zeros((3, 10)), mne.create_info(["a:x", "b:x", "c:x"], SFREQ, "eeg"))
    # A file that holds no dyad: the error names it.
    _raw(CH_A, 0).save(tmp_path / "single_raw.fif", verbose=False)
    with pytest.raises(ValueError, match=r"single_raw.fif holds no dyad.*no role prefix"):
        read_dyad_fif(tmp_path / "single_raw.fif")
    _epochs(CH_A, 0).save(tmp_path / "single-epo.fif", verbose=False)
    with pytest.raises(ValueError, match=r"single-epo.fif holds no dyad"):
        read_dyad_epochs(tmp_path / "single-epo.fif")


# ------------------------------------------------- conditions without epochs (issue 12, #13)
def _sparse_conditions(tmp_path, names, seed):
    """Epochs as mne.read_epochs returns them: event_id lists conditions without epochs."""
    raw = _raw(names, seed, n_times=1200)
    events = np.array([[100, 0, 1], [300, 0, 2], [500, 0, 1], [700, 0, 3], [900, 0, 1]])
    event_id = {"rest": 1, "talk": 2, "laugh": 3, "silence": 4, "music": 5}
    epochs = mne.Epochs(
        raw,
        events,
        event_id,
        tmin=-0.1,
        tmax=0.39,
        baseline=None,
        on_missing="ignore",
        preload=True,
        verbose=False,
    )
    fname = tmp_path / f"s{seed}-epo.fif"
    epochs.save(fname, verbose=False)
    return mne.read_epochs(fname, verbose=False)


def test_unused_conditions(tmp_path):
    a = _sparse_conditions(tmp_path, CH_A, 0)
    b = _sparse_conditions(tmp_path, CH_B, 1)
    assert len(a.event_id) == 5 and len(np.unique(a.events[:, 2])) == 3
    dyad = make_dyad_epochs(a, b, roles=ROLES)  # "No matching events found" before
    assert dyad.event_id == a.event_id and len(dyad) == 5
    np.testing.assert_array_equal(dyad.get_data(picks="therapist:Cz"), a.get_data(picks="Cz"))
    # drop the only epoch of 'talk' and of 'laugh'
    dyad.drop([1, 3])
    one = dyad.participant("client")
    assert one.event_id == a.event_id and len(one) == 3
    np.testing.assert_array_equal(one.get_data(), b.get_data()[[0, 2, 4]])
    fname = tmp_path / "dyad-epo.fif"
    dyad.save(fname, verbose=False)
    back = read_dyad_epochs(fname)  # said "holds no dyad" before
    assert back.roles == ROLES and len(back) == 3 and back.event_id == a.event_id
    np.testing.assert_array_equal(back.get_data(), dyad.get_data())
    # a file without roles still says so
    a.save(tmp_path / "plain-epo.fif", verbose=False)
    with pytest.raises(ValueError, match="plain-epo.fif holds no dyad.*role prefix"):
        read_dyad_epochs(tmp_path / "plain-epo.fif")


def test_pair_by_order(pair):
    epochs_a, epochs_b = pair
    shifted = epochs_b.copy()
    shifted.events[:, 0] += 35  # B's own clock: every event 0.35 s later
    with pytest.raises(ValueError, match="event samples.*pair_by='order'"):
        make_dyad_epochs(epochs_a, shifted)
    dyad = make_dyad_epochs(epochs_a, shifted, pair_by="order")
    np.testing.assert_array_equal(dyad.events, epochs_a.events)  # A's bookkeeping
    np.testing.assert_array_equal(dyad.participant("B").get_data(), shifted.get_data())
    with pytest.raises(ValueError, match="pair_by"):
        make_dyad_epochs(epochs_a, shifted, pair_by="selection")
    with pytest.raises(ValueError, match="number of epochs"):  # still one to one
        make_dyad_epochs(epochs_a, shifted[:-1], pair_by="order")


HYPYP = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "hypyp_dyad"


@pytest.mark.skipif(not HYPYP.is_dir(), reason="../shared (HyPyP example dyad) is absent")
def test_hypyp_dyad_epochs():
    """The real dyad: event_id of 360 conditions, 33 epochs each, 25 time-matched."""
    a = mne.read_epochs(HYPYP / "preproc_S1-epo.fif", verbose=False)
    b = mne.read_epochs(HYPYP / "preproc_S2-epo.fif", verbose=False)
    assert len(a.event_id) == 360
    common = np.intersect1d(a.selection, b.selection)
    # by selection, dropping in place (event_id keeps all 360 conditions)
    a_c = a.copy().drop(~np.isin(a.selection, common), verbose=False)
    b_c = b.copy().drop(~np.isin(b.selection, common), verbose=False)
    dyad = make_dyad_epochs(a_c, b_c)
    assert len(dyad) == 25 and len(dyad.event_id) == 360
    np.testing.assert_array_equal(dyad.selection, common)
    np.testing.assert_array_equal(dyad.participant("B").get_data(), b_c.get_data())
    # by order, as HyPyP pairs them: 33 epochs, 8 of them not simultaneous
    by_order = make_dyad_epochs(a, b, pair_by="order")
    assert len(by_order) == 33
    np.testing.assert_array_equal(by_order.participant("B").get_data(), b.get_data())
