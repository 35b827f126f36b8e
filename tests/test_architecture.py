"""The package's architecture, checked by walking every module's imports with ``ast``.

Layers (CONTRIBUTING.md): a module imports only from its own stage or a stage above it,
never another stage's private names, never by string; no module is over ~600 lines.
"""

import ast
from pathlib import Path

import pytest

import hyperinsync

ROOT = Path(hyperinsync.__file__).parent

# stage of each top-level module or sub-package (smaller: nearer the data's source)
# (the top-level modules of stages 1 and 2 are ordered among themselves, so that their
# imports are checked too: roles < montage < rois < dyad)
LAYERS = {
    "_utils": 1.0,
    "_docs": 1.0,
    "backend": 1.1,
    "base": 1.2,
    "roles": 2.0,
    "montage": 2.1,
    "rois": 2.2,
    "dyad": 2.3,
    "io": 3,
    "simulation": 3,
    "preprocessing": 3.5,
    "sync": 4,
    "stats": 5,
    "insync": 6,
    "viz": 7,
    "study": 8,
    "cli": 9,
}
# the public API and its deprecated aliases may import every stage
API = {"__init__", "_deprecated"}
# the shared helper modules (layer 1): their names may be imported anywhere, underscored or not
SHARED = {"_utils", "_docs"}
MAX_LINES = 620  # "no module over ~600 lines"
STRING_LOADERS = {
    "import_module",
    "__import__",
    "spec_from_file_location",
    "module_from_spec",
    "find_spec",
    "load_module",
}


def _modules():
    out = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        if rel.parts[0] == "montages":
            continue
        parts = ["hyperinsync", *rel.with_suffix("").parts]
        is_pkg = parts[-1] == "__init__"
        if is_pkg:
            parts = parts[:-1]
        out.append((path, ".".join(parts), is_pkg))
    return out


MODULES = _modules()


def _top(modname):
    parts = modname.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _resolve(node, modname, is_pkg):
    """Absolute module named by an ImportFrom (relative levels resolved)."""
    if node.level == 0:
        return node.module or ""
    base = modname.split(".") if is_pkg else modname.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _edges(path, modname, is_pkg):
    """(line, target module, imported name or None, attribute used) for every import."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out, module_names = [], {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                out.append((node.lineno, a.name, None))
                if a.name.startswith("hyperinsync"):
                    module_names[a.asname or a.name.split(".")[0]] = a.name
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(node, modname, is_pkg)
            for a in node.names:
                full = f"{target}.{a.name}"
                if target.startswith("hyperinsync") and any(m == full for _, m, _ in MODULES):
                    # `from .. import stats`: a module, its attributes are checked below
                    out.append((node.lineno, full, None))
                    module_names[a.asname or a.name] = full
                else:
                    out.append((node.lineno, target, a.name))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in module_names
        ):
            out.append((node.lineno, module_names[node.value.id], node.attr))
    return tree, out


def _private(name):
    return name is not None and name.startswith("_") and not name.startswith("__")


def test_layers_private_names_and_no_string_loading():
    problems = []
    for path, modname, is_pkg in MODULES:
        own = _top(modname)
        tree, edges = _edges(path, modname, is_pkg)
        for line, target, name in edges:
            if not target.startswith("hyperinsync"):
                # importlib.metadata reads installed distributions' versions: no loading
                if (target == "importlib" and name != "metadata") or name in STRING_LOADERS:
                    problems.append(f"{modname}:{line}: loads a module by string ({target})")
                continue
            if target == "hyperinsync":
                if own not in API and name not in (None, "__version__"):
                    problems.append(f"{modname}:{line}: imports {name} from the package API")
                continue
            other = _top(target)
            if own in API or other == own:
                continue
            if LAYERS[other] >= LAYERS[own]:
                problems.append(
                    f"{modname}:{line}: imports {target} (stage {LAYERS[other]}) "
                    f"from stage {LAYERS[own]}: layers import upward only"
                )
            if _private(name) and other not in SHARED:
                problems.append(f"{modname}:{line}: imports the private name {name} of {target}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id in STRING_LOADERS:
                problems.append(f"{modname}:{node.lineno}: {node.id} (string loading)")
            if isinstance(node, ast.Attribute) and node.attr in STRING_LOADERS:
                problems.append(f"{modname}:{node.lineno}: .{node.attr} (string loading)")
    assert not problems, "\n".join(problems)


def test_every_module_has_a_stage_and_none_is_too_long():
    for path, modname, _ in MODULES:
        assert _top(modname) in LAYERS or _top(modname) in API, modname
        n = len(path.read_text(encoding="utf-8").splitlines())
        assert n <= MAX_LINES, f"{modname} has {n} lines: split it by concept"


@pytest.mark.parametrize(
    "bad, what",
    [
        ("from ..stats.result import _resolve", "private name"),
        ("from ..insync import level1", "upward"),
        ("from ..study.runner import _process", "upward"),
        ("import importlib", "string"),
        ("from importlib import import_module", "string"),
    ],
)
def test_the_checker_catches_violations(tmp_path, monkeypatch, bad, what):
    """The rules above are not vacuous: a planted violation in a sync module is caught."""
    src = ROOT / "sync" / "bands.py"
    planted = tmp_path / "bands.py"
    planted.write_text(src.read_text(encoding="utf-8") + f"\n{bad}\n", encoding="utf-8")
    monkeypatch.setattr(
        __import__(__name__),
        "MODULES",
        [(planted if m == "hyperinsync.sync.bands" else p, m, k) for p, m, k in MODULES],
    )
    with pytest.raises(AssertionError, match=what):
        test_layers_private_names_and_no_string_loading()


def test_every_sub_package_is_shipped():
    """pyproject.toml lists the packages by hand: a new sub-package missing there would work
    in an editable install and be absent from the wheel users get.
    """
    import tomllib

    pyproject = ROOT.parent / "pyproject.toml"
    if not pyproject.is_file():
        pytest.skip("installed package: no pyproject.toml beside it")
    listed = set(tomllib.loads(pyproject.read_text())["tool"]["setuptools"]["packages"])
    found = {
        "hyperinsync." + ".".join(p.parent.relative_to(ROOT).parts)
        for p in ROOT.rglob("__init__.py")
        if p.parent != ROOT
    } | {"hyperinsync"}
    assert found - listed == set(), "add to [tool.setuptools] packages in pyproject.toml"
