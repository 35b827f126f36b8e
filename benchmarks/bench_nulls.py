"""Circular-shift nulls, batched (issue 16, item 2): this checkout against a git ref, one process.

The package at ``--base`` (a git ref, default ``perf/pipeline``) is extracted to a temporary
folder and imported under another name, so both versions run back to back in the same
process on the same simulated dyads, alternating, and their null values are compared:

- **L1**: In-Sync Level 1's chance null (circular shifts of B, every window) — ``level1``
  timed whole and its chance null alone;
- **L2**: In-Sync Level 2's circular-shift null (per-epoch values of every segment);
- **ST**: ``surrogate_test(null='circular_shift')`` (per-epoch values, PLV and coh).

The base runs twice: with BLAS threads as the environment leaves them (what a user got:
OpenBLAS uses every core) and inside ``threadpool_limits(1)`` (the same algorithm on one BLAS
thread); this checkout runs as it is. Times are the best of ``--repeats`` (wall and CPU);
the load average is printed before and after.

Usage::

    python benchmarks/bench_nulls.py [--base REF] [--only L1,L2,ST] [--quick]
        [--n-surrogates N] [--repeats N] [--n-jobs N] [--l1-duration S]
"""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ALIAS = "hyperinsync_base"


def load_base(ref, folder):
    """Import the package of git ``ref`` as ``hyperinsync_base`` (its imports are relative)."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref, "hyperinsync"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    os.rename(Path(folder) / "hyperinsync", Path(folder) / ALIAS)
    sys.path.insert(0, str(folder))
    return importlib.import_module(ALIAS)


def best(func, repeats):
    """Return (result, best wall s, best CPU s) of ``repeats`` calls."""
    walls, cpus, res = [], [], None
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        res = func()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return res, min(walls), min(cpus)


NULL_CALLS = []  # wall times of the wrapped null runners' calls during the current run


def timed_null(module_name, attr):
    """Wrap ``module.attr`` (a null runner) to record each call's wall time."""
    mod = sys.modules[module_name]
    orig = getattr(mod, attr)

    def wrapper(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return orig(*args, **kwargs)
        finally:
            NULL_CALLS.append(time.perf_counter() - t0)

    setattr(mod, attr, wrapper)


def compare(name, sizes, runs, repeats, value, part=None):
    """Run every (label, func) of ``runs`` ``repeats`` times, alternating; print a table.

    ``part(calls)``: the time of the part of interest from the wrapped runners' calls of one
    run (:func:`timed_null`), shown in its own column.
    """
    import numpy as np
    from threadpoolctl import threadpool_limits

    times = {label: [] for label, _ in runs}
    results = {}
    for _ in range(repeats):  # alternate: load drifts affect every version alike
        for label, func in runs:
            NULL_CALLS.clear()
            if label.endswith("1 BLAS thread"):
                with threadpool_limits(1, "blas"):
                    res, wall, cpu = best(func, 1)
            else:
                res, wall, cpu = best(func, 1)
            times[label].append((wall, cpu, part(NULL_CALLS) if part else np.nan))
            results[label] = res
    ref = value(results[runs[-1][0]])
    print(f"\n{name}: {sizes}")
    print(
        "| version | wall (best) | CPU (best) | x faster (wall) | part (best) | x faster "
        "(part) | max abs diff of nulls |"
    )
    print("|---|---|---|---|---|---|---|")
    new = [min(t[i] for t in times[runs[-1][0]]) for i in (0, 2)]
    for label, _ in runs:
        wall, cpu, prt = (min(t[i] for t in times[label]) for i in range(3))
        diff = np.abs(value(results[label]) - ref)
        diff = diff[np.isfinite(diff)]
        print(
            f"| {label} | {wall:.2f} s | {cpu:.2f} s | {wall / new[0]:.1f} | {prt:.2f} s | "
            f"{prt / new[1]:.1f} | {diff.max() if diff.size else 0:.1e} |"
        )
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="perf/pipeline", help="git ref of the old version")
    parser.add_argument("--only", default="L1,L2,ST")
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    parser.add_argument("--n-surrogates", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument(
        "--l1-duration",
        type=float,
        default=600.0,
        help="L1: recording length in s (the L1 scenario of run_all: 1800)",
    )
    args = parser.parse_args()
    import mne
    import numpy as np

    import hyperinsync as new

    only = args.only.split(",")
    print(f"load average at start: {os.getloadavg()}; {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        old = load_base(args.base, tmp)
        n_sur, rep, n_jobs = args.n_surrogates, args.repeats, args.n_jobs
        bands = {"theta": (4.0, 8.0), "alpha": (8.0, 13.0)}
        if "L1" in only:
            dur = 120.0 if args.quick else args.l1_duration
            raw, _ = new.simulate_dyad(
                duration=dur, sfreq=500.0, montage="standard-32", seed=0, verbose=False
            )
            for pkg in (old, new):
                timed_null(f"{pkg.__name__}.insync.level1", "_run_null")

            def l1(pkg):
                return lambda: pkg.insync.level1(
                    raw,
                    bands,
                    "default",
                    window=6.0,
                    step=0.5,
                    n_surrogates=n_sur,
                    seed=0,
                    n_jobs=n_jobs,
                    lead_lag=False,
                    verbose=False,
                )

            runs = [
                ("base, BLAS threads as set", l1(old)),
                ("base, 1 BLAS thread", l1(old)),
                ("this checkout", l1(new)),
            ]
            compare(
                "L1 (whole level1)",
                f"{dur:g} s, 2 x 32 ch at 500 Hz, theta + alpha, default ROIs, 6 s windows "
                f"every 0.5 s, {n_sur} shifts + {n_sur} block shuffles, n_jobs={n_jobs}",
                runs,
                rep,
                lambda r: np.concatenate([r.chance_null_max, r.null_mean.ravel()]),
                # part: the chance nulls (runner calls: tonic, chance, per band)
                part=lambda calls: sum(calls[1::2]),
            )
        if "L2" in only:
            dur = 80.0 if args.quick else 240.0
            raw, _ = new.simulate_dyad(
                duration=dur, sfreq=250.0, montage="tmsi-mobita-32", seed=0, verbose=False
            )
            third = dur / 4
            raw.set_annotations(
                mne.Annotations(
                    [0, third, 3 * third],
                    [third, 2 * third, third],
                    ["rest_pre", "session", "rest_post"],
                )
            )

            def l2(pkg):
                return lambda: pkg.insync.level2(
                    raw,
                    n_surrogates=n_sur,
                    seed=0,
                    n_jobs=n_jobs,
                    n_permutations=100,
                    verbose=False,
                )

            runs = [
                ("base, BLAS threads as set", l2(old)),
                ("base, 1 BLAS thread", l2(old)),
                ("this checkout", l2(new)),
            ]
            compare(
                "L2 (whole level2, circular_shift)",
                f"{dur:g} s (3 segments), 2 x 32 ch at 250 Hz, delta-gamma default bands, "
                f"default ROIs, 2 s epochs, {n_sur} shifts, n_jobs={n_jobs}",
                runs,
                rep,
                lambda r: r.null,
            )
        if "ST" in only:
            dur = 60.0 if args.quick else 300.0
            raw, _ = new.simulate_dyad(
                duration=dur, sfreq=500.0, montage="standard-32", seed=0, verbose=False
            )
            for measures in (["plv"], ["plv", "coh"]):

                def st(pkg, m=measures):
                    return lambda: pkg.stats.surrogate_test(
                        raw,
                        bands,
                        m,
                        null="circular_shift",
                        n_surrogates=n_sur,
                        seed=0,
                        n_jobs=n_jobs,
                        verbose=False,
                    )

                runs = [
                    ("base, BLAS threads as set", st(old)),
                    ("base, 1 BLAS thread", st(old)),
                    ("this checkout", st(new)),
                ]
                compare(
                    f"ST (surrogate_test circular_shift, {'+'.join(measures)})",
                    f"{dur:g} s, 2 x 32 ch at 500 Hz, theta + alpha, default ROIs, 2 s "
                    f"epochs, {n_sur} shifts, n_jobs={n_jobs}",
                    runs,
                    rep,
                    lambda r: r.null,
                )
    print(f"\nload average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
