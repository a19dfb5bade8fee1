"""The segment explorer and the campaign what-if widget in a real browser.

A notebook with both widgets is served on localhost by Voilà (a live kernel, as in
JupyterLab) and driven by headless Chromium from the system's packages through Selenium:
changing a control must change what the widget shows. A screenshot is kept in
``test-artifacts/``. Skipped, saying why, where Chromium, its driver, Voilà or Selenium is
missing (``.ci/run`` installs them when ``CI=true``).
"""

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import nbformat
import pytest

from dbmlib.core import config
from dbmlib.run.pipeline import chromium

CHROMIUM = chromium()
DRIVER = shutil.which("chromedriver")
ARTIFACTS = config.PROJ_ROOT / "test-artifacts"

CELLS = [
    "import numpy as np, pandas as pd\n"
    "from IPython.display import display\n"
    "from dbmlib.campaign import CampaignWhatIf\n"
    "from dbmlib.segment import SegmentExplorer",
    "rng = np.random.default_rng(0)\n"
    "n = 400\n"
    "feat = pd.DataFrame({'segment': rng.choice(['Champions', 'At risk', 'Lost'], n, p=[0.5, 0.3, 0.2]),\n"
    "                     'cluster': rng.choice(['0', '1'], n), 'region': rng.choice(['North', 'London'], n),\n"
    "                     'revenue': rng.gamma(2, 50, n), 'orders': rng.integers(1, 9, n),\n"
    "                     'recency_days': rng.integers(1, 400, n)},\n"
    "                    index=pd.Index([f'C{i:04d}' for i in range(n)], name='customer_id'))",
    "display(SegmentExplorer(feat).widget)",
    "display(CampaignWhatIf(pd.Series(rng.uniform(0, 0.1, n), index=feat.index),\n"
    "                       pd.Series(rng.gamma(2, 30, n), index=feat.index), margin=0.4, budget=10.0,\n"
    "                       control_share=0.2, contact_cost=0.5).widget)",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _missing() -> str:
    if not CHROMIUM or not DRIVER:
        return "no Chromium/ChromeDriver on this machine (Debian: apt-get install chromium chromium-driver)"
    for module in ("selenium", "voila"):
        try:
            __import__(module)
        except ImportError:
            return f"{module} is not installed (pip install -e '.[dev]')"
    return ""


@pytest.fixture
def served(tmp_path):
    why = _missing()
    if why:
        pytest.skip(why)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in CELLS]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "widgets.ipynb")
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "voila", "widgets.ipynb", "--no-browser", f"--port={port}",
                             "--Voila.ip=127.0.0.1", "--VoilaConfiguration.show_tracebacks=True"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    for _ in range(120):
        try:
            urllib.request.urlopen(url + "api", timeout=1)
            break
        except OSError:
            if proc.poll() is not None:
                raise AssertionError("voila exited: " + proc.stdout.read().decode(errors="replace")[-2000:])
            time.sleep(0.5)
    yield url
    proc.terminate()
    proc.wait(timeout=30)


def _browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--window-size=1200,1600"):
        opts.add_argument(flag)
    return webdriver.Chrome(service=Service(DRIVER), options=opts)


def _what_if_text(driver):
    """The what-if widget's output text, or False while it is (re)rendering."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    try:
        texts = [o.text for o in driver.find_elements(By.CSS_SELECTOR, ".widget-html")]
    except StaleElementReferenceException:
        return False
    return next((t for t in texts if "customers listed" in t), False)


def test_widgets_react_to_their_controls_in_chromium(served):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    driver = _browser()
    try:
        driver.get(served)
        wait = WebDriverWait(driver, 120, ignored_exceptions=[StaleElementReferenceException])
        heading = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".widget-html h4")))
        assert heading.text == "segment: Champions"  # the largest group first
        first = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, ".widget-html table").text)
        Select(driver.find_element(By.CSS_SELECTOR, ".widget-dropdown select")).select_by_visible_text("Lost")
        wait.until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, ".widget-html h4"), "segment: Lost"))
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, ".widget-html table").text not in ("", first))
        before = wait.until(_what_if_text)  # found afresh each time: widgets re-render their outputs
        handle = driver.find_elements(By.CSS_SELECTOR, ".widget-slider .noUi-handle")[0]  # the budget
        handle.click()
        for _ in range(5):
            handle.send_keys(Keys.ARROW_RIGHT)
        after = wait.until(lambda d: (text := _what_if_text(d)) and text != before and text)
        assert int(after.split()[0].replace(",", "")) > int(before.split()[0].replace(",", ""))  # more listed
        ARTIFACTS.mkdir(exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "widgets.png"))
        (ARTIFACTS / "widgets.json").write_text(json.dumps({"explorer_before": first, "what_if_before": before,
                                                            "what_if_after": after}, indent=1))
    finally:
        driver.quit()
    assert (ARTIFACTS / "widgets.png").stat().st_size > 10_000
