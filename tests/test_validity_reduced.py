"""A reduced validation study: error rates of the main tests on simulated null dyads.

The full study is ``benchmarks/validity.py`` (``benchmarks/VALIDITY.md``, 300-500 runs per
rate). Here a few dozen runs per rate, with fixed seeds, and bounds from the binomial
distribution: a procedure at its nominal 5 % exceeds the upper bound with probability
below 0.1 %, while the defects the study was built to catch (a max-statistic over raw values,
Level 1 episodes in most null recordings) exceed it by far.
"""

import numpy as np
import pytest
from scipy.stats import binom

import hyperinsync as hs

ALPHA = 0.05
ROIS = {"frontal": ["F3", "Fz", "F4"], "central": ["C3", "Cz", "C4"]}
BANDS = {"theta": (4.0, 8.0), "alpha": (8.0, 13.0)}


def _upper(n, p=ALPHA, risk=1e-3):
    """Largest count a procedure at rate ``p`` reaches with probability >= ``risk``."""
    return int(binom.isf(risk, n, p))


def _null_dyad(seed, duration, sfreq=100.0):
    raw, _ = hs.simulate_dyad(
        duration=duration, sfreq=sfreq, couplings=[], seed=seed, verbose=False
    )
    return raw.pick([f"{r}:{c}" for r in ("A", "B") for ch in ROIS.values() for c in ch])


@pytest.mark.slow
def test_surrogate_test_error_rates_on_null_dyads():
    """Circular-shift nulls, 2 bands x 2 x 2 ROI pairs (8 tests per dyad): the max-statistic
    family-wise rate and the tests' uncorrected rate stay within binomial bounds of 5 %.

    The uncorrected bound treats the 8 tests of a dyad as independent; they are positively
    correlated (shared surrogates), which widens the spread a little (measured: 33 of 480).
    """
    n = 60
    any_max, rejected, any_raw = 0, 0, 0
    for k in range(n):
        res = hs.surrogate_test(
            _null_dyad(1000 + k, 30.0),
            BANDS,
            null="circular_shift",
            n_surrogates=99,
            rois=ROIS,
            correction="maxstat",
            seed=k,
            min_shift=2.0,
            verbose=False,
        )
        any_max += bool(np.any(res.p_corrected <= ALPHA))
        rejected += int(np.sum(res.p <= ALPHA))
        any_raw += bool(np.any(res.p <= ALPHA))
    assert res.p.size == 8
    assert any_max <= _upper(n), any_max
    assert rejected <= _upper(n * res.p.size), rejected
    # the family needs its correction: uncorrected, 8 tests reject far more often than 5 %
    assert any_raw > _upper(n), any_raw


@pytest.mark.slow
def test_level1_any_episode_rate_on_null_recordings():
    """Level 1 episodes (one max-statistic family over windows, ROI pairs and bands): few
    null recordings show any episode (the first version showed one in 4 of 6).
    """
    n = 16
    with_episode = 0
    for k in range(n):
        raw = _null_dyad(2000 + k, 60.0)
        res = hs.level1(
            raw,
            BANDS,
            ROIS,
            window=4.0,
            step=0.5,
            n_surrogates=39,
            lead_lag=False,
            seed=k,
            verbose=False,
        )
        with_episode += len(res.episodes) > 0
    assert with_episode <= _upper(n), with_episode
