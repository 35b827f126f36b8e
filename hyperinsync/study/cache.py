"""What makes a recording's part reusable: its inputs' contents, the code's versions, one lock.

A part is reused when the SHA-256 of every file its reader opened, of the options' files
(ROIs, montages), of every parameter that reaches the recording, and the versions of
hyperinsync (and a digest of its code), MNE, NumPy, SciPy, ... are unchanged. One run at a
time may write into an output folder (:func:`lock_output`).
"""

from __future__ import annotations

import contextvars
import functools
import hashlib
import os
import platform
import sys
import threading
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

import mne
import numpy as np

from .checks import (
    StudyError,
)
from .h5 import to_json


def _sha256_file(path, chunk=1 << 20):
    h = hashlib.sha256()
    with open(path, "rb") as fid:
        for block in iter(lambda: fid.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def _sha256_json(obj):
    return hashlib.sha256(to_json(obj).encode()).hexdigest()


def _versions():
    """Versions of Python and of the libraries whose code computes or stores the results.

    Read from the installed distributions' metadata, not by importing the libraries: importing
    mne-connectivity alone takes several seconds, and a study may never use it.
    """
    from .. import __version__

    def dist(name):
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "unknown"

    # the keys in the order earlier versions stored them (the order reaches the cache key)
    return dict(
        hyperinsync=__version__,
        mne=mne.__version__,
        numpy=np.__version__,
        scipy=dist("scipy"),
        h5py=dist("h5py"),
        python=platform.python_version(),
        mne_connectivity=dist("mne-connectivity"),
        pyxdf=dist("pyxdf"),
    )


@functools.lru_cache(maxsize=1)
def _code_digest():
    """SHA-256 of hyperinsync's code and bundled files.

    A development copy changes without a new version number; its parts must not be reused
    across code changes either.
    """
    from ..montage import data_files

    h = hashlib.sha256()
    pkg = Path(__file__).resolve().parent
    entries = [(f"code/{f.relative_to(pkg).as_posix()}", f) for f in sorted(pkg.rglob("*.py"))]
    entries += [
        (f"data/{e.name}", e)
        for e in sorted(data_files().iterdir(), key=str)
        if e.is_file() and not e.name.endswith(".pyc")
    ]
    for name, entry in entries:
        h.update(name.encode())
        h.update(hashlib.sha256(entry.read_bytes()).digest())
    return h.hexdigest()


def _cache_versions():
    """Return what a part's numbers depend on besides its inputs and parameters.

    Code versions, and whether ``backend='auto'`` would compute on a GPU (CuPy rounds
    differently).
    """
    from ..backend import ENV_VAR, cupy_available

    out = dict(
        _versions(),
        hyperinsync_code=_code_digest(),
        backend_env=os.environ.get(ENV_VAR, ""),
        cupy=None,
    )
    if cupy_available():
        import cupy

        out["cupy"] = cupy.__version__
    return out


# -- the files a recording's reader opens ------------------------------------------------------
# Readers open companions of the file they are given (BrainVision .eeg/.vmrk, EEGLAB .fdt, the
# pieces of a split FIF file, ...), each format its own way. Rather than re-implement every
# format's rules, the runner asks Python which files were opened while a recording was read
# and analysed (an audit hook on the "open" event) and hashes those.
_OPENED = contextvars.ContextVar("hyperinsync_opened", default=None)


_HOOK_LOCK = threading.Lock()


_HOOKED = False


def _audit_open(event, args):
    if event != "open":
        return
    seen = _OPENED.get()
    if seen is None:
        return
    try:  # an exception here would make the reader's open() fail
        path, mode, flags = args
        if not isinstance(path, (str, bytes, os.PathLike)):
            return  # a file descriptor
        if mode is not None:
            if any(c in mode for c in "wax+"):
                return
        elif flags & (os.O_WRONLY | os.O_RDWR):
            return
        path = os.path.realpath(os.fsdecode(path))
        if path not in seen:
            st = os.stat(path)
            seen[path] = (st.st_size, st.st_mtime_ns)
    except Exception:
        pass


def _install_open_hook():
    global _HOOKED
    with _HOOK_LOCK:
        if not _HOOKED:
            # audit hooks cannot be removed: this one does nothing outside _opened_files()
            sys.addaudithook(_audit_open)
            _HOOKED = True


@contextmanager
def _opened_files():
    """Collect ``{real path: (size, mtime_ns)}`` of the files opened for reading meanwhile.

    In this thread, as first seen.
    """
    _install_open_hook()
    seen = {}
    token = _OPENED.set(seen)
    try:
        yield seen
    finally:
        _OPENED.reset(token)


@functools.lru_cache(maxsize=1)
def _installed_roots():
    """Return the folders of installed software.

    Files read from there (Python modules, MNE's own data and configuration, bundled
    montages) are covered by the versions, not hashed.
    """
    import site

    from ..montage import data_files

    roots = {
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        os.path.dirname(mne.__file__),
        os.path.dirname(os.path.abspath(__file__)),
        str(data_files()),
        os.path.dirname(mne.get_config_path()),
        "/proc",
        "/sys",
        "/dev",
    }
    try:
        roots.update(site.getsitepackages())
        roots.add(site.getusersitepackages())
    except AttributeError:  # a virtualenv's site module may lack them
        pass
    return tuple(sorted(os.path.realpath(r) for r in roots if r))


def _under(path, roots):
    """Whether ``path`` is one of ``roots`` or inside one of them."""
    return any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


def _is_input_file(path):
    if os.path.splitext(path)[1].lower() in (".py", ".pyc", ".pyd", ".so", ".pth"):
        return False
    return not _under(path, _installed_roots())


def _input_key(path, base):
    """Return how a file is named in a part: relative to the study's folder.

    So that the study can be moved or run from any folder.
    """
    path, base = os.path.realpath(path), os.path.realpath(base)
    try:
        return Path(os.path.relpath(path, base)).as_posix()
    except ValueError:  # another drive (Windows)
        return Path(path).as_posix()


def _key_path(key, base):
    return Path(os.path.realpath(base)) / key


def _sha256_cached(path, cache):
    """SHA-256 of a file, hashed once per run (``cache``: by path, size and mtime)."""
    st = os.stat(path)
    key = (os.path.realpath(path), st.st_size, st.st_mtime_ns)
    if key not in cache:
        cache[key] = _sha256_file(path)
    return cache[key]


# -- one run per output folder ---------------------------------------------------------------
LOCK_NAME = ".hyperinsync.lock"


_HELD = {}  # lock file (real path) -> the thread of this process that holds it


_HELD_GUARD = threading.Lock()


@contextmanager
def lock_output(out_dir):
    """Hold the lock of an output folder while writing into it.

    Two runs writing into one folder would mix their parts and results; the second is
    refused instead. The lock is an OS file lock on ``out_dir/.hyperinsync.lock``
    (:mod:`filelock`), released when the process ends, even when it is killed. The thread
    that holds it may take it again (``hyperinsync run`` holds it around the run and the
    summary files).

    Parameters
    ----------
    out_dir : path-like
        The output folder (created if needed).

    Yields
    ------
    None
        The lock is held inside the ``with`` block and released after it.

    Raises
    ------
    StudyError
        If another process, or another thread of this one, holds the lock.

    Examples
    --------
    >>> from hyperinsync.study import lock_output
    >>> with lock_output("out"):
    ...     pass                    # write the results; another run would be refused here
    """
    from filelock import FileLock, Timeout

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = os.path.realpath(out_dir / LOCK_NAME)
    me = threading.get_ident()
    with _HELD_GUARD:
        mine = _HELD.get(path) == me
    if mine:
        yield
        return
    lock = FileLock(path, timeout=0, thread_local=False)
    try:
        lock.acquire()
    except Timeout:
        raise StudyError(
            f"Another hyperinsync run is writing into {out_dir} (it holds {path}): wait "
            "until it has finished, or write into another folder."
        ) from None
    with _HELD_GUARD:
        _HELD[path] = me
    try:
        yield
    finally:
        with _HELD_GUARD:
            _HELD.pop(path, None)
        lock.release()


def _input_hash(job, inputs):
    """Return the hash of a recording's inputs: its files' contents, or its simulation."""
    src = job["source"]
    sim = None
    if src["mode"] in ("simulate", "simulate_physio"):
        sim = dict(design=src["design"], dyad=job["dyad"], session=job["session"])
    return _sha256_json(dict(files=inputs, simulated=sim))


def _opened_inputs(job, opened):
    """``{file key: SHA-256}`` of the files named by ``job`` and of those its reader opened."""
    inputs = dict(job["inputs"])  # the named files, hashed before the run
    # Only files beside the study's data count: a reader's companions (.eeg/.vmrk, .fdt,
    # split FIF parts) live there, while caches, configuration and package metadata that
    # libraries open lazily elsewhere would make the key depend on the order of imports.
    base = job["base_dir"]
    roots = {os.path.realpath(base)} | {
        os.path.realpath(os.path.dirname(_key_path(k, base))) for k in job["inputs"]
    }
    for path, first in opened.items():
        key = _input_key(path, job["base_dir"])
        if key in inputs or not _is_input_file(path) or not _under(path, roots):
            continue
        try:
            sha = _sha256_file(path)
            st = os.stat(path)
            if (st.st_size, st.st_mtime_ns) != first:
                sha = "changed while it was read"  # never equal to a hash: recomputed next time
        except OSError:
            sha = "unreadable"
        inputs[key] = sha
    return inputs
