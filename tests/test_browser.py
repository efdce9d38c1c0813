"""The rendered results read in a real browser: the smoke index page and an exported notebook, loaded from disk
in headless Chromium (Debian's chromium and chromium-driver, installed with apt-get where we are root and they
are missing; skipped with the reason otherwise). Every image must load, every relative link must resolve, and
no markdown may be left unrendered. A screenshot of each page goes to the test's temp folder."""
import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from utils import report
from utils.pipeline.notebooks import execute_notebook
from utils.pipeline.site import write_index
from utils.pipeline.workspace import Workspace

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
    execute_notebook("fig3_head_direction", Workspace.of("smoke", smoke_outputs), out_dir)
    report.write_report("smoke", smoke_outputs)
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
    assert verdicts and verdicts <= {"passed", "failed", "missing", "reported"}
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
