"""The documentation site: every public name has a page, and the built site works.

The checks of the built site run only where it was built (``make -C doc html``, as CI's
docs step does); they skip with the reason otherwise. The browser check needs Chromium from
the system's packages (``apt-get install chromium``) and skips, saying so, without it.
"""

import functools
import json
import os
import pkgutil
import re
import shutil
import subprocess
import threading
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

import hyperinsync
import hyperinsync.io

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
def _api_names():
    """Fully qualified names listed by the autosummary blocks of doc/api/*.rst."""
    names = set()
    for page in sorted((DOC / "api").glob("*.rst")):
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


def _public_names():
    """The names a user imports: both __all__ lists and the README's public API table."""
    names = {f"hyperinsync.{n}" for n in hyperinsync.__all__}
    names |= {f"hyperinsync.io.{n}" for n in hyperinsync.io.__all__}
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Public API", 1)[1].split("\n## ", 1)[0] if (
        "## Public API" in readme) else ""
    for row in table.splitlines():
        if not row.startswith("| `"):
            continue
        # first column: "`a`, `b`", "`hyperinsync.spectral`: `c`, `d`", or both after a ";"
        for part in row.split("|")[1].split(";"):
            m = re.match(r"\s*`(hyperinsync\.[\w.]+)`:\s*(.*)", part)
            module, rest = (m.group(1), m.group(2)) if m else (None, part)
            for name in re.findall(r"`([\w.]+)`", rest):
                if name.startswith("hyperinsync."):
                    names.add(name)
                    module = module if m else name.rsplit(".", 1)[0]
                elif module is None or (m is None and hasattr(hyperinsync, name)):
                    names.add(f"hyperinsync.{name}")
                else:  # `hyperinsync.rois.parse_rois`, `list_roi_sets`: of that module
                    names.add(f"{module}.{name}")
    return names


def _same_object(a, b):
    def load(name):
        try:
            return pkgutil.resolve_name(name)
        except (ImportError, AttributeError, ValueError):
            return None

    oa, ob = load(a), load(b)
    return oa is not None and oa is ob


@needs_source
def test_every_public_name_has_a_page():
    documented = _api_names()
    assert len(documented) > 60, sorted(documented)
    missing = sorted(
        name for name in _public_names()
        if name not in documented and not any(_same_object(name, d) for d in documented)
    )
    assert not missing, (
        f"public names without an API page: {missing}; add each to the autosummary list of "
        "its stage in doc/api/*.rst"
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
                if tag in ("img", "script", "iframe") or (tag == "link" and rel in (
                        "stylesheet", "preload", "icon", "shortcut icon")):
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
    assert not external_resources, (
        "pages load resources from the network:\n" + "\n".join(external_resources[:50]))


@needs_build
def test_gallery_figures_exist_and_are_drawn():
    from PIL import Image

    tutorials = sorted((HTML / "auto_tutorials").glob("[0-9][0-9]_*.html"))
    sources = sorted((ROOT / "tutorials").glob("[0-9][0-9]_*.py"))
    assert [p.stem for p in tutorials] == [p.stem for p in sources]
    for page in tutorials:
        images = [v for tag, key, v, _ in _parse(page).refs
                  if tag == "img" and "sphx_glr_" in v]
        assert images, f"{page.name} shows no figure"
        for src in images:
            path = (page.parent / unquote(src)).resolve()
            assert path.is_file() and path.stat().st_size > 2000, path
            with Image.open(path) as img:
                assert min(img.size) >= 100, (path, img.size)
                # something is drawn: more than a blank canvas
                lo_hi = img.convert("L").getextrema()
                assert lo_hi[1] - lo_hi[0] > 50, (path, lo_hi)


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
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium); "
                    "the browser check of the documentation site did not run")
    frames = "\n".join(
        f'<iframe data-page="{page}" src="/{page}" width="1400" height="30000" '
        'loading="eager"></iframe>' for page in BROWSER_PAGES)
    handler = type("Handler", (_Quiet,), {"harness": (HARNESS % {"frames": frames}).encode()})
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(HTML)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/__harness__.html"
        proc = subprocess.run(
            [chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
             "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions",
             "--disable-background-networking", "--disable-component-update",
             "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
             f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1400,1000",
             "--virtual-time-budget=30000", "--dump-dom", url],
            capture_output=True, text=True, timeout=180,
        )
    finally:
        server.shutdown()
        server.server_close()
    m = re.search(r'<pre id="result">(.*?)</pre>', proc.stdout, re.S)
    assert m, f"no result from Chromium (exit {proc.returncode}): {proc.stderr[-2000:]}"
    text = m.group(1).replace("&quot;", '"').replace("&lt;", "<").replace(
        "&gt;", ">").replace("&amp;", "&")
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
