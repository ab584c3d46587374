"""The layer every slider demo shares: :class:`SliderDemo`, sliders, readout tables and static figures.

A demo module (one per lesson) writes a pure function, a ``draw(fig, result)`` and a
``readout(result)``; :class:`SliderDemo` wires them to its sliders. Nothing here is
specific to a lesson.
"""

from __future__ import annotations

import base64
import html
import io
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import PIL.Image
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from pgcourse.plots import course_style
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
    """Controls on top, the figure and a text readout side by side below (the readout wraps below the figure
    when the notebook column is narrow; the figure scales down to the column).

    Sliders update while dragged: ``compute(**values)`` gets the current value of every control (by name) and
    returns a result; ``draw(fig, result)`` draws it on the demo's figure, cleared for each move (its layout is
    computed once, see :meth:`_render`); ``readout(result)`` returns HTML for the text beside the figure.
    ``last_timing`` holds the seconds of the last update (``compute``, ``draw`` with PNG encoding, ``total``).
    Each control is an attribute named after its key (``demo.lam_slider``); ``last_result`` is the last
    computed result and ``n_updates`` counts recomputations.
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
        self.figure_output = widgets.Output(layout=widgets.Layout(flex="0 1 auto", min_width="0", max_width="100%"))
        self.readout = widgets.HTML(layout=widgets.Layout(flex="1 1 240px", min_width="220px", max_width="420px",
                                                          margin="0 0 0 12px"))
        for name, w in {**self.controls, **self.buttons}.items():
            setattr(self, name, w)
        for w in self.controls.values():
            w.observe(self._on_change, names="value")
        self.last_result: Any = None
        self.last_timing: dict[str, float] = {}
        self.n_updates = 0
        self._figure: Figure | None = None
        self._positions: list[Any] | None = None
        wrap = {"display": "flex", "flex_flow": "row wrap", "align_items": "flex-start", "width": "100%"}
        row = widgets.Box(list(self.controls.values()) + list(self.buttons.values()), layout=widgets.Layout(**wrap))
        self.children = (row, widgets.Box([self.figure_output, self.readout], layout=widgets.Layout(**wrap)))
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
        """Recompute from the current control values and redraw; ``last_timing`` says where the time went."""
        t0 = time.perf_counter()
        values = {name: w.value for name, w in self.controls.items()}
        self.last_result = self._compute(**values)
        self.n_updates += 1
        t1 = time.perf_counter()
        png = self._render(self.last_result)
        t2 = time.perf_counter()
        self._show(png)
        self.last_timing = {"compute": t1 - t0, "draw": t2 - t1, "total": time.perf_counter() - t0}

    def _show(self, png: bytes) -> None:
        """Put ``png`` and the readout of ``last_result`` on screen, replacing the output in one step (no flicker)."""
        self.figure_output.outputs = (
            {
                "output_type": "display_data",
                "data": {"image/png": _b64(png), "text/plain": "<figure>"},
                "metadata": {},
            },
        )
        self.readout.value = self._readout(self.last_result)

    def _render(self, result: Any) -> bytes:
        """Draw ``result`` on the demo's one figure and encode it as PNG.

        The figure is made once and cleared between moves. Its layout (constrained layout, which costs more
        than the drawing itself) is computed on the first draw only; later draws put their axes at the same
        positions, so the figure does not jump while a slider is dragged. A draw that makes a different
        number of axes gets a fresh layout.
        """
        with course_style():
            if self._figure is None:
                self._figure = Figure(figsize=self.figsize)
                FigureCanvasAgg(self._figure)
            fig = self._figure
            fig.clear()
            self._draw(fig, result)
            if self._positions is not None and len(self._positions) == len(fig.axes):
                for ax, position in zip(fig.axes, self._positions, strict=True):
                    ax.set_position(position)
            else:
                fig.set_layout_engine("constrained")
                fig.canvas.draw()
                self._positions = [ax.get_position() for ax in fig.axes]
                fig.set_layout_engine("none")
            return fast_png(fig)


def fast_png(fig: Figure) -> bytes:
    """PNG bytes of ``fig`` drawn by Agg, with light compression (a few ms instead of tens for zlib level 6)."""
    fig.canvas.draw()
    return canvas_png(fig.canvas)


def canvas_png(canvas: FigureCanvasAgg) -> bytes:
    """PNG bytes of what an Agg canvas holds now (zlib level 1), without drawing it again."""
    width, height = canvas.get_width_height(physical=True)
    image = PIL.Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def make_slider(kind: type, description: str, **kwargs: Any) -> widgets.ValueWidget:
    """A course slider of widget class ``kind`` that updates while it is dragged (``continuous_update=True``).

    The redraw runs synchronously in the slider's observer; ipywidgets' front end keeps one update in flight
    and drops the values a fast drag passes over meanwhile, so updates never pile up.
    """
    style = {"description_width": "initial"}
    layout = widgets.Layout(width="360px", max_width="100%")
    return kind(description=description, continuous_update=True, style=style, layout=layout, **kwargs)


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


