"""The rendered results read in a real browser: the smoke index page and an exported notebook, loaded from disk
in headless Chromium (Debian's chromium and chromium-driver, installed with apt-get where we are root and they
are missing; skipped with the reason otherwise). Every image must load, every relative link must resolve, and
no markdown may be left unrendered. A screenshot of each page goes to the test's temp folder."""
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from utils import report
from utils.pipeline.notebooks import execute_notebook
from utils.pipeline.site import write_index
from utils.settings import RunSettings

pytestmark = pytest.mark.slow
PACKAGES = ("chromium", "chromium-driver")


def ensure_chromium() -> tuple[str, str]:
    """Paths of chromium and chromedriver, installing Debian's packages if we may; otherwise skip."""
    def found():
        return shutil.which("chromium"), shutil.which("chromedriver")
    if all(found()):
        return found()
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("chromium and chromium-driver are missing and apt-get cannot install them (not root)")
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", *PACKAGES]
    run = subprocess.run(install, env=env, capture_output=True, text=True, timeout=900)
    if run.returncode != 0:  # a fresh machine may have no package lists yet
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, timeout=900)
        run = subprocess.run(install, env=env, capture_output=True, text=True, timeout=900)
    if not all(found()):
        pytest.skip(f"apt-get could not install {' '.join(PACKAGES)}: {run.stderr.strip()[-300:]}")
    return found()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    webdriver = pytest.importorskip("selenium.webdriver")
    chromium, chromedriver = ensure_chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    # A closed network: without the background-networking flags Chromium keeps dialling out and failing.
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1280,2000", f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=chromedriver), options=options)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def site(smoke_outputs):
    """The smoke result set with one executed, exported notebook, its report and the index page."""
    out_dir = smoke_outputs / "smoke" / "notebooks"
    run = RunSettings("smoke", outputs_dir=str(smoke_outputs))
    execute_notebook("fig3_head_direction", run, out_dir)
    report.write_report(run)
    return write_index("smoke", str(smoke_outputs)), out_dir / "fig3_head_direction.html"


def check_page(driver, page: Path, shot: Path, markdown_selector: str):
    driver.get(page.resolve().as_uri())
    images = driver.find_elements("tag name", "img")
    assert images, f"{page.name}: no image"
    broken = [img.get_attribute("src")[:80] for img in images
              if not driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", img)]
    assert not broken, f"{page.name}: images that do not load: {broken}"
    ids = {e.get_attribute("id") for e in driver.find_elements("css selector", "[id]")}
    dead = []
    for link in driver.find_elements("tag name", "a"):
        url = urlparse(link.get_attribute("href") or "")
        if url.scheme == "file":
            target = Path(unquote(url.path))
            if not target.exists() or (url.fragment and target == page.resolve() and url.fragment not in ids):
                dead.append(link.get_attribute("href"))
    assert not dead, f"{page.name}: links that resolve to nothing: {dead}"
    rendered = " ".join(e.text for e in driver.find_elements("css selector", markdown_selector))
    assert rendered.strip(), f"{page.name}: no rendered markdown"
    assert "**" not in rendered and "](" not in rendered, f"{page.name}: raw markdown left in the page"
    driver.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000


def test_index_page_in_chromium(browser, site, tmp_path):
    index, _ = site
    check_page(browser, index, tmp_path / "index.png", "figcaption")
    assert not browser.find_elements("css selector", "figcaption pre"), "captions must be rendered, not <pre>"
    verdicts = {e.text for e in browser.find_elements("css selector", "td.verdict")}
    assert verdicts and verdicts <= {"passed", "failed", "not run in this set", "reported", "not applicable"}
    colour = browser.execute_script(
        "return getComputedStyle(document.querySelector('tr.passed, tr.failed')).backgroundColor")
    assert colour not in ("rgba(0, 0, 0, 0)", "transparent"), "verdict rows are coloured"
    assert any("fig3_head_direction.html" in (a.get_attribute("href") or "")
               for a in browser.find_elements("tag name", "a"))


def test_exported_notebook_in_chromium(browser, site, tmp_path):
    _, notebook_html = site
    check_page(browser, notebook_html, tmp_path / "notebook.png", ".jp-MarkdownCell")
    text = browser.find_element("tag name", "body").text
    assert "fig3-hd:" in text   # the closing cell's claim rows were executed and exported


# --- every committed page -------------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = sorted([*ROOT.glob("outputs/*/index.html"), *ROOT.glob("outputs/*/report.html"),
                    *ROOT.glob("outputs/*/notebooks/*.html")])


def anchors_of(page: Path) -> set[str]:
    """The ids a page declares (read from its file: a link into another page is checked without loading it)."""
    import html
    import re
    return {html.unescape(a or b) for a, b in re.findall(r"""\sid=(?:"([^"]*)"|'([^']*)')""", page.read_text())}


@pytest.mark.parametrize("page", COMMITTED, ids=lambda p: str(p.relative_to(ROOT / "outputs")))
def test_every_committed_page_loads_its_images_and_resolves_its_links(browser, page, tmp_path):
    browser.get(page.resolve().as_uri())
    broken = [img.get_attribute("src")[:80] for img in browser.find_elements("tag name", "img")
              if not browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", img)]
    assert not broken, f"images that do not load: {broken}"
    dead = []
    for link in browser.find_elements("tag name", "a"):
        url = urlparse(link.get_attribute("href") or "")
        if url.scheme != "file":
            continue
        target = Path(unquote(url.path))
        # a browser matches the fragment as written or percent-decoded (nbconvert writes its heading ids encoded)
        if not target.exists() or (url.fragment and target.suffix == ".html"
                                   and not {url.fragment, unquote(url.fragment)} & anchors_of(target)):
            dead.append(link.get_attribute("href"))
    assert not dead, f"links that resolve to nothing: {dead}"
    assert browser.title and browser.title != "Notebook", "a page is titled after what it shows"
    if page.parent.name == "notebooks":
        assert any(a.get_attribute("href").endswith("/index.html") for a in browser.find_elements("tag name", "a"))
        params = browser.find_elements("css selector", ".celltag_parameters, .celltag_injected-parameters")
        assert len(params) <= 1, "one visible parameters cell"
    browser.save_screenshot(str(tmp_path / "page.png"))


# --- exploring in JupyterLab, as a person does --------------------------------------------------------------------

def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def lab(tmp_path, smoke_outputs):
    """A JupyterLab server on localhost serving a copy of notebooks/explore.ipynb whose parameters point at the
    session's smoke cache (every model already trained), with the project's environment and code."""
    import json
    import time
    import urllib.request

    nb = json.loads((ROOT / "notebooks" / "explore.ipynb").read_text())
    cell = next(c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
    source = "".join(cell["source"]).replace('"preset": "laptop"', '"preset": "smoke"')
    source = source.replace('"outputs_dir": "../outputs"', f'"outputs_dir": {str(smoke_outputs)!r}')
    assert '"preset": "smoke"' in source and str(smoke_outputs) in source and "save = False" in source
    cell["source"] = source
    root = tmp_path / "lab"
    root.mkdir()
    (root / "explore.ipynb").write_text(json.dumps(nb))
    port, token = free_port(), "reproduction-test"
    env = os.environ | {"PYTHONPATH": str(ROOT), "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
                        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"), "OMP_NUM_THREADS": "1"}
    env.pop("MPLBACKEND", None)  # Jupyter's own inline backend, as a person gets it
    server = subprocess.Popen([sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}",
                               "--ip=127.0.0.1", "--allow-root", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
                               "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
                              cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
            break
        except OSError:
            assert server.poll() is None, server.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "JupyterLab did not start within 120 s"
            time.sleep(0.5)
    yield f"{url}/lab/tree/explore.ipynb?token={token}"
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()


def widget_picture(browser) -> tuple[str, str]:
    """The src of the picture in the explorer's output widget and the text printed under it ("", "" if none)."""
    return browser.execute_script("""
        const out = document.querySelector('.widget-output');
        if (!out) return ['', ''];
        const img = out.querySelector('img');
        const ok = img && img.complete && img.naturalWidth > 300;
        return [ok ? img.src : '', out.innerText];""")


def complete_figure(src: str) -> bool:
    """The PNG of a view with all four panels drawn: ink in each quarter of the picture's width."""
    import base64
    import io

    import numpy as np
    from PIL import Image
    pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))).convert("L"))
    quarters = np.array_split(pixels, 4, axis=1)
    return all((q < 200).mean() > 0.005 for q in quarters)


@pytest.mark.parametrize("attempt", range(2))
def test_exploring_in_jupyterlab_redraws_complete_figures_and_writes_nothing(browser, lab, smoke_outputs, tmp_path,
                                                                              attempt):
    """Run All, change a control at once, then again several times: each time the output widget shows a complete
    figure that differs from the one before, with its summary line; nothing is written in the result set."""
    import time

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    written = sorted((smoke_outputs / "smoke").rglob("explore*")) if (smoke_outputs / "smoke").exists() else []
    stamps = {p: p.stat().st_mtime_ns for p in written}
    browser.get(lab)
    wait = WebDriverWait(browser, 120, poll_frequency=0.2)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".jp-Notebook .jp-Cell"))
    wait.until(lambda d: d.find_elements(By.XPATH, "//div[contains(@class,'lm-MenuBar-itemLabel') and text()='Run']"))
    time.sleep(1)  # the kernel connects
    browser.find_element(By.XPATH, "//div[contains(@class,'lm-MenuBar-itemLabel') and text()='Run']").click()
    wait.until(lambda d: d.find_elements(By.XPATH, "//div[contains(@class,'lm-Menu-itemLabel') and text()='Run All Cells']"))
    browser.find_element(By.XPATH, "//div[contains(@class,'lm-Menu-itemLabel') and text()='Run All Cells']").click()
    wait.until(lambda d: widget_picture(d)[0])
    last, _ = widget_picture(browser)
    assert complete_figure(last)

    def choose(description: str, value: str):
        box = browser.find_element(By.XPATH, f"//div[contains(@class,'widget-dropdown')][.//label[text()='{description}']]")
        Select(box.find_element(By.TAG_NAME, "select")).select_by_visible_text(value)

    changes = [("seed", "1"), ("condition", "noiseless_unbiased"), ("seed", "0"), ("task", "head_direction"),
               ("seed", "1"), ("task", "spatial")]
    for i, (description, value) in enumerate(changes):   # the first right after Run All, as a person clicks
        choose(description, value)
        wait.until(lambda d: widget_picture(d)[0] not in ("", last) and "KL(quiescent" in widget_picture(d)[1])
        src, text = widget_picture(browser)
        browser.execute_script("document.querySelector('.widget-output').scrollIntoView()")
        browser.save_screenshot(str(tmp_path / f"change{i}-{description}-{value}.png"))
        assert complete_figure(src), f"change {i} ({description} → {value}): a figure with a blank panel"
        assert text.strip().splitlines()[-1].startswith(browser.find_element(
            By.XPATH, "//div[contains(@class,'widget-dropdown')][.//label[text()='task']]//select")
            .get_attribute("value")), text
        last = src
    after = sorted((smoke_outputs / "smoke").rglob("explore*")) if (smoke_outputs / "smoke").exists() else []
    assert after == written and all(p.stat().st_mtime_ns == stamps[p] for p in after), "exploring wrote files"
