"""Band analytic signals against MNE's own transforms and closed forms."""

import mne
import numpy as np
import pytest
from mne.time_frequency.tfr import cwt, morlet
from scipy.signal import detrend, freqz, hilbert

from hyperinsync.sync.bands import band_freqs, fft_filter_response, mne_transition_bandwidths
from hyperinsync.sync.spectral import band_analytic, choose_decim

SF = 500.0


@pytest.fixture(scope="module")
def noise():
    return np.random.default_rng(0).standard_normal((3, 4, 1500))


def _host(a):
    """A band signal on the host: with backend 'auto' on a GPU it is a device array."""
    return a.get() if hasattr(a, "__cuda_array_interface__") else a


def _mne_cwt(x, freqs, n_cycles=7.0):
    """MNE's cwt of each epoch after scipy's linear detrend (band_analytic removes the line)."""
    ws = morlet(SF, freqs, n_cycles=n_cycles, zero_mean=True)
    x = detrend(x, axis=-1, type="linear")
    return np.array([[cwt(sig[None], ws, use_fft=True, mode="same")[0] for sig in ep] for ep in x])


def test_morlet_equals_mne_cwt(noise):
    """Morlet on epochs equals MNE's cwt(mode='same') with mne-connectivity's wavelets, on
    linearly detrended epochs.
    """
    out = band_analytic(noise, SF, {"alpha": (8, 13)}, method="morlet", precision="double")
    sig = out["alpha"]
    assert sig.data.shape == (3, 4, 6, 1500)
    np.testing.assert_array_equal(sig.freqs, [8, 9, 10, 11, 12, 13])
    ref = _mne_cwt(noise, sig.freqs)
    assert np.abs(_host(sig.data) - ref).max() < 1e-12 * np.abs(ref).max()


def test_morlet_single_precision_truncation(noise):
    """In single precision the wavelet spectra are truncated at 1e-7 of their peak: still
    within float32 rounding of MNE's cwt.
    """
    out = band_analytic(noise, SF, {"alpha": (8, 13)}, method="morlet", precision="single")
    ref = _mne_cwt(noise, out["alpha"].freqs)
    err = np.abs(_host(out["alpha"].data) - ref).max() / np.abs(ref).max()
    assert err < 2e-6


@pytest.mark.parametrize("q", [2, 4, 7])
def test_decimation_is_exact_subsampling(noise, q):
    full = band_analytic(noise, SF, {"theta": (4, 8)}, method="morlet", precision="double")
    dec = band_analytic(noise, SF, {"theta": (4, 8)}, method="morlet", precision="double", decim=q)
    assert dec["theta"].decim == q and dec["theta"].sfreq == SF / q
    ref = full["theta"].data[..., ::q]
    assert np.abs(dec["theta"].data - ref).max() < 1e-12 * np.abs(ref).max()


def test_fft_decimation_interior():
    """Decimated 'fft' output equals full rate away from the recording edges.

    The 'fft' filter is defined on the transform's frequency grid, whose length is a multiple
    of the decimation, so the two runs use marginally different grids: agreement is to 1e-4
    of the signal's peak rather than to float precision (Morlet kernels are grid-free and
    agree exactly, see test_decimation_is_exact_subsampling).
    """
    x = np.random.default_rng(1).standard_normal((2, 20000))
    full = band_analytic(x, SF, method="fft", precision="double")
    dec = band_analytic(x, SF, method="fft", precision="double", decim="auto")
    for name, sig in dec.items():
        q = sig.decim
        assert q > 1
        a = sig.data[..., 2000 // q : -2000 // q]
        b = full[name].data[..., ::q][..., 2000 // q : -2000 // q]
        assert np.abs(a - b).max() < 1e-4 * np.abs(b).max()


def test_mne_fir_is_filter_data_plus_hilbert(noise):
    """'mne_fir' is exactly MNE filter_data defaults + scipy hilbert (HyPyP's recipe)."""
    out = band_analytic(noise, SF, {"alpha": (8, 13)}, method="mne_fir", precision="double")
    filt = mne.filter.filter_data(noise.reshape(-1, 1500), SF, 8, 13, verbose=False)
    ref = hilbert(filt).reshape(3, 4, 1500)
    np.testing.assert_allclose(_host(out["alpha"].data[:, :, 0]), ref, rtol=0, atol=1e-15)


def test_fft_filter_response_matches_mne_fir():
    """The fast filter keeps MNE's band: same -6 dB points, close magnitude response."""
    sf = 500.0
    for lo, hi in [(4.0, 8.0), (8.0, 13.0)]:
        h = mne.filter.create_filter(None, sf, lo, hi, verbose=False)
        f, resp = freqz(h, worN=8192, fs=sf)
        mne_mag = np.abs(resp)
        ours = fft_filter_response(f, lo, hi, sf)
        l_tr, h_tr = mne_transition_bandwidths(lo, hi, sf)
        for edge in (lo - l_tr / 2, hi + h_tr / 2):
            i = np.argmin(np.abs(f - edge))
            assert abs(ours[i] - 0.5) < 0.02
            assert abs(mne_mag[i] - 0.5) < 0.05
        passband = (f >= lo) & (f <= hi)
        assert np.all(ours[passband] == 1.0)
        assert np.abs(mne_mag[passband] - 1).max() < 0.03
        # documented: the two responses differ by less than 0.1 in gain anywhere
        assert np.abs(ours - mne_mag).max() < 0.1
        stop = (f < lo - l_tr) | (f > hi + h_tr)
        assert np.all(ours[stop] == 0.0)


def test_fft_close_to_mne_fir_on_continuous_data():
    x = np.random.default_rng(2).standard_normal((3, 60000))
    a = band_analytic(x, SF, method="fft", precision="double")
    b = band_analytic(x, SF, method="mne_fir", precision="double")
    for name in a:
        za = a[name].data[:, 0, 3000:-3000].ravel()
        zb = b[name].data[:, 0, 3000:-3000].ravel()
        corr = np.abs(np.vdot(za, zb)) / np.linalg.norm(za) / np.linalg.norm(zb)
        assert corr > 0.999


def test_pure_tone_closed_form():
    """A 10 Hz cosine gives the analytic signal exp(i 2 pi 10 t) inside the alpha band."""
    t = np.arange(20000) / SF
    x = np.cos(2 * np.pi * 10 * t)[None]
    z = _host(band_analytic(x, SF, {"alpha": (8, 13)}, precision="double")["alpha"].data[0, 0])
    ref = np.exp(2j * np.pi * 10 * t)
    # edges carry the padding's transient; 2 s inside the filter has settled
    np.testing.assert_allclose(z[1000:-1000], ref[1000:-1000], atol=1e-4)
    z_theta = band_analytic(x, SF, {"theta": (4, 6)}, precision="double")["theta"].data
    assert np.abs(z_theta[0, 0, 1000:-1000]).max() < 1e-4


def test_single_precision_close_to_double(noise):
    a = band_analytic(noise, SF, method="morlet", precision="single")
    b = band_analytic(noise, SF, method="morlet", precision="double")
    for name in a:
        assert a[name].data.dtype == np.complex64
        err = np.abs(a[name].data - b[name].data).max() / np.abs(b[name].data).max()
        assert err < 1e-5


def test_helpers():
    np.testing.assert_allclose(band_freqs((4, 8)), [4, 5, 6, 7, 8])
    np.testing.assert_allclose(band_freqs((8, 13), 2.0), [8, 10, 12])
    assert choose_decim(500.0, 10.0) == 12
    assert choose_decim(500.0, 10.0, divides=1000) == 10
    assert choose_decim(100.0, 40.0) == 1


@pytest.mark.parametrize(
    "kwargs, err, match",
    [
        (dict(data=np.zeros(10)), ValueError, "shape"),
        (dict(bands={"x": (8, 300)}), ValueError, "Nyquist"),
        (dict(bands={"x": (8, 4)}), ValueError, "fmin < fmax"),
        (dict(bands={"x": 8}), ValueError, "pair"),
        (dict(decim=0), ValueError, "decim must be >= 1"),
        (dict(decim=1.5), TypeError, "decim"),
        (dict(method="wavelet"), ValueError, "method"),
        (dict(n_cycles=-1.0, method="morlet"), ValueError, "n_cycles"),
        (
            dict(data=np.zeros((2, 1, 100)), method="morlet", bands={"t": (4, 8)}),
            ValueError,
            "longer than the data",
        ),
        (dict(backend="tpu"), ValueError, "backend"),
    ],
)
def test_errors(kwargs, err, match):
    args = dict(data=np.zeros((2, 1000)), sfreq=SF)
    args.update(kwargs)
    data = args.pop("data")
    with pytest.raises(err, match=match):
        band_analytic(data, args.pop("sfreq"), **args)


# --- band edges (issue 11, item 10) -------------------------------------------------------
def _half_points(f, mag):
    """Frequencies where a band-pass magnitude (peak 1) crosses 1/2, by interpolation."""
    above = np.flatnonzero(mag >= 0.5)
    i, j = above[0], above[-1]
    lo = np.interp(0.5, [mag[i - 1], mag[i]], [f[i - 1], f[i]])
    hi = np.interp(0.5, [mag[j + 1], mag[j]], [f[j + 1], f[j]])
    return lo, hi


@pytest.mark.parametrize("sf", [250.0, 500.0])
@pytest.mark.parametrize("band", [(4.0, 8.0), (8.0, 13.0), (13.0, 30.0)])
@pytest.mark.parametrize("trans", [("auto", "auto"), (1.0, 1.5)])
def test_effective_band_is_filters_half_amplitude(sf, band, trans):
    """The reported -6 dB band is where MNE's actual FIR (create_filter + freqz) and the
    'fft' filter's response fall to 1/2.
    """
    from hyperinsync.sync.bands import effective_band

    kw = dict(l_trans_bandwidth=trans[0], h_trans_bandwidth=trans[1])
    lo, hi = effective_band(band, "mne_fir", sf, **kw)
    assert effective_band(band, "fft", sf, **kw) == (lo, hi)
    h = mne.filter.create_filter(None, sf, band[0], band[1], verbose=False, **kw)
    f, resp = freqz(h, worN=2**16, fs=sf)
    mlo, mhi = _half_points(f, np.abs(resp))
    assert abs(mlo - lo) < 0.02 and abs(mhi - hi) < 0.02, (mlo, mhi, lo, hi)
    flo, fhi = _half_points(f, fft_filter_response(f, band[0], band[1], sf, **kw))
    assert abs(flo - lo) < 1e-3 and abs(fhi - hi) < 1e-3


def test_effective_band_defaults_overlap():
    """MNE's defaults: theta 4-8 passes 3-9 Hz at -6 dB and overlaps alpha (7-14.625 Hz):
    a 9 Hz alpha peak appears in theta at half amplitude, through the actual transform.
    """
    from hyperinsync.sync.bands import effective_band

    assert effective_band((4, 8), "fft", 500.0) == (3.0, 9.0)
    assert effective_band((8, 13), "fft", 500.0) == (7.0, 14.625)
    t = np.arange(40000) / SF
    for method in ("fft", "mne_fir"):
        x = np.cos(2 * np.pi * 9.0 * t)[None]
        z = band_analytic(x, SF, {"theta": (4, 8)}, method=method, precision="double")["theta"]
        amp = np.abs(z.data[0, 0, 5000:-5000])
        assert abs(np.median(amp) - 0.5) < 0.02, method
        assert z.params["effective_band"] == (3.0, 9.0)
        # narrower transitions keep 9 Hz out of theta
        z = band_analytic(
            x,
            SF,
            {"theta": (4, 8)},
            method=method,
            precision="double",
            l_trans_bandwidth=1.0,
            h_trans_bandwidth=0.5,
        )["theta"]
        assert np.median(np.abs(z.data[0, 0, 5000:-5000])) < 0.01, method
        assert z.params["effective_band"] == (3.5, 8.25)
        assert z.params["trans_bandwidth"] == (1.0, 0.5)


@pytest.mark.parametrize("n_cycles", [7.0, 4.0])
def test_effective_band_morlet(noise, n_cycles):
    """Morlet: the half-amplitude points of the lowest and highest wavelets' spectra (MNE's
    wavelets, measured by FFT), and a tone there gives half the peak response.
    """
    from hyperinsync.sync.bands import effective_band

    band = (4.0, 8.0)
    lo, hi = effective_band(band, "morlet", SF, n_cycles=n_cycles)
    n = 2**18
    f = np.fft.fftfreq(n, 1 / SF)
    for f0, edge in ((4.0, lo), (8.0, hi)):
        w = morlet(SF, [f0], n_cycles=n_cycles, zero_mean=True)[0]
        mag = np.abs(np.fft.fft(w, n))
        mag /= mag.max()
        pos = (f > 0) & (f < 20)
        mlo, mhi = _half_points(f[pos], mag[pos])
        assert abs((mlo if f0 == 4.0 else mhi) - edge) < 0.01
    t = np.arange(30000) / SF
    amp = {}
    for freq in (4.0, lo):
        z = band_analytic(
            np.cos(2 * np.pi * freq * t)[None],
            SF,
            {"t": band},
            method="morlet",
            n_cycles=n_cycles,
            precision="double",
        )["t"]
        amp[freq] = np.median(np.abs(z.data[0, 0, 5000:-5000]))  # the 4 Hz wavelet
    assert abs(amp[lo] / amp[4.0] - 0.5) < 0.01


def test_transition_errors():
    x = np.zeros((1, 2000))
    with pytest.raises(ValueError, match="reaches below 0 Hz"):
        band_analytic(x, SF, {"t": (4, 8)}, l_trans_bandwidth=5.0)
    with pytest.raises(ValueError, match="Nyquist"):
        band_analytic(x, SF, {"g": (200, 240)}, h_trans_bandwidth=20.0)
    with pytest.raises(ValueError, match="positive"):
        band_analytic(x, SF, {"t": (4, 8)}, h_trans_bandwidth=0.0)
    with pytest.raises(ValueError, match="l_trans_bandwidth"):
        band_analytic(x, SF, {"t": (4, 8)}, l_trans_bandwidth="wide")
    with pytest.raises(ValueError, match="as arguments of their own"):
        band_analytic(
            x, SF, {"t": (4, 8)}, method="mne_fir", filter_kwargs=dict(l_trans_bandwidth=1.0)
        )


def test_mne_fir_transitions_are_mnes():
    """Custom transitions reach MNE's filter_data unchanged (HyPyP's filter_options)."""
    out = band_analytic(
        np.random.default_rng(4).standard_normal((2, 3000)),
        SF,
        {"alpha": (8, 13)},
        method="mne_fir",
        precision="double",
        l_trans_bandwidth=1.0,
        h_trans_bandwidth=1.0,
    )
    x = np.random.default_rng(4).standard_normal((2, 3000))
    ref = hilbert(
        mne.filter.filter_data(
            detrend(x), SF, 8, 13, l_trans_bandwidth=1.0, h_trans_bandwidth=1.0, verbose=False
        )
    )
    np.testing.assert_allclose(_host(out["alpha"].data[:, 0]), ref, rtol=0, atol=1e-12)


@pytest.mark.parametrize("epoched", [True, False])
def test_morlet_half_wavelet_padding(noise, epoched):
    """Half the longest wavelet on each side (zeros on epochs, reflection on continuous data)
    gives the values of a whole wavelet on each side: every wavelet's support is covered.
    """
    data = noise if epoched else noise[0]
    kw = dict(
        bands={"theta": (4, 8), "alpha": (8, 13)}, method="morlet", precision="double", n_cycles=5.0
    )
    auto = band_analytic(data, SF, **kw)
    longest = morlet(SF, [4.0], n_cycles=5.0)[0].size
    assert auto["theta"].params["pad"] == longest // 2
    whole = band_analytic(data, SF, pad=longest, **kw)
    for band in kw["bands"]:
        np.testing.assert_allclose(
            _host(auto[band].data), _host(whole[band].data), rtol=1e-12, atol=1e-12
        )


@pytest.mark.parametrize("method", ["fft", "morlet"])
def test_band_analytic_work_buffers_and_time_major(method):
    """Outputs written into reused buffers, laid out (freq, time, signal) in memory: the
    same values (bit for bit) and shapes; a second call with the same dict reuses them.
    """
    rng = np.random.default_rng(0)
    data = rng.standard_normal((3, 4, 500))
    bands = {"theta": (4.0, 8.0), "alpha": (8.0, 13.0)}
    kw = dict(method=method, decim=2, n_cycles=5.0)
    ref = band_analytic(data, 250.0, bands, **kw)
    work = {}
    got = band_analytic(data, 250.0, bands, work=work, time_major=True, **kw)
    for b in bands:
        z = got[b].data
        assert z.shape == ref[b].data.shape
        np.testing.assert_array_equal(z, ref[b].data)
        # per time point, every epoch's signals are one contiguous block
        assert z.transpose(2, 3, 0, 1).flags.c_contiguous
    again = band_analytic(data[::-1], 250.0, bands, work=work, time_major=True, **kw)
    assert all(np.shares_memory(again[b].data, got[b].data) for b in bands)
    np.testing.assert_array_equal(again["alpha"].data, ref["alpha"].data[::-1])


@pytest.mark.parametrize("method", ["fft", "morlet"])
def test_threads_give_the_same_band_signals(noise, method):
    """n_jobs threads over chunks of signals: every value as on one thread (no row swapped)."""
    x = noise.reshape(12, 1500) * np.arange(1, 13)[:, None] + np.arange(12)[:, None]
    for data in (x, noise):  # continuous, epoched
        kw = dict(method=method, backend="numpy", max_bytes=4e4)  # a few signals per chunk
        one = band_analytic(data, SF, **kw)
        three = band_analytic(data, SF, n_jobs=3, **kw)
        for b in one:
            assert np.array_equal(three[b].data, one[b].data)
