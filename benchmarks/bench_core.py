"""Speed of the synchrony core (``compute_sync``) against its peers, convention by convention.

Everything runs in one process on the same simulated input (``simulate_dyad``), except the
large scenario's own runs, which each run in a fresh subprocess so that their peak memory
(``ru_maxrss``) is theirs alone.

Scenarios
---------
S1  therapy session: 2 x 32 channels, 500 Hz, 30 min (900 two-second epochs), theta + alpha,
    PLV + coherence, inter-brain pairs (32 x 32).
S2  large: 2 x 64 channels, 1000 Hz, 60 min, read lazily from a float32 FIF file (ours:
    time + peak memory; peers on a subset of epochs, extrapolated linearly).

Comparisons
-----------
within-epoch  ours ``compute_sync(raw, convention='within')`` (method 'fft', end to end) vs
              HyPyP ``compute_freq_bands`` + ``compute_sync`` (numpy and numba) and
              mne-connectivity ``spectral_connectivity_time`` (cwt_morlet, multitaper).
across-epochs ours ``compute_sync(epochs, convention='across')`` (morlet and fft) vs
              mne-connectivity ``spectral_connectivity_epochs`` (multitaper, cwt_morlet).

Slow peers run on a subset of epochs; their time is extrapolated linearly to all epochs (their
cost is linear in the number of epochs) and both figures are printed. Each comparison prints a
correctness cross-check (ours with the peer's own estimator vs the peer on the same epochs), so
that the timings compare the same computation.

GPU (``--backend cupy``): ours only, on S1 (or its ``--quick`` size), each case warm (run
once first), with its host/device transfers and its largest difference from NumPy on the same
input (:mod:`gpu_common`; ``--json`` appends the rows for ``benchmarks/gpu_check.sh``).

Usage::

    python benchmarks/bench_core.py --quick            # < 1 min: does the script run?
    python benchmarks/bench_core.py --scenario S1 --repeats 5
    python benchmarks/bench_core.py --scenario S2 --workdir /data/tmp
    python benchmarks/bench_core.py --scenario S1 --backend cupy --json rows.jsonl
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

BANDS = {"theta": (4.0, 8.0), "alpha": (8.0, 13.0)}
MEASURES = ["plv", "coh"]
EPOCH_S = 2.0
# 7 cycles at 4 Hz make a 2.8 s wavelet, longer than a 2 s epoch (MNE and ours refuse it)
N_CYCLES = 5.0
CWT_FREQS = np.arange(4.0, 14.0)  # 1 Hz steps covering both bands, edges included


@dataclass
class Size:
    """One scenario's size."""

    name: str
    n_ch: int  # per person
    sfreq: float
    duration: float  # s
    subset: int  # epochs for slow peers
    montage: str

    @property
    def n_epochs(self):
        return int(self.duration // EPOCH_S)


SIZES = {
    "S1": Size("S1", 32, 500.0, 1800.0, 60, "standard-32"),
    "S2": Size("S2", 64, 1000.0, 3600.0, 10, "standard-64"),
}
QUICK = {
    "S1": Size("S1", 32, 500.0, 60.0, 6, "standard-32"),
    "S2": Size("S2", 64, 1000.0, 120.0, 2, "standard-64"),
}


@dataclass
class Row:
    """One line of the results table."""

    scenario: str
    convention: str
    tool: str
    n_measured: int  # epochs actually run
    n_total: int  # epochs of the scenario
    times: list
    ref: str | None = None  # name of the row it is compared with ("ours" rows: None)
    note: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def median(self):
        return float(np.median(self.times))

    @property
    def full(self):
        """Median time extrapolated linearly to all epochs."""
        return self.median * self.n_total / self.n_measured

    @property
    def extrapolated(self):
        return self.n_measured != self.n_total


# ----------------------------------------------------------------------------- helpers
def machine_header():
    """Platform, CPU, library versions and BLAS threads."""
    import mne
    import scipy

    lines = [
        f"python {platform.python_version()} on {platform.platform()}",
        f"CPUs: {os.cpu_count()} ({platform.processor() or platform.machine()}), "
        f"load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}",
    ]
    try:
        import psutil

        lines.append(f"memory: {psutil.virtual_memory().total / 2**30:.1f} GiB")
    except ImportError:
        pass
    vers = {"numpy": np.__version__, "scipy": scipy.__version__, "mne": mne.__version__}
    for mod in ("mne_connectivity", "hypyp", "numba", "hyperinsync"):
        try:
            vers[mod] = __import__(mod).__version__
        except Exception as exc:  # a peer that does not import is reported, not fatal
            vers[mod] = f"unavailable ({type(exc).__name__})"
    lines.append(", ".join(f"{k} {v}" for k, v in vers.items()))
    try:
        from threadpoolctl import threadpool_info

        pools = [
            f"{p['internal_api']} {p.get('version', '')} x{p['num_threads']}"
            for p in threadpool_info()
        ]
        lines.append("thread pools: " + ("; ".join(pools) or "none"))
    except ImportError:
        lines.append("thread pools: threadpoolctl not installed")
    try:
        import numba

        lines.append(f"numba threads: {numba.get_num_threads()}")
    except ImportError:
        pass
    return lines


def timed(fn, repeats):
    """Run ``fn`` ``repeats`` times; return its last output and the wall times."""
    times, out = [], None
    for _ in range(repeats):
        out = None
        gc.collect()
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, times


def fmt_s(t):
    return f"{t:.3g} s" if t < 100 else f"{t:.0f} s"


def log(msg=""):
    print(msg, flush=True)


def split_roles(inst):
    """Channel indices of person A and of person B."""
    from hyperinsync.dyad import get_roles, role_picks

    return [role_picks(inst, r) for r in get_roles(inst)]


def inter_indices(pa, pb):
    """mne-connectivity ``indices`` for every A x B pair, row-major as ours."""
    return np.repeat(pa, len(pb)), np.tile(pb, len(pa))


def maxdiff(a, b):
    return float(np.max(np.abs(np.asarray(a, float) - np.asarray(b, float))))


def pearson(a, b):
    return float(np.corrcoef(np.ravel(a), np.ravel(b))[0, 1])


# ----------------------------------------------------------------------------- peers
def hypyp_run(data_ab, sfreq, optimization):
    """HyPyP's pipeline on ``(2, E, n, T)``: band signals, then PLV and coh per epoch."""
    from hypyp.analyses import compute_freq_bands, compute_sync

    cs = compute_freq_bands(data_ab, sfreq, {k: list(v) for k, v in BANDS.items()})
    return {
        m: compute_sync(cs, m, epochs_average=False, optimization=optimization) for m in MEASURES
    }


def hypyp_sync_only(cs, optimization):
    from hypyp.analyses import compute_sync

    return {
        m: compute_sync(cs, m, epochs_average=False, optimization=optimization) for m in MEASURES
    }


def hypyp_numba_ok():
    """Whether HyPyP's PLV and coh really dispatch to numba (no silent numpy fallback)."""
    try:
        from hypyp.sync import get_metric

        return all(get_metric(m, optimization="numba")._backend == "numba" for m in MEASURES)
    except Exception:
        return False


def mnec_time(data, sfreq, indices, mode):
    """mne-connectivity ``spectral_connectivity_time`` per epoch, band-averaged."""
    from mne_connectivity import spectral_connectivity_time

    fmin = tuple(b[0] for b in BANDS.values())
    fmax = tuple(b[1] for b in BANDS.values())
    cons = spectral_connectivity_time(
        data,
        CWT_FREQS,
        method=MEASURES,
        average=False,
        indices=indices,
        sfreq=sfreq,
        fmin=fmin,
        fmax=fmax,
        faverage=True,
        mode=mode,
        n_cycles=N_CYCLES,
        n_jobs=1,
        verbose=False,
    )
    # each: (n_epochs, n_cons, n_bands)
    return {m: c.get_data() for m, c in zip(MEASURES, cons)}


def mnec_time_bands():
    """Return the frequencies ``spectral_connectivity_time(faverage=True)`` really averages.

    mne-connectivity 0.9's ``_foi_average`` does ``f_e += 1 if f_s == f_e else f_e``: a band
    whose edges fall on different frequencies averages indices ``f_s : 2 * f_e`` (end
    excluded), e.g. 4-11 Hz for theta (4-8 Hz) on a 4-13 Hz grid. Reproduced here for the
    correctness check only.
    """
    out = {}
    for name, (lo, hi) in BANDS.items():
        f_s = int(np.argmin(np.abs(CWT_FREQS - lo)))
        f_e = int(np.argmin(np.abs(CWT_FREQS - hi)))
        f_e = f_e + 1 if f_s == f_e else 2 * f_e
        used = CWT_FREQS[f_s:f_e]
        out[name] = (float(used[0]), float(used[-1]))
    return out


def mnec_epochs(data, sfreq, indices, mode):
    """mne-connectivity ``spectral_connectivity_epochs`` (across epochs), band-averaged."""
    from mne_connectivity import spectral_connectivity_epochs

    kw = dict(cwt_freqs=CWT_FREQS, cwt_n_cycles=N_CYCLES) if mode == "cwt_morlet" else {}
    cons = spectral_connectivity_epochs(
        data,
        method=MEASURES,
        indices=indices,
        sfreq=sfreq,
        mode=mode,
        fmin=tuple(b[0] for b in BANDS.values()),
        fmax=tuple(b[1] for b in BANDS.values()),
        faverage=True,
        n_jobs=1,
        verbose=False,
        **kw,
    )
    # multitaper: (n_cons, n_bands); cwt_morlet: (n_cons, n_bands, n_times)
    return {m: c.get_data() for m, c in zip(MEASURES, cons)}


# ----------------------------------------------------------------------------- S1-like
def make_input(size, seed=0):
    from hyperinsync import simulate_dyad

    t0 = time.perf_counter()
    raw, _ = simulate_dyad(
        duration=size.duration,
        sfreq=size.sfreq,
        montage=size.montage,
        seed=seed,
        verbose=False,
    )
    log(
        f"input: simulate_dyad {2 * size.n_ch} ch x {raw.n_times} samples "
        f"({size.duration / 60:g} min at {size.sfreq:g} Hz) in "
        f"{time.perf_counter() - t0:.1f} s"
    )
    return raw


def run_within_peers(size, epochs, pa, pb, repeats, rows, ours_ref, do_checks=True):
    """HyPyP (numpy, numba) and spectral_connectivity_time on a subset of the epochs."""
    from hyperinsync import compute_sync

    n_sub = min(size.subset, len(epochs))
    sub = epochs[:n_sub]
    data = sub.get_data()
    data_ab = np.stack([data[:, pa], data[:, pb]])
    n_tot = size.n_epochs
    sf = size.sfreq
    na = len(pa)
    log(f"\n  [within] peers on {n_sub} of {n_tot} epochs (extrapolated x{n_tot / n_sub:g})")

    # HyPyP numpy: end to end, and its two stages separately
    from hypyp.analyses import compute_freq_bands

    cs, t_fb = timed(lambda: compute_freq_bands(data_ab, sf, dict(BANDS)), repeats)
    hyp_np, t_np = timed(lambda: hypyp_sync_only(cs, None), repeats)
    rows.append(
        Row(
            size.name,
            "within",
            "HyPyP numpy (freq_bands + sync)",
            n_sub,
            n_tot,
            [a + b for a, b in zip(t_fb, t_np)],
            ours_ref,
            f"band signals {fmt_s(np.median(t_fb))}, sync {fmt_s(np.median(t_np))}; "
            f"{2 * na}x{2 * na} pairs",
        )
    )
    if hypyp_numba_ok():
        hypyp_sync_only(cs[:, :1], "numba")  # JIT compile (or load cache) outside the timing
        hyp_nb, t_nb = timed(lambda: hypyp_sync_only(cs, "numba"), repeats)
        rows.append(
            Row(
                size.name,
                "within",
                "HyPyP numba (freq_bands + sync)",
                n_sub,
                n_tot,
                [a + b for a, b in zip(t_fb, t_nb)],
                ours_ref,
                f"sync {fmt_s(np.median(t_nb))} after JIT warm-up; {2 * na}x{2 * na} pairs",
            )
        )
    else:
        hyp_nb = None
        log("  HyPyP numba: not available (numba missing or no numba kernel for plv/coh)")

    idx = inter_indices(pa, pb)
    mc = {}
    for mode in ("cwt_morlet", "multitaper"):
        mc[mode], t_mc = timed(lambda: mnec_time(data, sf, idx, mode), repeats)
        rows.append(
            Row(
                size.name,
                "within",
                f"mne-conn spectral_connectivity_time {mode}",
                n_sub,
                n_tot,
                t_mc,
                ours_ref,
                f"{len(CWT_FREQS)} freqs, n_cycles={N_CYCLES:g}, faverage",
            )
        )

    if not do_checks:
        return
    # ours with HyPyP's estimator (MNE FIR + Hilbert, every sample) must equal HyPyP
    log("  correctness (same epochs):")
    ours_fir = compute_sync(
        sub,
        BANDS,
        MEASURES,
        method="mne_fir",
        convention="within",
        decim=1,
        precision="double",
        verbose=False,
    )
    for mi, m in enumerate(MEASURES):
        ref = hyp_np[m][:, :, :na, na:]  # (bands, E, A, B)
        log(
            f"    ours mne_fir vs HyPyP numpy, {m}: max |diff| = "
            f"{maxdiff(ours_fir.epoch_data[mi], ref):.2e}"
        )
        if hyp_nb is not None:
            log(
                f"    HyPyP numba vs HyPyP numpy, {m}: max |diff| = "
                f"{maxdiff(hyp_nb[m], hyp_np[m]):.2e}"
            )
    # spectral_connectivity_time averages other frequencies than the bands it is given
    # (see mnec_time_bands); ours is run on those, so the check compares like with like
    eff = mnec_time_bands()
    log(f"    (spectral_connectivity_time with faverage averages {eff}, not {dict(BANDS)})")
    ours_mor = compute_sync(
        sub,
        eff,
        MEASURES,
        method="morlet",
        convention="within",
        decim=1,
        n_cycles=N_CYCLES,
        freq_step=1.0,
        precision="double",
        verbose=False,
    )
    for mi, m in enumerate(MEASURES):
        theirs = mc["cwt_morlet"][m]  # (E, cons, bands)
        theirs = theirs.transpose(2, 0, 1).reshape(ours_mor.epoch_data[mi].shape)
        log(
            f"    ours morlet vs spectral_connectivity_time cwt_morlet, {m}: max |diff| = "
            f"{maxdiff(ours_mor.epoch_data[mi], theirs):.2e} (theirs: non-zero-mean wavelets)"
        )
    # the benchmarked fft filter is a different (but equivalent-band) estimator: context only
    ours_fft = compute_sync(
        sub, BANDS, MEASURES, method="fft", convention="within", decim=1, verbose=False
    )
    for mi, m in enumerate(MEASURES):
        ref = hyp_np[m][:, :, :na, na:]
        d = np.abs(ours_fft.epoch_data[mi] - ref)
        log(
            f"    ours fft vs HyPyP (different filter; context), {m}: mean |diff| = "
            f"{d.mean():.3f}, r over pairs x epochs = {pearson(ours_fft.epoch_data[mi], ref):.3f}"
        )


def run_s1(size, repeats, rows, profile=False):
    from hyperinsync import compute_sync

    log(
        f"\n=== {size.name}: 2 x {size.n_ch} ch, {size.sfreq:g} Hz, {size.duration / 60:g} min, "
        f"{size.n_epochs} epochs of {EPOCH_S:g} s, {', '.join(BANDS)}, {', '.join(MEASURES)} ==="
    )
    raw = make_input(size)
    pa, pb = split_roles(raw)
    na = len(pa)

    # ---------------------------------------------------------------- within
    call = lambda pairs: compute_sync(  # noqa: E731
        raw, BANDS, MEASURES, method="fft", convention="within", pairs=pairs, verbose=False
    )
    call("inter")  # warm-up: imports, FFT plans
    res, t = timed(lambda: call("inter"), repeats)
    rows.append(
        Row(
            size.name,
            "within",
            "ours compute_sync(raw) fft",
            size.n_epochs,
            size.n_epochs,
            t,
            None,
            f"{na}x{na} inter pairs, decim={res.params['decim']}",
        )
    )
    ours_within = rows[-1].tool
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        threadpool_limits = None
    if threadpool_limits is not None:
        # small batched complex matmuls: OpenBLAS threads cost more than they bring
        def one_thread():
            with threadpool_limits(limits=1, user_api="blas"):
                return call("inter")

        _, t = timed(one_thread, repeats)
        rows.append(
            Row(
                size.name,
                "within",
                "ours compute_sync(raw) fft, BLAS 1 thread",
                size.n_epochs,
                size.n_epochs,
                t,
                None,
                "same call inside threadpoolctl.threadpool_limits(1, 'blas')",
            )
        )
    _, t = timed(lambda: call("all"), repeats)
    rows.append(
        Row(
            size.name,
            "within",
            "ours compute_sync(raw) fft, pairs='all'",
            size.n_epochs,
            size.n_epochs,
            t,
            None,
            f"{2 * na}x{2 * na} pairs, as HyPyP computes",
        )
    )
    if profile:
        import cProfile
        import pstats

        pr = cProfile.Profile()
        pr.enable()
        call("inter")
        pr.disable()
        log("\n  cProfile of ours (within, fft, raw), top 15 by cumulative time:")
        pstats.Stats(pr, stream=sys.stdout).sort_stats("cumulative").print_stats(15)

    t0 = time.perf_counter()
    epochs = raw.make_epochs(duration=EPOCH_S, verbose=False)
    log(
        f"  epochs: {len(epochs)} x {epochs.get_data().shape[1:]} made in "
        f"{time.perf_counter() - t0:.1f} s"
    )
    ep_call = lambda: compute_sync(  # noqa: E731
        epochs,
        BANDS,
        MEASURES,
        method="fft",
        convention="within",
        verbose=False,
    )
    _, t = timed(ep_call, repeats)
    rows.append(
        Row(
            size.name,
            "within",
            "ours compute_sync(epochs) fft",
            size.n_epochs,
            size.n_epochs,
            t,
            None,
            "per-epoch filtering with padding, as peers",
        )
    )
    run_within_peers(size, epochs, pa, pb, repeats, rows, ours_within)

    # ---------------------------------------------------------------- across
    run_across(size, epochs, pa, pb, repeats, rows)
    return raw


def run_across(size, epochs, pa, pb, repeats, rows):
    from hyperinsync import compute_sync

    sf = size.sfreq
    n_tot = len(epochs)
    log(f"\n  [across] {n_tot} epochs")
    # decim must be explicit: 'auto' picks a different grid per band, which 'across' refuses
    q = 5
    variants = [
        ("ours compute_sync(epochs) morlet, decim=1", dict(method="morlet", decim=1)),
        (f"ours compute_sync(epochs) morlet, decim={q}", dict(method="morlet", decim=q)),
        (f"ours compute_sync(epochs) fft, decim={q}", dict(method="fft", decim=q)),
    ]
    for name, kw in variants:
        fn = lambda kw=kw: compute_sync(  # noqa: E731
            epochs,
            BANDS,
            MEASURES,
            convention="across",
            n_cycles=N_CYCLES,
            verbose=False,
            **kw,
        )
        _, t = timed(fn, repeats)
        rows.append(
            Row(
                size.name,
                "across",
                name,
                n_tot,
                n_tot,
                t,
                None,
                f"n_cycles={N_CYCLES:g}" if kw["method"] == "morlet" else "band filter",
            )
        )
    ref_morlet, ref_fft = variants[0][0], variants[2][0]

    idx = inter_indices(pa, pb)
    data = epochs.get_data()
    mt, t = timed(lambda: mnec_epochs(data, sf, idx, "multitaper"), repeats)
    rows.append(
        Row(
            size.name,
            "across",
            "mne-conn spectral_connectivity_epochs multitaper",
            n_tot,
            n_tot,
            t,
            ref_fft,
            "one value per band (no time axis)",
        )
    )
    n_sub = min(size.subset, n_tot)
    sub = data[:n_sub]
    cw, t = timed(lambda: mnec_epochs(sub, sf, idx, "cwt_morlet"), repeats)
    rows.append(
        Row(
            size.name,
            "across",
            "mne-conn spectral_connectivity_epochs cwt_morlet",
            n_sub,
            n_tot,
            t,
            ref_morlet,
            f"{len(CWT_FREQS)} freqs, n_cycles={N_CYCLES:g}, per time point",
        )
    )

    log("  correctness (same epochs):")
    ours = compute_sync(
        epochs[:n_sub],
        BANDS,
        MEASURES,
        method="morlet",
        convention="across",
        decim=1,
        n_cycles=N_CYCLES,
        precision="double",
        verbose=False,
    )
    for mi, m in enumerate(MEASURES):
        theirs = cw[m]  # (cons, bands, times) -> (bands, times, A, B)
        theirs = theirs.reshape(len(pa), len(pb), len(BANDS), -1).transpose(2, 3, 0, 1)
        log(
            f"    ours morlet/across vs spectral_connectivity_epochs cwt_morlet ({n_sub} "
            f"epochs), {m} per time point: max |diff| = {maxdiff(ours.time_data[mi], theirs):.2e}"
        )
    ours_fft = compute_sync(
        epochs, BANDS, MEASURES, method="fft", convention="across", decim=q, verbose=False
    )
    for mi, m in enumerate(MEASURES):
        theirs = mt[m].reshape(len(pa), len(pb), len(BANDS)).transpose(2, 0, 1)
        log(
            f"    ours fft/across vs multitaper (different estimators; context), {m}: "
            f"mean ours {ours_fft.data[mi].mean():.3f} vs theirs {theirs.mean():.3f}, "
            f"r over pairs = {pearson(ours_fft.data[mi], theirs):.3f}"
        )


# ----------------------------------------------------------------------------- GPU
def run_gpu(size, repeats, json_path):
    """Ours on the GPU, warm, against NumPy on the same input (no peers: they run on CPUs)."""
    from gpu_common import gpu_case

    from hyperinsync import compute_sync

    log(
        f"\n=== {size.name} on the GPU: 2 x {size.n_ch} ch, {size.sfreq:g} Hz, "
        f"{size.duration / 60:g} min, {', '.join(BANDS)}, {', '.join(MEASURES)} ==="
    )
    raw = make_input(size)
    epochs = raw.make_epochs(duration=EPOCH_S, verbose=False)
    full = size.duration >= SIZES[size.name].duration
    cases = [
        ("compute_sync(raw) fft within", raw, 0.2 if full and size.name == "S1" else None, dict()),
        ("compute_sync(raw) fft within, pairs='all'", raw, None, dict(pairs="all")),
        ("compute_sync(epochs) fft within", epochs, None, dict()),
        (
            "compute_sync(epochs) fft across, decim=5",
            epochs,
            None,
            dict(convention="across", decim=5),
        ),
        (
            "compute_sync(epochs) morlet across, decim=5",
            epochs,
            None,
            dict(convention="across", method="morlet", decim=5, n_cycles=N_CYCLES),
        ),
    ]
    for name, inst, target, kw in cases:

        def run(backend, inst=inst, kw=kw, **extra):
            return compute_sync(
                inst, BANDS, MEASURES, backend=backend, verbose=False, **kw, **extra
            )

        def outputs(res):
            per = res.epoch_data if res.epoch_data is not None else res.time_data
            return {"values": res.data, "per epoch/time": per}

        gpu_case(
            "bench_core",
            f"{size.name} {name}",
            run,
            outputs,
            repeats=repeats,
            target=target,
            json_path=json_path,
            numpy_kwargs=dict(n_jobs=os.cpu_count()),
        )


# ----------------------------------------------------------------------------- S2
def write_large_fif(size, fname, piece_s=300.0):
    """Simulate the recording piece by piece into one float32 FIF file (never whole in RAM)."""
    import mne

    from hyperinsync import simulate_dyad

    tmpdir = os.path.dirname(fname)
    t0 = time.perf_counter()
    pieces = []
    n_pieces = int(np.ceil(size.duration / piece_s))
    for i in range(n_pieces):
        dur = min(piece_s, size.duration - i * piece_s)
        raw, _ = simulate_dyad(
            duration=dur, sfreq=size.sfreq, montage=size.montage, seed=i, verbose=False
        )
        p = os.path.join(tmpdir, f"piece{i:03d}_raw.fif")
        raw.save(p, fmt="single", overwrite=True, verbose=False)
        pieces.append(p)
        del raw
    # stream the pieces into one file; concatenation marks the joins as BAD boundaries,
    # which would drop epochs: the pieces are one continuous simulated recording here
    cat = mne.concatenate_raws(
        [mne.io.read_raw_fif(p, preload=False, verbose=False) for p in pieces], verbose=False
    )
    cat.set_annotations(None)
    cat.save(fname, fmt="single", overwrite=True, verbose=False)
    del cat
    for p in pieces:
        os.remove(p)
    log(
        f"input: wrote {os.path.getsize(fname) / 2**30:.2f} GiB float32 FIF "
        f"({n_pieces} simulated pieces of {piece_s:g} s) in {time.perf_counter() - t0:.0f} s"
    )


def peak_rss_mib():
    """Peak resident memory of this process image, in MiB.

    ``/proc/self/status`` VmHWM belongs to the process image: ``ru_maxrss`` would also count
    the parent's peak, which a child inherits across fork + exec on Linux.
    """
    try:
        with open("/proc/self/status") as fid:
            for line in fid:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def child_main(spec):
    """Run one measurement in this (fresh) process and print JSON: time and peak memory."""
    import mne

    from hyperinsync import compute_sync

    raw = mne.io.read_raw_fif(spec["fname"], preload=False, verbose=False)
    base = peak_rss_mib()
    t0 = time.perf_counter()
    res = compute_sync(
        raw,
        BANDS,
        MEASURES,
        method=spec["method"],
        convention="within",
        max_bytes=spec["max_bytes"],
        verbose=False,
    )
    dt = time.perf_counter() - t0
    peak = peak_rss_mib()
    print(
        json.dumps(
            dict(
                time=dt,
                base_mib=base,
                peak_mib=peak,
                n_epochs=res.n_epochs,
                decim=res.params["decim"],
                shape=list(res.data.shape),
            )
        )
    )


def run_child(spec):
    out = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--_child", json.dumps(spec)],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode:
        raise RuntimeError(f"child failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_s2(size, repeats, rows, workdir, keep):
    import mne

    log(
        f"\n=== {size.name}: 2 x {size.n_ch} ch, {size.sfreq:g} Hz, {size.duration / 60:g} min, "
        f"{size.n_epochs} epochs of {EPOCH_S:g} s, {', '.join(BANDS)}, {', '.join(MEASURES)} ==="
    )
    made = workdir is None
    workdir = workdir or tempfile.mkdtemp(prefix="hyperinsync-bench-")
    os.makedirs(workdir, exist_ok=True)
    fname = os.path.join(workdir, f"s2_{size.n_ch}ch_{size.sfreq:g}Hz_{size.duration:g}s_raw.fif")
    try:
        if os.path.exists(fname):
            log(f"input: reusing {fname}")
        else:
            write_large_fif(size, fname)
        spec = dict(fname=fname, method="fft", max_bytes=256e6)
        results = [run_child(spec) for _ in range(repeats)]
        r0 = results[0]
        peak = max(r["peak_mib"] for r in results)
        base = max(r["base_mib"] for r in results)
        rows.append(
            Row(
                size.name,
                "within",
                "ours compute_sync(raw, preload=False) fft",
                r0["n_epochs"],
                size.n_epochs,
                [r["time"] for r in results],
                None,
                f"fresh process each; peak RSS {peak:.0f} MiB "
                f"(after imports + lazy open: {base:.0f} MiB); decim={r0['decim']}",
                extra=dict(peak_mib=peak, base_mib=base),
            )
        )
        ours_ref = rows[-1].tool
        log(f"  ours: {fmt_s(rows[-1].median)} median of {repeats}, peak RSS {peak:.0f} MiB")

        # peers on a few epochs of the same file
        raw = mne.io.read_raw_fif(fname, preload=False, verbose=False)
        n_sub = min(size.subset, size.n_epochs)
        raw_sub = raw.copy().crop(0, n_sub * EPOCH_S, include_tmax=False).load_data()
        from hyperinsync import as_dyad

        epochs = as_dyad(
            mne.make_fixed_length_epochs(raw_sub, duration=EPOCH_S, preload=True, verbose=False),
            verbose=False,
        )
        pa, pb = split_roles(epochs)
        run_within_peers(size, epochs, pa, pb, repeats, rows, ours_ref, do_checks=False)
    finally:
        if not keep and made:
            shutil.rmtree(workdir, ignore_errors=True)
        elif not keep and os.path.exists(fname):
            os.remove(fname)


# ----------------------------------------------------------------------------- report
def print_table(rows):
    by_tool = {(r.scenario, r.tool): r for r in rows}
    log("\n## Results (medians; extrapolated = measured subset x n_total / n_measured)\n")
    log(
        "| scen. | convention | tool | epochs run | median (run) | time for all epochs "
        "| ours is x faster | notes |"
    )
    log("|---|---|---|---|---|---|---|---|")
    for r in rows:
        full = f"{fmt_s(r.full)}" + (" (extrap.)" if r.extrapolated else "")
        ratio = ""
        if r.ref is not None:
            ours = by_tool[(r.scenario, r.ref)]
            ratio = f"{r.full / ours.full:.1f}x vs {r.ref.replace('ours compute_sync', 'ours')}"
        log(
            f"| {r.scenario} | {r.convention} | {r.tool} | {r.n_measured}/{r.n_total} | "
            f"{fmt_s(r.median)} (n={len(r.times)}) | {full} | {ratio} | {r.note} |"
        )


def print_targets(rows):
    by = {(r.scenario, r.tool): r for r in rows}
    log("\n## Targets (2-core CPU)")

    def ratio(scen, peer, ours):
        if (scen, peer) in by and (scen, ours) in by:
            return by[(scen, peer)].full / by[(scen, ours)].full
        return None

    def line(ok, text):
        log(f"- [{'PASS' if ok else 'MISS'}] {text}")

    ow = "ours compute_sync(raw) fft"
    if ("S1", ow) in by:
        t = by[("S1", ow)].median
        line(t < 2.0, f"S1 end to end {fmt_s(t)} (target < 2 s, aim 1 s)")
    checks = [
        ("HyPyP numpy (freq_bands + sync)", 50, "within"),
        ("HyPyP numba (freq_bands + sync)", 5, "within"),
        ("mne-conn spectral_connectivity_time cwt_morlet", 20, "within"),
        ("mne-conn spectral_connectivity_time multitaper", 20, "within"),
    ]
    for scen in ("S1", "S2"):
        o = ow if scen == "S1" else "ours compute_sync(raw, preload=False) fft"
        for peer, target, _ in checks:
            r = ratio(scen, peer, o)
            if r is not None:
                line(
                    r >= target, f"{scen} within: {r:.1f}x faster than {peer} (target >= {target}x)"
                )
    r = ratio(
        "S1",
        "mne-conn spectral_connectivity_epochs cwt_morlet",
        "ours compute_sync(epochs) morlet, decim=1",
    )
    if r is not None:
        line(
            r >= 20,
            f"S1 across: ours morlet (decim=1) {r:.1f}x faster than "
            "spectral_connectivity_epochs cwt_morlet (target >= 20x)",
        )
    r = ratio(
        "S1",
        "mne-conn spectral_connectivity_epochs multitaper",
        "ours compute_sync(epochs) fft, decim=5",
    )
    if r is not None:
        line(
            r >= 1,
            f"S1 across: ours fft {r:.2f}x vs spectral_connectivity_epochs multitaper "
            "(target: not slower, >= 1x)",
        )
    s2 = by.get(("S2", "ours compute_sync(raw, preload=False) fft"))
    if s2 is not None:
        peak = s2.extra["peak_mib"]
        line(peak <= 2048, f"S2 peak memory {peak:.0f} MiB (target <= 2 GB)")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="small sizes (< 1 min): does it run?")
    p.add_argument("--scenario", choices=("S1", "S2", "all"), default="all")
    p.add_argument("--repeats", type=int, default=3, help="repeats per timing (median)")
    p.add_argument(
        "--subset",
        type=int,
        default=None,
        help="epochs for slow peers (default: 60 for S1, 10 for S2)",
    )
    p.add_argument("--workdir", default=None, help="where S2's FIF file is written")
    p.add_argument("--keep", action="store_true", help="keep S2's FIF file for reuse")
    p.add_argument("--profile", action="store_true", help="cProfile ours (S1 within)")
    p.add_argument(
        "--backend",
        choices=("numpy", "cupy"),
        default="numpy",
        help="cupy: ours on the GPU, warm, vs NumPy (S1 only, no peers)",
    )
    p.add_argument("--json", default=None, help="append the GPU rows to this JSON-lines file")
    p.add_argument("--_child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args._child:
        child_main(json.loads(args._child))
        return
    if args.repeats < 1:
        p.error("--repeats must be >= 1")
    warnings.filterwarnings("ignore", category=RuntimeWarning)
    import mne

    mne.set_log_level("ERROR")
    t_start = time.perf_counter()
    log("# hyperinsync bench_core")
    for line in machine_header():
        log(f"# {line}")
    sizes = QUICK if args.quick else SIZES
    if args.backend == "cupy":
        from gpu_common import device_name, setup

        setup("cupy")
        log(f"# device: {device_name()}")
        run_gpu(sizes["S1"], args.repeats, args.json)
        log(f"\n# total {time.perf_counter() - t_start:.0f} s")
        return
    rows = []
    for scen in ("S1", "S2"):
        if args.scenario not in (scen, "all"):
            continue
        size = sizes[scen]
        if args.subset:
            size = Size(size.name, size.n_ch, size.sfreq, size.duration, args.subset, size.montage)
        if scen == "S1":
            run_s1(size, args.repeats, rows, profile=args.profile)
        else:
            run_s2(size, args.repeats, rows, args.workdir, args.keep)
    print_table(rows)
    print_targets(rows)
    log(
        f"\n# total {time.perf_counter() - t_start:.0f} s; load average now "
        f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )


if __name__ == "__main__":
    main()
