"""Validation of the surrogate tests.

``surrogate_test`` (every within-dyad null model) and ``pseudo_dyad_test``.

Scenarios (simulated with :func:`hyperinsync.simulate_dyad`; montage: 8 channels per person,
F3 F4 C3 C4 P3 P4 O1 O2, analysed as 4 two-channel ROIs, so the family of one result is
16 ROI pairs x 2 bands (theta 4-8 Hz, alpha 8-13 Hz) = 32 tests; 60 s at 250 Hz, 2-s epochs):

1. **Null dyads** (no coupling), ``n_rep`` replications per null model. Per replication:
   the uncorrected false-positive rate of one pre-specified test (alpha, central-central;
   one Bernoulli trial per replication, so the binomial CI holds; the mean over all 32 tests
   is given as ``all_tests``), the FDR (Benjamini-Hochberg over the family: under the
   complete null the FDR is the probability of any rejection; the same p-values through
   :func:`scipy.stats.false_discovery_control` must reject the same tests, ``scipy_agree``)
   and the family-wise error of the standardised max-statistic (``correction='maxstat'``).
   Surrogates: 999 (epoch and segment shuffles), 499 (circular shifts), 199 (phase
   randomisation, which re-filters B per surrogate).
2. **Signed measures**, two-sided (issue 11, item 6): envcorr, and ccorr and imcoh with
   ``signed=True``, epoch shuffles, uncorrected per test and max-stat over measures x bands x
   ROI pairs (96 tests).
3. **Pseudo-dyads**: ``n_rep`` studies of 12 null dyads, all 132 role-keeping pseudo-dyads as
   the null. Per study the first real dyad's tests (uncorrected, FDR, max-stat over its 32
   tests) and the group test (real vs pseudo, alpha central-central, uncorrected; FDR over
   the 32 group tests).
4. **Power**: a coupling of strength s (expected coherence; 0.05-0.5) planted between C3/C4 of
   both people in one band; detection rate of the planted pair and band by the corrected tests
   (max-stat and FDR) for epoch shuffles and circular shifts, ``max(20, n_rep // 10)``
   replications per point. FDR can reject a single coupled test among 32 only with at least
   639 surrogates (p >= 1 / (N + 1)): with the 499 circular shifts it mostly cannot.

Cost, measured on the project's 2-core machine while shared (load average about 10):
``n_rep = 100`` (20 replications per power point) took 25 min; ``n_rep = 500`` (50 per
point) takes about 1 h 45 min there, about half that on an idle machine. Most of it is the
circular shifts and the phase randomisation (which re-filters B per surrogate).
``quick=True``: about 10 s (5 s of CPU).
"""

from __future__ import annotations

import numpy as np
from scipy import stats as sps

from hyperinsync import Coupling, read_montage, simulate_dyad
from hyperinsync.stats import fdr_bh, pseudo_dyad_test, surrogate_test

from .common import FDR_TARGET, NOMINAL, Row

ALPHA = 0.05
CHANNELS = ["F3", "F4", "C3", "C4", "P3", "P4", "O1", "O2"]
ROIS = {
    "frontal": ["F3", "F4"],
    "central": ["C3", "C4"],
    "parietal": ["P3", "P4"],
    "occipital": ["O1", "O2"],
}
BANDS = {"theta": (4.0, 8.0), "alpha": (8.0, 13.0)}
FOCUS = ("alpha", "central", "central")  # the pre-specified single test
NULLS = ("epoch_shuffle", "circular_shift", "segment_shuffle", "phase_randomization")
STRENGTHS = (0.05, 0.1, 0.2, 0.3, 0.5)


def _config(quick):
    if quick:
        return dict(
            duration=30.0,
            sfreq=100.0,
            max_rep=3,
            n_dyads=4,
            n_power=2,
            strengths=(0.5,),
            power_bands=("alpha",),
            n_sur=dict(
                epoch_shuffle=99, circular_shift=49, segment_shuffle=99, phase_randomization=19
            ),
            n_perm=99,
            segment_duration=4.0,
        )
    return dict(
        duration=60.0,
        sfreq=250.0,
        max_rep=None,
        n_dyads=12,
        n_power=None,
        strengths=STRENGTHS,
        power_bands=tuple(BANDS),
        n_sur=dict(
            epoch_shuffle=999, circular_shift=499, segment_shuffle=999, phase_randomization=199
        ),
        n_perm=999,
        segment_duration=6.0,
    )


def _montage(channels=CHANNELS):
    """Return the bundled ``standard-32`` montage restricted to ``channels``."""
    import mne

    pos = read_montage("standard-32").get_positions()["ch_pos"]
    return mne.channels.make_dig_montage({c: pos[c] for c in channels}, coord_frame="head")


def _run_parts(cfg, null_parts, power_parts, n_rep, seed):
    """Rows of every part: ``part(cfg, n, seed, montage)`` with the null or power count."""
    if cfg["max_rep"] is not None:  # quick runs
        n_rep = min(n_rep, cfg["max_rep"])
    n_power = cfg["n_power"] or max(20, n_rep // 10)
    montage = _montage()
    rows = []
    for part in null_parts:
        rows += part(cfg, n_rep, seed, montage)
    for part in power_parts:
        rows += part(cfg, n_power, seed, montage)
    return rows


def _seed(*key):
    """Return an int seed for one scenario and replication, independent of all others."""
    return int(np.random.SeedSequence([int(k) for k in key]).generate_state(1)[0])


def _dyad(cfg, montage, seed, couplings=(), roles=("therapist", "client")):
    raw, _ = simulate_dyad(
        cfg["duration"],
        cfg["sfreq"],
        montage=montage,
        roles=roles,
        couplings=list(couplings),
        seed=seed,
        verbose=False,
    )
    return raw


def _focus_index(res, band=FOCUS[0], roi=FOCUS[1]):
    return list(res.bands).index(band), res.rows.index(roi), res.cols.index(roi)


def _family_events(p, p_corr):
    """(any FDR rejection, scipy agrees with it, any max-stat rejection) of one family."""
    fdr = fdr_bh(p, ALPHA)[0]
    peer = sps.false_discovery_control(p.ravel(), method="bh") <= ALPHA
    return bool(fdr.any()), bool(np.array_equal(fdr.ravel(), peer)), bool(np.any(p_corr <= ALPHA))


def _rate_rows(family, scenario, n, focus, all_rate, fdr, agree, maxstat, uncorrected="FPR"):
    return [
        Row(
            f"{family} / uncorrected",
            scenario,
            uncorrected,
            focus,
            n,
            NOMINAL,
            dict(test=" ".join(FOCUS), all_tests=all_rate),
        ),
        Row(
            f"{family} / FDR", scenario, "FDR", fdr, n, FDR_TARGET, dict(scipy_agree=f"{agree}/{n}")
        ),
        Row(f"{family} / max-stat", scenario, "FWER", maxstat, n, NOMINAL),
    ]


def _null_models(cfg, n_rep, seed, montage):
    rows = []
    for ni, null in enumerate(NULLS):
        n_sur = cfg["n_sur"][null]
        focus = fdr = agree = maxstat = 0
        all_rates = []
        for r in range(n_rep):
            raw = _dyad(cfg, montage, _seed(seed, 1, ni, r))
            res = surrogate_test(
                raw,
                null=null,
                n_surrogates=n_sur,
                bands=BANDS,
                rois=ROIS,
                correction="maxstat",
                seed=_seed(seed, 2, ni, r),
                segment_duration=cfg["segment_duration"],
                min_shift=5.0,
                backend="numpy",
                verbose=False,
            )
            p = res.p[0]
            bi, ri, ci = _focus_index(res)
            focus += bool(p[bi, ri, ci] <= ALPHA)
            all_rates.append(np.mean(p <= ALPHA))
            f, a, m = _family_events(p, res.p_corrected)
            fdr, agree, maxstat = fdr + f, agree + a, maxstat + m
        scenario = (
            f"null dyad, 8+8 ch (4 ROIs), {cfg['duration']:g} s, {cfg['sfreq']:g} Hz, "
            f"{n_sur} surrogates"
        )
        rows += _rate_rows(
            f"test_sync / {null}",
            scenario,
            n_rep,
            focus,
            float(np.mean(all_rates)),
            fdr,
            agree,
            maxstat,
        )
    return rows


def _signed(cfg, n_rep, seed, montage):
    measures = ["envcorr", "ccorr", "imcoh"]
    focus = {m: 0 for m in measures}
    maxstat = 0
    for r in range(n_rep):
        raw = _dyad(cfg, montage, _seed(seed, 3, r))
        res = surrogate_test(
            raw,
            null="epoch_shuffle",
            n_surrogates=cfg["n_sur"]["epoch_shuffle"],
            bands=BANDS,
            measures=measures,
            signed=True,
            rois=ROIS,
            correction="maxstat",
            seed=_seed(seed, 4, r),
            backend="numpy",
            verbose=False,
        )
        bi, ri, ci = _focus_index(res)
        for mi, m in enumerate(measures):
            focus[m] += bool(res.p[mi, bi, ri, ci] <= ALPHA)
        maxstat += bool(np.any(res.p_corrected <= ALPHA))
    scenario = f"null dyad, 8+8 ch, {cfg['duration']:g} s, epoch_shuffle, signed, two-sided"
    rows = [
        Row(
            f"test_sync / signed {m} / uncorrected",
            scenario,
            "FPR",
            focus[m],
            n_rep,
            NOMINAL,
            dict(test=" ".join(FOCUS)),
        )
        for m in measures
    ]
    rows.append(
        Row(
            "test_sync / signed measures / max-stat",
            scenario,
            "FWER",
            maxstat,
            n_rep,
            NOMINAL,
            dict(family="3 measures x 2 bands x 16 ROI pairs"),
        )
    )
    return rows


def _pseudo(cfg, n_rep, seed, montage):
    focus = fdr = agree = maxstat = grp = grp_fdr = 0
    all_rates = []
    n_pairs = 0
    for r in range(n_rep):
        dyads = [_dyad(cfg, montage, _seed(seed, 5, r, d)) for d in range(cfg["n_dyads"])]
        res = pseudo_dyad_test(
            dyads,
            BANDS,
            rois=ROIS,
            correction="maxstat",
            n_permutations=cfg["n_perm"],
            seed=_seed(seed, 6, r),
            backend="numpy",
            verbose=False,
        )
        n_pairs = len(res.null)
        p = res.p[0, 0]  # the first real dyad, PLV
        bi, ri, ci = _focus_index(res)
        focus += bool(p[bi, ri, ci] <= ALPHA)
        all_rates.append(np.mean(p <= ALPHA))
        f, a, m = _family_events(p, res.p_corrected[0])
        fdr, agree, maxstat = fdr + f, agree + a, maxstat + m
        grp += bool(res.group["p"][0, bi, ri, ci] <= ALPHA)
        grp_fdr += bool(np.any(res.group["p_corrected"] <= ALPHA))
    scenario = (
        f"{cfg['n_dyads']} null dyads, {n_pairs} pseudo-dyads, {cfg['duration']:g} s, "
        f"{cfg['sfreq']:g} Hz"
    )
    rows = _rate_rows(
        "pseudo_dyad_test / dyad 0",
        scenario,
        n_rep,
        focus,
        float(np.mean(all_rates)),
        fdr,
        agree,
        maxstat,
    )
    rows += [
        Row(
            "pseudo_dyad_test / group (real vs pseudo) / uncorrected",
            scenario,
            "FPR",
            grp,
            n_rep,
            NOMINAL,
            dict(test=" ".join(FOCUS)),
        ),
        Row(
            "pseudo_dyad_test / group (real vs pseudo) / FDR",
            scenario,
            "FDR",
            grp_fdr,
            n_rep,
            FDR_TARGET,
        ),
    ]
    return rows


def _power(cfg, n_power, seed, montage):
    rows = []
    for ni, null in enumerate(("epoch_shuffle", "circular_shift")):
        n_sur = cfg["n_sur"][null]
        for bi_, band in enumerate(cfg["power_bands"]):
            for si, strength in enumerate(cfg["strengths"]):
                hits = {"max-stat": 0, "FDR": 0}
                for r in range(n_power):
                    coupling = Coupling(band, ["C3", "C4"], ["C3", "C4"], strength)
                    raw = _dyad(cfg, montage, _seed(seed, 7, ni, bi_, si, r), [coupling])
                    res = surrogate_test(
                        raw,
                        null=null,
                        n_surrogates=n_sur,
                        bands=BANDS,
                        rois=ROIS,
                        correction="maxstat",
                        min_shift=5.0,
                        seed=_seed(seed, 8, ni, bi_, si, r),
                        backend="numpy",
                        verbose=False,
                    )
                    bi, ri, ci = _focus_index(res, band=band)
                    hits["max-stat"] += bool(res.p_corrected[0, bi, ri, ci] <= ALPHA)
                    hits["FDR"] += bool(fdr_bh(res.p, ALPHA)[0][0, bi, ri, ci])
                for corr, k in hits.items():
                    rows.append(
                        Row(
                            f"test_sync / {null} / {corr}",
                            f"central-central coupling in {band}, {cfg['duration']:g} s, "
                            f"{n_sur} surrogates",
                            "power",
                            k,
                            n_power,
                            None,
                            dict(band=band, strength=strength),
                        )
                    )
    return rows


def run(n_rep, seed, quick=False):
    """Error rates and power of the surrogate tests (see the module docstring).

    Parameters
    ----------
    n_rep : int
        Null replications per family.
    seed : int
        Seed of the whole study.
    quick : bool
        Reduced sizes (30 s at 100 Hz, at most 3 replications, few surrogates).

    Returns
    -------
    rows : list of Row
    """
    return _run_parts(_config(quick), [_null_models, _signed, _pseudo], [_power], n_rep, seed)
