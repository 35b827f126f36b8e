"""The validation study: error rates and power of every statistical claim hyperinsync makes.

Runs every scenario module in ``benchmarks/validity/`` on simulated dyads with known truth and
writes ``benchmarks/VALIDITY.md`` (each rate with its binomial 95 % confidence interval and its
target). Usage, from the repository root::

    python benchmarks/validity.py                 # the full study (see VALIDITY.md for its cost)
    python benchmarks/validity.py --quick         # reduced sizes, a smoke check (not recorded)
    python benchmarks/validity.py --only level1   # one scenario module
    python benchmarks/validity.py --only group --rows-out rows_group.json   # keep its rows
    python benchmarks/validity.py --assemble rows_*.json   # VALIDITY.md from saved rows

Areas can run as separate processes (one per core) and be assembled afterwards. A reduced
version (a few dozen runs per rate, binomial bounds) runs in the test suite:
``tests/test_validity_reduced.py``.
"""

import argparse
import dataclasses
import importlib
import json
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

AREAS = ["surrogates", "level1", "level2", "level3", "group", "physio"]


def _modules(only):
    names = only or [a for a in AREAS if (HERE / "validity" / f"{a}.py").exists()]
    return {n: importlib.import_module(f"validity.{n}") for n in names}


def run_all(n_rep, seed, quick=False, only=None, verbose=True):
    """Run the scenario modules and return ``{area: (rows, seconds)}``."""
    out = {}
    for name, mod in _modules(only).items():
        t0 = time.perf_counter()
        rows = mod.run(n_rep=n_rep, seed=seed, quick=quick)
        out[name] = (rows, time.perf_counter() - t0)
        if verbose:
            print(f"{name}: {len(rows)} rows in {out[name][1]:.0f} s", flush=True)
            for r in rows:
                print("  " + _line(r), flush=True)
    return out


def _fmt_extra(extra):
    return ", ".join(
        f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in extra.items()
    )


def _line(r):
    lo, hi = r.ci
    ok = r.passed()
    flag = "" if ok is None else (" PASS" if ok else " MISS")
    return (
        f"{r.family} | {r.scenario} | {r.quantity} {r.k}/{r.n} = {r.rate:.3f} "
        f"[{lo:.3f}, {hi:.3f}] {r.target_str()}{flag} {_fmt_extra(r.extra)}"
    )


def to_markdown(results, n_rep, seed, notes=None):
    import mne
    import numpy
    import scipy

    import hyperinsync

    lines = [
        "# Validation study",
        "",
        "Every statistical claim of hyperinsync, checked on simulated dyads with known truth:",
        "false-positive and family-wise error rates at alpha = .05 (target [0.03, 0.07]; FDR at",
        "most 0.05), power curves, and the accuracy of episodes and lead-lag labels. Each rate is",
        "given with its exact (Clopper-Pearson) binomial 95 % confidence interval. Produced by",
        f"`python benchmarks/validity.py` (n_rep = {n_rep}, seed = {seed}).",
        "",
        f"Machine: {platform.platform()}, Python {platform.python_version()}, hyperinsync "
        f"{hyperinsync.__version__}, mne {mne.__version__}, numpy {numpy.__version__}, scipy "
        f"{scipy.__version__}.",
        "",
    ]
    targeted = [
        (name, r) for name, (rows, _) in results.items() for r in rows if r.passed() is not None
    ]
    missed = [(name, r) for name, r in targeted if not r.passed()]
    lines += [
        "## Summary",
        "",
        f"{len(targeted)} rates with a target, {len(targeted) - len(missed)} met"
        + (":" if missed else "."),
        "",
    ]
    if missed:
        lines += ["Targets missed (point estimate outside the target; see the notes below):", ""]
        lines += [
            f"- {name}: {r.family} | {r.scenario} | {r.quantity} {r.k} / {r.n} = "
            f"{r.rate:.3f} [{r.ci[0]:.3f}, {r.ci[1]:.3f}], target {r.target_str()}"
            for name, r in missed
        ]
        lines.append("")
    if notes:
        lines += [Path(notes).read_text(encoding="utf-8").rstrip(), ""]
    for name, (rows, secs) in results.items():
        lines += [
            f"## {name}",
            "",
            f"{len(rows)} rows, {secs:.0f} s.",
            "",
            "| family | scenario | quantity | k / n | rate | 95 % CI | target | ok | details |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for r in rows:
            lo, hi = r.ci
            ok = r.passed()
            lines.append(
                f"| {r.family} | {r.scenario} | {r.quantity} | {r.k} / {r.n} | {r.rate:.3f} "
                f"| [{lo:.3f}, {hi:.3f}] | {r.target_str()} "
                f"| {'' if ok is None else ('yes' if ok else '**no**')} | {_fmt_extra(r.extra)} |"
            )
        lines.append("")
    return "\n".join(lines)


def save_rows(results, fname, n_rep, seed):
    """Write ``results`` (``{area: (rows, seconds)}``) to a JSON file."""
    out = {
        area: dict(seconds=secs, n_rep=n_rep, seed=seed, rows=[dataclasses.asdict(r) for r in rows])
        for area, (rows, secs) in results.items()
    }
    Path(fname).write_text(json.dumps(out, indent=1, default=float), encoding="utf-8")


def load_rows(fnames):
    """Read saved rows back: ``({area: (rows, seconds)}, n_rep, seed)`` in AREAS order."""
    from validity.common import Row

    found, n_rep, seed = {}, set(), set()
    for fname in fnames:
        for area, d in json.loads(Path(fname).read_text(encoding="utf-8")).items():
            rows = [
                Row(**{**r, "target": tuple(r["target"]) if r["target"] else None})
                for r in d["rows"]
            ]
            found[area] = (rows, d["seconds"])
            n_rep.add(d["n_rep"])
            seed.add(d["seed"])
    ordered = {a: found[a] for a in AREAS if a in found}
    ordered.update({a: v for a, v in found.items() if a not in ordered})
    return ordered, "/".join(map(str, sorted(n_rep))), "/".join(map(str, sorted(seed)))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n-rep", type=int, default=500, help="null replications per family")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--quick", action="store_true", help="reduced sizes; VALIDITY.md not written")
    p.add_argument("--only", nargs="*", choices=AREAS)
    p.add_argument("--out", default=str(HERE / "VALIDITY.md"))
    p.add_argument("--rows-out", help="also save the rows as JSON (to assemble later)")
    p.add_argument(
        "--assemble",
        nargs="+",
        metavar="JSON",
        help="write VALIDITY.md from rows saved by --rows-out; run nothing",
    )
    p.add_argument(
        "--notes",
        help="a Markdown file of notes put after the summary (what a "
        "missed target means and what was done about it)",
    )
    a = p.parse_args(argv)
    if a.assemble:
        results, n_rep, seed = load_rows(a.assemble)
        Path(a.out).write_text(to_markdown(results, n_rep, seed, a.notes) + "\n", encoding="utf-8")
        print(f"wrote {a.out}")
        return
    results = run_all(a.n_rep, a.seed, quick=a.quick, only=a.only)
    if a.rows_out:
        save_rows(results, a.rows_out, a.n_rep, a.seed)
    if not a.quick and not a.only:
        Path(a.out).write_text(
            to_markdown(results, a.n_rep, a.seed, a.notes) + "\n", encoding="utf-8"
        )
        print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
