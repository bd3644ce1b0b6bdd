"""The built book renders in a real browser, offline.

Checks the HTML that `make book` wrote to book/_build/html, in headless Chromium (Playwright),
page by page in the order of book/_toc.yml: MathJax typesets every formula (no raw `$`,
`$$`, `\\(` or `\\begin{` left in the prose, no MathJax error boxes), every image loads, no
widget shows as its text repr (`VBox(children=...`), and no page asks for anything but local
files. Saves screenshots of the introduction and of the chapter with the most formulas to
book/_build/screenshots/.

Without Chromium (or Playwright) the tests are skipped with a visible reason; set
NNLIB_REQUIRE_BROWSER=1 to make that a failure instead.
"""
import json
import os
import re
import shutil
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

BOOK = Path(__file__).resolve().parents[1] / "book"
HTML = BOOK / "_build" / "html"
SCREENSHOTS = BOOK / "_build" / "screenshots"
LOCAL_SCHEMES = {"file", "data", "blob", "about"}
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run",
]

# Text outside code that means MathJax did not typeset something.
RAW_MATH = re.compile(r"\$\$|\\begin\{|\\\(|\\\)|\\\[|\\\]|\$[^$\s][^$\n]*\$")
# Text reprs of ipywidgets (shown when a widget output is not rendered as a widget) and
# remnants of progress bars, such as "42%|####  | 21/50 [00:01<00:01, 12.3it/s]".
WIDGET_REPR = re.compile(
    r"\b(?:H|V|Grid)?Box\(children=|\b(?:Output|Tab|Accordion)\(\)|"
    r"\b(?:Int|Float|FloatLog)(?:Slider|Progress|RangeSlider|Text)\(|"
    r"\b(?:Button|Dropdown|Checkbox|ToggleButton|Play|Canvas)\((?:value|description|layout|options)=|"
    r"\d+%\|.*\|\s*\d+/\d+\s*\[\d+:\d+<"
)
SOURCE_MATH = re.compile(r"\$\$|\$[^$\s][^$\n]*\$|\\begin\{")
FENCED_CODE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
INLINE_CODE = re.compile(r"`[^`\n]*`")

# Reads the page once MathJax is done: prose text (code, outputs and typeset math removed),
# cell output text, formula counts, images that did not load.
PAGE_REPORT_JS = """
async () => {
  if (window.MathJax && window.MathJax.startup && window.MathJax.startup.promise) {
    await window.MathJax.startup.promise;
  }
  const images = Array.from(document.images);
  for (const img of images) { img.loading = "eager"; }
  await Promise.all(images.map(img => img.complete ? null : new Promise(done => {
    img.addEventListener("load", done); img.addEventListener("error", done);
  })));
  const prose = document.body.cloneNode(true);
  prose.querySelectorAll(
    "script, style, noscript, template, mjx-container, pre, code, .cell_input, .cell_output"
  ).forEach(el => el.remove());
  const outputs = Array.from(document.querySelectorAll(".cell_output"), el => {
    const copy = el.cloneNode(true);
    copy.querySelectorAll("script, style").forEach(s => s.remove());
    return copy.textContent;
  });
  const mathNodes = Array.from(document.querySelectorAll(".math"));
  return {
    mathjax: Boolean(window.MathJax && window.MathJax.startup),
    prose: prose.textContent,
    outputs: outputs,
    n_mjx: document.querySelectorAll("mjx-container").length,
    n_math: mathNodes.length,
    untypeset: mathNodes.filter(el => !el.querySelector("mjx-container"))
                        .map(el => el.textContent.slice(0, 80)),
    merrors: Array.from(document.querySelectorAll("mjx-merror"),
                        el => (el.getAttribute("data-mjx-error") || el.textContent).slice(0, 120)),
    // MathJax shows an undefined macro as red text; its characters are CSS classes mjx-cXX.
    undefined_macros: Array.from(
      document.querySelectorAll('mjx-container mjx-mtext[style*="color: red"]'),
      el => Array.from(el.querySelectorAll("mjx-c"), c => {
        const hex = /mjx-c([0-9A-F]+)/.exec(c.className);
        return hex ? String.fromCodePoint(parseInt(hex[1], 16)) : "?";
      }).join("")),
    broken_images: images.filter(img => !(img.complete && img.naturalWidth > 0))
                         .map(img => img.getAttribute("src")),
  };
}
"""


def toc_files():
    """Document names of book/_toc.yml in reading order (root first), without extension."""
    def walk(node):
        if isinstance(node, dict):
            for key in ("root", "file"):
                if key in node:
                    yield node[key]
            for value in node.values():
                if isinstance(value, (list, dict)):
                    yield from walk(value)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item)

    toc = yaml.safe_load((BOOK / "_toc.yml").read_text(encoding="utf-8"))
    return [str(Path(name).with_suffix("")) for name in walk(toc)]


def source_text(name):
    """The prose of a page's source (markdown cells of a notebook), code removed."""
    if (BOOK / f"{name}.ipynb").exists():
        cells = json.loads((BOOK / f"{name}.ipynb").read_text(encoding="utf-8"))["cells"]
        text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    else:
        text = (BOOK / f"{name}.md").read_text(encoding="utf-8")
    return INLINE_CODE.sub("", FENCED_CODE.sub("", text))


def page_url(name):
    return (HTML / f"{name}.html").as_uri()


PAGES = toc_files()


@pytest.fixture(scope="module")
def browser():
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    reason = None
    if not Path(chromium).exists():
        reason = "chromium not installed; set NNLIB_REQUIRE_BROWSER=1 to make this a failure"
    else:
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            reason = "playwright not installed; set NNLIB_REQUIRE_BROWSER=1 to make this a failure"
    if reason:
        if os.environ.get("NNLIB_REQUIRE_BROWSER") == "1":
            pytest.fail(reason.split(";")[0] + " and NNLIB_REQUIRE_BROWSER=1")
        pytest.skip(reason)
    if not (HTML / f"{PAGES[0]}.html").exists():
        pytest.fail(f"no built book in {HTML}: run `make book` first")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def offline_context(browser, width, height):
    """A browser context whose every network request fails: a check can see
    the request, but nothing leaves the machine."""
    context = browser.new_context(viewport={"width": width, "height": height})
    context.route(re.compile(r"^(?!file:|data:|blob:|about:)"), lambda route: route.abort())
    return context


@pytest.fixture
def open_page(browser):
    """Opens a page of the built book offline; returns (page, report, remote requests, errors)."""
    context = offline_context(browser, width=1280, height=1400)

    def load(name):
        page = context.new_page()
        remote, errors = [], []
        page.on("request", lambda r: remote.append(r.url)
                if urlparse(r.url).scheme not in LOCAL_SCHEMES else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(page_url(name), wait_until="load")
        return page, page.evaluate(PAGE_REPORT_JS), remote, errors

    yield load
    context.close()


@pytest.mark.parametrize("name", PAGES)
def test_page_renders_offline(open_page, name):
    _, report, remote, errors = open_page(name)
    problems = []
    if remote:
        problems.append(f"requests to non-file URLs: {sorted(set(remote))[:5]}")
    if errors:
        problems.append(f"JavaScript errors: {errors[:3]}")
    raw = RAW_MATH.findall(report["prose"])
    if raw:
        problems.append(f"raw math in the text (not typeset): {raw[:5]}")
    if SOURCE_MATH.search(source_text(name)) and report["n_mjx"] == 0:
        problems.append("the source has math but the page shows no <mjx-container> "
                        f"(MathJax loaded: {report['mathjax']})")
    if report["untypeset"]:
        problems.append(f"{len(report['untypeset'])} of {report['n_math']} formulas not "
                        f"typeset, e.g. {report['untypeset'][:3]}")
    if report["merrors"]:
        problems.append(f"MathJax errors (bad TeX): {report['merrors'][:3]}")
    if report["undefined_macros"]:
        problems.append(f"undefined TeX macros: {report['undefined_macros'][:5]}")
    if report["broken_images"]:
        problems.append(f"images that did not load: {report['broken_images'][:5]}")
    reprs = [m.group(0) for text in report["outputs"] + [report["prose"]]
             for m in WIDGET_REPR.finditer(text)]
    if reprs:
        problems.append(f"widget or progress-bar text shown instead of a widget: {reprs[:5]}")
    assert not problems, f"{name}.html:\n  " + "\n  ".join(problems)


def test_screenshots_of_intro_and_a_chapter_with_math(open_page):
    """Saves two screenshots for a human to look at: the intro and the most mathematical chapter."""
    chapters = PAGES[1:]
    math_counts = {n: (HTML / f"{n}.html").read_text(encoding="utf-8").count('class="math')
                   for n in chapters if (HTML / f"{n}.html").exists()}
    chapter = max(chapters, key=lambda n: math_counts.get(n, -1))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name in (PAGES[0], chapter):
        page, report, _, _ = open_page(name)
        if report["n_mjx"]:
            # Show the first formula near the top of the picture.
            page.evaluate("document.querySelector('mjx-container')"
                          ".scrollIntoView({block: 'start'}); window.scrollBy(0, -200)")
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path))
        assert path.stat().st_size > 10_000, f"screenshot {path} looks empty"


READING_JS = """async () => {
  if (window.MathJax && window.MathJax.startup && window.MathJax.startup.promise) {
    await window.MathJax.startup.promise;
  }
  const wide = e => e.scrollWidth > e.clientWidth + 1;
  const blocks = [...document.querySelectorAll(
      'div.cell div.highlight pre, div.cell_output pre, div.output pre')];
  const maths = [...document.querySelectorAll('mjx-container[display="true"]')];
  return {
    n_blocks: blocks.length,
    wide_blocks: blocks.filter(wide).map(e => e.textContent.slice(0, 70)),
    wide_maths: maths.filter(wide).map(e => e.textContent.slice(0, 70)),
    plumbing: blocks.map(e => e.textContent)
        .filter(t => /NBVAL|^\\s*glue\\(/m.test(t)).map(t => t.slice(0, 70)),
  };
}"""


@pytest.mark.parametrize("name", PAGES)
def test_page_reads_without_scrolling_or_plumbing(browser, name):
    """At 1300 px, as issue 11 measured: no code, output or formula needs a
    horizontal scroll bar, and no test plumbing (nbval comments, glue calls)
    is on the page."""
    context = offline_context(browser, width=1300, height=1000)
    try:
        page = context.new_page()
        page.goto(page_url(name), wait_until="load")
        report = page.evaluate(READING_JS)
    finally:
        context.close()
    problems = []
    if report["wide_blocks"]:
        problems.append(f"{len(report['wide_blocks'])} of {report['n_blocks']}"
                        f" code/output blocks scroll: {report['wide_blocks'][:3]}")
    if report["wide_maths"]:
        problems.append(f"{len(report['wide_maths'])} formulas scroll:"
                        f" {report['wide_maths'][:3]}")
    if report["plumbing"]:
        problems.append(f"test plumbing on the page: {report['plumbing'][:3]}")
    assert not problems, f"{name}.html:\n  " + "\n  ".join(problems)
