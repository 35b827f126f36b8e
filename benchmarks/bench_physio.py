"""Benchmark lagged body/autonomic synchrony: a 50-min session, 1000 surrogates.

Target (issue 13): a 50-min session of two EDA, two heart-rate and two motion-energy series,
all windows and lags with 1,000 surrogates, in under 5 s on the project's 2-core CPU.

The series are analysed at the rates they are usually analysed at (``--rates``, default
EDA 8 Hz, heart rate 4 Hz, MEA 25 Hz; each modality is its own dyad on the same timeline),
windows of 60 s every 30 s with lags of +/-5 s (rMEA's example), ``definition='wcc'`` with
1000 circular shifts (each a different shift in samples), the lag-mirror lead test with
1000 sign flips and 2000 bootstrap resamples. Timed: :func:`hyperinsync.lagged_sync` only
(the simulation is not). ``--same-rate`` puts all three at 25 Hz in one dyad (a harder
case). ``--missing`` adds dropouts (5 % of each series missing, in 20-s runs), which takes
the general path of the engine (six FFT tables instead of one). ``--repeats N``: median.

Usage::

    python benchmarks/bench_physio.py [--quick] [--repeats 3] [--same-rate] [--missing]
        [--definition wcc|rmea] [--backend numpy|cupy|auto]
"""

from __future__ import annotations

import argparse
import os
import platform
import time


def _load():
    try:
        return " / ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="10 min, 100 surrogates (smoke run)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--same-rate", action="store_true", help="all modalities at 25 Hz")
    p.add_argument("--missing", action="store_true", help="5 %% dropouts per series")
    p.add_argument("--definition", default="wcc", choices=("wcc", "rmea"))
    p.add_argument("--backend", default="numpy")
    p.add_argument("--n-surrogates", type=int, default=None)
    a = p.parse_args()

    import mne
    import numpy as np

    from hyperinsync import PhysioCoupling, lagged_sync, simulate_physio_dyad
    from hyperinsync.io import align_physio

    mne.set_log_level("ERROR")
    duration = 600.0 if a.quick else 3000.0
    n_sur = a.n_surrogates or (100 if a.quick else 1000)
    rates = (
        {"EDA": 25.0, "HR": 25.0, "MEA": 25.0}
        if a.same_rate
        else {"EDA": 8.0, "HR": 4.0, "MEA": 25.0}
    )
    print(
        f"machine: {platform.platform()}, {os.cpu_count()} CPUs, python "
        f"{platform.python_version()}, numpy {np.__version__}; load average {_load()}"
    )
    raw, _ = simulate_physio_dyad(
        duration,
        25.0,
        couplings=[PhysioCoupling(m, 0.6, 1.0) for m in ("eda", "heart", "movement")],
        seed=0,
    )
    if a.missing:
        rng = np.random.default_rng(0)
        n = raw.n_times
        for ci in range(len(raw.ch_names)):
            for start in rng.choice(n - 500, int(0.05 * n / 500), replace=False):
                raw._data[ci, start : start + 500] = np.nan
    # one dyad per modality at its analysis rate (the simulation is at 25 Hz)
    dyads = {}
    for ch, sf in rates.items():
        pair = raw.copy().pick([f"therapist:{ch}", f"client:{ch}"])
        dyads[ch] = pair if sf == 25.0 else align_physio(pair, sfreq=sf, offset=0.0)
    if a.same_rate:
        dyads = {"all": raw}
    for name, d in dyads.items():
        print(
            f"  {name}: {len(d.ch_names)} series x {d.n_times} samples at "
            f"{d.info['sfreq']:g} Hz ({d.n_times / d.info['sfreq'] / 60:.0f} min)"
        )
    kw = dict(
        lag=5.0,
        window=60.0,
        step=30.0,
        definition=a.definition,
        n_surrogates=n_sur,
        n_boot=2000,
        backend=a.backend,
        seed=0,
    )
    times, cpu = [], []
    for _ in range(a.repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        results = [lagged_sync(d, **kw) for d in dyads.values()]
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    for res in results:
        n_mod, n_win, n_lag = res.values.shape
        print(
            f"  {', '.join(res.modalities)}: {n_win} windows x {n_lag} lags, "
            f"{res.params['n_surrogates']} surrogates ({res.params['null']}), "
            f"definition {res.params['definition']}, backend {res.params['backend']}"
        )
    med = float(np.median(times))
    print(
        f"lagged_sync, all modalities: {med:.2f} s wall (median of {a.repeats}: "
        f"{', '.join(f'{t:.2f}' for t in times)}), {np.median(cpu):.2f} s CPU; "
        f"load average {_load()}"
    )
    if not a.quick:
        print(("PASS" if med < 5.0 else "MISS") + " target < 5 s")


if __name__ == "__main__":
    main()
