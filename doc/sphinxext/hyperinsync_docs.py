"""Local Sphinx extension of the hyperinsync docs.

- Includes the Markdown reports kept in the repository (``CHANGELOG.md``,
  ``benchmarks/RESULTS.md``, ``benchmarks/VALIDITY.md``) when they exist, and says how to
  produce them when they do not, through small generated ``doc/_generated/*.inc`` files.
- Lets sphinx-gallery count the tutorials' explicit references (``:func:`...```) as uses of
  the names, for the API pages' "Tutorials using" lists.
- Keeps the build offline: every intersphinx inventory must be a shipped file, and any
  attempt to open a connection to a host other than this machine fails the build, naming
  the host (Dask's local cluster in the GPU/Dask tutorial talks to 127.0.0.1 and is allowed).
"""

import ipaddress
import pkgutil
import re
import socket
import types
from pathlib import Path

from sphinx.errors import ConfigError, ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)

# page -> (Markdown file relative to the repository root, RST to use when it is missing)
OPTIONAL_MARKDOWN = {
    "changelog": (
        "CHANGELOG.md",
        # the changes recorded in doc/changes/ until the project keeps a CHANGELOG.md
        ".. include:: /changes/0.1.inc\n",
    ),
    "benchmarks_results": (
        "benchmarks/RESULTS.md",
        "Benchmark results\n=================\n\n.. note::\n\n"
        "   No benchmark results are recorded in this checkout. Run the scripts in\n"
        "   ``benchmarks/`` (see :doc:`/benchmarks/index`) and record the figures in\n"
        "   ``benchmarks/RESULTS.md``.\n",
    ),
    "benchmarks_validity": (
        "benchmarks/VALIDITY.md",
        "Validity of the statistics\n==========================\n\n.. note::\n\n"
        "   The validity report has not been produced in this checkout. Run\n"
        "   ``python benchmarks/validity.py``: it simulates dyads with and without\n"
        "   coupling and writes ``benchmarks/VALIDITY.md`` (false-positive rates and power\n"
        "   of every test, each with its binomial confidence interval).\n",
    ),
}


def _write_if_changed(path, text):
    # unchanged files keep their time stamp, so Sphinx does not re-read every page
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def write_optional_includes(app, config):
    """Write ``_generated/<page>.inc``: an include of the Markdown file, or its stand-in."""
    doc = Path(app.confdir)
    root = doc.parent
    out = doc / "_generated"
    out.mkdir(exist_ok=True)
    for page, (rel, missing) in OPTIONAL_MARKDOWN.items():
        if (root / rel).is_file():
            text = f".. include:: /../{rel}\n   :parser: myst_parser.sphinx_\n"
        else:
            text = missing
        _write_if_changed(out / f"{page}.inc", text)


CLI_COMMANDS = ("demo", "run", "info", "report", "physio")


def write_cli_help(app, config):
    """Write ``_generated/cli_<command>.txt``: the installed command's own help text."""
    import contextlib
    import io
    import os

    from hyperinsync.cli import main

    out = Path(app.confdir) / "_generated"
    out.mkdir(exist_ok=True)
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "88"  # argparse wraps to the terminal width: fix it
    try:
        for cmd in CLI_COMMANDS:
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf), contextlib.suppress(SystemExit):
                main([cmd, "--help"])
            text = buf.getvalue()
            if not text.strip():
                raise ExtensionError(f"`hyperinsync {cmd} --help` printed nothing")
            _write_if_changed(out / f"cli_{cmd}.txt", text)
    finally:
        if old is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old


def write_example_study(app, config):
    """Write ``_generated/example_study.toml``: the study file the package itself documents."""
    from hyperinsync import example_study_toml

    out = Path(app.confdir) / "_generated"
    out.mkdir(exist_ok=True)
    _write_if_changed(out / "example_study.toml", example_study_toml())


def _rst_text(text):
    """Plain text safe in reST (no emphasis, references or substitutions by accident)."""
    for ch in ("\\", "*", "_", "`", "|"):
        text = text.replace(ch, "\\" + ch)
    return text


def _schema_default(key):
    import json

    from hyperinsync.study.schema import FROM_ANALYSIS

    if key.default in (FROM_ANALYSIS, "[statistics]"):
        return f"the {key.default} value"
    if key.default is None:
        return "(not set)"
    return "``" + json.dumps(key.default) + "``"


def write_study_schema(app, config):
    """Write ``_generated/study_schema.inc``: every section and key of the study file.

    From :mod:`hyperinsync.study.schema`, so the reference is the schema the package reads.
    """
    from hyperinsync.study.schema import SCHEMA_VERSION, SECTIONS

    lines = [
        f"Schema version {SCHEMA_VERSION}. A default in a section that ``false`` skips "
        "applies when the section is present.",
        "",
    ]
    for sec in SECTIONS.values():
        if not sec.name:
            continue
        title = f"``{sec.title}``"
        lines += [title, "~" * len(title), "", _rst_text(sec.doc)]
        if sec.function:
            lines += ["", f"Its keys reach ``{sec.function}``."]
        lines += [
            "",
            ".. list-table::",
            "   :header-rows: 1",
            "   :widths: 22 16 22 40",
            "",
            "   * - key",
            "     - type",
            "     - default",
            "     - meaning",
        ]
        for key in sec.keys:
            lines += [
                f"   * - ``{key.name}``",
                f"     - {' or '.join(key.types)}",
                f"     - {_schema_default(key)}",
                f"     - {_rst_text(key.doc)}",
            ]
        lines.append("")
    out = Path(app.confdir) / "_generated"
    out.mkdir(exist_ok=True)
    _write_if_changed(out / "study_schema.inc", "\n".join(lines) + "\n")


def check_inventories(app, config):
    """Every intersphinx inventory must be a local file (never a download)."""
    for name, (url, inv) in config.intersphinx_mapping.items():
        invs = inv if isinstance(inv, tuple | list) else (inv,)
        for one in invs:
            if one is None or "://" in str(one) or not Path(one).is_file():
                raise ConfigError(
                    f"intersphinx inventory of {name!r} ({url}) is not a shipped file: "
                    f"{one!r}. The docs build must not use the network; add the inventory "
                    "to doc/_intersphinx/ (see doc/README.md)."
                )


def _is_local(host):
    if host in ("localhost", "", None, socket.gethostname()):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# hosts the build tried to reach; any fails the build at its end (see check_offline)
_NETWORK_ATTEMPTS = []


def _guard_network():
    """Make name lookups of other hosts and TCP connections to them fail, and record them.

    They fail as a missing network would (``OSError``), so libraries behave as offline; the
    build then fails naming them. UDP ``connect`` sends nothing and stays allowed (Dask finds
    its own address that way).
    """
    if getattr(socket.getaddrinfo, "hyperinsync_guard", False):
        return  # already guarded (the extension set up twice in one process)
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect

    def getaddrinfo(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if not _is_local(name):
            _NETWORK_ATTEMPTS.append(f"name lookup of {name!r}")
            raise socket.gaierror(socket.EAI_NONAME, f"offline docs build: {name!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(self, address):
        if (
            self.family in (socket.AF_INET, socket.AF_INET6)
            and self.type == socket.SOCK_STREAM
            and not _is_local(address[0])
        ):
            _NETWORK_ATTEMPTS.append(f"connection to {address!r}")
            raise ConnectionRefusedError(f"offline docs build: {address!r}")
        return real_connect(self, address)

    getaddrinfo.hyperinsync_guard = True
    socket.getaddrinfo = getaddrinfo
    socket.socket.connect = connect


def check_offline(app, exception):
    """Fail the build if it tried to reach the network (it must work offline)."""
    if _NETWORK_ATTEMPTS:
        raise ExtensionError(
            "the docs build tried to reach the network, it must work offline (shipped "
            "intersphinx inventories, no remote images or fonts): "
            + "; ".join(sorted(set(_NETWORK_ATTEMPTS)))
        )


# -- cross-references: link an object where the API reference documents it ----------------
def _import_object(name):
    """Return the object a dotted name points to (module attributes and class members), or None."""
    try:
        return pkgutil.resolve_name(name)
    except (ImportError, AttributeError, ValueError):
        return None


def _unwrap(obj):
    # a classmethod read from its class is a new bound method each time: compare functions
    return getattr(obj, "__func__", obj)


def _documented_by_object(env):
    """id(object) -> the name under which the API reference documents it (built once)."""
    cache = getattr(env, "_hyperinsync_documented", None)
    if cache is None:
        cache = {}
        py = env.get_domain("py")
        for name, entry in py.objects.items():
            if not name.startswith("hyperinsync") or entry.aliased:
                continue
            obj = _unwrap(_import_object(name))
            if obj is not None and not isinstance(obj, str | int | float | tuple):
                # first documented name wins; API pages document each object once
                cache.setdefault(id(obj), (name, obj))
        env._hyperinsync_documented = cache
    return cache


def resolve_label_in_order(app, env, node, contnode):
    """Resolve a label or glossary term of another project in a fixed order, MNE first.

    Labels are not unique across projects (Python's tutorial and MNE's configuration
    tutorial both define ``tut-logging``), and intersphinx would pick one by inventory name.
    Unprefixed labels reach our pages only through docstrings borrowed from MNE (its
    ``verbose`` parameter), so ``intersphinx_disabled_reftypes`` turns off the implicit
    lookup and this resolves them in ``hyperinsync_label_inventories`` order.
    """
    if node.get("refdomain") != "std" or node.get("reftype") not in ("ref", "term"):
        return None
    from sphinx.ext.intersphinx import inventory_exists, resolve_reference_in_inventory

    for name in app.config.hyperinsync_label_inventories:
        if inventory_exists(env, name):
            found = resolve_reference_in_inventory(env, name, node, contnode)
            if found is not None:
                return found
    return None


def _page_object(docname):
    """Return the object an API page documents (``generated/hyperinsync.level1`` -> level1)."""
    if not docname.startswith("generated/"):
        return None
    return _import_object(docname.split("/", 1)[1])


def resolve_by_object(app, env, node, contnode):
    """Resolve a hyperinsync cross-reference that names an object by another path.

    Docstrings name objects where they are defined (``read_montage`` inside
    ``hyperinsync.montage``, ``hyperinsync.insync.level1``, ``Backend`` in the docstring of
    ``get_backend``); the API reference documents the public name (``hyperinsync.read_montage``,
    ``hyperinsync.level1``, ``hyperinsync.backend.Backend``). Both name the same Python
    object, so the link goes to its page. A name that imports nothing stays unresolved (and
    fails the nitpicky build). A private name (``_helper``, ``hyperinsync._utils.x``) that
    exists is shown as code without a link: private helpers have no page by design.
    """
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"].lstrip("~.")
    contexts = []
    modname = node.get("py:module") or ""
    clsname = node.get("py:class") or ""
    if modname and clsname:
        contexts.append(f"{modname}.{clsname}")
    if modname:
        contexts.append(modname)
    # the module (and class) that defines the object this API page documents
    page_obj = _page_object(node.get("refdoc", ""))
    if page_obj is not None:
        defining = getattr(page_obj, "__module__", None)
        owner = getattr(page_obj, "__qualname__", "").split(".")[0]
        if defining and owner and isinstance(getattr(_import_object(defining), owner, None), type):
            contexts.append(f"{defining}.{owner}")
        if defining:
            contexts.append(defining)
    candidates = [f"{ctx}.{target}" for ctx in contexts] + [target]
    if not any(c.startswith("hyperinsync") for c in candidates):
        return None
    documented = _documented_by_object(env)
    py = env.get_domain("py")

    def resolve(name):
        return py.resolve_xref(env, node["refdoc"], app.builder, "obj", name, node, contnode)

    for cand in candidates:
        if not cand.startswith("hyperinsync"):
            continue
        obj = _unwrap(_import_object(cand))
        if obj is None:
            continue
        if isinstance(obj, types.ModuleType):
            if node.get("reftype") == "mod":
                # a sub-module without a page of its own (the API documents names, not
                # every module): code, no link
                return contnode
            # ``hyperinsync.insync.level1`` names both a module and the function its
            # package exports under that name: a :func: reference means the function
            parent, _, last = cand.rpartition(".")
            obj = _unwrap(getattr(_import_object(parent), last, None))
        hit = documented.get(id(obj))
        if hit is not None and hit[1] is obj:
            return resolve(hit[0])
        if any(part.startswith("_") for part in cand.split(".")):
            return contnode  # an existing private helper: code, no link
    # an instance attribute described in its class's "Attributes" section: the class's page
    for cand in candidates:
        owner, _, attr = cand.rpartition(".")
        cls = _import_object(owner) if owner.startswith("hyperinsync") else None
        if isinstance(cls, type) and attr in _documented_attributes(cls):
            hit = documented.get(id(cls))
            if hit is not None:
                return resolve(hit[0])
    # a bare class or function name documented once in the whole API: unambiguous
    if "." not in target:
        hits = {name for name, _ in documented.values() if name.rsplit(".", 1)[-1] == target}
        if len(hits) == 1:
            return resolve(hits.pop())
    return None


def _documented_attributes(cls):
    """Names in the numpydoc ``Attributes`` section of a class's docstring."""
    import inspect

    from numpydoc.docscrape import NumpyDocString

    try:
        section = NumpyDocString(inspect.getdoc(cls) or "")["Attributes"]
    except Exception:  # noqa: BLE001 (a docstring numpydoc cannot parse has none)
        return set()
    return {name.strip() for param in section for name in param.name.split(",")}


def _public_path(cls):
    """Return the shortest public import path of a class.

    For example ``mne.io.RawArray``, not ``mne.io.array._array``.
    """
    parts = cls.__module__.split(".")
    for i in range(1, len(parts) + 1):
        path = ".".join(parts[:i])
        if any(p.startswith("_") for p in parts[:i]):
            break
        if _import_object(f"{path}.{cls.__name__}") is cls:
            return f"{path}.{cls.__name__}"
    return f"{cls.__module__}.{cls.__qualname__}"


def public_bases(app, name, obj, options, bases):
    """Show public bases only, by their public names.

    ``DyadRaw(_DyadMixin, mne.io.RawArray)`` is shown as ``Bases: mne.io.RawArray``: the
    private mixin's members are documented on the class itself, and MNE documents its
    classes under their public paths, not the modules that define them.
    """
    public = []
    for base in bases:
        if isinstance(base, type) and base.__name__.startswith("_"):
            public.extend(b for b in base.__bases__ if b is not object)
        else:
            public.append(base)
    public = [b for b in public if not (isinstance(b, type) and b.__name__.startswith("_"))]
    bases[:] = [
        f":py:class:`{_public_path(b)}`"
        if isinstance(b, type) and b.__module__ != "builtins"
        else b
        for b in public
    ] or [object]


def skip_foreign_members(app, what, name, obj, skip, options):
    """Document the members hyperinsync defines, not those a class inherits from MNE.

    The dyad classes *are* MNE objects: their hundreds of inherited methods are documented
    by MNE (the page says "Bases: mne.io.RawArray"). Members of hyperinsync's own mixins
    are kept.
    """
    if what not in ("class", "exception"):
        return None
    func = obj.fget if isinstance(obj, property) else obj
    func = getattr(func, "__func__", func)  # classmethod / staticmethod
    owner = getattr(func, "__objclass__", None)  # a method of a builtin base (dict)
    if owner is not None and owner.__module__ == "builtins":
        return True
    module = getattr(func, "__module__", None)
    if module is not None and not module.startswith("hyperinsync"):
        return True
    return None


_BACKLINK = re.compile(
    r'(<div class="viewcode-block" id="(?P<name>[^"]+)">\s*<a class="viewcode-back" '
    r'href=")(?P<page>[^"#]*)#(?P<anchor>[^"]*)(?P<end>")'
)
_IDS = re.compile(r'\bid="([^"]+)"')


def fix_viewcode_backlinks(app, exception):
    """Point the "[docs]" links of the highlighted sources at the right anchors.

    sphinx.ext.viewcode builds every back-link of a module from one module path, but the
    API documents some of a module's objects at the top level (``hyperinsync.get_backend``)
    and others under the module (``hyperinsync.backend.Backend``), so some anchors would not
    exist. Each link gets the anchor of the page's signature that ends with the object's
    name.
    """
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir)
    ids_of = {}

    def ids(page):
        if page not in ids_of:
            ids_of[page] = set(_IDS.findall(page.read_text(encoding="utf-8")))
        return ids_of[page]

    for src in (out / "_modules").rglob("*.html"):
        text = src.read_text(encoding="utf-8")

        def repl(m):
            page = (src.parent / m["page"]).resolve()
            if not page.is_file() or m["anchor"] in ids(page):
                return m.group(0)
            hits = sorted((i for i in ids(page) if i.endswith("." + m["name"])), key=len)
            anchor = hits[0] if hits else ""
            return f"{m.group(1)}{m['page']}{'#' + anchor if anchor else ''}{m['end']}"

        new = _BACKLINK.sub(repl, text)
        if new != text:
            src.write_text(new, encoding="utf-8")


def gallery_explicit_references(app, config):
    """Let sphinx-gallery see the tutorials' explicit references (``:func:`...```).

    sphinx-gallery copies Sphinx's ``default_role`` (``py:obj`` here) into its own
    configuration and then also reads single-backtick text as references, with a regex that
    pairs the closing backtick of a ``literal`` with the opening one of the next reference:
    every ``:func:`` after a literal in a tutorial's text was lost, and the API pages of the
    names it references listed no tutorial. The tutorials mark references with explicit
    roles, so sphinx-gallery needs no default role (Sphinx's own stays ``py:obj``).
    """
    if isinstance(config.sphinx_gallery_conf, dict):
        config.sphinx_gallery_conf["default_role"] = ""


def setup(app):
    """Connect the extension's handlers to Sphinx's events."""
    # after sphinx-gallery fills its configuration (config-inited, priority 10)
    app.connect("config-inited", gallery_explicit_references, priority=20)
    app.connect("config-inited", check_inventories)
    app.connect("config-inited", write_optional_includes)
    app.connect("config-inited", write_cli_help)
    app.connect("config-inited", write_example_study)
    app.connect("config-inited", write_study_schema)
    app.connect("missing-reference", resolve_by_object)
    app.add_config_value("hyperinsync_label_inventories", ("mne",), "env")
    app.connect("missing-reference", resolve_label_in_order)
    app.connect("autodoc-process-bases", public_bases)
    app.connect("autodoc-skip-member", skip_foreign_members)
    _guard_network()
    app.connect("build-finished", check_offline)
    app.connect("build-finished", fix_viewcode_backlinks)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
