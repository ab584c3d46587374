"""Drive JupyterLab in headless Chromium: the machinery behind the browser test and ``scripts/screenshot.py``.

``jupyter_lab(...)`` is a context manager that

* copies the notebooks to a temporary folder (the repository is never modified),
* starts JupyterLab on 127.0.0.1, a free port and a random token, with temporary settings, workspaces,
  runtime and config folders (news and windowed rendering are switched off in the temporary settings),
* starts Chromium itself (so that its PID is known) and attaches Playwright to it over CDP,
* always stops the browser and the server, with their whole process groups, whatever happens.

``Notebook`` wraps one open notebook: wait for a connected idle kernel, clear and run all cells from the menu,
wait until every cell has executed, find widget cells, shut the kernel down. The module-level helpers move a
slider from the keyboard and read what a widget cell renders (readouts, output text, images).

It depends on nothing in ``pgcourse``; Playwright is imported lazily so that importing this module never fails.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Locator, Page, Playwright

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
ARTIFACTS = REPO / "artifacts"

CHROMIUM_ENV = "PGCOURSE_CHROMIUM"
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
)
# Temporary JupyterLab user settings: no news toast (it covers part of the page), every cell attached to the DOM
# (the default windowing hides off-screen cells), and no toasts over the widgets we screenshot.
LAB_SETTINGS: dict[str, dict[str, Any]] = {
    "@jupyterlab/apputils-extension/notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
        "doNotDisturbMode": True,
    },
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
}

SERVER_START_TIMEOUT_S = 120.0
KERNEL_START_TIMEOUT_S = 120.0
RUN_ALL_TIMEOUT_S = 900.0
WIDGET_UPDATE_TIMEOUT_S = 120.0
POLL_S = 0.25
SETTLE_S = 1.0
STOPPED_S = 3.0

SLIDER_HANDLE = ".widget-slider .noUi-handle"
SLIDER_READOUT = ".widget-readout"
WIDGET_OUTPUT = ".widget-output"
# JupyterLab renders tracebacks (and stderr) as this mime type; a traceback is the one with ANSI-red text.
ERROR_OUTPUT = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]:has(.ansi-red-fg)'


# ----------------------------------------------------------------------------------------------------------------
# environment


def in_ci() -> bool:
    """True when running in CI (``CI=true``), where a missing browser or notebook is a failure, not a skip."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def find_chromium() -> str | None:
    """The Chromium executable: ``$PGCOURSE_CHROMIUM`` if set, else a system Chromium, else ``None``."""
    explicit = os.environ.get(CHROMIUM_ENV)
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    for candidate in CHROMIUM_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("chromium")


def chromium_hint() -> str:
    """Why no Chromium was found, and how a learner enables the browser test."""
    explicit = os.environ.get(CHROMIUM_ENV)
    if explicit:
        return f"{CHROMIUM_ENV}={explicit} is not an executable file; point it at a Chrome or Chromium binary"
    return (
        f"no Chromium found (looked at ${CHROMIUM_ENV} and {', '.join(CHROMIUM_CANDIDATES)}); "
        f"to enable the browser test run `sudo apt-get install chromium` or set {CHROMIUM_ENV}=/path/to/chrome"
    )


def playwright_available() -> bool:
    """True when the Python ``playwright`` package can be imported."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return True


def wait_until(condition: Callable[[], Any], timeout: float, what: str, poll: float = POLL_S) -> Any:
    """Poll ``condition`` until it returns something truthy and return it; ``TimeoutError`` naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(poll)


# ----------------------------------------------------------------------------------------------------------------
# processes


def _free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children(pid: int) -> list[int]:
    """PIDs whose parent is ``pid`` (Linux ``/proc``; empty elsewhere). Kernels run in their own sessions."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def _signal_group(pid: int, sig: signal.Signals) -> None:
    """Send ``sig`` to the process group led by ``pid`` (processes are started with ``start_new_session``)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def stop_process(proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """Stop ``proc``, its process group and its direct children (by PID): SIGTERM, then SIGKILL after ``grace``."""
    children = _children(proc.pid)
    if proc.poll() is None:
        _signal_group(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace)
    _signal_group(proc.pid, signal.SIGKILL)
    for child in children:
        _signal_group(child, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(child, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace)


class _Cleanup:
    """Idempotent cleanup callbacks, also registered with ``atexit`` in case the ``finally`` never runs."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[[], None]] = []
        atexit.register(self.run)

    def push(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` at cleanup (last pushed, first run)."""
        self._callbacks.append(callback)

    def run(self) -> None:
        """Run every pending callback once, whatever each one raises."""
        while self._callbacks:
            callback = self._callbacks.pop()
            with contextlib.suppress(Exception):
                callback()
        atexit.unregister(self.run)


# ----------------------------------------------------------------------------------------------------------------
# JupyterLab server


@dataclass
class LabServer:
    """A running JupyterLab server."""

    proc: subprocess.Popen[bytes]
    port: int
    token: str
    root_dir: Path
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        """Absolute URL of ``path`` (starting with ``/``) with the token as query parameter."""
        sep = "&" if "?" in path else "?"
        return f"{self.base_url}{path}{sep}token={self.token}"

    def api(self, path: str, method: str = "GET") -> Any:
        """Call the REST API (``path`` starting with ``/api/``) with the token; the decoded JSON or ``None``."""
        request = urllib.request.Request(
            self.base_url + path, method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def log_tail(self, lines: int = 40) -> str:
        """The last ``lines`` of the server log, for error messages."""
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""


def write_lab_settings(settings_dir: Path, settings: dict[str, dict[str, Any]] = LAB_SETTINGS) -> None:
    """Write JupyterLab user settings (``<plugin-path>.jupyterlab-settings`` JSON files) into ``settings_dir``."""
    for plugin, values in settings.items():
        path = settings_dir / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values, indent=2))


def _server_answers(server: LabServer) -> bool:
    """True once the server answers ``/api/status``; raises if the process died."""
    if server.proc.poll() is not None:
        raise RuntimeError(f"JupyterLab exited with {server.proc.returncode}:\n{server.log_tail()}")
    try:
        server.api("/api/status")
    except (OSError, urllib.error.URLError):
        return False
    return True


def start_lab_server(root_dir: Path, state_dir: Path, cleanup: _Cleanup) -> LabServer:
    """Start JupyterLab serving ``root_dir`` with all its state under ``state_dir``; return once it answers."""
    dirs = {name: state_dir / name for name in ("settings", "workspaces", "runtime", "config", "ipython")}
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    write_lab_settings(dirs["settings"])
    env = dict(
        os.environ,
        JUPYTERLAB_SETTINGS_DIR=str(dirs["settings"]),
        JUPYTERLAB_WORKSPACES_DIR=str(dirs["workspaces"]),
        JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
        JUPYTER_CONFIG_DIR=str(dirs["config"]),
        IPYTHONDIR=str(dirs["ipython"]),
        PYDEVD_DISABLE_FILE_VALIDATION="1",
        PGCOURSE_PROGRESS_FILE=str(state_dir / "progress.json"),  # quizzes clicked here stay out of the home
    )
    port, token = _free_port(), secrets.token_hex(24)
    cmd = [
        sys.executable, "-m", "jupyterlab", "--no-browser",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root_dir}",
        "--ServerApp.open_browser=False", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    log_path = state_dir / "jupyterlab.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            cmd, env=env, cwd=root_dir, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    cleanup.push(lambda: stop_process(proc))
    server = LabServer(proc=proc, port=port, token=token, root_dir=root_dir, log_path=log_path)
    wait_until(lambda: _server_answers(server), SERVER_START_TIMEOUT_S, "JupyterLab to answer")
    return server


# ----------------------------------------------------------------------------------------------------------------
# Chromium


def start_chromium(executable: str, profile_dir: Path, cleanup: _Cleanup) -> tuple[subprocess.Popen[bytes], str]:
    """Start headless Chromium with a fresh profile; return the process and its CDP endpoint URL."""
    profile_dir.mkdir(parents=True, exist_ok=True)
    log_path = profile_dir.parent / "chromium.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [executable, *CHROMIUM_ARGS, f"--user-data-dir={profile_dir}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    cleanup.push(lambda: stop_process(proc, grace=5.0))
    port_file = profile_dir / "DevToolsActivePort"

    def endpoint() -> str | None:
        if proc.poll() is not None:
            raise RuntimeError(f"Chromium exited with {proc.returncode}:\n{log_path.read_text(errors='replace')}")
        lines = port_file.read_text().split() if port_file.exists() else []
        return f"http://127.0.0.1:{lines[0]}" if lines else None

    return proc, wait_until(endpoint, 60.0, "Chromium's DevTools port")


# ----------------------------------------------------------------------------------------------------------------
# the session


@dataclass
class Lab:
    """JupyterLab serving a temporary copy of the notebooks, and a Chromium attached to it."""

    server: LabServer
    browser: Browser
    context: BrowserContext
    playwright: Playwright
    root_dir: Path
    _pages: int = 0

    def open_notebook(
        self,
        name: str,
        kernel_timeout: float = KERNEL_START_TIMEOUT_S,
        viewport: tuple[int, int] | None = None,
        file_browser: bool = False,
    ) -> Notebook:
        """Open ``name`` (relative to the served folder) in a new page and wait for its connected idle kernel.

        The page has the session's viewport unless ``viewport`` (width, height) is given. The file browser (left
        sidebar) is closed, so that wide outputs fit, unless ``file_browser`` asks for it open, as a learner has it.
        """
        page = self.context.new_page()
        if viewport is not None:
            page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
        # A workspace of its own: JupyterLab would otherwise restore (and start kernels for) earlier notebooks.
        self._pages += 1
        workspace = f"pgcourse-{self._pages}"
        page.goto(self.server.url(f"/lab/workspaces/{workspace}/tree/{name}?reset"), wait_until="domcontentloaded")
        notebook = Notebook(lab=self, page=page, name=name)
        notebook.wait_for_kernel(kernel_timeout)
        if file_browser:
            notebook.open_file_browser()
        else:
            notebook.collapse_left_sidebar()
        return notebook


def _exit_on_sigterm(cleanup: _Cleanup) -> None:
    """Turn SIGTERM into ``SystemExit`` while the session lives, so that ``finally`` stops the processes.

    Only from the main thread and only if nobody else handles SIGTERM; the previous handler is restored at cleanup.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return

    def handler(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)
    cleanup.push(lambda: signal.signal(signal.SIGTERM, signal.SIG_DFL))


@contextlib.contextmanager
def jupyter_lab(
    notebooks: Path = NOTEBOOKS,
    chromium: str | None = None,
    viewport: tuple[int, int] = (1600, 1000),
) -> Iterator[Lab]:
    """Serve a temporary copy of ``notebooks`` with JupyterLab and attach headless Chromium; always clean up."""
    from playwright.sync_api import sync_playwright

    executable = chromium or find_chromium()
    if executable is None:
        raise FileNotFoundError(chromium_hint())
    cleanup = _Cleanup()
    _exit_on_sigterm(cleanup)
    state = Path(tempfile.mkdtemp(prefix="pgcourse-jlab-"))
    cleanup.push(lambda: shutil.rmtree(state, ignore_errors=True))
    try:
        root = state / "notebooks"
        shutil.copytree(notebooks, root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        server = start_lab_server(root, state, cleanup)
        _, cdp_url = start_chromium(executable, state / "chromium-profile", cleanup)
        playwright = sync_playwright().start()
        cleanup.push(playwright.stop)
        browser = playwright.chromium.connect_over_cdp(cdp_url)
        cleanup.push(browser.close)
        context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
        cleanup.push(context.close)
        yield Lab(server=server, browser=browser, context=context, playwright=playwright, root_dir=root)
    finally:
        cleanup.run()


# ----------------------------------------------------------------------------------------------------------------
# one notebook


@dataclass
class Notebook:
    """A notebook open in a JupyterLab page."""

    lab: Lab
    page: Page
    name: str

    @property
    def panel(self) -> Locator:
        """The notebook panel of this page (the only one: each notebook gets its own page)."""
        return self.page.locator(".jp-NotebookPanel").first

    def cells(self) -> Locator:
        """Every code cell of the notebook, in order."""
        return self.panel.locator(".jp-Notebook .jp-CodeCell")

    def session(self) -> dict[str, Any] | None:
        """The server's session for this notebook, if any."""
        for session in self.lab.server.api("/api/sessions"):
            if session.get("path") == self.name:
                return session
        return None

    def kernel_state(self) -> str | None:
        """The kernel's execution state on the server if a browser is connected to it, else ``None``."""
        session = self.session()
        kernel = (session or {}).get("kernel") or {}
        return kernel.get("execution_state") if kernel.get("connections", 0) > 0 else None

    def _toolbar_idle(self) -> bool:
        """True when the notebook toolbar shows a kernel (not "No Kernel") and its indicator says idle."""
        name = self.panel.locator(".jp-KernelName").first
        indicator = self.panel.locator(".jp-Notebook-ExecutionIndicator").first
        if not name.count() or not indicator.count():
            return False
        label = name.inner_text().strip()
        return bool(label) and label != "No Kernel" and indicator.get_attribute("data-status") == "idle"

    def wait_for_kernel(self, timeout: float = KERNEL_START_TIMEOUT_S) -> None:
        """Wait until the page shows the notebook and a kernel is connected (websocket open) and idle."""
        self.panel.wait_for(state="visible", timeout=timeout * 1000)
        wait_until(lambda: self.kernel_state() == "idle", timeout, f"a connected idle kernel for {self.name}")
        wait_until(self._toolbar_idle, timeout, f"the toolbar of {self.name} to show an idle kernel")

    def collapse_left_sidebar(self) -> None:
        """Close the file browser (click its active tab) so that wide widget outputs fit the page."""
        active = self.page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current")
        if active.count():
            active.first.click()
            self.page.locator("#jp-left-stack").wait_for(state="hidden")

    def open_file_browser(self) -> None:
        """Show the file browser in the left sidebar (click its tab unless it is open already)."""
        stack = self.page.locator("#jp-left-stack")
        if not stack.is_visible():
            self.page.locator('.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="filebrowser"]').first.click()
        stack.wait_for(state="visible")
        self.page.locator(".jp-FileBrowser").first.wait_for(state="visible")

    def menu(self, menu: str, item: str) -> None:
        """Click ``menu`` in the menu bar, then its item labelled exactly ``item`` (as a user would)."""
        self.page.locator(f'.lm-MenuBar-itemLabel:text-is("{menu}")').click()
        entry = self.page.locator(f'.lm-Menu .lm-Menu-itemLabel:text-is("{item}")').first
        entry.wait_for(state="visible")
        entry.click()

    def prompts(self) -> list[str]:
        """The input prompt of every code cell, e.g. ``"[3]:"``, ``"[*]:"`` or ``"[ ]:"``."""
        return [text.strip() for text in self.cells().locator(".jp-InputPrompt").all_inner_texts()]

    def clear_outputs(self) -> None:
        """Edit → Clear Outputs of All Cells: also resets the prompts, so stored execution counts cannot fool us."""
        self.menu("Edit", "Clear Outputs of All Cells")
        wait_until(lambda: all(p in ("[ ]:", "") for p in self.prompts()), 30, "the outputs to clear")

    def run_all(self, timeout: float = RUN_ALL_TIMEOUT_S) -> float:
        """Clear outputs, Run → Run All Cells, wait until every cell has run; return the seconds it took."""
        self.clear_outputs()
        start = time.monotonic()
        self.menu("Run", "Run All Cells")
        self.wait_until_executed(timeout)
        return time.monotonic() - start

    def code_cells(self) -> list[dict[str, Any]]:
        """The code cells (nbformat JSON) of the served copy of the notebook."""
        data = json.loads((self.lab.root_dir / self.name).read_text(encoding="utf-8"))
        return [cell for cell in data["cells"] if cell["cell_type"] == "code"]

    def _executed(self, expected: list[bool]) -> bool:
        """True when every cell marked in ``expected`` shows an execution count, none is queued, the kernel idles."""
        prompts = self.prompts()
        if len(prompts) != len(expected) or "[*]:" in prompts:
            return False
        numbered = all(p[1:-2].isdigit() for p, want in zip(prompts, expected, strict=True) if want)
        return numbered and self.kernel_state() == "idle"

    def wait_until_executed(self, timeout: float = RUN_ALL_TIMEOUT_S, stopped_s: float = STOPPED_S) -> None:
        """Wait until no cell is queued or running, every non-empty code cell has a number, and the kernel idles.

        When a cell fails, Run All stops and the cells after it keep an empty prompt. Nothing running, an idle
        kernel and unexecuted cells for ``stopped_s`` seconds in a row (cells follow each other within
        milliseconds) means the run stopped: fail at once, with the traceback, instead of at the timeout.
        """
        expected = [bool(_source(cell).strip()) for cell in self.code_cells()]
        state = {"since": time.monotonic(), "stopped": False}

        def done() -> bool:
            if self._executed(expected):
                return True
            stopped = "[*]:" not in self.prompts() and self.kernel_state() == "idle"
            if stopped != state["stopped"]:
                state.update(stopped=stopped, since=time.monotonic())
            if stopped and time.monotonic() - state["since"] >= stopped_s:
                found = self.unexpected_errors() or ["(no traceback rendered)"]
                raise AssertionError(f"{self.name}: Run All stopped before the end:\n" + "\n".join(found))
            return False

        wait_until(done, timeout, f"all cells of {self.name} to execute")

    def errors(self) -> list[str]:
        """The text of every error (traceback) output in the notebook."""
        return self.panel.locator(ERROR_OUTPUT).all_inner_texts()

    def unexpected_errors(self) -> list[str]:
        """Error outputs of code cells not tagged ``raises-exception`` (those are meant to fail)."""
        cells, meta = self.cells(), self.code_cells()
        return [
            f"code cell {i}: " + "\n".join(cells.nth(i).locator(ERROR_OUTPUT).all_inner_texts())
            for i in range(min(cells.count(), len(meta)))
            if "raises-exception" not in meta[i].get("metadata", {}).get("tags", [])
            and cells.nth(i).locator(ERROR_OUTPUT).count()
        ]

    def widget_cells(self) -> list[Locator]:
        """The code cells whose output holds at least one slider."""
        cells = self.cells()
        return [cells.nth(i) for i in range(cells.count()) if cells.nth(i).locator(SLIDER_HANDLE).count()]

    def blur(self) -> None:
        """Make the first cell the active one and park the mouse, so no cell shows focus or hover decorations."""
        self.cells().first.locator(".jp-InputPrompt").click()
        self.page.keyboard.press("Escape")
        self.page.mouse.move(0, 0)

    def shutdown_kernel(self) -> None:
        """Close the page, then shut this notebook's kernel down through the REST API."""
        session = self.session()
        self.page.close()
        if session:
            with contextlib.suppress(OSError):
                self.lab.server.api(f"/api/sessions/{session['id']}", method="DELETE")


def _source(cell: dict[str, Any]) -> str:
    """The source of an nbformat cell (a string or a list of lines)."""
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


# ----------------------------------------------------------------------------------------------------------------
# widgets


@dataclass(frozen=True)
class WidgetView:
    """What a widget cell renders: slider readouts, output text and image sources (data URLs of the plots)."""

    readouts: tuple[str, ...]
    text: str
    images: tuple[str, ...]

    def differs_from(self, other: WidgetView) -> bool:
        """True if the rendered output (not only the slider readout) changed."""
        return self.text != other.text or self.images != other.images


def read_widget(cell: Locator) -> WidgetView:
    """Read the readouts, the text outside the sliders, and the image sources rendered by a widget cell."""
    area = cell.locator(".jp-Cell-outputWrapper")
    readouts = tuple(t.strip() for t in area.locator(SLIDER_READOUT).all_inner_texts())
    texts = area.locator(f"{WIDGET_OUTPUT} .jp-OutputArea-output, .widget-html-content, .widget-label")
    images = area.locator(f"{WIDGET_OUTPUT} img, .widget-image")
    return WidgetView(
        readouts=readouts,
        text="\n".join(t.strip() for t in texts.all_inner_texts()),
        images=tuple(img.get_attribute("src") or "" for img in images.all()),
    )


def slider_value(handle: Locator) -> tuple[float, float, float]:
    """``(value, min, max)`` of a slider handle, from its ARIA attributes."""
    attrs = [handle.get_attribute(name) for name in ("aria-valuenow", "aria-valuemin", "aria-valuemax")]
    value, low, high = (float(a) if a is not None else float("nan") for a in attrs)
    return value, low, high


def move_slider(handle: Locator, key: str = "ArrowRight", presses: int = 1) -> str:
    """Focus a slider handle and press ``key`` (ArrowRight/ArrowLeft/End/Home/PageUp...) ``presses`` times.

    At the end of its range a step to the right is turned into a step to the left (and vice versa), so that
    the value always changes. Returns the key actually pressed.
    """
    value, low, high = slider_value(handle)
    if key in ("ArrowRight", "ArrowUp", "PageUp", "End") and value >= high:
        key = "Home" if key == "End" else "ArrowLeft"
    elif key in ("ArrowLeft", "ArrowDown", "PageDown", "Home") and value <= low:
        key = "End" if key == "Home" else "ArrowRight"
    handle.scroll_into_view_if_needed()
    handle.focus()
    for _ in range(presses):
        handle.press(key)
    return key


def wait_for_new_view(
    cell: Locator,
    before: WidgetView,
    idle: Callable[[], bool],
    timeout: float = WIDGET_UPDATE_TIMEOUT_S,
    settle_s: float = SETTLE_S,
) -> WidgetView:
    """Wait until the cell renders something new and has settled; return the settled view.

    ``idle`` reports whether the kernel is idle. Settled means: different from ``before``, unchanged for
    ``settle_s`` seconds and the kernel idle (several key presses queue several redraws, with idle gaps between).
    """
    state: dict[str, Any] = {"view": None, "since": time.monotonic()}

    def settled() -> WidgetView | None:
        view, now = read_widget(cell), time.monotonic()
        if view != state["view"]:
            state.update(view=view, since=now)
            return None
        quiet = now - state["since"] >= settle_s
        return view if quiet and view.differs_from(before) and idle() else None

    return wait_until(settled, timeout, "the widget output to change")


def screenshot(locator: Locator, path: Path) -> Path:
    """Scroll ``locator`` into view and write a PNG screenshot of it to ``path`` (folders created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    locator.scroll_into_view_if_needed()
    locator.screenshot(path=str(path), animations="disabled")
    return path


# ----------------------------------------------------------------------------------------------------------------
# layout

# Measures, in CSS pixels of the page, one code cell's slider demos (elements of class ``demo``, with a ``figure``
# holding the plot image and a ``readout``) against the notebook column (the notebook's scrolling panel, without
# its vertical scrollbar). Every rectangle is [left, top, right, bottom].
_LAYOUT_JS = """
([cell, cls]) => {
  const rect = (e) => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const name = (e) => e.tagName.toLowerCase() + (e.className && typeof e.className === 'string'
      ? '.' + e.className.trim().split(/\\s+/).join('.') : '');
  const scroller = cell.closest('.jp-WindowedPanel-outer') || cell.closest('.jp-Notebook');
  const s = scroller.getBoundingClientRect();
  const column = [s.left, s.top, s.left + scroller.clientWidth, s.bottom];
  const output = cell.querySelector('.jp-Cell-outputWrapper');
  // an element scrolls sideways (or cuts its content off) when its content is wider and it does not let it overflow
  const wide = [...output.querySelectorAll('*')].filter((e) => e.scrollWidth > e.clientWidth + 1
      && getComputedStyle(e).overflowX !== 'visible')
      .map((e) => `${name(e)}: scrollWidth ${e.scrollWidth} > clientWidth ${e.clientWidth}`);
  const demos = [...output.querySelectorAll('.' + cls.demo)].map((d) => {
    const img = d.querySelector('.' + cls.figure + ' img');
    const readout = d.querySelector('.' + cls.readout);
    const sized = [...d.querySelectorAll('*')].filter((e) => { const r = e.getBoundingClientRect();
      return r.width > 0 && r.height > 0; });
    const outside = sized.filter((e) => { const r = e.getBoundingClientRect();
      return r.left < column[0] - 1 || r.right > column[2] + 1; })
      .map((e) => `${name(e)} spans x ${Math.round(e.getBoundingClientRect().left)}..` +
                  `${Math.round(e.getBoundingClientRect().right)}`);
    const style = readout ? getComputedStyle(readout) : null;
    return {
      box: rect(d),
      image: img ? rect(img) : null,
      natural_width: img ? img.naturalWidth : 0,
      readout: readout ? rect(readout) : null,
      readout_text: readout ? readout.innerText.trim() : '',
      readout_shown: !!style && style.visibility !== 'hidden' && style.display !== 'none'
          && parseFloat(style.opacity) > 0,
      outside: outside,
    };
  });
  return {column: column, scroller_wide: scroller.scrollWidth > scroller.clientWidth + 1,
          wide: wide, demos: demos};
}
"""


@dataclass(frozen=True)
class DemoBox:
    """Where one slider demo, its plot image and its readout are drawn ([left, top, right, bottom], CSS pixels)."""

    box: tuple[float, ...]
    image: tuple[float, ...] | None
    natural_width: int
    readout: tuple[float, ...] | None
    readout_text: str
    readout_shown: bool
    outside: tuple[str, ...]

    @property
    def readout_below(self) -> bool:
        """True when the readout sits below the figure (the column is too narrow for both side by side)."""
        return self.image is not None and self.readout is not None and self.readout[1] >= self.image[3] - 1

    @property
    def scale(self) -> float:
        """Drawn width of the plot image over its natural (PNG) width: below 1 when it was scaled to the column."""
        return (self.image[2] - self.image[0]) / self.natural_width if self.image and self.natural_width else 0.0


@dataclass(frozen=True)
class CellLayout:
    """One cell's slider demos against the notebook column, and every element of its output that scrolls sideways."""

    column: tuple[float, ...]
    scroller_wide: bool
    wide: tuple[str, ...]
    demos: tuple[DemoBox, ...]


def measure_layout(cell: Locator, classes: dict[str, str]) -> CellLayout:
    """Measure the demos of a code cell; ``classes`` names the CSS classes ``demo``, ``figure`` and ``readout``."""
    cell.scroll_into_view_if_needed()
    raw = cell.page.evaluate(_LAYOUT_JS, [cell.element_handle(), classes])
    demos = tuple(
        DemoBox(
            box=tuple(d["box"]),
            image=tuple(d["image"]) if d["image"] else None,
            natural_width=int(d["natural_width"]),
            readout=tuple(d["readout"]) if d["readout"] else None,
            readout_text=d["readout_text"],
            readout_shown=bool(d["readout_shown"]),
            outside=tuple(d["outside"]),
        )
        for d in raw["demos"]
    )
    return CellLayout(tuple(raw["column"]), bool(raw["scroller_wide"]), tuple(raw["wide"]), demos)
