"""Circular-shift nulls batched over shifts (issue 16, item 2) against per-shift references.

Levels 1 and 2 and ``surrogate_test(null='circular_shift')`` compute every shift of a chunk
from one batched product. Here each null is recomputed shift by shift, as the code did
before: B's band signal rolled by the shift (``numpy.roll``), the measure of every window
or epoch by :func:`hyperinsync.sync.measures.compute_measure` (independent of the window
engine), ROI means, and the null's own reductions; the shifts are those the analysis drew
(captured from its draw functions), so the comparison is value for value.
"""

import sys

import numpy as np
import pytest

import hyperinsync as hs
from hyperinsync.insync import level1, level2
from hyperinsync.insync.windows import _bad_windows, _Geometry, _roi_means, _Signals
from hyperinsync.sync.measures import compute_measure
from hyperinsync.sync.shifts import CircularShifts
from hyperinsync.sync.signals import DyadSignals

BANDS = {"theta": (4.0, 8.0), "alpha": (8.0, 13.0)}
ROIS = {"frontal": ["Fp1", "Fp2", "F3", "F4", "Fz"], "occipital": ["O1", "O2", "Oz"]}
# single precision: the batched and per-shift products round differently (1e-7 relative)
TOL = {"single": dict(rtol=2e-5, atol=2e-6), "double": dict(rtol=1e-10, atol=1e-12)}


@pytest.fixture(scope="module")
def dyad():
    raw = hs.simulate_dyad(
        duration=36.0,
        sfreq=100.0,
        seed=3,
        verbose=False,
        couplings=[hs.Coupling("alpha", "frontal", "frontal", strength=0.5)],
        segments=[("rest_pre", 10.0), ("session", 16.0), ("rest_post", 10.0)],
    )[0]
    raw.annotations.append(14.0, 1.0, "BAD_motion")  # some shifts lose windows/epochs
    return raw


def _spy(monkeypatch, module, name):
    """Record the return values of ``module.name`` (the draws an analysis makes)."""
    mod = sys.modules[module]
    orig, seen = getattr(mod, name), []

    def spy(*args, **kwargs):
        seen.append(orig(*args, **kwargs))
        return seen[-1]

    monkeypatch.setattr(mod, name, spy)
    return seen


def _windows(za, zb, measure, starts, length, roi):
    """(n_windows, n_roi_a, n_roi_b): the measure of each window, then ROI means."""
    xa = np.stack([za[:, s : s + length] for s in starts])[:, None]
    xb = np.stack([zb[:, s : s + length] for s in starts])[:, None]
    v = compute_measure(measure, xa, xb, "within")[:, 0].astype(float)
    return np.einsum("ri,wij,sj->wrs", roi[0], v, roi[1])


def test_circular_shifts_products_and_powers_equal_numpy_roll():
    """Per-lag products read B's shifted blocks in place: equal to rolled copies."""
    rng = np.random.default_rng(1)
    z = rng.standard_normal((2, 4, 60)) + 1j * rng.standard_normal((2, 4, 60))
    left = rng.standard_normal((2, 5, 3, 12)) + 1j * rng.standard_normal((2, 5, 3, 12))
    lags = [0, 7, 59, 60, 133]  # none, some, all but one, a full turn, more than one turn
    cs = CircularShifts(z, np, conj=True, power=True)
    got = cs.products(left, lags, 5, 12)  # (5 lags, 2, 5 blocks, 3, 4 signals)
    starts, length = np.array([0, 12, 30]), 20
    power = cs.window_power(np.array(lags), starts, length)
    for k, lag in enumerate(lags):
        rolled = np.roll(z, lag, axis=-1).conj()
        blocks = rolled.reshape(2, 4, 5, 12)
        np.testing.assert_allclose(got[k], np.einsum("fbiu,fjbu->fbij", left, blocks), rtol=1e-12)
        want = np.stack([(abs(rolled[..., s : s + length]) ** 2).sum(-1) for s in starts], 1)
        np.testing.assert_allclose(power[..., k * 4 : (k + 1) * 4], want, rtol=1e-12)


L1_WINDOW, L1_STEP, L1_N = 2.0, 0.5, 9


def _level1_bands(dyad, measure, precision, seed):
    """Run Level 1 on the fixture; yield per band its signals and window geometry.

    A small ``max_bytes``: several chunks of draws and of A's channels. Yields the result
    first, then ``(za, zb, q, geo, starts, length, bad_dec, roi)`` per band.
    """
    res = level1(
        dyad,
        BANDS,
        ROIS,
        measure=measure,
        window=L1_WINDOW,
        step=L1_STEP,
        n_surrogates=L1_N,
        alpha=0.2,
        min_shift=4.0,
        lead_lag=False,
        precision=precision,
        seed=seed,
        max_bytes=3e5,
        verbose=False,
    )
    yield res
    sfreq = dyad.info["sfreq"]
    n_win, n_step = int(L1_WINDOW * sfreq), int(L1_STEP * sfreq)
    sig = _Signals(DyadSignals(dyad, BANDS, precision=precision), ROIS, n_win, n_step)
    roi = _roi_means(sig)
    for band in BANDS:
        q = sig.decim[band]
        za, zb = sig.z[band]
        g, n_dec = n_step // q, za.shape[-1]
        geo = _Geometry(g, n_win // n_step, 1, res.values.shape[-1], n_dec)
        starts, length = np.arange(geo.n) * g, geo.w * g
        yield za, zb, q, geo, starts, length, sig.bad[::q][:n_dec], roi


@pytest.mark.parametrize("precision", ["single", "double"])
@pytest.mark.parametrize("measure", ["plv", "coh", "imcoh"])
def test_level1_chance_null_equals_per_shift_computation(dyad, monkeypatch, measure, precision):
    shifts = _spy(monkeypatch, "hyperinsync.insync.level1", "_null_shifts")
    bands = _level1_bands(dyad, measure, precision, seed=1)
    res = next(bands)
    (shifts,) = shifts
    top, pooled = [], []
    for za, zb, q, geo, starts, length, bad_dec, roi in bands:
        band_top, band_pool = [], []
        for shift in shifts:
            lag = int(round(shift / q))
            v = _windows(za, np.roll(zb, lag, axis=-1), measure, starts, length, roi)
            v[_bad_windows(bad_dec, lag, geo)] = np.nan
            band_top.append(np.nanmax(v, axis=0))
            band_pool.append(v[:: geo.w])  # non-overlapping windows
        top.append(band_top)
        pooled.append(np.concatenate(band_pool))
    top = np.array(top)  # (bands, shifts, ra, rb)
    mean = np.array([np.nanmean(p, axis=0) for p in pooled])
    sd = np.array([np.nanstd(p, axis=0, ddof=1) for p in pooled])
    np.testing.assert_allclose(res.null_mean, mean, **TOL[precision])
    np.testing.assert_allclose(res.null_sd, sd, **TOL[precision])
    z_max = ((top - mean[:, None]) / sd[:, None]).max(axis=(0, 2, 3))
    np.testing.assert_allclose(res.chance_null_max, z_max, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("precision", ["single", "double"])
@pytest.mark.parametrize("measure", ["plv", "coh", "imcoh"])
@pytest.mark.parametrize("null", ["circular_shift", "epoch_shuffle"])
def test_level2_null_equals_per_surrogate_computation(dyad, monkeypatch, null, measure, precision):
    n_sur, epoch = 19, 2.0
    draw = (
        ("_null_shifts", "hyperinsync.insync.level2")
        if null == "circular_shift"
        else ("shuffle_orders", "hyperinsync.insync.level2")
    )
    draws = _spy(monkeypatch, draw[1], draw[0])
    res = level2(
        dyad,
        BANDS,
        ROIS,
        measure=measure,
        null=null,
        n_surrogates=n_sur,
        epoch_duration=epoch,
        precision=precision,
        seed=2,
        max_bytes=3e5,
        n_permutations=99,
        verbose=False,
    )
    sfreq = dyad.info["sfreq"]
    n_ep = int(epoch * sfreq)
    sig = _Signals(DyadSignals(dyad, BANDS, precision=precision), ROIS, n_ep, n_ep)
    roi = _roi_means(sig)
    for si, seg in enumerate(res.segments):
        s0 = int(round(seg["onset"] * sfreq))
        n_epochs = int(round(seg["duration"] * sfreq)) // n_ep
        bad = sig.bad[s0 : s0 + n_epochs * n_ep].reshape(n_epochs, n_ep).any(axis=1)
        for bi, band in enumerate(BANDS):
            q = sig.decim[band]
            g = n_ep // q
            span = slice(s0 // q, s0 // q + n_epochs * g)
            za, zb = (z[:, span] for z in sig.z[band])
            want = []
            for d in draws[si]:
                if null == "circular_shift":
                    lag = int(round(d / q))
                    zs = np.roll(zb, lag, axis=-1)
                    seg_bad = sig.bad[s0 : s0 + n_epochs * n_ep]
                    b_bad = np.roll(seg_bad, lag * q).reshape(n_epochs, n_ep).any(axis=1)
                else:
                    zs = zb.reshape(len(zb), n_epochs, g)[:, d].reshape(zb.shape)
                    b_bad = bad[d]
                v = _windows(za, zs, measure, np.arange(n_epochs) * g, g, roi)
                want.append(v[~bad & ~b_bad].mean(axis=0))
            np.testing.assert_allclose(res.null[si, :, bi], np.array(want), **TOL[precision])


@pytest.mark.parametrize("precision", ["single", "double"])
def test_surrogate_test_shift_null_equals_gathered_per_shift_path(dyad, monkeypatch, precision):
    """PLV, coh, imcoh (abs and signed) from sums equal the gathered path, which stays for
    the measures that are not sums (wPLI, ccorr, envcorr) and which is the code before.
    """
    from hyperinsync.stats import nulls

    kw = dict(
        bands=BANDS,
        null="circular_shift",
        n_surrogates=19,
        rois=ROIS,
        seed=4,
        min_shift=3.0,
        precision=precision,
        max_bytes=3e5,
        verbose=False,
    )
    measures = ["plv", "coh", "imcoh", "wpli"]
    for signed in (False, True):
        new = hs.surrogate_test(dyad, measures=measures, signed=signed, **kw)
        with monkeypatch.context() as m:
            m.setattr(nulls, "FROM_SUMS", {})  # every measure by the gathered path
            old = hs.surrogate_test(dyad, measures=measures, signed=signed, **kw)
        assert new.params["lags_s"] == old.params["lags_s"]
        np.testing.assert_allclose(new.null, old.null, **TOL[precision])
        np.testing.assert_array_equal(new.p, old.p)


def test_surrogate_test_shift_null_equals_loop_over_rolled_epochs(dyad):
    """The gathered path itself against a plain loop: B's band signal rolled by each lag,
    the measure per epoch, the mean over epochs whose A and shifted B are clean.
    """
    res = hs.surrogate_test(
        dyad,
        BANDS,
        ["plv", "ccorr"],
        null="circular_shift",
        n_surrogates=19,
        rois=ROIS,
        seed=5,
        min_shift=3.0,
        precision="double",
        verbose=False,
    )
    sfreq = dyad.info["sfreq"]
    n_ep = int(2.0 * sfreq)
    dsig = DyadSignals(dyad, BANDS, precision="double")
    sig = _Signals(dsig, ROIS, n_ep, n_ep)
    roi = _roi_means(sig)
    n_epochs = dyad.n_times // n_ep
    bad = sig.bad[: n_epochs * n_ep].reshape(n_epochs, n_ep).any(axis=1)
    for bi, band in enumerate(BANDS):
        q = sig.decim[band]
        g = n_ep // q
        za, zb = (z[:, : n_epochs * g] for z in sig.z[band])
        for k, lag_s in enumerate(res.params["lags_s"]):
            lag = int(round(lag_s * sfreq))
            b_bad = np.roll(sig.bad[: n_epochs * n_ep], -lag).reshape(n_epochs, n_ep).any(1)
            for mi, m in enumerate(["plv", "ccorr"]):
                v = _windows(
                    za, np.roll(zb, -(lag // q), axis=-1), m, np.arange(n_epochs) * g, g, roi
                )
                np.testing.assert_allclose(
                    res.null[k, mi, bi], v[~bad & ~b_bad].mean(0), rtol=1e-9, atol=1e-12
                )


def test_chunking_and_threads_do_not_change_the_nulls(dyad):
    """max_bytes and n_jobs change how shifts are chunked and run, not the values."""
    kw = dict(bands=BANDS, rois=ROIS, seed=0, precision="double", verbose=False)
    big = level2(dyad, n_surrogates=19, n_permutations=99, **kw)
    small = level2(dyad, n_surrogates=19, n_permutations=99, max_bytes=2e5, n_jobs=2, **kw)
    np.testing.assert_allclose(small.null, big.null, rtol=1e-12)
    kw.update(measures=["coh", "imcoh"], null="circular_shift", n_surrogates=19, min_shift=3.0)
    big = hs.surrogate_test(dyad, **kw)
    small = hs.surrogate_test(dyad, max_bytes=2e5, n_jobs=2, **kw)
    np.testing.assert_allclose(small.null, big.null, rtol=1e-12)


@pytest.mark.parametrize(
    "measure, precision",
    [("plv", "single"), ("plv", "double"), ("coh", "double"), ("imcoh", "single")],
)
def test_level1_tonic_null_equals_per_order_computation(dyad, monkeypatch, measure, precision):
    """The block-shuffle null, batched over orders, against each order recomputed alone.

    For every drawn order both people's band signals are re-ordered block by block (each
    block keeps its pairing, the tail past the common grid stays at the end), every window
    is computed by ``compute_measure``, then ROI means, each series' median and MAD-based
    SD over the observed series' clean windows and the family's maximum.
    """
    orders = _spy(monkeypatch, "hyperinsync.insync.level1", "_piece_orders")
    bands = _level1_bands(dyad, measure, precision, seed=5)
    res = next(bands)
    (orders,) = orders
    z_max = np.full(L1_N, -np.inf)
    for za, zb, _, geo, starts, length, bad_dec, roi in bands:
        valid = ~_bad_windows(bad_dec, 0, geo)
        for k, order in enumerate(orders):
            order = np.concatenate([order, np.arange(len(order), geo.n_blocks)])
            samples = (order[:, None] * geo.g + np.arange(geo.g)).ravel()
            v = _windows(za[:, samples], zb[:, samples], measure, starts, length, roi)[valid]
            med = np.median(v, axis=0)
            sd = 1.482602218505602 * np.median(abs(v - med), axis=0)
            z_max[k] = max(z_max[k], ((v.max(axis=0) - med) / sd).max())
    # standardised by a MAD: single-precision rounding is amplified a little
    tol = TOL[precision] if precision == "double" else dict(rtol=2e-4, atol=2e-4)
    np.testing.assert_allclose(res.tonic_null_max, z_max, **tol)
