"""Body and autonomic synchrony in a study: the ``[physio]`` and ``[movement]`` sections.

Per recording: the series are read -- channels of the EEG recording (amplifier aux
channels), or the session's own files (``[[dyads.sessions]] physio`` / ``movement``: one
file per person, or one file holding both, e.g. an MEA file), brought onto the recording's
timeline -- then preprocessed (``preprocessing``), analysed with
:func:`hyperinsync.lagged_sync` and annotated (:func:`hyperinsync.annotate`). The group
step is in :mod:`hyperinsync.study.physio_group`.
"""

from __future__ import annotations

import inspect
import os

import mne
import numpy as np

from ..dyad import as_dyad, get_dyad_meta, read_dyad_fif
from ..insync import annotate
from ..io import (
    align_physio,
    make_physio_dyad,
    read_mea,
    read_raw_acqknowledge,
    read_raw_empatica,
    read_raw_physio_csv,
)
from ..io.physio import abs_start
from ..preprocessing import (
    annotate_flat,
    annotate_missing,
    clean_eda,
    eda_decompose,
    heart_rate,
    mea_artifacts,
    mea_scale,
    mea_smooth,
)
from ..roles import role_ch_name
from ..stats.lagged import lagged_sync
from ..sync.lagged import DEFINITIONS, PHYSIO_TYPES
from .checks import StudyError, _check_name, _check_number, check_section, read_section
from .schema import LAGGED, SECTIONS

# the preprocessing steps a study file names (plain imports: an explicit registry)
PREPROCESSING = {
    f.__name__: f
    for f in (
        clean_eda,
        eda_decompose,
        heart_rate,
        annotate_missing,
        annotate_flat,
        mea_artifacts,
        mea_smooth,
        mea_scale,
    )
}
# the keys of [physio] / [movement] that reach lagged_sync (the others the study reads)
LAGGED_SYNC_KEYS = (
    "pairs",
    "lag",
    "window",
    "step",
    "definition",
    "absolute",
    "fisher_z",
    "max_missing",
    "null",
    "n_surrogates",
    "min_shift",
    "segments",
    "alpha",
    "ci",
    "n_boot",
    "lead_block",
    "seed",
    "backend",
)
# the keys of the group step (they do not reach a recording's analysis)
GROUP_KEYS = ("value", "icc", "outcomes", "center", "pseudo_dyads")
VALUES = ("sync_corrected", "sync_effect_size", "sync")
FORMATS = ("auto", "csv", "empatica", "acq", "mea", "fif")
_PERSON_FORMATS = ("csv", "empatica", "acq", "fif")


def _title(kind):
    return SECTIONS[kind].title


# -- the study file's values ---------------------------------------------------------------
def check_lagged(value, kind):
    """``[physio]`` / ``[movement]`` as the study keeps it (``None``: not computed).

    Checks, before any work, what would otherwise fail in every recording.
    """
    if value is None:
        return None
    where = _title(kind)
    opts = read_section(value, kind)
    for key in ("lag", "window"):
        if opts.get(key) is None:
            raise StudyError(
                f"{where} needs {key} (seconds), e.g. lag = 5 and window = 30 "
                "for skin conductance, lag = 2 and window = 10 for movement."
            )
        _check_number(opts[key], f"{where} {key} (seconds)", positive=key == "window", minimum=0)
    for key in ("step", "sfreq", "lead_block"):
        if opts.get(key) is not None:
            _check_number(opts[key], f"{where} {key}", positive=True)
    for key in ("min_shift", "max_missing"):
        if opts.get(key) is not None:
            _check_number(opts[key], f"{where} {key}", minimum=0)
    for key in ("alpha", "ci"):
        if key in opts and not (isinstance(opts[key], (int, float)) and 0 < opts[key] < 1):
            raise StudyError(f"{where} {key} must be in (0, 1), got {opts[key]!r}.")
    for key in ("n_surrogates", "n_boot"):
        if key in opts:
            _check_number(opts[key], f"{where} {key}", integer=True, minimum=1)
    _one_of(opts.get("definition", "wcc"), DEFINITIONS, f"{where} definition")
    null = opts.get("null", "auto")
    if null is True:
        raise StudyError(
            f"{where} null must be auto, circular_shift, segment_shuffle or "
            "false (no surrogates), got true."
        )
    if null is not False:
        _one_of(null, ("auto", "circular_shift", "segment_shuffle"), f"{where} null")
    _one_of(opts.get("format", "auto"), FORMATS, f"{where} format")
    for key in ("channels", "segments"):
        if isinstance(opts.get(key), str):
            opts[key] = [opts[key]]
        for name in opts.get(key) or []:
            _check_name(name, "segment" if key == "segments" else "channel", f"{where} {key}")
    for name, kind_ in (opts.get("ch_types") or {}).items():
        _check_name(name, "channel", f"{where} ch_types")
        _one_of(kind_, PHYSIO_TYPES, f"{where} ch_types {name}")
    pairs = opts.get("pairs")
    if isinstance(pairs, dict):
        for mod, chans in pairs.items():
            _check_name(mod, "modality", f"{where} pairs")
            if not (
                isinstance(chans, list)
                and len(chans) == 2
                and all(isinstance(c, str) for c in chans)
            ):
                raise StudyError(
                    f"{where} pairs: {mod} must be [channel of the first role, "
                    f"channel of the second], got {chans!r}."
                )
    _check_offsets(opts.get("offsets"), where)
    opts["preprocessing"] = [
        _check_step(s, f"{where} preprocessing") for s in opts["preprocessing"]
    ]
    _one_of(opts["value"], VALUES, f"{where} value")
    if opts["value"] != "sync" and null is False:
        raise StudyError(
            f"{where} value = {opts['value']!r} is measured against the "
            'surrogates, but null = false: set value = "sync" or enable the '
            "surrogates."
        )
    if not all(isinstance(o, str) for o in opts["outcomes"]):
        raise StudyError(
            f"{where} outcomes must be a list of session variable names, got {opts['outcomes']!r}."
        )
    if opts["center"] not in ("within", False):
        raise StudyError(f'{where} center must be "within" or false, got {opts["center"]!r}.')
    pseudo = opts["pseudo_dyads"]
    opts["pseudo_dyads"] = (
        None
        if pseudo is False
        else read_section(
            {} if pseudo is True else pseudo, "lagged.pseudo_dyads", f"{where} pseudo_dyads"
        )
    )
    return opts


def _one_of(value, allowed, where):
    if value not in allowed:
        raise StudyError(f"{where} must be one of {', '.join(map(str, allowed))}, got {value!r}.")


def _check_offsets(offsets, where):
    if offsets is None:
        return
    vals = offsets if isinstance(offsets, list) else [offsets]
    if len(vals) not in (1, 2) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals
    ):
        raise StudyError(
            f"{where} offsets must be a number (one file) or [first role, "
            f"second role] in seconds (two files), got {offsets!r}."
        )


def _check_step(step, where):
    """Return a preprocessing step as ``{'step': name, **options}``.

    The options are checked against the function's parameters.
    """
    if isinstance(step, str):
        step = {"step": step}
    if not isinstance(step, dict) or not isinstance(step.get("step"), str):
        raise StudyError(
            f"{where}: a step is a name or {{ step = name, option = value }}, got {step!r}."
        )
    name = step["step"]
    if name not in PREPROCESSING:
        raise StudyError(f"{where}: unknown step {name!r}; steps: {', '.join(PREPROCESSING)}.")
    params = inspect.signature(PREPROCESSING[name]).parameters
    valid = [p for p in params if p not in ("raw", "verbose")]
    bad = [k for k in step if k != "step" and k not in valid]
    if bad:
        raise StudyError(
            f"{where}: {name} has no option(s) {bad}; its options: {', '.join(valid)}."
        )
    return dict(step)


def check_simulate_physio(value, roles):
    """Return ``[simulate_physio]`` as the study keeps it.

    The arguments of :func:`hyperinsync.simulate_physio_study`.
    """
    if value is None:
        return None
    opts = check_section(value, "simulate_physio")
    segs = opts.get("segments")
    if segs is not None and (
        not isinstance(segs, list) or not all(isinstance(x, list) and len(x) == 2 for x in segs)
    ):
        raise StudyError(
            f"[simulate_physio] segments must be a list of [name, seconds] pairs, got {segs!r}."
        )
    opts["roles"] = list(roles)
    return opts


def companion_source(spec, kind, opts, where, path_of, roles):
    """Return a session's ``physio`` / ``movement`` table: its files, reader format and offsets.

    ``path_of`` resolves a path of the study file (relative to ``data_dir``); ``roles``:
    the study's two roles (the order of the files).
    """
    where = f"{where} {kind}"
    spec = check_section(spec, "dyads.sessions.companion", where)
    if opts is None:
        raise StudyError(
            f"{where}: the session names {kind} files but the study has no "
            f"{_title(kind)} section (lag, window, ...)."
        )
    if ("files" in spec) == ("file" in spec):
        raise StudyError(
            f"{where} needs exactly one of files = {{role = path}} (one file "
            "per person) and file = path (one file holding both)."
        )
    fmt = spec.get("format", opts.get("format", "auto"))
    _one_of(fmt, FORMATS, f"{where} format")
    offsets = spec.get("offsets", opts.get("offsets"))
    _check_offsets(offsets, where)
    kwargs = {**(opts.get("reader_kwargs") or {}), **(spec.get("reader_kwargs") or {})}
    if "files" in spec:
        files = spec["files"]
        if not isinstance(files, dict) or set(files) != set(roles):
            raise StudyError(
                f"{where}: files must name one file per role {list(roles)}, "
                f"got {list(files) if isinstance(files, dict) else files!r}."
            )
        paths = [path_of(files[r]) for r in roles]  # in role order, whatever the file's
        if fmt == "auto":
            fmt = {".fif": "fif", ".acq": "acq"}.get(
                os.path.splitext(paths[0])[1].lower() if paths else "", "csv"
            )
        if fmt not in _PERSON_FORMATS:
            raise StudyError(f"{where}: format {fmt!r} holds both people: give it as file = path.")
        if opts.get("sfreq") is None:
            raise StudyError(
                f"{where}: two files are brought onto one timeline at a "
                f"common rate: set {_title(kind)} sfreq (e.g. 8 for skin "
                "conductance)."
            )
        if isinstance(offsets, (int, float)) or (offsets is not None and len(offsets) != 2):
            raise StudyError(
                f"{where}: offsets of two files are [first role, second role], got {offsets!r}."
            )
        return dict(
            mode="files",
            format=fmt,
            paths=[str(p) for p in paths],
            offsets=offsets,
            reader_kwargs=kwargs,
        )
    path = path_of(spec["file"])
    if fmt == "auto":
        fmt = "fif" if path.name.lower().endswith((".fif", ".fif.gz")) else "mea"
    if fmt not in ("mea", "fif"):
        raise StudyError(
            f"{where}: format {fmt!r} reads one person per file: give "
            "files = { role = path, ... }."
        )
    if isinstance(offsets, list):
        if len(offsets) != 1:
            raise StudyError(f"{where}: one file takes one offset, got {offsets!r}.")
        offsets = offsets[0]
    return dict(mode="file", format=fmt, paths=[str(path)], offsets=offsets, reader_kwargs=kwargs)


# -- one recording ---------------------------------------------------------------------------
def recording_paths(rec):
    """Every file a recording names: its EEG file(s), companion files, annotations file."""
    paths = list(rec["source"].get("paths", []))
    for src in (rec.get("companions") or {}).values():
        paths += src["paths"]
    if rec.get("annotations"):
        paths.append(rec["annotations"])
    return paths


def annotation_list(raw):
    """Return a recording's annotations as JSON-able dicts (onsets as MNE stores them)."""
    return [
        dict(
            onset=float(a["onset"]),
            duration=float(a["duration"]),
            description=str(a["description"]),
        )
        for a in raw.annotations
    ]


def carry_annotations(src, dst, *, bad=True, only=None):
    """Copy ``src``'s annotations onto ``dst``, at the same seconds from the first sample.

    ``bad``: also those whose description starts with ``BAD``; ``only``: just these
    descriptions. Channel-specific annotations keep only the channels ``dst`` has (and are
    dropped when it has none of them).
    """
    ann = src.annotations
    for a, named in zip(ann, ann.ch_names):
        desc = str(a["description"])
        if (not bad and desc.upper().startswith("BAD")) or (only is not None and desc not in only):
            continue
        chs = [c for c in named if c in dst.ch_names]
        if len(named) and not chs:
            continue
        onset = float(a["onset"]) - src.first_time  # raw.annotations count from first_time
        dst.annotations.append(
            onset + dst.first_time, float(a["duration"]), desc, ch_names=[chs] if chs else None
        )
    return dst


def add_file_annotations(raw, fname):
    """Add the annotations of a file (``mne.read_annotations``) to ``raw``, in place.

    Onsets are seconds from the recording's first sample, or absolute times when the file
    has an ``orig_time`` (then the recording needs a start time).
    """
    ann = mne.read_annotations(fname)
    shift = 0.0
    if ann.orig_time is not None:
        start = abs_start(raw)
        if start is None:
            raise ValueError(
                f"{fname} holds absolute times (orig_time {ann.orig_time}), but "
                "the recording has no start time: write the onsets in seconds "
                "from its first sample."
            )
        shift = (ann.orig_time - start).total_seconds()
    for a, named in zip(ann, ann.ch_names):
        chs = [c for c in named if c in raw.ch_names]
        raw.annotations.append(
            float(a["onset"]) + shift + raw.first_time,
            float(a["duration"]),
            str(a["description"]),
            ch_names=[chs] if chs else None,
        )
    return raw


def _pick_from(raw, names, roles, fname, kind):
    """Return the channels of both people from a dyad recording (a lightweight copy)."""
    if names is None:
        picks = [c for c, t in zip(raw.ch_names, raw.get_channel_types()) if t in PHYSIO_TYPES]
        if not picks:
            raise ValueError(
                f"{fname}: no physiological or movement channel (types "
                f"{', '.join(PHYSIO_TYPES)}): set {_title(kind)} channels, or give the "
                f"session's {kind} files."
            )
    else:
        picks = [role_ch_name(r, c) for c in names for r in roles]
        missing = [p for p in picks if p not in raw.ch_names]
        if missing:
            raise ValueError(
                f"{fname}: no channel(s) {missing} ({_title(kind)} channels = {names}); "
                f"its channels: {', '.join(raw.ch_names[:12])}"
                + (" ..." if len(raw.ch_names) > 12 else "")
                + "."
            )
    info = mne.pick_info(raw.info, [raw.ch_names.index(p) for p in picks])
    out = mne.io.RawArray(raw.get_data(picks=picks), info, first_samp=raw.first_samp, verbose=False)
    return as_dyad(carry_annotations(raw, out), verbose=False)


def _read_person(path, fmt, kwargs, names, role, kind):
    readers = dict(
        csv=read_raw_physio_csv,
        empatica=read_raw_empatica,
        acq=read_raw_acqknowledge,
        fif=lambda f, **kw: mne.io.read_raw_fif(f, preload=True, **kw),
    )
    raw = readers[fmt](path, **kwargs, verbose=False)
    if names is not None:
        missing = [c for c in names if c not in raw.ch_names]
        if missing:
            raise ValueError(
                f"{path} ({role}): no channel(s) {missing} ({_title(kind)} "
                f"channels = {names}); it has {raw.ch_names}."
            )
        raw.pick(names)
    return raw


def _from_files(src, opts, roles, reference, kind):
    """Read a session's own files onto the recording's timeline (``reference``: EEG or None)."""
    names, kwargs = opts.get("channels"), src["reader_kwargs"]
    if src["mode"] == "files":
        people = [
            _read_person(p, src["format"], kwargs, names, r, kind)
            for p, r in zip(src["paths"], roles)
        ]
        chans = [set(r.ch_names) for r in people]
        if chans[0] != chans[1]:  # say which file lacks what (make_physio_dyad cannot)
            lacks = [
                (p, r, sorted(chans[1 - k] - chans[k]))
                for k, (p, r) in enumerate(zip(src["paths"], roles))
                if chans[1 - k] - chans[k]
            ]
            raise ValueError(
                "; ".join(f"{p} ({r}) has no channel(s) {m}" for p, r, m in lacks)
                + f" that the other person's file has: set {_title(kind)} channels to "
                "those both have."
            )
        offsets = tuple(src["offsets"]) if src["offsets"] is not None else (None, None)
        return make_physio_dyad(
            *people,
            sfreq=opts["sfreq"],
            roles=roles,
            reference=reference,
            offsets=offsets,
            verbose=False,
        )
    path = src["paths"][0]
    if src["format"] == "mea":
        dyad = read_mea(path, roles=roles, **kwargs, verbose=False)
    else:
        dyad = read_dyad_fif(path, verbose=False)
        if tuple(dyad.roles) != tuple(roles):
            raise ValueError(f"{path} holds roles {dyad.roles}, the study {tuple(roles)}.")
    if names is not None:
        dyad = _pick_from(dyad, names, roles, path, kind)
    sfreq = opts.get("sfreq") or dyad.info["sfreq"]
    if reference is not None or sfreq != dyad.info["sfreq"] or src["offsets"] is not None:
        dyad = as_dyad(
            align_physio(
                dyad, sfreq=sfreq, reference=reference, offset=src["offsets"], verbose=False
            ),
            verbose=False,
        )
    return dyad


def read_lagged(job, kind, raw):
    """Return the dyad that ``[physio]`` / ``[movement]`` analyses in one recording.

    ``raw``: the recording (EEG, or a simulated one), or ``None`` for a session of files
    alone.
    """
    dyad = _read_lagged(job, kind, raw)
    types = job[kind].get("ch_types")
    if types:
        roles = tuple(job["roles"])
        missing = [c for c in types if role_ch_name(roles[0], c) not in dyad.ch_names]
        if missing:
            raise ValueError(
                f"{_title(kind)} ch_types names channel(s) {missing} that the "
                f"series read have not; they have {dyad.ch_names}."
            )
        dyad.set_channel_types(
            {role_ch_name(r, c): t for c, t in types.items() for r in roles},
            on_unit_change="ignore",
        )
    return dyad


def _read_lagged(job, kind, raw):
    opts, roles = job[kind], tuple(job["roles"])
    src = (job.get("companions") or {}).get(kind)
    if src is None:
        fname = (job["source"].get("paths") or ["the simulated recording"])[0]
        dyad = _pick_from(raw, opts.get("channels"), roles, os.path.basename(fname), kind)
        sfreq = opts.get("sfreq")
        if sfreq is not None and sfreq != dyad.info["sfreq"]:
            dyad = as_dyad(
                align_physio(dyad, sfreq=sfreq, reference=dyad, offset=0.0, verbose=False),
                verbose=False,
            )
        return dyad
    eeg = raw if job["eeg"] else None
    dyad = _from_files(src, opts, roles, eeg, kind)
    if eeg is not None:  # its segments (not its artefacts) on the files' series
        carry_annotations(eeg, dyad, bad=False)
    elif job.get("annotations"):
        add_file_annotations(dyad, job["annotations"])
    return dyad


def preprocess(raw, steps):
    """Run ``raw`` through the preprocessing steps, in order.

    Each step's output keeps the segment annotations of its input (a new series, such as a
    heart rate, has none).
    """
    for step in steps:
        kw = {k: v for k, v in step.items() if k != "step"}
        out = PREPROCESSING[step["step"]](raw, **kw, verbose=False)
        have = set(out.annotations.description)
        lost = {
            d
            for d in raw.annotations.description
            if not d.upper().startswith("BAD") and d not in have
        }
        if lost:
            carry_annotations(raw, out, only=lost)
        raw = out
    return raw


def lagged_kwargs(opts):
    """Return the keyword arguments of :func:`hyperinsync.lagged_sync` from a section."""
    kw = {k: opts[k] for k in LAGGED_SYNC_KEYS if k in opts}
    if kw.get("null") is False:
        kw["null"] = None
    if isinstance(kw.get("pairs"), dict):
        kw["pairs"] = {k: tuple(v) for k, v in kw["pairs"].items()}
    return kw


def analysed_dyad(job, kind, raw):
    """Return the preprocessed dyad of ``kind`` in one recording."""
    return preprocess(read_lagged(job, kind, raw), job[kind]["preprocessing"])


def lagged_records(job, raw, report=None):
    """``{kind: (LaggedSyncResult dict, meta)}`` of one recording, annotated.

    ``report(kind)`` is called as each kind starts (the runner's progress display).
    """
    out = {}
    for kind in LAGGED:
        if job.get(kind) is None:
            continue
        if report is not None:
            report(kind)
        dyad = analysed_dyad(job, kind, raw)
        res = lagged_sync(dyad, **lagged_kwargs(job[kind]), verbose=False)
        annotate(dyad, res)
        sfreq = dyad.info["sfreq"]
        meta = dict(
            sfreq=float(sfreq),
            duration_s=float(dyad.n_times / sfreq),
            channels={m: list(p) for m, p in res.channels.items()},
            alignment=get_dyad_meta(dyad).get("physio_alignment"),
            annotations=annotation_list(dyad),
            n_missing_samples=int(np.isnan(dyad.get_data()).sum()),
        )
        out[kind] = (res.to_dict(), meta)
    return out
