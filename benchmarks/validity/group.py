"""Group statistics: the group contrast and the questionnaire correlation (issue 11, item 2).

What is checked
---------------
The false-positive rate at alpha = .05 of the study's group contrast
(:func:`hyperinsync.stats.group_contrast`, Welch F permuted, Benjamini-Hochberg over the
feature family) and questionnaire correlation (:func:`hyperinsync.stats.correlation_test`,
same family correction) when groups do not differ in coupling, for each per-dyad feature a
study offers (``corrected`` = observed - surrogate null mean, the default; ``z``; ``raw``):

- ``null``: two groups from the same design;
- ``alpha confound``: the second group has a stronger alpha rhythm (an extra, independent
  alpha-peaked background on every channel, as strong as the rest of the signal), no coupling;
- ``length confound``: the second group's recordings are longer (more epochs), balanced
  group sizes; ``length confound, unbalanced``: also fewer dyads in the short group.

The corrected and z features must keep the rate nominal (target [0.03, 0.07]); the raw
feature's rate is reported beside them, without a target, to show what the correction
prevents. Then the power of the contrast against a planted group difference in coupling
(the second group has alpha frontal-frontal coupling of the given strength, the first none).

The questionnaire variable is independent noise under ``null``; in the confound scenarios it
tracks the confound (score = group indicator + noise, i.e. related to alpha power or
recording length but not to coupling).

How it is simulated
-------------------
Every dyad is a simulated EEG recording (:func:`hyperinsync.simulate_dyad`: pink noise plus
an individual alpha rhythm, volume conduction, couplings as shared band-limited sources):
2 x 6 channels (F3 Fz F4 / C3 Cz C4, ROIs frontal and central) at 100 Hz, 40 s (length
scenarios: 20 s vs 80 s). Each goes through the study's per-recording step,
:func:`hyperinsync.surrogate_test` (epoch-shuffle null, 2-s epochs, ROI level), which gives the
raw value, the surrogate null mean and z of theta and alpha frontal-frontal and
central-central PLV: a family of 4 features per dyad. Groups of 8 dyads (unbalanced: 5 vs
11); 999 label permutations.

Cost
----
About 16 dyads x 4 null scenarios per replication plus 16 per power point and replication;
a dyad (simulation, surrogate_test with 50 surrogates, its share of the group tests) costs about
0.1-0.15 s of CPU. A full run (n_rep = 500 null replications, 250 per power point, 4
strengths: ~48 000 dyads) is 1.5-2 hours on one core; n_rep = 40 (3 840 dyads) took 20 min
on a shared, overloaded 2-core machine. ``quick=True``: 3 replications of 4 + 4 dyads in 2
scenarios and one power point, about 6 s of CPU (a smoke check; its rates mean nothing).
"""

import sys

import mne
import numpy as np
from scipy import fft as sp_fft

from hyperinsync import Coupling, simulate_dyad, surrogate_test
from hyperinsync.montage import read_montage
from hyperinsync.stats import correlation_test, group_contrast

from .common import NOMINAL, Row

BANDS = {"theta": (4.0, 8.0), "alpha": (8.0, 13.0)}
ROIS = {"frontal": ["F3", "Fz", "F4"], "central": ["C3", "Cz", "C4"]}
FEATURES = ("corrected", "z", "raw")
# the feature the coupling is planted on (alpha, frontal-frontal)
ALPHA_FRONTAL = list(BANDS).index("alpha") * len(ROIS)
ALPHA = 0.05
SFREQ = 100.0


def _montage():
    pos = read_montage("standard-32").get_positions()["ch_pos"]
    chs = ROIS["frontal"] + ROIS["central"]
    return mne.channels.make_dig_montage({c: pos[c] for c in chs}, coord_frame="head")


def add_alpha(raw, gain, rng, peak=10.0, sd=0.8):
    """Add an independent alpha-peaked background to every channel, in place.

    Its RMS is ``gain`` times the channel's own RMS: more alpha power, no coupling (every
    channel of both people gets its own draw).
    """
    data = raw._data
    n = data.shape[1]
    freqs = sp_fft.rfftfreq(n, 1.0 / raw.info["sfreq"])
    amp = np.exp(-0.5 * ((freqs - peak) / sd) ** 2)
    spec = (
        rng.standard_normal((len(data), len(freqs)))
        + 1j * rng.standard_normal((len(data), len(freqs)))
    ) * amp
    extra = sp_fft.irfft(spec, n)
    extra *= gain * data.std(axis=1, keepdims=True) / extra.std(axis=1, keepdims=True)
    data += extra
    return raw


def dyad_features(seed, duration=40.0, alpha_gain=0.0, strength=0.0, n_surrogates=50, montage=None):
    """Raw, corrected and z features (4 each: theta/alpha x frontal/central) of one dyad.

    The dyad is simulated, then analysed as a study's recording is: surrogate_test with the
    epoch-shuffle null at ROI level.
    """
    montage = _montage() if montage is None else montage
    rng = np.random.default_rng(seed)
    couplings = (
        []
        if strength == 0
        else [
            Coupling(band="alpha", roi_a=ROIS["frontal"], roi_b=ROIS["frontal"], strength=strength)
        ]
    )
    raw, _ = simulate_dyad(
        duration=duration,
        sfreq=SFREQ,
        montage=montage,
        couplings=couplings,
        seed=int(rng.integers(2**31)),
        verbose=False,
    )
    if alpha_gain:
        add_alpha(raw, alpha_gain, rng)
    sur = surrogate_test(
        raw,
        n_surrogates=n_surrogates,
        bands=BANDS,
        rois=ROIS,
        seed=int(rng.integers(2**31)),
        verbose=False,
    )
    same = [(sur.rows.index(r), sur.cols.index(r)) for r in ROIS]
    obs = np.array([sur.observed[0, b, i, j] for b in range(len(BANDS)) for i, j in same])
    mean = np.array([sur.null_mean[0, b, i, j] for b in range(len(BANDS)) for i, j in same])
    z = np.array([sur.z[0, b, i, j] for b in range(len(BANDS)) for i, j in same])
    return dict(raw=obs, corrected=obs - mean, z=z)


def _group_data(rng, design, n_surrogates, montage):
    """Features of every dyad of one replication: {feature: (n_dyads, 4)}, groups."""
    rows, groups = [], []
    for g, (n, kwargs) in enumerate(design):
        for _ in range(n):
            rows.append(
                dyad_features(
                    int(rng.integers(2**31)), n_surrogates=n_surrogates, montage=montage, **kwargs
                )
            )
            groups.append(g)
    return {f: np.array([r[f] for r in rows]) for f in FEATURES}, np.array(groups)


def _scenarios(n_group, quick):
    base = 20.0 if quick else 40.0
    short, long = (20.0, 40.0) if quick else (20.0, 80.0)
    small = max(3, (n_group * 5) // 8)
    return {
        "null": [(n_group, dict(duration=base)), (n_group, dict(duration=base))],
        "alpha confound": [
            (n_group, dict(duration=base)),
            (n_group, dict(duration=base, alpha_gain=1.0)),
        ],
        "length confound": [(n_group, dict(duration=short)), (n_group, dict(duration=long))],
        "length confound, unbalanced": [
            (small, dict(duration=short)),
            (2 * n_group - small, dict(duration=long)),
        ],
    }


def run(n_rep, seed, quick=False):
    """Error rates and power of the group contrast and questionnaire correlation."""
    rng = np.random.default_rng(seed)
    montage = _montage()
    n_group = 4 if quick else 8
    n_rep = min(n_rep, 3) if quick else n_rep
    n_sur = 19 if quick else 50
    n_perm = 199 if quick else 999
    strengths = (0.2,) if quick else (0.05, 0.1, 0.2, 0.3)
    n_power = n_rep if quick else max(n_rep // 2, 1)
    scen = _scenarios(n_group, quick)
    if quick:
        scen = {k: scen[k] for k in ("null", "alpha confound")}
    rows, shown = [], 0
    for name, design in scen.items():
        hits = {(kind, f): 0 for kind in ("contrast", "contrast1", "corr") for f in FEATURES}
        desc = " vs ".join(
            f"{n} x {kw['duration']:g} s"
            + (f" + alpha x{kw['alpha_gain']:g}" if kw.get("alpha_gain") else "")
            for n, kw in design
        )
        for _ in range(n_rep):
            data, groups = _group_data(rng, design, n_sur, montage)
            # the questionnaire: noise, or tracking the confound (group) but not coupling
            score = rng.standard_normal(len(groups))
            if name != "null":
                score = score + 2.0 * groups
            pseed = int(rng.integers(2**31))
            for f in FEATURES:
                con = group_contrast(data[f], groups, n_perm, seed=pseed, statistic="welch")
                hits[("contrast", f)] += bool(np.any(con["p_corrected"] <= ALPHA))
                hits[("contrast1", f)] += bool(con["p_perm"][ALPHA_FRONTAL] <= ALPHA)
                cor = correlation_test(data[f], score, n_perm, seed=pseed)
                hits[("corr", f)] += bool(np.any(cor["p_corrected"] <= ALPHA))
        for f in FEATURES:
            target = None if f == "raw" else NOMINAL
            scenario = f"{name}: {desc}"
            rows += [
                Row(
                    f"group contrast (Welch F, FDR over 4 features), {f}",
                    scenario,
                    "FWER",
                    hits[("contrast", f)],
                    n_rep,
                    target,
                ),
                Row(
                    f"group contrast, one feature (alpha frontal), {f}",
                    scenario,
                    "FPR",
                    hits[("contrast1", f)],
                    n_rep,
                    target,
                ),
                Row(
                    f"questionnaire correlation (FDR over 4 features), {f}",
                    scenario,
                    "FWER",
                    hits[("corr", f)],
                    n_rep,
                    target,
                ),
            ]
        shown = _progress(rows, shown)
    rows += power_rows(rng, n_group, n_power, n_sur, n_perm, strengths, montage, quick)
    return rows


def power_rows(rng, n_group, n_power, n_sur, n_perm, strengths, montage, quick=False):
    """Power of the group contrast, for the corrected and the z feature on the same data."""
    rows = []
    for s in strengths:
        design = [
            (n_group, dict(duration=20.0 if quick else 40.0)),
            (n_group, dict(duration=20.0 if quick else 40.0, strength=s)),
        ]
        hits = dict.fromkeys(("corrected", "z"), 0)
        for _ in range(n_power):
            data, groups = _group_data(rng, design, n_sur, montage)
            pseed = int(rng.integers(2**31))
            for f in hits:
                con = group_contrast(data[f], groups, n_perm, seed=pseed, statistic="welch")
                hits[f] += bool(con["p_corrected"][ALPHA_FRONTAL] <= ALPHA)
        for f, k in hits.items():
            rows.append(
                Row(
                    f"group contrast (Welch F, FDR over 4 features), {f}",
                    f"alpha frontal coupling in group 2 only, {n_group} + {n_group} dyads",
                    "power",
                    k,
                    n_power,
                    None,
                    extra=dict(strength=s),
                )
            )
        _progress(rows, len(rows) - len(hits))
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
