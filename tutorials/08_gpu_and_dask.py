"""
.. _tut-gpu-dask:

======================================
Running on a GPU and on a Dask cluster
======================================

hyperinsync computes everything array-heavy (band analytic signals, synchrony measures,
surrogates) once against an array namespace ``xp``: NumPy on the CPU, or CuPy on an NVIDIA
GPU. ``backend='auto'`` (the default of every function with a ``backend`` argument) uses
the GPU when CuPy imports and finds one, else NumPy, so the same script runs everywhere.
Whole studies run in parallel, one recording per worker, with joblib or on a Dask cluster.

Set the environment variable ``HYPERINSYNC_TUTORIAL_SMALL=1`` to run this tutorial with a
shorter recording and a smaller study (the test suite does). ``HYPERINSYNC_BACKEND=numpy``
(or ``cupy``) overrides ``backend='auto'``.
"""

# %%
import os
import tempfile
import time

import matplotlib.pyplot as plt
import numpy as np

import hyperinsync as hs

small = os.environ.get("HYPERINSYNC_TUTORIAL_SMALL") == "1"
duration = 10.0 if small else 600.0

# %%
# Which backend?
# --------------
# :func:`hyperinsync.get_backend` resolves ``'auto'`` into a
# :class:`~hyperinsync.backend.Backend`. Without a GPU (or without CuPy,
# installed with ``pip install hyperinsync[gpu]``) it is NumPy; asking for ``'cupy'``
# explicitly then raises an error that says why.
backend = hs.get_backend("auto")
print("CuPy usable:", hs.backend.cupy_available(), "-> backend 'auto' is", backend.name)

# %%
# Same result on either backend
# -----------------------------
# The GPU computes in the same precision (``precision='single'`` by default, complex64), so
# results agree to single-precision rounding. Here both calls may run on NumPy; on a GPU
# machine the first one runs on CuPy. There, work is cut into chunks that fit the GPU's free
# memory (``max_bytes='auto'``); should it still run out, the analysis is retried with
# smaller chunks, then computed with NumPy, with a warning naming the step, and
# ``res.params['backend']`` says where it ran.
raw, _ = hs.simulate_dyad(duration, 250.0, roles=("therapist", "client"), seed=5, verbose=False)
timings = {}
for name in ("auto", "numpy"):
    t0 = time.perf_counter()
    res = hs.compute_sync(raw, measures=["plv", "coh"], backend=name, verbose=False)
    timings[f"{name} ({res.params['backend']})"] = time.perf_counter() - t0
    if name == "auto":
        res_auto = res
print("largest difference auto vs numpy:", float(np.abs(res_auto.data - res.data).max()))
for name, sec in timings.items():
    print(f"{name:16s} {sec:.2f} s")

fig, ax = plt.subplots(figsize=(4.5, 3), layout="constrained")
ax.barh(list(timings), list(timings.values()))
ax.set_xlabel(f"compute_sync, {duration:g} s of 2 x 32 channels (s)")

# %%
# A study on a Dask cluster
# -------------------------
# :meth:`hyperinsync.study.Study.run` sends one job per recording to the workers and writes
# each result as it comes back; the group statistics run at the end. Here a
# :class:`distributed.LocalCluster` on this machine (threads, so it starts instantly); for
# a real cluster pass ``scheduler='tcp://host:8786'`` or a :class:`distributed.Client`
# (running on an HPC cluster through SLURM: :ref:`user_guide_study`). Dask's scheduler
# always starts an HTTP server, on port 8787 unless told otherwise, even without a
# dashboard: here it listens on a free loopback port, so two runs never collide.
from distributed import Client, LocalCluster  # noqa: E402

study = hs.Study(
    roles=("therapist", "client"),
    simulate=dict(
        n_dyads=3 if small else 14,
        sfreq=100.0,
        segments=[["rest", 10.0 if small else 120.0]],
        seed=3,
    ),
    analysis=dict(bands={"theta": [4, 8], "alpha": [8, 13]}, rois="default"),
    surrogates=False,
    insync=dict(level1=False, level2=False, level3=False),
    # without surrogates the group step can only use raw synchrony, which is not corrected
    # for chance level: fine for timing, not for a group comparison (see the Study docs)
    statistics=dict(n_permutations=200, pseudo_dyads=False, feature="raw"),
)
with (
    tempfile.TemporaryDirectory() as out_dir,
    LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=False,
        dashboard_address=None,
        scheduler_kwargs=dict(dashboard=False, dashboard_address="127.0.0.1:0"),
    ) as cluster,
    Client(cluster) as client,
):
    results = study.run(out_dir, scheduler=client, verbose=False)
    table = results.to_table()
print(results.run_info["computed"])
print(table.head())
