"""Studies of body and autonomic synchrony: [physio] / [movement] from the study file.

Every number a study stores is checked against the public functions called directly on the
same input (hyperinsync.lagged_sync, hyperinsync.stats.icc, hyperinsync.level3,
hyperinsync.stats.predict_outcome, hyperinsync.lagged_pseudo_dyads): a simulated study of
physiology alone (through ``hyperinsync run``), one of per-session files (Empatica EDA, MEA),
and one whose EEG files hold the skin conductance beside a movement file per session.
"""

import datetime as dt
import warnings

import matplotlib
import mne
import numpy as np
import pandas as pd
import pytest

from hyperinsync import (
    PhysioCoupling,
    Study,
    annotate,
    lagged_pseudo_dyads,
    lagged_sync,
    level3,
    simulate_physio_dyad,
    simulate_physio_study,
    simulate_study,
)
from hyperinsync.cli import main
from hyperinsync.io import align_physio, make_physio_dyad, read_mea, read_raw_empatica
from hyperinsync.preprocessing import eda_decompose, mea_scale, mea_smooth
from hyperinsync.stats import icc, predict_outcome, segment_table
from hyperinsync.study import RecordingError, StudyError, read_results

matplotlib.use("Agg")
ROLES = ("therapist", "client")
SIM = dict(
    n_dyads=4,
    n_sessions=3,
    segments=[("IM", 90.0), ("CB", 90.0)],
    modalities=["eda", "movement"],
    sfreq=8.0,
    seed=3,
)
EDA_KW = dict(
    pairs={"SCR": ("EDA_SCR", "EDA_SCR")},
    lag=5,
    window=30,
    step=15,
    segments=["IM", "CB"],
    n_surrogates=49,
    n_boot=50,
    lead_block=30.0,
    seed=0,
)
MEA_KW = dict(lag=2, window=10, step=5, segments=["IM", "CB"], n_surrogates=49, n_boot=50, seed=0)
SIM_TOML = """
[study]
name = "physio-sim"
roles = ["therapist", "client"]

[simulate_physio]
n_dyads = 4
n_sessions = 3
segments = [["IM", 90.0], ["CB", 90.0]]
modalities = ["eda", "movement"]
sfreq = 8.0
seed = 3

[physio]                      # skin conductance: phasic part, 30-s windows
channels = ["EDA"]
preprocessing = ["eda_decompose"]
pairs = { SCR = ["EDA_SCR", "EDA_SCR"] }
lag = 5
window = 30
step = 15
segments = ["IM", "CB"]
n_surrogates = 49
n_boot = 50
lead_block = 30
seed = 0
outcomes = ["bond", "task"]

[movement]                    # motion energy, rMEA's smoothing and scaling
channels = ["MEA"]
preprocessing = [{ step = "mea_smooth", window = 0.5 }, "mea_scale"]
lag = 2
window = 10
step = 5
segments = ["IM", "CB"]
n_surrogates = 49
n_boot = 50
seed = 0
pseudo_dyads = { keep_roles = true }

[insync]
level3 = { n_permutations = 199 }

[statistics]
n_permutations = 199
seed = 1
"""


def _direct(res_rows):
    """The study's tables built by hand from directly computed results."""
    results, design = zip(*res_rows)
    return (
        segment_table(list(results), list(design), level="session"),
        segment_table(list(results), list(design), level="segment"),
    )


def test_simulated_physio_study_equals_direct_calls(tmp_path, capsys):
    """A study of physiology alone, from a TOML file, through ``hyperinsync run``: every
    recording's lagged synchrony, the ICC, the Level 3 trends, the outcome models and the
    pseudo-dyads equal the public functions called on the same simulated recordings.
    """
    toml = tmp_path / "physio.toml"
    toml.write_text(SIM_TOML)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # short recordings: few blocks
        assert main(["run", str(toml), "--out", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    assert "[physio] lagged synchrony per session (sync_corrected):" in printed
    assert "summary_physio.csv" in printed and "summary_movement.csv" in printed
    res = read_results(tmp_path / "out" / "results.h5")
    assert len(res.recordings) == 12 and not any(r["sync"] for r in res.recordings.values())

    sim = simulate_physio_study(**SIM, roles=ROLES)
    eda_rows, mea_rows, first_mea, n_found = [], [], [], 0
    for row in sim.table:
        raw, _ = sim.get_dyad(row["dyad"], row["session"], verbose=False)
        rec = res.get(row["dyad"], row["session"])
        design = dict(
            dyad=row["dyad"],
            session=row["session"],
            group=None,
            date=row["date"].isoformat(),
            **{k: row[k] for k in ("bond", "task", "goal")},
        )
        eda = eda_decompose(raw.copy().pick(["therapist:EDA", "client:EDA"]), verbose=False)
        mea = mea_scale(
            mea_smooth(raw.copy().pick(["therapist:MEA", "client:MEA"]), window=0.5, verbose=False),
            verbose=False,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            r_eda = lagged_sync(eda, **EDA_KW, verbose=False)
            r_mea = lagged_sync(mea, **MEA_KW, verbose=False)
        assert rec["physio"] == r_eda and rec["movement"] == r_mea
        # annotated: the stored annotations of the analysed series are the result's
        annotate(eda, r_eda)
        stored = [
            a
            for a in rec["meta"]["physio"]["annotations"]
            if a["description"].startswith("insync/")
        ]
        want = [a for a in eda.annotations if a["description"].startswith("insync/")]
        assert [(a["onset"], a["duration"], a["description"]) for a in stored] == [
            (float(a["onset"]), float(a["duration"]), a["description"]) for a in want
        ]
        n_found += len(want)
        eda_rows.append((r_eda, design))
        mea_rows.append((r_mea, design))
        if row["session"] == 0:
            first_mea.append(mea)

    assert n_found  # some sessions' synchrony is above chance, and annotated
    g = res.group["physio"]
    sessions, segments = _direct(eda_rows)
    pd.testing.assert_frame_equal(g["sessions"], sessions, check_dtype=False)
    want = icc(sessions, value="sync_corrected")
    assert g["icc"]["SCR"]["icc"] == pytest.approx(want["icc"], rel=1e-9)
    assert g["icc"]["SCR"]["icc_anova"] == pytest.approx(want["icc_anova"], rel=1e-12)
    l3 = level3(
        sessions[["dyad", "session", "sync_corrected", "date"]],
        value="sync_corrected",
        n_permutations=199,
        seed=1,
    )
    got = g["level3"]["SCR"]
    assert got.summary["mean_slope"] == pytest.approx(l3.summary["mean_slope"], rel=1e-12)
    assert got.summary["p"] == l3.summary["p"] == got.summary["p_corrected"]  # one modality
    np.testing.assert_allclose(got.get_data(), l3.get_data(), rtol=1e-12)
    wide = segments.pivot_table(
        index=["dyad", "session"], columns="segment", values="sync_corrected"
    ).reset_index()
    wide = wide.rename(columns={"IM": "sync_corrected_IM", "CB": "sync_corrected_CB"})
    wide = wide.merge(sessions[["dyad", "session", "bond", "task"]])
    for outcome in ("bond", "task"):
        fit = predict_outcome(
            wide, outcome, ["sync_corrected_IM", "sync_corrected_CB"], center="within"
        )
        table = g["outcomes"]["SCR"][outcome]["table"]
        assert list(table["term"]) == list(fit["table"]["term"])
        np.testing.assert_allclose(table["estimate"], fit["table"]["estimate"], rtol=1e-8)
        np.testing.assert_allclose(table["p"], fit["table"]["p"], rtol=1e-6)

    m = res.group["movement"]
    sessions, _ = _direct(mea_rows)
    assert m["icc"]["MEA"]["icc"] == pytest.approx(
        icc(sessions, value="sync_corrected")["icc"], rel=1e-9
    )
    pseudo = lagged_pseudo_dyads(
        first_mea,
        lag=2,
        window=10,
        step=5,
        keep_roles=True,
        n_permutations=199,
        seed=1,
        verbose=False,
    )
    assert m["pseudo_dyads"]["group"]["cohens_d"][0] == pytest.approx(
        pseudo["group"]["cohens_d"][0], rel=1e-12
    )
    assert m["pseudo_dyads"]["group"]["p"][0] == pseudo["group"]["p"][0]
    assert list(m["pseudo_dyads"]["dyads"]["dyad"]) == ["dyad01", "dyad02", "dyad03", "dyad04"]
    # the summary tables and the report
    csv = pd.read_csv(tmp_path / "out" / "summary_physio.csv")
    assert len(csv) == 12 and {"dyad", "session", "bond", "sync_corrected"} <= set(csv)
    assert not (tmp_path / "out" / "summary.csv").exists()  # no EEG
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    for title in (
        "Physiological synchrony",
        "Movement synchrony",
        "ICC: dyad vs session",
        "Level 3: session trends",
        "SCR: bond from segment synchrony",
        "Real vs pseudo-dyads",
    ):
        assert title in page, title


# -- a study of files -------------------------------------------------------------------------
FILES_TOML = """
[study]
name = "physio-files"
roles = ["therapist", "client"]
data_dir = "data"

[physio]
format = "empatica"
sfreq = 8.0
lag = 5
window = 30
step = 15
segments = ["IM", "CB"]
n_surrogates = 19
n_boot = 50
lead_block = 30
seed = 0

[movement]
reader_kwargs = { sfreq = 8.0 }
lag = 2
window = 10
step = 5
segments = ["IM", "CB"]
n_surrogates = 19
n_boot = 50
seed = 0

[statistics]
n_permutations = 99
"""
T0 = dt.datetime(2024, 3, 4, 10, 0, tzinfo=dt.timezone.utc)


def _session(tmp_path, dyad, k):
    """One session's files: two wristbands' EDA (Empatica), the video's MEA, segments."""
    raw, _ = simulate_physio_dyad(
        240,
        8.0,
        ROLES,
        modalities=["eda", "movement"],
        seed=10 + k,
        couplings=[PhysioCoupling("eda", 0.7, -2.0), PhysioCoupling("movement", 0.7, 1.0)],
    )
    folder = tmp_path / "data" / dyad
    for role in ROLES:
        (folder / role).mkdir(parents=True)
        eda = raw.get_data(picks=[f"{role}:EDA"])[0] * 1e6
        start = T0.timestamp() + (3.0 if role == "client" else 0.0)  # started 3 s apart
        (folder / role / "EDA.csv").write_text(
            f"{start:.1f}\n8.0\n" + "\n".join(f"{v:.5f}" for v in eda)
        )
    np.savetxt(
        folder / "mea.txt",
        raw.get_data(picks=["therapist:MEA", "client:MEA"]).T,
        fmt="%.3f",
        header='"therapist" "client"',
        comments="",
    )
    mne.Annotations([0.0, 120.0], [120.0, 110.0], ["IM", "CB"]).save(
        folder / "segments.txt", overwrite=True
    )
    return (
        f'[[dyads]]\nname = "{dyad}"\n[[dyads.sessions]]\n'
        f'annotations = "{dyad}/segments.txt"\n'
        # the client's file named first: files are taken in the study's role order
        f'physio = {{ files = {{ client = "{dyad}/client/EDA.csv", '
        f'therapist = "{dyad}/therapist/EDA.csv" }} }}\n'
        f'movement = {{ file = "{dyad}/mea.txt" }}\n'
    )


@pytest.fixture
def file_study(tmp_path):
    toml = tmp_path / "files.toml"
    toml.write_text(
        FILES_TOML + "".join(_session(tmp_path, d, k) for k, d in enumerate(("dyad01", "dyad02")))
    )
    return toml


def _run(toml, out, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return Study.from_toml(toml).run(out, verbose=False, **kw)


def test_file_study_resume_recomputes_the_edited_recording(file_study, tmp_path):
    """Per-session files: the numbers equal the readers + lagged_sync called directly; a
    resumed run reuses everything; editing one person's EDA file recomputes that recording
    only; a lagged option recomputes all; a group option none.
    """
    out = tmp_path / "out"
    res = _run(file_study, out)
    data = tmp_path / "data" / "dyad02"
    segs = mne.read_annotations(data / "segments.txt")
    eda = make_physio_dyad(
        *(read_raw_empatica(data / r / "EDA.csv") for r in ROLES),
        sfreq=8.0,
        roles=ROLES,
        verbose=False,
    )
    eda.set_annotations(eda.annotations + segs)
    mea = read_mea(data / "mea.txt", sfreq=8.0, roles=ROLES)
    mea.set_annotations(mea.annotations + segs)
    kw = dict(segments=["IM", "CB"], n_surrogates=19, n_boot=50, seed=0, verbose=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert res.get("dyad02")["physio"] == lagged_sync(
            eda, lag=5, window=30, step=15, lead_block=30.0, **kw
        )
        assert res.get("dyad02")["movement"] == lagged_sync(mea, lag=2, window=10, step=5, **kw)
    # the client's wristband started 3 s later: the common timeline starts with it
    alignment = res.get("dyad02")["meta"]["physio"]["alignment"]
    assert (alignment["therapist"]["offset_s"], alignment["client"]["offset_s"]) == (3.0, 0.0)
    assert res.get("dyad02")["physio"].params["n_times"] == eda.n_times  # 3 s shorter
    assert _run(file_study, out).run_info["computed"] == []
    # one person's file edited: that recording only
    fname = data / "client" / "EDA.csv"
    lines = fname.read_text().splitlines()
    lines[100] = f"{float(lines[100]) + 0.5:.5f}"
    fname.write_text("\n".join(lines))
    again = _run(file_study, out)
    assert again.run_info["computed"] == [("dyad02", 0)]
    assert again.run_info["skipped"] == [("dyad01", 0)]
    assert not np.array_equal(
        again.get("dyad02")["physio"].values, res.get("dyad02")["physio"].values
    )
    # an option of the analysis recomputes every recording; one of the group step none
    text = file_study.read_text()
    file_study.write_text(text.replace("lag = 2\n", "lag = 1.5\n"))
    assert len(_run(file_study, out).run_info["computed"]) == 2
    file_study.write_text(text.replace("lag = 2\n", "lag = 1.5\nicc = false\n"))
    assert _run(file_study, out).run_info["computed"] == []


def test_bad_physio_input_names_dyad_session_and_file(file_study, tmp_path):
    """A channel missing for one person, or a missing file: one line naming the dyad, the
    session and the file.
    """
    client = tmp_path / "data" / "dyad02" / "client"
    (client / "EDA.csv").rename(client / "GSR.csv")  # another sensor name: channel GSR
    text = file_study.read_text()
    file_study.write_text(
        text.replace('client = "dyad02/client/EDA.csv"', 'client = "dyad02/client/GSR.csv"')
    )
    with pytest.raises(RecordingError) as err:
        _run(file_study, tmp_path / "out")
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith("dyad02 session 0 (")
    assert "ValueError" in msg and "GSR.csv (client) has no channel(s) ['EDA']" in msg
    assert err.value.dyad == "dyad02" and err.value.session == 0
    # a missing file is found before any work
    (tmp_path / "data" / "dyad01" / "mea.txt").unlink()
    with pytest.raises(
        RecordingError,
        match=r"^dyad01 session 0 \(.*\): FileNotFoundError: "
        r"not found: \S*dyad01/mea.txt",
    ) as err:
        Study.from_toml(file_study)
    assert "\n" not in str(err.value)
    # a session with files of a section the study does not have
    i, j = text.index("[movement]"), text.index("[statistics]")
    file_study.write_text(text[:i] + text[j:])
    with pytest.raises(
        StudyError,
        match=r"dyad 'dyad01', session 0 movement: the session "
        r"names movement files but the study has no \[movement\] section",
    ):
        Study.from_toml(file_study)


def test_eeg_study_with_aux_eda_and_a_movement_file(tmp_path):
    """Skin conductance recorded by the EEG amplifier (aux channels of the EEG file) and a
    video's MEA file per session, brought onto the EEG's timeline with the EEG's segments;
    the EEG analysis runs as before.
    """
    sim = simulate_study(
        n_dyads=2,
        segments=[("rest_pre", 60.0), ("session", 60.0)],
        sfreq=100.0,
        seed=1,
        roles=ROLES,
        verbose=False,
    )
    (tmp_path / "data").mkdir()
    lines = [
        '[study]\nroles = ["therapist", "client"]\ndata_dir = "data"\n',
        '[analysis]\nsegments = ["session"]\n',
        "[surrogates]\nn_surrogates = 9\n",
        "[insync]\nlevel1 = false\nlevel2 = false\n",
        "[statistics]\ncontrast = false\npseudo_dyads = false\n",
        '[physio]\nchannels = ["EDA"]\nch_types = { EDA = "gsr" }\nsfreq = 8.0\n'
        'preprocessing = ["eda_decompose"]\npairs = { SCR = ["EDA_SCR", "EDA_SCR"] }\n'
        'lag = 5\nwindow = 20\nstep = 10\nsegments = ["rest_pre", "session"]\n'
        "n_surrogates = 19\nn_boot = 50\nseed = 0\n",
        '[movement]\nlag = 2\nwindow = 10\nstep = 5\nsegments = ["session"]\n'
        "n_surrogates = 19\nn_boot = 50\nseed = 0\nreader_kwargs = { sfreq = 25.0 }\n",
    ]
    raws = {}
    for k, (row, raw, _) in enumerate(sim.iter_recordings()):
        phys, _ = simulate_physio_dyad(
            120,
            100.0,
            ROLES,
            modalities=["eda"],
            seed=k,
            couplings=[PhysioCoupling("eda", 0.7, 1.0)],
        )
        phys.set_meas_date(raw.info["meas_date"])
        phys.set_channel_types({c: "misc" for c in phys.ch_names}, on_unit_change="ignore")
        raw = raw.copy().load_data().add_channels([phys], force_update_info=True)
        raw.save(tmp_path / "data" / f"{row['dyad']}_raw.fif", verbose=False)
        mea, _ = simulate_physio_dyad(121, 25.0, ROLES, modalities=["movement"], seed=20 + k)
        np.savetxt(
            tmp_path / "data" / f"{row['dyad']}_mea.txt",
            mea.get_data(picks=["therapist:MEA", "client:MEA"]).T,
            fmt="%.3f",
        )
        raws[row["dyad"]] = raw
        lines.append(
            f'[[dyads]]\nname = "{row["dyad"]}"\ngroup = "{row["group"]}"\n'
            f'[[dyads.sessions]]\nfile = "{row["dyad"]}_raw.fif"\n'
            f'movement = {{ file = "{row["dyad"]}_mea.txt", offsets = 0.5 }}\n'
        )
    toml = tmp_path / "eeg.toml"
    toml.write_text("\n".join(lines))
    res = _run(toml, tmp_path / "out")
    raw = mne.io.read_raw_fif(tmp_path / "data" / "dyad01_raw.fif", verbose=False)
    rec = res.get("dyad01")
    assert list(rec["sync"]) == ["session"]  # the EEG analysis
    eda = align_physio(
        raw.copy().pick(["therapist:EDA", "client:EDA"]),
        sfreq=8.0,
        reference=raw,
        offset=0.0,
        verbose=False,
    )
    assert eda.get_channel_types() == ["misc", "misc"]  # as the amplifier stored them
    eda.set_channel_types({c: "gsr" for c in eda.ch_names}, on_unit_change="ignore")
    eda = eda_decompose(eda, verbose=False)
    kw = dict(n_surrogates=19, n_boot=50, seed=0, verbose=False)
    mea = align_physio(
        read_mea(tmp_path / "data" / "dyad01_mea.txt", sfreq=25.0, roles=ROLES),
        sfreq=25.0,
        reference=raw,
        offset=0.5,
        verbose=False,
    )
    segs = mne.Annotations([0.0, 60.0], [60.0, 60.0], ["rest_pre", "session"])
    mea.set_annotations(mea.annotations + segs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert rec["physio"] == lagged_sync(
            eda,
            pairs={"SCR": ("EDA_SCR", "EDA_SCR")},
            lag=5,
            window=20,
            step=10,
            segments=["rest_pre", "session"],
            **kw,
        )
        assert rec["movement"] == lagged_sync(
            mea, lag=2, window=10, step=5, segments=["session"], **kw
        )
    assert rec["physio"].modalities == ["SCR"] and rec["movement"].modalities == ["MEA"]
    assert res.group["features"] is not None and "physio" in res.group


def test_physio_sections_are_checked_before_any_work(tmp_path):
    """What would fail in every recording is refused when the study loads, naming the key."""
    for name in ("t.csv", "c.csv", "m.txt", "e.fif"):
        (tmp_path / name).write_text("")
    ses = dict(physio=dict(files=dict(therapist="t.csv", client="c.csv")), variables=dict(bond=5.0))
    base = dict(lag=5, window=30, sfreq=8.0)

    def study(physio=None, sessions=(ses,), **kw):
        return Study.from_dict(
            dict(
                study=dict(roles=list(ROLES)),
                physio=physio,
                dyads=[dict(name="d1", sessions=list(sessions))],
                **kw,
            ),
            base_dir=tmp_path,
        )

    assert study(base).recordings[0]["companions"]["physio"]["paths"] == [
        str(tmp_path / "t.csv"),
        str(tmp_path / "c.csv"),
    ]
    cases = [
        (dict(window=30), r"\[physio\] needs lag \(seconds\)"),
        (
            dict(base, null=False),
            r"value = 'sync_corrected' is measured against the "
            r"surrogates, but null = false",
        ),
        (
            dict(base, preprocessing=["clean_edx"]),
            r"unknown step 'clean_edx'; steps: "
            r"clean_eda, eda_decompose",
        ),
        (
            dict(base, preprocessing=[dict(step="mea_smooth", widow=1)]),
            r"mea_smooth has no option\(s\) \['widow'\]; its options: picks, window",
        ),
        (
            dict(base, sfreq=None),
            r"two files are brought onto one timeline at a common "
            r"rate: set \[physio\] sfreq",
        ),
        (
            dict(base, outcomes=["task"]),
            r"\[physio\] outcomes: d1 session 0 has no "
            r"variable\(s\) \['task'\]; its variables: \['bond'\]",
        ),
        (dict(base, ch_types=dict(EDA="eeg")), r"ch_types EDA must be one of gsr, ecg"),
        (dict(base, lags=5), r"Unknown key\(s\) \['lags'\] in \[physio\].*did you mean 'lag'"),
    ]
    for physio, match in cases:
        physio = {k: v for k, v in physio.items() if v is not None}
        with pytest.raises(StudyError, match=match):
            study(physio)
    with pytest.raises(
        StudyError,
        match=r"files must name one file per role "
        r"\['therapist', 'client'\], got \['therapist', 'patient'\]",
    ):
        study(base, [dict(physio=dict(files=dict(therapist="t.csv", patient="c.csv")))])
    with pytest.raises(StudyError, match=r"format 'mea' holds both people"):
        study(dict(base, format="mea"))
    with pytest.raises(
        StudyError,
        match=r"session 1 has no EEG recording \(files / file\) "
        r"while other sessions have one",
    ):
        study(base, [dict(ses, file="e.fif"), ses])
    with pytest.raises(
        StudyError,
        match=r"session 0 has no EEG recording \(files / file\) to "
        r"read the \[movement\] channels from",
    ):
        study(base, [ses], movement=dict(lag=2, window=10))


def test_progress_stages_of_a_physiology_study(tmp_path):
    """A recording without EEG reports reading and each lagged section, as the display
    expects (no EEG segment, Level 1 or Level 2 stage that never comes).
    """
    from hyperinsync.study import Study, runner
    from hyperinsync.study.progress import recording_stages

    toml = tmp_path / "physio.toml"
    toml.write_text(SIM_TOML)
    st = Study.from_toml(toml)
    rec = st.recordings[0]
    job = dict(
        rec,
        part="",
        base_dir=str(tmp_path),
        inputs={},
        param_hash="",
        analysis=st.analysis,
        surrogates=st.surrogates,
        insync=st.insync,
        roles=list(st.roles),
        physio=st.physio,
        movement=st.movement,
    )
    got = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # short recordings: few blocks
        runner._process(job, got.append)
    assert got == recording_stages(job) == ["read", "physio", "movement"]
