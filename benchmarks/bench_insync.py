"""Benchmark In-Sync Level 1: sliding-window PLV with its two nulls (block shuffles, shifts).

Full size: a 30-minute 2 x 32-channel dyad at 500 Hz, theta + alpha, all ROI pairs of the
default ROIs, 6 s windows every 0.5 s, 200 block shuffles (episodes) and 200 circular shifts
(above chance) (target: under 30 s on 2 cores).
``--quick``: 3 minutes and 50 shifts, for a smoke run.

``--backend cupy``: on the GPU, warm (run once first), with its host/device transfers and
its largest difference from NumPy (:mod:`gpu_common`; target <= 1 s at full size;
``--json`` appends the row for ``benchmarks/gpu_check.sh``).

Usage::

    python benchmarks/bench_insync.py [--quick] [--backend numpy|cupy|auto] [--n-null N]
        [--n-jobs N] [--repeats N] [--json FILE]
"""

from __future__ import annotations

import argparse
import os
import time


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    parser.add_argument("--backend", default="numpy", help="numpy | cupy | auto")
    parser.add_argument(
        "--n-null", type=int, default=None, help="block shuffles and circular shifts (each)"
    )
    parser.add_argument(
        "--n-jobs", type=int, default=2, help="surrogate threads (the target machine has 2 cores)"
    )
    parser.add_argument("--repeats", type=int, default=3, help="GPU: repeats (median)")
    parser.add_argument("--json", default=None, help="append the GPU row to this file")
    args = parser.parse_args()
    # one BLAS thread per job, set before NumPy loads: the jobs are the parallelism
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    run(
        args.quick,
        args.n_null,
        args.n_jobs,
        args.backend,
        repeats=args.repeats,
        json_path=args.json,
    )


def run(quick=False, n_null=None, n_jobs=2, backend="numpy", repeats=3, json_path=None):
    """Simulate, run Level 1 and print; return (result, wall s, CPU s, raw).

    With ``backend='cupy'``: the warm GPU case instead (median of ``repeats``, its row
    appended to ``json_path``), returning None.
    """
    from hyperinsync import Coupling, simulate_dyad
    from hyperinsync.insync import level1

    duration = 180.0 if quick else 1800.0
    n_null = n_null or (50 if quick else 200)
    sfreq = 500.0
    bands = {"theta": (4.0, 8.0), "alpha": (8.0, 13.0)}
    t0 = time.perf_counter()
    raw, _ = simulate_dyad(
        duration=duration,
        sfreq=sfreq,
        montage="standard-32",
        couplings=[
            Coupling(
                "alpha", "central", "central", strength=0.6, episodes=[(60.0, 80.0), (120.0, 150.0)]
            )
        ],
        seed=0,
        verbose=False,
    )
    t_sim = time.perf_counter() - t0
    print(
        f"simulated {duration:g} s, 2 x {len(raw.ch_names) // 2} channels at {sfreq:g} Hz "
        f"in {t_sim:.1f} s"
    )
    if backend == "cupy":
        from gpu_common import device_name, gpu_case, setup

        setup("cupy")
        print(f"device: {device_name()}")

        def run(backend):
            return level1(
                raw,
                bands,
                "default",
                window=6.0,
                step=0.5,
                n_surrogates=n_null,
                seed=0,
                backend=backend,
                n_jobs=n_jobs,
                verbose=False,
            )

        gpu_case(
            "bench_insync",
            f"Level 1, {duration:g} s, {n_null} + {n_null} surrogates",
            run,
            lambda r: {"values": r.values, "tonic null max": r.tonic_null_max},
            repeats=repeats,
            target=None if quick else 1.0,
            json_path=json_path,
        )
        return
    t0, c0 = time.perf_counter(), time.process_time()
    res = level1(
        raw,
        bands,
        "default",
        window=6.0,
        step=0.5,
        n_surrogates=n_null,
        seed=0,
        backend=backend,
        n_jobs=n_jobs,
        verbose=False,
    )
    t_l1, c_l1 = time.perf_counter() - t0, time.process_time() - c0
    n_bands, n_ra, n_rb, n_win = res.values.shape
    print(
        f"level1: {n_bands} bands x {n_ra} x {n_rb} ROI pairs x {n_win} windows "
        f"(6 s, step 0.5 s), {n_null} block shuffles + {n_null} circular shifts, "
        f"backend {res.params['backend']}, decim {res.params['decim']}, n_jobs {n_jobs}"
    )
    # CPU time next to wall time: on a shared machine the wall time includes waiting
    print(f"level1 time: {t_l1:.2f} s wall, {c_l1:.2f} s CPU ({len(res.episodes)} episode(s))")
    return res, t_l1, c_l1, raw


if __name__ == "__main__":
    main()
