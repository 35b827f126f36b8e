"""Write the intersphinx inventories of doc/_intersphinx/ without a network.

The docs build runs offline, so the ``objects.inv`` files that intersphinx needs are shipped
here. Two sources:

- **Python**: the real inventory of the Python documentation, taken from Debian's
  ``python3.11-doc`` package (``--python-inv``, see doc/README.md).
- **NumPy, SciPy, Matplotlib, pandas, MNE, mne-connectivity**: generated from the public names
  of the *installed* packages, each pointing at the page the project's own Sphinx build gives
  it (``generated/<name>.html#<name>`` for MNE, ``reference/generated/...`` for NumPy and
  SciPy, ``api/_as_gen/...`` for Matplotlib, ``reference/api/...`` for pandas). The URL rules
  are in ``PROJECTS`` below; they were checked against the projects' published pages.

Run from the repository root with the docs extra installed::

    python doc/_intersphinx/make_inventories.py --python-inv /path/to/python/objects.inv

On a machine with a network the real inventories are better still: download
``<base URL>/objects.inv`` of each project in ``doc/conf.py``'s ``intersphinx_mapping`` over
the matching file here (``curl -o doc/_intersphinx/mne.inv https://mne.tools/stable/objects.inv``).
"""

import argparse
import importlib
import inspect
import re
import shutil
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent


def numpy_uri(name, kind, owner):
    """Return the URI of a NumPy object (``$``: its name), or None for no link."""
    # numpy.random's generator API lives on hand-written pages
    special = {
        "numpy.random.Generator": "reference/random/generator.html#$",
        "numpy.random.default_rng": "reference/random/generator.html#$",
        "numpy.random.RandomState": "reference/random/legacy.html#$",
        "numpy.random.SeedSequence": "reference/random/bit_generators/generated/$.html#$",
        "numpy.random.BitGenerator": "reference/random/bit_generators/generated/$.html#$",
    }
    if name in special:
        return special[name]
    if owner in ("numpy.random.Generator",):
        return "reference/random/generated/$.html#$"
    if kind == "module":
        return {
            "numpy": "reference/index.html#module-numpy",
            "numpy.random": "reference/random/index.html#module-numpy.random",
            "numpy.fft": "reference/routines.fft.html#module-numpy.fft",
            "numpy.linalg": "reference/routines.linalg.html#module-numpy.linalg",
        }.get(name)
    if owner == "numpy.random.RandomState":
        return "reference/random/generated/$.html#$"
    return "reference/generated/$.html#$"


def scipy_uri(name, kind, owner):
    """Return the URI of a SciPy object (``$``: its name)."""
    if kind == "module":
        return f"reference/{name.split('.', 1)[1]}.html#module-$"
    # functions, classes and methods: a page each
    return "reference/generated/$.html#$"


def matplotlib_uri(name, kind, owner):
    """Return the URI of a Matplotlib object (``$``: its name), or None for no link."""
    if kind == "module":
        return None
    # Figure and Axes list every method on a page of its own; other classes on theirs
    if owner in ("matplotlib.figure.Figure", "matplotlib.figure.SubFigure", "matplotlib.axes.Axes"):
        return "api/_as_gen/$.html#$"
    if owner is not None:
        return f"api/_as_gen/{owner}.html#$"
    return "api/_as_gen/$.html#$"


def page_per_name(folder):
    """Return the URI function of a project that gives every object a page of its own.

    Every class, function and method (pandas, statsmodels, pingouin):
    ``<folder><name>.html#<name>``.
    """

    def uri(name, kind, owner):
        return None if kind == "module" else f"{folder}$.html#$"

    return uri


def mne_uri(name, kind, owner):
    """Return the URI of an MNE or mne-connectivity object (``$``: its name), or None.

    Each public name has a page, ``generated/<name>.html``; methods and attributes are on
    their class's page.
    """
    if kind == "module":
        return None
    if owner is not None:
        return f"generated/{owner}.html#$"
    return "generated/$.html#$"


def single_page_uri(page):
    """Projects whose API reference is one page (Dask distributed, filelock)."""

    def uri(name, kind, owner):
        return f"{page}#module-$" if kind == "module" else f"{page}#$"

    return uri


def h5py_uri(name, kind, owner):
    """Return the URI of an h5py object (``$``: its name), or None for no link.

    h5py documents its high-level classes one page each.
    """
    pages = {
        "File": "high/file.html",
        "Group": "high/group.html",
        "Dataset": "high/dataset.html",
        "AttributeManager": "high/attr.html",
    }
    if kind == "module":
        return None
    cls = (owner or name).split(".")[1]
    return f"{pages[cls]}#$" if cls in pages else None


# project -> inventory file, display name, import names, public modules, URL rule
PROJECTS = {
    "numpy": dict(
        title="NumPy",
        package="numpy",
        modules=["numpy", "numpy.random", "numpy.fft", "numpy.linalg"],
        uri=numpy_uri,
        # the glossary terms numpydoc type specifications use
        terms={
            "array_like": "glossary.html#term-array_like",
            "array-like": "glossary.html#term-array_like",
        },
        data={
            "numpy.nan": "reference/constants.html#$",
            "numpy.inf": "reference/constants.html#$",
            "numpy.newaxis": "reference/constants.html#$",
        },
    ),
    "scipy": dict(
        title="SciPy",
        package="scipy",
        modules=[
            "scipy.signal",
            "scipy.stats",
            "scipy.fft",
            "scipy.linalg",
            "scipy.special",
            "scipy.optimize",
            "scipy.interpolate",
            "scipy.ndimage",
            "scipy.spatial",
        ],
        uri=scipy_uri,
    ),
    "matplotlib": dict(
        title="Matplotlib",
        package="matplotlib",
        modules=[
            "matplotlib.pyplot",
            "matplotlib.figure",
            "matplotlib.axes",
            "matplotlib.colors",
            "matplotlib.cm",
            "matplotlib.colorbar",
            "matplotlib.lines",
            "matplotlib.patches",
            "matplotlib.text",
            "matplotlib.image",
            "matplotlib.ticker",
            "matplotlib.gridspec",
            "matplotlib.collections",
            "matplotlib.artist",
        ],
        uri=matplotlib_uri,
    ),
    "pandas": dict(
        title="pandas",
        package="pandas",
        modules=["pandas"],
        uri=page_per_name("reference/api/"),
    ),
    "mne": dict(
        title="MNE",
        package="mne",
        modules=[
            "mne",
            "mne.io",
            "mne.epochs",
            "mne.channels",
            "mne.filter",
            "mne.time_frequency",
            "mne.stats",
            "mne.viz",
            "mne.preprocessing",
            "mne.annotations",
            "mne.event",
            "mne.utils",
            "mne.export",
            "mne.datasets",
            "mne.report",
            "mne.simulation",
            "mne.decoding",
            "mne.baseline",
            "mne.chpi",
            "mne.minimum_norm",
            "mne.beamformer",
            "mne.io.kit",
        ],
        uri=mne_uri,
        # documented without members (their methods are documented on Raw and Epochs)
        no_members={"mne.io.BaseRaw", "mne.BaseEpochs"},
        terms={},
        # labels MNE's docstrings link to (its "verbose" parameter); Python's tutorial has a
        # label of the same name
        labels={
            "tut-logging": ("auto_tutorials/intro/50_configure_mne.html#tut-logging", "Logging")
        },
    ),
    "statsmodels": dict(
        title="statsmodels",
        package="statsmodels",
        modules=[
            "statsmodels.regression.mixed_linear_model",
            "statsmodels.stats.multitest",
            "statsmodels.stats.anova",
        ],
        uri=page_per_name("generated/"),
    ),
    "pingouin": dict(
        title="Pingouin",
        package="pingouin",
        modules=["pingouin"],
        uri=page_per_name("generated/"),
    ),
    "h5py": dict(
        title="h5py",
        package="h5py",
        modules=["h5py"],
        only={"File", "Group", "Dataset", "AttributeManager"},
        uri=h5py_uri,
    ),
    "distributed": dict(
        title="Dask.distributed",
        package="distributed",
        modules=["distributed"],
        only={"Client", "LocalCluster", "Future", "as_completed", "wait", "get_client", "progress"},
        uri=single_page_uri("api.html"),
    ),
    "filelock": dict(
        title="filelock",
        package="filelock",
        modules=["filelock"],
        uri=single_page_uri("api.html"),
    ),
    "mne_connectivity": dict(
        title="MNE-Connectivity",
        package="mne_connectivity",
        modules=["mne_connectivity", "mne_connectivity.viz"],
        uri=mne_uri,
    ),
}


def _public_names(module):
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in dir(module) if not n.startswith("_")]
    return sorted(set(names))


def _entries(key, spec):
    """Yield (name, role, uri) for the public objects of one project."""
    seen = set()
    for modname in spec["modules"]:
        try:
            mod = importlib.import_module(modname)
        except ImportError as err:  # an optional sub-package that is not installed
            print(f"  {modname}: skipped ({err})")
            continue
        uri = spec["uri"](modname, "module", None)
        if uri is not None:
            yield modname, "py:module", uri
        for attr in _public_names(mod):
            if "only" in spec and attr not in spec["only"]:
                continue
            try:
                obj = getattr(mod, attr)
            except Exception:  # noqa: BLE001 (lazily loaded names that fail to import)
                continue
            if inspect.ismodule(obj):
                continue
            name = f"{modname}.{attr}"
            root = getattr(obj, "__module__", "") or ""
            # only the project's own objects (not re-exported builtins or NumPy types)
            # (NumPy's ufuncs are instances without a module of their own)
            if not root.startswith(spec["package"]) and not (
                key == "numpy" and isinstance(obj, getattr(mod, "ufunc", ()))
            ):
                continue
            if name in seen:
                continue
            if inspect.isclass(obj):
                role = "py:exception" if issubclass(obj, BaseException) else "py:class"
            elif callable(obj):
                role = "py:function"
            else:
                continue
            seen.add(name)
            yield name, role, spec["uri"](name, "object", None)
            if role != "py:class" or name in spec.get("no_members", ()):
                continue
            for mname, member in inspect.getmembers(obj):
                if mname.startswith("_"):
                    continue
                defined = next((k for k in inspect.getmro(obj) if mname in vars(k)), None)
                if defined is None or not (defined.__module__ or "").startswith(spec["package"]):
                    continue  # object's / builtins' members are not documented here
                raw = vars(defined)[mname]
                if isinstance(raw, property):
                    mrole = "py:property"
                elif isinstance(raw, (classmethod, staticmethod)) or inspect.isroutine(raw):
                    mrole = "py:method"
                else:
                    mrole = "py:attribute"
                yield f"{name}.{mname}", mrole, spec["uri"](f"{name}.{mname}", "member", name)
    for term, uri in spec.get("terms", {}).items():
        yield term, "std:term", uri
    for data, uri in spec.get("data", {}).items():
        yield data, "py:data", uri
    for label, (uri, title) in spec.get("labels", {}).items():
        yield label, "std:label", uri, title


def write_inventory(path, project, version, entries):
    """Write a version-2 Sphinx inventory (a header, then zlib-compressed lines)."""
    lines = []
    for name, role, uri, *title in sorted(set(entries)):
        if uri is None or re.search(r"\s", name):
            continue
        if uri.endswith("#" + name):  # the inventory format's shorthand for the name
            uri = uri[: -len(name)] + "$"
        # objects: priority 1, display name as the name ("-"); labels: -1 and their title
        lines.append(f"{name} {role} -1 {uri} {title[0]}" if title else f"{name} {role} 1 {uri} -")
    header = (
        "# Sphinx inventory version 2\n"
        f"# Project: {project}\n"
        f"# Version: {version}\n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    body = zlib.compress(("\n".join(lines) + "\n").encode("utf-8"), 9)
    path.write_bytes(header.encode("utf-8") + body)
    return len(lines)


def main(argv=None):
    """Write the inventories of the projects asked for (all by default)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--python-inv",
        type=Path,
        help="the Python documentation's objects.inv (Debian: "
        "/usr/share/doc/python3.11/html/objects.inv of python3.11-doc)",
    )
    parser.add_argument("--only", nargs="*", choices=sorted(PROJECTS), default=None)
    args = parser.parse_args(argv)
    for key in args.only or sorted(PROJECTS):
        spec = PROJECTS[key]
        try:
            pkg = importlib.import_module(spec["package"])
        except ImportError:  # keep the shipped file; install the package to refresh it
            print(f"{key}.inv: not refreshed ({spec['package']} is not installed)")
            continue
        version = ".".join(pkg.__version__.split(".")[:2])
        entries = [
            (n, r, u.replace("$", n) if u else None, *t) for n, r, u, *t in _entries(key, spec)
        ]
        n = write_inventory(HERE / f"{key}.inv", spec["title"], version, entries)
        print(f"{key}.inv: {n} objects of {spec['title']} {pkg.__version__}")
    if args.python_inv is not None:
        shutil.copyfile(args.python_inv, HERE / "python.inv")
        print(f"python.inv: copied from {args.python_inv}")


if __name__ == "__main__":
    main()
