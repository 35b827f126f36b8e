"""
.. _tut-quickstart:

=========================================================
Quickstart: from a simulated dyad to theta/alpha ROI PLV
=========================================================

A therapist and a client are recorded at once (32 EEG channels each). We simulate such a
dyad with a known inter-brain coupling, compute the phase-locking value (PLV) between every
channel of one person and every channel of the other in the theta (4-8 Hz) and alpha
(8-13 Hz) bands, and average it within regions of interest (ROIs).

Set the environment variable ``HYPERINSYNC_TUTORIAL_SMALL=1`` to run this tutorial with a
shorter recording (the test suite does; results are noisier).
"""

# %%
# Ten lines: simulate, compute, look
# ----------------------------------
# :func:`hyperinsync.simulate_dyad` returns a :class:`~hyperinsync.DyadRaw` (an ordinary
# :class:`mne.io.RawArray` whose channel names carry the role, ``therapist:Fz``) and the
# ground truth (a :class:`~hyperinsync.simulation.SimulationTruth`). Here the frontal
# channels share a theta source and the central channels an alpha source, each carrying 40 %
# of the in-band power. :func:`hyperinsync.compute_sync` returns a
# :class:`~hyperinsync.SyncResult`: the values with their labels and parameters.
import os

import hyperinsync as hs

small = os.environ.get("HYPERINSYNC_TUTORIAL_SMALL") == "1"
duration = 30.0 if small else 180.0  # seconds

raw, truth = hs.simulate_dyad(
    duration,
    sfreq=250.0,
    montage="tmsi-mobita-32",
    roles=("therapist", "client"),
    couplings=[
        hs.Coupling("theta", "frontal", "frontal", strength=0.4),
        hs.Coupling("alpha", "central", "central", strength=0.4),
    ],
    seed=42,
)
sync = hs.compute_sync(
    raw, bands={"theta": (4, 8), "alpha": (8, 13)}, measures="plv", rois="default"
)
print(sync)

# %%
# The bundled montages and ROI sets are listed by :func:`hyperinsync.list_montages` and
# :func:`hyperinsync.rois.list_roi_sets`; :func:`hyperinsync.read_rois` shows an ROI set.
print(hs.list_montages())
print(hs.read_rois("default")["central"])

# %%
# ROI values as a table
# ---------------------
# ``level='roi'`` averages the channel pairs of two ROIs. The frontal-frontal theta and
# central-central alpha cells stand out; every other cell is the PLV of signals that never
# interacted, which is *not* zero in finite windows (see the measures tutorial).
table = sync.to_table(level="roi")
same_roi = table[table["row"] == table["col"]]
print(same_roi.pivot(index="row", columns="band", values="value").round(3))

# %%
# Figures
# -------
# The ROI matrix per band, and the two heads with a line per ROI pair.
hs.viz.plot_sync_matrix(sync, level="roi")
hs.viz.plot_heads(sync, band="alpha", info=raw, level="roi")
