"""The batched pairing nulls (pseudo-dyads, epoch shuffles) against per-surrogate references.

The engines compute every pairing once in tiles and chunks (in threads) and the surrogates
gather their values; these tests force many chunks and tiles (a small ``max_bytes``) and
compare with each surrogate computed on its own: compute_sync on the permuted or paired
data, or the measures of ``hyperinsync.sync.measures`` on the permuted band signals.
"""

import mne
import numpy as np
import pytest
from conftest import assert_pseudo_dyads_equal_loop

import hyperinsync as hi
from hyperinsync import stats as sg
from hyperinsync.dyad import make_dyad_epochs
from hyperinsync.stats.nulls import _Prepared, _roi_level
from hyperinsync.stats.pairings import shuffle_orders
from hyperinsync.stats.surrogate_checks import _select_channels
from hyperinsync.sync.measures import compute_measure
from hyperinsync.sync.signals import DyadSignals

SFREQ = 100.0
BANDS = {"theta": (4.0, 8.0), "alpha": (8.0, 13.0)}
ROIS = {
    "frontal": ["Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8"],
    "central": ["C3", "Cz", "C4", "FC1", "FC2", "CP1", "CP2"],
}
# small enough for several chunks of A's epochs and several tiles of B's
SMALL = 2e5


def test_epoch_shuffle_chunks_and_tiles_equal_loop_roi_level(null_dyad):
    # Epochs: each epoch is transformed on its own, so B's epochs permuted in a DyadEpochs
    # are exactly the surrogate's pairing
    epochs = null_dyad(40.0, SFREQ, seed=5)[0].make_epochs(2.0, verbose=False)
    measures = ["plv", "coh", "imcoh"]
    kw = dict(null="epoch_shuffle", n_surrogates=5, seed=11, rois=ROIS, backend="numpy")
    res = sg.surrogate_sync(epochs, BANDS, measures, max_bytes=SMALL, n_jobs=2, verbose=False, **kw)
    perms = shuffle_orders(np.random.default_rng(11), len(epochs), 5, "epochs")
    roles = epochs.roles
    a, b = epochs.participant(roles[0]), epochs.participant(roles[1])
    for k, perm in enumerate(perms):
        b_k = mne.EpochsArray(
            b.get_data()[perm], b.info, events=a.events, tmin=a.tmin, verbose=False
        )
        pseudo = make_dyad_epochs(a, b_k, roles=roles, verbose=False)
        ref = hi.compute_sync(pseudo, BANDS, measures, rois=ROIS, backend="numpy", verbose=False)
        for mi, m in enumerate(measures):
            for bi, band in enumerate(BANDS):
                np.testing.assert_allclose(
                    res.null[k, mi, bi], ref.get_data(m, band, level="roi"), rtol=1e-5, atol=1e-6
                )
    # one thread: the same values (the chunks' sums are added in chunk order)
    one = sg.surrogate_sync(epochs, BANDS, measures, max_bytes=SMALL, verbose=False, **kw)
    np.testing.assert_array_equal(one.null, res.null)
    # one chunk: the same values to float rounding
    whole = sg.surrogate_sync(epochs, BANDS, measures, verbose=False, **kw)
    np.testing.assert_allclose(whole.null, res.null, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("rois", [None, ROIS])
def test_epoch_shuffle_raw_with_bad_span_equals_per_surrogate_measures(null_dyad, rois):
    raw = null_dyad(30.0, SFREQ, seed=6)[0]
    raw.annotations.append(7.5, 1.0, "BAD_motion")  # epochs 3 and 4 of 15 left out
    measures = ["plv", "coh", "imcoh", "ccorr"]
    res = sg.surrogate_sync(
        raw,
        BANDS,
        measures,
        null="epoch_shuffle",
        n_surrogates=6,
        seed=3,
        rois=rois,
        signed=True,  # imcoh and ccorr keep their sign: a conjugated product shows
        max_bytes=SMALL,
        n_jobs=2,
        backend="numpy",
        verbose=False,
    )
    # the reference: each surrogate's pairs, one by one, through compute_measure on the
    # band signals surrogate_sync uses (those of compute_sync)
    sig = DyadSignals(raw, BANDS, backend="numpy")
    insts, order, channels, rows, cols, _, _ = _select_channels(
        [raw], "epoch_shuffle", True, None, rois
    )
    prep = _Prepared([sig], 2.0, channels, order, signed=True)
    mask = prep.masks[0]
    assert mask.sum() == 13 and not mask[3] and not mask[4]
    perms = shuffle_orders(np.random.default_rng(3), len(mask), 6, "epochs")
    ref = np.zeros((6, len(measures), len(BANDS), len(rows), len(cols)))
    for bi, band in enumerate(BANDS):
        za, zb = prep.signals[band]
        for mi, m in enumerate(measures):
            for k, perm in enumerate(perms):
                keep = np.flatnonzero(mask & mask[perm])
                v = compute_measure(m, za[keep], zb[perm[keep]], signed=True).mean(axis=1)
                ref[k, mi, bi] = v.mean(axis=0)
    if rois is not None:
        ref = _roi_level(ref, rows, cols, raw.roles, rois)[0]
    assert res.null.shape == ref.shape
    np.testing.assert_allclose(res.null, ref, rtol=1e-5, atol=1e-6)
    assert np.any(res.null[:, 2] < 0)  # signed imcoh


def test_pseudo_dyads_chunks_threads_equal_compute_sync_loop():
    study = hi.simulate_study(
        n_dyads=3,
        segments=(("rest", 24.0),),
        sfreq=SFREQ,
        montage="standard-32",
        seed=2,
        verbose=False,
    )
    dyads = [study.get_dyad(k, verbose=False)[0] for k in range(3)]
    dyads[0].annotations.append(5.0, 1.5, "BAD_motion")
    measures = ["plv", "coh", "imcoh", "wpli"]
    kw = dict(null="pseudo_dyads", n_surrogates=None, seed=0, rois=None, backend="numpy")
    res = sg.surrogate_sync(dyads, BANDS, measures, max_bytes=SMALL, n_jobs=2, verbose=False, **kw)
    assert_pseudo_dyads_equal_loop(res, dyads, BANDS, measures)
    # one thread: the same values (the chunks' sums are added in chunk order; the people's
    # band signals and the dyads' phases are made in the threads too)
    one = sg.surrogate_sync(dyads, BANDS, measures, max_bytes=SMALL, verbose=False, **kw)
    for attr in ("null", "observed", "phase"):
        np.testing.assert_array_equal(getattr(one, attr), getattr(res, attr))
    # signed imcoh: the real dyads (from the same products as the pseudo-dyads) against
    # the within-dyad observed values (compute_measure's)
    signed = sg.surrogate_sync(
        dyads, BANDS, "imcoh", signed=True, max_bytes=SMALL, verbose=False, **kw
    )
    for d in range(3):
        within = sg.surrogate_sync(
            dyads[d],
            BANDS,
            "imcoh",
            null="epoch_shuffle",
            n_surrogates=1,
            signed=True,
            rois=None,
            backend="numpy",
            verbose=False,
        )
        assert np.any(within.observed < 0)
        np.testing.assert_allclose(signed.observed[d], within.observed, rtol=1e-5, atol=1e-6)
