"""
.. _tut-surrogates:

=====================================================
Surrogates: is this synchrony more than chance?
=====================================================

A PLV of 0.3 between two people can be pure chance (see the measures tutorial: in 2 s
windows, uncoupled signals reach about 0.25). :mod:`hyperinsync.stats.surrogates` builds null
distributions from pairings that never interacted, computed from the *same* band signals,
windows and preprocessing as the observed value:

- **pseudo-dyads**: the therapist of dyad *i* with the client of dyad *j*;
- **epoch shuffles**: epoch *k* of A with epoch *l* != *k* of B;
- **circular shifts**: B's band signals shifted in time by at least ``min_shift`` s;
- **segment shuffles** and **phase randomisation** (see :func:`~hyperinsync.stats.surrogate_sync`).

Each gives a p-value per pair, :math:`p = (b + 1) / (N + 1)`, and a z-score; p-values over
many pairs are corrected (FDR, or the maximum statistic of the values standardised against
each pair's own null, since chance levels differ between pairs).

Set the environment variable ``HYPERINSYNC_TUTORIAL_SMALL=1`` to run this tutorial with
shorter recordings and fewer surrogates (the test suite does).
"""

# %%
import os

import numpy as np

import hyperinsync as hs

small = os.environ.get("HYPERINSYNC_TUTORIAL_SMALL") == "1"
duration = 40.0 if small else 180.0
n_sur = 199 if small else 999
roles = ("therapist", "client")
chans = ["Fp1", "Fz", "F3", "F4", "Cz", "C3", "C4", "Pz", "O1", "O2"]

raw, truth = hs.simulate_dyad(
    duration,
    100.0,
    roles=roles,
    couplings=[hs.Coupling("alpha", "frontal", "frontal", strength=0.4)],
    seed=21,
    verbose=False,
)
raw.pick([f"{r}:{c}" for r in roles for c in chans])
print("coupled pairs (truth):", len(truth.coupled_pairs))

# %%
# Within one dyad: epoch shuffles and circular shifts
# ---------------------------------------------------
# :func:`~hyperinsync.stats.surrogate_test` compares every channel pair with its own null
# and returns a :class:`~hyperinsync.SurrogateResult`. With FDR correction over the 100
# pairs, the significant pairs are the frontal ones.
sur = hs.surrogate_test(
    raw,
    null="epoch_shuffle",
    n_surrogates=n_sur,
    bands={"alpha": (8, 13)},
    rois=None,
    correction="fdr",
    seed=1,
    verbose=False,
)
print(sur)
mask = sur.p_corrected[0, 0] < 0.05
coupled = {(a, b) for a, b, _ in truth.coupled_pairs}
found = {(sur.rows[i], sur.cols[j]) for i, j in zip(*np.nonzero(mask))}
print(
    f"significant pairs: {len(found)}, of which coupled in the simulation: {len(found & coupled)}"
)
hs.viz.plot_sync_matrix(
    sur.observed[0, 0],
    mask=mask,
    row_names=sur.rows,
    col_names=sur.cols,
    title="alpha PLV, FDR-significant pairs marked",
)
hs.viz.plot_null_distribution(sur, pair=("therapist:Fz", "client:Fz"), title="Fz-Fz, epoch shuffle")

# %%
# Each row of the table also says which way the effect goes (``direction``: above or below
# chance for magnitudes such as PLV; positive or negative for signed measures, which are
# tested two-sided) and the pair's mean phase difference: in-phase, anti-phase or lagged.
table = sur.to_table()
print(
    table[(table.row == "therapist:Fz") & (table.col == "client:Fz")][
        ["observed", "z", "tail", "p", "p_corrected", "direction", "phase"]
    ]
)

shift = hs.surrogate_test(
    raw,
    null="circular_shift",
    n_surrogates=n_sur,
    bands={"alpha": (8, 13)},
    rois=None,
    correction="maxstat",
    min_shift=5.0,
    seed=2,
    verbose=False,
)
hs.viz.plot_null_distribution(
    shift, pair=("therapist:Pz", "client:Pz"), title="Pz-Pz (not coupled), circular shift"
)
print("circular shift, max-stat significant pairs:", int((shift.p_corrected[0, 0] < 0.05).sum()))

# %%
# Across dyads: pseudo-dyads
# --------------------------
# Four dyads: three coupled, one not. Every real dyad is compared with all pairings of
# one dyad's therapist with another dyad's client, and the real dyads as a group with the
# pseudo-dyads (a permutation test).
dyads = []
for k, strength in enumerate([0.4, 0.4, 0.4, 0.0]):
    d, _ = hs.simulate_dyad(
        duration,
        100.0,
        roles=roles,
        seed=100 + k,
        verbose=False,
        couplings=[hs.Coupling("alpha", "frontal", "frontal", strength=strength)]
        if strength
        else [],
    )
    dyads.append(d.pick([f"{r}:{c}" for r in roles for c in chans]))
pseudo = hs.pseudo_dyad_test(
    dyads, bands={"alpha": (8, 13)}, rois="default", n_permutations=999, seed=3, verbose=False
)
print(pseudo)
fi = pseudo.rows.index("frontal")
real = pseudo.observed[:, 0, 0, fi, fi]
fake = pseudo.null[:, 0, 0, fi, fi]
print("group test, frontal-frontal: p =", float(pseudo.group["p"][0, 0, fi, fi]))
hs.viz.plot_group_contrast(
    np.r_[real, fake],
    ["real dyads"] * len(real) + ["pseudo-dyads"] * len(fake),
    p=float(pseudo.group["p"][0, 0, fi, fi]),
    ylabel="frontal alpha PLV",
)
