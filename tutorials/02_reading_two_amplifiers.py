"""
.. _tut-two-amplifiers:

================================================
Reading two amplifiers: alignment by sync pulses
================================================

In many hyperscanning set-ups each person wears their own amplifier (for example two TMSi
Mobita devices), so a dyad arrives as two files with two clocks: they start at different
moments, may run at different sampling rates, and drift apart by tens of parts per million.
Both amplifiers record the same sync pulses (a TTL into each trigger input), and
:func:`hyperinsync.io.align.read_dyad_files` fits B's clock against A's from them, resamples B onto
A's samples and returns one :class:`~hyperinsync.DyadRaw` with an alignment report.

Here we make the two files ourselves: the therapist's amplifier writes EDF at 500 Hz, the
client's a TMSi Poly5 file at 512 Hz that started 3.2 s earlier and whose clock runs 40 ppm
fast.

Set the environment variable ``HYPERINSYNC_TUTORIAL_SMALL=1`` to run this tutorial with
shorter recordings (the test suite does).
"""

# %%
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import mne
import numpy as np
from scipy.interpolate import CubicSpline

import hyperinsync as hs

small = os.environ.get("HYPERINSYNC_TUTORIAL_SMALL") == "1"
duration = 40.0 if small else 300.0  # s recorded by the therapist's amplifier
sfreq_a, sfreq_b = 500.0, 512.0
offset, drift = 3.2, 40e-6  # client's amplifier: started earlier, clock 40 ppm fast
rng = np.random.default_rng(0)

# %%
# Two files from one simulated dyad
# ---------------------------------
# One dyad on a common "true" time line, coupled in alpha over frontal channels. Person A is
# sampled on A's grid; person B at the instants B's drifting clock ticks. A sync pulse every
# 1.5-2.5 s goes into both trigger channels.
truth_raw, _ = hs.simulate_dyad(
    duration + offset + 3.0,
    sfreq_a,
    roles=("A", "B"),
    montage="standard-32",
    couplings=[hs.Coupling("alpha", "frontal", "frontal", strength=0.5)],
    seed=1,
    verbose=False,
)
names = truth_raw.participant("A").ch_names
t_true = truth_raw.times
pulses = np.cumsum(rng.uniform(1.5, 2.5, int(duration)))  # true times (s)
pulses = pulses[(pulses > offset + 0.5) & (pulses < duration - 0.5)]


def amplifier(data, t_samples, sfreq, pulse_times, stim_name):
    """Make a Raw of one amplifier: data at its sample instants plus a trigger channel."""
    signal = CubicSpline(t_true, data, axis=1)(t_samples)
    stim = np.zeros(len(t_samples))
    for t in pulse_times:  # a 10 ms TTL at the sample nearest to each pulse
        k = int(np.argmin(np.abs(t_samples - t)))
        stim[k : k + int(0.01 * sfreq)] = 1
    info = mne.create_info(names + [stim_name], sfreq, ["eeg"] * len(names) + ["stim"])
    return mne.io.RawArray(np.vstack([signal, stim]), info, verbose=False)


t_a = offset + np.arange(int(duration - offset) * int(sfreq_a)) / sfreq_a  # whole seconds
t_b = np.arange(int((duration + 1.0) * sfreq_b)) / (sfreq_b * (1 + drift))
raw_a = amplifier(
    truth_raw.get_data(picks=truth_raw.role_picks("A")), t_a, sfreq_a, pulses, "STI 014"
)
raw_b = amplifier(
    truth_raw.get_data(picks=truth_raw.role_picks("B")), t_b, sfreq_b, pulses, "TRIGGERS"
)

tmpdir = tempfile.TemporaryDirectory()
tmp = Path(tmpdir.name)
fname_a, fname_b = tmp / "therapist.edf", tmp / "client.Poly5"
mne.export.export_raw(fname_a, raw_a, fmt="edf", verbose=False)
hs.io.write_poly5(fname_b, raw_b)
print(hs.io.read_raw_poly5(fname_b, verbose=False))

# %%
# Read and align
# --------------
# ``read_dyad_files`` finds the pulses on each file's stim channel (files that hold them as
# markers use ``annotation=``, e.g. ``'Comment/sync'`` for BrainVision), pairs them by their
# intervals (pulses missing in one file are dropped; periodic pulses that another offset
# would pair as well are refused), fits ``t_B = offset_s + (1 + drift) t_A`` (times from each
# file's first sample) and refuses a timing error beyond sample quantisation above
# ``tolerance_ms``. ``montage`` sets the electrode positions of both people. EDF has no
# channel types, so the trigger channel of each file is named.
dyad = hs.io.read_dyad_files(
    fname_a,
    fname_b,
    roles=("therapist", "client"),
    stim_channel=("STI 014", "TRIGGERS"),
    montage="standard-32",
    verbose=False,
)
print(dyad)
for key in (
    "method",
    "n_pulses",
    "offset_s",
    "drift_ppm",
    "residual_ms_max",
    "quantisation_ms",
    "misfit_ms",
    "duration_s",
    "resampling",
):
    print(f"{key:16s} {dyad.alignment[key]}")
# offset_s is the client file's time at the therapist file's first sample: positive, since
# the client's amplifier started first (3.2 s earlier here)
print(f"client's recording started {dyad.alignment['offset_s']:.3f} s before the therapist's")

# %%
# The clock line
# --------------
# The pulses of the two files, and what is left after the fit: the residuals are the
# sample quantisation of the pulse times. Each pulse time is known to one sample of each
# amplifier, so even on the true clock line they spread over up to 2 + 1.95 ms
# (``quantisation_ms``); that is expected, not an error, and ``tolerance_ms`` bounds only
# what lies beyond it (``misfit_ms``). The fitted line itself is much better than one pulse
# (far below a phase error that would matter: 5 ms is 18 degrees at 10 Hz), and the drift
# estimate sharpens with the length of the recording (more pulses, longer lever).
ev_a = (
    mne.find_events(
        mne.io.read_raw_edf(fname_a, stim_channel="STI 014", verbose=False),
        "STI 014",
        verbose=False,
    )[:, 0]
    / sfreq_a
)
ev_b = (
    mne.find_events(hs.io.read_raw_poly5(fname_b, verbose=False), "TRIGGERS", verbose=False)[:, 0]
    / sfreq_b
)
n = min(len(ev_a), len(ev_b))
slope, intercept = np.polyfit(ev_a[:n], ev_b[:n], 1)
fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), layout="constrained")
axes[0].plot(ev_a[:n], ev_b[:n], "o", ms=3)
axes[0].set(xlabel="pulse time, therapist file (s)", ylabel="pulse time, client file (s)")
axes[1].plot(ev_a[:n], 1e3 * (ev_b[:n] - (intercept + slope * ev_a[:n])), "o", ms=3)
axes[1].set(xlabel="pulse time, therapist file (s)", ylabel="residual (ms)")
print(f"drift planted {drift * 1e6:.1f} ppm, recovered {dyad.alignment['drift_ppm']:.1f} ppm")

# %%
# Synchrony on the aligned dyad
# -----------------------------
# The frontal alpha coupling of the simulation is back where it was planted.
sync = hs.compute_sync(dyad, bands={"alpha": (8, 13)}, verbose=False)
hs.viz.plot_sync_matrix(sync)
tmpdir.cleanup()
