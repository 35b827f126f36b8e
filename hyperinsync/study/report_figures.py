"""The report's figures: each made and drawn once, in page order, serially or in processes.

The sections describe a figure by a function that makes it (``build``); a :class:`_Page`
collects the page's items in order, and :meth:`_Page.write_to` draws every figure to a PNG
(in a pool of forked processes when ``n_jobs > 1``) and fills the :class:`mne.Report` in
page order. Serial and parallel runs write the same bytes: both draw through
:func:`_figure_png`.
"""

from __future__ import annotations

import multiprocessing
import tempfile
from io import BytesIO
from pathlib import Path

from .._utils import check_n_jobs, logger

# the tags mne.Report.add_figure gives a figure: the page is the same as with add_figure
_FIGURE_TAGS = ("custom-figure",)


def _figure_png(build):
    """Make the figure of ``build()`` and draw it once to PNG bytes, as mne.Report would.

    :meth:`mne.Report.add_figure` draws a figure at its own dpi (it does not cap the size
    of a figure it did not make) and flattens the pixels onto white; so does this.
    """
    import matplotlib.pyplot as plt
    from PIL import Image

    fig = build()
    try:
        dpi = fig.get_dpi()
        # raw RGBA: one draw, no PNG encoding by matplotlib (PIL encodes once below); Agg
        # truncates the size to whole pixels
        width, height = (int(x) for x in fig.bbox.size)
        raw = BytesIO()
        with plt.rc_context({"savefig.bbox": "standard"}):  # the whole figure, as sized
            fig.savefig(raw, format="rgba", dpi=dpi)
    finally:
        plt.close(fig)
    img = Image.frombuffer("RGBA", (width, height), raw.getbuffer(), "raw", "RGBA", 0, 1)
    white = Image.new("RGBA", img.size, (255, 255, 255))
    out = BytesIO()
    Image.alpha_composite(white, img).convert("RGB").save(
        out, format="png", dpi=(dpi, dpi), compress_level=6
    )
    return out.getvalue()


# the builds of the page being drawn: forked workers inherit them (nothing is pickled)
_BUILDS = []


def _draw_job(k):
    return _figure_png(_BUILDS[k])


def _worker_init():
    import matplotlib.pyplot as plt

    # a forked copy of an interactive session must not open windows: draw off-screen
    plt.switch_backend("agg")


def _fork_context():
    try:
        return multiprocessing.get_context("fork")
    except ValueError:  # Windows: no fork
        return None


def _draw_all(builds, n_jobs):
    """PNG bytes of every build, in order; ``n_jobs`` forked processes draw them."""
    n_jobs = min(check_n_jobs(n_jobs), len(builds))
    ctx = _fork_context() if n_jobs > 1 else None
    if n_jobs > 1 and ctx is None:
        logger.info("Report figures drawn in one process: this platform cannot fork.")
    if ctx is None or n_jobs < 2:
        return [_figure_png(build) for build in builds]
    global _BUILDS
    _BUILDS = list(builds)
    try:
        with ctx.Pool(n_jobs, initializer=_worker_init) as pool:
            # one figure per task, in page order: the largest (the group grids) come first
            return pool.map(_draw_job, range(len(builds)), chunksize=1)
    finally:
        _BUILDS = []


class _Page:
    """The report's items in page order; figures are made and drawn at the end, once each."""

    def __init__(self):
        self.items = []  # (html or None, build or None, title, section)

    def add_html(self, html, title, *, section=None):
        self.items.append((html, None, title, section))

    def add_figure(self, build, title, *, section=None):
        self.items.append((None, build, title, section))

    def write_to(self, report, n_jobs=None):
        """Add the items to ``report`` (an :class:`mne.Report`) in order."""
        builds = [build for _, build, _, _ in self.items if build is not None]
        pngs = iter(_draw_all(builds, n_jobs))
        with tempfile.TemporaryDirectory() as tmp:
            for k, (html, build, title, section) in enumerate(self.items):
                if build is None:
                    report.add_html(html, title=title, section=section)
                else:
                    _add_png(report, next(pngs), Path(tmp) / f"fig{k}.png", title, section)


def _add_png(report, png, path, title, section):
    path.write_bytes(png)
    # add_image with add_figure's tags: the same HTML as add_figure of the same pixels
    report.add_image(path, title=title, tags=_FIGURE_TAGS, section=section)


def _add_fig(report, build, title, section):
    """Add the figure that ``build()`` makes: to a :class:`_Page` (drawn later) or now."""
    if isinstance(report, _Page):
        report.add_figure(build, title, section=section)
        return
    png = _figure_png(build)
    with tempfile.TemporaryDirectory() as tmp:
        _add_png(report, png, Path(tmp) / "fig.png", title, section)
