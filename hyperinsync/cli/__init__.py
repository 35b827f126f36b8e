"""Command line: ``hyperinsync demo | run | info | report | physio``."""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from pathlib import Path

from .._utils import atomic_path
from ._common import _use_agg, _write_table
from .physio import add_physio_parser

DEMO_SEGMENTS = (("rest_pre", 60.0), ("session", 120.0), ("rest_post", 60.0))
QUICK_SEGMENTS = (("rest_pre", 20.0), ("session", 40.0), ("rest_post", 20.0))


def demo_study(quick=False, seed=42):
    """Return the simulated study of ``hyperinsync demo``.

    14 dyads (two groups) x 3 sessions of rest_pre 60 s, session 120 s, rest_post 60 s at
    250 Hz; ``quick``: 4 dyads x 3 sessions of 20 + 40 + 20 s at 100 Hz.
    """
    from ..study import Study

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
            # seeded as every null of the demo: a rerun prints the same results
            level1=dict(
                window=6.0, step=1.0, n_surrogates=19 if quick else 99, segment="session", seed=seed
            ),
            level2=dict(
                n_surrogates=19 if quick else 99, contrasts=[["rest_post", "rest_pre"]], seed=seed
            ),
        ),
        statistics=dict(
            n_permutations=500 if quick else 2000,
            seed=seed,
            rois=["frontal", "central"],
            correlate=["alliance_gap"],
        ),
    )


def _show_progress(args):
    """Whether this command shows its progress on stderr (``--quiet``, a terminal, --verbose)."""
    from mne.utils import use_log_level

    from ..study.progress import progress_enabled

    if args.quiet:
        return False
    with use_log_level(args.verbose):
        return progress_enabled(None)


def _finish(results, out_dir, report=True, progress=False, n_jobs=1):
    from ..study.schema import LAGGED

    out_dir = Path(out_dir)
    table = results.to_table()
    lagged = {k: results.lagged_table(k) for k in LAGGED}
    lagged = {k: t for k, t in lagged.items() if len(t)}
    csv = out_dir / "summary.csv"
    if len(table) or not lagged:  # the EEG's (a study of physiology alone has none)
        with atomic_path(csv) as tmp:  # never a half-written table
            table.to_csv(tmp, index=False)
    print(f"Results file : {results.fname}")
    if len(table) or not lagged:
        print(f"Summary table: {csv}")
    for kind, tab in lagged.items():  # [physio] / [movement]: one row per session
        fname = out_dir / f"summary_{kind}.csv"
        _write_table(tab, fname)
        print(f"Summary table: {fname} ([{kind}], one row per session and modality)")
    if report:
        from ..study import make_report
        from ..study.progress import steps

        if n_jobs != 1:  # a serial run started no workers
            _release_workers()

        _use_agg()
        html = out_dir / "report.html"
        with steps(["HTML report"], progress) as advance:
            advance("HTML report")
            make_report(results, html, n_jobs=n_jobs, verbose=False)
        print(f"HTML report  : {html}")


def _release_workers():
    """Stop the run's idle joblib worker processes, so that the report's have their memory.

    joblib keeps its workers for the next parallel call (a few hundred MB each); the
    command has none to make after the run.
    """
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor().shutdown(wait=True)


def _print_summary(results):
    import numpy as np

    _print_lagged_summary(results)
    feats, con = results.group.get("features"), results.group.get("contrast")
    if not feats:
        return
    feature = feats.get("feature", "raw")
    print(
        f"Per-dyad synchrony ({feature}, mean over sessions), group means and contrast"
        + (
            f" (p corrected: {con.get('correction')} over {con.get('family')})"
            if con and con.get("family")
            else ""
        )
        + ":"
    )
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


def _print_lagged_summary(results):
    """Summarise each [physio] / [movement] modality of a study's results.

    Sessions above chance, leaders, ICC, Level 3 and the outcome models' synchrony terms.
    """
    import numpy as np

    from ..study.schema import LAGGED

    for kind in LAGGED:
        tab = results.lagged_table(kind)
        if not len(tab):
            continue
        g = results.group.get(kind) or {}
        value = (results.params.get(kind) or {}).get("value", "sync_corrected")
        print(f"[{kind}] lagged synchrony per session ({value}):")
        alpha = (results.params.get(kind) or {}).get("alpha", 0.05)
        for mod, rows in tab.groupby("modality", sort=False):
            above = int((rows["sync_p_fdr"] <= alpha).sum()) if "sync_p_fdr" in rows else 0
            leaders = rows["leader"].value_counts().to_dict() if "leader" in rows else {}
            line = (
                f"  {mod:<10} {len(rows)} sessions, mean {np.nanmean(rows[value]):.3f}, "
                f"above chance {above}; " + ", ".join(f"{k} {v}" for k, v in leaders.items())
            )
            icc = (g.get("icc") or {}).get(mod)
            if icc:
                line += f"; ICC {icc['icc']:.2f}"
            l3 = (g.get("level3") or {}).get(mod)
            if l3 is not None:
                summ = l3.summary
                line += f"; trend {summ['mean_slope']:+.3g}/session p={summ['p']:.3f}" + (
                    f" p_corr={summ['p_corrected']:.3f}"
                    if summ.get("p_corrected") is not None
                    else ""
                )
            print(line)
            for outcome, fit in ((g.get("outcomes") or {}).get(mod) or {}).items():
                terms = fit["table"][fit["table"]["term"] != "intercept"]
                print(
                    f"    {outcome}: "
                    + ", ".join(
                        f"{t} {e:+.3g} (p={p:.3f})"
                        for t, e, p in zip(terms["term"], terms["estimate"], terms["p"])
                    )
                )


def _cmd_demo(args):
    from ..study import lock_output

    out = Path(args.out)
    study = demo_study(quick=args.quick, seed=args.seed)
    t0 = time.perf_counter()
    progress = _show_progress(args)
    print(f"{study}: running into {out} ...", flush=True)  # before the bar on stderr
    with lock_output(out):  # the summary files too: no other run may write meanwhile
        results = study.run(out, n_jobs=args.n_jobs, progress=progress, verbose=args.verbose)
        print(
            f"Computed {len(results.run_info['computed'])} recording(s), reused "
            f"{len(results.run_info['skipped'])}, in {time.perf_counter() - t0:.1f} s."
        )
        _print_summary(results)
        _finish(results, out, progress=progress, n_jobs=args.n_jobs)
    return 0


def _cmd_run(args):
    from ..study import Study, failure_line, lock_output

    study = Study.from_toml(args.study)
    out = Path(args.out) if args.out else Path(args.study).with_suffix("")
    progress = _show_progress(args)
    with lock_output(out):  # the summary files too: no other run may write meanwhile
        results = study.run(
            out,
            n_jobs=args.n_jobs,
            scheduler=args.scheduler,
            resume=not args.no_resume,
            keep_going=args.keep_going,
            dashboard=args.dashboard,
            progress=progress,
            verbose=args.verbose,
        )
        print(
            f"Computed {len(results.run_info['computed'])} recording(s), reused "
            f"{len(results.run_info['skipped'])}."
        )
        _print_summary(results)
        _finish(results, out, report=not args.no_report, progress=progress, n_jobs=args.n_jobs)
    if results.failures:
        for failure in results.failures:
            print(f"hyperinsync: error: {failure_line(failure)}", file=sys.stderr)
        print(
            f"hyperinsync: {len(results.failures)} recording(s) failed and are left out "
            "of the results.",
            file=sys.stderr,
        )
        return 2
    return 0


def _cmd_info(args):
    from ..study import describe_results

    print(describe_results(args.results))
    return 0


def _cmd_report(args):
    from ..study import make_report

    _use_agg()
    out = Path(args.out) if args.out else Path(args.results).with_name("report.html")
    if out.is_dir() or (args.out or "").endswith(("/", os.sep)):  # a folder: into it
        out = out / "report.html"
    make_report(args.results, out, n_jobs=args.n_jobs, verbose=args.verbose)
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
    demo.add_argument(
        "--n-jobs",
        type=int,
        default=-1,
        help="parallel recordings and report figures (default -1: every usable core; 1: "
        "one at a time, with stage-by-stage progress)",
    )
    demo.set_defaults(func=_cmd_demo)

    run = sub.add_parser("run", help="run a study file (TOML)")
    run.add_argument("study", help="the study file")
    run.add_argument("--out", help="output folder (default: beside the study file)")
    run.add_argument("--n-jobs", type=int, default=1, help="parallel recordings and report figures")
    run.add_argument(
        "--scheduler",
        default=None,
        help="Dask scheduler: 'local' or an address such as tcp://host:8786",
    )
    run.add_argument("--no-resume", action="store_true", help="recompute every recording")
    run.add_argument(
        "--keep-going",
        action="store_true",
        help="when a recording fails, analyse the others and list the failures (exit status 2)",
    )
    run.add_argument(
        "--dashboard",
        default=None,
        metavar="ADDRESS",
        help="with --scheduler local: serve the Dask dashboard at ADDRESS, e.g. "
        "127.0.0.1:8787 (default: no dashboard)",
    )
    run.add_argument("--no-report", action="store_true", help="skip the HTML report")
    run.set_defaults(func=_cmd_run)

    info = sub.add_parser("info", help="describe a results file")
    info.add_argument("results", help="results.h5")
    info.set_defaults(func=_cmd_info)

    rep = sub.add_parser("report", help="write the HTML report of a results file")
    rep.add_argument("results", help="results.h5")
    rep.add_argument(
        "--out",
        help="HTML file, or a folder to write report.html into "
        "(default: report.html beside the results)",
    )
    rep.add_argument(
        "--n-jobs", type=int, default=1, help="processes drawing the figures (-1: all cores)"
    )
    rep.set_defaults(func=_cmd_report)
    phy = add_physio_parser(sub)
    for p in (demo, run):
        p.add_argument(
            "--quiet",
            action="store_true",
            help="no progress display (it is shown on stderr when stderr is a "
            "terminal and --verbose is warning or lower)",
        )
    for p in (demo, run, info, rep, phy):
        p.add_argument(
            "--verbose", default="warning", help="logging level (debug, info, warning, error)"
        )
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
