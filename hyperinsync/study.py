'''Studies: a description of many dyads and sessions, and the runner that analyses them.

A study is written in a TOML file (:meth:`Study.from_toml`) or built in Python
(:class:`Study`, same keys as keyword arguments). :meth:`Study.run` analyses every recording
(read and align, or simulate -> :func:`~hyperinsync.sync.compute_sync` per segment ->
surrogate test -> In-Sync Levels 1-2), in parallel with joblib or a Dask cluster, then the
group statistics (group contrast, questionnaire correlations, real vs pseudo-dyads, Level 3
trends), and writes one HDF5 results file (layout in :mod:`hyperinsync.results_io`).

Re-running resumes: a recording whose part file is intact and whose inputs are unchanged is
not recomputed. Its inputs are the contents of every file its reader opened (a BrainVision
``.vhdr`` with its ``.eeg`` and ``.vmrk``, an EEGLAB ``.set`` with its ``.fdt``, the pieces
of a split FIF file, ...), the contents of ROI and montage files, every parameter that
reaches the recording's analysis, and the versions of hyperinsync (and its code), MNE,
NumPy, SciPy, mne-connectivity, h5py, pyxdf and Python. The dyad-level facts (group,
variables, date) are not stored in the parts: the group statistics read them from the study
each time. Relative paths (data, ROI and montage files) start at ``[study] data_dir``, itself
relative to the study file, so the same study run from another folder reuses its parts.
One run at a time may write into an output folder (a lock file, ``.hyperinsync.lock``); a
second is refused. Dyad names become file names and must not hold
path separators, ``..``, control characters or characters Windows refuses; segment, band and
ROI names must not hold '/' (it separates the parts of a feature label).

Study file format
-----------------
A complete example (also returned by :func:`example_study_toml`); every table except
``[study]`` and one of ``[[dyads]]`` / ``[simulate]`` is optional::

    # hyperinsync study file
    [study]
    name = "therapy-pilot"
    roles = ["therapist", "client"]      # the two roles, as in the channel names
    groups = ["mindful", "non-mindful"]  # optional: allowed group labels (catches typos)
    data_dir = "data"                    # file paths are relative to it (itself relative
                                         # to this file); default: this file's folder

    [reader]                  # defaults for every recording; a session's `reader` overrides
    format = "auto"           # auto | poly5 | xdf | fif | split | mne
    sync = "events"           # two files: align on sync pulses ("events") or on "start"
    stim_channel = "TRIGGERS" # two files: channel with the sync pulses
    montage = "tmsi-mobita-32"

    [analysis]                # passed to hyperinsync.compute_sync
    bands = { theta = [4, 8], alpha = [8, 13] }
    measures = ["plv"]
    rois = "default"          # a bundled ROI set, an ROI file, or { name = [channels] }
    segments = ["rest_pre", "session", "rest_post"]  # annotation descriptions; "all" = whole
    epoch_duration = 2.0
    method = "fft"

    [surrogates]              # hyperinsync.stats.test_sync; `surrogates = false` skips
    null = "epoch_shuffle"
    n_surrogates = 200
    seed = 1

    [insync]                  # In-Sync levels; a level set to false is skipped
    level1 = { window = 6.0 } # hyperinsync.insync.level1 options
    level2 = {}               # hyperinsync.insync.level2 options
    level3 = {}               # hyperinsync.insync.level3 options

    [statistics]              # group level
    n_permutations = 5000
    seed = 2
    rois = ["frontal", "central"]         # same-ROI pairs to test (default: all)
    feature = "corrected"                 # per-dyad value: corrected | z | raw (see below)
    correction = "fdr"                    # over the features: fdr | maxstat | false
    statistic = "welch"                   # permuted group statistic: welch | F
    ci = 0.95                             # level of the confidence intervals
    contrast = "group"                    # compare the dyads' groups; false: skip
    mixed = true                          # group x segment x band x ROI mixed model
    differences = { alliance_gap = ["WAI_T", "WAI_C"] }  # derived: WAI_T - WAI_C
    correlate = ["alliance_gap"]          # per-dyad variables correlated with synchrony
    pseudo_dyads = { n_surrogates = 100 } # real vs pseudo-dyads (first sessions); false: skip

    [[dyads]]
    name = "dyad01"
    group = "mindful"
    variables = { WAI_T = 70, WAI_C = 66 }
      [[dyads.sessions]]
      index = 0
      date = 2024-01-08
      files = { therapist = "dyad01/therapist.Poly5", client = "dyad01/client.Poly5" }
      [[dyads.sessions]]
      index = 1
      date = 2024-01-15
      file = "dyad01/session1.xdf"        # one file holding both people
      reader = { format = "xdf", streams = ["EEG-therapist", "EEG-client"] }

    [[dyads]]
    name = "dyad02"
    group = "non-mindful"
    variables = { WAI_T = 61, WAI_C = 68 }
      [[dyads.sessions]]
      index = 0
      file = "dyad02/session0.Poly5"      # one amplifier, two caps
        [dyads.sessions.reader]
        format = "split"
        pattern = '(?P<name>.+)_(?P<role>[12])$'
        role_map = { "1" = "therapist", "2" = "client" }

Instead of ``[[dyads]]``, a ``[simulate]`` table (the arguments of
:func:`hyperinsync.simulate_study`, e.g. ``n_dyads = 14``, ``n_sessions = 2``,
``segments = [["rest_pre", 60], ["session", 120], ["rest_post", 60]]``, ``sfreq = 250``,
``seed = 42``) makes a simulated study: groups, dates and the variables ``WAI_T``, ``WAI_C``
and ``alliance_gap`` come from its design table.

Group statistics
----------------
Every dyad gets one value per *feature*, ``segment/measure/band/roi`` (same-ROI pairs),
averaged over its sessions. Which value is ``[statistics] feature``:

- ``"corrected"`` (default): the observed synchrony minus the mean of the recording's own
  surrogate null (``[surrogates]``), i.e. synchrony above chance in the measure's units.
  Chance synchrony depends on the spectrum (a strong alpha rhythm raises chance PLV in the
  alpha band) and on the epoch length, so raw values of groups that differ only in alpha
  power differ in "synchrony"; corrected values do not.
- ``"z"``: the surrogate z, (observed - null mean) / null SD: unitless, equal spread for
  every recording (also when recordings differ in length).
- ``"raw"``: uncorrected values (no surrogates needed); only comparable between groups with
  the same spectra and recording design.

The group contrast (:func:`hyperinsync.stats.group_contrast`) tests every feature with the
same label permutations, the permuted statistic being Welch's F (``statistic = "welch"``,
robust to groups with different spreads, e.g. recording lengths) or the classical F, and
corrects over the family of all features (segments x measures x bands x ROI pairs) with
Benjamini-Hochberg FDR (``correction = "fdr"``) or the max statistic (``"maxstat"``). It
reports partial eta squared, for two groups the mean difference and Cohen's d, each with
its confidence interval. The questionnaire correlations are corrected over the same family
(per variable) and the Level 3 trends over their features (FDR, or Holm for ``"maxstat"``).
The mixed model (``mixed = true``; :func:`hyperinsync.stats.mixed_model`, statsmodels
MixedLM) analyses the whole design per measure: group (between dyads) x segment x band x ROI
(within), dyad random, with per-term F, partial eta squared and their intervals.

Reader options by source:

- ``files = {role: path}`` (two amplifiers): :func:`hyperinsync.io.align.read_dyad` with
  ``sync``, ``stim_channel``, ``event_id``, ``annotation``, ``tolerance_ms``, ``montage``,
  ``reader_kwargs``.
- ``file`` with ``format = "xdf"`` (or a ``.xdf`` file): :func:`hyperinsync.io.xdf.read_dyad_xdf`
  with ``streams``, ``select_by``, ``sfreq``, ``markers``, ``gap_threshold``, ``montage``.
- ``file`` with ``format = "split"`` (or ``pattern``/``mapping`` given):
  :func:`hyperinsync.io.split.split_dyad` with ``pattern``, ``mapping``, ``role_map``,
  ``shared``, ``shared_to``, ``montage``, ``reader_kwargs``.
- ``file`` with ``format = "fif"`` (or a ``.fif`` file): a saved dyad
  (:func:`hyperinsync.read_dyad_raw`).
'''

from __future__ import annotations

import contextvars
import copy
import datetime as _dt
import functools
import hashlib
import inspect
import json
import math
import os
import platform
import re
import sys
import threading
import time
import unicodedata
from contextlib import contextmanager
from copy import deepcopy
from pathlib import Path

import mne
import numpy as np

from ._utils import (
    ProgressBar,
    _validate_type,
    check_bands,
    check_n_jobs,
    logger,
    remove_stale_temp_files,
    verbose,
    warn,
)
from .insync import level1, level2, level3
from .stats import pseudo_dyad_test, test_sync
from .results_io import (
    OlderFormatError,
    ResultsError,
    failure_line,
    merge_meta,
    part_name,
    read_part,
    read_part_header,
    read_results,
    to_json,
    verify_part,
    write_part,
    write_results,
)

_TOP_KEYS = ("study", "reader", "analysis", "surrogates", "insync", "statistics", "dyads",
             "simulate")
_STUDY_KEYS = ("name", "roles", "groups", "data_dir")
_DYAD_KEYS = ("name", "group", "variables", "sessions")
_SESSION_KEYS = ("index", "date", "files", "file", "reader", "variables")
_ANALYSIS_KEYS = ("bands", "measures", "rois", "segments", "epoch_duration", "overlap",
                  "method", "convention", "reject_by_annotation", "precision", "backend")
_SURROGATE_KEYS = ("null", "n_surrogates", "seed")
_INSYNC_KEYS = ("level1", "level2", "level3")
_STAT_KEYS = ("n_permutations", "seed", "rois", "feature", "correction", "statistic", "ci",
              "contrast", "differences", "correlate", "mixed", "pseudo_dyads")
_READER_BY_MODE = {
    "files": ("sync", "stim_channel", "event_id", "annotation", "tolerance_ms",
              "pulse_pairing", "montage", "reader_kwargs"),
    "xdf": ("streams", "select_by", "sfreq", "markers", "gap_threshold", "montage"),
    "split": ("pattern", "mapping", "role_map", "shared", "shared_to", "montage",
              "reader_kwargs"),
    "fif": (),
}
_READER_KEYS = ("format",) + tuple(
    dict.fromkeys(k for keys in _READER_BY_MODE.values() for k in keys)
)
_FORMATS = ("auto", "poly5", "xdf", "fif", "split", "mne")

DEFAULT_ANALYSIS = dict(
    bands={"theta": [4.0, 8.0], "alpha": [8.0, 13.0]},
    measures=["plv"],
    rois="default",
    segments=["all"],
    epoch_duration=2.0,
)
DEFAULT_SURROGATES = dict(null="epoch_shuffle", n_surrogates=200, seed=0)
DEFAULT_STATISTICS = dict(n_permutations=5000, seed=0, rois=None, feature="corrected",
                          correction="fdr", statistic="welch", ci=0.95, contrast="group",
                          differences={}, correlate=[], mixed=True, pseudo_dyads={})


class StudyError(ValueError):
    """A study description that cannot be run (unknown keys, missing files, bad roles)."""


class RecordingError(StudyError):
    """The analysis of one recording failed; the message names the dyad, session and files.

    Attributes
    ----------
    dyad : str
    session : int
    files : list of str
        The recording's input files (empty for a simulated recording).
    error : Exception
        The original error (also the ``__cause__``).
    """

    def __init__(self, dyad, session, files, error):
        self.dyad, self.session, self.files, self.error = dyad, int(session), list(files), error
        super().__init__(failure_line(self.as_dict()))

    def as_dict(self):
        """The failure as stored in the results file (``Results.failures``)."""
        # one line: a multi-line message (a list of files, ...) is joined
        message = re.sub(r"\s*\n\s*", " ", str(self.error)).strip()
        return dict(dyad=self.dyad, session=self.session, files=self.files,
                    error=type(self.error).__name__, message=message)


# Names that become file names (dyads) or '/'-joined feature labels (segments, bands, ROIs).
_WINDOWS_CHARS = set('<>:"|?*')
_WINDOWS_DEVICES = {"CON", "PRN", "AUX", "NUL", *(f"{d}{i}" for d in ("COM", "LPT")
                                                   for i in range(1, 10))}


def _check_name(name, what, where, *, file=False):
    """Refuse a name that could leave the output folder, collide as a file or break a label."""
    if not isinstance(name, str) or not name.strip():
        raise StudyError(f"{where}: {what} must be a non-empty text, got {name!r}.")
    fix = f"Rename it in the study ({where}); letters, digits, '-', '_' and '.' are safe."
    control = sorted({f"U+{ord(c):04X}" for c in name if unicodedata.category(c)[0] == "C"})
    if control:
        raise StudyError(f"{what} {name!r} holds control character(s) {control}. {fix}")
    seps = [c for c in ("/", "\\") if c in name]
    if seps:
        use = "would make it a path" if file else "separates the parts of a feature label"
        raise StudyError(f"{what} {name!r} contains {seps[0]!r}, which {use}. {fix}")
    if name in (".", ".."):
        raise StudyError(f"{what} {name!r} is not allowed (it names a folder). {fix}")
    if not file:
        return
    odd = sorted(_WINDOWS_CHARS & set(name))
    if odd:
        raise StudyError(f"{what} {name!r} contains {odd}, not allowed in file names. {fix}")
    if name != name.strip() or name.startswith(".") or name.endswith("."):
        raise StudyError(
            f"{what} {name!r} starts or ends with a space or a dot (a hidden file, or one "
            f"Windows renames). {fix}"
        )
    if name.split(".")[0].upper() in _WINDOWS_DEVICES:
        raise StudyError(f"{what} {name!r} is a reserved device name on Windows. {fix}")
    if len(name.encode("utf-8")) > 200:
        raise StudyError(f"{what} {name[:40]!r}... is longer than 200 bytes. {fix}")


def _file_key(name):
    """Names equal under this key are one file on macOS and Windows (case, normal form)."""
    return unicodedata.normalize("NFC", name).casefold()


def _check_number(value, what, *, integer=False, minimum=None, positive=False):
    """A finite number (an int when ``integer``), at least ``minimum`` / above 0."""
    kind = "a whole number" if integer else "a number"
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if ok and integer and isinstance(value, float):
        ok = value.is_integer()
    if not ok or not math.isfinite(value) or (positive and value <= 0) or (
            minimum is not None and value < minimum):
        limit = " above 0" if positive else ("" if minimum is None else f" >= {minimum}")
        raise StudyError(f"{what} must be {kind}{limit}, got {value!r}.")
    return int(value) if integer else value


def _check_date(value, where):
    """A session date as ISO text: a TOML date or datetime, or 'YYYY-MM-DD' text."""
    if value is None:
        return None
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    if isinstance(value, str):
        for parse in (_dt.date.fromisoformat, _dt.datetime.fromisoformat):
            try:
                return parse(value.strip()).isoformat()
            except ValueError as err:
                reason = err
    else:
        reason = f"a {type(value).__name__}"
    raise StudyError(
        f"{where}: date {value!r} is not a date ({reason}). Write it as YYYY-MM-DD, e.g. "
        "date = 2024-01-08 (a TOML date, without quotes)."
    )


def _check_keys(d, valid, where):
    if not isinstance(d, dict):
        raise StudyError(f"{where} must be a table (dict), got {type(d).__name__}.")
    unknown = [k for k in d if k not in valid]
    if unknown:
        raise StudyError(
            f"Unknown key(s) {unknown} in {where}. Valid keys: {', '.join(valid)}."
        )


def _optional(value, default, where):
    """A section that may be ``false`` (skip), missing (defaults) or a table."""
    if value is False:
        return None
    if value is None or value is True:
        return deepcopy(default)
    if not isinstance(value, dict):
        raise StudyError(f"{where} must be a table or false, got {value!r}.")
    out = deepcopy(default)
    out.update(value)
    return out


def example_study_toml():
    """Return the complete example study file of the module docstring.

    Returns
    -------
    text : str
        TOML text describing a two-dyad study with every section.
    """
    doc = __doc__
    start = doc.index("    # hyperinsync study file")
    end = doc.index("\nInstead of ``[[dyads]]``")
    lines = doc[start:end].rstrip().splitlines()
    return "\n".join(line[4:] for line in lines) + "\n"


def _load_toml(path):
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib
    with open(path, "rb") as fid:
        try:
            return tomllib.load(fid)
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
            raise StudyError(f"{path} is not valid TOML: {err}") from None


def _sha256_file(path, chunk=1 << 20):
    h = hashlib.sha256()
    with open(path, "rb") as fid:
        for block in iter(lambda: fid.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def _sha256_json(obj):
    return hashlib.sha256(to_json(obj).encode()).hexdigest()


def _versions():
    """Versions of Python and of the libraries whose code computes or stores the results."""
    import importlib

    import h5py
    import scipy

    from . import __version__

    out = dict(hyperinsync=__version__, mne=mne.__version__, numpy=np.__version__,
               scipy=scipy.__version__, h5py=h5py.__version__,
               python=platform.python_version())
    for name in ("mne_connectivity", "pyxdf"):  # pyxdf reads XDF recordings
        try:
            out[name] = getattr(importlib.import_module(name), "__version__", "unknown")
        except ImportError:
            pass
    return out


@functools.lru_cache(maxsize=1)
def _code_digest():
    """SHA-256 of hyperinsync's code and bundled files.

    A development copy changes without a new version number; its parts must not be reused
    across code changes either.
    """
    from .montage import _resources

    h = hashlib.sha256()
    pkg = Path(__file__).resolve().parent
    entries = [(f"code/{f.relative_to(pkg).as_posix()}", f) for f in sorted(pkg.rglob("*.py"))]
    entries += [(f"data/{e.name}", e) for e in sorted(_resources().iterdir(), key=str)
                if e.is_file() and not e.name.endswith(".pyc")]
    for name, entry in entries:
        h.update(name.encode())
        h.update(hashlib.sha256(entry.read_bytes()).digest())
    return h.hexdigest()


def _cache_versions():
    """What a part's numbers depend on besides its inputs and parameters: code versions,
    and whether ``backend='auto'`` would compute on a GPU (CuPy rounds differently)."""
    from .backend import ENV_VAR, cupy_available

    out = dict(_versions(), hyperinsync_code=_code_digest(),
               backend_env=os.environ.get(ENV_VAR, ""), cupy=None)
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
    """Collect ``{real path: (size, mtime_ns)}`` of the files opened for reading meanwhile
    (in this thread), as first seen."""
    _install_open_hook()
    seen = {}
    token = _OPENED.set(seen)
    try:
        yield seen
    finally:
        _OPENED.reset(token)


@functools.lru_cache(maxsize=1)
def _installed_roots():
    """Folders of installed software: files read from there (Python modules, MNE's own data
    and configuration, bundled montages) are covered by the versions, not hashed."""
    import site

    from .montage import _resources

    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(mne.__file__),
             os.path.dirname(os.path.abspath(__file__)), str(_resources()),
             os.path.dirname(mne.get_config_path()), "/proc", "/sys", "/dev"}
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
    """How a file is named in a part: relative to the study's folder, so that the study
    can be moved or run from any folder."""
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

    Raises
    ------
    StudyError
        If another process, or another thread of this one, holds the lock.
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


# The analyses a study runs, by name (plain imports: a missing analysis is an ImportError
# when the package is imported, never a step silently dropped from a study).
_ANALYSES = {
    "test_sync": test_sync,
    "pseudo_dyad_test": pseudo_dyad_test,
    "level1": level1,
    "level2": level2,
    "level3": level3,
}


class Study:
    """A hyperscanning study: dyads, sessions, their recordings and the analysis to run.

    Parameters
    ----------
    dyads : list of dict | None
        One dict per dyad: ``name``, ``group``, ``variables`` (``{name: number}``) and
        ``sessions`` (list of dicts with ``index``, ``date``, ``files`` (``{role: path}``) or
        ``file``, ``reader`` (options overriding ``reader``) and ``variables``). ``None``
        when ``simulate`` is given.
    roles : tuple of str
        The two roles; ``files`` keys must be these roles.
    name : str
        Study name.
    groups : list of str | None
        Allowed group labels (``None``: any).
    reader : dict | None
        Default reader options (see the module docstring).
    analysis : dict | None
        Options of :func:`~hyperinsync.sync.compute_sync` plus ``segments``.
    surrogates : dict | bool | None
        Options of ``hyperinsync.stats.test_sync``; ``False`` skips surrogates.
    insync : dict | None
        ``{'level1': dict | False, 'level2': ..., 'level3': ...}``: options of
        ``hyperinsync.insync.level1`` etc. (``level1`` also takes ``segment``, the annotation
        to analyse; default the whole recording). A level that is missing or ``None`` runs
        with defaults; ``False`` skips it.
    statistics : dict | None
        Group statistics options (see "Group statistics" in the module docstring); its
        ``feature`` (default ``'corrected'``) needs ``surrogates``.
    simulate : dict | None
        Arguments of :func:`hyperinsync.simulate_study` for a simulated study.
    base_dir : path-like | None
        Folder that relative file paths start from (default: the current folder).
    study_toml : str
        The TOML text the study came from (kept as provenance).

    Raises
    ------
    StudyError
        Unknown keys (the valid ones listed), inconsistent roles, missing files (all listed).
    """

    def __init__(
        self,
        dyads=None,
        *,
        roles=("A", "B"),
        name="study",
        groups=None,
        reader=None,
        analysis=None,
        surrogates=None,
        insync=None,
        statistics=None,
        simulate=None,
        base_dir=None,
        study_toml="",
    ):
        self.name = str(name)
        if isinstance(roles, str) or not isinstance(roles, (list, tuple)):
            raise StudyError(f"roles must be a list of two names, got {roles!r}.")
        roles = tuple(roles)
        if len(roles) != 2 or len(set(roles)) != 2 or not all(isinstance(r, str) for r in roles):
            raise StudyError(f"roles must be two different names, got {roles!r}.")
        from .dyad import ROLE_SEP

        for r in roles:
            if not r.strip() or ROLE_SEP in r:
                raise StudyError(f"role {r!r} must be a non-empty name without {ROLE_SEP!r}.")
        self.roles = roles
        if groups is not None and (isinstance(groups, str)
                                   or not isinstance(groups, (list, tuple))):
            raise StudyError(f"[study] groups must be a list of group labels, got {groups!r}.")
        self.groups = None if groups is None else [str(g) for g in groups]
        # absolute: the parts name their input files relative to it, whatever the cwd
        self.base_dir = Path(os.path.abspath(Path.cwd() if base_dir is None
                                             else Path(base_dir).expanduser()))
        self.study_toml = study_toml or ""
        _check_keys({} if reader is None else reader, _READER_KEYS, "[reader]")
        self.reader = dict(reader or {})
        if analysis is False:
            raise StudyError("[analysis] cannot be false: leave it out for the defaults.")
        self.analysis = _optional(analysis, DEFAULT_ANALYSIS, "[analysis]")
        _check_keys(self.analysis, _ANALYSIS_KEYS, "[analysis]")
        if isinstance(self.analysis["segments"], str):
            self.analysis["segments"] = [self.analysis["segments"]]
        self.surrogates = _optional(surrogates, DEFAULT_SURROGATES, "[surrogates]")
        if self.surrogates is not None:
            _check_keys(self.surrogates, _SURROGATE_KEYS + self._extra_keys("test_sync"),
                        "[surrogates]")
        _check_keys({} if insync is None else insync, _INSYNC_KEYS, "[insync]")
        insync = dict(insync or {})
        self.insync = {lvl: _optional(insync.get(lvl), {}, f"[insync] {lvl}")
                       for lvl in _INSYNC_KEYS}
        for lvl, opts in self.insync.items():
            func = _ANALYSES[lvl]
            if opts is not None and func is not None:
                skip = {"raw", "verbose", "n_jobs"}
                valid = tuple(p for p in inspect.signature(func).parameters if p not in skip)
                _check_keys(opts, valid + (("segment",) if lvl == "level1" else ()),
                            f"[insync] {lvl}")
        # `statistics = false` skips the group statistics
        self.statistics = _optional(statistics, DEFAULT_STATISTICS, "[statistics]")
        if self.statistics is not None:
            _check_keys(self.statistics, _STAT_KEYS, "[statistics]")
            _check_statistics(self.statistics, self.surrogates)
            pseudo = self.statistics.get("pseudo_dyads")
            func = _ANALYSES["pseudo_dyad_test"]
            if isinstance(pseudo, dict) and func is not None:
                skip = {"dyads", "bands", "measures", "rois", "verbose", "n_permutations"}
                valid = tuple(p for p in inspect.signature(func).parameters if p not in skip)
                _check_keys(pseudo, valid + ("session",), "[statistics] pseudo_dyads")
        if simulate is not None and dyads:
            raise StudyError("Give either dyads ([[dyads]]) or [simulate], not both.")
        if simulate is None and not dyads:
            raise StudyError("The study has no dyads: add [[dyads]] tables or a [simulate] table.")
        self.simulate = None
        if simulate is not None:
            if not isinstance(simulate, dict):
                raise StudyError(f"[simulate] must be a table, got {simulate!r}.")
            self.simulate = dict(simulate)
            valid = tuple(p for p in inspect.signature(_simulate_study()).parameters
                          if p not in ("verbose", "roles"))
            _check_keys(self.simulate, valid, "[simulate]")
            self.simulate["roles"] = list(roles)
            if "segments" in self.simulate:
                segs = self.simulate["segments"]
                if not isinstance(segs, list) or not all(
                        isinstance(x, (list, tuple)) and len(x) == 2 for x in segs):
                    raise StudyError(f"[simulate] segments must be a list of [name, seconds] "
                                     f"pairs, got {segs!r}.")
                self.simulate["segments"] = [tuple(x) for x in segs]
        # files named by options (ROI and montage files): their contents enter the cache key
        self._option_files = set()
        self._check_values()
        self.recordings = self._build_recordings(dyads)
        self.check_files()

    @staticmethod
    def _extra_keys(func_name):
        func = _ANALYSES[func_name]
        if func is None:
            return ()
        skip = {"inst", "bands", "measures", "rois", "verbose", "null", "n_surrogates", "seed"}
        return tuple(p for p in inspect.signature(func).parameters if p not in skip)

    def _check_values(self):
        """Check, before any work, what would otherwise fail deep in the analysis of every
        recording: names that become labels, numbers, ROI files."""
        an = self.analysis
        try:
            bands = check_bands(an.get("bands"))
        except (TypeError, ValueError) as err:
            raise StudyError(f"[analysis] bands: {err}") from None
        for band in bands:
            _check_name(band, "band name", "[analysis] bands")
        segments = an["segments"]
        if not isinstance(segments, list) or not segments:
            raise StudyError(f"[analysis] segments must be a list of annotation descriptions "
                             f"(or 'all'), got {segments!r}.")
        for seg in segments:
            _check_name(seg, "segment", "[analysis] segments")
        if len(set(segments)) != len(segments):
            raise StudyError(f"[analysis] segments lists a segment twice: {segments}.")
        measures = an.get("measures", "plv")
        if not (isinstance(measures, str) or (isinstance(measures, list) and measures and all(
                isinstance(m, str) for m in measures))):
            raise StudyError(f"[analysis] measures must be a name or a list of names, got "
                             f"{measures!r}.")
        if "epoch_duration" in an:
            _check_number(an["epoch_duration"], "[analysis] epoch_duration (seconds)",
                          positive=True)
        if "overlap" in an:
            _check_number(an["overlap"], "[analysis] overlap (seconds)", minimum=0)
        an["rois"] = self._check_rois(an.get("rois"), "[analysis] rois")
        for lvl in ("level1", "level2"):
            opts = self.insync[lvl]
            if opts and opts.get("rois") is not None:
                opts["rois"] = self._check_rois(opts["rois"], f"[insync] {lvl} rois")
        l1 = self.insync["level1"]
        if l1 and "segment" in l1:
            _check_name(l1["segment"], "segment", "[insync] level1 segment")
        if self.surrogates is not None and "n_surrogates" in self.surrogates:
            _check_number(self.surrogates["n_surrogates"], "[surrogates] n_surrogates",
                          integer=True, minimum=1)
        st = self.statistics
        if st is not None:
            _check_number(st["n_permutations"], "[statistics] n_permutations", integer=True,
                          minimum=1)
            rois = st.get("rois")
            if rois is not None and not (isinstance(rois, list)
                                         and all(isinstance(r, str) for r in rois)):
                raise StudyError(f"[statistics] rois must be a list of ROI names, got {rois!r}.")

    def _check_rois(self, rois, where):
        """Validate an ROI option; an ROI file is found relative to the study's folder."""
        from .rois import _check_roi_dict, list_roi_sets, read_rois

        if rois is None:
            return None
        if isinstance(rois, dict):
            try:
                names = list(_check_roi_dict(rois))
            except (TypeError, ValueError) as err:
                raise StudyError(f"{where}: {err}") from None
        elif isinstance(rois, str):
            if rois not in list_roi_sets():
                path = self._path(rois)
                if not path.is_file():
                    raise StudyError(
                        f"{where}: {rois!r} is neither a bundled ROI set "
                        f"({', '.join(list_roi_sets())}) nor an ROI file (looked for {path})."
                    )
                rois = str(path)
                self._option_files.add(rois)
            try:
                names = list(read_rois(rois, verbose=False))
            except ValueError as err:
                raise StudyError(f"{where}: {err}") from None
        else:
            raise StudyError(f"{where} must name a bundled ROI set or an ROI file, or be a "
                             f"table {{name = [channels]}}, got {rois!r}.")
        for name in names:
            _check_name(name, "ROI name", where)
        return rois

    def _check_montage(self, montage, where):
        """A montage option: a bundled or MNE montage name, or a file (relative to the study)."""
        from .montage import list_montages

        if isinstance(montage, list):
            return [self._check_montage(m, where) for m in montage]
        if not isinstance(montage, str) or montage in list_montages() or (
                montage in mne.channels.get_builtin_montages()):
            return montage
        path = self._path(montage)
        if not path.is_file():
            raise StudyError(
                f"{where}: montage {montage!r} is neither a bundled montage "
                f"({', '.join(list_montages())}), an MNE standard montage nor a file (looked "
                f"for {path})."
            )
        self._option_files.add(str(path))
        return str(path)

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def from_toml(cls, fname):
        """Read a study file.

        Parameters
        ----------
        fname : path-like
            The TOML file (format in the module docstring).

        Returns
        -------
        study : Study
            The study; relative paths start at ``[study] data_dir`` (relative to the file).

        Raises
        ------
        FileNotFoundError
            If there is no file at ``fname``.
        StudyError
            If the file is not valid TOML or does not describe a study that can run (the
            message names the file and what is wrong).
        """
        fname = Path(fname)
        if not fname.is_file():
            raise FileNotFoundError(f"No study file at {fname}.")
        d = _load_toml(fname)
        try:
            return cls.from_dict(d, base_dir=fname.parent,
                                 study_toml=fname.read_text(encoding="utf-8"))
        except StudyError:
            raise
        except (TypeError, ValueError, KeyError, AttributeError) as err:
            # a value of the wrong kind that no explicit check caught
            raise StudyError(f"{fname}: {type(err).__name__}: {err}") from err

    @classmethod
    def from_dict(cls, d, base_dir=None, study_toml=""):
        """Build a study from the parsed TOML structure.

        Parameters
        ----------
        d : dict
            Tables as in the study file.
        base_dir : path-like | None
            Folder of the study file.
        study_toml : str
            The file's text (provenance).

        Returns
        -------
        study : Study
            The study.
        """
        _check_keys(d, _TOP_KEYS, "the study file (top level)")
        head = d.get("study", {})
        _check_keys(head, _STUDY_KEYS, "[study]")
        base = Path.cwd() if base_dir is None else Path(base_dir)
        if "data_dir" in head:
            if not isinstance(head["data_dir"], str):
                raise StudyError(f"[study] data_dir must be a folder path, got "
                                 f"{head['data_dir']!r}.")
            base = base / head["data_dir"]
        return cls(
            d.get("dyads"),
            roles=head.get("roles", ("A", "B")),
            name=head.get("name", "study"),
            groups=head.get("groups"),
            reader=d.get("reader"),
            analysis=d.get("analysis"),
            surrogates=d.get("surrogates"),
            insync=d.get("insync"),
            statistics=d.get("statistics"),
            simulate=d.get("simulate"),
            base_dir=base,
            study_toml=study_toml,
        )

    def _build_recordings(self, dyads):
        """One job description per dyad and session."""
        if self.simulate is not None:
            try:
                sim = _make_simulated(to_json(self.simulate))
            except StudyError:
                raise
            except (TypeError, ValueError) as err:
                raise StudyError(f"[simulate]: {err}") from err
            out = []
            for row in sim.table:
                variables = {k: row[k] for k in ("WAI_T", "WAI_C", "alliance_gap")}
                out.append(dict(
                    dyad=row["dyad"], session=int(row["session"]), group=row["group"],
                    date=row["date"].isoformat(), variables=variables,
                    source=dict(mode="simulate", design=self.simulate),
                ))
            return out
        if not isinstance(dyads, (list, tuple)):
            raise StudyError(f"dyads ([[dyads]]) must be a list of tables, got {dyads!r}.")
        out, seen, files = [], set(), {}
        for k, dyad in enumerate(dyads):
            where = f"[[dyads]] #{k + 1}"
            _check_keys(dyad, _DYAD_KEYS, where)
            if "name" not in dyad:
                raise StudyError(f"{where} has no name.")
            name = dyad["name"]
            # the name becomes the name of the dyad's part files
            _check_name(name, "dyad name", where, file=True)
            other = files.setdefault(_file_key(name), name)
            if other != name:
                raise StudyError(
                    f"dyad names {other!r} and {name!r} differ only in upper/lower case (or "
                    "Unicode form): their files would be one on macOS and Windows. Rename one."
                )
            where = f"dyad {name!r}"
            group = dyad.get("group")
            if self.groups is not None and group not in self.groups:
                raise StudyError(
                    f"{where} has group {group!r}, not one of [study] groups {self.groups}."
                )
            sessions = dyad.get("sessions") or []
            if not isinstance(sessions, list) or not sessions:
                raise StudyError(f"{where} has no sessions ([[dyads.sessions]]).")
            dyad_vars = self._check_variables(dyad.get("variables"), where)
            for j, ses in enumerate(sessions):
                swhere = f"{where}, session #{j + 1}"
                _check_keys(ses, _SESSION_KEYS, swhere)
                index = _check_number(ses.get("index", j), f"{swhere}: index", integer=True,
                                      minimum=0)
                if (name, index) in seen:
                    raise StudyError(f"{where} lists session {index} twice.")
                seen.add((name, index))
                swhere = f"{where}, session {index}"
                variables = dict(dyad_vars)
                variables.update(self._check_variables(ses.get("variables"), swhere))
                out.append(dict(
                    dyad=name, session=index, group=group,
                    date=_check_date(ses.get("date"), swhere),
                    variables=variables, source=self._source(ses, swhere),
                ))
        return out

    @staticmethod
    def _check_variables(variables, where):
        if variables is None:
            return {}
        if not isinstance(variables, dict) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool)
                for v in variables.values()):
            raise StudyError(f"{where}: variables must be a table of numbers "
                             f"{{name = value}}, got {variables!r}.")
        return dict(variables)

    def _source(self, ses, where):
        """Resolve a session's files and reader options (mode: files | xdf | split | fif)."""
        own = {} if ses.get("reader") is None else ses["reader"]
        _check_keys(own, _READER_KEYS, f"{where} reader")
        opts = {**self.reader, **own}
        fmt = opts.pop("format", "auto")
        if fmt not in _FORMATS:
            raise StudyError(f"{where}: format {fmt!r} is not one of {', '.join(_FORMATS)}.")
        if ("files" in ses) == ("file" in ses):
            raise StudyError(
                f"{where} needs exactly one of files = {{role = path}} (one file per person) "
                "and file = path (one file for both)."
            )
        if "files" in ses:
            files = ses["files"]
            if not isinstance(files, dict) or set(files) != set(self.roles):
                got = list(files) if isinstance(files, dict) else files
                raise StudyError(
                    f"{where}: files must name one file per role {list(self.roles)}, got "
                    f"{got}. Check [study] roles and the keys of files."
                )
            mode = "files"
            paths = [self._path(files[r]) for r in self.roles]
        else:
            path = self._path(ses["file"])
            paths = [path]
            suffix = path.suffix.lower()
            if fmt == "auto":
                if suffix in (".xdf", ".xdfz"):
                    fmt = "xdf"
                elif "pattern" in opts or "mapping" in opts:
                    fmt = "split"
                elif suffix == ".fif" or path.name.endswith(".fif.gz"):
                    fmt = "fif"
                else:
                    raise StudyError(
                        f"{where}: cannot tell how to read {path.name} as a dyad: set reader "
                        "format to 'xdf', 'split' (with pattern or mapping) or 'fif'."
                    )
            mode = {"poly5": "split", "mne": "split"}.get(fmt, fmt)
        keys = _READER_BY_MODE[mode]
        misplaced = [k for k in own if k != "format" and k not in keys]
        if misplaced:
            raise StudyError(
                f"{where}: reader option(s) {misplaced} do not apply to {mode!r} recordings; "
                f"valid: {', '.join(keys) or 'none'}."
            )
        opts = {k: v for k, v in opts.items() if k in keys}
        if opts.get("montage") is not None:
            opts["montage"] = self._check_montage(opts["montage"], f"{where} reader")
        if mode == "split":
            self._check_split_roles(opts, where)
        return dict(mode=mode, format=fmt, paths=[str(p) for p in paths], options=opts)

    def _check_split_roles(self, opts, where):
        if ("pattern" in opts) == ("mapping" in opts):
            raise StudyError(f"{where}: a split recording needs exactly one of pattern, mapping.")
        for key in ("mapping", "role_map"):
            if key in opts and not isinstance(opts[key], dict):
                raise StudyError(f"{where}: reader {key} must be a table, got {opts[key]!r}.")
        if "pattern" in opts:
            try:
                rx = re.compile(opts["pattern"])
            except (re.error, TypeError) as err:
                raise StudyError(
                    f"{where}: reader pattern {opts['pattern']!r} is not a valid regular "
                    f"expression: {err}."
                ) from None
            if not {"name", "role"} <= set(rx.groupindex):
                raise StudyError(
                    f"{where}: reader pattern {opts['pattern']!r} needs the groups "
                    "(?P<name>...) and (?P<role>...), e.g. '(?P<name>.+)_(?P<role>[12])$'."
                )
        if "mapping" in opts and set(opts["mapping"]) != set(self.roles):
            raise StudyError(
                f"{where}: mapping keys {list(opts['mapping'])} must be the roles "
                f"{list(self.roles)}."
            )
        if "role_map" in opts and set(opts["role_map"].values()) != set(self.roles):
            raise StudyError(
                f"{where}: role_map values {sorted(opts['role_map'].values())} must be the "
                f"roles {list(self.roles)}."
            )

    def _path(self, p):
        if not isinstance(p, (str, os.PathLike)) or not str(p).strip():
            raise StudyError(f"A file path must be a non-empty text, got {p!r}.")
        p = Path(p).expanduser()
        return p if p.is_absolute() else self.base_dir / p

    def check_files(self):
        """Raise :class:`StudyError` listing every input file that does not exist."""
        missing = [
            f"{rec['dyad']} session {rec['session']}: {p}"
            for rec in self.recordings
            for p in rec["source"].get("paths", [])
            if not Path(p).is_file()
        ]
        if missing:
            raise StudyError(
                f"{len(missing)} input file(s) not found (relative paths start at "
                f"{self.base_dir}):\n  " + "\n  ".join(missing)
            )

    def __repr__(self):
        dyads = {r["dyad"] for r in self.recordings}
        kind = "simulated" if self.simulate is not None else "files"
        return (f"<Study {self.name!r} | {len(dyads)} dyads, {len(self.recordings)} "
                f"recordings ({kind}) | roles {self.roles}>")

    @property
    def params(self):
        """The full parameter set (a JSON-able dict)."""
        return dict(
            name=self.name, roles=list(self.roles), groups=self.groups, reader=self.reader,
            analysis=self.analysis, surrogates=self.surrogates, insync=self.insync,
            statistics=self.statistics, simulate=self.simulate,
        )

    def _recording_params(self, rec, sha_cache):
        """What a recording's results depend on, besides the contents of its input files."""
        src = rec["source"]
        # file names, not paths: the same study run from another folder reuses its parts
        source = {k: v for k, v in src.items() if k != "paths"}
        source["files"] = [Path(p).name for p in src.get("paths", [])]
        params = dict(roles=list(self.roles), source=source, analysis=self.analysis,
                      surrogates=self.surrogates,
                      insync={k: v for k, v in self.insync.items() if k != "level3"},
                      versions=_cache_versions())
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
        return {_input_key(p, self.base_dir): _sha256_cached(p, sha_cache)
                for p in rec["source"].get("paths", [])}

    def _facts(self):
        """``{(dyad, session): facts}``: what the study file says about each recording."""
        return {(r["dyad"], r["session"]): dict(group=r["group"], date=r["date"],
                                                variables=r["variables"], source=r["source"])
                for r in self.recordings}

    def _read_record(self, part):
        """A part's record, with the study's facts about its dyad and session in ``meta``."""
        rec = read_part(part)
        rec["meta"] = merge_meta(self._facts()[(rec["dyad"], rec["session"])], rec["meta"])
        return rec

    def _reusable(self, part, job, sha_cache):
        """The header of ``part`` if it holds exactly what ``job`` would compute, else None."""
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
            warn(f"{part} holds {header['dyad']} session {header['session']}, not {what}: "
                 "recomputing it.")
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
        if (not set(job["inputs"]) <= set(inputs) or current != inputs
                or _input_hash(job, current) != header["input_hash"]):
            logger.info(f"{what}: input files changed, recomputing.")
            return None
        return header

    # -- running --------------------------------------------------------------------------
    @verbose
    def run(self, out_dir, n_jobs=1, scheduler=None, resume=True, *, fname="results.h5",
            keep_going=False, dashboard=None, verbose=None):
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
        verbose : bool | str | int | None
            Control verbosity of the logging output, as in MNE.

        Returns
        -------
        results : hyperinsync.results_io.Results
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
            raise ValueError(f"dashboard={dashboard!r} applies to scheduler='local' only (a "
                             "running Dask scheduler serves its own dashboard).")
        self.check_files()
        out_dir = Path(out_dir)
        with lock_output(out_dir):
            remove_stale_temp_files(out_dir)
            parts_dir = out_dir / "parts"
            parts_dir.mkdir(exist_ok=True)
            remove_stale_temp_files(parts_dir)
            return self._run(out_dir, parts_dir, n_jobs, scheduler, resume, fname, keep_going,
                             dashboard, t0)

    def _run(self, out_dir, parts_dir, n_jobs, scheduler, resume, fname, keep_going,
             dashboard, t0):
        sha_cache = {}  # each input file is hashed once per run
        jobs, skipped, expected = [], [], {}
        for rec in self.recordings:
            key = (rec["dyad"], rec["session"])
            part = parts_dir / part_name(*key)
            if part.resolve().parent != parts_dir.resolve():  # the names were checked
                raise StudyError(f"{key}: part file {part} would leave {parts_dir}.")
            job = dict(rec, part=str(part), base_dir=str(self.base_dir),
                       inputs=self._primary_inputs(rec, sha_cache),
                       param_hash=_sha256_json(self._recording_params(rec, sha_cache)),
                       analysis=self.analysis, surrogates=self.surrogates,
                       insync=self.insync, roles=list(self.roles))
            header = self._reusable(part, job, sha_cache) if resume and part.exists() else None
            if header is not None:
                skipped.append(key)
                expected[key] = (header["input_hash"], job["param_hash"])
                continue
            jobs.append(job)
        logger.info(f"Study {self.name!r}: {len(jobs)} recording(s) to compute, "
                    f"{len(skipped)} reused from {parts_dir}.")

        def commit(job, rec):
            write_part(job["part"], rec)
            expected[(job["dyad"], job["session"])] = (rec["input_hash"], rec["param_hash"])
            logger.info(f"  {job['dyad']} session {job['session']} done "
                        f"({rec['meta']['elapsed_s']:.1f} s)")

        failures = _execute(jobs, n_jobs, scheduler, commit, keep_going=keep_going,
                            dashboard=dashboard)
        failed = {(job["dyad"], job["session"]): RecordingError(
            job["dyad"], job["session"], job["source"].get("paths", []), err)
            for job, err in failures}
        if failed and not keep_going:
            first = next(iter(failed.values()))
            raise first from first.error
        ok = [r for r in self.recordings if (r["dyad"], r["session"]) not in failed]
        if not ok:
            raise StudyError(f"All {len(failed)} recording(s) failed:\n  " + "\n  ".join(
                str(e) for e in failed.values()))
        if failed:
            warn(f"{len(failed)} recording(s) failed and are left out of the results (see "
                 "results.failures): " + ", ".join(f"{d} session {s}" for d, s in failed))
        parts = [parts_dir / part_name(r["dyad"], r["session"]) for r in ok]
        for part, rec in zip(parts, ok):
            # the parts must be those this run computed or checked (their contents were
            # verified then, and the lock keeps other runs out)
            if read_part_header(part) != (True, *expected[(rec["dyad"], rec["session"])]):
                raise StudyError(f"{part} changed during this run (another process wrote it?): "
                                 "run the study again.")
        study = self
        if failed:  # the group statistics see the recordings that were analysed
            study = copy.copy(self)
            study.recordings = ok
        group_stats = study._group_statistics(parts)
        out = out_dir / fname
        write_results(out, parts, group_stats, self.params, _versions(), self.study_toml,
                      meta=self._facts(),
                      failures=[e.as_dict() for e in failed.values()] if keep_going else None)
        results = read_results(out)
        results.run_info = dict(
            computed=[(j["dyad"], j["session"]) for j in jobs
                      if (j["dyad"], j["session"]) not in failed],
            skipped=skipped, failed=list(failed), elapsed_s=time.perf_counter() - t0,
        )
        logger.info(f"Results: {out} ({results.run_info['elapsed_s']:.1f} s).")
        return results

    # -- group level ----------------------------------------------------------------------
    def _group_statistics(self, parts):
        # the study's facts (group, variables, date) join each part's record here
        records = [self._read_record(p) for p in parts]
        st = self.statistics
        out = dict(features=None, contrast=None, correlation=None, mixed=None,
                   pseudo_dyads=None, level3=None)
        if st is None:
            return out
        feats = _dyad_features(records, st.get("rois"), st.get("differences") or {},
                               st.get("feature", "corrected"))
        out["features"] = feats
        values, dyads, labels = feats["values"], feats["dyads"], feats["labels"]
        seed = st.get("seed")
        if st.get("contrast"):
            out["contrast"] = _contrast(values, feats["groups"], st, seed, labels)
            if st.get("mixed", True):
                out["mixed"] = _mixed(feats, st)
        correlate = list(st.get("correlate") or [])
        if correlate:
            out["correlation"] = _correlations(values, feats["variables"], correlate, st,
                                               seed, dyads, labels)
        out["pseudo_dyads"] = self._pseudo_dyads(records, st)
        out["level3"] = self._level3(records, feats, st)
        logger.info(f"Group statistics over {len(dyads)} dyads, {values.shape[1]} features "
                    f"({feats['feature']}).")
        return out

    def _pseudo_dyads(self, records, st):
        """Real vs pseudo-dyads per segment, on each dyad's first session."""
        opts = st.get("pseudo_dyads")
        func = _ANALYSES["pseudo_dyad_test"]
        if opts is None or opts is False:
            return None
        if func is None:
            logger.info("Pseudo-dyads skipped: hyperinsync.stats.pseudo_dyad_test is "
                        "not available.")
            return None
        opts = dict(opts)
        session = opts.pop("session", None)
        first = {}
        for rec in sorted(self.recordings, key=lambda r: (r["dyad"], r["session"])):
            if session is None or rec["session"] == session:
                first.setdefault(rec["dyad"], rec)
        if len(first) < 2:
            logger.info("Pseudo-dyads skipped: fewer than 2 dyads.")
            return None
        an = dict(self.analysis)
        segments = an.pop("segments")
        # recordings are read again here: pseudo-dyads pair people of different recordings
        raws = [_load_recording(dict(rec, roles=list(self.roles))) for rec in first.values()]
        out = {}
        for seg in segments:
            insts = [raw if seg == "all" else _crop_segment(raw, seg) for raw in raws]
            kwargs = dict(bands=an.get("bands"), measures=an.get("measures", "plv"),
                          rois=an.get("rois"), n_permutations=st["n_permutations"],
                          seed=st.get("seed"))
            for key in ("epoch_duration", "method"):
                if key in an:
                    kwargs[key] = an[key]
            kwargs.update(opts)
            res = func(insts, **kwargs, verbose=False)
            res.params["dyads"] = list(first)
            out[seg] = res.to_dict()
        return out

    def _level3(self, records, feats, st):
        """Session trends of every feature (needs 3 or more sessions of every dyad)."""
        opts = self.insync.get("level3")
        func = _ANALYSES["level3"]
        if opts is None or func is None:
            return None
        n_ses = {}
        for rec in records:
            n_ses[rec["dyad"]] = n_ses.get(rec["dyad"], 0) + 1
        if min(n_ses.values()) < 3:
            logger.info("Level 3 skipped: it needs at least 3 sessions of every dyad "
                        f"(fewest: {min(n_ses.values())}).")
            return None
        from .stats import holm, fdr_bh

        kwargs = dict(n_permutations=st["n_permutations"], seed=st.get("seed"))
        kwargs.update(opts)
        dates = {(rec["dyad"], rec["session"]): rec["meta"].get("date") for rec in records}
        ses = feats["sessions"]
        out = {}
        for j, lab in enumerate(feats["labels"]):
            rows = []
            for dyad, session, val in zip(ses["dyad"], ses["session"], ses["values"][:, j]):
                row = dict(dyad=str(dyad), session=int(session), value=float(val))
                if dates.get((str(dyad), int(session))):
                    row["date"] = dates[(str(dyad), int(session))]
                rows.append(row)
            if any("date" not in r for r in rows):
                rows = [{k: v for k, v in r.items() if k != "date"} for r in rows]
            out[str(lab)] = func(rows, **kwargs).to_dict()
        # the features' trend tests form one family; max-stat needs joint permutations,
        # which the per-feature tests do not share: Holm keeps the family-wise rate instead
        corr = _correction(st)
        p = np.array([d["summary"]["p"] for d in out.values()])
        if corr == "fdr":
            p_corr = fdr_bh(p)[1]
        elif corr == "maxstat":
            corr, p_corr = "holm", holm(p)
        else:
            p_corr = np.full(len(p), np.nan)
        for d, pc in zip(out.values(), p_corr):
            d["summary"].update(p_corrected=None if corr is None else float(pc),
                                correction=corr, family=_family(feats["labels"]),
                                feature=feats["feature"])
        return out


# --------------------------------------------------------------------------------------------
# per-recording work (runs in workers: plain dicts in, plain dicts out)


def _simulate_study():
    from .simulation import simulate_study

    return simulate_study


@functools.lru_cache(maxsize=4)
def _make_simulated(design_json):
    """The simulated study of a design (cached: every recording of a worker shares it)."""
    design = json.loads(design_json)
    if "segments" in design:
        design["segments"] = [tuple(s) for s in design["segments"]]
    if "couplings" in design:
        raise StudyError("[simulate] couplings cannot be given in a study file; use Python.")
    design["roles"] = tuple(design["roles"])
    return _simulate_study()(**design, verbose=False)


def _load_recording(job):
    """Read (or simulate) one recording as a DyadRaw."""
    src = job["source"]
    roles = tuple(job["roles"])
    opts = dict(src.get("options", {}))
    if src["mode"] == "simulate":
        raw, _ = _make_simulated(to_json(src["design"])).get_dyad(
            job["dyad"], job["session"], verbose=False
        )
        return raw
    if src["mode"] == "files":
        from .io.align import read_dyad

        return read_dyad(*src["paths"], roles=roles, **opts, verbose=False)
    path = src["paths"][0]
    if src["mode"] == "xdf":
        from .io.xdf import read_dyad_xdf

        if "streams" in opts:
            opts["streams"] = tuple(opts["streams"])
        return read_dyad_xdf(path, roles=roles, **opts, verbose=False)
    if src["mode"] == "fif":
        from .dyad import get_roles, read_dyad_raw

        raw = read_dyad_raw(path, verbose=False)
        if tuple(get_roles(raw)) != roles:
            raise StudyError(f"{path} holds roles {get_roles(raw)}, the study {roles}.")
        return raw
    from .io.split import split_dyad

    from .io.align import read_recording

    kwargs = opts.pop("reader_kwargs", None) or {}
    if src["format"] == "poly5" and not path.lower().endswith(".poly5"):
        from .io.poly5 import read_raw_poly5

        raw = read_raw_poly5(path, preload=True, verbose=False, **kwargs)
    else:  # the truncation checks of read_dyad apply to one-file recordings too
        raw = read_recording(path, preload=True, verbose=False, **kwargs)
    return split_dyad(raw, roles=roles, **opts, verbose=False)


def _crop_segment(raw, description):
    """The parts of ``raw`` annotated ``description`` (several are concatenated)."""
    ann = raw.annotations
    hits = [i for i, d in enumerate(ann.description) if d == description]
    if not hits:
        raise StudyError(
            f"No annotation {description!r} in the recording to analyse as a segment; it has "
            f"{sorted(set(ann.description))}. Fix [analysis] segments."
        )
    sfreq = raw.info["sfreq"]
    t0 = raw.first_samp / sfreq
    pieces = []
    for i in hits:
        onset = ann.onset[i] - (t0 if ann.orig_time is not None else 0.0)
        # in samples, so a segment that ends with the recording keeps its last sample
        start = max(int(round(onset * sfreq)), 0)
        stop = min(int(round((onset + ann.duration[i]) * sfreq)), raw.n_times)
        pieces.append(raw.copy().crop(start / sfreq, (stop - 1) / sfreq, include_tmax=True))
    return pieces[0] if len(pieces) == 1 else mne.concatenate_raws(pieces)


def _process(job):
    """Analyse one recording; return a record of plain dicts (see results_io.write_part)."""
    from .dyad import get_dyad_meta
    from .sync import compute_sync

    t0 = time.perf_counter()
    with _opened_files() as opened:  # the files the reader opens are inputs too
        raw = _load_recording(job)
        an = dict(job["analysis"])
        segments = an.pop("segments")
        rec = dict(dyad=job["dyad"], session=job["session"], param_hash=job["param_hash"],
                   sync={}, surrogates={}, level1={}, level2=None)
        for seg in segments:
            inst = raw if seg == "all" else _crop_segment(raw, seg)
            res = compute_sync(inst, **an, verbose=False)
            rec["sync"][seg] = res.to_dict()
            if job["surrogates"] is not None and test_sync is not None:
                sur = test_sync(inst, bands=an.get("bands"),
                                measures=an.get("measures", "plv"), rois=an.get("rois"),
                                **job["surrogates"], verbose=False)
                rec["surrogates"][seg] = sur.to_dict()
        l1 = job["insync"].get("level1")
        if l1 is not None and level1 is not None:
            l1 = dict(l1)
            seg = l1.pop("segment", "all")
            inst = raw if seg == "all" else _crop_segment(raw, seg)
            l1.setdefault("bands", an.get("bands"))
            l1.setdefault("rois", an.get("rois") or "default")
            res = level1(inst, **l1, verbose=False)
            rec["level1"][seg] = res.to_dict()
        l2 = job["insync"].get("level2")
        if l2 is not None and level2 is not None:
            l2 = dict(l2)
            l2.setdefault("bands", an.get("bands"))
            l2.setdefault("rois", an.get("rois") or "default")
            rec["level2"] = level2(raw, **l2, verbose=False).to_dict()
        # only what the analysis found: the study's facts (group, variables, date, files)
        # are added when the results are assembled, so that correcting them needs no rerun
        meta = dict(alignment=get_dyad_meta(raw).get("alignment"),
                    duration_s=float(raw.times[-1] + 1 / raw.info["sfreq"]),
                    sfreq=float(raw.info["sfreq"]), annotations=_annotation_list(raw))
    rec["inputs"] = _opened_inputs(job, opened)
    rec["input_hash"] = _input_hash(job, rec["inputs"])
    meta["elapsed_s"] = time.perf_counter() - t0
    rec["meta"] = meta
    return rec


def _input_hash(job, inputs):
    """The hash of a recording's inputs: its files' contents, or its simulation."""
    src = job["source"]
    sim = None
    if src["mode"] == "simulate":
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
        os.path.realpath(os.path.dirname(_key_path(k, base))) for k in job["inputs"]}
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


def _annotation_list(raw):
    return [dict(onset=float(a["onset"]), duration=float(a["duration"]),
                 description=str(a["description"])) for a in raw.annotations]


def _safe_process(job):
    """``(job, record, None)`` or ``(job, None, error)``: errors are reported by the runner."""
    try:
        return job, _process(job), None
    except Exception as err:
        return job, None, err


def _execute(jobs, n_jobs, scheduler, commit, *, keep_going=False, dashboard=None):
    """Run jobs, committing each record as soon as it is back; return [(job, exception)].

    Without ``keep_going`` the first failure stops the run: jobs not yet started are
    dropped (those already finished are committed).
    """
    failures = []
    if not jobs:
        return failures
    with ProgressBar(len(jobs), mesg="Recordings") as bar:
        if scheduler is None:
            from joblib import Parallel, delayed

            if n_jobs == 1:
                results = (_safe_process(job) for job in jobs)
            else:
                results = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(
                    delayed(_safe_process)(job) for job in jobs
                )
            try:
                for job, rec, err in results:
                    if err is None:
                        commit(job, rec)
                    else:
                        failures.append((job, err))
                        if not keep_going:
                            break
                    bar.update_with_increment_value(1)
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
                bar.update_with_increment_value(1)
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
        kwargs = dict(n_workers=n_jobs, threads_per_worker=1, processes=True,
                      host="127.0.0.1")
        if dashboard:
            _validate_type(dashboard, str, "dashboard")
            return Client(LocalCluster(**kwargs, dashboard_address=dashboard)), True
        # Dask's scheduler and workers always start an HTTP server (the dashboard, worker
        # pages, metrics; the scheduler's on port 8787): without routes, on free loopback
        # ports, they serve nothing
        routes = {"distributed.scheduler.http.routes": [],
                  "distributed.worker.http.routes": []}
        with dask.config.set(routes):
            cluster = LocalCluster(**kwargs, dashboard_address=None, scheduler_kwargs=dict(
                dashboard=False, dashboard_address="127.0.0.1:0"))
        return Client(cluster), True
    return Client(scheduler), True


# --------------------------------------------------------------------------------------------
# group statistics


FEATURES = ("corrected", "z", "raw")
_FEATURE_TEXT = {
    "corrected": "surrogate-corrected synchrony: observed minus the mean of the recording's "
                 "own surrogate null ([surrogates]), per session, then the mean over sessions",
    "z": "surrogate z: (observed - null mean) / null SD of the recording's own surrogate "
         "null ([surrogates]), per session, then the mean over sessions",
    "raw": "raw synchrony (not corrected for chance level, which depends on the spectrum "
           "and the epoch length), mean over sessions",
}


def _check_statistics(st, surrogates):
    """Validate the [statistics] options that shape the group step."""
    if st is None:
        return
    if st.get("feature") not in FEATURES:
        raise StudyError(f"[statistics] feature must be one of {', '.join(FEATURES)}, got "
                         f"{st.get('feature')!r}.")
    if st["feature"] != "raw" and surrogates is None:
        raise StudyError(
            f"[statistics] feature = {st['feature']!r} is corrected against each recording's "
            "surrogate null, but [surrogates] is false. Enable [surrogates], or set "
            "[statistics] feature = \"raw\" (not corrected for chance level: groups that "
            "differ in spectrum, e.g. alpha power, then differ in 'synchrony')."
        )
    if st.get("correction") not in ("fdr", "maxstat", False, None):
        raise StudyError(f"[statistics] correction must be \"fdr\", \"maxstat\" or false, "
                         f"got {st.get('correction')!r}.")
    if st.get("statistic") not in ("F", "welch"):
        raise StudyError(f"[statistics] statistic must be \"welch\" or \"F\", got "
                         f"{st.get('statistic')!r}.")
    ci = st.get("ci")
    if not isinstance(ci, (int, float)) or isinstance(ci, bool) or not 0 < ci < 1:
        raise StudyError(f"[statistics] ci must be a confidence level in (0, 1), got {ci!r}.")


def _session_features(records, rois, feature):
    """Same-ROI synchrony of every recording as ``{(dyad, session): {label: value}}``.

    Returns ``(chosen, raw, labels)``: the ``feature`` values and the raw values, labels
    ``segment/measure/band/roi`` in first-seen order.
    """
    from .stats import SurrogateResult
    from .sync import SyncResult

    chosen, raw, labels = {}, {}, {}
    for rec in records:
        key = (rec["dyad"], rec["session"])
        where = f"{rec['dyad']} session {rec['session']}"
        chosen[key], raw[key] = {}, {}
        for seg, d in rec["sync"].items():
            res = SyncResult.from_dict(d)
            rn, cn = res.roi_names
            if not rn:
                raise StudyError("Group statistics compare ROI pairs: set [analysis] rois "
                                 "(e.g. \"default\").")
            names = [r for r in rn if r in cn and (rois is None or r in rois)]
            if rois is not None:
                missing = [r for r in rois if r not in names]
                if missing:
                    raise StudyError(
                        f"[statistics] rois {missing} are not ROIs of the results "
                        f"(ROIs: {rn}); check [analysis] rois."
                    )
            sur = None
            if feature != "raw":
                if seg not in rec["surrogates"]:
                    raise StudyError(
                        f"{where}: no surrogate results for segment {seg!r}, which the "
                        f"{feature!r} feature needs; re-run with [surrogates] enabled or set "
                        "[statistics] feature = \"raw\"."
                    )
                sur = SurrogateResult.from_dict(rec["surrogates"][seg])
            for m in res.measures:
                for b in res.bands:
                    mat = res.get_data(m, b, level="roi")
                    for r in names:
                        lab = f"{seg}/{m}/{b}/{r}"
                        labels.setdefault(lab, None)
                        raw[key][lab] = float(mat[rn.index(r), cn.index(r)])
                        if sur is None:
                            chosen[key][lab] = raw[key][lab]
                            continue
                        try:
                            ix = (sur.measures.index(m), list(sur.bands).index(b),
                                  sur.rows.index(r), sur.cols.index(r))
                        except ValueError:
                            raise StudyError(
                                f"{where}: the surrogate results of segment {seg!r} hold no "
                                f"{m} / {b} / {r}-{r} value; re-run the study."
                            ) from None
                        val = (sur.observed[ix] - sur.null_mean[ix] if feature == "corrected"
                               else sur.z[ix])
                        if not np.isfinite(val):
                            raise StudyError(
                                f"{where}, {lab}: the {feature} value is {val} (null with "
                                "no spread?); use more surrogates or another feature."
                            )
                        chosen[key][lab] = float(val)
    return chosen, raw, list(labels)


def _dyad_features(records, rois, differences, feature="raw"):
    """Per-dyad features of same-ROI pairs (mean over sessions) and per-dyad variables."""
    chosen, raw, labels = _session_features(records, rois, feature)
    by_dyad = {}
    for rec in records:
        by_dyad.setdefault(rec["dyad"], []).append(rec)
    dyads = sorted(by_dyad)
    incomplete = sorted({lab for lab in labels for key in chosen if lab not in chosen[key]})
    if incomplete:
        raise StudyError(f"Features {incomplete} are missing for some recordings (segments "
                         "absent from some of them?).")

    def mean_over_sessions(cells, lab, dyad):
        return np.mean([cells[(dyad, r["session"])][lab] for r in by_dyad[dyad]])

    values = np.array([[mean_over_sessions(chosen, lab, d) for lab in labels] for d in dyads])
    raw_values = np.array([[mean_over_sessions(raw, lab, d) for lab in labels]
                           for d in dyads])
    groups = np.array([str(by_dyad[d][0]["meta"].get("group")) for d in dyads])
    var_names = sorted({v for recs in by_dyad.values() for r in recs
                        for v in r["meta"].get("variables", {})})
    variables = {}
    for v in var_names:
        variables[v] = np.array([
            np.mean([float(r["meta"]["variables"][v]) for r in by_dyad[d]
                     if v in r["meta"].get("variables", {})] or [np.nan])
            for d in dyads
        ])
    for name, pair in differences.items():
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise StudyError(f"[statistics] differences: {name} must be [minuend, subtrahend].")
        missing = [p for p in pair if p not in variables]
        if missing:
            raise StudyError(
                f"[statistics] differences: {name} uses unknown variable(s) {missing}; "
                f"variables are {var_names}."
            )
        variables[name] = variables[pair[0]] - variables[pair[1]]
    sessions = dict(
        dyad=np.array([k[0] for k in chosen]), session=np.array([k[1] for k in chosen]),
        values=np.array([[chosen[k][lab] for lab in labels] for k in chosen]),
    )
    return dict(dyads=np.array(dyads), labels=np.array(labels), groups=groups,
                values=values, raw=raw_values, feature=feature,
                description=_FEATURE_TEXT[feature], variables=variables, sessions=sessions)


def _family(labels):
    """Words for a family of features ``segment/measure/band/roi``: its factors and size."""
    parts = [sorted(set(p)) for p in zip(*(str(lab).split("/") for lab in labels))]
    names = ("segments", "measures", "bands", "ROI pairs")
    dims = " x ".join(f"{len(p)} {n}" for p, n in zip(parts, names))
    return f"{dims} = {len(labels)} features"


def _correction(st):
    return st.get("correction") or None


def _contrast(values, groups, st, seed, labels=None):
    from .stats import group_contrast

    labels_, counts = np.unique(groups, return_counts=True)
    if len(labels_) < 2 or np.any(counts < 2):
        logger.info(f"Group contrast skipped: groups {dict(zip(labels_, counts))} need at "
                    "least 2 groups of at least 2 dyads.")
        return None
    res = group_contrast(values, groups, n_permutations=st["n_permutations"], seed=seed,
                         statistic=st.get("statistic", "welch"), correction=_correction(st),
                         ci=st.get("ci", 0.95))
    out = {k: (np.asarray(v) if isinstance(v, (list, tuple)) and k != "df" else v)
           for k, v in res.items()}
    out["feature"] = st.get("feature", "raw")
    out["family"] = None if labels is None else _family(labels)
    return out


def _correlations(values, variables, names, st, seed, dyads=None, labels=None):
    from .stats import correlation_test

    unknown = [n for n in names if n not in variables]
    if unknown:
        raise StudyError(
            f"[statistics] correlate names unknown variable(s) {unknown}; variables are "
            f"{sorted(variables)} (add differences to derive more)."
        )
    rng = np.random.default_rng(seed)
    out = {}
    for name in names:
        y = np.asarray(variables[name], float)
        ok = np.isfinite(y)
        if not ok.all():
            left = [str(d) for d in np.asarray(dyads)[~ok]] if dyads is not None else []
            warn(f"Correlation with {name!r}: dyad(s) {left} have no value of {name!r} and "
                 "are left out.")
        if ok.sum() < 3:
            logger.info(f"Correlation with {name!r} skipped: fewer than 3 dyads have it.")
            continue
        res = correlation_test(values[ok], y[ok], n_permutations=st["n_permutations"],
                               seed=rng, correction=_correction(st), ci=st.get("ci", 0.95))
        res["p_fdr"] = res["p_corrected"]  # the name earlier results files used
        res["feature"] = st.get("feature", "raw")
        res["family"] = None if labels is None else _family(labels)
        res["dyads"] = None if dyads is None else np.asarray(dyads)[ok]
        out[name] = res
    return out or None


def _mixed(feats, st):
    """The mixed design: group (between) x segment x band x ROI (within), dyad random."""
    from .stats import mixed_model

    groups, dyads = feats["groups"], feats["dyads"]
    labs, counts = np.unique(groups, return_counts=True)
    if len(labs) < 2 or np.any(counts < 2):
        return None
    parts = [str(lab).split("/") for lab in feats["labels"]]
    out = {}
    for m in dict.fromkeys(p[1] for p in parts):
        rows = [dict(dyad=str(d), group=str(g), segment=p[0], band=p[2], roi=p[3],
                     value=float(feats["values"][i, j]))
                for i, (d, g) in enumerate(zip(dyads, groups))
                for j, p in enumerate(parts) if p[1] == m]
        within = [w for w, k in (("segment", 0), ("band", 2), ("roi", 3))
                  if len({p[k] for p in parts if p[1] == m}) > 1]
        if not within:
            logger.info("Mixed model skipped: one segment, band and ROI only (the group "
                        "contrast is the whole design).")
            return None
        res = mixed_model(rows, within=within, ci=st.get("ci", 0.95))
        res["feature"] = st.get("feature", "raw")
        out[m] = res
    return out
