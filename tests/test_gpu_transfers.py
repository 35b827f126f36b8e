"""Host/device traffic and GPU memory, measured with the CuPy emulation.

These run in the GPU step (``HYPERINSYNC_CUPY_EMULATION=one-gpu pytest -m gpu``, CI) and on
a machine with CuPy and a GPU; the ``cupy_emulation`` fixture gives each test an emulated
GPU with fresh counters (its own when the run has none). On a GPU, every analysis keeps its
data on the device between the band signals and the final statistics: the number of
host/device copies must not grow with
the number of surrogates, epochs or episodes (before issue 15 it grew with all three: a
copy per surrogate in phase randomisation and Levels 1-2, per chunk of epochs in
compute_sync and the epoch-shuffle null, per episode in Level 1's lead-lag).
"""

import warnings

import numpy as np
import pytest
from conftest import gpu_step_only

import hyperinsync as hs
from hyperinsync.backend import get_backend, gpu_fallback, gpu_step

pytestmark = [pytest.mark.gpu, gpu_step_only()]

ALPHA = {"alpha": (8.0, 12.0)}
ROIS = {"frontal": ["Fp1", "Fp2", "F3", "F4", "Fz"], "occipital": ["O1", "O2", "Oz"]}
SMALL = 2e5  # bytes: several chunks of epochs, surrogates and channels


@pytest.fixture(scope="module")
def raw(coupled_dyad):
    return coupled_dyad(duration=40.0, sfreq=100.0, seed=1)[0]


def counts(emu, func, *args, **kw):
    """(h2d, d2h, scalar reads) of a call, after a first call (kernels cached on the GPU)."""
    func(*args, **kw)
    emu.stats.reset()
    res = func(*args, **kw)
    s = emu.stats.snapshot()
    return (s["h2d"], s["d2h"], s["scalar_reads"]), res


def assert_same(emu, func, variants, **kw):
    """The same transfer counts whatever the variant (more surrogates, epochs, ...)."""
    got = {name: counts(emu, func, **kw, **extra)[0] for name, extra in variants.items()}
    assert len(set(got.values())) == 1, f"transfers grow: {got}\n{emu.stats.report()}"
    return next(iter(got.values()))


@pytest.mark.parametrize("convention", ["within", "across"])
def test_compute_sync_copies_results_once(cupy_emulation, raw, convention):
    n = assert_same(
        cupy_emulation,
        hs.compute_sync,
        {"20 epochs": dict(epoch_duration=2.0), "40 epochs": dict(epoch_duration=1.0)},
        inst=raw,
        bands=ALPHA,
        measures=["plv", "ccorr"],
        rois=ROIS,
        convention=convention,
        backend="cupy",
        max_bytes=SMALL,
        verbose=False,
    )
    assert n[1] == 1 and n[2] == 0  # one copy back, no scalar reads


@pytest.mark.parametrize(
    "null", ["epoch_shuffle", "circular_shift", "segment_shuffle", "phase_randomization"]
)
def test_null_transfers_do_not_grow(cupy_emulation, raw, null):
    kw = dict(
        inst=raw,
        bands=ALPHA,
        measures=["plv", "coh"],
        null=null,
        seed=0,
        rois=ROIS,
        min_shift=3.0,
        segment_duration=4.0,
        backend="cupy",
        max_bytes=SMALL,
        verbose=False,
    )
    n = assert_same(
        cupy_emulation,
        hs.surrogate_test,
        {"10": dict(n_surrogates=10), "40": dict(n_surrogates=40)},
        epoch_duration=2.0,
        **kw,
    )
    m = assert_same(
        cupy_emulation,
        hs.surrogate_test,
        {"2 s": dict(epoch_duration=2.0), "1 s": dict(epoch_duration=1.0)},
        n_surrogates=10,
        **kw,
    )
    # observed values, null values, observed phases: three copies back
    assert n[1] == m[1] == 3 + (null == "segment_shuffle") and n[2] == 0


def test_pseudo_dyad_transfers_do_not_grow(cupy_emulation):
    dyads = [
        hs.simulate_dyad(duration=20.0, sfreq=100.0, seed=s, verbose=False)[0] for s in range(4)
    ]
    kw = dict(
        dyads=dyads,
        bands=ALPHA,
        rois=ROIS,
        seed=0,
        n_permutations=99,
        backend="cupy",
        max_bytes=SMALL,
        verbose=False,
    )
    assert_same(
        cupy_emulation,
        hs.pseudo_dyad_test,
        {"4": dict(n_surrogates=4), "12": dict(n_surrogates=None)},
        **kw,
    )
    n = assert_same(
        cupy_emulation,
        hs.pseudo_dyad_test,
        {"2 s": dict(epoch_duration=2.0), "1 s": dict(epoch_duration=1.0)},
        **kw,
    )
    assert n[1] == 2 and n[2] == 0


def _planted(episodes):
    coupling = hs.Coupling("alpha", "frontal", "frontal", strength=0.9, episodes=episodes)
    return hs.simulate_dyad(
        duration=60.0, sfreq=100.0, seed=2, couplings=[coupling], verbose=False
    )[0]


def test_level1_transfers_do_not_grow_with_surrogates_or_episodes(cupy_emulation):
    kw = dict(
        bands=ALPHA,
        rois=ROIS,
        window=4.0,
        step=1.0,
        min_shift=5.0,
        seed=0,
        backend="cupy",
        max_bytes=SMALL,
        verbose=False,
    )
    one = _planted([(20.0, 32.0)])
    assert_same(
        cupy_emulation,
        hs.level1,
        {"19": dict(n_surrogates=19), "39": dict(n_surrogates=39)},
        raw=one,
        **kw,
    )
    n1, r1 = counts(cupy_emulation, hs.level1, one, n_surrogates=19, **kw)
    n2, r2 = counts(
        cupy_emulation, hs.level1, _planted([(10.0, 18.0), (40.0, 48.0)]), n_surrogates=19, **kw
    )
    assert 0 < len(r1.episodes) < len(r2.episodes)
    assert n1 == n2, cupy_emulation.stats.report()
    assert n1[2] == 0


def test_level2_transfers_do_not_grow(cupy_emulation, raw):
    kw = dict(
        raw=raw,
        bands=ALPHA,
        rois=ROIS,
        segments=[],
        block=20.0,
        contrasts=[],
        seed=0,
        backend="cupy",
        max_bytes=SMALL,
        verbose=False,
    )
    for null in ("circular_shift", "epoch_shuffle"):
        assert_same(
            cupy_emulation,
            hs.level2,
            {"19": dict(n_surrogates=19), "39": dict(n_surrogates=39)},
            null=null,
            **kw,
        )
        n = assert_same(
            cupy_emulation,
            hs.level2,
            {"2 s": dict(epoch_duration=2.0), "1 s": dict(epoch_duration=1.0)},
            null=null,
            n_surrogates=19,
            **kw,
        )
        assert n[1] == 2 and n[2] == 0


def test_study_with_numpy_backend_never_touches_the_gpu(cupy_emulation, tmp_path):
    """analysis.backend='numpy' on a machine with a GPU: every step (sync, surrogates,
    Levels 1-2, pseudo-dyads) computes with NumPy and records it (issue 15, defect 1).
    """
    st = hs.Study(
        simulate=dict(n_dyads=2, n_sessions=1, segments=[("rest", 20.0)], sfreq=100.0, seed=3),
        analysis=dict(bands=ALPHA, backend="numpy", rois=ROIS),
        surrogates=dict(n_surrogates=9, seed=0),
        insync=dict(
            level1=dict(window=4.0, step=2.0, n_surrogates=19, min_shift=4.0, seed=1),
            level2=dict(segments=[], block=10.0, contrasts=[], n_surrogates=19, seed=1),
            level3=False,
        ),
        statistics=dict(n_permutations=99, pseudo_dyads={}),
    )
    assert get_backend("auto").name == "cupy"  # a GPU is there
    cupy_emulation.stats.reset()
    res = st.run(tmp_path, verbose=False)
    snap = cupy_emulation.stats.snapshot()
    assert snap["transfers"] == 0, cupy_emulation.stats.report()
    for rec in res.recordings.values():
        for r in (
            rec["sync"]["all"],
            rec["surrogates"]["all"],
            rec["level1"]["all"],
            rec["level2"],
        ):
            assert r.params["backend"] == "numpy"
    assert res.group["pseudo_dyads"]["all"].params["backend"] == "numpy"


# ---------------------------------------------------------------------- GPU memory
def test_max_bytes_auto(cupy_emulation):
    emu = cupy_emulation
    emu.memory = int(1e9)
    free = emu.cupy.cuda.Device().mem_info[0]
    assert get_backend("cupy").max_bytes("auto") == pytest.approx(free / 8)
    emu.memory = emu.stats.live + int(1e6)
    assert get_backend("cupy").max_bytes("auto") == 16e6  # at least 16 MB
    assert get_backend("numpy").max_bytes("auto") == 256e6
    assert get_backend("cupy").max_bytes(1e6) == 1e6
    with pytest.raises(ValueError, match="max_bytes"):
        get_backend("cupy").max_bytes("lots")
    with pytest.raises(ValueError, match="positive"):
        get_backend("numpy").max_bytes(0)


def _peak(emu, **kw):
    emu.stats.reset()
    res = hs.compute_sync(**kw)
    return emu.stats.peak, res


def test_out_of_memory_retries_with_smaller_chunks(cupy_emulation, raw):
    emu = cupy_emulation
    kw = dict(
        inst=raw, bands=ALPHA, measures=["plv", "coh"], rois=None, backend="cupy", verbose=False
    )
    big, ref = _peak(emu, max_bytes=4e6, **kw)
    small, _ = _peak(emu, max_bytes=4e6 / 8, **kw)
    assert small < big  # smaller chunks need less device memory
    emu.memory = int((small + big) / 2)
    emu.stats.reset()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a retry is not worth a warning
        res = hs.compute_sync(max_bytes=4e6, **kw)
    assert res.params["backend"] == "cupy"
    assert emu.stats.peak <= emu.memory
    np.testing.assert_array_equal(res.data, ref.data)  # chunks change no value


def test_out_of_memory_falls_back_to_numpy_with_a_warning(cupy_emulation, raw):
    emu = cupy_emulation
    kw = dict(inst=raw, bands=ALPHA, measures=["plv"], rois=ROIS, verbose=False)
    ref = hs.compute_sync(backend="numpy", **kw)
    emu.memory = emu.stats.live + 50_000  # not even one channel group's band signals
    with pytest.warns(
        RuntimeWarning,
        match=r"compute_sync: the GPU ran out of memory in "
        r"step 'band signals'.*computed with NumPy",
    ):
        res = hs.compute_sync(backend="cupy", **kw)
    assert res.params["backend"] == "numpy"
    np.testing.assert_array_equal(res.data, ref.data)
    with pytest.warns(RuntimeWarning, match="surrogate_sync: the GPU ran out of memory"):
        sur = hs.surrogate_test(
            raw, ALPHA, n_surrogates=9, seed=0, rois=ROIS, backend="cupy", verbose=False
        )
    assert sur.params["backend"] == "numpy"


def test_gpu_fallback_retries_names_the_step_and_rewinds_the_seed(cupy_emulation):
    oom = cupy_emulation.cupy.cuda.memory.OutOfMemoryError
    calls = []

    @gpu_fallback("toy", retries=2, shrink=8)
    def toy(x, *, seed=None, backend="auto", max_bytes="auto", fits=0.0):
        calls.append((get_backend(backend).name, max_bytes, seed.random()))
        if get_backend(backend).name == "cupy":
            with gpu_step("toy step"):
                if max_bytes > fits:
                    raise oom(int(max_bytes), 0)
        return x

    rng = np.random.default_rng(0)
    first = np.random.default_rng(0).random()
    assert toy(1, seed=rng, backend="cupy", max_bytes=64e6, fits=2e6) == 1
    assert [c[1] for c in calls] == [64e6, 8e6, 1e6]  # retried with 8x smaller chunks
    assert all(c[0] == "cupy" and c[2] == first for c in calls)  # the same draws
    calls.clear()
    with pytest.warns(
        RuntimeWarning,
        match=r"toy: the GPU ran out of memory in step "
        r"'toy step' even with chunks of 1 MB",
    ):
        assert toy(2, seed=rng, backend="cupy", max_bytes=64e6, fits=0.0) == 2
    assert [c[0] for c in calls] == ["cupy"] * 3 + ["numpy"]
    assert calls[-1][2] == calls[0][2]
    calls.clear()

    @gpu_fallback("broken")
    def broken(backend="auto", max_bytes="auto"):
        calls.append(1)
        raise ValueError("not a memory problem")

    with pytest.raises(ValueError, match="not a memory problem"):
        broken(backend="cupy")
    assert calls == [1]  # raised at once, no retry
