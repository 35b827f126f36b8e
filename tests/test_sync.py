"""The engine against peers (mne-connectivity, HyPyP), ground truth and real data."""

from pathlib import Path

import mne
import numpy as np
import pytest

from hyperinsync import Coupling, compute_sync, make_dyad_epochs, simulate_dyad
from hyperinsync.sync.measures import MEASURES

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
BANDS = {"theta": (4.0, 8.0), "alpha": (8.0, 13.0)}


@pytest.fixture(scope="module")
def coupled(coupled_dyad):
    """A 2 x 32 channel dyad, frontal alpha coupled (strength 0.5), theta uncoupled."""
    return coupled_dyad(duration=80.0, sfreq=250.0, seed=11)


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


def _cwt_morlet_across(ep, measures, seeds, targets):
    """mne-connectivity's spectral_connectivity_epochs (cwt_morlet, 7 cycles, 4-13 Hz,
    theta and alpha averaged) for every seed x target, on the linearly detrended epochs.
    """
    from mne_connectivity import spectral_connectivity_epochs
    from scipy.signal import detrend

    return spectral_connectivity_epochs(
        detrend(ep.get_data(), axis=-1),
        method=measures,
        indices=(np.repeat(seeds, len(targets)), np.tile(targets, len(seeds))),
        sfreq=ep.info["sfreq"],
        mode="cwt_morlet",
        cwt_freqs=np.arange(4.0, 14.0),
        cwt_n_cycles=7.0,
        fmin=(4.0, 8.0),
        fmax=(8.0, 13.0),
        faverage=True,
        verbose=False,
    )


def test_across_morlet_equals_mne_connectivity(small_epochs):
    """Across-epochs Morlet PLV/coh equal spectral_connectivity_epochs(cwt_morlet, faverage)
    on the linearly detrended epochs (compute_sync removes each epoch's line itself).
    """
    ep = small_epochs
    with pytest.warns(RuntimeWarning, match="only 6 epochs"):
        res = compute_sync(
            ep,
            BANDS,
            ["plv", "coh", "imcoh", "wpli"],
            method="morlet",
            convention="across",
            decim=1,
            precision="double",
            verbose=False,
        )
    cons = _cwt_morlet_across(ep, ["plv", "coh", "imcoh", "wpli"], [0, 1, 2], [3, 4])
    for mi, con in enumerate(cons):
        ref = con.get_data()  # (n_cons, n_bands, n_times)
        ours = res.time_data[mi].reshape(2, len(ep.times), 6).transpose(2, 0, 1)
        np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-12, err_msg=con.method)
    # and the container conversion carries the same numbers
    back = res.to_connectivity("plv", kind="times").get_data()
    np.testing.assert_allclose(back, cons[0].get_data(), rtol=1e-6, atol=1e-12)


def _streamed_and_whole(monkeypatch, inst, measures, **kw):
    """compute_sync across epochs streamed over chunks of epochs, and on every epoch's band
    signals at once (the path of the other measures); the chunks' sizes are recorded.
    """
    from hyperinsync.sync import engine
    from hyperinsync.sync.signals import DyadSignals

    sizes = []
    make = DyadSignals.epoch_band_signals

    def spy(self, data, **k):
        sizes.append(len(data))
        return make(self, data, **k)

    monkeypatch.setattr(DyadSignals, "epoch_band_signals", spy)
    streamed = compute_sync(inst, BANDS, measures, convention="across", verbose=False, **kw)
    chunks = list(sizes)
    monkeypatch.setattr(engine, "_STREAM_ACROSS", False)
    whole = compute_sync(inst, BANDS, measures, convention="across", verbose=False, **kw)
    monkeypatch.setattr(engine, "_STREAM_ACROSS", True)
    return streamed, whole, chunks


@pytest.mark.filterwarnings("ignore:convention='across' over only")
@pytest.mark.parametrize("pairs", ["inter", "all"])
def test_across_streamed_equals_whole_and_mne_connectivity(monkeypatch, pairs):
    """Across epochs, PLV, coh and imcoh of Epochs stream over chunks of epochs (band
    signals per chunk, sums over epochs accumulated, values from the sums at the end): equal
    to the whole-array path and to mne-connectivity's spectral_connectivity_epochs
    (cwt_morlet), in chunks of 4 + 3 epochs (the last one shorter), with a channel flat in
    every epoch left out as before and imcoh signed.
    """
    from hyperinsync.sync import across

    rng = np.random.default_rng(5)
    sf, n_ep, n_t = 200.0, 7, 600
    shared = rng.standard_normal((n_ep, 1, n_t))
    lag = np.roll(shared, 3, axis=-1)  # b lags a: imcoh of a consistent sign
    a = rng.standard_normal((n_ep, 4, n_t)) + shared
    a[:, 3] = 0.5  # flat (constant) in every epoch
    b = rng.standard_normal((n_ep, 2, n_t)) + 0.8 * lag
    ea = mne.EpochsArray(a * 1e-5, mne.create_info(["Fz", "Cz", "Pz", "Oz"], sf, "eeg"))
    eb = mne.EpochsArray(b * 1e-5, mne.create_info(["Fz", "Cz"], sf, "eeg"))
    ep = make_dyad_epochs(ea, eb, roles=("therapist", "client"), verbose=False)
    monkeypatch.setattr(across, "_CPU_EPOCHS", 4)
    measures = ["plv", "coh", "imcoh"]
    kw = dict(method="morlet", decim=1, pairs=pairs, rois=None)
    with pytest.warns(RuntimeWarning, match=r"\['therapist:Oz'\] are flat"):
        res, whole, chunks = _streamed_and_whole(
            monkeypatch, ep, measures, precision="double", **kw
        )
    assert chunks == [4, 3]
    assert res.params["flat_channels"] == whole.params["flat_channels"] == ["therapist:Oz"]
    assert res.rows == whole.rows and res.cols == whole.cols and "therapist:Oz" not in res.rows
    np.testing.assert_array_equal(res.times, whole.times)
    np.testing.assert_allclose(res.time_data, whole.time_data, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(res.data, whole.data, rtol=1e-12, atol=1e-14)

    cons = _cwt_morlet_across(ep, measures, [0, 1, 2], [4, 5])
    ours = res.time_data if pairs == "inter" else res.time_data[..., :3, 3:]
    for mi, con in enumerate(cons):
        ref = con.get_data()  # (n_cons, n_bands, n_times)
        got = ours[mi].reshape(2, n_t, 6).transpose(2, 0, 1)
        np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-12, err_msg=con.method)
    imcoh = ours[2]
    assert imcoh.min() < -0.1 and imcoh.max() > 0.1  # signed, not |imcoh|

    # single precision: the sums of complex64 products in double precision, to rounding
    with pytest.warns(RuntimeWarning, match="are flat"):
        res32, whole32, chunks = _streamed_and_whole(monkeypatch, ep, measures, **kw)
    assert chunks == [4, 3]
    np.testing.assert_allclose(res32.time_data, whole32.time_data, rtol=0, atol=1e-6)


@pytest.mark.filterwarnings("ignore:convention='across' over only")
def test_across_streamed_mne_fir_and_checks(monkeypatch, small_epochs):
    """Streamed across epochs with 'mne_fir' leaves out the same epoch edges; channels flat
    in only some epochs and NaN are refused by name, as on the whole-array path.
    """
    from hyperinsync.sync import across

    monkeypatch.setattr(across, "_CPU_EPOCHS", 4)
    res, whole, chunks = _streamed_and_whole(
        monkeypatch, small_epochs, ["plv", "coh"], method="mne_fir", precision="double"
    )
    assert chunks == [4, 2]
    np.testing.assert_array_equal(res.times, small_epochs.times[1:-1])
    np.testing.assert_array_equal(res.times, whole.times)
    np.testing.assert_allclose(res.time_data, whole.time_data, rtol=1e-12, atol=1e-14)
    data = small_epochs.get_data()
    data[2:4, 1] = 1e-3  # 'therapist:Cz' flat in 2 of 6 epochs
    bad = mne.EpochsArray(data, small_epochs.info, verbose=False)
    with pytest.raises(ValueError, match="'therapist:Cz' is flat"):
        compute_sync(bad, measures="plv", convention="across", verbose=False)
    data[2:4, 1] = small_epochs.get_data()[2:4, 1]
    data[5, 4, 10] = np.nan
    bad = mne.EpochsArray(data, small_epochs.info, verbose=False)
    with pytest.raises(ValueError, match="'client:Cz' contains NaN or infinite values in epoch 5"):
        compute_sync(bad, measures="plv", convention="across", verbose=False)


def test_within_mne_fir_equals_hypyp_recipe(small_epochs):
    """Within-epoch, MNE FIR + Hilbert: HyPyP's definitions, computed independently here."""
    from scipy.signal import hilbert

    ep = small_epochs
    res = compute_sync(
        ep,
        BANDS,
        list(MEASURES),
        method="mne_fir",
        convention="within",
        decim=1,
        precision="double",
        verbose=False,
    )
    data = ep.get_data()
    sf = ep.info["sfreq"]
    for bi, (lo, hi) in enumerate(BANDS.values()):
        z = hilbert(mne.filter.filter_data(data, sf, lo, hi, verbose=False))
        za, zb = z[:, :3], z[:, 3:]
        ua, ub = za / np.abs(za), zb / np.abs(zb)
        plv = np.abs(np.einsum("eit,ejt->eij", ua, ub.conj())) / z.shape[-1]
        sab = np.einsum("eit,ejt->eij", za, zb.conj())
        pa, pb = np.sum(np.abs(za) ** 2, -1), np.sum(np.abs(zb) ** 2, -1)
        den = np.sqrt(pa[:, :, None] * pb[:, None, :])
        band = list(BANDS)[bi]
        np.testing.assert_allclose(res.get_data("plv", band, kind="epochs"), plv, rtol=1e-10)
        np.testing.assert_allclose(
            res.get_data("coh", band), (np.abs(sab) / den).mean(0), rtol=1e-10
        )
        np.testing.assert_allclose(
            res.get_data("imcoh", band), (np.abs(sab.imag) / den).mean(0), rtol=1e-10
        )


def test_within_equals_hypyp_package(small_epochs):
    """Same input through HyPyP itself (when installed): identical numbers."""
    analyses = pytest.importorskip("hypyp.analyses")
    ep = small_epochs
    data = ep.get_data()
    # HyPyP wants equal channel counts per participant: compare on 2 x 2 channels
    pair = [data[:, :2], data[:, 3:]]
    sub = ep.copy().pick(["therapist:Fz", "therapist:Cz", "client:Fz", "client:Cz"])
    res = compute_sync(
        sub,
        BANDS,
        ["plv", "coh", "imcoh", "ccorr", "envcorr", "wpli"],
        method="mne_fir",
        decim=1,
        precision="double",
        verbose=False,
    )
    cs = analyses.compute_freq_bands(pair, ep.info["sfreq"], {k: list(v) for k, v in BANDS.items()})
    modes = {
        "plv": "plv",
        "coh": "coh",
        "imcoh": "imaginary_coh",
        "ccorr": "ccorr",
        "envcorr": "envelope_corr",
        "wpli": "wpli",
    }
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
    r_raw = compute_sync(
        raw,
        BANDS,
        "coh",
        method="morlet",
        convention="within",
        decim=1,
        epoch_duration=4.0,
        verbose=False,
    )
    ep = raw.make_epochs(4.0, verbose=False)
    r_ep = compute_sync(ep, BANDS, "coh", method="morlet", decim=1, verbose=False)
    np.testing.assert_allclose(r_raw.epoch_onsets, r_ep.epoch_onsets - raw.first_time)
    # edges differ (continuous data vs zero padding), the pattern does not
    a, b = r_raw.get_data("coh", "alpha"), r_ep.get_data("coh", "alpha")
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.95


def test_roi_aggregation_and_tables(coupled):
    raw, _ = coupled
    res = compute_sync(
        raw,
        {"alpha": (8, 13)},
        "plv",
        rois={"fr": ["Fz", "F3", "F4"], "oc": ["O1", "O2"]},
        verbose=False,
    )
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
    crop.set_annotations(
        mne.Annotations([3.0], [1.0], ["BAD_movement"], orig_time=crop.annotations.orig_time)
    )
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
        duration=24.0,
        sfreq=250.0,
        seed=5,
        verbose=False,
        couplings=[
            Coupling(band="alpha", roi_a="frontal", roi_b="frontal", strength=0.6, phase=0.7)
        ],
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
    went 0.89 -> 0.71 with a 200 mV offset.
    """
    clean, dc = small_dyad, _with_dc(small_dyad)
    if kind == "epochs":
        # per-epoch offsets and drifts (each epoch has its own line)
        clean = mne.make_fixed_length_epochs(clean, 3.0, preload=True, verbose=False)
        dc = mne.make_fixed_length_epochs(dc, 3.0, preload=True, verbose=False)
    before = dc.get_data().copy()
    for convention in ("within", "across"):
        kw = dict(
            measures=ALL_MEASURES,
            method=method,
            convention=convention,
            precision="double",
            verbose=False,
        )
        a = compute_sync(clean, **kw)
        b = compute_sync(dc, **kw)
        assert a.data.shape == (6, 2, 3, 3)
        for mi, m in enumerate(ALL_MEASURES):
            np.testing.assert_allclose(
                b.data[mi], a.data[mi], rtol=0, atol=1e-6, err_msg=f"{method} {convention} {m}"
            )
        detail = b.epoch_data if convention == "within" else b.time_data
        ref = a.epoch_data if convention == "within" else a.time_data
        np.testing.assert_allclose(detail, ref, rtol=0, atol=1e-6)
        assert b.params["detrend"] == "linear"
    # the user's data are never modified
    np.testing.assert_array_equal(dc.get_data(), before)


def test_offsets_single_precision(small_dyad):
    """The line is removed in double precision before the float32 cast: default precision
    is invariant too (a 200 mV offset in float32 would keep 1e-3 of the EEG).
    """
    a = compute_sync(small_dyad, measures=ALL_MEASURES, verbose=False)
    b = compute_sync(_with_dc(small_dyad), measures=ALL_MEASURES, verbose=False)
    np.testing.assert_allclose(b.data, a.data, rtol=0, atol=1e-5)


def test_detrend_linear_against_scipy():
    from scipy.signal import detrend

    from hyperinsync.sync.spectral import detrend_linear

    x = np.random.default_rng(3).standard_normal((2, 3, 500)) * 1e-5 + 0.2
    x += np.linspace(0, 0.01, 500)
    np.testing.assert_allclose(detrend_linear(x), detrend(x, axis=-1), rtol=0, atol=1e-15)
    # an exact line becomes exactly 0 (not rounding noise with a random phase)
    line = 0.2 + 3e-3 * np.arange(400.0)
    assert not np.any(detrend_linear(np.stack([line, np.full(400, -0.15)])))
    x32 = x.astype(np.float32)
    assert detrend_linear(x32).dtype == np.float64 and x32.dtype == np.float32
    # single-precision output, line removed in double: the EEG keeps float32 precision
    ref = detrend(x, axis=-1)
    y32 = detrend_linear(x, dtype=np.float32)
    assert y32.dtype == np.float32
    assert np.abs(y32 - ref).max() < 1e-6 * np.abs(ref).max()
    naive = detrend(x32, axis=-1)  # cast first: a 0.2 offset rounds the 1e-5 signal
    assert np.abs(naive - ref).max() > 1e-3 * np.abs(ref).max()
    # in place on float64 (compute_sync's private copies), the same numbers
    y = x.copy()
    assert detrend_linear(y, copy=False) is y
    np.testing.assert_allclose(y, ref, rtol=0, atol=1e-15)
    # rows longer than a block of columns (the line is removed block by block), a line
    # among them, in place too
    rng = np.random.default_rng(4)
    long = rng.standard_normal((3, 300_007)) * 1e-5 + 0.3 + np.linspace(0, 0.02, 300_007)
    long[1] = 0.1 - 2e-7 * np.arange(300_007.0)
    ref = detrend(long, axis=-1)
    ref[1] = 0.0
    np.testing.assert_allclose(detrend_linear(long), ref, rtol=0, atol=1e-15)
    assert not np.any(detrend_linear(long)[1])
    y = long.copy()
    assert detrend_linear(y, copy=False) is y
    np.testing.assert_allclose(y, ref, rtol=0, atol=1e-15)
    # a line but for one sample in its last block of columns is not a line (the search for
    # lines stops early only for rows already ruled out)
    nearly = np.stack([long[1], long[1]])
    nearly[1, -3] += 1e-9
    out = detrend_linear(nearly)
    assert not np.any(out[0])
    np.testing.assert_allclose(out[1], detrend(nearly[1]), rtol=0, atol=1e-15)
    assert np.any(out[1])


def test_check_finite_sums_and_samples():
    from hyperinsync.sync.checks import check_finite

    x = np.random.default_rng(5).standard_normal((3, 1000))
    assert check_finite(x, ["a", "b", "c"]) is x
    # finite samples whose sum overflows are finite all the same
    huge = np.full((2, 10), 1e308)
    assert check_finite(huge, ["a", "b"]) is huge
    for bad in (np.nan, np.inf, -np.inf):
        y = huge.copy()
        y[1, 7] = bad
        with pytest.raises(
            ValueError, match="Channel 'b' contains NaN or infinite values at sample 7"
        ):
            check_finite(y, ["a", "b"])


def _epochs(raw, duration):
    return mne.make_fixed_length_epochs(raw, duration, preload=True, verbose=False)


def test_no_epochs_refused(small_dyad):
    ep = _epochs(small_dyad, 3.0)
    ep.drop(np.arange(len(ep)), verbose=False)
    with pytest.raises(ValueError, match="no epochs|No epochs"):
        compute_sync(ep, verbose=False)
    crop = small_dyad.copy()
    crop.set_annotations(mne.Annotations([0.0], [24.0], ["BAD_all"]))
    with pytest.raises(ValueError, match="Every epoch overlaps a BAD"):
        compute_sync(crop, verbose=False)


@pytest.mark.parametrize("duration", [2 / 250.0, 0.2, 0.4])
def test_too_short_epochs_refused(small_dyad, duration):
    """Under 2 cycles of theta's 4 Hz (0.5 s) PLV tends to 1 for any data: refused, naming
    the minimum (before: 2-sample epochs gave PLV = 1 everywhere).
    """
    with pytest.raises(ValueError, match=r"at least 2 cycles \(0\.5 s"):
        compute_sync(small_dyad, epoch_duration=duration, verbose=False)
    with pytest.raises(ValueError, match="cycle"):
        compute_sync(_epochs(small_dyad, duration), verbose=False)
    # a band with a higher floor is fine at 0.4 s (4.8 cycles of 12 Hz)
    if duration == 0.4:
        compute_sync(small_dyad, {"beta": (12.0, 20.0)}, epoch_duration=duration, verbose=False)


def test_short_epochs_warn_with_chance_level(small_dyad):
    """2-4 cycles: valid but inflated, said in a warning; the value is measurably inflated
    against 4-s epochs of the same uncoupled theta data (closed-form-ish chance levels).
    """
    with pytest.warns(RuntimeWarning, match="inflated"):
        short = compute_sync(
            small_dyad,
            {"theta": (4.0, 8.0)},
            epoch_duration=0.75,
            precision="double",
            verbose=False,
        )
    long = compute_sync(
        small_dyad, {"theta": (4.0, 8.0)}, epoch_duration=4.0, precision="double", verbose=False
    )
    assert short.data.mean() > long.data.mean() + 0.1


def test_across_needs_epochs(small_dyad):
    """One epoch across epochs is PLV = 1 by construction: refused; few epochs: warned."""
    ep = _epochs(small_dyad, 3.0)
    with pytest.raises(ValueError, match="at least 2"):
        compute_sync(ep[:1], convention="across", verbose=False)
    with pytest.warns(RuntimeWarning, match="only 4 epochs"):
        res = compute_sync(ep[:4], convention="across", verbose=False)
    assert np.all(res.data < 1.0)
    with pytest.raises(ValueError, match="at least 2"):
        compute_sync(small_dyad.copy().crop(0, 3.9), convention="across", verbose=False)


def test_flat_channel_excluded_from_rois(small_dyad):
    """A flat channel is left out with a warning naming it, and its ROI average is that of
    the remaining channels (before: PLV 0 silently pulled the ROI down).
    """
    raw = small_dyad.copy()
    raw._data[raw.ch_names.index("B:F4")] = 3e-3  # disconnected: constant at its offset
    rois = {"front": ["Fz", "F3", "F4"], "back": ["Cz", "Pz"]}
    with pytest.warns(RuntimeWarning, match=r"\['B:F4'\] are flat"):
        res = compute_sync(raw, measures=["plv", "coh"], rois=rois, verbose=False)
    assert "B:F4" not in res.cols and res.params["flat_channels"] == ["B:F4"]
    assert res.rois["cols"]["front"] == ["B:Fz"]
    # the same as leaving the channel out by hand
    ref = compute_sync(
        raw,
        measures=["plv", "coh"],
        rois=rois,
        verbose=False,
        picks=[c for c in raw.ch_names if c != "B:F4"],
    )
    np.testing.assert_allclose(
        res.get_data("plv", "alpha", level="roi"), ref.get_data("plv", "alpha", level="roi")
    )
    assert np.all(res.get_data("plv", "alpha") > 0.05)
    # epochs input: the same
    with pytest.warns(RuntimeWarning, match="B:F4"):
        r_ep = compute_sync(_epochs(raw, 3.0), rois=rois, verbose=False)
    assert r_ep.params["flat_channels"] == ["B:F4"]


@pytest.mark.filterwarnings("ignore:convention='across' over only")
@pytest.mark.parametrize("pairs", ["inter", "all"])
def test_across_streamed_on_raw(monkeypatch, small_dyad, pairs):
    """A Raw across epochs: the continuous band signals are cut into epochs chunk by chunk
    (overlapping epochs, a BAD_ span, a channel flat throughout left out, chunks of 4 + 4
    + 1): the values equal the whole-array path and the direct formula on the continuous
    transform cut by hand.
    """
    from hyperinsync.sync import across, engine
    from hyperinsync.sync.spectral import band_analytic

    sizes = []
    cut = engine.window_chunks

    def spy(*args):
        for chunk in cut(*args):
            sizes.append(next(iter(chunk.values()))[0].shape[2])
            yield chunk

    monkeypatch.setattr(engine, "window_chunks", spy)
    raw = small_dyad.copy()
    raw._data[raw.ch_names.index("B:F4")] = 2e-3  # flat throughout
    raw.set_annotations(mne.Annotations([13.0], [2.0], ["BAD_gap"]))
    monkeypatch.setattr(across, "_CPU_EPOCHS", 4)
    kw = dict(epoch_duration=3.0, overlap=1.0, method="morlet", decim=5, rois=None)
    kw.update(n_cycles=5.0, pairs=pairs, precision="double")
    with pytest.warns(RuntimeWarning, match=r"\['B:F4'\] are flat"):
        res, whole, chunks = _streamed_and_whole(monkeypatch, raw, ["plv", "coh", "imcoh"], **kw)
    assert chunks == [] and sizes == [4, 4, 1]
    assert res.n_epochs == whole.n_epochs == 9  # 11 windows, 2 on the gap
    assert res.params["flat_channels"] == ["B:F4"] and res.cols == whole.cols
    np.testing.assert_array_equal(res.times, whole.times)
    np.testing.assert_allclose(res.time_data, whole.time_data, rtol=1e-12, atol=1e-14)

    keep = [c for c in raw.ch_names if c != "B:F4"]
    data = raw.get_data(picks=keep)
    sig = band_analytic(
        data, 250.0, BANDS, method="morlet", decim=5, n_cycles=5.0, precision="double"
    )
    starts = (res.epoch_onsets * 250).round().astype(int) // 5
    for bi, band in enumerate(BANDS):
        z = sig[band].data  # (n, F, T)
        ep = np.stack([z[..., s : s + 150] for s in starts])  # (E, n, F, L)
        u = ep / abs(ep)
        ua, ub = (u[:, :3], u[:, 3:]) if pairs == "inter" else (u, u)
        plv = abs(np.einsum("eift,ejft->ftij", ua, ub.conj())).mean(0) / len(ep)
        np.testing.assert_allclose(res.time_data[0, bi], plv, rtol=0, atol=1e-10)


def test_partly_flat_channel_refused(small_dyad):
    raw = small_dyad.copy()
    ci = raw.ch_names.index("A:Cz")
    raw._data[ci, 1000:2000] = 0.0  # 4-8 s: epochs 4-6 s and 6-8 s are flat
    with pytest.raises(
        ValueError,
        match=r"'A:Cz' is flat \(constant\) in 2 of 12 epochs "
        r"\(the first at 4\.000 s\).*annotate_amplitude",
    ):
        compute_sync(raw, verbose=False)
    # annotated BAD_, those epochs are left out and nothing is flat any more
    raw.set_annotations(mne.Annotations([4.0], [4.0], ["BAD_flat"]))
    res = compute_sync(raw, verbose=False)
    assert res.n_epochs == 10 and res.params["flat_channels"] == []
    with pytest.raises(ValueError, match=r"Drop those epochs \(\[2, 3\]\)"):
        compute_sync(_flat_epochs(small_dyad), verbose=False)


def _flat_epochs(raw):
    ep = _epochs(raw, 2.0)
    data = ep.get_data()
    data[2:4, 0] = 1e-3
    return mne.EpochsArray(data, ep.info, verbose=False)


def test_nan_inside_bad_span_not_checked(small_dyad):
    """NaN in a BAD_ span (a gap) is allowed: epochs overlapping it are left out, and the
    band signals equal those of the same recording with the span bridged by a straight line
    (np.interp), i.e. the NaN does not spread through the filter.
    """
    raw = small_dyad.copy()
    ci = raw.ch_names.index("B:Fz")
    raw._data[ci, 1250:1500] = np.nan  # 5-6 s
    raw.set_annotations(mne.Annotations([5.0], [1.0], ["BAD_gap"]))
    bridged = raw.copy()
    row = bridged._data[ci]
    bad = np.isnan(row)
    row[bad] = np.interp(np.flatnonzero(bad), np.flatnonzero(~bad), row[~bad])
    for method in ("fft", "mne_fir", "morlet"):
        res = compute_sync(
            raw, measures=ALL_MEASURES, method=method, precision="double", verbose=False
        )
        ref = compute_sync(
            bridged, measures=ALL_MEASURES, method=method, precision="double", verbose=False
        )
        assert np.all(np.isfinite(res.data))
        assert res.n_epochs == 11 and 4.0 not in res.epoch_onsets
        np.testing.assert_allclose(res.data, ref.data, rtol=0, atol=1e-12)
    # the same NaN outside a BAD_ span: a clear error naming channel and time
    raw.set_annotations(None)
    with pytest.raises(ValueError, match=r"'B:Fz' contains NaN.*5\.000 s from the start"):
        compute_sync(raw, verbose=False)
    # inside a BAD_ span that is not rejected, the samples are used: refused too
    raw.set_annotations(mne.Annotations([5.0], [1.0], ["BAD_gap"]))
    with pytest.raises(ValueError, match="NaN"):
        compute_sync(raw, reject_by_annotation=False, verbose=False)


def test_nan_in_epochs_names_channel_and_epoch(small_dyad):
    ep = _epochs(small_dyad, 3.0)
    data = ep.get_data()
    data[3, 4, 10] = np.nan
    with pytest.raises(ValueError, match=r"'B:F4' contains NaN or infinite values in epoch 3"):
        compute_sync(mne.EpochsArray(data, ep.info, verbose=False), verbose=False)


def test_nan_in_bad_span_surrogates_and_level1(small_dyad):
    """The same rule where the null models and In-Sync windows read data: NaN inside a
    rejected BAD_ span is bridged for the filter (values equal the bridged recording's),
    a flat channel is refused by name.
    """
    from hyperinsync import surrogate_test

    raw = small_dyad.copy()
    ci = raw.ch_names.index("A:F3")
    raw._data[ci, 1250:1500] = np.nan
    raw.set_annotations(mne.Annotations([5.0], [1.0], ["BAD_gap"]))
    bridged = raw.copy()
    row = bridged._data[ci]
    bad = np.isnan(row)
    row[bad] = np.interp(np.flatnonzero(bad), np.flatnonzero(~bad), row[~bad])
    kw = dict(
        null="epoch_shuffle", n_surrogates=20, bands={"alpha": (8.0, 13.0)}, seed=0, verbose=False
    )
    a, b = surrogate_test(raw, **kw), surrogate_test(bridged, **kw)
    np.testing.assert_allclose(a.observed, b.observed, rtol=0, atol=1e-6)
    np.testing.assert_allclose(a.null, b.null, rtol=0, atol=1e-6)
    # In-Sync windows: the band signals they are built from
    from hyperinsync.insync.windows import _Signals
    from hyperinsync.sync import DyadSignals

    def signals(r):
        dsig = DyadSignals(r, {"alpha": (8.0, 13.0)}, precision="double", backend="numpy")
        return _Signals(dsig, {"f": ["Fz", "F3", "F4"]}, 500, 250)

    sa, sb = signals(raw), signals(bridged)
    for za, zb in zip(sa.z["alpha"], sb.z["alpha"]):
        assert np.all(np.isfinite(za))
        np.testing.assert_allclose(za, zb, rtol=0, atol=1e-12 * np.abs(zb).max())
    assert sa.bad[1250:1500].all()
    flat = small_dyad.copy()
    flat._data[flat.ch_names.index("B:Fz")] = 0.0
    with pytest.raises(ValueError, match="B:Fz"):
        surrogate_test(flat, **kw)
    with pytest.raises(ValueError, match="B:Fz"):
        signals(flat)


HYPYP_MODES = {
    "plv": "plv",
    "coh": "coh",
    "imcoh": "imaginary_coh",
    "ccorr": "ccorr",
    "envcorr": "envelope_corr",
    "wpli": "wpli",
}


def _hypyp_check(dyad, ep_a, ep_b, atol):
    """compute_sync(method='mne_fir') at otherwise default arguments against HyPyP 0.6."""
    analyses = pytest.importorskip("hypyp.analyses")
    res = compute_sync(dyad, BANDS, list(HYPYP_MODES), method="mne_fir", verbose=False)
    assert set(res.params["decim"].values()) == {1}  # 'auto' is full rate for 'mne_fir'
    cs = analyses.compute_freq_bands(
        [ep_a, ep_b], dyad.info["sfreq"], {k: list(v) for k, v in BANDS.items()}
    )
    n = ep_a.shape[1]
    for ours, theirs in HYPYP_MODES.items():
        ref = analyses.compute_sync(cs, theirs, epochs_average=True)  # (bands, 2n, 2n)
        for bi, band in enumerate(BANDS):
            np.testing.assert_allclose(
                res.get_data(ours, band),
                ref[bi][:n, n:],
                rtol=0,
                atol=atol,
                err_msg=f"{ours} {band}",
            )


def test_hypyp_parity_at_default_arguments(small_epochs):
    """README: method='mne_fir' gives HyPyP's numbers (within convention) at the default
    arguments -- decim='auto' used to average every 5th sample (9e-3 off). Default
    precision is float32: agreement to its rounding (measured 3.4e-7 on the real dyad).
    """
    sub = small_epochs.copy().pick(["therapist:Fz", "therapist:Cz", "client:Fz", "client:Cz"])
    data = sub.get_data()
    _hypyp_check(sub, data[:, :2], data[:, 2:], atol=1e-6)


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared is absent")
def test_hypyp_parity_real_dyad():
    """The same on HyPyP's own test dyad (25 one-second epochs; 6 + 6 of its channels to
    keep HyPyP's loops short). Its 825-tap theta filter is longer than the 501-sample
    epochs, as MNE warns: still the same numbers.
    """
    import warnings

    d = SHARED / "data" / "hypyp_dyad"
    chs = ["Fp1", "F3", "Fz", "C4", "Pz", "O2"]
    a = mne.read_epochs(d / "preproc_S1-epo.fif", verbose=False).pick(chs)
    b = mne.read_epochs(d / "preproc_S2-epo.fif", verbose=False).pick(chs)
    common = np.intersect1d(a.selection, b.selection)
    a, b = a[np.isin(a.selection, common)], b[np.isin(b.selection, common)]
    dyad = make_dyad_epochs(a, b, verbose=False)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "filter_length .* is longer than the signal")
        _hypyp_check(dyad, a.get_data(), b.get_data(), atol=1e-6)


def test_effective_band_recorded(small_dyad):
    """The -6 dB band actually analysed is in params and in every table row."""
    res = compute_sync(small_dyad, BANDS, verbose=False)
    assert res.params["effective_band"] == {"theta": [3.0, 9.0], "alpha": [7.0, 14.625]}
    assert res.params["trans_bandwidth"] == {"theta": [2.0, 2.0], "alpha": [2.0, 3.25]}
    table = res.to_table(level="channel")
    assert list(table.columns[:4]) == ["measure", "band", "fmin_6db", "fmax_6db"]
    assert set(table.loc[table.band == "theta", "fmax_6db"]) == {9.0}
    narrow = compute_sync(
        small_dyad, BANDS, l_trans_bandwidth=1.0, h_trans_bandwidth=1.0, verbose=False
    )
    assert narrow.params["effective_band"] == {"theta": [3.5, 8.5], "alpha": [7.5, 13.5]}
    assert not np.allclose(narrow.data, res.data)
    mor = compute_sync(small_dyad, BANDS, method="morlet", verbose=False)
    assert mor.params["trans_bandwidth"] == {"theta": None, "alpha": None}
    lo, hi = mor.params["effective_band"]["theta"]
    assert lo == pytest.approx(4 - np.sqrt(2 * np.log(2)) * 4 / 7)
    assert hi == pytest.approx(8 + np.sqrt(2 * np.log(2)) * 8 / 7)
    from hyperinsync.sync import SyncResult

    assert SyncResult.from_dict(res.to_dict()) == res
    with pytest.raises(ValueError, match="reaches below 0 Hz"):
        compute_sync(small_dyad, BANDS, l_trans_bandwidth=6.0, verbose=False)


def test_mne_fir_across_leaves_out_epoch_ends(small_dyad):
    """MNE's odd-reflection padding pins the band signal's real part to 0 at an epoch's
    first and last sample (phase +-90 degrees whatever the data): 'across' leaves them out.
    """
    from scipy.signal import hilbert

    ep = _epochs(small_dyad, 3.0)
    z = hilbert(mne.filter.filter_data(ep.get_data(), ep.info["sfreq"], 8.0, 13.0, verbose=False))
    assert np.abs(z[..., [0, -1]].real).max() < 1e-12 * np.abs(z).max()
    res = compute_sync(
        ep, {"alpha": (8.0, 13.0)}, "wpli", method="mne_fir", convention="across", verbose=False
    )
    np.testing.assert_array_equal(res.times, ep.times[1:-1])
    assert res.time_data.shape[2] == len(ep.times) - 2
    res5 = compute_sync(
        ep,
        {"alpha": (8.0, 13.0)},
        "wpli",
        method="mne_fir",
        convention="across",
        decim=5,
        verbose=False,
    )
    np.testing.assert_array_equal(res5.times, ep.times[::5][1:])  # 749 % 5: last not kept


@pytest.mark.parametrize("pairs", ["inter", "all"])
def test_across_chunks_equal_the_direct_formula(small_epochs, pairs):
    """Across epochs, the products run per chunk of time points on contiguous copies (the
    second side conjugated) shared by the measures: whatever the chunking, the values are
    the direct formulas per time point on the band signals, and mne-connectivity's.
    """
    from hyperinsync.sync.across import fill_across  # noqa: F401  (the path under test)
    from hyperinsync.sync.spectral import band_analytic

    ep = small_epochs
    measures = ["plv", "coh", "imcoh", "wpli", "envcorr"]
    kw = dict(
        method="morlet",
        convention="across",
        decim=1,
        precision="double",
        pairs=pairs,
        rois=None,
        verbose=False,
    )
    with pytest.warns(RuntimeWarning, match="only 6 epochs"):
        whole = compute_sync(ep, BANDS, measures, **kw)
    with pytest.warns(RuntimeWarning, match="only 6 epochs"):
        # 13 time points per chunk (47 chunks, the last one shorter: the reused scratch
        # arrays are then partly used)
        chunked = compute_sync(ep, BANDS, measures, max_bytes=1e5, **kw)
    keep = np.ones(whole.time_data.shape, bool)
    if pairs == "all":  # wPLI of a channel with itself is 0 / 0 of rounding noise
        keep[measures.index("wpli"), ..., np.arange(5), np.arange(5)] = False
    np.testing.assert_allclose(
        chunked.time_data[keep], whole.time_data[keep], rtol=1e-12, atol=1e-14
    )

    sig = band_analytic(ep.get_data(), ep.info["sfreq"], BANDS, method="morlet", precision="double")
    n_a = 3
    for bi, band in enumerate(BANDS):
        z = sig[band].data  # (E, n, F, T)
        za, zb = (z[:, :n_a], z[:, n_a:]) if pairs == "inter" else (z, z)
        ua, ub = za / abs(za), zb / abs(zb)
        cross = np.einsum("eift,ejft->ftij", za, zb.conj())
        pa, pb = (np.sum(abs(x) ** 2, axis=0) for x in (za, zb))  # (n, F, T)
        norm = np.sqrt(np.einsum("ift,jft->ftij", pa, pb))
        ea, eb = abs(za) - abs(za).mean(0), abs(zb) - abs(zb).mean(0)
        env = np.einsum("eift,ejft->ftij", ea, eb) / np.sqrt(
            np.einsum("ift,jft->ftij", np.sum(ea**2, 0), np.sum(eb**2, 0))
        )
        # (E, i, j, F, T) products per epoch for wPLI's denominator
        wpli = abs(cross.imag) / np.sum(
            abs((za[:, :, None] * zb[:, None].conj()).imag), axis=0
        ).transpose(2, 3, 0, 1)
        direct = {
            "plv": abs(np.einsum("eift,ejft->ftij", ua, ub.conj())) / len(z),
            "coh": abs(cross) / norm,
            "imcoh": cross.imag / norm,  # signed across epochs (mne-connectivity)
            "wpli": wpli,
            "envcorr": env,
        }
        for mi, m in enumerate(measures):
            np.testing.assert_allclose(
                whole.time_data[mi, bi][keep[mi, bi]],
                direct[m].mean(axis=0)[keep[mi, bi]],
                rtol=1e-10,
                atol=1e-12,
                err_msg=f"{m} {band}",
            )


def test_loaded_data_read_in_place_never_written(small_dyad):
    """Band signals read a loaded recording's rows in place: its data stay as they were.

    Consecutive picks read a view of the array (no copy), scattered picks a copy; both give
    the values of an explicit copy of the channels.
    """
    from hyperinsync.sync.signals import _read_rows

    raw = _with_dc(small_dyad)  # offsets and drifts: the line removal must work on a copy
    before = raw.get_data()
    rows = np.array([1, 2, 3])
    view = _read_rows(raw, rows)
    assert np.shares_memory(view, raw._data)
    np.testing.assert_array_equal(view, before[1:4])
    scattered = _read_rows(raw, np.array([0, 2, 5]))
    assert not np.shares_memory(scattered, raw._data)
    np.testing.assert_array_equal(scattered, before[[0, 2, 5]])
    res = compute_sync(raw, measures=["plv", "coh"], verbose=False)
    np.testing.assert_array_equal(raw.get_data(), before)
    ref = compute_sync(
        mne.io.RawArray(before, raw.info, verbose=False), measures=["plv", "coh"], verbose=False
    )
    np.testing.assert_array_equal(res.data, ref.data)


def test_threads_give_the_same_values(coupled):
    """compute_sync in n_jobs threads (chunks of signals, then of epochs): every value as
    on one thread.
    """
    raw = coupled[0] if isinstance(coupled, tuple) else coupled
    kw = dict(measures=["plv", "coh", "wpli", "envcorr"], max_bytes=2e6, verbose=False)
    one = compute_sync(raw, None, **kw)
    three = compute_sync(raw, None, **kw, n_jobs=3)
    assert np.array_equal(three.data, one.data)
    assert np.array_equal(three.epoch_data, one.epoch_data)
