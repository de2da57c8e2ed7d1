"""End to end in a real headless Chromium (Selenium): a person opens the viewer of a running,
reviewed run, rewrites a plan's hypothesis, watches the candidate appear without reloading,
reads its rationale and diff, and leaves a steering note.

Needs Debian's chromium and chromium-driver; the fixture installs them with apt-get when it can
(root), and skips with the reason otherwise."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import threading

import pytest

from adrs.cli.reviewing import LineReader, TerminalReviewer
from adrs.graph.runner import create_run, execute
from adrs.graph.settings import RunSettings
from adrs.tools.problem import Problem
from adrs.viewer.access import Access
from adrs.workspace.repository import RunRepository
from adrs.workspace.steering import SteeringLog
from tests.viewer.conftest import serving

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is in the test extra")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

WAIT = 40


def _install_chromium() -> str | None:
    """None when chromium and chromedriver are there (installed now if need be), else why not."""
    if shutil.which("chromium") and shutil.which("chromedriver"):
        return None
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return "chromium/chromium-driver are missing and apt-get cannot run here (not root)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"],
                    ["apt-get", "install", "-y", "-qq", "chromium", "chromium-driver"]):
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)
        if done.returncode != 0:
            lines = (done.stderr or done.stdout).strip().splitlines()
            return f"`{' '.join(command)}` failed: {lines[-1] if lines else done.returncode}"
    return None if shutil.which("chromium") and shutil.which("chromedriver") else \
        "apt-get ran but chromium/chromedriver are still missing"


@pytest.fixture(scope="module")
def browser():
    reason = _install_chromium()
    if reason:
        pytest.skip(f"no headless Chromium: {reason}")
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1400,1000"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options,
                              service=webdriver.ChromeService(shutil.which("chromedriver")))
    yield driver
    driver.quit()


def _find(driver, css: str):
    return WebDriverWait(driver, WAIT).until(lambda d: d.find_elements(By.CSS_SELECTOR, css))[0]


def _review_in_page(driver, key: str, hypothesis: str | None) -> None:
    """Answer the waiting plan `key` in the page: rewrite its hypothesis, or approve it."""
    item = _find(driver, f'[data-review] strong[data-key="{key}"]').find_element(By.XPATH, "..")
    name = item.find_element(By.CSS_SELECTOR, "input[placeholder='your name']")
    name.clear()
    name.send_keys("Ada (viewer)")
    if hypothesis is not None:
        area = item.find_element(By.TAG_NAME, "textarea")
        area.clear()
        area.send_keys(hypothesis)
    item.find_element(By.XPATH, f".//button[text()='{'Send my edits' if hypothesis else 'Approve'}']").click()


def test_a_person_reviews_watches_and_steers_a_running_run(browser, toy_dir, tmp_path):
    run_dir = tmp_path / "run"
    create_run(Problem.load(toy_dir), RunSettings.build(problem="toy", iterations=2, review=True),
               run_dir)
    # The run's own terminal is closed: its answers can only come from the viewer.
    reviewer = TerminalReviewer(run_dir, "nobody", LineReader(io.StringIO("")))
    outcome: dict = {}
    running = threading.Thread(target=lambda: outcome.update(execute(run_dir, answerer=reviewer)),
                               daemon=True)
    running.start()
    with serving(run_dir, Access(writable=True)) as server:
        browser.get(server.url)
        _find(browser, '#tree-svg [data-key="i0000-s0"]')
        browser.execute_script("window.adrsSamePage = 'yes'")
        assert not browser.find_elements(By.CSS_SELECTOR, '#tree-svg [data-key="i0001-s0"]')

        _review_in_page(browser, "i0001-s0", "A person in the browser bets on WIDTH.")
        # The candidate appears through server-sent events, on the same page.
        node = _find(browser, '#tree-svg [data-key="i0001-s0"]')
        assert browser.execute_script("return window.adrsSamePage") == "yes"

        node.click()
        hypothesis = _find(browser, "#detail-hypothesis pre")
        assert hypothesis.text.startswith("A person in the browser bets on WIDTH.")
        assert "Ada (viewer): hypothesis rewritten" in _find(browser, "#detail-review pre").text
        assert _find(browser, "#detail-verdict pre").text.startswith("approve")
        diff = _find(browser, "#detail-diff")
        added = diff.find_elements(By.CSS_SELECTOR, ".d-add")
        assert added and added[0].text.startswith("+")
        assert diff.find_elements(By.CSS_SELECTOR, ".d-add .n, .d-add .mi, .d-add .mf")  # highlighted

        browser.find_element(By.ID, "steer-text").send_keys("Stay near WIDTH 5.")
        author = browser.find_element(By.ID, "steer-author")
        author.clear()
        author.send_keys("Grace")
        browser.find_element(By.ID, "steer-submit").click()
        WebDriverWait(browser, WAIT).until(
            lambda d: "Stay near WIDTH 5." in d.find_element(By.ID, "steering").text)
        browser.save_screenshot(str(tmp_path / "viewer.png"))

        _review_in_page(browser, "i0002-s0", None)
        running.join(timeout=WAIT)
    assert outcome.get("stop_reason") == "completed 2 iterations"
    assert (tmp_path / "viewer.png").stat().st_size > 10_000
    repo = RunRepository.open(run_dir)
    first, second = repo.record("i0001-s0").message.review, repo.record("i0002-s0").message.review
    assert (first.reviewer, first.hypothesis) == ("Ada (viewer)",
                                                  "A person in the browser bets on WIDTH.")
    assert second.describe() == "Ada (viewer): approved as planned"
    note = SteeringLog(run_dir).notes()[-1]
    assert (note.text, note.author, note.after_iteration) == ("Stay near WIDTH 5.", "Grace", 1)
