"""
.. _tut-measures:

==================================================
PLV, coherence and their cousins; two conventions
==================================================

What each synchrony measure of :mod:`hyperinsync.sync.measures` responds to, the two ways of
averaging (within an epoch over time, or across epochs at each time point), and why a
synchrony value is never read on its own: in a short window, two signals that never
interacted still have a clearly positive PLV.

Set the environment variable ``HYPERINSYNC_TUTORIAL_SMALL=1`` to run this tutorial with
shorter recordings and fewer window lengths (the test suite does).
"""

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

import hyperinsync as hs

small = os.environ.get("HYPERINSYNC_TUTORIAL_SMALL") == "1"
duration = 40.0 if small else 300.0
sfreq = 100.0 if small else 250.0
roles = ("therapist", "client")
# a few channels per person are enough to show the measures (and keep this fast)
chans = ["Fz", "F3", "F4", "Cz", "C3", "C4", "Pz", "Oz"]
picks = [f"{r}:{c}" for r in roles for c in chans]

# %%
# The measures
# ------------
# For band-limited analytic signals :math:`x_a, x_b` (complex, one per channel):
#
# - ``plv``: :math:`|\langle e^{i(\phi_a - \phi_b)}\rangle|`, phase consistency only.
# - ``coh``: :math:`|\langle x_a \bar x_b\rangle| / \sqrt{\langle|x_a|^2\rangle
#   \langle|x_b|^2\rangle}`, phase consistency weighted by amplitude.
# - ``imcoh``: the imaginary part of coherency; zero for a zero-lag relation, so blind to
#   instantaneous mixing (volume conduction) and to zero-lag coupling alike.
# - ``wpli``: the weighted phase-lag index, another lag-only measure, robust to noise.
# - ``ccorr``: circular correlation of the phases (HyPyP's ``ccorr``).
# - ``envcorr``: correlation of the amplitude envelopes, no phase at all.
#
# Two dyads differ only in the lag of their frontal alpha coupling: 0 ms and 25 ms.
measures = ["plv", "coh", "imcoh", "wpli", "ccorr", "envcorr"]
values = {}
for lag in (0.0, 0.025):
    raw, _ = hs.simulate_dyad(
        duration,
        sfreq,
        roles=roles,
        couplings=[hs.Coupling("alpha", "frontal", "frontal", strength=0.5, lag=lag)],
        seed=11,
        verbose=False,
    )
    sync = hs.compute_sync(
        raw, bands={"alpha": (8, 13)}, measures=measures, picks=picks, verbose=False
    )
    # frontal pairs are the first three channels of each person
    values[lag] = [sync.get_data(m)[:3, :3].mean() for m in measures]

fig, ax = plt.subplots(figsize=(7, 3.5), layout="constrained")
x = np.arange(len(measures))
for k, (lag, vals) in enumerate(values.items()):
    ax.bar(x + 0.4 * k - 0.2, vals, width=0.4, label=f"lag {1e3 * lag:.0f} ms")
ax.set_xticks(x, measures)
ax.set_ylabel("frontal-frontal alpha")
ax.legend()
for m, v0, v1 in zip(measures, values[0.0], values[0.025]):
    print(f"{m:8s} lag 0: {v0:.3f}   lag 25 ms: {v1:.3f}")

# %%
# Within or across epochs
# -----------------------
# ``convention='within'`` (hyperscanning, HyPyP) computes each measure over the time points
# of an epoch and averages the epoch values: it asks "are the phases locked during this
# window?". ``convention='across'`` (Lachaux's trial PLV, mne-connectivity's
# ``spectral_connectivity_epochs``) computes it over epochs at each time point: it asks
# "is the phase difference the same at this moment of every epoch?", which only makes
# sense when epochs are time-locked to an event. On continuous coupling with a constant
# lag both find it; the per-time values of ``'across'`` come back in ``time_data``.
raw, _ = hs.simulate_dyad(
    duration,
    sfreq,
    roles=roles,
    couplings=[hs.Coupling("alpha", "frontal", "frontal", strength=0.5)],
    seed=12,
    verbose=False,
)
epochs = raw.make_epochs(duration=2.0, verbose=False)
within = hs.compute_sync(epochs, bands={"alpha": (8, 13)}, picks=picks, verbose=False)
across = hs.compute_sync(
    epochs, bands={"alpha": (8, 13)}, picks=picks, convention="across", decim=1, verbose=False
)
# rows and columns follow the recording's channel order (F3 before Fz): index by label
fz, oz = within.labels["row"].index("therapist:Fz"), within.labels["row"].index("therapist:Oz")
print(
    "Fz-Fz  within:",
    within.get_data()[fz, fz].round(3),
    " across:",
    across.get_data()[fz, fz].round(3),
)
fig, ax = plt.subplots(figsize=(7, 3), layout="constrained")
ax.plot(across.times, across.get_data(kind="times")[:, fz, fz], label="Fz-Fz (coupled)")
ax.plot(across.times, across.get_data(kind="times")[:, oz, oz], label="Oz-Oz (not coupled)")
ax.set(xlabel="time in epoch (s)", ylabel="PLV across epochs", ylim=(0, 1))
ax.legend()

# %%
# The same number from plain arrays
# ---------------------------------
# :func:`~hyperinsync.compute_sync` is a layer over two functions on plain arrays:
# :func:`hyperinsync.band_analytic` gives each band's analytic signals (a
# :class:`~hyperinsync.sync.spectral.BandSignal`, after removing each channel's
# least-squares line with :func:`~hyperinsync.sync.spectral.detrend_linear`), and
# :func:`~hyperinsync.sync.measures.compute_measure` (or :func:`~hyperinsync.sync.measures.plv`
# and its cousins) turns two sets of them into one value per pair. With every sample kept
# (``decim=1``; ``decim='auto'`` keeps exactly the samples
# :func:`~hyperinsync.sync.spectral.choose_decim` allows) both give the same Fz-Fz value.
from hyperinsync.sync.measures import compute_measure  # noqa: E402
from hyperinsync.sync.spectral import choose_decim  # noqa: E402

data = epochs.get_data(picks=["therapist:Fz", "client:Fz"])  # (epochs, 2 channels, times)
alpha = hs.band_analytic(data, sfreq, {"alpha": (8, 13)})["alpha"]
z = alpha.data.transpose(0, 2, 1, 3)  # (epochs, frequencies, channels, times)
by_hand = compute_measure("plv", z[:, :, :1], z[:, :, 1:], convention="within").mean()
full = hs.compute_sync(epochs, bands={"alpha": (8, 13)}, picks=picks, decim=1, verbose=False)
print(f"Fz-Fz alpha PLV: by hand {by_hand:.4f}, compute_sync {full.get_data()[fz, fz]:.4f}")
print(
    "decim='auto' for alpha's 14.6 Hz edge: every",
    choose_decim(500.0, 14.625),
    "th sample at 500 Hz, every",
    choose_decim(100.0, 14.625),
    "at 100 Hz",
)

# %%
# Bias in short windows
# ---------------------
# Two signals with no coupling at all: the PLV within a window of :math:`T` seconds is the
# length of a mean of about :math:`n` unit vectors with random directions, which is about
# :math:`\sqrt{\pi / (4 n)}`, not zero; :math:`n` grows with the number of independent
# cycles in the window, so the bias shrinks like :math:`1/\sqrt{T}`. We measure it on an
# uncoupled dyad, for the theta (4-7 Hz) and alpha (8-12 Hz) bands, as the mean over all
# inter-brain channel pairs.
windows = [1.0, 2.0, 4.0, 10.0] if small else [1.0, 2.0, 4.0, 10.0, 30.0]
null_duration = 60.0 if small else 600.0
raw0, _ = hs.simulate_dyad(null_duration, sfreq, roles=roles, couplings=[], seed=13, verbose=False)
bands = {"theta": (4, 7), "alpha": (8, 12)}
bias = {band: [] for band in bands}
for win in windows:
    res = hs.compute_sync(raw0, bands=bands, picks=picks, epoch_duration=win, verbose=False)
    for band in bands:
        bias[band].append(res.get_data("plv", band).mean())
print("window (s): " + "  ".join(f"{w:5g}" for w in windows))
for band, vals in bias.items():
    print(f"{band:10s}: " + "  ".join(f"{v:5.2f}" for v in vals))

fig, ax = plt.subplots(figsize=(5.5, 3.5), layout="constrained")
for band, vals in bias.items():
    ax.loglog(windows, vals, "o-", label=band)
# slope -1/2 guide through the first alpha point
ax.loglog(windows, bias["alpha"][0] / np.sqrt(windows), "k--", lw=1, label=r"$\propto 1/\sqrt{T}$")
ax.set(xlabel="window length T (s)", ylabel="PLV, no coupling")
ax.legend()

# %%
# For band-passed white noise these levels are about 0.35, 0.26, 0.19, 0.11 (theta) and
# 0.31, 0.22, 0.16, 0.10 (alpha) at 1, 2, 4 and 10 s. Simulated EEG carries each person's own
# alpha rhythm, a narrower spectrum inside the band, hence fewer independent cycles per window
# and a slightly higher alpha bias than noise: the null depends on the signal, not only on the
# window.
#
# Every synchrony value must therefore be compared with a null of the *same* window length,
# bands and preprocessing: the surrogate tutorial does exactly that.

# %%
# What a band passes
# ------------------
# A band-pass filter needs transition bands. With MNE's defaults (also HyPyP's, and ours)
# they are wide: the gain is 1/2 (-6 dB) half-way through each, so "theta 4-8 Hz" passes
# 3-9 Hz and overlaps alpha, whose 8-13 Hz passes 7-14.6 Hz at 250 Hz. A 9 Hz alpha peak then
# shows in theta at half amplitude. Every result records the band actually analysed;
# ``l_trans_bandwidth`` / ``h_trans_bandwidth`` (Hz) narrow it, at the cost of longer filters.
default = hs.compute_sync(
    raw, bands={"theta": (4, 8), "alpha": (8, 13)}, picks=picks, verbose=False
)
narrow = hs.compute_sync(
    raw,
    bands={"theta": (4, 8), "alpha": (8, 13)},
    picks=picks,
    l_trans_bandwidth=1.0,
    h_trans_bandwidth=1.0,
    verbose=False,
)
for name, res in (("default transitions", default), ("1 Hz transitions", narrow)):
    print(f"{name:20s} -6 dB bands: {res.params['effective_band']}")

# %%
# A narrower pass band also holds fewer independent cycles per window, so the chance level
# of PLV rises (see the bias above): values computed with different transitions are not
# comparable, and their nulls must use the same transitions.
