"""Shared helpers: logging, argument checks, atomic writes (docstrings: ``_docs``)."""

from __future__ import annotations

import datetime
import os
import re
import secrets
import warnings
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import numpy as np
from mne.utils import (  # noqa: F401  (re-exported for the rest of the package)
    ProgressBar,
    _check_option,
    _validate_type,
    logger,
    verbose,
    warn,
)

DEFAULT_BANDS = {"theta": (4.0, 8.0), "alpha": (8.0, 13.0)}
# In-Sync findings are annotated "insync/L<level>/<band or modality>/<A>-<B>", by
# hyperinsync.insync (EEG) and by the lagged synchrony of hyperinsync.stats.lagged
INSYNC_PREFIX = "insync"


def insync_description(level, name, a=None, b=None):
    """Return the annotation description of an In-Sync finding: ``insync/L<level>/<name>/<a>-<b>``.

    ``name`` is the band (EEG) or the modality (body and autonomic signals); ``a`` and ``b``
    are the first and second role's ROI or channel (plain names, without roles). Without
    ``a`` and ``b``: the prefix ``insync/L<level>/<name>/`` that every such description of
    that level and name starts with.
    """
    prefix = f"{INSYNC_PREFIX}/L{int(level)}/{name}/"
    return prefix if a is None and b is None else f"{prefix}{a}-{b}"


def annotation_samples(raw, onsets):
    """Sample indices (from the first sample) of annotation onsets of ``raw``.

    ``raw.annotations`` count from the time of ``first_samp`` whether or not the recording
    has a ``meas_date`` (``raw.time_as_index(..., origin=None)`` would not subtract it, which
    misplaces every annotation of a file that does not start at sample 0).
    """
    onsets = np.atleast_1d(np.asarray(onsets, float))
    return np.round((onsets - raw.first_time) * raw.info["sfreq"]).astype(int)


def check_bands(bands, sfreq=None):
    """Validate a band dict and return it as ``{name: (fmin, fmax)}`` floats."""
    if bands is None:
        return dict(DEFAULT_BANDS)
    _validate_type(bands, dict, "bands")
    if not bands:
        raise ValueError("bands is empty: pass at least one band, e.g. {'alpha': (8, 13)}.")
    out = {}
    for name, edges in bands.items():
        _validate_type(name, str, "band name")
        try:
            fmin, fmax = (float(e) for e in edges)
        except (TypeError, ValueError):
            raise ValueError(
                f"Band {name!r} must be a pair (fmin, fmax) in Hz, got {edges!r}."
            ) from None
        if not 0 < fmin < fmax:
            raise ValueError(f"Band {name!r} needs 0 < fmin < fmax, got ({fmin}, {fmax}).")
        if sfreq is not None and fmax >= sfreq / 2.0:
            raise ValueError(
                f"Band {name!r} reaches {fmax} Hz, at or above the Nyquist frequency "
                f"{sfreq / 2.0} Hz of data sampled at {sfreq} Hz."
            )
        out[name] = (fmin, fmax)
    return out


def check_seed(seed):
    """Return a :class:`numpy.random.Generator` from an int, a Generator or None."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool)):
        return np.random.default_rng(seed)
    raise TypeError(
        f"seed must be None, an int or a numpy.random.Generator, got {type(seed).__name__}."
    )


def release_freed_memory():
    """Give the memory this process has freed back to the system, where the C library can.

    glibc keeps freed blocks of up to 32 MB (and each thread's arena) for reuse, so a
    worker process that has analysed a recording holds a hundred MB or more it no longer
    uses while it waits (``malloc_trim``). Elsewhere (macOS, Windows, musl) nothing is done.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@lru_cache(maxsize=1)
def _malloc_trim():
    import ctypes

    try:  # the C library the interpreter runs on (no search for its file)
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError, TypeError):
        return None


def usable_cpus():
    """Return the number of cores this process may run on (its CPU affinity, else all)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity on this platform (macOS, Windows)
        return os.cpu_count() or 1


def check_n_jobs(n_jobs):
    """Return a positive number of jobs (MNE semantics: None -> 1, -1 -> all cores)."""
    if n_jobs is None:
        return 1
    _validate_type(n_jobs, "int", "n_jobs")
    if n_jobs == 0:
        raise ValueError("n_jobs must not be 0: use 1 for one job or -1 for all cores.")
    if n_jobs < 0:
        return max(1, usable_cpus() + 1 + n_jobs)
    return int(n_jobs)


def as_table(rows, columns=None):
    """Rows (dicts) as a :class:`pandas.DataFrame` (every ``to_table`` returns one).

    ``columns`` names the columns of an empty table, so that ``table['p']`` works on no
    rows too.
    """
    import pandas as pd

    rows = [dict(r) for r in rows]
    if not rows and columns is not None:
        return pd.DataFrame(columns=list(columns))
    return pd.DataFrame(rows)


def json_default(obj):
    """``json.dumps`` fallback: NumPy numbers and arrays, dates and paths as plain JSON."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (datetime.date, datetime.datetime)):
        return obj.isoformat()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(
        f"Cannot store a {type(obj).__name__} as JSON (metadata, results files): use arrays, "
        "numbers, strings, dates, None, lists or dicts."
    )


def _new_temp_file(fname):
    """Create an empty, unique temporary file beside ``fname`` and return its path.

    It is created with mode 0o666 filtered by the process umask (and the folder's default
    ACL), exactly as any new file: unlike ``tempfile.mkstemp`` (mode 0600) it needs no chmod
    afterwards, so the umask is never read by setting it (``os.umask`` is process-wide and
    would briefly change the permissions of files that other threads create).
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    for _ in range(100):
        # the process id tells a killed writer's leftovers from a live one's file
        tmp = fname.parent / f".{fname.name}.{os.getpid()}.{secrets.token_hex(4)}.part"
        try:
            fd = os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(f"Could not create a temporary file beside {fname}.")


_TEMP_NAME = re.compile(r"^\..+\.(?P<pid>[0-9]+)\.[0-9a-f]{8}\.part(\.[A-Za-z0-9]+)?$")


def _process_alive(pid):
    if pid == os.getpid():
        return True
    if os.name != "posix":  # os.kill(pid, 0) would terminate it on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. another user's process
        return True
    return True


def remove_stale_temp_files(folder):
    """Delete the temporary files that :func:`atomic_path` writers killed meanwhile left.

    Only files named as :func:`atomic_path` names them, of processes that no longer exist
    (a live writer's file, in this or another process, is left alone).

    Parameters
    ----------
    folder : path-like
        The folder to clean (not its subfolders).

    Returns
    -------
    removed : list of pathlib.Path
        The files deleted.
    """
    removed = []
    folder = Path(folder)
    if not folder.is_dir():
        return removed
    for entry in folder.iterdir():
        m = _TEMP_NAME.match(entry.name)
        if m and entry.is_file() and not _process_alive(int(m["pid"])):
            entry.unlink(missing_ok=True)
            removed.append(entry)
    if removed:
        logger.info(f"Removed {len(removed)} temporary file(s) of killed runs in {folder}.")
    return removed


@contextmanager
def atomic_path(fname):
    """Yield a temporary path beside ``fname``; move it onto ``fname`` only on success.

    Killing the process or an exception never leaves a half-written ``fname`` behind. The
    file gets a new file's usual permissions. ``fname`` must not be a folder.
    """
    fname = Path(fname)
    if fname.is_dir():
        raise IsADirectoryError(
            f"{fname} is a folder: give the name of the file to write (e.g. "
            f"{fname / 'report.html'})."
        )
    fname.parent.mkdir(parents=True, exist_ok=True)
    tmp = _new_temp_file(fname)
    try:
        yield tmp
        os.replace(tmp, fname)
    finally:
        if tmp.exists():
            tmp.unlink()


def renamed_argument(new, old, new_name, old_name, default):
    """Return the value of a renamed argument, accepting its deprecated old name with a warning.

    Parameters
    ----------
    new, old : object
        The values passed under the new and the old name (``old`` is ``None`` when not
        passed).
    new_name, old_name : str
        The two names.
    default : object
        The new argument's default (passing both names is an error).

    Returns
    -------
    value : object
    """
    if old is None:
        return new
    if new != default:
        raise ValueError(
            f"Pass {new_name} only: {old_name} is its deprecated old name (got both, "
            f"{new_name}={new!r} and {old_name}={old!r})."
        )
    warn(
        f"{old_name} is deprecated and will be removed: use {new_name}={old!r}.",
        category=FutureWarning,
    )
    return old


def check_correction(correction, allowed):
    """Check a multiple-comparison correction; ``None`` is "no correction" everywhere.

    The string ``'none'`` (the old spelling of Level 1) is accepted with a deprecation
    warning and returned as ``None``.
    """
    if isinstance(correction, str) and correction.lower() == "none":
        warn(
            "correction='none' is deprecated and will be removed: use correction=None.",
            category=FutureWarning,
        )
        correction = None
    _check_option("correction", correction, tuple(allowed))
    return correction


@contextmanager
def quiet_empty_slices():
    """Silence NumPy's RuntimeWarnings of NaN-aware reductions over all-NaN slices.

    For code whose all-NaN rows (e.g. missing windows) are NaN on purpose and counted and
    reported elsewhere; ``np.errstate`` does not cover these warnings.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def crop_copy(raw, tmin, tmax, picks=None):
    """``raw.copy().crop(tmin, tmax, include_tmax=True)`` copying only the cropped samples.

    ``Raw.copy`` copies the whole data array, which ``crop`` then slices and copies again:
    a recording analysed segment by segment (or cut to a common length) was copied whole
    once per crop. ``picks``: channel names to keep (``.pick(picks)`` of the copy), else all.
    """
    data = raw._data if raw.preload else None
    if data is None:
        out = raw.copy().crop(tmin, tmax, include_tmax=True)
        return out if picks is None else out.pick(picks)
    # a RawArray also keeps its data in _init_kwargs, which crop leaves alone: the copy
    # would hold a whole second recording
    init = getattr(raw, "_init_kwargs", None)
    raw._data = None  # the copy gets everything else
    if isinstance(init, dict):
        raw._init_kwargs = {k: (None if v is data else v) for k, v in init.items()}
    try:
        out = raw.copy()
    finally:
        raw._data = data
        if isinstance(init, dict):
            raw._init_kwargs = init
    out._data = data  # shared until crop keeps a copy of the cropped samples only
    out.crop(tmin, tmax, include_tmax=True)
    if picks is not None:  # the kept rows of the cropped copy
        out.pick(picks)
    if isinstance(init, dict):  # as a RawArray made from the cropped data
        out._init_kwargs = {k: (out._data if v is data else v) for k, v in init.items()}
    return out
