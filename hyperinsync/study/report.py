"""HTML report of a study's results file (an :class:`mne.Report`)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np

from .._docs import fill_doc
from .._utils import atomic_path, logger, verbose
from .h5 import to_json
from .report_figures import _add_fig, _keep_template, _Page, _template
from .report_group import add_group_sections
from .report_html import (
    _FIXED_TITLES,
    _fixed_subplots,
    _not_computed,
    _pre,
    _table,
    _text_inches,
)
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


def _first_sessions(res):
    """Return the first recorded session of each dyad (figures show one per dyad)."""
    out = {}
    for (dyad, ses), rec in sorted(res.recordings.items()):
        out.setdefault(dyad, (ses, rec))
    return out


def _sync_section(report, res, max_dyads):
    section = "Inter-brain synchrony"
    for k, (dyad, (ses, rec)) in enumerate(_first_sessions(res).items()):
        if not rec["sync"]:  # no EEG (physiology alone)
            continue
        if k >= max_dyads:
            report.add_html(
                f"<p>Further dyads not shown (max_dyads={max_dyads}).</p>",
                title="More dyads",
                section=section,
            )
            break
        _add_fig(report, partial(_sync_figure, rec["sync"]), f"{dyad} session {ses}", section)


def _sync_figure(syncs):
    """One dyad's matrices: segments x bands on one colour scale, so one colour bar."""
    import matplotlib.pyplot as plt

    from ..viz import plot_sync_matrix

    segs = list(syncs)
    first = syncs[segs[0]]
    bands = list(first.bands)
    level = "roi" if first.rois else "channel"
    rows, cols = first.roi_names if level == "roi" else (first.rows, first.cols)
    mats = [
        [syncs[seg].get_data(syncs[seg].measures[0], b, level=level) for b in bands] for seg in segs
    ]
    vmax = max(float(np.nanmax(m)) for row in mats for m in row)
    # everything drawn but the values: a figure of the same layout is redrawn with this
    # dyad's values (same pixels as a new one; making the panels and their ticks was most
    # of a figure's time)
    layout = (
        "sync",
        level,
        tuple(map(str, rows)),
        tuple(map(str, cols)),
        tuple(first.roles),
        tuple((seg, syncs[seg].measures[0]) for seg in segs),
        tuple((b, tuple(first.bands[b])) for b in bands),
        tuple(tuple(syncs[seg].bands.get(b, ())) for seg in segs for b in bands),
    )
    fig = _template(layout)
    if fig is not None:
        for ax, mat in zip(fig.axes, (m for row in mats for m in row)):
            ax.images[0].set_data(mat)
            ax.images[0].set_clim(0.0, vmax)
        return fig
    # tick labels without the role prefix, in a smaller font beyond 12 (plot_sync_matrix)
    pts = [8.0 if len(n) > 12 else 10.0 for n in (rows, cols)]
    ylab, xlab = (
        _text_inches([str(x).rpartition(":")[2] for x in n], p) for n, p in zip((rows, cols), pts)
    )
    # the colour bar in the right margin serves every panel
    fig, axes = _fixed_subplots(
        len(segs),
        len(bands),
        (2.4, 2.0),
        left=ylab + 0.4,
        right=1.0,
        bottom=xlab + 0.4,
        top=0.5,
        wgap=ylab + 0.45,
        hgap=xlab + 0.85,
    )
    for row, seg in zip(axes, segs):
        sync = syncs[seg]
        for ax, band in zip(row, bands):
            plot_sync_matrix(
                sync,
                sync.measures[0],
                band,
                level=level,
                axes=ax,
                vmin=0.0,
                vmax=vmax,
                title=f"{seg}: {sync.measures[0]}",
                colorbar=False,
                show=False,
            )
    width, height = fig.get_size_inches()
    top, bottom = axes[0, -1].get_position(), axes[-1, -1].get_position()
    with plt.rc_context(_FIXED_TITLES):
        cax = fig.add_axes([top.x1 + 0.15 / width, bottom.y0, 0.15 / width, top.y1 - bottom.y0])
    fig.colorbar(axes[0, 0].images[0], cax=cax, label=first.measures[0])
    _keep_template(layout, fig)
    return fig


def _surrogate_section(report, res):
    section = "Surrogate tests"
    if not any(rec["surrogates"] for rec in res.recordings.values()):
        _not_computed(report, section, "no surrogate results in the file.")
        return
    # made with the figures (in parallel): the tables of every recording take a while
    report.add_html(
        partial(_surrogate_html, res), title="ROI results against their nulls", section=section
    )


def _surrogate_html(res):
    rows = []
    for (dyad, ses), rec in sorted(res.recordings.items()):
        for seg, sur in rec["surrogates"].items():
            table = sur.to_table()
            recs = table.to_dict("records") if hasattr(table, "to_dict") else table
            for r in recs:
                rows.append(dict(dyad=dyad, session=ses, segment=seg, **r))
    if not rows:  # results without a row: say so rather than show an empty table
        return "<p>Not computed in this run: no surrogate results in the file.</p>"
    columns = list(dict.fromkeys(k for r in rows for k in r))
    return _table(rows, columns)


def _level1_section(report, res, max_dyads):
    section = "In-Sync Level 1"
    shown = 0
    for dyad, (ses, rec) in _first_sessions(res).items():
        for seg, l1 in rec["level1"].items():
            if shown >= max_dyads:
                break
            if isinstance(l1, dict):  # the Level 1 class could not be imported
                continue
            ra, rb = l1.roi_names
            # the ROIs the study tests (else the first two shared ones) keep the figure small
            wanted = (res.params.get("statistics") or {}).get("rois") or ra[:2]
            pairs = [(r, r) for r in ra if r in rb and r in wanted] or [(ra[0], rb[0])]
            _add_fig(
                report,
                partial(_level1_figure, l1, pairs),
                f"{dyad} session {ses}: {seg}",
                section,
            )
            shown += 1
            table = l1.to_table()
            rows = table.to_dict("records") if hasattr(table, "to_dict") else table
            if rows:
                report.add_html(
                    _table(rows, list(rows[0])),
                    title=f"{dyad} session {ses}: episodes",
                    section=section,
                )
    if not shown:
        _not_computed(report, section, "no Level 1 results in the file.")


def _level1_figure(l1, pairs):
    """Bands x ROI pairs of one Level 1 result: the values, threshold and episodes."""
    from ..viz import plot_level1

    bands, (ra, rb) = list(l1.bands), l1.roi_names
    fig, axes = _fixed_subplots(
        len(bands),
        len(pairs),
        (3.2, 1.8),
        left=0.75,
        right=0.15,
        bottom=0.5,
        top=0.35,
        wgap=0.85,
        hgap=0.85,
    )
    for bi, band in enumerate(bands):
        for pi, (a, b) in enumerate(pairs):
            times, vals = l1.times, l1.get_data(band, a, b)
            eps = [
                (e["onset"], e["onset"] + e["duration"])
                for e in l1.episodes
                if e["band"] == band and e["roi_a"] == a and e["roi_b"] == b
            ]
            plot_level1(
                times,
                vals,
                threshold=float(l1.threshold[bi, ra.index(a), rb.index(b)]),
                episodes=eps,
                ylabel=l1.measure,
                title=f"{band} {a}-{b}",
                axes=axes[bi, pi],
                show=False,
            )
    return fig


def _records_section(report, res, key, section, what):
    found = [(k, rec[key]) for k, rec in sorted(res.recordings.items()) if rec[key]]
    if not found:
        _not_computed(report, section, f"no {what} results in the file.")
        return
    for (dyad, ses), obj in found:
        # made with the figures (in parallel): long tables take a while
        report.add_html(partial(_record_html, obj), title=f"{dyad} session {ses}", section=section)


def _record_html(obj):
    table = obj.to_table() if hasattr(obj, "to_table") else None
    if table is not None and hasattr(table, "to_html"):
        return table.to_html(index=False, float_format="%.4g")
    return _pre(obj if isinstance(obj, dict) else obj.to_dict())


def _alignment_section(report, res):
    section = "Alignment"
    rows = []
    for (dyad, ses), rec in sorted(res.recordings.items()):
        al = rec["meta"].get("alignment")
        src = rec["meta"].get("source", {})
        rows.append(
            dict(
                dyad=dyad,
                session=ses,
                source=src.get("mode"),
                report="(simulated: no alignment)" if al is None else to_json(al),
            )
        )
    report.add_html(
        _table(rows, ["dyad", "session", "source", "report"]),
        title="Readers' alignment reports",
        section=section,
    )


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
                text = (
                    f"nominal {lo:g}-{hi:g} Hz, -6 dB {eff[band][0]:.4g}-{eff[band][1]:.4g} "
                    f"Hz ({sync.method}"
                )
                if trans.get(band):
                    text += f", transitions {trans[band][0]:.4g} / {trans[band][1]:.4g} Hz"
                text += ")"
                out.setdefault(band, [])
                if text not in out[band]:
                    out[band].append(text)
    return {b: v[0] if len(v) == 1 else v for b, v in out.items()} or "not recorded"


@verbose
@fill_doc
def make_report(results, fname=None, *, max_dyads=30, title=None, n_jobs=None, verbose=None):
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
    %(n_jobs)s
        The figures are drawn in this many processes (forked: where the platform cannot
        fork, in this process); the page is the same for every ``n_jobs``.
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
    # the page's items in order; every figure is drawn once, at the end (in parallel)
    page = _Page()
    # the headline results first, the parameters, then each recording's details
    add_group_sections(page, results)
    page.add_html(
        _pre(
            dict(
                params=results.params,
                band_edges=_band_edges(results),
                versions=results.versions,
                file=str(results.fname),
                created=results.attrs.get("created"),
            )
        ),
        title="Parameters and provenance",
        section="Parameters",
    )
    _sync_section(page, results, max_dyads)
    _surrogate_section(page, results)
    _level1_section(page, results, max_dyads)
    _records_section(page, results, "level2", "In-Sync Level 2", "Level 2")
    add_lagged_sections(page, results, max_dyads)  # [physio] / [movement]
    _alignment_section(page, results)
    page.write_to(report, n_jobs)
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
