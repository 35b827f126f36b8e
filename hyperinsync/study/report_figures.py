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
import warnings
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
    if fig is None:
        raise RuntimeError(f"{build} made no figure.")
    try:
        dpi = fig.get_dpi()
        # raw RGBA: one draw, no PNG encoding by matplotlib (PIL encodes once below); Agg
        # truncates the size to whole pixels
        width, height = (int(x) for x in fig.bbox.size)
        raw = BytesIO()
        with plt.rc_context({"savefig.bbox": "standard"}):  # the whole figure, as sized
            fig.savefig(raw, format="rgba", dpi=dpi)
    finally:
        if not any(fig is kept for kept in _TEMPLATES.values()):
            plt.close(fig)
    img = Image.frombuffer("RGBA", (width, height), raw.getbuffer(), "raw", "RGBA", 0, 1)
    white = Image.new("RGBA", img.size, (255, 255, 255))
    out = BytesIO()
    Image.alpha_composite(white, img).convert("RGB").save(
        out, format="png", dpi=(dpi, dpi), compress_level=6
    )
    return out.getvalue()


# figures kept to be redrawn with other values (see _template), in this process
_TEMPLATES = {}


def _template(layout):
    """Return the figure kept for ``layout`` (drawn before, in this process) or None.

    A section whose figures differ only in their values (e.g. one dyad's matrices after
    another's) keeps its first figure with :func:`_keep_template` and sets the next one's
    values into it: making the axes and ticks was most of the time of such a figure.
    ``layout`` must name everything the figure draws but those values.
    """
    return _TEMPLATES.get(layout)


def _keep_template(layout, fig):
    _TEMPLATES[layout] = fig


def _drop_templates():
    import matplotlib.pyplot as plt

    for fig in _TEMPLATES.values():
        plt.close(fig)
    _TEMPLATES.clear()


def _run(job):
    """Do one job of the page: ``('html', make)`` -> ``make()``; ``('fig', build)`` -> PNG."""
    kind, make = job
    return make() if kind == "html" else _figure_png(make)


# the jobs of the page being made: forked workers inherit them (nothing is pickled)
_JOBS = []


def _run_job(k):
    return _run(_JOBS[k])


def _worker_init():
    import matplotlib.pyplot as plt

    # a forked copy of an interactive session must not open windows: draw off-screen
    plt.switch_backend("agg")


def _fork_context():
    try:
        return multiprocessing.get_context("fork")
    except ValueError:  # Windows: no fork
        return None


def _run_all(jobs, n_jobs):
    """Return the result of every job, in order; ``n_jobs`` forked processes do them."""
    n_jobs = min(check_n_jobs(n_jobs), len(jobs))
    ctx = _fork_context() if n_jobs > 1 else None
    if n_jobs > 1 and ctx is None:
        logger.info("Report figures drawn in one process: this platform cannot fork.")
    global _JOBS
    _drop_templates()  # from nothing, in this process and in the forked ones
    try:
        if ctx is None or n_jobs < 2:
            return [_run(job) for job in jobs]
        _JOBS = list(jobs)
        with warnings.catch_warnings():
            # Python >= 3.12 warns on any fork of a process with threads (BLAS pools count);
            # the workers only draw figures and format tables, then exit
            warnings.filterwarnings(
                "ignore", "This process .* is multi-threaded", DeprecationWarning
            )
            pool = ctx.Pool(n_jobs, initializer=_worker_init)
        with pool:
            # one job per task, in page order: the largest (the group grids) come first
            return pool.map(_run_job, range(len(jobs)), chunksize=1)
    finally:
        _JOBS = []
        _drop_templates()


class _Page:
    """The report's items in page order; figures and long tables are made at the end.

    ``add_html`` takes the HTML or a function that makes it; ``add_figure`` a function that
    makes the figure. :meth:`write_to` makes them (each figure drawn once), in ``n_jobs``
    processes, and adds every item to the report in page order.
    """

    def __init__(self):
        self.items = []  # (kind, html or function, title, section)

    def add_html(self, html, title, *, section=None):
        self.items.append(("html", html, title, section))

    def add_figure(self, build, title, *, section=None):
        self.items.append(("fig", build, title, section))

    def write_to(self, report, n_jobs=None):
        """Add the items to ``report`` (an :class:`mne.Report`) in order."""
        jobs = [(kind, what) for kind, what, _, _ in self.items if callable(what)]
        done = iter(_run_all(jobs, n_jobs))
        with tempfile.TemporaryDirectory() as tmp:
            for k, (kind, what, title, section) in enumerate(self.items):
                if callable(what):
                    what = next(done)
                if kind == "html":
                    report.add_html(what, title=title, section=section)
                else:
                    _add_png(report, what, Path(tmp) / f"fig{k}.png", title, section)


def _add_png(report, png, path, title, section):
    path.write_bytes(png)
    # add_image with add_figure's tags: the same HTML as add_figure of the same pixels
    report.add_image(path, title=title, tags=_FIGURE_TAGS, section=section)


def _add_fig(report, build, title, section):
    """Add the figure that ``build()`` makes: to a :class:`_Page` (drawn later) or now."""
    if isinstance(report, _Page):
        report.add_figure(build, title, section=section)
        return
    (png,) = _run_all([("fig", build)], 1)
    with tempfile.TemporaryDirectory() as tmp:
        _add_png(report, png, Path(tmp) / "fig.png", title, section)
