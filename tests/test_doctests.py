"""The docstrings' ``Examples`` sections run as doctests, one test per module.

Every example runs on small simulated data, NumPy backend, in a temporary folder, with
``np`` (NumPy) and ``hs`` (``import hyperinsync as hs``) already imported, as the reference
pages say. Printed numbers are seeded and rounded, so they do not depend on the platform's
float formatting; ``...`` (ELLIPSIS) stands for the parts that may vary (memory sizes, paths).
"""

import doctest
import importlib
import inspect
import pkgutil
import re

import numpy as np
import pytest

import hyperinsync

# The main entry points: each must show an example on its reference page.
ENTRY_POINTS = (
    "hyperinsync.simulate_dyad",
    "hyperinsync.simulate_study",
    "hyperinsync.read_dyad_fif",
    "hyperinsync.make_dyad_raw",
    "hyperinsync.compute_sync",
    "hyperinsync.surrogate_test",
    "hyperinsync.pseudo_dyad_test",
    "hyperinsync.level1",
    "hyperinsync.level2",
    "hyperinsync.level3",
    "hyperinsync.annotate",
    "hyperinsync.lagged_sync",
    "hyperinsync.Study",
)
OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _modules():
    names = ["hyperinsync"]
    for info in pkgutil.walk_packages(hyperinsync.__path__, "hyperinsync."):
        names.append(info.name)
    return sorted(names)


def _tests(modname):
    """The doctests of a module: its docstring, and its functions' and classes' (methods
    included). doctest's own search skips functions wrapped by MNE's ``@verbose`` (their
    globals are not the module's), so the module's objects are listed by ``__module__``.
    """
    module = importlib.import_module(modname)
    finder = doctest.DocTestFinder(exclude_empty=True)
    tests = doctest.DocTestFinder(recurse=False).find(module, modname)
    for name, obj in sorted(vars(module).items()):
        if (inspect.isfunction(obj) or inspect.isclass(obj)) and getattr(
            obj, "__module__", None
        ) == modname:
            tests += finder.find(obj, f"{modname}.{name}", module=False, globs={})
    return [t for t in tests if t.examples]


MODULES = [m for m in _modules() if _tests(m)]


def test_entry_points_have_examples():
    missing = []
    for name in ENTRY_POINTS:
        doc = inspect.getdoc(pkgutil.resolve_name(name)) or ""
        if not re.search(r"^Examples\n--------\n(.|\n)*>>> ", doc, re.M):
            missing.append(name)
    assert not missing, f"entry points without a doctest Examples section: {missing}"
    assert len(MODULES) >= 20, MODULES


@pytest.mark.parametrize("modname", MODULES)
def test_docstring_examples(modname, tmp_path, monkeypatch):
    import matplotlib
    import matplotlib.pyplot as plt
    import mne

    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HYPERINSYNC_BACKEND", "numpy")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    old_level = mne.set_log_level("WARNING", return_old_level=True)
    runner = doctest.DocTestRunner(optionflags=OPTIONS)
    failures = []
    try:
        with np.printoptions(precision=4, suppress=True, legacy="1.25"):
            for test in _tests(modname):
                test.globs.update(np=np, hs=hyperinsync)
                out = []
                result = runner.run(test, out=out.append, clear_globs=True)
                if result.failed:
                    failures.append("".join(out))
    finally:
        mne.set_log_level(old_level)
        plt.close("all")
    assert not failures, "\n".join(failures)
