"""The layer every slider demo shares: :class:`SliderDemo`, sliders, readout tables and static figures.

A demo module (one per lesson) writes a pure function, a ``draw(fig, result)`` and a
``readout(result)``; :class:`SliderDemo` wires them to its sliders. Nothing here is
specific to a lesson.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from pgcourse.plots import course_style, figure_png
from pgcourse.toy import DEFAULT_THETA

__all__ = [
    "SliderDemo",
    "make_slider",
    "readout_table",
    "static_figure",
    "check_range",
    "policy_theta",
    "pair_labels",
    "ACTION_NAMES",
]

#: The corridor's two actions, as they label state-action pairs.
ACTION_NAMES = ("L", "R")


def policy_theta(theta: np.ndarray | None) -> np.ndarray:
    """A copy of ``theta`` as float64, or the course policy :data:`pgcourse.toy.DEFAULT_THETA` when ``None``."""
    return DEFAULT_THETA.copy() if theta is None else np.asarray(theta, dtype=np.float64)


def check_range(value: Any, name: str, low: float, high: float) -> float:
    """``value`` as a float if it is a finite number in ``[low, high]``; else a ValueError naming it and the range."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number in [{low:g}, {high:g}], got {value!r}")
    if not (math.isfinite(value) and low <= value <= high):
        raise ValueError(f"{name}={value!r} is outside the allowed range [{low:g}, {high:g}]")
    return float(value)


def pair_labels(n_states: int) -> list[str]:
    """Axis labels of the state-action pairs of the corridor: ``s0L, s0R, s1L, ...``."""
    return [f"s{s}{a}" for s in range(n_states) for a in ACTION_NAMES]


class SliderDemo(widgets.VBox):
    """Controls on top, the figure and a text readout side by side below.

    Redrawing costs a few hundred milliseconds, so course sliders update when released
    (``continuous_update=False``). ``compute(**values)`` gets the current value of every control (by name) and
    returns a result; ``draw(fig, result)`` draws it on a fresh figure;
    ``readout(result)`` returns HTML for the text beside the figure. Each control
    is an attribute named after its key (``demo.lam_slider``); ``last_result`` is
    the last computed result and ``n_updates`` counts recomputations.
    """

    def __init__(
        self,
        controls: Mapping[str, widgets.ValueWidget],
        compute: Callable[..., Any],
        draw: Callable[[Figure, Any], None],
        readout: Callable[[Any], str],
        buttons: Mapping[str, widgets.Button] | None = None,
        figsize: tuple[float, float] = (10.0, 4.0),
    ) -> None:
        super().__init__()
        self.controls = dict(controls)
        self.buttons = dict(buttons or {})
        self._compute, self._draw, self._readout = compute, draw, readout
        self.figsize = figsize
        self.figure_output = widgets.Output(layout=widgets.Layout(flex="0 0 auto"))
        self.readout = widgets.HTML(layout=widgets.Layout(width="260px", margin="0 0 0 12px"))
        for name, w in {**self.controls, **self.buttons}.items():
            setattr(self, name, w)
        for w in self.controls.values():
            w.observe(self._on_change, names="value")
        self.last_result: Any = None
        self.n_updates = 0
        row = widgets.HBox(list(self.controls.values()) + list(self.buttons.values()))
        self.children = (row, widgets.HBox([self.figure_output, self.readout]))
        self.update()

    @property
    def slider(self) -> widgets.ValueWidget:
        """The first control (handy for one-slider demos)."""
        return next(iter(self.controls.values()))

    def _on_change(self, _change: Mapping[str, Any]) -> None:
        # A slider callback's exception would only reach the kernel log: show it beside the figure instead.
        try:
            self.update()
        except Exception as err:  # reported to the learner, not swallowed
            self.readout.value = f"<b style='color:#D55E00'>{type(err).__name__}</b>: {html.escape(str(err))}"

    def update(self) -> None:
        """Recompute from the current control values and redraw."""
        values = {name: w.value for name, w in self.controls.items()}
        self.last_result = self._compute(**values)
        self.n_updates += 1
        with course_style():
            fig = Figure(figsize=self.figsize)
            self._draw(fig, self.last_result)
            png = figure_png(fig)
        # replace the output in one step (no flicker), kernel or not
        self.figure_output.outputs = (
            {
                "output_type": "display_data",
                "data": {"image/png": _b64(png), "text/plain": "<figure>"},
                "metadata": {},
            },
        )
        self.readout.value = self._readout(self.last_result)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def make_slider(kind: type, description: str, heavy: bool = False, **kwargs: Any) -> widgets.ValueWidget:
    """A course slider of widget class ``kind``; ``heavy`` ones update on release instead of while dragged."""
    style = {"description_width": "initial"}
    layout = widgets.Layout(width="360px")
    return kind(description=description, continuous_update=not heavy, style=style, layout=layout, **kwargs)


def readout_table(rows: Sequence[tuple[str, str]], note: str = "") -> str:
    """The HTML readout beside a demo's figure: a two-column table of (name, value) and an optional note."""
    body = "".join(f"<tr><td style='padding-right:8px'>{k}</td><td><b>{v}</b></td></tr>" for k, v in rows)
    extra = f"<p style='margin-top:6px'>{note}</p>" if note else ""
    return f"<div style='font-size:14px'><table>{body}</table>{extra}</div>"


def static_figure(ncols: int, figsize: tuple[float, float]) -> tuple[Figure, np.ndarray]:
    """A pyplot figure in the course style (shown by the notebook's inline backend)."""
    with course_style():
        fig, axes = plt.subplots(1, ncols, figsize=figsize, squeeze=False)
    return fig, axes[0]


