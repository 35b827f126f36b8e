"""Tests of the study description and runner (tiny simulated studies)."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import hyperinsync.study.runner as study_mod
from hyperinsync.simulation import simulate_dyad, simulate_study
from hyperinsync.stats import correlation_test, fdr_bh, group_contrast
from hyperinsync.study import RecordingError, Study, StudyError, example_study_toml
from hyperinsync.study.parts import read_part, read_part_header
from hyperinsync.sync import compute_sync

SIM = dict(
    n_dyads=4, n_sessions=1, segments=[["rest", 12.0], ["session", 20.0]], sfreq=100.0, seed=7
)


def same(a, b):
    """Equal SyncResults up to float32 rounding (thread counts differ between workers)."""
    da, db = a.to_dict(), b.to_dict()
    assert da.keys() == db.keys()
    for k in da:
        if isinstance(da[k], np.ndarray):
            np.testing.assert_allclose(da[k], db[k], rtol=1e-5, atol=1e-6)
        else:
            assert da[k] == db[k], k
    return True


def tiny(**kw):
    args = dict(
        simulate=dict(SIM),
        roles=("therapist", "client"),
        analysis=dict(segments=["session"], rois="default"),
        surrogates=dict(n_surrogates=19, seed=1),
        insync=dict(level1=False, level2=False, level3=False),
        statistics=dict(
            n_permutations=199,
            seed=2,
            rois=["frontal", "central"],
            correlate=["alliance_gap"],
            pseudo_dyads=False,
        ),
    )
    args.update(kw)
    return Study(**args)


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("study")
    return out, tiny().run(out, verbose=False)


def test_features_and_group_statistics(first_run):
    """Per-dyad features: raw equals compute_sync, the default (surrogate z) equals
    (observed - null mean) / null SD of surrogate_test on the same segment; stats match
    hyperinsync.stats.
    """
    from hyperinsync.stats import surrogate_test

    _, res = first_run
    sim = simulate_study(
        **{**SIM, "segments": [tuple(s) for s in SIM["segments"]]},
        roles=("therapist", "client"),
        verbose=False,
    )
    feats = res.group["features"]
    labels = [f"session/plv/{b}/{r}" for b in ("theta", "alpha") for r in ("frontal", "central")]
    assert list(feats["labels"]) == labels
    assert feats["feature"] == "z"
    expected, corrected, zs = [], [], []
    for row, raw, _ in sim.iter_recordings():
        seg = raw.copy().crop(12.0, 31.99)  # the last 20 s: samples 1200-3199
        sync = compute_sync(seg, rois="default", verbose=False)
        rn = sync.roi_names[0]
        expected.append(
            [
                sync.get_data("plv", b, level="roi")[rn.index(r), rn.index(r)]
                for b in ("theta", "alpha")
                for r in ("frontal", "central")
            ]
        )
        stored = res.get(row["dyad"], 0)["sync"]["session"]
        assert stored.n_epochs == 10  # 20 s of 'session' in 2-s epochs
        assert same(stored, sync)
        sur = surrogate_test(seg, n_surrogates=19, rois="default", seed=1, verbose=False)
        null_mean = sur.null.mean(axis=0)
        corrected.append(
            [
                sur.observed[0, bi, sur.rows.index(r), sur.cols.index(r)]
                - null_mean[0, bi, sur.rows.index(r), sur.cols.index(r)]
                for bi in range(2)
                for r in ("frontal", "central")
            ]
        )
        null_sd = sur.null.std(axis=0, ddof=1)
        zs.append(
            [
                (
                    sur.observed[0, bi, sur.rows.index(r), sur.cols.index(r)]
                    - null_mean[0, bi, sur.rows.index(r), sur.cols.index(r)]
                )
                / null_sd[0, bi, sur.rows.index(r), sur.cols.index(r)]
                for bi in range(2)
                for r in ("frontal", "central")
            ]
        )
    np.testing.assert_allclose(feats["raw"], expected, rtol=1e-6)
    np.testing.assert_allclose(feats["values"], zs, rtol=1e-4, atol=1e-6)
    # chance level is gone: raw PLV ~ 0.2, observed - null mean ~ 0
    assert np.all(feats["raw"] > 0.15) and np.all(np.abs(np.array(corrected)) < 0.05)
    assert list(feats["groups"]) == [r["group"] for r in sim.table]
    gap = [r["WAI_T"] - r["WAI_C"] for r in sim.table]
    assert list(feats["variables"]["alliance_gap"]) == gap

    con = group_contrast(
        np.array(zs), feats["groups"], n_permutations=199, seed=2, statistic="welch"
    )
    np.testing.assert_allclose(res.group["contrast"]["F"], con["F"], rtol=1e-4)
    np.testing.assert_allclose(res.group["contrast"]["p_perm"], con["p_perm"])
    np.testing.assert_allclose(res.group["contrast"]["p_corrected"], con["p_corrected"])
    assert res.group["contrast"]["statistic"] == "welch"
    assert res.group["contrast"]["correction"] == "fdr"
    assert res.group["contrast"]["family"] == (
        "1 segments x 1 measures x 2 bands x 2 ROI pairs = 4 features"
    )
    assert res.group["contrast"]["d_ci"].shape == (4, 2)
    cor = res.group["correlation"]["alliance_gap"]
    np.testing.assert_allclose(
        cor["r"], [np.corrcoef(np.array(zs)[:, j], gap)[0, 1] for j in range(4)], rtol=1e-4
    )
    ref = correlation_test(np.array(zs), gap, n_permutations=199, seed=np.random.default_rng(2))
    np.testing.assert_allclose(cor["p_perm"], ref["p_perm"])
    np.testing.assert_allclose(cor["p_corrected"], ref["p_corrected"])
    # one segment, one measure: band x ROI within, group between, dyad random
    mixed = res.group["mixed"]["plv"]
    assert sorted(t["term"] for t in mixed["terms"]) == sorted(
        ["group", "band", "group x band", "roi", "group x roi", "band x roi", "group x band x roi"]
    )
    # it is stats.mixed_model on the long table of the (default, z) features
    from hyperinsync.stats import mixed_model

    rows = [
        dict(dyad=d, group=g, band=lab.split("/")[2], roi=lab.split("/")[3], value=zs[i][j])
        for i, (d, g) in enumerate(zip(feats["dyads"], feats["groups"]))
        for j, lab in enumerate(labels)
    ]
    ref = {t["term"]: t["F"] for t in mixed_model(rows, within=["band", "roi"])["terms"]}
    for t in mixed["terms"]:
        assert t["F"] == pytest.approx(ref[t["term"]], rel=1e-3)
    # surrogates were run on the same segment: their observed ROI values are the raw ones
    sur = res.get("dyad01", 0)["surrogates"]["session"]
    i = sur.rows.index("central")
    assert sur.observed[0, 1, i, i] == pytest.approx(expected[0][3], rel=1e-5)
    table = res.to_table()
    assert {"p", "z"} <= set(table.columns)
    assert res.params["surrogates"]["n_surrogates"] == 19
    assert "mne" in res.versions


def test_raw_feature_and_statistics_options(first_run, tmp_path):
    """The feature 'raw' gives compute_sync's values; bad options are refused up front."""
    out, res = first_run
    raw = tiny(
        statistics=dict(
            n_permutations=99,
            seed=2,
            rois=["frontal", "central"],
            feature="raw",
            correction="maxstat",
            statistic="F",
            pseudo_dyads=False,
        )
    ).run(out, verbose=False)
    assert raw.run_info["computed"] == []  # group options do not invalidate recordings
    feats = raw.group["features"]
    np.testing.assert_allclose(feats["values"], res.group["features"]["raw"])
    con = group_contrast(
        feats["values"], feats["groups"], n_permutations=99, seed=2, correction="maxstat"
    )
    np.testing.assert_allclose(raw.group["contrast"]["p_corrected"], con["p_corrected"])
    with pytest.raises(StudyError, match="feature = 'z'.*\\[surrogates\\] is false"):
        tiny(surrogates=False)
    with pytest.raises(StudyError, match="feature must be one of corrected, z, raw"):
        tiny(statistics=dict(feature="zscore"))
    with pytest.raises(StudyError, match="correction must be"):
        tiny(statistics=dict(correction="bonferroni"))
    with pytest.raises(StudyError, match="ci must be a confidence level"):
        tiny(statistics=dict(ci=95))


def test_resume_and_parameter_changes(first_run):
    out, res = first_run
    again = tiny().run(out, verbose=False)
    assert again.run_info["computed"] == []
    assert len(again.run_info["skipped"]) == 4
    assert again.get("dyad02", 0)["sync"]["session"] == res.get("dyad02", 0)["sync"]["session"]
    # group-level parameters do not invalidate the recordings
    st = tiny(statistics=dict(n_permutations=99, rois=["frontal"]))
    assert st.run(out, verbose=False).run_info["computed"] == []
    # a recording-level parameter does
    changed = tiny(analysis=dict(segments=["session"], rois="default", epoch_duration=4.0))
    info = changed.run(out, verbose=False).run_info
    assert len(info["computed"]) == 4
    assert (
        read_part(out / "parts" / "dyad01__ses-0.h5")["sync"]["session"]["params"]["epoch_duration"]
        == 4.0
    )


def test_failure_mid_run_then_resume(tmp_path, monkeypatch):
    """An exception in one recording stops the run with an error naming it; the parts done
    are kept and the next run computes only the rest. keep_going finishes the others.
    """
    real = study_mod._process

    def flaky(job):
        if job["dyad"] == "dyad03":
            raise RuntimeError("disk on fire")
        return real(job)

    monkeypatch.setattr(study_mod, "_process", flaky)
    with pytest.raises(
        RecordingError,
        match=r"^dyad03 session 0 \(simulated\): "
        r"RuntimeError: disk on fire$",
    ):
        tiny().run(tmp_path, verbose=False)
    parts = sorted(p.name for p in (tmp_path / "parts").iterdir())
    assert parts == ["dyad01__ses-0.h5", "dyad02__ses-0.h5"]  # stopped at dyad03
    assert not (tmp_path / "results.h5").exists()
    with pytest.warns(RuntimeWarning, match=r"1 recording\(s\) failed .*: dyad03 session 0"):
        res = tiny().run(tmp_path, keep_going=True, verbose=False)
    assert res.run_info["computed"] == [("dyad04", 0)]
    assert res.run_info["failed"] == [("dyad03", 0)]
    assert res.dyads == ["dyad01", "dyad02", "dyad04"]
    assert list(res.group["features"]["dyads"]) == res.dyads
    assert res.failures == [
        dict(dyad="dyad03", session=0, files=[], error="RuntimeError", message="disk on fire")
    ]
    monkeypatch.setattr(study_mod, "_process", real)
    res = tiny().run(tmp_path, verbose=False)
    assert res.run_info["computed"] == [("dyad03", 0)]
    assert res.dyads == ["dyad01", "dyad02", "dyad03", "dyad04"] and res.failures == []


def test_killed_run_resumes(tmp_path):
    """SIGKILL after the first part is written: parts stay valid and the run resumes."""
    script = tmp_path / "run.py"
    script.write_text(
        textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        from test_study import tiny
        tiny().run({str(tmp_path / "out")!r}, verbose=False)
    """)
    )
    proc = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    parts = tmp_path / "out" / "parts"
    first = parts / "dyad01__ses-0.h5"
    try:
        while not first.exists() and proc.poll() is None:
            time.sleep(0.02)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert first.exists(), proc.stderr.read().decode()
    assert not (tmp_path / "out" / "results.h5").exists() or proc.returncode == 0
    done = [p for p in parts.glob("*.h5")]
    for p in done:
        assert read_part_header(p)[0] is True
    res = tiny().run(tmp_path / "out", verbose=False)
    assert len(res.run_info["skipped"]) == len(done)
    assert len(res.run_info["computed"]) == 4 - len(done)
    # the killed run's temporary files are gone: nothing half-written survives
    assert not [p for p in (tmp_path / "out").rglob(".*") if p.name != ".hyperinsync.lock"]
    fresh = tiny().run(tmp_path / "fresh", verbose=False)
    for d in fresh.dyads:
        assert same(res.get(d)["sync"]["session"], fresh.get(d)["sync"]["session"])


def test_parallel_joblib_and_dask(first_run, tmp_path):
    """Two joblib jobs and a 2-worker Dask LocalCluster give the serial results."""
    from distributed import Client, LocalCluster

    _, serial = first_run
    par = tiny().run(tmp_path / "joblib", n_jobs=2, verbose=False)
    # the scheduler's HTTP server on a free port (its default, 8787, may be taken)
    with (
        LocalCluster(
            n_workers=2,
            processes=False,
            threads_per_worker=1,
            dashboard_address=None,
            scheduler_kwargs=dict(dashboard=False, dashboard_address="127.0.0.1:0"),
        ) as cluster,
        Client(cluster) as client,
    ):
        dask = tiny().run(tmp_path / "dask", scheduler=client, verbose=False)
    for d in serial.dyads:
        assert same(par.get(d)["sync"]["session"], serial.get(d)["sync"]["session"])
        assert same(dask.get(d)["sync"]["session"], serial.get(d)["sync"]["session"])
    np.testing.assert_allclose(
        dask.group["contrast"]["F"], serial.group["contrast"]["F"], rtol=1e-4
    )


@pytest.mark.slow
def test_dask_local_process_workers(first_run, tmp_path):
    _, serial = first_run
    res = tiny(surrogates=False, statistics=dict(feature="raw", pseudo_dyads=False)).run(
        tmp_path, n_jobs=2, scheduler="local", verbose=False
    )
    for d in serial.dyads:
        assert same(res.get(d)["sync"]["session"], serial.get(d)["sync"]["session"])


def test_insync_levels_and_pseudo_dyads(tmp_path):
    """Level 1, Level 3 (3 sessions) and pseudo-dyads are stored and read back as objects."""
    st = tiny(
        # 2 dyads (one per group: the contrast is skipped), 3 sessions for Level 3
        simulate=dict(SIM, n_dyads=2, n_sessions=3, trend_per_session=0.1),
        surrogates=False,
        insync=dict(
            level1=dict(window=4.0, step=2.0, n_surrogates=19, lead_lag=False, min_shift=4.0),
            level2=False,
            level3=dict(),
        ),
        statistics=dict(
            n_permutations=99,
            seed=0,
            rois=["central"],
            feature="raw",
            pseudo_dyads=dict(n_surrogates=6),
        ),
    )
    res = st.run(tmp_path, verbose=False)
    l1 = res.get("dyad02", 2)["level1"]["all"]
    assert type(l1).__name__ == "InSyncLevel1"
    assert l1.times[-1] <= 32.0
    l3 = res.group["level3"]
    assert set(l3) == {"session/plv/theta/central", "session/plv/alpha/central"}
    summ = [l3[k].summary for k in ("session/plv/theta/central", "session/plv/alpha/central")]
    np.testing.assert_allclose([d["p_corrected"] for d in summ], fdr_bh([d["p"] for d in summ])[1])
    assert summ[0]["correction"] == "fdr" and summ[0]["feature"] == "raw"
    assert summ[0]["family"] == "1 segments x 1 measures x 2 bands x 1 ROI pairs = 2 features"
    slope = l3["session/plv/alpha/central"].summary["mean_slope"]
    vals = np.array(
        [
            [
                res.get(d, s)["sync"]["session"].get_data("plv", "alpha", level="roi")[1, 1]
                for s in range(3)
            ]
            for d in res.dyads
        ]
    )
    assert slope == pytest.approx(np.mean([np.polyfit(range(3), v, 1)[0] for v in vals]))
    pseudo = res.group["pseudo_dyads"]["session"]
    assert pseudo.observed.shape[0] == 2
    assert res.group.get("contrast") is None
    assert pseudo.params["dyads"] == res.dyads
    # the group step of a parallel run (recordings read in 2 processes, surrogates in 2
    # threads) gives the same pseudo-dyad test
    from hyperinsync.study.parts import part_name

    parts = [tmp_path / "parts" / part_name(r["dyad"], r["session"]) for r in st.recordings]
    par = st._group_statistics(parts, n_jobs=2)["pseudo_dyads"]["session"]
    ref = pseudo.to_dict()
    assert sum(isinstance(v, np.ndarray) for v in par.values()) >= 3  # observed, null, p
    for key, value in par.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_allclose(value, ref[key], rtol=1e-6, atol=1e-7, err_msg=key)


def test_group_step_worker_warnings():
    """A warning given in the group step's worker process reaches the caller."""
    from joblib import Parallel, delayed

    from hyperinsync.study.group import _in_worker, _Pending

    work = Parallel(n_jobs=2, return_as="generator")(
        [delayed(_in_worker)(np.log, np.array([0.0, 1.0]))]
    )
    with pytest.warns(RuntimeWarning, match="divide by zero"):
        out = _Pending(work).result()
    np.testing.assert_array_equal(out, [-np.inf, 0.0])


# ----------------------------------------------------------------------------------- files
def _write_fif_study(tmp_path, n=2):
    sim = simulate_study(
        n_dyads=n,
        segments=[("session", 12.0)],
        sfreq=100.0,
        seed=1,
        roles=("T", "C"),
        verbose=False,
    )
    lines = [
        '[study]\nname = "fif"\nroles = ["T", "C"]\ndata_dir = "data"\n',
        '[analysis]\nsegments = ["all"]\n',
        "[surrogates]\nn_surrogates = 19\n",
        "[insync]\nlevel1 = false\nlevel2 = false\nlevel3 = false\n",
        "[statistics]\ncontrast = false\npseudo_dyads = false\n",
    ]
    (tmp_path / "data").mkdir()
    for row, raw, _ in sim.iter_recordings():
        raw.save(tmp_path / "data" / f"{row['dyad']}_raw.fif", verbose=False)
        lines.append(
            f'[[dyads]]\nname = "{row["dyad"]}"\ngroup = "{row["group"]}"\n'
            f"variables = {{ WAI_T = {row['WAI_T']} }}\n"
            f"[[dyads.sessions]]\nindex = 0\ndate = 2024-01-0{row['session'] + 1}\n"
            f'file = "{row["dyad"]}_raw.fif"\n'
        )
    toml = tmp_path / "study.toml"
    toml.write_text("\n".join(lines))
    return toml, sim


def test_file_study_and_input_hash(tmp_path):
    toml, sim = _write_fif_study(tmp_path)
    st = Study.from_toml(toml)
    res = st.run(tmp_path / "out", verbose=False)
    raw, _ = sim.get_dyad(0, verbose=False)
    ref = compute_sync(raw, rois="default", verbose=False)
    assert np.allclose(res.get("dyad01")["sync"]["all"].data, ref.data, rtol=1e-5)
    assert res.study_toml == toml.read_text()
    assert res.get("dyad01")["meta"]["date"] == "2024-01-01"
    # replace one input file: only that recording is recomputed
    raw2, _ = sim.get_dyad(1, verbose=False)
    raw2.save(tmp_path / "data" / "dyad01_raw.fif", overwrite=True, verbose=False)
    again = Study.from_toml(toml).run(tmp_path / "out", verbose=False)
    assert again.run_info["computed"] == [("dyad01", 0)]
    assert again.get("dyad01")["sync"]["all"] == again.get("dyad02")["sync"]["all"]


def test_bad_study_files(tmp_path):
    toml, _ = _write_fif_study(tmp_path)
    text = toml.read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("[analysis]\n", "[analysis]\nbandz = 1\n"))
    with pytest.raises(
        StudyError,
        match=r"Unknown key\(s\) \['bandz'\] in \[analysis\]. "
        r"Valid keys: bands, measures",
    ):
        Study.from_toml(bad)
    bad.write_text(text.replace("[study]", "[studdy]"))
    with pytest.raises(StudyError, match="studdy.*Valid keys: study, reader"):
        Study.from_toml(bad)
    for f in (tmp_path / "data").iterdir():
        f.unlink()
    with pytest.raises(StudyError, match=r"2 input file\(s\) not found") as err:
        Study.from_toml(toml)
    assert "dyad01_raw.fif" in str(err.value) and "dyad02_raw.fif" in str(err.value)


def test_example_toml_and_role_errors(tmp_path):
    text = example_study_toml()
    (tmp_path / "s.toml").write_text(text)
    # all four files of the example are reported at once, before any work
    with pytest.raises(StudyError, match=r"4 input file\(s\) not found"):
        Study.from_toml(tmp_path / "s.toml")
    for rel in (
        "dyad01/therapist.Poly5",
        "dyad01/client.Poly5",
        "dyad01/session1.xdf",
        "dyad02/session0.Poly5",
    ):
        path = tmp_path / "data" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    st = Study.from_toml(tmp_path / "s.toml")
    modes = [r["source"]["mode"] for r in st.recordings]
    assert modes == ["files", "xdf", "split"]
    assert st.recordings[0]["source"]["options"] == {
        "sync": "events",
        "stim_channel": "TRIGGERS",
        "montage": "tmsi-mobita-32",
    }
    assert st.insync["level1"] == {"window": 6.0}
    files = [dict(index=0, files={"therapist": "a", "patient": "b"})]
    with pytest.raises(
        StudyError,
        match=r"one file per role \['therapist', 'client'\], got "
        r"\['therapist', 'patient'\]",
    ):
        Study([dict(name="d", sessions=files)], roles=("therapist", "client"))
    split = [
        dict(
            index=0, file="x.vhdr", reader=dict(format="split", mapping={"A": ["Fz"], "X": ["Cz"]})
        )
    ]
    with pytest.raises(StudyError, match="mapping keys"):
        Study([dict(name="d", sessions=split)], roles=("A", "B"))
    with pytest.raises(StudyError, match="do not apply to 'files'"):
        Study(
            [
                dict(
                    name="d",
                    sessions=[dict(files={"A": "a", "B": "b"}, reader=dict(streams=["x", "y"]))],
                )
            ]
        )
    with pytest.raises(StudyError, match="not one of \\[study\\] groups"):
        Study([dict(name="d", group="mindfull", sessions=files)], groups=["mindful"])
    with pytest.raises(StudyError, match="either dyads"):
        Study([dict(name="d")], simulate=dict(n_dyads=2))
    with pytest.raises(StudyError, match=r"Unknown key\(s\) \['n_dyad'\] in \[simulate\]"):
        Study(simulate=dict(n_dyad=2))


def test_two_file_and_split_sessions(tmp_path):
    """A study reads two Poly5 files aligned on pulses, and one file with both caps."""
    import mne

    from hyperinsync.io import write_poly5

    sf = 100.0
    raw, _ = simulate_dyad(duration=30.0, sfreq=sf, roles=("T", "C"), seed=5, verbose=False)
    data = tmp_path / "data"
    data.mkdir()
    pulses = np.array([1.3, 3.1, 6.0, 7.7, 11.2, 14.9, 16.0, 21.5, 25.3])  # irregular
    people = {}
    for role, fname in (("T", "a.Poly5"), ("C", "b.Poly5")):
        person = raw.participant(role)
        stim = np.zeros((1, person.n_times))
        for t in pulses:
            stim[0, int(round(t * sf)) : int(round(t * sf)) + 3] = 1
        info = mne.create_info(["TRIGGERS"], sf, "stim")
        person.add_channels([mne.io.RawArray(stim, info, verbose=False)], force_update_info=True)
        write_poly5(data / fname, person)
        people[role] = raw.participant(role)
    both = people["T"].copy().rename_channels(lambda n: f"{n}_1")
    both.add_channels([people["C"].copy().rename_channels(lambda n: f"{n}_2")])
    both.save(data / "both_raw.fif", verbose=False)
    toml = tmp_path / "study.toml"
    toml.write_text(
        '[study]\nname = "files"\nroles = ["T", "C"]\ndata_dir = "data"\n'
        '[analysis]\nsegments = ["all"]\n[surrogates]\nn_surrogates = 19\n'
        "[insync]\nlevel1 = false\nlevel2 = false\nlevel3 = false\n"
        "[statistics]\ncontrast = false\npseudo_dyads = false\n"
        '[[dyads]]\nname = "d1"\n'
        '[[dyads.sessions]]\nindex = 0\nfiles = { T = "a.Poly5", C = "b.Poly5" }\n'
        'reader = { stim_channel = "TRIGGERS" }\n'
        '[[dyads.sessions]]\nindex = 1\nfile = "both_raw.fif"\n'
        "reader = { format = \"split\", pattern = '(?P<name>.+)_(?P<role>[12])$', "
        'role_map = { "1" = "T", "2" = "C" } }\n'
    )
    res = Study.from_toml(toml).run(tmp_path / "out", verbose=False)
    ref = compute_sync(raw, rois="default", verbose=False)
    two_files = res.get("d1", 0)["sync"]["all"]
    split = res.get("d1", 1)["sync"]["all"]
    # Poly5 stores float32 microvolts and FIF float32 volts: agreement to float32 rounding
    np.testing.assert_allclose(two_files.data, ref.data, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(split.data, ref.data, rtol=1e-4, atol=1e-6)
    assert two_files.n_epochs == split.n_epochs == ref.n_epochs == 15
    report = res.get("d1", 0)["meta"]["alignment"]
    assert report["n_pulses"] == len(pulses) and abs(report["drift_ppm"]) < 0.01


def test_xdf_session(tmp_path):
    """A study reads one XDF file with a stream per person (LSL), on the streams' clocks."""
    sys.path.insert(0, os.path.dirname(__file__))
    from xdf_writer import write_xdf

    sf = 200.0
    raw, _ = simulate_dyad(duration=30.0, sfreq=sf, roles=("T", "C"), seed=9, verbose=False)
    data = tmp_path / "data"
    data.mkdir()
    streams = []
    for role, offset in (("T", 0.0), ("C", -250.0)):  # C's clock runs 250 s behind
        person = raw.participant(role)
        stamps = 100.0 + np.arange(person.n_times) / sf + offset
        streams.append(
            dict(
                name=f"EEG-{role}",
                type="EEG",
                srate=sf,
                fmt="float32",
                data=person.get_data().T * 1e6,
                stamps=stamps,
                labels=person.ch_names,
                unit="microvolts",
                source_id=f"src{role}",
                hostname=f"host{role}",
                clock_offsets=[(t + offset, -offset) for t in np.arange(100.0, 131.0, 5.0)],
            )
        )
    write_xdf(data / "s.xdf", streams)
    toml = tmp_path / "study.toml"
    toml.write_text(
        '[study]\nname = "xdf"\nroles = ["T", "C"]\ndata_dir = "data"\n'
        '[analysis]\nsegments = ["all"]\n[surrogates]\nn_surrogates = 19\n'
        "[insync]\nlevel1 = false\nlevel2 = false\nlevel3 = false\n"
        "[statistics]\ncontrast = false\npseudo_dyads = false\n"
        '[[dyads]]\nname = "d1"\n[[dyads.sessions]]\nindex = 0\nfile = "s.xdf"\n'
        'reader = { format = "xdf", streams = ["EEG-T", "EEG-C"] }\n'
    )
    res = Study.from_toml(toml).run(tmp_path / "out", verbose=False)
    got = res.get("d1", 0)["sync"]["all"]
    ref = compute_sync(raw, rois="default", verbose=False)
    assert got.n_epochs == ref.n_epochs
    # the streams' clocks are put back on one grid exactly: float32 rounding only
    np.testing.assert_allclose(got.data, ref.data, atol=1e-5)
    assert res.get("d1", 0)["meta"]["alignment"]["method"] == "xdf-clock-sync"


def test_groups_differing_only_in_alpha_power(tmp_path):
    """Issue 11 item 2: a stronger alpha rhythm raises chance PLV. Two groups of uncoupled
    dyads, one with extra (independent) alpha: raw alpha PLV differs between the groups, the
    surrogate-corrected features (corrected and the default z) do not.
    """
    import mne
    from scipy import fft as sp_fft

    from hyperinsync.montage import read_montage

    pos = read_montage("standard-32").get_positions()["ch_pos"]
    rois = {"frontal": ["F3", "Fz", "F4"], "central": ["C3", "Cz", "C4"]}
    montage = mne.channels.make_dig_montage(
        {c: pos[c] for r in rois.values() for c in r}, coord_frame="head"
    )
    rng = np.random.default_rng(0)
    dyads = []
    (tmp_path / "data").mkdir()
    for k in range(10):
        raw, _ = simulate_dyad(
            duration=30.0, sfreq=100.0, montage=montage, couplings=[], seed=k, verbose=False
        )
        group = "alpha" if k % 2 else "plain"
        if group == "alpha":  # an alpha-peaked background of its own on every channel
            n = raw.n_times
            amp = np.exp(-0.5 * ((sp_fft.rfftfreq(n, 0.01) - 10.0) / 0.8) ** 2)
            spec = (
                rng.standard_normal((12, amp.size)) + 1j * rng.standard_normal((12, amp.size))
            ) * amp
            extra = sp_fft.irfft(spec, n)
            raw._data += 1.5 * extra * raw._data.std(1, keepdims=True) / extra.std(1, keepdims=True)
        raw.save(tmp_path / "data" / f"d{k}_raw.fif", verbose=False)
        dyads.append(dict(name=f"d{k}", group=group, sessions=[dict(file=f"data/d{k}_raw.fif")]))
    kw = dict(
        roles=("A", "B"),
        base_dir=tmp_path,
        analysis=dict(bands={"alpha": [8, 13]}, rois=rois),
        surrogates=dict(n_surrogates=39, seed=1),
        insync=dict(level1=False, level2=False, level3=False),
    )
    stat = dict(n_permutations=999, seed=0, pseudo_dyads=False, mixed=False)
    res = Study(dyads, statistics=dict(stat, feature="corrected"), **kw).run(
        tmp_path / "out", verbose=False
    )
    z_res = Study(dyads, statistics=stat, **kw).run(tmp_path / "out", verbose=False)
    assert z_res.run_info["computed"] == [] and z_res.group["features"]["feature"] == "z"
    assert np.all(z_res.group["contrast"]["p_perm"] > 0.05)
    raw_res = Study(dyads, statistics=dict(stat, feature="raw"), **kw).run(
        tmp_path / "out", verbose=False
    )
    assert raw_res.run_info["computed"] == []
    con, raw_con = res.group["contrast"], raw_res.group["contrast"]
    assert list(con["groups"]) == ["alpha", "plain"]
    # chance PLV: ~0.2 without extra alpha, far higher with it; both groups are uncoupled
    assert np.all(raw_con["diff"] > 0.05) and np.all(raw_con["p_perm"] < 0.01)
    assert np.all(np.abs(con["diff"]) < 0.2 * raw_con["diff"])
    assert np.all(con["p_perm"] > 0.05) and np.all(con["p_corrected"] > 0.05)
