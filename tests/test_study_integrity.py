"""A study run again gives exactly what a fresh run gives; one run per output folder; safe
names; one-line errors per recording; damaged files detected (tiny file-based studies).
"""

import itertools
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import h5py
import mne
import numpy as np
import pytest
import scipy.io

import hyperinsync
import hyperinsync.study.runner as study_mod
from hyperinsync.cli import main
from hyperinsync.simulation import simulate_dyad
from hyperinsync.study import (
    RecordingError,
    ResultsError,
    Study,
    StudyError,
    lock_output,
    read_results,
)

ROLES = ("T", "C")
CHANNELS = ["Fz", "Cz", "C3", "C4"]
SPLIT = (
    "reader = { format = \"split\", pattern = '(?P<name>.+)_(?P<role>[12])$', "
    'role_map = { "1" = "T", "2" = "C" } }\n'
)


def _dyad(seed, duration=40.0, sfreq=100.0):
    raw, _ = simulate_dyad(duration=duration, sfreq=sfreq, roles=ROLES, seed=seed, verbose=False)
    return raw.pick([f"{r}:{c}" for r in ROLES for c in CHANNELS])


def _one_file_data(raw):
    """Both people's data (µV) and channel names 'Fz_1' (T), 'Fz_2' (C)."""
    names = [f"{c}_{i}" for i, _ in enumerate(ROLES, 1) for c in CHANNELS]
    return raw.get_data() * 1e6, names


def write_brainvision(vhdr, raw, markers=()):
    """A BrainVision header, binary data file and marker file holding both people."""
    data, names = _one_file_data(raw)
    data.T.astype("<f4").tofile(vhdr.with_suffix(".eeg"))
    chans = "".join(f"Ch{i}={n},,1,µV\n" for i, n in enumerate(names, 1))
    vhdr.write_text(
        "Brain Vision Data Exchange Header File Version 1.0\n[Common Infos]\nCodepage=UTF-8\n"
        f"DataFile={vhdr.stem}.eeg\nMarkerFile={vhdr.stem}.vmrk\nDataFormat=BINARY\n"
        f"DataOrientation=MULTIPLEXED\nNumberOfChannels={len(names)}\n"
        f"SamplingInterval={int(1e6 / raw.info['sfreq'])}\n[Binary Infos]\n"
        f"BinaryFormat=IEEE_FLOAT_32\n[Channel Infos]\n{chans}",
        encoding="utf-8",
    )
    marks = "".join(
        f"Mk{i}={kind},{desc},{start},{n},0\n"
        for i, (kind, desc, start, n) in enumerate(markers, 2)
    )
    vhdr.with_suffix(".vmrk").write_text(
        "Brain Vision Data Exchange Marker File, Version 1.0\n[Common Infos]\n"
        f"Codepage=UTF-8\nDataFile={vhdr.stem}.eeg\n[Marker Infos]\n"
        f"Mk1=New Segment,,1,1,0\n{marks}",
        encoding="utf-8",
    )


def write_eeglab(fname, raw):
    """An EEGLAB .set whose data live in a separate .fdt file (both people)."""
    data, names = _one_file_data(raw)
    fdt = fname.with_suffix(".fdt")
    data.T.astype("<f4").tofile(fdt)  # samples x channels, as EEGLAB writes
    empty = np.array([])
    chan = np.zeros(len(names), dtype=[(k, object) for k in ("labels", "type", "X", "Y", "Z")])
    for i, n in enumerate(names):
        chan[i] = (n, "EEG", empty, empty, empty)
    n, sf = data.shape[1], raw.info["sfreq"]
    eeg = dict(
        setname=fname.stem,
        filename=fname.name,
        filepath="",
        nbchan=len(names),
        trials=1,
        pnts=n,
        srate=sf,
        xmin=0.0,
        xmax=(n - 1) / sf,
        data=fdt.name,
        chanlocs=chan,
        event=np.zeros(0),
        icawinv=empty,
        icasphere=empty,
        icaweights=empty,
        ref="common",
    )
    scipy.io.savemat(fname, {"EEG": eeg}, appendmat=False)


def write_split_fif(fname, raw):
    """A saved dyad split into several FIF files (MNE's -1.fif, -2.fif pieces)."""
    raw.save(fname, split_size=1_100_000, buffer_size_sec=1, overwrite=True, verbose=False)
    pieces = [fname] + sorted(
        fname.parent.glob(fname.name.replace(".fif", "-*.fif")),
        key=lambda p: int(p.stem.rsplit("-", 1)[1]),
    )
    assert len(pieces) >= 2, pieces
    return pieces


def write_study(root, statistics=None, rois=None):
    """Four dyads, one per reader that opens companion files (and one plain FIF); ``rois``:
    how the study names the ROI file (default: its absolute path).
    """
    data = root / "data"
    data.mkdir(parents=True)
    write_brainvision(data / "bv.vhdr", _dyad(1))
    write_eeglab(data / "set.set", _dyad(2))
    write_split_fif(data / "split_raw.fif", _dyad(3))
    _dyad(4).save(data / "plain_raw.fif", verbose=False)
    (data / "rois.txt").write_text("front: Fz, Cz\nside: C3, C4\n")
    rois = rois or (data / "rois.txt").as_posix()
    statistics = statistics or (
        'n_permutations = 99\nseed = 3\nrois = ["front", "side"]\n'
        'feature = "raw"\n'
        'correlate = ["WAI"]\npseudo_dyads = false\n'
    )
    toml = root / "study.toml"
    toml.write_text(
        "surrogates = false\n"
        '[study]\nname = "integrity"\nroles = ["T", "C"]\ngroups = ["A", "B"]\n'
        'data_dir = "data"\n'
        f'[analysis]\nsegments = ["all"]\nrois = "{rois}"\nepoch_duration = 2.0\n'
        "[insync]\nlevel1 = false\nlevel2 = false\nlevel3 = false\n"
        f"[statistics]\n{statistics}"
        '[[dyads]]\nname = "bv"\ngroup = "A"\nvariables = { WAI = 60 }\n'
        f'[[dyads.sessions]]\nindex = 0\nfile = "bv.vhdr"\n{SPLIT}'
        '[[dyads]]\nname = "set"\ngroup = "B"\nvariables = { WAI = 70 }\n'
        f'[[dyads.sessions]]\nindex = 0\nfile = "set.set"\n{SPLIT}'
        '[[dyads]]\nname = "split"\ngroup = "A"\nvariables = { WAI = 65 }\n'
        '[[dyads.sessions]]\nindex = 0\nfile = "split_raw.fif"\n'
        '[[dyads]]\nname = "plain"\ngroup = "B"\nvariables = { WAI = 50 }\n'
        '[[dyads.sessions]]\nindex = 0\nfile = "plain_raw.fif"\n'
    )
    return toml


def assert_same(a, b, where="results"):
    """Exactly equal results (only run times and creation times may differ)."""
    if hasattr(a, "to_dict"):
        a, b = a.to_dict(), b.to_dict()
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            if k not in ("elapsed_s", "created"):
                assert_same(a[k], b[k], f"{where}/{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}/{i}")
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b, err_msg=where)
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b), where
    else:
        assert a == b, where


def assert_same_results(resumed, fresh):
    assert sorted(resumed.recordings) == sorted(fresh.recordings)
    for key in fresh.recordings:
        assert_same(resumed.recordings[key], fresh.recordings[key], str(key))
    assert_same(resumed.group, fresh.group, "group")
    assert resumed.params == fresh.params and resumed.versions == fresh.versions


def test_resumed_run_equals_fresh_run_after_any_edit(tmp_path, monkeypatch):
    """Each input edited in turn: a resumed run recomputes exactly what changed and gives
    exactly the numbers of a fresh run (data files and their companions, ROI file, dyad
    facts in the study file, package version).
    """
    toml = write_study(tmp_path)
    data = tmp_path / "data"
    out = tmp_path / "out"
    fresh_dirs = (tmp_path / f"fresh{i}" for i in itertools.count())

    def check(recomputed):
        resumed = Study.from_toml(toml).run(out, verbose=False)
        fresh_dir = next(fresh_dirs)
        fresh = Study.from_toml(toml).run(fresh_dir, verbose=False)
        assert_same_results(resumed, fresh)
        assert sorted(d for d, _ in resumed.run_info["computed"]) == sorted(recomputed)
        shutil.rmtree(fresh_dir)
        return resumed

    first = Study.from_toml(toml).run(out, verbose=False)
    # every file a reader opened (and the ROI file), named relative to the data folder
    assert set(first.get("bv")["inputs"]) == {"bv.vhdr", "bv.eeg", "bv.vmrk", "rois.txt"}
    assert set(first.get("set")["inputs"]) == {"set.set", "set.fdt", "rois.txt"}
    assert set(first.get("split")["inputs"]) == {p.name for p in data.glob("split_raw*.fif")} | {
        "rois.txt"
    }
    check([])

    # a companion of the file the study names: BrainVision data, then markers (a BAD span)
    bv = _dyad(11)
    write_brainvision(data / "scratch.vhdr", bv)
    shutil.copy(data / "scratch.eeg", data / "bv.eeg")
    res = check(["bv"])
    assert res.get("bv")["sync"]["all"].n_epochs == 20
    vmrk = (data / "bv.vmrk").read_text()
    (data / "bv.vmrk").write_text(vmrk + "Mk2=BAD_art,x,1001,1000,0\n")
    res = check(["bv"])
    assert res.get("bv")["sync"]["all"].n_epochs == 15  # 10 s excluded
    # EEGLAB data file
    write_eeglab(data / "scratch.set", _dyad(12))
    shutil.copy(data / "scratch.fdt", data / "set.fdt")
    check(["set"])
    # the last piece of a split FIF file
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    edited = _dyad(3)
    edited._data[:, -500:] *= 2
    last = write_split_fif(scratch / "split_raw.fif", edited)[-1]
    shutil.copy(last, data / last.name)
    check(["split"])
    # the contents of the ROI file (not its name)
    (data / "rois.txt").write_text("front: Fz, C3\nside: Cz, C4\n")
    check(["bv", "set", "split", "plain"])
    # dyad-level facts of the study file: no recording changes, the statistics do
    text = toml.read_text()
    before = Study.from_toml(toml).run(out, verbose=False).group
    toml.write_text(
        text.replace('"bv"\ngroup = "A"', '"bv"\ngroup = "B"').replace(
            '"set"\ngroup = "B"', '"set"\ngroup = "A"'
        )
    )
    res = check([])
    assert res.get("bv")["meta"]["group"] == "B"
    assert not np.allclose(res.group["contrast"]["F"], before["contrast"]["F"])
    toml.write_text(toml.read_text().replace("WAI = 60", "WAI = 75"))
    res = check([])
    assert res.group["features"]["variables"]["WAI"][0] == 75
    # a new version of the package
    monkeypatch.setattr(hyperinsync, "__version__", "99.0")
    res = check(["bv", "set", "split", "plain"])
    assert res.versions["hyperinsync"] == "99.0"


def test_cache_key_covers_library_versions_and_code(monkeypatch):
    versions = study_mod._cache_versions()
    assert {
        "hyperinsync",
        "hyperinsync_code",
        "mne",
        "numpy",
        "scipy",
        "mne_connectivity",
        "h5py",
        "pyxdf",
        "python",
        "cupy",
    } <= set(versions)
    monkeypatch.setattr(mne, "__version__", "0.0")
    assert study_mod._cache_versions()["mne"] == "0.0"


def test_other_working_directory_reuses(tmp_path, monkeypatch):
    """Relative paths (data and ROI files) start at the study's data folder: run from
    elsewhere, everything is reused.
    """
    write_study(tmp_path, rois="rois.txt")
    monkeypatch.chdir(tmp_path)
    out = (tmp_path / "out").resolve()
    first = Study.from_toml("study.toml").run(out, verbose=False)
    assert len(first.run_info["computed"]) == 4
    monkeypatch.chdir(tmp_path / "data")
    again = Study.from_toml("../study.toml").run(out, verbose=False)
    assert again.run_info["computed"] == [] and len(again.run_info["skipped"]) == 4
    assert_same_results(again, first)


# ------------------------------------------------------------------------- concurrent runs
HOLDER = textwrap.dedent("""
    import sys, time
    from hyperinsync.study import lock_output
    with lock_output(sys.argv[1]):
        print("locked", flush=True)
        time.sleep(600)
""")


def test_second_run_is_refused_and_spares_the_first_runs_files(tmp_path, capsys):
    """While another process holds the output folder, a run is refused before touching it;
    once that process is killed, the lock is free and its leftovers are cleaned.
    """
    toml = write_study(tmp_path)
    out = tmp_path / "out"
    (out / "parts").mkdir(parents=True)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(out)], stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == b"locked"
        # a file the other run is writing right now
        live = out / "parts" / f".bv__ses-0.h5.{holder.pid}.0123abcd.part"
        live.write_bytes(b"half")
        with pytest.raises(StudyError, match="Another hyperinsync run is writing into"):
            Study.from_toml(toml).run(out, verbose=False)
        assert main(["run", str(toml), "--out", str(out), "--no-report"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Another hyperinsync run is writing into" in err
        assert live.exists() and not (out / "results.h5").exists()
        assert sorted(p.name for p in (out / "parts").iterdir()) == [live.name]
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # the OS released the killed process's lock; its half-written file is removed
    res = Study.from_toml(toml).run(out, verbose=False)
    assert len(res.run_info["computed"]) == 4
    assert not live.exists()


RUNNER = textwrap.dedent("""
    import pathlib, sys, time
    sys.path.insert(0, sys.argv[3])  # the hyperinsync this test imported, not the cwd's
    import hyperinsync.study as sm
    import hyperinsync.study.runner as runner
    real = runner._process
    def slow(job):  # holds the run open until the test says go
        pathlib.Path(sys.argv[2], "started").touch()
        while not pathlib.Path(sys.argv[2], "go").exists():
            time.sleep(0.02)
        return real(job)
    runner._process = slow
    res = sm.Study.from_toml(sys.argv[1]).run(sys.argv[2] + "/out", verbose=False)
    print(len(res.run_info["computed"]))
""")


def test_two_concurrent_runs(tmp_path):
    """Two real runs into one folder: the second is refused, the first finishes intact."""
    toml = write_study(tmp_path)
    first = subprocess.Popen(
        [
            sys.executable,
            "-c",
            RUNNER,
            str(toml),
            str(tmp_path),
            os.path.dirname(os.path.dirname(hyperinsync.__file__)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        while not (tmp_path / "started").exists() and first.poll() is None:
            time.sleep(0.02)
        with pytest.raises(StudyError, match="Another hyperinsync run"):
            Study.from_toml(toml).run(tmp_path / "out", verbose=False)
        (tmp_path / "go").touch()
        stdout, stderr = first.communicate(timeout=300)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 0, stderr.decode()
    assert stdout.split() == [b"4"]
    fresh = Study.from_toml(toml).run(tmp_path / "fresh", verbose=False)
    assert_same_results(read_results(tmp_path / "out" / "results.h5"), fresh)


def test_part_swapped_during_run_is_detected(tmp_path, monkeypatch):
    """Assembling results.h5 checks that each part holds what this run computed."""
    toml = write_study(tmp_path)
    other = tmp_path / "other"
    Study.from_toml(toml).run(other, verbose=False)
    toml.write_text(toml.read_text().replace("epoch_duration = 2.0", "epoch_duration = 1.0"))
    real = study_mod._execute

    def intruder(jobs, *args, **kwargs):
        failures = real(jobs, *args, **kwargs)
        # another writer replaces a finished part with one of different parameters
        shutil.copy(other / "parts" / "bv__ses-0.h5", tmp_path / "out" / "parts")
        return failures

    monkeypatch.setattr(study_mod, "_execute", intruder)
    with pytest.raises(StudyError, match=r"bv__ses-0.h5 changed during this run"):
        Study.from_toml(toml).run(tmp_path / "out", verbose=False)
    assert not (tmp_path / "out" / "results.h5").exists()


# ------------------------------------------------------------------------------------ names
@pytest.mark.parametrize(
    "name",
    [
        "../../../x",
        "/abs/x",
        "sub/../x",
        "a\\b",
        "..",
        ".",
        "x\x00y",
        "x\ny",
        "\u202ex",
        ".hidden",
        "x:y",
        "con",
        "x.",
        " x",
        "",
    ],
)
def test_dyad_names_that_would_be_paths_are_refused(name):
    sessions = [dict(index=0, file="x_raw.fif")]
    with pytest.raises(StudyError, match="dyad name|must be a non-empty"):
        Study([dict(name=name, sessions=sessions)], roles=ROLES)


def test_names_collide_or_break_labels(tmp_path):
    sessions = [dict(index=0, file="x_raw.fif")]
    with pytest.raises(StudyError, match="differ only in upper/lower case"):
        Study(
            [dict(name="Dyad01", sessions=sessions), dict(name="dyad01", sessions=sessions)],
            roles=ROLES,
        )
    with pytest.raises(StudyError, match="whole number"):
        Study([dict(name="d", sessions=[dict(index="../1", file="x_raw.fif")])], roles=ROLES)
    sim = dict(n_dyads=2, segments=[["rest", 10.0]], sfreq=100.0)
    # '/' separates the parts of a feature label 'segment/measure/band/roi': refused up front
    for kwargs, what in (
        (dict(analysis=dict(segments=["rest/a"])), "segment"),
        (dict(analysis=dict(rois={"front/left": ["Fz"]})), "ROI name"),
        (dict(analysis=dict(bands={"a/b": [8, 12]})), "band name"),
        (dict(insync=dict(level1=dict(segment="a/b"))), "segment"),
    ):
        with pytest.raises(StudyError, match=f"{what} .* contains '/'"):
            Study(simulate=sim, **kwargs)
    (tmp_path / "r.txt").write_text("front/x: Fz\n")
    with pytest.raises(StudyError, match="ROI name 'front/x' contains '/'"):
        Study(simulate=sim, analysis=dict(rois=str(tmp_path / "r.txt")))


def test_no_file_outside_the_output_folder(tmp_path):
    """Unusual but valid names stay inside the output folder."""
    raw = _dyad(5, duration=12.0)
    data = tmp_path / "data"
    data.mkdir()
    raw.save(data / "r_raw.fif", verbose=False)
    names = ["dyad ü 1 (pilot)", "x..y", "-x", "Ω"]
    study = Study(
        [dict(name=n, sessions=[dict(index=0, file="r_raw.fif")]) for n in names],
        roles=ROLES,
        base_dir=data,
        surrogates=False,
        insync=dict(level1=False, level2=False, level3=False),
        statistics=dict(feature="raw", contrast=False, pseudo_dyads=False),
    )
    before = {p for p in tmp_path.rglob("*")}
    res = study.run(tmp_path / "out", verbose=False)
    assert sorted(res.dyads) == sorted(names)
    new = {p for p in tmp_path.rglob("*")} - before
    assert new and all((tmp_path / "out") in p.parents or p == tmp_path / "out" for p in new)
    assert sorted(p.name for p in (tmp_path / "out" / "parts").iterdir()) == sorted(
        f"{n}__ses-0.h5" for n in names
    )
    with pytest.raises(StudyError, match="results file name"):
        study.run(tmp_path / "out", fname="../escape.h5", verbose=False)


# ------------------------------------------------------------------- errors per recording
def _failing_study(tmp_path):
    """Three recordings: one fine, one with other roles, one sampled too slowly for gamma."""
    data = tmp_path / "data"
    data.mkdir()
    _dyad(6, duration=12.0).save(data / "ok_raw.fif", verbose=False)
    other, _ = simulate_dyad(duration=12.0, sfreq=100.0, roles=("X", "Y"), seed=1, verbose=False)
    other.save(data / "roles_raw.fif", verbose=False)
    _dyad(7, duration=12.0, sfreq=80.0).save(data / "slow_raw.fif", verbose=False)
    toml = tmp_path / "study.toml"
    toml.write_text(
        'surrogates = false\n[study]\nroles = ["T", "C"]\ndata_dir = "data"\n'
        '[analysis]\nsegments = ["all"]\nbands = { alpha = [8, 12], gamma = [30, 45] }\n'
        "[insync]\nlevel1 = false\nlevel2 = false\nlevel3 = false\n"
        '[statistics]\nfeature = "raw"\ncontrast = false\npseudo_dyads = false\n'
        + "".join(
            f'[[dyads]]\nname = "{n}"\n[[dyads.sessions]]\nfile = "{n}_raw.fif"\n'
            for n in ("ok", "roles", "slow")
        )
    )
    return toml


def test_recording_error_is_one_line_and_keep_going(tmp_path, capsys):
    toml = _failing_study(tmp_path)
    out = tmp_path / "out"
    assert main(["run", str(toml), "--out", str(out), "--no-report"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1
    assert err.startswith(
        f"hyperinsync: error: roles session 0 ({tmp_path / 'data'}"
        f"{os.sep}roles_raw.fif): StudyError: "
    )
    assert not (out / "results.h5").exists()
    # --keep-going: the others finish; the failures are listed and stored
    with pytest.warns(RuntimeWarning, match="2 recording.s. failed and are left out"):
        assert main(["run", str(toml), "--out", str(out), "--no-report", "--keep-going"]) == 2
    captured = capsys.readouterr()
    lines = [x for x in captured.err.splitlines() if x.startswith("hyperinsync: error:")]
    assert len(lines) == 2
    assert "roles session 0" in lines[0] and "holds roles ('X', 'Y')" in lines[0]
    assert "slow session 0" in lines[1] and "Nyquist" in lines[1]
    res = read_results(out / "results.h5")
    assert res.dyads == ["ok"]
    assert [(f["dyad"], f["error"]) for f in res.failures] == [
        ("roles", "StudyError"),
        ("slow", "ValueError"),
    ]
    assert main(["info", str(out / "results.h5")]) == 0
    assert "failed recordings: 2" in capsys.readouterr().out
    assert (out / "summary.csv").is_file()


def test_level1_error_names_the_recording(tmp_path):
    toml = _failing_study(tmp_path)
    st = Study.from_toml(toml)
    st.recordings = st.recordings[:1]
    st.insync["level1"] = dict(window=4.0, step=2.0, n_surrogates=19, min_shift=100.0)
    with pytest.raises(
        RecordingError,
        match=r"^ok session 0 \(.*ok_raw.fif\): ValueError: "
        r".*min_shift",
    ) as err:
        st.run(tmp_path / "out", verbose=False)
    assert err.value.dyad == "ok" and isinstance(err.value.__cause__, ValueError)


def test_damaged_part_is_named_and_recomputed(tmp_path):
    toml = write_study(tmp_path)
    out = tmp_path / "out"
    first = Study.from_toml(toml).run(out, verbose=False)
    part = out / "parts" / "set__ses-0.h5"
    with h5py.File(part, "r+") as f:  # a silent change of one number
        f["sync/all/data"][0, 0, 0, 0] += 0.5
    with pytest.warns(RuntimeWarning, match=r"set__ses-0.h5 is damaged.*Recomputing set"):
        res = Study.from_toml(toml).run(out, verbose=False)
    assert res.run_info["computed"] == [("set", 0)]
    assert_same_results(res, first)
    part.write_bytes(part.read_bytes()[:5000])  # truncated
    with pytest.warns(RuntimeWarning, match=r"set__ses-0.h5 is damaged or truncated"):
        res = Study.from_toml(toml).run(out, verbose=False)
    assert res.run_info["computed"] == [("set", 0)]
    assert_same_results(res, first)
    # a part of an older version (no checksum) is recomputed quietly
    with h5py.File(part, "r") as src, h5py.File(tmp_path / "old.h5", "w") as dst:
        for name in src:
            src.copy(src[name], dst, name=name)
        dst.attrs.update(src.attrs)
    shutil.move(tmp_path / "old.h5", part)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*set__ses-0")
        res = Study.from_toml(toml).run(out, verbose=False)
    assert res.run_info["computed"] == [("set", 0)]


def damaged(orig, n, seed):
    """``n`` damaged copies of ``orig``: every 5th truncated, the others 1-3 bytes flipped."""
    rng = np.random.default_rng(seed)
    for trial in range(n):
        blob = bytearray(orig)
        if trial % 5 == 0:
            blob = blob[: int(rng.integers(0, len(blob)))]
        else:
            for pos in rng.integers(0, len(blob), int(rng.integers(1, 4))):
                blob[pos] ^= int(rng.integers(1, 256))
        yield bytes(blob)


def test_fuzz_results_file_only_results_error(tmp_path):
    """Byte flips and truncations of results.h5 and of a part: each is detected (checksum)
    and read_results / verify_part raise ResultsError naming the file, nothing else.
    """
    from hyperinsync.study.parts import verify_part

    raw = _dyad(8, duration=8.0)
    (tmp_path / "data").mkdir()
    raw.save(tmp_path / "data" / "r_raw.fif", verbose=False)
    study = Study(
        [
            dict(name=n, group=g, sessions=[dict(file="r_raw.fif")])
            for n, g in (("a", "x"), ("b", "x"), ("c", "y"), ("d", "y"))
        ],
        roles=ROLES,
        base_dir=tmp_path / "data",
        surrogates=False,
        insync=dict(level1=False, level2=False, level3=False),
        statistics=dict(n_permutations=9, feature="raw", contrast=False, pseudo_dyads=False),
    )
    study.run(tmp_path / "out", verbose=False)
    for seed, (good, read) in enumerate(
        (
            (tmp_path / "out" / "results.h5", read_results),
            (tmp_path / "out" / "parts" / "a__ses-0.h5", verify_part),
        )
    ):
        read(good)
        bad = tmp_path / f"bad{good.suffix}"
        for blob in damaged(good.read_bytes(), 150, seed):
            bad.write_bytes(blob)
            with pytest.raises(ResultsError, match=str(bad)):
                read(bad)


def test_fuzz_study_file_only_study_error(tmp_path):
    """Byte flips and truncations of a study file: it loads or raises StudyError."""
    toml = write_study(tmp_path)
    good = toml.read_bytes()
    Study.from_toml(toml)
    n_error = 0
    for blob in damaged(good, 200, 11):
        toml.write_bytes(blob)
        try:
            Study.from_toml(toml)
        except StudyError:
            n_error += 1
    assert n_error > 100


# ------------------------------------------------------------------------------ small ones
def test_small_study_file_errors(tmp_path):
    sim = dict(n_dyads=4, segments=[["rest", 10.0]], sfreq=100.0, seed=1)
    st = Study(
        simulate=sim,
        statistics=False,
        surrogates=False,
        insync=dict(level1=False, level2=False, level3=False),
    )
    assert st.statistics is None
    res = st.run(tmp_path / "out", verbose=False)
    assert res.group == {} and len(res.recordings) == 4
    with pytest.raises(
        StudyError,
        match=r"epoch_duration \(seconds\) must be a number above "
        r"0, got nan",
    ):
        Study(simulate=sim, analysis=dict(epoch_duration=float("nan")))
    sessions = [dict(index=0, file="x.vhdr", reader=dict(format="split", pattern="(?P<name>"))]
    with pytest.raises(
        StudyError,
        match=r"dyad 'd', session 0: reader pattern '\(\?P<name>' "
        "is not a valid regular expression",
    ):
        Study([dict(name="d", sessions=sessions)], roles=ROLES)
    bad_date = [dict(index=2, file="x_raw.fif", date="2024-13-01")]
    with pytest.raises(
        StudyError,
        match=r"dyad 'd', session 2: date '2024-13-01' is not a "
        r"date \(month must be in 1..12\). Write it as YYYY-MM-DD",
    ):
        Study([dict(name="d", sessions=bad_date)], roles=ROLES)


def test_report_out_folder(tmp_path, monkeypatch, capsys):
    """`report --out <folder>` writes <folder>/report.html, nothing beside the folder."""
    import hyperinsync.study as report_mod

    written = []
    monkeypatch.setattr(
        report_mod,
        "make_report",
        lambda results, fname, n_jobs=None, verbose=None: written.append(fname),
    )
    folder = tmp_path / "site"
    folder.mkdir()
    assert main(["report", str(tmp_path / "results.h5"), "--out", str(folder)]) == 0
    assert main(["report", str(tmp_path / "results.h5"), "--out", f"{tmp_path / 'new'}/"]) == 0
    assert written == [folder / "report.html", tmp_path / "new" / "report.html"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_local_cluster_serves_no_dashboard(tmp_path):
    """The LocalCluster of scheduler='local' has no dashboard (nor port 8787) unless asked."""
    import urllib.error
    import urllib.request

    def status(port, path):
        try:
            return urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10).status
        except urllib.error.HTTPError as err:
            return err.code

    for dashboard, expected in ((None, 404), ("127.0.0.1:0", 200)):
        client, owned = study_mod._dask_client("local", 1, dashboard)
        try:
            port = client.cluster.scheduler.http_server.port
            assert port != 8787
            assert status(port, "/info/main/workers.html") == expected
        finally:
            client.close()
            client.cluster.close()
    with pytest.raises(ValueError, match="applies to scheduler='local' only"):
        Study(simulate=dict(n_dyads=2)).run(tmp_path, dashboard="127.0.0.1:8787")


def test_output_lock_is_per_thread(tmp_path):
    """The lock is re-entrant in one thread and refuses another thread of the process."""
    import threading

    errors = []

    def other():
        try:
            with lock_output(tmp_path):
                errors.append(None)
        except StudyError as err:
            errors.append(err)

    with lock_output(tmp_path):
        with lock_output(tmp_path):
            t = threading.Thread(target=other)
            t.start()
            t.join()
    assert isinstance(errors[0], StudyError)
    with lock_output(tmp_path):  # released
        pass


@pytest.mark.parametrize("meas_date", [None, 0])
def test_crop_segment_of_a_file_not_starting_at_sample_zero(meas_date):
    """A segment of a recording whose first sample is not sample 0 (a cropped FIF) is the
    data under its annotation, with or without a measurement date.
    """
    sf = 100.0
    data = np.arange(2000.0)[None].repeat(2, axis=0)
    raw = mne.io.RawArray(data, mne.create_info(2, sf, "eeg"), first_samp=500, verbose=False)
    if meas_date is not None:
        raw.set_meas_date(meas_date)
    # without a meas_date MNE takes onsets from the first sample and adds first_time
    on = 2.0 if meas_date is None else raw.first_time + 2.0
    raw.set_annotations(mne.Annotations([on], [1.0], ["seg"], orig_time=raw.info["meas_date"]))
    assert raw.annotations.onset[0] == pytest.approx(7.0)
    from hyperinsync.study.recording import _crop_segment

    seg = _crop_segment(raw, "seg")
    np.testing.assert_array_equal(seg.get_data(), data[:, 200:300])
    # the copy holds only its samples, and is what raw.copy().crop gives; raw is unchanged
    ref = raw.copy().crop(2.0, 2.99, include_tmax=True)
    assert seg._data.shape == (2, 100) and not np.shares_memory(seg._data, raw._data)
    # no array of the whole recording stays in the crop (a RawArray's _init_kwargs too)
    sizes = [v.size for v in seg._init_kwargs.values() if isinstance(v, np.ndarray)]
    assert sizes == [200] and seg._init_kwargs["data"] is seg._data
    assert raw._init_kwargs["data"] is raw._data
    assert (seg.first_samp, seg.info["meas_date"]) == (ref.first_samp, ref.info["meas_date"])
    assert seg.annotations.onset.tolist() == ref.annotations.onset.tolist()
    np.testing.assert_array_equal(raw.get_data(), data)


def test_brainvision_comment_markers_name_segments(tmp_path):
    """BrainVision markers read as 'Comment/rest' cannot name a segment ('/' separates the
    parts of a feature label): [reader] rename_annotations renames them as read, and each
    segment's values are those of compute_sync on that stretch of the same file.
    """
    from hyperinsync.io import split_dyad
    from hyperinsync.sync import compute_sync

    data = tmp_path / "data"
    data.mkdir()
    # rest: samples 1-1500, task: 1501-3000 (1-based, as BrainVision counts)
    write_brainvision(
        data / "bv.vhdr",
        _dyad(5),
        markers=[("Comment", "rest", 1, 1500), ("Comment", "task", 1501, 1500)],
    )
    rename = '{ "Comment/rest" = "rest", "Comment/task" = "task" }'
    reader = SPLIT.replace("} }\n", f"}}, rename_annotations = {rename} }}\n")
    toml = tmp_path / "study.toml"
    toml.write_text(
        'surrogates = false\nstatistics = false\n[study]\nname = "bv"\nroles = ["T", "C"]\n'
        'data_dir = "data"\n[analysis]\nsegments = ["rest", "task"]\nrois = "default"\n'
        "epoch_duration = 2.0\n[insync]\nlevel1 = false\nlevel2 = false\nlevel3 = false\n"
        f'[[dyads]]\nname = "bv"\n[[dyads.sessions]]\nindex = 0\nfile = "bv.vhdr"\n{reader}'
    )
    res = Study.from_toml(toml).run(tmp_path / "out", verbose=False)
    rec = res.get("bv", 0)
    assert sorted(rec["sync"]) == ["rest", "task"]

    raw = split_dyad(
        mne.io.read_raw_brainvision(data / "bv.vhdr", preload=True, verbose=False),
        roles=ROLES,
        pattern="(?P<name>.+)_(?P<role>[12])$",
        role_map={"1": "T", "2": "C"},
        verbose=False,
    )
    for seg, (start, stop) in {"rest": (0, 1500), "task": (1500, 3000)}.items():
        part = raw.copy().crop(start / 100.0, (stop - 1) / 100.0, include_tmax=True)
        ref = compute_sync(part, rois="default", epoch_duration=2.0, verbose=False)
        got = rec["sync"][seg]
        assert got.bands == ref.bands and got.rois == ref.rois
        for band in ref.bands:
            np.testing.assert_allclose(
                got.get_data(band=band, level="roi"),
                ref.get_data(band=band, level="roi"),
                rtol=1e-6,
            )
    # without the renames the study refuses the markers' names as segments
    toml.write_text(
        toml.read_text()
        .replace(f", rename_annotations = {rename}", "")
        .replace('"rest", "task"', '"Comment/rest"')
    )
    with pytest.raises(StudyError, match="contains '/'"):
        Study.from_toml(toml)


def test_cache_versions_read_without_importing_the_libraries():
    """The versions in every cache key come from the installed distributions (the same
    values as the modules report) without importing mne-connectivity, whose import alone
    takes seconds of every study run.
    """
    code = (
        "import sys, json; from hyperinsync.study.cache import _versions; "
        "v = _versions(); print(json.dumps([v, 'mne_connectivity' in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=os.path.dirname(os.path.dirname(hyperinsync.__file__)),
    )
    import json

    import h5py as _h5py
    import mne_connectivity
    import pyxdf
    import scipy

    versions, imported = json.loads(out.stdout)
    assert not imported
    assert versions["mne_connectivity"] == mne_connectivity.__version__
    assert versions["pyxdf"] == pyxdf.__version__
    assert versions["scipy"] == scipy.__version__ and versions["h5py"] == _h5py.__version__
