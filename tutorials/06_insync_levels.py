"""
.. _tut-insync:

=================================
One therapy, three In-Sync levels
=================================

The In-Sync model of psychotherapy (Koole & Tschacher, 2016) looks at synchrony on three
time scales, each with its own function in :mod:`hyperinsync.insync`:

- **Level 1, phasic** (0.3-10 s; about 6 s, the "social present"): short episodes in which
  the two people synchronise, found with sliding windows (:func:`~hyperinsync.insync.level1`);
- **Level 2, tonic** (10 s to an hour): synchrony per segment of a session, e.g. rest
  before vs rest after (:func:`~hyperinsync.insync.level2`);
- **Level 3, chronic** (weeks to months): the trend across sessions
  (:func:`~hyperinsync.insync.level3`).

Findings become :class:`mne.Annotations` on the recording, so they show in ``raw.plot()``.

Set the environment variable ``HYPERINSYNC_TUTORIAL_SMALL=1`` to run this tutorial with
shorter sessions and fewer surrogates (the test suite does).
"""

# %%
import os

import mne

import hyperinsync as hs

small = os.environ.get("HYPERINSYNC_TUTORIAL_SMALL") == "1"
segments = (
    [("rest_pre", 20.0), ("session", 300.0), ("rest_post", 20.0)]
    if small
    else [("rest_pre", 120.0), ("session", 600.0), ("rest_post", 120.0)]
)
n_null = 49 if small else 500

# %%
# A dyad seen over several weekly sessions
# ----------------------------------------
# :func:`hyperinsync.simulate_study` plants all three levels: coupling during a few 5-20 s
# episodes inside ``'session'`` (Level 1), stronger after the session than before
# (``rest_post_gain``, Level 2), growing from session to session (``trend_per_session``,
# Level 3). It returns a :class:`~hyperinsync.simulation.SimulatedStudy`, whose recordings
# are simulated when asked for.
study = hs.simulate_study(
    n_dyads=2,
    n_sessions=3 if small else 6,
    segments=segments,
    sfreq=100.0,
    trend_per_session=0.06,
    rest_post_gain=0.15,
    seed=4,
)
raw, truth = study.get_dyad("dyad01", session=0)
print(raw.annotations)
print("planted Level 1 episodes (s):", truth.extra["episodes"])

# %%
# Level 1: episodes in 6 s windows
# --------------------------------
# A Level 1 episode is a brief rise of synchrony above the segment's own tonic level, so
# Level 1 runs on one segment at a time: here the ``'session'``. Each window's rise above the
# series' tonic level (its median window) is tested against shuffles of the two people's
# coupling in short pieces, which keep the tonic coupling and scatter transient rises; one
# maximum statistic over all windows, ROI pairs and bands keeps the chance of any false
# episode in the segment at 5 % (``benchmarks/VALIDITY.md``). Constant coupling, like the
# simulated coupling during the rest segments, is tonic: above chance, but no episode.
# The result is an :class:`~hyperinsync.insync.InSyncLevel1`.
onset, duration = segments[0][1], segments[1][1]
session = raw.copy().crop(onset, onset + duration - 1 / raw.info["sfreq"])
l1 = hs.level1(
    session,
    bands={"theta": (4, 8), "alpha": (8, 13)},
    rois="default",
    window=6.0,
    step=0.5,
    n_surrogates=n_null,
    seed=0,
    verbose=False,
)
print(l1)
# Onsets count from the start of the session. Each lag has a 95 % confidence interval and a
# leader is named only when it excludes 0: the simulated coupling has no lag, so most
# episodes are 'simultaneous' (about 1 in 20 still gets a leader: the interval's error
# rate). The phase relation (at zero lag) is in-phase when its two-sided test says so.
episodes = l1.to_table()
if len(episodes):
    print(
        episodes[
            [
                "band",
                "roi_a",
                "roi_b",
                "onset",
                "duration",
                "z",
                "p",
                "lag",
                "lag_ci_low",
                "lag_ci_high",
                "leader",
                "phase",
            ]
        ]
    )
hs.viz.plot_level1(l1, band="alpha", roi_a="central", roi_b="central")

# %%
# Synchrony above chance is a separate result: per window (``l1.above_chance``, against
# circularly shifted copies of the client's signals) and per series.
print(l1.chance_table().sort_values("z", ascending=False).head())

# %%
# Level 2: segments, before vs after
# ----------------------------------
# Synchrony per annotated segment against a circular-shift null, and the contrast
# ``rest_post - rest_pre`` (an :class:`~hyperinsync.insync.InSyncLevel2`).
l2 = hs.level2(
    raw,
    segments=["rest_pre", "rest_post"],
    bands={"alpha": (8, 13)},
    rois="default",
    n_surrogates=19 if small else n_null,
    n_permutations=999,
    seed=1,
    verbose=False,
)
print(l2)
print(l2.contrast_table().head())

# %%
# Findings on the recording
# -------------------------
# :func:`~hyperinsync.insync.annotate` adds both levels' annotations
# (``insync/L1/<band>/<roiA>-<roiB>``, ``insync/L2/...``) to the recording (the session's
# episodes at their place in the whole recording); MNE's browser shows them with the data.
hs.annotate(raw, l1, l2)
print(sorted(set(raw.annotations.description)))
mne.viz.set_browser_backend("matplotlib")
raw.copy().pick(["therapist:Cz", "therapist:C3", "client:Cz", "client:C3"]).plot(
    duration=segments[1][1],
    start=segments[0][1],
    scalings=dict(eeg=30e-6),
    show=False,
    show_scrollbars=False,
)

# %%
# Level 3: across sessions
# ------------------------
# The central alpha PLV of the rest before each session, per dyad, and its trend (an
# :class:`~hyperinsync.insync.InSyncLevel3`).
central = hs.read_rois("default")["central"]  # C3, Cz, C4, FC1, FC2, CP1, CP2
values = {}
dates = {}
for dyad in study.dyads:
    values[dyad], dates[dyad] = [], []
    for s in range(study.design["n_sessions"]):
        raw_s, truth_s = study.get_dyad(dyad, s, verbose=False)
        rest = raw_s.copy().crop(0, segments[0][1] - 1 / 100.0)
        sync = hs.compute_sync(
            rest,
            bands={"alpha": (8, 13)},
            rois={"central": central},
            picks=[f"{r}:{c}" for r in raw.roles for c in central],
            verbose=False,
        )
        values[dyad].append(float(sync.get_data(level="roi")[0, 0]))
        dates[dyad].append(truth_s.extra["date"])
l3 = hs.level3(values, dates, n_permutations=999, seed=2)
print(l3)
print(l3.summary)
hs.viz.plot_trend(
    range(study.design["n_sessions"]),
    [values[d] for d in study.dyads],
    labels=study.dyads,
    ylabel="central alpha PLV (rest before)",
)
