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
    |         |-- level2                  In-Sync Level 2 result .to_dict()   (when computed)
    |         |-- physio                  LaggedSyncResult.to_dict() of [physio]  (when computed)
    |         `-- movement                LaggedSyncResult.to_dict() of [movement] (when computed)
    |-- group/                          group statistics (each a stored dict): 'features',
    |                                   'contrast', 'correlation', 'pseudo_dyads', 'level3';
    |                                   'physio', 'movement' (see hyperinsync.study.physio_group)
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
import json
from pathlib import Path

import numpy as np

from .._utils import as_table, atomic_path
from ..insync import InSyncLevel1, InSyncLevel2, InSyncLevel3
from ..stats.group_result import ContrastResult, CorrelationResult, MixedModelResult
from ..stats.lagged_result import LaggedSyncResult
from ..stats.result import SurrogateResult
from ..sync.result import SyncResult
from .h5 import (
    FORMAT,
    FORMAT_VERSION,
    ResultsError,
    _check_seal,
    _create_h5,
    _read_value,
    _safe_key,
    _seal,
    _write_value,
    read_dict,
    to_json,
    write_dict,
)
from .parts import (
    _read_record_raw,
    merge_meta,
    session_key,
)
from .schema import LAGGED


def write_results(
    fname, parts, group_stats, params, versions, study_toml="", *, meta=None, failures=None
):
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

    from .. import __version__

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

    Made by :func:`~hyperinsync.study.read_results`. Each parameter is kept as the attribute
    of the same name.

    Parameters
    ----------
    recordings : dict
        ``{(dyad, session): record}``; each record is a dict with ``meta`` (group, date,
        variables, alignment report, ...), ``input_hash``, ``param_hash``, ``sync``
        (``{segment: SyncResult}``), ``surrogates`` (``{segment: SurrogateResult}``),
        ``level1`` (``{segment: Level 1 result}``), ``level2`` (result or None), and
        ``physio`` / ``movement`` (:class:`~hyperinsync.LaggedSyncResult` or None).
    group : dict
        Group statistics (those computed): ``'features'`` (a dict of the per-dyad values),
        ``'contrast'`` (:class:`~hyperinsync.stats.ContrastResult`), ``'correlation'``
        (``{variable: CorrelationResult}``), ``'mixed'`` (``{measure: MixedModelResult}``),
        ``'pseudo_dyads'`` (``{segment: SurrogateResult}``), ``'level3'``
        (``{feature: InSyncLevel3}``); ``'physio'`` and ``'movement'``: the group step of
        lagged synchrony (:func:`hyperinsync.study.results.read_lagged_group`).
    params : dict
        The full parameter set of the run.
    versions : dict
        Package versions of the run.
    study_toml : str
        The study file text ('' when the study was built in Python).
    attrs : dict
        File attributes (format, version, creation time).
    fname : path-like | None
        The file read (``None``: not read from a file).
    failures : list of dict | None
        Recordings that failed in a run with ``keep_going=True`` (``dyad``, ``session``,
        ``files``, ``error``, ``message``); empty (or ``None``) when all were analysed.
    """

    def __init__(
        self, recordings, group, params, versions, study_toml, attrs, fname=None, failures=None
    ):
        self.failures = list(failures or [])
        self.recordings = recordings
        self.group = group
        self.params = params
        self.versions = versions
        self.study_toml = study_toml
        self.attrs = attrs
        self.fname = fname

    def __repr__(self):
        """Return the one-line summary that ``repr()`` shows."""
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
            Its entry of ``recordings`` (see :class:`Results`).
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
        table : pandas.DataFrame
            Columns ``dyad, session, group, segment, measure, band, roi, value`` and, when
            surrogates were computed, ``p``, ``z``, ``null_mean`` and ``corrected`` (value
            minus null mean) of that ROI pair; then the dyad's variables.
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
                            row = dict(
                                dyad=dyad,
                                session=ses,
                                group=meta.get("group"),
                                segment=seg,
                                measure=m,
                                band=b,
                                roi=roi,
                                value=float(vals[i, j]),
                            )
                            row.update(cells.get((m, b, roi), {}))
                            row.update(meta.get("variables", {}))
                            rows.append(row)
        return as_table(
            rows, ["dyad", "session", "group", "segment", "measure", "band", "roi", "value"]
        )

    def lagged_table(self, kind="physio", level="session"):
        """Tidy table of the ``[physio]`` or ``[movement]`` results of every recording.

        Parameters
        ----------
        kind : 'physio' | 'movement'
            The study-file section.
        level : 'session' | 'segment' | 'episode'
            Rows of :meth:`hyperinsync.LaggedSyncResult.to_table`.

        Returns
        -------
        table : pandas.DataFrame
            ``dyad``, ``session``, ``group``, ``date``, the session's variables, then the
            rows (empty when the section was not computed).
        """
        from .._utils import _check_option

        _check_option("kind", kind, LAGGED)
        _check_option("level", level, ("session", "segment", "episode"))
        frames = []
        for (dyad, ses), rec in sorted(self.recordings.items()):
            res = rec.get(kind)
            if res is None:
                continue
            tab = res.to_table(level)
            meta = rec["meta"]
            design = dict(
                dyad=dyad,
                session=ses,
                group=meta.get("group"),
                date=meta.get("date"),
                **(meta.get("variables") or {}),
            )
            for k, v in reversed(list(design.items())):
                tab.insert(0, k, [v] * len(tab))
            frames.append(tab)
        if not frames:
            return as_table([], ["dyad", "session", "modality"])
        import pandas as pd

        return pd.concat(frames, ignore_index=True)


def _surrogate_cells(sur):
    """Return the values of a SurrogateResult's same-ROI pairs.

    ``{(measure, band, roi): {'p', 'z', 'null_mean', 'corrected'}}`` (``corrected``:
    observed - null mean, the study's default group feature).
    """
    rows = sur.to_table().to_dict("records")
    return {
        (r["measure"], r["band"], r["row"]): dict(
            p=r["p"], z=r["z"], null_mean=r["null_mean"], corrected=r["observed"] - r["null_mean"]
        )
        for r in rows
        if r["row"] == r["col"]
    }


# stored dict kind -> the class that rebuilds it with from_dict (an explicit registry: a
# result kind without a class here is an error, never silently left a plain dict)
RESULT_CLASSES = {
    "sync": SyncResult,
    "surrogates": SurrogateResult,
    "level1": InSyncLevel1,
    "level2": InSyncLevel2,
    "level3": InSyncLevel3,
    "contrast": ContrastResult,
    "correlation": CorrelationResult,
    "mixed": MixedModelResult,
    "lagged": LaggedSyncResult,
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
                for kind in LAGGED:
                    rec[kind] = _rebuild("lagged", rec[kind])
                recordings[(rec["dyad"], rec["session"])] = rec
        group = {name: read_dict(f["group"][name]) for name in f["group"]}
        failures = _read_value(f["failures"]) if "failures" in f else []
    # the group results are objects too: the contrast; per segment (pseudo-dyads), feature
    # (Level 3), variable (correlations) or measure (mixed model) the others
    if group.get("contrast"):
        group["contrast"] = _rebuild("contrast", group["contrast"])
    for key, kind in (
        ("pseudo_dyads", "surrogates"),
        ("level3", "level3"),
        ("correlation", "correlation"),
        ("mixed", "mixed"),
    ):
        if group.get(key):
            group[key] = {k: _rebuild(kind, d) for k, d in group[key].items()}
    for kind in LAGGED:
        if group.get(kind):
            group[kind] = read_lagged_group(group[kind])
    return Results(recordings, group, params, versions, study_toml, attrs, fname, failures=failures)


def read_lagged_group(d):
    """Return the group step of ``[physio]`` / ``[movement]`` as stored, with tables and objects.

    Parameters
    ----------
    d : dict
        As :meth:`hyperinsync.study.Study.run` stores it (``group/physio``).

    Returns
    -------
    group : dict
        ``value`` (the per-session value), ``modalities``; ``sessions`` and ``segments``
        (DataFrames: every recording's session and segment rows with its dyad, session,
        date and variables); per modality ``icc`` (dict of
        :func:`hyperinsync.stats.icc`, or None), ``level3``
        (:class:`~hyperinsync.insync.InSyncLevel3`), ``outcomes`` (``{outcome: dict}`` of
        :func:`hyperinsync.stats.predict_outcome`, its ``table`` a DataFrame);
        ``pseudo_dyads`` (tables of :func:`hyperinsync.lagged_pseudo_dyads`, or None);
        ``notes`` (why a step was skipped).

    Examples
    --------
    >>> from hyperinsync.study.results import read_lagged_group
    >>> stored = {"value": "sync_corrected", "modalities": ["SCR"],
    ...           "sessions": [{"dyad": "dyad01", "session": 0, "modality": "SCR",
    ...                         "sync_corrected": 0.12}]}
    >>> read_lagged_group(stored)["sessions"]       # lists of rows become DataFrames
         dyad  session modality  sync_corrected
    0  dyad01        0      SCR            0.12
    """
    out = dict(d)
    for key in ("sessions", "segments"):
        out[key] = as_table(d.get(key) or [], ["dyad", "session", "modality"])
    out["level3"] = {m: _rebuild("level3", v) for m, v in (d.get("level3") or {}).items()}
    out["outcomes"] = {
        m: {o: dict(fit, table=as_table(fit["table"])) for o, fit in fits.items()}
        for m, fits in (d.get("outcomes") or {}).items()
    }
    pseudo = d.get("pseudo_dyads")
    if pseudo:
        out["pseudo_dyads"] = {
            k: as_table(v) if isinstance(v, list) else v for k, v in pseudo.items()
        }
    return out


def failure_line(failure):
    """Return one line naming a failed recording, its files and the problem (CLI, ``info``).

    Parameters
    ----------
    failure : dict
        One entry of ``results.failures`` (:class:`~hyperinsync.study.results.Results`):
        ``dyad``, ``session``, ``files`` (empty for a simulated recording), ``error``
        (the exception's type) and ``message``.

    Returns
    -------
    line : str
        ``'<dyad> session <session> (<files>): <error>: <message>'``, with
        ``simulated`` in place of the files of a simulated recording.

    Examples
    --------
    >>> from hyperinsync.study import failure_line
    >>> failure_line({"dyad": "dyad03", "session": 1, "files": ["dyad03/s1.Poly5"],
    ...               "error": "ValueError", "message": "no segment 'rest_post'"})
    "dyad03 session 1 (dyad03/s1.Poly5): ValueError: no segment 'rest_post'"
    """
    files = ", ".join(failure.get("files") or []) or "simulated"
    return (
        f"{failure['dyad']} session {failure['session']} ({files}): "
        f"{failure['error']}: {failure['message']}"
    )


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
    if any(rec["sync"] for rec in res.recordings.values()):  # EEG analysed
        lines.append(
            f"  analysis: measures {an.get('measures')}, bands {an.get('bands')}, rois "
            f"{an.get('rois')!r}, segments {an.get('segments')}"
        )
        if p.get("surrogates"):
            s = p["surrogates"]
            lines.append(f"  surrogates: {s.get('null')} x {s.get('n_surrogates')}")
    for kind in LAGGED:
        o = p.get(kind)
        if o:
            lines.append(
                f"  {kind}: {o.get('definition', 'wcc')}, lag {o.get('lag')} s, window "
                f"{o.get('window')} s, step {o.get('step') or o.get('window')} s, null "
                f"{o.get('null', 'auto')} x {o.get('n_surrogates', 1000)}, segments "
                f"{o.get('segments') or 'none'}, group value {o.get('value')}"
            )
    lines.append(f"  recordings: {len(res.recordings)} ({len(res.dyads)} dyads)")
    for (dyad, ses), rec in sorted(res.recordings.items()):
        meta = rec["meta"]
        parts = [f"group {meta.get('group')}"] if meta.get("group") else []
        if rec["sync"]:
            parts.append("segments " + ", ".join(rec["sync"]))
        if rec["surrogates"]:
            parts.append("surrogates")
        if rec["level1"]:
            parts.append("level1")
        if rec["level2"] is not None:
            parts.append("level2")
        for kind in LAGGED:
            if rec.get(kind) is not None:
                parts.append(f"{kind} ({', '.join(rec[kind].modalities)})")
        lines.append(f"    {dyad} session {ses}: " + "; ".join(parts))
    done = [k for k, v in res.group.items() if v]
    lines.append("  group statistics: " + (", ".join(done) if done else "none"))
    if res.failures:
        lines.append(f"  failed recordings: {len(res.failures)} (not in the statistics)")
        lines.extend(f"    {failure_line(f)}" for f in res.failures)
    return "\n".join(lines)
