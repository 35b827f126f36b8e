"""A study on Dask's real cluster form: a scheduler and two workers as separate processes.

As on an HPC cluster (``dask scheduler`` on one node, ``dask worker`` on others, or
dask-jobqueue doing the same through SLURM), the scheduler writes its address to a
scheduler file, the workers find it there and read the recordings from the paths in the
study; the study runs through ``Client(address)``. A worker killed mid-run loses nothing:
the scheduler gives its recording to the other worker.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from hyperinsync.simulation import simulate_study
from hyperinsync.study import Study

distributed = pytest.importorskip("distributed")

TIMEOUT = 60.0  # seconds any one step may take on a loaded machine before the test fails


def _wait(what, check, timeout=TIMEOUT, procs=()):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        for name, proc in procs:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"the {name} process exited ({proc.returncode}) while waiting for {what}"
                )
        time.sleep(0.05)
    raise TimeoutError(f"no {what} after {timeout:.0f} s")


@pytest.fixture
def process_cluster(tmp_path):
    """``(address, client, {name: worker process}, logs)`` of a 2-worker cluster."""
    from distributed import Client

    sched_file = tmp_path / "scheduler.json"
    logs = tmp_path / "logs"
    logs.mkdir()
    dask = [sys.executable, "-m", "dask"]
    # no dashboard, and the HTTP servers Dask always starts on free loopback ports (the
    # scheduler's default is 8787); the processes exit by themselves if left behind
    http = ["--no-dashboard", "--dashboard-address", "127.0.0.1:0"]
    procs, client = {}, None

    def start(name, args):
        with open(logs / f"{name}.log", "w") as log:
            procs[name] = subprocess.Popen(
                dask + args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    try:
        start(
            "scheduler",
            [
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                *http,
                "--scheduler-file",
                str(sched_file),
                "--idle-timeout",
                "300s",
            ],
        )
        _wait(
            "scheduler file",
            lambda: sched_file.exists() and sched_file.stat().st_size,
            procs=procs.items(),
        )
        address = json.loads(sched_file.read_text())["address"]
        for name in ("w1", "w2"):
            # no nanny: the process started here is the worker itself (killed below)
            start(
                name,
                [
                    "worker",
                    "--scheduler-file",
                    str(sched_file),
                    "--name",
                    name,
                    "--host",
                    "127.0.0.1",
                    "--nthreads",
                    "1",
                    "--no-nanny",
                    "--memory-limit",
                    "0",
                    "--death-timeout",
                    "60",
                    *http,
                ],
            )
        client = Client(address, timeout=TIMEOUT)
        client.wait_for_workers(2, timeout=TIMEOUT)
        yield address, client, {n: p for n, p in procs.items() if n != "scheduler"}, logs
    finally:
        if client is not None:
            client.close(timeout=10)
        for proc in procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)  # its own session: nothing else
        for proc in procs.values():
            proc.wait(timeout=30)


def _fif_study(tmp_path, n_dyads=4):
    """A study file naming one FIF recording per dyad (the workers read them)."""
    sim = simulate_study(
        n_dyads=n_dyads,
        segments=[("session", 40.0)],
        sfreq=100.0,
        seed=5,
        roles=("T", "C"),
        verbose=False,
    )
    data = tmp_path / "data"
    data.mkdir()
    lines = [
        '[study]\nname = "cluster"\nroles = ["T", "C"]\ndata_dir = "data"\n',
        '[analysis]\nsegments = ["all"]\n',
        "[surrogates]\nn_surrogates = 199\nseed = 1\n",
        "[insync]\nlevel1 = false\nlevel2 = false\nlevel3 = false\n",
        "[statistics]\nn_permutations = 199\nseed = 2\npseudo_dyads = false\n"
        'correlate = ["alliance_gap"]\n',
    ]
    for row, raw, _ in sim.iter_recordings():
        raw.save(data / f"{row['dyad']}_raw.fif", verbose=False)
        lines.append(
            f'[[dyads]]\nname = "{row["dyad"]}"\ngroup = "{row["group"]}"\n'
            f"variables = {{ alliance_gap = {row['alliance_gap']} }}\n"
            f'[[dyads.sessions]]\nindex = 0\nfile = "{row["dyad"]}_raw.fif"\n'
        )
    toml = tmp_path / "study.toml"
    toml.write_text("\n".join(lines))
    return toml


def test_study_on_process_cluster_survives_a_killed_worker(tmp_path, process_cluster):
    address, client, workers, logs = process_cluster
    toml = _fif_study(tmp_path)
    serial = Study.from_toml(toml).run(tmp_path / "serial", verbose=False)

    names = {info["name"]: addr for addr, info in client.scheduler_info()["workers"].items()}
    assert sorted(names) == ["w1", "w2"]
    for addr in names.values():  # separate processes on the loopback, not this process
        assert addr.startswith("tcp://127.0.0.1:")
    assert client.scheduler_info()["address"] == address

    out = {}

    def run():
        try:
            out["res"] = Study.from_toml(toml).run(
                tmp_path / "cluster", scheduler=address, verbose=False
            )
        except BaseException as err:  # re-raised in the test's thread
            out["err"] = err

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    # kill w1 while it holds a recording: the scheduler hands that recording to w2
    held = _wait(
        "recording on w1", lambda: client.processing().get(names["w1"]), procs=list(workers.items())
    )
    workers["w1"].kill()
    workers["w1"].wait(timeout=30)
    thread.join(timeout=4 * TIMEOUT)
    assert not thread.is_alive(), "the study did not finish on the remaining worker"
    if "err" in out:
        raise out["err"]
    res = out["res"]
    assert held and list(client.scheduler_info()["workers"]) == [names["w2"]]

    # nothing lost: every recording computed, with the serial values
    assert sorted(res.run_info["computed"]) == sorted(serial.run_info["computed"])
    assert len(res.recordings) == len(serial.recordings) == 4
    for key, rec in serial.recordings.items():
        got = res.recordings[key]
        np.testing.assert_array_equal(got["sync"]["all"].data, rec["sync"]["all"].data)
        np.testing.assert_array_equal(got["surrogates"]["all"].null, rec["surrogates"]["all"].null)
    for stat in ("contrast", "correlation"):
        a, b = res.group[stat], serial.group[stat]
        if stat == "correlation":
            a, b = a["alliance_gap"], b["alliance_gap"]
        np.testing.assert_array_equal(np.asarray(a["p_perm"]), np.asarray(b["p_perm"]))
