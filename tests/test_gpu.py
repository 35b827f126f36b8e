"""The GPU path: every analysis runs with ``backend='cupy'`` and agrees with NumPy.

These tests need CuPy and a GPU, or the CuPy emulation (``tests/_cupy_emulation.py``):
``HYPERINSYNC_CUPY_EMULATION=one-gpu pytest -m gpu`` (CI) or ``benchmarks/gpu_check.sh``
on a real card. They skip otherwise.

Agreement is judged against float32 rounding itself: the CuPy result (single precision) may
differ from NumPy's single-precision result by at most a few times NumPy's own single-vs-
double difference on the same input (:func:`assert_agree`), per measure, band and array. A
flat tolerance is wrong both ways: per-epoch ccorr in single precision is 2.4e-5 from double
while PLV is 1e-7 from it.
"""

import numpy as np
import pytest

import hyperinsync as hs
from hyperinsync.backend import cupy_available, get_backend
from hyperinsync.sync.measures import MEASURES
from hyperinsync.sync.spectral import band_analytic

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(
        not cupy_available(), reason="needs CuPy and a GPU, or HYPERINSYNC_CUPY_EMULATION=one-gpu"
    ),
]

BANDS = {"theta": (4.0, 8.0), "alpha": (8.0, 13.0)}
ALPHA = {"alpha": (8.0, 12.0)}
ROIS = {
    "frontal": ["Fp1", "Fp2", "F3", "F4", "Fz"],
    "parietal": ["P3", "P4", "Pz"],
    "occipital": ["O1", "O2", "Oz"],
}
EPS32 = float(np.finfo(np.float32).eps)


@pytest.fixture(scope="module")
def raw(coupled_dyad):
    return coupled_dyad(duration=30.0, sfreq=100.0, seed=4)[0]


def host(a):
    return a.get() if hasattr(a, "__cuda_array_interface__") else np.asarray(a)


def assert_agree(gpu, single, double, what, factor=4.0):
    """``|gpu - single| <= factor * max|single - double| + 4 eps32 * max|double|``.

    NaN must be at the same places. Returns the error and the tolerance.
    """
    gpu, single, double = (
        np.asarray(host(a), dtype=np.result_type(host(a), float)) for a in (gpu, single, double)
    )
    assert gpu.shape == single.shape == double.shape, what
    fin = np.isfinite(double)
    np.testing.assert_array_equal(np.isfinite(gpu), fin, err_msg=what)
    np.testing.assert_array_equal(np.isfinite(single), fin, err_msg=what)
    if not fin.any():
        return 0.0, 0.0
    scale = float(np.abs(double[fin]).max())
    tol = factor * float(np.abs(single - double)[fin].max()) + 4 * EPS32 * scale
    err = float(np.abs(gpu - single)[fin].max())
    assert err <= tol, f"{what}: CuPy vs NumPy {err:.3g} > tolerance {tol:.3g}"
    return err, tol


def three(func, **kw):
    """The analysis with CuPy (single), NumPy (single) and NumPy (double)."""
    return (
        func(backend="cupy", **kw),
        func(backend="numpy", **kw),
        func(backend="numpy", precision="double", **kw),
    )


def assert_p_agree(p_gpu, p_np, n_null, what):
    """Permutation p-values: equal but where float32 rounding moves a near-tie by a count."""
    p_gpu, p_np = np.asarray(p_gpu), np.asarray(p_np)
    np.testing.assert_array_equal(np.isnan(p_gpu), np.isnan(p_np), err_msg=what)
    diff = np.abs(p_gpu - p_np)[~np.isnan(p_np)]
    assert diff.max(initial=0) <= 2.0 / (n_null + 1) + 1e-12, what
    assert np.mean(diff > 1e-12) <= 0.02, what


# ---------------------------------------------------------------------- band signals
@pytest.mark.parametrize("method", ["fft", "morlet", "mne_fir"])
@pytest.mark.parametrize("where", ["host", "device"])
def test_band_analytic_agrees(method, where):
    """Every method, from host data and from device data ('mne_fir' used to call
    np.asarray on device input).
    """
    x = np.random.default_rng(0).standard_normal((3, 4, 1000))
    data = get_backend("cupy").asarray(x) if where == "device" else x
    gpu = band_analytic(data, 250.0, BANDS, method=method, backend="cupy")
    single = band_analytic(x, 250.0, BANDS, method=method, backend="numpy")
    double = band_analytic(x, 250.0, BANDS, method=method, backend="numpy", precision="double")
    for b in BANDS:
        assert hasattr(gpu[b].data, "__cuda_array_interface__")
        assert gpu[b].data.dtype == np.complex64
        assert_agree(gpu[b].data, single[b].data, double[b].data, f"{method} {b}")


def test_device_data_with_numpy_backend_is_a_clear_error():
    d = get_backend("cupy").asarray(np.zeros((2, 500)))
    with pytest.raises(TypeError, match="data are on the GPU.*backend='cupy'"):
        band_analytic(d, 250.0, ALPHA, backend="numpy")


# ---------------------------------------------------------------------- compute_sync
@pytest.mark.parametrize("convention", ["within", "across"])
@pytest.mark.parametrize("method", ["fft", "morlet", "mne_fir"])
def test_compute_sync_agrees(raw, method, convention):
    """Every method x measure x convention; values per epoch (or time) and summaries."""
    kw = dict(
        inst=raw,
        bands=BANDS,
        measures=list(MEASURES),
        method=method,
        convention=convention,
        rois=ROIS,
        decim=2 if convention == "across" else "auto",
        verbose=False,
    )
    gpu, single, double = three(hs.compute_sync, **kw)
    assert gpu.params["backend"] == "cupy" and single.params["backend"] == "numpy"
    for mi, m in enumerate(MEASURES):
        for bi, b in enumerate(BANDS):
            what = f"{method} {convention} {m} {b}"
            assert_agree(gpu.data[mi, bi], single.data[mi, bi], double.data[mi, bi], what)
            if convention == "within":
                assert_agree(
                    gpu.epoch_data[mi, bi],
                    single.epoch_data[mi, bi],
                    double.epoch_data[mi, bi],
                    what + " per epoch",
                )
            else:
                assert_agree(
                    gpu.time_data[mi, bi],
                    single.time_data[mi, bi],
                    double.time_data[mi, bi],
                    what + " per time",
                )


def test_compute_sync_epochs_hypyp_path_agrees(raw):
    """Epochs with 'mne_fir', 'within' (the HyPyP-compatible path)."""
    epochs = raw.make_epochs(duration=2.0, verbose=False)
    gpu, single, double = three(
        hs.compute_sync,
        inst=epochs,
        bands=BANDS,
        measures=list(MEASURES),
        method="mne_fir",
        rois=None,
        verbose=False,
    )
    for mi, m in enumerate(MEASURES):
        assert_agree(gpu.epoch_data[mi], single.epoch_data[mi], double.epoch_data[mi], m)


@pytest.mark.parametrize("kind", ["epochs", "raw"])
@pytest.mark.parametrize("pairs", ["inter", "all"])
def test_compute_sync_across_streamed_agrees(raw, kind, pairs, monkeypatch):
    """Across epochs, PLV/coh/imcoh stream over chunks of epochs (Epochs: band signals per
    chunk; a Raw: epochs cut per chunk from the continuous signals), on the GPU as many
    epochs as ``max_bytes`` allows, here several with the last one shorter: the values
    agree with NumPy and with the whole-array path.
    """
    from hyperinsync.sync import engine

    sizes = []
    cut = engine.window_chunks, engine.epoch_chunks

    def spy(make):
        def chunks(*args):
            for chunk in make(*args):
                sizes.append(next(iter(chunk.values()))[0].shape[2])
                yield chunk

        return chunks

    monkeypatch.setattr(engine, "window_chunks", spy(cut[0]))
    monkeypatch.setattr(engine, "epoch_chunks", spy(cut[1]))
    kw = dict(
        inst=raw.make_epochs(duration=3.0, verbose=False) if kind == "epochs" else raw,
        bands=BANDS,
        measures=["plv", "coh", "imcoh"],
        method="morlet",
        convention="across",
        pairs=pairs,
        decim=2,
        n_cycles=5.0,
        rois=None,
        # 64 channels x 11 wavelets x 300 points x 8 B = 1.7 MB per epoch: chunks of 6 and 4
        # epochs (double precision: 3, 3, 3 and 1)
        max_bytes=11e6,
        verbose=False,
    )
    if kind == "raw":
        kw["epoch_duration"] = 3.0
    gpu, single, double = three(hs.compute_sync, **kw)
    assert sizes == [6, 4, 6, 4, 3, 3, 3, 1] and gpu.params["backend"] == "cupy", sizes
    monkeypatch.setattr(engine, "_STREAM_ACROSS", False)
    whole = hs.compute_sync(**kw, backend="numpy", precision="double")
    np.testing.assert_allclose(double.time_data, whole.time_data, rtol=1e-10, atol=1e-12)
    whole32 = hs.compute_sync(**kw, backend="numpy")
    np.testing.assert_allclose(single.time_data, whole32.time_data, rtol=0, atol=1e-6)
    for mi, m in enumerate(kw["measures"]):
        assert_agree(gpu.time_data[mi], single.time_data[mi], double.time_data[mi], m)


# ---------------------------------------------------------------------- nulls
@pytest.mark.parametrize(
    "null", ["epoch_shuffle", "circular_shift", "segment_shuffle", "phase_randomization"]
)
def test_nulls_agree(raw, null):
    n = 19
    kw = dict(
        inst=raw,
        bands=ALPHA,
        measures=["plv", "coh", "ccorr"],
        null=null,
        n_surrogates=n,
        seed=3,
        rois=ROIS,
        min_shift=3.0,
        segment_duration=4.0,
        correction="maxstat",
        verbose=False,
    )
    gpu, single, double = three(hs.surrogate_test, **kw)
    assert gpu.params["backend"] == "cupy"
    assert_agree(gpu.observed, single.observed, double.observed, f"{null} observed")
    assert_agree(gpu.null, single.null, double.null, f"{null} null")
    assert_p_agree(gpu.p, single.p, n, f"{null} p")
    np.testing.assert_allclose(np.cos(gpu.phase - single.phase), 1.0, atol=1e-4)


def test_pseudo_dyads_agree():
    dyads = [
        hs.simulate_dyad(duration=20.0, sfreq=100.0, seed=s, verbose=False)[0] for s in range(3)
    ]
    kw = dict(
        dyads=dyads,
        bands=ALPHA,
        measures=["plv", "envcorr"],
        rois=ROIS,
        seed=0,
        n_permutations=99,
        verbose=False,
    )
    gpu, single, double = three(hs.pseudo_dyad_test, **kw)
    assert gpu.params["backend"] == "cupy"
    assert_agree(gpu.observed, single.observed, double.observed, "pseudo observed")
    assert_agree(gpu.null, single.null, double.null, "pseudo null")
    assert_agree(gpu.group["diff"], single.group["diff"], double.group["diff"], "group")


# ---------------------------------------------------------------------- In-Sync Levels
def test_level1_agrees():
    planted = hs.Coupling(
        "alpha", "frontal", "frontal", strength=0.9, episodes=[(15.0, 30.0), (40.0, 48.0)]
    )
    raw = hs.simulate_dyad(duration=60.0, sfreq=100.0, seed=2, couplings=[planted], verbose=False)[
        0
    ]
    n = 39
    kw = dict(
        raw=raw,
        bands=ALPHA,
        rois=ROIS,
        window=4.0,
        step=1.0,
        n_surrogates=n,
        min_shift=5.0,
        seed=0,
        verbose=False,
    )
    gpu, single, double = three(hs.level1, **kw)
    assert gpu.params["backend"] == "cupy"
    for name in ("values", "tonic", "tonic_sd", "null_mean", "null_sd", "chance_null_max"):
        assert_agree(
            getattr(gpu, name), getattr(single, name), getattr(double, name), f"level1 {name}"
        )
    # standardised maxima of the shuffles: float32 rounding of values of ~1 divided by
    # robust SDs of ~0.05 (its single-vs-double difference is the scale)
    assert_agree(
        gpu.tonic_null_max,
        single.tonic_null_max,
        double.tonic_null_max,
        "level1 tonic_null_max",
        factor=8.0,
    )
    assert_p_agree(gpu.p_values, single.p_values, n, "level1 p")
    # the planted episodes and their lead-lag, computed on the device
    assert single.episodes, "the test needs episodes"
    key = [(e["band"], e["roi_a"], e["roi_b"], e["onset"]) for e in single.episodes]
    if key == [(e["band"], e["roi_a"], e["roi_b"], e["onset"]) for e in gpu.episodes]:
        for eg, es in zip(gpu.episodes, single.episodes):
            assert eg["lag_plv"] == pytest.approx(es["lag_plv"], rel=1e-4)
            assert np.cos(eg["phase_diff"] - es["phase_diff"]) == pytest.approx(1, abs=1e-6)


def test_level2_and_level3_agree():
    raw = hs.simulate_dyad(
        sfreq=100.0,
        seed=1,
        segments=[("rest_pre", 20.0), ("session", 20.0), ("rest_post", 20.0)],
        verbose=False,
    )[0]
    n = 19
    for null in ("circular_shift", "epoch_shuffle"):
        kw = dict(
            raw=raw,
            bands=ALPHA,
            rois=ROIS,
            n_surrogates=n,
            null=null,
            seed=0,
            n_permutations=99,
            verbose=False,
        )
        gpu, single, double = three(hs.level2, **kw)
        assert gpu.params["backend"] == "cupy"
        assert_agree(gpu.values, single.values, double.values, f"level2 {null} values")
        assert_agree(gpu.null, single.null, double.null, f"level2 {null} null")
        np.testing.assert_allclose(np.cos(gpu.phase - single.phase), 1.0, atol=1e-4)
    # Level 3 takes per-session values (host arrays): the GPU's give the same trends
    values = {"d1": list(gpu.values[:, 0, 0, 0]) + [0.3], "d2": [0.2, 0.25, 0.3, 0.35]}
    ref = {"d1": list(single.values[:, 0, 0, 0]) + [0.3], "d2": values["d2"]}
    a = hs.level3(values, n_permutations=99, seed=0)
    b = hs.level3(ref, n_permutations=99, seed=0)
    np.testing.assert_allclose(a.summary["mean_slope"], b.summary["mean_slope"], rtol=1e-5)


def test_tiny_study_runs_on_the_gpu(tmp_path):
    """A study with analysis.backend='cupy': every result computed and recorded on it."""
    st = hs.Study(
        simulate=dict(n_dyads=2, n_sessions=3, segments=[("rest", 20.0)], sfreq=100.0, seed=3),
        analysis=dict(bands=ALPHA, backend="cupy", rois=ROIS, epoch_duration=2.0),
        surrogates=dict(n_surrogates=9, seed=0),
        insync=dict(
            level1=dict(window=4.0, step=2.0, n_surrogates=19, min_shift=4.0, seed=1),
            level2=dict(segments=[], block=10.0, contrasts=[], n_surrogates=19, seed=1),
        ),
        statistics=dict(n_permutations=99, pseudo_dyads={}),
    )
    res = st.run(tmp_path, verbose=False)
    for rec in res.recordings.values():
        assert rec["sync"]["all"].params["backend"] == "cupy"
        assert rec["surrogates"]["all"].params["backend"] == "cupy"
        assert rec["level1"]["all"].params["backend"] == "cupy"
        assert rec["level2"].params["backend"] == "cupy"
    assert res.group["pseudo_dyads"]["all"].params["backend"] == "cupy"
    assert res.group["level3"] is not None


@pytest.mark.filterwarnings("ignore:.*the lead test has only")  # a short test recording
def test_lagged_sync_agrees():
    """Windowed lagged cross-correlation of body/autonomic signals, where the package has it
    (double precision: CuPy and NumPy agree to FFT rounding).
    """
    lagged = pytest.importorskip("hyperinsync.stats.lagged")
    import mne

    rng = np.random.default_rng(3)
    n, sf = 3000, 10.0
    a = np.convolve(rng.standard_normal(n + 20), np.ones(8) / 8, "valid")[:n]
    b = np.roll(a, 3) + 0.7 * rng.standard_normal(n)
    info = mne.create_info(["X"], sf, "misc")
    raw = hs.make_dyad_raw(
        mne.io.RawArray(a[None], info, verbose=False),
        mne.io.RawArray(b[None], info.copy(), verbose=False),
        roles=("A", "B"),
        verbose=False,
    )
    kw = dict(inst=raw, lag=2, window=20, step=10, n_surrogates=19, seed=0, verbose=False)
    gpu = lagged.lagged_sync(backend="cupy", **kw)
    cpu = lagged.lagged_sync(backend="numpy", **kw)
    values = np.asarray(cpu.values, float)
    assert np.isfinite(values).any()
    np.testing.assert_allclose(
        np.asarray(gpu.values, float), values, rtol=0, atol=1e-9 * np.nanmax(np.abs(values))
    )
    for rg, rc in zip(gpu.sessions, cpu.sessions):
        for k, v in rc.items():
            if isinstance(v, float) and np.isfinite(v):
                assert rg[k] == pytest.approx(v, rel=1e-6, abs=1e-9), k
