"""Progress of a study run on stderr: per recording and per stage, with an estimated end.

A run shows one bar over its recordings. When the recordings run in this process
(``n_jobs=1``), the bar also moves stage by stage inside each recording (reading, synchrony
and surrogates per segment, Levels 1 and 2), each stage weighted by the time it took in the
recording before, so the estimate of the remaining time holds from the second recording
on. Recordings computed by parallel worker processes (joblib) report their stages through a
queue, shown by name ("dyad02 session 1: level 1"), and the bar moves by whole recordings;
a Dask cluster's workers report whole recordings. The study's last steps (group statistics,
results file, report) follow on a line of their own.

Nothing is shown unless asked (``progress=True``) or, by default, when stderr is a terminal
and the log level is not above ``'warning'``: a log file or a pipe gets no bar.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import time

from .._utils import _validate_type, logger
from .recording import eeg_segments
from .schema import LAGGED


def progress_enabled(progress=None, stream=None):
    """Whether a run shows its progress.

    Parameters
    ----------
    progress : bool | None
        ``True``/``False``: as given. ``None``: when ``stream`` (default: stderr) is a
        terminal and the log level (``verbose``) is ``'warning'`` or lower.
    stream : file-like | None
        Where the progress goes (default: ``sys.stderr``).

    Returns
    -------
    enabled : bool
    """
    if progress is not None:
        _validate_type(progress, bool, "progress")
        return progress
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    try:
        tty = bool(isatty()) if callable(isatty) else False
    except ValueError:  # a closed stream
        tty = False
    return tty and logger.getEffectiveLevel() <= logging.WARNING


def _tqdm(enabled, stream, **kwargs):
    from tqdm import tqdm

    return tqdm(
        file=sys.stderr if stream is None else stream,
        disable=not enabled,
        dynamic_ncols=True,
        mininterval=0.2,
        smoothing=0.1,
        leave=True,
        **kwargs,
    )


def recording_stages(job):
    """Return the stages of one recording's analysis, in the order :func:`_process` runs them."""
    stages = ["read"]
    segments = eeg_segments(job)
    for seg in segments:
        stages.append(f"sync {seg}")
        if job.get("surrogates") is not None:
            stages.append(f"surrogates {seg}")
    insync = (job.get("insync") or {}) if segments else {}
    if insync.get("level1") is not None:
        stages.append("level 1")
    if insync.get("level2") is not None:
        stages.append("level 2")
    stages += [kind for kind in LAGGED if job.get(kind) is not None]
    return stages


class RunProgress:
    """The progress display of one study run (a context manager).

    Parameters
    ----------
    n_recordings : int
        Recordings to compute.
    enabled : bool
        Show anything at all (see :func:`progress_enabled`).
    parallel : int
        Recordings computed at once (stages are shown for serial runs only).
    stream : file-like | None
        Where to write (default: stderr).
    """

    def __init__(self, n_recordings, enabled, *, parallel=1, stream=None):
        self.enabled, self.stream = bool(enabled), stream
        self.n_total, self.n_done, self.parallel = int(n_recordings), 0, int(parallel)
        self._bar = _tqdm(
            self.enabled,
            stream,
            total=self.n_total,
            bar_format="Recordings {percentage:3.0f}%|{bar:20}| [{elapsed}<{remaining}] {desc}",
        )
        self._durations = {}  # stage -> seconds in the last recording that ran it
        self._job = None
        # recordings of parallel workers: label -> stage, and those done (a late message
        # from a finished recording is not shown again)
        self._running, self._finished = {}, set()
        self._lock = threading.Lock()
        self._describe()

    # -- the recordings ---------------------------------------------------------------
    def _describe(self, what=""):
        text = f"{self.n_done}/{self.n_total} done"
        if what:
            text += f", {what}"
        elif self._running:
            text += ", " + "; ".join(f"{k}: {v}" for k, v in self._running.items())
        elif self.parallel > 1 and self.n_done < self.n_total:
            text += f", {min(self.parallel, self.n_total - self.n_done)} running"
        self._bar.set_description_str(text, refresh=True)

    def _weights(self, stages):
        """Each stage's share of a recording: as measured last time, else equal."""
        known = [self._durations.get(s) for s in stages]
        if None in known or sum(known) <= 0:
            return [1.0 / len(stages)] * len(stages)
        total = sum(known)
        return [k / total for k in known]

    def stage_reporter(self, job):
        """Return a callable ``report(stage)`` for :func:`_process` (serial runs), or None."""
        if not self.enabled:
            return None
        stages = recording_stages(job)
        weights = dict(zip(stages, self._weights(stages)))
        state = dict(stage=None, t0=None, moved=0.0)
        label = _label(job)
        self._job = state

        def report(stage):
            now = time.perf_counter()
            self._end_stage(state, weights, now)
            state.update(stage=stage, t0=now)
            self._describe(f"{label}: {stage}")

        return report

    @contextlib.contextmanager
    def stage_queue(self):
        """Let worker processes report their stages; yields ``reporter(job)`` (or None).

        ``reporter(job)`` is a picklable ``report(stage)`` for :func:`_process` that puts
        the stage on a queue (a :class:`multiprocessing.Manager`'s); a thread of this process
        shows the stages of the recordings running. None when nothing is shown.
        """
        if not self.enabled:
            yield lambda job: None
            return
        import multiprocessing

        manager = multiprocessing.Manager()
        queue = manager.Queue()
        thread = threading.Thread(target=self._show_stages, args=(queue,), daemon=True)
        thread.start()
        try:
            yield lambda job: _QueueReporter(queue, _label(job))
        finally:
            queue.put(None)
            thread.join()
            manager.shutdown()

    def _show_stages(self, queue):
        while True:
            item = queue.get()
            if item is None:
                return
            label, stage = item
            with self._lock:
                if label not in self._finished:
                    self._running[label] = stage
                    self._describe()

    def _end_stage(self, state, weights, now):
        prev = state["stage"]
        if prev is None:
            return
        self._durations[prev] = now - state["t0"]
        step = min(weights.get(prev, 0.0), 1.0 - state["moved"])
        state["moved"] += step
        self._bar.update(step)

    def recording_done(self, job=None):
        """One recording finished (or failed): the bar moves to the next whole count.

        ``job``: the recording, when parallel workers reported its stages.
        """
        if job is not None:
            with self._lock:
                self._finished.add(_label(job))
                self._running.pop(_label(job), None)
        state, self._job = self._job, None
        if state is not None and state["stage"] is not None:
            self._durations[state["stage"]] = time.perf_counter() - state["t0"]
        self.n_done += 1
        with self._lock:
            self._bar.update(self.n_done - self._bar.n)  # exact, whatever the stage weights
            self._describe()

    def close(self):
        """Close the progress bar."""
        self._bar.close()

    def __enter__(self):
        """Enter the context: the progress display itself."""
        return self

    def __exit__(self, *exc):
        """Close the progress bar, also when the run fails."""
        self.close()


def _label(job):
    return f"{job['dyad']} session {job['session']}"


class _QueueReporter:
    """``report(stage)`` of a worker process: the stage goes on the run's queue."""

    def __init__(self, queue, label):
        self.queue, self.label = queue, label

    def __call__(self, stage):
        self.queue.put((self.label, stage))


@contextlib.contextmanager
def steps(names, enabled, *, stream=None, desc="Study"):
    """Show the study's closing steps one after the other; yields ``advance(name)``."""
    bar = _tqdm(
        enabled, stream, total=len(names), bar_format="{desc} ({n_fmt}/{total_fmt}) [{elapsed}]"
    )
    state = dict(started=False)

    def advance(name):
        if state["started"]:
            bar.update(1)
        state["started"] = True
        bar.set_description_str(f"{desc}: {name}", refresh=True)

    try:
        yield advance
        if state["started"]:
            bar.update(1)
        bar.set_description_str(f"{desc}: done", refresh=True)
    finally:
        bar.close()
