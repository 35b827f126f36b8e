"""One recording of a study: read (or simulated), analysed, returned as a record of plain dicts.

The workers of :mod:`hyperinsync.study.runner` call ``_process`` (in a process pool or on a
Dask worker), so everything here takes and returns picklable values.
"""

from __future__ import annotations

import functools
import json
import time

import mne

from .._utils import crop_copy
from ..insync import level1, level2, level3
from ..stats import pseudo_dyad_test, surrogate_test
from .cache import _input_hash, _opened_files, _opened_inputs
from .checks import StudyError, shared_options
from .h5 import to_json
from .physio import add_file_annotations, annotation_list, lagged_records


def _simulate_study():
    from ..simulation import simulate_study

    return simulate_study


def _design(design_json):
    """Return a simulation design from its JSON (segments and roles back to tuples)."""
    design = json.loads(design_json)
    if "segments" in design:
        design["segments"] = [tuple(s) for s in design["segments"]]
    design["roles"] = tuple(design["roles"])
    return design


@functools.lru_cache(maxsize=4)
def _make_simulated_physio(design_json):
    """Return the simulated physiological study of a design (cached, as ``_make_simulated``)."""
    from ..simulation import simulate_physio_study

    return simulate_physio_study(**_design(design_json))


@functools.lru_cache(maxsize=4)
def _make_simulated(design_json):
    """Return the simulated study of a design (cached: every recording of a worker shares it)."""
    design = _design(design_json)
    if "couplings" in design:
        raise StudyError("[simulate] couplings cannot be given in a study file; use Python.")
    return _simulate_study()(**design, verbose=False)


def eeg_segments(job):
    """Return the EEG segments a recording analyses (none without EEG: [physio] only)."""
    return job["analysis"]["segments"] if job.get("eeg", True) else []


def _shared_options(analysis, func):
    """Return the [analysis] options that ``func`` takes, as keyword arguments.

    The bands and ROIs, the signal options of DyadSignals and, where it applies, the epoch
    length: declared by the study-file schema, not read from ``func``'s signature.
    """
    return shared_options(analysis, _SECTION_OF[func])


# The analyses a study runs, by name (plain imports: a missing analysis is an ImportError
# when the package is imported, never a step silently dropped from a study).
_ANALYSES = {
    "surrogate_test": surrogate_test,
    "pseudo_dyad_test": pseudo_dyad_test,
    "level1": level1,
    "level2": level2,
    "level3": level3,
}
# the study-file section of each analysis (hyperinsync.study.schema)
_SECTION_OF = {
    surrogate_test: "surrogates",
    pseudo_dyad_test: "statistics.pseudo_dyads",
    level1: "insync.level1",
    level2: "insync.level2",
    level3: "insync.level3",
}


def _load_recording(job):
    """Read (or simulate) one recording as a DyadRaw, with the session's annotations file.

    ``None``: a session of physiological or movement files alone.
    """
    raw = _read_recording(job)
    renames = job["source"].get("options", {}).get("rename_annotations")
    if raw is not None and renames:
        # the markers this recording has (another recording of the study may lack some)
        have = set(raw.annotations.description)
        raw.annotations.rename({k: v for k, v in renames.items() if k in have})
    if raw is not None and job.get("annotations") and job.get("eeg", True):
        add_file_annotations(raw, job["annotations"])
    return raw


def _read_recording(job):
    src = job["source"]
    roles = tuple(job["roles"])
    opts = dict(src.get("options", {}))
    opts.pop("rename_annotations", None)  # applied by _load_recording
    if src["mode"] == "none":
        return None
    if src["mode"] == "simulate":
        raw, _ = _make_simulated(to_json(src["design"])).get_dyad(
            job["dyad"], job["session"], verbose=False
        )
        return raw
    if src["mode"] == "simulate_physio":
        raw, _ = _make_simulated_physio(to_json(src["design"])).get_dyad(
            job["dyad"], job["session"], verbose=False
        )
        return raw
    if src["mode"] == "files":
        from ..io.align import read_dyad_files

        return read_dyad_files(*src["paths"], roles=roles, **opts, verbose=False)
    path = src["paths"][0]
    if src["mode"] == "xdf":
        from ..io.xdf import read_dyad_xdf

        if "streams" in opts:
            opts["streams"] = tuple(opts["streams"])
        return read_dyad_xdf(path, roles=roles, **opts, verbose=False)
    if src["mode"] == "fif":
        from ..dyad import get_roles, read_dyad_fif

        raw = read_dyad_fif(path, verbose=False)
        if tuple(get_roles(raw)) != roles:
            raise StudyError(f"{path} holds roles {get_roles(raw)}, the study {roles}.")
        return raw
    from ..io.align import read_recording
    from ..io.split import split_dyad

    kwargs = opts.pop("reader_kwargs", None) or {}
    if src["format"] == "poly5" and not path.lower().endswith(".poly5"):
        from ..io.poly5 import read_raw_poly5

        raw = read_raw_poly5(path, preload=True, verbose=False, **kwargs)
    else:  # the truncation checks of read_dyad_files apply to one-file recordings too
        raw = read_recording(path, preload=True, verbose=False, **kwargs)
    return split_dyad(raw, roles=roles, **opts, verbose=False)


def _crop_segment(raw, description, picks=None):
    """Return the parts of ``raw`` annotated ``description`` (several are concatenated).

    ``picks``: channel names to keep (default: all); ``description='all'``: the whole
    recording (``raw`` itself without ``picks``).
    """
    if description == "all":
        if picks is None:
            return raw
        return crop_copy(raw, 0, raw.times[-1], picks)
    ann = raw.annotations
    hits = [i for i, d in enumerate(ann.description) if d == description]
    if not hits:
        raise StudyError(
            f"No annotation {description!r} in the recording to analyse as a segment; it has "
            f"{sorted(set(ann.description))}. Fix [analysis] segments."
        )
    sfreq = raw.info["sfreq"]
    pieces = []
    for i in hits:
        # raw.annotations count from first_samp's time, with or without a meas_date
        onset = ann.onset[i] - raw.first_time
        # in samples, so a segment that ends with the recording keeps its last sample
        start = max(int(round(onset * sfreq)), 0)
        stop = min(int(round((onset + ann.duration[i]) * sfreq)), raw.n_times)
        pieces.append(crop_copy(raw, start / sfreq, (stop - 1) / sfreq, picks))
    return pieces[0] if len(pieces) == 1 else mne.concatenate_raws(pieces)


def _process(job, report=None):
    """Analyse one recording; return a record of plain dicts (see :func:`.parts.write_part`).

    ``report(stage)``, when given, is called as each stage starts (the names of
    :func:`hyperinsync.study.progress.recording_stages`).
    """
    from ..dyad import get_dyad_meta
    from ..sync import compute_sync

    report = report or (lambda stage: None)
    t0 = time.perf_counter()
    with _opened_files() as opened:  # the files the reader opens are inputs too
        report("read")
        raw = _load_recording(job)
        an = dict(job["analysis"])
        an.pop("segments", None)  # the analysis options; the segments come from eeg_segments
        segments = eeg_segments(job)
        rec = dict(
            dyad=job["dyad"],
            session=job["session"],
            param_hash=job["param_hash"],
            sync={},
            surrogates={},
            level1={},
            level2=None,
        )
        for seg in segments:
            report(f"sync {seg}")
            inst = _crop_segment(raw, seg)
            res = compute_sync(inst, **an, verbose=False)
            rec["sync"][seg] = res.to_dict()
            if job["surrogates"] is not None:
                report(f"surrogates {seg}")
                kw = _shared_options(an, surrogate_test)
                kw.update(measures=an.get("measures", "plv"), **job["surrogates"])
                sur = surrogate_test(inst, **kw, verbose=False)
                rec["surrogates"][seg] = sur.to_dict()
        l1 = job["insync"].get("level1") if segments else None
        if l1 is not None:
            report("level 1")
            l1 = dict(l1)
            seg = l1.pop("segment", "all")
            inst = _crop_segment(raw, seg)
            res = level1(inst, **{**_shared_options(an, level1), **l1}, verbose=False)
            rec["level1"][seg] = res.to_dict()
        l2 = job["insync"].get("level2") if segments else None
        if l2 is not None:
            report("level 2")
            kw = {**_shared_options(an, level2), **l2}
            rec["level2"] = level2(raw, **kw, verbose=False).to_dict()
        # only what the analysis found: the study's facts (group, variables, date, files)
        # are added when the results are assembled, so that correcting them needs no rerun
        meta = (
            {}
            if raw is None
            else dict(
                alignment=get_dyad_meta(raw).get("alignment"),
                duration_s=float(raw.times[-1] + 1 / raw.info["sfreq"]),
                sfreq=float(raw.info["sfreq"]),
                annotations=annotation_list(raw),
            )
        )
        for kind, (res, kind_meta) in lagged_records(job, raw, report).items():
            rec[kind], meta[kind] = res, kind_meta
    rec["inputs"] = _opened_inputs(job, opened)
    rec["input_hash"] = _input_hash(job, rec["inputs"])
    meta["elapsed_s"] = time.perf_counter() - t0
    rec["meta"] = meta
    return rec
