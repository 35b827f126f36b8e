"""The documentation site: every public name has a page, and the built site works.

The checks of the built site run only where it was built (``make -C doc html``, as CI's
docs step does); they skip with the reason otherwise. The browser check needs Chromium from
the system's packages (``apt-get install chromium``) and skips, saying so, without it.
"""

import ast
import functools
import importlib
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "doc"
HTML = Path(os.environ.get("HYPERINSYNC_DOCS_HTML", DOC / "_build" / "html"))

pytestmark = pytest.mark.docs

needs_source = pytest.mark.skipif(
    not (DOC / "api").is_dir(), reason="doc/ sources not present (installed package only)"
)
needs_build = pytest.mark.skipif(
    not (HTML / "index.html").is_file(),
    reason=f"documentation not built ({HTML}); build it with `make -C doc html`",
)


# -- sources: every public name is on an API page ---------------------------------------
if (DOC / "sphinxext").is_dir():
    sys.path.insert(0, str(DOC / "sphinxext"))


def _api_names():
    """Fully qualified names listed by the autosummary blocks of doc/api/*.rst."""
    from api_pages import api_names

    return api_names(DOC)


# Sub-packages whose __all__ is public API (each pipeline stage's boundary; CONTRIBUTING).
PUBLIC_PACKAGES = (
    "hyperinsync",
    "hyperinsync.io",
    "hyperinsync.insync",
    "hyperinsync.preprocessing",
    "hyperinsync.simulation",
    "hyperinsync.stats",
    "hyperinsync.study",
    "hyperinsync.sync",
    "hyperinsync.viz",
)
README_GLANCE = "## API at a glance"


def _load(name):
    from api_pages import load

    return load(name)


def _all_names():
    """The functions and classes in the ``__all__`` of the package and its sub-packages.

    Constants (``NULLS``, ``PREFIX``, ...) are data, described on their module's page; they
    have no page of their own and are not counted.
    """
    names = set()
    for package in PUBLIC_PACKAGES:
        module = importlib.import_module(package)
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isfunction(obj) or inspect.isclass(obj):
                names.add(f"{package}.{name}")
    return names


def _readme_glance(readme=None):
    """The names of README's "API at a glance" list, fully qualified.

    Each line is ``- **Stage** ([doc/api/x.rst](doc/api/x.rst)): `a`, `b`; `hyperinsync.m`:
    `c`, `d``: a backticked module sets where the bare names after it live, until the next
    ``;`` (before any module: ``hyperinsync``).
    """
    readme = readme if readme is not None else (ROOT / "README.md").read_text(encoding="utf-8")
    assert README_GLANCE in readme, f"README.md has no {README_GLANCE!r} section"
    section = readme.split(README_GLANCE, 1)[1].split("\n## ", 1)[0]
    names = []
    for line in section.split("\n- ")[1:]:
        line = line.split("):", 1)[1] if "):" in line else line
        for part in line.split(";"):
            module = "hyperinsync"
            for token in re.findall(r"`([\w.]+)`", part):
                full = token if token.startswith("hyperinsync") else f"{module}.{token}"
                if inspect.ismodule(_load(full)):
                    module = full
                else:
                    names.append(full)
    return names


def _public_names():
    """The names a user imports: the public __all__ lists and README's list."""
    return _all_names() | set(_readme_glance())


def _tutorial_objects():
    """Every hyperinsync object a tutorial uses, as sphinx-gallery sees it.

    Code: names and attribute chains resolved through the script's imports
    (``hs.io.read_dyad_files``, ``from hyperinsync.viz import plot_trend``). Text: explicit
    references in the RST blocks (``:func:`~hyperinsync.level1```), which sphinx-gallery
    also counts. Returns ``{id(object): {tutorial, ...}}``.
    """
    used = {}
    for path in sorted((ROOT / "tutorials").glob("[0-9][0-9]_*.py")):
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source)
        aliases = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    aliases[a.asname or a.name.split(".")[0]] = (
                        a.name if a.asname else a.name.split(".")[0]
                    )
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for a in node.names:
                    aliases[a.asname or a.name] = f"{node.module}.{a.name}"
        dotted = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute):
                parts = []
                while isinstance(node, ast.Attribute):
                    parts.append(node.attr)
                    node = node.value
                if isinstance(node, ast.Name):
                    parts.append(node.id)
                    dotted.add(".".join(reversed(parts)))
            elif isinstance(node, ast.Name):
                dotted.add(node.id)
        candidates = set()
        for name in dotted:
            root, _, rest = name.partition(".")
            if root in aliases:
                full = aliases[root] + ("." + rest if rest else "")
                parts = full.split(".")
                candidates |= {".".join(parts[:i]) for i in range(2, len(parts) + 1)}
        candidates |= set(re.findall(r":(?:func|meth|class|obj|attr):`~?([\w.]+)`", source))
        for name in candidates:
            if name.startswith("hyperinsync."):
                obj = _load(name)
                if obj is not None and not inspect.ismodule(obj):
                    used.setdefault(id(obj), set()).add(path.name)
    return used


def _has_examples(obj):
    doc = inspect.getdoc(obj) or ""
    return re.search(r"^Examples\n--------\n", doc, re.M) is not None


def _same_object(a, b):
    oa, ob = _load(a), _load(b)
    return oa is not None and oa is ob


def _documented(names):
    """The names of ``names`` without an autosummary entry (same object) in doc/api."""
    documented = _api_names()
    ids = {id(_load(d)) for d in documented}
    return sorted(n for n in names if n not in documented and id(_load(n)) not in ids)


@needs_source
def test_every_public_name_has_a_page():
    assert len(_api_names()) > 60, sorted(_api_names())
    public = _public_names()
    assert len(public) > 100, sorted(public)
    missing = _documented(public)
    assert not missing, (
        f"public names without an API page: {missing}; add each to the autosummary list of "
        "its stage in doc/api/*.rst"
    )


@needs_source
def test_readme_lists_importable_names_by_stage():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    names = _readme_glance(readme)
    assert len(names) > 60, names
    unknown = [n for n in names if _load(n) is None]
    assert not unknown, f"README's {README_GLANCE!r} names what does not exist: {unknown}"
    section = readme.split(README_GLANCE, 1)[1].split("\n## ", 1)[0]
    pages = re.findall(r"\]\((doc/api/\w+\.rst)\)", section)
    assert sorted(set(pages)) == sorted(
        f"doc/api/{p.name}" for p in (DOC / "api").glob("*.rst") if p.stem != "index"
    ), pages


@needs_source
def test_every_public_name_in_a_tutorial_or_readme():
    # the project brief: every public function appears in a tutorial or in README's list
    used = _tutorial_objects()
    listed = {id(_load(n)) for n in _readme_glance()}
    missing = sorted(
        n for n in _all_names() if id(_load(n)) not in used and id(_load(n)) not in listed
    )
    assert not missing, (
        f"public names in no tutorial and not in README's {README_GLANCE!r}: {missing}"
    )


@needs_source
def test_every_api_page_has_an_example_or_a_tutorial():
    # a page shows an Examples section (the docstring's, run by tests/test_doctests.py) or
    # the mini-gallery of the tutorials that use the name (sphinx-gallery backreferences)
    used = _tutorial_objects()
    bare = sorted(
        n for n in _api_names() if not _has_examples(_load(n)) and id(_load(n)) not in used
    )
    assert not bare, (
        f"{len(bare)} API pages with neither an Examples section nor a tutorial using the "
        f"name: {bare}"
    )


@needs_source
def test_api_pages_name_only_importable_objects():
    for name in sorted(_api_names()):
        assert _same_object(name, name), f"doc/api lists {name}: no such object"


# -- the built site: local links, local resources, figures ------------------------------
class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs = []  # (tag, attribute, value)
        self.ids = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name"):
            if attrs.get(key):
                self.ids.add(attrs[key])
        for key in ("href", "src"):
            if attrs.get(key) is not None:
                self.refs.append((tag, key, attrs[key], attrs.get("rel") or ""))


@functools.cache
def _parse(path):
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return parser


def _pages():
    # _static/ holds the theme's files (one is an unrendered Jinja template), not pages
    return sorted(p for p in HTML.rglob("*.html") if p.relative_to(HTML).parts[0] != "_static")


@needs_build
def test_every_local_link_resolves():
    broken = []
    external_resources = []
    for page in _pages():
        for tag, key, value, rel in _parse(page).refs:
            url = urlsplit(value)
            if url.scheme in ("http", "https"):
                # a link out is fine; a resource loaded from elsewhere breaks offline use
                if tag in ("img", "script", "iframe") or (
                    tag == "link" and rel in ("stylesheet", "preload", "icon", "shortcut icon")
                ):
                    external_resources.append(f"{page.relative_to(HTML)}: {value}")
                continue
            if url.scheme or value.startswith("//"):
                continue  # mailto:, javascript:, data: ...
            target = page if not url.path else (page.parent / unquote(url.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                broken.append(f"{page.relative_to(HTML)}: {value}")
            elif url.fragment and target.suffix == ".html":
                if unquote(url.fragment) not in _parse(target).ids:
                    broken.append(f"{page.relative_to(HTML)}: {value} (no such anchor)")
    assert not broken, f"{len(broken)} broken local links:\n" + "\n".join(broken[:50])
    assert not external_resources, "pages load resources from the network:\n" + "\n".join(
        external_resources[:50]
    )


@needs_build
def test_gallery_figures_exist_and_are_drawn():
    from PIL import Image

    tutorials = sorted((HTML / "auto_tutorials").glob("[0-9][0-9]_*.html"))
    sources = sorted((ROOT / "tutorials").glob("[0-9][0-9]_*.py"))
    assert [p.stem for p in tutorials] == [p.stem for p in sources]
    for page in tutorials:
        images = [v for tag, key, v, _ in _parse(page).refs if tag == "img" and "sphx_glr_" in v]
        assert images, f"{page.name} shows no figure"
        for src in images:
            path = (page.parent / unquote(src)).resolve()
            assert path.is_file() and path.stat().st_size > 2000, path
            with Image.open(path) as img:
                assert min(img.size) >= 100, (path, img.size)
                # something is drawn: more than a blank canvas
                lo_hi = img.convert("L").getextrema()
                assert lo_hi[1] - lo_hi[0] > 50, (path, lo_hi)


@needs_build
def test_every_api_page_shows_an_example_or_its_tutorials():
    # what a reader sees: numpydoc's Examples rubric, or the mini-gallery of the tutorials
    # that use the name (sphinx-gallery backreferences, doc/_templates/autosummary)
    bare = []
    for name in sorted(_api_names()):
        page = HTML / "generated" / f"{name}.html"
        assert page.is_file(), f"no API page {page.name}"
        text = page.read_text(encoding="utf-8")
        examples = re.search(r'class="rubric"[^>]*>Examples<', text)
        tutorials = "Tutorials using" in text and "sphx-glr-thumbcontainer" in text
        if not (examples or tutorials):
            bare.append(name)
    assert not bare, f"API pages with neither an example nor a tutorial: {bare}"


# -- the built site in a real browser -------------------------------------------------------
def _chromium():
    for name in (os.environ.get("HYPERINSYNC_CHROMIUM"), "chromium", "chromium-browser"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


# The pages the browser opens, and what each must show.
BROWSER_PAGES = {
    "index.html": "A first example",
    "auto_tutorials/index.html": "Tutorials",
    "generated/hyperinsync.compute_sync.html": "compute_sync",
    "auto_tutorials/01_quickstart.html": "Quickstart",
    "generated/hyperinsync.sync.measures.plv.html": "Phase-locking value",
}

# Loads each page in a frame of the same origin, waits for it and its images, and writes
# what it found as JSON into #result, which --dump-dom prints.
HARNESS = """<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>
<pre id="result">pending</pre>
%(frames)s
<script>
window.addEventListener("load", function () {
  var out = {};
  document.querySelectorAll("iframe").forEach(function (f) {
    var d = f.contentDocument, imgs = Array.from(d.images);
    out[f.dataset.page] = {
      title: d.title,
      text: d.body ? d.body.innerText.slice(0, 20000) : "",
      css: Array.from(d.styleSheets).length,
      n_img: imgs.length,
      broken: imgs.filter(function (i) { return !(i.complete && i.naturalWidth > 0); })
                  .map(function (i) { return i.getAttribute("src"); }),
      figures: imgs.filter(function (i) { return /sphx_glr_/.test(i.src) && i.naturalWidth > 0; })
                   .length,
      navbar: !!d.querySelector(".bd-header"),
      math: d.querySelectorAll("mjx-container").length,
      // every resource the page requested (scripts, styles, fonts, images, MathJax's parts)
      remote: f.contentWindow.performance.getEntriesByType("resource")
                .map(function (r) { return r.name; })
                .filter(function (u) { return u.indexOf(location.origin) !== 0; }),
    };
  });
  document.getElementById("result").textContent = JSON.stringify(out);
});
</script></body></html>"""


class _Quiet(SimpleHTTPRequestHandler):
    harness = b""

    def do_GET(self):  # noqa: N802 (http.server's name)
        if self.path.startswith("/__harness__.html"):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(self.harness)))
            self.end_headers()
            self.wfile.write(self.harness)
            return
        super().do_GET()

    def log_message(self, *args):
        pass


@needs_build
def test_pages_render_in_a_headless_browser(tmp_path):
    chromium = _chromium()
    if chromium is None:
        pytest.skip(
            "Chromium is not installed (Debian: apt-get install chromium); "
            "the browser check of the documentation site did not run"
        )
    frames = "\n".join(
        f'<iframe data-page="{page}" src="/{page}" width="1400" height="30000" '
        'loading="eager"></iframe>'
        for page in BROWSER_PAGES
    )
    handler = type("Handler", (_Quiet,), {"harness": (HARNESS % {"frames": frames}).encode()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(HTML)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/__harness__.html"
        proc = subprocess.run(
            [
                chromium,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--disable-extensions",
                "--disable-background-networking",
                "--disable-component-update",
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
                f"--user-data-dir={tmp_path / 'profile'}",
                "--window-size=1400,1000",
                "--virtual-time-budget=30000",
                "--dump-dom",
                url,
            ],
            capture_output=True,
            text=True,
            timeout=180,
        )
    finally:
        server.shutdown()
        server.server_close()
    m = re.search(r'<pre id="result">(.*?)</pre>', proc.stdout, re.S)
    assert m, f"no result from Chromium (exit {proc.returncode}): {proc.stderr[-2000:]}"
    text = (
        m.group(1)
        .replace("&quot;", '"')
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
    )
    assert text != "pending", "the pages did not finish loading in Chromium"
    found = json.loads(text)
    for page, expected in BROWSER_PAGES.items():
        got = found[page]
        assert got["navbar"] and got["css"] > 0, f"{page}: theme not loaded ({got['css']} css)"
        assert expected in got["text"], f"{page}: {expected!r} not shown"
        assert "404" not in got["title"], f"{page}: {got['title']}"
        assert not got["broken"], f"{page}: images that did not load: {got['broken']}"
        assert not got["remote"], f"{page}: requested from the network: {got['remote']}"
    # the gallery shows a thumbnail per tutorial, the tutorial page its figures
    n_tutorials = len(list((ROOT / "tutorials").glob("[0-9][0-9]_*.py")))
    assert found["auto_tutorials/index.html"]["figures"] >= n_tutorials
    assert found["auto_tutorials/01_quickstart.html"]["figures"] >= 1
    # the API page: parameters, returns, the tutorials using it
    api = found["generated/hyperinsync.compute_sync.html"]["text"]
    for part in ("Parameters", "Returns", "Tutorials using"):
        assert part in api, f"compute_sync's page lacks {part!r}"
    # formulas typeset by the MathJax the site ships
    assert found["generated/hyperinsync.sync.measures.plv.html"]["math"] >= 1
