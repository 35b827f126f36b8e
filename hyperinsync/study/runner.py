"""Running a study: each recording read (or simulated) and analysed, in parallel, then committed.

Workers receive and return plain dicts (picklable for joblib and Dask).
"""

from __future__ import annotations

import contextlib
import copy
import time
from pathlib import Path

from .._utils import (
    _validate_type,
    check_n_jobs,
    logger,
    release_freed_memory,
    remove_stale_temp_files,
    verbose,
    warn,
)
from .cache import (
    _cache_versions,
    _input_hash,
    _input_key,
    _key_path,
    _sha256_cached,
    _sha256_json,
    _versions,
    lock_output,
)
from .checks import (
    RecordingError,
    StudyError,
    _check_name,
)
from .h5 import OlderFormatError, ResultsError
from .parts import (
    merge_meta,
    part_name,
    read_part,
    read_part_header,
    verify_part,
    write_part,
)
from .physio import (
    GROUP_KEYS,
    recording_paths,
)
from .progress import RunProgress, progress_enabled, steps
from .recording import _process
from .results import read_results, write_results
from .schema import LAGGED


def _safe_process(job, report=None):
    """``(job, record, None)`` or ``(job, None, error)``: errors are reported by the runner."""
    try:
        # without a reporter, the one-argument call (wrappers of _process take one)
        return job, (_process(job) if report is None else _process(job, report)), None
    except Exception as err:
        return job, None, err
    finally:
        release_freed_memory()  # a worker waiting for its next job (or the group step)


def _execute(jobs, n_jobs, scheduler, commit, *, keep_going=False, dashboard=None, progress=False):
    """Run jobs, committing each record as soon as it is back; return [(job, exception)].

    Without ``keep_going`` the first failure stops the run: jobs not yet started are
    dropped (those already finished are committed). ``progress``: show a
    :class:`~hyperinsync.study.progress.RunProgress` on stderr.
    """
    failures = []
    if not jobs:
        return failures
    # how many run at once is known for joblib only (a Dask cluster may grow or shrink)
    with RunProgress(len(jobs), progress, parallel=n_jobs if scheduler is None else 1) as bar:
        if scheduler is None:
            from joblib import Parallel, delayed

            with contextlib.ExitStack() as stack:
                if n_jobs == 1:  # stage by stage: the reporter is made as each job starts
                    results = (_safe_process(job, bar.stage_reporter(job)) for job in jobs)
                else:  # workers put their stages on a queue the bar reads
                    reporter = stack.enter_context(bar.stage_queue())
                    results = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(
                        delayed(_safe_process)(job, reporter(job)) for job in jobs
                    )
                try:
                    for job, rec, err in results:
                        if err is None:
                            commit(job, rec)
                        else:
                            failures.append((job, err))
                            if not keep_going:
                                break
                        bar.recording_done(job if n_jobs > 1 else None)
                finally:
                    results.close()  # joblib cancels the jobs not yet started
            return failures
        client, owned = _dask_client(scheduler, n_jobs, dashboard)
        try:
            from distributed import as_completed

            futures = {client.submit(_process, job, pure=False): job for job in jobs}
            for fut in as_completed(futures):
                job = futures[fut]
                try:
                    rec = fut.result()
                except Exception as err:
                    failures.append((job, err))
                    if not keep_going:
                        client.cancel(list(futures))
                        break
                else:
                    commit(job, rec)
                bar.recording_done()
        finally:
            if owned:
                cluster = client.cluster
                client.close()
                if cluster is not None:
                    cluster.close()
    return failures


def _dask_client(scheduler, n_jobs, dashboard=None):
    """Return (client, whether we own and must close it)."""
    import dask
    from distributed import Client, LocalCluster

    if isinstance(scheduler, Client):
        return scheduler, False
    _validate_type(scheduler, str, "scheduler")
    if scheduler == "local":
        kwargs = dict(n_workers=n_jobs, threads_per_worker=1, processes=True, host="127.0.0.1")
        if dashboard:
            _validate_type(dashboard, str, "dashboard")
            return Client(LocalCluster(**kwargs, dashboard_address=dashboard)), True
        # Dask's scheduler and workers always start an HTTP server (the dashboard, worker
        # pages, metrics; the scheduler's on port 8787): without routes, on free loopback
        # ports, they serve nothing
        routes = {"distributed.scheduler.http.routes": [], "distributed.worker.http.routes": []}
        with dask.config.set(routes):
            cluster = LocalCluster(
                **kwargs,
                dashboard_address=None,
                scheduler_kwargs=dict(dashboard=False, dashboard_address="127.0.0.1:0"),
            )
        return Client(cluster), True
    return Client(scheduler), True


class _StudyRunner:
    """How a :class:`~hyperinsync.study.Study` runs (a mixin of ``Study``)."""

    @property
    def params(self):
        """The full parameter set (a JSON-able dict)."""
        return dict(
            schema_version=self.schema_version,
            name=self.name,
            roles=list(self.roles),
            groups=self.groups,
            reader=self.reader,
            analysis=self.analysis,
            surrogates=self.surrogates,
            insync=self.insync,
            statistics=self.statistics,
            simulate=self.simulate,
            physio=self.physio,
            movement=self.movement,
            simulate_physio=self.simulate_physio,
        )

    def _recording_params(self, rec, sha_cache):
        """Return what a recording's results depend on, besides the contents of its input files."""

        def named(src):
            # file names, not paths: the same study run from another folder reuses its parts
            out = {k: v for k, v in src.items() if k != "paths"}
            out["files"] = [Path(p).name for p in src.get("paths", [])]
            return out

        params = dict(
            roles=list(self.roles), source=named(rec["source"]), versions=_cache_versions()
        )
        if rec.get("eeg", True):
            params.update(
                analysis=self.analysis,
                surrogates=self.surrogates,
                insync={k: v for k, v in self.insync.items() if k != "level3"},
            )
        # [physio] / [movement] and their files (keys only when used: the parts of studies
        # without them keep their hash); their group options do not reach a recording
        for kind in LAGGED:
            opts = getattr(self, kind)
            if opts is not None:
                params[kind] = {k: v for k, v in opts.items() if k not in GROUP_KEYS}
        if rec.get("companions"):
            params["companions"] = {k: named(v) for k, v in rec["companions"].items()}
        if rec.get("annotations"):
            params["annotations"] = Path(rec["annotations"]).name
        return self._file_contents(params, sha_cache)

    def _file_contents(self, obj, sha_cache):
        """``obj`` with each ROI or montage file path replaced by its name and content hash."""
        if isinstance(obj, dict):
            return {k: self._file_contents(v, sha_cache) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return [self._file_contents(v, sha_cache) for v in obj]
        if isinstance(obj, str) and obj in self._option_files:
            return dict(file=Path(obj).name, sha256=_sha256_cached(obj, sha_cache))
        return obj

    def _primary_inputs(self, rec, sha_cache):
        """``{file key: SHA-256}`` of the files a recording names (its reader may open more)."""
        return {
            _input_key(p, self.base_dir): _sha256_cached(p, sha_cache) for p in recording_paths(rec)
        }

    def _facts(self):
        """``{(dyad, session): facts}``: what the study file says about each recording."""
        return {
            (r["dyad"], r["session"]): dict(
                group=r["group"], date=r["date"], variables=r["variables"], source=r["source"]
            )
            for r in self.recordings
        }

    def _read_record(self, part, skip=()):
        """Return a part's record, with the study's facts about its dyad and session in ``meta``.

        ``skip``: keys not read (:func:`~.parts.read_part`).
        """
        rec = read_part(part, skip)
        rec["meta"] = merge_meta(self._facts()[(rec["dyad"], rec["session"])], rec["meta"])
        return rec

    def _reusable(self, part, job, sha_cache):
        """Return ``part``'s header if it holds exactly what ``job`` would compute, else None."""
        what = f"{job['dyad']} session {job['session']}"
        try:
            header = verify_part(part)
        except OlderFormatError:
            logger.info(f"{what}: its part was written by an older version, recomputing.")
            return None
        except ResultsError as err:
            warn(f"{err} Recomputing {what}.")
            return None
        if (header["dyad"], header["session"]) != (job["dyad"], job["session"]):
            warn(
                f"{part} holds {header['dyad']} session {header['session']}, not {what}: "
                "recomputing it."
            )
            return None
        if header["param_hash"] != job["param_hash"]:
            logger.info(f"{what}: parameters or package versions changed, recomputing.")
            return None
        inputs = header["inputs"]
        current = {}
        for key in inputs:
            try:
                current[key] = _sha256_cached(_key_path(key, self.base_dir), sha_cache)
            except OSError:
                current[key] = None
        if (
            not set(job["inputs"]) <= set(inputs)
            or current != inputs
            or _input_hash(job, current) != header["input_hash"]
        ):
            logger.info(f"{what}: input files changed, recomputing.")
            return None
        return header

    # -- running --------------------------------------------------------------------------
    @verbose
    def run(
        self,
        out_dir,
        n_jobs=1,
        scheduler=None,
        resume=True,
        *,
        fname="results.h5",
        keep_going=False,
        dashboard=None,
        progress=None,
        verbose=None,
    ):
        """Analyse every recording, then the group, and write the results file.

        Parameters
        ----------
        out_dir : path-like
            Output folder: ``results.h5`` and ``parts/`` (one file per recording, reused
            by the next run). One run at a time may write into it: another run (or a
            thread) that holds its lock makes this one raise :class:`StudyError`.
        n_jobs : int
            Parallel recordings (joblib processes; with ``scheduler='local'`` the number of
            Dask workers). ``-1``: all cores.
        scheduler : None | 'local' | str | distributed.Client
            ``None``: joblib. ``'local'``: a :class:`distributed.LocalCluster` of ``n_jobs``
            process workers on 127.0.0.1, closed at the end. An address
            (``'tcp://host:8786'``): that Dask scheduler (workers must see the input files
            and ``out_dir`` is written by this process). A :class:`distributed.Client`: used
            as is.
        resume : bool
            Reuse intact parts whose inputs (the contents of every file the reader opened,
            ROI and montage files), parameters and package versions are unchanged. A damaged
            part is named in a warning and recomputed.
        fname : str
            Name of the results file inside ``out_dir``.
        keep_going : bool
            When a recording fails, go on with the others, leave it out of the group
            statistics and list it in ``results.failures`` (and in the results file).
            ``False``: stop at the first failure with a :class:`RecordingError` naming the
            dyad, session, files and problem (the recordings already done are kept).
        dashboard : str | None
            With ``scheduler='local'``: the address of the Dask dashboard, e.g.
            ``'127.0.0.1:8787'``. ``None`` (default): no dashboard; the cluster's HTTP
            servers listen on 127.0.0.1 on free ports and serve nothing.
        progress : bool | None
            Show the progress on stderr: a bar over the recordings with the estimated time
            left, stage by stage inside each recording when ``n_jobs=1`` (reading,
            synchrony and surrogates per segment, Levels 1 and 2), then the group
            statistics and the results file. ``None`` (default): when stderr is a terminal
            and ``verbose`` is ``'warning'`` or lower; ``False``: never; ``True``: always.
        verbose : bool | str | int | None
            Control verbosity of the logging output, as in MNE.

        Returns
        -------
        results : hyperinsync.study.Results
            The results file read back; ``results.run_info`` holds ``computed``,
            ``skipped`` and ``failed`` ``(dyad, session)`` lists and ``elapsed_s``.

        Raises
        ------
        RecordingError
            A recording failed (without ``keep_going``).
        StudyError
            Another run holds the output folder; input files are missing; every recording
            failed; a part changed under this run.
        """
        t0 = time.perf_counter()
        n_jobs = check_n_jobs(n_jobs)
        _check_name(fname, "results file name", "fname", file=True)
        if dashboard and scheduler != "local":
            raise ValueError(
                f"dashboard={dashboard!r} applies to scheduler='local' only (a "
                "running Dask scheduler serves its own dashboard)."
            )
        progress = progress_enabled(progress)  # here: ``verbose`` applies
        self.check_files()
        out_dir = Path(out_dir)
        with lock_output(out_dir):
            remove_stale_temp_files(out_dir)
            parts_dir = out_dir / "parts"
            parts_dir.mkdir(exist_ok=True)
            remove_stale_temp_files(parts_dir)
            return self._run(
                out_dir,
                parts_dir,
                n_jobs,
                scheduler,
                resume,
                fname,
                keep_going,
                dashboard,
                t0,
                progress,
            )

    def _run(
        self,
        out_dir,
        parts_dir,
        n_jobs,
        scheduler,
        resume,
        fname,
        keep_going,
        dashboard,
        t0,
        progress=False,
    ):
        sha_cache = {}  # each input file is hashed once per run
        jobs, skipped, expected = [], [], {}
        for rec in self.recordings:
            key = (rec["dyad"], rec["session"])
            part = parts_dir / part_name(*key)
            if part.resolve().parent != parts_dir.resolve():  # the names were checked
                raise StudyError(f"{key}: part file {part} would leave {parts_dir}.")
            job = dict(
                rec,
                part=str(part),
                base_dir=str(self.base_dir),
                inputs=self._primary_inputs(rec, sha_cache),
                param_hash=_sha256_json(self._recording_params(rec, sha_cache)),
                analysis=self.analysis,
                surrogates=self.surrogates,
                insync=self.insync,
                roles=list(self.roles),
                physio=self.physio,
                movement=self.movement,
            )
            header = self._reusable(part, job, sha_cache) if resume and part.exists() else None
            if header is not None:
                skipped.append(key)
                expected[key] = (header["input_hash"], job["param_hash"])
                continue
            jobs.append(job)
        logger.info(
            f"Study {self.name!r}: {len(jobs)} recording(s) to compute, "
            f"{len(skipped)} reused from {parts_dir}."
        )

        def commit(job, rec):
            write_part(job["part"], rec)
            expected[(job["dyad"], job["session"])] = (rec["input_hash"], rec["param_hash"])
            logger.info(
                f"  {job['dyad']} session {job['session']} done ({rec['meta']['elapsed_s']:.1f} s)"
            )

        failures = _execute(
            jobs,
            n_jobs,
            scheduler,
            commit,
            keep_going=keep_going,
            dashboard=dashboard,
            progress=progress,
        )
        failed = {
            (job["dyad"], job["session"]): RecordingError(
                job["dyad"], job["session"], recording_paths(job), err
            )
            for job, err in failures
        }
        if failed and not keep_going:
            first = next(iter(failed.values()))
            raise first from first.error
        ok = [r for r in self.recordings if (r["dyad"], r["session"]) not in failed]
        if not ok:
            raise StudyError(
                f"All {len(failed)} recording(s) failed:\n  "
                + "\n  ".join(str(e) for e in failed.values())
            )
        if failed:
            warn(
                f"{len(failed)} recording(s) failed and are left out of the results (see "
                "results.failures): " + ", ".join(f"{d} session {s}" for d, s in failed)
            )
        parts = [parts_dir / part_name(r["dyad"], r["session"]) for r in ok]
        for part, rec in zip(parts, ok):
            # the parts must be those this run computed or checked (their contents were
            # verified then, and the lock keeps other runs out)
            if read_part_header(part) != (True, *expected[(rec["dyad"], rec["session"])]):
                raise StudyError(
                    f"{part} changed during this run (another process wrote it?): "
                    "run the study again."
                )
        study = self
        if failed:  # the group statistics see the recordings that were analysed
            study = copy.copy(self)
            study.recordings = ok
        with steps(["group statistics", "results file"], progress) as advance:
            advance("group statistics")
            group_stats = study._group_statistics(parts, n_jobs if scheduler is None else 1)
            advance("results file")
            out = out_dir / fname
            write_results(
                out,
                parts,
                group_stats,
                self.params,
                _versions(),
                self.study_toml,
                meta=self._facts(),
                failures=[e.as_dict() for e in failed.values()] if keep_going else None,
            )
            results = read_results(out)
        results.run_info = dict(
            computed=[
                (j["dyad"], j["session"]) for j in jobs if (j["dyad"], j["session"]) not in failed
            ],
            skipped=skipped,
            failed=list(failed),
            elapsed_s=time.perf_counter() - t0,
        )
        logger.info(f"Results: {out} ({results.run_info['elapsed_s']:.1f} s).")
        return results
