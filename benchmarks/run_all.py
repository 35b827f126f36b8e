"""Every benchmark scenario in one command; prints and writes ``benchmarks/RESULTS.md``.

Scenarios (sizes in ``benchmarks/README.md``): S1 and S2 (the synchrony core within epochs,
``bench_core.py``), Morlet (across epochs at every time point, S1 epochs), P1 and P2
(surrogate nulls, ``bench_surrogates.py``), L1 (In-Sync Level 1, ``bench_insync.py``) and
the demo (``hyperinsync demo``, end to end, and its report). Peers run where they exist:
mne-connectivity always, HyPyP where installed.

Each scenario runs in a fresh Python process (its peak memory is its own; a scenario that
fails or runs out of time is reported as such and the others still run). Before them, the
machine's complex matrix-product (GEMM) and FFT rates are measured; each scenario's *limit*
is its arithmetic (complex multiply-adds of its products, butterflies of its FFTs, counted
from the sizes and the decimation actually used) at those rates: the time the machine needs
at best, memory traffic not counted. ``ours / limit`` says how far from it an implementation
is.

Usage::

    python benchmarks/run_all.py                      # everything, writes RESULTS.md
    python benchmarks/run_all.py --quick --out /tmp/r.md   # small sizes: does it run?
    python benchmarks/run_all.py --only S1,morlet --repeats 1
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCENARIOS = ("S1", "S2", "morlet", "P1", "P2", "L1", "demo")
MARKER = "<!-- run_all.py writes everything above this line; earlier results follow. -->"


# ----------------------------------------------------------------------------- machine
def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_gib():
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return float("nan")


def machine():
    import numpy as np
    import scipy

    try:
        from threadpoolctl import threadpool_info

        pools = ", ".join(
            f"{p['internal_api']} {p.get('version', '')} ({p['num_threads']} threads)"
            for p in threadpool_info()
        )
    except ImportError:
        pools = "threadpoolctl missing"
    versions = {}
    for mod in ("mne", "mne_connectivity", "hypyp", "numba", "hyperinsync"):
        try:
            versions[mod] = __import__(mod).__version__
        except Exception:
            versions[mod] = None
    try:
        commit = subprocess.run(
            ["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        commit = ""
    return dict(
        cpu=cpu_model(),
        logical_cpus=os.cpu_count(),
        usable_cpus=len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        memory_gib=memory_gib(),
        platform=platform.platform(),
        python=platform.python_version(),
        numpy=np.__version__,
        scipy=scipy.__version__,
        pools=pools,
        commit=commit,
        **versions,
    )


def measure_rates(quick=False):
    """Best-of-3 complex64 GEMM and FFT rates, 1 thread and all threads (GFLOP/s)."""
    import numpy as np
    import scipy.fft
    from threadpoolctl import threadpool_limits

    def best(fn, k=3):
        fn()
        times = []
        for _ in range(k):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return min(times)

    rng = np.random.default_rng(0)
    n = 1024 if quick else 2048
    a = (rng.standard_normal((n, n)) + 1j * rng.standard_normal((n, n))).astype(np.complex64)
    # the shape of the Morlet products: 32 x E @ E x 32, batched over frequencies x times
    e = 900
    ba = (rng.standard_normal((256, 32, e)) + 1j).astype(np.complex64)
    bb = (rng.standard_normal((256, e, 32)) + 1j).astype(np.complex64)
    x = (rng.standard_normal((512, 4096)) + 1j).astype(np.complex64)
    rates = {}
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    for threads in (1, cpus):
        with threadpool_limits(threads):
            rates[f"gemm_{threads}"] = 8 * n**3 / best(lambda: a @ a) / 1e9
            rates[f"batched_gemm_{threads}"] = 8 * ba.size * 32 / best(lambda: ba @ bb) / 1e9
            fft_flops = 5 * x.size * math.log2(x.shape[1])
            rates[f"fft_{threads}"] = (
                fft_flops / best(lambda: scipy.fft.fft(x, axis=-1, workers=threads)) / 1e9
            )
    rates["threads"] = cpus
    return rates


# ----------------------------------------------------------------------------- workloads
def fft_flops(n, real=False):
    """Flops of one FFT of length ``n`` (5 n log2 n complex; half for a real transform)."""
    return (2.5 if real else 5.0) * n * math.log2(max(n, 2))


def band_fft_flops(n_signals, n_times, decims, n_freqs=None):
    """One real FFT per signal, one inverse per band (and frequency) at its decimated length."""
    flops = n_signals * fft_flops(n_times, real=True)
    for band, q in decims.items():
        flops += n_signals * (n_freqs or {}).get(band, 1) * fft_flops(n_times // q)
    return flops


def best_rate(rates, kind):
    """Return the machine's best measured rate of ``kind`` (GFLOP/s), on 1 thread or all."""
    return max(rates[f"{kind}_1"], rates[f"{kind}_{rates['threads']}"])


def limit_seconds(gemm_flops, fft_flops_, rates):
    """Return the ideal time at the machine's best measured rates."""
    return gemm_flops / (best_rate(rates, "gemm") * 1e9) + fft_flops_ / (
        best_rate(rates, "fft") * 1e9
    )


# ----------------------------------------------------------------------------- scenarios
def _core():
    """bench_core, with warnings and MNE's log quiet (as bench_core's own main)."""
    import warnings

    import mne

    warnings.filterwarnings("ignore", category=RuntimeWarning)
    mne.set_log_level("ERROR")
    sys.path.insert(0, str(HERE))
    import bench_core

    return bench_core


def _s1_input(args):
    """bench_core, S1's size and recording, and its two roles' channel indices."""
    bc = _core()
    size = (bc.QUICK if args.quick else bc.SIZES)["S1"]
    raw = bc.make_input(size)
    return bc, size, raw, bc.split_roles(raw)


def _rows_of(bc_rows, scenario, ours_tool, size_text):
    """bench_core Rows -> our row dicts (one per peer row, ours first)."""
    out = []
    for r in bc_rows:
        out.append(
            dict(
                scenario=scenario,
                tool=r.tool,
                size=size_text,
                time=r.full,
                measured=f"{r.n_measured}/{r.n_total} epochs",
                extrapolated=r.extrapolated,
                ours=r.ref is None,
                note=r.note,
            )
        )
    return out


def scen_s1(args):
    from hyperinsync import compute_sync

    bc, size, raw, (pa, pb) = _s1_input(args)
    call = lambda n_jobs=1: compute_sync(  # noqa: E731
        raw,
        bc.BANDS,
        bc.MEASURES,
        method="fft",
        convention="within",
        n_jobs=n_jobs,
        verbose=False,
    )
    res = call()  # warm-up
    _, t = bc.timed(call, args.repeats)
    ours = "ours compute_sync(raw) fft, end to end"
    rows = [bc.Row("S1", "within", ours, size.n_epochs, size.n_epochs, t)]
    # the same on the machine's cores (the peers run on one: the ratios are one thread's)
    both = f"  the same with n_jobs={args.threads} (threads over chunks of signals and epochs)"
    _, t2 = bc.timed(lambda: call(n_jobs=args.threads), args.repeats)
    rows.append(bc.Row("S1", "within", both, size.n_epochs, size.n_epochs, t2, None, ""))
    epochs = raw.make_epochs(duration=bc.EPOCH_S, verbose=False)
    peer_rows = []
    bc.run_within_peers(size, epochs, pa, pb, args.repeats, peer_rows, ours, do_checks=False)
    rows += peer_rows
    n_len = int(bc.EPOCH_S * size.sfreq)
    decim = res.params["decim"]
    gemm = sum(
        size.n_epochs * len(pa) * len(pb) * (n_len // q) * 8 * len(bc.MEASURES)
        for q in decim.values()
    )
    fft = band_fft_flops(2 * size.n_ch, raw.n_times, decim)
    text = (
        f"2 x {size.n_ch} ch, {size.sfreq:g} Hz, {size.duration / 60:g} min "
        f"({size.n_epochs} epochs), theta + alpha, PLV + coh, decim {decim}"
    )
    return dict(
        rows=_rows_of(rows, "S1", ours, text),
        gemm_flops=gemm,
        fft_flops=fft,
        ours=ours,
        target_tool=both,
        target="<= 0.5 s end to end on the 2 cores (issue 16)",
        target_s=0.5,
    )


def scen_s2(args):
    bc = _core()
    size = (bc.QUICK if args.quick else bc.SIZES)["S2"]
    rows = []
    bc.run_s2(size, args.repeats, rows, args.workdir, keep=False)
    ours = rows[0].tool
    n_len = int(bc.EPOCH_S * size.sfreq)
    decim = rows[0].note.split("decim=", 1)[1]
    decim = json.loads(decim.replace("'", '"'))
    gemm = sum(
        size.n_epochs * size.n_ch**2 * (n_len // q) * 8 * len(bc.MEASURES) for q in decim.values()
    )
    fft = band_fft_flops(2 * size.n_ch, int(size.duration * size.sfreq), decim)
    text = (
        f"2 x {size.n_ch} ch, {size.sfreq:g} Hz, {size.duration / 60:g} min from a lazily "
        f"read float32 FIF; peak {rows[0].extra['peak_mib']:.0f} MiB"
    )
    return dict(
        rows=_rows_of(rows, "S2", ours, text),
        gemm_flops=gemm,
        fft_flops=fft,
        ours=ours,
        peak_mib=rows[0].extra["peak_mib"],
        target="<= 2 GB peak memory",
    )


def scen_morlet(args):
    import mne
    import numpy as np
    from threadpoolctl import threadpool_limits

    from hyperinsync import compute_sync
    from hyperinsync.sync import DyadSignals
    from hyperinsync.sync.across import epoch_chunks
    from hyperinsync.sync.kernels import _pad_lengths

    bc, size, raw, (pa, pb) = _s1_input(args)
    epochs = raw.make_epochs(duration=bc.EPOCH_S, verbose=False)
    del raw
    kw = dict(method="morlet", decim=1, n_cycles=bc.N_CYCLES)
    call = lambda: compute_sync(  # noqa: E731
        epochs,
        bc.BANDS,
        bc.MEASURES,
        convention="across",
        verbose=False,
        **kw,
    )
    res, t = bc.timed(call, args.repeats)
    ours = "ours compute_sync(epochs, 'across') morlet, every time point"
    rows = [bc.Row("morlet", "across", ours, size.n_epochs, size.n_epochs, t)]
    # the band signals alone (the rest is the per-time-point products), made as
    # compute_sync makes them: per chunk of epochs, into the same buffers each time
    sig = DyadSignals(epochs, bc.BANDS, **kw)
    _, picks = sig.data_picks()
    picks = np.concatenate(picks)

    def band_signals():
        data = sig.epoch_data(picks)
        for _ in epoch_chunks(sig, data, np.arange(data.shape[1])):
            pass

    _, t_sig = bc.timed(band_signals, args.repeats)
    rows.append(
        bc.Row(
            "morlet",
            "across",
            "  of which band signals (DyadSignals)",
            size.n_epochs,
            size.n_epochs,
            t_sig,
            None,
            "Morlet transforms, in chunks of epochs as compute_sync",
        )
    )
    n_sub = min(size.subset, size.n_epochs)
    data = epochs.get_data()[:n_sub]
    idx = bc.inter_indices(pa, pb)
    _, t_mc = bc.timed(lambda: bc.mnec_epochs(data, size.sfreq, idx, "cwt_morlet"), args.repeats)
    rows.append(
        bc.Row(
            "morlet",
            "across",
            "mne-conn spectral_connectivity_epochs cwt_morlet",
            n_sub,
            size.n_epochs,
            t_mc,
            ours,
            f"{len(bc.CWT_FREQS)} freqs, n_cycles={bc.N_CYCLES:g}",
        )
    )
    # the products alone as batched GEMMs of the same shapes, on this machine, now
    n_freqs = {b: len(f) for b, f in res.params["freqs"].items()}
    n_t = int(bc.EPOCH_S * size.sfreq)
    rng = np.random.default_rng(0)
    e = size.n_epochs
    a = (rng.standard_normal((8, len(pa), e)) + 1j).astype(np.complex64)
    b = (rng.standard_normal((8, e, len(pb))) + 1j).astype(np.complex64)
    with threadpool_limits(1, "blas"):  # as the engine runs them
        _, t8 = bc.timed(lambda: a @ b, 5)
    n_products = sum(n_freqs.values()) * n_t * len(bc.MEASURES)
    t_gemm = float(np.median(t8)) / 8 * n_products
    gemm = n_products * len(pa) * len(pb) * e * 8
    longest = mne.time_frequency.morlet(size.sfreq, [4.0], n_cycles=bc.N_CYCLES)[0].size
    _, n_fft = _pad_lengths(n_t, longest // 2, [1])
    n_sig = e * 2 * size.n_ch
    fft = n_sig * (fft_flops(n_fft, real=True) + sum(n_freqs.values()) * fft_flops(n_fft))
    text = (
        f"S1 epochs: {e} x 2 x {size.n_ch} ch x {n_t} samples, "
        f"{sum(n_freqs.values())} wavelets (n_cycles {bc.N_CYCLES:g}), PLV + coh per time "
        f"point, {len(pa)} x {len(pb)} pairs"
    )
    products = float(np.median(t)) - float(np.median(t_sig))
    return dict(
        rows=_rows_of(rows, "morlet", ours, text),
        gemm_flops=gemm,
        fft_flops=fft,
        ours=ours,
        products_s=products,
        gemm_same_shapes_s=t_gemm,
        target=">= 20x cwt_morlet; products within 3x of the same batched GEMMs",
    )


def _surrogates_module(args):
    sys.path.insert(0, str(HERE))
    import bench_surrogates

    bench_surrogates.args.quick = args.quick
    bench_surrogates.args.repeats = args.repeats
    bench_surrogates.args.threads = args.threads
    return bench_surrogates


def _decims(inst):
    """Return the decimation compute_sync chooses for 2-s epochs of ``inst`` (theta, alpha)."""
    from hyperinsync import compute_sync

    return compute_sync(inst.copy().crop(0, 20.0), verbose=False).params["decim"]


def scen_p1(args):
    bs = _surrogates_module(args)
    t_batch, t_loop = bs.bench_p1(args.quick)
    info = bs.bench_p1.info
    decim = _decims(info["dyad"])
    n_t = int(2.0 * info["sfreq"])
    n_ep = int(info["duration"] // 2)
    n_pairs = info["n_pairs"] + info["n_dyads"]
    gemm = sum(n_pairs * n_ep * info["n_ch"] ** 2 * (n_t // q) * 8 for q in decim.values())
    fft = band_fft_flops(
        2 * info["n_ch"] * info["n_dyads"], int(info["duration"] * info["sfreq"]), decim
    )
    ours = "ours surrogate_sync pseudo_dyads (batched)"
    text = (
        f"{info['n_dyads']} dyads, 2 x {info['n_ch']} ch, 500 Hz, "
        f"{info['duration']:g} s, theta + alpha PLV, {info['n_pairs']} pseudo-dyads"
    )
    rows = [
        dict(
            scenario="P1",
            tool=ours,
            size=text,
            time=t_batch,
            measured="all",
            extrapolated=False,
            ours=True,
            note="",
        ),
        dict(
            scenario="P1",
            tool="loop of compute_sync, one per pseudo-dyad",
            size=text,
            time=t_loop,
            measured=f"{info['n_subset']}/{info['n_pairs']} pairs",
            extrapolated=True,
            ours=False,
            note=f"max |diff| {info['max_diff']:.1e}",
        ),
    ]
    return dict(
        rows=rows,
        gemm_flops=gemm,
        fft_flops=fft,
        ours=ours,
        target="<= 1 s (issue 16), >= 10x the loop",
        target_s=1.0,
    )


def scen_p2(args):
    bs = _surrogates_module(args)
    t = bs.bench_p2(args.quick)
    info = bs.bench_p2.info
    decim = _decims(info["raw"])
    n_t = int(2.0 * info["sfreq"])
    n_ep = int(info["duration"] // 2)
    # each surrogate pairs every epoch of one person with another epoch of the other: at
    # best all epoch pairs once (E^2) or each surrogate's pairs (n x E), whichever is less
    n_prod = min(n_ep**2, info["n_surrogates"] * n_ep)
    # at ROI level only the channels inside an ROI are paired (25 of 32 per person here)
    from hyperinsync.dyad import split_ch_name
    from hyperinsync.stats.surrogate_checks import roi_channels

    used = [split_ch_name(n)[0] for n in roi_channels(info["raw"], "default")]
    n_a, n_b = (used.count(r) for r in info["raw"].roles)
    gemm = sum(n_prod * n_a * n_b * (n_t // q) * 8 for q in decim.values())
    fft = band_fft_flops(2 * info["n_ch"], int(info["duration"] * info["sfreq"]), decim)
    ours = "ours surrogate_sync epoch_shuffle (batched)"
    text = (
        f"one dyad, 2 x {info['n_ch']} ch, 500 Hz, {info['duration'] / 60:g} min, "
        f"{info['n_surrogates']} epoch shuffles, theta + alpha PLV, ROI level"
    )
    rows = [
        dict(
            scenario="P2",
            tool=ours,
            size=text,
            time=t,
            measured="all",
            extrapolated=False,
            ours=True,
            note="",
        )
    ]
    return dict(
        rows=rows,
        gemm_flops=gemm,
        fft_flops=fft,
        ours=ours,
        target="<= 5 s (issue 16)",
        target_s=5.0,
    )


def scen_l1(args):
    sys.path.insert(0, str(HERE))
    import bench_insync

    res, wall, cpu, raw = bench_insync.run(args.quick, None, args.threads, "numpy")
    decim = res.params["decim"]
    n_null = res.params["n_surrogates"]
    # channel pairs of every ROI pair (values per channel pair, averaged per ROI pair)
    first, second = (res.roi_channels[r] for r in res.roles)
    n_pairs = sum(len(ca) for ca in first.values()) * sum(len(cb) for cb in second.values())
    n = raw.n_times
    # the observed values, the block shuffles and the circular shifts: each a full pass of
    # block products (the windows' sums for a few hundred shifts; a cross-correlation by
    # FFT gives whole-signal sums only, and per window costs more: sync/shifts.py)
    gemm = sum((1 + 2 * n_null) * (n // q) * n_pairs * 8 for q in decim.values())
    fft = band_fft_flops(len(raw.ch_names), n, decim)
    ours = f"ours insync.level1 (n_jobs={args.threads})"
    text = (
        f"{raw.times[-1] / 60:.0f} min, 2 x {len(raw.ch_names) // 2} ch, 500 Hz, 6-s "
        f"windows every 0.5 s, {n_null} block shuffles + {n_null} circular shifts"
    )
    rows = [
        dict(
            scenario="L1",
            tool=ours,
            size=text,
            time=wall,
            measured="all",
            extrapolated=False,
            ours=True,
            note=f"CPU {cpu:.1f} s",
        )
    ]
    return dict(
        rows=rows,
        gemm_flops=gemm,
        fft_flops=fft,
        ours=ours,
        target="<= 3 s with 200 shifts (issue 16)",
        target_s=3.0,
    )


def _usable_cpus():
    from hyperinsync._utils import usable_cpus

    return usable_cpus()


def _tree_peak_memory(proc, interval=0.2):
    """Largest total memory (MiB) of ``proc`` and its descendants at once, until it ends.

    The proportional set size (PSS: a page shared by n processes counts 1/n in each) where
    the system reports it, so forked workers' shared pages count once; else the resident
    set size (which counts them in every process). Returns ``(MiB, 'PSS' | 'RSS')``.
    """
    import psutil  # a dependency of dask.distributed

    def size(p):
        try:
            return p.memory_full_info().pss, "PSS"
        except (AttributeError, psutil.AccessDenied):
            return p.memory_info().rss, "RSS"

    root, peak, kind = psutil.Process(proc.pid), 0, "PSS"
    while proc.poll() is None:
        total = 0
        try:
            for p in [root, *root.children(recursive=True)]:
                try:
                    value, what = size(p)
                except psutil.Error:  # ended meanwhile
                    continue
                total += value
                kind = "RSS" if what == "RSS" else kind
        except psutil.Error:
            break
        peak = max(peak, total)
        time.sleep(interval)
    return peak / 2**20, kind


def scen_demo(args):
    out = Path(tempfile.mkdtemp(prefix="hyperinsync-demo-"))
    try:
        cmd = [sys.executable, "-m", "hyperinsync.cli", "demo", "--quiet", "--out", str(out)]
        if args.quick:
            cmd.append("--quick")
        t0 = time.perf_counter()
        log = out.with_suffix(".log")  # a file, not a pipe: nothing blocks while memory is sampled
        with open(log, "w") as fid:
            proc = subprocess.Popen(cmd, stdout=fid, stderr=subprocess.STDOUT, text=True)
            # the demo and its worker processes together
            total_peak, mem_kind = _tree_peak_memory(proc)
            proc.wait()
        wall = time.perf_counter() - t0
        stderr = log.read_text()
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode:
            raise RuntimeError(f"hyperinsync demo failed:\n{stderr[-2000:]}")
        # the report alone, on the demo's results (best of the repeats)
        import matplotlib

        matplotlib.use("Agg")
        from hyperinsync.study import make_report, read_results

        res = read_results(out / "results.h5")
        make_report(res, out / "r.html", n_jobs=-1, verbose=False)  # imports, fonts
        t_rep = []
        for _ in range(args.repeats):
            t1 = time.perf_counter()
            make_report(res, out / "r.html", n_jobs=-1, verbose=False)  # as the demo
            t_rep.append(time.perf_counter() - t1)
        text = (
            "14 dyads x 3 sessions (60 + 120 + 60 s at 250 Hz), surrogates, Levels 1-3, "
            "pseudo-dyads, group statistics, report"
            if not args.quick
            else "--quick"
        )
        peak = usage.ru_maxrss / 1024
        rows = [
            dict(
                scenario="demo",
                tool="hyperinsync demo, end to end",
                size=text,
                time=wall,
                measured="1 run",
                extrapolated=False,
                ours=True,
                note=(
                    f"CPU {usage.ru_utime + usage.ru_stime:.0f} s, peak {total_peak:.0f} MiB "
                    f"{mem_kind} (all its processes at once; largest one {peak:.0f} MiB "
                    "RSS); "
                    f"recordings in {_usable_cpus()} worker processes (the demo's default)"
                ),
            ),
            dict(
                scenario="demo",
                tool=f"  its report (make_report, n_jobs=-1 as the demo, best of {args.repeats})",
                size=text,
                time=min(t_rep),
                measured="",
                extrapolated=False,
                ours=True,
                note="",
            ),
        ]
        return dict(
            rows=rows,
            gemm_flops=None,
            fft_flops=None,
            ours=rows[0]["tool"],
            peak_mib=total_peak,
            target="demo <= 20 s and 1 GB; report <= 5 s",
            target_s=20.0,
        )
    finally:
        shutil.rmtree(out, ignore_errors=True)
        out.with_suffix(".log").unlink(missing_ok=True)


RUN = {
    "S1": scen_s1,
    "S2": scen_s2,
    "morlet": scen_morlet,
    "P1": scen_p1,
    "P2": scen_p2,
    "L1": scen_l1,
    "demo": scen_demo,
}


# ----------------------------------------------------------------------------- report
def fmt_s(t):
    if t is None or not math.isfinite(t):
        return "—"
    return f"{t:.3g} s" if t < 100 else f"{t:.0f} s"


def table(results, rates):
    lines = [
        "| scenario | tool | run | time | ours is x faster | limit | time / limit | notes |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in SCENARIOS:
        r = results.get(name)
        if r is None:
            continue
        if "error" in r:
            lines.append(f"| {name} | not measured: {r['error']} | | | | | | |")
            continue
        ours_t = next((row["time"] for row in r["rows"] if row["tool"] == r["ours"]), None)
        lim = (
            limit_seconds(r["gemm_flops"], r["fft_flops"], rates)
            if r.get("gemm_flops") is not None
            else None
        )
        for row in r["rows"]:
            is_ours = row["tool"] == r["ours"]
            ratio = "" if row["ours"] or ours_t is None else f"{row['time'] / ours_t:.1f}x"
            time_text = fmt_s(row["time"]) + (" (extrap.)" if row["extrapolated"] else "")
            tool = f"**{row['tool']}**" if is_ours else row["tool"]
            lim_text = fmt_s(lim) if is_ours and lim else ""
            over = f"{row['time'] / lim:.1f}x" if is_ours and lim else ""
            note = row["note"].replace("|", "\\|")  # a table cell
            lines.append(
                f"| {name} | {tool} | {row['measured']} | {time_text} | {ratio} | "
                f"{lim_text} | {over} | {note} |"
            )
    return lines


def sizes(results):
    """One line per scenario: what it computes, at which size."""
    out = []
    for name in SCENARIOS:
        r = results.get(name)
        if r and "error" not in r:
            out.append(f"- **{name}**: {r['rows'][0]['size']}.")
    return out


def targets(results):
    out = []
    for name in SCENARIOS:
        r = results.get(name)
        if not r or "error" in r:
            continue
        ours = next(row for row in r["rows"] if row["tool"] == r.get("target_tool", r["ours"]))
        text = f"{name}: {fmt_s(ours['time'])} ({r['target']})"
        if name == "morlet":
            peer = next((row for row in r["rows"] if "cwt_morlet" in row["tool"]), None)
            if peer:
                text += f"; {peer['time'] / ours['time']:.1f}x faster than cwt_morlet"
            text += (
                f"; products {fmt_s(r['products_s'])} vs the same batched GEMMs "
                f"{fmt_s(r['gemm_same_shapes_s'])} = "
                f"{r['products_s'] / r['gemm_same_shapes_s']:.1f}x"
            )
        if name == "demo":
            rep = r["rows"][1]["time"]
            text += f"; report {fmt_s(rep)}; peak {r['peak_mib']:.0f} MiB"
        if name == "S2":
            text += f"; peak {r['peak_mib']:.0f} MiB"
        ok = None
        if r.get("target_s") is not None and name != "morlet":
            ok = ours["time"] <= r["target_s"]
        mark = "" if ok is None else ("[met] " if ok else "[missed] ")
        out.append(f"- {mark}{text}")
    return out


def write_results(path, results, rates, mach, load0, load1, started, args):
    today = datetime.date.today().isoformat()
    t = rates["threads"]
    lines = [
        "# Benchmark results",
        "",
        "Written by `python benchmarks/run_all.py` (every scenario, its peers and the machine's "
        "limits); earlier runs of the single scripts follow below the line.",
        "",
        f"## {today} — `run_all.py{' --quick' if args.quick else ''}` on {mach['cpu']}, "
        f"{mach['usable_cpus']} cores",
        "",
        f"Machine: {mach['cpu']}, {mach['logical_cpus']} logical CPUs ({mach['usable_cpus']} "
        f"usable), {mach['memory_gib']:.1f} GiB; {mach['platform']}; Python {mach['python']}, "
        f"numpy {mach['numpy']}, scipy {mach['scipy']}, mne {mach['mne']}, mne-connectivity "
        f"{mach['mne_connectivity']}, HyPyP {mach['hypyp'] or 'not installed'}, numba "
        f"{mach['numba'] or 'not installed'}; hyperinsync {mach['hyperinsync']} (commit "
        f"{mach['commit']}); thread pools: {mach['pools']}.",
        "",
        f"**Load**: {load0[0]:.1f} / {load0[1]:.1f} / {load0[2]:.1f} (1 / 5 / 15 min) at the "
        f"start, {load1[0]:.1f} / {load1[1]:.1f} / {load1[2]:.1f} at the end, on "
        f"{mach['usable_cpus']} cores."
        + (
            " **The machine was shared and loaded while this ran**: other processes competed "
            "for the cores and memory bandwidth, so times are longer than on an idle machine "
            "and ratios between tools, measured in the same process "
            "minutes apart, are the comparable figures."
            if load0[0] > 0.5 * mach["usable_cpus"] or load1[0] > 0.5 * mach["usable_cpus"]
            else " The machine was otherwise idle."
        ),
        "",
        f"**Machine rates** (complex64, best of 3): GEMM {rates['gemm_1']:.0f} GFLOP/s on 1 "
        f"thread, {rates[f'gemm_{t}']:.0f} on {t}; batched 32 x 900 @ 900 x 32 "
        f"{rates['batched_gemm_1']:.0f} / {rates[f'batched_gemm_{t}']:.0f}; FFT (4096 points) "
        f"{rates['fft_1']:.1f} / {rates[f'fft_{t}']:.1f} GFLOP/s. *limit* = a scenario's "
        "complex multiply-adds (8 flops each) at the best GEMM rate plus its FFTs "
        "(5 n log2 n, half for real transforms) at the best FFT rate: the least time this "
        "machine needs, memory traffic not counted.",
        "",
        "**Scenarios**:",
        "",
        *sizes(results),
        "",
        *table(results, rates),
        "",
        "Peers slower than ours ran on a subset of epochs or pairs and were scaled linearly "
        '("extrap."). Medians of '
        f"{args.repeats} runs unless stated.",
        "",
        "**Against the targets of issue 16**:",
        "",
        *targets(results),
        "",
        f"Total {time.perf_counter() - started:.0f} s.",
        "",
        MARKER,
        "",
    ]
    earlier = ""
    if path.exists():
        old = path.read_text()
        earlier = old.split(MARKER, 1)[1] if MARKER in old else old.split("\n", 1)[1]
    path.write_text("\n".join(lines) + earlier.lstrip("\n"))


# ----------------------------------------------------------------------------- main
def child(name, args, out_json):
    try:
        result = RUN[name](args)
    except Exception as err:  # reported in the table; the other scenarios still run
        import traceback

        traceback.print_exc()
        result = dict(error=f"{type(err).__name__}: {err}"[:200])
    Path(out_json).write_text(json.dumps(result, default=float))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="small sizes: does everything run?")
    p.add_argument(
        "--only",
        default=",".join(SCENARIOS),
        help=f"comma-separated scenarios among {', '.join(SCENARIOS)}",
    )
    p.add_argument("--repeats", type=int, default=3, help="repeats per timing (median)")
    p.add_argument("--threads", type=int, default=2, help="threads where a scenario takes them")
    p.add_argument(
        "--timeout",
        type=float,
        default=3600.0,
        help="seconds a scenario may run before it is stopped and reported",
    )
    p.add_argument("--workdir", default=None, help="where S2 writes its FIF file")
    p.add_argument("--out", default=str(HERE / "RESULTS.md"), help="the results file")
    p.add_argument("--json", default=None, help="also write the raw results here (JSON)")
    p.add_argument("--_child", default=None, help=argparse.SUPPRESS)
    p.add_argument("--_json", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args._child:
        child(args._child, args, args._json)
        return 0
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = sorted(set(names) - set(SCENARIOS))
    if unknown:
        p.error(f"unknown scenario(s) {unknown}; choose among {SCENARIOS}")
    started = time.perf_counter()
    load0 = os.getloadavg()
    mach = machine()
    print(f"# {mach['cpu']}, {mach['usable_cpus']} cores, load {load0[0]:.1f}")
    rates = measure_rates(args.quick)
    print("# rates (GFLOP/s): " + ", ".join(f"{k} {v:.1f}" for k, v in rates.items()))
    results = {}
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        env[var] = str(args.threads)
    for name in names:
        print(f"\n=== {name} ===", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            out_json = Path(tmp) / "r.json"
            cmd = [
                sys.executable,
                __file__,
                "--_child",
                name,
                "--_json",
                str(out_json),
                "--repeats",
                str(args.repeats),
                "--threads",
                str(args.threads),
            ]
            cmd += ["--quick"] if args.quick else []
            cmd += ["--workdir", args.workdir] if args.workdir else []
            t0 = time.perf_counter()
            try:
                # the demo as a user runs it: joblib sizes its workers' thread pools itself
                # (a thread count set here would run 2 BLAS threads in each of 2 workers)
                run_env = dict(os.environ) if name == "demo" else env
                subprocess.run(cmd, env=run_env, check=False, timeout=args.timeout)
                results[name] = (
                    json.loads(out_json.read_text())
                    if out_json.exists()
                    else dict(error="the scenario's process died")
                )
            except subprocess.TimeoutExpired:
                results[name] = dict(error=f"stopped after {args.timeout:.0f} s")
            print(f"=== {name}: {time.perf_counter() - t0:.0f} s", flush=True)
    load1 = os.getloadavg()
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                dict(results=results, rates=rates, machine=mach, load0=load0, load1=load1),
                default=float,
            )
        )
    lines = sizes(results) + [""] + table(results, rates) + [""] + targets(results)
    print("\n" + "\n".join(lines))
    write_results(Path(args.out), results, rates, mach, load0, load1, started, args)
    print(f"\nwritten: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
