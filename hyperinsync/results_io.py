"""The HDF5 results file of a study (written by :meth:`hyperinsync.study.Study.run`).

Layout
------
One file per study (``results.h5``)::

    /                                   attrs: format='hyperinsync-results', format_version,
    |                                          created (ISO time), hyperinsync_version
    |-- provenance/                     attrs (JSON text): params (the full parameter set),
    |                                          versions (package versions), study_toml (or '')
    |-- recordings/
    |   `-- <dyad>/<session>/           one per recording (session = 'ses-<index>')
    |         attrs: complete=True, dyad, session, input_hash, param_hash,
    |                inputs (JSON: {file: SHA-256} of every file its reader opened),
    |                meta (JSON: group, date, variables and source from the study file;
    |                alignment report, duration, annotations, elapsed_s from the analysis)
    |         |-- sync/<segment>          SyncResult.to_dict()
    |         |-- surrogates/<segment>    SurrogateResult.to_dict()   (when computed)
    |         |-- level1/<segment>        In-Sync Level 1 result .to_dict()   (when computed)
    |         `-- level2                  In-Sync Level 2 result .to_dict()   (when computed)
    |-- group/                          group statistics (each a stored dict): 'features',
    |                                   'contrast', 'correlation', 'pseudo_dyads', 'level3'
    `-- failures                        (only after ``keep_going``) JSON list of the recordings
                                        that failed: dyad, session, files, error, message

``<segment>`` is an annotation description the study analyses separately (``'all'``: the
whole recording).

Every stored object is a nested dict written by one rule set (:func:`write_dict` /
:func:`read_dict`): a ``dict`` is an HDF5 group (attr ``__type__='dict'``, the keys in order
in attr ``__keys__``; '%', '/' and a lone '.' in a key are percent-encoded in the member
name); a numeric or boolean NumPy array is a dataset (``'ndarray'``); an array of strings is
a UTF-8 string dataset (``'str_array'``); a list or tuple holding arrays or dicts is a group
of items ``'0', '1', ...`` (``'list'``); anything else (numbers, strings, ``None``, plain
lists) is a scalar string dataset with its JSON text (``'json'``; dates become ISO strings).
Reading undoes each rule, so ``read_dict(write_dict(d)) == d`` up to tuples becoming lists.

Per-recording results are first written to their own files (``parts/<dyad>__<session>.h5``
beside the results file) through a temporary file that is moved into place only when it is
complete (:func:`hyperinsync._utils.atomic_path`), then copied into the study file, which is
itself written to a temporary file and moved over ``results.h5`` at the end. A killed run
therefore never leaves a half-written part or study file, and the next run resumes from the
parts.

A part holds only what its analysis computed; facts about the dyad and session that come from
the study file (group, variables, date, file names) are added when the study file is
assembled, so correcting them never reuses stale values. Every part and study file starts
with a 512-byte HDF5 user block (which HDF5 skips) holding ``hyperinsync-sha256:`` and the
SHA-256 of the rest of the file: a damaged or truncated file is refused
(:class:`ResultsError`, naming the file) before HDF5 reads any of it, instead of yielding
altered numbers.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from pathlib import Path

import numpy as np

from ._utils import _validate_type, as_table, atomic_path, json_default, logger
from .insync import InSyncLevel1, InSyncLevel2, InSyncLevel3
from .stats.result import SurrogateResult
from .sync.result import SyncResult

FORMAT = "hyperinsync-results"
# 2: a checksum in the user block; dyad-level facts merged from the study; 'failures'
FORMAT_VERSION = 2
_TYPE = "__type__"
_KEYS = "__keys__"


class ResultsError(ValueError):
    """A results or part file that cannot be trusted: damaged, truncated, incomplete or foreign.

    The message names the file. Re-running the study rewrites it (intact parts are reused).
    """


class OlderFormatError(ResultsError):
    """A part file written by an older version of hyperinsync (no checksum): recompute it."""


# Every file starts with an HDF5 user block (bytes HDF5 itself skips) holding the SHA-256 of
# the rest of the file: a damaged or truncated file is refused before HDF5 parses any of it
# (damaged HDF5 metadata can crash the HDF5 library, not only raise).
_USERBLOCK = 512
_SEAL = b"hyperinsync-sha256:"
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def _sha256_after_userblock(fid):
    h = hashlib.sha256()
    fid.seek(_USERBLOCK)
    for block in iter(lambda: fid.read(1 << 20), b""):
        h.update(block)
    return h.hexdigest().encode()


def _create_h5(fname):
    """A new HDF5 file with room for the seal (see :func:`_seal`)."""
    import h5py

    return h5py.File(fname, "w", userblock_size=_USERBLOCK)


def _seal(fname):
    """Write the SHA-256 of a closed file's HDF5 content into its user block."""
    with open(fname, "r+b") as fid:
        stamp = _SEAL + _sha256_after_userblock(fid)
        fid.seek(0)
        fid.write(stamp.ljust(_USERBLOCK, b"\0"))


def _check_seal(fname):
    """Raise :class:`ResultsError` unless the file's content matches its seal.

    Returns False for a file without a user block (written before seals existed).
    """
    try:
        with open(fname, "rb") as fid:
            head = fid.read(_USERBLOCK)
            if head.startswith(_HDF5_SIGNATURE):
                return False
            if not head.startswith(_SEAL):
                raise ResultsError(f"{fname} is not a hyperinsync results file, or its first "
                                   "bytes are damaged (no checksum header).")
            actual = _sha256_after_userblock(fid)
    except OSError as err:
        raise ResultsError(f"{fname} cannot be read: {err}") from err
    end = len(_SEAL) + len(actual)
    if head[len(_SEAL):end] != actual or head[end:].strip(b"\0"):
        raise ResultsError(f"{fname} is damaged or truncated: its content does not match the "
                           "checksum written with it.")
    return True


# --------------------------------------------------------------------------------------------
# generic nested dicts


def to_json(obj):
    """JSON text of ``obj`` (NumPy numbers/arrays, dates and paths converted)."""
    return json.dumps(obj, default=json_default, sort_keys=True)


def _has_array(value):
    """Whether ``value`` holds a NumPy array anywhere (those need HDF5 datasets)."""
    if isinstance(value, np.ndarray):
        return True
    if isinstance(value, dict):
        return any(_has_array(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_array(v) for v in value)
    return False


def _ordered_json(value):
    """JSON text keeping dict key order (it can carry meaning, e.g. bands vs an axis)."""
    if isinstance(value, dict) and not all(isinstance(k, str) for k in value):
        value = {str(k): v for k, v in value.items()}
    return json.dumps(value, default=json_default)


def _safe_key(key):
    """A valid HDF5 name for ``key``: '%', '/' and a lone '.' are percent-encoded."""
    key = str(key).replace("%", "%25").replace("/", "%2F")
    return "%2E" if key == "." else key


def _write_value(group, name, value):
    import h5py

    if isinstance(value, dict) and _has_array(value):
        sub = group.create_group(name)
        write_dict(sub, value)
    elif isinstance(value, np.ndarray) and value.dtype.kind in "US":
        ds = group.create_dataset(
            name, data=value.astype(object), dtype=h5py.string_dtype("utf-8")
        )
        ds.attrs[_TYPE] = "str_array"
    elif isinstance(value, np.ndarray) and value.dtype.kind in "biufc":
        # lossless compression for all but tiny arrays (per-epoch matrices dominate the file)
        big = value.nbytes > 4096 and value.ndim > 0
        ds = group.create_dataset(
            name, data=value, **(dict(compression="gzip", compression_opts=4, shuffle=True)
                                 if big else {})
        )
        ds.attrs[_TYPE] = "ndarray"
    elif isinstance(value, (list, tuple)) and _has_array(value):
        sub = group.create_group(name)
        sub.attrs[_TYPE] = "list"
        for i, item in enumerate(value):
            _write_value(sub, str(i), item)
    else:
        # array-free values (tables as lists of rows, parameters) are one JSON text each:
        # thousands of tiny HDF5 objects made reading and writing the slowest step
        ds = group.create_dataset(
            name, data=_ordered_json(value), dtype=h5py.string_dtype("utf-8")
        )
        ds.attrs[_TYPE] = "json"


def write_dict(group, d):
    """Write a nested dict into an open :class:`h5py.Group` (see the module docstring).

    Parameters
    ----------
    group : h5py.Group
        An empty group (or file) to write into.
    d : dict
        Keys are converted to str; values are arrays, dicts, lists, numbers, strings, None.
    """
    _validate_type(d, dict, "d")
    group.attrs[_TYPE] = "dict"
    # HDF5 lists members alphabetically; the order matters (e.g. bands vs the data axis)
    group.attrs[_KEYS] = to_json([str(k) for k in d])
    for key, value in d.items():
        _write_value(group, _safe_key(str(key)), value)


def _read_value(obj):
    import h5py

    kind = obj.attrs.get(_TYPE, "ndarray" if isinstance(obj, h5py.Dataset) else "dict")
    if kind == "dict":
        return read_dict(obj)
    if kind == "list":
        return [_read_value(obj[str(i)]) for i in range(len(obj))]
    if kind == "json":
        return json.loads(obj.asstr()[()])
    if kind == "str_array":
        return np.asarray(obj.asstr()[()], dtype=str)
    return obj[()]


def read_dict(group):
    """Read a nested dict written by :func:`write_dict`.

    Parameters
    ----------
    group : h5py.Group
        The group.

    Returns
    -------
    d : dict
        The dict, with NumPy arrays where arrays were stored.
    """
    names = json.loads(group.attrs[_KEYS]) if _KEYS in group.attrs else list(group)
    return {key: _read_value(group[_safe_key(key)]) for key in names}


# --------------------------------------------------------------------------------------------
# per-recording parts


def session_key(session):
    """Group name of a session index (``'ses-<index>'``)."""
    return f"ses-{int(session)}"


def part_name(dyad, session):
    """File name of one recording's part file."""
    return f"{dyad}__{session_key(session)}.h5"


def write_part(fname, record):
    """Write one recording's results to its own file, atomically.

    Parameters
    ----------
    fname : path-like
        The part file; it appears only once completely written.
    record : dict
        ``dyad``, ``session``, ``input_hash``, ``param_hash``, ``inputs`` (``{file:
        SHA-256}``, optional), ``meta`` (JSON-able dict) and the result dicts ``sync``,
        ``surrogates``, ``level1`` (each ``{segment: dict}``) and ``level2`` (dict or None).
    """
    with atomic_path(fname) as tmp:
        with _create_h5(tmp) as f:
            _write_record(f, record)
            # written last: a part without it is never trusted
            f.attrs["complete"] = True
        _seal(tmp)


def _write_record(group, record):
    for key in ("dyad", "input_hash", "param_hash"):
        group.attrs[key] = str(record[key])
    group.attrs["session"] = int(record["session"])
    group.attrs["inputs"] = to_json(record.get("inputs") or {})
    group.attrs["meta"] = to_json(record.get("meta", {}))
    for key in ("sync", "surrogates", "level1"):
        if record.get(key):
            write_dict(group.create_group(key), record[key])
    if record.get("level2") is not None:
        write_dict(group.create_group("level2"), record["level2"])


def read_part_header(fname):
    """Return ``(complete, input_hash, param_hash)`` of a part file, or None if unreadable."""
    import h5py

    try:
        with h5py.File(fname, "r") as f:
            return (
                bool(f.attrs.get("complete", False)),
                str(f.attrs.get("input_hash", "")),
                str(f.attrs.get("param_hash", "")),
            )
    except Exception as err:  # damaged bytes raise OSError, KeyError, RuntimeError, ...
        logger.info(f"Ignoring unreadable part {fname}: {err}")
        return None


def merge_meta(facts, meta):
    """A recording's ``meta``: the study's facts (group, date, ...) first, then the part's."""
    out = dict(facts)
    out.update((k, v) for k, v in meta.items() if k not in facts)
    return out


def verify_part(fname):
    """Check that a part file is complete and intact; return its header.

    Parameters
    ----------
    fname : path-like
        The part file.

    Returns
    -------
    header : dict
        ``dyad``, ``session``, ``input_hash``, ``param_hash`` and ``inputs`` (``{file:
        SHA-256}`` of the files its reader opened).

    Raises
    ------
    ResultsError
        If the file cannot be read, does not match its checksum (damaged or truncated) or
        is incomplete; :class:`OlderFormatError` if it has no checksum (an older version
        wrote it). The message names the file.
    """
    import h5py

    if not _check_seal(fname):
        raise OlderFormatError(f"{fname} has no checksum (written by an older version).")
    try:
        with h5py.File(fname, "r") as f:
            if not f.attrs.get("complete", False):
                raise ResultsError(f"{fname} is incomplete (no 'complete' flag).")
            return dict(
                dyad=str(f.attrs["dyad"]), session=int(f.attrs["session"]),
                input_hash=str(f.attrs["input_hash"]), param_hash=str(f.attrs["param_hash"]),
                inputs=json.loads(f.attrs["inputs"]),
            )
    except ResultsError:
        raise
    except Exception as err:  # h5py and json raise many kinds on damaged bytes
        raise ResultsError(f"{fname} cannot be read: {type(err).__name__}: {err}") from err


def _read_record_raw(group):
    rec = dict(
        dyad=str(group.attrs["dyad"]),
        session=int(group.attrs["session"]),
        input_hash=str(group.attrs["input_hash"]),
        param_hash=str(group.attrs["param_hash"]),
        inputs=json.loads(group.attrs["inputs"]) if "inputs" in group.attrs else {},
        meta=json.loads(group.attrs["meta"]),
    )
    for key in ("sync", "surrogates", "level1"):
        rec[key] = read_dict(group[key]) if key in group else {}
    rec["level2"] = read_dict(group["level2"]) if "level2" in group else None
    return rec


def read_part(fname):
    """Read one part file into a record of plain dicts (see :func:`write_part`)."""
    import h5py

    with h5py.File(fname, "r") as f:
        if not f.attrs.get("complete", False):
            raise ResultsError(f"{fname} is incomplete (no 'complete' flag): recompute it.")
        return _read_record_raw(f)


# --------------------------------------------------------------------------------------------
# the study file


def write_results(fname, parts, group_stats, params, versions, study_toml="", *, meta=None,
                  failures=None):
    """Assemble the study file from part files and group statistics, atomically.

    Parameters
    ----------
    fname : path-like
        The results file (``.h5``).
    parts : list of path-like
        Part files written by :func:`write_part`, copied in as ``recordings/<dyad>/<ses>``.
    group_stats : dict
        ``{name: dict}`` of group-level results.
    params : dict
        The full parameter set (JSON-able).
    versions : dict
        Package versions.
    study_toml : str
        The study file's text, if the study came from one.
    meta : dict | None
        ``{(dyad, session): dict}``: facts from the study (group, date, variables, source)
        merged into each recording's ``meta``.
    failures : list of dict | None
        Recordings that failed (stored as ``failures``; ``None``: none recorded).
    """
    import h5py

    from . import __version__

    with atomic_path(fname) as tmp:
        with _create_h5(tmp) as f:
            f.attrs["format"] = FORMAT
            f.attrs["format_version"] = FORMAT_VERSION
            f.attrs["created"] = _dt.datetime.now(_dt.timezone.utc).isoformat()
            f.attrs["hyperinsync_version"] = __version__
            prov = f.create_group("provenance")
            prov.attrs["params"] = to_json(params)
            prov.attrs["versions"] = to_json(versions)
            prov.attrs["study_toml"] = study_toml or ""
            recs = f.create_group("recordings")
            for part in parts:
                with h5py.File(part, "r") as src:
                    dyad = str(src.attrs["dyad"])
                    dst = recs.require_group(_safe_key(dyad))
                    name = session_key(src.attrs["session"])
                    src.copy(src["/"], dst, name=name)
                    # the root's attrs are not copied with the group: copy them explicitly
                    for k, v in src.attrs.items():
                        dst[name].attrs[k] = v
                    facts = (meta or {}).get((dyad, int(src.attrs["session"])))
                    if facts:
                        merged = merge_meta(facts, json.loads(src.attrs["meta"]))
                        dst[name].attrs["meta"] = to_json(merged)
            grp = f.create_group("group")
            for name, d in group_stats.items():
                if d is not None:
                    write_dict(grp.create_group(_safe_key(name)), d)
            if failures is not None:
                _write_value(f, "failures", list(failures))
        _seal(tmp)


class Results:
    """The contents of a results file, as result objects.

    Attributes
    ----------
    recordings : dict
        ``{(dyad, session): record}``; each record is a dict with ``meta`` (group, date,
        variables, alignment report, ...), ``input_hash``, ``param_hash``, ``sync``
        (``{segment: SyncResult}``), ``surrogates`` (``{segment: SurrogateResult}``),
        ``level1`` (``{segment: Level 1 result}``) and ``level2`` (result or None).
    group : dict
        Group statistics: ``{'features': ..., 'contrast': ..., 'correlation': ...,
        'pseudo_dyads': ..., 'level3': ...}`` (those computed).
    params : dict
        The full parameter set of the run.
    versions : dict
        Package versions of the run.
    study_toml : str
        The study file text ('' when the study was built in Python).
    attrs : dict
        File attributes (format, version, creation time).
    failures : list of dict
        Recordings that failed in a run with ``keep_going=True`` (``dyad``, ``session``,
        ``files``, ``error``, ``message``); empty when all were analysed.
    """

    def __init__(self, recordings, group, params, versions, study_toml, attrs, fname=None,
                 failures=None):
        self.failures = list(failures or [])
        self.recordings = recordings
        self.group = group
        self.params = params
        self.versions = versions
        self.study_toml = study_toml
        self.attrs = attrs
        self.fname = fname

    def __repr__(self):
        dyads = sorted({d for d, _ in self.recordings})
        return (
            f"<Results | {len(dyads)} dyads, {len(self.recordings)} recordings | group: "
            f"{', '.join(k for k, v in self.group.items() if v) or 'none'}>"
        )

    @property
    def dyads(self):
        """Dyad names, sorted."""
        return sorted({d for d, _ in self.recordings})

    def get(self, dyad, session=0):
        """Return the record of one recording.

        Parameters
        ----------
        dyad : str
            Dyad name.
        session : int
            Session index.

        Returns
        -------
        record : dict
            See :attr:`recordings`.
        """
        key = (dyad, int(session))
        if key not in self.recordings:
            raise KeyError(
                f"No recording ({dyad!r}, session {session}) in {self.fname}: it holds "
                f"{sorted(self.recordings)}."
            )
        return self.recordings[key]

    def to_table(self, measure=None):
        """Tidy per-recording table of ROI synchrony (same ROI in both people).

        Parameters
        ----------
        measure : str | None
            Keep one measure only (``None``: all).

        Returns
        -------
        table : pandas.DataFrame | list of dict
            Columns ``dyad, session, group, segment, measure, band, roi, value`` and, when
            surrogates were computed, ``p``, ``z``, ``null_mean`` and ``corrected`` (value
            minus null mean) of that ROI pair; then the dyad's variables. A DataFrame when
            pandas is installed.
        """
        rows = []
        for (dyad, ses), rec in sorted(self.recordings.items()):
            meta = rec["meta"]
            for seg, res in rec["sync"].items():
                sur = rec["surrogates"].get(seg)
                cells = {} if sur is None else _surrogate_cells(sur)
                rn, cn = res.roi_names
                for m in res.measures:
                    if measure is not None and m != measure:
                        continue
                    for b in res.bands:
                        vals = res.get_data(m, b, level="roi")
                        for i, roi in enumerate(rn):
                            if roi not in cn:
                                continue
                            j = cn.index(roi)
                            row = dict(dyad=dyad, session=ses, group=meta.get("group"),
                                       segment=seg, measure=m, band=b, roi=roi,
                                       value=float(vals[i, j]))
                            row.update(cells.get((m, b, roi), {}))
                            row.update(meta.get("variables", {}))
                            rows.append(row)
        return as_table(rows)


def _surrogate_cells(sur):
    """``{(measure, band, roi): {'p', 'z', 'null_mean', 'corrected'}}`` of a SurrogateResult's
    same-ROI pairs (``corrected``: observed - null mean, the study's default group feature)."""
    table = sur.to_table()
    rows = table.to_dict("records") if hasattr(table, "to_dict") else table
    return {(r["measure"], r["band"], r["row"]): dict(
        p=r["p"], z=r["z"], null_mean=r["null_mean"], corrected=r["observed"] - r["null_mean"])
        for r in rows if r["row"] == r["col"]}


# stored dict kind -> the class that rebuilds it with from_dict (an explicit registry: a
# result kind without a class here is an error, never silently left a plain dict)
RESULT_CLASSES = {
    "sync": SyncResult,
    "surrogates": SurrogateResult,
    "level1": InSyncLevel1,
    "level2": InSyncLevel2,
    "level3": InSyncLevel3,
}


def _rebuild(kind, d):
    if d is None:
        return d
    return RESULT_CLASSES[kind].from_dict(d)


def read_results(fname):
    """Read a results file written by :meth:`hyperinsync.study.Study.run`.

    Parameters
    ----------
    fname : path-like
        The ``results.h5`` file.

    Returns
    -------
    results : Results
        Per-recording :class:`~hyperinsync.sync.SyncResult` (and surrogate and In-Sync
        results), group statistics and provenance.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``fname``.
    ResultsError
        If the file is not a hyperinsync results file, or is truncated or damaged (its
        content does not match its digest). The message names the file.
    """
    fname = Path(fname)
    if not fname.is_file():
        raise FileNotFoundError(f"No results file at {fname}.")
    sealed = _check_seal(fname)  # before HDF5 parses anything
    try:
        return _read_results(fname, sealed)
    except ResultsError:
        raise
    except Exception as err:  # h5py, json and the result classes fail in many ways on damage
        raise ResultsError(
            f"{fname} is damaged or truncated and cannot be read ({type(err).__name__}: "
            f"{err}). Run the study again to rewrite it (intact parts are reused)."
        ) from err


def _read_results(fname, sealed):
    import h5py

    with h5py.File(fname, "r") as f:
        if f.attrs.get("format") != FORMAT:
            raise ResultsError(
                f"{fname} is not a hyperinsync results file (attribute 'format' is "
                f"{f.attrs.get('format')!r}, expected {FORMAT!r})."
            )
        if not sealed and int(f.attrs.get("format_version", 1)) >= 2:
            raise ResultsError(f"{fname} has lost its checksum: it is damaged.")
        attrs = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in f.attrs.items()}
        prov = f["provenance"].attrs
        params = json.loads(prov["params"])
        versions = json.loads(prov["versions"])
        study_toml = str(prov["study_toml"])
        recordings = {}
        for dname in f["recordings"]:
            for sname in f["recordings"][dname]:
                rec = _read_record_raw(f["recordings"][dname][sname])
                for kind in ("sync", "surrogates", "level1"):
                    rec[kind] = {seg: _rebuild(kind, d) for seg, d in rec[kind].items()}
                rec["level2"] = _rebuild("level2", rec["level2"])
                recordings[(rec["dyad"], rec["session"])] = rec
        group = {name: read_dict(f["group"][name]) for name in f["group"]}
        failures = _read_value(f["failures"]) if "failures" in f else []
    # per-segment pseudo-dyad results and per-feature Level 3 results are objects too
    for key, kind in (("pseudo_dyads", "surrogates"), ("level3", "level3")):
        if group.get(key):
            group[key] = {k: _rebuild(kind, d) for k, d in group[key].items()}
    return Results(recordings, group, params, versions, study_toml, attrs, fname,
                   failures=failures)


def failure_line(failure):
    """One line naming a failed recording, its files and the problem (CLI, ``info``)."""
    files = ", ".join(failure.get("files") or []) or "simulated"
    return (f"{failure['dyad']} session {failure['session']} ({files}): "
            f"{failure['error']}: {failure['message']}")


def describe_results(fname):
    """Return a short text description of a results file (``hyperinsync info``).

    Parameters
    ----------
    fname : path-like
        The results file.

    Returns
    -------
    text : str
        Format, creation, versions, parameters, recordings and group statistics.
    """
    res = read_results(fname)
    lines = [
        f"{fname}",
        f"  format {res.attrs.get('format')} v{res.attrs.get('format_version')}, created "
        f"{res.attrs.get('created')}, hyperinsync {res.attrs.get('hyperinsync_version')}",
        "  versions: " + ", ".join(f"{k} {v}" for k, v in sorted(res.versions.items())),
    ]
    p = res.params
    an = p.get("analysis", {})
    lines.append(
        f"  analysis: measures {an.get('measures')}, bands {an.get('bands')}, rois "
        f"{an.get('rois')!r}, segments {an.get('segments')}"
    )
    if p.get("surrogates"):
        s = p["surrogates"]
        lines.append(f"  surrogates: {s.get('null')} x {s.get('n_surrogates')}")
    lines.append(f"  recordings: {len(res.recordings)} ({len(res.dyads)} dyads)")
    for (dyad, ses), rec in sorted(res.recordings.items()):
        meta = rec["meta"]
        parts = [f"group {meta.get('group')}"] if meta.get("group") else []
        parts.append("segments " + ", ".join(rec["sync"]))
        if rec["surrogates"]:
            parts.append("surrogates")
        if rec["level1"]:
            parts.append("level1")
        if rec["level2"] is not None:
            parts.append("level2")
        lines.append(f"    {dyad} session {ses}: " + "; ".join(parts))
    done = [k for k, v in res.group.items() if v]
    lines.append("  group statistics: " + (", ".join(done) if done else "none"))
    if res.failures:
        lines.append(f"  failed recordings: {len(res.failures)} (not in the statistics)")
        lines.extend(f"    {failure_line(f)}" for f in res.failures)
    return "\n".join(lines)
