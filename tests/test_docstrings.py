"""numpydoc validation of the public API, with the checks of pyproject.toml.

Every name on an API page (``doc/api/*.rst``) and the public methods and properties that
its classes get from hyperinsync (not those inherited from MNE, dict or object) are
validated with :func:`numpydoc.validate.validate`, as MNE's test suite does. The checks
and the names left out are ``[tool.numpydoc_validation]`` in ``pyproject.toml``. A finding
names the object and the check: fix the docstring (a parameter shared by several
functions: its entry in ``hyperinsync/_docs.py``, once).
"""

import functools
import inspect
import pkgutil
import re
import sys
from contextlib import contextmanager

from mne.utils import verbose
from numpydoc.validate import get_validation_checks, validate
from test_docs import ROOT, _api_names, needs_source

if sys.version_info >= (3, 11):
    import tomllib
else:  # a dependency below 3.11
    import tomli as tomllib

PYPROJECT = ROOT / "pyproject.toml"


@functools.cache
def _config():
    cfg = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["numpydoc_validation"]
    return (
        frozenset(get_validation_checks(set(cfg["checks"]))),
        tuple(re.compile(p) for p in cfg.get("exclude", ())),
    )


def _members(name, cls):
    """The methods and properties a class gets from hyperinsync, as dotted names."""
    out = []
    for member in sorted(dir(cls)):
        owner = next((c for c in cls.__mro__ if member in vars(c)), None)
        if owner is None or not owner.__module__.startswith("hyperinsync"):
            continue  # inherited from MNE, dict, object...: documented there
        raw = vars(owner)[member]
        if isinstance(
            raw, (property, functools.cached_property, staticmethod, classmethod)
        ) or inspect.isfunction(raw):
            out.append((f"{name}.{member}", (owner, member)))
    return out


def _public_api():
    """Dotted names to validate: the API pages' names and their classes' members, once each."""
    seen, names = set(), []
    for name in sorted(_api_names()):
        obj = pkgutil.resolve_name(name)
        todo = [(name, id(obj))]
        if inspect.isclass(obj):
            todo += _members(name, obj)
        for dotted, key in todo:
            if key not in seen:  # an object listed under two names is validated once
                seen.add(key)
                names.append(dotted)
    return names


def _findings(names):
    """``'name: CODE message'`` for every failed check of the configured ones."""
    checks, exclude = _config()
    return [
        f"{name}: {code} {message}"
        for name in names
        if not any(p.search(name) for p in exclude)
        for code, message in validate(name)["errors"]
        if code in checks
    ]


@needs_source
def test_public_docstrings_are_valid_numpydoc():
    names = _public_api()
    # the API pages name ~170 objects, with their classes' members ~300: a parser that finds
    # none would validate nothing
    assert len(names) > 200, names
    assert "hyperinsync.SyncResult.get_data" in names  # members inherited from BaseResult
    assert not any(".DyadRaw.filter" in n for n in names)  # MNE's own methods are not ours
    findings = _findings(names)
    assert not findings, (
        f"{len(findings)} numpydoc finding(s) in the public API (checks: "
        "[tool.numpydoc_validation] of pyproject.toml):\n" + "\n".join(findings)
    )


def planted_bad_docstring(a, b=1):
    """returns the sum

    Parameters
    ----------
    a : int
        first.
    """  # noqa: D400, D403 (defects planted for the test below)
    return a + b


class PlantedClass:
    """Hold a value (its constructor's parameter left undocumented)."""

    def __init__(self, a):
        self.a = a


@contextmanager
def planted_context(name):
    """Hold ``name`` during the block (no Parameters, no Yields)."""
    yield


@verbose
def planted_verbose(a, verbose=None):
    """Return ``a`` doubled (no Returns section, under MNE's ``@verbose``).

    Parameters
    ----------
    a : int
        The value.
    verbose : bool | None
        The verbosity.
    """
    return 2 * a


def _codes(name):
    return {f.split(": ", 1)[1].split()[0] for f in _findings([f"{__name__}.{name}"])}


@needs_source
def test_validation_catches_a_bad_docstring():
    # the same checks on docstrings with known defects: they must be found
    codes = _codes("planted_bad_docstring")
    assert {"SS02", "SS03", "SS05", "PR01", "PR08", "RT01"} <= codes, codes
    # a class's constructor parameters, a context manager's parameters and what it yields,
    # and a function under @verbose (its source behind the wrapper) are checked too
    assert "PR01" in _codes("PlantedClass")
    assert {"PR01", "YD01"} <= _codes("planted_context")
    assert "RT01" in _codes("planted_verbose")
    # and the configured exclusions hold (a private name is never validated)
    assert _findings(["hyperinsync._utils.as_table"]) == []
