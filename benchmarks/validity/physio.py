"""Validation of lagged body/autonomic synchrony (:func:`hyperinsync.lagged_sync`).

Dyads from :func:`hyperinsync.simulate_physio_dyad`: EDA, heart rate and
motion energy of both people, each modality with its own latent drivers (so the three
modalities of one replication are three independent trials), all at 4 Hz (the drivers lie
below 1 Hz), 50-min sessions (30 min for the null scenarios); analysis: lags +/-5 s, 30-s
windows every 15 s (overlapping, so the lead test's block gaps are exercised), 199 surrogates,
500 bootstrap resamples, alpha = .05.

Scenarios:

1. **Null dyads** (no coupling), ``n_rep`` replications: false-positive rates of the
   synchrony test (circular shifts), the phase test (two-sided) and the lead test (lag-mirror
   sign flips), each per modality, target [0.03, 0.07]; the rate of leader labels
   (``'<role>-led'``, which needs the test and the peak-lag interval), at most 0.07. The same
   synchrony and phase tests with ``definition='susy'`` (30-s segments; whole-segment
   circular shifts, the default, and SUSY's segment shuffles, which are liberal for the
   slowly drifting EDA) and ``definition='rmea'`` (whole-window circular shifts, about 190
   distinct ones in the 50-min sessions it is run on).
2. **Lead**: coupling at the simulator's default strength (``DEFAULT_STRENGTH``) with the
   second person following 2 s later (half of the runs) or leading by 2 s: share of runs whose
   leader label names the planted leader, target >= 0.95; the share whose peak-lag interval
   covers the planted lag is reported.
3. **Zero lag**: share of runs labelled ``'simultaneous'``, target >= 0.95.
4. **Anti-phase** at zero lag: share labelled ``'anti-phase'``, target >= 0.95.

Scenarios 2-4 use ``max(40, n_rep // 4)`` replications each.

Cost: ``n_rep = 500`` 11 min on the 2-core machine while shared (load about 5; 0.1-0.3 s
per replication), 14 min with the second SUSY null;
``quick=True`` (10-min null and 20-min coupled sessions, 3 replications, 49 surrogates)
about 3 s.
"""

from __future__ import annotations

import warnings

import mne

from hyperinsync import PhysioCoupling, lagged_sync, simulate_physio_dyad
from hyperinsync.simulation.physio import DEFAULT_STRENGTH, MODALITIES

from .common import NOMINAL, Row

ALPHA = 0.05
LAG = 2.0


def _config(quick):
    if quick:
        # 20 min: fewer than 8 blocks of windows leave the lead test no p below 0.05
        return dict(
            null_duration=600.0, duration=1200.0, max_rep=3, n_power=3, n_sur=49, n_boot=100
        )
    return dict(
        null_duration=1800.0, duration=3000.0, max_rep=None, n_power=None, n_sur=199, n_boot=500
    )


def _run(duration, couplings, seed, cfg, **kw):
    raw, _ = simulate_physio_dyad(duration, 4.0, couplings=couplings, seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # few-block warnings of short quick runs
        res = lagged_sync(
            raw,
            lag=5.0,
            window=30.0,
            n_surrogates=cfg["n_sur"],
            n_boot=cfg["n_boot"],
            seed=seed,
            **kw,
        )
    return {row["modality"]: row for row in res.sessions}


def _count(rows_by_rep, test):
    out = {}
    for rows in rows_by_rep:
        for mod, row in rows.items():
            k, n = out.get(mod, (0, 0))
            out[mod] = (k + int(test(row)), n + 1)
    return out


def run(n_rep, seed, quick=False):
    """Return the rows of the physiological validation (see the module docstring)."""
    mne.set_log_level("ERROR")
    cfg = _config(quick)
    n_null = n_rep if cfg["max_rep"] is None else min(n_rep, cfg["max_rep"])
    n_pow = cfg["n_power"] or max(40, n_rep // 4)
    rows = []
    extra = dict(duration_s=cfg["null_duration"], n_surrogates=cfg["n_sur"])

    # 1. null dyads
    wcc = [_run(cfg["null_duration"], [], seed + r, cfg, step=15.0) for r in range(n_null)]
    for quantity, test, target, fam in (
        ("FPR", lambda r: r["sync_p"] <= ALPHA, NOMINAL, "sync (circular shift)"),
        ("FPR", lambda r: r["phase_p"] <= ALPHA, NOMINAL, "phase, two-sided"),
        ("FPR", lambda r: r["lead_p"] <= ALPHA, NOMINAL, "lead test (lag mirror)"),
        (
            "leader label rate",
            lambda r: r["leader"] != "simultaneous",
            ("at_most", 0.07),
            "leader label",
        ),
    ):
        for mod, (k, n) in _count(wcc, test).items():
            rows.append(
                Row(
                    f"lagged_sync wcc / {fam}",
                    f"null dyad, {mod}",
                    quantity,
                    k,
                    n,
                    target,
                    dict(extra),
                )
            )
    for k, (definition, kw) in enumerate(
        (
            ("susy", dict(null="circular_shift")),
            ("susy", dict(null="segment_shuffle")),
            ("rmea", dict(step=15.0)),
        )
    ):
        # rmea shifts whole windows: 50 min give about 190 distinct shifts (30 min only 113,
        # too coarse for a two-sided p: its effective alpha is then about 0.035)
        dur = cfg["duration"] if definition == "rmea" else cfg["null_duration"]
        res = [
            _run(dur, [], seed + 10_000 * (k + 1) + r, cfg, definition=definition, **kw)
            for r in range(n_null)
        ]
        null = "segment shuffle" if kw.get("null") == "segment_shuffle" else "whole-window shifts"
        for fam, test in (
            (f"sync ({null})", lambda r: r["sync_p"] <= ALPHA),
            ("phase, two-sided", lambda r: r["phase_p"] <= ALPHA),
        ):
            for mod, (k, n) in _count(res, test).items():
                rows.append(
                    Row(
                        f"lagged_sync {definition} / {fam}",
                        f"null dyad, {mod}",
                        "FPR",
                        k,
                        n,
                        NOMINAL,
                        dict(extra, duration_s=dur),
                    )
                )

    # 2-4. coupled dyads at the default strength
    extra = dict(duration_s=cfg["duration"], strength=DEFAULT_STRENGTH, n_surrogates=cfg["n_sur"])

    def coupled(lag, phase, r):
        return [PhysioCoupling(m, DEFAULT_STRENGTH, lag, phase) for m in MODALITIES]

    led, cover = [], []
    for r in range(n_pow):
        lag = LAG if r % 2 == 0 else -LAG
        out = _run(cfg["duration"], coupled(lag, "in", r), seed + 50_000 + r, cfg, step=15.0)
        want = "therapist-led" if lag > 0 else "client-led"
        led.append({m: dict(ok=row["leader"] == want) for m, row in out.items()})
        cover.append(
            {
                m: dict(ok=row["peak_lag_ci_low"] <= lag <= row["peak_lag_ci_high"])
                for m, row in out.items()
            }
        )
    for mod, (k, n) in _count(led, lambda r: r["ok"]).items():
        rows.append(
            Row(
                "lagged_sync wcc / leader label",
                f"lag +/-{LAG:g} s, {mod}",
                "accuracy",
                k,
                n,
                ("at_least", 0.95),
                dict(extra, lag_s=LAG),
            )
        )
    for mod, (k, n) in _count(cover, lambda r: r["ok"]).items():
        rows.append(
            Row(
                "lagged_sync wcc / peak-lag interval",
                f"lag +/-{LAG:g} s, {mod}",
                "coverage",
                k,
                n,
                None,
                dict(extra, lag_s=LAG),
            )
        )
    zero = [
        _run(cfg["duration"], coupled(0.0, "in", r), seed + 60_000 + r, cfg, step=15.0)
        for r in range(n_pow)
    ]
    for mod, (k, n) in _count(zero, lambda r: r["leader"] == "simultaneous").items():
        rows.append(
            Row(
                "lagged_sync wcc / leader label",
                f"zero lag, {mod}",
                "simultaneous",
                k,
                n,
                ("at_least", 0.95),
                dict(extra, lag_s=0.0),
            )
        )
    anti = [
        _run(cfg["duration"], coupled(0.0, "anti", r), seed + 70_000 + r, cfg, step=15.0)
        for r in range(n_pow)
    ]
    for mod, (k, n) in _count(anti, lambda r: r["phase"] == "anti-phase").items():
        rows.append(
            Row(
                "lagged_sync wcc / phase label",
                f"anti-phase, {mod}",
                "anti-phase",
                k,
                n,
                ("at_least", 0.95),
                dict(extra, lag_s=0.0),
            )
        )
    return rows
