"""A study description's errors and the checks of its values.

Errors: a description that cannot run, a recording whose analysis failed. Checks: of its keys
and defaults (:mod:`~hyperinsync.study.schema`).
"""

from __future__ import annotations

import datetime as _dt
import difflib
import math
import re
import unicodedata

from .._utils import warn
from . import schema
from .results import failure_line
from .schema import CORRECTION_NONE, SECTIONS


class StudyError(ValueError):
    """A study description that cannot be run (unknown keys, missing files, bad roles).

    Examples
    --------
    >>> try:
    ...     hs.Study(simulate=dict(n_dyads=4), analysis=dict(bandz={"alpha": [8, 13]}))
    ... except hs.study.StudyError as err:
    ...     print(str(err).split(". ")[-1])
    'bandz': did you mean 'bands'?
    """


class RecordingError(StudyError):
    """The analysis of one recording failed; the message names the dyad, session and files.

    Each parameter is kept as the attribute of the same name.

    Parameters
    ----------
    dyad : str
        The dyad's name.
    session : int
        The session index (0-based).
    files : list of str
        The recording's input files (empty for a simulated recording).
    error : Exception
        The original error (also the ``__cause__``).

    Examples
    --------
    >>> from hyperinsync.study import RecordingError
    >>> err = RecordingError("dyad01", 0, ["dyad01/s0.Poly5"], ValueError("no segment 'rest_post'"))
    >>> print(err)
    dyad01 session 0 (dyad01/s0.Poly5): ValueError: no segment 'rest_post'
    >>> err.dyad, err.session, type(err.error).__name__
    ('dyad01', 0, 'ValueError')
    """

    def __init__(self, dyad, session, files, error):
        self.dyad, self.session, self.files, self.error = dyad, int(session), list(files), error
        super().__init__(failure_line(self.as_dict()))

    def as_dict(self):
        """Return the failure as stored in the results file (``Results.failures``).

        Returns
        -------
        failure : dict
            ``dyad``, ``session``, ``files``, ``error`` (the error's type name) and
            ``message`` (on one line).
        """
        # one line: a multi-line message (a list of files, ...) is joined
        message = re.sub(r"\s*\n\s*", " ", str(self.error)).strip()
        return dict(
            dyad=self.dyad,
            session=self.session,
            files=self.files,
            error=type(self.error).__name__,
            message=message,
        )


# Names that become file names (dyads) or '/'-joined feature labels (segments, bands, ROIs).
_WINDOWS_CHARS = set('<>:"|?*')


_WINDOWS_DEVICES = {
    "CON",
    "PRN",
    "AUX",
    "NUL",
    *(f"{d}{i}" for d in ("COM", "LPT") for i in range(1, 10)),
}


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
    """Check a finite number (an int when ``integer``), at least ``minimum`` / above 0."""
    kind = "a whole number" if integer else "a number"
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if ok and integer and isinstance(value, float):
        ok = value.is_integer()
    if (
        not ok
        or not math.isfinite(value)
        or (positive and value <= 0)
        or (minimum is not None and value < minimum)
    ):
        limit = " above 0" if positive else ("" if minimum is None else f" >= {minimum}")
        raise StudyError(f"{what} must be {kind}{limit}, got {value!r}.")
    return int(value) if integer else value


def _check_date(value, where):
    """Return a session date as ISO text, from a TOML date or datetime or 'YYYY-MM-DD' text."""
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


# -- the schema applied (hyperinsync.study.schema) ----------------------------------------
def check_section(d, section, where=None):
    """Check one section's table; return it with older spellings renamed.

    Parameters
    ----------
    d : dict
        The section's table.
    section : str
        Its dotted name (a key of ``hyperinsync.study.schema.SECTIONS``).
    where : str | None
        How messages name it (default: the section's title).

    Returns
    -------
    d : dict
        A copy, older spellings replaced (each with a ``FutureWarning``) and, for
        ``correction``, ``false`` read as ``None``.

    Raises
    ------
    StudyError
        An unknown key (the message names the section, the key, the closest valid key and
        lists the valid ones) or a value of the wrong kind.
    """
    sec = SECTIONS[section]
    where = sec.title if where is None else where
    if not isinstance(d, dict):
        raise StudyError(f"{where} must be a table (dict), got {type(d).__name__}.")
    out = {}
    for key, value in d.items():
        new = schema.RENAMED.get((section, key))
        if new is not None:
            if new in d:
                raise StudyError(
                    f"{where} has both {key} (the older spelling) and {new}: keep {new}."
                )
            warn(
                f"{where}: {key} is the older spelling of {new}; write {new} = {value!r}.",
                category=FutureWarning,
            )
            key = new
        out[key] = value
    unknown = [k for k in out if k not in sec.names]
    if unknown:
        hints = []
        for k in unknown:
            close = difflib.get_close_matches(str(k), sec.names, n=1, cutoff=0.6)
            if close:
                hints.append(f"{k!r}: did you mean {close[0]!r}?")
        raise StudyError(
            f"Unknown key(s) {unknown} in {where}. Valid keys: {', '.join(sec.names)}."
            + (" " + " ".join(hints) if hints else "")
        )
    for key, value in out.items():
        spec = sec.key(key)
        if not spec.accepts(value):
            raise StudyError(
                f"{where} {key} must be {spec.kinds}, got {value!r} ({type(value).__name__})."
            )
    if section in CORRECTION_NONE and "correction" in out:
        c = out["correction"]
        if isinstance(c, str) and c.lower() == "none":
            warn(
                f'{where}: correction = "none" is the older spelling of correction = '
                "false (no correction).",
                category=FutureWarning,
            )
            c = False
        out["correction"] = None if c is False else c
    return out


def read_section(value, section, where=None):
    """Return a section as the study keeps it: its defaults, overridden by the file's table.

    Parameters
    ----------
    value : dict | bool | None
        The section's table; ``None`` or ``True``: the defaults; ``False``: skip the step
        (sections whose form is ``'table or false'``).
    section, where : str
        As in :func:`check_section`.

    Returns
    -------
    table : dict | None
        ``None`` for a skipped step.
    """
    sec = SECTIONS[section]
    where = sec.title if where is None else where
    if value is False:
        if sec.form != "table or false":
            raise StudyError(f"{where} cannot be false: leave it out for the defaults.")
        return None
    if value is None or value is True:
        value = {}
    if not isinstance(value, dict):
        raise StudyError(
            f"{where} must be a table"
            + (" or false" if sec.form == "table or false" else "")
            + f", got {value!r}."
        )
    out = sec.defaults()
    out.update(check_section(value, section, where))
    return out


def migrate(d, source="the study file"):
    """Bring a parsed study file to the current schema version (``SCHEMA_VERSION``).

    Parameters
    ----------
    d : dict
        The parsed file (its top-level tables).
    source : str
        How messages name the file.

    Returns
    -------
    d : dict
        The file's tables as the current version spells them, without ``schema_version``.
    """
    if not isinstance(d, dict):
        raise StudyError(f"{source} must hold TOML tables, got {type(d).__name__}.")
    d = dict(d)
    current = schema.SCHEMA_VERSION
    version = d.pop("schema_version", current)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise StudyError(f"{source}: schema_version must be a whole number >= 1, got {version!r}.")
    if version > current:
        from .. import __version__

        raise StudyError(
            f"{source} is written for study-file schema version {version}, newer than this "
            f"hyperinsync ({__version__}) reads (up to {current}). Upgrade hyperinsync "
            f"(pip install -U hyperinsync), or write the file for schema_version = "
            f"{current}."
        )
    while version < current:
        d = schema.MIGRATIONS[version](d)
        version += 1
    return d


def shared_options(analysis, section):
    """Return the ``[analysis]`` options that the function of ``section`` also takes.

    Parameters
    ----------
    analysis : dict
        The study's ``[analysis]`` table.
    section : str
        The dotted name of a section with a function (e.g. ``'insync.level1'``).

    Returns
    -------
    options : dict
        Keyword arguments for that function.
    """
    receives = SECTIONS[section].receives
    return {k: v for k, v in analysis.items() if k in receives}
