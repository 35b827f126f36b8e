"""Validation of In-Sync Level 2: segment tests against chance and segment contrasts.

Scenarios (simulated with :func:`hyperinsync.simulate_dyad`; the same 8 + 8 channels, 4 ROIs
and 2 bands as ``validity.surrogates``; two annotated segments, ``rest_pre`` and
``rest_post``, of 60 s each at 250 Hz; 2-s epochs; 199 surrogates per segment, 999
permutations per contrast):

1. **No coupling**, ``n_rep`` replications per null model (``circular_shift``,
   ``epoch_shuffle``), :func:`hyperinsync.level2` with ``correction='maxstat'``:

   - segment tests (2 segments x 2 bands x 16 ROI pairs = 64 tests): the uncorrected
     false-positive rate of one pre-specified test (rest_post, alpha, central-central), the
     FDR (any ``p_fdr <= .05``; under the complete null the FDR is the probability of any
     rejection) and the family-wise error of the standardised max-statistic
     (any ``p_corrected <= .05``);
   - the contrast rest_post - rest_pre under no change (32 tests): ``p_null`` and
     ``p_epochs`` of the pre-specified test, the max-stat family-wise error of ``p_null``
     (``p_null_corrected``) and the FDR of ``p_epochs`` (``p_epochs_fdr``).
2. **Tonic coupling, no change**: the same coupling (strength 0.3, alpha, C3/C4 of both) in
   both segments, ``n_rep`` replications (circular shifts). The contrast's ``p_epochs`` on the
   coupled pair must stay nominal. ``p_null`` is reported without a target: it compares the
   change with surrogate differences at chance level and is documented to hold its rate only
   for uncoupled segments.
3. **Power**, ``max(20, n_rep // 10)`` replications per point: a coupling of strength s
   (0.05-0.5) in rest_post only, per band; detection of that segment's test by the corrected
   tests (max-stat, FDR), and of the change by the contrast's ``p_epochs`` (uncorrected and
   FDR).

Cost, measured on the project's 2-core machine while shared (load average about 10, one
BLAS thread): ``n_rep = 100`` (20 replications per power point) took 10 min; ``n_rep = 500``
(50 per point) takes about 40 min there, about half that on an idle machine.
``quick=True``: about 5 s (2 s of CPU).
"""

from __future__ import annotations

from hyperinsync import Coupling, simulate_dyad
from hyperinsync.insync import level2

from .common import FDR_TARGET, NOMINAL, Row
from .surrogates import ALPHA, BANDS, ROIS, STRENGTHS, _run_parts, _seed

SEGMENT, FOCUS = "rest_post", ("alpha", "central", "central")
L2_NULLS = ("circular_shift", "epoch_shuffle")


def _config(quick):
    if quick:
        return dict(
            seg=20.0,
            sfreq=100.0,
            max_rep=3,
            n_surrogates=39,
            n_perm=99,
            n_power=2,
            strengths=(0.5,),
            power_bands=("alpha",),
        )
    return dict(
        seg=60.0,
        sfreq=250.0,
        max_rep=None,
        n_surrogates=199,
        n_perm=999,
        n_power=None,
        strengths=STRENGTHS,
        power_bands=tuple(BANDS),
    )


def _dyad(cfg, montage, seed, couplings=()):
    raw, _ = simulate_dyad(
        sfreq=cfg["sfreq"],
        montage=montage,
        couplings=list(couplings),
        roles=("therapist", "client"),
        segments=[("rest_pre", cfg["seg"]), ("rest_post", cfg["seg"])],
        seed=seed,
        verbose=False,
    )
    return raw


def _level2(cfg, raw, null, seed):
    return level2(
        raw,
        segments=["rest_pre", "rest_post"],
        bands=BANDS,
        rois=ROIS,
        null=null,
        n_surrogates=cfg["n_null"],
        correction="maxstat",
        contrasts=(("rest_post", "rest_pre"),),
        n_permutations=cfg["n_perm"],
        seed=seed,
        backend="numpy",
        verbose=False,
    )


def _row(res, segment=SEGMENT, band=FOCUS[0], roi=FOCUS[1]):
    for r in res.rows:
        if (r["segment"], r["band"], r["roi_a"], r["roi_b"]) == (segment, band, roi, roi):
            return r
    raise KeyError((segment, band, roi))


def _contrast(res, band=FOCUS[0], roi=FOCUS[1]):
    for c in res.contrasts:
        if (c["band"], c["roi_a"], c["roi_b"]) == (band, roi, roi):
            return c
    raise KeyError((band, roi))


def _any(rows, key):
    return bool(any(r[key] <= ALPHA for r in rows))


def _null_rows(cfg, n_rep, seed, montage):
    rows = []
    for ni, null in enumerate(L2_NULLS):
        k = dict(seg=0, seg_fdr=0, seg_max=0, p_null=0, p_epochs=0, null_max=0, ep_fdr=0)
        for r in range(n_rep):
            res = _level2(
                cfg, _dyad(cfg, montage, _seed(seed, 21, ni, r)), null, _seed(seed, 22, ni, r)
            )
            c = _contrast(res)
            k["seg"] += _row(res)["p"] <= ALPHA
            k["seg_fdr"] += _any(res.rows, "p_fdr")
            k["seg_max"] += _any(res.rows, "p_corrected")
            k["p_null"] += c["p_null"] <= ALPHA
            k["p_epochs"] += c["p_epochs"] <= ALPHA
            k["null_max"] += _any(res.contrasts, "p_null_corrected")
            k["ep_fdr"] += _any(res.contrasts, "p_epochs_fdr")
        scen = (
            f"no coupling, 2 x {cfg['seg']:g} s at {cfg['sfreq']:g} Hz, {null}, "
            f"{cfg['n_null']} surrogates"
        )
        test = dict(test=f"{SEGMENT} " + " ".join(FOCUS))
        con = dict(test=" ".join(FOCUS))
        fam = f"level2 / {null}"
        rows += [
            Row(f"{fam} / segment / uncorrected", scen, "FPR", k["seg"], n_rep, NOMINAL, test),
            Row(
                f"{fam} / segment / FDR",
                scen,
                "FDR",
                k["seg_fdr"],
                n_rep,
                FDR_TARGET,
                dict(family="2 segments x 2 bands x 16 ROI pairs"),
            ),
            Row(f"{fam} / segment / max-stat", scen, "FWER", k["seg_max"], n_rep, NOMINAL),
            Row(
                f"{fam} / contrast p_null / uncorrected",
                scen,
                "FPR",
                k["p_null"],
                n_rep,
                NOMINAL,
                con,
            ),
            Row(
                f"{fam} / contrast p_null / max-stat",
                scen,
                "FWER",
                k["null_max"],
                n_rep,
                NOMINAL,
                dict(family="1 contrast x 2 bands x 16 ROI pairs"),
            ),
            Row(
                f"{fam} / contrast p_epochs / uncorrected",
                scen,
                "FPR",
                k["p_epochs"],
                n_rep,
                NOMINAL,
                con,
            ),
            Row(f"{fam} / contrast p_epochs / FDR", scen, "FDR", k["ep_fdr"], n_rep, FDR_TARGET),
        ]
    return rows


def _tonic_rows(cfg, n_rep, seed, montage):
    coupling = Coupling("alpha", ["C3", "C4"], ["C3", "C4"], 0.3)
    k_ep = k_null = 0
    for r in range(n_rep):
        res = _level2(
            cfg,
            _dyad(cfg, montage, _seed(seed, 23, r), [coupling]),
            "circular_shift",
            _seed(seed, 24, r),
        )
        c = _contrast(res)
        k_ep += c["p_epochs"] <= ALPHA
        k_null += c["p_null"] <= ALPHA
    scen = f"tonic alpha coupling 0.3 (central) in both segments, no change, 2 x {cfg['seg']:g} s"
    con = dict(test=" ".join(FOCUS))
    return [
        Row("level2 / contrast p_epochs / uncorrected", scen, "FPR", k_ep, n_rep, NOMINAL, con),
        Row(
            "level2 / contrast p_null / uncorrected",
            scen,
            "FPR",
            k_null,
            n_rep,
            None,
            dict(con, note="p_null assumes uncoupled segments (documented)"),
        ),
    ]


def _power_rows(cfg, n_power, seed, montage):
    rows = []
    for bi, band in enumerate(cfg["power_bands"]):
        for si, strength in enumerate(cfg["strengths"]):
            coupling = Coupling(
                band, ["C3", "C4"], ["C3", "C4"], strength, episodes=[(cfg["seg"], 2 * cfg["seg"])]
            )
            k = {
                "segment / max-stat": 0,
                "segment / FDR": 0,
                "contrast p_epochs / uncorrected": 0,
                "contrast p_epochs / FDR": 0,
            }
            for r in range(n_power):
                res = _level2(
                    cfg,
                    _dyad(cfg, montage, _seed(seed, 25, bi, si, r), [coupling]),
                    "circular_shift",
                    _seed(seed, 26, bi, si, r),
                )
                row, c = _row(res, band=band), _contrast(res, band=band)
                k["segment / max-stat"] += row["p_corrected"] <= ALPHA
                k["segment / FDR"] += row["p_fdr"] <= ALPHA
                k["contrast p_epochs / uncorrected"] += c["p_epochs"] <= ALPHA
                k["contrast p_epochs / FDR"] += c["p_epochs_fdr"] <= ALPHA
            for name, hits in k.items():
                rows.append(
                    Row(
                        f"level2 / circular_shift / {name}",
                        f"central coupling in {band} in rest_post only, 2 x {cfg['seg']:g} s",
                        "power",
                        int(hits),
                        n_power,
                        None,
                        dict(band=band, strength=strength),
                    )
                )
    return rows


def run(n_rep, seed, quick=False):
    """Level 2 rows (see the module docstring); ``quick``: 2 x 20 s at 100 Hz, 3 replications.

    The arguments are those of every scenario module (``validity.surrogates.run``).
    """
    return _run_parts(_config(quick), [_null_rows, _tonic_rows], [_power_rows], n_rep, seed)
