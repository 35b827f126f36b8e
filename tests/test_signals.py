"""The one signal layer (DyadSignals) and the options every analysis takes from it."""

import inspect

import mne
import numpy as np
import pytest

import hyperinsync as hs
from hyperinsync._docs import SIGNAL_OPTIONS
from hyperinsync.sync import DyadSignals
from hyperinsync.sync.measures import FROM_SUMS, MEASURES, power, unit

ALPHA = {"alpha": (8.0, 13.0)}
FRONTAL = {"frontal": ["Fz", "F3", "F4"]}


@pytest.fixture(scope="module")
def dyad(coupled_dyad):
    raw, _ = coupled_dyad(duration=40.0, sfreq=100.0, seed=11)
    return raw.pick(["A:Fz", "A:F3", "A:F4", "B:Fz", "B:F3", "B:F4"])


def test_every_analysis_takes_the_signal_options_in_one_order():
    """compute_sync, the surrogates and Levels 1-2 take the signal options of DyadSignals
    with the same names, order and defaults, and bands second.
    """
    ref = inspect.signature(DyadSignals).parameters
    for func in (
        hs.compute_sync,
        hs.surrogate_sync,
        hs.surrogate_test,
        hs.pseudo_dyad_test,
        hs.level1,
        hs.level2,
    ):
        params = inspect.signature(func).parameters
        names = list(params)
        assert names[1] == "bands", func.__name__
        got = [n for n in names if n in SIGNAL_OPTIONS]
        assert got == list(SIGNAL_OPTIONS), func.__name__
        for name in SIGNAL_OPTIONS:
            assert params[name].default == ref[name].default, (func.__name__, name)
            assert params[name].kind is inspect.Parameter.KEYWORD_ONLY


def test_from_params_forwards_every_signal_option(dyad):
    """DyadSignals.from_params (how the analyses build their signals) passes every option."""
    params = dict(
        reject_by_annotation=False,
        picks=["A:Fz", "B:Fz"],
        method="mne_fir",
        decim=2,
        n_cycles=5.0,
        freq_step=0.5,
        l_trans_bandwidth=2.0,
        h_trans_bandwidth=3.0,
        precision="double",
        backend="numpy",
        n_jobs=2,
        max_bytes=10_000_000,
        other="ignored",
    )
    sig = DyadSignals.from_params(dyad, ALPHA, params)
    got = sig.options
    got["backend"] = got["backend"].name
    assert got == {k: params[k] for k in SIGNAL_OPTIONS}
    with pytest.raises(KeyError, match="max_bytes"):
        DyadSignals.from_params(dyad, ALPHA, {k: params[k] for k in SIGNAL_OPTIONS[:-1]})


def test_window_formulas_are_the_measures(dyad):
    """The window engine's formulas (FROM_SUMS) give measures.py's values from sums."""
    rng = np.random.default_rng(0)
    xa = rng.normal(size=(3, 1, 2, 50)) + 1j * rng.normal(size=(3, 1, 2, 50))
    xb = rng.normal(size=(3, 1, 4, 50)) + 1j * rng.normal(size=(3, 1, 4, 50))
    for name, (unit_sums, value) in FROM_SUMS.items():
        a, b = (unit(xa), unit(xb)) if unit_sums else (xa, xb)
        cross = np.einsum("...it,...jt->...ij", a, b.conj())
        got = value(cross, 50, power(xa).sum(-1), power(xb).sum(-1))
        np.testing.assert_allclose(got, MEASURES[name](xa, xb), rtol=1e-12)
        # the window engine sums the conjugate cross term: the magnitudes are the same
        np.testing.assert_allclose(
            value(cross.conj(), 50, power(xa).sum(-1), power(xb).sum(-1)), got, rtol=1e-12
        )
    # closed form: identical phases give PLV 1, coherence 1, imaginary coherence 0
    s = unit(xa[..., :1, :])
    cross = np.einsum("...it,...jt->...ij", s, s.conj())
    np.testing.assert_allclose(FROM_SUMS["plv"][1](cross, 50, None, None), 1.0)


def test_levels_refuse_morlet_and_take_mne_fir(dyad):
    with pytest.raises(ValueError, match="Level 1.*one signal per band.*morlet"):
        hs.level1(
            dyad,
            ALPHA,
            FRONTAL,
            window=2.0,
            step=1.0,
            min_shift=5.0,
            n_surrogates=19,
            method="morlet",
            verbose=False,
        )
    with pytest.raises(ValueError, match="Level 2.*morlet"):
        hs.level2(
            dyad,
            ALPHA,
            FRONTAL,
            segments=[],
            block=10.0,
            n_surrogates=19,
            method="morlet",
            verbose=False,
        )
    res = hs.level2(
        dyad,
        ALPHA,
        FRONTAL,
        segments=[],
        block=10.0,
        n_surrogates=19,
        method="mne_fir",
        contrasts=(),
        precision="double",
        seed=0,
        verbose=False,
    )
    assert res.params["decim"] == {"alpha": 1}  # 'auto' is full rate for mne_fir
    # the same epochs through compute_sync: one band signal layer, one value
    sync = hs.compute_sync(
        dyad.copy().crop(0, 10.0 - 1 / 100.0),
        ALPHA,
        "plv",
        method="mne_fir",
        precision="double",
        rois=FRONTAL,
        epoch_duration=2.0,
        verbose=False,
    )
    assert res.get_data("block001", "alpha", "frontal", "frontal") == pytest.approx(
        float(sync.get_data(level="roi")[0, 0]), abs=0.02
    )


def test_surrogates_take_the_signal_options(dyad):
    """The options precision and decim reach the surrogates' band signals (fixed before):
    the observed values equal compute_sync's with the same options.
    """
    kw = dict(precision="double", decim=2, n_cycles=5.0, method="morlet", epoch_duration=4.0)
    sur = hs.surrogate_test(
        dyad, ALPHA, "plv", n_surrogates=19, seed=0, rois=None, verbose=False, **kw
    )
    ref = hs.compute_sync(dyad, ALPHA, "plv", rois=None, verbose=False, **kw)
    np.testing.assert_allclose(sur.observed[0, 0], ref.data[0, 0], rtol=0, atol=1e-12)
    assert sur.params["precision"] == "double" and sur.params["decim"] == 2


def test_study_passes_analysis_options_to_surrogates_and_levels(tmp_path):
    """[analysis] epoch_duration, method and backend reach the surrogates and Levels 1-2
    (the runner used to call them with their own defaults).
    """
    st = hs.Study(
        simulate=dict(n_dyads=2, n_sessions=1, segments=[("rest", 30.0)], sfreq=100.0, seed=3),
        analysis=dict(
            bands=ALPHA,
            epoch_duration=2.5,
            method="mne_fir",
            precision="double",
            backend="numpy",
            rois="default",
        ),
        surrogates=dict(n_surrogates=9, seed=0),
        insync=dict(
            level1=dict(window=5.0, step=2.5, n_surrogates=19, min_shift=5.0, seed=1),
            level2=dict(segments=[], block=10.0, contrasts=[], n_surrogates=19, seed=1),
            level3=False,
        ),
        statistics=False,
    )
    res = st.run(tmp_path, verbose=False)
    rec = next(iter(res.recordings.values()))
    sur = rec["surrogates"]["all"]
    assert sur.params["epoch_duration"] == 2.5 and sur.params["method"] == "mne_fir"
    assert sur.params["precision"] == "double"
    for lvl in (rec["level1"]["all"], rec["level2"]):
        assert lvl.params["precision"] == "double" and lvl.params["backend"] == "numpy"
        assert set(lvl.params["decim"].values()) == {1}  # mne_fir: full rate
    assert rec["level2"].params["epoch_duration"] == 2.5
    with pytest.raises(hs.study.StudyError, match="level1.*morlet"):
        hs.Study(
            simulate=dict(n_dyads=2, n_sessions=1, segments=[("rest", 30.0)]),
            analysis=dict(method="morlet"),
            insync=dict(level2=False),
        )


def test_deprecated_names_warn_and_give_the_same_numbers(dyad, tmp_path):
    """Old names and spellings keep working, each with a FutureWarning, with equal values."""
    kw = dict(n_surrogates=19, seed=3, rois=None, verbose=False)
    new = hs.surrogate_test(dyad, ALPHA, "plv", null="circular_shift", min_shift=5.0, **kw)
    with pytest.warns(FutureWarning, match="test_sync is deprecated.*surrogate_test"):
        old = hs.test_sync(
            dyad, "circular_shift", 19, ALPHA, "plv", min_shift=5.0, seed=3, verbose=False
        )  # the old positional order and rois=None default
    np.testing.assert_array_equal(old.null, new.null)
    np.testing.assert_array_equal(old.p, new.p)
    assert "test_sync" not in hs.__all__  # star-imports bring no pytest-collectable name
    l1 = dict(window=2.0, step=1.0, min_shift=5.0, seed=0, lead_lag=False, verbose=False)
    ref = hs.level1(dyad, ALPHA, FRONTAL, n_surrogates=19, correction=None, **l1)
    with pytest.warns(FutureWarning, match="n_null is deprecated"):
        with pytest.warns(FutureWarning, match="correction='none' is deprecated"):
            got = hs.level1(dyad, ALPHA, FRONTAL, n_null=19, correction="none", **l1)
    np.testing.assert_array_equal(got.p_values, ref.p_values)
    assert got.params["correction"] is None and got.params["n_surrogates"] == 19
    with pytest.raises(ValueError, match="Pass n_surrogates only"):
        hs.level1(dyad, ALPHA, FRONTAL, n_surrogates=39, n_null=19, **l1)
    with pytest.warns(FutureWarning, match="correction='none' is deprecated"):
        assert hs.surrogate_test(dyad, ALPHA, correction="none", **kw).p_corrected is None
    fname = tmp_path / "dyad_raw.fif"
    dyad.save(fname, verbose=False)
    with pytest.warns(FutureWarning, match="read_dyad_raw is deprecated.*read_dyad_fif"):
        old_raw = hs.read_dyad_raw(fname, verbose=False)
    np.testing.assert_array_equal(old_raw.get_data(), hs.read_dyad_fif(fname).get_data())
    with pytest.warns(FutureWarning, match="read_dyad is deprecated.*read_dyad_files"):
        with pytest.raises(FileNotFoundError):
            hs.io.read_dyad(tmp_path / "a.fif", tmp_path / "b.fif", verbose=False)


def test_one_rois_default_and_a_clear_error():
    """rois='default' everywhere; channels outside every default ROI give an error that
    says how to analyse channel pairs instead.
    """
    for func in (
        hs.compute_sync,
        hs.surrogate_sync,
        hs.surrogate_test,
        hs.pseudo_dyad_test,
        hs.level1,
        hs.level2,
    ):
        assert inspect.signature(func).parameters["rois"].default == "default"
    info = __import__("mne").create_info(["A:x1", "A:x2", "B:x1", "B:x2"], 100.0, "eeg")
    raw = __import__("mne").io.RawArray(
        np.random.default_rng(0).normal(size=(4, 2000)) * 1e-5, info, verbose=False
    )
    with pytest.raises(ValueError, match="No ROI.*Pass rois=None"):
        hs.compute_sync(raw, ALPHA, verbose=False)
    res = hs.compute_sync(raw, ALPHA, rois=None, verbose=False)
    assert res.rows == ["A:x1", "A:x2"] and res.rois is None


@pytest.mark.parametrize("meas_date", [None, 0])
def test_bad_span_of_a_file_not_starting_at_sample_zero(meas_date):
    """A BAD_ span of a recording whose first sample is not sample 0 (a cropped FIF) covers
    the samples under it, with or without a measurement date.
    """
    from hyperinsync.sync.signals import annotation_spans

    raw = mne.io.RawArray(
        np.zeros((2, 2000)), mne.create_info(2, 100.0, "eeg"), first_samp=500, verbose=False
    )
    if meas_date is not None:
        raw.set_meas_date(meas_date)
    # without a meas_date MNE takes onsets from the first sample and adds first_time
    on = 2.0 if meas_date is None else raw.first_time + 2.0
    raw.set_annotations(mne.Annotations([on], [1.0], ["BAD_x"], orig_time=raw.info["meas_date"]))
    start, stop = annotation_spans(raw, [0])
    assert (start[0], stop[0]) == (200, 300)
