"""Sphinx configuration of the hyperinsync documentation (MNE's layout and theme).

Build (from the repository root; warnings are errors, cross-references nitpicky)::

    pip install ".[docs]" && make -C doc html

The build never reaches the network: intersphinx reads the inventories shipped in
``doc/_intersphinx/`` (how they were made and how to refresh them: ``doc/README.md``),
sphinx-gallery runs the tutorials from ``tutorials/`` on simulated data, and the theme
ships its own fonts and icons.
"""

import os
import re
import sys
from datetime import date
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # the tutorials draw into files, never onto a screen

import hyperinsync  # noqa: E402

DOC = Path(__file__).resolve().parent
ROOT = DOC.parent
sys.path.insert(0, str(DOC / "sphinxext"))

# -- the tutorials run small at build time (seconds each, same code paths) ---------------
os.environ.setdefault("HYPERINSYNC_TUTORIAL_SMALL", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
# one BLAS thread per process: the gallery runs next to Dask/joblib workers on few cores
os.environ.setdefault("OMP_NUM_THREADS", "1")

# -- project ------------------------------------------------------------------------------
project = "hyperinsync"
author = "hyperinsync developers"
_years = "2026" if date.today().year <= 2026 else f"2026-{date.today().year}"
copyright = f"{_years}, {author}"  # noqa: A001 (Sphinx's name)
release = hyperinsync.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    # MathJax 3.2.2 served from the site itself (the default loads it from a CDN)
    "sphinx-mathjax-offline",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "sphinx_copybutton",
    "myst_parser",  # the Markdown pages kept in the repository (benchmarks, changelog)
    # doc/sphinxext: links by object, offline guard, optional Markdown pages, CLI help
    "hyperinsync_docs",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "README.md", "**/README.txt", "Thumbs.db"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
default_role = "py:obj"  # `name` in docstrings links like :obj:`name`
pygments_style = "default"
suppress_warnings = ["myst.header"]  # the Markdown reports start below level-1 headings

# -- nitpicky: every cross-reference must resolve -----------------------------------------
nitpicky = True
# Only for genuinely unresolvable external types, each with its reason. Empty: every
# reference resolves (other projects' names through the shipped inventories, ours through
# doc/sphinxext/hyperinsync_docs.py).
nitpick_ignore = []

# -- autodoc / autosummary ----------------------------------------------------------------
autosummary_generate = True
# members of hyperinsync's own classes and mixins; MNE's inherited ones are skipped
# (doc/sphinxext/hyperinsync_docs.py: skip_foreign_members)
autodoc_default_options = {"inherited-members": None}
autodoc_typehints = "none"  # types live in the numpydoc sections


# The mini-gallery of each API page asks for every name sphinx-gallery may file its tutorials
# under (doc/sphinxext/api_pages.py); plain strings, so Sphinx can cache the configuration.
from api_pages import api_names, backref_names  # noqa: E402 (doc/sphinxext, on sys.path)

autosummary_context = {"backref_names": {n: backref_names(n) for n in sorted(api_names(DOC))}}

# -- numpydoc (MNE's settings) ------------------------------------------------------------
numpydoc_class_members_toctree = False
numpydoc_show_class_members = False  # the class template lists the members
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = True
numpydoc_xref_aliases = {
    # Python
    "file-like": ":term:`file-like <python:file object>`",
    "path-like": ":term:`path-like <python:path-like object>`",
    "iterator": ":term:`iterator <python:iterator>`",
    "callable": ":term:`callable <python:callable>`",
    # a class in Python's docs only from 3.13 on; the shipped inventory is 3.11's
    "re.Pattern": ":ref:`re.Pattern <python:re-objects>`",
    # NumPy / pandas / Matplotlib
    "array-like": ":term:`array_like <numpy:array_like>`",
    "array_like": ":term:`array_like <numpy:array_like>`",
    "ndarray": "numpy.ndarray",
    "Generator": "numpy.random.Generator",
    "RandomState": "numpy.random.RandomState",
    "dtype": "numpy.dtype",
    "DataFrame": "pandas.DataFrame",
    "Figure": "matplotlib.figure.Figure",
    "Axes": "matplotlib.axes.Axes",
    "Colormap": "matplotlib.colors.Colormap",
    "module": ":term:`module <python:module>`",
    # MNE
    "Raw": "mne.io.Raw",
    "BaseRaw": "mne.io.BaseRaw",
    "RawArray": "mne.io.RawArray",
    "Epochs": "mne.Epochs",
    "Evoked": "mne.Evoked",
    "BaseEpochs": "mne.BaseEpochs",
    "EpochsArray": "mne.EpochsArray",
    "Info": "mne.Info",
    "Annotations": "mne.Annotations",
    "DigMontage": "mne.channels.DigMontage",
    "Report": "mne.Report",
    "SpectralConnectivity": "mne_connectivity.SpectralConnectivity",
    "SpectroTemporalConnectivity": "mne_connectivity.SpectroTemporalConnectivity",
    "EpochSpectralConnectivity": "mne_connectivity.EpochSpectralConnectivity",
    "EpochSpectroTemporalConnectivity": "mne_connectivity.EpochSpectroTemporalConnectivity",
    "TemporalConnectivity": "mne_connectivity.TemporalConnectivity",
    "EpochTemporalConnectivity": "mne_connectivity.EpochTemporalConnectivity",
}
# the hyperinsync names used bare in docstrings resolve to their API page
numpydoc_xref_aliases.update(
    {name: f"hyperinsync.{name}" for name in hyperinsync.__all__ if name[0].isupper()}
)
numpydoc_xref_ignore = {
    # words of numpydoc type specifications, not types
    "of",
    "or",
    "and",
    "shape",
    "default",
    "optional",
    "instance",
    "like",
    "keyword-only",
    "same",
    "as",
    "the",
    "one",
    "per",
    "each",
    "with",
    "in",
    "to",
    "from",
    "for",
    "by",
    "a",
    "an",
    "is",
    "if",
    "them",
    "table",
    "matplotlib",
    "onset",
    "offset",
    "N",
    "n",
}
# dimension names in shape specifications (``shape (n_epochs, n_roi_a)``), wherever they occur
numpydoc_xref_ignore |= set(
    re.findall(
        r"\bn_[a-z_]+\b",
        " ".join(p.read_text(encoding="utf-8") for p in (ROOT / "hyperinsync").rglob("*.py")),
    )
)

# -- intersphinx: shipped inventories only, never the network -----------------------------
_INV = DOC / "_intersphinx"
intersphinx_mapping = {
    "python": ("https://docs.python.org/3", str(_INV / "python.inv")),
    "numpy": ("https://numpy.org/doc/stable", str(_INV / "numpy.inv")),
    "scipy": ("https://docs.scipy.org/doc/scipy", str(_INV / "scipy.inv")),
    "matplotlib": ("https://matplotlib.org/stable", str(_INV / "matplotlib.inv")),
    "pandas": ("https://pandas.pydata.org/docs", str(_INV / "pandas.inv")),
    "statsmodels": ("https://www.statsmodels.org/stable", str(_INV / "statsmodels.inv")),
    "pingouin": ("https://pingouin-stats.org/build/html", str(_INV / "pingouin.inv")),
    "distributed": ("https://distributed.dask.org/en/stable", str(_INV / "distributed.inv")),
    "h5py": ("https://docs.h5py.org/en/stable", str(_INV / "h5py.inv")),
    "filelock": ("https://py-filelock.readthedocs.io/en/latest", str(_INV / "filelock.inv")),
    "mne": ("https://mne.tools/stable", str(_INV / "mne.inv")),
    "mne_connectivity": (
        "https://mne.tools/mne-connectivity/stable",
        str(_INV / "mne_connectivity.inv"),
    ),
}
intersphinx_timeout = 1  # seconds; with local files no request is ever made
intersphinx_cache_limit = -1  # keep the inventories read once for the whole build
# Documents, labels and glossary terms of other projects resolve only when named with their
# project (:ref:`mne:tut-logging`): names collide between projects (Python's tutorial and
# MNE's both have a "tut-logging" label). Unprefixed ones, which reach us in docstrings
# borrowed from MNE, are looked up in this order by doc/sphinxext/hyperinsync_docs.py.
intersphinx_disabled_reftypes = ["std:doc", "std:label", "std:term"]
hyperinsync_label_inventories = (
    "mne",
    "mne_connectivity",
    "numpy",
    "scipy",
    "matplotlib",
    "python",
)

# -- sphinx-gallery: the tutorials, executed ----------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": [str(ROOT / "tutorials")],
    "gallery_dirs": ["auto_tutorials"],
    "filename_pattern": r"/\d\d_",  # run every numbered tutorial (all of them)
    "ignore_pattern": r"__init__\.py",
    "within_subsection_order": "FileNameSortKey",
    "doc_module": ("hyperinsync",),
    "backreferences_dir": "generated/backreferences",
    "min_reported_time": 1,
    # its summary page loads jQuery/DataTables from CDNs; each tutorial shows its own time
    "write_computation_times": False,
    "remove_config_comments": True,
    "show_memory": False,
    "plot_gallery": "True",
    "abort_on_example_error": True,  # a tutorial that fails fails the build
    "capture_repr": ("_repr_html_", "__repr__"),
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "download_all_examples": False,
    "first_notebook_cell": None,
    "copyfile_regex": "",
    "reset_modules": ("matplotlib",),
}

# -- HTML (pydata-sphinx-theme, as MNE) ---------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"hyperinsync {release}"
html_static_path = ["_static"]
html_css_files = ["style.css"]
html_show_sourcelink = False
html_copy_source = False
html_last_updated_fmt = None
html_theme_options = {
    "navbar_end": ["theme-switcher", "navbar-icon-links"],
    "navigation_with_keys": False,
    "show_toc_level": 1,
    "header_links_before_dropdown": 7,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
    "secondary_sidebar_items": ["page-toc"],
    "icon_links": [],  # no remote logos or badges
    "analytics": {},
    "pygments_light_style": "default",
    "pygments_dark_style": "github-dark",
}
html_sidebars = {"index": [], "install": [], "glossary": [], "cite": [], "references": []}
html_context = {"default_mode": "light"}

# -- sphinx-copybutton: copy code without prompts -----------------------------------------
copybutton_prompt_text = r">>> |\.\.\. |\$ "
copybutton_prompt_is_regexp = True

# -- MyST (Markdown pages) -----------------------------------------------------------------
myst_heading_anchors = 3
myst_enable_extensions = ["dollarmath"]
