"""The chapter "Explore the network" in a real browser: JupyterLab, headless Chromium, a mouse.

Starts JupyterLab on a free local port (with a token, settings and workspaces in a temporary
folder, autosave off, serving a copy of book/09_explore.ipynb so the stored notebook is never
touched), opens the notebook in Chromium through Playwright, runs every cell, then does what
a reader does: moves the units slider, presses Train and waits for the run table to gain a
row, draws a stroke on the digit pad, presses Predict and waits for the probabilities to
change. The copy ends with one more cell, a digit pad with a convolutional network (random
parameters of nnlib.cnn.LENET, untrained), on which a drawn stroke and Predict must also show
ten probabilities. Screenshots go to book/_build/screenshots/ (git-ignored).

With NNLIB_WIDGET_PICTURES=1 (``make widget-pictures``) the test also refreshes the pictures
that the chapter's page shows in place of the live widgets, once every check has passed:
book/_static/explorer.png (the explorer after the chapter's runs) and
book/_static/digit_pad.png (the pad after a drawn 7 and Predict), each at most 1200 px wide
and a 256-colour PNG under 300 kB, and book/_static/widget_pictures.json, which records what
they show and the digests of nnlib/widgets/*.py; tests/test_widgets.py fails when the widgets
change without new pictures.

Without Chromium, Playwright or JupyterLab the test is skipped with a visible reason; set
NNLIB_REQUIRE_BROWSER=1 to make that a failure instead. The kernel loads MNIST as readers'
do (nnlib.load_mnist: NNLIB_DATA_DIR when set, else the cache).
"""
import datetime
import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "book" / "09_explore.ipynb"
SCREENSHOTS = REPO / "book" / "_build" / "screenshots"
PICTURES = REPO / "book" / "_static"  # the pictures the page shows in place of the widgets
PICTURE_RECORD = PICTURES / "widget_pictures.json"
MAX_PICTURE_WIDTH, MAX_PICTURE_BYTES = 1200, 300_000
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# The cell the test adds at the end of its copy of the chapter: a digit pad with a CNN.
CNN_PAD_CELL = """from nnlib import cnn

cnn_pad = DigitPad(cnn.init_params(cnn.LENET, seed=0), layers=cnn.LENET)
cnn_pad.widget.add_class("nnlib-test-cnn-pad")  # the test's handle on it
cnn_pad"""
# Settings for a quiet, predictable JupyterLab: no autosave (nothing is written back), every
# cell kept in the page (no virtual scrolling), no news or update checks over the network.
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false", "checkForUpdates": False},
}


def unavailable(reason):
    """Skip with the reason, or fail when NNLIB_REQUIRE_BROWSER=1 asks for the browser test."""
    if os.environ.get("NNLIB_REQUIRE_BROWSER") == "1":
        pytest.fail(f"NNLIB_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


def chromium_path():
    path = shutil.which("chromium") or "/usr/bin/chromium"
    return path if os.path.exists(path) else None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_server(url, process, log, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"JupyterLab did not answer within {timeout} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A running JupyterLab serving a copy of the chapter: yields (base URL, token)."""
    if chromium_path() is None:
        unavailable("no chromium on the PATH or at /usr/bin/chromium (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
        import jupyterlab  # noqa: F401
    except ImportError as error:
        unavailable(f"{error.name} is not installed (pip install -r requirements.txt)")

    home = tmp_path_factory.mktemp("lab")
    root = home / "book"
    root.mkdir()
    notebook = json.loads(NOTEBOOK.read_text())
    notebook["cells"].append({"cell_type": "code", "execution_count": None, "metadata": {},
                              "outputs": [], "source": CNN_PAD_CELL})
    (root / NOTEBOOK.name).write_text(json.dumps(notebook))
    settings = home / "settings"
    for name, values in LAB_SETTINGS.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    env = dict(os.environ,
               JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_DATA_DIR=str(home / "data"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"), JUPYTERLAB_SETTINGS_DIR=str(settings),
               JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    port, token = free_port(), secrets.token_hex(16)
    log = home / "jupyterlab.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
             f"--ServerApp.token={token}", "--allow-root", f"--ServerApp.root_dir={root}",
             "--LabApp.expose_app_in_browser=True"],
            stdout=out, stderr=subprocess.STDOUT, env=env, cwd=root)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for_server(f"{base}/api/status?token={token}", process, log)
        yield base, token
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def run_all_cells(page):
    """Run every cell through JupyterLab's own command, then wait until the kernel is done."""
    page.wait_for_function("window.jupyterapp && document.querySelector('.jp-Notebook .jp-Cell')",
                           timeout=60_000)
    page.wait_for_function(
        "() => { const w = window.jupyterapp.shell.currentWidget;"
        " return w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel"
        " && w.sessionContext.session.kernel.status === 'idle'; }", timeout=60_000)
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    # Done when no prompt shows [*] and every code cell has a number.
    page.wait_for_function(
        "() => { const prompts = Array.from(document.querySelectorAll('.jp-CodeCell .jp-InputPrompt'));"
        " return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent)); }",
        timeout=600_000)


def save_picture(screenshot, name, shows):
    """An optimised copy of a screenshot in book/_static: at most 1200 px wide, 256 colours.

    Returns its entry of widget_pictures.json.
    """
    from PIL import Image

    path = PICTURES / name
    with Image.open(screenshot) as image:
        image = image.convert("RGB")
        if image.width > MAX_PICTURE_WIDTH:
            height = round(image.height * MAX_PICTURE_WIDTH / image.width)
            image = image.resize((MAX_PICTURE_WIDTH, height), Image.Resampling.LANCZOS)
        # No dithering: the widgets are flat colours and text, which dithering would speckle.
        image.quantize(colors=256, dither=Image.Dither.NONE).save(path, optimize=True)
        size = image.size
    data = path.read_bytes()
    assert len(data) < MAX_PICTURE_BYTES, f"{path} is {len(data):,} bytes"
    return {"shows": shows, "width": size[0], "height": size[1], "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest()}


def save_widget_pictures(browser):
    """Refresh book/_static/explorer.png, digit_pad.png and widget_pictures.json."""
    from importlib.metadata import version

    from nnlib.widgets import source_digests

    pictures = {
        "explorer.png": save_picture(
            SCREENSHOTS / "explore_1_explorer_after_run_all.png", "explorer.png",
            "The explorer in JupyterLab after Run All of book/09_explore.ipynb: the sliders, "
            "curves and message of the chapter's last run, and its runs in the table"),
        "digit_pad.png": save_picture(
            SCREENSHOTS / "explore_4_digit_pad_after_predict.png", "digit_pad.png",
            "The digit pad in JupyterLab with the chapter's default network, after a 7 was "
            "drawn with the mouse and Predict pressed"),
    }
    record = {
        "about": "Pictures of the widgets of book/09_explore.ipynb, shown on its page in place "
                 "of the live widgets. Taken by tests/test_browser.py with "
                 "NNLIB_WIDGET_PICTURES=1; tests/test_widgets.py fails when nnlib/widgets "
                 "changed since.",
        "make_target": "widget-pictures",
        "taken": datetime.date.today().isoformat(),
        "pictures": pictures,
        "widget_sources": source_digests(),
        "versions": {"chromium": browser.version,
                     **{name: version(name) for name in ("jupyterlab", "ipywidgets", "ipycanvas")}},
    }
    PICTURE_RECORD.write_text(json.dumps(record, indent=2) + "\n")


def table_rows(page):
    return page.locator(".nnlib-explorer table.nnlib-runs tbody tr").count()


CHAPTER_PAD = ".nnlib-digit-pad:not(.nnlib-test-cnn-pad)"
CNN_PAD = ".nnlib-digit-pad.nnlib-test-cnn-pad"


def draw_and_predict(page, selector, screenshot):
    """Draw a 7 with the mouse on the digit pad ``selector``, press Predict, wait until its
    answer changes, save a screenshot of the pad; returns the answer's text."""
    pad = page.locator(selector)
    pad.scroll_into_view_if_needed()
    answer = pad.locator(".widget-html")  # "Draw a digit ...", or the last answer
    answer.wait_for()
    shown = answer.text_content()
    box = pad.locator("canvas").last.bounding_box()
    x, y = box["x"], box["y"]
    stroke = [(80, 60), (200, 60), (170, 130), (140, 200), (120, 240)]  # a 7
    page.mouse.move(x + stroke[0][0], y + stroke[0][1])
    page.mouse.down()
    for px, py in stroke[1:]:
        page.mouse.move(x + px, y + py, steps=6)
    page.mouse.up()
    page.wait_for_timeout(500)  # let the kernel receive the mouse events
    pad.locator("button", has_text="Predict").click()
    page.wait_for_function(
        "([selector, shown]) => { const a = document.querySelector(selector + ' .widget-html');"
        " return a && a.textContent !== shown && a.textContent.includes('The network says'); }",
        arg=[selector, shown], timeout=30_000)
    page.wait_for_timeout(500)  # the picture of the answer follows the text
    pad.screenshot(path=str(SCREENSHOTS / screenshot))
    assert answer.text_content() != shown
    return answer.text_content()


def test_sliders_train_and_digit_pad_in_jupyterlab(lab):
    from playwright.sync_api import sync_playwright

    base, token = lab
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            errors = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(f"{base}/lab/tree/{NOTEBOOK.name}?token={token}")
            run_all_cells(page)
            stderr = ".jp-OutputArea-output .jp-RenderedText[data-mime-type='application/vnd.jupyter.stderr']"
            assert page.locator(stderr).count() == 0  # no cell wrote warnings or tracebacks

            # The explorer rendered, with the four runs of the notebook's cells in its table.
            explorer = page.locator(".nnlib-explorer")
            explorer.wait_for(timeout=30_000)
            page.wait_for_function("document.querySelectorAll('.nnlib-explorer table.nnlib-runs tbody tr').length >= 4")
            rows = table_rows(page)
            explorer.scroll_into_view_if_needed()
            explorer.screenshot(path=str(SCREENSHOTS / "explore_1_explorer_after_run_all.png"))

            # Move the units slider of layer 1 with the mouse.
            slider = explorer.locator(".widget-slider", has_text="units, layer 1")
            readout = slider.locator(".widget-readout")
            before = readout.text_content().strip()
            handle = slider.locator(".noUi-handle")
            handle.scroll_into_view_if_needed()
            box = handle.bounding_box()
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            page.mouse.down()
            page.mouse.move(box["x"] + box["width"] / 2 + 60, box["y"] + box["height"] / 2, steps=8)
            page.mouse.up()
            page.wait_for_timeout(300)
            after = readout.text_content().strip()
            assert after != before and int(after) > int(before)

            # Press Train: the status and the curves update while the run goes on (a background
            # thread), then the run table gains a row whose layer_dims has the new number of units.
            explorer.locator("button", has_text="Train").click()
            page.wait_for_function(  # the status and the curves are redrawn together
                "() => { const m = /iteration (\\d+) of 200/.exec("
                "document.querySelector('.nnlib-explorer .nnlib-status').textContent);"
                " return m && Number(m[1]) >= 50; }", timeout=180_000)
            page.wait_for_timeout(300)  # the picture follows the status
            explorer.screenshot(path=str(SCREENSHOTS / "explore_2_explorer_while_training.png"))
            page.wait_for_function(
                f"document.querySelectorAll('.nnlib-explorer table.nnlib-runs tbody tr').length > {rows}",
                timeout=180_000)
            new_row = explorer.locator("table.nnlib-runs tbody tr").last.text_content()
            assert re.search(rf"784, {after}, ", new_row), new_row
            explorer.locator(".nnlib-message").wait_for()
            explorer.screenshot(path=str(SCREENSHOTS / "explore_3_explorer_after_train.png"))

            # Draw a 7 on the chapter's digit pad, press Predict: the probabilities change.
            answer = draw_and_predict(page, CHAPTER_PAD, "explore_4_digit_pad_after_predict.png")
            assert "The network says 7" in answer  # the stroke is a 7
            # The same on the pad with an untrained CNN: its answer is anything, but it answers.
            answer = draw_and_predict(page, CNN_PAD, "explore_5_cnn_digit_pad_after_predict.png")
            assert re.search(r"The network says \d", answer), answer
            assert len(re.findall(r"\d+\.\d%", answer)) == 1 + 10  # its answer's, then ten
            assert not errors, errors
            if os.environ.get("NNLIB_WIDGET_PICTURES") == "1":
                save_widget_pictures(browser)
        finally:
            browser.close()
