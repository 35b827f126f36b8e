"""Backend selection, and NumPy/CuPy agreement wherever a GPU is present."""

import numpy as np
import pytest

from hyperinsync import compute_sync, simulate_dyad
from hyperinsync.backend import ENV_VAR, cupy_available, get_backend
from hyperinsync.sync.spectral import band_analytic


def test_numpy_backend(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    bk = get_backend("numpy")
    assert bk.name == "numpy" and bk.xp is np
    a = np.arange(3.0)
    np.testing.assert_array_equal(bk.to_numpy(bk.asarray(a)), a)
    assert bk.fft_kwargs(2) == {"workers": 2}
    assert get_backend(bk) is bk


def test_auto_and_env(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    expected = "cupy" if cupy_available() else "numpy"
    assert get_backend("auto").name == expected
    assert get_backend(None).name == expected
    monkeypatch.setenv(ENV_VAR, "numpy")
    assert get_backend("auto").name == "numpy"
    monkeypatch.setenv(ENV_VAR, "fpga")
    with pytest.raises(ValueError, match="HYPERINSYNC_BACKEND"):
        get_backend("auto")


@pytest.mark.skipif(cupy_available(), reason="CuPy and a GPU are present here")
def test_explicit_cupy_without_gpu_is_a_clear_error(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    with pytest.raises(RuntimeError, match=r"hyperinsync\[gpu\]"):
        get_backend("cupy")
    # 'auto' falls back silently when nothing asked for CuPy
    assert get_backend("auto").name == "numpy"


def test_unknown_backend():
    with pytest.raises(ValueError, match="backend"):
        get_backend("tpu")


@pytest.mark.skipif(not cupy_available(), reason="needs CuPy and a GPU")
def test_cupy_matches_numpy():
    """One code path: CuPy and NumPy agree within 1e-5 (float32) on the same input."""
    raw, _ = simulate_dyad(duration=40.0, sfreq=250.0, seed=4, verbose=False)
    kw = dict(bands={"theta": (4, 8), "alpha": (8, 13)}, measures=["plv", "coh", "imcoh", "wpli", "ccorr", "envcorr"], rois="default", verbose=False)
    a = compute_sync(raw, backend="numpy", **kw)
    b = compute_sync(raw, backend="cupy", **kw)
    np.testing.assert_allclose(b.data, a.data, atol=1e-5)
    np.testing.assert_allclose(b.epoch_data, a.epoch_data, atol=1e-5)
    x = np.random.default_rng(0).standard_normal((4, 3, 1000))
    sa = band_analytic(x, 250.0, method="morlet", backend="numpy")
    sb = band_analytic(x, 250.0, method="morlet", backend="cupy")
    for name in sa:
        got = get_backend("cupy").to_numpy(sb[name].data)
        np.testing.assert_allclose(got, sa[name].data, atol=1e-5 * np.abs(sa[name].data).max())
