"""End-to-end in headless Chromium: an exported handout works offline, and ``make course`` shows no news prompt.

* The handout test exports one notebook with a two-slider demo (``04_gae``, or ``$PGCOURSE_HANDOUT_NOTEBOOK``) with
  ``scripts/export_html.py``, opens it from ``file://`` with every non-file request recorded and aborted, and
  checks: no remote request was attempted, the maths is typeset (MathML laid out, no raw ``$$`` left), and moving
  each slider (set the range input, dispatch ``input``) changes the figure. Screenshots go to
  ``artifacts/handout/``.
* The news test starts JupyterLab with the settings ``make course`` passes (a fresh, empty user-settings folder)
  and checks that the "news" question never shows, and that it does show without them (so the check can see it).

Outside CI a missing Chromium or Playwright is a skip; in CI (``CI=true``) it is a failure.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import (
    ARTIFACTS,
    CHROMIUM_ARGS,
    NOTEBOOKS,
    REPO,
    _Cleanup,
    _free_port,
    chromium_hint,
    find_chromium,
    in_ci,
    playwright_available,
    stop_process,
    wait_until,
)

pytestmark = pytest.mark.browser

NOTEBOOK = os.environ.get("PGCOURSE_HANDOUT_NOTEBOOK", "04_gae")
NEWS_QUESTION = "Would you like to get notified about official Jupyter news?"
# Playwright starts this Chromium itself; no remote-debugging flags (Playwright uses a pipe).
LAUNCH_ARGS = [a for a in CHROMIUM_ARGS if not a.startswith("--remote-debugging")]


def unavailable(reason: str) -> None:
    if in_ci():
        pytest.fail(f"CI=true: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not playwright_available():
        unavailable("the Python package playwright is missing: pip install -e '.[test]'")
    chromium = find_chromium()
    if chromium is None:
        unavailable(chromium_hint())
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=LAUNCH_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def handout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Export the notebook once for the module; the exporter's own checks must pass (exit status 0)."""
    if not (NOTEBOOKS / f"{NOTEBOOK}.ipynb").exists():
        unavailable(f"notebooks/{NOTEBOOK}.ipynb does not exist")
    out = tmp_path_factory.mktemp("handout")
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "export_html.py"), "--out", str(out), NOTEBOOK],
        capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    page = out / f"{NOTEBOOK}.html"
    print(f"\nexported {NOTEBOOK} in {time.monotonic() - start:.0f} s, {page.stat().st_size / 1e6:.1f} MB")
    return page


def test_handout_offline_maths_and_sliders(browser: object, handout: Path) -> None:
    shots = Path(os.environ.get("PGCOURSE_ARTIFACTS", ARTIFACTS)) / "handout"
    shots.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    attempted: list[str] = []

    def route(r: object) -> None:
        if r.request.url.startswith("file:"):
            r.continue_()
        else:
            attempted.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("request", lambda req: None if req.url.startswith(("file:", "data:")) else attempted.append(req.url))
    try:
        page.goto(handout.as_uri(), wait_until="load")
        page.wait_for_timeout(1000)
        assert not attempted, f"the handout tried to reach: {sorted(set(attempted))}"

        # maths: MathML elements, laid out by the browser, and no raw TeX left in the Markdown
        maths = page.evaluate(
            """() => Array.from(document.querySelectorAll('math')).map(m => [
                 m.namespaceURI, m.getBoundingClientRect().width, m.getAttribute('display')])"""
        )
        assert len(maths) > 20, f"{len(maths)} <math> elements"
        assert all(ns == "http://www.w3.org/1998/Math/MathML" and w > 0 for ns, w, _ in maths)
        assert any(d == "block" for _, _, d in maths) and any(d != "block" for _, _, d in maths)
        prose = page.evaluate(
            "() => Array.from(document.querySelectorAll('.jp-MarkdownOutput')).map(e => e.innerText).join('\\n')"
        )
        assert "$$" not in prose and not re.search(r"\$[^$\n]*\\[A-Za-z]+", prose), "raw LaTeX in the prose"
        assert not page.locator(".pgc-tex").count(), "maths left as LaTeX source"

        # sliders: every range input of every demo changes the figure
        demos = page.locator(".pgc-handout")
        assert demos.count() >= 1
        moved = 0
        for d in range(demos.count()):
            demo = demos.nth(d)
            demo.scroll_into_view_if_needed()
            demo.screenshot(path=str(shots / f"{NOTEBOOK}-demo{d}-before.png"))
            inputs = demo.locator("input[type=range]")
            for i in range(inputs.count()):
                before = demo.locator("img.pgc-frame").get_attribute("src")
                readout = demo.locator(".pgc-readout").inner_text()
                inputs.nth(i).evaluate(
                    """el => { el.value = (+el.value === +el.max) ? el.min : el.max;
                               el.dispatchEvent(new Event('input', {bubbles: true})); }"""
                )
                assert demo.locator("img.pgc-frame").get_attribute("src") != before, f"demo {d} slider {i}"
                assert demo.locator(".pgc-readout").inner_text() != readout, f"demo {d} slider {i}: readout"
                moved += 1
            demo.screenshot(path=str(shots / f"{NOTEBOOK}-demo{d}-after.png"))
        assert moved >= 2
        assert not attempted, f"the handout tried to reach: {sorted(set(attempted))}"
        print(f"\n{handout.name}: {len(maths)} formulas, {demos.count()} demo(s), {moved} slider(s) moved offline")
    finally:
        context.close()


def _lab(settings: list[str], state: Path, cleanup: _Cleanup) -> tuple[str, subprocess.Popen[bytes]]:
    """JupyterLab on 127.0.0.1 with a token, fresh user settings and ``settings`` options; its URL and process."""
    dirs = {n: state / n for n in ("user-settings", "workspaces", "runtime", "config")}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(dirs["user-settings"]),
               JUPYTERLAB_WORKSPACES_DIR=str(dirs["workspaces"]), JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
               JUPYTER_CONFIG_DIR=str(dirs["config"]))  # fmt: skip
    port, token = _free_port(), secrets.token_hex(16)
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
           "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={NOTEBOOKS}",
           *settings]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    log = (state / "lab.log").open("wb")
    proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)  # fmt: skip
    cleanup.push(lambda: stop_process(proc))
    cleanup.push(log.close)
    return f"http://127.0.0.1:{port}/lab/tree/00_start_here.ipynb?token={token}", proc


def _news_prompt_shows(browser: object, url: str) -> bool:
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    try:
        page = context.new_page()
        wait_until(lambda: _answers(page, url), 120, "JupyterLab to answer")
        page.wait_for_selector(".jp-NotebookPanel", timeout=120_000)
        page.wait_for_timeout(4000)  # the question comes once the app has restored
        return page.get_by_text(NEWS_QUESTION).count() > 0
    finally:
        context.close()


def _answers(page: object, url: str) -> bool:
    try:
        page.goto(url, wait_until="domcontentloaded", timeout=10_000)
    except Exception:
        return False
    return True


def test_make_course_settings_have_no_news_prompt(browser: object, tmp_path: Path) -> None:
    makefile = (REPO / "Makefile").read_text()
    recipe = makefile[makefile.index("\ncourse:") : makefile.index("\ntest:")]
    options = [o.replace("$(CURDIR)", str(REPO)) for o in re.findall(r"--LabApp\.\S+", recipe)]
    assert any(o.startswith("--LabApp.app_settings_dir=") for o in options), recipe
    cleanup = _Cleanup()
    try:
        url, _ = _lab(options, tmp_path / "course", cleanup)
        assert not _news_prompt_shows(browser, url), "make course's settings still ask about news"
        url, _ = _lab([], tmp_path / "bare", cleanup)
        assert _news_prompt_shows(browser, url), "without the settings the news question should show (check broken?)"
    finally:
        cleanup.run()
