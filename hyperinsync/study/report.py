"""HTML report of a study's results file (an :class:`mne.Report`)."""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np

from .._utils import atomic_path, json_default, logger, verbose
from .h5 import to_json
from .report_physio import add_lagged_sections
from .results import Results, read_results

# Section titles of the report, in page order (the tests look for them in the HTML): the
# study's headline results first, then the parameters, then each recording's details.
SECTIONS = (
    "Group contrast",
    "Questionnaire correlation",
    "Real vs pseudo-dyads",
    "In-Sync Level 3",
    "Parameters",
    "Inter-brain synchrony",
    "Surrogate tests",
    "In-Sync Level 1",
    "In-Sync Level 2",
    "Alignment",
)


def _pre(obj):
    # two levels of keys on their own lines, values as compact JSON: readable and short
    def lines(d, indent=""):
        for key, val in d.items():
            if isinstance(val, dict) and not indent and val:
                yield f"{key}:"
                yield from lines(val, "  ")
            else:
                yield f"{indent}{key}: {json.dumps(val, default=json_default)}"

    text = obj if isinstance(obj, str) else "\n".join(lines(obj))
    return f"<pre>{html.escape(text)}</pre>"


def _table(rows, columns):
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(r.get(c)))}</td>" for c in columns) + "</tr>"
        for r in rows
    )
    return f'<table class="table table-sm"><tr>{head}</tr>{body}</table>'


def _cell(v):
    if isinstance(v, float):
        return f"{v:.4g}"
    return "" if v is None else str(v)


def _not_computed(report, section, why):
    report.add_html(f"<p>Not computed in this run: {html.escape(why)}</p>",
                    title=section, section=section)


def _add_fig(report, fig, title, section):
    import matplotlib.pyplot as plt

    report.add_figure(fig, title=title, section=section, image_format="png")
    plt.close(fig)


def _fixed_subplots(nrows, ncols, panel, *, left, right, bottom, top, wgap, hgap):
    """Make a figure of ``nrows x ncols`` panels of ``panel`` (w, h) inches on a fixed grid.

    Margins and gaps are in inches, sized for the labels the report's figures carry. A
    constrained layout would place them by itself, but it measures every label of every
    panel and makes saving draw the figure twice (to lay it out, then to render): on the
    report's 31 figures that was most of the report's time.
    """
    import matplotlib.pyplot as plt

    pw, ph = panel
    width = left + right + ncols * pw + (ncols - 1) * wgap
    height = bottom + top + nrows * ph + (nrows - 1) * hgap
    # titles at a fixed height above each panel (where matplotlib puts them when nothing is
    # on top of the panel, as here): placing them automatically measures every tick label
    with plt.rc_context(_FIXED_TITLES):
        return plt.subplots(nrows, ncols, squeeze=False, figsize=(width, height),
                            gridspec_kw=dict(left=left / width, right=1 - right / width,
                                             bottom=bottom / height, top=1 - top / height,
                                             wspace=wgap / pw, hspace=hgap / ph))


_FIXED_TITLES = {"axes.titley": 1.0}


def _text_inches(labels, points=10.0):
    """About the length of the longest label, in inches (0.5 em per character)."""
    return 0.5 * points / 72 * max((len(str(x)) for x in labels), default=1)


def _first_sessions(res):
    """Return the first recorded session of each dyad (figures show one per dyad)."""
    out = {}
    for (dyad, ses), rec in sorted(res.recordings.items()):
        out.setdefault(dyad, (ses, rec))
    return out


def _sync_section(report, res, max_dyads):
    import matplotlib.pyplot as plt

    from ..viz import plot_sync_matrix

    section = "Inter-brain synchrony"
    for k, (dyad, (ses, rec)) in enumerate(_first_sessions(res).items()):
        if not rec["sync"]:  # no EEG (physiology alone)
            continue
        if k >= max_dyads:
            report.add_html(f"<p>Further dyads not shown (max_dyads={max_dyads}).</p>",
                            title="More dyads", section=section)
            break
        segs = list(rec["sync"])
        first = rec["sync"][segs[0]]
        bands = list(first.bands)
        level = "roi" if first.rois else "channel"
        rows, cols = first.roi_names if level == "roi" else (first.rows, first.cols)
        # tick labels without the role prefix, in a smaller font beyond 12 (plot_sync_matrix)
        pts = [8.0 if len(n) > 12 else 10.0 for n in (rows, cols)]
        ylab, xlab = (_text_inches([str(x).rpartition(":")[2] for x in n], p)
                      for n, p in zip((rows, cols), pts))
        # one figure per dyad: segments x bands on one colour scale, so one colour bar
        # (in the right margin) serves every panel
        fig, axes = _fixed_subplots(len(segs), len(bands), (2.4, 2.0), left=ylab + 0.4,
                                    right=1.0, bottom=xlab + 0.4, top=0.5,
                                    wgap=ylab + 0.45, hgap=xlab + 0.85)
        vmax = max(float(np.nanmax(r.get_data(r.measures[0], b, level=level)))
                   for r in rec["sync"].values() for b in bands)
        for row, seg in zip(axes, segs):
            sync = rec["sync"][seg]
            for ax, band in zip(row, bands):
                plot_sync_matrix(sync, sync.measures[0], band, level=level, axes=ax,
                                 vmin=0.0, vmax=vmax, title=f"{seg}: {sync.measures[0]}",
                                 colorbar=False, show=False)
        width, height = fig.get_size_inches()
        top, bottom = axes[0, -1].get_position(), axes[-1, -1].get_position()
        with plt.rc_context(_FIXED_TITLES):
            cax = fig.add_axes([top.x1 + 0.15 / width, bottom.y0, 0.15 / width,
                                top.y1 - bottom.y0])
        fig.colorbar(axes[0, 0].images[0], cax=cax, label=first.measures[0])
        _add_fig(report, fig, f"{dyad} session {ses}", section)


def _surrogate_section(report, res):
    section = "Surrogate tests"
    rows = []
    for (dyad, ses), rec in sorted(res.recordings.items()):
        for seg, sur in rec["surrogates"].items():
            table = sur.to_table()
            recs = table.to_dict("records") if hasattr(table, "to_dict") else table
            for r in recs:
                rows.append(dict(dyad=dyad, session=ses, segment=seg, **r))
    if not rows:
        _not_computed(report, section, "no surrogate results in the file.")
        return
    columns = list(dict.fromkeys(k for r in rows for k in r))
    report.add_html(_table(rows, columns), title="ROI results against their nulls",
                    section=section)


def _level1_section(report, res, max_dyads):
    from ..viz import plot_level1

    section = "In-Sync Level 1"
    shown = 0
    for dyad, (ses, rec) in _first_sessions(res).items():
        for seg, l1 in rec["level1"].items():
            if shown >= max_dyads:
                break
            if isinstance(l1, dict):  # the Level 1 class could not be imported
                continue
            bands, (ra, rb) = list(l1.bands), l1.roi_names
            # the ROIs the study tests (else the first two shared ones) keep the figure small
            wanted = (res.params.get("statistics") or {}).get("rois") or ra[:2]
            pairs = [(r, r) for r in ra if r in rb and r in wanted] or [(ra[0], rb[0])]
            fig, axes = _fixed_subplots(len(bands), len(pairs), (3.2, 1.8), left=0.75,
                                        right=0.15, bottom=0.5, top=0.35, wgap=0.85,
                                        hgap=0.85)
            for bi, band in enumerate(bands):
                for pi, (a, b) in enumerate(pairs):
                    times, vals = l1.times, l1.get_data(band, a, b)
                    eps = [(e["onset"], e["onset"] + e["duration"]) for e in l1.episodes
                           if e["band"] == band and e["roi_a"] == a and e["roi_b"] == b]
                    plot_level1(times, vals, threshold=float(l1.threshold[bi, ra.index(a),
                                                                          rb.index(b)]),
                                episodes=eps, ylabel=l1.measure, title=f"{band} {a}-{b}",
                                axes=axes[bi, pi], show=False)
            _add_fig(report, fig, f"{dyad} session {ses}: {seg}", section)
            shown += 1
            table = l1.to_table()
            rows = table.to_dict("records") if hasattr(table, "to_dict") else table
            if rows:
                report.add_html(_table(rows, list(rows[0])),
                                title=f"{dyad} session {ses}: episodes", section=section)
    if not shown:
        _not_computed(report, section, "no Level 1 results in the file.")


def _records_section(report, res, key, section, what):
    found = [(k, rec[key]) for k, rec in sorted(res.recordings.items()) if rec[key]]
    if not found:
        _not_computed(report, section, f"no {what} results in the file.")
        return
    for (dyad, ses), obj in found:
        table = obj.to_table() if hasattr(obj, "to_table") else None
        if table is not None and hasattr(table, "to_html"):
            body = table.to_html(index=False, float_format="%.4g")
        else:
            body = _pre(obj if isinstance(obj, dict) else obj.to_dict())
        report.add_html(body, title=f"{dyad} session {ses}", section=section)


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
    corr_text = {"fdr": "Benjamini-Hochberg FDR", "maxstat": "max statistic (family-wise)",
                 "holm": "Holm (family-wise)"}.get(corr, "none")
    family = stat.get("family") or f"{len(feats['labels'])} features"
    level = stat.get("ci")
    text = (f"Per-dyad value: <b>{html.escape(str(feature))}</b> ({html.escape(str(what))}). "
            f"Correction over the family of {html.escape(str(family))}: "
            f"{html.escape(corr_text)}.")
    if level is not None:
        text += f" Intervals: {100 * float(level):g} %."
    return f"<p>{text}</p>"


def _contrast_section(report, res):
    from ..viz import plot_group_contrast

    section = "Group contrast"
    got = _group_inputs(report, res, "contrast", section,
                        "fewer than two groups of two dyads, or disabled.")
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
    columns = [c for c in ("feature", "F", "F_welch", "p_perm", "p_corrected", "eta_sq_partial",
                           "eta_sq_partial_ci", "diff", "diff_ci", "d", "d_ci")
               if any(r.get(c) is not None for r in rows)]
    stat = con.get("statistic", "F")
    groups = [str(g) for g in np.atleast_1d(con.get("groups", []))]
    head = _feature_note(feats, con) + (
        f"<p>Permuted statistic: {'Welch F' if stat == 'welch' else 'F'}; "
        f"{html.escape(' - '.join(groups[:2]) if len(groups) == 2 else ', '.join(groups))}"
        f"{' (diff and d)' if len(groups) == 2 else ''}.</p>")
    report.add_html(head + _table(rows, columns),
                    title="Group contrast (ANOVA, permutation p)", section=section)
    _add_fig(report, _grid(plot_group_contrast, labels, lambda j, lab, ax: dict(
        values=feats["values"][:, j], groups=feats["groups"], statistic=float(F[j]),
        p=float(p[j]), ylabel=f"{lab.split('/')[1]} ({feature})", title=lab, axes=ax,
        show=False)), "Group contrast per feature", section)
    for measure, mixed in (res.group.get("mixed") or {}).items():
        _mixed_tables(report, measure, mixed, section)


def _mixed_tables(report, measure, mixed, section):
    terms = [dict(t, eta_sq_partial_ci=f"[{t['eta_sq_partial_ci_low']:.3g}, "
                                       f"{t['eta_sq_partial_ci_high']:.3g}]")
             for t in mixed["terms"]]
    coefs = [dict(c, ci=f"[{c['ci_low']:.3g}, {c['ci_high']:.3g}]",
                  standardised_ci=f"[{c['standardised_ci_low']:.3g}, "
                                  f"{c['standardised_ci_high']:.3g}]")
             for c in mixed["coefficients"]]
    note = (f"<p>{html.escape(mixed['formula'])}; {mixed['n_subjects']} dyads, "
            f"{mixed['n_obs']} values ({html.escape(str(mixed.get('feature', '')))}). "
            f"{html.escape(mixed['method'])}.")
    if not mixed.get("converged", True):
        note += " <b>The fit did not converge: do not interpret these tests.</b>"
    if mixed.get("boundary"):
        note += (" Variance estimated at 0 (pooled with the residual): "
                 f"{html.escape(', '.join(mixed['boundary']))}.")
    note += "</p>"
    report.add_html(
        note + _table(terms, ["term", "F", "df1", "df2", "p", "eta_sq_partial",
                              "eta_sq_partial_ci"])
        + _table(coefs, ["name", "estimate", "ci", "standardised", "standardised_ci"]),
        title=f"Mixed model ({measure}): group x within, dyad random", section=section)


def _grid(func, labels, kwargs_of, ncols=4):
    """One figure with a panel per feature."""
    nrows = -(-len(labels) // ncols)
    ncols = min(ncols, len(labels))
    # two-line titles (feature, statistics) and group labels; dyad names right of points
    fig, axes = _fixed_subplots(nrows, ncols, (2.7, 2.2), left=0.9, right=0.5, bottom=0.7,
                                top=0.55, wgap=0.95, hgap=1.25)
    for j, lab in enumerate(labels):
        func(**kwargs_of(j, lab, axes.flat[j]))
    for ax in axes.flat[len(labels):]:
        ax.set_visible(False)
    return fig


def _correlation_section(report, res):
    from ..viz import plot_correlation

    section = "Questionnaire correlation"
    got = _group_inputs(report, res, "correlation", section,
                        "no variables to correlate ([statistics] correlate).")
    if got is None:
        return
    feats, cor, labels = got
    feature = feats.get("feature") or "raw"
    for name, c in cor.items():
        p_corr = c.get("p_corrected", c.get("p_fdr"))
        rows = [dict(feature=lab, r=float(np.atleast_1d(c["r"])[j]),
                     r_ci=_ci_text(c.get("r_ci"), j),
                     p_perm=float(np.atleast_1d(c["p_perm"])[j]),
                     p_corrected=None if p_corr is None else float(np.atleast_1d(p_corr)[j]))
                for j, lab in enumerate(labels)]
        columns = [k for k in ("feature", "r", "r_ci", "p_perm", "p_corrected")
                   if any(r.get(k) is not None for r in rows)]
        report.add_html(_feature_note(feats, c) + _table(rows, columns),
                        title=f"Correlation with {name}", section=section)
        x = np.asarray(feats["variables"][name], float)
        dyads = [str(d) for d in feats["dyads"]]
        _add_fig(report, _grid(plot_correlation, labels, lambda j, lab, ax: dict(
            x=x, y=feats["values"][:, j], r=float(np.atleast_1d(c["r"])[j]),
            p=float(np.atleast_1d(c["p_perm"])[j]), xlabel=name,
            ylabel=f"{lab.split('/')[1]} ({feature})", labels=dyads, title=lab, axes=ax,
            show=False)), f"{name} vs synchrony", section)


def _pseudo_section(report, res):
    section = "Real vs pseudo-dyads"
    pseudo = res.group.get("pseudo_dyads")
    if not pseudo:
        _not_computed(report, section, "disabled or hyperinsync.stats.pseudo_dyad_test "
                      "unavailable.")
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
                    rows.append(dict(measure=m, band=b, roi=rn,
                                     real_mean=float(sur.observed[:, mi, bi, i, j].mean()),
                                     pseudo_mean=float(sur.null_mean[mi, bi, i, j]),
                                     diff=float(g["diff"][mi, bi, i, j]) if g else None,
                                     p=float(g["p"][mi, bi, i, j]) if g else None,
                                     d=float(g["d"][mi, bi, i, j]) if g else None))
        report.add_html(_table(rows, list(rows[0]) if rows else []),
                        title=f"{seg}: real vs pseudo-dyads", section=section)


def _level3_section(report, res):
    from ..viz import plot_trend

    section = "In-Sync Level 3"
    l3 = res.group.get("level3")
    if not l3:
        _not_computed(report, section, "needs hyperinsync.insync.level3 and at least 3 "
                      "sessions of every dyad.")
        return
    rows, note = [], ""
    for lab, obj in l3.items():
        summ = obj.summary if hasattr(obj, "summary") else obj.get("summary", {})
        if not note and res.group.get("features") and "family" in summ:
            note = _feature_note(res.group["features"], summ)
        # 'feature' of a summary names the kind of value; the row's feature is the label
        rows.append({"feature": lab, **{k: v for k, v in summ.items()
                                        if isinstance(v, (int, float, str))
                                        and k not in ("feature", "family", "correction")}})
    report.add_html(note + _table(rows, list(dict.fromkeys(k for r in rows for k in r))),
                    title="Session trends (Level 3)", section=section)
    labels = list(l3)
    feats = res.group.get("features") or {}
    per_session = feats.get("sessions")
    if per_session is not None:  # the values the trends were computed on
        feat_labels = [str(x) for x in feats["labels"]]
        recs = [dict(dyad=str(d), session=int(s), **{lab: float(v[k]) for k, lab in
                                                     enumerate(feat_labels)})
                for d, s, v in zip(per_session["dyad"], per_session["session"],
                                   per_session["values"])]
        feature = feats.get("feature", "raw")
    else:  # results written before per-session features were stored: raw values
        table = res.to_table()
        recs = table.to_dict("records") if hasattr(table, "to_dict") else table
        recs = [dict(r, **{f"{r['segment']}/{r['measure']}/{r['band']}/{r['roi']}": r["value"]})
                for r in recs]
        feature = "raw"
    sessions = sorted({r["session"] for r in recs})
    dyads = sorted({r["dyad"] for r in recs})

    def panel(j, lab, ax):
        vals = np.full((len(dyads), len(sessions)), np.nan)
        for r in recs:
            if lab in r:
                vals[dyads.index(r["dyad"]), sessions.index(r["session"])] = r[lab]
        return dict(sessions=np.array(sessions), values=vals, labels=None,
                    ylabel=f"{lab.split('/')[1]} ({feature})", title=lab, axes=ax, show=False)

    _add_fig(report, _grid(plot_trend, labels, panel), "Synchrony across sessions", section)


def _alignment_section(report, res):
    section = "Alignment"
    rows = []
    for (dyad, ses), rec in sorted(res.recordings.items()):
        al = rec["meta"].get("alignment")
        src = rec["meta"].get("source", {})
        rows.append(dict(dyad=dyad, session=ses, source=src.get("mode"),
                         report="(simulated: no alignment)" if al is None else to_json(al)))
    report.add_html(_table(rows, ["dyad", "session", "source", "report"]),
                    title="Readers' alignment reports", section=section)


def _band_edges(results):
    """Each band's nominal and effective (-6 dB) edges, as the synchrony results record them.

    Filters pass more than the nominal band (MNE's default transitions: theta 4-8 Hz passes
    3-9 Hz at -6 dB), so readers see both. Several recordings at different rates can
    differ; every distinct description is listed.
    """
    out = {}
    for rec in results.recordings.values():
        for sync in rec["sync"].values():
            eff = sync.params.get("effective_band") or {}
            trans = sync.params.get("trans_bandwidth") or {}
            for band, (lo, hi) in sync.bands.items():
                if band not in eff:
                    continue
                text = (f"nominal {lo:g}-{hi:g} Hz, -6 dB {eff[band][0]:.4g}-{eff[band][1]:.4g} "
                        f"Hz ({sync.method}")
                if trans.get(band):
                    text += f", transitions {trans[band][0]:.4g} / {trans[band][1]:.4g} Hz"
                text += ")"
                out.setdefault(band, [])
                if text not in out[band]:
                    out[band].append(text)
    return {b: v[0] if len(v) == 1 else v for b, v in out.items()} or "not recorded"


@verbose
def make_report(results, fname=None, *, max_dyads=30, title=None, verbose=None):
    """Write the HTML report of a study's results.

    Sections (in order): the study's headline results -- the group contrast of real dyads,
    questionnaire correlations, real vs pseudo-dyads, the session trends of In-Sync Level 3
    --; parameters and provenance; then per recording: inter-brain matrices per band, ROI
    results against their surrogate nulls, In-Sync Levels 1 and 2; physiological and
    movement synchrony; the readers' alignment reports. A section whose results are not in
    the file says so.

    Parameters
    ----------
    results : path-like | hyperinsync.study.Results
        A results file or its contents.
    fname : path-like | None
        The HTML file; ``None``: ``report.html`` beside the results file.
    max_dyads : int
        At most this many dyads get figures (their first session).
    title : str | None
        Page title (default: the study name).
    verbose : bool | str | int | None
        Control verbosity of the logging output, as in MNE.

    Returns
    -------
    report : mne.Report
        The report (already saved to ``fname``).
    """
    import mne

    if not isinstance(results, Results):
        results = read_results(results)
    if fname is None:
        if results.fname is None:
            raise ValueError("fname is required when results did not come from a file.")
        fname = Path(results.fname).with_name("report.html")
    name = results.params.get("name", "study")
    report = mne.Report(title=title or f"hyperinsync: {name}", verbose=False)
    # the headline results first, the parameters, then each recording's details
    _contrast_section(report, results)
    _correlation_section(report, results)
    _pseudo_section(report, results)
    _level3_section(report, results)
    report.add_html(
        _pre(dict(params=results.params, band_edges=_band_edges(results),
                  versions=results.versions, file=str(results.fname),
                  created=results.attrs.get("created"))),
        title="Parameters and provenance", section="Parameters",
    )
    _sync_section(report, results, max_dyads)
    _surrogate_section(report, results)
    _level1_section(report, results, max_dyads)
    _records_section(report, results, "level2", "In-Sync Level 2", "Level 2")
    add_lagged_sections(report, results, max_dyads)  # [physio] / [movement]
    _alignment_section(report, results)
    # written beside and moved into place: never a half-written page
    with atomic_path(fname) as tmp:
        staged = tmp.with_name(tmp.name + ".html")  # MNE picks the format from the extension
        try:
            report.save(staged, overwrite=True, open_browser=False, verbose=False)
            staged.replace(tmp)
        finally:
            staged.unlink(missing_ok=True)
    logger.info(f"Report: {fname}")
    return report
