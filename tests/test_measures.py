"""Measures against closed forms, plain per-pair loops, HyPyP and the no-coupling PLV levels."""

import numpy as np
import pytest

from hyperinsync.sync.measures import MEASURES, compute_measure, is_signed, phase_relation
from hyperinsync.sync.spectral import _top_frequency, band_analytic, choose_decim


def _loop_reference(name, a, b):
    """Per-pair definitions written out plainly (a, b: 1-D complex, one pair)."""
    if name == "plv":
        return np.abs(np.mean(np.exp(1j * (np.angle(a) - np.angle(b)))))
    sab = np.mean(a * np.conj(b))
    saa, sbb = np.mean(np.abs(a) ** 2), np.mean(np.abs(b) ** 2)
    if name == "coh":
        return np.abs(sab) / np.sqrt(saa * sbb)
    if name == "imcoh":
        return np.imag(sab) / np.sqrt(saa * sbb)
    if name == "wpli":
        im = np.imag(a * np.conj(b))
        return np.abs(np.mean(im)) / np.mean(np.abs(im))
    if name == "ccorr":
        pa, pb = np.angle(a), np.angle(b)
        ma = np.arctan2(np.mean(np.sin(pa)), np.mean(np.cos(pa)))
        mb = np.arctan2(np.mean(np.sin(pb)), np.mean(np.cos(pb)))
        sa, sb = np.sin(pa - ma), np.sin(pb - mb)
        return np.sum(sa * sb) / np.sqrt(np.sum(sa**2) * np.sum(sb**2))
    if name == "envcorr":
        return np.corrcoef(np.abs(a), np.abs(b))[0, 1]
    raise AssertionError(name)


@pytest.fixture(scope="module")
def pair_data():
    rng = np.random.default_rng(3)
    shape = (4, 2, 3, 50)  # epochs, freqs, signals, times
    za = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    zb = 0.5 * za[:, :, :2] + rng.standard_normal((4, 2, 2, 50)) * (1 + 1j)
    return za, zb


@pytest.mark.parametrize("name", list(MEASURES))
@pytest.mark.parametrize("convention", ["within", "across"])
@pytest.mark.parametrize("signed", [False, True])
def test_matches_plain_loops(pair_data, name, convention, signed):
    za, zb = pair_data
    got = compute_measure(name, za, zb, convention, signed=signed)
    n_e, n_f, n_a, n_t = za.shape
    n_b = zb.shape[2]
    for e_or_t in range(n_e if convention == "within" else n_t):
        for f in range(n_f):
            for i in range(n_a):
                for j in range(n_b):
                    if convention == "within":
                        a, b = za[e_or_t, f, i], zb[e_or_t, f, j]
                        val = got[e_or_t, f, i, j]
                    else:
                        a, b = za[:, f, i, e_or_t], zb[:, f, j, e_or_t]
                        val = got[f, e_or_t, i, j]
                    ref = _loop_reference(name, a, b)
                    if name in ("imcoh", "ccorr") and not is_signed(name, signed, convention):
                        ref = abs(ref)  # HyPyP's |Im| and |ccorr|; imcoh signed across
                    assert val == pytest.approx(ref, rel=1e-10, abs=1e-12)


def test_closed_forms():
    t = np.arange(2000) / 500.0
    rng = np.random.default_rng(0)
    amp = 1 + 0.5 * rng.random(t.size)
    za = (amp * np.exp(2j * np.pi * 10 * t + 0.3 * np.sin(2 * np.pi * 0.5 * t)))[None, None, None]
    lag = 0.7
    zb = za * np.exp(-1j * lag)
    # identical signals
    for name, expected in [("plv", 1), ("coh", 1), ("imcoh", 0), ("ccorr", 1), ("envcorr", 1)]:
        assert compute_measure(name, za, za)[0, 0, 0, 0] == pytest.approx(expected, abs=1e-9)
    # constant phase lag: PLV = coh = 1, imcoh = sin(lag), wPLI = 1
    assert compute_measure("plv", za, zb)[0, 0, 0, 0] == pytest.approx(1, abs=1e-12)
    assert compute_measure("coh", za, zb)[0, 0, 0, 0] == pytest.approx(1, abs=1e-12)
    assert compute_measure("imcoh", za, zb)[0, 0, 0, 0] == pytest.approx(np.sin(lag), abs=1e-12)
    assert compute_measure("wpli", za, zb)[0, 0, 0, 0] == pytest.approx(1, abs=1e-12)
    # anti-phase: PLV 1, imcoh 0
    assert compute_measure("plv", za, -za)[0, 0, 0, 0] == pytest.approx(1, abs=1e-12)
    assert compute_measure("imcoh", za, -za)[0, 0, 0, 0] == pytest.approx(0, abs=1e-9)
    # signed imcoh across epochs follows the lead: a leads b by +lag -> positive
    many = np.repeat(za[..., :1], 30, axis=0) * np.exp(1j * rng.uniform(0, 6, (30, 1, 1, 1)))
    signed = compute_measure("imcoh", many, many * np.exp(-1j * lag), "across")
    assert signed[0, 0, 0, 0] == pytest.approx(np.sin(lag), abs=1e-9)


def test_zero_signal_gives_zero_not_nan():
    z = np.zeros((1, 1, 2, 10), complex)
    for name in MEASURES:
        out = compute_measure(name, z, z)
        assert np.all(np.isfinite(out)), name


@pytest.mark.parametrize(
    "band, expected",
    # ../shared/reference/null-plv.md: two independent noise signals, PLV over one window
    [
        ((4.0, 7.0), {1: 0.35, 2: 0.26, 4: 0.19, 10: 0.11}),
        ((8.0, 12.0), {1: 0.31, 2: 0.22, 4: 0.16, 10: 0.10}),
    ],
)
def test_null_plv_levels(band, expected):
    sf = 250.0
    x = np.random.default_rng(7).standard_normal((12, int(400 * sf)))
    for win, level in expected.items():
        n_len = int(win * sf)
        q = choose_decim(sf, _top_frequency(band, "fft", sf, 7, 1), divides=n_len)
        z = band_analytic(x, sf, {"b": band}, decim=q, precision="double")["b"].data
        n_ep = z.shape[-1] // (n_len // q)
        z = z[..., : n_ep * (n_len // q)].reshape(12, 1, n_ep, n_len // q).transpose(2, 1, 0, 3)
        # float(): with backend 'auto' on a GPU the mean is a 0-d device array
        plv = float(compute_measure("plv", z[:, :, :6], z[:, :, 6:]).mean())
        assert plv == pytest.approx(level, abs=0.015), (band, win)


def test_hypyp_definitions_agree():
    """Our within-epoch measures equal HyPyP's compute_sync on the same analytic signals."""
    analyses = pytest.importorskip("hypyp.analyses")
    rng = np.random.default_rng(5)
    n_ep, n_ch, n_t = 3, 4, 200
    shape = (2, n_ep, n_ch, 1, n_t)
    sig = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    sig[1] += 0.8 * sig[0]
    za = sig[0].transpose(0, 2, 1, 3)  # (E, F, n, T)
    zb = sig[1].transpose(0, 2, 1, 3)
    modes = {
        "plv": "plv",
        "coh": "coh",
        "imcoh": "imaginary_coh",
        "ccorr": "ccorr",
        "envcorr": "envelope_corr",
        "wpli": "wpli",
    }
    for ours, theirs in modes.items():
        ref = analyses.compute_sync(sig, theirs, epochs_average=False)  # (F, E, 2n, 2n)
        ref_inter = ref[0][:, :n_ch, n_ch:]
        got = compute_measure(ours, za, zb)[:, 0]
        np.testing.assert_allclose(got, ref_inter, rtol=1e-9, atol=1e-12, err_msg=ours)


def test_signed_measures_and_phase_relation():
    assert [m for m in MEASURES if is_signed(m)] == ["envcorr"]
    assert is_signed("ccorr", signed=True) and is_signed("imcoh", convention="across")
    assert not is_signed("plv", signed=True)
    # signed ccorr keeps the sign the absolute value drops: B's phase mirrored
    t = np.arange(500) / 250.0
    phase = 2 * np.pi * 10 * t + 2 * np.sin(2 * np.pi * 1.3 * t)
    za = np.exp(1j * phase)[None, None, None]
    zb = np.exp(-1j * phase)[None, None, None]
    assert compute_measure("ccorr", za, zb, signed=True)[0, 0, 0, 0] < -0.9
    assert compute_measure("ccorr", za, zb)[0, 0, 0, 0] > 0.9
    names = phase_relation(np.array([0.1, -0.7, np.pi, -3.0, 2.0, 2 * np.pi, np.nan]))
    assert list(names) == [
        "in-phase",
        "in-phase",
        "anti-phase",
        "anti-phase",
        "lagged",
        "in-phase",
        "n/a",
    ]
    assert phase_relation(np.pi / 2) == "lagged"


def test_across_layout_is_contiguous(pair_data):
    """'across' puts the epochs last in a C-contiguous copy: each per-time-point product is
    then one BLAS matrix product (a transposed view is not).
    """
    from hyperinsync.sync.measures import samples_last

    za, _ = pair_data
    lay = samples_last(za, "across")
    assert lay.flags.c_contiguous and not np.shares_memory(lay, za)
    np.testing.assert_array_equal(lay, za.transpose(1, 3, 2, 0))
    assert samples_last(za, "within") is za


@pytest.mark.parametrize("convention", ["within", "across"])
def test_sums_measures_equal_compute_measure(pair_data, convention):
    """The measures of sums from one pass over (a, conj(b)) are those of compute_measure, and
    measure_samples_last on a prepared layout too.
    """
    from hyperinsync.sync.measures import measure_samples_last, samples_last, sums_measures

    za, zb = pair_data
    za = za.copy()
    za[0, 0, 0, 0] = 0  # a zero sample: unit phasor 0, never NaN
    a, b = samples_last(za, convention), samples_last(zb, convention)
    got = sums_measures(["plv", "coh", "imcoh"], a, b.conj(), convention)
    for name in ("plv", "coh", "imcoh"):
        ref = compute_measure(name, za, zb, convention)
        assert np.all(np.isfinite(got[name]))
        np.testing.assert_allclose(got[name], ref, rtol=1e-12, atol=1e-14, err_msg=name)
        np.testing.assert_allclose(
            measure_samples_last(name, a, b, convention), ref, rtol=1e-12, atol=1e-14
        )
    with pytest.raises(ValueError, match="wpli"):
        sums_measures(["wpli"], a, b.conj())
    # scratch arrays reused by a smaller call (the last chunk of a loop) give the same
    work = {}
    sums_measures(["plv", "coh"], a, b.conj(), convention, work=work)
    part = (slice(None), slice(0, 2)) if convention == "across" else (slice(0, 2),)
    got = sums_measures(["plv", "coh"], a[part], b[part].conj(), convention, work=work)
    assert work  # the scratch arrays were kept
    for name in ("plv", "coh"):
        np.testing.assert_allclose(
            got[name], compute_measure(name, za, zb, convention)[part], rtol=1e-12, atol=1e-14
        )
