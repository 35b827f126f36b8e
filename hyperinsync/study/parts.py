"""Per-recording part files (``parts/<dyad>__<session>.h5``): written atomically, verified, read."""

from __future__ import annotations

import json

from .._utils import atomic_path, logger
from .h5 import (
    OlderFormatError,
    ResultsError,
    _check_seal,
    _create_h5,
    _seal,
    read_dict,
    to_json,
    write_dict,
)

# the results stored once per recording (the others: per segment); physio and movement:
# LaggedSyncResult of [physio] / [movement]
_SINGLE = ("level2", "physio", "movement")


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
        ``surrogates``, ``level1`` (each ``{segment: dict}``), ``level2``, ``physio`` and
        ``movement`` (each a dict, or None / absent).
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
    for key in _SINGLE:
        if record.get(key) is not None:
            write_dict(group.create_group(key), record[key])


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
    """Return a recording's ``meta``: the study's facts (group, date...) first, then the part's."""
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
                dyad=str(f.attrs["dyad"]),
                session=int(f.attrs["session"]),
                input_hash=str(f.attrs["input_hash"]),
                param_hash=str(f.attrs["param_hash"]),
                inputs=json.loads(f.attrs["inputs"]),
            )
    except ResultsError:
        raise
    except Exception as err:  # h5py and json raise many kinds on damaged bytes
        raise ResultsError(f"{fname} cannot be read: {type(err).__name__}: {err}") from err


def _read_record_raw(group, skip=()):
    rec = dict(
        dyad=str(group.attrs["dyad"]),
        session=int(group.attrs["session"]),
        input_hash=str(group.attrs["input_hash"]),
        param_hash=str(group.attrs["param_hash"]),
        inputs=json.loads(group.attrs["inputs"]) if "inputs" in group.attrs else {},
        meta=json.loads(group.attrs["meta"]),
    )
    for key in ("sync", "surrogates", "level1"):
        rec[key] = read_dict(group[key], skip) if key in group and key not in skip else {}
    for key in _SINGLE:
        rec[key] = read_dict(group[key], skip) if key in group and key not in skip else None
    return rec


def read_part(fname, skip=()):
    """Read one part file into a record of plain dicts (see :func:`write_part`).

    ``skip``: keys left out at every depth (:func:`~.h5.read_dict`); a skipped analysis
    reads as one that was not run.
    """
    import h5py

    with h5py.File(fname, "r") as f:
        if not f.attrs.get("complete", False):
            raise ResultsError(f"{fname} is incomplete (no 'complete' flag): recompute it.")
        return _read_record_raw(f, skip)
