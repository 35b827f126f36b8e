"""The benchmarks' GPU runs (``--backend cupy``) and the table of ``benchmarks/gpu_check.sh``.

A GPU case (:func:`gpu_case`) runs an analysis once to warm the GPU up (CuPy compiles its
kernels and cuFFT makes its plans on first use), then times it ``repeats`` times with
``backend='cupy'``, counts its host/device transfers, runs it once with NumPy and records
the largest NumPy-vs-CuPy difference of its results. Rows go to a JSON-lines file
(``--json``); ``python benchmarks/gpu_common.py table ROWS.jsonl OUT.md`` writes the
markdown table.

Transfers: under the CuPy emulation (``HYPERINSYNC_CUPY_EMULATION=one-gpu``, used to check
the script on a machine without a GPU) every copy is counted, implicit ones included; with
real CuPy the explicit ones (``cupy.asarray``/``cupy.array`` of host data,
``cupy.asnumpy``), which is every copy hyperinsync asks for (the emulation suite checks
that it asks for no implicit one).
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
EMULATION_ENV = "HYPERINSYNC_CUPY_EMULATION"


def setup(backend):
    """Install the CuPy emulation when asked (``HYPERINSYNC_CUPY_EMULATION``); check CuPy."""
    mode = os.environ.get(EMULATION_ENV, "").strip()
    if mode and mode != "off":
        sys.path.insert(0, str(ROOT / "tests"))
        from _cupy_emulation import Emulation

        Emulation(mode).install()
    if backend == "cupy":
        from hyperinsync.backend import get_backend

        get_backend("cupy")  # a clear error now if CuPy or the GPU is missing


def emulated():
    return getattr(sys.modules.get("cupy"), "_emulation", None)


def device_name():
    emu = emulated()
    if emu is not None:
        return "emulated GPU (tests/_cupy_emulation.py, NumPy on the CPU: times mean nothing)"
    try:
        import cupy

        props = cupy.cuda.runtime.getDeviceProperties(0)
        mem = cupy.cuda.Device(0).mem_info[1] / 2**30
        return (
            f"{props['name'].decode()} ({mem:.0f} GiB), CuPy {cupy.__version__}, "
            f"CUDA runtime {cupy.cuda.runtime.runtimeGetVersion()}"
        )
    except Exception as exc:  # noqa: BLE001  (a header line, never an error)
        return f"no GPU ({type(exc).__name__}: {exc})"


class Transfers:
    """Count host/device copies inside a ``with`` block (see the module docstring)."""

    def __enter__(self):
        self.counts = dict(h2d=0, d2h=0, h2d_bytes=0, d2h_bytes=0)
        emu = emulated()
        self._emu = emu
        self._patched = []
        if emu is not None:
            emu.stats.reset()
            return self
        import cupy

        def count(kind, nbytes):
            self.counts[kind] += 1
            self.counts[f"{kind}_bytes"] += int(nbytes)

        for name in ("asarray", "array"):
            orig = getattr(cupy, name)

            def up(a, *args, _orig=orig, **kw):
                if not isinstance(a, cupy.ndarray):
                    count("h2d", np.asarray(a).nbytes)
                return _orig(a, *args, **kw)

            self._patched.append((name, orig))
            setattr(cupy, name, up)
        orig = cupy.asnumpy

        def down(a, *args, _orig=orig, **kw):
            if isinstance(a, cupy.ndarray):
                count("d2h", a.nbytes)
            return _orig(a, *args, **kw)

        self._patched.append(("asnumpy", orig))
        cupy.asnumpy = down
        return self

    def __exit__(self, *exc):
        if self._emu is not None:
            s = self._emu.stats.snapshot()
            self.counts = {k: s[k] for k in self.counts}
            return False
        import cupy

        for name, orig in self._patched:
            setattr(cupy, name, orig)
        return False


def synchronize():
    if "cupy" in sys.modules and emulated() is None:
        sys.modules["cupy"].cuda.Device().synchronize()


def max_diff(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    both = np.isfinite(a) & np.isfinite(b)
    if not np.array_equal(np.isfinite(a), np.isfinite(b)):
        return float("inf")
    return float(np.abs(a - b)[both].max(initial=0.0))


def gpu_case(
    bench, case, run, outputs, *, repeats=3, target=None, json_path=None, numpy_kwargs=None
):
    """Time ``run(backend='cupy')`` warm, count its transfers, compare it with NumPy.

    ``run(backend=...)`` returns a result; ``outputs(result)`` a dict of arrays compared
    between the backends. ``target``: seconds the warm GPU time should stay under.
    Returns the row (also printed, and appended to ``json_path``).
    """
    run(backend="cupy")  # warm-up: kernels compiled, FFT plans made
    synchronize()
    times = []
    for _ in range(repeats):
        with Transfers() as tr:
            t0 = time.perf_counter()
            res = run(backend="cupy")
            synchronize()
            times.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    ref = run(backend="numpy", **(numpy_kwargs or {}))
    t_np = time.perf_counter() - t0
    got, want = outputs(res), outputs(ref)
    diffs = {k: max_diff(got[k], want[k]) for k in want}
    scale = {k: float(np.nanmax(np.abs(np.asarray(want[k], float)))) for k in want}
    row = dict(
        bench=bench,
        case=case,
        t_gpu=float(np.median(times)),
        t_numpy=t_np,
        repeats=repeats,
        target=target,
        diffs=diffs,
        scale=scale,
        **tr.counts,
    )
    print(
        f"  [{bench}] {case}: CuPy {row['t_gpu']:.3f} s warm (median of {repeats}), "
        f"NumPy {t_np:.2f} s; h2d {tr.counts['h2d']} ({tr.counts['h2d_bytes'] / 1e6:.1f} MB)"
        f", d2h {tr.counts['d2h']} ({tr.counts['d2h_bytes'] / 1e6:.1f} MB); max |CuPy - "
        f"NumPy| " + ", ".join(f"{k} {v:.2e}" for k, v in diffs.items())
    )
    if json_path:
        with open(json_path, "a") as f:
            f.write(json.dumps(row) + "\n")
    return row


def write_table(rows_path, out_path, tests=""):
    """Return the markdown table of the GPU check from the JSON rows."""
    rows = [json.loads(line) for line in Path(rows_path).read_text().splitlines() if line]
    lines = [
        "# hyperinsync GPU check",
        "",
        f"- device: {device_name()}",
        f"- host: {platform.platform()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, NumPy {np.__version__}",
        f"- date: {time.strftime('%Y-%m-%d %H:%M')}",
    ]
    if tests:
        lines.append(f"- GPU tests (pytest -m gpu): {tests}")
    lines += [
        "",
        "Times: CuPy warm (kernels and FFT plans made by a first run), median of the repeats;"
        " NumPy: one run on the CPU (all cores). Transfers: copies of one CuPy run. "
        "Differences: largest |CuPy - NumPy| per output (float32 results), and the largest "
        "|NumPy| value for scale.",
        "",
        "| benchmark | case | CuPy (s) | target | NumPy (s) | h2d | d2h | max abs diff (scale) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        tgt = (
            ""
            if r["target"] is None
            else (f"<= {r['target']:g} s {'PASS' if r['t_gpu'] <= r['target'] else 'MISS'}")
        )
        diffs = "; ".join(f"{k} {v:.1e} ({r['scale'][k]:.2g})" for k, v in r["diffs"].items())
        lines.append(
            f"| {r['bench']} | {r['case']} | {r['t_gpu']:.3f} | {tgt} | {r['t_numpy']:.2f} | "
            f"{r['h2d']} ({r['h2d_bytes'] / 1e6:.1f} MB) | {r['d2h']} "
            f"({r['d2h_bytes'] / 1e6:.2f} MB) | {diffs} |"
        )
    Path(out_path).write_text("\n".join(lines) + "\n")
    return out_path


if __name__ == "__main__":
    if len(sys.argv) < 4 or sys.argv[1] != "table":
        sys.exit("usage: python benchmarks/gpu_common.py table ROWS.jsonl OUT.md [TESTS]")
    setup("numpy")
    print(write_table(sys.argv[2], sys.argv[3], " ".join(sys.argv[4:])))
