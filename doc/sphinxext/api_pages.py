"""The names the API reference documents (``doc/api/*.rst``), without Sphinx.

Used by ``conf.py`` (the mini-gallery names of each page) and by ``tests/test_docs.py`` (which
runs without the docs extra).
"""

import importlib
import pkgutil
import re
from pathlib import Path


def api_names(doc_dir):
    """Fully qualified names listed by the autosummary blocks of ``doc_dir/api/*.rst``.

    Each name is ``<module>.<item>``, the module being that of the last
    ``.. currentmodule::`` or ``.. automodule::`` line above the block.
    """
    names = set()
    for page in sorted((Path(doc_dir) / "api").glob("*.rst")):
        module = None
        in_summary = False
        for line in page.read_text(encoding="utf-8").splitlines():
            m = re.match(r"\.\. (?:currentmodule|automodule):: (\S+)", line)
            if m:
                module, in_summary = m.group(1), False
                continue
            if line.startswith(".. autosummary::"):
                in_summary = True
                continue
            if in_summary:
                item = line.strip()
                if not line.startswith("   ") and item:
                    in_summary = False
                elif item and not item.startswith(":"):
                    names.add(f"{module}.{item}")
    return names


def load(name):
    """Return the object a dotted name gives as an attribute, else as a module.

    ``hyperinsync.insync.level1`` is the function even though a module
    ``hyperinsync/insync/level1.py`` exists; ``None`` when there is none.
    """
    parent, _, attr = name.rpartition(".")
    try:
        if parent:
            return getattr(pkgutil.resolve_name(parent), attr)
    except (ImportError, AttributeError, ValueError):
        pass
    try:
        return pkgutil.resolve_name(name)
    except (ImportError, AttributeError, ValueError):
        return None


def backref_names(fullname):
    """Return the names under which sphinx-gallery files the tutorials that use ``fullname``.

    A page documents ``hyperinsync.study.results.Results``, but sphinx-gallery records a
    tutorial's use of it under the shortest module that exports the same object
    (``hyperinsync.study.Results``); the page's mini-gallery asks for both (space-separated).
    """
    obj = load(fullname)
    module, _, name = fullname.rpartition(".")
    names = [fullname]
    parts = module.split(".")
    for i in range(1, len(parts)):
        prefix = ".".join(parts[:i])
        if getattr(importlib.import_module(prefix), name, None) is obj:
            names.append(f"{prefix}.{name}")
            break
    return " ".join(names)
