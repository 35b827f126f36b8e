"""The report's headline sections of the group step.

The group contrast of real dyads, questionnaire correlations, real vs pseudo-dyads and the
session trends of In-Sync Level 3.
"""

from __future__ import annotations

import html
from functools import partial

import numpy as np

from .report_figures import _add_fig
from .report_html import _fixed_subplots, _not_computed, _table


def _group_inputs(report, res, key, section, why):
    """(features, statistic, feature labels), or None after noting why it is missing."""
    feats, stat = res.group.get("features"), res.group.get(key)
    if not feats or not stat:
        _not_computed(report, section, why)
        return None
    return feats, stat, [str(x) for x in feats["labels"]]


def _ci_text(ci, j):
    """``[lo, hi]`` of row ``j`` of an (n, 2) interval array (None when absent)."""
    if ci is None:
        return None
    lims = np.asarray(ci, float).reshape(-1, 2)[j]
    return f"[{lims[0]:.3g}, {lims[1]:.3g}]"


def _feature_note(feats, stat):
    """One paragraph: which per-dyad value, which test, which correction over which family."""
    feature = stat.get("feature") or feats.get("feature") or "raw"
    what = feats.get("description") or feature
    corr = stat.get("correction")
    corr_text = {
        "fdr": "Benjamini-Hochberg FDR",
        "maxstat": "max statistic (family-wise)",
        "holm": "Holm (family-wise)",
    }.get(corr, "none")
    family = stat.get("family") or f"{len(feats['labels'])} features"
    level = stat.get("ci")
    text = (
        f"Per-dyad value: <b>{html.escape(str(feature))}</b> ({html.escape(str(what))}). "
        f"Correction over the family of {html.escape(str(family))}: "
        f"{html.escape(corr_text)}."
    )
    if level is not None:
        text += f" Intervals: {100 * float(level):g} %."
    return f"<p>{text}</p>"


def _contrast_section(report, res):
    from ..viz import plot_group_contrast

    section = "Group contrast"
    got = _group_inputs(
        report, res, "contrast", section, "fewer than two groups of two dyads, or disabled."
    )
    if got is None:
        return
    feats, con, labels = got
    feature = con.get("feature") or feats.get("feature") or "raw"

    def col(key):
        v = con.get(key)
        return None if v is None else np.atleast_1d(np.asarray(v, float)).ravel()

    F, p = col("F"), col("p_perm")
    rows = []
    for j, lab in enumerate(labels):
        row = dict(feature=lab, F=float(F[j]))
        for key in ("F_welch", "p_perm", "p_corrected", "eta_sq_partial", "diff", "d"):
            vals = col(key)
            if vals is not None:
                row[key] = float(vals[j])
        row["eta_sq_partial_ci"] = _ci_text(con.get("eta_sq_partial_ci"), j)
        row["diff_ci"] = _ci_text(con.get("diff_ci"), j)
        row["d_ci"] = _ci_text(con.get("d_ci"), j)
        rows.append(row)
    columns = [
        c
        for c in (
            "feature",
            "F",
            "F_welch",
            "p_perm",
            "p_corrected",
            "eta_sq_partial",
            "eta_sq_partial_ci",
            "diff",
            "diff_ci",
            "d",
            "d_ci",
        )
        if any(r.get(c) is not None for r in rows)
    ]
    stat = con.get("statistic", "F")
    groups = [str(g) for g in np.atleast_1d(con.get("groups", []))]
    head = _feature_note(feats, con) + (
        f"<p>Permuted statistic: {'Welch F' if stat == 'welch' else 'F'}; "
        f"{html.escape(' - '.join(groups[:2]) if len(groups) == 2 else ', '.join(groups))}"
        f"{' (diff and d)' if len(groups) == 2 else ''}.</p>"
    )
    report.add_html(
        head + _table(rows, columns), title="Group contrast (ANOVA, permutation p)", section=section
    )

    def panel(j, lab, ax):
        return dict(
            values=feats["values"][:, j],
            groups=feats["groups"],
            statistic=float(F[j]),
            p=float(p[j]),
            ylabel=f"{lab.split('/')[1]} ({feature})",
            title=lab,
            axes=ax,
            show=False,
        )

    _add_fig(
        report,
        partial(_grid, plot_group_contrast, labels, panel),
        "Group contrast per feature",
        section,
    )
    for measure, mixed in (res.group.get("mixed") or {}).items():
        _mixed_tables(report, measure, mixed, section)


def _mixed_tables(report, measure, mixed, section):
    terms = [
        dict(
            t,
            eta_sq_partial_ci=f"[{t['eta_sq_partial_ci_low']:.3g}, "
            f"{t['eta_sq_partial_ci_high']:.3g}]",
        )
        for t in mixed["terms"]
    ]
    coefs = [
        dict(
            c,
            ci=f"[{c['ci_low']:.3g}, {c['ci_high']:.3g}]",
            standardised_ci=f"[{c['standardised_ci_low']:.3g}, {c['standardised_ci_high']:.3g}]",
        )
        for c in mixed["coefficients"]
    ]
    note = (
        f"<p>{html.escape(mixed['formula'])}; {mixed['n_subjects']} dyads, "
        f"{mixed['n_obs']} values ({html.escape(str(mixed.get('feature', '')))}). "
        f"{html.escape(mixed['method'])}."
    )
    if not mixed.get("converged", True):
        note += " <b>The fit did not converge: do not interpret these tests.</b>"
    if mixed.get("boundary"):
        note += (
            " Variance estimated at 0 (pooled with the residual): "
            f"{html.escape(', '.join(mixed['boundary']))}."
        )
    note += "</p>"
    report.add_html(
        note
        + _table(terms, ["term", "F", "df1", "df2", "p", "eta_sq_partial", "eta_sq_partial_ci"])
        + _table(coefs, ["name", "estimate", "ci", "standardised", "standardised_ci"]),
        title=f"Mixed model ({measure}): group x within, dyad random",
        section=section,
    )


def _grid(func, labels, kwargs_of, ncols=4):
    """One figure with a panel per feature."""
    nrows = -(-len(labels) // ncols)
    ncols = min(ncols, len(labels))
    # two-line titles (feature, statistics) and group labels; dyad names right of points
    fig, axes = _fixed_subplots(
        nrows, ncols, (2.7, 2.2), left=0.9, right=0.5, bottom=0.7, top=0.55, wgap=0.95, hgap=1.25
    )
    for j, lab in enumerate(labels):
        func(**kwargs_of(j, lab, axes.flat[j]))
    for ax in axes.flat[len(labels) :]:
        ax.set_visible(False)
    return fig


def _correlation_section(report, res):
    from ..viz import plot_correlation

    section = "Questionnaire correlation"
    got = _group_inputs(
        report, res, "correlation", section, "no variables to correlate ([statistics] correlate)."
    )
    if got is None:
        return
    feats, cor, labels = got
    feature = feats.get("feature") or "raw"
    for name, c in cor.items():
        p_corr = c.get("p_corrected", c.get("p_fdr"))
        rows = [
            dict(
                feature=lab,
                r=float(np.atleast_1d(c["r"])[j]),
                r_ci=_ci_text(c.get("r_ci"), j),
                p_perm=float(np.atleast_1d(c["p_perm"])[j]),
                p_corrected=None if p_corr is None else float(np.atleast_1d(p_corr)[j]),
            )
            for j, lab in enumerate(labels)
        ]
        columns = [
            k
            for k in ("feature", "r", "r_ci", "p_perm", "p_corrected")
            if any(r.get(k) is not None for r in rows)
        ]
        report.add_html(
            _feature_note(feats, c) + _table(rows, columns),
            title=f"Correlation with {name}",
            section=section,
        )
        # bound now: the figure is drawn after the loop has moved on
        panel = partial(_correlation_panel, feats=feats, name=name, cor=c, feature=feature)
        _add_fig(
            report,
            partial(_grid, plot_correlation, labels, panel),
            f"{name} vs synchrony",
            section,
        )


def _correlation_panel(j, lab, ax, *, feats, name, cor, feature):
    return dict(
        x=np.asarray(feats["variables"][name], float),
        y=feats["values"][:, j],
        r=float(np.atleast_1d(cor["r"])[j]),
        p=float(np.atleast_1d(cor["p_perm"])[j]),
        xlabel=name,
        ylabel=f"{lab.split('/')[1]} ({feature})",
        labels=[str(d) for d in feats["dyads"]],
        title=lab,
        axes=ax,
        show=False,
    )


def _pseudo_section(report, res):
    section = "Real vs pseudo-dyads"
    pseudo = res.group.get("pseudo_dyads")
    if not pseudo:
        _not_computed(
            report, section, "disabled or hyperinsync.stats.pseudo_dyad_test unavailable."
        )
        return
    for seg, sur in pseudo.items():
        rows = []
        for mi, m in enumerate(sur.measures):
            for bi, b in enumerate(sur.bands):
                for i, rn in enumerate(sur.rows):
                    if rn not in sur.cols:
                        continue
                    j = sur.cols.index(rn)
                    g = sur.group or {}
                    rows.append(
                        dict(
                            measure=m,
                            band=b,
                            roi=rn,
                            real_mean=float(sur.observed[:, mi, bi, i, j].mean()),
                            pseudo_mean=float(sur.null_mean[mi, bi, i, j]),
                            diff=float(g["diff"][mi, bi, i, j]) if g else None,
                            p=float(g["p"][mi, bi, i, j]) if g else None,
                            d=float(g["d"][mi, bi, i, j]) if g else None,
                        )
                    )
        report.add_html(
            _table(rows, list(rows[0]) if rows else []),
            title=f"{seg}: real vs pseudo-dyads",
            section=section,
        )


def _level3_section(report, res):
    from ..viz import plot_trend

    section = "In-Sync Level 3"
    l3 = res.group.get("level3")
    if not l3:
        _not_computed(
            report,
            section,
            "needs hyperinsync.insync.level3 and at least 3 sessions of every dyad.",
        )
        return
    rows, note = [], ""
    for lab, obj in l3.items():
        summ = obj.summary if hasattr(obj, "summary") else obj.get("summary", {})
        if not note and res.group.get("features") and "family" in summ:
            note = _feature_note(res.group["features"], summ)
        # 'feature' of a summary names the kind of value; the row's feature is the label
        rows.append(
            {
                "feature": lab,
                **{
                    k: v
                    for k, v in summ.items()
                    if isinstance(v, (int, float, str))
                    and k not in ("feature", "family", "correction")
                },
            }
        )
    report.add_html(
        note + _table(rows, list(dict.fromkeys(k for r in rows for k in r))),
        title="Session trends (Level 3)",
        section=section,
    )
    labels = list(l3)
    feats = res.group.get("features") or {}
    per_session = feats.get("sessions")
    if per_session is not None:  # the values the trends were computed on
        feat_labels = [str(x) for x in feats["labels"]]
        recs = [
            dict(
                dyad=str(d),
                session=int(s),
                **{lab: float(v[k]) for k, lab in enumerate(feat_labels)},
            )
            for d, s, v in zip(per_session["dyad"], per_session["session"], per_session["values"])
        ]
        feature = feats.get("feature", "raw")
    else:  # results written before per-session features were stored: raw values
        table = res.to_table()
        recs = table.to_dict("records") if hasattr(table, "to_dict") else table
        recs = [
            dict(r, **{f"{r['segment']}/{r['measure']}/{r['band']}/{r['roi']}": r["value"]})
            for r in recs
        ]
        feature = "raw"
    sessions = sorted({r["session"] for r in recs})
    dyads = sorted({r["dyad"] for r in recs})

    def panel(j, lab, ax):
        vals = np.full((len(dyads), len(sessions)), np.nan)
        for r in recs:
            if lab in r:
                vals[dyads.index(r["dyad"]), sessions.index(r["session"])] = r[lab]
        return dict(
            sessions=np.array(sessions),
            values=vals,
            labels=None,
            ylabel=f"{lab.split('/')[1]} ({feature})",
            title=lab,
            axes=ax,
            show=False,
        )

    _add_fig(
        report, partial(_grid, plot_trend, labels, panel), "Synchrony across sessions", section
    )


def add_group_sections(report, res):
    """Add the group step's sections to ``report``, in page order."""
    _contrast_section(report, res)
    _correlation_section(report, res)
    _pseudo_section(report, res)
    _level3_section(report, res)
