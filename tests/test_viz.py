"""Tests of hyperinsync.viz: what is drawn, not only that it runs."""

import datetime as dt
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import mne  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import LineCollection, PathCollection, PolyCollection  # noqa: E402
from scipy import stats  # noqa: E402

import hyperinsync as hi  # noqa: E402
from hyperinsync import viz  # noqa: E402
from hyperinsync.viz.base import _fmt_p  # noqa: E402
from hyperinsync.viz.heads import _HEAD_GAP, _head_coords  # noqa: E402

ROLES = ("therapist", "client")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def dyad_result(coupled_dyad):
    raw, _ = coupled_dyad(duration=10.0, sfreq=100.0, roles=ROLES, seed=3)
    res = hi.compute_sync(raw, measures=["plv", "coh"], rois="default", verbose=False)
    return raw, res


def _links(ax):
    (links,) = [c for c in ax.collections if c.get_gid() == "links"]
    assert isinstance(links, LineCollection)
    return links


# --------------------------------------------------------------------------- sync matrix
def test_sync_matrix_from_result(dyad_result):
    _, res = dyad_result
    masks = {
        b: res.get_data("plv", b) > np.quantile(res.get_data("plv", b), 0.9) for b in res.bands
    }
    fig = viz.plot_sync_matrix(res, "plv", mask=masks, show=False)
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == 2 and len(fig.axes) == 4  # two bands, two colour bars
    assert fig._suptitle.get_text() == "PLV (channel pairs)"
    for ax, band in zip(panels, res.bands):
        np.testing.assert_array_equal(ax.images[0].get_array(), res.get_data("plv", band))
        fmin, fmax = res.bands[band]
        assert ax.get_title() == f"{band} ({fmin:g}-{fmax:g} Hz)"
        assert (ax.get_ylabel(), ax.get_xlabel()) == ROLES
        assert [t.get_text() for t in ax.get_yticklabels()] == [
            n.split(":", 1)[1] for n in res.rows
        ]
        (dots,) = [c for c in ax.collections if isinstance(c, PathCollection)]
        offsets = np.asarray(dots.get_offsets())
        assert len(offsets) == masks[band].sum()
        # dots sit at (column, row) of the masked pairs
        rows, cols = np.nonzero(masks[band])
        np.testing.assert_array_equal(offsets, np.column_stack([cols, rows]))
    # one colour scale over the bands: the global minimum and maximum
    plv = res.get_data("plv", "theta"), res.get_data("plv", "alpha")
    assert panels[0].images[0].get_clim() == (min(p.min() for p in plv), max(p.max() for p in plv))


def test_sync_matrix_roi_and_array(dyad_result):
    _, res = dyad_result
    fig = viz.plot_sync_matrix(res, "coh", "alpha", level="roi", colorbar=False, show=False)
    (ax,) = fig.axes
    np.testing.assert_array_equal(
        ax.images[0].get_array(), res.get_data("coh", "alpha", level="roi")
    )
    assert [t.get_text() for t in ax.get_xticklabels()] == res.roi_names[1]
    assert not ax.collections  # no mask, no markers

    vals = np.arange(6.0).reshape(2, 3)
    mask = np.array([[True, False, False], [False, True, True]])
    _, axes = plt.subplots(1, 1)
    fig = viz.plot_sync_matrix(
        vals,
        mask=mask,
        row_names=["A:Fz", "A:Cz"],
        col_names=["B:F3", "B:F4", "B:Pz"],
        axes=axes,
        show=True,
    )
    assert fig is axes.figure
    assert (axes.get_ylabel(), axes.get_xlabel()) == ("A", "B")
    assert len(axes.collections[0].get_offsets()) == 3


def test_sync_matrix_errors(dyad_result):
    _, res = dyad_result
    with pytest.raises(ValueError, match="does not fit 2 panel"):
        viz.plot_sync_matrix(res, "plv", mask=np.zeros((3, 3), bool), show=False)
    with pytest.raises(TypeError, match="must be boolean"):
        viz.plot_sync_matrix(res, "plv", "alpha", mask=np.zeros((32, 32)), show=False)
    with pytest.raises(ValueError, match="needs 2 axes but 1"):
        viz.plot_sync_matrix(res, "plv", axes=plt.subplots()[1], show=False)
    with pytest.raises(ValueError, match="several measures"):
        viz.plot_sync_matrix(res, show=False)
    with pytest.raises(ValueError, match="2/3 entries but the values are 3 x 3"):
        viz.plot_sync_matrix(np.eye(3), row_names=["a", "b"], show=False)


# --------------------------------------------------------------------------- heads
def test_head_coords_closed_form():
    r = 0.095
    pos = np.array(
        [
            [0, 0, r],
            [r, 0, 0],
            [0, r, 0],
            [0, -r, 0],
            [r * np.cos(np.pi / 4), 0, r * np.sin(np.pi / 4)],
        ]
    )
    expected = np.array([[0, 0], [r, 0], [0, r], [0, -r], [r / 2, 0]])
    np.testing.assert_allclose(_head_coords(pos), expected, atol=1e-12)
    # a shifted sphere shifts the origin
    np.testing.assert_allclose(
        _head_coords(pos + [0.01, 0.02, 0.0], sphere=(0.01, 0.02, 0.0, r)),
        expected + [0.01, 0.02],
        atol=1e-12,
    )


def test_head_coords_match_mne_topomap(dyad_result):
    raw, _ = dyad_result
    layout = pytest.importorskip("mne.channels.layout")
    find = getattr(layout, "_find_topomap_coords", None)
    if find is None:
        pytest.skip("MNE's private _find_topomap_coords is gone")
    info = raw.participant("client").info
    pos = np.array([ch["loc"][:3] for ch in info["chs"]])
    sphere = np.array(viz.HEAD_SPHERE)
    np.testing.assert_allclose(_head_coords(pos), find(info, picks=None, sphere=sphere), atol=1e-9)


def test_heads_channel_links(dyad_result):
    raw, res = dyad_result
    vals = res.get_data("plv", "alpha")
    mask = vals > np.quantile(vals, 0.95)
    fig = viz.plot_heads(res, "plv", "alpha", info=raw, mask=mask, show=False)
    ax = fig.axes[0]
    assert len(fig.axes) == 2  # heads + colour bar
    links = _links(ax)
    segs = links.get_segments()
    assert len(segs) == mask.sum()
    np.testing.assert_array_equal(links.get_array(), vals[mask])
    texts = [t.get_text() for t in ax.texts]
    assert set(ROLES) <= set(texts)
    assert ax.get_title() == "PLV, alpha (channel pairs)"
    # each segment runs from the A sensor to the B sensor, placed on the two heads
    ii, jj = np.nonzero(mask)
    radius = viz.HEAD_SPHERE[3]
    info = raw.info
    xyz = np.array([ch["loc"][:3] for ch in info["chs"]])
    xy = _head_coords(xyz) / radius
    start = xy[ii] - [_HEAD_GAP, 0]
    end = xy[len(res.rows) + jj] + [_HEAD_GAP, 0]
    np.testing.assert_allclose(np.array([s[0] for s in segs]), start, atol=1e-12)
    np.testing.assert_allclose(np.array([s[1] for s in segs]), end, atol=1e-12)
    # the largest value draws the widest line
    widths = np.asarray(links.get_linewidths())
    assert np.argmax(widths) == np.argmax(vals[mask])
    np.testing.assert_allclose([widths.min(), widths.max()], [0.5, 4.0])


def test_heads_threshold_roi_and_facing(dyad_result):
    raw, res = dyad_result
    vals = res.get_data("coh", "theta")
    thr = np.quantile(vals, 0.9)
    fig = viz.plot_heads(
        res, "coh", "theta", info=raw.info, threshold=thr, facing=True, colorbar=False, show=False
    )
    assert len(fig.axes) == 1
    assert len(_links(fig.axes[0]).get_segments()) == (vals >= thr).sum()

    fig = viz.plot_heads(res, "plv", "alpha", info=raw, level="roi", show=False)
    ax = fig.axes[0]
    n_rows, n_cols = (len(n) for n in res.roi_names)
    assert len(_links(ax).get_segments()) == n_rows * n_cols
    texts = [t.get_text() for t in ax.texts]
    for roi in res.roi_names[0]:
        assert texts.count(roi) == 2  # labelled on both heads

    # without info: standard 10-05 positions by name
    names_a, names_b = res.rows[:3], res.cols[:2]
    fig = viz.plot_heads(np.ones((3, 2)), row_names=names_a, col_names=names_b, show=False)
    assert len(_links(fig.axes[0]).get_segments()) == 6


def test_heads_errors(dyad_result):
    raw, res = dyad_result
    with pytest.raises(ValueError, match="several bands"):
        viz.plot_heads(res, "plv", info=raw, show=False)
    with pytest.raises(ValueError, match="need row_names and col_names"):
        viz.plot_heads(np.ones((2, 2)), show=False)
    with pytest.raises(ValueError, match="not in the standard 10-05 montage"):
        viz.plot_heads(np.ones((1, 1)), row_names=["A:EXG1"], col_names=["B:Fz"], show=False)
    info = mne.create_info(["A:Fz", "B:Fz"], 100.0, "eeg")
    with pytest.raises(ValueError, match="have no position: set a montage"):
        viz.plot_heads(
            np.ones((1, 1)), info=info, row_names=["A:Fz"], col_names=["B:Fz"], show=False
        )
    with pytest.raises(ValueError, match="boolean array of shape"):
        viz.plot_heads(res, "plv", "alpha", info=raw, mask=np.ones((2, 2), bool), show=False)


# --------------------------------------------------------------------------- Level 1
def test_level1_arrays_and_result():
    times = np.arange(0.0, 60.0, 1.0)
    values = 0.2 + 0.1 * np.sin(times / 5)
    episodes = [(10.0, 16.0), (40.0, 46.0)]
    fig = viz.plot_level1(
        times, values, threshold=0.25, episodes=episodes, null_band=(0.15, 0.22), show=False
    )
    ax = fig.axes[0]
    assert len(ax.patches) == 2
    spans = sorted((p.get_x(), p.get_x() + p.get_width()) for p in ax.patches)
    np.testing.assert_allclose(spans, episodes)
    (band,) = [c for c in ax.collections if isinstance(c, PolyCollection)]
    ys = band.get_paths()[0].vertices[:, 1]
    np.testing.assert_allclose([ys.min(), ys.max()], [0.15, 0.22])
    data_line, thr_line = ax.lines
    np.testing.assert_array_equal(data_line.get_ydata(), values)
    np.testing.assert_array_equal(thr_line.get_ydata(), np.full(times.size, 0.25))
    assert ax.get_title() == "Level 1: 2 episode(s)"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "null band",
        "synchrony",
        "threshold",
        "episode",
    ]

    # the same episodes as a table and as Annotations
    pd = pytest.importorskip("pandas")
    table = pd.DataFrame({"onset": [10.0, 40.0], "duration": [6.0, 6.0]})
    annot = mne.Annotations([10.0, 40.0], [6.0, 6.0], ["sync", "sync"])
    for eps in (table, annot):
        ax = viz.plot_level1(
            times, values, threshold=values * 0 + 0.3, episodes=eps, show=False
        ).axes[0]
        spans = sorted((p.get_x(), p.get_x() + p.get_width()) for p in ax.patches)
        np.testing.assert_allclose(spans, episodes)
        np.testing.assert_allclose(ax.lines[1].get_ydata(), 0.3)


def test_level1_result():
    from hyperinsync import insync

    raw, _ = hi.simulate_dyad(
        60.0,
        100.0,
        roles=ROLES,
        seed=2,
        verbose=False,
        couplings=[hi.Coupling("alpha", "frontal", "frontal", 0.6, episodes=[(20, 35)])],
    )
    rois = {"frontal": ["Fz", "F3", "F4"], "occipital": ["O1", "O2", "Oz"]}
    l1 = insync.level1(
        raw, bands={"alpha": (8, 13)}, rois=rois, n_surrogates=39, seed=0, verbose=False
    )
    with pytest.raises(ValueError, match="several roi_as"):
        viz.plot_level1(l1, show=False)
    ax = viz.plot_level1(l1, roi_a="frontal", roi_b="frontal", show=False).axes[0]
    vals = l1.get_data("alpha", "frontal", "frontal")
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), vals)
    np.testing.assert_allclose(ax.lines[1].get_ydata(), l1.threshold[0, 0, 0])
    eps = [
        (e["onset"], e["onset"] + e["duration"])
        for e in l1.episodes
        if (e["roi_a"], e["roi_b"]) == ("frontal", "frontal")
    ]
    assert len(eps) >= 1
    spans = sorted((p.get_x(), p.get_x() + p.get_width()) for p in ax.patches)
    np.testing.assert_allclose(spans, sorted(eps))
    assert ax.get_title() == f"Level 1: PLV alpha, frontal-frontal: {len(eps)} episode(s)"
    band = [c for c in ax.collections if isinstance(c, PolyCollection)][0]
    ys = band.get_paths()[0].vertices[:, 1]
    mean, sd = l1.null_mean[0, 0, 0], l1.null_sd[0, 0, 0]
    np.testing.assert_allclose([ys.min(), ys.max()], [mean - 1.96 * sd, mean + 1.96 * sd])


def test_level1_errors():
    with pytest.raises(ValueError, match="differ in shape"):
        viz.plot_level1(np.arange(3.0), np.arange(4.0), show=False)
    with pytest.raises(ValueError, match="Pass a Level 1 result"):
        viz.plot_level1(np.arange(3.0), show=False)
    pd = pytest.importorskip("pandas")
    with pytest.raises(ValueError, match="needs columns onset and offset"):
        viz.plot_level1(np.arange(3.0), np.ones(3), episodes=pd.DataFrame({"x": [1]}), show=False)


# --------------------------------------------------------------------------- statistics
def test_null_distribution():
    null = np.random.default_rng(0).normal(0.2, 0.02, 500)
    fig = viz.plot_null_distribution(0.26, null, p=0.012, z=2.5, bins=20, show=False)
    ax = fig.axes[0]
    heights = [p.get_height() for p in ax.patches]
    assert len(heights) == 20 and sum(heights) == 500
    assert ax.lines[0].get_xdata()[0] == 0.26
    assert ax.get_title() == "p = 0.012, z = 2.50"
    assert "null (n = 500)" in [t.get_text() for t in ax.get_legend().get_texts()]

    res = SimpleNamespace(observed=np.float64(0.3), null=null, p=0.0005, z=np.float64(5.0))
    ax = viz.plot_null_distribution(res, title="Fz-Fz alpha", show=False).axes[0]
    assert ax.get_title() == "Fz-Fz alpha\np < 0.001, z = 5.00"
    with pytest.raises(ValueError, match="observed must be one value"):
        viz.plot_null_distribution(np.ones(3), null, show=False)
    with pytest.raises(ValueError, match="Pass the surrogate values"):
        viz.plot_null_distribution(0.3, show=False)


def test_group_contrast():
    values = np.r_[np.linspace(0.4, 0.5, 7), np.linspace(0.2, 0.3, 7)]
    groups = ["mindful"] * 7 + ["non-mindful"] * 7
    fig = viz.plot_group_contrast(values, groups, statistic=4.2, p=0.041, show=False)
    ax = fig.axes[0]
    dots = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert [len(c.get_offsets()) for c in dots] == [7, 7]
    np.testing.assert_array_equal(np.asarray(dots[1].get_offsets())[:, 1], values[7:])
    assert ax.get_title() == "F = 4.20, p = 0.041"
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "mindful\n(n = 7)",
        "non-mindful\n(n = 7)",
    ]
    ax = viz.plot_group_contrast(values, groups, order=["non-mindful", "mindful"], show=False).axes[
        0
    ]
    np.testing.assert_array_equal(np.asarray(ax.collections[0].get_offsets())[:, 1], values[7:])
    with pytest.raises(ValueError, match=r"groups \['non-mindful'\] are not in order"):
        viz.plot_group_contrast(values, groups, order=["mindful"], show=False)


def test_correlation_closed_form():
    rng = np.random.default_rng(1)
    x = rng.normal(0, 6, 14)
    y = 0.35 - 0.01 * x + rng.normal(0, 0.03, 14)
    fig = viz.plot_correlation(
        x,
        y,
        xlabel="WAI_T - WAI_C",
        ylabel="PLV",
        labels=[f"dyad{k:02d}" for k in range(14)],
        show=False,
    )
    ax = fig.axes[0]
    n = x.size
    r = np.sum((x - x.mean()) * (y - y.mean())) / np.sqrt(
        np.sum((x - x.mean()) ** 2) * np.sum((y - y.mean()) ** 2)
    )
    t = r * np.sqrt((n - 2) / (1 - r**2))
    p = 2 * stats.t.sf(abs(t), n - 2)
    assert ax.get_title() == f"r = {r:.2f}, {'p < 0.001' if p < 0.001 else f'p = {p:.3f}'}"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("WAI_T - WAI_C", "PLV")
    assert len(ax.texts) == 14
    # the fitted line is the least-squares line, from the normal equations
    design = np.column_stack([np.ones(n), x])
    b0, b1 = np.linalg.solve(design.T @ design, design.T @ y)
    (line,) = ax.lines
    np.testing.assert_allclose(line.get_ydata(), b0 + b1 * np.array([x.min(), x.max()]))
    # a given r and p are shown as is
    ax = viz.plot_correlation(x, y, r=-0.67, p=0.009, show=False).axes[0]
    assert ax.get_title() == "r = -0.67, p = 0.009"
    with pytest.raises(ValueError, match="at least 3 observations"):
        viz.plot_correlation([1, 2], [1, 2], show=False)


def test_trend():
    sessions = np.arange(5)
    values = np.array([[0.2, 0.22, 0.24, 0.26, 0.28], [0.3, 0.31, 0.32, 0.33, 0.34]])
    fig = viz.plot_trend(sessions, values, labels=["dyad01", "dyad02"], show=False)
    ax = fig.axes[0]
    assert len(ax.lines) == 3
    # pooled least-squares slope of all points: closed form (x is the same in both series)
    xx = np.tile(sessions, 2).astype(float)
    slope = np.sum((xx - xx.mean()) * (values.ravel() - values.mean())) / np.sum(
        (xx - xx.mean()) ** 2
    )
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["dyad01", "dyad02", f"trend: {slope:+.3g} per session"]

    dates = [dt.date(2024, 1, 8) + dt.timedelta(days=7 * k) for k in range(5)]
    ax = viz.plot_trend(dates, values[0], show=False).axes[0]
    assert ax.get_legend().get_texts()[-1].get_text() == f"trend: {0.02 / 7:+.3g} per day"
    iso = [d.isoformat() for d in dates]
    ax = viz.plot_trend(iso, values[0], show=False).axes[0]
    assert ax.get_legend().get_texts()[-1].get_text() == f"trend: {0.02 / 7:+.3g} per day"
    with pytest.raises(ValueError, match="must be numbers or dates"):
        viz.plot_trend(["s1", "s2"], [1.0, 2.0], show=False)
    with pytest.raises(ValueError, match="n_sessions=5"):
        viz.plot_trend(sessions, np.ones(4), show=False)


def test_null_distribution_surrogate_result(dyad_result):
    from hyperinsync import stats as surrogates

    raw, _ = dyad_result
    picks = ["therapist:Fz", "therapist:Cz", "client:Fz", "client:Oz"]
    raw = raw.copy().pick(picks)
    sur = surrogates.surrogate_test(
        raw, n_surrogates=30, bands={"alpha": (8, 13)}, seed=1, rois=None, verbose=False
    )
    with pytest.raises(ValueError, match="holds 2 x 2 pairs"):
        viz.plot_null_distribution(sur, show=False)
    ax = viz.plot_null_distribution(sur, pair=("therapist:Cz", "client:Fz"), show=False).axes[0]
    idx = (0, 0, 1, 0)
    assert ax.lines[0].get_xdata()[0] == sur.observed[idx]
    assert sum(p.get_height() for p in ax.patches) == 30
    p, z, pc = sur.p[idx], sur.z[idx], sur.p_corrected[idx]
    fmt = _fmt_p
    assert ax.get_title() == (f"{fmt(p)}, z = {z:.2f}, {fmt(pc).replace('p', 'corrected p', 1)}")
