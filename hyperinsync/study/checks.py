"""A study file's keys and defaults, its errors (a description that cannot run, a recording
whose analysis failed), and the checks of the values in a study description."""

from __future__ import annotations


import datetime as _dt
import math
import re
import unicodedata
from copy import deepcopy


from .results import failure_line







# the study file's tables and keys (the schema), and the defaults of its tables
_TOP_KEYS = ("study", "reader", "analysis", "surrogates", "insync", "statistics", "dyads",
             "simulate")
_STUDY_KEYS = ("name", "roles", "groups", "data_dir")
_DYAD_KEYS = ("name", "group", "variables", "sessions")
_SESSION_KEYS = ("index", "date", "files", "file", "reader", "variables")
_ANALYSIS_KEYS = ("bands", "measures", "rois", "segments", "epoch_duration", "overlap",
                  "convention", "reject_by_annotation", "picks", "method", "decim",
                  "n_cycles", "freq_step", "l_trans_bandwidth", "h_trans_bandwidth",
                  "precision", "backend", "max_bytes")
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
