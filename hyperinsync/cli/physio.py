"""``hyperinsync physio``: lagged synchrony of one dyad's body or autonomic signals."""

from __future__ import annotations

from pathlib import Path

from .._utils import atomic_path
from ._common import _use_agg, _write_table

_PHYSIO_FORMATS = ("auto", "fif", "mea", "csv", "empatica", "acq")
_LEVELS = ("session", "segment", "window", "episode")


def _physio_format(fname, fmt, n_files):
    if fmt != "auto":
        return fmt
    name = str(fname).lower()
    if name.endswith((".fif", ".fif.gz")):
        return "fif"
    if name.endswith(".acq"):
        return "acq"
    # one file holding both people: an MEA text file; one file per person: a CSV/TSV
    return "mea" if n_files == 1 else "csv"


def _read_physio_dyad(files, fmt, sfreq, roles, offsets=None):
    """Return the dyad of ``hyperinsync physio``: one dyad file, or one file per person."""
    import mne

    from ..dyad import read_dyad_fif
    from ..io import (
        make_physio_dyad,
        read_mea,
        read_raw_acqknowledge,
        read_raw_empatica,
        read_raw_physio_csv,
    )

    for f in files:
        if not Path(f).is_file():
            raise FileNotFoundError(f"{f}: no such file.")
    kinds = [_physio_format(f, fmt, len(files)) for f in files]
    if len(files) == 1:
        kind = kinds[0]
        if kind == "fif":
            raw = read_dyad_fif(files[0], verbose=False)
            if sfreq is not None and sfreq != raw.info["sfreq"]:
                raise ValueError(
                    f"{files[0]} is at {raw.info['sfreq']:g} Hz, --sfreq asks for {sfreq:g} "
                    "Hz: a dyad file is analysed at its own rate (resample it in Python, "
                    "or leave out --sfreq)."
                )
            return raw
        if kind == "mea":
            return read_mea(
                files[0], sfreq=25.0 if sfreq is None else sfreq, roles=roles, verbose=False
            )
        raise ValueError(
            f"--format {kind} reads one person per file: give two files (the {roles[0]}'s, "
            f"then the {roles[1]}'s) and --sfreq, the rate to analyse them at."
        )
    if "mea" in kinds:
        raise ValueError("An MEA file holds both people: give it alone.")
    if sfreq is None:
        raise ValueError(
            "Two recordings are brought onto one timeline at a common rate: "
            "give --sfreq (e.g. 8 for skin conductance, 4 for heart rate)."
        )
    readers = dict(
        fif=lambda f: mne.io.read_raw_fif(f, preload=True, verbose=False),
        csv=lambda f: read_raw_physio_csv(f, verbose=False),
        empatica=lambda f: read_raw_empatica(f, verbose=False),
        acq=lambda f: read_raw_acqknowledge(f, verbose=False),
    )
    people = [readers[k](f) for k, f in zip(kinds, files)]
    undated = [str(f) for f, p in zip(files, people) if p.info["meas_date"] is None]
    if offsets is None and undated:
        raise ValueError(
            f"{' and '.join(undated)}: no start time (no absolute time stamps): give "
            "--offsets, each file's seconds at the common first sample (e.g. --offsets 0 0 "
            "when both started together)."
        )
    return make_physio_dyad(
        people[0],
        people[1],
        sfreq=sfreq,
        roles=roles,
        offsets=(None, None) if offsets is None else tuple(offsets),
        verbose=False,
    )


def _cmd_physio(args):
    import numpy as np

    from ..stats.lagged import lagged_sync

    if len(args.files) > 2:
        raise ValueError(
            f"Give one dyad file or two files (one per person), got {len(args.files)}."
        )
    raw = _read_physio_dyad(args.files, args.format, args.sfreq, tuple(args.roles), args.offsets)
    res = lagged_sync(
        raw,
        pairs=args.channels or None,
        lag=args.lag,
        window=args.window,
        step=args.step,
        definition=args.definition,
        absolute=not args.signed,
        null=None if args.null == "none" else args.null,
        n_surrogates=args.n_surrogates,
        segments=args.segments or None,
        seed=args.seed,
        verbose=args.verbose,
    )
    print(
        f"{Path(args.files[0]).name}"
        + (f" + {Path(args.files[1]).name}" if len(args.files) > 1 else "")
        + f": {res!r}"
    )
    cols = [
        "modality",
        "sync",
        "sync_p",
        "sync_effect_size",
        "synchrony",
        "phase",
        "phase_p",
        "leader",
        "lead_p",
        "peak_lag",
        "peak_lag_ci_low",
        "peak_lag_ci_high",
    ]
    for level in ("session", "segment"):
        tab = res.to_table(level)
        if len(tab):
            show = [
                c
                for c in (cols[:1] + (["segment"] if level == "segment" else []) + cols[1:])
                if c in tab.columns
            ]
            print(f"\n{level}:")
            with _pd_options():
                print(tab[show].to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    n_ep = len(res.episodes)
    print(f"\nLevel 1 episodes: {n_ep}" + (", e.g." if n_ep else ""))
    for ep in res.episodes[:5]:
        print(
            f"  {ep['modality']}: {ep['onset']:.1f}-{ep['onset'] + ep['duration']:.1f} s, "
            f"{ep['leader']} (lag {ep['lag']:+.2f} s), {ep['phase']}"
        )
    if args.out:
        out = Path(args.out)
        stem = Path(args.files[0]).name.split(".")[0]
        written = []
        for level in _LEVELS:
            tab = res.to_table(level)
            if len(tab):
                fname = out / f"{stem}_lagged_{level}.csv"
                _write_table(tab, fname)
                written.append(fname)
        ann = res.annotations
        import pandas as pd

        fname = out / f"{stem}_lagged_annotations.csv"
        _write_table(
            pd.DataFrame(
                dict(
                    onset=np.asarray(ann.onset),
                    duration=np.asarray(ann.duration),
                    description=list(ann.description),
                    channels=[";".join(c) for c in ann.ch_names],
                )
            ),
            fname,
        )
        written.append(fname)
        print("\nWritten: " + ", ".join(str(f) for f in written))
    if args.figure:
        _use_agg()
        from ..viz import plot_lagged_sync

        fig = plot_lagged_sync(res, show=False)
        suffix = Path(args.figure).suffix
        with atomic_path(args.figure) as tmp:
            fig.savefig(tmp, format=suffix[1:] if suffix else "png", dpi=120)
        print(f"Heat map: {args.figure}")
    return 0


def _pd_options():
    import pandas as pd

    return pd.option_context("display.width", 200, "display.max_columns", 30)


def add_physio_parser(sub):
    """Add the ``physio`` subcommand to the subparsers ``sub``; return its parser."""
    phy = sub.add_parser(
        "physio",
        help="lagged synchrony of a dyad's body or autonomic signals",
        description="Windowed lagged cross-correlation of a dyad's physiological or movement "
        "series (hyperinsync.lagged_sync): synchrony against surrogates with the SUSY-style "
        "effect size, in- vs anti-phase, who leads (with the peak lag's interval), per "
        "annotated segment, and Level 1 episodes. Input: one dyad file (a .fif saved from a "
        "DyadRaw, or an MEA text file: one column per person), or two files, one per "
        "person (CSV/TSV with time stamps, Empatica CSV, BIOPAC .acq, .fif), brought onto one "
        "timeline at --sfreq. The series are analysed as they are: preprocess (NeuroKit2 "
        "EDA cleaning, heart rate, MEA smoothing) in Python with hyperinsync.preprocessing.",
    )
    phy.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="one dyad file, or two files (first role, then second)",
    )
    phy.add_argument(
        "--lag",
        type=float,
        required=True,
        help="largest lag in seconds (no default, as in rMEA; e.g. 5)",
    )
    phy.add_argument(
        "--window", type=float, required=True, help="window length in seconds (e.g. 30 or 60)"
    )
    phy.add_argument(
        "--step", type=float, default=None, help="seconds between window starts (default: --window)"
    )
    phy.add_argument(
        "--definition",
        default="wcc",
        choices=("wcc", "rmea", "susy"),
        help="Boker's windowed cross-correlation, rMEA's MEAccf or SUSY's "
        "segment ccf (default: wcc)",
    )
    phy.add_argument(
        "--format",
        default="auto",
        choices=_PHYSIO_FORMATS,
        help="file format (default: from the name: .fif, .acq; one other file is MEA, two are CSV)",
    )
    phy.add_argument(
        "--sfreq",
        type=float,
        default=None,
        help="the rate two files are brought to (required with two files), or "
        "an MEA file's frame rate (default 25)",
    )
    phy.add_argument(
        "--offsets",
        nargs=2,
        type=float,
        default=None,
        metavar=("A", "B"),
        help="with two files without absolute time stamps: each file's seconds "
        "at the common first sample (default: from the files' start times)",
    )
    phy.add_argument(
        "--roles",
        nargs=2,
        default=["therapist", "client"],
        metavar=("FIRST", "SECOND"),
        help="the roles of the people, in the order of the files or MEA "
        "columns; a positive lag means FIRST leads (default: therapist client)",
    )
    phy.add_argument(
        "--channels",
        nargs="+",
        default=None,
        metavar="NAME",
        help="channels to analyse (default: every physiological or movement "
        "channel both people have)",
    )
    phy.add_argument(
        "--segments",
        nargs="+",
        default=None,
        metavar="NAME",
        help="annotated segments to test separately (e.g. IM CB)",
    )
    phy.add_argument(
        "--null",
        default="circular_shift",
        choices=("circular_shift", "segment_shuffle", "none"),
        help="surrogates (default: circular_shift)",
    )
    phy.add_argument(
        "--n-surrogates", type=int, default=1000, help="number of surrogates (default: 1000)"
    )
    phy.add_argument(
        "--signed",
        action="store_true",
        help="report signed window values (default: absolute, rMEA's ABS)",
    )
    phy.add_argument("--seed", type=int, default=None, help="random seed")
    phy.add_argument(
        "--out",
        default=None,
        metavar="FOLDER",
        help="write the session, segment, window and episode tables and the "
        "annotations as CSV files into FOLDER",
    )
    phy.add_argument(
        "--figure",
        default=None,
        metavar="FILE",
        help="save the lag x time heat map (e.g. heatmap.png)",
    )
    phy.set_defaults(func=_cmd_physio)
    return phy
