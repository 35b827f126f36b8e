"""Command line: ``hyperinsync demo | run | info | report``."""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from pathlib import Path

from ._utils import atomic_path

DEMO_SEGMENTS = (("rest_pre", 60.0), ("session", 120.0), ("rest_post", 60.0))
QUICK_SEGMENTS = (("rest_pre", 20.0), ("session", 40.0), ("rest_post", 20.0))


def demo_study(quick=False, seed=42):
    """The simulated study of ``hyperinsync demo``.

    14 dyads (two groups) x 3 sessions of rest_pre 60 s, session 120 s, rest_post 60 s at
    250 Hz; ``quick``: 4 dyads x 3 sessions of 20 + 40 + 20 s at 100 Hz.
    """
    from .study import Study

    return Study(
        name="hyperinsync demo" + (" (quick)" if quick else ""),
        roles=("therapist", "client"),
        simulate=dict(
            n_dyads=4 if quick else 14,
            n_sessions=3,  # Level 3 trends need three sessions
            segments=[list(s) for s in (QUICK_SEGMENTS if quick else DEMO_SEGMENTS)],
            sfreq=100.0 if quick else 250.0,
            trend_per_session=0.05,
            seed=seed,
        ),
        analysis=dict(segments=["rest_pre", "session", "rest_post"], rois="default"),
        surrogates=dict(null="epoch_shuffle", n_surrogates=20 if quick else 100, seed=seed),
        insync=dict(
            level1=dict(window=6.0, step=1.0, n_surrogates=19 if quick else 99, segment="session"),
            level2=dict(n_surrogates=19 if quick else 99, contrasts=[["rest_post", "rest_pre"]]),
        ),
        statistics=dict(n_permutations=500 if quick else 2000, seed=seed,
                        rois=["frontal", "central"], correlate=["alliance_gap"]),
    )


def _use_agg():
    # figures are written to files only
    import matplotlib

    matplotlib.use("Agg")


def _finish(results, out_dir, report=True):
    out_dir = Path(out_dir)
    table = results.to_table()
    csv = out_dir / "summary.csv"
    with atomic_path(csv) as tmp:  # never a half-written table
        if hasattr(table, "to_csv"):
            table.to_csv(tmp, index=False)
        else:  # no pandas
            import csv as _csv

            with open(tmp, "w", newline="") as fid:
                writer = _csv.DictWriter(fid, fieldnames=list(table[0]))
                writer.writeheader()
                writer.writerows(table)
    print(f"Results file : {results.fname}")
    print(f"Summary table: {csv}")
    if report:
        from .study import make_report

        _use_agg()
        html = out_dir / "report.html"
        make_report(results, html, verbose=False)
        print(f"HTML report  : {html}")


def _print_summary(results):
    import numpy as np

    feats, con = results.group.get("features"), results.group.get("contrast")
    if not feats:
        return
    feature = feats.get("feature", "raw")
    print(f"Per-dyad synchrony ({feature}, mean over sessions), group means and contrast"
          + (f" (p corrected: {con.get('correction')} over {con.get('family')})"
             if con and con.get("family") else "") + ":")
    groups = sorted(set(feats["groups"]))
    cor = (results.group.get("correlation") or {}).get("alliance_gap")
    for j, lab in enumerate(feats["labels"]):
        means = ", ".join(
            f"{g} {np.mean(feats['values'][feats['groups'] == g, j]):.3f}" for g in groups
        )
        line = f"  {lab:<28} {means}"
        if con:
            line += f"  F={np.atleast_1d(con['F'])[j]:.2f} p={np.atleast_1d(con['p_perm'])[j]:.3f}"
            if con.get("p_corrected") is not None:
                line += f" p_corr={np.atleast_1d(con['p_corrected'])[j]:.3f}"
        if cor:
            line += f"  r(gap)={cor['r'][j]:+.2f}"
        print(line)


def _cmd_demo(args):
    from .study import lock_output

    out = Path(args.out)
    study = demo_study(quick=args.quick, seed=args.seed)
    t0 = time.perf_counter()
    print(f"{study}: running into {out} ...")
    with lock_output(out):  # the summary files too: no other run may write meanwhile
        results = study.run(out, n_jobs=args.n_jobs, verbose=args.verbose)
        print(f"Computed {len(results.run_info['computed'])} recording(s), reused "
              f"{len(results.run_info['skipped'])}, in {time.perf_counter() - t0:.1f} s.")
        _print_summary(results)
        _finish(results, out)
    return 0


def _cmd_run(args):
    from .study import failure_line
    from .study import Study, lock_output

    study = Study.from_toml(args.study)
    out = Path(args.out) if args.out else Path(args.study).with_suffix("")
    with lock_output(out):  # the summary files too: no other run may write meanwhile
        results = study.run(out, n_jobs=args.n_jobs, scheduler=args.scheduler,
                            resume=not args.no_resume, keep_going=args.keep_going,
                            dashboard=args.dashboard, verbose=args.verbose)
        print(f"Computed {len(results.run_info['computed'])} recording(s), reused "
              f"{len(results.run_info['skipped'])}.")
        _print_summary(results)
        _finish(results, out, report=not args.no_report)
    if results.failures:
        for failure in results.failures:
            print(f"hyperinsync: error: {failure_line(failure)}", file=sys.stderr)
        print(f"hyperinsync: {len(results.failures)} recording(s) failed and are left out "
              "of the results.", file=sys.stderr)
        return 2
    return 0


def _cmd_info(args):
    from .study import describe_results

    print(describe_results(args.results))
    return 0


def _cmd_report(args):
    from .study import make_report

    _use_agg()
    out = Path(args.out) if args.out else Path(args.results).with_name("report.html")
    if out.is_dir() or (args.out or "").endswith(("/", os.sep)):  # a folder: into it
        out = out / "report.html"
    make_report(args.results, out, verbose=args.verbose)
    print(f"HTML report: {out}")
    return 0


def _build_parser():
    parser = argparse.ArgumentParser(
        prog="hyperinsync",
        description="Hyperscanning EEG synchrony: studies, results files and reports.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="simulate a 14-dyad study and run the full pipeline")
    demo.add_argument("--out", default="hyperinsync-demo", help="output folder")
    demo.add_argument("--quick", action="store_true", help="4 short dyads (a smoke test)")
    demo.add_argument("--seed", type=int, default=42, help="simulation seed")
    demo.add_argument("--n-jobs", type=int, default=1, help="parallel recordings")
    demo.set_defaults(func=_cmd_demo)

    run = sub.add_parser("run", help="run a study file (TOML)")
    run.add_argument("study", help="the study file")
    run.add_argument("--out", help="output folder (default: beside the study file)")
    run.add_argument("--n-jobs", type=int, default=1, help="parallel recordings")
    run.add_argument("--scheduler", default=None,
                     help="Dask scheduler: 'local' or an address such as tcp://host:8786")
    run.add_argument("--no-resume", action="store_true", help="recompute every recording")
    run.add_argument("--keep-going", action="store_true",
                     help="when a recording fails, analyse the others and list the failures "
                     "(exit status 2)")
    run.add_argument("--dashboard", default=None, metavar="ADDRESS",
                     help="with --scheduler local: serve the Dask dashboard at ADDRESS, e.g. "
                     "127.0.0.1:8787 (default: no dashboard)")
    run.add_argument("--no-report", action="store_true", help="skip the HTML report")
    run.set_defaults(func=_cmd_run)

    info = sub.add_parser("info", help="describe a results file")
    info.add_argument("results", help="results.h5")
    info.set_defaults(func=_cmd_info)

    rep = sub.add_parser("report", help="write the HTML report of a results file")
    rep.add_argument("results", help="results.h5")
    rep.add_argument("--out", help="HTML file, or a folder to write report.html into "
                     "(default: report.html beside the results)")
    rep.set_defaults(func=_cmd_report)
    for p in (demo, run, info, rep):
        p.add_argument("--verbose", default="warning",
                       help="logging level (debug, info, warning, error)")
    return parser


def main(argv=None):
    """Run the ``hyperinsync`` command line.

    Parameters
    ----------
    argv : list of str | None
        Arguments (without the program name); ``None`` reads ``sys.argv[1:]``.

    Returns
    -------
    code : int
        The exit status (0 on success).
    """
    parser = _build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return args.func(args)
    except (OSError, ValueError) as err:
        # the user's input (a study file, a recording, a results file) is wrong: say what,
        # without a traceback; the library's errors name the file and the fix
        if str(args.verbose).lower() == "debug":
            traceback.print_exc()
        print(f"hyperinsync: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
