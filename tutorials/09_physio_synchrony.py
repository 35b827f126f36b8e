"""
.. _tut-physio:

============================================================
Skin conductance and movement synchrony in a therapy session
============================================================

Half of the synchrony research in psychotherapy is not EEG: therapists' and clients'
skin conductance (electrodermal activity, EDA) and their movement, measured as motion
energy from video (MEA), are recorded through whole sessions. The questions are the same:
is the dyad more synchronous than chance, **who leads** (therapist-led or client-led), is
the synchrony **in-phase** (both rise together) or **anti-phase** (one rises as the other
falls), how does it differ between **segments** of a session (e.g. imagery work ``IM`` vs
cognitive-behavioural techniques ``CB``), and does a session's synchrony go with its
**alliance**?

This tutorial answers each on simulated data with known truth:

1. read a session's files (two wristbands' EDA, one MEA file) onto one timeline;
2. preprocess them with NeuroKit2 (EDA) and rMEA's steps (movement);
3. windowed lagged cross-correlation (:func:`hyperinsync.lagged_sync`): synchrony against
   surrogates with the SUSY-style effect size, phase, leader with its confidence interval,
   segments, Level 1 episodes, the lag x time heat map;
4. pseudo-dyads (therapist *i* with client *j*);
5. a multi-session study: where synchrony varies (ICC), whether segment synchrony predicts
   the session's alliance, and its trend across sessions (In-Sync Level 3).

Set the environment variable ``HYPERINSYNC_TUTORIAL_SMALL=1`` to run this tutorial with
fewer dyads, shorter sessions in the study and fewer surrogates (the test suite and the
documentation build do).
"""

# %%
import datetime as dt
import os
import tempfile
from pathlib import Path

import mne
import numpy as np

import hyperinsync as hs

small = os.environ.get("HYPERINSYNC_TUTORIAL_SMALL") == "1"
segment = 600.0  # seconds of IM, then of CB
n_sur = 199 if small else 1000
folder = Path(tempfile.mkdtemp(prefix="hyperinsync-physio-"))

# %%
# A simulated session
# -------------------
# :func:`hyperinsync.simulate_physio_dyad` makes skin conductance (a slow tonic level plus
# phasic responses) and motion energy (bursty, non-negative, heavy-tailed) for both people,
# with planted couplings:
#
# - **EDA**: in-phase, **the client leads by 3 s** (the therapist's arousal follows the
#   client's), through the whole session;
# - **movement**: anti-phase (turn-taking: one moves while the other is still), **the
#   therapist leads by 1 s**, during the imagery segment ``IM`` only.
#
# A positive lag always means the first role (here the therapist) leads. The ground truth
# comes back as a :class:`~hyperinsync.simulation.PhysioTruth`.
couplings = [
    hs.PhysioCoupling("eda", strength=0.6, lag=-3.0, phase="in"),
    hs.PhysioCoupling("movement", strength=0.8, lag=1.0, phase="anti", episodes=[(0.0, segment)]),
]
t0 = dt.datetime(2024, 3, 4, 10, 0, tzinfo=dt.timezone.utc)
sim, truth = hs.simulate_physio_dyad(
    duration=2 * segment,
    sfreq=25.0,
    modalities=["eda", "movement"],
    couplings=couplings,
    segments=[("IM", 0.0, segment), ("CB", segment, segment)],
    meas_date=t0,
    seed=8,
)
print(sim)

# %%
# The files a study has
# ---------------------
# A wristband per person writes skin conductance in the Empatica format (start time and
# rate on the first two rows, then microsiemens); the video's motion energy is a text
# file with one column per person. We write both from the simulation.
for role in truth.roles:
    (folder / role).mkdir()
    eda_us = sim.get_data(picks=[f"{role}:EDA"])[0] * 1e6
    (folder / role / "EDA.csv").write_text(
        f"{t0.timestamp():.1f}\n25.0\n" + "\n".join(f"{v:.5f}" for v in eda_us)
    )
np.savetxt(
    folder / "session_mea.txt",
    sim.get_data(picks=["therapist:MEA", "client:MEA"]).T,
    fmt="%.2f",
    header='"therapist" "client"',
    comments="",
)

# %%
# Reading them onto one timeline
# ------------------------------
# :func:`hyperinsync.io.make_physio_dyad` brings the two wristbands onto one timeline at a
# stated rate: here 8 Hz, enough for skin conductance (the FIR anti-alias low-pass before
# downsampling and the interpolation are logged; different start times or a drifting clock
# are handled, see :func:`hyperinsync.io.align_physio`).
# :func:`hyperinsync.io.read_mea` reads the video's file as a dyad at its frame rate.
eda = hs.io.make_physio_dyad(
    hs.io.read_raw_empatica(folder / "therapist" / "EDA.csv"),
    hs.io.read_raw_empatica(folder / "client" / "EDA.csv"),
    sfreq=8.0,
    roles=("therapist", "client"),
)
mea = hs.io.read_mea(folder / "session_mea.txt", roles=("therapist", "client"), meas_date=t0)
# the session's segments (coded from the video) on both
segments = mne.Annotations([0.0, segment], [segment, segment], ["IM", "CB"], orig_time=t0)
for raw in (eda, mea):
    raw.set_annotations(raw.annotations + segments)
print(eda)
print(mea)


# %%
# Missing data
# ------------
# A wristband that loses skin contact writes nothing for a while, or a value that no longer
# changes. The readers turn empty cells and gaps into NaN under ``BAD_`` annotations (never
# zeros, never interpolated); in data of your own,
# :func:`hyperinsync.preprocessing.annotate_missing` (a copy) or
# :func:`hyperinsync.io.physio.annotate_nan` (in place, as the readers do) marks every NaN
# run of each channel ``BAD_missing``, and :func:`hyperinsync.preprocessing.annotate_flat`
# a stuck sensor ``BAD_flat``, naming the channel. Every analysis leaves those samples out:
# :func:`hyperinsync.io.physio.bad_masks` says which samples of each channel lie in a
# ``BAD_`` span that applies to it, :func:`hyperinsync.io.physio.mask_runs` lists them as
# runs. Here the client's wristband loses contact for 20 s at minute 3 and is stuck for
# 15 s at minute 6 (on a copy; the analysis below uses the complete recording).
def lose_contact(x):
    """Return a copy of the series with 20 s missing (NaN) and 15 s stuck at one value."""
    x = x.copy()
    x[180 * 8 : 200 * 8] = np.nan
    x[360 * 8 : 375 * 8] = x[360 * 8]
    return x


lost = eda.copy().apply_function(lose_contact, picks=["client:EDA"])
print(hs.io.physio.annotate_nan(lost), "NaN run(s) annotated")
lost = hs.preprocessing.annotate_flat(lost)
for ann in lost.annotations:
    if ann["description"].startswith("BAD_"):
        print(ann["description"], ann["ch_names"], f"{ann['duration']:.0f} s")
masks = hs.io.physio.bad_masks(lost, ["therapist:EDA", "client:EDA"])
print(
    "client's spans left out (s):",
    [(int(a) / 8, int(b) / 8) for a, b in hs.io.physio.mask_runs(masks[1])],
)
# annotations and time stamps count from the recording's absolute start
print("recording starts at", hs.io.physio.abs_start(lost))

# %%
# Preprocessing
# -------------
# Skin conductance: NeuroKit2's cleaning, then its tonic/phasic decomposition into the
# skin conductance level (``EDA_SCL``) and responses (``EDA_SCR``). Synchrony within
# windows of tens of seconds is measured on the phasic part: the tonic level drifts slowly
# and independently in each person, which would dominate a window's correlation.
eda = hs.preprocessing.eda_decompose(hs.preprocessing.clean_eda(eda))
print([c for c in eda.ch_names if "SCR" in c])
# %%
# Movement, as rMEA prepares it: outliers above 10 SD marked ``BAD_outlier`` (left out of
# every window, never set to zero), a 0.5-s moving average, and each series divided by its
# SD.
mea = hs.preprocessing.mea_artifacts(mea)
mea = hs.preprocessing.mea_scale(hs.preprocessing.mea_smooth(mea, window=0.5))

# %%
# Lagged synchrony, each modality at its own time scale
# -----------------------------------------------------
# :func:`hyperinsync.lagged_sync` cuts the series into windows and correlates them at every
# lag from ``-lag`` to ``+lag`` (Fisher z). Skin conductance is slow: 30-s windows, lags up
# to 5 s. Movement is fast: 10-s windows, lags up to 2 s (Level 1 of the In-Sync model is
# 0.3-10 s). The surrogates are circular shifts of the client's series, which keep each
# series' own dynamics and remove the pairing. Each result is a
# :class:`~hyperinsync.LaggedSyncResult`.
res_eda = hs.lagged_sync(
    eda,
    pairs={"SCR": ("EDA_SCR", "EDA_SCR")},
    lag=5,
    window=30,
    step=15,
    segments=["IM", "CB"],
    n_surrogates=n_sur,
    seed=0,
)
res_mea = hs.lagged_sync(
    mea, lag=2, window=10, step=5, segments=["IM", "CB"], n_surrogates=n_sur, seed=0
)
print(res_eda)
print(res_mea)

# %%
# The whole session, one row per modality:
#
# - ``sync`` is the mean :math:`|z|` over windows and lags; ``sync_p`` its one-sided
#   p-value against the surrogates and ``sync_effect_size`` the SUSY-style effect size
#   (real minus mean surrogate, over the surrogates' SD);
# - ``phase``: the signed lag profile at its strongest lag tested two-sided against the
#   surrogates, ``'in-phase'`` or ``'anti-phase'`` only when significant;
# - ``leader``: the lead index (mean :math:`|z|` at positive minus negative lags) tested by
#   mirroring the lags in blocks of windows, with a bootstrap interval of the lag of the
#   peak; ``'<role>-led'`` only when the test rejects *and* the interval excludes 0, else
#   ``'simultaneous'``.
cols = [
    "modality",
    "sync",
    "sync_p",
    "sync_effect_size",
    "phase",
    "phase_p",
    "leader",
    "lead_p",
    "peak_lag",
    "peak_lag_ci_low",
    "peak_lag_ci_high",
]
for res in (res_eda, res_mea):
    print(res.to_table()[cols].round(3).to_string(index=False))

# %%
# Planted: EDA client-led by 3 s and in-phase; movement therapist-led by 1 s and
# anti-phase, in ``IM`` only. Per segment (Level 2) the movement's coupling shows in
# ``IM`` and not in ``CB``. ``sync_p_fdr`` corrects over the result's session and segment
# tests (one Benjamini-Hochberg family); ``sync_corrected`` is synchrony above the
# recording's own chance level, the value to compare across sessions. A leader needs
# both the lag-mirror test and a peak-lag interval that excludes 0: with short or weakly
# coupled stretches the answer is ``'simultaneous'`` (not shown to lead), never a guess.
seg_cols = [
    "modality",
    "segment",
    "n_windows_valid",
    "sync",
    "sync_corrected",
    "sync_p",
    "sync_p_fdr",
    "leader",
]
for res in (res_eda, res_mea):
    print(res.to_table("segment")[seg_cols].round(3).to_string(index=False))

# %%
# SUSY's own numbers
# ------------------
# ``definition='susy'`` computes SUSY's segment cross-correlation (non-overlapping 30-s
# segments, its effect size over shuffled segment pairings) and reports SUSY's table next
# to ours (``susy_ES``, ``susy_ES_noabs``; lag sign flipped to ours: positive, the
# therapist leads, so ``susy_ES_lead_a`` is the therapist-led effect). SUSY needs complete
# segments: those holding a ``BAD_outlier`` sample are left out (``n_windows_missing``).
susy = hs.lagged_sync(mea, lag=2, window=30, definition="susy", n_surrogates=n_sur, seed=0)
print(
    susy.to_table()[
        [
            "susy_ES",
            "susy_ES_noabs",
            "susy_ES_lead_a",
            "susy_ES_lead_b",
            "sync_effect_size",
            "n_windows_missing",
        ]
    ]
    .round(2)
    .to_string(index=False)
)

# %%
# The heat map
# ------------
# :func:`hyperinsync.viz.plot_lagged_sync` draws rMEA's lag x time map of each window's
# cross-correlation; the Level 1 episodes -- runs of windows whose synchrony exceeds the
# surrogates', corrected over all windows -- are boxed and coloured by who leads in them,
# with a diamond at their peak lag. Signed values show the movement's anti-phase coupling
# in ``IM`` as a blue band at +1 s (a colour scale up to 0.8 makes it visible beside
# single windows' chance peaks); skin conductance is in-phase (red) at -3 s. An episode
# is one or a few windows whose synchrony exceeds chance; its peak lag and sign are those
# of so few samples that they need not be the coupling's (here the segment statistics
# recover the planted lag and phase), and the lead test cannot name a leader in it.
hs.viz.plot_lagged_sync(res_mea, absolute=False, vmax=0.8)
hs.viz.plot_lagged_sync(res_eda, absolute=False)

# %%
# Level 1 episodes as annotations
# -------------------------------
# Each window is tested against the same window of every surrogate, corrected over all
# windows (a maximum statistic); runs of significant windows are episodes. A window of
# skin conductance holds few independent samples (the signal is slow), so only strong
# stretches pass: the segment and session tests, which pool windows, are the more
# powerful. The episodes, and the session and segments synchronous above chance (Level 2),
# become :class:`mne.Annotations` named like the EEG's In-Sync findings:
# ``insync/L<level>/<modality>/<channel A>-<channel B>``. :func:`hyperinsync.annotate` puts
# them on the recording, where they show in ``raw.plot()`` and survive ``raw.save``.
print(res_eda.to_table("episode"))
hs.annotate(eda, res_eda)
hs.annotate(mea, res_mea)
for raw in (eda, mea):
    found = [d for d in raw.annotations.description if d.startswith("insync/")]
    print({d: found.count(d) for d in sorted(set(found))})

# %%
# Heart rate
# ----------
# An ECG per person (or a PPG from a wristband) gives heart rate: NeuroKit2 finds the
# beats (:func:`hyperinsync.preprocessing.detect_beats`: R peaks, with its correction of
# missed, extra and ectopic beats), and the intervals between them become an evenly
# sampled rate in beats per minute
# (:func:`hyperinsync.preprocessing.heart_rate_from_beats`, never interpolated across a
# gap); :func:`hyperinsync.preprocessing.heart_rate` does both on the recording's timeline.
# :func:`hyperinsync.preprocessing.hrv_windows` gives windowed heart-rate variability
# (RMSSD, RSA as ln HF power). The heart rates are one more modality for
# :func:`hyperinsync.lagged_sync`: here the therapist's heart rate leads by 2 s.
ecg, ecg_truth = hs.simulate_physio_dyad(
    duration=segment,
    sfreq=250.0,
    modalities=["heart"],
    heart="ecg",
    seed=9,
    couplings=[hs.PhysioCoupling("heart", strength=0.6, lag=2.0)],
)
beats = hs.preprocessing.detect_beats(ecg)
print({ch: len(b["times"]) for ch, b in beats.items()}, "beats")
hr = hs.preprocessing.heart_rate_from_beats(beats, sfreq=4.0, n_times=int(segment * 4))
same = hs.preprocessing.heart_rate(ecg, sfreq=4.0)  # the two steps in one
print("same heart rate:", np.allclose(hr.get_data(), same.get_data(), equal_nan=True))
hrv = hs.preprocessing.hrv_windows(same, window=60.0, step=30.0)
print(hrv[["channel", "onset", "mean_hr", "rmssd", "rsa_lnhf"]].round(2).head(3))
res_hr = hs.lagged_sync(same, lag=5, window=30, step=15, n_surrogates=n_sur, seed=0)
print(res_hr.to_table()[["modality", "sync", "sync_p", "phase", "leader", "peak_lag"]].round(3))

# %%
# Pseudo-dyads
# ------------
# Are real dyads more synchronous than people who never met? Every therapist with every
# other dyad's client (:func:`hyperinsync.lagged_pseudo_dyads`), as rMEA's ``shuffle``:
# Cohen's d of real vs pseudo synchrony and a permutation test.
dyads = [
    hs.simulate_physio_dyad(
        segment,
        25.0,
        modalities=["movement"],
        seed=20 + k,
        couplings=[hs.PhysioCoupling("movement", 0.5, 1.0)],
    )[0]
    for k in range(4 if small else 6)
]
pseudo = hs.lagged_pseudo_dyads(dyads, lag=2, window=10, step=5, seed=0)
print(pseudo["group"].round(3).to_string(index=False))

# %%
# The alliance question: a multi-session study
# --------------------------------------------
# :func:`hyperinsync.simulate_physio_study` describes dyads seen over several sessions,
# each with an ``IM`` and a ``CB`` segment, whose coupling strength varies between dyads
# (SD 0.12) and between sessions (SD 0.08), and whose Session Alliance Inventory scores
# depend on it: ``bond`` on the ``IM`` synchrony, ``task`` on the ``CB`` synchrony,
# ``goal`` on neither. It returns a :class:`~hyperinsync.simulation.SimulatedPhysioStudy`.
study = hs.simulate_physio_study(
    n_dyads=8 if small else 16,
    n_sessions=3 if small else 5,
    segments=(("IM", 200.0 if small else 300.0), ("CB", 200.0 if small else 300.0)),
    modalities=("eda",),
    sfreq=8.0,
    seed=3,
)
results, design = [], []
for row in study.table:
    raw, _ = study.get_dyad(row["dyad"], row["session"], verbose=False)
    raw = hs.preprocessing.eda_decompose(raw, verbose=False)
    results.append(
        hs.lagged_sync(
            raw,
            pairs={"SCR": ("EDA_SCR", "EDA_SCR")},
            lag=5,
            window=30,
            step=15,
            segments=["IM", "CB"],
            n_surrogates=99 if small else 200,
            seed=0,
            verbose=False,
        )
    )
    design.append({k: row[k] for k in ("dyad", "session", "date", "bond", "task", "goal")})

# %%
# :func:`hyperinsync.stats.segment_table` stacks the rows of all results with the design.
# Where does synchrony vary? :func:`hyperinsync.stats.icc` splits the per-session
# synchrony into a dyad and a session level (the planted strengths' ICC is
# ``study.design['icc']``; measured synchrony adds measurement noise, so its ICC is lower).
sessions = hs.stats.segment_table(results, design, level="session")
icc = hs.stats.icc(sessions, value="sync_corrected")
print(
    f"ICC of session synchrony: {icc['icc']:.2f} "
    f"(ANOVA ICC(1) {icc['icc_anova']:.2f}, 95 % CI {icc['icc_anova_ci_low']:.2f} to "
    f"{icc['icc_anova_ci_high']:.2f}); planted strengths: {study.design['icc']:.2f}"
)

# %%
# Does segment synchrony predict the session's alliance? One row per session with the
# synchrony of each segment in its own column; :func:`hyperinsync.stats.predict_outcome`
# fits ``bond ~ sync_IM + sync_CB + (1 | dyad)`` with statsmodels' MixedLM, splitting each
# predictor into its dyad mean (between dyads) and the session's deviation from it
# (within a dyad).
#
# How to read it. The effects are small next to the noise of a session's synchrony, so a
# study needs many sessions: with ``HYPERINSYNC_TUTORIAL_SMALL=1`` (8 dyads x 3 sessions,
# as on the documentation's page) the intervals are wide and any single significant term
# may be chance; the full version (16 dyads x 5 sessions) finds ``bond`` tied to the
# within-dyad ``IM`` synchrony and not to ``CB``. It also finds ``task`` tied to ``IM``
# within dyads although only ``CB`` drives it: in this simulation the two segments of a
# session share the session's deviation in coupling, so within a dyad their synchrony
# carries the same signal and one segment's measure stands in for the other's. Separating
# segments needs variation that is specific to them.
seg = hs.stats.segment_table(results, design, level="segment")
wide = seg.pivot_table(
    index=["dyad", "session", "bond", "task", "goal"], columns="segment", values="sync_corrected"
).reset_index()
wide = wide.rename(columns={"IM": "sync_IM", "CB": "sync_CB"})
for outcome in ("bond", "task"):
    fit = hs.stats.predict_outcome(wide, outcome, ["sync_IM", "sync_CB"], center="within")
    print(fit["formula"])
    print(
        fit["table"][["term", "estimate", "ci_low", "ci_high", "p"]].round(3).to_string(index=False)
    )

# %%
# Level 3: synchrony across sessions
# ----------------------------------
# :func:`hyperinsync.level3` takes the same session table (one modality: here the only
# one) and gives each dyad's trend over sessions with a permutation test of session order.
# This study planted no trend: a p-value below .05 here is one of the 5 % of false
# positives the test allows.
l3 = hs.level3(sessions, value="sync_corrected", n_permutations=999, seed=0)
print(l3)
print(l3.to_table()[["dyad", "n_sessions", "slope", "p"]].round(3).to_string(index=False))
