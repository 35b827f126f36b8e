"""
.. _tut-dyad-mne:

=================================================
The dyad object and MNE: preprocess both together
=================================================

A dyad in hyperinsync is *one* MNE object holding both people: a
:class:`~hyperinsync.DyadRaw` is an :class:`mne.io.RawArray`, a
:class:`~hyperinsync.DyadEpochs` an :class:`mne.EpochsArray`, and every channel name
carries its participant's role (``therapist:Fz``, ``client:Fz``). So MNE's own tools
(filter, crop, epoching, dropping, equalising, saving) treat both people together: an epoch
dropped for a blink of the client is dropped for the therapist too, and the pairs stay
aligned.

Set the environment variable ``HYPERINSYNC_TUTORIAL_SMALL=1`` to run this tutorial with a
shorter recording (the test suite does).
"""

# %%
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import mne
import numpy as np

import hyperinsync as hs

small = os.environ.get("HYPERINSYNC_TUTORIAL_SMALL") == "1"
rest, talk = (20.0, 20.0) if small else (120.0, 120.0)

# %%
# A recording with two annotated segments
# ---------------------------------------
# Coupling in the alpha band over central channels, with eye blinks in both people.
raw, truth = hs.simulate_dyad(
    sfreq=250.0,
    roles=("therapist", "client"),
    montage="tmsi-mobita-32",
    couplings=[hs.Coupling("alpha", "central", "central", strength=0.4)],
    segments=[("rest", rest), ("talk", talk)],
    blinks=True,
    seed=7,
)
print(raw)
print("roles:", raw.roles)
print("therapist channels:", raw.role_picks("therapist")[:5], "...")

# %%
# Preprocess with MNE, both people at once
# ----------------------------------------
# A band-pass filter and a crop apply to all 64 channels: nothing about the dyad changes
# but the data.
raw.filter(1.0, 40.0, verbose=False)
raw.crop(tmin=1.0, tmax=raw.times[-1] - 1.0)

# %%
# Epochs per segment
# ------------------
# :func:`mne.events_from_annotations` cuts 2 s events inside each annotated segment; the
# resulting epochs are a plain :class:`mne.Epochs`, which :func:`hyperinsync.as_dyad`
# turns back into a dyad because the roles live in the channel names.
events, event_id = mne.events_from_annotations(raw, chunk_duration=2.0, verbose=False)
epochs = mne.Epochs(
    raw,
    events,
    event_id,
    tmin=0.0,
    tmax=2.0 - 1 / 250.0,
    baseline=None,
    preload=True,
    verbose=False,
)
epochs = hs.as_dyad(epochs)
print(type(epochs).__name__, epochs)

# %%
# Dropping and equalising
# -----------------------
# Reject epochs with a peak-to-peak amplitude above 200 µV in *either* person (the blinks),
# then equalise the number of epochs per segment. Dropping acts on the whole epoch, so both
# people always keep the same epochs.
epochs.drop_bad(reject=dict(eeg=200e-6), verbose=False)
print("dropped:", sum(bool(d) for d in epochs.drop_log), "of", len(epochs.drop_log))
epochs.equalize_event_counts(list(event_id))
print({name: len(epochs[name]) for name in event_id})

# %%
# Save, load, and one person alone
# --------------------------------
# Saving is MNE's; :func:`hyperinsync.read_dyad_epochs` reads the file back as a dyad.
# :meth:`~hyperinsync.DyadEpochs.participant` returns one person as a plain
# :class:`mne.EpochsArray` with the original channel names, ready for any MNE analysis.
with tempfile.TemporaryDirectory() as tmp:
    fname = Path(tmp) / "dyad-epo.fif"
    epochs.save(fname, fmt="double", verbose=False)
    loaded = hs.read_dyad_epochs(fname, verbose=False)
print("round trip equal:", np.array_equal(loaded.get_data(), epochs.get_data()))
client = loaded.participant("client")
print(client.ch_names[:4], len(client))
client.compute_psd(fmax=40.0, verbose=False).plot(average=True, amplitude=False, show=False)

# %%
# Back from two plain objects
# ---------------------------
# :func:`hyperinsync.make_dyad_epochs` (and :func:`hyperinsync.make_dyad_raw` for
# continuous data) put two people's objects together again, checking that their epochs,
# times and events pair up; :func:`hyperinsync.get_roles` reads the roles from any object.
therapist = loaded.participant("therapist")
again = hs.make_dyad_epochs(therapist, client, roles=("therapist", "client"))
print(hs.get_roles(again), np.array_equal(again.get_data(), loaded.get_data()))

# %%
# Synchrony per segment
# ---------------------
# :func:`hyperinsync.compute_sync` takes the dyad's epochs directly (one value per epoch,
# then averaged).
for name in event_id:
    sync = hs.compute_sync(loaded[name], bands={"alpha": (8, 13)}, rois="default", verbose=False)
    print(name, "central-central alpha PLV:", round(float(sync.get_data(level="roi")[1, 1]), 3))
fig, axes = plt.subplots(1, 2, figsize=(9, 4), layout="constrained")
for ax, name in zip(axes, event_id):
    sync = hs.compute_sync(loaded[name], bands={"alpha": (8, 13)}, verbose=False)
    hs.viz.plot_sync_matrix(sync, axes=ax, colorbar=False, title=f"alpha PLV: {name}", show=False)
