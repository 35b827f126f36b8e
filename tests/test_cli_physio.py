"""``hyperinsync physio``: lagged synchrony of a dyad file, an MEA file or two devices' files."""

import matplotlib
import numpy as np
import pandas as pd
import pytest

from hyperinsync import PhysioCoupling, lagged_sync, read_dyad_fif, simulate_physio_dyad
from hyperinsync.cli import main
from hyperinsync.io import make_physio_dyad, read_mea, read_raw_empatica

matplotlib.use("Agg")

ARGS = ["--lag", "3", "--window", "30", "--step", "15", "--n-surrogates", "99", "--seed", "0"]
KW = dict(lag=3, window=30, step=15, n_surrogates=99, seed=0, verbose=False)


def _same(csv, table):
    got = pd.read_csv(csv)
    want = pd.DataFrame(table)
    assert list(got.columns) == list(want.columns)
    for c in want.columns:
        if want[c].dtype.kind == "f":
            np.testing.assert_allclose(
                got[c].to_numpy(float), want[c].to_numpy(float), rtol=1e-12, equal_nan=True
            )
        else:
            assert got[c].astype(str).tolist() == want[c].astype(str).tolist(), c


def test_mea_file(tmp_path, capsys):
    """An MEA file (client column first, as rMEA's examples): the client leads by 1 s."""
    raw, _ = simulate_physio_dyad(
        400,
        25.0,
        roles=("client", "therapist"),
        modalities=["movement"],
        seed=3,
        couplings=[PhysioCoupling("movement", 0.7, 1.0)],
    )
    fname = tmp_path / "dyad07.txt"
    np.savetxt(fname, raw.get_data().T, fmt="%.4f", header='"pat" "th"', comments="")
    out = tmp_path / "out"
    args = ["--lag", "2", "--window", "10", "--step", "5", "--n-surrogates", "99", "--seed", "0"]
    with pytest.warns(RuntimeWarning, match="above 10 SD"):  # bursts of the simulation
        assert (
            main(
                [
                    "physio",
                    str(fname),
                    "--roles",
                    "client",
                    "therapist",
                    *args,
                    "--out",
                    str(out),
                    "--figure",
                    str(out / "heat.png"),
                ]
            )
            == 0
        )
    text = capsys.readouterr().out
    assert "client-led" in text and "in-phase" in text
    with pytest.warns(RuntimeWarning, match="above 10 SD"):
        mea = read_mea(fname, roles=("client", "therapist"), verbose=False)
    ref = lagged_sync(mea, **dict(KW, lag=2, window=10, step=5))
    assert ref.sessions[0]["leader"] == "client-led"
    for level in ("session", "window", "episode"):
        _same(out / f"dyad07_lagged_{level}.csv", ref.to_table(level))
    assert not (out / "dyad07_lagged_segment.csv").exists()  # no segments asked for
    ann = pd.read_csv(out / "dyad07_lagged_annotations.csv")
    assert ann["description"].tolist() == list(ref.annotations.description)
    np.testing.assert_allclose(ann["onset"], ref.annotations.onset)
    assert set(ann["channels"]) == {"client:MEA;therapist:MEA"}
    assert (out / "heat.png").stat().st_size > 1000


def test_dyad_fif_with_segments(tmp_path, capsys):
    raw, _ = simulate_physio_dyad(
        600,
        4.0,
        modalities=["eda", "heart"],
        seed=4,
        segments=[("IM", 0, 300), ("CB", 300, 300)],
        couplings=[PhysioCoupling("heart", 0.7, -2.0)],
    )
    fname = tmp_path / "s1_raw.fif"
    raw.save(fname, verbose=False)
    out = tmp_path / "o"
    assert (
        main(
            [
                "physio",
                str(fname),
                *ARGS,
                "--channels",
                "HR",
                "--segments",
                "IM",
                "CB",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "segment:" in text and "client-led" in text
    # the file holds single precision: the reference reads it back
    ref = lagged_sync(
        read_dyad_fif(fname, verbose=False), pairs=["HR"], segments=["IM", "CB"], **KW
    )
    _same(out / "s1_raw_lagged_segment.csv", ref.to_table("segment"))
    _same(out / "s1_raw_lagged_session.csv", ref.to_table("session"))


def test_two_empatica_files(tmp_path, capsys):
    """One device per person (Empatica EDA, 4 Hz, the client's started 2 s later)."""
    raw, _ = simulate_physio_dyad(
        800, 4.0, modalities=["eda"], seed=5, couplings=[PhysioCoupling("eda", 0.8, 0.0)]
    )
    files = []
    for k, role in enumerate(("therapist", "client")):
        x = raw.get_data(picks=[f"{role}:EDA"])[0] * 1e6  # µS
        x = x[8 * k :]  # the client's device started 2 s later
        d = tmp_path / role
        d.mkdir()
        fname = d / "EDA.csv"
        fname.write_text(f"{1704708000 + 2 * k}.0\n4.0\n" + "\n".join(f"{v:.6f}" for v in x))
        files.append(str(fname))
    assert (
        main(
            [
                "physio",
                *files,
                "--format",
                "empatica",
                "--sfreq",
                "4",
                *ARGS,
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 0
    )
    assert "above chance" in capsys.readouterr().out
    dyad = make_physio_dyad(
        *(read_raw_empatica(f, verbose=False) for f in files),
        sfreq=4.0,
        roles=("therapist", "client"),
    )
    _same(tmp_path / "o" / "EDA_lagged_session.csv", lagged_sync(dyad, **KW).to_table())


def test_physio_errors(tmp_path, capsys):
    raw, _ = simulate_physio_dyad(200, 4.0, modalities=["heart"], seed=1)
    fif = tmp_path / "d_raw.fif"
    raw.save(fif, verbose=False)
    csv = tmp_path / "t.csv"
    csv.write_text("time,EDA\n0,1e-6\n0.25,1.1e-6\n0.5,1.2e-6\n")
    cases = [
        (["missing.txt"], "missing.txt: no such file"),
        ([str(fif), "--sfreq", "8"], "at 4 Hz, --sfreq asks for 8 Hz"),
        ([str(csv), "--format", "csv"], "give two files"),
        ([str(csv), str(csv)], "give --sfreq"),
        ([str(csv), str(csv), "--sfreq", "4"], "no start time"),
        ([str(fif), str(fif), str(fif)], "got 3"),
        ([str(fif), "--segments", "IM"], "Segment 'IM' is not annotated"),
    ]
    for files, msg in cases:
        args = ["physio", *files, "--lag", "2", "--window", "20", "--n-surrogates", "9"]
        assert main(args) == 2, files
        err = capsys.readouterr().err
        assert err.startswith("hyperinsync: error: ") and msg in err, (files, err)
        assert "Traceback" not in err
    with pytest.raises(SystemExit):  # --lag and --window have no default (as in rMEA)
        main(["physio", str(fif), "--window", "20"])
