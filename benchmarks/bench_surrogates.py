"""Benchmark surrogate nulls: batched pseudo-dyads and epoch shuffles.

P1: 14 dyads, 2 x 32 channels, 500 Hz, 5-min rest, theta + alpha PLV, all 182
    role-keeping pseudo-dyads (``surrogate_sync(null='pseudo_dyads')``), against the obvious
    loop (``make_dyad_raw`` + ``compute_sync`` once per pseudo-dyad), timed on a subset of
    pairs and extrapolated to all 182. Targets: < 30 s on 2 cores, >= 10x the loop.
P2: one 30-min dyad, 1000 epoch-shuffle surrogates at ROI level. Target: < 60 s.

Run ``python benchmarks/bench_surrogates.py [--quick] [--threads 2] [--repeats 3]``.
Thread pools (BLAS, FFT workers) are limited to ``--threads`` before NumPy is imported.
Signal simulation is not timed.

``--backend cupy``: P1 and P2 on the GPU, warm (run once first), with their host/device
transfers and their largest difference from NumPy (:mod:`gpu_common`; targets P1 <= 0.5 s,
P2 <= 1 s; ``--json`` appends the rows for ``benchmarks/gpu_check.sh``); no loop.
"""

import argparse
import os
import sys
from types import SimpleNamespace

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="reduced sizes (CI smoke run)")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (default 2)")
    parser.add_argument("--repeats", type=int, default=3, help="repeats per timing (median)")
    parser.add_argument("--backend", default="numpy", help="numpy | cupy | auto")
    parser.add_argument("--json", default=None, help="append the GPU rows to this JSON-lines file")
    args = parser.parse_args()
    for var in THREAD_VARS:
        os.environ[var] = str(args.threads)
else:  # imported (benchmarks/run_all.py): it sets the thread variables and args
    args = SimpleNamespace(quick=False, threads=2, repeats=3, backend="numpy", json=None)

import time  # noqa: E402

import numpy as np  # noqa: E402

import hyperinsync as hi  # noqa: E402
from hyperinsync.dyad import make_dyad_raw  # noqa: E402
from hyperinsync.stats import surrogate_sync  # noqa: E402

BANDS = {"theta": (4.0, 8.0), "alpha": (8.0, 13.0)}


def median_time(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), out


def bench_p1(quick):
    n_dyads, dur = (4, 60.0) if quick else (14, 300.0)
    study = hi.simulate_study(
        n_dyads=n_dyads, segments=(("rest", dur),), sfreq=500.0, seed=0, verbose=False
    )
    dyads = [study.get_dyad(k, verbose=False)[0] for k in range(n_dyads)]
    n_ch = len(dyads[0].ch_names) // 2
    n_pairs = n_dyads * (n_dyads - 1)
    print(
        f"P1: {n_dyads} dyads, 2 x {n_ch} channels, 500 Hz, {dur:.0f} s, theta + alpha PLV, "
        f"{n_pairs} role-keeping pseudo-dyads, {args.threads} threads, backend {args.backend}"
    )

    def batched():
        # channel pairs (rois=None), as the loop's compute_sync values
        return surrogate_sync(
            dyads,
            null="pseudo_dyads",
            n_surrogates=None,
            bands=BANDS,
            seed=0,
            rois=None,
            n_jobs=args.threads,
            backend=args.backend,
            verbose=False,
        )

    t_batch, res = median_time(batched, args.repeats)
    roles = dyads[0].roles
    people = [(d.participant(roles[0]), d.participant(roles[1])) for d in dyads]
    subset = res.params["pairs"][: (3 if quick else 8)]

    def loop():
        out = []
        for a, b in subset:
            raw = make_dyad_raw(people[a // 2][0], people[b // 2][1], roles=roles, verbose=False)
            sync = hi.compute_sync(
                raw, BANDS, "plv", n_jobs=args.threads, backend=args.backend, verbose=False
            )
            # channel pairs, the level of the batched null (rois=None above)
            out.append(np.stack([sync.get_data("plv", b, level="channel") for b in BANDS])[None])
        return out

    t_loop_sub, loop_vals = median_time(loop, args.repeats)
    err = max(float(np.abs(v - res.null[k]).max()) for k, v in enumerate(loop_vals))
    t_loop = t_loop_sub / len(subset) * n_pairs
    print(
        f"  batched surrogate_sync (all {n_pairs} + {n_dyads} real): {t_batch:8.2f} s "
        f"(median of {args.repeats})"
    )
    print(
        f"  loop compute_sync: {t_loop_sub:.2f} s for {len(subset)} pairs -> "
        f"{t_loop:8.2f} s extrapolated to {n_pairs}"
    )
    print(f"  speed-up: {t_loop / t_batch:6.1f}x   max |batched - loop| = {err:.2e}")
    bench_p1.info = dict(
        n_dyads=n_dyads,
        duration=dur,
        n_ch=n_ch,
        n_pairs=n_pairs,
        n_subset=len(subset),
        t_loop_subset=t_loop_sub,
        max_diff=err,
        sfreq=500.0,
        dyad=dyads[0],
    )
    return t_batch, t_loop


def bench_p2(quick):
    dur, n_sur = (300.0, 200) if quick else (1800.0, 1000)
    raw, _ = hi.simulate_dyad(
        duration=dur, sfreq=500.0, montage="tmsi-mobita-32", seed=1, verbose=False
    )
    n_ch = len(raw.ch_names) // 2
    print(
        f"P2: one dyad, 2 x {n_ch} channels, 500 Hz, {dur:.0f} s ({int(dur // 2)} epochs of "
        f"2 s), {n_sur} epoch-shuffle surrogates, theta + alpha PLV, ROI level"
    )

    def run():
        return surrogate_sync(
            raw,
            null="epoch_shuffle",
            n_surrogates=n_sur,
            bands=BANDS,
            rois="default",
            seed=0,
            n_jobs=args.threads,
            backend=args.backend,
            verbose=False,
        )

    t, res = median_time(run, args.repeats)
    print(
        f"  surrogate_sync epoch_shuffle: {t:8.2f} s (median of {args.repeats}); "
        f"{res.null.shape[0]} surrogates x {len(res.rows)} x {len(res.cols)} ROI pairs"
    )
    bench_p2.info = dict(duration=dur, n_ch=n_ch, n_surrogates=n_sur, sfreq=500.0, raw=raw)
    return t


def bench_gpu(quick):
    """P1 and P2 on the GPU, warm, with transfers and differences from NumPy."""
    from gpu_common import device_name, gpu_case, setup

    setup("cupy")
    print(f"device: {device_name()}")
    n_dyads, dur = (4, 60.0) if quick else (14, 300.0)
    study = hi.simulate_study(
        n_dyads=n_dyads, segments=(("rest", dur),), sfreq=500.0, seed=0, verbose=False
    )
    dyads = [study.get_dyad(k, verbose=False)[0] for k in range(n_dyads)]
    common = dict(bands=BANDS, seed=0, n_jobs=args.threads, verbose=False)

    def p1(backend):
        return surrogate_sync(
            dyads, null="pseudo_dyads", n_surrogates=None, backend=backend, rois=None, **common
        )

    def outputs(res):
        return {"observed": res.observed, "null": res.null}

    gpu_case(
        "bench_surrogates",
        f"P1 {n_dyads * (n_dyads - 1)} pseudo-dyads, {n_dyads} x {dur:g} s",
        p1,
        outputs,
        repeats=args.repeats,
        target=None if quick else 0.5,
        json_path=args.json,
    )
    dur, n_sur = (300.0, 200) if quick else (1800.0, 1000)
    raw, _ = hi.simulate_dyad(
        duration=dur, sfreq=500.0, montage="tmsi-mobita-32", seed=1, verbose=False
    )

    def p2(backend):
        return surrogate_sync(
            raw, null="epoch_shuffle", n_surrogates=n_sur, rois="default", backend=backend, **common
        )

    gpu_case(
        "bench_surrogates",
        f"P2 {n_sur} epoch shuffles, {dur:g} s, ROI level",
        p2,
        outputs,
        repeats=args.repeats,
        target=None if quick else 1.0,
        json_path=args.json,
    )


if __name__ == "__main__":
    print(
        f"python {sys.version.split()[0]}, numpy {np.__version__}, "
        f"{'quick' if args.quick else 'full'} run"
    )
    if args.backend == "cupy":
        bench_gpu(args.quick)
        sys.exit(0)
    t1, t1_loop = bench_p1(args.quick)
    t2 = bench_p2(args.quick)
    print("summary:")
    print(
        f"  P1 batched {t1:.2f} s (target < 30 s), loop {t1_loop:.1f} s, "
        f"ratio {t1_loop / t1:.1f}x (target >= 10x)"
    )
    print(f"  P2 {t2:.2f} s (target < 60 s)")
