"""Nothing drawn by a slider demo is cut off by the edge of its own figure (a title, a tick label, a legend).

The browser test checks that the figure fits the notebook column; this checks what is inside the PNG: every
visible text of every demo's figure lies within the figure, at the first value of each slider and at its last.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure

from pgcourse import demos


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_every_demo_is_checked() -> None:
    builders = {name for name in demos.__all__ if name.endswith("_demo")}
    shown = {name for name in builders if any(f"demos.{name}(" in code for code in demos.NOTEBOOK_DEMOS.values())}
    assert shown == builders, f"not in demos.NOTEBOOK_DEMOS: {sorted(builders - shown)}"


def figures(demo: demos.SliderDemo) -> list[Figure]:
    """The figure(s) a demo draws on (the step-size demo keeps one per direction)."""
    if getattr(demo, "_figures", None):
        return [canvas.figure for canvas, _, _ in demo._figures.values()]
    return [demo._figure]


def cut_off(fig: Figure) -> list[str]:
    """What of ``fig`` reaches more than a pixel past its edge: an axes with its drawn tick labels, axis labels,
    title and legend (``Axes.get_tightbbox``), or a figure-level text."""
    renderer = fig.canvas.get_renderer()
    width, height = fig.canvas.get_width_height()
    boxes = [(f"the axes titled {ax.get_title()!r}", ax.get_tightbbox(renderer)) for ax in fig.axes if ax.get_visible()]
    boxes += [(repr(t.get_text()), t.get_window_extent(renderer)) for t in fig.texts if t.get_visible()]
    return [
        f"{what} spans x {b.x0:.0f}..{b.x1:.0f}, y {b.y0:.0f}..{b.y1:.0f} in a {width}x{height} figure"
        for what, b in boxes
        if b is not None and (b.x0 < -1 or b.y0 < -1 or b.x1 > width + 1 or b.y1 > height + 1)
    ]


@pytest.mark.parametrize("name", demos.NOTEBOOK_DEMOS)
def test_no_text_is_cut_off(name: str) -> None:
    demo = demos.demo_as_in_notebook(name)
    problems = [f"at the start: {p}" for fig in figures(demo) for p in cut_off(fig)]
    for key, control in demo.controls.items():
        if hasattr(control, "max"):
            control.value = control.max
            problems += [f"{key} at its maximum: {p}" for fig in figures(demo) for p in cut_off(fig)]
    assert not problems, "\n".join(problems)
