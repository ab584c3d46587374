"""End-to-end: the course's slider demos work in a real browser (JupyterLab in headless Chromium).

For each notebook with a slider demo: Run All Cells from the menu (no cell may fail), then move every slider
from the keyboard and check that the rendered output (plot image and/or readout text) changes. Screenshots of
the widget cells before and after go to ``artifacts/browser/`` (git-ignored).

Layout: at 1366×768 and at 1920×1080, with the file browser open, every slider demo (all of them, shown by a
notebook generated for the test, and those of a real course notebook) fits the notebook column: its figure and
readout lie inside the column, nothing in the output scrolls sideways, the readout is shown (below the figure
when the column is narrow). Screenshots of the page at each demo go to ``artifacts/browser/layout/``.

Outside CI a missing Chromium, Playwright or notebook is a skip that says why; in CI (``CI=true``) it is a failure.
Run: ``.venv/bin/python -m pytest -q tests/test_browser.py -m browser -s``. A learner enables it with
``sudo apt-get install chromium`` or ``PGCOURSE_CHROMIUM=/path/to/chrome``.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from browser import (
    ARTIFACTS,
    NOTEBOOKS,
    SLIDER_HANDLE,
    SLIDER_READOUT,
    Lab,
    Notebook,
    chromium_hint,
    find_chromium,
    in_ci,
    jupyter_lab,
    measure_layout,
    move_slider,
    playwright_available,
    read_widget,
    screenshot,
    wait_for_new_view,
    wait_until,
)

pytestmark = pytest.mark.browser

SLIDER_KEY = "End"  # jump to the far end (to the start if already there): the largest, surest visible change
SELFTEST_NOTEBOOK = "_browser_selftest.ipynb"  # generated into the served temporary copy only


@dataclass(frozen=True)
class Target:
    """A course notebook with a slider demo, and how long its Run All may take (it may train agents)."""

    notebook: str
    slider: str
    run_all_timeout_s: float

    def __str__(self) -> str:
        return self.notebook.removesuffix(".ipynb")


# Required: in CI each must exist. The brief's two (02 gamma, 07 clip epsilon) plus the first demos written.
REQUIRED = [
    Target("01_policy_gradient_theorem.ipynb", "N, the number of sampled trajectories", 600),
    Target("02_reinforce.ipynb", "gamma, the discount", 1800),
    Target("03_baselines.ipynb", "beta, the baseline strength", 900),
    Target("07_ppo.ipynb", "clip epsilon", 1800),
]
DEMO_CALL = re.compile(r"\b\w+_demo\(")  # e.g. demos.gae_demo(study)


def discovered_targets() -> list[Target]:
    """Every other notebook that shows a slider demo (a ``*_demo(`` call in a code cell) is tested too."""
    required = {t.notebook for t in REQUIRED}
    found = []
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        if path.name in required:
            continue
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception:  # unreadable (being written?): nbval reports broken notebooks
            continue
        if any(c.cell_type == "code" and DEMO_CALL.search(c.source) for c in nb.cells):
            found.append(Target(path.name, "found by its *_demo( call", 900))
    return found


TARGETS = sorted(REQUIRED + discovered_targets(), key=lambda t: t.notebook)


def unavailable(reason: str) -> None:
    """Skip with ``reason`` on a learner's machine; fail in CI, where everything must be there."""
    if in_ci():
        pytest.fail(f"CI=true: {reason}", pytrace=False)
    pytest.skip(reason)


def run_all_timeout(target_timeout: float) -> float:
    """The Run All timeout: the target's, unless ``PGCOURSE_BROWSER_TIMEOUT`` (seconds) overrides it."""
    return float(os.environ.get("PGCOURSE_BROWSER_TIMEOUT", target_timeout))


def artifact_dir(name: str) -> Path:
    """A fresh folder for one notebook's screenshots under ``artifacts/browser/`` (or ``$PGCOURSE_ARTIFACTS``)."""
    root = Path(os.environ.get("PGCOURSE_ARTIFACTS", ARTIFACTS)) / "browser" / name.removesuffix(".ipynb")
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    return root


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    """One JupyterLab + Chromium for the whole module, serving a temporary copy of ``notebooks/``."""
    if not playwright_available():
        unavailable("the Python package playwright is missing: pip install -e '.[test]'")
    chromium = find_chromium()
    if chromium is None:
        unavailable(chromium_hint())
    with jupyter_lab(NOTEBOOKS, chromium) as session:
        yield session


def exercise_sliders(notebook: Notebook, out_dir: Path) -> int:
    """Move every slider of every widget cell; assert each move changes the rendered output. Returns #sliders."""
    cells = notebook.widget_cells()
    assert cells, f"{notebook.name}: no cell renders a slider ({SLIDER_HANDLE}) after Run All"
    moved = 0
    for c, cell in enumerate(cells):
        screenshot(cell, out_dir / f"cell{c}-before.png")
        handles = cell.locator(SLIDER_HANDLE)
        for h in range(handles.count()):
            before = read_widget(cell)
            key = move_slider(handles.nth(h), SLIDER_KEY)
            after = wait_for_new_view(cell, before, lambda: notebook.kernel_state() == "idle")
            assert after.readouts != before.readouts, f"slider {h} of widget cell {c}: {SLIDER_READOUT} unchanged"
            assert after.differs_from(before), f"slider {h} of widget cell {c}: output unchanged after {key}"
            moved += 1
        screenshot(cell, out_dir / f"cell{c}-after.png")
    assert not notebook.unexpected_errors(), "\n".join(notebook.unexpected_errors())
    return moved


def check_notebook(lab: Lab, name: str, timeout: float) -> None:
    """Open, Run All (no errors), move every slider; print timings and where the screenshots are."""
    out_dir = artifact_dir(name)
    start = time.monotonic()
    notebook = lab.open_notebook(name)
    try:
        ran = notebook.run_all(timeout)
        assert not notebook.unexpected_errors(), "\n".join(notebook.unexpected_errors())
        moved = exercise_sliders(notebook, out_dir)
    except Exception:
        notebook.page.screenshot(path=str(out_dir / "page-on-failure.png"), full_page=True)
        raise
    finally:
        notebook.shutdown_kernel()
    total = time.monotonic() - start
    print(f"\n{name}: Run All {ran:.1f} s, {moved} slider(s) moved, {total:.1f} s in all; screenshots in {out_dir}")


def selftest_notebook() -> nbformat.NotebookNode:
    """A tiny notebook like the course demos: an IntSlider redrawing a matplotlib figure and a readout."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Browser machinery self-test"),
        nbformat.v4.new_code_cell(
            "import ipywidgets as widgets\nimport matplotlib.pyplot as plt\nimport numpy as np\n"
            "from IPython.display import display"
        ),
        nbformat.v4.new_code_cell(""),  # empty cells keep an empty prompt: the wait must not hang on them
        nbformat.v4.new_code_cell(
            "k = widgets.IntSlider(value=2, min=1, max=8, description='k', continuous_update=False)\n"
            "readout, out = widgets.HTML(), widgets.Output()\n"
            "x = np.linspace(0, 2 * np.pi, 200)\n"
            "def draw(change=None):\n"
            "    readout.value = f'<b>peaks</b> = {k.value}'\n"
            "    with out:\n"
            "        out.clear_output(wait=True)\n"
            "        fig, ax = plt.subplots(figsize=(4, 2.5))\n"
            "        ax.plot(x, np.sin(k.value * x))\n"
            "        plt.show()\n"
            "k.observe(draw, names='value')\n"
            "draw()\n"
            "display(widgets.VBox([k, readout, out]))"
        ),
    ]
    return nb


def test_machinery_on_generated_notebook(lab: Lab) -> None:
    """The machinery itself, on a generated slider notebook written into the served temporary copy."""
    nbformat.write(selftest_notebook(), lab.root_dir / SELFTEST_NOTEBOOK)
    check_notebook(lab, SELFTEST_NOTEBOOK, timeout=120)


@pytest.mark.parametrize("target", TARGETS, ids=str)
def test_slider_demo_in_browser(target: Target, request: pytest.FixtureRequest) -> None:
    """Run All Cells of a course notebook in JupyterLab, then every slider changes the rendered output."""
    if not (NOTEBOOKS / target.notebook).exists():
        unavailable(f"notebooks/{target.notebook} (slider: {target.slider}) does not exist yet")
    lab: Lab = request.getfixturevalue("lab")
    check_notebook(lab, target.notebook, run_all_timeout(target.run_all_timeout_s))


QUIZ_NOTEBOOK = "01_policy_gradient_theorem.ipynb"  # quick to run, and its first quiz is a single-answer one
QUIZ_WIDGET = ".jupyter-widgets.pgc-quiz"  # the Quiz VBox (its static HTML fallback is not rendered in Lab)


def test_quiz_in_browser(request: pytest.FixtureRequest) -> None:
    """A quiz in a real notebook: a wrong option shows why it is wrong, the right one says so and is recorded."""
    import json

    from pgcourse.quiz import QUIZZES

    if not (NOTEBOOKS / QUIZ_NOTEBOOK).exists():
        unavailable(f"notebooks/{QUIZ_NOTEBOOK} does not exist")
    question = QUIZZES[QUIZ_NOTEBOOK.removesuffix(".ipynb")][0]
    right = next(iter(question.right))
    wrong = next(i for i in range(len(question.options)) if i != right)
    lab: Lab = request.getfixturevalue("lab")
    out_dir = artifact_dir("quiz")
    notebook = lab.open_notebook(QUIZ_NOTEBOOK)
    try:
        notebook.run_all(run_all_timeout(600))
        assert not notebook.unexpected_errors(), "\n".join(notebook.unexpected_errors())
        quiz = notebook.panel.locator(QUIZ_WIDGET).first
        quiz.scroll_into_view_if_needed()
        feedback = quiz.locator(".widget-htmlmath").last

        def shows(text: str) -> bool:
            return text in feedback.inner_text()

        quiz.get_by_role("button", name="AB"[wrong], exact=True).click()
        wait_until(lambda: shows("Not quite") and shows("goes the wrong way with probability 0.1"), 60,
                   "the wrong option's explanation")  # fmt: skip
        screenshot(quiz, out_dir / "wrong.png")
        quiz.get_by_role("button", name="AB"[right], exact=True).click()
        wait_until(lambda: shows("Right.") and shows("whatever the dynamics"), 60, "the right option's explanation")
        screenshot(quiz, out_dir / "right.png")
        progress = lab.root_dir.parent / "progress.json"  # the server's PGCOURSE_PROGRESS_FILE, not the home
        wait_until(progress.exists, 30, "the progress file")
        assert f"quiz:{QUIZ_NOTEBOOK.removesuffix('.ipynb')}/0" in json.loads(progress.read_text())["passed"]
    except Exception:
        notebook.page.screenshot(path=str(out_dir / "page-on-failure.png"), full_page=True)
        raise
    finally:
        notebook.shutdown_kernel()


# ----------------------------------------------------------------------------------------------------------------
# layout

LAYOUT_VIEWPORTS = {"1366x768": (1366, 768), "1920x1080": (1920, 1080)}  # a common laptop, a common desktop
LAYOUT_NOTEBOOK = "_layout_demos.ipynb"  # generated into the served temporary copy only
LAYOUT_REAL_NOTEBOOK = "04_gae.ipynb"  # quick to run, and its two-slider demo was the one cut off at 1366 px


def layout_notebook() -> nbformat.NotebookNode:
    """A notebook that shows every slider demo of the course, one per cell."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Every slider demo"),
        nbformat.v4.new_code_cell("from pgcourse import demos"),
    ]
    from pgcourse import demos

    for label, build in demos.NOTEBOOK_DEMOS.items():
        nb.cells += [nbformat.v4.new_markdown_cell(f"## {label}"), nbformat.v4.new_code_cell(build)]
    return nb


def layout_problems(layout, where: str) -> list[str]:
    """Everything that does not fit the notebook column in one cell's measured layout (empty: it fits)."""
    left, _, right, _ = layout.column
    problems = [f"{where}: {w} (scrolls sideways)" for w in layout.wide]
    if layout.scroller_wide:
        problems.append(f"{where}: the notebook panel scrolls sideways")
    for d, demo in enumerate(layout.demos):
        at = f"{where}, demo {d}"
        if demo.box[0] < left - 1 or demo.box[2] > right + 1:
            problems.append(f"{at}: spans x {demo.box[0]:.0f}..{demo.box[2]:.0f}, column is {left:.0f}..{right:.0f}")
        problems += [f"{at}: {o}, outside the column {left:.0f}..{right:.0f}" for o in demo.outside]
        if demo.image is None or demo.natural_width == 0:
            problems.append(f"{at}: no plot image is shown")
        if demo.readout is None or not demo.readout_shown or not demo.readout_text:
            problems.append(f"{at}: the readout is not shown")
        elif demo.image is not None and not (demo.readout_below or demo.readout[0] >= demo.image[2] - 1):
            problems.append(f"{at}: the readout {demo.readout} overlaps the figure {demo.image}")
    return problems


@pytest.mark.parametrize("size", LAYOUT_VIEWPORTS)
@pytest.mark.parametrize("name", [LAYOUT_NOTEBOOK, LAYOUT_REAL_NOTEBOOK], ids=lambda n: n.removesuffix(".ipynb"))
def test_demo_layout(name: str, size: str, request: pytest.FixtureRequest) -> None:
    """With the file browser open, every demo's figure and readout fit the notebook column; screenshots kept."""
    from pgcourse.demos.widget import DEMO_CLASS, FIGURE_CLASS, READOUT_CLASS

    if name != LAYOUT_NOTEBOOK and not (NOTEBOOKS / name).exists():
        unavailable(f"notebooks/{name} does not exist")
    lab: Lab = request.getfixturevalue("lab")
    if name == LAYOUT_NOTEBOOK:
        nbformat.write(layout_notebook(), lab.root_dir / name)
    out_dir = artifact_dir(f"layout/{name.removesuffix('.ipynb')}-{size}")
    classes = {"demo": DEMO_CLASS, "figure": FIGURE_CLASS, "readout": READOUT_CLASS}
    notebook = lab.open_notebook(name, viewport=LAYOUT_VIEWPORTS[size], file_browser=True)
    try:
        ran = notebook.run_all(run_all_timeout(600))
        assert not notebook.unexpected_errors(), "\n".join(notebook.unexpected_errors())
        cells = notebook.cells()
        demo_cells = [cells.nth(i) for i in range(cells.count()) if cells.nth(i).locator(f".{DEMO_CLASS}").count()]
        from pgcourse.demos import NOTEBOOK_DEMOS

        expected = len(NOTEBOOK_DEMOS) if name == LAYOUT_NOTEBOOK else 1
        assert len(demo_cells) >= expected, f"{name}: {len(demo_cells)} cell(s) show a demo, expected {expected}"
        sidebar = notebook.page.locator("#jp-left-stack").bounding_box()
        assert sidebar and sidebar["width"] > 150, f"the file browser is not open: {sidebar}"
        notebook.blur()
        problems, lines = [], []
        for c, cell in enumerate(demo_cells):
            cell.locator(f".{DEMO_CLASS}").first.evaluate("e => e.scrollIntoView({block: 'start'})")
            layout = measure_layout(cell, classes)
            notebook.page.screenshot(path=str(out_dir / f"demo{c}.png"))
            problems += layout_problems(layout, f"{name} at {size}, demo cell {c}")
            for demo in layout.demos:
                where = "below" if demo.readout_below else "beside"
                lines.append(f"  cell {c}: figure at {demo.scale:.0%} of its width, readout {where} it")
        assert not problems, "\n".join(problems)
    except Exception:
        notebook.page.screenshot(path=str(out_dir / "page-on-failure.png"), full_page=True)
        raise
    finally:
        notebook.shutdown_kernel()
    column = layout.column[2] - layout.column[0]
    print(f"\n{name} at {size} (file browser open, column {column:.0f} px): Run All {ran:.1f} s; in {out_dir}")
    print("\n".join(lines))
