"""The report's sections of ``[physio]`` and ``[movement]``.

Lagged synchrony of every recording (session and segment tables, the lag x time heat maps
with their Level 1 episodes) and the group step (ICC, Level 3 trends, outcome models, real vs
pseudo-dyads).
"""

from __future__ import annotations

import html
from functools import partial

import numpy as np

from .report_figures import _add_fig
from .schema import LAGGED

# Section titles, by study-file section (the tests look for them in the HTML)
LAGGED_SECTIONS = {"physio": "Physiological synchrony", "movement": "Movement synchrony"}

_SESSION_COLUMNS = (
    "dyad",
    "session",
    "modality",
    "n_windows_valid",
    "sync",
    "sync_null_mean",
    "sync_corrected",
    "sync_effect_size",
    "sync_p",
    "sync_p_fdr",
    "phase",
    "phase_lag",
    "phase_p",
    "leader",
    "lead_p",
    "peak_lag",
    "peak_lag_ci_low",
    "peak_lag_ci_high",
)
_EPISODE_COLUMNS = ("modality", "onset", "duration", "n_windows", "p", "lag", "leader", "phase")


def _html_table(table, columns=None):
    if columns is not None:
        table = table[[c for c in columns if c in table.columns]]
    return table.to_html(
        index=False,
        float_format=lambda v: f"{v:.4g}",
        na_rep="",
        border=0,
        classes="table table-sm",
    )


def _note(text):
    return f"<p>{html.escape(text)}</p>"


def add_lagged_sections(report, results, max_dyads=30):
    """Add a section per computed ``[physio]`` / ``[movement]`` to ``report``.

    Parameters
    ----------
    report : mne.Report
        The report.
    results : hyperinsync.study.Results
        The study's results.
    max_dyads : int
        At most this many dyads get heat maps (their first session).
    """
    for kind in LAGGED:
        opts = results.params.get(kind)
        if not opts:
            continue  # not asked for: no section
        section = LAGGED_SECTIONS[kind]
        table = results.lagged_table(kind)
        if not len(table):
            report.add_html(
                _note("Not computed in this run: no results in the file."),
                title=section,
                section=section,
            )
            continue
        _recordings(report, results, kind, opts, table, section, max_dyads)
        _group(report, results.group.get(kind), opts, section)


def _recordings(report, results, kind, opts, table, section, max_dyads):
    from ..viz import plot_lagged_sync

    step = opts.get("step") or opts["window"]
    head = (
        f"hyperinsync.lagged_sync ({opts.get('definition', 'wcc')}): windows of "
        f"{opts['window']:g} s every {step:g} s, lags up to +/-{opts['lag']:g} s "
        "(positive: the first role leads), Fisher z; synchrony = mean |z| against "
        f"{opts.get('null', 'auto')} surrogates; sync_p_fdr: Benjamini-Hochberg over "
        "each recording's session and segment tests; leader only when the lag-mirror "
        "test rejects and the peak-lag interval excludes 0."
    )
    steps = [s["step"] for s in opts.get("preprocessing") or []]
    if steps:
        head += f" Preprocessing: {', '.join(steps)}."
    report.add_html(
        _note(head) + _html_table(table, _SESSION_COLUMNS),
        title=f"[{kind}] sessions",
        section=section,
    )
    segs = results.lagged_table(kind, "segment")
    if len(segs):
        report.add_html(
            _html_table(segs, _SESSION_COLUMNS[:3] + ("segment",) + _SESSION_COLUMNS[3:]),
            title=f"[{kind}] segments",
            section=section,
        )
    shown = set()
    for (dyad, ses), rec in sorted(results.recordings.items()):
        res = rec.get(kind)
        if res is None or dyad in shown:
            continue
        if len(shown) >= max_dyads:
            report.add_html(
                _note(f"Further dyads not shown (max_dyads={max_dyads})."),
                title=f"[{kind}] more dyads",
                section=section,
            )
            break
        shown.add(dyad)
        _add_fig(
            report,
            partial(plot_lagged_sync, res, show=False),
            f"{dyad} session {ses}: lag x time (episodes boxed by leader)",
            section,
        )
        eps = res.to_table("episode")
        if len(eps):
            report.add_html(
                _html_table(eps, _EPISODE_COLUMNS),
                title=f"{dyad} session {ses}: Level 1 episodes",
                section=section,
            )


def _group(report, g, opts, section):
    if not g:
        report.add_html(
            _note("Group step not computed ([statistics] = false, or no results)."),
            title="Group step",
            section=section,
        )
        return
    value = g.get("value", opts.get("value"))
    rows = []
    for mod, res in (g.get("icc") or {}).items():
        if res is not None:
            rows.append(
                dict(
                    modality=mod,
                    icc=res["icc"],
                    icc_anova=res.get("icc_anova"),
                    ci_low=res.get("icc_anova_ci_low"),
                    ci_high=res.get("icc_anova_ci_high"),
                    var_dyad=res["variance"].get("dyad"),
                    var_residual=res["variance"]["residual"],
                    n_dyads=res["n_groups"],
                    n_sessions=res["n_obs"],
                    converged=res["converged"],
                )
            )
    if rows:
        import pandas as pd

        report.add_html(
            _note(
                f"Share of the variance of {value} between dyads (vs between "
                "sessions of a dyad): hyperinsync.stats.icc (MixedLM REML; "
                "ANOVA ICC(1) with its F interval)."
            )
            + _html_table(pd.DataFrame(rows)),
            title="ICC: dyad vs session",
            section=section,
        )
    _level3(report, g, value, section)
    for mod, fits in (g.get("outcomes") or {}).items():
        for outcome, fit in fits.items():
            text = (
                f"{fit['formula']}; {fit['n_obs']} sessions of {fit['n_groups']} dyads. "
                f"{fit['method']}."
            )
            if not fit.get("converged", True):
                text += " The fit did not converge: do not interpret it."
            report.add_html(
                _note(text) + _html_table(fit["table"]),
                title=f"{mod}: {outcome} from segment synchrony",
                section=section,
            )
    pseudo = g.get("pseudo_dyads")
    if pseudo:
        report.add_html(
            _note(
                "Real dyads against pseudo-dyads (hyperinsync."
                "lagged_pseudo_dyads): Cohen's d and permutation p."
            )
            + _html_table(pseudo["group"])
            + _html_table(pseudo["dyads"]),
            title="Real vs pseudo-dyads",
            section=section,
        )
    if g.get("notes"):
        report.add_html("".join(_note(n) for n in g["notes"]), title="Skipped", section=section)


def _level3(report, g, value, section):
    l3 = g.get("level3") or {}
    if not l3:
        return
    rows = [
        dict(
            modality=m,
            **{
                k: v
                for k, v in res.summary.items()
                if isinstance(v, (int, float, str)) or v is None
            },
        )
        for m, res in l3.items()
    ]
    import pandas as pd

    report.add_html(
        _note(
            f"In-Sync Level 3: trend of {value} over sessions per dyad, "
            "permutation of session order; corrected over the modalities."
        )
        + _html_table(pd.DataFrame(rows)),
        title="Level 3: session trends",
        section=section,
    )
    _add_fig(
        report,
        partial(_level3_figure, g["sessions"], l3, value),
        "Synchrony across sessions",
        section,
    )


def _level3_figure(ses, l3, value):
    """Draw a panel per modality: each dyad's value over sessions."""
    import matplotlib.pyplot as plt

    from ..viz import plot_trend

    fig, axes = plt.subplots(
        1, len(l3), squeeze=False, layout="constrained", figsize=(4.0 * len(l3), 3.2)
    )
    for ax, mod in zip(axes[0], l3):
        rows = ses[ses["modality"] == mod]
        sessions = sorted(set(rows["session"]))
        dyads = sorted(set(rows["dyad"]))
        vals = np.full((len(dyads), len(sessions)), np.nan)
        for d, s, v in zip(rows["dyad"], rows["session"], rows[value]):
            vals[dyads.index(d), sessions.index(s)] = v
        plot_trend(
            np.array(sessions), vals, ylabel=f"{mod} ({value})", title=mod, axes=ax, show=False
        )
    return fig
