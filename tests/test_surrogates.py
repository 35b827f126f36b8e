"""Tests for hyperinsync.stats.surrogates.

Exactness against compute_sync, calibration, power, errors.
"""

from pathlib import Path

import mne
import numpy as np
import pytest
from conftest import assert_pseudo_dyads_equal_loop

import hyperinsync as hi
from hyperinsync import stats as sg
from hyperinsync.dyad import make_dyad_epochs, make_dyad_raw
from hyperinsync.simulation import Coupling
from hyperinsync.stats.pairings import shuffle_orders

SFREQ = 100.0
BANDS = {"theta": (4.0, 8.0), "alpha": (8.0, 13.0)}
ROIS = {
    "frontal": ["Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8"],
    "central": ["C3", "Cz", "C4", "FC1", "FC2", "CP1", "CP2"],
}


def _study_dyads(n_dyads, duration, couplings=(), seed=0):
    study = hi.simulate_study(
        n_dyads=n_dyads,
        segments=(("rest", duration),),
        sfreq=SFREQ,
        montage="standard-32",
        couplings=list(couplings) or None,
        seed=seed,
        verbose=False,
    )
    dyads = [study.get_dyad(k, verbose=False)[0] for k in range(n_dyads)]
    return dyads


@pytest.fixture(scope="module")
def three_dyads():
    dyads = _study_dyads(3, 20.0, seed=1)
    dyads[1].crop(0, 17.49)  # unequal lengths: cut to the common length
    dyads[2].annotations.append(3.0, 1.0, "BAD_motion")  # one BAD span
    return dyads


def test_crop_common_copies_only_the_common_span(three_dyads):
    """Cutting pseudo-dyads to a common length keeps no copy of the whole recording."""
    from hyperinsync.stats.pairings import _crop_common

    out, info = _crop_common(three_dyads)
    n = info["n_times"]
    assert out[1] is three_dyads[1]  # the shortest is used as it is
    for inst, cut in zip(three_dyads, out):
        ref = inst.copy().crop(0, (n - 1) / SFREQ)
        np.testing.assert_array_equal(cut.get_data(), ref.get_data())
        assert cut.annotations.description.tolist() == ref.annotations.description.tolist()
        if cut is not inst:  # a RawArray also holds its data in _init_kwargs: the cut's
            sizes = [v.size for v in cut._init_kwargs.values() if isinstance(v, np.ndarray)]
            assert sizes == [cut._data.size]


def test_crop_copy_of_some_channels(three_dyads):
    """A cut of some channels holds only their samples (no copy of the whole recording)."""
    from hyperinsync._utils import crop_copy
    from hyperinsync.study.recording import _crop_segment

    raw = three_dyads[0]
    keep = [raw.ch_names[i] for i in (7, 3, 40)]  # order as given, as Raw.pick
    cut = crop_copy(raw, 2.0, 5.0, keep)
    ref = raw.copy().crop(2.0, 5.0).pick(keep)
    assert cut.ch_names == ref.ch_names
    np.testing.assert_array_equal(cut.get_data(), ref.get_data())
    sizes = [v.size for v in cut._init_kwargs.values() if isinstance(v, np.ndarray)]
    assert sizes == [cut._data.size] == [3 * 301]
    # the study's segments: one annotated span, or the whole recording
    seg = _crop_segment(raw, "rest", keep)
    assert seg.ch_names == ref.ch_names and seg.n_times == raw.n_times
    np.testing.assert_array_equal(_crop_segment(raw, "all", keep).get_data(), raw.get_data(keep))
    assert _crop_segment(raw, "all") is raw


def test_roi_channels_leave_the_pseudo_dyad_test_unchanged(three_dyads):
    """Keeping only a recording's good ROI channels (the study's group step does, to hold
    every dyad at once in less memory) gives the same pseudo-dyad values.
    """
    from hyperinsync.stats.surrogate_checks import roi_channels

    dyads = [d.copy() for d in three_dyads]
    dyads[0].info["bads"] = ["therapist:Fz", "client:O1"]  # an ROI channel, another one
    kept = roi_channels(dyads[0], ROIS)
    roi_names = {c for chs in ROIS.values() for c in chs}
    assert kept == [
        n
        for n in dyads[0].ch_names
        if n.split(":")[1] in roi_names and n not in dyads[0].info["bads"]
    ]
    assert 0 < len(kept) < len(dyads[0].ch_names) - 2  # non-ROI channels are left out
    assert roi_channels(dyads[0], None) == [
        n for n in dyads[0].ch_names if n not in ["therapist:Fz", "client:O1"]
    ]
    kw = dict(bands=BANDS, rois=ROIS, n_permutations=200, seed=4, backend="numpy", verbose=False)
    ref = sg.pseudo_dyad_test(dyads, **kw)
    got = sg.pseudo_dyad_test([d.copy().pick(roi_channels(d, ROIS)) for d in dyads], **kw)
    for attr in ("observed", "null", "p", "z"):
        np.testing.assert_array_equal(getattr(got, attr), getattr(ref, attr))
    assert got.params["pairs"] == ref.params["pairs"]
    # and the group test (real vs pseudo: p, effect sizes), row by row
    assert got.to_table().equals(ref.to_table())


# ------------------------------------------------------------------ exact against a loop
def test_pseudo_dyads_equal_compute_sync_loop(three_dyads):
    dyads = three_dyads
    measures = ["plv", "coh", "envcorr"]
    res = sg.surrogate_sync(
        dyads,
        BANDS,
        measures,
        null="pseudo_dyads",
        n_surrogates=None,
        seed=0,
        rois=None,
        backend="numpy",
        verbose=False,
    )
    n = res.params["n_times"]
    assert n == min(d.n_times for d in dyads) == 1750
    assert res.null.shape == (6, 3, 2, 32, 32) and res.observed.shape == (3, 3, 2, 32, 32)
    cut = [d.copy().crop(0, (n - 1) / SFREQ) for d in dyads]
    pairs = res.params["pairs"]
    assert sorted(map(tuple, pairs)) == [
        (2 * i, 2 * j + 1) for i in range(3) for j in range(3) if i != j
    ]
    real = assert_pseudo_dyads_equal_loop(res, cut, BANDS, measures)
    # 17.5 s -> 8 epochs; dyad 2's BAD span removes one (from its pseudo pairings too)
    assert [ref.n_epochs for ref in real] == [8, 8, 7]


def test_pseudo_dyads_any_roles_and_roi_level(three_dyads):
    dyads = three_dyads
    res = sg.surrogate_sync(
        dyads,
        BANDS,
        "plv",
        null="pseudo_dyads",
        n_surrogates=5,
        rois=ROIS,
        keep_roles=False,
        seed=3,
        backend="numpy",
        verbose=False,
    )
    assert res.level == "roi" and res.rows == ["frontal", "central"]
    assert len(res.null) == 5  # a random subset of the 12 cross-dyad person pairs
    n = res.params["n_times"]
    cut = [d.copy().crop(0, (n - 1) / SFREQ) for d in dyads]
    roles = dyads[0].roles
    for k, (p, q) in enumerate(res.params["pairs"]):
        assert p // 2 != q // 2
        pa = cut[p // 2].participant(roles[p % 2])
        pb = cut[q // 2].participant(roles[q % 2])
        pseudo = make_dyad_raw(pa, pb, roles=roles, verbose=False)
        ref = hi.compute_sync(pseudo, BANDS, rois=ROIS, backend="numpy", verbose=False)
        for bi, band in enumerate(BANDS):
            np.testing.assert_allclose(
                res.null[k, 0, bi], ref.get_data("plv", band, level="roi"), rtol=1e-5
            )
    # same seed, same subset and values
    again = sg.surrogate_sync(
        dyads,
        BANDS,
        "plv",
        null="pseudo_dyads",
        n_surrogates=5,
        rois=ROIS,
        keep_roles=False,
        seed=3,
        backend="numpy",
        verbose=False,
    )
    assert again.params["pairs"] == res.params["pairs"]
    np.testing.assert_array_equal(again.null, res.null)


def test_epoch_shuffle_equals_loop_on_permuted_epochs(null_dyad):
    epochs = null_dyad(16.0, SFREQ, seed=4)[0].make_epochs(2.0, verbose=False)
    measures = ["plv", "ccorr"]
    res = sg.surrogate_sync(
        epochs,
        BANDS,
        measures,
        null="epoch_shuffle",
        n_surrogates=4,
        seed=7,
        rois=None,
        backend="numpy",
        verbose=False,
    )
    ref = hi.compute_sync(epochs, BANDS, measures, backend="numpy", verbose=False)
    np.testing.assert_allclose(res.observed, ref.data, rtol=1e-5, atol=1e-6)
    # the surrogates' orders, drawn as surrogate_sync draws them from the seed
    rng = np.random.default_rng(7)
    perms = shuffle_orders(rng, len(epochs), 4, "epochs")
    roles = epochs.roles
    a, b = epochs.participant(roles[0]), epochs.participant(roles[1])
    for k, perm in enumerate(perms):
        assert sorted(perm) == list(range(len(epochs)))
        b_k = mne.EpochsArray(
            b.get_data()[perm], b.info, events=a.events, tmin=a.tmin, verbose=False
        )
        pseudo = make_dyad_epochs(a, b_k, roles=roles, verbose=False)
        loop = hi.compute_sync(pseudo, BANDS, measures, backend="numpy", verbose=False)
        np.testing.assert_allclose(res.null[k], loop.data, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------ calibration under the null
@pytest.mark.parametrize("null", ["epoch_shuffle", "circular_shift", "segment_shuffle"])
def test_null_rate_within_dyad(null, null_dyad):
    # no coupling: across dyads, bands and ROI pairs the rate of p < .05 stays nominal
    p = []
    for seed in range(12):
        raw = null_dyad(40.0, SFREQ, seed=seed)[0]
        res = sg.surrogate_test(
            raw,
            null=null,
            n_surrogates=99,
            bands=BANDS,
            rois="default",
            seed=seed,
            segment_duration=4.0,
            correction=None,
            backend="numpy",
            verbose=False,
        )
        p.append(res.p.ravel())
    rate = np.mean(np.concatenate(p) < 0.05)
    assert 0.03 <= rate <= 0.07, rate


def test_null_rate_pseudo_dyads():
    dyads = _study_dyads(8, 30.0, couplings=[Coupling("alpha", "frontal", "frontal", 0.0)], seed=2)
    res = sg.pseudo_dyad_test(
        dyads, BANDS, rois="default", n_permutations=500, seed=0, backend="numpy", verbose=False
    )
    rate = np.mean(res.p < 0.05)  # real dyads vs the 56 pseudo-dyads
    assert res.p.shape == (8, 1, 2, 5, 5)
    assert 0.03 <= rate <= 0.07, rate
    assert np.mean(res.group["p"] < 0.05) <= 0.1


def test_corrections_hold_familywise_rate(null_dyad):
    # complete null: any corrected rejection in a dyad is a family-wise error
    hits = {"fdr": 0, "maxstat": 0}
    raw_hits = 0
    n_dyads = 30
    for seed in range(n_dyads):
        raw = null_dyad(20.0, SFREQ, seed=100 + seed)[0]
        res = sg.surrogate_test(
            raw,
            rois=None,
            n_surrogates=99,
            bands={"alpha": (8.0, 13.0)},
            correction="maxstat",
            seed=seed,
            backend="numpy",
            verbose=False,
        )
        hits["maxstat"] += bool(np.any(res.p_corrected <= 0.05))
        hits["fdr"] += bool(np.any(sg.fdr_bh(res.p)[1] <= 0.05))
        raw_hits += bool(np.any(res.p <= 0.05))
    # nominal 5 %: about 1.5 of 30; 5 or more has probability < 2 %
    assert hits["maxstat"] <= 4 and hits["fdr"] <= 4, hits
    assert raw_hits >= 25  # uncorrected, 1024 pairs almost always give a false positive


# ------------------------------------------------------------------ power
def test_planted_coupling_detected():
    # frontal-frontal alpha coupling of strength 0.4 in 60 s at 100 Hz
    detected = []
    for seed in range(8):
        raw, _ = hi.simulate_dyad(
            duration=60.0,
            sfreq=SFREQ,
            montage="standard-32",
            couplings=[Coupling("alpha", "frontal", "frontal", 0.4)],
            seed=seed,
            verbose=False,
        )
        res = sg.surrogate_test(
            raw,
            n_surrogates=199,
            bands=BANDS,
            rois=ROIS,
            seed=seed,
            correction="fdr",
            backend="numpy",
            verbose=False,
        )
        fi = res.rows.index("frontal")
        detected.append(res.p_corrected[0, 1, fi, fi] < 0.05)
        assert res.effect[0, 1, fi, fi] > 3
    power = np.mean(detected)
    print(f"power for alpha frontal coupling 0.4, 60 s, 199 surrogates, FDR: {power:.2f}")
    assert power >= 0.85


# ------------------------------------------------------------------ real data
def _shared():
    for root in (Path("/work/shared"), Path(__file__).parents[2] / "shared"):
        if (root / "data" / "hypyp_dyad").is_dir():
            return root / "data" / "hypyp_dyad"
    return None


@pytest.mark.skipif(_shared() is None, reason="../shared (HyPyP example dyad) is absent")
def test_hypyp_dyad_not_above_chance():
    root = _shared()
    a = mne.read_epochs(root / "preproc_S1-epo.fif", verbose=False)
    b = mne.read_epochs(root / "preproc_S2-epo.fif", verbose=False)
    common = np.intersect1d(a.selection, b.selection)  # time-matched epochs
    a, b = a[np.isin(a.selection, common)], b[np.isin(b.selection, common)]
    assert len(a) == len(b) == 25
    dyad = make_dyad_epochs(a, b, roles=("S1", "S2"), verbose=False)
    res = sg.surrogate_test(
        dyad, n_surrogates=999, bands=BANDS, rois=ROIS, seed=0, backend="numpy", verbose=False
    )
    assert res.observed.shape == (1, 2, 2, 2)
    ref = hi.compute_sync(dyad, BANDS, rois=ROIS, backend="numpy", verbose=False)
    np.testing.assert_allclose(
        res.observed[0, 1], ref.get_data("plv", "alpha", level="roi"), rtol=1e-5
    )
    assert np.all(res.p > 0.05), res.p


# ------------------------------------------------------------------ result container
def test_result_table_and_roundtrip(three_dyads):
    res = sg.pseudo_dyad_test(
        three_dyads,
        BANDS,
        rois=ROIS,
        n_permutations=200,
        seed=1,
        correction="maxstat",
        backend="numpy",
        verbose=False,
    )
    again = sg.SurrogateResult.from_dict(res.to_dict())
    np.testing.assert_array_equal(again.p, res.p)
    np.testing.assert_array_equal(again.group["p"], res.group["p"])
    table = res.to_table()
    assert len(table) == 3 * 1 * 2 * 2 * 2
    row = table.iloc[0]
    assert row["z"] == pytest.approx(
        (res.observed[0, 0, 0, 0, 0] - res.null[:, 0, 0, 0, 0].mean())
        / res.null[:, 0, 0, 0, 0].std(ddof=1)
    )
    assert row["p"] == pytest.approx(
        (np.sum(res.null[:, 0, 0, 0, 0] >= res.observed[0, 0, 0, 0, 0]) + 1) / 7
    )
    assert "group_p" in table.columns


# ------------------------------------------------------------------ errors
def test_bad_input(three_dyads):
    raw = three_dyads[0]
    with pytest.raises(ValueError, match="at least 2 dyads"):
        sg.surrogate_sync([raw], null="pseudo_dyads", verbose=False)
    with pytest.raises(ValueError, match="n_surrogates must be at least 1"):
        sg.surrogate_test(raw, n_surrogates=0, verbose=False)
    with pytest.raises(TypeError, match="seed"):
        sg.surrogate_test(raw, n_surrogates=10, seed="abc", verbose=False)
    with pytest.raises(TypeError, match="seed"):
        sg.surrogate_test(raw, n_surrogates=10, seed=1.5, verbose=False)
    with pytest.raises(TypeError, match="single DyadRaw"):
        sg.surrogate_test([raw, raw], n_surrogates=10, verbose=False)
    with pytest.raises(TypeError, match="continuous recording"):
        sg.surrogate_test(raw.make_epochs(verbose=False), null="circular_shift", verbose=False)
    with pytest.raises(ValueError, match="min_shift"):
        sg.surrogate_test(raw, null="circular_shift", n_surrogates=5, min_shift=15.0, verbose=False)
    # mismatched channel sets: common channels, or a clear error when fewer than 2 remain
    other = three_dyads[1].copy()
    keep = [c for c in other.ch_names if c.split(":")[1] in ("Fz", "Cz", "Pz")]
    other.pick(keep)
    res = sg.surrogate_sync(
        [raw, other], BANDS, null="pseudo_dyads", n_surrogates=None, seed=0, verbose=False
    )
    assert res.params["channels_a"] == ["Fz", "Cz", "Pz"]
    tiny = three_dyads[1].copy().pick([keep[0], keep[3]])
    with pytest.raises(ValueError, match="pseudo-dyads need at least 2"):
        sg.surrogate_sync([raw, tiny], null="pseudo_dyads", verbose=False)
    with pytest.raises(ValueError, match="sampling rates"):
        sg.surrogate_sync([raw, raw.copy().resample(50.0)], null="pseudo_dyads", verbose=False)


# ------------------------------------------------------------------ issue 11
def _white_dyad(n_ch, n_times, seed, sfreq=SFREQ):
    rng = np.random.default_rng(seed)
    info = mne.create_info([f"C{i}" for i in range(n_ch)], sfreq, "eeg")
    a, b = (
        mne.io.RawArray(x, info.copy(), verbose=False)
        for x in rng.normal(size=(2, n_ch, n_times)) * 1e-5
    )
    return make_dyad_raw(a, b, verbose=False)


def test_epoch_shuffle_observed_exchangeable_with_surrogates():
    # Independent white noise, 10 epochs: the observed value must look like one more
    # surrogate, so its z has SD 1 across pairs. Deranged epoch orders (no epoch kept in
    # place) inflated it by n / (n - 1) = 1.11, which a max-statistic over many pairs turns
    # into a large family-wise error.
    z = []
    for seed in range(6):
        res = sg.surrogate_test(
            _white_dyad(16, 2000, seed),
            n_surrogates=199,
            rois=None,
            bands={"alpha": (8.0, 13.0)},
            seed=seed,
            correction=None,
            backend="numpy",
            verbose=False,
        )
        z.append(res.z.ravel())
    sd = np.std(np.concatenate(z))
    assert 0.94 <= sd <= 1.06, sd


def test_maxstat_standardised_finds_low_chance_pair():
    # Issue 11: a central-central coupling (pairs with a low chance level) hidden by the
    # raw maximum, which the pairs with the highest chance level (occipital alpha) dominate.
    raw, _ = hi.simulate_dyad(
        duration=60.0,
        sfreq=SFREQ,
        montage="standard-32",
        couplings=[Coupling("alpha", "central", "central", 0.2)],
        seed=3,
        verbose=False,
    )
    res = sg.surrogate_test(
        raw,
        null="circular_shift",
        n_surrogates=299,
        bands={"alpha": (8.0, 12.0)},
        rois="default",
        seed=0,
        correction="maxstat",
        backend="numpy",
        verbose=False,
    )
    ci = res.rows.index("central")
    assert res.null_mean[0, 0].max() - res.null_mean[0, 0, ci, ci] > 0.02  # chance levels
    assert res.z[0, 0, ci, ci] > 4
    raw_p = hi.stats.maxstat_p(res.observed, res.null, standardize=None)
    assert raw_p[0, 0, ci, ci] > 0.2  # the defect: raw values
    assert res.p_corrected[0, 0, ci, ci] <= 0.05
    others = np.ones(res.p.shape[2:], bool)
    others[ci, ci] = False
    assert np.all(res.p_corrected[0, 0][others] > 0.05)


def test_maxstat_family_spans_measures_and_bands(null_dyad):
    raw = null_dyad(30.0, SFREQ, seed=5)[0]
    res = sg.surrogate_test(
        raw,
        n_surrogates=99,
        bands=BANDS,
        measures=["plv", "envcorr"],
        rois=ROIS,
        seed=1,
        correction="maxstat",
        backend="numpy",
        verbose=False,
    )
    # by hand: every test standardised with its measure's tail, one maximum over all
    std = [
        hi.stats.standardize(res.observed[mi], res.null[:, mi], tail=t)
        for mi, t in enumerate(["greater", "two-sided"])
    ]
    obs = np.stack([o for o, _ in std])
    maxima = np.stack([n for _, n in std], axis=1).reshape(99, -1).max(axis=1)
    expected = (1 + (maxima[:, None] >= obs.ravel()[None]).sum(0)) / 100
    np.testing.assert_allclose(res.p_corrected.ravel(), expected)


def _anti_envelope_dyad(seed, sign=-1.0, duration=60.0):
    """Alpha carriers independent between people, envelopes co- or counter-modulated."""
    rng = np.random.default_rng(seed)
    n = int(duration * SFREQ)
    # a 0.5-2 Hz modulation shared by both people: several cycles per 2-s epoch
    mod = mne.filter.filter_data(rng.normal(size=n), SFREQ, 0.5, 2.0, verbose=False)
    mod = np.clip(0.5 * mod / mod.std(), -0.9, 0.9)
    chans = []
    for side in (1.0, sign):
        carrier = mne.filter.filter_data(rng.normal(size=(3, n)), SFREQ, 9.0, 11.0, verbose=False)
        carrier /= carrier.std()
        noise = rng.normal(size=(3, n)) * 0.3
        chans.append((1.0 + side * mod) * carrier + noise)
    info = mne.create_info(["Fz", "Cz", "Pz"], SFREQ, "eeg")
    a, b = (mne.io.RawArray(x * 1e-5, info.copy(), verbose=False) for x in chans)
    return make_dyad_raw(a, b, roles=("therapist", "client"), verbose=False)


def test_anti_phase_envelopes_need_two_sided_test():
    # Issue 11: anti-correlated envelopes are coupling too; a one-sided test misses them
    raw = _anti_envelope_dyad(0, sign=-1.0)
    kw = dict(
        null="circular_shift",
        n_surrogates=199,
        bands={"alpha": (8.0, 12.0)},
        measures=["envcorr", "plv"],
        seed=1,
        backend="numpy",
        verbose=False,
    )
    res = sg.surrogate_test(raw, **kw)
    assert res.tail == {"envcorr": "two-sided", "plv": "greater"}
    # every channel pair shares the modulation, with opposite signs in the two people
    assert np.all(res.observed[0, 0] < -0.2)
    assert np.all(res.p[0, 0] <= 0.01)
    table = res.to_table()
    env = table[table.measure == "envcorr"]
    assert set(env["direction"]) == {"negative"} and set(env["tail"]) == {"two-sided"}
    one_sided = sg.surrogate_test(raw, tail="greater", **kw)
    assert np.all(one_sided.p[0, 0] > 0.9)  # invisible to a magnitude test
    # co-modulated envelopes: positive, found either way
    pos = sg.surrogate_test(_anti_envelope_dyad(0, sign=1.0), **kw)
    assert np.all(pos.observed[0, 0] > 0.2)
    assert np.all(pos.p[0, 0] <= 0.01)
    assert set(pos.to_table().query("measure == 'envcorr'")["direction"]) == {"positive"}


@pytest.mark.parametrize("lag, sign", [(0.02, 1), (-0.02, -1)])
def test_signed_imcoh_two_sided_and_phase_relation(lag, sign):
    raw, _ = hi.simulate_dyad(
        duration=60.0,
        sfreq=SFREQ,
        montage="standard-32",
        couplings=[Coupling("alpha", ["Cz"], ["Cz"], 0.5, lag=lag)],
        seed=7,
        verbose=False,
    )
    raw.pick([f"{r}:{c}" for r in raw.roles for c in ("Cz", "Pz")])
    res = sg.surrogate_test(
        raw,
        null="circular_shift",
        n_surrogates=199,
        bands={"alpha": (8.0, 12.0)},
        measures=["imcoh", "plv"],
        signed=True,
        seed=2,
        backend="numpy",
        verbose=False,
    )
    assert res.tail["imcoh"] == "two-sided" and res.params["signed"]
    assert np.sign(res.observed[0, 0, 0, 0]) == sign  # A leads: positive imaginary part
    assert res.p[0, 0, 0, 0] <= 0.01
    # the mean phase difference A - B of a lag is 2 pi f lag (f ~ 10 Hz): lagged
    assert res.phase[0, 0, 0] == pytest.approx(sign * 2 * np.pi * 10 * 0.02, abs=0.35)
    row = res.to_table().iloc[0]
    assert row["direction"] == ("positive" if sign > 0 else "negative")
    assert row["phase"] == "lagged"
    # HyPyP's absolute imcoh (default) is a magnitude: one-sided
    mag = sg.surrogate_test(
        raw,
        null="circular_shift",
        n_surrogates=19,
        bands={"alpha": (8, 12)},
        measures="imcoh",
        seed=2,
        backend="numpy",
        verbose=False,
    )
    assert mag.tail == {"imcoh": "greater"} and mag.observed[0, 0, 0, 0] > 0


def test_anti_phase_coupling_found_and_named():
    raw, _ = hi.simulate_dyad(
        duration=60.0,
        sfreq=SFREQ,
        montage="standard-32",
        couplings=[Coupling("alpha", "frontal", "frontal", 0.4, phase=np.pi)],
        seed=8,
        verbose=False,
    )
    res = sg.surrogate_test(
        raw,
        n_surrogates=199,
        bands={"alpha": (8.0, 12.0)},
        rois=ROIS,
        seed=3,
        correction="maxstat",
        backend="numpy",
        verbose=False,
    )
    fi = res.rows.index("frontal")
    assert res.p_corrected[0, 0, fi, fi] <= 0.05
    table = res.to_table()
    row = table[(table.row == "frontal") & (table.col == "frontal")].iloc[0]
    assert row["phase"] == "anti-phase" and abs(row["phase_diff"]) > 3 * np.pi / 4
    assert row["direction"] == "above chance"
    again = sg.SurrogateResult.from_dict(res.to_dict())
    np.testing.assert_array_equal(again.phase, res.phase)
    assert again.tail == res.tail
    np.testing.assert_array_equal(again.p_corrected, res.p_corrected)


def test_pseudo_dyads_pair_people_by_role_name(three_dyads):
    # Issue 11: a dyad built as (client, therapist) among (therapist, client) dyads was
    # paired by position, its client taken for a therapist
    roles = three_dyads[0].roles
    swapped = [
        three_dyads[0],
        make_dyad_raw(
            three_dyads[1].participant(roles[1]),
            three_dyads[1].participant(roles[0]),
            roles=(roles[1], roles[0]),
            verbose=False,
        ),
        three_dyads[2],
    ]
    kw = dict(
        bands=BANDS,
        measures=["plv", "envcorr"],
        rois=ROIS,
        n_permutations=200,
        seed=4,
        backend="numpy",
        verbose=False,
    )
    ref = sg.pseudo_dyad_test(three_dyads, **kw)
    got = sg.pseudo_dyad_test(swapped, **kw)
    assert got.params["pairs"] == ref.params["pairs"]
    np.testing.assert_allclose(got.null, ref.null, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(got.observed, ref.observed, rtol=1e-6, atol=1e-9)
    assert got.params["roles"][1] == list(roles)
    # dyads whose role sets differ are refused, naming the dyad and its roles
    other = make_dyad_raw(
        three_dyads[2].participant(roles[0]),
        three_dyads[2].participant(roles[1]),
        roles=("mother", "child"),
        verbose=False,
    )
    with pytest.raises(ValueError, match=r"Dyad 2 has roles \['mother', 'child'\]"):
        sg.pseudo_dyad_test([three_dyads[0], three_dyads[1], other], **kw)
    # without keep_roles any two people may be paired: allowed
    res = sg.pseudo_dyad_test([three_dyads[0], three_dyads[1], other], keep_roles=False, **kw)
    assert res.observed.shape[0] == 3


def test_few_epochs_warn_that_nothing_can_be_significant(null_dyad):
    epochs = null_dyad(6.0, SFREQ, seed=9)[0].make_epochs(2.0, verbose=False)  # 3 epochs: 6 orders
    with pytest.warns(RuntimeWarning, match="only 6 distinct orders"):
        res = sg.surrogate_test(
            epochs, n_surrogates=50, bands=BANDS, seed=0, backend="numpy", verbose=False
        )
    assert res.p.min() >= 1 / 51
