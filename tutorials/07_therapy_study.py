"""
.. _tut-therapy-study:

=======================================================
A therapy study: 14 dyads, two groups, alliance ratings
=======================================================

A study like the dual-EEG therapy pilot: 14 therapist-client dyads, half with mindful
therapists, each recorded during 5 minutes of rest before and after a therapy session.
Theta and alpha PLV in frontal and central ROIs are compared between the groups (F-test)
and correlated with the alliance gap, the therapist's minus the client's rating on the
Working Alliance Inventory (``WAI_T - WAI_C``; the pilot found r = -.67 for central alpha).

:func:`hyperinsync.simulate_study` generates such a study with known effects, and
:class:`hyperinsync.study.Study` runs the whole pipeline (synchrony per segment, surrogate
tests, group statistics), writes one HDF5 results file and, with
:func:`hyperinsync.study.make_report`, an HTML report. A real study is the same
:class:`~hyperinsync.study.Study` with ``[[dyads]]`` file entries, usually from a TOML file
(:meth:`~hyperinsync.study.Study.from_toml`; see :func:`hyperinsync.study.example_study_toml`).

Set the environment variable ``HYPERINSYNC_TUTORIAL_SMALL=1`` to run this tutorial with
fewer, shorter recordings (the test suite does; the statistics are then weak).
"""

# %%
import os
import tempfile
from pathlib import Path

import hyperinsync as hs

small = os.environ.get("HYPERINSYNC_TUTORIAL_SMALL") == "1"
n_dyads = 4 if small else 14
rest, session = (10.0, 10.0) if small else (300.0, 60.0)

# %%
# The design
# ----------
# The simulated design table: each dyad's group, coupling strength (mindful 0.45,
# non-mindful 0.25, with jitter) and WAI scores drawn to correlate with the strength.
design = hs.simulate_study(
    n_dyads=n_dyads,
    sfreq=100.0,
    seed=7,
    segments=[("rest_pre", rest), ("session", session), ("rest_post", rest)],
)
print(design.to_table()[["dyad", "group", "strength", "WAI_T", "WAI_C", "alliance_gap"]])

# %%
# Run the pipeline
# ----------------
# The same arguments as a ``[simulate]`` table of a study file. The analysis uses the two
# rest segments; every recording gets an epoch-shuffle surrogate test; the group statistics
# compare groups and correlate with the alliance gap (a derived variable).
study = hs.Study(
    name="therapy-pilot",
    roles=("therapist", "client"),
    simulate=dict(
        n_dyads=n_dyads,
        sfreq=100.0,
        seed=7,
        segments=[["rest_pre", rest], ["session", session], ["rest_post", rest]],
    ),
    analysis=dict(
        bands={"theta": [4, 8], "alpha": [8, 13]},
        rois="default",
        segments=["rest_pre", "rest_post"],
    ),
    surrogates=dict(null="epoch_shuffle", n_surrogates=19 if small else 200, seed=1),
    insync=dict(level1=False, level2=False, level3=False),
    statistics=dict(
        n_permutations=199 if small else 5000,
        rois=["frontal", "central"],
        differences={"alliance_gap": ["WAI_T", "WAI_C"]},
        correlate=["alliance_gap"],
        pseudo_dyads=False,
    ),
)
tmpdir = tempfile.TemporaryDirectory()
out_dir = Path(tmpdir.name)
results = study.run(out_dir, verbose=False)
print(results)

# %%
# Group contrast: mindful vs non-mindful
# --------------------------------------
# One feature per segment, band and ROI (same-ROI pairs), one value per dyad. ``results``
# is a :class:`~hyperinsync.study.results.Results`; its ``group`` holds the group tests
# (the contrast is a :class:`~hyperinsync.stats.ContrastResult`, each correlation a
# :class:`~hyperinsync.stats.CorrelationResult`).
feats, contrast = results.group["features"], results.group["contrast"]
labels = list(feats["labels"])
j = labels.index("rest_pre/plv/alpha/central")
hs.viz.plot_group_contrast(
    feats["values"][:, j],
    feats["groups"],
    statistic=contrast["F"][j],
    p=contrast["p"][j],
    ylabel="central alpha PLV (rest before)",
)
for lab, F, p in zip(labels, contrast["F"], contrast["p"]):
    print(f"{lab:30s} F({contrast['df'][0]}, {contrast['df'][1]}) = {F:6.2f}  p = {p:.3f}")

# %%
# Alliance gap and synchrony
# --------------------------
cor = results.group["correlation"]["alliance_gap"]
gap = feats["variables"]["alliance_gap"]
hs.viz.plot_correlation(
    gap,
    feats["values"][:, j],
    r=cor["r"][j],
    p=cor["p_perm"][j],
    xlabel="alliance gap WAI_T - WAI_C",
    ylabel="central alpha PLV",
    labels=list(feats["dyads"]),
)
for lab, r, p in zip(labels, cor["r"], cor["p_perm"]):
    print(f"{lab:30s} r = {r:+.2f}  permutation p = {p:.3f}")

# %%
# The same tests by hand, from the results file
# ---------------------------------------------
# :func:`hyperinsync.study.read_results` reads the HDF5 file back; the group tests are
# plain functions of :mod:`hyperinsync.stats` that take one value per dyad.

again = hs.read_results(out_dir / "results.h5")
print(again.to_table().head())
# what ``hyperinsync info results.h5`` prints about the file
print(hs.study.describe_results(out_dir / "results.h5"))
print(hs.stats.group_contrast(feats["values"][:, j], feats["groups"], n_permutations=999, seed=0))
print(hs.stats.correlation_test(gap, feats["values"][:, j], n_permutations=999, seed=0))

# %%
# The report
# ----------
# Every section of the HTML report (matrices per recording, surrogate results, group
# contrast, correlations, ...) is drawn with :mod:`hyperinsync.viz`.
report = hs.make_report(results, out_dir / "report.html")
print("report written:", (out_dir / "report.html").is_file())
tmpdir.cleanup()
