"""Test options: the CuPy emulation (``tests/_cupy_emulation.py``).

``pytest --cupy-emulation=one-gpu`` (or ``HYPERINSYNC_CUPY_EMULATION=one-gpu``) installs the
emulation as ``cupy`` for the whole run, before any test imports hyperinsync's backend:
``backend='auto'`` then computes on the emulated GPU and the ``gpu`` tests run with
``backend='cupy'``. ``no-gpu``: CuPy imports but reports no device (``'auto'`` uses NumPy,
``'cupy'`` is a clear error). The ``cupy_emulation`` fixture gives a test the emulation (the
run's, or its own "one GPU" one, removed afterwards) with its transfer counters reset.
"""

import functools
import os
import sys
from pathlib import Path

import pytest
from _cupy_emulation import MODES, Emulation, current

ENV = "HYPERINSYNC_CUPY_EMULATION"
# processes the tests start import this folder's cupy, which installs the same emulation
CHILD_SITE = Path(__file__).parent / "_cupy_site"


def pytest_addoption(parser):
    parser.addoption(
        "--cupy-emulation",
        choices=("off",) + MODES,
        default=None,
        help=f"install the CuPy emulation as cupy for the run (default: ${ENV} or off)",
    )


def _mode(config):
    mode = config.getoption("--cupy-emulation") or os.environ.get(ENV, "").strip() or "off"
    if mode not in ("off",) + MODES:
        raise pytest.UsageError(f"{ENV}={mode!r}: use one of {('off',) + MODES}")
    return mode


def gpu_step_only():
    """Skip marker for tests that belong to the GPU step (``pytest -m gpu`` with the CuPy
    emulation, or on a GPU), to keep the plain run short; they run there.
    """
    from hyperinsync.backend import cupy_available

    return pytest.mark.skipif(
        current() is None and not cupy_available(),
        reason=f"the GPU step runs it: {ENV}=one-gpu pytest -m gpu",
    )


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "gpu: the GPU path (NumPy/CuPy agreement, pipeline smoke and transfer "
        "tests); CI runs them under the CuPy emulation",
    )
    mode = _mode(config)
    if mode != "off":
        config._cupy_emulation = Emulation(mode).install()
        # child processes: new interpreters read PYTHONPATH; joblib's and multiprocessing's
        # workers take this process's sys.path (here cupy is already the emulation)
        os.environ[ENV] = mode
        path = os.environ.get("PYTHONPATH", "")
        os.environ["PYTHONPATH"] = os.pathsep.join([str(CHILD_SITE)] + ([path] if path else []))
        sys.path.insert(0, str(CHILD_SITE))


def pytest_unconfigure(config):
    emu = getattr(config, "_cupy_emulation", None)
    if emu is not None:
        emu.uninstall()


def pytest_report_header(config):
    mode = _mode(config)
    return None if mode == "off" else f"CuPy emulation: {mode} (tests/_cupy_emulation.py)"


@pytest.fixture
def cupy_emulation(monkeypatch):
    """The installed emulation ("one GPU": the run's, else one for this test only).

    ``HYPERINSYNC_BACKEND`` is unset for the test, so ``backend='auto'`` means the device.
    """
    monkeypatch.delenv("HYPERINSYNC_BACKEND", raising=False)
    emu = current()
    own = emu is None or emu.mode != "one-gpu"
    if own:
        previous = emu
        emu = Emulation("one-gpu").install()
    memory = emu.memory  # a test may shrink the device: the next one gets it back
    emu.stats.reset()
    try:
        yield emu
    finally:
        emu.memory = memory
        if own:
            emu.uninstall()
            if previous is not None:
                previous.install()


@functools.lru_cache(maxsize=32)
def _simulated(coupled, duration, sfreq, seed, kwargs):
    # imported here: the CuPy emulation is installed before hyperinsync is first imported
    from hyperinsync.simulation import Coupling, simulate_dyad

    return simulate_dyad(
        duration=duration,
        sfreq=sfreq,
        seed=seed,
        couplings=[Coupling()] if coupled else [],
        verbose=False,
        **dict(kwargs),
    )


def _factory(coupled):
    def make(duration=40.0, sfreq=100.0, seed=0, **kwargs):
        raw, truth = _simulated(
            coupled, float(duration), float(sfreq), seed, tuple(sorted(kwargs.items()))
        )
        return raw.copy(), truth

    return make


@pytest.fixture(scope="session")
def coupled_dyad():
    """``make(duration=40.0, sfreq=100.0, seed=0, **simulate_dyad_kwargs)`` -> ``(raw, truth)``
    of a dyad whose frontal ROIs share an alpha source (strength 0.5).
    """
    return _factory(True)


@pytest.fixture(scope="session")
def null_dyad():
    """``make(duration=40.0, sfreq=100.0, seed=0, **simulate_dyad_kwargs)`` -> ``(raw, truth)``
    of a dyad without any coupling (independent people).
    """
    return _factory(False)


def assert_pseudo_dyads_equal_loop(res, dyads, bands, measures):
    """Check a pseudo-dyad result against compute_sync on each pairing and each real dyad.

    ``dyads`` as the analysis saw them (cut to a common length); returns compute_sync's
    results of the real dyads.
    """
    import numpy as np

    import hyperinsync as hi
    from hyperinsync.dyad import make_dyad_raw

    roles = dyads[0].roles
    for k, (a, b) in enumerate(res.params["pairs"]):
        pseudo = make_dyad_raw(
            dyads[a // 2].participant(roles[0]),
            dyads[b // 2].participant(roles[1]),
            roles=roles,
            verbose=False,
        )
        ref = hi.compute_sync(pseudo, bands, measures, backend="numpy", verbose=False)
        np.testing.assert_allclose(res.null[k], ref.data, rtol=1e-5, atol=1e-6)
    real = [hi.compute_sync(d, bands, measures, backend="numpy", verbose=False) for d in dyads]
    for d, ref in enumerate(real):
        np.testing.assert_allclose(res.observed[d], ref.data, rtol=1e-5, atol=1e-6)
    return real
