"""Slider demos in a static handout: the figure at every position of the slider grid, and a slider that swaps them.

A handout (``make html``) has no kernel, so a :class:`~pgcourse.demos.widget.SliderDemo` cannot redraw. At export
time the demo is therefore driven through its own slider grid and every frame is kept:

* :func:`export_frames` sets the demo's controls to each grid position (in snake order, so that each frame costs
  exactly one redraw), reads the figure (``figure_output``) and the readout after the synchronous redraw, and puts
  the controls, ``last_result`` and ``n_updates`` back as they were. A grid larger than ``max_frames`` (two-slider
  demos) is thinned, the longest axis first, keeping both ends and the starting value; the frame budget also
  shrinks so that the frames fit ``max_bytes``. Frames are re-encoded as 128-colour PNGs (a quarter of the size,
  visually the same for line plots) and identical images or readouts are stored once.
* :func:`handout_html` turns the frames into self-contained HTML: the starting frame as a plain ``<img>`` and
  readout (readable without JavaScript), one ``<input type=range>`` per control, and a few lines of inline
  JavaScript that swap the image and the readout. Nothing is loaded from anywhere.
* :func:`enable` registers :func:`handout_bundle` as IPython's display of every ``SliderDemo`` in the running kernel.
  ``scripts/export_html.py`` starts its kernels with ``--IPKernelApp.exec_lines`` calling it, so an executed
  notebook carries each displayed demo as ``text/html`` (marked with :data:`HANDOUT_ATTR`) instead of a widget
  view; notebooks and the course in JupyterLab are unchanged. The demo object itself stays live in the kernel, so
  later cells that move its sliders or read ``last_result`` behave as in JupyterLab.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets
import numpy as np

from pgcourse.demos.widget import SliderDemo

__all__ = ["HANDOUT_ATTR", "Axis", "FrameSet", "slider_axis", "export_frames", "handout_html", "handout_bundle",
           "enable"]

#: The attribute that marks a demo's handout HTML (the exporter checks every demo cell has one).
HANDOUT_ATTR = "data-pgcourse-handout"
MAX_FRAMES = 150
MAX_BYTES = 5_000_000
PNG_COLOURS = 128


@dataclass(frozen=True)
class Axis:
    """One control's grid: the values to visit, their labels as the widget shows them, and the starting index."""

    name: str
    description: str
    values: tuple[Any, ...]
    labels: tuple[str, ...]
    start: int


@dataclass(frozen=True)
class FrameSet:
    """Every frame of a demo on its (thinned) grid.

    ``frames`` is row-major over ``axes`` (the last axis fastest); each entry is ``(image index, readout index)``
    into ``images`` (base64 PNG) and ``readouts`` (HTML), which hold each distinct image or readout once.
    """

    axes: tuple[Axis, ...]
    images: tuple[str, ...]
    readouts: tuple[str, ...]
    frames: tuple[tuple[int, int], ...]

    @property
    def n_frames(self) -> int:
        return len(self.frames)

    @property
    def n_bytes(self) -> int:
        """Size of the embedded images and readouts (what the handout grows by)."""
        return sum(map(len, self.images)) + sum(len(r.encode()) for r in self.readouts)

    def frame(self, index: Sequence[int]) -> tuple[str, str]:
        """``(png_b64, readout_html)`` at the grid position ``index`` (one index per axis)."""
        flat = 0
        for axis, i in zip(self.axes, index):
            flat = flat * len(axis.values) + i
        img, readout = self.frames[flat]
        return self.images[img], self.readouts[readout]


def _label(w: widgets.ValueWidget, value: Any) -> str:
    fmt = getattr(w, "readout_format", None)
    try:
        return format(value, fmt) if fmt else str(value)
    except (TypeError, ValueError):
        return str(value)


def slider_axis(name: str, w: widgets.ValueWidget) -> Axis:
    """Every value the control ``w`` can take (sliders: min to max by step; selections: the options)."""
    if hasattr(w, "_options_values"):  # SelectionSlider, Dropdown, ToggleButtons, ...
        values, labels = tuple(w._options_values), tuple(str(x) for x in w._options_labels)
        start = values.index(w.value)
    elif isinstance(w, (widgets.Checkbox, widgets.ToggleButton)):
        values, labels, start = (False, True), ("off", "on"), int(bool(w.value))
    elif isinstance(w, (widgets.FloatLogSlider, widgets.FloatSlider, widgets.IntSlider)):
        n = int(math.floor((w.max - w.min) / w.step + 1e-9)) + 1
        if isinstance(w, widgets.FloatLogSlider):
            values = tuple(float(w.base ** round(w.min + k * w.step, 12)) for k in range(n))
        elif isinstance(w, widgets.IntSlider):
            values = tuple(int(w.min + k * w.step) for k in range(n))
        else:
            values = tuple(round(w.min + k * w.step, 12) for k in range(n))
        start = int(np.argmin([abs(v - w.value) for v in values]))
        labels = tuple(_label(w, v) for v in values)
    else:
        raise TypeError(f"control {name!r} ({type(w).__name__}) has no grid to export")
    return Axis(name, str(getattr(w, "description", name)), values, labels, start)


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0] or [1]


def _thin(axes: Sequence[Axis], max_frames: int) -> list[Axis]:
    """Thin the longest axis first to an evenly spaced subset (both ends kept, and the start) until it fits."""
    strides = [1] * len(axes)

    def keep(axis: Axis, stride: int) -> list[int]:
        n = len(axis.values)
        return sorted(set(range(0, n, stride)) | {n - 1, axis.start})

    while math.prod(len(keep(a, s)) for a, s in zip(axes, strides)) > max_frames:
        order = sorted(range(len(axes)), key=lambda i: -len(keep(axes[i], strides[i])))
        for i in order:
            larger = [d for d in _divisors(len(axes[i].values) - 1) if d > strides[i]]
            if larger:
                strides[i] = larger[0]
                break
        else:
            break  # every axis is down to its ends: keep what is left
    thinned = []
    for axis, stride in zip(axes, strides):
        idx = keep(axis, stride)
        thinned.append(Axis(axis.name, axis.description, tuple(axis.values[i] for i in idx),
                            tuple(axis.labels[i] for i in idx), idx.index(axis.start)))  # fmt: skip
    return thinned


def _snake(shape: Sequence[int]) -> Iterator[tuple[int, ...]]:
    """Every index of ``shape`` such that consecutive ones differ in exactly one axis (boustrophedon order)."""
    if not shape:
        yield ()
        return
    rest = list(_snake(shape[1:]))
    for i in range(shape[0]):
        for tail in rest if i % 2 == 0 else reversed(rest):
            yield (i, *tail)


def _figure_png(demo: SliderDemo) -> bytes:
    """The PNG the demo shows now: from an ``Output`` holding an image, or an ``Image`` widget."""
    out = demo.figure_output
    if isinstance(out, widgets.Image):
        return bytes(out.value)
    for item in reversed(getattr(out, "outputs", ())):
        data = item.get("data", {})
        if "image/png" in data:
            return base64.b64decode(data["image/png"])
    raise ValueError(f"{type(demo).__name__}.figure_output shows no PNG image")


def _compress(png: bytes, colours: int = PNG_COLOURS) -> bytes:
    """``png`` as an optimised palette PNG of ``colours`` colours on white (line plots look the same)."""
    from PIL import Image

    img = Image.open(io.BytesIO(png))
    if img.mode in ("RGBA", "LA", "P"):
        img = img.convert("RGBA")
        img = Image.alpha_composite(Image.new("RGBA", img.size, "white"), img)
    img = img.convert("RGB").quantize(colors=colours, method=Image.Quantize.FASTOCTREE)
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return buf.getvalue() if len(buf.getvalue()) < len(png) else png


def _b64(png: bytes) -> str:
    return base64.b64encode(png).decode("ascii")


def export_frames(
    demo: SliderDemo, max_frames: int = MAX_FRAMES, max_bytes: int = MAX_BYTES, compress: bool = True
) -> FrameSet:
    """Drive ``demo`` through its slider grid (thinned to ``max_frames`` and about ``max_bytes``); keep every frame.

    The controls, ``last_result`` and ``n_updates`` are restored afterwards. Buttons are not part of the grid.
    """
    encode = _compress if compress else (lambda png: png)
    axes = [slider_axis(name, w) for name, w in demo.controls.items()]
    start_values = {name: w.value for name, w in demo.controls.items()}
    last_result, n_updates = demo.last_result, demo.n_updates
    per_frame = len(_b64(encode(_figure_png(demo)))) + len(demo.readout.value.encode())
    budget = max(1, min(max_frames, int(0.9 * max_bytes) // max(per_frame, 1)))
    axes = _thin(axes, budget)
    shape = [len(a.values) for a in axes]
    images: dict[str, int] = {}
    readouts: dict[str, int] = {}
    by_index: dict[tuple[int, ...], tuple[int, int]] = {}
    try:
        for index in _snake(shape):
            for axis, i in zip(axes, index):
                demo.controls[axis.name].value = axis.values[i]  # an unchanged value does not redraw
            img = images.setdefault(_b64(encode(_figure_png(demo))), len(images))
            readout = readouts.setdefault(demo.readout.value, len(readouts))
            by_index[index] = (img, readout)
    finally:
        for name, value in start_values.items():
            demo.controls[name].value = value
        demo.last_result, demo.n_updates = last_result, n_updates
    frames = tuple(by_index[i] for i in np.ndindex(*shape))
    return FrameSet(tuple(axes), tuple(images), tuple(readouts), frames)


_SCRIPT = """(function () {
  var root = document.currentScript.parentElement;
  var data = JSON.parse(root.querySelector("script.pgc-data").textContent);
  var inputs = root.querySelectorAll("input.pgc-slider"), values = root.querySelectorAll(".pgc-value");
  var img = root.querySelector("img.pgc-frame"), readout = root.querySelector(".pgc-readout");
  function show() {
    var flat = 0;
    for (var k = 0; k < inputs.length; k++) {
      var i = +inputs[k].value;
      flat = flat * data.axes[k].length + i;
      values[k].textContent = data.axes[k][i];
    }
    var f = data.frames[flat];
    img.src = "data:image/png;base64," + data.images[f[0]];
    readout.innerHTML = data.readouts[f[1]];
    root.setAttribute("data-frame", flat);
  }
  for (var k = 0; k < inputs.length; k++) inputs[k].addEventListener("input", show);
})();"""


def handout_html(frames: FrameSet, buttons: Sequence[str] = ()) -> str:
    """Self-contained HTML: the starting frame, a range input per axis and inline JS that swaps the frames.

    ``buttons`` (their labels) are named in the note under the figure: they need a kernel.
    """
    start = [a.start for a in frames.axes]
    png, readout = frames.frame(start)
    rows = "".join(
        f"<label style='display:block;margin:2px 0'><span style='display:inline-block;min-width:12em'>"
        f"{html.escape(a.description)}</span> <input class='pgc-slider' type='range' min='0' "
        f"max='{len(a.values) - 1}' step='1' value='{a.start}' aria-label='{html.escape(a.description)}' "
        f"style='width:260px;vertical-align:middle'> <b class='pgc-value'>{html.escape(a.labels[a.start])}</b>"
        f"</label>"
        for a in frames.axes
    )
    data = {
        "axes": [list(a.labels) for a in frames.axes],
        "images": list(frames.images),
        "readouts": list(frames.readouts),
        "frames": [list(f) for f in frames.frames],
    }
    payload = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    note = (
        f"<small style='color:#666'>Handout: {frames.n_frames} precomputed frames"
        + (f"; {html.escape(', '.join(buttons))} needs a kernel" if buttons else "")
        + "; open the notebook in JupyterLab for every value.</small>"
    )
    return (
        f"<div class='pgc-handout' {HANDOUT_ATTR}='1' data-frame='' style='max-width:100%'>"
        f"<div class='pgc-controls'>{rows}</div>"
        "<div style='display:flex;flex-wrap:wrap;align-items:flex-start;gap:12px'>"
        f"<img class='pgc-frame' alt='demo figure' style='max-width:100%;height:auto' "
        f"src='data:image/png;base64,{png}'>"
        f"<div class='pgc-readout' style='min-width:220px;max-width:300px'>{readout}</div></div>{note}"
        f"<script type='application/json' class='pgc-data'>{payload}</script>"
        f"<script>{_SCRIPT}</script></div>"
    )


def handout_bundle(demo: SliderDemo) -> dict[str, str]:
    """The display of ``demo`` in a handout: its frames as ``text/html`` (and a plain-text fallback)."""
    buttons = [str(b.description) for b in demo.buttons.values()]
    text = f"<{type(demo).__name__}: slider demo>"
    return {"text/html": handout_html(export_frames(demo), buttons), "text/plain": text}


def enable(shell: Any = None) -> None:
    """Display every :class:`SliderDemo` as :func:`handout_bundle` in this IPython kernel (for the exporter)."""
    if shell is None:
        from IPython import get_ipython

        shell = get_ipython()
    if shell is None:
        raise RuntimeError("pgcourse.demos.handout.enable() needs a running IPython kernel")
    shell.display_formatter.mimebundle_formatter.for_type(SliderDemo, handout_bundle)
