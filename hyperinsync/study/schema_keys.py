"""The building blocks of the study file's schema: :class:`Key` and :class:`Section`.

What the study file holds -- every section and key, the version, the migrations -- is declared
with them in :mod:`hyperinsync.study.schema`, which also exports both classes.
"""

from __future__ import annotations

import datetime as _dt
import numbers
from dataclasses import dataclass

# TOML value kinds a key accepts (None, from Python, always means "not set")
_KINDS = {
    "text": lambda v: isinstance(v, str),
    "number": lambda v: isinstance(v, numbers.Real) and not isinstance(v, bool),
    "integer": lambda v: (
        (isinstance(v, numbers.Integral) and not isinstance(v, bool))
        or (isinstance(v, float) and v.is_integer())
    ),
    "boolean": lambda v: isinstance(v, bool),
    "list": lambda v: isinstance(v, (list, tuple)),
    "table": lambda v: isinstance(v, dict),
    "date": lambda v: isinstance(v, (_dt.date, _dt.datetime)),
}

_WORDS = dict(
    text="text",
    number="a number",
    integer="a whole number",
    boolean="true or false",
    list="a list",
    table="a table",
    date="a date",
)


@dataclass(frozen=True)
class Key:
    """One key of a study-file section.

    Parameters
    ----------
    name : str
        The key as written in the file.
    types : tuple of str
        The TOML kinds its value may have: ``'text'``, ``'number'``, ``'integer'``,
        ``'boolean'``, ``'list'``, ``'table'``, ``'date'``.
    doc : str
        What it means.
    default : object
        The value used when the key is absent.
    filled : bool
        Whether the study writes ``default`` into its parameters when the key is absent
        (``False``: the key is left out and ``default`` is that of the function it
        reaches, or ``'[analysis]'``: the ``[analysis]`` value).

    Examples
    --------
    >>> from hyperinsync.study.schema import SECTIONS
    >>> key = next(k for k in SECTIONS["surrogates"].keys if k.name == "n_surrogates")
    >>> key.types, key.default, key.doc
    (('integer',), 200, 'Number of surrogates.')
    """

    name: str
    types: tuple
    doc: str
    default: object = None
    filled: bool = False

    def accepts(self, value):
        """Whether ``value`` has one of the key's kinds (``None``, from Python: not set).

        Parameters
        ----------
        value : object
            A value from the study file (or from Python).

        Returns
        -------
        accepted : bool
            True when ``value`` is ``None`` or of one of the key's kinds.
        """
        return value is None or any(_KINDS[t](value) for t in self.types)

    @property
    def kinds(self):
        """The kinds in words: ``'a number or text'``."""
        return " or ".join(_WORDS[t] for t in self.types)


@dataclass(frozen=True)
class Section:
    """One section (TOML table) of the study file.

    Parameters
    ----------
    name : str
        Dotted name: ``'analysis'``, ``'insync.level1'``, ``'dyads.sessions'``, ...
    title : str
        How messages name it: ``'[analysis]'``, ``'[insync] level1'``, ...
    doc : str
        What the section describes.
    keys : tuple of Key
        Its keys, in the order the documentation lists them.
    form : str
        ``'table'``, ``'table or false'`` (``false`` skips the step) or ``'array of tables'``.
    function : str
        The function its keys reach (``''``: read by the study itself).
    receives : tuple of str
        The ``[analysis]`` options that function also takes from ``[analysis]`` (the
        section's own value wins).

    Examples
    --------
    >>> from hyperinsync.study.schema import SECTIONS
    >>> section = SECTIONS["surrogates"]
    >>> section.title, section.function, section.form
    ('[surrogates]', 'hyperinsync.stats.surrogate_test', 'table or false')
    """

    name: str
    title: str
    doc: str
    keys: tuple
    form: str = "table"
    function: str = ""
    receives: tuple = ()

    @property
    def names(self):
        """The valid keys, in order."""
        return tuple(k.name for k in self.keys)

    def key(self, name):
        """Return the :class:`Key` called ``name``.

        Parameters
        ----------
        name : str
            A key of this section.

        Returns
        -------
        key : Key
            Its declaration.
        """
        return {k.name: k for k in self.keys}[name]

    def defaults(self):
        """Return the defaults of the keys the study fills in.

        Returns
        -------
        defaults : dict
            ``{key: default}`` (copies).
        """
        return {k.name: _copy(k.default) for k in self.keys if k.filled}


def _copy(value):
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_copy(v) for v in value]
    return value


def _k(name, types, doc, default=None, filled=False):
    return Key(name, tuple(types.split("|")), doc, default, filled)


# the keys every pseudo-dyad section shares
_PSEUDO_SESSION = _k(
    "session", "integer", "The session index used; default: each dyad's first.", None
)
_KEEP_ROLES = _k(
    "keep_roles", "boolean", "Pair first-role people with second-role people only.", True
)
