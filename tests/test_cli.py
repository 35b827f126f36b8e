"""Tests of the command line and the HTML report."""

import matplotlib
import pandas as pd
import pytest

import hyperinsync.cli as cli
from hyperinsync.cli import main
from hyperinsync.study import read_results
from hyperinsync.study.report import SECTIONS

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    real = cli.demo_study

    def smaller(quick=False, seed=42):
        st = real(quick=True, seed=seed)
        # 4 dyads x 3 sessions of 20 s: enough for every section, fast enough for CI
        st.simulate["segments"] = [("rest_pre", 6.0), ("session", 10.0), ("rest_post", 6.0)]
        st.insync["level1"].update(window=2.0, step=1.0, min_shift=3.0)
        return type(st)(
            name=st.name,
            roles=st.roles,
            analysis=st.analysis,
            simulate={k: v for k, v in st.simulate.items() if k != "roles"},
            surrogates=st.surrogates,
            # the study keeps a disabled level as None; passed back it must say False
            insync={k: (False if v is None else v) for k, v in st.insync.items()},
            statistics=dict(st.statistics, pseudo_dyads=dict(n_surrogates=6), n_permutations=99),
        )

    mp = pytest.MonkeyPatch()
    mp.setattr(cli, "demo_study", smaller)
    try:
        assert main(["demo", "--quick", "--out", str(out)]) == 0
    finally:
        mp.undo()
    return out


def test_demo_outputs(demo, capsys):
    assert {p.name for p in demo.iterdir()} >= {"results.h5", "summary.csv", "report.html", "parts"}
    res = read_results(demo / "results.h5")
    assert res.dyads == ["dyad01", "dyad02", "dyad03", "dyad04"]
    assert len(res.recordings) == 12
    table = pd.read_csv(demo / "summary.csv")
    # one row per recording, segment, band and same-ROI pair of the 5 default ROIs
    assert len(table) == 12 * 3 * 2 * 5
    assert set(table.segment) == {"rest_pre", "session", "rest_post"}
    assert {"p", "z", "null_mean", "corrected", "alliance_gap"} <= set(table.columns)
    assert table["corrected"].to_numpy() == pytest.approx(
        table["value"] - table["null_mean"], abs=1e-6
    )
    # the per-session value the group statistics use by default: the surrogate z
    feats = res.group["features"]
    j = list(feats["labels"]).index("rest_post/plv/alpha/frontal")
    sel = table[(table.segment == "rest_post") & (table.band == "alpha") & (table.roi == "frontal")]
    by_dyad = sel.groupby("dyad")["z"].mean()
    assert feats["values"][:, j] == pytest.approx(
        by_dyad[list(feats["dyads"])].to_numpy(), rel=1e-4, abs=1e-6
    )
    for key in ("contrast", "correlation", "level3", "pseudo_dyads"):
        assert res.group.get(key), key
    capsys.readouterr()
    cli._print_summary(res)
    out = capsys.readouterr().out
    assert "Per-dyad synchrony (z, mean over sessions)" in out
    assert "(p corrected: fdr over 3 segments x 1 measures x 2 bands x 2 ROI pairs" in out
    assert "p_corr=" in out


def test_report_sections(demo, tmp_path, capsys):
    html_file = tmp_path / "r.html"
    assert main(["report", str(demo / "results.h5"), "--out", str(html_file)]) == 0
    assert str(html_file) in capsys.readouterr().out
    text = html_file.read_text()
    for title in SECTIONS:
        assert title in text, title
    # the headline results open the report (table of contents and page), the per-dyad
    # matrices follow
    for where in ('href="#{}"', 'id="{}"'):
        at = [text.index(where.format(t.replace(" ", "_"))) for t in SECTIONS]
        assert at == sorted(at), where
    assert SECTIONS[:3] == ("Group contrast", "Questionnaire correlation", "Real vs pseudo-dyads")
    assert SECTIONS.index("Inter-brain synchrony") > SECTIONS.index("Real vs pseudo-dyads")
    # each section has content of its own, not only the note for missing results
    assert "Not computed in this run" not in text  # the demo runs every level
    assert "dyad01 session 0" in text and "alliance_gap vs synchrony" in text
    # the parameters show the band actually analysed, not only the nominal one
    assert "nominal 4-8 Hz, -6 dB 3-9 Hz (fft, transitions 2 / 2 Hz)" in text
    # the group results say which value they compare, how they are corrected, with intervals
    assert "Per-dyad value: <b>z</b>" in text
    assert (
        "Correction over the family of 3 segments x 1 measures x 2 bands x 2 ROI pairs = "
        "12 features: Benjamini-Hochberg FDR"
    ) in text
    assert "eta_sq_partial_ci" in text and "d_ci" in text and "r_ci" in text
    assert "Mixed model (plv): group x within, dyad random" in text
    assert "group x segment" in text


def test_report_figures_drawn_once(demo, tmp_path, monkeypatch):
    """Each figure of the report is laid out on a fixed grid and drawn once (a constrained
    layout made saving draw every figure twice and measured every label), with one shared
    colour bar on each dyad's matrices (they share one scale).
    """
    from matplotlib.figure import Figure

    import hyperinsync.study.report_figures as rf
    from hyperinsync.study import make_report

    events, figs = [], []
    real_draw = Figure.draw

    def draw(self, renderer):
        events.append(("draw", id(self)))
        return real_draw(self, renderer)

    real_add = rf._Page.add_figure

    def add(self, build, title, *, section=None):
        def recorded():
            fig = build()
            events.append(("made", id(fig)))
            images = [ax.images[0] for ax in fig.axes if ax.images]
            clims = {im.get_clim() for im in images}
            figs.append((section, fig.get_layout_engine(), len(images), len(fig.axes), clims))
            return fig

        return real_add(self, recorded, title, section=section)

    monkeypatch.setattr(Figure, "draw", draw)
    # every section's figures (in report, report_group, report_physio) reach the page here
    monkeypatch.setattr(rf._Page, "add_figure", add)
    make_report(demo / "results.h5", tmp_path / "r.html", verbose=False)
    assert len(figs) == 4 + 4 + 3  # 4 dyads' matrices and Level 1, 3 group grids
    assert all(engine is None for _, engine, *_ in figs)
    # each figure made is drawn once, right after it is made
    assert [kind for kind, _ in events] == ["made", "draw"] * len(figs)
    assert all(events[k][1] == events[k + 1][1] for k in range(0, len(events), 2))
    matrices = [f for f in figs if f[0] == "Inter-brain synchrony"]
    for _, _, n_images, n_axes, clims in matrices:  # 3 segments x 2 bands, one colour bar
        assert n_images == 6 and n_axes == 7
        assert len(clims) == 1


def _page_parts(html):
    """The page without its creation time; its images (PNG bytes) and their sizes."""
    import base64
    import io
    import re

    from PIL import Image

    images = [base64.b64decode(x) for x in re.findall(r'src="data:image/png;base64,([^"]+)"', html)]
    sizes = [Image.open(io.BytesIO(x)).size for x in images]
    return re.sub(r"Created on [^<]*", "", html), images, sizes


def test_report_parallel_same_page(demo, tmp_path):
    """Figures drawn in 2 processes give the page drawn in one: same sections, figures (same
    PNG bytes, sizes) and tables, in the same order.
    """
    from hyperinsync.study import make_report

    res = read_results(demo / "results.h5")
    pages = {}
    for n_jobs in (1, 2):
        make_report(res, tmp_path / f"r{n_jobs}.html", n_jobs=n_jobs, verbose=False)
        pages[n_jobs] = _page_parts((tmp_path / f"r{n_jobs}.html").read_text())
    (serial, images, sizes), (parallel, images2, sizes2) = pages[1], pages[2]
    assert len(images) == len(images2) >= 4 + 4 + 3
    assert sizes == sizes2 and images == images2
    for title in SECTIONS:
        assert serial.count(title) == parallel.count(title) > 0, title
    assert serial == parallel


def test_report_figure_as_mne_draws_it(tmp_path):
    """A figure added through the report's renderer is the figure mne.Report.add_figure
    adds (same pixels, PNG, tags and HTML); a wide one keeps its own dpi, as in MNE.
    """
    from functools import partial

    import matplotlib.pyplot as plt
    import mne

    from hyperinsync.study.report_figures import _add_fig

    def build(width):
        fig, ax = plt.subplots(figsize=(width, 3.0))
        ax.plot([0, 1, 3], [2, 0, 1], label="x")
        ax.set_title("a title")
        ax.legend()
        return fig

    texts = []
    for how in ("mne", "ours"):
        report = mne.Report(title="t", verbose=False)
        for width in (4.0, 12.0):  # 12 in: wider than MNE's 850 pixels at 100 dpi
            if how == "mne":
                fig = build(width)
                report.add_figure(fig, f"w{width}", section="s", image_format="png")
                plt.close(fig)
            else:
                _add_fig(report, partial(build, width), f"w{width}", "s")
        report.save(tmp_path / f"{how}.html", open_browser=False, verbose=False)
        texts.append(_page_parts((tmp_path / f"{how}.html").read_text()))
    assert texts[0][2][-2:] == [(400, 300), (1200, 300)]
    assert texts[0] == texts[1]


def test_report_matrix_template_same_pixels(demo):
    """A dyad's matrices drawn into the figure of the dyad before (the kept layout) are the
    pixels of a new figure.
    """
    from functools import partial

    from hyperinsync.study.report import _sync_figure
    from hyperinsync.study.report_figures import _TEMPLATES, _drop_templates, _figure_png

    res = read_results(demo / "results.h5")
    first, second = (res.get(d, 0)["sync"] for d in ("dyad01", "dyad02"))
    try:
        _drop_templates()
        fresh = _figure_png(partial(_sync_figure, second))
        _drop_templates()
        before = _figure_png(partial(_sync_figure, first))
        (kept,) = _TEMPLATES.values()
        reused = _figure_png(partial(_sync_figure, second))
        assert list(_TEMPLATES.values()) == [kept]  # drawn into the kept figure
    finally:
        _drop_templates()
    assert before != fresh  # two dyads, two pictures
    assert reused == fresh


def test_info(demo, capsys):
    assert main(["info", str(demo / "results.h5")]) == 0
    out = capsys.readouterr().out
    assert "recordings: 12 (4 dyads)" in out
    assert (
        "dyad03 session 2: group non-mindful; segments rest_pre, session, rest_post; "
        "surrogates; level1" in out
    )
    assert "group statistics: contrast, correlation, features, level3, mixed, pseudo_dyads" in out


def test_run_study_file(tmp_path, capsys):
    toml = tmp_path / "sim.toml"
    toml.write_text(
        '[study]\nname = "sim"\nroles = ["T", "C"]\n'
        "[simulate]\nn_dyads = 4\nsfreq = 100\nseed = 3\n"
        'segments = [["rest_pre", 10], ["session", 10]]\n'
        '[analysis]\nsegments = ["session"]\n[surrogates]\nn_surrogates = 19\n'
        "[insync]\nlevel1 = false\nlevel2 = false\n"
        '[statistics]\nn_permutations = 99\ncorrelate = ["alliance_gap"]\n'
        "pseudo_dyads = false\n"
    )
    assert main(["run", str(toml), "--out", str(tmp_path / "o"), "--no-report"]) == 0
    out = capsys.readouterr().out
    assert "Computed 4 recording(s), reused 0." in out
    res = read_results(tmp_path / "o" / "results.h5")
    assert res.study_toml == toml.read_text()
    assert res.params["roles"] == ["T", "C"]
    assert main(["run", str(toml), "--out", str(tmp_path / "o"), "--no-report"]) == 0
    assert "Computed 0 recording(s), reused 4." in capsys.readouterr().out


def test_bad_arguments(capsys):
    with pytest.raises(SystemExit):
        main(["frobnicate"])
    capsys.readouterr()
    # a user error is one line on stderr and exit status 2, not a traceback
    assert main(["run", "missing.toml"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hyperinsync: error: No study file") and "Traceback" not in err
    assert main(["info", "missing.h5"]) == 2
    assert "missing.h5" in capsys.readouterr().err


class _Terminal:
    """A stand-in for stderr that says it is a terminal and keeps what is written."""

    def __init__(self, tty=True):
        import io

        self.buf, self.tty = io.StringIO(), tty

    def write(self, text):
        return self.buf.write(text)

    def flush(self):
        pass

    def isatty(self):
        return self.tty

    def getvalue(self):
        return self.buf.getvalue()


def _small_study_file(tmp_path):
    toml = tmp_path / "sim.toml"
    toml.write_text(
        '[study]\nname = "sim"\nroles = ["T", "C"]\n'
        "[simulate]\nn_dyads = 2\nn_sessions = 1\nsfreq = 100\nseed = 3\n"
        'segments = [["rest_pre", 8], ["session", 8]]\n'
        '[analysis]\nsegments = ["rest_pre", "session"]\n[surrogates]\nn_surrogates = 9\n'
        "[insync]\nlevel1 = false\nlevel2 = false\n"
        "[statistics]\nn_permutations = 19\npseudo_dyads = false\n"
    )
    return toml


@pytest.mark.parametrize("how", ["terminal", "parallel", "quiet", "pipe", "verbose error"])
def test_run_progress(tmp_path, monkeypatch, capsys, how):
    """A terminal sees the run recording by recording and stage by stage (also from worker
    processes); --quiet, a pipe or --verbose error see nothing.
    """
    import sys

    toml = _small_study_file(tmp_path)
    err = _Terminal(tty=how != "pipe")
    monkeypatch.setattr(sys, "stderr", err)
    argv = ["run", str(toml), "--out", str(tmp_path / "o"), "--no-report"]
    argv += {"quiet": ["--quiet"], "verbose error": ["--verbose", "error"]}.get(how, [])
    argv += ["--n-jobs", "2"] if how == "parallel" else []
    assert main(argv) == 0
    text = err.getvalue()
    if how == "parallel":  # each worker's stages, by recording; the bar by recordings
        for stage in ("dyad01 session 0: read", "dyad02 session 0: read", "2/2 done"):
            assert stage in text, stage
        for seg in ("rest_pre", "session"):
            assert f"session 0: surrogates {seg}" in text
        return
    if how != "terminal":
        assert text == ""
        return
    # per recording, per stage (in the order the runner runs them), with the time left
    for stage in (
        "dyad01 session 0: read",
        "dyad01 session 0: sync rest_pre",
        "dyad01 session 0: surrogates rest_pre",
        "dyad02 session 0: sync session",
        "1/2 done",
        "2/2 done",
        "Study: group statistics",
        "Study: results file",
        "Study: done",
    ):
        assert stage in text, stage
    assert "100%" in text and "<" in text  # elapsed<remaining
    assert text.index("dyad01 session 0: surrogates rest_pre") < text.index(
        "dyad01 session 0: sync session"
    )
    assert "Computed 2 recording(s)" in capsys.readouterr().out  # stdout unchanged


def test_progress_stages_match_the_runner():
    """The stages the display expects are those the runner reports, in order."""
    from hyperinsync.study import Study, runner
    from hyperinsync.study.progress import recording_stages

    st = Study(
        name="stages",
        roles=("T", "C"),
        simulate=dict(
            n_dyads=2,
            n_sessions=1,
            sfreq=100.0,
            seed=1,
            segments=[["rest_pre", 10.0], ["session", 10.0]],
        ),
        analysis=dict(segments=["rest_pre", "session"], epoch_duration=1.0),
        surrogates=dict(n_surrogates=5, seed=1),
        insync=dict(
            level1=dict(window=2.0, step=1.0, n_surrogates=19, min_shift=3.0, segment="session"),
            level2=dict(n_surrogates=19, contrasts=[["session", "rest_pre"]]),
        ),
    )
    job = dict(
        st.recordings[0],
        part="",
        base_dir=".",
        inputs={},
        param_hash="",
        analysis=st.analysis,
        surrogates=st.surrogates,
        insync=st.insync,
        roles=list(st.roles),
    )
    got = []
    runner._process(job, got.append)
    assert (
        got
        == recording_stages(job)
        == [
            "read",
            "sync rest_pre",
            "surrogates rest_pre",
            "sync session",
            "surrogates session",
            "level 1",
            "level 2",
        ]
    )


def test_progress_enabled(monkeypatch):
    import sys

    from mne.utils import use_log_level

    from hyperinsync.study.progress import progress_enabled

    monkeypatch.setattr(sys, "stderr", _Terminal(tty=True))
    with use_log_level("warning"):
        assert progress_enabled(None)
        assert not progress_enabled(False)
    with use_log_level("error"):
        assert not progress_enabled(None)
        assert progress_enabled(True)  # forced
    monkeypatch.setattr(sys, "stderr", _Terminal(tty=False))
    with use_log_level("info"):
        assert not progress_enabled(None)
    with pytest.raises(TypeError, match="progress"):
        progress_enabled("yes")
