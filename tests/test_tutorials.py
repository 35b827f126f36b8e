"""Run every tutorial (reduced sizes) and check that it draws its figures."""

import runpy
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

TUTORIALS = sorted((Path(__file__).parents[1] / "tutorials").glob("[0-9][0-9]_*.py"))


def test_tutorials_found():
    assert len(TUTORIALS) >= 4, TUTORIALS


@pytest.mark.parametrize("path", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_tutorial_runs(path, tmp_path, monkeypatch):
    text = path.read_text(encoding="utf-8")
    # sphinx-gallery layout: an RST title in the docstring, the env variable documented
    title = text.split('"""')[1].strip().splitlines()
    heading = [ln for ln in title if ln and not ln.startswith(".. ")]
    assert set(heading[0]) == {"="} and len(heading[0]) >= len(heading[1]), heading[:3]
    assert "HYPERINSYNC_TUTORIAL_SMALL=1" in text.split('"""')[1]
    assert "# %%" in text

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HYPERINSYNC_TUTORIAL_SMALL", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    plt.close("all")
    try:
        runpy.run_path(str(path), run_name="__main__")
        figs = [plt.figure(n) for n in plt.get_fignums()]
        assert figs, f"{path.name} drew no figure"
        # every figure holds something drawn (not only empty axes)
        for fig in figs:
            assert any(ax.has_data() or ax.texts or ax.images for ax in fig.axes), fig
    finally:
        plt.close("all")
    # nothing written outside the temporary working directory's own files
    assert not list(Path(path).parent.glob("*.fif"))
