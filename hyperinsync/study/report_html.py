"""Building blocks of the study report: HTML tables and text, figures on a fixed grid."""

from __future__ import annotations

import html
import json

from .._utils import json_default


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
    report.add_html(
        f"<p>Not computed in this run: {html.escape(why)}</p>", title=section, section=section
    )


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
        return plt.subplots(
            nrows,
            ncols,
            squeeze=False,
            figsize=(width, height),
            gridspec_kw=dict(
                left=left / width,
                right=1 - right / width,
                bottom=bottom / height,
                top=1 - top / height,
                wspace=wgap / pw,
                hspace=hgap / ph,
            ),
        )


_FIXED_TITLES = {"axes.titley": 1.0}


def _text_inches(labels, points=10.0):
    """About the length of the longest label, in inches (0.5 em per character)."""
    return 0.5 * points / 72 * max((len(str(x)) for x in labels), default=1)
