r"""Notebook 00 (start here): the install check's test slider."""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from pgcourse.demos.widget import SliderDemo, check_range, make_slider, readout_table

__all__ = [
    "hello_curve",
    "hello_demo",
]


def hello_curve(k: float) -> tuple[np.ndarray, np.ndarray]:
    r"""The curve of the install check: :math:`y = \sin(k x)` on :math:`[0, 2\pi]`, ``(x, y)``."""
    k = check_range(k, "k", 0.0, 100.0)
    x = np.linspace(0.0, 2 * np.pi, 400)
    return x, np.sin(k * x)


def hello_demo() -> SliderDemo:
    """A test slider: frequency k → the curve sin(kx) redraws (checks that widgets work)."""
    k_slider = make_slider(widgets.IntSlider, "frequency k", min=1, max=10, value=2)

    def draw(fig: Figure, xy: tuple[np.ndarray, np.ndarray]) -> list[Line2D]:
        ax = fig.subplots()
        (line,) = ax.plot(*xy)
        ax.set_ylim(-1.1, 1.1)
        ax.set_xlabel("x")
        ax.set_ylabel("sin(k x)")
        return [line]

    def refresh(artists: list[Line2D], xy: tuple[np.ndarray, np.ndarray]) -> None:
        artists[0].set_data(*xy)

    def readout(xy: tuple[np.ndarray, np.ndarray]) -> str:
        crossings = int(np.sum(np.diff(np.sign(xy[1][1:-1])) != 0))
        rows = [("k", f"{k_slider.value}"), ("zero crossings", f"{crossings}")]
        return readout_table(rows, "Move the slider: the curve changes.")

    return SliderDemo({"k_slider": k_slider}, lambda k_slider: hello_curve(k_slider), draw, readout, figsize=(7, 3),
                      refresh=refresh)
