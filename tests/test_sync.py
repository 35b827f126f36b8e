"""The engine against peers (mne-connectivity, HyPyP), ground truth and real data."""

from pathlib import Path

import mne
import numpy as np
import pytest

from hyperinsync import Coupling, compute_sync, make_dyad_epochs, simulate_dyad
from hyperinsync.measures import MEASURES

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
BANDS = {"theta": (4.0, 8.0), "alpha": (8.0, 13.0)}


@pytest.fixture(scope="module")
def coupled():
    """A 2 x 32 channel dyad, frontal alpha coupled (strength 0.5), theta uncoupled."""
    raw, truth = simulate_dyad(
        duration=80.0,
        sfreq=250.0,
        couplings=[Coupling(band="alpha", roi_a="frontal", roi_b="frontal", strength=0.5)],
        seed=11,
        verbose=False,
    )
    return raw, truth


@pytest.fixture(scope="module")
def small_epochs():
    """Short noisy dyad epochs with partial coupling, for peer comparisons."""
    rng = np.random.default_rng(2)
    sf, n_ep, n_t = 200.0, 6, 600
    shared = rng.standard_normal((n_ep, 1, n_t))
    a = rng.standard_normal((n_ep, 3, n_t)) + shared
    b = rng.standard_normal((n_ep, 2, n_t)) + 0.7 * shared
    info_a = mne.create_info(["Fz", "Cz", "Pz"], sf, "eeg")
    info_b = mne.create_info(["Fz", "Cz"], sf, "eeg")
    ea = mne.EpochsArray(a * 1e-5, info_a, tmin=-1.0, verbose=False)
    eb = mne.EpochsArray(b * 1e-5, info_b, tmin=-1.0, verbose=False)
    return make_dyad_epochs(ea, eb, roles=("therapist", "client"), verbose=False)


def test_across_morlet_equals_mne_connectivity(small_epochs):
    """Across-epochs Morlet PLV/coh equal spectral_connectivity_epochs(cwt_morlet, faverage)
    on the linearly detrended epochs (compute_sync removes each epoch's line itself)."""
    from mne_connectivity import spectral_connectivity_epochs
    from scipy.signal import detrend

    ep = small_epochs
    with pytest.warns(RuntimeWarning, match="only 6 epochs"):
        res = compute_sync(
            ep, BANDS, ["plv", "coh", "imcoh", "wpli"], method="morlet", convention="across",
            decim=1, precision="double", verbose=False,
        )
    seeds = np.repeat([0, 1, 2], 2)
    targets = np.tile([3, 4], 3)
    cons = spectral_connectivity_epochs(
        detrend(ep.get_data(), axis=-1), method=["plv", "coh", "imcoh", "wpli"], indices=(seeds, targets),
        sfreq=ep.info["sfreq"], mode="cwt_morlet", cwt_freqs=np.arange(4.0, 14.0),
        cwt_n_cycles=7.0, fmin=(4.0, 8.0), fmax=(8.0, 13.0), faverage=True, verbose=False,
    )
    for mi, con in enumerate(cons):
        ref = con.get_data()  # (n_cons, n_bands, n_times)
        ours = res.time_data[mi].reshape(2, len(ep.times), 6).transpose(2, 0, 1)
        np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-12, err_msg=con.method)
    # and the container conversion carries the same numbers
    back = res.to_connectivity("plv", kind="times").get_data()
    np.testing.assert_allclose(back, cons[0].get_data(), rtol=1e-6, atol=1e-12)


def test_within_mne_fir_equals_hypyp_recipe(small_epochs):
    """Within-epoch, MNE FIR + Hilbert: HyPyP's definitions, computed independently here."""
    from scipy.signal import hilbert

    ep = small_epochs
    res = compute_sync(
        ep, BANDS, list(MEASURES), method="mne_fir", convention="within", decim=1,
        precision="double", verbose=False,
    )
    data = ep.get_data()
    sf = ep.info["sfreq"]
    for bi, (lo, hi) in enumerate(BANDS.values()):
        z = hilbert(mne.filter.filter_data(data, sf, lo, hi, verbose=False))
        za, zb = z[:, :3], z[:, 3:]
        ua, ub = za / np.abs(za), zb / np.abs(zb)
        plv = np.abs(np.einsum("eit,ejt->eij", ua, ub.conj())) / z.shape[-1]
        sab = np.einsum("eit,ejt->eij", za, zb.conj())
        den = np.sqrt(np.sum(np.abs(za) ** 2, -1)[:, :, None] * np.sum(np.abs(zb) ** 2, -1)[:, None, :])
        np.testing.assert_allclose(res.get_data("plv", list(BANDS)[bi], kind="epochs"), plv, rtol=1e-10)
        np.testing.assert_allclose(res.get_data("coh", list(BANDS)[bi]), (np.abs(sab) / den).mean(0), rtol=1e-10)
        np.testing.assert_allclose(res.get_data("imcoh", list(BANDS)[bi]), (np.abs(sab.imag) / den).mean(0), rtol=1e-10)


def test_within_equals_hypyp_package(small_epochs):
    """Same input through HyPyP itself (when installed): identical numbers."""
    analyses = pytest.importorskip("hypyp.analyses")
    ep = small_epochs
    data = ep.get_data()
    # HyPyP wants equal channel counts per participant: compare on 2 x 2 channels
    pair = [data[:, :2], data[:, 3:]]
    sub = ep.copy().pick(["therapist:Fz", "therapist:Cz", "client:Fz", "client:Cz"])
    res = compute_sync(
        sub, BANDS, ["plv", "coh", "imcoh", "ccorr", "envcorr", "wpli"], method="mne_fir",
        decim=1, precision="double", verbose=False,
    )
    cs = analyses.compute_freq_bands(pair, ep.info["sfreq"], {k: list(v) for k, v in BANDS.items()})
    modes = {"plv": "plv", "coh": "coh", "imcoh": "imaginary_coh", "ccorr": "ccorr", "envcorr": "envelope_corr", "wpli": "wpli"}
    for ours, theirs in modes.items():
        ref = analyses.compute_sync(cs, theirs, epochs_average=True)  # (bands, 4, 4)
        for bi, band in enumerate(BANDS):
            np.testing.assert_allclose(
                res.get_data(ours, band), ref[bi][:2, 2:], rtol=1e-9, atol=1e-12, err_msg=ours
            )


def test_ground_truth_recovered(coupled):
    raw, truth = coupled
    res = compute_sync(raw, BANDS, ["plv", "coh"], rois="default", verbose=False)
    rnames, cnames = res.roi_names
    fi = rnames.index("frontal")
    for measure in ("plv", "coh"):
        alpha = res.get_data(measure, "alpha", level="roi")
        theta = res.get_data(measure, "theta", level="roi")
        others = np.delete(alpha.ravel(), fi * len(cnames) + fi)
        assert alpha[fi, fi] > others.max() + 0.08, measure
        # no coupling in theta: frontal-frontal is like any other pair
        assert abs(theta[fi, fi] - np.median(theta)) < 0.03, measure
    # channel level: every planted pair beats every unplanted pair in alpha
    plv = res.get_data("plv", "alpha")
    planted = np.zeros_like(plv, bool)
    for ch_a, ch_b, band in truth.coupled_pairs:
        planted[res.rows.index(ch_a), res.cols.index(ch_b)] = True
    assert plv[planted].min() > plv[~planted].max()


def test_raw_and_epochs_paths_agree(coupled):
    """Continuous filtering then cutting equals per-epoch filtering away from epoch edges."""
    raw, _ = coupled
    r_raw = compute_sync(raw, BANDS, "coh", method="morlet", convention="within", decim=1,
                         epoch_duration=4.0, verbose=False)
    ep = raw.make_epochs(4.0, verbose=False)
    r_ep = compute_sync(ep, BANDS, "coh", method="morlet", decim=1, verbose=False)
    np.testing.assert_allclose(r_raw.epoch_onsets, r_ep.epoch_onsets - raw.first_time)
    # edges differ (continuous data vs zero padding), the pattern does not
    a, b = r_raw.get_data("coh", "alpha"), r_ep.get_data("coh", "alpha")
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.95


def test_roi_aggregation_and_tables(coupled):
    raw, _ = coupled
    res = compute_sync(raw, {"alpha": (8, 13)}, "plv", rois={"fr": ["Fz", "F3", "F4"], "oc": ["O1", "O2"]}, verbose=False)
    mat = res.get_data()
    rows = [res.rows.index(f"A:{c}") for c in ["Fz", "F3", "F4"]]
    cols = [res.cols.index(f"B:{c}") for c in ["O1", "O2"]]
    assert res.get_data(level="roi")[0, 1] == pytest.approx(mat[np.ix_(rows, cols)].mean())
    per_epoch = res.get_data(level="roi", kind="epochs")
    assert per_epoch.shape == (res.n_epochs, 2, 2)
    np.testing.assert_allclose(per_epoch.mean(0), res.get_data(level="roi"))
    table = res.to_table(level="roi")
    assert len(table) == 4
    assert set(table["row"]) == {"fr", "oc"}
    t_ep = res.to_table(level="channel", kind="epochs")
    assert len(t_ep) == res.n_epochs * len(res.rows) * len(res.cols)


def test_pairs_all_contains_inter_block(coupled):
    raw, _ = coupled
    crop = raw.copy().crop(0, 20)
    inter = compute_sync(crop, {"alpha": (8, 13)}, "plv", verbose=False)
    full = compute_sync(crop, {"alpha": (8, 13)}, "plv", pairs="all", rois="default", verbose=False)
    n_a = len(inter.rows)
    np.testing.assert_allclose(full.get_data()[:n_a, n_a:], inter.get_data(), rtol=1e-6)
    assert "A:frontal" in full.roi_names[0] and "B:frontal" in full.roi_names[1]
    # intra-brain diagonal: a channel with itself is perfectly locked
    np.testing.assert_allclose(np.diag(full.get_data()), 1.0, atol=1e-5)


def test_bad_epochs_rejected_for_both(coupled):
    raw, _ = coupled
    crop = raw.copy().crop(0, 20)
    crop.set_annotations(mne.Annotations([3.0], [1.0], ["BAD_movement"], orig_time=crop.annotations.orig_time))
    res = compute_sync(crop, {"alpha": (8, 13)}, "plv", verbose=False)
    assert res.n_epochs == 9  # epoch 2-4 s overlaps the bad span
    assert 2.0 not in res.epoch_onsets


def test_connectivity_containers_save(coupled, tmp_path):
    raw, _ = coupled
    res = compute_sync(raw.copy().crop(0, 20), BANDS, ["plv", "coh"], verbose=False)
    con = res.to_connectivity("coh")
    assert con.get_data().shape == (len(res.rows) * len(res.cols), 2)
    np.testing.assert_allclose(con.get_data()[:, 1], res.get_data("coh", "alpha").ravel())
    con.save(tmp_path / "con.nc")  # needs h5netcdf, installed with hyperinsync
    from mne_connectivity import read_connectivity

    back = read_connectivity(tmp_path / "con.nc")
    np.testing.assert_allclose(back.get_data(), con.get_data())
    ep_con = res.to_connectivity("plv", kind="epochs")
    assert ep_con.get_data().shape[0] == res.n_epochs
    assert SyncResultRoundTrip(res)


def SyncResultRoundTrip(res):
    from hyperinsync.sync import SyncResult

    return SyncResult.from_dict(res.to_dict()) == res


def test_single_and_double_precision_agree(coupled):
    raw, _ = coupled
    crop = raw.copy().crop(0, 20)
    a = compute_sync(crop, BANDS, ["plv", "coh"], precision="single", verbose=False)
    b = compute_sync(crop, BANDS, ["plv", "coh"], precision="double", verbose=False)
    np.testing.assert_allclose(a.data, b.data, atol=1e-5)


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared is absent")
def test_real_dyad_in_documented_range():
    """The HyPyP test dyad: PLV at chance-like levels (about 0.3 for 1 s epochs)."""
    import warnings

    d = SHARED / "data" / "hypyp_dyad"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = mne.read_epochs(d / "preproc_S1-epo.fif", verbose=False)
        b = mne.read_epochs(d / "preproc_S2-epo.fif", verbose=False)
        common = np.intersect1d(a.selection, b.selection)
        assert len(common) == 25
        a = a[np.isin(a.selection, common)]
        b = b[np.isin(b.selection, common)]
        dyad = make_dyad_epochs(a, b, verbose=False)
        roi = {"fc": ["Fp1", "Fp2", "F7", "F8", "F3", "F4", "Fz", "C3", "C4", "Cz"]}
        res = compute_sync(dyad, BANDS, ["plv", "coh"], method="fft", rois=roi, verbose=False)
    for band in BANDS:
        plv = res.get_data("plv", band, level="roi")[0, 0]
        assert 0.2 < plv < 0.4, (band, plv)
        assert np.all(np.isfinite(res.get_data("coh", band)))


@pytest.mark.parametrize(
    "kwargs, err, match",
    [
        (dict(measures="pearson"), ValueError, "measure"),
        (dict(measures=[]), ValueError, "at least one"),
        (dict(convention="trial"), ValueError, "convention"),
        (dict(bands={"x": (8, 200)}), ValueError, "Nyquist"),
        (dict(epoch_duration=1.0, overlap=1.0), ValueError, "overlap"),
        (dict(epoch_duration=1000.0), ValueError, "shorter than one epoch"),
        (dict(decim=3, epoch_duration=1.0), ValueError, "must divide"),
        (dict(picks=["A:Nope"]), ValueError, "not in the data"),
        (dict(pairs="intra"), ValueError, "pairs"),
        (dict(rois={"x": ["Nope"]}), ValueError, "Nope|nothing|no"),
    ],
)
def test_errors(coupled, kwargs, err, match):
    raw, _ = coupled
    crop = raw.copy().crop(0, 10)
    with pytest.raises(err, match=match):
        compute_sync(crop, **kwargs, verbose=False)


def test_input_errors():
    info = mne.create_info(["Fz", "Cz"], 100.0, "eeg")
    plain = mne.io.RawArray(np.zeros((2, 1000)), info, verbose=False)
    with pytest.raises(ValueError, match="role"):
        compute_sync(plain, verbose=False)
    with pytest.raises(TypeError, match="inst"):
        compute_sync(np.zeros((2, 100)), verbose=False)
    info = mne.create_info(["A:Fz", "B:Fz"], 100.0, "eeg")
    data = np.random.default_rng(0).standard_normal((2, 1000))
    data[1, 10] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        compute_sync(mne.io.RawArray(data, info, verbose=False), verbose=False)
    one_bad = mne.io.RawArray(np.ones((2, 1000)), info, verbose=False)
    one_bad.info["bads"] = ["B:Fz"]
    with pytest.raises(ValueError, match="no good data channels"):
        compute_sync(one_bad, verbose=False)


# --- offsets, trends and degenerate input (issue 11, items 8-11) -------------------------
ALL_MEASURES = ["plv", "coh", "imcoh", "wpli", "ccorr", "envcorr"]


@pytest.fixture(scope="module")
def small_dyad():
    """3 + 3 channels, 24 s: frontal alpha coupled with a phase lag (wPLI well defined)."""
    raw, _ = simulate_dyad(
        duration=24.0, sfreq=250.0, seed=5, verbose=False,
        couplings=[Coupling(band="alpha", roi_a="frontal", roi_b="frontal", strength=0.6,
                            phase=0.7)],
    )
    return raw.pick(["A:Fz", "A:F3", "A:Cz", "B:Fz", "B:F4", "B:Pz"])


def _with_dc(raw, seed=0):
    """Per-channel offsets up to 200 mV and linear drifts (as raw DC-coupled amplifier data)."""
    rng = np.random.default_rng(seed)
    out = raw.copy()
    n_ch = len(out.ch_names)
    offset = rng.uniform(-0.2, 0.2, (n_ch, 1))
    offset[0] = 0.2  # the worst case of the issue
    drift = rng.uniform(-2e-3, 2e-3, (n_ch, 1))  # V/s: up to 48 mV over the recording
    out._data = out._data + offset + drift * out.times
    return out


@pytest.mark.parametrize("method", ["fft", "mne_fir", "morlet"])
@pytest.mark.parametrize("kind", ["raw", "epochs"])
def test_offsets_and_trends_change_nothing(small_dyad, method, kind):
    """Every measure, both conventions: offsets up to 200 mV and linear drifts change no
    value by more than 1e-6 (double precision). Before the fix the 'fft' first-epoch PLV
    went 0.89 -> 0.71 with a 200 mV offset."""
    clean, dc = small_dyad, _with_dc(small_dyad)
    if kind == "epochs":
        # per-epoch offsets and drifts (each epoch has its own line)
        clean = mne.make_fixed_length_epochs(clean, 3.0, preload=True, verbose=False)
        dc = mne.make_fixed_length_epochs(dc, 3.0, preload=True, verbose=False)
    before = dc.get_data().copy()
    for convention in ("within", "across"):
        kw = dict(measures=ALL_MEASURES, method=method, convention=convention,
                  precision="double", verbose=False)
        a = compute_sync(clean, **kw)
        b = compute_sync(dc, **kw)
        assert a.data.shape == (6, 2, 3, 3)
        for mi, m in enumerate(ALL_MEASURES):
            np.testing.assert_allclose(b.data[mi], a.data[mi], rtol=0, atol=1e-6,
                                       err_msg=f"{method} {convention} {m}")
        detail = b.epoch_data if convention == "within" else b.time_data
        ref = a.epoch_data if convention == "within" else a.time_data
        np.testing.assert_allclose(detail, ref, rtol=0, atol=1e-6)
        assert b.params["detrend"] == "linear"
    # the user's data are never modified
    np.testing.assert_array_equal(dc.get_data(), before)


def test_offsets_single_precision(small_dyad):
    """The line is removed in double precision before the float32 cast: default precision
    is invariant too (a 200 mV offset in float32 would keep 1e-3 of the EEG)."""
    a = compute_sync(small_dyad, measures=ALL_MEASURES, verbose=False)
    b = compute_sync(_with_dc(small_dyad), measures=ALL_MEASURES, verbose=False)
    np.testing.assert_allclose(b.data, a.data, rtol=0, atol=1e-5)


def test_detrend_linear_against_scipy():
    from scipy.signal import detrend

    from hyperinsync.spectral import detrend_linear

    x = np.random.default_rng(3).standard_normal((2, 3, 500)) * 1e-5 + 0.2
    x += np.linspace(0, 0.01, 500)
    np.testing.assert_allclose(detrend_linear(x), detrend(x, axis=-1), rtol=0, atol=1e-15)
    # an exact line becomes exactly 0 (not rounding noise with a random phase)
    line = 0.2 + 3e-3 * np.arange(400.0)
    assert not np.any(detrend_linear(np.stack([line, np.full(400, -0.15)])))
    x32 = x.astype(np.float32)
    assert detrend_linear(x32).dtype == np.float64 and x32.dtype == np.float32
