"""Nested dicts in HDF5, sealed by a checksum: the storage rules of parts and results files.

Every stored object is a nested dict written by one rule set (:func:`write_dict` /
:func:`read_dict`); see :mod:`hyperinsync.study.results` for the rules and the layout. Every
file starts with a 512-byte HDF5 user block holding ``hyperinsync-sha256:`` and the SHA-256
of the rest of the file, checked before HDF5 reads anything (:class:`ResultsError`).
"""

from __future__ import annotations

import hashlib
import json

import numpy as np

from .._utils import _validate_type, json_default

FORMAT = "hyperinsync-results"


# 2: a checksum in the user block; dyad-level facts merged from the study; 'failures'
FORMAT_VERSION = 2


_TYPE = "__type__"


_KEYS = "__keys__"


class ResultsError(ValueError):
    """A results or part file that cannot be trusted: damaged, truncated, incomplete or foreign.

    The message names the file. Re-running the study rewrites it (intact parts are reused).

    Examples
    --------
    >>> _ = open("results.h5", "wb").write(b"not an HDF5 file")
    >>> try:
    ...     hs.read_results("results.h5")
    ... except hs.study.ResultsError as err:
    ...     print(err)
    results.h5 is not a hyperinsync results file, or its first bytes are damaged (no checksum
    header).
    """


class OlderFormatError(ResultsError):
    """A part file written by an older version of hyperinsync (no checksum): recompute it.

    Examples
    --------
    >>> import h5py
    >>> from hyperinsync.study.parts import verify_part
    >>> with h5py.File("dyad01_s0.h5", "w") as f:      # HDF5, but no checksum
    ...     f.attrs["dyad"] = "dyad01"
    >>> try:
    ...     verify_part("dyad01_s0.h5")
    ... except hs.study.OlderFormatError as err:
    ...     print(err)
    dyad01_s0.h5 has no checksum (written by an older version).
    """


# Every file starts with an HDF5 user block (bytes HDF5 itself skips) holding the SHA-256 of
# the rest of the file: a damaged or truncated file is refused before HDF5 parses any of it
# (damaged HDF5 metadata can crash the HDF5 library, not only raise).
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_USERBLOCK = 512


_SEAL = b"hyperinsync-sha256:"


def _sha256_after_userblock(fid):
    h = hashlib.sha256()
    fid.seek(_USERBLOCK)
    for block in iter(lambda: fid.read(1 << 20), b""):
        h.update(block)
    return h.hexdigest().encode()


def _create_h5(fname):
    """Create a new HDF5 file with room for the seal (see :func:`_seal`)."""
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
                raise ResultsError(
                    f"{fname} is not a hyperinsync results file, or its first "
                    "bytes are damaged (no checksum header)."
                )
            actual = _sha256_after_userblock(fid)
    except OSError as err:
        raise ResultsError(f"{fname} cannot be read: {err}") from err
    end = len(_SEAL) + len(actual)
    if head[len(_SEAL) : end] != actual or head[end:].strip(b"\0"):
        raise ResultsError(
            f"{fname} is damaged or truncated: its content does not match the "
            "checksum written with it."
        )
    return True


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
    """Return a valid HDF5 name for ``key``: '%', '/' and a lone '.' are percent-encoded."""
    key = str(key).replace("%", "%25").replace("/", "%2F")
    return "%2E" if key == "." else key


def _write_value(group, name, value):
    import h5py

    if isinstance(value, dict) and _has_array(value):
        sub = group.create_group(name)
        write_dict(sub, value)
    elif isinstance(value, np.ndarray) and value.dtype.kind in "US":
        ds = group.create_dataset(name, data=value.astype(object), dtype=h5py.string_dtype("utf-8"))
        ds.attrs[_TYPE] = "str_array"
    elif isinstance(value, np.ndarray) and value.dtype.kind in "biufc":
        # lossless compression for all but tiny arrays (per-epoch matrices dominate the file);
        # gzip level 1: synchrony values are noisy floats, level 4 made the files 1 %
        # smaller for 1.4x the time (writing the demo's parts, 2026-12)
        big = value.nbytes > 4096 and value.ndim > 0
        ds = group.create_dataset(
            name,
            data=value,
            **(dict(compression="gzip", compression_opts=1, shuffle=True) if big else {}),
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
        ds = group.create_dataset(name, data=_ordered_json(value), dtype=h5py.string_dtype("utf-8"))
        ds.attrs[_TYPE] = "json"


def write_dict(group, d):
    """Write a nested dict into an open :class:`h5py.Group` (see the module docstring).

    Parameters
    ----------
    group : h5py.Group
        An empty group (or file) to write into.
    d : dict
        Keys are converted to str; values are arrays, dicts, lists, numbers, strings, None.

    Examples
    --------
    >>> import h5py
    >>> from hyperinsync.study.h5 import read_dict, write_dict
    >>> with h5py.File("x.h5", "w") as f:
    ...     write_dict(f, {"name": "pilot", "values": np.arange(3.0), "nested": {"n": 2}})
    >>> with h5py.File("x.h5", "r") as f:
    ...     read_dict(f)
    {'name': 'pilot', 'values': array([0., 1., 2.]), 'nested': {'n': 2}}
    """
    _validate_type(d, dict, "d")
    group.attrs[_TYPE] = "dict"
    # HDF5 lists members alphabetically; the order matters (e.g. bands vs the data axis)
    group.attrs[_KEYS] = to_json([str(k) for k in d])
    for key, value in d.items():
        _write_value(group, _safe_key(str(key)), value)


def _read_value(obj, skip=()):
    import h5py

    kind = obj.attrs.get(_TYPE, "ndarray" if isinstance(obj, h5py.Dataset) else "dict")
    if kind == "dict":
        return read_dict(obj, skip)
    if kind == "list":
        return [_read_value(obj[str(i)], skip) for i in range(len(obj))]
    if kind == "json":
        return json.loads(obj.asstr()[()])
    if kind == "str_array":
        return np.asarray(obj.asstr()[()], dtype=str)
    return obj[()]


def read_dict(group, skip=()):
    """Read a nested dict written by :func:`write_dict`.

    Parameters
    ----------
    group : h5py.Group
        The group.
    skip : tuple of str
        Keys left out, at every depth (their values are not read).

    Returns
    -------
    d : dict
        The dict, with NumPy arrays where arrays were stored.

    Examples
    --------
    >>> import h5py
    >>> from hyperinsync.study.h5 import read_dict, write_dict
    >>> with h5py.File("x.h5", "w") as f:
    ...     write_dict(f, {"bands": {"alpha": [8, 13]}, "z": np.array([1.5, -0.2])})
    >>> with h5py.File("x.h5", "r") as f:
    ...     read_dict(f)
    {'bands': {'alpha': [8, 13]}, 'z': array([ 1.5, -0.2])}
    """
    names = json.loads(group.attrs[_KEYS]) if _KEYS in group.attrs else list(group)
    return {key: _read_value(group[_safe_key(key)], skip) for key in names if key not in skip}
