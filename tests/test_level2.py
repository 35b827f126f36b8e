"""In-Sync Level 2 (issue 11): degenerate segments, corrections, phase relation, BAD data."""

import mne
import numpy as np
import pytest

from hyperinsync import Coupling, simulate_dyad, stats
from hyperinsync.insync import InSyncLevel2, level2

ALPHA = {"alpha": (8.0, 13.0)}
ROIS = {"frontal": ["Fp1", "Fp2", "F3", "F4", "Fz"], "occipital": ["O1", "O2", "Oz"]}
SEGS = [("rest_pre", 20.0), ("session", 20.0), ("rest_post", 20.0)]


def _dyad(couplings=(), segments=SEGS, seed=0):
    return simulate_dyad(
        sfreq=100.0, couplings=list(couplings), segments=segments, seed=seed, verbose=False
    )[0]


def _finite(res):
    assert np.all(np.isfinite(res.values))
    for r in res.rows + res.contrasts:
        assert all(np.isfinite(v) for v in r.values() if isinstance(v, float)), r


def test_fully_bad_segment_is_left_out_with_a_warning():
    raw = _dyad()
    raw.annotations.append(40.0, 20.0, "BAD_motion")  # all of rest_post
    kw = dict(bands=ALPHA, rois=ROIS, n_surrogates=19, n_permutations=99, seed=0, verbose=False)
    with pytest.warns(RuntimeWarning, match=r"'rest_post' .* 0 epoch\(s\) .* left out"):
        with pytest.warns(RuntimeWarning, match="contrast.*rest_post.*left out"):
            res = level2(raw, segments=["rest_pre", "session", "rest_post"], **kw)
    assert [s["name"] for s in res.segments] == ["rest_pre", "session"]
    assert res.params["excluded"][0]["name"] == "rest_post"
    assert res.contrasts == []
    _finite(res)
    # the segments left are exactly those of a run without the BAD one
    ref = level2(raw, segments=["rest_pre", "session"], contrasts=(), **kw)
    np.testing.assert_array_equal(res.values, ref.values)
    # nothing testable: an error naming every segment's problem
    everything = raw.copy()
    everything.annotations.append(0.0, 40.0, "BAD_motion")
    with pytest.raises(ValueError, match="no segment can be tested.*'rest_pre'.*'session'"):
        with pytest.warns(RuntimeWarning):
            level2(everything, segments=["rest_pre", "session", "rest_post"], **kw)


def test_segment_outside_recording_or_too_short_is_left_out():
    raw = _dyad()
    cut = raw.copy().crop(0, 39.99)  # rest_post's annotation now lies past the end
    cut.set_annotations(raw.annotations)
    kw = dict(
        bands=ALPHA,
        rois=ROIS,
        n_surrogates=19,
        n_permutations=99,
        seed=0,
        verbose=False,
        contrasts=(),
    )
    with pytest.warns(RuntimeWarning, match="'rest_post' lies outside the recording"):
        res = level2(cut, segments=["rest_pre", "rest_post"], **kw)
    assert [s["name"] for s in res.segments] == ["rest_pre"]
    _finite(res)
    # 3 epochs: 6 epoch orders, too few for p <= 0.05
    short = _dyad(segments=[("a", 6.0), ("b", 30.0)])
    with pytest.warns(RuntimeWarning, match="'a' .* only 6 distinct 'epoch_shuffle'"):
        res = level2(short, segments=["a", "b"], null="epoch_shuffle", **kw)
    assert [s["name"] for s in res.segments] == ["b"]


def test_maxstat_correction_over_segments_bands_and_pairs():
    raw = _dyad()
    res = level2(
        raw,
        bands={"theta": (4.0, 8.0), **ALPHA},
        rois=ROIS,
        n_surrogates=99,
        correction="maxstat",
        n_permutations=99,
        seed=1,
        verbose=False,
    )
    nulls = np.moveaxis(res.null, 1, 0)  # (N, segments, bands, roi_a, roi_b)
    expected = stats.maxstat_p(res.values, nulls)
    got = np.array([r["p_corrected"] for r in res.rows]).reshape(expected.shape)
    np.testing.assert_allclose(got, expected)
    # by hand: z of each test's pooled values, one maximum over everything
    pool = np.concatenate([res.values[None], nulls])
    z = (pool - pool.mean(0)) / pool.std(0, ddof=1)
    maxima = z[1:].reshape(99, -1).max(axis=1)
    hand = (1 + (maxima[:, None] >= z[0].ravel()[None]).sum(0)) / 100
    np.testing.assert_allclose(got.ravel(), hand)
    assert {r["tail"] for r in res.rows} == {"greater"}
    fdr = np.array([r["p_fdr"] for r in res.rows])
    np.testing.assert_allclose(fdr, stats.fdr_bh([r["p"] for r in res.rows])[1])
    con = res.contrasts
    assert len(con) == 2 * 2 * 2 and all("p_null_corrected" in c for c in con)
    _finite(res)
    again = InSyncLevel2.from_dict(res.to_dict())
    np.testing.assert_array_equal(again.phase, res.phase)


@pytest.mark.parametrize("phase, label", [(0.0, "in-phase"), (np.pi, "anti-phase")])
def test_phase_relation_reported(phase, label):
    raw = _dyad(
        [Coupling("alpha", "frontal", "frontal", 0.5, phase=phase, episodes=[(40.0, 60.0)])], seed=2
    )
    res = level2(
        raw,
        segments=["rest_pre", "rest_post"],
        bands=ALPHA,
        rois=ROIS,
        n_surrogates=199,
        n_permutations=99,
        seed=0,
        verbose=False,
    )
    rows = {(r["segment"], r["roi_a"], r["roi_b"]): r for r in res.rows}
    post = rows[("rest_post", "frontal", "frontal")]
    assert post["significant"] and post["direction"] == "above chance"
    assert post["phase"] == label
    assert not rows[("rest_pre", "frontal", "frontal")]["significant"]


def test_null_leaves_out_b_data_inside_bad_spans():
    # B's BAD span holds a 10 Hz sine and A carries the same rhythm throughout: shifted onto
    # A's clean epochs that span would look perfectly synchronous. The observed value leaves
    # the span out, and so must every surrogate, or the null rises above chance.
    segs = [("rest", 60.0)]
    clean = _dyad(segments=segs, seed=3)
    t = clean.times
    sine = np.sin(2 * np.pi * 10.0 * t) * 20e-6
    a_idx = [i for i, c in enumerate(clean.ch_names) if c.startswith("A:")]
    b_idx = [i for i, c in enumerate(clean.ch_names) if c.startswith("B:")]
    data = clean.get_data()
    data[a_idx] += sine
    clean = mne.io.RawArray(data, clean.info, verbose=False).set_annotations(clean.annotations)
    art = clean.copy()
    span = (t >= 20.0) & (t < 32.0)
    art._data[np.ix_(b_idx, span)] = 4 * sine[span]
    for raw in (clean, art):
        raw.annotations.append(20.0, 12.0, "BAD_artifact")
    kw = dict(bands=ALPHA, rois=ROIS, n_surrogates=99, contrasts=(), seed=4, verbose=False)
    for null in ("circular_shift", "epoch_shuffle"):
        ref, res = (level2(r, segments=["rest"], null=null, **kw) for r in (clean, art))
        # B's data in the BAD span never enter (but for the band filter's reach into the
        # neighbouring epochs): the same values and chance level
        np.testing.assert_allclose(res.values, ref.values, atol=0.005)
        np.testing.assert_allclose(
            np.nanmean(res.null, axis=1), np.nanmean(ref.null, axis=1), atol=0.005
        )


def test_fdr_floor_is_warned_and_maxstat_is_the_default():
    # one coupled row among 64: BH needs p <= 0.05 / 64, below 1 / (n_surrogates + 1) = 0.005,
    # so FDR cannot find it; the standardised maximum (default) does
    raw = _dyad(
        [Coupling("alpha", ["C3", "C4"], ["C3", "C4"], 0.5, episodes=[(40.0, 60.0)])], seed=5
    )
    rois = {
        "frontal": ["F3", "F4"],
        "central": ["C3", "C4"],
        "parietal": ["P3", "P4"],
        "occipital": ["O1", "O2"],
    }
    kw = dict(
        bands={"theta": (4.0, 8.0), **ALPHA},
        rois=rois,
        n_surrogates=199,
        contrasts=(),
        seed=0,
        verbose=False,
    )
    res = level2(raw, segments=["rest_pre", "rest_post"], **kw)
    assert res.params["correction"] == "maxstat"
    sig = [(r["segment"], r["band"], r["roi_a"], r["roi_b"]) for r in res.rows if r["significant"]]
    assert sig == [("rest_post", "alpha", "central", "central")]
    with pytest.warns(RuntimeWarning, match="one alone needs n_surrogates >= 1279"):
        fdr = level2(raw, segments=["rest_pre", "rest_post"], correction="fdr", **kw)
    assert not any(r["significant"] for r in fdr.rows)
