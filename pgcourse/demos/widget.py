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
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import PIL.Image
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.container import ErrorbarContainer
from matplotlib.figure import Figure
from matplotlib.path import Path

from pgcourse.plots import course_style
from pgcourse.toy import DEFAULT_THETA

__all__ = [
    "SliderDemo",
    "figure_and_readout",
    "Refresh",
    "make_slider",
    "keep_limits",
    "set_errorbar",
    "set_box",
    "step_outline",
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


#: ``refresh(artists, result)`` of an in-place demo: moves the artists its ``draw`` returned to ``result`` and returns
#: a key naming the state of everything else it changed (``None`` if only the returned artists changed).
Refresh = Callable[[Any, Any], Hashable]

#: At most this many backgrounds (one per static state) are kept per in-place demo.
MAX_BACKGROUNDS = 24


#: CSS classes of a demo's parts in the page (the browser test finds the demo, its figure and its readout by them).
DEMO_CLASS, FIGURE_CLASS, READOUT_CLASS = "pgc-demo", "pgc-demo-figure", "pgc-demo-readout"
#: The readout's width: it sits beside the figure while the column has room for both, else it wraps below it.
READOUT_MIN_WIDTH, READOUT_MAX_WIDTH = "220px", "420px"


def _wrap_layout() -> widgets.Layout:
    """A full-width flex row whose items wrap onto the next line when the column is too narrow for them."""
    return widgets.Layout(display="flex", flex_flow="row wrap", align_items="flex-start", width="100%",
                          max_width="100%")  # fmt: skip


def figure_and_readout() -> tuple[widgets.Output, widgets.HTML, widgets.Box]:
    """The figure (an Output showing a PNG), the readout (HTML) and the row holding both: the layout of every demo.

    The figure keeps its natural size while the column has room and shrinks with it otherwise (it may not grow past
    the column: ``max_width`` 100 %, no minimum width; JupyterLab draws an output image at ``max-width: 100%``,
    ``height: auto``, so the PNG scales down with its aspect ratio kept). The readout takes between
    ``READOUT_MIN_WIDTH`` and ``READOUT_MAX_WIDTH`` beside the figure, and wraps below it when the row
    (``flex-flow: row wrap``) has no room for both. Nothing is wider than the column, so nothing scrolls sideways.
    """
    figure = widgets.Output(layout=widgets.Layout(flex="0 1 auto", min_width="0", max_width="100%"))
    readout = widgets.HTML(layout=widgets.Layout(flex="1 1 240px", min_width=READOUT_MIN_WIDTH,
                                                 max_width=READOUT_MAX_WIDTH, margin="0 0 0 12px"))  # fmt: skip
    figure.add_class(FIGURE_CLASS)
    readout.add_class(READOUT_CLASS)
    return figure, readout, widgets.Box([figure, readout], layout=_wrap_layout())


class SliderDemo(widgets.VBox):
    """Controls on top, the figure and a text readout side by side below (the readout wraps below the figure
    when the notebook column is narrow; the figure scales down to the column).

    Sliders update while dragged: ``compute(**values)`` gets the current value of every control (by name) and
    returns a result; ``readout(result)`` returns HTML for the text beside the figure. The figure is made once
    and its layout computed on the first draw only (see :meth:`_render`). Two ways to draw:

    * ``draw(fig, result)`` alone: the figure is cleared and drawn again for each move;
    * ``draw`` and ``refresh`` (in place, with blitting): ``draw(fig, result)`` draws the figure once and returns
      the artists a move changes (a dict or sequence: lines, texts, patches, collections, or a whole Axes, which
      is then redrawn with its ticks on each move and listed before its own moving artists); each move calls
      ``refresh(artists, result)``, which sets their new data (``set_data``, ``set_text``, ...) and may change
      axis limits or other artists, returning a key for that other state (``None``: nothing else changed). The
      rest of the figure is rendered once per static state (the key and the limits of every other axis) into a
      background image, laid out for its tick labels; a move restores it, draws the changed artists on top and
      encodes the PNG.

    ``last_timing`` holds the seconds of the last update (``compute``, ``draw`` with PNG encoding, ``total``).
    Each control is an attribute named after its key (``demo.lam_slider``); ``last_result`` is the last
    computed result and ``n_updates`` counts recomputations; :meth:`redraw` starts the figure afresh.
    """

    def __init__(
        self,
        controls: Mapping[str, widgets.ValueWidget],
        compute: Callable[..., Any],
        draw: Callable[[Figure, Any], Any],
        readout: Callable[[Any], str],
        buttons: Mapping[str, widgets.Button] | None = None,
        figsize: tuple[float, float] = (10.0, 4.0),
        refresh: Refresh | None = None,
    ) -> None:
        super().__init__()
        self.controls = dict(controls)
        self.buttons = dict(buttons or {})
        self._compute, self._draw, self._readout, self._refresh = compute, draw, readout, refresh
        self.figsize = figsize
        self.figure_output, self.readout, figure_row = figure_and_readout()
        for name, w in {**self.controls, **self.buttons}.items():
            setattr(self, name, w)
        for w in self.controls.values():
            w.observe(self._on_change, names="value")
        self.last_result: Any = None
        self.last_timing: dict[str, float] = {}
        self.n_updates = 0
        self._figure: Figure | None = None
        self._positions: list[Any] | None = None
        self._artists: Any = None
        self._backgrounds: dict[Hashable, Any] = {}
        row = widgets.Box(list(self.controls.values()) + list(self.buttons.values()), layout=_wrap_layout())
        self.children = (row, figure_row)
        self.add_class(DEMO_CLASS)
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
        png = self._render(self.last_result) if self._refresh is None else self._blit(self.last_result)
        t2 = time.perf_counter()
        self._show(png)
        self.last_timing = {"compute": t1 - t0, "draw": t2 - t1, "total": time.perf_counter() - t0}

    def redraw(self) -> None:
        """Draw the figure from scratch at the next update (for a change ``refresh`` cannot make, e.g. new data)."""
        self._artists = None
        self._backgrounds.clear()
        self.update()

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

    def _new_figure(self) -> Figure:
        if self._figure is None:
            self._figure = Figure(figsize=self.figsize)
            FigureCanvasAgg(self._figure)
        return self._figure

    def _fix_layout(self, fig: Figure) -> None:
        """Put the axes where the first layout put them; compute that layout (constrained) if there is none yet."""
        if self._positions is not None and len(self._positions) == len(fig.axes):
            for ax, position in zip(fig.axes, self._positions, strict=True):
                ax.set_position(position)
        else:
            fig.set_layout_engine("constrained")
            fig.canvas.draw()
            self._positions = [ax.get_position() for ax in fig.axes]
            fig.set_layout_engine("none")

    def _render(self, result: Any) -> bytes:
        """Draw ``result`` on the demo's one figure and encode it as PNG.

        The figure is made once and cleared between moves. Its layout (constrained layout, which costs more
        than the drawing itself) is computed on the first draw only; later draws put their axes at the same
        positions, so the figure does not jump while a slider is dragged. A draw that makes a different
        number of axes gets a fresh layout.
        """
        with course_style():
            fig = self._new_figure()
            fig.clear()
            self._draw(fig, result)
            self._fix_layout(fig)
            return fast_png(fig)

    def _blit(self, result: Any) -> bytes:
        """Move the changed artists to ``result`` and paint them over the background of the figure's static state.

        The first call (and the first after :meth:`redraw`) draws the whole figure with ``draw``. A static state
        (``refresh``'s key and every axis' limits) seen before reuses its background and axes positions; a new
        one is rendered once, with a constrained layout fitted to its tick labels.
        """
        with course_style():
            fig = self._new_figure()
            if self._artists is None:
                fig.clear()
                self._artists = self._draw(fig, result)
                for artist in _artist_list(self._artists):
                    artist.set_animated(True)
            moving = _artist_list(self._artists)
            key = (self._refresh(self._artists, result), *(_limits(ax) for ax in fig.axes if ax not in moving))
            canvas = fig.canvas
            if key not in self._backgrounds:
                for ax in fig.axes:
                    ax.set_in_layout(True)  # set_position (below) took the axes out of the layout
                fig.set_layout_engine("constrained")
                canvas.draw()  # animated artists are left out of a full draw: this is the background
                fig.set_layout_engine("none")
                if len(self._backgrounds) >= MAX_BACKGROUNDS:
                    self._backgrounds.pop(next(iter(self._backgrounds)))
                positions = [ax.get_position() for ax in fig.axes]
                self._backgrounds[key] = (canvas.copy_from_bbox(fig.bbox), positions)
            background, positions = self._backgrounds[key]
            for ax, position in zip(fig.axes, positions, strict=True):
                ax.set_position(position)
            canvas.restore_region(background)
            for artist in moving:
                fig.draw_artist(artist)
            return canvas_png(canvas)

    def prerender(self, results: Sequence[Any]) -> None:
        """Render the backgrounds of the static states of ``results`` now (at build), so that moves to them are fast.

        The figure shown and ``last_result`` do not change.
        """
        if self._refresh is None:
            raise ValueError("prerender needs an in-place demo (a SliderDemo built with refresh=...)")
        for result in results:
            self._blit(result)
        self._blit(self.last_result)


def _artist_list(artists: Any) -> list[Artist]:
    """The artists of ``draw``'s return value (a dict, a sequence or one artist; containers are unpacked)."""
    is_sequence = isinstance(artists, Sequence)
    items = artists.values() if isinstance(artists, Mapping) else artists if is_sequence else [artists]
    out: list[Artist] = []
    for a in items:
        if isinstance(a, ErrorbarContainer):
            out.extend(c for c in a.get_children() if c is not None)
        elif isinstance(a, Mapping | Sequence):
            out.extend(_artist_list(a))
        else:
            out.append(a)
    return out


def _limits(ax: Axes) -> tuple[float, ...]:
    return (*ax.get_xlim(), *ax.get_ylim())


def keep_limits(ax: Axes, low: float, high: float, axis: str = "y", margin: float = 0.05, fill: float = 0.4) -> None:
    """Show the data range ``[low, high]`` on ``axis`` with limits that change rarely while a slider is dragged.

    The limits stay as they are while the range fits inside them and fills at least ``fill`` of them;
    otherwise they become the range padded by ``margin`` and rounded outward to a step of 1, 2 or 5 × 10^k
    (about a quarter of the span), so that few values of the limits occur and most moves reuse a background.
    """
    get, set_ = (ax.get_ylim, ax.set_ylim) if axis == "y" else (ax.get_xlim, ax.set_xlim)
    lo, hi = get()
    span = max(high - low, 1e-12)
    if lo <= low and high <= hi and span >= fill * (hi - lo):
        return
    pad = margin * span
    step = _nice_step(span / 4)
    new_lo = math.floor((low - pad) / step) * step
    new_hi = math.ceil((high + pad) / step) * step
    set_(0.0 if low >= 0 > new_lo else new_lo, new_hi)


def _nice_step(x: float) -> float:
    """The smallest 1, 2 or 5 × 10^k at least ``x``."""
    k = 10.0 ** math.floor(math.log10(x))
    return next(m * k for m in (1, 2, 5, 10) if m * k >= x)


def set_errorbar(container: ErrorbarContainer, x: np.ndarray, y: np.ndarray, yerr: np.ndarray) -> None:
    """Move the points and vertical bars (±``yerr``) of an ``ax.errorbar(...)`` drawn with caps, in place."""
    x, y, yerr = (np.asarray(v, dtype=float).ravel() for v in (x, y, yerr))
    line, caps, bars = container.lines
    if line is not None:
        line.set_data(x, y)
    if caps:
        caps[0].set_data(x, y - yerr)
        caps[1].set_data(x, y + yerr)
    bars[0].set_segments(np.stack([np.column_stack([x, y - yerr]), np.column_stack([x, y + yerr])], axis=1))


def set_box(box: Mapping[str, list[Artist]], i: int, data: np.ndarray, whis: tuple[float, float] = (5, 95)) -> None:
    """Move box ``i`` of an ``ax.boxplot(..., patch_artist=True, showfliers=False)`` to the quartiles of ``data``."""
    q1, med, q3 = np.percentile(data, [25, 50, 75])
    lo, hi = np.percentile(data, whis)
    patch = box["boxes"][i]
    x0, x1 = patch.get_path().vertices[:, 0].min(), patch.get_path().vertices[:, 0].max()
    patch.set_path(Path([[x0, q1], [x1, q1], [x1, q3], [x0, q3], [x0, q1]], closed=True))
    box["medians"][i].set_ydata([med, med])
    xm = 0.5 * (x0 + x1)
    box["whiskers"][2 * i].set_data([xm, xm], [q1, lo])
    box["whiskers"][2 * i + 1].set_data([xm, xm], [q3, hi])
    box["caps"][2 * i].set_ydata([lo, lo])
    box["caps"][2 * i + 1].set_ydata([hi, hi])


def step_outline(counts: np.ndarray, bins: np.ndarray, filled: bool) -> np.ndarray:
    """The (x, y) vertices of a step histogram of ``counts`` over ``bins`` (closed at 0 when ``filled``)."""
    x = np.repeat(bins, 2)
    y = np.concatenate([[0.0], np.repeat(counts, 2), [0.0]])
    xy = np.column_stack([x, y])
    return np.vstack([xy, xy[:1]]) if filled else xy


def fast_png(fig: Figure) -> bytes:
    """PNG bytes of ``fig`` drawn by Agg, with light compression (a few ms instead of tens for zlib level 6)."""
    fig.canvas.draw()
    return canvas_png(fig.canvas)


def canvas_png(canvas: FigureCanvasAgg) -> bytes:
    """PNG bytes (RGB, zlib level 1) of what an Agg canvas holds now, without drawing it again."""
    width, height = canvas.get_width_height(physical=True)
    image = PIL.Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    image = image.convert("RGB")  # the figures are opaque: 3 bytes a pixel encode faster than 4
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
