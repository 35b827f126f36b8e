"""Backend selection, and NumPy/CuPy agreement wherever a GPU is present."""

import numpy as np
import pytest

from hyperinsync.backend import ENV_VAR, cupy_available, get_backend


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


# NumPy/CuPy agreement of every analysis: tests/test_gpu.py (tolerances from float32
# rounding itself, measured per measure: a flat 1e-5 fails per-epoch ccorr on a GPU).


def test_one_blas_thread_limits_and_restores():
    from threadpoolctl import threadpool_info, threadpool_limits

    from hyperinsync.backend import one_blas_thread

    def blas_threads():
        return {
            d["filepath"]: d["num_threads"] for d in threadpool_info() if d["user_api"] == "blas"
        }

    with threadpool_limits(limits=2, user_api="blas"):
        before = blas_threads()
        assert before and set(before.values()) == {2}
        for _ in range(2):  # the second time from the kept controller
            with one_blas_thread():
                assert set(blas_threads().values()) == {1}
            assert blas_threads() == before
