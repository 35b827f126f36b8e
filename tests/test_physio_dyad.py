"""Dyads with physiological and movement channels beside (or without) the EEG."""

import mne
import numpy as np
import pytest

import hyperinsync as hs
from hyperinsync import lagged_sync

TYPES = ["gsr", "ecg", "bio", "resp", "misc"]


def _person(seed, eeg=True, sfreq=100.0, n=6000):
    rng = np.random.default_rng(seed)
    names = (["Fz", "Cz", "Pz"] if eeg else []) + ["EDA", "ECG", "PPG", "RESP", "MEA"]
    types = (["eeg"] * 3 if eeg else []) + TYPES
    data = rng.standard_normal((len(names), n))
    data[-5] = 5e-6 + 1e-7 * np.cumsum(rng.standard_normal(n)) / 30  # skin conductance, S
    info = mne.create_info(names, sfreq, types)
    raw = mne.io.RawArray(
        data * np.where(np.array(types) == "eeg", 1e-5, 1.0)[:, None], info, verbose=False
    )
    if eeg:
        raw.set_montage(hs.read_montage("standard-32"), on_missing="ignore")
    return raw


def test_dyad_keeps_physio_channels(tmp_path):
    raw = hs.make_dyad_raw(_person(0), _person(1), roles=("therapist", "client"))
    assert raw.get_channel_types() == (["eeg"] * 3 + TYPES) * 2
    fname = tmp_path / "d_raw.fif"
    raw.save(fname)
    back = hs.read_dyad_fif(fname)
    assert back.ch_names == raw.ch_names
    assert back.get_channel_types() == raw.get_channel_types()
    np.testing.assert_allclose(
        back.get_data(picks=["client:EDA"]), raw.get_data(picks=["client:EDA"])
    )
    one = back.participant("client")
    assert one.get_channel_types() == ["eeg"] * 3 + TYPES
    epochs = raw.make_epochs(duration=2.0)
    assert epochs.get_channel_types() == raw.get_channel_types()


def test_physio_only_dyad_is_valid():
    raw = hs.make_dyad_raw(
        _person(0, eeg=False), _person(1, eeg=False), roles=("therapist", "client")
    )
    assert isinstance(raw, hs.DyadRaw) and raw.roles == ("therapist", "client")
    assert raw.info["dig"] is None  # no electrode positions: nothing invented
    hs.as_dyad(raw.copy())
    res = lagged_sync(raw, lag=1.0, window=10.0, null=None)
    assert res.modalities == ["EDA", "ECG", "PPG", "RESP", "MEA"]  # every physio type paired


def test_eeg_analyses_pick_only_eeg():
    """compute_sync on EEG + physio equals compute_sync on the EEG alone."""
    full = hs.make_dyad_raw(_person(0), _person(1))
    eeg = hs.make_dyad_raw(_person(0).pick("eeg"), _person(1).pick("eeg"))
    bands = {"alpha": (8.0, 13.0)}
    res_full = hs.compute_sync(full, bands=bands, measures="plv", rois=None)
    res_eeg = hs.compute_sync(eeg, bands=bands, measures="plv", rois=None)
    assert res_full.rows == res_eeg.rows and res_full.cols == res_eeg.cols
    assert [n.split(":")[1] for n in res_full.rows + res_full.cols] == ["Fz", "Cz", "Pz"] * 2
    np.testing.assert_array_equal(
        res_full.get_data("plv", "alpha"), res_eeg.get_data("plv", "alpha")
    )
    with pytest.raises(ValueError, match="no good data channels"):
        hs.compute_sync(
            hs.make_dyad_raw(_person(0, eeg=False), _person(1, eeg=False)),
            bands=bands,
            measures="plv",
            rois=None,
        )
