"""In-Sync Level 3: session trends across a therapy (issue 11, items 2 and 9).

What is checked
---------------
The false-positive rate at alpha = .05 of :func:`hyperinsync.level3`'s trend test across
dyads (mean slope over sessions, session order permuted within every dyad) on series
without a trend in coupling, for the per-session feature a study uses by default
(``corrected`` = observed - surrogate null mean) and ``z``, with the raw feature beside them
(no target):

- ``flat, no coupling`` and ``flat, constant coupling`` (tonic alpha frontal coupling of
  strength 0.2 in every session);
- ``alpha drift``: no coupling, but the alpha rhythm grows from session to session (an extra
  independent alpha background whose RMS rises from 0 to 1.5 times the signal's), as when a
  client relaxes more in later sessions: raw PLV then rises with it, synchrony does not.

Each row is one feature (alpha frontal-frontal PLV, where coupling is planted) and also the
family of 4 features (theta / alpha x frontal / central) FDR-corrected as the study does.
Then the power against a planted linear rise of coupling strength (0.05 + slope x session).

How it is simulated
-------------------
Every session of every dyad is a simulated recording analysed as a study's recording is
(``validity.group.dyad_features``: :func:`hyperinsync.simulate_dyad`, 2 x 6 channels, 100 Hz,
40 s; :func:`hyperinsync.surrogate_test`, epoch-shuffle null, 50 surrogates, ROI level). 6 dyads x 5
sessions per replication; 999 permutations of session order.

Cost
----
30 recordings per scenario and replication, about 0.1-0.15 s of CPU each: a full run
(n_rep = 500 for the 3 null scenarios, 250 per power point, 3 slopes: ~67 000 recordings)
is 2-3 hours on one core; n_rep = 30 (4 050 recordings) took 20 min on a shared, overloaded
2-core machine. ``quick=True``: 2 replications of 3 dyads x 3 sessions, one scenario and one
power point, about 3 s of CPU (a smoke check).
"""

import sys

import numpy as np

from hyperinsync import level3
from hyperinsync.stats import fdr_bh

from .common import NOMINAL, Row
from .group import BANDS, ROIS, _montage, dyad_features

ALPHA = 0.05
FEATURES = ("corrected", "z", "raw")


def _trend_p(rng, n_dyads, n_sessions, session_kwargs, n_sur, n_perm, montage):
    """Summary p of level3 per feature kind: (one feature, family FDR any) per kind."""
    cells = {f: [] for f in FEATURES}  # rows per feature kind: (dyad, session, values[4])
    for d in range(n_dyads):
        for s in range(n_sessions):
            feats = dyad_features(
                int(rng.integers(2**31)), n_surrogates=n_sur, montage=montage, **session_kwargs(s)
            )
            for f in FEATURES:
                cells[f].append((f"d{d}", s, feats[f]))
    out = {}
    alpha_frontal = list(BANDS).index("alpha") * len(ROIS)
    pseed = int(rng.integers(2**31))
    for f in FEATURES:
        p = []
        for j in range(len(BANDS) * len(ROIS)):
            rows = [dict(dyad=d, session=s, value=float(v[j])) for d, s, v in cells[f]]
            p.append(level3(rows, n_permutations=n_perm, seed=pseed).summary["p"])
        p = np.array(p)
        out[f] = (p[alpha_frontal] <= ALPHA, bool(np.any(fdr_bh(p)[1] <= ALPHA)))
    return out


def run(n_rep, seed, quick=False):
    """Level 3 trend: error rate on flat series, with and without confounds, and power."""
    rng = np.random.default_rng(seed)
    montage = _montage()
    n_dyads, n_sessions = (3, 3) if quick else (6, 5)
    n_rep = min(n_rep, 2) if quick else n_rep
    n_sur = 19 if quick else 50
    n_perm = 199 if quick else 999
    duration = 20.0 if quick else 40.0
    slopes = (0.1,) if quick else (0.02, 0.05, 0.1)
    n_power = n_rep if quick else max(n_rep // 2, 1)
    top = n_sessions - 1
    scenarios = {
        "flat, no coupling": lambda s: dict(duration=duration),
        "flat, constant coupling 0.2": lambda s: dict(duration=duration, strength=0.2),
        "alpha drift (gain 0 -> 1.5 over sessions), no coupling": lambda s: dict(
            duration=duration, alpha_gain=1.5 * s / top
        ),
    }
    if quick:
        scenarios = dict(list(scenarios.items())[:1])
    design = f"{n_dyads} dyads x {n_sessions} sessions of {duration:g} s"
    rows, shown = [], 0
    for name, kwargs in scenarios.items():
        one = {f: 0 for f in FEATURES}
        fam = {f: 0 for f in FEATURES}
        for _ in range(n_rep):
            res = _trend_p(rng, n_dyads, n_sessions, kwargs, n_sur, n_perm, montage)
            for f in FEATURES:
                one[f] += bool(res[f][0])
                fam[f] += bool(res[f][1])
        for f in FEATURES:
            target = None if f == "raw" else NOMINAL
            rows += [
                Row(
                    f"level3 trend (mean slope across dyads), alpha frontal, {f}",
                    f"{name}; {design}",
                    "FPR",
                    one[f],
                    n_rep,
                    target,
                ),
                Row(
                    f"level3 trend, FDR over 4 features, {f}",
                    f"{name}; {design}",
                    "FWER",
                    fam[f],
                    n_rep,
                    target,
                ),
            ]
        shown = _progress(rows, shown)
    for slope in slopes:
        hits = 0
        for _ in range(n_power):
            res = _trend_p(
                rng,
                n_dyads,
                n_sessions,
                lambda s, slope=slope: dict(duration=duration, strength=0.05 + slope * s),
                n_sur,
                n_perm,
                montage,
            )
            hits += bool(res["corrected"][0])
        rows.append(
            Row(
                "level3 trend (mean slope across dyads), alpha frontal, corrected",
                f"coupling strength 0.05 + slope x session; {design}",
                "power",
                hits,
                n_power,
                None,
                extra=dict(slope_per_session=slope),
            )
        )
        shown = _progress(rows, shown)
    return rows


def _progress(rows, start):
    """Print the rows measured since ``start`` to stderr (long runs show progress)."""
    for r in rows[start:]:
        print(
            f"  [{__name__}] {r.family} | {r.scenario} | {r.quantity} {r.k}/{r.n} {r.extra or ''}",
            file=sys.stderr,
            flush=True,
        )
    return len(rows)
